/*
 * result.h - the per-file result record.
 *
 * One RxResult describes what happened to one input file. The transcode job
 * fills it; later stages (journal, verify, status) read and extend the same
 * record so that every report about a file speaks of the same fields.
 *
 * Plain data, no ownership: copy it freely.
 */
#ifndef RX_RESULT_H
#define RX_RESULT_H

#include <stdint.h>

/* Life cycle of one file in a batch. The order is the order of progress. */
typedef enum RxState {
    RX_STATE_PENDING = 0, /* found, not started */
    RX_STATE_STARTED,     /* encode under way (a crash leaves this) */
    RX_STATE_ENCODED,     /* output committed under its final name */
    RX_STATE_DONE,        /* output committed and original handled */
    RX_STATE_FAILED,      /* error, see RxResult.error */
    RX_STATE_SKIPPED,     /* output not worth keeping (not smaller) */
    RX_STATE_INTERRUPTED, /* cancelled by the user or a signal */
} RxState;

/* Error codes of our own, outside AVERROR's and errno's ranges. */
#define RX_ERR_CANCELLED   (-0x52584301) /* job cancelled by rx_transcode_cancel() */
#define RX_ERR_NOVIDEO     (-0x52584302) /* input has no decodable video stream */
#define RX_ERR_TRUNCATED   (-0x52584303) /* decodable part shorter than declared */
#define RX_ERR_CHANGED     (-0x52584304) /* input changed while being encoded */
#define RX_ERR_NOT_SMALLER (-0x52584305) /* output not enough smaller: original kept */
#define RX_ERR_BAD_OUTPUT  (-0x52584306) /* output failed the check before commit */
#define RX_ERR_LOW_QUALITY (-0x52584307) /* output measured below --min-ssim */
#define RX_ERR_CRASHED     (-0x52584308) /* the process crashed encoding it, alone, again */

#define RX_ERROR_MAX 512

typedef struct RxResult {
    RxState state;
    int err;                  /* 0, or the negative code of the failure */
    char error[RX_ERROR_MAX]; /* one line: what failed, on which file, why */

    int64_t in_bytes;  /* size of the input when the job started */
    int64_t out_bytes; /* size of the committed output */
    char out_hash[33]; /* its content hash as the journal's identity ("" unknown) */
    /* Length the input declares, from the index of its streams where the
     * container keeps one (MP4's moov, Matroska's header): the latest
     * declared end less the earliest start. A container that only estimates
     * its length (MPEG-TS, MPEG-PS: from timestamps near the end, or the bit
     * rate) declares nothing: then it is what the decode found. Until the
     * decode has ended (and after a failure before), the container's own
     * figure. */
    int64_t in_duration_us;
    /* How much of that index the decode did not reach: the most by which the
     * video or an audio track ends before its declared end (last frame's
     * time + its duration), less one frame of the video. 0 when whole, or
     * when nothing is declared. The truncated-recording check reads it. */
    int64_t in_short_us;
    int64_t video_duration_us;   /* span of the encoded video, incl. last frame */
    int64_t audio_duration_us;   /* span of the first encoded audio track */
    int64_t video_frames;        /* frames sent to the video encoder */
    int64_t video_frames_elided; /* decoded frames dropped as duplicates */
    int verified;                /* how the output was read back: RxVerify */
    int64_t decode_errors;       /* packets the decoders rejected (skipped) */
    int audio_tracks;            /* Opus tracks written */
    int width, height;           /* encoded picture size */
    double wall_seconds;         /* wall time of the job */

    /* Constant frame rate (--cfr, --fps): the output's rate, 0/0 when it
     * keeps the source's timing; output frames repeating the one before;
     * decoded frames that no output frame shows. */
    int fps_num, fps_den;
    int64_t video_frames_repeated;
    int64_t video_frames_dropped;
    /* Measured quality (measure.h), all 0 when not measured. */
    double ssim, ssim_min; /* mean and lowest per-frame SSIM (luma) */
    double psnr;           /* dB */
    int tuned_crf;         /* crf chosen for --target-ssim, 0 when none */
    int tune_probes;       /* probe encodes this job ran to choose it (0: known before) */
    char tuned_for[48];    /* rx_settings_tune_key() it was chosen under */
    /* What the job changed about the input to get it through (libaom's
     * limits: see src/encoders/libaom.c), one line naming the file; "" for nothing.
     * The caller shows it as a warning in the file's log. */
    char note[RX_ERROR_MAX];
} RxResult;

void rx_result_init(RxResult *r);

/* Stable lower-case name of a state ("done", "failed", ...); never NULL. */
const char *rx_state_name(RxState s);

/* What the state means to a person: "done" (also encoded: the output is
 * committed), "skipped", "failed", or "pending" (to do, or under way). */
const char *rx_state_status(RxState s);

/* How an output was read back (RxResult.verified, an RxVerify): "quick",
 * "full" or "no". The one spelling every JSON report uses. */
const char *rx_verified_name(int verified);

/* Human text for any code returned by reencode functions (ours, AVERROR,
 * negative errno). Writes into buf and returns it. */
const char *rx_strerror(int err, char *buf, size_t size);

#endif
