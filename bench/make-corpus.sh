#!/usr/bin/env bash
# Write the batch benchmark's corpus: five Game-Bar-like recordings, mostly
# static like real lecture and desktop captures, with the cases that cost an
# encoder most (docs/benchmarks.md says why each is there).
#
#   bench/make-corpus.sh DIR [--set classic|gamebar] [--scale F] [--long]
#                        [--webcam camera|noise] [--build DIR]
#
# --set classic (the default) is the batch benchmark's corpus below.
# H.264 at a 10 Mb/s target (x264 veryfast), AAC 48 kHz stereo, tagged
# artist "Microsoft Game DVR" and the captured app's title, moov last:
#   a-slides.mp4   1920x1080 30 s  static slides, a new one every 5 s
#   b-webcam.mp4   1920x1080 30 s  the same with a small webcam box that
#                                  drifts: a swaying head, sensor noise; it
#                                  changes every frame (--webcam noise: a box
#                                  of full-range noise instead, a stress case
#                                  no encoder compresses: 8 Mb/s of AV1)
#   c-motion.mp4   1920x1080 30 s  slides with 6 s of full-screen motion
#                                  from 12 s (a video played during a talk)
#   d-vfr.mp4      1920x1080 30 s  slides, variable frame rate (a desktop
#                                  capture: irregular frame durations)
#   e-small.mp4    1366x768  10 s  one slide, someone typing, cursor blinking
# --set gamebar is the size benchmark's (bench/size-vs-reference.sh): clips
# made like real Game Bar recordings, 60 s each, VFR H.264 at a 10 Mb/s
# target (x264 veryfast, VBV, a keyframe every 30 frames, about 2 s), AAC
# 48 kHz stereo, entirely silent (digital zeros, as without a microphone) or
# speech-like (syllables and pauses):
#   g1-slides.mp4  1920x1080  slides, a new one every 12 s, a mouse pointer
#                             gliding about; speech
#   g2-typing.mp4  1920x1080  one editor page typed on from 4 s, 1.4 glyphs/s,
#                             a blinking text cursor; silent
#   g3-video.mp4   1920x1080  a talk (slides typed on now and then, pointer)
#                             with a video playing in a window from 25 to
#                             35 s; speech
#   g4-hidpi.mp4   2464x1440  a HiDPI capture of the talk, pointer; silent
#   g5-webcam.mp4  1920x1080  slides with a webcam picture-in-picture; speech
#   g6-talk-20min.mp4 (with --long) 1920x1080, 20 min: the talk, a new slide
#                             a minute, a video segment at 10 min; speech
# --scale F multiplies every time in that list (durations, slide period,
# motion segment) so a small corpus keeps the same composition. Files
# already in DIR are kept; DIR/.corpus records the set, scale and webcam
# kind, and a second call with others is refused.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir='' scale=1 build=$root/build webcam=camera set=classic long=0
while (($#)); do
    case $1 in
    --scale) (($# >= 2)) || { echo "make-corpus: missing value after '$1'" >&2; exit 2; }
             scale=$2; shift ;;
    --build) (($# >= 2)) || { echo "make-corpus: missing value after '$1'" >&2; exit 2; }
             build=$2; shift ;;
    --set) [[ ${2:-} == classic || ${2:-} == gamebar ]] ||
               { echo "make-corpus: --set takes classic or gamebar" >&2; exit 2; }
           set=$2; shift ;;
    --long) long=1 ;;
    --webcam) [[ ${2:-} == camera || ${2:-} == noise ]] ||
                  { echo "make-corpus: --webcam takes camera or noise" >&2; exit 2; }
              webcam=$2; shift ;;
    -h|--help) sed -n '2,45p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "make-corpus: unknown option '$1'" >&2; exit 2 ;;
    *) [[ -z $dir ]] || { echo "make-corpus: extra argument '$1'" >&2; exit 2; }
       dir=$1 ;;
    esac
    shift
done
[[ -n $dir ]] || { echo "make-corpus: usage: make-corpus.sh DIR [--scale F] [--build DIR]" >&2; exit 2; }
awk -v s="$scale" 'BEGIN { exit !(s + 0 > 0 && s + 0 <= 10) }' ||
    { echo "make-corpus: bad --scale '$scale' (want 0 < F <= 10)" >&2; exit 2; }
