/*
 * journals.c - every journal of a root, read together (see journals.h).
 */
#include "reencode/journals.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/avstring.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>

typedef struct Member {
    RxJournal *j;
    char *path;
    RxShard shard;
} Member;

typedef struct Merged {
    const RxJournalEntry *e;
    size_t journal;
    size_t order; /* first appearance over all journals, in set order */
} Merged;

struct RxJournals {
    Member *m;
    size_t n;
    Merged *files;
    size_t n_files;
    int merged;
};

static int by_shard(const void *pa, const void *pb)
{
    const Member *a = pa, *b = pb;

    if (a->shard.count != b->shard.count)
        return a->shard.count < b->shard.count ? -1 : 1;
    return a->shard.index < b->shard.index ? -1 : a->shard.index > b->shard.index;
}

static int is_own(const RxShard *own, const RxShard *s)
{
    return own && own->count == s->count && (!s->count || own->index == s->index);
}

/* The names of the journals in dir, as members without journals yet. */
static int list_members(RxJournals *s, const char *dir, const char *name, const RxShard *own)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t cap = 0;
    int ret = 0;

    if (!d)
        return errno == ENOENT ? 0 : AVERROR(errno);
    while ((de = readdir(d))) {
        RxShard sh;
        if (!rx_shard_journal_name(de->d_name, name, &sh) || is_own(own, &sh))
            continue;
        if (s->n == cap) {
            Member *m = av_realloc_array(s->m, cap ? 2 * cap : 8, sizeof(*m));
            if (!m) {
                ret = AVERROR(ENOMEM);
                break;
            }
            s->m = m;
            cap = cap ? 2 * cap : 8;
        }
        s->m[s->n].j = NULL;
        s->m[s->n].shard = sh;
        s->m[s->n].path = av_asprintf("%s/%s", dir, de->d_name);
        if (!s->m[s->n].path) {
            ret = AVERROR(ENOMEM);
            break;
        }
        s->n++;
    }
    closedir(d);
    if (s->n > 1)
        qsort(s->m, s->n, sizeof(*s->m), by_shard);
    return ret;
}

int rx_journals_open(RxJournals **out, const char *base, const RxShard *own,
                     RxJournalReport *report, char *bad, size_t badsize)
{
    RxJournals *s = av_mallocz(sizeof(*s));
    RxJournalReport rep;
    const char *slash = strrchr(base, '/');
    char *dir = NULL;
    size_t kept = 0;
    int ret;

    *out = NULL;
    if (badsize)
        bad[0] = '\0';
    if (!report)
        report = &rep;
    memset(report, 0, sizeof(*report));
    if (!s)
        return AVERROR(ENOMEM);
    dir = !slash          ? av_strdup(".")
          : slash == base ? av_strdup("/")
                          : av_strndup(base, (size_t)(slash - base));
    if (!dir) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    ret = list_members(s, dir, slash ? slash + 1 : base, own);
    if (ret < 0) {
        av_strlcpy(bad, dir, badsize);
        goto fail;
    }
    for (size_t i = 0; i < s->n; i++) {
        ret = rx_journal_open(&s->m[i].j, s->m[i].path, RX_JOURNAL_READONLY, report);
        if (ret == AVERROR(ENOENT)) { /* removed since we listed it */
            av_freep(&s->m[i].path);
            continue;
        }
        if (ret < 0) {
            av_strlcpy(bad, s->m[i].path, badsize);
            goto fail;
        }
        if (kept != i) {
            s->m[kept] = s->m[i];
            memset(&s->m[i], 0, sizeof(s->m[i]));
        }
        kept++;
    }
    s->n = kept;
    av_free(dir);
    *out = s;
    return 0;
fail:
    av_free(dir);
    rx_journals_free(&s);
    return ret;
}

size_t rx_journals_count(const RxJournals *s)
{
    return s ? s->n : 0;
}

RxJournal *rx_journals_journal(const RxJournals *s, size_t i)
{
    return i < s->n ? s->m[i].j : NULL;
}

