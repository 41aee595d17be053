/*
 * source.c - the input side of a job: opening the file (or the images),
 * the decoders' set-up, and the source thread that demuxes and decodes
 * ahead of the encoders through the frame queue; after the decode, how
 * much of what the input declares it reached (judge_length).
 */
#include <errno.h>
#include <sys/stat.h>

#include "journal/crash.h"
#include "transcode/imgseq.h"
#include "transcode/transcode_int.h"

/* Called by libav during blocking I/O of the demuxer. */
static int interrupt_cb(void *opaque)
{
    return tc_cancelled(opaque);
}

/* ---- input */

/* The input file; with images, the first image (its picture sets the
 * encoder's size), and the expected duration is that of the series. */
int tc_open_input(RxTranscode *t)
{
    const char *path = t->images ? t->paths[0] : t->input;
    int ret;

    t->ic = avformat_alloc_context();
    if (!t->ic)
        return tc_fail(t, AVERROR(ENOMEM), "cannot open '%s'", path);
    /* Must be set before opening: it is what lets cancel interrupt I/O. */
    t->ic->interrupt_callback.callback = interrupt_cb;
    t->ic->interrupt_callback.opaque = t;
    ret = avformat_open_input(&t->ic, path, NULL, NULL);
    if (ret < 0) /* avformat_open_input frees ic on failure */
        return tc_fail(t, tc_cancelled(t) ? RX_ERR_CANCELLED : ret, "cannot open '%s'", path);
    ret = avformat_find_stream_info(t->ic, NULL);
    if (ret < 0)
        return tc_fail(t, tc_cancelled(t) ? RX_ERR_CANCELLED : ret,
                       "cannot read stream info of '%s'", path);
    if (t->images)
        t->res->in_duration_us =
            av_rescale_q(t->n_paths, (AVRational){t->s.fps_den, t->s.fps_num}, AV_TIME_BASE_Q);
    else if (t->ic->duration != AV_NOPTS_VALUE)
        t->res->in_duration_us = t->ic->duration;
    return 0;
}

/* With images: find them, and their total size (the input's bytes). */
int tc_find_images(RxTranscode *t)
{
    char why[RX_ERROR_MAX];
    struct stat st;
    int ret = rx_imgseq_expand(t->input, &t->paths, &t->n_paths, why, sizeof(why));

    if (ret < 0)
        return tc_fail(t, ret, "%s", why);
    for (size_t i = 0; i < t->n_paths; i++) {
        if (stat(t->paths[i], &st) < 0)
            return tc_fail(t, AVERROR(errno), "cannot open image '%s' (%zu of %zu)", t->paths[i],
                           i + 1, t->n_paths);
        t->res->in_bytes += st.st_size;
    }
    return 0;
}

int tc_open_decoder(RxTranscode *t, AVStream *st, AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *dec;
    int ret;

    if (!codec)
        return tc_fail(t, AVERROR_DECODER_NOT_FOUND, "no decoder for stream %d (%s) of '%s'",
                       st->index, avcodec_get_name(st->codecpar->codec_id), t->input);
    dec = avcodec_alloc_context3(codec);
    if (!dec)
        return tc_fail(t, AVERROR(ENOMEM), "cannot open decoder for stream %d of '%s'", st->index,
                       t->input);
    *out = dec;
    ret = avcodec_parameters_to_context(dec, st->codecpar);
    if (ret < 0)
        return tc_fail(t, ret, "cannot open decoder for stream %d of '%s'", st->index, t->input);
    dec->pkt_timebase = st->time_base;
    if (dec->codec_type == AVMEDIA_TYPE_VIDEO) {
        /* The decoder's threads come out of the job's budget: with several
         * jobs in a pool an uncapped decoder would take every core. */
        dec->thread_count = rx_settings_threads(&t->s);
        dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    }
    ret = avcodec_open2(dec, codec, NULL);
    if (ret < 0)
        return tc_fail(t, ret, "cannot open decoder for stream %d of '%s'", st->index, t->input);
    return 0;
}

