/*
 * results.c - the per-row results file of a manifest run (see results.h).
 *
 * Notes are kept as their JSON text, made when noted: a journal entry need
 * not outlive the journal, and the batch's threads only take the lock to
 * append. The write sorts the notes by path once and looks each row up.
 */
#include "report/results.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/bprint.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>

#include "core/fsutil.h"
#include "core/text.h"
#include "report/json.h"

typedef struct Note {
    char *path;
    char *json; /* the record's members, without braces */
    size_t seq; /* order of noting: the last note on a path wins */
} Note;

struct RxResults {
    pthread_mutex_t lock;
    Note *notes;
    size_t n, cap;
};

int rx_results_new(RxResults **out)
{
    RxResults *r = calloc(1, sizeof(*r));

    if (!r)
        return AVERROR(ENOMEM);
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

/* Keep the record of e for path; "path" in it is the path as named. */
static int add(RxResults *r, const char *path, const RxJournalEntry *e, const char *status)
{
    AVBPrint bp;
    Note note;
    int ret = 0;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_json_entry(&bp, e, status ? status : rx_state_status(e->result.state), path);
    note.path = strdup(path);
    if (!av_bprint_is_complete(&bp) || !note.path || av_bprint_finalize(&bp, &note.json) < 0) {
        free(note.path);
        av_bprint_finalize(&bp, NULL);
        return AVERROR(ENOMEM);
    }
    pthread_mutex_lock(&r->lock);
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        Note *p = realloc(r->notes, cap * sizeof(*p));
        if (!p) {
            ret = AVERROR(ENOMEM);
            goto unlock;
        }
        r->notes = p;
        r->cap = cap;
    }
    note.seq = r->n;
    r->notes[r->n++] = note;
unlock:
    pthread_mutex_unlock(&r->lock);
    if (ret < 0) {
        free(note.path);
        av_free(note.json);
    }
    return ret;
}

int rx_results_entry(RxResults *r, const char *path, const RxJournalEntry *e)
{
    return add(r, path, e, NULL);
}

int rx_results_note(RxResults *r, const char *path, const char *status, RxState state,
                    const char *error)
{
    RxJournalEntry e;

    memset(&e, 0, sizeof(e));
    e.result.state = state;
    snprintf(e.result.error, sizeof(e.result.error), "%s", error ? error : "");
    return add(r, path, &e, status);
}

static int by_path(const void *pa, const void *pb)
{
    const Note *a = pa, *b = pb;
    int c = strcmp(a->path, b->path);

    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* The last note on path (notes sorted by by_path), or NULL. */
static const Note *lookup(const RxResults *r, const char *path)
{
    size_t lo = 0, hi = r->n;

    while (lo < hi) { /* the first note after every note on path */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r->notes[mid].path, path) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && !strcmp(r->notes[lo - 1].path, path) ? &r->notes[lo - 1] : NULL;
}

typedef struct Key {
    const char *id;
    size_t row;
} Key;

static int by_key(const void *pa, const void *pb)
{
    const Key *a = pa, *b = pb;
    int c = strcmp(a->id, b->id);

    return c ? c : (a->row > b->row) - (a->row < b->row);
}

/* Rows whose key an earlier row already has (only without an id column:
 * ids are checked unique when the manifest is read). */
static unsigned char *repeated_keys(const RxManifest *m)
{
    size_t n = rx_manifest_count(m);
    unsigned char *again = calloc(n ? n : 1, 1);
    Key *keys = malloc((n ? n : 1) * sizeof(*keys));

    if (!again || !keys) {
        free(again);
        free(keys);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = (Key){rx_manifest_id(m, i), i};
    qsort(keys, n, sizeof(*keys), by_key);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(keys[i - 1].id, keys[i].id))
            again[keys[i].row] = 1;
    free(keys);
    return again;
}

int rx_results_write(RxResults *r, const RxManifest *m, const char *file, char *err, size_t errsize)
{
    unsigned char *again;
    AVBPrint bp;
    char why[128];
    int first = 1, ret;

    pthread_mutex_lock(&r->lock);
    if (r->n > 1)
        qsort(r->notes, r->n, sizeof(*r->notes), by_path);
    pthread_mutex_unlock(&r->lock);
    again = repeated_keys(m);
    if (!again) {
        snprintf(err, errsize, "cannot write '%s': out of memory", file);
        return AVERROR(ENOMEM);
    }
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(&bp, "{");
    for (size_t i = 0; i < rx_manifest_count(m); i++) {
        const char *path = rx_manifest_path(m, i);
        const Note *note = lookup(r, path);
        if (again[i])
            continue;
        av_bprintf(&bp, "%s\n", first ? "" : ",");
        first = 0;
        rx_text_json(&bp, rx_manifest_id(m, i));
        av_bprintf(&bp, ":{");
        if (note) {
            av_bprintf(&bp, "%s", note->json);
        } else { /* the run stopped before it */
            RxJournalEntry e;
            memset(&e, 0, sizeof(e));
            rx_json_entry(&bp, &e, rx_state_status(RX_STATE_PENDING), path);
        }
        av_bprintf(&bp, "}");
    }
    av_bprintf(&bp, "%s}\n", first ? "" : "\n");
    free(again);
    if (!av_bprint_is_complete(&bp))
        ret = AVERROR(ENOMEM);
    else
        ret = rx_replace_file(file, ".part", bp.str, bp.len);
    av_bprint_finalize(&bp, NULL);
    if (ret < 0)
        snprintf(err, errsize, "cannot write '%s': %s", file,
                 av_make_error_string(why, sizeof(why), ret));
    return ret;
}

void rx_results_free(RxResults **pr)
{
    RxResults *r = pr ? *pr : NULL;

    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->notes[i].path);
        av_free(r->notes[i].json);
    }
    free(r->notes);
    pthread_mutex_destroy(&r->lock);
    free(r);
    *pr = NULL;
}
