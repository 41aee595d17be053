# Shared by the end-to-end scripts: sourced as `. lib.sh NAME "$@"` with the
# reencode and mkclip binaries as arguments. Sets $re, $mk, $e2e_dir (this
# directory: judge.py) and a fresh $work (removed on exit, and the current
# directory), and counts checks.
set -euo pipefail
e2e_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
re=$2
mk=$3
e2e_name=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/rx-$e2e_name.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

pass=0
fail=0
check() { # check DESCRIPTION COMMAND...: count a pass or a failure
    local what=$1
    shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what" >&2; fi
}
one_line() { [[ $(wc -l <"$1") -eq 1 ]]; }
# exits CMD...: run a command expected to fail; its exit status lands in $rc
exits() { set +e; "$@"; rc=$?; set -e; }
finish() {
    echo "e2e $e2e_name: $pass passed, $fail failed"
    [[ $fail -eq 0 ]]
}
