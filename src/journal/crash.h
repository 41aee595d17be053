/*
 * crash.h - what a crash leaves behind: which files were being encoded when
 * the process died on a fatal signal, so that one bad file cannot stop a
 * batch for ever.
 *
 * Encodes run in-process, so a fault inside a codec library kills the whole
 * batch. Before each encode the batch "arms" its slot: the start of that
 * file's crash line (rx_journal_crash_head()) is formatted in advance and
 * published with an atomic store; after the encode the slot is disarmed. On
 * SIGSEGV, SIGBUS, SIGABRT, SIGFPE or SIGILL the handler (rx_crash_install())
 * only loops over the slots, appends "alone", the signal's name, the time
 * and the checksum with async-signal-safe code (no stdio, no malloc, no
 * locks), write(2)s each line to <journal>.crash, and dies of the same
 * signal with its default action, so the exit status and the core-dump
 * policy are what they were without it. The next run of that journal reads
 * the crash file before planning and folds it into the journal
 * (rx_journal_crash(); docs/journal.md says what is recorded).
 *
 * The area is plain memory mapped shared (MAP_SHARED | MAP_ANONYMOUS) so that
 * a supervisor (supervise.h) that forked the worker reads it after the
 * worker died: which files were being encoded (its log line, and whether the
 * crash blames any file), and, when the handler could not run (a stack
 * overflow on a thread without a signal stack, a fault during the handler),
 * it writes the lines itself. Every line carries the crash's id (one per
 * process), so a line written twice is folded once.
 *
 * Calling sequence of a worker:
 *     rx_crash_area_new(&a);                    main, before any thread
 *     rx_crash_install(a);                      main
 *     rx_crash_open(a, journal, &recs, &n, &r); batch, journal locked
 *     ... fold recs (rx_crash_judge(), rx_journal_crash()) ...; rx_crash_clear(a);
 *     per encode: rx_crash_arm(a, slot, &id, name) ... rx_crash_disarm(a, slot);
 *     rx_crash_close(a);                        batch, before the journal closes
 *     rx_crash_area_free(&a);                   main
 *
 * Thread-safety: one slot is armed and disarmed by one thread at a time (the
 * pool's owner of that slot); different slots from different threads. The
 * handler may run on any thread at any moment. The rest from one thread.
 * Global state: the installed area (a signal handler gets no argument), and
 * each thread's signal stack (rx_crash_altstack_push()).
 */
#ifndef RX_CRASH_H
#define RX_CRASH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "reencode/journal.h"
#include "reencode/result.h"

/* Files that can be in flight at once: the pool's largest size. */
#define RX_CRASH_SLOTS 32

typedef struct RxCrashArea RxCrashArea;

/* A zeroed area, mapped shared so that a child forked later shares it.
 * Returns 0 or a negative errno. */
int rx_crash_area_new(RxCrashArea **out);

/* Unmap it; *a = NULL. Accepts NULL. Not while a handler may use it. */
void rx_crash_area_free(RxCrashArea **a);

/*
 * Handle the fatal signals (SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL) of this
 * process with a, on the alternate signal stack of the thread that faults
 * (when it has one), SA_NODEFER (the handler re-raises the signal itself
 * once its default action is back). Returns 0 or a negative errno.
 */
int rx_crash_install(RxCrashArea *a);

/*
 * Give the calling thread an alternate signal stack, so that the handler can
 * run even when the thread faulted by overflowing its own stack; pop() before
 * the thread ends. A thread that has one already (the sanitizers give every
 * thread one) keeps it. Every thread that runs codec code needs its own: the
 * pool's workers (which run the encoders) and each job's source thread (the
 * decoders); the libraries' own threads have none, and a supervisor writes
 * the lines a handler could not. Returns 0 or a negative errno.
 */
int rx_crash_altstack_push(void);
void rx_crash_altstack_pop(void);

