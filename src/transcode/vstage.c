/*
 * vstage.c - adapt decoded frames to the encoder, drop duplicates or retime to
 * a constant rate (see vstage.h).
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/common.h>
#include <libavutil/mathematics.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "transcode/vstage.h"

struct RxVStage {
    RxVStageConfig cfg;
    struct SwsContext *sws; /* created on the first frame that needs it */
    AVFrame *conv;          /* swscale's output */
    AVFrame *turned;        /* rx_orient_frame()'s output */
    AVFrame *anchor;        /* the last frame kept (dedup only) */
    AVFrame *pending;       /* the last frame dropped since then, if any */
    AVFrame *before;        /* the dropped frame just before pending, if any */
    int flushed;            /* frames handed out by rx_vstage_flush() */
    double change;          /* rx_vstage_change() */
    int64_t converted, dropped, repeated;

    /* Retiming (cfg.rate set). Slot k is output frame k, at t0 + k / rate. */
    AVFrame *shown;    /* the frame on screen at the next slot */
    AVFrame *incoming; /* sent, not yet placed: it takes over from slot 'due' */
    AVFrame *out;      /* a reference to shown, stamped with its slot */
    int64_t t0;        /* pts of the first frame, AV_NOPTS_VALUE before it */
    int64_t tol;       /* in_tb ticks a frame may come late to its slot */
    int64_t slot;      /* the next slot to hand out */
    int64_t due;       /* first slot of incoming */
    int64_t end;       /* pts + duration of the last frame sent */
    int64_t n_slots;   /* known at the end of the stream, else -1 */
    int shown_out;     /* times shown has been handed out */
};

int rx_vstage_new(RxVStage **out, const RxVStageConfig *cfg)
{
    RxVStage *vs = av_mallocz(sizeof(*vs));

    *out = NULL;
    if (!vs)
        return AVERROR(ENOMEM);
    vs->cfg = *cfg;
    vs->change = -1;
    vs->conv = av_frame_alloc();
    vs->turned = av_frame_alloc();
    vs->anchor = av_frame_alloc();
    vs->pending = av_frame_alloc();
    vs->before = av_frame_alloc();
    vs->shown = av_frame_alloc();
    vs->incoming = av_frame_alloc();
    vs->out = av_frame_alloc();
    vs->t0 = AV_NOPTS_VALUE;
    vs->n_slots = -1;
    if (!vs->conv || !vs->turned || !vs->anchor || !vs->pending || !vs->before || !vs->shown ||
        !vs->incoming || !vs->out) {
        rx_vstage_free(&vs);
        return AVERROR(ENOMEM);
    }
    if (cfg->rate.num > 0) {
        if (cfg->rate.den <= 0 || cfg->in_tb.num <= 0 || cfg->in_tb.den <= 0) {
            rx_vstage_free(&vs);
            return AVERROR(EINVAL);
        }
        /* 1 ms, or a quarter of an output interval at high rates. */
        vs->tol = FFMIN(av_rescale_q(1000, (AVRational){1, 1000000}, cfg->in_tb),
                        av_rescale_q(1, av_inv_q(cfg->rate), cfg->in_tb) / 4);
    }
    *out = vs;
    return 0;
}

/* *out = in when it fits the encoder, else in converted into vs->conv (and
 * then turned into vs->turned). */
