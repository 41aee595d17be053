/*
 * check_progress.c - the batch reporter: TTY redraw rate and in-place erase
 * (judged on a tiny VT100 that applies the output to a screen), colours and
 * NO_COLOR, PLAIN line cadence, NDJSON validity (a strict parser below),
 * the log file's timestamps, the stats file, concurrent workers.
 *
 * The reporter writes into an unlinked temporary file; tests read it back.
 * Time comes from a fake clock the test sets, so every cadence is exact.
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/error.h>

#include "checkrun.h"
#include "reencode/progress.h"
#include "core/text.h"

/* ---- plumbing ---- */

static int capture_fd(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[PATH_MAX];
    int fd;

    snprintf(path, sizeof(path), "%s/check_progress.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    return fd;
}

/* Everything written to fd so far, NUL-terminated; free() it. */
static char *captured(int fd, size_t *len)
{
    off_t end = lseek(fd, 0, SEEK_END);
    char *buf;

    ck_assert_int_ge(end, 0);
    buf = malloc((size_t)end + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(pread(fd, buf, (size_t)end, 0), end);
    buf[end] = '\0';
    if (len)
        *len = (size_t)end;
    return buf;
}

static off_t out_size(int fd)
{
    return lseek(fd, 0, SEEK_END);
}

static char *read_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    char *s;

    ck_assert_msg(fd >= 0, "cannot open '%s'", path);
    s = captured(fd, NULL);
    close(fd);
    return s;
}

static double fake_clock(void *opaque)
{
    return *(double *)opaque;
}

static RxReporterOptions options(RxReportMode mode, int fd, double *clk)
{
    RxReporterOptions o;

    rx_reporter_options_default(&o);
    o.mode = mode;
    o.fd = fd;
    o.color = 0;
    o.clock = fake_clock;
    o.clock_opaque = clk;
    return o;
}

static RxResult result(RxState state, int64_t in, int64_t out, double wall, const char *error)
{
    RxResult res;

    rx_result_init(&res);
    res.state = state;
    res.in_bytes = in;
    res.out_bytes = out;
    res.in_duration_us = 10000000;
    res.video_duration_us = 10000000;
    res.wall_seconds = wall;
    if (error) {
        snprintf(res.error, sizeof(res.error), "%s", error);
        res.err = AVERROR_INVALIDDATA;
    }
    return res;
}

static RxProgress progress(int64_t frames, int64_t media_us, int64_t total_us, int64_t bytes)
{
    RxProgress p = {frames, media_us, total_us, bytes};
    return p;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Lines of s starting with prefix. */
static size_t count_prefix(const char *s, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);

    while (*s) {
        const char *nl = strchr(s, '\n');
        if (!strncmp(s, prefix, len))
            n++;
        if (!nl)
            break;
        s = nl + 1;
    }
    return n;
}

/* ---- a tiny VT100: \r, \n (the tty's onlcr makes it CR LF), ESC[K,
 * ESC[nA, SGR ignored, deferred auto-wrap at `width` columns. A row is kept
 * as bytes; `col` is the byte position in it, `vcol` the display column
 * (a UTF-8 sequence from 0xe0 up counts 2, as the CJK names here are). ---- */

#define ROWS 1200
#define COLS 600

typedef struct Screen {
    char cell[ROWS][COLS + 1];
    int row, col, vcol, width;
} Screen;

static Screen *screen_new(int width)
{
    Screen *sc = calloc(1, sizeof(*sc));
    ck_assert_ptr_nonnull(sc);
    sc->width = width;
    return sc;
}

static void screen_feed(Screen *sc, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\033') {
            int num = 0, has = 0;
            ck_assert_msg(i + 2 < n && s[i + 1] == '[', "bare ESC at %zu", i);
            for (i += 2; i < n && (isdigit((unsigned char)s[i]) || s[i] == ';'); i++) {
                if (s[i] != ';') {
                    num = num * 10 + (s[i] - '0');
                    has = 1;
                }
            }
            ck_assert_msg(i < n, "cut escape sequence");
            switch (s[i]) {
            case 'K':
                memset(&sc->cell[sc->row][sc->col], 0, (size_t)(COLS + 1 - sc->col));
                break;
            case 'A':
                /* The reporter only moves up from the first column. */
                ck_assert_int_eq(sc->col, 0);
                sc->row -= has ? num : 1;
                if (sc->row < 0)
                    sc->row = 0;
                break;
            case 'm':
                break;
            default:
                ck_abort_msg("unexpected escape sequence ending in '%c'", s[i]);
            }
        } else if (c == '\r') {
            sc->col = sc->vcol = 0;
        } else if (c == '\n') {
            sc->row++;
            sc->col = sc->vcol = 0;
            ck_assert_int_lt(sc->row, ROWS);
        } else {
            int w = c < 0x80 ? 1 : c < 0xc0 ? 0 : c < 0xe0 ? 1 : 2;
            /* A raw control byte means a name or message went out unescaped. */
            ck_assert_msg(c >= 0x20 && c != 0x7f, "control byte 0x%02x in output", c);
            if (w && sc->vcol + w > sc->width) { /* deferred wrap, as terminals do */
                sc->row++;
                sc->col = sc->vcol = 0;
                ck_assert_int_lt(sc->row, ROWS);
            }
            ck_assert_int_lt(sc->col, COLS);
            for (int k = 0; k < sc->col; k++)
                if (!sc->cell[sc->row][k])
                    sc->cell[sc->row][k] = ' ';
            sc->cell[sc->row][sc->col++] = (char)c;
            sc->vcol += w;
        }
    }
}

/* The screen as fd's whole output leaves it. */
static Screen *screen_of(int fd, int width)
{
    size_t len;
    char *out = captured(fd, &len);
    Screen *sc = screen_new(width);

    screen_feed(sc, out, len);
    free(out);
    return sc;
}

static const char *row(const Screen *sc, int i)
{
    return sc->cell[i];
}

/* Display columns of a row, counted as the screen counts them. */
static size_t row_cols(const Screen *sc, int i)
{
    size_t cols = 0;

    for (const unsigned char *p = (const unsigned char *)sc->cell[i]; *p; p++)
        cols += *p < 0x80 ? 1 : *p < 0xc0 ? 0 : *p < 0xe0 ? 1 : 2;
    return cols;
}

/* Rows with something on them; they must be contiguous from the top. */
static int used_rows(const Screen *sc)
{
    int n = 0;
    while (n < ROWS && sc->cell[n][0])
        n++;
    for (int i = n; i < ROWS; i++)
        ck_assert_msg(!sc->cell[i][0], "row %d left over: '%s'", i, sc->cell[i]);
    return n;
}

static int screen_has(const Screen *sc, const char *needle)
{
    for (int i = 0; i < ROWS; i++)
        if (strstr(sc->cell[i], needle))
            return 1;
    return 0;
}

