/*
 * check_filter.c - match expressions: parsing, every operator, numeric versus
 * string comparison, the any-stream rule, error offsets and explanations.
 *
 * Files are fake: a table of (kind, stream, field, value) behind RxFields, so
 * this suite needs no media and no libmediainfo.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>

#include "checkrun.h"
#include "reencode/filter.h"

typedef struct FakeField {
    RxStreamKind kind;
    size_t stream;
    const char *name;
    const char *value;
} FakeField;

typedef struct Fake {
    size_t counts[RX_STREAM_KINDS];
    const FakeField *fields;
    size_t n;
} Fake;

static size_t fake_count(const void *opaque, RxStreamKind kind)
{
    const Fake *f = opaque;
    return f->counts[kind];
}

static const char *fake_get(const void *opaque, RxStreamKind kind, size_t stream, const char *name)
{
    const Fake *f = opaque;
    for (size_t i = 0; i < f->n; i++)
        if (f->fields[i].kind == kind && f->fields[i].stream == stream &&
            !strcmp(f->fields[i].name, name))
            return f->fields[i].value;
    return NULL;
}

static RxFields fake_fields(const Fake *f)
{
    RxFields r = {f, fake_count, fake_get};
    return r;
}

/* A Game Bar recording: one video, two audio tracks (44.1 and 48 kHz). */
static const FakeField gamebar_fields[] = {
    {RX_STREAM_GENERAL, 0, "Performer", "Microsoft Game DVR"},
    {RX_STREAM_GENERAL, 0, "Title", "Google Chrome"},
    {RX_STREAM_GENERAL, 0, "Duration", "61000"},
    {RX_STREAM_GENERAL, 0, "OverallBitRate", "2500000"},
    {RX_STREAM_GENERAL, 0, "Format", "MPEG-4"},
    {RX_STREAM_VIDEO, 0, "Format", "AVC"},
    {RX_STREAM_VIDEO, 0, "Width", "320"},
    {RX_STREAM_VIDEO, 0, "FrameRate", "30.000"},
    {RX_STREAM_AUDIO, 0, "Format", "AAC"},
    {RX_STREAM_AUDIO, 0, "SamplingRate", "44100"},
    {RX_STREAM_AUDIO, 1, "Format", "AAC"},
    {RX_STREAM_AUDIO, 1, "SamplingRate", "48000"},
    {RX_STREAM_AUDIO, 1, "Language", "en"},
};
static const Fake gamebar = {
    {1, 1, 2, 0, 0, 0, 0}, gamebar_fields, sizeof(gamebar_fields) / sizeof(gamebar_fields[0])};

static const FakeField obs_fields[] = {
    {RX_STREAM_GENERAL, 0, "Performer", "OBS"},
    {RX_STREAM_VIDEO, 0, "Format", "AVC"},
};
static const Fake obs = {{1, 1, 0, 0, 0, 0, 0}, obs_fields, 2};

/* Untagged, audio only. Performer is "" (MediaInfo's absent). */
static const FakeField untagged_fields[] = {
    {RX_STREAM_GENERAL, 0, "Performer", ""},
    {RX_STREAM_AUDIO, 0, "Format", "Opus"},
};
static const Fake untagged = {{1, 0, 1, 0, 0, 0, 0}, untagged_fields, 2};

/* Compile one expression; fail the test when it does not compile. */
static RxFilter *compile1(const char *expr)
{
    RxFilter *f = NULL;
    RxFilterError err;
    memset(&err, 0, sizeof(err));
    int ret = rx_filter_compile(&f, &expr, 1, 0, &err);
    ck_assert_msg(ret == 0, "'%s' did not compile: %s at %zu", expr, err.message, err.offset);
    ck_assert_ptr_nonnull(f);
    return f;
}

/* Does expr hold on file? */
static int holds(const char *expr, const Fake *file)
{
    RxFilter *f = compile1(expr);
    RxFields fields = fake_fields(file);
    RxFilterMiss miss;
    int r = rx_filter_match(f, &fields, &miss);
    ck_assert_int_ge(r, 0);
    rx_filter_free(&f);
    ck_assert_ptr_null(f);
    return r;
}

/* The explanation of expr failing on file. */
static RxFilterMiss why_not(const char *expr, const Fake *file)
{
    RxFilter *f = compile1(expr);
    RxFields fields = fake_fields(file);
    RxFilterMiss miss;
    memset(&miss, 0x55, sizeof(miss));
    ck_assert_int_eq(rx_filter_match(f, &fields, &miss), 0);
    rx_filter_free(&f);
    return miss;
}

