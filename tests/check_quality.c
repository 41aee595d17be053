/*
 * check_quality.c - measured quality of a job's output (--measure,
 * --min-ssim) and the crf search for a quality target (--target-ssim), on
 * tiny clips made at test time. The thresholds come from measuring these
 * clips (figures in the comments); the comparisons between settings are
 * what the tests are about.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkrun.h"
#include "reencode/log.h"
#include "reencode/measure.h"
#include "reencode/transcode.h"
#include "inspect.h"
#include "testdir.h"
#include "testmedia.h"

static char dir[256];

static void setup(void)
{
    ck_assert_int_eq(td_create(dir, sizeof(dir), "check_quality"), 0);
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

static void make_clip(const char *path, TmPattern pattern, double seconds, int vfr)
{
    char err[256];
    TmClip c;
    int ret;

    tm_clip_default(&c);
    c.pattern = pattern;
    c.duration = seconds;
    c.vfr = vfr;
    c.audio_tracks = 1;
    ret = tm_write_clip(path, &c, err, sizeof(err));
    ck_assert_msg(ret == 0, "cannot make test clip %s: %s", path, err);
}

/* Fast settings: the tests compare crfs, not speeds. */
static void fast_settings(RxSettings *s)
{
    rx_settings_default(s);
    s->threads = 2;
    s->cpu_used = 8;
}

typedef struct Tuned {
    int calls;
    int crf;
    char key[RX_TUNE_KEY_MAX];
} Tuned;

static void on_tuned(void *opaque, const RxResult *res)
{
    Tuned *t = opaque;
    t->calls++;
    t->crf = res->tuned_crf;
    snprintf(t->key, sizeof(t->key), "%s", res->tuned_for);
}

static int encode(const char *in, const char *out, const RxSettings *s, RxResult *r, Tuned *tuned,
                  int known_crf)
{
    RxTranscode *t = NULL;
    int ret = rx_transcode_new(&t, in, out, s);

    ck_assert_int_eq(ret, 0);
    if (tuned)
        rx_transcode_set_tuned(t, on_tuned, tuned);
    if (known_crf)
        rx_transcode_set_known_crf(t, known_crf);
    ret = rx_transcode_run(t, r);
    rx_transcode_free(&t);
    return ret;
}

static void encode_ok(const char *in, const char *out, const RxSettings *s, RxResult *r,
                      Tuned *tuned, int known_crf)
{
    int ret = encode(in, out, s, r, tuned, known_crf);
    ck_assert_msg(ret == 0, "encode of %s failed: %s", in, r->error);
}

/* A crf near the top of libaom's range must measure clearly worse than one
 * near the bottom. Measured on this 3 s motion clip: crf 10 SSIM 0.9901,
 * PSNR 47.8 dB; crf 60 SSIM 0.9622, PSNR 35.6 dB. The source is itself
 * lossy H.264, so even crf 10 is not 1. */
START_TEST(measure_tells_crf_10_from_crf_60)
{
    const char *in = path_in("motion.mp4"), *hi = path_in("hi.webm"), *lo = path_in("lo.webm");
    RxSettings s;
    RxResult rh, rl;
    InQuality whole;

    make_clip(in, TM_MOTION, 3.0, 0);
    fast_settings(&s);
    s.measure = 1;
    s.crf = 10;
    encode_ok(in, hi, &s, &rh, NULL, 0);
    s.crf = 60;
    encode_ok(in, lo, &s, &rl, NULL, 0);
    ck_assert_msg(rh.ssim > 0.985 && rh.ssim <= 1.0, "crf 10: ssim %f", rh.ssim);
    ck_assert_msg(rl.ssim < 0.975 && rl.ssim > 0.5, "crf 60: ssim %f", rl.ssim);
    ck_assert_msg(rh.psnr > rl.psnr + 8.0, "psnr %f vs %f", rh.psnr, rl.psnr);
    ck_assert(rh.ssim_min <= rh.ssim && rl.ssim_min <= rl.ssim && rl.ssim_min > 0);
    /* A video of 10 s or less is measured whole: the same figure as the
     * test suite's whole-file comparison. */
    ck_assert_int_eq(in_quality(in, lo, &whole), 0);
    ck_assert_int_eq(whole.frames, 90);
    ck_assert_double_eq_tol(whole.ssim, rl.ssim, 1e-9);
    ck_assert_double_eq_tol(whole.psnr, rl.psnr, 1e-9);
    /* Not measured unless asked. */
    s.measure = 0;
    encode_ok(in, path_in("plain.webm"), &s, &rl, NULL, 0);
    ck_assert(rl.ssim == 0 && rl.psnr == 0);
}
END_TEST

