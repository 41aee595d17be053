/*
 * journal.c - the crash-safe checkpoint journal proper (see journal.h, and
 * docs/journal.md for the format and the protocol): open and lock, the
 * session record, durable appends, the replay (torn tail, damaged middle),
 * crash files read back. The record codec is record.c, the entries entry.c,
 * the index index.c, repair repair.c, file identity fileid.c.
 */
#include "reencode/journal.h"
#include "reencode/settings.h"
#include "core/fsutil.h"
#include "core/text.h"
#include "journal/journal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/avstring.h>
#include <libavutil/bprint.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>

/* Read the whole file from offset 0 (whatever the fd's offset), until EOF. */
int rx_journal_read_all(int fd, char **out, size_t *out_len)
{
    return rx_read_fd(fd, FILE_MAX_BYTES, out, out_len);
}

/* ---- replay ---- */

static void note_bad(RxJournalReport *rep, long line, int64_t offset, const char *why)
{
    rep->corrupt_line = line;
    rep->corrupt_offset = offset;
    snprintf(rep->reason, sizeof(rep->reason), "%s", why);
}

/* One valid record of a replay: a session record names the lock's holder, a
 * file record becomes its file's latest entry (not in LOAD_PEEK). */
static int replay_rec(RxJournal *j, const Rec *r, RxJournalReport *rep, enum LoadMode mode)
{
    RxJournalEntry *e;
    int ret;

    if (!strcmp(r->str[K_TYPE], "session")) {
        rep->holder_pid = (long)r->num[K_PID];
        rep->holder_run = (long)r->num[r->present & KBIT(K_PARENT) ? K_PARENT : K_PID];
        snprintf(rep->holder_host, sizeof(rep->holder_host), "%s", r->str[K_HOST]);
        snprintf(rep->holder_time, sizeof(rep->holder_time), "%s", r->str[K_TIME]);
        return 0;
    }
    if (mode == LOAD_PEEK)
        return 0;
    ret = rx_index_reserve(j);
    if (ret < 0)
        return ret;
    e = rx_entry_from_rec(r);
    if (!e)
        return AVERROR(ENOMEM);
    rx_index_publish(j, e);
    return 0;
}

/*
 * Replay buf into j (NULL in LOAD_PEEK). *valid_end is set to the end of the
 * last valid record. In LOAD_SALVAGE the valid lines are copied, in order, to
 * kept (len bytes of room) and *kept_len is set.
 */
int rx_journal_load(RxJournal *j, const char *buf, size_t len, RxJournalReport *rep,
                    enum LoadMode mode, int64_t *valid_end, char *kept, size_t *kept_len)
{
    char *scratch = malloc(LINE_MAX_BYTES + 1);
    int64_t last_seq = 0;
    size_t off = 0, nkept = 0;
    long line = 0;
    int ret = 0;

