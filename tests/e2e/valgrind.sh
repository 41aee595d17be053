#!/usr/bin/env bash
# End-to-end under Valgrind's memcheck: `reencode list`, a batch `run -j 2`
# of 3 tiny clips, its resume, and `status`, each with zero memory errors
# (invalid reads/writes, uses of uninitialised values, bad frees) and zero
# definitely lost bytes, in every thread. Third-party false positives and
# leaks are suppressed by tests/valgrind.supp, which explains each entry and
# never matches reencode's own code. Normal (non-sanitizer) builds only.
#   valgrind.sh REENCODE MKCLIP
supp=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/valgrind.supp
. "$(dirname "$0")/lib.sh" valgrind "$@"
if ! command -v valgrind >/dev/null; then
    echo "valgrind.sh: valgrind is not installed (scripts/setup installs it)" >&2
    exit 1
fi
# Valgrind 3.19 follows CPUID: on a virtual CPU that runs RDTSCP but does not
# advertise it, libhwy's initializer (loaded by libavcodec through libjxl)
# executes it before main() and Valgrind stops with SIGILL. Nothing of
# reencode can run under memcheck there: say so and skip (77), rather than
# report our code as failing.
valgrind --log-file=preflight.vg "$re" --version >/dev/null 2>&1 || true
if grep -q 'Unrecognised instruction' preflight.vg; then
    echo "valgrind.sh: skipped: this Valgrind cannot run a program linking libavcodec on this" \
        "CPU ($(grep -m1 -o 'at 0x[0-9A-F]*: [^ ]*' preflight.vg | cut -d' ' -f3-)" \
        "uses an instruction the CPU does not advertise)" >&2
    exit 77
fi

# vg NAME ARGS...: run reencode ARGS under memcheck, its report in NAME.vg;
# the exit status lands in $rc; prints the summary figures. (No
# --track-origins: its instrumentation of libdav1d's assembly, which decodes
# the output in the pre-publish check, overflows Valgrind 3.19's translation
# storage, "VEX temporary storage exhausted". Add it by hand to find where an
# uninitialised value comes from.)
vg() {
    local name=$1
    shift
    exits valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
        --show-leak-kinds=definite --num-callers=30 \
        --suppressions="$supp" --log-file="$name.vg" "$re" "$@" >"$name.out" 2>"$name.err"
    printf '%-12s %s; %s\n' "$name:" "$(grep -o 'ERROR SUMMARY: .*' "$name.vg")" \
        "$(grep -oE 'definitely lost: .*|no leaks are possible' "$name.vg")"
}
# clean NAME: memcheck found no error and no definite leak (an absent leak
# summary means every block was freed). `run` is two processes, the
# supervisor and its worker (supervise.h), each with its summary in the log:
# every one must be clean.
clean() {
    grep -q 'ERROR SUMMARY: 0 errors' "$1.vg" &&
        ! grep -qE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$1.vg"
}
# show NAME: the report, when a check on it failed.
show() { clean "$1" || sed 's/^/    /' "$1.vg" >&2; }

mkdir -p rec/sub
"$mk" --duration 0.5 --size 160x90 --pattern slides rec/a.mp4 >/dev/null
"$mk" --duration 0.6 --size 160x90 --pattern motion --vfr rec/b.mp4 >/dev/null
"$mk" --duration 0.5 --size 160x90 --pattern webcam --audio-tracks 2 rec/sub/c.mp4 >/dev/null

vg list list rec
check "list: exit 0" test "$rc" -eq 0
check "list: 3 candidates" test "$(grep -c "^candidate " list.out)" -eq 3
check "list: no memory error, no definite leak" clean list
show list

vg run run -j 2 --threads 1 --no-progress rec
check "run: exit 0" test "$rc" -eq 0
check "run: no memory error, no definite leak" clean run
show run
n=0
for f in rec/a rec/b rec/sub/c; do
    info=$("$mk" --inspect "$f.webm" 2>&1) || continue
    [[ -s $f.mp4.reencoded ]] && ! grep -q 'errors [1-9]' <<<"$info" && n=$((n + 1))
done
check "run: 3 outputs that decode" test $n -eq 3

vg rerun run -j 2 --threads 1 --no-progress rec
check "rerun: exit 0" test "$rc" -eq 0
check "rerun: nothing to do" grep -q 'nothing to do' rerun.err
check "rerun: no memory error, no definite leak" clean rerun
show rerun

vg status status rec
check "status: exit 0" test "$rc" -eq 0
check "status: no memory error, no definite leak" clean status
show status
vg status-json status --json rec
check "status --json: exit 0, 3 done" test "$rc" -eq 0 -a "$(grep -c '"status":"done"' status-json.out)" -eq 3
check "status --json: no memory error, no definite leak" clean status-json
show status-json

finish
