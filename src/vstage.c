/*
 * vstage.c - adapt decoded frames to the encoder (see vstage.h).
 */
#include <libavutil/mem.h>
#include <libswscale/swscale.h>

#include "vstage.h"

struct RxVStage {
    int width, height;
    enum AVPixelFormat fmt;
    struct SwsContext *sws; /* created on the first frame that needs it */
    AVFrame *conv;
    int64_t converted;
};

int rx_vstage_new(RxVStage **out, int width, int height, enum AVPixelFormat fmt)
{
    RxVStage *vs = av_mallocz(sizeof(*vs));

    *out = NULL;
    if (!vs)
        return AVERROR(ENOMEM);
    vs->width = width;
    vs->height = height;
    vs->fmt = fmt;
    *out = vs;
    return 0;
}

int rx_vstage_process(RxVStage *vs, AVFrame *in, AVFrame **out)
{
    int ret;

    *out = NULL;
    if (in->width == vs->width && in->height == vs->height && in->format == vs->fmt) {
        *out = in;
        return 0;
    }

    /* Cached: only rebuilt when the input's geometry or format changes. */
    vs->sws = sws_getCachedContext(vs->sws, in->width, in->height, in->format, vs->width,
                                   vs->height, vs->fmt, SWS_BICUBIC, NULL, NULL, NULL);
    if (!vs->sws)
        return AVERROR(EINVAL);

    if (!vs->conv) {
        vs->conv = av_frame_alloc();
        if (!vs->conv)
            return AVERROR(ENOMEM);
        vs->conv->width = vs->width;
        vs->conv->height = vs->height;
        vs->conv->format = vs->fmt;
        ret = av_frame_get_buffer(vs->conv, 0);
        if (ret < 0)
            return ret;
    }
    /* The encoder may still hold a reference to the previous picture. */
    ret = av_frame_make_writable(vs->conv);
    if (ret < 0)
        return ret;

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

int64_t rx_vstage_converted(const RxVStage *vs)
{
    return vs ? vs->converted : 0;
}

void rx_vstage_free(RxVStage **pvs)
{
    RxVStage *vs;

    if (!pvs || !*pvs)
        return;
    vs = *pvs;
    sws_freeContext(vs->sws);
    av_frame_free(&vs->conv);
    av_freep(pvs);
}