    *valid_end = 0;
    if (!scratch)
        return AVERROR(ENOMEM);
    while (off < len) {
        const char *nl = memchr(buf + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
        size_t next = nl ? off + n + 1 : len;
        const char *why;
        Rec r;

        line++;
        if (n >= LINE_MAX_BYTES)
            why = "line too long";
        else if (!nl)
            why = "incomplete line (no newline at the end)";
        else
            why = rx_rec_parse_line(buf + off, n, &r, scratch);
        if (!why && !strcmp(r.str[K_TYPE], "crash"))
            why = "crash record in a journal";
        if (!why && r.num[K_SEQ] <= last_seq)
            why = "sequence number does not increase";
        if (!why) {
            ret = replay_rec(j, &r, rep, mode);
            if (ret < 0)
                goto done;
            if (j)
                j->seq = r.num[K_SEQ];
            last_seq = r.num[K_SEQ];
            rep->records++;
            if (mode == LOAD_SALVAGE) {
                memcpy(kept + nkept, buf + off, next - off);
                nkept += next - off;
            }
            *valid_end = (int64_t)next;
            off = next;
            continue;
        }
        switch (mode) {
        case LOAD_PEEK:
            break;
        case LOAD_SALVAGE:
            if (!rep->dropped)
                note_bad(rep, line, (int64_t)off, why);
            rep->dropped++;
            break;
        case LOAD_STRICT:
            /* Only the last line can be a torn write (every later append
             * starts by cutting it off), and only if it could be a record. */
            if (next < len || n >= LINE_MAX_BYTES) {
                note_bad(rep, line, (int64_t)off, why);
                ret = AVERROR_INVALIDDATA;
                goto done;
            }
            if (!rep->records && !rx_rec_looks_like_journal(buf + off, n)) {
                note_bad(rep, line, (int64_t)off, "not a reencode journal");
                ret = AVERROR_INVALIDDATA;
                goto done;
            }
            /* What a crash leaves: the write of the last record was cut. */
            rep->torn_tail = 1;
            rep->torn_line = line;
            rep->torn_offset = (int64_t)off;
            snprintf(rep->reason, sizeof(rep->reason), "%s", why);
            break;
        }
        off = next;
    }
    if (mode == LOAD_SALVAGE) {
        *kept_len = nkept;
        if (!rep->records && len && !rx_rec_looks_like_journal(buf, len)) {
            snprintf(rep->reason, sizeof(rep->reason), "not a reencode journal");
            ret = AVERROR_INVALIDDATA;
        }
    }
done:
    free(scratch);
    return ret;
}

void rx_journal_crashes_free(RxCrashRecord **recs, size_t n)
{
    if (!recs || !*recs)
        return;
    for (size_t i = 0; i < n; i++)
        rx_file_id_clear(&(*recs)[i].id);
    av_freep(recs);
}

int rx_journal_read_crashes(const char *buf, size_t len, RxCrashRecord **out, size_t *n,
                            RxJournalReport *report)
{
    RxJournalReport dummy;
    char *scratch = malloc(LINE_MAX_BYTES + 1);
    RxCrashRecord *recs = NULL;
    size_t off = 0, cap = 0;
    long line = 0;
    int ret = 0;

    if (!report)
        report = &dummy;
    memset(report, 0, sizeof(*report));
    *out = NULL;
    *n = 0;
    if (!scratch)
        return AVERROR(ENOMEM);
    while (off < len) {
        const char *nl = memchr(buf + off, '\n', len - off);
        size_t ln = nl ? (size_t)(nl - (buf + off)) : len - off;
        const char *why;
        RxCrashRecord *c;
        Rec r;

        line++;
        if (ln >= LINE_MAX_BYTES)
            why = "line too long";
        else if (!nl)
            why = "incomplete line (no newline at the end)";
        else
            why = rx_rec_parse_line(buf + off, ln, &r, scratch);
        if (!why && strcmp(r.str[K_TYPE], "crash"))
            why = "not a crash record";
        if (!why && *n == cap) {
            RxCrashRecord *more = av_realloc_array(recs, cap ? 2 * cap : 8, sizeof(*recs));
            if (!more) {
                ret = AVERROR(ENOMEM);
                break;
            }
            recs = more;
            cap = cap ? 2 * cap : 8;
        }
        if (!why) {
            c = &recs[*n];
            memset(c, 0, sizeof(*c));
            c->id.rel = strdup(r.str[K_REL]);
            if (!c->id.rel) {
                ret = AVERROR(ENOMEM);
                break;
            }
            c->id.size = r.num[K_SIZE];
            memcpy(c->id.hash, r.str[K_HASH], sizeof(c->id.hash));
            c->pid = (long)r.num[K_PID];
            memcpy(c->crash, r.str[K_CRASH], sizeof(c->crash));
            snprintf(c->signal, sizeof(c->signal), "%s", r.str[K_SIGNAL]);
            c->alone = (int)r.num[K_ALONE];
            snprintf(c->time, sizeof(c->time), "%s", r.str[K_TIME]);
            (*n)++;
            report->records++;
        } else {
            if (!report->dropped)
                note_bad(report, line, (int64_t)off, why);
            report->dropped++;
        }
        off = nl ? off + ln + 1 : len;
    }
    free(scratch);
    if (ret < 0) {
        rx_journal_crashes_free(&recs, *n);
        *n = 0;
        return ret;
    }
    *out = recs;
    return 0;
}

/* ---- the journal ---- */

int rx_journal_dir_create(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0755) == 0)
        return rx_fsync_parent(dir);
    if (errno != EEXIST)
        return AVERROR(errno);
    if (stat(dir, &st) < 0)
        return AVERROR(errno);
    return S_ISDIR(st.st_mode) ? 0 : AVERROR(ENOTDIR);
}

int rx_journal_default_dir_create(const char *base, char *err, size_t errsize)
{
    char why[128];
    char *dir = av_asprintf("%s/%s", base, RX_JOURNAL_DIR);
    int ret;

    if (!dir) {
        snprintf(err, errsize, "out of memory");
        return AVERROR(ENOMEM);
    }
    ret = rx_journal_dir_create(dir);
    if (ret < 0)
        snprintf(err, errsize, "cannot create '%s': %s", dir, rx_strerror(ret, why, sizeof(why)));
    av_free(dir);
    return ret;
}

