/*
 * cli.c - command line to options (see cli.h).
 *
 * A hand-written parser rather than getopt_long: getopt keeps global state
 * (optind), which makes it awkward to test and to fuzz.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/parseutils.h>

#include "cli/cli.h"
#include "reencode/batch.h"
#include "encoders/encoder.h"

static const char *const help_main[] = {
    "usage: reencode COMMAND [OPTIONS] ...\n"
    "\n"
    "Re-encode screen recordings (Xbox Game Bar and the like: near-lossless H.264\n"
    "MP4) to AV1 video + Opus audio in WebM, tuned for screen content: 50-170x\n"
    "smaller with slide text still sharp.\n"
    "\n"
    "Commands:\n"
    "  run DIR...                 re-encode every recording found; resumable\n"
    "  list DIR...                what would be re-encoded, and why not the rest\n"
    "                             (run --dry-run is the same)\n"
    "                             both take files named by --from-csv/--from-list\n"
    "                             too, or instead of DIRs\n"
    "  status [DIR]               what the journal says: done, failed, pending\n"
    "  encode INPUT [-o OUTPUT]   re-encode one file\n"
    "  journal repair [DIR]       salvage a damaged journal\n"
    "  verify [DIR | FILE...]     re-check committed outputs: damaged, replaced, missing\n"
    "  watch DIR...               run, for recordings there and each one finished later\n"
    "\n"
    "Options:\n"
    "  -h, --help      this text; 'reencode COMMAND --help' for a command\n"
    "  -V, --version   print version and library versions\n"
    "\n"
    "Exit codes: 0 success, 1 the work failed (some files failed), 2 usage error,\n"
    "3 journal locked by another run, 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP.\n",
    NULL,
};

#define HELP_ENCODER_OPTIONS                                                              \
    "Video encoder:\n"                                                                    \
    "      --video-encoder E      libaom-av1 | libsvtav1 | librav1e (AV1) |\n"            \
    "                             libvpx-vp9 (VP9) [libaom-av1]\n"                        \
    "                             libaom-av1: the reference settings, the best on\n"      \
    "                             static slides; ~200 MB per 1080p encode.\n"             \
    "                             libsvtav1: 1.3-2x faster at about the same size\n"      \
    "                             and SSIM overall (better on motion, a little\n"         \
    "                             worse on static slides); ~430-540 MB per 1080p\n"       \
    "                             encode (mind -j); even sizes of 64x64 and up only\n"    \
    "                             librav1e: the same SSIM as libaom-av1 for ~1.5x\n"      \
    "                             the bytes and ~6x the CPU; ~1.5 GB per 1080p encode\n"  \
    "                             libvpx-vp9 (VP9): about libaom-av1's size and SSIM\n"   \
    "                             for 1.3x its CPU; ~350 MB per 1080p encode\n"           \
    "      --crf N                constant quality, lower is better: libaom-av1 0-63\n"   \
    "                             [32], libsvtav1 1-63 [40], librav1e 0-255 (its\n"       \
    "                             quantizer) [80], libvpx-vp9 0-63 [36]\n"                \
    "libaom-av1 (defaults are the reference settings):\n"                                 \
    "      --cpu-used N           speed 0-8, higher is faster [5]; libvpx-vp9 too [2]\n"  \
    "                             (above 5 only with --vp9-params deadline=realtime)\n"   \
    "      --usage MODE           realtime | good | allintra [realtime]\n"                \
    "      --lag-in-frames N      look-ahead; no effect with realtime [32]\n"             \
    "      --aom-params K=V:...   raw libaom options, applied last (so they win);\n"      \
    "                             default: row-mt=1:tune-content=screen:deltaq-mode=0:\n" \
    "                             enable-chroma-deltaq=1:enable-qm=1:quant-b-adapt=1:\n"  \
    "                             sharpness=3:arnr-strength=1:arnr-maxframes=4:\n"        \
    "                             disable-trellis-quant=0   ('' for none)\n"              \
    "libsvtav1 (defaults calibrated to match libaom-av1's, docs/benchmarks.md):\n"        \
    "      --preset N             speed 0-13, higher is faster [12]; librav1e 0-10 [8]\n" \
    "      --svtav1-params K=V:...  raw SVT-AV1 options, applied last (so they win),\n"   \
    "                             e.g. tune=0:enable-overlays=1 ['']\n"

/* Split from HELP_ENCODER_OPTIONS: ISO C caps a string literal at 4095 bytes. */
#define HELP_ENCODER_OPTIONS_2                                                            \
    "librav1e, libvpx-vp9 (defaults calibrated against libaom-av1's):\n"                  \
    "      --rav1e-params K=V:... rav1e's own options, e.g. tune=Psnr:low_latency=true\n" \
    "      --vp9-params K=V:...   FFmpeg's libvpx-vp9 options, e.g. deadline=realtime:\n" \
    "                             aq-mode=3 (applied last, so they win) ['']\n"           \
    "All encoders:\n"                                                                     \
    "      --keyint auto|SECONDS  auto: one when the frames encoded since the last\n"     \
    "                             would take a seek ~0.7 s to decode (at 1080p: 250\n"    \
    "                             of a still screen, ~100 of a playing video) or 5\n"     \
    "                             minutes passed, earlier at a scene change (a new\n"     \
    "                             slide) once half of that work or a minute is spent:\n"  \
    "                             seeks stay fast, static screens cost no keyframes\n"    \
    "                             [auto]. SECONDS: a keyframe this often, by time; 0\n"   \
    "                             leaves it to the encoder (libaom-av1: one per file;\n"  \
    "                             libsvtav1: about every 5 s). librav1e cannot force\n"   \
    "                             them: every keyint x frame rate frames instead\n"       \
    "                             (auto: 10 s)\n"                                         \
    "      --threads N            thread budget of the job, decoder and encoder\n"        \
    "                             each capped by it; 0 = all cores [0]\n"                 \
    "      --dedup MODE           auto | on | off [auto]: do not encode frames that\n"    \
    "                             look the same as the last one encoded (a slide\n"       \
    "                             that stays up); it is shown longer instead.\n"          \
    "                             auto: on for libaom-av1 with tune-content=screen\n"     \
    "      --dedup-threshold N    a frame is a duplicate when no sample differs by\n"     \
    "                             more than N levels (8-bit scale) and no 8x8 block\n"    \
    "                             by more than N/5 on average; 0 = identical [10]\n"      \
    "      --verify MODE          read each output back before it takes its name:\n"      \
    "                             quick = its streams, and every frame from the last\n"   \
    "                             keyframe on; full = every frame (used anyway at\n"      \
    "                             libaom crf <= 8); off [quick]\n"                        \
    "      --cfr                  constant frame rate at the source's nominal rate\n"     \
    "                             (r_frame_rate when plausible, else the average):\n"     \
    "                             frame k at exactly k/rate from the first video\n"       \
    "                             frame (WebM stores it to the ms); frames repeated\n"    \
    "                             or dropped by time; audio stays in sync; --dedup off\n" \
    "      --fps RATE             constant frame rate RATE, as --cfr: 10, 30000/1001,\n"  \
    "                             29.97 (0.01-240)\n"                                     \
    "\n"

#define HELP_AUDIO_OPTIONS                                                                \
    "Audio (one track per input audio track):\n"                                          \
    "      --audio-codec C        opus (48 kHz) | copy (the input's packets as they\n"    \
    "                             are: AAC needs Matroska) [opus]\n"                      \
    "      --audio-bitrate RATE   Opus, per track, e.g. 32k, 64000 [32k]\n"               \
    "      --opus-application A   voip | audio | lowdelay [voip]\n"                       \
    "      --opus-dtx MODE        always | silence | off [always]: stop sending Opus\n"   \
    "                             frames whenever libopus hears no voice (pauses in\n"    \
    "                             speech cost ~25 % less, a silent track under\n"         \
    "                             1 kb/s; FFmpeg's own decoder starts some words after\n" \
    "                             a pause up to 20 ms softly), only in digital silence\n" \
    "                             (pauses keep their noise), or never (FFmpeg's\n"        \
    "                             libopus wrapper, byte for byte)\n"                      \
    "Container:\n"                                                                        \
    "      --container C          auto | webm | mkv [auto]: auto is WebM, or Matroska\n"  \
    "                             (.mkv) with --audio-codec copy; an -o NAME.webm or\n"   \
    "                             .mkv names it. WebM holds VP9/AV1 and Opus/Vorbis\n"    \
    "                             only: other audio there is refused before writing\n"

#define HELP_QUALITY                                                                      \
    "Measured quality (SSIM of the output's luma against the input's, as shown):\n"       \
    "      --measure              measure SSIM and PSNR before the output takes its\n"    \
    "                             name (five 1 s spans; all of a video <= 10 s)\n"        \
    "      --min-ssim X           below X (e.g. 0.97) the output is not published:\n"     \
    "                             the file fails, the original is kept (measures)\n"      \
    "      --target-ssim X        choose the crf for X (e.g. 0.98) per file: probe\n"     \
    "                             encodes of up to 3 x 2 s at crfs from the encoder's\n"  \
    "                             range (libaom-av1 and libvpx-vp9 25-55, libsvtav1\n"    \
    "                             32-62, librav1e 50-110), the\n"                         \
    "                             highest whose worst probe reaches X; replaces --crf.\n" \
    "                             Slides get a high crf, video playback what it needs.\n" \
    "                             The output is measured; one below X is kept (use\n"     \
    "                             --min-ssim to refuse it). run journals the crf:\n"      \
    "                             a resumed file is not probed again\n"

