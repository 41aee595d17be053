#!/usr/bin/env bash
# Benchmark (issue 6): one batch of Game-Bar-like recordings re-encoded by
# (a) the reference: the ffmpeg command line with the reference settings,
#     ceil(cores / 3) processes at a time (xargs -P), ffmpeg's default
#     threads, files in directory order;
# (b) `reencode run` with its defaults, once per variant (extra arguments).
# Runs alternate on the same corpus: a b1 b2 ... a b1 b2 ...
#
#   bench/batch-vs-reference.sh [--runs N] [--scale F] [--webcam camera|noise]
#                               [--set classic|gamebar] [--original]
#                               [--keep DIR] [--build DIR]
#                               [--reencode-args ARGS] [--variant NAME:ARGS]...
#
# Corpus: bench/make-corpus.sh (5 recordings, 130 s; --scale F shrinks it;
# --set gamebar: the size benchmark's, 5 x 60 s). The reference forces a
# keyframe every 10 s, as reencode's --keyint 10; --original runs the
# original tool's command as it was (one keyframe per file, bench/reference.sh).
# --variant NAME:ARGS runs `reencode run` with ARGS added (split on white
# space); repeat it to compare several against the same reference runs.
# --reencode-args ARGS are added to every variant. Without --variant there
# are two: "reference-settings:--dedup off" (every frame encoded, as the
# reference does) and "elision:" (reencode's defaults).
# Prints per file and for the batch: wall and CPU time, peak RSS, output
# bytes, SSIM (mean, lowest frame) and PSNR against the source, each source
# frame matched with the output frame shown at its time, frames elided;
# ratios (b)/(a).
# Targets, each judged on the variant of that name:
#   reference-settings  batch wall ratio <= 0.75
#   elision             batch wall ratio <= 0.40, every file's SSIM at most
#                       0.002 below the reference's, output at most 5 % larger
#   any other name (e.g. svt:--video-encoder libsvtav1)  reported only
# Needs the ffmpeg command line and /usr/bin/time (scripts/setup --bench):
# benchmark-only dependencies.
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
runs=3 scale=1 build=$root/build keep='' common_args='' webcam=camera set=classic original=0
names=() args=()
usage() { echo "batch-vs-reference: $1 (see --help)" >&2; exit 2; }
need() { (($# >= 2)) || usage "missing value after '$1'"; } # need "$@": OPTION has a value
while (($#)); do
    case $1 in
    --runs) need "$@"; runs=$2; shift ;;
    --scale) need "$@"; scale=$2; shift ;;
    --webcam) need "$@"; webcam=$2; shift ;;
    --set) need "$@"; set=$2; shift ;;
    --original) original=1 ;;
    --build) need "$@"; build=$2; shift ;;
    --keep) need "$@"; keep=$2; shift ;;
    --reencode-args) need "$@"; common_args=$2; shift ;;
    --variant)
        need "$@"
        [[ $2 == *:* ]] || usage "bad --variant '$2' (want NAME:ARGS)"
        names+=("${2%%:*}") args+=("${2#*:}"); shift ;;
    -h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown option '$1'" ;;
    esac
    shift
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || usage "bad --runs '$runs'"
if ((${#names[@]} == 0)); then
    names=(reference-settings elision) args=("--dedup off" "")
fi
for ((v = 0; v < ${#names[@]}; v++)); do
    [[ ${names[v]} =~ ^[A-Za-z0-9._-]+$ && ${names[v]} != reference ]] ||
        usage "bad variant name '${names[v]}' (letters, digits, . _ -; not 'reference')"
    for ((u = 0; u < v; u++)); do
        [[ ${names[u]} != "${names[v]}" ]] || usage "variant '${names[v]}' given twice"
    done
done
for tool in ffmpeg ffprobe /usr/bin/time; do
    command -v "$tool" >/dev/null ||
        { echo "batch-vs-reference: needs $tool (scripts/setup --bench)" >&2; exit 2; }
done
re=$build/reencode mk=$build/tests/mkclip
[[ -x $re && -x $mk ]] || { echo "batch-vs-reference: build first (scripts/build $build)" >&2; exit 2; }

work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/rx-batch.XXXXXX")}
mkdir -p "$work"
[[ -n $keep ]] || trap 'rm -rf "$work"' EXIT
"$root/bench/make-corpus.sh" "$work/corpus" --set "$set" --scale "$scale" --webcam "$webcam" \
    --build "$build" >/dev/null
files=("$work/corpus"/*.mp4) # directory order: sorted by name
cores=$(nproc)
jobs=$(((cores + 2) / 3))
figures=$work/figures # the measurements, one per line (see report below)
: >"$figures"

fail() { # fail WHAT: the step failed; show its messages and stop
    echo "batch-vs-reference: $1 failed:" >&2
    cat "$work/stderr" >&2
    exit 1
}

# (a) The reference, as the original tool ran it. /usr/bin/time gives each
# process's wall, CPU (user + system) and maximum RSS; around xargs it gives
# the batch's, CPU summed over every process and RSS of the largest.
run_reference() { # run_reference RUN
    local out=$work/out/reference tdir=$work/times
    rm -rf "$out" "$tdir" && mkdir -p "$out" "$tdir"
    export out tdir original ref_sh=$root/bench/reference.sh
    printf '%s\n' "${files[@]}" |
        /usr/bin/time -o "$tdir/batch" -f '%e %U %S %M' xargs -d '\n' -n 1 -P "$jobs" bash -c '
            . "$ref_sh"
            n=$(basename "$1" .mp4) extra=()
            ((original)) || extra=(-force_key_frames "expr:gte(t,n_forced*10)")
            ref_command "$1" "$out/$n.webm" "$n" "${extra[@]}"
            exec /usr/bin/time -o "$tdir/$n.time" -f "%e %U %S %M" "${ref_cmd[@]}"' bash \
        >/dev/null 2>"$work/stderr" || fail "the reference (run $1)"
    awk -v run="$1" '{ print "batch reference", run, $1, $2 + $3, $4 }' "$tdir/batch" >>"$figures"
    for f in "${files[@]}"; do
        local n
        n=$(basename "$f" .mp4)
        awk -v run="$1" -v n="$n" '{ print "file reference", run, n, $1, $2 + $3, $4 }' \
            "$tdir/$n.time" >>"$figures"
    done
}

# (b) reencode with its defaults and the variant's arguments. --max-size-ratio
# 100 keeps every output, as the reference does; otherwise outputs that do not
# shrink enough are dropped and the sizes would not compare. One process: its
# per-file figures are what the journal records (docs/journal.md): the encode
# wall time (wall_ms) and the frames encoded and elided; CPU and RSS exist
# only for the whole batch.
reencode_cmd() { # reencode_cmd VARIANT OUT: the command line, into the array cmd
    local extra
    read -ra extra <<<"$common_args ${args[$1]}"
    cmd=("$re" run --originals keep --max-size-ratio 100 --output-dir "$2"
         --journal "$2/journal" --log /dev/null -q --no-progress "${extra[@]}" "$work/corpus")
}
run_variant() { # run_variant VARIANT RUN
    local name=${names[$1]} out=$work/out/${names[$1]} cmd
    rm -rf "$out" "$work/times" && mkdir -p "$out" "$work/times"
    reencode_cmd "$1" "$out"
    /usr/bin/time -o "$work/times/batch" -f '%e %U %S %M' "${cmd[@]}" \
        >/dev/null 2>"$work/stderr" || fail "reencode, variant $name (run $2)"
    awk -v v="$name" -v run="$2" '{ print "batch", v, run, $1, $2 + $3, $4 }' \
        "$work/times/batch" >>"$figures"
    # Journal lines: {"rel":"a-slides.mp4",...,"state":"done",...,"wall_ms":1234} crc
    awk -v v="$name" -v run="$2" '
        function field(k,   m) {
            if (!match($0, "\"" k "\":(\"[^\"]*\"|[0-9]+)")) return ""
            m = substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
            gsub(/"/, "", m); return m
        }
        field("state") == "done" && field("wall_ms") != "" {
            n = field("rel"); sub(/\.mp4$/, "", n); wall[n] = field("wall_ms") / 1000
            kept[n] = field("video_frames"); elided[n] = field("video_frames_elided") + 0
        }
        END {
            for (n in wall) {
                print "file", v, run, n, wall[n], "-", "-"
                print "frames", v, n, kept[n], elided[n]
            }
        }' "$out/journal" >>"$figures"
}

# Every variant's arguments must be accepted and pick every file.
for ((v = 0; v < ${#names[@]}; v++)); do
    rm -rf "$work/check" && mkdir -p "$work/check"
    reencode_cmd "$v" "$work/check"
    "${cmd[@]:0:2}" --dry-run "${cmd[@]:2}" >"$work/check/list" 2>"$work/stderr" ||
        fail "checking variant ${names[v]} ('reencode run --dry-run')"
    grep -q "^${#files[@]} files: ${#files[@]} candidates" "$work/check/list" || {
        echo "batch-vs-reference: variant ${names[v]} does not pick every file:" >&2
        cat "$work/check/list" >&2
        exit 1
    }
done

media=0
for f in "${files[@]}"; do
    d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")
    media=$(awk -v a="$media" -v b="$d" 'BEGIN { print a + b }')
done
printf 'corpus: %d files, %.1f s, %d bytes (%s/corpus); %d cores\n' "${#files[@]}" "$media" \
    "$(stat -c %s "${files[@]}" | awk '{ s += $1 } END { print s }')" "$work" "$cores"
printf 'reference: ffmpeg CLI, %d process(es) at a time, default threads, %s\n' "$jobs" \
    "$( ((original)) && echo "one keyframe per file" || echo "a keyframe every 10 s")"
for ((v = 0; v < ${#names[@]}; v++)); do
    reencode_cmd "$v" OUT
    printf 'variant %s: %s\n' "${names[v]}" "${cmd[*]:1}"
done
printf '%d run(s) of each side, alternating\n\n' "$runs"

for ((i = 1; i <= runs; i++)); do
    run_reference "$i"
    ref_wall=$(awk '{ print $1 }' "$work/times/batch")
    line=$(printf 'run %d: reference %s s' "$i" "$ref_wall")
    for ((v = 0; v < ${#names[@]}; v++)); do
        run_variant "$v" "$i"
        line+=$(awk -v n="${names[v]}" -v a="$ref_wall" '{ printf "  %s %s s (%.3f)", n, $1, $1 / a }' \
            "$work/times/batch")
    done
    echo "$line"
done

# Quality of the last run's outputs: mkclip --ssim prints
# "SSIM min SSIM psnr DB", each source frame against the output frame shown
# at its time (tests/support/inspect.h, in_quality).
for side in reference "${names[@]}"; do
    for f in "${files[@]}"; do
        n=$(basename "$f" .mp4)
        o=$work/out/$side/$n.webm
        q=$("$mk" --ssim "$f" "$o" 2>"$work/stderr") || fail "SSIM of $o"
        echo "out $side $n $(stat -c %s "$o") $q" >>"$figures"
    done
done

# The report. Figures lines:
#   batch SIDE RUN WALL CPU RSS_KB
#   file SIDE RUN NAME WALL CPU RSS_KB    (CPU, RSS "-" for reencode)
#   frames SIDE NAME ENCODED ELIDED       (reencode; the last run's count wins)
#   out SIDE NAME BYTES SSIM min MIN psnr PSNR
awk -v runs="$runs" -v cores="$cores" -v media="$media" -v sides="reference ${names[*]}" '
function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    if (n == 0 || a[1] == "-") return "-"
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function num(x, fmt) { return x == "-" ? "-" : sprintf(fmt, x) }
function mb(kb) { return kb == "-" ? "-" : kb / 1024 }
$1 == "batch" { bw[$2] = bw[$2] " " $4; bc[$2] = bc[$2] " " $5; br[$2] = br[$2] " " $6; runwall[$2, $3] = $4 }
$1 == "file" { fw[$2, $4] = fw[$2, $4] " " $5; fc[$2, $4] = fc[$2, $4] " " $6; fr[$2, $4] = fr[$2, $4] " " $7
               if (!($4 in seen)) { seen[$4] = 1; order[++nf] = $4 } }
$1 == "frames" { enc[$2, $3] = $4; eli[$2, $3] = $5 }
$1 == "out" { bytes[$2, $3] = $4; ssim[$2, $3] = $5; smin[$2, $3] = $7; psnr[$2, $3] = $9 }
END {
    ns = split(sides, side, " ")
    for (i = 1; i <= nf; i++) for (j = i + 1; j <= nf; j++) if (order[j] < order[i]) { t = order[i]; order[i] = order[j]; order[j] = t }

    printf "\nper file (times: median of %d run(s); quality: the last run'"'"'s outputs against the source)\n", runs
    printf "reencode'"'"'s file times are its jobs'"'"' own: jobs run side by side when it runs several at once\n"
    printf "%-10s %-20s %8s %8s %7s %11s %9s %9s %7s %8s %8s %9s %7s\n", "file", "side", "wall s", "CPU s", "RSS MB",
        "bytes", "SSIM", "min SSIM", "PSNR", "wall b/a", "size b/a", "SSIM b-a", "elided"
    for (i = 1; i <= nf; i++) {
        n = order[i]
        for (s = 1; s <= ns; s++) {
            k = side[s]
            w = median(fw[k, n]); c = median(fc[k, n]); r = mb(median(fr[k, n]))
            printf "%-10s %-20s %8s %8s %7s %11d %9.6f %9.6f %7.2f", s == 1 ? n : "", k, num(w, "%.2f"),
                num(c, "%.2f"), num(r, "%.1f"), bytes[k, n], ssim[k, n], smin[k, n], psnr[k, n]
            if (s > 1) {
                printf " %8.3f %8.3f %+9.4f", w / median(fw["reference", n]),
                    bytes[k, n] / bytes["reference", n], ssim[k, n] - ssim["reference", n]
                e = enc[k, n] + eli[k, n]
                printf " %6s", (e > 0 ? sprintf("%.0f%%", 100 * eli[k, n] / e) : "-")
            }
            printf "\n"
        }
    }

    printf "\nbatch (median of %d run(s); busy = CPU / (wall x %d cores); RSS of the largest process)\n", runs, cores
    printf "%-20s %8s %8s %6s %7s %10s %11s %9s %7s\n", "side", "wall s", "CPU s", "busy", "RSS MB", "x realtime",
        "bytes", "mean SSIM", "elided"
    for (s = 1; s <= ns; s++) {
        k = side[s]
        W[k] = median(bw[k]); C[k] = median(bc[k]); R[k] = mb(median(br[k]))
        B[k] = 0; S[k] = 0; worst[k] = 1; worstn[k] = ""; E = 0; F = 0
        for (i = 1; i <= nf; i++) {
            n = order[i]; B[k] += bytes[k, n]; S[k] += ssim[k, n] / nf
            E += eli[k, n]; F += enc[k, n] + eli[k, n]
            d = ssim[k, n] - ssim["reference", n]
            if (worstn[k] == "" || d < worst[k]) { worst[k] = d; worstn[k] = n }
        }
        printf "%-20s %8.2f %8.2f %5.0f%% %7.1f %10.2f %11d %9.6f %7s\n", k, W[k], C[k], 100 * C[k] / (W[k] * cores),
            R[k], media / W[k], B[k], S[k], (F > 0 ? sprintf("%.0f%%", 100 * E / F) : "-")
    }
    printf "\nratios (b)/(a)       %8s %8s %8s %8s %8s  %s\n", "wall", "per-run", "CPU", "RSS", "bytes", "SSIM b-a: mean, worst file"
    for (s = 2; s <= ns; s++) {
        k = side[s]; pr = ""
        for (r = 1; r <= runs; r++) pr = pr " " runwall[k, r] / runwall["reference", r]
        PR[k] = median(pr)
        printf "%-20s %8.3f %8.3f %8.3f %8.3f %8.3f  %+.4f, %+.4f (%s)\n", k, W[k] / W["reference"], PR[k],
            C[k] / C["reference"], R[k] / R["reference"], B[k] / B["reference"], S[k] - S["reference"],
            worst[k], worstn[k]
        has[k] = 1
    }

    # The wall ratio judged is the median of the per-run ratios: each pair
    # of runs ran side by side, so drift of a shared machine cancels.
    printf "\ntargets (wall ratio: median of the per-run ratios)\n"
    k = "reference-settings"
    if (k in has)
        printf "  %s: batch wall ratio %.3f <= 0.75: %s\n", k, PR[k], PR[k] <= 0.75 ? "met" : "NOT met"
    else
        printf "  reference-settings: batch wall ratio <= 0.75: not measured (no variant of that name)\n"
    k = "elision"
    if (k in has) {
        okq = worst[k] >= -0.002; oks = B[k] / B["reference"] <= 1.05
        printf "  %s: batch wall ratio %.3f <= 0.40, SSIM at most 0.002 below the reference on every file (worst %+.4f), bytes <= 1.05 x (%.3f): %s\n",
            k, PR[k], worst[k], B[k] / B["reference"], PR[k] <= 0.40 && okq && oks ? "met" : "NOT met"
    } else
        printf "  elision: batch wall ratio <= 0.40 with SSIM within 0.002 and size within 5 %%: not measured (no variant of that name)\n"
    for (s = 2; s <= ns; s++)
        if (side[s] != "reference-settings" && side[s] != "elision")
            printf "  %s: report only\n", side[s]
}' "$figures"
