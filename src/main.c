/*
 * main.c - the reencode command: the only file with main() and the only
 * place that exits or installs signal handlers.
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

/* encode's line is the reporter's one-slot meter (progress.h). */
static void on_progress(void *opaque, const RxProgress *p)
{
    rx_reporter_progress(opaque, 0, p);
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
    AVBPrint bp;

    (void)opaque;
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_scan_warning(&bp, path, err);
    rx_warn("%s", bp.str);
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

/* The manifest of --from-csv / --from-list into *m (NULL without one).
 * Returns 0 or the exit code. */
static int read_manifest(const RxCli *cli, RxManifest **m)
{
    RxManifestSpec spec = {RX_MANIFEST_CSV, cli->from_csv, cli->column, cli->id_column};
    char err[1024];

    *m = NULL;
    if (!cli->from_csv && !cli->from_list)
        return 0;
    if (cli->from_list) {
        spec.kind = cli->nul ? RX_MANIFEST_LIST0 : RX_MANIFEST_LIST;
        spec.file = cli->from_list;
    }
    if (rx_manifest_read(m, &spec, err, sizeof(err)) < 0) {
        rx_error("%s", err);
        return RX_EXIT_USAGE;
    }
    return 0;
}

static void on_not_taken(void *opaque, const char *path, int err)
{
    AVBPrint bp;

    (void)opaque;
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_AUTOMATIC);
    rx_text_human(&bp, path);
    rx_warn("'%s' not taken: %s", bp.str, rx_scan_why(err));
    av_bprint_finalize(&bp, NULL);
}

static int cmd_list(const RxCli *cli)
{
    RxFilter *filter = NULL;
    RxFilterError fe;
    RxFindOptions fo;
    RxFind *found = NULL;
    RxListTotals totals = {0};
    RxManifest *m = NULL;
    Meter meter = {0};
    AVBPrint bp;
    char why[128];
    int ret, named_failed = 0;

    if ((ret = read_manifest(cli, &m)) != 0)
        return ret;
    ret =
        rx_filter_compile(&filter, cli->matches, cli->n_matches, cli->all ? RX_FILTER_ALL : 0, &fe);
    if (ret == AVERROR(EINVAL)) {
        report_filter_error(cli, &fe);
        rx_manifest_free(&m);
        return RX_EXIT_USAGE;
    }
    if (ret < 0) {
        rx_error("cannot compile --match: %s", rx_strerror(ret, why, sizeof(why)));
        rx_manifest_free(&m);
        return RX_EXIT_FAILED;
    }
    if (!m && !any_root_readable(cli)) {
        for (size_t i = 0; i < cli->n_roots; i++)
            on_scan_warning(NULL, cli->roots[i], AVERROR(errno));
        rx_error("nothing could be scanned");
        rx_filter_free(&filter);
        return RX_EXIT_FAILED;
    }

    rx_find_options_default(&fo);
    fo.scan.extensions = cli->extensions;
    fo.scan.follow_symlinks = cli->follow_symlinks;
    fo.scan.one_file_system = cli->one_file_system;
    fo.scan.on_warn = on_scan_warning;
    fo.shard = cli->shard;
    fo.probe.extra = rx_filter_fields(filter, &fo.probe.n_extra);
    meter.enabled = cli->progress == 1 || (cli->progress == -1 && isatty(STDERR_FILENO));
    fo.progress = on_find_progress;
    fo.progress_opaque = &meter;
    if (m) {
        fo.files = rx_manifest_paths(m);
        fo.n_files = rx_manifest_count(m);
        fo.files_base = cli->n_roots ? cli->roots[0] : rx_manifest_base(m);
        fo.scan.on_not_taken = on_not_taken;
    }
    ret = rx_find_run(&found, cli->roots, cli->n_roots, &fo);
    meter_erase(&meter);
    rx_manifest_free(&m);
    if (ret < 0) {
        rx_error("cannot scan: %s", rx_strerror(ret, why, sizeof(why)));
        rx_filter_free(&filter);
        return RX_EXIT_FAILED;
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
        named_failed |= f->entry->err != 0; /* a manifest's file missing: exit 1 */
        if (bp.len > 65536) {               /* stream long listings */
            fwrite(bp.str, 1, bp.len, stdout);
            av_bprint_clear(&bp);
        }
    }
    totals.warnings = rx_find_warnings(found);
    rx_list_totals(&bp, &totals, cli->json);
    fwrite(bp.str, 1, bp.len, stdout);
    av_bprint_finalize(&bp, NULL);
    ret = fflush(stdout) == 0 && !named_failed ? 0 : RX_EXIT_FAILED;
    rx_find_free(&found);
    rx_filter_free(&filter);
    return ret;
}

