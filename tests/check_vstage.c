/*
 * check_vstage.c - the frame stage: which frames count as duplicates, and
 * what the stage hands to the encoder (kept frames, the end-of-stream tail).
 *
 * Pictures are built by hand here, so each rule of rx_frames_alike() is
 * probed at its exact boundary; the end-to-end effect on real clips (a
 * blinking cursor, one typed character) is in check_transcode.c.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>

#include "checkrun.h"
#include "reencode/settings.h"
#include "transcode/vstage.h"

/* A w x h frame of fmt, every sample set to a mid grey (8-bit 128 scaled). */
static AVFrame *grey(int w, int h, enum AVPixelFormat fmt)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    AVFrame *f = av_frame_alloc();

    ck_assert_ptr_nonnull(f);
    f->width = w;
    f->height = h;
    f->format = fmt;
    ck_assert_int_eq(av_frame_get_buffer(f, 0), 0);
    for (int p = 0; p < 3; p++) {
        int pw = p ? AV_CEIL_RSHIFT(w, d->log2_chroma_w) : w;
        int ph = p ? AV_CEIL_RSHIFT(h, d->log2_chroma_h) : h;
        for (int y = 0; y < ph; y++) {
            uint8_t *row = f->data[p] + y * f->linesize[p];
            for (int x = 0; x < pw; x++) {
                if (d->comp[0].depth > 8) {
                    uint16_t v = (uint16_t)(128 << (d->comp[0].depth - 8));
                    memcpy(row + 2 * x, &v, 2);
                } else {
                    row[x] = 128;
                }
            }
        }
    }
    return f;
}

/* Add delta to sample (x, y) of plane p. */
static void poke(AVFrame *f, int p, int x, int y, int delta)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    uint8_t *row = f->data[p] + y * f->linesize[p];

    if (d->comp[0].depth > 8) {
        uint16_t v;
        memcpy(&v, row + 2 * x, 2);
        v = (uint16_t)(v + delta);
        memcpy(row + 2 * x, &v, 2);
    } else {
        row[x] = (uint8_t)(row[x] + delta);
    }
}

START_TEST(identical_frames_are_alike)
{
    /* Odd sizes: partial blocks at the right and bottom edges. */
    AVFrame *a = grey(33, 17, AV_PIX_FMT_YUV420P), *b = grey(33, 17, AV_PIX_FMT_YUV420P);

    ck_assert_int_eq(rx_frames_alike(a, b, 10), 1);
    ck_assert_int_eq(rx_frames_alike(a, b, 0), 1);
    av_frame_free(&a);
    av_frame_free(&b);
}
END_TEST

/* One sample: a cursor pixel, a corner of a glyph. At the threshold it is
 * noise; one level above, the frame is new. In every plane. (In a partial
 * block at the picture's edge the mean rule is stricter: fewer samples.) */
START_TEST(one_sample_over_the_threshold_is_a_change)
{
    static const struct {
        int p, x, y;
    } spots[] = {{0, 0, 0}, {0, 31, 15}, {1, 15, 7}, {2, 5, 3}};

    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        AVFrame *a = grey(33, 17, AV_PIX_FMT_YUV420P), *b = grey(33, 17, AV_PIX_FMT_YUV420P);

        poke(b, spots[i].p, spots[i].x, spots[i].y, 10);
        ck_assert_msg(rx_frames_alike(a, b, 10), "spot %zu: +10 should be noise", i);
        poke(b, spots[i].p, spots[i].x, spots[i].y, 1);
        ck_assert_msg(!rx_frames_alike(a, b, 10), "spot %zu: +11 should be a change", i);
        ck_assert_msg(!rx_frames_alike(b, a, 10), "spot %zu: -11 should be a change", i);
        ck_assert_msg(!rx_frames_alike(a, b, 0), "spot %zu: threshold 0 = identical only", i);
        av_frame_free(&a);
        av_frame_free(&b);
    }
}
END_TEST

/* A faint change over an area (a fade, a dimmed background): no sample over
 * the threshold, but an 8x8 block's mean over threshold / 5 is a change;
 * noise of that size in alternating signs is not. */
