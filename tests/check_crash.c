/*
 * check_crash.c - crash records (crash.h, and the journal's side of them in
 * journal.h): the handler's async-signal-safe formatter against the
 * journal's strict reader, crash files with torn and damaged lines, folding
 * into a journal (suspect, then failed; twice folded counts once), the
 * policy, a real fault in a child process with armed slots (also on a
 * thread that overflowed its stack), the supervisor's backup lines, and the
 * pool running suspects alone.
 *
 * Each test works in a fresh directory under $TMPDIR (or /tmp). Crashes
 * happen in processes forked by the test, with core dumps off.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libavutil/bprint.h>
#include <libavutil/crc.h>
#include <libavutil/error.h>

#include "checkrun.h"
#include "reencode/journal.h"
#include "batch/pool.h"
#include "journal/crash.h"
#include "fakeid.h"
#include "testdir.h"

static char top[256];

static const char *at(const char *rel)
{
    return td_path(top, rel);
}

static void setup(void)
{
    ck_assert_int_eq(td_create(top, sizeof(top), "check_crash"), 0);
}

static void teardown(void)
{
    td_remove(top);
}

/* ---- helpers ---- */

static char *slurp(const char *path, size_t *len)
{
    char *buf = td_read(path, len);
    ck_assert_msg(buf != NULL, "cannot read '%s'", path);
    return buf;
}

static RxJournal *open_ok(const char *path)
{
    RxJournalReport rep;
    RxJournal *j = NULL;
    int ret = rx_journal_open(&j, path, 0, &rep);
    ck_assert_msg(ret == 0, "open '%s': %s", path, av_err2str(ret));
    return j;
}

/* A crash line for id as the handler writes it. */
static size_t crash_line(char *out, size_t size, const RxFileId *id, long pid, const char *crash,
                         int alone, int sig, time_t sec, long nsec)
{
    struct timespec ts = {sec, nsec};
    AVBPrint bp;
    size_t n;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_journal_crash_head(&bp, id, pid, crash, 16000);
    ck_assert(av_bprint_is_complete(&bp));
    n = rx_crash_format_line(out, size, bp.str, bp.len, rx_crash_crc32(UINT32_MAX, bp.str, bp.len),
                             alone, sig, &ts);
    av_bprint_finalize(&bp, NULL);
    return n;
}

static RxCrashRecord crash_rec(const RxFileId *id, const char *crash, const char *sig, int alone)
{
    RxCrashRecord c;

    memset(&c, 0, sizeof(c));
    c.id = *id;
    snprintf(c.crash, sizeof(c.crash), "%s", crash);
    snprintf(c.signal, sizeof(c.signal), "%s", sig);
    c.alone = alone;
    return c;
}

/* ---- the formatter and the reader ---- */

START_TEST(test_format_reads_back)
{
    static const struct {
        time_t sec;
        long nsec;
        const char *iso;
    } times[] = {
        {0, 0, "1970-01-01T00:00:00.000Z"},
        {1709251199, 999999999, "2024-02-29T23:59:59.999Z"},
        {951782400, 5000000, "2000-02-29T00:00:00.005Z"},
        {4102444800, 0, "2100-01-01T00:00:00.000Z"},
        {-86400, 0, "1969-12-31T00:00:00.000Z"},
        {253402300800, 0, "9999-01-01T00:00:00.000Z"}, /* year 10000: clamped */
    };
    RxFileId id = fake_id("dir/\xff name \"q\"\\\n.mp4", 123456789, 7);
    char line[20000];

    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        RxCrashRecord *recs = NULL;
        RxJournalReport rep;
        size_t n = 0, len;
        uint32_t want;

        len = crash_line(line, sizeof(line), &id, 4242, "0123456789abcdef", (int)(i % 2),
                         i % 2 ? SIGSEGV : SIGABRT, times[i].sec, times[i].nsec);
        ck_assert_uint_gt(len, 0);
        ck_assert_int_eq(line[len - 1], '\n');
        /* The checksum is zlib's CRC-32 of the object, as journal lines. */
        want = av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX, (const uint8_t *)line,
                      len - 10) ^
               UINT32_MAX;
        ck_assert_uint_eq(strtoul(line + len - 9, NULL, 16), want);
        ck_assert_int_eq(rx_journal_read_crashes(line, len, &recs, &n, &rep), 0);
        ck_assert_msg(n == 1, "not read back: %s (%s)", line, rep.reason);
        ck_assert_str_eq(recs[0].id.rel, id.rel);
        ck_assert_int_eq(recs[0].id.size, id.size);
        ck_assert_str_eq(recs[0].id.hash, id.hash);
        ck_assert_int_eq(recs[0].pid, 4242);
        ck_assert_str_eq(recs[0].crash, "0123456789abcdef");
        ck_assert_str_eq(recs[0].signal, i % 2 ? "SIGSEGV" : "SIGABRT");
        ck_assert_int_eq(recs[0].alone, (int)(i % 2));
        ck_assert_str_eq(recs[0].time, times[i].iso);
        rx_journal_crashes_free(&recs, n);
    }
}
END_TEST

