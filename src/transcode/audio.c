/*
 * audio.c - the audio paths of a job: decoders, swr to 48 kHz float, the
 * FIFO that cuts Opus frames, the Opus encoder (opusenc.h), gaps filled
 * with silence, and --audio-codec copy.
 */
#include <errno.h>
#include <string.h>

#include <libavutil/channel_layout.h>

#include "transcode/transcode_int.h"

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

int tc_open_audio(RxTranscode *t, AVStream *ist, AudioPath *a)
{
    RxOpusConfig cfg;
    int nb, ret;

    a->in_index = ist->index;
    a->start_pts = AV_NOPTS_VALUE;
    a->next_in = AV_NOPTS_VALUE;
    ret = tc_open_decoder(t, ist, &a->dec);
    if (ret < 0)
        return ret;
    nb = a->dec->ch_layout.nb_channels;
    if (nb <= 0 || a->dec->sample_rate <= 0)
        return tc_fail(t, AVERROR_INVALIDDATA,
                       "cannot tell the channels of audio stream %d of '%s'", ist->index, t->input);

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
        return tc_fail(t, ret, "cannot open Opus encoder for stream %d of '%s'", ist->index,
                       t->input);
    a->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLT, cfg.channels, RX_OPUS_FRAME * 4);
    a->pcm = av_malloc_array((size_t)RX_OPUS_FRAME * cfg.channels, sizeof(*a->pcm));
    if (!a->fifo || !a->pcm)
        return tc_fail(t, AVERROR(ENOMEM), "cannot open Opus encoder for '%s'", t->input);

    ret = add_audio_stream(t, ist, a);
    if (ret >= 0)
        ret = rx_opusenc_parameters(a->opus, a->ost->codecpar);
    if (ret < 0)
        return tc_fail(t, ret, "cannot create output stream for '%s'", t->output);
    a->ost->time_base = OPUS_TB;
    return 0;
}

/* --audio-codec copy: the input's packets go to the muxer as they are (no
 * decoder, no encoder), in the input's time base. */
int tc_open_audio_copy(RxTranscode *t, AVStream *ist, AudioPath *a)
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
        return tc_fail(t, ret, "cannot create output stream for '%s'", t->output);
    a->ost->codecpar->codec_tag = 0; /* MP4's tag means nothing to Matroska */
    a->ost->time_base = ist->time_base;
    return 0;
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
            return tc_fail(t, ret, "cannot encode audio of '%s'", t->input);
        ret = tc_mux(t, t->epkt, OPUS_TB, a->ost);
        av_packet_unref(t->epkt);
        if (ret < 0)
            return ret;
    }
}

/* Job thread: write a copied packet, in the input's time base. Its times
 * give the track's duration for the check before publish. */
int tc_mux_copied(RxTranscode *t, AudioPath *a, AVPacket *pkt)
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
    return tc_mux(t, pkt, ist->time_base, a->ost);
}

/* ---- encoding */

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
            return tc_fail(t, AVERROR_BUG, "cannot encode audio of '%s'", t->input);
        a->sent += n;
        ret = rx_opusenc_send(a->opus, a->pcm, n, pts);
        if (ret < 0)
            return tc_fail(t, ret, "cannot encode audio of '%s'", t->input);
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
            return tc_fail(t, ret, "cannot resample audio of '%s'", t->input);
        a->conv_cap = need;
    }
    n = swr_convert(a->swr, &a->conv, a->conv_cap, data, nb);
    if (n < 0)
        return tc_fail(t, n, "cannot resample audio of '%s'", t->input);
    if (n > 0 && av_audio_fifo_write(a->fifo, (void **)&a->conv, n) != n)
        return tc_fail(t, AVERROR(ENOMEM), "cannot buffer audio of '%s'", t->input);
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
        return tc_fail(t, ret, "cannot resample audio of '%s'", t->input);
    ret = swr_alloc_set_opts2(&a->swr, &a->layout, AV_SAMPLE_FMT_FLT, OPUS_RATE, &in, f->format,
                              f->sample_rate, 0, NULL);
    av_channel_layout_uninit(&in);
    if (ret >= 0)
        ret = swr_init(a->swr);
    if (ret < 0)
        return tc_fail(t, ret, "cannot resample audio of '%s'", t->input);
    av_channel_layout_uninit(&a->swr_in_layout);
    ret = av_channel_layout_copy(&a->swr_in_layout, &f->ch_layout);
    if (ret < 0)
        return tc_fail(t, ret, "cannot resample audio of '%s'", t->input);
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
        return tc_fail(t, ret, "cannot fill an audio gap of '%s'", t->input);
    av_samples_set_silence(silence, 0, chunk, f->ch_layout.nb_channels, f->format);
    while (gap > 0 && !tc_cancelled(t)) {
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

int tc_process_audio_frame(RxTranscode *t, AudioPath *a, AVFrame *f)
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

/* End of an encoded track: the resampler, the FIFO, then the encoder. */
int tc_flush_audio(RxTranscode *t, AudioPath *a)
{
    int ret;

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
        return tc_fail(t, ret, "cannot finish audio of '%s'", t->input);
    return drain_audio(t, a);
}
