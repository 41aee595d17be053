/*
 * find.c - the walk on the calling thread, probes on worker threads.
 *
 * The walker allocates one Item per file found, keeps it in its own array
 * (only the walker touches that array until the workers are joined) and
 * pushes a pointer through a bounded queue; a worker fills the Item's probe
 * fields. Items and scan entries never move, so neither side copies paths.
 * A full queue blocks the walker: memory stays bounded by the queue, not by
 * the tree, while probing lags behind.
 */
#include "reencode/find.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>

#define QUEUE_SIZE   64
#define DEFAULT_JOBS 2
/* Probe threads, not encodes: each waits on the disk and libmediainfo, so a
 * NAS walk may use more of them than a batch runs encodes. */
#define MAX_PROBE_THREADS 64

typedef struct Item {
    RxFound pub;    /* first: rx_find_get() returns &item->pub */
    RxProbe *probe; /* owner of pub.probe */
} Item;

struct RxFind {
    RxScanList *list; /* owns the entries */
    Item **items;     /* sorted by path */
    size_t n;
    size_t warnings;
};

typedef struct Ctx {
    const RxFindOptions *o;
    Item **items; /* walker only */
    size_t n, cap;

    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    Item *queue[QUEUE_SIZE];
    size_t head, count;
    int closed;  /* no more items will come */
    int aborted; /* the walk failed: skip probing what is left */
    size_t found, probed;
} Ctx;

static int on_entry(void *opaque, const RxScanEntry *e)
{
    Ctx *c = opaque;
    int mine = rx_shard_has(&c->o->shard, e->rel);

    if (mine <= 0) /* another shard's (never probed, never listed), or ENOMEM */
        return mine < 0 ? AVERROR(ENOMEM) : 0;
    if (c->o->ready && !c->o->ready(c->o->ready_opaque, e))
        return 0; /* not ready (being written): invisible to this find */

    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        Item **p = realloc(c->items, cap * sizeof(*p));
        if (!p)
            return AVERROR(ENOMEM);
        c->items = p;
        c->cap = cap;
    }
    Item *it = calloc(1, sizeof(*it));
    if (!it)
        return AVERROR(ENOMEM);
    it->pub.entry = e;
    c->items[c->n++] = it;

    pthread_mutex_lock(&c->lock);
    while (c->count == QUEUE_SIZE)
        pthread_cond_wait(&c->not_full, &c->lock);
    c->queue[(c->head + c->count) % QUEUE_SIZE] = it;
    c->count++;
    c->found++;
    pthread_cond_signal(&c->not_empty);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* The file's identity, computed here once for every later use (find.h):
 * on the probe threads, so that hashing overlaps the walk as probing does.
 * A named file that cannot be used is tried too: its caller reports what
 * reading it says. */
static void identify(const RxFindOptions *o, RxFound *f)
{
    if (o->identify)
        f->id_err = rx_file_id_compute(&f->id, f->entry->path, f->entry->rel);
}

static void *worker(void *opaque)
{
    Ctx *c = opaque;

    for (;;) {
        pthread_mutex_lock(&c->lock);
        while (!c->count && !c->closed)
            pthread_cond_wait(&c->not_empty, &c->lock);
        if (!c->count) {
            pthread_mutex_unlock(&c->lock);
            return NULL;
        }
        Item *it = c->queue[c->head];
        c->head = (c->head + 1) % QUEUE_SIZE;
        c->count--;
        int aborted = c->aborted;
        pthread_cond_signal(&c->not_full);
        pthread_mutex_unlock(&c->lock);

        /* Probe outside our lock: MediaInfo has its own. */
        if (!aborted)
            identify(c->o, &it->pub);
        if (aborted)
            it->pub.err = AVERROR(ECANCELED);
        else if (it->pub.entry->err)
            it->pub.err = it->pub.entry->err; /* a named file that cannot be used */
        else if (c->o->skip && c->o->skip(c->o->skip_opaque, &it->pub))
            it->pub.err = RX_ERR_NOT_PROBED; /* the caller knows it already */
        else
            it->pub.err = rx_probe_open(&it->probe, it->pub.entry->path, &c->o->probe);
        it->pub.probe = it->probe;

        pthread_mutex_lock(&c->lock);
        c->probed++;
        if (c->o->progress)
            c->o->progress(c->o->progress_opaque, c->found, c->probed);
        pthread_mutex_unlock(&c->lock);
    }
}