START_TEST(faint_change_over_a_block_is_a_change)
{
    AVFrame *a = grey(64, 32, AV_PIX_FMT_YUV420P), *b = grey(64, 32, AV_PIX_FMT_YUV420P);

    for (int y = 8; y < 16; y++)
        for (int x = 16; x < 24; x++)
            poke(b, 0, x, y, (x + y) & 1 ? 2 : -2);
    ck_assert_int_eq(rx_frames_alike(a, b, 10), 1); /* mean |d| 2 = 10 / 5 */
    poke(b, 0, 21, 12, 1);                          /* one level more: mean > 2 */
    ck_assert_int_eq(rx_frames_alike(a, b, 10), 0);
    av_frame_free(&b);

    b = grey(64, 32, AV_PIX_FMT_YUV420P);
    for (int y = 0; y < 8; y++)
        for (int x = 40; x < 48; x++)
            poke(b, 0, x, y, 3); /* a uniform step of 3: invisible per sample, not per area */
    ck_assert_int_eq(rx_frames_alike(a, b, 10), 0);
    ck_assert_int_eq(rx_frames_alike(a, b, 15), 1);
    av_frame_free(&a);
    av_frame_free(&b);
}
END_TEST

START_TEST(deep_formats_scale_the_threshold)
{
    static const enum AVPixelFormat fmts[] = {AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_YUV444P10LE,
                                              AV_PIX_FMT_YUV444P};

    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        int depth = av_pix_fmt_desc_get(fmts[i])->comp[0].depth;
        AVFrame *a = grey(20, 10, fmts[i]), *b = grey(20, 10, fmts[i]);

        poke(b, 2, 9, 4, 10 << (depth - 8));
        ck_assert_msg(rx_frames_alike(a, b, 10), "%s: 10 levels (8-bit scale) is noise",
                      av_get_pix_fmt_name(fmts[i]));
        poke(b, 2, 9, 4, 1 << (depth - 8));
        ck_assert_msg(!rx_frames_alike(a, b, 10), "%s: 11 levels is a change",
                      av_get_pix_fmt_name(fmts[i]));
        av_frame_free(&a);
        av_frame_free(&b);
    }
}
END_TEST

START_TEST(different_pictures_are_never_alike)
{
    AVFrame *a = grey(32, 16, AV_PIX_FMT_YUV420P), *b = grey(34, 16, AV_PIX_FMT_YUV420P);
    AVFrame *c = grey(32, 16, AV_PIX_FMT_YUV444P), *n = av_frame_alloc();

    ck_assert_int_eq(rx_frames_alike(a, b, 64), 0);
    ck_assert_int_eq(rx_frames_alike(a, c, 64), 0);
    /* Semi-planar formats are not compared (kept, never dropped). */
    n->width = 32;
    n->height = 16;
    n->format = AV_PIX_FMT_NV12;
    ck_assert_int_eq(av_frame_get_buffer(n, 0), 0);
    memset(n->data[0], 0, (size_t)n->linesize[0] * 16);
    memset(n->data[1], 0, (size_t)n->linesize[1] * 8);
    ck_assert_int_eq(rx_frames_alike(n, n, 64), 0);
    av_frame_free(&a);
    av_frame_free(&b);
    av_frame_free(&c);
    av_frame_free(&n);
}
END_TEST

/* The stage: which frames go to the encoder, what the tail hands back. */
static int feed(RxVStage *vs, AVFrame *f, int64_t pts, int keep, AVFrame **out)
{
    f->pts = pts;
    return rx_vstage_process(vs, f, keep, out);
}

