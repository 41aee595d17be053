#!/usr/bin/env bash
# The seek study (issue 15): how a seek's latency in Chromium grows with the
# frames encoded between the keyframe and the target, and what a keyframe
# costs in bytes where it falls; the figures that choose the keyframe policy.
#
#   bench/seek-study.sh [--seeks N] [--rounds R] [--budget MS] [--keep DIR]
#                       [--build DIR]
#   bench/seek-study.sh --report DIR [--budget MS]   the tables again, from
#                       the measurements a --keep DIR run left there
#
# Latency. Four clips (mkclip, VFR H.264 like Game Bar's), each encoded with
# reencode's defaults but one keyframe per file (--keyint 0), so the frames
# since the keyframe grow from 1 at the start to every frame at the end:
#   talk-1080   1920x1080 60 s  slides typed on now and then, a mouse pointer
#   talk-1440   2464x1440 60 s  the same at HiDPI
#   video-1080  1920x1080 30 s  a video playing in a window the whole time
#   video-1440  2464x1440 30 s  the same at HiDPI
# (screen content, where duplicate-frame elision leaves few frames, and the
# moving segment, where every frame is encoded and each costs more to
# decode). tests/browser/seek.js seeks to N encoded frames spread evenly by
# index (--targets frames), R rounds in new orders; each seek's time is from
# setting currentTime to the later of `seeked` and the frame's presentation.
# Per clip: a least-squares line ms = fixed + per_frame x frames (and
# against the kilobytes decoded), min / median / max over the rounds, and
# the frame count at which the line reaches --budget MS (700: headroom
# under the 1000 ms a seek may take).
#
# Keyframe bytes. A 60 s slides clip with a new slide every 10 s, at 1080p
# and at 2464x1440, encoded three ways: --keyint 0 (one keyframe), --keyint 10 (keyframes fall
# on the slide changes) and --keyint 7 (most fall on a still screen, where
# the frame is encoded only because a keyframe is due). Per keyframe: its
# bytes, and what the one-keyframe encode spent at the same instant (an inter
# frame at a slide change; nothing on a still screen, the frame elided).
# Needs node and chromium (scripts/setup).
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build keep='' seeks=40 rounds=3 budget=700 report=0
usage() { echo "seek-study: $1 (see --help)" >&2; exit 2; }
need() { (($# >= 2)) || usage "missing value after '$1'"; }
while (($#)); do
    case $1 in
    --seeks) need "$@"; seeks=$2; shift ;;
    --rounds) need "$@"; rounds=$2; shift ;;
    --budget) need "$@"; budget=$2; shift ;;
    --keep) need "$@"; keep=$2; shift ;;
    --report) need "$@"; keep=$2; report=1; shift ;;
    --build) need "$@"; build=$2; shift ;;
    -h|--help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown option '$1'" ;;
    esac
    shift
done
re=$build/reencode mk=$build/tests/mkclip seekjs=$root/tests/browser/seek.js
[[ -x $re && -x $mk ]] || { echo "seek-study: build first (scripts/build $build)" >&2; exit 2; }
command -v node >/dev/null || { echo "seek-study: needs node (scripts/setup)" >&2; exit 2; }
work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/rx-seek.XXXXXX")}
mkdir -p "$work"
[[ -n $keep ]] || trap 'rm -rf "$work"' EXIT
cd "$work"

clip() { # clip NAME MKCLIP-ARGS...: NAME.mp4 unless there
    [[ -s $1.mp4 ]] || "$mk" --vfr --gop 30 --bitrate 10000000 --preset veryfast --audio speech \
        "${@:2}" "$1.mp4"
}
encode() { # encode NAME OUT KEYINT
    [[ -s $2.webm ]] || "$re" encode -q --keyint "$3" "$1.mp4" -o "$2.webm"
}
if ((report)); then
    [[ -s seeks.ndjson ]] || { echo "seek-study: no measurements in $work" >&2; exit 2; }
else
echo "seek study in $work; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
talk=(--pattern talk --slide-seconds 20 --pointer --duration 60)
video=(--pattern talk --slide-seconds 600 --motion 0:30 --motion-window 0.45 --duration 30)
clip talk-1080 --size 1920x1080 "${talk[@]}"
clip talk-1440 --size 2464x1440 "${talk[@]}"
clip video-1080 --size 1920x1080 "${video[@]}"
clip video-1440 --size 2464x1440 "${video[@]}"
clip slides-1080 --size 1920x1080 --pattern slides --slide-seconds 10 --duration 60
clip slides-1440 --size 2464x1440 --pattern slides --slide-seconds 10 --duration 60
for n in talk-1080 talk-1440 video-1080 video-1440; do encode "$n" "$n" 0; done
for n in slides-1080 slides-1440; do
    for k in 0 7 10; do encode "$n" "$n-k$k" "$k"; done
done

set +e
node "$seekjs" --mkclip "$mk" --targets frames --seeks "$seeks" --rounds "$rounds" --play 0 \
    --budget-ms 100000 talk-1080.webm talk-1440.webm video-1080.webm video-1440.webm >seeks.ndjson
rc=$?
set -e
# 1: a seek showed another frame than the one due (reported below); else broken.
((rc <= 1)) || { echo "seek-study: seek.js failed ($rc)" >&2; exit 1; }
echo "load after the seeks: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

