/*
 * supervise.c - the worker process and its restarts (see supervise.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libavutil/error.h>

#include "reencode/log.h"
#include "batch/supervise.h"
#include "core/exitcode.h"

/* Consecutive crashes that blame no file before the supervisor gives up. */
#define MAX_BLAMELESS 2

/* For the handlers: the worker to pass signals to (0 between workers), and
 * the last stop signal received (0 if none). */
static volatile sig_atomic_t worker;
static volatile sig_atomic_t stop_signal;

static const int passed_on[] = {SIGINT, SIGTERM, SIGHUP};

static void on_stop(int sig, siginfo_t *si, void *uc)
{
    pid_t w = (pid_t)worker;

    (void)uc;
    stop_signal = sig;
    /* The terminal signals the whole foreground group: the worker got this
     * one itself. Anything else (kill, a scheduler) came to us alone. */
    if (w > 0 && si->si_code != SI_KERNEL)
        kill(w, sig);
}

static void set_handlers(int install)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    if (install) {
        sa.sa_sigaction = on_stop;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
    } else {
        sa.sa_handler = SIG_DFL;
    }
    for (size_t i = 0; i < sizeof(passed_on) / sizeof(passed_on[0]); i++)
        sigaction(passed_on[i], &sa, NULL);
}

static void block_stops(int how)
{
    sigset_t set;

    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(passed_on) / sizeof(passed_on[0]); i++)
        sigaddset(&set, passed_on[i]);
    sigprocmask(how, &set, NULL);
}

/* In the new worker: die with the supervisor; keep its signals for the
 * worker's own handling. Returns 0, or -1 when the supervisor is gone. */
static int become_worker(pid_t supervisor)
{
    set_handlers(0);
    /* The stop signals stay blocked: the worker takes them with sigwait
     * (main.c); one already pending waits for it there. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != supervisor)
        return -1;
    return 0;
}

int rx_supervise(RxCrashArea *a, int *code)
{
    pid_t self = getpid();
    int blameless = 0, started = 0;

    *code = 0;
    rx_crash_set_supervised(a);
    set_handlers(1);
    for (;;) {
        char names[1024];
        int status, sig, n;
        pid_t pid, w;

        fflush(NULL); /* nothing buffered is written twice */
        block_stops(SIG_BLOCK);
        pid = fork();
        if (pid == 0) {
            if (become_worker(self) < 0)
                _exit(1);
            return 0;
        }
        if (pid < 0) {
            int ret = AVERROR(errno);
            block_stops(SIG_UNBLOCK);
            if (!started) {
                set_handlers(0);
                return ret;
            }
            rx_error("cannot start a new worker process: %s", strerror(errno));
            *code = 1;
            return 1;
        }
        started++;
        worker = pid;
        block_stops(SIG_UNBLOCK);
        while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
            ;
        worker = 0;
        if (w < 0) {
            rx_error("cannot wait for the worker process: %s", strerror(errno));
            *code = 1;
            return 1;
        }
        if (WIFEXITED(status)) {
            *code = WEXITSTATUS(status);
            return 1;
        }
        sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
        if (!rx_crash_is_fatal(sig)) {
            rx_error("the worker process died on %s; not resumed", rx_crash_signal_name(sig));
            *code = 128 + sig;
            return 1;
        }
        n = rx_crash_after_death(a, sig, names, sizeof(names));
        if (stop_signal) {
            rx_error("worker died on %s%s%s while stopping; not resumed (rerun to resume)",
                     rx_crash_signal_name(sig), n ? " while encoding " : "", names);
            *code = rx_exit_for_signal(stop_signal); /* as the worker would have */
            return 1;
        }
        if (n) {
            blameless = 0;
            rx_warn("worker died on %s while encoding %s; resuming", rx_crash_signal_name(sig),
                    names);
        } else if (++blameless >= MAX_BLAMELESS) {
            rx_error("worker died on %s %d times in a row with no file being encoded; giving up "
                     "(rerun to try again)",
                     rx_crash_signal_name(sig), blameless);
            *code = 128 + sig;
            return 1;
        } else {
            rx_warn("worker died on %s with no file being encoded; resuming",
                    rx_crash_signal_name(sig));
        }
        rx_crash_reset(a, sig);
    }
}
