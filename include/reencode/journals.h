/*
 * journals.h - every journal of a root, read together.
 *
 * Shards write their own journals, BASE.K-of-N beside BASE (shard.h), so
 * that N workers on a network file system never wait for one lock. What
 * one shard settled must stay settled for all, also when a later run splits
 * the tree another way (another N): a run opens every other journal of its
 * BASE read-only at its start (rx_journals_open(), leaving its own out) and
 * looks a file up in all of them (rx_journals_find()); `status` merges them
 * (rx_journals_merge()).
 *
 * Read-only means no lock, no truncation, no write: the other journals may
 * be being written this very moment, and a half-written last line is only a
 * torn tail to ignore (journal.h), never something to cut off.
 *
 * Which record of a file wins when several journals know it
 * (rx_journals_prefer()): an outcome (done, encoded, skipped) over anything
 * else, since a file done by one shard stays done whatever another shard's
 * clock says; otherwise the latest time; on a tie the journal met first
 * (BASE, then the shards by N and K).
 *
 * Calling sequence:
 *     rx_journals_open(&set, base, &own, &report, bad, sizeof(bad));
 *     rx_journals_find(set, &id, accept, opaque) ...       (run)
 *     rx_journals_merge(set); rx_journals_file(set, i, &from) ...   (status)
 *     rx_journals_free(&set);
 *
 * Thread-safety: rx_journals_find() may run on several threads at once (the
 * journals' own locks); open, merge and free must not race with anything.
 */
#ifndef RX_JOURNALS_H
#define RX_JOURNALS_H

#include <stddef.h>

#include "reencode/journal.h"
#include "reencode/shard.h"

typedef struct RxJournals RxJournals;

/*
 * Open read-only every journal of base ("DIR/NAME": DIR/NAME itself and
 * DIR/NAME.K-of-N), except the one of own when own is not NULL (own->count
 * 0: NAME itself). A directory or journal that does not exist is no error:
 * the set may be empty. Returns 0 with *out set, or a negative code with
 * *out NULL: AVERROR_INVALIDDATA when a journal is damaged in the middle or
 * is not a journal, a negative errno; then bad holds that journal's path and
 * report (may be NULL) what rx_journal_open() said.
 */
int rx_journals_open(RxJournals **out, const char *base, const RxShard *own,
                     RxJournalReport *report, char *bad, size_t badsize);

size_t rx_journals_count(const RxJournals *s);

/* Journal i (0 <= i < count), its path and its shard (count 0 for BASE). */
RxJournal *rx_journals_journal(const RxJournals *s, size_t i);
const char *rx_journals_path(const RxJournals *s, size_t i);
const RxShard *rx_journals_shard(const RxJournals *s, size_t i);

/* Does a's record win over b's (see above)? 1 or 0. */
int rx_journals_prefer(const RxJournalEntry *a, const RxJournalEntry *b);

/* Decides whether an entry found for a file is about that file (the batch
 * looks at the disk for a file recorded under another path). */
typedef int (*RxJournalsAcceptFn)(void *opaque, const RxJournalEntry *e);

/*
 * The winning entry for id among the journals of the set (rx_journal_find()
 * in each, kept only when accept, which may be NULL, says yes), or NULL.
 */
const RxJournalEntry *rx_journals_find(RxJournals *s, const RxFileId *id, RxJournalsAcceptFn accept,
                                       void *opaque);

/*
 * One entry per file known to any journal of the set: files are the same
 * when size, hash and rel are; the winner is rx_journals_prefer()'s. In the
 * order files first appear (BASE first, then the shards). Returns 0 or
 * AVERROR(ENOMEM). Call again after nothing: the set does not change.
 */
int rx_journals_merge(RxJournals *s);
size_t rx_journals_files(const RxJournals *s);

/* Merged file i, and in *journal (may be NULL) the index of the journal
 * whose record won. */
const RxJournalEntry *rx_journals_file(const RxJournals *s, size_t i, size_t *journal);

/* Close every journal, free everything, set *s to NULL. Accepts NULL. */
void rx_journals_free(RxJournals **s);

#endif
