/*
 * check_scan.c - the walk: extensions, ignored names, symlinks and loops,
 * file systems, unreadable and vanishing entries, entry fields, order.
 *
 * Each test builds its own tree under a fresh directory in $TMPDIR (or /tmp)
 * and removes it at the end. The tests run as root on CI, where chmod 000
 * denies nothing; test_unreadable_dir then switches the thread's file-system
 * uid to nobody (setfsuid) so that the kernel really refuses, and says so if
 * it cannot.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/error.h>

#include "checkrun.h"
#include "reencode/scan.h"
#include "testdir.h"

#define MAXSEEN 64

typedef struct Seen {
    char order[MAXSEEN][PATH_MAX]; /* rel of each on_entry call, in call order */
    size_t n;
    char wpath[MAXSEEN][PATH_MAX]; /* warnings */
    int werr[MAXSEEN];
    size_t nw;
    /* test_vanishing: when this rel is yielded, remove those paths */
    const char *trigger;
    char vanish[2][PATH_MAX];
    int stop_with; /* nonzero: on_entry returns it */
} Seen;

static char top[256]; /* this test's temporary directory */

static const char *at(const char *rel);

static int on_entry(void *opaque, const RxScanEntry *e)
{
    Seen *s = opaque;
    ck_assert_uint_lt(s->n, MAXSEEN);
    snprintf(s->order[s->n++], PATH_MAX, "%s", e->rel);
    if (s->trigger && !strcmp(e->rel, s->trigger)) {
        ck_assert_int_eq(unlink(s->vanish[0]), 0);
        /* A new name in top, which the walk has already read. */
        ck_assert_int_eq(rename(s->vanish[1], at("gone")), 0);
    }
    return s->stop_with;
}

static void on_warn(void *opaque, const char *path, int err)
{
    Seen *s = opaque;
    ck_assert_uint_lt(s->nw, MAXSEEN);
    snprintf(s->wpath[s->nw], PATH_MAX, "%s", path);
    s->werr[s->nw++] = err;
}

/* Path under the test directory. */
static const char *at(const char *rel)
{
    return td_path(top, rel);
}