/* ---- run and watch: signals go to one thread (sigwait), which tells the
 * batch (or the watch). */

typedef struct SignalCtx {
    sigset_t set;
    void (*stop)(void *target, int hard); /* rx_batch_interrupt, rx_watch_stop */
    void *target;
    int last;         /* the last signal received, 0 if none */
    pid_t supervisor; /* the supervisor process (supervise.h), 0 without one */
    pthread_t thread;
} SignalCtx;

/* A SIGINT sent to the whole process group by a program (kill -INT -PGID,
 * timeout -s INT) reaches a supervised worker twice: itself, and passed on
 * by the supervisor. Two from the two sides within 250 ms are one. */
static int same_interrupt(SignalCtx *c, const siginfo_t *si, double *last, int *last_side)
{
    int side = si->si_code == SI_USER && si->si_pid == c->supervisor;
    double now = mono_now();
    int same = *last >= 0 && side != *last_side && now - *last < 0.25;

    *last = same ? -1 : now;
    *last_side = side;
    return same;
}

static void *signal_main(void *opaque)
{
    SignalCtx *c = opaque;
    double last_int = -1;
    int sig, interrupts = 0, side = 0;
    siginfo_t si;

    for (;;) {
        sig = sigwaitinfo(&c->set, &si);
        if (sig < 0)
            continue;
        if (sig == SIGUSR1) /* the batch is over */
            return NULL;
        if (sig == SIGINT && c->supervisor && same_interrupt(c, &si, &last_int, &side))
            continue;
        c->last = sig;
        /* First Ctrl-C: finish what runs. A second, or TERM/HUP (a cluster
         * preempting us, a closed terminal): abort now. */
        c->stop(c->target, sig != SIGINT || ++interrupts > 1);
    }
}

/* Block the signals in every thread but the signal thread: call before any
 * thread starts. */
static void signals_block(SignalCtx *c)
{
    sigemptyset(&c->set);
    sigaddset(&c->set, SIGINT);
    sigaddset(&c->set, SIGTERM);
    sigaddset(&c->set, SIGHUP);
    sigaddset(&c->set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &c->set, NULL);
}

static int signals_start(SignalCtx *c, void (*stop)(void *, int), void *target, pid_t supervisor)
{
    c->stop = stop;
    c->target = target;
    c->supervisor = supervisor;
    if (pthread_create(&c->thread, NULL, signal_main, c)) {
        rx_error("cannot start the signal thread");
        return -1;
    }
    return 0;
}

static void signals_end(SignalCtx *c)
{
    pthread_kill(c->thread, SIGUSR1);
    pthread_join(c->thread, NULL);
}

static void stop_batch(void *target, int hard)
{
    rx_batch_interrupt(target, hard);
}

static void stop_watch(void *target, int hard)
{
    rx_watch_stop(target, hard);
}

static int terminal_width(void)
{
    struct winsize ws;
    const char *cols = getenv("COLUMNS");

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    if (cols && atoi(cols) > 20)
        return atoi(cols);
    return 80;
}

/* "<dir of the journal>/reencode-YYYY-MM-DD.log"; a shard's
 * "reencode-YYYY-MM-DD.K-of-N.log", so no two processes share a log. base:
 * the default journal's directory (the first DIR, or the manifest's). */
static char *default_log_path(const RxCli *cli, const char *base)
{
    char day[32];
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    if (cli->shard.count)
        snprintf(day + strlen(day), sizeof(day) - strlen(day), ".%d-of-%d", cli->shard.index,
                 cli->shard.count);
    if (cli->journal) {
        const char *slash = strrchr(cli->journal, '/');
        if (!slash)
            return av_asprintf("reencode-%s.log", day);
        return av_asprintf("%.*s/reencode-%s.log", (int)(slash - cli->journal), cli->journal, day);
    }
    return av_asprintf("%s/%s/reencode-%s.log", base, RX_JOURNAL_DIR, day);
}