/* Source thread: hand the decoded frame in t->frame to the job thread. */
static int emit_frame(RxTranscode *t, int tag)
{
    AVFrame *f = av_frame_alloc();
    int ret;

    if (!f)
        return tc_fail(t, AVERROR(ENOMEM), "cannot decode '%s'", t->input);
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
        return tc_fail(t, AVERROR(ENOMEM), "cannot read '%s'", t->input);
    }
    av_packet_move_ref(p, t->pkt);
    ret = rx_fqueue_push(t->queue, &f, tag);
    av_frame_free(&f); /* NULL unless the job thread stopped listening */
    return ret;
}

/* The error of a decoder: tag is TAG_VIDEO or the audio track's index. */
static int decode_failed(RxTranscode *t, int tag, int err)
{
    if (tag == TAG_VIDEO)
        return tc_fail(t, err, "cannot decode video of '%s'", t->input);
    return tc_fail(t, err, "cannot decode audio stream %d of '%s'", t->a[tag].in_index, t->input);
}

/* Source thread: send pkt (NULL = flush) to the decoder, queue its frames
 * under tag. */
static int decode(RxTranscode *t, AVCodecContext *dec, const AVPacket *pkt, int tag)
{
    int ret = avcodec_send_packet(dec, pkt);

    if (ret == AVERROR_INVALIDDATA) {
        /* A damaged packet costs a frame, not the recording. */
        t->res->decode_errors++;
        return 0;
    }
    if (ret < 0 && ret != AVERROR_EOF)
        return decode_failed(t, tag, ret);
    for (;;) {
        ret = avcodec_receive_frame(dec, t->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret == AVERROR_INVALIDDATA) {
            t->res->decode_errors++;
            continue;
        }
        if (ret < 0)
            return decode_failed(t, tag, ret);
        ret = emit_frame(t, tag);
        if (ret < 0)
            return ret;
    }
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
        if (tc_cancelled(t)) {
            ret = tc_fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
            break;
        }
        ret = av_read_frame(t->ic, t->pkt);
        if (ret == AVERROR_EOF) {
            ret = decode(t, t->v.dec, NULL, TAG_VIDEO);
            for (int i = 0; i < t->na && ret >= 0; i++)
                if (!t->a[i].copy)
                    ret = decode(t, t->a[i].dec, NULL, i);
            break;
        }
        if (ret < 0) {
            ret = tc_cancelled(t) ? tc_fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input)
                                  : tc_fail(t, ret, "cannot read '%s'", t->input);
            break;
        }
        if (t->pkt->stream_index == t->v.in_index) {
            ret = decode(t, t->v.dec, t->pkt, TAG_VIDEO);
        } else {
            AudioPath *a = audio_for(t, t->pkt->stream_index);
            ret = !a        ? 0
                  : a->copy ? emit_packet(t, (int)(a - t->a))
                            : decode(t, a->dec, t->pkt, (int)(a - t->a));
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
        if (tc_cancelled(t)) {
            ret = tc_fail(t, RX_ERR_CANCELLED, "cancelled '%s'", t->input);
            break;
        }
        ret = rx_imgseq_decode(t->paths[i], t->frame);
        if (ret < 0) {
            ret = tc_fail(t, ret, "cannot decode image '%s' (%zu of %zu)", t->paths[i], i + 1,
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

int tc_start_source(RxTranscode *t)
{
    int ret = rx_fqueue_new(&t->queue, QUEUE_FRAMES);

    if (ret < 0)
        return tc_fail(t, ret, "cannot start decoding '%s'", t->input);
    ret = pthread_create(&t->source, NULL, source_thread, t);
    if (ret)
        return tc_fail(t, AVERROR(ret), "cannot start decoding '%s'", t->input);
    t->source_started = 1;
    return 0;
}

/* Stop the source thread (if still running) and wait for it. */
void tc_stop_source(RxTranscode *t)
{
    if (!t->source_started)
        return;
    rx_fqueue_close(t->queue);
    pthread_join(t->source, NULL);
    t->source_started = 0;
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
void tc_judge_length(RxTranscode *t)
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
