/*
 * settings.h - encoder settings of one transcode job.
 *
 * Defaults are the reference settings of the original tool (libaom realtime,
 * crf 32, screen-content aom-params, Opus voip 32 kb/s) plus a keyframe every
 * 10 s. libsvtav1 is offered too, with a crf and preset calibrated to match
 * the reference's quality and size (rx_settings_set_encoder()), and so are
 * librav1e (AV1) and libvpx-vp9 (VP9). Audio is Opus, or the input's own
 * packets copied; the container WebM, or Matroska where WebM cannot hold
 * the streams (RxContainer). Strings are
 * held in fixed arrays so a settings struct can be copied by value into each
 * job with no ownership questions.
 */
#ifndef RX_SETTINGS_H
#define RX_SETTINGS_H

#include <stdint.h>

/* How an output is read back before it takes its final name (src/transcode/job.c). */
typedef enum RxVerify {
    RX_VERIFY_OFF = 0,   /* not at all */
    RX_VERIFY_QUICK = 1, /* streams, and every frame from the last keyframe to the end */
    RX_VERIFY_FULL = 2,  /* every frame */
} RxVerify;

/* The output's container. */
typedef enum RxContainer {
    RX_CONTAINER_AUTO = 0, /* WebM, or Matroska when the audio is copied */
    RX_CONTAINER_WEBM = 1, /* VP8/VP9/AV1 video, Vorbis/Opus audio only */
    RX_CONTAINER_MKV = 2,  /* Matroska: holds any codec reencode writes or copies */
} RxContainer;

/* When libopus may stop sending frames (discontinuous transmission; see
 * src/transcode/opusenc.h for why the default is digital silence only). */
typedef enum RxOpusDtx {
    RX_OPUS_DTX_OFF,     /* never: the packets of FFmpeg's libopus wrapper */
    RX_OPUS_DTX_SILENCE, /* in digital silence only */
    RX_OPUS_DTX_ALWAYS,  /* whenever libopus's voice detector hears none (the default) */
} RxOpusDtx;

/* keyint_seconds: keyframes at scene changes and by decode work (see
 * src/transcode/video.c, "Keyframes"), not by a fixed cadence. rav1e,
 * which cannot be made to place one, gets RX_KEYINT_FALLBACK seconds. */
#define RX_KEYINT_AUTO     (-1.0)
#define RX_KEYINT_FALLBACK 10.0

typedef struct RxSettings {
    char video_encoder[32]; /* libavcodec encoder name: "libaom-av1" | "libsvtav1" |
                               "librav1e" | "libvpx-vp9" */
    int crf;                /* constant quality, per encoder: libaom 0..63 [32], libsvtav1
                               1..63 [40], librav1e 0..255 (its quantizer) [80], libvpx-vp9
                               0..63 [36] */
    int cpu_used;           /* libaom speed 0..8 [5]; libvpx-vp9 cpu-used 0..8 [2] */
    char usage[16];         /* "realtime" | "good" | "allintra" */
    int lag_in_frames;      /* 32 (no effect with usage=realtime) */
    char aom_params[512];   /* key=value:key=value, libaom spelling */
    int preset;             /* libsvtav1 speed 0..13 [12]; librav1e speed 0..10 [8] */
    char svt_params[512];   /* --svtav1-params: key=value:..., SVT-AV1 spelling */
    char rav1e_params[256]; /* --rav1e-params: key=value:..., rav1e's spelling */
    char vp9_params[256];   /* --vp9-params: key=value:..., FFmpeg's libvpx-vp9 options */
    int threads;            /* thread budget of the job; 0 = all cores */
    double keyint_seconds;  /* RX_KEYINT_AUTO, or a keyframe at least this often
                               by time (0 = never: left to the encoder) */

    int audio_copy;            /* 1: the input's audio packets as they are, no Opus */
    int container;             /* RxContainer, RX_CONTAINER_AUTO */
    int64_t audio_bitrate;     /* bits/s per Opus track, 32000 */
    char opus_application[16]; /* "voip" | "audio" | "lowdelay" */
    int opus_dtx;              /* RxOpusDtx: when Opus may stop sending frames */

    int overwrite; /* replace an existing output (never by default) */

    /* Duplicate-frame elision (see src/transcode/vstage.h): -1 auto = on for libaom
     * tuned for screen content (the default aom-params), 0 off, 1 on. */
    int dedup;
    int dedup_max_diff; /* 8-bit levels a sample may differ and still be a duplicate, 10 */
    int verify;         /* RxVerify, RX_VERIFY_QUICK */

    /* Constant frame rate (src/transcode/vstage.h): 0 keeps the source's timing; 1
     * retimes to fps_num/fps_den, or with fps_num 0 to the source's nominal
     * rate (--cfr). Turns duplicate elision off: frame k must be at k/fps. */
    int cfr;
    int fps_num, fps_den; /* --fps; 0 = the source's nominal rate */
    /* Measured quality (src/check/measure.c), see transcode.h. */
    int measure;        /* measure SSIM/PSNR of the output before it takes its name, 0 */
    double min_ssim;    /* > 0: an output measuring below is not published (measures), 0 */
    double target_ssim; /* > 0: crf chosen by probe encodes to reach this SSIM (measures), 0 */
} RxSettings;

/* Fill s with the reference defaults. */
void rx_settings_default(RxSettings *s);

/* Choose the video encoder (see video_encoder) and reset crf, cpu_used and
 * preset to that encoder's defaults (set explicit values afterwards). Returns
 * 0, AVERROR(EINVAL) for a name reencode does not drive, or
 * AVERROR_ENCODER_NOT_FOUND when this libavcodec was built without it; s is
 * unchanged on error. */
int rx_settings_set_encoder(RxSettings *s, const char *name);

/* Copy src into a fixed settings field; returns 0 or AVERROR(EINVAL) when it
 * does not fit (so a too-long value is an error, never silently cut). */
int rx_settings_set_str(char *dst, size_t size, const char *src);

/* Resolve dedup == -1: 1 when frames alike to the last kept one are dropped;
 * always 0 with cfr. */
int rx_settings_dedup(const RxSettings *s);

/* Resolve container == RX_CONTAINER_AUTO: WebM, or Matroska when audio is
 * copied (the input's audio may be AAC, which WebM cannot hold, and the
 * output's name must not depend on each input). Never AUTO. */
RxContainer rx_settings_container(const RxSettings *s);

/* The output's extension for a container (".webm", ".mkv"), and the
 * container an output name asks for by its extension (case-insensitive), or
 * RX_CONTAINER_AUTO when it names neither. */
const char *rx_container_ext(RxContainer c);
RxContainer rx_container_of_name(const char *path);
/* Does the job measure its output? (--measure, --min-ssim, --target-ssim) */
int rx_settings_measures(const RxSettings *s);

/* The crf range a --target-ssim search walks for s's encoder: 31 values,
 * so a binary search settles in at most 5 probe encodes. */
void rx_settings_crf_range(const RxSettings *s, int *lo, int *hi);

#define RX_TUNE_KEY_MAX 48

/* What a crf found for --target-ssim depends on: the target, the encoder and
 * a checksum of every setting that changes the pictures (not crf, threads,
 * verify or the audio). A cached crf is reused only under the same key.
 * Writes "ssim>=0.980000 libaom-av1 1a2b3c4d" into key. */
void rx_settings_tune_key(const RxSettings *s, char key[RX_TUNE_KEY_MAX]);

/* Resolve threads == 0 to the number of online cores. */
int rx_settings_threads(const RxSettings *s);

#endif
