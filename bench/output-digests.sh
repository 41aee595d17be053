#!/usr/bin/env bash
# Digests of reencode's outputs for a fixed set of generated inputs and
# option sets: run it with two builds and diff the lists to show that a
# change (a restructure, a refactor) leaves every output byte-identical.
#
#   bench/output-digests.sh REENCODE MKCLIP [WORKDIR] > digests.txt
#   RX_DIGEST_ARGS="--opus-dtx off" bench/output-digests.sh ...
#                         the same with these options added to every encode
#                         (a new default compared with the old behaviour)
#
# The clips cover what the pipeline distinguishes: patterns, VFR, several
# and no audio tracks, 5.1, rotation, 10-bit, 4:4:4, odd sizes, gaps; the
# option sets cover the encoders, audio copy, the container, --cfr/--fps,
# --dedup, --keyint, --crf, --target-ssim and the demo's batch. Outputs are
# deterministic for one build of the libraries (same threads, same input).
set -euo pipefail
re=$(realpath "${1:?usage: output-digests.sh REENCODE MKCLIP [WORKDIR]}")
mk=$(realpath "${2:?usage: output-digests.sh REENCODE MKCLIP [WORKDIR]}")
work=${3:-$(mktemp -d)}
read -r -a extra <<<"${RX_DIGEST_ARGS:-}"
mkdir -p "$work/in"
cd "$work"

clip() { # clip NAME MKCLIP-ARGS...: make in/NAME.mp4 once
    local name=$1
    shift
    [[ -e in/$name.mp4 ]] || "$mk" "$@" "in/$name.mp4" >/dev/null
}
clip slides --duration 3 --pattern slides --size 640x360
clip webcam --duration 2 --pattern webcam --size 480x270 --audio-tracks 2
clip motion --duration 2 --pattern motion --size 320x180
clip typing --duration 3 --pattern typing --size 640x360 --vfr
clip vfr --duration 2 --pattern slides --vfr --size 320x180
clip noaudio --duration 2 --pattern webcam --audio-tracks 0
clip surround --duration 2 --pattern slides --channels 6 --rate 44100
clip rotated --duration 1 --pattern webcam --rotate 90 --size 320x240
clip deep --duration 1 --pattern motion --bit-depth 10 --size 320x180
clip chroma444 --duration 1 --pattern slides --444 --size 320x180
clip odd --duration 1 --pattern camera --size 322x242
clip gap --duration 3 --pattern slides --gap 1:2

enc() { # enc CASE INPUT ARGS...: one encode, its digest
    local name=$1 input=$2 out
    shift 2
    out=out/$name.${EXT:-webm}
    mkdir -p out
    rm -f "$out"
    if "$re" encode -q --threads 1 "${extra[@]}" "$@" -o "$out" "in/$input.mp4" 2>"out/$name.err"; then
        printf '%s  %s\n' "$(md5sum <"$out" | cut -d' ' -f1)" "$name"
    else
        printf 'failed(%s)  %s\n' "$(tr '\n' ' ' <"out/$name.err" | cut -c1-80)" "$name"
    fi
}
for c in slides webcam motion typing vfr noaudio surround rotated deep chroma444 odd gap; do
    enc "$c" "$c"
done
enc slides-keyint2 slides --keyint 2
enc slides-nodedup slides --dedup off
enc slides-crf50 slides --crf 50
enc typing-cfr typing --cfr
enc vfr-fps10 vfr --fps 10
enc motion-svt motion --video-encoder libsvtav1
enc motion-vp9 motion --video-encoder libvpx-vp9
enc motion-full motion --verify full
enc webcam-target webcam --target-ssim 0.98
EXT=mkv enc webcam-copy webcam --audio-codec copy
EXT=mkv enc slides-mkv slides --container mkv

# The demo's batch, as scripts/demo runs it (run: journal, pool, rename).
rm -rf batch
mkdir -p batch/week1
"$mk" --size 1280x720 --duration 8 --pattern slides --crf 12 --title PowerPoint \
    "batch/week1/lecture slides.mp4" >/dev/null
"$mk" --size 1280x720 --duration 6 --pattern webcam --crf 12 --title "Microsoft Teams" \
    batch/week1/meeting.mp4 >/dev/null
"$mk" --size 1366x768 --duration 6 --pattern slides --vfr --crf 12 batch/desktop-vfr.mp4 >/dev/null
"$re" run -q --no-progress --threads 1 -j 2 "${extra[@]}" batch 2>/dev/null || true
find batch -name '*.webm' | sort | while read -r f; do
    printf '%s  run:%s\n' "$(md5sum <"$f" | cut -d' ' -f1)" "${f#batch/}"
done