/* Never past its buffer, never a cut line: any size too small gives 0. */
START_TEST(test_format_bounded)
{
    RxFileId id = fake_id("a.mp4", 1, 1);
    char full[1024], out[1024 + 16];
    size_t len = crash_line(full, sizeof(full), &id, 1, "00000000000000ff", 1, SIGBUS, 1, 0);
    AVBPrint bp;

    ck_assert_uint_gt(len, 0);
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_journal_crash_head(&bp, &id, 1, "00000000000000ff", 16000);
    for (size_t size = 0; size <= len + 1; size++) {
        struct timespec ts = {1, 0};
        size_t n;
        memset(out, 'Z', sizeof(out));
        n = rx_crash_format_line(out, size, bp.str, bp.len,
                                 rx_crash_crc32(UINT32_MAX, bp.str, bp.len), 1, SIGBUS, &ts);
        ck_assert_uint_eq(n, size > len ? len : 0);
        for (size_t k = size; k < sizeof(out); k++)
            ck_assert_int_eq(out[k], 'Z');
        if (n)
            ck_assert(!memcmp(out, full, len));
    }
    av_bprint_finalize(&bp, NULL);
}
END_TEST

/* A rel too long for a slot is recorded as "": the fold finds it by content. */
START_TEST(test_long_rel_by_content)
{
    char rel[9000];
    AVBPrint bp;
    RxFileId id;

    memset(rel, '\x01', sizeof(rel) - 1); /* escaped 6 bytes each */
    rel[sizeof(rel) - 1] = '\0';
    id = fake_id(rel, 5, 5);
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_journal_crash_head(&bp, &id, 1, "0000000000000001", 16000);
    ck_assert(strstr(bp.str, "\"rel\":\"\""));
    ck_assert_uint_lt(bp.len, 300);
    av_bprint_finalize(&bp, NULL);
}
END_TEST

