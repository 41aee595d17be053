/*
 * check_journal.c - the checkpoint journal: replay, torn tails at every byte,
 * corrupt middles and repair, file identity, the lock, byte-exact names,
 * concurrent writers, the strict parser.
 *
 * Each test works in a fresh directory under $TMPDIR (or /tmp), removed at
 * the end. Check runs each test in its own process, which the lock tests rely
 * on (a forked child holds the lock) and the write-failure test too (it lowers
 * RLIMIT_FSIZE for its process only).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/crc.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "checkrun.h"
#include "reencode/journal.h"
#include "fakeid.h"

static char top[256]; /* this test's temporary directory */

static const char *at(const char *rel)
{
    static char buf[4][PATH_MAX];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], PATH_MAX, "%s/%s", top, rel);
    return buf[k];
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(top, sizeof(top), "%s/check_journal.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(top));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spew(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static size_t count_lines(const char *buf, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += buf[i] == '\n';
    return n;
}

static RxJournal *open_ok(const char *path, unsigned flags, RxJournalReport *rep)
{
    RxJournal *j = NULL;
    int ret = rx_journal_open(&j, path, flags, rep);
    ck_assert_msg(ret == 0, "open '%s': %s (line %ld: %s)", path, av_err2str(ret),
                  rep->corrupt_line, rep->reason);
    ck_assert_ptr_nonnull(j);
    return j;
}

static RxState state_of(RxJournal *j, const RxFileId *id)
{
    const RxJournalEntry *e = rx_journal_find(j, id);
    return e ? e->result.state : (RxState)-1;
}

/* zlib's CRC-32, as the journal uses (checked against zlib in
 * test_golden_line). */
static uint32_t crc32_of(const char *s, size_t n)
{
    return av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX, (const uint8_t *)s, n) ^
           UINT32_MAX;
}

/* body + " crc\n" into out. */
static size_t make_line(char *out, size_t size, const char *body)
{
    int n = snprintf(out, size, "%s %08x\n", body, crc32_of(body, strlen(body)));
    ck_assert_int_gt(n, 0);
    ck_assert_uint_lt((size_t)n, size);
    return (size_t)n;
}

/* ---- replay ---- */

START_TEST(test_replay)
{
    const char *path = at("journal");
    RxFileId a = fake_id("a.mp4", 1000, 1), b = fake_id("b.mp4", 2000, 2);
    RxFileId c = fake_id("c.mp4", 3000, 3), d = fake_id("d.mp4", 4000, 4);
    RxJournalReport rep;
    const RxJournalEntry *e;
    RxResult res;
    RxJournal *j = open_ok(path, 0, &rep);

    ck_assert_int_eq(rep.records, 0);
    ck_assert_int_eq(rep.torn_tail, 0);
    ck_assert_int_eq(rep.holder_pid, 0);

    ck_assert_int_eq(rx_journal_record(j, &a, RX_STATE_STARTED, NULL, "a.webm", NULL), 0);
    rx_result_init(&res);
    res.in_bytes = 1000;
    res.out_bytes = 300;
    res.in_duration_us = 60000000;
    res.video_duration_us = 60016667;
    res.audio_duration_us = 60000000;
    res.video_frames = 3601;
    res.audio_tracks = 2;
    res.width = 2560;
    res.height = 1440;
    res.wall_seconds = 12.3456;
    snprintf(res.out_hash, sizeof(res.out_hash), "%s", "00112233445566778899aabbccddeeff");
    ck_assert_int_eq(rx_journal_record(j, &a, RX_STATE_ENCODED, &res, NULL, NULL), 0);
    ck_assert_int_eq(rx_journal_record(j, &a, RX_STATE_DONE, NULL, NULL, "renamed"), 0);

    ck_assert_int_eq(rx_journal_record(j, &b, RX_STATE_STARTED, NULL, "b.webm", NULL), 0);
    rx_result_init(&res);
    res.err = AVERROR(EIO);
    snprintf(res.error, sizeof(res.error), "cannot read packet of 'b.mp4': I/O error");
    ck_assert_int_eq(rx_journal_record(j, &b, RX_STATE_FAILED, &res, NULL, NULL), 0);
    ck_assert_int_eq(rx_journal_record(j, &b, RX_STATE_STARTED, NULL, NULL, NULL), 0);
    rx_result_init(&res);
    res.out_bytes = 10;
    ck_assert_int_eq(rx_journal_record(j, &b, RX_STATE_DONE, &res, "b.webm", "deleted"), 0);

    rx_result_init(&res);
    res.in_bytes = 3000;
    res.out_bytes = 3100;
    snprintf(res.out_hash, sizeof(res.out_hash), "%s", "NOT-A-HASH"); /* never written */
    ck_assert_int_eq(rx_journal_record(j, &c, RX_STATE_SKIPPED, &res, NULL, "kept"), 0);

    ck_assert_int_eq(rx_journal_record(j, &d, RX_STATE_STARTED, NULL, "d.webm", NULL), 0);
    rx_result_init(&res);
    res.err = AVERROR_INVALIDDATA;
    snprintf(res.error, sizeof(res.error), "cannot decode 'd.mp4': Invalid data");
    ck_assert_int_eq(rx_journal_record(j, &d, RX_STATE_FAILED, &res, NULL, NULL), 0);
    ck_assert_int_eq(rx_journal_record(j, &d, RX_STATE_FAILED, &res, NULL, NULL), 0);

    /* In memory, before any reopen. */
    e = rx_journal_find(j, &a);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->result.state, RX_STATE_DONE);
    ck_assert_int_eq(e->result.out_bytes, 300); /* carried from "encoded" */
    ck_assert_str_eq(e->output, "a.webm");      /* carried from "started" */
    ck_assert_str_eq(e->original, "renamed");
    rx_journal_close(&j);
    ck_assert_ptr_null(j);

    j = open_ok(path, 0, &rep);
    ck_assert_int_eq(rep.records, 1 + 11); /* session + a 3, b 4, c 1, d 3 */
    ck_assert_int_eq(rep.torn_tail, 0);
    ck_assert_int_eq(rep.holder_pid, getpid());
    ck_assert_str_ne(rep.holder_host, "");
    ck_assert_uint_eq(rx_journal_count(j), 4);

    e = rx_journal_entry(j, 0); /* first-seen order */
    ck_assert_str_eq(e->id.rel, "a.mp4");
    ck_assert_int_eq(e->id.size, 1000);
    ck_assert_int_eq(e->id.mtime_ns, a.mtime_ns);
    ck_assert_str_eq(e->id.hash, a.hash);
    ck_assert_int_eq(e->result.state, RX_STATE_DONE);
    ck_assert_int_eq(e->attempts, 1);
    ck_assert_int_eq(e->seq, 4); /* session 1, started 2, encoded 3, done 4 */
    ck_assert_str_eq(e->output, "a.webm");
    ck_assert_str_eq(e->original, "renamed");
    ck_assert_int_eq(e->result.in_bytes, 1000);
    ck_assert_int_eq(e->result.out_bytes, 300);
    ck_assert_str_eq(e->result.out_hash, "00112233445566778899aabbccddeeff"); /* carried */
    ck_assert_int_eq(e->result.in_duration_us, 60000000);
    ck_assert_int_eq(e->result.video_duration_us, 60016667);
    ck_assert_int_eq(e->result.audio_duration_us, 60000000);
    ck_assert_int_eq(e->result.video_frames, 3601);
    ck_assert_int_eq(e->result.audio_tracks, 2);
    ck_assert_int_eq(e->result.width, 2560);
    ck_assert_int_eq(e->result.height, 1440);
    ck_assert_double_eq_tol(e->result.wall_seconds, 12.346, 1e-9); /* kept in ms */
    ck_assert_int_eq(strlen(e->time), 24);
    ck_assert_int_eq(e->time[23], 'Z');

    e = rx_journal_entry(j, 1);
    ck_assert_str_eq(e->id.rel, "b.mp4");
    ck_assert_int_eq(e->result.state, RX_STATE_DONE);
    ck_assert_int_eq(e->attempts, 2);
    ck_assert_int_eq(e->result.out_bytes, 10);
    ck_assert_str_eq(e->result.out_hash, ""); /* never given: absent */
    ck_assert_int_eq(e->result.err, 0);
    ck_assert_str_eq(e->result.error, "");
    ck_assert_str_eq(e->original, "deleted");

    e = rx_journal_entry(j, 2);
    ck_assert_str_eq(e->id.rel, "c.mp4");
    ck_assert_int_eq(e->result.state, RX_STATE_SKIPPED);
    ck_assert_int_eq(e->attempts, 1); /* decided without a "started" */
    ck_assert_int_eq(e->result.out_bytes, 3100);
    ck_assert_str_eq(e->result.out_hash, "");
    ck_assert_str_eq(e->original, "kept");
    ck_assert_ptr_null(e->output);

    e = rx_journal_entry(j, 3);
    ck_assert_str_eq(e->id.rel, "d.mp4");
    ck_assert_int_eq(e->result.state, RX_STATE_FAILED);
    ck_assert_int_eq(e->attempts, 2); /* failed again without a new start */
    ck_assert_int_eq(e->result.err, AVERROR_INVALIDDATA);
    ck_assert_str_eq(e->result.error, "cannot decode 'd.mp4': Invalid data");
    ck_assert_str_eq(e->output, "d.webm");
    ck_assert_int_eq(e->seq, 12);

    ck_assert_ptr_null(rx_journal_entry(j, 4));
    rx_journal_close(&j);
    rx_journal_close(&j); /* NULL is fine */
}
END_TEST