START_TEST(test_default_filter)
{
    RxFilter *f = NULL;
    RxFilterMiss miss;
    ck_assert_int_eq(rx_filter_compile(&f, NULL, 0, 0, NULL), 0);
    ck_assert_uint_eq(rx_filter_count(f), 1);
    ck_assert_str_eq(rx_filter_text(f, 0), "Performer=Microsoft Game DVR");
    ck_assert_ptr_null(rx_filter_text(f, 1));

    RxFields a = fake_fields(&gamebar), b = fake_fields(&obs), c = fake_fields(&untagged);
    ck_assert_int_eq(rx_filter_match(f, &a, &miss), 1);
    ck_assert_int_eq(rx_filter_match(f, &b, NULL), 0);

    ck_assert_int_eq(rx_filter_match(f, &b, &miss), 0);
    ck_assert_uint_eq(miss.index, 0);
    ck_assert_int_eq(miss.present, 1);
    ck_assert_str_eq(miss.actual, "OBS");
    ck_assert_str_eq(miss.why, "Performer is 'OBS' (want 'Microsoft Game DVR')");

    ck_assert_int_eq(rx_filter_match(f, &c, &miss), 0);
    ck_assert_int_eq(miss.present, 0);
    ck_assert_str_eq(miss.actual, "");
    ck_assert_str_eq(miss.why, "Performer absent");
    rx_filter_free(&f);
    rx_filter_free(&f); /* NULL-safe */
    rx_filter_free(NULL);
}
END_TEST

START_TEST(test_operators_string)
{
    ck_assert(holds("Performer=Microsoft Game DVR", &gamebar));
    ck_assert(!holds("Performer=Microsoft Game", &gamebar));     /* = is exact */
    ck_assert(!holds("Performer=microsoft game dvr", &gamebar)); /* and case-sensitive */
    ck_assert(holds("Performer!=OBS", &gamebar));
    ck_assert(!holds("Performer!=Microsoft Game DVR", &gamebar));
    ck_assert(holds("Title~=Chrome", &gamebar));
    ck_assert(holds("Title~=CHROME", &gamebar)); /* ~= ignores ASCII case */
    ck_assert(holds("Title~=e C", &gamebar));
    ck_assert(!holds("Title~=Firefox", &gamebar));
    ck_assert(holds("Format<MPEG-5", &gamebar)); /* byte-wise */
    ck_assert(holds("Format<=MPEG-4", &gamebar));
    ck_assert(!holds("Format<MPEG-4", &gamebar));
    ck_assert(holds("Format>MPEG", &gamebar));
    ck_assert(holds("Format>=MPEG-4", &gamebar));
    ck_assert(!holds("Format>MPEG-4", &gamebar));
    ck_assert(holds("Title?", &gamebar));
    ck_assert(!holds("Title?", &obs));
    ck_assert(holds("!Title", &obs));
    ck_assert(!holds("!Title", &gamebar));
    /* An empty value is absent, as MediaInfo reports it. */
    ck_assert(!holds("Performer?", &untagged));
    ck_assert(holds("!Performer", &untagged));
}
END_TEST

START_TEST(test_operators_numeric)
{
    ck_assert(holds("Duration>=60000", &gamebar));
    ck_assert(holds("Duration>60999", &gamebar));
    ck_assert(!holds("Duration>61000", &gamebar));
    ck_assert(holds("Duration>=61000", &gamebar));
    ck_assert(holds("Duration<61001", &gamebar));
    ck_assert(!holds("Duration<61000", &gamebar));
    ck_assert(holds("Duration<=61000", &gamebar));
    ck_assert(holds("Duration=61000", &gamebar));
    ck_assert(holds("Duration=6.1e4", &gamebar));
    ck_assert(holds("Duration!=60000", &gamebar));
    ck_assert(holds("OverallBitRate>2000000", &gamebar));
    ck_assert(!holds("OverallBitRate>3000000", &gamebar));
    ck_assert(holds("OverallBitRate>-1", &gamebar));
    /* "320" > "1000" as strings, not as numbers: the comparison is numeric. */
    ck_assert(!holds("Video;Width>1000", &gamebar));
    ck_assert(holds("Video;Width<1000", &gamebar));
    /* "30.000" equals 30 as a number, not as a string. */
    ck_assert(holds("Video;FrameRate=30", &gamebar));
    ck_assert(holds("Video;FrameRate=+30.0", &gamebar));
    ck_assert(!holds("Video;FrameRate!=30", &gamebar));
    ck_assert(holds("Video;FrameRate>29.97", &gamebar));
    /* One side not a number: byte-wise ("6" > "5", although 61000 < 5e9). */
    ck_assert(holds("Duration>5e9x", &gamebar));
    ck_assert(!holds("Duration>5e9", &gamebar));
    /* Hex and inf are strings, not numbers: "61000" < "inf" byte-wise. */
    ck_assert(holds("Duration<inf", &gamebar));
    ck_assert(!holds("Duration<0x99999", &gamebar));
    /* ~= is a substring test even on numbers. */
    ck_assert(holds("Duration~=100", &gamebar));
}
END_TEST

