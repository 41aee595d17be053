/*
 * sink_tty.c - the live block at the bottom of a terminal (progress.h):
 * one row per running encode and an overall row, redrawn in place at most
 * every TTY_INTERVAL; event lines go above it, coloured.
 *
 * The live block is drawn without a trailing newline: the cursor stays at the
 * end of its last row, so erasing it is "\r ESC[K" then "ESC[A ESC[K" per
 * other row, and it never leaves an empty row behind. That bookkeeping only
 * holds if no drawn line wraps, so every line is kept under the width, and a
 * code point from U+1100 up is counted as two columns (East Asian wide
 * characters and emoji start there; overcounting a few narrow ones only
 * shortens a name a little more).
 */
#include <math.h>
#include <string.h>

#include <libavutil/bprint.h>

#include "core/text.h"
#include "report/report_int.h"

#define TTY_INTERVAL  0.25 /* s between redraws of the live block */
#define LIVE_MAX      16   /* rows of running files; more are summed up in the last */
#define NAME_MIN_COLS 16   /* below this a live line drops fps, size and ETA */

/* ---- names ---- */

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

/* Batch ETA: media time not yet done (the plan minus what the finished files
 * planned minus what the running ones got through) at the speed observed over
 * the whole batch. Files that failed early shorten the remainder without
 * inflating the speed: only media actually encoded counts for the speed. */
static double batch_eta(const RxReporter *r, double now)
{
    double done = (double)r->media_finished_us, enc = (double)r->media_encoded_us, speed;
    double el = now - r->t_plan; /* encoding began with the plan, not the walk */

    if (r->media_us_total <= 0 || el <= 0)
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
    speed = enc / 1e6 / el;
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
        rx_report_rates_text(&rates, s, now, brief);
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
               rx_report_bytes(saved, sizeof(saved), t->bytes_before - t->bytes_after),
               rx_report_dur(el, sizeof(el), now),
               rx_report_dur(eta, sizeof(eta), batch_eta(r, now)));
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

/* ---- events ---- */

static void tty_start(RxReporter *r, int slot, const char *path, int64_t in_bytes, int64_t media_us,
                      const AVBPrint *human, double now)
{
    (void)slot;
    (void)path;
    (void)in_bytes;
    (void)media_us;
    (void)human;
    rx_report_emit(r, NULL, now);
}

static void tty_progress(RxReporter *r, int slot, Slot *s, double now)
{
    (void)slot;
    (void)s;
    if (r->closed || now - r->last_draw < TTY_INTERVAL)
        return;
    rx_report_emit(r, NULL, now);
}

/* The original's fate joins the finish line: rows are scarce here. */
static void tty_finish(RxReporter *r, AVBPrint *out, int slot, const char *path,
                       const RxResult *res, const char *original, double now)
{
    (void)slot;
    (void)now;
    rx_report_human_finish(out, r->color, path, res, original, 1);
}

const RxSink rx_sink_tty = {
    .name = "tty",
    .start = tty_start,
    .progress = tty_progress,
    .finish = tty_finish,
    .note = rx_report_sink_note,
    .summary = rx_report_sink_summary,
    .erase = block_erase,
    .draw = block_draw,
};
