#!/usr/bin/env bash
# End-to-end: the Slurm recipe (docs/examples/reencode.slurm) in a real
# one-node Slurm on this machine. Starts munged, slurmctld and slurmd with a
# generated slurm.conf (this machine's CPUs and memory, state, spool, logs,
# socket and ports of their own under the test's directory, so nothing
# clashes with a system Slurm or munge, or with an earlier run), submits the
# recipe as it is written as an array of 3 over a generated tree, then again
# as an array of 2 with files added, and checks every file is encoded and done
# exactly once across the shard journals. The daemons and anything they
# started are stopped on every exit. Exit 77 where the Slurm or munge
# packages are not installed (scripts/setup installs them) or not as root.
#   slurm.sh REENCODE MKCLIP
recipe=$(cd "$(dirname "$0")/../../docs/examples" && pwd)/reencode.slurm
for cmd in munged mungekey slurmctld slurmd sbatch sinfo squeue scontrol scancel; do
    if ! command -v "$cmd" >/dev/null; then
        echo "e2e slurm: SKIPPED: no $cmd: the packages slurmctld, slurmd, munge are not installed (scripts/setup)"
        exit 77
    fi
done
if [[ $(id -u) -ne 0 ]] || ! id munge >/dev/null 2>&1; then
    echo "e2e slurm: SKIPPED: needs root (slurmd runs jobs for any user; munged runs as user munge)"
    exit 77
fi
. "$(dirname "$0")/lib.sh" slurm "$@"
# munged, running as munge, must reach its socket under $work.
chmod 755 "$work"
conf=$work/slurm.conf
host=$(hostname -s)

