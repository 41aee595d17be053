/*
 * check_probe.c - MediaInfo fields of clips made at test time, probe errors
 * per file, and find (walk + parallel probes) over a small tree.
 *
 * Clips come from tests/support/testmedia (Game-Bar-like MP4: moov at the
 * end, H.264 + AAC, artist "Microsoft Game DVR"). Each test writes into its
 * own temporary directory.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/log.h>

#include <libavutil/error.h>

#include "checkrun.h"
#include "reencode/filter.h"
#include "reencode/find.h"
#include "reencode/probe.h"
#include "testdir.h"
#include "testmedia.h"

static char top[256];

static const char *at(const char *rel)
{
    return td_path(top, rel);
}

static void setup(void)
{
    ck_assert_int_eq(td_create(top, sizeof(top), "check_probe"), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(td_remove(top), 0);
}

/* Create the directories leading to rel. */
static void parents(const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", at(rel));
    for (char *q = p + strlen(top) + 1; (q = strchr(q, '/')); q++) {
        *q = '\0';
        ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
        *q = '/';
    }
}

static void copy(const char *from, const char *to)
{
    char buf[65536];
    size_t n;
    parents(to);
    FILE *in = fopen(at(from), "rb"), *out = fopen(at(to), "wb");
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

/* Write a clip; c NULL = the defaults. */
static void clip(const char *rel, const TmClip *c)
{
    TmClip d;
    char err[256] = "";
    parents(rel);
    if (!c) {
        tm_clip_default(&d);
        c = &d;
    }
    int ret = tm_write_clip(at(rel), c, err, sizeof(err));
    ck_assert_msg(ret == 0, "tm_write_clip %s: %s", rel, err);
}

static RxProbe *probe_ok(const char *path, const RxProbeOptions *o)
{
    RxProbe *p = NULL;
    char why[128];
    int ret = rx_probe_open(&p, path, o);
    ck_assert_msg(ret == 0, "probe %s: %s", path, rx_probe_strerror(ret, why, sizeof(why)));
    ck_assert_ptr_nonnull(p);
    return p;
}

static int64_t int_field(const RxProbe *p, RxStreamKind kind, size_t s, const char *name)
{
    int64_t v = -1;
    ck_assert_msg(rx_probe_int(p, kind, s, name, &v) == 0, "%s;%s is not an integer",
                  rx_stream_kind_name(kind), name);
    return v;
}

#define G RX_STREAM_GENERAL
#define V RX_STREAM_VIDEO
#define A RX_STREAM_AUDIO

START_TEST(test_tagged)
{
    struct stat st;
    clip("tagged.mp4", NULL);
    ck_assert_int_eq(stat(at("tagged.mp4"), &st), 0);
    RxProbe *p = probe_ok(at("tagged.mp4"), NULL);

    ck_assert_uint_eq(rx_probe_count(p, G), 1);
    ck_assert_uint_eq(rx_probe_count(p, V), 1);
    ck_assert_uint_eq(rx_probe_count(p, A), 1);
    ck_assert_uint_eq(rx_probe_count(p, RX_STREAM_TEXT), 0);
    ck_assert_uint_eq(rx_probe_count(p, RX_STREAM_KINDS), 0);

    ck_assert_str_eq(rx_probe_get(p, G, 0, "Performer"), "Microsoft Game DVR");
    ck_assert_str_eq(rx_probe_get(p, G, 0, "Title"), "Visual Studio Code");
    ck_assert_str_eq(rx_probe_get(p, G, 0, "Format"), "MPEG-4");
    int64_t ms = int_field(p, G, 0, "Duration");
    ck_assert_msg(ms >= 1950 && ms <= 2100, "Duration %lld ms for a 2 s clip", (long long)ms);
    ck_assert_int_eq(int_field(p, G, 0, "FileSize"), st.st_size);
    int64_t rate = int_field(p, G, 0, "OverallBitRate");
    ck_assert_int_gt(rate, 0);
    /* Overall bit rate is size over duration. */
    ck_assert_int_lt(llabs(rate - st.st_size * 8000 / ms), rate / 20 + 1);
    ck_assert_ptr_null(rx_probe_get(p, G, 0, "EncodedBy"));
    ck_assert_ptr_null(rx_probe_get(p, G, 0, "IsTruncated"));
    ck_assert_str_eq(rx_probe_get(p, G, 0, "VideoCount"), "1");

    ck_assert_str_eq(rx_probe_get(p, V, 0, "Format"), "AVC");
    ck_assert_int_eq(int_field(p, V, 0, "Width"), 320);
    ck_assert_int_eq(int_field(p, V, 0, "Height"), 180);
    ck_assert_str_eq(rx_probe_get(p, V, 0, "FrameRate"), "30.000");
    ck_assert_int_eq(int_field(p, V, 0, "BitDepth"), 8);
    ck_assert_ptr_nonnull(rx_probe_get(p, V, 0, "FrameRate_Mode"));
    ck_assert_str_eq(rx_probe_get(p, V, 0, "Rotation"), "0.000"); /* MP4's tkhd matrix */
    ck_assert_ptr_null(rx_probe_get(p, V, 1, "Format"));

    ck_assert_str_eq(rx_probe_get(p, A, 0, "Format"), "AAC");
    ck_assert_int_eq(int_field(p, A, 0, "SamplingRate"), 48000);
    ck_assert_int_eq(int_field(p, A, 0, "Channel(s)"), 2);

    /* Fields not asked for read as absent; so do wrong kinds and names. */
    ck_assert_ptr_null(rx_probe_get(p, G, 0, "CompleteName"));
    ck_assert_ptr_null(rx_probe_get(p, A, 0, "Width"));
    ck_assert_ptr_null(rx_probe_get(p, G, 0, "performer")); /* names are case-sensitive */

    int64_t v;
    ck_assert_int_eq(rx_probe_int(p, G, 0, "Format", &v), AVERROR(EINVAL));
    ck_assert_int_eq(rx_probe_int(p, G, 0, "Nothing", &v), AVERROR(ENODATA));

    /* Through the filter's interface. */
    RxFilter *f = NULL;
    RxFilterMiss miss;
    const char *exprs[] = {"Performer=Microsoft Game DVR",
                           "Video;Format=AVC",
                           "Audio;SamplingRate=48000",
                           "Duration<60000",
                           "Title~=studio",
                           "Video;FrameRate=30"};
    ck_assert_int_eq(rx_filter_compile(&f, exprs, 6, 0, NULL), 0);
    RxFields fields = rx_probe_fields(p);
    ck_assert_int_eq(rx_filter_match(f, &fields, &miss), 1);
    rx_filter_free(&f);
    rx_probe_free(&p);
    ck_assert_ptr_null(p);
    rx_probe_free(&p);
    rx_probe_free(NULL);
}
END_TEST

START_TEST(test_untagged)
{
    TmClip c;
    tm_clip_default(&c);
    c.artist = NULL;
    c.title = NULL;
    clip("untagged.mp4", &c);
    RxProbe *p = probe_ok(at("untagged.mp4"), NULL);
    ck_assert_ptr_null(rx_probe_get(p, G, 0, "Performer"));
    ck_assert_ptr_null(rx_probe_get(p, G, 0, "Title"));
    ck_assert_str_eq(rx_probe_get(p, V, 0, "Format"), "AVC");

    RxFilter *f = NULL;
    RxFilterMiss miss;
    ck_assert_int_eq(rx_filter_compile(&f, NULL, 0, 0, NULL), 0);
    RxFields fields = rx_probe_fields(p);
    ck_assert_int_eq(rx_filter_match(f, &fields, &miss), 0);
    ck_assert_str_eq(miss.why, "Performer absent");
    rx_filter_free(&f);
    /* "all" mode takes it: it has video. */
    ck_assert_int_eq(rx_filter_compile(&f, NULL, 0, RX_FILTER_ALL, NULL), 0);
    ck_assert_int_eq(rx_filter_match(f, &fields, &miss), 1);
    rx_filter_free(&f);
    rx_probe_free(&p);
}
END_TEST

START_TEST(test_names)
{
    /* Non-ASCII UTF-8, and bytes that are not UTF-8 at all (Linux allows
     * them; MediaInfo takes UTF-8). */
    const char *names[] = {"récording 日本 ✓.mp4", "bad-\xff\xfe-name.mp4"};
    for (size_t i = 0; i < 2; i++) {
        clip(names[i], NULL);
        RxProbe *p = probe_ok(at(names[i]), NULL);
        ck_assert_str_eq(rx_probe_get(p, G, 0, "Performer"), "Microsoft Game DVR");
        ck_assert_int_eq(int_field(p, V, 0, "Width"), 320);
        rx_probe_free(&p);
    }
}
END_TEST

START_TEST(test_errors)
{
    RxProbe *p = (RxProbe *)top; /* must stay untouched on error */
    char why[128];

    ck_assert_int_eq(tm_write_empty(at("empty.mp4")), 0);
    ck_assert_int_eq(rx_probe_open(&p, at("empty.mp4"), NULL), RX_ERR_EMPTY);
    ck_assert_str_eq(rx_probe_strerror(RX_ERR_EMPTY, why, sizeof(why)), "empty file");

    ck_assert_int_eq(tm_write_random(at("random.mp4"), 100000, 1), 0);
    ck_assert_int_eq(rx_probe_open(&p, at("random.mp4"), NULL), RX_ERR_UNRECOGNISED);
    ck_assert_str_eq(rx_probe_strerror(RX_ERR_UNRECOGNISED, why, sizeof(why)),
                     "not a media file MediaInfo recognises");

    /* Game Bar writes the moov last: cut before it, there is no stream. */
    clip("cut.mp4", NULL);
    ck_assert_int_eq(tm_truncate_file(at("cut.mp4"), 0.5), 0);
    ck_assert_int_eq(rx_probe_open(&p, at("cut.mp4"), NULL), RX_ERR_NOSTREAMS);
    ck_assert_ptr_nonnull(
        strstr(rx_probe_strerror(RX_ERR_NOSTREAMS, why, sizeof(why)), "truncated"));

    ck_assert_int_eq(rx_probe_open(&p, at("missing.mp4"), NULL), AVERROR(ENOENT));
    ck_assert_str_eq(rx_probe_strerror(AVERROR(ENOENT), why, sizeof(why)),
                     "No such file or directory");
    ck_assert_int_eq(rx_probe_open(&p, top, NULL), AVERROR(EISDIR));

    RxProbeOptions o = {NULL, 0, "fast"};
    ck_assert_int_eq(rx_probe_open(&p, at("empty.mp4"), &o), AVERROR(EINVAL));
    RxFieldRef bad = {RX_STREAM_KINDS, "Format"};
    RxProbeOptions o2 = {&bad, 1, NULL};
    clip("ok.mp4", NULL);
    ck_assert_int_eq(rx_probe_open(&p, at("ok.mp4"), &o2), AVERROR(EINVAL));
    ck_assert_ptr_eq(p, (RxProbe *)top);
}
END_TEST

START_TEST(test_extra_fields)
{
    TmClip c;
    tm_clip_default(&c);
    c.audio_tracks = 2;
    c.channels = 1;
    c.vfr = 1;
    c.rotation = 90;
    clip("two.mp4", &c);

    const RxFieldRef extra[] = {
        {A, "Channels"},    {G, "CompleteName"},        {V, "Encoded_Library_Name"},
        {A, "StreamOrder"}, {RX_STREAM_TEXT, "Format"}, {G, "Performer"}};
    RxProbeOptions o = {extra, sizeof(extra) / sizeof(extra[0]), NULL};
    RxProbe *p = probe_ok(at("two.mp4"), &o);
    ck_assert_uint_eq(rx_probe_count(p, A), 2);
    ck_assert_str_eq(rx_probe_get(p, A, 0, "Channels"), "1");
    ck_assert_str_eq(rx_probe_get(p, A, 1, "Channel(s)"), "1");
    ck_assert_str_eq(rx_probe_get(p, G, 0, "CompleteName"), at("two.mp4"));
    ck_assert_str_eq(rx_probe_get(p, V, 0, "Encoded_Library_Name"), "x264");
    ck_assert_str_eq(rx_probe_get(p, A, 0, "StreamOrder"), "1");
    ck_assert_str_eq(rx_probe_get(p, A, 1, "StreamOrder"), "2");
    ck_assert_str_eq(rx_probe_get(p, G, 0, "Performer"), "Microsoft Game DVR");
    /* As LIBAV-NOTES says of MP4 input: VFR, and the rotation clockwise. */
    ck_assert_str_eq(rx_probe_get(p, V, 0, "FrameRate_Mode"), "VFR");
    ck_assert_int_eq(int_field(p, V, 0, "Rotation"), 90);

    /* The any-stream rule on real streams. */
    RxFilter *f = NULL;
    const char *e = "Audio;StreamOrder=2";
    ck_assert_int_eq(rx_filter_compile(&f, &e, 1, 0, NULL), 0);
    RxFields fields = rx_probe_fields(p);
    ck_assert_int_eq(rx_filter_match(f, &fields, NULL), 1);
    rx_filter_free(&f);
    rx_probe_free(&p);
}
END_TEST

START_TEST(test_parse_speed)
{
    /* ParseSpeed 0 (our default) against 1 (full parse) on what the filter
     * and the listing rely on, for moov-at-end (Game Bar) and faststart. */
    static const RxFieldRef keys[] = {{G, "Duration"}, {G, "Performer"},      {G, "Format"},
                                      {G, "FileSize"}, {V, "FrameRate"},      {V, "Width"},
                                      {V, "Duration"}, {V, "FrameRate_Mode"}, {A, "SamplingRate"},
                                      {A, "Duration"}};
    TmClip c;
    tm_clip_default(&c);
    c.duration = 3.0;
    c.vfr = 1;
    clip("end.mp4", &c);
    c.faststart = 1;
    clip("start.mp4", &c);
    const char *files[] = {"end.mp4", "start.mp4"};
    for (size_t i = 0; i < 2; i++) {
        RxProbeOptions slow = {NULL, 0, "1"};
        RxProbe *a = probe_ok(at(files[i]), NULL), *b = probe_ok(at(files[i]), &slow);
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            const char *x = rx_probe_get(a, keys[k].kind, 0, keys[k].name);
            const char *y = rx_probe_get(b, keys[k].kind, 0, keys[k].name);
            ck_assert_msg(x && y && !strcmp(x, y), "%s %s;%s: '%s' at ParseSpeed 0, '%s' at 1",
                          files[i], rx_stream_kind_name(keys[k].kind), keys[k].name,
                          x ? x : "(absent)", y ? y : "(absent)");
        }
        rx_probe_free(&a);
        rx_probe_free(&b);
    }
}
END_TEST

