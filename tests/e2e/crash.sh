#!/usr/bin/env bash
# End-to-end: crash containment. One input's encode really crashes the
# process (tests/support/crashshim.c, LD_PRELOAD: a store through a null
# pointer in the middle of the encode); the batch must still end by itself.
#   crash.sh REENCODE MKCLIP CRASHSHIM
# What it shows:
#   - supervised (the default): one `reencode run` of a hostile batch (the
#     crashing clip, damaged files, good clips, -j 2) ends by itself with
#     exit 1, never on a signal; the culprit fails with one line after two
#     crashes, the innocent clip that was being encoded beside it at the
#     first crash ends done, so do the other good clips; only the broken
#     files fail, each with one line naming it and the cause; no .part;
#     originals byte-identical; status shows the cause; a rerun does
#     nothing; --retry-failed tries the culprit once more (one crash);
#   - --no-supervisor: the process dies on SIGSEGV (139), the reruns finish
#     the others, and the culprit fails after its second crash, alone;
#   - SIGABRT (a failed assertion), and a crash whose handler cannot run
#     (the supervisor writes the records itself);
#   - crashes with no file being encoded stop after two, with 128 + N;
#   - signals reach the worker through the supervisor (TERM: 143), and the
#     worker dies with the supervisor.
. "$(dirname "$0")/lib.sh" crash "$@"
shim=$3
shopt -s nullglob
ulimit -c 0 # the crashes are on purpose: no core files
# The shim is not built with the sanitizers' runtime first in line.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

culprit="phone 10bit.mp4"
crashy() { LD_PRELOAD=$shim RX_CRASH_ON=$culprit "$@"; }
no_parts() { [[ -z $(find "$1" -name '*.part') ]]; }
# field DIR REL KEY: that file's KEY in `status --json DIR` (which exits 1
# when a file failed)
field() {
    { "$re" status --json "$1" || true; } | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["type"] == "file" and r["path"] == sys.argv[1]:
        print(r.get(sys.argv[2], ""))' "$2" "$3"
}
# statuses DIR: "REL=status" per file, sorted
statuses() {
    { "$re" status --json "$1" || true; } | python3 -c '
import json, sys
print(" ".join(sorted("%s=%s" % (r["path"], r["status"]) for l in sys.stdin
                      for r in [json.loads(l)] if r["type"] == "file")))'
}
sums() { (cd "$1" && find . -name '*.mp4' -o -name '*.mp4.reencoded' | sort | xargs -d '\n' md5sum); }
worker_of() { pgrep -P "$1" | head -n 1 || true; }

# ---- a hostile batch, supervised, -j 2
mkdir -p rec/more
# The culprit and the innocent are the two heaviest: they start together.
"$mk" --duration 3 --pattern motion rec/innocent.mp4 >/dev/null
"$mk" --duration 2 --pattern motion --bit-depth 10 "rec/$culprit" >/dev/null
for i in 1 2 3 4; do "$mk" --duration 1 --pattern slides "rec/more/c$i.mp4" >/dev/null; done
"$mk" --empty rec/empty.mp4 >/dev/null
"$mk" --random 30000 --seed 3 rec/noise.mp4 >/dev/null
"$mk" --duration 4 --faststart --truncate 0.5 rec/cut.mp4 >/dev/null
sums rec >before.md5
t0=$SECONDS
exits crashy "$re" run -j 2 --threads 1 --no-progress rec 2>run1.err
echo "supervised hostile batch: exit $rc in $((SECONDS - t0)) s"
check "supervised: ends by itself with exit 1 (got $rc)" test $rc -eq 1
crashes=$(grep -c 'worker died on SIGSEGV while encoding' run1.err || true)
check "supervised: the culprit crashed twice, no more (got $crashes)" test "$crashes" -eq 2
check "supervised: the first crash caught the innocent clip beside it" \
    grep -q "worker died on SIGSEGV while encoding .*'rec/innocent.mp4'" run1.err
check "supervised: the second crash was the culprit alone" \
    bash -c "grep 'worker died' run1.err | sed -n 2p | grep -q \"encoding 'rec/$culprit'; resuming\""