/* Create a file (and its parent directories) with some bytes. */
static void touch(const char *rel, const char *content)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", at(rel));
    for (char *q = p + strlen(top) + 1; (q = strchr(q, '/')); q++) {
        *q = '\0';
        ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
        *q = '/';
    }
    FILE *f = fopen(p, "w");
    ck_assert_msg(f != NULL, "create %s: %s", p, strerror(errno));
    fputs(content, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void link_to(const char *target, const char *rel)
{
    ck_assert_msg(symlink(target, at(rel)) == 0, "symlink %s: %s", rel, strerror(errno));
}

static void setup(void)
{
    ck_assert_int_eq(td_create(top, sizeof(top), "check_scan"), 0);
    ck_assert_int_eq(chmod(top, 0755), 0); /* nobody must reach the tree (unreadable test) */
    ck_assert_int_eq(chdir(top), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(chdir("/"), 0);
    ck_assert_int_eq(td_remove(top), 0);
}

/* Scan the test directory with o (NULL: defaults plus the callbacks). */
static RxScanList *scan(RxScanOptions *o, Seen *seen)
{
    RxScanOptions d;
    RxScanList *l = NULL;
    const char *roots[] = {top};
    if (!o) {
        rx_scan_options_default(&d);
        o = &d;
    }
    o->on_entry = on_entry;
    o->entry_opaque = seen;
    o->on_warn = on_warn;
    o->warn_opaque = seen;
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    int ret = rx_scan_run(l, roots, 1, o);
    ck_assert_msg(ret == 0, "rx_scan_run: %s", strerror(-ret));
    ck_assert_uint_eq(rx_scan_list_count(l), seen->n);
    ck_assert_uint_eq(rx_scan_list_warnings(l), seen->nw);
    rx_scan_list_sort(l);
    return l;
}

/* The sorted list's rels, joined with spaces. */
static const char *rels(const RxScanList *l)
{
    static char buf[8192];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < rx_scan_list_count(l); i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "",
                                rx_scan_list_get(l, i)->rel);
    return buf;
}

START_TEST(test_extensions)
{
    Seen seen = {0};
    touch("a.mp4", "x");
    touch("B.MP4", "x");
    touch("c.Mp4", "x");
    touch("d.mkv", "x");
    touch("e.mov", "x");
    touch("f.txt", "x");
    touch("mp4", "x");
    touch(".mp4", "x");
    touch("g.mp4.part", "x");
    touch("G.MP4.PART", "x");
    touch("h.mp4.reencoded", "x");
    touch("x.part", "x");
    touch(".reencode/j.mp4", "x");
    touch("sub/.reencode/deeper/k.mp4", "x");
    touch("sub/deep/l.mp4", "x");
    touch("sub/m.mp4.mkv", "x");

    RxScanList *l = scan(NULL, &seen);
    ck_assert_str_eq(rels(l), "B.MP4 a.mp4 c.Mp4 sub/deep/l.mp4");
    ck_assert_uint_eq(seen.nw, 0);
    rx_scan_list_free(&l);
    ck_assert_ptr_null(l);

    RxScanOptions o;
    rx_scan_options_default(&o);
    o.extensions = " .MKV, mov ,";
    memset(&seen, 0, sizeof(seen));
    l = scan(&o, &seen);
    ck_assert_str_eq(rels(l), "d.mkv e.mov sub/m.mp4.mkv");
    rx_scan_list_free(&l);

    /* Asking for "part" or "reencoded" does not defeat the rules. */
    o.extensions = "part,reencoded,mp4";
    memset(&seen, 0, sizeof(seen));
    l = scan(&o, &seen);
    ck_assert_str_eq(rels(l), "B.MP4 a.mp4 c.Mp4 sub/deep/l.mp4");
    rx_scan_list_free(&l);

    const char *bad[] = {"", ",", " . , ", "mp4,a/b"};
    const char *roots[] = {top};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.extensions = bad[i];
        ck_assert_int_eq(rx_scan_list_new(&l), 0);
        ck_assert_int_eq(rx_scan_run(l, roots, 1, &o), AVERROR(EINVAL));
        ck_assert_uint_eq(rx_scan_list_count(l), 0);
        rx_scan_list_free(&l);
    }
}
END_TEST

