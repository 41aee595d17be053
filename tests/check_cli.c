/*
 * check_cli.c - the command-line parser: every option reaches the settings,
 * every bad value is a usage error with a message, nothing exits.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "checkrun.h"
#include "cli/cli.h"

/* libsvtav1's calibrated defaults, as docs/benchmarks.md records them. */
#define SVT_CRF    40
#define SVT_PRESET 12

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

/* watch takes run's options and its own. */
START_TEST(watch_options)
{
    char *dflt[] = {"reencode", "watch", "d"};
    char *argv[] = {"reencode", "watch",         "--settle", "2.5",    "--rescan",
                    "0",        "--rescan-only", "-j",       "2",      "--originals",
                    "keep",     "--json",        "--match",  "Title?", "d",
                    "e"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(dflt), dflt, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_WATCH);
    ck_assert_double_eq(cli.settle, 30);
    ck_assert_double_eq(cli.rescan, 300);
    ck_assert_int_eq(cli.rescan_only, 0);
    rx_cli_free(&cli);

    ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_WATCH);
    ck_assert_double_eq(cli.settle, 2.5);
    ck_assert_double_eq(cli.rescan, 0);
    ck_assert_int_eq(cli.rescan_only, 1);
    ck_assert_int_eq(cli.jobs, 2);
    ck_assert_int_eq(cli.originals, 1);
    ck_assert_int_eq(cli.json, 1);
    ck_assert_uint_eq(cli.n_matches, 1);
    ck_assert_uint_eq(cli.n_roots, 2);
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

/* --video-encoder libsvtav1 brings the calibrated crf/preset unless they
 * were given, before or after it. */
/* Keyword options land on the settings' values. */
START_TEST(dedup_and_verify_keywords)
{
    static const struct {
        char *opt, *word; /* argv is char *[] */
        int dedup, verify;
    } cases[] = {
        {"--dedup", "auto", -1, RX_VERIFY_QUICK},   {"--dedup", "on", 1, RX_VERIFY_QUICK},
        {"--dedup", "off", 0, RX_VERIFY_QUICK},     {"--verify", "off", -1, RX_VERIFY_OFF},
        {"--verify", "quick", -1, RX_VERIFY_QUICK}, {"--verify", "full", -1, RX_VERIFY_FULL},
    };
    RxCli cli;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[] = {"reencode", "encode", cases[i].opt, cases[i].word, "in.mp4"};
        ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
        ck_assert_int_eq(cli.settings.dedup, cases[i].dedup);
        ck_assert_int_eq(cli.settings.verify, cases[i].verify);
        rx_cli_free(&cli);
    }
    {
        char *bad[] = {"reencode", "run", "--verify", "partial", "d"};
        ck_assert_int_eq(rx_cli_parse(ARGC(bad), bad, &cli, err, sizeof(err)), RX_CLI_USAGE);
        ck_assert_ptr_nonnull(strstr(err, "'partial'"));
        rx_cli_free(&cli);
    }
}
END_TEST

