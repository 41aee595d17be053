#!/usr/bin/env bash
# End-to-end: the man page and the completions are --help's, and they work.
# The committed docs/reencode.1 and scripts/completions/* must be what the
# binary generates now (else: cmake --build BUILD --target docs); the man
# page must render without a warning and hold every option of every
# command's --help; the bash completion, sourced, must complete commands,
# options, option values, files and directories; the zsh one must parse and
# hand the right specs to _arguments. Also --version's library lines.
#   docs.sh REENCODE MKCLIP
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh" docs "$@"

# same_as_committed NAME COMMITTED ARGS...: `reencode ARGS` writes COMMITTED
same_as_committed() {
    local name=$1 committed=$2
    shift 2
    "$re" "$@" >"$name"
    if ! cmp -s "$name" "$committed"; then
        echo "$committed differs from 'reencode $*' (regenerate: cmake --build BUILD --target docs):" >&2
        diff -u "$committed" "$name" | head -20 >&2
        return 1
    fi
}
check "man page is current" same_as_committed reencode.1 "$src/docs/reencode.1" help --man
check "bash completion is current" \
    same_as_committed reencode.bash "$src/scripts/completions/reencode.bash" help --complete bash
check "zsh completion is current" \
    same_as_committed _reencode "$src/scripts/completions/_reencode" help --complete zsh
exits "$re" help --complete fish 2>err.txt
check "--complete takes bash or zsh only" test "$rc" -eq 2
check "... and says so in one line" grep -q "bash or zsh" err.txt

# Rendering (of the committed page, the one installed): groff's warnings (-ww)
# go to stderr; there must be none.
groff -man -Tutf8 -ww -z "$src/docs/reencode.1" 2>groff.txt
check "man page renders without warnings" test ! -s groff.txt
[[ -s groff.txt ]] && cat groff.txt >&2
MANWIDTH=100 MANPAGER=cat man -l "$src/docs/reencode.1" 2>/dev/null >man.txt
for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" FILES; do
    check "man page has $section" grep -q "^$section\$" man.txt
done
for cmd in run list status encode verify; do
    check "man page has '$cmd' help" grep -q "^   reencode $cmd" man.txt
    "$re" "$cmd" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u >"opts-$cmd.txt"
    check "$cmd --help names options" test "$(wc -l <"opts-$cmd.txt")" -ge 2
    missing=$(grep -v -x -F -f <(grep -o -- '--[a-z][a-z0-9-]*' man.txt | sort -u) "opts-$cmd.txt" || true)
    check "every option of '$cmd --help' in the man page${missing:+ (missing: $missing)}" \
        test -z "$missing"
done

# bash: call the completion function as readline would.
mkdir -p media/sub "odd dir"
: >media/clip.mp4
# complete WORDS...: the matches for the last word, one a line
complete_bash() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
             _reencode; printf "%s\n" "${COMPREPLY[@]}"' _ "$src/scripts/completions/reencode.bash" "$@"
}
check "bash: commands" test "$(complete_bash reencode r | tr '\n' ' ')" = "run "
check "bash: every command" test "$(complete_bash reencode '' | grep -c -x -E 'run|list|status|encode|journal')" -eq 5
check "bash: journal repair" test "$(complete_bash reencode journal '')" = repair
check "bash: run's options" grep -q -x -- --video-encoder <(complete_bash reencode run --vid)
check "bash: run's short options" grep -q -x -- -j <(complete_bash reencode run -)
check "bash: encode has no run-only option" test -z "$(complete_bash reencode encode --retry)"
check "bash: list has no encoder option" test -z "$(complete_bash reencode list --crf)"
check "bash: option values" test "$(complete_bash reencode run --video-encoder '' | tr '\n' ' ')" = \
    "libaom-av1 libsvtav1 librav1e libvpx-vp9 "
check "bash: values after '='" test "$(complete_bash reencode encode --dedup = o | tr '\n' ' ')" = "on off "
check "bash: values from a multi-line help" grep -q -x delete <(complete_bash reencode run --originals '')
check "bash: a number offers nothing" test -z "$(complete_bash reencode run --crf '')"
check "bash: run's operands are directories" \
    test "$(complete_bash reencode run med | tr '\n' ' ')" = "media "
check "bash: ... names with spaces whole" grep -q -x "odd dir" <(complete_bash reencode list od)
check "bash: encode's operand is a file" grep -q -x media/clip.mp4 <(complete_bash reencode encode media/c)
check "bash: -o takes a file" grep -q -x media/clip.mp4 <(complete_bash reencode encode -o media/c)
check "bash: status after journal repair" grep -q -x -- --journal <(complete_bash reencode journal repair --jo)
check "bash: help COMMAND" grep -q -x encode <(complete_bash reencode help en)

# zsh: it parses, and (with the completion system's functions stubbed to
# print what they are given) dispatches each command's specs.
if command -v zsh >/dev/null; then
    check "zsh: completion parses" zsh -n "$src/scripts/completions/_reencode"
    complete_zsh() { # complete_zsh WORDS...: what _arguments/_describe/compadd got
        zsh -f -c '_arguments() { print -rl -- "$@" }
                   _describe() { print -rl -- "${(@P)4}" }
                   compadd() { print -rl -- "$@" }
                   fpath=("$1" $fpath); autoload -U _reencode; shift
                   words=("$@"); CURRENT=$#; PREFIX=${words[-1]}; _reencode' \
            _ "$src/scripts/completions" "$@"
    }
    check "zsh: commands described" grep -q '^encode:re-encode one file$' <(complete_zsh reencode '')
    check "zsh: run's specs" grep -q -F -- "*--video-encoder=[" <(complete_zsh reencode run --v)
    check "zsh: value choices" grep -q -F -- ":E:(libaom-av1 libsvtav1 librav1e libvpx-vp9)" <(complete_zsh reencode run --v)
    check "zsh: run's operands are directories" grep -q -x '\*:DIR:_files -/' <(complete_zsh reencode run '')
    check "zsh: encode's is a file" grep -q -x ':INPUT:_files' <(complete_zsh reencode encode '')
    check "zsh: encode has no run-only option" \
        test -z "$(complete_zsh reencode encode '' | grep -e --retry-failed)"
    check "zsh: journal repair" grep -q -x repair <(complete_zsh reencode journal '')
    check "zsh: journal repair's specs" grep -q -F -- "*--journal=[" <(complete_zsh reencode journal repair '')
else
    echo "FAIL: zsh not installed (scripts/setup installs it)" >&2
    fail=$((fail + 1))
fi

# --version: each library with a version number.
"$re" --version >version.txt
for lib in reencode libavcodec libavformat libavutil libaom libopus libmediainfo; do
    check "--version names $lib with its version" grep -q -E "^$lib [0-9]+\.[0-9]+" version.txt
done
finish
