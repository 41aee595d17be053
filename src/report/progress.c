/*
 * progress.c - the batch reporter's core (see progress.h): the slots, the
 * counts, the lock, the log file, the summary and the stats file. What each
 * event looks like is the sink's (report_int.h): one per mode, chosen here.
 *
 * Every verb takes the one mutex for its whole duration: the state is a few
 * counters and one Slot per concurrent encode, and the output of one call
 * (erase the block, an event line, the block again) must reach the terminal
 * as a unit. Each unit is composed in an AVBPrint and written with one
 * write(2), so a terminal never shows a half-erased block, and a log line is
 * never split.
 *
 * Times are seconds since rx_reporter_new() by the injected monotonic clock;
 * only the log's timestamps read the wall clock.
 */
#include "reencode/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/bprint.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>

#include "core/clock.h"
#include "core/fsutil.h"
#include "core/text.h"
#include "report/json.h"
#include "report/report_int.h"

#define DEFAULT_WIDTH 80
#define MIN_WIDTH     20

/* By RxReportMode. */
static const RxSink *const sinks[] = {
    [RX_REPORT_TTY] = &rx_sink_tty,     [RX_REPORT_PLAIN] = &rx_sink_plain,
    [RX_REPORT_JSON] = &rx_sink_ndjson, [RX_REPORT_QUIET] = &rx_sink_quiet,
    [RX_REPORT_METER] = &rx_sink_meter,
};

static double mono_clock(void *opaque)
{
    (void)opaque;
    return rx_clock_now();
}

static double now_of(const RxReporter *r)
{
    return r->clock(r->clock_opaque) - r->t0;
}

/* ---- output ---- */

/* A failed write to the output has nowhere to be reported; the run goes on. */
void rx_report_flush(int fd, const AVBPrint *bp)
{
    if (fd >= 0 && bp->len > 0 && av_bprint_is_complete(bp))
        (void)rx_write_all(fd, bp->str, bp->len);
}

/* 2024-05-01T14:03:22.120+02:00 (buf: at least TIMESTAMP_SIZE) */
#define TIMESTAMP_SIZE 128
static void timestamp(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    int off, mins;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (!localtime_r(&ts.tv_sec, &tm)) {
        snprintf(buf, size, "-");
        return;
    }
    off = (int)(tm.tm_gmtoff / 60);
    mins = off < 0 ? -off : off;
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02d:%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts.tv_nsec / 1000000), off < 0 ? '-' : '+', mins / 60, mins % 60);
}

/* line: one uncoloured human line ending in '\n'. One write, O_APPEND. */
static void log_line(const RxReporter *r, const AVBPrint *line)
{
    char ts[TIMESTAMP_SIZE];
    AVBPrint bp;

    if (r->log_fd < 0)
        return;
    timestamp(ts, sizeof(ts));
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(&bp, "%s [%ld] ", ts, (long)getpid());
    av_bprint_append_data(&bp, line->str, line->len);
    rx_report_flush(r->log_fd, &bp);
    av_bprint_finalize(&bp, NULL);
}

/* Writes a unit of output: a live view goes below the line. */
void rx_report_emit(RxReporter *r, const AVBPrint *line, double now)
{
    AVBPrint bp;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    if (r->sink->erase)
        r->sink->erase(r, &bp);
    if (line)
        av_bprint_append_data(&bp, line->str, line->len);
    if (r->sink->draw)
        r->sink->draw(r, &bp, now);
    rx_report_flush(r->fd, &bp);
    av_bprint_finalize(&bp, NULL);
}

/* ---- verbs ---- */

void rx_reporter_options_default(RxReporterOptions *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = RX_REPORT_PLAIN;
    o->fd = STDERR_FILENO;
    o->color = 1;
    o->width = DEFAULT_WIDTH;
    o->slots = 1;
}

/* The log's first line of a run: what it plans to do. */
static void log_run(const RxReporter *r, size_t files, int64_t bytes, int64_t media_us, int slots)
{
    char total[32], media[32];
    AVBPrint line;

    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_report_status_word(&line, 0, NULL, "run");
    av_bprintf(&line, "%zu files, %s, %s of media, %d at a time\n", files,
               rx_report_bytes(total, sizeof(total), bytes),
               rx_report_dur(media, sizeof(media), (double)media_us / 1e6), slots);
    log_line(r, &line);
    av_bprint_finalize(&line, NULL);
}

