/*
 * journal_int.h - what the files of src/journal/ share about an open
 * journal: its state, the entries (entry.c), the identity index (index.c),
 * the replay and the lock (journal.c) that repair (repair.c) uses too.
 *
 * In memory, the journal is the latest entry per identity (size + content
 * hash) in an array in first-seen order, indexed by an open-addressing table.
 * An entry is never modified once published: a new state is a new entry, and
 * the replaced one is kept ("retired") until close, so that pointers handed to
 * other threads stay valid without copying.
 */
#ifndef RX_JOURNAL_INT_H
#define RX_JOURNAL_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "journal/record.h"
#include "reencode/journal.h"

struct RxJournal {
    pthread_mutex_t lock; /* guards everything below once the journal is open */
    int fd;               /* -1: a buffer journal */
    int readonly;
    int failed;  /* sticky error of a write whose outcome is unknown */
    int live;    /* replay done: replaced entries are retired, not freed */
    int64_t end; /* file size after the last valid record */
    int64_t seq; /* sequence number of the last record */

    RxJournalEntry **files; /* latest entry per identity, in first-seen order */
    size_t n, cap;
    size_t *table; /* open addressing over files: index + 1, 0 = empty */
    size_t tcap;   /* a power of two, at least twice n */
    RxJournalEntry **retired;
    size_t nretired, rcap;
};

enum LoadMode {
    LOAD_STRICT,  /* open: torn tail ignored, damaged middle refused */
    LOAD_SALVAGE, /* repair: damaged lines dropped, the valid ones kept */
    LOAD_PEEK,    /* lock refused: only the last session record matters */
};

/* journal.c: the journal proper. */
RxJournal *rx_journal_new(void);
/* Read the whole file from offset 0 (whatever the fd's offset), until EOF. */
int rx_journal_read_all(int fd, char **out, size_t *out_len);
/* Open path read-write and lock it (create: if missing). */
int rx_journal_open_locked(const char *path, int create, int wait, RxJournalReport *rep, int *pfd);
/* Replay buf into j (NULL in LOAD_PEEK). */
int rx_journal_load(RxJournal *j, const char *buf, size_t len, RxJournalReport *rep,
                    enum LoadMode mode, int64_t *valid_end, char *kept, size_t *kept_len);

/* entry.c: entries and their records. */
void rx_entry_free(RxJournalEntry *e);
void rx_entry_to_rec(Rec *r, const RxJournalEntry *e, const char *state_name);
/* r has passed the parser's checks. */
RxJournalEntry *rx_entry_from_rec(const Rec *r);
RxJournalEntry *rx_entry_next(const RxJournalEntry *prev, const RxFileId *id, RxState state,
                              const RxResult *res, const char *output, const char *original,
                              int note);
void rx_entry_add_crash(RxJournalEntry *e, const RxCrashRecord *c);

/* index.c: the identity index. Callers hold j->lock (or are alone with j). */
int rx_index_reserve(RxJournal *j);
void rx_index_publish(RxJournal *j, RxJournalEntry *e);
RxJournalEntry *rx_index_lookup(const RxJournal *j, const RxFileId *id);
int rx_index_valid_id(const RxFileId *id);

#endif
