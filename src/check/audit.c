/*
 * audit.c - `reencode verify`: re-check outputs against the journal (see
 * audit.h).
 *
 * How a verdict is reached for an output the journal records:
 *   not there                                  -> missing
 *   the identity committed (size + hash)       -> decode it, with the frame
 *                                                 count and durations journalled:
 *                                                 good, or damaged
 *   same size, other bytes                     -> damaged (changed in place)
 *   another size: a complete file in itself    -> replaced
 *                 not complete (cut, garbled)  -> damaged
 * "Complete in itself" is judged by decoding alone: every frame decodes,
 * timestamps in order, the streams end where the file's header says. A file
 * cut short keeps the header that declares its whole length, so it is
 * damaged, never "replaced".
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/avstring.h>
#include <libavutil/bprint.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>

#include "reencode/audit.h"
#include "reencode/journal.h"
#include "reencode/journals.h"
#include "reencode/log.h"
#include "reencode/settings.h"
#include "reencode/verify.h"
#include "batch/pool.h"
#include "batch/sysinfo.h"
#include "core/fsutil.h"
#include "core/text.h"

static const char *const verdict_names[] = {"good", "damaged", "replaced", "missing"};

typedef struct Item {
    const RxJournalEntry *e; /* NULL without a journal */
    const char *name;        /* what the line names: the input's rel, or the file */
    char *path;              /* the output looked at (owned) */
    RxAuditVerdict verdict;
    char cause[RX_ERROR_MAX + 128];
    int unrecorded; /* no identity in the journal: not compared */
    int settled;    /* verdict known without a look */
    RxVerifyReport rep;
    int finished;
} Item;

typedef struct Audit {
    const RxAuditOptions *o;
    Item *items;
    size_t n;
    int threads; /* decoder threads per check */
    pthread_mutex_t lock;
    size_t next_print, started;
    int drawn; /* a progress line is on stderr */
    RxAuditCounts counts;
} Audit;

void rx_audit_options_default(RxAuditOptions *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = RX_VERIFY_FULL;
    o->out_fd = STDOUT_FILENO;
}

/* ---- finding the output */

/* A path the journal holds relative to the directory the run was started
 * from, which may not be this one: beside the input under root first (where
 * outputs go without --output-dir), then as recorded. Absolute paths as
 * they are. Returns an owned string or NULL. */
static char *locate(const char *root, const RxJournalEntry *e)
{
    const char *base = strrchr(e->output, '/'), *slash = strrchr(e->id.rel, '/');
    char *p;

    if (e->output[0] == '/' || !root)
        return av_strdup(e->output);
    base = base ? base + 1 : e->output;
    p = slash ? av_asprintf("%s/%.*s/%s", root, (int)(slash - e->id.rel), e->id.rel, base)
              : av_asprintf("%s/%s", root, base);
    if (!p || access(p, F_OK) == 0 || access(e->output, F_OK) < 0)
        return p;
    av_free(p);
    return av_strdup(e->output);
}

/* ---- judging one output */

static void verdict(Item *it, RxAuditVerdict v, const char *fmt, ...) RX_PRINTF(3, 4);

static void verdict(Item *it, RxAuditVerdict v, const char *fmt, ...)
{
    va_list ap;

    it->verdict = v;
    va_start(ap, fmt);
    vsnprintf(it->cause, sizeof(it->cause), fmt, ap);
    va_end(ap);
}

static int decode(const Audit *a, Item *it, const RxResult *want)
{
    RxVerifyRequest rq;

    rx_verify_request_init(&rq);
    rq.path = it->path;
    rq.mode = a->o->mode;
    rq.threads = a->threads;
    if (want) { /* zero: not journalled (an older reencode, or a resumed commit) */
        if (want->audio_tracks > 0 || want->audio_duration_us > 0)
            rq.audio_tracks = want->audio_tracks;
        if (want->video_frames > 0)
            rq.frames = want->video_frames;
        if (want->video_duration_us > 0)
            rq.video_us = want->video_duration_us;
        if (want->audio_duration_us > 0)
            rq.audio_us = want->audio_duration_us;
    }
    return rx_verify_file(&rq, &it->rep);
}

