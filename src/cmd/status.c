/*
 * status.c - `reencode status`, `reencode journal repair` and
 * `reencode verify`: read what a run recorded.
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
int rx_cmd_status(const RxCli *cli)
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

int rx_cmd_journal_repair(const RxCli *cli)
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

int rx_cmd_verify(const RxCli *cli)
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
