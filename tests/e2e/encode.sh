#!/usr/bin/env bash
# End-to-end: the reencode executable as a person uses it.
#   encode.sh REENCODE MKCLIP
. "$(dirname "$0")/lib.sh" encode "$@"

# Usage and help.
"$re" --help >help.txt
check "--help lists encode" grep -q 'encode INPUT' help.txt
"$re" encode --help >ehelp.txt
check "encode --help documents --keyint" grep -q -- '--keyint' ehelp.txt
exits "$re" 2>err.txt
check "no command exits 2" test $rc -eq 2
check "no command: one line" one_line err.txt
exits "$re" encode --crf 99 x.mp4 2>err.txt
check "bad --crf exits 2" test $rc -eq 2
check "bad --crf named" grep -q -- '--crf' err.txt
"$re" --version >ver.txt
check "--version names libavcodec" grep -q libavcodec ver.txt

# A good recording.
"$mk" --duration 2 "talk 1.mp4" >/dev/null
sum_before=$(md5sum <"talk 1.mp4")
"$re" encode -q "talk 1.mp4"
check "output written" test -s "talk 1.webm"
check "no .part left" test ! -e "talk 1.webm.part"
check "input untouched" test "$(md5sum <"talk 1.mp4")" = "$sum_before"

# The output keeps the recording's access and modification times.
"$mk" --duration 1 --size 160x96 old.mp4 >/dev/null
touch -m -d '2019-06-01 12:00:00.123456789' old.mp4
touch -a -d '2020-01-02 03:04:05.5' old.mp4
"$re" encode -q old.mp4
check "times: mtime copied" test "$(stat -c %y old.webm)" = "$(stat -c %y old.mp4)"
check "times: atime copied" test "$(stat -c %X old.webm)" = "$(date -d '2020-01-02 03:04:05' +%s)"

# A phone's portrait recording (display matrix) comes out upright, turned.
"$mk" --duration 1 --size 160x96 --rotate 90 --pattern marks phone.mp4 >/dev/null
"$re" encode -q phone.mp4
check "rotated: output portrait" bash -c "'$mk' --inspect phone.webm | grep -q '96x160'"
check "rotated: no matrix left" bash -c "'$mk' --inspect phone.webm | grep -q 'rotation 0'"

# The output exists now: refused, not replaced.
cp "talk 1.webm" keep.webm
exits "$re" encode -q "talk 1.mp4" 2>err.txt
check "existing output: exit 1" test $rc -eq 1
check "existing output: hint" grep -q -- '--overwrite' err.txt
check "existing output unchanged" cmp -s keep.webm "talk 1.webm"
"$re" encode -q --overwrite --crf 50 "talk 1.mp4"
check "--overwrite replaces" test "$(stat -c %s "talk 1.webm")" -ne "$(stat -c %s keep.webm)"

# The other encoder. SVT-AV1 writes to stderr by itself (banner, warnings):
# with -q, nothing but our own lines may appear.
"$re" encode -q --video-encoder libsvtav1 "talk 1.mp4" -o svt.webm 2>err.txt
check "libsvtav1: output written" test -s svt.webm
check "libsvtav1: quiet stderr" test ! -s err.txt
exits "$re" encode --preset 8 "talk 1.mp4" -o x.webm 2>err.txt
check "--preset with libaom: exit 2" test $rc -eq 2
check "--preset with libaom: one line" one_line err.txt
check "--preset with libaom: named" grep -q -- '--preset' err.txt
check "--preset with libaom: nothing written" test ! -e x.webm -a ! -e x.webm.part

# A leading dash, after --.
"$mk" --duration 1 --audio-tracks 0 -- -dash.mp4 >/dev/null 2>&1 || cp "talk 1.mp4" ./-dash.mp4
"$re" encode -q -- -dash.mp4
check "leading-dash name" test -s ./-dash.webm

# A zero-byte recording: one clear line, nothing written.
: >empty.mp4
exits "$re" encode empty.mp4 2>err.txt
check "empty input: exit 1" test $rc -eq 1
check "empty input: one line" one_line err.txt
check "empty input: names the file" grep -q "'empty.mp4'" err.txt
check "empty input: no output" test ! -e empty.webm -a ! -e empty.webm.part

# Ctrl-C mid-encode: exit 130, nothing half-written.
"$mk" --duration 40 --pattern noise long.mp4 >/dev/null
"$re" encode -q long.mp4 &
pid=$!
for _ in $(seq 200); do [[ -e long.webm.part ]] && break; sleep 0.05; done
check "encode under way" test -e long.webm.part
kill -INT $pid
exits wait $pid
check "SIGINT exits 130" test $rc -eq 130
check "SIGINT: no output" test ! -e long.webm -a ! -e long.webm.part
# The other stop signals: 128 + the signal's number, as `run` exits.
for sig in TERM:143 HUP:129; do
    "$re" encode -q long.mp4 &
    pid=$!
    for _ in $(seq 200); do [[ -e long.webm.part ]] && break; sleep 0.05; done
    kill -"${sig%:*}" $pid
    exits wait $pid
    check "SIG${sig%:*} exits ${sig#*:}" test $rc -eq "${sig#*:}"
    check "SIG${sig%:*}: no output" test ! -e long.webm -a ! -e long.webm.part
done
"$re" encode -q --video-encoder libsvtav1 long.mp4 2>err.txt &
pid=$!
# Wait until SVT is encoding: SVT-AV1 1.4's deinit can block forever when the
# encoder is closed within ~10 ms of opening (a known, unfixed third-party
# hang; see the closing note of 2026-11-21). libaom above has no such wait.
for _ in $(seq 400); do [[ -s long.webm.part ]] && break; sleep 0.05; done
sleep 1
kill -INT $pid
exits wait $pid
check "libsvtav1 SIGINT exits 130" test $rc -eq 130
check "libsvtav1 SIGINT: no output" test ! -e long.webm -a ! -e long.webm.part
check "libsvtav1 SIGINT: only our line" test "$(grep -c -v '^reencode: ' err.txt)" -eq 0

# The progress line (forced on; off a terminal by default): every redraw is
# "\r  P%  DONE/TOTAL s  F fps  Sx  M MiB ESC[K", the last thing before the
# summary is the erase "\r ESC[K", and without --progress there is none.
"$mk" --duration 2 --size 320x180 meter.mp4 >/dev/null
"$re" encode --progress -o meter.webm meter.mp4 2>meter.err
check "meter: redraws in the pinned format" python3 - meter.err <<'PY'
import re, sys
err = open(sys.argv[1], "rb").read().decode()
head, sep, tail = err.rpartition("\r\033[K")
draws = head.split("\r")[1:]
assert sep and draws, repr(err)
line = re.compile(r" *\d+\.\d%  +\d+\.\d/2\.0 s  +\d+\.\d fps  \d+\.\d\dx  +\d+\.\d\d MiB\033\[K")
bad = [d for d in draws if not line.fullmatch(d)]
assert not bad, bad
assert tail.startswith("meter.webm: ") and "\r" not in tail, repr(tail)
PY
"$re" encode -o meter2.webm meter.mp4 2>meter2.err
check "meter: none off a terminal" bash -c "! grep -q \$'\\r' meter2.err"
check "meter: same output either way" cmp meter.webm meter2.webm

finish
