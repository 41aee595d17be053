/*
 * result.c - the per-file result record and error text.
 */
#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>

#include "reencode/result.h"
#include "reencode/settings.h"

void rx_result_init(RxResult *r)
{
    memset(r, 0, sizeof(*r));
    r->state = RX_STATE_PENDING;
}

const char *rx_state_name(RxState s)
{
    switch (s) {
    case RX_STATE_PENDING:
        return "pending";
    case RX_STATE_STARTED:
        return "started";
    case RX_STATE_ENCODED:
        return "encoded";
    case RX_STATE_DONE:
        return "done";
    case RX_STATE_FAILED:
        return "failed";
    case RX_STATE_SKIPPED:
        return "skipped";
    case RX_STATE_INTERRUPTED:
        return "interrupted";
    }
    return "unknown";
}

const char *rx_state_status(RxState s)
{
    switch (s) {
    case RX_STATE_DONE:
    case RX_STATE_ENCODED:
        return "done";
    case RX_STATE_SKIPPED:
        return "skipped";
    case RX_STATE_FAILED:
        return "failed";
    default:
        return "pending";
    }
}

const char *rx_verified_name(int verified)
{
    return verified == RX_VERIFY_FULL ? "full" : verified == RX_VERIFY_QUICK ? "quick" : "no";
}

const char *rx_strerror(int err, char *buf, size_t size)
{
    if (!size)
        return buf;
    switch (err) {
    case RX_ERR_CANCELLED:
        snprintf(buf, size, "cancelled");
        break;
    case RX_ERR_NOVIDEO:
        snprintf(buf, size, "no video stream");
        break;
    case RX_ERR_TRUNCATED:
        snprintf(buf, size, "shorter than it declares (truncated recording?)");
        break;
    case RX_ERR_CHANGED:
        snprintf(buf, size, "input changed while being encoded");
        break;
    case RX_ERR_NOT_SMALLER:
        snprintf(buf, size, "output not enough smaller than the input");
        break;
    case RX_ERR_BAD_OUTPUT:
        snprintf(buf, size, "output failed its check");
        break;
    case RX_ERR_LOW_QUALITY:
        snprintf(buf, size, "output quality below --min-ssim");
        break;
    case RX_ERR_CRASHED:
        snprintf(buf, size, "the encoder crashed on it");
        break;
    default:
        /* AVERROR(e) == -e, so av_strerror covers negative errno too. */
        if (av_strerror(err, buf, size) < 0)
            snprintf(buf, size, "error %d", err);
        break;
    }
    return buf;
}
