#!/usr/bin/env bash
# Benchmark (issue 15): what reencode's defaults write against what the
# original tool's ffmpeg command writes (bench/reference.sh), per clip of the
# Game-Bar-like corpus (bench/make-corpus.sh --set gamebar).
#
#   bench/size-vs-reference.sh [--long] [--scale F] [--grid S] [--seeks N]
#                              [--rounds R] [--keep DIR] [--build DIR]
#                              [--reencode-args ARGS]
#
# Per clip, one encode per side, one at a time (reference first), each timed
# with /usr/bin/time; then per output:
#   bytes         the file's; video and audio: the sums of their packets
#                 (mkclip --packets); audio kb/s over the source's duration
#   SSIM          luma, on a fixed time grid (mkclip --ssim SRC OUT --grid S,
#                 every 0.5 s by default): at each instant the source frame
#                 on screen against the output frame on screen, both sides
#                 judged on the same instants
#   seek          the worst of N seeks x R rounds in headless Chromium
#                 (tests/browser/seek.js: the frames before the keyframes
#                 with most to decode, the last, the rest spread) and how
#                 many showed another frame than the one due
#   encode s      wall time of the encode (reencode: --threads 0, both cores;
#                 the reference: ffmpeg's default threads)
# and prints a Markdown table with the ratios reencode / reference, then the
# corpus totals and the targets of issue 15 (met / NOT met): total bytes <=
# 0.80 x the reference's on every clip, SSIM >= the reference's - 0.002, worst
# seek <= 1000 ms on every output, silent tracks (digital zeros in the
# source) <= 1.5 kb/s. --long adds the 20 min clip. --reencode-args ARGS are
# added to `reencode encode` (split on white space). Needs ffmpeg, ffprobe,
# /usr/bin/time (scripts/setup --bench), node and chromium (scripts/setup).
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/reference.sh"
build=$root/build keep='' long=() scale=1 grid=0.5 seeks=12 rounds=2 rx_args=''
usage() { echo "size-vs-reference: $1 (see --help)" >&2; exit 2; }
need() { (($# >= 2)) || usage "missing value after '$1'"; }
while (($#)); do
    case $1 in
    --long) long=(--long) ;;
    --scale) need "$@"; scale=$2; shift ;;
    --grid) need "$@"; grid=$2; shift ;;
    --seeks) need "$@"; seeks=$2; shift ;;
    --rounds) need "$@"; rounds=$2; shift ;;
    --keep) need "$@"; keep=$2; shift ;;
    --build) need "$@"; build=$2; shift ;;
    --reencode-args) need "$@"; rx_args=$2; shift ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown option '$1'" ;;
    esac
    shift
done
for tool in ffmpeg ffprobe /usr/bin/time node; do
    command -v "$tool" >/dev/null ||
        { echo "size-vs-reference: needs $tool (scripts/setup --bench)" >&2; exit 2; }
done
re=$build/reencode mk=$build/tests/mkclip seekjs=$root/tests/browser/seek.js
[[ -x $re && -x $mk ]] || { echo "size-vs-reference: build first (scripts/build $build)" >&2; exit 2; }

work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/rx-size.XXXXXX")}
mkdir -p "$work"
[[ -n $keep ]] || trap 'rm -rf "$work"' EXIT
"$root/bench/make-corpus.sh" "$work/corpus" --set gamebar --scale "$scale" "${long[@]}" \
    --build "$build" >/dev/null
