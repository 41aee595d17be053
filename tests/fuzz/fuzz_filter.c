/*
 * fuzz_filter.c - compile arbitrary match expressions, with and without
 * RX_FILTER_ALL, and evaluate what compiles on a file made of the input too.
 *
 * Input: expressions separated by '\n', then optionally a NUL and the file:
 *     EXPR\nEXPR ...\0SHAPE\nVALUE\nVALUE ...
 * (the file's pieces may also be separated by NUL; an input that starts
 * with NUL has no expression: the default filter). SHAPE gives the number
 * of streams per kind in MediaInfo's order, one digit each ("1120": one
 * General, one Video, two Audio, no Text; a missing or non-digit character
 * means one). Field values come from the VALUEs: field F of stream s of kind
 * k reads VALUE[(hash(F) + 7k + 3s) % n]; an empty VALUE reads as absent, no
 * VALUE at all as every field absent. Seeds: tests/fuzz/corpus/fuzz_filter.
 *
 * Properties checked besides memory safety (filter.h):
 * - a failed compile leaves *out untouched and names an expression and an
 *   offset inside it, with a column no larger than the offset;
 * - a compiled filter has one condition per expression (+1 with
 *   RX_FILTER_ALL, which comes first), each with its text as given, and
 *   lists its fields without duplicates;
 * - match returns 0 or 1, the same with and without a miss; a miss names a
 *   condition and holds one line without control bytes;
 * - all expressions match exactly when each one alone does, and
 *   RX_FILTER_ALL adds exactly "has a Video stream".
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "reencode/filter.h"

#define MAX_EXPRS  8
#define MAX_VALUES 16

typedef struct File {
    size_t counts[RX_STREAM_KINDS];
    const char *values[MAX_VALUES];
    size_t n_values;
} File;

static size_t file_count(const void *opaque, RxStreamKind kind)
{
    const File *f = opaque;
    return kind < RX_STREAM_KINDS ? f->counts[kind] : 0;
}

static const char *file_get(const void *opaque, RxStreamKind kind, size_t stream, const char *name)
{
    const File *f = opaque;
    uint32_t h = 2166136261u; /* FNV-1a */

    FUZZ_CHECK(kind < RX_STREAM_KINDS && stream < f->counts[kind] && name);
    if (!f->n_values)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return f->values[(h + 7u * (unsigned)kind + 3u * stream) % f->n_values];
}

/* Split buf (NUL-terminated, modified) at any of seps into at most max pieces. */
static size_t split(char *buf, const char *seps, char **out, size_t max)
{
    size_t n = 0;

    while (n < max) {
        out[n++] = buf;
        buf += strcspn(buf, seps);
        if (!*buf)
            break;
        *buf++ = '\0';
    }
    return n;
}