/* ---- a strict JSON checker (RFC 8259 grammar, no extensions) ---- */

typedef struct J {
    const char *p, *e;
} J;

static int j_value(J *j, int depth);

static void j_ws(J *j)
{
    while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int j_string(J *j)
{
    if (j->p >= j->e || *j->p != '"')
        return -1;
    j->p++;
    while (j->p < j->e) {
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"')
            return 0;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (j->p >= j->e)
                return -1;
            c = (unsigned char)*j->p++;
            if (c == 'u') {
                for (int k = 0; k < 4; k++, j->p++)
                    if (j->p >= j->e || !isxdigit((unsigned char)*j->p))
                        return -1;
            } else if (!strchr("\"\\/bfnrt", c) || !c) {
                return -1;
            }
        }
    }
    return -1;
}

static int j_digits(J *j)
{
    const char *s = j->p;
    while (j->p < j->e && isdigit((unsigned char)*j->p))
        j->p++;
    return j->p > s ? 0 : -1;
}

static int j_number(J *j)
{
    if (j->p < j->e && *j->p == '-')
        j->p++;
    if (j->p < j->e && *j->p == '0')
        j->p++;
    else if (j->p >= j->e || *j->p < '1' || *j->p > '9' || j_digits(j) < 0)
        return -1;
    if (j->p < j->e && *j->p == '.') {
        j->p++;
        if (j_digits(j) < 0)
            return -1;
    }
    if (j->p < j->e && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->e && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j_digits(j) < 0)
            return -1;
    }
    return 0;
}

static int j_literal(J *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->e - j->p) < n || memcmp(j->p, lit, n))
        return -1;
    j->p += n;
    return 0;
}

/* With key, val and vlen get the raw text of that member of this object. */
static int j_object(J *j, int depth, const char *key, const char **val, size_t *vlen)
{
    j->p++; /* '{' */
    j_ws(j);
    if (j->p < j->e && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        const char *k = j->p, *v;
        j_ws(j);
        k = j->p;
        if (j_string(j) < 0)
            return -1;
        j_ws(j);
        if (j->p >= j->e || *j->p++ != ':')
            return -1;
        j_ws(j);
        v = j->p;
        if (j_value(j, depth + 1) < 0)
            return -1;
        if (key && (size_t)(v - k) >= strlen(key) + 2 && !strncmp(k + 1, key, strlen(key)) &&
            k[strlen(key) + 1] == '"') {
            *val = v;
            *vlen = (size_t)(j->p - v);
        }
        j_ws(j);
        if (j->p < j->e && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->e && *j->p == '}') {
            j->p++;
            return 0;
        }
        return -1;
    }
}

static int j_array(J *j, int depth)
{
    j->p++; /* '[' */
    j_ws(j);
    if (j->p < j->e && *j->p == ']') {
        j->p++;
        return 0;
    }
    for (;;) {
        if (j_value(j, depth + 1) < 0)
            return -1;
        j_ws(j);
        if (j->p < j->e && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->e && *j->p == ']') {
            j->p++;
            return 0;
        }
        return -1;
    }
}

static int j_value(J *j, int depth)
{
    j_ws(j);
    if (depth > 32 || j->p >= j->e)
        return -1;
    switch (*j->p) {
    case '{':
        return j_object(j, depth, NULL, NULL, NULL);
    case '[':
        return j_array(j, depth);
    case '"':
        return j_string(j);
    case 't':
        return j_literal(j, "true");
    case 'f':
        return j_literal(j, "false");
    case 'n':
        return j_literal(j, "null");
    default:
        return j_number(j);
    }
}

/*
 * s[0..n) must be exactly one JSON object (whitespace around allowed) in
 * valid UTF-8. Returns -1 when it is not; else 0, and with key, copies the
 * raw text of that top-level member into out ("" when absent).
 */
static int json_object(const char *s, size_t n, const char *key, char *out, size_t size)
{
    J j = {s, s + n};
    const char *val = NULL;
    size_t vlen = 0;
    char *copy;
    int valid;

    copy = strndup(s, n);
    ck_assert_ptr_nonnull(copy);
    valid = rx_utf8_valid(copy);
    free(copy);
    if (!valid)
        return -1;
    j_ws(&j);
    if (j.p >= j.e || *j.p != '{' || j_object(&j, 0, key, &val, &vlen) < 0)
        return -1;
    j_ws(&j);
    if (j.p != j.e)
        return -1;
    if (key) {
        vlen = vlen < size - 1 ? vlen : size - 1;
        memcpy(out, val ? val : "", val ? vlen : 0);
        out[val ? vlen : 0] = '\0';
    }
    return 0;
}

/* The raw value of key in the object on line s (one line, no '\n'). */
static const char *jget(const char *s, size_t n, const char *key)
{
    static char buf[1024];
    ck_assert_int_eq(json_object(s, n, key, buf, sizeof(buf)), 0);
    return buf;
}

