/*
 * supervise.h - run the work in a worker process and start a new one when a
 * crash kills it.
 *
 * Encodes run in-process, so a fault in a codec library ends the process
 * that ran them. A supervisor keeps the promise that a run ends by itself:
 * it forks a worker, which does the whole work in-process exactly as
 * without it (no exec, no other program), and waits. A worker that exits
 * ends the supervisor with the worker's exit code. A worker that dies on a
 * fatal signal (crash.h: SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL) is
 * replaced by a new one, which resumes from the journal and its crash
 * records, after one line: "worker died on SIGSEGV while encoding 'x.mp4';
 * resuming". Restarts are bounded: a crash that blames no file (none was
 * being encoded) twice in a row ends the supervisor with 128 + the signal.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP sent to the supervisor are passed on
 * to the worker, which keeps its meaning of them (the first Ctrl-C drains,
 * a second or TERM/HUP cancels); those the terminal sends to the whole
 * process group reach the worker by themselves and are not passed twice.
 * After one of them no new worker is started. The worker dies with the
 * supervisor (PR_SET_PDEATHSIG, and a check that its parent is still the
 * one that forked it).
 *
 * Call it before any thread exists, and before libav* holds any state:
 * each worker is a copy of the process at that moment.
 *
 * Global state: the worker's pid and the stop signal, for the signal
 * handlers (a handler gets no argument).
 */
#ifndef RX_SUPERVISE_H
#define RX_SUPERVISE_H

#include "journal/crash.h"

/*
 * Fork workers sharing the crash area a until one ends the work. Returns 0
 * in a worker (the caller does the work and exits with its code), and 1 in
 * the supervisor once the work is over, with *code the exit code to end
 * with. A negative errno when no worker could be started at all (the caller
 * may do the work itself).
 */
int rx_supervise(RxCrashArea *a, int *code);

#endif