START_TEST(below_min_ssim_is_not_published)
{
    const char *in = path_in("motion.mp4"), *out = path_in("crushed.webm");
    RxSettings s;
    RxResult r;
    int ret;

    make_clip(in, TM_MOTION, 2.0, 0);
    fast_settings(&s);
    s.crf = 60; /* measures about 0.96 (above) */
    s.min_ssim = 0.99;
    ret = encode(in, out, &s, &r, NULL, 0);
    ck_assert_int_eq(ret, RX_ERR_LOW_QUALITY);
    ck_assert_int_eq(r.state, RX_STATE_FAILED);
    ck_assert(!exists(out) && !exists(path_in("crushed.webm.part")));
    ck_assert_msg(strstr(r.error, "motion.mp4") && strstr(r.error, "--min-ssim 0.9900") &&
                      strstr(r.error, "SSIM 0.9"),
                  "error: %s", r.error);
    ck_assert_ptr_null(strchr(r.error, '\n'));
    ck_assert(r.ssim > 0.5 && r.ssim < 0.99);

    /* The same bound met: published. */
    s.crf = 20;
    s.min_ssim = 0.97;
    encode_ok(in, out, &s, &r, NULL, 0);
    ck_assert(exists(out) && r.ssim >= 0.97);
}
END_TEST

/* The point of --target-ssim: slides need fewer bits than motion for the
 * same SSIM, so they get a higher crf. Measured: slides crf 55 (the top of
 * the range) SSIM 0.986, motion crf 33 SSIM 0.981. */
START_TEST(target_ssim_gives_slides_a_higher_crf)
{
    const char *slides = path_in("slides.mp4"), *motion = path_in("motion.mp4");
    const char *so = path_in("slides.webm"), *mo = path_in("motion.webm");
    char key[RX_TUNE_KEY_MAX];
    RxSettings s;
    RxResult rs, rm;
    Tuned ts = {0}, tm = {0};
    InQuality q;
    int lo, hi;

    make_clip(slides, TM_SLIDES, 4.0, 0);
    make_clip(motion, TM_MOTION, 4.0, 0);
    fast_settings(&s);
    s.target_ssim = 0.98;
    encode_ok(slides, so, &s, &rs, &ts, 0);
    encode_ok(motion, mo, &s, &rm, &tm, 0);
    rx_settings_crf_range(&s, &lo, &hi);
    ck_assert_msg(rs.tuned_crf > rm.tuned_crf, "slides crf %d, motion crf %d", rs.tuned_crf,
                  rm.tuned_crf);
    ck_assert(rm.tuned_crf >= lo && rs.tuned_crf <= hi);
    /* Both outputs meet the target, as measured by the job and over every
     * frame by the test suite's own comparison. */
    ck_assert_msg(rs.ssim >= 0.98 && rm.ssim >= 0.98, "ssim %f, %f", rs.ssim, rm.ssim);
    ck_assert_int_eq(in_quality(slides, so, &q), 0);
    ck_assert_msg(q.ssim >= 0.98, "slides: %f", q.ssim);
    ck_assert_int_eq(in_quality(motion, mo, &q), 0);
    ck_assert_msg(q.ssim >= 0.98, "motion: %f", q.ssim);
    /* A bounded search, reported once through the hook, under the key. */
    /* Slides meet the target at the top of the range: that one crf is
     * all the search tries (one window: the clip is short). */
    ck_assert_int_eq(rs.tuned_crf, hi);
    ck_assert_int_eq(rs.tune_probes, 1);
    ck_assert(rm.tune_probes >= 2 && rm.tune_probes <= 6);
    ck_assert_int_eq(ts.calls, 1);
    ck_assert_int_eq(ts.crf, rs.tuned_crf);
    rx_settings_tune_key(&s, key);
    ck_assert_str_eq(ts.key, key);
    ck_assert_str_eq(rs.tuned_for, key);
    /* The outputs carry their audio: probes do not change the real encode. */
    ck_assert_int_eq(rs.audio_tracks, 1);
}
END_TEST

/* A crf found before (the journal's cache) is used as it is: no probes. */
START_TEST(known_crf_runs_no_probes)
{
    const char *in = path_in("motion.mp4"), *out = path_in("motion.webm");
    RxSettings s;
    RxResult r;
    Tuned t = {0};

    make_clip(in, TM_MOTION, 2.0, 0);
    fast_settings(&s);
    s.target_ssim = 0.98;
    encode_ok(in, out, &s, &r, &t, 41);
    ck_assert_int_eq(r.tune_probes, 0);
    ck_assert_int_eq(r.tuned_crf, 41);
    ck_assert_int_eq(t.calls, 0);
    ck_assert(r.ssim > 0); /* the target still has the output measured */
}
END_TEST

/* Judged by display time: a VFR slides clip whose repeated frames were not
 * encoded (dedup) is compared frame for frame with what is on screen, so it
 * measures as well as it looks; matched by index, every frame after the
 * first dropped one would meet the wrong picture. */
