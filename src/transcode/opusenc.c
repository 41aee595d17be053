/*
 * opusenc.c - Opus through libopus with DTX, runs of DTX frames merged
 * into packets of up to 120 ms (see opusenc.h).
 */
#include <math.h>
#include <string.h>

#include <opus.h>
#include <opus_multistream.h>

#include <libavcodec/defs.h>
#include <libavutil/common.h>
#include <libavutil/error.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/mem.h>

#include "transcode/opusenc.h"

/* libopus's advice for the output buffer of one stream's packet. */
#define STREAM_BYTES 4000
/* Packets pending between a send and the receives that drain it: a held
 * run, the frame that ended it, and at the flush one more frame. */
#define QUEUE 4

/* What FFmpeg 5.1's wrapper uses with its default mapping_family -1: the
 * coupled streams per channel count, where libopus finds each input
 * channel (input in FFmpeg's order of the Vorbis layout) and the mapping
 * written in the OpusHead (Vorbis order). */
static const uint8_t coupled_streams[RX_OPUS_MAX_CHANNELS] = {0, 1, 1, 2, 2, 2, 2, 3};
static const uint8_t input_map[RX_OPUS_MAX_CHANNELS][RX_OPUS_MAX_CHANNELS] = {
    {0},
    {0, 1},
    {0, 1, 2},
    {0, 1, 2, 3},
    {0, 1, 3, 4, 2},
    {0, 1, 4, 5, 2, 3},
    {0, 1, 5, 6, 2, 4, 3},
    {0, 1, 6, 7, 4, 5, 2, 3},
};
static const uint8_t head_map[RX_OPUS_MAX_CHANNELS][RX_OPUS_MAX_CHANNELS] = {
    {0},
    {0, 1},
    {0, 2, 1},
    {0, 1, 2, 3},
    {0, 4, 1, 2, 3},
    {0, 4, 1, 2, 3, 5},
    {0, 4, 1, 2, 3, 5, 6},
    {0, 6, 1, 2, 3, 4, 5, 7},
};

/* 20 ms frames waiting to become one packet: DTX frames, each just a TOC
 * byte (no data), all with the same TOC. */
typedef struct Run {
    int n;
    int64_t pts; /* of the first frame */
    int64_t dur; /* samples the run plays (the last frame may be trimmed) */
    uint8_t toc;
} Run;

struct RxOpusEnc {
    OpusMSEncoder *ms;
    int channels, streams, coupled;
    int preskip;
    int max_run; /* frames per merged packet; 1 = no merging */
    int dtx;     /* RX_OPUS_DTX_*, OFF for more than one stream */
    int dtx_on;  /* what libopus was last told */
    int64_t bit_rate;
    uint8_t head[21 + RX_OPUS_MAX_CHANNELS];
    int head_size;
    float *pad;         /* one zeroed frame: short last frame, flush */
    uint8_t *buf;       /* libopus's output, streams * STREAM_BYTES */
    int64_t origin;     /* pts of the first sample, AV_NOPTS_VALUE before */
    int64_t in_samples; /* samples per channel sent */
    int ended;          /* a short frame or the flush was sent */
    int flushed;
    Run run;
    int prev_silent;  /* the previous frame's input was digital silence */
    int prev_dtx;     /* the previous frame went out without data */
    float pause_peak; /* the loudest input of the DTX frames just before */
    AVPacket *queue[QUEUE];
    int q_head, q_len;
    RxOpusStats stats;
};

static int from_opus(int err)
{
    switch (err) {
    case OPUS_BAD_ARG:
        return AVERROR(EINVAL);
    case OPUS_ALLOC_FAIL:
        return AVERROR(ENOMEM);
    case OPUS_UNIMPLEMENTED:
        return AVERROR(ENOSYS);
    case OPUS_INVALID_PACKET:
        return AVERROR_INVALIDDATA;
    case OPUS_BUFFER_TOO_SMALL:
        return AVERROR_BUG;
    default:
        return AVERROR_EXTERNAL;
    }
}

void rx_opusenc_defaults(RxOpusConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->channels = 2;
    cfg->bit_rate = 32000;
    cfg->application = "voip";
    cfg->dtx = RX_OPUS_DTX_SILENCE;
    cfg->merge_ms = RX_OPUS_MAX_MERGE;
}

