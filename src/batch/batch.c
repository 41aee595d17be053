/*
 * batch.c - `reencode run` (see batch.h).
 *
 * Threads: the caller's thread plans and then waits in rx_pool_run(); the
 * pool's workers each run one file at a time (transcode job + its source
 * thread); the signal thread may call rx_batch_interrupt(). Shared state:
 * the journal (its own mutex), the reporter (its own mutex), the counters
 * and the table of running jobs (b->lock).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/bprint.h>

#include <libavutil/error.h>

#include "reencode/batch.h"
#include "reencode/filter.h"
#include "reencode/find.h"
#include "reencode/journal.h"
#include "reencode/journals.h"
#include "reencode/plan.h"
#include "reencode/transcode.h"
#include "batch/pool.h"
#include "batch/sysinfo.h"
#include "core/clock.h"
#include "core/fsutil.h"
#include "core/text.h"
#include "encoders/encoder.h"
#include "journal/crash.h"
#include "report/results.h"

/* A file failed in this run before this process planned (fresh()). */
typedef struct Fresh {
    const char *path;
    const RxJournalEntry *je;
} Fresh;

typedef struct Task {
    const RxFound *found;
    RxFileId id;
    char *output;       /* final output path */
    int64_t work;       /* estimated CPU ms (estimate_work): the queue's order */
    int64_t media_us;   /* declared duration */
    int only_original;  /* committed by a run that died: only the original is left */
    char *reject;       /* why a selected file cannot be encoded at all, or NULL */
    struct stat before; /* the input when its job started */
    RxBatch *batch;
    int known_crf; /* crf an earlier attempt's --target-ssim search chose, or 0 */
    int alone;     /* a suspect: in flight at an earlier crash, so it runs alone */
} Task;

struct RxBatch {
    RxBatchOptions o;
    char error[1024];
    char *journal_path;
    RxJournal *journal;
    RxJournals *others; /* the other shards' journals, read-only (journals.h) */
    RxFilter *filter;
    RxFind *found;
    RxPool *pool;
    RxReporter *rep;
    Task *tasks;
    size_t n_tasks;
    size_t n_alone; /* tasks 0..n_alone-1 are suspects: each runs alone */

    pthread_mutex_t lock; /* running[], threads[], started, counts */
    RxTranscode *running[RX_BATCH_MAX_JOBS];
    int threads[RX_BATCH_MAX_JOBS]; /* thread budget of the encode in each slot, 0 = idle */
    size_t started;                 /* tasks handed to a worker so far */
    int cores;                      /* rx_sys_cores() at the start */
    double busy_percent;            /* CPU time / (wall x cores) of the run, once finished */
    atomic_int stopping;
    atomic_int cancelling;
    atomic_size_t settled_failed; /* left unprobed by skip_known as failed before */
    atomic_size_t fresh_failed;   /* left unprobed as failed in this run (fresh()) */
    int64_t run_seq;              /* journal sequence number this run began at (fresh()) */
    AVBPrint crash_notes;         /* what folding the crash file decided, for the log */
    Fresh *fresh;                 /* files failed in this run before planning */
    int n_fresh;
    RxBatchCounts counts;
};

void rx_batch_options_default(RxBatchOptions *o)
{
    memset(o, 0, sizeof(*o));
    rx_settings_default(&o->settings);
    o->jobs = 0;
    o->max_size_ratio = RX_BATCH_DEFAULT_SIZE_RATIO;
    o->originals = RX_ORIGINALS_RENAME;
}

int rx_batch_new(RxBatch **out, const RxBatchOptions *o)
{
    RxBatch *b = av_mallocz(sizeof(*b));

    *out = NULL;
    if (!b)
        return AVERROR(ENOMEM);
    b->o = *o;
    if (b->o.jobs < 0)
        b->o.jobs = 0;
    if (b->o.jobs > RX_BATCH_MAX_JOBS)
        b->o.jobs = RX_BATCH_MAX_JOBS;
    pthread_mutex_init(&b->lock, NULL);
    atomic_init(&b->stopping, 0);
    atomic_init(&b->cancelling, 0);
    atomic_init(&b->settled_failed, 0);
    atomic_init(&b->fresh_failed, 0);
    av_bprint_init(&b->crash_notes, 0, AV_BPRINT_SIZE_UNLIMITED);
    *out = b;
    return 0;
}

const char *rx_batch_error(const RxBatch *b)
{
    return b->error;
}

static int set_error(RxBatch *b, int err, const char *fmt, ...) RX_PRINTF(3, 4);

static int set_error(RxBatch *b, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(b->error, sizeof(b->error), fmt, ap);
    va_end(ap);
    return err;
}

/* ---- journal */

/* The directory the default journal lives in, and the one named files'
 * rels are taken from. */
static const char *journal_base(const RxBatch *b)
{
    return b->o.n_roots ? b->o.roots[0] : b->o.files_base;
}

/* The journals of the other shards (any N) and the unsharded one: what
 * they settled is settled here too. Read once, before the walk; they may be
 * being written right now, which only ever tears their last line. */
static int open_others(RxBatch *b, const char *base)
{
    RxJournalReport rep;
    char bad[4200], why[128];
    int ret = rx_journals_open(&b->others, base, &b->o.shard, &rep, bad, sizeof(bad));

    if (ret == AVERROR_INVALIDDATA && rep.corrupt_line)
        return set_error(b, ret,
                         "journal '%s' (another shard's) is damaged at line %ld (%s); run "
                         "'reencode journal repair --journal %s' once no run uses it",
                         bad, rep.corrupt_line, rep.reason, bad);
    if (ret < 0)
        return set_error(b, ret, "cannot read journal '%s': %s", bad,
                         rx_strerror(ret, why, sizeof(why)));
    return 0;
}

/*
 * The journal's crash file: the files that were being encoded when an
 * earlier process died on a fatal signal (crash.h). Folded into the journal
 * before anything is planned, one durable record each, then emptied; a
 * crash while folding costs nothing, as a crash already folded into a
 * file's record is not folded again. What it decided goes to the log once
 * the reporter is up.
 */
static int fold_crashes(RxBatch *b)
{
    RxCrashRecord *recs = NULL;
    RxJournalReport rep;
    size_t n = 0;
    char why[128];
    int ret;

    if (!b->o.crash)
        return 0;
    ret = rx_crash_open(b->o.crash, b->journal_path, &recs, &n, &rep);
    if (ret < 0) {
        rx_reporter_note(b->rep, RX_LOG_WARN,
                         "cannot open '%s.crash': %s; a crash of this run would not be recorded",
                         b->journal_path, rx_strerror(ret, why, sizeof(why)));
        return 0;
    }
    if (rep.dropped)
        rx_reporter_note(
            b->rep, RX_LOG_WARN,
            "'%s.crash': %ld damaged line%s ignored (line %ld: %s), cut short by a crash",
            b->journal_path, rep.dropped, rep.dropped == 1 ? "" : "s", rep.corrupt_line,
            rep.reason);
    for (size_t i = 0; i < n; i++) {
        const RxCrashRecord *c = &recs[i];
        const RxJournalEntry *e = rx_journal_find(b->journal, &c->id);
        RxResult res;
        char *path;
        int failed;

        if (!e || !strcmp(e->crash, c->crash))
            continue; /* not a file of this journal, or folded in before */
        /* Named as the batch names a file in every other line: from its root
         * (a manifest's file: as journalled, absolute or from the base). */
        path = e->id.rel[0] == '/' ? av_strdup(e->id.rel)
                                   : av_asprintf("%s/%s", journal_base(b), e->id.rel);
        failed = rx_crash_judge(e, c, path, &res);
        av_freep(&path);
        ret = rx_journal_crash(b->journal, c, failed ? &res : NULL);
        if (ret < 0) {
            set_error(b, ret, "cannot write journal '%s': %s", b->journal_path,
                      rx_strerror(ret, why, sizeof(why)));
            goto done;
        }
        if (!failed) { /* a failure is reported as one, once planned */
            av_bprintf(&b->crash_notes, "'");
            rx_text_human(&b->crash_notes, e->id.rel);
            av_bprintf(&b->crash_notes,
                       "' was being encoded when reencode crashed (%s%s); it is encoded alone\n",
                       c->signal, c->alone ? "" : ", beside other files");
        }
    }
    ret = rx_crash_clear(b->o.crash);
    if (ret < 0) {
        rx_reporter_note(b->rep, RX_LOG_WARN,
                         "cannot empty '%s.crash': %s; its records are in the journal, and are not "
                         "counted twice",
                         b->journal_path, rx_strerror(ret, why, sizeof(why)));
        ret = 0;
    }
done:
    rx_journal_crashes_free(&recs, n);
    return ret;
}

