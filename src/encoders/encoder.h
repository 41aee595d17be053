/*
 * encoder.h - the video encoders reencode drives, one const RxEncoder each.
 *
 * Everything that differs between encoders is here, in one description per
 * encoder (libaom.c, svtav1.c, rav1e.c, vp9.c), chosen by name from one
 * table (encoders.c), as dav1d's tools/output/ chooses a const Muxer:
 * settings take its defaults and ranges, the command line the options it
 * owns, batch its memory, and the transcode job its checks, its input
 * adaptations and how its options are set. Adding an encoder is one file
 * and its line in the table (and, for new options, the help text).
 *
 * Calling sequence, per job (src/transcode/video.c): rx_encoder_find() ->
 * check_input() -> fill the encoder context (size, pixel format, colour) ->
 * adapt() -> time base, frame rate (needs_framerate), thread_count ->
 * apply() -> avcodec_open2(enc, codec, opts).
 *
 * Thread-safety: the descriptions are const; every op is safe in any thread.
 */
#ifndef RX_ENCODER_H
#define RX_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>

#include "reencode/settings.h"

/* The command-line options of some encoders only (RxCli.encoder_opts has a
 * bit per option): given with another encoder they would be silently
 * ignored, so the command line refuses them. rx_encoder_option_name(). */
typedef enum RxEncOpt {
    RX_EO_CPU_USED,
    RX_EO_USAGE,
    RX_EO_LAG,
    RX_EO_AOM_PARAMS,
    RX_EO_PRESET,
    RX_EO_SVTAV1_PARAMS,
    RX_EO_RAV1E_PARAMS,
    RX_EO_VP9_PARAMS,
    RX_EO_COUNT
} RxEncOpt;

#define RX_EO_BIT(o) (1u << (o))

typedef struct RxEncoder {
    /* libavcodec's encoder name: --video-encoder's value, RxSettings's
     * video_encoder. */
    const char *name;
    /* Calibrated defaults (settings.c's former table; the figures are in
     * each encoder's file): quality (crf, rav1e's quantizer) and speed
     * (libaom's and libvpx's cpu-used; SVT-AV1's and rav1e's preset). */
    int crf, cpu_used, preset;
    /* --crf accepted: crf_min..crf_max; --preset: 0..preset_max. */
    int crf_min, crf_max, preset_max;
    /* The crf range a --target-ssim search walks (rx_settings_crf_range):
     * about 31 values, so a binary search settles in 5 probe encodes. */
    int tune_lo, tune_hi;
    /* Memory to plan with per 1080p encode (the batch's job limit), MiB:
     * the encoder's peak measured, plus the decoder and queues. */
    int memory_mib;
    /* The encoder-only options it takes: RX_EO_BIT()s. */
    unsigned options;
    /* The option of its raw key=value string (RX_EO_*_PARAMS), or -1; and
     * the program that parses it, named in a refusal ("rav1e"). */
    int params_option;
    const char *params_owner;
    /* The full read-back (RX_VERIFY_FULL) instead of quick at crf this low
     * or lower; -1: never. */
    int full_verify_crf;
    /* SVT, rav1e and VP9 plan with a frame rate: set one when the input has
     * none (libaom works from timestamps alone). */
    int needs_framerate;

    /* Is duplicate-frame elision on by default (dedup auto) for s? On for
     * screen content, where frames repeat for minutes. NULL: never. */
    int (*dedup_default)(const RxSettings *s);
    /* s's raw key=value options for this encoder (--svtav1-params...), the
     * likely cause when it fails to open; NULL or "" for none to name. */
    const char *(*raw_params)(const RxSettings *s);
    /* Does every key=value of a raw params string parse as this encoder's?
     * 0, or AVERROR(EINVAL) with the first bad pair in bad. NULL: the
     * encoder's open checks them. */
    int (*params_check)(const char *params, char *bad, size_t size);
    /* Can the job encode input's picture (w x h) with s, or would the
     * encoder refuse or crash? 0, or a negative AVERROR with the refusal
     * (naming input) in msg. NULL: any. */
    int (*check_input)(const RxSettings *s, const char *input, int w, int h, char *msg,
                       size_t size);
    /* Change what is needed to keep the encoder clear of its known faults,
     * on the filled encoder context: its pixel format, or in params (in/out,
     * size bytes: the raw options to open with, s's own to start with). A
     * change is said in note (naming input), "" when none. NULL: none. */
    void (*adapt)(const RxSettings *s, const char *input, const AVCodec *codec, AVCodecContext *enc,
                  char *params, size_t size, char *note, size_t note_size);
    /* Add to *opts (and set in enc) what the job's settings mean for this
     * encoder: quality, speed, threads, keyframes; params as adapt() left
     * them. 0 or a negative AVERROR. */
    int (*apply)(const RxSettings *s, const char *params, AVCodecContext *enc, AVDictionary **opts);
} RxEncoder;

/* The encoder named name, or NULL when reencode does not drive it. */
const RxEncoder *rx_encoder_find(const char *name);

/* The encoders in the table's order (the first is the default); NULL past
 * the last. */
const RxEncoder *rx_encoder_at(size_t i);

/* The option's name without its dashes ("cpu-used"). */
const char *rx_encoder_option_name(RxEncOpt o);

/* Helpers the descriptions share. */

/* The job's keyframe interval in frames at the encoder's nominal rate
 * (RX_KEYINT_FALLBACK seconds under the keyframe policy). */
int64_t rx_encoder_keyint_frames(const RxSettings *s, const AVCodecContext *enc);

/* Pass each key=value of params to takes(); the first it refuses goes to
 * bad ("key=value", or the key alone with key_only), as does a string that
 * is not key=value:... at all. 0 or AVERROR(EINVAL). */
int rx_encoder_check_params(const char *params,
                            int (*takes)(void *ctx, const char *k, const char *v), void *ctx,
                            int key_only, char *bad, size_t size);

#endif
