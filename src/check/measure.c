/*
 * measure.c - picture quality of an output against its source (see measure.h).
 *
 * Two readers decode the two files side by side: the source one frame at a
 * time, the output kept one frame ahead (cur is on screen, nxt replaces it
 * once the source reaches nxt's time). Each span seeks both readers to the
 * keyframe before it. The comparison loops are written for the vectoriser
 * (built at -O3 like vstage.c): a 1080p pair takes about 3 ms, a fraction of
 * what decoding the two frames costs.
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "reencode/measure.h"
#include "transcode/orient.h"

/* ---- the arithmetic */

/* FFmpeg's ssim_end1() for 8-bit samples, on one 8x8 window of sums. */
static double ssim_window(double s1, double s2, double ss, double s12)
{
    const double c1 = .01 * .01 * 255 * 255 * 64;
    const double c2 = .03 * .03 * 255 * 255 * 64 * 63;
    double vars = ss * 64 - s1 * s1 - s2 * s2;
    double covar = s12 * 64 - s1 * s2;

    return (2 * s1 * s2 + c1) * (2 * covar + c2) / ((s1 * s1 + s2 * s2 + c1) * (vars + c2));
}

/* Scratch sums for comparing w x h planes, walked in bands of 4 rows: per
 * column the sums of a, b, a^2 + b^2 and a*b over the band, then per 4x4
 * block the same four (for this band and the one above: an 8x8 window is
 * 2x2 blocks). int32 holds them: a window sums at most 64 * 2 * 255^2. */
typedef struct Sums {
    int32_t *col;    /* 4 arrays of w */
    int32_t *blk[2]; /* 4 arrays of w / 4 each, alternating bands */
    int w;
} Sums;

static void sums_free(Sums *m)
{
    av_freep(&m->col);
    av_freep(&m->blk[0]);
    av_freep(&m->blk[1]);
    m->w = 0;
}

static int sums_size(Sums *m, int w)
{
    size_t bw = (size_t)(w / 4);

    if (m->col && m->w == w)
        return 0;
    sums_free(m);
    m->col = av_malloc_array(4 * (size_t)w, sizeof(*m->col));
    m->blk[0] = av_malloc_array(4 * bw, sizeof(*m->blk[0]));
    m->blk[1] = av_malloc_array(4 * bw, sizeof(*m->blk[1]));
    if (!m->col || !m->blk[0] || !m->blk[1]) {
        sums_free(m);
        return AVERROR(ENOMEM);
    }
    m->w = w;
    return 0;
}

static void compare(Sums *m, const uint8_t *a, ptrdiff_t as, const uint8_t *b, ptrdiff_t bs, int h,
                    double *ssim, double *sse)
{
    const int w = m->w, bw = w / 4, bh = h / 4;
    int32_t *c1 = m->col, *c2 = c1 + w, *css = c2 + w, *c12 = css + w;
    double sum = 0.0;
    int64_t err = 0;

    for (int by = 0; by < bh; by++) {
        int32_t *k = m->blk[by & 1], *u = m->blk[!(by & 1)]; /* this band, the one above */

        memset(m->col, 0, 4 * (size_t)w * sizeof(*m->col));
        for (int y = 4 * by; y < 4 * by + 4; y++) {
            const uint8_t *pa = a + y * as, *pb = b + y * bs;
            for (int x = 0; x < w; x++) {
                int va = pa[x], vb = pb[x];
                c1[x] += va;
                c2[x] += vb;
                css[x] += va * va + vb * vb;
                c12[x] += va * vb;
            }
        }
        for (int x = 0; x < w; x++)
            err += css[x] - 2 * c12[x];
        for (int bx = 0; bx < bw; bx++) {
            int x = 4 * bx;
            k[bx] = c1[x] + c1[x + 1] + c1[x + 2] + c1[x + 3];
            k[bw + bx] = c2[x] + c2[x + 1] + c2[x + 2] + c2[x + 3];
            k[2 * bw + bx] = css[x] + css[x + 1] + css[x + 2] + css[x + 3];
            k[3 * bw + bx] = c12[x] + c12[x + 1] + c12[x + 2] + c12[x + 3];
        }
        if (by == 0)
            continue;
        for (int bx = 0; bx + 1 < bw; bx++) {
            const int32_t *p = &k[bx], *q = &u[bx];
            sum += ssim_window(p[0] + p[1] + q[0] + q[1], p[bw] + p[bw + 1] + q[bw] + q[bw + 1],
                               p[2 * bw] + p[2 * bw + 1] + q[2 * bw] + q[2 * bw + 1],
                               p[3 * bw] + p[3 * bw + 1] + q[3 * bw] + q[3 * bw + 1]);
        }
    }
    for (int y = 4 * bh; y < h; y++) { /* the rows below the last band */
        const uint8_t *pa = a + y * as, *pb = b + y * bs;
        for (int x = 0; x < w; x++)
            err += (pa[x] - pb[x]) * (pa[x] - pb[x]);
    }
    *ssim = sum / ((double)(bw - 1) * (bh - 1));
    *sse = (double)err;
}