START_TEST(stage_drops_repeats_and_returns_the_tail)
{
    RxVStageConfig cfg = {
        .width = 32, .height = 16, .fmt = AV_PIX_FMT_YUV420P, .dedup = 1, .max_diff = 10};
    RxVStage *vs = NULL;
    AVFrame *f = grey(32, 16, AV_PIX_FMT_YUV420P), *out;

    ck_assert_int_eq(rx_vstage_new(&vs, &cfg), 0);
    ck_assert_int_eq(feed(vs, f, 0, 0, &out), 1); /* the first frame is always kept */
    ck_assert_ptr_eq(out, f);                     /* fits: passed through, no copy */
    ck_assert_int_eq(feed(vs, f, 1, 0, &out), 0);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(feed(vs, f, 2, 1, &out), 1); /* a keyframe is due: kept */
    ck_assert_int_eq(feed(vs, f, 3, 0, &out), 0);
    ck_assert_int_eq(feed(vs, f, 4, 0, &out), 0);
    ck_assert_int_eq(feed(vs, f, 5, 0, &out), 0);
    ck_assert_int_eq(rx_vstage_dropped(vs), 4);

    /* The tail: the last two dropped frames, in order, with their times. */
    ck_assert_int_eq(rx_vstage_flush(vs, &out), 1);
    ck_assert_int_eq(out->pts, 4);
    ck_assert_int_eq(rx_vstage_flush(vs, &out), 1);
    ck_assert_int_eq(out->pts, 5);
    ck_assert_int_eq(rx_vstage_flush(vs, &out), 0);
    ck_assert_ptr_null(out);
    rx_vstage_free(&vs);
    av_frame_free(&f);
}
END_TEST

/* A change is compared with the last frame KEPT: a slow drift of one level
 * per frame is let through once it adds up to more than the threshold. */
START_TEST(stage_compares_with_the_last_kept_frame)
{
    RxVStageConfig cfg = {
        .width = 32, .height = 16, .fmt = AV_PIX_FMT_YUV420P, .dedup = 1, .max_diff = 10};
    RxVStage *vs = NULL;
    AVFrame *f, *out;
    int kept = 0;

    ck_assert_int_eq(rx_vstage_new(&vs, &cfg), 0);
    for (int i = 0; i < 25; i++) {
        f = grey(32, 16, AV_PIX_FMT_YUV420P);
        poke(f, 0, 3, 3, i); /* +1 per frame */
        kept += feed(vs, f, i, 0, &out);
        av_frame_free(&f);
    }
    /* Kept: 0 (first), 11 (11 > 10 from 0), 22 (11 from 11). */
    ck_assert_int_eq(kept, 3);
    /* 23 and 24 were dropped: they come back at the end, in order. */
    ck_assert_int_eq(rx_vstage_flush(vs, &out), 1);
    ck_assert_int_eq(out->pts, 23);
    ck_assert_int_eq(rx_vstage_flush(vs, &out), 1);
    ck_assert_int_eq(out->pts, 24);
    ck_assert_int_eq(rx_vstage_flush(vs, &out), 0);
    rx_vstage_free(&vs);
}
END_TEST

START_TEST(stage_converts_and_keeps_everything_when_off)
{
    RxVStageConfig cfg = {
        .width = 32, .height = 16, .fmt = AV_PIX_FMT_YUV420P, .dedup = 0, .max_diff = 10};
    RxVStage *vs = NULL;
    AVFrame *f = grey(32, 16, AV_PIX_FMT_YUV444P), *out;

    ck_assert_int_eq(rx_vstage_new(&vs, &cfg), 0);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(feed(vs, f, i, 0, &out), 1);
        ck_assert_ptr_ne(out, f);
        ck_assert_int_eq(out->format, AV_PIX_FMT_YUV420P);
        ck_assert_int_eq(out->pts, i);
    }
    ck_assert_int_eq(rx_vstage_converted(vs), 5);
    ck_assert_int_eq(rx_vstage_dropped(vs), 0);
    ck_assert_int_eq(rx_vstage_flush(vs, &out), 0);
    rx_vstage_free(&vs);
    av_frame_free(&f);
}
END_TEST

/* ---- turning pictures (orient.h) */

/* A sample value unique enough to tell where each sample came from. */
static unsigned tag_of(int p, int x, int y, int depth)
{
    return (unsigned)(x * 7 + y * 131 + p * 61) % (1u << depth);
}

/* A w x h frame of fmt whose samples are tag_of() their place. */
static AVFrame *tagged(int w, int h, enum AVPixelFormat fmt)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    AVFrame *f = grey(w, h, fmt);

    for (int p = 0; p < av_pix_fmt_count_planes(fmt); p++) {
        int pw = p ? AV_CEIL_RSHIFT(w, d->log2_chroma_w) : w;
        int ph = p ? AV_CEIL_RSHIFT(h, d->log2_chroma_h) : h;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++)
                poke(f, p, x, y,
                     (int)tag_of(p, x, y, d->comp[0].depth) - (128 << (d->comp[0].depth - 8)));
    }
    return f;
}