#define HELP_MESSAGES                                                        \
    "Messages:\n"                                                            \
    "  -q, --quiet                errors only, no progress\n"                \
    "  -v, --verbose              more detail, libav's own messages too\n"   \
    "      --progress / --no-progress   force the progress line on or off\n" \
    "                             (default: on when stderr is a terminal)\n"

#define HELP_SELECT                                                                          \
    "Which files (walked recursively; symlinks not followed, names sorted):\n"               \
    "      --ext LIST             extensions, case-insensitive [mp4]; e.g. mp4,mkv,mov\n"    \
    "  -m, --match EXPR           a MediaInfo field condition; repeat: all must hold.\n"     \
    "                             Default: Performer=Microsoft Game DVR (Game Bar)\n"        \
    "      --all                  every file with a video stream (no default filter)\n"      \
    "      --follow-symlinks      follow symbolic links (loops are detected)\n"              \
    "      --one-file-system      stay on each DIR's file system\n"                          \
    "  Never picked: *.part (being written), *.reencoded (originals already done),\n"        \
    "  anything under .reencode/, and files written by reencode.\n"                          \
    "\n"                                                                                     \
    "Match expressions ([Kind;]Field OP value; Kind is General (default), Video,\n"          \
    "Audio, Text...; see docs/match-expressions.md):\n"                                      \
    "  Performer=Microsoft Game DVR     equal        Audio;SamplingRate!=48000  not equal\n" \
    "  OverallBitRate>2000000           > >= < <= compare numbers when both sides are\n"     \
    "  Duration>=60000  (ms)            numbers, bytes otherwise\n"                          \
    "  Title~=Chrome                    contains (ASCII case-insensitive)\n"                 \
    "  Title?    present                !Title     absent\n"                                 \
    "  A condition on Video or Audio holds when any stream of that kind satisfies it.\n"

#define HELP_MANIFEST                                                                   \
    "Files named by a manifest (besides the DIRs, or instead of them), taken by\n"      \
    "the same rules as walked files (--ext, never *.part/*.reencoded, --match);\n"      \
    "relative paths are from the current directory. A named file that is missing\n"     \
    "or unreadable fails, one line each (exit 1); one not taken is named in a\n"        \
    "warning.\n"                                                                        \
    "      --from-csv FILE        a CSV with a header row (RFC 4180: quoted fields\n"   \
    "                             with commas, quotes, newlines; UTF-8 BOM; CRLF);\n"   \
    "                             '-' = standard input\n"                               \
    "      --column NAME          its column of paths (needed with --from-csv)\n"       \
    "      --id-column NAME       its column of ids (the keys of --results; two rows\n" \
    "                             with one id are an error)\n"                          \
    "      --from-list FILE       one path per line (blank lines ignored, a trailing\n" \
    "                             CR dropped); '-' = standard input\n"                  \
    "  -0, --null                 the list is NUL-separated (find -print0): names\n"    \
    "                             may hold any byte but NUL, newlines too\n"            \
    "  Without DIR, the journal is MANIFEST_DIR/.reencode/journal (the current\n"       \
    "  directory's for standard input) and the log beside it; --journal moves it.\n"

static const char *const help_encode[] = {
    "usage: reencode encode [OPTIONS] INPUT [-o OUTPUT]\n"
    "       reencode encode --images LIST|GLOB --fps RATE [OPTIONS] -o OUTPUT\n"
    "\n"
    "Re-encode INPUT to AV1 + Opus WebM, in process. The output is written to\n"
    "OUTPUT.part and renamed to OUTPUT only once complete and synced to disk: an\n"
    "error, Ctrl-C or a crash never leaves a half-written file under OUTPUT. The\n"
    "input is only read. An existing OUTPUT is never replaced without --overwrite.\n"
    "\n"
    "Output:\n"
    "  -o, --output FILE          default: INPUT with its extension replaced by .webm\n"
    "                             (.mkv: see --container)\n"
    "      --overwrite            replace an existing OUTPUT\n"
    "      --images LIST|GLOB     PNG/JPEG images as one video, one frame each\n"
    "                             at --fps, no audio: image k at k/RATE.\n"
    "                             GLOB: a pattern ('shots/*.png', quoted), in version\n"
    "                             order (2 before 10); a name ending in .png/.jpg/.jpeg\n"
    "                             is one image; else LIST: a file of paths, one a line\n"
    "                             (relative to its directory). Every image is scaled\n"
    "                             to the first one's size; one that cannot be decoded\n"
    "                             fails the job, naming it\n"
    "\n",
    HELP_ENCODER_OPTIONS,
    HELP_ENCODER_OPTIONS_2,
    HELP_AUDIO_OPTIONS,
    HELP_QUALITY,
    "\n"
    "Metadata: title = the input's file name without extension; the recorder's\n"
    "artist tag 'Microsoft Game DVR' is dropped; the recorder's own title (the\n"
    "captured application) is kept as RECORDED_TITLE; creation time, chapters\n"
    "and audio languages are kept; OUTPUT gets INPUT's modification and access\n"
    "times. A rotated video (display matrix) is turned upright in the pixels.\n"
    "\n",
    HELP_MESSAGES,
    "\n"
    "Exit codes: 0 written, 1 failed (one line on stderr names the file and the\n"
    "step), 2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).\n"
    "\n"
    "Example:\n"
    "  reencode encode --crf 36 'lecture 1.mp4' -o lecture1.webm\n",
    NULL,
};

static const char *const help_list[] = {
    "usage: reencode list [OPTIONS] DIR...\n"
    "       reencode run --dry-run [OPTIONS] DIR...\n"
    "\n"
    "List what would be re-encoded, without touching anything: every file found\n"
    "with its status (candidate, skipped, unreadable) and the reason for each\n"
    "skip, then totals and an estimate of the space re-encoding would save.\n"
    "\n",
    HELP_SELECT,
    "\n",
    HELP_MANIFEST,
    "\n"
    "Output:\n"
    "      --json                 one JSON object per line (NDJSON): {\"type\":\"file\",\n"
    "                             \"status\",\"path\",\"reason\",\"size\",\"duration_ms\",...}\n"
    "                             per file, then {\"type\":\"totals\",...}. A name that is\n"
    "                             not UTF-8 also comes as exact bytes in \"path_hex\"\n"
    "      --shard K/N | auto[/N] only the files of one shard (see 'run --help')\n"
    "\n"
    "The estimate assumes the reference settings give video at 200 kb/s per\n"
    "1920x1080 of picture area (at least 50 kb/s) plus 32 kb/s per audio track:\n"
    "the cautious end of the 50-170x seen on 10 Mb/s Game Bar recordings. A file\n"
    "whose estimate is not below 90% of its size counts as no saving (such\n"
    "originals are kept).\n"
    "\n",
    HELP_MESSAGES,
    "\n"
    "Exit codes: 0 listed, 1 nothing could be scanned (no DIR readable),\n"
    "2 usage error (including a malformed --match, shown with a caret).\n"
    "\n"
    "Examples:\n"
    "  reencode list ~/Videos/Captures\n"
    "  reencode list --all --ext mp4,mkv --match 'Duration>=600000' /srv/lectures\n"
    "  reencode list --json /srv/lectures | jq -r 'select(.status==\"candidate\").path'\n",
    NULL,
};

