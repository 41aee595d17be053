#!/usr/bin/env bash
# End-to-end: `reencode list` / `run --dry-run` on a generated tree.
#   list.sh REENCODE MKCLIP
. "$(dirname "$0")/lib.sh" list "$@"
# The tree: tagged clips (nested, odd names), untagged, not-video, empty,
# audio-only, our own leftovers, and a non-matching extension.
mkdir -p rec/2024/"week 1" rec/2025 rec/.reencode other
"$mk" --duration 1 rec/2024/"week 1"/"lecture über Ökonomie.mp4"
"$mk" --duration 1 rec/2025/"meeting 'quoted'.MP4"
"$mk" --duration 1 rec/"$(printf 'line\nbreak.mp4')"
"$mk" --duration 1 --no-artist rec/2025/untagged.mp4
"$mk" --duration 1 --artist OBS rec/2025/obs.mp4
"$mk" --duration 1 --size 0x0 rec/audio-only.mp4
: >rec/empty.mp4
head -c 40000 /dev/urandom >rec/2024/notvideo.mp4
"$mk" --duration 1 rec/half.mp4 && cp rec/half.mp4 rec/done.mp4.reencoded && cp rec/half.mp4 rec/x.mp4.part
cp rec/half.mp4 rec/.reencode/inside.mp4
"$mk" --duration 1 rec/2025/clip.mkv
rm rec/half.mp4

"$re" list --json rec >list.json
"$re" list rec >list.txt
"$re" run --dry-run rec >dry.txt

# Judge the JSON with a JSON parser.
python3 - list.json <<'PY' && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: json listing" >&2; }
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
files = [r for r in rows if r["type"] == "file"]
totals = [r for r in rows if r["type"] == "totals"]
assert len(totals) == 1 and rows[-1]["type"] == "totals", "one totals object, last"
cand = sorted(r["path"] for r in files if r["status"] == "candidate")
want = sorted(["rec/2024/week 1/lecture über Ökonomie.mp4", "rec/2025/meeting 'quoted'.MP4",
               "rec/line\nbreak.mp4"])
assert cand == want, f"candidates {cand!r} != {want!r}"
others = {r["path"]: (r["status"], r["reason"]) for r in files if r["status"] != "candidate"}
assert set(others) == {"rec/2025/untagged.mp4", "rec/2025/obs.mp4", "rec/audio-only.mp4",
                       "rec/empty.mp4", "rec/2024/notvideo.mp4"}, sorted(others)
for p, (st, why) in others.items():
    assert why, f"{p} has no reason"
assert others["rec/2025/untagged.mp4"][1] == "Performer absent"
assert "OBS" in others["rec/2025/obs.mp4"][1]
assert others["rec/audio-only.mp4"][1] == "no video stream"
assert others["rec/empty.mp4"][0] == "unreadable"
assert others["rec/2024/notvideo.mp4"][0] == "unreadable"
paths = [r["path"] for r in files]
assert paths == sorted(paths, key=lambda s: s.encode()), "sorted by path bytes"
t = totals[0]
assert (t["files"], t["candidates"], t["skipped"], t["unreadable"]) == (8, 3, 3, 2), t
assert t["candidate_bytes"] == sum(r["size"] for r in files if r["status"] == "candidate")
PY

check "dry-run equals list" cmp -s list.txt dry.txt
check "newline in a name is escaped" grep -q 'rec/line\\nbreak.mp4' list.txt
check "human listing: 8 rows + 5 reasons + header + 3 total lines" test "$(wc -l <list.txt)" -eq 17

# --ext widens, case-insensitively; --all drops the tag filter.
"$re" list --json --all --ext MKV rec | python3 -c '
import json,sys
c=[json.loads(l)["path"] for l in sys.stdin if json.loads(l).get("status")=="candidate"]
assert c==["rec/2025/clip.mkv"], c' && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: --ext MKV" >&2; }
n=$("$re" list --json --all rec | python3 -c '
import json,sys
print(sum(1 for l in sys.stdin if json.loads(l).get("status")=="candidate"))')
check "--all takes untagged and OBS too (5)" test "$n" -eq 5

# Usage errors point at the character; nothing scannable is exit 1.
exits "$re" list --match 'Vdeo;Format=AVC' rec >/dev/null 2>err.txt
check "bad --match exits 2" test $rc -eq 2
check "bad --match shows a caret" grep -q '^ *\^$' err.txt
exits "$re" list "$work/missing" >/dev/null 2>err.txt
check "nothing scannable exits 1" test $rc -eq 1
check "names the missing dir" grep -q "missing" err.txt

finish
