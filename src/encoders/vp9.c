/*
 * vp9.c - libvpx-vp9 (libvpx 1.12 through FFmpeg 5.1): VP9, for players
 * without AV1.
 */
#include <limits.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>
#include <libavutil/opt.h>

#include "encoders/encoder.h"

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
static int vp9_options(const RxSettings *s, AVCodecContext *enc, AVDictionary **opts)
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

/* crf first, as for every encoder that takes one (vp9_options() sets it
 * again, to the same value). */
static int apply(const RxSettings *s, const char *params, AVCodecContext *enc, AVDictionary **opts)
{
    (void)params;
    av_dict_set_int(opts, "crf", s->crf, 0);
    return vp9_options(s, enc, opts);
}

static int vp9_takes(void *ctx, const char *key, const char *value)
{
    /* av_opt_find() takes void * but only reads a fake object. */
    const AVClass *priv = ((const AVCodec *)ctx)->priv_class, *generic = avcodec_get_class();

    (void)value; /* checked when the encoder opens */
    return av_opt_find(&priv, key, NULL, 0, AV_OPT_SEARCH_FAKE_OBJ) ||
           av_opt_find(&generic, key, NULL, AV_OPT_FLAG_ENCODING_PARAM, AV_OPT_SEARCH_FAKE_OBJ);
}

static int params_check(const char *params, char *bad, size_t size)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libvpx-vp9");

    if (size)
        bad[0] = '\0';
    if (!params[0] || !codec)
        return 0;
    return rx_encoder_check_params(params, vp9_takes, (void *)(uintptr_t)codec, 1, bad, size);
}

static const char *raw_params(const RxSettings *s)
{
    return s->vp9_params;
}

/*
 * Calibrated (libvpx 1.12, deadline good) on the two clips and against the
 * libaom figures of rav1e.c: cpu-used 2, crf 36: 109.6 KB 0.99797 / 162.4 KB
 * 0.99588 - 104 % of the bytes, mean SSIM 0.0003 lower, 1.3x the CPU. In
 * good mode libvpx takes cpu-used 0-5 (more counts as 5: 5, 7 and 8 gave the
 * same bytes); cpu-used 3 / crf 32: 121 % of the bytes. deadline=realtime
 * cpu-used 6 crf 28 is 5x faster than libaom at 194 % of the bytes.
 * tune-content=screen changed nothing in good mode; it is set anyway. Its
 * crf 36 matches libaom's 32: the same --target-ssim range. A 3 s 1080p
 * camera clip peaks at 345 MB, plus the decoder and queues.
 */
const RxEncoder rx_encoder_vp9 = {
    .name = "libvpx-vp9",
    .crf = 36,
    .cpu_used = 2,
    .preset = 12,
    .crf_min = 0,
    .crf_max = 63,
    .preset_max = 13,
    .tune_lo = 25,
    .tune_hi = 55,
    .memory_mib = 450,
    .options = RX_EO_BIT(RX_EO_CPU_USED) | RX_EO_BIT(RX_EO_VP9_PARAMS),
    .params_option = RX_EO_VP9_PARAMS,
    .params_owner = "libvpx-vp9",
    .full_verify_crf = -1,
    .needs_framerate = 1,
    .raw_params = raw_params,
    .params_check = params_check,
    .apply = apply,
};
