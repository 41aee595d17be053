/*
 * video.c - the video path of a job: the encoder's set-up (picture,
 * orientation, time base, the encoder's own options and the checks that
 * avoid its known faults), the frame stage, the keyframe policy, encoding
 * and flushing, and the packet held back to learn its duration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/pixdesc.h>

#include "encoders/encoder.h"
#include "transcode/transcode_int.h"

/* ---- set-up: decoder, picture, timing, encoder, output stream, frame stage */

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
        return tc_fail(t, AVERROR(ENOTSUP),
                       "cannot re-encode '%s': its display matrix is not a rotation", t->input);
    return tc_fail(t, AVERROR(ENOTSUP),
                   "cannot re-encode '%s': its video is shown rotated %d degrees (display matrix); "
                   "only quarter turns and mirrors can be applied",
                   t->input, cw);
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

/* The decoder of the video, and how its picture is to be shown. */
static int open_video_decoder(RxTranscode *t, AVStream *ist, RxOrient *orient)
{
    VideoPath *v = &t->v;
    int ret;

    v->in_index = ist->index;
    ret = tc_open_decoder(t, ist, &v->dec);
    if (ret < 0)
        return ret;
    if (v->dec->width <= 0 || v->dec->height <= 0 || v->dec->pix_fmt == AV_PIX_FMT_NONE)
        return tc_fail(t, AVERROR_INVALIDDATA, "cannot tell the picture size of stream %d of '%s'",
                       ist->index, t->input);
    return read_orientation(t, ist, orient);
}

