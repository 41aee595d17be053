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
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#define IN_SSIM_SLACK_US 2000 /* see in_quality() in inspect.h */
#define IN_MAX_ERRORS    1000 /* consecutive decoder errors before giving up a drain */

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
    if (fr->pkt_duration > 0)
        s->end_us = us + av_rescale_q(fr->pkt_duration, st->time_base, AV_TIME_BASE_Q);
    else
        s->end_us = us + (d->have_prev ? us - d->prev_us : 0);
    d->prev_us = us;
    d->have_prev = 1;
    return append_pts(s, d, us);
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

/* Decodes the first video stream of a file, one frame per call. */
typedef struct VReader {
    AVFormatContext *ic;
    AVCodecContext *dec;
    AVPacket *pkt;
    int stream;
    int flushed;
    int64_t last_us; /* timestamp of the previous frame (for frames without one) */
} VReader;

static void vr_close(VReader *r)
{
    avcodec_free_context(&r->dec);
    av_packet_free(&r->pkt);
    avformat_close_input(&r->ic);
}

static int vr_open(VReader *r, const char *path)
{
    int ret;

    memset(r, 0, sizeof(*r));
    ret = avformat_open_input(&r->ic, path, NULL, NULL);
    if (ret < 0)
        return ret;
    ret = avformat_find_stream_info(r->ic, NULL);
    if (ret < 0)
        return ret;
    ret = av_find_best_stream(r->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (ret < 0)
        return ret;
    r->stream = ret;
    r->pkt = av_packet_alloc();
    if (!r->pkt)
        return AVERROR(ENOMEM);
    return open_decoder(r->ic->streams[r->stream], &r->dec);
}

/* Next decoded frame into fr and its display time into *us. Returns 0,
 * AVERROR_EOF after the last frame, or another negative AVERROR. Decoding
 * errors are skipped, as a player would. */
static int vr_next(VReader *r, AVFrame *fr, int64_t *us)
{
    int errors = 0;
    int ret;

    for (;;) {
        ret = avcodec_receive_frame(r->dec, fr);
        if (ret == 0) {
            const AVStream *st = r->ic->streams[r->stream];
            if (fr->best_effort_timestamp != AV_NOPTS_VALUE)
                r->last_us = av_rescale_q(fr->best_effort_timestamp, st->time_base, AV_TIME_BASE_Q);
            *us = r->last_us;
            return 0;
        }
        if (ret == AVERROR_EOF || ret == AVERROR(ENOMEM))
            return ret;
        if (ret != AVERROR(EAGAIN)) {
            if (++errors > IN_MAX_ERRORS)
                return ret;
            continue;
        }
        if (r->flushed)
            return AVERROR_EOF;
        ret = av_read_frame(r->ic, r->pkt);
        if (ret < 0) {
            r->flushed = 1;
            ret = avcodec_send_packet(r->dec, NULL);
            if (ret < 0 && ret != AVERROR_EOF)
                return ret;
            continue;
        }
        if (r->pkt->stream_index == r->stream) {
            ret = avcodec_send_packet(r->dec, r->pkt);
            if (ret == AVERROR(ENOMEM)) {
                av_packet_unref(r->pkt);
                return ret;
            }
        }
        av_packet_unref(r->pkt);
    }
}

/* The luma samples compared for one picture, w x h. A frame whose first plane
 * holds 8-bit luma at that size is used as it is (no copy, as ffmpeg's ssim
 * filter reads it); any other format or size goes through swscale to 8-bit
 * yuv420p first. swscale's gray8 would stretch limited-range luma to full
 * range, so the two paths would not agree: yuv420p keeps the range. */
typedef struct Gray {
    struct SwsContext *sws;
    uint8_t *buf[4]; /* swscale's output, av_image_alloc'ed */
    int buf_linesize[4];
    int buf_w, buf_h;
    const uint8_t *data; /* the samples: the frame's plane 0 or buf[0] */
    ptrdiff_t stride;
    int w, h; /* the size data was made for */
} Gray;

static void gray_free(Gray *g)
{
    sws_freeContext(g->sws);
    g->sws = NULL;
    av_freep(&g->buf[0]);
}

static int plain_luma8(const AVFrame *fr)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fr->format);
    const uint64_t other = AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM |
                           AV_PIX_FMT_FLAG_HWACCEL;

    return d && !(d->flags & other) && d->nb_components >= 1 && d->comp[0].plane == 0 &&
           d->comp[0].step == 1 && d->comp[0].offset == 0 && d->comp[0].shift == 0 &&
           d->comp[0].depth == 8;
}

