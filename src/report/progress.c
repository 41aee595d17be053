/*
 * progress.c - the batch reporter (see progress.h).
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
 *
 * The live block is drawn without a trailing newline: the cursor stays at the
 * end of its last row, so erasing it is "\r ESC[K" then "ESC[A ESC[K" per
 * other row, and it never leaves an empty row behind. That bookkeeping only
 * holds if no drawn line wraps, so every line is kept under the width, and a
 * code point from U+1100 up is counted as two columns (East Asian wide
 * characters and emoji start there; overcounting a few narrow ones only
 * shortens a name a little more).
 */
#include "reencode/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
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

#include "core/fsutil.h"
#include "core/text.h"

#define TTY_INTERVAL   0.25 /* s between redraws of the live block */
#define PLAIN_INTERVAL 10.0 /* s between progress lines of one file */
#define JSON_INTERVAL  1.0  /* s between progress events of one file */
#define LIVE_MAX       16   /* rows of running files; more are summed up in the last */
#define STATUS_COLS    12   /* the status word's column: "interrupted " */
#define DEFAULT_WIDTH  80
#define MIN_WIDTH      20
#define NAME_MIN_COLS  16 /* below this a live line drops fps, size and ETA */
#define SUMMARY_INDENT "\n            "

#define SGR_GREEN  "\033[32m"
#define SGR_RED    "\033[31m"
#define SGR_YELLOW "\033[33m"
#define SGR_RESET  "\033[0m"

typedef struct Slot {
    char *path;       /* NULL: no encode in this slot */
    int64_t in_bytes; /* as given to rx_reporter_start() */
    int64_t media_us; /* planned duration, 0 unknown */
    double started;
    double last_line; /* PLAIN/JSON: when the last progress line went out */
    RxProgress p;     /* latest progress */
} Slot;

struct RxReporter {
    pthread_mutex_t lock;
    RxReportMode mode;
    int fd;
    int log_fd; /* -1: no log */
    int color;  /* resolved: TTY mode, wanted, NO_COLOR unset */
    int width;
    char *stats_path;
    double (*clock)(void *opaque);
    void *clock_opaque;
    double t0;
    int64_t media_us_total;
    int nslots;
    Slot *slots;

    double last_draw;
    int drawn;       /* rows of the live block on screen, the cursor on the last */
    int started_any; /* the live block exists from the first start ... */
    int closed;      /* ... until the summary */

    RxReportTotals tot;
    int64_t media_finished_us; /* planned media time of the finished files */
    int64_t media_encoded_us;  /* media time the finished files got through */
};

