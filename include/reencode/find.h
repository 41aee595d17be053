/*
 * find.h - scan and probe together: the candidate files with their fields.
 *
 * rx_find_run() walks the roots on the calling thread (scan.h) and, as each
 * file is found, hands it through a bounded queue to probe threads
 * (probe.h), so probing overlaps the walk. When both are done the results are
 * sorted by path (strcmp) and returned as one list: what `list` and `run`
 * filter and act on.
 *
 * A file that cannot be probed (empty, not media, unreadable, truncated before
 * its index) is an entry with err set, not a failure of the find.
 *
 * Calling sequence:
 *     rx_probe_init();                         in main, before threads
 *     rx_find_options_default(&o); o.probe.extra = rx_filter_fields(f, &o.probe.n_extra); ...
 *     rx_find_run(&found, roots, n, &o);
 *     for (i < rx_find_count(found)) rx_find_get(found, i) ...
 *     rx_find_free(&found);
 *
 * Thread-safety: rx_find_run() starts and joins its own threads; the result
 * is immutable and may be read from any thread. o.scan.on_warn runs on the
 * calling thread; o.progress on the probe threads, one call at a time.
 */
#ifndef RX_FIND_H
#define RX_FIND_H

#include <stddef.h>

#include "reencode/journal.h"
#include "reencode/probe.h"
#include "reencode/scan.h"
#include "reencode/shard.h"

/* One file found: where it is, and what MediaInfo says or why it could not. */
typedef struct RxFound {
    const RxScanEntry *entry; /* never NULL */
    const RxProbe *probe;     /* NULL when err != 0 */
    int err;                  /* 0, or why probing failed (rx_probe_strerror()) */
    /* With RxFindOptions.identify: the file's identity (journal.h), computed
     * once on the probe thread before skip and the probe, for every later
     * use; id_err < 0 (id cleared) when it could not be read. */
    RxFileId id;
    int id_err;
} RxFound;

/* Called on a probe thread before a file is probed (f->probe is NULL; f->id
 * is set with identify): return 1 to leave it unprobed (its RxFound then has
 * err RX_ERR_NOT_PROBED), e.g. because a journal already says it is done.
 * Called concurrently from the probe threads: it must be thread-safe. */
typedef int (*RxFindSkipFn)(void *opaque, const RxFound *f);

/* err of a file that the skip callback left unprobed. */
#define RX_ERR_NOT_PROBED (-0x52584314)

/* Called on the walking thread for each file found, before anything reads
 * it: return 0 to leave it out of this find altogether (not identified, not
 * probed, not in the result), e.g. because it is still being written
 * (watch.h). One call at a time. */
typedef int (*RxFindReadyFn)(void *opaque, const RxScanEntry *e);

/* Called after each probe with the files found and probed so far. */
typedef void (*RxFindProgressFn)(void *opaque, size_t found, size_t probed);

typedef struct RxFindOptions {
    RxScanOptions scan;   /* scan.on_entry is ignored: find uses it */
    RxProbeOptions probe; /* extra fields (the filter's), ParseSpeed */
    int jobs;             /* probe threads; <= 0 = 2 (MediaInfo parses one file at a
                             time process-wide: more threads do not parse faster) */
    RxShard shard;        /* only the files of this shard (shard.h); count 0: all */
    int identify;         /* 1: compute each file's identity (RxFound.id) */
    RxFindSkipFn skip;    /* optional */
    void *skip_opaque;
    RxFindReadyFn ready; /* optional: the gate before everything else */
    void *ready_opaque;
    RxFindProgressFn progress; /* optional */
    void *progress_opaque;
    /* Files named one by one (a manifest), found after the walk with
     * rx_scan_files(files, n_files, files_base, root = the number of roots):
     * one that cannot be used is an entry with err = its entry's err. */
    const char *const *files;
    size_t n_files;
    const char *files_base;
} RxFindOptions;

typedef struct RxFind RxFind;

void rx_find_options_default(RxFindOptions *o);

/*
 * Find and probe. Returns 0 and sets *out (free with rx_find_free()), or a
 * negative code with *out untouched: those of rx_scan_run() (AVERROR(EINVAL) for a
 * bad extension list, AVERROR(ENOMEM)), or a pthread error as negative errno.
 * Warnings (unreadable directories ...) go to o->scan.on_warn and are
 * counted, not returned.
 */
int rx_find_run(RxFind **out, const char *const *roots, size_t n, const RxFindOptions *o);

size_t rx_find_count(const RxFind *f);

/* Result i in strcmp() order of paths, or NULL when out of range. */
const RxFound *rx_find_get(const RxFind *f, size_t i);

/* Warnings the walk reported. */
size_t rx_find_warnings(const RxFind *f);

/* Free everything (entries, probes) and set *f to NULL. Accepts NULL. */
void rx_find_free(RxFind **f);

#endif