/*
 * The batch options of run and watch from the command line, the reporter's
 * included; *log_path (owned by the caller, av_free) backs o->report.log_path.
 * service: one line per event, never the live terminal block (watch).
 * Returns 0 or AVERROR(ENOMEM).
 */
static int batch_options(const RxCli *cli, RxManifest *m, RxCrashArea *crash, pid_t supervisor,
                         int service, RxBatchOptions *o, char **log_path)
{
    rx_batch_options_default(o);
    o->roots = cli->roots;
    o->n_roots = cli->n_roots;
    o->matches = cli->matches;
    o->n_matches = cli->n_matches;
    o->all = cli->all;
    o->extensions = cli->extensions;
    o->follow_symlinks = cli->follow_symlinks;
    o->one_file_system = cli->one_file_system;
    o->settings = cli->settings;
    o->jobs = cli->jobs; /* 0: the batch sizes the pool from the cores, memory and queue */
    o->journal_path = cli->journal;
    o->shard = cli->shard;
    o->wait_lock = cli->wait_lock;
    o->retry_failed = cli->retry_failed;
    o->originals = (RxOriginals)cli->originals;
    o->max_size_ratio = cli->max_size_ratio;
    o->output_dir = cli->output_dir;
    o->accept_truncated = cli->accept_truncated;
    o->crash = crash;
    o->supervised = supervisor != 0;
    if (m) {
        o->files = rx_manifest_paths(m);
        o->n_files = rx_manifest_count(m);
        o->files_base = rx_manifest_base(m);
    }

    rx_reporter_options_default(&o->report);
    if (cli->json) {
        o->report.mode = RX_REPORT_JSON;
        o->report.fd = STDOUT_FILENO;
    } else if (cli->log_level <= RX_LOG_ERROR) {
        o->report.mode = RX_REPORT_QUIET;
    } else if (!service && (cli->progress == 1 || (cli->progress == -1 && isatty(STDERR_FILENO)))) {
        o->report.mode = RX_REPORT_TTY;
    } else {
        o->report.mode = RX_REPORT_PLAIN;
    }
    o->report.color = o->report.mode == RX_REPORT_TTY;
    o->report.no_color = getenv("NO_COLOR");
    o->report.width = terminal_width();
    *log_path = cli->log_path ? av_strdup(cli->log_path)
                              : default_log_path(cli, cli->n_roots ? cli->roots[0] : o->files_base);
    o->report.log_path = *log_path;
    o->report.stats_path = cli->stats_path;
    return *log_path ? 0 : AVERROR(ENOMEM);
}

/* The exit code of a batch (or watch) that returned ret: a run error's, the
 * signal's, or failed's. */
static int batch_exit(int ret, const char *error, int sig, int failed)
{
    if (ret == AVERROR(EWOULDBLOCK) || ret == AVERROR(EINVAL) || ret < 0)
        rx_error("%s", error);
    if (ret == AVERROR(EWOULDBLOCK))
        return RX_EXIT_LOCKED;
    if (ret == AVERROR(EINVAL))
        return RX_EXIT_USAGE;
    if (ret < 0)
        return RX_EXIT_FAILED;
    if (sig)
        return rx_exit_for_signal(sig);
    return failed ? RX_EXIT_FAILED : 0;
}

