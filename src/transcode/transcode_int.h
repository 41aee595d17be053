/*
 * transcode_int.h - what the files of src/transcode/ share: the job
 * (struct RxTranscode), its video and audio paths, and the functions one
 * file calls in another. Private: include/reencode/transcode.h is the API.
 *
 * Data flow of a job, on two threads:
 *
 *   source thread                 |  job thread (the caller of rx_transcode_run)
 *   demux -> video decoder -------+-> vstage -> AV1 encoder ------------+
 *         -> audio decoder[i] ----+-> swr (48 kHz flt) -> FIFO          |
 *                   (frame queue) |      -> Opus encoder[i] ------------+-> WebM muxer
 *                                 |                                         -> <out>.part
 *
 * Decoding runs ahead of encoding by at most a few frames, so the decoder's
 * work overlaps the encoder's instead of adding to it.
 *
 * Timestamps are the input's own (best_effort_timestamp), never frame counts,
 * so variable-frame-rate recordings keep their timing. The video encoder runs
 * in the input stream's time base; audio runs in 1/48000 from the first
 * decoded audio sample, with gaps in the input filled with silence.
 *
 * Everything a job allocates hangs off its RxTranscode and is freed in
 * job_close(), whatever the exit path.
 *
 * Files, in the order of the pipeline: source.c (demux, decode thread),
 * video.c (frame stage, video encoder, keyframes), audio.c (resample,
 * Opus, copy), mux.c (the .part and the muxer), quality.c (measure and
 * the --target-ssim probes), job.c (the run, errors, the commit).
 */
#ifndef RX_TRANSCODE_INT_H
#define RX_TRANSCODE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libswresample/swresample.h>

#include "reencode/log.h"
#include "reencode/transcode.h"
#include "transcode/fqueue.h"
#include "transcode/opusenc.h"
#include "transcode/orient.h"
#include "transcode/vstage.h"

#define OPUS_RATE   RX_OPUS_RATE
#define OPUS_TB     ((AVRational){1, OPUS_RATE})
#define IO_BUF_SIZE (256 * 1024)
/* Frames (video and audio together) the decoder may run ahead. */
#define QUEUE_FRAMES 8
#define TAG_VIDEO    (-1) /* queue tag of video frames; audio: the track index */

typedef struct AudioPath {
    int in_index;
    int copy; /* --audio-codec copy: the input's packets, no decoder or encoder */
    AVStream *ost;
    AVCodecContext *dec;
    RxOpusEnc *opus;        /* libopus itself: FFmpeg 5.1's wrapper has no DTX */
    AVChannelLayout layout; /* what Opus takes (Vorbis order), swr's output */
    SwrContext *swr;
    AVChannelLayout swr_in_layout; /* what swr was configured for */
    int swr_in_rate;
    int swr_in_fmt;
    AVAudioFifo *fifo;
    float *pcm;        /* encoder input: RX_OPUS_FRAME samples, interleaved */
    uint8_t *conv;     /* swr output, interleaved float */
    int conv_cap;      /* in samples per channel */
    int64_t start_pts; /* first output sample, in 1/48000 (copy: first pts, input tb) */
    int64_t next_in;   /* expected pts of the next input frame, 1/in_rate (copy: end) */
    int64_t sent;      /* samples sent to the encoder (copy: packets) */
} AudioPath;

typedef struct VideoPath {
    int in_index;
    AVStream *ost;
    AVCodecContext *dec;
    AVCodecContext *enc;
    RxVStage *stage;
    int64_t first_pts;      /* of the first frame sent, enc time base */
    int64_t last_pts;       /* of the last frame stamped, output time (sent or elided) */
    int64_t last_end;       /* last_pts + its duration */
    int64_t last_kf;        /* pts of the last forced/first keyframe */
    int64_t since_kf;       /* frames sent from last_kf on, it included */
    int64_t sent_pts;       /* pts of the last frame sent to the encoder */
    int64_t keyint;         /* fixed keyframe interval in enc time base, 0 = off */
    int key_auto;           /* keyframes by the policy ("keyframes" below) */
    double key_budget;      /* policy: most decode work from one keyframe on */
    double key_work;        /* decode work sent from last_kf on (see key_cost) */
    double share;           /* rx_vstage_change() of the frame being sent, -1 unknown */
    int64_t key_max;        /* policy: longest time from one keyframe on, enc tb */
    int64_t key_scene;      /* policy: shortest time before a scene-change one, enc tb */
    int64_t key_scene_late; /* policy: a scene change after this is one, however little work */
    AVPacket *held;         /* one packet held back to learn its duration */
    /* The input's timing is tracked apart from the output's, in in_tb: with
     * a constant frame rate the encoder counts output frames (time base
     * 1/rate); else in_tb is the encoder's, and frames the output's
     * resolution would merge are moved apart (clear_of_last). */
    int cfr;
    int64_t tpf; /* encoder ticks per output frame: 1, or 1/rate's numerator when
                    rate < 1 fps (libaom wants a time base of at most 1 s) */
    AVRational in_tb;
    int64_t in_last, in_end; /* pts and end of the last input frame, in_tb */
    int64_t in_first;        /* --cfr: the first input frame's pts, in_tb: output time 0 */
} VideoPath;