/* Hand the fold's lines to the reporter (the console and the log). */
static void note_crashes(RxBatch *b)
{
    char *line = b->crash_notes.str, *nl;
    int restarts, sig;

    restarts = rx_crash_restarts(b->o.crash, &sig);
    if (restarts)
        rx_reporter_note(b->rep, RX_LOG_WARN,
                         "resumed after the worker process died on %s (restart %d of this run)",
                         rx_crash_signal_name(sig), restarts);
    if (!av_bprint_is_complete(&b->crash_notes))
        return;
    for (; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        *nl = '\0';
        rx_reporter_note(b->rep, RX_LOG_WARN, "%s", line);
    }
    /* Failed in this run before this worker planned (a crash folded in,
     * or an earlier worker's failure): one line each, counted like any. */
    for (int i = 0; i < b->n_fresh; i++)
        rx_reporter_finish(b->rep, -1, b->fresh[i].path, &b->fresh[i].je->result, NULL);
}

/* The default journal's directory, made before anything else: the log
 * lives there too, and the reporter opens it first (rx_batch_run()). */
static int create_journal_dir(RxBatch *b)
{
    if (b->o.journal_path)
        return 0;
    return rx_journal_default_dir_create(journal_base(b), b->error, sizeof(b->error));
}

static int open_journal(RxBatch *b)
{
    RxJournalReport rep;
    char why[128];
    char *base;
    int ret;

    if (b->o.journal_path)
        base = av_strdup(b->o.journal_path);
    else
        base = rx_journal_default_path(journal_base(b));
    b->journal_path = base ? rx_shard_journal_path(base, &b->o.shard) : NULL;
    ret = b->journal_path ? open_others(b, base) : AVERROR(ENOMEM);
    av_free(base);
    if (ret == AVERROR(ENOMEM))
        return set_error(b, ret, "out of memory");
    if (ret < 0)
        return ret;

    ret = rx_journal_open(&b->journal, b->journal_path,
                          (b->o.wait_lock ? RX_JOURNAL_WAIT : 0) |
                              (b->o.supervised ? RX_JOURNAL_SUPERVISED : 0),
                          &rep);
    if (ret == AVERROR(EWOULDBLOCK))
        return set_error(b, ret,
                         "'%s' is in use by another reencode run (pid %ld on %s, since %s); "
                         "wait for it, or use --wait",
                         b->journal_path, rep.holder_run, rep.holder_host, rep.holder_time);
    if (ret == AVERROR_INVALIDDATA && rep.corrupt_line)
        return set_error(b, ret,
                         "journal '%s' is damaged at line %ld (%s) with valid records after "
                         "it; nothing was guessed. Run 'reencode journal repair --journal "
                         "%s' to keep the valid records",
                         b->journal_path, rep.corrupt_line, rep.reason, b->journal_path);
    if (ret < 0)
        return set_error(b, ret, "cannot open journal '%s': %s", b->journal_path,
                         rx_strerror(ret, why, sizeof(why)));
    if (rep.torn_tail)
        rx_reporter_note(b->rep, RX_LOG_WARN,
                         "journal '%s': last line %ld was cut short (%s), probably by a crash; "
                         "ignored, the records before it are intact",
                         b->journal_path, rep.torn_line, rep.reason);
    /* Failures recorded after this (a crash folded in below, or an earlier
     * worker of the same supervised run) are this run's (fresh()). */
    b->run_seq = rx_crash_run_seq(b->o.crash, rx_journal_seq(b->journal));
    return fold_crashes(b);
}

/* Is the journal's entry about this file? Recorded under the same path, yes.
 * Under another path with the same content: the file was moved there (its
 * old path, and the name a renamed original would have, are both gone), or
 * it is a copy that needs its own output. */
static int same_file(const RxBatch *b, const RxScanEntry *e, const RxJournalEntry *je)
{
    const char *root;
    char *old, *renamed;
    int gone;

    if (!je || !strcmp(je->id.rel, e->rel))
        return je != NULL;
    /* Named files (root past the roots) are relative to the journal's base,
     * or absolute (see rx_scan_files()). */
    root = je->id.rel[0] == '/'     ? ""
           : e->root < b->o.n_roots ? b->o.roots[e->root]
                                    : journal_base(b);
    old = av_asprintf("%s%s%s", root, *root ? "/" : "", je->id.rel);
    renamed = av_asprintf("%s.reencoded", old ? old : "");
    gone = old && renamed && access(old, F_OK) < 0 && access(renamed, F_OK) < 0;
    av_free(old);
    av_free(renamed);
    return gone;
}

typedef struct Lookup {
    const RxBatch *b;
    const RxScanEntry *e;
} Lookup;

static int accept_entry(void *opaque, const RxJournalEntry *je)
{
    const Lookup *l = opaque;
    return same_file(l->b, l->e, je);
}

/* What the journals say of the file e: its own record, or another shard's
 * when that one wins (journals.h: an outcome anywhere settles it). *is_own:
 * the record is this journal's. */
static const RxJournalEntry *lookup(const RxBatch *b, const RxScanEntry *e, const RxFileId *id,
                                    int *is_own)
{
    Lookup l = {b, e};
    const RxJournalEntry *own = rx_journal_find(b->journal, id), *other;

    if (!same_file(b, e, own))
        own = NULL;
    other = rx_journals_find(b->others, id, accept_entry, &l);
    *is_own = !(other && (!own || rx_journals_prefer(other, own)));
    return *is_own ? own : other;
}

/* Did this run fail the file (a crash folded in, or an earlier worker of a
 * supervised run)? Then it counts as this run's failure, and --retry-failed
 * leaves it: retrying it would crash the next worker again, for ever. */
static int fresh(const RxBatch *b, const RxJournalEntry *e, int is_own)
{
    return is_own && e->result.state == RX_STATE_FAILED && e->seq > b->run_seq;
}

/* Files the journal already settled need no probe (find's skip hook, on the
 * probe threads). */
static int settled(const RxBatch *b, const RxJournalEntry *e, int is_own)
{
    if (!e)
        return 0;
    switch (e->result.state) {
    case RX_STATE_DONE:
    case RX_STATE_SKIPPED:
        return 1;
    case RX_STATE_FAILED:
        return !b->o.retry_failed || fresh(b, e, is_own);
    default:
        return 0;
    }
}