START_TEST(json_checker_is_strict)
{
    /* The checker must be able to fail, or the JSON tests prove nothing. */
    static const char *bad[] = {
        "{\"a\":1,}",      "{\"a\":01}",  "{\"a\":\"x\ny\"}", "{\"a\":1} x",      "{'a':1}",
        "{\"a\":\"\\q\"}", "[1]",         "{\"a\":1.}",       "{\"a\":\"\xff\"}", "{\"a\":nul}",
        "{\"a\" 1}",       "{\"a\":\"x}",
    };
    static const char *good[] = {
        "{}",
        "{\"a\":-0.5e+3,\"b\":[true,false,null],\"c\":{\"d\":\"\\u00e9\\n\"}}",
    };
    char out[64];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(json_object(bad[i], strlen(bad[i]), NULL, NULL, 0) < 0, "accepted %s",
                      bad[i]);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(json_object(good[i], strlen(good[i]), NULL, NULL, 0) == 0, "refused %s",
                      good[i]);
    ck_assert_int_eq(json_object(good[1], strlen(good[1]), "b", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "[true,false,null]");
}
END_TEST

/* ---- TTY ---- */

START_TEST(tty_redraw_is_rate_limited)
{
    double clk = 0;
    int fd = capture_fd();
    RxReporterOptions o = options(RX_REPORT_TTY, fd, &clk);
    RxReporter *r;
    RxProgress p = progress(120, 4000000, 10000000, 1048576);
    Screen *sc;
    off_t n;

    o.files_total = 1;
    o.media_us_total = 10000000;
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    ck_assert_int_eq(out_size(fd), 0); /* nothing before the first start */
    rx_reporter_start(r, 0, "a.mp4", 5000000, 10000000);
    n = out_size(fd);
    ck_assert_int_gt(n, 0); /* the block appears at once */

    clk = 2.0; /* first progress, long after the start's draw: drawn */
    rx_reporter_progress(r, 0, &p);
    ck_assert_int_gt(out_size(fd), n);
    n = out_size(fd);
    sc = screen_of(fd, 80);
    ck_assert_int_eq(used_rows(sc), 2);
    ck_assert_ptr_nonnull(strstr(row(sc, 0), "40.0%"));
    ck_assert_ptr_nonnull(strstr(row(sc, 0), " 60 fps"));
    ck_assert_ptr_nonnull(strstr(row(sc, 0), "2.0x"));
    ck_assert_ptr_nonnull(strstr(row(sc, 0), "1.0 MiB"));
    ck_assert_ptr_nonnull(strstr(row(sc, 0), "ETA 0:00:03")); /* 6 s of media at 2x */
    ck_assert_ptr_nonnull(strstr(row(sc, 0), "a.mp4"));
    ck_assert_ptr_nonnull(strstr(row(sc, 1), "0/1 done"));
    ck_assert_ptr_nonnull(strstr(row(sc, 1), "elapsed 0:00:02"));
    ck_assert_ptr_nonnull(strstr(row(sc, 1), "ETA 0:00:03"));
    free(sc);

    clk = 2.1;
    rx_reporter_progress(r, 0, &p);
    clk = 2.249;
    rx_reporter_progress(r, 0, &p);
    ck_assert_int_eq(out_size(fd), n); /* within 0.25 s: nothing */
    clk = 2.25;
    p.media_us = 4500000;
    rx_reporter_progress(r, 0, &p);
    ck_assert_int_gt(out_size(fd), n);
    sc = screen_of(fd, 80);
    ck_assert_int_eq(used_rows(sc), 2); /* redrawn in place, not below */
    ck_assert_ptr_nonnull(strstr(row(sc, 0), "45.0%"));
    free(sc);

    rx_reporter_free(&r);
    ck_assert_ptr_null(r);
    sc = screen_of(fd, 80);
    ck_assert_int_eq(used_rows(sc), 0); /* free erased the block */
    ck_assert_int_eq(sc->row, 0);
    free(sc);
    close(fd);
}
END_TEST

START_TEST(tty_events_go_above_the_block)
{
    double clk = 0;
    int fd = capture_fd();
    RxReporterOptions o = options(RX_REPORT_TTY, fd, &clk);
    RxReporter *r;
    RxResult res;
    Screen *sc;
    const char *names[] = {"a.mp4", "b.mp4", "c.mp4"};

    o.files_total = 3;
    o.media_us_total = 30000000;
    o.slots = 3;
    o.width = 100;
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    for (int i = 0; i < 3; i++)
        rx_reporter_start(r, i, names[i], 1000000, 10000000);
    clk = 1.0;
    for (int i = 0; i < 3; i++) {
        RxProgress p = progress(30, 2000000, 10000000, 1000);
        clk += 0.3; /* each call past the rate limit */
        rx_reporter_progress(r, i, &p);
    }
    sc = screen_of(fd, 100);
    ck_assert_int_eq(used_rows(sc), 4);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(strstr(row(sc, i), names[i]), "row %d: '%s'", i, row(sc, i));
    ck_assert_ptr_nonnull(strstr(row(sc, 3), "0/3 done"));
    /* 6 s encoded in 1.9 s: 3.16x; 24 s left -> 7.6 s */
    ck_assert_ptr_nonnull(strstr(row(sc, 3), "ETA 0:00:08"));
    free(sc);

    clk = 2.0;
    res = result(RX_STATE_DONE, 1000000, 250000, 2.0, NULL);
    rx_reporter_finish(r, 0, "a.mp4", &res, "renamed");
    sc = screen_of(fd, 100);
    ck_assert_int_eq(used_rows(sc), 4);
    ck_assert_msg(!strncmp(row(sc, 0), "done ", 5), "row 0: '%s'", row(sc, 0));
    ck_assert_ptr_nonnull(strstr(row(sc, 0), "977 KiB -> 244 KiB (-75.0%)"));
    ck_assert_ptr_nonnull(strstr(row(sc, 0), "original renamed  a.mp4"));
    ck_assert_ptr_nonnull(strstr(row(sc, 1), "b.mp4"));
    ck_assert_ptr_nonnull(strstr(row(sc, 2), "c.mp4"));
    ck_assert_ptr_nonnull(strstr(row(sc, 3), "1/3 done  saved 732 KiB"));
    ck_assert_int_eq(sc->row, 3);
    free(sc);

    res = result(RX_STATE_FAILED, 1000000, 0, 1.0, "cannot decode 'b.mp4': Invalid data");
    rx_reporter_finish(r, 1, "b.mp4", &res, NULL);
    rx_reporter_note(r, RX_LOG_WARN, "disk %s is %d%% full", "/data", 95);
    res = result(RX_STATE_SKIPPED, 1000000, 1200000, 1.0, NULL);
    rx_reporter_finish(r, 2, "c.mp4", &res, NULL);
    sc = screen_of(fd, 100);
    ck_assert_int_eq(used_rows(sc), 5); /* 4 permanent lines and the overall line */
    ck_assert_str_eq(row(sc, 1), "failed      cannot decode 'b.mp4': Invalid data");
    ck_assert_str_eq(row(sc, 2), "warning: disk /data is 95% full");
    ck_assert_ptr_nonnull(strstr(row(sc, 3), "skipped"));
    ck_assert_ptr_nonnull(strstr(row(sc, 4), "3/3 done, 1 failed, 1 skipped"));
    free(sc);

    clk = 10.0;
    ck_assert_int_eq(rx_reporter_summary(r), 0);
    sc = screen_of(fd, 100); /* the summary took the block away for good */
    ck_assert_int_eq(used_rows(sc), 7);
    ck_assert(!screen_has(sc, "/3 done"));
    free(sc);
    rx_reporter_note(r, RX_LOG_INFO, "late");
    sc = screen_of(fd, 100);
    ck_assert_int_eq(used_rows(sc), 8);
    ck_assert_str_eq(row(sc, 7), "late");
    free(sc);
    rx_reporter_free(&r);
    sc = screen_of(fd, 100);
    ck_assert_int_eq(used_rows(sc), 8); /* 4 events, the 3-line summary, a note */
    ck_assert_str_eq(row(sc, 4), "summary     1 processed, 1 failed, 1 skipped, 0 interrupted "
                                 "of 3 files (66.7% succeeded)");
    ck_assert_str_eq(row(sc, 5), "            977 KiB -> 244 KiB, saved 732 KiB (75.0%)");
    ck_assert_str_eq(row(sc, 6), "            wall time 0:00:10, 0:00:01 per file");
    ck_assert(!screen_has(sc, "/3 done"));
    ck_assert(!screen_has(sc, "ETA"));
    ck_assert_int_eq(sc->row, 8);
    ck_assert_int_eq(sc->col, 0);
    free(sc);
    close(fd);
}
END_TEST

START_TEST(tty_names_fit_and_are_escaped)
{
    static const char long_name[] = "very/long/directory/name/that/goes/on/recording-2024.mp4";
    double clk = 0;
    int fd = capture_fd();
    RxReporterOptions o = options(RX_REPORT_TTY, fd, &clk);
    RxReporter *r;
    RxResult res;
    Screen *sc;

    char wide_name[128] = "";

    for (int i = 0; i < 15; i++) /* 録画 x 15: 60 columns */
        strcat(wide_name, "\xe9\x8c\xb2\xe7\x94\xbb");
    strcat(wide_name, "-end.mp4");
    o.width = 60;
    o.slots = 3;
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    rx_reporter_start(r, 0, long_name, 1, 10000000);
    rx_reporter_start(r, 1, "x\ny\033[31m.mp4", 1, 10000000);
    rx_reporter_start(r, 2, wide_name, 1, 10000000);
    sc = screen_of(fd, 60);
    ck_assert_int_eq(used_rows(sc), 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(row_cols(sc, i) < 60, "row %d too wide: '%s'", i, row(sc, i));
        ck_assert(rx_utf8_valid(row(sc, i))); /* never cut inside a character */
    }
    ck_assert_ptr_nonnull(strstr(row(sc, 0), "  ..."));
    ck_assert_ptr_nonnull(strstr(row(sc, 0), "on/recording-2024.mp4"));
    ck_assert_ptr_null(strstr(row(sc, 0), "very/"));
    ck_assert_ptr_nonnull(strstr(row(sc, 1), "x\\ny\\x1b[31m.mp4"));
    /* 30 wide characters and "-end.mp4" need 68 columns: shortened by
     * columns (2 per wide character), not by bytes or code points. */
    ck_assert_ptr_nonnull(strstr(row(sc, 2), "..."));
    ck_assert_ptr_nonnull(strstr(row(sc, 2), "\xe7\x94\xbb-end.mp4"));
    ck_assert_uint_ge(row_cols(sc, 2), 58); /* and not shorter than it must be */
    free(sc);

    /* A finished line is permanent and may be long; it still is one line. */
    res = result(RX_STATE_FAILED, 1, 0, 1.0, "cannot open 'x\ny': No such file");
    rx_reporter_finish(r, 1, "x\ny\033[31m.mp4", &res, NULL);
    rx_reporter_free(&r);
    sc = screen_of(fd, 60);
    ck_assert_int_eq(used_rows(sc), 1);
    ck_assert_str_eq(row(sc, 0), "failed      cannot open 'x\\ny': No such file");
    free(sc);
    close(fd);
}
END_TEST

/* The finish lines of one done and one failed file, and a warning. */
static char *coloured_output(RxReportMode mode, int color, const char *no_color)
{
    double clk = 0;
    int fd = capture_fd();
    RxReporterOptions o = options(mode, fd, &clk);
    RxReporter *r;
    RxResult res;
    char *out;

    o.color = color;
    o.no_color = no_color;
    o.slots = 2;
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    rx_reporter_start(r, 0, "a.mp4", 100, 1000000);
    rx_reporter_start(r, 1, "b.mp4", 100, 1000000);
    res = result(RX_STATE_DONE, 100, 50, 1.0, NULL);
    rx_reporter_finish(r, 0, "a.mp4", &res, NULL);
    res = result(RX_STATE_FAILED, 100, 0, 1.0, "cannot open 'b.mp4': boom");
    rx_reporter_finish(r, 1, "b.mp4", &res, NULL);
    rx_reporter_note(r, RX_LOG_WARN, "careful");
    rx_reporter_free(&r);
    out = captured(fd, NULL);
    close(fd);
    return out;
}

START_TEST(colours_only_on_tty_without_no_color)
{
    char *out;

    out = coloured_output(RX_REPORT_TTY, 1, NULL);
    ck_assert_ptr_nonnull(strstr(out, "\033[32mdone\033[0m"));
    ck_assert_ptr_nonnull(strstr(out, "\033[31mfailed\033[0m"));
    ck_assert_ptr_nonnull(strstr(out, "\033[33mwarning:\033[0m"));
    free(out);

    out = coloured_output(RX_REPORT_TTY, 1, ""); /* set but empty: ignored */
    ck_assert_ptr_nonnull(strstr(out, "\033[32m"));
    free(out);

    out = coloured_output(RX_REPORT_TTY, 1, "1");
    ck_assert_ptr_null(strstr(out, "\033[3"));
    ck_assert_ptr_nonnull(strstr(out, "done"));
    free(out);

    out = coloured_output(RX_REPORT_TTY, 0, NULL);
    ck_assert_ptr_null(strstr(out, "\033[3"));
    free(out);

    out = coloured_output(RX_REPORT_PLAIN, 1, NULL);
    ck_assert_ptr_null(strchr(out, '\033')); /* no escapes of any kind */
    free(out);
}
END_TEST

/* ---- PLAIN ---- */

START_TEST(plain_one_line_per_event)
{
    double clk = 0;
    int fd = capture_fd();
    RxReporterOptions o = options(RX_REPORT_PLAIN, fd, &clk);
    RxReporter *r;
    RxResult res;
    RxProgress p = progress(100, 1000000, 100000000, 4096);
    static const double at[] = {1, 5, 9.99, 10, 15, 19.9, 20.5, 25};
    char *out;
    off_t n;

    o.files_total = 2;
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    rx_reporter_start(r, 0, "dir/a b.mp4", 2000000, 100000000);
    n = out_size(fd);
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        clk = at[i];
        p.media_us = (int64_t)(at[i] * 4e6);
        rx_reporter_progress(r, 0, &p);
        /* lines at 10 and 20.5 only: 10 s apart at most once */
        ck_assert_int_eq(out_size(fd) > n, at[i] == 10 || at[i] == 20.5);
        n = out_size(fd);
    }
    clk = 26;
    res = result(RX_STATE_DONE, 2000000, 500000, 26, NULL);
    rx_reporter_finish(r, 0, "dir/a b.mp4", &res, "deleted");
    rx_reporter_finish(r, -1, "never.mp4", &(RxResult){.state = RX_STATE_INTERRUPTED}, NULL);
    ck_assert_int_eq(rx_reporter_summary(r), 0);
    rx_reporter_free(&r);

    out = captured(fd, NULL);
    ck_assert_ptr_null(strchr(out, '\033'));
    ck_assert_int_eq(count_lines(out), 9);
    ck_assert_int_eq(count_prefix(out, "start       1.9 MiB  0:01:40  dir/a b.mp4\n"), 1);
    ck_assert_int_eq(count_prefix(out, "progress     40.0%"), 1); /* at 10 s: 40 of 100 s */
    ck_assert_int_eq(count_prefix(out, "progress     82.0%"), 1);
    ck_assert_int_eq(count_prefix(out, "done        1.9 MiB -> 488 KiB (-75.0%)  0:00:10 in "
                                       "0:00:26  dir/a b.mp4\n"),
                     1);
    ck_assert_int_eq(count_prefix(out, "original    deleted  dir/a b.mp4\n"), 1);
    ck_assert_int_eq(count_prefix(out, "interrupted never.mp4\n"), 1);
    ck_assert_int_eq(count_prefix(out, "summary     1 processed, 0 failed, 0 skipped, 1 "
                                       "interrupted of 2 files (100.0% succeeded)\n"),
                     1);
    /* the order of events */
    ck_assert_ptr_nonnull(strstr(out, "start "));
    ck_assert(strstr(out, "start ") < strstr(out, "progress "));
    ck_assert(strstr(out, "progress ") < strstr(out, "done "));
    ck_assert(strstr(out, "done ") < strstr(out, "original "));
    ck_assert(strstr(out, "original ") < strstr(out, "summary "));
    free(out);
    close(fd);
}
END_TEST

