/*
 * common.c - what several commands share.
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

/* The manifest of --from-csv / --from-list into *m (NULL without one).
 * Returns 0 or the exit code. */
int rx_cmd_read_manifest(const RxCli *cli, RxManifest **m)
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
