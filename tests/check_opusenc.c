/*
 * check_opusenc.c - Opus with DTX through libopus (src/transcode/opusenc.c), judged
 * against FFmpeg 5.1's libopus wrapper (today's audio path) on the same
 * signals, by muxing WebM as the transcode job does and decoding it back
 * with both of FFmpeg's Opus decoders (native "opus" and "libopus").
 *
 * Signals are made here, deterministic: digital silence; speech-like tone
 * bursts (harmonics of a 120-250 Hz voice, 200-600 ms) between pauses of
 * 0.3-2 s that are digital zeros or a -60 dBFS noise floor; music-like (a
 * vibrato chord and a little noise, never quiet). Sizes are of whole
 * audio-only files, so the container's framing is counted.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <opus.h>
#include <opus_multistream.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/opt.h>

#include "checkrun.h"
#include "reencode/log.h"
#include "transcode/opusenc.h"
#include "testdir.h"

#define RATE RX_OPUS_RATE
#define FS   RX_OPUS_FRAME

static char dir[256];

static void setup(void)
{
    ck_assert_int_eq(td_create(dir, sizeof(dir), "check_opusenc"), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(td_remove(dir), 0);
}

/* ---- signals */

enum { SIG_SILENT, SIG_SPEECH, SIG_MUSIC };

typedef struct Signal {
    float *pcm; /* interleaved */
    int64_t n;  /* samples per channel */
    int ch;
    int64_t onset[128]; /* speech: first sample of each burst */
    int64_t end[128];   /* and the one after its last */
    int n_onsets;
} Signal;

static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static double unit(uint32_t *state)
{
    return lcg(state) / 16777216.0;
}

/* A signal of kind on channel 0 of ch (the others silent unless copy);
 * floor_db < -200 means pauses of digital zeros. */
static void make_signal(Signal *s, int kind, int64_t n, int ch, double floor_db, int copy)
{
    uint32_t rng = 20240607;
    double floor = floor_db < -200 ? 0 : pow(10, floor_db / 20);
    int64_t i = 0;
    int on = 1;

    memset(s, 0, sizeof(*s));
    s->n = n;
    s->ch = ch;
    s->pcm = calloc((size_t)(n * ch), sizeof(float));
    ck_assert_ptr_nonnull(s->pcm);
    if (kind == SIG_MUSIC) {
        static const double f[4] = {220, 277.18, 329.63, 440};
        for (i = 0; i < n; i++) {
            double t = (double)i / RATE, v = 0;
            for (int k = 0; k < 4; k++)
                v += 0.12 * sin(2 * M_PI * f[k] * t * (1 + 0.003 * sin(2 * M_PI * 5 * t)) + k);
            s->pcm[i * ch] = (float)(v + 0.02 * (unit(&rng) - 0.5));
        }
    }
    while (kind == SIG_SPEECH && i < n) {
        int64_t len = (int64_t)(RATE * (on ? 0.2 + 0.4 * unit(&rng) : 0.3 + 1.7 * unit(&rng)));
        double f0 = 120 + 130 * unit(&rng);

        if (on) {
            ck_assert_int_lt(s->n_onsets, (int)FF_ARRAY_ELEMS(s->onset));
            s->onset[s->n_onsets] = i;
            s->end[s->n_onsets++] = FFMIN(i + len, n);
        }
        for (int64_t j = 0; j < len && i < n; j++, i++) {
            double t = (double)j / RATE, v = 0;
            if (on) {
                for (int h = 1; h <= 8; h++)
                    v += 0.3 / h * sin(2 * M_PI * f0 * h * t);
                v *= sin(M_PI * j / len) * (0.6 + 0.4 * sin(2 * M_PI * 4 * t));
            }
            if (floor > 0)
                v += floor * 2 * (unit(&rng) - 0.5);
            s->pcm[i * ch] = (float)v;
        }
        on = !on;
    }
    for (i = 0; copy && i < n; i++)
        for (int c = 1; c < ch; c++)
            s->pcm[i * ch + c] = 0.9f * s->pcm[i * ch];
}

/* ---- the two encoders behind one face */

typedef struct Enc {
    AVCodecContext *lavc; /* FFmpeg 5.1's libopus wrapper, as today */
    AVFrame *frame;
    RxOpusEnc *rx;
} Enc;

/* cfg NULL: the wrapper with -application voip -b:a 32k. */
static void enc_open(Enc *e, int ch, const RxOpusConfig *cfg)
{
    memset(e, 0, sizeof(*e));
    if (cfg) {
        ck_assert_int_eq(rx_opusenc_open(&e->rx, cfg), 0);
        return;
    }
    const AVCodec *codec = avcodec_find_encoder_by_name("libopus");
    AVDictionary *opts = NULL;
    ck_assert_ptr_nonnull(codec);
    e->lavc = avcodec_alloc_context3(codec);
    ck_assert_ptr_nonnull(e->lavc);
    av_channel_layout_default(&e->lavc->ch_layout, ch);
    e->lavc->sample_rate = RATE;
    e->lavc->sample_fmt = AV_SAMPLE_FMT_FLT;
    e->lavc->bit_rate = 32000;
    e->lavc->time_base = (AVRational){1, RATE};
    e->lavc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_dict_set(&opts, "application", "voip", 0);
    ck_assert_int_eq(avcodec_open2(e->lavc, codec, &opts), 0);
    av_dict_free(&opts);
    e->frame = av_frame_alloc();
    ck_assert_ptr_nonnull(e->frame);
}

static void enc_params(const Enc *e, AVCodecParameters *par)
{
    if (e->rx)
        ck_assert_int_eq(rx_opusenc_parameters(e->rx, par), 0);
    else
        ck_assert_int_eq(avcodec_parameters_from_context(par, e->lavc), 0);
}

