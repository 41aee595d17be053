/*
 * crash.c - crash records: armed slots, the fatal-signal handler, the crash
 * file (see crash.h; the format is in docs/journal.md).
 *
 * Everything the handler touches is in the area, prepared before the
 * crash: the head of each line in flight, its running CRC, the crash
 * file's descriptor, a scratch line. The handler itself only reads atomics,
 * copies bytes, does arithmetic and calls write(2), fdatasync(2),
 * clock_gettime(2), sigaction(2) and raise(3), all async-signal-safe.
 *
 * Publishing a slot: each slot has two buffers. Arming writes the buffer
 * not published last, then stores its number (release); the handler loads
 * the number (acquire) and reads that buffer. The published buffer is not
 * written again until another one was published after it, which takes a
 * whole encode, so a handler never reads a half-built line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/bprint.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>

#include "core/fsutil.h"
#include "journal/crash.h"

#define HEAD_MAX 16384 /* a longer rel is recorded as "" (found by content) */
#define TAIL_MAX 128
#define NAME_LEN 256
#define READ_MAX ((int64_t)64 << 20) /* a larger crash file is not ours */

typedef struct Record {
    size_t len;          /* bytes of head */
    uint32_t crc;        /* CRC-32 register after head */
    char name[NAME_LEN]; /* the file, for people */
    char head[HEAD_MAX];
} Record;

typedef struct Slot {
    atomic_uint armed; /* 0: idle; k + 1: rec[k] is the file being encoded */
    unsigned next;     /* the buffer the next arm writes (the slot's owner only) */
    Record rec[2];
} Slot;

struct RxCrashArea {
    atomic_int fd;         /* the crash file, -1 when none */
    atomic_int owner;      /* thread id in the handler, 0 when none */
    atomic_int handled;    /* 1: the handler wrote the line of every armed slot */
    atomic_int supervised; /* a supervisor reads this area (it speaks for the crash) */
    atomic_int restarts;   /* workers started after a crash */
    atomic_int last_signal;
    _Atomic int64_t run_seq;        /* the first worker's journal session, 0 until known */
    char crash[17];                 /* this process's crash id */
    char journal[4096];             /* the journal's path ("" when too long, or none) */
    char line[HEAD_MAX + TAIL_MAX]; /* the handler's (or the supervisor's) scratch */
    Slot slots[RX_CRASH_SLOTS];
};

/* The area the handler writes from: a signal handler takes no argument. */
static RxCrashArea *_Atomic installed;

/* This thread's alternate signal stack, when rx_crash_altstack_push() made it. */
static _Thread_local void *alt_stack;
static _Thread_local size_t alt_size;

static const struct {
    int sig;
    const char *name;
} signal_names[] = {
    {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"},   {SIGABRT, "SIGABRT"}, {SIGFPE, "SIGFPE"},
    {SIGILL, "SIGILL"},   {SIGKILL, "SIGKILL"}, {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"},
    {SIGHUP, "SIGHUP"},   {SIGQUIT, "SIGQUIT"}, {SIGTRAP, "SIGTRAP"}, {SIGSYS, "SIGSYS"},
    {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGPIPE, "SIGPIPE"}, {SIGUSR1, "SIGUSR1"},
    {SIGUSR2, "SIGUSR2"}, {SIGALRM, "SIGALRM"},
};

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};

const char *rx_crash_signal_name(int sig)
{
    for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
        if (signal_names[i].sig == sig)
            return signal_names[i].name;
    return "SIGUNKNOWN";
}

int rx_crash_is_fatal(int sig)
{
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        if (fatal_signals[i] == sig)
            return 1;
    return 0;
}

/* ---- the area */

int rx_crash_area_new(RxCrashArea **out)
{
    RxCrashArea *a =
        mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    *out = NULL;
    if (a == MAP_FAILED)
        return AVERROR(errno);
    /* Zero pages; only the atomics need a value other than zero. */
    atomic_init(&a->fd, -1);
    *out = a;
    return 0;
}

void rx_crash_area_free(RxCrashArea **pa)
{
    RxCrashArea *a = pa ? *pa : NULL;

    if (!a)
        return;
    if (atomic_load(&installed) == a)
        atomic_store(&installed, NULL);
    munmap(a, sizeof(*a));
    *pa = NULL;
}

int64_t rx_crash_run_seq(RxCrashArea *a, int64_t own)
{
    int64_t none = 0;

    if (!a)
        return own;
    if (atomic_compare_exchange_strong(&a->run_seq, &none, own))
        return own;
    return none;
}

void rx_crash_set_supervised(RxCrashArea *a)
{
    atomic_store(&a->supervised, 1);
}

int rx_crash_restarts(const RxCrashArea *a, int *sig)
{
    if (!a) {
        *sig = 0;
        return 0;
    }
    *sig = atomic_load(&a->last_signal);
    return atomic_load(&a->restarts);
}

/* ---- async-signal-safe formatting */

uint32_t rx_crash_crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (UINT32_C(0xedb88320) & (0u - (crc & 1u)));
    }
    return crc;
}