static void check_file(const Audit *a, Item *it)
{
    struct stat st;

    if (stat(it->path, &st) < 0) {
        verdict(it, RX_AUDIT_MISSING, "cannot open '%s': %s", it->path, strerror(errno));
        return;
    }
    if (decode(a, it, NULL) < 0) /* out of memory too: unchecked is not good */
        verdict(it, RX_AUDIT_DAMAGED, "%s", it->rep.error);
}

static void check_output(const Audit *a, Item *it)
{
    const RxResult *r = &it->e->result;
    struct stat st;
    RxFileId id;
    char why[128];
    int same, ret;

    if (stat(it->path, &st) < 0) {
        if (errno == ENOENT)
            verdict(it, RX_AUDIT_MISSING, "'%s' is not there", it->path);
        else
            verdict(it, RX_AUDIT_MISSING, "cannot look at '%s': %s", it->path, strerror(errno));
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        verdict(it, RX_AUDIT_REPLACED, "'%s' is not a regular file", it->path);
        return;
    }
    if (r->out_hash[0]) {
        ret = rx_file_id_compute(&id, it->path, "");
        if (ret < 0) {
            verdict(it, RX_AUDIT_DAMAGED, "cannot read '%s': %s", it->path,
                    rx_strerror(ret, why, sizeof(why)));
            return;
        }
        same = id.size == r->out_bytes && !strcmp(id.hash, r->out_hash);
        rx_file_id_clear(&id);
    } else {
        /* An older journal: the size is all there is to compare. */
        it->unrecorded = 1;
        same = r->out_bytes <= 0 || st.st_size == r->out_bytes;
    }
    if (same || st.st_size == r->out_bytes) {
        ret = decode(a, it, r);
        if (ret < 0)
            verdict(it, RX_AUDIT_DAMAGED, "%s", it->rep.error);
        else if (!same)
            verdict(it, RX_AUDIT_DAMAGED,
                    "'%s' is not the file committed: same size, other bytes (changed in place)",
                    it->path);
        return;
    }
    /* Another size: cut or grown, or another file altogether. */
    ret = decode(a, it, NULL);
    if (ret < 0)
        verdict(it, RX_AUDIT_DAMAGED, "%s (%lld bytes, %lld committed)", it->rep.error,
                (long long)st.st_size, (long long)r->out_bytes);
    else
        verdict(it, RX_AUDIT_REPLACED,
                "another file is under the name '%s': %lld bytes, %lld committed; it decodes "
                "whole (%.1f s)",
                it->path, (long long)st.st_size, (long long)r->out_bytes, it->rep.video_us / 1e6);
}

/* ---- printing, in order */

static void print_item(AVBPrint *bp, const Audit *a, const Item *it)
{
    const RxVerifyReport *rep = &it->rep;

    if (a->o->json) {
        av_bprintf(bp,
                   "{\"type\":\"file\",\"status\":\"%s\",\"path\":", verdict_names[it->verdict]);
        if (rx_text_json(bp, it->name)) {
            av_bprintf(bp, ",\"path_hex\":");
            rx_text_hex(bp, it->name);
        }
        av_bprintf(bp, ",\"output\":");
        if (rx_text_json(bp, it->path)) {
            av_bprintf(bp, ",\"output_hex\":");
            rx_text_hex(bp, it->path);
        }
        av_bprintf(bp,
                   ",\"verified\":\"%s\",\"identity\":%s,\"frames\":%lld,\"damaged\":%lld,"
                   "\"video_duration_us\":%lld,\"audio_duration_us\":%lld,\"cause\":",
                   rep->mode == RX_VERIFY_QUICK ? "quick" : "full",
                   it->e ? (it->unrecorded ? "\"unrecorded\"" : "\"compared\"") : "null",
                   (long long)rep->frames, (long long)rep->damaged, (long long)rep->video_us,
                   (long long)rep->audio_us);
        rx_text_json(bp, it->cause);
        av_bprintf(bp, "}\n");
        return;
    }
    /* A cause names the file itself. */
    av_bprintf(bp, "%-8s ", verdict_names[it->verdict]);
    if (it->verdict != RX_AUDIT_GOOD) {
        rx_text_human(bp, it->cause);
    } else {
        rx_text_human(bp, it->path);
        if (it->unrecorded)
            av_bprintf(bp, " (no record of the output's identity: only its size compared)");
    }
    av_bprintf(bp, "\n");
}