START_TEST(test_read_torn_and_damaged)
{
    RxFileId a = fake_id("a.mp4", 10, 1), b = fake_id("b.mp4", 20, 2);
    static const char file_rec[] =
        "{\"v\":1,\"seq\":2,\"time\":\"2024-05-01T12:34:56.789Z\",\"type\":\"file\",\"rel\":"
        "\"x\",\"size\":1,\"mtime_ns\":1,\"hash\":\"00000000000000000000000000000000\","
        "\"state\":\"done\",\"attempts\":1}";
    char buf[8192], bad[1024];
    RxCrashRecord *recs = NULL;
    RxJournalReport rep;
    size_t l1, l2, n;

    l1 = crash_line(buf, sizeof(buf), &a, 7, "aaaaaaaaaaaaaaaa", 0, SIGSEGV, 100, 0);
    l2 = crash_line(buf + l1, sizeof(buf) - l1, &b, 7, "aaaaaaaaaaaaaaaa", 0, SIGSEGV, 100, 0);

    /* Every prefix: the complete lines, and a torn last one dropped. */
    for (size_t cut = 0; cut <= l1 + l2; cut++) {
        size_t whole = (cut >= l1) + (cut >= l1 + l2);
        ck_assert_int_eq(rx_journal_read_crashes(buf, cut, &recs, &n, &rep), 0);
        ck_assert_uint_eq(n, whole);
        ck_assert_int_eq(rep.dropped, cut != 0 && cut != l1 && cut != l1 + l2);
        rx_journal_crashes_free(&recs, n);
    }

    /* A damaged line anywhere is skipped, the others read: here a torn line
     * the supervisor ended with '\n' before appending its own. */
    memcpy(bad, buf, l1 / 2);
    bad[l1 / 2] = '\n';
    memcpy(bad + l1 / 2 + 1, buf + l1, l2);
    ck_assert_int_eq(rx_journal_read_crashes(bad, l1 / 2 + 1 + l2, &recs, &n, &rep), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(recs[0].id.rel, "b.mp4");
    ck_assert_int_eq(rep.dropped, 1);
    ck_assert_int_eq(rep.corrupt_line, 1);
    rx_journal_crashes_free(&recs, n);

    /* A bit flipped: the checksum catches it. */
    memcpy(bad, buf, l1 + l2);
    bad[20] ^= 1;
    ck_assert_int_eq(rx_journal_read_crashes(bad, l1 + l2, &recs, &n, &rep), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(rep.reason, "bad checksum");
    rx_journal_crashes_free(&recs, n);

    /* A journal's record is not a crash record, and a crash record is
     * refused in a journal. */
    {
        int k = snprintf(bad, sizeof(bad), "%s %08x\n", file_rec,
                         av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX,
                                (const uint8_t *)file_rec, strlen(file_rec)) ^
                             UINT32_MAX);
        RxJournal *j = NULL;
        ck_assert_int_eq(rx_journal_read_crashes(bad, (size_t)k, &recs, &n, &rep), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_str_eq(rep.reason, "not a crash record");
        memcpy(bad + k, buf, l1); /* a file record, then a crash record, then one more */
        memcpy(bad + k + l1, bad, (size_t)k);
        ck_assert_int_eq(rx_journal_open_buffer(&j, bad + k, l1 + (size_t)k, &rep),
                         AVERROR_INVALIDDATA);
        ck_assert_int_eq(rep.corrupt_line, 1);
        ck_assert_str_eq(rep.reason, "crash record in a journal");
        rx_journal_crashes_free(&recs, n);
    }
}
END_TEST

/* ---- folding and the policy ---- */

START_TEST(test_judge)
{
    RxJournalEntry e;
    RxFileId id = fake_id("a.mp4", 1, 1);
    RxCrashRecord c = crash_rec(&id, "0000000000000001", "SIGSEGV", 1);
    RxResult res;

    memset(&e, 0, sizeof(e));
    e.id = id;
    rx_result_init(&e.result);
    e.result.state = RX_STATE_STARTED;
    ck_assert_int_eq(rx_crash_judge(&e, &c, NULL, &res), 0); /* first crash, even alone */
    e.crashes = 1;
    snprintf(e.crash_signals, sizeof(e.crash_signals), "SIGSEGV");
    c.alone = 0;
    ck_assert_int_eq(rx_crash_judge(&e, &c, NULL, &res), 0); /* not alone: maybe the other */
    c.alone = 1;
    ck_assert_int_eq(rx_crash_judge(&e, &c, NULL, &res), 1);
    ck_assert_int_eq(res.state, RX_STATE_FAILED);
    ck_assert_int_eq(res.err, RX_ERR_CRASHED);
    ck_assert_str_eq(res.error, "the encoder crashed (SIGSEGV) on 'a.mp4' twice; original kept "
                                "(--retry-failed to try again)");
    e.crashes = 2;
    snprintf(c.signal, sizeof(c.signal), "SIGABRT");
    ck_assert_int_eq(rx_crash_judge(&e, &c, NULL, &res), 1);
    ck_assert(strstr(res.error, "(SIGSEGV, SIGABRT) on 'a.mp4' 3 times"));
    e.result.state = RX_STATE_DONE; /* finished since: counted, not judged */
    ck_assert_int_eq(rx_crash_judge(&e, &c, NULL, &res), 0);
}
END_TEST

START_TEST(test_fold_suspect_then_failed)
{
    RxFileId a = fake_id("a.mp4", 10, 1), b = fake_id("b.mp4", 20, 2);
    RxCrashRecord ca = crash_rec(&a, "1111111111111111", "SIGSEGV", 0);
    RxCrashRecord cb = crash_rec(&b, "1111111111111111", "SIGSEGV", 0);
    const RxJournalEntry *e;
    RxJournal *j = open_ok(at("journal"));
    RxResult res;
    int64_t seq;

    ck_assert_int_eq(rx_journal_record(j, &a, RX_STATE_STARTED, NULL, "a.webm", NULL), 0);
    ck_assert_int_eq(rx_journal_record(j, &b, RX_STATE_STARTED, NULL, "b.webm", NULL), 0);
    /* Both were in flight: both suspects, still started, same attempt. */
    ck_assert_int_eq(rx_journal_crash(j, &ca, NULL), 0);
    ck_assert_int_eq(rx_journal_crash(j, &cb, NULL), 0);
    e = rx_journal_find(j, &a);
    ck_assert_int_eq(e->result.state, RX_STATE_STARTED);
    ck_assert_int_eq(e->attempts, 1);
    ck_assert_int_eq(e->crashes, 1);
    ck_assert_int_eq(e->crashes_alone, 0);
    ck_assert_str_eq(e->crash_signals, "SIGSEGV");
    ck_assert_str_eq(e->crash, "1111111111111111");
    ck_assert_str_eq(e->output, "a.webm");
    /* Folded again (a crash while folding): nothing written, nothing counted. */
    seq = rx_journal_seq(j);
    ck_assert_int_eq(rx_journal_crash(j, &ca, NULL), 0);
    ck_assert_int_eq(rx_journal_seq(j), seq);
    ck_assert_int_eq(rx_journal_find(j, &a)->crashes, 1);
    rx_journal_close(&j);

    /* Durable; a new attempt keeps the count; a crash alone fails it. */
    j = open_ok(at("journal"));
    e = rx_journal_find(j, &a);
    ck_assert_int_eq(e->crashes, 1);
    ck_assert_str_eq(e->crash, "1111111111111111");
    ck_assert_int_eq(rx_journal_record(j, &a, RX_STATE_STARTED, NULL, "a.webm", NULL), 0);
    e = rx_journal_find(j, &a);
    ck_assert_int_eq(e->attempts, 2);
    ck_assert_int_eq(e->crashes, 1);
    ca = crash_rec(&a, "2222222222222222", "SIGABRT", 1);
    ck_assert_int_eq(rx_crash_judge(e, &ca, NULL, &res), 1);
    ck_assert_int_eq(rx_journal_crash(j, &ca, &res), 0);
    e = rx_journal_find(j, &a);
    ck_assert_int_eq(e->result.state, RX_STATE_FAILED);
    ck_assert_int_eq(e->result.err, RX_ERR_CRASHED);
    ck_assert_int_eq(e->attempts, 2);
    ck_assert_int_eq(e->crashes, 2);
    ck_assert_int_eq(e->crashes_alone, 1);
    ck_assert_str_eq(e->crash_signals, "SIGSEGV,SIGABRT");
    ck_assert(strstr(e->result.error, "twice; original kept"));
    /* A file the journal does not know. */
    {
        RxFileId x = fake_id("x.mp4", 30, 3);
        RxCrashRecord cx = crash_rec(&x, "2222222222222222", "SIGSEGV", 1);
        ck_assert_int_eq(rx_journal_crash(j, &cx, NULL), AVERROR(ENOENT));
    }
    /* Found by content when the rel was too long to record. */
    {
        RxFileId nameless = b;
        nameless.rel = (char *)"";
        cb = crash_rec(&nameless, "3333333333333333", "SIGSEGV", 1);
        ck_assert_int_eq(rx_journal_crash(j, &cb, NULL), 0);
        ck_assert_int_eq(rx_journal_find(j, &b)->crashes, 2);
    }
    rx_journal_close(&j);
    j = open_ok(at("journal"));
    e = rx_journal_find(j, &a);
    ck_assert_int_eq(e->result.state, RX_STATE_FAILED);
    ck_assert_int_eq(e->crashes_alone, 1);
    ck_assert_str_eq(e->crash_signals, "SIGSEGV,SIGABRT");
    rx_journal_close(&j);
}
END_TEST

/* ---- real crashes, in a child ---- */

/* A page no access is allowed to: storing there really faults (a null
 * pointer would be stopped by UBSan first). */
static volatile int *no_access_page(void)
{
    void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        _exit(93);
    return p;
}

/* In a child: open the crash file of journal, arm the slots named in armed
 * (one file each), then crash as how says. Never returns. */
static void child_crash(const char *journal, const int *armed, int n, const char *how)
{
    struct rlimit no_core = {0, 0};
    RxCrashArea *a = NULL;
    RxCrashRecord *recs = NULL;
    size_t nrecs;
    char name[32];

    setrlimit(RLIMIT_CORE, &no_core);
    if (rx_crash_area_new(&a) < 0 || rx_crash_install(a) < 0 ||
        rx_crash_open(a, journal, &recs, &nrecs, NULL) < 0)
        _exit(90);
    rx_journal_crashes_free(&recs, nrecs);
    rx_crash_set_supervised(a); /* quiet: no line on the test's stderr */
    for (int i = 0; i < n; i++) {
        static char rels[8][16];
        RxFileId id;
        snprintf(rels[i], sizeof(rels[i]), "f%d.mp4", armed[i]);
        id = fake_id(rels[i], armed[i] + 1, (unsigned)armed[i] + 1);
        snprintf(name, sizeof(name), "dir/f%d.mp4", armed[i]);
        if (rx_crash_arm(a, armed[i], &id, name) < 0)
            _exit(91);
    }
    rx_crash_disarm(a, 31); /* never armed: nothing */
    if (!strcmp(how, "abort"))
        abort();
    *no_access_page() = 1; /* a real fault */
    _exit(92);
}

static int wait_signal(pid_t pid)
{
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status), "child exited %d", WEXITSTATUS(status));
    return WTERMSIG(status);
}

