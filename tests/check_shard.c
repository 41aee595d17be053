/*
 * check_shard.c - shards: the assignment formula (pinned against values
 * computed independently with Python's hashlib from the documented formula),
 * its spread, the --shard syntax, `--shard auto` from Slurm and Kubernetes
 * environments, shard journal names, and the merged view of the journals of
 * one root (journals.h).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/error.h>
#include <libavutil/mem.h>

#include "checkrun.h"
#include "reencode/journals.h"
#include "reencode/shard.h"
#include "testdir.h"

/* ---- the formula */

START_TEST(test_known_assignments)
{
    /* python3: int(hashlib.sha256(rel).hexdigest()[:16], 16) % n */
    static const struct {
        const char *rel;
        int n, shard;
    } known[] = {
        {"a.mp4", 3, 1},                                     /* e6d48eabd560bc60 */
        {"Game 2024-05-01 12-00-00.mp4", 3, 1},              /* d69cbef942a0a639 */
        {"week1/lecture.mp4", 4, 0},                         /* 81e93efc982d9448 */
        {"b c/clip 7.mp4", 2, 0},                            /* 80e79a089e15db7e */
        {"caf\xc3\xa9/x.mp4", 5, 1},                         /* 8421ecf090f92c62 */
        {"2024-05/Game 2024-05-01 12-00-00.mp4", 1000, 337}, /* ea1371adb8d55a01 */
    };

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        RxShard mine = {known[i].shard, known[i].n, 0}, other = {0, known[i].n, 0};
        ck_assert_msg(rx_shard_of(known[i].rel, known[i].n) == known[i].shard,
                      "'%s' mod %d: %d, expected %d", known[i].rel, known[i].n,
                      rx_shard_of(known[i].rel, known[i].n), known[i].shard);
        ck_assert_int_eq(rx_shard_has(&mine, known[i].rel), 1);
        other.index = (known[i].shard + 1) % known[i].n;
        ck_assert_int_eq(rx_shard_has(&other, known[i].rel), 0);
    }
    ck_assert_int_eq(rx_shard_of("anything", 1), 0);
    ck_assert_int_eq(rx_shard_has(NULL, "x"), 1);
    ck_assert_int_eq(rx_shard_has(&(RxShard){0, 0, 0}, "x"), 1);
}
END_TEST

/* Every file in exactly one shard, and shards of even size, also for names
 * that differ in one character only (what weak hashes pile together). */
START_TEST(test_spread)
{
    static const int counts[] = {2, 3, 4, 7, 8, 16};
    enum { NAMES = 12000 };
    char name[96];

    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        int n = counts[c], per[16] = {0};
        for (int i = 0; i < NAMES; i++) {
            int owners = 0;
            if (i % 2)
                snprintf(name, sizeof(name), "2024-%02d/Game 2024-%02d-01 12-%05d.mp4", i % 12 + 1,
                         i % 12 + 1, i);
            else
                snprintf(name, sizeof(name), "lectures/week %c%c/part %d.mp4", 'a' + i % 26,
                         'a' + i / 26 % 26, i / 676);
            for (int k = 0; k < n; k++)
                owners += rx_shard_has(&(RxShard){k, n, 0}, name);
            ck_assert_int_eq(owners, 1);
            per[rx_shard_of(name, n)]++;
        }
        /* Binomial: sd = sqrt(NAMES p (1-p)) <= 55 here; allow 5 sd. */
        for (int k = 0; k < n; k++)
            ck_assert_msg(abs(per[k] - NAMES / n) < 280, "%d shards: shard %d has %d of %d", n, k,
                          per[k], NAMES);
    }
}
END_TEST

/* ---- --shard syntax */