static void progress(Audit *a, const char *name)
{
    AVBPrint bp;

    if (!a->o->progress)
        return;
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(&bp, "\rverifying %zu/%zu  ", a->started, a->n);
    rx_text_human(&bp, name);
    av_bprintf(&bp, "\033[K");
    if (av_bprint_is_complete(&bp))
        rx_write_all(STDERR_FILENO, bp.str, bp.len);
    av_bprint_finalize(&bp, NULL);
    a->drawn = 1;
}

static void erase_progress(Audit *a)
{
    if (a->drawn)
        rx_write_all(STDERR_FILENO, "\r\033[K", 4);
    a->drawn = 0;
}

/* Print every finished item not yet printed, in order. Under a->lock. */
static void flush_finished(Audit *a)
{
    AVBPrint bp;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    while (a->next_print < a->n && a->items[a->next_print].finished)
        print_item(&bp, a, &a->items[a->next_print++]);
    if (bp.len) {
        erase_progress(a);
        rx_write_all(a->o->out_fd, bp.str, bp.len);
    }
    av_bprint_finalize(&bp, NULL);
}

static void run_item(void *opaque, size_t i, int slot)
{
    Audit *a = opaque;
    Item *it = &a->items[i];

    (void)slot;
    pthread_mutex_lock(&a->lock);
    a->started++;
    progress(a, it->e ? it->path : it->name);
    pthread_mutex_unlock(&a->lock);
    if (it->e && !it->settled)
        check_output(a, it);
    else if (!it->e)
        check_file(a, it);
    pthread_mutex_lock(&a->lock);
    it->finished = 1;
    switch (it->verdict) {
    case RX_AUDIT_GOOD:
        a->counts.good++;
        a->counts.unrecorded += it->unrecorded;
        break;
    case RX_AUDIT_DAMAGED:
        a->counts.damaged++;
        break;
    case RX_AUDIT_REPLACED:
        a->counts.replaced++;
        break;
    case RX_AUDIT_MISSING:
        a->counts.missing++;
        break;
    }
    flush_finished(a);
    pthread_mutex_unlock(&a->lock);
}

static void print_summary(const Audit *a)
{
    const RxAuditCounts *c = &a->counts;
    AVBPrint bp;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    if (a->o->json)
        av_bprintf(&bp,
                   "{\"type\":\"totals\",\"files\":%zu,\"good\":%zu,\"damaged\":%zu,"
                   "\"replaced\":%zu,\"missing\":%zu,\"unrecorded\":%zu,\"verified\":\"%s\"}\n",
                   c->files, c->good, c->damaged, c->replaced, c->missing, c->unrecorded,
                   a->o->mode == RX_VERIFY_QUICK ? "quick" : "full");
    else {
        av_bprintf(&bp,
                   "\n%zu output%s checked (%s): %zu good, %zu damaged, %zu replaced, %zu "
                   "missing\n",
                   c->files, c->files == 1 ? "" : "s",
                   a->o->mode == RX_VERIFY_QUICK ? "quick" : "every frame decoded", c->good,
                   c->damaged, c->replaced, c->missing);
        if (c->unrecorded)
            av_bprintf(&bp,
                       "%zu good output%s had no identity in the journal (an older reencode): "
                       "decoded, but not compared with what was committed\n",
                       c->unrecorded, c->unrecorded == 1 ? "" : "s");
    }
    rx_write_all(a->o->out_fd, bp.str, bp.len);
    av_bprint_finalize(&bp, NULL);
}

/* ---- the run */

/* Every file of every journal of the root (the shards' too), the winning
 * record of each (journals.h). */