/* A pointer from find stays valid and unchanged after the file's next record. */
START_TEST(test_entries_are_immutable)
{
    RxFileId a = fake_id("a.mp4", 1, 1);
    RxJournalReport rep;
    RxJournal *j = open_ok(at("journal"), 0, &rep);
    const RxJournalEntry *old, *now;

    ck_assert_int_eq(rx_journal_record(j, &a, RX_STATE_STARTED, NULL, "out", NULL), 0);
    old = rx_journal_find(j, &a);
    ck_assert_int_eq(rx_journal_record(j, &a, RX_STATE_DONE, NULL, NULL, "kept"), 0);
    now = rx_journal_find(j, &a);
    ck_assert_ptr_ne(old, now);
    ck_assert_int_eq(old->result.state, RX_STATE_STARTED);
    ck_assert_ptr_null(old->original);
    ck_assert_int_eq(now->result.state, RX_STATE_DONE);
    ck_assert_str_eq(now->output, "out");
    rx_journal_close(&j);
}
END_TEST

/* ---- torn tails ---- */

START_TEST(test_torn_tail_every_offset)
{
    const char *path = at("journal"), *ref = at("reference");
    RxFileId x = fake_id("x", 10, 1), y = fake_id("y", 20, 2), z = fake_id("z", 30, 3);
    RxJournalReport rep;
    RxJournal *j;
    size_t len, ends[8], nl = 0;
    char *full;

    /* session, x started, x done, y failed */
    j = open_ok(ref, 0, &rep);
    ck_assert_int_eq(rx_journal_record(j, &x, RX_STATE_STARTED, NULL, NULL, NULL), 0);
    ck_assert_int_eq(rx_journal_record(j, &x, RX_STATE_DONE, NULL, NULL, NULL), 0);
    ck_assert_int_eq(rx_journal_record(j, &y, RX_STATE_FAILED, NULL, NULL, NULL), 0);
    rx_journal_close(&j);
    full = slurp(ref, &len);
    for (size_t i = 0; i < len; i++)
        if (full[i] == '\n')
            ends[nl++] = i + 1;
    ck_assert_uint_eq(nl, 4);

    for (size_t cut = 0; cut <= len; cut++) {
        size_t k = 0, boundary = 0;
        while (k < nl && ends[k] <= cut)
            boundary = ends[k++];

        spew(path, full, cut);
        j = open_ok(path, 0, &rep);
        ck_assert_int_eq(rep.records, (long)k);
        ck_assert_int_eq(rep.torn_tail, cut != boundary);
        if (cut != boundary) {
            ck_assert_int_eq(rep.torn_line, (long)k + 1);
            ck_assert_int_eq(rep.torn_offset, (int64_t)boundary);
            ck_assert_str_ne(rep.reason, "");
        }
        /* Exactly the complete records' states. */
        ck_assert_int_eq(state_of(j, &x), k >= 3   ? RX_STATE_DONE
                                          : k >= 2 ? RX_STATE_STARTED
                                                   : (RxState)-1);
        ck_assert_int_eq(state_of(j, &y), k >= 4 ? RX_STATE_FAILED : (RxState)-1);
        ck_assert_uint_eq(rx_journal_count(j), k >= 4 ? 2 : k >= 2 ? 1 : 0);
        /* Appending after the cut gives a fully valid file. */
        ck_assert_int_eq(rx_journal_record(j, &z, RX_STATE_SKIPPED, NULL, NULL, "kept"), 0);
        rx_journal_close(&j);

        j = open_ok(path, RX_JOURNAL_READONLY, &rep);
        ck_assert_int_eq(rep.torn_tail, 0);
        ck_assert_int_eq(rep.records, (long)k + 2); /* + our session + z */
        ck_assert_int_eq(state_of(j, &z), RX_STATE_SKIPPED);
        ck_assert_int_eq(state_of(j, &x), k >= 3   ? RX_STATE_DONE
                                          : k >= 2 ? RX_STATE_STARTED
                                                   : (RxState)-1);
        rx_journal_close(&j);
    }
    free(full);
}
END_TEST

/* What some file systems leave after a crash: the size grew, the data is
 * zeros. A torn tail too. */
START_TEST(test_zero_filled_tail)
{
    const char *path = at("journal");
    RxFileId x = fake_id("x", 10, 1);
    RxJournalReport rep;
    RxJournal *j = open_ok(path, 0, &rep);
    char zeros[4096] = {0};
    size_t len;
    char *buf;
    FILE *f;

    ck_assert_int_eq(rx_journal_record(j, &x, RX_STATE_DONE, NULL, NULL, NULL), 0);
    rx_journal_close(&j);
    free(slurp(path, &len));
    f = fopen(path, "ab");
    ck_assert_uint_eq(fwrite(zeros, 1, sizeof(zeros), f), sizeof(zeros));
    fclose(f);

    j = open_ok(path, 0, &rep);
    ck_assert_int_eq(rep.torn_tail, 1);
    ck_assert_int_eq(rep.torn_line, 3);
    ck_assert_int_eq(rep.torn_offset, (int64_t)len);
    ck_assert_int_eq(state_of(j, &x), RX_STATE_DONE);
    rx_journal_close(&j);
    buf = slurp(path, &len);
    ck_assert_uint_eq(strlen(buf), len); /* the zeros are gone */
    ck_assert_uint_eq(count_lines(buf, len), 3);
    free(buf);
}
END_TEST