START_TEST(test_parse)
{
    static const char *const bad[] = {
        "",      "3",      "3/3",    "4/3",  "-1/3",  "01/3",     "1/03",
        "1/0",   "a/b",    "1/3x",   " 1/3", "1/ 3",  "1/",       "/3",
        "auto/", "auto/0", "auto/x", "Auto", "1/3/4", "0/100001", "99999999999/3"};
    char err[256];
    RxShard s;

    ck_assert_int_eq(rx_shard_parse(&s, "0/3", err, sizeof(err)), 0);
    ck_assert(s.index == 0 && s.count == 3 && !s.from_env);
    ck_assert_int_eq(rx_shard_parse(&s, "11/12", err, sizeof(err)), 0);
    ck_assert(s.index == 11 && s.count == 12);
    ck_assert_int_eq(rx_shard_parse(&s, "0/1", err, sizeof(err)), 0);
    ck_assert_int_eq(rx_shard_parse(&s, "0/100000", err, sizeof(err)), 0);
    ck_assert_int_eq(rx_shard_parse(&s, "auto", err, sizeof(err)), 0);
    ck_assert(s.from_env && s.count == 0);
    ck_assert_int_eq(rx_shard_parse(&s, "auto/8", err, sizeof(err)), 0);
    ck_assert(s.from_env && s.count == 8);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ck_assert_msg(rx_shard_parse(&s, bad[i], err, sizeof(err)) == AVERROR(EINVAL),
                      "'%s' accepted", bad[i]);
        ck_assert_msg(strstr(err, "--shard") && !strchr(err, '\n'), "'%s': %s", bad[i], err);
    }
    rx_shard_parse(&s, "3/3", err, sizeof(err));
    ck_assert_ptr_nonnull(strstr(err, "below N"));
}
END_TEST

/* ---- --shard auto */

static void clear_env(void)
{
    static const char *const vars[] = {"SLURM_ARRAY_TASK_ID",    "SLURM_ARRAY_TASK_MIN",
                                       "SLURM_ARRAY_TASK_MAX",   "SLURM_ARRAY_TASK_STEP",
                                       "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX",
                                       RX_SHARD_COUNT_ENV};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
}

static void slurm(const char *id, const char *min, const char *max, const char *step,
                  const char *count)
{
    clear_env();
    setenv("SLURM_ARRAY_TASK_ID", id, 1);
    setenv("SLURM_ARRAY_TASK_MIN", min, 1);
    setenv("SLURM_ARRAY_TASK_MAX", max, 1);
    if (step)
        setenv("SLURM_ARRAY_TASK_STEP", step, 1);
    setenv("SLURM_ARRAY_TASK_COUNT", count, 1);
}

/* Resolve "auto" (or auto/n) in the current environment: 0 and *s, or the
 * error with its message in err. */
static int resolve(const char *spec, RxShard *s, char *err, size_t size)
{
    ck_assert_int_eq(rx_shard_parse(s, spec, err, size), 0);
    err[0] = '\0';
    return rx_shard_from_env(s, err, size);
}

START_TEST(test_auto)
{
    char err[256];
    RxShard s;

    /* --array=1-3: ids 1..3 are shards 0..2 */
    slurm("1", "1", "3", "1", "3");
    ck_assert_int_eq(resolve("auto", &s, err, sizeof(err)), 0);
    ck_assert(s.index == 0 && s.count == 3 && !s.from_env);
    slurm("3", "1", "3", "1", "3");
    ck_assert_int_eq(resolve("auto", &s, err, sizeof(err)), 0);
    ck_assert(s.index == 2 && s.count == 3);
    /* --array=10-40:10 */
    slurm("30", "10", "40", "10", "4");
    ck_assert_int_eq(resolve("auto", &s, err, sizeof(err)), 0);
    ck_assert(s.index == 2 && s.count == 4);
    /* auto/N must agree with the array */
    ck_assert_int_eq(resolve("auto/4", &s, err, sizeof(err)), 0);
    ck_assert_int_eq(resolve("auto/5", &s, err, sizeof(err)), AVERROR(EINVAL));
    ck_assert_ptr_nonnull(strstr(err, "number of tasks"));
    /* --array=1,5,9: no rule from id to shard */
    slurm("5", "1", "9", "1", "3");
    ck_assert_int_eq(resolve("auto", &s, err, sizeof(err)), AVERROR(EINVAL));
    ck_assert_ptr_nonnull(strstr(err, "regular range"));
    /* --array=0,2,3 would leave shard 1 to nobody: refused for every task */
    slurm("0", "0", "3", "1", "3");
    ck_assert_int_eq(resolve("auto", &s, err, sizeof(err)), AVERROR(EINVAL));
    slurm("x", "0", "3", "1", "4");
    ck_assert_int_eq(resolve("auto", &s, err, sizeof(err)), AVERROR(EINVAL));
    ck_assert_ptr_nonnull(strstr(err, "SLURM_ARRAY_TASK_ID"));

    /* Kubernetes Indexed Job */
    clear_env();
    setenv("JOB_COMPLETION_INDEX", "2", 1);
    ck_assert_int_eq(resolve("auto/3", &s, err, sizeof(err)), 0);
    ck_assert(s.index == 2 && s.count == 3);
    ck_assert_int_eq(resolve("auto", &s, err, sizeof(err)), AVERROR(EINVAL));
    ck_assert_ptr_nonnull(strstr(err, RX_SHARD_COUNT_ENV));
    setenv(RX_SHARD_COUNT_ENV, "5", 1);
    ck_assert_int_eq(resolve("auto", &s, err, sizeof(err)), 0);
    ck_assert(s.index == 2 && s.count == 5);
    ck_assert_int_eq(resolve("auto/2", &s, err, sizeof(err)), AVERROR(EINVAL));
    ck_assert_ptr_nonnull(strstr(err, "not below"));

    /* nothing to go by */
    clear_env();
    ck_assert_int_eq(resolve("auto", &s, err, sizeof(err)), AVERROR(EINVAL));
    ck_assert_ptr_nonnull(strstr(err, "give --shard K/N"));
    ck_assert_ptr_null(strchr(err, '\n'));

    /* not auto: the environment is not read */
    slurm("1", "0", "3", "1", "4");
    ck_assert_int_eq(rx_shard_parse(&s, "3/4", err, sizeof(err)), 0);
    ck_assert_int_eq(rx_shard_from_env(&s, err, sizeof(err)), 0);
    ck_assert(s.index == 3 && s.count == 4);
}
END_TEST

