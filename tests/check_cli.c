/*
 * check_cli.c - the command-line parser: every option reaches the settings,
 * every bad value is a usage error with a message, nothing exits.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "checkrun.h"
#include "reencode/cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char err[512];

START_TEST(encode_with_every_option)
{
    char *argv[] = {"reencode",
                    "encode",
                    "--crf",
                    "40",
                    "--cpu-used=8",
                    "--usage",
                    "good",
                    "--lag-in-frames",
                    "16",
                    "--aom-params",
                    "sharpness=1",
                    "--threads",
                    "3",
                    "--keyint",
                    "2.5",
                    "--audio-bitrate",
                    "48k",
                    "--opus-application",
                    "audio",
                    "--overwrite",
                    "-o",
                    "out.webm",
                    "in.mp4"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_ENCODE);
    ck_assert_str_eq(cli.input, "in.mp4");
    ck_assert_str_eq(cli.output, "out.webm");
    ck_assert_int_eq(cli.settings.crf, 40);
    ck_assert_int_eq(cli.settings.cpu_used, 8);
    ck_assert_str_eq(cli.settings.usage, "good");
    ck_assert_int_eq(cli.settings.lag_in_frames, 16);
    ck_assert_str_eq(cli.settings.aom_params, "sharpness=1");
    ck_assert_int_eq(cli.settings.threads, 3);
    ck_assert(cli.settings.keyint_seconds == 2.5);
    ck_assert_int_eq(cli.settings.audio_bitrate, 48000);
    ck_assert_str_eq(cli.settings.opus_application, "audio");
    ck_assert_int_eq(cli.settings.overwrite, 1);
    rx_cli_free(&cli);
}
END_TEST

START_TEST(defaults_without_options)
{
    char *argv[] = {"reencode", "encode", "in.mp4"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_ptr_null(cli.output);
    ck_assert_int_eq(cli.settings.crf, 32);
    ck_assert_int_eq(cli.progress, -1);
    rx_cli_free(&cli);
}
END_TEST

START_TEST(double_dash_allows_leading_dash_names)
{
    char *argv[] = {"reencode", "encode", "--", "-weird.mp4"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_str_eq(cli.input, "-weird.mp4");
    rx_cli_free(&cli);
}
END_TEST

/* Each bad command line must be refused with a message naming the culprit. */
static const struct {
    const char *args[6];
    const char *needle;
} bad[] = {
    {{"encode", "--crf", "64", "a.mp4"}, "--crf"},
    {{"encode", "--crf", "3x", "a.mp4"}, "3x"},
    {{"encode", "--crf", "", "a.mp4"}, "--crf"},
    {{"encode", "--cpu-used", "-1", "a.mp4"}, "--cpu-used"},
    {{"encode", "--usage", "fast", "a.mp4"}, "fast"},
    {{"encode", "--keyint", "nan", "a.mp4"}, "--keyint"},
    {{"encode", "--threads", "99999999999999999999", "a.mp4"}, "--threads"},
    {{"encode", "--audio-bitrate", "12q", "a.mp4"}, "12q"},
    {{"encode", "--opus-application", "music", "a.mp4"}, "music"},
    {{"encode", "--frobnicate", "a.mp4"}, "--frobnicate"},
    {{"encode", "-x", "a.mp4"}, "-x"},
    {{"encode", "a.mp4", "b.mp4"}, "b.mp4"},
    {{"encode", "--crf"}, "--crf"},
    {{"encode"}, "INPUT"},
    {{"encode", "--overwrite=yes", "a.mp4"}, "--overwrite"},
    {{"transmogrify"}, "transmogrify"},
    {{"list"}, "DIR"},
    {{"list", "-o", "x", "dir"}, "-o"},
    {{"list", "--ext", "", "dir"}, "--ext"},
    {{"list", "--ext", "a/b", "dir"}, "a/b"},
    {{"list", "--json=yes", "dir"}, "--json"},
    {{"encode", "--match", "Title?", "a.mp4"}, "--match"},
    {{"run"}, "DIR"},
    {{"run", "-j", "0", "d"}, "--jobs"},
    {{"run", "--originals", "shred", "d"}, "shred"},
    {{"run", "--max-size-ratio", "0", "d"}, "--max-size-ratio"},
    {{"status"}, "DIR"},
    {{"status", "a", "b"}, "one DIR"},
    {{"journal"}, "repair"},
    {{"status", "--crf", "3", "d"}, "--crf"},
};