const char *rx_journals_path(const RxJournals *s, size_t i)
{
    return i < s->n ? s->m[i].path : NULL;
}

const RxShard *rx_journals_shard(const RxJournals *s, size_t i)
{
    return i < s->n ? &s->m[i].shard : NULL;
}

static int is_outcome(RxState st)
{
    return st == RX_STATE_DONE || st == RX_STATE_ENCODED || st == RX_STATE_SKIPPED;
}

int rx_journals_prefer(const RxJournalEntry *a, const RxJournalEntry *b)
{
    if (is_outcome(a->result.state) != is_outcome(b->result.state))
        return is_outcome(a->result.state);
    /* ISO-8601 UTC of fixed width: the byte order is the time order. */
    return strcmp(a->time, b->time) > 0;
}

const RxJournalEntry *rx_journals_find(RxJournals *s, const RxFileId *id, RxJournalsAcceptFn accept,
                                       void *opaque)
{
    const RxJournalEntry *best = NULL;

    for (size_t i = 0; s && i < s->n; i++) {
        const RxJournalEntry *e = rx_journal_find(s->m[i].j, id);
        if (e && (!accept || accept(opaque, e)) && (!best || rx_journals_prefer(e, best)))
            best = e;
    }
    return best;
}

static int by_key(const void *pa, const void *pb)
{
    const Merged *a = pa, *b = pb;
    int c;

    if (a->e->id.size != b->e->id.size)
        return a->e->id.size < b->e->id.size ? -1 : 1;
    if ((c = strcmp(a->e->id.hash, b->e->id.hash)) || (c = strcmp(a->e->id.rel, b->e->id.rel)))
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int by_order(const void *pa, const void *pb)
{
    const Merged *a = pa, *b = pb;

    return a->order < b->order ? -1 : a->order > b->order;
}

static int same_key(const Merged *a, const Merged *b)
{
    return a->e->id.size == b->e->id.size && !strcmp(a->e->id.hash, b->e->id.hash) &&
           !strcmp(a->e->id.rel, b->e->id.rel);
}

int rx_journals_merge(RxJournals *s)
{
    size_t total = 0, n = 0, w = 0;

    if (s->merged)
        return 0;
    for (size_t i = 0; i < s->n; i++)
        total += rx_journal_count(s->m[i].j);
    s->files = av_malloc_array(total ? total : 1, sizeof(*s->files));
    if (!s->files)
        return AVERROR(ENOMEM);
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < rx_journal_count(s->m[i].j); k++, n++)
            s->files[n] = (Merged){rx_journal_entry(s->m[i].j, k), i, n};
    /* Group the records of each file, then keep one per group: the winner,
     * at the place where the file first appeared. */
    qsort(s->files, n, sizeof(*s->files), by_key);
    for (size_t i = 0; i < n;) {
        size_t best = i, k;
        for (k = i + 1; k < n && same_key(&s->files[k], &s->files[i]); k++)
            if (rx_journals_prefer(s->files[k].e, s->files[best].e))
                best = k;
        s->files[w] = s->files[best];
        s->files[w++].order = s->files[i].order;
        i = k;
    }
    qsort(s->files, w, sizeof(*s->files), by_order);
    s->n_files = w;
    s->merged = 1;
    return 0;
}

size_t rx_journals_files(const RxJournals *s)
{
    return s->n_files;
}

const RxJournalEntry *rx_journals_file(const RxJournals *s, size_t i, size_t *journal)
{
    if (i >= s->n_files)
        return NULL;
    if (journal)
        *journal = s->files[i].journal;
    return s->files[i].e;
}

void rx_journals_free(RxJournals **ps)
{
    RxJournals *s = ps ? *ps : NULL;

    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        rx_journal_close(&s->m[i].j);
        av_free(s->m[i].path);
    }
    av_free(s->m);
    av_free(s->files);
    av_freep(ps);
}
