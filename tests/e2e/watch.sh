#!/usr/bin/env bash
# End-to-end: `reencode watch` — recordings taken only once finished.
#   watch.sh REENCODE MKCLIP
# 1. a recording written in pieces over ~8 s by a process holding it open,
#    its index (moov) last, as Game Bar writes it: encoded exactly once,
#    after the last write; 2. a file cut before its moov that never changes
#    again: left alone (no output, no .part, no journal record, same bytes);
# 3. a file copied in while watch runs: done; 4. the same with no inotify
#    (--rescan-only): done within the rescan time; 5. SIGTERM during an
#    encode: exit 143, no .part, journal consistent, original intact; SIGTERM
#    while idle: ends in under 2 s.
. "$(dirname "$0")/lib.sh" watch "$@"

md5() { md5sum <"$1" | cut -d' ' -f1; }
now() { date +%s.%N; }
# wait_for SECONDS PATH: until PATH exists; 1 if it does not in time
wait_for() {
    local end
    end=$(awk -v t="$1" -v n="$(now)" 'BEGIN { printf "%.3f", n + t }')
    while [[ ! -e $2 ]]; do
        awk -v e="$end" -v n="$(now)" 'BEGIN { exit !(n > e) }' && return 1
        sleep 0.1
    done
}
# records JOURNAL REL STATE: how many records of that state the journal holds for REL
records() {
    python3 - "$@" <<'PY'
import json, sys
j, rel, state = sys.argv[1:4]
n = 0
for line in open(j):
    r = json.loads(line.rsplit(" ", 1)[0])
    n += r.get("type") == "file" and r.get("rel") == rel and r.get("state") == state
print(n)
PY
}
# started_after JOURNAL REL EPOCH: its first "started" record is later than EPOCH
started_after() {
    python3 - "$@" <<'PY'
import datetime, json, sys
j, rel, t = sys.argv[1], sys.argv[2], float(sys.argv[3])
for line in open(j):
    r = json.loads(line.rsplit(" ", 1)[0])
    if r.get("type") == "file" and r.get("rel") == rel and r.get("state") == "started":
        at = datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        at = at.replace(tzinfo=datetime.timezone.utc).timestamp()
        print(f"started {at - t:+.2f} s after the last write", file=sys.stderr)
        sys.exit(0 if at > t else 1)
sys.exit(1)
PY
}
video_end() { "$mk" --inspect "$1" | awk '/^stream 0: video/ { for (i = 1; i <= NF; i++) if ($i == "end") print $(i + 1) }'; }
# stop_watch PID: SIGTERM, then its exit status in $rc and the seconds it took in $took
stop_watch() {
    local t0
    t0=$(now)
    kill -TERM "$1"
    exits wait "$1"
    took=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
}

"$mk" --duration 4 --pattern slides rec.mp4 >/dev/null
"$mk" --duration 2 --pattern webcam copy.mp4 >/dev/null
"$mk" --duration 2 --pattern slides copy2.mp4 >/dev/null
"$mk" --truncate 0.6 --duration 3 --pattern slides cut.mp4 >/dev/null
"$mk" --duration 40 --pattern noise long.mp4 >/dev/null

# ---- 1-3, with inotify
mkdir w
cp cut.mp4 w/cut.mp4
touch -d '1 hour ago' w/cut.mp4 # there before watch began: settled at once
cut_sum=$(md5 w/cut.mp4)
"$re" watch --settle 2 --rescan 300 -j 1 w 2>w.err &
pid=$!
wait_for 10 w/.reencode/journal || sleep 1 # the first pass, if any, or the start note
sleep 1
check "watch: says what it watches" grep -q 'watching 1 directory' w.err

# The recorder: the file open for writing throughout, written in 4 pieces
# 2.5 s apart (longer than --settle), the moov in the last piece.
size=$(stat -c %s rec.mp4)
piece=$(((size + 3) / 4))
exec 3>w/rec.mp4
for i in 0 1 2 3; do
    dd if=rec.mp4 bs="$piece" skip="$i" count=1 status=none >&3
    [[ $i -eq 1 ]] && cp copy.mp4 w/copy.mp4 # 3: copied in meanwhile
    [[ $i -lt 3 ]] && sleep 2.5
done
exec 3>&-
last_write=$(now)
check "recorder: file written whole" cmp -s rec.mp4 w/rec.mp4

