/*
 * progress.h - what a person (or a script) sees during `reencode run`.
 *
 * One reporter per batch. The worker threads of the pool tell it when an
 * encode starts, how far it is, and how it finished; the reporter turns that
 * into output for the chosen mode, a log file line per event, and a summary.
 *
 * Modes (all output goes to options.fd, normally stderr):
 *   TTY    a live block at the bottom of the terminal: one line per running
 *          encode (percent of media time, fps, speed against real time,
 *          output size so far, ETA, name shortened from the left to fit the
 *          width) and an overall line (files done/total, failed, skipped,
 *          bytes saved, elapsed, batch ETA by the remaining media time at the
 *          observed speed). Redrawn in place at most every 0.25 s, in one
 *          write(2) per frame. Event lines (done, failed, skipped, notes) go
 *          above it: erase the block (cursor up + erase line), print, redraw.
 *          Colours (green done, red failed/errors, yellow skipped/interrupted/
 *          warnings) unless options.color is 0 or NO_COLOR is set non-empty.
 *   PLAIN  one line per event (start, done, original, failed, skipped,
 *          interrupted, notes) and a progress line per running file at most
 *          every 10 s. Fixed first word per line; the file name comes last.
 *   JSON   NDJSON, one object per line with "event": "start", "progress" (at
 *          most every 1 s per file: scripts draw their own bars), "done"
 *          (state "done" or "encoded"), "failed", "skipped", "interrupted",
 *          "note", "summary". Every event carries "elapsed" (seconds since
 *          rx_reporter_new by options.clock). Strings are valid JSON whatever
 *          the file name holds; a name that is not UTF-8 gets a "path_hex"
 *          twin with its exact bytes.
 *   QUIET  failed lines and error notes only.
 *   METER  `reencode encode`: one slot, one line redrawn in place ("\r",
 *          percent of the length the encoder reports, seconds done/total,
 *          fps, speed, MiB so far, "ESC[K") at most every 0.25 s, erased by
 *          rx_reporter_finish(); no other output but notes.
 * Each mode is a sink (src/report/sink_*.c) behind one core.
 * In every mode a file name is escaped (text.h): one name, one line.
 *
 * The log file (options.log_path, any mode) gets one line per start, finish,
 * original handling, note and the summary, each prefixed with the local time
 * in ISO-8601 with its offset and the process id:
 *     2024-05-01T14:03:22.120+02:00 [4711] done  2.1 GiB -> 310 MiB ...
 * It is opened with O_APPEND and each line is one write(2), so concurrent
 * runs appending to the same log never interleave inside a line.
 *
 * Calling sequence:
 *     rx_reporter_options_default() -> fill -> rx_reporter_new()
 *     [-> rx_reporter_note()* -> rx_reporter_set_plan(), with plan_later]
 *     -> per file on a worker: rx_reporter_start() -> rx_reporter_progress()*
 *        -> rx_reporter_finish()
 *     -> rx_reporter_summary() -> rx_reporter_free()
 * A file that never got a slot (failed before it could start) is reported
 * with rx_reporter_finish(r, -1, ...).
 *
 * Thread-safety: every function but _new and _free may be called from any
 * thread; one mutex serialises them. options.clock must be thread-safe.
 * While a TTY block is drawn, nothing else may write to the same terminal
 * (rx_error() and friends included): route messages through
 * rx_reporter_note(), or the block is garbled and cannot be erased.
 * JSON numbers are printed with printf: keep LC_NUMERIC "C".
 */
#ifndef RX_PROGRESS_H
#define RX_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "reencode/log.h"
#include "reencode/result.h"
#include "reencode/transcode.h"

typedef struct RxReporter RxReporter;

typedef enum RxReportMode {
    RX_REPORT_TTY,
    RX_REPORT_PLAIN,
    RX_REPORT_JSON,
    RX_REPORT_QUIET,
    RX_REPORT_METER, /* one encode's line (`reencode encode`), see below */
} RxReportMode;

typedef struct RxReporterOptions {
    RxReportMode mode;
    int fd;                 /* where the output goes; borrowed, never closed */
    int color;              /* TTY mode: colours wanted (off with --color=never) */
    const char *no_color;   /* the value of getenv("NO_COLOR"); set and non-empty: no colours */
    int width;              /* TTY mode: terminal columns (lines are kept shorter) */
    const char *log_path;   /* log file to append to; NULL: none */
    const char *stats_path; /* JSON summary written by rx_reporter_summary(); NULL: none */
    /* Monotonic seconds; NULL: CLOCK_MONOTONIC. Injected so tests control time. */
    double (*clock)(void *opaque);
    void *clock_opaque;
    /* The plan, for "n/total" and the batch ETA. media_us_total 0: no ETA. */
    size_t files_total;
    int64_t bytes_total;
    int64_t media_us_total;
    int slots; /* concurrent encodes (the pool's -j); slots are 0..slots-1 */
    /* 1: the plan (files_total, bytes_total, media_us_total, slots) is not
     * known yet and comes with rx_reporter_set_plan(): a run creates its
     * reporter before it walks and probes, so that their warnings reach
     * the log and --json too. */
    int plan_later;
} RxReporterOptions;

