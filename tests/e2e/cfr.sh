#!/usr/bin/env bash
# End-to-end: --cfr, --fps and --images from the command line.
#   cfr.sh REENCODE MKCLIP
. "$(dirname "$0")/lib.sh" cfr "$@"

"$re" encode --help >ehelp.txt
check "encode --help documents --fps" grep -q -- '--fps RATE' ehelp.txt
check "encode --help documents --images" grep -q -- '--images LIST|GLOB' ehelp.txt

# A VFR recording: --cfr says at what rate (its spacing: check_cfr.c).
"$mk" --vfr --duration 2 vfr.mp4 >/dev/null
"$re" encode --cfr vfr.mp4 -o vfr.webm 2>err.txt
check "--cfr: output written" test -s vfr.webm
check "--cfr: rate reported" grep -q 'constant .* fps' err.txt
"$re" encode -q --fps 10 vfr.mp4 -o ten.webm
"$mk" --inspect ten.webm >insp.txt
check "--fps 10: 20 frames in 2 s, all 100 ms" grep -q 'video av1 .* frames 20 .* durations 1 ' insp.txt

# Retiming sees the picture turned upright, like the rest of the stage.
"$mk" --duration 1 --size 160x96 --rotate 90 --pattern marks phone.mp4 >/dev/null
"$re" encode -q --fps 5 phone.mp4 -o phone.webm
check "--fps on a rotated clip: portrait, 5 frames" \
    bash -c "'$mk' --inspect phone.webm | grep -q 'video av1 96x160 .* frames 5 '"

exits "$re" encode --cfr --dedup on vfr.mp4 -o x.webm 2>err.txt
check "--cfr with --dedup on: exit 2" test $rc -eq 2
check "--cfr with --dedup on: says why" grep -q 'frame numbering' err.txt
exits "$re" encode --fps 0 vfr.mp4 -o x.webm 2>err.txt
check "--fps 0: exit 2" test $rc -eq 2

# Images: a glob in version order, a list, and the errors.
mkdir shots
for i in 1 2 10; do "$mk" --image --size 64x48 --seed $i "shots/s$i.png" >/dev/null; done
"$mk" --image --size 100x80 --seed 3 shots/s3.jpg >/dev/null
"$re" encode -q --images 'shots/s*' --fps 5 -o shots.webm
"$mk" --inspect shots.webm >insp.txt
check "--images: one frame an image" grep -q 'video av1 64x48 .* frames 4 ' insp.txt
check "--images: no audio" grep -q ', 1 streams' insp.txt
check "--images: the last ends at 4/5 s" grep -q 'end 0.800000' insp.txt
printf 's3.jpg\ns1.png\n' >shots/list
"$re" encode -q --images shots/list --fps 2 -o list.webm
"$mk" --inspect list.webm >insp.txt
check "--images LIST: its first image's size" grep -q 'video av1 100x80 .* frames 2 ' insp.txt
exits "$re" encode --images 'shots/*.png' -o y.webm 2>err.txt
check "--images without --fps: exit 2" test $rc -eq 2
exits "$re" encode --images 'nothing/*.png' --fps 5 -o y.webm 2>err.txt
check "--images no match: exit 1" test $rc -eq 1
check "--images no match: one line" one_line err.txt
echo garbage >shots/s4.png
exits "$re" encode --images 'shots/*.png' --fps 5 -o y.webm 2>err.txt
check "bad image: exit 1" test $rc -eq 1
check "bad image: named" grep -q "s4.png" err.txt
check "bad image: nothing left" test ! -e y.webm -a ! -e y.webm.part

finish
