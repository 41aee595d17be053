#!/usr/bin/env bash
# Calibration of libsvtav1's default preset and crf against the libaom
# reference settings (issue 6): a small corpus of Game-Bar-like recordings,
# each encoded by `reencode encode` with its libaom defaults and with
# --video-encoder libsvtav1 over a grid of presets and CRFs, one encode at a
# time (the machine has 2 cores; parallel encodes would distort the times).
#
#   bench/svtav1-calibrate.sh [--presets "8 10 12"] [--crfs "34 37 40 43"]
#                             [--threads T] [--build DIR] [--keep DIR]
#
# Per configuration it prints the corpus-mean SSIM (mkclip --ssim: luma, each
# output frame against the source frame shown at the same time), total output
# bytes, total wall and CPU seconds, the largest peak RSS, and whether it
# meets the targets: SSIM within 0.002 of libaom's, total size within 5 %.
# Raw rows (one per clip and configuration) go to DIR/results.tsv; with
# --keep DIR a second run reuses the rows already measured there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
presets="8 10 12" crfs="34 37 40 43" threads=0
build=$root/build keep=
while (($#)); do
    case $1 in
    --presets) presets=$2; shift ;;
    --crfs) crfs=$2; shift ;;
    --threads) threads=$2; shift ;;
    --build) build=$2; shift ;;
    --keep) keep=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "svtav1-calibrate: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
re=$build/reencode mk=$build/tests/mkclip
[[ -x $re && -x $mk ]] || { echo "svtav1-calibrate: build first (scripts/build $build)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "svtav1-calibrate: needs GNU time (apt-get install time)" >&2; exit 2; }

work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/rx-svt.XXXXXX")}
mkdir -p "$work"
[[ -n $keep ]] || trap 'rm -rf "$work"' EXIT
results=$work/results.tsv
[[ -f $results ]] || printf 'clip\tencoder\tpreset\tcrf\tbytes\tssim\twall\tuser\tsys\trss_kb\n' >"$results"

# The corpus: screen recordings as Game Bar writes them (H.264 ~10 Mb/s,
# AAC), the kinds of content of bench/REFERENCE.md, shorter.
common=(--bitrate 10000000 --preset veryfast)
declare -A clips=(
    [slides]="--size 1920x1080 --duration 10 --pattern slides --slide-seconds 5"
    [webcam]="--size 1920x1080 --duration 10 --pattern webcam --slide-seconds 5"
    [motion]="--size 1920x1080 --duration 10 --pattern slides --slide-seconds 5 --motion 4:3"
    [vfr]="--size 1920x1080 --duration 10 --pattern slides --slide-seconds 5 --vfr"
    [typing]="--size 1366x768 --duration 5 --pattern typing"
)
order=(slides webcam motion vfr typing)
for c in "${order[@]}"; do
    # shellcheck disable=SC2086 # the clip's options are words
    [[ -f $work/$c.mp4 ]] || "$mk" ${clips[$c]} "${common[@]}" "$work/$c.mp4" >/dev/null
done

measure() { # measure CLIP ENCODER PRESET CRF [reencode options...]
    local c=$1 enc=$2 preset=$3 crf=$4 out t
    shift 4
    if awk -F'\t' -v c="$c" -v e="$enc" -v p="$preset" -v q="$crf" \
        '$1 == c && $2 == e && $3 == p && $4 == q { found = 1 } END { exit !found }' "$results"; then
        return
    fi
    out=$work/$c.$enc.$preset.$crf.webm
    rm -f "$out"
    t=$(/usr/bin/time -f '%e %U %S %M' "$re" encode -q --threads "$threads" "$@" \
        "$work/$c.mp4" -o "$out" 2>&1 >/dev/null | tail -1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$enc" "$preset" "$crf" "$(stat -c %s "$out")" \
        "$("$mk" --ssim "$work/$c.mp4" "$out" | cut -d' ' -f1)" "${t// /$'\t'}" >>"$results"
    tail -1 "$results"
    rm -f "$out"
}

for c in "${order[@]}"; do
    measure "$c" libaom-av1 - 32
    for p in $presets; do
        for q in $crfs; do
            measure "$c" libsvtav1 "$p" "$q" --video-encoder libsvtav1 --preset "$p" --crf "$q"
        done
    done
done

echo
awk -F'\t' -v nclips="${#order[@]}" '
NR == 1 { next }
{
    k = $2 " " $3 " " $4
    if (!(k in n)) keys[++nk] = k
    n[k]++; bytes[k] += $5; ssim[k] += $6; wall[k] += $7; cpu[k] += $8 + $9
    if ($10 > rss[k]) rss[k] = $10
    if ($2 == "libaom-av1") ref = k
}
END {
    printf "%-22s %8s %12s %8s %8s %8s %8s %8s  %s\n", "encoder preset crf", "SSIM", "bytes",
        "size", "wall s", "x aom", "CPU s", "RSS MiB", "targets"
    for (i = 1; i <= nk; i++) {
        k = keys[i]
        if (n[k] != nclips) continue
        s = ssim[k] / n[k]; sr = ssim[ref] / n[ref]
        ok = (s - sr <= 0.002 && sr - s <= 0.002) && (bytes[k] / bytes[ref] >= 0.95 && bytes[k] / bytes[ref] <= 1.05)
        printf "%-22s %8.5f %12d %7.1f%% %8.1f %8.2f %8.1f %8.0f  %s\n", k, s, bytes[k],
            100 * bytes[k] / bytes[ref], wall[k], wall[ref] / wall[k], cpu[k], rss[k] / 1024,
            k == ref ? "(reference)" : ok ? "met" : "-"
    }
}' "$results"
