/*
 * check_meta.c - what a transcode keeps besides the pictures and sounds: the
 * display matrix's turn (applied to the pixels, since WebM cannot carry it),
 * chapters, audio languages, the global tags and the file's times. Judged by
 * reading the outputs back, never by trusting what the job says it did.
 *
 * Every test makes its own clips (tests/support/testmedia) in a fresh
 * temporary directory (a checked fixture: Check forks per test).
 */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libavutil/mathematics.h>

#include "checkrun.h"
#include "reencode/transcode.h"
#include "inspect.h"
#include "testdir.h"
#include "testmedia.h"

static char dir[256];

static void setup(void)
{
    ck_assert_int_eq(td_create(dir, sizeof(dir), "check_meta"), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(td_remove(dir), 0);
}

static void make_clip(const char *path, const TmClip *c)
{
    char err[256];
    int ret = tm_write_clip(path, c, err, sizeof(err));
    ck_assert_msg(ret == 0, "cannot make test clip %s: %s", path, err);
}

/* A short small clip: these tests are about what surrounds the pictures. */
static void small_clip(TmClip *c)
{
    tm_clip_default(c);
    c->width = 160;
    c->height = 96;
    c->fps = 10;
    c->duration = 1.0;
}

static int encode(const char *in, const char *out, RxResult *r)
{
    RxTranscode *t = NULL;
    RxSettings s;
    int ret;

    rx_settings_default(&s);
    s.threads = 2;
    ck_assert_int_eq(rx_transcode_new(&t, in, out, &s), 0);
    ret = rx_transcode_run(t, r);
    rx_transcode_free(&t);
    return ret;
}

static void encode_ok(const char *in, const char *out)
{
    RxResult r;
    int ret = encode(in, out, &r);
    ck_assert_msg(ret == 0, "encode of %s failed: %s", in, r.error);
}

static void inspect(const char *p, InFile *f)
{
    int ret = in_inspect(p, 0, f);
    ck_assert_msg(ret == 0, "cannot inspect %s: %d", p, ret);
}

/* ---- the display matrix's turn */

/*
 * Where TM_MARKS' marks are in f, read as it is stored. Returns NULL when
 * the picture is upright (white block top-left, red top-right, background in
 * the bottom corners), else what is wrong. Each corner is sampled in the
 * middle half of where its block belongs, so a block one row or column off
 * still reads right and chroma siting does not matter.
 */
static const char *not_upright(const AVFrame *f, char *why, size_t size)
{
    int bw = f->width / 4, bh = f->height / 4;
    const struct {
        const char *name;
        int x, y;
        double want_y;
    } corner[4] = {
        {"top-left", 0, 0, TM_MARK_WHITE_Y},
        {"top-right", f->width - bw, 0, TM_MARK_RED_Y},
        {"bottom-left", 0, f->height - bh, TM_MARK_BG_Y},
        {"bottom-right", f->width - bw, f->height - bh, TM_MARK_BG_Y},
    };

    for (int k = 0; k < 4; k++) {
        int x = corner[k].x + bw / 4, y = corner[k].y + bh / 4;
        double luma = in_mean(f, 0, x, y, bw / 2, bh / 2);
        /* 4:2:0 chroma at half the luma coordinates */
        double v = in_mean(f, 2, x / 2, y / 2, bw / 4, bh / 4);
        double want_v = k == 1 ? TM_MARK_RED_V : 128;

        if (fabs(luma - corner[k].want_y) > 12 || fabs(v - want_v) > 12) {
            snprintf(why, size, "%dx%d picture: %s corner has Y %.0f V %.0f, want %.0f and %.0f",
                     f->width, f->height, corner[k].name, luma, v, corner[k].want_y, want_v);
            return why;
        }
    }
    return NULL;
}

static const struct {
    int rotation, bit_depth;
} turns[] = {{90, 8}, {180, 8}, {270, 8}, {90, 10}, {270, 10}};

/* A phone's portrait recording: stored 160x96 with a display matrix. The
 * output is shown the same way without one, so it must be stored upright. */
START_TEST(rotated_clip_comes_out_upright)
{
    const char *in = td_path(dir, "phone.mp4"), *out = td_path(dir, "phone.webm");
    int rot = turns[_i].rotation, quarter = rot % 180 != 0;
    AVFrame *f = NULL;
    InFile fi = {0}, fo = {0};
    const InStream *v;
    char why[160];
    TmClip c;

    small_clip(&c);
    c.pattern = TM_MARKS;
    c.rotation = rot;
    c.bit_depth = turns[_i].bit_depth;
    make_clip(in, &c);

    /* The input, as stored, is not upright: the check below can fail. */
    inspect(in, &fi);
    ck_assert_int_eq(fi.rotation, rot);
    ck_assert_int_eq(in_first_frame(in, &f), 0);
    ck_assert_msg(not_upright(f, why, sizeof(why)), "the stored input reads upright");
    av_frame_free(&f);

    encode_ok(in, out);
    inspect(out, &fo);
    v = in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(fo.rotation, 0); /* no matrix: the pixels are turned */
    ck_assert_int_eq(v->width, quarter ? c.height : c.width);
    ck_assert_int_eq(v->height, quarter ? c.width : c.height);
    ck_assert_str_eq(v->pix_fmt, c.bit_depth > 8 ? "yuv420p10le" : "yuv420p");
    ck_assert_int_eq(in_first_frame(out, &f), 0);
    ck_assert_int_eq(f->width, v->width);
    ck_assert_msg(!not_upright(f, why, sizeof(why)), "rotation %d, %d-bit: %s", rot, c.bit_depth,
                  why);
    av_frame_free(&f);
    in_free(&fi);
    in_free(&fo);
}
END_TEST

/* 4:4:4 at an odd size (x264 takes odd sizes only there): the turn keeps
 * every row and column. */
START_TEST(odd_sized_clip_turns_whole)
{
    const char *in = td_path(dir, "odd.mp4"), *out = td_path(dir, "odd.webm");
    AVFrame *f = NULL;
    InFile fo = {0};
    const InStream *v;
    TmClip c;

    small_clip(&c);
    c.width = 161;
    c.height = 97;
    c.chroma444 = 1;
    c.pattern = TM_MARKS;
    c.rotation = 270;
    make_clip(in, &c);
    encode_ok(in, out);
    inspect(out, &fo);
    v = in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0);
    ck_assert_int_eq(v->width, 97);
    ck_assert_int_eq(v->height, 161);
    ck_assert_int_eq(in_first_frame(out, &f), 0);
    /* 4:4:4: chroma at the luma coordinates, so look at luma and V alike. */
    ck_assert_double_gt(in_mean(f, 0, 3, 3, 15, 30), 200);
    ck_assert_double_gt(in_mean(f, 2, 97 - 18, 3, 15, 30), 200);
    ck_assert_double_lt(in_mean(f, 0, 3, 161 - 33, 15, 30), 60);
    /* The last row and column are picture, not padding: background there. */
    ck_assert_double_lt(fabs(in_mean(f, 0, 0, 160, 97, 1) - TM_MARK_BG_Y), 12);
    ck_assert_double_lt(fabs(in_mean(f, 0, 96, 40, 1, 80) - TM_MARK_BG_Y), 12);
    av_frame_free(&f);
    in_free(&fo);
}
END_TEST

