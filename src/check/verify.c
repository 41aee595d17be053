/*
 * verify.c - read a WebM back and judge whether it is whole (see verify.h).
 *
 * Judged by decoding, not by parsing alone: a writer that lost its tail, an
 * encoder that wrote frames no decoder accepts, a file cut short or bytes
 * changed on disk all show as frames missing, refused or out of time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "reencode/log.h"
#include "reencode/settings.h"
#include "reencode/verify.h"

/* quick without a frame to start from: this far before the declared end. */
#define TAIL_US 3000000

/* One read-back: what the streams showed so far. */
typedef struct Reader {
    AVFormatContext *ic;
    AVCodecContext **dec; /* per stream; NULL for streams not decoded */
    unsigned n;
    int vidx, aidx;       /* the video stream, the first audio stream */
    int64_t from;         /* count video frames at or after this pts; AV_NOPTS_VALUE: all */
    int64_t *prev;        /* per stream: last timestamp seen (frames for video, packets else) */
    int64_t *end;         /* per stream: largest pts + duration seen */
    int64_t origin;       /* the file's start, AV_TIME_BASE */
    int64_t last_pts;     /* of the last video packet */
    int64_t prev_pts;     /* of the video packet before it */
    int64_t video_pts_us; /* the video's end by its packets alone (rep->video_us infers) */
} Reader;

void rx_verify_request_init(RxVerifyRequest *rq)
{
    memset(rq, 0, sizeof(*rq));
    rq->mode = RX_VERIFY_FULL;
    rq->audio_tracks = -1;
    rq->from = AV_NOPTS_VALUE;
    rq->frames = rq->frames_from = RX_VERIFY_UNCHECKED;
    rq->last_us = rq->video_us = rq->audio_us = RX_VERIFY_UNCHECKED;
}

static int judge(RxVerifyReport *rep, RxVerifyFault fault, const char *fmt, ...) RX_PRINTF(3, 4);

/* Record the first problem; later ones are consequences. */
static int judge(RxVerifyReport *rep, RxVerifyFault fault, const char *fmt, ...)
{
    va_list ap;

    if (rep->fault != RX_VFAULT_NONE)
        return RX_ERR_BAD_OUTPUT;
    rep->fault = fault;
    va_start(ap, fmt);
    vsnprintf(rep->error, sizeof(rep->error), fmt, ap);
    va_end(ap);
    return fault == RX_VFAULT_CANCELLED ? RX_ERR_CANCELLED : RX_ERR_BAD_OUTPUT;
}

static int on_interrupt(void *opaque)
{
    return opaque && atomic_load_explicit((atomic_int *)opaque, memory_order_relaxed);
}

static int64_t start_of(const AVStream *st)
{
    return st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
}

/* A timestamp that goes back is disorder. Equal ones are too, for video (a
 * picture that is never shown, and players refuse the pair: see
 * read_all()); audio packets of one instant are left to their decoder. */
static void see_time(Reader *r, int i, int64_t ts, RxVerifyReport *rep)
{
    if (ts == AV_NOPTS_VALUE)
        return;
    if (r->prev[i] != AV_NOPTS_VALUE && ts < r->prev[i])
        rep->disorder++;
    r->prev[i] = ts;
}

/* Receive what stream i's decoder has: count damage, and video frames at or
 * after r->from. */
static void drain(Reader *r, int i, AVFrame *frame, RxVerifyReport *rep)
{
    AVCodecContext *d = r->dec[i];
    int ret;

    while ((ret = avcodec_receive_frame(d, frame)) != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
        if (ret < 0) { /* the frame is lost; what follows comes next time */
            rep->damaged++;
            return;
        }
        if (frame->decode_error_flags || (frame->flags & AV_FRAME_FLAG_CORRUPT))
            rep->damaged++;
        if (i == r->vidx) {
            see_time(r, i, frame->best_effort_timestamp, rep);
            if (r->from == AV_NOPTS_VALUE || frame->best_effort_timestamp >= r->from)
                rep->frames++;
        }
        av_frame_unref(frame);
    }
}

