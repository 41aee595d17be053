/*
 * check_ready.c - watch's readiness checks (find/ready.h): the settle table
 * (a file that changes starts its clock again; files gone are forgotten),
 * the writer check (a file held O_WRONLY or O_RDWR, by this process or by
 * a child, is seen; O_RDONLY is not), and the parse check (an MP4 cut
 * before its moov does not parse, the whole one does).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkrun.h"
#include "find/ready.h"
#include "testdir.h"
#include "testmedia.h"

#define SETTLE  30.0
#define NS      1000000000LL
#define WALL_NS (1800000000LL * NS) /* "now" in real time for the table */

static char top[4096];

static void setup(void)
{
    ck_assert_int_eq(td_create(top, sizeof(top), "check_ready"), 0);
}

static void teardown(void)
{
    td_remove(top);
}

static const char *at(const char *rel)
{
    return td_path(top, rel);
}

static void spew(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* ---- the settle table */

START_TEST(test_settle_clock)
{
    RxReadyTable *t = NULL;
    RxReadyEntry *e;
    double left;
    int64_t fresh = WALL_NS - 1 * NS; /* written a second ago */

    ck_assert_int_eq(rx_ready_table_new(&t, SETTLE), 0);
    rx_ready_begin(t);
    e = rx_ready_see(t, "r/a.mp4", 1000, fresh, 100.0, WALL_NS);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->state, RX_READY_SETTLING);
    rx_ready_end(t);
    e = rx_ready_get(t, 0);
    ck_assert(!rx_ready_settled(t, e, 100.0, &left));
    ck_assert_double_eq_tol(left, SETTLE, 1e-9);

    /* Unchanged: settled exactly when the settle time has passed. */
    rx_ready_begin(t);
    e = rx_ready_see(t, "r/a.mp4", 1000, fresh, 129.9, WALL_NS);
    rx_ready_end(t);
    e = rx_ready_get(t, 0);
    ck_assert(!rx_ready_settled(t, e, 129.9, &left));
    ck_assert_double_eq_tol(left, 0.1, 1e-6);
    ck_assert(rx_ready_settled(t, e, 130.0, &left));
    ck_assert_double_eq(left, 0);

    /* The verdicts the caller wrote are kept while the file looks the same... */
    e->state = RX_READY_YES;
    e->offered = 1;
    e->noted = 1;
    ck_assert_ptr_eq(rx_ready_find(t, "r/a.mp4", 1000, fresh), e);
    ck_assert_ptr_null(rx_ready_find(t, "r/a.mp4", 1001, fresh));
    ck_assert_ptr_null(rx_ready_find(t, "r/b.mp4", 1000, fresh));

    /* ... and a change of size (the recorder wrote more) restarts the clock
     * and clears them. */
    rx_ready_begin(t);
    e = rx_ready_see(t, "r/a.mp4", 2000, fresh, 131.0, WALL_NS);
    rx_ready_end(t);
    e = rx_ready_get(t, 0);
    ck_assert_int_eq(e->state, RX_READY_SETTLING);
    ck_assert_int_eq(e->offered, 0);
    ck_assert_int_eq(e->noted, 0);
    ck_assert(!rx_ready_settled(t, e, 160.9, &left));
    ck_assert(rx_ready_settled(t, e, 161.0, &left));

    /* A change of mtime alone restarts it too. */
    rx_ready_begin(t);
    e = rx_ready_see(t, "r/a.mp4", 2000, fresh + 1, 170.0, WALL_NS);
    rx_ready_end(t);
    ck_assert(!rx_ready_settled(t, rx_ready_get(t, 0), 199.0, &left));
    ck_assert(rx_ready_settled(t, rx_ready_get(t, 0), 200.0, &left));
    rx_ready_table_free(&t);
    ck_assert_ptr_null(t);
    rx_ready_table_free(&t); /* accepts NULL */
}
END_TEST

START_TEST(test_settle_old_and_gone)
{
    RxReadyTable *t = NULL;
    double left;

    ck_assert_int_eq(rx_ready_table_new(&t, SETTLE), 0);
    rx_ready_begin(t);
    /* untouched for an hour when first seen: there before watch began */
    ck_assert_ptr_nonnull(rx_ready_see(t, "r/z-old.mp4", 5, WALL_NS - 3600 * NS, 10.0, WALL_NS));
    ck_assert_ptr_nonnull(rx_ready_see(t, "r/m-new.mp4", 5, WALL_NS - 29 * NS, 10.0, WALL_NS));
    ck_assert_ptr_nonnull(rx_ready_see(t, "r/a-gone.mp4", 5, WALL_NS - 3600 * NS, 10.0, WALL_NS));
    rx_ready_end(t);
    ck_assert_uint_eq(rx_ready_count(t), 3);
    /* sorted by path */
    ck_assert_str_eq(rx_ready_get(t, 0)->path, "r/a-gone.mp4");
    ck_assert_str_eq(rx_ready_get(t, 2)->path, "r/z-old.mp4");
    ck_assert(rx_ready_settled(t, rx_ready_get(t, 2), 10.0, &left));
    ck_assert(!rx_ready_settled(t, rx_ready_get(t, 1), 10.0, &left));

    /* The next look does not see a-gone.mp4: forgotten. */
    rx_ready_begin(t);
    rx_ready_see(t, "r/z-old.mp4", 5, WALL_NS - 3600 * NS, 11.0, WALL_NS);
    rx_ready_see(t, "r/m-new.mp4", 5, WALL_NS - 29 * NS, 11.0, WALL_NS);
    rx_ready_end(t);
    ck_assert_uint_eq(rx_ready_count(t), 2);
    ck_assert_ptr_null(rx_ready_find(t, "r/a-gone.mp4", 5, WALL_NS - 3600 * NS));
    ck_assert_ptr_nonnull(rx_ready_find(t, "r/z-old.mp4", 5, WALL_NS - 3600 * NS));
    ck_assert_ptr_null(rx_ready_get(t, 2));
    rx_ready_table_free(&t);
}
END_TEST