static unsigned sample(const AVFrame *f, int p, int x, int y)
{
    const uint8_t *row = f->data[p] + y * f->linesize[p];
    uint16_t v;

    if (av_pix_fmt_desc_get(f->format)->comp[0].depth == 8)
        return row[x];
    memcpy(&v, row + 2 * x, 2);
    return v;
}

/* Display matrices as recorders write them: a turn, then maybe a mirror. What
 * each means is how ffmpeg's own autorotate reads it (fftools, FFmpeg 7):
 * theta = -av_display_rotation_get(); 90: "transpose=clock", or with m[3] > 0
 * "cclock_flip"; 270: "cclock", or with m[3] < 0 "clock_flip"; 180 and 0:
 * hflip when m[0] < 0, vflip when m[4] < 0. The table below is that, worked
 * out by hand. */
static int32_t *matrix_of(int32_t m[9], double cw, int hflip, int vflip)
{
    av_display_rotation_set(m, cw); /* players turn it cw degrees clockwise */
    av_display_matrix_flip(m, hflip, vflip);
    return m;
}

START_TEST(orientation_read_from_the_display_matrix)
{
    static const struct {
        int cw, mirror;
        RxOrient want;
    } cases[] = {
        {0, 0, {0, 0, 0}},   {90, 0, {1, 0, 1}},  {180, 0, {0, 1, 1}},
        {270, 0, {1, 1, 0}}, {-90, 0, {1, 1, 0}}, {0, 1, {0, 1, 0}},
        {180, 1, {0, 0, 1}}, {90, 1, {1, 0, 0}},  {270, 1, {1, 1, 1}},
    };
    int32_t m[9];
    RxOrient o;
    int cw;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(
            rx_orient_from_matrix(matrix_of(m, cases[i].cw, cases[i].mirror, 0), &o, &cw), 0);
        ck_assert_msg(o.transpose == cases[i].want.transpose && o.hflip == cases[i].want.hflip &&
                          o.vflip == cases[i].want.vflip,
                      "%d degrees%s: got %d/%d/%d", cases[i].cw, cases[i].mirror ? " mirrored" : "",
                      o.transpose, o.hflip, o.vflip);
        if (!cases[i].mirror)
            ck_assert_int_eq(cw, (cases[i].cw + 360) % 360);
    }
    /* A vertical mirror is a horizontal one turned 180 degrees. */
    ck_assert_int_eq(rx_orient_from_matrix(matrix_of(m, 0, 0, 1), &o, &cw), 0);
    ck_assert(!o.transpose && !o.hflip && o.vflip);
    /* No matrix: nothing to do. */
    ck_assert_int_eq(rx_orient_from_matrix(NULL, &o, &cw), 0);
    ck_assert(rx_orient_is_identity(&o));
    /* Anything but quarter turns is refused, with the angle for the message;
     * within a degree of one counts as one (rounding in recorders). */
    ck_assert_int_eq(rx_orient_from_matrix(matrix_of(m, 45, 0, 0), &o, &cw), AVERROR(ENOTSUP));
    ck_assert_int_eq(cw, 45);
    ck_assert_int_eq(rx_orient_from_matrix(matrix_of(m, 92, 0, 0), &o, &cw), AVERROR(ENOTSUP));
    ck_assert_int_eq(rx_orient_from_matrix(matrix_of(m, 90.4, 0, 0), &o, &cw), 0);
    ck_assert(o.transpose);
    memset(m, 0, sizeof(m));
    ck_assert_int_eq(rx_orient_from_matrix(m, &o, &cw), AVERROR(ENOTSUP));
    ck_assert_int_eq(cw, -1);
}
END_TEST