static void crashed_part(const RxBatch *b, const RxScanEntry *e, const RxJournalEntry *je);

static int skip_known(void *opaque, const RxFound *f)
{
    RxBatch *b = opaque;
    const RxScanEntry *e = f->entry;
    const RxJournalEntry *je;
    int skip, own;

    if (f->id_err < 0 || !f->id.rel)
        return 0; /* let the probe say what is wrong with it */
    je = lookup(b, e, &f->id, &own);
    skip = settled(b, je, own);
    /* Counted here: plan() only sees "not probed", and would report files
     * that failed before as "already done". */
    if (skip && je->result.state == RX_STATE_FAILED) {
        atomic_fetch_add(fresh(b, je, own) ? &b->fresh_failed : &b->settled_failed, 1);
        crashed_part(b, e, je);
    }
    return skip;
}

/* ---- planning */

static char *output_path(const RxBatch *b, const RxScanEntry *e)
{
    const char *src = b->o.output_dir ? e->rel : e->path;
    const char *slash = strrchr(src, '/');
    const char *dot = strrchr(src, '.');
    size_t stem = dot && (!slash || dot > slash + 1) ? (size_t)(dot - src) : strlen(src);

    const char *ext = rx_container_ext(rx_settings_container(&b->o.settings));

    if (b->o.output_dir)
        return av_asprintf("%s/%.*s%s", b->o.output_dir, (int)stem, src, ext);
    return av_asprintf("%.*s%s", (int)stem, src, ext);
}

/* Do the two paths name one file? */
static int is_same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int64_t probe_int(const RxFound *f, RxStreamKind kind, const char *name)
{
    int64_t v = 0;

    if (f->probe && rx_probe_int(f->probe, kind, 0, name, &v) < 0)
        v = 0;
    return v;
}

/*
 * Single-thread CPU milliseconds a file will take, to order the queue. A
 * libaom realtime encode costs a part that grows with pixels x time (the
 * decode, and an encode of a still screen: 1080p slides ran at 83 fps here)
 * and a part that grows with how much the picture changes, which the
 * recorder's H.264 already measured in bytes (10 Mb/s fractal zoom: 21 fps).
 * Fitted to those figures (shared/bench/REFERENCE.md): 0.17 s per megapixel-
 * second plus 0.86 s per MB of input. With duplicate elision the first part
 * is mostly decoding: a fifth of it.
 */
static int64_t estimate_work(const RxFound *f, int dedup)
{
    double ms = (double)probe_int(f, RX_STREAM_GENERAL, "Duration");
    double px = (double)probe_int(f, RX_STREAM_VIDEO, "Width") *
                (double)probe_int(f, RX_STREAM_VIDEO, "Height");
    double cpu_ms = 0.17e-6 * px * ms * (dedup ? 0.2 : 1.0) + 0.86e-3 * (double)f->entry->size;

    return (int64_t)cpu_ms;
}

static int by_work(const void *pa, const void *pb)
{
    const Task *a = pa, *b = pb;

    if (a->alone != b->alone)
        return a->alone ? -1 : 1;
    if (a->work != b->work)
        return a->work > b->work ? -1 : 1;
    return strcmp(a->found->entry->path, b->found->entry->path);
}

static void unlink_stale_part(const RxBatch *b, const char *output)
{
    char *part = av_asprintf("%s.part", output);
    int fd = part ? open(part, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) : -1, busy;

    /* Only ours: a journal says this output was being written. Unless its
     * writer is alive: after a change of shard count the record can be
     * another shard's that is still encoding it (its .part is flock'ed);
     * the encode then refuses that .part rather than this removing it. */
    busy = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    if (part && !busy && unlink(part) == 0)
        rx_reporter_note(b->rep, RX_LOG_INFO, "removed '%s' left by an interrupted run", part);
    if (fd >= 0)
        close(fd);
    av_free(part);
}

/* A file failed by a crash left its .part behind (the process died under
 * it), and no later run encodes it to remove it: remove it here. */
static void crashed_part(const RxBatch *b, const RxScanEntry *e, const RxJournalEntry *je)
{
    char *output;

    if (je->result.state != RX_STATE_FAILED || !je->crashes)
        return;
    output = output_path(b, e);
    if (output)
        unlink_stale_part(b, output);
    av_free(output);
}

/*
 * A file the plan does not select can still be one the person expects
 * re-encoded: one that cannot be read (a zero-byte file, a recording cut off
 * before its index, not media at all) may well be a recording, and one the
 * filter selects but that has no video stream is a recording reencode cannot
 * handle. Passing over them in silence would let a run end "all done" while
 * recordings were left untouched: they fail instead, with the reason, in the
 * journal and the exit code. --all asks for "every file with video", so
 * there a file without video is simply not selected.
 */
static int must_fail(const RxBatch *b, const RxFound *f, RxDecision *d)
{
    RxFields fields;
    RxFilterMiss miss;

    if (d->verdict == RX_VERDICT_UNREADABLE)
        return 1;
    if (d->verdict != RX_VERDICT_NO_VIDEO || b->o.all)
        return 0;
    fields = rx_probe_fields(f->probe);
    if (!rx_filter_match(b->filter, &fields, &miss))
        return 0;
    snprintf(d->reason, sizeof(d->reason), "it has no video stream (audio only?)");
    return 1;
}

/*
 * Did a run that died commit this file's output? The journal's last word may
 * be "started" (killed between the rename and the "encoded" record) or
 * "encoded" (killed before the original was handled): what decides is the
 * disk. Our outputs get their original's modification time, to the
 * nanosecond, before they are renamed onto their final name, so an output
 * under the expected name with that time is ours and complete. Paths are
 * compared as computed now, never as a run recorded them (that run may have
 * been started from another directory).
 */