RxJournal *rx_journal_new(void)
{
    RxJournal *j = calloc(1, sizeof(*j));

    if (!j)
        return NULL;
    j->fd = -1;
    j->tcap = 64;
    j->table = calloc(j->tcap, sizeof(*j->table));
    if (!j->table || pthread_mutex_init(&j->lock, NULL)) {
        free(j->table);
        free(j);
        return NULL;
    }
    return j;
}

void rx_journal_close(RxJournal **pj)
{
    RxJournal *j = pj ? *pj : NULL;

    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++)
        rx_entry_free(j->files[i]);
    for (size_t i = 0; i < j->nretired; i++)
        rx_entry_free(j->retired[i]);
    free(j->files);
    free(j->retired);
    free(j->table);
    if (j->fd >= 0)
        close(j->fd); /* releases the lock */
    pthread_mutex_destroy(&j->lock);
    free(j);
    *pj = NULL;
}

/* After a refused lock: who holds it? The holder appends its session record
 * right after locking, so for a moment the last one may still be its
 * predecessor's; a dead pid on this host means exactly that, so look again
 * (briefly: the caller wants an answer at once). */
static void peek_holder(int fd, RxJournalReport *rep)
{
    char host[256] = "";

    gethostname(host, sizeof(host) - 1);
    for (int tries = 0; tries < 10; tries++) {
        RxJournalReport r = {0};
        int64_t end;
        size_t len;
        char *buf;

        if (rx_journal_read_all(fd, &buf, &len) < 0)
            return;
        rx_journal_load(NULL, buf, len, &r, LOAD_PEEK, &end, NULL, NULL);
        free(buf);
        rep->holder_pid = r.holder_pid;
        rep->holder_run = r.holder_run;
        memcpy(rep->holder_host, r.holder_host, sizeof(rep->holder_host));
        memcpy(rep->holder_time, r.holder_time, sizeof(rep->holder_time));
        if (r.holder_pid &&
            (strcmp(r.holder_host, host) || kill((pid_t)r.holder_pid, 0) == 0 || errno != ESRCH))
            return;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
}

/* Is the lock holder rep names a process of this host on its way out? A
 * killed process keeps its lock until its last thread has torn down its
 * memory, some milliseconds after a parent or a shell saw it die: a
 * supervisor's worker killed with it (supervise.h), a run killed and
 * restarted at once. Its kernel state says so: a zombie, or exiting. */
static int holder_exiting(const RxJournalReport *rep)
{
    char host[256] = "", path[64], buf[512], status[4096], state;
    unsigned long flags = 0;
    const char *p;
    ssize_t n;
    int fd;

    gethostname(host, sizeof(host) - 1);
    if (rep->holder_pid <= 0 || strcmp(rep->holder_host, host))
        return 0;
    snprintf(path, sizeof(path), "/proc/%ld/stat", rep->holder_pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* gone (then not the holder), or no /proc */
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* "pid (comm) S ppid pgrp session tty tpgid flags ...": comm may hold
     * anything, so from the last ')'. */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
        return 0;
    if (state == 'Z' || state == 'X' || (flags & 0x4)) /* PF_EXITING */
        return 1;
    /* A SIGKILL pending: sent a moment ago, not yet acted on. */
    snprintf(path, sizeof(path), "/proc/%ld/status", rep->holder_pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, status, sizeof(status) - 1);
    close(fd);
    status[n > 0 ? n : 0] = '\0';
    for (const char *key = "SigPnd:"; key; key = strcmp(key, "SigPnd:") ? NULL : "ShdPnd:") {
        unsigned long long pending = 0;
        p = strstr(status, key);
        if (p && sscanf(p + strlen(key), " %llx", &pending) == 1 &&
            (pending & (1ull << (SIGKILL - 1))))
            return 1;
    }
    return 0;
}

char *rx_journal_default_path(const char *base)
{
    return av_asprintf("%s/%s/%s", base, RX_JOURNAL_DIR, RX_JOURNAL_NAME);
}

/* Open path read-write and lock it. The lock is on the inode: if path names
 * another file once we hold it (a repair renamed a new journal over it while
 * we waited), the lock protects nothing, so start again. A holder that is
 * exiting is waited for, up to 5 s. */
int rx_journal_open_locked(const char *path, int create, int wait, RxJournalReport *rep, int *pfd)
{
    for (int exiting = 0;;) {
        struct stat a, b;
        int fd, created = 0, ret;

        fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
            fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_CREAT | O_EXCL, 0644);
            if (fd < 0 && errno == EEXIST)
                continue;
            created = 1;
        }
        if (fd < 0)
            return AVERROR(errno);
        if (created) {
            ret = rx_fsync_parent(path);
            if (ret < 0) {
                close(fd);
                return ret;
            }
        }
        if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
            ret = AVERROR(errno);
            if (errno == EWOULDBLOCK)
                peek_holder(fd, rep);
            close(fd);
            if (ret == AVERROR(EWOULDBLOCK) && exiting++ < 250 && holder_exiting(rep)) {
                nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
                continue;
            }
            return ret;
        }
        if (fstat(fd, &a) < 0) {
            ret = AVERROR(errno);
            close(fd);
            return ret;
        }
        if (stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            if (!S_ISREG(a.st_mode)) {
                close(fd);
                return AVERROR(EINVAL);
            }
            *pfd = fd;
            return 0;
        }
        close(fd);
    }
}

