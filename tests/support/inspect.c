/*
 * inspect.c - decode files and measure them for tests, see inspect.h.
 */
#include "inspect.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/crc.h>
#include <libavutil/display.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>

#include "reencode/measure.h"

#define IN_MAX_ERRORS 1000 /* consecutive decoder errors before giving up a drain */

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* AV1 goes to libdav1d when present: the native av1 decoder of lavc 59 needs
 * a hardware accelerator. */
static int open_decoder(const AVStream *st, AVCodecContext **out)
{
    const AVCodec *codec = NULL;
    AVCodecContext *dec = NULL;
    int ret;

    if (st->codecpar->codec_id == AV_CODEC_ID_AV1)
        codec = avcodec_find_decoder_by_name("libdav1d");
    if (!codec)
        codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec)
        return AVERROR_DECODER_NOT_FOUND;
    dec = avcodec_alloc_context3(codec);
    if (!dec)
        return AVERROR(ENOMEM);
    ret = avcodec_parameters_to_context(dec, st->codecpar);
    if (ret < 0)
        goto fail;
    dec->pkt_timebase = st->time_base;
    dec->thread_count = 0;
    ret = avcodec_open2(dec, codec, NULL);
    if (ret < 0)
        goto fail;
    *out = dec;
    return 0;
fail:
    avcodec_free_context(&dec);
    return ret;
}

/* ---- in_inspect ---- */

typedef struct DecState {
    AVCodecContext *dec;
    int cap_pts;    /* allocated entries of InStream.pts_us */
    int have_first; /* first_us is set */
    int have_prev;  /* prev_us is set */
    int64_t prev_us;
    int no_own_durations; /* Matroska: video blocks carry the track's default, not their own */
} DecState;

static int append_pts(InStream *s, DecState *d, int64_t us)
{
    if (s->n_pts == d->cap_pts) {
        int cap = d->cap_pts ? 2 * d->cap_pts : 256;
        int64_t *p;
        if (cap <= d->cap_pts)
            return AVERROR(ENOMEM);
        p = av_realloc_array(s->pts_us, (size_t)cap, sizeof(*p));
        if (!p)
            return AVERROR(ENOMEM);
        s->pts_us = p;
        d->cap_pts = cap;
    }
    s->pts_us[s->n_pts++] = us;
    return 0;
}

static int take_frame(InStream *s, const AVStream *st, DecState *d, const AVFrame *fr)
{
    int64_t ts = fr->best_effort_timestamp, us;

    if (fr->decode_error_flags || (fr->flags & AV_FRAME_FLAG_CORRUPT))
        s->decode_errors++;
    s->frames++;
    if (s->type == AVMEDIA_TYPE_AUDIO)
        s->samples += fr->nb_samples;
    if (ts == AV_NOPTS_VALUE)
        return 0;
    us = av_rescale_q(ts, st->time_base, AV_TIME_BASE_Q);
    if (!d->have_first) {
        s->first_us = us;
        d->have_first = 1;
    }
    s->last_us = us;
    if (s->type == AVMEDIA_TYPE_AUDIO) {
        if (fr->sample_rate > 0)
            s->end_us = us + av_rescale(fr->nb_samples, AV_TIME_BASE, fr->sample_rate);
        return 0;
    }
    /* WebM keeps no video frame's own duration: what a reader gets is the
     * track's DefaultDuration (reencode writes at most 1/60 s, for
     * Chromium's seeks) or nothing. A player shows the last frame as long as
     * the interval before it, at least: so does this (as verify.c does).
     * Other containers (MP4) keep each frame's true duration. */
    if (fr->pkt_duration > 0 && !d->no_own_durations)
        s->end_us = us + av_rescale_q(fr->pkt_duration, st->time_base, AV_TIME_BASE_Q);
    else
        s->end_us = us + FFMAX(av_rescale_q(fr->pkt_duration, st->time_base, AV_TIME_BASE_Q),
                               d->have_prev ? us - d->prev_us : 0);
    d->prev_us = us;
    d->have_prev = 1;
    return append_pts(s, d, us);
}