int rx_compare_planes(const uint8_t *a, ptrdiff_t a_stride, const uint8_t *b, ptrdiff_t b_stride,
                      int w, int h, double *ssim, double *sse)
{
    Sums m = {0};
    int ret;

    if (w < 8 || h < 8)
        return AVERROR(EINVAL);
    ret = sums_size(&m, w);
    if (ret < 0)
        return ret;
    compare(&m, a, a_stride, b, b_stride, h, ssim, sse);
    sums_free(&m);
    return 0;
}

double rx_psnr(double mse)
{
    double db = mse > 0.0 ? 10.0 * log10(255.0 * 255.0 / mse) : RX_PSNR_MAX;

    return db < RX_PSNR_MAX ? db : RX_PSNR_MAX;
}

/* ---- pictures as 8-bit luma at the compared size */

typedef struct Gray {
    struct SwsContext *sws;
    uint8_t *buf[4]; /* swscale's output */
    int buf_linesize[4];
    int buf_w, buf_h;
    const uint8_t *data; /* the samples: the frame's plane 0 or buf[0] */
    ptrdiff_t stride;
} Gray;

static void gray_free(Gray *g)
{
    sws_freeContext(g->sws);
    g->sws = NULL;
    av_freep(&g->buf[0]);
}

static int plain_luma8(const AVFrame *fr)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fr->format);
    const uint64_t other = AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM |
                           AV_PIX_FMT_FLAG_HWACCEL;

    return d && !(d->flags & other) && d->nb_components >= 1 && d->comp[0].plane == 0 &&
           d->comp[0].step == 1 && d->comp[0].offset == 0 && d->comp[0].shift == 0 &&
           d->comp[0].depth == 8;
}

/* Point g at fr's luma at w x h; valid while fr is unchanged. swscale's gray8
 * would stretch limited-range luma to full range, so the two paths would
 * not agree: yuv420p keeps the range. */
