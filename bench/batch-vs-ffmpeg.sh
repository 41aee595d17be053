#!/usr/bin/env bash
# Benchmark: a batch of Game-Bar-like recordings. `reencode run -j J
# --threads T` (A) against the reference approach (B): the ffmpeg command
# line with the same settings, J processes at a time (xargs -P J), T threads
# each, files in directory order. Alternating A B A B on one corpus.
#
#   bench/batch-vs-ffmpeg.sh [--jobs J] [--threads T] [--runs N] [--scale F]
#                            [--verify off|quick|full] [--build DIR] [--keep DIR]
#
# Corpus (1080p H.264 ~10 Mb/s + AAC 48 kHz, tagged; durations x --scale):
# static slides 20 s, slides with a noisy webcam box 15 s, high motion 8 s,
# a VFR desktop capture 15 s, a 1366x768 capture 10 s.
# Prints batch wall and CPU time (medians), output bytes, and ratios A/B.
# Target (issue "batch"): wall ratio <= 0.90 at equal output. The ffmpeg CLI
# reads nothing back: reencode's --verify is off unless asked, for equal work.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=1 threads=$(nproc) runs=3 scale=1 build=$root/build keep= verify=off
while (($#)); do
    case $1 in
    --jobs) jobs=$2; shift ;;
    --threads) threads=$2; shift ;;
    --runs) runs=$2; shift ;;
    --scale) scale=$2; shift ;;
    --verify) verify=$2; shift ;;
    --build) build=$2; shift ;;
    --keep) keep=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "batch-vs-ffmpeg: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
command -v ffmpeg >/dev/null || { echo "batch-vs-ffmpeg: needs ffmpeg (scripts/setup --bench)" >&2; exit 2; }
re=$build/reencode mk=$build/tests/mkclip
[[ -x $re && -x $mk ]] || { echo "batch-vs-ffmpeg: build first (scripts/build $build)" >&2; exit 2; }

work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/rx-batch.XXXXXX")}
mkdir -p "$work/corpus"
[[ -n $keep ]] || trap 'rm -rf "$work"' EXIT
dur() { awk -v d="$1" -v s="$scale" 'BEGIN { printf "%g", d * s }'; }
make() { # make NAME ARGS...: generate once (kept with --keep)
    local f=$work/corpus/$1; shift
    [[ -s $f ]] || "$mk" --bitrate 10000000 --preset veryfast "$@" "$f" >/dev/null
}
make a-slides.mp4 --size 1920x1080 --duration "$(dur 20)" --pattern slides
make b-webcam.mp4 --size 1920x1080 --duration "$(dur 15)" --pattern webcam
make c-motion.mp4 --size 1920x1080 --duration "$(dur 8)" --pattern motion
make d-vfr.mp4 --size 1920x1080 --duration "$(dur 15)" --pattern slides --vfr
make e-small.mp4 --size 1366x768 --duration "$(dur 10)" --pattern webcam

. "$root/bench/reference.sh"
aom_params=$ref_aom_params
run_a() {
    rm -rf "$work/a" && mkdir -p "$work/a"
    # --max-size-ratio 100: keep every output, as the reference does, and
    # --dedup off (the reference encodes every frame), so both sides do and
    # write the same work (equal output).
    "$re" run -q --no-progress -j "$jobs" --threads "$threads" --originals keep --dedup off --verify "$verify" \
        --max-size-ratio 100 --output-dir "$work/a" --journal "$work/a/journal" \
        --log /dev/null "$work/corpus"
}
run_b() {
    rm -rf "$work/b" && mkdir -p "$work/b"
    export aom_params threads work
    ls -1 "$work/corpus"/*.mp4 | xargs -P "$jobs" -I{} sh -c '
        f={}; n=$(basename "$f" .mp4)
        exec ffmpeg -nostdin -loglevel error -y -threads "$threads" -i "$f" \
            -c:v libaom-av1 -usage realtime -crf 32 -cpu-used 5 -lag-in-frames 32 \
            -aom-params "$aom_params" -force_key_frames "expr:gte(t,n_forced*10)" \
            -threads "$threads" -c:a libopus -application voip -b:a 32k \
            -metadata title="$n" -metadata artist= "$work/b/$n.webm"'
}
TIMEFORMAT='%R %U %S'
timed() {
    local out=$1; shift
    local t
    t=$( { time "$@" >/dev/null 2>"$work/stderr"; } 2>&1 ) || { cat "$work/stderr" >&2; exit 1; }
    awk '{printf "%.3f %.3f\n", $1, $2 + $3}' <<<"$t" >>"$out"
}
: >"$work/a.times"; : >"$work/b.times"
media=$(for f in "$work/corpus"/*.mp4; do ffprobe -v error -show_entries format=duration -of csv=p=0 "$f"; done | awk '{s += $1} END {printf "%.1f", s}')
echo "corpus: $(ls "$work/corpus" | wc -l) files, ${media} s, $(du -sb "$work/corpus" | cut -f1) bytes; -j $jobs --threads $threads; $runs runs each, alternating"
for ((i = 1; i <= runs; i++)); do
    timed "$work/a.times" run_a
    timed "$work/b.times" run_b
    printf 'run %d: reencode %s s  reference %s s\n' "$i" "$(tail -1 "$work/a.times" | cut -d' ' -f1)" \
        "$(tail -1 "$work/b.times" | cut -d' ' -f1)"
done
bytes_a=$(cat "$work/a"/*.webm | wc -c)
bytes_b=$(cat "$work/b"/*.webm | wc -c)
n_a=$(ls "$work/a"/*.webm | wc -l) n_b=$(ls "$work/b"/*.webm | wc -l)

paste -d' ' "$work/a.times" "$work/b.times" | awk -v sa="$bytes_a" -v sb="$bytes_b" -v na="$n_a" -v nb="$n_b" -v media="$media" '
function median(arr, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{ n++; wa[n] = $1; ca[n] = $2; wb[n] = $3; cb[n] = $4; r[n] = $1 / $3 }
END {
    mwa = median(wa, n); mwb = median(wb, n); mr = median(r, n)
    printf "\n%-24s %12s %12s %10s\n", "", "reencode", "reference", "ratio A/B"
    printf "%-24s %12.2f %12.2f %10.3f   (median of per-pair ratios: %.3f)\n", "batch wall s (median)", mwa, mwb, mwa / mwb, mr
    printf "%-24s %12.2f %12.2f %10.3f\n", "CPU s (median)", median(ca, n), median(cb, n), median(ca, n) / median(cb, n)
    printf "%-24s %12.2f %12.2f\n", "x realtime", media / mwa, media / mwb
    printf "%-24s %12d %12d %10.3f\n", "output bytes", sa, sb, sa / sb
    printf "%-24s %12d %12d\n", "outputs", na, nb
    ok = (mr <= 0.90) && (sa / sb >= 0.97 && sa / sb <= 1.03) && na == nb
    printf "\ntarget: wall ratio <= 0.90 at equal output (size within 3%%): %s\n", ok ? "met" : "NOT met"
}'