START_TEST(vfr_and_dropped_frames_are_judged_by_time)
{
    const char *in = path_in("vfr.mp4"), *out = path_in("vfr.webm");
    RxSettings s;
    RxResult r;
    InQuality q;

    make_clip(in, TM_SLIDES, 4.0, 1);
    fast_settings(&s);
    s.measure = 1;
    encode_ok(in, out, &s, &r, NULL, 0);
    ck_assert_int_gt(r.video_frames_elided, 0);
    ck_assert_msg(r.ssim > 0.98, "ssim %f", r.ssim);
    ck_assert_int_eq(in_quality(in, out, &q), 0);
    ck_assert_double_eq_tol(q.ssim, r.ssim, 1e-9);
}
END_TEST

/* Past 10 s the measure takes five 1 s spans and the search two or three
 * 2 s windows: the figures stay close to the whole file's. */
START_TEST(long_clip_is_measured_by_spans)
{
    const char *in = path_in("long.mp4"), *out = path_in("long.webm");
    RxSettings s;
    RxResult r;
    InQuality q;

    make_clip(in, TM_CAMERA, 14.0, 0);
    fast_settings(&s);
    s.target_ssim = 0.97;
    encode_ok(in, out, &s, &r, NULL, 0);
    ck_assert_int_eq(in_quality(in, out, &q), 0);
    ck_assert_msg(fabs(q.ssim - r.ssim) < 0.01, "spans %f, whole %f", r.ssim, q.ssim);
    ck_assert(r.tune_probes >= 1 && r.tune_probes <= 10);
}
END_TEST

/* On a time grid (RxMeasureOptions.grid_us) the comparisons are the
 * instants, not the frames: a 2 s clip against itself is 8 instants at
 * 0.25 s, CFR (60 frames) or VFR (fewer, irregular) alike, and perfect. */
START_TEST(grid_counts_instants_not_frames)
{
    const char *cfr = path_in("cfr.mp4"), *vfr = path_in("vfr.mp4");
    InQuality q;

    make_clip(cfr, TM_SLIDES, 2.0, 0);
    make_clip(vfr, TM_SLIDES, 2.0, 1);
    ck_assert_int_eq(in_quality(cfr, cfr, &q), 0);
    ck_assert_int_eq(q.frames, 60);
    ck_assert_int_eq(in_quality_grid(cfr, cfr, 0.25, &q), 0);
    ck_assert_int_eq(q.frames, 8);
    ck_assert(q.ssim == 1.0 && q.ssim_min == 1.0);
    ck_assert_int_eq(in_quality(vfr, vfr, &q), 0);
    ck_assert_int_lt(q.frames, 50);
    ck_assert_int_eq(in_quality_grid(vfr, vfr, 0.25, &q), 0);
    ck_assert_int_eq(q.frames, 8);
    ck_assert(q.ssim == 1.0);
    /* A grid is for whole files: with spans it is refused. */
    {
        RxMeasureOptions opt = {0, NULL, NULL, 250000};
        RxSpan sp = {0, 0, 1000000};
        RxQuality rq;
        ck_assert_int_eq(rx_measure(cfr, cfr, &sp, 1, &opt, &rq), AVERROR(EINVAL));
    }
}
END_TEST

/* Each instant compares what is on screen on both sides: slides that change
 * every second against slides that change every 2 s agree for the first
 * second (4 instants of 8) and disagree, equally, for the second. */
START_TEST(grid_compares_what_is_on_screen)
{
    const char *a = path_in("a.mp4"), *b = path_in("b.mp4");
    char err[256];
    InQuality q;
    TmClip c;

    make_clip(a, TM_SLIDES, 2.0, 0);
    tm_clip_default(&c);
    c.duration = 2.0;
    c.slide_seconds = 2.0;
    ck_assert_msg(tm_write_clip(b, &c, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(in_quality_grid(a, b, 0.25, &q), 0);
    ck_assert_int_eq(q.frames, 8);
    ck_assert_msg(q.ssim_min < 0.9, "min %f", q.ssim_min);
    ck_assert_msg(fabs(q.ssim - (1.0 + q.ssim_min) / 2) < 0.01, "mean %f, min %f", q.ssim,
                  q.ssim_min);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quality");
    TCase *tc = tcase_create("quality");

    rx_log_init(RX_LOG_ERROR);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, measure_tells_crf_10_from_crf_60);
    tcase_add_test(tc, below_min_ssim_is_not_published);
    tcase_add_test(tc, target_ssim_gives_slides_a_higher_crf);
    tcase_add_test(tc, known_crf_runs_no_probes);
    tcase_add_test(tc, vfr_and_dropped_frames_are_judged_by_time);
    tcase_add_test(tc, long_clip_is_measured_by_spans);
    tcase_add_test(tc, grid_counts_instants_not_frames);
    tcase_add_test(tc, grid_compares_what_is_on_screen);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
