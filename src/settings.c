/*
 * settings.c - reference defaults of a transcode job.
 */
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/crc.h>
#include <libavutil/error.h>

#include "reencode/settings.h"
#include "reencode/sysinfo.h"

/* The original script's -aom-params, less cpu-used, which is its own setting
 * here: aom-params are applied last, so a cpu-used inside them would
 * silently override --cpu-used. Inside aom-params the keys use libaom's own
 * spelling (arnr-maxframes), not the AVOption's (arnr-max-frames). */
static const char reference_aom_params[] =
    "row-mt=1:tune-content=screen:deltaq-mode=0:enable-chroma-deltaq=1:"
    "enable-qm=1:quant-b-adapt=1:sharpness=3:arnr-strength=1:arnr-maxframes=4:"
    "disable-trellis-quant=0";

/* libsvtav1's defaults, calibrated on the bench corpus (docs/benchmarks.md,
 * "libsvtav1 calibration": five Game-Bar-like clips, 45 s; presets 8-13 x
 * crf 34-43 against these libaom defaults). Preset 12 / crf 40: corpus-mean
 * SSIM 0.99838 against libaom's 0.99860, 102.5 % of its bytes, 1.3-1.5x
 * its speed with one thread per job, 2.1x with two. Preset 13 / crf 40
 * passes too, but narrowly (104.5 %, webcam SSIM -0.0019) for 16 % less
 * CPU; presets 8 and 10 match quality at more CPU than libaom. */
static const int svtav1_default_preset = 12;
static const int svtav1_default_crf = 40;
static const int libaom_default_crf = 32;

void rx_settings_default(RxSettings *s)
{
    memset(s, 0, sizeof(*s));
    rx_settings_set_str(s->video_encoder, sizeof(s->video_encoder), "libaom-av1");
    s->crf = libaom_default_crf;
    s->cpu_used = 5;
    rx_settings_set_str(s->usage, sizeof(s->usage), "realtime");
    s->lag_in_frames = 32;
    rx_settings_set_str(s->aom_params, sizeof(s->aom_params), reference_aom_params);
    s->preset = svtav1_default_preset;
    s->threads = 0;
    s->keyint_seconds = 10.0;
    s->audio_bitrate = 32000;
    rx_settings_set_str(s->opus_application, sizeof(s->opus_application), "voip");
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
    /* Screen content is where frames repeat for minutes; elsewhere (camera
     * footage, games) a dropped frame would be rare and is not asked for. */
    return !strcmp(s->video_encoder, "libaom-av1") && strstr(s->aom_params, "tune-content=screen");
}

int rx_settings_set_encoder(RxSettings *s, const char *name)
{
    int svt = !strcmp(name, "libsvtav1");

    if (!svt && strcmp(name, "libaom-av1"))
        return AVERROR(EINVAL);
    /* Debian's FFmpeg has both, but a libavcodec built without one must be
     * refused before any work starts, not fail once per file. */
    if (!avcodec_find_encoder_by_name(name))
        return AVERROR_ENCODER_NOT_FOUND;
    rx_settings_set_str(s->video_encoder, sizeof(s->video_encoder), name);
    s->crf = svt ? svtav1_default_crf : libaom_default_crf;
    s->preset = svtav1_default_preset;
    return 0;
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

/* libaom's default crf 32 sits low in its range and libsvtav1's 40 (the
 * calibrated equivalent) eight higher: the ranges keep that offset. Below
 * 25 libaom's files grow fast for SSIM gains a viewer does not see; 55 is
 * where slide text still reads. */
void rx_settings_crf_range(const RxSettings *s, int *lo, int *hi)
{
    if (!strcmp(s->video_encoder, "libsvtav1")) {
        *lo = 32;
        *hi = 62;
    } else {
        *lo = 25;
        *hi = 55;
    }
}

void rx_settings_tune_key(const RxSettings *s, char key[RX_TUNE_KEY_MAX])
{
    char all[sizeof(*s) + 128];
    int n = snprintf(all, sizeof(all), "%s|%d|%s|%d|%s|%d|%s|%.6f|%d|%d", s->video_encoder,
                     s->cpu_used, s->usage, s->lag_in_frames, s->aom_params, s->preset,
                     s->svt_params, s->keyint_seconds, rx_settings_dedup(s), s->dedup_max_diff);
    uint32_t crc = av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX, (const uint8_t *)all,
                          n > 0 && (size_t)n < sizeof(all) ? (size_t)n : 0);

    snprintf(key, RX_TUNE_KEY_MAX, "ssim>=%.6f %.16s %08x", s->target_ssim, s->video_encoder,
             (unsigned)~crc);
}
