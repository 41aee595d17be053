/*
 * ready.h - is a recording finished? The checks `watch` makes before it
 * lets a file into a batch (watch.h).
 *
 * A recorder (Game Bar) writes an MP4 in pieces over minutes and its index
 * (moov) last. Three checks, cheapest first:
 *   1. settled: its size and mtime have not changed for the settle time
 *      (the table below remembers since when each file looks as it does);
 *   2. no writer: no process has it open for writing (every /proc/PID/fd
 *      link this process may read, the flags in /proc/PID/fdinfo/FD);
 *   3. complete: libavformat opens it and finds its streams; an MP4 without
 *      its moov does not open.
 * A file failing 2 or 3 is "waiting"; the table keeps that verdict for as
 * long as the file looks the same, so a file that stays incomplete is
 * parsed once, not at every pass.
 *
 * Calling sequence, once per look at the tree:
 *     rx_ready_table_new(&t, settle);
 *     rx_ready_begin(t);
 *     for each file: e = rx_ready_see(t, path, size, mtime_ns, now, wall_ns);
 *     rx_ready_end(t);                            files not seen are dropped
 *     ... rx_ready_writers(), rx_ready_parses() on the settled ones ...
 *     rx_ready_find(t, path, size, mtime_ns)      the verdict, by lookup
 *     rx_ready_table_free(&t);
 *
 * Thread-safety: a table is used by one thread at a time; rx_ready_writers()
 * and rx_ready_parses() keep no state.
 */
#ifndef RX_READY_H
#define RX_READY_H

#include <stddef.h>
#include <stdint.h>

typedef enum RxReadyState {
    RX_READY_SETTLING = 0, /* changed within the settle time, or not checked yet */
    RX_READY_WRITER,       /* a process has it open for writing */
    RX_READY_INCOMPLETE,   /* settled, no writer seen, but it does not parse */
    RX_READY_YES,          /* all three checks passed */
} RxReadyState;

typedef struct RxReadyEntry {
    char *path; /* owned by the table */
    int64_t size;
    int64_t mtime_ns;
    double since; /* monotonic seconds since it looks like this */
    RxReadyState state;
    double checked; /* monotonic seconds of the last writer/parse check, <0 never */
    int noted;      /* the caller said why it waits (once per look of the file) */
    int offered;    /* the caller handed it to a batch as it looks now */
    int seen;       /* in the current look (rx_ready_begin .. rx_ready_end) */
} RxReadyEntry;

typedef struct RxReadyTable RxReadyTable;

/* settle: seconds a file must stay unchanged. Returns 0 or AVERROR(ENOMEM). */
int rx_ready_table_new(RxReadyTable **out, double settle);

void rx_ready_table_free(RxReadyTable **t);

void rx_ready_begin(RxReadyTable *t);

/*
 * A file as seen now (now: monotonic seconds; wall_ns: the real time, ns).
 * A new file, or one whose size or mtime differs from the last look, starts
 * its clock again (state SETTLING, noted and offered cleared). A file first
 * seen with an mtime older than the settle time counts as settled at once
 * (it was there before watch began). Returns the entry (owned by the table,
 * valid until the next rx_ready_see() or rx_ready_end()) or NULL when out of
 * memory.
 */
RxReadyEntry *rx_ready_see(RxReadyTable *t, const char *path, int64_t size, int64_t mtime_ns,
                           double now, int64_t wall_ns);

/* Drop the files not seen since rx_ready_begin(); sort the rest by path. */
void rx_ready_end(RxReadyTable *t);

/* Has e kept its size and mtime for the settle time? Seconds still to wait
 * in *left (0 when settled). */
int rx_ready_settled(const RxReadyTable *t, const RxReadyEntry *e, double now, double *left);

size_t rx_ready_count(const RxReadyTable *t);
RxReadyEntry *rx_ready_get(RxReadyTable *t, size_t i);

/* The entry for path if the file still looks like size and mtime, else NULL. */
const RxReadyEntry *rx_ready_find(const RxReadyTable *t, const char *path, int64_t size,
                                  int64_t mtime_ns);

/* A file to look for among the open files of every process. */
typedef struct RxReadyFile {
    uint64_t dev, ino;
    int written; /* out: open for writing (O_WRONLY or O_RDWR) by some process */
} RxReadyFile;

/* What rx_ready_writers() could see. */
typedef struct RxReadyScan {
    int processes;  /* processes looked at */
    int unreadable; /* processes whose fd table this process may not read */
} RxReadyScan;

/*
 * Mark which of files[0..n-1] some process (this one included) holds open
 * for writing: one sweep of /proc/PID/fd for all of them. Processes this one
 * may not look into (other users', hidepid) are counted in scan->unreadable.
 * Returns 0, or a negative errno when /proc itself cannot be read (nothing
 * is marked then).
 */
int rx_ready_writers(RxReadyFile *files, size_t n, RxReadyScan *scan);

/*
 * Does path parse as a whole media file: libavformat opens it and finds its
 * streams (an MP4 whose moov is not written yet fails to open)? Returns 0,
 * or a negative AVERROR with a one-line reason in why.
 */
int rx_ready_parses(const char *path, char *why, size_t size);

#endif