typedef struct Progress {
    size_t calls, last_found, last_probed;
} Progress;

static void on_progress(void *opaque, size_t found, size_t probed)
{
    Progress *p = opaque;
    p->calls++;
    ck_assert_uint_le(probed, found);
    ck_assert_uint_gt(probed, p->last_probed);
    p->last_found = found;
    p->last_probed = probed;
}

START_TEST(test_find)
{
    TmClip c;
    tm_clip_default(&c);
    clip("b/tagged.mp4", NULL);
    clip("b/two.MP4", &c);
    c.artist = "OBS";
    clip("a/obs.mp4", &c);
    c.artist = NULL;
    clip("untagged.mp4", &c);
    clip("café.mp4", NULL);
    ck_assert_int_eq(tm_write_empty(at("empty.mp4")), 0);
    ck_assert_int_eq(tm_write_random(at("random.mp4"), 50000, 7), 0);
    ck_assert_int_eq(tm_write_empty(at("notes.txt")), 0);
    ck_assert_int_eq(tm_write_empty(at("b/tagged.mp4.part")), 0);
    /* Enough copies that the queue fills and the walker waits. */
    /* Visited after b/ (names sorted per directory, "b" < "b-x.mp4") but
     * listed before it ('-' < '/'): the walk's order is not the result's. */
    copy("b/tagged.mp4", "b-x.mp4");
    char name[64];
    for (int i = 0; i < 80; i++) {
        snprintf(name, sizeof(name), "many/%02d.mp4", i);
        copy("b/tagged.mp4", name);
    }

    RxFilter *f = NULL;
    const char *e = "Audio;Channels=2";
    ck_assert_int_eq(rx_filter_compile(&f, &e, 1, 0, NULL), 0);

    RxFindOptions o;
    Progress prog = {0};
    rx_find_options_default(&o);
    o.jobs = 3;
    o.probe.extra = rx_filter_fields(f, &o.probe.n_extra);
    o.progress = on_progress;
    o.progress_opaque = &prog;
    RxFind *found = NULL;
    const char *roots[] = {top};
    ck_assert_int_eq(rx_find_run(&found, roots, 1, &o), 0);

    const size_t n = 8 + 80;
    ck_assert_uint_eq(rx_find_count(found), n);
    ck_assert_uint_eq(rx_find_warnings(found), 0);
    ck_assert_ptr_null(rx_find_get(found, n));
    ck_assert_uint_eq(prog.calls, n);
    ck_assert_uint_eq(prog.last_found, n);
    ck_assert_uint_eq(prog.last_probed, n);

    /* Sorted by path, byte-wise. */
    const char *head[] = {"a/obs.mp4", "b-x.mp4",  "b/tagged.mp4",
                          "b/two.MP4", "café.mp4", "empty.mp4"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_str_eq(rx_find_get(found, i)->entry->rel, head[i]);
    ck_assert_str_eq(rx_find_get(found, 6)->entry->rel, "many/00.mp4");
    ck_assert_str_eq(rx_find_get(found, n - 2)->entry->rel, "random.mp4");
    ck_assert_str_eq(rx_find_get(found, n - 1)->entry->rel, "untagged.mp4");
    for (size_t i = 1; i < n; i++)
        ck_assert_int_lt(
            strcmp(rx_find_get(found, i - 1)->entry->path, rx_find_get(found, i)->entry->path), 0);

    /* Per-file results: bad files are entries with a reason, not failures. */
    for (size_t i = 0; i < n; i++) {
        const RxFound *r = rx_find_get(found, i);
        const char *rel = r->entry->rel;
        if (!strcmp(rel, "empty.mp4")) {
            ck_assert_int_eq(r->err, RX_ERR_EMPTY);
            ck_assert_ptr_null(r->probe);
        } else if (!strcmp(rel, "random.mp4")) {
            ck_assert_int_eq(r->err, RX_ERR_UNRECOGNISED);
            ck_assert_ptr_null(r->probe);
        } else {
            ck_assert_msg(r->err == 0, "%s: %d", rel, r->err);
            ck_assert_ptr_nonnull(r->probe);
            ck_assert_int_eq(int_field(r->probe, V, 0, "Width"), 320);
            const char *perf = rx_probe_get(r->probe, G, 0, "Performer");
            if (!strcmp(rel, "a/obs.mp4"))
                ck_assert_str_eq(perf, "OBS");
            else if (!strcmp(rel, "untagged.mp4"))
                ck_assert_ptr_null(perf);
            else
                ck_assert_str_eq(perf, "Microsoft Game DVR");
            /* The filter's extra field was fetched. */
            ck_assert_str_eq(rx_probe_get(r->probe, A, 0, "Channels"), "2");
            RxFields fields = rx_probe_fields(r->probe);
            ck_assert_int_eq(rx_filter_match(f, &fields, NULL), 1);
        }
    }
    rx_find_free(&found);
    ck_assert_ptr_null(found);
    rx_find_free(NULL);
    rx_filter_free(&f);

    /* A bad extension list fails the whole find, with no result. */
    o.scan.extensions = ",";
    found = (RxFind *)top;
    ck_assert_int_eq(rx_find_run(&found, roots, 1, &o), AVERROR(EINVAL));
    ck_assert_ptr_eq(found, (RxFind *)top);
}
END_TEST

static Suite *probe_suite(void)
{
    Suite *s = suite_create("probe");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tagged);
    tcase_add_test(tc, test_untagged);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_extra_fields);
    tcase_add_test(tc, test_parse_speed);
    tcase_add_test(tc, test_find);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* As main.c does: UTF-8 names need it, and before any thread. */
    rx_probe_init();
    av_log_set_level(AV_LOG_ERROR); /* x264's statistics for every clip are noise here */
    return rx_check_run(probe_suite());
}