/* The batch of `run`, in this process (a worker, or without supervisor). */
static int run_batch(const RxCli *cli, RxManifest *m, RxCrashArea *crash, pid_t supervisor)
{
    RxBatchOptions o;
    RxBatchCounts counts;
    RxBatch *b = NULL;
    SignalCtx sig = {0};
    RxResults *results = NULL;
    char *log_path = NULL, err[1024];
    int ret, rc;

    if ((cli->results && rx_results_new(&results) < 0) ||
        batch_options(cli, m, crash, supervisor, 0, &o, &log_path) < 0) {
        rx_error("cannot start the batch: out of memory");
        rx_results_free(&results);
        av_free(log_path);
        return RX_EXIT_FAILED;
    }
    o.results = m ? results : NULL;
    signals_block(&sig);
    ret = rx_batch_new(&b, &o);
    if (ret < 0 || signals_start(&sig, stop_batch, b, supervisor) < 0) {
        if (ret < 0)
            rx_error("cannot start the batch: out of memory");
        rx_batch_free(&b);
        rx_results_free(&results);
        av_free(log_path);
        return RX_EXIT_FAILED;
    }

    ret = rx_batch_run(b, &counts);

    signals_end(&sig);
    rc = batch_exit(ret, rx_batch_error(b), sig.last, counts.failed != 0);
    /* Also after an interrupt: what was done is known. */
    if (results && ret >= 0 && rx_results_write(results, m, cli->results, err, sizeof(err)) < 0) {
        rx_error("%s", err);
        rc = rc ? rc : RX_EXIT_FAILED;
    }
    rx_batch_free(&b);
    rx_results_free(&results);
    av_free(log_path);
    return rc;
}

/* The watch loop (watch.h), in this process (a worker, or without
 * supervisor). It ends by a signal: its exit code is the signal's. */
static int run_watch(const RxCli *cli, RxManifest *m, RxCrashArea *crash, pid_t supervisor)
{
    RxWatchOptions o;
    RxWatchCounts counts;
    RxWatch *w = NULL;
    SignalCtx sig = {0};
    char *log_path = NULL;
    int ret, rc;

    rx_watch_options_default(&o);
    if (batch_options(cli, m, crash, supervisor, 1, &o.batch, &log_path) < 0) {
        rx_error("cannot start watching: out of memory");
        av_free(log_path);
        return RX_EXIT_FAILED;
    }
    o.settle = cli->settle;
    o.rescan = cli->rescan;
    o.inotify = !cli->rescan_only;
    signals_block(&sig);
    ret = rx_watch_new(&w, &o);
    if (ret < 0 || signals_start(&sig, stop_watch, w, supervisor) < 0) {
        if (ret < 0)
            rx_error("cannot start watching: out of memory");
        rx_watch_free(&w);
        av_free(log_path);
        return RX_EXIT_FAILED;
    }

    ret = rx_watch_run(w, &counts);

    signals_end(&sig);
    rc = batch_exit(ret, rx_watch_error(w), sig.last, counts.failed != 0);
    rx_watch_free(&w);
    av_free(log_path);
    return rc;
}

typedef int (*WorkFn)(const RxCli *cli, RxManifest *m, RxCrashArea *crash, pid_t supervisor);

/*
 * `run` and `watch`: the manifest is read here, once (it may be stdin);
 * then, unless --no-supervisor, this process becomes the supervisor and the
 * work runs in worker processes forked from it (supervise.h), before any
 * thread exists. A worker, or this process without supervisor, records
 * crashes (crash.h).
 */
static int supervised(const RxCli *cli, WorkFn work)
{
    RxCrashArea *crash = NULL;
    RxManifest *m = NULL;
    pid_t supervisor = 0;
    char why[128];
    int ret, rc;

    if ((rc = read_manifest(cli, &m)) != 0)
        return rc;
    ret = rx_crash_area_new(&crash);
    if (ret < 0)
        rx_warn("cannot keep crash records (%s): a crash would blame no file",
                rx_strerror(ret, why, sizeof(why)));
    if (crash && !cli->no_supervisor) {
        pid_t self = getpid();
        ret = rx_supervise(crash, &rc);
        if (ret > 0) { /* the supervisor, once the work is over */
            rx_crash_area_free(&crash);
            rx_manifest_free(&m);
            return rc;
        }
        if (ret < 0)
            rx_warn("cannot start a worker process (%s): encoding in this one",
                    rx_strerror(ret, why, sizeof(why)));
        else
            supervisor = self;
    }
    if (crash && (ret = rx_crash_install(crash)) < 0)
        rx_warn("cannot handle crashes (%s): a crash would blame no file",
                rx_strerror(ret, why, sizeof(why)));
    rx_crash_altstack_push();
    rc = work(cli, m, crash, supervisor);
    rx_crash_altstack_pop();
    rx_crash_area_free(&crash);
    rx_manifest_free(&m);
    return rc;
}

