/*
 * check_transcode.c - the in-process transcode of one file, judged by
 * decoding what it wrote (never by trusting header fields).
 *
 * Every test makes its own clips with tests/support/testmedia in a fresh
 * temporary directory (a checked fixture: Check forks per test).
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/mathematics.h>

#include "checkrun.h"
#include "reencode/log.h"
#include "reencode/transcode.h"
#include "inspect.h"
#include "testdir.h"
#include "testmedia.h"

static char dir[256];

static void setup(void)
{
    ck_assert_int_eq(td_create(dir, sizeof(dir), "check_transcode"), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(td_remove(dir), 0);
}

static const char *path_in(const char *name)
{
    return td_path(dir, name);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void make_clip(const char *path, const TmClip *c)
{
    char err[256];
    int ret = tm_write_clip(path, c, err, sizeof(err));
    ck_assert_msg(ret == 0, "cannot make test clip %s: %s", path, err);
}

static void test_settings(RxSettings *s)
{
    rx_settings_default(s);
    s->threads = 2;
}

/* Loop tests run once per encoder: _i 0 = libaom-av1, 1 = libsvtav1. */
static const char *const encoders[] = {"libaom-av1", "libsvtav1"};
#define N_ENCODERS ((int)(sizeof(encoders) / sizeof(encoders[0])))

static void encoder_settings(RxSettings *s, int i)
{
    test_settings(s);
    ck_assert_int_eq(rx_settings_set_encoder(s, encoders[i]), 0);
}

static int encode(const char *in, const char *out, const RxSettings *s, RxResult *r)
{
    RxTranscode *t = NULL;
    int ret = rx_transcode_new(&t, in, out, s);

    ck_assert_int_eq(ret, 0);
    ret = rx_transcode_run(t, r);
    rx_transcode_free(&t);
    ck_assert_ptr_null(t);
    return ret;
}

static void encode_ok(const char *in, const char *out, const RxSettings *s, RxResult *r)
{
    int ret = encode(in, out, s, r);
    ck_assert_msg(ret == 0, "encode of %s failed: %s", in, r->error);
    ck_assert_int_eq(r->state, RX_STATE_ENCODED);
}

static void inspect(const char *p, InFile *f)
{
    int ret = in_inspect(p, 1, f);
    ck_assert_msg(ret == 0, "cannot inspect %s: %d", p, ret);
}

static int64_t span(const InStream *s)
{
    return s->end_us - s->first_us;
}

/* The contract of issue "core": video and audio durations each within one
 * frame / 20 ms of the input's, and the A/V start offset kept within 20 ms. */
static void assert_in_sync(const InFile *in, const InFile *out, double fps, int tracks)
{
    const InStream *iv = in_stream(in, AVMEDIA_TYPE_VIDEO, 0);
    const InStream *ov = in_stream(out, AVMEDIA_TYPE_VIDEO, 0);
    int64_t frame_us = (int64_t)(1e6 / fps) + 1000; /* + WebM's 1 ms rounding */

    ck_assert_ptr_nonnull(iv);
    ck_assert_ptr_nonnull(ov);
    ck_assert_msg(llabs(span(ov) - span(iv)) <= frame_us,
                  "video lasts %lld us, input %lld us (tolerance %lld)", (long long)span(ov),
                  (long long)span(iv), (long long)frame_us);
    for (int k = 0; k < tracks; k++) {
        const InStream *ia = in_stream(in, AVMEDIA_TYPE_AUDIO, k);
        const InStream *oa = in_stream(out, AVMEDIA_TYPE_AUDIO, k);
        ck_assert_ptr_nonnull(ia);
        ck_assert_ptr_nonnull(oa);
        ck_assert_msg(llabs(span(oa) - span(ia)) <= 20000, "audio %d lasts %lld us, input %lld us",
                      k, (long long)span(oa), (long long)span(ia));
        ck_assert_msg(llabs((ov->first_us - oa->first_us) - (iv->first_us - ia->first_us)) <= 20000,
                      "A/V start offset %lld us, input %lld us",
                      (long long)(ov->first_us - oa->first_us),
                      (long long)(iv->first_us - ia->first_us));
    }
    ck_assert_ptr_null(in_stream(out, AVMEDIA_TYPE_AUDIO, tracks));
}

static void assert_nothing_written(const char *out)
{
    char part[600];

    snprintf(part, sizeof(part), "%s.part", out);
    ck_assert_msg(!exists(out), "%s exists after a failed job", out);
    ck_assert_msg(!exists(part), "%s exists after a failed job", part);
}

START_TEST(cfr_clip_becomes_av1_opus_webm)
{
    const char *in = path_in("lecture one.mp4"), *out = path_in("lecture one.webm");
    const AVDictionaryEntry *e;
    InFile fi = {0}, fo = {0};
    const InStream *v, *a;
    RxSettings s;
    RxResult r;
    TmClip c;
    struct stat st;

    tm_clip_default(&c);
    make_clip(in, &c);
    test_settings(&s);
    encode_ok(in, NULL, &s, &r); /* default output name: extension replaced */
    ck_assert(exists(out));
    ck_assert(!exists(path_in("lecture one.webm.part")));

    inspect(in, &fi);
    inspect(out, &fo);
    ck_assert_ptr_nonnull(strstr(fo.format_name, "webm"));
    v = in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0);
    a = in_stream(&fo, AVMEDIA_TYPE_AUDIO, 0);
    ck_assert_int_eq(v->codec_id, AV_CODEC_ID_AV1);
    ck_assert_int_eq(a->codec_id, AV_CODEC_ID_OPUS);
    ck_assert_int_eq(fo.nb_streams, 2);
    ck_assert_int_eq(v->width, 320);
    ck_assert_int_eq(v->height, 180);
    ck_assert_int_eq(a->sample_rate, 48000);
    ck_assert_int_eq(a->channels, 2);
    /* Slides: a new one each second, so with duplicate elision (the
     * default) the first frame, the change at 1 s and the last two frames
     * (which keep the video's length) are all the encoder sees. */
    ck_assert_int_eq(v->frames, 4);
    ck_assert(v->is_default && a->is_default);
    ck_assert_int_eq(v->decode_errors, 0);
    assert_in_sync(&fi, &fo, c.fps, 1);

    /* Metadata: title from the file name, recorder's artist gone, its title
     * kept under another key, creation time kept, MP4 brands dropped. */
    e = av_dict_get(fo.metadata, "title", NULL, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->value, "lecture one");
    ck_assert_ptr_null(av_dict_get(fo.metadata, "artist", NULL, 0));
    e = av_dict_get(fo.metadata, "RECORDED_TITLE", NULL, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->value, "Visual Studio Code");
    e = av_dict_get(fo.metadata, "creation_time", NULL, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e->value, "2024-03-05T10:20:30"));
    ck_assert_ptr_null(av_dict_get(fo.metadata, "major_brand", NULL, 0));
    ck_assert_ptr_null(av_dict_get(fo.metadata, "compatible_brands", NULL, 0));

    /* The result record tells the truth about the file. */
    ck_assert_int_eq(stat(out, &st), 0);
    ck_assert_int_eq(r.out_bytes, st.st_size);
    ck_assert_int_eq(stat(in, &st), 0);
    ck_assert_int_eq(r.in_bytes, st.st_size);
    ck_assert_int_eq(r.video_frames, 4);
    ck_assert_int_eq(r.video_frames_elided, 56);
    ck_assert_int_eq(r.audio_tracks, 1);
    ck_assert_int_lt(llabs(r.video_duration_us - 2000000), 34000);
    in_free(&fi);
    in_free(&fo);
}
END_TEST

