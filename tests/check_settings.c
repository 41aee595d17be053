/*
 * check_settings.c - reference defaults and the result record's helpers.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>

#include "checkrun.h"
#include "reencode/result.h"
#include "reencode/settings.h"
#include "encoders/encoder.h"

/* libsvtav1's calibrated defaults, as docs/benchmarks.md records them. */
#define SVT_CRF    40
#define SVT_PRESET 12

START_TEST(defaults_are_the_reference)
{
    RxSettings s;

    rx_settings_default(&s);
    ck_assert_str_eq(s.video_encoder, "libaom-av1");
    ck_assert_int_eq(s.crf, 32);
    ck_assert_int_eq(s.cpu_used, 5);
    ck_assert_str_eq(s.usage, "realtime");
    ck_assert_int_eq(s.lag_in_frames, 32);
    ck_assert_int_eq(s.audio_bitrate, 32000);
    ck_assert_str_eq(s.opus_application, "voip");
    ck_assert(s.keyint_seconds == RX_KEYINT_AUTO);
    ck_assert_int_eq(s.overwrite, 0);
    /* Every reference aom-param but cpu-used (its own setting). */
    ck_assert_ptr_nonnull(strstr(s.aom_params, "tune-content=screen"));
    ck_assert_ptr_nonnull(strstr(s.aom_params, "arnr-maxframes=4"));
    ck_assert_ptr_nonnull(strstr(s.aom_params, "sharpness=3"));
    ck_assert_ptr_nonnull(strstr(s.aom_params, "disable-trellis-quant=0"));
    ck_assert_ptr_null(strstr(s.aom_params, "cpu-used"));
}
END_TEST

/* libsvtav1 comes with its own calibrated crf/preset (docs/benchmarks.md);
 * switching back restores libaom's. A name we do not drive changes nothing. */
START_TEST(set_encoder_brings_its_defaults)
{
    RxSettings s, before;

    rx_settings_default(&s);
    ck_assert_int_eq(rx_settings_set_encoder(&s, "libsvtav1"), 0);
    ck_assert_str_eq(s.video_encoder, "libsvtav1");
    ck_assert_int_eq(s.crf, SVT_CRF);
    ck_assert_int_eq(s.preset, SVT_PRESET);
    ck_assert_str_eq(s.svt_params, "");
    before = s;
    ck_assert_int_eq(rx_settings_set_encoder(&s, "libx265"), AVERROR(EINVAL));
    ck_assert_int_eq(rx_settings_set_encoder(&s, "libaom"), AVERROR(EINVAL));
    ck_assert_mem_eq(&s, &before, sizeof(s));
    ck_assert_int_eq(rx_settings_set_encoder(&s, "libaom-av1"), 0);
    ck_assert_str_eq(s.video_encoder, "libaom-av1");
    ck_assert_int_eq(s.crf, 32);
}
END_TEST

/* The other encoders bring their calibrated quality and speed (see
 * src/core/settings.c); container auto follows the audio; names say theirs. */
START_TEST(other_encoders_and_containers)
{
    RxSettings s;

    rx_settings_default(&s);
    ck_assert_int_eq(rx_settings_set_encoder(&s, "librav1e"), 0);
    ck_assert_int_eq(s.crf, 80);
    ck_assert_int_eq(s.preset, 8);
    ck_assert_int_eq(rx_settings_dedup(&s), 0);
    ck_assert_int_eq(rx_settings_set_encoder(&s, "libvpx-vp9"), 0);
    ck_assert_str_eq(s.video_encoder, "libvpx-vp9");
    ck_assert_int_eq(s.crf, 36);
    ck_assert_int_eq(s.cpu_used, 2);
    ck_assert_int_eq(rx_settings_set_encoder(&s, "libaom-av1"), 0);
    ck_assert_int_eq(s.cpu_used, 5);
    ck_assert_int_eq(rx_settings_dedup(&s), 1);

    ck_assert_int_eq(s.container, RX_CONTAINER_AUTO);
    ck_assert_int_eq(s.audio_copy, 0);
    ck_assert_int_eq(rx_settings_container(&s), RX_CONTAINER_WEBM);
    s.audio_copy = 1;
    ck_assert_int_eq(rx_settings_container(&s), RX_CONTAINER_MKV);
    s.container = RX_CONTAINER_WEBM;
    ck_assert_int_eq(rx_settings_container(&s), RX_CONTAINER_WEBM);
    ck_assert_str_eq(rx_container_ext(RX_CONTAINER_MKV), ".mkv");
    ck_assert_str_eq(rx_container_ext(RX_CONTAINER_WEBM), ".webm");
    ck_assert_int_eq(rx_container_of_name("a/b.WEBM"), RX_CONTAINER_WEBM);
    ck_assert_int_eq(rx_container_of_name("b.mkv"), RX_CONTAINER_MKV);
    ck_assert_int_eq(rx_container_of_name("b.mp4"), RX_CONTAINER_AUTO);
    ck_assert_int_eq(rx_container_of_name("a.mkv/b"), RX_CONTAINER_AUTO);
}
END_TEST

