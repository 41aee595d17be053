#!/usr/bin/env bash
# End-to-end: `reencode verify` — committed outputs re-checked against the
# journal: one cut short, one swapped for another valid WebM, one with bytes
# changed in the middle (where the identity hash does not look: decoding must
# find it), one with bytes changed in its header (decodes fine: the identity
# must find it), one deleted, and one left alone.
#   verify.sh REENCODE MKCLIP
. "$(dirname "$0")/lib.sh" verify "$@"

# line_for FILE NAME: the result line of verify's output FILE naming NAME
line_for() { grep -F "$2" "$1" | grep -v '^$' || true; }
verdict_of() { line_for "$1" "$2" | awk '{ print $1 }'; }
# json_field FILE OUTPUT KEY: KEY of the NDJSON object whose "output" ends in OUTPUT
json_field() {
    python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "file" and r["output"].endswith(sys.argv[2]):
        print(r[sys.argv[3]])' "$@"
}
identity_of() { # the journal's identity of a file: size + SHA-256 of first/last 64 KiB
    python3 -c '
import hashlib, sys
d = open(sys.argv[1], "rb").read()
print(len(d), hashlib.sha256(d if len(d) <= 131072 else d[:65536] + d[-65536:]).hexdigest()[:32])' "$1"
}

# ---- a batch of six: c is large enough (> 128 KiB) to have an unhashed middle
mkdir rec
"$mk" --duration 3 --pattern webcam rec/a.mp4 >/dev/null
"$mk" --duration 2 --pattern webcam rec/b.mp4 >/dev/null
"$mk" --duration 4 --pattern webcam --size 320x240 rec/c.mp4 >/dev/null
"$mk" --duration 3 --pattern typing rec/d.mp4 >/dev/null
"$mk" --duration 2 --pattern typing rec/e.mp4 >/dev/null
"$mk" --duration 2 --pattern slides rec/f.mp4 >/dev/null
exits "$re" run -q --no-progress -j 2 --threads 1 --max-size-ratio 100 rec
check "batch exits 0" test $rc -eq 0
check "the journal records each output's identity" \
    test "$(grep -c '"state":"done".*"out_hash":"[0-9a-f]\{32\}"' rec/.reencode/journal)" -eq 6
read -r size hash < <(identity_of rec/c.webm)
check "out_hash is the output's identity" grep -q "\"out_bytes\":$size,\"out_hash\":\"$hash\"" \
    rec/.reencode/journal
check "c.webm has a middle no identity hash covers" test "$size" -gt $((3 * 65536))

# ---- (d) intact: every output listed good, exit 0; the same as NDJSON
exits "$re" verify -j 2 rec >intact.out 2>intact.err
check "intact: exit 0" test $rc -eq 0
check "intact: six outputs listed good" test "$(grep -c '^good     rec/[a-f]\.webm$' intact.out)" -eq 6
check "intact: summary" grep -q '^6 outputs checked (every frame decoded): 6 good, 0 damaged' \
    intact.out
exits "$re" verify --json rec >intact.json
check "intact --json: exit 0" test $rc -eq 0
check "intact --json: six good, then totals" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
files = [r for r in rows if r["type"] == "file"]
assert len(files) == 6 and all(r["status"] == "good" and r["identity"] == "compared" for r in files)
assert rows[-1] == dict(rows[-1], type="totals", files=6, good=6, damaged=0, replaced=0, missing=0)
' intact.json
exits "$re" verify --quick rec >quick.out
check "intact --quick: exit 0" test $rc -eq 0
exits "$re" verify rec/a.webm rec/c.webm >files.out
check "FILEs without a journal: exit 0, both good" \
    test $rc -eq 0 -a "$(grep -c '^good' files.out)" -eq 2