/* Audio payload bytes of an output (in_packets callback). */
static int sum_audio(void *opaque, const InPacket *p)
{
    if (p->type == AVMEDIA_TYPE_AUDIO)
        *(int64_t *)opaque += p->size;
    return 0;
}

static int64_t audio_bytes(const char *path)
{
    int64_t n = 0;

    ck_assert_int_eq(in_packets(path, sum_audio, &n), 0);
    return n;
}

/* Digital silence (Game Bar without a microphone) costs almost nothing
 * with DTX, the default, and decodes to as many samples, in sync; without
 * DTX it costs what FFmpeg's wrapper spends (~16 kb/s). */
START_TEST(silence_costs_almost_nothing)
{
    const char *in = path_in("silent.mp4"), *dtx = path_in("dtx.webm"), *off = path_in("off.webm");
    InFile fi = {0}, fd = {0}, fo = {0};
    int64_t bytes_dtx, bytes_off;
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 4.0;
    c.audio = TM_AUDIO_SILENT;
    make_clip(in, &c);
    test_settings(&s);
    ck_assert_int_eq(s.opus_dtx, RX_OPUS_DTX_ALWAYS);
    encode_ok(in, dtx, &s, &r);
    s.opus_dtx = RX_OPUS_DTX_OFF;
    encode_ok(in, off, &s, &r);

    bytes_dtx = audio_bytes(dtx);
    bytes_off = audio_bytes(off);
    ck_assert_msg(bytes_dtx * 8 <= 1500 * 4, "silent track with DTX: %lld bytes in 4 s",
                  (long long)bytes_dtx);
    ck_assert_msg(bytes_off * 8 >= 10000 * 4, "silent track without DTX: %lld bytes in 4 s",
                  (long long)bytes_off);

    inspect(in, &fi);
    inspect(dtx, &fd);
    inspect(off, &fo);
    assert_in_sync(&fi, &fd, c.fps, 1);
    assert_in_sync(&fi, &fo, c.fps, 1);
    ck_assert_int_eq(in_stream(&fd, AVMEDIA_TYPE_AUDIO, 0)->samples,
                     in_stream(&fo, AVMEDIA_TYPE_AUDIO, 0)->samples);
    ck_assert_int_eq(in_stream(&fd, AVMEDIA_TYPE_AUDIO, 0)->decode_errors, 0);
    in_free(&fi);
    in_free(&fd);
    in_free(&fo);
}
END_TEST

START_TEST(vfr_timestamps_survive)
{
    const char *in = path_in("vfr.mp4"), *out = path_in("vfr.webm");
    const InStream *iv, *ov;
    InFile fi = {0}, fo = {0};
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.vfr = 1;
    c.duration = 3.0;
    c.pattern = TM_MOTION;
    make_clip(in, &c);
    encoder_settings(&s, _i);
    encode_ok(in, out, &s, &r);
    inspect(in, &fi);
    inspect(out, &fo);
    assert_in_sync(&fi, &fo, c.fps, 1);

    /* Every frame keeps its own time (to WebM's 1 ms): numbering frames at
     * 1/fps would have squeezed the irregular durations. */
    iv = in_stream(&fi, AVMEDIA_TYPE_VIDEO, 0);
    ov = in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0);
    ck_assert_int_gt(iv->n_pts, 20);
    ck_assert_int_eq(ov->n_pts, iv->n_pts);
    for (int i = 0; i < iv->n_pts; i++) {
        int64_t din = iv->pts_us[i] - iv->pts_us[0];
        int64_t dout = ov->pts_us[i] - ov->pts_us[0];
        ck_assert_msg(llabs(din - dout) <= 1000, "%s: frame %d at %lld us, input %lld us",
                      encoders[_i], i, (long long)dout, (long long)din);
    }
    in_free(&fi);
    in_free(&fo);
}
END_TEST

/* ---- duplicate-frame elision, judged by what a viewer sees */

/* Every decoded luma plane of a file's first video stream with its time. */
typedef struct Luma {
    int w, h, n;
    int64_t *us;   /* timestamps relative to the first frame */
    uint8_t **pix; /* w * h each */
} Luma;

static void luma_free(Luma *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->pix[i]);
    free(l->pix);
    free(l->us);
    memset(l, 0, sizeof(*l));
}

static void luma_keep(Luma *l, const AVFrame *f, AVRational tb)
{
    int64_t t = av_rescale_q(f->best_effort_timestamp, tb, AV_TIME_BASE_Q);

    ck_assert_int_eq(f->format == AV_PIX_FMT_YUV420P, 1);
    l->w = f->width;
    l->h = f->height;
    l->us = realloc(l->us, sizeof(*l->us) * (size_t)(l->n + 1));
    l->pix = realloc(l->pix, sizeof(*l->pix) * (size_t)(l->n + 1));
    ck_assert(l->us && l->pix);
    l->us[l->n] = t;
    l->pix[l->n] = malloc((size_t)l->w * (size_t)l->h);
    ck_assert_ptr_nonnull(l->pix[l->n]);
    for (int y = 0; y < l->h; y++)
        memcpy(l->pix[l->n] + (size_t)y * (size_t)l->w, f->data[0] + y * f->linesize[0],
               (size_t)l->w);
    l->n++;
}