START_TEST(set_str_refuses_to_truncate)
{
    char buf[4];

    ck_assert_int_eq(rx_settings_set_str(buf, sizeof(buf), "abc"), 0);
    ck_assert_str_eq(buf, "abc");
    ck_assert_int_eq(rx_settings_set_str(buf, sizeof(buf), "abcd"), AVERROR(EINVAL));
    ck_assert_str_eq(buf, "abc"); /* unchanged on error */
}
END_TEST

START_TEST(threads_zero_means_cores)
{
    RxSettings s;

    rx_settings_default(&s);
    s.threads = 3;
    ck_assert_int_eq(rx_settings_threads(&s), 3);
    s.threads = 0;
    ck_assert_int_ge(rx_settings_threads(&s), 1);
}
END_TEST

/* Every description in the encoder table is whole and agrees with itself,
 * and the settings that read it give what it says: a new encoder with a
 * default outside its own range, an option it does not own as its params,
 * or a missing op fails here before any encode. */
START_TEST(encoder_table_is_consistent)
{
    size_t n = 0;

    for (const RxEncoder *e; (e = rx_encoder_at(n)); n++) {
        RxSettings s;
        int lo, hi;

        ck_assert_ptr_nonnull(e->name);
        ck_assert_ptr_eq(rx_encoder_find(e->name), e); /* names are unique */
        ck_assert(e->apply != NULL);
        ck_assert_int_le(e->crf_min, e->crf);
        ck_assert_int_le(e->crf, e->crf_max);
        ck_assert_int_le(e->preset, e->preset_max);
        ck_assert_int_le(e->crf_min, e->tune_lo);
        ck_assert_int_lt(e->tune_lo, e->tune_hi);
        ck_assert_int_le(e->tune_hi, e->crf_max);
        ck_assert_int_gt(e->memory_mib, 0);
        ck_assert_uint_eq(e->options & ~((1u << RX_EO_COUNT) - 1), 0);
        if (e->params_option >= 0)
            ck_assert_uint_ne(e->options & RX_EO_BIT(e->params_option), 0);
        if (e->params_check)
            ck_assert_ptr_nonnull(e->params_owner);
        rx_settings_default(&s);
        if (rx_settings_set_encoder(&s, e->name) == AVERROR_ENCODER_NOT_FOUND)
            continue; /* a libavcodec without it */
        ck_assert_int_eq(s.crf, e->crf);
        ck_assert_int_eq(s.preset, e->preset);
        ck_assert_int_eq(s.cpu_used, e->cpu_used);
        rx_settings_crf_range(&s, &lo, &hi);
        ck_assert_int_eq(lo, e->tune_lo);
        ck_assert_int_eq(hi, e->tune_hi);
    }
    ck_assert_uint_eq(n, 4);
    ck_assert_ptr_null(rx_encoder_find("libx264"));
    ck_assert_str_eq(rx_encoder_at(0)->name, "libaom-av1"); /* the default */
    for (int o = 0; o < RX_EO_COUNT; o++)
        ck_assert_ptr_nonnull(rx_encoder_option_name((RxEncOpt)o));
}
END_TEST

START_TEST(state_names_and_errors)
{
    char buf[128];

    ck_assert_str_eq(rx_state_name(RX_STATE_DONE), "done");
    ck_assert_str_eq(rx_state_name(RX_STATE_FAILED), "failed");
    ck_assert_str_eq(rx_state_name((RxState)99), "unknown");
    ck_assert_str_eq(rx_strerror(RX_ERR_CANCELLED, buf, sizeof(buf)), "cancelled");
    ck_assert_str_eq(rx_strerror(AVERROR(ENOSPC), buf, sizeof(buf)), "No space left on device");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("settings");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, defaults_are_the_reference);
    tcase_add_test(tc, set_encoder_brings_its_defaults);
    tcase_add_test(tc, other_encoders_and_containers);
    tcase_add_test(tc, set_str_refuses_to_truncate);
    tcase_add_test(tc, threads_zero_means_cores);
    tcase_add_test(tc, encoder_table_is_consistent);
    tcase_add_test(tc, state_names_and_errors);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
