/*
 * filter.c - compile and evaluate match expressions (see filter.h and
 * docs/match-expressions.md for the language).
 *
 * An expression is parsed once into a Cond: kind, field, operator, the value
 * unquoted and, when it is a decimal number, its double. Evaluation walks the
 * streams of the kind through RxFields and stops at the first stream that
 * satisfies the condition; only a failing condition pays for building its
 * explanation.
 */
#include "reencode/filter.h"
#include "reencode/log.h" /* RX_PRINTF */

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>

typedef enum CondOp {
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_CONTAINS,
    OP_PRESENT,
    OP_ABSENT,
    OP_HAS_STREAM, /* "all" mode: at least one stream of the kind */
} CondOp;

typedef struct Cond {
    CondOp op;
    RxStreamKind kind;
    char *text;  /* the expression as given; owns the one allocation of the cond */
    char *field; /* points into the same allocation; NULL for OP_HAS_STREAM */
    char *value; /* unquoted value of a comparison, else NULL */
    int numeric; /* value is a decimal number ... */
    double num;  /* ... of this value */
} Cond;

struct RxFilter {
    Cond *conds;
    size_t n;
    RxFieldRef *fields; /* distinct (kind, field) pairs; names point into conds */
    size_t n_fields;
};

/* Characters that end a kind or a field name. */
#define OPCHARS "=!<>~?;\""

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static size_t skip_space(const char *s, size_t i)
{
    while (is_space(s[i]))
        i++;
    return i;
}

/* End of a kind or field name starting at i. */
static size_t word_end(const char *s, size_t i)
{
    while (s[i] && !is_space(s[i]) && !strchr(OPCHARS, s[i]))
        i++;
    return i;
}

/*
 * Parse a whole string as a plain decimal number: [+-] digits [. digits]
 * [e [+-] digits], at least one digit before the exponent. Hand-written rather
 * than strtod() because strtod() follows LC_NUMERIC (a German locale would
 * read "29.970" as 29) and also accepts hex, "inf" and "nan", which MediaInfo
 * values are never meant as. Exact (correctly rounded) when the significant
 * digits fit in 2^53 and the power of ten is within 10^22, which covers every
 * duration, bit rate, size and frame rate MediaInfo prints.
 */
static int parse_number(const char *s, double *out)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t mant = 0;
    long exp10 = 0;
    int digits = 0, neg = 0;
    size_t i = 0;

    if (s[i] == '+' || s[i] == '-')
        neg = s[i++] == '-';
    for (; is_digit(s[i]); i++, digits++) {
        if (mant < UINT64_C(1000000000000000000))
            mant = mant * 10 + (uint64_t)(s[i] - '0');
        else
            exp10++; /* digits past 19 only scale */
    }
    if (s[i] == '.') {
        for (i++; is_digit(s[i]); i++, digits++) {
            if (mant < UINT64_C(1000000000000000000)) {
                mant = mant * 10 + (uint64_t)(s[i] - '0');
                exp10--;
            }
        }
    }
    if (!digits)
        return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        long e = 0;
        int eneg = 0;
        i++;
        if (s[i] == '+' || s[i] == '-')
            eneg = s[i++] == '-';
        if (!is_digit(s[i]))
            return 0;
        for (; is_digit(s[i]); i++)
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        exp10 += eneg ? -e : e;
    }
    if (s[i])
        return 0;

    double v;
    if (mant <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        v = exp10 >= 0 ? (double)mant * p10[exp10] : (double)mant / p10[-exp10];
    } else {
        long double x = (long double)mant;
        for (; exp10 > 0 && x < 1e300L; exp10--)
            x *= 10;
        for (; exp10 < 0 && x > 1e-300L; exp10++)
            x /= 10;
        if (exp10 > 0)
            return 0; /* out of range: not a number we can compare */
        v = exp10 < 0 ? 0.0 : (double)x;
    }
    *out = neg ? -v : v;
    return 1;
}

