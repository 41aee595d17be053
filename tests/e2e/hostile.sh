#!/usr/bin/env bash
# End-to-end: hostile and odd inputs, all tagged as Game Bar recordings, in
# ONE `reencode run`. Each file must either encode correctly (the output
# decodes without errors; picture, channels and durations as the input's;
# audio and video still in sync) or fail with one clear line naming it and
# the cause; the batch goes past failures and exits 1; a failed file leaves
# no output and no .part, and its original is byte-identical.
#   hostile.sh REENCODE MKCLIP
. "$(dirname "$0")/lib.sh" hostile "$@"

# ---- the inputs: NAME, mkclip arguments, and what must happen to it
# ("ok", or "fail:" and a regular expression the error must match).
: >expect.bin
add() {
    local name=$1 args=$2
    printf '%s\0%s\0' "$name" "$3" >>expect.bin
    # shellcheck disable=SC2086 # the arguments are words on purpose
    "$mk" $args -- "rec/$name" >/dev/null
}
mkdir rec
add "zero.mp4" "--empty" "fail:empty file"
add $'empty\nname.mp4' "--empty" "fail:empty file"
add "cut10.mp4" "--duration 3 --truncate 0.1" "fail:truncated before its index"
add "cut50.mp4" "--duration 3 --truncate 0.5" "fail:truncated before its index"
add "cut90.mp4" "--duration 3 --truncate 0.9" "fail:truncated before its index"
add "cut-faststart.mp4" "--duration 3 --faststart --truncate 0.5" "fail:declares 3\.0 s but only"
add "random.mp4" "--random 200000" "fail:not a media file"
add "audio-only.mp4" "--size 0x0" "fail:no video stream"
# Quarter turns are applied (e2e encode, check_meta); a tilt cannot be.
add "tilted45.mp4" "--rotate 45" "fail:45 degrees"
add "no-audio.mp4" "--audio-tracks 0" ok
add "two-tracks.mp4" "--audio-tracks 2" ok
add "surround51.mp4" "--channels 6" ok
add "mono-44k1.mp4" "--rate 44100 --channels 1" ok
add "audio-12k.mp4" "--rate 12000" ok
add "size-322x182.mp4" "--size 322x182" ok
add "odd-321x241-444.mp4" "--size 321x241 --444" ok
add "ten-bit.mp4" "--bit-depth 10" ok
add "chroma-444.mp4" "--444" ok
add "vfr.mp4" "--vfr" ok
add "smallest-16x16.mp4" "--size 16x16" ok
add "odd-17x17-444.mp4" "--size 17x17 --444" ok
# Ten minutes of nothing after the first second. Busy enough that the output
# (which carries the ten minutes of silence as Opus) is still smaller.
add "gap-10min.mp4" "--duration 2 --pattern motion --bitrate 4000000 --gap 1:600" ok
add "with space.mp4" "" ok
add "quo'te\"s.mp4" "" ok
add $'new\nline.mp4' "" ok
add $'bad\xff\xfeutf8.mp4' "" ok
add "-dash.mp4" "" ok
check "mkclip refuses 1x1 (16x16 is its smallest)" \
    bash -c '! "$1" --size 1x1 tiny.mp4 2>/dev/null' _ "$mk"

# One python for every per-file check: its start-up costs 0.2 s a time.
cat >judge.py <<'EOF'
import hashlib, json, os, re, subprocess, sys

mk, step = sys.argv[1], sys.argv[2]
raw = open("expect.bin", "rb").read().split(b"\0")[:-1]
files = [(os.fsdecode(raw[i]), raw[i + 1].decode()) for i in range(0, len(raw), 2)]
md5 = lambda p: hashlib.md5(open(p, "rb").read()).hexdigest()
if step == "before":
    json.dump({n.encode("utf-8", "surrogateescape").hex(): md5("rec/" + n) for n, _ in files},
              open("sums.json", "w"))
    sys.exit(0)

sums = json.load(open("sums.json"))
status = {}
for line in open("status.json", encoding="utf-8"):
    r = json.loads(line)
    if r["type"] == "file":
        key = r["path_hex"] if "path_hex" in r else r["path"].encode().hex()
        status[key] = r
err_lines = open("run.err", encoding="utf-8", errors="replace").read().splitlines()

def shown(s):  # how reencode's messages show a name: \n and non-UTF-8 bytes escaped
    return "".join("\\n" if c == "\n" else "\\x%02x" % (ord(c) - 0xDC00)
                   if 0xDC80 <= ord(c) <= 0xDCFF else c for c in s)