/* Matroska keeps where each track ends in its DURATION tag (FFmpeg's muxer
 * writes it from the packets' true durations), though not the last video
 * frame's own duration: where the tag ends that frame between its start and
 * one interval later (what take_frame() assumed), the tag is right. A tag
 * outside that (a file cut short keeps its old tags) is not believed. */
static void matroska_video_end(InStream *s, const AVStream *st)
{
    const AVDictionaryEntry *tag = av_dict_get(st->metadata, "DURATION", NULL, 0);
    unsigned h, m;
    double sec;
    int64_t end;

    if (s->type != AVMEDIA_TYPE_VIDEO || !tag || !s->n_pts ||
        sscanf(tag->value, "%u:%u:%lf", &h, &m, &sec) != 3)
        return;
    end = (int64_t)llround(((h * 60.0 + m) * 60.0 + sec) * 1e6);
    if (end > s->last_us && end <= s->end_us)
        s->end_us = end;
}

/* Send pkt (NULL: flush) and take every frame that comes out. Decoding errors
 * are counted, not returned: only running out of memory stops the caller. */
static int decode_packet(InStream *s, const AVStream *st, DecState *d, AVFrame *fr,
                         const AVPacket *pkt)
{
    int errors = 0;
    int ret = avcodec_send_packet(d->dec, pkt);

    if (ret == AVERROR(ENOMEM))
        return ret;
    if (ret < 0 && ret != AVERROR_EOF)
        s->decode_errors++;
    for (;;) {
        ret = avcodec_receive_frame(d->dec, fr);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret == AVERROR(ENOMEM))
            return ret;
        if (ret < 0) {
            s->decode_errors++;
            if (++errors > IN_MAX_ERRORS)
                return 0;
            continue;
        }
        errors = 0;
        ret = take_frame(s, st, d, fr);
        av_frame_unref(fr);
        if (ret < 0)
            return ret;
    }
}

static int rotation_of(const AVStream *st)
{
    size_t size = 0;
    const uint8_t *sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    double ccw;

    if (!sd || size < 9 * sizeof(int32_t))
        return 0;
    ccw = av_display_rotation_get((const int32_t *)sd);
    if (isnan(ccw))
        return 0;
    return (int)((lrint(-ccw) % 360 + 360) % 360);
}

static void describe_stream(InFile *f, InStream *s, const AVStream *st, int *have_rotation)
{
    const AVCodecParameters *par = st->codecpar;
    const AVDictionaryEntry *lang = av_dict_get(st->metadata, "language", NULL, 0);

    s->index = st->index;
    s->type = par->codec_type;
    s->codec_id = par->codec_id;
    copy_str(s->codec_name, sizeof(s->codec_name), avcodec_get_name(par->codec_id));
    s->is_default = !!(st->disposition & AV_DISPOSITION_DEFAULT);
    copy_str(s->language, sizeof(s->language), lang ? lang->value : NULL);
    if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
        s->width = par->width;
        s->height = par->height;
        copy_str(s->pix_fmt, sizeof(s->pix_fmt), av_get_pix_fmt_name(par->format));
        if (!*have_rotation) {
            f->rotation = rotation_of(st);
            *have_rotation = 1;
        }
    } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
        s->sample_rate = par->sample_rate;
        s->channels = par->ch_layout.nb_channels;
    }
}