/* Points g at fr's luma at w x h. g->data stays valid while fr is unchanged. */
static int to_gray(Gray *g, const AVFrame *fr, int w, int h)
{
    int ret;

    if (fr->width == w && fr->height == h && plain_luma8(fr)) {
        g->data = fr->data[0];
        g->stride = fr->linesize[0];
        g->w = w;
        g->h = h;
        return 0;
    }
    g->sws = sws_getCachedContext(g->sws, fr->width, fr->height, fr->format, w, h,
                                  AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
    if (!g->sws)
        return AVERROR(EINVAL);
    if (!g->buf[0] || g->buf_w != w || g->buf_h != h) {
        av_freep(&g->buf[0]);
        ret = av_image_alloc(g->buf, g->buf_linesize, w, h, AV_PIX_FMT_YUV420P, 32);
        if (ret < 0)
            return ret;
        g->buf_w = w;
        g->buf_h = h;
    }
    ret = sws_scale(g->sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, g->buf,
                    g->buf_linesize);
    if (ret < 0)
        return ret;
    g->data = g->buf[0];
    g->stride = g->buf_linesize[0];
    g->w = w;
    g->h = h;
    return 0;
}

/* ffmpeg's ssim_end1() for 8-bit samples, on one 8x8 window of sums. */
static double ssim_window(double s1, double s2, double ss, double s12)
{
    const double c1 = .01 * .01 * 255 * 255 * 64;
    const double c2 = .03 * .03 * 255 * 255 * 64 * 63;
    double vars = ss * 64 - s1 * s1 - s2 * s2;
    double covar = s12 * 64 - s1 * s2;

    return (2 * s1 * s2 + c1) * (2 * covar + c2) / ((s1 * s1 + s2 * s2 + c1) * (vars + c2));
}

/* Scratch sums for comparing w x h pictures. The pictures are walked in bands
 * of 4 rows: per column the sums of a, b, a^2 + b^2 and a*b over the band,
 * then per 4x4 block the same four sums (kept for this band and the one
 * above: an 8x8 window is 2x2 blocks). A 1080p pair takes about 3 ms, a
 * fraction of what decoding the two frames costs. */
typedef struct Sums {
    int32_t *col;    /* 4 arrays of w */
    int32_t *blk[2]; /* 4 arrays of w / 4 each, alternating bands */
    int w, h;
} Sums;

static void sums_free(Sums *m)
{
    av_freep(&m->col);
    av_freep(&m->blk[0]);
    av_freep(&m->blk[1]);
}

static int sums_size(Sums *m, int w, int h)
{
    size_t bw = (size_t)(w / 4);

    if (m->col && m->w == w) {
        m->h = h;
        return 0;
    }
    sums_free(m);
    m->col = av_malloc_array(4 * (size_t)w, sizeof(*m->col));
    m->blk[0] = av_malloc_array(4 * bw, sizeof(*m->blk[0]));
    m->blk[1] = av_malloc_array(4 * bw, sizeof(*m->blk[1]));
    if (!m->col || !m->blk[0] || !m->blk[1]) {
        sums_free(m);
        return AVERROR(ENOMEM);
    }
    m->w = w;
    m->h = h;
    return 0;
}

/* SSIM (mean over the 8x8 windows stepped by 4) and the sum of squared
 * differences (over every sample) of two m->w x m->h luma pictures. */
static void compare(Sums *m, const Gray *a, const Gray *b, double *ssim, double *sse)
{
    const int w = m->w, h = m->h, bw = w / 4, bh = h / 4;
    int32_t *c1 = m->col, *c2 = c1 + w, *css = c2 + w, *c12 = css + w;
    double sum = 0.0;
    int64_t err = 0;

    for (int by = 0; by < bh; by++) {
        int32_t *k = m->blk[by & 1], *u = m->blk[!(by & 1)]; /* this band, the one above */

        memset(m->col, 0, 4 * (size_t)w * sizeof(*m->col));
        for (int y = 4 * by; y < 4 * by + 4; y++) {
            const uint8_t *pa = a->data + y * a->stride, *pb = b->data + y * b->stride;
            for (int x = 0; x < w; x++) {
                int va = pa[x], vb = pb[x];
                c1[x] += va;
                c2[x] += vb;
                css[x] += va * va + vb * vb;
                c12[x] += va * vb;
            }
        }
        for (int x = 0; x < w; x++)
            err += css[x] - 2 * c12[x];
        for (int bx = 0; bx < bw; bx++) {
            int x = 4 * bx;
            k[bx] = c1[x] + c1[x + 1] + c1[x + 2] + c1[x + 3];
            k[bw + bx] = c2[x] + c2[x + 1] + c2[x + 2] + c2[x + 3];
            k[2 * bw + bx] = css[x] + css[x + 1] + css[x + 2] + css[x + 3];
            k[3 * bw + bx] = c12[x] + c12[x + 1] + c12[x + 2] + c12[x + 3];
        }
        if (by == 0)
            continue;
        for (int bx = 0; bx + 1 < bw; bx++) {
            const int32_t *p = &k[bx], *q = &u[bx];
            sum += ssim_window(p[0] + p[1] + q[0] + q[1], p[bw] + p[bw + 1] + q[bw] + q[bw + 1],
                               p[2 * bw] + p[2 * bw + 1] + q[2 * bw] + q[2 * bw + 1],
                               p[3 * bw] + p[3 * bw + 1] + q[3 * bw] + q[3 * bw + 1]);
        }
    }
    for (int y = 4 * bh; y < h; y++) { /* the rows below the last band */
        const uint8_t *pa = a->data + y * a->stride, *pb = b->data + y * b->stride;
        for (int x = 0; x < w; x++)
            err += (pa[x] - pb[x]) * (pa[x] - pb[x]);
    }
    *ssim = sum / ((double)(bw - 1) * (bh - 1));
    *sse = (double)err;
}

/* PSNR of 8-bit samples from a mean squared error, capped as x264 does. */
static double psnr_of(double mse)
{
    double db = mse > 0.0 ? 10.0 * log10(255.0 * 255.0 / mse) : IN_PSNR_MAX;

    return db < IN_PSNR_MAX ? db : IN_PSNR_MAX;
}

int in_quality(const char *ref, const char *test, InQuality *q)
{
    VReader ra, rb;
    AVFrame *fa = NULL, *cur = NULL, *nxt = NULL;
    Gray ga = {0}, gb = {0};
    Sums m = {0};
    int have_nxt, cur_gray = 0;
    int64_t a_us = 0, a0_us = 0, cur_us = 0, nxt_us = 0, b0_us;
    double ssim_sum = 0.0, mse_sum = 0.0;
    int64_t n = 0;
    int ret;

    memset(q, 0, sizeof(*q));
    memset(&rb, 0, sizeof(rb));
    ret = vr_open(&ra, ref);
    if (ret < 0)
        goto fail;
    ret = vr_open(&rb, test);
    if (ret < 0)
        goto fail;
    fa = av_frame_alloc();
    cur = av_frame_alloc();
    nxt = av_frame_alloc();
    if (!fa || !cur || !nxt) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    ret = vr_next(&rb, cur, &cur_us);
    if (ret == AVERROR_EOF)
        ret = AVERROR_INVALIDDATA; /* test has no video frame */
    if (ret < 0)
        goto fail;
    b0_us = cur_us;
    ret = vr_next(&rb, nxt, &nxt_us);
    if (ret < 0 && ret != AVERROR_EOF)
        goto fail;
    have_nxt = ret == 0;

    for (;;) {
        double ssim, sse;
        int w, h;

        ret = vr_next(&ra, fa, &a_us);
        if (ret == AVERROR_EOF)
            break;
        if (ret < 0)
            goto fail;
        if (!n)
            a0_us = a_us;
        /* The test frame on screen at the ref frame's time: the last one that
         * starts no later, both times counted from their file's first frame. */
        while (have_nxt && nxt_us - b0_us <= a_us - a0_us + IN_SSIM_SLACK_US) {
            AVFrame *tmp = cur;
            cur = nxt;
            nxt = tmp;
            av_frame_unref(nxt);
            cur_gray = 0;
            ret = vr_next(&rb, nxt, &nxt_us);
            if (ret < 0 && ret != AVERROR_EOF)
                goto fail;
            have_nxt = ret == 0;
        }
        w = FFMIN(fa->width, cur->width);
        h = FFMIN(fa->height, cur->height);
        if (w < 8 || h < 8) {
            ret = AVERROR_INVALIDDATA;
            goto fail;
        }
        if (!cur_gray || gb.w != w || gb.h != h) {
            ret = to_gray(&gb, cur, w, h);
            if (ret < 0)
                goto fail;
            cur_gray = 1;
        }
        ret = to_gray(&ga, fa, w, h);
        if (ret < 0)
            goto fail;
        ret = sums_size(&m, w, h);
        if (ret < 0)
            goto fail;
        compare(&m, &ga, &gb, &ssim, &sse);
        if (!n || ssim < q->ssim_min) {
            q->ssim_min = ssim;
            q->ssim_min_us = a_us - a0_us;
        }
        ssim_sum += ssim;
        mse_sum += sse / ((double)w * h);
        n++;
        av_frame_unref(fa);
    }
    if (!n) {
        ret = AVERROR_INVALIDDATA; /* ref has no video frame */
        goto fail;
    }
    q->ssim = ssim_sum / (double)n;
    q->psnr = psnr_of(mse_sum / (double)n);
    q->frames = n;
    ret = 0;

fail:
    if (ret < 0)
        memset(q, 0, sizeof(*q));
    sums_free(&m);
    gray_free(&ga);
    gray_free(&gb);
    av_frame_free(&fa);
    av_frame_free(&cur);
    av_frame_free(&nxt);
    vr_close(&ra);
    vr_close(&rb);
    return ret;
}

int in_ssim(const char *ref, const char *test, double *ssim)
{
    InQuality q;
    int ret = in_quality(ref, test, &q);

    *ssim = q.ssim;
    return ret;
}
