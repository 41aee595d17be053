/*
 * index.c - the journal's identity index: the latest entry of a file by
 * (size, hash, path), and by content alone for a file that moved
 * (journal_int.h).
 */
#include "journal/journal_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>

/* ---- the identity index ---- */

static size_t id_slot(int64_t size, const char *hash)
{
    uint64_t h = 0;
    for (int i = 0; i < 16; i++)
        h = h << 4 | (uint64_t)rx_rec_hexval(hash[i]);
    return (size_t)(h ^ ((uint64_t)size * UINT64_C(0x9e3779b97f4a7c15)));
}

/* The table cell of a file, (content, path): the one that holds it, or the
 * empty one where it would go. Copies of one content under several paths
 * are several files; they share a probe sequence (the slot ignores rel). */
static size_t *cell(const RxJournal *j, int64_t size, const char *hash, const char *rel)
{
    size_t mask = j->tcap - 1, h = id_slot(size, hash) & mask;

    while (j->table[h]) {
        const RxJournalEntry *e = j->files[j->table[h] - 1];
        if (e->id.size == size && !memcmp(e->id.hash, hash, 32) && !strcmp(e->id.rel, rel))
            break;
        h = (h + 1) & mask;
    }
    return &j->table[h];
}

/* The first-recorded file with this content under any path, or NULL. */
static RxJournalEntry *same_content(const RxJournal *j, int64_t size, const char *hash)
{
    size_t mask = j->tcap - 1, h = id_slot(size, hash) & mask;

    for (; j->table[h]; h = (h + 1) & mask) {
        RxJournalEntry *e = j->files[j->table[h] - 1];
        if (e->id.size == size && !memcmp(e->id.hash, hash, 32))
            return e;
    }
    return NULL;
}

/* Make room for one more entry, so that rx_index_publish() cannot fail once a record
 * is on disk. */
int rx_index_reserve(RxJournal *j)
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? 2 * j->cap : 64;
        RxJournalEntry **f = realloc(j->files, cap * sizeof(*f));
        if (!f)
            return AVERROR(ENOMEM);
        j->files = f;
        j->cap = cap;
    }
    if ((j->n + 1) * 2 > j->tcap) {
        size_t tcap = 2 * j->tcap, *old = j->table;
        j->table = calloc(tcap, sizeof(*j->table));
        if (!j->table) {
            j->table = old;
            return AVERROR(ENOMEM);
        }
        j->tcap = tcap;
        for (size_t i = 0; i < j->n; i++)
            *cell(j, j->files[i]->id.size, j->files[i]->id.hash, j->files[i]->id.rel) = i + 1;
        free(old);
    }
    if (j->live && j->nretired == j->rcap) {
        size_t cap = j->rcap ? 2 * j->rcap : 64;
        RxJournalEntry **r = realloc(j->retired, cap * sizeof(*r));
        if (!r)
            return AVERROR(ENOMEM);
        j->retired = r;
        j->rcap = cap;
    }
    return 0;
}

/* Make e the latest entry of its identity. Call rx_index_reserve() first. */
void rx_index_publish(RxJournal *j, RxJournalEntry *e)
{
    size_t *c = cell(j, e->id.size, e->id.hash, e->id.rel);

    if (*c) {
        RxJournalEntry **slot = &j->files[*c - 1];
        if (j->live)
            j->retired[j->nretired++] = *slot;
        else
            rx_entry_free(*slot);
        *slot = e;
    } else {
        j->files[j->n++] = e;
        *c = j->n;
    }
}

int rx_index_valid_id(const RxFileId *id)
{
    return id && id->rel && id->size >= 0 && rx_rec_is_hash(id->hash);
}

/* The latest entry of the file (content and path), or NULL. Caller holds
 * j->lock. */
RxJournalEntry *rx_index_lookup(const RxJournal *j, const RxFileId *id)
{
    size_t *c = cell(j, id->size, id->hash, id->rel);
    return *c ? j->files[*c - 1] : NULL;
}

const RxJournalEntry *rx_journal_find(RxJournal *j, const RxFileId *id)
{
    const RxJournalEntry *e;

    if (!j || !rx_index_valid_id(id))
        return NULL;
    pthread_mutex_lock(&j->lock);
    e = rx_index_lookup(j, id);
    if (!e)
        e = same_content(j, id->size, id->hash);
    pthread_mutex_unlock(&j->lock);
    return e;
}

size_t rx_journal_count(RxJournal *j)
{
    size_t n;

    if (!j)
        return 0;
    pthread_mutex_lock(&j->lock);
    n = j->n;
    pthread_mutex_unlock(&j->lock);
    return n;
}

const RxJournalEntry *rx_journal_entry(RxJournal *j, size_t i)
{
    const RxJournalEntry *e = NULL;

    if (!j)
        return NULL;
    pthread_mutex_lock(&j->lock);
    if (i < j->n)
        e = j->files[i];
    pthread_mutex_unlock(&j->lock);
    return e;
}
