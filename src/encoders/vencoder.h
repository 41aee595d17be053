/*
 * vencoder.h - the options reencode gives librav1e and libvpx-vp9.
 *
 * libaom-av1 and libsvtav1 are set up in transcode.c; these two encoders
 * came later and keep their quirks here: how each takes the job's thread
 * budget, its quality and speed settings, and what it makes of the forced
 * keyframes of reencode's --keyint rule.
 *
 * Calling sequence, per job: fill the encoder context (size, pixel format,
 * time base, frame rate, thread_count) -> rx_rav1e_options() or
 * rx_vp9_options() -> avcodec_open2(enc, codec, opts).
 * The parameter checks run before any job, on the command line's strings.
 *
 * Thread-safety: no state; any thread.
 */
#ifndef RX_VENCODER_H
#define RX_VENCODER_H

#include <stddef.h>

#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>

#include "reencode/settings.h"

/* Set enc's fields and add to *opts what librav1e needs for s. Returns 0 or
 * a negative AVERROR (ENOMEM, or EINVAL for a malformed rav1e_params). */
int rx_rav1e_options(const RxSettings *s, AVCodecContext *enc, AVDictionary **opts);

/* The same for libvpx-vp9. */
int rx_vp9_options(const RxSettings *s, AVCodecContext *enc, AVDictionary **opts);

/* Is every key=value of a --rav1e-params string one rav1e takes? Asks
 * rav1e's own parser (FFmpeg 5.1's wrapper only warns about a bad pair and
 * encodes without it). Returns 0, or AVERROR(EINVAL) with the first bad
 * pair (or the malformed string) in bad. */
int rx_rav1e_params_check(const char *params, char *bad, size_t size);

/* Is every key of a --vp9-params string an option of FFmpeg's libvpx-vp9
 * encoder? Values are checked when the encoder opens. Same returns. */
int rx_vp9_params_check(const char *params, char *bad, size_t size);

#endif
