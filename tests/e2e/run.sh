#!/usr/bin/env bash
# End-to-end: `reencode run` — the batch, its journal, resume and interrupts.
#   run.sh REENCODE MKCLIP
. "$(dirname "$0")/lib.sh" run "$@"

# Every output decodes without error and lasts as long as its input (2 s).
decodes() {
    local info
    info=$("$mk" --inspect "$1") || return 1
    ! grep -q 'errors [1-9]' <<<"$info" || return 1
    grep -q '^stream 0: video av1' <<<"$info" || return 1
    awk '/^stream 0: video/ { for (i = 1; i <= NF; i++) if ($i == "end") e = $(i + 1) }
         END { exit !(e > 1.9 && e < 2.1) }' <<<"$info"
}
parts_left() { find "$1" -name '*.part' | grep -q .; }
status_count() { # status_count DIR STATUS: files in that status per `status --json`
    "$re" status --json "$1" | python3 -c '
import json, sys
want = sys.argv[1]
print(sum(1 for l in sys.stdin for r in [json.loads(l)] if r["type"] == "file" and r["status"] == want))' "$2"
}

# ---- a batch of 8 with -j 2
mkdir -p rec/a "rec/b c"
pats=(slides webcam motion slides webcam slides motion slides)
for i in 0 1 2 3 4 5 6 7; do
    d=rec/a
    ((i % 2)) && d="rec/b c"
    "$mk" --duration 2 --pattern "${pats[$i]}" --crf 18 "$d/clip $i.mp4" >/dev/null
