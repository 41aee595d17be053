/*
 * json.c - JSON members for the reports (see json.h).
 */
#include "report/json.h"

#include <inttypes.h>
#include <math.h>

#include "core/text.h"

void rx_json_str(AVBPrint *bp, const char *key, const char *v)
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

void rx_json_int(AVBPrint *bp, const char *key, int64_t v)
{
    av_bprintf(bp, ",\"%s\":%" PRId64, key, v);
}

/* JSON has no NaN or infinity; negative means unknown here. */
void rx_json_num(AVBPrint *bp, const char *key, double v)
{
    if (isfinite(v) && v >= 0)
        av_bprintf(bp, ",\"%s\":%.3f", key, v);
    else
        av_bprintf(bp, ",\"%s\":null", key);
}

void rx_json_summary_fields(AVBPrint *bp, const RxReportTotals *t)
{
    size_t ran = t->processed + t->skipped + t->failed;

    av_bprintf(bp, "\"processed\":%zu,\"failed\":%zu,\"skipped\":%zu,\"interrupted\":%zu",
               t->processed, t->failed, t->skipped, t->interrupted);
    av_bprintf(bp, ",\"total\":%zu", t->total);
    rx_json_num(bp, "success_rate", ran ? (double)(t->processed + t->skipped) / (double)ran : -1.0);
    rx_json_int(bp, "bytes_before", t->bytes_before);
    rx_json_int(bp, "bytes_after", t->bytes_after);
    rx_json_int(bp, "bytes_saved", t->bytes_before - t->bytes_after);
    rx_json_num(bp, "saved_percent",
                t->bytes_before > 0
                    ? 100.0 * (double)(t->bytes_before - t->bytes_after) / (double)t->bytes_before
                    : -1.0);
    rx_json_num(bp, "wall_seconds", t->wall_seconds);
    rx_json_num(bp, "avg_file_seconds",
                t->files_timed ? t->file_seconds / (double)t->files_timed : -1.0);
}

void rx_result_json(AVBPrint *bp, const RxResult *res)
{
    av_bprintf(bp, ",\"state\":\"%s\"", rx_state_name(res->state));
    rx_json_int(bp, "in_bytes", res->in_bytes);
    rx_json_int(bp, "out_bytes", res->out_bytes);
    rx_json_int(bp, "in_duration_us", res->in_duration_us);
    rx_json_int(bp, "video_duration_us", res->video_duration_us);
    rx_json_int(bp, "audio_duration_us", res->audio_duration_us);
    rx_json_int(bp, "video_frames", res->video_frames);
    rx_json_int(bp, "video_frames_elided", res->video_frames_elided);
    rx_json_str(bp, "verified", rx_verified_name(res->verified));
    rx_json_int(bp, "decode_errors", res->decode_errors);
    rx_json_int(bp, "audio_tracks", res->audio_tracks);
    rx_json_int(bp, "width", res->width);
    rx_json_int(bp, "height", res->height);
    rx_json_num(bp, "wall_seconds", res->wall_seconds);
    if (res->ssim > 0) {
        av_bprintf(bp, ",\"ssim\":%.6f,\"ssim_min\":%.6f", res->ssim, res->ssim_min);
        rx_json_num(bp, "psnr", res->psnr);
    }
    if (res->tuned_crf) {
        rx_json_int(bp, "tuned_crf", res->tuned_crf);
        rx_json_int(bp, "tune_probes", res->tune_probes);
    }
    rx_json_int(bp, "err", res->err);
    /* Strings, "" when there is none: one schema for every reader. */
    rx_json_str(bp, "error", res->error);
}

void rx_json_entry(AVBPrint *bp, const RxJournalEntry *e, const char *status, const char *path)
{
    if (!path)
        path = e->id.rel ? e->id.rel : "";
    av_bprintf(bp, "\"status\":\"%s\"", status);
    rx_json_str(bp, "path", path);
    rx_result_json(bp, &e->result);
    /* "seconds" is the journal readers' older spelling of wall_seconds. */
    av_bprintf(bp, ",\"seconds\":%.1f,\"attempts\":%d", e->result.wall_seconds, e->attempts);
    rx_json_str(bp, "time", e->time);
    if (e->crashes)
        av_bprintf(bp, ",\"crashes\":%d,\"crashes_alone\":%d,\"crash_signals\":\"%s\"", e->crashes,
                   e->crashes_alone, e->crash_signals);
    rx_json_str(bp, "original", e->original ? e->original : "");
    rx_json_str(bp, "output", e->output ? e->output : "");
}