static void luma_read(const char *path, Luma *l)
{
    AVFormatContext *ic = NULL;
    AVCodecContext *dec;
    const AVCodec *codec;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    int si, ret;

    memset(l, 0, sizeof(*l));
    ck_assert_int_eq(avformat_open_input(&ic, path, NULL, NULL), 0);
    ck_assert_int_ge(avformat_find_stream_info(ic, NULL), 0);
    si = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    ck_assert_int_ge(si, 0);
    codec = avcodec_find_decoder(ic->streams[si]->codecpar->codec_id);
    dec = avcodec_alloc_context3(codec);
    ck_assert_int_ge(avcodec_parameters_to_context(dec, ic->streams[si]->codecpar), 0);
    dec->pkt_timebase = ic->streams[si]->time_base;
    ck_assert_int_eq(avcodec_open2(dec, codec, NULL), 0);
    for (;;) {
        ret = av_read_frame(ic, pkt);
        if (ret >= 0 && pkt->stream_index != si) {
            av_packet_unref(pkt);
            continue;
        }
        ck_assert_int_ge(avcodec_send_packet(dec, ret >= 0 ? pkt : NULL), 0);
        av_packet_unref(pkt);
        while (avcodec_receive_frame(dec, f) >= 0) {
            luma_keep(l, f, ic->streams[si]->time_base);
            av_frame_unref(f);
        }
        if (ret < 0)
            break;
    }
    /* Times relative to the first frame (WebM shifts streams by a few ms). */
    for (int i = l->n - 1; i >= 0; i--)
        l->us[i] -= l->us[0];
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&ic);
}

/* Worst 8x8 block mean absolute difference between two pictures. */
static double worst_block(const uint8_t *a, const uint8_t *b, int w, int h)
{
    double worst = 0;

    for (int by = 0; by + 8 <= h; by += 8) {
        for (int bx = 0; bx + 8 <= w; bx += 8) {
            int sum = 0;
            for (int y = by; y < by + 8; y++)
                for (int x = bx; x < bx + 8; x++)
                    sum += abs(a[(size_t)y * (size_t)w + (size_t)x] -
                               b[(size_t)y * (size_t)w + (size_t)x]);
            if (sum / 64.0 > worst)
                worst = sum / 64.0;
        }
    }
    return worst;
}

/* For each source frame at time t (+ shift_us), the output frame a viewer
 * sees then (the last one at or before it, 2 ms of WebM rounding allowed):
 * the worst block difference over the whole clip. */
static double worst_seen(const Luma *src, const Luma *out, int64_t shift_us)
{
    double worst = 0;
    int j = 0;

    ck_assert(src->w == out->w && src->h == out->h && out->n > 0);
    for (int i = 0; i < src->n; i++) {
        int64_t t = src->us[i] + shift_us;
        double d;
        while (j + 1 < out->n && out->us[j + 1] <= t + 2000)
            j++;
        d = worst_block(src->pix[i], out->pix[j], src->w, src->h);
        if (d > worst)
            worst = d;
    }
    return worst;
}

/* Someone typing on a still screen: every new glyph and every blink of a
 * 2-pixel cursor must reach the viewer at its time, while the frames in
 * between are not encoded. */
START_TEST(dedup_keeps_every_visible_change)
{
    const char *in = path_in("typing.mp4"), *out = path_in("typing.webm");
    InFile fi = {0}, fo = {0};
    Luma ls, lo;
    RxSettings s;
    RxResult r;
    TmClip c;
    double seen, late;

    tm_clip_default(&c);
    c.width = 640;
    c.height = 360;
    c.duration = 4.0;
    c.pattern = TM_TYPING;
    make_clip(in, &c);
    test_settings(&s);
    s.crf = 16; /* coding error well below what a missing glyph costs */
    encode_ok(in, out, &s, &r);

    /* 4 s: 5 glyphs, 7 cursor blinks (one at the same instant as a glyph),
     * the first frame and the two that end the video: 14 of 120. */
    ck_assert_int_eq(r.video_frames + r.video_frames_elided, 120);
    ck_assert_msg(r.video_frames >= 12 && r.video_frames <= 16, "%lld frames encoded",
                  (long long)r.video_frames);
    inspect(in, &fi);
    inspect(out, &fo);
    assert_in_sync(&fi, &fo, c.fps, 1);

    luma_read(in, &ls);
    luma_read(out, &lo);
    ck_assert_int_eq(ls.n, 120);
    ck_assert_int_eq(lo.n, r.video_frames);
    seen = worst_seen(&ls, &lo, 0);
    /* The check has teeth: the picture shown half a second late (a cursor
     * blink or a glyph behind) is caught by the same measure. */
    late = worst_seen(&ls, &lo, -(int64_t)(TM_BLINK_PERIOD * 1e6));
    ck_assert_msg(seen < 10.0, "a viewer sees a block off by %.1f levels", seen);
    ck_assert_msg(late > 40.0, "half a second late differs by only %.1f", late);
    luma_free(&ls);
    luma_free(&lo);
    in_free(&fi);
    in_free(&fo);
}
END_TEST

/* A still screen for 5 s: keyframes still come every keyint seconds (a
 * dropped frame is never one that is due), and the video lasts as long. */
START_TEST(dedup_keeps_keyframes_and_length)
{
    const char *in = path_in("still.mp4"), *out = path_in("still.webm");
    InFile fi = {0}, fo = {0};
    const InStream *v;
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 5.0;
    c.slide_seconds = 100.0;
    make_clip(in, &c);
    test_settings(&s);
    s.keyint_seconds = 2.0;
    encode_ok(in, out, &s, &r);
    inspect(in, &fi);
    inspect(out, &fo);
    v = in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0);
    ck_assert_int_eq(v->keyframes, 3); /* 0, 2, 4 s */
    ck_assert_int_eq(v->frames, 5);    /* those and the last two */
    ck_assert_int_eq(r.video_frames_elided, 145);
    assert_in_sync(&fi, &fo, c.fps, 1);
    in_free(&fi);
    in_free(&fo);
}
END_TEST

/* Elision is off on request, and finds nothing in content that always moves. */
START_TEST(dedup_off_and_moving_content_keep_every_frame)
{
    const char *in = path_in("n.mp4"), *out = path_in("n.webm"), *in2 = path_in("s.mp4"),
               *out2 = path_in("s.webm");
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 1.0;
    c.pattern = TM_NOISE;
    c.audio_tracks = 0;
    make_clip(in, &c);
    test_settings(&s);
    encode_ok(in, out, &s, &r);
    ck_assert_int_eq(r.video_frames, 30);
    ck_assert_int_eq(r.video_frames_elided, 0);

    c.pattern = TM_SLIDES;
    make_clip(in2, &c);
    s.dedup = 0;
    encode_ok(in2, out2, &s, &r);
    ck_assert_int_eq(r.video_frames, 30);
    ck_assert_int_eq(r.video_frames_elided, 0);
}
END_TEST

/* How each output was read back is recorded; near libaom's low-crf fault
 * zone quick becomes full (every frame decoded). */
