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

/* The original script's -aom-params, less cpu-used, which is its own setting
 * here: aom-params are applied last, so a cpu-used inside them would
 * silently override --cpu-used. Inside aom-params the keys use libaom's own
 * spelling (arnr-maxframes), not the AVOption's (arnr-max-frames). */
static const char reference_aom_params[] =
    "row-mt=1:tune-content=screen:deltaq-mode=0:enable-chroma-deltaq=1:"
    "enable-qm=1:quant-b-adapt=1:sharpness=3:arnr-strength=1:arnr-maxframes=4:"
    "disable-trellis-quant=0";

/* Each encoder's defaults: quality (crf, or rav1e's quantizer) and speed
 * (libaom's and libvpx's cpu-used, SVT-AV1's preset, rav1e's speed). The
 * first is the default encoder, with the reference's crf and cpu-used. */
static const struct {
    const char *name;
    int crf, cpu_used, preset;
} encoders[] = {
    {"libaom-av1", 32, 5, 12},
    /* libsvtav1's defaults, calibrated on the bench corpus (docs/benchmarks.md,
     * "libsvtav1 calibration": five Game-Bar-like clips, 45 s; presets 8-13 x
     * crf 34-43 against these libaom defaults). Preset 12 / crf 40: corpus-mean
     * SSIM 0.99838 against libaom's 0.99860, 102.5 % of its bytes, 1.3-1.5x
     * its speed with one thread per job, 2.1x with two. Preset 13 / crf 40
     * passes too, but narrowly (104.5 %, webcam SSIM -0.0019) for 16 % less
     * CPU; presets 8 and 10 match quality at more CPU than libaom. */
    {"libsvtav1", 40, 5, 12},
    /* librav1e (rav1e 0.5) and libvpx-vp9 (libvpx 1.12, deadline good)
     * calibrated on two 8 s 640x360 test clips, one thread, against libaom's
     * defaults above (dedup on): mkclip --pattern camera --slide-seconds 2,
     * and --pattern slides --motion 4:2. Figures camera / slides, bytes with
     * 32 kb/s Opus; SSIM from mkclip --ssim. libaom: 121.8 KB 0.99805 /
     * 140.7 KB 0.99636, 6.9 s of CPU for both.
     * rav1e speed 8, quantizer 80: 147.0 KB 0.99781 / 236.2 KB 0.99673 - the
     * same mean SSIM for 146 % of the bytes and ~6x the CPU (43 s). Speed 6
     * is no better; 9 and 10 double the bytes on screen content (speed 10 at
     * quantizer 60: 0.98413, 328 KB on camera). Quantizer 100: 133 % of the
     * bytes but 0.0005 less SSIM. rav1e is offered, not recommended.
     * vp9 cpu-used 2, crf 36: 109.6 KB 0.99797 / 162.4 KB 0.99588 - 104 % of
     * the bytes, mean SSIM 0.0003 lower, 1.3x the CPU. In good mode libvpx
     * takes cpu-used 0-5 (more counts as 5: 5, 7 and 8 gave the same bytes);
     * cpu-used 3 / crf 32: 121 % of the bytes. deadline=realtime cpu-used 6
     * crf 28 is 5x faster than libaom at 194 % of the bytes.
     * tune-content=screen changed nothing in good mode; it is set anyway. */
    {"librav1e", 80, 5, 8},
    {"libvpx-vp9", 36, 2, 12},
};

void rx_settings_default(RxSettings *s)
{
    memset(s, 0, sizeof(*s));
    rx_settings_set_str(s->video_encoder, sizeof(s->video_encoder), "libaom-av1");
    s->crf = encoders[0].crf;
    s->cpu_used = encoders[0].cpu_used;
    rx_settings_set_str(s->usage, sizeof(s->usage), "realtime");
    s->lag_in_frames = 32;
    rx_settings_set_str(s->aom_params, sizeof(s->aom_params), reference_aom_params);
    s->preset = encoders[0].preset;
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
    /* Screen content is where frames repeat for minutes; elsewhere (camera
     * footage, games) a dropped frame would be rare and is not asked for. */
    return !strcmp(s->video_encoder, "libaom-av1") && strstr(s->aom_params, "tune-content=screen");
}

int rx_settings_set_encoder(RxSettings *s, const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(encoders) / sizeof(encoders[0]); i++)
        if (!strcmp(name, encoders[i].name))
            break;
    if (i == sizeof(encoders) / sizeof(encoders[0]))
        return AVERROR(EINVAL);
    /* Debian's FFmpeg has them all, but a libavcodec built without one must
     * be refused before any work starts, not fail once per file. */
    if (!avcodec_find_encoder_by_name(name))
        return AVERROR_ENCODER_NOT_FOUND;
    rx_settings_set_str(s->video_encoder, sizeof(s->video_encoder), name);
    s->crf = encoders[i].crf;
    s->cpu_used = encoders[i].cpu_used;
    s->preset = encoders[i].preset;
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

/* libaom's default crf 32 sits low in its range and libsvtav1's 40 (the
 * calibrated equivalent) eight higher: the ranges keep that offset. Below
 * 25 libaom's files grow fast for SSIM gains a viewer does not see; 55 is
 * where slide text still reads. */
void rx_settings_crf_range(const RxSettings *s, int *lo, int *hi)
{
    if (!strcmp(s->video_encoder, "libsvtav1")) {
        *lo = 32;
        *hi = 62;
    } else if (!strcmp(s->video_encoder, "librav1e")) {
        /* rav1e's quantizer, 0-255, around its calibrated 80: 61 values,
         * at most 6 probe encodes (the slowest encoder, alas) */
        *lo = 50;
        *hi = 110;
    } else { /* libaom-av1, and libvpx-vp9 whose crf 36 matches libaom's 32 */
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
    /* The later encoders' raw options, only when given: keys of the others
     * stay what they were. */
    if (n > 0 && (size_t)n < sizeof(all) && (s->rav1e_params[0] || s->vp9_params[0]))
        n += snprintf(all + n, sizeof(all) - (size_t)n, "|%s|%s", s->rav1e_params, s->vp9_params);
    uint32_t crc = av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX, (const uint8_t *)all,
                          n > 0 && (size_t)n < sizeof(all) ? (size_t)n : 0);

    snprintf(key, RX_TUNE_KEY_MAX, "ssim>=%.6f %.16s %08x", s->target_ssim, s->video_encoder,
             (unsigned)~crc);
}
