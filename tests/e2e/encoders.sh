#!/usr/bin/env bash
# End-to-end: the other encoders, audio copy and the container, through
# `encode` and through a batch (output names, the check before publish).
#   encoders.sh REENCODE MKCLIP
. "$(dirname "$0")/lib.sh" encoders "$@"

codecs() { # codecs FILE: "video-codec audio-codec" as decoded
    "$mk" --inspect "$1" | awk '/^stream 0:/ { v = $4 } /^stream 1:/ { a = $4 }
                                /errors [1-9]/ { bad = 1 } END { if (!bad) print v, a }'
}

"$mk" --duration 2 "talk.mp4" >/dev/null

# encode: each encoder's codec, in WebM by default.
"$re" encode -q --threads 1 --video-encoder libvpx-vp9 --cpu-used 8 \
    --vp9-params deadline=realtime talk.mp4 -o vp9.webm
check "libvpx-vp9: VP9 + Opus" test "$(codecs vp9.webm)" = "vp9 opus"
"$re" encode -q --threads 1 --video-encoder librav1e --preset 10 talk.mp4 -o rav1e.webm
check "librav1e: AV1 + Opus" test "$(codecs rav1e.webm)" = "av1 opus"

# Audio copy: Matroska and .mkv by default, the input's AAC kept.
"$re" encode -q --threads 1 --audio-codec copy talk.mp4
check "copy: talk.mkv written" test -s talk.mkv
check "copy: AV1 + the input's AAC" test "$(codecs talk.mkv)" = "av1 aac"
check "copy: a Matroska file" grep -q -a matroska <(head -c 64 talk.mkv)

# A batch of .mkv recordings with Matroska outputs: each would be its own
# output. Failed with a clear line, the original untouched.
mkdir mkvdir
cp talk.mp4 mkvdir/rec.mkv
sum=$(md5sum <mkvdir/rec.mkv)
exits "$re" run -q --ext mkv --audio-codec copy mkvdir 2>err.txt
check "mkv over itself: exit 1" test $rc -eq 1
check "mkv over itself: says why" grep -q "rec.mkv.*its own output" err.txt
check "mkv over itself: original untouched" test "$(md5sum <mkvdir/rec.mkv)" = "$sum"

# Refused before anything is written: AAC in WebM, named either way.
for args in "--container webm" "-o out.webm"; do
    # shellcheck disable=SC2086 # two words on purpose
    exits "$re" encode --audio-codec copy $args talk.mp4 2>err.txt
    check "copy into WebM ($args): exit 1" test $rc -eq 1
    check "copy into WebM ($args): one line" one_line err.txt
    check "copy into WebM ($args): says what to do" \
        grep -q 'AAC audio cannot go in WebM: use --container mkv or --audio-codec opus' err.txt
    check "copy into WebM ($args): nothing written" \
        test ! -e talk.webm -a ! -e talk.webm.part -a ! -e out.webm -a ! -e out.webm.part
done
exits "$re" encode --container mkv -o x.webm talk.mp4 2>err.txt
check "--container mkv -o x.webm: usage error" test $rc -eq 2
exits "$re" encode --video-encoder libvpx-vp9 --preset 3 talk.mp4 2>err.txt
check "--preset with libvpx-vp9: usage error" test $rc -eq 2
check "--preset with libvpx-vp9: named" grep -q -- '--preset is a libsvtav1 or librav1e option' err.txt

# A batch with audio copy: NAME.mkv, committed (the check before publish
# takes the copied AAC), and recognised as ours when .mkv files are listed.
mkdir -p rec
"$mk" --duration 2 rec/a.mp4 >/dev/null
"$mk" --duration 2 --audio-tracks 2 rec/b.mp4 >/dev/null
exits "$re" run -q --threads 1 --audio-codec copy rec
check "copy batch: exit 0" test $rc -eq 0
check "copy batch: a.mkv" test "$(codecs rec/a.mkv)" = "av1 aac"
check "copy batch: b.mkv, 2 tracks" test "$("$mk" --inspect rec/b.mkv | grep -c 'audio aac')" -eq 2
check "copy batch: originals renamed" test -e rec/a.mp4.reencoded -a -e rec/b.mp4.reencoded
"$re" list --ext mkv --json rec >list.json
check "copy batch: outputs listed as ours" \
    test "$(grep -c '"reason":"written by reencode"' list.json)" -eq 2

# A batch with libvpx-vp9: the check before publish wants VP9 now.
mkdir -p vp
"$mk" --duration 2 vp/c.mp4 >/dev/null
exits "$re" run -q --threads 1 --video-encoder libvpx-vp9 --cpu-used 8 \
    --vp9-params deadline=realtime vp
check "vp9 batch: exit 0" test $rc -eq 0
check "vp9 batch: c.webm is VP9" test "$(codecs vp/c.webm)" = "vp9 opus"

finish