START_TEST(verify_mode_is_recorded)
{
    const char *in = path_in("v.mp4"), *out = path_in("v.webm");
    static const struct {
        int mode, crf, want;
    } cases[] = {
        {RX_VERIFY_QUICK, 32, RX_VERIFY_QUICK},
        {RX_VERIFY_FULL, 32, RX_VERIFY_FULL},
        {RX_VERIFY_OFF, 32, RX_VERIFY_OFF},
        {RX_VERIFY_QUICK, 8, RX_VERIFY_FULL},
    };
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 5.0;
    c.pattern = TM_WEBCAM;
    make_clip(in, &c);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_settings(&s);
        s.keyint_seconds = 2.0; /* quick decodes from the keyframe at 4 s */
        s.verify = cases[i].mode;
        s.crf = cases[i].crf;
        unlink(out);
        encode_ok(in, out, &s, &r);
        ck_assert_msg(r.verified == cases[i].want, "case %zu: verified %d, want %d", i, r.verified,
                      cases[i].want);
    }
}
END_TEST

/* The quality measure the benchmarks quote judges what a viewer sees: every
 * source frame against the output frame on screen at its time. */
START_TEST(quality_is_judged_by_display_time)
{
    const char *full = path_in("q30.mp4"), *half = path_in("q15.mp4");
    InQuality q;
    TmClip c;

    tm_clip_default(&c);
    c.pattern = TM_MOTION;
    c.audio_tracks = 0;
    c.crf = 0; /* lossless: only timing differs between the two */
    make_clip(full, &c);
    c.fps = 15.0;
    make_clip(half, &c);

    ck_assert_int_eq(in_quality(full, full, &q), 0);
    ck_assert_int_eq(q.frames, 60);
    ck_assert(q.ssim > 0.999999 && q.ssim_min > 0.999999);
    ck_assert(q.psnr >= IN_PSNR_MAX);

    /* Half the frames: judged over the source's 60, every other one is the
     * previous picture held, which the measure must see. */
    ck_assert_int_eq(in_quality(full, half, &q), 0);
    ck_assert_int_eq(q.frames, 60);
    ck_assert_msg(q.ssim < 0.99 && q.ssim_min < q.ssim, "ssim %f min %f", q.ssim, q.ssim_min);
    ck_assert(q.psnr < 40.0);
}
END_TEST

/* Inputs that need swresample or unusual pictures. */
static const struct {
    const char *name;
    int width, height, bit_depth, chroma444, rate, channels, tracks;
    const char *want_pix_fmt;
} variants[] = {
    {"mono 44.1 kHz", 320, 180, 8, 0, 44100, 1, 1, "yuv420p"},
    {"12 kHz", 320, 180, 8, 0, 12000, 2, 1, "yuv420p"},
    {"odd size 322x182", 322, 182, 8, 0, 48000, 2, 1, "yuv420p"},
    {"10-bit", 320, 180, 10, 0, 48000, 2, 1, "yuv420p10le"},
    {"4:4:4", 320, 180, 8, 1, 48000, 2, 1, "yuv444p"},
    {"video only", 320, 180, 8, 0, 48000, 2, 0, "yuv420p"},
    {"two audio tracks", 320, 180, 8, 0, 48000, 2, 2, "yuv420p"},
    {"5.1 audio", 320, 180, 8, 0, 48000, 6, 1, "yuv420p"},
};

START_TEST(input_variants_encode)
{
    const char *in = path_in("variant.mp4"), *out = path_in("variant.webm");
    const InStream *v;
    InFile fi = {0}, fo = {0};
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.width = variants[_i].width;
    c.height = variants[_i].height;
    c.bit_depth = variants[_i].bit_depth;
    c.chroma444 = variants[_i].chroma444;
    c.sample_rate = variants[_i].rate;
    c.channels = variants[_i].channels;
    c.audio_tracks = variants[_i].tracks;
    c.pattern = TM_WEBCAM;
    make_clip(in, &c);
    test_settings(&s);
    encode_ok(in, out, &s, &r);
    inspect(in, &fi);
    inspect(out, &fo);
    v = in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0);
    ck_assert_msg(v->width == c.width && v->height == c.height, "%s: %dx%d", variants[_i].name,
                  v->width, v->height);
    ck_assert_str_eq(v->pix_fmt, variants[_i].want_pix_fmt);
    ck_assert_int_eq(r.audio_tracks, c.audio_tracks);
    ck_assert_int_eq(fo.nb_streams, 1 + c.audio_tracks);
    for (int k = 0; k < c.audio_tracks; k++) {
        const InStream *a = in_stream(&fo, AVMEDIA_TYPE_AUDIO, k);
        ck_assert_int_eq(a->codec_id, AV_CODEC_ID_OPUS);
        ck_assert_int_eq(a->sample_rate, 48000);
        ck_assert_int_eq(a->channels, c.channels);
        ck_assert_int_eq(a->decode_errors, 0);
    }
    assert_in_sync(&fi, &fo, c.fps, c.audio_tracks);
    in_free(&fi);
    in_free(&fo);
}
END_TEST

/* Source keyframes do not force AV1 keyframes; our cadence is by time. */
START_TEST(keyframes_by_time_not_by_source)
{
    const char *in = path_in("gop1.mp4"), *out1 = path_in("k2.webm"), *out0 = path_in("k0.webm");
    InFile f2 = {0}, f0 = {0};
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 6.0;
    c.gop = 1; /* every source frame is a keyframe */
    c.audio_tracks = 0;
    make_clip(in, &c);
    test_settings(&s);
    s.keyint_seconds = 2.0;
    encode_ok(in, out1, &s, &r);
    s.keyint_seconds = 0;
    encode_ok(in, out0, &s, &r);
    inspect(out1, &f2);
    inspect(out0, &f0);
    /* 0, 2, 4 s */
    ck_assert_int_eq(in_stream(&f2, AVMEDIA_TYPE_VIDEO, 0)->keyframes, 3);
    ck_assert_int_eq(in_stream(&f0, AVMEDIA_TYPE_VIDEO, 0)->keyframes, 1);
    in_free(&f2);
    in_free(&f0);
}
END_TEST

/* Encode in to out with s; the output has two keyframes, the second
 * want_us after the first (within tol_us), and frames frames (0: any). */
static void two_keyframes(const char *in, const char *out, const RxSettings *s, int frames,
                          int64_t want_us, int64_t tol_us)
{
    const InStream *v;
    InFile f = {0};
    RxResult r;

    encode_ok(in, out, s, &r);
    inspect(out, &f);
    v = in_stream(&f, AVMEDIA_TYPE_VIDEO, 0);
    if (frames)
        ck_assert_int_eq(v->frames, frames);
    ck_assert_int_eq(v->keyframes, 2);
    ck_assert_int_lt(llabs(v->key_us[1] - v->key_us[0] - want_us), tol_us);
    in_free(&f);
}

