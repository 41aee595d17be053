#!/usr/bin/env bash
# Crash torture for `reencode run`: kill -9 at the commit protocol's boundaries
# and at random instants, resume, repeat.
#
# What it proves: a batch killed at any instant (SIGKILL: no handler, no
# cleanup, no flush)
#   - never leaves a half-written file under a final name: every NAME.webm
#     present after a kill decodes completely and lasts as long as its input;
#   - never loses or alters an original, and never renames one before its
#     output is committed (NAME.mp4.reencoded implies NAME.webm);
#   - is finished by running the same command again: every file encoded
#     exactly once, no .part or stray file left, originals byte-identical
#     under NAME.mp4.reencoded, and `status --json` (the journal) agreeing
#     with the files on disk.
#
# How, first: the instants between the steps of the per-file commit protocol
# (.part complete -> rename to NAME.webm -> journal "encoded" -> rename the
# original -> journal "done") are windows of a few milliseconds that random
# kills seldom hit, so the state a kill leaves in each is made exactly: a real
# run of one clip, then its journal cut back to that step and its files put
# back as they were at that instant. Resuming must finish the file.
#
# Then at random: a round copies a fresh tree of 12 distinct clips, starts
# `reencode run --threads 1` (-j 2 and -j 1 alternately) and SIGKILLs it at an
# instant drawn uniformly in 0..2 s, again and again, until a run finishes
# before its kill. The invariants above are checked after every kill. A final
# run without kill must exit 0, then the end state is checked in full. Rounds
# repeat until the wanted number of kill points has been survived.
#
# Last, SIGSEGV at random instants (0..1.5 s apart): mostly to the worker
# process, which its supervisor replaces (a crash record blames the files
# being encoded, which are then encoded alone, and fail if they crash again
# alone), sometimes to the supervisor itself (the worker dies with it). The
# same invariants after each, and at the end every file is done, or failed
# with a crash as its cause, original in place; `reencode run` always ends
# by itself with 0 or 1 (or 139 after two crashes with no file being
# encoded), never by a signal that was not sent to it.
#
#   torture.sh REENCODE MKCLIP
#   RX_TORTURE_SEED=N   replay the kill instants of a seed (printed at start;
#                       the machine's timing still varies from run to run)
#   RX_TORTURE_KILLS=N  kill points [40]
#   RX_TORTURE_SEGVS=N  SIGSEGV points [12]
#   RX_TORTURE_KEEP=1   keep the work directory (its path is printed)
. "$(dirname "$0")/../e2e/lib.sh" torture "$@"
shopt -s nullglob
if [[ ${RX_TORTURE_KEEP:-0} == 1 ]]; then
    trap 'echo "torture: work directory kept: $work"' EXIT
fi