int rx_reporter_new(RxReporter **out, const RxReporterOptions *o)
{
    RxReporter *r = NULL;
    int ret;

    *out = NULL;
    if (o->slots < 1 || o->mode < RX_REPORT_TTY || o->mode > RX_REPORT_METER)
        return AVERROR(EINVAL);
    r = av_mallocz(sizeof(*r));
    if (!r)
        return AVERROR(ENOMEM);
    r->log_fd = -1;
    ret = -pthread_mutex_init(&r->lock, NULL);
    if (ret < 0) {
        av_free(r);
        return ret;
    }
    r->slots = av_calloc((size_t)o->slots, sizeof(*r->slots));
    if (!r->slots) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    if (o->stats_path) {
        r->stats_path = av_strdup(o->stats_path);
        if (!r->stats_path) {
            ret = AVERROR(ENOMEM);
            goto fail;
        }
    }
    if (o->log_path) {
        r->log_fd = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (r->log_fd < 0) {
            ret = AVERROR(errno);
            goto fail;
        }
    }
    r->sink = sinks[o->mode];
    r->fd = o->fd;
    r->color = o->mode == RX_REPORT_TTY && o->color && !(o->no_color && o->no_color[0]);
    r->width = o->width <= 0 ? DEFAULT_WIDTH : o->width < MIN_WIDTH ? MIN_WIDTH : o->width;
    r->clock = o->clock ? o->clock : mono_clock;
    r->clock_opaque = o->clock ? o->clock_opaque : NULL;
    r->t0 = r->clock(r->clock_opaque);
    r->last_draw = -1e9;
    r->media_us_total = o->media_us_total;
    r->nslots = o->slots;
    r->tot.total = o->files_total;

    if (!o->plan_later)
        log_run(r, o->files_total, o->bytes_total, o->media_us_total, o->slots);
    *out = r;
    return 0;

fail:
    rx_reporter_free(&r);
    return ret;
}

int rx_reporter_set_plan(RxReporter *r, size_t files_total, int64_t bytes_total,
                         int64_t media_us_total, int slots)
{
    Slot *more;
    int ret = 0;

    if (slots < 1)
        return AVERROR(EINVAL);
    pthread_mutex_lock(&r->lock);
    if (r->started_any) {
        ret = AVERROR(EINVAL);
        goto out;
    }
    if (slots != r->nslots) { /* no slot is in use: nothing to keep */
        more = av_calloc((size_t)slots, sizeof(*more));
        if (!more) {
            ret = AVERROR(ENOMEM);
            goto out;
        }
        av_free(r->slots);
        r->slots = more;
        r->nslots = slots;
    }
    r->tot.total = files_total;
    r->media_us_total = media_us_total;
    r->t_plan = now_of(r);
    log_run(r, files_total, bytes_total, media_us_total, slots);
out:
    pthread_mutex_unlock(&r->lock);
    return ret;
}

static Slot *slot_at(RxReporter *r, int slot)
{
    return slot >= 0 && slot < r->nslots ? &r->slots[slot] : NULL;
}

void rx_reporter_start(RxReporter *r, int slot, const char *path, int64_t in_bytes,
                       int64_t media_us)
{
    AVBPrint line;
    Slot *s;
    double now;

    pthread_mutex_lock(&r->lock);
    s = slot_at(r, slot);
    if (!s)
        goto out;
    now = now_of(r);
    av_freep(&s->path); /* a start without a finish: the newer one wins */
    memset(s, 0, sizeof(*s));
    s->path = av_strdup(path);
    s->in_bytes = in_bytes;
    s->media_us = media_us > 0 ? media_us : 0;
    s->started = now;
    s->last_line = now;
    r->started_any = 1;

    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_report_human_start(&line, path, in_bytes, media_us);
    log_line(r, &line);
    if (r->sink->start)
        r->sink->start(r, slot, path, in_bytes, media_us, &line, now);
    av_bprint_finalize(&line, NULL);
out:
    pthread_mutex_unlock(&r->lock);
}

void rx_reporter_progress(RxReporter *r, int slot, const RxProgress *p)
{
    Slot *s;

    pthread_mutex_lock(&r->lock);
    s = slot_at(r, slot);
    if (!s || !s->path || !r->sink->progress)
        goto out;
    s->p = *p;
    r->sink->progress(r, slot, s, now_of(r));
out:
    pthread_mutex_unlock(&r->lock);
}