/*
 * Open (create) the crash file of the journal at journal_path,
 * "<journal_path>.crash", and read the records in it (*recs, *n; free with
 * rx_journal_crashes_free()); report as rx_journal_read_crashes(). The
 * caller holds the journal's lock, which guards the crash file too. From
 * here a crash writes its lines there. Returns 0 or a negative errno.
 */
int rx_crash_open(RxCrashArea *a, const char *journal_path, RxCrashRecord **recs, size_t *n,
                  RxJournalReport *report);

/* Empty the crash file once its records are in the journal (durably).
 * Returns 0 or a negative errno. */
int rx_crash_clear(RxCrashArea *a);

/* Stop writing to the crash file and close it; an empty one is removed.
 * Call while the journal's lock is still held. Accepts NULL. */
void rx_crash_close(RxCrashArea *a);

/*
 * The file id, named name for people (the supervisor's log line), is being
 * encoded in slot (0..RX_CRASH_SLOTS-1): a crash from now on records it.
 * Returns 0, AVERROR(EINVAL) for a bad slot, AVERROR(ENOMEM). a may be NULL
 * (nothing recorded).
 */
int rx_crash_arm(RxCrashArea *a, int slot, const RxFileId *id, const char *name);

/* The encode in slot ended. Accepts a NULL a. */
void rx_crash_disarm(RxCrashArea *a, int slot);

/*
 * Policy: what the crash c makes of the file e (its journal entry before c
 * is folded in). A file whose encode was under way (state started) that
 * was a suspect already (in flight at an earlier crash) and crashed again
 * while no other file was being encoded is failed: returns 1 and fills
 * *failed with e's result, err RX_ERR_CRASHED and the error line ("the
 * encoder crashed (SIGSEGV) on 'a.mp4' twice; original kept"), naming the
 * file as path (as the batch names it in every other line; NULL: its rel).
 * Otherwise it is a suspect, to be encoded alone: returns 0.
 */
int rx_crash_judge(const RxJournalEntry *e, const RxCrashRecord *c, const char *path,
                   RxResult *failed);

/*
 * The handler's formatter, async-signal-safe: into out (size bytes) the
 * head (len bytes, from rx_journal_crash_head(); crc: rx_crash_crc32() of it
 * with ~0 in and nothing out) followed by ,"alone":A,"signal":"NAME",
 * "time":"..." (now, UTC), '}', ' ', the line's CRC-32 and '\n'. Returns the
 * line's length, or 0 when it does not fit.
 */
size_t rx_crash_format_line(char *out, size_t size, const char *head, size_t len, uint32_t crc,
                            int alone, int sig, const struct timespec *now);

/* zlib's CRC-32 register after the bytes, from crc (~0 to start; the final
 * value is crc ^ ~0). Bitwise, no table: async-signal-safe. */
uint32_t rx_crash_crc32(uint32_t crc, const void *data, size_t len);

/* "SIGSEGV" and so on; "SIGUNKNOWN" for a signal without a name here. */
const char *rx_crash_signal_name(int sig);

/* Is sig one of the fatal signals the handler records? */
int rx_crash_is_fatal(int sig);

/*
 * The first worker's journal session (a sequence number): files the journal
 * failed after it failed in this run, so --retry-failed does not retry them
 * in a later worker. Returns the number the first caller gave (own when it
 * is the first).
 */
int64_t rx_crash_run_seq(RxCrashArea *a, int64_t own);

/* ---- for the supervisor (supervise.h) */

/* The handler prints nothing itself: a supervisor says what happened. */
void rx_crash_set_supervised(RxCrashArea *a);

/*
 * After the worker died on sig: the number of files it was encoding, their
 * names into names ("'a.mp4' and 'b.mp4'", cut to size). When the handler
 * did not write their lines, they are written now (under the journal's lock,
 * when no other run holds it).
 */
int rx_crash_after_death(RxCrashArea *a, int sig, char *names, size_t size);

/* Before the next worker: nothing armed, no crash file; count the restart. */
void rx_crash_reset(RxCrashArea *a, int sig);

/* Restarts so far, and the signal the last worker died on. */
int rx_crash_restarts(const RxCrashArea *a, int *sig);

#endif
