/*
 * listing.c - the dry-run listing (see listing.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/text.h"
#include "find/listing.h"

static int64_t field_int(const RxFound *f, RxStreamKind kind, const char *name)
{
    int64_t v = -1;

    if (!f->probe || rx_probe_int(f->probe, kind, 0, name, &v) < 0)
        return -1;
    return v;
}

static const char *field_str(const RxFound *f, RxStreamKind kind, const char *name)
{
    const char *v = f->probe ? rx_probe_get(f->probe, kind, 0, name) : NULL;
    return v ? v : "";
}

void rx_list_header(AVBPrint *bp)
{
    av_bprintf(bp, "%-11s %8s %9s %9s  %-10s %-4s %s\n", "STATUS", "DURATION", "SIZE", "BITRATE",
               "PICTURE", "FPS", "PATH");
}

static void human(AVBPrint *bp, const RxFound *f, const RxDecision *d)
{
    int64_t br = field_int(f, RX_STREAM_GENERAL, "OverallBitRate");
    int64_t w = field_int(f, RX_STREAM_VIDEO, "Width");
    int64_t h = field_int(f, RX_STREAM_VIDEO, "Height");
    const char *mode = field_str(f, RX_STREAM_VIDEO, "FrameRate_Mode");
    char dur[32], size[32], rate[32], pict[48];
    AVBPrint b;

    av_bprint_init_for_buffer(&b, dur, sizeof(dur));
    rx_text_duration(&b, field_int(f, RX_STREAM_GENERAL, "Duration"));
    av_bprint_init_for_buffer(&b, size, sizeof(size));
    rx_text_bytes(&b, f->entry->size);
    if (br > 0)
        snprintf(rate, sizeof(rate), "%.1f Mb/s", (double)br / 1e6);
    else
        snprintf(rate, sizeof(rate), "-");
    if (w > 0 && h > 0)
        snprintf(pict, sizeof(pict), "%" PRId64 "x%" PRId64, w, h);
    else
        snprintf(pict, sizeof(pict), "-");
    av_bprintf(bp, "%-11s %8s %9s %9s  %-10s %-4s ", rx_verdict_status(d->verdict), dur, size, rate,
               pict, *mode ? mode : "-");
    rx_text_human(bp, f->entry->path);
    av_bprint_chars(bp, '\n', 1);
    if (d->reason[0]) {
        av_bprintf(bp, "%12s", "");
        rx_text_human(bp, d->reason);
        av_bprint_chars(bp, '\n', 1);
    }
}

static void json_str_field(AVBPrint *bp, const char *key, const char *v)
{
    av_bprintf(bp, ",\"%s\":", key);
    if (rx_text_json(bp, v)) {
        av_bprintf(bp, ",\"%s_hex\":", key);
        rx_text_hex(bp, v);
    }
}

static void json_int_field(AVBPrint *bp, const char *key, int64_t v)
{
    if (v >= 0)
        av_bprintf(bp, ",\"%s\":%" PRId64, key, v);
    else
        av_bprintf(bp, ",\"%s\":null", key);
}

static void json(AVBPrint *bp, const RxFound *f, const RxDecision *d)
{
    av_bprintf(bp, "{\"type\":\"file\",\"status\":\"%s\"", rx_verdict_status(d->verdict));
    json_str_field(bp, "path", f->entry->path);
    json_str_field(bp, "reason", d->reason);
    json_int_field(bp, "size", f->entry->size);
    json_int_field(bp, "duration_ms", field_int(f, RX_STREAM_GENERAL, "Duration"));
    json_int_field(bp, "bitrate", field_int(f, RX_STREAM_GENERAL, "OverallBitRate"));
    json_int_field(bp, "width", field_int(f, RX_STREAM_VIDEO, "Width"));
    json_int_field(bp, "height", field_int(f, RX_STREAM_VIDEO, "Height"));
    json_str_field(bp, "frame_rate_mode", field_str(f, RX_STREAM_VIDEO, "FrameRate_Mode"));
    json_str_field(bp, "performer", field_str(f, RX_STREAM_GENERAL, "Performer"));
    if (d->verdict == RX_VERDICT_CANDIDATE)
        json_int_field(bp, "estimate_bytes", rx_plan_estimate_bytes(f));
    av_bprintf(bp, "}\n");
}

void rx_list_file(AVBPrint *bp, const RxFound *f, const RxDecision *d, int as_json)
{
    if (as_json)
        json(bp, f, d);
    else
        human(bp, f, d);
}

void rx_list_count(RxListTotals *t, const RxFound *f, const RxDecision *d)
{
    int64_t ms;

    t->files++;
    switch (d->verdict) {
    case RX_VERDICT_CANDIDATE:
        t->candidates++;
        t->candidate_bytes += f->entry->size;
        ms = field_int(f, RX_STREAM_GENERAL, "Duration");
        if (ms > 0)
            t->candidate_ms += ms;
        t->estimate_bytes += rx_plan_estimate_bytes(f);
        break;
    case RX_VERDICT_UNREADABLE:
        t->unreadable++;
        break;
    default:
        t->skipped++;
        break;
    }
}

void rx_list_totals(AVBPrint *bp, const RxListTotals *t, int as_json)
{
    int64_t saved = t->candidate_bytes - t->estimate_bytes;

    if (as_json) {
        av_bprintf(bp,
                   "{\"type\":\"totals\",\"files\":%zu,\"candidates\":%zu,\"skipped\":%zu,"
                   "\"unreadable\":%zu,\"warnings\":%zu,\"candidate_bytes\":%" PRId64
                   ",\"candidate_duration_ms\":%" PRId64 ",\"estimate_bytes\":%" PRId64
                   ",\"estimate_saved_bytes\":%" PRId64 "}\n",
                   t->files, t->candidates, t->skipped, t->unreadable, t->warnings,
                   t->candidate_bytes, t->candidate_ms, t->estimate_bytes, saved);
        return;
    }
    av_bprintf(bp, "\n%zu file%s: %zu candidate%s (", t->files, t->files == 1 ? "" : "s",
               t->candidates, t->candidates == 1 ? "" : "s");
    rx_text_bytes(bp, t->candidate_bytes);
    av_bprintf(bp, ", ");
    rx_text_duration(bp, t->candidate_ms);
    av_bprintf(bp, "), %zu skipped, %zu unreadable", t->skipped, t->unreadable);
    if (t->warnings)
        av_bprintf(bp, ", %zu warning%s", t->warnings, t->warnings == 1 ? "" : "s");
    av_bprintf(bp, "\n");
    if (t->candidates) {
        av_bprintf(bp, "estimated output ");
        rx_text_bytes(bp, t->estimate_bytes);
        av_bprintf(bp, ", saving ");
        rx_text_bytes(bp, saved);
        av_bprintf(bp, " (%.0f%%; basis in 'reencode list --help')\n",
                   t->candidate_bytes ? 100.0 * (double)saved / (double)t->candidate_bytes : 0.0);
    }
}