START_TEST(bad_command_lines_are_usage_errors)
{
    char *argv[8] = {"reencode"};
    int argc = 1;
    RxCli cli;

    for (int k = 0; bad[_i].args[k]; k++)
        argv[argc++] = (char *)(uintptr_t)bad[_i].args[k];
    ck_assert_int_eq(rx_cli_parse(argc, argv, &cli, err, sizeof(err)), RX_CLI_USAGE);
    ck_assert_msg(strstr(err, bad[_i].needle), "message '%s' does not name '%s'", err,
                  bad[_i].needle);
    ck_assert_ptr_null(strchr(err, '\n')); /* one line */
    rx_cli_free(&cli);
}
END_TEST

START_TEST(list_options)
{
    char *argv[] = {"reencode",
                    "list",
                    "--ext",
                    "mp4,MKV",
                    "-m",
                    "Title?",
                    "one",
                    "--match=Audio;SamplingRate!=48000",
                    "--all",
                    "--follow-symlinks",
                    "--one-file-system",
                    "--json",
                    "two",
                    "--",
                    "--three"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_LIST);
    ck_assert_str_eq(cli.extensions, "mp4,MKV");
    ck_assert_uint_eq(cli.n_matches, 2);
    ck_assert_str_eq(cli.matches[0], "Title?");
    ck_assert_str_eq(cli.matches[1], "Audio;SamplingRate!=48000");
    ck_assert_uint_eq(cli.n_roots, 3);
    ck_assert_str_eq(cli.roots[0], "one");
    ck_assert_str_eq(cli.roots[1], "two");
    ck_assert_str_eq(cli.roots[2], "--three");
    ck_assert(cli.all && cli.follow_symlinks && cli.one_file_system && cli.json);
    rx_cli_free(&cli);
    ck_assert_ptr_null(cli.roots);
}
END_TEST

START_TEST(run_dry_run_is_the_listing)
{
    char *argv[] = {"reencode", "run", "-n", "--crf", "40", "dir"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_LIST);
    ck_assert(cli.dry_run);
    ck_assert_int_eq(cli.settings.crf, 40);
    ck_assert_uint_eq(cli.n_roots, 1);
    rx_cli_free(&cli);
}
END_TEST