int rx_opusenc_layout(int channels, AVChannelLayout *layout)
{
    /* FFmpeg's ff_vorbis_ch_layouts (not exported). */
    static const AVChannelLayout vorbis[RX_OPUS_MAX_CHANNELS] = {
        AV_CHANNEL_LAYOUT_MONO,    AV_CHANNEL_LAYOUT_STEREO,       AV_CHANNEL_LAYOUT_SURROUND,
        AV_CHANNEL_LAYOUT_QUAD,    AV_CHANNEL_LAYOUT_5POINT0_BACK, AV_CHANNEL_LAYOUT_5POINT1_BACK,
        AV_CHANNEL_LAYOUT_6POINT1, AV_CHANNEL_LAYOUT_7POINT1,
    };

    if (channels < 1 || channels > RX_OPUS_MAX_CHANNELS)
        return AVERROR(EINVAL);
    return av_channel_layout_copy(layout, &vorbis[channels - 1]);
}

static int application_of(const char *name)
{
    if (!name || !strcmp(name, "voip"))
        return OPUS_APPLICATION_VOIP;
    if (!strcmp(name, "audio"))
        return OPUS_APPLICATION_AUDIO;
    if (!strcmp(name, "lowdelay"))
        return OPUS_APPLICATION_RESTRICTED_LOWDELAY;
    return AVERROR(EINVAL);
}

/* The wrapper's libopus_configure_encoder with its option defaults (DTX is
 * set frame by frame). Max bandwidth stays libopus's own (fullband): the wrapper sets it
 * only for an explicit cutoff. */
static int configure(OpusMSEncoder *ms, const RxOpusConfig *cfg)
{
    int err;

    err = opus_multistream_encoder_ctl(ms, OPUS_SET_BITRATE((opus_int32)cfg->bit_rate));
    if (err == OPUS_OK)
        err = opus_multistream_encoder_ctl(ms, OPUS_SET_COMPLEXITY(10));
    if (err == OPUS_OK)
        err = opus_multistream_encoder_ctl(ms, OPUS_SET_VBR(1));
    if (err == OPUS_OK)
        err = opus_multistream_encoder_ctl(ms, OPUS_SET_VBR_CONSTRAINT(0));
    if (err == OPUS_OK)
        err = opus_multistream_encoder_ctl(ms, OPUS_SET_PACKET_LOSS_PERC(0));
    if (err == OPUS_OK)
        err = opus_multistream_encoder_ctl(ms, OPUS_SET_INBAND_FEC(0));
    if (err == OPUS_OK)
        err = opus_multistream_encoder_ctl(ms, OPUS_SET_PHASE_INVERSION_DISABLED(0));
    return err;
}

/* RFC 7845 section 5.1, as the wrapper writes it. */
static void write_head(RxOpusEnc *e)
{
    uint8_t *p = e->head;
    int family = e->channels > 2 ? 1 : 0;

    memcpy(p, "OpusHead", 8);
    p[8] = 1; /* version */
    p[9] = (uint8_t)e->channels;
    AV_WL16(p + 10, e->preskip);
    AV_WL32(p + 12, RX_OPUS_RATE);
    AV_WL16(p + 16, 0); /* output gain */
    p[18] = (uint8_t)family;
    e->head_size = 19;
    if (family) {
        p[19] = (uint8_t)e->streams;
        p[20] = (uint8_t)e->coupled;
        memcpy(p + 21, head_map[e->channels - 1], e->channels);
        e->head_size = 21 + e->channels;
    }
}

