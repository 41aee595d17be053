/*
 * measure.h - picture quality of an output against its source.
 *
 * The output is judged as a viewer sees it: every source frame of the
 * measured spans is compared with the output frame on screen at that frame's
 * time, the last output frame whose timestamp is <= the source frame's
 * (+ RX_MEASURE_SLACK_US for WebM's millisecond rounding). Frames are matched
 * by time, never by index, so variable-frame-rate input and outputs whose
 * repeated frames were not encoded (duplicate elision: the previous frame is
 * shown longer) are judged on every source frame.
 *
 * Pictures are compared on the luma plane at the output's size: 8-bit luma
 * at that size is read as stored; anything else (another size, 10-bit, a
 * packed format) goes through swscale to 8-bit yuv420p first. SSIM is
 * FFmpeg's ssim filter's (x264's) formulation: 8x8 windows stepped by 4
 * pixels, built from 4x4 block sums, constants (0.01*255)^2 and
 * (0.03*255)^2; a frame's SSIM is the mean over its windows, so the figure
 * is the filter's "Y". PSNR is 10 log10(255^2 / MSE), the MSE averaged over
 * the compared frames (as the psnr filter's "average"), capped at
 * RX_PSNR_MAX for identical pictures.
 *
 * Calling sequence: rx_measure() (one call, both files opened and closed).
 * Thread-safety: no global state; several measures may run in parallel.
 */
#ifndef RX_MEASURE_H
#define RX_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/frame.h>

#define RX_PSNR_MAX         100.0 /* dB: identical pictures (x264's cap) */
#define RX_MEASURE_SLACK_US 2000  /* an output frame up to 2 ms late still counts */

typedef struct RxQuality {
    double ssim;     /* mean per-frame SSIM over the compared source frames, 0..1 */
    double ssim_min; /* the lowest per-frame SSIM */
    double psnr;     /* dB from the mean MSE, <= RX_PSNR_MAX */
    int64_t frames;  /* source frames compared */
} RxQuality;

/*
 * A stretch of media time to compare. src_us is a time in the source's own
 * video timestamps (the stream's, in microseconds, not counted from the
 * start); out_us is the same instant in the output, counted from its first
 * video frame. Source frames with src_us <= t < src_us + dur_us are compared.
 */
typedef struct RxSpan {
    int64_t src_us;
    int64_t out_us;
    int64_t dur_us;
} RxSpan;

typedef struct RxMeasureOptions {
    int threads;                    /* decoder threads; 0 = libavcodec's choice */
    int (*cancelled)(void *opaque); /* polled per packet; non-zero stops the measure */
    void *opaque;
    /* grid_us > 0, whole files only: compare at the instants 0, grid_us,
     * 2 grid_us ... (from each file's first frame) up to the source's end,
     * the source frame on screen at each against the output frame on
     * screen there, instead of at every source frame: every stretch of time
     * counts alike, however many frames the source has in it. */
    int64_t grid_us;
} RxMeasureOptions;

/*
 * Compare out with src over the n spans (seeking to each), or, with n == 0,
 * every frame (or, with opt->grid_us, every grid instant), both files' times
 * counted from their first decoded video frame. opt may be NULL. Fills *q
 * (frames: the comparisons made) and returns 0, or a negative AVERROR (q
 * zeroed): AVERROR_INVALIDDATA when a file has no decodable video or no
 * source frame fell in the spans, a picture smaller than 8x8, AVERROR_EXIT
 * when cancelled, AVERROR(EINVAL) for a grid with spans.
 */
int rx_measure(const char *src, const char *out, const RxSpan *spans, int n,
               const RxMeasureOptions *opt, RxQuality *q);

/*
 * The arithmetic on its own, for two w x h 8-bit planes (w, h >= 8): SSIM
 * as above into *ssim and the sum of squared differences into *sse.
 * Returns 0 or AVERROR(ENOMEM) / AVERROR(EINVAL).
 */
int rx_compare_planes(const uint8_t *a, ptrdiff_t a_stride, const uint8_t *b, ptrdiff_t b_stride,
                      int w, int h, double *ssim, double *sse);

/* PSNR in dB of 8-bit samples with that mean squared error, capped. */
double rx_psnr(double mse);

/*
 * The reader rx_measure() decodes each file with, on its own: the first video
 * stream of a file, one frame per call, damaged frames skipped as a player
 * would. rx_frame_reader_next() fills fr (unref it after) and *us with its
 * time in the stream's microseconds; returns 0, AVERROR_EOF after the last
 * frame, or another negative AVERROR. opt may be NULL.
 */
typedef struct RxFrameReader RxFrameReader;
int rx_frame_reader_open(RxFrameReader **out, const char *path, const RxMeasureOptions *opt);
int rx_frame_reader_next(RxFrameReader *r, AVFrame *fr, int64_t *us);
void rx_frame_reader_free(RxFrameReader **r);

#endif
