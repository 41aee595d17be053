/*
 * help.c - the help texts, one per command (cli.h's rx_cli_help()). The man
 * page and the completions are generated from them (helpdoc.h), so their
 * shapes are a format: see helpdoc.c's header before changing one.
 */
#include <stddef.h>

#include "cli/cli.h"

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
