#!/usr/bin/env bash
# Benchmark: listing a tree of recordings. `reencode list --json` (A) against
# what a script would do, the mediainfo command line once per file (B).
#
#   bench/scan-vs-mediainfo.sh [--files N] [--runs N] [--build DIR]
#
# The tree holds N small Game-Bar-like clips in 20 folders, hard links of 4
# generated files (MediaInfo still opens and parses each one). Prints files/s
# of each (median of the runs, alternating A B) and the ratio A/B.
# Target (issue "scanner"): at least 10x. Needs the mediainfo command line
# (scripts/setup --bench).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
files=2000 runs=3 build=$root/build
while (($#)); do
    case $1 in
    --files) files=$2; shift ;;
    --runs) runs=$2; shift ;;
    --build) build=$2; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scan-vs-mediainfo: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
command -v mediainfo >/dev/null || { echo "scan-vs-mediainfo: needs mediainfo (scripts/setup --bench)" >&2; exit 2; }
re=$build/reencode mk=$build/tests/mkclip
[[ -x $re && -x $mk ]] || { echo "scan-vs-mediainfo: build first (scripts/build $build)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rx-scan.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$mk" --duration 2 "$work/s0.mp4"
"$mk" --duration 3 --pattern webcam "$work/s1.mp4"
"$mk" --duration 2 --vfr "$work/s2.mp4"
"$mk" --duration 2 --no-artist "$work/s3.mp4"
for ((i = 0; i < files; i++)); do
    d=$work/tree/folder$((i % 20))
    [[ -d $d ]] || mkdir -p "$d"
    ln "$work/s$((i % 4)).mp4" "$d/rec$i.mp4"
done

TIMEFORMAT=%R
secs() { { time "$@" >/dev/null 2>&1; } 2>&1; }
loop() { find "$work/tree" -name '*.mp4' -print0 | xargs -0 -n1 mediainfo --Output=JSON >/dev/null; }
: >"$work/a" ; : >"$work/b"
secs "$re" list --json "$work/tree" >/dev/null # warm the page cache
for ((r = 1; r <= runs; r++)); do
    secs "$re" list --json "$work/tree" >>"$work/a"
    secs loop >>"$work/b"
done
# The listing must be complete, or the speed means nothing.
n=$("$re" list --json "$work/tree" | grep -c '"type":"file"')
[[ $n -eq $files ]] || { echo "scan-vs-mediainfo: listed $n of $files files" >&2; exit 1; }

paste -d' ' "$work/a" "$work/b" | awk -v n="$files" '
function median(arr, k,   i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return k % 2 ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
}
{ k++; a[k] = $1; b[k] = $2 }
END {
    ma = median(a, k); mb = median(b, k)
    printf "%d files, %d runs each (median)\n", n, k
    printf "reencode list --json     %7.2f s  %8.0f files/s\n", ma, n / ma
    printf "mediainfo once per file  %7.2f s  %8.0f files/s\n", mb, n / mb
    printf "ratio (files/s A/B)      %7.1fx   target >= 10x: %s\n", mb / ma, (mb / ma >= 10) ? "met" : "NOT met"
}'