static const char *const help_run[] = {
    "usage: reencode run [OPTIONS] DIR...\n"
    "       reencode run [OPTIONS] --from-csv FILE --column NAME [DIR...]\n"
    "       reencode run [OPTIONS] [-0] --from-list FILE [DIR...]\n"
    "\n"
    "Re-encode every recording found under the DIRs (see 'Which files'), several\n"
    "at once, resumably. Each file: encode to NAME.webm.part -> check it (input\n"
    "unchanged, durations match what the input declares, the output reads back\n"
    "(--verify), output smaller than --max-size-ratio of the input) -> sync and\n"
    "rename to NAME.webm (.mkv: see --container) -> journal it -> handle the\n"
    "original. Nothing half-written ever sits under a final name, and an\n"
    "original is only renamed or deleted after its output is committed. A\n"
    "failing file is journalled and the batch goes on.\n"
    "\n"
    "Resume: run the same command again. Files done (or skipped) are not touched\n"
    "again, even if moved within the tree: the journal knows files by size and a\n"
    "hash of their first and last 64 KiB. Files interrupted are redone.\n"
    "\n"
    "Batch:\n"
    "  -n, --dry-run              only list (as 'reencode list')\n"
    "  -j, --jobs N               encodes at once [one per core, fewer when memory\n"
    "                             or the queue is short; cores = this process's CPU\n"
    "                             set and cgroup quota, as Slurm/Kubernetes give]\n"
    "      --threads N            threads per encode [cores / jobs; the last file\n"
    "                             takes the cores the others left idle]\n"
    "      --journal PATH         [FIRST_DIR/.reencode/journal]\n"
    "      --wait                 if another run holds the journal, wait for it\n"
    "      --retry-failed         retry files that failed before (else skipped)\n"
    "      --no-supervisor        encode in this process, not in a worker process\n"
    "                             restarted after a crash (for a debugger); a\n"
    "                             crash then ends the run, and the next resumes\n"
    "      --originals MODE       rename (NAME.mp4 -> NAME.mp4.reencoded) | keep |\n"
    "                             delete [rename]\n"
    "      --max-size-ratio R     keep the original, drop the output, when the output\n"
    "                             is not below R x input; never retried [0.9]\n"
    "      --output-dir DIR       outputs under DIR, mirroring the tree [next to input]\n"
    "      --accept-truncated     commit outputs of recordings shorter than they\n"
    "                             declare (cut short); by default they fail\n"
    "      --overwrite            replace existing outputs\n"
    "      --shard K/N            only the files of shard K (0..N-1), by a hash of\n"
    "                             each path: N workers split a shared tree with no\n"
    "                             coordination. Journal: journal.K-of-N; all the\n"
    "                             tree's journals are read, so a change of N redoes\n"
    "                             nothing (docs/cluster.md)\n"
    "      --shard auto[/N]       K and N from a Slurm array (SLURM_ARRAY_TASK_*) or\n"
    "                             a Kubernetes Indexed Job (JOB_COMPLETION_INDEX;\n"
    "                             N from auto/N or REENCODE_SHARDS)\n"
    "\n",
    HELP_SELECT,
    "\n",
    HELP_MANIFEST,
    "      --results FILE         after the run, a JSON object keyed by the ids\n"
    "                             (--id-column, else the paths): per file the record\n"
    "                             of 'status --json' (state, output, sizes, error),\n"
    "                             or status not-selected, not-taken or pending;\n"
    "                             written to FILE.part, then renamed (not with\n"
    "                             --shard)\n"
    "\n",
    HELP_ENCODER_OPTIONS,
    HELP_ENCODER_OPTIONS_2,
    HELP_AUDIO_OPTIONS,
    HELP_QUALITY,
    "\n"
    "Progress and records:\n"
    "  On a terminal, a live line per running encode and one for the batch;\n"
    "  otherwise one line per event. Colours only on a terminal, never with\n"
    "  NO_COLOR set.\n"
    "      --json                 NDJSON events (start, progress, done, failed,\n"
    "                             skipped, interrupted, summary) on stdout\n"
    "      --log FILE             [beside the journal: reencode-YYYY-MM-DD.log]\n"
    "      --stats FILE           write the final summary as JSON\n"
    "\n",
    HELP_MESSAGES,
    "\n"
    "Crashes: encodes run in a worker process. If a codec library crashes it\n"
    "(SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL), the files it was encoding are\n"
    "recorded beside the journal and a new worker resumes: each of those files\n"
    "is then encoded alone, and one that crashes again alone fails (original\n"
    "kept; --retry-failed tries it again). The run goes on with the others.\n"
    "\n"
    "Interrupt: the first Ctrl-C starts no new file and lets running ones finish;\n"
    "a second Ctrl-C, SIGTERM or SIGHUP aborts them (their .part removed,\n"
    "journalled as interrupted). A kill -9 is safe too: the next run redoes what\n"
    "was in progress.\n"
    "\n"
    "Exit codes: 0 every candidate done, 1 some failed, 2 usage error, 3 journal\n"
    "locked by another run, 130 interrupted (SIGINT), 143 terminated (SIGTERM),\n"
    "128+N the worker died on signal N twice with no file being encoded (with\n"
    "--no-supervisor: at any crash).\n"
    "\n"
    "Examples:\n"
    "  reencode run ~/Videos/Captures\n"
    "  reencode run -j 2 --originals keep --output-dir /srv/webm /srv/recordings\n"
    "  reencode run --from-csv videos.csv --column video_path --id-column video_id \\\n"
    "      --results results.json\n"
    "  find /srv -name '*.mp4' -print0 | reencode run -0 --from-list -\n"
    "  reencode run --shard 2/8 /shared/recordings      (worker 2 of 8)\n",
    NULL,
};

static const char *const help_watch[] = {
    "usage: reencode watch [OPTIONS] DIR...\n"
    "\n"
    "Do what 'run' does (the same selection, journal, commit protocol, pool and\n"
    "originals policy: see 'run --help') for the recordings under the DIRs now,\n"
    "and for each one that appears or is finished later, until stopped. For a\n"
    "folder a recorder writes to (Game Bar's Captures), as a service: see\n"
    "docs/examples/reencode-watch.service.\n"
    "\n"
    "A file is taken only when the recorder has finished it. Before a file is\n"
    "even looked at (probed, journalled), watch checks, in this order:\n"
    "  1. its size and mtime have not changed for --settle seconds (a file there\n"
    "     before watch started, untouched for that long, counts as settled);\n"
    "  2. no process has it open for writing: every /proc/PID/fd link this user\n"
    "     may read, with the access mode in /proc/PID/fdinfo (other users'\n"
    "     processes are not visible to a normal user: for their files only 1\n"
    "     and 3 count, as on NFS/SMB, where a writer on another machine is never\n"
    "     seen, and watch says so once);\n"
    "  3. it parses as a whole: libavformat opens it and reads its streams (an\n"
    "     MP4 being recorded has no index, moov, until the recorder ends it).\n"
    "A file failing 2 or 3 is waiting: said once ('waiting: PATH (why)'), never\n"
    "encoded, never journalled, never failed, never touched; it is checked again\n"
    "when it changes (and, while a writer holds it, every --settle seconds).\n"
    "\n"
    "Changes are seen through inotify (recursive, new directories included) and\n"
    "by a look at the whole tree every --rescan seconds, for file systems that\n"
    "send no events (NFS, SMB, some FUSE). A look that finds nothing new prints\n"
    "nothing. Output is one line per event: plain lines (never the live\n"
    "terminal block), or NDJSON with --json.\n"
    "\n"
    "Watch:\n"
    "      --settle SECONDS       unchanged this long before the other checks [30]\n"
    "      --rescan SECONDS       a look at the tree this often without events;\n"
    "                             0 = only on events (60 without inotify) [300]\n"
    "      --rescan-only          no inotify: looks every --rescan seconds only\n"
    "                             (network file systems)\n"
    "\n"
    "Batch (as run's; see 'run --help' for each):\n"
    "  -j, --jobs N               encodes at once\n"
    "      --threads N            threads per encode\n"
    "      --journal PATH         [FIRST_DIR/.reencode/journal]\n"
    "      --wait                 at start, wait for a run holding the journal (later\n"
    "                             passes retry every 30 s anyway)\n"
    "      --retry-failed         retry files that failed before watch started\n"
    "      --no-supervisor        encode in this process, not in a worker process\n"
    "      --originals MODE       rename | keep | delete [rename]\n"
    "      --max-size-ratio R     [0.9]\n"
    "      --output-dir DIR       outputs under DIR, mirroring the tree\n"
    "      --accept-truncated     commit outputs of recordings cut short\n"
    "      --overwrite            replace existing outputs\n"
    "      --shard K/N | auto[/N] only the files of one shard\n"
    "      --json                 NDJSON events on stdout (notes, start, done,\n"
    "                             failed, ...)\n"
    "      --log FILE             [beside the journal: reencode-YYYY-MM-DD.log]\n"
    "\n",
    HELP_SELECT,
    "\n",
    HELP_ENCODER_OPTIONS,
    HELP_ENCODER_OPTIONS_2,
    HELP_AUDIO_OPTIONS,
    HELP_QUALITY,
    "\n",
    HELP_MESSAGES,
    "\n"
    "Stop: as run. SIGINT (Ctrl-C) starts no new file and lets running encodes\n"
    "finish; a second SIGINT, SIGTERM or SIGHUP aborts them (their .part\n"
    "removed, journalled as interrupted). Waiting between passes, watch ends at\n"
    "the first signal.\n"
    "\n"
    "Exit codes: 130 after SIGINT, 143 after SIGTERM, 129 after SIGHUP (the usual\n"
    "end of a watch), 1 watching failed (a journal that cannot be written, a\n"
    "damaged journal), 2 usage error, 3 journal locked by another run at start.\n"
    "\n"
    "Examples:\n"
    "  reencode watch ~/Videos/Captures\n"
    "  reencode watch --json --settle 60 --originals keep /srv/recordings\n"
    "  reencode watch --rescan-only --rescan 120 /mnt/nas/captures\n",
    NULL,
};

