/*
 * vstage.h - the frame stage between the video decoder and the encoder.
 *
 * Every decoded frame passes here on its way to the encoder. Today the stage
 * adapts frames to what the encoder was opened with (pixel format and size,
 * through libswscale, only when they differ: a mid-stream resolution change
 * in a damaged recording must not reach the encoder). This is also where
 * duplicate-frame elision and constant-frame-rate output belong.
 *
 * One stage per job; not shared between threads.
 */
#ifndef RX_VSTAGE_H
#define RX_VSTAGE_H

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

typedef struct RxVStage RxVStage;

/* Create a stage whose output is width x height in fmt. */
int rx_vstage_new(RxVStage **out, int width, int height, enum AVPixelFormat fmt);

/*
 * Make in fit for the encoder. *out is in itself when it already fits, else a
 * frame owned by the stage and valid until the next call; timestamps and
 * colour properties are carried over. Returns 0 or a negative AVERROR.
 */
int rx_vstage_process(RxVStage *vs, AVFrame *in, AVFrame **out);

/* Number of frames that needed conversion (for reports and tests). */
int64_t rx_vstage_converted(const RxVStage *vs);

void rx_vstage_free(RxVStage **vs);

#endif