/* pcm NULL flushes. */
static void enc_send(Enc *e, const float *pcm, int nb, int64_t pts)
{
    AVFrame *f = e->frame;

    if (e->rx) {
        ck_assert_int_eq(rx_opusenc_send(e->rx, pcm, nb, pts), 0);
        return;
    }
    if (!pcm) {
        ck_assert_int_eq(avcodec_send_frame(e->lavc, NULL), 0);
        return;
    }
    f->nb_samples = nb;
    f->format = AV_SAMPLE_FMT_FLT;
    f->sample_rate = RATE;
    ck_assert_int_eq(av_channel_layout_copy(&f->ch_layout, &e->lavc->ch_layout), 0);
    ck_assert_int_eq(av_frame_get_buffer(f, 0), 0);
    memcpy(f->data[0], pcm, sizeof(float) * nb * f->ch_layout.nb_channels);
    f->pts = pts;
    ck_assert_int_eq(avcodec_send_frame(e->lavc, f), 0);
    av_frame_unref(f);
}

static int enc_receive(Enc *e, AVPacket *pkt)
{
    return e->rx ? rx_opusenc_receive(e->rx, pkt) : avcodec_receive_packet(e->lavc, pkt);
}

static void enc_close(Enc *e)
{
    rx_opusenc_free(&e->rx);
    avcodec_free_context(&e->lavc);
    av_frame_free(&e->frame);
}

/* Every packet of sig through one encoder, in memory, in the order out. */
typedef struct Packets {
    AVPacket **p;
    int n, cap;
} Packets;

static void packets_free(Packets *ps)
{
    for (int i = 0; i < ps->n; i++)
        av_packet_free(&ps->p[i]);
    free(ps->p);
    memset(ps, 0, sizeof(*ps));
}

static void drain(Enc *e, Packets *ps, int *eof)
{
    for (;;) {
        AVPacket *pkt = av_packet_alloc();
        int ret;
        ck_assert_ptr_nonnull(pkt);
        ret = enc_receive(e, pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            *eof = ret == AVERROR_EOF;
            av_packet_free(&pkt);
            return;
        }
        ck_assert_int_eq(ret, 0);
        if (ps->n == ps->cap) {
            ps->cap = ps->cap ? 2 * ps->cap : 256;
            ps->p = realloc(ps->p, sizeof(*ps->p) * ps->cap);
            ck_assert_ptr_nonnull(ps->p);
        }
        ps->p[ps->n++] = pkt;
    }
}

/* 20 ms frames as the transcode job's FIFO feeds them (the last short),
 * pts from 0; the packets in ps. */
static void encode(Enc *e, const Signal *sig, Packets *ps)
{
    int eof = 0;

    memset(ps, 0, sizeof(*ps));
    for (int64_t i = 0; i < sig->n; i += FS) {
        int nb = (int)FFMIN(FS, sig->n - i);
        enc_send(e, sig->pcm + i * sig->ch, nb, i);
        drain(e, ps, &eof);
        ck_assert(!eof);
    }
    enc_send(e, NULL, 0, 0);
    drain(e, ps, &eof);
    ck_assert(eof);
}

static RxOpusConfig config(int ch, int dtx, int merge_ms)
{
    RxOpusConfig cfg;

    rx_opusenc_defaults(&cfg);
    cfg.channels = ch;
    cfg.dtx = dtx;
    cfg.merge_ms = merge_ms;
    return cfg;
}

/* ---- WebM out, as the transcode job muxes */

/* A 64x64 VP8 stream at 10 fps as long as the audio, for A/V checks. */
typedef struct Video {
    AVCodecContext *enc;
    AVFrame *frame;
    AVStream *st;
    int64_t next; /* frames sent */
} Video;

static void video_open(Video *v, AVFormatContext *oc)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libvpx");

    ck_assert_ptr_nonnull(codec);
    v->enc = avcodec_alloc_context3(codec);
    ck_assert_ptr_nonnull(v->enc);
    v->enc->width = v->enc->height = 64;
    v->enc->pix_fmt = AV_PIX_FMT_YUV420P;
    v->enc->time_base = (AVRational){1, 10};
    v->enc->bit_rate = 50000;
    v->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    ck_assert_int_eq(avcodec_open2(v->enc, codec, NULL), 0);
    v->st = avformat_new_stream(oc, NULL);
    ck_assert_ptr_nonnull(v->st);
    ck_assert_int_eq(avcodec_parameters_from_context(v->st->codecpar, v->enc), 0);
    v->st->time_base = v->enc->time_base;
    v->frame = av_frame_alloc();
    ck_assert_ptr_nonnull(v->frame);
    v->frame->width = v->frame->height = 64;
    v->frame->format = AV_PIX_FMT_YUV420P;
    ck_assert_int_eq(av_frame_get_buffer(v->frame, 0), 0);
}

static void video_drain(Video *v, AVFormatContext *oc, AVPacket *pkt)
{
    while (avcodec_receive_packet(v->enc, pkt) == 0) {
        av_packet_rescale_ts(pkt, v->enc->time_base, v->st->time_base);
        pkt->stream_index = v->st->index;
        ck_assert_int_eq(av_interleaved_write_frame(oc, pkt), 0);
    }
}

/* Video frames that start before media time t (1/48000), all with flush. */
static void video_until(Video *v, AVFormatContext *oc, AVPacket *pkt, int64_t t, int64_t end,
                        int flush)
{
    while (v->next * RATE / 10 < (flush ? end : FFMIN(t, end))) {
        ck_assert_int_eq(av_frame_make_writable(v->frame), 0);
        for (int p = 0; p < 3; p++)
            memset(v->frame->data[p], (int)(v->next * 7 & 0xff),
                   (size_t)v->frame->linesize[p] * (p ? 32 : 64));
        v->frame->pts = v->next++;
        ck_assert_int_eq(avcodec_send_frame(v->enc, v->frame), 0);
        video_drain(v, oc, pkt);
    }
    if (flush) {
        ck_assert_int_eq(avcodec_send_frame(v->enc, NULL), 0);
        video_drain(v, oc, pkt);
    }
}

/* Mux ps (1/48000) into path, with video as long as sig when asked.
 * Returns the file's size. */