def inspect(path):
    out = subprocess.run([mk, "--inspect", path], capture_output=True, text=True,
                         errors="replace")
    info = {"streams": [], "duration": None}
    m = re.search(r"duration ([0-9.]+) s \(header\)", out.stdout)
    if m:
        info["duration"] = float(m.group(1))
    for line in out.stdout.splitlines():
        m = re.match(r"stream \d+: (video|audio) (\S+) (\S+) (\S+)(.*)", line)
        if not m:
            continue
        s = {"kind": m.group(1), "codec": m.group(2)}
        if s["kind"] == "video":
            s["size"], s["pix"] = m.group(3), m.group(4)
        else:
            s["ch"] = re.search(r"(\d+) ch", line).group(1)
        for k in ("frames", "first", "last", "end", "errors"):
            s[k] = re.search(r"\b%s (\S+)" % k, line).group(1)
        info["streams"].append(s)
    return info if out.returncode == 0 else None

FRAME, AUDIO = 1 / 30 + 0.001, 0.020  # one frame at the clips' 30 fps; 20 ms

def judge(inp, out, st):
    """What is wrong with out as a re-encoding of inp (empty: nothing); st is
    the file's status record."""
    if out is None:
        return ["output does not open"]
    iv = [s for s in inp["streams"] if s["kind"] == "video"]
    ia = [s for s in inp["streams"] if s["kind"] == "audio"]
    ov = [s for s in out["streams"] if s["kind"] == "video"]
    oa = [s for s in out["streams"] if s["kind"] == "audio"]
    bad = ["%s with %s decode errors" % (s["kind"], s["errors"])
           for s in out["streams"] if s["errors"] != "0"]
    if len(ov) != 1 or ov[0]["codec"] != "av1":
        bad.append("not one AV1 video stream")
    if len(oa) != len(ia) or any(s["codec"] != "opus" for s in oa):
        bad.append("%d Opus tracks for %d input tracks" % (len(oa), len(ia)))
    if bad:
        return bad
    f = lambda s, k: float(s[k])
    v, w = iv[0], ov[0]
    if (v["size"], v["pix"]) != (w["size"], w["pix"]):
        bad.append("picture %s %s became %s %s" % (v["size"], v["pix"], w["size"], w["pix"]))
    # Frames alike to the last one encoded are not encoded (duplicate
    # elision); every input frame is either in the output or counted so.
    elided = st.get("video_frames_elided", 0)
    if int(w["frames"]) != st.get("video_frames") or int(w["frames"]) + elided != int(v["frames"]):
        bad.append("%s video frames became %s (+%d elided; journal: %s)" %
                   (v["frames"], w["frames"], elided, st.get("video_frames")))
    # WebM (FFmpeg 5.1) stores no per-frame durations: the video's span is
    # judged by its frames' times, its end by the file's duration.
    span_in, span_out = f(v, "last") - f(v, "first"), f(w, "last") - f(w, "first")
    if abs(span_out - span_in) > FRAME:
        bad.append("video frames span %.3f s, input %.3f s" % (span_out, span_in))
    # The input's streams end where their last frame ends (MP4 keeps frame
    # durations): the output must last as long, the ~7 ms by which the WebM
    # muxer shifts video for Opus' pre-skip aside.
    end_in = max(f(s, "end") for s in inp["streams"])
    if abs(out["duration"] - end_in) > FRAME:
        bad.append("lasts %.3f s, input %.3f s" % (out["duration"], end_in))
    for a, b in zip(ia, oa):
        din, dout = f(a, "end") - f(a, "first"), f(b, "end") - f(b, "first")
        if abs(dout - din) > AUDIO:
            bad.append("audio lasts %.3f s, input %.3f s" % (dout, din))
        if a["ch"] != b["ch"]:
            bad.append("%s audio channels became %s" % (a["ch"], b["ch"]))
        # In sync: where the audio starts, and ends, against the video frames.
        for ka, kv in (("first", "first"), ("end", "last")):
            din, dout = f(a, ka) - f(v, kv), f(b, ka) - f(w, kv)
            if abs(dout - din) > AUDIO:
                bad.append("audio %s at %+.3f s from video %s, input %+.3f s" %
                           (ka, dout, kv, din))
    return bad

table = []
def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)