static double mono_clock(void *opaque)
{
    struct timespec ts;

    (void)opaque;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_of(const RxReporter *r)
{
    return r->clock(r->clock_opaque) - r->t0;
}

/* ---- output ---- */

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return AVERROR(errno);
        if (n == 0)
            return AVERROR(EIO);
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A failed write to the output has nowhere to be reported; the run goes on. */
static void flush_to(int fd, const AVBPrint *bp)
{
    if (fd >= 0 && bp->len > 0 && av_bprint_is_complete(bp))
        (void)write_all(fd, bp->str, bp->len);
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
    flush_to(r->log_fd, &bp);
    av_bprint_finalize(&bp, NULL);
}

/* ---- numbers and names ---- */

static const char *bytes_str(char *buf, size_t size, int64_t v)
{
    AVBPrint b;

    av_bprint_init_for_buffer(&b, buf, (unsigned)size);
    rx_text_bytes(&b, v);
    return buf;
}

/* Negative, non-finite or absurd (an ETA at a speed near 0): "-". */
static const char *dur_str(char *buf, size_t size, double seconds)
{
    AVBPrint b;

    av_bprint_init_for_buffer(&b, buf, (unsigned)size);
    rx_text_duration(&b, seconds >= 0 && seconds < 1e8 ? (int64_t)(seconds * 1000) : -1);
    return buf;
}

/* Columns of the UTF-8 sequence at p (valid: rx_text_human's output); *len
 * gets its length. */
static int cp_cols(const unsigned char *p, int *len)
{
    if (p[0] < 0x80) {
        *len = 1;
        return 1;
    }
    if (p[0] < 0xe0) {
        *len = 2;
        return 1;
    }
    if (p[0] < 0xf0) {
        unsigned cp = (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
        *len = 3;
        return cp >= 0x1100 ? 2 : 1;
    }
    *len = 4;
    return 2;
}

static size_t text_cols(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t cols = 0;
    int n;

    while (*p) {
        cols += (size_t)cp_cols(p, &n);
        p += n;
    }
    return cols;
}

/* The escaped name in at most max columns, shortened from the left (the end
 * of a path is the part that tells files apart). */
static void append_name(AVBPrint *bp, const char *path, size_t max)
{
    AVBPrint name;
    const unsigned char *p;
    size_t cols;
    int n;

    av_bprint_init(&name, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_text_human(&name, path);
    if (!av_bprint_is_complete(&name)) {
        av_bprint_finalize(&name, NULL);
        return;
    }
    cols = text_cols(name.str);
    p = (const unsigned char *)name.str;
    if (cols > max) {
        if (max < 4) {
            av_bprint_chars(bp, '.', (unsigned)max);
            av_bprint_finalize(&name, NULL);
            return;
        }
        while (*p && cols > max - 3) {
            cols -= (size_t)cp_cols(p, &n);
            p += n;
        }
        av_bprintf(bp, "...");
    }
    av_bprintf(bp, "%s", (const char *)p);
    av_bprint_finalize(&name, NULL);
}

/* ---- rates ---- */

typedef struct Rates {
    double percent; /* of media time; < 0 unknown */
    double fps;
    double speed; /* media seconds per wall second */
    double eta;   /* seconds */
} Rates;

static Rates slot_rates(const Slot *s, double now)
{
    int64_t total = s->p.total_us > 0 ? s->p.total_us : s->media_us;
    double el = now - s->started;
    Rates q = {-1, -1, -1, -1};

    if (total > 0)
        q.percent = fmin(100.0, fmax(0.0, 100.0 * (double)s->p.media_us / (double)total));
    if (el > 0) {
        q.fps = (double)s->p.frames / el;
        if (s->p.media_us > 0)
            q.speed = (double)s->p.media_us / 1e6 / el;
    }
    if (q.speed > 0 && total > 0)
        q.eta = fmax(0.0, (double)(total - s->p.media_us) / 1e6 / q.speed);
    return q;
}

/* " 42.3%   61 fps   2.3x    12 MiB  ETA 0:03:12"; brief: percent and speed */
static void rates_text(AVBPrint *bp, const Slot *s, double now, int brief)
{
    Rates q = slot_rates(s, now);
    char size[32], eta[32];

    if (q.percent >= 0)
        av_bprintf(bp, "%5.1f%%", q.percent);
    else
        av_bprintf(bp, "%6s", "-");
    if (!brief) {
        if (q.fps >= 0)
            av_bprintf(bp, "  %3.0f fps", q.fps);
        else
            av_bprintf(bp, "  %3s fps", "-");
    }
    if (q.speed >= 0)
        av_bprintf(bp, q.speed < 0.1 ? "  %4.2fx" : "  %4.1fx", q.speed);
    else
        av_bprintf(bp, "  %4s ", "-");
    if (!brief)
        av_bprintf(bp, "  %8s  ETA %7s", bytes_str(size, sizeof(size), s->p.bytes),
                   dur_str(eta, sizeof(eta), q.eta));
}

/* Batch ETA: media time not yet done (the plan minus what the finished files
 * planned minus what the running ones got through) at the speed observed over
 * the whole batch. Files that failed early shorten the remainder without
 * inflating the speed: only media actually encoded counts for the speed. */
static double batch_eta(const RxReporter *r, double now)
{
    double done = (double)r->media_finished_us, enc = (double)r->media_encoded_us, speed;

    if (r->media_us_total <= 0 || now <= 0)
        return -1;
    for (int i = 0; i < r->nslots; i++) {
        const Slot *s = &r->slots[i];
        double m = (double)s->p.media_us;
        if (!s->path)
            continue;
        if (s->media_us > 0)
            m = fmin(m, (double)s->media_us);
        done += m;
        enc += m;
    }
    speed = enc / 1e6 / now;
    if (speed <= 0)
        return -1;
    return fmax(0.0, ((double)r->media_us_total - done) / 1e6 / speed);
}

/* ---- the live block (TTY) ---- */

static void block_erase(RxReporter *r, AVBPrint *bp)
{
    if (!r->drawn)
        return;
    av_bprintf(bp, "\r\033[K");
    for (int i = 1; i < r->drawn; i++)
        av_bprintf(bp, "\033[A\033[K");
    r->drawn = 0;
}

/* Appends src to bp, cut to max bytes (src is ASCII). */
static void append_cut(AVBPrint *bp, const AVBPrint *src, size_t max)
{
    av_bprint_append_data(bp, src->str, (unsigned)(src->len < max ? src->len : max));
}

static void live_line(AVBPrint *bp, const Slot *s, double now, size_t avail)
{
    AVBPrint rates;
    int brief = 0;

    for (;;) {
        av_bprint_init(&rates, 0, AV_BPRINT_SIZE_UNLIMITED);
        rates_text(&rates, s, now, brief);
        if (brief || rates.len + 2 + NAME_MIN_COLS <= avail)
            break;
        av_bprint_finalize(&rates, NULL);
        brief = 1;
    }
    if (rates.len + 2 + 3 < avail) {
        av_bprint_append_data(bp, rates.str, rates.len);
        av_bprintf(bp, "  ");
        append_name(bp, s->path, avail - rates.len - 2);
    } else {
        append_cut(bp, &rates, avail);
    }
    av_bprint_finalize(&rates, NULL);
}

static void overall_line(AVBPrint *bp, const RxReporter *r, double now, size_t avail)
{
    const RxReportTotals *t = &r->tot;
    size_t finished = t->processed + t->failed + t->skipped + t->interrupted;
    char saved[32], el[32], eta[32];
    AVBPrint line;

    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(&line, "%zu/%zu done", finished, t->total);
    if (t->failed)
        av_bprintf(&line, ", %zu failed", t->failed);
    if (t->skipped)
        av_bprintf(&line, ", %zu skipped", t->skipped);
    av_bprintf(&line, "  saved %s  elapsed %s  ETA %s",
               bytes_str(saved, sizeof(saved), t->bytes_before - t->bytes_after),
               dur_str(el, sizeof(el), now), dur_str(eta, sizeof(eta), batch_eta(r, now)));
    append_cut(bp, &line, avail);
    av_bprint_finalize(&line, NULL);
}

static void block_draw(RxReporter *r, AVBPrint *bp, double now)
{
    size_t avail = (size_t)r->width - 1; /* the last column would wrap on some terminals */
    int running = 0, shown = 0, limit;

    if (!r->started_any || r->closed)
        return;
    for (int i = 0; i < r->nslots; i++)
        running += r->slots[i].path != NULL;
    limit = running > LIVE_MAX ? LIVE_MAX - 1 : running;
    for (int i = 0; i < r->nslots && shown < limit; i++) {
        if (!r->slots[i].path)
            continue;
        live_line(bp, &r->slots[i], now, avail);
        av_bprint_chars(bp, '\n', 1);
        shown++;
    }
    if (running > limit) {
        AVBPrint more;
        av_bprint_init(&more, 0, AV_BPRINT_SIZE_UNLIMITED);
        av_bprintf(&more, "+%d more running", running - limit);
        append_cut(bp, &more, avail);
        av_bprint_finalize(&more, NULL);
        av_bprint_chars(bp, '\n', 1);
        shown++;
    }
    overall_line(bp, r, now, avail);
    r->drawn = shown + 1;
    r->last_draw = now;
}

/* Writes a unit of output: on a TTY the line goes above the redrawn block.
 * line may be NULL (just redraw). */
static void emit(RxReporter *r, const AVBPrint *line, double now)
{
    AVBPrint bp;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    if (r->mode == RX_REPORT_TTY)
        block_erase(r, &bp);
    if (line)
        av_bprint_append_data(&bp, line->str, line->len);
    if (r->mode == RX_REPORT_TTY)
        block_draw(r, &bp, now);
    flush_to(r->fd, &bp);
    av_bprint_finalize(&bp, NULL);
}

/* ---- human lines: "WORD        details  NAME\n" ---- */

static void status_word(AVBPrint *bp, int color, const char *sgr, const char *word)
{
    size_t n = strlen(word);

    if (color && sgr)
        av_bprintf(bp, "%s%s%s", sgr, word, SGR_RESET);
    else
        av_bprintf(bp, "%s", word);
    av_bprint_chars(bp, ' ', n < STATUS_COLS ? (unsigned)(STATUS_COLS - n) : 1);
}

static void human_start(AVBPrint *bp, const char *path, int64_t in_bytes, int64_t media_us)
{
    char size[32], dur[32];

    status_word(bp, 0, NULL, "start");
    av_bprintf(bp, "%s  %s  ", bytes_str(size, sizeof(size), in_bytes),
               dur_str(dur, sizeof(dur), media_us > 0 ? (double)media_us / 1e6 : -1));
    rx_text_human(bp, path);
    av_bprint_chars(bp, '\n', 1);
}

static int processed_state(RxState s)
{
    return s == RX_STATE_DONE || s == RX_STATE_ENCODED;
}

static int64_t media_of(const RxResult *res)
{
    return res->video_duration_us > 0 ? res->video_duration_us : res->in_duration_us;
}

/* "SSIM 0.9876  crf 44 (5 probes)  " when measured / tuned. */
static void quality_text(AVBPrint *bp, const RxResult *res)
{
    if (res->ssim > 0)
        av_bprintf(bp, "SSIM %.4f  ", res->ssim);
    if (res->tuned_crf && res->tune_probes)
        av_bprintf(bp, "crf %d (%d probe%s)  ", res->tuned_crf, res->tune_probes,
                   res->tune_probes == 1 ? "" : "s");
    else if (res->tuned_crf)
        av_bprintf(bp, "crf %d (journalled)  ", res->tuned_crf);
}

/* The finish line; with fold, the original's fate joins it (TTY, where rows
 * are scarce) instead of getting a line of its own. */
static void human_finish(AVBPrint *bp, int color, const char *path, const RxResult *res,
                         const char *original, int fold)
{
    char in[32], out[32], dur[32], wall[32], why[128];

    bytes_str(in, sizeof(in), res->in_bytes);
    bytes_str(out, sizeof(out), res->out_bytes);
    if (processed_state(res->state)) {
        status_word(bp, color, SGR_GREEN, "done");
        av_bprintf(bp, "%s -> %s", in, out);
        if (res->in_bytes > 0)
            av_bprintf(bp, " (%+.1f%%)",
                       100.0 * (double)(res->out_bytes - res->in_bytes) / (double)res->in_bytes);
        av_bprintf(bp, "  %s in %s  ", dur_str(dur, sizeof(dur), (double)media_of(res) / 1e6),
                   dur_str(wall, sizeof(wall), res->wall_seconds));
        quality_text(bp, res);
        if (fold && original)
            av_bprintf(bp, "original %s  ", original);
        rx_text_human(bp, path);
    } else if (res->state == RX_STATE_SKIPPED) {
        status_word(bp, color, SGR_YELLOW, "skipped");
        if (res->out_bytes > 0)
            av_bprintf(bp, "%s -> %s  ", in, out);
        rx_text_human(bp, path);
        if (res->error[0]) {
            av_bprintf(bp, ": ");
            rx_text_human(bp, res->error);
        }
    } else if (res->state == RX_STATE_INTERRUPTED) {
        status_word(bp, color, SGR_YELLOW, "interrupted");
        rx_text_human(bp, path);
    } else {
        status_word(bp, color, SGR_RED, "failed");
        if (res->error[0]) {
            /* The error line names the file already (result.h). */
            rx_text_human(bp, res->error);
        } else {
            rx_text_human(bp, path);
            av_bprintf(bp, ": %s", rx_strerror(res->err, why, sizeof(why)));
        }
    }
    av_bprint_chars(bp, '\n', 1);
}

static void human_original(AVBPrint *bp, const char *path, const char *original)
{
    status_word(bp, 0, NULL, "original");
    av_bprintf(bp, "%s  ", original);
    rx_text_human(bp, path);
    av_bprint_chars(bp, '\n', 1);
}

static void human_progress(AVBPrint *bp, const Slot *s, double now)
{
    status_word(bp, 0, NULL, "progress");
    rates_text(bp, s, now, 0);
    av_bprintf(bp, "  ");
    rx_text_human(bp, s->path);
    av_bprint_chars(bp, '\n', 1);
}

static void human_note(AVBPrint *bp, int color, RxLogLevel level, const char *text)
{
    if (level == RX_LOG_ERROR)
        av_bprintf(bp, "%serror:%s ", color ? SGR_RED : "", color ? SGR_RESET : "");
    else if (level == RX_LOG_WARN)
        av_bprintf(bp, "%swarning:%s ", color ? SGR_YELLOW : "", color ? SGR_RESET : "");
    rx_text_human(bp, text);
    av_bprint_chars(bp, '\n', 1);
}

/* sep joins the three parts: a newline and an indent on screen, "; " in the log. */
static void human_summary(AVBPrint *bp, const RxReportTotals *t, const char *sep)
{
    size_t ran = t->processed + t->skipped + t->failed;
    int64_t saved = t->bytes_before - t->bytes_after;
    char before[32], after[32], sv[32], wall[32], avg[32];

    status_word(bp, 0, NULL, "summary");
    av_bprintf(bp, "%zu processed, %zu failed, %zu skipped, %zu interrupted of %zu files",
               t->processed, t->failed, t->skipped, t->interrupted, t->total);
    if (ran)
        av_bprintf(bp, " (%.1f%% succeeded)",
                   100.0 * (double)(t->processed + t->skipped) / (double)ran);
    av_bprintf(bp, "%s%s -> %s, saved %s", sep, bytes_str(before, sizeof(before), t->bytes_before),
               bytes_str(after, sizeof(after), t->bytes_after), bytes_str(sv, sizeof(sv), saved));
    if (t->bytes_before > 0)
        av_bprintf(bp, " (%.1f%%)", 100.0 * (double)saved / (double)t->bytes_before);
    av_bprintf(bp, "%swall time %s", sep, dur_str(wall, sizeof(wall), t->wall_seconds));
    if (t->files_timed)
        av_bprintf(bp, ", %s per file",
                   dur_str(avg, sizeof(avg), t->file_seconds / (double)t->files_timed));
    av_bprint_chars(bp, '\n', 1);
}

/* ---- JSON ---- */

static void json_str(AVBPrint *bp, const char *key, const char *v)
{
    av_bprintf(bp, ",\"%s\":", key);
    if (!v) {
        av_bprintf(bp, "null");
        return;
    }
    if (rx_text_json(bp, v)) {
        av_bprintf(bp, ",\"%s_hex\":", key);
        rx_text_hex(bp, v);
    }
}

static void json_int(AVBPrint *bp, const char *key, int64_t v)
{
    av_bprintf(bp, ",\"%s\":%" PRId64, key, v);
}

/* JSON has no NaN or infinity; negative means unknown here. */
static void json_num(AVBPrint *bp, const char *key, double v)
{
    if (isfinite(v) && v >= 0)
        av_bprintf(bp, ",\"%s\":%.3f", key, v);
    else
        av_bprintf(bp, ",\"%s\":null", key);
}

static void json_head(AVBPrint *bp, const char *event, double now)
{
    av_bprintf(bp, "{\"event\":\"%s\"", event);
    json_num(bp, "elapsed", now);
}

static const char *level_name(RxLogLevel level)
{
    switch (level) {
    case RX_LOG_ERROR:
        return "error";
    case RX_LOG_WARN:
        return "warning";
    case RX_LOG_DEBUG:
        return "debug";
    default:
        return "info";
    }
}

static void json_summary_fields(AVBPrint *bp, const RxReportTotals *t)
{
    size_t ran = t->processed + t->skipped + t->failed;

    av_bprintf(bp, "\"processed\":%zu,\"failed\":%zu,\"skipped\":%zu,\"interrupted\":%zu",
               t->processed, t->failed, t->skipped, t->interrupted);
    av_bprintf(bp, ",\"total\":%zu", t->total);
    json_num(bp, "success_rate", ran ? (double)(t->processed + t->skipped) / (double)ran : -1.0);
    json_int(bp, "bytes_before", t->bytes_before);
    json_int(bp, "bytes_after", t->bytes_after);
    json_int(bp, "bytes_saved", t->bytes_before - t->bytes_after);
    json_num(bp, "saved_percent",
             t->bytes_before > 0
                 ? 100.0 * (double)(t->bytes_before - t->bytes_after) / (double)t->bytes_before
                 : -1.0);
    json_num(bp, "wall_seconds", t->wall_seconds);
    json_num(bp, "avg_file_seconds",
             t->files_timed ? t->file_seconds / (double)t->files_timed : -1.0);
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

int rx_reporter_new(RxReporter **out, const RxReporterOptions *o)
{
    RxReporter *r = NULL;
    AVBPrint line;
    char total[32], media[32];
    int ret;

    *out = NULL;
    if (o->slots < 1 || o->mode < RX_REPORT_TTY || o->mode > RX_REPORT_QUIET)
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
    r->mode = o->mode;
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

    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
    status_word(&line, 0, NULL, "run");
    av_bprintf(&line, "%zu files, %s, %s of media, %d at a time\n", o->files_total,
               bytes_str(total, sizeof(total), o->bytes_total),
               dur_str(media, sizeof(media), (double)o->media_us_total / 1e6), o->slots);
    log_line(r, &line);
    av_bprint_finalize(&line, NULL);
    *out = r;
    return 0;

fail:
    rx_reporter_free(&r);
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
    human_start(&line, path, in_bytes, media_us);
    log_line(r, &line);
    switch (r->mode) {
    case RX_REPORT_TTY:
        emit(r, NULL, now);
        break;
    case RX_REPORT_PLAIN:
        emit(r, &line, now);
        break;
    case RX_REPORT_JSON:
        av_bprint_clear(&line);
        json_head(&line, "start", now);
        json_int(&line, "slot", slot);
        json_str(&line, "path", path);
        json_int(&line, "in_bytes", in_bytes);
        json_int(&line, "media_us", media_us);
        av_bprintf(&line, "}\n");
        emit(r, &line, now);
        break;
    case RX_REPORT_QUIET:
        break;
    }
    av_bprint_finalize(&line, NULL);
out:
    pthread_mutex_unlock(&r->lock);
}

void rx_reporter_progress(RxReporter *r, int slot, const RxProgress *p)
{
    AVBPrint line;
    Slot *s;
    double now;
    Rates q;

    pthread_mutex_lock(&r->lock);
    s = slot_at(r, slot);
    if (!s || !s->path || r->mode == RX_REPORT_QUIET)
        goto out;
    s->p = *p;
    now = now_of(r);
    switch (r->mode) {
    case RX_REPORT_TTY:
        if (r->closed || now - r->last_draw < TTY_INTERVAL)
            break;
        emit(r, NULL, now);
        break;
    case RX_REPORT_PLAIN:
        if (now - s->last_line < PLAIN_INTERVAL)
            break;
        s->last_line = now;
        av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
        human_progress(&line, s, now);
        emit(r, &line, now);
        av_bprint_finalize(&line, NULL);
        break;
    case RX_REPORT_JSON:
        if (now - s->last_line < JSON_INTERVAL)
            break;
        s->last_line = now;
        q = slot_rates(s, now);
        av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
        json_head(&line, "progress", now);
        json_int(&line, "slot", slot);
        json_str(&line, "path", s->path);
        json_int(&line, "frames", p->frames);
        json_int(&line, "media_us", p->media_us);
        json_int(&line, "total_us", p->total_us > 0 ? p->total_us : s->media_us);
        json_int(&line, "bytes", p->bytes);
        json_num(&line, "percent", q.percent);
        json_num(&line, "fps", q.fps);
        json_num(&line, "speed", q.speed);
        json_num(&line, "eta_seconds", q.eta);
        av_bprintf(&line, "}\n");
        emit(r, &line, now);
        av_bprint_finalize(&line, NULL);
        break;
    case RX_REPORT_QUIET:
        break;
    }
out:
    pthread_mutex_unlock(&r->lock);
}

static void json_finish(AVBPrint *bp, const RxReporter *r, int slot, const char *path,
                        const RxResult *res, const char *original, double now)
{
    const char *event = processed_state(res->state)          ? "done"
                        : res->state == RX_STATE_SKIPPED     ? "skipped"
                        : res->state == RX_STATE_INTERRUPTED ? "interrupted"
                                                             : "failed";
    const RxReportTotals *t = &r->tot;

    json_head(bp, event, now);
    json_int(bp, "slot", slot);
    json_str(bp, "path", path);
    av_bprintf(bp, ",\"state\":\"%s\"", rx_state_name(res->state));
    json_int(bp, "in_bytes", res->in_bytes);
    json_int(bp, "out_bytes", res->out_bytes);
    json_int(bp, "in_duration_us", res->in_duration_us);
    json_int(bp, "video_duration_us", res->video_duration_us);
    json_int(bp, "audio_duration_us", res->audio_duration_us);
    json_int(bp, "video_frames", res->video_frames);
    json_int(bp, "video_frames_elided", res->video_frames_elided);
    json_str(bp, "verified", rx_verified_name(res->verified));
    json_int(bp, "decode_errors", res->decode_errors);
    json_int(bp, "audio_tracks", res->audio_tracks);
    json_int(bp, "width", res->width);
    json_int(bp, "height", res->height);
    json_num(bp, "wall_seconds", res->wall_seconds);
    if (res->ssim > 0) {
        av_bprintf(bp, ",\"ssim\":%.6f,\"ssim_min\":%.6f", res->ssim, res->ssim_min);
        json_num(bp, "psnr", res->psnr);
    }
    if (res->tuned_crf) {
        json_int(bp, "tuned_crf", res->tuned_crf);
        json_int(bp, "tune_probes", res->tune_probes);
    }
    json_int(bp, "err", res->err);
    /* Strings, "" when there is none: the schema of status --json and --results. */
    json_str(bp, "error", res->error);
    json_str(bp, "original", original ? original : "");
    av_bprintf(bp, ",\"finished\":%zu,\"total\":%zu}\n",
               t->processed + t->failed + t->skipped + t->interrupted, t->total);
}

void rx_reporter_finish(RxReporter *r, int slot, const char *path, const RxResult *res,
                        const char *original)
{
    AVBPrint line, shown;
    Slot *s;
    double now;
    int running, processed = processed_state(res->state);

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
    r->media_finished_us += running && s->media_us > 0 ? s->media_us : media_of(res);
    if (processed)
        r->media_encoded_us += media_of(res) > 0 ? media_of(res) : running ? s->p.media_us : 0;
    else if (running)
        r->media_encoded_us += s->p.media_us;

    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprint_init(&shown, 0, AV_BPRINT_SIZE_UNLIMITED);
    human_finish(&line, 0, path, res, original, 0);
    log_line(r, &line);
    if (original) {
        av_bprint_clear(&line);
        human_original(&line, path, original);
        log_line(r, &line);
    }

    switch (r->mode) {
    case RX_REPORT_TTY:
        human_finish(&shown, r->color, path, res, original, 1);
        break;
    case RX_REPORT_PLAIN:
        human_finish(&shown, 0, path, res, original, 0);
        if (original)
            human_original(&shown, path, original);
        break;
    case RX_REPORT_JSON:
        json_finish(&shown, r, slot, path, res, original, now);
        break;
    case RX_REPORT_QUIET:
        if (!processed && res->state != RX_STATE_SKIPPED && res->state != RX_STATE_INTERRUPTED)
            human_finish(&shown, 0, path, res, NULL, 0);
        break;
    }
    /* The slot is free before the block is redrawn without it; path may be
     * the slot's own copy, so only now. */
    if (running) {
        av_freep(&s->path);
        memset(s, 0, sizeof(*s));
    }
    if (shown.len || r->mode == RX_REPORT_TTY)
        emit(r, shown.len ? &shown : NULL, now);
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
    human_note(&line, 0, level, text.str);
    log_line(r, &line);
    av_bprint_clear(&line);
    switch (r->mode) {
    case RX_REPORT_QUIET:
        if (level != RX_LOG_ERROR)
            break;
        /* fall through */
    case RX_REPORT_TTY:
    case RX_REPORT_PLAIN:
        human_note(&line, r->color, level, text.str);
        emit(r, &line, now);
        break;
    case RX_REPORT_JSON:
        json_head(&line, "note", now);
        av_bprintf(&line, ",\"level\":\"%s\"", level_name(level));
        json_str(&line, "message", text.str);
        av_bprintf(&line, "}\n");
        emit(r, &line, now);
        break;
    }
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

    human_summary(&line, &t, "; ");
    log_line(r, &line);
    av_bprint_clear(&line);
    /* The block goes now, for good: the summary is the last thing on screen. */
    r->closed = 1;
    switch (r->mode) {
    case RX_REPORT_TTY:
    case RX_REPORT_PLAIN:
        human_summary(&line, &t, SUMMARY_INDENT);
        emit(r, &line, now);
        break;
    case RX_REPORT_JSON:
        json_head(&line, "summary", now);
        av_bprint_chars(&line, ',', 1);
        json_summary_fields(&line, &t);
        av_bprintf(&line, "}\n");
        emit(r, &line, now);
        break;
    case RX_REPORT_QUIET:
        break;
    }
    if (r->stats_path) {
        av_bprint_chars(&stats, '{', 1);
        json_summary_fields(&stats, &t);
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
    if (r->drawn) {
        av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
        block_erase(r, &bp);
        flush_to(r->fd, &bp);
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
