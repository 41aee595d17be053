/*
 * transcode.c - one recording to AV1 + Opus WebM, in process (see transcode.h).
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
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/avstring.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>

#include "reencode/log.h"
#include "reencode/measure.h"
#include "reencode/transcode.h"
#include "reencode/verify.h"
#include "core/fsutil.h"
#include "encoders/vencoder.h"
#include "journal/crash.h"
#include "transcode/fqueue.h"
#include "transcode/imgseq.h"
#include "transcode/opusenc.h"
#include "transcode/orient.h"
#include "transcode/vstage.h"
#include "version.h"

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

/* Record the first failure of the job as one line: "<what>: <why>". Later
 * failures (usually consequences of the first) are not reported over it. */
static int vfail(RxTranscode *t, int err, int why_too, const char *fmt, va_list ap)
{
    RxResult *r = t->res;
    char why[256];
    size_t n;

    pthread_mutex_lock(&t->err_lock);
    if (r->err) {
        pthread_mutex_unlock(&t->err_lock);
        return err;
    }
    r->err = err;
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    n = strlen(r->error);
    /* Those two messages say all there is to say. */
    if (why_too && err != RX_ERR_CANCELLED && err != RX_ERR_LOW_QUALITY && n < sizeof(r->error))
        snprintf(r->error + n, sizeof(r->error) - n, ": %s", rx_strerror(err, why, sizeof(why)));
    pthread_mutex_unlock(&t->err_lock);
    return err;
}

static int fail(RxTranscode *t, int err, const char *fmt, ...) RX_PRINTF(3, 4);

static int fail(RxTranscode *t, int err, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = vfail(t, err, 1, fmt, ap);
    va_end(ap);
    return ret;
}

/* fail() for a refusal whose message says all there is to say. */
static int refuse(RxTranscode *t, int err, const char *fmt, ...) RX_PRINTF(3, 4);

static int refuse(RxTranscode *t, int err, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = vfail(t, err, 0, fmt, ap);
    va_end(ap);
    return ret;
}

static int cancelled(const RxTranscode *t)
{
    return atomic_load_explicit(&t->cancel, memory_order_relaxed);
}

/* Called by libav during blocking I/O of the demuxer. */
static int interrupt_cb(void *opaque)
{
    return cancelled(opaque);
}

/* ---- output file: our own fd under AVIO, so we can fsync and name errors */

static int io_write(void *opaque, uint8_t *buf, int size)
{
    RxTranscode *t = opaque;
    int done = 0;

    while (done < size) {
        ssize_t n = pwrite(t->fd, buf + done, (size_t)(size - done), t->out_pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            t->io_errno = errno;
            return AVERROR(errno);
        }
        done += (int)n;
        t->out_pos += n;
    }
    if (t->out_pos > t->out_size)
        t->out_size = t->out_pos;
    return size;
}

static int64_t io_seek(void *opaque, int64_t offset, int whence)
{
    RxTranscode *t = opaque;

    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
        return t->out_size;
    case SEEK_SET:
        break;
    case SEEK_CUR:
        offset += t->out_pos;
        break;
    case SEEK_END:
        offset += t->out_size;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if (offset < 0)
        return AVERROR(EINVAL);
    t->out_pos = offset;
    return offset;
}

/* ---- job creation */

static char *default_output(const char *input, const char *ext)
{
    const char *slash = strrchr(input, '/');
    const char *dot = strrchr(input, '.');
    size_t stem = (dot && (!slash || dot > slash + 1)) ? (size_t)(dot - input) : strlen(input);

    return av_asprintf("%.*s%s", (int)stem, input, ext);
}

int rx_transcode_new(RxTranscode **out, const char *input, const char *output,
                     const RxSettings *settings)
{
    RxTranscode *t;
    int ret = AVERROR(ENOMEM);

    *out = NULL;
    t = av_mallocz(sizeof(*t));
    if (!t)
        return AVERROR(ENOMEM);
    t->fd = -1;
    t->lock_fd = -1;
    t->s = *settings;
    /* An output named .webm or .mkv names its container, unless one was
     * given (the command line refuses a contradiction). */
    if (t->s.container == RX_CONTAINER_AUTO && output)
        t->s.container = rx_container_of_name(output);
    atomic_init(&t->cancel, 0);
    pthread_mutex_init(&t->err_lock, NULL);
    t->input = av_strdup(input);
    t->output = output ? av_strdup(output)
                       : default_output(input, rx_container_ext(rx_settings_container(&t->s)));
    if (!t->input || !t->output)
        goto fail;
    t->part = av_asprintf("%s.part", t->output);
    if (!t->part)
        goto fail;
    if (!strcmp(t->input, t->output)) {
        ret = AVERROR(EINVAL);
        goto fail;
    }
    *out = t;
    return 0;
fail:
    rx_transcode_free(&t);
    return ret;
}

int rx_transcode_new_images(RxTranscode **out, const char *spec, const char *output,
                            const RxSettings *settings)
{
    int ret;

    *out = NULL;
    if (!output || settings->fps_num <= 0 || settings->fps_den <= 0)
        return AVERROR(EINVAL);
    ret = rx_transcode_new(out, spec, output, settings);
    if (ret < 0)
        return ret;
    (*out)->images = 1;
    (*out)->s.cfr = 1;
    return 0;
}

void rx_transcode_set_progress(RxTranscode *t, RxProgressFn fn, void *opaque)
{
    t->progress_fn = fn;
    t->progress_opaque = opaque;
}

void rx_transcode_set_check(RxTranscode *t, RxCheckFn fn, void *opaque)
{
    t->check_fn = fn;
    t->check_opaque = opaque;
}

void rx_transcode_set_tuned(RxTranscode *t, RxTunedFn fn, void *opaque)
{
    t->tuned_fn = fn;
    t->tuned_opaque = opaque;
}

void rx_transcode_set_known_crf(RxTranscode *t, int crf)
{
    t->known_crf = crf;
}

const char *rx_transcode_output(const RxTranscode *t)
{
    return t->output;
}

void rx_transcode_cancel(RxTranscode *t)
{
    atomic_store_explicit(&t->cancel, 1, memory_order_relaxed);
}

/* ---- input */

/* The input file; with images, the first image (its picture sets the
 * encoder's size), and the expected duration is that of the series. */
static int open_input(RxTranscode *t)
{
    const char *path = t->images ? t->paths[0] : t->input;
    int ret;

    t->ic = avformat_alloc_context();
    if (!t->ic)
        return fail(t, AVERROR(ENOMEM), "cannot open '%s'", path);
    /* Must be set before opening: it is what lets cancel interrupt I/O. */
    t->ic->interrupt_callback.callback = interrupt_cb;
    t->ic->interrupt_callback.opaque = t;
    ret = avformat_open_input(&t->ic, path, NULL, NULL);
    if (ret < 0) /* avformat_open_input frees ic on failure */
        return fail(t, cancelled(t) ? RX_ERR_CANCELLED : ret, "cannot open '%s'", path);
    ret = avformat_find_stream_info(t->ic, NULL);
    if (ret < 0)
        return fail(t, cancelled(t) ? RX_ERR_CANCELLED : ret, "cannot read stream info of '%s'",
                    path);
    if (t->images)
        t->res->in_duration_us =
            av_rescale_q(t->n_paths, (AVRational){t->s.fps_den, t->s.fps_num}, AV_TIME_BASE_Q);
    else if (t->ic->duration != AV_NOPTS_VALUE)
        t->res->in_duration_us = t->ic->duration;
    return 0;
}

/* With images: find them, and their total size (the input's bytes). */
static int find_images(RxTranscode *t)
{
    char why[RX_ERROR_MAX];
    struct stat st;
    int ret = rx_imgseq_expand(t->input, &t->paths, &t->n_paths, why, sizeof(why));

    if (ret < 0)
        return fail(t, ret, "%s", why);
    for (size_t i = 0; i < t->n_paths; i++) {
        if (stat(t->paths[i], &st) < 0)
            return fail(t, AVERROR(errno), "cannot open image '%s' (%zu of %zu)", t->paths[i],
                        i + 1, t->n_paths);
        t->res->in_bytes += st.st_size;
    }
    return 0;
}

static int open_decoder(RxTranscode *t, AVStream *st, AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *dec;
    int ret;

    if (!codec)
        return fail(t, AVERROR_DECODER_NOT_FOUND, "no decoder for stream %d (%s) of '%s'",
                    st->index, avcodec_get_name(st->codecpar->codec_id), t->input);
    dec = avcodec_alloc_context3(codec);
    if (!dec)
        return fail(t, AVERROR(ENOMEM), "cannot open decoder for stream %d of '%s'", st->index,
                    t->input);
    *out = dec;
    ret = avcodec_parameters_to_context(dec, st->codecpar);
    if (ret < 0)
        return fail(t, ret, "cannot open decoder for stream %d of '%s'", st->index, t->input);
    dec->pkt_timebase = st->time_base;
    if (dec->codec_type == AVMEDIA_TYPE_VIDEO) {
        /* The decoder's threads come out of the job's budget: with several
         * jobs in a pool an uncapped decoder would take every core. */
        dec->thread_count = rx_settings_threads(&t->s);
        dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    }
    ret = avcodec_open2(dec, codec, NULL);
    if (ret < 0)
        return fail(t, ret, "cannot open decoder for stream %d of '%s'", st->index, t->input);
    return 0;
}

/* ---- output streams */

static enum AVPixelFormat pick_pix_fmt(const AVCodec *codec, enum AVPixelFormat src)
{
    const enum AVPixelFormat *p;