/* No control bytes (the explanation is one line for a log) and terminated. */
static void check_line(const char *s, size_t size)
{
    size_t len = strnlen(s, size);

    FUZZ_CHECK(len < size);
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

/* Compile; on success check the filter's shape and return it, else NULL. */
static RxFilter *compile(const char *const *exprs, size_t n, unsigned flags)
{
    RxFilter *sentinel = (RxFilter *)&sentinel, *f = sentinel;
    RxFilterError err;
    size_t all = (flags & RX_FILTER_ALL) ? 1 : 0, count, n_fields;
    const RxFieldRef *fields;
    int ret;

    memset(&err, 0xa5, sizeof(err));
    ret = rx_filter_compile(&f, exprs, n, flags, &err);
    if (ret < 0) {
        FUZZ_CHECK(ret == -EINVAL || ret == -ENOMEM);
        FUZZ_CHECK(f == sentinel);
        if (ret == -EINVAL) {
            FUZZ_CHECK(err.index < n);
            FUZZ_CHECK(err.offset <= strlen(exprs[err.index]));
            FUZZ_CHECK(err.column <= err.offset);
            FUZZ_CHECK(FUZZ_TERMINATED(err.message) && err.message[0]);
        }
        return NULL;
    }
    FUZZ_CHECK(ret == 0 && f && f != sentinel);
    count = rx_filter_count(f);
    FUZZ_CHECK(count == (n || all ? n : 1) + all);
    for (size_t i = 0; i < count; i++)
        FUZZ_CHECK(rx_filter_text(f, i) != NULL);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(!strcmp(rx_filter_text(f, all + i), exprs[i]));
    FUZZ_CHECK(rx_filter_text(f, count) == NULL);
    fields = rx_filter_fields(f, &n_fields);
    FUZZ_CHECK(n_fields <= count);
    for (size_t i = 0; i < n_fields; i++) {
        FUZZ_CHECK(fields[i].kind < RX_STREAM_KINDS && fields[i].name && fields[i].name[0]);
        for (size_t k = 0; k < i; k++)
            FUZZ_CHECK(fields[k].kind != fields[i].kind || strcmp(fields[k].name, fields[i].name));
    }
    return f;
}

static int match(const RxFilter *f, const RxFields *fields)
{
    RxFilterMiss miss;
    int m;

    memset(&miss, 0xa5, sizeof(miss));
    m = rx_filter_match(f, fields, &miss);
    FUZZ_CHECK(m == 0 || m == 1);
    FUZZ_CHECK(rx_filter_match(f, fields, NULL) == m);
    if (!m) {
        FUZZ_CHECK(miss.index < rx_filter_count(f));
        FUZZ_CHECK(miss.present == 0 || miss.present == 1);
        check_line(miss.why, sizeof(miss.why));
        check_line(miss.actual, sizeof(miss.actual));
        FUZZ_CHECK(miss.why[0]);
        FUZZ_CHECK(miss.present || !miss.actual[0]);
    }
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *file_part, *pieces[MAX_VALUES + 1];
    char *exprs[MAX_EXPRS];
    size_t n_exprs, n_pieces = 0;
    File file = {.counts = {0}};
    RxFields fields = {&file, file_count, file_get};
    RxFilter *plain, *all;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    file_part = memchr(buf, '\0', size) ? buf + strlen(buf) + 1 : NULL;

    /* No expression at all: the default filter. */
    n_exprs = buf[0] ? split(buf, "\n", exprs, MAX_EXPRS) : 0;
    if (file_part) {
        /* The rest may hold more NULs: make them separators too. */
        for (char *p = file_part; p < buf + size; p++)
            if (!*p)
                *p = '\n';
        n_pieces = split(file_part, "\n", pieces, MAX_VALUES + 1);
    }
    for (int k = 0; k < RX_STREAM_KINDS; k++) {
        char c = n_pieces && (size_t)k < strlen(pieces[0]) ? pieces[0][k] : '1';
        file.counts[k] = c >= '0' && c <= '3' ? (size_t)(c - '0') : 1;
    }
    for (size_t i = 1; i < n_pieces; i++)
        file.values[file.n_values++] = pieces[i];

    plain = compile((const char *const *)exprs, n_exprs, 0);
    all = compile((const char *const *)exprs, n_exprs, RX_FILTER_ALL);
    /* RX_FILTER_ALL parses the same expressions: both compile or neither. */
    FUZZ_CHECK(!plain == !all);
    if (plain) {
        int m_plain = match(plain, &fields), m_all = match(all, &fields), m_each = 1;

        /* (Without expressions, plain is the default filter and all only
         * asks for a video stream: nothing to compare.) */
        if (n_exprs)
            FUZZ_CHECK(m_all == (file.counts[RX_STREAM_VIDEO] > 0 && m_plain));
        for (size_t i = 0; i < n_exprs; i++) {
            RxFilter *one = compile((const char *const *)&exprs[i], 1, 0);
            FUZZ_CHECK(one);
            m_each &= match(one, &fields);
            rx_filter_free(&one);
            FUZZ_CHECK(!one);
        }
        if (n_exprs)
            FUZZ_CHECK(m_each == m_plain);
    }
    rx_filter_free(&plain);
    rx_filter_free(&all);
    FUZZ_CHECK(!plain && !all);
    free(buf);
    return 0;
}