START_TEST(run_options)
{
    char *argv[] = {"reencode",
                    "run",
                    "-j",
                    "3",
                    "--threads",
                    "2",
                    "--journal",
                    "j.log",
                    "--wait",
                    "--retry-failed",
                    "--originals",
                    "delete",
                    "--max-size-ratio",
                    "0.5",
                    "--output-dir",
                    "out",
                    "--accept-truncated",
                    "--log",
                    "l.txt",
                    "--stats",
                    "s.json",
                    "dir"};
    char *st[] = {"reencode", "status", "--json", "dir"};
    char *rep[] = {"reencode", "journal", "repair", "--journal", "x"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_RUN);
    ck_assert_int_eq(cli.jobs, 3);
    ck_assert_int_eq(cli.settings.threads, 2);
    ck_assert_str_eq(cli.journal, "j.log");
    ck_assert(cli.wait_lock && cli.retry_failed && cli.accept_truncated);
    ck_assert_int_eq(cli.originals, 2);
    ck_assert(cli.max_size_ratio == 0.5);
    ck_assert_str_eq(cli.output_dir, "out");
    ck_assert_str_eq(cli.log_path, "l.txt");
    ck_assert_str_eq(cli.stats_path, "s.json");
    ck_assert_str_eq(cli.roots[0], "dir");
    rx_cli_free(&cli);
    ck_assert_int_eq(rx_cli_parse(ARGC(st), st, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_STATUS);
    ck_assert(cli.json);
    rx_cli_free(&cli);
    ck_assert_int_eq(rx_cli_parse(ARGC(rep), rep, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_JOURNAL_REPAIR);
    ck_assert_str_eq(cli.journal, "x");
    rx_cli_free(&cli);
}
END_TEST

/* A message quotes what the person typed; control characters in it must not
 * split the one line or reach the terminal as escape sequences. */
START_TEST(usage_messages_stay_one_clean_line)
{
    char *argv[] = {"reencode", "list", "--bogus\n\033[2Jx", "dir"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_USAGE);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_ptr_null(strchr(err, '\033'));
    ck_assert_ptr_nonnull(strstr(err, "--bogus"));
    rx_cli_free(&cli);
}
END_TEST

START_TEST(no_command_is_usage_error)
{
    char *argv[] = {"reencode"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(1, argv, &cli, err, sizeof(err)), RX_CLI_USAGE);
    ck_assert_ptr_nonnull(strstr(err, "--help"));
    rx_cli_free(&cli);
}
END_TEST

/* All pieces of a command's help, joined. */
static const char *help(RxCommand cmd)
{
    static char buf[32768];
    size_t n = 0;

    buf[0] = '\0';
    for (const char *const *h = rx_cli_help(cmd); *h; h++) {
        size_t k = strlen(*h);
        ck_assert_uint_lt(n + k, sizeof(buf));
        memcpy(buf + n, *h, k + 1);
        n += k;
    }
    return buf;
}

START_TEST(help_and_version)
{
    char *h1[] = {"reencode", "--help"};
    char *h2[] = {"reencode", "encode", "--crf", "20", "--help"};
    char *v[] = {"reencode", "--version"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(2, h1, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_HELP);
    ck_assert_int_eq(cli.help_for, RX_CMD_NONE);
    rx_cli_free(&cli);
    ck_assert_int_eq(rx_cli_parse(5, h2, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_HELP);
    ck_assert_int_eq(cli.help_for, RX_CMD_ENCODE);
    rx_cli_free(&cli);
    ck_assert_int_eq(rx_cli_parse(2, v, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_VERSION);
    /* The help teaches: it documents every option the parser accepts. */
    ck_assert_ptr_nonnull(strstr(help(RX_CMD_ENCODE), "--keyint"));
    ck_assert_ptr_nonnull(strstr(help(RX_CMD_ENCODE), "--opus-application"));
    ck_assert_ptr_nonnull(strstr(help(RX_CMD_NONE), "Exit codes"));
    ck_assert_ptr_nonnull(strstr(help(RX_CMD_LIST), "--match"));
    ck_assert_ptr_nonnull(strstr(help(RX_CMD_LIST), "Title~=Chrome"));
    ck_assert_ptr_nonnull(strstr(help(RX_CMD_LIST), "200 kb/s")); /* estimate basis */
    rx_cli_free(&cli);
}
END_TEST

START_TEST(bitrates)
{
    int64_t v;

    ck_assert_int_eq(rx_cli_parse_bitrate("32k", &v), 0);
    ck_assert_int_eq(v, 32000);
    ck_assert_int_eq(rx_cli_parse_bitrate("1.5M", &v), 0);
    ck_assert_int_eq(v, 1500000);
    ck_assert_int_eq(rx_cli_parse_bitrate("64000", &v), 0);
    ck_assert_int_eq(v, 64000);
    ck_assert_int_lt(rx_cli_parse_bitrate("k", &v), 0);
    ck_assert_int_lt(rx_cli_parse_bitrate("100", &v), 0);
    ck_assert_int_lt(rx_cli_parse_bitrate("32kk", &v), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, encode_with_every_option);
    tcase_add_test(tc, defaults_without_options);
    tcase_add_test(tc, double_dash_allows_leading_dash_names);
    tcase_add_loop_test(tc, bad_command_lines_are_usage_errors, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, list_options);
    tcase_add_test(tc, run_dry_run_is_the_listing);
    tcase_add_test(tc, run_options);
    tcase_add_test(tc, usage_messages_stay_one_clean_line);
    tcase_add_test(tc, no_command_is_usage_error);
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, bitrates);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