want="cut.mp4=failed empty.mp4=failed innocent.mp4=done more/c1.mp4=done more/c2.mp4=done"
want+=" more/c3.mp4=done more/c4.mp4=done noise.mp4=failed phone 10bit.mp4=failed"
got=$(statuses rec)
check "supervised: every valid video done, only the broken ones failed (got: $got)" \
    test "$got" = "$want"
err=$(field rec "$culprit" error)
check "supervised: the culprit's cause ($err)" \
    test "$err" = "the encoder crashed (SIGSEGV) on 'rec/$culprit' twice; original kept (--retry-failed to try again)"
check "supervised: the culprit crashed twice, once alone" \
    test "$(field rec "$culprit" crashes)/$(field rec "$culprit" crashes_alone)" = 2/1
check "supervised: the innocent was in flight at one crash, and is done" \
    test "$(field rec innocent.mp4 crashes)/$(field rec innocent.mp4 status)" = 1/done
for f in "$culprit" empty.mp4 noise.mp4 cut.mp4; do
    n=$(grep -c "^failed .*$f" run1.err || true)
    check "supervised: one line names '$f' and its cause (got $n)" test "$n" -eq 1
done
check "supervised: no .part anywhere" no_parts rec
check "supervised: no crash file left" test ! -e rec/.reencode/journal.crash
sums rec | sed 's/\.reencoded$//' >after.md5
check "supervised: originals byte-identical (failed ones in place, done ones renamed)" \
    cmp -s before.md5 after.md5
check "supervised: the failed ones kept under their names" \
    test -e "rec/$culprit" -a -e rec/empty.mp4 -a -e rec/noise.mp4 -a -e rec/cut.mp4
check "supervised: five outputs" test "$(find rec -name "*.webm" | wc -l)" -eq 5
"$re" status rec >status.out || true
check "status shows the crash as the cause" grep -q "the encoder crashed (SIGSEGV)" status.out

exits crashy "$re" run -j 2 --no-progress rec 2>run2.err
check "rerun: does nothing, exit 0 (got $rc)" test $rc -eq 0
check "rerun: no crash" bash -c "! grep -q 'worker died' run2.err"
check "rerun: says nothing to do" grep -q 'nothing to do' run2.err

exits crashy "$re" run -j 2 --no-progress --retry-failed rec 2>run3.err
crashes=$(grep -c 'worker died on SIGSEGV' run3.err || true)
check "--retry-failed: tried once more, crashed once (got $crashes), exit 1 (got $rc)" \
    test "$crashes/$rc" = 1/1
check "--retry-failed: failed again, the third time" \
    bash -c "grep -q \"on 'rec/$culprit' 3 times; original kept\" <<<\"\$(\"$re\" status rec)\""
check "--retry-failed: the others stay done" test "$(statuses rec)" = "$want"
check "--retry-failed: no .part" no_parts rec
sums rec | sed 's/\.reencoded$//' >after3.md5
check "--retry-failed: originals byte-identical" cmp -s before.md5 after3.md5

# ---- without the supervisor: the process dies, reruns finish the batch
mkdir -p solo
"$mk" --duration 3 --pattern motion solo/innocent.mp4 >/dev/null
"$mk" --duration 2 --pattern motion "solo/$culprit" >/dev/null
for i in 1 2 3; do "$mk" --duration 1 "solo/c$i.mp4" >/dev/null; done
sums solo >solo.before
exits crashy "$re" run -j 2 --threads 1 --no-progress --no-supervisor solo 2>solo1.err
check "--no-supervisor: dies on SIGSEGV, exit 139 (got $rc)" test $rc -eq 139
check "--no-supervisor: two crash records beside the journal" \
    test "$(wc -l <solo/.reencode/journal.crash)" -eq 2
check "--no-supervisor: says which files" \
    test "$(grep -c 'crashed (SIGSEGV) while encoding' solo1.err)" -eq 2
"$re" status solo >solo.status || true # the crash file is folded by the next run
runs=1 deaths=1
while ((rc == 139 && runs < 5)); do
    exits crashy "$re" run -j 2 --threads 1 --no-progress --no-supervisor solo 2>>solo2.err
    runs=$((runs + 1))
    ((rc == 139)) && deaths=$((deaths + 1))
done
check "--no-supervisor: two crashes in all (got $deaths), the last run exit 1 (got $rc)" \
    test "$deaths/$rc" = 2/1
