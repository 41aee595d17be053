/*
 * watch.h - `reencode watch`: run's batch, again and again, as recordings
 * appear and are finished.
 *
 * A watch is a loop of batch passes (batch.h) over the roots with run's own
 * options, so selection, journal, commit protocol, pool and originals policy
 * are run's. Between passes it looks at the tree (a walk, as the batch's)
 * when inotify says something changed (Linux; recursive watches on the roots
 * and each new directory) or when the rescan interval is up (file systems
 * without events: NFS, SMB), and when a settling file's time is up. A pass
 * runs when a file became ready (find/ready.h): unchanged in size and mtime
 * for the settle time, open for writing by no process, and parsing as a
 * whole (an MP4 has its index). A file not ready does not exist for the
 * pass: it is never probed, encoded, journalled or counted as failed. A
 * settled file that still fails the other checks is "waiting", said once per
 * file (until it changes). A pass that finds nothing new says nothing.
 *
 * Calling sequence: rx_watch_new() -> rx_watch_run() (until stopped) ->
 * rx_watch_free(). rx_watch_stop() may be called from another thread (the
 * signal thread) while rx_watch_run() runs.
 */
#ifndef RX_WATCH_H
#define RX_WATCH_H

#include "reencode/batch.h"

#define RX_WATCH_DEFAULT_SETTLE 30.0  /* --settle: seconds a file must stay unchanged */
#define RX_WATCH_DEFAULT_RESCAN 300.0 /* --rescan: seconds between looks without events */

typedef struct RxWatchOptions {
    RxBatchOptions batch; /* each pass's (ready, ready_opaque, quiet_idle: the watch's);
                             report: the watch's own lines too; no manifest */
    double settle;        /* seconds a file must stay unchanged [RX_WATCH_DEFAULT_SETTLE] */
    double rescan;        /* seconds between looks without an event; 0: only on events
                             (with inotify; without it 60 is used)
                             [RX_WATCH_DEFAULT_RESCAN] */
    int inotify;          /* 1: events (falls back to rescans when unavailable); 0: rescans
                             only */
} RxWatchOptions;

/* Outcome of rx_watch_run(): the sums of its passes (batch.h). */
typedef struct RxWatchCounts {
    size_t passes;
    size_t done, failed, skipped, interrupted;
} RxWatchCounts;

typedef struct RxWatch RxWatch;

void rx_watch_options_default(RxWatchOptions *o);

/* Copies o (its strings stay borrowed). Returns 0 or AVERROR(ENOMEM). */
int rx_watch_new(RxWatch **out, const RxWatchOptions *o);

/*
 * Watch until rx_watch_stop(). Returns 0 once stopped, or a negative code
 * when watching cannot start or go on (rx_watch_error() says why in one
 * line): a pass's (AVERROR(EWOULDBLOCK): the journal is locked by another
 * run at the first pass; AVERROR(EINVAL): a bad --match; ...), or that of
 * the log file.
 */
int rx_watch_run(RxWatch *w, RxWatchCounts *counts);

const char *rx_watch_error(const RxWatch *w);

/* End the watch. While waiting between passes it ends at once; during a
 * pass, as rx_batch_interrupt(hard) ends the pass: hard = 0 starts no new
 * file, hard = 1 also cancels the running encodes. Any thread. */
void rx_watch_stop(RxWatch *w, int hard);

void rx_watch_free(RxWatch **w);

#endif
