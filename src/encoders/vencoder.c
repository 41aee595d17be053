/*
 * vencoder.c - the options reencode gives librav1e and libvpx-vp9 (see
 * vencoder.h).
 */
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/common.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>

#include "reencode/settings.h"
#include "encoders/vencoder.h"

/* The job's keyframe interval in frames at the encoder's nominal rate. */
static int64_t keyint_frames(const RxSettings *s, const AVCodecContext *enc)
{
    double fps = enc->framerate.num > 0 && enc->framerate.den > 0 ? av_q2d(enc->framerate) : 30;

    double seconds = s->keyint_seconds > 0 ? s->keyint_seconds : RX_KEYINT_FALLBACK;

    return FFMAX(1, llrint(seconds * fps));
}

/*
 * librav1e through FFmpeg 5.1 with rav1e 0.5 (checked with tests/check_transcode.c):
 * - keyframes: the wrapper never passes a frame's pict_type on, so our forced
 *   keyframes do not happen. rav1e's own interval is set instead, in frames
 *   at the nominal rate, its minimum equal to it so that scene cuts add none:
 *   on CFR input the keyframes fall on the --keyint times; on VFR input (or
 *   with frames elided by --dedup on) they are every so many frames, which
 *   is as close as this wrapper allows.
 * - threads: the wrapper passes thread_count on, but rav1e 0.5 only works on
 *   several tiles of a frame at once: one tile per thread of the budget.
 * - everything goes through rav1e-params, which the wrapper applies first:
 *   quality and speed as rav1e's own keys, so a key in --rav1e-params
 *   (applied after ours) wins as it does in --aom-params.
 */
int rx_rav1e_options(const RxSettings *s, AVCodecContext *enc, AVDictionary **opts)
{
    AVDictionary *p = NULL;
    char *str = NULL;
    int threads = rx_settings_threads(s), ret;

    ret = av_dict_set_int(&p, "quantizer", s->crf, 0);
    if (ret >= 0)
        ret = av_dict_set_int(&p, "speed", s->preset, 0);
    if (ret >= 0 && threads > 1)
        ret = av_dict_set_int(&p, "tiles", threads, 0);
    if (ret >= 0 && s->keyint_seconds != 0) {
        ret = av_dict_set_int(&p, "key_frame_interval", keyint_frames(s, enc), 0);
        if (ret >= 0)
            ret = av_dict_set_int(&p, "min_key_frame_interval", keyint_frames(s, enc), 0);
    }
    if (ret >= 0 && s->rav1e_params[0])
        ret = av_dict_parse_string(&p, s->rav1e_params, "=", ":", 0);
    if (ret >= 0)
        ret = av_dict_get_string(p, &str, '=', ':');
    av_dict_free(&p);
    if (ret >= 0)
        ret = av_dict_set(opts, "rav1e-params", str, AV_DICT_DONT_STRDUP_VAL);
    else
        av_free(str);
    return ret < 0 ? ret : 0;
}

/* log2 of the tile columns for a thread budget: libvpx encodes tile columns
 * in parallel (and caps them itself to what the width allows, 256 pixels
 * each at least). */
static int tile_columns_log2(int threads)
{
    int n = 0;

    while (n < 6 && (2 << n) <= threads)
        n++;
    return n;
}

/*
 * libvpx-vp9 through FFmpeg 5.1 with libvpx 1.12:
 * - constant quality: crf with a bit rate of 0 (otherwise crf is a cap on
 *   a bit rate target, "constrained quality").
 * - keyframes: the wrapper turns pict_type I into a forced keyframe; libvpx's
 *   own interval (128 frames unless told) is put out of reach, so our
 *   by-time cadence is the only one, as with libaom.
 * - threads: thread_count, with row-mt and tile columns so they have work.
 * - tune-content=screen, as the libaom reference does.
 * --vp9-params are the wrapper's own options, applied after ours.
 */