START_TEST(test_entry_fields)
{
    Seen seen = {0};
    struct stat st;
    touch("one/clip.mp4", "hello world");
    struct timespec ts[2] = {{1700000000, 123456789}, {1700000000, 123456789}};
    ck_assert_int_eq(utimensat(AT_FDCWD, at("one/clip.mp4"), ts, 0), 0);
    ck_assert_int_eq(stat(at("one/clip.mp4"), &st), 0);
    touch("two/other.mp4", "");

    /* Two roots, one with trailing slashes: paths are root + '/' + rel. */
    char r0[PATH_MAX], r1[PATH_MAX];
    snprintf(r0, sizeof(r0), "%s/one///", top);
    snprintf(r1, sizeof(r1), "%s/two", top);
    const char *roots[] = {"does-not-exist", r0, r1};
    RxScanOptions o;
    rx_scan_options_default(&o);
    o.on_warn = on_warn;
    o.warn_opaque = &seen;
    RxScanList *l = NULL;
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    ck_assert_int_eq(rx_scan_run(l, roots, 3, &o), 0);
    rx_scan_list_sort(l);
    ck_assert_uint_eq(rx_scan_list_count(l), 2);

    /* The missing root is a warning and the walk goes on. */
    ck_assert_uint_eq(seen.nw, 1);
    ck_assert_str_eq(seen.wpath[0], "does-not-exist");
    ck_assert_int_eq(seen.werr[0], AVERROR(ENOENT));
    ck_assert_uint_eq(rx_scan_list_warnings(l), 1);

    const RxScanEntry *e = rx_scan_list_get(l, 0);
    ck_assert_str_eq(e->path, at("one/clip.mp4"));
    ck_assert_str_eq(e->rel, "clip.mp4");
    ck_assert_ptr_eq(e->rel, e->path + strlen(top) + 5);
    ck_assert_uint_eq(e->root, 1);
    ck_assert_int_eq(e->size, 11);
    ck_assert_int_eq(e->mtime_ns, INT64_C(1700000000123456789));
    ck_assert_uint_eq(e->dev, (uint64_t)st.st_dev);
    ck_assert_uint_eq(e->ino, (uint64_t)st.st_ino);
    e = rx_scan_list_get(l, 1);
    ck_assert_str_eq(e->path, at("two/other.mp4"));
    ck_assert_uint_eq(e->root, 2);
    ck_assert_int_eq(e->size, 0);
    ck_assert_ptr_null(rx_scan_list_get(l, 2));
    rx_scan_list_free(&l);

    /* A file given as a root is yielded with its base name as rel; the name
     * rules still apply. */
    snprintf(r0, sizeof(r0), "%s/one/clip.mp4", top);
    touch("notes.txt", "x");
    snprintf(r1, sizeof(r1), "%s/notes.txt", top);
    const char *files[] = {r0, r1};
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    ck_assert_int_eq(rx_scan_run(l, files, 2, NULL), 0);
    ck_assert_uint_eq(rx_scan_list_count(l), 1);
    ck_assert_str_eq(rx_scan_list_get(l, 0)->path, r0);
    ck_assert_str_eq(rx_scan_list_get(l, 0)->rel, "clip.mp4");
    rx_scan_list_free(&l);

    /* Relative roots stay relative ("." + "/" + rel). */
    const char *dot[] = {"./two/"};
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    ck_assert_int_eq(rx_scan_run(l, dot, 1, NULL), 0);
    ck_assert_uint_eq(rx_scan_list_count(l), 1);
    ck_assert_str_eq(rx_scan_list_get(l, 0)->path, "./two/other.mp4");
    rx_scan_list_free(&l);
}
END_TEST

START_TEST(test_order)
{
    Seen seen = {0};
    /* Created out of order; names chosen so that the depth-first walk order
     * differs from strcmp() order of whole paths ('-' < '.' < '/'). */
    touch("z.mp4", "x");
    touch("a/b.mp4", "x");
    touch("a.mp4", "x");
    touch("a-b.mp4", "x");
    touch("A.mp4", "x");
    touch("a/a/a.mp4", "x");
    touch("é.mp4", "x");
    RxScanList *l = scan(NULL, &seen);

    /* Stream order: names sorted within each directory, depth first. */
    const char *walk[] = {"A.mp4", "a/a/a.mp4", "a/b.mp4", "a-b.mp4", "a.mp4", "z.mp4", "é.mp4"};
    ck_assert_uint_eq(seen.n, 7);
    for (size_t i = 0; i < 7; i++)
        ck_assert_str_eq(seen.order[i], walk[i]);
    /* The list, sorted: byte-wise by path. */
    ck_assert_str_eq(rels(l), "A.mp4 a-b.mp4 a.mp4 a/a/a.mp4 a/b.mp4 z.mp4 é.mp4");
    for (size_t i = 1; i < rx_scan_list_count(l); i++)
        ck_assert_int_lt(strcmp(rx_scan_list_get(l, i - 1)->path, rx_scan_list_get(l, i)->path), 0);
    rx_scan_list_free(&l);
}
END_TEST

START_TEST(test_symlinks_not_followed)
{
    Seen seen = {0};
    touch("real/x.mp4", "x");
    link_to("real", "linkdir");
    link_to("real/x.mp4", "link.mp4");
    link_to("nowhere.mp4", "dangling.mp4");
    link_to(".", "loop");
    RxScanList *l = scan(NULL, &seen);
    ck_assert_str_eq(rels(l), "real/x.mp4");
    ck_assert_uint_eq(seen.nw, 0); /* not followed, so not broken either */
    rx_scan_list_free(&l);
}
END_TEST

