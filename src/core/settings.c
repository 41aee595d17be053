/*
 * settings.c - reference defaults of a transcode job.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libavcodec/avcodec.h>
#include <libavutil/crc.h>
#include <libavutil/error.h>

#include "reencode/settings.h"
#include "batch/sysinfo.h"
#include "encoders/encoder.h"

/* The original script's -aom-params, less cpu-used, which is its own setting
 * here: aom-params are applied last, so a cpu-used inside them would
 * silently override --cpu-used. Inside aom-params the keys use libaom's own
 * spelling (arnr-maxframes), not the AVOption's (arnr-max-frames). */
static const char reference_aom_params[] =
    "row-mt=1:tune-content=screen:deltaq-mode=0:enable-chroma-deltaq=1:"
    "enable-qm=1:quant-b-adapt=1:sharpness=3:arnr-strength=1:arnr-maxframes=4:"
    "disable-trellis-quant=0";

void rx_settings_default(RxSettings *s)
{
    const RxEncoder *e = rx_encoder_at(0); /* the default, with the reference's crf and cpu-used */

    memset(s, 0, sizeof(*s));
    rx_settings_set_str(s->video_encoder, sizeof(s->video_encoder), e->name);
    s->crf = e->crf;
    s->cpu_used = e->cpu_used;
    rx_settings_set_str(s->usage, sizeof(s->usage), "realtime");
    s->lag_in_frames = 32;
    rx_settings_set_str(s->aom_params, sizeof(s->aom_params), reference_aom_params);
    s->preset = e->preset;
    s->threads = 0;
    s->keyint_seconds = RX_KEYINT_AUTO;
    s->audio_bitrate = 32000;
    rx_settings_set_str(s->opus_application, sizeof(s->opus_application), "voip");
    s->opus_dtx = RX_OPUS_DTX_ALWAYS;
    s->overwrite = 0;
    s->dedup = -1;
    s->dedup_max_diff = 10;
    s->verify = RX_VERIFY_QUICK;
}

int rx_settings_dedup(const RxSettings *s)
{
    if (s->cfr) /* a dropped frame would shift every later frame number */
        return 0;
    if (s->dedup >= 0)
        return s->dedup;
    const RxEncoder *e = rx_encoder_find(s->video_encoder);

    return e && e->dedup_default && e->dedup_default(s);
}

int rx_settings_set_encoder(RxSettings *s, const char *name)
{
    const RxEncoder *e = rx_encoder_find(name);

    if (!e)
        return AVERROR(EINVAL);
    /* Debian's FFmpeg has them all, but a libavcodec built without one must
     * be refused before any work starts, not fail once per file. */
    if (!avcodec_find_encoder_by_name(name))
        return AVERROR_ENCODER_NOT_FOUND;
    rx_settings_set_str(s->video_encoder, sizeof(s->video_encoder), name);
    s->crf = e->crf;
    s->cpu_used = e->cpu_used;
    s->preset = e->preset;
    return 0;
}

RxContainer rx_settings_container(const RxSettings *s)
{
    if (s->container != RX_CONTAINER_AUTO)
        return (RxContainer)s->container;
    return s->audio_copy ? RX_CONTAINER_MKV : RX_CONTAINER_WEBM;
}

const char *rx_container_ext(RxContainer c)
{
    return c == RX_CONTAINER_MKV ? ".mkv" : ".webm";
}

RxContainer rx_container_of_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');

    if (!dot || (slash && dot < slash))
        return RX_CONTAINER_AUTO;
    if (!strcasecmp(dot, ".webm"))
        return RX_CONTAINER_WEBM;
    if (!strcasecmp(dot, ".mkv"))
        return RX_CONTAINER_MKV;
    return RX_CONTAINER_AUTO;
}

int rx_settings_set_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size)
        return AVERROR(EINVAL);
    memcpy(dst, src, n + 1);
    return 0;
}

int rx_settings_threads(const RxSettings *s)
{
    return s->threads > 0 ? s->threads : rx_sys_cores();
}

int rx_settings_measures(const RxSettings *s)
{
    return s->measure || s->min_ssim > 0 || s->target_ssim > 0;
}

/* Each encoder's range is in its description (src/encoders/); a name
 * reencode does not drive gets the default encoder's. */
void rx_settings_crf_range(const RxSettings *s, int *lo, int *hi)
{
    const RxEncoder *e = rx_encoder_find(s->video_encoder);

    if (!e)
        e = rx_encoder_at(0);
    *lo = e->tune_lo;
    *hi = e->tune_hi;
}

void rx_settings_tune_key(const RxSettings *s, char key[RX_TUNE_KEY_MAX])
{
    char all[sizeof(*s) + 128];
    int n = snprintf(all, sizeof(all), "%s|%d|%s|%d|%s|%d|%s|%.6f|%d|%d", s->video_encoder,
                     s->cpu_used, s->usage, s->lag_in_frames, s->aom_params, s->preset,
                     s->svt_params, s->keyint_seconds, rx_settings_dedup(s), s->dedup_max_diff);
    /* The later encoders' raw options, only when given: keys of the others
     * stay what they were. */
    if (n > 0 && (size_t)n < sizeof(all) && (s->rav1e_params[0] || s->vp9_params[0]))
        n += snprintf(all + n, sizeof(all) - (size_t)n, "|%s|%s", s->rav1e_params, s->vp9_params);
    uint32_t crc = av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX, (const uint8_t *)all,
                          n > 0 && (size_t)n < sizeof(all) ? (size_t)n : 0);

    snprintf(key, RX_TUNE_KEY_MAX, "ssim>=%.6f %.16s %08x", s->target_ssim, s->video_encoder,
             (unsigned)~crc);
}