/* 90 degrees clockwise by hand: the definition itself, anchored. */
START_TEST(quarter_turn_clockwise_by_hand)
{
    int32_t m[9];
    RxOrient o;
    AVFrame *in = av_frame_alloc(), *out = av_frame_alloc();
    static const uint8_t want[3][2] = {{4, 1}, {5, 2}, {6, 3}};
    int cw;

    in->width = 3;
    in->height = 2;
    in->format = AV_PIX_FMT_GRAY8;
    ck_assert_int_eq(av_frame_get_buffer(in, 0), 0);
    for (int i = 0; i < 6; i++)
        in->data[0][(i / 3) * in->linesize[0] + i % 3] = (uint8_t)(i + 1); /* 1 2 3 / 4 5 6 */
    ck_assert_int_eq(rx_orient_from_matrix(matrix_of(m, 90, 0, 0), &o, &cw), 0);
    ck_assert_int_eq(rx_orient_frame(&o, in, out), 0);
    ck_assert_int_eq(out->width, 2);
    ck_assert_int_eq(out->height, 3);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 2; x++)
            ck_assert_uint_eq(out->data[0][y * out->linesize[0] + x], want[y][x]);
    av_frame_free(&in);
    av_frame_free(&out);
}
END_TEST

/* Every orientation, odd and even sizes, 8 and 10 bits, subsampled chroma:
 * each output sample is the input sample the definition in orient.h names,
 * and nothing else is written (the planes' sizes follow the turn). */
START_TEST(every_orientation_moves_every_sample)
{
    static const enum AVPixelFormat fmts[] = {AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P10LE,
                                              AV_PIX_FMT_YUV444P, AV_PIX_FMT_YUV422P10LE};
    static const int sizes[][2] = {{33, 17}, {17, 33}, {1, 1}, {2, 5}, {70, 41}};
    AVFrame *out = av_frame_alloc();

    for (size_t fi = 0; fi < sizeof(fmts) / sizeof(fmts[0]); fi++) {
        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmts[fi]);
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
            int w = sizes[si][0], h = sizes[si][1];
            AVFrame *in = tagged(w, h, fmts[fi]);
            in->pts = 42;
            in->sample_aspect_ratio = (AVRational){4, 3};
            for (int k = 0; k < 8; k++) {
                RxOrient o = {k & 1, (k >> 1) & 1, (k >> 2) & 1};
                if (!rx_orient_supported(fmts[fi], &o)) {
                    /* only 4:2:2 turned a quarter: its chroma would need resampling */
                    ck_assert(o.transpose && fmts[fi] == AV_PIX_FMT_YUV422P10LE);
                    ck_assert_int_eq(rx_orient_frame(&o, in, out), AVERROR(ENOTSUP));
                    continue;
                }
                ck_assert_int_eq(rx_orient_frame(&o, in, out), 0);
                ck_assert_int_eq(out->width, o.transpose ? h : w);
                ck_assert_int_eq(out->height, o.transpose ? w : h);
                ck_assert_int_eq(out->format, fmts[fi]);
                ck_assert_int_eq(out->pts, 42);
                ck_assert_int_eq(out->sample_aspect_ratio.num, o.transpose ? 3 : 4);
                for (int p = 0; p < 3; p++) {
                    int sw = p ? AV_CEIL_RSHIFT(w, d->log2_chroma_w) : w;
                    int sh = p ? AV_CEIL_RSHIFT(h, d->log2_chroma_h) : h;
                    int dw = o.transpose ? sh : sw, dh = o.transpose ? sw : sh;
                    for (int y = 0; y < dh; y++)
                        for (int x = 0; x < dw; x++) {
                            int sx = o.transpose ? y : x, sy = o.transpose ? x : y;
                            if (o.hflip)
                                sx = sw - 1 - sx;
                            if (o.vflip)
                                sy = sh - 1 - sy;
                            ck_assert_msg(sample(out, p, x, y) == sample(in, p, sx, sy),
                                          "%s %dx%d orientation %d plane %d (%d,%d)", d->name, w, h,
                                          k, p, x, y);
                        }
                }
            }
            av_frame_free(&in);
        }
    }
    av_frame_free(&out);
}
END_TEST

/* In the stage: converted to the encoder's format first, then turned to the
 * encoder's (turned) size; duplicates still found among turned frames. */
