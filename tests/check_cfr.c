/*
 * check_cfr.c - constant-frame-rate output (--cfr, --fps) and image series
 * (--images), judged by decoding what was written.
 *
 * "Frame k at k/fps" means here: decoded output frame k is stamped within
 * 0.5 ms of t0 + k/fps, t0 being the output's first video timestamp (WebM
 * stores milliseconds). Which source frame an output frame shows is read
 * from the picture itself: TM_CLOCK clips write each frame's media time into
 * it, and test images are each two flat colours of their own.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavutil/frame.h>

#include "checkrun.h"
#include "reencode/log.h"
#include "reencode/transcode.h"
#include "inspect.h"
#include "testdir.h"
#include "testmedia.h"

static char dir[256];

static void setup(void)
{
    ck_assert_int_eq(td_create(dir, sizeof(dir), "check_cfr"), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(td_remove(dir), 0);
}

static const char *const encoders[] = {"libaom-av1", "libsvtav1"};

static void cfr_settings(RxSettings *s, const char *encoder, int fps_num, int fps_den)
{
    rx_settings_default(s);
    s->threads = 2;
    ck_assert_int_eq(rx_settings_set_encoder(s, encoder), 0);
    s->cfr = 1;
    s->fps_num = fps_num;
    s->fps_den = fps_den;
}

static void make_clip(const char *path, const TmClip *c)
{
    char err[256];
    ck_assert_msg(tm_write_clip(path, c, err, sizeof(err)) == 0, "cannot make %s: %s", path, err);
}

static void run_job(RxTranscode *t, RxResult *r)
{
    int ret = rx_transcode_run(t, r);
    ck_assert_msg(ret == 0, "encode failed: %s", r->error);
    rx_transcode_free(&t);
}

static void encode_ok(const char *in, const char *out, const RxSettings *s, RxResult *r)
{
    RxTranscode *t = NULL;

    ck_assert_int_eq(rx_transcode_new(&t, in, out, s), 0);
    run_job(t, r);
}

/* What each decoded frame of a file shows. */
typedef struct Shown {
    int n;
    int64_t us[512];    /* timestamp */
    int clock[512];     /* tm_read_clock(), TM_CLOCK clips */
    int yuv[512][2][3]; /* mean Y, U, V of the left and right quarter, images */
    int w, h;
} Shown;

/* Mean of plane p over the middle half of the rows, columns [x0, x1) in luma units. */
static int mean_of(const AVFrame *f, int p, int x0, int x1)
{
    int s = p ? 1 : 0; /* 4:2:0 */
    long sum = 0, n = 0;

    for (int y = (f->height / 4) >> s; y < (3 * f->height / 4) >> s; y++)
        for (int x = x0 >> s; x < x1 >> s; x++, n++)
            sum += f->data[p][y * f->linesize[p] + x];
    return (int)(sum / n);
}

static int on_frame(void *opaque, const AVFrame *f, int64_t us)
{
    Shown *sh = opaque;
    int i = sh->n++;

    ck_assert_int_lt(i, 512);
    ck_assert_int_eq(f->format, AV_PIX_FMT_YUV420P);
    sh->w = f->width;
    sh->h = f->height;
    sh->us[i] = us;
    sh->clock[i] = tm_read_clock(f->data[0], f->linesize[0], f->width, f->height);
    for (int p = 0; p < 3; p++) {
        sh->yuv[i][0][p] = mean_of(f, p, f->width / 8, 3 * f->width / 8);
        sh->yuv[i][1][p] = mean_of(f, p, 5 * f->width / 8, 7 * f->width / 8);
    }
    return 0;
}

static Shown *shown(const char *path)
{
    Shown *sh = calloc(1, sizeof(*sh));

    ck_assert_ptr_nonnull(sh);
    ck_assert_int_eq(in_frames(path, on_frame, sh), 0);
    ck_assert_int_gt(sh->n, 0);
    return sh;
}

static void inspect(const char *p, InFile *f)
{
    ck_assert_msg(in_inspect(p, 1, f) == 0, "cannot inspect %s", p);
}

/* Frame k within 0.5 ms of t0 + k / rate: WebM's millisecond rounding and no
 * more, so the frames are evenly spaced. */
static void assert_on_the_grid(const Shown *o, int num, int den)
{
    for (int k = 0; k < o->n; k++) {
        int64_t want = (int64_t)llrint(k * 1e6 * den / num);
        ck_assert_msg(llabs(o->us[k] - o->us[0] - want) <= 500, "frame %d at %lld us, want %lld", k,
                      (long long)(o->us[k] - o->us[0]), (long long)want);
    }
}