static int to_gray(Gray *g, const AVFrame *fr, int w, int h)
{
    int ret;

    if (fr->width == w && fr->height == h && plain_luma8(fr)) {
        g->data = fr->data[0];
        g->stride = fr->linesize[0];
        return 0;
    }
    g->sws = sws_getCachedContext(g->sws, fr->width, fr->height, fr->format, w, h,
                                  AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
    if (!g->sws)
        return AVERROR(EINVAL);
    if (!g->buf[0] || g->buf_w != w || g->buf_h != h) {
        av_freep(&g->buf[0]);
        ret = av_image_alloc(g->buf, g->buf_linesize, w, h, AV_PIX_FMT_YUV420P, 32);
        if (ret < 0)
            return ret;
        g->buf_w = w;
        g->buf_h = h;
    }
    ret = sws_scale(g->sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, g->buf,
                    g->buf_linesize);
    if (ret < 0)
        return ret;
    g->data = g->buf[0];
    g->stride = g->buf_linesize[0];
    return 0;
}

/* ---- readers: the first video stream of a file, one frame per call */

#define MAX_ERRORS 64 /* decoding errors skipped before a reader gives up */

typedef struct Reader {
    AVFormatContext *ic;
    AVCodecContext *dec;
    AVPacket *pkt;
    const RxMeasureOptions *opt;
    int stream;
    int flushed;
    int64_t last_us; /* the previous frame's time (for frames without one) */
    RxOrient orient; /* the stream's display matrix: how its pictures are shown */
} Reader;

static void reader_close(Reader *r)
{
    avcodec_free_context(&r->dec);
    av_packet_free(&r->pkt);
    avformat_close_input(&r->ic);
}

static int reader_cancelled(void *opaque)
{
    const Reader *r = opaque;
    return r->opt->cancelled && r->opt->cancelled(r->opt->opaque);
}

static int reader_open(Reader *r, const char *path, const RxMeasureOptions *opt)
{
    const AVCodec *codec;
    AVStream *st;
    int ret;

    r->opt = opt;
    r->ic = avformat_alloc_context();
    if (!r->ic)
        return AVERROR(ENOMEM);
    r->ic->interrupt_callback.callback = reader_cancelled;
    r->ic->interrupt_callback.opaque = r;
    ret = avformat_open_input(&r->ic, path, NULL, NULL);
    if (ret < 0)
        return ret;
    ret = avformat_find_stream_info(r->ic, NULL);
    if (ret < 0)
        return ret;
    ret = av_find_best_stream(r->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (ret < 0)
        return ret == AVERROR_STREAM_NOT_FOUND ? AVERROR_INVALIDDATA : ret;
    r->stream = ret;
    for (unsigned i = 0; i < r->ic->nb_streams; i++)
        if ((int)i != r->stream)
            r->ic->streams[i]->discard = AVDISCARD_ALL;
    st = r->ic->streams[r->stream];
    /* The output was encoded upright (vstage turns by the display matrix), so
     * a rotated source is compared as it is shown, not as it is stored. */
    {
        const int32_t *matrix =
            (const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
        int degrees;
        if (matrix && (ret = rx_orient_from_matrix(matrix, &r->orient, &degrees)) < 0)
            return ret;
    }
    codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec)
        return AVERROR_DECODER_NOT_FOUND;
    r->pkt = av_packet_alloc();
    r->dec = avcodec_alloc_context3(codec);
    if (!r->pkt || !r->dec)
        return AVERROR(ENOMEM);
    ret = avcodec_parameters_to_context(r->dec, st->codecpar);
    if (ret < 0)
        return ret;
    r->dec->pkt_timebase = st->time_base;
    r->dec->thread_count = opt->threads;
    return avcodec_open2(r->dec, codec, NULL);
}

/* To the keyframe at or before us (stream time); failing that, the first
 * keyframe after it (the start of a span is then not compared). */
static int reader_seek(Reader *r, int64_t us)
{
    const AVStream *st = r->ic->streams[r->stream];
    int64_t ts = av_rescale_q(us, AV_TIME_BASE_Q, st->time_base);
    int ret = av_seek_frame(r->ic, r->stream, ts, AVSEEK_FLAG_BACKWARD);

    if (ret < 0)
        ret = av_seek_frame(r->ic, r->stream, ts, 0);
    if (ret < 0)
        return ret;
    avcodec_flush_buffers(r->dec);
    r->flushed = 0;
    return 0;
}

/* Next frame into fr, its time (us, stream time) into *us. 0, AVERROR_EOF
 * after the last, AVERROR_EXIT when cancelled, or another AVERROR. Damaged
 * frames are skipped, as a player would. */
static int reader_next(Reader *r, AVFrame *fr, int64_t *us)
{
    int errors = 0;
    int ret;

    for (;;) {
        ret = avcodec_receive_frame(r->dec, fr);
        if (ret == 0) {
            const AVStream *st = r->ic->streams[r->stream];
            if (fr->best_effort_timestamp != AV_NOPTS_VALUE)
                r->last_us = av_rescale_q(fr->best_effort_timestamp, st->time_base, AV_TIME_BASE_Q);
            *us = r->last_us;
            return 0;
        }
        if (ret == AVERROR_EOF || ret == AVERROR(ENOMEM))
            return ret;
        if (ret != AVERROR(EAGAIN)) {
            if (++errors > MAX_ERRORS)
                return ret;
            continue;
        }
        if (r->flushed)
            return AVERROR_EOF;
        if (reader_cancelled(r))
            return AVERROR_EXIT;
        ret = av_read_frame(r->ic, r->pkt);
        if (ret == AVERROR_EXIT)
            return ret;
        if (ret < 0) {
            r->flushed = 1;
            ret = avcodec_send_packet(r->dec, NULL);
            if (ret < 0 && ret != AVERROR_EOF)
                return ret;
            continue;
        }
        if (r->pkt->stream_index == r->stream) {
            ret = avcodec_send_packet(r->dec, r->pkt);
            if (ret == AVERROR(ENOMEM)) {
                av_packet_unref(r->pkt);
                return ret;
            }
        }
        av_packet_unref(r->pkt);
    }
}

/* ---- the reader on its own (measure.h) */

struct RxFrameReader {
    Reader r;
    RxMeasureOptions opt; /* the reader points at it */
};

int rx_frame_reader_open(RxFrameReader **out, const char *path, const RxMeasureOptions *opt)
{
    RxFrameReader *fr = av_mallocz(sizeof(*fr));
    int ret;

    *out = NULL;
    if (!fr)
        return AVERROR(ENOMEM);
    if (opt)
        fr->opt = *opt;
    ret = reader_open(&fr->r, path, &fr->opt);
    if (ret < 0) {
        rx_frame_reader_free(&fr);
        return ret;
    }
    *out = fr;
    return 0;
}

int rx_frame_reader_next(RxFrameReader *r, AVFrame *fr, int64_t *us)
{
    return reader_next(&r->r, fr, us);
}

void rx_frame_reader_free(RxFrameReader **r)
{
    if (!*r)
        return;
    reader_close(&(*r)->r);
    av_freep(r);
}

/* ---- the measure */

typedef struct Measure {
    Reader src, out;
    AVFrame *fa;        /* the source frame */
    AVFrame *turned;    /* fa as shown, when its stream has a display matrix */
    AVFrame *cur, *nxt; /* the output frame on screen, and the next one */
    int64_t cur_us, nxt_us;
    int have_cur, have_nxt, cur_gray;
    int64_t out0_us; /* the output's first frame */
    Gray ga, gb;
    Sums sums;
    double ssim_sum, mse_sum, ssim_min;
    int64_t n;
} Measure;

/* Load the output's next frame into nxt (have_nxt says whether there was one). */
static int out_advance(Measure *m)
{
    int ret = reader_next(&m->out, m->nxt, &m->nxt_us);

    m->have_nxt = ret == 0;
    return ret == AVERROR_EOF ? 0 : ret;
}

/* Make nxt cur, and read a new nxt. */
static int out_step(Measure *m)
{
    AVFrame *tmp = m->cur;

    m->cur = m->nxt;
    m->cur_us = m->nxt_us;
    m->nxt = tmp;
    av_frame_unref(m->nxt);
    m->have_cur = 1;
    m->cur_gray = 0;
    return out_advance(m);
}

/* Compare the source frame in m->fa with the output frame on screen. */
static int compare_frame(Measure *m)
{
    int w = m->cur->width, h = m->cur->height, ret;
    double ssim, sse;

    if (w < 8 || h < 8)
        return AVERROR_INVALIDDATA;
    if (!m->cur_gray) {
        ret = to_gray(&m->gb, m->cur, w, h);
        if (ret < 0)
            return ret;
        m->cur_gray = 1;
    }
    if (!rx_orient_is_identity(&m->src.orient)) {
        ret = rx_orient_frame(&m->src.orient, m->fa, m->turned);
        if (ret < 0)
            return ret;
    }
    ret = to_gray(&m->ga, rx_orient_is_identity(&m->src.orient) ? m->fa : m->turned, w, h);
    if (ret >= 0)
        ret = sums_size(&m->sums, w);
    if (ret < 0)
        return ret;
    compare(&m->sums, m->ga.data, m->ga.stride, m->gb.data, m->gb.stride, h, &ssim, &sse);
    if (!m->n || ssim < m->ssim_min)
        m->ssim_min = ssim;
    m->ssim_sum += ssim;
    m->mse_sum += sse / ((double)w * h);
    m->n++;
    return 0;
}

/* One span; src_us INT64_MIN: from the source's next frame (whole file). */
static int measure_span(Measure *m, RxSpan sp)
{
    int64_t a_us;
    int ret;

    for (;;) {
        ret = reader_next(&m->src, m->fa, &a_us);
        if (ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return ret;
        if (sp.src_us == INT64_MIN)
            sp.src_us = a_us;
        if (a_us < sp.src_us) { /* decoded from the keyframe before the span */
            av_frame_unref(m->fa);
            continue;
        }
        if (a_us - sp.src_us >= sp.dur_us)
            return 0;
        /* The output frame on screen at this source frame's time. */
        while (m->have_nxt &&
               m->nxt_us - m->out0_us <= a_us - sp.src_us + sp.out_us + RX_MEASURE_SLACK_US) {
            ret = out_step(m);
            if (ret < 0)
                return ret;
        }
        if (!m->have_cur) { /* the output starts after this frame: its first counts */
            if (!m->have_nxt)
                return AVERROR_INVALIDDATA;
            ret = out_step(m);
            if (ret < 0)
                return ret;
        }
        ret = compare_frame(m);
        av_frame_unref(m->fa);
        if (ret < 0)
            return ret;
    }
}

/* Whole files on a time grid (RxMeasureOptions.grid_us): m->fa holds the
 * source frame on screen, next the one after it. */
static int measure_grid(Measure *m, int64_t grid)
{
    const AVStream *st;
    AVFrame *next = av_frame_alloc(), *tmp;
    int64_t a0, a_us, n_us, end_us;
    int have_next, ret;

    if (!next)
        return AVERROR(ENOMEM);
    ret = reader_next(&m->src, m->fa, &a_us);
    if (ret == AVERROR_EOF)
        ret = AVERROR_INVALIDDATA;
    if (ret < 0)
        goto done;
    st = m->src.ic->streams[m->src.stream];
    a0 = a_us;
    ret = reader_next(&m->src, next, &n_us);
    have_next = ret == 0;
    if (ret < 0 && ret != AVERROR_EOF)
        goto done;
    for (int64_t t = 0;; t += grid) {
        while (have_next && n_us - a0 <= t + RX_MEASURE_SLACK_US) {
            tmp = m->fa;
            m->fa = next;
            next = tmp;
            av_frame_unref(next);
            a_us = n_us;
            ret = reader_next(&m->src, next, &n_us);
            have_next = ret == 0;
            if (ret < 0 && ret != AVERROR_EOF)
                goto done;
        }
        /* The source ends when its last frame's time is over. */
        end_us = a_us + (m->fa->pkt_duration > 0
                             ? av_rescale_q(m->fa->pkt_duration, st->time_base, AV_TIME_BASE_Q)
                             : 1);
        if (!have_next && t >= end_us - a0)
            break;
        while (m->have_nxt && m->nxt_us - m->out0_us <= t + RX_MEASURE_SLACK_US) {
            ret = out_step(m);
            if (ret < 0)
                goto done;
        }
        if (!m->have_cur) { /* the output starts later: its first frame counts */
            ret = out_step(m);
            if (ret < 0)
                goto done;
        }
        ret = compare_frame(m);
        if (ret < 0)
            goto done;
    }
    ret = 0;
done:
    av_frame_free(&next);
    return ret;
}

int rx_measure(const char *src, const char *out, const RxSpan *spans, int n,
               const RxMeasureOptions *opt, RxQuality *q)
{
    static const RxMeasureOptions no_options = {0};
    Measure m;
    int ret;

    memset(q, 0, sizeof(*q));
    memset(&m, 0, sizeof(m));
    if (!opt)
        opt = &no_options;
    if (opt->grid_us < 0 || (opt->grid_us > 0 && n > 0))
        return AVERROR(EINVAL);
    m.fa = av_frame_alloc();
    m.cur = av_frame_alloc();
    m.nxt = av_frame_alloc();
    m.turned = av_frame_alloc();
    if (!m.fa || !m.cur || !m.nxt || !m.turned) {
        ret = AVERROR(ENOMEM);
        goto done;
    }
    if ((ret = reader_open(&m.src, src, opt)) < 0 || (ret = reader_open(&m.out, out, opt)) < 0)
        goto done;
    /* The output's first frame is its time origin. */
    ret = out_advance(&m);
    if (ret >= 0 && !m.have_nxt)
        ret = AVERROR_INVALIDDATA;
    if (ret < 0)
        goto done;
    m.out0_us = m.nxt_us;

    if (n == 0 && opt->grid_us > 0) {
        ret = measure_grid(&m, opt->grid_us);
    } else if (n == 0) {
        ret = measure_span(&m, (RxSpan){INT64_MIN, 0, INT64_MAX});
    } else {
        for (int i = 0; i < n && ret >= 0; i++) {
            if ((ret = reader_seek(&m.src, spans[i].src_us)) < 0 ||
                (ret = reader_seek(&m.out, m.out0_us + spans[i].out_us)) < 0)
                break;
            av_frame_unref(m.nxt);
            m.have_cur = 0;
            ret = out_advance(&m);
            if (ret >= 0)
                ret = measure_span(&m, spans[i]);
        }
    }
    if (ret >= 0 && !m.n)
        ret = AVERROR_INVALIDDATA;
    if (ret < 0)
        goto done;
    q->ssim = m.ssim_sum / (double)m.n;
    q->ssim_min = m.ssim_min;
    q->psnr = rx_psnr(m.mse_sum / (double)m.n);
    q->frames = m.n;

done:
    sums_free(&m.sums);
    gray_free(&m.ga);
    gray_free(&m.gb);
    av_frame_free(&m.fa);
    av_frame_free(&m.cur);
    av_frame_free(&m.nxt);
    av_frame_free(&m.turned);
    reader_close(&m.src);
    reader_close(&m.out);
    return ret;
}