/* ---- journal names */

START_TEST(test_journal_names)
{
    static const char *const no[] = {"journal.3-of-3",  "journal.01-of-3",
                                     "journal.1-of-03", "journal.bak-1700000000",
                                     "journal.tmp-123", "journal.1-of-3.bak-1700000000",
                                     "journal.-of-3",   "journalx",
                                     "journa",          "journal.",
                                     "journal.1-of-",   "reencode-2024-05-01.log",
                                     "journal.1-of-3x"};
    RxShard s;
    char *p;

    ck_assert_int_eq(rx_shard_journal_name("journal", "journal", &s), 1);
    ck_assert_int_eq(s.count, 0);
    ck_assert_int_eq(rx_shard_journal_name("journal.2-of-3", "journal", &s), 1);
    ck_assert(s.index == 2 && s.count == 3);
    ck_assert_int_eq(rx_shard_journal_name("j.0-of-1", "j", &s), 1);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!rx_shard_journal_name(no[i], "journal", &s), "'%s' taken", no[i]);

    p = rx_shard_journal_path("r/.reencode/journal", &(RxShard){1, 3, 0});
    ck_assert_str_eq(p, "r/.reencode/journal.1-of-3");
    av_free(p);
    p = rx_shard_journal_path("r/.reencode/journal", &(RxShard){0, 0, 0});
    ck_assert_str_eq(p, "r/.reencode/journal");
    av_free(p);
}
END_TEST

/* ---- the journals of one root */

static char top[256];

static void setup(void)
{
    ck_assert_int_eq(td_create(top, sizeof(top), "check_shard"), 0);
}

static void teardown(void)
{
    td_remove(top);
}

static const char *at(const char *rel)
{
    return td_path(top, rel);
}

static RxFileId fake_id(const char *rel, unsigned seed)
{
    RxFileId id = {0};
    id.rel = (char *)(uintptr_t)rel; /* borrowed: never cleared */
    id.size = 1000 + seed;
    snprintf(id.hash, sizeof(id.hash), "%08x%08x%08x%08x", seed, seed * 2654435761u, ~seed,
             seed ^ 0x5a5a5a5au);
    return id;
}

static void record(const char *name, const RxFileId *id, RxState st)
{
    RxJournal *j = NULL;
    RxJournalReport rep;

    ck_assert_int_eq(rx_journal_open(&j, at(name), 0, &rep), 0);
    ck_assert_int_eq(rx_journal_record(j, id, st, NULL, NULL, NULL), 0);
    rx_journal_close(&j);
    usleep(3000); /* records a few ms apart: times differ */
}