# ---- stopping: the jobs, the daemons, then anything left that is ours
# ours: processes of this test's cluster, known by its unique directory: the
# daemons and job steps carry SLURM_CONF=$conf in their environment (the
# test itself never exports it), munged names $work in its arguments.
ours() {
    local d
    for d in /proc/[0-9]*; do
        [[ ${d#/proc/} == "$$" ]] && continue
        { tr '\0' '\n' <"$d/environ" | grep -qxF "SLURM_CONF=$conf"; } 2>/dev/null ||
            { tr '\0' ' ' <"$d/cmdline" | grep -qF "$work/munge/"; } 2>/dev/null ||
            continue
        echo "${d#/proc/}"
    done
}
alive() { # alive PID: running (our own children linger as zombies until reaped)
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}
gone() { # gone PID...: wait up to 10 s for them all to end
    local p up
    for _ in $(seq 100); do
        up=0
        for p in "$@"; do alive "$p" && up=1; done
        ((up)) || return 0
        sleep 0.1
    done
    return 1
}
daemons=()
stopped=0
stop_cluster() {
    local left
    ((stopped == 0)) || return 0
    stopped=1
    if [[ -e $conf ]] && ((${#daemons[@]})); then
        SLURM_CONF=$conf timeout 10 scancel --quiet --full --user=root 2>/dev/null || true
        for _ in $(seq 50); do
            [[ -z $(SLURM_CONF=$conf timeout 5 squeue -h 2>/dev/null) ]] && break
            sleep 0.2
        done
    fi
    [[ -s $work/munge/munged.pid ]] && daemons+=("$(cat "$work/munge/munged.pid")")
    ((${#daemons[@]} == 0)) || kill "${daemons[@]}" 2>/dev/null || true
    gone "${daemons[@]}" || kill -KILL "${daemons[@]}" 2>/dev/null || true
    left=$(ours)
    if [[ -n $left ]]; then
        echo "slurm: stopping what is left: $(echo $left)" >&2
        kill -KILL $left 2>/dev/null || true
    fi
}
# On failure, what the jobs and daemons said.
show_logs() {
    local f
    for f in reencode-*.out log/*.log munge/munged.log; do
        [[ -e $f ]] || continue
        echo "---- $f" >&2
        tail -n 40 "$f" >&2
    done
}
trap 'stop_cluster; rm -rf "$work"' EXIT

# ---- the cluster: a munge key and a slurm.conf of our own
mkdir -p munge state spool log
chown munge:munge munge
as_munge() { setpriv --reuid=munge --regid=munge --clear-groups "$@"; }
as_munge mungekey --create --keyfile="$work/munge/munge.key"
as_munge munged --key-file="$work/munge/munge.key" --socket="$work/munge/socket" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
    --seed-file="$work/munge/munged.seed"
check "munged: a credential round trip" \
    bash -c "munge -S '$work/munge/socket' -n | unmunge -S '$work/munge/socket' >/dev/null"
# Two free TCP ports, chosen now: a fixed pair could be taken, or in
# TIME_WAIT from an earlier run.
read -r ctld_port d_port < <(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
cpus=$(nproc)
# MemTotal in MiB less 5%: a node configured with more memory than slurmd
# finds is drained. RealMemory must be set at all: without it the recipe's
# --mem-per-cpu is refused.
mem=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.95) }' /proc/meminfo)
cat >"$conf" <<EOF
ClusterName=rxtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
# No systemd and no cgroups needed; task/affinity binds each task to the
# CPUs it was given, as clusters do, so reencode sizes itself from them.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=rx Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
sl() { SLURM_CONF=$conf "$@"; }
SLURM_CONF=$conf slurmctld -D >log/slurmctld.out 2>&1 &
daemons+=($!)
SLURM_CONF=$conf slurmd -D >log/slurmd.out 2>&1 &
daemons+=($!)
node_idle() { # node_idle: up to 30 s for sinfo to show the node idle
    for _ in $(seq 150); do
        [[ $(sl sinfo -h -n "$host" -o %t 2>/dev/null) == idle ]] && return 0
        sleep 0.2
    done
    return 1
}
t0=$SECONDS
if ! node_idle; then
    echo "FAIL: the node never came up idle: sinfo says '$(sl sinfo -h -o '%t %E' 2>&1)'" >&2
    show_logs
    exit 1
fi
echo "slurm: one node ($cpus CPUs, $mem MiB) idle in $((SECONDS - t0)) s"

# ---- the tree: tagged tiny clips in three directories
# `reencode` on PATH in the jobs (sbatch passes this environment on) is the
# binary under test at libaom's fastest speed; the jobs and threads are
# reencode's own choice from what Slurm gave each task.
mkdir bin
printf '#!/bin/sh\nexec "%s" "$@" --cpu-used 8\n' "$re" >bin/reencode
chmod +x bin/reencode
export PATH="$work/bin:$PATH"
clip() { "$mk" --duration 1 --size 160x96 --title "$(basename "$1")" "rec/$1" >/dev/null; }
mkdir -p rec/2024/week1 "rec/2024/week 2" rec/2025
names=("2024/week1/Game "{1..3}".mp4" "2024/week 2/lecture "{a,b,c}".mp4" "2025/meeting "{1,2}".mp4")
for n in "${names[@]}"; do clip "$n"; done

# submit ARRAY: the recipe as written, as that array; the options given to
# sbatch override its #SBATCH lines (docs/cluster.md): one CPU a task here,
# the recipe asks for 4. Waits for every task to end (or 240 s, or a task
# that can never start) and sets $job and $states ("STATE EXIT" per task).
submit() {
    local out reasons
    job=$(sl sbatch --parsable --array="$1" --cpus-per-task=1 \
        --export=ALL,RECORDINGS="$work/rec" "$recipe") || return 1
    states=""
    for _ in $(seq 1200); do
        out=$(sl scontrol -o show job "$job" 2>&1) || { echo "scontrol: $out" >&2; return 1; }
        if ! grep -q -E 'JobState=(PENDING|CONFIGURING|RUNNING|COMPLETING|REQUEUED|RESIZING|SUSPENDED)' <<<"$out"; then
            states=$(sed -E 's/.* ArrayTaskId=([^ ]*) .* JobState=([^ ]*) .* ExitCode=([^ ]*) .*/\1 \2 \3/' <<<"$out" |
                sort -n | cut -d' ' -f2- | tr '\n' ' ')
            return 0
        fi
        # Pending for a reason that waiting will not cure (a request larger
        # than the node: PartitionConfig, ReqNodeNotAvail...): say it now.
        reasons=$(grep 'JobState=PENDING' <<<"$out" | grep -o 'Reason=[^ ]*' |
            grep -v -x -e 'Reason=None' -e 'Reason=Priority' -e 'Reason=Resources' || true)
        if [[ -n $reasons ]]; then
            echo "job $job pending for good: $(echo $reasons)" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "job $job did not finish in 240 s" >&2
    return 1
}

# ---- an array of 3
t0=$SECONDS
check "array 0-2 runs to its end" submit 0-2
echo "slurm: array 0-2 (job $job) took $((SECONDS - t0)) s"
check "array 0-2: three tasks completed, exit 0 ($states)" \
    test "$states" = "COMPLETED 0:0 COMPLETED 0:0 COMPLETED 0:0 "
check "array 0-2: journals 0..2 of 3" \
    test "$(cd rec/.reencode && ls journal* | tr '\n' ' ')" = "journal.0-of-3 journal.1-of-3 journal.2-of-3 "
for t in 0 1 2; do
    check "task $t: shard $t of 3" grep -q "^shard $t of 3 " "reencode-${job}_$t.out"
    check "task $t: sized to its one CPU" grep -q ' 1 at once x 1 thread (1 core' "reencode-${job}_$t.out"
done
check "array 0-2: each file encoded and done once, by its own shard" \
    python3 "$e2e_dir/judge.py" rec "${names[@]}"
if ((fail)); then # the second array would only repeat the failure
    show_logs
    finish
fi

# ---- three files more, then an array of 2 over the same tree
added=("2025/late 1.mp4" "2024/week1/late 2.mp4" "late 3.mp4")
for n in "${added[@]}"; do clip "$n"; done
names+=("${added[@]}")
t0=$SECONDS
check "array 0-1 runs to its end" submit 0-1
echo "slurm: array 0-1 (job $job) took $((SECONDS - t0)) s"
check "array 0-1: two tasks completed, exit 0 ($states)" test "$states" = "COMPLETED 0:0 COMPLETED 0:0 "
encoded=$(cat "reencode-${job}"_*.out | grep -c '^done ' || true)
check "array 0-1 encoded only the ${#added[@]} new files ($encoded)" test "$encoded" -eq ${#added[@]}
check "array 0-1: still each file encoded and done once, by its own shard" \
    python3 "$e2e_dir/judge.py" rec "${names[@]}"
got=$("$re" status --json rec | python3 -c 'import json, sys
t = [json.loads(l) for l in sys.stdin][-1]
print(t["files"], t["done"], t["failed"], t["pending"], t["journals"])')
check "status: ${#names[@]} files done over 5 journals ($got)" test "$got" = "${#names[@]} ${#names[@]} 0 0 5"

((fail == 0)) || show_logs
# ---- stopped: nothing of this cluster left running
stop_cluster
left=$(ours)
check "daemons and jobs stopped, nothing left (${left:-none})" test -z "$left"
finish