done
(cd rec && find . -name '*.mp4' -exec md5sum {} + | sort -k2) >sums.before
exits "$re" run -j 2 --threads 1 --no-progress rec 2>run1.err
check "batch exits 0" test $rc -eq 0
n_ok=0
for f in rec/a/*.mp4.reencoded "rec/b c"/*.mp4.reencoded; do
    base=${f%.mp4.reencoded}
    [[ -s $base.webm && ! -e $base.mp4 ]] && decodes "$base.webm" && n_ok=$((n_ok + 1))
done
check "8 outputs decode, originals renamed" test $n_ok -eq 8
(cd rec && find . -name '*.mp4.reencoded' -exec md5sum {} + | sed 's/\.reencoded$//' | sort -k2) >sums.after
check "originals byte-identical after rename" cmp -s sums.before sums.after
n_times=0
for f in rec/a/*.mp4.reencoded "rec/b c"/*.mp4.reencoded; do
    [[ $(stat -c %y "$f") == $(stat -c %y "${f%.mp4.reencoded}.webm") ]] && n_times=$((n_times + 1))
done
check "outputs carry their originals' mtime" test $n_times -eq 8
check "no .part left" bash -c "! find rec -name '*.part' | grep -q ."
check "status: 8 done" test "$(status_count rec done)" -eq 8
check "log file written" bash -c "ls rec/.reencode/reencode-*.log >/dev/null"

# ---- run --json and status --json speak of a file in one schema: a key
# both carry has the same JSON type in both, and "verified" the same value
mkdir js
"$mk" --duration 1 --pattern slides js/a.mp4 >/dev/null
"$mk" --duration 1 --pattern webcam js/b.mp4 >/dev/null
"$re" run --json -j 1 js >js.events 2>/dev/null
"$re" status --json js >js.status
check "run --json and status --json: one schema" python3 - js.events js.status <<'PY'
import json, sys
done = {e["path"]: e for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "done"}
recs = [r for r in map(json.loads, open(sys.argv[2])) if r["type"] == "file"]
assert len(done) == 2 and len(recs) == 2, (len(done), len(recs))
for r in recs:
    e = next(v for p, v in done.items() if p.endswith("/" + r["path"]))
    shared = (set(e) & set(r)) - {"time"}
    assert "verified" in shared and r["verified"] == e["verified"] == "quick", (e, r)
    bad = [k for k in shared if type(e[k]) is not type(r[k])]
    assert not bad, bad
PY
# ... and so does --results (the same record, one function writes it)
mkdir jr
"$mk" --duration 1 --pattern slides jr/c.mp4 >/dev/null
printf 'jr/c.mp4\n' >jr.list
"$re" run --json -j 1 --from-list jr.list --results jr.results >jr.events 2>/dev/null
check "run --json and --results: one schema" python3 - jr.events jr.results <<'PY'
import json, sys
done = [e for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "done"]
recs = json.load(open(sys.argv[2]))
assert len(done) == 1 and list(recs) == ["jr/c.mp4"], (done, recs)
e, r = done[0], recs["jr/c.mp4"]
shared = set(e) & set(r)
assert {"state", "verified", "wall_seconds", "width", "error"} <= shared, shared
assert r["status"] == "done" and r["width"] == e["width"] == 320, (e, r)
# values too, but for the path (as named) and the time (journalled in ms)
bad = [k for k in shared - {"path", "wall_seconds"} if type(e[k]) is not type(r[k]) or e[k] != r[k]]
assert not bad, bad
assert abs(e["wall_seconds"] - r["wall_seconds"]) < 0.002, (e, r)
PY

# ---- what the walk says reaches the log and --json: the reporter comes
# first (a dangling link named like a recording is the walk's warning)
mkdir wn
"$mk" --duration 1 --size 160x96 wn/a.mp4 >/dev/null
ln -s nowhere.mp4 wn/gone.mp4
"$re" run --json --follow-symlinks -j 1 wn >wn.events 2>wn.err
check "walk warning: a note event in --json" python3 - wn.events <<'PY'
import json, sys
notes = [e for e in map(json.loads, open(sys.argv[1])) if e["event"] == "note"]
warn = [e for e in notes if e["level"] == "warning" and "wn/gone.mp4" in e["message"]]
assert len(warn) == 1 and warn[0]["message"].startswith("cannot read "), notes
PY
check "walk warning: in the log" grep -q "warning: cannot read 'wn/gone.mp4'" wn/.reencode/reencode-*.log
check "walk warning: logged before the run line" bash -c \
    "grep -n -e 'gone.mp4' -e '\] run ' wn/.reencode/reencode-*.log | head -1 | grep -q gone"
check "walk warning: not on stderr as well" bash -c "! grep -q gone wn.err"

# ---- rerun: nothing to do, and it says so
exits "$re" run --no-progress rec 2>run2.err
check "rerun exits 0" test $rc -eq 0
check "rerun says nothing to do" grep -q 'nothing to do' run2.err
check "rerun wrote nothing new" test "$(find rec -name '*.webm' | wc -l)" -eq 8

# ---- a torn last journal line (power cut mid-write) is survived
printf '{"v":1,"seq":999,"type":"file","rel":"x' >>rec/.reencode/journal
exits "$re" run --no-progress rec 2>run3.err
check "torn tail: run exits 0" test $rc -eq 0
check "torn tail: reported" grep -qi 'cut short' run3.err
check "torn tail: status still 8 done" test "$(status_count rec done)" -eq 8

# ---- not beneficial: kept, journalled skipped, never retried
mkdir big
"$mk" --duration 2 --pattern slides big/s.mp4 >/dev/null
exits "$re" run --no-progress --max-size-ratio 0.01 big 2>nb.err
check "not beneficial: exit 0" test $rc -eq 0
check "not beneficial: original kept" test -s big/s.mp4 -a ! -e big/s.mp4.reencoded
check "not beneficial: no output" test ! -e big/s.webm -a ! -e big/s.webm.part
check "not beneficial: journalled skipped" test "$(status_count big skipped)" -eq 1
exits "$re" run --no-progress big 2>nb2.err
check "not beneficial: not retried" test ! -e big/s.webm
check "not beneficial: says so" grep -q 'nothing to do' nb2.err

# ---- --output-dir mirrors the tree, --originals keep
mkdir -p src/x/y
"$mk" --duration 2 src/x/y/deep.mp4 >/dev/null
"$mk" --duration 2 src/top.mp4 >/dev/null
exits "$re" run --no-progress --originals keep --output-dir out src 2>od.err
check "output-dir: exit 0" test $rc -eq 0
check "output-dir: mirrored" test -s out/x/y/deep.webm -a -s out/top.webm
check "output-dir: originals kept" test -s src/x/y/deep.mp4 -a -s src/top.mp4
check "output-dir: output keeps the original's mtime" \
    test "$(stat -c %Y out/top.webm)" -eq "$(stat -c %Y src/top.mp4)"

# ---- a recording cut short (faststart, so it still opens): fails, original kept
mkdir cut
"$mk" --duration 4 --faststart --truncate 0.5 cut/short.mp4 >/dev/null
sum=$(md5sum <cut/short.mp4)
exits "$re" run --no-progress cut 2>cut.err
check "truncated: exit 1" test $rc -eq 1
check "truncated: both durations named" grep -q 'declares' cut.err
check "truncated: original untouched" test "$(md5sum <cut/short.mp4)" = "$sum"
check "truncated: no output" test ! -e cut/short.webm -a ! -e cut/short.webm.part

# ---- a second run on the same journal is refused; two Ctrl-C abort cleanly
mkdir long
"$mk" --duration 40 --pattern noise long/l.mp4 >/dev/null
"$re" run --no-progress -j 1 long 2>long.err &
pid=$!
for _ in $(seq 400); do [[ -e long/l.webm.part ]] && break; sleep 0.05; done
check "long encode under way" test -e long/l.webm.part
exits "$re" run --no-progress long 2>second.err
check "second run: exit 3" test $rc -eq 3
check "second run: names the pid" grep -q "pid $pid" second.err
kill -INT $pid
sleep 0.3
check "one Ctrl-C: still running" kill -0 $pid
kill -INT $pid
exits wait $pid
check "two Ctrl-C: exit 130" test $rc -eq 130
check "two Ctrl-C: no .part" test ! -e long/l.webm.part
check "two Ctrl-C: no output" test ! -e long/l.webm
check "two Ctrl-C: original kept" test -s long/l.mp4
check "two Ctrl-C: journalled pending" test "$(status_count long pending)" -eq 1

# ---- the pool's size follows the cores this process may use (its CPU set,
# as Slurm gives it), the queue, and --threads; the last file takes the
# idle cores; the run reports how busy the cores were
mkdir sched
for i in 0 1 2; do "$mk" --duration 1 --pattern webcam "sched/s$i.mp4" >/dev/null; done
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
    taskset -c 0,1 "$re" run --no-progress --originals keep --output-dir sched/o1 \
        --journal sched/j1 sched 2>sched/two.err
    check "2 cores, 3 files: 2 at once x 1 thread" grep -q '2 at once x 1 thread (2 cores' sched/two.err
    taskset -c 0 "$re" run --no-progress --originals keep --output-dir sched/o2 \
        --journal sched/j2 sched 2>sched/one.err
    check "1 core: 1 at once x 1 thread" grep -q '1 at once x 1 thread (1 core;' sched/one.err
    taskset -c 0,1 "$re" run --no-progress --originals keep --output-dir sched/o3 \
        --journal sched/j3 --threads 2 sched 2>sched/t2.err
    check "2 cores, --threads 2: 1 at once x 2 threads" grep -q '1 at once x 2 threads' sched/t2.err
    check "busy cores reported" grep -Eq 'cores busy [0-9]+% .* on 2 cores' sched/two.err
    check "3 outputs each time" test "$(find sched/o1 sched/o2 sched/o3 -name '*.webm' | wc -l)" -eq 9
else
    echo "note: taskset missing or one core: pool sizing not checked" >&2
fi

# ---- kill -9 at several instants, then resume: each file done exactly once
mkdir k
for i in 0 1 2 3 4 5; do "$mk" --duration 2 --pattern webcam "k/f$i.mp4" >/dev/null; done
kills=0
for delay in 0 0.3 0.8 1.5 2.5 4; do
    "$re" run --no-progress -j 2 --threads 1 k >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    if kill -9 $pid 2>/dev/null; then kills=$((kills + 1)); fi
    wait $pid 2>/dev/null || true
done
exits "$re" run --no-progress k 2>k.err
check "after kill -9: final run exits 0" test $rc -eq 0
check "killed at least 3 times" test $kills -ge 3
n=0
for i in 0 1 2 3 4 5; do
    [[ -s k/f$i.webm && -s k/f$i.mp4.reencoded && ! -e k/f$i.mp4 ]] && decodes k/f$i.webm && n=$((n + 1))
done
check "after kill -9: all 6 done, decodable" test $n -eq 6
check "after kill -9: exactly 6 outputs" test "$(find k -name '*.webm' | wc -l)" -eq 6
check "after kill -9: no .part" bash -c "! find k -name '*.part' | grep -q ."
check "after kill -9: status 6 done" test "$(status_count k done)" -eq 6

finish