/* A read-only open reports a torn tail but leaves the file alone. */
START_TEST(test_readonly_never_writes)
{
    const char *path = at("journal");
    RxFileId x = fake_id("x", 10, 1);
    RxJournalReport rep;
    RxJournal *j = NULL;
    size_t len, len2;
    char *before, *after;

    ck_assert_int_eq(rx_journal_open(&j, path, RX_JOURNAL_READONLY, &rep), AVERROR(ENOENT));
    ck_assert_ptr_null(j);
    ck_assert_int_eq(access(path, F_OK), -1);

    j = open_ok(path, 0, &rep);
    ck_assert_int_eq(rx_journal_record(j, &x, RX_STATE_DONE, NULL, NULL, NULL), 0);
    rx_journal_close(&j);
    before = slurp(path, &len);
    spew(path, before, len - 5);

    j = open_ok(path, RX_JOURNAL_READONLY, &rep);
    ck_assert_int_eq(rep.torn_tail, 1);
    ck_assert_int_eq(rep.torn_line, 2);
    ck_assert_int_eq(rx_journal_count(j), 0);
    ck_assert_int_eq(rx_journal_record(j, &x, RX_STATE_DONE, NULL, NULL, NULL), AVERROR(EBADF));
    rx_journal_close(&j);
    after = slurp(path, &len2);
    ck_assert_uint_eq(len2, len - 5);
    ck_assert_int_eq(memcmp(before, after, len2), 0);
    free(before);
    free(after);
}
END_TEST

/* ---- corrupt middle and repair ---- */

START_TEST(test_corrupt_middle_and_repair)
{
    const char *path = at("journal");
    RxFileId f[4];
    RxJournalReport rep;
    RxJournal *j = NULL;
    size_t len, len2, line3 = 0;
    char *buf, *now, *bak;

    for (unsigned i = 0; i < 4; i++)
        f[i] = fake_id("f.mp4", 100 + i, i + 1);
    j = open_ok(path, 0, &rep);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(rx_journal_record(j, &f[i], RX_STATE_DONE, NULL, NULL, NULL), 0);
    rx_journal_close(&j);

    /* Repair of a healthy journal changes nothing. */
    ck_assert_int_eq(rx_journal_repair(path, &rep), 0);
    ck_assert_int_eq(rep.dropped, 0);
    ck_assert_str_eq(rep.backup, "");

    /* Record 2 of 4 is line 3 (line 1 is the session). */
    buf = slurp(path, &len);
    for (int n = 0; n < 2; n++)
        line3 = (size_t)(strchr(buf + line3, '\n') - buf) + 1;
    buf[line3 + 20] ^= 0x01;
    spew(path, buf, len);

    ck_assert_int_eq(rx_journal_open(&j, path, 0, &rep), AVERROR_INVALIDDATA);
    ck_assert_ptr_null(j);
    ck_assert_int_eq(rep.corrupt_line, 3);
    ck_assert_int_eq(rep.corrupt_offset, (int64_t)line3);
    ck_assert_str_eq(rep.reason, "bad checksum");
    ck_assert_int_eq(rep.torn_tail, 0);
    ck_assert_int_eq(rx_journal_open(&j, path, RX_JOURNAL_READONLY, &rep), AVERROR_INVALIDDATA);
    ck_assert_int_eq(rep.corrupt_line, 3);
    now = slurp(path, &len2); /* nothing was changed */
    ck_assert_uint_eq(len2, len);
    ck_assert_int_eq(memcmp(now, buf, len), 0);
    free(now);

    ck_assert_int_eq(rx_journal_repair(path, &rep), 0);
    ck_assert_int_eq(rep.dropped, 1);
    ck_assert_int_eq(rep.corrupt_line, 3);
    ck_assert_int_eq(rep.records, 4);
    ck_assert_ptr_nonnull(strstr(rep.backup, "journal.bak-"));
    bak = slurp(rep.backup, &len2);
    ck_assert_uint_eq(len2, len);
    ck_assert_int_eq(memcmp(bak, buf, len), 0); /* the original, damage and all */
    free(bak);

    now = slurp(path, &len2);
    ck_assert_uint_eq(count_lines(now, len2), 4);
    ck_assert_uint_eq(len2, len - (size_t)(strchr(buf + line3, '\n') - (buf + line3)) - 1);
    free(now);
    j = open_ok(path, RX_JOURNAL_READONLY, &rep);
    ck_assert_int_eq(rep.torn_tail, 0);
    ck_assert_int_eq(state_of(j, &f[0]), RX_STATE_DONE);
    ck_assert_ptr_null(rx_journal_find(j, &f[1]));
    ck_assert_int_eq(state_of(j, &f[2]), RX_STATE_DONE);
    ck_assert_int_eq(state_of(j, &f[3]), RX_STATE_DONE);
    ck_assert_uint_eq(rx_journal_count(j), 3);
    rx_journal_close(&j);
    free(buf);
}
END_TEST

START_TEST(test_repair_refused_while_locked)
{
    const char *path = at("journal");
    RxJournalReport rep;
    RxJournal *j = open_ok(path, 0, &rep);

    ck_assert_int_eq(rx_journal_repair(path, &rep), AVERROR(EWOULDBLOCK));
    ck_assert_int_eq(rep.holder_pid, getpid());
    rx_journal_close(&j);
    ck_assert_int_eq(rx_journal_repair(at("missing"), &rep), AVERROR(ENOENT));
}
END_TEST

/* Open must not "repair" a file that is not a journal by truncating it. */
START_TEST(test_not_a_journal)
{
    const char *path = at("journal");
    RxJournalReport rep;
    RxJournal *j = NULL;
    size_t len;
    char *buf;

    spew(path, "hello world", 11);
    ck_assert_int_eq(rx_journal_open(&j, path, 0, &rep), AVERROR_INVALIDDATA);
    ck_assert_str_eq(rep.reason, "not a reencode journal");
    ck_assert_int_eq(rep.corrupt_line, 1);
    ck_assert_int_eq(rx_journal_repair(path, &rep), AVERROR_INVALIDDATA);
    buf = slurp(path, &len);
    ck_assert_uint_eq(len, 11);
    free(buf);

    spew(path, "hello\nworld\n", 12);
    ck_assert_int_eq(rx_journal_open(&j, path, 0, &rep), AVERROR_INVALIDDATA);
    ck_assert_int_eq(rep.corrupt_line, 1);
}
END_TEST

/* ---- identity ---- */

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static void expect_hash(const RxFileId *id, const uint8_t *data, size_t size)
{
    struct AVSHA *sha = av_sha_alloc();
    uint8_t d[32];
    char hex[33];

    av_sha_init(sha, 256);
    if (size <= 2 * RX_FILE_ID_SPAN) {
        av_sha_update(sha, data, size);
    } else {
        av_sha_update(sha, data, RX_FILE_ID_SPAN);
        av_sha_update(sha, data + size - RX_FILE_ID_SPAN, RX_FILE_ID_SPAN);
    }
    av_sha_final(sha, d);
    av_free(sha);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    ck_assert_str_eq(id->hash, hex);
}

