/*
 * transcode.h - re-encode one recording to AV1 + Opus in WebM, in process
 * (or VP9, copied audio, Matroska: see settings.h).
 *
 * A job demuxes the input, decodes its video stream and every audio track,
 * passes video frames through the frame stage (pixel-format conversion, the
 * display matrix's turn applied to the pixels, duplicate-frame elision),
 * encodes AV1 and Opus, and muxes WebM into "<output>.part" with the input's
 * tags (see set_metadata()), chapters and audio languages. Only after a
 * complete trailer and an fsync is the .part given the input's access and
 * modification times and renamed onto the output name (and the directory
 * fsynced), so a crash or an error never leaves a half-written file under the
 * final name. On failure or cancel the .part is removed.
 *
 * Calling sequence:
 *     rx_transcode_new() -> [rx_transcode_set_progress()] -> rx_transcode_run()
 *     -> rx_transcode_free()
 * A job runs once. rx_transcode_cancel() may be called from any thread (and
 * from a signal handler) while rx_transcode_run() is in progress.
 *
 * Thread-safety: a job has no global state; several jobs may run in parallel
 * threads. The only process-wide state is libav's log callback (see log.h).
 */
#ifndef RX_TRANSCODE_H
#define RX_TRANSCODE_H

#include <stdint.h>

#include "reencode/result.h"
#include "reencode/settings.h"

typedef struct RxTranscode RxTranscode;

typedef struct RxProgress {
    int64_t frames;   /* video frames sent to the encoder so far */
    int64_t media_us; /* media time done (video position from the start) */
    int64_t total_us; /* input duration, 0 when unknown */
    int64_t bytes;    /* output bytes written so far */
} RxProgress;

/* Called on the job's thread after each video frame; keep it cheap. */
typedef void (*RxProgressFn)(void *opaque, const RxProgress *p);

/*
 * Called on the job's thread when the output is complete and synced as
 * part_path, before it is renamed onto its final name. res holds the
 * figures of the encode (durations, sizes). Return 0 to publish, or a
 * negative code to discard the .part and fail the job with that code; the
 * hook then writes its one-line reason into res->error itself.
 */
typedef int (*RxCheckFn)(void *opaque, const char *part_path, RxResult *res);

/*
 * Create a job. input and output are copied; settings are copied by value.
 * output NULL means the input path with its extension replaced by ".webm"
 * (".mkv" when rx_settings_container() says Matroska); an output named .webm
 * or .mkv chooses that container when settings->container is AUTO.
 * Returns 0 and sets *out, or a negative code (AVERROR(ENOMEM),
 * AVERROR(EINVAL) when output would equal input).
 */
int rx_transcode_new(RxTranscode **out, const char *input, const char *output,
                     const RxSettings *settings);

/*
 * Create a job that encodes still images as one video, image k at k/fps
 * (settings->fps_num/fps_den, required), no audio: spec is a glob pattern,
 * one image, or a LIST file of paths (see src/transcode/imgseq.h); it is expanded
 * when the job runs. Every image is scaled to the first one's size. output
 * is required. Returns 0 and sets *out, or AVERROR(EINVAL) / AVERROR(ENOMEM).
 */
int rx_transcode_new_images(RxTranscode **out, const char *spec, const char *output,
                            const RxSettings *settings);

void rx_transcode_set_progress(RxTranscode *t, RxProgressFn fn, void *opaque);

void rx_transcode_set_check(RxTranscode *t, RxCheckFn fn, void *opaque);

/*
 * Measured quality (settings: measure, min_ssim, target_ssim). After
 * verify, before the check hook, the .part is compared with the input
 * (measure.h: five 1-second spans spread over the video, or all of a video
 * of 10 s or less) into res->ssim, ssim_min and psnr; below min_ssim the job
 * fails with RX_ERR_LOW_QUALITY and nothing is published.
 *
 * With target_ssim, before the encode, probe encodes choose the crf
 * (res->tuned_crf, res->tune_probes): the video of up to three 2-second
 * windows spread over the input, no audio, through the same frame stage and
 * encoder settings, written to the job's own .part (so a crash leaves
 * nothing but the .part a resume removes) and measured; the highest crf of
 * rx_settings_crf_range() whose worst window reaches the target wins. The
 * final output is measured too; one below the target is published all the
 * same (the target steers, --min-ssim guards).
 */

/* Called on the job's thread once the probes chose res->tuned_crf, before
 * the encode starts; res->tuned_for holds the key it was found under. */
typedef void (*RxTunedFn)(void *opaque, const RxResult *res);

void rx_transcode_set_tuned(RxTranscode *t, RxTunedFn fn, void *opaque);

/* A crf an earlier run chose for this input under the same tune key: with
 * target_ssim set, the job uses it and runs no probes. */
void rx_transcode_set_known_crf(RxTranscode *t, int crf);

/* Final output path of the job (owned by the job). */
const char *rx_transcode_output(const RxTranscode *t);

/*
 * Run the job to the end. Returns 0 when the output is committed, else a
 * negative code: RX_ERR_CANCELLED, AVERROR(EEXIST) when the output exists and
 * overwrite is off, AVERROR/errno codes otherwise. res (required) is filled
 * either way; on failure res->error names the file and the failing step.
 */
int rx_transcode_run(RxTranscode *t, RxResult *res);

/* Ask a running job to stop; it returns RX_ERR_CANCELLED within about a
 * second. Async-signal-safe (a single atomic store). */
void rx_transcode_cancel(RxTranscode *t);

/* Free the job and set *t to NULL. Accepts NULL and *t == NULL. */
void rx_transcode_free(RxTranscode **t);

#endif