int in_inspect(const char *path, int decode, InFile *f)
{
    AVFormatContext *ic = NULL;
    AVPacket *pkt = NULL;
    AVFrame *fr = NULL;
    DecState ds[IN_MAX_STREAMS];
    int have_rotation = 0;
    int ret;

    memset(f, 0, sizeof(*f));
    memset(ds, 0, sizeof(ds));
    ret = avformat_open_input(&ic, path, NULL, NULL);
    if (ret < 0)
        goto fail;
    ret = avformat_find_stream_info(ic, NULL);
    if (ret < 0)
        goto fail;
    copy_str(f->format_name, sizeof(f->format_name), ic->iformat->name);
    f->duration_us = ic->duration == AV_NOPTS_VALUE ? -1 : ic->duration;
    ret = av_dict_copy(&f->metadata, ic->metadata, 0);
    if (ret < 0)
        goto fail;
    f->nb_streams = ic->nb_streams < IN_MAX_STREAMS ? (int)ic->nb_streams : IN_MAX_STREAMS;
    for (int i = 0; i < f->nb_streams; i++)
        describe_stream(f, &f->streams[i], ic->streams[i], &have_rotation);
    if (!decode) {
        ret = 0;
        goto fail;
    }

    for (int i = 0; i < f->nb_streams; i++) {
        enum AVMediaType type = f->streams[i].type;
        if (type != AVMEDIA_TYPE_VIDEO && type != AVMEDIA_TYPE_AUDIO)
            continue;
        ret = open_decoder(ic->streams[i], &ds[i].dec);
        if (ret < 0)
            goto fail;
        ds[i].no_own_durations = !strncmp(ic->iformat->name, "matroska", 8);
    }
    pkt = av_packet_alloc();
    fr = av_frame_alloc();
    if (!pkt || !fr) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    for (;;) {
        int i;

        ret = av_read_frame(ic, pkt);
        if (ret < 0) {
            if (ret != AVERROR_EOF)
                f->read_error = ret;
            break;
        }
        i = pkt->stream_index;
        if (i >= 0 && i < f->nb_streams && ds[i].dec) {
            InStream *s = &f->streams[i];
            if (s->type == AVMEDIA_TYPE_VIDEO && (pkt->flags & AV_PKT_FLAG_KEY)) {
                if (s->keyframes < IN_MAX_KEYS)
                    s->key_us[s->keyframes] =
                        pkt->pts == AV_NOPTS_VALUE
                            ? AV_NOPTS_VALUE
                            : av_rescale_q(pkt->pts, ic->streams[i]->time_base, AV_TIME_BASE_Q);
                s->keyframes++;
            }
            s->packets++;
            s->packet_crc = av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), s->packet_crc, pkt->data,
                                   (size_t)pkt->size);
            ret = decode_packet(s, ic->streams[i], &ds[i], fr, pkt);
        }
        av_packet_unref(pkt);
        if (ret < 0)
            goto fail;
    }
    for (int i = 0; i < f->nb_streams; i++) {
        if (!ds[i].dec)
            continue;
        ret = decode_packet(&f->streams[i], ic->streams[i], &ds[i], fr, NULL);
        if (ret < 0)
            goto fail;
        if (ds[i].no_own_durations)
            matroska_video_end(&f->streams[i], ic->streams[i]);
    }
    ret = 0;

fail:
    for (int i = 0; i < IN_MAX_STREAMS; i++)
        avcodec_free_context(&ds[i].dec);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avformat_close_input(&ic);
    if (ret < 0)
        in_free(f);
    return ret;
}

void in_free(InFile *f)
{
    if (!f)
        return;
    for (int i = 0; i < IN_MAX_STREAMS; i++)
        av_freep(&f->streams[i].pts_us);
    av_dict_free(&f->metadata);
    memset(f, 0, sizeof(*f));
}

const InStream *in_stream(const InFile *f, enum AVMediaType type, int nth)
{
    for (int i = 0; i < f->nb_streams; i++) {
        if (f->streams[i].type != type)
            continue;
        if (nth-- == 0)
            return &f->streams[i];
    }
    return NULL;
}

/* ---- in_quality, in_ssim ---- */

int in_first_frame(const char *path, AVFrame **frame)
{
    RxFrameReader *r = NULL;
    int64_t us;
    int ret;

    *frame = av_frame_alloc();
    if (!*frame)
        return AVERROR(ENOMEM);
    ret = rx_frame_reader_open(&r, path, NULL);
    if (ret >= 0)
        ret = rx_frame_reader_next(r, *frame, &us);
    rx_frame_reader_free(&r);
    if (ret < 0)
        av_frame_free(frame);
    return ret;
}