START_TEST(test_identity)
{
    enum { BIG = 300 * 1024, SMALL = 1000 };
    uint8_t *data = malloc(BIG), small[SMALL];
    RxFileId id, moved, other;
    RxJournalReport rep;
    RxJournal *j;
    const RxJournalEntry *e;
    struct timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 123456789}};

    fill(data, BIG, 7);
    fill(small, SMALL, 9);
    spew(at("a.mp4"), data, BIG);
    spew(at("s.mp4"), small, SMALL);
    ck_assert_int_eq(mkdir(at("sub"), 0755), 0);

    ck_assert_int_eq(rx_file_id_compute(&id, at("a.mp4"), "a.mp4"), 0);
    ck_assert_str_eq(id.rel, "a.mp4");
    ck_assert_int_eq(id.size, BIG);
    expect_hash(&id, data, BIG); /* first and last 64 KiB */
    ck_assert_int_eq(rx_file_id_compute(&other, at("s.mp4"), "s.mp4"), 0);
    expect_hash(&other, small, SMALL); /* whole */

    j = open_ok(at("journal"), 0, &rep);
    ck_assert_int_eq(rx_journal_record(j, &id, RX_STATE_DONE, NULL, "a.webm", "kept"), 0);
    ck_assert_int_eq(rx_journal_record(j, &other, RX_STATE_DONE, NULL, NULL, NULL), 0);
    rx_journal_close(&j);
    j = open_ok(at("journal"), 0, &rep); /* identity survives a replay */

    /* Moved within the tree: the same file. */
    ck_assert_int_eq(rename(at("a.mp4"), at("sub/b.mp4")), 0);
    ck_assert_int_eq(rx_file_id_compute(&moved, at("sub/b.mp4"), "sub/b.mp4"), 0);
    ck_assert_str_eq(moved.hash, id.hash);
    e = rx_journal_find(j, &moved);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->result.state, RX_STATE_DONE);
    ck_assert_str_eq(e->id.rel, "a.mp4"); /* where it was recorded */
    rx_file_id_clear(&moved);

    /* Touched: mtime is not identity. */
    ck_assert_int_eq(utimensat(AT_FDCWD, at("sub/b.mp4"), times, 0), 0);
    ck_assert_int_eq(rx_file_id_compute(&moved, at("sub/b.mp4"), "sub/b.mp4"), 0);
    ck_assert_int_eq(moved.mtime_ns, INT64_C(1000000000123456789));
    ck_assert_int_ne(moved.mtime_ns, id.mtime_ns);
    ck_assert_ptr_nonnull(rx_journal_find(j, &moved));
    rx_file_id_clear(&moved);

    /* Replaced by other content of another size: a new file. */
    spew(at("sub/b.mp4"), data, BIG - 1);
    ck_assert_int_eq(rx_file_id_compute(&moved, at("sub/b.mp4"), "sub/b.mp4"), 0);
    ck_assert_ptr_null(rx_journal_find(j, &moved));
    rx_file_id_clear(&moved);

    /* Same size, one byte different in the last 64 KiB: a new file. */
    data[BIG - 100] ^= 1;
    spew(at("sub/b.mp4"), data, BIG);
    ck_assert_int_eq(rx_file_id_compute(&moved, at("sub/b.mp4"), "sub/b.mp4"), 0);
    ck_assert_int_eq(moved.size, id.size);
    ck_assert_str_ne(moved.hash, id.hash);
    ck_assert_ptr_null(rx_journal_find(j, &moved));
    rx_file_id_clear(&moved);
    data[BIG - 100] ^= 1;

    /* ... and in the first 64 KiB. */
    data[100] ^= 1;
    spew(at("sub/b.mp4"), data, BIG);
    ck_assert_int_eq(rx_file_id_compute(&moved, at("sub/b.mp4"), "sub/b.mp4"), 0);
    ck_assert_ptr_null(rx_journal_find(j, &moved));
    rx_file_id_clear(&moved);
    data[100] ^= 1;

    /* The middle is not hashed (documented): still the same file. */
    data[BIG / 2] ^= 1;
    spew(at("sub/b.mp4"), data, BIG);
    ck_assert_int_eq(rx_file_id_compute(&moved, at("sub/b.mp4"), "sub/b.mp4"), 0);
    ck_assert_ptr_nonnull(rx_journal_find(j, &moved));
    rx_file_id_clear(&moved);

    /* A small file is hashed whole: its last byte counts. */
    small[SMALL - 1] ^= 1;
    spew(at("s.mp4"), small, SMALL);
    ck_assert_int_eq(rx_file_id_compute(&moved, at("s.mp4"), "s.mp4"), 0);
    ck_assert_ptr_null(rx_journal_find(j, &moved));
    rx_file_id_clear(&moved);

    ck_assert_int_eq(rx_file_id_compute(&moved, at("sub"), "sub"), AVERROR(EINVAL));
    ck_assert_ptr_null(moved.rel);
    ck_assert_int_eq(rx_file_id_compute(&moved, at("nope"), "nope"), AVERROR(ENOENT));
    rx_file_id_clear(&moved);

    rx_journal_close(&j);
    rx_file_id_clear(&id);
    rx_file_id_clear(&other);
    free(data);
}
END_TEST

/* ---- the lock ---- */

