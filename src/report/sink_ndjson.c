/*
 * sink_ndjson.c - run --json: NDJSON, one object per line (progress.h),
 * every event with "event" and "elapsed"; "progress" at most every
 * JSON_INTERVAL per file, so scripts draw their own bars.
 */
#include <string.h>

#include <libavutil/bprint.h>

#include "report/json.h"
#include "report/report_int.h"

#define JSON_INTERVAL 1.0 /* s between progress events of one file */

static void json_head(AVBPrint *bp, const char *event, double now)
{
    av_bprintf(bp, "{\"event\":\"%s\"", event);
    rx_json_num(bp, "elapsed", now);
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

static void json_finish(AVBPrint *bp, const RxReporter *r, int slot, const char *path,
                        const RxResult *res, const char *original, double now)
{
    const char *event = rx_report_processed(res->state)      ? "done"
                        : res->state == RX_STATE_SKIPPED     ? "skipped"
                        : res->state == RX_STATE_INTERRUPTED ? "interrupted"
                                                             : "failed";
    const RxReportTotals *t = &r->tot;

    json_head(bp, event, now);
    rx_json_int(bp, "slot", slot);
    rx_json_str(bp, "path", path);
    rx_result_json(bp, res);
    rx_json_str(bp, "original", original ? original : "");
    av_bprintf(bp, ",\"finished\":%zu,\"total\":%zu}\n",
               t->processed + t->failed + t->skipped + t->interrupted, t->total);
}

static void ndjson_start(RxReporter *r, int slot, const char *path, int64_t in_bytes,
                         int64_t media_us, const AVBPrint *human, double now)
{
    AVBPrint line;

    (void)human;
    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
    json_head(&line, "start", now);
    rx_json_int(&line, "slot", slot);
    rx_json_str(&line, "path", path);
    rx_json_int(&line, "in_bytes", in_bytes);
    rx_json_int(&line, "media_us", media_us);
    av_bprintf(&line, "}\n");
    rx_report_emit(r, &line, now);
    av_bprint_finalize(&line, NULL);
}

static void ndjson_progress(RxReporter *r, int slot, Slot *s, double now)
{
    const RxProgress *p = &s->p;
    AVBPrint line;
    Rates q;

    if (now - s->last_line < JSON_INTERVAL)
        return;
    s->last_line = now;
    q = rx_report_rates(s, now);
    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
    json_head(&line, "progress", now);
    rx_json_int(&line, "slot", slot);
    rx_json_str(&line, "path", s->path);
    rx_json_int(&line, "frames", p->frames);
    rx_json_int(&line, "media_us", p->media_us);
    rx_json_int(&line, "total_us", p->total_us > 0 ? p->total_us : s->media_us);
    rx_json_int(&line, "bytes", p->bytes);
    rx_json_num(&line, "percent", q.percent);
    rx_json_num(&line, "fps", q.fps);
    rx_json_num(&line, "speed", q.speed);
    rx_json_num(&line, "eta_seconds", q.eta);
    av_bprintf(&line, "}\n");
    rx_report_emit(r, &line, now);
    av_bprint_finalize(&line, NULL);
}

static void ndjson_finish(RxReporter *r, AVBPrint *out, int slot, const char *path,
                          const RxResult *res, const char *original, double now)
{
    json_finish(out, r, slot, path, res, original, now);
}

static void ndjson_note(RxReporter *r, AVBPrint *out, RxLogLevel level, const char *text,
                        double now)
{
    (void)r;
    json_head(out, "note", now);
    av_bprintf(out, ",\"level\":\"%s\"", level_name(level));
    rx_json_str(out, "message", text);
    av_bprintf(out, "}\n");
}

static void ndjson_summary(RxReporter *r, AVBPrint *out, const RxReportTotals *t, double now)
{
    (void)r;
    json_head(out, "summary", now);
    av_bprint_chars(out, ',', 1);
    rx_json_summary_fields(out, t);
    av_bprintf(out, "}\n");
}

const RxSink rx_sink_ndjson = {
    .name = "json",
    .start = ndjson_start,
    .progress = ndjson_progress,
    .finish = ndjson_finish,
    .note = ndjson_note,
    .summary = ndjson_summary,
};
