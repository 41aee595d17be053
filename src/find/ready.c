/*
 * ready.c - the settle table, the writer check and the parse check (see
 * ready.h).
 *
 * The table is an array sorted by path: a look at the tree marks what it
 * sees (appending new files), rx_ready_end() drops the rest and sorts
 * again. Lookups between looks are binary searches.
 */
#include "find/ready.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/mem.h>

#include <libavutil/error.h>

struct RxReadyTable {
    RxReadyEntry *e;
    size_t n, cap;
    size_t sorted; /* e[0..sorted-1] is in path order (the rest: new this look) */
    double settle;
};

int rx_ready_table_new(RxReadyTable **out, double settle)
{
    RxReadyTable *t = av_mallocz(sizeof(*t));

    *out = NULL;
    if (!t)
        return AVERROR(ENOMEM);
    t->settle = settle;
    *out = t;
    return 0;
}

void rx_ready_table_free(RxReadyTable **pt)
{
    if (!pt || !*pt)
        return;
    for (size_t i = 0; i < (*pt)->n; i++)
        av_free((*pt)->e[i].path);
    av_free((*pt)->e);
    av_freep(pt);
}

void rx_ready_begin(RxReadyTable *t)
{
    for (size_t i = 0; i < t->n; i++)
        t->e[i].seen = 0;
}

static RxReadyEntry *search(const RxReadyTable *t, const char *path)
{
    size_t lo = 0, hi = t->sorted;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(path, t->e[mid].path);
        if (!c)
            return &t->e[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

RxReadyEntry *rx_ready_see(RxReadyTable *t, const char *path, int64_t size, int64_t mtime_ns,
                           double now, int64_t wall_ns)
{
    RxReadyEntry *e = search(t, path);

    if (!e) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 64;
            RxReadyEntry *p = av_realloc_array(t->e, cap, sizeof(*p));
            if (!p)
                return NULL;
            t->e = p;
            t->cap = cap;
        }
        e = &t->e[t->n];
        memset(e, 0, sizeof(*e));
        if (!(e->path = av_strdup(path)))
            return NULL;
        t->n++;
        e->size = size;
        e->mtime_ns = mtime_ns;
        e->since = now;
        e->checked = -1;
        /* There before we looked, untouched for the settle time: no need
         * to watch it for that long again. */
        if (wall_ns - mtime_ns >= (int64_t)(t->settle * 1e9))
            e->since = now - t->settle;
    } else if (e->size != size || e->mtime_ns != mtime_ns) {
        e->size = size;
        e->mtime_ns = mtime_ns;
        e->since = now;
        e->state = RX_READY_SETTLING;
        e->checked = -1;
        e->noted = 0;
        e->offered = 0;
    }
    e->seen = 1;
    return e;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const RxReadyEntry *)a)->path, ((const RxReadyEntry *)b)->path);
}

void rx_ready_end(RxReadyTable *t)
{
    size_t k = 0;

    for (size_t i = 0; i < t->n; i++) {
        if (!t->e[i].seen) {
            av_free(t->e[i].path);
            continue;
        }
        t->e[k++] = t->e[i];
    }
    t->n = k;
    if (t->n)
        qsort(t->e, t->n, sizeof(*t->e), by_path);
    t->sorted = t->n;
}

int rx_ready_settled(const RxReadyTable *t, const RxReadyEntry *e, double now, double *left)
{
    double l = e->since + t->settle - now;

    *left = l > 0 ? l : 0;
    return l <= 0;
}

size_t rx_ready_count(const RxReadyTable *t)
{
    return t->n;
}

RxReadyEntry *rx_ready_get(RxReadyTable *t, size_t i)
{
    return i < t->n ? &t->e[i] : NULL;
}

const RxReadyEntry *rx_ready_find(const RxReadyTable *t, const char *path, int64_t size,
                                  int64_t mtime_ns)
{
    const RxReadyEntry *e = search(t, path);

    return e && e->size == size && e->mtime_ns == mtime_ns ? e : NULL;
}

/* ---- the writer check */

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* The access mode in /proc/PID/fdinfo/FD ("flags:\t0100001", octal): is it
 * open for writing? */
static int fd_writes(const char *pid, const char *fd)
{
    char path[320], buf[256];
    ssize_t len;
    int f, writes = 0;

    snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
    if ((f = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0; /* closed meanwhile */
    len = read(f, buf, sizeof(buf) - 1);
    close(f);
    if (len <= 0)
        return 0;
    buf[len] = '\0';
    const char *flags = strstr(buf, "flags:");
    if (flags) {
        unsigned long v = strtoul(flags + 6, NULL, 8);
        writes = (v & O_ACCMODE) == O_WRONLY || (v & O_ACCMODE) == O_RDWR;
    }
    return writes;
}

/* One process's open files against the wanted ones. -1: may not look. */
static int scan_process(const char *pid, RxReadyFile *files, size_t n)
{
    char path[288];
    DIR *d;
    struct dirent *de;

    snprintf(path, sizeof(path), "/proc/%s/fd", pid);
    if (!(d = opendir(path)))
        return errno == ENOENT ? 0 : -1; /* ENOENT: it exited meanwhile */
    while ((de = readdir(d))) {
        struct stat st;
        if (!all_digits(de->d_name) || fstatat(dirfd(d), de->d_name, &st, 0) < 0)
            continue; /* stat follows the link to the open file */
        if (!S_ISREG(st.st_mode))
            continue;
        for (size_t i = 0; i < n; i++) {
            if (files[i].written || files[i].dev != (uint64_t)st.st_dev ||
                files[i].ino != (uint64_t)st.st_ino)
                continue;
            files[i].written = fd_writes(pid, de->d_name);
        }
    }
    closedir(d);
    return 0;
}

int rx_ready_writers(RxReadyFile *files, size_t n, RxReadyScan *scan)
{
    DIR *proc;
    struct dirent *de;

    memset(scan, 0, sizeof(*scan));
    for (size_t i = 0; i < n; i++)
        files[i].written = 0;
    if (!(proc = opendir("/proc")))
        return AVERROR(errno);
    while ((de = readdir(proc))) {
        if (!all_digits(de->d_name))
            continue;
        scan->processes++;
        if (scan_process(de->d_name, files, n) < 0)
            scan->unreadable++;
    }
    closedir(proc);
    return 0;
}

/* ---- the parse check */

int rx_ready_parses(const char *path, char *why, size_t size)
{
    AVFormatContext *ic = NULL;
    int ret;

    if (size)
        why[0] = '\0';
    ret = avformat_open_input(&ic, path, NULL, NULL);
    if (ret < 0) {
        /* The mov demuxer's "moov atom not found": the recorder has not
         * written the index yet (it comes last). */
        snprintf(why, size, "does not open as media yet: %s (an MP4 without its index?)",
                 av_err2str(ret));
        return ret;
    }
    ret = avformat_find_stream_info(ic, NULL);
    if (ret < 0)
        snprintf(why, size, "its streams cannot be read yet: %s", av_err2str(ret));
    if (ret >= 0 && !ic->nb_streams) {
        snprintf(why, size, "no streams yet");
        ret = AVERROR_INVALIDDATA;
    }
    avformat_close_input(&ic);
    return ret < 0 ? ret : 0;
}