START_TEST(stage_turns_after_converting)
{
    RxVStageConfig cfg = {.width = 17,
                          .height = 33,
                          .fmt = AV_PIX_FMT_YUV420P10LE,
                          .orient = {1, 0, 1},
                          .dedup = 1,
                          .max_diff = 10};
    RxVStage *vs = NULL;
    AVFrame *f = tagged(33, 17, AV_PIX_FMT_YUV420P10LE), *g = grey(33, 17, AV_PIX_FMT_YUV444P);
    AVFrame *out;

    ck_assert_int_eq(rx_vstage_new(&vs, &cfg), 0);
    ck_assert_int_eq(feed(vs, f, 0, 0, &out), 1);
    ck_assert_int_eq(out->width, 17);
    ck_assert_int_eq(out->height, 33);
    /* clockwise: the output's top-left sample is the input's bottom-left */
    ck_assert_uint_eq(sample(out, 0, 0, 0), sample(f, 0, 0, 16));
    ck_assert_uint_eq(sample(out, 0, 16, 32), sample(f, 0, 32, 0));
    ck_assert_int_eq(feed(vs, f, 1, 0, &out), 0); /* same picture: dropped */
    ck_assert_int_eq(feed(vs, g, 2, 0, &out), 1); /* 4:4:4 8-bit: converted, then turned */
    ck_assert_int_eq(out->format, AV_PIX_FMT_YUV420P10LE);
    ck_assert_int_eq(out->width, 17);
    ck_assert_int_eq(out->height, 33);
    ck_assert_uint_eq(sample(out, 0, 16, 32), 128 << 2);
    ck_assert_int_eq(rx_vstage_converted(vs), 1);
    rx_vstage_free(&vs);
    av_frame_free(&f);
    av_frame_free(&g);
}
END_TEST

START_TEST(dedup_auto_follows_screen_tuning)
{
    RxSettings s;

    rx_settings_default(&s);
    ck_assert_int_eq(s.dedup, -1);
    ck_assert_int_eq(rx_settings_dedup(&s), 1);
    rx_settings_set_str(s.aom_params, sizeof(s.aom_params), "row-mt=1");
    ck_assert_int_eq(rx_settings_dedup(&s), 0);
    s.dedup = 1;
    ck_assert_int_eq(rx_settings_dedup(&s), 1);
    rx_settings_default(&s);
    s.dedup = 0;
    ck_assert_int_eq(rx_settings_dedup(&s), 0);
}
END_TEST

/* ---- retiming to a constant rate */

/* Run n frames stamped pts[i] (duration dur[i]) in time base tb through a
 * stage at rate; record each output frame's source (the marker sample at
 * (0, 0) holds i) in src[], checking that output k is stamped k. Returns the
 * number of output frames. */
static int retime(AVRational rate, AVRational tb, const int64_t *pts, const int64_t *dur, int n,
                  int *src, int cap, RxVStage **keep)
{
    RxVStageConfig cfg = {
        .width = 16, .height = 16, .fmt = AV_PIX_FMT_YUV420P, .rate = rate, .in_tb = tb};
    RxVStage *vs = NULL;
    AVFrame *out;
    int got = 0, ret;

    ck_assert_int_eq(rx_vstage_new(&vs, &cfg), 0);
    for (int i = 0; i <= n; i++) {
        AVFrame *f = NULL;
        if (i < n) {
            f = grey(16, 16, AV_PIX_FMT_YUV420P);
            f->data[0][0] = (uint8_t)i;
            f->pts = pts[i];
            f->pkt_duration = dur[i];
        }
        ck_assert_int_eq(rx_vstage_send(vs, f), 0);
        av_frame_free(&f); /* referenced, not taken */
        while ((ret = rx_vstage_receive(vs, &out)) == 1) {
            ck_assert_int_lt(got, cap);
            ck_assert_int_eq(out->pts, got);
            ck_assert_int_eq(out->pkt_duration, 1);
            src[got++] = out->data[0][0];
        }
        ck_assert_int_eq(ret, 0);
    }
    ck_assert_int_eq(rx_vstage_receive(vs, &out), 0); /* all out */
    *keep = vs;
    return got;
}

