/*
 * libaom.c - libaom-av1, the default encoder: the reference's settings, and
 * the checks and adaptations that keep libaom 3.6 clear of its faults.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/common.h>
#include <libavutil/dict.h>
#include <libavutil/pixdesc.h>

#include "encoders/encoder.h"

/* The value of key in the user's aom-params as libaom will see it (the last
 * one given), in val; 0 when absent or when the string does not parse
 * (avcodec_open2 reports a malformed aom-params itself). */
static int aom_param(const RxSettings *s, const char *key, char *val, size_t size)
{
    AVDictionary *p = NULL;
    const AVDictionaryEntry *e = NULL;

    if (s->aom_params[0] && av_dict_parse_string(&p, s->aom_params, "=", ":", 0) >= 0)
        e = av_dict_get(p, key, NULL, 0);
    if (e)
        snprintf(val, size, "%s", e->value);
    av_dict_free(&p);
    return e != NULL;
}

/* libaom 3.6 aborts the whole process (an assert in loopfilter_frame) on
 * lossless coding (crf 0) with enable-chroma-deltaq=1, which the reference
 * aom-params set: one such job would take every other job of a batch down
 * with it and leave its .part behind. Refuse it as a settings error. */
static int check_lossless(const RxSettings *s, const char *input, int w, int h, char *msg,
                          size_t size)
{
    char v[32];

    (void)w, (void)h;
    if (s->crf != 0 || !aom_param(s, "enable-chroma-deltaq", v, sizeof(v)) || !strcmp(v, "0"))
        return 0;
    snprintf(msg, size,
             "cannot encode '%s' losslessly (--crf 0) with enable-chroma-deltaq in "
             "--aom-params: libaom would abort; add enable-chroma-deltaq=0",
             input);
    return AVERROR(EINVAL);
}

/* The encoder's pixel format of the same chroma layout with 8-bit samples,
 * closest to src; AV_PIX_FMT_NONE when it has none. */
static enum AVPixelFormat eight_bit_of(const AVCodec *codec, enum AVPixelFormat src)
{
    const AVPixFmtDescriptor *sd = av_pix_fmt_desc_get(src), *d;
    enum AVPixelFormat list[64];
    int n = 0;

    for (const enum AVPixelFormat *p = sd ? codec->pix_fmts : NULL;
         p && *p != AV_PIX_FMT_NONE && n < 63; p++) {
        d = av_pix_fmt_desc_get(*p);
        if (d && d->comp[0].depth == 8 && d->nb_components == sd->nb_components &&
            d->log2_chroma_w == sd->log2_chroma_w && d->log2_chroma_h == sd->log2_chroma_h &&
            (d->flags & AV_PIX_FMT_FLAG_RGB) == (sd->flags & AV_PIX_FMT_FLAG_RGB))
            list[n++] = *p;
    }
    list[n] = AV_PIX_FMT_NONE;
    return n ? avcodec_find_best_pix_fmt_of_list(list, src, 0, NULL) : AV_PIX_FMT_NONE;
}

/*
 * libaom 3.6.0 crashes the process (SIGSEGV, or the assertion
 * `!((intptr_t)dst % 16)' in aom_highbd_convolve_copy_avx2) on high bit
 * depth in realtime mode with tune-content=screen once its speed is 7 or
 * more. Measured with the ffmpeg CLI (which crashes just the same) and the
 * reference aom-params, 1 to 4 threads: cpu-used 7 and 8 crash at every size
 * tried (64x64 to 1280x720, 4:2:0 and 4:4:4, odd sizes too); cpu-used 5 and
 * 6 pass up to a smaller side of 1079 (1280x720, 1920x1078, 1078x1920,
 * 3840x1079) and crash from 1080 on (1080x1080, 1920x1080, 1080x1920,
 * 2560x1440), where realtime raises the speed to 7 itself. usage=good and
 * 8-bit input pass at any speed.
 *
 * So the rule is that boundary: the speed libaom will run at is 7 or more.
 * Below it the video keeps its bits. At it:
 *  - SDR video is encoded as 8-bit: screen content is 8-bit at the source,
 *    so the 10-bit copy of it carries nothing more, and the screen tools
 *    (palette, intra block copy: sharp text) stay on;
 *  - HDR video (PQ, HLG) keeps its bits, where 8 would band, and libaom gets
 *    tune-content=default instead: its screen tools are for text, not film.
 * Either way the file's log says so. One function, so a table of encoder
 * limits can take it over. params: the aom-params to open with (in/out).
 */