double in_mean(const AVFrame *f, int p, int x, int y, int w, int h)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    int chroma = p == 1 || p == 2, depth, pw, ph;
    double sum = 0;

    if (!d || !(d->flags & AV_PIX_FMT_FLAG_PLANAR) || p >= av_pix_fmt_count_planes(f->format))
        return -1;
    depth = d->comp[0].depth;
    pw = chroma ? AV_CEIL_RSHIFT(f->width, d->log2_chroma_w) : f->width;
    ph = chroma ? AV_CEIL_RSHIFT(f->height, d->log2_chroma_h) : f->height;
    if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > pw || y + h > ph)
        return -1;
    for (int j = y; j < y + h; j++) {
        const uint8_t *row = f->data[p] + (ptrdiff_t)j * f->linesize[p];
        for (int i = x; i < x + w; i++)
            sum += depth > 8 ? AV_RN16(row + 2 * i) / (double)(1 << (depth - 8)) : row[i];
    }
    return sum / ((double)w * h);
}

int in_frames(const char *path, InFrameFn fn, void *opaque)
{
    RxFrameReader *r = NULL;
    AVFrame *fr = av_frame_alloc();
    int64_t us;
    int ret = fr ? rx_frame_reader_open(&r, path, NULL) : AVERROR(ENOMEM);

    while (ret >= 0 && (ret = rx_frame_reader_next(r, fr, &us)) >= 0) {
        ret = fn(opaque, fr, us);
        av_frame_unref(fr);
    }
    rx_frame_reader_free(&r);
    av_frame_free(&fr);
    return ret == AVERROR_EOF ? 0 : ret;
}

/* ---- in_packets ---- */

int in_packets(const char *path, InPacketFn fn, void *opaque)
{
    AVFormatContext *ic = NULL;
    AVPacket *pkt = av_packet_alloc();
    int ret;

    if (!pkt)
        return AVERROR(ENOMEM);
    ret = avformat_open_input(&ic, path, NULL, NULL);
    if (ret >= 0)
        ret = avformat_find_stream_info(ic, NULL);
    while (ret >= 0) {
        const AVStream *st;
        InPacket p;

        ret = av_read_frame(ic, pkt);
        if (ret < 0)
            break;
        st = ic->streams[pkt->stream_index];
        p.stream = pkt->stream_index;
        p.type = st->codecpar->codec_type;
        p.pts_us = pkt->pts == AV_NOPTS_VALUE
                       ? AV_NOPTS_VALUE
                       : av_rescale_q(pkt->pts, st->time_base, AV_TIME_BASE_Q);
        p.dur_us =
            pkt->duration > 0 ? av_rescale_q(pkt->duration, st->time_base, AV_TIME_BASE_Q) : 0;
        p.size = pkt->size;
        p.key = !!(pkt->flags & AV_PKT_FLAG_KEY);
        av_packet_unref(pkt);
        ret = fn(opaque, &p);
    }
    if (ret == AVERROR_EOF)
        ret = 0;
    av_packet_free(&pkt);
    avformat_close_input(&ic);
    return ret;
}

/* ---- in_quality, in_ssim: the product's measure over whole files ---- */

static int quality(const char *ref, const char *test, const RxMeasureOptions *opt, InQuality *q)
{
    RxQuality m;
    int ret = rx_measure(ref, test, NULL, 0, opt, &m);

    memset(q, 0, sizeof(*q));
    if (ret < 0)
        return ret;
    q->ssim = m.ssim;
    q->ssim_min = m.ssim_min;
    q->psnr = m.psnr;
    q->frames = m.frames;
    return 0;
}

int in_quality(const char *ref, const char *test, InQuality *q)
{
    return quality(ref, test, NULL, q);
}

int in_quality_grid(const char *ref, const char *test, double grid_s, InQuality *q)
{
    RxMeasureOptions opt = {.grid_us = llrint(grid_s * 1e6)};

    if (!(opt.grid_us > 0)) {
        memset(q, 0, sizeof(*q));
        return AVERROR(EINVAL);
    }
    return quality(ref, test, &opt, q);
}

int in_ssim(const char *ref, const char *test, double *ssim)
{
    InQuality q;
    int ret = in_quality(ref, test, &q);

    *ssim = q.ssim;
    return ret;
}