START_TEST(test_second_writer_refused)
{
    const char *path = at("journal");
    char host[256] = "", c;
    int ready[2], go[2], status;
    RxJournalReport rep;
    RxJournal *j = NULL, *r;
    struct timespec t0, t1;
    size_t len, len2;
    pid_t child;

    gethostname(host, sizeof(host) - 1);
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        RxJournal *cj = NULL;
        if (rx_journal_open(&cj, path, 0, NULL) < 0)
            _exit(1);
        if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
        rx_journal_close(&cj);
        _exit(0);
    }
    ck_assert_int_eq(read(ready[0], &c, 1), 1);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(rx_journal_open(&j, path, 0, &rep), AVERROR(EWOULDBLOCK));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_ptr_null(j);
    ck_assert_int_eq(rep.holder_pid, child);
    ck_assert_str_eq(rep.holder_host, host);
    ck_assert_int_eq(strlen(rep.holder_time), 24);
    ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2); /* at once */

    /* status works while a writer runs, and changes nothing. */
    free(slurp(path, &len));
    r = open_ok(path, RX_JOURNAL_READONLY, &rep);
    ck_assert_int_eq(rep.holder_pid, child);
    rx_journal_close(&r);
    free(slurp(path, &len2));
    ck_assert_uint_eq(len2, len);

    /* With RX_JOURNAL_WAIT, open waits for the holder to go. */
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    j = open_ok(path, RX_JOURNAL_WAIT, &rep);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_ge((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 150);
    ck_assert_int_eq(rep.holder_pid, child); /* the previous writer */
    rx_journal_close(&j);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* flock() belongs to the open file description: a second open in the same
 * process conflicts too. */
START_TEST(test_second_writer_same_process)
{
    const char *path = at("journal");
    RxJournalReport rep;
    RxJournal *a = open_ok(path, 0, &rep), *b = NULL;

    ck_assert_int_eq(rx_journal_open(&b, path, 0, &rep), AVERROR(EWOULDBLOCK));
    ck_assert_ptr_null(b);
    ck_assert_int_eq(rep.holder_pid, getpid());
    rx_journal_close(&a);
    b = open_ok(path, 0, &rep);
    rx_journal_close(&b);
}
END_TEST

/* ---- names ---- */

START_TEST(test_names_round_trip)
{
    static const char *const names[] = {
        "dir/na\"me\\with\nnewline\r\ttab\x01\x1f\x7f.mp4",
        "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80.mp4", /* valid UTF-8 */
        "bad \xff\xfe byte.mp4",
        "truncated \xe6\x97",
        "overlong \xc0\xaf and surrogate \xed\xa0\x80 and \xf4\x90\x80\x80",
        "\\udcff literally, and \\u0041",
    };
    enum { N = sizeof(names) / sizeof(names[0]) };
    char all[256];
    RxFileId ids[N + 1];
    RxJournalReport rep;
    RxResult res;
    RxJournal *j;
    size_t len;
    char *buf;

    for (int i = 1; i < 256; i++) /* every byte but NUL */
        all[i - 1] = (char)i;
    all[255] = '\0';
    for (unsigned i = 0; i < N; i++)
        ids[i] = fake_id(names[i], i, i + 1);
    ids[N] = fake_id(all, N, N + 1);

    j = open_ok(at("journal"), 0, &rep);
    for (unsigned i = 0; i <= N; i++) {
        rx_result_init(&res);
        snprintf(res.error, sizeof(res.error), "cannot open '%s': No such file", ids[i].rel);
        ck_assert_int_eq(rx_journal_record(j, &ids[i], RX_STATE_FAILED, &res, ids[i].rel, NULL), 0);
    }
    rx_journal_close(&j);

    buf = slurp(at("journal"), &len);
    ck_assert_uint_eq(count_lines(buf, len), N + 2); /* no raw newline got in */
    ck_assert_ptr_nonnull(strstr(buf, "bad \\udcff\\udcfe byte.mp4"));
    ck_assert_ptr_nonnull(strstr(buf, "caf\xc3\xa9 ")); /* valid UTF-8 stays raw */
    ck_assert_ptr_nonnull(strstr(buf, "na\\\"me\\\\with\\nnewline\\r\\ttab\\u0001\\u001f\\u007f"));
    free(buf);

    j = open_ok(at("journal"), RX_JOURNAL_READONLY, &rep);
    ck_assert_int_eq(rep.torn_tail, 0);
    ck_assert_uint_eq(rx_journal_count(j), N + 1);
    for (unsigned i = 0; i <= N; i++) {
        const RxJournalEntry *e = rx_journal_entry(j, i);
        char want[RX_ERROR_MAX];
        snprintf(want, sizeof(want), "cannot open '%s': No such file", ids[i].rel);
        ck_assert_str_eq(e->id.rel, ids[i].rel);
        ck_assert_str_eq(e->output, ids[i].rel);
        ck_assert_str_eq(e->result.error, want);
    }
    rx_journal_close(&j);
}
END_TEST

/* ---- threads ---- */

typedef struct Worker {
    RxJournal *j;
    unsigned t;
    int failures;
} Worker;

static void *worker(void *opaque)
{
    Worker *w = opaque;
    for (unsigned i = 0; i < 50; i++) {
        char rel[32];
        snprintf(rel, sizeof(rel), "t%u/f%u.mp4", w->t, i);
        RxFileId id = fake_id(rel, w->t * 1000 + i, w->t * 1000 + i + 1);
        if (rx_journal_record(w->j, &id, RX_STATE_DONE, NULL, rel, "renamed") < 0)
            w->failures++;
        if (!rx_journal_find(w->j, &id))
            w->failures++;
    }
    return NULL;
}

START_TEST(test_concurrent_records)
{
    RxJournalReport rep;
    RxJournal *j = open_ok(at("journal"), 0, &rep);
    pthread_t th[4];
    Worker w[4];
    char seen[256] = {0};
    size_t len;
    char *buf;

    for (unsigned t = 0; t < 4; t++) {
        w[t] = (Worker){j, t, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, worker, &w[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(w[t].failures, 0);
    }
    ck_assert_uint_eq(rx_journal_count(j), 200);
    rx_journal_close(&j);

    buf = slurp(at("journal"), &len);
    ck_assert_uint_eq(count_lines(buf, len), 201);
    free(buf);
    j = open_ok(at("journal"), RX_JOURNAL_READONLY, &rep);
    ck_assert_int_eq(rep.torn_tail, 0);
    ck_assert_int_eq(rep.records, 201);
    ck_assert_uint_eq(rx_journal_count(j), 200);
    for (unsigned t = 0; t < 4; t++) {
        for (unsigned i = 0; i < 50; i++) {
            char rel[32];
            snprintf(rel, sizeof(rel), "t%u/f%u.mp4", t, i);
            RxFileId id = fake_id(rel, t * 1000 + i, t * 1000 + i + 1);
            const RxJournalEntry *e = rx_journal_find(j, &id);
            ck_assert_ptr_nonnull(e);
            ck_assert_str_eq(e->id.rel, rel);
            ck_assert_int_eq(e->result.state, RX_STATE_DONE);
            ck_assert_int_ge(e->seq, 2);
            ck_assert_int_le(e->seq, 201);
            ck_assert_int_eq(seen[e->seq], 0);
            seen[e->seq] = 1;
        }
    }
    rx_journal_close(&j);
}
END_TEST

/* ---- the format ---- */

/* A line made by hand with Python's zlib.crc32: the checksum is zlib's. */
START_TEST(test_golden_line)
{
    static const char line[] = "{\"v\":1,\"seq\":1,\"time\":\"2024-05-01T12:34:56.789Z\","
                               "\"type\":\"session\",\"pid\":42,\"host\":\"box\"} e3459aeb\n";
    char bad[sizeof(line)];
    RxJournalReport rep;
    RxJournal *j;

    ck_assert_int_eq(rx_journal_open_buffer(&j, line, sizeof(line) - 1, &rep), 0);
    ck_assert_int_eq(rep.records, 1);
    ck_assert_int_eq(rep.torn_tail, 0);
    ck_assert_int_eq(rep.holder_pid, 42);
    ck_assert_str_eq(rep.holder_host, "box");
    ck_assert_str_eq(rep.holder_time, "2024-05-01T12:34:56.789Z");
    rx_journal_close(&j);

    memcpy(bad, line, sizeof(line));
    bad[sizeof(line) - 3] = 'c'; /* ...aec */
    ck_assert_int_eq(rx_journal_open_buffer(&j, bad, sizeof(line) - 1, &rep), 0);
    ck_assert_int_eq(rep.records, 0);
    ck_assert_int_eq(rep.torn_tail, 1);
    ck_assert_str_eq(rep.reason, "bad checksum");
    rx_journal_close(&j);
}
END_TEST

/* Measured quality and the --target-ssim cache: kept in integers on the
 * line, read back as the entry had them, and a note adds them to the
 * attempt under way without opening another. */
START_TEST(test_quality_fields_and_note)
{
    RxFileId id = fake_id("q.mp4", 1000, 7), other = fake_id("z.mp4", 5, 8);
    const RxJournalEntry *e;
    RxJournalReport rep;
    RxJournal *j;
    RxResult res;

    rx_result_init(&res);
    j = open_ok(at("journal"), 0, &rep);
    ck_assert_int_eq(rx_journal_note(j, &id, &res), AVERROR(EINVAL)); /* unknown file */
    ck_assert_int_eq(rx_journal_record(j, &id, RX_STATE_STARTED, NULL, "q.webm", NULL), 0);
    res.tuned_crf = 44;
    snprintf(res.tuned_for, sizeof(res.tuned_for), "ssim>=0.980000 libaom-av1 0badf00d");
    ck_assert_int_eq(rx_journal_note(j, &id, &res), 0);
    e = rx_journal_find(j, &id);
    ck_assert_int_eq(e->result.state, RX_STATE_STARTED);
    ck_assert_int_eq(e->attempts, 1);
    ck_assert_str_eq(e->output, "q.webm");
    ck_assert_int_eq(e->result.tuned_crf, 44);
    rx_journal_close(&j);

    /* A crash here: the next run reads the crf back. */
    j = open_ok(at("journal"), 0, &rep);
    e = rx_journal_find(j, &id);
    ck_assert_int_eq(e->result.state, RX_STATE_STARTED);
    ck_assert_int_eq(e->attempts, 1);
    ck_assert_int_eq(e->result.tuned_crf, 44);
    ck_assert_str_eq(e->result.tuned_for, "ssim>=0.980000 libaom-av1 0badf00d");

    res.ssim = 0.98765432;
    res.ssim_min = 0.9123456;
    res.psnr = 42.1234567;
    ck_assert_int_eq(rx_journal_record(j, &id, RX_STATE_STARTED, &res, "q.webm", NULL), 0);
    ck_assert_int_eq(rx_journal_record(j, &id, RX_STATE_ENCODED, &res, NULL, NULL), 0);
    e = rx_journal_find(j, &id);
    ck_assert_int_eq(e->attempts, 2);
    ck_assert_double_eq(e->result.ssim, 0.987654); /* millionths, as replay reads it */
    ck_assert_double_eq(e->result.ssim_min, 0.912346);
    ck_assert_double_eq(e->result.psnr, 42.123);
    ck_assert_int_eq(rx_journal_record(j, &other, RX_STATE_DONE, NULL, NULL, NULL), 0);
    rx_journal_close(&j);

    j = open_ok(at("journal"), RX_JOURNAL_READONLY, &rep);
    e = rx_journal_find(j, &id);
    ck_assert_int_eq(e->result.state, RX_STATE_ENCODED);
    ck_assert_double_eq(e->result.ssim, 0.987654);
    ck_assert_double_eq(e->result.ssim_min, 0.912346);
    ck_assert_double_eq(e->result.psnr, 42.123);
    ck_assert_int_eq(e->result.tuned_crf, 44);
    ck_assert_str_eq(e->result.tuned_for, "ssim>=0.980000 libaom-av1 0badf00d");
    /* Not measured: no fields, zero figures. */
    e = rx_journal_find(j, &other);
    ck_assert(e->result.ssim == 0 && e->result.psnr == 0 && e->result.tuned_crf == 0);
    ck_assert_str_eq(e->result.tuned_for, "");
    ck_assert_int_eq(rx_journal_note(j, &id, &res), AVERROR(EBADF));
    rx_journal_close(&j);
}
END_TEST

#define FILE_HEAD                                                                               \
    "{\"v\":1,\"seq\":1,\"time\":\"2024-05-01T12:34:56.789Z\",\"type\":\"file\",\"rel\":\"a\"," \
    "\"size\":1,\"mtime_ns\":2,\"hash\":\"0123456789abcdef0123456789abcdef\","

/* Each body has a correct checksum, so the parser itself must refuse it. */
START_TEST(test_strict_parser)
{
    static const char *const good[] = {
        FILE_HEAD "\"state\":\"done\",\"attempts\":1}",
        FILE_HEAD "\"state\":\"failed\",\"attempts\":1,\"err\":-5,\"error\":\"x\"}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"in_bytes\":9223372036854775807}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"err\":-2147483648}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\\udcff\\u0001\"}",
        FILE_HEAD
        "\"state\":\"done\",\"attempts\":1,\"out_hash\":\"00112233445566778899aabbccddeeff\"}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"ssim_ppm\":987654,\"ssim_min_ppm\":-5,"
                  "\"psnr_mdb\":42123,\"tuned_crf\":44,\"tuned_for\":\"ssim>=0.98 k\"}",
        "{\"v\":1,\"seq\":1,\"time\":\"2024-05-01T12:34:56.789Z\",\"type\":\"session\","
        "\"pid\":1,\"host\":\"\"}",
        "{\"v\":1,\"seq\":1,\"time\":\"2024-05-01T12:34:56.789Z\",\"type\":\"session\","
        "\"pid\":2,\"host\":\"h\",\"parent\":1}",
        FILE_HEAD "\"state\":\"started\",\"attempts\":1,\"crashes\":1,"
                  "\"crash_signals\":\"SIGSEGV\",\"crash\":\"0123456789abcdef\"}",
        FILE_HEAD "\"state\":\"failed\",\"attempts\":1,\"crashes\":3,\"crashes_alone\":3,"
                  "\"crash_signals\":\"SIGSEGV,SIGABRT,SIGBUS\",\"crash\":\"0123456789abcdef\"}",
    };
    static const char *const bad[] = {
        "",
        "{}",
        "[]",
        FILE_HEAD "\"state\":\"done\"}",                               /* attempts missing */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"attempts\":1}", /* duplicate */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"colour\":1}",   /* unknown field */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"pid\":1}",      /* session field */
        FILE_HEAD "\"state\":\"burnt\",\"attempts\":1}",               /* unknown state */
        FILE_HEAD "\"state\":\"done\",\"attempts\":01}",               /* leading zero */
        FILE_HEAD "\"state\":\"done\",\"attempts\":-0}",               /* negative zero */
        FILE_HEAD "\"state\":\"done\",\"attempts\":-1}",               /* out of range */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1.0}",              /* not an integer */
        FILE_HEAD "\"state\":\"done\",\"attempts\":\"1\"}",            /* string */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"err\":-2147483649}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"in_bytes\":9223372036854775808}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"original\":\"burnt\"}",
        FILE_HEAD
        "\"state\":\"done\",\"attempts\":1,\"out_hash\":\"00112233445566778899AABBCCDDEEFF\"}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"out_hash\":\"0011\"}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"out_hash\":1}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"ssim_ppm\":1000001}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"psnr_mdb\":-1}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"tuned_crf\":256}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"tuned_for\":"
                  "\"0123456789012345678901234567890123456789012345678\"}",    /* too long */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\\x\"}",     /* bad escape */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\\/\"}",     /* not ours */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\\u0041\"}", /* 'A' */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\\u000a\"}", /* is \n */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\\u001F\"}", /* upper */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\\u00e9\"}", /* a char */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\\udc41\"}", /* < 0x80 */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\\u0000\"}", /* NUL */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\\udcc3\\udca9\"}", /* is é */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\xff\"}",  /* raw bad byte */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\t\"}",    /* raw control */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"\\u00\"}", /* short */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"output\":\"abc}",     /* unterminated */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1} ",                     /* trailing */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,}",
        FILE_HEAD "\"state\":\"done\" ,\"attempts\":1}", /* space */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1",   /* no '}' */
        "{\"v\":2,\"seq\":1,\"time\":\"2024-05-01T12:34:56.789Z\",\"type\":\"session\","
        "\"pid\":1,\"host\":\"h\"}",
        "{\"v\":1,\"seq\":0,\"time\":\"2024-05-01T12:34:56.789Z\",\"type\":\"session\","
        "\"pid\":1,\"host\":\"h\"}",
        "{\"v\":1,\"seq\":1,\"time\":\"2024-05-01 12:34:56.789Z\",\"type\":\"session\","
        "\"pid\":1,\"host\":\"h\"}",
        "{\"v\":1,\"seq\":1,\"time\":\"2024-05-01T12:34:56.789Z\",\"type\":\"party\","
        "\"pid\":1,\"host\":\"h\"}",
        "{\"v\":1,\"seq\":1,\"time\":\"2024-05-01T12:34:56.789Z\",\"type\":\"session\","
        "\"pid\":0,\"host\":\"h\"}",
        "{\"v\":1,\"seq\":1,\"time\":\"2024-05-01T12:34:56.789Z\",\"type\":\"session\","
        "\"pid\":1,\"host\":\"h\",\"rel\":\"a\"}",
        "{\"v\":1,\"seq\":1,\"time\":\"2024-05-01T12:34:56.789Z\",\"type\":\"session\","
        "\"pid\":2,\"host\":\"h\",\"parent\":0}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"parent\":1}", /* session field */
#define CRASHED(n, alone, sigs, id)                                                             \
    FILE_HEAD "\"state\":\"started\",\"attempts\":1,\"crashes\":" n ",\"crashes_alone\":" alone \
              ",\"crash_signals\":\"" sigs "\",\"crash\":\"" id "\"}"
        CRASHED("1", "2", "SIGSEGV", "0123456789abcdef"),                /* alone > crashes */
        CRASHED("-1", "0", "SIGSEGV", "0123456789abcdef"),               /* negative */
        CRASHED("1", "0", "SIGsegv", "0123456789abcdef"),                /* not a name */
        CRASHED("1", "0", "SEGV", "0123456789abcdef"),                   /* no SIG */
        CRASHED("2", "0", "SIGSEGV,SIGSEGV", "0123456789abcdef"),        /* twice */
        CRASHED("2", "0", "SIGSEGV,", "0123456789abcdef"),               /* empty name */
        CRASHED("1", "0", "SIGSEGV", "0123456789ABCDEF"),                /* upper-case id */
        CRASHED("1", "0", "SIGSEGV", "0123456789abcde"),                 /* short id */
        FILE_HEAD "\"state\":\"started\",\"attempts\":1,\"crashes\":1}", /* no signals */
        FILE_HEAD "\"state\":\"started\",\"attempts\":1,\"crash_signals\":\"SIGSEGV\"}",
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"alone\":1}", /* crash record's */
        FILE_HEAD "\"state\":\"done\",\"attempts\":1,\"signal\":\"SIGSEGV\"}",
        /* a crash record (valid in a crash file) in a journal */
        "{\"v\":1,\"seq\":1,\"type\":\"crash\",\"pid\":7,\"crash\":\"0123456789abcdef\","
        "\"rel\":\"a\",\"size\":1,\"hash\":\"0123456789abcdef0123456789abcdef\",\"alone\":1,"
        "\"signal\":\"SIGSEGV\",\"time\":\"2024-05-01T12:34:56.789Z\"}",
#undef CRASHED
    };
    static const char tail[] = "{\"v\":1,\"seq\":9,\"time\":\"2024-05-01T12:34:56.789Z\","
                               "\"type\":\"session\",\"pid\":1,\"host\":\"h\"}";
    char buf[2048];
    RxJournalReport rep;
    RxJournal *j = NULL;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t n = make_line(buf, sizeof(buf), good[i]);
        n += make_line(buf + n, sizeof(buf) - n, tail);
        ck_assert_msg(rx_journal_open_buffer(&j, buf, n, &rep) == 0, "refused good[%zu]: %s", i,
                      rep.reason);
        ck_assert_int_eq(rep.records, 2);
        rx_journal_close(&j);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = make_line(buf, sizeof(buf), bad[i]);
        n += make_line(buf + n, sizeof(buf) - n, tail);
        ck_assert_msg(rx_journal_open_buffer(&j, buf, n, &rep) == AVERROR_INVALIDDATA,
                      "accepted bad[%zu]: %s", i, bad[i]);
        ck_assert_ptr_null(j);
        ck_assert_int_eq(rep.corrupt_line, 1);
        ck_assert_str_ne(rep.reason, "");
    }

    /* Sequence numbers must increase. */
    {
        size_t n = make_line(buf, sizeof(buf), tail);
        n += make_line(buf + n, sizeof(buf) - n, tail);
        n += make_line(buf + n, sizeof(buf) - n, tail);
        ck_assert_int_eq(rx_journal_open_buffer(&j, buf, n, &rep), AVERROR_INVALIDDATA);
        ck_assert_int_eq(rep.corrupt_line, 2);
        ck_assert_str_eq(rep.reason, "sequence number does not increase");
    }
}
END_TEST