START_TEST(quiet_shows_failures_only)
{
    double clk = 0;
    int fd = capture_fd();
    RxReporterOptions o = options(RX_REPORT_QUIET, fd, &clk);
    RxReporter *r;
    RxResult res;
    RxProgress p = progress(1, 1, 2, 3);
    char *out;

    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    rx_reporter_start(r, 0, "a.mp4", 1, 1);
    clk = 100;
    rx_reporter_progress(r, 0, &p);
    res = result(RX_STATE_DONE, 10, 5, 1, NULL);
    rx_reporter_finish(r, 0, "a.mp4", &res, "kept");
    res = result(RX_STATE_FAILED, 10, 0, 1, "cannot open 'b.mp4': gone");
    rx_reporter_finish(r, -1, "b.mp4", &res, NULL);
    res = result(RX_STATE_SKIPPED, 10, 20, 1, NULL);
    rx_reporter_finish(r, -1, "c.mp4", &res, NULL);
    rx_reporter_note(r, RX_LOG_WARN, "a warning");
    rx_reporter_note(r, RX_LOG_ERROR, "an error");
    ck_assert_int_eq(rx_reporter_summary(r), 0);
    rx_reporter_free(&r);
    out = captured(fd, NULL);
    ck_assert_str_eq(out, "failed      cannot open 'b.mp4': gone\nerror: an error\n");
    free(out);
    close(fd);
}
END_TEST

