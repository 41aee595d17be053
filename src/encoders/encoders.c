/*
 * encoders.c - the table of the video encoders reencode drives (see
 * encoder.h), and the helpers their descriptions share.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/common.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>

#include "encoders/encoder.h"

extern const RxEncoder rx_encoder_libaom, rx_encoder_svtav1, rx_encoder_rav1e, rx_encoder_vp9;

/* The first is the default. The order is the help's and the messages'. */
static const RxEncoder *const encoders[] = {
    &rx_encoder_libaom,
    &rx_encoder_svtav1,
    &rx_encoder_rav1e,
    &rx_encoder_vp9,
};

#define N_ENCODERS (sizeof(encoders) / sizeof(encoders[0]))

static const char *const option_names[RX_EO_COUNT] = {
    [RX_EO_CPU_USED] = "cpu-used",
    [RX_EO_USAGE] = "usage",
    [RX_EO_LAG] = "lag-in-frames",
    [RX_EO_AOM_PARAMS] = "aom-params",
    [RX_EO_PRESET] = "preset",
    [RX_EO_SVTAV1_PARAMS] = "svtav1-params",
    [RX_EO_RAV1E_PARAMS] = "rav1e-params",
    [RX_EO_VP9_PARAMS] = "vp9-params",
};

const RxEncoder *rx_encoder_find(const char *name)
{
    for (size_t i = 0; i < N_ENCODERS; i++)
        if (!strcmp(name, encoders[i]->name))
            return encoders[i];
    return NULL;
}

const RxEncoder *rx_encoder_at(size_t i)
{
    return i < N_ENCODERS ? encoders[i] : NULL;
}

const char *rx_encoder_option_name(RxEncOpt o)
{
    return (unsigned)o < RX_EO_COUNT ? option_names[o] : NULL;
}

/* The job's keyframe interval in frames at the encoder's nominal rate. */
int64_t rx_encoder_keyint_frames(const RxSettings *s, const AVCodecContext *enc)
{
    double fps = enc->framerate.num > 0 && enc->framerate.den > 0 ? av_q2d(enc->framerate) : 30;

    double seconds = s->keyint_seconds > 0 ? s->keyint_seconds : RX_KEYINT_FALLBACK;

    return FFMAX(1, llrint(seconds * fps));
}

/* Pass each key=value of params to takes(); the first it refuses goes to
 * bad ("key=value", or the key alone with key_only), as does a string that
 * is not key=value:... at all. */
int rx_encoder_check_params(const char *params,
                            int (*takes)(void *ctx, const char *k, const char *v), void *ctx,
                            int key_only, char *bad, size_t size)
{
    AVDictionary *p = NULL;
    const AVDictionaryEntry *e = NULL;
    int ret = 0;

    if (av_dict_parse_string(&p, params, "=", ":", 0) < 0) {
        snprintf(bad, size, "%s", params);
        ret = AVERROR(EINVAL);
    }
    while (!ret && (e = av_dict_get(p, "", e, AV_DICT_IGNORE_SUFFIX))) {
        if (!takes(ctx, e->key, e->value)) {
            snprintf(bad, size, key_only ? "%s" : "%s=%s", e->key, e->value);
            ret = AVERROR(EINVAL);
        }
    }
    av_dict_free(&p);
    return ret;
}