START_TEST(test_symlink_loop_followed)
{
    Seen seen = {0};
    touch("root/a/x.mp4", "x");
    touch("outside/y.mp4", "y");
    link_to("..", "root/a/up");        /* a/up/a/up/... : a loop through the parent */
    link_to(".", "root/a/self");       /* a loop on itself */
    link_to("a", "root/b");            /* a second way into a */
    link_to("a/x.mp4", "root/c.mp4");  /* a second name of a/x.mp4 */
    link_to("../outside", "root/out"); /* the only way to outside/y.mp4 */
    link_to("missing.mp4", "root/dangling.mp4");
    link_to("selfloop.mp4", "root/selfloop.mp4");
    link_to("missing", "root/dangling-dir"); /* not a recording's name: not reported */

    RxScanOptions o;
    rx_scan_options_default(&o);
    o.follow_symlinks = 1;
    o.on_entry = on_entry;
    o.entry_opaque = &seen;
    o.on_warn = on_warn;
    o.warn_opaque = &seen;
    RxScanList *l = NULL;
    const char *roots[] = {at("root")};
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    ck_assert_int_eq(rx_scan_run(l, roots, 1, &o), 0); /* terminates: Check's timeout guards */
    rx_scan_list_sort(l);

    /* Each file once, under the first name met (names in strcmp order). */
    ck_assert_str_eq(rels(l), "a/x.mp4 out/y.mp4");
    ck_assert_str_eq(rx_scan_list_get(l, 0)->path, at("root/a/x.mp4"));
    /* a/up leads back to root, where a/x.mp4 again would be seen: it is not. */
    ck_assert_uint_eq(seen.n, 2);

    /* Broken links that look like recordings are reported, each once. */
    ck_assert_uint_eq(seen.nw, 2);
    ck_assert_str_eq(seen.wpath[0], at("root/dangling.mp4"));
    ck_assert_int_eq(seen.werr[0], AVERROR(ENOENT));
    ck_assert_str_eq(seen.wpath[1], at("root/selfloop.mp4"));
    ck_assert_int_eq(seen.werr[1], AVERROR(ELOOP));
    rx_scan_list_free(&l);

    /* Hard links: two names when links are not followed, one when they are. */
    ck_assert_int_eq(link(at("outside/y.mp4"), at("outside/z.mp4")), 0);
    const char *out[] = {at("outside")};
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    ck_assert_int_eq(rx_scan_run(l, out, 1, NULL), 0);
    ck_assert_uint_eq(rx_scan_list_count(l), 2);
    rx_scan_list_free(&l);
    memset(&seen, 0, sizeof(seen));
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    ck_assert_int_eq(rx_scan_run(l, out, 1, &o), 0);
    ck_assert_uint_eq(rx_scan_list_count(l), 1);
    ck_assert_str_eq(rx_scan_list_get(l, 0)->rel, "y.mp4");
    rx_scan_list_free(&l);
}
END_TEST

START_TEST(test_overlapping_roots)
{
    Seen seen = {0};
    touch("a/b/x.mp4", "x");
    touch("a/y.mp4", "y");
    const char *roots[] = {at("a/b"), at("a"), at("a/b")};
    RxScanOptions o;
    rx_scan_options_default(&o);
    o.on_entry = on_entry;
    o.entry_opaque = &seen;
    RxScanList *l = NULL;
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    ck_assert_int_eq(rx_scan_run(l, roots, 3, &o), 0);
    rx_scan_list_sort(l);
    ck_assert_uint_eq(rx_scan_list_count(l), 2);
    ck_assert_str_eq(rx_scan_list_get(l, 0)->path, at("a/b/x.mp4"));
    ck_assert_uint_eq(rx_scan_list_get(l, 0)->root, 0);
    ck_assert_str_eq(rx_scan_list_get(l, 1)->path, at("a/y.mp4"));
    ck_assert_uint_eq(rx_scan_list_get(l, 1)->root, 1);
    rx_scan_list_free(&l);
}
END_TEST