# ---- damage five of them
cp -p rec/f.webm f.webm.orig
python3 - <<'EOF'
import os
# (a) cut to 60 % of its bytes
n = os.path.getsize("rec/a.webm")
os.truncate("rec/a.webm", n * 60 // 100)
# (c) 4 KiB of zeros in the middle, size kept, first and last 64 KiB untouched
n = os.path.getsize("rec/c.webm")
assert n > 3 * 65536
with open("rec/c.webm", "r+b") as f:
    f.seek(n // 2 - 2048)
    f.write(bytes(4096))
# (f) one letter of the title tag (header: hashed), size kept: still decodes
d = bytearray(open("rec/f.webm", "rb").read())
i = d.index(b"Visual Studio Code")
d[i] = ord("v")
open("rec/f.webm", "wb").write(d)
EOF
cp rec/d.webm rec/b.webm # (b) another valid WebM under b's name
rm rec/e.webm            # (e) gone
check "f.webm still decodes whole (only its header's text changed)" \
    "$re" verify -q rec/f.webm >/dev/null
exits "$re" verify rec >damaged.out 2>damaged.err
check "damage: exit 1" test $rc -eq 1
check "(a) cut short: damaged, says so" \
    grep -q "^damaged  'rec/a.webm' ends at .* but declares .* (cut short?)" damaged.out
check "(b) swapped: replaced" test "$(verdict_of damaged.out "'rec/b.webm'")" = replaced
check "(c) bytes changed in the middle: damaged, frames lost" \
    grep -q "^damaged  'rec/c.webm' does not decode: [0-9]* of 120 video frames back" damaged.out
check "(c) its identity still matched (decoding found it)" \
    test "$(identity_of rec/c.webm | cut -d' ' -f1)" -eq "$size"
check "(f) bytes changed in the header: damaged, changed in place" \
    grep -q "^damaged  'rec/f.webm' is not the file committed: same size, other bytes" damaged.out
check "(e) deleted: missing" grep -q "^missing  'rec/e.webm' is not there" damaged.out
check "d untouched: good" grep -q '^good     rec/d.webm$' damaged.out
check "damage: summary counts" \
    grep -q '^6 outputs checked (every frame decoded): 1 good, 3 damaged, 1 replaced, 1 missing' \
    damaged.out
exits "$re" verify --json rec >damaged.json
check "damage --json: exit 1" test $rc -eq 1
check "damage --json: the same verdicts" test "$(for o in a b c d e f; do
    json_field damaged.json "/$o.webm" status
done | tr '\n' ' ')" = "damaged replaced damaged good missing damaged "
exits "$re" verify --quick rec >dq.out
check "--quick: exit 1" test $rc -eq 1
check "--quick: cut, swapped, header and deleted still found" \
    test "$(verdict_of dq.out "'rec/a.webm'") $(verdict_of dq.out "'rec/b.webm'") $(verdict_of dq.out "'rec/f.webm'") $(verdict_of dq.out "'rec/e.webm'")" = "damaged replaced damaged missing"
exits "$re" verify rec/a.webm rec/d.webm >files2.out
check "FILEs: the cut one damaged, exit 1" \
    test $rc -eq 1 -a "$(verdict_of files2.out rec/a.webm)" = damaged -a \
    "$(verdict_of files2.out rec/d.webm)" = good

# ---- a journal written before out_hash: still read; outputs decoded and
# their sizes compared, and verify says it could not compare identities.
cp f.webm.orig rec/f.webm
python3 - <<'EOF'
import re, zlib
out = []
for l in open("rec/.reencode/journal", "rb"):
    body = re.sub(rb',"out_hash":"[0-9a-f]{32}"', b"", l.rstrip(b"\n").rsplit(b" ", 1)[0])
    out.append(body + b" %08x\n" % zlib.crc32(body))
open("old.journal", "wb").writelines(out)
EOF
check "old journal: no out_hash left" test "$(grep -c out_hash old.journal)" -eq 0
exits "$re" verify --journal old.journal rec >old.out 2>old.err
check "old journal: exit 1 (damage still found)" test $rc -eq 1
check "old journal: f (restored) good, identity not compared" \
    grep -q "^good     rec/f.webm (no record of the output's identity: only its size compared)" \
    old.out
check "old journal: the cut one damaged by its size and decoding" \
    test "$(verdict_of old.out "'rec/a.webm'")" = damaged
check "old journal: summary says identities were not compared" \
    grep -q 'had no identity in the journal' old.out

# ---- usage
exits "$re" verify 2>usage.err
check "no DIR, journal or FILE: usage error" test $rc -eq 2
exits "$re" verify --journal rec/.reencode/journal rec/a.webm rec/b.webm 2>usage2.err
check "a journal and FILEs: usage error" test $rc -eq 2
exits "$re" verify --quick --json --jobs 1 --journal nowhere/journal 2>nojournal.err
check "no journal: exit 1, one line" test $rc -eq 1 -a "$(wc -l <nojournal.err)" -eq 1
finish