static int64_t mux(const char *path, Enc *e, const Packets *ps, const Signal *sig, int video)
{
    AVFormatContext *oc = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVRational tb = {1, RATE};
    AVStream *ast;
    Video v = {0};
    struct stat st;

    ck_assert_ptr_nonnull(pkt);
    ck_assert_int_ge(avformat_alloc_output_context2(&oc, NULL, "webm", NULL), 0);
    if (video)
        video_open(&v, oc);
    ast = avformat_new_stream(oc, NULL);
    ck_assert_ptr_nonnull(ast);
    enc_params(e, ast->codecpar);
    ast->time_base = tb;
    ast->disposition = AV_DISPOSITION_DEFAULT;
    ck_assert_int_ge(avio_open(&oc->pb, path, AVIO_FLAG_WRITE), 0);
    ck_assert_int_eq(avformat_write_header(oc, NULL), 0);
    for (int i = 0; i < ps->n; i++) {
        if (video)
            video_until(&v, oc, pkt, ps->p[i]->pts, sig->n, 0);
        ck_assert_int_eq(av_packet_ref(pkt, ps->p[i]), 0);
        av_packet_rescale_ts(pkt, tb, ast->time_base);
        pkt->stream_index = ast->index;
        ck_assert_int_eq(av_interleaved_write_frame(oc, pkt), 0);
    }
    if (video)
        video_until(&v, oc, pkt, 0, sig->n, 1);
    ck_assert_int_eq(av_write_trailer(oc), 0);
    ck_assert_int_eq(avio_closep(&oc->pb), 0);
    avformat_free_context(oc);
    av_packet_free(&pkt);
    avcodec_free_context(&v.enc);
    av_frame_free(&v.frame);
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

/* ---- WebM back */

typedef struct Decoded {
    float *pcm; /* interleaved */
    int64_t n;  /* samples per channel */
    int64_t cap;
    int ch;
    int64_t first_us;    /* media time of the first decoded sample */
    int64_t gaps;        /* audio packets not starting where the one before ended */
    int64_t packets;     /* audio packets */
    int64_t audio_end;   /* us: the last audio packet's end */
    int64_t video_start; /* us: the first video packet's pts */
    int64_t video_end;   /* us: the last video packet's end, 0 without video */
    int64_t duration;    /* us: the container's */
    char layout[64];
} Decoded;

static void append(Decoded *d, const AVFrame *f)
{
    int ch = f->ch_layout.nb_channels;

    if (!d->pcm)
        d->ch = ch;
    ck_assert_int_eq(ch, d->ch);
    if (d->n + f->nb_samples > d->cap) {
        d->cap = FFMAX(2 * d->cap, d->n + f->nb_samples);
        d->pcm = realloc(d->pcm, sizeof(float) * (size_t)d->cap * ch);
        ck_assert_ptr_nonnull(d->pcm);
    }
    for (int i = 0; i < f->nb_samples; i++)
        for (int c = 0; c < ch; c++) {
            float *o = d->pcm + (d->n + i) * ch + c;
            switch (f->format) {
            case AV_SAMPLE_FMT_FLT:
                *o = ((const float *)f->data[0])[i * ch + c];
                break;
            case AV_SAMPLE_FMT_FLTP:
                *o = ((const float *)f->extended_data[c])[i];
                break;
            case AV_SAMPLE_FMT_S16:
                *o = ((const int16_t *)f->data[0])[i * ch + c] / 32768.0f;
                break;
            default:
                ck_abort_msg("decoder gave sample format %d", f->format);
            }
        }
    d->n += f->nb_samples;
}

static void receive_frames(AVCodecContext *dec, AVFrame *f, Decoded *d, AVRational tb)
{
    while (avcodec_receive_frame(dec, f) == 0) {
        if (!d->pcm && !d->n)
            d->first_us = av_rescale_q(f->best_effort_timestamp, tb, AV_TIME_BASE_Q);
        append(d, f);
        av_frame_unref(f);
    }
}

static void decode_file(const char *path, const char *decoder, Decoded *d)
{
    AVFormatContext *ic = NULL;
    AVCodecContext *dec;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    const AVCodec *codec = avcodec_find_decoder_by_name(decoder);
    int a = -1;
    int64_t expect = AV_NOPTS_VALUE;

    memset(d, 0, sizeof(*d));
    ck_assert_ptr_nonnull(codec);
    ck_assert_ptr_nonnull(pkt);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(avformat_open_input(&ic, path, NULL, NULL), 0);
    ck_assert_int_ge(avformat_find_stream_info(ic, NULL), 0);
    for (unsigned i = 0; i < ic->nb_streams; i++)
        if (ic->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
            a = (int)i;
    ck_assert_int_ge(a, 0);
    dec = avcodec_alloc_context3(codec);
    ck_assert_ptr_nonnull(dec);
    ck_assert_int_eq(avcodec_parameters_to_context(dec, ic->streams[a]->codecpar), 0);
    dec->pkt_timebase = ic->streams[a]->time_base;
    dec->request_sample_fmt = AV_SAMPLE_FMT_FLT;
    ck_assert_int_eq(avcodec_open2(dec, codec, NULL), 0);
    d->duration = ic->duration;
    while (av_read_frame(ic, pkt) >= 0) {
        AVRational tb = ic->streams[pkt->stream_index]->time_base;
        int64_t end = av_rescale_q(pkt->pts + pkt->duration, tb, AV_TIME_BASE_Q);
        if (pkt->stream_index != a) {
            if (!d->video_end)
                d->video_start = av_rescale_q(pkt->pts, tb, AV_TIME_BASE_Q);
            d->video_end = FFMAX(d->video_end, end);
            av_packet_unref(pkt);
            continue;
        }
        /* WebM keeps milliseconds: a packet may start 1 ms off. */
        if (expect != AV_NOPTS_VALUE && llabs(pkt->pts - expect) > 1)
            d->gaps++;
        expect = pkt->pts + pkt->duration;
        d->packets++;
        d->audio_end = end;
        ck_assert_int_eq(avcodec_send_packet(dec, pkt), 0);
        av_packet_unref(pkt);
        receive_frames(dec, f, d, dec->pkt_timebase);
    }
    ck_assert_int_eq(avcodec_send_packet(dec, NULL), 0);
    receive_frames(dec, f, d, dec->pkt_timebase);
    av_channel_layout_describe(&dec->ch_layout, d->layout, sizeof(d->layout));
    avcodec_free_context(&dec);
    avformat_close_input(&ic);
    av_packet_free(&pkt);
    av_frame_free(&f);
}

/* SNR in dB of channel c of the decoded audio against the input, sample i
 * against sample i: a misaligned decode scores far lower. */
static double snr(const Signal *s, const Decoded *d, int c)
{
    double sig = 0, err = 0;

    for (int64_t i = 0; i < s->n && i < d->n; i++) {
        double x = s->pcm[i * s->ch + c], y = d->pcm[i * d->ch + c];
        sig += x * x;
        err += (x - y) * (x - y);
    }
    return 10 * log10(sig / FFMAX(err, 1e-30));
}

/* The lag (decoded against input, within +-maxlag samples) at which
 * channel c of a window of the two correlates best, and that correlation:
 * a decode in step with its input peaks at lag 0. */
static int best_lag(const Signal *s, const Decoded *d, int c, int64_t from, int64_t len, int maxlag,
                    double *corr)
{
    int best = 0;

    *corr = -2;
    ck_assert_int_ge(from, maxlag);
    ck_assert_int_le(from + len + maxlag, FFMIN(s->n, d->n));
    for (int lag = -maxlag; lag <= maxlag; lag++) {
        double xy = 0, xx = 0, yy = 0, r;
        for (int64_t i = from; i < from + len; i++) {
            double x = s->pcm[i * s->ch + c], y = d->pcm[(i + lag) * d->ch + c];
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        r = xy / sqrt(FFMAX(xx * yy, 1e-30));
        if (r > *corr) {
            *corr = r;
            best = lag;
        }
    }
    return best;
}

/* Alike (correlation) and in step: the best lag over half a second of
 * content from sample from is the one the wrapper's decode has (0 for
 * libopus; FFmpeg's native decoder is a few samples early on hybrid-mode
 * music, from the wrapper's files too). */
static void check_alike(const Signal *s, const Decoded *d, const Decoded *w, int c, int64_t from,
                        const char *what)
{
    double corr, wcorr;
    int lag = best_lag(s, d, c, from, RATE / 2, RATE / 100, &corr);
    int wlag = best_lag(s, w, c, from, RATE / 2, RATE / 100, &wcorr);

    ck_assert_msg(lag == wlag && abs(lag) <= RATE / 1000 && corr >= 0.8 && corr >= wcorr - 0.02,
                  "%s: best correlation %.3f at lag %d, the wrapper's %.3f at %d", what, corr, lag,
                  wcorr, wlag);
}

/* The loudest decoded sample inside the pauses (from 100 ms after a burst
 * to 20 ms before the next): concealed DTX frames must stay quiet. */
static float pause_peak(const Signal *s, const Decoded *d)
{
    float m = 0;

    for (int k = 0; k + 1 < s->n_onsets; k++)
        for (int64_t i = s->end[k] + RATE / 10; i < s->onset[k + 1] - RATE / 50 && i < d->n; i++)
            for (int c = 0; c < d->ch; c++)
                m = FFMAX(m, fabsf(d->pcm[i * d->ch + c]));
    return m;
}

static float peak(const Decoded *d, int c)
{
    float m = 0;

    for (int64_t i = 0; i < d->n; i++)
        m = FFMAX(m, fabsf(d->pcm[i * d->ch + c]));
    return m;
}

/* The start of each burst in the decoded audio (rises above 0.05 after
 * 50 ms under it), matched to the input's: the largest error, in samples. */
static int64_t onset_error(const Signal *s, const Decoded *d)
{
    int64_t worst = 0, quiet = RATE;
    int k = 0;

    for (int64_t i = 0; i < d->n; i++) {
        float v = fabsf(d->pcm[i * d->ch]);
        if (v > 0.05f && quiet >= RATE / 20) {
            /* the input's own crossing of the same level, in that burst */
            int64_t j = s->onset[k < s->n_onsets ? k : s->n_onsets - 1];
            while (j < s->n && fabsf(s->pcm[j * s->ch]) <= 0.05f)
                j++;
            ck_assert_int_lt(k, s->n_onsets);
            worst = FFMAX(worst, llabs(i - j));
            k++;
        }
        quiet = v < 0.05f ? quiet + 1 : 0;
    }
    ck_assert_int_eq(k, s->n_onsets);
    return worst;
}

static void decoded_free(Decoded *d)
{
    free(d->pcm);
    d->pcm = NULL;
}

static const char *const decoders[] = {"opus", "libopus"};

/* The checks every decode must pass: expect samples back (the input's,
 * unless said), the timeline whole and starting at 0, the container's
 * duration right. */
static void check_timeline(const Signal *s, const Decoded *d, int64_t expect, const char *what)
{
    ck_assert_msg(d->n == expect, "%s: %lld samples decoded of %lld", what, (long long)d->n,
                  (long long)expect);
    ck_assert_msg(d->gaps == 0, "%s: %lld gaps in the audio timestamps", what, (long long)d->gaps);
    ck_assert_msg(llabs(d->first_us) <= 1000, "%s: audio starts at %lld us", what,
                  (long long)d->first_us);
    ck_assert_msg(llabs(d->audio_end - s->n * 1000000 / RATE) <= 20000,
                  "%s: audio ends at %lld us of %lld", what, (long long)d->audio_end,
                  (long long)(s->n * 1000000 / RATE));
    ck_assert_msg(llabs(d->duration - s->n * 1000000 / RATE) <= 20000,
                  "%s: duration %lld us of %lld", what, (long long)d->duration,
                  (long long)(s->n * 1000000 / RATE));
}

/* Encode sig with cfg (NULL = the wrapper) into name; return the size. */
static int64_t encode_file(const char *name, const Signal *sig, const RxOpusConfig *cfg, int video,
                           RxOpusStats *stats)
{
    Enc e;
    Packets ps;
    int64_t size;

    enc_open(&e, sig->ch, cfg);
    encode(&e, sig, &ps);
    size = mux(td_path(dir, name), &e, &ps, sig, video);
    if (stats && e.rx)
        rx_opusenc_stats(e.rx, stats);
    packets_free(&ps);
    enc_close(&e);
    return size;
}

static double kbps(int64_t bytes, const Signal *s)
{
    return bytes * 8.0 / ((double)s->n / RATE) / 1000;
}

/* ---- tests */

/* Without DTX the module is the wrapper: the same packets, byte for byte,
 * the same timestamps, the same OpusHead and pre-skip (mono, stereo, 5.1). */
static const int parity_channels[] = {1, 2, 6};

START_TEST(same_packets_as_the_wrapper_without_dtx)
{
    int ch = parity_channels[_i];
    RxOpusConfig cfg = config(ch, RX_OPUS_DTX_OFF, 20);
    AVCodecParameters *pw = avcodec_parameters_alloc(), *pr = avcodec_parameters_alloc();
    Signal s;
    Enc w, r;
    Packets a, b;

    make_signal(&s, SIG_MUSIC, 3 * RATE + 123, ch, -300, 1);
    enc_open(&w, ch, NULL);
    enc_open(&r, ch, &cfg);
    enc_params(&w, pw);
    enc_params(&r, pr);
    ck_assert_int_eq(pr->extradata_size, pw->extradata_size);
    ck_assert_int_eq(pr->extradata_size, ch > 2 ? 21 + ch : 19);
    ck_assert_mem_eq(pr->extradata, pw->extradata, pw->extradata_size);
    ck_assert_int_eq(pr->initial_padding, pw->initial_padding);
    ck_assert_int_eq(pr->initial_padding, rx_opusenc_preskip(r.rx));
    ck_assert_int_eq(AV_RL16(pr->extradata + 10), pr->initial_padding);
    ck_assert_int_eq(av_channel_layout_compare(&pr->ch_layout, &pw->ch_layout), 0);
    encode(&w, &s, &a);
    encode(&r, &s, &b);
    ck_assert_int_eq(a.n, b.n);
    ck_assert_int_eq(a.n, (int)((s.n + pr->initial_padding + FS - 1) / FS));
    for (int i = 0; i < a.n; i++) {
        size_t sw = 0, sr = 0;
        const uint8_t *kw = av_packet_get_side_data(a.p[i], AV_PKT_DATA_SKIP_SAMPLES, &sw);
        const uint8_t *kr = av_packet_get_side_data(b.p[i], AV_PKT_DATA_SKIP_SAMPLES, &sr);
        ck_assert_int_eq(a.p[i]->size, b.p[i]->size);
        ck_assert_mem_eq(a.p[i]->data, b.p[i]->data, a.p[i]->size);
        ck_assert_int_eq(a.p[i]->pts, b.p[i]->pts);
        ck_assert_int_eq(b.p[i]->dts, b.p[i]->pts);
        ck_assert_int_eq(a.p[i]->duration, b.p[i]->duration);
        ck_assert_int_eq(sw, sr);
        if (sw)
            ck_assert_int_eq(AV_RL32(kw + 4), AV_RL32(kr + 4));
    }
    ck_assert_int_eq(b.p[0]->pts, -pr->initial_padding);
    packets_free(&a);
    packets_free(&b);
    enc_close(&w);
    enc_close(&r);
    avcodec_parameters_free(&pw);
    avcodec_parameters_free(&pr);
    free(s.pcm);
}
END_TEST

/* Merging DTX frames changes the packaging, not the audio: libopus's own
 * decoder gives the same samples from the merged packets as from the
 * frames one by one, and each merged packet holds as many 20 ms frames as
 * its duration says. Mono (DTX always, noisy pauses) and stereo (DTX in
 * digital silence). */
static const struct {
    int ch, dtx;
    double floor_db;
} merge_case[] = {
    {1, RX_OPUS_DTX_ALWAYS, -60},
    {2, RX_OPUS_DTX_SILENCE, -300},
};

static void decode_packets(const RxOpusEnc *enc, const Packets *ps, int ch, float **out, int64_t *n,
                           int64_t *frames)
{
    AVCodecParameters *par = avcodec_parameters_alloc();
    OpusMSDecoder *dec;
    const uint8_t *h;
    uint8_t map[8] = {0, 1};
    int streams = 1, coupled = ch > 1, err;

    ck_assert_int_eq(rx_opusenc_parameters(enc, par), 0);
    h = par->extradata;
    if (h[18]) {
        streams = h[19];
        coupled = h[20];
        memcpy(map, h + 21, ch);
    }
    dec = opus_multistream_decoder_create(RATE, ch, streams, coupled, map, &err);
    ck_assert_int_eq(err, OPUS_OK);
    *n = 0;
    *frames = 0;
    *out = malloc(sizeof(float) * (size_t)(ps->n * 5760 + 5760) * ch);
    ck_assert_ptr_nonnull(*out);
    for (int i = 0; i < ps->n; i++) {
        int got = opus_multistream_decode_float(dec, ps->p[i]->data, ps->p[i]->size, *out + *n * ch,
                                                5760, 0);
        ck_assert_int_gt(got, 0);
        ck_assert_int_eq(got % FS, 0);
        /* duration = the frames in it, less the trimmed end */
        ck_assert_int_le(ps->p[i]->duration, got);
        if (i < ps->n - 1)
            ck_assert_int_eq(ps->p[i]->duration, got);
        if (i > 0)
            ck_assert_int_eq(ps->p[i]->pts, ps->p[i - 1]->pts + ps->p[i - 1]->duration);
        if (streams == 1)
            ck_assert_int_eq(opus_packet_get_nb_frames(ps->p[i]->data, ps->p[i]->size), got / FS);
        *n += got;
        *frames += got / FS;
    }
    opus_multistream_decoder_destroy(dec);
    avcodec_parameters_free(&par);
}

START_TEST(merged_dtx_frames_decode_the_same)
{
    int ch = merge_case[_i].ch;
    RxOpusConfig one = config(ch, merge_case[_i].dtx, 20);
    RxOpusConfig merged = config(ch, merge_case[_i].dtx, RX_OPUS_MAX_MERGE);
    RxOpusStats st;
    Signal s;
    Enc a, b;
    Packets pa, pb;
    float *ya, *yb;
    int64_t na, nb, fa, fb;

    make_signal(&s, SIG_SPEECH, 10 * RATE, ch, merge_case[_i].floor_db, 1);
    enc_open(&a, ch, &one);
    enc_open(&b, ch, &merged);
    encode(&a, &s, &pa);
    encode(&b, &s, &pb);
    rx_opusenc_stats(b.rx, &st);
    ck_assert_int_gt(st.dtx_frames, st.frames / 3);
    ck_assert_int_eq(pa.n, st.frames); /* one frame per packet */
    ck_assert_int_lt(pb.n, pa.n - st.dtx_frames / 2);
    decode_packets(a.rx, &pa, ch, &ya, &na, &fa);
    decode_packets(b.rx, &pb, ch, &yb, &nb, &fb);
    ck_assert_int_eq(fa, st.frames);
    ck_assert_int_eq(fb, st.frames);
    ck_assert_int_eq(na, nb);
    ck_assert_mem_eq(ya, yb, sizeof(float) * (size_t)(na * ch));
    free(ya);
    free(yb);
    packets_free(&pa);
    packets_free(&pb);
    enc_close(&a);
    enc_close(&b);
    free(s.pcm);
}
END_TEST

/* A minute of stereo digital silence (and a few samples: the trimmed end)
 * costs at most 1.5 kb/s, the whole WebM counted; without DTX the same
 * measure sees the wrapper's ~18 kb/s. Both decoders get every sample back,
 * silent. */
START_TEST(silent_track_costs_at_most_1500_bits_a_second)
{
    RxOpusConfig cfg = config(2, RX_OPUS_DTX_SILENCE, RX_OPUS_MAX_MERGE);
    RxOpusConfig off = config(2, RX_OPUS_DTX_OFF, 20);
    RxOpusStats st;
    Signal s;
    int64_t on_size, off_size, wrap_size;

    make_signal(&s, SIG_SILENT, 60 * RATE + 437, 2, -300, 1);
    on_size = encode_file("silent.webm", &s, &cfg, 0, &st);
    off_size = encode_file("silent-nodtx.webm", &s, &off, 0, NULL);
    wrap_size = encode_file("silent-wrapper.webm", &s, NULL, 0, NULL);
    fprintf(stderr,
            "silent 60 s stereo: %.2f kb/s (%lld B; %lld of %lld frames DTX, %lld refreshes "
            "dropped, %lld packets), without DTX %.2f kb/s, wrapper %.2f kb/s\n",
            kbps(on_size, &s), (long long)on_size, (long long)st.dtx_frames, (long long)st.frames,
            (long long)st.refreshes_dropped, (long long)st.packets, kbps(off_size, &s),
            kbps(wrap_size, &s));
    ck_assert_double_le(kbps(on_size, &s), 1.5);
    ck_assert_double_gt(kbps(off_size, &s), 1.5);
    ck_assert_int_eq(off_size, wrap_size);
    for (int k = 0; k < 2; k++) {
        Decoded d;
        decode_file(td_path(dir, "silent.webm"), decoders[k], &d);
        check_timeline(&s, &d, s.n, decoders[k]);
        ck_assert_int_le(d.packets, 60 * 10); /* merged: ~8 a second, not 50 */
        ck_assert_float_le(peak(&d, 0), 1e-3f);
        ck_assert_float_le(peak(&d, 1), 1e-3f);
        decoded_free(&d);
    }
    free(s.pcm);
}
END_TEST

/* Speech-like bursts between pauses. Every sample back from both decoders,
 * the bursts where the wrapper's decode has them (A/V sync, with a video
 * stream in the file), the pauses as quiet and the SNR as good. The cost:
 * with pauses of digital zeros at least 10 % below the wrapper's; with a
 * -60 dBFS noise floor the default (DTX in digital silence only) is the
 * wrapper, and RX_OPUS_DTX_ALWAYS (the default) is cheaper again.
 * FFmpeg's native decoder has no DTX concealment: it decodes an empty
 * frame as if its data were zeros, so after noisy pauses it starts some
 * onsets softly, within one frame; under ALWAYS only libopus's decode is
 * held to the wrapper's sample by sample. */
static const struct {
    double floor_db;
    int dtx;
    int cheaper;
} speech_case[] = {
    {-300, RX_OPUS_DTX_SILENCE, 1},
    {-60, RX_OPUS_DTX_SILENCE, 0},
    {-60, RX_OPUS_DTX_ALWAYS, 1},
};

START_TEST(speech_pauses_cost_less_and_stay_in_sync)
{
    RxOpusConfig cfg = config(2, speech_case[_i].dtx, RX_OPUS_MAX_MERGE);
    RxOpusStats st;
    Signal s;
    int64_t rx_size, wrap_size;

    make_signal(&s, SIG_SPEECH, 30 * RATE + 77, 2, speech_case[_i].floor_db, 1);
    rx_size = encode_file("speech.webm", &s, &cfg, 0, &st);
    wrap_size = encode_file("speech-wrapper.webm", &s, NULL, 0, NULL);
    encode_file("speech-av.webm", &s, &cfg, 1, NULL);
    encode_file("speech-av-wrapper.webm", &s, NULL, 1, NULL);
    fprintf(stderr,
            "speech, pauses %s, DTX %s: %.2f kb/s (%lld of %lld frames DTX, %lld refreshes "
            "dropped, %lld packets), wrapper %.2f kb/s: %.0f %%\n",
            speech_case[_i].floor_db < -200 ? "digital zero" : "-60 dBFS noise",
            cfg.dtx == RX_OPUS_DTX_ALWAYS ? "always" : "in silence", kbps(rx_size, &s),
            (long long)st.dtx_frames, (long long)st.frames, (long long)st.refreshes_dropped,
            (long long)st.packets, kbps(wrap_size, &s), 100.0 * rx_size / wrap_size);
    if (speech_case[_i].cheaper)
        ck_assert_int_le(rx_size, wrap_size * 9 / 10);
    else
        ck_assert_int_eq(rx_size, wrap_size);
    for (int k = 0; k < 2; k++) {
        /* FFmpeg's native decoder, with no concealment, starts some
         * onsets after noisy pauses softly: within one frame (20 ms) */
        int native_always = cfg.dtx == RX_OPUS_DTX_ALWAYS && strcmp(decoders[k], "libopus");
        Decoded d, w;
        int64_t late, wlate;
        decode_file(td_path(dir, "speech-av.webm"), decoders[k], &d);
        decode_file(td_path(dir, "speech-av-wrapper.webm"), decoders[k], &w);
        check_timeline(&s, &d, s.n, decoders[k]);
        /* A/V: the video starts and ends where it does beside the
         * wrapper's audio (the muxer's pre-skip shift included). */
        ck_assert_int_ne(d.video_end, 0);
        ck_assert_int_eq(d.video_start - d.first_us, w.video_start - w.first_us);
        ck_assert_int_eq(d.video_end - d.audio_end, w.video_end - w.audio_end);
        late = onset_error(&s, &d);
        wlate = onset_error(&s, &w);
        fprintf(stderr,
                "  %s: SNR %.2f dB (wrapper %.2f), bursts within %lld samples (%lld), pauses "
                "peak %.4f (%.4f), video at %+lld us of the audio\n",
                decoders[k], snr(&s, &d, 0), snr(&s, &w, 0), (long long)late, (long long)wlate,
                pause_peak(&s, &d), pause_peak(&s, &w), (long long)(d.video_start - d.first_us));
        ck_assert_double_ge(snr(&s, &d, 0), snr(&s, &w, 0) - 1.0);
        /* the level crossings of codec output are a few ms off the
         * input's; the wrapper's decode is the reference */
        ck_assert_int_le(late, wlate + (native_always ? RX_OPUS_FRAME : RATE / 500));
        /* no ticks in the pauses: libopus's refreshes there go out empty */
        ck_assert_float_le(pause_peak(&s, &d), FFMAX(0.01f, 2 * pause_peak(&s, &w)));
        if (cfg.dtx == RX_OPUS_DTX_ALWAYS)
            ck_assert_int_gt(st.refreshes_dropped, 0);
        if (!native_always)
            check_alike(&s, &d, &w, 0, RATE / 100, decoders[k]);
        decoded_free(&d);
        decoded_free(&w);
    }
    free(s.pcm);
}
END_TEST

/* Music-like audio (never quiet) costs what the wrapper's does, within
 * 10 %, and decodes as well. */
START_TEST(music_costs_what_the_wrapper_costs)
{
    RxOpusConfig cfg = config(2, RX_OPUS_DTX_SILENCE, RX_OPUS_MAX_MERGE);
    Signal s;
    int64_t rx_size, wrap_size;

    make_signal(&s, SIG_MUSIC, 30 * RATE, 2, -300, 1);
    rx_size = encode_file("music.webm", &s, &cfg, 0, NULL);
    wrap_size = encode_file("music-wrapper.webm", &s, NULL, 0, NULL);
    fprintf(stderr, "music: %.2f kb/s, wrapper %.2f kb/s\n", kbps(rx_size, &s),
            kbps(wrap_size, &s));
    ck_assert_int_le(llabs(rx_size - wrap_size), wrap_size / 10);
    for (int k = 0; k < 2; k++) {
        Decoded d, w;
        decode_file(td_path(dir, "music.webm"), decoders[k], &d);
        decode_file(td_path(dir, "music-wrapper.webm"), decoders[k], &w);
        check_timeline(&s, &d, s.n, decoders[k]);
        fprintf(stderr, "  %s: SNR %.2f dB (wrapper %.2f)\n", decoders[k], snr(&s, &d, 0),
                snr(&s, &w, 0));
        ck_assert_double_ge(snr(&s, &d, 0), snr(&s, &w, 0) - 0.1);
        check_alike(&s, &d, &w, 0, RATE, decoders[k]);
        decoded_free(&d);
        decoded_free(&w);
    }
    free(s.pcm);
}
END_TEST

/* 5.1 (mapping family 1, four streams) runs without DTX (see opusenc.h):
 * silence costs what the wrapper's does, and a voice on the centre alone
 * comes back on the centre from both decoders, as many samples as from the
 * wrapper's file. */
START_TEST(surround_keeps_its_channels_without_dtx)
{
    RxOpusConfig cfg = config(6, RX_OPUS_DTX_ALWAYS, RX_OPUS_MAX_MERGE);
    AVChannelLayout want = {0};
    RxOpusStats st;
    Signal s, quiet;
    int64_t size, quiet_size, wrap_quiet;
    char name[64];

    make_signal(&s, SIG_SPEECH, 20 * RATE, 6, -300, 0);
    /* the voice from channel 0 (FL) to FC, index 2 of 5.1 */
    for (int64_t i = 0; i < s.n; i++) {
        s.pcm[i * 6 + 2] = s.pcm[i * 6];
        s.pcm[i * 6] = 0;
    }
    make_signal(&quiet, SIG_SILENT, 20 * RATE, 6, -300, 0);
    size = encode_file("surround.webm", &s, &cfg, 0, &st);
    encode_file("surround-wrapper.webm", &s, NULL, 0, NULL);
    quiet_size = encode_file("surround-silent.webm", &quiet, &cfg, 0, NULL);
    wrap_quiet = encode_file("surround-silent-wrapper.webm", &quiet, NULL, 0, NULL);
    fprintf(stderr, "5.1: speech on FC %.2f kb/s, silence %.2f kb/s (wrapper %.2f)\n",
            kbps(size, &s), kbps(quiet_size, &quiet), kbps(wrap_quiet, &quiet));
    ck_assert_int_eq(st.dtx_frames, 0);
    ck_assert_int_eq(quiet_size, wrap_quiet);
    ck_assert_int_eq(rx_opusenc_layout(6, &want), 0);
    av_channel_layout_describe(&want, name, sizeof(name));
    for (int k = 0; k < 2; k++) {
        Decoded d, w;
        /* FFmpeg 5.1's native decoder gives 24 samples fewer from several
         * streams, from the wrapper's files too: the same count is asked. */
        decode_file(td_path(dir, "surround-wrapper.webm"), decoders[k], &w);
        ck_assert_int_ge(w.n, s.n - FS);
        if (!strcmp(decoders[k], "libopus"))
            ck_assert_int_eq(w.n, s.n);
        decode_file(td_path(dir, "surround.webm"), decoders[k], &d);
        check_timeline(&s, &d, w.n, decoders[k]);
        ck_assert_int_eq(d.ch, 6);
        ck_assert_str_eq(d.layout, name);
        ck_assert_float_gt(peak(&d, 2), 0.3f);
        for (int c = 0; c < 6; c++)
            if (c != 2)
                ck_assert_float_lt(peak(&d, c), 0.1f * peak(&d, 2));
        check_alike(&s, &d, &w, 2, RATE / 100, decoders[k]);
        decoded_free(&d);
        decoded_free(&w);
    }
    av_channel_layout_uninit(&want);
    free(s.pcm);
    free(quiet.pcm);
}
END_TEST

/* The contract of the calls: what is refused, and the end of the stream. */
START_TEST(calls_out_of_turn_are_refused)
{
    RxOpusConfig cfg = config(2, RX_OPUS_DTX_SILENCE, RX_OPUS_MAX_MERGE), bad;
    RxOpusConfig plain = config(2, RX_OPUS_DTX_OFF, 20);
    RxOpusEnc *e = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVChannelLayout l = {0};
    float pcm[FS * 2] = {0};
    int ret;

    bad = cfg;
    bad.channels = 0;
    ck_assert_int_eq(rx_opusenc_open(&e, &bad), AVERROR(EINVAL));
    bad = cfg;
    bad.channels = 9;
    ck_assert_int_eq(rx_opusenc_open(&e, &bad), AVERROR(EINVAL));
    bad = cfg;
    bad.merge_ms = 50;
    ck_assert_int_eq(rx_opusenc_open(&e, &bad), AVERROR(EINVAL));
    bad = cfg;
    bad.application = "music";
    ck_assert_int_eq(rx_opusenc_open(&e, &bad), AVERROR(EINVAL));
    bad = cfg;
    bad.bit_rate = 100;
    ck_assert_int_eq(rx_opusenc_open(&e, &bad), AVERROR(EINVAL));
    bad = cfg;
    bad.dtx = RX_OPUS_DTX_ALWAYS + 1;
    ck_assert_int_eq(rx_opusenc_open(&e, &bad), AVERROR(EINVAL));
    ck_assert_ptr_null(e);
    ck_assert_int_eq(rx_opusenc_layout(9, &l), AVERROR(EINVAL));
    ck_assert_int_eq(rx_opusenc_layout(3, &l), 0);
    ck_assert_int_eq(l.nb_channels, 3);
    av_channel_layout_uninit(&l);
    rx_opusenc_free(&e);
    rx_opusenc_free(NULL);

    /* nothing sent: the flush makes nothing */
    ck_assert_int_eq(rx_opusenc_open(&e, &cfg), 0);
    ck_assert_int_eq(rx_opusenc_receive(e, pkt), AVERROR(EAGAIN));
    ck_assert_int_eq(rx_opusenc_send(e, NULL, 0, 0), 0);
    ck_assert_int_eq(rx_opusenc_receive(e, pkt), AVERROR_EOF);
    ck_assert_int_eq(rx_opusenc_send(e, pcm, FS, 0), AVERROR_EOF);
    rx_opusenc_free(&e);
    ck_assert_ptr_null(e);

    ck_assert_int_eq(rx_opusenc_open(&e, &plain), 0);
    ck_assert_int_eq(rx_opusenc_send(e, pcm, FS + 1, 0), AVERROR(EINVAL));
    ck_assert_int_eq(rx_opusenc_send(e, pcm, FS, 1000), 0);
    ck_assert_int_eq(rx_opusenc_send(e, pcm, FS, 1000 + FS), AVERROR(EAGAIN)); /* not drained */
    ck_assert_int_eq(rx_opusenc_receive(e, pkt), 0);
    ck_assert_int_eq(pkt->pts, 1000 - rx_opusenc_preskip(e));
    ck_assert_int_eq(pkt->duration, FS);
    ck_assert(pkt->flags & AV_PKT_FLAG_KEY);
    av_packet_unref(pkt);
    ck_assert_int_eq(rx_opusenc_receive(e, pkt), AVERROR(EAGAIN));
    ck_assert_int_eq(rx_opusenc_send(e, pcm, FS, 1000 + FS + 1), AVERROR(EINVAL)); /* a gap */
    ck_assert_int_eq(rx_opusenc_send(e, pcm, 100, 1000 + FS), 0);                  /* short */
    while ((ret = rx_opusenc_receive(e, pkt)) == 0)
        av_packet_unref(pkt);
    ck_assert_int_eq(ret, AVERROR(EAGAIN));
    ck_assert_int_eq(rx_opusenc_send(e, pcm, FS, 1000 + FS + 100), AVERROR(EINVAL)); /* ended */
    ck_assert_int_eq(rx_opusenc_send(e, NULL, 0, 0), 0);
    while ((ret = rx_opusenc_receive(e, pkt)) == 0)
        av_packet_unref(pkt);
    ck_assert_int_eq(ret, AVERROR_EOF);
    rx_opusenc_free(&e);
    av_packet_free(&pkt);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("opusenc");
    TCase *tc = tcase_create("opusenc");

    rx_log_init(RX_LOG_ERROR);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, same_packets_as_the_wrapper_without_dtx, 0, 3);
    tcase_add_loop_test(tc, merged_dtx_frames_decode_the_same, 0, 2);
    tcase_add_test(tc, silent_track_costs_at_most_1500_bits_a_second);
    tcase_add_loop_test(tc, speech_pauses_cost_less_and_stay_in_sync, 0, 3);
    tcase_add_test(tc, music_costs_what_the_wrapper_costs);
    tcase_add_test(tc, surround_keeps_its_channels_without_dtx);
    tcase_add_test(tc, calls_out_of_turn_are_refused);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
