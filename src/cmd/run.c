/*
 * run.c - `reencode run` and `reencode watch`: batch options from the
 * command line, signals on one thread, the supervisor and its workers.
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
#include "core/clock.h"
#include "core/exitcode.h"
#include "cli/helpdoc.h"
#include "core/text.h"
#include "find/listing.h"
#include "journal/crash.h"
#include "report/json.h"
#include "report/results.h"
#include "version.h"
#include "cmd/cmd.h"

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
    double now = rx_clock_now();
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

    if ((rc = rx_cmd_read_manifest(cli, &m)) != 0)
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

int rx_cmd_run(const RxCli *cli)
{
    return supervised(cli, run_batch);
}

int rx_cmd_watch(const RxCli *cli)
{
    return supervised(cli, run_watch);
}
