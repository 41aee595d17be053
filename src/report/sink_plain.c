/*
 * sink_plain.c - one line per event for logs and pipes (progress.h): the
 * plain sink (start, progress at most every PLAIN_INTERVAL per file, done,
 * original, failed, skipped, interrupted, notes, the summary) and the quiet
 * one (failed lines and error notes only). Fixed first word per line; the
 * file name comes last.
 */
#include <libavutil/bprint.h>

#include "report/report_int.h"

#define PLAIN_INTERVAL 10.0 /* s between progress lines of one file */

static void plain_start(RxReporter *r, int slot, const char *path, int64_t in_bytes,
                        int64_t media_us, const AVBPrint *human, double now)
{
    (void)slot;
    (void)path;
    (void)in_bytes;
    (void)media_us;
    rx_report_emit(r, human, now);
}

static void plain_progress(RxReporter *r, int slot, Slot *s, double now)
{
    AVBPrint line;

    (void)slot;
    if (now - s->last_line < PLAIN_INTERVAL)
        return;
    s->last_line = now;
    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_report_human_progress(&line, s, now);
    rx_report_emit(r, &line, now);
    av_bprint_finalize(&line, NULL);
}

static void plain_finish(RxReporter *r, AVBPrint *out, int slot, const char *path,
                         const RxResult *res, const char *original, double now)
{
    (void)r;
    (void)slot;
    (void)now;
    rx_report_human_finish(out, 0, path, res, original, 0);
    if (original)
        rx_report_human_original(out, path, original);
}

const RxSink rx_sink_plain = {
    .name = "plain",
    .start = plain_start,
    .progress = plain_progress,
    .finish = plain_finish,
    .note = rx_report_sink_note,
    .summary = rx_report_sink_summary,
};

/* ---- quiet: what went wrong, nothing else */

static void quiet_finish(RxReporter *r, AVBPrint *out, int slot, const char *path,
                         const RxResult *res, const char *original, double now)
{
    (void)r;
    (void)slot;
    (void)original;
    (void)now;
    if (!rx_report_processed(res->state) && res->state != RX_STATE_SKIPPED &&
        res->state != RX_STATE_INTERRUPTED)
        rx_report_human_finish(out, 0, path, res, NULL, 0);
}

static void quiet_note(RxReporter *r, AVBPrint *out, RxLogLevel level, const char *text, double now)
{
    if (level == RX_LOG_ERROR)
        rx_report_sink_note(r, out, level, text, now);
}

const RxSink rx_sink_quiet = {
    .name = "quiet",
    .finish = quiet_finish,
    .note = quiet_note,
};
