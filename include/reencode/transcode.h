/*
 * transcode.h - re-encode one recording to AV1 + Opus in WebM, in process
 * (or VP9, copied audio, Matroska: see settings.h).
 *
 * A job demuxes the input, decodes its video stream and every audio track,
 * passes video frames through the frame stage (pixel-format conversion now;
 * duplicate-frame elision and rate conversion later), encodes AV1 and Opus,
 * and muxes WebM into "<output>.part". Only after a complete trailer and an
 * fsync is the .part renamed onto the output name (and the directory fsynced),
 * so a crash or an error never leaves a half-written file under the final
 * name. On failure or cancel the .part is removed.
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

void rx_transcode_set_progress(RxTranscode *t, RxProgressFn fn, void *opaque);

void rx_transcode_set_check(RxTranscode *t, RxCheckFn fn, void *opaque);

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