/* ---- status and journal repair */

static char *journal_path_of(const RxCli *cli)
{
    if (cli->journal)
        return av_strdup(cli->journal);
    return rx_journal_default_path(cli->roots[0]);
}

typedef struct Tally {
    size_t files, done, skipped, failed, pending;
    int64_t before, after;
    double spent;
} Tally;

static void tally(Tally *t, const RxJournalEntry *e)
{
    switch (rx_state_status(e->result.state)[0]) {
    case 'd':
        t->done++;
        t->before += e->result.in_bytes;
        t->after += e->result.out_bytes;
        break;
    case 's':
        t->skipped++;
        break;
    case 'f':
        t->failed++;
        break;
    default:
        t->pending++;
    }
    t->files++;
    t->spent += e->result.wall_seconds;
}

/* Status merges every journal of the root: the unsharded one and each
 * shard's (journals.h); with --shard, only the files of that shard. */
static int cmd_status(const RxCli *cli)
{
    RxJournals *set = NULL;
    RxJournalReport rep;
    AVBPrint bp;
    Tally all = {0}, *per = NULL;
    char *path = journal_path_of(cli);
    char bad[4200], why[128];
    int ret;

    if (!path)
        return RX_EXIT_FAILED;
    ret = rx_journals_open(&set, path, NULL, &rep, bad, sizeof(bad));
    if (ret == 0 && !rx_journals_count(set))
        ret = AVERROR(ENOENT);
    if (ret == 0 && (ret = rx_journals_merge(set)) == 0 &&
        !(per = av_calloc(rx_journals_count(set), sizeof(*per))))
        ret = AVERROR(ENOMEM);
    if (ret < 0) {
        if (ret == AVERROR(ENOENT))
            rx_error("no journal at '%s': no run has worked there yet", path);
        else if (ret == AVERROR_INVALIDDATA && rep.corrupt_line)
            rx_error("journal '%s' is damaged at line %ld (%s); see 'reencode journal repair'", bad,
                     rep.corrupt_line, rep.reason);
        else
            rx_error("cannot read journal '%s': %s", bad[0] ? bad : path,
                     rx_strerror(ret, why, sizeof(why)));
        rx_journals_free(&set);
        av_free(path);
        return RX_EXIT_FAILED;
    }
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    for (size_t i = 0; i < rx_journals_files(set); i++) {
        size_t from;
        const RxJournalEntry *e = rx_journals_file(set, i, &from);
        const char *w = rx_state_status(e->result.state);
        if (rx_shard_has(&cli->shard, e->id.rel) == 0)
            continue;
        tally(&all, e);
        tally(&per[from], e);
        if (cli->json) {
            av_bprintf(&bp, "{\"type\":\"file\",");
            rx_json_entry(&bp, e, w, NULL);
            av_bprintf(&bp, ",\"journal\":");
            rx_text_json(&bp, av_basename(rx_journals_path(set, from)));
            av_bprintf(&bp, "}\n");
        } else {
            av_bprintf(&bp, "%-8s %-11s ", w, rx_state_name(e->result.state));
            rx_text_bytes(&bp, e->result.in_bytes);
            av_bprintf(&bp, " -> ");
            rx_text_bytes(&bp, e->result.out_bytes);
            av_bprintf(&bp, "  %6.1f s  ", e->result.wall_seconds);
            if (e->result.ssim > 0)
                av_bprintf(&bp, "SSIM %.4f  ", e->result.ssim);
            rx_text_human(&bp, e->id.rel);
            av_bprintf(&bp, "\n");
            if (e->result.state == RX_STATE_FAILED || e->result.state == RX_STATE_SKIPPED) {
                av_bprintf(&bp, "         ");
                rx_text_human(&bp, e->result.error);
                av_bprintf(&bp, "\n");
            } else if (e->crashes && !strcmp(w, "pending")) {
                av_bprintf(&bp,
                           "         suspect: being encoded at %d crash%s (%s); the next run "
                           "encodes it alone\n",
                           e->crashes, e->crashes == 1 ? "" : "es", e->crash_signals);
            }
        }
    }
    /* Per journal: the files whose latest word it has. Shown when there is
     * more than the one unsharded journal. */
    for (size_t k = 0; k < rx_journals_count(set); k++) {
        const RxShard *sh = rx_journals_shard(set, k);
        const Tally *t = &per[k];
        if (rx_journals_count(set) == 1 && !sh->count)
            break;
        if (cli->json) {
            av_bprintf(&bp, "{\"type\":\"journal\",\"journal\":");
            rx_text_json(&bp, av_basename(rx_journals_path(set, k)));
            if (sh->count)
                av_bprintf(&bp, ",\"shard\":%d,\"shards\":%d", sh->index, sh->count);
            av_bprintf(&bp,
                       ",\"files\":%zu,\"done\":%zu,\"skipped\":%zu,\"failed\":%zu,"
                       "\"pending\":%zu,\"bytes_before\":%lld,\"bytes_after\":%lld,"
                       "\"seconds\":%.1f}\n",
                       t->files, t->done, t->skipped, t->failed, t->pending, (long long)t->before,
                       (long long)t->after, t->spent);
        } else {
            if (!k)
                av_bprintf(&bp, "\n");
            av_bprintf(&bp, "%s: %zu file%s: %zu done, %zu skipped, %zu failed, %zu pending\n",
                       av_basename(rx_journals_path(set, k)), t->files, t->files == 1 ? "" : "s",
                       t->done, t->skipped, t->failed, t->pending);
        }
    }
    if (cli->json) {
        av_bprintf(&bp,
                   "{\"type\":\"totals\",\"files\":%zu,\"done\":%zu,\"skipped\":%zu,\"failed\":%zu,"
                   "\"pending\":%zu,\"bytes_before\":%lld,\"bytes_after\":%lld,\"seconds\":%.1f,"
                   "\"journals\":%zu}\n",
                   all.files, all.done, all.skipped, all.failed, all.pending, (long long)all.before,
                   (long long)all.after, all.spent, rx_journals_count(set));
    } else {
        av_bprintf(&bp, "\n%zu file%s: %zu done, %zu skipped, %zu failed, %zu pending; ", all.files,
                   all.files == 1 ? "" : "s", all.done, all.skipped, all.failed, all.pending);
        rx_text_bytes(&bp, all.before);
        av_bprintf(&bp, " -> ");
        rx_text_bytes(&bp, all.after);
        av_bprintf(&bp, " in %.0f s of encoding\n", all.spent);
    }
    fwrite(bp.str, 1, bp.len, stdout);
    av_bprint_finalize(&bp, NULL);
    av_free(per);
    rx_journals_free(&set);
    av_free(path);
    return all.failed ? RX_EXIT_FAILED : 0;
}