int rx_opusenc_open(RxOpusEnc **out, const RxOpusConfig *cfg)
{
    RxOpusEnc *e;
    int app = application_of(cfg->application);
    int err, ret, i;

    *out = NULL;
    if (app < 0 || cfg->dtx < RX_OPUS_DTX_OFF || cfg->dtx > RX_OPUS_DTX_ALWAYS ||
        cfg->channels < 1 || cfg->channels > RX_OPUS_MAX_CHANNELS || cfg->bit_rate < 500 ||
        cfg->bit_rate > 256000LL * cfg->channels || cfg->merge_ms < 20 ||
        cfg->merge_ms > RX_OPUS_MAX_MERGE || cfg->merge_ms % 20)
        return AVERROR(EINVAL);
    e = av_mallocz(sizeof(*e));
    if (!e)
        return AVERROR(ENOMEM);
    e->channels = cfg->channels;
    e->coupled = coupled_streams[cfg->channels - 1];
    e->streams = cfg->channels - e->coupled;
    e->max_run = cfg->merge_ms / 20;
    /* DTX for one stream only (see opusenc.h: FFmpeg's native decoder
     * reads the next stream's bytes for an empty frame). */
    e->dtx = e->streams == 1 ? cfg->dtx : RX_OPUS_DTX_OFF;
    e->bit_rate = cfg->bit_rate;
    e->origin = AV_NOPTS_VALUE;
    e->pad = av_calloc((size_t)RX_OPUS_FRAME * e->channels, sizeof(*e->pad));
    e->buf = av_malloc((size_t)STREAM_BYTES * e->streams);
    for (i = 0; i < QUEUE; i++)
        e->queue[i] = av_packet_alloc();
    ret = AVERROR(ENOMEM);
    if (!e->pad || !e->buf)
        goto fail;
    for (i = 0; i < QUEUE; i++)
        if (!e->queue[i])
            goto fail;

    e->ms = opus_multistream_encoder_create(RX_OPUS_RATE, e->channels, e->streams, e->coupled,
                                            input_map[e->channels - 1], app, &err);
    if (err == OPUS_OK)
        err = configure(e->ms, cfg);
    if (err == OPUS_OK)
        err = opus_multistream_encoder_ctl(e->ms, OPUS_GET_LOOKAHEAD(&e->preskip));
    if (err != OPUS_OK) {
        ret = from_opus(err);
        goto fail;
    }
    write_head(e);
    *out = e;
    return 0;

fail:
    rx_opusenc_free(&e);
    return ret;
}

int rx_opusenc_parameters(const RxOpusEnc *e, AVCodecParameters *par)
{
    int ret;

    av_freep(&par->extradata);
    par->extradata_size = 0;
    par->extradata = av_mallocz(e->head_size + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!par->extradata)
        return AVERROR(ENOMEM);
    memcpy(par->extradata, e->head, e->head_size);
    par->extradata_size = e->head_size;
    par->codec_type = AVMEDIA_TYPE_AUDIO;
    par->codec_id = AV_CODEC_ID_OPUS;
    par->codec_tag = 0;
    par->format = AV_SAMPLE_FMT_FLT;
    par->bit_rate = e->bit_rate;
    par->sample_rate = RX_OPUS_RATE;
    par->frame_size = RX_OPUS_FRAME;
    par->initial_padding = e->preskip;
    av_channel_layout_uninit(&par->ch_layout);
    ret = rx_opusenc_layout(e->channels, &par->ch_layout);
    return ret;
}

int rx_opusenc_preskip(const RxOpusEnc *e)
{
    return e->preskip;
}

/* ---- packets */

/* The next free packet of the queue, unreferenced; NULL when full, which
 * QUEUE's bound rules out. */
static AVPacket *queue_slot(RxOpusEnc *e)
{
    AVPacket *pkt;

    if (e->q_len == QUEUE)
        return NULL;
    pkt = e->queue[(e->q_head + e->q_len) % QUEUE];
    av_packet_unref(pkt);
    return pkt;
}

/* Stamp and queue pkt: span samples coded, dur of them to be played. */
static int queue_packet(RxOpusEnc *e, AVPacket *pkt, int64_t pts, int64_t dur, int64_t span)
{
    pkt->pts = pkt->dts = pts;
    pkt->duration = dur;
    pkt->flags |= AV_PKT_FLAG_KEY;
    if (span > dur) {
        uint8_t *sd = av_packet_new_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, 10);
        if (!sd) {
            av_packet_unref(pkt);
            return AVERROR(ENOMEM);
        }
        AV_WL32(sd + 4, (uint32_t)(span - dur)); /* samples to drop at the end */
    }
    e->q_len++;
    e->stats.packets++;
    e->stats.bytes += pkt->size;
    return 0;
}

