#!/usr/bin/env bash
# End-to-end: `--shard K/N`. Three shards as three concurrent processes over
# one tree, then a pass with N=2 over the same tree (more files added): every
# candidate is encoded exactly once across all shards and journals, status
# merges the journals, and no shard touched another's files (checked against
# the documented formula, computed here with Python's hashlib). Then a
# record "started" by a shard of another N: redone when its writer is gone,
# left alone while its writer holds the .part. And --shard auto from Slurm
# and Kubernetes environments.
#   shard.sh REENCODE MKCLIP
. "$(dirname "$0")/lib.sh" shard "$@"

# The documented assignment, independently of the binary.
shard_of() { # shard_of REL N
    python3 -c 'import hashlib, sys
print(int(hashlib.sha256(sys.argv[1].encode("utf-8", "surrogateescape")).hexdigest()[:16], 16) % int(sys.argv[2]))' "$1" "$2"
}
# Fast settings: tiny clips, libaom's fastest speed, one thread, one encode.
fast=(--cpu-used 8 --threads 1 -j 1 --no-progress --originals keep)
clip() { "$mk" --duration 1 --size 160x96 --title "$(basename "$1")" "$1" >/dev/null; }

mkdir -p rec/2024/week1 "rec/2024/week 2" rec/2025
names=("2024/week1/Game 2024-01-0"{1..4}" 10-00-00.mp4"
    "2024/week 2/lecture "{a,b,c,d}".mp4"
    "2025/meeting "{1..4}".mp4")
for n in "${names[@]}"; do clip "rec/$n"; done
check "12 clips made" test "$(find rec -name '*.mp4' | wc -l)" -eq 12

# ---- what each shard would do: list --shard K/3 (and run --dry-run)
for k in 0 1 2; do "$re" list --json --shard $k/3 rec >list.$k.json; done
python3 - "${names[@]}" <<'PY' && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: list --shard: a partition by the formula" >&2; }
import hashlib, json, sys
names = sys.argv[1:]
seen = {}
for k in range(3):
    for l in open(f"list.{k}.json", encoding="utf-8"):
        r = json.loads(l)
        if r["type"] != "file":
            continue
        rel = r["path"][len("rec/"):]
        assert rel not in seen, f"{rel} listed by shards {seen[rel]} and {k}"
        seen[rel] = k
        want = int(hashlib.sha256(rel.encode()).hexdigest()[:16], 16) % 3
        assert want == k, f"{rel}: listed by shard {k}, the formula says {want}"
assert sorted(seen) == sorted(names), sorted(seen)
assert len(set(seen.values())) > 1, "all in one shard: the test would prove little"
PY
"$re" run --dry-run --shard 1/3 rec >dry.1.txt
"$re" list --shard 1/3 rec >list.1.txt
check "run --dry-run --shard is list --shard" cmp -s dry.1.txt list.1.txt

# run_shards N: every shard of N at once over rec (output runN.K.out/err);
# their exit codes in rcs, in shard order.
run_shards() {
    local n=$1 k p pids=()
    for ((k = 0; k < n; k++)); do
        "$re" run --shard $k/$n "${fast[@]}" rec >run$n.$k.out 2>run$n.$k.err &
        pids+=($!)
    done
    rcs=""
    for p in "${pids[@]}"; do
        set +e
        wait "$p"
        rcs+="$? "
        set -e
    done
}

# ---- three shards at once
run_shards 3
check "three concurrent shards exit 0 ($rcs)" test "$rcs" = "0 0 0 "
check "three shard journals, no unsharded one" \
    test "$(cd rec/.reencode && ls journal* | tr '\n' ' ')" = "journal.0-of-3 journal.1-of-3 journal.2-of-3 "
check "a log per shard" test "$(ls rec/.reencode/reencode-*.?-of-3.log | wc -l)" -eq 3
check "no .part left" test -z "$(find rec -name '*.part')"

