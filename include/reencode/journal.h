/*
 * journal.h - the crash-safe checkpoint journal of a batch.
 *
 * The journal records, durably and in order, what happened to each file, so
 * that a batch interrupted by kill -9 or a power cut resumes where it stopped.
 * It is a text file, append-only, one checksummed record per line (the format
 * and the protocol are in docs/journal.md). Each change of state is one
 * write() of the whole line followed by fdatasync(): when rx_journal_record()
 * returns 0 the record survives a crash.
 *
 * On open the journal is replayed. A damaged LAST line (a write cut short)
 * is reported, ignored and, by a writer, cut off before anything is appended.
 * A damaged line FOLLOWED by valid ones is not a crash's doing: open refuses
 * (AVERROR_INVALIDDATA) and names the line; rx_journal_repair() salvages.
 *
 * Files are known by identity, not only by path: size and a hash of the first
 * and last 64 KiB, plus the path. A file moved within the tree is found by
 * its content (rx_journal_find()); a file replaced at the same path is a new
 * one; touching it changes nothing; copies under two paths are two files.
 *
 * One writer at a time: a writer holds flock(LOCK_EX) on the journal for as
 * long as it is open and appends a "session" record (pid, host, time) right
 * after taking the lock, so that a second writer can be told who holds it.
 * Readers (RX_JOURNAL_READONLY, for `status`) take no lock and never write.
 *
 * Calling sequence of a batch:
 *     rx_journal_dir_create("ROOT/.reencode");
 *     rx_journal_open(&j, "ROOT/.reencode/journal", 0, &report);
 *     for each file:
 *         rx_file_id_compute(&id, path, rel);
 *         e = rx_journal_find(j, &id);     skip if done or skipped
 *         rx_journal_record(j, &id, RX_STATE_STARTED, NULL, out, NULL);
 *         ... encode ...
 *         rx_journal_record(j, &id, RX_STATE_ENCODED, &result, out, NULL);
 *         ... rename the original ...
 *         rx_journal_record(j, &id, RX_STATE_DONE, NULL, NULL, "renamed");
 *         rx_file_id_clear(&id);
 *     rx_journal_close(&j);
 *
 * Thread-safety: rx_journal_record(), rx_journal_find(), rx_journal_count()
 * and rx_journal_entry() may be called concurrently on one journal (one mutex
 * inside; records reach the file one at a time, in sequence order). Entries
 * are immutable once published and stay valid until rx_journal_close(): a
 * pointer returned by find or entry never changes under its reader, even
 * while other threads record new states of the same file (those publish a
 * new entry). Open, repair and close must not race with anything on the same
 * journal. No global state.
 */
#ifndef RX_JOURNAL_H
#define RX_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/bprint.h>

#include "reencode/result.h"

/* Default location: <first root>/RX_JOURNAL_DIR/RX_JOURNAL_NAME. */
#define RX_JOURNAL_DIR  ".reencode"
#define RX_JOURNAL_NAME "journal"

/* The default journal of a batch whose first root is base (av_free() it);
 * NULL when out of memory. */
char *rx_journal_default_path(const char *base);

/* Room for the names of a file's crash signals, with their commas. */
#define RX_CRASH_SIGNALS_MAX 48

/* Bytes hashed at each end of a file for its identity. */
#define RX_FILE_ID_SPAN (64 * 1024)

/* Identity of a file: what makes it "the same file" across runs. */
typedef struct RxFileId {
    char *rel;        /* path relative to the root; owned, see rx_file_id_clear() */
    int64_t size;     /* bytes */
    int64_t mtime_ns; /* modification time, ns since the epoch (informative only) */
    char hash[33];    /* SHA-256 of the first and last 64 KiB, first 128 bits, lowercase hex */
} RxFileId;

/*
 * Fill id for the file at path (opened and read, at most 128 KiB), with a
 * copy of rel. A file of 128 KiB or less is hashed whole; a larger one as its
 * first 64 KiB followed by its last 64 KiB. id is overwritten, not freed:
 * clear a previous value first. On error id is zeroed.
 * Returns 0, AVERROR(EINVAL) if path is not a regular file, AVERROR(EAGAIN) if
 * the file shrank while being read (still being written: try later), a
 * negative errno from open/read, or AVERROR(ENOMEM).
 */
int rx_file_id_compute(RxFileId *id, const char *path, const char *rel);

/* Free id->rel and zero id. Accepts a zeroed id. */
void rx_file_id_clear(RxFileId *id);

/*
 * What the journal knows of one file: its latest record, made whole (a record
 * written without a result or paths carries those of the file's previous
 * record in the same attempt, see rx_journal_record()).
 */