static RxCrashRecord *read_crash_file(const char *journal, size_t *n)
{
    RxCrashRecord *recs = NULL;
    RxJournalReport rep;
    char path[PATH_MAX];
    size_t len;
    char *buf;

    snprintf(path, sizeof(path), "%s.crash", journal);
    buf = slurp(path, &len);
    ck_assert_int_eq(rx_journal_read_crashes(buf, len, &recs, n, &rep), 0);
    ck_assert_int_eq(rep.dropped, 0);
    free(buf);
    return recs;
}

START_TEST(test_handler_records_and_dies)
{
    static const int two[] = {0, 5}, one[] = {3};
    const char *journal = at("journal");
    RxCrashRecord *recs;
    size_t n;
    pid_t pid;

    pid = fork();
    if (pid == 0)
        child_crash(journal, two, 2, "segv");
    ck_assert_int_eq(wait_signal(pid), SIGSEGV); /* the same death as without it */
    recs = read_crash_file(journal, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(recs[0].id.rel, "f0.mp4");
    ck_assert_str_eq(recs[1].id.rel, "f5.mp4");
    ck_assert_int_eq(recs[0].pid, pid);
    ck_assert_str_eq(recs[0].signal, "SIGSEGV");
    ck_assert_int_eq(recs[0].alone, 0);
    ck_assert_str_eq(recs[0].crash, recs[1].crash);
    rx_journal_crashes_free(&recs, n);

    pid = fork();
    if (pid == 0)
        child_crash(journal, one, 1, "abort");
    ck_assert_int_eq(wait_signal(pid), SIGABRT);
    recs = read_crash_file(journal, &n);
    ck_assert_uint_eq(n, 3); /* appended; nobody folded the first two */
    ck_assert_str_eq(recs[2].id.rel, "f3.mp4");
    ck_assert_str_eq(recs[2].signal, "SIGABRT");
    ck_assert_int_eq(recs[2].alone, 1);
    ck_assert_str_ne(recs[2].crash, recs[0].crash); /* another process, another crash */
    rx_journal_crashes_free(&recs, n);
}
END_TEST

static RxCrashArea *overflow_area;

/* Deeper until the stack ends (a limit past any stack keeps the compiler
 * from calling it infinite). */
static int recurse(long depth)
{
    volatile char pad[4096];
    pad[0] = (char)depth;
    pad[4095] = (char)depth;
    if (depth > LONG_MAX / 2)
        return 0;
    return recurse(depth + 1) + pad[0] + pad[4095];
}

static void *overflow_thread(void *opaque)
{
    RxFileId id = fake_id("deep.mp4", 9, 9);

    (void)opaque;
    rx_crash_altstack_push();
    rx_crash_arm(overflow_area, 0, &id, "deep.mp4");
    return (void *)(intptr_t)recurse(0);
}

/* A thread that overflows its stack still gets its line written: the
 * handler runs on the thread's alternate signal stack. */
START_TEST(test_stack_overflow_on_altstack)
{
    const char *journal = at("journal");
    RxCrashRecord *recs;
    size_t n;
    pid_t pid = fork();

    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        RxCrashRecord *r = NULL;
        size_t k;
        pthread_attr_t attr;
        pthread_t th;
        setrlimit(RLIMIT_CORE, &no_core);
        if (rx_crash_area_new(&overflow_area) < 0 || rx_crash_install(overflow_area) < 0 ||
            rx_crash_open(overflow_area, journal, &r, &k, NULL) < 0)
            _exit(90);
        rx_crash_set_supervised(overflow_area);
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        pthread_create(&th, &attr, overflow_thread, NULL);
        pthread_join(th, NULL);
        _exit(92);
    }
    ck_assert_int_eq(wait_signal(pid), SIGSEGV);
    recs = read_crash_file(journal, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(recs[0].id.rel, "deep.mp4");
    rx_journal_crashes_free(&recs, n);
}
END_TEST

/* The supervisor writes the lines the handler did not (it never ran), ends
 * a half-written line first, and names the files; the fold reads each once. */
START_TEST(test_supervisor_backup)
{
    const char *journal = at("journal");
    RxFileId a = fake_id("a.mp4", 1, 1), b = fake_id("b\nc.mp4", 2, 2);
    RxCrashArea *area = NULL;
    RxCrashRecord *recs = NULL;
    RxJournalReport rep;
    char names[256], path[PATH_MAX];
    size_t n;
    int fd;

    rx_journal_close(&(RxJournal *){open_ok(journal)}); /* it exists */
    ck_assert_int_eq(rx_crash_area_new(&area), 0);
    ck_assert_int_eq(rx_crash_open(area, journal, &recs, &n, &rep), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(rx_crash_arm(area, 2, &a, "a.mp4"), 0);
    ck_assert_int_eq(rx_crash_arm(area, 7, &b, "b\\nc.mp4"), 0);
    /* A crash file whose last line was cut (by the death itself). */
    snprintf(path, sizeof(path), "%s.crash", journal);
    fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "{\"v\":1,\"seq\":1,\"ty", 19), 19);
    close(fd);

    ck_assert_int_eq(rx_crash_after_death(area, SIGBUS, names, sizeof(names)), 2);
    ck_assert_str_eq(names, "'a.mp4' and 'b\\nc.mp4'");
    {
        size_t len;
        char *buf = slurp(path, &len);
        ck_assert_int_eq(rx_journal_read_crashes(buf, len, &recs, &n, &rep), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(rep.dropped, 1); /* the cut line, on its own */
        ck_assert_str_eq(recs[1].id.rel, "b\nc.mp4");
        ck_assert_str_eq(recs[1].signal, "SIGBUS");
        ck_assert_int_eq(recs[1].alone, 0);
        rx_journal_crashes_free(&recs, n);
        free(buf);
    }
    /* Emptied once folded; nothing armed after a reset. */
    ck_assert_int_eq(rx_crash_clear(area), 0);
    rx_crash_reset(area, SIGBUS);
    {
        int sig;
        ck_assert_int_eq(rx_crash_restarts(area, &sig), 1);
        ck_assert_int_eq(sig, SIGBUS);
    }
    ck_assert_int_eq(rx_crash_after_death(area, SIGSEGV, names, sizeof(names)), 0);
    ck_assert_str_eq(names, "");
    rx_crash_area_free(&area);
    ck_assert_ptr_null(area);
}
END_TEST

/* The first worker's session is the run's; a later one gets it back. */
START_TEST(test_run_seq)
{
    RxCrashArea *a = NULL;

    ck_assert_int_eq(rx_crash_run_seq(NULL, 9), 9);
    ck_assert_int_eq(rx_crash_area_new(&a), 0);
    ck_assert_int_eq(rx_crash_run_seq(a, 5), 5);
    ck_assert_int_eq(rx_crash_run_seq(a, 17), 5);
    rx_crash_area_free(&a);
}
END_TEST

/* The crash file goes when empty at close, and stays with records in it. */
START_TEST(test_close_removes_empty)
{
    const char *journal = at("journal");
    RxCrashArea *a = NULL;
    RxCrashRecord *recs;
    char path[PATH_MAX];
    size_t n;

    snprintf(path, sizeof(path), "%s.crash", journal);
    ck_assert_int_eq(rx_crash_area_new(&a), 0);
    ck_assert_int_eq(rx_crash_open(a, journal, &recs, &n, NULL), 0);
    ck_assert_int_eq(access(path, F_OK), 0);
    rx_crash_close(a);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(rx_crash_open(a, journal, &recs, &n, NULL), 0);
    {
        int fd = open(path, O_WRONLY | O_APPEND);
        ck_assert_int_eq(write(fd, "x\n", 2), 2);
        close(fd);
    }
    rx_crash_close(a);
    ck_assert_int_eq(access(path, F_OK), 0);
    rx_crash_area_free(&a);
}
END_TEST

/* A supervisor's worker holds the journal: a refused run is told the
 * supervisor's pid (the `reencode run` a person started) besides the
 * writer's own. */
START_TEST(test_supervised_holder)
{
    const char *path = at("journal");
    int ready[2], go[2], status;
    RxJournalReport rep;
    RxJournal *j = NULL;
    pid_t child;
    char c;

    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        RxJournal *cj = NULL;
        if (rx_journal_open(&cj, path, RX_JOURNAL_SUPERVISED, NULL) < 0)
            _exit(1);
        if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        rx_journal_close(&cj);
        _exit(0);
    }
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(rx_journal_open(&j, path, 0, &rep), AVERROR(EWOULDBLOCK));
    ck_assert_int_eq(rep.holder_pid, child);
    ck_assert_int_eq(rep.holder_run, getpid());
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The previous writer's run was its supervisor; an unsupervised
     * writer's run is itself. */
    ck_assert_int_eq(rx_journal_open(&j, path, 0, &rep), 0);
    ck_assert_int_eq(rep.holder_pid, child);
    ck_assert_int_eq(rep.holder_run, getpid());
    rx_journal_close(&j);
    ck_assert_int_eq(rx_journal_open(&j, path, RX_JOURNAL_READONLY, &rep), 0);
    ck_assert_int_eq(rep.holder_pid, getpid());
    ck_assert_int_eq(rep.holder_run, getpid());
    rx_journal_close(&j);
}
END_TEST