static int cmd_journal_repair(const RxCli *cli)
{
    RxJournalReport rep;
    char *base = journal_path_of(cli);
    char *path = base ? rx_shard_journal_path(base, &cli->shard) : NULL;
    char why[128];
    int ret;

    av_free(base);
    if (!path)
        return RX_EXIT_FAILED;
    ret = rx_journal_repair(path, &rep);
    if (ret == AVERROR(EWOULDBLOCK)) {
        rx_error("'%s' is in use by a running reencode (pid %ld)", path, rep.holder_run);
        av_free(path);
        return RX_EXIT_LOCKED;
    }
    if (ret < 0) {
        rx_error("cannot repair journal '%s': %s", path, rx_strerror(ret, why, sizeof(why)));
        av_free(path);
        return RX_EXIT_FAILED;
    }
    if (rep.dropped)
        rx_info("repaired '%s': kept %ld records, dropped %ld damaged line%s; the original is "
                "kept as '%s'",
                path, rep.records, rep.dropped, rep.dropped == 1 ? "" : "s", rep.backup);
    else
        rx_info("'%s' has no damaged line: nothing to repair", path);
    av_free(path);
    return 0;
}

/* ---- verify: one DIR (its journal) or --journal, else FILEs on their own */

static int cmd_verify(const RxCli *cli)
{
    RxAuditOptions o;
    RxAuditCounts c;
    struct stat st;
    char *journal = NULL, *root = NULL, err[600];
    int dir = cli->n_roots == 1 && stat(cli->roots[0], &st) == 0 && S_ISDIR(st.st_mode), ret;

    rx_audit_options_default(&o);
    if (cli->journal || dir) {
        if (cli->n_roots > 1 || (cli->n_roots && !dir)) {
            rx_error("verify takes one DIR with its journal, or FILEs without one");
            return RX_EXIT_USAGE;
        }
        const char *in_dir;
        journal = journal_path_of(cli);
        if (!journal) {
            rx_error("cannot verify: out of memory");
            return RX_EXIT_FAILED;
        }
        /* The run's DIR: given, or the one holding the journal's .reencode/. */
        in_dir = strstr(journal, "/" RX_JOURNAL_DIR "/");
        if (dir)
            root = av_strdup(cli->roots[0]);
        else if (in_dir)
            root = av_strndup(journal, (size_t)(in_dir - journal));
        if ((dir || in_dir) && !root) {
            rx_error("cannot verify: out of memory");
            av_free(journal);
            return RX_EXIT_FAILED;
        }
    }
    o.journal_path = journal;
    o.root = root;
    o.files = cli->roots;
    o.n_files = cli->n_roots;
    o.mode = cli->verify_mode;
    o.jobs = cli->jobs;
    o.json = cli->json;
    o.progress = cli->progress == 1 || (cli->progress == -1 && isatty(STDERR_FILENO));
    ret = rx_audit_run(&o, &c, err, sizeof(err));
    av_free(journal);
    av_free(root);
    if (ret < 0) {
        rx_error("%s", err);
        return RX_EXIT_FAILED;
    }
    return c.damaged || c.replaced || c.missing ? RX_EXIT_FAILED : 0;
}