/* ---- the writer check */

static RxReadyFile file_of(const char *path)
{
    struct stat st;
    RxReadyFile f = {0};

    ck_assert_int_eq(stat(path, &st), 0);
    f.dev = (uint64_t)st.st_dev;
    f.ino = (uint64_t)st.st_ino;
    f.written = -1; /* must be overwritten */
    return f;
}

START_TEST(test_writer_self)
{
    RxReadyFile f[3];
    RxReadyScan scan;
    int w, r, rw;

    spew(at("w.mp4"), "x");
    spew(at("r.mp4"), "x");
    spew(at("rw.mp4"), "x");
    f[0] = file_of(at("w.mp4"));
    f[1] = file_of(at("r.mp4"));
    f[2] = file_of(at("rw.mp4"));

    ck_assert_int_eq(rx_ready_writers(f, 3, &scan), 0);
    ck_assert_int_eq(f[0].written + f[1].written + f[2].written, 0);
    ck_assert_int_gt(scan.processes, 0);

    w = open(at("w.mp4"), O_WRONLY | O_APPEND);
    r = open(at("r.mp4"), O_RDONLY);
    rw = open(at("rw.mp4"), O_RDWR);
    ck_assert(w >= 0 && r >= 0 && rw >= 0);
    ck_assert_int_eq(rx_ready_writers(f, 3, &scan), 0);
    ck_assert_int_eq(f[0].written, 1);
    ck_assert_int_eq(f[1].written, 0); /* open, but only for reading */
    ck_assert_int_eq(f[2].written, 1);

    close(w);
    close(rw);
    ck_assert_int_eq(rx_ready_writers(f, 3, &scan), 0);
    ck_assert_int_eq(f[0].written + f[1].written + f[2].written, 0);
    close(r);
}
END_TEST

/* A recorder is another process: a child holds the file open for writing
 * until told to go. */
START_TEST(test_writer_child)
{
    RxReadyFile f;
    RxReadyScan scan;
    int ready[2], go[2], status;
    char c;
    pid_t pid;

    spew(at("rec.mp4"), "x");
    f = file_of(at("rec.mp4"));
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(at("rec.mp4"), O_WRONLY);
        c = fd >= 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        _exit(fd >= 0 ? 0 : 1);
    }
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    ck_assert_int_eq(rx_ready_writers(&f, 1, &scan), 0);
    ck_assert_int_eq(f.written, 1);

    ck_assert_int_eq(write(go[1], "g", 1), 1);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(rx_ready_writers(&f, 1, &scan), 0);
    ck_assert_int_eq(f.written, 0);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
}
END_TEST

/* ---- the parse check */

START_TEST(test_parse)
{
    TmClip clip;
    char err[256], why[256];

    tm_clip_default(&clip);
    clip.duration = 2.0;
    ck_assert_msg(tm_write_clip(at("whole.mp4"), &clip, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(rx_ready_parses(at("whole.mp4"), why, sizeof(why)), 0);
    ck_assert_str_eq(why, "");

    /* As Game Bar leaves it mid-recording: the media data, no moov yet. */
    ck_assert_msg(tm_write_clip(at("cut.mp4"), &clip, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(tm_truncate_file(at("cut.mp4"), 0.7), 0);
    ck_assert_int_lt(rx_ready_parses(at("cut.mp4"), why, sizeof(why)), 0);
    ck_assert_ptr_nonnull(strstr(why, "does not open"));

    spew(at("empty.mp4"), "");
    ck_assert_int_lt(rx_ready_parses(at("empty.mp4"), why, sizeof(why)), 0);
    ck_assert_int_lt(rx_ready_parses(at("missing.mp4"), why, sizeof(why)), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ready");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_settle_clock);
    tcase_add_test(tc, test_settle_old_and_gone);
    tcase_add_test(tc, test_writer_self);
    tcase_add_test(tc, test_writer_child);
    tcase_add_test(tc, test_parse);
    suite_add_tcase(s, tc);

    return rx_check_run(s);
}
