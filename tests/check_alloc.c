/*
 * check_alloc.c - allocation failure injection into the journal, the set of
 * a root's journals (shards), the filter and the command line parser.
 *
 * Each workload below is a representative use of one module. A sweep runs it
 * with allocation number 1 failing, then number 2, and so on until a run
 * makes fewer allocations than the number to fail: every allocation point
 * has then failed once. A random test fails each allocation with probability
 * 1/20 over 200 rounds (fixed seed). After every call the result must be:
 * success when no allocation failed during it, ENOMEM (or the module's
 * documented out-of-memory answer) when one did; afterwards nothing may leak
 * (under ASan each round ends with a leak check) and a journal on disk must
 * replay cleanly with exactly the records whose calls succeeded.
 *
 * How: tests/CMakeLists.txt links this binary with
 * -Wl,--wrap=malloc,--wrap=calloc,... so that the linker sends each call to
 * those functions from the objects linked into it (the members of the static
 * reencode_core among them) to the __wrap_ functions below, which count it
 * and may fail it, or call the real one (__real_). Calls made inside shared
 * libraries are not redirected: the growth of libavutil's AVBPrint (the
 * journal formats its lines with one) cannot be failed here. libcheck is
 * static, so its calls are wrapped too: the injector is armed only around
 * the calls under test. test_wrapper_reaches_core proves the redirection
 * reaches the core library. Not thread-safe; nothing here runs threads.
 *
 * The journal workloads use fdatasync a lot: with TMPDIR unset, they run in
 * /dev/shm when it is usable (what they check does not depend on the disk).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/error.h>
#include <libavutil/sha.h>

#include "checkrun.h"
#include "reencode/filter.h"
#include "reencode/journal.h"
#include "reencode/journals.h"
#include "reencode/shard.h"
#include "cli/cli.h"
#include "fakeid.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
/* From sanitizer/allocator_interface.h, which gcc does not install. */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* ---- the injector ---- */

typedef struct Injector {
    int armed;       /* count (and maybe fail) allocations */
    long seen;       /* allocations while armed */
    long fail_at;    /* fail allocation number fail_at (1-based); 0: none */
    unsigned one_in; /* or fail each with probability 1/one_in; 0: never */
    uint64_t rng;    /* xorshift64 state */
    long failed;     /* failures injected */
} Injector;

static Injector inj;

static int should_fail(void)
{
    if (!inj.armed)
        return 0;
    inj.seen++;
    if (inj.fail_at && inj.seen == inj.fail_at) {
        inj.failed++;
        return 1;
    }
    if (inj.one_in) {
        inj.rng ^= inj.rng << 13;
        inj.rng ^= inj.rng >> 7;
        inj.rng ^= inj.rng << 17;
        if (inj.rng % inj.one_in == 0) {
            inj.failed++;
            return 1;
        }
    }
    return 0;
}

/* The real functions (the linker's names) and their wrappers. */
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
struct AVSHA *__real_av_sha_alloc(void);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
struct AVSHA *__wrap_av_sha_alloc(void);