/* ---- JSON ---- */

START_TEST(json_lines_are_objects_in_order)
{
    static const char weird[] = "we\"ird\nname\xff.mp4";
    static const char *events[] = {"\"start\"",  "\"progress\"", "\"progress\"", "\"note\"",
                                   "\"failed\"", "\"start\"",    "\"done\"",     "\"summary\""};
    double clk = 0;
    int fd = capture_fd();
    RxReporterOptions o = options(RX_REPORT_JSON, fd, &clk);
    RxReporter *r;
    RxResult res;
    RxProgress p = progress(30, 1000000, 10000000, 5000);
    char *out, *line;
    size_t k = 0;

    o.files_total = 2;
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    rx_reporter_start(r, 0, weird, 1000, 10000000);
    for (double t = 0.5; t < 2.6; t += 0.5) { /* lines at 1.0 and 2.0 */
        clk = t;
        rx_reporter_progress(r, 0, &p);
    }
    rx_reporter_note(r, RX_LOG_WARN, "tab\there");
    res = result(RX_STATE_FAILED, 1000, 0, 2.5, "cannot decode 'we\"ird\nname\xff.mp4': bad");
    rx_reporter_finish(r, 0, weird, &res, NULL);
    clk = 3;
    rx_reporter_start(r, 0, "ok.mp4", 1000, 10000000);
    res = result(RX_STATE_DONE, 1000, 300, 1.5, NULL);
    res.width = 1920;
    res.height = 1080;
    res.ssim = 0.9876;
    res.ssim_min = 0.95;
    res.psnr = 44.5;
    res.tuned_crf = 44;
    res.tune_probes = 5;
    res.verified = RX_VERIFY_QUICK;
    rx_reporter_finish(r, 0, "ok.mp4", &res, "renamed");
    clk = 4;
    ck_assert_int_eq(rx_reporter_summary(r), 0);
    rx_reporter_free(&r);

    out = captured(fd, NULL);
    ck_assert_int_eq(count_lines(out), 8);
    for (line = out; *line; k++) {
        char *nl = strchr(line, '\n');
        size_t n;
        ck_assert_ptr_nonnull(nl); /* every event ends its line */
        n = (size_t)(nl - line);
        ck_assert_msg(json_object(line, n, NULL, NULL, 0) == 0, "not a JSON object: %.*s", (int)n,
                      line);
        ck_assert_str_eq(jget(line, n, "event"), events[k]);
        if (k == 0) {
            ck_assert_str_eq(jget(line, n, "path"), "\"we\\\"ird\\nname\\ufffd.mp4\"");
            ck_assert_str_eq(jget(line, n, "path_hex"), "\"7765226972640a6e616d65ff2e6d7034\"");
            ck_assert_str_eq(jget(line, n, "media_us"), "10000000");
        } else if (k == 1) {
            ck_assert_str_eq(jget(line, n, "elapsed"), "1.000");
            ck_assert_str_eq(jget(line, n, "percent"), "10.000");
            ck_assert_str_eq(jget(line, n, "speed"), "1.000");
            ck_assert_str_eq(jget(line, n, "eta_seconds"), "9.000");
        } else if (k == 2) {
            ck_assert_str_eq(jget(line, n, "elapsed"), "2.000");
        } else if (k == 3) {
            ck_assert_str_eq(jget(line, n, "level"), "\"warning\"");
            ck_assert_str_eq(jget(line, n, "message"), "\"tab\\there\"");
        } else if (k == 4) {
            ck_assert_str_eq(jget(line, n, "state"), "\"failed\"");
            ck_assert_str_eq(jget(line, n, "error"),
                             "\"cannot decode 'we\\\"ird\\nname\\ufffd.mp4': bad\"");
            ck_assert_str_eq(jget(line, n, "original"), "\"\""); /* as status --json says */
            ck_assert_str_eq(jget(line, n, "ssim"), "");         /* not measured: not there */
            ck_assert_str_eq(jget(line, n, "tuned_crf"), "");
            ck_assert_str_eq(jget(line, n, "verified"), "\"no\""); /* as status --json says */
        } else if (k == 6) {
            ck_assert_str_eq(jget(line, n, "verified"), "\"quick\"");
            ck_assert_str_eq(jget(line, n, "ssim"), "0.987600");
            ck_assert_str_eq(jget(line, n, "ssim_min"), "0.950000");
            ck_assert_str_eq(jget(line, n, "psnr"), "44.500");
            ck_assert_str_eq(jget(line, n, "tuned_crf"), "44");
            ck_assert_str_eq(jget(line, n, "tune_probes"), "5");
            ck_assert_str_eq(jget(line, n, "state"), "\"done\"");
            ck_assert_str_eq(jget(line, n, "out_bytes"), "300");
            ck_assert_str_eq(jget(line, n, "width"), "1920");
            ck_assert_str_eq(jget(line, n, "wall_seconds"), "1.500");
            ck_assert_str_eq(jget(line, n, "error"), "\"\"");
            ck_assert_str_eq(jget(line, n, "original"), "\"renamed\"");
            ck_assert_str_eq(jget(line, n, "finished"), "2");
        } else if (k == 7) {
            ck_assert_str_eq(jget(line, n, "processed"), "1");
            ck_assert_str_eq(jget(line, n, "failed"), "1");
            ck_assert_str_eq(jget(line, n, "bytes_saved"), "700");
            ck_assert_str_eq(jget(line, n, "success_rate"), "0.500");
            ck_assert_str_eq(jget(line, n, "wall_seconds"), "4.000");
        }
        line = nl + 1;
    }
    ck_assert_int_eq(k, 8);
    free(out);
    close(fd);
}
END_TEST