seed=${RX_TORTURE_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
want=${RX_TORTURE_KILLS:-40}
segv_want=${RX_TORTURE_SEGVS:-12}
max_delay_ms=2000
if [[ ! $seed =~ ^[0-9]+$ || ! $want =~ ^[0-9]+$ || ! $segv_want =~ ^[0-9]+$ ]]; then
    echo "torture: RX_TORTURE_SEED, RX_TORTURE_KILLS and RX_TORTURE_SEGVS must be numbers" >&2
    exit 2
fi
RANDOM=$seed
echo "torture: seed $seed (replay: RX_TORTURE_SEED=$seed), $want kill points," \
    "$segv_want SIGSEGV points"
ulimit -c 0 # the SIGSEGVs are sent on purpose: no core files

# ---- the clips: 12 distinct recordings, 320x180, 1-2 s (NAME|mkclip options)
clips=(
    "Game 01.mp4|--duration 2 --pattern slides"
    "Game 02.mp4|--duration 1.5 --pattern motion"
    "Game 03.mp4|--duration 1 --pattern webcam --crf 18"
    "vfr.mp4|--duration 2 --pattern motion --vfr"
    "two tracks.mp4|--duration 1.8 --pattern slides --audio-tracks 2"
    "silent.mp4|--duration 1.2 --pattern webcam --audio-tracks 0"
    "2024-05/a.mp4|--duration 1.4 --pattern slides --fps 25"
    "2024-05/b.mp4|--duration 1.6 --pattern motion --fps 60"
    "2024-05/c.mp4|--duration 2 --pattern webcam --rate 44100 --channels 1"
    "sub dir/mono.mp4|--duration 1 --pattern slides --channels 1 --title Chrome"
    "sub dir/d.mp4|--duration 1.7 --pattern motion --gop 10"
    "sub dir/e.mp4|--duration 1.3 --pattern webcam --vfr --fps 24"
)
dirs=("2024-05" "sub dir")
mkdir -p "${dirs[@]/#/pristine/}"
names=()   # NAME without .mp4, relative to the tree
sums=()    # sha256 of each original
sizes=()   # its size in bytes
expect=()  # what its output must show: "frames last end tol audio-ends..."
for entry in "${clips[@]}"; do
    name=${entry%%|*}
    read -ra opts <<<"${entry#*|}"
    "$mk" "${opts[@]}" "pristine/$name" >/dev/null
    names+=("${name%.mp4}")
    sums+=("$(sha256sum <"pristine/$name" | cut -d' ' -f1)")
    sizes+=("$(stat -c %s "pristine/$name")")
    # From the decoded input: video frames, last frame's time, end, and one
    # frame of tolerance: the input's last frame duration (1/fps, or a VFR
    # clip's own; WebM blocks carry no duration, so a decoder guesses the
    # last one from the spacing before it) + 1 ms (WebM's clock); then the
    # end of each audio track.
    expect+=("$("$mk" --inspect "pristine/$name" | awk '
        function val(k,  i) { for (i = 1; i < NF; i++) if ($i == k) return $(i + 1) }
        / video / {
            tol = val("end") - val("last") + 0.001
            v = val("frames") " " val("last") " " val("end") " " tol
        }
        / audio / { a = a " " val("end") }
        END { print v a }')")
done
all=("${!names[@]}")
check "12 clips, all distinct" test "$(printf '%s\n' "${sums[@]}" | sort -u | wc -l)" -eq 12
idx=("${all[@]}") # the clips in the tree under test, rec/

# verify_output INDEX: rec/NAME.webm decodes without error, every frame of the
# input is there (the runs use --dedup off so that a lost frame shows: this
# test is about crashes, not about which frames are worth encoding) and ends within one frame of the input's end, and each audio
# track is there as Opus, ending within one Opus frame (20 ms) of its input's.
# Prints why not.
verify_output() {
    local info
    if ! info=$("$mk" --inspect "rec/${names[$1]}.webm" 2>&1); then
        echo "does not decode: $info"
        return 1
    fi
    awk -v want="${expect[$1]}" '
        function val(k,  i) { for (i = 1; i < NF; i++) if ($i == k) return $(i + 1) }
        function off(a, b, t) { return a - b > t || b - a > t }
        BEGIN { na = split(want, e, " ") - 4 }
        /^stream/ && val("errors") != 0 { bad = bad "; decode errors: " $0 }
        /^stream 0: video/ {
            nv++
            if ($4 != "av1" || $5 != "320x180") bad = bad "; video is " $4 " " $5
            if (val("frames") != e[1]) bad = bad "; " val("frames") " video frames, input " e[1]
            if (off(val("last"), e[2], e[4])) bad = bad "; last frame at " val("last") ", input " e[2]
            if (off(val("end"), e[3], e[4])) bad = bad "; video ends at " val("end") ", input " e[3]
        }
        /^stream [0-9]+: audio/ {
            k++
            if ($4 != "opus") bad = bad "; audio " k " is " $4
            if (off(val("end"), e[4 + k], 0.020))
                bad = bad "; audio " k " ends at " val("end") ", input " e[4 + k]
        }
        END {
            if (nv != 1) bad = bad "; " nv + 0 " video streams"
            if (k != na) bad = bad "; " k + 0 " audio streams, input " na
            if (bad != "") print substr(bad, 3)
            exit bad != ""
        }' <<<"$info"
}

# Outputs already verified, by content: an output is checked once, not after
# every kill.
declare -A verified=()

# check_kill_state: the invariants that hold at any instant. Prints each
# violation; returns 1 if any.
check_kill_state() {
    local i d f base h why nonly bad=0 entry rel
    local -A allowed=()
    for d in "${dirs[@]}"; do allowed[$d]=1; done
    for i in "${idx[@]}"; do
        base=rec/${names[$i]}
        allowed[${names[$i]}.mp4]=1
        allowed[${names[$i]}.mp4.reencoded]=1
        allowed[${names[$i]}.webm]=1
        allowed[${names[$i]}.webm.part]=1
        nonly=0
        for f in "$base.mp4" "$base.mp4.reencoded"; do
            [[ -e $f ]] || continue
            nonly=$((nonly + 1))
            h=$(sha256sum <"$f" | cut -d' ' -f1)
            if [[ $h != "${sums[$i]}" ]]; then
                echo "original changed: $f"
                bad=1
            fi
        done
        if ((nonly != 1)); then
            echo "original ${names[$i]}.mp4 present under $nonly names"
            bad=1
        fi
        if [[ -e $base.mp4.reencoded && ! -e $base.webm ]]; then
            echo "original renamed before its output was committed: $base.mp4.reencoded"
            bad=1
        fi
        if [[ -e $base.webm ]]; then
            h=$(sha256sum <"$base.webm" | cut -d' ' -f1)
            if [[ -z ${verified[$h]:-} ]]; then
                if why=$(verify_output "$i"); then
                    verified[$h]=1
                else
                    echo "bad output under its final name: $base.webm: $why"
                    bad=1
                fi
            fi
        fi
    done
    while IFS= read -r -d '' entry; do
        rel=${entry#rec/}
        if [[ -z ${allowed[$rel]:-} ]]; then
            echo "stray file: $entry"
            bad=1
        fi
    done < <(find rec -mindepth 1 -path rec/.reencode -prune -o -print0)
    return $bad
}

# check_final_state WHAT: after the final run, each file done exactly once.
check_final_state() {
    local what=$1 i base why out_size n_ok=0 n_orig=0 manifest="" n=${#idx[@]}
    for i in "${idx[@]}"; do
        base=rec/${names[$i]}
        why=""
        if [[ -e $base.webm ]] && why=$(verify_output "$i"); then
            n_ok=$((n_ok + 1))
        else
            echo "FAIL: $base.webm: ${why:-missing}" >&2
        fi
        if [[ ! -e $base.mp4 && -e $base.mp4.reencoded &&
            $(sha256sum <"$base.mp4.reencoded" | cut -d' ' -f1) == "${sums[$i]}" ]]; then
            n_orig=$((n_orig + 1))
        else
            echo "FAIL: original of $base not (only) under $base.mp4.reencoded, intact" >&2
        fi
        out_size=$(stat -c %s "$base.webm" 2>/dev/null || echo -1)
        manifest+="${names[$i]}.mp4"$'\t'"${sizes[$i]}"$'\t'"$out_size"$'\n'
    done
    check "$what: $n outputs, each decodes fully" test $n_ok -eq "$n"
    check "$what: $n originals intact under NAME.mp4.reencoded" test $n_orig -eq "$n"
    check "$what: no .part anywhere" test -z "$(find rec -name '*.part')"
    check "$what: no stray file, nothing left to do" check_kill_state_final
    check "$what: status --json agrees with the disk" status_agrees "$manifest"
}

# After the final run only outputs and renamed originals may remain.
check_kill_state_final() {
    local i
    check_kill_state >&2 || return 1
    for i in "${idx[@]}"; do
        [[ ! -e rec/${names[$i]}.mp4 && ! -e rec/${names[$i]}.webm.part ]] || return 1
    done
}

# status_agrees MANIFEST: `reencode status --json rec` says done for every
# file (lines "REL<tab>in bytes<tab>out bytes"), with those sizes, and its
# totals are their sums.
status_agrees() {
    local out
    out=$("$re" status --json rec) || return 1
    python3 -c '
import json, sys
want = {}
for line in sys.argv[1].splitlines():
    rel, a, b = line.split("\t")
    want[rel] = (int(a), int(b))
bad = []
seen = set()
totals = None
for line in sys.stdin:
    r = json.loads(line)
    if r["type"] == "totals":
        totals = r
        continue
    if r["type"] != "file":
        continue
    p = r["path"]
    if p not in want:
        bad.append("unexpected file %r" % p)
        continue
    seen.add(p)
    if r["status"] != "done":
        bad.append("%s: %s (%s)" % (p, r["status"], r.get("error", "")))
    if (r["in_bytes"], r["out_bytes"]) != want[p]:
        bad.append("%s: sizes %d/%d, on disk %d/%d" % ((p, r["in_bytes"], r["out_bytes"]) + want[p]))
for p in sorted(set(want) - seen):
    bad.append("%s: not in status" % p)
n = len(want)
exp = {"files": n, "done": n, "skipped": 0, "failed": 0, "pending": 0,
       "bytes_before": sum(a for a, b in want.values()),
       "bytes_after": sum(b for a, b in want.values())}
if totals is None:
    bad.append("no totals")
else:
    for k, v in exp.items():
        if totals.get(k) != v:
            bad.append("totals %s = %s, expected %s" % (k, totals.get(k), v))
for b in bad:
    print("status: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)' "$1" <<<"$out"
}

# part_files: one line per .part in the tree, with what changes while it is
# written (inode, size, mtime in ns), so that a .part a killed run left behind
# is not taken for one the current run is writing.
part_files() {
    local parts=(rec/*.part rec/*/*.part)
    ((${#parts[@]} == 0)) || stat -c '%n %i %s %.9Y' -- "${parts[@]}"
}

# dump_context: what a person needs to see after a failure.
dump_context() {
    {
        echo "---- last runs (stderr):"
        tail -n 30 runs.log
        echo "---- tree:"
        find rec | sort
        echo "---- journal tail:"
        tail -n 8 rec/.reencode/journal 2>/dev/null
    } >&2
}

# ---- kill points at the boundaries of the commit protocol, made exactly
# Each: JOURNAL STATE (the last record kept) | FILES (as the kill left them) |
# DIR as the resume names it (the same directory: the journal is the same) |
# what the instant is.
boundaries=(
    'started|part|rec|before the commit rename (.part complete)'
    'started|output|rec|after the commit rename, before "encoded" is journalled'
    'encoded|output|rec|after "encoded", before the original is renamed'
    'encoded|output|abs|after "encoded", before the original is renamed; resumed by absolute path'
    'encoded|renamed|rec|after the original is renamed, before "done" is journalled'
)
idx=(0)
x=${names[0]}
: >runs.log
b_ok=0
for entry in "${boundaries[@]}"; do
    IFS='|' read -r state files dir what <<<"$entry"
    rm -rf rec
    mkdir rec
    cp -p "pristine/$x.mp4" rec/
    echo "=== boundary: $what: the run to cut back" >>runs.log
    exits "$re" run --no-progress --dedup off -j 1 --threads 1 rec >>runs.log 2>&1
    line=$(grep -sn "\"state\":\"$state\"" rec/.reencode/journal | tail -n 1 | cut -d: -f1 || true)
    if ((rc != 0)) || [[ -z $line || ! -e rec/$x.webm ]]; then
        check "boundary: a run of one clip to cut back at '$state'" false
        dump_context
        continue
    fi
    head -n "$line" rec/.reencode/journal >journal.cut
    cp journal.cut rec/.reencode/journal
    case $files in
    part) mv "rec/$x.webm" "rec/$x.webm.part" && mv "rec/$x.mp4.reencoded" "rec/$x.mp4" ;;
    output) mv "rec/$x.mp4.reencoded" "rec/$x.mp4" ;;
    renamed) ;;
    esac
    check "boundary $what: the state is one a kill can leave" check_kill_state
    echo "=== boundary: $what: resume" >>runs.log
    [[ $dir == abs ]] && dir=$PWD/rec
    exits "$re" run --no-progress --dedup off -j 2 --threads 1 "$dir" >>runs.log 2>&1
    fails_before=$fail
    check "boundary $what: resume exits 0 (got $rc)" test "$rc" -eq 0
    check_final_state "boundary $what"
    if ((fail > fails_before)); then
        dump_context
    else
        b_ok=$((b_ok + 1))
    fi
done
echo "boundary kill points: ${#boundaries[@]}, survived: $b_ok"

# ---- kill points at random instants
idx=("${all[@]}")
kills=0 during=0 between=0 rounds=0 runs=0 finished=0 broken=0
kills_j1=0
declare -A stale
while ((kills < want && !broken)); do
    rounds=$((rounds + 1))
    round=$rounds
    rm -rf rec
    cp -a pristine rec
    while ((kills < want)); do
        runs=$((runs + 1))
        j=$((runs % 2 ? 2 : 1))
        delay=$((RANDOM * (max_delay_ms + 1) / 32768))
        printf '=== run %d (round %d, -j %d, kill at %d ms)\n' $runs $round $j $delay >>runs.log
        stale=()
        while IFS= read -r line; do stale[$line]=1; done < <(part_files)
        "$re" run --no-progress --dedup off -j $j --threads 1 rec >>runs.log 2>&1 &
        pid=$!
        sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
        fresh=0 # .part files this run is writing, just before its kill
        while IFS= read -r line; do
            [[ -n ${stale[$line]:-} ]] || fresh=$((fresh + 1))
        done < <(part_files)
        kill -9 $pid 2>/dev/null || true
        exits wait $pid 2>/dev/null # (no "Killed" notice from bash)
        if ((rc != 137)); then
            # Finished before its kill: the round's batch is complete.
            finished=$((finished + 1))
            printf '  run %2d: -j %d finished by itself (exit %d) before %4d ms\n' \
                $runs $j "$rc" $delay
            if ((rc != 0)); then
                check "round $round: a run that finished by itself exits 0 (got $rc)" false
                dump_context
                broken=1
            fi
            break
        fi
        kills=$((kills + 1))
        ((j == 1)) && kills_j1=$((kills_j1 + 1))
        if ((fresh)); then
            during=$((during + 1))
            what="during encode ($fresh .part being written)"
        else
            between=$((between + 1))
            what="between/before files"
        fi
        printf '  kill %2d/%d: -j %d at %4d ms, %s\n' $kills "$want" $j $delay "$what"
        if ! check_kill_state >kill.err; then
            cat kill.err >&2
            check "kill $kills (run $runs): invariants hold after kill -9" false
            dump_context
            broken=1
            break
        fi
    done
    # The final run of the round, never killed.
    echo "=== final run (round $round)" >>runs.log
    exits "$re" run --no-progress --dedup off -j 2 --threads 1 rec >>runs.log 2>&1
    fails_before=$fail
    check "round $round: final run exits 0 (got $rc)" test "$rc" -eq 0
    check_final_state "round $round"
    if ((fail > fails_before)); then
        dump_context
        broken=1
    fi
    echo "  round $round done: $kills kill points so far"
done

echo "kill points: $kills, during encode: $during, between/before: $between" \
    "($kills_j1 with -j 1; $rounds rounds, $finished runs finished by themselves);" \
    "at the protocol's boundaries: ${#boundaries[@]}, survived: $b_ok"
t_kill=$SECONDS

# ---- SIGSEGV at random instants, to the worker or to the supervisor

# The worker process of the supervisor $1 (its only child), or nothing.
worker_of() {
    local c
    c=$(cat "/proc/$1/task/$1/children" 2>/dev/null || true)
    echo "${c%% *}"
}
# Has the background process $1 ended (a zombie not yet waited for, or gone)?
ended() {
    local st
    st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null || echo gone)
    [[ $st == Z || $st == gone ]]
}

# check_final_segv WHAT: after the final run, each file done exactly once,
# or failed by a crash with its original in place; status agrees.
check_final_segv() {
    local what=$1 i base why st n_ok=0 n=${#idx[@]} states sizes_said
    states=$({ "$re" status --json rec || true; } | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["type"] == "file":
        ok = r["status"] == "done" or (r["status"] == "failed" and
                                       r["error"].startswith("the encoder crashed (SIG"))
        print("%s\t%s\t%d %d" % (r["path"], r["status"] if ok else "bad:" + r["status"] + ":" +
                                r["error"], r["in_bytes"], r["out_bytes"]))')
    for i in "${idx[@]}"; do
        base=rec/${names[$i]}
        st=$(awk -F'\t' -v p="${names[$i]}.mp4" '$1 == p { print $2 }' <<<"$states")
        sizes_said=$(awk -F'\t' -v p="${names[$i]}.mp4" '$1 == p { print $3 }' <<<"$states")
        why=""
        if [[ $st == done ]]; then
            if [[ -e $base.webm && ! -e $base.mp4 && -e $base.mp4.reencoded &&
                $(sha256sum <"$base.mp4.reencoded" | cut -d' ' -f1) == "${sums[$i]}" ]] &&
                why=$(verify_output "$i") &&
                [[ $sizes_said == "${sizes[$i]} $(stat -c %s "$base.webm")" ]]; then
                n_ok=$((n_ok + 1))
            else
                echo "FAIL: $base: done, but ${why:-its files are not}" >&2
            fi
        elif [[ $st == failed ]]; then
            if [[ -e $base.mp4 && ! -e $base.webm && ! -e $base.mp4.reencoded &&
                $(sha256sum <"$base.mp4" | cut -d' ' -f1) == "${sums[$i]}" ]]; then
                n_ok=$((n_ok + 1))
                segv_failed=$((segv_failed + 1))
            else
                echo "FAIL: $base: failed, but its original is not in place, intact" >&2
            fi
        else
            echo "FAIL: $base: ${st:-not in status}" >&2
        fi
    done
    check "$what: $n files each done (output decodes, original renamed intact) or failed by a crash (original in place)" \
        test $n_ok -eq "$n"
    check "$what: no .part anywhere" test -z "$(find rec -name '*.part')"
    check "$what: no stray file" check_kill_state
}

segvs=0 segv_worker=0 segv_super=0 segv_during=0 segv_runs=0 segv_rounds=0 segv_failed=0
give_ups=0
while ((segvs < segv_want && !broken)); do
    segv_rounds=$((segv_rounds + 1))
    rm -rf rec
    cp -a pristine rec
    idx=("${all[@]}")
    while ((segvs < segv_want && !broken)); do
        segv_runs=$((segv_runs + 1))
        j=$((segv_runs % 2 ? 2 : 1))
        printf '=== SIGSEGV run %d (round %d, -j %d)\n' $segv_runs $segv_rounds $j >>runs.log
        "$re" run --no-progress --dedup off -j $j --threads 1 rec >>runs.log 2>&1 &
        pid=$!
        super=0
        while ((segvs < segv_want)); do
            delay=$((RANDOM * 1501 / 32768))
            sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
            ended $pid && break
            if ((RANDOM % 4 == 0)); then
                kill -SEGV $pid 2>/dev/null || break
                segvs=$((segvs + 1)) segv_super=$((segv_super + 1)) super=1
                printf '  SIGSEGV %2d/%d: the supervisor, at +%4d ms\n' $segvs "$segv_want" $delay
                break
            fi
            w=$(worker_of $pid)
            [[ -n $w ]] || continue # between two workers
            fresh=$(find rec -name '*.part' | wc -l)
            kill -SEGV "$w" 2>/dev/null || continue
            segvs=$((segvs + 1)) segv_worker=$((segv_worker + 1))
            ((fresh)) && segv_during=$((segv_during + 1))
            printf '  SIGSEGV %2d/%d: the worker, at +%4d ms (%d .part)\n' $segvs "$segv_want" \
                $delay "$fresh"
        done
        exits wait $pid 2>/dev/null # (no "Segmentation fault" notice from bash)
        if ((super)); then
            # Its own death (139); or it had just finished (0, 1).
            check "SIGSEGV run $segv_runs: the supervisor died of it or had ended (got $rc)" \
                test $rc -eq 139 -o $rc -eq 0 -o $rc -eq 1
        else
            check "SIGSEGV run $segv_runs: ended by itself with 0, 1 or 139 (got $rc)" \
                test $rc -eq 0 -o $rc -eq 1 -o $rc -eq 139
            ((rc == 139)) && give_ups=$((give_ups + 1))
        fi
        if ! check_kill_state >kill.err; then
            cat kill.err >&2
            check "SIGSEGV run $segv_runs: invariants hold" false
            dump_context
            broken=1
        fi
        ((!super && rc != 139)) && break # the round's batch is over
    done
    echo "=== SIGSEGV final run (round $segv_rounds)" >>runs.log
    exits "$re" run --no-progress --dedup off -j 2 --threads 1 rec >>runs.log 2>&1
    fails_before=$fail
    check "SIGSEGV round $segv_rounds: final run exits 0 or 1 (got $rc)" test $rc -eq 0 -o $rc -eq 1
    check_final_segv "SIGSEGV round $segv_rounds"
    if ((fail > fails_before)); then
        dump_context
        broken=1
    fi
    echo "  SIGSEGV round $segv_rounds done: $segvs SIGSEGV points so far"
done
echo "SIGSEGV points: $segvs ($segv_worker to the worker, $segv_during of those during an" \
    "encode; $segv_super to the supervisor) in $segv_runs runs, $segv_rounds rounds;" \
    "$give_ups runs gave up after crashes with no file being encoded; $segv_failed files" \
    "ended failed by a crash; $((SECONDS - t_kill)) s"
echo "torture: seed $seed, ${SECONDS}s"
check "survived $want kill points" test $kills -ge "$want"
check "survived $segv_want SIGSEGV points" test $segvs -ge "$segv_want"
finish