struct RxTranscode {
    char *input; /* the file, or with images the LIST or GLOB */
    char *output;
    char *part;
    int images;   /* the source is still images (rx_transcode_new_images) */
    char **paths; /* the images, once expanded */
    size_t n_paths;
    RxSettings s;
    RxProgressFn progress_fn;
    void *progress_opaque;
    RxCheckFn check_fn;
    void *check_opaque;
    RxTunedFn tuned_fn;
    void *tuned_opaque;
    int known_crf; /* rx_transcode_set_known_crf(), 0 = search */
    atomic_int cancel;
    int ran;
    struct timespec in_times[2]; /* the input's atime and mtime, for the output */
    pthread_mutex_t err_lock;    /* res->error is written from both threads */

    /* Run state, all released by job_close(). */
    RxResult *res;
    RxFQueue *queue;
    pthread_t source;
    int source_started;
    AVFormatContext *ic;
    AVFormatContext *oc;
    AVIOContext *pb;
    int fd;
    int part_owned; /* t->part is ours (created or taken over under our lock) */
    int lock_fd;    /* a dup of fd that keeps the lock until the rename, or -1 */
    int64_t out_pos;
    int64_t out_size;
    int io_errno;
    VideoPath v;
    AudioPath *a;
    int na;
    /* Audio is encoded once the output's time origin is known (the first
     * video frame, with cfr); audio_shift (1/48000) is that origin. */
    int audio_ready;
    int64_t audio_shift;
    AVPacket *pkt;  /* source thread: demuxed packet */
    AVFrame *frame; /* source thread: decoded frame */
    AVPacket *epkt; /* job thread: encoded packet */

    /* A probe pass (--target-ssim) encodes the video of one window of the
     * input, [win_start, win_end) in the stream's microseconds, and no
     * audio, into the .part; nothing of it is published. */
    int probe;
    int64_t win_start, win_end;
};

_Static_assert(sizeof(((RxResult *)0)->tuned_for) == RX_TUNE_KEY_MAX, "tuned_for holds a key");

/*
 * Functions one file calls in another, by file. All take the job; those
 * returning int return 0 or a negative AVERROR, and have recorded the
 * failure with tc_fail() first (the first failure of a job is its error).
 */

/* job.c: errors, the run */
/* Record the job's first failure: "<fmt>: <why err>"; returns err. */
int tc_fail(RxTranscode *t, int err, const char *fmt, ...) RX_PRINTF(3, 4);
/* tc_fail() for a refusal whose message says all there is to say. */
int tc_refuse(RxTranscode *t, int err, const char *fmt, ...) RX_PRINTF(3, 4);
int tc_cancelled(const RxTranscode *t);
/* Add a line to res->note: what the job changed to get the input through. */
void tc_note(RxTranscode *t, const char *fmt, ...) RX_PRINTF(2, 3);
void tc_report_progress(RxTranscode *t);
int tc_open_streams(RxTranscode *t);
int tc_transcode_loop(RxTranscode *t);
int tc_flush_all(RxTranscode *t);
void tc_pass_close(RxTranscode *t);

/* source.c: the input and the source thread */
int tc_open_input(RxTranscode *t);
int tc_find_images(RxTranscode *t);
int tc_open_decoder(RxTranscode *t, AVStream *st, AVCodecContext **out);
int tc_start_source(RxTranscode *t);
void tc_stop_source(RxTranscode *t);
void tc_judge_length(RxTranscode *t);

/* video.c */
int tc_open_video(RxTranscode *t, AVStream *ist);
/* Returns 1 when a probe's window is done. */
int tc_encode_video_frame(RxTranscode *t, AVFrame *frame);
/* End of the video: flush the stage, the encoder and the held packet. */
int tc_flush_video(RxTranscode *t);

/* audio.c */
int tc_open_audio(RxTranscode *t, AVStream *ist, AudioPath *a);
int tc_open_audio_copy(RxTranscode *t, AVStream *ist, AudioPath *a);
int tc_mux_copied(RxTranscode *t, AudioPath *a, AVPacket *pkt);
int tc_process_audio_frame(RxTranscode *t, AudioPath *a, AVFrame *f);
/* End of an encoded track: flush its resampler, FIFO and encoder. */
int tc_flush_audio(RxTranscode *t, AudioPath *a);

/* mux.c */
int tc_open_output(RxTranscode *t);
int tc_write_header(RxTranscode *t);
/* Write pkt (in time base tb) to ost. */
int tc_mux(RxTranscode *t, AVPacket *pkt, AVRational tb, AVStream *ost);

/* quality.c */
int tc_measure_output(RxTranscode *t);
/* Open the input, output and streams of one pass (a probe or the encode). */
int tc_open_pass(RxTranscode *t);
int tc_tune_crf(RxTranscode *t);

#endif