/* Append one whole line and make it durable. Caller holds j->lock (or is
 * alone with j). */
static int write_line(RxJournal *j, const char *line, size_t len)
{
    int ret;

    if (j->failed)
        return j->failed;
    if ((ret = rx_write_all(j->fd, line, len)) < 0) {
        /* Cut a partial line off now, or the next record would be glued to
         * it and the damage would no longer be at the tail. */
        if (ftruncate(j->fd, (off_t)j->end) < 0)
            j->failed = ret;
        return ret;
    }
    if (fdatasync(j->fd) < 0) {
        /* The kernel may have dropped the dirty pages: what is on disk is
         * unknown, so nothing more may be trusted to this descriptor. */
        j->failed = AVERROR(errno);
        return j->failed;
    }
    j->end += (int64_t)len;
    return 0;
}

static int append_session(RxJournal *j, int supervised)
{
    char host[256] = "", time[32];
    AVBPrint bp;
    Rec r = {0};
    int ret;

    if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
        snprintf(host, sizeof(host), "unknown");
    rx_rec_now_iso(time);
    r.present = KBIT(K_V) | KBIT(K_SEQ) | KBIT(K_TIME) | KBIT(K_TYPE) | KBIT(K_PID) | KBIT(K_HOST);
    r.num[K_V] = FORMAT_VERSION;
    r.num[K_SEQ] = j->seq + 1;
    r.str[K_TIME] = time;
    r.str[K_TYPE] = "session";
    r.num[K_PID] = getpid();
    r.str[K_HOST] = host;
    if (supervised) { /* the run a person started and would signal */
        r.num[K_PARENT] = getppid();
        r.present |= KBIT(K_PARENT);
    }
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_rec_format(&bp, &r);
    if (!av_bprint_is_complete(&bp))
        ret = AVERROR(ENOMEM);
    else
        ret = write_line(j, bp.str, bp.len);
    if (ret >= 0)
        j->seq++;
    av_bprint_finalize(&bp, NULL);
    return ret;
}

int rx_journal_open(RxJournal **out, const char *path, unsigned flags, RxJournalReport *report)
{
    RxJournalReport dummy;
    RxJournal *j = NULL;
    char *buf = NULL;
    size_t len;
    int64_t valid_end;
    int ret;

    if (!report)
        report = &dummy;
    memset(report, 0, sizeof(*report));
    *out = NULL;
    j = rx_journal_new();
    if (!j)
        return AVERROR(ENOMEM);
    j->readonly = !!(flags & RX_JOURNAL_READONLY);
    if (j->readonly) {
        j->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (j->fd < 0) {
            ret = AVERROR(errno);
            goto fail;
        }
    } else {
        ret = rx_journal_open_locked(path, 1, !!(flags & RX_JOURNAL_WAIT), report, &j->fd);
        if (ret < 0)
            goto fail;
    }
    ret = rx_journal_read_all(j->fd, &buf, &len);
    if (ret < 0)
        goto fail;
    ret = rx_journal_load(j, buf, len, report, LOAD_STRICT, &valid_end, NULL, NULL);
    if (ret < 0)
        goto fail;
    j->end = valid_end;
    if (!j->readonly) {
        if (report->torn_tail && (ftruncate(j->fd, (off_t)valid_end) < 0 || fsync(j->fd) < 0)) {
            ret = AVERROR(errno);
            goto fail;
        }
        ret = append_session(j, !!(flags & RX_JOURNAL_SUPERVISED));
        if (ret < 0)
            goto fail;
    }
    j->live = 1;
    free(buf);
    *out = j;
    return 0;
fail:
    free(buf);
    rx_journal_close(&j);
    return ret;
}

