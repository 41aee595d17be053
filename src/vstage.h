/*
 * vstage.h - the frame stage between the video decoder and the encoder.
 *
 * Every decoded frame passes here on its way to the encoder. The stage
 *  1. adapts it to what the encoder was opened with (pixel format and size,
 *     through libswscale, only when they differ: a mid-stream resolution
 *     change in a damaged recording must not reach the encoder);
 *  2. turns it upright when the input's display matrix says so (orient.h:
 *     WebM output cannot carry the matrix);
 *  3. when duplicate elision is on, drops it if it looks the same as the last
 *     frame that went to the encoder. The dropped frame costs nothing: in
 *     variable-frame-rate WebM the previous frame simply stays up longer.
 *
 * "Looks the same" (rx_frames_alike): no sample of any plane differs by more
 * than max_diff, and no 8x8 block's mean absolute difference exceeds
 * max_diff / 5 (levels in 8-bit units, scaled for deeper formats). The first
 * bound keeps every sharp change, however small (a blinking 2-pixel cursor, one
 * typed character, a mouse pointer); the second keeps faint changes over an
 * area (a fade, a dimmed dialog background). Frames are compared with the last
 * frame KEPT, not the previous frame, so slow drift cannot accumulate: what a
 * viewer sees never differs from the source by more than those bounds.
 *
 * This is also where constant-frame-rate output belongs.
 *
 * One stage per job; not shared between threads.
 */
#ifndef RX_VSTAGE_H
#define RX_VSTAGE_H

#include <stdint.h>

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#include "orient.h"

typedef struct RxVStageConfig {
    int width, height; /* the encoder's picture */
    enum AVPixelFormat fmt;
    int dedup;    /* 1: drop frames alike to the last kept one */
    int max_diff; /* see above; 8-bit levels, 0 = identical frames only. The
                     default, 10, is above the noise of a high-bitrate H.264
                     encode of a static screen (1-2 levels, measured) and far
                     below any visible edit (100+). */

    /* The turn applied after the conversion to fmt (it must suit fmt); width
     * and height above are the picture turned. */
    RxOrient orient;
} RxVStageConfig;

typedef struct RxVStage RxVStage;

int rx_vstage_new(RxVStage **out, const RxVStageConfig *cfg);

/*
 * Pass in (with its pts and pkt_duration set) through the stage. Returns 1
 * with *out the frame to encode: in itself when it already fits, else a frame
 * owned by the stage, valid until the next call. Returns 0 with *out NULL
 * when the frame was dropped as a duplicate; keep != 0 forbids that (a
 * keyframe is due). Negative AVERROR on failure.
 */
int rx_vstage_process(RxVStage *vs, AVFrame *in, int keep, AVFrame **out);

/*
 * At the end of the stream, call until it returns 0: when the last frames were
 * dropped, it hands out the last two of them in order (owned by the stage), to
 * be encoded so the video keeps its full length. Two, because WebM stores no
 * duration for video frames: readers take the last frame's from the interval
 * before it, which must then be a real frame interval.
 */
int rx_vstage_flush(RxVStage *vs, AVFrame **out);

/* Frames that needed conversion, and frames dropped (for reports and tests). */
int64_t rx_vstage_converted(const RxVStage *vs);
int64_t rx_vstage_dropped(const RxVStage *vs);

void rx_vstage_free(RxVStage **vs);

/*
 * 1 when a and b (same size and format, planar YUV of 8 to 16 bits) look the
 * same under max_diff as described above, else 0. Exposed for tests.
 */
int rx_frames_alike(const AVFrame *a, const AVFrame *b, int max_diff);

#endif