/* ---- log and stats files ---- */

static char dir[256]; /* this test's temporary directory */

static const char *in_dir(const char *name)
{
    static char buf[2][PATH_MAX];
    static int k;
    k = !k;
    snprintf(buf[k], PATH_MAX, "%s/%s", dir, name);
    return buf[k];
}

static void dir_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/check_progress.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void dir_teardown(void)
{
    static const char *names[] = {"run.log", "stats.json", "stats.json.tmp"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unlink(in_dir(names[i]));
    rmdir(dir);
}

static const char *last_line(const char *s)
{
    size_t n = strlen(s);

    ck_assert(n > 0 && s[n - 1] == '\n');
    while (n > 1 && s[n - 2] != '\n')
        n--;
    return s + n - 1;
}

/* Every line: ISO-8601 local time with offset, the pid, a known word. */
static void assert_log_lines(const char *log, const char *offset)
{
    regex_t re;
    char pattern[512];
    const char *s = log;

    snprintf(pattern, sizeof(pattern),
             "^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}%s "
             "\\[%ld\\] (run|start|done|original|failed|skipped|interrupted|warning:|error:|"
             "summary) ",
             offset, (long)getpid());
    ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    while (*s) {
        const char *nl = strchr(s, '\n');
        char *line;
        ck_assert_ptr_nonnull(nl);
        line = strndup(s, (size_t)(nl - s));
        ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "log line: '%s'", line);
        free(line);
        s = nl + 1;
    }
    regfree(&re);
}

START_TEST(log_gets_one_timestamped_line_per_event)
{
    double clk = 0;
    int fd = open("/dev/null", O_WRONLY);
    RxReporterOptions o = options(RX_REPORT_TTY, fd, &clk);
    RxReporter *r;
    RxResult res;
    char *log;

    setenv("TZ", "UTC0", 1); /* this test's process only (Check forks) */
    tzset();
    o.log_path = in_dir("run.log");
    o.color = 1; /* the log never gets colours */
    o.files_total = 3;
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    rx_reporter_start(r, 0, "a\n.mp4", 3 << 20, 60000000);
    res = result(RX_STATE_DONE, 3 << 20, 1 << 20, 30, NULL);
    rx_reporter_finish(r, 0, "a\n.mp4", &res, "renamed");
    rx_reporter_start(r, 0, "b.mp4", 100, 1000000);
    res = result(RX_STATE_FAILED, 100, 0, 1, "cannot open 'b.mp4': gone");
    rx_reporter_finish(r, 0, "b.mp4", &res, NULL);
    rx_reporter_note(r, RX_LOG_WARN, "low on space");
    ck_assert_int_eq(rx_reporter_summary(r), 0);
    rx_reporter_free(&r);

    log = read_file(in_dir("run.log"));
    ck_assert_int_eq(count_lines(log), 8);
    assert_log_lines(log, "\\+00:00");
    ck_assert_ptr_null(strchr(log, '\033'));
    ck_assert_ptr_nonnull(
        strstr(log, "] run         3 files, 0 B, 0:00:00 of media, 1 at a time\n"));
    ck_assert_ptr_nonnull(strstr(log, "] start       3.0 MiB  0:01:00  a\\n.mp4\n"));
    ck_assert_ptr_nonnull(
        strstr(log, "] done        3.0 MiB -> 1.0 MiB (-66.7%)  0:00:10 in 0:00:30  a\\n.mp4\n"));
    ck_assert_ptr_nonnull(strstr(log, "] original    renamed  a\\n.mp4\n"));
    ck_assert_ptr_nonnull(strstr(log, "] failed      cannot open 'b.mp4': gone\n"));
    ck_assert_ptr_nonnull(strstr(log, "] warning: low on space\n"));
    ck_assert_ptr_nonnull(strstr(log, "] summary     1 processed, 1 failed, 0 skipped, 0 "
                                      "interrupted of 3 files (50.0% succeeded); 3.0 MiB -> "
                                      "1.0 MiB, saved 2.0 MiB (66.7%); wall time 0:00:00, "
                                      "0:00:16 per file\n"));
    free(log);

    /* A second run appends, and a zone east of UTC has its offset. */
    setenv("TZ", "<+0530>-5:30", 1);
    tzset();
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    rx_reporter_free(&r);
    log = read_file(in_dir("run.log"));
    ck_assert_int_eq(count_lines(log), 9);
    assert_log_lines(last_line(log), "\\+05:30");
    free(log);
    setenv("TZ", "<-0330>3:30", 1); /* and one west of it */
    tzset();
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    rx_reporter_free(&r);
    log = read_file(in_dir("run.log"));
    ck_assert_int_eq(count_lines(log), 10);
    assert_log_lines(last_line(log), "-03:30");
    free(log);
    close(fd);
}
END_TEST

START_TEST(log_that_cannot_open_fails_new)
{
    double clk = 0;
    RxReporterOptions o = options(RX_REPORT_PLAIN, STDERR_FILENO, &clk);
    RxReporter *r = (RxReporter *)&clk; /* must be reset */

    o.log_path = in_dir("no/such/dir.log");
    ck_assert_int_eq(rx_reporter_new(&r, &o), AVERROR(ENOENT));
    ck_assert_ptr_null(r);
    o.log_path = NULL;
    o.slots = 0;
    ck_assert_int_eq(rx_reporter_new(&r, &o), AVERROR(EINVAL));
    o.slots = 1;
    o.mode = (RxReportMode)7;
    ck_assert_int_eq(rx_reporter_new(&r, &o), AVERROR(EINVAL));
    rx_reporter_free(NULL);
    rx_reporter_free(&r);
}
END_TEST

