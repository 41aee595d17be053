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
