/*
 * verify.h - read a WebM back and judge whether it is whole.
 *
 * One read-back serves two callers: the transcode job, which checks its
 * .part before it may take the final name (--verify), and `reencode verify`,
 * which re-checks committed outputs later against what the journal recorded.
 * The request says how deep to read and what to expect; the report says what
 * was found and, for the first problem, one line naming the file.
 *
 *   quick: open, check the streams, seek near the end (to a frame the caller
 *          names, or a few seconds before the declared end) and decode from
 *          there to the end;
 *   full:  decode every packet of every video and audio stream.
 * Both read every packet from where they start to the end of the file, so
 * the ends of all streams and the order of their timestamps are known.
 *
 * Calling sequence: rx_verify_request_init(&rq); set path, mode and what is
 * expected; rx_verify_file(&rq, &rep).
 *
 * Thread-safety: no state; any number of read-backs may run in parallel.
 */
#ifndef RX_VERIFY_H
#define RX_VERIFY_H

#include <stdatomic.h>
#include <stdint.h>

#include <libavutil/rational.h>

#include "reencode/result.h"

/* What was wrong first, in the order of the checks. */
typedef enum RxVerifyFault {
    RX_VFAULT_NONE = 0,
    RX_VFAULT_OPEN,      /* cannot open it or read its headers (rep.err) */
    RX_VFAULT_STREAMS,   /* not the streams expected */
    RX_VFAULT_READ,      /* the demuxer failed part-way (rep.err) */
    RX_VFAULT_DECODE,    /* damaged frames, or not the number of frames expected */
    RX_VFAULT_END,       /* the last video frame is not at the time expected */
    RX_VFAULT_ORDER,     /* a timestamp before the one before it, or a video one equal */
    RX_VFAULT_SHORT,     /* the streams end well before the declared duration */
    RX_VFAULT_DURATION,  /* a stream's duration is not the one expected */
    RX_VFAULT_CANCELLED, /* *cancel was set */
} RxVerifyFault;

#define RX_VERIFY_UNCHECKED (-1) /* an int64 expectation not to check */

typedef struct RxVerifyRequest {
    const char *path;
    int mode;    /* RX_VERIFY_QUICK or RX_VERIFY_FULL (settings.h) */
    int threads; /* decoder threads; 0 = libavcodec's choice */
    /* Streams: audio_tracks >= 0 wants exactly one video stream and that
     * many audio streams, nothing else; -1 wants a video stream. */
    int audio_tracks;
    /* quick: decode from the frame at `from` (in from_tb, counted from the
     * video stream's start); AV_NOPTS_VALUE: from a few seconds before the
     * declared end. When the file cannot seek, quick reads it all (full). */
    int64_t from;
    AVRational from_tb;
    int64_t frames;      /* video frames in the whole file (full) */
    int64_t frames_from; /* video frames at or after `from` (quick) */
    int64_t last_us;     /* time of the last video packet after the stream's start, +-2 ms */
    int64_t video_us;    /* durations: last end - stream start, within */
    int64_t audio_us;    /*   max(50 ms, 0.1 %); audio = the first track; a last video
                            frame without a duration may end anywhere up to an interval
                            after its packet */
    atomic_int *cancel;  /* may be NULL; only read: per packet and during I/O */
} RxVerifyRequest;

typedef struct RxVerifyReport {
    int mode;                 /* how it was read: quick, or full (asked, or quick could not seek) */
    RxVerifyFault fault;      /* RX_VFAULT_NONE: good */
    int err;                  /* libav code of an open or read failure, else 0 */
    char error[RX_ERROR_MAX]; /* the first problem, one line naming the file; "" if none */
    int streams;              /* streams in the file */
    int audio_streams;
    int64_t frames;      /* video frames decoded (quick after a seek: those at or after `from`) */
    int64_t frames_want; /* how many were expected there, -1 unchecked */
    int64_t damaged;     /* packets refused or frames flagged by the decoders */
    int64_t disorder;    /* frames or packets whose timestamp goes back */
    int64_t ties;        /* video packets at the time of the one before */
    int64_t declared_us; /* duration the container declares, 0 if none */
    int64_t end_us;      /* where the last packet of any stream ends, from the file's start */
    int64_t last_us;     /* time of the last video packet after the video stream's start */
    int64_t video_us;    /* end of the video after its start (a last frame without a
                            duration lasting as long as the one before); -1 unknown */
    int64_t audio_us;    /* same, first audio stream; -1 unknown or none */
} RxVerifyReport;

/* Everything unchecked: mode full, audio_tracks -1, expectations -1, from
 * AV_NOPTS_VALUE. */
void rx_verify_request_init(RxVerifyRequest *rq);

/*
 * Read rq->path back as rq asks and fill rep (always). Returns 0 when the
 * file is good, RX_ERR_BAD_OUTPUT when it is not (rep->fault, rep->error say
 * why), RX_ERR_CANCELLED, or AVERROR(ENOMEM).
 */
int rx_verify_file(const RxVerifyRequest *rq, RxVerifyReport *rep);

#endif
