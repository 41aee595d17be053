/*
 * watch.c - `reencode watch` (see watch.h).
 *
 * One thread: the loop looks at the tree (rx_scan_run, as the batch's walk)
 * into the settle table (find/ready.h), checks the settled files for writers
 * and completeness, runs a batch pass when one became ready, and waits in
 * poll() on the inotify descriptor and a wake pipe until an event, the next
 * settle deadline or the rescan interval. The batch's ready gate is a lookup
 * in that table on the same thread (the batch walks on its caller's thread),
 * so it needs no lock. rx_watch_stop() (the signal thread) takes w->lock to
 * reach the running pass and writes to the wake pipe.
 *
 * inotify watches no IN_MODIFY: a recorder writing all the time would wake
 * the loop for every write. A file's growth is seen instead when its settle
 * deadline comes and the loop looks again; its end by IN_CLOSE_WRITE.
 */
#include "reencode/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/avstring.h>
#include <libavutil/bprint.h>
#include <libavutil/common.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>

#include "reencode/journal.h"
#include "reencode/progress.h"
#include "reencode/result.h"
#include "reencode/scan.h"
#include "core/clock.h"
#include "core/text.h"
#include "find/ready.h"

#define WATCH_MASK                                                                      \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB | \
     IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define RESCAN_NO_EVENTS 60.0 /* rescan 0 without inotify: never would mean never */
#define MIN_LOOK_GAP     1.0  /* events closer than this share one look at the tree */
#define LOCKED_RETRY     30.0 /* another run holds the journal: try again after this */

struct RxWatch {
    RxWatchOptions o;
    char error[1024];
    RxReadyTable *table;
    RxReporter *rep; /* the watch's own lines (not a pass's) */
    int ino_fd;      /* -1: rescans only */
    int wake[2];     /* rx_watch_stop() writes to wake[1] */
    size_t dirs;     /* directories watched */
    int proc_noted;  /* said once that /proc does not show everything */
    int locked_noted;

    pthread_mutex_t lock; /* batch, stopping, hard */
    RxBatch *batch;       /* the running pass, or NULL */
    atomic_int stopping;
    int hard;
};

void rx_watch_options_default(RxWatchOptions *o)
{
    memset(o, 0, sizeof(*o));
    rx_batch_options_default(&o->batch);
    o->settle = RX_WATCH_DEFAULT_SETTLE;
    o->rescan = RX_WATCH_DEFAULT_RESCAN;
    o->inotify = 1;
}

int rx_watch_new(RxWatch **out, const RxWatchOptions *o)
{
    RxWatch *w = av_mallocz(sizeof(*w));

    *out = NULL;
    if (!w)
        return AVERROR(ENOMEM);
    w->o = *o;
    w->ino_fd = -1;
    w->wake[0] = w->wake[1] = -1;
    pthread_mutex_init(&w->lock, NULL);
    atomic_init(&w->stopping, 0);
    if (rx_ready_table_new(&w->table, o->settle) < 0 ||
        pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        rx_watch_free(&w);
        return AVERROR(ENOMEM);
    }
    *out = w;
    return 0;
}

const char *rx_watch_error(const RxWatch *w)
{
    return w->error;
}

static int64_t wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Seconds between looks without an event, or <= 0: none. Without events
 * "none" would never see a file, so then RESCAN_NO_EVENTS. */
static double rescan_of(const RxWatch *w)
{
    return w->ino_fd < 0 && w->o.rescan <= 0 ? RESCAN_NO_EVENTS : w->o.rescan;
}

/* ---- inotify: every directory under the roots */

/* Watch dir and the directories under it (not .reencode: the journal's
 * writes are ours). Returns 0 or the negative errno of inotify_add_watch
 * (ENOSPC: out of watches); unreadable subdirectories are left out. */
