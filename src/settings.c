/*
 * settings.c - reference defaults of a transcode job.
 */
#include <string.h>

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

void rx_settings_default(RxSettings *s)
{
    memset(s, 0, sizeof(*s));
    rx_settings_set_str(s->video_encoder, sizeof(s->video_encoder), "libaom-av1");
    s->crf = 32;
    s->cpu_used = 5;
    rx_settings_set_str(s->usage, sizeof(s->usage), "realtime");
    s->lag_in_frames = 32;
    rx_settings_set_str(s->aom_params, sizeof(s->aom_params), reference_aom_params);
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
    if (s->dedup >= 0)
        return s->dedup;
    /* Screen content is where frames repeat for minutes; elsewhere (camera
     * footage, games) a dropped frame would be rare and is not asked for. */
    return !strcmp(s->video_encoder, "libaom-av1") && strstr(s->aom_params, "tune-content=screen");
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