int rx_journal_open_buffer(RxJournal **out, const void *data, size_t size, RxJournalReport *report)
{
    RxJournalReport dummy;
    RxJournal *j;
    int64_t valid_end;
    int ret;

    if (!report)
        report = &dummy;
    memset(report, 0, sizeof(*report));
    *out = NULL;
    j = rx_journal_new();
    if (!j)
        return AVERROR(ENOMEM);
    j->readonly = 1;
    ret = rx_journal_load(j, data, size, report, LOAD_STRICT, &valid_end, NULL, NULL);
    if (ret < 0) {
        rx_journal_close(&j);
        return ret;
    }
    j->end = valid_end;
    j->live = 1;
    *out = j;
    return 0;
}

/* A record of id; with note, one in its latest state and attempt
 * (rx_journal_note()), state ignored; with crash, that crash added
 * (rx_journal_crash()). */
static int record(RxJournal *j, const RxFileId *id, RxState state, const RxResult *res,
                  const char *output, const char *original, int note, const RxCrashRecord *crash)
{
    const RxJournalEntry *prev;
    RxJournalEntry *e = NULL;
    AVBPrint bp;
    Rec r;
    int ret;

    if (!j || !rx_index_valid_id(id) || (int)state < RX_STATE_PENDING ||
        state > RX_STATE_INTERRUPTED || (original && !rx_rec_is_original(original)))
        return AVERROR(EINVAL);
    if (j->readonly)
        return AVERROR(EBADF);
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    pthread_mutex_lock(&j->lock);
    ret = rx_index_reserve(j);
    if (ret < 0)
        goto fail;
    prev = rx_index_lookup(j, id);
    if ((note || crash) && !prev) {
        ret = crash ? AVERROR(ENOENT) : AVERROR(EINVAL);
        goto fail;
    }
    if (crash && !strcmp(prev->crash, crash->crash))
        goto fail; /* folded in before: ret is 0 */
    if (note)
        state = prev->result.state;
    e = rx_entry_next(prev, id, state, res, output, original, note);
    if (!e) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    if (crash)
        rx_entry_add_crash(e, crash);
    e->seq = j->seq + 1;
    rx_rec_now_iso(e->time);
    rx_entry_to_rec(&r, e, rx_state_name(state));
    rx_rec_format(&bp, &r);
    if (!av_bprint_is_complete(&bp)) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    if (bp.len >= LINE_MAX_BYTES) {
        ret = AVERROR(ENAMETOOLONG);
        goto fail;
    }
    ret = write_line(j, bp.str, bp.len);
    if (ret < 0)
        goto fail;
    /* Only now that it is on disk may find() answer with it. */
    j->seq = e->seq;
    rx_index_publish(j, e);
    e = NULL;
fail:
    pthread_mutex_unlock(&j->lock);
    av_bprint_finalize(&bp, NULL);
    rx_entry_free(e);
    return ret;
}

int rx_journal_record(RxJournal *j, const RxFileId *id, RxState state, const RxResult *res,
                      const char *output, const char *original)
{
    return record(j, id, state, res, output, original, 0, NULL);
}

int rx_journal_note(RxJournal *j, const RxFileId *id, const RxResult *res)
{
    if (!res)
        return AVERROR(EINVAL);
    return record(j, id, RX_STATE_PENDING, res, NULL, NULL, 1, NULL);
}

int rx_journal_crash(RxJournal *j, const RxCrashRecord *c, const RxResult *failed)
{
    const RxJournalEntry *e;

    if (!j || !c || !rx_rec_is_crash_id(c->crash) ||
        !rx_rec_is_signal_name(c->signal, strlen(c->signal)))
        return AVERROR(EINVAL);
    e = rx_journal_find(j, &c->id);
    if (!e)
        return AVERROR(ENOENT);
    /* Entries live until close: e->id stays valid while record() runs. */
    if (failed)
        return record(j, &e->id, RX_STATE_FAILED, failed, NULL, NULL, 0, c);
    return record(j, &e->id, RX_STATE_PENDING, NULL, NULL, NULL, 1, c);
}

int64_t rx_journal_seq(RxJournal *j)
{
    int64_t seq;

    if (!j)
        return 0;
    pthread_mutex_lock(&j->lock);
    seq = j->seq;
    pthread_mutex_unlock(&j->lock);
    return seq;
}
