/*
 * exitcode.h - the process's exit codes, for main and for the supervisor
 * that exits on the worker's behalf. The table in `reencode --help` and
 * docs/reencode.1 describes the same codes.
 */
#ifndef RX_CORE_EXITCODE_H
#define RX_CORE_EXITCODE_H

#define RX_EXIT_OK     0
#define RX_EXIT_FAILED 1 /* some file failed, or the command could not run */
#define RX_EXIT_USAGE  2 /* bad command line */
#define RX_EXIT_LOCKED 3 /* another run holds the journal */

/* A command a signal stopped exits 128 + its number, as a shell reports a
 * process killed by it: 130 SIGINT, 143 SIGTERM, 129 SIGHUP. */
static inline int rx_exit_for_signal(int sig)
{
    return 128 + sig;
}

#endif
