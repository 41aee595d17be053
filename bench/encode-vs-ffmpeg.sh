#!/usr/bin/env bash
# Benchmark: one clip encoded in process by `reencode encode` (A) and by the
# ffmpeg command line with the same settings and threads (B), alternating
# A B A B ... so that drift of a shared machine hits both alike.
#
#   bench/encode-vs-ffmpeg.sh [--runs N] [--threads T] [--duration S]
#                             [--pattern slides|webcam|motion|noise] [--size WxH]
#                             [--verify off|quick|full] [--build DIR] [--keep DIR]
#
# Prints per run and as medians: wall and CPU seconds, output sizes, SSIM of
# each output against the source, and the ratios A/B. Targets (issue "core"):
# time ratio <= 1.00, size within 3 %, SSIM within 0.002. The ffmpeg CLI
# reads nothing back, so for the same work reencode's --verify is off unless
# asked (--verify quick|full shows what reading the output back costs).
# Needs the ffmpeg command line (scripts/setup --bench); it is a benchmark-only
# dependency.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=5 threads=$(nproc) duration=20 pattern=webcam size=1920x1080
build=$root/build keep= verify=off
while (($#)); do
    case $1 in
    --runs) runs=$2; shift ;;
    --threads) threads=$2; shift ;;
    --duration) duration=$2; shift ;;
    --pattern) pattern=$2; shift ;;
    --size) size=$2; shift ;;
    --verify) verify=$2; shift ;;
    --build) build=$2; shift ;;
    --keep) keep=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "encode-vs-ffmpeg: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
command -v ffmpeg >/dev/null || { echo "encode-vs-ffmpeg: needs ffmpeg (scripts/setup --bench)" >&2; exit 2; }
re=$build/reencode mk=$build/tests/mkclip
[[ -x $re && -x $mk ]] || { echo "encode-vs-ffmpeg: build first (scripts/build $build)" >&2; exit 2; }

work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/rx-bench.XXXXXX")}
mkdir -p "$work"
[[ -n $keep ]] || trap 'rm -rf "$work"' EXIT
src=$work/source.mp4
# A Game-Bar-like recording: 1080p H.264 at ~10 Mb/s, AAC 48 kHz, tagged.
"$mk" --size "$size" --duration "$duration" --pattern "$pattern" --bitrate 10000000 \
    --preset veryfast "$src" >/dev/null

# The reference settings, spelled for each tool. reencode's defaults are
# these; the keyframe cadence (10 s by time) is given to ffmpeg explicitly.
# Same work on both sides: reencode's duplicate-frame elision is off here
# (bench/batch-vs-reference.sh measures it).
. "$root/bench/reference.sh"
aom_params=$ref_aom_params
cmd_a=("$re" encode -q --overwrite --dedup off --verify "$verify" --threads "$threads" "$src" -o "$work/a.webm")
cmd_b=(ffmpeg -nostdin -hide_banner -loglevel error -y -threads "$threads" -i "$src"
       -c:v libaom-av1 -usage realtime -crf 32 -cpu-used 5 -lag-in-frames 32
       -aom-params "$aom_params" -force_key_frames 'expr:gte(t,n_forced*10)'
       -threads "$threads" -c:a libopus -application voip -b:a 32k
       -metadata title=source -metadata artist= "$work/b.webm")

TIMEFORMAT='%R %U %S'
timed() { # timed OUTFILE CMD...: append "wall cpu" to OUTFILE
    local out=$1; shift
    local t
    t=$( { time "$@" >/dev/null 2>"$work/stderr"; } 2>&1 ) || { cat "$work/stderr" >&2; exit 1; }
    awk '{printf "%.3f %.3f\n", $1, $2 + $3}' <<<"$t" >>"$out"
}
: >"$work/a.times"; : >"$work/b.times"
echo "clip: $pattern $size ${duration}s ($(stat -c %s "$src") bytes), threads $threads, $runs runs each, alternating"
timed /dev/null "${cmd_a[@]}"   # warm-up: page cache, libaom tables
timed /dev/null "${cmd_b[@]}"
for ((i = 1; i <= runs; i++)); do
    timed "$work/a.times" "${cmd_a[@]}"
    timed "$work/b.times" "${cmd_b[@]}"
    printf 'run %d: reencode %s s  ffmpeg %s s\n' "$i" "$(tail -1 "$work/a.times" | cut -d' ' -f1)" \
        "$(tail -1 "$work/b.times" | cut -d' ' -f1)"
done

ssim() { # mean SSIM (all planes) of $1 against the source, frames in order
    ffmpeg -nostdin -hide_banner -i "$1" -i "$src" -lavfi '[0:v][1:v]ssim' -f null - 2>&1 |
        sed -n 's/.*SSIM.* All:\([0-9.]*\).*/\1/p' | tail -1
}
size_a=$(stat -c %s "$work/a.webm") size_b=$(stat -c %s "$work/b.webm")
ssim_a=$(ssim "$work/a.webm") ssim_b=$(ssim "$work/b.webm")

paste -d' ' "$work/a.times" "$work/b.times" | awk -v sa="$size_a" -v sb="$size_b" \
    -v qa="$ssim_a" -v qb="$ssim_b" '
function median(arr, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{ n++; wa[n] = $1; ca[n] = $2; wb[n] = $3; cb[n] = $4; r[n] = $1 / $3 }
END {
    mwa = median(wa, n); mwb = median(wb, n); mca = median(ca, n); mcb = median(cb, n); mr = median(r, n)
    printf "\n%-22s %12s %12s %10s\n", "", "reencode", "ffmpeg CLI", "ratio A/B"
    printf "%-22s %12.2f %12.2f %10.3f   (median of per-pair ratios: %.3f)\n", "wall s (median)", mwa, mwb, mwa / mwb, mr
    printf "%-22s %12.2f %12.2f %10.3f\n", "CPU s (median)", mca, mcb, mca / mcb
    printf "%-22s %12d %12d %10.3f\n", "output bytes", sa, sb, sa / sb
    printf "%-22s %12.5f %12.5f %+10.5f\n", "SSIM vs source", qa, qb, qa - qb
    ok = (mr <= 1.00) && (sa / sb >= 0.97 && sa / sb <= 1.03) && (qa - qb <= 0.002 && qb - qa <= 0.002)
    printf "\ntargets: time ratio <= 1.00, size within 3%%, SSIM within 0.002: %s\n", ok ? "met" : "NOT met"
}'