static int watch_tree(RxWatch *w, const char *dir, int depth)
{
    DIR *d;
    struct dirent *de;
    int ret = 0;

    if (inotify_add_watch(w->ino_fd, dir, WATCH_MASK) < 0)
        return errno == ENOSPC || errno == ENOMEM ? AVERROR(errno) : 0;
    w->dirs++;
    if (depth > 64 || !(d = opendir(dir)))
        return 0;
    while (ret == 0 && (de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            !strcmp(de->d_name, RX_JOURNAL_DIR))
            continue;
        if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
            continue;
        char *sub = av_asprintf("%s/%s", dir, de->d_name);
        if (!sub)
            ret = AVERROR(ENOMEM);
        else if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            ret = watch_tree(w, sub, depth + 1);
        av_free(sub);
    }
    closedir(d);
    return ret;
}

/* (Re)add the watches of every root; inotify gives an already watched
 * directory its old descriptor. On failure the watch goes on with rescans. */
static void watch_all(RxWatch *w)
{
    char why[128];
    int ret = 0;

    if (w->ino_fd < 0)
        return;
    w->dirs = 0;
    for (size_t i = 0; ret == 0 && i < w->o.batch.n_roots; i++)
        ret = watch_tree(w, w->o.batch.roots[i], 0);
    if (ret < 0) {
        rx_reporter_note(w->rep, RX_LOG_WARN,
                         "cannot watch every directory for changes (%s%s): looking at the "
                         "tree every %.0f s instead",
                         rx_strerror(ret, why, sizeof(why)),
                         ret == AVERROR(ENOSPC) ? "; see fs.inotify.max_user_watches" : "",
                         w->o.rescan > 0 ? w->o.rescan : RESCAN_NO_EVENTS);
        close(w->ino_fd);
        w->ino_fd = -1;
    }
}

/* Read what inotify queued. Returns 1 when something under the roots
 * changed, 2 when a directory appeared or the queue overflowed (watch the
 * tree again), 0 for nothing. */
static int drain_events(RxWatch *w)
{
    _Alignas(struct inotify_event) char buf[8192];
    int changed = 0;
    ssize_t len;

    while ((len = read(w->ino_fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & IN_Q_OVERFLOW ||
                (ev->mask & IN_ISDIR && ev->mask & (IN_CREATE | IN_MOVED_TO)))
                changed = 2;
            else if (!(ev->mask & IN_IGNORED) && changed < 1)
                changed = 1;
            p += sizeof(*ev) + ev->len;
        }
    }
    return changed;
}

/* Make *next (seconds, < 0: none yet) the sooner of it and t. */
static void sooner(double *next, double t)
{
    if (*next < 0 || t < *next)
        *next = t;
}

/* ---- looking at the tree */

typedef struct Look {
    RxWatch *w;
    double now;
    int64_t wall;
    int err;
} Look;

static int on_look(void *opaque, const RxScanEntry *e)
{
    Look *l = opaque;

    if (rx_shard_has(&l->w->o.batch.shard, e->rel) == 0)
        return 0;
    if (!rx_ready_see(l->w->table, e->path, e->size, e->mtime_ns, l->now, l->wall))
        return AVERROR(ENOMEM);
    return 0;
}

static int look(RxWatch *w)
{
    RxScanList *list = NULL;
    RxScanOptions so;
    Look l = {w, rx_clock_now(), wall_ns(), 0};
    int ret;

    rx_scan_options_default(&so);
    so.extensions = w->o.batch.extensions;
    so.follow_symlinks = w->o.batch.follow_symlinks;
    so.one_file_system = w->o.batch.one_file_system;
    so.on_entry = on_look;
    so.entry_opaque = &l;
    if ((ret = rx_scan_list_new(&list)) < 0)
        return ret;
    rx_ready_begin(w->table);
    ret = rx_scan_run(list, w->o.batch.roots, w->o.batch.n_roots, &so);
    if (ret >= 0)
        rx_ready_end(w->table); /* only after a whole walk: else files would be forgotten */
    rx_scan_list_free(&list);
    return ret;
}