static int committed_before(const RxJournalEntry *je, const RxScanEntry *in, const char *output)
{
    struct stat st;

    if (je->result.state != RX_STATE_STARTED && je->result.state != RX_STATE_INTERRUPTED &&
        je->result.state != RX_STATE_ENCODED)
        return 0;
    if (stat(output, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return 0;
    return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == in->mtime_ns;
}

/* What the journal last said of the file named by rel, when that says its
 * output is committed: a file named by a manifest whose original was then
 * renamed or deleted is gone from where the manifest names it. */
static const RxJournalEntry *latest_under(RxJournal *j, const char *rel)
{
    const RxJournalEntry *found = NULL;

    for (size_t i = 0; i < rx_journal_count(j); i++) {
        const RxJournalEntry *e = rx_journal_entry(j, i);
        if (!strcmp(e->id.rel, rel))
            found = e; /* the latest file under that name */
    }
    return found;
}

/* Every journal of the root counts: another shard (or an earlier N) may be
 * the one that committed it and renamed its original. */
static const RxJournalEntry *committed_at(RxBatch *b, const char *rel)
{
    const RxJournalEntry *found = latest_under(b->journal, rel);

    for (size_t k = 0; b->others && k < rx_journals_count(b->others); k++) {
        const RxJournalEntry *e = latest_under(rx_journals_journal(b->others, k), rel);
        if (e && (!found || rx_journals_prefer(e, found)))
            found = e;
    }
    if (found && found->result.state != RX_STATE_DONE && found->result.state != RX_STATE_ENCODED)
        found = NULL;
    return found;
}

/* ---- results (--results): what became of each file, by its path */

static void note_entry(RxBatch *b, const char *path, const RxJournalEntry *je)
{
    if (b->o.results && je && rx_results_entry(b->o.results, path, je) < 0)
        rx_reporter_note(b->rep, RX_LOG_WARN, "out of memory for the results of '%s'", path);
}

static void note_reason(RxBatch *b, const char *path, const char *status, RxState st,
                        const char *why)
{
    if (b->o.results && rx_results_note(b->o.results, path, status, st, why) < 0)
        rx_reporter_note(b->rep, RX_LOG_WARN, "out of memory for the results of '%s'", path);
}

/* A file the probe threads left unprobed as settled: its journal entry. */
/* A file this run failed before planning (fresh()): reported with the
 * others once the reporter is up. */
static void note_fresh(RxBatch *b, const char *path, const RxJournalEntry *je)
{
    Fresh *f = av_dynarray2_add((void **)&b->fresh, &b->n_fresh, sizeof(*f), NULL);

    if (!f) {
        b->n_fresh = 0; /* av_dynarray2_add freed the array */
        rx_reporter_note(b->rep, RX_LOG_WARN, "out of memory for the report of '%s'", path);
        return;
    }
    f->path = path;
    f->je = je;
}

static void note_settled(RxBatch *b, const RxFound *f)
{
    const RxScanEntry *e = f->entry;
    const RxJournalEntry *je;
    int own;

    if ((!b->o.results && !atomic_load(&b->fresh_failed)) || f->id_err < 0 || !f->id.rel)
        return;
    je = lookup(b, e, &f->id, &own); /* settled in any journal */
    note_entry(b, e->path, je);
    if (je && fresh(b, je, own))
        note_fresh(b, e->path, je);
}

/* The task's own copy of the identity that find computed once, on its probe
 * thread (find.h), or the error computing it gave. */
static int found_id(RxFileId *id, const RxFound *f)
{
    memset(id, 0, sizeof(*id));
    if (f->id_err < 0)
        return f->id_err;
    if (!f->id.rel)
        return AVERROR(EINVAL);
    *id = f->id;
    id->rel = strdup(f->id.rel);
    return id->rel ? 0 : AVERROR(ENOMEM);
}

/* What the walk could not read (a dangling link named like a recording, a
 * directory without permission ...): said, and the walk goes on. */
static void on_scan_warning(void *opaque, const char *path, int err)
{
    const RxBatch *b = opaque;
    AVBPrint bp;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_scan_warning(&bp, path, err);
    rx_reporter_note(b->rep, RX_LOG_WARN, "%s", bp.str);
    av_bprint_finalize(&bp, NULL);
}

static void on_not_taken(void *opaque, const char *path, int err)
{
    const RxBatch *b = opaque;
    AVBPrint bp;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_AUTOMATIC);
    rx_text_human(&bp, path);
    rx_reporter_note(b->rep, RX_LOG_WARN, "'%s' not taken: %s", bp.str, rx_scan_why(err));
    av_bprint_finalize(&bp, NULL);
    /* A file named twice (or also found by the walk) is taken once: its
     * outcome is noted there, not overwritten here as not taken. */
    if (err != RX_SCAN_ERR_SAME)
        note_reason(opaque, path, "not-taken", RX_STATE_PENDING, rx_scan_why(err));
}

/* The crf a --target-ssim search found for this file before, when it was
 * found for the same target and picture settings (docs/journal.md). */
static int known_crf(const RxBatch *b, const RxJournalEntry *je)
{
    char key[RX_TUNE_KEY_MAX];

    if (!je || b->o.settings.target_ssim <= 0 || !je->result.tuned_crf)
        return 0;
    rx_settings_tune_key(&b->o.settings, key);
    return strcmp(key, je->result.tuned_for) ? 0 : je->result.tuned_crf;
}

static int plan(RxBatch *b)
{
    size_t n = rx_find_count(b->found), n_alone = 0;
    int ret, own;

    b->tasks = av_calloc(n ? n : 1, sizeof(*b->tasks));
    if (!b->tasks)
        return set_error(b, AVERROR(ENOMEM), "out of memory");

    for (size_t i = 0; i < n; i++) {
        const RxFound *f = rx_find_get(b->found, i);
        const RxJournalEntry *je;
        Task *t = &b->tasks[b->n_tasks];
        RxDecision d;

        if (f->err == RX_ERR_NOT_PROBED) {
            /* settled by an earlier run (see skip_known) */
            b->counts.candidates++;
            b->counts.already++;
            note_settled(b, f);
            continue;
        }
        if (f->entry->err == AVERROR(ENOENT) && (je = committed_at(b, f->entry->rel))) {
            b->counts.candidates++; /* named, and done: the original went */
            b->counts.already++;
            note_entry(b, f->entry->path, je);
            continue;
        }
        rx_plan_decide(f, b->filter, &d);
        if (d.verdict != RX_VERDICT_CANDIDATE && !must_fail(b, f, &d)) {
            note_reason(b, f->entry->path, "not-selected", RX_STATE_PENDING, d.reason);
            continue;
        }
        b->counts.candidates++;
        ret = found_id(&t->id, f);
        if (ret < 0) {
            char why[128], line[RX_ERROR_MAX];
            AVBPrint bp;
            av_bprint_init_for_buffer(&bp, line, sizeof(line));
            av_bprintf(&bp, "cannot read '");
            rx_text_human(&bp, f->entry->path);
            /* A named file that is missing says so, not "not a regular file". */
            av_bprintf(&bp, "': %s",
                       rx_strerror(f->entry->err ? f->entry->err : ret, why, sizeof(why)));
            rx_reporter_note(b->rep, RX_LOG_ERROR, "%s", line); /* a failure of that file: exit 1 */
            note_reason(b, f->entry->path, "failed", RX_STATE_FAILED, line);
            b->counts.failed++;
            continue;
        }
        je = lookup(b, f->entry, &t->id, &own); /* NULL for a copy of a file done elsewhere */
        if (je && settled(b, je, own)) {
            note_entry(b, f->entry->path, je);
            if (fresh(b, je, own)) {
                b->counts.failed++;
                note_fresh(b, f->entry->path, je);
            } else if (je->result.state == RX_STATE_FAILED) {
                b->counts.failed_before++;
            } else {
                b->counts.already++;
            }
            if (je->result.state == RX_STATE_FAILED)
                crashed_part(b, f->entry, je);
            rx_file_id_clear(&t->id);
            continue;
        }
        t->found = f;
        t->batch = b;
        t->output = output_path(b, f->entry);
        if (d.verdict != RX_VERDICT_CANDIDATE)
            t->reject = av_strdup(d.reason);
        else if (t->output && is_same_file(t->output, f->entry->path))
            /* An .mkv recording with a Matroska output (or --output-dir
             * pointing back at the tree): never encode over the original. */
            t->reject = av_strdup("it would be its own output (same name); use --output-dir DIR "
                                  "or another --container");
        if (!t->output || (d.verdict != RX_VERDICT_CANDIDATE && !t->reject)) {
            rx_file_id_clear(&t->id);
            av_freep(&t->output);
            return set_error(b, AVERROR(ENOMEM), "out of memory");
        }
        t->known_crf = known_crf(b, je);
        if (je && committed_before(je, f->entry, t->output))
            t->only_original = 1;
        else if (je)
            unlink_stale_part(b, t->output);
        t->alone = je && je->crashes && !t->only_original && !t->reject;
        n_alone += t->alone;
        t->media_us = t->reject ? 0 : probe_int(f, RX_STREAM_GENERAL, "Duration") * 1000;
        t->work = estimate_work(f, rx_settings_dedup(&b->o.settings));
        b->n_tasks++;
    }
    /* Suspects first, each alone: the batch learns at once which of them
     * crashes (it is failed on the spot, and the rest run side by side
     * after it). Then longest work first, so the batch does not end with one
     * long file running alone while the other cores idle. */
    qsort(b->tasks, b->n_tasks, sizeof(*b->tasks), by_work);
    b->n_alone = n_alone;
    b->counts.queued = b->n_tasks;
    b->counts.already -= atomic_load(&b->settled_failed) + atomic_load(&b->fresh_failed);
    b->counts.failed_before += atomic_load(&b->settled_failed);
    b->counts.failed += atomic_load(&b->fresh_failed);
    return 0;
}

/* ---- one file */

static void on_progress(void *opaque, const RxProgress *p);

typedef struct Job {
    Task *task;
    int slot;
} Job;

static void on_progress(void *opaque, const RxProgress *p)
{
    Job *j = opaque;
    rx_reporter_progress(j->task->batch->rep, j->slot, p);
}

/* A journal that cannot be written stops the batch: going on would do work
 * no later run could know was done. */
static void journal_failed(RxBatch *b, int ret)
{
    char why[128];

    rx_reporter_note(b->rep, RX_LOG_ERROR, "cannot write journal '%s': %s; stopping",
                     b->journal_path, rx_strerror(ret, why, sizeof(why)));
    rx_batch_interrupt(b, 0);
}

/* The search chose a crf: journal it before the encode it is for, so a
 * crash in that encode does not cost the search again. */
static void on_tuned(void *opaque, const RxResult *res)
{
    Job *j = opaque;
    int ret = rx_journal_note(j->task->batch->journal, &j->task->id, res);

    if (ret < 0)
        journal_failed(j->task->batch, ret);
}

/* Does the output hold the streams it should? A cheap open of the .part:
 * one video stream of the encoder's codec, and an audio stream per track,
 * Opus unless copied (a copy is whatever the input held). */
static int output_opens(const char *part, int audio_tracks, const RxSettings *s)
{
    const AVCodec *venc = avcodec_find_encoder_by_name(s->video_encoder);
    AVFormatContext *ic = NULL;
    int video = 0, audio = 0, ret;

    ret = avformat_open_input(&ic, part, NULL, NULL);
    if (ret < 0)
        return ret;
    ret = avformat_find_stream_info(ic, NULL);
    for (unsigned i = 0; ret >= 0 && i < ic->nb_streams; i++) {
        const AVCodecParameters *par = ic->streams[i]->codecpar;
        video += par->codec_type == AVMEDIA_TYPE_VIDEO && venc && par->codec_id == venc->id;
        audio += par->codec_type == AVMEDIA_TYPE_AUDIO &&
                 (s->audio_copy || par->codec_id == AV_CODEC_ID_OPUS);
    }
    avformat_close_input(&ic);
    if (ret < 0)
        return ret;
    return video == 1 && audio == audio_tracks ? 0 : RX_ERR_BAD_OUTPUT;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * Is the input still the file that was planned and whose encode started?
 * If not, says how in why. Size, inode and modification time first; then
 * the identity hash (first and last 64 KiB, as the journal knows the file),
 * which catches a same-size rewrite whose mtime was put back (touch -r, a
 * restore from backup); last the inode change time, which nobody can put
 * back, so a same-size rewrite in the middle of the file is caught too.
 * Anything that cannot be verified counts as changed.
 */
static int input_changed(const Task *t, char *why, size_t size)
{
    const char *in = t->found->entry->path;
    const struct stat *was = &t->before;
    struct stat now;
    RxFileId id;
    char err[128];
    int ret, same;

    if (stat(in, &now) < 0) {
        ret = AVERROR(errno);
        if (ret == AVERROR(ENOENT))
            snprintf(why, size, "it was deleted or moved");
        else
            snprintf(why, size, "cannot look at it again: %s", rx_strerror(ret, err, sizeof(err)));
        return 1;
    }
    if (now.st_dev != was->st_dev || now.st_ino != was->st_ino) {
        snprintf(why, size, "another file was put in its place");
        return 1;
    }
    if (now.st_size != was->st_size) {
        snprintf(why, size, "its size went from %lld to %lld bytes", (long long)was->st_size,
                 (long long)now.st_size);
        return 1;
    }
    if (!same_time(&now.st_mtim, &was->st_mtim)) {
        snprintf(why, size, "it was modified");
        return 1;
    }
    /* The one deliberate second hash of an input: find's (t->id) is from
     * before the encode, and this asks whether the bytes changed since. */
    ret = rx_file_id_compute(&id, in, t->id.rel);
    if (ret < 0) {
        snprintf(why, size, "cannot read it again: %s", rx_strerror(ret, err, sizeof(err)));
        return 1;
    }
    same = id.size == t->id.size && !strcmp(id.hash, t->id.hash);
    rx_file_id_clear(&id);
    if (!same) {
        snprintf(why, size, "its content is not what it was (same size and time)");
        return 1;
    }
    if (!same_time(&now.st_ctim, &was->st_ctim)) {
        snprintf(why, size, "it was written to or its attributes changed (same size and time)");
        return 1;
    }
    return 0;
}

static void changed_error(RxResult *res, const char *in, const char *how)
{
    res->err = RX_ERR_CHANGED;
    snprintf(res->error, sizeof(res->error),
             "'%s' changed while being encoded: %s; output discarded, the file left as it is", in,
             how);
}

/* Journalled with the output, so `reencode verify` can tell later whether the
 * file under its name is still the one committed (the same identity as
 * inputs: size and a hash of its first and last 64 KiB). Left out when it
 * cannot be read; verify then says it has no record. */
static void output_identity(const char *path, RxResult *res)
{
    RxFileId id;

    res->out_hash[0] = '\0';
    if (rx_file_id_compute(&id, path, "") < 0)
        return;
    if (id.size == res->out_bytes)
        memcpy(res->out_hash, id.hash, sizeof(res->out_hash));
    rx_file_id_clear(&id);
}

/* The transcode's pre-publish hook: nothing reaches its final name unless
 * the input is unchanged, the durations match what the input declares, the
 * output opens with the expected streams, and it is worth keeping. */
static int check_output(void *opaque, const char *part, RxResult *res)
{
    Task *t = opaque;
    RxBatch *b = t->batch;
    const char *in = t->found->entry->path;
    int64_t declared = res->in_duration_us;
    char how[160];
    int ret;

    if (input_changed(t, how, sizeof(how))) {
        changed_error(res, in, how);
        return RX_ERR_CHANGED;
    }
    if (!b->o.accept_truncated) {
        /* in_short_us is what the streams' own index declares and the decode
         * did not reach, a last frame already allowed for (result.h). Half a
         * second or 0.5 % more: container rounding, never a missing minute. */
        if (res->in_short_us > FFMAX(500000, declared / 200)) {
            snprintf(res->error, sizeof(res->error),
                     "'%s' declares %.1f s but only %.1f s of video and %.1f s of audio "
                     "could be decoded (truncated recording?); original kept "
                     "(--accept-truncated to commit such outputs)",
                     in, declared / 1e6, res->video_duration_us / 1e6,
                     res->audio_duration_us / 1e6);
            return RX_ERR_TRUNCATED;
        }
    }
    ret = output_opens(part, res->audio_tracks, &b->o.settings);
    if (ret < 0) {
        char why[128];
        snprintf(res->error, sizeof(res->error), "output of '%s' failed its check: %s", in,
                 rx_strerror(ret, why, sizeof(why)));
        return RX_ERR_BAD_OUTPUT;
    }
    if ((double)res->out_bytes >= b->o.max_size_ratio * (double)res->in_bytes) {
        snprintf(res->error, sizeof(res->error),
                 "output would be %.0f%% of '%s' (limit %.0f%%); original kept, not retried",
                 100.0 * (double)res->out_bytes / (double)FFMAX(res->in_bytes, 1), in,
                 100.0 * b->o.max_size_ratio);
        return RX_ERR_NOT_SMALLER;
    }
    output_identity(part, res);
    return 0;
}

/* Rename, keep or delete the original once its output is committed. Returns
 * what was done ("renamed", "kept", "deleted"). */
static const char *handle_original(RxBatch *b, Task *t)
{
    const char *in = t->found->entry->path;
    char why[128];
    char *renamed;
    int ret;

    switch (b->o.originals) {
    case RX_ORIGINALS_KEEP:
        return "kept";
    case RX_ORIGINALS_DELETE:
        /* Only reached after check_output() accepted the output. */
        if (unlink(in) < 0) {
            ret = AVERROR(errno);
            rx_reporter_note(b->rep, RX_LOG_WARN, "cannot delete '%s': %s; kept", in,
                             rx_strerror(ret, why, sizeof(why)));
            return "kept";
        }
        rx_fsync_parent(in);
        return "deleted";
    case RX_ORIGINALS_RENAME:
        break;
    }
    renamed = av_asprintf("%s.reencoded", in);
    if (!renamed)
        return "kept";
    if (renameat2(AT_FDCWD, in, AT_FDCWD, renamed, RENAME_NOREPLACE) < 0 &&
        (errno != EINVAL || link(in, renamed) < 0 || unlink(in) < 0)) {
        ret = AVERROR(errno);
        rx_reporter_note(b->rep, RX_LOG_WARN, "cannot rename '%s' to '%s': %s; kept as is", in,
                         renamed, rx_strerror(ret, why, sizeof(why)));
        av_free(renamed);
        return "kept";
    }
    rx_fsync_parent(in);
    av_free(renamed);
    return "renamed";
}

static void count(RxBatch *b, RxState st)
{
    pthread_mutex_lock(&b->lock);
    switch (st) {
    case RX_STATE_DONE:
    case RX_STATE_ENCODED:
        b->counts.done++;
        break;
    case RX_STATE_SKIPPED:
        b->counts.skipped++;
        break;
    case RX_STATE_INTERRUPTED:
        b->counts.interrupted++;
        break;
    default:
        b->counts.failed++;
        break;
    }
    pthread_mutex_unlock(&b->lock);
}

/* Journal a state (see journal_failed()). Returns 0 or the error: what comes
 * next may depend on the record being there (the original is touched only
 * once "encoded" is journalled). */
static int journal(RxBatch *b, Task *t, RxState st, const RxResult *res, const char *original)
{
    int ret = rx_journal_record(b->journal, &t->id, st, res, t->output, original);

    if (ret < 0)
        journal_failed(b, ret);
    return ret;
}

/* The output is committed but "encoded" could not be journalled: leave the
 * original alone. The next run knows the output by its name and its
 * original's mtime (resume_state) and handles the original then. */
static const char *commit_and_handle(RxBatch *b, Task *t, RxResult *res)
{
    const char *original = NULL;

    if (journal(b, t, RX_STATE_ENCODED, res, NULL) < 0) {
        res->state = RX_STATE_ENCODED;
        return "kept";
    }
    original = handle_original(b, t);
    journal(b, t, RX_STATE_DONE, NULL, original);
    res->state = RX_STATE_DONE;
    return original;
}

/*
 * The thread budget of the encode about to start in slot. Given --threads, that.
 * Otherwise the cores are shared out evenly while files are waiting (one
 * thread each when there are as many encodes as cores: libaom's own threads
 * scale worse than separate encodes), and the last file takes every core no
 * other encode holds, so the batch does not end on one thread with the
 * other cores idle. The decoder's threads count against the same budget.
 */
static int claim_threads(RxBatch *b, int slot, int alone)
{
    int n, used = 0, even;

    pthread_mutex_lock(&b->lock);
    if (b->o.settings.threads > 0) {
        n = b->o.settings.threads;
    } else if (alone) {
        n = b->cores; /* a suspect runs with no other: every core is idle */
    } else {
        for (int i = 0; i < RX_BATCH_MAX_JOBS; i++)
            used += b->threads[i];
        even = FFMAX(1, b->cores / b->o.jobs);
        n = b->started < b->n_tasks ? even : FFMAX(even, b->cores - used);
    }
    b->threads[slot] = n;
    pthread_mutex_unlock(&b->lock);
    return n;
}

static void release_threads(RxBatch *b, int slot)
{
    pthread_mutex_lock(&b->lock);
    b->threads[slot] = 0;
    pthread_mutex_unlock(&b->lock);
}

/* The file's crash record, named for people as the log names files. */
static int arm_crash(RxBatch *b, int slot, const Task *t)
{
    char name[256];
    AVBPrint bp;

    av_bprint_init_for_buffer(&bp, name, sizeof(name));
    rx_text_human(&bp, t->found->entry->path);
    return rx_crash_arm(b->o.crash, slot, &t->id, name);
}

static void run_task(void *opaque, size_t index, int slot)
{
    RxBatch *b = opaque;
    Task *t = &b->tasks[index];
    const char *in = t->found->entry->path;
    RxTranscode *job = NULL;
    Job ctx = {t, slot};
    RxResult res;
    const char *original = NULL;
    RxSettings settings;
    int ret;

    pthread_mutex_lock(&b->lock);
    b->started++;
    pthread_mutex_unlock(&b->lock);
    rx_result_init(&res);
    res.in_bytes = t->found->entry->size;
    if (t->reject) {
        res.err = t->found->err     ? t->found->err
                  : t->found->probe ? RX_ERR_NOVIDEO
                                    : AVERROR_INVALIDDATA;
        snprintf(res.error, sizeof(res.error), "cannot re-encode '%s': %s", in, t->reject);
        res.state = RX_STATE_FAILED;
        journal(b, t, RX_STATE_FAILED, &res, NULL);
        count(b, res.state);
        note_entry(b, in, rx_journal_find(b->journal, &t->id));
        rx_reporter_finish(b->rep, -1, in, &res, NULL);
        return;
    }
    rx_reporter_start(b->rep, slot, in, t->found->entry->size, t->media_us);

    if (t->only_original) {
        /* A run died between commit and the original's handling. */
        struct stat st;
        if (stat(t->output, &st) == 0)
            res.out_bytes = st.st_size;
        output_identity(t->output, &res);
        res.in_duration_us = t->media_us;
        original = commit_and_handle(b, t, &res);
        goto finish;
    }
    if (t->known_crf) { /* the new attempt carries the cache on (docs/journal.md) */
        rx_result_init(&res);
        res.tuned_crf = t->known_crf;
        rx_settings_tune_key(&b->o.settings, res.tuned_for);
        ret = journal(b, t, RX_STATE_STARTED, &res, NULL);
        rx_result_init(&res);
        res.in_bytes = t->found->entry->size;
        /* kept in the records of a failure before the encode, too */
        res.tuned_crf = t->known_crf;
        rx_settings_tune_key(&b->o.settings, res.tuned_for);
    } else {
        ret = journal(b, t, RX_STATE_STARTED, NULL, NULL);
    }
    if (ret < 0) {
        /* Work no later run could know was started: not begun (the batch
         * is stopping, journal_failed). */
        res.err = ret;
        snprintf(res.error, sizeof(res.error), "not started: the journal cannot be written");
        res.state = RX_STATE_INTERRUPTED;
        goto finish;
    }
    if (stat(in, &t->before) < 0) {
        res.err = AVERROR(errno);
        snprintf(res.error, sizeof(res.error), "cannot open '%s': %s", in, strerror(errno));
        res.state = RX_STATE_FAILED;
        journal(b, t, RX_STATE_FAILED, &res, NULL);
        goto finish;
    }
    if (b->o.output_dir && (ret = rx_mkdir_parents(t->output)) < 0) {
        char why[128];
        res.err = ret;
        snprintf(res.error, sizeof(res.error), "cannot create the directory of '%s' for '%s': %s",
                 t->output, in, rx_strerror(ret, why, sizeof(why)));
        res.state = RX_STATE_FAILED;
        journal(b, t, RX_STATE_FAILED, &res, NULL);
        goto finish;
    }

    settings = b->o.settings;
    settings.threads = claim_threads(b, slot, t->alone);
    ret = rx_transcode_new(&job, in, t->output, &settings);
    if (ret < 0) {
        char why[128];
        release_threads(b, slot);
        res.err = ret;
        snprintf(res.error, sizeof(res.error), "cannot encode '%s': %s", in,
                 rx_strerror(ret, why, sizeof(why)));
        res.state = RX_STATE_FAILED;
        journal(b, t, RX_STATE_FAILED, &res, NULL);
        goto finish;
    }
    rx_transcode_set_progress(job, on_progress, &ctx);
    rx_transcode_set_check(job, check_output, t);
    rx_transcode_set_tuned(job, on_tuned, &ctx);
    rx_transcode_set_known_crf(job, t->known_crf);
    pthread_mutex_lock(&b->lock);
    b->running[slot] = job;
    if (atomic_load(&b->cancelling))
        rx_transcode_cancel(job);
    pthread_mutex_unlock(&b->lock);

    /* From here a crash of the process names this file (crash.h). */
    if (arm_crash(b, slot, t) < 0)
        rx_reporter_note(b->rep, RX_LOG_WARN,
                         "out of memory for the crash record of '%s': a crash encoding it "
                         "would blame no file",
                         in);
    ret = rx_transcode_run(job, &res);
    rx_crash_disarm(b->o.crash, slot);

    pthread_mutex_lock(&b->lock);
    b->running[slot] = NULL;
    b->threads[slot] = 0;
    pthread_mutex_unlock(&b->lock);
    rx_transcode_free(&job);
    if (res.note[0])
        rx_reporter_note(b->rep, RX_LOG_WARN, "%s", res.note);

    if (ret == 0) {
        original = commit_and_handle(b, t, &res);
    } else if (ret == RX_ERR_NOT_SMALLER) {
        res.state = RX_STATE_SKIPPED;
        journal(b, t, RX_STATE_SKIPPED, &res, NULL);
    } else if (ret == RX_ERR_CANCELLED) {
        res.state = RX_STATE_INTERRUPTED;
        journal(b, t, RX_STATE_INTERRUPTED, &res, NULL);
    } else {
        char how[160];
        /* An input rewritten or cut under the decoder fails as a decoding
         * error ("invalid data", "patches welcome"): name the real cause. */
        if (ret != RX_ERR_CHANGED && input_changed(t, how, sizeof(how)))
            changed_error(&res, in, how);
        res.state = RX_STATE_FAILED;
        journal(b, t, RX_STATE_FAILED, &res, NULL);
    }
finish:
    count(b, res.state);
    note_entry(b, in, rx_journal_find(b->journal, &t->id));
    rx_reporter_finish(b->rep, slot, in, &res, original);
}

/* ---- the run */

static int find_files(RxBatch *b)
{
    RxFilterError fe;
    RxFindOptions fo;
    char why[128];
    int ret;

    ret = rx_filter_compile(&b->filter, b->o.matches, b->o.n_matches, b->o.all ? RX_FILTER_ALL : 0,
                            &fe);
    if (ret == AVERROR(EINVAL)) {
        AVBPrint bp;
        av_bprint_init_for_buffer(&bp, b->error, sizeof(b->error));
        av_bprintf(&bp, "bad --match expression: %s\n  ", fe.message);
        rx_text_human(&bp, fe.index < b->o.n_matches ? b->o.matches[fe.index] : "");
        av_bprintf(&bp, "\n  %*s^", (int)fe.column, "");
        return AVERROR(EINVAL);
    }
    if (ret < 0)
        return set_error(b, ret, "cannot compile --match: %s", rx_strerror(ret, why, sizeof(why)));

    rx_find_options_default(&fo);
    fo.scan.extensions = b->o.extensions;
    fo.scan.follow_symlinks = b->o.follow_symlinks;
    fo.scan.one_file_system = b->o.one_file_system;
    fo.scan.on_warn = on_scan_warning;
    fo.scan.warn_opaque = b;
    fo.probe.extra = rx_filter_fields(b->filter, &fo.probe.n_extra);
    fo.identify = 1; /* once per file, for skip_known(), plan() and the task */
    fo.skip = skip_known;
    fo.skip_opaque = b;
    fo.ready = b->o.ready;
    fo.ready_opaque = b->o.ready_opaque;
    fo.files = b->o.files;
    fo.n_files = b->o.n_files;
    fo.files_base = journal_base(b);
    fo.scan.on_not_taken = on_not_taken;
    fo.scan.not_taken_opaque = b;
    fo.shard = b->o.shard;
    ret = rx_find_run(&b->found, b->o.roots, b->o.n_roots, &fo);
    if (ret < 0)
        return set_error(b, ret, "cannot scan: %s", rx_strerror(ret, why, sizeof(why)));
    return 0;
}

/* Per-encode memory to plan with: the encoder's (its description in
 * src/encoders/ says what was measured), the default encoder's for a name
 * reencode does not drive. */
static int64_t job_memory(const RxSettings *s)
{
    const RxEncoder *e = rx_encoder_find(s->video_encoder);

    return (int64_t)(e ? e : rx_encoder_at(0))->memory_mib << 20;
}

/* -j not given: as many encodes as cores (each with one thread: libaom's
 * threads scale worse than separate encodes), or as --threads allows, no
 * more than there are files to encode or memory for. */
static int auto_jobs(const RxBatch *b)
{
    int64_t mem = rx_sys_memory();
    size_t encodes = 0;
    int j = b->cores / FFMAX(1, b->o.settings.threads);

    for (size_t i = 0; i < b->n_tasks; i++)
        encodes += !b->tasks[i].reject && !b->tasks[i].only_original;
    if ((size_t)j > encodes)
        j = (int)encodes;
    if (mem > 0 && j > mem / job_memory(&b->o.settings))
        j = (int)(mem / job_memory(&b->o.settings));
    return av_clip(j, 1, RX_BATCH_MAX_JOBS);
}

/* How busy the cores were over the run: CPU time of every thread of the
 * process against wall time x cores. Below 100 %, cores idled (the tail of
 * the batch, I/O, a queue too short for the pool). */
static void note_busy(RxBatch *b, double t0)
{
    struct rusage ru;
    double wall = rx_clock_now() - t0, cpu;

    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return;
    cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    if (wall <= 0)
        return;
    b->busy_percent = 100.0 * cpu / (wall * b->cores);
    rx_reporter_note(
        b->rep, RX_LOG_INFO,
        "cores busy %.0f%% (%.1f s of CPU in %.1f s on %d core%s), peak memory %.0f MiB",
        b->busy_percent, cpu, wall, b->cores, b->cores == 1 ? "" : "s",
        (double)ru.ru_maxrss / 1024.0);
}

/* The reporter, before the journal is opened and the files found, so that
 * what they say reaches the log and --json; the plan (totals, slots)
 * follows once it is made (rx_reporter_set_plan()). */
static int open_reporter(RxBatch *b)
{
    RxReporterOptions ro = b->o.report;
    RxReporter *rep = NULL;
    char why[128];
    int ret;

    ro.plan_later = 1;
    ro.slots = 1;
    ret = rx_reporter_new(&rep, &ro);
    pthread_mutex_lock(&b->lock); /* rx_batch_interrupt() reads it from the signal thread */
    b->rep = rep;
    pthread_mutex_unlock(&b->lock);
    if (ret < 0)
        set_error(b, ret, "cannot open log '%s': %s", ro.log_path ? ro.log_path : "",
                  rx_strerror(ret, why, sizeof(why)));
    return ret;
}

int rx_batch_run(RxBatch *b, RxBatchCounts *counts)
{
    RxPool *pool = NULL;
    int64_t bytes = 0, media = 0;
    double t0 = rx_clock_now();
    long started;
    int ret;

    memset(counts, 0, sizeof(*counts));
    b->cores = rx_sys_cores();
    if ((ret = create_journal_dir(b)) < 0)
        goto done;
    if ((ret = open_reporter(b)) < 0 || (ret = open_journal(b)) < 0 || (ret = find_files(b)) < 0 ||
        (ret = plan(b)) < 0)
        goto done;
    if (!b->o.jobs)
        b->o.jobs = auto_jobs(b);

    for (size_t i = 0; i < b->n_tasks; i++) {
        bytes += b->tasks[i].found->entry->size;
        media += b->tasks[i].media_us;
    }
    ret = rx_reporter_set_plan(b->rep, b->n_tasks + (size_t)b->n_fresh, bytes, media, b->o.jobs);
    if (ret < 0) {
        set_error(b, ret, "out of memory");
        goto done;
    }
    note_crashes(b);
    if (b->o.shard.count) /* which worker wrote this log, and what it knew */
        rx_reporter_note(
            b->rep, RX_LOG_INFO, "shard %d of %d (0-based): journal '%s', %zu other journal%s read",
            b->o.shard.index, b->o.shard.count, b->journal_path, rx_journals_count(b->others),
            rx_journals_count(b->others) == 1 ? "" : "s");

    if (!b->n_tasks && b->o.quiet_idle) {
        /* watch: a pass that finds nothing new says nothing */
    } else if (!b->n_tasks && !b->counts.candidates) {
        rx_reporter_note(b->rep, RX_LOG_INFO,
                         "nothing to do: no recording to re-encode found (originals already "
                         "re-encoded are renamed *.reencoded and not looked at)");
    } else if (!b->n_tasks) {
        rx_reporter_note(b->rep, RX_LOG_INFO,
                         "nothing to do: %zu candidate%s already done or skipped, %zu failed "
                         "before%s",
                         b->counts.already, b->counts.already == 1 ? "" : "s",
                         b->counts.failed_before,
                         b->counts.failed_before ? " (--retry-failed to retry them)" : "");
    } else {
        AVBPrint bp;
        av_bprint_init(&bp, 0, AV_BPRINT_SIZE_AUTOMATIC);
        rx_text_bytes(&bp, bytes);
        av_bprintf(&bp, ", ");
        rx_text_duration(&bp, media / 1000);
        int even = FFMAX(1, b->cores / b->o.jobs);
        av_bprintf(&bp, "), %d at once", b->o.jobs);
        if (b->o.settings.threads > 0)
            av_bprintf(&bp, " x %d thread%s", b->o.settings.threads,
                       b->o.settings.threads == 1 ? "" : "s");
        else
            av_bprintf(&bp, " x %d thread%s (%d core%s; the last file takes the idle ones)", even,
                       even == 1 ? "" : "s", b->cores, b->cores == 1 ? "" : "s");
        rx_reporter_note(b->rep, RX_LOG_INFO,
                         "%zu file%s to encode (%s; %zu already done, %zu failed before",
                         b->n_tasks, b->n_tasks == 1 ? "" : "s", bp.str, b->counts.already,
                         b->counts.failed_before);
        av_bprint_finalize(&bp, NULL);
    }

    ret = rx_pool_new(&pool, b->o.jobs);
    if (ret < 0) {
        set_error(b, AVERROR(-ret), "cannot start the worker pool");
        goto done;
    }
    pthread_mutex_lock(&b->lock);
    b->pool = pool;
    pthread_mutex_unlock(&b->lock);
    rx_pool_set_alone(b->pool, b->n_alone);
    /* An interrupt that came before the pool was published found none to
     * stop: stopping is set first there, so it is seen here. */
    if (atomic_load(&b->stopping))
        rx_pool_stop(b->pool);
    started = rx_pool_run(b->pool, b->n_tasks, run_task, b);
    if (started < 0) {
        ret = set_error(b, AVERROR(-(int)started), "cannot start the worker threads");
        goto done;
    }
    if (b->n_tasks)
        note_busy(b, t0);
    if (b->n_tasks && rx_reporter_summary(b->rep) < 0)
        rx_warn("cannot write the stats file '%s'", b->o.report.stats_path);
    ret = 0;
done:
    *counts = b->counts;
    return ret;
}

/* Called from the signal thread while rx_batch_run() may be publishing the
 * pool and the reporter: both are read under b->lock, and both live until
 * rx_batch_free(), which runs after the signal thread is joined. */
void rx_batch_interrupt(RxBatch *b, int hard)
{
    RxReporter *rep;
    int running = 0;

    atomic_store(&b->stopping, 1);
    pthread_mutex_lock(&b->lock);
    rep = b->rep;
    if (b->pool)
        rx_pool_stop(b->pool);
    if (hard)
        atomic_store(&b->cancelling, 1);
    for (int i = 0; i < RX_BATCH_MAX_JOBS; i++) {
        if (!b->running[i])
            continue;
        running++;
        if (hard)
            rx_transcode_cancel(b->running[i]);
    }
    pthread_mutex_unlock(&b->lock);
    if (rep && !hard && running)
        rx_reporter_note(rep, RX_LOG_WARN,
                         "stopping: no new files; %d running encode%s will finish "
                         "(Ctrl-C again to abort %s)",
                         running, running == 1 ? "" : "s", running == 1 ? "it" : "them");
    else if (rep && hard && running)
        rx_reporter_note(rep, RX_LOG_WARN, "aborting %d running encode%s", running,
                         running == 1 ? "" : "s");
}

void rx_batch_free(RxBatch **pb)
{
    RxBatch *b;

    if (!pb || !*pb)
        return;
    b = *pb;
    for (size_t i = 0; i < b->n_tasks; i++) {
        rx_file_id_clear(&b->tasks[i].id);
        av_free(b->tasks[i].output);
        av_free(b->tasks[i].reject);
    }
    av_free(b->tasks);
    rx_pool_free(&b->pool);
    rx_reporter_free(&b->rep);
    rx_find_free(&b->found);
    rx_filter_free(&b->filter);
    if (b->journal) /* the lock guards the crash file: close it first */
        rx_crash_close(b->o.crash);
    rx_journal_close(&b->journal);
    av_bprint_finalize(&b->crash_notes, NULL);
    av_free(b->fresh);
    rx_journals_free(&b->others);
    av_free(b->journal_path);
    pthread_mutex_destroy(&b->lock);
    av_freep(pb);
}