/* 1080p noise: every block of every frame changes, no audio. */
static void make_noise(const char *path, double fps, double duration)
{
    TmClip c;

    tm_clip_default(&c);
    c.width = 1920;
    c.height = 1080;
    c.fps = fps;
    c.duration = duration;
    c.pattern = TM_NOISE;
    c.audio_tracks = 0;
    make_clip(path, &c);
}

/* The default policy: a keyframe at a scene change once 5 s have passed
 * since the last and half the work budget is spent, or a minute has
 * (slides 3 s apart on a static screen cost none, one 65 s on does); one
 * when the decode work since the last reaches its budget: 1080p noise
 * changes every block, so after the first frame (2.08, nothing to compare)
 * each costs 3.4 and the 75th frame (at 2.467 s) is forced. */
START_TEST(keyframes_at_scene_changes_and_by_work)
{
    const char *in = path_in("slides.mp4"), *out = path_in("auto.webm");
    const char *lout = path_in("late.webm");
    const char *busy = path_in("busy.mp4"), *bout = path_in("busy.webm");
    const InStream *v;
    InFile f = {0};
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 12.0;
    c.slide_seconds = 3.0; /* slides at 3, 6, 9 s */
    c.audio_tracks = 0;
    make_clip(in, &c);
    test_settings(&s);
    ck_assert(s.keyint_seconds == RX_KEYINT_AUTO);
    encode_ok(in, out, &s, &r);
    inspect(out, &f);
    v = in_stream(&f, AVMEDIA_TYPE_VIDEO, 0);
    ck_assert_int_eq(v->keyframes, 1); /* little work spent: slides cost no keyframe */
    in_free(&f);

    c.duration = 70.0;
    c.slide_seconds = 32.5; /* at 32.5 s none yet, at 65 s one: over a minute since the last */
    make_clip(in, &c);
    two_keyframes(in, lout, &s, 0, 65000000, 40000);

    make_noise(busy, 30, 3.0); /* 90 frames encoded */
    s.cpu_used = 8;            /* only the keyframes are judged: the fastest speed */
    two_keyframes(busy, bout, &s, 90, 2466667, 20000);
}
END_TEST

/* Every frame a scene change at 5 fps, 3.4 units of work each (the first
 * 2.08, nothing to compare): no keyframe at 5 s (a third of the budget
 * spent), but at the 39th frame (7.6 s), the first with half of it spent. */
START_TEST(keyframe_at_scene_once_half_the_work_is_spent)
{
    const char *slow = path_in("slow.mp4"), *sout = path_in("slow.webm");
    RxSettings s;

    test_settings(&s);
    make_noise(slow, 5, 8.4);
    s.cpu_used = 8; /* only the keyframes are judged: the fastest speed */
    two_keyframes(slow, sout, &s, 0, 7600000, 20000);
}
END_TEST

START_TEST(settings_reach_the_encoder)
{
    const char *in = path_in("in.mp4"), *lo = path_in("lo.webm"), *hi = path_in("hi.webm");
    RxSettings s;
    RxResult rlo, rhi;
    TmClip c;

    tm_clip_default(&c);
    c.pattern = TM_MOTION;
    c.audio_tracks = 0;
    make_clip(in, &c);
    encoder_settings(&s, _i);
    s.crf = 10;
    encode_ok(in, lo, &s, &rlo);
    s.crf = 55;
    encode_ok(in, hi, &s, &rhi);
    ck_assert_msg(rhi.out_bytes * 2 < rlo.out_bytes, "%s: crf 55: %lld bytes, crf 10: %lld bytes",
                  encoders[_i], (long long)rhi.out_bytes, (long long)rlo.out_bytes);
}
END_TEST

START_TEST(bad_encoder_option_fails_cleanly)
{
    const char *in = path_in("in.mp4"), *out = path_in("out.webm");
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    make_clip(in, &c);
    test_settings(&s);
    rx_settings_set_str(s.aom_params, sizeof(s.aom_params), "no-such-option=1");
    ck_assert_int_lt(encode(in, out, &s, &r), 0);
    ck_assert_int_eq(r.state, RX_STATE_FAILED);
    ck_assert_msg(strstr(r.error, "cannot open video encoder") && strstr(r.error, in),
                  "unclear message: %s", r.error);
    assert_nothing_written(out);
}
END_TEST

/* ---- libsvtav1 */

/* The same job with the other encoder: an AV1 + Opus WebM that lasts as long
 * as its input, every frame decodable, and keyframes on our cadence only.
 * FFmpeg 5.1's wrapper passes our keyframe requests on but SVT-AV1 1.4
 * ignores them unless asked, and adds its own every ~5 s (frames): on a 12 s
 * clip its cadence gives keyframes at 0, 5.4 and 10.7 s, ours at 0 and 10 s
 * (keyint 10) or 0, 3, 6 and 9 s (keyint 3). */
START_TEST(svtav1_clip_becomes_av1_opus_webm)
{
    const char *in = path_in("talk.mp4"), *out10 = path_in("k10.webm"), *out3 = path_in("k3.webm");
    InFile fi = {0}, f10 = {0}, f3 = {0};
    const InStream *v, *a;
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 12.0;
    c.pattern = TM_WEBCAM;
    make_clip(in, &c);
    encoder_settings(&s, 1);
    s.threads = 1;
    s.keyint_seconds = 10.0;
    encode_ok(in, out10, &s, &r);
    s.keyint_seconds = 3.0;
    encode_ok(in, out3, &s, &r);

    inspect(in, &fi);
    inspect(out10, &f10);
    inspect(out3, &f3);
    ck_assert_ptr_nonnull(strstr(f10.format_name, "webm"));
    ck_assert_int_eq(f10.nb_streams, 2);
    v = in_stream(&f10, AVMEDIA_TYPE_VIDEO, 0);
    a = in_stream(&f10, AVMEDIA_TYPE_AUDIO, 0);
    ck_assert_int_eq(v->codec_id, AV_CODEC_ID_AV1);
    ck_assert_int_eq(a->codec_id, AV_CODEC_ID_OPUS);
    ck_assert_int_eq(v->width, 320);
    ck_assert_int_eq(v->height, 180);
    ck_assert_str_eq(v->pix_fmt, "yuv420p");
    ck_assert_int_eq(v->frames, 360);
    ck_assert_int_eq(v->decode_errors, 0);
    ck_assert_int_eq(r.video_frames, 360);
    assert_in_sync(&fi, &f10, c.fps, 1);
    assert_in_sync(&fi, &f3, c.fps, 1);
    ck_assert_int_eq(v->keyframes, 2);
    ck_assert_int_eq(in_stream(&f3, AVMEDIA_TYPE_VIDEO, 0)->keyframes, 4);
    in_free(&fi);
    in_free(&f10);
    in_free(&f3);
}
END_TEST