mk=$build/tests/mkclip
[[ -x $mk ]] || { echo "make-corpus: build first (scripts/build $build)" >&2; exit 2; }

mkdir -p "$dir"
stamp="scale $scale"
[[ $webcam == camera ]] || stamp="$stamp, webcam $webcam"
[[ $set == classic ]] || stamp="$set, $stamp"
if [[ -e $dir/.corpus ]]; then
    [[ $(cat "$dir/.corpus") == "$stamp" ]] ||
        { echo "make-corpus: '$dir' holds a corpus with $(cat "$dir/.corpus"), not $stamp" >&2; exit 2; }
else
    echo "$stamp" >"$dir/.corpus"
fi

# Each clip is written in DIR/.tmp and renamed: an interrupted call leaves no
# half-written recording for the next one to take as done.
tmp=$dir/.tmp
rm -rf "$tmp" && mkdir "$tmp"
trap 'rm -rf "$tmp"' EXIT
t() { awk -v d="$1" -v s="$scale" 'BEGIN { printf "%g", d * s }'; }
clip() { # clip NAME MKCLIP-ARGS...: write DIR/NAME unless it is there
    local name=$1; shift
    [[ -s $dir/$name ]] && return 0
    "$mk" --bitrate 10000000 --preset veryfast "$@" "$tmp/$name"
    mv "$tmp/$name" "$dir/$name"
}
sizes() {
    for f in "$dir"/*.mp4; do
        printf '%-18s %10d bytes\n' "$(basename "$f")" "$(stat -c %s "$f")"
    done
}

if [[ $set == gamebar ]]; then
    gb=(--vfr --gop 30 --title "Desktop")
    clip g1-slides.mp4 "${gb[@]}" --size 1920x1080 --duration "$(t 60)" --pattern slides \
        --slide-seconds "$(t 12)" --pointer --audio speech
    clip g2-typing.mp4 "${gb[@]}" --size 1920x1080 --duration "$(t 60)" --pattern talk \
        --slide-seconds "$(t 600)" --audio silent
    clip g3-video.mp4 "${gb[@]}" --size 1920x1080 --duration "$(t 60)" --pattern talk \
        --slide-seconds "$(t 20)" --pointer --motion "$(t 25):$(t 10)" --motion-window 0.45 \
        --audio speech
    clip g4-hidpi.mp4 "${gb[@]}" --size 2464x1440 --duration "$(t 60)" --pattern talk \
        --slide-seconds "$(t 20)" --pointer --audio silent
    clip g5-webcam.mp4 "${gb[@]}" --size 1920x1080 --duration "$(t 60)" --pattern camera \
        --slide-seconds "$(t 15)" --audio speech
    if ((long)); then
        clip g6-talk-20min.mp4 "${gb[@]}" --size 1920x1080 --duration "$(t 1200)" --pattern talk \
            --slide-seconds "$(t 60)" --pointer --motion "$(t 600):$(t 10)" --motion-window 0.45 \
            --audio speech
    fi
    sizes
    exit 0
fi
clip a-slides.mp4 --size 1920x1080 --duration "$(t 30)" --pattern slides \
    --slide-seconds "$(t 5)" --title "PowerPoint"
pat=$webcam
[[ $pat == noise ]] && pat=webcam
clip b-webcam.mp4 --size 1920x1080 --duration "$(t 30)" --pattern "$pat" \
    --slide-seconds "$(t 5)" --title "Microsoft Teams"
clip c-motion.mp4 --size 1920x1080 --duration "$(t 30)" --pattern slides \
    --slide-seconds "$(t 5)" --motion "$(t 12):$(t 6)" --title "Google Chrome"
clip d-vfr.mp4 --size 1920x1080 --duration "$(t 30)" --pattern slides \
    --slide-seconds "$(t 5)" --vfr --title "Desktop"
clip e-small.mp4 --size 1366x768 --duration "$(t 10)" --pattern typing --title "Notepad"

sizes