check "recording: output within 30 s" wait_for 30 w/rec.webm
check "copied file: output" wait_for 30 w/copy.webm
sleep 3 # time for a second (wrong) encode, were there one
j=w/.reencode/journal
check "recording: started once" test "$(records $j rec.mp4 started)" -eq 1
check "recording: done once" test "$(records $j rec.mp4 done)" -eq 1
check "recording: no failed record" test "$(records $j rec.mp4 failed)" -eq 0
check "recording: started after the last write" started_after $j rec.mp4 "$last_write"
end=$(video_end w/rec.webm)
check "recording: output lasts the whole clip (4 s, got $end)" \
    awk -v e="$end" 'BEGIN { exit !(e > 3.9 && e < 4.1) }'
check "recording: original renamed, byte-identical" cmp -s rec.mp4 w/rec.mp4.reencoded
check "recording: watch saw the writer and waited" \
    grep -q "waiting: 'w/rec.mp4' (a process has it open for writing)" w.err
check "copied file: done once" test "$(records $j copy.mp4 done)" -eq 1
check "incomplete: said once" test "$(grep -c "waiting: 'w/cut.mp4'" w.err)" -eq 1
check "incomplete: no output" test ! -e w/cut.webm -a ! -e w/cut.webm.part
check "incomplete: no journal record" test "$(grep -c '"rel":"cut.mp4"' $j)" -eq 0
check "incomplete: original byte-identical" test "$(md5 w/cut.mp4)" = "$cut_sum"
check "no .part left" bash -c "! find w -name '*.part' | grep -q ."
check "passes with nothing new print nothing" bash -c "! grep -q 'nothing to do' w.err"

stop_watch $pid
check "idle SIGTERM: exit 143 (got $rc)" test "$rc" -eq 143
check "idle SIGTERM: ended in under 2 s ($took s)" awk -v t="$took" 'BEGIN { exit !(t < 2) }'
check "idle SIGTERM: no error" bash -c "! grep -q 'error' w.err"

# ---- 4, file system events off: found by the rescan
mkdir r
"$re" watch --json --rescan-only --rescan 1 --settle 1 -j 1 r >r.json 2>r.err &
pid=$!
wait_for 10 r/.reencode || true
sleep 1
check "rescan-only: says so" grep -q 'no file system events' r.json
t0=$(now)
cp copy2.mp4 r/copy2.mp4
check "rescan-only: copied file done" wait_for 20 r/copy2.webm
took=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
# rescan 1 s + settle 1 s + a look to see it unchanged + a 2 s clip's encode
check "rescan-only: within rescan + settle + encode ($took s)" \
    awk -v t="$took" 'BEGIN { exit !(t < 10) }'
sleep 0.5
check "rescan-only: done in the journal" test "$(records r/.reencode/journal copy2.mp4 done)" -eq 1
stop_watch $pid
check "rescan-only: SIGTERM exit 143" test "$rc" -eq 143
check "--json: every line one JSON object, the file's done event among them" python3 - r.json <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
assert all(isinstance(e, dict) for e in events)
done = [e for e in events if e.get("event") == "done" and e["path"].endswith("copy2.mp4")]
assert len(done) == 1, done
PY

# ---- 5, SIGTERM while an encode runs
mkdir l
"$re" watch --settle 1 -j 1 l 2>l.err &
pid=$!
sleep 1
cp long.mp4 l/long.mp4
check "long encode under way" wait_for 30 l/long.webm.part
sleep 0.5
stop_watch $pid
check "encoding SIGTERM: exit 143 (got $rc)" test "$rc" -eq 143
check "encoding SIGTERM: no .part" test ! -e l/long.webm.part
check "encoding SIGTERM: original intact" cmp -s long.mp4 l/long.mp4
jl=l/.reencode/journal
# cancelled (interrupted, no output), or finished first (done, with its output)
n_int=$(records $jl long.mp4 interrupted)
n_done=$(records $jl long.mp4 done)
check "encoding SIGTERM: journal consistent (interrupted $n_int, done $n_done)" \
    bash -c "[[ ($n_int -eq 1 && $n_done -eq 0 && ! -e l/long.webm) ||
               ($n_done -eq 1 && -s l/long.webm) ]]"
check "encoding SIGTERM: no process left" bash -c "! kill -0 $pid 2>/dev/null"

finish
