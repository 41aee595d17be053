/*
 * list.c - `reencode list DIR...`: the candidates the filter picks, as
 * text, --json or --plan.
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

typedef struct Meter {
    int enabled;
    double last; /* monotonic seconds of the last redraw */
    double start;
    int drawn; /* a line is on screen and needs erasing */
} Meter;

static void meter_erase(Meter *m)
{
    static const char erase[] = "\r\033[K";

    if (m->drawn && write(STDERR_FILENO, erase, sizeof(erase) - 1) < 0)
        m->drawn = 0;
    m->drawn = 0;
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
    double now = rx_clock_now();
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

static void on_not_taken(void *opaque, const char *path, int err)
{
    AVBPrint bp;

    (void)opaque;
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_AUTOMATIC);
    rx_text_human(&bp, path);
    rx_warn("'%s' not taken: %s", bp.str, rx_scan_why(err));
    av_bprint_finalize(&bp, NULL);
}

int rx_cmd_list(const RxCli *cli)
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

    if ((ret = rx_cmd_read_manifest(cli, &m)) != 0)
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