static void note_waiting(RxWatch *w, RxReadyEntry *e, const char *why)
{
    AVBPrint bp;

    if (e->noted)
        return;
    e->noted = 1;
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_AUTOMATIC);
    rx_text_human(&bp, e->path);
    rx_reporter_note(w->rep, RX_LOG_INFO, "waiting: '%s' (%s)", bp.str, why);
    av_bprint_finalize(&bp, NULL);
}

static void note_proc(RxWatch *w, int err, const RxReadyScan *scan)
{
    char why[128];

    if (w->proc_noted || (!err && !scan->unreadable))
        return;
    w->proc_noted = 1;
    if (err)
        rx_reporter_note(w->rep, RX_LOG_WARN,
                         "cannot read /proc (%s): whether a recorder still writes a file is "
                         "judged by the settle time and the parse check alone",
                         rx_strerror(err, why, sizeof(why)));
    else
        rx_reporter_note(w->rep, RX_LOG_INFO,
                         "the open files of %d of %d processes (other users') are not visible "
                         "here: for files they write, the settle time and the parse check decide",
                         scan->unreadable, scan->processes);
}

/* Whether e is to be judged now: settled, not judged since it last changed,
 * and, if a writer held it, checked no sooner than a settle time ago. If not,
 * *next becomes its deadline when sooner. */
static int due(const RxWatch *w, const RxReadyEntry *e, double now, double *next)
{
    double left;

    if (e->state == RX_READY_YES || e->state == RX_READY_INCOMPLETE)
        return 0; /* judged; a change resets the state */
    if (!rx_ready_settled(w->table, e, now, &left)) {
        sooner(next, left);
        return 0;
    }
    if (e->state == RX_READY_WRITER && now - e->checked < w->o.settle) {
        sooner(next, e->checked + w->o.settle - now);
        return 0;
    }
    return 1;
}

/*
 * Check the settled files not judged yet: one /proc sweep for all, then the
 * parse check of those with no writer. Returns how many became ready, and
 * the seconds until the next file's deadline in *next (see sooner()).
 */
static int judge(RxWatch *w, double *next)
{
    double now = rx_clock_now();
    size_t n = rx_ready_count(w->table), k = 0;
    RxReadyFile *files = NULL;
    RxReadyEntry **which = NULL;
    RxReadyScan scan;
    int ready = 0, err;

    for (size_t i = 0; i < n; i++)
        k += due(w, rx_ready_get(w->table, i), now, next);
    if (!k)
        return 0;
    files = av_calloc(k, sizeof(*files));
    which = av_calloc(k, sizeof(*which));
    if (!files || !which) {
        av_free(files);
        av_free(which);
        return 0; /* tried again at the next look */
    }
    k = 0;
    for (size_t i = 0; i < n; i++) {
        RxReadyEntry *e = rx_ready_get(w->table, i);
        struct stat st;
        if (!due(w, e, now, next))
            continue;
        if (stat(e->path, &st) < 0)
            continue; /* gone: the next look drops it */
        files[k].dev = (uint64_t)st.st_dev;
        files[k].ino = (uint64_t)st.st_ino;
        which[k++] = e;
    }
    err = rx_ready_writers(files, k, &scan);
    note_proc(w, err, &scan);
    for (size_t i = 0; i < k; i++) {
        RxReadyEntry *e = which[i];
        char why[256];
        e->checked = now;
        if (!err && files[i].written) {
            e->state = RX_READY_WRITER;
            note_waiting(w, e, "a process has it open for writing");
            sooner(next, w->o.settle);
        } else if (rx_ready_parses(e->path, why, sizeof(why)) < 0) {
            e->state = RX_READY_INCOMPLETE; /* until it changes */
            note_waiting(w, e, why);
        } else {
            e->state = RX_READY_YES;
            ready++;
        }
    }
    av_free(files);
    av_free(which);
    return ready;
}