static const char *const help_status[] = {
    "usage: reencode status [OPTIONS] [DIR]\n"
    "       reencode journal repair [OPTIONS] [DIR]\n"
    "\n"
    "status: what the journals of DIR (DIR/.reencode/journal and each shard's\n"
    "journal.K-of-N; or --journal PATH and PATH.K-of-N) say of each file, merged\n"
    "(an outcome wins over a state in progress, else the latest), then counts per\n"
    "journal and totals: done, skipped, failed, pending (started or\n"
    "interrupted: a run will redo them), bytes before and after, time spent.\n"
    "States, in the vocabulary of re-encoding services: pending = SUBMITTED,\n"
    "done and skipped = DONE (skipped: original kept, output not smaller enough),\n"
    "failed = ERROR. Reads only; works while a run is going on.\n"
    "\n"
    "journal repair: a journal damaged in the middle (not by a crash, which only\n"
    "tears the last line) makes run refuse to guess. repair keeps every valid\n"
    "record, drops the rest, and keeps a copy as journal.bak-TIME.\n"
    "\n"
    "Options:\n"
    "      --journal PATH         the journal [DIR/.reencode/journal]\n"
    "      --json                 status as NDJSON: one object per file, one per\n"
    "                             journal (shards), then totals\n"
    "      --shard K/N | auto[/N] status: only the files of that shard; repair: that\n"
    "                             shard's journal\n"
    "\n"
    "Exit codes: 0 read (status: and nothing failed), 1 some files failed or the\n"
    "journal cannot be read, 2 usage error, 3 (repair) journal locked.\n",
    NULL,
};

static const char *const help_verify[] = {
    "usage: reencode verify [OPTIONS] [DIR]\n"
    "       reencode verify [OPTIONS] FILE.webm...\n"
    "\n"
    "Re-check outputs long after they were made. With DIR (its journal,\n"
    "DIR/.reencode/journal, or --journal PATH): every file the journal records as\n"
    "done has its output looked at again, and is reported as\n"
    "  good      the file committed (same size and hash of its first and last\n"
    "            64 KiB), and it decodes: every frame, as many as were encoded,\n"
    "            the durations journalled, timestamps in order\n"
    "  damaged   cut short, bytes changed, frames that no longer decode\n"
    "  replaced  another complete file is under its name\n"
    "  missing   nothing under its name\n"
    "Outputs are looked for where the run wrote them, else beside their input\n"
    "under DIR. Journals of older versions hold no output identity: their\n"
    "outputs are decoded and their size compared, and verify says so.\n"
    "With FILEs: each is checked on its own (its streams open, every frame\n"
    "decodes, timestamps in order, it ends where its header says).\n"
    "Reads only (the journal too): works while a run is going on.\n"
    "\n"
    "Options:\n"
    "      --journal PATH         the journal [DIR/.reencode/journal]\n"
    "      --full                 decode every frame (the default)\n"
    "      --quick                identity, streams, durations and the last seconds\n"
    "                             decoded: a few seconds per file\n"
    "  -j, --jobs N               files at once [one per core]\n"
    "      --json                 NDJSON: {\"type\":\"file\",\"status\",\"path\",\"output\",\n"
    "                             \"cause\",...} per output, then {\"type\":\"totals\",...}\n"
    "\n",
    HELP_MESSAGES,
    "\n"
    "Exit codes: 0 every output good, 1 some damaged, replaced or missing (or the\n"
    "journal cannot be read), 2 usage error.\n"
    "\n"
    "Example:\n"
    "  reencode verify ~/Videos/Captures\n",
    NULL,
};

const char *const *rx_cli_help(RxCommand cmd)
{
    switch (cmd) {
    case RX_CMD_ENCODE:
        return help_encode;
    case RX_CMD_LIST:
        return help_list;
    case RX_CMD_RUN:
        return help_run;
    case RX_CMD_STATUS:
    case RX_CMD_JOURNAL_REPAIR:
        return help_status;
    case RX_CMD_VERIFY:
        return help_verify;
    case RX_CMD_WATCH:
        return help_watch;
    default:
        return help_main;
    }
}

static RxCliStatus usage_error(char *err, size_t size, const char *fmt, ...) RX_PRINTF(3, 4);

static RxCliStatus usage_error(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    /* Messages quote arguments: a control character in one (a newline, an
     * escape sequence) must neither break the one line nor reach the
     * terminal. As in the filter's explanations, it becomes '?'; C1 controls
     * (U+0080..U+009F, UTF-8 c2 80..c2 9f) too. */
    for (unsigned char *p = (unsigned char *)err; size && *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
        else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            p[0] = p[1] = '?';
    }
    return RX_CLI_USAGE;
}

/* Whole-string integer in [lo, hi]: "12x", "", " 1" and overflow are errors. */
static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    if (!*s)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    if (!*s)
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int rx_cli_parse_bitrate(const char *s, int64_t *out)
{
    char *end;
    double v;

    if (!*s)
        return AVERROR(EINVAL);
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !isfinite(v))
        return AVERROR(EINVAL);
    if (*end == 'k' || *end == 'K') {
        v *= 1e3;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        v *= 1e6;
        end++;
    }
    /* libopus accepts 500 b/s to 512 kb/s per channel */
    if (*end || v < 500 || v > 10e6)
        return AVERROR(EINVAL);
    *out = (int64_t)llround(v);
    return 0;
}

/* Which commands an option belongs to. */
#define FOR_ENCODE 1u
#define FOR_LIST   2u
#define FOR_RUN    4u
#define FOR_STATUS 8u
#define FOR_VERIFY 16u
#define FOR_WATCH  32u
#define FOR_RUNS   (FOR_RUN | FOR_WATCH) /* watch takes run's options */
#define FOR_ALL    (FOR_ENCODE | FOR_LIST | FOR_RUN | FOR_STATUS | FOR_VERIFY | FOR_WATCH)

enum {
    OPT_HELP = 1,
    OPT_QUIET,
    OPT_VERBOSE,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_OUTPUT,
    OPT_OVERWRITE,
    OPT_CRF,
    OPT_CPU_USED,
    OPT_USAGE,
    OPT_LAG,
    OPT_AOM_PARAMS,
    OPT_VIDEO_ENCODER,
    OPT_PRESET,
    OPT_SVTAV1_PARAMS,
    OPT_KEYINT,
    OPT_THREADS,
    OPT_DEDUP,
    OPT_DEDUP_THRESHOLD,
    OPT_VERIFY,
    OPT_AUDIO_BITRATE,
    OPT_OPUS_APP,
    OPT_OPUS_DTX,
    OPT_EXT,
    OPT_MATCH,
    OPT_ALL,
    OPT_FOLLOW,
    OPT_ONE_FS,
    OPT_JSON,
    OPT_DRY_RUN,
    OPT_JOBS,
    OPT_JOURNAL,
    OPT_WAIT,
    OPT_RETRY_FAILED,
    OPT_NO_SUPERVISOR,
    OPT_ORIGINALS,
    OPT_MAX_SIZE_RATIO,
    OPT_OUTPUT_DIR,
    OPT_ACCEPT_TRUNCATED,
    OPT_LOG,
    OPT_STATS,
    OPT_RAV1E_PARAMS,
    OPT_VP9_PARAMS,
    OPT_AUDIO_CODEC,
    OPT_CONTAINER,
    OPT_QUICK,
    OPT_FULL,
    OPT_CFR,
    OPT_FPS,
    OPT_IMAGES,
    OPT_FROM_CSV,
    OPT_COLUMN,
    OPT_ID_COLUMN,
    OPT_FROM_LIST,
    OPT_NULL,
    OPT_RESULTS,
    OPT_SHARD,
    OPT_MEASURE,
    OPT_MIN_SSIM,
    OPT_TARGET_SSIM,
    OPT_SETTLE,
    OPT_RESCAN,
    OPT_RESCAN_ONLY,
};