/* The A/V start offset of the input kept within 20 ms, audio as long. */
static void assert_audio_in_sync(const InFile *in, const InFile *out)
{
    const InStream *iv = in_stream(in, AVMEDIA_TYPE_VIDEO, 0),
                   *ia = in_stream(in, AVMEDIA_TYPE_AUDIO, 0);
    const InStream *ov = in_stream(out, AVMEDIA_TYPE_VIDEO, 0);
    const InStream *oa = in_stream(out, AVMEDIA_TYPE_AUDIO, 0);
    int64_t off_in = iv->first_us - ia->first_us, off_out = ov->first_us - oa->first_us;

    ck_assert_ptr_nonnull(oa);
    ck_assert_msg(llabs(off_out - off_in) <= 20000, "A/V offset %lld us, input %lld us",
                  (long long)off_out, (long long)off_in);
    ck_assert_msg(llabs((oa->end_us - oa->first_us) - (ia->end_us - ia->first_us)) <= 20000,
                  "audio lasts %lld us, input %lld us", (long long)(oa->end_us - oa->first_us),
                  (long long)(ia->end_us - ia->first_us));
}

/* A VFR recording with --cfr: evenly spaced frames at the nominal rate (for
 * these irregular timestamps the average, frames / duration), the same
 * length, each frame showing the source frame on screen at its time. */
START_TEST(cfr_evens_out_a_vfr_clip)
{
    const char *in = td_path(dir, "vfr.mp4"), *out = td_path(dir, "vfr.webm");
    const InStream *iv, *ov;
    InFile fi = {0}, fo = {0};
    Shown *si, *so;
    RxSettings s;
    RxResult r;
    TmClip c;
    double fps, dur_in, dur_out;

    tm_clip_default(&c);
    c.vfr = 1;
    c.duration = 3.0;
    c.pattern = TM_CLOCK;
    make_clip(in, &c);
    cfr_settings(&s, encoders[_i], 0, 0);
    encode_ok(in, out, &s, &r);
    inspect(in, &fi);
    inspect(out, &fo);
    si = shown(in);
    so = shown(out);
    iv = in_stream(&fi, AVMEDIA_TYPE_VIDEO, 0);
    ov = in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0);

    ck_assert_int_gt(r.fps_num, 0);
    fps = (double)r.fps_num / r.fps_den;
    dur_in = (iv->end_us - iv->first_us) / 1e6;
    ck_assert_msg(fabs(fps - iv->frames / dur_in) < 0.01, "rate %g, input %lld frames in %g s", fps,
                  (long long)iv->frames, dur_in);
    ck_assert_int_eq(so->n, ov->frames);
    ck_assert_msg(fabs(so->n - dur_in * fps) <= 1, "%d frames for %g s at %g fps", so->n, dur_in,
                  fps);
    dur_out = (ov->end_us - ov->first_us) / 1e6;
    ck_assert_msg(fabs(dur_out - dur_in) <= 1 / fps, "video lasts %g s, input %g s", dur_out,
                  dur_in);
    assert_on_the_grid(so, r.fps_num, r.fps_den);
    /* Content by time: frame k shows the last source frame stamped at or
     * before k / fps (1 ms of rounding allowed). */
    for (int k = 0, j = 0; k < so->n; k++) {
        int64_t t = (int64_t)llrint(k * 1e6 / fps);
        while (j + 1 < si->n && si->us[j + 1] - si->us[0] <= t + 1000)
            j++;
        ck_assert_int_ge(si->clock[j], 0);
        ck_assert_msg(so->clock[k] == si->clock[j], "frame %d shows %d ms, want %d ms", k,
                      so->clock[k], si->clock[j]);
    }
    assert_audio_in_sync(&fi, &fo);
    free(si);
    free(so);
    in_free(&fi);
    in_free(&fo);
}
END_TEST

/* A clock clip whose video starts 300 ms after its audio. */
static void make_late_clock(const char *path, double seconds)
{
    TmClip c;

    tm_clip_default(&c);
    c.duration = seconds;
    c.pattern = TM_CLOCK;
    c.video_start = 0.3;
    make_clip(path, &c);
}

/* --fps 10 on a 30 fps clip: a third of the frames, frame k being the source
 * frame of time k/10 (source frame 3k), not source frame k; keyframes by
 * output time; the audio where it was, also when the video starts late. */