static void spew(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static off_t size_of(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

/* The merged entry of rel, and which journal won. */
static const RxJournalEntry *merged(RxJournals *set, const char *rel, const char **from)
{
    for (size_t i = 0; i < rx_journals_files(set); i++) {
        size_t k;
        const RxJournalEntry *e = rx_journals_file(set, i, &k);
        if (!strcmp(e->id.rel, rel)) {
            *from = strrchr(rx_journals_path(set, k), '/') + 1;
            return e;
        }
    }
    return NULL;
}

static int reject_all(void *opaque, const RxJournalEntry *e)
{
    (void)e;
    (*(int *)opaque)++;
    return 0;
}

START_TEST(test_merge)
{
    RxFileId a = fake_id("a.mp4", 1), b = fake_id("b.mp4", 2), c = fake_id("c.mp4", 3),
             d = fake_id("d.mp4", 4);
    RxJournals *set = NULL;
    RxJournalReport rep;
    const RxJournalEntry *e;
    const char *from;
    char bad[512];
    int asked = 0;
    off_t torn;

    ck_assert_int_eq(mkdir(at("r"), 0755), 0);
    /* a: started by an old unsharded run, done by a shard later */
    record("r/journal", &a, RX_STATE_STARTED);
    record("r/journal.0-of-2", &a, RX_STATE_DONE);
    /* a done stays done, whatever a later record elsewhere says */
    record("r/journal.1-of-3", &a, RX_STATE_INTERRUPTED);
    /* b: failed, then interrupted later in another journal: the latest wins */
    record("r/journal.0-of-2", &b, RX_STATE_FAILED);
    record("r/journal.1-of-2", &b, RX_STATE_INTERRUPTED);
    /* c: only in one shard */
    record("r/journal.1-of-2", &c, RX_STATE_SKIPPED);
    /* d: in the own journal only (left out below) */
    record("r/journal.1-of-3", &d, RX_STATE_DONE);
    /* not journals: a repair's backup and temporary, a log */
    spew(at("r/journal.bak-1700000000"), "garbage\n");
    spew(at("r/journal.0-of-2.tmp-77"), "garbage\n");
    spew(at("r/reencode-2024-05-01.1-of-2.log"), "a log\n");
    /* a shard writing right now: half a line at the end */
    spew(at("r/journal.1-of-2"), "{\"v\":1,\"seq\":9,\"ti");
    torn = size_of(at("r/journal.1-of-2"));

    ck_assert_int_eq(rx_journals_open(&set, at("r/journal"), NULL, &rep, bad, sizeof(bad)), 0);
    ck_assert_uint_eq(rx_journals_count(set), 4);
    /* BASE first, then by N and K */
    ck_assert_str_eq(strrchr(rx_journals_path(set, 0), '/'), "/journal");
    ck_assert_str_eq(strrchr(rx_journals_path(set, 1), '/'), "/journal.0-of-2");
    ck_assert_str_eq(strrchr(rx_journals_path(set, 2), '/'), "/journal.1-of-2");
    ck_assert_str_eq(strrchr(rx_journals_path(set, 3), '/'), "/journal.1-of-3");
    ck_assert(rx_journals_shard(set, 3)->index == 1 && rx_journals_shard(set, 3)->count == 3);
    ck_assert_int_eq(size_of(at("r/journal.1-of-2")), torn); /* never truncated */

    ck_assert_int_eq(rx_journals_merge(set), 0);
    ck_assert_int_eq(rx_journals_merge(set), 0); /* again: nothing changes */
    ck_assert_uint_eq(rx_journals_files(set), 4);
    /* first appearance order: a (journal), b, c, d */
    ck_assert_str_eq(rx_journals_file(set, 0, NULL)->id.rel, "a.mp4");
    ck_assert_str_eq(rx_journals_file(set, 3, NULL)->id.rel, "d.mp4");
    ck_assert_ptr_null(rx_journals_file(set, 4, NULL));
    e = merged(set, "a.mp4", &from);
    ck_assert(e && e->result.state == RX_STATE_DONE);
    ck_assert_str_eq(from, "journal.0-of-2");
    e = merged(set, "b.mp4", &from);
    ck_assert(e && e->result.state == RX_STATE_INTERRUPTED);
    ck_assert_str_eq(from, "journal.1-of-2");
    e = merged(set, "c.mp4", &from);
    ck_assert(e && e->result.state == RX_STATE_SKIPPED);
    e = merged(set, "d.mp4", &from);
    ck_assert_str_eq(from, "journal.1-of-3");

    /* find: the same winners; accept can refuse every candidate */
    e = rx_journals_find(set, &a, NULL, NULL);
    ck_assert(e && e->result.state == RX_STATE_DONE);
    e = rx_journals_find(set, &b, NULL, NULL);
    ck_assert(e && e->result.state == RX_STATE_INTERRUPTED);
    ck_assert_ptr_null(rx_journals_find(set, &a, reject_all, &asked));
    ck_assert_int_eq(asked, 3); /* a is in three journals */
    rx_journals_free(&set);
    ck_assert_ptr_null(set);

    /* shard 1 of 3 leaves its own journal out: d is unknown to it */
    ck_assert_int_eq(
        rx_journals_open(&set, at("r/journal"), &(RxShard){1, 3, 0}, &rep, bad, sizeof(bad)), 0);
    ck_assert_uint_eq(rx_journals_count(set), 3);
    ck_assert_ptr_null(rx_journals_find(set, &d, NULL, NULL));
    e = rx_journals_find(set, &a, NULL, NULL);
    ck_assert(e && e->result.state == RX_STATE_DONE);
    rx_journals_free(&set);
    /* an unsharded run leaves BASE out */
    ck_assert_int_eq(
        rx_journals_open(&set, at("r/journal"), &(RxShard){0, 0, 0}, &rep, bad, sizeof(bad)), 0);
    ck_assert_uint_eq(rx_journals_count(set), 3);
    ck_assert_str_eq(strrchr(rx_journals_path(set, 0), '/'), "/journal.0-of-2");
    rx_journals_free(&set);
    rx_journals_free(NULL);
}
END_TEST

START_TEST(test_prefer)
{
    RxJournalEntry x, y;

    memset(&x, 0, sizeof(x));
    memset(&y, 0, sizeof(y));
    snprintf(x.time, sizeof(x.time), "2024-05-01T12:00:00.000Z");
    snprintf(y.time, sizeof(y.time), "2024-05-01T12:00:00.001Z");
    x.result.state = RX_STATE_FAILED;
    y.result.state = RX_STATE_STARTED;
    ck_assert(rx_journals_prefer(&y, &x) && !rx_journals_prefer(&x, &y));
    /* an outcome beats a later non-outcome, whichever clock was ahead */
    x.result.state = RX_STATE_DONE;
    ck_assert(rx_journals_prefer(&x, &y) && !rx_journals_prefer(&y, &x));
    x.result.state = RX_STATE_SKIPPED;
    ck_assert(rx_journals_prefer(&x, &y));
    x.result.state = RX_STATE_ENCODED;
    ck_assert(rx_journals_prefer(&x, &y));
    /* two outcomes: the latest */
    y.result.state = RX_STATE_DONE;
    ck_assert(rx_journals_prefer(&y, &x) && !rx_journals_prefer(&x, &y));
    /* a tie keeps the first met */
    memcpy(y.time, x.time, sizeof(x.time));
    ck_assert(!rx_journals_prefer(&y, &x) && !rx_journals_prefer(&x, &y));
}
END_TEST

START_TEST(test_open_errors)
{
    RxFileId a = fake_id("a.mp4", 1);
    RxJournals *set = NULL;
    RxJournalReport rep;
    char bad[512];
    FILE *f;

    /* no directory, no journal: an empty set */
    ck_assert_int_eq(rx_journals_open(&set, at("none/journal"), NULL, &rep, bad, sizeof(bad)), 0);
    ck_assert_uint_eq(rx_journals_count(set), 0);
    ck_assert_int_eq(rx_journals_merge(set), 0);
    ck_assert_uint_eq(rx_journals_files(set), 0);
    rx_journals_free(&set);

    /* a shard's journal damaged in the middle: refused, and named */
    ck_assert_int_eq(mkdir(at("r"), 0755), 0);
    record("r/journal", &a, RX_STATE_DONE);
    record("r/journal.2-of-4", &a, RX_STATE_STARTED);
    record("r/journal.2-of-4", &a, RX_STATE_DONE);
    f = fopen(at("r/journal.2-of-4"), "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 60, SEEK_SET); /* inside the first line: valid ones follow */
    fputc('#', f);
    fclose(f);
    ck_assert_int_eq(rx_journals_open(&set, at("r/journal"), NULL, &rep, bad, sizeof(bad)),
                     AVERROR_INVALIDDATA);
    ck_assert_ptr_null(set);
    ck_assert_str_eq(bad, at("r/journal.2-of-4"));
    ck_assert_int_gt(rep.corrupt_line, 0);
    /* ... unless it is the own journal, which the caller opens itself */
    ck_assert_int_eq(
        rx_journals_open(&set, at("r/journal"), &(RxShard){2, 4, 0}, &rep, bad, sizeof(bad)), 0);
    ck_assert_uint_eq(rx_journals_count(set), 1);
    rx_journals_free(&set);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shard");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_known_assignments);
    tcase_add_test(tc, test_spread);
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_auto);
    tcase_add_test(tc, test_journal_names);
    tcase_add_test(tc, test_merge);
    tcase_add_test(tc, test_prefer);
    tcase_add_test(tc, test_open_errors);
    suite_add_tcase(s, tc);

    return rx_check_run(s);
}