/* Byte offset of line `line` (1-based) of buf, or -1 past its end. */
static int64_t line_offset(const char *buf, size_t n, long line)
{
    size_t off = 0;

    for (long l = 1; l < line; l++) {
        const char *nl = memchr(buf + off, '\n', n - off);
        if (!nl)
            return -1;
        off = (size_t)(nl - buf) + 1;
    }
    return (int64_t)off;
}

/* What the reader must say of any input, whatever the damage (docs/journal.md,
 * "Durability protocol"): accepted, every complete line was a record, but for
 * a torn last line it names exactly; refused, it names a line with a reason.
 * An undamaged journal is accepted whole. */
static void check_mutant(const char *buf, size_t n, int ret, const RxJournalReport *rep, int intact,
                         int round)
{
    long lines = 0;

    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    ck_assert_msg(ret == 0 || ret == AVERROR_INVALIDDATA, "round %d: ret %d", round, ret);
    if (intact)
        ck_assert_msg(ret == 0 && !rep->torn_tail && rep->records == lines,
                      "round %d: an intact journal was not read whole", round);
    if (ret == 0 && !rep->torn_tail) {
        /* every line a record, and nothing after the last newline */
        ck_assert_msg(rep->records == lines && (!n || buf[n - 1] == '\n'),
                      "round %d: %ld records of %ld lines, nothing torn", round, rep->records,
                      lines);
    } else if (ret == 0) {
        /* the torn line is the last one, starts where the records end */
        ck_assert_msg(rep->torn_line >= 1 && rep->records == rep->torn_line - 1 &&
                          rep->torn_offset == line_offset(buf, n, rep->torn_line) && rep->reason[0],
                      "round %d: torn line %ld at %lld after %ld records (%s)", round,
                      rep->torn_line, (long long)rep->torn_offset, rep->records, rep->reason);
        ck_assert_msg(!memchr(buf + rep->torn_offset, '\n', n - (size_t)rep->torn_offset) ||
                          memchr(buf + rep->torn_offset, '\n', n - (size_t)rep->torn_offset) ==
                              buf + n - 1,
                      "round %d: a line torn before the last one was accepted", round);
    } else {
        ck_assert_msg(rep->reason[0], "round %d: refused without a reason", round);
        if (rep->corrupt_line)
            ck_assert_msg(rep->corrupt_offset == line_offset(buf, n, rep->corrupt_line),
                          "round %d: corrupt line %ld named at offset %lld", round,
                          rep->corrupt_line, (long long)rep->corrupt_offset);
    }
}