/* Appends s at out[*at] while it fits (size - 1 bytes); returns 0 when cut. */
static int put(char *out, size_t size, size_t *at, const char *s, size_t n)
{
    if (*at >= size || n > size - 1 - *at)
        return 0;
    memcpy(out + *at, s, n);
    *at += n;
    return 1;
}

static int puts0(char *out, size_t size, size_t *at, const char *s)
{
    return put(out, size, at, s, strlen(s));
}

static int put_digits(char *out, size_t size, size_t *at, long v, int width)
{
    char d[24];

    for (int i = width - 1; i >= 0; i--, v /= 10)
        d[i] = (char)('0' + v % 10);
    return put(out, size, at, d, (size_t)width);
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, long *y, long *m, long *d)
{
    int64_t era, yy;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    yy = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (long)(doy - (153 * mp + 2) / 5 + 1);
    *m = mp < 10 ? (long)mp + 3 : (long)mp - 9;
    *y = (long)(yy + (*m <= 2));
}

/* "2024-05-01T12:34:56.789Z", as the journal's times (years clamped to
 * 0..9999, so the line stays valid whatever the clock says). */
static int put_time(char *out, size_t size, size_t *at, const struct timespec *now)
{
    int64_t s = now->tv_sec, days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
    long sec = (long)(s - days * 86400), y, m, d, ms = now->tv_nsec / 1000000;

    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        y = y < 0 ? 0 : 9999;
        m = d = 1;
        sec = ms = 0;
    }
    return put_digits(out, size, at, y, 4) && puts0(out, size, at, "-") &&
           put_digits(out, size, at, m, 2) && puts0(out, size, at, "-") &&
           put_digits(out, size, at, d, 2) && puts0(out, size, at, "T") &&
           put_digits(out, size, at, sec / 3600, 2) && puts0(out, size, at, ":") &&
           put_digits(out, size, at, sec / 60 % 60, 2) && puts0(out, size, at, ":") &&
           put_digits(out, size, at, sec % 60, 2) && puts0(out, size, at, ".") &&
           put_digits(out, size, at, ms, 3) && puts0(out, size, at, "Z");
}

size_t rx_crash_format_line(char *out, size_t size, const char *head, size_t len, uint32_t crc,
                            int alone, int sig, const struct timespec *now)
{
    static const char hex[] = "0123456789abcdef";
    size_t at = 0, body;
    char sum[10];

    if (!size || !put(out, size, &at, head, len) || !puts0(out, size, &at, ",\"alone\":") ||
        !puts0(out, size, &at, alone ? "1" : "0") || !puts0(out, size, &at, ",\"signal\":\"") ||
        !puts0(out, size, &at, rx_crash_signal_name(sig)) ||
        !puts0(out, size, &at, "\",\"time\":\"") || !put_time(out, size, &at, now) ||
        !puts0(out, size, &at, "\"}"))
        return 0;
    body = at;
    crc = ~rx_crash_crc32(crc, out + len, body - len);
    sum[0] = ' ';
    for (int i = 0; i < 8; i++)
        sum[1 + i] = hex[(crc >> (28 - 4 * i)) & 15];
    sum[9] = '\n';
    if (!put(out, size, &at, sum, sizeof(sum)))
        return 0;
    return at;
}

