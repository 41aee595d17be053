/*
 * vstage.c - adapt decoded frames to the encoder, drop duplicates (see vstage.h).
 */
#include <stdlib.h>
#include <string.h>

#include <libavutil/common.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "vstage.h"

struct RxVStage {
    RxVStageConfig cfg;
    struct SwsContext *sws; /* created on the first frame that needs it */
    AVFrame *conv;          /* swscale's output */
    AVFrame *turned;        /* rx_orient_frame()'s output */
    AVFrame *anchor;        /* the last frame kept (dedup only) */
    AVFrame *pending;       /* the last frame dropped since then, if any */
    AVFrame *before;        /* the dropped frame just before pending, if any */
    int flushed;            /* frames handed out by rx_vstage_flush() */
    int64_t converted, dropped;
};

int rx_vstage_new(RxVStage **out, const RxVStageConfig *cfg)
{
    RxVStage *vs = av_mallocz(sizeof(*vs));

    *out = NULL;
    if (!vs)
        return AVERROR(ENOMEM);
    vs->cfg = *cfg;
    vs->conv = av_frame_alloc();
    vs->turned = av_frame_alloc();
    vs->anchor = av_frame_alloc();
    vs->pending = av_frame_alloc();
    vs->before = av_frame_alloc();
    if (!vs->conv || !vs->turned || !vs->anchor || !vs->pending || !vs->before) {
        rx_vstage_free(&vs);
        return AVERROR(ENOMEM);
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
    ret = av_frame_copy_props(vs->conv, in);
    if (ret < 0)
        return ret;
    vs->converted++;
    *out = vs->conv;
    return 0;
}

int rx_vstage_process(RxVStage *vs, AVFrame *in, int keep, AVFrame **out)
{
    AVFrame *cand;
    int ret;

    *out = NULL;
    ret = adapt(vs, in, &cand);
    if (ret < 0)
        return ret;
    if (!rx_orient_is_identity(&vs->cfg.orient)) {
        ret = rx_orient_frame(&vs->cfg.orient, cand, vs->turned);
        if (ret < 0)
            return ret;
        cand = vs->turned;
    }
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
    av_frame_unref(vs->before);
    av_frame_unref(vs->pending);
    av_frame_unref(vs->anchor);
    ret = av_frame_ref(vs->anchor, cand);
    if (ret < 0)
        return ret;
    *out = cand;
    return 1;
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

int64_t rx_vstage_converted(const RxVStage *vs)
{
    return vs ? vs->converted : 0;
}

int64_t rx_vstage_dropped(const RxVStage *vs)
{
    return vs ? vs->dropped : 0;
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