static int adapt(RxVStage *vs, AVFrame *in, AVFrame **out)
{
    /* The size before the turn. */
    int w = vs->cfg.orient.transpose ? vs->cfg.height : vs->cfg.width;
    int h = vs->cfg.orient.transpose ? vs->cfg.width : vs->cfg.height;
    int ret;

    if (in->width == w && in->height == h && in->format == vs->cfg.fmt) {
        *out = in;
        return 0;
    }
    /* Cached: only rebuilt when the input's geometry or format changes. */
    vs->sws = sws_getCachedContext(vs->sws, in->width, in->height, in->format, w, h, vs->cfg.fmt,
                                   SWS_BICUBIC, NULL, NULL, NULL);
    if (!vs->sws)
        return AVERROR(EINVAL);

    /* The encoder, the anchor or the pending frame may still hold the last
     * picture: take a fresh buffer rather than copy one about to be
     * overwritten. */
    if (!vs->conv->buf[0] || !av_frame_is_writable(vs->conv)) {
        av_frame_unref(vs->conv);
        vs->conv->width = w;
        vs->conv->height = h;
        vs->conv->format = vs->cfg.fmt;
        ret = av_frame_get_buffer(vs->conv, 0);
        if (ret < 0)
            return ret;
    }
    ret = sws_scale(vs->sws, (const uint8_t *const *)in->data, in->linesize, 0, in->height,
                    vs->conv->data, vs->conv->linesize);
    if (ret < 0)
        return ret;
    /* conv is reused: copy_props adds side data to what it holds, so drop
     * the last frame's first or it would grow by a frame's worth each time. */
    while (vs->conv->nb_side_data > 0)
        av_frame_remove_side_data(vs->conv, vs->conv->side_data[0]->type);
    ret = av_frame_copy_props(vs->conv, in);
    if (ret < 0)
        return ret;
    vs->converted++;
    *out = vs->conv;
    return 0;
}

/* adapt(), then the display matrix's turn: what the encoder is to see, before
 * any comparison or retiming looks at it. */
static int adapt_and_turn(RxVStage *vs, AVFrame *in, AVFrame **out)
{
    int ret = adapt(vs, in, out);

    if (ret < 0 || rx_orient_is_identity(&vs->cfg.orient))
        return ret;
    /* A fresh buffer each time: the frames held by the stage keep theirs. */
    ret = rx_orient_frame(&vs->cfg.orient, *out, vs->turned);
    if (ret < 0)
        return ret;
    *out = vs->turned;
    return 0;
}

int rx_vstage_process(RxVStage *vs, AVFrame *in, int keep, AVFrame **out)
{
    AVFrame *cand;
    int ret;

    *out = NULL;
    vs->change = -1;
    ret = adapt_and_turn(vs, in, &cand);
    if (ret < 0)
        return ret;
    if (!vs->cfg.dedup) {
        *out = cand;
        return 1;
    }
    if (!keep && vs->anchor->buf[0] && rx_frames_alike(cand, vs->anchor, vs->cfg.max_diff)) {
        av_frame_unref(vs->before);
        av_frame_move_ref(vs->before, vs->pending);
        ret = av_frame_ref(vs->pending, cand);
        if (ret < 0)
            return ret;
        vs->dropped++;
        return 0;
    }
    if (vs->cfg.scene && vs->anchor->buf[0])
        vs->change = rx_frames_changed(cand, vs->anchor);
    av_frame_unref(vs->before);
    av_frame_unref(vs->pending);
    av_frame_unref(vs->anchor);
    ret = av_frame_ref(vs->anchor, cand);
    if (ret < 0)
        return ret;
    *out = cand;
    return 1;
}

double rx_vstage_change(const RxVStage *vs)
{
    return vs->change;
}

int rx_vstage_flush(RxVStage *vs, AVFrame **out)
{
    AVFrame *const order[2] = {vs->before, vs->pending};

    *out = NULL;
    while (vs->flushed < 2 && !*out) {
        AVFrame *f = order[vs->flushed++];
        if (f->buf[0])
            *out = f;
    }
    return *out != NULL;
}

/* ---- retiming to a constant rate */

/* The first slot at which a frame stamped pts is on screen: the smallest k
 * with t0 + k / rate + tol >= pts, in exact integer arithmetic. */
static int64_t first_slot(const RxVStage *vs, int64_t pts)
{
    AVRational tb = vs->cfg.in_tb, r = vs->cfg.rate;
    int64_t k = av_rescale_rnd(pts - vs->t0 - vs->tol, (int64_t)tb.num * r.num,
                               (int64_t)tb.den * r.den, AV_ROUND_UP);
    return FFMAX(k, 0);
}