void *__wrap_malloc(size_t size)
{
    return should_fail() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : __real_realloc(p, size);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

struct AVSHA *__wrap_av_sha_alloc(void)
{
    return should_fail() ? NULL : __real_av_sha_alloc();
}

static long failed_before;

static void arm(void)
{
    failed_before = inj.failed;
    inj.armed = 1;
}

/* Stop injecting; 1 if a failure was injected since arm(). */
static int disarm(void)
{
    inj.armed = 0;
    return inj.failed > failed_before;
}

/* Which round is running, for failure messages. */
static char round_name[96];

/* ret of a call: the clean answer ok when no allocation failed in it, else
 * oom (the module's out-of-memory answer). */
static void expect(int ret, int fired, int ok, int oom, const char *what)
{
    ck_assert_msg(ret == (fired ? oom : ok), "%s: %s returned %d (%s), want %d (%s) [%s]", what,
                  fired ? "with an allocation failed," : "with no allocation failed,", ret,
                  av_err2str(ret), fired ? oom : ok, av_err2str(fired ? oom : ok), round_name);
}

/*
 * Under ASan: did the round leak? A full leak check per round would cost
 * ~30 ms each, over a thousand rounds: the cheap test is that the heap is
 * back to its size before the round; only when it is not does LeakSanitizer
 * look (the growth may be a cache of libc's). The test's end runs a full
 * check anyway, and LeakSanitizer checks again at exit.
 */
static size_t heap_before;

static void leak_mark(void)
{
#ifdef HAVE_LSAN
    heap_before = __sanitizer_get_current_allocated_bytes();
#endif
}

static void leak_check(int full)
{
#ifdef HAVE_LSAN
    if (full || __sanitizer_get_current_allocated_bytes() > heap_before)
        ck_assert_msg(!__lsan_do_recoverable_leak_check(), "memory leaked [%s]", round_name);
#else
    (void)full;
    (void)heap_before;
#endif
}

/* ---- files ---- */

static char top[256]; /* this test's temporary directory */

static const char *at(const char *dir, const char *rel)
{
    static char buf[8][PATH_MAX];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], PATH_MAX, "%s/%s", dir, rel);
    return buf[k];
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    struct stat st;

    if (!tmp || !*tmp)
        tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
                  ? "/dev/shm"
                  : "/tmp";
    snprintf(top, sizeof(top), "%s/check_alloc.XXXXXX", tmp);
    ck_assert_ptr_nonnull(mkdtemp(top));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void teardown(void)
{
    rm_tree(top);
}

static void spew(const char *path, const void *data, size_t len, int append)
{
    int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
}