echo
echo "## Seek latency against frames decoded (one keyframe per file)"
echo
echo "Lines fitted to each target's median and, for the worst case, to its slowest of the rounds."
echo
echo "| clip | frames in file | targets x rounds | off | fixed ms | ms per frame | r2 | ms per frame per megapixel | ms per KB | r2 (KB) | median ms at most frames | worst ms | worst-case line: fixed + per frame | frames for $budget ms (median line, worst-case line) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
# Per seek: file, since_key (frames), since_key_bytes, ms = max(seeked, frame).
awk -v budget="$budget" '
function num(k,   m) { if (!match($0, "\"" k "\":[0-9.]+")) return ""; return substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3) + 0 }
function str(k) { if (!match($0, "\"" k "\":\"[^\"]*\"")) return ""; return substr($0, RSTART + length(k) + 4, RLENGTH - length(k) - 5) }
function fit(f, xs, ys, n,   i, sx, sy, sxx, sxy, syy, b, a, r) { # least squares; sets A, B, R2
    sx = sy = sxx = sxy = syy = 0
    for (i = 1; i <= n; i++) { sx += xs[i]; sy += ys[i]; sxx += xs[i] * xs[i]; sxy += xs[i] * ys[i]; syy += ys[i] * ys[i] }
    B = (n * sxy - sx * sy) / (n * sxx - sx * sx); A = (sy - B * sx) / n
    r = (n * sxy - sx * sy) / sqrt((n * sxx - sx * sx) * (n * syy - sy * sy)); R2 = r * r
}
/"type":"seek"/ {
    f = str("file"); sub(/\.webm$/, "", f)
    fr = num("since_key"); by = num("since_key_bytes"); s = num("seeked_ms"); p = num("frame_ms")
    ms = (p != "" && p > s) ? p : s
    k = f SUBSEP fr
    if (!(k in cnt)) { order[f, ++nt[f]] = fr; kb[k] = by / 1024 }
    ms_list[k] = ms_list[k] " " ms; cnt[k]++
    all[f]++; if (/shows the frame/) off[f]++
    if (ms > worst[f]) worst[f] = ms
}
/"type":"file"/ {
    f = str("file"); sub(/\.webm$/, "", f); frames[f] = num("frames"); files[++nf] = f
    mp[f] = num("width") * num("height") / 1e6
}
function maxof(list,   a, n, i, m) {
    n = split(list, a, " "); m = a[1] + 0
    for (i = 2; i <= n; i++) if (a[i] + 0 > m) m = a[i] + 0
    return m
}
function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
    for (q = 1; q <= nf; q++) {
        f = files[q]; n = nt[f]
        for (i = 1; i <= n; i++) {
            fr = order[f, i]; xs[i] = fr; xb[i] = kb[f, fr]; ys[i] = median(ms_list[f, fr]); yw[i] = maxof(ms_list[f, fr])
        }
        fit(f, xs, ys, n); a = A; b = B; r2 = R2
        fit(f, xb, ys, n); bb = B; r2b = R2
        fit(f, xs, yw, n); aw = A; bw = B
        top = 1; for (i = 2; i <= n; i++) if (xs[i] > xs[top]) top = i
        printf "| %s | %d | %d x %d | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f (%d frames) | %.0f | %.0f + %.2f | %s, %s |\n", f, frames[f], n,
            all[f] / (n ? n : 1), off[f], a, b, r2, (mp[f] > 0 ? b / mp[f] : 0), bb, r2b, ys[top], xs[top], worst[f], aw, bw,
            (b > 0 ? sprintf("%.0f", (budget - a) / b) : "-"), (bw > 0 ? sprintf("%.0f", (budget - aw) / bw) : "-")
        for (i = 1; i <= n; i++) print f, xs[i], sprintf("%.1f", xb[i]), ys[i] > "seek-points.txt"
        delete xs; delete xb; delete ys; delete yw
    }
}' seeks.ndjson
echo
echo "(the points: $work/seek-points.txt: clip, frames decoded, KB decoded, median ms)"

echo
echo "## Keyframe bytes: slides, a new slide every 10 s"
echo
echo "| clip, encode | keyframes at a slide change: n, mean bytes (the inter frame there with one keyframe: mean bytes) | keyframes on a still screen: n, mean bytes (with one keyframe: nothing, the frame elided) | video bytes (with one keyframe) |"
echo "|---|---|---|---|"
for n in slides-1080 slides-1440; do
    for k in 0 7 10; do "$mk" --packets "$n-k$k.webm" | awk '$1 == "video"' >"$n-k$k.txt"; done
    awk -v clip="$n" '
    FNR == 1 { file++ }
    file == 1 { at[$3] = $5; tot0 += $5 }      # one keyframe: each frame by its time
    file > 1 { tot[file] += $5 }
    file > 1 && $6 == 1 && FNR > 1 {          # a forced keyframe (not the first frame)
        kind = ($3 in at && at[$3] > 2000) ? "change" : "still"
        n[file, kind]++; kb[file, kind] += $5; inter[file, kind] += ($3 in at) ? at[$3] : 0
    }
    END {
        name[2] = "--keyint 7"; name[3] = "--keyint 10"
        for (f = 2; f <= 3; f++)
            printf "| %s %s | %d, %.0f (%.0f) | %d, %.0f | %d (%d, %+d) |\n", clip, name[f],
                n[f, "change"], n[f, "change"] ? kb[f, "change"] / n[f, "change"] : 0,
                n[f, "change"] ? inter[f, "change"] / n[f, "change"] : 0,
                n[f, "still"], n[f, "still"] ? kb[f, "still"] / n[f, "still"] : 0, tot[f], tot0, tot[f] - tot0
    }' "$n-k0.txt" "$n-k7.txt" "$n-k10.txt"
done
