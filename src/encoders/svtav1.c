/*
 * svtav1.c - libsvtav1 (SVT-AV1 1.4 through FFmpeg 5.1): faster than libaom
 * at about its size, with defaults calibrated to match it.
 */
#include <errno.h>
#include <stdio.h>

#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>

#include "encoders/encoder.h"

/* Largest SVT-AV1 keyint (frames) we set: see svtav1_options(). */
#define SVT_KEYINT_NEVER (1 << 30)

/* libsvtav1 through FFmpeg 5.1 with SVT-AV1 1.4 (checked by measuring, see
 * docs/benchmarks.md):
 * - threads: the wrapper ignores thread_count; SVT's own "lp" (logical
 *   processors) caps it: lp=1 holds a 1080p encode to one core, unset it
 *   takes them all. SVT does not pin its threads unless asked (pin=0).
 * - keyframes: the wrapper turns pict_type I into a key-picture request,
 *   which SVT ignores unless enable-force-key-frames=1, and ignores anyway
 *   with keyint -1 or 0 ("infinite"); its default keyint (~5 s, in frames)
 *   would add keyframes of its own. So its period is set beyond reach and our
 *   by-time cadence is the only one.
 * Ours go first in svtav1-params; the user's follow and win. */
static int svtav1_options(const RxSettings *s, AVCodecContext *enc, AVDictionary **opts)
{
    char params[sizeof(s->svt_params) + 96];
    int n;

    n = snprintf(params, sizeof(params), "lp=%d", rx_settings_threads(s));
    if (s->keyint_seconds != 0)
        n += snprintf(params + n, sizeof(params) - (size_t)n,
                      ":enable-force-key-frames=1:keyint=%d", SVT_KEYINT_NEVER);
    if (s->svt_params[0])
        n += snprintf(params + n, sizeof(params) - (size_t)n, ":%s", s->svt_params);
    if (n < 0 || (size_t)n >= sizeof(params))
        return AVERROR(EINVAL);
    /* An unknown svtav1-params key is only a warning in the wrapper, and the
     * user's intent silently lost: make it fail the open. */
    enc->err_recognition |= AV_EF_EXPLODE;
    av_dict_set_int(opts, "preset", s->preset, 0);
    return av_dict_set(opts, "svtav1-params", params, 0);
}

/* SVT-AV1 1.4 refuses odd picture sizes in 4:2:0 and sizes under 64x64
 * (only on its own stderr; avcodec_open2 says "Invalid argument"). Say why,
 * and what works: libaom takes any size. */
static int check_svt_size(const RxSettings *s, const char *input, int w, int h, char *msg,
                          size_t size)
{
    (void)s;
    if (w % 2 == 0 && h % 2 == 0 && w >= 64 && h >= 64)
        return 0;
    snprintf(msg, size,
             "cannot encode '%s' with libsvtav1: its picture is %dx%d, SVT-AV1 needs even "
             "sizes of at least 64x64 (libaom-av1 takes any)",
             input, w, h);
    return AVERROR(ENOTSUP);
}

/* crf first, as for every encoder that takes one; then SVT's own. */
static int apply(const RxSettings *s, const char *params, AVCodecContext *enc, AVDictionary **opts)
{
    (void)params;
    av_dict_set_int(opts, "crf", s->crf, 0);
    return svtav1_options(s, enc, opts);
}

static const char *raw_params(const RxSettings *s)
{
    return s->svt_params;
}

/*
 * Defaults calibrated on the bench corpus (docs/benchmarks.md, "libsvtav1
 * calibration": five Game-Bar-like clips, 45 s; presets 8-13 x crf 34-43
 * against libaom's defaults). Preset 12 / crf 40: corpus-mean SSIM 0.99838
 * against libaom's 0.99860, 102.5 % of its bytes, 1.3-1.5x its speed with
 * one thread per job, 2.1x with two. Preset 13 / crf 40 passes too, but
 * narrowly (104.5 %, webcam SSIM -0.0019) for 16 % less CPU; presets 8 and
 * 10 match quality at more CPU than libaom. Its --target-ssim range keeps
 * the offset of its crf 40 from libaom's 32 (32-62). crf 0 is refused: the
 * wrapper takes it for "unset" (SVT-AV1 has no lossless mode) and would
 * encode at SVT's default quality instead. A 1080p encode peaks at 420-530
 * MB (measured; docs/benchmarks.md), plus the decoder and queues.
 */
const RxEncoder rx_encoder_svtav1 = {
    .name = "libsvtav1",
    .crf = 40,
    .cpu_used = 5,
    .preset = 12,
    .crf_min = 1,
    .crf_max = 63,
    .preset_max = 13,
    .tune_lo = 32,
    .tune_hi = 62,
    .memory_mib = 650,
    .options = RX_EO_BIT(RX_EO_PRESET) | RX_EO_BIT(RX_EO_SVTAV1_PARAMS),
    .params_option = RX_EO_SVTAV1_PARAMS,
    .full_verify_crf = -1,
    .needs_framerate = 1,
    .raw_params = raw_params,
    .check_input = check_svt_size,
    .apply = apply,
};
