/*
 * rav1e.c - librav1e (rav1e 0.5 through FFmpeg 5.1): AV1 from the rav1e
 * project, offered, not recommended (see its defaults below).
 */
#include <dlfcn.h>
#include <stdio.h>

#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>

#include "encoders/encoder.h"

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
static int apply(const RxSettings *s, const char *params, AVCodecContext *enc, AVDictionary **opts)
{
    AVDictionary *p = NULL;
    char *str = NULL;
    int threads = rx_settings_threads(s), ret;

    (void)params;

    ret = av_dict_set_int(&p, "quantizer", s->crf, 0);
    if (ret >= 0)
        ret = av_dict_set_int(&p, "speed", s->preset, 0);
    if (ret >= 0 && threads > 1)
        ret = av_dict_set_int(&p, "tiles", threads, 0);
    if (ret >= 0 && s->keyint_seconds != 0) {
        ret = av_dict_set_int(&p, "key_frame_interval", rx_encoder_keyint_frames(s, enc), 0);
        if (ret >= 0)
            ret =
                av_dict_set_int(&p, "min_key_frame_interval", rx_encoder_keyint_frames(s, enc), 0);
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

static int params_check(const char *params, char *bad, size_t size)
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
    ret = rx_encoder_check_params(params, rav1e_takes, &c, 0, bad, size);
    cfg_unref(c.cfg);
    return ret;
}

static const char *raw_params(const RxSettings *s)
{
    return s->rav1e_params;
}

/*
 * Calibrated (rav1e 0.5) on two 8 s 640x360 test clips, one thread, against
 * libaom's defaults (dedup on): mkclip --pattern camera --slide-seconds 2,
 * and --pattern slides --motion 4:2. Figures camera / slides, bytes with
 * 32 kb/s Opus; SSIM from mkclip --ssim. libaom: 121.8 KB 0.99805 / 140.7 KB
 * 0.99636, 6.9 s of CPU for both. rav1e speed 8, quantizer 80: 147.0 KB
 * 0.99781 / 236.2 KB 0.99673 - the same mean SSIM for 146 % of the bytes and
 * ~6x the CPU (43 s). Speed 6 is no better; 9 and 10 double the bytes on
 * screen content (speed 10 at quantizer 60: 0.98413, 328 KB on camera).
 * Quantizer 100: 133 % of the bytes but 0.0005 less SSIM. "crf" is rav1e's
 * quantizer, 0-255; the --target-ssim range is 61 values around the
 * calibrated 80, at most 6 probe encodes (the slowest encoder, alas). A 3 s
 * 1080p camera clip peaks at 1.5 GB (one thread, /usr/bin/time -v), plus
 * the decoder and queues.
 */
const RxEncoder rx_encoder_rav1e = {
    .name = "librav1e",
    .crf = 80,
    .cpu_used = 5,
    .preset = 8,
    .crf_min = 0,
    .crf_max = 255,
    .preset_max = 10,
    .tune_lo = 50,
    .tune_hi = 110,
    .memory_mib = 1700,
    .options = RX_EO_BIT(RX_EO_PRESET) | RX_EO_BIT(RX_EO_RAV1E_PARAMS),
    .params_option = RX_EO_RAV1E_PARAMS,
    .params_owner = "rav1e",
    .full_verify_crf = -1,
    .needs_framerate = 1,
    .raw_params = raw_params,
    .params_check = params_check,
    .apply = apply,
};
