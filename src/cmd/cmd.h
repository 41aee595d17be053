/*
 * cmd.h - the commands main() dispatches to, one file each in src/cmd/:
 * encode.c, list.c, run.c (run and watch), status.c (status, journal
 * repair, verify). Each takes the parsed command line and returns the
 * process's exit code (core/exitcode.h); none exits.
 */
#ifndef RX_CMD_H
#define RX_CMD_H

#include "cli/cli.h"
#include "reencode/manifest.h"

int rx_cmd_encode(const RxCli *cli);
int rx_cmd_list(const RxCli *cli);
int rx_cmd_run(const RxCli *cli);
int rx_cmd_watch(const RxCli *cli);
int rx_cmd_status(const RxCli *cli);
int rx_cmd_journal_repair(const RxCli *cli);
int rx_cmd_verify(const RxCli *cli);

/* Shared by the commands (common.c). */

/* The manifest of --from-csv / --from-list into *m (NULL without one).
 * Returns 0 or the exit code. */
int rx_cmd_read_manifest(const RxCli *cli, RxManifest **m);

#endif
