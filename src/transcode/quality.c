/*
 * quality.c - measured quality: the output measured against its source
 * (--measure, --min-ssim) and the probe passes of --target-ssim that
 * search the crf.
 */
#include <errno.h>
#include <string.h>

#include "reencode/measure.h"
#include "transcode/transcode_int.h"

/* ---- measured quality (--measure, --min-ssim, --target-ssim) */

static int measure_cancelled(void *opaque)
{
    return tc_cancelled(opaque);
}

static int measure(RxTranscode *t, const RxSpan *spans, int n, RxQuality *q)
{
    RxMeasureOptions mo = {rx_settings_threads(&t->s), measure_cancelled, t, 0};
    int ret = rx_measure(t->input, t->part, spans, n, &mo, q);

    if (ret == AVERROR_EXIT || tc_cancelled(t))
        return tc_fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
    if (ret < 0)
        return tc_fail(t, ret, "cannot measure '%s' against '%s'", t->part, t->input);
    return 0;
}

/* Time of the first video frame sent, in the input stream's microseconds. */
static int64_t first_us(const RxTranscode *t)
{
    /* Under --cfr output time 0 shows the input's first frame, wherever
     * that frame was in the input. */
    if (t->v.cfr && t->v.in_first != AV_NOPTS_VALUE)
        return av_rescale_q(t->v.in_first, t->v.in_tb, AV_TIME_BASE_Q);
    return av_rescale_q(t->v.first_pts, t->v.enc->time_base, AV_TIME_BASE_Q);
}

/*
 * The finished output against its source: MEASURE_SPANS seconds of one
 * second each, centred in equal parts of the video, so an hour costs five
 * seconds of decoding both files; a video of MEASURE_WHOLE seconds or less
 * is measured whole. Below --min-ssim the output is not published.
 */
#define MEASURE_SPANS 5
#define MEASURE_WHOLE (10 * AV_TIME_BASE)

int tc_measure_output(RxTranscode *t)
{
    RxResult *r = t->res;
    int64_t d = r->video_duration_us, start = first_us(t);
    RxSpan spans[MEASURE_SPANS];
    int n = d <= MEASURE_WHOLE ? 1 : MEASURE_SPANS;
    RxQuality q;
    int ret;

    for (int i = 0; i < n; i++) {
        int64_t off = n == 1 ? 0 : (2 * i + 1) * d / (2 * n) - AV_TIME_BASE / 2;
        spans[i] = (RxSpan){start + off, off, n == 1 ? FFMAX(d, 1) : AV_TIME_BASE};
    }
    ret = measure(t, spans, n, &q);
    if (ret < 0)
        return ret;
    r->ssim = q.ssim;
    r->ssim_min = q.ssim_min;
    r->psnr = q.psnr;
    if (t->s.min_ssim > 0 && q.ssim < t->s.min_ssim)
        return tc_fail(t, RX_ERR_LOW_QUALITY,
                       "output of '%s' measures SSIM %.4f (PSNR %.1f dB), below --min-ssim %.4f; "
                       "output discarded, input left as it is",
                       t->input, q.ssim, q.psnr, t->s.min_ssim);
    return 0;
}

int tc_open_pass(RxTranscode *t)
{
    int ret;

    memset(&t->v, 0, sizeof(t->v));
    t->na = 0;
    t->io_errno = 0;
    if ((ret = tc_open_input(t)) < 0 || (ret = tc_open_output(t)) < 0 ||
        (ret = tc_open_streams(t)) < 0 || (ret = tc_write_header(t)) < 0)
        return ret;
    return 0;
}

/* A probe starts at the keyframe before its window; tc_encode_video_frame()
 * skips the frames before the window. */
static int seek_window(RxTranscode *t)
{
    const AVStream *st = t->ic->streams[t->v.in_index];
    int64_t ts = av_rescale_q(t->win_start, AV_TIME_BASE_Q, st->time_base);

    if (av_seek_frame(t->ic, t->v.in_index, ts, AVSEEK_FLAG_BACKWARD) < 0 &&
        av_seek_frame(t->ic, t->v.in_index, ts, 0) < 0)
        return tc_fail(t, AVERROR(EIO), "cannot seek in '%s' for a probe encode", t->input);
    return 0;
}

/*
 * One probe encode: the video of [start, start + len) (stream microseconds)
 * at the job's current crf, through the same frame stage and encoder
 * settings as the real encode, into the .part, then measured against the
 * source. Its figures go to a scratch result; a failure is the job's.
 */
