#!/usr/bin/env bash
# Benchmark: quality and size per clip at the default settings and with
# --target-ssim, and what reading the output back (--verify) costs.
#
#   bench/quality.sh CORPUS_DIR [--target X] [--threads T] [--build DIR] [--keep DIR]
#
# CORPUS_DIR: the clips to encode, every *.mp4 in it (bench/make-corpus.sh
# makes the bench corpus). Per clip, one after the other with T threads
# (default: all cores):
#   default   reencode encode --verify off: size, SSIM, PSNR, wall time
#   quick     reading that output back as --verify quick does (reencode
#             verify --quick FILE: streams, the last seconds decoded), in %
#             of the encode's wall time
#   full      the same, every frame decoded (reencode verify --full FILE)
#   target    reencode encode --verify off --target-ssim X (0.98): the crf
#             chosen, size, SSIM, PSNR, wall time (probes included)
# SSIM and PSNR are measured over every frame (mkclip --ssim: each source
# frame against the output frame on screen at its time), independently of
# the five spans --measure samples. Times are single runs: run it on a quiet
# machine, and more than once if the verify percentages matter.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus='' target=0.98 threads=$(nproc) build=$root/build keep=
while (($#)); do
    case $1 in
    --target | --threads | --build | --keep)
        (($# >= 2)) || { echo "quality: missing value after '$1'" >&2; exit 2; }
        case $1 in
        --target) target=$2 ;;
        --threads) threads=$2 ;;
        --build) build=$2 ;;
        --keep) keep=$2 ;;
        esac
        shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "quality: unknown option '$1'" >&2; exit 2 ;;
    *) [[ -z $corpus ]] || { echo "quality: extra argument '$1'" >&2; exit 2; }
       corpus=$1 ;;
    esac
    shift
done
[[ -n $corpus && -d $corpus ]] || { echo "quality: usage: quality.sh CORPUS_DIR [options]" >&2; exit 2; }
re=$build/reencode mk=$build/tests/mkclip
[[ -x $re && -x $mk ]] || { echo "quality: build first (scripts/build $build)" >&2; exit 2; }
shopt -s nullglob
clips=("$corpus"/*.mp4)
((${#clips[@]})) || { echo "quality: no .mp4 in '$corpus'" >&2; exit 2; }

work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/rx-quality.XXXXXX")}
mkdir -p "$work"
[[ -n $keep ]] || trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
# timed OUT LOG ARGS...: encode, print the wall seconds
timed() {
    local out=$1 log=$2 t0 t1
    shift 2
    rm -f "$out"
    t0=$(now)
    "$re" encode --threads "$threads" --no-progress "$@" -o "$out" 2>"$log" ||
        { echo "quality: encode failed, see $log" >&2; cat "$log" >&2; exit 1; }
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
# read_back MODE FILE: wall seconds of reencode verify MODE FILE (-j 1: one
# file, decoded with the threads an encode's read-back gets).
read_back() {
    local t0 t1
    t0=$(now)
    "$re" verify -q -j 1 "$1" "$2" >/dev/null ||
        { echo "quality: '$2' does not verify" >&2; exit 1; }
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
size_kib() { awk -v s="$(stat -c %s "$1")" 'BEGIN { printf "%.0f", s / 1024 }'; }
share() { awk -v x="$1" -v base="$2" 'BEGIN { printf "%.1f%%", (base > 0 ? 100 * x / base : 0) }'; }

printf '%-16s | %8s %8s %6s %7s | %4s %8s %8s %6s %7s | %7s %7s\n' \
    clip "def KiB" "SSIM" "PSNR" "s" "crf" "tgt KiB" "SSIM" "PSNR" "s" "quick" "full"
for clip in "${clips[@]}"; do
    name=$(basename "$clip" .mp4)
    d=$work/$name
    mkdir -p "$d"
    t_def=$(timed "$d/default.webm" "$d/default.log" --verify off "$clip")
    read -r s_def _ _ _ p_def < <("$mk" --ssim "$clip" "$d/default.webm")
    # The read-back timed on its own: as a difference of two encodes it
    # would drown in their run-to-run spread.
    t_quick=$(read_back --quick "$d/default.webm")
    t_full=$(read_back --full "$d/default.webm")
    t_tgt=$(timed "$d/target.webm" "$d/target.log" --verify off --target-ssim "$target" "$clip")
    crf=$(sed -n 's/.*: crf \([0-9]*\) for --target-ssim.*/\1/p' "$d/target.log")
    read -r s_tgt _ _ _ p_tgt < <("$mk" --ssim "$clip" "$d/target.webm")
    printf '%-16s | %8s %8s %6.2f %7s | %4s %8s %8s %6.2f %7s | %7s %7s\n' \
        "$name" "$(size_kib "$d/default.webm")" "$s_def" "$p_def" "$t_def" \
        "${crf:-?}" "$(size_kib "$d/target.webm")" "$s_tgt" "$p_tgt" "$t_tgt" \
        "$(share "$t_quick" "$t_def")" "$(share "$t_full" "$t_def")"
done
echo "target: --target-ssim $target; quick/full: reading the output back, in % of its encode's wall time"