START_TEST(fps_resamples_by_time)
{
    const char *in = td_path(dir, "late.mp4"), *out = td_path(dir, "late.webm");
    const InStream *ov;
    InFile fi = {0}, fo = {0};
    Shown *so;
    RxSettings s;
    RxResult r;

    make_late_clock(in, 3.0);
    cfr_settings(&s, "libaom-av1", 10, 1);
    s.keyint_seconds = 1.0;
    encode_ok(in, out, &s, &r);
    inspect(in, &fi);
    inspect(out, &fo);
    so = shown(out);
    ov = in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0);

    ck_assert_int_eq(so->n, 30);
    ck_assert_int_eq(r.video_frames, 30);
    ck_assert_int_eq(r.video_frames_dropped, 60);
    ck_assert_int_eq(r.video_frames_repeated, 0);
    assert_on_the_grid(so, 10, 1);
    for (int k = 0; k < so->n; k++)
        ck_assert_msg(so->clock[k] == 100 * k, "frame %d shows %d ms, want %d ms", k, so->clock[k],
                      100 * k);
    ck_assert_int_eq(ov->keyframes, 3); /* 0, 1 and 2 s */
    /* The video starts 300 ms after the audio, in and out. */
    ck_assert_int_ge(in_stream(&fi, AVMEDIA_TYPE_VIDEO, 0)->first_us, 290000);
    assert_audio_in_sync(&fi, &fo);
    free(so);
    in_free(&fi);
    in_free(&fo);
}
END_TEST

/* --measure under --cfr: output time 0 shows the input's first frame, here
 * at 0.3 s; the source is read from there. Compared 300 ms apart, the
 * clock's blocks disagree and SSIM falls far below. */
START_TEST(cfr_measures_from_the_first_frame)
{
    const char *in = td_path(dir, "late.mp4"), *out = td_path(dir, "late.webm");
    RxSettings s;
    RxResult r;

    make_late_clock(in, 2.0);
    cfr_settings(&s, "libaom-av1", 0, 0); /* the source's own rate */
    s.measure = 1;
    encode_ok(in, out, &s, &r);
    ck_assert_msg(r.ssim >= 0.98, "ssim %f", r.ssim);
}
END_TEST

/* ---- image series */

typedef struct TestImage {
    const char *name;
    int w, h;
    uint8_t left[3], right[3];
} TestImage;

/* PNG and JPEG, of three sizes; sorted in version order (img10 last). */
static const TestImage images[] = {
    {"img1.png", 96, 64, {200, 30, 30}, {30, 30, 200}},
    {"img2.jpg", 160, 90, {30, 180, 40}, {240, 240, 240}},
    {"img3.png", 48, 32, {20, 20, 20}, {250, 200, 0}},
    {"img10.jpg", 96, 64, {120, 0, 160}, {0, 160, 160}},
};
#define N_IMAGES ((int)(sizeof(images) / sizeof(images[0])))

static void make_images(void)
{
    char err[256];

    for (int i = 0; i < N_IMAGES; i++)
        ck_assert_msg(tm_write_image(td_path(dir, images[i].name), images[i].w, images[i].h,
                                     images[i].left, images[i].right, err, sizeof(err)) == 0,
                      "%s", err);
}

/* Limited-range BT.601 Y, U, V of an RGB colour: what swscale makes of it. */
static void expect_yuv(const uint8_t rgb[3], int yuv[3])
{
    double r = rgb[0], g = rgb[1], b = rgb[2];

    yuv[0] = (int)lrint(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
    yuv[1] = (int)lrint(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255);
    yuv[2] = (int)lrint(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255);
}

/* Output frame k shows image order[k]: both halves' colours within 6 levels. */
static void assert_images(const Shown *o, const int *order, int n)
{
    ck_assert_int_eq(o->n, n);
    for (int k = 0; k < n; k++) {
        const TestImage *im = &images[order[k]];
        for (int half = 0; half < 2; half++) {
            int want[3];
            expect_yuv(half ? im->right : im->left, want);
            for (int p = 0; p < 3; p++)
                ck_assert_msg(abs(o->yuv[k][half][p] - want[p]) <= 6,
                              "frame %d (%s), %s half, plane %d: %d, want %d", k, im->name,
                              half ? "right" : "left", p, o->yuv[k][half][p], want[p]);
        }
    }
}

static void encode_images(const char *spec, const char *out, int num, int den, RxResult *r)
{
    RxTranscode *t = NULL;
    RxSettings s;

    cfr_settings(&s, "libaom-av1", num, den);
    ck_assert_int_eq(rx_transcode_new_images(&t, spec, out, &s), 0);
    run_job(t, r);
}

/* A glob: every image once, in version order, at 1/5 s each, at the first
 * image's size (the others scaled, not cropped: both halves keep their
 * colour), no audio. */
START_TEST(images_by_glob_one_frame_each)
{
    static const int order[] = {0, 1, 2, 3};
    const char *out = td_path(dir, "series.webm");
    InFile fo = {0};
    Shown *so;
    RxResult r;

    make_images();
    encode_images(td_path(dir, "img*"), out, 5, 1, &r);
    inspect(out, &fo);
    so = shown(out);
    ck_assert_int_eq(fo.nb_streams, 1);
    ck_assert_ptr_null(in_stream(&fo, AVMEDIA_TYPE_AUDIO, 0));
    ck_assert_int_eq(so->w, images[0].w);
    ck_assert_int_eq(so->h, images[0].h);
    ck_assert_int_eq(r.video_frames, N_IMAGES);
    assert_on_the_grid(so, 5, 1);
    assert_images(so, order, N_IMAGES);
    /* The last image is shown for its 1/5 s too. */
    ck_assert_int_eq(in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0)->end_us - so->us[0], N_IMAGES * 200000);
    free(so);
    in_free(&fo);
}
END_TEST