# ---- N changes: two more files, then both shards of N=2 at once
clip "rec/2025/late 1.mp4"
clip "rec/2024/week1/late 2.mp4"
names+=("2025/late 1.mp4" "2024/week1/late 2.mp4")
run_shards 2
check "N=2 shards exit 0 ($rcs)" test "$rcs" = "0 0 "
done2=$(cat run2.*.err | grep -c '^done ' || true)
check "N=2 pass encoded only the 2 new files ($done2)" test "$done2" -eq 2
already=$(sed -En 's/.* ([0-9]+) (candidates? )?already done.*/\1/p' run2.*.err |
    awk '{ s += $1 } END { print s + 0 }')
check "N=2 pass found the 12 others done ($already)" test "$already" -eq 12

# ---- every candidate encoded exactly once; each journal names its shard's only
check "each candidate encoded and done exactly once, by its own shard" python3 "$e2e_dir/judge.py" rec "${names[@]}"

# ---- status merges every journal
"$re" status --json rec >status.json
python3 - "${#names[@]}" <<'PY' && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: status --json totals" >&2; }
import json, sys
n = int(sys.argv[1])
rows = [json.loads(l) for l in open("status.json")]
files = [r for r in rows if r["type"] == "file"]
per = [r for r in rows if r["type"] == "journal"]
t = rows[-1]
assert t["type"] == "totals", t
assert (t["files"], t["done"], t["failed"], t["pending"], t["journals"]) == (n, n, 0, 0, 5), t
assert len(files) == n and len({f["path"] for f in files}) == n
assert all(f["status"] == "done" for f in files)
assert sum(p["files"] for p in per) == n and sum(p["done"] for p in per) == n, per
assert sorted((p["shards"], p["shard"]) for p in per) == [(2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]
assert sum(p["files"] for p in per if p["shards"] == 2) == 2, per
assert t["bytes_before"] == sum(f["in_bytes"] for f in files)
PY
"$re" status rec >status.txt
check "status text: totals line" grep -q "^${#names[@]} files: ${#names[@]} done, 0 skipped, 0 failed, 0 pending" status.txt
check "status text: a line per journal" test "$(grep -c '^journal\.[0-9]-of-[23]: ' status.txt)" -eq 5
mine=0
for n in "${names[@]}"; do [[ $(shard_of "$n" 3) == 1 ]] && mine=$((mine + 1)); done
got=$("$re" status --json --shard 1/3 rec | python3 -c 'import json, sys
print([json.loads(l) for l in sys.stdin][-1]["files"])')
check "status --shard 1/3: its $mine files ($got)" test "$got" -eq "$mine"

# ---- verify reads every journal of the root, as status does
exits "$re" verify -q --quick rec
check "verify: exit 0 over the shards' journals" test $rc -eq 0
got=$("$re" verify --quick --json rec | python3 -c 'import json, sys
print([json.loads(l) for l in sys.stdin][-1].get("good"))')
check "verify: all ${#names[@]} outputs good ($got)" test "$got" = "${#names[@]}"

# ---- a record "started" by a shard of another N (N=5)
# journal_line SEQ STATE REL: a file record for rec/REL, checksummed.
journal_line() {
    python3 - "$@" <<'PY'
import hashlib, json, os, sys, zlib
seq, state, rel = int(sys.argv[1]), sys.argv[2], sys.argv[3]
data = open("rec/" + rel, "rb").read()
assert len(data) <= 128 * 1024  # hashed whole
r = {"v": 1, "seq": seq, "time": "2020-01-01T00:00:00.000Z", "type": "file", "rel": rel,
     "size": len(data), "mtime_ns": os.stat("rec/" + rel).st_mtime_ns,
     "hash": hashlib.sha256(data).hexdigest()[:32], "state": state, "attempts": 1}
body = json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode()
sys.stdout.buffer.write(body + b" %08x\n" % zlib.crc32(body))
PY
}
# Crashed: its .part is left, unlocked. Live: its writer holds the .part.
clip "rec/2025/crashed.mp4"
clip "rec/2025/live.mp4"
# Each in the journal of its shard of 5, as that shard would have written it.
jc=rec/.reencode/journal.$(shard_of 2025/crashed.mp4 5)-of-5
jl=rec/.reencode/journal.$(shard_of 2025/live.mp4 5)-of-5
journal_line 1 started 2025/crashed.mp4 >"$jc"
journal_line "$([[ $jc == "$jl" ]] && echo 2 || echo 1)" started 2025/live.mp4 >>"$jl"
printf 'half an encode' >rec/2025/crashed.webm.part
printf 'being written' >rec/2025/live.webm.part
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); open(sys.argv[2], "w").close(); time.sleep(120)' \
    rec/2025/live.webm.part locked &
holder=$!
for _ in $(seq 100); do [[ -e locked ]] && break; sleep 0.05; done
for k in 0 1; do exits "$re" run --shard $k/2 "${fast[@]}" rec 2>>taken.err; done
check "crashed elsewhere: redone" test -s rec/2025/crashed.webm
check "crashed elsewhere: its stale .part removed" test ! -e rec/2025/crashed.webm.part
check "live elsewhere: its .part left to its writer" \
    test "$(cat rec/2025/live.webm.part)" = "being written"
check "live elsewhere: not published" test ! -e rec/2025/live.webm
check "live elsewhere: reported as being written" grep -q 'being written by another reencode' taken.err
kill "$holder"
wait "$holder" 2>/dev/null || true
for k in 0 1; do exits "$re" run --shard $k/2 --retry-failed "${fast[@]}" rec 2>>retry.err; done
check "writer gone: done on retry" test -s rec/2025/live.webm -a ! -e rec/2025/live.webm.part
names+=("2025/crashed.mp4" "2025/live.mp4")
check "still each candidate encoded exactly once" python3 "$e2e_dir/judge.py" rec "${names[@]}"
got=$("$re" status --json rec | python3 -c 'import json, sys
t = [json.loads(l) for l in sys.stdin][-1]
print(t["files"], t["done"], t["failed"])')
check "status: all ${#names[@]} done ($got)" test "$got" = "${#names[@]} ${#names[@]} 0"

# ---- --shard auto
(
    export SLURM_ARRAY_TASK_ID=11 SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_MAX=12 \
        SLURM_ARRAY_TASK_STEP=1 SLURM_ARRAY_TASK_COUNT=3
    "$re" list --json --shard auto rec >auto.slurm.json
)
"$re" list --json --shard 1/3 rec >list.1b.json
check "auto: Slurm task 11 of 10-12 is shard 1/3" cmp -s auto.slurm.json list.1b.json
JOB_COMPLETION_INDEX=1 REENCODE_SHARDS=3 "$re" list --json --shard auto rec >auto.k8s.json
check "auto: JOB_COMPLETION_INDEX=1 with REENCODE_SHARDS=3 is shard 1/3" cmp -s auto.k8s.json list.1b.json
JOB_COMPLETION_INDEX=1 "$re" list --json --shard auto/3 rec >auto.k8s2.json
check "auto/3: JOB_COMPLETION_INDEX=1 is shard 1/3" cmp -s auto.k8s2.json list.1b.json
exits env -u SLURM_ARRAY_TASK_ID -u JOB_COMPLETION_INDEX "$re" run --shard auto rec 2>auto.err
check "auto with nothing set: usage error" test $rc -eq 2
check "auto with nothing set: one line" one_line auto.err
check "auto with nothing set: says what to do" grep -q 'give --shard K/N' auto.err
exits "$re" run --shard 3/3 rec 2>k.err
check "K >= N: usage error" test $rc -eq 2
check "K >= N: one line" one_line k.err
exits env JOB_COMPLETION_INDEX=4 "$re" list --shard auto/3 rec 2>k8s.err
check "auto: index 4 of 3 refused" test $rc -eq 2
check "auto: index 4 of 3, one line" one_line k8s.err

finish