/* ASCII case-insensitive substring search; needle non-empty. */
static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && lower(hay[i]) == lower(needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static int kind_from_name(const char *s, size_t len, RxStreamKind *kind)
{
    for (int k = 0; k < RX_STREAM_KINDS; k++) {
        const char *name = rx_stream_kind_name((RxStreamKind)k);
        if (strlen(name) != len)
            continue;
        size_t i = 0;
        while (i < len && lower(s[i]) == lower(name[i]))
            i++;
        if (i == len) {
            *kind = (RxStreamKind)k;
            return 1;
        }
    }
    return 0;
}

/* Record a parse error at byte offset `at` of expr. Returns AVERROR(EINVAL). */
static int parse_error(RxFilterError *err, const char *expr, size_t at, const char *fmt, ...)
    RX_PRINTF(4, 5);
static int parse_error(RxFilterError *err, const char *expr, size_t at, const char *fmt, ...)
{
    if (!err)
        return AVERROR(EINVAL);
    err->offset = at;
    err->column = 0;
    for (size_t i = 0; i < at && expr[i]; i++)
        if (((unsigned char)expr[i] & 0xC0) != 0x80) /* not a UTF-8 continuation byte */
            err->column++;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return AVERROR(EINVAL);
}

/* "'x'" for a printable ASCII character, else words, for messages. */
static const char *char_name(char c, char *buf, size_t size)
{
    unsigned char u = (unsigned char)c;
    if (u > 0x20 && u < 0x7f)
        snprintf(buf, size, "'%c'", c);
    else if (is_space(c))
        snprintf(buf, size, "a space");
    else if (u < 0x80)
        snprintf(buf, size, "a control character");
    else
        snprintf(buf, size, "a non-ASCII character");
    return buf;
}

/*
 * Parse one expression into c. The cond's single allocation holds the text as
 * given, then the field name, then the unquoted value; all three are at most
 * strlen(expr) bytes long.
 */
static int parse_cond(Cond *c, const char *s, RxFilterError *err)
{
    size_t len = strlen(s), i, k, w;
    char ch[32];

    memset(c, 0, sizeof(*c));
    c->kind = RX_STREAM_GENERAL;

    i = skip_space(s, 0);
    if (!s[i])
        return parse_error(err, s, i, "empty expression");

    /* Optional "Kind;" prefix. */
    w = word_end(s, i);
    k = skip_space(s, w);
    if (s[k] == ';') {
        if (w == i)
            return parse_error(err, s, k, "missing stream kind before ';'");
        if (!kind_from_name(s + i, w - i, &c->kind))
            return parse_error(err, s, i,
                               "unknown stream kind '%.*s' (General, Video, Audio, Text, Other, "
                               "Image or Menu)",
                               (int)(w - i), s + i);
        i = skip_space(s, k + 1);
    }

    int absent = 0;
    if (s[i] == '!') {
        absent = 1;
        i = skip_space(s, i + 1);
    }

    w = word_end(s, i);
    if (w == i) {
        if (!s[i])
            return parse_error(err, s, i, "missing field name");
        if (s[i] == ';')
            return parse_error(err, s, i, "unexpected ';' (one stream kind at most)");
        return parse_error(err, s, i, "missing field name before %s",
                           char_name(s[i], ch, sizeof(ch)));
    }
    size_t field_at = i, field_len = w - i;
    k = skip_space(s, w);

    c->text = malloc(3 * (len + 1));
    if (!c->text)
        return AVERROR(ENOMEM);
    memcpy(c->text, s, len + 1);
    c->field = c->text + len + 1;
    memcpy(c->field, s + field_at, field_len);
    c->field[field_len] = '\0';

    int ret;
    if (absent) {
        if (!s[k]) {
            c->op = OP_ABSENT;
            return 0;
        }
        if (s[k] == ';')
            ret = parse_error(err, s, k, "the stream kind comes first: write %.*s;!Field",
                              (int)field_len, s + field_at);
        else if (s[k] == '=')
            ret = parse_error(err, s, k,
                              "'!' before a field tests absence; to compare, write %s!=", c->field);
        else
            ret = parse_error(err, s, k, "unexpected %s after !%s", char_name(s[k], ch, sizeof(ch)),
                              c->field);
        goto fail;
    }

    switch (s[k]) {
    case '?':
        k = skip_space(s, k + 1);
        if (s[k]) {
            ret = parse_error(err, s, k, "unexpected text after '?'");
            goto fail;
        }
        c->op = OP_PRESENT;
        return 0;
    case '=':
        c->op = OP_EQ;
        k++;
        break;
    case '!':
        if (s[k + 1] != '=') {
            ret = parse_error(err, s, k + 1, "expected '=' after '!' (to test absence, write !%s)",
                              c->field);
            goto fail;
        }
        c->op = OP_NE;
        k += 2;
        break;
    case '<':
    case '>':
        if (s[k + 1] == '=')
            c->op = s[k] == '<' ? OP_LE : OP_GE;
        else
            c->op = s[k] == '<' ? OP_LT : OP_GT;
        k += s[k + 1] == '=' ? 2 : 1;
        break;
    case '~':
        if (s[k + 1] != '=') {
            ret = parse_error(err, s, k + 1, "expected '=' after '~' (substring match is ~=)");
            goto fail;
        }
        c->op = OP_CONTAINS;
        k += 2;
        break;
    case ';':
        ret = parse_error(err, s, k, "unexpected ';' (one stream kind at most)");
        goto fail;
    case '\0':
        ret = parse_error(err, s, k,
                          "missing operator after '%s' (=, !=, <, <=, >, >=, ~=, or ? for "
                          "presence)",
                          c->field);
        goto fail;
    default:
        ret = parse_error(err, s, k, "expected an operator after '%s', found %s", c->field,
                          char_name(s[k], ch, sizeof(ch)));
        goto fail;
    }

    /* The value: rest of the expression, trimmed, or a double-quoted string
     * with backslash escapes for outer spaces and a leading '='. */
    char *v = c->field + field_len + 1;
    size_t vlen = 0, q = len;
    i = skip_space(s, k);
    if (s[i] == '"') {
        q = i;
        for (i++; s[i] && s[i] != '"'; i++) {
            if (s[i] == '\\' && s[i + 1])
                i++;
            v[vlen++] = s[i];
        }
        if (s[i] != '"') {
            ret = parse_error(err, s, q, "unterminated quote");
            goto fail;
        }
        i = skip_space(s, i + 1);
        if (s[i]) {
            ret = parse_error(err, s, i, "unexpected text after the closing quote");
            goto fail;
        }
    } else {
        size_t end = len;
        while (end > i && is_space(s[end - 1]))
            end--;
        /* "==", ">==", ">>": almost surely a typo; a quoted value may start so. */
        if (s[i] == '=' || ((s[i] == '<' || s[i] == '>') && c->op >= OP_LT && c->op <= OP_GE)) {
            ret = parse_error(err, s, i, "value starts with %s: quote the value if that is meant",
                              char_name(s[i], ch, sizeof(ch)));
            goto fail;
        }
        vlen = end - i;
        memcpy(v, s + i, vlen);
    }
    v[vlen] = '\0';
    if (!vlen) {
        ret = parse_error(err, s, q,
                          "missing value (MediaInfo reports empty fields as absent: to match "
                          "one, write !%s)",
                          c->field);
        goto fail;
    }
    c->value = v;
    c->numeric = parse_number(v, &c->num);
    return 0;

fail:
    free(c->text);
    c->text = NULL;
    return ret;
}

/* Remember (kind, field) for rx_filter_fields() unless already there. */
static void add_field(RxFilter *f, const Cond *c)
{
    if (!c->field)
        return;
    for (size_t i = 0; i < f->n_fields; i++)
        if (f->fields[i].kind == c->kind && !strcmp(f->fields[i].name, c->field))
            return;
    f->fields[f->n_fields].kind = c->kind;
    f->fields[f->n_fields].name = c->field;
    f->n_fields++;
}

int rx_filter_compile(RxFilter **out, const char *const *exprs, size_t n, unsigned flags,
                      RxFilterError *err)
{
    static const char *const default_expr[] = {RX_FILTER_DEFAULT};
    RxFilter *f = NULL;
    int all = (flags & RX_FILTER_ALL) != 0;
    int ret;

    if (!n && !all) {
        exprs = default_expr;
        n = 1;
    }
    if (n && !exprs)
        return AVERROR(EINVAL);

    f = calloc(1, sizeof(*f));
    if (!f)
        return AVERROR(ENOMEM);
    size_t total = n + (size_t)all;
    f->conds = calloc(total ? total : 1, sizeof(*f->conds));
    f->fields = calloc(total ? total : 1, sizeof(*f->fields));
    if (!f->conds || !f->fields) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }

    if (all) {
        static const char has_video[] = "has a Video stream";
        Cond *c = &f->conds[f->n];
        c->op = OP_HAS_STREAM;
        c->kind = RX_STREAM_VIDEO;
        c->text = malloc(sizeof(has_video));
        if (!c->text) {
            ret = AVERROR(ENOMEM);
            goto fail;
        }
        memcpy(c->text, has_video, sizeof(has_video));
        f->n++;
    }
    for (size_t i = 0; i < n; i++) {
        ret = parse_cond(&f->conds[f->n], exprs[i] ? exprs[i] : "", err);
        if (ret < 0) {
            if (err)
                err->index = i;
            goto fail;
        }
        add_field(f, &f->conds[f->n]);
        f->n++;
    }
    *out = f;
    return 0;

fail:
    rx_filter_free(&f);
    return ret;
}