START_TEST(stats_file_has_the_counts)
{
    static const RxState states[] = {RX_STATE_DONE, RX_STATE_ENCODED, RX_STATE_FAILED,
                                     RX_STATE_SKIPPED, RX_STATE_INTERRUPTED};
    double clk = 0;
    int fd = open("/dev/null", O_WRONLY);
    RxReporterOptions o = options(RX_REPORT_PLAIN, fd, &clk);
    RxReporter *r;
    RxReportTotals t;
    struct stat st;
    char *stats;
    size_t n;

    o.stats_path = in_dir("stats.json");
    o.files_total = 6;
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        RxResult res = result(states[i], 1000, 400, 2.0, NULL);
        rx_reporter_finish(r, -1, "f.mp4", &res, NULL);
    }
    clk = 60;
    rx_reporter_totals(r, &t);
    ck_assert_uint_eq(t.processed, 2);
    ck_assert_uint_eq(t.failed, 1);
    ck_assert_uint_eq(t.skipped, 1);
    ck_assert_uint_eq(t.interrupted, 1);
    ck_assert_int_eq(t.bytes_before, 2000);
    ck_assert_int_eq(t.bytes_after, 800);
    ck_assert(t.wall_seconds == 60.0);
    ck_assert_int_eq(rx_reporter_summary(r), 0);
    rx_reporter_free(&r);

    ck_assert_int_eq(stat(in_dir("stats.json.tmp"), &st), -1);
    stats = read_file(in_dir("stats.json"));
    n = strlen(stats);
    ck_assert_int_eq(stats[n - 1], '\n');
    ck_assert_int_eq(json_object(stats, n, NULL, NULL, 0), 0);
    ck_assert_str_eq(jget(stats, n, "processed"), "2");
    ck_assert_str_eq(jget(stats, n, "failed"), "1");
    ck_assert_str_eq(jget(stats, n, "skipped"), "1");
    ck_assert_str_eq(jget(stats, n, "interrupted"), "1");
    ck_assert_str_eq(jget(stats, n, "total"), "6");
    ck_assert_str_eq(jget(stats, n, "success_rate"), "0.750");
    ck_assert_str_eq(jget(stats, n, "bytes_before"), "2000");
    ck_assert_str_eq(jget(stats, n, "bytes_after"), "800");
    ck_assert_str_eq(jget(stats, n, "bytes_saved"), "1200");
    ck_assert_str_eq(jget(stats, n, "saved_percent"), "60.000");
    ck_assert_str_eq(jget(stats, n, "wall_seconds"), "60.000");
    ck_assert_str_eq(jget(stats, n, "avg_file_seconds"), "2.000");
    free(stats);

    /* A stats file that cannot be written is the summary's error. */
    o.stats_path = in_dir("no/such/stats.json");
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    ck_assert_int_eq(rx_reporter_summary(r), AVERROR(ENOENT));
    rx_reporter_free(&r);
    close(fd);
}
END_TEST

/* ---- concurrency ---- */

#define WORKERS    4
#define PER_WORKER 100

static atomic_llong ticks;

static double tick_clock(void *opaque)
{
    (void)opaque;
    return (double)atomic_fetch_add(&ticks, 1) * 0.01;
}

typedef struct Worker {
    RxReporter *r;
    int slot;
} Worker;

static void *worker(void *opaque)
{
    static const RxState states[] = {RX_STATE_DONE, RX_STATE_FAILED, RX_STATE_SKIPPED,
                                     RX_STATE_INTERRUPTED};
    Worker *w = opaque;
    char name[64];

    for (int k = 0; k < PER_WORKER; k++) {
        RxResult res;
        RxState st = states[k % 4];
        snprintf(name, sizeof(name), "w%d/file%03d.mp4", w->slot, k);
        rx_reporter_start(w->r, w->slot, name, 1000, 10000000);
        for (int m = 1; m <= 3; m++) {
            RxProgress p = progress(m * 30, m * 2000000, 10000000, m * 100);
            rx_reporter_progress(w->r, w->slot, &p);
        }
        res = result(st, 1000, 400, 0.5, st == RX_STATE_FAILED ? "cannot x: y" : NULL);
        rx_reporter_finish(w->r, w->slot, name, &res, st == RX_STATE_DONE ? "renamed" : NULL);
        if (k % 10 == 0)
            rx_reporter_note(w->r, RX_LOG_WARN, "worker %d at %d", w->slot, k);
    }
    return NULL;
}