files=("$work/corpus"/*.mp4)
rm -rf "$work/out" && mkdir -p "$work/out/reference" "$work/out/reencode"
figures=$work/figures # one measurement a line, see the report below
: >"$figures"
fail() { echo "size-vs-reference: $1 failed:" >&2; cat "$work/stderr" >&2; exit 1; }
read -ra extra <<<"$rx_args"

echo "corpus: ${#files[@]} clips in $work/corpus; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
for f in "${files[@]}"; do
    n=$(basename "$f" .mp4)
    d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")
    # Digital silence: ffmpeg's volumedetect says -91 dB for all zeros.
    peak=$(ffmpeg -nostdin -v info -vn -i "$f" -af volumedetect -f null - 2>&1 |
        sed -n 's/.*max_volume: \(-*[0-9.]*\) dB.*/\1/p')
    silent=$(awk -v p="$peak" 'BEGIN { print (p != "" && p + 0 <= -90) ? 1 : 0 }')
    echo "clip $n $d $silent $(stat -c %s "$f")" >>"$figures"

    ref_command "$f" "$work/out/reference/$n.webm" "$n"
    /usr/bin/time -o "$work/time" -f '%e %U %S %M' "${ref_cmd[@]}" 2>"$work/stderr" ||
        fail "the reference on $n"
    echo "time reference $n $(cat "$work/time")" >>"$figures"
    /usr/bin/time -o "$work/time" -f '%e %U %S %M' "$re" encode -q --overwrite "${extra[@]}" \
        "$f" -o "$work/out/reencode/$n.webm" 2>"$work/stderr" || fail "reencode on $n"
    echo "time reencode $n $(cat "$work/time")" >>"$figures"

    for side in reference reencode; do
        o=$work/out/$side/$n.webm
        "$mk" --packets "$o" >"$work/packets" 2>"$work/stderr" || fail "mkclip --packets $o"
        awk -v s="$side" -v n="$n" -v b="$(stat -c %s "$o")" '
            $1 == "video" { v += $5 } $1 == "audio" { a += $5 }
            END { print "bytes", s, n, b, v, a }' "$work/packets" >>"$figures"
        q=$("$mk" --ssim "$f" "$o" --grid "$grid" 2>"$work/stderr") || fail "SSIM of $o"
        echo "ssim $side $n $q" >>"$figures"
    done
    echo "  $n done" >&2
done

# Seeks: one browser per side, every output of it in turn. seek.js exits 1
# when a seek is over its budget or shows another frame; the figures are
# wanted either way.
for side in reference reencode; do
    set +e
    node "$seekjs" --mkclip "$mk" --seeks "$seeks" --rounds "$rounds" --play 0 \
        "$work/out/$side"/*.webm >"$work/seeks-$side.ndjson" 2>"$work/stderr"
    rc=$?
    set -e
    ((rc <= 1)) || fail "seek.js on the $side outputs"
    awk -v s="$side" '
        /"type":"seek"/ {
            match($0, /"file":"[^"]*"/); f = substr($0, RSTART + 8, RLENGTH - 9); sub(/\.webm$/, "", f)
            if (/"why":"[^"]*shows the frame/) off[f]++
        }
        /"type":"file"/ {
            match($0, /"file":"[^"]*"/); f = substr($0, RSTART + 8, RLENGTH - 9); sub(/\.webm$/, "", f)
            w = "-"; if (match($0, /"worst_ms":[0-9.]+/)) w = substr($0, RSTART + 11, RLENGTH - 11)
            print "seek", s, f, w, off[f] + 0
        }' "$work/seeks-$side.ndjson" >>"$figures"
done

# The report. Figures lines:
#   clip NAME DURATION SILENT SOURCE_BYTES
#   time SIDE NAME WALL USER SYS RSS_KB
#   bytes SIDE NAME TOTAL VIDEO AUDIO
#   ssim SIDE NAME MEAN min MIN psnr PSNR
#   seek SIDE NAME WORST_MS SEEKS_OFF
awk -v grid="$grid" -v seeks="$seeks" -v rounds="$rounds" '
$1 == "clip" { n[++nc] = $2; dur[$2] = $3; silent[$2] = $4 }
$1 == "time" { wall[$2, $3] = $4 }
$1 == "bytes" { tot[$2, $3] = $4; vid[$2, $3] = $5; aud[$2, $3] = $6 }
$1 == "ssim" { ssim[$2, $3] = $4 }
$1 == "seek" { worst[$2, $3] = $4; off[$2, $3] = $5 }
function kbps(b, d) { return d > 0 ? b * 8 / d / 1000 : 0 }
END {
    printf "\n| clip | side | total bytes | video bytes | audio bytes | audio kb/s | SSIM (%g s grid) | worst seek ms | encode s | total b/a | video b/a | audio b/a | SSIM b-a | time b/a |\n", grid
    printf "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    ok_size = ok_ssim = ok_seek = ok_silent = 1
    for (i = 1; i <= nc; i++) {
        c = n[i]
        for (s = 0; s < 2; s++) {
            k = s ? "reencode" : "reference"
            printf "| %s | %s | %d | %d | %d | %.1f | %.6f | %s%s | %.1f |", s ? "" : c (silent[c] ? " (silent)" : ""), k,
                tot[k, c], vid[k, c], aud[k, c], kbps(aud[k, c], dur[c]), ssim[k, c], worst[k, c],
                off[k, c] ? sprintf(" (%d off)", off[k, c]) : "", wall[k, c]
            if (s)
                printf " %.3f | %.3f | %.3f | %+.4f | %.3f |\n", tot[k, c] / tot["reference", c],
                    vid[k, c] / vid["reference", c], aud["reference", c] ? aud[k, c] / aud["reference", c] : 0,
                    ssim[k, c] - ssim["reference", c], wall[k, c] / wall["reference", c]
            else
                printf " | | | | |\n"
            T[k] += tot[k, c]; V[k] += vid[k, c]; A[k] += aud[k, c]; W[k] += wall[k, c]
        }
        if (tot["reencode", c] > 0.80 * tot["reference", c]) { ok_size = 0; bad_size = bad_size " " c }
        if (ssim["reencode", c] < ssim["reference", c] - 0.002) { ok_ssim = 0; bad_ssim = bad_ssim " " c }
        if (worst["reencode", c] == "-" || worst["reencode", c] > 1000 || off["reencode", c]) { ok_seek = 0; bad_seek = bad_seek " " c }
        if (silent[c] && kbps(aud["reencode", c], dur[c]) > 1.5) { ok_silent = 0; bad_silent = bad_silent " " c }
    }
    printf "| **corpus** | reference | %d | %d | %d | | | | %.1f | | | | | |\n", T["reference"], V["reference"], A["reference"], W["reference"]
    printf "| | reencode | %d | %d | %d | | | | %.1f | %.3f | %.3f | %.3f | | %.3f |\n", T["reencode"], V["reencode"], A["reencode"],
        W["reencode"], T["reencode"] / T["reference"], V["reencode"] / V["reference"], A["reencode"] / A["reference"],
        W["reencode"] / W["reference"]
    printf "\nseeks: %d targets x %d rounds per output; \"off\": seeks that showed another frame than the one due\n", seeks, rounds
    printf "encode s: one encode at a time, each side alone on the machine (see bench/batch-vs-reference.sh for batches)\n"
    printf "\ntargets (issue 15)\n"
    printf "  total bytes <= 0.80 x the reference on every clip: %s%s\n", ok_size ? "met" : "NOT met:", bad_size
    printf "  SSIM >= the reference - 0.002 on every clip: %s%s\n", ok_ssim ? "met" : "NOT met:", bad_ssim
    printf "  worst seek <= 1000 ms, on the due frame, on every output: %s%s\n", ok_seek ? "met" : "NOT met:", bad_seek
    printf "  silent tracks <= 1.5 kb/s: %s%s\n", ok_silent ? "met" : "NOT met:", bad_silent
}' "$figures"