/* ---- the pool: suspects run alone ---- */

typedef struct Probe {
    atomic_int running, max_alone, max_after;
    size_t alone;
} Probe;

static void probe_task(void *opaque, size_t task, int slot)
{
    Probe *p = opaque;
    int now = atomic_fetch_add(&p->running, 1) + 1;
    atomic_int *max = task < p->alone ? &p->max_alone : &p->max_after;
    int m = atomic_load(max);

    (void)slot;
    while (now > m && !atomic_compare_exchange_weak(max, &m, now))
        ;
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    atomic_fetch_sub(&p->running, 1);
}

START_TEST(test_pool_alone)
{
    Probe p = {0};
    RxPool *pool = NULL;

    p.alone = 3;
    ck_assert_int_eq(rx_pool_new(&pool, 4), 0);
    rx_pool_set_alone(pool, p.alone);
    ck_assert_int_eq(rx_pool_run(pool, 11, probe_task, &p), 11);
    /* max_alone counts what ran while an alone task ran, it included. */
    ck_assert_int_eq(atomic_load(&p.max_alone), 1);
    ck_assert_int_gt(atomic_load(&p.max_after), 1); /* the rest side by side */
    rx_pool_free(&pool);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_format_reads_back);
    tcase_add_test(tc, test_format_bounded);
    tcase_add_test(tc, test_long_rel_by_content);
    tcase_add_test(tc, test_read_torn_and_damaged);
    tcase_add_test(tc, test_judge);
    tcase_add_test(tc, test_fold_suspect_then_failed);
    tcase_add_test(tc, test_handler_records_and_dies);
    tcase_add_test(tc, test_stack_overflow_on_altstack);
    tcase_add_test(tc, test_supervisor_backup);
    tcase_add_test(tc, test_run_seq);
    tcase_add_test(tc, test_close_removes_empty);
    tcase_add_test(tc, test_supervised_holder);
    tcase_add_test(tc, test_pool_alone);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