/* The run as one packet: one frame is the TOC alone (code 0), several
 * the TOC as code 3 and a frame count byte, CBR: frames of 0 bytes each
 * (RFC 6716 section 3.2.5). Decoders conceal each such frame, as they do
 * a lone DTX packet. */
static int write_run(RxOpusEnc *e)
{
    Run *r = &e->run;
    AVPacket *pkt;
    int ret;

    if (r->n == 0)
        return 0;
    pkt = queue_slot(e);
    if (!pkt)
        return AVERROR_BUG;
    ret = av_new_packet(pkt, r->n > 1 ? 2 : 1);
    if (ret < 0)
        return ret;
    pkt->data[0] = (uint8_t)((r->toc & ~3) | (r->n > 1 ? 3 : 0));
    if (r->n > 1)
        pkt->data[1] = (uint8_t)r->n;
    ret = queue_packet(e, pkt, r->pts, r->dur, (int64_t)r->n * RX_OPUS_FRAME);
    r->n = 0;
    return ret;
}

/* The frame's loudest sample, in full scale: one pass serves both the
 * digital-silence test and the pause level. */
static float frame_peak(const RxOpusEnc *e, const float *pcm)
{
    float peak = 0;

    for (int i = 0; i < RX_OPUS_FRAME * e->channels; i++) {
        float a = fabsf(pcm[i]);
        if (a > peak)
            peak = a;
    }
    return peak;
}

/* Below a 16-bit source's least significant bit: digital silence. */
#define SILENCE_PEAK (1.0f / 65536)

/*
 * RX_OPUS_DTX_ALWAYS: is the frame just coded, after DTX frames, libopus's
 * 400 ms comfort-noise refresh inside the pause rather than speech coming
 * back? It is when its input is no louder than the pause it continues (at
 * most twice, +6 dB, the loudest of the frames libopus left unsent); a
 * voice is tens of dB above its room's noise. libopus 1.3's multistream
 * API does not answer OPUS_GET_IN_DTX, hence the level. Such a refresh
 * goes out empty too: FFmpeg's native decoder, with no concealment, turns
 * a refresh that follows empty frames into a 10 ms burst ~20 dB above the
 * pause's noise (a tick every 400 ms), while libopus's decoder conceals
 * the empty frames either way.
 */
static int refresh_in_pause(const RxOpusEnc *e, float peak)
{
    return e->dtx == RX_OPUS_DTX_ALWAYS && peak <= 2 * e->pause_peak;
}

/* Encode one full frame of pcm and queue what it makes. */
static int encode_frame(RxOpusEnc *e, const float *pcm)
{
    int64_t k = e->stats.frames;
    int64_t pts = e->origin - e->preskip + k * RX_OPUS_FRAME;
    int64_t dur = FFMIN(RX_OPUS_FRAME, e->preskip + e->in_samples - k * RX_OPUS_FRAME);
    float peak = e->dtx != RX_OPUS_DTX_OFF ? frame_peak(e, pcm) : 0;
    int silent = e->dtx != RX_OPUS_DTX_OFF && peak <= SILENCE_PEAK;
    Run *r = &e->run;
    AVPacket *pkt;
    int size, ret, dtx, want;

    /* RX_OPUS_DTX_SILENCE: libopus may stop sending only while this frame
     * and the one before are digital silence, so that every frame it might
     * drop (it codes the previous frame's last pre-skip samples too) holds
     * nothing. */
    want =
        e->dtx == RX_OPUS_DTX_ALWAYS || (e->dtx == RX_OPUS_DTX_SILENCE && silent && e->prev_silent);
    if (want != e->dtx_on) {
        ret = opus_multistream_encoder_ctl(e->ms, OPUS_SET_DTX(want));
        if (ret != OPUS_OK)
            return from_opus(ret);
        e->dtx_on = want;
    }
    size =
        opus_multistream_encode_float(e->ms, pcm, RX_OPUS_FRAME, e->buf, STREAM_BYTES * e->streams);
    if (size < 0)
        return from_opus(size);
    e->stats.frames++;
    /* libopus marks a frame it need not send by returning its TOC alone. */
    dtx = e->dtx_on && size == 1 && (e->buf[0] & 3) == 0;
    /* In DTX libopus still sends a frame every 400 ms so that the
     * decoder's comfort noise follows the background. Digital silence has
     * no background to follow: inside a stretch of it that libopus has
     * stopped sending, the refresh goes out empty too (at 32 kb/s stereo
     * its 39 bytes would be most of a silent track's cost). */
    if (e->dtx_on && !dtx && e->prev_dtx && (e->buf[0] & 3) == 0 &&
        ((silent && e->prev_silent) || refresh_in_pause(e, peak))) {
        size = 1;
        dtx = 1;
        e->stats.refreshes_dropped++;
    }
    e->pause_peak = dtx ? FFMAX(e->prev_dtx ? e->pause_peak : 0, peak) : 0;
    e->prev_silent = silent;
    e->prev_dtx = dtx;
    e->stats.dtx_frames += dtx;
    if (dtx) {
        /* A run holds one TOC: mode, bandwidth and channels stay alike. */
        if ((r->n == e->max_run || (r->n && r->toc != e->buf[0])) && (ret = write_run(e)) < 0)
            return ret;
        if (r->n++ == 0) {
            r->pts = pts;
            r->dur = 0;
            r->toc = e->buf[0];
        }
        r->dur += dur;
        /* A full run goes at once: no reason to hold it. */
        return r->n == e->max_run ? write_run(e) : 0;
    }
    ret = write_run(e);
    if (ret < 0)
        return ret;
    pkt = queue_slot(e);
    if (!pkt)
        return AVERROR_BUG;
    ret = av_new_packet(pkt, size);
    if (ret < 0)
        return ret;
    memcpy(pkt->data, e->buf, size);
    return queue_packet(e, pkt, pts, dur, RX_OPUS_FRAME);
}