static void run_workers(RxReportMode mode, int fd, const char *log_path)
{
    RxReporterOptions o;
    RxReporter *r;
    RxReportTotals t;
    pthread_t th[WORKERS];
    Worker w[WORKERS];

    rx_reporter_options_default(&o);
    o.mode = mode;
    o.fd = fd;
    o.clock = tick_clock;
    o.slots = WORKERS;
    o.files_total = WORKERS * PER_WORKER;
    o.media_us_total = (int64_t)WORKERS * PER_WORKER * 10000000;
    o.log_path = log_path;
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    for (int i = 0; i < WORKERS; i++) {
        w[i].r = r;
        w[i].slot = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < WORKERS; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    rx_reporter_totals(r, &t);
    ck_assert_uint_eq(t.processed, WORKERS * PER_WORKER / 4);
    ck_assert_uint_eq(t.failed, WORKERS * PER_WORKER / 4);
    ck_assert_uint_eq(t.skipped, WORKERS * PER_WORKER / 4);
    ck_assert_uint_eq(t.interrupted, WORKERS * PER_WORKER / 4);
    ck_assert_int_eq(t.bytes_before, 1000 * WORKERS * PER_WORKER / 4);
    ck_assert_int_eq(t.bytes_after, 400 * WORKERS * PER_WORKER / 4);
    ck_assert_uint_eq(t.files_timed, WORKERS * PER_WORKER);
    ck_assert_int_eq(rx_reporter_summary(r), 0);
    rx_reporter_free(&r);
}

START_TEST(workers_in_parallel_plain)
{
    int fd = capture_fd();
    const char *known[] = {"start ",   "progress ",    "done ",     "original ", "failed ",
                           "skipped ", "interrupted ", "warning: ", "summary ",  "            "};
    char *out, *log, *s;

    run_workers(RX_REPORT_PLAIN, fd, in_dir("run.log"));
    out = captured(fd, NULL);
    ck_assert_int_eq(count_prefix(out, "start "), WORKERS * PER_WORKER);
    ck_assert_int_eq(count_prefix(out, "done "), WORKERS * PER_WORKER / 4);
    ck_assert_int_eq(count_prefix(out, "original "), WORKERS * PER_WORKER / 4);
    ck_assert_int_eq(count_prefix(out, "failed "), WORKERS * PER_WORKER / 4);
    ck_assert_int_eq(count_prefix(out, "skipped "), WORKERS * PER_WORKER / 4);
    ck_assert_int_eq(count_prefix(out, "interrupted "), WORKERS * PER_WORKER / 4);
    ck_assert_int_eq(count_prefix(out, "warning: "), WORKERS * PER_WORKER / 10);
    ck_assert_int_eq(count_prefix(out, "summary     100 processed, 100 failed, 100 skipped, "
                                       "100 interrupted of 400 files"),
                     1);
    for (s = out; *s;) { /* whole lines only: nothing interleaved inside one */
        char *nl = strchr(s, '\n');
        int ok = 0;
        ck_assert_ptr_nonnull(nl);
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok |= !strncmp(s, known[i], strlen(known[i]));
        ck_assert_msg(ok, "line: '%.*s'", (int)(nl - s), s);
        s = nl + 1;
    }
    free(out);

    log = read_file(in_dir("run.log"));
    ck_assert_int_eq(count_lines(log), 1 + 400 + 400 + 100 + 40 + 1);
    assert_log_lines(log, "[+-][0-9]{2}:[0-9]{2}");
    free(log);
    close(fd);
}
END_TEST

START_TEST(workers_in_parallel_tty)
{
    int fd = capture_fd();
    Screen *sc;
    int rows;

    run_workers(RX_REPORT_TTY, fd, NULL);
    /* wider than the reporter's 80: the permanent lines do not wrap, so
     * rows count events */
    sc = screen_of(fd, 200);
    rows = used_rows(sc);
    ck_assert_int_eq(rows, WORKERS * PER_WORKER + WORKERS * PER_WORKER / 10 + 3);
    for (int i = 0; i < rows - 3; i++)
        ck_assert_msg(!strncmp(row(sc, i), "done ", 5) || !strncmp(row(sc, i), "failed ", 7) ||
                          !strncmp(row(sc, i), "skipped ", 8) ||
                          !strncmp(row(sc, i), "interrupted ", 12) ||
                          !strncmp(row(sc, i), "warning: ", 9),
                      "row %d: '%s'", i, row(sc, i));
    ck_assert(!screen_has(sc, "/400 done"));
    ck_assert(!screen_has(sc, "ETA"));
    free(sc);
    close(fd);
}
END_TEST

/* ---- encode's meter ---- */

START_TEST(meter_line_redrawn_and_erased)
{
    static const char want[] = "\r  10.0%      1.0/10.0 s   30.0 fps  1.00x     1.00 MiB\033[K"
                               "\r    2.0 s   30.0 fps  1.00x     2.00 MiB\033[K"
                               "\r\033[K";
    double clk = 0;
    int fd = capture_fd();
    RxReporterOptions o = options(RX_REPORT_METER, fd, &clk);
    RxReporter *r;
    RxProgress p = progress(30, 1000000, 10000000, 1048576);
    RxResult res = result(RX_STATE_ENCODED, 1000, 300, 2, NULL);
    char *out;

    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    rx_reporter_start(r, 0, "a.mp4", 1000, 10000000);
    clk = 1.0;
    rx_reporter_progress(r, 0, &p);
    clk = 1.1; /* within 0.25 s: not redrawn */
    rx_reporter_progress(r, 0, &p);
    clk = 2.0; /* no length known: seconds done only */
    p = progress(60, 2000000, 0, 2097152);
    rx_reporter_progress(r, 0, &p);
    rx_reporter_finish(r, 0, "a.mp4", &res, NULL);
    rx_reporter_free(&r);
    out = captured(fd, NULL);
    ck_assert_str_eq(out, want);
    free(out);
    close(fd);
}
END_TEST

/* A run's reporter comes before its plan: what is said meanwhile is logged
 * before the "run" line, and the plan brings the totals and the slots. */
START_TEST(plan_later_notes_first)
{
    double clk = 0;
    int fd = capture_fd();
    RxReporterOptions o = options(RX_REPORT_PLAIN, fd, &clk);
    RxReporter *r;
    RxResult res = result(RX_STATE_DONE, 1000, 300, 1, NULL);
    RxReportTotals tot;
    char *log, *out, *warn, *run;

    o.log_path = in_dir("run.log");
    o.plan_later = 1;
    ck_assert_int_eq(rx_reporter_new(&r, &o), 0);
    rx_reporter_note(r, RX_LOG_WARN, "cannot read 'x.mp4'");
    ck_assert_int_eq(rx_reporter_set_plan(r, 2, 4096, 20000000, 0), AVERROR(EINVAL));
    ck_assert_int_eq(rx_reporter_set_plan(r, 2, 4096, 20000000, 3), 0);
    rx_reporter_start(r, 2, "c.mp4", 1000, 10000000); /* a slot the plan brought */
    ck_assert_int_eq(rx_reporter_set_plan(r, 2, 4096, 20000000, 3), AVERROR(EINVAL));
    rx_reporter_finish(r, 2, "c.mp4", &res, NULL);
    rx_reporter_totals(r, &tot);
    rx_reporter_free(&r);
    ck_assert_uint_eq(tot.total, 2);
    ck_assert_uint_eq(tot.processed, 1);

    log = read_file(in_dir("run.log"));
    warn = strstr(log, "] warning: cannot read 'x.mp4'\n");
    run = strstr(log, "] run         2 files, 4.0 KiB, 0:00:20 of media, 3 at a time\n");
    ck_assert_ptr_nonnull(warn);
    ck_assert_ptr_nonnull(run);
    ck_assert_ptr_nonnull(strstr(log, "] start       1000 B  0:00:10  c.mp4\n"));
    ck_assert(warn < run);
    ck_assert_int_eq(count_lines(log), 4); /* warning, run, start, done */
    out = captured(fd, NULL);
    ck_assert_str_eq(out, "warning: cannot read 'x.mp4'\n"
                          "start       1000 B  0:00:10  c.mp4\n"
                          "done        1000 B -> 300 B (-70.0%)  0:00:10 in 0:00:01  c.mp4\n");
    free(out);
    free(log);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("progress");
    TCase *tc = tcase_create("core");
    TCase *files = tcase_create("files");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, json_checker_is_strict);
    tcase_add_test(tc, tty_redraw_is_rate_limited);
    tcase_add_test(tc, tty_events_go_above_the_block);
    tcase_add_test(tc, tty_names_fit_and_are_escaped);
    tcase_add_test(tc, colours_only_on_tty_without_no_color);
    tcase_add_test(tc, plain_one_line_per_event);
    tcase_add_test(tc, quiet_shows_failures_only);
    tcase_add_test(tc, json_lines_are_objects_in_order);
    tcase_add_test(tc, workers_in_parallel_tty);
    tcase_add_test(tc, meter_line_redrawn_and_erased);
    suite_add_tcase(s, tc);

    tcase_set_timeout(files, 60);
    tcase_add_checked_fixture(files, dir_setup, dir_teardown);
    tcase_add_test(files, log_gets_one_timestamped_line_per_event);
    tcase_add_test(files, log_that_cannot_open_fails_new);
    tcase_add_test(files, stats_file_has_the_counts);
    tcase_add_test(files, workers_in_parallel_plain);
    tcase_add_test(files, plan_later_notes_first);
    suite_add_tcase(s, files);

    return rx_check_run(s);
}