/* The whole file; *len 0 and NULL when it does not exist. Free with free(). */
static char *slurp(const char *path, size_t *len)
{
    struct stat st;
    char *buf;
    int fd = open(path, O_RDONLY);

    *len = 0;
    if (fd < 0)
        return NULL;
    ck_assert_int_eq(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The state of the file at this path: -1 when the journal only knows its
 * content under another path (find's answer for a moved file). */
static RxState state_of(RxJournal *j, const RxFileId *id)
{
    const RxJournalEntry *e = rx_journal_find(j, id);
    return e && !strcmp(e->id.rel, id->rel) ? e->result.state : (RxState)-1;
}

/* ---- workload: a batch writes its journal ---- */

#define N_IDS 4

/* Record under injection; track what the journal must hold. */
static void record(RxJournal *j, const RxFileId *id, RxState *want, RxState state,
                   const RxResult *res, const char *output, const char *original)
{
    const RxJournalEntry *before = rx_journal_find(j, id), *after;
    int ret, fired;

    arm();
    ret = rx_journal_record(j, id, state, res, output, original);
    fired = disarm();
    expect(ret, fired, 0, AVERROR(ENOMEM), "rx_journal_record");
    after = rx_journal_find(j, id);
    if (ret == 0) {
        ck_assert_ptr_nonnull(after);
        ck_assert_ptr_ne(after, before);
        ck_assert_int_eq(after->result.state, state);
        *want = state;
    } else {
        ck_assert_ptr_eq(after, before); /* nothing published */
    }
}

/* Open (a writer, or READONLY) under injection: the clean answer is 0. */
static RxJournal *open_armed(const char *path, unsigned flags, RxJournalReport *rep)
{
    RxJournal *j = (RxJournal *)rep; /* any non-NULL value: open must set it */
    int ret, fired;

    arm();
    ret = rx_journal_open(&j, path, flags, rep);
    fired = disarm();
    expect(ret, fired, 0, AVERROR(ENOMEM), "rx_journal_open");
    ck_assert(ret == 0 ? j != NULL : j == NULL);
    return j;
}

static void check_states(RxJournal *j, const RxFileId *ids, const RxState *want)
{
    for (int i = 0; i < N_IDS; i++)
        if (ids[i].rel)
            ck_assert_msg(state_of(j, &ids[i]) == want[i], "%s: state %d, want %d [%s]", ids[i].rel,
                          (int)state_of(j, &ids[i]), (int)want[i], round_name);
}

static void workload_journal_write(const char *dir)
{
    static const char torn[] = "{\"v\":1,\"seq\":99,\"type\":\"file\",\"rel\":\"x";
    const char *jdir = at(dir, ".reencode"), *path = at(dir, ".reencode/journal");
    RxFileId ids[N_IDS] = {{0}};
    RxState want[N_IDS] = {(RxState)-1, (RxState)-1, (RxState)-1, (RxState)-1};
    RxJournalReport rep;
    RxJournal *j = NULL;
    RxResult res;
    int ret, fired;

    /* A file bigger than 128 KiB: hashed as its first and last 64 KiB. */
    {
        static char block[64 * 1024];
        for (size_t i = 0; i < sizeof(block); i++)
            block[i] = (char)(i * 7 + 3);
        for (int i = 0; i < 3; i++)
            spew(at(dir, "a.mp4"), block, sizeof(block), 1);
    }
    ids[1] = fake_id("dir/b\xff name\n.mp4", 2000, 2);
    ids[2] = fake_id("c.mp4", 3000, 3);
    ids[3] = fake_id("moved/c.mp4", 3000, 3); /* c's content under another path */

    arm();
    ret = rx_journal_dir_create(jdir);
    fired = disarm();
    expect(ret, fired, 0, AVERROR(ENOMEM), "rx_journal_dir_create");
    if (ret < 0) /* (the directory may exist: only its parent's fsync failed) */
        return;

    j = open_armed(path, 0, &rep);
    if (!j)
        goto verify;
    arm();
    ret = rx_file_id_compute(&ids[0], at(dir, "a.mp4"), "a.mp4");
    fired = disarm();
    expect(ret, fired, 0, AVERROR(ENOMEM), "rx_file_id_compute");
    if (ret < 0)
        ck_assert_ptr_null(ids[0].rel); /* zeroed on error */

    if (ids[0].rel) {
        record(j, &ids[0], &want[0], RX_STATE_STARTED, NULL, "a.webm", NULL);
        rx_result_init(&res);
        res.in_bytes = 3 * 64 * 1024;
        res.out_bytes = 1000;
        res.video_frames = 60;
        res.wall_seconds = 1.5;
        record(j, &ids[0], &want[0], RX_STATE_ENCODED, &res, NULL, NULL);
        record(j, &ids[0], &want[0], RX_STATE_DONE, NULL, NULL, "renamed");
    }
    record(j, &ids[1], &want[1], RX_STATE_STARTED, NULL, "dir/b name.webm", NULL);
    rx_result_init(&res);
    res.err = AVERROR_INVALIDDATA;
    snprintf(res.error, sizeof(res.error), "cannot decode 'dir/b\xff name\n.mp4': \"bad\"");
    record(j, &ids[1], &want[1], RX_STATE_FAILED, &res, NULL, NULL);
    rx_result_init(&res);
    res.in_bytes = 3000;
    res.out_bytes = 2900;
    record(j, &ids[2], &want[2], RX_STATE_SKIPPED, &res, NULL, "kept");
    record(j, &ids[3], &want[3], RX_STATE_PENDING, NULL, NULL, NULL);
    check_states(j, ids, want);
    rx_journal_close(&j);

    /* status reads it while nobody writes. */
    j = open_armed(path, RX_JOURNAL_READONLY, &rep);
    if (j) {
        check_states(j, ids, want);
        rx_journal_close(&j);
    }

    /* A crash tore the last line; the next run cuts it off and goes on. */
    spew(path, torn, sizeof(torn) - 1, 1);
    j = open_armed(path, 0, &rep);
    if (j) {
        ck_assert_int_eq(rep.torn_tail, 1);
        check_states(j, ids, want);
        record(j, &ids[1], &want[1], RX_STATE_STARTED, NULL, NULL, NULL);
        rx_journal_close(&j);
    }

verify:
    /* Whatever failed, the journal replays, with what succeeded. */
    if (exists(path)) {
        ret = rx_journal_open(&j, path, RX_JOURNAL_READONLY, &rep);
        ck_assert_msg(ret == 0, "replay after the workload: %s (line %ld: %s) [%s]",
                      av_err2str(ret), rep.corrupt_line, rep.reason, round_name);
        check_states(j, ids, want);
        rx_journal_close(&j);
    }
    rx_file_id_clear(&ids[0]);
}

/* ---- workload: status and resume replay a long journal ---- */

#define MANY 40 /* more than 32 identities: the index grows */

static char *many_buf;
static size_t many_len;
static char many_path[PATH_MAX];
static char rels[MANY][32];

static RxFileId many_id(int i)
{
    return fake_id(rels[i], 100 + i, 100u + (unsigned)i);
}

/* Disarmed: a journal with MANY files, each started then done. */
static void prepare_many(void)
{
    RxJournalReport rep;
    RxJournal *j = NULL;
    char dir[512];

    snprintf(dir, sizeof(dir), "%s/many", top);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    snprintf(many_path, sizeof(many_path), "%s/journal", dir);
    ck_assert_int_eq(rx_journal_open(&j, many_path, 0, &rep), 0);
    for (int i = 0; i < MANY; i++) {
        snprintf(rels[i], sizeof(rels[i]), "sub/%02d.mp4", i);
        RxFileId id = many_id(i);
        ck_assert_int_eq(rx_journal_record(j, &id, RX_STATE_STARTED, NULL, "out.webm", NULL), 0);
    }
    for (int i = 0; i < MANY; i++) {
        RxFileId id = many_id(i);
        ck_assert_int_eq(rx_journal_record(j, &id, RX_STATE_DONE, NULL, NULL, "renamed"), 0);
    }
    rx_journal_close(&j);
    many_buf = slurp(many_path, &many_len);
    ck_assert_ptr_nonnull(many_buf);
}

static void check_many(RxJournal *j)
{
    ck_assert_uint_eq(rx_journal_count(j), MANY);
    for (int i = 0; i < MANY; i++) {
        RxFileId id = many_id(i);
        ck_assert_int_eq(state_of(j, &id), RX_STATE_DONE);
    }
}

static void workload_journal_replay(const char *dir)
{
    RxJournalReport rep;
    RxJournal *j = NULL;
    int ret, fired;

    (void)dir;
    arm();
    ret = rx_journal_open_buffer(&j, many_buf, many_len, &rep);
    fired = disarm();
    expect(ret, fired, 0, AVERROR(ENOMEM), "rx_journal_open_buffer");
    if (j) {
        check_many(j);
        rx_journal_close(&j);
    }
    j = open_armed(many_path, RX_JOURNAL_READONLY, &rep);
    if (j) {
        check_many(j);
        rx_journal_close(&j);
    }
}

/* ---- workload: journal repair ---- */

static char *damaged_buf, *repaired_buf;
static size_t damaged_len, repaired_len;

/* Disarmed: a short journal with its second file line damaged, and what a
 * repair makes of it. */
static void prepare_damaged(void)
{
    RxJournalReport rep;
    RxJournal *j = NULL;
    char dir[512], path[PATH_MAX];
    char *line2, *line3;

    snprintf(dir, sizeof(dir), "%s/damaged", top);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/journal", dir);
    ck_assert_int_eq(rx_journal_open(&j, path, 0, &rep), 0);
    for (int i = 0; i < 6; i++) {
        RxFileId id = fake_id(i % 2 ? "odd.mp4" : "even.mp4", 1000 + i, 7u + (unsigned)i);
        ck_assert_int_eq(rx_journal_record(j, &id, RX_STATE_STARTED, NULL, "o.webm", NULL), 0);
        ck_assert_int_eq(rx_journal_record(j, &id, RX_STATE_DONE, NULL, NULL, "kept"), 0);
    }
    rx_journal_close(&j);
    damaged_buf = slurp(path, &damaged_len);
    ck_assert_ptr_nonnull(damaged_buf);
    /* Damage line 3 (a file record in the middle): one byte flipped. */
    line2 = strchr(damaged_buf, '\n') + 1;
    line3 = strchr(line2, '\n') + 1;
    line3[20] ^= 0x20;
    /* The repair keeps every other line. */
    repaired_buf = malloc(damaged_len);
    ck_assert_ptr_nonnull(repaired_buf);
    repaired_len = (size_t)(line3 - damaged_buf);
    memcpy(repaired_buf, damaged_buf, repaired_len);
    {
        char *line4 = strchr(line3, '\n') + 1;
        size_t rest = damaged_len - (size_t)(line4 - damaged_buf);
        memcpy(repaired_buf + repaired_len, line4, rest);
        repaired_len += rest;
    }
}

static void workload_journal_repair(const char *dir)
{
    const char *path = at(dir, "journal");
    RxJournalReport rep;
    RxJournal *j = NULL;
    char *now;
    size_t len;
    int ret, fired, repaired;

    spew(path, damaged_buf, damaged_len, 0);
    arm();
    ret = rx_journal_open(&j, path, 0, &rep);
    fired = disarm();
    expect(ret, fired, AVERROR_INVALIDDATA, AVERROR(ENOMEM), "rx_journal_open (damaged)");
    ck_assert_ptr_null(j);

    arm();
    ret = rx_journal_repair(path, &rep);
    fired = disarm();
    expect(ret, fired, 0, AVERROR(ENOMEM), "rx_journal_repair");

    /* The journal is the damaged one or the repaired one, never anything
     * else (a failed fsync of the directory after the rename may report
     * ENOMEM with the repair done), and no temporary file is left. */
    now = slurp(path, &len);
    ck_assert_ptr_nonnull(now);
    repaired = len == repaired_len && !memcmp(now, repaired_buf, len);
    ck_assert_msg(repaired || (len == damaged_len && !memcmp(now, damaged_buf, len)),
                  "journal neither damaged nor repaired [%s]", round_name);
    if (ret == 0)
        ck_assert(repaired);
    free(now);
    {
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
        ck_assert_msg(!exists(tmp), "'%s' left behind [%s]", tmp, round_name);
    }

    if (repaired) {
        j = open_armed(path, 0, &rep);
        if (j) {
            ck_assert_int_eq(rep.corrupt_line, 0);
            rx_journal_close(&j);
        }
    }
}

/* ---- workload: the filter ---- */

typedef struct FakeField {
    RxStreamKind kind;
    size_t stream;
    const char *name, *value;
} FakeField;

static const FakeField gamebar[] = {
    {RX_STREAM_GENERAL, 0, "Performer", "Microsoft Game DVR"},
    {RX_STREAM_GENERAL, 0, "Title", "Google Chrome"},
    {RX_STREAM_GENERAL, 0, "Duration", "61000"},
    {RX_STREAM_VIDEO, 0, "Width", "1920"},
    {RX_STREAM_AUDIO, 0, "SamplingRate", "48000"},
    {RX_STREAM_AUDIO, 1, "SamplingRate", "44100"},
};

static size_t fake_count(const void *opaque, RxStreamKind kind)
{
    (void)opaque;
    return kind == RX_STREAM_GENERAL || kind == RX_STREAM_VIDEO ? 1
           : kind == RX_STREAM_AUDIO                            ? 2
                                                                : 0;
}

static const char *fake_get(const void *opaque, RxStreamKind kind, size_t stream, const char *name)
{
    (void)opaque;
    for (size_t i = 0; i < sizeof(gamebar) / sizeof(gamebar[0]); i++)
        if (gamebar[i].kind == kind && gamebar[i].stream == stream &&
            !strcmp(gamebar[i].name, name))
            return gamebar[i].value;
    return NULL;
}

static void filter_case(const char *const *exprs, size_t n, unsigned flags, int ok, int want_match)
{
    static const RxFields fields = {NULL, fake_count, fake_get};
    RxFilter *sentinel = (RxFilter *)&sentinel, *f = sentinel;
    RxFilterError err;
    RxFilterMiss miss;
    const RxFieldRef *refs;
    size_t n_refs;
    long seen;
    int ret, fired, m;

    arm();
    ret = rx_filter_compile(&f, exprs, n, flags, &err);
    fired = disarm();
    expect(ret, fired, ok, AVERROR(ENOMEM), "rx_filter_compile");
    if (ret < 0) {
        ck_assert_ptr_eq(f, sentinel); /* untouched on error */
        return;
    }
    /* Evaluation never allocates (it cannot fail). */
    seen = inj.seen;
    arm();
    refs = rx_filter_fields(f, &n_refs);
    m = rx_filter_match(f, &fields, &miss);
    disarm();
    ck_assert_int_eq(inj.seen, seen);
    ck_assert_int_eq(m, want_match);
    ck_assert(n_refs == 0 || refs != NULL);
    arm();
    rx_filter_free(&f);
    disarm();
    ck_assert_ptr_null(f);
}

static void workload_filter(const char *dir)
{
    static const char *const exprs[] = {
        "Performer=Microsoft Game DVR",
        "Video;Width>=1280",
        "Audio;SamplingRate!=44100",
        "Title~=chrome",
        "!EncodedBy",
        "General;Duration>60000",
        "Title=\"Google \\\"Chrome\"",
        "Text;!Language",
    };
    static const char *const bad[] = {"Title?", "Vdeo;Format=AVC"};
    static const char *const miss[] = {"Audio;SamplingRate>48000"};

    (void)dir;
    filter_case(exprs, 6, 0, 0, 1);
    filter_case(exprs, 8, 0, 0, 0); /* the quoted title differs */
    filter_case(NULL, 0, 0, 0, 1);  /* the default filter */
    filter_case(exprs, 2, RX_FILTER_ALL, 0, 1);
    filter_case(NULL, 0, RX_FILTER_ALL, 0, 1);
    filter_case(miss, 1, 0, 0, 0);
    filter_case(bad, 2, 0, AVERROR(EINVAL), 0);
}

/* ---- workload: the command line ---- */

static void cli_case(int argc, const char *const *argv, RxCliStatus ok)
{
    RxCli cli;
    char err[256];
    RxCliStatus st;
    int fired;

    arm();
    st = rx_cli_parse(argc, (char *const *)(uintptr_t)argv, &cli, err, sizeof(err));
    fired = disarm();
    ck_assert_msg(st == (fired ? RX_CLI_USAGE : ok), "rx_cli_parse: %d (%s) [%s]", (int)st, err,
                  round_name);
    if (fired)
        ck_assert_str_eq(err, "out of memory");
    arm();
    rx_cli_free(&cli);
    disarm();
}

static void workload_cli(const char *dir)
{
    static const char *const run[] = {"reencode", "run",   "-j", "2",      "-m",
                                      "Title?",   "--all", "a",  "--wait", "b"};
    static const char *const list[] = {"reencode", "list", "--json", "x"};
    static const char *const encode[] = {"reencode", "encode", "in.mp4", "-o", "out.webm"};
    static const char *const help[] = {"reencode", "--help"};
    static const char *const bad[] = {"reencode", "run", "--jobs", "0", "x"};

    (void)dir;
    cli_case(10, run, RX_CLI_OK);
    cli_case(4, list, RX_CLI_OK);
    cli_case(5, encode, RX_CLI_OK);
    cli_case(2, help, RX_CLI_OK);
    cli_case(5, bad, RX_CLI_USAGE);
}

/* ---- workload: the journals of a root (shards) ---- */

/* Disarmed: three journals of one base, a file in each and one in two. */
static void prepare_shards(const char *dir)
{
    static const char *const names[] = {"journal", "journal.0-of-2", "journal.1-of-2"};
    RxJournalReport rep;

    for (int k = 0; k < 3; k++) {
        RxJournal *j = NULL;
        RxFileId own = fake_id(names[k], 10 + k, 10u + (unsigned)k), both = fake_id("b", 5, 5);
        ck_assert_int_eq(rx_journal_open(&j, at(dir, names[k]), 0, &rep), 0);
        ck_assert_int_eq(rx_journal_record(j, &own, RX_STATE_DONE, NULL, NULL, NULL), 0);
        if (k)
            ck_assert_int_eq(rx_journal_record(j, &both, k == 1 ? RX_STATE_DONE : RX_STATE_FAILED,
                                               NULL, NULL, NULL),
                             0);
        rx_journal_close(&j);
    }
}

static void workload_journals(const char *dir)
{
    RxFileId both = fake_id("b", 5, 5);
    RxJournalReport rep;
    RxJournals *set = NULL;
    const RxJournalEntry *e;
    char bad[PATH_MAX];
    int ret, fired;

    prepare_shards(dir);
    arm();
    ret = rx_journals_open(&set, at(dir, "journal"), NULL, &rep, bad, sizeof(bad));
    fired = disarm();
    expect(ret, fired, 0, AVERROR(ENOMEM), "rx_journals_open");
    if (!set)
        goto shard;
    ck_assert_uint_eq(rx_journals_count(set), 3);
    arm();
    ret = rx_journals_merge(set);
    fired = disarm();
    expect(ret, fired, 0, AVERROR(ENOMEM), "rx_journals_merge");
    if (!ret) {
        ck_assert_uint_eq(rx_journals_files(set), 4);
        e = rx_journals_find(set, &both, NULL, NULL);
        ck_assert(e && e->result.state == RX_STATE_DONE);
    }
    rx_journals_free(&set);
shard:
    arm();
    ret = rx_shard_of("2024/week1/lecture.mp4", 4);
    fired = disarm();
    expect(ret, fired, 0, AVERROR(ENOMEM), "rx_shard_of");
}

/* ---- the sweeps ---- */

typedef void (*Workload)(const char *dir);

/* One round in a fresh directory, then the leak check. */
static void run_round(Workload w, const char *label, long n)
{
    char dir[PATH_MAX];

    snprintf(round_name, sizeof(round_name), "%s, round %ld", label, n);
    snprintf(dir, sizeof(dir), "%s/round", top);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    leak_mark();
    w(dir);
    ck_assert(!inj.armed);
    rm_tree(dir);
    leak_check(0);
}

/* Fail allocation 1, 2, ... of the workload in turn until a round makes
 * fewer; returns the number of allocation points. */
static long sweep(Workload w, const char *label, long at_least)
{
    long n;

    for (n = 1;; n++) {
        memset(&inj, 0, sizeof(inj));
        inj.fail_at = n;
        run_round(w, label, n);
        if (!inj.failed)
            break;
        ck_assert_msg(n < 100000, "%s: no end to the allocations", label);
    }
    /* The clean round made n - 1 allocations: the wrapper saw them. */
    ck_assert_int_eq(inj.seen, n - 1);
    ck_assert_msg(n - 1 >= at_least, "%s: only %ld allocations seen", label, n - 1);
    snprintf(round_name, sizeof(round_name), "%s, all rounds", label);
    leak_check(1);
    printf("check_alloc: %s: %ld allocation points, each failed once\n", label, n - 1);
    fflush(stdout);
    return n - 1;
}

START_TEST(test_wrapper_reaches_core)
{
    RxJournal *j = NULL;
    RxFilter *f = NULL;
    RxJournalReport rep;

    /* The journal's first allocation (calloc) fails: proof that calls from
     * inside the static core library reach the wrapper. */
    memset(&inj, 0, sizeof(inj));
    inj.fail_at = 1;
    arm();
    ck_assert_int_eq(rx_journal_open_buffer(&j, "", 0, &rep), AVERROR(ENOMEM));
    ck_assert(disarm());
    ck_assert_ptr_null(j);
    memset(&inj, 0, sizeof(inj));
    inj.fail_at = 1;
    arm();
    ck_assert_int_eq(rx_filter_compile(&f, NULL, 0, 0, NULL), AVERROR(ENOMEM));
    ck_assert(disarm());
    ck_assert_ptr_null(f);
    /* Disarmed, nothing fails and nothing is counted. */
    memset(&inj, 0, sizeof(inj));
    inj.fail_at = 1;
    ck_assert_int_eq(rx_journal_open_buffer(&j, "", 0, &rep), 0);
    ck_assert_int_eq(inj.seen, 0);
    rx_journal_close(&j);
}
END_TEST

START_TEST(test_sweep_journal_write)
{
    sweep(workload_journal_write, "journal write", 30);
}
END_TEST

START_TEST(test_sweep_journal_replay)
{
    prepare_many();
    sweep(workload_journal_replay, "journal replay", 4 * MANY);
    free(many_buf);
}
END_TEST

START_TEST(test_sweep_journal_repair)
{
    prepare_damaged();
    sweep(workload_journal_repair, "journal repair", 10);
    free(damaged_buf);
    free(repaired_buf);
}
END_TEST

START_TEST(test_sweep_journals)
{
    sweep(workload_journals, "journals", 10);
}
END_TEST

START_TEST(test_sweep_filter)
{
    sweep(workload_filter, "filter", 20);
}
END_TEST

START_TEST(test_sweep_cli)
{
    sweep(workload_cli, "cli", 8);
}
END_TEST

/* Every workload per round, each allocation failing with probability 1/20. */
START_TEST(test_random_failures)
{
    static const struct {
        Workload w;
        const char *label;
    } all[] = {
        {workload_journal_write, "random: journal write"},
        {workload_journal_replay, "random: journal replay"},
        {workload_journal_repair, "random: journal repair"},
        {workload_journals, "random: journals"},
        {workload_filter, "random: filter"},
        {workload_cli, "random: cli"},
    };
    long failed = 0, seen = 0;

    prepare_many();
    prepare_damaged();
    memset(&inj, 0, sizeof(inj));
    inj.one_in = 20;
    inj.rng = UINT64_C(0x2545f4914f6cdd1d);
    for (long r = 1; r <= 200; r++)
        for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
            run_round(all[k].w, all[k].label, r);
    snprintf(round_name, sizeof(round_name), "random, all rounds");
    leak_check(1);
    failed = inj.failed;
    seen = inj.seen;
    printf("check_alloc: random: %ld of %ld allocations failed over 200 rounds\n", failed, seen);
    fflush(stdout);
    ck_assert_int_gt(failed, 200);
    free(many_buf);
    free(damaged_buf);
    free(repaired_buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("alloc");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_wrapper_reaches_core);
    tcase_add_test(tc, test_sweep_journal_write);
    tcase_add_test(tc, test_sweep_journal_replay);
    tcase_add_test(tc, test_sweep_journal_repair);
    tcase_add_test(tc, test_sweep_journals);
    tcase_add_test(tc, test_sweep_filter);
    tcase_add_test(tc, test_sweep_cli);
    tcase_add_test(tc, test_random_failures);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
