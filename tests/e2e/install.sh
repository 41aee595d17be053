#!/usr/bin/env bash
# End-to-end: `cmake --install` puts exactly the program, its man page, its
# completions, its documents and licence where a distribution expects them
# (GNUInstallDirs; no test, bench or fuzz binary), and the installed program
# is the one built.
#   install.sh REENCODE MKCLIP BUILD_DIR
. "$(dirname "$0")/lib.sh" install "$@"
build=$3

cmake --install "$build" --prefix "$work/usr" >install.log
(cd usr && find . -type f | sort) >files.txt
cat >want.txt <<'LIST'
./bin/reencode
./share/bash-completion/completions/reencode
./share/doc/reencode/LICENSE-APACHEv2
./share/doc/reencode/LICENSE-MIT
./share/doc/reencode/README.md
./share/doc/reencode/benchmarks.md
./share/doc/reencode/cluster.md
./share/doc/reencode/copyright
./share/doc/reencode/design.md
./share/doc/reencode/examples/reencode-watch.service
./share/doc/reencode/internals.md
./share/doc/reencode/journal.md
./share/doc/reencode/match-expressions.md
./share/man/man1/reencode.1
./share/zsh/vendor-completions/_reencode
LIST
check "installs exactly the program and its documents" diff -u want.txt files.txt
check "the binary installed is the one built" cmp -s "$re" usr/bin/reencode
check "the man page installed is the binary's" cmp -s <("$re" help --man) usr/share/man/man1/reencode.1
check "installed man page is found by man" \
    grep -q "^NAME" <(MANPATH="$work/usr/share/man" MANPAGER=cat man reencode 2>/dev/null)
check "installed bash completion registers" \
    bash -c 'source "$1" && complete -p reencode | grep -q _reencode' _ \
    usr/share/bash-completion/completions/reencode
check "copyright names the licences" grep -q "^License: MIT or Apache-2.0" usr/share/doc/reencode/copyright
finish
