"""Judge a tree re-encoded by shards: `python3 judge.py ROOT REL...`, REL
the candidates' paths under ROOT (shared by the end-to-end scripts).

Every candidate must be recorded "encoded" exactly once and "done" exactly
once across all journals of ROOT (whatever N each shard had), each journal
journal.K-of-N must name only files of shard K by the documented formula
(docs/cluster.md), every candidate's output ROOT/REL.webm must exist and be
non-empty, and there must be no other output. Each problem is one line on
stderr; exit 1 if there is any.
"""
import glob
import hashlib
import json
import os
import re
import sys
import zlib


def shard_of(rel, n):
    digest = hashlib.sha256(rel.encode("utf-8", "surrogateescape")).hexdigest()
    return int(digest[:16], 16) % n


def main(root, names):
    encoded, done, problems = {}, {}, []
    journals = sorted(glob.glob(os.path.join(root, ".reencode", "journal*")))
    if not journals:
        problems.append(f"{root}: no journal")
    for path in journals:
        m = re.fullmatch(r"journal\.(\d+)-of-(\d+)", os.path.basename(path))
        for line in open(path, "rb"):
            body, crc = line.rstrip(b"\n").rsplit(b" ", 1)
            if int(crc, 16) != zlib.crc32(body):
                problems.append(f"{path}: bad checksum")
                continue
            r = json.loads(body)
            if r["type"] != "file":
                continue
            rel = r["rel"]
            if m and shard_of(rel, int(m[2])) != int(m[1]):
                problems.append(f"{path} names {rel}, a file of shard {shard_of(rel, int(m[2]))}")
            if r["state"] == "encoded":
                encoded[rel] = encoded.get(rel, 0) + 1
            if r["state"] == "done":
                done[rel] = done.get(rel, 0) + 1
    for n in names:
        if encoded.get(n) != 1 or done.get(n) != 1:
            problems.append(f"{n}: encoded {encoded.get(n, 0)}x, done {done.get(n, 0)}x")
        out = os.path.join(root, n[:-4] + ".webm")
        if not os.path.exists(out) or not os.path.getsize(out):
            problems.append(f"{out} missing or empty")
    extra = set(encoded) - set(names)
    if extra:
        problems.append(f"encoded files that are not candidates: {sorted(extra)}")
    webms = glob.glob(os.path.join(glob.escape(root), "**", "*.webm"), recursive=True)
    if len(webms) != len(names):
        problems.append(f"{len(webms)} outputs for {len(names)} candidates")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