int rx_vstage_send(RxVStage *vs, AVFrame *in)
{
    AVFrame *cand;
    int ret;

    if (vs->cfg.rate.num <= 0 || vs->n_slots >= 0)
        return AVERROR(EINVAL);
    if (vs->incoming->buf[0])
        return AVERROR(EAGAIN);
    if (!in) {
        if (vs->t0 != AV_NOPTS_VALUE)
            vs->n_slots = FFMAX(first_slot(vs, vs->end), 1);
        else
            vs->n_slots = 0; /* no frame at all */
        return 0;
    }
    if (vs->t0 == AV_NOPTS_VALUE)
        vs->t0 = in->pts;
    ret = adapt_and_turn(vs, in, &cand);
    if (ret < 0)
        return ret;
    ret = av_frame_ref(vs->incoming, cand);
    if (ret < 0)
        return ret;
    vs->due = first_slot(vs, in->pts);
    vs->end = in->pts + FFMAX(in->pkt_duration, 0);
    return 0;
}

int rx_vstage_receive(RxVStage *vs, AVFrame **out)
{
    int ret;

    *out = NULL;
    for (;;) {
        int64_t limit; /* the first slot shown no longer shows */

        if (!vs->shown->buf[0]) {
            if (!vs->incoming->buf[0])
                return 0;
            av_frame_move_ref(vs->shown, vs->incoming);
            vs->shown_out = 0;
            continue;
        }
        if (vs->incoming->buf[0])
            limit = vs->due;
        else if (vs->n_slots >= 0)
            limit = vs->n_slots;
        else
            return 0; /* shown lasts until the next frame: not known yet */
        if (vs->slot < limit) {
            av_frame_unref(vs->out);
            ret = av_frame_ref(vs->out, vs->shown);
            if (ret < 0)
                return ret;
            vs->out->pts = vs->slot++;
            vs->out->pkt_duration = 1;
            if (vs->shown_out++)
                vs->repeated++;
            *out = vs->out;
            return 1;
        }
        /* Its time is over; never shown if another frame took its slot. */
        if (!vs->shown_out)
            vs->dropped++;
        av_frame_unref(vs->shown);
    }
}

AVRational rx_nominal_rate(AVRational r_frame_rate, AVRational avg_frame_rate)
{
    static const AVRational common[] = {{24000, 1001}, {24, 1},  {25, 1},       {30000, 1001},
                                        {30, 1},       {50, 1},  {60000, 1001}, {60, 1},
                                        {120, 1},      {144, 1}, {240, 1}};
    double r = r_frame_rate.den > 0 ? av_q2d(r_frame_rate) : 0;
    double avg = avg_frame_rate.den > 0 ? av_q2d(avg_frame_rate) : 0;
    AVRational pick = {30, 1};

    if (r >= 1 && r <= 240 && r >= avg * 0.999)
        pick = r_frame_rate;
    else if (avg >= 1 && avg <= 240)
        pick = avg_frame_rate;
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        if (fabs(av_q2d(pick) / av_q2d(common[i]) - 1) <= 0.001)
            return common[i];
    av_reduce(&pick.num, &pick.den, pick.num, pick.den, INT_MAX);
    return pick;
}

int64_t rx_vstage_converted(const RxVStage *vs)
{
    return vs ? vs->converted : 0;
}

int64_t rx_vstage_dropped(const RxVStage *vs)
{
    return vs ? vs->dropped : 0;
}

int64_t rx_vstage_repeated(const RxVStage *vs)
{
    return vs ? vs->repeated : 0;
}