/* ---- the handler */

static int armed_count(RxCrashArea *a)
{
    int n = 0;

    for (int i = 0; i < RX_CRASH_SLOTS; i++)
        n += atomic_load_explicit(&a->slots[i].armed, memory_order_acquire) != 0;
    return n;
}

/* The line of every armed slot to fd; the number written. */
static int write_lines(RxCrashArea *a, int fd, int sig)
{
    struct timespec now;
    int alone = armed_count(a) == 1, n = 0;

    clock_gettime(CLOCK_REALTIME, &now);
    for (int i = 0; i < RX_CRASH_SLOTS; i++) {
        unsigned k = atomic_load_explicit(&a->slots[i].armed, memory_order_acquire);
        const Record *r;
        size_t len;

        if (!k)
            continue;
        r = &a->slots[i].rec[k - 1];
        len = rx_crash_format_line(a->line, sizeof(a->line), r->head, r->len, r->crc, alone, sig,
                                   &now);
        if (len) {
            rx_write_all(fd, a->line, len);
            n++;
        }
    }
    if (n)
        fdatasync(fd);
    return n;
}

/* Without a supervisor, the only word a person gets besides the shell's
 * "Segmentation fault". */
static void say_crashed(RxCrashArea *a, int sig)
{
    for (int i = 0; i < RX_CRASH_SLOTS; i++) {
        unsigned k = atomic_load_explicit(&a->slots[i].armed, memory_order_acquire);
        size_t at = 0;

        if (!k)
            continue;
        if (puts0(a->line, sizeof(a->line), &at, "reencode: error: crashed (") &&
            puts0(a->line, sizeof(a->line), &at, rx_crash_signal_name(sig)) &&
            puts0(a->line, sizeof(a->line), &at, ") while encoding '") &&
            puts0(a->line, sizeof(a->line), &at, a->slots[i].rec[k - 1].name) &&
            puts0(a->line, sizeof(a->line), &at, "'; recorded: run again to resume\n"))
            rx_write_all(STDERR_FILENO, a->line, at);
    }
}

/* The default action of sig, now: the process ends as it would have
 * without the handler (exit status, core dump). */
static void die(int sig)
{
    struct sigaction sa;
    sigset_t set;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached: the default action of each is to end */
}

static void on_fatal(int sig)
{
    RxCrashArea *a = atomic_load(&installed);
    int me = gettid(), owner = 0, fd;

    if (!a)
        die(sig);
    if (!atomic_compare_exchange_strong(&a->owner, &owner, me)) {
        if (owner == me)
            die(sig); /* a fault in the handler itself: no second try */
        /* Another thread is writing the lines; it ends the process when
         * done. Should it hang, end it from here. */
        for (int i = 0; i < 2000; i++)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        die(sig);
    }
    fd = atomic_load(&a->fd);
    if (fd >= 0)
        write_lines(a, fd, sig);
    atomic_store(&a->handled, 1);
    if (!atomic_load(&a->supervised))
        say_crashed(a, sig);
    die(sig);
}

int rx_crash_install(RxCrashArea *a)
{
    struct sigaction sa;

    atomic_store(&installed, a);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESETHAND: a second thread faulting while the first writes
     * would then end the process with half the lines written; the handler
     * waits for the writer instead, and restores the default itself.
     * SA_NODEFER: a fault inside the handler re-enters it (and ends the
     * process at once) instead of hanging on a blocked signal. */
    sa.sa_flags = SA_ONSTACK | SA_NODEFER;
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        if (sigaction(fatal_signals[i], &sa, NULL) < 0)
            return AVERROR(errno);
    return 0;
}