typedef struct RxJournalEntry {
    RxFileId id;     /* as last recorded: rel and mtime may differ from the file found now */
    RxResult result; /* result.state is the file's state; the rest as last recorded */
    char *output;    /* output path as the batch gave it, or NULL */
    char *original;  /* what was done with the original: "renamed", "kept", "deleted", or NULL */
    int attempts;    /* attempts so far (see rx_journal_record()) */
    int64_t seq;     /* sequence number of the record */
    char time[32];   /* its time, ISO-8601 UTC: "2024-05-01T12:34:56.789Z" */
    /* Crashes (rx_journal_crash()), kept across attempts: how many crashes of
     * the process the file was being encoded at, how many of those while no
     * other file was, their signals ("SIGSEGV" or "SIGSEGV,SIGABRT"), and the
     * id of the last crash folded in ("" if none). */
    int crashes;
    int crashes_alone;
    char crash_signals[RX_CRASH_SIGNALS_MAX];
    char crash[17];
} RxJournalEntry;

/*
 * One line of a crash file (<journal>.crash, docs/journal.md): a file that
 * was being encoded when the process died on a fatal signal. Written by the
 * crash handler (crash.h) in the journal's line format, type "crash"; read
 * back by rx_journal_read_crashes() and folded in by rx_journal_crash().
 */
typedef struct RxCrashRecord {
    RxFileId id;     /* rel (owned, may be "" when too long to record), size, hash */
    long pid;        /* the process that crashed */
    char crash[17];  /* the crash's id, 16 lowercase hex: one per crashed process */
    char signal[16]; /* "SIGSEGV", ... */
    int alone;       /* 1: no other file was being encoded at that moment */
    char time[32];   /* when it crashed, as a record's time */
} RxCrashRecord;

/* What open or repair found. Every field is zero / empty when not applicable. */
typedef struct RxJournalReport {
    long records;           /* valid records read (all types) */
    int torn_tail;          /* 1: the last line was incomplete or damaged and ignored */
    long torn_line;         /* its line number (1-based) */
    int64_t torn_offset;    /* its byte offset: where a writer truncated the file */
    long corrupt_line;      /* first damaged line that is followed by valid ones */
    int64_t corrupt_offset; /* its byte offset */
    char reason[128];       /* what is wrong with torn_line or corrupt_line */
    long dropped;           /* repair: lines dropped (a torn tail counts) */
    char backup[4200];      /* repair: where the original was copied, or "" */
    long holder_pid;        /* the last session record: the lock holder when open */
    long holder_run;        /*   the run to name to people: its supervisor, or holder_pid */
    char holder_host[256];  /*   fails with AVERROR(EWOULDBLOCK), the previous writer */
    char holder_time[32];   /*   otherwise; 0 / "" when there is none */
} RxJournalReport;

typedef struct RxJournal RxJournal;

#define RX_JOURNAL_WAIT     1u /* wait for the lock instead of failing */
#define RX_JOURNAL_READONLY 2u /* status: no lock, no truncation, no writes */
/* The writer is the worker of a supervisor, its parent (supervise.h): the
 * session record names the supervisor too ("parent"), and a refused writer
 * is told that pid, the `reencode run` a person started. */
#define RX_JOURNAL_SUPERVISED 4u

/*
 * Make the journal's directory (mode 0755, less the umask) and, when it was
 * created, fsync its parent so the directory survives a crash.
 * Returns 0 (also when it already exists), AVERROR(ENOTDIR) if dir exists and
 * is not a directory, or a negative errno from mkdir/fsync.
 */
int rx_journal_dir_create(const char *dir);

/* Make the default journal's directory of a batch whose first root is base
 * (base/RX_JOURNAL_DIR), as rx_journal_dir_create(). Returns 0, or a negative
 * code with err set to one line naming the directory and the cause. */
int rx_journal_default_dir_create(const char *base, char *err, size_t errsize);

/*
 * Open the journal at path and replay it. A writer (flags without
 * RX_JOURNAL_READONLY) creates the file if missing (and fsyncs its directory),
 * takes the lock, truncates a torn tail, and appends its session record.
 * report may be NULL; it is filled in on success and failure.
 * On success *out owns the journal (free with rx_journal_close()); on error
 * *out is NULL. Returns 0, or:
 *   AVERROR(EWOULDBLOCK)  another writer holds the lock (report->holder_*)
 *   AVERROR_INVALIDDATA   a damaged record is followed by valid ones
 *                         (report->corrupt_line, reason), or the file is not a
 *                         journal; nothing was changed
 *   AVERROR(ENOENT)       read-only and there is no journal
 *   AVERROR(EINTR)        RX_JOURNAL_WAIT and a signal interrupted the wait
 *   other negative errno / AVERROR(ENOMEM)
 */
int rx_journal_open(RxJournal **out, const char *path, unsigned flags, RxJournalReport *report);

/*
 * Replay a journal held in memory (size bytes at data), read-only, as
 * rx_journal_open(RX_JOURNAL_READONLY) would the same file. For fuzzing and
 * tests; never reads outside [data, data + size).
 */
int rx_journal_open_buffer(RxJournal **out, const void *data, size_t size, RxJournalReport *report);

