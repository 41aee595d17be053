#!/usr/bin/env bash
# End-to-end: files named by a manifest (--from-csv, --from-list, -0) and the
# --results file; resume of a manifest run.
#   manifest.sh REENCODE MKCLIP
. "$(dirname "$0")/lib.sh" manifest "$@"
fast=(--cpu-used 8 --threads 1 -j 2 --no-progress)
clip() { "$mk" --duration 1 --size 160x90 "$@"; }
# mtime (ns) and inode of each file: unchanged = not re-encoded
stamps() { for f in "$@"; do stat -c '%i %.9Y %n' "$f"; done; }

# ---- a dataset CSV: Excel-style (BOM, CRLF), quoted names with a comma,
# quotes, spaces and non-ASCII; an absolute path; an untagged clip; a row
# whose file is missing. A tagged clip beside them that no row names.
mkdir -p data/clips
clip "data/clips/a, b.mp4"
clip "data/clips/Übung 日本 lecture.mp4"
clip 'data/clips/say "hi".mp4'
clip "data/clips/  spaced  name.mp4"
clip --no-artist data/clips/untagged.mp4
clip data/clips/extra.mp4
abs=$work/data/clips/abs.mp4
clip "$abs"
{
    printf '\xef\xbb\xbfvideo_id,video_path,comment\r\n'
    printf 'v1,"data/clips/a, b.mp4","has, comma"\r\n'
    printf 'v2,data/clips/Übung 日本 lecture.mp4,utf-8\r\n'
    printf 'v3,"data/clips/say ""hi"".mp4","multi\r\nline comment"\r\n'
    printf 'v4,"data/clips/  spaced  name.mp4",\r\n'
    printf 'v5,"%s",absolute\r\n' "$abs"
    printf 'v6,data/clips/untagged.mp4,not a Game Bar clip\r\n'
    printf 'v7,data/clips/missing.mp4,gone\r\n'
} >data/videos.csv
ids=(v1 v2 v3 v4 v5 v6 v7)

exits "$re" list --from-csv data/videos.csv --column video_path --json >list.json
check "list: a missing named file exits 1" test "$rc" -eq 1
check "list: 5 candidates, the rows only" \
    test "$(grep -c '"status":"candidate"' list.json)" -eq 5
check "list: the missing row is listed unreadable" grep -q '"status":"unreadable","path":"data/clips/missing.mp4","reason":"No such file' list.json

exits "$re" run --from-csv data/videos.csv --column video_path --id-column video_id \
    --results r.json "${fast[@]}" 2>run1.err
check "run: exit 1 for the missing row" test "$rc" -eq 1
check "run: one error line names the missing file" \
    test "$(grep -c 'error: .*data/clips/missing.mp4' run1.err)" -eq 1
check "run: the journal is in the manifest's directory" test -s data/.reencode/journal
for f in "a, b" "Übung 日本 lecture" 'say "hi"' "  spaced  name" abs; do
    check "run: encoded '$f'" test -s "data/clips/$f.webm" -a -e "data/clips/$f.mp4.reencoded"
done
check "run: a file no row names is untouched" test -e data/clips/extra.mp4 -a ! -e data/clips/extra.webm
check "run: the untagged row is not encoded" test -e data/clips/untagged.mp4 -a ! -e data/clips/untagged.webm
check "run: no .part left" test -z "$(find data -name '*.part')"

# r.json: keyed by id, one record per row, matching the disk.
python3 - r.json "${ids[@]}" <<'PY' && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: results json" >&2; }
import json, os, sys
r = json.load(open(sys.argv[1], encoding="utf-8"))
assert list(r) == sys.argv[2:], f"keys {list(r)} in row order"
for k in ("v1", "v2", "v3", "v4", "v5"):
    v = r[k]
    assert v["status"] == "done" and v["state"] == "done", (k, v)
    assert os.path.getsize(v["output"]) == v["out_bytes"] > 0, (k, v)
    assert v["path"].endswith(".mp4") and os.path.exists(v["path"] + ".reencoded"), (k, v)
    assert v["in_bytes"] > v["out_bytes"] and v["video_frames"] > 0 and v["error"] == "", (k, v)
    assert v["original"] == "renamed", (k, v)