/* The encoder's picture: size, pixel format, aspect and colour, as shown. */
static int set_picture(RxTranscode *t, const AVCodec *codec, AVCodecContext *enc, const RxOrient *o)
{
    const VideoPath *v = &t->v;

    /* The picture as it is shown: a quarter turn swaps its sides. */
    enc->width = o->transpose ? v->dec->height : v->dec->width;
    enc->height = o->transpose ? v->dec->width : v->dec->height;
    enc->pix_fmt = pick_pix_fmt(codec, v->dec->pix_fmt);
    enc->sample_aspect_ratio = v->dec->sample_aspect_ratio;
    if (o->transpose && enc->sample_aspect_ratio.num > 0)
        enc->sample_aspect_ratio =
            (AVRational){enc->sample_aspect_ratio.den, enc->sample_aspect_ratio.num};
    if (!rx_orient_supported(enc->pix_fmt, o))
        return tc_fail(t, AVERROR(ENOTSUP),
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
    return 0;
}

/* The encoder's time base and frame rate: the input's own, or with --cfr
 * (and images) a constant rate. */
static void set_timing(RxTranscode *t, AVCodecContext *enc, const AVStream *ist)
{
    VideoPath *v = &t->v;

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
}

/* The encoder's own options for the job, and the open. */
static int open_encoder(RxTranscode *t, const RxEncoder *ve, const AVCodec *codec,
                        AVCodecContext *enc, const AVStream *ist, const char *params)
{
    AVDictionary *opts = NULL;
    const AVDictionaryEntry *e;
    const char *raw = ve->raw_params ? ve->raw_params(&t->s) : NULL;
    int ret;

    enc->thread_count = rx_settings_threads(&t->s);
    if (t->oc->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

    /* SVT plans its prediction structure and default keyint with a frame
     * rate; without one the wrapper passes the time base's reciprocal
     * (15360 fps for 1/15360). rav1e counts its keyframe interval in frames
     * of it. Timestamps stay ours. */
    if (ve->needs_framerate && !enc->framerate.num)
        enc->framerate = ist->r_frame_rate.num > 0 && ist->r_frame_rate.den > 0
                             ? ist->r_frame_rate
                             : (AVRational){30, 1};
    ret = ve->apply(&t->s, params, enc, &opts);
    if (ret < 0) {
        av_dict_free(&opts);
        return tc_fail(t, ret, "cannot set up video encoder '%s' for '%s'", codec->name, t->input);
    }
    ret = avcodec_open2(enc, codec, &opts);
    e = av_dict_get(opts, "", NULL, AV_DICT_IGNORE_SUFFIX);
    if (ret >= 0 && e)
        ret = tc_fail(t, AVERROR_OPTION_NOT_FOUND, "video encoder '%s' has no option '%s'",
                      codec->name, e->key);
    av_dict_free(&opts);
    if (ret < 0 && raw && raw[0])
        return tc_fail(t, ret, "cannot open video encoder '%s' for '%s' (check --%s '%s')",
                       codec->name, t->input, rx_encoder_option_name(ve->params_option), raw);
    if (ret < 0)
        return tc_fail(t, ret, "cannot open video encoder '%s' for '%s'", codec->name, t->input);
    return 0;
}

/* The output stream of the video, from the opened encoder. */
static int add_video_stream(RxTranscode *t, const AVStream *ist)
{
    VideoPath *v = &t->v;
    const AVCodecContext *enc = v->enc;
    int ret;

    v->ost = avformat_new_stream(t->oc, NULL);
    if (!v->ost)
        return tc_fail(t, AVERROR(ENOMEM), "cannot create output stream for '%s'", t->output);
    ret = avcodec_parameters_from_context(v->ost->codecpar, enc);
    if (ret < 0)
        return tc_fail(t, ret, "cannot create output stream for '%s'", t->output);
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

    return 0;
}

/* The frame stage (vstage.h) between the decoder's frames and the encoder. */
static int open_stage(RxTranscode *t, const RxOrient *orient)
{
    VideoPath *v = &t->v;
    const AVCodecContext *enc = v->enc;
    int ret;

    ret = rx_vstage_new(&v->stage,
                        &(RxVStageConfig){.width = enc->width,
                                          .height = enc->height,
                                          .fmt = enc->pix_fmt,
                                          .orient = *orient,
                                          .dedup = rx_settings_dedup(&t->s),
                                          .scene = t->s.keyint_seconds < 0,
                                          .max_diff = t->s.dedup_max_diff,
                                          .rate = v->cfr ? enc->framerate : (AVRational){0, 1},
                                          .in_tb = v->in_tb});
    if (ret < 0)
        return tc_fail(t, ret, "cannot set up the frame stage for '%s'", t->input);
    return 0;
}

/* The timing state of the video and its keyframe cadence or policy. */
static int init_video_state(RxTranscode *t)
{
    VideoPath *v = &t->v;
    const AVCodecContext *enc = v->enc;

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
        return tc_fail(t, AVERROR(ENOMEM), "cannot open video encoder for '%s'", t->input);
    t->res->width = enc->width;
    t->res->height = enc->height;
    return 0;
}

int tc_open_video(RxTranscode *t, AVStream *ist)
{
    VideoPath *v = &t->v;
    const RxEncoder *ve = rx_encoder_find(t->s.video_encoder);
    const AVCodec *codec;
    AVCodecContext *enc;
    /* The encoder's raw options (libaom's aom-params), as adapt() leaves them. */
    char params[sizeof(t->s.aom_params) + 32], msg[RX_ERROR_MAX];
    RxOrient orient;
    int ret;

    ret = open_video_decoder(t, ist, &orient);
    if (ret < 0)
        return ret;
    codec = avcodec_find_encoder_by_name(t->s.video_encoder);
    if (!codec)
        return tc_fail(t, AVERROR_ENCODER_NOT_FOUND, "no video encoder '%s' in this libavcodec",
                       t->s.video_encoder);
    if (!ve)
        return tc_fail(t, AVERROR(EINVAL), "video encoder '%s' is not one reencode drives",
                       t->s.video_encoder);
    msg[0] = '\0';
    ret = ve->check_input
              ? ve->check_input(&t->s, t->input, v->dec->width, v->dec->height, msg, sizeof(msg))
              : 0;
    if (ret < 0)
        return tc_fail(t, ret, "%s", msg);
    /* With a NULL codec the generic defaults (b=128k, qmax 31) would make
     * crf 32 invalid for libaom: allocate for the codec. */
    enc = avcodec_alloc_context3(codec);
    if (!enc)
        return tc_fail(t, AVERROR(ENOMEM), "cannot open video encoder for '%s'", t->input);
    v->enc = enc;
    ret = set_picture(t, codec, enc, &orient);
    if (ret < 0)
        return ret;
    snprintf(params, sizeof(params), "%s", t->s.aom_params);
    msg[0] = '\0';
    if (ve->adapt)
        ve->adapt(&t->s, t->input, codec, enc, params, sizeof(params), msg, sizeof(msg));
    if (msg[0])
        tc_note(t, "%s", msg);
    set_timing(t, enc, ist);
    ret = open_encoder(t, ve, codec, enc, ist, params);
    if (ret >= 0)
        ret = add_video_stream(t, ist);
    if (ret >= 0)
        ret = open_stage(t, &orient);
    if (ret >= 0)
        ret = init_video_state(t);
    return ret;
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
        ret = tc_mux(t, v->held, v->enc->time_base, v->ost);
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
            return tc_fail(t, ret, "cannot encode video of '%s'", t->input);
        ret = mux_video(t, t->epkt);
        av_packet_unref(t->epkt);
        if (ret < 0)
            return ret;
    }
}

/* ---- encoding */

static int send_video(RxTranscode *t, AVFrame *out)
{
    VideoPath *v = &t->v;
    int ret = avcodec_send_frame(v->enc, out);

    if (ret < 0)
        return tc_fail(t, ret, "cannot encode video of '%s'", t->input);
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
    tc_report_progress(t);
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
    /* As av_packet_rescale_ts() will round them in tc_mux(). */
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
        return tc_fail(t, ret, "cannot convert video of '%s'", t->input);
    t->res->video_frames_repeated = rx_vstage_repeated(v->stage);
    t->res->video_frames_dropped = rx_vstage_dropped(v->stage);
    return 0;
}

int tc_encode_video_frame(RxTranscode *t, AVFrame *frame)
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
        return tc_fail(t, ret, "cannot convert video of '%s'", t->input);
    if (!ret) {
        t->res->video_frames_elided++;
        tc_report_progress(t);
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

/* End of the video: the stage, then the encoder, then the held packet. */
int tc_flush_video(RxTranscode *t)
{
    int ret = flush_video_stage(t);

    if (ret < 0)
        return ret;
    ret = avcodec_send_frame(t->v.enc, NULL);
    if (ret < 0)
        return tc_fail(t, ret, "cannot finish video of '%s'", t->input);
    ret = drain_video(t);
    if (ret < 0)
        return ret;
    return mux_video(t, NULL);
}