/* A matrix that is no quarter turn would need resampling: refused with one
 * line naming the file and the angle, nothing written. */
START_TEST(other_angles_are_refused)
{
    const char *in = td_path(dir, "tilted.mp4"), *out = td_path(dir, "tilted.webm");
    RxResult r;
    TmClip c;

    small_clip(&c);
    c.rotation = 45;
    make_clip(in, &c);
    ck_assert_int_lt(encode(in, out, &r), 0);
    ck_assert_int_eq(r.state, RX_STATE_FAILED);
    ck_assert_msg(strstr(r.error, "tilted.mp4") && strstr(r.error, "45 degrees"), "unclear: %s",
                  r.error);
    ck_assert_ptr_null(strchr(r.error, '\n'));
    ck_assert_int_ne(access(out, F_OK), 0);
}
END_TEST

/* ---- chapters, languages, tags */

START_TEST(chapters_round_trip)
{
    const char *in = td_path(dir, "talk.mp4"), *out = td_path(dir, "talk.webm");
    AVFormatContext *ic = NULL, *oc = NULL;
    TmClip c;

    small_clip(&c);
    c.duration = 3.0;
    c.chapters = 3;
    make_clip(in, &c);
    encode_ok(in, out);

    ck_assert_int_eq(avformat_open_input(&ic, in, NULL, NULL), 0);
    ck_assert_int_eq(avformat_open_input(&oc, out, NULL, NULL), 0);
    ck_assert_uint_eq(ic->nb_chapters, 3); /* testmedia wrote them */
    ck_assert_uint_eq(oc->nb_chapters, ic->nb_chapters);
    for (unsigned i = 0; i < oc->nb_chapters; i++) {
        const AVChapter *a = ic->chapters[i], *b = oc->chapters[i];
        const AVDictionaryEntry *ta = av_dict_get(a->metadata, "title", NULL, 0);
        const AVDictionaryEntry *tb = av_dict_get(b->metadata, "title", NULL, 0);
        int64_t want = 1000000 * (int64_t)i, want_end = 1000000 * (int64_t)(i + 1);
        int64_t start = av_rescale_q(b->start, b->time_base, AV_TIME_BASE_Q);
        int64_t end = av_rescale_q(b->end, b->time_base, AV_TIME_BASE_Q);
        char title[32];

        snprintf(title, sizeof(title), "Chapter %u", i + 1);
        ck_assert_ptr_nonnull(ta);
        ck_assert_ptr_nonnull(tb);
        ck_assert_str_eq(ta->value, title);
        ck_assert_str_eq(tb->value, title);
        ck_assert_msg(llabs(start - want) <= 1000 && llabs(end - want_end) <= 1000,
                      "chapter %u: %lld..%lld us, want %lld..%lld", i, (long long)start,
                      (long long)end, (long long)want, (long long)want_end);
        ck_assert_int_le(llabs(start - av_rescale_q(a->start, a->time_base, AV_TIME_BASE_Q)), 1000);
    }
    avformat_close_input(&ic);
    avformat_close_input(&oc);
}
END_TEST