int rx_crash_altstack_push(void)
{
    long min = sysconf(_SC_MINSIGSTKSZ);
    size_t size = 64 * 1024;
    stack_t ss, old;
    void *p;

    if (alt_stack || (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE)))
        return 0;
    if (min > 0 && (size_t)min * 4 > size)
        size = (size_t)min * 4;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        return AVERROR(errno);
    memset(&ss, 0, sizeof(ss));
    ss.ss_sp = p;
    ss.ss_size = size;
    if (sigaltstack(&ss, NULL) < 0) {
        int ret = AVERROR(errno);
        munmap(p, size);
        return ret;
    }
    alt_stack = p;
    alt_size = size;
    return 0;
}

void rx_crash_altstack_pop(void)
{
    stack_t ss;

    if (!alt_stack)
        return;
    memset(&ss, 0, sizeof(ss));
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    munmap(alt_stack, alt_size);
    alt_stack = NULL;
    alt_size = 0;
}

/* ---- the crash file */

static char *crash_path(const char *journal)
{
    return av_asprintf("%s.crash", journal);
}

/* This process's crash id: 64 random bits (time and pid without them). */
static void new_crash_id(char out[17])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v = 0;

    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec << 20 ^ (uint64_t)getpid();
    }
    for (int i = 0; i < 16; i++)
        out[i] = hex[(v >> (60 - 4 * i)) & 15];
    out[16] = '\0';
}

int rx_crash_open(RxCrashArea *a, const char *journal_path, RxCrashRecord **recs, size_t *n,
                  RxJournalReport *report)
{
    char *path = crash_path(journal_path), *buf = NULL;
    size_t len;
    int fd, ret;

    *recs = NULL;
    *n = 0;
    if (!path)
        return AVERROR(ENOMEM);
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    av_free(path);
    if (fd < 0)
        return AVERROR(errno);
    ret = rx_read_fd(fd, READ_MAX, &buf, &len);
    if (ret >= 0)
        ret = rx_journal_read_crashes(buf, len, recs, n, report);
    free(buf);
    if (ret < 0) {
        close(fd);
        return ret;
    }
    new_crash_id(a->crash);
    if (strlen(journal_path) < sizeof(a->journal))
        memcpy(a->journal, journal_path, strlen(journal_path) + 1);
    atomic_store(&a->fd, fd);
    return 0;
}

int rx_crash_clear(RxCrashArea *a)
{
    int fd = a ? atomic_load(&a->fd) : -1;
    struct stat st;

    if (fd < 0)
        return 0;
    if (fstat(fd, &st) < 0)
        return AVERROR(errno);
    if (st.st_size && (ftruncate(fd, 0) < 0 || fsync(fd) < 0))
        return AVERROR(errno);
    return 0;
}

void rx_crash_close(RxCrashArea *a)
{
    struct stat st;
    int fd;

    if (!a)
        return;
    fd = atomic_exchange(&a->fd, -1);
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && st.st_size == 0 && a->journal[0]) {
        char *path = crash_path(a->journal);
        if (path)
            unlink(path); /* nothing in it: no litter beside the journal */
        av_free(path);
    }
    close(fd);
}

int rx_crash_arm(RxCrashArea *a, int slot, const RxFileId *id, const char *name)
{
    Slot *s;
    Record *r;
    AVBPrint bp;
    unsigned k;

    if (!a)
        return 0;
    if (slot < 0 || slot >= RX_CRASH_SLOTS)
        return AVERROR(EINVAL);
    s = &a->slots[slot];
    k = s->next;
    r = &s->rec[k];
    av_bprint_init_for_buffer(&bp, r->head, sizeof(r->head));
    rx_journal_crash_head(&bp, id, (long)getpid(), a->crash, sizeof(r->head) - 1);
    if (!av_bprint_is_complete(&bp))
        return AVERROR(ENOMEM);
    r->len = bp.len;
    r->crc = rx_crash_crc32(UINT32_MAX, r->head, r->len);
    snprintf(r->name, sizeof(r->name), "%s", name ? name : id->rel);
    s->next = k ^ 1u;
    atomic_store_explicit(&s->armed, k + 1, memory_order_release);
    return 0;
}

