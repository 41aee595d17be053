/*
 * main.c - the reencode command: parse, dispatch to a command (src/cmd/,
 * cmd.h), exit. The only file with main() and the only place that exits.
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

static int cmd_help(const RxCli *cli)
{
    if (cli->help_format)
        return print_helpdoc(cli->help_format);
    for (const char *const *h = rx_cli_help(cli->help_for); *h; h++)
        fputs(*h, stdout);
    return RX_EXIT_OK;
}

static int cmd_version(void)
{
    print_version();
    return RX_EXIT_OK;
}

/* The commands, by the parser's RxCommand (src/cmd/, cmd.h). */
static int (*const commands[])(const RxCli *cli) = {
    [RX_CMD_ENCODE] = rx_cmd_encode, [RX_CMD_LIST] = rx_cmd_list,
    [RX_CMD_RUN] = rx_cmd_run,       [RX_CMD_WATCH] = rx_cmd_watch,
    [RX_CMD_STATUS] = rx_cmd_status, [RX_CMD_JOURNAL_REPAIR] = rx_cmd_journal_repair,
    [RX_CMD_VERIFY] = rx_cmd_verify,
};

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

    if (cli.cmd == RX_CMD_HELP)
        rc = cmd_help(&cli);
    else if (cli.cmd == RX_CMD_VERSION)
        rc = cmd_version();
    else if ((size_t)cli.cmd < sizeof(commands) / sizeof(commands[0]) && commands[cli.cmd])
        rc = commands[cli.cmd](&cli);
    rx_cli_free(&cli);
    return rc;
}
