/*
 * human.c - the report's lines for people: sizes, durations and rates, and
 * one line per event ("WORD        details  NAME"), shared by the TTY,
 * plain and quiet sinks and the log file (report_int.h).
 *
 * Pure formatting: no state but what the caller passes, no lock.
 */
#include <math.h>
#include <string.h>

#include <libavutil/bprint.h>

#include "core/text.h"
#include "report/report_int.h"

/* ---- numbers and names ---- */

const char *rx_report_bytes(char *buf, size_t size, int64_t v)
{
    AVBPrint b;

    av_bprint_init_for_buffer(&b, buf, (unsigned)size);
    rx_text_bytes(&b, v);
    return buf;
}

/* Negative, non-finite or absurd (an ETA at a speed near 0): "-". */
const char *rx_report_dur(char *buf, size_t size, double seconds)
{
    AVBPrint b;

    av_bprint_init_for_buffer(&b, buf, (unsigned)size);
    rx_text_duration(&b, seconds >= 0 && seconds < 1e8 ? (int64_t)(seconds * 1000) : -1);
    return buf;
}

/* ---- rates ---- */

Rates rx_report_rates(const Slot *s, double now)
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
void rx_report_rates_text(AVBPrint *bp, const Slot *s, double now, int brief)
{
    Rates q = rx_report_rates(s, now);
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
        av_bprintf(bp, "  %8s  ETA %7s", rx_report_bytes(size, sizeof(size), s->p.bytes),
                   rx_report_dur(eta, sizeof(eta), q.eta));
}

/* ---- human lines: "WORD        details  NAME\n" ---- */

void rx_report_status_word(AVBPrint *bp, int color, const char *sgr, const char *word)
{
    size_t n = strlen(word);

    if (color && sgr)
        av_bprintf(bp, "%s%s%s", sgr, word, SGR_RESET);
    else
        av_bprintf(bp, "%s", word);
    av_bprint_chars(bp, ' ', n < STATUS_COLS ? (unsigned)(STATUS_COLS - n) : 1);
}

void rx_report_human_start(AVBPrint *bp, const char *path, int64_t in_bytes, int64_t media_us)
{
    char size[32], dur[32];

    rx_report_status_word(bp, 0, NULL, "start");
    av_bprintf(bp, "%s  %s  ", rx_report_bytes(size, sizeof(size), in_bytes),
               rx_report_dur(dur, sizeof(dur), media_us > 0 ? (double)media_us / 1e6 : -1));
    rx_text_human(bp, path);
    av_bprint_chars(bp, '\n', 1);
}

int rx_report_processed(RxState s)
{
    return s == RX_STATE_DONE || s == RX_STATE_ENCODED;
}

int64_t rx_report_media_of(const RxResult *res)
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
void rx_report_human_finish(AVBPrint *bp, int color, const char *path, const RxResult *res,
                            const char *original, int fold)
{
    char in[32], out[32], dur[32], wall[32], why[128];

    rx_report_bytes(in, sizeof(in), res->in_bytes);
    rx_report_bytes(out, sizeof(out), res->out_bytes);
    if (rx_report_processed(res->state)) {
        rx_report_status_word(bp, color, SGR_GREEN, "done");
        av_bprintf(bp, "%s -> %s", in, out);
        if (res->in_bytes > 0)
            av_bprintf(bp, " (%+.1f%%)",
                       100.0 * (double)(res->out_bytes - res->in_bytes) / (double)res->in_bytes);
        av_bprintf(bp, "  %s in %s  ",
                   rx_report_dur(dur, sizeof(dur), (double)rx_report_media_of(res) / 1e6),
                   rx_report_dur(wall, sizeof(wall), res->wall_seconds));
        quality_text(bp, res);
        if (fold && original)
            av_bprintf(bp, "original %s  ", original);
        rx_text_human(bp, path);
    } else if (res->state == RX_STATE_SKIPPED) {
        rx_report_status_word(bp, color, SGR_YELLOW, "skipped");
        if (res->out_bytes > 0)
            av_bprintf(bp, "%s -> %s  ", in, out);
        rx_text_human(bp, path);
        if (res->error[0]) {
            av_bprintf(bp, ": ");
            rx_text_human(bp, res->error);
        }
    } else if (res->state == RX_STATE_INTERRUPTED) {
        rx_report_status_word(bp, color, SGR_YELLOW, "interrupted");
        rx_text_human(bp, path);
    } else {
        rx_report_status_word(bp, color, SGR_RED, "failed");
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

void rx_report_human_original(AVBPrint *bp, const char *path, const char *original)
{
    rx_report_status_word(bp, 0, NULL, "original");
    av_bprintf(bp, "%s  ", original);
    rx_text_human(bp, path);
    av_bprint_chars(bp, '\n', 1);
}

void rx_report_human_progress(AVBPrint *bp, const Slot *s, double now)
{
    rx_report_status_word(bp, 0, NULL, "progress");
    rx_report_rates_text(bp, s, now, 0);
    av_bprintf(bp, "  ");
    rx_text_human(bp, s->path);
    av_bprint_chars(bp, '\n', 1);
}

void rx_report_human_note(AVBPrint *bp, int color, RxLogLevel level, const char *text)
{
    if (level == RX_LOG_ERROR)
        av_bprintf(bp, "%serror:%s ", color ? SGR_RED : "", color ? SGR_RESET : "");
    else if (level == RX_LOG_WARN)
        av_bprintf(bp, "%swarning:%s ", color ? SGR_YELLOW : "", color ? SGR_RESET : "");
    rx_text_human(bp, text);
    av_bprint_chars(bp, '\n', 1);
}

/* sep joins the three parts: a newline and an indent on screen, "; " in the log. */
void rx_report_human_summary(AVBPrint *bp, const RxReportTotals *t, const char *sep)
{
    size_t ran = t->processed + t->skipped + t->failed;
    int64_t saved = t->bytes_before - t->bytes_after;
    char before[32], after[32], sv[32], wall[32], avg[32];

    rx_report_status_word(bp, 0, NULL, "summary");
    av_bprintf(bp, "%zu processed, %zu failed, %zu skipped, %zu interrupted of %zu files",
               t->processed, t->failed, t->skipped, t->interrupted, t->total);
    if (ran)
        av_bprintf(bp, " (%.1f%% succeeded)",
                   100.0 * (double)(t->processed + t->skipped) / (double)ran);
    av_bprintf(bp, "%s%s -> %s, saved %s", sep,
               rx_report_bytes(before, sizeof(before), t->bytes_before),
               rx_report_bytes(after, sizeof(after), t->bytes_after),
               rx_report_bytes(sv, sizeof(sv), saved));
    if (t->bytes_before > 0)
        av_bprintf(bp, " (%.1f%%)", 100.0 * (double)saved / (double)t->bytes_before);
    av_bprintf(bp, "%swall time %s", sep, rx_report_dur(wall, sizeof(wall), t->wall_seconds));
    if (t->files_timed)
        av_bprintf(bp, ", %s per file",
                   rx_report_dur(avg, sizeof(avg), t->file_seconds / (double)t->files_timed));
    av_bprint_chars(bp, '\n', 1);
}

void rx_report_sink_note(RxReporter *r, AVBPrint *out, RxLogLevel level, const char *text,
                         double now)
{
    (void)now;
    rx_report_human_note(out, r->color, level, text);
}

void rx_report_sink_summary(RxReporter *r, AVBPrint *out, const RxReportTotals *t, double now)
{
    (void)r;
    (void)now;
    rx_report_human_summary(out, t, SUMMARY_INDENT);
}
