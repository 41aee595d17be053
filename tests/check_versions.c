/*
 * check_versions.c - --version names every library it runs with, each with
 * a version number, and the FFmpeg ones are the libraries actually loaded.
 */
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "checkrun.h"
#include "reencode/probe.h"
#include "reencode/versions.h"
#include "version.h"

/* The line of `text` that starts with "NAME ", copied into line. */
static int line_of(const char *text, const char *name, char *line, size_t size)
{
    size_t n = strlen(name);

    for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
        size_t len = strcspn(p, "\n");
        if (len > n && !strncmp(p, name, n) && p[n] == ' ') {
            snprintf(line, size, "%.*s", (int)len, p);
            return 0;
        }
    }
    return -1;
}

static void describe(AVBPrint *bp)
{
    rx_probe_init();
    av_bprint_init(bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_versions_describe(bp);
    ck_assert(av_bprint_is_complete(bp));
}

START_TEST(every_library_has_a_version_number)
{
    static const char *const libs[] = {"reencode",  "libavcodec", "libavformat",
                                       "libavutil", "libswscale", "libswresample",
                                       "libaom",    "libopus",    "libmediainfo"};
    regex_t re;
    AVBPrint bp;
    char line[256];

    /* NAME, a space, then a number with at least one dot: "libaom 3.6.0". */
    ck_assert_int_eq(regcomp(&re, "^[a-z0-9]+ [0-9]+\\.[0-9]+", REG_EXTENDED | REG_NOSUB), 0);
    describe(&bp);
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        ck_assert_msg(line_of(bp.str, libs[i], line, sizeof(line)) == 0, "no %s line in:\n%s",
                      libs[i], bp.str);
        ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "no version number: '%s'", line);
    }
    /* libsvtav1 is optional (libavcodec may lack it), but always accounted for. */
    ck_assert_int_eq(line_of(bp.str, "libsvtav1", line, sizeof(line)), 0);
    if (avcodec_find_encoder_by_name("libsvtav1"))
        ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "no version number: '%s'", line);
    regfree(&re);
    av_bprint_finalize(&bp, NULL);
}
END_TEST

START_TEST(ffmpeg_versions_are_the_loaded_ones)
{
    unsigned c = avcodec_version(), f = avformat_version();
    AVBPrint bp;
    char want[64], line[256];

    describe(&bp);
    ck_assert_int_eq(line_of(bp.str, "reencode", line, sizeof(line)), 0);
    ck_assert_str_eq(line, "reencode " RX_VERSION);
    snprintf(want, sizeof(want), "libavcodec %u.%u.%u ", c >> 16, (c >> 8) & 0xff, c & 0xff);
    ck_assert_int_eq(line_of(bp.str, "libavcodec", line, sizeof(line)), 0);
    ck_assert_msg(!strncmp(line, want, strlen(want)), "'%s' is not '%s...'", line, want);
    snprintf(want, sizeof(want), "libavformat %u.%u.%u ", f >> 16, (f >> 8) & 0xff, f & 0xff);
    ck_assert_int_eq(line_of(bp.str, "libavformat", line, sizeof(line)), 0);
    ck_assert_msg(!strncmp(line, want, strlen(want)), "'%s' is not '%s...'", line, want);
    av_bprint_finalize(&bp, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("versions");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, every_library_has_a_version_number);
    tcase_add_test(tc, ffmpeg_versions_are_the_loaded_ones);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