static const struct {
    const char *name;
    char short_name;
    int id;
    int has_value;
    unsigned cmds;
} options[] = {
    {"help", 'h', OPT_HELP, 0, FOR_ALL},
    {"quiet", 'q', OPT_QUIET, 0, FOR_ALL},
    {"verbose", 'v', OPT_VERBOSE, 0, FOR_ALL},
    {"progress", 0, OPT_PROGRESS, 0, FOR_ALL},
    {"no-progress", 0, OPT_NO_PROGRESS, 0, FOR_ALL},
    {"output", 'o', OPT_OUTPUT, 1, FOR_ENCODE},
    {"overwrite", 0, OPT_OVERWRITE, 0, FOR_ENCODE | FOR_RUNS},
    {"crf", 0, OPT_CRF, 1, FOR_ENCODE | FOR_RUNS},
    {"cpu-used", 0, OPT_CPU_USED, 1, FOR_ENCODE | FOR_RUNS},
    {"usage", 0, OPT_USAGE, 1, FOR_ENCODE | FOR_RUNS},
    {"lag-in-frames", 0, OPT_LAG, 1, FOR_ENCODE | FOR_RUNS},
    {"aom-params", 0, OPT_AOM_PARAMS, 1, FOR_ENCODE | FOR_RUNS},
    {"video-encoder", 0, OPT_VIDEO_ENCODER, 1, FOR_ENCODE | FOR_RUNS},
    {"preset", 0, OPT_PRESET, 1, FOR_ENCODE | FOR_RUNS},
    {"svtav1-params", 0, OPT_SVTAV1_PARAMS, 1, FOR_ENCODE | FOR_RUNS},
    {"keyint", 0, OPT_KEYINT, 1, FOR_ENCODE | FOR_RUNS},
    {"threads", 0, OPT_THREADS, 1, FOR_ENCODE | FOR_RUNS},
    {"dedup", 0, OPT_DEDUP, 1, FOR_ENCODE | FOR_RUNS},
    {"dedup-threshold", 0, OPT_DEDUP_THRESHOLD, 1, FOR_ENCODE | FOR_RUNS},
    {"verify", 0, OPT_VERIFY, 1, FOR_ENCODE | FOR_RUNS},
    {"audio-bitrate", 0, OPT_AUDIO_BITRATE, 1, FOR_ENCODE | FOR_RUNS},
    {"opus-application", 0, OPT_OPUS_APP, 1, FOR_ENCODE | FOR_RUNS},
    {"opus-dtx", 0, OPT_OPUS_DTX, 1, FOR_ENCODE | FOR_RUNS},
    {"ext", 0, OPT_EXT, 1, FOR_LIST | FOR_RUNS},
    {"match", 'm', OPT_MATCH, 1, FOR_LIST | FOR_RUNS},
    {"all", 0, OPT_ALL, 0, FOR_LIST | FOR_RUNS},
    {"follow-symlinks", 0, OPT_FOLLOW, 0, FOR_LIST | FOR_RUNS},
    {"one-file-system", 0, OPT_ONE_FS, 0, FOR_LIST | FOR_RUNS},
    {"json", 0, OPT_JSON, 0, FOR_LIST | FOR_RUNS | FOR_STATUS | FOR_VERIFY},
    {"dry-run", 'n', OPT_DRY_RUN, 0, FOR_RUN},
    {"jobs", 'j', OPT_JOBS, 1, FOR_RUNS | FOR_VERIFY},
    {"journal", 0, OPT_JOURNAL, 1, FOR_RUNS | FOR_STATUS | FOR_VERIFY},
    {"wait", 0, OPT_WAIT, 0, FOR_RUNS},
    {"retry-failed", 0, OPT_RETRY_FAILED, 0, FOR_RUNS},
    {"no-supervisor", 0, OPT_NO_SUPERVISOR, 0, FOR_RUNS},
    {"originals", 0, OPT_ORIGINALS, 1, FOR_RUNS},
    {"max-size-ratio", 0, OPT_MAX_SIZE_RATIO, 1, FOR_RUNS},
    {"output-dir", 0, OPT_OUTPUT_DIR, 1, FOR_RUNS},
    {"accept-truncated", 0, OPT_ACCEPT_TRUNCATED, 0, FOR_RUNS},
    {"log", 0, OPT_LOG, 1, FOR_RUNS},
    {"stats", 0, OPT_STATS, 1, FOR_RUN},
    {"rav1e-params", 0, OPT_RAV1E_PARAMS, 1, FOR_ENCODE | FOR_RUNS},
    {"vp9-params", 0, OPT_VP9_PARAMS, 1, FOR_ENCODE | FOR_RUNS},
    {"audio-codec", 0, OPT_AUDIO_CODEC, 1, FOR_ENCODE | FOR_RUNS},
    {"container", 0, OPT_CONTAINER, 1, FOR_ENCODE | FOR_RUNS},
    {"quick", 0, OPT_QUICK, 0, FOR_VERIFY},
    {"full", 0, OPT_FULL, 0, FOR_VERIFY},
    {"cfr", 0, OPT_CFR, 0, FOR_ENCODE | FOR_RUNS},
    {"fps", 0, OPT_FPS, 1, FOR_ENCODE | FOR_RUNS},
    {"images", 0, OPT_IMAGES, 1, FOR_ENCODE},
    {"from-csv", 0, OPT_FROM_CSV, 1, FOR_LIST | FOR_RUN},
    {"column", 0, OPT_COLUMN, 1, FOR_LIST | FOR_RUN},
    {"id-column", 0, OPT_ID_COLUMN, 1, FOR_LIST | FOR_RUN},
    {"from-list", 0, OPT_FROM_LIST, 1, FOR_LIST | FOR_RUN},
    {"null", '0', OPT_NULL, 0, FOR_LIST | FOR_RUN},
    {"results", 0, OPT_RESULTS, 1, FOR_RUN},
    {"shard", 0, OPT_SHARD, 1, FOR_LIST | FOR_RUNS | FOR_STATUS},
    {"measure", 0, OPT_MEASURE, 0, FOR_ENCODE | FOR_RUNS},
    {"min-ssim", 0, OPT_MIN_SSIM, 1, FOR_ENCODE | FOR_RUNS},
    {"target-ssim", 0, OPT_TARGET_SSIM, 1, FOR_ENCODE | FOR_RUNS},
    {"settle", 0, OPT_SETTLE, 1, FOR_WATCH},
    {"rescan", 0, OPT_RESCAN, 1, FOR_WATCH},
    {"rescan-only", 0, OPT_RESCAN_ONLY, 0, FOR_WATCH},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* Position of v in a NULL-terminated list of keywords, or -1. */
static int index_of(const char *v, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(v, list[i]))
            return i;
    return -1;
}

static void first_of(const char **slot, const char *name)
{
    if (!*slot)
        *slot = name;
}

/* The encoders reencode drives (src/encoders/), by their index in its table. */
static const char *encoder_name(size_t i)
{
    return rx_encoder_at(i)->name;
}

static size_t n_encoders(void)
{
    size_t n = 0;

    while (rx_encoder_at(n))
        n++;
    return n;
}

/* The encoders that take option o (the options of some encoders only:
 * given with another, they would be silently ignored, so they are refused
 * by check_encoder_options), a bit each by index. */
static unsigned encoders_taking(RxEncOpt o)
{
    unsigned mask = 0;

    for (size_t i = 0; rx_encoder_at(i); i++)
        if (rx_encoder_at(i)->options & RX_EO_BIT(o))
            mask |= 1u << i;
    return mask;
}

/* The encoder whose raw params string option o is. */
static const RxEncoder *params_owner(RxEncOpt o)
{
    for (size_t i = 0; rx_encoder_at(i); i++)
        if (rx_encoder_at(i)->params_option == (int)o)
            return rx_encoder_at(i);
    return NULL;
}

/* The encoder with the widest crf range (librav1e's quantizer). */
static const RxEncoder *widest_crf(void)
{
    const RxEncoder *w = rx_encoder_at(0);

    for (size_t i = 1; rx_encoder_at(i); i++)
        if (rx_encoder_at(i)->crf_max > w->crf_max)
            w = rx_encoder_at(i);
    return w;
}

static void name_list(char *out, size_t size, unsigned mask, const char *prefix, const char *last,
                      const char *(*name)(size_t i), size_t n);

/* By index, not by name: GCC 12 at -O3 misjudges inlined strcmp()s of
 * these literals (-Wstring-compare, a false positive). */
static void encoder_option(RxCli *cli, RxEncOpt o)
{
    cli->encoder_opts |= 1u << o;
}