START_TEST(audio_languages_kept_per_track)
{
    static const char *const langs[] = {"eng", "fra", NULL};
    const char *in = td_path(dir, "two.mp4"), *out = td_path(dir, "two.webm");
    InFile fi = {0}, fo = {0};
    TmClip c;

    small_clip(&c);
    c.audio_tracks = 3;
    c.languages = langs;
    make_clip(in, &c);
    encode_ok(in, out);
    inspect(in, &fi);
    inspect(out, &fo);
    for (int k = 0; k < 2; k++) {
        ck_assert_str_eq(in_stream(&fi, AVMEDIA_TYPE_AUDIO, k)->language, langs[k]);
        ck_assert_str_eq(in_stream(&fo, AVMEDIA_TYPE_AUDIO, k)->language, langs[k]);
    }
    /* Untagged ("und" in MP4) stays untagged rather than made up. */
    ck_assert_str_eq(in_stream(&fi, AVMEDIA_TYPE_AUDIO, 2)->language, "und");
    ck_assert_str_eq(in_stream(&fo, AVMEDIA_TYPE_AUDIO, 2)->language, "");
    ck_assert_ptr_null(in_stream(&fo, AVMEDIA_TYPE_AUDIO, 3));
    in_free(&fi);
    in_free(&fo);
}
END_TEST

static const char *tag(const InFile *f, const char *key)
{
    const AVDictionaryEntry *e = av_dict_get(f->metadata, key, NULL, 0);
    return e ? e->value : NULL;
}

/* _i 0: a Game Bar recording; 1: someone's own file with a real artist. */
START_TEST(tags_round_trip)
{
    const char *in = td_path(dir, "My Game 2024.mp4"), *out = td_path(dir, "out.webm");
    InFile fi = {0}, fo = {0};
    TmClip c;

    small_clip(&c);
    c.title = "Factorio";
    c.creation_time = "2023-11-12T13:14:15.000000Z"; /* MP4 keeps whole seconds */
    if (_i)
        c.artist = "Jane Doe";
    make_clip(in, &c);
    encode_ok(in, out);
    inspect(in, &fi);
    inspect(out, &fo);

    ck_assert_str_eq(tag(&fi, "creation_time"), c.creation_time); /* what the MP4 holds */
    ck_assert_ptr_nonnull(tag(&fo, "creation_time"));
    ck_assert_str_eq(tag(&fo, "creation_time"), tag(&fi, "creation_time"));
    ck_assert_str_eq(tag(&fo, "title"), "My Game 2024");
    ck_assert_ptr_nonnull(tag(&fo, "RECORDED_TITLE"));
    ck_assert_str_eq(tag(&fo, "RECORDED_TITLE"), "Factorio");
    if (_i) {
        ck_assert_ptr_nonnull(tag(&fo, "artist"));
        ck_assert_str_eq(tag(&fo, "artist"), "Jane Doe");
    } else {
        ck_assert_ptr_null(tag(&fo, "artist"));
    }
    ck_assert_ptr_nonnull(tag(&fo, "ENCODED_BY"));
    ck_assert_int_eq(strncmp(tag(&fo, "ENCODED_BY"), "reencode ", 9), 0);
    ck_assert_ptr_null(tag(&fo, "major_brand"));
    in_free(&fi);
    in_free(&fo);
}
END_TEST

/* ---- file times */

START_TEST(output_gets_the_input_times)
{
    const char *in = td_path(dir, "old.mp4"), *out = td_path(dir, "old.webm");
    /* 2019-06-01 12:00:00 UTC and a year later, with odd nanoseconds. */
    const struct timespec times[2] = {{1559390400, 123456789}, {1590969600, 987654321}};
    struct stat st;
    TmClip c;

    small_clip(&c);
    make_clip(in, &c);
    ck_assert_int_eq(utimensat(AT_FDCWD, in, times, 0), 0);
    encode_ok(in, out);
    ck_assert_int_eq(stat(out, &st), 0);
    ck_assert_int_eq(st.st_atim.tv_sec, times[0].tv_sec);
    ck_assert_int_eq(st.st_atim.tv_nsec, times[0].tv_nsec);
    ck_assert_int_eq(st.st_mtim.tv_sec, times[1].tv_sec);
    ck_assert_int_eq(st.st_mtim.tv_nsec, times[1].tv_nsec);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta");
    TCase *tc = tcase_create("meta");

    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, rotated_clip_comes_out_upright, 0, sizeof(turns) / sizeof(turns[0]));
    tcase_add_test(tc, odd_sized_clip_turns_whole);
    tcase_add_test(tc, other_angles_are_refused);
    tcase_add_test(tc, chapters_round_trip);
    tcase_add_test(tc, audio_languages_kept_per_track);
    tcase_add_loop_test(tc, tags_round_trip, 0, 2);
    tcase_add_test(tc, output_gets_the_input_times);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