static int journal_items(Audit *a, RxJournals *set)
{
    size_t n = rx_journals_files(set);

    a->items = av_calloc(n ? n : 1, sizeof(*a->items));
    if (!a->items)
        return AVERROR(ENOMEM);
    for (size_t i = 0; i < n; i++) {
        const RxJournalEntry *e = rx_journals_file(set, i, NULL);
        Item *it = &a->items[a->n];
        if (e->result.state != RX_STATE_ENCODED && e->result.state != RX_STATE_DONE)
            continue;
        it->e = e;
        it->name = e->id.rel;
        if (!e->output) {
            it->path = av_strdup("");
            verdict(it, RX_AUDIT_MISSING, "the journal names no output for '%s'", e->id.rel);
            it->settled = 1;
        } else {
            it->path = locate(a->o->root, e);
        }
        if (!it->path)
            return AVERROR(ENOMEM);
        a->n++;
    }
    return 0;
}

static int check_all(Audit *a)
{
    RxPool *pool = NULL;
    int cores = rx_sys_cores(), jobs = a->o->jobs > 0 ? a->o->jobs : cores;
    long ran;
    int ret;

    if ((size_t)jobs > a->n)
        jobs = a->n ? (int)a->n : 1;
    a->threads = cores / jobs > 1 ? cores / jobs : 1;
    ret = rx_pool_new(&pool, jobs);
    if (ret < 0)
        return ret;
    ran = rx_pool_run(pool, a->n, run_item, a);
    rx_pool_free(&pool);
    return ran < 0 ? (int)ran : 0;
}

int rx_audit_run(const RxAuditOptions *o, RxAuditCounts *counts, char *err, size_t errsize)
{
    Audit a = {.o = o};
    RxJournals *set = NULL;
    RxJournalReport rep;
    char why[128], bad[4200] = "";
    int ret;

    memset(counts, 0, sizeof(*counts));
    pthread_mutex_init(&a.lock, NULL);
    if (o->journal_path) {
        /* The journal and the shards' beside it (journal.K-of-N), merged as
         * status merges them. */
        ret = rx_journals_open(&set, o->journal_path, NULL, &rep, bad, sizeof(bad));
        if (ret == 0 && !rx_journals_count(set))
            ret = AVERROR(ENOENT);
        if (ret == 0)
            ret = rx_journals_merge(set);
        if (ret == AVERROR(ENOENT))
            snprintf(err, errsize, "no journal at '%s': no run has worked there yet",
                     o->journal_path);
        else if (ret == AVERROR_INVALIDDATA && rep.corrupt_line)
            snprintf(err, errsize,
                     "journal '%s' is damaged at line %ld (%s); see 'reencode journal repair'",
                     bad[0] ? bad : o->journal_path, rep.corrupt_line, rep.reason);
        else if (ret < 0)
            snprintf(err, errsize, "cannot read journal '%s': %s", bad[0] ? bad : o->journal_path,
                     rx_strerror(ret, why, sizeof(why)));
        if (ret < 0)
            goto done;
        ret = journal_items(&a, set);
    } else {
        a.items = av_calloc(o->n_files ? o->n_files : 1, sizeof(*a.items));
        ret = a.items ? 0 : AVERROR(ENOMEM);
        for (size_t i = 0; ret == 0 && i < o->n_files; i++) {
            a.items[i].name = o->files[i];
            if (!(a.items[i].path = av_strdup(o->files[i])))
                ret = AVERROR(ENOMEM);
            a.n++;
        }
    }
    if (ret == 0)
        ret = check_all(&a);
    if (ret < 0) {
        snprintf(err, errsize, "cannot verify: %s", rx_strerror(ret, why, sizeof(why)));
        goto done;
    }
    pthread_mutex_lock(&a.lock);
    flush_finished(&a);
    erase_progress(&a);
    pthread_mutex_unlock(&a.lock);
    a.counts.files = a.n;
    print_summary(&a);
    *counts = a.counts;
done:
    for (size_t i = 0; i < a.n; i++)
        av_free(a.items[i].path);
    av_free(a.items);
    rx_journals_free(&set);
    pthread_mutex_destroy(&a.lock);
    return ret;
}