static RxCliStatus apply(RxCli *cli, int id, const char *v, char *err, size_t errsize)
{
    static const char *const usages[] = {"realtime", "good", "allintra", NULL};
    static const char *const dedups[] = {"auto", "off", "on", NULL};
    static const char *const verifies[] = {"off", "quick", "full", NULL};
    static const char *const apps[] = {"voip", "audio", "lowdelay", NULL};
    static const char *const dtx_modes[] = {"off", "silence", "always", NULL}; /* RxOpusDtx */
    static const char *const audio_codecs[] = {"opus", "copy", NULL};
    static const char *const containers[] = {"auto", "webm", "mkv", NULL};
    RxSettings *s = &cli->settings;
    long n;
    double d;
    int kw;

    _Static_assert(RX_VERIFY_OFF == 0 && RX_VERIFY_QUICK == 1 && RX_VERIFY_FULL == 2,
                   "verifies[] follows RxVerify");
    _Static_assert(RX_CONTAINER_AUTO == 0 && RX_CONTAINER_WEBM == 1 && RX_CONTAINER_MKV == 2,
                   "containers[] follows RxContainer");
    switch (id) {
    case OPT_HELP:
        cli->help_for = cli->cmd;
        cli->cmd = RX_CMD_HELP;
        break;
    case OPT_QUIET:
        cli->log_level = RX_LOG_ERROR;
        cli->progress = 0;
        break;
    case OPT_VERBOSE:
        cli->log_level = RX_LOG_DEBUG;
        break;
    case OPT_PROGRESS:
        cli->progress = 1;
        break;
    case OPT_NO_PROGRESS:
        cli->progress = 0;
        break;
    case OPT_OUTPUT:
        if (!*v)
            return usage_error(err, errsize, "--output needs a file name");
        cli->output = v;
        break;
    case OPT_OVERWRITE:
        s->overwrite = 1;
        break;
    case OPT_CRF: /* each encoder's range is checked at the end */
        if (parse_int(v, 0, widest_crf()->crf_max, &n))
            return usage_error(
                err, errsize, "--crf takes a whole number from 0 to %d (%s: %d), not '%s'",
                rx_encoder_at(0)->crf_max, widest_crf()->name, widest_crf()->crf_max, v);
        s->crf = (int)n;
        cli->crf_given = 1;
        break;
    case OPT_CPU_USED:
        /* libavcodec 5.1's libaom wrapper takes 0-8 (libaom itself more). */
        if (parse_int(v, 0, 8, &n))
            return usage_error(err, errsize,
                               "--cpu-used takes a whole number from 0 to 8, not '%s'", v);
        s->cpu_used = (int)n;
        cli->cpu_used_given = 1;
        encoder_option(cli, RX_EO_CPU_USED);
        break;
    case OPT_USAGE:
        if (index_of(v, usages) < 0)
            return usage_error(err, errsize, "--usage takes realtime, good or allintra, not '%s'",
                               v);
        rx_settings_set_str(s->usage, sizeof(s->usage), v);
        encoder_option(cli, RX_EO_USAGE);
        break;
    case OPT_LAG:
        if (parse_int(v, 0, 70, &n))
            return usage_error(err, errsize,
                               "--lag-in-frames takes a whole number from 0 to 70, not '%s'", v);
        s->lag_in_frames = (int)n;
        encoder_option(cli, RX_EO_LAG);
        break;
    case OPT_AOM_PARAMS:
        if (rx_settings_set_str(s->aom_params, sizeof(s->aom_params), v) < 0)
            return usage_error(err, errsize, "--aom-params is too long (at most %zu bytes)",
                               sizeof(s->aom_params) - 1);
        encoder_option(cli, RX_EO_AOM_PARAMS);
        break;
    case OPT_VIDEO_ENCODER: {
        int crf = s->crf, preset = s->preset, cpu_used = s->cpu_used;
        int ret = rx_settings_set_encoder(s, v);

        if (ret == AVERROR_ENCODER_NOT_FOUND)
            return usage_error(err, errsize,
                               "--video-encoder %s: this libavcodec was built without it", v);
        if (ret < 0) {
            char names[128];

            name_list(names, sizeof(names), (1u << n_encoders()) - 1, "", " or ", encoder_name,
                      n_encoders());
            return usage_error(err, errsize, "--video-encoder takes %s, not '%s'", names, v);
        }
        /* The encoder's defaults never override an explicit --crf/--preset/--cpu-used. */
        if (cli->crf_given)
            s->crf = crf;
        if (cli->preset_given)
            s->preset = preset;
        if (cli->cpu_used_given)
            s->cpu_used = cpu_used;
        break;
    }
    case OPT_PRESET:
        if (parse_int(v, 0, 13, &n))
            return usage_error(err, errsize, "--preset takes a whole number from 0 to 13, not '%s'",
                               v);
        s->preset = (int)n;
        cli->preset_given = 1;
        encoder_option(cli, RX_EO_PRESET);
        break;
    case OPT_SVTAV1_PARAMS:
        if (rx_settings_set_str(s->svt_params, sizeof(s->svt_params), v) < 0)
            return usage_error(err, errsize, "--svtav1-params is too long (at most %zu bytes)",
                               sizeof(s->svt_params) - 1);
        encoder_option(cli, RX_EO_SVTAV1_PARAMS);
        break;
    case OPT_DEDUP: /* auto = -1, off = 0, on = 1 (RxSettings.dedup) */
        if ((kw = index_of(v, dedups)) < 0)
            return usage_error(err, errsize, "--dedup takes auto, on or off, not '%s'", v);
        s->dedup = kw - 1;
        break;
    case OPT_VERIFY: /* in RxVerify's order */
        if ((kw = index_of(v, verifies)) < 0)
            return usage_error(err, errsize, "--verify takes quick, full or off, not '%s'", v);
        s->verify = kw;
        break;
    case OPT_DEDUP_THRESHOLD:
        if (parse_int(v, 0, 64, &n))
            return usage_error(err, errsize,
                               "--dedup-threshold takes a whole number from 0 to 64, not '%s'", v);
        s->dedup_max_diff = (int)n;
        break;
    case OPT_KEYINT:
        if (!strcmp(v, "auto"))
            d = RX_KEYINT_AUTO;
        else if (parse_double(v, 0, 3600, &d))
            return usage_error(err, errsize,
                               "--keyint takes auto or seconds from 0 to 3600, not '%s'", v);
        s->keyint_seconds = d;
        break;
    case OPT_THREADS:
        if (parse_int(v, 0, 64, &n))
            return usage_error(err, errsize,
                               "--threads takes a whole number from 0 to 64, not '%s'", v);
        s->threads = (int)n;
        break;
    case OPT_AUDIO_BITRATE:
        if (rx_cli_parse_bitrate(v, &s->audio_bitrate) < 0)
            return usage_error(err, errsize,
                               "--audio-bitrate takes a rate such as 32k or 64000, not '%s'", v);
        first_of(&cli->opus_only, "audio-bitrate");
        break;
    case OPT_OPUS_APP:
        if (index_of(v, apps) < 0)
            return usage_error(err, errsize,
                               "--opus-application takes voip, audio or lowdelay, not '%s'", v);
        rx_settings_set_str(s->opus_application, sizeof(s->opus_application), v);
        first_of(&cli->opus_only, "opus-application");
        break;
    case OPT_OPUS_DTX:
        if ((kw = index_of(v, dtx_modes)) < 0)
            return usage_error(err, errsize, "--opus-dtx takes silence, always or off, not '%s'",
                               v);
        s->opus_dtx = kw;
        first_of(&cli->opus_only, "opus-dtx");
        break;
    case OPT_AUDIO_CODEC:
        if ((kw = index_of(v, audio_codecs)) < 0)
            return usage_error(err, errsize, "--audio-codec takes opus or copy, not '%s'", v);
        s->audio_copy = kw;
        break;
    case OPT_CONTAINER: /* in RxContainer's order */
        if ((kw = index_of(v, containers)) < 0)
            return usage_error(err, errsize, "--container takes auto, webm or mkv, not '%s'", v);
        s->container = kw;
        break;
    case OPT_RAV1E_PARAMS:
    case OPT_VP9_PARAMS: {
        int rav1e = id == OPT_RAV1E_PARAMS;
        RxEncOpt o = rav1e ? RX_EO_RAV1E_PARAMS : RX_EO_VP9_PARAMS;
        const RxEncoder *owner = params_owner(o);
        char *dst = rav1e ? s->rav1e_params : s->vp9_params;
        char bad[128];

        if (rx_settings_set_str(dst, rav1e ? sizeof(s->rav1e_params) : sizeof(s->vp9_params), v) <
            0)
            return usage_error(err, errsize, "--%s is too long (at most %zu bytes)",
                               rx_encoder_option_name(o),
                               (rav1e ? sizeof(s->rav1e_params) : sizeof(s->vp9_params)) - 1);
        if (owner && owner->params_check && owner->params_check(v, bad, sizeof(bad)) < 0)
            return usage_error(err, errsize, "--%s: %s does not take '%s'",
                               rx_encoder_option_name(o), owner->params_owner, bad);
        encoder_option(cli, o);
        break;
    }
    case OPT_EXT:
        if (!*v || strchr(v, '/'))
            return usage_error(err, errsize, "--ext takes extensions such as mp4,mkv,mov, not '%s'",
                               v);
        cli->extensions = v;
        break;
    case OPT_MATCH:
        cli->matches[cli->n_matches++] = v;
        break;
    case OPT_ALL:
        cli->all = 1;
        break;
    case OPT_FOLLOW:
        cli->follow_symlinks = 1;
        break;
    case OPT_ONE_FS:
        cli->one_file_system = 1;
        break;
    case OPT_JSON:
        cli->json = 1;
        break;
    case OPT_DRY_RUN:
        cli->dry_run = 1;
        break;
    case OPT_JOBS:
        if (parse_int(v, 1, RX_BATCH_MAX_JOBS, &n))
            return usage_error(err, errsize, "--jobs takes a whole number from 1 to %d, not '%s'",
                               RX_BATCH_MAX_JOBS, v);
        cli->jobs = (int)n;
        break;
    case OPT_JOURNAL:
    case OPT_OUTPUT_DIR:
    case OPT_LOG:
    case OPT_STATS:
        if (!*v)
            return usage_error(err, errsize, "an option needs a path, not ''");
        *(id == OPT_JOURNAL      ? &cli->journal
          : id == OPT_OUTPUT_DIR ? &cli->output_dir
          : id == OPT_LOG        ? &cli->log_path
                                 : &cli->stats_path) = v;
        break;
    case OPT_WAIT:
        cli->wait_lock = 1;
        break;
    case OPT_RETRY_FAILED:
        cli->retry_failed = 1;
        break;
    case OPT_NO_SUPERVISOR:
        cli->no_supervisor = 1;
        break;
    case OPT_ORIGINALS: {
        static const char *const modes[] = {"rename", "keep", "delete", NULL};
        int k;
        for (k = 0; modes[k] && strcmp(v, modes[k]); k++)
            ;
        if (!modes[k])
            return usage_error(err, errsize, "--originals takes rename, keep or delete, not '%s'",
                               v);
        cli->originals = k; /* the order of RxOriginals */
        break;
    }
    case OPT_MAX_SIZE_RATIO:
        if (parse_double(v, 0.01, 100, &d))
            return usage_error(err, errsize,
                               "--max-size-ratio takes a number from 0.01 to 100, not '%s'", v);
        cli->max_size_ratio = d;
        break;
    case OPT_ACCEPT_TRUNCATED:
        cli->accept_truncated = 1;
        break;
    case OPT_SETTLE:
    case OPT_RESCAN:
        if (parse_double(v, id == OPT_SETTLE ? 0.1 : 0, 86400, &d))
            return usage_error(err, errsize, "--%s takes seconds from %s to 86400, not '%s'",
                               id == OPT_SETTLE ? "settle" : "rescan",
                               id == OPT_SETTLE ? "0.1" : "0", v);
        *(id == OPT_SETTLE ? &cli->settle : &cli->rescan) = d;
        break;
    case OPT_RESCAN_ONLY:
        cli->rescan_only = 1;
        break;
    case OPT_QUICK:
    case OPT_FULL:
        cli->verify_mode = id == OPT_QUICK ? RX_VERIFY_QUICK : RX_VERIFY_FULL;
        break;
    case OPT_CFR:
        s->cfr = 1;
        break;
    case OPT_FPS: {
        AVRational r;
        if (av_parse_video_rate(&r, v) < 0 || av_q2d(r) < 0.01 || av_q2d(r) > 240)
            return usage_error(err, errsize,
                               "--fps takes a rate from 0.01 to 240 such as 10, 30000/1001 or "
                               "29.97, not '%s'",
                               v);
        s->cfr = 1;
        s->fps_num = r.num;
        s->fps_den = r.den;
        break;
    }
    case OPT_IMAGES:
        if (!*v)
            return usage_error(err, errsize, "--images needs a LIST file or a GLOB pattern");
        cli->images = v;
        break;
    case OPT_FROM_CSV:
    case OPT_COLUMN:
    case OPT_ID_COLUMN:
    case OPT_FROM_LIST:
    case OPT_RESULTS:
        if (!*v)
            return usage_error(err, errsize, "an option needs a value, not ''");
        *(id == OPT_FROM_CSV    ? &cli->from_csv
          : id == OPT_COLUMN    ? &cli->column
          : id == OPT_ID_COLUMN ? &cli->id_column
          : id == OPT_FROM_LIST ? &cli->from_list
                                : &cli->results) = v;
        break;
    case OPT_NULL:
        cli->nul = 1;
        break;
    case OPT_SHARD: {
        char why[256];
        if (rx_shard_parse(&cli->shard, v, why, sizeof(why)) < 0)
            return usage_error(err, errsize, "%s", why);
        break;
    } break;
    case OPT_MEASURE:
        s->measure = 1;
        break;
    case OPT_MIN_SSIM:
    case OPT_TARGET_SSIM:
        /* Above 0.5 (a picture barely related to its source) and below 1
         * (no lossy encode reaches it, so every file would fail or probe
         * to the range's end). */
        if (parse_double(v, 0.5, 0.9999, &d))
            return usage_error(err, errsize, "--%s takes an SSIM from 0.5 to 0.9999, not '%s'",
                               id == OPT_MIN_SSIM ? "min-ssim" : "target-ssim", v);
        *(id == OPT_MIN_SSIM ? &s->min_ssim : &s->target_ssim) = d;
        break;
    default:
        return usage_error(err, errsize, "internal error: option %d", id);
    }
    return RX_CLI_OK;
}