void rx_crash_disarm(RxCrashArea *a, int slot)
{
    if (a && slot >= 0 && slot < RX_CRASH_SLOTS)
        atomic_store_explicit(&a->slots[slot].armed, 0, memory_order_release);
}

/* ---- policy */

int rx_crash_judge(const RxJournalEntry *e, const RxCrashRecord *c, const char *path,
                   RxResult *failed)
{
    char sigs[RX_CRASH_SIGNALS_MAX + 16], times[32];
    AVBPrint bp;
    int n = e->crashes + 1;

    if (e->result.state != RX_STATE_STARTED || !c->alone || e->crashes < 1)
        return 0;
    /* The signals of every crash, each once: "SIGSEGV" or "SIGSEGV, SIGABRT". */
    av_bprint_init_for_buffer(&bp, sigs, sizeof(sigs));
    for (const char *p = e->crash_signals; *p; p++)
        av_bprintf(&bp, *p == ',' ? ", " : "%c", *p);
    if (!strstr(e->crash_signals, c->signal))
        av_bprintf(&bp, "%s%s", bp.len ? ", " : "", c->signal);
    if (n == 2)
        snprintf(times, sizeof(times), "twice");
    else
        snprintf(times, sizeof(times), "%d times", n);
    *failed = e->result;
    failed->state = RX_STATE_FAILED;
    failed->err = RX_ERR_CRASHED;
    snprintf(failed->error, sizeof(failed->error),
             "the encoder crashed (%s) on '%s' %s; original kept (--retry-failed to try again)",
             sigs, path ? path : e->id.rel, times);
    return 1;
}

/* ---- the supervisor's side */

static void join_names(const RxCrashArea *a, char *names, size_t size, int count)
{
    AVBPrint bp;
    int k = 0;

    av_bprint_init_for_buffer(&bp, names, size);
    for (int i = 0; i < RX_CRASH_SLOTS; i++) {
        unsigned s = atomic_load(&a->slots[i].armed);
        if (!s)
            continue;
        k++;
        av_bprintf(&bp, "%s'%s'",
                   k == 1       ? ""
                   : k == count ? " and "
                                : ", ",
                   a->slots[i].rec[s - 1].name);
    }
}

int rx_crash_after_death(RxCrashArea *a, int sig, char *names, size_t size)
{
    int count = armed_count(a), jfd, fd;
    char *path;

    if (size)
        names[0] = '\0';
    if (!count)
        return 0;
    join_names(a, names, size, count);
    if (atomic_load(&a->handled) || !a->journal[0])
        return count;
    /* The handler never ran: the lines are ours to write. The journal's
     * lock guards its crash file; a run that holds it now folds what is
     * there already, and this crash goes unrecorded. */
    jfd = open(a->journal, O_RDONLY | O_CLOEXEC);
    if (jfd < 0)
        return count;
    path = flock(jfd, LOCK_EX | LOCK_NB) == 0 ? crash_path(a->journal) : NULL;
    fd = path ? open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW) : -1;
    if (fd >= 0) {
        struct stat st;
        char last = '\n';
        /* A line the handler left half written ends here, not glued to ours. */
        if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 &&
            last != '\n')
            rx_write_all(fd, "\n", 1);
        write_lines(a, fd, sig);
        close(fd);
    }
    av_free(path);
    close(jfd); /* and the lock */
    return count;
}

void rx_crash_reset(RxCrashArea *a, int sig)
{
    for (int i = 0; i < RX_CRASH_SLOTS; i++) {
        atomic_store(&a->slots[i].armed, 0);
        a->slots[i].next = 0;
    }
    atomic_store(&a->owner, 0);
    atomic_store(&a->handled, 0);
    atomic_store(&a->fd, -1); /* the dead worker's descriptor, not ours */
    a->journal[0] = '\0';
    atomic_fetch_add(&a->restarts, 1);
    atomic_store(&a->last_signal, sig);
}