static void avoid_libaom_crash(const RxSettings *s, const char *input, const AVCodec *codec,
                               AVCodecContext *enc, char *params, size_t size, char *note,
                               size_t note_size)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(enc->pix_fmt);
    enum AVPixelFormat eight;
    char tune[32], cpu[16];
    int speed = s->cpu_used;

    if (aom_param(s, "cpu-used", cpu, sizeof(cpu))) /* applied after --cpu-used */
        speed = (int)strtol(cpu, NULL, 10);
    if (FFMIN(enc->width, enc->height) >= 1080)
        speed = FFMAX(speed, 7);
    if (speed < 7 || (strcmp(s->usage, "realtime") && strcmp(s->usage, "1")) || !d ||
        d->comp[0].depth <= 8 || !aom_param(s, "tune-content", tune, sizeof(tune)) ||
        (strcmp(tune, "screen") && strcmp(tune, "1")))
        return;
    eight = eight_bit_of(codec, enc->pix_fmt);
    if (enc->color_trc != AVCOL_TRC_SMPTE2084 && enc->color_trc != AVCOL_TRC_ARIB_STD_B67 &&
        eight != AV_PIX_FMT_NONE) {
        snprintf(note, note_size,
                 "'%s': %d-bit video encoded as 8-bit (libaom 3.6 crashes on high bit depth with "
                 "tune-content=screen in realtime mode)",
                 input, d->comp[0].depth);
        enc->pix_fmt = eight;
        return;
    }
    snprintf(params, size, "%s:tune-content=default", s->aom_params);
    snprintf(note, note_size,
             "'%s': %s video encoded with tune-content=default, not screen (libaom 3.6 crashes on "
             "high bit depth with tune-content=screen in realtime mode)",
             input, eight == AV_PIX_FMT_NONE ? "high-bit-depth" : "HDR");
}

/* The reference's options; aom-params after avoid_libaom_crash(). */
static int apply(const RxSettings *s, const char *params, AVCodecContext *enc, AVDictionary **opts)
{
    (void)enc;
    av_dict_set_int(opts, "crf", s->crf, 0);
    av_dict_set_int(opts, "cpu-used", s->cpu_used, 0);
    av_dict_set(opts, "usage", s->usage, 0);
    av_dict_set_int(opts, "lag-in-frames", s->lag_in_frames, 0);
    if (params[0])
        av_dict_set(opts, "aom-params", params, 0);
    return 0;
}

/* Screen content is where frames repeat for minutes; elsewhere (camera
 * footage, games) a dropped frame would be rare and is not asked for. */
static int dedup_default(const RxSettings *s)
{
    return strstr(s->aom_params, "tune-content=screen") != NULL;
}

/*
 * The reference's crf and cpu-used. crf 32 sits low in libaom's range:
 * below 25 its files grow fast for SSIM gains a viewer does not see; 55 is
 * where slide text still reads. A 1080p realtime encode peaks below 200 MB
 * (measured; docs/benchmarks.md), plus the decoder and queues.
 * full_verify_crf: libaom 3.6 writes AV1 that no decoder accepts past the
 * first frame at low crf with the reference enable-chroma-deltaq=1 (crf <= 3
 * on 8-bit motion, <= 5 on 10-bit): near that zone every frame is decoded.
 */
const RxEncoder rx_encoder_libaom = {
    .name = "libaom-av1",
    .crf = 32,
    .cpu_used = 5,
    .preset = 12,
    .crf_min = 0,
    .crf_max = 63,
    .preset_max = 13,
    .tune_lo = 25,
    .tune_hi = 55,
    .memory_mib = 300,
    .options = RX_EO_BIT(RX_EO_CPU_USED) | RX_EO_BIT(RX_EO_USAGE) | RX_EO_BIT(RX_EO_LAG) |
               RX_EO_BIT(RX_EO_AOM_PARAMS),
    .params_option = RX_EO_AOM_PARAMS,
    .full_verify_crf = 8,
    .dedup_default = dedup_default,
    .check_input = check_lossless,
    .adapt = avoid_libaom_crash,
    .apply = apply,
};