/* "a, b or c" (last = " or ") from the names whose bit is set in mask. */
static void name_list(char *out, size_t size, unsigned mask, const char *prefix, const char *last,
                      const char *(*name)(size_t i), size_t n)
{
    size_t len = 0, left = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        left += (mask >> i) & 1u;
    for (size_t i = 0; i < n && len < size; i++) {
        if (!((mask >> i) & 1u))
            continue;
        left--;
        len += (size_t)snprintf(out + len, size - len, "%s%s%s", prefix, name(i),
                                left > 1    ? ", "
                                : left == 1 ? last
                                            : "");
    }
}

static const char *encoder_option_name(size_t i)
{
    return rx_encoder_option_name((RxEncOpt)i);
}

/* Options of one encoder given with another would be silently ignored:
 * refuse them, so a command line never means less than it says. Each
 * encoder's quality and speed ranges are checked here too, once the encoder
 * is known; and so are the audio and container choices. */
static RxCliStatus check_encoder_options(const RxCli *cli, char *err, size_t errsize)
{
    const RxSettings *s = &cli->settings;
    const RxEncoder *e = rx_encoder_find(s->video_encoder);
    char whose[96], takes[160];

    if (!e) /* rx_settings_set_encoder() took it: never */
        return usage_error(err, errsize, "--video-encoder %s is not one reencode drives",
                           s->video_encoder);
    for (size_t i = 0; i < RX_EO_COUNT; i++) {
        if (!((cli->encoder_opts >> i) & 1u) || (e->options & RX_EO_BIT(i)))
            continue;
        name_list(whose, sizeof(whose), encoders_taking((RxEncOpt)i), "", " or ", encoder_name,
                  n_encoders());
        name_list(takes, sizeof(takes), e->options, "--", " and ", encoder_option_name,
                  RX_EO_COUNT);
        return usage_error(err, errsize,
                           "--%s is a %s option; add --video-encoder to choose one (%s takes %s)",
                           rx_encoder_option_name((RxEncOpt)i), whose, s->video_encoder, takes);
    }
    if (s->crf > e->crf_max)
        return usage_error(err, errsize, "--crf takes a whole number from 0 to %d with %s, not %d",
                           e->crf_max, s->video_encoder, s->crf);
    if (s->preset > e->preset_max)
        return usage_error(err, errsize,
                           "--preset takes a whole number from 0 to %d with %s, not %d",
                           e->preset_max, s->video_encoder, s->preset);
    /* An encoder without a lossless mode (libsvtav1) refuses crf 0. */
    if (s->crf < e->crf_min)
        return usage_error(err, errsize, "--crf %d (lossless) needs %s; %s takes %d to %d", s->crf,
                           rx_encoder_at(0)->name, s->video_encoder, e->crf_min, e->crf_max);
    /* With a constant rate the output's time starts at the first video
     * frame; copied packets keep the input's and would drift from it. */
    if (s->audio_copy && s->cfr)
        return usage_error(err, errsize,
                           "--audio-codec copy cannot go with --cfr or --fps (the copied audio "
                           "would keep the input's times); use --audio-codec opus");
    if (s->audio_copy && cli->opus_only)
        return usage_error(err, errsize,
                           "--%s is an Opus option; --audio-codec copy keeps the input's audio as "
                           "it is",
                           cli->opus_only);
    if (cli->output && s->container != RX_CONTAINER_AUTO &&
        rx_container_of_name(cli->output) != RX_CONTAINER_AUTO &&
        (int)rx_container_of_name(cli->output) != s->container)
        return usage_error(err, errsize, "-o '%s' does not end in %s, which --container %s writes",
                           cli->output, rx_container_ext((RxContainer)s->container),
                           s->container == RX_CONTAINER_MKV ? "mkv" : "webm");
    return RX_CLI_OK;
}

/* A manifest's options make sense only together. */
static RxCliStatus check_manifest_options(const RxCli *cli, char *err, size_t errsize)
{
    if (cli->from_csv && cli->from_list)
        return usage_error(err, errsize, "give --from-csv or --from-list, not both");
    if (cli->from_csv && !cli->column)
        return usage_error(err, errsize, "--from-csv needs --column NAME (the column of paths)");
    if (!cli->from_csv && (cli->column || cli->id_column))
        return usage_error(err, errsize, "--%s goes with --from-csv",
                           cli->column ? "column" : "id-column");
    if (cli->nul && !cli->from_list)
        return usage_error(err, errsize, "-0 goes with --from-list");
    if (cli->results && !cli->from_csv && !cli->from_list)
        return usage_error(err, errsize, "--results needs --from-csv or --from-list");
    if (cli->results && cli->dry_run)
        return usage_error(err, errsize, "--results needs a real run, not --dry-run");
    /* Each shard knows only its own files: N shards would write N partial
     * results over one another. */
    if (cli->results && (cli->shard.count || cli->shard.from_env))
        return usage_error(err, errsize,
                           "--results cannot go with --shard (each shard sees only its files; "
                           "use 'status --json' on the merged journals)");
    if (!cli->n_roots && !cli->from_csv && !cli->from_list)
        return usage_error(err, errsize, "%s needs a DIR, --from-csv FILE or --from-list FILE",
                           cli->cmd == RX_CMD_LIST ? "list" : "run");
    return RX_CLI_OK;
}

static unsigned command_bit(RxCommand cmd)
{
    switch (cmd) {
    case RX_CMD_ENCODE:
        return FOR_ENCODE;
    case RX_CMD_LIST:
        return FOR_LIST;
    case RX_CMD_RUN:
        return FOR_RUN;
    case RX_CMD_VERIFY:
        return FOR_VERIFY;
    case RX_CMD_WATCH:
        return FOR_WATCH;
    default:
        return FOR_STATUS;
    }
}

static const char *command_name(RxCommand cmd)
{
    switch (cmd) {
    case RX_CMD_ENCODE:
        return "encode";
    case RX_CMD_LIST:
        return "list";
    case RX_CMD_RUN:
        return "run";
    case RX_CMD_JOURNAL_REPAIR:
        return "journal repair";
    case RX_CMD_VERIFY:
        return "verify";
    case RX_CMD_WATCH:
        return "watch";
    default:
        return "status";
    }
}

