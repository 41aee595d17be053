#!/usr/bin/env bash
# End-to-end: the cluster recipes of docs/cluster.md, run where they can be
# without a cluster. The Slurm batch script runs as three array tasks (the
# variables Slurm would set, the script as written; tests/e2e/slurm.sh runs
# it in a real Slurm); the GNU parallel line of the docs runs as written; the
# Kubernetes Job manifest is parsed (python3-yaml) and its key fields
# checked, decoded offline by Debian's kubectl (kubernetes-client), and its
# container's command run here as its pods would run it, one per completion
# index; and the packages named for the image are checked against the
# libraries the binary links.
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
# (grep finding nothing must reach the check, not end the script under set -e)
line=$(grep -m1 '^parallel .*-j 3 reencode run --shard {}/3' "$docs/cluster.md" || true)
check "parallel: the line is in the docs" test -n "$line"
if [[ -n $line ]]; then
    tree par
    line=${line//\/srv\/recordings/par}
    exits bash -c "$line" </dev/null >par.out 2>&1
    check "parallel: exits 0" test $rc -eq 0
    check "parallel: every file done once" all_done par 3
else
    fail=$((fail + 1))
    echo "FAIL: parallel: not run (no line to run)" >&2
fi
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
manifest=$docs/examples/reencode-job.yaml

# ---- Kubernetes, offline: Debian's kubectl decodes the manifest
# `apply --dry-run=client` and `create --dry-run=client` both ask a server
# for its API groups first, and --validate needs the server's schema, so
# offline the most kubectl does is `set ... --local`: it decodes the file
# into its typed batch/v1 Job (kind, apiVersion, every field's type, resource
# quantities), finds the container in the Job's pod template and writes the
# object back. A field it does not know it drops silently: the diff below
# names them. scripts/setup installs kubernetes-client, or unpacks it where
# another package owns /usr/bin/kubectl.
kubectl=""
if [[ $(dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null || true) == "install ok installed" ]]; then
    kubectl=/usr/bin/kubectl
elif [[ -x /var/cache/reencode-ci/kubernetes-client/usr/bin/kubectl ]]; then
    kubectl=/var/cache/reencode-ci/kubernetes-client/usr/bin/kubectl
fi
check "kubectl: Debian's kubernetes-client found (scripts/setup)" test -n "$kubectl"
if [[ -n $kubectl ]]; then
    export HOME=$work/home # kubectl's cache, not the user's
    minor=$("$kubectl" version --client -o json | python3 -c 'import json, sys
print(int(json.load(sys.stdin)["clientVersion"]["minor"].rstrip("+")))' || true)
    name=$(python3 -c 'import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["spec"]["template"]["spec"]["containers"][0]["name"])' "$manifest" || true)
    exits "$kubectl" set image --local -f "$manifest" "$name=rx-probe:1" -o json >job.kubectl.json 2>kubectl.err
    check "kubectl 1.$minor: decodes the manifest, finds container $name ($(head -c 300 kubectl.err))" test $rc -eq 0
    # Every field of the manifest must come back as written, but those
    # kubectl does not know: with 1.20 that is completionMode (Kubernetes
    # 1.21 added it), and nothing else. So 1.20 does not judge that field.
    cat >roundtrip.py <<'PY'
import json, sys, yaml
src, out, minor = yaml.safe_load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
def leaves(x, path=()):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from leaves(v, path + (k,))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from leaves(v, path + (i,))
    else:
        yield path, x
image = ("spec", "template", "spec", "containers", 0, "image")
dropped, changed = [], []
for path, v in leaves(src):
    got = out
    try:
        for p in path:
            got = got[p]
    except (KeyError, IndexError, TypeError):
        dropped.append(".".join(map(str, path)))
        continue
    want = "rx-probe:1" if path == image else v
    if got != want and str(got) != str(want):
        changed.append(f"{'.'.join(map(str, path))}: {want!r} came back {got!r}")
expect = ["spec.completionMode"] if minor < 21 else []
ok = dropped == expect and not changed
for c in changed:
    print("changed by kubectl:", c, file=sys.stderr)
if dropped != expect:
    print(f"fields kubectl 1.{minor} does not know: {dropped}, expected {expect}", file=sys.stderr)
print(" ".join(dropped) or "none")
sys.exit(0 if ok else 1)
PY
    exits python3 roundtrip.py "$manifest" job.kubectl.json "$minor" >dropped.txt
    check "kubectl 1.$minor: every field known and kept but those it predates ($(cat dropped.txt))" test $rc -eq 0
fi

# ---- Kubernetes, run here: the container's command, once per completion
# index, as the pods would run it: the image's ENTRYPOINT (Dockerfile: the
# installed reencode; here the binary under test on PATH) with the
# manifest's args and env, JOB_COMPLETION_INDEX=K set as Kubernetes sets it,
# the volume's mountPath replaced by a generated tree, `parallelism` pods at
# a time, as the manifest's securityContext user (when run as root).
tree k8s
k8s_names=("a/clip "{1,2}".mp4" "b/clip "{3,4,5}".mp4")
cat >pods.py <<'PY'
import json, os, shutil, subprocess, sys, yaml
manifest, dockerfile, tree = sys.argv[1:4]
spec = yaml.safe_load(open(manifest))["spec"]
pod = spec["template"]["spec"]
(c,) = pod["containers"]
entry = [json.loads(l.split(None, 1)[1]) for l in open(dockerfile) if l.startswith("ENTRYPOINT")]
argv = c.get("command") or entry[-1]
argv = argv + c.get("args", [])
argv[0] = shutil.which(argv[0])
(mount,) = (m["mountPath"].rstrip("/") for m in c["volumeMounts"])
argv = [tree + a[len(mount):] if a == mount or a.startswith(mount + "/") else a for a in argv]
env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/",
       "LC_ALL": "C.UTF-8"}
env.update({k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")})
env.update({e["name"]: e["value"] for e in c.get("env", [])})
sc = pod.get("securityContext", {})
ids = {}
if os.getuid() == 0 and "runAsUser" in sc:
    ids = {"user": sc["runAsUser"], "group": sc.get("runAsGroup", sc["runAsUser"]), "extra_groups": []}
    for d, _, files in os.walk(tree):
        for p in [d] + [os.path.join(d, f) for f in files]:
            os.chown(p, ids["user"], ids["group"])
n, par = spec["completions"], spec.get("parallelism", 1)
print("pods run:", " ".join(argv), "as", ids.get("user", os.getuid()), file=sys.stderr)
running, rcs = {}, {}
for k in range(n):
    if len(running) == par:
        done = next(iter(running))
        rcs[done] = running.pop(done).wait()
    log = open(f"pod.{k}.log", "w")
    running[k] = subprocess.Popen(argv, env=dict(env, JOB_COMPLETION_INDEX=str(k)),
                                  stdout=log, stderr=subprocess.STDOUT, **ids)
for k, p in running.items():
    rcs[k] = p.wait()
print(" ".join(str(rcs[k]) for k in range(n)))
PY
[[ $(id -u) -ne 0 ]] || chmod 755 "$work" # the pods' user must reach the tree
n=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["spec"]["completions"])' "$manifest")
rcs=$(python3 pods.py "$manifest" "$dockerfile" "$work/k8s") || rcs="pods.py failed"
check "pods 0..$((n - 1)): exit 0 ($rcs)" test "$rcs" = "$(printf '0 %.0s' $(seq "$n") | sed 's/ $//')"
check "pods: a journal per completion index" \
    test "$(cd k8s/.reencode && ls journal* | tr '\n' ' ')" = "$(for ((k = 0; k < n; k++)); do printf 'journal.%d-of-%d ' $k "$n"; done)"
check "pods: each file encoded and done once, by its own shard" \
    python3 "$e2e_dir/judge.py" k8s "${k8s_names[@]}"
if [[ $(id -u) -eq 0 ]]; then
    uid=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["spec"]["template"]["spec"]["securityContext"]["runAsUser"])' "$manifest")
    check "pods: outputs owned by the pods' user $uid" \
        test -z "$(find k8s -name '*.webm' ! -uid "$uid")"
fi

check "image: installs reencode_*.deb" grep -q 'apt-get install .*/tmp/reencode_\*\.deb' "$dockerfile"
check "image: the manifest's image is the Dockerfile's" grep -q 'docs/examples/Dockerfile' "$manifest"
# The packages named for an image without the .deb: exactly those holding
# the libraries the binary links (C library aside).
named=$({ grep -o 'libavformat59 .*libmediainfo0v5' "$docs/cluster.md" || true; } | tr ' ' '\n' | sort | tr '\n' ' ')
needed=$(objdump -p "$re" | awk '/NEEDED/ { print $2 }' | grep -v -e '^libc\.' -e '^libm\.' \
    -e '^libstdc' -e '^libgcc' -e '^libpthread' -e '^ld-linux' -e '^libasan' -e '^libubsan' |
    while read -r lib; do { dpkg -S "*/$lib" || echo "$lib-from-no-package"; } | awk -F: 'NR == 1 { print $1 }'; done |
    sort -u | tr '\n' ' ')
check "image: packages named = packages linked ($needed)" test "$named" = "$needed"
for p in $named; do
    check "image: the Dockerfile names $p" grep -qw "$p" "$dockerfile"
done

finish