/* Not libFuzzer, but the same idea at test speed: mutated journals, with the
 * checksums made right again so that the parser sees the damage. Under ASan
 * any read out of bounds fails the test. */
START_TEST(test_mutations)
{
    RxFileId a = fake_id("a \xff\n\"\\.mp4", 5, 1);
    RxJournalReport rep;
    RxResult res;
    RxJournal *j = open_ok(at("journal"), 0, &rep);
    size_t len;
    char *orig, *buf;
    unsigned seed = 12345;
    static const char alphabet[] = "{}\",:\\u0123456789abcdefdcv-\n \xff\xc3\x80";

    rx_result_init(&res);
    res.err = -5;
    res.out_bytes = 77;
    snprintf(res.error, sizeof(res.error), "x\ty");
    ck_assert_int_eq(rx_journal_record(j, &a, RX_STATE_FAILED, &res, "o\x01", "kept"), 0);
    rx_journal_close(&j);
    orig = slurp(at("journal"), &len);
    buf = malloc(len + 1);

    for (int round = 0; round < 20000; round++) {
        size_t n = len, start = 0, end;
        memcpy(buf, orig, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            switch (seed % 3) {
            case 0:
                buf[pos] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
                break;
            case 1:
                buf[pos] ^= (char)(1u << ((seed >> 8) % 8));
                break;
            case 2:
                n = pos; /* cut */
                break;
            }
        }
        if (round % 2) {
            /* Re-sign the last line so that the parser sees the damage. */
            end = n;
            while (end > 0 && buf[end - 1] == '\n')
                end--;
            for (start = end; start > 0 && buf[start - 1] != '\n'; start--)
                ;
            if (end - start > 9) {
                char crc[9];
                snprintf(crc, sizeof(crc), "%08x", crc32_of(buf + start, end - start - 9));
                memcpy(buf + end - 8, crc, 8);
            }
        }
        /* An exact-size heap copy: ASan catches a read one byte past it. */
        char *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        int ret = rx_journal_open_buffer(&j, exact, n, &rep);
        check_mutant(exact, n, ret, &rep, n == len && !memcmp(exact, orig, len), round);
        rx_journal_close(&j);
        free(exact);
    }
    free(buf);
    free(orig);
}
END_TEST