static RxCliStatus parse_operand(RxCli *cli, const char *a, char *err, size_t errsize)
{
    if (cli->cmd == RX_CMD_ENCODE) {
        if (cli->input)
            return usage_error(err, errsize, "unexpected argument '%s' (one INPUT per encode)", a);
        cli->input = a;
    } else {
        cli->roots[cli->n_roots++] = a;
    }
    return RX_CLI_OK;
}

static RxCliStatus parse_command(int argc, char *const *argv, RxCli *cli, char *err, size_t errsize)
{
    unsigned bit = command_bit(cli->cmd);
    int only_operands = 0;

    int first = cli->cmd == RX_CMD_JOURNAL_REPAIR ? 3 : 2;

    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const char *name, *value = NULL;
        size_t k, namelen;
        RxCliStatus st;

        if (only_operands || a[0] != '-' || !a[1]) {
            if ((st = parse_operand(cli, a, err, errsize)) != RX_CLI_OK)
                return st;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_operands = 1;
            continue;
        }
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            name = a + 2;
            namelen = eq ? (size_t)(eq - name) : strlen(name);
            value = eq ? eq + 1 : NULL;
        } else {
            if (a[2])
                return usage_error(err, errsize, "unknown option '%s' (short options stand alone)",
                                   a);
            name = a + 1;
            namelen = 1;
        }
        for (k = 0; k < N_OPTIONS; k++) {
            if (namelen == 1 && a[1] != '-' ? options[k].short_name == name[0]
                                            : namelen == strlen(options[k].name) &&
                                                  !strncmp(name, options[k].name, namelen))
                break;
        }
        if (k == N_OPTIONS || !(options[k].cmds & bit))
            return usage_error(err, errsize,
                               "unknown option '%s' for %s (see 'reencode %s --help')", a,
                               command_name(cli->cmd), command_name(cli->cmd));
        if (!options[k].has_value && value)
            return usage_error(err, errsize, "option '--%s' takes no value", options[k].name);
        if (options[k].has_value && !value) {
            if (i + 1 >= argc)
                return usage_error(err, errsize, "option '%s' needs a value", a);
            value = argv[++i];
        }
        if ((st = apply(cli, options[k].id, value, err, errsize)) != RX_CLI_OK)
            return st;
        if (cli->cmd == RX_CMD_HELP)
            return RX_CLI_OK;
    }
    if (cli->cmd == RX_CMD_ENCODE && cli->images) {
        if (cli->input)
            return usage_error(err, errsize, "encode takes --images or an INPUT, not both");
        if (!cli->settings.fps_num)
            return usage_error(err, errsize, "--images needs --fps RATE (images per second)");
        if (!cli->output)
            return usage_error(err, errsize, "--images needs -o OUTPUT");
    } else if (cli->cmd == RX_CMD_ENCODE && !cli->input) {
        return usage_error(err, errsize, "encode needs an INPUT file");
    }
    /* Elided frames would shift every later frame number. */
    if (cli->settings.cfr && cli->settings.dedup == 1)
        return usage_error(err, errsize,
                           "--dedup on cannot go with --cfr or --fps: dropped frames would break "
                           "the frame numbering (leave --dedup auto)");
    if (cli->cmd == RX_CMD_LIST || cli->cmd == RX_CMD_RUN) {
        RxCliStatus st = check_manifest_options(cli, err, errsize);
        if (st != RX_CLI_OK)
            return st;
    }
    if ((cli->cmd == RX_CMD_STATUS || cli->cmd == RX_CMD_JOURNAL_REPAIR) &&
        (cli->n_roots > 1 || (!cli->n_roots && !cli->journal)))
        return usage_error(err, errsize, "%s takes one DIR or --journal PATH",
                           command_name(cli->cmd));
    if (cli->cmd == RX_CMD_WATCH && !cli->n_roots)
        return usage_error(err, errsize, "watch needs a DIR to watch");
    if (cli->cmd == RX_CMD_VERIFY && !cli->n_roots && !cli->journal)
        return usage_error(err, errsize, "verify takes a DIR, --journal PATH, or FILEs");
    if (cli->cmd == RX_CMD_ENCODE || cli->cmd == RX_CMD_RUN || cli->cmd == RX_CMD_WATCH) {
        RxCliStatus st = check_encoder_options(cli, err, errsize);
        if (st != RX_CLI_OK)
            return st;
        if (cli->crf_given && cli->settings.target_ssim > 0)
            return usage_error(err, errsize,
                               "--crf and --target-ssim exclude each other (the target "
                               "chooses the crf)");
        /* Not built: probe windows retimed to a constant rate start at their
         * own time 0, so they would be compared with the wrong source frames. */
        if (cli->settings.cfr && cli->settings.target_ssim > 0)
            return usage_error(err, errsize,
                               "--target-ssim cannot go with --cfr or --fps yet: choose a --crf");
        if (cli->images &&
            (cli->settings.measure || cli->settings.min_ssim > 0 || cli->settings.target_ssim > 0))
            return usage_error(err, errsize,
                               "--measure, --min-ssim and --target-ssim need a source video, "
                               "not --images");
    }
    if (cli->cmd == RX_CMD_RUN && cli->dry_run) /* --dry-run is the listing */
        cli->cmd = RX_CMD_LIST;
    return RX_CLI_OK;
}

RxCliStatus rx_cli_parse(int argc, char *const *argv, RxCli *cli, char *err, size_t errsize)
{
    const char *cmd;

    memset(cli, 0, sizeof(*cli));
    rx_settings_default(&cli->settings);
    cli->log_level = RX_LOG_INFO;
    cli->progress = -1;
    cli->max_size_ratio = RX_BATCH_DEFAULT_SIZE_RATIO;
    cli->verify_mode = RX_VERIFY_FULL;
    cli->settle = 30;
    cli->rescan = 300;
    if (errsize)
        err[0] = '\0';

    if (argc < 2)
        return usage_error(err, errsize, "no command given (try 'reencode --help')");
    cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        cli->cmd = RX_CMD_HELP;
        cli->help_for = RX_CMD_NONE;
        if (argc > 2 && !strcmp(argv[2], "encode"))
            cli->help_for = RX_CMD_ENCODE;
        else if (argc > 2 && !strcmp(argv[2], "list"))
            cli->help_for = RX_CMD_LIST;
        else if (argc > 2 && !strcmp(argv[2], "run"))
            cli->help_for = RX_CMD_RUN;
        else if (argc > 2 && (!strcmp(argv[2], "status") || !strcmp(argv[2], "journal")))
            cli->help_for = RX_CMD_STATUS;
        else if (argc > 2 && !strcmp(argv[2], "--man"))
            cli->help_format = "man";
        else if (argc > 2 && !strcmp(argv[2], "--complete")) {
            if (argc < 4 || (strcmp(argv[3], "bash") && strcmp(argv[3], "zsh")))
                return usage_error(err, errsize, "--complete takes bash or zsh");
            cli->help_format = argv[3];
        } else if (argc > 2 && !strcmp(argv[2], "verify"))
            cli->help_for = RX_CMD_VERIFY;
        else if (argc > 2 && !strcmp(argv[2], "watch"))
            cli->help_for = RX_CMD_WATCH;
        return RX_CLI_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        cli->cmd = RX_CMD_VERSION;
        return RX_CLI_OK;
    }
    if (!strcmp(cmd, "encode"))
        cli->cmd = RX_CMD_ENCODE;
    else if (!strcmp(cmd, "list"))
        cli->cmd = RX_CMD_LIST;
    else if (!strcmp(cmd, "run"))
        cli->cmd = RX_CMD_RUN;
    else if (!strcmp(cmd, "status"))
        cli->cmd = RX_CMD_STATUS;
    else if (!strcmp(cmd, "verify"))
        cli->cmd = RX_CMD_VERIFY;
    else if (!strcmp(cmd, "watch"))
        cli->cmd = RX_CMD_WATCH;
    else if (!strcmp(cmd, "journal") && argc > 2 && !strcmp(argv[2], "repair"))
        cli->cmd = RX_CMD_JOURNAL_REPAIR;
    else if (!strcmp(cmd, "journal"))
        return usage_error(err, errsize, "journal takes a subcommand: repair");
    else
        return usage_error(err, errsize, "unknown command '%s' (try 'reencode --help')", cmd);

    /* Operand and --match counts are bounded by argc: allocate once. */
    cli->roots = calloc((size_t)argc, sizeof(*cli->roots));
    cli->matches = calloc((size_t)argc, sizeof(*cli->matches));
    if (!cli->roots || !cli->matches)
        return usage_error(err, errsize, "out of memory");
    return parse_command(argc, argv, cli, err, errsize);
}

void rx_cli_free(RxCli *cli)
{
    free(cli->roots);
    free(cli->matches);
    cli->roots = NULL;
    cli->matches = NULL;
    cli->n_roots = cli->n_matches = 0;
}

int rx_cli_option(RxCommand cmd, size_t i, RxCliOption *out)
{
    unsigned bit = command_bit(cmd);

    for (size_t k = 0; k < N_OPTIONS; k++) {
        if (!(options[k].cmds & bit) || i--)
            continue;
        out->name = options[k].name;
        out->short_name = options[k].short_name;
        out->has_value = options[k].has_value;
        return 0;
    }
    return -1;
}