static void print_version(void)
{
    AVBPrint bp;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_versions_describe(&bp);
    fputs(bp.str, stdout);
    av_bprint_finalize(&bp, NULL);
    printf("Dual-licensed under MIT or Apache-2.0.\n");
}

/* The man page or a completion script (hidden: for packaging, see helpdoc.h). */
static int print_helpdoc(const char *format)
{
    AVBPrint bp;
    int ok;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_helpdoc_write(&bp, (RxHelpdocFormat)rx_helpdoc_format(format));
    ok = av_bprint_is_complete(&bp) && fputs(bp.str, stdout) >= 0 && fflush(stdout) == 0;
    if (!ok)
        rx_error("cannot write the %s document: %s", format,
                 av_bprint_is_complete(&bp) ? strerror(errno) : "out of memory");
    av_bprint_finalize(&bp, NULL);
    return ok ? 0 : RX_EXIT_FAILED;
}

int main(int argc, char **argv)
{
    RxCli cli;
    char err[512];

    int rc = RX_EXIT_USAGE;

    /* Before any thread: a UTF-8 locale for file names (libmediainfo needs
     * it for non-ASCII names) and MediaInfo's char set. */
    rx_probe_init();

    if (rx_cli_parse(argc, argv, &cli, err, sizeof(err)) != RX_CLI_OK) {
        rx_log_init(RX_LOG_ERROR);
        rx_error("%s", err);
        rx_cli_free(&cli);
        return RX_EXIT_USAGE;
    }
    rx_log_init(cli.log_level);
    if (rx_shard_from_env(&cli.shard, err, sizeof(err)) < 0) { /* --shard auto */
        rx_error("%s", err);
        rx_cli_free(&cli);
        return RX_EXIT_USAGE;
    }

    switch (cli.cmd) {
    case RX_CMD_HELP:
        if (cli.help_format) {
            rc = print_helpdoc(cli.help_format);
            break;
        }
        for (const char *const *h = rx_cli_help(cli.help_for); *h; h++)
            fputs(*h, stdout);
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
        rc = supervised(&cli, run_batch);
        break;
    case RX_CMD_WATCH:
        rc = supervised(&cli, run_watch);
        break;
    case RX_CMD_STATUS:
        rc = cmd_status(&cli);
        break;
    case RX_CMD_JOURNAL_REPAIR:
        rc = cmd_journal_repair(&cli);
        break;
    case RX_CMD_VERIFY:
        rc = cmd_verify(&cli);
        break;
    case RX_CMD_NONE:
        break;
    }
    rx_cli_free(&cli);
    return rc;
}
