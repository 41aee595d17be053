/*
 * check_measure.c - the SSIM / PSNR arithmetic of src/check/measure.c on
 * synthetic planes, where the right answer is known without a reference
 * implementation.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>

#include "checkrun.h"
#include "reencode/measure.h"

#define W      67 /* odd, not a multiple of 4: the edge columns and rows count too */
#define H      45
#define STRIDE 80

/* A textured plane (gradients and a checker), samples in 40..200. */
static void texture(uint8_t *p, ptrdiff_t stride)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            p[y * stride + x] = (uint8_t)(40 + (x * 3 + y * 2) % 120 + ((x / 4 + y / 4) % 2) * 40);
}

static uint8_t a[H * STRIDE], b[H * (STRIDE + 16)];

START_TEST(identical_planes_are_perfect)
{
    double ssim, sse;

    texture(a, STRIDE);
    texture(b, STRIDE + 16); /* another stride, same pictures */
    ck_assert_int_eq(rx_compare_planes(a, STRIDE, b, STRIDE + 16, W, H, &ssim, &sse), 0);
    ck_assert(ssim == 1.0);
    ck_assert(sse == 0.0);
    ck_assert(rx_psnr(sse / (W * H)) == RX_PSNR_MAX);
}
END_TEST

/* Every sample 4 levels up: MSE 16 over every sample, the rows and columns
 * past the last whole 4x4 block included, so PSNR = 10 log10(255^2 / 16). */
START_TEST(offset_gives_known_psnr)
{
    double ssim, sse, psnr;

    texture(a, STRIDE);
    texture(b, STRIDE);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            b[y * STRIDE + x] = (uint8_t)(a[y * STRIDE + x] + 4);
    ck_assert_int_eq(rx_compare_planes(a, STRIDE, b, STRIDE, W, H, &ssim, &sse), 0);
    ck_assert_double_eq(sse, 16.0 * W * H);
    psnr = rx_psnr(sse / (W * H));
    ck_assert_double_eq_tol(psnr, 10.0 * log10(65025.0 / 16.0), 1e-9);
    ck_assert_double_eq_tol(psnr, 36.0896, 1e-4);
    /* A small brightness shift keeps the structure: SSIM below 1, barely. */
    ck_assert_msg(ssim < 1.0 && ssim > 0.99, "ssim %f", ssim);
}
END_TEST

START_TEST(noise_is_strictly_between)
{
    double ssim_small, ssim_big, sse;
    unsigned seed = 12345;

    texture(a, STRIDE);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            seed = seed * 1103515245u + 12345u;
            b[y * STRIDE + x] = (uint8_t)(a[y * STRIDE + x] + (int)((seed >> 16) % 9) - 4);
        }
    ck_assert_int_eq(rx_compare_planes(a, STRIDE, b, STRIDE, W, H, &ssim_small, &sse), 0);
    ck_assert(sse > 0.0);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            seed = seed * 1103515245u + 12345u;
            b[y * STRIDE + x] = (uint8_t)(a[y * STRIDE + x] + (int)((seed >> 16) % 81) - 40);
        }
    ck_assert_int_eq(rx_compare_planes(a, STRIDE, b, STRIDE, W, H, &ssim_big, &sse), 0);
    ck_assert_msg(ssim_small > 0.0 && ssim_small < 1.0, "ssim %f", ssim_small);
    ck_assert_msg(ssim_big > 0.0 && ssim_big < ssim_small, "ssim %f vs %f", ssim_big, ssim_small);
    ck_assert(rx_psnr(sse / (W * H)) < 30.0);
}
END_TEST

/* An inverted picture has the opposite structure: SSIM near or below 0. */
START_TEST(inverted_is_poor)
{
    double ssim, sse;

    texture(a, STRIDE);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            b[y * STRIDE + x] = (uint8_t)(255 - a[y * STRIDE + x]);
    ck_assert_int_eq(rx_compare_planes(a, STRIDE, b, STRIDE, W, H, &ssim, &sse), 0);
    ck_assert_msg(ssim < 0.1, "ssim %f", ssim);
}
END_TEST

START_TEST(too_small_is_refused)
{
    double ssim = -1, sse = -1;

    ck_assert_int_eq(rx_compare_planes(a, STRIDE, b, STRIDE, 7, H, &ssim, &sse), AVERROR(EINVAL));
    ck_assert_int_eq(rx_compare_planes(a, STRIDE, b, STRIDE, W, 7, &ssim, &sse), AVERROR(EINVAL));
    ck_assert_int_eq(rx_compare_planes(a, STRIDE, b, STRIDE, 8, 8, &ssim, &sse), 0);
}
END_TEST

START_TEST(psnr_is_capped_and_monotonic)
{
    ck_assert(rx_psnr(0.0) == RX_PSNR_MAX);
    ck_assert(rx_psnr(1e-12) == RX_PSNR_MAX);
    ck_assert_double_eq_tol(rx_psnr(65025.0), 0.0, 1e-12);
    ck_assert(rx_psnr(1.0) > rx_psnr(2.0));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("measure");
    TCase *tc = tcase_create("measure");

    tcase_add_test(tc, identical_planes_are_perfect);
    tcase_add_test(tc, offset_gives_known_psnr);
    tcase_add_test(tc, noise_is_strictly_between);
    tcase_add_test(tc, inverted_is_poor);
    tcase_add_test(tc, too_small_is_refused);
    tcase_add_test(tc, psnr_is_capped_and_monotonic);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