size_t rx_filter_count(const RxFilter *f)
{
    return f->n;
}

const char *rx_filter_text(const RxFilter *f, size_t i)
{
    return i < f->n ? f->conds[i].text : NULL;
}

const RxFieldRef *rx_filter_fields(const RxFilter *f, size_t *n)
{
    *n = f->n_fields;
    return f->fields;
}

void rx_filter_free(RxFilter **pf)
{
    RxFilter *f = pf ? *pf : NULL;
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->conds[i].text);
    free(f->conds);
    free(f->fields);
    free(f);
    *pf = NULL;
}

/* Does present value v satisfy comparison c? */
static int compare(const Cond *c, const char *v)
{
    double x;
    int cmp;

    if (c->op == OP_CONTAINS)
        return contains_nocase(v, c->value);
    if (c->numeric && parse_number(v, &x))
        cmp = x < c->num ? -1 : x > c->num ? 1 : 0;
    else
        cmp = strcmp(v, c->value);
    switch (c->op) {
    case OP_EQ:
        return cmp == 0;
    case OP_NE:
        return cmp != 0;
    case OP_LT:
        return cmp < 0;
    case OP_LE:
        return cmp <= 0;
    case OP_GT:
        return cmp > 0;
    case OP_GE:
        return cmp >= 0;
    default:
        return 0;
    }
}

