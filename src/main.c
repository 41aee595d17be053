/*
 * main.c - the reencode command: the only file with main() and the only
 * place that exits or installs signal handlers.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>

#include "reencode/cli.h"
#include "reencode/filter.h"
#include "reencode/find.h"
#include "reencode/listing.h"
#include "reencode/log.h"
#include "reencode/plan.h"
#include "reencode/text.h"
#include "reencode/transcode.h"
#include "version.h"

#define EXIT_FAILED 1
#define EXIT_USAGE  2

/* The running job, for the signal handler; the only global of the program. */
static RxTranscode *volatile running_job;
static volatile sig_atomic_t caught_signal;

static void on_signal(int sig)
{
    RxTranscode *t = running_job;

    caught_signal = sig;
    if (t)
        rx_transcode_cancel(t); /* one atomic store: async-signal-safe */
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

typedef struct Meter {
    int enabled;
    double last; /* monotonic seconds of the last redraw */
    double start;
    int drawn; /* a line is on screen and needs erasing */
} Meter;

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line, redrawn in place at most 4 times a second. */
static void on_progress(void *opaque, const RxProgress *p)
{
    Meter *m = opaque;
    double now = mono_now(), el, speed;
    char line[160];
    int n;

    if (!m->enabled || now - m->last < 0.25)
        return;
    m->last = now;
    el = now - m->start;
    speed = el > 0 ? (double)p->media_us / 1e6 / el : 0;
    if (p->total_us > 0)
        n = snprintf(line, sizeof(line),
                     "\r%6.1f%%  %7.1f/%.1f s  %5.1f fps  %4.2fx  %7.2f MiB\033[K",
                     100.0 * (double)p->media_us / (double)p->total_us, p->media_us / 1e6,
                     p->total_us / 1e6, el > 0 ? p->frames / el : 0, speed, p->bytes / 1048576.0);
    else
        n = snprintf(line, sizeof(line), "\r%7.1f s  %5.1f fps  %4.2fx  %7.2f MiB\033[K",
                     p->media_us / 1e6, el > 0 ? p->frames / el : 0, speed, p->bytes / 1048576.0);
    if (n > 0 && write(STDERR_FILENO, line, (size_t)n) > 0)
        m->drawn = 1;
}

static void meter_erase(Meter *m)
{
    static const char erase[] = "\r\033[K";

    if (m->drawn && write(STDERR_FILENO, erase, sizeof(erase) - 1) < 0)
        m->drawn = 0;
    m->drawn = 0;
}

static int cmd_encode(const RxCli *cli)
{
    RxTranscode *t = NULL;
    RxResult res;
    Meter meter = {0};
    char why[128];
    int ret;

    ret = rx_transcode_new(&t, cli->input, cli->output, &cli->settings);
    if (ret < 0) {
        rx_error("cannot encode '%s': %s", cli->input,
                 ret == AVERROR(EINVAL) ? "output would replace the input (give -o OUTPUT)"
                                        : rx_strerror(ret, why, sizeof(why)));
        return ret == AVERROR(EINVAL) ? EXIT_USAGE : EXIT_FAILED;
    }
    meter.enabled = cli->progress == 1 || (cli->progress == -1 && isatty(STDERR_FILENO));
    meter.start = mono_now();
    rx_transcode_set_progress(t, on_progress, &meter);

    running_job = t;
    install_signals();
    ret = rx_transcode_run(t, &res);
    running_job = NULL;
    meter_erase(&meter);

    if (ret == RX_ERR_CANCELLED) {
        rx_error("interrupted: '%s' not written", rx_transcode_output(t));
        rx_transcode_free(&t);
        return caught_signal == SIGTERM ? 143 : 130;
    }
    if (ret < 0) {
        rx_error("%s", res.error);
        rx_transcode_free(&t);
        return EXIT_FAILED;
    }
    rx_info("%s: %.1f s, %lld frames, %d audio track%s, %.2f MiB -> %.2f MiB (%.1fx) in %.1f s",
            rx_transcode_output(t), res.video_duration_us / 1e6, (long long)res.video_frames,
            res.audio_tracks, res.audio_tracks == 1 ? "" : "s", res.in_bytes / 1048576.0,
            res.out_bytes / 1048576.0,
            res.out_bytes > 0 ? (double)res.in_bytes / (double)res.out_bytes : 0.0,
            res.wall_seconds);
    if (res.decode_errors)
        rx_warn("'%s': %lld damaged packets skipped", cli->input, (long long)res.decode_errors);
    /* A recording cut short (Game Bar killed mid-write) decodes shorter
     * than its header says: say so, the output is complete for what exists. */
    if (res.in_duration_us > 0 && res.video_duration_us + 1000000 < res.in_duration_us)
        rx_warn("'%s' declares %.1f s but only %.1f s could be decoded", cli->input,
                res.in_duration_us / 1e6, res.video_duration_us / 1e6);
    rx_transcode_free(&t);
    return 0;
}

/* Print a malformed --match with a caret under the offending character. */
static void report_filter_error(const RxCli *cli, const RxFilterError *fe)
{
    AVBPrint bp;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(&bp, "bad --match expression: %s\n  ", fe->message);
    rx_text_human(&bp, fe->index < cli->n_matches ? cli->matches[fe->index] : "");
    av_bprintf(&bp, "\n  %*s^", (int)fe->column, "");
    rx_error("%s", bp.str);
    av_bprint_finalize(&bp, NULL);
}

static void on_scan_warning(void *opaque, const char *path, int err)
{
    char why[128];
    AVBPrint bp;

    (void)opaque;
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_text_human(&bp, path);
    rx_warn("cannot read '%s': %s", bp.str, rx_probe_strerror(err, why, sizeof(why)));
    av_bprint_finalize(&bp, NULL);
}

static void on_find_progress(void *opaque, size_t found, size_t probed)
{
    Meter *m = opaque;
    double now = mono_now();
    char line[96];
    int n;

    if (!m->enabled || now - m->last < 0.25)
        return;
    m->last = now;
    n = snprintf(line, sizeof(line), "\rprobing %zu/%zu files\033[K", probed, found);
    if (n > 0 && write(STDERR_FILENO, line, (size_t)n) > 0)
        m->drawn = 1;
}

/* Any root we can open as a directory? Otherwise there is nothing to scan. */
static int any_root_readable(const RxCli *cli)
{
    for (size_t i = 0; i < cli->n_roots; i++)
        if (access(cli->roots[i], R_OK | X_OK) == 0)
            return 1;
    return 0;
}

static int cmd_list(const RxCli *cli)
{
    RxFilter *filter = NULL;
    RxFilterError fe;
    RxFindOptions fo;
    RxFind *found = NULL;
    RxListTotals totals = {0};
    Meter meter = {0};
    AVBPrint bp;
    char why[128];
    int ret;

    ret =
        rx_filter_compile(&filter, cli->matches, cli->n_matches, cli->all ? RX_FILTER_ALL : 0, &fe);
    if (ret == -EINVAL) {
        report_filter_error(cli, &fe);
        return EXIT_USAGE;
    }
    if (ret < 0) {
        rx_error("cannot compile --match: %s", rx_strerror(ret, why, sizeof(why)));
        return EXIT_FAILED;
    }
    if (!any_root_readable(cli)) {
        for (size_t i = 0; i < cli->n_roots; i++)
            on_scan_warning(NULL, cli->roots[i], -errno);
        rx_error("nothing could be scanned");
        rx_filter_free(&filter);
        return EXIT_FAILED;
    }

    rx_find_options_default(&fo);
    fo.scan.extensions = cli->extensions;
    fo.scan.follow_symlinks = cli->follow_symlinks;
    fo.scan.one_file_system = cli->one_file_system;
    fo.scan.on_warn = on_scan_warning;
    fo.probe.extra = rx_filter_fields(filter, &fo.probe.n_extra);
    meter.enabled = cli->progress == 1 || (cli->progress == -1 && isatty(STDERR_FILENO));
    fo.progress = on_find_progress;
    fo.progress_opaque = &meter;
    ret = rx_find_run(&found, cli->roots, cli->n_roots, &fo);
    meter_erase(&meter);
    if (ret < 0) {
        rx_error("cannot scan: %s", rx_strerror(ret, why, sizeof(why)));
        rx_filter_free(&filter);
        return EXIT_FAILED;
    }

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    if (!cli->json)
        rx_list_header(&bp);
    for (size_t i = 0; i < rx_find_count(found); i++) {
        const RxFound *f = rx_find_get(found, i);
        RxDecision d;
        rx_plan_decide(f, filter, &d);
        rx_list_file(&bp, f, &d, cli->json);
        rx_list_count(&totals, f, &d);
        if (bp.len > 65536) { /* stream long listings */
            fwrite(bp.str, 1, bp.len, stdout);
            av_bprint_clear(&bp);
        }
    }
    totals.warnings = rx_find_warnings(found);
    rx_list_totals(&bp, &totals, cli->json);
    fwrite(bp.str, 1, bp.len, stdout);
    av_bprint_finalize(&bp, NULL);
    ret = fflush(stdout) == 0 ? 0 : EXIT_FAILED;
    rx_find_free(&found);
    rx_filter_free(&filter);
    return ret;
}

static void print_version(void)
{
    unsigned c = avcodec_version(), f = avformat_version(), u = avutil_version();

    printf("reencode %s\n", RX_VERSION);
    printf("libavcodec %u.%u.%u, libavformat %u.%u.%u, libavutil %u.%u.%u\n", c >> 16,
           (c >> 8) & 0xff, c & 0xff, f >> 16, (f >> 8) & 0xff, f & 0xff, u >> 16, (u >> 8) & 0xff,
           u & 0xff);
    printf("Dual-licensed under MIT or Apache-2.0.\n");
}

int main(int argc, char **argv)
{
    RxCli cli;
    char err[512];

    int rc = EXIT_USAGE;

    /* Before any thread: a UTF-8 locale for file names (libmediainfo needs
     * it for non-ASCII names) and MediaInfo's char set. */
    rx_probe_init();

    if (rx_cli_parse(argc, argv, &cli, err, sizeof(err)) != RX_CLI_OK) {
        rx_log_init(RX_LOG_ERROR);
        rx_error("%s", err);
        rx_cli_free(&cli);
        return EXIT_USAGE;
    }
    rx_log_init(cli.log_level);

    switch (cli.cmd) {
    case RX_CMD_HELP:
        fputs(rx_cli_help(cli.help_for), stdout);
        rc = 0;
        break;
    case RX_CMD_VERSION:
        print_version();
        rc = 0;
        break;
    case RX_CMD_ENCODE:
        rc = cmd_encode(&cli);
        break;
    case RX_CMD_LIST:
        rc = cmd_list(&cli);
        break;
    case RX_CMD_RUN:
    case RX_CMD_NONE:
        break;
    }
    rx_cli_free(&cli);
    return rc;
}