/* The batch's gate: only files the table judged ready as they look now. */
static int gate(void *opaque, const RxScanEntry *e)
{
    RxWatch *w = opaque;
    const RxReadyEntry *r = rx_ready_find(w->table, e->path, e->size, e->mtime_ns);

    return r && r->state == RX_READY_YES;
}

/* ---- passes */

/* One batch over the roots. Returns 0, 1 when the journal was locked by
 * another run (try later), or a negative code (w->error set). */
static int pass(RxWatch *w, RxWatchCounts *counts)
{
    RxBatchOptions bo = w->o.batch;
    RxBatchCounts c;
    RxBatch *b = NULL;
    int ret;

    bo.ready = gate;
    bo.ready_opaque = w;
    bo.quiet_idle = 1;
    bo.wait_lock = counts->passes ? 0 : bo.wait_lock;
    if ((ret = rx_batch_new(&b, &bo)) < 0) {
        snprintf(w->error, sizeof(w->error), "cannot start a batch: out of memory");
        return ret;
    }
    pthread_mutex_lock(&w->lock);
    w->batch = b;
    if (atomic_load(&w->stopping)) /* a stop that came while we set up */
        rx_batch_interrupt(b, w->hard);
    pthread_mutex_unlock(&w->lock);

    ret = rx_batch_run(b, &c);

    pthread_mutex_lock(&w->lock);
    w->batch = NULL;
    pthread_mutex_unlock(&w->lock);
    if (ret == AVERROR(EWOULDBLOCK) && counts->passes) {
        if (!w->locked_noted)
            rx_reporter_note(w->rep, RX_LOG_WARN, "%s; trying again every %.0f s",
                             rx_batch_error(b), LOCKED_RETRY);
        w->locked_noted = 1;
        rx_batch_free(&b);
        return 1;
    }
    if (ret < 0) {
        av_strlcpy(w->error, rx_batch_error(b), sizeof(w->error));
        rx_batch_free(&b);
        return ret;
    }
    w->locked_noted = 0;
    counts->passes++;
    counts->done += c.done;
    counts->failed += c.failed;
    counts->skipped += c.skipped;
    counts->interrupted += c.interrupted;
    /* Handed to a batch as they look now: no new pass for them until
     * they change (the journal settles them anyway). */
    for (size_t i = 0; i < rx_ready_count(w->table); i++) {
        RxReadyEntry *e = rx_ready_get(w->table, i);
        if (e->state == RX_READY_YES)
            e->offered = 1;
    }
    rx_batch_free(&b);
    return 0;
}

/* Wait until an event, the wake pipe or timeout seconds (< 0: forever).
 * Returns what drain_events() says (0 on a timeout or a wake). */
static int wait_events(RxWatch *w, double timeout)
{
    struct pollfd fds[2] = {{w->wake[0], POLLIN, 0}, {w->ino_fd, POLLIN, 0}};
    int ms = timeout < 0 ? -1 : (int)FFMIN(timeout * 1000 + 1, 24 * 3600 * 1000);
    char drop[64];

    if (poll(fds, w->ino_fd >= 0 ? 2 : 1, ms) <= 0)
        return 0;
    while (read(w->wake[0], drop, sizeof(drop)) > 0)
        ;
    return fds[1].revents & POLLIN ? drain_events(w) : 0;
}

static int any_new(RxWatch *w)
{
    for (size_t i = 0; i < rx_ready_count(w->table); i++) {
        const RxReadyEntry *e = rx_ready_get(w->table, i);
        if (e->state == RX_READY_YES && !e->offered)
            return 1;
    }
    return 0;
}