void rx_reporter_finish(RxReporter *r, int slot, const char *path, const RxResult *res,
                        const char *original)
{
    AVBPrint line, shown;
    Slot *s;
    double now;
    int running, processed = rx_report_processed(res->state);

    pthread_mutex_lock(&r->lock);
    now = now_of(r);
    s = slot_at(r, slot);
    running = s && s->path;
    if (!path)
        path = running ? s->path : "";

    if (processed) {
        r->tot.processed++;
        r->tot.bytes_before += res->in_bytes;
        r->tot.bytes_after += res->out_bytes;
    } else if (res->state == RX_STATE_SKIPPED) {
        r->tot.skipped++;
    } else if (res->state == RX_STATE_INTERRUPTED) {
        r->tot.interrupted++;
    } else {
        r->tot.failed++;
    }
    if (res->wall_seconds > 0) {
        r->tot.file_seconds += res->wall_seconds;
        r->tot.files_timed++;
    }
    r->media_finished_us += running && s->media_us > 0 ? s->media_us : rx_report_media_of(res);
    if (processed)
        r->media_encoded_us += rx_report_media_of(res) > 0 ? rx_report_media_of(res)
                               : running                   ? s->p.media_us
                                                           : 0;
    else if (running)
        r->media_encoded_us += s->p.media_us;

    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprint_init(&shown, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_report_human_finish(&line, 0, path, res, original, 0);
    log_line(r, &line);
    if (original) {
        av_bprint_clear(&line);
        rx_report_human_original(&line, path, original);
        log_line(r, &line);
    }

    if (r->sink->finish)
        r->sink->finish(r, &shown, slot, path, res, original, now);
    /* The slot is free before the block is redrawn without it; path may be
     * the slot's own copy, so only now. */
    if (running) {
        av_freep(&s->path);
        memset(s, 0, sizeof(*s));
    }
    if (shown.len || r->sink->draw)
        rx_report_emit(r, shown.len ? &shown : NULL, now);
    av_bprint_finalize(&line, NULL);
    av_bprint_finalize(&shown, NULL);
    pthread_mutex_unlock(&r->lock);
}

void rx_reporter_note(RxReporter *r, RxLogLevel level, const char *fmt, ...)
{
    AVBPrint text, line;
    va_list ap;
    double now;

    av_bprint_init(&text, 0, AV_BPRINT_SIZE_UNLIMITED);
    va_start(ap, fmt);
    av_vbprintf(&text, fmt, ap);
    va_end(ap);
    if (!av_bprint_is_complete(&text)) {
        av_bprint_finalize(&text, NULL);
        return;
    }
    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);

    pthread_mutex_lock(&r->lock);
    now = now_of(r);
    rx_report_human_note(&line, 0, level, text.str);
    log_line(r, &line);
    av_bprint_clear(&line);
    if (r->sink->note)
        r->sink->note(r, &line, level, text.str, now);
    if (line.len)
        rx_report_emit(r, &line, now);
    pthread_mutex_unlock(&r->lock);
    av_bprint_finalize(&line, NULL);
    av_bprint_finalize(&text, NULL);
}

void rx_reporter_totals(RxReporter *r, RxReportTotals *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->tot;
    out->wall_seconds = now_of(r);
    pthread_mutex_unlock(&r->lock);
}

/* Crash-safe replace: FILE.tmp, fsync, rename, fsync of the directory. */
static int write_stats(const char *path, const AVBPrint *data)
{
    if (!av_bprint_is_complete(data))
        return AVERROR(ENOMEM);
    return rx_replace_file(path, ".tmp", data->str, data->len);
}

int rx_reporter_summary(RxReporter *r)
{
    AVBPrint line, stats;
    RxReportTotals t;
    double now;
    int ret = 0;

    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprint_init(&stats, 0, AV_BPRINT_SIZE_UNLIMITED);
    pthread_mutex_lock(&r->lock);
    now = now_of(r);
    t = r->tot;
    t.wall_seconds = now;

    rx_report_human_summary(&line, &t, "; ");
    log_line(r, &line);
    av_bprint_clear(&line);
    /* The block goes now, for good: the summary is the last thing on screen. */
    r->closed = 1;
    if (r->sink->summary)
        r->sink->summary(r, &line, &t, now);
    if (line.len)
        rx_report_emit(r, &line, now);
    if (r->stats_path) {
        av_bprint_chars(&stats, '{', 1);
        rx_json_summary_fields(&stats, &t);
        av_bprintf(&stats, "}\n");
    }
    pthread_mutex_unlock(&r->lock);

    /* No lock for the fsyncs: the counts are copied, the path never changes. */
    if (r->stats_path)
        ret = write_stats(r->stats_path, &stats);
    av_bprint_finalize(&line, NULL);
    av_bprint_finalize(&stats, NULL);
    return ret;
}

void rx_reporter_free(RxReporter **rp)
{
    RxReporter *r = rp ? *rp : NULL;
    AVBPrint bp;

    if (!r)
        return;
    if (r->drawn && r->sink->erase) {
        av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
        r->sink->erase(r, &bp);
        rx_report_flush(r->fd, &bp);
        av_bprint_finalize(&bp, NULL);
    }
    if (r->log_fd >= 0)
        close(r->log_fd);
    for (int i = 0; r->slots && i < r->nslots; i++)
        av_freep(&r->slots[i].path);
    av_freep(&r->slots);
    av_freep(&r->stats_path);
    pthread_mutex_destroy(&r->lock);
    av_freep(rp);
}
