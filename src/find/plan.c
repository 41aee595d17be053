/*
 * plan.c - the verdict on each found file (see plan.h).
 */
#include <stdio.h>
#include <string.h>

#include "reencode/batch.h"
#include "reencode/plan.h"

const char *rx_verdict_status(RxVerdict v)
{
    switch (v) {
    case RX_VERDICT_CANDIDATE:
        return "candidate";
    case RX_VERDICT_UNREADABLE:
        return "unreadable";
    default:
        return "skipped";
    }
}

void rx_plan_decide(const RxFound *f, const RxFilter *filter, RxDecision *d)
{
    const char *by;
    RxFields fields;
    RxFilterMiss miss;

    memset(d, 0, sizeof(*d));
    if (f->err || !f->probe) {
        d->verdict = RX_VERDICT_UNREADABLE;
        rx_probe_strerror(f->err, d->reason, sizeof(d->reason));
        return;
    }
    /* Our own outputs first: with --ext webm they must never be picked up
     * again, whatever the filter says. */
    by = rx_probe_get(f->probe, RX_STREAM_GENERAL, 0, "EncodedBy");
    if (by && !strncmp(by, "reencode", 8)) {
        d->verdict = RX_VERDICT_OWN_OUTPUT;
        snprintf(d->reason, sizeof(d->reason), "written by reencode");
        return;
    }
    if (rx_probe_count(f->probe, RX_STREAM_VIDEO) == 0) {
        d->verdict = RX_VERDICT_NO_VIDEO;
        snprintf(d->reason, sizeof(d->reason), "no video stream");
        return;
    }
    fields = rx_probe_fields(f->probe);
    if (!rx_filter_match(filter, &fields, &miss)) {
        d->verdict = RX_VERDICT_FILTERED;
        snprintf(d->reason, sizeof(d->reason), "%s", miss.why);
        return;
    }
    d->verdict = RX_VERDICT_CANDIDATE;
}

int64_t rx_plan_estimate_bytes(const RxFound *f)
{
    int64_t ms = 0, w = 0, h = 0, bps, est;
    size_t tracks;

    if (!f->probe)
        return f->entry->size;
    if (rx_probe_int(f->probe, RX_STREAM_GENERAL, 0, "Duration", &ms) < 0 || ms <= 0)
        return f->entry->size;
    rx_probe_int(f->probe, RX_STREAM_VIDEO, 0, "Width", &w);
    rx_probe_int(f->probe, RX_STREAM_VIDEO, 0, "Height", &h);
    bps = (int64_t)(200000.0 * (double)(w * h) / (1920.0 * 1080.0));
    if (bps < 50000)
        bps = 50000;
    tracks = rx_probe_count(f->probe, RX_STREAM_AUDIO);
    bps += 32000 * (int64_t)tracks;
    est = bps / 8 * ms / 1000;
    return (double)est < RX_BATCH_DEFAULT_SIZE_RATIO * (double)f->entry->size ? est
                                                                              : f->entry->size;
}