check "--no-supervisor: the culprit failed after its second crash, alone" \
    test "$(field solo "$culprit" status)/$(field solo "$culprit" crashes)/$(field solo "$culprit" crashes_alone)" = failed/2/1
check "--no-supervisor: the innocent done" test "$(field solo innocent.mp4 status)" = done
check "--no-supervisor: the others done" \
    test "$(statuses solo)" = "c1.mp4=done c2.mp4=done c3.mp4=done innocent.mp4=done phone 10bit.mp4=failed"
check "--no-supervisor: no .part, no crash file" \
    bash -c "[[ -z \$(find solo -name '*.part') && ! -e solo/.reencode/journal.crash ]]"
sums solo | sed 's/\.reencoded$//' >solo.after
check "--no-supervisor: originals byte-identical" cmp -s solo.before solo.after

# ---- SIGABRT, and a crash the handler cannot record (the supervisor does)
for how in abort nohandler; do
    mkdir -p "$how"
    "$mk" --duration 2 "$how/$culprit" >/dev/null
    "$mk" --duration 1 "$how/ok.mp4" >/dev/null
    exits env RX_CRASH_HOW=$how LD_PRELOAD="$shim" RX_CRASH_ON="$culprit" \
        "$re" run -j 2 --threads 1 --no-progress "$how" 2>"$how.err"
    sig=SIGSEGV
    [[ $how == abort ]] && sig=SIGABRT
    check "$how: exit 1 (got $rc), two crashes on $sig" \
        test "$rc/$(grep -c "worker died on $sig while encoding" "$how.err")" = 1/2
    check "$how: the culprit failed on $sig, the other done" \
        bash -c "[[ \"\$(\"$re\" status \"$how\")\" == *'crashed ($sig)'* ]]"
    check "$how: the other done" test "$(field "$how" ok.mp4 status)" = done
done

# ---- crashes with no file being encoded: two in a row, then give up
mkdir -p idle
"$mk" --duration 1 idle/a.mp4 >/dev/null
mkdir -p idle/.reencode
: >idle/.reencode/journal
# A holder of the journal's lock: the workers wait for it, encoding nothing.
(exec 9<idle/.reencode/journal && flock 9 && exec sleep 60) >/dev/null 2>&1 &
holder=$!
"$re" run --no-progress --wait idle 2>idle.err &
pid=$!
killed=0
for _ in 1 2; do
    w=
    for _ in $(seq 100); do # a (new) worker waiting for the lock
        w=$(worker_of $pid)
        [[ -n $w && $w != "${last:-}" ]] && break
        sleep 0.05
    done
    sleep 0.2
    [[ -n $w ]] && kill -SEGV "$w" && killed=$((killed + 1))
    last=$w
done
exits wait $pid
kill $holder 2>/dev/null || true
wait $holder 2>/dev/null || true
check "blameless: two workers killed while idle ($killed)" test $killed -eq 2
check "blameless: gives up with 139 (got $rc)" test $rc -eq 139
check "blameless: says so" grep -q 'with no file being encoded; giving up' idle.err

# ---- signals through the supervisor; the worker dies with it
mkdir -p sig
"$mk" --duration 20 --pattern noise sig/long.mp4 >/dev/null
"$re" run --no-progress -j 1 sig 2>sig.err &
pid=$!
for _ in $(seq 200); do [[ -e sig/long.webm.part ]] && break; sleep 0.05; done
kill -TERM $pid
exits wait $pid
check "TERM to the supervisor: exit 143 (got $rc)" test $rc -eq 143
check "TERM: the encode aborted, no .part, journalled" \
    bash -c "[[ ! -e sig/long.webm.part && ! -e sig/long.webm ]]"
check "TERM: interrupted, pending" test "$(field sig long.mp4 state)" = interrupted
"$re" run --no-progress -j 1 sig 2>sig2.err &
pid=$!
for _ in $(seq 200); do [[ -e sig/long.webm.part ]] && break; sleep 0.05; done
w=$(worker_of $pid)
kill -9 $pid
wait $pid 2>/dev/null || true
gone=0
for _ in $(seq 40); do
    [[ -n $w && ! -e /proc/$w ]] && gone=1 && break
    sleep 0.05
done
check "kill -9 of the supervisor: the worker ($w) dies with it" test $gone -eq 1

finish