/* Check the stage's counts of frames dropped and repeated, then free it. */
static void retime_done(RxVStage **vs, int64_t dropped, int64_t repeated)
{
    ck_assert_int_eq(rx_vstage_dropped(*vs), dropped);
    ck_assert_int_eq(rx_vstage_repeated(*vs), repeated);
    rx_vstage_free(vs);
}

/* Irregular durations in 1/90000 (1 to 4 periods of 1/30 s with jitter, as
 * testmedia's VFR clips) to 30 fps: output k shows the latest source frame
 * stamped at or before k/30 s, for as many outputs as the length needs. */
START_TEST(retime_vfr_by_time)
{
    static const int periods[] = {1, 3, 1, 1, 2, 4, 1, 2, 1, 1, 3, 1};
    int64_t pts[12], dur[12], t = 0;
    int src[64], n, repeated = 0, shown[12] = {0}, dropped = 0;
    RxVStage *vs;

    for (int i = 0; i < 12; i++) {
        pts[i] = t;
        dur[i] = periods[i] * 3000 + (i % 3 - 1) * 401; /* +-13 % jitter */
        t += dur[i];
    }
    n = retime((AVRational){30, 1}, (AVRational){1, 90000}, pts, dur, 12, src, 64, &vs);
    /* Length: ceil(t / 3000) frames of 1/30 s, never shorter than the source. */
    ck_assert_int_eq(n, (int)((t + 2999) / 3000));
    for (int k = 0; k < n; k++) {
        int want = 0;
        for (int i = 0; i < 12; i++)
            if (pts[i] <= (int64_t)k * 3000)
                want = i;
        ck_assert_msg(src[k] == want, "slot %d shows frame %d, want %d", k, src[k], want);
        repeated += k > 0 && src[k] == src[k - 1];
        shown[src[k]] = 1;
    }
    for (int i = 0; i < 12; i++)
        dropped += !shown[i];
    ck_assert_int_gt(repeated, 5);
    retime_done(&vs, dropped, repeated);
}
END_TEST

/* 30 fps to 10: output k is source frame 3k (time k/10), not frame k. */
START_TEST(retime_downsamples_by_time)
{
    int64_t pts[30], dur[30];
    int src[16], n;
    RxVStage *vs;

    for (int i = 0; i < 30; i++) {
        pts[i] = i * 512; /* 1/15360, MP4's usual time base at 30 fps */
        dur[i] = 512;
    }
    n = retime((AVRational){10, 1}, (AVRational){1, 15360}, pts, dur, 30, src, 16, &vs);
    ck_assert_int_eq(n, 10);
    for (int k = 0; k < n; k++)
        ck_assert_int_eq(src[k], 3 * k);
    retime_done(&vs, 20, 0);
}
END_TEST

/* WebM/MKV sources stamp 30000/1001 fps to the millisecond (0, 33, 67, 100,
 * ...: some after their exact time): at their own rate every frame is kept
 * once, none lost to the rounding. And a start other than 0 is the origin. */
START_TEST(retime_tolerates_millisecond_stamps)
{
    int64_t pts[40], dur[40];
    int src[48], n;
    RxVStage *vs;

    for (int i = 0; i < 40; i++) {
        pts[i] = 500 + (i * 1001 + 15) / 30; /* rounded to the nearest ms */
        dur[i] = 33;
    }
    for (int i = 0; i < 39; i++)
        dur[i] = pts[i + 1] - pts[i];
    n = retime((AVRational){30000, 1001}, (AVRational){1, 1000}, pts, dur, 40, src, 48, &vs);
    ck_assert_int_eq(n, 40);
    for (int k = 0; k < n; k++)
        ck_assert_int_eq(src[k], k);
    retime_done(&vs, 0, 0);
}
END_TEST

/* One frame shown for 1 s becomes a whole second of output frames; frames
 * must be received before the next is sent. */
