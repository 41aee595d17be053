/*
 * job.c - one transcode job: its creation, the run (probe passes, the
 * encode, the flush), the errors it records, and the commit: trailer,
 * fsync, read-back, measure, the check hook, times and the rename.
 * The stages it drives live in the other files of src/transcode/
 * (transcode_int.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/avstring.h>
#include <libavutil/channel_layout.h>

#include "reencode/verify.h"
#include "core/clock.h"
#include "core/fsutil.h"
#include "transcode/imgseq.h"
#include "encoders/encoder.h"
#include "transcode/transcode_int.h"

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

int tc_fail(RxTranscode *t, int err, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = vfail(t, err, 1, fmt, ap);
    va_end(ap);
    return ret;
}

/* tc_fail() for a refusal whose message says all there is to say. */

int tc_refuse(RxTranscode *t, int err, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = vfail(t, err, 0, fmt, ap);
    va_end(ap);
    return ret;
}

int tc_cancelled(const RxTranscode *t)
{
    return atomic_load_explicit(&t->cancel, memory_order_relaxed);
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

/* Add a line to res->note: what the job changed to get the input through. */

void tc_note(RxTranscode *t, const char *fmt, ...)
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

/* ---- the run */

/* Tell the progress callback where the encode is (not during a probe). */
void tc_report_progress(RxTranscode *t)
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

int tc_open_streams(RxTranscode *t)
{
    int vidx, i, ret;

    vidx = av_find_best_stream(t->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (vidx < 0 || (t->ic->streams[vidx]->disposition & AV_DISPOSITION_ATTACHED_PIC))
        return tc_fail(t, RX_ERR_NOVIDEO, "cannot re-encode '%s'", t->input);

    for (i = 0; i < (int)t->ic->nb_streams && !t->probe; i++)
        if (t->ic->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
            t->na++;
    if (t->na) {
        t->a = av_calloc(t->na, sizeof(*t->a));
        if (!t->a)
            return tc_fail(t, AVERROR(ENOMEM), "cannot open '%s'", t->input);
    }

    ret = tc_open_video(t, t->ic->streams[vidx]);
    if (ret < 0)
        return ret;
    t->na = 0;
    for (i = 0; i < (int)t->ic->nb_streams && !t->probe; i++) {
        if (t->ic->streams[i]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO)
            continue;
        ret = t->s.audio_copy ? tc_open_audio_copy(t, t->ic->streams[i], &t->a[t->na++])
                              : tc_open_audio(t, t->ic->streams[i], &t->a[t->na++]);
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

/* Job thread: encode what the source thread decodes. */
int tc_transcode_loop(RxTranscode *t)
{
    AVFrame *f;
    int tag, ret;

    for (;;) {
        if (tc_cancelled(t))
            return tc_fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
        ret = rx_fqueue_pop(t->queue, &f, &tag);
        if (ret == AVERROR_EOF)
            break;
        if (ret < 0) /* the source thread has already said why */
            return tc_fail(t, ret, "cannot read '%s'", t->input);
        ret = tag == TAG_VIDEO ? tc_encode_video_frame(t, f)
              : t->a[tag].copy ? tc_mux_copied(t, &t->a[tag], (AVPacket *)f->opaque_ref->data)
                               : tc_process_audio_frame(t, &t->a[tag], f);
        av_frame_free(&f);
        if (ret < 0)
            return ret;
        if (ret > 0) /* a probe's window is done */
            break;
    }
    tc_stop_source(t);
    return 0;
}

/* At the end of input (decoders already flushed by the source thread):
 * the resamplers and FIFOs first, then the encoders, then the held video
 * packet. */
int tc_flush_all(RxTranscode *t)
{
    int ret = tc_flush_video(t);

    for (int i = 0; i < t->na && ret >= 0; i++)
        if (!t->a[i].copy)
            ret = tc_flush_audio(t, &t->a[i]);
    return ret;
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
        return tc_fail(t, AVERROR(errno), "cannot look at output '%s' of '%s'", t->output,
                       t->input);
    }
    if (!t->s.overwrite)
        return tc_fail(t, AVERROR(EEXIST),
                       "output '%s' of '%s' exists (use --overwrite to replace it)", t->output,
                       t->input);
    if (!S_ISREG(st.st_mode))
        return tc_fail(t, AVERROR(EEXIST),
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

/* An encoder that writes undecodable frames at low crf (libaom 3.6, see
 * its full_verify_crf) has every frame read back near that zone: such an
 * output would be published, journalled done and its original renamed or
 * deleted. */
static int verify_mode(const RxTranscode *t)
{
    const RxEncoder *e = rx_encoder_find(t->s.video_encoder);

    if (t->s.verify == RX_VERIFY_QUICK && e && t->s.crf <= e->full_verify_crf)
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
            return tc_fail(t, ret, "cannot check '%s' for '%s'", t->part, t->input);
        t->res->verified = rep.mode;
        return 0;
    case RX_VFAULT_CANCELLED:
        return tc_fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
    case RX_VFAULT_OPEN:
        return tc_fail(t, rep.err, "cannot check '%s' for '%s'", t->part, t->input);
    case RX_VFAULT_READ:
        return tc_fail(t, rep.err, "cannot read back '%s' for '%s'", t->part, t->input);
    case RX_VFAULT_STREAMS:
        return tc_fail(t, RX_ERR_BAD_OUTPUT,
                       "output '%s' of '%s' reads back with %d streams, %d audio; want 1 video and "
                       "%d audio",
                       t->part, t->input, rep.streams, rep.audio_streams, t->na);
    case RX_VFAULT_DECODE:
        return tc_fail(t, RX_ERR_BAD_OUTPUT,
                       "output '%s' of '%s' does not decode: %lld of %lld video frames back, %lld "
                       "damaged (an encoder fault; another --crf may avoid it)",
                       t->part, t->input, (long long)rep.frames, (long long)rep.frames_want,
                       (long long)rep.damaged);
    case RX_VFAULT_END:
        return tc_fail(t, RX_ERR_BAD_OUTPUT,
                       "output '%s' of '%s' ends at the wrong time (its last frame is not the last "
                       "one encoded)",
                       t->part, t->input);
    default:
        return tc_fail(t, RX_ERR_BAD_OUTPUT, "%s (output of '%s')", rep.error, t->input);
    }
}

static int commit(RxTranscode *t)
{
    int ret = av_write_trailer(t->oc);

    if (ret < 0)
        return tc_fail(t, ret, "cannot finish '%s' for '%s'", t->part, t->input);
    avio_flush(t->pb);
    if (t->pb->error < 0)
        return tc_fail(t, t->pb->error, "cannot write '%s' for '%s'", t->part, t->input);
    if (fsync(t->fd) < 0)
        return tc_fail(t, AVERROR(errno), "cannot sync '%s' for '%s'", t->part, t->input);
    ret = close(t->fd);
    t->fd = -1;
    if (ret < 0)
        return tc_fail(t, AVERROR(errno), "cannot close '%s' for '%s'", t->part, t->input);
    if (tc_cancelled(t)) /* last chance: nothing is published after a cancel */
        return tc_fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
    ret = verify_output(t);
    if (ret >= 0 && rx_settings_measures(&t->s))
        ret = tc_measure_output(t);
    if (ret < 0)
        return ret;
    t->res->out_bytes = t->out_size;
    if (t->check_fn) {
        ret = t->check_fn(t->check_opaque, t->part, t->res);
        if (ret < 0) {
            if (!t->res->error[0])
                tc_fail(t, ret, "'%s' failed the check before commit", t->output);
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
    if (tc_cancelled(t))
        return tc_fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
    ret = check_output_name(t);
    if (ret < 0)
        return ret;
    ret = publish(t);
    if (ret < 0)
        return tc_fail(t, ret, "cannot rename '%s' to '%s' for '%s'", t->part, t->output, t->input);
    t->part_owned = 0; /* the name is free again: never unlink it now */
    close(t->lock_fd);
    t->lock_fd = -1;
    ret = rx_fsync_parent(t->output);
    if (ret < 0)
        return tc_fail(t, ret, "cannot sync the directory of '%s' for '%s'", t->output, t->input);
    return 0;
}

/* Release what one pass (a probe or the encode) opened; the .part's lock
 * and the packets stay for the next pass. */
void tc_pass_close(RxTranscode *t)
{
    int i;

    tc_stop_source(t); /* first: it uses the demuxer and decoders */
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
    tc_pass_close(t);
    if (t->lock_fd >= 0) {
        close(t->lock_fd);
        t->lock_fd = -1;
    }
    av_packet_free(&t->pkt);
    av_packet_free(&t->epkt);
    av_frame_free(&t->frame);
}

int rx_transcode_run(RxTranscode *t, RxResult *res)
{
    double start = rx_clock_now();
    struct stat st;
    int ret;

    rx_result_init(res);
    t->res = res;
    res->state = RX_STATE_STARTED;
    if (t->ran) {
        ret = tc_fail(t, AVERROR(EINVAL), "job for '%s' already ran", t->input);
        goto done;
    }
    t->ran = 1;

    if (t->images) {
        if ((ret = tc_find_images(t)) < 0)
            goto done;
    } else if (stat(t->input, &st) < 0) {
        ret = tc_fail(t, AVERROR(errno), "cannot open '%s'", t->input);
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
        ret = tc_fail(t, AVERROR(ENOMEM), "cannot start job for '%s'", t->input);
        goto done;
    }
    if (t->s.target_ssim > 0) {
        rx_settings_tune_key(&t->s, res->tuned_for);
        if (t->known_crf > 0) {
            t->s.crf = res->tuned_crf = t->known_crf;
        } else {
            ret = tc_tune_crf(t);
            if (ret < 0)
                goto done;
            if (t->tuned_fn)
                t->tuned_fn(t->tuned_opaque, res);
        }
    }
    if ((ret = tc_open_pass(t)) < 0 || (ret = tc_start_source(t)) < 0 ||
        (ret = tc_transcode_loop(t)) < 0 || (ret = tc_flush_all(t)) < 0)
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
        tc_judge_length(t);
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
    res->wall_seconds = rx_clock_now() - start;
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