/* Bounded string builder for explanations: never overflows, always ends in
 * '\0', marks a cut with "...". */
typedef struct Out {
    char *p;
    size_t size, len;
} Out;

static void out_put(Out *o, const char *s, size_t n)
{
    if (!o->size)
        return;
    for (size_t i = 0; i < n; i++) {
        if (o->len + 1 >= o->size) {
            if (o->size > 4)
                memcpy(o->p + o->size - 4, "...", 3);
            break;
        }
        /* Values come from files: keep control bytes out of log lines. */
        unsigned char ch = (unsigned char)s[i];
        o->p[o->len++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    o->p[o->len] = '\0';
}

static void out_str(Out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

static void out_quoted(Out *o, const char *s)
{
    out_str(o, "'");
    out_str(o, s);
    out_str(o, "'");
}

static const char *op_name(CondOp op)
{
    switch (op) {
    case OP_NE:
        return "not ";
    case OP_LT:
        return "< ";
    case OP_LE:
        return "<= ";
    case OP_GT:
        return "> ";
    case OP_GE:
        return ">= ";
    case OP_CONTAINS:
        return "containing ";
    default:
        return "";
    }
}

static void out_label(Out *o, const Cond *c)
{
    if (c->kind != RX_STREAM_GENERAL) {
        out_str(o, rx_stream_kind_name(c->kind));
        out_str(o, " ");
    }
    out_str(o, c->field);
}

/* Fill miss for failed condition c, re-reading the values it saw. */
static void explain(const Cond *c, size_t index, const RxFields *fields, size_t n,
                    RxFilterMiss *miss)
{
    Out why = {miss->why, sizeof(miss->why), 0};
    Out actual = {miss->actual, sizeof(miss->actual), 0};
    const char *first = NULL;
    size_t n_present = 0;

    miss->index = index;
    miss->why[0] = miss->actual[0] = '\0';
    for (size_t s = 0; s < n && c->field; s++) {
        const char *v = fields->get(fields->opaque, c->kind, s, c->field);
        if (v && *v) {
            n_present++;
            if (!first)
                first = v;
        }
    }
    miss->present = n_present > 0;
    if (first)
        out_str(&actual, first);

    if (!n) {
        out_str(&why, "no ");
        out_str(&why, rx_stream_kind_name(c->kind));
        out_str(&why, " stream");
        return;
    }
    out_label(&why, c);
    if (!n_present) {
        out_str(&why, " absent");
        return;
    }
    out_str(&why, " is ");
    for (size_t s = 0; s < n; s++) {
        const char *v = fields->get(fields->opaque, c->kind, s, c->field);
        if (s)
            out_str(&why, ", ");
        if (v && *v)
            out_quoted(&why, v);
        else
            out_str(&why, "absent");
    }
    if (c->op == OP_ABSENT) {
        out_str(&why, " (want absent)");
        return;
    }
    out_str(&why, " (want ");
    out_str(&why, op_name(c->op));
    if (c->numeric && c->op != OP_EQ && c->op != OP_NE && c->op != OP_CONTAINS)
        out_str(&why, c->value);
    else
        out_quoted(&why, c->value);
    out_str(&why, ")");
}

static int cond_holds(const Cond *c, const RxFields *fields, size_t n)
{
    if (c->op == OP_HAS_STREAM)
        return n > 0;
    for (size_t s = 0; s < n; s++) {
        const char *v = fields->get(fields->opaque, c->kind, s, c->field);
        int present = v && *v;
        if (c->op == OP_ABSENT) {
            if (present)
                return 0;
        } else if (c->op == OP_PRESENT) {
            if (present)
                return 1;
        } else if (present && compare(c, v)) {
            return 1;
        }
    }
    return c->op == OP_ABSENT;
}

int rx_filter_match(const RxFilter *f, const RxFields *fields, RxFilterMiss *miss)
{
    for (size_t i = 0; i < f->n; i++) {
        const Cond *c = &f->conds[i];
        size_t n = fields->count(fields->opaque, c->kind);
        if (cond_holds(c, fields, n))
            continue;
        if (miss)
            explain(c, i, fields, n, miss);
        return 0;
    }
    return 1;
}