n_ok = n_fail = 0
for name, want in files:
    key = name.encode("utf-8", "surrogateescape").hex()
    label = shown(name)
    base = "rec/" + name[:-4]
    st = status.get(key, {"status": "missing", "error": ""})
    if want == "ok":
        n_ok += 1
        check(st["status"] == "done", "%s: journalled done (%s)" % (label, st["status"]))
        orig = "rec/" + name + ".reencoded"
        check(not os.path.exists("rec/" + name) and os.path.exists(orig)
              and md5(orig) == sums[key], "%s: original renamed, byte-identical" % label)
        bad = judge(inspect(orig), inspect(base + ".webm"), st) if os.path.exists(orig) else ["?"]
        check(not bad, "%s: output correct: %s" % (label, "; ".join(bad)))
        table.append((label, "encoded" if not bad else "BAD OUTPUT: " + "; ".join(bad)))
    else:
        n_fail += 1
        cause = want[len("fail:"):]
        err = st["error"]
        check(st["status"] == "failed", "%s: journalled failed (%s)" % (label, st["status"]))
        check(re.search(cause, err) and ("'rec/%s'" % name) in err,
              "%s: journal error names it and the cause: %s" % (label, err))
        n = sum(1 for l in err_lines if "'rec/%s'" % shown(name) in l and re.search(cause, l))
        check(n == 1, "%s: one stderr line names it and the cause (%d)" % (label, n))
        check(os.path.exists("rec/" + name) and md5("rec/" + name) == sums[key],
              "%s: original in place, byte-identical" % label)
        check(not os.path.exists(base + ".webm") and not os.path.exists(base + ".webm.part"),
              "%s: no output, no .part" % label)
        table.append((label, "failed: " + shown(err)))
counts = {}
for r in status.values():
    counts[r["status"]] = counts.get(r["status"], 0) + 1
check(counts.get("done") == n_ok and counts.get("failed") == n_fail and len(status) == len(files),
      "status: %d done, %d failed, nothing else (%s)" % (n_ok, n_fail, counts))
check(any(re.search(r"\b%d failed\b" % n_fail, l) for l in err_lines),
      "the summary counts %d failed" % n_fail)
with open("table.txt", "w") as t:
    for label, outcome in table:
        t.write("%-26s %s\n" % (label, outcome))
open("n_fail", "w").write(str(n_fail))
EOF
python3 judge.py "$mk" before

# ---- one run over the whole tree; its peak memory and time measured
python3 - "$re" <<'EOF' 2>run.err
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.call([sys.argv[1], "run", "--no-progress", "-j", "2", "--threads", "1", "rec"])
with open("run.rc", "w") as f:
    f.write("%d %d %.1f\n" % (rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                              time.monotonic() - t))
EOF
read -r rc maxrss_kb wall <run.rc
echo "run: exit $rc, peak RSS $((maxrss_kb / 1024)) MiB, $wall s"
check "run exits 1 (some failed)" test "$rc" -eq 1
"$re" status --json rec >status.json || true

python3 judge.py "$mk" after >judged.txt
pass=$((pass + $(grep -c '^PASS' judged.txt)))
fail=$((fail + $(grep -c '^FAIL' judged.txt || true)))
grep '^FAIL' judged.txt | sed 's/^FAIL /FAIL: /' >&2 || true
check "no .part anywhere" bash -c '! find rec -name "*.part" | grep -q .'

# Memory and time stay bounded, ten minutes of gap included (filled with
# silence in bounded chunks, never buffered whole). The sanitizer build
# (it sets LSAN_OPTIONS) roughly triples memory.
limit=300
[[ -z ${LSAN_OPTIONS:-} ]] || limit=1200
check "peak memory under $limit MiB" test $((maxrss_kb / 1024)) -lt $limit
# The file's record must be there and carry its time: a missing figure fails.
gap_s=$(python3 -c 'import json, sys
for r in map(json.loads, open(sys.argv[1])):
    if r.get("type") == "file" and r["path"] == "gap-10min.mp4":
        print(int(r["seconds"]))' status.json)
check "ten-minute gap: its record in status --json" test -n "$gap_s"
check "ten-minute gap encoded in bounded time (${gap_s:-no figure} s)" test "${gap_s:-90}" -lt 90

# The run again: failures are not retried, and said to have failed before.
exits "$re" run --no-progress rec 2>rerun.err
check "rerun: exit 0, nothing new" test $rc -eq 0
check "rerun: $(cat n_fail) failed before" grep -q "$(cat n_fail) failed before" rerun.err

cat table.txt
finish