int rx_vp9_options(const RxSettings *s, AVCodecContext *enc, AVDictionary **opts)
{
    int threads = rx_settings_threads(s), ret;

    enc->bit_rate = 0;
    if (s->keyint_seconds != 0) /* only the keyframes we force */
        enc->gop_size = INT_MAX / 2;
    ret = av_dict_set_int(opts, "crf", s->crf, 0);
    if (ret >= 0)
        ret = av_dict_set_int(opts, "cpu-used", s->cpu_used, 0);
    if (ret >= 0)
        ret = av_dict_set(opts, "deadline", "good", 0);
    if (ret >= 0)
        ret = av_dict_set(opts, "row-mt", "1", 0);
    if (ret >= 0)
        ret = av_dict_set_int(opts, "tile-columns", tile_columns_log2(threads), 0);
    if (ret >= 0)
        ret = av_dict_set(opts, "tune-content", "screen", 0);
    if (ret >= 0 && s->vp9_params[0])
        ret = av_dict_parse_string(opts, s->vp9_params, "=", ":", 0);
    return ret < 0 ? ret : 0;
}

/* Pass each key=value of params to takes(); the first it refuses goes to
 * bad ("key=value", or the key alone with key_only), as does a string that
 * is not key=value:... at all. */
static int check_params(const char *params, int (*takes)(void *ctx, const char *k, const char *v),
                        void *ctx, int key_only, char *bad, size_t size)
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

/* rav1e's C API, found in the process: libavcodec links librav1e. */
typedef void *(*RaConfigDefault)(void);
typedef int (*RaConfigParse)(void *cfg, const char *key, const char *value);
typedef void (*RaConfigUnref)(void *cfg);

typedef struct Rav1eConfig {
    void *cfg;
    RaConfigParse parse;
} Rav1eConfig;

static int rav1e_takes(void *ctx, const char *key, const char *value)
{
    Rav1eConfig *c = ctx;
    return c->parse(c->cfg, key, value) >= 0;
}

int rx_rav1e_params_check(const char *params, char *bad, size_t size)
{
    RaConfigDefault cfg_default;
    RaConfigUnref cfg_unref;
    Rav1eConfig c;
    int ret;

    if (size)
        bad[0] = '\0';
    if (!params[0])
        return 0;
    /* Make sure libavcodec, and with it librav1e, is loaded and linked. */
    (void)avcodec_find_encoder_by_name("librav1e");
    *(void **)&cfg_default = dlsym(RTLD_DEFAULT, "rav1e_config_default");
    *(void **)&c.parse = dlsym(RTLD_DEFAULT, "rav1e_config_parse");
    *(void **)&cfg_unref = dlsym(RTLD_DEFAULT, "rav1e_config_unref");
    /* Without rav1e in the process there is no librav1e encoder either:
     * choosing it is refused on its own. */
    c.cfg = cfg_default && c.parse && cfg_unref ? cfg_default() : NULL;
    if (!c.cfg)
        return 0;
    ret = check_params(params, rav1e_takes, &c, 0, bad, size);
    cfg_unref(c.cfg);
    return ret;
}

static int vp9_takes(void *ctx, const char *key, const char *value)
{
    /* av_opt_find() takes void * but only reads a fake object. */
    const AVClass *priv = ((const AVCodec *)ctx)->priv_class, *generic = avcodec_get_class();

    (void)value; /* checked when the encoder opens */
    return av_opt_find(&priv, key, NULL, 0, AV_OPT_SEARCH_FAKE_OBJ) ||
           av_opt_find(&generic, key, NULL, AV_OPT_FLAG_ENCODING_PARAM, AV_OPT_SEARCH_FAKE_OBJ);
}

int rx_vp9_params_check(const char *params, char *bad, size_t size)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libvpx-vp9");

    if (size)
        bad[0] = '\0';
    if (!params[0] || !codec)
        return 0;
    return check_params(params, vp9_takes, (void *)(uintptr_t)codec, 1, bad, size);
}
