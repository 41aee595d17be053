/*
 * audit.h - `reencode verify`: re-check outputs long after they were made.
 *
 * With a journal: every file it records as encoded or done (its latest
 * record, as status shows it) has its output looked at again: is it there,
 * is it the file committed (size and the hash of its first and last 64 KiB,
 * journalled at commit as `out_hash`), does it decode (full: every frame;
 * the frame count and durations journalled; timestamps in order). Each
 * output is good, damaged, replaced (another complete file under its name)
 * or missing. Without a journal: the files named, each judged on its own.
 *
 * The journal is only read (no lock, nothing appended), so verify runs
 * beside a batch, on a read-only copy, or from another host.
 *
 * One line per output on out_fd (human or NDJSON, in journal order), then a
 * summary; per-file progress on stderr when asked.
 *
 * Calling sequence: rx_audit_options_default(&o); fill o; rx_audit_run().
 * It only reads, so an interrupt may simply end the process.
 */
#ifndef RX_AUDIT_H
#define RX_AUDIT_H

#include <stddef.h>

typedef enum RxAuditVerdict {
    RX_AUDIT_GOOD = 0,
    RX_AUDIT_DAMAGED,  /* ours, but no longer whole: cut, bytes changed, frames lost */
    RX_AUDIT_REPLACED, /* another complete file is under the output's name */
    RX_AUDIT_MISSING,  /* nothing under the output's name */
} RxAuditVerdict;

typedef struct RxAuditOptions {
    const char *journal_path; /* the journal; NULL: check `files` on their own */
    const char *root;         /* where outputs named relative to another directory are
                                 looked for (the DIR of the run); may be NULL */
    const char *const *files; /* without a journal: the outputs to check */
    size_t n_files;
    int mode;     /* RX_VERIFY_QUICK or RX_VERIFY_FULL */
    int jobs;     /* files at once; 0 = one per core */
    int json;     /* NDJSON instead of lines for people */
    int progress; /* a live "verifying n/m" line on stderr */
    int out_fd;   /* where results go (stdout) */
} RxAuditOptions;

typedef struct RxAuditCounts {
    size_t files; /* outputs checked */
    size_t good, damaged, replaced, missing;
    size_t unrecorded; /* good, but the journal had no identity to compare */
} RxAuditCounts;

void rx_audit_options_default(RxAuditOptions *o);

/*
 * Check every output and print the results. Returns 0 when the check ran
 * (look at counts: damage is a result, not an error), or a negative code when
 * it could not: the journal cannot be read (AVERROR(ENOENT), AVERROR_INVALIDDATA
 * for a damaged one, ...), out of memory. err then holds one line naming the
 * cause.
 */
int rx_audit_run(const RxAuditOptions *o, RxAuditCounts *counts, char *err, size_t errsize);

#endif