/* A LIST: its order (not the names'), paths relative to the list, blank
 * lines and CRLF ignored, an image twice if listed twice. */
START_TEST(images_by_list_in_its_order)
{
    static const int order[] = {3, 0, 2, 0};
    const char *list = td_path(dir, "list.txt"), *out = td_path(dir, "list.webm");
    FILE *fp;
    Shown *so;
    RxResult r;

    make_images();
    fp = fopen(list, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "%s\r\n\n%s\n%s\n%s", images[3].name, images[0].name, td_path(dir, "img3.png"),
            images[0].name);
    ck_assert_int_eq(fclose(fp), 0);
    encode_images(list, out, 5, 1, &r);
    so = shown(out);
    ck_assert_int_eq(so->w, images[3].w);
    assert_on_the_grid(so, 5, 1);
    assert_images(so, order, 4);
    free(so);
}
END_TEST

/* Slides: an image every 2.5 s (0.4 fps; libaom takes no time base over 1 s,
 * so the encoder counts 5 ticks of 1/2 s a frame). */
START_TEST(images_slower_than_one_a_second)
{
    static const int order[] = {0, 1, 2, 3};
    const char *out = td_path(dir, "slow.webm");
    InFile fo = {0};
    Shown *so;
    RxResult r;

    make_images();
    encode_images(td_path(dir, "img*"), out, 2, 5, &r);
    inspect(out, &fo);
    so = shown(out);
    assert_on_the_grid(so, 2, 5);
    assert_images(so, order, N_IMAGES);
    ck_assert_int_eq(in_stream(&fo, AVMEDIA_TYPE_VIDEO, 0)->end_us - so->us[0], N_IMAGES * 2500000);
    free(so);
    in_free(&fo);
}
END_TEST

/* An image that does not decode fails the job, naming it; nothing is left. */
START_TEST(bad_image_fails_naming_it)
{
    const char *out = td_path(dir, "bad.webm");
    char part[600];
    struct stat st;
    RxTranscode *t = NULL;
    RxSettings s;
    RxResult r;

    make_images();
    ck_assert_int_eq(tm_write_random(td_path(dir, "img4.png"), 3000, 7), 0);
    cfr_settings(&s, "libaom-av1", 5, 1);
    ck_assert_int_eq(rx_transcode_new_images(&t, td_path(dir, "img*.png"), out, &s), 0);
    ck_assert_int_lt(rx_transcode_run(t, &r), 0);
    rx_transcode_free(&t);
    ck_assert_ptr_nonnull(strstr(r.error, "img4.png"));
    ck_assert_ptr_nonnull(strstr(r.error, "3 of 3"));
    ck_assert_int_ne(stat(out, &st), 0);
    snprintf(part, sizeof(part), "%s.part", out);
    ck_assert_int_ne(stat(part, &st), 0);

    ck_assert_int_eq(rx_transcode_new_images(&t, td_path(dir, "none*.png"), out, &s), 0);
    ck_assert_int_lt(rx_transcode_run(t, &r), 0);
    rx_transcode_free(&t);
    ck_assert_ptr_nonnull(strstr(r.error, "no image matches"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cfr");
    TCase *tc = tcase_create("cfr");

    rx_log_init(RX_LOG_ERROR);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, cfr_evens_out_a_vfr_clip, 0, 2);
    tcase_add_test(tc, fps_resamples_by_time);
    tcase_add_test(tc, cfr_measures_from_the_first_frame);
    tcase_add_test(tc, images_by_glob_one_frame_each);
    tcase_add_test(tc, images_by_list_in_its_order);
    tcase_add_test(tc, images_slower_than_one_a_second);
    tcase_add_test(tc, bad_image_fails_naming_it);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
