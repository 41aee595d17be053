#!/usr/bin/env bash
# End-to-end: the cluster recipes of docs/cluster.md, run where they can be.
# The Slurm batch script runs as three array tasks (the variables Slurm would
# set, the script as written); the GNU parallel line of the docs runs as
# written; the Kubernetes Job manifest is parsed (python3-yaml) and its key
# fields checked, and the packages named for the image are checked against
# the libraries the binary links.
#   cluster.sh REENCODE MKCLIP
docs=$(cd "$(dirname "$0")/../../docs" && pwd)
. "$(dirname "$0")/lib.sh" cluster "$@"

# `reencode` on PATH is the binary under test, with fast settings added
# (options may follow the operands) so the recipes run as written.
mkdir bin
printf '#!/bin/sh\nexec "%s" "$@" --cpu-used 8 --threads 1 -j 1\n' "$re" >bin/reencode
chmod +x bin/reencode
export PATH="$work/bin:$PATH"
tree() { # tree DIR: 5 tiny tagged clips
    mkdir -p "$1/a" "$1/b"
    for i in 1 2 3 4 5; do
        "$mk" --duration 1 --size 160x96 --title "$1 $i" "$1/$([[ $i -le 2 ]] && echo a || echo b)/clip $i.mp4" >/dev/null
    done
}
all_done() { # all_done DIR N_JOURNALS: status says 5 of 5 done over that many journals
    local got
    got=$("$re" status --json "$1" | python3 -c 'import json, sys
t = [json.loads(l) for l in sys.stdin][-1]
print(t["files"], t["done"], t["journals"])')
    [[ $got == "5 5 $2" ]] || { echo "status of $1: $got" >&2; return 1; }
    [[ $(find "$1" -name '*.webm' | wc -l) -eq 5 ]]
}

# ---- Slurm: the batch script, as tasks 10..12 of --array=10-12
slurm=$docs/examples/reencode.slurm
check "slurm script: bash -n" bash -n "$slurm"
check "slurm script: an array" grep -q '^#SBATCH --array=' "$slurm"
tree slurm
for t in 10 11 12; do
    SLURM_ARRAY_TASK_ID=$t SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_MAX=12 \
        SLURM_ARRAY_TASK_STEP=1 SLURM_ARRAY_TASK_COUNT=3 RECORDINGS=slurm \
        bash "$slurm" >slurm.$t.out 2>&1 &
done
rcs=""
for p in $(jobs -p); do
    set +e
    wait "$p"
    rcs+="$? "
    set -e
done
check "slurm: three tasks exit 0 ($rcs)" test "$rcs" = "0 0 0 "
check "slurm: journals 0..2 of 3" \
    test "$(cd slurm/.reencode && ls journal* | tr '\n' ' ')" = "journal.0-of-3 journal.1-of-3 journal.2-of-3 "
check "slurm: every file done once" all_done slurm 3

# ---- GNU parallel: the one-machine line of the docs
line=$(grep -m1 '^parallel .*-j 3 reencode run --shard {}/3' "$docs/cluster.md")
check "parallel: the line is in the docs" test -n "$line"
tree par
line=${line//\/srv\/recordings/par}
exits bash -c "$line" </dev/null >par.out 2>&1
check "parallel: exits 0" test $rc -eq 0
check "parallel: every file done once" all_done par 3
check "parallel (ssh form): one job per host" \
    grep -q '^parallel .*-j 1 -S host1,host2,host3 reencode run --shard {}/3' "$docs/cluster.md"

# ---- Kubernetes: the Indexed Job manifest
python3 - "$docs/examples/reencode-job.yaml" <<'PY' && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: job manifest" >&2; }
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
assert len(docs) == 1, "one object"
job = docs[0]
assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job", job.get("kind")
spec = job["spec"]
assert spec["completionMode"] == "Indexed", spec.get("completionMode")
n = spec["completions"]
assert isinstance(n, int) and n >= 1
assert 1 <= spec["parallelism"] <= n, "parallelism beyond completions idles pods"
pod = spec["template"]["spec"]
assert pod["restartPolicy"] in ("Never", "OnFailure")
(c,) = pod["containers"]
args = c.get("command", []) + c["args"]
assert args[:1] == ["run"] and "--shard" in args, args
assert args[args.index("--shard") + 1] in ("auto", f"auto/{n}"), "shard from the index"
env = {e["name"]: e.get("value") for e in c.get("env", [])}
if args[args.index("--shard") + 1] == "auto":
    assert env.get("REENCODE_SHARDS") == str(n), f"REENCODE_SHARDS {env.get('REENCODE_SHARDS')} != completions {n}"
assert "JOB_COMPLETION_INDEX" not in env, "Kubernetes sets it"
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}
assert set(mounts) <= set(vols), "every mount has a volume"
root = args[-1]
assert any(root == p or root.startswith(p.rstrip("/") + "/") for p in mounts.values()), \
    f"{root} is on no mounted volume"
assert c["image"], "an image"
PY
dockerfile=$docs/examples/Dockerfile
check "image: installs reencode_*.deb" grep -q 'apt-get install .*/tmp/reencode_\*\.deb' "$dockerfile"
check "image: the manifest's image is the Dockerfile's" grep -q 'docs/examples/Dockerfile' "$docs/examples/reencode-job.yaml"
# The packages named for an image without the .deb: exactly those holding
# the libraries the binary links (C library aside).
named=$(grep -o 'libavformat59 .*libmediainfo0v5' "$docs/cluster.md" | tr ' ' '\n' | sort | tr '\n' ' ')
needed=$(objdump -p "$re" | awk '/NEEDED/ { print $2 }' | grep -v -e '^libc\.' -e '^libm\.' \
    -e '^libstdc' -e '^libgcc' -e '^libpthread' -e '^ld-linux' -e '^libasan' -e '^libubsan' |
    while read -r lib; do dpkg -S "*/$lib" | awk -F: 'NR == 1 { print $1 }'; done | sort -u | tr '\n' ' ')
check "image: packages named = packages linked ($needed)" test "$named" = "$needed"
for p in $named; do
    check "image: the Dockerfile names $p" grep -qw "$p" "$dockerfile"
done

finish