/*
 * The entry of the file id: the one recorded with the same content (size and
 * hash) and the same rel; failing that, one recorded with the same content
 * under another rel (the file was moved, or is a copy: entry->id.rel !=
 * id->rel tells, and the caller decides which by looking at the disk); NULL
 * if the journal knows no such content. mtime is never compared. Copies of
 * one content under several paths are recorded as separate files.
 */
const RxJournalEntry *rx_journal_find(RxJournal *j, const RxFileId *id);

/*
 * Append a record: the file id is now in state; durable when this returns 0.
 * res (may be NULL) gives the result fields (res->state is ignored), output
 * the output path (may be NULL), original what was done with the original
 * ("renamed", "kept", "deleted", or NULL). Whatever is NULL is carried from
 * the file's previous record, except that RX_STATE_STARTED opens a new
 * attempt with nothing carried. Attempts count: STARTED always opens one;
 * another state opens one when the previous state is not STARTED or ENCODED
 * (a decision taken without encoding, e.g. a failed probe); PENDING never.
 * The record is published to find/entry only once it is on disk.
 * Returns 0, AVERROR(EBADF) on a read-only journal, AVERROR(EINVAL) for a bad
 * argument, AVERROR(ENAMETOOLONG) if the line would exceed 128 KiB, or the
 * negative errno of write/fdatasync. A failed fdatasync leaves the file's
 * state unknown: every later record then fails with the same code.
 */
int rx_journal_record(RxJournal *j, const RxFileId *id, RxState state, const RxResult *res,
                      const char *output, const char *original);

/*
 * Append a record of what was learnt within the file's current attempt (the
 * crf a --target-ssim search chose): its latest state again, res's fields,
 * output and original carried, no new attempt. Durable when it returns 0,
 * so a crash later in the attempt keeps it. Returns as rx_journal_record(),
 * or AVERROR(EINVAL) when the journal knows no record of id (or res is NULL).
 */
int rx_journal_note(RxJournal *j, const RxFileId *id, const RxResult *res);

/*
 * Fold a crash record in: append a record of the file c->id (found as
 * rx_journal_find() finds it) with crashes + 1, crashes_alone + 1 when
 * c->alone, c->signal added to crash_signals, and crash = c->crash. With
 * failed NULL the file keeps its state and attempt (a suspect, to be encoded
 * alone); with failed, it is now RX_STATE_FAILED with failed's fields (as
 * rx_journal_record() takes res). Folding the same crash of a file twice
 * changes nothing: when the entry's crash is c->crash already, nothing is
 * written and 0 returned. Returns as rx_journal_record(), or
 * AVERROR(ENOENT) when the journal knows no such file.
 */
int rx_journal_crash(RxJournal *j, const RxCrashRecord *c, const RxResult *failed);

/*
 * The crash records in a crash file's bytes (len at buf). Every line is
 * checked as strictly as a journal line (and must be of type "crash"); a
 * damaged one, torn by a process dying mid-write, is skipped and counted in
 * report->dropped (the first one's line, offset and reason in corrupt_line,
 * corrupt_offset, reason): each line is a record of its own, so one lost
 * line loses nothing else. Returns 0 with *out (free with
 * rx_journal_crashes_free()) holding *n records, or AVERROR(ENOMEM).
 */
int rx_journal_read_crashes(const char *buf, size_t len, RxCrashRecord **out, size_t *n,
                            RxJournalReport *report);
void rx_journal_crashes_free(RxCrashRecord **recs, size_t n);

/*
 * The start of a crash line for the file id: '{', its fixed fields (v, seq,
 * type, pid, crash, rel, size, hash), no closing brace. The crash handler
 * appends the rest (alone, signal, time, '}', the checksum) when it knows
 * them: rx_crash_format_line() in crash.h. A rel whose escaped form would
 * not fit in max bytes is written as "" (the file is then found by content).
 */
void rx_journal_crash_head(AVBPrint *bp, const RxFileId *id, long pid, const char *crash,
                           size_t max);

/* The sequence number of the last record: right after a writer's open, its
 * session record's. */
int64_t rx_journal_seq(RxJournal *j);

/* Number of files the journal knows, and the i-th (0 <= i < count): the
 * latest entry of each, in the order files first appeared in the journal. */
size_t rx_journal_count(RxJournal *j);
const RxJournalEntry *rx_journal_entry(RxJournal *j, size_t i);

/*
 * Salvage a journal that open refused: keep every valid line (in order, each
 * with a sequence number above the previous kept one), drop the others, copy
 * the original to "<path>.bak-<unix time>" (report->backup), and replace the
 * journal atomically (temporary file, fsync, rename, fsync of the directory).
 * Takes the lock like a writer; does nothing if no line is damaged.
 * Returns 0 (report->dropped says how many lines went), AVERROR(EWOULDBLOCK)
 * if a writer holds the lock, AVERROR_INVALIDDATA if the file is not a
 * journal at all, or a negative errno.
 */
int rx_journal_repair(const char *path, RxJournalReport *report);

/* Release the lock and free everything; *j is set to NULL. Accepts NULL. */
void rx_journal_close(RxJournal **j);

#endif