/* What has finished so far (see rx_reporter_totals()). */
typedef struct RxReportTotals {
    size_t processed;     /* RX_STATE_DONE or RX_STATE_ENCODED */
    size_t failed;        /* RX_STATE_FAILED (and any state that is not a verdict) */
    size_t skipped;       /* RX_STATE_SKIPPED */
    size_t interrupted;   /* RX_STATE_INTERRUPTED */
    size_t total;         /* options.files_total */
    int64_t bytes_before; /* input bytes of the processed files */
    int64_t bytes_after;  /* output bytes of the processed files */
    double wall_seconds;  /* since rx_reporter_new(), by options.clock */
    double file_seconds;  /* sum of RxResult.wall_seconds of the finished files */
    size_t files_timed;   /* finished files with a wall time (the average's divisor) */
} RxReportTotals;

/* PLAIN to stderr, colour on, width 80, one slot, no log, no stats, real clock. */
void rx_reporter_options_default(RxReporterOptions *o);

/*
 * Create a reporter; o and its strings are copied (log_path is opened here,
 * stats_path kept for rx_reporter_summary()). Writes a "run" line to the log.
 * Returns 0 and sets *out, or AVERROR(EINVAL) (slots < 1, bad mode),
 * AVERROR(ENOMEM), or the negative errno of opening the log file.
 * With o->plan_later, the "run" line waits for rx_reporter_set_plan().
 */
int rx_reporter_new(RxReporter **out, const RxReporterOptions *o);

/*
 * The plan of a reporter made with plan_later (before any start): the
 * totals for "n/total" and the ETA, and the slots; writes the "run" line
 * to the log. Returns 0, AVERROR(EINVAL) (slots < 1, or an encode already
 * started) or AVERROR(ENOMEM) (the reporter is unchanged).
 */
int rx_reporter_set_plan(RxReporter *r, size_t files_total, int64_t bytes_total,
                         int64_t media_us_total, int slots);

/* An encode starts in slot (0..slots-1; out of range: ignored). path (not
 * NULL) is copied; media_us is the input's duration (0 when unknown). */
void rx_reporter_start(RxReporter *r, int slot, const char *path, int64_t in_bytes,
                       int64_t media_us);

/* The running encode in slot got this far. Cheap unless a line is due
 * (takes the mutex, reads the clock); fits RxProgressFn through a small
 * adapter that knows the slot. Ignored for a slot with no encode. */
void rx_reporter_progress(RxReporter *r, int slot, const RxProgress *p);

/*
 * A file finished: res->state decides how it counts (see RxReportTotals).
 * slot is the one given to rx_reporter_start(), or -1 for a file that never
 * started. original is what happened to the input ("renamed", "kept",
 * "deleted") or NULL when it was not handled. res is read, not kept.
 */
void rx_reporter_finish(RxReporter *r, int slot, const char *path, const RxResult *res,
                        const char *original);

/* A message above the live block and into the log: RX_LOG_ERROR prints
 * "error: ...", RX_LOG_WARN "warning: ...", others the text alone. QUIET
 * mode shows errors only. The text is escaped (one line). */
void rx_reporter_note(RxReporter *r, RxLogLevel level, const char *fmt, ...) RX_PRINTF(3, 4);

/* A consistent copy of the counts so far (the caller's exit status). */
void rx_reporter_totals(RxReporter *r, RxReportTotals *out);

/*
 * Erase the live block for good, print the summary for the mode (TTY and
 * PLAIN: three lines for people; JSON: a "summary" event; QUIET: nothing),
 * log it, and write the stats file when a path was given (FILE.tmp, fsync,
 * rename, fsync of the directory). success_rate is
 * (processed + skipped) / (processed + skipped + failed): skipped files ran
 * to a verdict, interrupted ones are left out. Returns 0, or the negative
 * errno of the stats file: before the rename, FILE.tmp is removed and FILE
 * untouched; after it (the directory's fsync), FILE is the new one.
 */
int rx_reporter_summary(RxReporter *r);

/* Erase the live block if it is still drawn, close the log, free; *r = NULL.
 * Accepts NULL and *r == NULL. No other call may be running. */
void rx_reporter_free(RxReporter **r);

#endif
