/*
 * encode.c - `reencode encode IN OUT`: one file, no journal, its own meter;
 * SIGINT/SIGTERM cancel the job (the only signal handler of the program:
 * run and watch take signals on a thread, run.c).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/avutil.h>

#include <libavutil/error.h>

#include "reencode/audit.h"
#include "reencode/batch.h"
#include "reencode/filter.h"
#include "reencode/find.h"
#include "reencode/journal.h"
#include "reencode/journals.h"
#include "reencode/log.h"
#include "reencode/manifest.h"
#include "reencode/plan.h"
#include "reencode/transcode.h"
#include "reencode/versions.h"
#include "reencode/watch.h"
#include "batch/supervise.h"
#include "cli/cli.h"
#include "core/exitcode.h"
#include "cli/helpdoc.h"
#include "core/text.h"
#include "find/listing.h"
#include "journal/crash.h"
#include "report/json.h"
#include "report/results.h"
#include "version.h"
#include "cmd/cmd.h"

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

/* encode's line is the reporter's one-slot meter (progress.h). */
static void on_progress(void *opaque, const RxProgress *p)
{
    rx_reporter_progress(opaque, 0, p);
}

int rx_cmd_encode(const RxCli *cli)
{
    RxTranscode *t = NULL;
    RxResult res;
    RxReporter *meter = NULL;
    char why[128];
    int ret;

    const char *in = cli->images ? cli->images : cli->input;

    ret = cli->images ? rx_transcode_new_images(&t, cli->images, cli->output, &cli->settings)
                      : rx_transcode_new(&t, cli->input, cli->output, &cli->settings);
    if (ret < 0) {
        rx_error("cannot encode '%s': %s", in,
                 ret == AVERROR(EINVAL) ? "output would replace the input (give -o OUTPUT)"
                                        : rx_strerror(ret, why, sizeof(why)));
        return ret == AVERROR(EINVAL) ? RX_EXIT_USAGE : RX_EXIT_FAILED;
    }
    if (cli->progress == 1 || (cli->progress == -1 && isatty(STDERR_FILENO))) {
        RxReporterOptions ro;
        rx_reporter_options_default(&ro);
        ro.mode = RX_REPORT_METER;
        /* No meter is no reason not to encode: the line is only shown. */
        if (rx_reporter_new(&meter, &ro) == 0) {
            rx_reporter_start(meter, 0, in, 0, 0);
            rx_transcode_set_progress(t, on_progress, meter);
        }
    }

    running_job = t;
    install_signals();
    ret = rx_transcode_run(t, &res);
    running_job = NULL;
    if (meter)
        rx_reporter_finish(meter, 0, in, &res, NULL); /* erases the line */
    rx_reporter_free(&meter);
    if (res.note[0])
        rx_warn("%s", res.note);

    if (ret == RX_ERR_CANCELLED) {
        rx_error("interrupted: '%s' not written", rx_transcode_output(t));
        rx_transcode_free(&t);
        return rx_exit_for_signal(caught_signal ? caught_signal : SIGINT);
    }
    if (ret < 0) {
        rx_error("%s", res.error);
        rx_transcode_free(&t);
        return RX_EXIT_FAILED;
    }
    rx_info("%s: %.1f s, %lld frames, %d audio track%s, %.2f MiB -> %.2f MiB (%.1fx) in %.1f s",
            rx_transcode_output(t), res.video_duration_us / 1e6, (long long)res.video_frames,
            res.audio_tracks, res.audio_tracks == 1 ? "" : "s", res.in_bytes / 1048576.0,
            res.out_bytes / 1048576.0,
            res.out_bytes > 0 ? (double)res.in_bytes / (double)res.out_bytes : 0.0,
            res.wall_seconds);
    if (res.video_frames_elided)
        rx_info("'%s': %lld duplicate frames not encoded (shown longer instead)", in,
                (long long)res.video_frames_elided);
    if (res.fps_num)
        rx_info("%s: constant %d/%d fps (%.3f): %lld frames repeated, %lld dropped to keep time",
                rx_transcode_output(t), res.fps_num, res.fps_den, (double)res.fps_num / res.fps_den,
                (long long)res.video_frames_repeated, (long long)res.video_frames_dropped);
    if (res.tuned_crf)
        rx_info("'%s': crf %d for --target-ssim %.4f (%d probe encode%s)", cli->input,
                res.tuned_crf, cli->settings.target_ssim, res.tune_probes,
                res.tune_probes == 1 ? "" : "s");
    if (res.ssim > 0)
        rx_info("'%s': SSIM %.4f (lowest frame %.4f), PSNR %.2f dB", rx_transcode_output(t),
                res.ssim, res.ssim_min, res.psnr);
    if (res.ssim > 0 && res.ssim < cli->settings.target_ssim)
        rx_warn("'%s': SSIM %.4f is below --target-ssim %.4f at crf %d; kept (--min-ssim "
                "refuses such outputs)",
                rx_transcode_output(t), res.ssim, cli->settings.target_ssim, res.tuned_crf);
    if (res.decode_errors)
        rx_warn("'%s': %lld damaged packets skipped", in, (long long)res.decode_errors);
    /* A recording cut short (Game Bar killed mid-write) decodes shorter
     * than its header says: say so, the output is complete for what exists. */
    if (res.in_short_us > 1000000)
        rx_warn("'%s' declares %.1f s but only %.1f s could be decoded", in,
                res.in_duration_us / 1e6, res.video_duration_us / 1e6);
    rx_transcode_free(&t);
    return 0;
}