/* SVT-AV1 takes 8- and 10-bit 4:2:0 only: other inputs are converted by the
 * frame stage; sizes it refuses (odd, under 64) fail with the reason. */
static const struct {
    const char *name;
    int width, height, bit_depth, chroma444;
    const char *want; /* pix_fmt, or NULL: refused */
} svt_variants[] = {
    {"10-bit", 320, 180, 10, 0, "yuv420p10le"},
    {"4:4:4", 320, 180, 8, 1, "yuv420p"},
    {"odd size", 321, 181, 8, 1, NULL},
    {"48x48", 48, 48, 8, 0, NULL},
};

START_TEST(svtav1_pixel_formats_and_sizes)
{
    const char *in = path_in("in.mp4"), *out = path_in("out.webm");
    InFile fo = {0};
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 1.0;
    c.width = svt_variants[_i].width;
    c.height = svt_variants[_i].height;
    c.bit_depth = svt_variants[_i].bit_depth;
    c.chroma444 = svt_variants[_i].chroma444;
    make_clip(in, &c);
    encoder_settings(&s, 1);
    if (!svt_variants[_i].want) {
        ck_assert_int_lt(encode(in, out, &s, &r), 0);
        ck_assert_int_eq(r.state, RX_STATE_FAILED);
        ck_assert_msg(strstr(r.error, "SVT-AV1 needs even sizes of at least 64x64") &&
                          strstr(r.error, in),
                      "%s: unclear message: %s", svt_variants[_i].name, r.error);
        assert_nothing_written(out);
        return;
    }
    encode_ok(in, out, &s, &r);
    inspect(out, &fo);
    ck_assert_str_eq(in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0)->pix_fmt, svt_variants[_i].want);
    ck_assert_int_eq(in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0)->frames, 30);
    in_free(&fo);
}
END_TEST

/* A key SVT-AV1 does not know is only a warning in FFmpeg 5.1's wrapper: the
 * user's intent would be lost without a word. */
START_TEST(svtav1_bad_params_fail_cleanly)
{
    const char *in = path_in("in.mp4"), *out = path_in("out.webm");
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 1.0;
    make_clip(in, &c);
    encoder_settings(&s, 1);
    rx_settings_set_str(s.svt_params, sizeof(s.svt_params), "tune=0:no-such-key=1");
    ck_assert_int_lt(encode(in, out, &s, &r), 0);
    ck_assert_int_eq(r.state, RX_STATE_FAILED);
    ck_assert_msg(strstr(r.error, "--svtav1-params 'tune=0:no-such-key=1'") && strstr(r.error, in),
                  "unclear message: %s", r.error);
    assert_nothing_written(out);

    rx_settings_set_str(s.svt_params, sizeof(s.svt_params), "tune=0");
    encode_ok(in, out, &s, &r);
}
END_TEST

/* ---- librav1e, libvpx-vp9, audio copy, containers */

/* Loop tests over the other encoders, at fast settings (about a second an
 * encode here): _i 0 = librav1e, 1 = libvpx-vp9. */
static const struct {
    const char *encoder;
    enum AVCodecID codec;
} others[] = {{"librav1e", AV_CODEC_ID_AV1}, {"libvpx-vp9", AV_CODEC_ID_VP9}};

static void other_settings(RxSettings *s, int i)
{
    test_settings(s);
    ck_assert_int_eq(rx_settings_set_encoder(s, others[i].encoder), 0);
    if (i == 0) {
        s->preset = 10;
    } else {
        s->cpu_used = 8;
        rx_settings_set_str(s->vp9_params, sizeof(s->vp9_params), "deadline=realtime");
    }
}

/* The first bytes of a Matroska file name its flavour (EBML DocType). */
static int doc_type_is(const char *path, const char *want)
{
    char head[64];
    size_t n;
    FILE *f = fopen(path, "rb");

    ck_assert_ptr_nonnull(f);
    n = fread(head, 1, sizeof(head), f);
    fclose(f);
    return memmem(head, n, want, strlen(want)) != NULL;
}

/* Each encoder writes its codec in WebM, every frame decodable, as long as
 * the input, with keyframes at the --keyint times only: forced ones for
 * libvpx-vp9 (which would add its own every 128 frames, at 4.27 s here),
 * rav1e's own interval for librav1e (its wrapper cannot force them; at
 * 30 fps CFR the same times). */
START_TEST(other_encoders_keep_time_and_keyframes)
{
    const char *in = path_in("in.mp4"), *out = path_in("out.webm");
    InFile fi = {0}, fo = {0};
    const InStream *v;
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 6.0;
    c.pattern = TM_CAMERA;
    make_clip(in, &c);
    other_settings(&s, _i);
    s.keyint_seconds = 5.0;
    encode_ok(in, out, &s, &r);
    inspect(in, &fi);
    inspect(out, &fo);
    ck_assert(doc_type_is(out, "webm"));
    ck_assert_int_eq(fo.nb_streams, 2);
    v = in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0);
    ck_assert_int_eq(v->codec_id, others[_i].codec);
    ck_assert_int_eq(in_stream(&fo, AVMEDIA_TYPE_AUDIO, 0)->codec_id, AV_CODEC_ID_OPUS);
    ck_assert_int_eq(v->frames, 180);
    ck_assert_int_eq(v->decode_errors, 0);
    ck_assert_int_eq(r.verified, RX_VERIFY_QUICK);
    assert_in_sync(&fi, &fo, c.fps, 1);
    /* 0 and 5 s, each within a frame */
    ck_assert_msg(v->keyframes == 2, "%s: %d keyframes", others[_i].encoder, v->keyframes);
    for (int k = 0; k < 2; k++)
        ck_assert_msg(llabs(v->key_us[k] - v->first_us - k * 5000000) <= 34000,
                      "%s: keyframe %d at %lld us", others[_i].encoder, k,
                      (long long)(v->key_us[k] - v->first_us));
    in_free(&fi);
    in_free(&fo);
}
END_TEST

/* --audio-codec copy: the input's AAC packets, every one, byte for byte, in
 * Matroska (the default name says .mkv); no decoding. FFmpeg 5.1's Matroska
 * muxer has no field for AAC's encoder delay: the first packet's 1024
 * priming samples, which MP4 marks to be skipped, are played, and every
 * stream is shifted by as much, so sync holds. */