int rx_watch_run(RxWatch *w, RxWatchCounts *counts)
{
    RxReporterOptions ro = w->o.batch.report;
    double last_watch, retry_at = -1;
    char why[128];
    int ret = 0, rewatch = 0;

    memset(counts, 0, sizeof(*counts));
    ro.stats_path = NULL; /* a pass's summary, not the watch's */
    if (!w->o.batch.journal_path && w->o.batch.n_roots) {
        /* The default log is beside the default journal: its directory
         * first, as a pass would make it. */
        ret = rx_journal_default_dir_create(w->o.batch.roots[0], w->error, sizeof(w->error));
        if (ret < 0)
            return ret;
    }
    if ((ret = rx_reporter_new(&w->rep, &ro)) < 0) {
        snprintf(w->error, sizeof(w->error), "cannot open log '%s': %s",
                 ro.log_path ? ro.log_path : "", rx_strerror(ret, why, sizeof(why)));
        return ret;
    }
    if (w->o.inotify && (w->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
        rx_reporter_note(w->rep, RX_LOG_WARN,
                         "no inotify here (%s): looking at the tree every %.0f s instead",
                         rx_strerror(AVERROR(errno), why, sizeof(why)), rescan_of(w));
    watch_all(w);
    last_watch = rx_clock_now();
    if (w->ino_fd >= 0)
        rx_reporter_note(w->rep, RX_LOG_INFO,
                         "watching %zu director%s for new recordings (settle %.0f s)", w->dirs,
                         w->dirs == 1 ? "y" : "ies", w->o.settle);
    else
        rx_reporter_note(w->rep, RX_LOG_INFO,
                         "watching %zu director%s for new recordings by a look every %.0f s "
                         "(settle %.0f s; no file system events)",
                         w->o.batch.n_roots, w->o.batch.n_roots == 1 ? "y" : "ies", rescan_of(w),
                         w->o.settle);

    while (!atomic_load(&w->stopping)) {
        double now = rx_clock_now(), rescan = rescan_of(w), next = rescan > 0 ? rescan : -1;
        int ev;

        if (rewatch || (rescan > 0 && now - last_watch >= rescan)) {
            watch_all(w); /* new directories; a watch lost to an overflow */
            last_watch = now;
        }
        if ((ret = look(w)) < 0) {
            snprintf(w->error, sizeof(w->error), "cannot look at the tree: %s",
                     rx_strerror(ret, why, sizeof(why)));
            break;
        }
        judge(w, &next);
        if (retry_at < 0 ? any_new(w) : now >= retry_at) {
            retry_at = -1;
            if ((ret = pass(w, counts)) < 0)
                break;
            if (ret == 1)
                retry_at = rx_clock_now() + LOCKED_RETRY;
            continue; /* look again: the pass renamed and wrote files */
        }
        if (retry_at >= 0)
            sooner(&next, retry_at - now);
        ev = wait_events(w, next);
        /* A burst of events (a copy, many files): one look per gap. */
        if (ev && rx_clock_now() - now < MIN_LOOK_GAP && !atomic_load(&w->stopping))
            ev = FFMAX(ev, wait_events(w, MIN_LOOK_GAP - (rx_clock_now() - now)));
        rewatch = ev == 2;
    }
    return ret < 0 ? ret : 0;
}

void rx_watch_stop(RxWatch *w, int hard)
{
    char one = 1;

    pthread_mutex_lock(&w->lock);
    atomic_store(&w->stopping, 1);
    w->hard |= hard;
    if (w->batch)
        rx_batch_interrupt(w->batch, hard);
    pthread_mutex_unlock(&w->lock);
    if (write(w->wake[1], &one, 1) < 0) { /* full: a wake is pending anyway */
    }
}

void rx_watch_free(RxWatch **pw)
{
    RxWatch *w;

    if (!pw || !*pw)
        return;
    w = *pw;
    if (w->ino_fd >= 0)
        close(w->ino_fd);
    for (int i = 0; i < 2; i++)
        if (w->wake[i] >= 0)
            close(w->wake[i]);
    rx_reporter_free(&w->rep);
    rx_ready_table_free(&w->table);
    pthread_mutex_destroy(&w->lock);
    av_freep(pw);
}