START_TEST(retime_holds_a_still_and_asks_to_be_drained)
{
    RxVStageConfig cfg = {
        .width = 16, .height = 16, .fmt = AV_PIX_FMT_YUV420P, .rate = {25, 1}, .in_tb = {1, 1000}};
    RxVStage *vs = NULL;
    AVFrame *f = grey(16, 16, AV_PIX_FMT_YUV420P), *out;
    int n = 0;

    ck_assert_int_eq(rx_vstage_new(&vs, &cfg), 0);
    f->pts = 0;
    f->pkt_duration = 1000;
    ck_assert_int_eq(rx_vstage_send(vs, f), 0);
    ck_assert_int_eq(rx_vstage_receive(vs, &out), 0); /* how long it lasts is not known yet */
    f->pts = 1000;
    f->pkt_duration = 40;
    ck_assert_int_eq(rx_vstage_send(vs, f), 0);
    ck_assert_int_eq(rx_vstage_send(vs, f), AVERROR(EAGAIN));
    while (rx_vstage_receive(vs, &out) == 1)
        n++;
    ck_assert_int_eq(n, 25);
    ck_assert_int_eq(rx_vstage_send(vs, NULL), 0);
    ck_assert_int_eq(rx_vstage_receive(vs, &out), 1);
    ck_assert_int_eq(out->pts, 25);
    ck_assert_int_eq(rx_vstage_receive(vs, &out), 0);
    ck_assert_int_eq(rx_vstage_repeated(vs), 24);
    rx_vstage_free(&vs);
    av_frame_free(&f);
}
END_TEST

START_TEST(nominal_rate_prefers_a_plausible_base_rate)
{
    AVRational r;

    /* Irregular timestamps: libavformat reports the time base; the average. */
    r = rx_nominal_rate((AVRational){90000, 1}, (AVRational){50, 3});
    ck_assert(r.num == 50 && r.den == 3);
    r = rx_nominal_rate((AVRational){30, 1}, (AVRational){30, 1});
    ck_assert(r.num == 30 && r.den == 1);
    /* A recorder that skips still frames: the base rate, not the average. */
    r = rx_nominal_rate((AVRational){60, 1}, (AVRational){1800000, 43103});
    ck_assert(r.num == 60 && r.den == 1);
    /* Near a common rate: that rate. */
    r = rx_nominal_rate((AVRational){2997, 100}, (AVRational){2997, 100});
    ck_assert(r.num == 30000 && r.den == 1001);
    r = rx_nominal_rate((AVRational){0, 0}, (AVRational){0, 0});
    ck_assert(r.num == 30 && r.den == 1);
    r = rx_nominal_rate((AVRational){1000, 1}, (AVRational){0, 1});
    ck_assert(r.num == 30 && r.den == 1);
}
END_TEST

START_TEST(cfr_turns_dedup_off)
{
    RxSettings s;

    rx_settings_default(&s);
    ck_assert_int_eq(rx_settings_dedup(&s), 1);
    s.cfr = 1;
    ck_assert_int_eq(rx_settings_dedup(&s), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vstage");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, identical_frames_are_alike);
    tcase_add_test(tc, one_sample_over_the_threshold_is_a_change);
    tcase_add_test(tc, faint_change_over_a_block_is_a_change);
    tcase_add_test(tc, deep_formats_scale_the_threshold);
    tcase_add_test(tc, different_pictures_are_never_alike);
    tcase_add_test(tc, stage_drops_repeats_and_returns_the_tail);
    tcase_add_test(tc, stage_compares_with_the_last_kept_frame);
    tcase_add_test(tc, stage_converts_and_keeps_everything_when_off);
    tcase_add_test(tc, dedup_auto_follows_screen_tuning);
    tcase_add_test(tc, retime_vfr_by_time);
    tcase_add_test(tc, retime_downsamples_by_time);
    tcase_add_test(tc, retime_tolerates_millisecond_stamps);
    tcase_add_test(tc, retime_holds_a_still_and_asks_to_be_drained);
    tcase_add_test(tc, nominal_rate_prefers_a_plausible_base_rate);
    tcase_add_test(tc, cfr_turns_dedup_off);
    suite_add_tcase(s, tc);

    tc = tcase_create("orient");
    tcase_add_test(tc, orientation_read_from_the_display_matrix);
    tcase_add_test(tc, quarter_turn_clockwise_by_hand);
    tcase_add_test(tc, every_orientation_moves_every_sample);
    tcase_add_test(tc, stage_turns_after_converting);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
