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
 * With a rate set (--cfr, --fps), the stage retimes instead of eliding: output
 * frame k belongs at time t0 + k / rate, t0 being the first frame's pts, and
 * shows the source frame on screen at that instant: the latest one whose pts
 * is <= t0 + k / rate (+ 1 ms, or a quarter of an output interval when that is
 * less, so that sources whose timestamps are rounded to the millisecond, as
 * WebM and MKV ones are, do not lose a frame to the rounding). So source
 * frames are repeated or dropped by time, never by count; a repeated frame
 * is a new reference to the same picture, not a copy. The output has
 * ceil((end - t0 - tolerance) * rate) frames, at least one, where end is the
 * last frame's pts + duration: its length is the source's, rounded up to a
 * whole output frame.
 *
 * One stage per job; not shared between threads.
 */
#ifndef RX_VSTAGE_H
#define RX_VSTAGE_H

#include <stdint.h>

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <libavutil/rational.h>

#include "transcode/orient.h"

typedef struct RxVStageConfig {
    int width, height; /* the encoder's picture */
    enum AVPixelFormat fmt;
    int dedup;        /* 1: drop frames alike to the last kept one */
    int max_diff;     /* see above; 8-bit levels, 0 = identical frames only. The
                         default, 10, is above the noise of a high-bitrate H.264
                         encode of a static screen (1-2 levels, measured) and far
                         below any visible edit (100+). */
    int scene;        /* with dedup: measure how much of the picture each kept frame
                         changed (rx_vstage_change), for keyframes at scene changes */
    AVRational rate;  /* > 0: constant-frame-rate output (rx_vstage_send/receive) */
    AVRational in_tb; /* with rate: time base of the pts of the frames sent */

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
 * With cfg.scene: the share (0..1) of the picture that the frame the last
 * rx_vstage_process() kept changed against the frame kept before it (see
 * rx_frames_changed); -1 when nothing was measured (the first frame, a
 * dropped frame, scene off).
 */
double rx_vstage_change(const RxVStage *vs);

/*
 * At the end of the stream, call until it returns 0: when the last frames were
 * dropped, it hands out the last two of them in order (owned by the stage), to
 * be encoded so the video keeps its full length. Two, because WebM stores no
 * duration for video frames: readers take the last frame's from the interval
 * before it, which must then be a real frame interval.
 */
int rx_vstage_flush(RxVStage *vs, AVFrame **out);

/*
 * Constant-frame-rate mode (cfg.rate set; rx_vstage_process/flush are not
 * used). Send each frame (pts in cfg.in_tb, pkt_duration set, pts strictly
 * increasing), then call rx_vstage_receive() until it returns 0; at the end
 * send NULL and receive the rest. The frame is referenced, not taken: the
 * caller still owns and frees it. Returns 0, AVERROR(EAGAIN) when frames
 * are waiting to be received, or another negative AVERROR.
 */
int rx_vstage_send(RxVStage *vs, AVFrame *in);

/*
 * Returns 1 with *out the next output frame: pts = its index k (time base
 * 1 / cfg.rate), pkt_duration 1, owned by the stage and valid until the next
 * call; 0 with *out NULL when more input (or the end) must be sent first, or
 * when everything is out. Negative AVERROR on failure.
 */
int rx_vstage_receive(RxVStage *vs, AVFrame **out);

/* Frames that needed conversion, and frames dropped: as duplicates, or with a
 * rate, because another frame took their output slot (for reports and tests). */
int64_t rx_vstage_converted(const RxVStage *vs);
int64_t rx_vstage_dropped(const RxVStage *vs);
/* With a rate: output frames that repeat the one before. */
int64_t rx_vstage_repeated(const RxVStage *vs);

/*
 * The source's nominal frame rate, which --cfr keeps: the stream's
 * r_frame_rate (libavformat's guess at the base rate on which the
 * timestamps lie) when it is a plausible one (1 to 240 fps, not below the
 * average rate); else avg_frame_rate (frames / duration: irregular
 * timestamps, where libavformat reports the time base instead, keep their
 * frame count); else 30. A rate within 0.1 % of a common one (24000/1001,
 * 24, 25, 30000/1001, 30, 50, 60000/1001, 60, 120, 144, 240) becomes it.
 */
AVRational rx_nominal_rate(AVRational r_frame_rate, AVRational avg_frame_rate);

void rx_vstage_free(RxVStage **vs);

/*
 * 1 when a and b (same size and format, planar YUV of 8 to 16 bits) look the
 * same under max_diff as described above, else 0. Exposed for tests.
 */
int rx_frames_alike(const AVFrame *a, const AVFrame *b, int max_diff);

/*
 * The share (0..1) of 16x16 luma blocks whose mean absolute difference
 * between a and b is over 3 levels (8-bit units; rows sampled every other
 * line): a new slide or a window switch changes most of them, typing, a
 * pointer or a video in a window a part. -1 when a and b cannot be compared
 * (formats or sizes differ, not planar YUV of 8 to 16 bits).
 */
double rx_frames_changed(const AVFrame *a, const AVFrame *b);

#endif