START_TEST(svtav1_options)
{
    char *dflt[] = {"reencode", "encode", "--video-encoder", "libsvtav1", "in.mp4"};
    char *before[] = {"reencode",
                      "run",
                      "--crf",
                      "30",
                      "--preset",
                      "12",
                      "--video-encoder",
                      "libsvtav1",
                      "--svtav1-params",
                      "tune=0:enable-overlays=1",
                      "--threads",
                      "1",
                      "d"};
    char *after[] = {"reencode", "encode", "--video-encoder=libsvtav1", "--crf=45", "in.mp4"};
    char *back[] = {"reencode",
                    "encode",
                    "--video-encoder=libsvtav1",
                    "--cpu-used=7",
                    "--video-encoder=libaom-av1",
                    "in.mp4"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(dflt), dflt, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_str_eq(cli.settings.video_encoder, "libsvtav1");
    ck_assert_int_eq(cli.settings.crf, SVT_CRF);
    ck_assert_int_eq(cli.settings.preset, SVT_PRESET);
    rx_cli_free(&cli);

    ck_assert_int_eq(rx_cli_parse(ARGC(before), before, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_str_eq(cli.settings.video_encoder, "libsvtav1");
    ck_assert_int_eq(cli.settings.crf, 30);
    ck_assert_int_eq(cli.settings.preset, 12);
    ck_assert_str_eq(cli.settings.svt_params, "tune=0:enable-overlays=1");
    ck_assert_int_eq(cli.settings.threads, 1);
    rx_cli_free(&cli);

    ck_assert_int_eq(rx_cli_parse(ARGC(after), after, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.settings.crf, 45);
    ck_assert_int_eq(cli.settings.preset, SVT_PRESET);
    rx_cli_free(&cli);

    /* The last --video-encoder counts, as for every option. */
    ck_assert_int_eq(rx_cli_parse(ARGC(back), back, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_str_eq(cli.settings.video_encoder, "libaom-av1");
    ck_assert_int_eq(cli.settings.cpu_used, 7);
    ck_assert_int_eq(cli.settings.crf, 32);
    rx_cli_free(&cli);
}
END_TEST

/* The other encoders' options, the audio codec and the container. */
START_TEST(other_encoders_audio_and_container)
{
    char *rav1e[] = {"reencode",        "encode",
                     "--preset",        "6",
                     "--video-encoder", "librav1e",
                     "--crf",           "120",
                     "--rav1e-params",  "tune=Psnr:low_latency=true",
                     "in.mp4"};
    char *vp9[] = {"reencode",
                   "run",
                   "--cpu-used=4",
                   "--vp9-params",
                   "deadline=realtime:aq-mode=3",
                   "--video-encoder",
                   "libvpx-vp9",
                   "--audio-codec",
                   "copy",
                   "--container",
                   "mkv",
                   "d"};
    char *named[] = {"reencode", "encode", "--audio-codec=copy", "-o", "x.webm", "in.mp4"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(rav1e), rav1e, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_str_eq(cli.settings.video_encoder, "librav1e");
    ck_assert_int_eq(cli.settings.preset, 6);
    ck_assert_int_eq(cli.settings.crf, 120);
    ck_assert_str_eq(cli.settings.rav1e_params, "tune=Psnr:low_latency=true");
    ck_assert_int_eq(cli.settings.audio_copy, 0);
    ck_assert_int_eq(cli.settings.container, RX_CONTAINER_AUTO);
    rx_cli_free(&cli);

    ck_assert_int_eq(rx_cli_parse(ARGC(vp9), vp9, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_str_eq(cli.settings.video_encoder, "libvpx-vp9");
    ck_assert_int_eq(cli.settings.cpu_used, 4); /* given before: kept */
    ck_assert_int_eq(cli.settings.crf, 36);
    ck_assert_str_eq(cli.settings.vp9_params, "deadline=realtime:aq-mode=3");
    ck_assert_int_eq(cli.settings.audio_copy, 1);
    ck_assert_int_eq(cli.settings.container, RX_CONTAINER_MKV);
    rx_cli_free(&cli);

    /* An output name ending in .webm is the transcode's to read. */
    ck_assert_int_eq(rx_cli_parse(ARGC(named), named, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.settings.audio_copy, 1);
    ck_assert_int_eq(cli.settings.container, RX_CONTAINER_AUTO);
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
    const char *args[7]; /* NULL-terminated: at most 6 */
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
    /* Encoder choice: unknown names, and options of the other encoder in
     * either order (they would be silently ignored). */
    {{"encode", "--video-encoder", "libx265", "a.mp4"}, "libx265"},
    {{"encode", "--video-encoder", "", "a.mp4"}, "--video-encoder"},
    {{"encode", "--preset", "8", "a.mp4"}, "--preset is a libsvtav1 or librav1e option"},
    {{"run", "--preset=8", "--video-encoder=libaom-av1", "d"}, "--preset"},
    {{"encode", "--svtav1-params", "tune=0", "a.mp4"}, "--svtav1-params"},
    {{"encode", "--video-encoder=libsvtav1", "--cpu-used=3", "a.mp4"}, "--cpu-used"},
    {{"encode", "--aom-params=x=1", "--video-encoder=libsvtav1", "a.mp4"}, "--aom-params"},
    {{"encode", "--video-encoder=libsvtav1", "--usage=good", "a.mp4"}, "--usage"},
    {{"encode", "--video-encoder=libsvtav1", "--crf=0", "a.mp4"}, "--crf 0"},
    {{"encode", "--video-encoder=libsvtav1", "--preset=14", "a.mp4"}, "--preset"},
    {{"encode", "--video-encoder=libsvtav1", "--preset=-1", "a.mp4"}, "--preset"},
    {{"list", "--video-encoder=libsvtav1", "d"}, "--video-encoder"},
    /* The other encoders, audio and container: ranges per encoder, options
     * of another encoder, raw options their encoder does not take. */
    {{"encode", "--preset=8", "--video-encoder=libvpx-vp9", "a.mp4"}, "--preset"},
    {{"encode", "--video-encoder=librav1e", "--cpu-used=3", "a.mp4"},
     "--cpu-used is a libaom-av1 or libvpx-vp9 option"},
    {{"encode", "--video-encoder=librav1e", "--aom-params=x=1", "a.mp4"}, "--aom-params"},
    {{"encode", "--vp9-params=aq-mode=3", "a.mp4"}, "--vp9-params is a libvpx-vp9 option"},
    {{"run", "--rav1e-params=speed=3", "--video-encoder=libvpx-vp9", "d"}, "--rav1e-params"},
    {{"encode", "--video-encoder=libvpx-vp9", "--crf=64", "a.mp4"}, "0 to 63 with libvpx-vp9"},
    {{"encode", "--video-encoder=librav1e", "--crf=256", "a.mp4"}, "--crf"},
    {{"encode", "--video-encoder=librav1e", "--preset=11", "a.mp4"}, "0 to 10 with librav1e"},
    {{"encode", "--video-encoder=librav1e", "--rav1e-params=speeed=3", "a.mp4"}, "speeed=3"},
    {{"encode", "--video-encoder=libvpx-vp9", "--vp9-params=no-such=1", "a.mp4"}, "no-such"},
    {{"encode", "--video-encoder=libvpx-vp9", "--vp9-params=:=:", "a.mp4"}, "--vp9-params"},
    {{"encode", "--audio-codec", "aac", "a.mp4"}, "aac"},
    {{"encode", "--audio-codec=copy", "--audio-bitrate=64k", "a.mp4"}, "--audio-bitrate"},
    {{"run", "--opus-application=audio", "--audio-codec=copy", "d"}, "--opus-application"},
    {{"encode", "--container", "mp4", "a.mp4"}, "mp4"},
    {{"encode", "--container=webm", "-o", "x.mkv", "a.mp4"}, "--container webm"},
    {{"encode", "--container=mkv", "-o", "x.webm", "a.mp4"}, "x.webm"},
    {{"encode", "--audio-codec=copy", "--fps=10", "a.mp4"}, "--audio-codec copy cannot go"},
    /* Constant frame rate: dropped duplicates would break frame numbers. */
    {{"encode", "--cfr", "--dedup", "on", "a.mp4"}, "--dedup on"},
    {{"run", "--dedup=on", "--fps=10", "d"}, "--dedup on"},
    {{"encode", "--fps", "0", "a.mp4"}, "--fps"},
    {{"encode", "--fps", "241", "a.mp4"}, "--fps"},
    {{"encode", "--fps", "-5", "a.mp4"}, "--fps"},
    {{"encode", "--fps", "ten", "a.mp4"}, "'ten'"},
    {{"list", "--cfr", "d"}, "--cfr"},
    /* Manifests: options that only make sense together. */
    {{"run", "--from-csv", "a.csv"}, "--from-csv needs --column"},
    {{"run", "--column", "p", "d"}, "--column goes with --from-csv"},
    {{"list", "--id-column", "i", "d"}, "--id-column goes with --from-csv"},
    {{"run", "-0", "d"}, "-0 goes with --from-list"},
    {{"run", "--from-csv=a", "--column=p", "--from-list=l"}, "not both"},
    {{"run", "--results", "r.json", "d"}, "--results needs --from-csv or --from-list"},
    {{"run", "-n", "--from-list=l", "--results=r"}, "--dry-run"},
    {{"list", "--from-list", "l", "--results", "r"}, "--results"},
    {{"list", "--from-list", ""}, "needs a value"},
    {{"run", "--from-list=l", "--results=r", "--shard=0/2"}, "--results cannot go with --shard"},
    {{"run", "--from-list=l", "--results=r", "--shard=auto"}, "--results cannot go with --shard"},
    {{"list", "--json"}, "needs a DIR, --from-csv FILE or --from-list FILE"},
    {{"run", "--shard", "3/3", "d"}, "--shard 3/3"},
    {{"list", "--shard=1/x", "d"}, "--shard"},
    {{"encode", "--shard", "0/2", "a.mp4"}, "--shard"},
    /* Measured quality: SSIM bounds, and a target that would be ignored. */
    {{"encode", "--min-ssim", "1", "a.mp4"}, "--min-ssim"},
    {{"run", "--target-ssim", "0.3", "d"}, "--target-ssim"},
    {{"run", "--target-ssim", "high", "d"}, "high"},
    {{"encode", "--crf=30", "--target-ssim=0.98", "a.mp4"}, "exclude"},
    {{"list", "--measure", "d"}, "--measure"},
    {{"encode", "--target-ssim", "0.98", "--fps", "10", "a.mp4"}, "--target-ssim cannot go"},
    {{"encode", "--images=x/*.png", "--fps=5", "-o", "o.webm", "--measure"}, "need a source video"},
    {{"watch"}, "watch needs a DIR"},
    {{"watch", "--settle", "0", "d"}, "--settle takes seconds"},
    {{"watch", "--rescan", "-1", "d"}, "--rescan takes seconds"},
    {{"watch", "--dry-run", "d"}, "unknown option '--dry-run' for watch"},
    {{"watch", "--from-csv", "x.csv", "d"}, "unknown option '--from-csv' for watch"},
    {{"run", "--settle", "5", "d"}, "unknown option '--settle' for run"},
};

START_TEST(bad_command_lines_are_usage_errors)
{
    char *argv[9] = {"reencode"};
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

START_TEST(frame_rate_options)
{
    static const struct {
        char *value;
        int num, den;
    } rates[] = {{"10", 10, 1}, {"30000/1001", 30000, 1001}, {"29.97", 2997, 100}, {"0.5", 1, 2}};
    RxCli cli;

    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        char *argv[] = {"reencode", "encode", "--fps", rates[i].value, "in.mp4"};
        ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
        ck_assert_int_eq(cli.settings.cfr, 1);
        ck_assert_int_eq(cli.settings.fps_num, rates[i].num);
        ck_assert_int_eq(cli.settings.fps_den, rates[i].den);
        rx_cli_free(&cli);
    }
    {
        /* --cfr: the source's rate; dedup auto resolves to off. */
        char *argv[] = {"reencode", "run", "--cfr", "d"};
        ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
        ck_assert_int_eq(cli.settings.cfr, 1);
        ck_assert_int_eq(cli.settings.fps_num, 0);
        ck_assert_int_eq(rx_settings_dedup(&cli.settings), 0);
        rx_cli_free(&cli);
    }
    {
        char *argv[] = {"reencode", "encode", "--cfr", "--dedup", "off", "in.mp4"};
        ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
        rx_cli_free(&cli);
    }
}
END_TEST

START_TEST(quality_options)
{
    char *argv[] = {"reencode",        "run",           "--measure",
                    "--min-ssim=0.95", "--target-ssim", "0.98",
                    "--video-encoder", "libsvtav1",     "d"};
    char *none[] = {"reencode", "encode", "a.mp4"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(argv), argv, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.settings.measure, 1);
    ck_assert_double_eq(cli.settings.min_ssim, 0.95);
    ck_assert_double_eq(cli.settings.target_ssim, 0.98);
    rx_cli_free(&cli);
    ck_assert_int_eq(rx_cli_parse(ARGC(none), none, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert(!rx_settings_measures(&cli.settings));
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

START_TEST(shard_option)
{
    char *run[] = {"reencode", "run", "--shard", "1/3", "d"};
    char *list[] = {"reencode", "list", "--shard=auto/4", "d"};
    char *rep[] = {"reencode", "journal", "repair", "--shard", "2/5", "d"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(run), run, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert(cli.shard.index == 1 && cli.shard.count == 3 && !cli.shard.from_env);
    rx_cli_free(&cli);
    ck_assert_int_eq(rx_cli_parse(ARGC(list), list, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert(cli.shard.from_env && cli.shard.count == 4);
    rx_cli_free(&cli);
    ck_assert_int_eq(rx_cli_parse(ARGC(rep), rep, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_JOURNAL_REPAIR);
    ck_assert(cli.shard.index == 2 && cli.shard.count == 5);
    rx_cli_free(&cli);
}
END_TEST

/* A message quotes what the person typed; control characters in it must not
 * split the one line or reach the terminal as escape sequences. */
START_TEST(manifest_options)
{
    char *csv[] = {"reencode",    "run",      "--from-csv", "v.csv",  "--column", "video_path",
                   "--id-column", "video_id", "--results",  "r.json", "d"};
    char *list[] = {"reencode", "list", "-0", "--from-list", "-"};
    RxCli cli;

    ck_assert_int_eq(rx_cli_parse(ARGC(csv), csv, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_RUN);
    ck_assert_str_eq(cli.from_csv, "v.csv");
    ck_assert_str_eq(cli.column, "video_path");
    ck_assert_str_eq(cli.id_column, "video_id");
    ck_assert_str_eq(cli.results, "r.json");
    ck_assert_ptr_null(cli.from_list);
    ck_assert_uint_eq(cli.n_roots, 1);
    rx_cli_free(&cli);

    ck_assert_int_eq(rx_cli_parse(ARGC(list), list, &cli, err, sizeof(err)), RX_CLI_OK);
    ck_assert_int_eq(cli.cmd, RX_CMD_LIST);
    ck_assert_str_eq(cli.from_list, "-");
    ck_assert(cli.nul);
    ck_assert_uint_eq(cli.n_roots, 0);
    rx_cli_free(&cli);
}
END_TEST

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
    /* Both encoders, what each is for, and their own options, in encode and run. */
    for (int k = 0; k < 2; k++) {
        RxCommand c = k ? RX_CMD_RUN : RX_CMD_ENCODE;
        ck_assert_ptr_nonnull(strstr(help(c), "--video-encoder E      libaom-av1 | libsvtav1"));
        ck_assert_ptr_nonnull(strstr(help(c), "faster"));
        ck_assert_ptr_nonnull(strstr(help(c), "--preset N"));
        ck_assert_ptr_nonnull(strstr(help(c), "--svtav1-params"));
        ck_assert_ptr_nonnull(strstr(help(c), "--cpu-used"));
        ck_assert_ptr_nonnull(strstr(help(c), "--dedup MODE"));
        ck_assert_ptr_nonnull(strstr(help(c), "--dedup-threshold N"));
        ck_assert_ptr_nonnull(strstr(help(c), "--verify MODE"));
    }
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
    tcase_add_test(tc, watch_options);
    tcase_add_test(tc, svtav1_options);
    tcase_add_test(tc, dedup_and_verify_keywords);
    tcase_add_test(tc, other_encoders_audio_and_container);
    tcase_add_test(tc, double_dash_allows_leading_dash_names);
    tcase_add_loop_test(tc, bad_command_lines_are_usage_errors, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, frame_rate_options);
    tcase_add_test(tc, list_options);
    tcase_add_test(tc, run_dry_run_is_the_listing);
    tcase_add_test(tc, run_options);
    tcase_add_test(tc, manifest_options);
    tcase_add_test(tc, shard_option);
    tcase_add_test(tc, usage_messages_stay_one_clean_line);
    tcase_add_test(tc, no_command_is_usage_error);
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, bitrates);
    tcase_add_test(tc, quality_options);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