START_TEST(test_one_file_system)
{
    /* /dev/shm is a tmpfs on Linux: another device than the test directory. */
    char other[] = "/dev/shm/check_scan.XXXXXX";
    struct stat a, b;
    if (!mkdtemp(other) || stat(other, &b) < 0 || stat(top, &a) < 0 || a.st_dev == b.st_dev) {
        fprintf(stderr, "test_one_file_system: no second file system at /dev/shm; only the "
                        "same-device half is checked\n");
        rmdir(other);
        touch("x.mp4", "x");
        RxScanOptions o;
        rx_scan_options_default(&o);
        o.one_file_system = 1;
        Seen seen = {0};
        RxScanList *l = scan(&o, &seen);
        ck_assert_str_eq(rels(l), "x.mp4");
        rx_scan_list_free(&l);
        return;
    }
    char file[PATH_MAX];
    snprintf(file, sizeof(file), "%s/far.mp4", other);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    touch("near.mp4", "x");
    link_to(other, "mnt");

    RxScanOptions o;
    rx_scan_options_default(&o);
    o.follow_symlinks = 1;
    Seen seen = {0};
    RxScanList *l = scan(&o, &seen);
    ck_assert_str_eq(rels(l), "mnt/far.mp4 near.mp4");
    rx_scan_list_free(&l);

    rx_scan_options_default(&o);
    o.follow_symlinks = 1;
    o.one_file_system = 1;
    memset(&seen, 0, sizeof(seen));
    l = scan(&o, &seen);
    ck_assert_str_eq(rels(l), "near.mp4");
    ck_assert_uint_eq(seen.nw, 0);
    rx_scan_list_free(&l);

    /* A root on another device is walked: the rule is per root. */
    const char *roots[] = {other};
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    ck_assert_int_eq(rx_scan_run(l, roots, 1, &o), 0);
    ck_assert_uint_eq(rx_scan_list_count(l), 1);
    rx_scan_list_free(&l);
    unlink(file);
    rmdir(other);
}
END_TEST

/*
 * Make the kernel refuse reads of mode-000 entries to this thread. Returns 1
 * when it already does, 2 when it does after switching the thread's
 * file-system ids to nobody (root, where chmod 000 denies nothing), 0 when
 * neither works. probe is a mode-000 directory.
 */
static int deny_reads(const char *probe)
{
    DIR *d = opendir(probe);
    if (!d)
        return 1;
    closedir(d);
    setfsgid(65534);
    setfsuid(65534);
    d = opendir(probe);
    if (!d && errno == EACCES)
        return 2;
    if (d)
        closedir(d);
    setfsuid(0);
    setfsgid(0);
    return 0;
}

static void allow_reads(int how)
{
    if (how == 2) {
        setfsuid(0);
        setfsgid(0);
    }
}

