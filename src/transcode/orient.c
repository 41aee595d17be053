/*
 * orient.c - quarter turns and mirrors of planar pictures (see orient.h).
 */
#include <math.h>
#include <stdlib.h>

#include <libavutil/common.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>

#include "transcode/orient.h"

int rx_orient_from_matrix(const int32_t *m, RxOrient *o, int *cw_degrees)
{
    double a, big, tiny;

    *o = (RxOrient){0};
    *cw_degrees = 0;
    if (!m)
        return 0;
    a = av_display_rotation_get(m);
    /* -1: no angle at all (a degenerate matrix) */
    *cw_degrees = isnan(a) ? -1 : (int)((lrint(-a) % 360 + 360) % 360);
    big = FFMAX(FFMAX(abs(m[0]), abs(m[1])), FFMAX(abs(m[3]), abs(m[4])));
    tiny = big / 64; /* under a degree off a quarter turn counts as one */
    if (isnan(a) || big == 0)
        return AVERROR(ENOTSUP);
    if (abs(m[1]) <= tiny && abs(m[3]) <= tiny && abs(m[0]) > tiny && abs(m[4]) > tiny) {
        o->hflip = m[0] < 0;
        o->vflip = m[4] < 0;
        return 0;
    }
    if (abs(m[0]) <= tiny && abs(m[4]) <= tiny && abs(m[1]) > tiny && abs(m[3]) > tiny) {
        /* As ffmpeg reads it: 90 clockwise is "transpose=clock", that is a
         * transpose with the source rows taken bottom up. */
        o->transpose = 1;
        o->hflip = m[1] < 0;
        o->vflip = m[3] < 0;
        return 0;
    }
    return AVERROR(ENOTSUP);
}

int rx_orient_is_identity(const RxOrient *o)
{
    return !o->transpose && !o->hflip && !o->vflip;
}

int rx_orient_supported(enum AVPixelFormat fmt, const RxOrient *o)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);

    /* One sample per plane and step: gray counts, though not flagged planar. */
    if (!d || (d->flags & (AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL)) ||
        (!(d->flags & AV_PIX_FMT_FLAG_PLANAR) && d->nb_components > 1) ||
        av_pix_fmt_count_planes(fmt) != d->nb_components)
        return 0;
    for (int c = 0; c < d->nb_components; c++)
        if (d->comp[c].depth < 8 || d->comp[c].depth > 16 || d->comp[c].shift ||
            d->comp[c].offset || d->comp[c].step != (d->comp[c].depth > 8 ? 2 : 1))
            return 0;
    return !o->transpose || d->log2_chroma_w == d->log2_chroma_h;
}

/*
 * One plane. Along an output row the source moves by a fixed step: one
 * sample sideways, or one source row when transposing. A transpose reads
 * the source down its columns, so it goes in tiles of TILE x TILE samples,
 * which stay in the cache for the TILE output rows that use them.
 */
#define TILE 32

#define DEFINE_TURN_PLANE(name, T)                                                                 \
    static void name(const RxOrient *o, const uint8_t *src, ptrdiff_t sls, int sw, int sh,         \
                     uint8_t *dst, ptrdiff_t dls, int dw, int dh)                                  \
    {                                                                                              \
        ptrdiff_t step = o->transpose ? (o->vflip ? -sls : sls)                                    \
                                      : (o->hflip ? -(ptrdiff_t)sizeof(T) : (ptrdiff_t)sizeof(T)); \
                                                                                                   \
        for (int x0 = 0; x0 < dw; x0 += TILE) {                                                    \
            int x1 = FFMIN(x0 + TILE, dw);                                                         \
            for (int y = 0; y < dh; y++) {                                                         \
                int sx = o->transpose ? y : 0, sy = o->transpose ? 0 : y;                          \
                const uint8_t *s0;                                                                 \
                T *out = (T *)(void *)(dst + y * dls);                                             \
                                                                                                   \
                if (o->hflip)                                                                      \
                    sx = sw - 1 - sx;                                                              \
                if (o->vflip)                                                                      \
                    sy = sh - 1 - sy;                                                              \
                s0 = src + sy * sls + sx * (ptrdiff_t)sizeof(T);                                   \
                for (int x = x0; x < x1; x++)                                                      \
                    out[x] = *(const T *)(const void *)(s0 + x * step);                            \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_TURN_PLANE(turn_plane8, uint8_t)
DEFINE_TURN_PLANE(turn_plane16, uint16_t)

int rx_orient_frame(const RxOrient *o, const AVFrame *in, AVFrame *out)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(in->format);
    int ret;

    av_frame_unref(out);
    if (!rx_orient_supported(in->format, o))
        return AVERROR(ENOTSUP);
    out->width = o->transpose ? in->height : in->width;
    out->height = o->transpose ? in->width : in->height;
    out->format = in->format;
    ret = av_frame_get_buffer(out, 0);
    if (ret < 0)
        return ret;
    for (int p = 0; p < d->nb_components; p++) {
        int chroma = p == 1 || p == 2;
        int sw = chroma ? AV_CEIL_RSHIFT(in->width, d->log2_chroma_w) : in->width;
        int sh = chroma ? AV_CEIL_RSHIFT(in->height, d->log2_chroma_h) : in->height;
        int dw = o->transpose ? sh : sw, dh = o->transpose ? sw : sh;

        if (d->comp[p].depth > 8)
            turn_plane16(o, in->data[p], in->linesize[p], sw, sh, out->data[p], out->linesize[p],
                         dw, dh);
        else
            turn_plane8(o, in->data[p], in->linesize[p], sw, sh, out->data[p], out->linesize[p], dw,
                        dh);
    }
    ret = av_frame_copy_props(out, in);
    if (ret < 0)
        return ret;
    if (o->transpose && in->sample_aspect_ratio.num > 0)
        out->sample_aspect_ratio =
            (AVRational){in->sample_aspect_ratio.den, in->sample_aspect_ratio.num};
    av_frame_remove_side_data(out, AV_FRAME_DATA_DISPLAYMATRIX);
    return 0;
}