void rx_vstage_free(RxVStage **pvs)
{
    RxVStage *vs;

    if (!pvs || !*pvs)
        return;
    vs = *pvs;
    sws_freeContext(vs->sws);
    av_frame_free(&vs->conv);
    av_frame_free(&vs->turned);
    av_frame_free(&vs->anchor);
    av_frame_free(&vs->pending);
    av_frame_free(&vs->before);
    av_frame_free(&vs->shown);
    av_frame_free(&vs->incoming);
    av_frame_free(&vs->out);
    av_freep(pvs);
}

/* ---- comparison */

/*
 * One plane, in stripes of 8 rows. Rows that are byte-identical (a static
 * screen decodes to identical rows almost everywhere) are skipped with
 * memcmp. Elsewhere each row's absolute differences are added into per-column
 * sums and a running peak, loops the compiler vectorises (this file is built
 * at -O3), then the sums are folded into 8x8 block means. Returns 1 when
 * alike. T is the sample type, ACC wide enough for 8 of its differences.
 */
#define CHUNK 1024 /* columns per pass: a multiple of 8, so blocks stay aligned */

#define DEFINE_PLANE_ALIKE(name, T, ACC)                                                     \
    static int name(const uint8_t *pa, ptrdiff_t la, const uint8_t *pb, ptrdiff_t lb, int w, \
                    int h, unsigned maxd)                                                    \
    {                                                                                        \
        ACC acc[CHUNK];                                                                      \
        size_t rowbytes = (size_t)w * sizeof(T);                                             \
                                                                                             \
        for (int y0 = 0; y0 < h; y0 += 8) {                                                  \
            int rows = FFMIN(8, h - y0), r;                                                  \
                                                                                             \
            for (r = 0; r < rows; r++)                                                       \
                if (memcmp(pa + (y0 + r) * la, pb + (y0 + r) * lb, rowbytes))                \
                    break;                                                                   \
            if (r == rows)                                                                   \
                continue;                                                                    \
            for (int x0 = 0; x0 < w; x0 += CHUNK) {                                          \
                int n = FFMIN(CHUNK, w - x0);                                                \
                T peak = 0;                                                                  \
                                                                                             \
                memset(acc, 0, sizeof(acc[0]) * (size_t)n);                                  \
                for (r = 0; r < rows; r++) {                                                 \
                    const T *ra = (const T *)(const void *)(pa + (y0 + r) * la) + x0;        \
                    const T *rb = (const T *)(const void *)(pb + (y0 + r) * lb) + x0;        \
                    for (int x = 0; x < n; x++) {                                            \
                        T d = (T)(ra[x] > rb[x] ? ra[x] - rb[x] : rb[x] - ra[x]);            \
                        acc[x] = (ACC)(acc[x] + d);                                          \
                        peak = d > peak ? d : peak;                                          \
                    }                                                                        \
                }                                                                            \
                if (peak > maxd)                                                             \
                    return 0;                                                                \
                /* mean over a block > maxd / 5  <=>  5 * sum > maxd * samples */            \
                for (int k = 0; k < n; k += 8) {                                             \
                    int cols = FFMIN(8, n - k);                                              \
                    uint64_t sum = 0;                                                        \
                    for (int c = 0; c < cols; c++)                                           \
                        sum += acc[k + c];                                                   \
                    if (5 * sum > (uint64_t)maxd * (uint64_t)(rows * cols))                  \
                        return 0;                                                            \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        return 1;                                                                            \
    }

DEFINE_PLANE_ALIKE(plane_alike8, uint8_t, uint16_t)
DEFINE_PLANE_ALIKE(plane_alike16, uint16_t, uint32_t)

int rx_frames_alike(const AVFrame *a, const AVFrame *b, int max_diff)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(a->format);
    int depth, wide, planes;
    unsigned maxd;

    if (!d || a->format != b->format || a->width != b->width || a->height != b->height)
        return 0;
    /* Only planar YUV/gray with one component per plane is compared; anything
     * else is never called alike (kept: safe, just not elided). */
    if (!(d->flags & AV_PIX_FMT_FLAG_PLANAR) || (d->flags & AV_PIX_FMT_FLAG_BITSTREAM) ||
        (d->flags & AV_PIX_FMT_FLAG_HWACCEL))
        return 0;
    planes = av_pix_fmt_count_planes(a->format);
    if (planes != d->nb_components) /* semi-planar (nv12): samples interleaved */
        return 0;
    depth = d->comp[0].depth;
    if (depth < 8 || depth > 16)
        return 0;
    wide = depth > 8;
    maxd = (unsigned)FFMAX(max_diff, 0) << (depth - 8);
    for (int p = 0; p < planes; p++) {
        int cw = p == 1 || p == 2 ? AV_CEIL_RSHIFT(a->width, d->log2_chroma_w) : a->width;
        int ch = p == 1 || p == 2 ? AV_CEIL_RSHIFT(a->height, d->log2_chroma_h) : a->height;
        int same = wide ? plane_alike16(a->data[p], a->linesize[p], b->data[p], b->linesize[p], cw,
                                        ch, maxd)
                        : plane_alike8(a->data[p], a->linesize[p], b->data[p], b->linesize[p], cw,
                                       ch, maxd);
        if (!same)
            return 0;
    }
    return 1;
}

/* ---- how much of the picture changed */

#define SCENE_BLOCK 16
#define SCENE_DIFF  3 /* mean 8-bit levels over a block: above an encode's noise */

#define DEFINE_BLOCK_DIFF(name, type)                                                        \
    static uint64_t name(const uint8_t *pa, int la, const uint8_t *pb, int lb, int x, int y, \
                         int w, int h)                                                       \
    {                                                                                        \
        uint64_t sum = 0;                                                                    \
        for (int j = y; j < y + h; j += 2) {                                                 \
            const type *ra = (const type *)(pa + (ptrdiff_t)j * la);                         \
            const type *rb = (const type *)(pb + (ptrdiff_t)j * lb);                         \
            for (int i = x; i < x + w; i++)                                                  \
                sum += (uint64_t)(ra[i] > rb[i] ? ra[i] - rb[i] : rb[i] - ra[i]);            \
        }                                                                                    \
        return sum;                                                                          \
    }

DEFINE_BLOCK_DIFF(block_diff8, uint8_t)
DEFINE_BLOCK_DIFF(block_diff16, uint16_t)

double rx_frames_changed(const AVFrame *a, const AVFrame *b)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(a->format);
    int64_t blocks = 0, changed = 0;
    int depth;

    if (!d || a->format != b->format || a->width != b->width || a->height != b->height ||
        !(d->flags & AV_PIX_FMT_FLAG_PLANAR) || (d->flags & AV_PIX_FMT_FLAG_HWACCEL) ||
        a->width <= 0 || a->height <= 0)
        return -1;
    depth = d->comp[0].depth;
    if (depth < 8 || depth > 16 || d->comp[0].plane != 0 || d->comp[0].step > (depth > 8 ? 2 : 1))
        return -1;
    for (int y = 0; y < a->height; y += SCENE_BLOCK) {
        int h = FFMIN(SCENE_BLOCK, a->height - y);
        for (int x = 0; x < a->width; x += SCENE_BLOCK) {
            int w = FFMIN(SCENE_BLOCK, a->width - x);
            int rows = (h + 1) / 2; /* sampled: every other line */
            uint64_t sum = depth > 8 ? block_diff16(a->data[0], a->linesize[0], b->data[0],
                                                    b->linesize[0], x, y, w, h)
                                     : block_diff8(a->data[0], a->linesize[0], b->data[0],
                                                   b->linesize[0], x, y, w, h);
            /* mean > SCENE_DIFF  <=>  sum > SCENE_DIFF * samples, in 8-bit units */
            changed += sum > ((uint64_t)SCENE_DIFF << (depth - 8)) * (uint64_t)(w * rows);
            blocks++;
        }
    }
    return (double)changed / (double)blocks;
}