START_TEST(test_kinds_and_any_stream)
{
    ck_assert(holds("Video;Format=AVC", &gamebar));
    ck_assert(holds("video;Format=AVC", &gamebar)); /* kind names ignore case */
    ck_assert(holds("  Video ; Format = AVC  ", &gamebar));
    ck_assert(!holds("Audio;Format=AVC", &gamebar));
    ck_assert(holds("General;Format=MPEG-4", &gamebar));
    /* Any stream: 44100 and 48000. */
    ck_assert(holds("Audio;SamplingRate=48000", &gamebar));
    ck_assert(holds("Audio;SamplingRate=44100", &gamebar));
    ck_assert(holds("Audio;SamplingRate!=48000", &gamebar));
    ck_assert(!holds("Audio;SamplingRate>48000", &gamebar));
    ck_assert(holds("Audio;Language?", &gamebar));
    ck_assert(!holds("Audio;!Language", &gamebar)); /* absent means: in no stream */
    ck_assert(holds("Audio;!Title", &gamebar));
    /* No stream of the kind. */
    ck_assert(!holds("Text;Format?", &gamebar));
    ck_assert(!holds("Text;Format!=x", &gamebar));
    ck_assert(holds("Text;!Format", &gamebar));
    ck_assert(!holds("Video;Format?", &untagged));

    RxFilterMiss m = why_not("Audio;SamplingRate>48000", &gamebar);
    ck_assert_str_eq(m.why, "Audio SamplingRate is '44100', '48000' (want > 48000)");
    ck_assert_str_eq(m.actual, "44100");
    ck_assert_int_eq(m.present, 1);
    m = why_not("Audio;Language=fr", &gamebar);
    ck_assert_str_eq(m.why, "Audio Language is absent, 'en' (want 'fr')");
    ck_assert_str_eq(m.actual, "en");
    m = why_not("Audio;!Language", &gamebar);
    ck_assert_str_eq(m.why, "Audio Language is absent, 'en' (want absent)");
    m = why_not("Text;Format=x", &gamebar);
    ck_assert_str_eq(m.why, "no Text stream");
    ck_assert_int_eq(m.present, 0);
    m = why_not("Video;Rotation?", &gamebar);
    ck_assert_str_eq(m.why, "Video Rotation absent");
}
END_TEST

