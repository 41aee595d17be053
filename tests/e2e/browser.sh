#!/usr/bin/env bash
# End-to-end in a real browser (CTest label "browser"): Game-Bar-like
# recordings re-encoded with reencode's defaults, then played in headless
# Chromium by tests/browser/seek.js, which seeks to a dozen places in each
# (the worst case among them: the frame just before a keyframe, decoded from
# the one before) and checks that every seek shows the frame due at the
# asked time within 1000 ms, that the duration is right and that playback
# runs on the audio clock.
#   browser.sh REENCODE MKCLIP
# Needs node, Debian's chromium and tests/browser/node_modules (scripts/setup
# installs all three); RX_CHROMIUM names another browser binary.
. "$(dirname "$0")/lib.sh" browser "$@"
seekjs=$(cd "$(dirname "$0")/../browser" && pwd)/seek.js

command -v node >/dev/null || { echo "browser: node is missing (scripts/setup)" >&2; exit 1; }
[[ -x ${RX_CHROMIUM:-/usr/bin/chromium} ]] ||
    { echo "browser: no chromium at ${RX_CHROMIUM:-/usr/bin/chromium} (scripts/setup)" >&2; exit 1; }
[[ -e $(dirname "$seekjs")/node_modules/playwright-core/package.json ]] ||
    { echo "browser: tests/browser/node_modules is missing (scripts/setup runs npm ci)" >&2; exit 1; }

t0=$SECONDS
phase() { # phase WHAT: say how long the step before took (the test's CI cost)
    echo "browser: $1 in $((SECONDS - t0)) s"
    t0=$SECONDS
}

# What Game Bar writes of a talk or a coding session, at 1080p: VFR H.264
# (a keyframe every 30 frames), AAC 48 kHz stereo of speech-like syllables
# and pauses; slides with someone typing on some, a video played in a window
# for a few seconds. The 60 s one has a mouse pointer gliding about as well;
# the 20 min one has no pointer and a new slide every minute, so that its
# generation and encode stay within about three minutes on 2 cores.
common=(--size 1920x1080 --pattern talk --motion-window 0.4 --audio speech --vfr --gop 30)
"$mk" "${common[@]}" --duration 60 --slide-seconds 20 --pointer --motion 30:8 talk-60s.mp4
"$mk" "${common[@]}" --duration 1200 --slide-seconds 60 --motion 600:10 talk-20min.mp4
phase "generated the recordings (60 s + 20 min of 1080p)"
"$re" encode -q talk-60s.mp4
"$re" encode -q talk-20min.mp4
phase "encoded them with the defaults"

# seek.js prints one JSON object a line; each seek's "ok" and the file's
# summary say what failed. Two rounds: every target is visited twice, in a
# new order the second time, so one slow seek of a busy machine shows.
seek() { # seek NAME EXPECTED_SECONDS: play NAME.webm, NDJSON into NAME.ndjson
    exits node "$seekjs" --mkclip "$mk" --expect-duration "$2" --seeks 12 --rounds 2 \
        --budget-ms 1000 --play 3 "$1.webm" >"$1.ndjson" 2>"$1.err"
    check "$1: seek.js passed every check (exit $rc)" test "$rc" -eq 0
    [[ $rc -eq 0 ]] || { grep -h '"ok":false' "$1.ndjson" "$1.err" >&2 || cat "$1.err" >&2; }
    check "$1: 24 seeks made" test "$(grep -c '"type":"seek"' "$1.ndjson")" -ge 24
    check "$1: every seek landed in time" test "$(grep '"type":"seek"' "$1.ndjson" |
        grep -c '"ok":true')" -eq "$(grep -c '"type":"seek"' "$1.ndjson")"
    check "$1: played" grep -q '"type":"play".*"ok":true' "$1.ndjson"
    grep '"type":"file"' "$1.ndjson" |
        sed 's/.*"frames":\([0-9]*\).*"keyframes":\([0-9]*\).*"worst_ms":\([0-9.]*\),"median_ms":\([0-9.]*\),"min_ms":\([0-9.]*\).*/browser: '"$1"': \1 frames, \2 keyframes; seeks min \5, median \4, worst \3 ms/'
}
seek talk-60s 60
seek talk-20min 1200
phase "played and seeked both"

# The checks bite: an impossible time budget and a wrong duration fail.
exits node "$seekjs" --mkclip "$mk" --seeks 2 --play 0 --budget-ms 1 talk-60s.webm >tight.ndjson
check "a 1 ms budget fails (exit $rc)" test "$rc" -eq 1
check "... naming the time" grep -q '"why":"took [0-9]* ms > 1"' tight.ndjson
exits node "$seekjs" --mkclip "$mk" --seeks 1 --play 0 --expect-duration 61 talk-60s.webm >dur.ndjson
check "a wrong duration fails (exit $rc)" test "$rc" -eq 1
check "... naming it" grep -q 'duration 60.0[0-9]* s, expected 61' dur.ndjson
phase "checked the checks"
finish