static int cmp_items(const void *a, const void *b)
{
    const Item *x = *(Item *const *)a, *y = *(Item *const *)b;
    return strcmp(x->pub.entry->path, y->pub.entry->path);
}

static void free_items(Item **items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rx_probe_free(&items[i]->probe);
        rx_file_id_clear(&items[i]->pub.id);
        free(items[i]);
    }
    free(items);
}

void rx_find_options_default(RxFindOptions *o)
{
    memset(o, 0, sizeof(*o));
    rx_scan_options_default(&o->scan);
    o->jobs = DEFAULT_JOBS;
}

int rx_find_run(RxFind **out, const char *const *roots, size_t n, const RxFindOptions *o)
{
    RxFindOptions defaults;
    RxScanList *list = NULL;
    RxFind *f = NULL;
    pthread_t threads[MAX_PROBE_THREADS];
    int started = 0, ret;
    Ctx c;

    if (!o) {
        rx_find_options_default(&defaults);
        o = &defaults;
    }
    memset(&c, 0, sizeof(c));
    c.o = o;
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.not_empty, NULL);
    pthread_cond_init(&c.not_full, NULL);

    rx_probe_init(); /* before our threads: it may call setlocale() */
    ret = rx_scan_list_new(&list);
    if (ret < 0)
        goto done;

    int jobs = o->jobs > 0 ? o->jobs : DEFAULT_JOBS;
    if (jobs > MAX_PROBE_THREADS)
        jobs = MAX_PROBE_THREADS;
    for (; started < jobs; started++) {
        int e = pthread_create(&threads[started], NULL, worker, &c);
        if (e) {
            if (!started)
                ret = -e;
            break; /* fewer workers still finish the job */
        }
    }
    if (!started)
        goto done;

    RxScanOptions so = o->scan;
    so.on_entry = on_entry;
    so.entry_opaque = &c;
    ret = rx_scan_run(list, roots, n, &so);
    if (ret >= 0 && o->n_files)
        ret = rx_scan_files(list, o->files, o->n_files, o->files_base, n, &so);

    pthread_mutex_lock(&c.lock);
    c.closed = 1;
    c.aborted = ret < 0;
    pthread_cond_broadcast(&c.not_empty);
    pthread_mutex_unlock(&c.lock);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (ret < 0)
        goto done;

    f = calloc(1, sizeof(*f));
    if (!f) {
        ret = AVERROR(ENOMEM);
        goto done;
    }
    if (c.n > 1)
        qsort(c.items, c.n, sizeof(*c.items), cmp_items);
    f->list = list;
    f->items = c.items;
    f->n = c.n;
    f->warnings = rx_scan_list_warnings(list);
    list = NULL;
    c.items = NULL;
    c.n = 0;
    *out = f;

done:
    free_items(c.items, c.n);
    rx_scan_list_free(&list);
    pthread_cond_destroy(&c.not_full);
    pthread_cond_destroy(&c.not_empty);
    pthread_mutex_destroy(&c.lock);
    return ret;
}

size_t rx_find_count(const RxFind *f)
{
    return f->n;
}

const RxFound *rx_find_get(const RxFind *f, size_t i)
{
    return i < f->n ? &f->items[i]->pub : NULL;
}

size_t rx_find_warnings(const RxFind *f)
{
    return f->warnings;
}

void rx_find_free(RxFind **pf)
{
    RxFind *f = pf ? *pf : NULL;
    if (!f)
        return;
    free_items(f->items, f->n);
    rx_scan_list_free(&f->list);
    free(f);
    *pf = NULL;
}