/* ---- failures ---- */

/* A short write (here: the file-size limit) must not leave half a line for
 * the next record to be glued to. */
START_TEST(test_write_failure_leaves_no_garbage)
{
    RxFileId a = fake_id("a", 1, 1), b = fake_id("b", 2, 2);
    RxJournalReport rep;
    RxJournal *j = open_ok(at("journal"), 0, &rep);
    struct rlimit old, lim;
    size_t len, len2;
    char *buf;

    signal(SIGXFSZ, SIG_IGN);
    free(slurp(at("journal"), &len));
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = len + 20;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ck_assert_int_eq(rx_journal_record(j, &a, RX_STATE_DONE, NULL, NULL, NULL), AVERROR(EFBIG));
    ck_assert_ptr_null(rx_journal_find(j, &a)); /* not on disk, not in memory */
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    free(slurp(at("journal"), &len2));
    ck_assert_uint_eq(len2, len);
    ck_assert_int_eq(rx_journal_record(j, &b, RX_STATE_DONE, NULL, NULL, NULL), 0);
    rx_journal_close(&j);

    j = open_ok(at("journal"), RX_JOURNAL_READONLY, &rep);
    ck_assert_int_eq(rep.torn_tail, 0);
    ck_assert_int_eq(rep.records, 2);
    ck_assert_int_eq(state_of(j, &b), RX_STATE_DONE);
    rx_journal_close(&j);
    buf = slurp(at("journal"), &len);
    ck_assert_uint_eq(count_lines(buf, len), 2);
    free(buf);
}
END_TEST

START_TEST(test_bad_arguments)
{
    RxFileId a = fake_id("a", 1, 1), bad = a;
    RxJournalReport rep;
    RxJournal *j = open_ok(at("journal"), 0, &rep);

    ck_assert_int_eq(rx_journal_record(j, &a, RX_STATE_DONE, NULL, NULL, "burnt"), AVERROR(EINVAL));
    ck_assert_int_eq(rx_journal_record(j, &a, (RxState)99, NULL, NULL, NULL), AVERROR(EINVAL));
    bad.hash[0] = 'X';
    ck_assert_int_eq(rx_journal_record(j, &bad, RX_STATE_DONE, NULL, NULL, NULL), AVERROR(EINVAL));
    ck_assert_ptr_null(rx_journal_find(j, &bad));
    bad = a;
    bad.rel = NULL;
    ck_assert_int_eq(rx_journal_record(j, &bad, RX_STATE_DONE, NULL, NULL, NULL), AVERROR(EINVAL));
    ck_assert_uint_eq(rx_journal_count(j), 0);
    rx_journal_close(&j);
}
END_TEST

START_TEST(test_dir_create)
{
    char dir[PATH_MAX];
    struct stat st;
    mode_t mask = umask(022);

    umask(mask);
    snprintf(dir, sizeof(dir), "%s", at("root/" RX_JOURNAL_DIR));
    ck_assert_int_eq(rx_journal_dir_create(dir), AVERROR(ENOENT));
    ck_assert_int_eq(mkdir(at("root"), 0755), 0);
    ck_assert_int_eq(rx_journal_dir_create(dir), 0);
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, 0755 & ~mask);
    ck_assert_int_eq(rx_journal_dir_create(dir), 0); /* exists: fine */
    spew(at("root/file"), "x", 1);
    ck_assert_int_eq(rx_journal_dir_create(at("root/file")), AVERROR(ENOTDIR));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_replay);
    tcase_add_test(tc, test_entries_are_immutable);
    tcase_add_test(tc, test_torn_tail_every_offset);
    tcase_add_test(tc, test_zero_filled_tail);
    tcase_add_test(tc, test_readonly_never_writes);
    tcase_add_test(tc, test_corrupt_middle_and_repair);
    tcase_add_test(tc, test_repair_refused_while_locked);
    tcase_add_test(tc, test_not_a_journal);
    tcase_add_test(tc, test_identity);
    tcase_add_test(tc, test_second_writer_refused);
    tcase_add_test(tc, test_second_writer_same_process);
    tcase_add_test(tc, test_names_round_trip);
    tcase_add_test(tc, test_concurrent_records);
    tcase_add_test(tc, test_golden_line);
    tcase_add_test(tc, test_strict_parser);
    tcase_add_test(tc, test_mutations);
    tcase_add_test(tc, test_write_failure_leaves_no_garbage);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_dir_create);
    tcase_add_test(tc, test_quality_fields_and_note);
    suite_add_tcase(s, tc);

    return rx_check_run(s);
}