START_TEST(test_unreadable_dir)
{
    touch("a.mp4", "x");
    touch("locked/hidden.mp4", "x");
    touch("secret.mp4", "x");
    touch("z/after.mp4", "x");
    link_to("locked", "zz-again"); /* a second way to the locked directory */
    ck_assert_int_eq(chmod(at("locked"), 0), 0);
    ck_assert_int_eq(chmod(at("secret.mp4"), 0), 0);

    int how = deny_reads(at("locked"));
    if (!how) {
        /* Cannot make the kernel refuse: say so, and still prove the warning
         * path with an entry that cannot be opened for another reason. */
        fprintf(stderr, "test_unreadable_dir: chmod 000 does not deny reads here and the "
                        "file-system uid cannot be changed; checking a vanished entry instead\n");
        ck_assert_int_eq(chmod(at("locked"), 0755), 0);
        Seen seen = {0};
        seen.trigger = "a.mp4";
        snprintf(seen.vanish[0], PATH_MAX, "%s", at("secret.mp4"));
        snprintf(seen.vanish[1], PATH_MAX, "%s", at("locked"));
        RxScanList *l = scan(NULL, &seen);
        ck_assert_uint_eq(seen.nw, 2);
        ck_assert_str_eq(rels(l), "a.mp4 z/after.mp4");
        rx_scan_list_free(&l);
        return;
    }

    Seen seen = {0};
    RxScanList *l = scan(NULL, &seen);
    RxScanOptions o;
    rx_scan_options_default(&o);
    o.follow_symlinks = 1;
    Seen seen2 = {0};
    RxScanList *l2 = scan(&o, &seen2);
    allow_reads(how);
    ck_assert_int_eq(chmod(at("locked"), 0755), 0);

    /* Reported once each, with EACCES; the walk went on past them. */
    ck_assert_str_eq(rels(l), "a.mp4 z/after.mp4");
    ck_assert_uint_eq(seen.nw, 2);
    ck_assert_str_eq(seen.wpath[0], at("locked"));
    ck_assert_int_eq(seen.werr[0], AVERROR(EACCES));
    ck_assert_str_eq(seen.wpath[1], at("secret.mp4"));
    ck_assert_int_eq(seen.werr[1], AVERROR(EACCES));

    /* With links followed, zz-again leads to the same directory: still one
     * warning for it. */
    ck_assert_str_eq(rels(l2), "a.mp4 z/after.mp4");
    ck_assert_uint_eq(seen2.nw, 2);
    ck_assert_str_eq(seen2.wpath[0], at("locked"));
    ck_assert_str_eq(seen2.wpath[1], at("secret.mp4"));
    rx_scan_list_free(&l);
    rx_scan_list_free(&l2);
}
END_TEST

START_TEST(test_vanishing)
{
    /* Names that disappear between readdir() and the stat: the on_entry for
     * a.mp4 removes b.mp4 and moves directory c away, both already read. */
    Seen seen = {0};
    touch("a.mp4", "x");
    touch("b.mp4", "x");
    touch("c/x.mp4", "x");
    touch("d.mp4", "x");
    seen.trigger = "a.mp4";
    snprintf(seen.vanish[0], PATH_MAX, "%s", at("b.mp4"));
    snprintf(seen.vanish[1], PATH_MAX, "%s", at("c"));
    RxScanList *l = scan(NULL, &seen);
    ck_assert_str_eq(rels(l), "a.mp4 d.mp4");
    ck_assert_uint_eq(seen.nw, 2);
    ck_assert_str_eq(seen.wpath[0], at("b.mp4"));
    ck_assert_int_eq(seen.werr[0], AVERROR(ENOENT));
    ck_assert_str_eq(seen.wpath[1], at("c"));
    ck_assert_int_eq(seen.werr[1], AVERROR(ENOENT));
    rx_scan_list_free(&l);
}
END_TEST

START_TEST(test_stop)
{
    /* on_entry stops the walk with its code; what was found stays listed. */
    Seen seen = {0};
    touch("a.mp4", "x");
    touch("b.mp4", "x");
    seen.stop_with = AVERROR(ECANCELED);
    RxScanOptions o;
    rx_scan_options_default(&o);
    o.on_entry = on_entry;
    o.entry_opaque = &seen;
    const char *roots[] = {top};
    RxScanList *l = NULL;
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    ck_assert_int_eq(rx_scan_run(l, roots, 1, &o), AVERROR(ECANCELED));
    ck_assert_uint_eq(rx_scan_list_count(l), 1);
    ck_assert_str_eq(rx_scan_list_get(l, 0)->rel, "a.mp4");
    rx_scan_list_free(&l);
    rx_scan_list_free(NULL);
}
END_TEST

static void on_not_taken(void *opaque, const char *path, int err)
{
    on_warn(opaque, path, err);
}

/* Files named one by one (a manifest): the walk's name rules, one entry per
 * file however often named, missing files yielded with err, rel from base or
 * absolute. */
