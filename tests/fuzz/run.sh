#!/usr/bin/env bash
# Build the libFuzzer harnesses in a clang tree and run each for a bounded time.
#
#   tests/fuzz/run.sh                    all harnesses, 60 s each
#   tests/fuzz/run.sh fuzz_journal       only these
#   RX_FUZZ_SECONDS=600 tests/fuzz/run.sh
#
# Environment: RX_FUZZ_SECONDS (per harness, default 60), RX_FUZZ_BUILD (the
# tree, default build-fuzz), RX_FUZZ_CC (default clang-14, else clang).
#
# Each harness starts from a copy of its seed corpus (tests/fuzz/corpus/NAME,
# never written to) with its dictionary (tests/fuzz/dict/NAME.dict). Inputs
# that crash, leak, trip UBSan, time out (> 10 s) or exhaust memory (> 2 GiB)
# are kept in BUILD/fuzz-artifacts/NAME/; replay one with
#   BUILD/tests/fuzz/NAME BUILD/fuzz-artifacts/NAME/crash-...
# Exits 1 on any finding, 2 on a usage or build error.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

all=(fuzz_journal fuzz_filter fuzz_cli fuzz_manifest)
seconds=${RX_FUZZ_SECONDS:-60}
build=${RX_FUZZ_BUILD:-build-fuzz}
[[ $build == /* ]] || build=$root/$build
names=("$@")
((${#names[@]})) || names=("${all[@]}")

[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: RX_FUZZ_SECONDS must be a positive whole number" >&2; exit 2; }
for n in "${names[@]}"; do
    [[ " ${all[*]} " == *" $n "* ]] || { echo "fuzz: unknown harness '$n' (${all[*]})" >&2; exit 2; }
done

# Longest input per harness: a journal of a few dozen lines (its index grows
# past 32 files), a few expressions and values, a long command line, a CSV
# of a few dozen rows.
declare -A max_len=([fuzz_journal]=16384 [fuzz_filter]=1024 [fuzz_cli]=2048 [fuzz_manifest]=4096)

cc=${RX_FUZZ_CC:-}
if [[ -z $cc ]]; then
    cc=$(command -v clang-14 || command -v clang || true)
    [[ -n $cc ]] || { echo "fuzz: no clang (scripts/setup installs clang-14)" >&2; exit 2; }
fi

echo "== build ${build#"$root"/} ($cc, libFuzzer + ASan + UBSan)"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DREENCODE_FUZZ=ON >/dev/null || exit 2
cmake --build "$build" -j "$(nproc)" --target "${names[@]}" || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/reencode-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Leaks are findings (libFuzzer checks them per input); a UBSan report aborts
# (-fno-sanitize-recover) and so is a crash. Symbolised stacks when the
# symboliser is there (llvm-14).
symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0${symbolizer:+:external_symbolizer_path=$symbolizer}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1${symbolizer:+:external_symbolizer_path=$symbolizer}

failed=0
for n in "${names[@]}"; do
    corpus=$work/$n
    artifacts=$build/fuzz-artifacts/$n
    log=$work/$n.log
    mkdir -p "$corpus" "$artifacts"
    cp tests/fuzz/corpus/"$n"/* "$corpus"/
    rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*
    start=$(date +%s)
    rc=0
    "$build/tests/fuzz/$n" -max_total_time="$seconds" -max_len="${max_len[$n]}" -timeout=10 \
        -rss_limit_mb=2048 -dict="tests/fuzz/dict/$n.dict" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
    elapsed=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    findings=$(find "$artifacts" -maxdepth 1 -type f \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    # A harness that stopped early without leaving an input still failed.
    if ((rc != 0 && findings == 0)); then
        findings=1
    fi
    echo "$n: ${execs:-?} execs in $elapsed s, $findings findings"
    if ((findings)); then
        failed=1
        echo "---- $n: log (last 60 lines)"
        tail -n 60 "$log"
        for f in "$artifacts"/*; do
            [[ -f $f ]] && echo "---- replay: ${build#"$root"/}/tests/fuzz/$n ${f#"$root"/}"
        done
    fi
done
((failed == 0)) || { echo "fuzz: FINDINGS (inputs kept in ${build#"$root"/}/fuzz-artifacts/)" >&2; exit 1; }
echo "== fuzz: no findings"