int rx_opusenc_send(RxOpusEnc *e, const float *pcm, int nb, int64_t pts)
{
    int ret;

    if (e->q_len)
        return AVERROR(EAGAIN); /* drain with rx_opusenc_receive() first */
    if (e->flushed)
        return AVERROR_EOF;
    if (!pcm) {
        e->flushed = 1;
        e->ended = 1;
        if (e->origin == AV_NOPTS_VALUE)
            return 0; /* nothing sent, nothing to write (as the wrapper) */
        /* The pre-skip delays the output: encode silence until every
         * sample sent has left libopus. */
        while (e->stats.frames * RX_OPUS_FRAME < e->preskip + e->in_samples) {
            memset(e->pad, 0, sizeof(*e->pad) * RX_OPUS_FRAME * e->channels);
            ret = encode_frame(e, e->pad);
            if (ret < 0)
                return ret;
        }
        return write_run(e);
    }
    if (e->ended || nb < 1 || nb > RX_OPUS_FRAME ||
        (e->origin != AV_NOPTS_VALUE && pts != e->origin + e->in_samples))
        return AVERROR(EINVAL);
    if (e->origin == AV_NOPTS_VALUE)
        e->origin = pts;
    e->in_samples += nb;
    if (nb < RX_OPUS_FRAME) {
        size_t n = (size_t)nb * e->channels;
        memcpy(e->pad, pcm, n * sizeof(*pcm));
        memset(e->pad + n, 0, ((size_t)RX_OPUS_FRAME * e->channels - n) * sizeof(*pcm));
        e->ended = 1;
        return encode_frame(e, e->pad);
    }
    return encode_frame(e, pcm);
}

int rx_opusenc_receive(RxOpusEnc *e, AVPacket *pkt)
{
    if (!e->q_len)
        return e->flushed ? AVERROR_EOF : AVERROR(EAGAIN);
    av_packet_move_ref(pkt, e->queue[e->q_head]);
    e->q_head = (e->q_head + 1) % QUEUE;
    e->q_len--;
    return 0;
}

void rx_opusenc_stats(const RxOpusEnc *e, RxOpusStats *st)
{
    *st = e->stats;
}

void rx_opusenc_free(RxOpusEnc **pe)
{
    RxOpusEnc *e = pe ? *pe : NULL;
    int i;

    if (!e)
        return;
    opus_multistream_encoder_destroy(e->ms);
    for (i = 0; i < QUEUE; i++)
        av_packet_free(&e->queue[i]);
    av_freep(&e->pad);
    av_freep(&e->buf);
    av_freep(pe);
}