START_TEST(test_named_files)
{
    const char *named[] = {"sub/w.mp4",   "a.mp4",       "./a.mp4", "odd\nname, \"q\".mp4",
                           "missing.mp4", "x.mkv",       "d.mp4",   ".reencode/j.mp4",
                           "a.mp4.part",  "sub/../a.mp4"};
    const char *sub[] = {at("sub")};
    Seen seen = {0};
    RxScanOptions o;
    RxScanList *l = NULL;
    char *real_top = realpath(top, NULL), outside[PATH_MAX];

    touch("a.mp4", "a");
    touch("sub/w.mp4", "w");
    touch("odd\nname, \"q\".mp4", "o");
    touch("x.mkv", "x");
    touch(".reencode/j.mp4", "j");
    touch("a.mp4.part", "p");
    ck_assert_int_eq(mkdir(at("d.mp4"), 0755), 0);
    rx_scan_options_default(&o);
    o.on_entry = on_entry;
    o.entry_opaque = &seen;
    o.on_not_taken = on_not_taken;
    o.not_taken_opaque = &seen;
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    ck_assert_int_eq(rx_scan_run(l, sub, 1, &o), 0);
    ck_assert_int_eq(rx_scan_files(l, named, 10, ".", 1, &o), 0);

    ck_assert_uint_eq(rx_scan_list_count(l), 4);
    ck_assert_str_eq(rx_scan_list_get(l, 0)->rel, "w.mp4"); /* walked, root 0 */
    const RxScanEntry *e = rx_scan_list_get(l, 1);
    ck_assert_str_eq(e->path, "a.mp4");
    ck_assert_str_eq(e->rel, "a.mp4");
    ck_assert_uint_eq(e->root, 1);
    ck_assert_int_eq(e->err, 0);
    ck_assert_int_eq(e->size, 1);
    e = rx_scan_list_get(l, 2);
    ck_assert_str_eq(e->rel, "odd\nname, \"q\".mp4");
    ck_assert_int_eq(e->err, 0);
    e = rx_scan_list_get(l, 3);
    ck_assert_str_eq(e->path, "missing.mp4");
    ck_assert_int_eq(e->err, AVERROR(ENOENT));
    ck_assert_int_eq(e->size, 0);

    const char *left[] = {"sub/w.mp4",       "./a.mp4",    "x.mkv",       "d.mp4",
                          ".reencode/j.mp4", "a.mp4.part", "sub/../a.mp4"};
    const int why[] = {RX_SCAN_ERR_SAME, RX_SCAN_ERR_SAME, RX_SCAN_ERR_NAME, RX_SCAN_ERR_TYPE,
                       RX_SCAN_ERR_NAME, RX_SCAN_ERR_NAME, RX_SCAN_ERR_SAME};
    ck_assert_uint_eq(seen.nw, 7);
    for (size_t i = 0; i < 7; i++) {
        ck_assert_str_eq(seen.wpath[i], left[i]);
        ck_assert_int_eq(seen.werr[i], why[i]);
        ck_assert_ptr_nonnull(rx_scan_why(why[i]));
    }
    ck_assert_ptr_null(rx_scan_why(AVERROR(ENOENT)));
    rx_scan_list_free(&l);

    /* Outside base: the absolute path, whichever way it was named. */
    ck_assert_int_eq(rx_scan_list_new(&l), 0);
    o.on_entry = NULL;
    o.on_not_taken = NULL;
    ck_assert_int_eq(rx_scan_files(l, named + 1, 1, at("sub"), 0, &o), 0);
    snprintf(outside, sizeof(outside), "%s/a.mp4", real_top);
    ck_assert_str_eq(rx_scan_list_get(l, 0)->rel, outside);
    rx_scan_list_free(&l);
    free(real_top);
}
END_TEST

static Suite *scan_suite(void)
{
    Suite *s = suite_create("scan");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_extensions);
    tcase_add_test(tc, test_entry_fields);
    tcase_add_test(tc, test_order);
    tcase_add_test(tc, test_symlinks_not_followed);
    tcase_add_test(tc, test_symlink_loop_followed);
    tcase_add_test(tc, test_overlapping_roots);
    tcase_add_test(tc, test_one_file_system);
    tcase_add_test(tc, test_unreadable_dir);
    tcase_add_test(tc, test_vanishing);
    tcase_add_test(tc, test_stop);
    tcase_add_test(tc, test_named_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return rx_check_run(scan_suite());
}