assert r["v1"]["path"] == "data/clips/a, b.mp4"
assert r["v3"]["output"] == 'data/clips/say "hi".webm'
assert r["v6"]["status"] == "not-selected" and "Performer" in r["v6"]["error"], r["v6"]
assert r["v7"]["status"] == "failed" and "missing.mp4" in r["v7"]["error"], r["v7"]
PY
check "results: no .part left" test ! -e r.json.part

# ---- resume: the same rows again (the missing one dropped) re-encode
# nothing, though the originals are now *.reencoded; exit 0.
stamps data/clips/*.webm >before.txt
grep -v missing data/videos.csv >data/again.csv
exits "$re" run --from-csv data/again.csv --column video_path --id-column video_id \
    --results r2.json "${fast[@]}" 2>run2.err
check "rerun: exit 0" test "$rc" -eq 0
stamps data/clips/*.webm >after.txt
check "rerun: no output rewritten" cmp -s before.txt after.txt
check "rerun: says all is done" grep -q 'nothing to do: 5 candidates already done' run2.err
python3 -c '
import json, sys
r = json.load(open("r2.json", encoding="utf-8"))
assert [r[k]["status"] for k in ("v1", "v2", "v3", "v4", "v5")] == ["done"] * 5, r
assert r["v6"]["status"] == "not-selected" and "v7" not in r
' && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: rerun results" >&2; }

# ---- a malformed CSV stops before any work, naming the line.
printf 'video_path\n"data/clips/extra.mp4\n' >bad.csv
exits "$re" run --from-csv bad.csv --column video_path "${fast[@]}" 2>bad.err
check "bad csv: usage exit 2" test "$rc" -eq 2
check "bad csv: names file and line" grep -q "'bad.csv' line 2: a quoted field opened here is never closed" bad.err
exits "$re" run --from-csv data/videos.csv --column path "${fast[@]}" 2>col.err
check "missing column: exit 2, columns named" \
    test "$rc" -eq 2 -a "$(grep -c "has no column 'path' (its header has 'video_id', 'video_path', 'comment')" col.err)" -eq 1
check "bad csv: nothing encoded" test ! -e data/clips/extra.webm

# ---- find -print0 | run -0 --from-list -: a name with a newline.
mkdir -p nul/sub
clip "$(printf 'nul/new\nline.mp4')"
clip nul/sub/plain.mp4
echo text >nul/notes.txt
(cd nul && find . -print0 | "$re" run -0 --from-list - --results ../r3.json "${fast[@]}") 2>run3.err &&
    rc=0 || rc=$?
check "-0: exit 0 (directories and other names are not taken, not failures)" test "$rc" -eq 0
check "-0: the name with a newline is encoded" test -s "$(printf 'nul/new\nline.webm')"
check "-0: the nested one too" test -s nul/sub/plain.webm
check "-0: the journal is in the current directory" test -s nul/.reencode/journal
check "-0: a name not taken is one warning" grep -q "warning: './notes.txt' not taken" run3.err
python3 -c '
import json
r = json.load(open("r3.json", encoding="utf-8"))
assert r["./new\nline.mp4"]["status"] == "done", r
assert r["./sub/plain.mp4"]["status"] == "done", r
assert r["./notes.txt"]["status"] == "not-taken", r
assert r["."]["status"] == "not-taken" and r["./sub"]["status"] == "not-taken", r
' && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: -0 results" >&2; }

# Without -0 the same name splits in two, and both halves are missing.
clip "$(printf 'nul/two\nparts.mp4')"
exits sh -c "cd nul && find . -name 'two*' | '$re' list --from-list - >../split.txt"
check "newline list: a split name fails (exit 1)" test "$rc" -eq 1
check "newline list: both halves reported missing" test "$(grep -c 'No such file' split.txt)" -eq 2
(cd nul && find . -name 'two*' -print0 | "$re" list -0 --from-list - >../whole.txt)
check "-0 list: the whole name is a candidate" grep -q 'candidate.*two\\nparts.mp4' whole.txt

finish
