/*
 * opusenc.h - Opus through libopus directly, with discontinuous transmission.
 *
 * FFmpeg 5.1's libopus wrapper cannot turn on DTX, so digital silence costs
 * ~18 kb/s at 32 kb/s voip. This module sets libopus up the way that wrapper
 * does (multistream API, mapping family 0 for 1-2 channels and 1 for 3-8,
 * VBR, complexity 10, no FEC; the same OpusHead and pre-skip: without DTX
 * its packets are the wrapper's, byte for byte), adds OPUS_SET_DTX, and
 * merges each run of frames libopus does not need to send (a TOC byte and
 * no data) into one packet of up to 120 ms: code 3, n frames of 0 bytes,
 * 2 bytes in all. The timeline stays continuous, so decoders and players
 * produce every sample at its time (dropping the frames instead leaves gaps
 * that Chromium closes up, out of sync), and Matroska pays its per-block
 * framing ~8 times a second instead of 50. Inside digital silence libopus's
 * 400 ms comfort-noise refreshes go out empty too: there is no noise to
 * describe, and they would be most of a silent track's bytes.
 *
 * FFmpeg 5.1's native Opus decoder (ffmpeg's default) has no concealment:
 * it decodes a frame without data as if the bytes after it were its data.
 * After the last stream those are the packet's zero padding, which decodes
 * as silence when the background was silence; after noisy pauses it clicks
 * at some speech onsets, and in a multistream packet the bytes are the next
 * stream's (peaks of 1.7 full scale on silent channels). Hence DTX only
 * for 1-2 channels; 3-8 channels always encode as the wrapper does. The
 * default, RX_OPUS_DTX_ALWAYS, stops wherever libopus's voice detector hears
 * none; its comfort-noise refreshes inside a pause go out empty as well (a
 * native decode would make each a tick), so the native decoder gives
 * pauses as quiet and starts some words after a pause up to one frame
 * (20 ms) softly; libopus's decoder (Chromium's, Firefox's) conceals them
 * sample for sample. RX_OPUS_DTX_SILENCE limits DTX to digital silence.
 *
 * Calling sequence, per track:
 *   rx_opusenc_defaults(&cfg); set cfg.channels, bit_rate, application
 *   rx_opusenc_layout(cfg.channels, &layout)   the order swr must produce
 *   rx_opusenc_open(&e, &cfg)
 *   rx_opusenc_parameters(e, ost->codecpar)    before avformat_write_header
 *   loop: rx_opusenc_send(e, pcm, n, pts) then rx_opusenc_receive() until
 *         AVERROR(EAGAIN)
 *   rx_opusenc_send(e, NULL, 0, 0), then rx_opusenc_receive() until
 *   AVERROR_EOF; rx_opusenc_free(&e)
 * Packets come out in 1/48000 (pts = input pts - pre-skip, as the wrapper's),
 * their durations exact, the last trimmed by AV_PKT_DATA_SKIP_SAMPLES (which
 * the Matroska muxer writes as DiscardPadding).
 *
 * Thread-safety: an RxOpusEnc belongs to one thread at a time; separate
 * encoders share nothing.
 */
#ifndef RX_OPUSENC_H
#define RX_OPUSENC_H

#include <stdint.h>

#include <libavcodec/codec_par.h>
#include <libavcodec/packet.h>
#include <libavutil/channel_layout.h>

#include "reencode/settings.h" /* RxOpusDtx */

#define RX_OPUS_RATE         48000
#define RX_OPUS_FRAME        960 /* samples per channel in each frame sent: 20 ms */
#define RX_OPUS_MAX_MERGE    120 /* ms: the longest an Opus packet may last */
#define RX_OPUS_MAX_CHANNELS 8   /* the most that mapping family 1 defines */

typedef struct RxOpusEnc RxOpusEnc;

typedef struct RxOpusConfig {
    int channels;            /* 1..RX_OPUS_MAX_CHANNELS */
    int64_t bit_rate;        /* b/s for the whole track, 500..256000 per channel */
    const char *application; /* "voip" | "audio" | "lowdelay" (borrowed during open) */
    int dtx;                 /* RxOpusDtx; 1-2 channels only, OFF above */
    int merge_ms;            /* longest packet made of DTX frames: 20 (none) .. 120, by 20 */
} RxOpusConfig;

typedef struct RxOpusStats {
    int64_t frames;            /* 20 ms frames encoded, flush padding included */
    int64_t dtx_frames;        /* of them, frames sent without data */
    int64_t refreshes_dropped; /* of those, libopus's DTX refreshes in digital silence */
    int64_t packets;           /* packets handed out */
    int64_t bytes;             /* their payload bytes */
} RxOpusStats;

/* reencode's defaults: stereo, 32 kb/s, voip, DTX on, merged to 120 ms. */
void rx_opusenc_defaults(RxOpusConfig *cfg);

/* The channel layout (and so the sample order) rx_opusenc_send() expects
 * for this many channels: Vorbis order, as the wrapper demands. Returns 0,
 * or AVERROR(EINVAL) outside 1..RX_OPUS_MAX_CHANNELS. */
int rx_opusenc_layout(int channels, AVChannelLayout *layout);

/* Returns 0 with a new encoder in *out, or a negative AVERROR (EINVAL for
 * a setting libopus refuses, ENOMEM) with *out NULL. */
int rx_opusenc_open(RxOpusEnc **out, const RxOpusConfig *cfg);

/* Fill an output stream's parameters: codec, rate, layout, OpusHead
 * extradata (19 bytes for mapping family 0, 21 + channels for family 1),
 * initial_padding (the pre-skip). Returns 0 or AVERROR(ENOMEM). */
int rx_opusenc_parameters(const RxOpusEnc *e, AVCodecParameters *par);

/* Samples of pre-skip (OPUS_GET_LOOKAHEAD), at 48 kHz. */
int rx_opusenc_preskip(const RxOpusEnc *e);

/*
 * Encode one frame: nb (1..RX_OPUS_FRAME) interleaved float samples per
 * channel at 48 kHz, pts its first sample's time in 1/48000. Frames must be
 * contiguous (pts = the previous pts + the previous nb); only the last may
 * be short (it is zero-padded, and its padding trimmed from the output).
 * pcm NULL flushes: the pre-skip's worth of samples still inside libopus
 * and any held DTX run come out. Returns 0, AVERROR(EINVAL) for a frame out
 * of turn (wrong size, not contiguous, after the end), or the mapped libopus
 * error. Packets made wait in the encoder until rx_opusenc_receive().
 */
int rx_opusenc_send(RxOpusEnc *e, const float *pcm, int nb, int64_t pts);

/*
 * Move the next finished packet into pkt (unreferenced by the caller first):
 * pts = dts, duration in 1/48000, key flag set. Returns 0, AVERROR(EAGAIN)
 * when more input is needed, AVERROR_EOF after the flush has been drained.
 */
int rx_opusenc_receive(RxOpusEnc *e, AVPacket *pkt);

void rx_opusenc_stats(const RxOpusEnc *e, RxOpusStats *st);

/* Frees the encoder and sets *e to NULL; accepts NULL and *e NULL. */
void rx_opusenc_free(RxOpusEnc **e);

#endif
