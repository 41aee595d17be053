/*
 * orient.h - turn and mirror pictures the way their display matrix says.
 *
 * A phone stores a portrait video as landscape pictures plus a display matrix
 * ("show this turned 90 degrees clockwise"). FFmpeg 5.1's WebM muxer drops
 * that matrix, so the turn is applied to the pixels instead: the frame stage
 * (vstage.h) passes every frame through rx_orient_frame().
 *
 * Only the eight turns and mirrors of a rectangle are supported (what
 * recorders write); any other angle would need resampling and is refused by
 * rx_orient_from_matrix(). The matrix is read the way FFmpeg's own autorotate
 * reads it (ffmpeg 7's fftools: a quarter turn as transpose plus flips,
 * mirrors from the signs of the diagonal).
 *
 * Calling sequence: rx_orient_from_matrix() once per stream, then
 * rx_orient_supported() for the picture format, then rx_orient_frame() per
 * frame. No state; thread-safe.
 */
#ifndef RX_ORIENT_H
#define RX_ORIENT_H

#include <stdint.h>

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

/* Output sample (x, y) is input sample (sx, sy), where (sx, sy) = (y, x) when
 * transpose is set, else (x, y); then sx = W - 1 - sx when hflip, and
 * sy = H - 1 - sy when vflip (W x H: the input's size). */
typedef struct RxOrient {
    int transpose; /* a quarter turn: the output is H x W */
    int hflip, vflip;
} RxOrient;

/*
 * The orientation matrix m (AV_PKT_DATA_DISPLAYMATRIX; NULL = none) asks for.
 * Returns 0 and sets *o, or AVERROR(ENOTSUP) when the matrix is not a turn by
 * a multiple of 90 degrees, with or without a mirror; then *cw_degrees is the
 * clockwise angle it shows (for the message), else the angle of *o.
 */
int rx_orient_from_matrix(const int32_t *m, RxOrient *o, int *cw_degrees);

/* 1 when o leaves pictures as they are. */
int rx_orient_is_identity(const RxOrient *o);

/* 1 when frames of fmt can be turned by o: planar, one component of 8 to 16
 * bits per plane, and, for a quarter turn, chroma subsampled alike in both
 * directions (4:2:2 would need resampling). */
int rx_orient_supported(enum AVPixelFormat fmt, const RxOrient *o);

/*
 * Turn in into out, which is unreferenced first and gets a fresh buffer (the
 * encoder or the duplicate detector may still hold the last one). out takes
 * in's properties (pts, ...), with the sample aspect ratio turned too and no
 * display matrix. Returns 0 or a negative AVERROR (AVERROR(ENOTSUP) when
 * !rx_orient_supported()).
 */
int rx_orient_frame(const RxOrient *o, const AVFrame *in, AVFrame *out);

#endif