START_TEST(audio_copy_keeps_the_packets)
{
    const char *in = path_in("talk.mp4"), *out = path_in("talk.mkv");
    InFile fi = {0}, fo = {0};
    const int64_t priming_us = 1024 * 1000000LL / 48000;
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.audio_tracks = 2;
    make_clip(in, &c);
    test_settings(&s);
    s.audio_copy = 1;
    encode_ok(in, NULL, &s, &r);
    ck_assert(exists(out));
    ck_assert(doc_type_is(out, "matroska"));
    inspect(in, &fi);
    inspect(out, &fo);
    ck_assert_int_eq(fo.nb_streams, 3);
    ck_assert_int_eq(r.audio_tracks, 2);
    for (int k = 0; k < 2; k++) {
        const InStream *ia = in_stream(&fi, AVMEDIA_TYPE_AUDIO, k);
        const InStream *oa = in_stream(&fo, AVMEDIA_TYPE_AUDIO, k);
        const InStream *iv = in_stream(&fi, AVMEDIA_TYPE_VIDEO, 0);
        const InStream *ov = in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0);
        ck_assert_int_eq(oa->codec_id, AV_CODEC_ID_AAC);
        ck_assert_int_eq(oa->packets, ia->packets);
        ck_assert_uint_eq(oa->packet_crc, ia->packet_crc);
        ck_assert_int_eq(oa->decode_errors, 0);
        ck_assert_msg(llabs((ov->first_us - oa->first_us) - (iv->first_us - ia->first_us) -
                            priming_us) <= 2000,
                      "A/V offset %lld us, input %lld us", (long long)(ov->first_us - oa->first_us),
                      (long long)(iv->first_us - ia->first_us));
        ck_assert_msg(llabs(span(oa) - span(ia) - priming_us) <= 2000,
                      "audio %d lasts %lld us, input %lld us", k, (long long)span(oa),
                      (long long)span(ia));
    }
    ck_assert_int_eq(in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0)->codec_id, AV_CODEC_ID_AV1);
    ck_assert_msg(llabs(span(in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0)) -
                        span(in_stream(&fi, AVMEDIA_TYPE_VIDEO, 0))) <= 34000,
                  "video length changed");
    /* The check before publish compares these with what the input declares. */
    ck_assert_msg(llabs(r.audio_duration_us - 2000000) <= 50000, "audio %lld us",
                  (long long)r.audio_duration_us);
    in_free(&fi);
    in_free(&fo);
}
END_TEST

/* WebM cannot hold AAC: asked for by --container webm, or by an output named
 * .webm, copying it is refused in one line, before anything is written. */
START_TEST(webm_refuses_copied_aac)
{
    const char *in = path_in("in.mp4"), *out = path_in("out.webm"), *dflt = path_in("in.webm");
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 1.0;
    make_clip(in, &c);
    test_settings(&s);
    s.audio_copy = 1;
    ck_assert_int_lt(encode(in, out, &s, &r), 0);
    ck_assert_int_eq(r.state, RX_STATE_FAILED);
    ck_assert_msg(strstr(r.error, "AAC audio cannot go in WebM: use --container mkv or "
                                  "--audio-codec opus") &&
                      strstr(r.error, in) && !strchr(r.error, '\n'),
                  "unclear message: %s", r.error);
    ck_assert_msg(!strstr(r.error, "not supported"), "message with a strerror: %s", r.error);
    assert_nothing_written(out);

    s.container = RX_CONTAINER_WEBM;
    ck_assert_int_lt(encode(in, NULL, &s, &r), 0);
    ck_assert_ptr_nonnull(strstr(r.error, "AAC audio cannot go in WebM"));
    assert_nothing_written(dflt);

    /* Opus and a VP9 or AV1 encoder fit in WebM, and in Matroska. */
    s.audio_copy = 0;
    s.container = RX_CONTAINER_MKV;
    encode_ok(in, NULL, &s, &r);
    ck_assert(doc_type_is(path_in("in.mkv"), "matroska"));
}
END_TEST

/* Damaged inputs: an error naming the file, and no output of any kind. */
enum { BAD_EMPTY, BAD_RANDOM, BAD_TRUNC10, BAD_TRUNC50, BAD_TRUNC90, BAD_MISSING, BAD_AUDIO };

START_TEST(damaged_inputs_fail_cleanly)
{
    const char *in = path_in("bad input.mp4"), *out = path_in("bad input.webm");
    RxSettings s;
    RxResult r;
    TmClip c;

    tm_clip_default(&c);
    switch (_i) {
    case BAD_EMPTY:
        ck_assert_int_eq(tm_write_empty(in), 0);
        break;
    case BAD_RANDOM:
        ck_assert_int_eq(tm_write_random(in, 100000, 7), 0);
        break;
    case BAD_TRUNC10:
    case BAD_TRUNC50:
    case BAD_TRUNC90:
        /* moov last, as Game Bar writes it: cut anywhere, the index is gone */
        make_clip(in, &c);
        ck_assert_int_eq(tm_truncate_file(in, _i == BAD_TRUNC10   ? 0.1
                                              : _i == BAD_TRUNC50 ? 0.5
                                                                  : 0.9),
                         0);
        break;
    case BAD_MISSING:
        break;
    case BAD_AUDIO: /* a valid file, but nothing to re-encode as video */
        c.width = 0;
        make_clip(in, &c);
        break;
    }
    test_settings(&s);
    ck_assert_int_lt(encode(in, out, &s, &r), 0);
    ck_assert_int_eq(r.state, RX_STATE_FAILED);
    ck_assert_msg(strstr(r.error, "'") && strstr(r.error, "bad input.mp4"),
                  "message does not name the file: %s", r.error);
    ck_assert_ptr_null(strchr(r.error, '\n'));
    assert_nothing_written(out);
    if (_i != BAD_MISSING)
        ck_assert(exists(in)); /* the input is never touched */
}
END_TEST