    if (!codec->pix_fmts)
        return src;
    for (p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
        if (*p == src)
            return src; /* no conversion needed */
    return avcodec_find_best_pix_fmt_of_list(codec->pix_fmts, src, 0, NULL);
}

static int set_opt_int(AVDictionary **d, const char *key, int64_t v)
{
    return av_dict_set_int(d, key, v, 0);
}

/* A display matrix (phone recordings: "show this picture turned 90°") is
 * dropped by FFmpeg 5.1's WebM muxer: the frame stage turns the pixels
 * instead (orient.h). A turn it cannot make is refused, so the original
 * stays the only copy rather than a sideways one replacing it. */
static int read_orientation(RxTranscode *t, const AVStream *ist, RxOrient *o)
{
    const int32_t *m =
        (const int32_t *)av_stream_get_side_data(ist, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    int cw;

    if (rx_orient_from_matrix(m, o, &cw) == 0)
        return 0;
    if (cw < 0)
        return fail(t, AVERROR(ENOTSUP),
                    "cannot re-encode '%s': its display matrix is not a rotation", t->input);
    return fail(t, AVERROR(ENOTSUP),
                "cannot re-encode '%s': its video is shown rotated %d degrees (display matrix); "
                "only quarter turns and mirrors can be applied",
                t->input, cw);
}

/* The value of key in the user's aom-params as libaom will see it (the last
 * one given), in val; 0 when absent or when the string does not parse
 * (avcodec_open2 reports a malformed aom-params itself). */
static int aom_param(const RxSettings *s, const char *key, char *val, size_t size)
{
    AVDictionary *p = NULL;
    const AVDictionaryEntry *e = NULL;

    if (s->aom_params[0] && av_dict_parse_string(&p, s->aom_params, "=", ":", 0) >= 0)
        e = av_dict_get(p, key, NULL, 0);
    if (e)
        snprintf(val, size, "%s", e->value);
    av_dict_free(&p);
    return e != NULL;
}

/* libaom 3.6 aborts the whole process (an assert in loopfilter_frame) on
 * lossless coding (crf 0) with enable-chroma-deltaq=1, which the reference
 * aom-params set: one such job would take every other job of a batch down
 * with it and leave its .part behind. Refuse it as a settings error. */
static int check_lossless(RxTranscode *t, const AVCodec *codec)
{
    char v[32];

    if (t->s.crf != 0 || strcmp(codec->name, "libaom-av1") ||
        !aom_param(&t->s, "enable-chroma-deltaq", v, sizeof(v)) || !strcmp(v, "0"))
        return 0;
    return fail(t, AVERROR(EINVAL),
                "cannot encode '%s' losslessly (--crf 0) with enable-chroma-deltaq in "
                "--aom-params: libaom would abort; add enable-chroma-deltaq=0",
                t->input);
}

/* Add a line to res->note: what the job changed to get the input through. */
static void note(RxTranscode *t, const char *fmt, ...) RX_PRINTF(2, 3);

static void note(RxTranscode *t, const char *fmt, ...)
{
    char *n = t->res->note;
    size_t len = strlen(n);
    va_list ap;

    if (len && len + 2 < sizeof(t->res->note))
        len += (size_t)snprintf(n + len, sizeof(t->res->note) - len, "; ");
    va_start(ap, fmt);
    vsnprintf(n + len, sizeof(t->res->note) - len, fmt, ap);
    va_end(ap);
}

/* The encoder's pixel format of the same chroma layout with 8-bit samples,
 * closest to src; AV_PIX_FMT_NONE when it has none. */
static enum AVPixelFormat eight_bit_of(const AVCodec *codec, enum AVPixelFormat src)
{
    const AVPixFmtDescriptor *sd = av_pix_fmt_desc_get(src), *d;
    enum AVPixelFormat list[64];
    int n = 0;

    for (const enum AVPixelFormat *p = sd ? codec->pix_fmts : NULL;
         p && *p != AV_PIX_FMT_NONE && n < 63; p++) {
        d = av_pix_fmt_desc_get(*p);
        if (d && d->comp[0].depth == 8 && d->nb_components == sd->nb_components &&
            d->log2_chroma_w == sd->log2_chroma_w && d->log2_chroma_h == sd->log2_chroma_h &&
            (d->flags & AV_PIX_FMT_FLAG_RGB) == (sd->flags & AV_PIX_FMT_FLAG_RGB))
            list[n++] = *p;
    }
    list[n] = AV_PIX_FMT_NONE;
    return n ? avcodec_find_best_pix_fmt_of_list(list, src, 0, NULL) : AV_PIX_FMT_NONE;
}

/*
 * libaom 3.6.0 crashes the process (SIGSEGV, or the assertion
 * `!((intptr_t)dst % 16)' in aom_highbd_convolve_copy_avx2) on high bit
 * depth in realtime mode with tune-content=screen once its speed is 7 or
 * more. Measured with the ffmpeg CLI (which crashes just the same) and the
 * reference aom-params, 1 to 4 threads: cpu-used 7 and 8 crash at every size
 * tried (64x64 to 1280x720, 4:2:0 and 4:4:4, odd sizes too); cpu-used 5 and
 * 6 pass up to a smaller side of 1079 (1280x720, 1920x1078, 1078x1920,
 * 3840x1079) and crash from 1080 on (1080x1080, 1920x1080, 1080x1920,
 * 2560x1440), where realtime raises the speed to 7 itself. usage=good and
 * 8-bit input pass at any speed.
 *
 * So the rule is that boundary: the speed libaom will run at is 7 or more.
 * Below it the video keeps its bits. At it:
 *  - SDR video is encoded as 8-bit: screen content is 8-bit at the source,
 *    so the 10-bit copy of it carries nothing more, and the screen tools
 *    (palette, intra block copy: sharp text) stay on;
 *  - HDR video (PQ, HLG) keeps its bits, where 8 would band, and libaom gets
 *    tune-content=default instead: its screen tools are for text, not film.
 * Either way the file's log says so. One function, so a table of encoder
 * limits can take it over. params: the aom-params to open with (in/out).
 */
static void avoid_libaom_crash(RxTranscode *t, const AVCodec *codec, AVCodecContext *enc,
                               char *params, size_t size)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(enc->pix_fmt);
    enum AVPixelFormat eight;
    char tune[32], cpu[16];
    int speed = t->s.cpu_used;

    if (aom_param(&t->s, "cpu-used", cpu, sizeof(cpu))) /* applied after --cpu-used */
        speed = (int)strtol(cpu, NULL, 10);
    if (FFMIN(enc->width, enc->height) >= 1080)
        speed = FFMAX(speed, 7);
    if (speed < 7 || strcmp(codec->name, "libaom-av1") ||
        (strcmp(t->s.usage, "realtime") && strcmp(t->s.usage, "1")) || !d ||
        d->comp[0].depth <= 8 || !aom_param(&t->s, "tune-content", tune, sizeof(tune)) ||
        (strcmp(tune, "screen") && strcmp(tune, "1")))
        return;
    eight = eight_bit_of(codec, enc->pix_fmt);
    if (enc->color_trc != AVCOL_TRC_SMPTE2084 && enc->color_trc != AVCOL_TRC_ARIB_STD_B67 &&
        eight != AV_PIX_FMT_NONE) {
        note(t,
             "'%s': %d-bit video encoded as 8-bit (libaom 3.6 crashes on high bit depth with "
             "tune-content=screen in realtime mode)",
             t->input, d->comp[0].depth);
        enc->pix_fmt = eight;
        return;
    }
    snprintf(params, size, "%s:tune-content=default", t->s.aom_params);
    note(t,
         "'%s': %s video encoded with tune-content=default, not screen (libaom 3.6 crashes on "
         "high bit depth with tune-content=screen in realtime mode)",
         t->input, eight == AV_PIX_FMT_NONE ? "high-bit-depth" : "HDR");
}

/* Largest SVT-AV1 keyint (frames) we set: see svtav1_options(). */
#define SVT_KEYINT_NEVER (1 << 30)

/* libsvtav1 through FFmpeg 5.1 with SVT-AV1 1.4 (checked by measuring, see
 * docs/benchmarks.md):
 * - threads: the wrapper ignores thread_count; SVT's own "lp" (logical
 *   processors) caps it: lp=1 holds a 1080p encode to one core, unset it
 *   takes them all. SVT does not pin its threads unless asked (pin=0).
 * - keyframes: the wrapper turns pict_type I into a key-picture request,
 *   which SVT ignores unless enable-force-key-frames=1, and ignores anyway
 *   with keyint -1 or 0 ("infinite"); its default keyint (~5 s, in frames)
 *   would add keyframes of its own. So its period is set beyond reach and our
 *   by-time cadence is the only one.
 * Ours go first in svtav1-params; the user's follow and win. */
static int svtav1_options(RxTranscode *t, AVCodecContext *enc, AVDictionary **opts)
{
    char params[sizeof(t->s.svt_params) + 96];
    int n;

    n = snprintf(params, sizeof(params), "lp=%d", rx_settings_threads(&t->s));
    if (t->s.keyint_seconds != 0)
        n += snprintf(params + n, sizeof(params) - (size_t)n,
                      ":enable-force-key-frames=1:keyint=%d", SVT_KEYINT_NEVER);
    if (t->s.svt_params[0])
        n += snprintf(params + n, sizeof(params) - (size_t)n, ":%s", t->s.svt_params);
    if (n < 0 || (size_t)n >= sizeof(params))
        return AVERROR(EINVAL);
    /* An unknown svtav1-params key is only a warning in the wrapper, and the
     * user's intent silently lost: make it fail the open. */
    enc->err_recognition |= AV_EF_EXPLODE;
    set_opt_int(opts, "preset", t->s.preset);
    return av_dict_set(opts, "svtav1-params", params, 0);
}

/* SVT-AV1 1.4 refuses odd picture sizes in 4:2:0 and sizes under 64x64
 * (only on its own stderr; avcodec_open2 says "Invalid argument"). Say why,
 * and what works: libaom takes any size. */
static int check_svt_size(RxTranscode *t, const AVCodec *codec, int w, int h)
{
    if (strcmp(codec->name, "libsvtav1") || (w % 2 == 0 && h % 2 == 0 && w >= 64 && h >= 64))
        return 0;
    return fail(t, AVERROR(ENOTSUP),
                "cannot encode '%s' with libsvtav1: its picture is %dx%d, SVT-AV1 needs even "
                "sizes of at least 64x64 (libaom-av1 takes any)",
                t->input, w, h);
}

/* The user's raw options for the chosen encoder, if it is one whose
 * failure to open they are the likely cause of, and their option's name. */
static const char *user_params(const RxSettings *s, const char **flag)
{
    if (!strcmp(s->video_encoder, "libsvtav1"))
        return *flag = "svtav1-params", s->svt_params;
    if (!strcmp(s->video_encoder, "librav1e"))
        return *flag = "rav1e-params", s->rav1e_params;
    if (!strcmp(s->video_encoder, "libvpx-vp9"))
        return *flag = "vp9-params", s->vp9_params;
    return NULL;
}

/*
 * Keyframes (the default policy; docs/benchmarks.md, "Seeking in Chromium"
 * and "Keyframes"). A seek decodes every frame from the keyframe before the
 * asked time, so its cost is the frames encoded since that keyframe, not the
 * time: with duplicate elision a static minute is a handful of frames. In
 * headless Chromium a 1080p frame of screen content costs ~2.5 ms to reach,
 * one of a video playing in a window ~5.2 ms (on top of ~20-70 ms per
 * seek), so a budget of KEY_WORK_1080P still-screen frames (key_cost)
 * keeps the worst seek near 700 ms; it scales with the picture's area. KEY_MAX_S bounds a lecture
 * that never changes; a scene change after KEY_SCENE_S becomes a keyframe once half the work
 * budget is spent or KEY_SCENE_LATE_S have passed, where it is cheaper than the forced one to come
 * (a new slide's intra frame ~1.35-1.5x its inter frame, where an intra frame of an unchanged
 * screen is ~30-100x).
 */
#define KEY_WORK_1080P   250 /* in still-screen frames: ~640 ms of decoding */
#define KEY_MAX_S        300
#define KEY_SCENE_S      5
#define KEY_SCENE_LATE_S 60  /* a scene change after this long is a keyframe however little work */
#define KEY_SCENE_SHARE  0.5 /* rx_frames_changed(): most of the picture */

/* What reaching a frame costs a seek, in units of a 1080p frame of a still
 * screen (~2.5 ms): a video playing in 45 % of the picture costs ~5.2 ms a
 * frame, so the work grows with the share of the picture that changed.
 * Frames whose share is unknown (no frame stage comparison: --dedup off,
 * --cfr, encoders without the screen tune) count as such a video. */
static double key_cost(double share)
{
    return 1.0 + 2.4 * (share >= 0 ? share : 0.45);
}

static void key_policy(VideoPath *v, const AVCodecContext *enc)
{
    int64_t area = (int64_t)enc->width * enc->height;

    v->key_auto = 1;
    v->share = -1;
    v->key_budget = av_clipd(KEY_WORK_1080P * 1920.0 * 1080.0 / (double)FFMAX(area, 1), 60, 2400);
    v->key_max = av_rescale_q(KEY_MAX_S, (AVRational){1, 1}, enc->time_base);
    v->key_scene = av_rescale_q(KEY_SCENE_S, (AVRational){1, 1}, enc->time_base);
    v->key_scene_late = av_rescale_q(KEY_SCENE_LATE_S, (AVRational){1, 1}, enc->time_base);
}

static int open_video(RxTranscode *t, AVStream *ist)
{
    VideoPath *v = &t->v;
    const AVCodec *codec;
    AVCodecContext *enc;
    AVDictionary *opts = NULL;
    const AVDictionaryEntry *e;
    const char *params, *flag;
    char aom_params[sizeof(t->s.aom_params) + 32];
    RxOrient orient;
    int ret;

    v->in_index = ist->index;
    ret = open_decoder(t, ist, &v->dec);
    if (ret < 0)
        return ret;
    if (v->dec->width <= 0 || v->dec->height <= 0 || v->dec->pix_fmt == AV_PIX_FMT_NONE)
        return fail(t, AVERROR_INVALIDDATA, "cannot tell the picture size of stream %d of '%s'",
                    ist->index, t->input);
    ret = read_orientation(t, ist, &orient);
    if (ret < 0)
        return ret;

    codec = avcodec_find_encoder_by_name(t->s.video_encoder);
    if (!codec)
        return fail(t, AVERROR_ENCODER_NOT_FOUND, "no video encoder '%s' in this libavcodec",
                    t->s.video_encoder);
    ret = check_lossless(t, codec);
    if (ret >= 0)
        ret = check_svt_size(t, codec, v->dec->width, v->dec->height);
    if (ret < 0)
        return ret;
    /* With a NULL codec the generic defaults (b=128k, qmax 31) would make
     * crf 32 invalid for libaom: allocate for the codec. */
    enc = avcodec_alloc_context3(codec);
    if (!enc)
        return fail(t, AVERROR(ENOMEM), "cannot open video encoder for '%s'", t->input);
    v->enc = enc;
    /* The picture as it is shown: a quarter turn swaps its sides. */
    enc->width = orient.transpose ? v->dec->height : v->dec->width;
    enc->height = orient.transpose ? v->dec->width : v->dec->height;
    enc->pix_fmt = pick_pix_fmt(codec, v->dec->pix_fmt);
    enc->sample_aspect_ratio = v->dec->sample_aspect_ratio;
    if (orient.transpose && enc->sample_aspect_ratio.num > 0)
        enc->sample_aspect_ratio =
            (AVRational){enc->sample_aspect_ratio.den, enc->sample_aspect_ratio.num};
    if (!rx_orient_supported(enc->pix_fmt, &orient))
        return fail(t, AVERROR(ENOTSUP),
                    "cannot re-encode '%s': its video is shown turned (display matrix), which "
                    "is not built for %s pictures",
                    t->input, av_get_pix_fmt_name(enc->pix_fmt));
    enc->color_range = v->dec->color_range;
    /* Full-range "J" pictures that the encoder cannot take are converted by
     * swscale to its limited-range format: say so, or players would stretch
     * the levels a second time. */
    if (enc->pix_fmt != v->dec->pix_fmt &&
        (v->dec->pix_fmt == AV_PIX_FMT_YUVJ420P || v->dec->pix_fmt == AV_PIX_FMT_YUVJ422P ||
         v->dec->pix_fmt == AV_PIX_FMT_YUVJ444P))
        enc->color_range = AVCOL_RANGE_MPEG;
    enc->color_primaries = v->dec->color_primaries;
    enc->color_trc = v->dec->color_trc;
    enc->colorspace = v->dec->colorspace;
    enc->chroma_sample_location = v->dec->chroma_sample_location;
    if (t->images) {
        /* 4:2:0, which every AV1 player takes, whatever the images are (RGB
         * PNGs would get 4:4:4 or GBR); swscale converts to it with BT.601
         * and limited range, whatever range a JPEG had. */
        enc->pix_fmt = AV_PIX_FMT_YUV420P;
        enc->color_range = AVCOL_RANGE_MPEG;
        enc->colorspace = AVCOL_SPC_BT470BG;
        enc->color_primaries = AVCOL_PRI_UNSPECIFIED;
        enc->color_trc = AVCOL_TRC_UNSPECIFIED;
        enc->chroma_sample_location = AVCHROMA_LOC_UNSPECIFIED;
    }
    snprintf(aom_params, sizeof(aom_params), "%s", t->s.aom_params);
    avoid_libaom_crash(t, codec, enc, aom_params, sizeof(aom_params));
    /* The input's own time base: variable frame durations pass unchanged.
     * With a constant rate, 1/rate: output frame k is at exactly k/rate. */
    v->in_tb = ist->time_base;
    enc->time_base = ist->time_base;
    if (ist->avg_frame_rate.num > 0 && ist->avg_frame_rate.den > 0)
        enc->framerate = ist->avg_frame_rate;
    if (t->s.cfr) {
        AVRational rate = t->s.fps_num > 0
                              ? (AVRational){t->s.fps_num, t->s.fps_den}
                              : rx_nominal_rate(ist->r_frame_rate, ist->avg_frame_rate);
        v->cfr = 1;
        v->tpf = rate.num >= rate.den ? 1 : rate.den;
        enc->framerate = rate;
        enc->time_base = av_mul_q(av_inv_q(rate), (AVRational){1, (int)v->tpf});
        if (t->images) /* the source thread numbers them: image k at k/rate */
            v->in_tb = av_inv_q(rate);
        t->res->fps_num = rate.num;
        t->res->fps_den = rate.den;
    }
    enc->thread_count = rx_settings_threads(&t->s);
    if (t->oc->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

    if (strcmp(codec->name, "librav1e")) /* rav1e: its quantizer, in rav1e-params */
        set_opt_int(&opts, "crf", t->s.crf);
    if (!strcmp(codec->name, "libaom-av1")) {
        set_opt_int(&opts, "cpu-used", t->s.cpu_used);
        av_dict_set(&opts, "usage", t->s.usage, 0);
        set_opt_int(&opts, "lag-in-frames", t->s.lag_in_frames);
        if (aom_params[0])
            av_dict_set(&opts, "aom-params", aom_params, 0);
    } else {
        /* SVT plans its prediction structure and default keyint with a
         * frame rate; without one the wrapper passes the time base's
         * reciprocal (15360 fps for 1/15360). rav1e counts its keyframe
         * interval in frames of it. Timestamps stay ours. */
        if (!enc->framerate.num)
            enc->framerate = ist->r_frame_rate.num > 0 && ist->r_frame_rate.den > 0
                                 ? ist->r_frame_rate
                                 : (AVRational){30, 1};
        ret = !strcmp(codec->name, "libsvtav1")  ? svtav1_options(t, enc, &opts)
              : !strcmp(codec->name, "librav1e") ? rx_rav1e_options(&t->s, enc, &opts)
                                                 : rx_vp9_options(&t->s, enc, &opts);
        if (ret < 0) {
            av_dict_free(&opts);
            return fail(t, ret, "cannot set up video encoder '%s' for '%s'", codec->name, t->input);
        }
    }
    ret = avcodec_open2(enc, codec, &opts);
    e = av_dict_get(opts, "", NULL, AV_DICT_IGNORE_SUFFIX);
    if (ret >= 0 && e)
        ret = fail(t, AVERROR_OPTION_NOT_FOUND, "video encoder '%s' has no option '%s'",
                   codec->name, e->key);
    av_dict_free(&opts);
    if (ret < 0 && (params = user_params(&t->s, &flag)) && params[0])
        return fail(t, ret, "cannot open video encoder '%s' for '%s' (check --%s '%s')",
                    codec->name, t->input, flag, params);
    if (ret < 0)
        return fail(t, ret, "cannot open video encoder '%s' for '%s'", codec->name, t->input);

    v->ost = avformat_new_stream(t->oc, NULL);
    if (!v->ost)
        return fail(t, AVERROR(ENOMEM), "cannot create output stream for '%s'", t->output);
    ret = avcodec_parameters_from_context(v->ost->codecpar, enc);
    if (ret < 0)
        return fail(t, ret, "cannot create output stream for '%s'", t->output);
    v->ost->time_base = enc->time_base;
    v->ost->sample_aspect_ratio = enc->sample_aspect_ratio;
    v->ost->disposition = AV_DISPOSITION_DEFAULT;
    /* avg_frame_rate becomes Matroska's DefaultDuration. With a constant
     * rate it is every frame's duration. Otherwise FFmpeg 5.1's muxer
     * writes no duration at all for video (no BlockDuration either), and
     * Chromium then takes a frame's duration to be the average spacing of
     * the frames it decoded: seconds, where still frames were elided. A
     * paused seek shows the first decoded frame that this guess makes reach
     * the asked time, so up to that long before the one due there (1 seek
     * in 5 on a typing recording: docs/benchmarks.md, "Seeking in
     * Chromium"). A DefaultDuration no longer than any frame's (the
     * nominal rate's, at most 1/60 s) makes it show the due frame. It is a
     * default only: every frame's time comes from its timestamp, and the
     * stream's length from the last frame's true duration. */
    if (v->cfr) {
        v->ost->avg_frame_rate = enc->framerate;
    } else {
        AVRational rate = rx_nominal_rate(ist->r_frame_rate, ist->avg_frame_rate);
        v->ost->avg_frame_rate = av_q2d(rate) >= 60 ? rate : (AVRational){60, 1};
    }

    ret = rx_vstage_new(&v->stage,
                        &(RxVStageConfig){.width = enc->width,
                                          .height = enc->height,
                                          .fmt = enc->pix_fmt,
                                          .orient = orient,
                                          .dedup = rx_settings_dedup(&t->s),
                                          .scene = t->s.keyint_seconds < 0,
                                          .max_diff = t->s.dedup_max_diff,
                                          .rate = v->cfr ? enc->framerate : (AVRational){0, 1},
                                          .in_tb = v->in_tb});
    if (ret < 0)
        return fail(t, ret, "cannot set up the frame stage for '%s'", t->input);

    v->first_pts = v->last_pts = v->last_end = v->last_kf = AV_NOPTS_VALUE;
    v->in_last = v->in_end = v->in_first = AV_NOPTS_VALUE;
    t->audio_ready = !v->cfr;
    if (t->s.keyint_seconds > 0)
        v->keyint = av_rescale_q((int64_t)(t->s.keyint_seconds * AV_TIME_BASE), AV_TIME_BASE_Q,
                                 enc->time_base);
    else if (t->s.keyint_seconds < 0)
        key_policy(v, enc);
    v->held = av_packet_alloc();
    if (!v->held)
        return fail(t, AVERROR(ENOMEM), "cannot open video encoder for '%s'", t->input);
    t->res->width = enc->width;
    t->res->height = enc->height;
    return 0;
}

/* The output stream of an audio track, with the input's language; the
 * first track plays by default. */
static int add_audio_stream(RxTranscode *t, const AVStream *ist, AudioPath *a)
{
    const AVDictionaryEntry *e;

    a->ost = avformat_new_stream(t->oc, NULL);
    if (!a->ost)
        return AVERROR(ENOMEM);
    if (a == t->a)
        a->ost->disposition = AV_DISPOSITION_DEFAULT;
    e = av_dict_get(ist->metadata, "language", NULL, 0);
    if (e && strcmp(e->value, "und"))
        return av_dict_set(&a->ost->metadata, "language", e->value, 0);
    return 0;
}

static int open_audio(RxTranscode *t, AVStream *ist, AudioPath *a)
{
    RxOpusConfig cfg;
    int nb, ret;

    a->in_index = ist->index;
    a->start_pts = AV_NOPTS_VALUE;
    a->next_in = AV_NOPTS_VALUE;
    ret = open_decoder(t, ist, &a->dec);
    if (ret < 0)
        return ret;
    nb = a->dec->ch_layout.nb_channels;
    if (nb <= 0 || a->dec->sample_rate <= 0)
        return fail(t, AVERROR_INVALIDDATA, "cannot tell the channels of audio stream %d of '%s'",
                    ist->index, t->input);

    /* More than 8 channels Opus cannot map: those are folded to stereo. */
    rx_opusenc_defaults(&cfg);
    cfg.channels = nb <= RX_OPUS_MAX_CHANNELS ? nb : 2;
    cfg.bit_rate = t->s.audio_bitrate;
    cfg.application = t->s.opus_application;
    cfg.dtx = t->s.opus_dtx;
    ret = rx_opusenc_open(&a->opus, &cfg);
    if (ret >= 0)
        ret = rx_opusenc_layout(cfg.channels, &a->layout);
    if (ret < 0)
        return fail(t, ret, "cannot open Opus encoder for stream %d of '%s'", ist->index, t->input);
    a->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLT, cfg.channels, RX_OPUS_FRAME * 4);
    a->pcm = av_malloc_array((size_t)RX_OPUS_FRAME * cfg.channels, sizeof(*a->pcm));
    if (!a->fifo || !a->pcm)
        return fail(t, AVERROR(ENOMEM), "cannot open Opus encoder for '%s'", t->input);

    ret = add_audio_stream(t, ist, a);
    if (ret >= 0)
        ret = rx_opusenc_parameters(a->opus, a->ost->codecpar);
    if (ret < 0)
        return fail(t, ret, "cannot create output stream for '%s'", t->output);
    a->ost->time_base = OPUS_TB;
    return 0;
}

/* --audio-codec copy: the input's packets go to the muxer as they are (no
 * decoder, no encoder), in the input's time base. */
static int open_audio_copy(RxTranscode *t, AVStream *ist, AudioPath *a)
{
    int ret;

    a->in_index = ist->index;
    a->copy = 1;
    a->start_pts = AV_NOPTS_VALUE;
    a->next_in = AV_NOPTS_VALUE;
    ret = add_audio_stream(t, ist, a);
    if (ret >= 0)
        ret = avcodec_parameters_copy(a->ost->codecpar, ist->codecpar);
    if (ret < 0)
        return fail(t, ret, "cannot create output stream for '%s'", t->output);
    a->ost->codecpar->codec_tag = 0; /* MP4's tag means nothing to Matroska */
    a->ost->time_base = ist->time_base;
    return 0;
}

/* Global tags: the reference names the output after the input and drops
 * the recorder's artist tag (so an output never looks like a recording
 * still to do); MP4 brand tags mean nothing in WebM. The recorder's own
 * title (for Game Bar: the captured application) is kept under
 * RECORDED_TITLE rather than lost. */
static int set_metadata(RxTranscode *t)
{
    static const char *const drop[] = {"major_brand", "minor_version", "compatible_brands",
                                       "encoder",     "title",         "artist"};
    const AVDictionaryEntry *e = NULL;
    const char *name = t->images ? t->output : t->input; /* the title comes from it */
    const char *base = strrchr(name, '/');
    const char *dot;
    char *title;
    int ret;

    while ((e = av_dict_get(t->ic->metadata, "", e, AV_DICT_IGNORE_SUFFIX))) {
        size_t i;
        for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
            if (!av_strcasecmp(e->key, drop[i]))
                break;
        if (i < sizeof(drop) / sizeof(drop[0]))
            continue;
        ret = av_dict_set(&t->oc->metadata, e->key, e->value, 0);
        if (ret < 0)
            return ret;
    }
    e = av_dict_get(t->ic->metadata, "artist", NULL, 0);
    if (e && strcmp(e->value, "Microsoft Game DVR")) {
        /* Someone's real artist tag: keep it. */
        ret = av_dict_set(&t->oc->metadata, "artist", e->value, 0);
        if (ret < 0)
            return ret;
    }
    e = av_dict_get(t->ic->metadata, "title", NULL, 0);
    if (e && e->value[0]) {
        ret = av_dict_set(&t->oc->metadata, "RECORDED_TITLE", e->value, 0);
        if (ret < 0)
            return ret;
    }

    base = base ? base + 1 : name;
    dot = strrchr(base, '.');
    title = av_strndup(base, dot && dot > base ? (size_t)(dot - base) : strlen(base));
    if (!title)
        return AVERROR(ENOMEM);
    ret = av_dict_set(&t->oc->metadata, "title", title, AV_DICT_DONT_STRDUP_VAL);
    if (ret < 0)
        return ret;
    return av_dict_set(&t->oc->metadata, "ENCODED_BY", "reencode " RX_VERSION, 0);
}

/*
 * Create or take over <output>.part, locked (flock) until it is renamed.
 * A .part left by a killed run is ours to replace, but one that another
 * reencode is writing (a run and an encode, or two runs over overlapping
 * trees, on the same file) is not: truncating it, or both writing one inode,
 * published a mix of the two encodes under the final name, changed after
 * its rename. So: open without O_TRUNC, lock, make sure the name still
 * leads to the locked inode (the holder may have renamed it just before),
 * and only then truncate.
 */
static int open_part(RxTranscode *t)
{
    struct stat fst, pst;

    if (t->lock_fd >= 0) { /* a later pass of this job: the .part is ours */
        t->fd = fcntl(t->lock_fd, F_DUPFD_CLOEXEC, 0);
        if (t->fd < 0)
            return fail(t, AVERROR(errno), "cannot reopen '%s' for '%s'", t->part, t->input);
        if (ftruncate(t->fd, 0) < 0)
            return fail(t, AVERROR(errno), "cannot truncate '%s' for '%s'", t->part, t->input);
        return 0;
    }

    for (int tries = 0; tries < 8; tries++) {
        t->fd = open(t->part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (t->fd < 0)
            return fail(t, AVERROR(errno), "cannot create '%s' for '%s'", t->part, t->input);
        if (flock(t->fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
            close(t->fd);
            t->fd = -1;
            return fail(t, AVERROR(EBUSY), "'%s' (for '%s') is being written by another reencode",
                        t->part, t->input);
        }
        /* Other flock errors (a file system without locks): go on unlocked,
         * as before locking existed. */
        if (fstat(t->fd, &fst) == 0 && stat(t->part, &pst) == 0 && fst.st_dev == pst.st_dev &&
            fst.st_ino == pst.st_ino) {
            t->part_owned = 1;
            /* fd is closed (and checked) before the rename; this dup holds
             * the lock over the check and the rename. */
            t->lock_fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 0);
            if (t->lock_fd < 0)
                return fail(t, AVERROR(errno), "cannot lock '%s' for '%s'", t->part, t->input);
            if (ftruncate(t->fd, 0) < 0)
                return fail(t, AVERROR(errno), "cannot truncate '%s' for '%s'", t->part, t->input);
            return 0;
        }
        close(t->fd); /* renamed or removed under us: open the name afresh */
        t->fd = -1;
    }
    return fail(t, AVERROR(EBUSY), "'%s' (for '%s') keeps being replaced by another process",
                t->part, t->input);
}

static const char *container_name(RxContainer c)
{
    return c == RX_CONTAINER_MKV ? "Matroska" : "WebM";
}

/* A stream the container cannot hold (WebM: VP8/VP9/AV1 video, Vorbis/Opus
 * audio) is refused before anything is written, in words that say what to
 * change. The muxer's own list decides, not ours. */
static int check_container(RxTranscode *t, RxContainer c)
{
    const AVCodec *venc = avcodec_find_encoder_by_name(t->s.video_encoder);
    char name[32];

    if (venc && avformat_query_codec(t->oc->oformat, venc->id, FF_COMPLIANCE_NORMAL) != 1)
        return refuse(t, AVERROR(ENOTSUP),
                      "cannot re-encode '%s': %s video cannot go in %s: use --container mkv",
                      t->input, avcodec_get_name(venc->id), container_name(c));
    for (unsigned i = 0; t->s.audio_copy && i < t->ic->nb_streams; i++) {
        const AVCodecParameters *par = t->ic->streams[i]->codecpar;
        if (par->codec_type != AVMEDIA_TYPE_AUDIO ||
            avformat_query_codec(t->oc->oformat, par->codec_id, FF_COMPLIANCE_NORMAL) == 1)
            continue;
        snprintf(name, sizeof(name), "%s", avcodec_get_name(par->codec_id));
        for (char *p = name; *p; p++)
            *p = (char)av_toupper((unsigned char)*p);
        return refuse(t, AVERROR(ENOTSUP),
                      "cannot re-encode '%s': %s audio cannot go in %s: use %s--audio-codec opus",
                      t->input, name, container_name(c),
                      c == RX_CONTAINER_WEBM ? "--container mkv or " : "");
    }
    return 0;
}

static int open_output(RxTranscode *t)
{
    RxContainer c = rx_settings_container(&t->s);
    unsigned char *buf;
    int ret;

    ret = avformat_alloc_output_context2(&t->oc, NULL, c == RX_CONTAINER_MKV ? "matroska" : "webm",
                                         NULL);
    if (ret < 0)
        return fail(t, ret, "cannot create %s muxer for '%s'", container_name(c), t->output);
    ret = check_container(t, c);
    if (ret < 0)
        return ret;
    ret = open_part(t);
    if (ret < 0)
        return ret;
    buf = av_malloc(IO_BUF_SIZE);
    if (!buf)
        return fail(t, AVERROR(ENOMEM), "cannot create '%s' for '%s'", t->part, t->input);
    t->pb = avio_alloc_context(buf, IO_BUF_SIZE, 1, t, NULL, io_write, io_seek);
    if (!t->pb) {
        av_free(buf);
        return fail(t, AVERROR(ENOMEM), "cannot create '%s' for '%s'", t->part, t->input);
    }
    t->oc->pb = t->pb;
    /* BITEXACT: Matroska would otherwise write random segment and track
     * UIDs, and the same input and settings would give different bytes on
     * every run; reproducible outputs make resumes and tests comparable. */
    t->oc->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_BITEXACT;
    return 0;
}

/* Chapters (MP4's chapter track or Nero chpl) go over with their titles; the
 * muxer converts their time base. The output keeps the input's timestamps,
 * so their times need no shift. One Matroska refuses (it fails the header)
 * is mended rather than lost: no end, or an end before the start, becomes
 * an instant; one starting before zero is left out. */
static int copy_chapters(RxTranscode *t)
{
    unsigned n = t->ic->nb_chapters;

    if (!n)
        return 0;
    t->oc->chapters = av_calloc(n, sizeof(*t->oc->chapters));
    if (!t->oc->chapters)
        return AVERROR(ENOMEM);
    for (unsigned i = 0; i < n; i++) {
        const AVChapter *in = t->ic->chapters[i];
        AVChapter *out;

        if (in->start < 0 || in->time_base.num <= 0 || in->time_base.den <= 0)
            continue;
        out = av_mallocz(sizeof(*out));
        if (!out)
            return AVERROR(ENOMEM);
        t->oc->chapters[t->oc->nb_chapters++] = out;
        out->id = in->id;
        out->time_base = in->time_base;
        out->start = in->start;
        out->end = in->end == AV_NOPTS_VALUE || in->end < in->start ? in->start : in->end;
        if (av_dict_copy(&out->metadata, in->metadata, 0) < 0)
            return AVERROR(ENOMEM);
    }
    return 0;
}

static int write_header(RxTranscode *t)
{
    int ret = set_metadata(t);

    if (ret >= 0)
        ret = copy_chapters(t);
    if (ret < 0)
        return fail(t, ret, "cannot set metadata of '%s'", t->output);
    ret = avformat_write_header(t->oc, NULL);
    if (ret < 0)
        return fail(t, ret, "cannot write header of '%s' for '%s'", t->part, t->input);
    return 0;
}

/* ---- muxing */

static int mux(RxTranscode *t, AVPacket *pkt, AVRational tb, AVStream *ost)
{
    int ret;

    av_packet_rescale_ts(pkt, tb, ost->time_base);
    pkt->stream_index = ost->index;
    ret = av_interleaved_write_frame(t->oc, pkt);
    if (ret < 0)
        return fail(t, ret, "cannot write '%s' for '%s'", t->part, t->input);
    return 0;
}

/* Video packets are held back by one so that each gets its true duration
 * (the next packet's pts minus its own): the last frame of a VFR recording
 * keeps its length and the container's duration is right. */
static int mux_video(RxTranscode *t, AVPacket *pkt)
{
    VideoPath *v = &t->v;
    int ret = 0;

    if (v->held->data) {
        if (pkt) {
            int64_t d = pkt->pts - v->held->pts;
            v->held->duration = d > 0 ? d : 0;
        } else if (v->last_end != AV_NOPTS_VALUE && v->last_end > v->held->pts) {
            v->held->duration = v->last_end - v->held->pts;
        }
        ret = mux(t, v->held, v->enc->time_base, v->ost);
        av_packet_unref(v->held);
        if (ret < 0)
            return ret;
    }
    if (pkt)
        av_packet_move_ref(v->held, pkt);
    return 0;
}

static int drain_video(RxTranscode *t)
{
    int ret;

    for (;;) {
        ret = avcodec_receive_packet(t->v.enc, t->epkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return fail(t, ret, "cannot encode video of '%s'", t->input);
        ret = mux_video(t, t->epkt);
        av_packet_unref(t->epkt);
        if (ret < 0)
            return ret;
    }
}

/* The packets libopus has finished (after the flush, all of them). */
static int drain_audio(RxTranscode *t, AudioPath *a)
{
    int ret;

    for (;;) {
        ret = rx_opusenc_receive(a->opus, t->epkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return fail(t, ret, "cannot encode audio of '%s'", t->input);
        ret = mux(t, t->epkt, OPUS_TB, a->ost);
        av_packet_unref(t->epkt);
        if (ret < 0)
            return ret;
    }
}

/* ---- video */

static void report_progress(RxTranscode *t)
{
    RxProgress p;

    if (!t->progress_fn || t->probe)
        return;
    p.frames = t->res->video_frames;
    p.media_us =
        t->v.first_pts == AV_NOPTS_VALUE
            ? 0
            : av_rescale_q(t->v.last_pts - t->v.first_pts, t->v.enc->time_base, AV_TIME_BASE_Q);
    p.total_us = t->res->in_duration_us;
    p.bytes = t->out_size;
    t->progress_fn(t->progress_opaque, &p);
}

static int send_video(RxTranscode *t, AVFrame *out)
{
    VideoPath *v = &t->v;
    int ret = avcodec_send_frame(v->enc, out);

    if (ret < 0)
        return fail(t, ret, "cannot encode video of '%s'", t->input);
    t->res->video_frames++;
    v->since_kf = out->pts == v->last_kf ? 1 : v->since_kf + 1;
    v->key_work = (out->pts == v->last_kf ? 0 : v->key_work) + key_cost(v->share);
    v->share = -1;
    v->sent_pts = out->pts;
    return drain_video(t);
}

/* --keyint S: a cadence by time (output time, in the encoder's time base),
 * not frame count, so VFR input and elided stretches get one every S
 * seconds too. The policy: one when the frames sent since the last reach
 * the bound that keeps a seek's decoding work under budget, or after
 * key_max at the latest. */
static int key_due(const VideoPath *v, int64_t pts)
{
    if (v->first_pts == AV_NOPTS_VALUE)
        return 1;
    if (v->key_auto)
        return v->key_work >= v->key_budget || pts - v->last_kf >= v->key_max;
    return v->keyint > 0 && pts - v->last_kf >= v->keyint;
}

/* The policy's other keyframe: at a scene change (a new slide, a window
 * switch), once key_scene has passed since the last one and the seek
 * budget is half spent, or key_scene_late has passed. The intra frame of a
 * new slide still costs ~1.35-1.5x the inter frame it replaces (measured
 * on the bench corpus), so it is worth paying only where key_due() would
 * soon force one on an unchanged screen, at ~30-100x; and Chromium's seek
 * also reads everything since the keyframe (the audio), so a minute of
 * media is spent like half the budget. */
static int key_at_scene(const VideoPath *v, int64_t pts)
{
    return v->key_auto && pts - v->last_kf >= v->key_scene &&
           (v->key_work >= v->key_budget / 2 || pts - v->last_kf >= v->key_scene_late) &&
           rx_vstage_change(v->stage) >= KEY_SCENE_SHARE;
}

/* Encode out, a frame of the stage's stamped in the encoder's time base. */
static int encode_out(RxTranscode *t, AVFrame *out, int key)
{
    VideoPath *v = &t->v;
    int ret;

    /* Source keyframes must not force AV1 keyframes: every forced keyframe
     * costs bits. */
    out->pict_type = AV_PICTURE_TYPE_NONE;
    if (v->first_pts == AV_NOPTS_VALUE) {
        v->first_pts = out->pts;
        v->last_kf = out->pts;
    } else if (key) {
        out->pict_type = AV_PICTURE_TYPE_I;
        v->last_kf = out->pts;
    }
    ret = send_video(t, out);
    if (ret < 0)
        return ret;
    report_progress(t);
    return 0;
}

/* Stamp frame with its time in the input's time base (right after the last
 * frame when it has none) and its duration (the last spacing when unknown),
 * and advance *last and *end. Returns 0 for a frame to drop: two frames at
 * one instant (damaged or edited input), where the second would never be
 * seen and the muxer needs strictly increasing timestamps. */
static int stamp_frame(AVFrame *frame, int64_t *last, int64_t *end)
{
    int64_t pts = frame->best_effort_timestamp;
    int64_t dur = frame->pkt_duration;

    if (pts == AV_NOPTS_VALUE)
        pts = *end != AV_NOPTS_VALUE ? *end : 0;
    if (*last != AV_NOPTS_VALUE && pts <= *last)
        return 0;
    if (dur <= 0)
        dur = *last != AV_NOPTS_VALUE ? pts - *last : 1;
    frame->pts = pts;
    frame->pkt_duration = dur;
    *last = pts;
    *end = pts + dur;
    return 1;
}

/* WebM and Matroska keep milliseconds (the output stream's time base), and
 * a phone's VFR clock (1/90000) can put two frames less than one apart: both
 * would get one timestamp, which players reject ("non monotonically
 * increasing dts") and verify refuses. Such a frame is moved to the next
 * tick of the output clock rather than dropped, so that no picture is lost
 * (the one before it would be on screen for less than a tick anyway): it is
 * shown at most a tick late, and a burst of n such frames drifts n ticks at
 * most, taken back at the next wider gap. A/V sync and the video's length
 * move by less than that. */
static void clear_of_last(const VideoPath *v, AVFrame *frame)
{
    AVRational tb = v->enc->time_base, otb = v->ost->time_base;
    int64_t last;

    if (v->last_pts == AV_NOPTS_VALUE)
        return;
    /* As av_packet_rescale_ts() will round them in mux(). */
    last = av_rescale_q(v->last_pts, tb, otb);
    if (av_rescale_q(frame->pts, tb, otb) > last)
        return;
    frame->pts = av_rescale_q_rnd(last + 1, otb, tb, AV_ROUND_UP);
}

/* Constant frame rate: frame (NULL at the end) goes into the stage, which
 * hands out every output frame whose time has come (see vstage.h). */
static int encode_video_cfr(RxTranscode *t, AVFrame *frame)
{
    VideoPath *v = &t->v;
    AVFrame *out;
    int ret;

    if (frame && !stamp_frame(frame, &v->in_last, &v->in_end))
        return 0;
    if (frame && !t->audio_ready) {
        /* The output starts at the first video frame: audio moves with it,
         * so the offset between them is the input's. */
        t->audio_shift = av_rescale_q(frame->pts, v->in_tb, (AVRational){1, OPUS_RATE});
        t->audio_ready = 1;
        v->in_first = frame->pts;
    }
    ret = rx_vstage_send(v->stage, frame);
    while (ret >= 0 && (ret = rx_vstage_receive(v->stage, &out)) > 0) {
        out->pts *= v->tpf;
        out->pkt_duration = v->tpf;
        v->last_pts = out->pts;
        v->last_end = out->pts + v->tpf;
        ret = encode_out(t, out, key_due(v, out->pts));
    }
    if (ret < 0)
        return fail(t, ret, "cannot convert video of '%s'", t->input);
    t->res->video_frames_repeated = rx_vstage_repeated(v->stage);
    t->res->video_frames_dropped = rx_vstage_dropped(v->stage);
    return 0;
}

static int encode_video_frame(RxTranscode *t, AVFrame *frame)
{
    VideoPath *v = &t->v;
    AVFrame *out;
    int key;
    int ret;

    if (t->probe) { /* only the window: what comes before is skipped, after ends it */
        int64_t end = v->cfr ? v->in_end : v->last_end;
        int64_t pts = frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp
                      : end != AV_NOPTS_VALUE                        ? end
                                                                     : 0;
        int64_t us = av_rescale_q(pts, v->in_tb, AV_TIME_BASE_Q);
        if (us < t->win_start)
            return 0;
        if (us >= t->win_end)
            return 1;
    }
    if (v->cfr)
        return encode_video_cfr(t, frame);
    /* Dropped or not, the frame's time is covered: the last kept frame is
     * shown until the next one, and last_end is where the video ends. The
     * input's own times go to in_last/in_end, the output's (moved clear of
     * the one before at the container's resolution) to last_pts/last_end. */
    if (!stamp_frame(frame, &v->in_last, &v->in_end))
        return 0;
    clear_of_last(v, frame);
    v->last_pts = frame->pts;
    v->last_end = FFMAX(v->in_end, frame->pts + 1);
    frame->pkt_duration = v->last_end - frame->pts;
    /* A frame that is due to be a keyframe is never elided. */
    key = key_due(v, frame->pts);
    ret = rx_vstage_process(v->stage, frame, key, &out);
    if (ret < 0)
        return fail(t, ret, "cannot convert video of '%s'", t->input);
    if (!ret) {
        t->res->video_frames_elided++;
        report_progress(t);
        return 0;
    }
    v->share = rx_vstage_change(v->stage);
    return encode_out(t, out, key || key_at_scene(v, frame->pts));
}

/* End of the video: a recording that ends on a still picture ends on dropped
 * frames; the last of them are encoded so the video keeps its full length. */
static int flush_video_stage(RxTranscode *t)
{
    AVFrame *last;
    int ret;

    if (t->v.cfr)
        return encode_video_cfr(t, NULL);
    while (rx_vstage_flush(t->v.stage, &last)) {
        last->pict_type = AV_PICTURE_TYPE_NONE;
        t->res->video_frames_elided--;
        ret = send_video(t, last);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* Source thread: hand the decoded frame in t->frame to the job thread. */
static int emit_frame(RxTranscode *t, int tag)
{
    AVFrame *f = av_frame_alloc();
    int ret;

    if (!f)
        return fail(t, AVERROR(ENOMEM), "cannot decode '%s'", t->input);
    av_frame_move_ref(f, t->frame);
    ret = rx_fqueue_push(t->queue, &f, tag);
    av_frame_free(&f); /* NULL unless the job thread stopped listening */
    return ret;
}

static void free_packet(void *opaque, uint8_t *data)
{
    AVPacket *pkt = (AVPacket *)data;

    (void)opaque;
    av_packet_free(&pkt);
}

/* Source thread: hand t->pkt, a packet of a copied track, to the job thread
 * (which owns the muxer). The queue carries frames: the packet rides in
 * one's opaque_ref and is freed with it. */
static int emit_packet(RxTranscode *t, int tag)
{
    AVFrame *f = av_frame_alloc();
    AVPacket *p = av_packet_alloc();
    int ret;

    if (f && p)
        f->opaque_ref = av_buffer_create((uint8_t *)p, sizeof(*p), free_packet, NULL, 0);
    if (!f || !f->opaque_ref) {
        av_packet_free(&p);
        av_frame_free(&f);
        return fail(t, AVERROR(ENOMEM), "cannot read '%s'", t->input);
    }
    av_packet_move_ref(p, t->pkt);
    ret = rx_fqueue_push(t->queue, &f, tag);
    av_frame_free(&f); /* NULL unless the job thread stopped listening */
    return ret;
}

/* Job thread: write a copied packet, in the input's time base. Its times
 * give the track's duration for the check before publish. */
static int mux_copied(RxTranscode *t, AudioPath *a, AVPacket *pkt)
{
    const AVStream *ist = t->ic->streams[a->in_index];

    if (pkt->pts != AV_NOPTS_VALUE) {
        if (a->start_pts == AV_NOPTS_VALUE || pkt->pts < a->start_pts)
            a->start_pts = pkt->pts;
        if (a->next_in == AV_NOPTS_VALUE || pkt->pts + pkt->duration > a->next_in)
            a->next_in = pkt->pts + pkt->duration;
    }
    a->sent++;
    pkt->pos = -1;
    return mux(t, pkt, ist->time_base, a->ost);
}

/* Source thread: send pkt (NULL = flush) to the decoder, queue its frames. */
static int decode_video(RxTranscode *t, const AVPacket *pkt)
{
    VideoPath *v = &t->v;
    int ret = avcodec_send_packet(v->dec, pkt);

    if (ret == AVERROR_INVALIDDATA) {
        /* A damaged packet costs a frame, not the recording. */
        t->res->decode_errors++;
        return 0;
    }
    if (ret < 0 && ret != AVERROR_EOF)
        return fail(t, ret, "cannot decode video of '%s'", t->input);
    for (;;) {
        ret = avcodec_receive_frame(v->dec, t->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret == AVERROR_INVALIDDATA) {
            t->res->decode_errors++;
            continue;
        }
        if (ret < 0)
            return fail(t, ret, "cannot decode video of '%s'", t->input);
        ret = emit_frame(t, TAG_VIDEO);
        if (ret < 0)
            return ret;
    }
}

/* ---- audio */

/* Encode whole Opus frames from the FIFO; with final set, the remainder too
 * (a short last frame is padded, its padding trimmed by DiscardPadding). */
static int encode_audio_fifo(RxTranscode *t, AudioPath *a, int final)
{
    const int fs = RX_OPUS_FRAME;
    int ret;

    if (!t->audio_ready && !final) /* the FIFO holds it until then */
        return 0;
    while (av_audio_fifo_size(a->fifo) >= fs || (final && av_audio_fifo_size(a->fifo) > 0)) {
        int n = FFMIN(av_audio_fifo_size(a->fifo), fs);
        int64_t pts = a->start_pts - t->audio_shift + a->sent;
        if (av_audio_fifo_read(a->fifo, (void **)&a->pcm, n) != n)
            return fail(t, AVERROR_BUG, "cannot encode audio of '%s'", t->input);
        a->sent += n;
        ret = rx_opusenc_send(a->opus, a->pcm, n, pts);
        if (ret < 0)
            return fail(t, ret, "cannot encode audio of '%s'", t->input);
        ret = drain_audio(t, a);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* Resample nb input samples (data NULL = flush swr) into the FIFO. */
static int resample(RxTranscode *t, AudioPath *a, const uint8_t **data, int nb)
{
    int need = swr_get_out_samples(a->swr, nb);
    int n, ret;

    if (need > a->conv_cap) {
        av_freep(&a->conv);
        ret = av_samples_alloc(&a->conv, NULL, a->layout.nb_channels, need, AV_SAMPLE_FMT_FLT, 0);
        if (ret < 0)
            return fail(t, ret, "cannot resample audio of '%s'", t->input);
        a->conv_cap = need;
    }
    n = swr_convert(a->swr, &a->conv, a->conv_cap, data, nb);
    if (n < 0)
        return fail(t, n, "cannot resample audio of '%s'", t->input);
    if (n > 0 && av_audio_fifo_write(a->fifo, (void **)&a->conv, n) != n)
        return fail(t, AVERROR(ENOMEM), "cannot buffer audio of '%s'", t->input);
    return n;
}

/* Configure swr for the decoded frame's format; redone if the input changes
 * format mid-stream (it happens at splice points of edited recordings). */
static int setup_swr(RxTranscode *t, AudioPath *a, const AVFrame *f)
{
    AVChannelLayout in = {0};
    int ret;

    if (a->swr && a->swr_in_rate == f->sample_rate && a->swr_in_fmt == f->format &&
        !av_channel_layout_compare(&a->swr_in_layout, &f->ch_layout))
        return 0;
    if (a->swr) {
        ret = resample(t, a, NULL, 0); /* keep what the old one buffered */
        if (ret < 0)
            return ret;
        swr_free(&a->swr);
    }
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&in, f->ch_layout.nb_channels);
    else if ((ret = av_channel_layout_copy(&in, &f->ch_layout)) < 0)
        return fail(t, ret, "cannot resample audio of '%s'", t->input);
    ret = swr_alloc_set_opts2(&a->swr, &a->layout, AV_SAMPLE_FMT_FLT, OPUS_RATE, &in, f->format,
                              f->sample_rate, 0, NULL);
    av_channel_layout_uninit(&in);
    if (ret >= 0)
        ret = swr_init(a->swr);
    if (ret < 0)
        return fail(t, ret, "cannot resample audio of '%s'", t->input);
    av_channel_layout_uninit(&a->swr_in_layout);
    ret = av_channel_layout_copy(&a->swr_in_layout, &f->ch_layout);
    if (ret < 0)
        return fail(t, ret, "cannot resample audio of '%s'", t->input);
    a->swr_in_rate = f->sample_rate;
    a->swr_in_fmt = f->format;
    return 0;
}

/* Opus assumes continuous audio: a hole in the input's timestamps becomes
 * silence, fed through swr in the input's format so the resampler's state
 * stays continuous. Bounded chunks keep memory flat on huge gaps. */
static int fill_gap(RxTranscode *t, AudioPath *a, const AVFrame *f, int64_t gap)
{
    uint8_t **silence = NULL;
    int chunk = FFMIN(gap, (int64_t)f->sample_rate);
    int ret;

    ret = av_samples_alloc_array_and_samples(&silence, NULL, f->ch_layout.nb_channels, chunk,
                                             f->format, 0);
    if (ret < 0)
        return fail(t, ret, "cannot fill an audio gap of '%s'", t->input);
    av_samples_set_silence(silence, 0, chunk, f->ch_layout.nb_channels, f->format);
    while (gap > 0 && !cancelled(t)) {
        int n = (int)FFMIN(gap, (int64_t)chunk);
        ret = resample(t, a, (const uint8_t **)(void *)silence, n);
        if (ret >= 0)
            ret = encode_audio_fifo(t, a, 0);
        if (ret < 0)
            break;
        gap -= n;
    }
    av_freep(&silence[0]);
    av_freep(&silence);
    return ret < 0 ? ret : 0;
}

static int process_audio_frame(RxTranscode *t, AudioPath *a, AVFrame *f)
{
    int64_t pts = f->best_effort_timestamp;
    int ret;

    ret = setup_swr(t, a, f);
    if (ret < 0)
        return ret;
    if (pts != AV_NOPTS_VALUE)
        pts = av_rescale_q(pts, a->dec->pkt_timebase, (AVRational){1, f->sample_rate});
    if (a->start_pts == AV_NOPTS_VALUE) {
        a->start_pts = pts != AV_NOPTS_VALUE ? av_rescale_q(pts, (AVRational){1, f->sample_rate},
                                                            (AVRational){1, OPUS_RATE})
                                             : 0;
        a->next_in = pts != AV_NOPTS_VALUE ? pts : 0;
    } else if (pts != AV_NOPTS_VALUE && pts - a->next_in > f->sample_rate / 50) {
        /* More than 20 ms missing. */
        ret = fill_gap(t, a, f, pts - a->next_in);
        if (ret < 0)
            return ret;
        a->next_in = pts;
    }
    a->next_in += f->nb_samples;

    ret = resample(t, a, (const uint8_t **)(void *)f->extended_data, f->nb_samples);
    if (ret < 0)
        return ret;
    return encode_audio_fifo(t, a, 0);
}

static int decode_audio(RxTranscode *t, AudioPath *a, const AVPacket *pkt)
{
    int ret = avcodec_send_packet(a->dec, pkt);

    if (ret == AVERROR_INVALIDDATA) {
        t->res->decode_errors++;
        return 0;
    }
    if (ret < 0 && ret != AVERROR_EOF)
        return fail(t, ret, "cannot decode audio stream %d of '%s'", a->in_index, t->input);
    for (;;) {
        ret = avcodec_receive_frame(a->dec, t->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret == AVERROR_INVALIDDATA) {
            t->res->decode_errors++;
            continue;
        }
        if (ret < 0)
            return fail(t, ret, "cannot decode audio stream %d of '%s'", a->in_index, t->input);
        ret = emit_frame(t, (int)(a - t->a));
        if (ret < 0)
            return ret;
    }
}

/* ---- the job */

static int open_streams(RxTranscode *t)
{
    int vidx, i, ret;

    vidx = av_find_best_stream(t->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (vidx < 0 || (t->ic->streams[vidx]->disposition & AV_DISPOSITION_ATTACHED_PIC))
        return fail(t, RX_ERR_NOVIDEO, "cannot re-encode '%s'", t->input);

    for (i = 0; i < (int)t->ic->nb_streams && !t->probe; i++)
        if (t->ic->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
            t->na++;
    if (t->na) {
        t->a = av_calloc(t->na, sizeof(*t->a));
        if (!t->a)
            return fail(t, AVERROR(ENOMEM), "cannot open '%s'", t->input);
    }

    ret = open_video(t, t->ic->streams[vidx]);
    if (ret < 0)
        return ret;
    t->na = 0;
    for (i = 0; i < (int)t->ic->nb_streams && !t->probe; i++) {
        if (t->ic->streams[i]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO)
            continue;
        ret = t->s.audio_copy ? open_audio_copy(t, t->ic->streams[i], &t->a[t->na++])
                              : open_audio(t, t->ic->streams[i], &t->a[t->na++]);
        if (ret < 0)
            return ret;
    }
    t->res->audio_tracks = t->na;
    /* Everything else (data, subtitles, other video) is not read at all. */
    for (i = 0; i < (int)t->ic->nb_streams; i++) {
        int used = i == vidx;
        for (int k = 0; k < t->na; k++)
            used |= t->a[k].in_index == i;
        if (!used)
            t->ic->streams[i]->discard = AVDISCARD_ALL;
    }
    return 0;
}

static AudioPath *audio_for(RxTranscode *t, int index)
{
    for (int i = 0; i < t->na; i++)
        if (t->a[i].in_index == index)
            return &t->a[i];
    return NULL;
}

/* Source thread: demux and decode to the end, flush the decoders, then
 * tell the job thread how it ended. */
static void *source_main(void *opaque)
{
    RxTranscode *t = opaque;
    int ret;

    for (;;) {
        if (cancelled(t)) {
            ret = fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
            break;
        }
        ret = av_read_frame(t->ic, t->pkt);
        if (ret == AVERROR_EOF) {
            ret = decode_video(t, NULL);
            for (int i = 0; i < t->na && ret >= 0; i++)
                if (!t->a[i].copy)
                    ret = decode_audio(t, &t->a[i], NULL);
            break;
        }
        if (ret < 0) {
            ret = cancelled(t) ? fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input)
                               : fail(t, ret, "cannot read '%s'", t->input);
            break;
        }
        if (t->pkt->stream_index == t->v.in_index) {
            ret = decode_video(t, t->pkt);
        } else {
            AudioPath *a = audio_for(t, t->pkt->stream_index);
            ret = !a ? 0 : a->copy ? emit_packet(t, (int)(a - t->a)) : decode_audio(t, a, t->pkt);
        }
        av_packet_unref(t->pkt);
        if (ret < 0)
            break;
    }
    av_packet_unref(t->pkt);
    rx_fqueue_finish(t->queue, ret < 0 ? ret : 0);
    return NULL;
}

/* Source thread of an image series: each image decoded in turn, image k
 * stamped k (in 1/rate). One that cannot be decoded fails the job: a
 * missing frame would shift the number of every frame after it. */
static void *images_main(void *opaque)
{
    RxTranscode *t = opaque;
    int ret = 0;

    for (size_t i = 0; i < t->n_paths && ret >= 0; i++) {
        if (cancelled(t)) {
            ret = fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
            break;
        }
        ret = rx_imgseq_decode(t->paths[i], t->frame);
        if (ret < 0) {
            ret = fail(t, ret, "cannot decode image '%s' (%zu of %zu)", t->paths[i], i + 1,
                       t->n_paths);
            break;
        }
        t->frame->best_effort_timestamp = t->frame->pts = (int64_t)i;
        t->frame->pkt_duration = 1;
        ret = emit_frame(t, TAG_VIDEO);
    }
    rx_fqueue_finish(t->queue, ret < 0 ? ret : 0);
    return NULL;
}

/* The source thread runs the decoders: a signal stack lets the crash
 * handler run even after a stack overflow there (crash.h). */
static void *source_thread(void *opaque)
{
    RxTranscode *t = opaque;
    void *ret;

    rx_crash_altstack_push();
    ret = t->images ? images_main(t) : source_main(t);
    rx_crash_altstack_pop();
    return ret;
}

static int start_source(RxTranscode *t)
{
    int ret = rx_fqueue_new(&t->queue, QUEUE_FRAMES);

    if (ret < 0)
        return fail(t, ret, "cannot start decoding '%s'", t->input);
    ret = pthread_create(&t->source, NULL, source_thread, t);
    if (ret)
        return fail(t, AVERROR(ret), "cannot start decoding '%s'", t->input);
    t->source_started = 1;
    return 0;
}

/* Stop the source thread (if still running) and wait for it. */
static void stop_source(RxTranscode *t)
{
    if (!t->source_started)
        return;
    rx_fqueue_close(t->queue);
    pthread_join(t->source, NULL);
    t->source_started = 0;
}

/* Job thread: encode what the source thread decodes. */
static int transcode_loop(RxTranscode *t)
{
    AVFrame *f;
    int tag, ret;

    for (;;) {
        if (cancelled(t))
            return fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
        ret = rx_fqueue_pop(t->queue, &f, &tag);
        if (ret == AVERROR_EOF)
            break;
        if (ret < 0) /* the source thread has already said why */
            return fail(t, ret, "cannot read '%s'", t->input);
        ret = tag == TAG_VIDEO ? encode_video_frame(t, f)
              : t->a[tag].copy ? mux_copied(t, &t->a[tag], (AVPacket *)f->opaque_ref->data)
                               : process_audio_frame(t, &t->a[tag], f);
        av_frame_free(&f);
        if (ret < 0)
            return ret;
        if (ret > 0) /* a probe's window is done */
            break;
    }
    stop_source(t);
    return 0;
}

/* At the end of input (decoders already flushed by the source thread):
 * the resamplers and FIFOs first, then the encoders, then the held video
 * packet. */
static int flush_all(RxTranscode *t)
{
    int ret, i;

    ret = flush_video_stage(t);
    if (ret < 0)
        return ret;
    ret = avcodec_send_frame(t->v.enc, NULL);
    if (ret < 0)
        return fail(t, ret, "cannot finish video of '%s'", t->input);
    ret = drain_video(t);
    if (ret < 0)
        return ret;
    ret = mux_video(t, NULL);
    if (ret < 0)
        return ret;

    for (i = 0; i < t->na; i++) {
        AudioPath *a = &t->a[i];
        if (a->copy)
            continue;
        if (a->swr) {
            do {
                ret = resample(t, a, NULL, 0);
            } while (ret > 0);
            if (ret < 0)
                return ret;
        }
        ret = encode_audio_fifo(t, a, 1);
        if (ret < 0)
            return ret;
        ret = rx_opusenc_send(a->opus, NULL, 0, 0);
        if (ret < 0)
            return fail(t, ret, "cannot finish audio of '%s'", t->input);
        ret = drain_audio(t, a);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/*
 * May the output name be written? Only when nothing is there, or, with
 * --overwrite, a regular file. rename() replaces anything else just as
 * well: a device node (as root, `-o /dev/null --overwrite` turned /dev/null
 * into a regular file), a FIFO, or a symbolic link itself rather than its
 * target. lstat, not access(): a dangling link is something there too.
 */
static int check_output_name(RxTranscode *t)
{
    struct stat st;

    if (lstat(t->output, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return fail(t, AVERROR(errno), "cannot look at output '%s' of '%s'", t->output, t->input);
    }
    if (!t->s.overwrite)
        return fail(t, AVERROR(EEXIST),
                    "output '%s' of '%s' exists (use --overwrite to replace it)", t->output,
                    t->input);
    if (!S_ISREG(st.st_mode))
        return fail(t, AVERROR(EEXIST),
                    "output '%s' of '%s' exists and is not a regular file: not replaced, even "
                    "with --overwrite",
                    t->output, t->input);
    return 0;
}

/* Move the finished .part onto the final name without ever replacing an
 * existing file unless asked to. */
static int publish(RxTranscode *t)
{
    if (t->s.overwrite) {
        if (rename(t->part, t->output) < 0)
            return AVERROR(errno);
        return 0;
    }
    if (renameat2(AT_FDCWD, t->part, AT_FDCWD, t->output, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return AVERROR(errno);
    /* File systems without RENAME_NOREPLACE: link() fails on an existing
     * name atomically just the same. */
    if (link(t->part, t->output) < 0)
        return AVERROR(errno);
    unlink(t->part);
    return 0;
}

/* libaom 3.6 writes AV1 that no decoder accepts past the first frame at low
 * crf with the reference enable-chroma-deltaq=1 (crf <= 3 on 8-bit motion,
 * <= 5 on 10-bit). Such an output would be published, journalled done and
 * its original renamed or deleted: near that zone every frame is decoded. */
static int verify_mode(const RxTranscode *t)
{
    if (t->s.verify == RX_VERIFY_QUICK && !strcmp(t->s.video_encoder, "libaom-av1") &&
        t->s.crf <= 8)
        return RX_VERIFY_FULL;
    return t->s.verify;
}

/*
 * Read the finished .part back before it may take the final name (verify.h).
 * It must open and hold one video and one audio stream per input track; then
 *   quick: seek to the last keyframe we forced and decode from there to the
 *          end: the frames sent since must all come back, undamaged, the
 *          last at the time it was sent (a writer that lost the tail, or an
 *          encoder that wrote undecodable frames, fails here);
 *   full:  decode every frame from the start, with the same checks.
 * Both also want timestamps that never go back and streams that end where
 * the file says. When the seek is not possible, quick decodes everything.
 * Costs about a tenth of the encode's time in full, a few keyframe
 * intervals in quick.
 */
static int verify_output(RxTranscode *t)
{
    RxVerifyRequest rq;
    RxVerifyReport rep;
    int mode = verify_mode(t), ret;

    t->res->verified = RX_VERIFY_OFF;
    if (mode == RX_VERIFY_OFF)
        return 0;
    rx_verify_request_init(&rq);
    rq.path = t->part;
    rq.mode = mode;
    rq.threads = rx_settings_threads(&t->s);
    rq.audio_tracks = t->na;
    rq.cancel = &t->cancel;
    rq.frames = t->res->video_frames;
    rq.from = 0; /* nothing sent: read it all */
    if (t->v.first_pts != AV_NOPTS_VALUE) {
        rq.from = t->v.last_kf - t->v.first_pts;
        rq.from_tb = t->v.enc->time_base;
        rq.frames_from = t->v.since_kf;
        /* The last packet sits where the last frame sent was, both taken
         * from the stream's start (the muxer shifts video for Opus' pre-skip). */
        rq.last_us =
            av_rescale_q(t->v.sent_pts - t->v.first_pts, t->v.enc->time_base, AV_TIME_BASE_Q);
    }
    ret = rx_verify_file(&rq, &rep);
    switch (ret < 0 ? rep.fault : RX_VFAULT_NONE) {
    case RX_VFAULT_NONE:
        if (ret < 0)
            return fail(t, ret, "cannot check '%s' for '%s'", t->part, t->input);
        t->res->verified = rep.mode;
        return 0;
    case RX_VFAULT_CANCELLED:
        return fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
    case RX_VFAULT_OPEN:
        return fail(t, rep.err, "cannot check '%s' for '%s'", t->part, t->input);
    case RX_VFAULT_READ:
        return fail(t, rep.err, "cannot read back '%s' for '%s'", t->part, t->input);
    case RX_VFAULT_STREAMS:
        return fail(t, RX_ERR_BAD_OUTPUT,
                    "output '%s' of '%s' reads back with %d streams, %d audio; want 1 video and "
                    "%d audio",
                    t->part, t->input, rep.streams, rep.audio_streams, t->na);
    case RX_VFAULT_DECODE:
        return fail(t, RX_ERR_BAD_OUTPUT,
                    "output '%s' of '%s' does not decode: %lld of %lld video frames back, %lld "
                    "damaged (an encoder fault; another --crf may avoid it)",
                    t->part, t->input, (long long)rep.frames, (long long)rep.frames_want,
                    (long long)rep.damaged);
    case RX_VFAULT_END:
        return fail(t, RX_ERR_BAD_OUTPUT,
                    "output '%s' of '%s' ends at the wrong time (its last frame is not the last "
                    "one encoded)",
                    t->part, t->input);
    default:
        return fail(t, RX_ERR_BAD_OUTPUT, "%s (output of '%s')", rep.error, t->input);
    }
}

/* ---- measured quality (--measure, --min-ssim, --target-ssim) */

static void pass_close(RxTranscode *t);

static int measure_cancelled(void *opaque)
{
    return cancelled(opaque);
}

static int measure(RxTranscode *t, const RxSpan *spans, int n, RxQuality *q)
{
    RxMeasureOptions mo = {rx_settings_threads(&t->s), measure_cancelled, t, 0};
    int ret = rx_measure(t->input, t->part, spans, n, &mo, q);

    if (ret == AVERROR_EXIT || cancelled(t))
        return fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
    if (ret < 0)
        return fail(t, ret, "cannot measure '%s' against '%s'", t->part, t->input);
    return 0;
}

/* Time of the first video frame sent, in the input stream's microseconds. */
static int64_t first_us(const RxTranscode *t)
{
    /* Under --cfr output time 0 shows the input's first frame, wherever
     * that frame was in the input. */
    if (t->v.cfr && t->v.in_first != AV_NOPTS_VALUE)
        return av_rescale_q(t->v.in_first, t->v.in_tb, AV_TIME_BASE_Q);
    return av_rescale_q(t->v.first_pts, t->v.enc->time_base, AV_TIME_BASE_Q);
}

/*
 * The finished output against its source: MEASURE_SPANS seconds of one
 * second each, centred in equal parts of the video, so an hour costs five
 * seconds of decoding both files; a video of MEASURE_WHOLE seconds or less
 * is measured whole. Below --min-ssim the output is not published.
 */
#define MEASURE_SPANS 5
#define MEASURE_WHOLE (10 * AV_TIME_BASE)

static int measure_output(RxTranscode *t)
{
    RxResult *r = t->res;
    int64_t d = r->video_duration_us, start = first_us(t);
    RxSpan spans[MEASURE_SPANS];
    int n = d <= MEASURE_WHOLE ? 1 : MEASURE_SPANS;
    RxQuality q;
    int ret;

    for (int i = 0; i < n; i++) {
        int64_t off = n == 1 ? 0 : (2 * i + 1) * d / (2 * n) - AV_TIME_BASE / 2;
        spans[i] = (RxSpan){start + off, off, n == 1 ? FFMAX(d, 1) : AV_TIME_BASE};
    }
    ret = measure(t, spans, n, &q);
    if (ret < 0)
        return ret;
    r->ssim = q.ssim;
    r->ssim_min = q.ssim_min;
    r->psnr = q.psnr;
    if (t->s.min_ssim > 0 && q.ssim < t->s.min_ssim)
        return fail(t, RX_ERR_LOW_QUALITY,
                    "output of '%s' measures SSIM %.4f (PSNR %.1f dB), below --min-ssim %.4f; "
                    "output discarded, input left as it is",
                    t->input, q.ssim, q.psnr, t->s.min_ssim);
    return 0;
}

static int open_pass(RxTranscode *t)
{
    int ret;

    memset(&t->v, 0, sizeof(t->v));
    t->na = 0;
    t->io_errno = 0;
    if ((ret = open_input(t)) < 0 || (ret = open_output(t)) < 0 || (ret = open_streams(t)) < 0 ||
        (ret = write_header(t)) < 0)
        return ret;
    return 0;
}

/* A probe starts at the keyframe before its window; encode_video_frame()
 * skips the frames before the window. */
static int seek_window(RxTranscode *t)
{
    const AVStream *st = t->ic->streams[t->v.in_index];
    int64_t ts = av_rescale_q(t->win_start, AV_TIME_BASE_Q, st->time_base);

    if (av_seek_frame(t->ic, t->v.in_index, ts, AVSEEK_FLAG_BACKWARD) < 0 &&
        av_seek_frame(t->ic, t->v.in_index, ts, 0) < 0)
        return fail(t, AVERROR(EIO), "cannot seek in '%s' for a probe encode", t->input);
    return 0;
}

/*
 * One probe encode: the video of [start, start + len) (stream microseconds)
 * at the job's current crf, through the same frame stage and encoder
 * settings as the real encode, into the .part, then measured against the
 * source. Its figures go to a scratch result; a failure is the job's.
 */
static int probe(RxTranscode *t, int64_t start, int64_t len, double *ssim)
{
    RxResult scratch, *res = t->res;
    RxQuality q;
    int ret;

    rx_result_init(&scratch);
    t->res = &scratch;
    t->probe = 1;
    t->win_start = start;
    t->win_end = start + len;
    if ((ret = open_pass(t)) < 0 || (ret = seek_window(t)) < 0 || (ret = start_source(t)) < 0 ||
        (ret = transcode_loop(t)) < 0 || (ret = flush_all(t)) < 0)
        goto done;
    if (t->v.first_pts == AV_NOPTS_VALUE) {
        ret = fail(t, AVERROR_INVALIDDATA, "no video to probe in '%s' at %.1f s", t->input,
                   start / 1e6);
        goto done;
    }
    ret = av_write_trailer(t->oc);
    if (ret >= 0) {
        avio_flush(t->pb);
        ret = t->pb->error;
    }
    if (ret < 0) {
        fail(t, ret, "cannot write '%s' for '%s'", t->part, t->input);
        goto done;
    }
    ret = measure(t, &(RxSpan){first_us(t), 0, t->win_end - first_us(t)}, 1, &q);
    *ssim = q.ssim;
done:
    pass_close(t);
    t->probe = 0;
    t->res = res;
    if (ret < 0) {
        res->err = scratch.err;
        memcpy(res->error, scratch.error, sizeof(res->error));
    }
    return ret;
}

/* Where the probes go, in stream microseconds: TUNE_WINDOW seconds centred
 * in 3, 2 or 1 equal parts of the video (from 30 s, from 12 s, shorter); a
 * video of at most two windows is probed whole. Returns the count. */
#define TUNE_WINDOW  (2 * AV_TIME_BASE)
#define TUNE_WINDOWS 3

static int tune_windows(RxTranscode *t, int64_t start[TUNE_WINDOWS], int64_t *len)
{
    AVFormatContext *ic = NULL;
    int64_t s0 = 0, d = 0;
    int ret, n, vidx;

    ret = avformat_open_input(&ic, t->input, NULL, NULL);
    if (ret >= 0)
        ret = avformat_find_stream_info(ic, NULL);
    if (ret >= 0)
        ret = vidx = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (ret < 0) {
        avformat_close_input(&ic);
        return fail(t, ret == AVERROR_STREAM_NOT_FOUND ? RX_ERR_NOVIDEO : ret,
                    "cannot open '%s' for probe encodes", t->input);
    }
    if (ic->streams[vidx]->start_time != AV_NOPTS_VALUE)
        s0 = av_rescale_q(ic->streams[vidx]->start_time, ic->streams[vidx]->time_base,
                          AV_TIME_BASE_Q);
    if (ic->duration != AV_NOPTS_VALUE)
        d = ic->duration;
    avformat_close_input(&ic);
    if (d <= 2 * TUNE_WINDOW) {
        start[0] = s0;
        *len = INT64_MAX / 4; /* short or of unknown length: to the end */
        return 1;
    }
    n = d >= 30 * (int64_t)AV_TIME_BASE ? 3 : d >= 12 * (int64_t)AV_TIME_BASE ? 2 : 1;
    for (int i = 0; i < n; i++)
        start[i] = s0 + (2 * i + 1) * d / (2 * n) - TUNE_WINDOW / 2;
    *len = TUNE_WINDOW;
    return n;
}

/* Whether crf meets the target in every window (stopping at the first that
 * misses). */
static int crf_meets(RxTranscode *t, int crf, const int64_t *start, int n, int64_t len, int *ok)
{
    double ssim = 0;
    int ret;

    t->s.crf = crf;
    *ok = 1;
    for (int i = 0; i < n && *ok; i++) {
        ret = probe(t, start[i], len, &ssim);
        if (ret < 0)
            return ret;
        t->res->tune_probes++;
        *ok = ssim >= t->s.target_ssim;
    }
    return 0;
}

/*
 * --target-ssim: the highest crf of the encoder's range (settings.h) whose
 * probes all reach the target, judged by the worst window's mean SSIM (a
 * film clip in one window must not be averaged away by slides in the
 * others). The top of the range first, then a binary search: at most 6
 * crfs (libaom), each stopped at the first window that misses. When even
 * the lowest crf misses, it is used: the final measure then reports the
 * output below the target.
 */
static int tune_crf(RxTranscode *t)
{
    RxResult *r = t->res;
    int64_t start[TUNE_WINDOWS], len;
    int lo, hi, best, n, ok, ret;

    rx_settings_crf_range(&t->s, &lo, &hi);
    best = lo;
    n = tune_windows(t, start, &len);
    if (n < 0)
        return n;
    /* Most screen recordings meet the target at the top of the range (the
     * bench corpus: four clips of five at 0.98): one crf tried instead of a
     * search's five. Content that misses it misses in its first window, so
     * the search costs one window more. */
    ret = crf_meets(t, hi, start, n, len, &ok);
    if (ret < 0)
        return ret;
    if (ok)
        lo = best = hi--;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        ret = crf_meets(t, mid, start, n, len, &ok);
        if (ret < 0)
            return ret;
        if (ok) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    t->s.crf = best;
    r->tuned_crf = best;
    return 0;
}

/* Where the decode of audio track a ended, in the input's microseconds;
 * AV_NOPTS_VALUE when nothing of it was decoded. */
static int64_t audio_end_us(const RxTranscode *t, const AudioPath *a)
{
    if (a->start_pts == AV_NOPTS_VALUE)
        return AV_NOPTS_VALUE;
    if (a->copy)
        return av_rescale_q(a->next_in, t->ic->streams[a->in_index]->time_base, AV_TIME_BASE_Q);
    return av_rescale(a->start_pts + a->sent, AV_TIME_BASE, OPUS_RATE);
}

/* Where stream st declares it ends (its index: start + duration), in
 * microseconds; AV_NOPTS_VALUE when it declares nothing of its own. */
static int64_t declared_end_us(const AVStream *st)
{
    int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;

    if (st->duration == AV_NOPTS_VALUE || st->duration <= 0)
        return AV_NOPTS_VALUE;
    return av_rescale_q(start + st->duration, st->time_base, AV_TIME_BASE_Q);
}

static int64_t start_us(const AVStream *st)
{
    return st->start_time != AV_NOPTS_VALUE
               ? av_rescale_q(st->start_time, st->time_base, AV_TIME_BASE_Q)
               : 0;
}

/*
 * After the decode: what the input declares (res->in_duration_us) and how
 * much of it the decode did not reach (res->in_short_us), stream by stream,
 * so that a valid file is never taken for a truncated one, and a truncated
 * one never passes for whole:
 *  - a container that keeps an index of its streams (MP4's moov: each
 *    track's samples with their durations; libavformat's "from stream")
 *    declares where each stream ends: the video's end is compared with the
 *    video's, each audio track's with its own (an MP4 whose audio outlasts
 *    its video is whole), a last frame's length allowed for. A moov that
 *    says 243 s over 4 s of samples is refused, faststart or not;
 *  - one that declares only the whole file's length (Matroska) has it
 *    compared with the latest end of any stream, counted from zero or from
 *    the file's start, whichever reaches further;
 *  - MPEG-TS and MPEG-PS declare nothing: libavformat estimates their length
 *    from the timestamps near the end (or from the bit rate), which a
 *    segment cut from a longer stream, a late first keyframe or a stream
 *    that starts late all throw off. Their length is what the decode found;
 *    a cut one is only a shorter stream.
 */
static void judge_length(RxTranscode *t)
{
    const AVFormatContext *ic = t->ic;
    const AVStream *vst = ic->streams[t->v.in_index];
    RxResult *res = t->res;
    int64_t first = start_us(vst), end = AV_NOPTS_VALUE, got = 0, short_us = 0;
    int whole_only = 0;

    if (ic->duration_estimation_method != AVFMT_DURATION_FROM_STREAM) {
        res->in_duration_us = FFMAX(res->video_duration_us, res->audio_duration_us);
        res->in_short_us = 0;
        return;
    }
    for (int i = -1; i < t->na; i++) {
        const AVStream *st = i < 0 ? vst : ic->streams[t->a[i].in_index];
        int64_t want = declared_end_us(st), have, frame = 0;

        if (i < 0) {
            have = t->v.in_end != AV_NOPTS_VALUE
                       ? av_rescale_q(t->v.in_end, t->v.in_tb, AV_TIME_BASE_Q)
                       : AV_NOPTS_VALUE;
            if (have != AV_NOPTS_VALUE)
                frame = av_rescale_q(t->v.in_end - t->v.in_last, t->v.in_tb, AV_TIME_BASE_Q);
        } else {
            have = audio_end_us(t, &t->a[i]);
        }
        first = FFMIN(first, start_us(st));
        if (have != AV_NOPTS_VALUE)
            got = FFMAX(got, have);
        else
            have = start_us(st); /* nothing decoded: all of it is missing */
        if (want == AV_NOPTS_VALUE) {
            whole_only = 1;
            continue;
        }
        end = end == AV_NOPTS_VALUE ? want : FFMAX(end, want);
        short_us = FFMAX(short_us, want - have - frame);
    }
    if (whole_only && ic->duration > 0) {
        short_us = FFMAX(short_us, ic->duration - FFMAX(got, got - first));
        res->in_duration_us = ic->duration;
    } else if (end != AV_NOPTS_VALUE) {
        res->in_duration_us = end - first;
    }
    res->in_short_us = short_us;
}

static int commit(RxTranscode *t)
{
    int ret = av_write_trailer(t->oc);

    if (ret < 0)
        return fail(t, ret, "cannot finish '%s' for '%s'", t->part, t->input);
    avio_flush(t->pb);
    if (t->pb->error < 0)
        return fail(t, t->pb->error, "cannot write '%s' for '%s'", t->part, t->input);
    if (fsync(t->fd) < 0)
        return fail(t, AVERROR(errno), "cannot sync '%s' for '%s'", t->part, t->input);
    ret = close(t->fd);
    t->fd = -1;
    if (ret < 0)
        return fail(t, AVERROR(errno), "cannot close '%s' for '%s'", t->part, t->input);
    if (cancelled(t)) /* last chance: nothing is published after a cancel */
        return fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
    ret = verify_output(t);
    if (ret >= 0 && rx_settings_measures(&t->s))
        ret = measure_output(t);
    if (ret < 0)
        return ret;
    t->res->out_bytes = t->out_size;
    if (t->check_fn) {
        ret = t->check_fn(t->check_opaque, t->part, t->res);
        if (ret < 0) {
            if (!t->res->error[0])
                fail(t, ret, "'%s' failed the check before commit", t->output);
            t->res->err = ret;
            return ret;
        }
    }
    /* The output keeps the recording's times, for people who sort by them
     * (and resume knows a committed output by its original's mtime). Set on
     * the locked .part, never the final name: the output appears with them
     * or not at all. A file system that refuses costs only the times. */
    if (!t->images) /* a video made of images has no one time of its own */
        futimens(t->lock_fd, t->in_times);
    /* The checks above take time (the read-back, the input's hash): a
     * cancel that came meanwhile must still stop the publish. */
    if (cancelled(t))
        return fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
    ret = check_output_name(t);
    if (ret < 0)
        return ret;
    ret = publish(t);
    if (ret < 0)
        return fail(t, ret, "cannot rename '%s' to '%s' for '%s'", t->part, t->output, t->input);
    t->part_owned = 0; /* the name is free again: never unlink it now */
    close(t->lock_fd);
    t->lock_fd = -1;
    ret = rx_fsync_parent(t->output);
    if (ret < 0)
        return fail(t, ret, "cannot sync the directory of '%s' for '%s'", t->output, t->input);
    return 0;
}

/* Release what one pass (a probe or the encode) opened; the .part's lock
 * and the packets stay for the next pass. */
static void pass_close(RxTranscode *t)
{
    int i;

    stop_source(t); /* first: it uses the demuxer and decoders */
    rx_fqueue_free(&t->queue);
    for (i = 0; i < t->na; i++) {
        AudioPath *a = &t->a[i];
        avcodec_free_context(&a->dec);
        rx_opusenc_free(&a->opus);
        av_channel_layout_uninit(&a->layout);
        swr_free(&a->swr);
        av_channel_layout_uninit(&a->swr_in_layout);
        if (a->fifo)
            av_audio_fifo_free(a->fifo);
        av_freep(&a->pcm);
        av_freep(&a->conv);
    }
    av_freep(&t->a);
    t->na = 0;
    avcodec_free_context(&t->v.dec);
    avcodec_free_context(&t->v.enc);
    rx_vstage_free(&t->v.stage);
    av_packet_free(&t->v.held);
    avformat_close_input(&t->ic);
    avformat_free_context(t->oc);
    t->oc = NULL;
    if (t->pb) {
        av_freep(&t->pb->buffer);
        avio_context_free(&t->pb);
    }
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    t->out_pos = t->out_size = 0;
}

static void job_close(RxTranscode *t)
{
    pass_close(t);
    if (t->lock_fd >= 0) {
        close(t->lock_fd);
        t->lock_fd = -1;
    }
    av_packet_free(&t->pkt);
    av_packet_free(&t->epkt);
    av_frame_free(&t->frame);
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int rx_transcode_run(RxTranscode *t, RxResult *res)
{
    double start = now_seconds();
    struct stat st;
    int ret;

    rx_result_init(res);
    t->res = res;
    res->state = RX_STATE_STARTED;
    if (t->ran) {
        ret = fail(t, AVERROR(EINVAL), "job for '%s' already ran", t->input);
        goto done;
    }
    t->ran = 1;

    if (t->images) {
        if ((ret = find_images(t)) < 0)
            goto done;
    } else if (stat(t->input, &st) < 0) {
        ret = fail(t, AVERROR(errno), "cannot open '%s'", t->input);
        goto done;
    } else {
        res->in_bytes = st.st_size;
        t->in_times[0] = st.st_atim; /* before this job reads it */
        t->in_times[1] = st.st_mtim;
    }
    /* Checked before hours of work, and again before (and, without
     * --overwrite, atomically at) publish. */
    ret = check_output_name(t);
    if (ret < 0)
        goto done;

    t->pkt = av_packet_alloc();
    t->epkt = av_packet_alloc();
    t->frame = av_frame_alloc();
    if (!t->pkt || !t->epkt || !t->frame) {
        ret = fail(t, AVERROR(ENOMEM), "cannot start job for '%s'", t->input);
        goto done;
    }
    if (t->s.target_ssim > 0) {
        rx_settings_tune_key(&t->s, res->tuned_for);
        if (t->known_crf > 0) {
            t->s.crf = res->tuned_crf = t->known_crf;
        } else {
            ret = tune_crf(t);
            if (ret < 0)
                goto done;
            if (t->tuned_fn)
                t->tuned_fn(t->tuned_opaque, res);
        }
    }
    if ((ret = open_pass(t)) < 0 || (ret = start_source(t)) < 0 || (ret = transcode_loop(t)) < 0 ||
        (ret = flush_all(t)) < 0)
        goto done;
    /* Known before commit: the pre-publish check compares them with what
     * the input declares. */
    if (t->v.first_pts != AV_NOPTS_VALUE)
        res->video_duration_us =
            av_rescale_q(t->v.last_end - t->v.first_pts, t->v.enc->time_base, AV_TIME_BASE_Q);
    if (t->na && !t->a[0].copy)
        res->audio_duration_us = av_rescale(t->a[0].sent, AV_TIME_BASE, OPUS_RATE);
    else if (t->na && t->a[0].start_pts != AV_NOPTS_VALUE)
        res->audio_duration_us =
            av_rescale_q(t->a[0].next_in - t->a[0].start_pts,
                         t->ic->streams[t->a[0].in_index]->time_base, AV_TIME_BASE_Q);
    if (!t->images)
        judge_length(t);
    ret = commit(t);

done:
    /* Whatever went wrong, no partial output survives. Only a .part this
     * job created or took over (never one another reencode is writing, nor
     * one it did not get to open), and while the lock is still held. */
    if (ret < 0 && t->part_owned)
        unlink(t->part);
    t->part_owned = 0;
    job_close(t);
    if (ret < 0) {
        res->state = ret == RX_ERR_CANCELLED ? RX_STATE_INTERRUPTED : RX_STATE_FAILED;
        res->err = ret;
    } else {
        res->state = RX_STATE_ENCODED;
    }
    res->wall_seconds = now_seconds() - start;
    t->res = NULL;
    return ret;
}

void rx_transcode_free(RxTranscode **pt)
{
    RxTranscode *t;

    if (!pt || !*pt)
        return;
    t = *pt;
    av_freep(&t->input);
    av_freep(&t->output);
    av_freep(&t->part);
    rx_imgseq_free(&t->paths, t->n_paths);
    pthread_mutex_destroy(&t->err_lock);
    av_freep(pt);
}