static int open_decoders(Reader *r, const RxVerifyRequest *rq, RxVerifyReport *rep)
{
    int ret = 0;

    r->n = r->ic->nb_streams;
    r->dec = calloc(r->n ? r->n : 1, sizeof(*r->dec));
    r->prev = malloc((r->n ? r->n : 1) * sizeof(*r->prev));
    r->end = malloc((r->n ? r->n : 1) * sizeof(*r->end));
    if (!r->dec || !r->prev || !r->end)
        return AVERROR(ENOMEM);
    for (unsigned i = 0; i < r->n; i++) {
        const AVCodecParameters *par = r->ic->streams[i]->codecpar;
        const AVCodec *codec = avcodec_find_decoder(par->codec_id);

        r->prev[i] = r->end[i] = AV_NOPTS_VALUE;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO && r->vidx < 0)
            r->vidx = (int)i;
        else if (par->codec_type == AVMEDIA_TYPE_AUDIO)
            rep->audio_streams++;
        else
            continue;
        if (par->codec_type == AVMEDIA_TYPE_AUDIO && r->aidx < 0)
            r->aidx = (int)i;
        if (!codec)
            return AVERROR_DECODER_NOT_FOUND;
        if (!(r->dec[i] = avcodec_alloc_context3(codec)))
            return AVERROR(ENOMEM);
        ret = avcodec_parameters_to_context(r->dec[i], par);
        if (ret < 0)
            return ret;
        r->dec[i]->thread_count = rq->threads;
        r->dec[i]->pkt_timebase = r->ic->streams[i]->time_base;
        ret = avcodec_open2(r->dec[i], codec, NULL);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* quick: go near the end. Returns the frames expected from there (or -1),
 * and leaves r->from set; on a file that cannot seek, reads it all. */
static int64_t seek_tail(Reader *r, const RxVerifyRequest *rq, RxVerifyReport *rep)
{
    const AVStream *st = r->ic->streams[r->vidx];
    int64_t ts;

    if (rq->from != AV_NOPTS_VALUE) {
        if (rq->from <= 0) /* the first frame: nothing to skip */
            return rq->frames;
        /* As written: from the stream's start, which the muxer shifted. */
        ts = start_of(st) + av_rescale_q(rq->from, rq->from_tb, st->time_base);
    } else {
        if (r->ic->duration <= TAIL_US)
            return rq->frames;
        ts = start_of(st) + av_rescale_q(r->ic->duration - TAIL_US, AV_TIME_BASE_Q, st->time_base);
    }
    /* The index may take us to an earlier keyframe: frames before ts are
     * decoded (their damage counts) but not counted. */
    if (av_seek_frame(r->ic, r->vidx, ts, AVSEEK_FLAG_BACKWARD) < 0) {
        rep->mode = RX_VERIFY_FULL; /* no index: from the start */
        return rq->frames;
    }
    r->from = ts;
    return rq->from != AV_NOPTS_VALUE ? rq->frames_from : RX_VERIFY_UNCHECKED;
}

static int64_t us_of(int64_t ts, const AVStream *st)
{
    return av_rescale_q(ts - start_of(st), st->time_base, AV_TIME_BASE_Q);
}

/* got, or anywhere from lo to got (lo: the video's end before its last
 * frame's inferred duration, see measure()), is not within
 * max(50 ms, 0.1 %) of want. */
static int off_from(int64_t lo, int64_t got, int64_t want)
{
    int64_t tol = want / 1000 > 50000 ? want / 1000 : 50000;
    return want != RX_VERIFY_UNCHECKED && (got < want - tol || lo > want + tol);
}

static int off_by(int64_t got, int64_t want)
{
    return off_from(got, got, want);
}

/* What the packets and frames say, in the order of verify.h's faults. */
static int verdict(Reader *r, const RxVerifyRequest *rq, RxVerifyReport *rep, int64_t want)
{
    const char *p = rq->path;
    int64_t tol, end;

    if (rep->damaged || (want != RX_VERIFY_UNCHECKED && rep->frames != want)) {
        if (want != RX_VERIFY_UNCHECKED)
            return judge(rep, RX_VFAULT_DECODE,
                         "'%s' does not decode: %lld of %lld video frames back, %lld damaged", p,
                         (long long)rep->frames, (long long)want, (long long)rep->damaged);
        return judge(rep, RX_VFAULT_DECODE, "'%s' does not decode: %lld damaged packets or frames",
                     p, (long long)rep->damaged);
    }
    if (rq->last_us != RX_VERIFY_UNCHECKED &&
        (r->last_pts == AV_NOPTS_VALUE || llabs(rep->last_us - rq->last_us) > 2000))
        return judge(rep, RX_VFAULT_END,
                     "'%s' ends at the wrong time (its last frame is not the last one encoded)", p);
    if (rep->disorder)
        return judge(rep, RX_VFAULT_ORDER, "'%s' has %lld timestamps that go back in time", p,
                     (long long)rep->disorder);
    if (rep->ties)
        return judge(rep, RX_VFAULT_ORDER,
                     "'%s' has %lld video frames at the same time as the frame before", p,
                     (long long)rep->ties);
    /* A file cut short keeps the header that declares its whole length.
     * FFmpeg's Matroska muxer declares where the latest stream ends, counted
     * from zero: a file whose timestamps start late (a segment of a longer
     * MPEG-TS, MPEG-PS's 0.5 s) is measured from zero too. */
    tol = rep->declared_us / 200 > 500000 ? rep->declared_us / 200 : 500000;
    end = rep->end_us + r->origin;
    if (rep->declared_us > 0 && end < rep->declared_us - tol)
        return judge(rep, RX_VFAULT_SHORT, "'%s' ends at %.1f s but declares %.1f s (cut short?)",
                     p, end / 1e6, rep->declared_us / 1e6);
    /* The journal counts the last frame's true duration, which the file
     * does not keep: the video may end anywhere from its last packet to
     * that plus the interval before it. */
    if (off_from(r->video_pts_us, rep->video_us, rq->video_us))
        return judge(rep, RX_VFAULT_DURATION, "'%s' holds %.3f s of video, not %.3f s", p,
                     rep->video_us / 1e6, rq->video_us / 1e6);
    if (rq->audio_us != RX_VERIFY_UNCHECKED && (r->aidx < 0 || off_by(rep->audio_us, rq->audio_us)))
        return judge(rep, RX_VFAULT_DURATION, "'%s' holds %.3f s of audio, not %.3f s", p,
                     rep->audio_us / 1e6, rq->audio_us / 1e6);
    return 0;
}

/* Read every packet from where we are to the end, decoding video and audio. */
static int read_all(Reader *r, const RxVerifyRequest *rq, RxVerifyReport *rep, AVPacket *pkt,
                    AVFrame *frame)
{
    int ret;

    for (;;) {
        int i;

        if (on_interrupt(rq->cancel))
            return judge(rep, RX_VFAULT_CANCELLED, "cancelled reading '%s' back", rq->path);
        ret = av_read_frame(r->ic, pkt);
        if (ret == AVERROR_EOF)
            break;
        if (ret < 0) {
            rep->err = ret;
            return judge(rep, on_interrupt(rq->cancel) ? RX_VFAULT_CANCELLED : RX_VFAULT_READ,
                         "cannot read back '%s'", rq->path);
        }
        i = pkt->stream_index;
        if (i == r->vidx) {
            if (pkt->pts != AV_NOPTS_VALUE && pkt->pts == r->last_pts)
                rep->ties++;
            r->prev_pts = r->last_pts;
            r->last_pts = pkt->pts;
        } else
            see_time(r, i, pkt->pts, rep);
        if (pkt->pts != AV_NOPTS_VALUE && pkt->pts + pkt->duration > r->end[i])
            r->end[i] = pkt->pts + pkt->duration;
        if (r->dec[i] && avcodec_send_packet(r->dec[i], pkt) < 0)
            rep->damaged++;
        av_packet_unref(pkt);
        if (r->dec[i])
            drain(r, i, frame, rep);
    }
    for (unsigned i = 0; i < r->n; i++) {
        if (r->dec[i] && avcodec_send_packet(r->dec[i], NULL) >= 0)
            drain(r, (int)i, frame, rep);
    }
    return 0;
}

/* Ends of the streams, from what read_all() saw. WebM keeps no duration for
 * video frames: the last one is taken to last as long as the one before it,
 * as players take it (and as the job makes it: vstage.h, the end of
 * elision). */
static void measure(Reader *r, RxVerifyReport *rep)
{
    int64_t origin = r->origin = r->ic->start_time != AV_NOPTS_VALUE ? r->ic->start_time : 0;

    if (r->vidx >= 0 && r->end[r->vidx] != AV_NOPTS_VALUE)
        r->video_pts_us = us_of(r->end[r->vidx], r->ic->streams[r->vidx]);
    /* Whatever duration the packet carries: WebM's video blocks carry none
     * of their own, only the track's DefaultDuration (at most 1/60 s, for
     * Chromium's seeks: src/transcode/video.c), shorter than a 1 fps frame. */
    if (r->vidx >= 0 && r->last_pts != AV_NOPTS_VALUE && r->prev_pts != AV_NOPTS_VALUE &&
        r->last_pts > r->prev_pts)
        r->end[r->vidx] = FFMAX(r->end[r->vidx], 2 * r->last_pts - r->prev_pts);
    rep->declared_us = r->ic->duration > 0 ? r->ic->duration : 0;
    for (unsigned i = 0; i < r->n; i++) {
        const AVStream *st = r->ic->streams[i];
        int64_t end;
        if (r->end[i] == AV_NOPTS_VALUE)
            continue;
        end = av_rescale_q(r->end[i], st->time_base, AV_TIME_BASE_Q) - origin;
        if (end > rep->end_us)
            rep->end_us = end;
    }
    if (r->last_pts != AV_NOPTS_VALUE)
        rep->last_us = us_of(r->last_pts, r->ic->streams[r->vidx]);
    if (r->end[r->vidx] != AV_NOPTS_VALUE)
        rep->video_us = us_of(r->end[r->vidx], r->ic->streams[r->vidx]);
    if (r->aidx >= 0 && r->end[r->aidx] != AV_NOPTS_VALUE)
        rep->audio_us = us_of(r->end[r->aidx], r->ic->streams[r->aidx]);
}

int rx_verify_file(const RxVerifyRequest *rq, RxVerifyReport *rep)
{
    Reader r = {.vidx = -1,
                .aidx = -1,
                .from = AV_NOPTS_VALUE,
                .last_pts = AV_NOPTS_VALUE,
                .prev_pts = AV_NOPTS_VALUE};
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int64_t want;
    int ret;

    memset(rep, 0, sizeof(*rep));
    rep->mode = rq->mode;
    rep->video_us = rep->audio_us = rep->frames_want = -1;
    if (!pkt || !frame || !(r.ic = avformat_alloc_context())) {
        ret = AVERROR(ENOMEM);
        goto done;
    }
    r.ic->interrupt_callback.callback = on_interrupt;
    r.ic->interrupt_callback.opaque = rq->cancel;
    ret = avformat_open_input(&r.ic, rq->path, NULL, NULL);
    if (ret >= 0)
        ret = avformat_find_stream_info(r.ic, NULL);
    if (ret >= 0)
        ret = open_decoders(&r, rq, rep);
    if (ret == AVERROR(ENOMEM))
        goto done;
    if (ret < 0) {
        rep->err = ret;
        ret = judge(rep, on_interrupt(rq->cancel) ? RX_VFAULT_CANCELLED : RX_VFAULT_OPEN,
                    "cannot open '%s' to check it", rq->path);
        goto done;
    }
    rep->streams = (int)r.n;
    if (r.vidx < 0 || (rq->audio_tracks >= 0 && (rep->audio_streams != rq->audio_tracks ||
                                                 rep->streams != 1 + rq->audio_tracks))) {
        ret = judge(rep, RX_VFAULT_STREAMS, "'%s' holds %d streams, %d audio%s", rq->path,
                    rep->streams, rep->audio_streams, r.vidx < 0 ? ", no video" : "");
        goto done;
    }
    want = rq->mode == RX_VERIFY_QUICK ? seek_tail(&r, rq, rep) : rq->frames;
    rep->frames_want = want;
    ret = read_all(&r, rq, rep, pkt, frame);
    if (ret < 0)
        goto done;
    measure(&r, rep);
    ret = verdict(&r, rq, rep, want);
done:
    if (ret == AVERROR(ENOMEM))
        snprintf(rep->error, sizeof(rep->error), "cannot check '%s': out of memory", rq->path);
    for (unsigned i = 0; r.dec && i < r.n; i++)
        avcodec_free_context(&r.dec[i]);
    free(r.dec);
    free(r.prev);
    free(r.end);
    avformat_close_input(&r.ic);
    av_packet_free(&pkt);
    av_frame_free(&frame);
    return ret;
}
