/*
 * batch.h - `reencode run`: re-encode every candidate of a tree, resumably.
 *
 * A batch joins the stages: find (scan + probe) and plan select the
 * candidates, the journal removes what an earlier run finished, the queue is
 * ordered longest work first, and a pool of workers runs one transcode job
 * per file. Each file goes through the commit protocol:
 *
 *   journal "started" -> encode to OUTPUT.part -> check (every frame of the
 *   output decodes, input unchanged, durations match what the input
 *   declares, the expected streams, output smaller than max_size_ratio of
 *   the input) -> fsync +
 *   rename onto OUTPUT -> journal "encoded" -> handle the original
 *   (rename to NAME.reencoded | keep | delete) -> journal "done"
 *
 * A file failing anywhere is journalled "failed" with its one-line error and
 * the batch goes on; an output not smaller enough is discarded, the original
 * kept, and the file journalled "skipped" (never retried).
 *
 * Crashes (with o.crash): the files being encoded when an earlier process
 * died on a fatal signal (its crash file, crash.h) are folded into the
 * journal first. Those are suspects: each runs alone, first in the queue; a
 * suspect that crashes again alone is failed (crash.h's rx_crash_judge()).
 *
 * Calling sequence: rx_batch_new() -> rx_batch_run() -> rx_batch_free().
 * rx_batch_interrupt() may be called from another thread (the signal thread)
 * while rx_batch_run() runs.
 */
#ifndef RX_BATCH_H
#define RX_BATCH_H

#include <stddef.h>

#include "reencode/find.h"
#include "reencode/progress.h"
#include "reencode/settings.h"
#include "reencode/shard.h"

typedef enum RxOriginals {
    RX_ORIGINALS_RENAME = 0, /* foo.mp4 -> foo.mp4.reencoded (the default) */
    RX_ORIGINALS_KEEP,
    RX_ORIGINALS_DELETE,
} RxOriginals;

/* The most encodes one batch runs at once (--jobs); each holds a frame queue
 * and an encoder, so more than this is never faster on one machine. */
#define RX_BATCH_MAX_JOBS 32
/* An output not below this fraction of its input is not worth replacing the
 * original with (--max-size-ratio). */
#define RX_BATCH_DEFAULT_SIZE_RATIO 0.9

typedef struct RxCrashArea RxCrashArea; /* journal/crash.h */
typedef struct RxResults RxResults;     /* report/results.h */

typedef struct RxBatchOptions {
    const char *const *roots; /* borrowed; roots[0] holds the default journal (see files) */
    size_t n_roots;
    const char *const *matches; /* filter expressions (borrowed) */
    size_t n_matches;
    int all;
    const char *extensions;
    int follow_symlinks;
    int one_file_system;

    RxSettings settings;      /* per encode; settings.threads = threads per encode,
                                 0 = chosen per file (see rx_batch_run) */
    int jobs;                 /* encodes at once; 0 = chosen from the cores, memory and queue */
    const char *journal_path; /* NULL: <roots[0]>/.reencode/journal */
    RxShard shard;            /* only this shard's files, journal PATH.K-of-N (count 0: all) */
    int wait_lock;            /* wait for another run's lock instead of failing */
    int retry_failed;         /* retry files that failed before */
    RxOriginals originals;
    double max_size_ratio;  /* keep the original when output >= ratio x input
                               [RX_BATCH_DEFAULT_SIZE_RATIO] */
    const char *output_dir; /* NULL: outputs next to their inputs */
    int accept_truncated;   /* commit outputs of recordings cut short */

    RxReporterOptions report; /* mode, colours, log and stats files */
    int probe_progress;       /* show "probing n/m" while finding */

    /* Files named by a manifest (borrowed), found after the walk of the
     * roots, if any, and then treated like walked files. Their journal rel
     * is taken from roots[0], or without roots from files_base, which then
     * also holds the default journal (files_base/.reencode/journal). */
    const char *const *files;
    size_t n_files;
    const char *files_base;
    RxResults *results; /* optional: each file's outcome is noted there */
    RxCrashArea *crash; /* optional: crash records (crash.h), borrowed */
    int supervised;     /* this process is a supervisor's worker (supervise.h) */

    /* watch (watch.h): a gate before each file is looked at; a file it
     * refuses does not exist for this batch (not probed, planned, journalled
     * or counted). run sets none. */
    RxFindReadyFn ready;
    void *ready_opaque;
    int quiet_idle; /* no "nothing to do" line when nothing is to be done */
} RxBatchOptions;

/* Outcome of rx_batch_run() beyond its return code. */
typedef struct RxBatchCounts {
    size_t candidates; /* files the plan selected, incl. those already done */
    size_t queued;     /* files this run had to work on */
    size_t done;
    size_t failed;  /* incl. files failed since the run began (a crash, a restart) */
    size_t skipped; /* not smaller: original kept */
    size_t interrupted;
    size_t already;       /* done or skipped by an earlier run */
    size_t failed_before; /* failed earlier and not retried */
} RxBatchCounts;

typedef struct RxBatch RxBatch;

void rx_batch_options_default(RxBatchOptions *o);

/* Copies o (its strings stay borrowed). */
int rx_batch_new(RxBatch **out, const RxBatchOptions *o);

/*
 * Run the batch. Returns 0 when the run went through (look at the counts:
 * failures are per file, not errors of the run), or a negative code when it
 * could not start or go on: AVERROR(EWOULDBLOCK) the journal is locked by
 * another run, AVERROR_INVALIDDATA the journal is damaged in the middle,
 * AVERROR(EINVAL) a bad --match, others. rx_batch_error() then says why in
 * one line (a malformed --match: the expression and a caret on more lines).
 */
int rx_batch_run(RxBatch *b, RxBatchCounts *counts);

const char *rx_batch_error(const RxBatch *b);

/* hard = 0: start no new file; hard = 1: also cancel the running encodes
 * (their .part files are removed and they are journalled "interrupted"). */
void rx_batch_interrupt(RxBatch *b, int hard);

void rx_batch_free(RxBatch **b);

#endif