START_TEST(test_explanations)
{
    RxFilterMiss m = why_not("Title~=Firefox", &gamebar);
    ck_assert_str_eq(m.why, "Title is 'Google Chrome' (want containing 'Firefox')");
    m = why_not("Performer!=Microsoft Game DVR", &gamebar);
    ck_assert_str_eq(m.why, "Performer is 'Microsoft Game DVR' (want not 'Microsoft Game DVR')");
    m = why_not("Duration<60000", &gamebar);
    ck_assert_str_eq(m.why, "Duration is '61000' (want < 60000)");
    m = why_not("Format<=ABC", &gamebar);
    ck_assert_str_eq(m.why, "Format is 'MPEG-4' (want <= 'ABC')");
    m = why_not("!Title", &gamebar);
    ck_assert_str_eq(m.why, "Title is 'Google Chrome' (want absent)");
    m = why_not("Title?", &obs);
    ck_assert_str_eq(m.why, "Title absent");

    /* Several conditions: the first that fails is reported, by index. */
    const char *exprs[] = {"Video;Format=AVC", "Duration>=60000", "Title~=Firefox"};
    RxFilter *f = NULL;
    ck_assert_int_eq(rx_filter_compile(&f, exprs, 3, 0, NULL), 0);
    ck_assert_uint_eq(rx_filter_count(f), 3);
    RxFields a = fake_fields(&gamebar);
    ck_assert_int_eq(rx_filter_match(f, &a, &m), 0);
    ck_assert_uint_eq(m.index, 2);
    ck_assert_str_eq(rx_filter_text(f, m.index), "Title~=Firefox");
    rx_filter_free(&f);

    /* Values from files: control bytes never reach the line; long ones are cut. */
    char longv[2000];
    memset(longv, 'x', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    const FakeField odd_fields[] = {{RX_STREAM_GENERAL, 0, "Performer", "a\nb\x1b[31m"},
                                    {RX_STREAM_GENERAL, 0, "Title", longv}};
    const Fake odd = {{1, 0, 0, 0, 0, 0, 0}, odd_fields, 2};
    m = why_not("Performer=x", &odd);
    ck_assert_str_eq(m.why, "Performer is 'a?b?[31m' (want 'x')");
    ck_assert_str_eq(m.actual, "a?b?[31m");
    m = why_not("Title=x", &odd);
    ck_assert_uint_eq(strlen(m.why), sizeof(m.why) - 1);
    ck_assert_str_eq(m.why + sizeof(m.why) - 4, "...");
    ck_assert_uint_eq(strlen(m.actual), sizeof(m.actual) - 1);
}
END_TEST

START_TEST(test_quoting)
{
    const FakeField f[] = {{RX_STREAM_GENERAL, 0, "Title", "  padded "},
                           {RX_STREAM_GENERAL, 0, "Comment", "=a\"b\\c"}};
    const Fake file = {{1, 0, 0, 0, 0, 0, 0}, f, 2};
    ck_assert(holds("Title=\"  padded \"", &file));
    ck_assert(!holds("Title=padded", &file)); /* unquoted values are trimmed */
    ck_assert(holds("Title~=padded", &file));
    ck_assert(holds("Comment=\"=a\\\"b\\\\c\"", &file));
    ck_assert(holds("Comment~=a\"b", &file)); /* quotes inside an unquoted value are literal */
    ck_assert(holds("Title = \"  padded \"  ", &file));
}
END_TEST

START_TEST(test_all_mode)
{
    RxFilter *f = NULL;
    RxFilterMiss m;
    RxFields a = fake_fields(&gamebar), b = fake_fields(&obs), c = fake_fields(&untagged);

    ck_assert_int_eq(rx_filter_compile(&f, NULL, 0, RX_FILTER_ALL, NULL), 0);
    ck_assert_uint_eq(rx_filter_count(f), 1); /* no default Performer test */
    ck_assert_str_eq(rx_filter_text(f, 0), "has a Video stream");
    ck_assert_int_eq(rx_filter_match(f, &a, &m), 1);
    ck_assert_int_eq(rx_filter_match(f, &b, &m), 1);
    ck_assert_int_eq(rx_filter_match(f, &c, &m), 0);
    ck_assert_str_eq(m.why, "no Video stream");
    size_t n = 99;
    rx_filter_fields(f, &n);
    ck_assert_uint_eq(n, 0);
    rx_filter_free(&f);

    const char *e = "Duration>=60000";
    ck_assert_int_eq(rx_filter_compile(&f, &e, 1, RX_FILTER_ALL, NULL), 0);
    ck_assert_uint_eq(rx_filter_count(f), 2);
    ck_assert_int_eq(rx_filter_match(f, &a, &m), 1);
    ck_assert_int_eq(rx_filter_match(f, &b, &m), 0); /* has video, no Duration */
    ck_assert_uint_eq(m.index, 1);
    ck_assert_str_eq(m.why, "Duration absent");
    rx_filter_free(&f);
}
END_TEST

START_TEST(test_fields)
{
    const char *exprs[] = {"Performer=x",  "Video;Format=AVC", "Audio;Format=AAC",
                           "Performer~=y", "video;Format?",    "!Title"};
    RxFilter *f = NULL;
    size_t n = 0;
    ck_assert_int_eq(rx_filter_compile(&f, exprs, 6, 0, NULL), 0);
    const RxFieldRef *refs = rx_filter_fields(f, &n);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(refs[0].kind, RX_STREAM_GENERAL);
    ck_assert_str_eq(refs[0].name, "Performer");
    ck_assert_int_eq(refs[1].kind, RX_STREAM_VIDEO);
    ck_assert_str_eq(refs[1].name, "Format");
    ck_assert_int_eq(refs[2].kind, RX_STREAM_AUDIO);
    ck_assert_str_eq(refs[2].name, "Format");
    ck_assert_int_eq(refs[3].kind, RX_STREAM_GENERAL);
    ck_assert_str_eq(refs[3].name, "Title");
    rx_filter_free(&f);
}
END_TEST

/* Each malformed expression with the offset (byte and character) of the
 * character the caret must point at and a piece of the message. */
static const struct {
    const char *expr;
    size_t offset, column;
    const char *message;
} bad[] = {
    {"", 0, 0, "empty expression"},
    {"   ", 3, 3, "empty expression"},
    {"Performer", 9, 9, "missing operator"},
    {"Performer Microsoft", 10, 10, "expected an operator after 'Performer', found 'M'"},
    {"=x", 0, 0, "missing field name before '='"},
    {";Format=AVC", 0, 0, "missing stream kind before ';'"},
    {"Vdeo;Format=AVC", 0, 0, "unknown stream kind 'Vdeo'"},
    {"Video;Audio;Format=AVC", 11, 11, "one stream kind at most"},
    {"Video;", 6, 6, "missing field name"},
    {"Title~Chrome", 6, 6, "expected '=' after '~'"},
    {"Title!Chrome", 6, 6, "expected '=' after '!'"},
    {"Title?x", 6, 6, "unexpected text after '?'"},
    {"Title? ?", 7, 7, "unexpected text after '?'"},
    {"Title=", 6, 6, "missing value"},
    {"Title=   ", 9, 9, "missing value"},
    {"Title=\"\"", 6, 6, "missing value"},
    {"Title==x", 6, 6, "value starts with '='"},
    {"Duration>==5", 10, 10, "value starts with '='"},
    {"Duration>>5", 9, 9, "value starts with '>'"},
    {"Title=\"abc", 6, 6, "unterminated quote"},
    {"Title=\"abc\" d", 12, 12, "unexpected text after the closing quote"},
    {"!Title=x", 6, 6, "to compare, write Title!="},
    {"!Video;Rotation", 6, 6, "the stream kind comes first"},
    {"!Title x", 7, 7, "unexpected 'x' after !Title"},
    {"!", 1, 1, "missing field name"},
    {"Tïtle~x", 7, 6, "expected '=' after '~'"},
    {"日本;Format=x", 0, 0, "unknown stream kind '日本'"},
    {"Video;日本 x", 13, 9, "expected an operator"},
};

START_TEST(test_invalid)
{
    RxFilterError err;
    RxFilter *f = (RxFilter *)&err; /* must stay untouched on error */
    const char *e = bad[_i].expr;

    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(rx_filter_compile(&f, &e, 1, 0, &err), AVERROR(EINVAL));
    ck_assert_ptr_eq(f, (RxFilter *)&err);
    ck_assert_msg(err.offset == bad[_i].offset, "'%s': offset %zu, want %zu (%s)", e, err.offset,
                  bad[_i].offset, err.message);
    ck_assert_msg(err.column == bad[_i].column, "'%s': column %zu, want %zu", e, err.column,
                  bad[_i].column);
    ck_assert_msg(strstr(err.message, bad[_i].message) != NULL, "'%s': message '%s' lacks '%s'", e,
                  err.message, bad[_i].message);
    ck_assert_uint_eq(err.index, 0);
}
END_TEST

START_TEST(test_invalid_index)
{
    const char *exprs[] = {"Performer=x", "Video;Format=AVC", "Audio;Rate>>1"};
    RxFilterError err;
    RxFilter *f = NULL;
    ck_assert_int_eq(rx_filter_compile(&f, exprs, 3, 0, &err), AVERROR(EINVAL));
    ck_assert_ptr_null(f);
    ck_assert_uint_eq(err.index, 2);
    ck_assert_uint_eq(err.offset, 11);
    /* err is optional. */
    ck_assert_int_eq(rx_filter_compile(&f, exprs + 2, 1, 0, NULL), AVERROR(EINVAL));
    ck_assert_ptr_null(f);
}
END_TEST

static Suite *filter_suite(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_default_filter);
    tcase_add_test(tc, test_operators_string);
    tcase_add_test(tc, test_operators_numeric);
    tcase_add_test(tc, test_kinds_and_any_stream);
    tcase_add_test(tc, test_explanations);
    tcase_add_test(tc, test_quoting);
    tcase_add_test(tc, test_all_mode);
    tcase_add_test(tc, test_fields);
    tcase_add_loop_test(tc, test_invalid, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, test_invalid_index);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return rx_check_run(filter_suite());
}