START_TEST(existing_output_is_never_replaced)
{
    const char *in = path_in("in.mp4"), *out = path_in("out.webm");
    char buf[16] = {0};
    RxSettings s;
    RxResult r;
    TmClip c;
    FILE *f;

    tm_clip_default(&c);
    make_clip(in, &c);
    f = fopen(out, "w");
    ck_assert_ptr_nonnull(f);
    fputs("precious", f);
    fclose(f);

    test_settings(&s);
    ck_assert_int_eq(encode(in, out, &s, &r), AVERROR(EEXIST));
    ck_assert_ptr_nonnull(strstr(r.error, "--overwrite"));
    f = fopen(out, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
    fclose(f);
    ck_assert_str_eq(buf, "precious");
    ck_assert(!exists(path_in("out.webm.part")));

    s.overwrite = 1;
    encode_ok(in, out, &s, &r);
    ck_assert_int_gt(r.out_bytes, 100);
}
END_TEST

START_TEST(output_equal_to_input_is_refused)
{
    RxTranscode *t = NULL;
    RxSettings s;

    test_settings(&s);
    ck_assert_int_eq(rx_transcode_new(&t, "a.webm", NULL, &s), AVERROR(EINVAL));
    ck_assert_ptr_null(t);
    ck_assert_int_eq(rx_transcode_new(&t, "dir.v2/noext", NULL, &s), 0);
    ck_assert_str_eq(rx_transcode_output(t), "dir.v2/noext.webm");
    rx_transcode_free(&t);
    rx_transcode_free(&t); /* NULL-safe */
}
END_TEST

/* ---- cancel from another thread */

typedef struct CancelCtx {
    RxTranscode *t;
    RxResult r;
    int ret;
    atomic_int frames;
} CancelCtx;

static void count_frames(void *opaque, const RxProgress *p)
{
    CancelCtx *cc = opaque;
    atomic_store(&cc->frames, (int)p->frames);
}

static void *run_job(void *opaque)
{
    CancelCtx *cc = opaque;
    cc->ret = rx_transcode_run(cc->t, &cc->r);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(cancel_leaves_nothing_behind)
{
    const char *in = path_in("long.mp4"), *out = path_in("long.webm");
    CancelCtx cc = {0};
    RxSettings s;
    pthread_t th;
    double t0;
    TmClip c;

    tm_clip_default(&c);
    c.duration = 30.0;
    c.pattern = TM_NOISE;
    make_clip(in, &c);
    test_settings(&s);
    ck_assert_int_eq(rx_transcode_new(&cc.t, in, out, &s), 0);
    rx_transcode_set_progress(cc.t, count_frames, &cc);
    ck_assert_int_eq(pthread_create(&th, NULL, run_job, &cc), 0);
    while (atomic_load(&cc.frames) < 10)
        usleep(1000);
    ck_assert(exists(path_in("long.webm.part"))); /* it was really writing */
    t0 = now();
    rx_transcode_cancel(cc.t);
    pthread_join(th, NULL);
    ck_assert_msg(now() - t0 < 1.0, "cancel took %.2f s", now() - t0);
    ck_assert_int_eq(cc.ret, RX_ERR_CANCELLED);
    ck_assert_int_eq(cc.r.state, RX_STATE_INTERRUPTED);
    ck_assert_int_lt(atomic_load(&cc.frames), 900); /* stopped early */
    assert_nothing_written(out);
    rx_transcode_free(&cc.t);
}
END_TEST

/* ---- no shared state: parallel jobs write what sequential jobs write */

typedef struct ParJob {
    const char *in, *out;
    RxResult r;
    int ret;
} ParJob;

static void *par_run(void *opaque)
{
    ParJob *j = opaque;
    RxTranscode *t = NULL;
    RxSettings s;

    test_settings(&s);
    j->ret = rx_transcode_new(&t, j->in, j->out, &s);
    if (!j->ret)
        j->ret = rx_transcode_run(t, &j->r);
    rx_transcode_free(&t);
    return NULL;
}

static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    unsigned char *buf;
    long len;

    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static void assert_same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *ba = slurp(a, &na), *bb = slurp(b, &nb);

    ck_assert_msg(na == nb && !memcmp(ba, bb, na), "%s and %s differ", a, b);
    free(ba);
    free(bb);
}

START_TEST(parallel_jobs_match_sequential)
{
    ParJob seq[2] = {{path_in("a.mp4"), path_in("a1.webm"), {0}, 0},
                     {path_in("b.mp4"), path_in("b1.webm"), {0}, 0}};
    ParJob par[2] = {{path_in("a.mp4"), path_in("a2.webm"), {0}, 0},
                     {path_in("b.mp4"), path_in("b2.webm"), {0}, 0}};
    pthread_t th[2];
    TmClip c;

    tm_clip_default(&c);
    c.pattern = TM_WEBCAM;
    make_clip(seq[0].in, &c);
    c.pattern = TM_MOTION;
    c.vfr = 1;
    make_clip(seq[1].in, &c);

    par_run(&seq[0]);
    par_run(&seq[1]);
    ck_assert_int_eq(seq[0].ret, 0);
    ck_assert_int_eq(seq[1].ret, 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, par_run, &par[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(par[i].ret == 0, "%s", par[i].r.error);
    }
    assert_same_bytes(seq[0].out, par[0].out);
    assert_same_bytes(seq[1].out, par[1].out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("transcode");
    TCase *tc = tcase_create("transcode");

    rx_log_init(RX_LOG_ERROR); /* libx264/libaom banners are not test output */
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cfr_clip_becomes_av1_opus_webm);
    tcase_add_test(tc, keyframes_at_scene_changes_and_by_work);
    tcase_add_test(tc, keyframe_at_scene_once_half_the_work_is_spent);
    tcase_add_test(tc, silence_costs_almost_nothing);
    tcase_add_loop_test(tc, vfr_timestamps_survive, 0, N_ENCODERS);
    tcase_add_test(tc, dedup_keeps_every_visible_change);
    tcase_add_test(tc, dedup_keeps_keyframes_and_length);
    tcase_add_test(tc, dedup_off_and_moving_content_keep_every_frame);
    tcase_add_test(tc, verify_mode_is_recorded);
    tcase_add_test(tc, quality_is_judged_by_display_time);
    tcase_add_loop_test(tc, input_variants_encode, 0, sizeof(variants) / sizeof(variants[0]));
    tcase_add_test(tc, keyframes_by_time_not_by_source);
    tcase_add_loop_test(tc, settings_reach_the_encoder, 0, N_ENCODERS);
    tcase_add_test(tc, svtav1_clip_becomes_av1_opus_webm);
    tcase_add_loop_test(tc, svtav1_pixel_formats_and_sizes, 0,
                        sizeof(svt_variants) / sizeof(svt_variants[0]));
    tcase_add_test(tc, svtav1_bad_params_fail_cleanly);
    tcase_add_test(tc, bad_encoder_option_fails_cleanly);
    tcase_add_loop_test(tc, damaged_inputs_fail_cleanly, BAD_EMPTY, BAD_AUDIO + 1);
    tcase_add_test(tc, existing_output_is_never_replaced);
    tcase_add_test(tc, output_equal_to_input_is_refused);
    tcase_add_test(tc, cancel_leaves_nothing_behind);
    tcase_add_test(tc, parallel_jobs_match_sequential);
    suite_add_tcase(s, tc);
    /* Its own case, so CK_RUN_CASE=encoders runs it alone. */
    tc = tcase_create("encoders");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, other_encoders_keep_time_and_keyframes, 0,
                        sizeof(others) / sizeof(others[0]));
    tcase_add_test(tc, audio_copy_keeps_the_packets);
    tcase_add_test(tc, webm_refuses_copied_aac);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