static int probe(RxTranscode *t, int64_t start, int64_t len, double *ssim)
{
    RxResult scratch, *res = t->res;
    RxQuality q;
    int ret;

    rx_result_init(&scratch);
    t->res = &scratch;
    t->probe = 1;
    t->win_start = start;
    t->win_end = start + len;
    if ((ret = tc_open_pass(t)) < 0 || (ret = seek_window(t)) < 0 ||
        (ret = tc_start_source(t)) < 0 || (ret = tc_transcode_loop(t)) < 0 ||
        (ret = tc_flush_all(t)) < 0)
        goto done;
    if (t->v.first_pts == AV_NOPTS_VALUE) {
        ret = tc_fail(t, AVERROR_INVALIDDATA, "no video to probe in '%s' at %.1f s", t->input,
                      start / 1e6);
        goto done;
    }
    ret = av_write_trailer(t->oc);
    if (ret >= 0) {
        avio_flush(t->pb);
        ret = t->pb->error;
    }
    if (ret < 0) {
        tc_fail(t, ret, "cannot write '%s' for '%s'", t->part, t->input);
        goto done;
    }
    ret = measure(t, &(RxSpan){first_us(t), 0, t->win_end - first_us(t)}, 1, &q);
    *ssim = q.ssim;
done:
    tc_pass_close(t);
    t->probe = 0;
    t->res = res;
    if (ret < 0) {
        res->err = scratch.err;
        memcpy(res->error, scratch.error, sizeof(res->error));
    }
    return ret;
}

/* Where the probes go, in stream microseconds: TUNE_WINDOW seconds centred
 * in 3, 2 or 1 equal parts of the video (from 30 s, from 12 s, shorter); a
 * video of at most two windows is probed whole. Returns the count. */
#define TUNE_WINDOW  (2 * AV_TIME_BASE)
#define TUNE_WINDOWS 3

static int tune_windows(RxTranscode *t, int64_t start[TUNE_WINDOWS], int64_t *len)
{
    AVFormatContext *ic = NULL;
    int64_t s0 = 0, d = 0;
    int ret, n, vidx;

    ret = avformat_open_input(&ic, t->input, NULL, NULL);
    if (ret >= 0)
        ret = avformat_find_stream_info(ic, NULL);
    if (ret >= 0)
        ret = vidx = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (ret < 0) {
        avformat_close_input(&ic);
        return tc_fail(t, ret == AVERROR_STREAM_NOT_FOUND ? RX_ERR_NOVIDEO : ret,
                       "cannot open '%s' for probe encodes", t->input);
    }
    if (ic->streams[vidx]->start_time != AV_NOPTS_VALUE)
        s0 = av_rescale_q(ic->streams[vidx]->start_time, ic->streams[vidx]->time_base,
                          AV_TIME_BASE_Q);
    if (ic->duration != AV_NOPTS_VALUE)
        d = ic->duration;
    avformat_close_input(&ic);
    if (d <= 2 * TUNE_WINDOW) {
        start[0] = s0;
        *len = INT64_MAX / 4; /* short or of unknown length: to the end */
        return 1;
    }
    n = d >= 30 * (int64_t)AV_TIME_BASE ? 3 : d >= 12 * (int64_t)AV_TIME_BASE ? 2 : 1;
    for (int i = 0; i < n; i++)
        start[i] = s0 + (2 * i + 1) * d / (2 * n) - TUNE_WINDOW / 2;
    *len = TUNE_WINDOW;
    return n;
}

/* Whether crf meets the target in every window (stopping at the first that
 * misses). */
static int crf_meets(RxTranscode *t, int crf, const int64_t *start, int n, int64_t len, int *ok)
{
    double ssim = 0;
    int ret;

    t->s.crf = crf;
    *ok = 1;
    for (int i = 0; i < n && *ok; i++) {
        ret = probe(t, start[i], len, &ssim);
        if (ret < 0)
            return ret;
        t->res->tune_probes++;
        *ok = ssim >= t->s.target_ssim;
    }
    return 0;
}

/*
 * --target-ssim: the highest crf of the encoder's range (settings.h) whose
 * probes all reach the target, judged by the worst window's mean SSIM (a
 * film clip in one window must not be averaged away by slides in the
 * others). The top of the range first, then a binary search: at most 6
 * crfs (libaom), each stopped at the first window that misses. When even
 * the lowest crf misses, it is used: the final measure then reports the
 * output below the target.
 */
int tc_tune_crf(RxTranscode *t)
{
    RxResult *r = t->res;
    int64_t start[TUNE_WINDOWS], len;
    int lo, hi, best, n, ok, ret;

    rx_settings_crf_range(&t->s, &lo, &hi);
    best = lo;
    n = tune_windows(t, start, &len);
    if (n < 0)
        return n;
    /* Most screen recordings meet the target at the top of the range (the
     * bench corpus: four clips of five at 0.98): one crf tried instead of a
     * search's five. Content that misses it misses in its first window, so
     * the search costs one window more. */
    ret = crf_meets(t, hi, start, n, len, &ok);
    if (ret < 0)
        return ret;
    if (ok)
        lo = best = hi--;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        ret = crf_meets(t, mid, start, n, len, &ok);
        if (ret < 0)
            return ret;
        if (ok) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    t->s.crf = best;
    r->tuned_crf = best;
    return 0;
}
