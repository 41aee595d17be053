/*
 * manifest.c - CSV and list readers (see manifest.h).
 *
 * The CSV reader is a byte-at-a-time state machine over a FILE (stdio
 * buffers): a field is gathered whole, then kept only when it is the path or
 * the id, so memory follows the two columns wanted, not the width of the
 * dataset. Quoted fields follow RFC 4180; outside quotes the reader is
 * lenient where lenience is unambiguous (a quote inside an unquoted field is
 * a character; a lone CR is a character) and strict where guessing would
 * misplace every later row (text after a closing quote, a quote never
 * closed).
 */
#include "reencode/manifest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>

#include "reencode/log.h"

typedef struct Row {
    char *path;
    char *id; /* NULL: the path is the id */
    long line;
} Row;

struct RxManifest {
    Row *rows;
    const char **paths; /* rows[i].path, for rx_manifest_paths() */
    size_t n, cap;
    char *base;
};

/* A growable byte buffer for the field being read. */
typedef struct Buf {
    char *p;
    size_t len, cap;
} Buf;

typedef struct Reader {
    FILE *fp;
    const char *name; /* for messages */
    int back[3];      /* bytes pushed back, read last-in first-out */
    int nback;
    long line; /* physical line of the next byte, 1-based */
    char *err;
    size_t errsize;
} Reader;

static int fail(Reader *r, int code, const char *fmt, ...) RX_PRINTF(3, 4);

static int fail(Reader *r, int code, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(r->err, r->errsize, "'%s' ", r->name);

    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < r->errsize)
        vsnprintf(r->err + n, r->errsize - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

static int get(Reader *r)
{
    int c = r->nback ? r->back[--r->nback] : getc(r->fp);
    if (c == '\n')
        r->line++;
    return c;
}

static void unget(Reader *r, int c)
{
    if (c == EOF)
        return;
    if (c == '\n')
        r->line--;
    r->back[r->nback++] = c;
}

/* A UTF-8 byte order mark (Excel's "CSV UTF-8", Notepad) is not data. */
static void skip_bom(Reader *r)
{
    static const int bom[3] = {0xEF, 0xBB, 0xBF};
    int got[3], n;

    for (n = 0; n < 3; n++) {
        got[n] = get(r);
        if (got[n] != bom[n]) {
            n++;
            break;
        }
        if (n == 2)
            return;
    }
    while (n > 0)
        unget(r, got[--n]);
}

static int buf_add(Reader *r, Buf *b, int c)
{
    if (b->len >= RX_MANIFEST_FIELD_MAX)
        return fail(r, AVERROR_INVALIDDATA, "line %ld: a field longer than %d bytes", r->line,
                    RX_MANIFEST_FIELD_MAX);
    if (b->len + 1 >= b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        char *p = realloc(b->p, cap);
        if (!p)
            return AVERROR(ENOMEM);
        b->p = p;
        b->cap = cap;
    }
    b->p[b->len++] = (char)c;
    b->p[b->len] = '\0';
    return 0;
}

/*
 * Read one field into b. *end receives what ended it: ',' (more fields),
 * '\n' (end of the record, also for CRLF) or EOF. *quoted says whether it
 * was quoted (a quoted empty field is a value; an unquoted empty record is
 * a blank line).
 */
static int read_field(Reader *r, Buf *b, int *end, int *quoted)
{
    int c = get(r), ret;
    long opened = r->line;

    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
    *quoted = c == '"';
    if (*quoted) {
        for (;;) {
            c = get(r);
            if (c == EOF)
                return fail(r, AVERROR_INVALIDDATA,
                            "line %ld: a quoted field opened here is never closed", opened);
            if (c == '"') {
                c = get(r);
                if (c != '"')
                    break; /* the closing quote */
            }
            if ((ret = buf_add(r, b, c)) < 0)
                return ret;
        }
        if (c == '\r') {
            c = get(r);
            if (c != '\n')
                return fail(r, AVERROR_INVALIDDATA,
                            "line %ld: a carriage return after a closing quote is not a line end",
                            r->line);
        }
        if (c != ',' && c != '\n' && c != EOF)
            return fail(r, AVERROR_INVALIDDATA,
                        "line %ld: text after a closing quote (a quote inside a quoted field is "
                        "written \"\")",
                        r->line);
        *end = c;
        return 0;
    }
    for (; c != ',' && c != '\n' && c != EOF; c = get(r)) {
        if (c == '\r') {
            int next = get(r);
            if (next == '\n') {
                c = next;
                break;
            }
            unget(r, next);
        }
        if ((ret = buf_add(r, b, c)) < 0)
            return ret;
    }
    *end = c;
    return 0;
}

static int add_row(RxManifest *m, const char *path, size_t path_len, const char *id, long line)
{
    Row *row;

    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        Row *p = realloc(m->rows, cap * sizeof(*p));
        if (!p)
            return AVERROR(ENOMEM);
        m->rows = p;
        m->cap = cap;
    }
    row = &m->rows[m->n];
    row->path = malloc(path_len + 1);
    row->id = id ? strdup(id) : NULL;
    if (!row->path || (id && !row->id)) {
        free(row->path);
        free(row->id);
        return AVERROR(ENOMEM);
    }
    memcpy(row->path, path, path_len);
    row->path[path_len] = '\0';
    row->line = line;
    m->n++;
    return 0;
}

/* Keep a copy of a header name (the field buffer is reused). */
static int keep_name(char ***names, size_t *n, const Buf *b)
{
    char **p = realloc(*names, (*n + 1) * sizeof(*p));

    if (!p)
        return AVERROR(ENOMEM);
    *names = p;
    p[*n] = strdup(b->p ? b->p : "");
    if (!p[*n])
        return AVERROR(ENOMEM);
    (*n)++;
    return 0;
}

/* "a, b, c" for the message about a missing column. */
static void list_names(char *out, size_t size, char *const *names, size_t n)
{
    size_t at = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && at < size; i++) {
        int w = snprintf(out + at, size - at, "%s'%s'", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        at += (size_t)w;
    }
}

static int find_column(Reader *r, char *const *names, size_t n, const char *want, size_t *at)
{
    char have[256];

    for (size_t i = 0; i < n; i++) {
        if (!strcmp(names[i], want)) {
            *at = i;
            return 0;
        }
    }
    list_names(have, sizeof(have), names, n);
    return fail(r, AVERROR_INVALIDDATA, "has no column '%s' (its header has %s)", want, have);
}

/* A name with a NUL byte cannot be a path: say so rather than cut it. */
static int check_value(Reader *r, const Buf *b, long line, const char *column)
{
    if (b->len && memchr(b->p, '\0', b->len))
        return fail(r, AVERROR_INVALIDDATA, "line %ld: column '%s' holds a NUL byte", line, column);
    return 0;
}

static int read_csv(Reader *r, RxManifest *m, const RxManifestSpec *spec)
{
    Buf field = {0}, path = {0}, id = {0};
    char **names = NULL;
    size_t n_names = 0, col = 0, id_col = 0;
    int have_header = 0, ret = 0;
    RxManifestSpec one = *spec;

    if (one.id_column && !strcmp(one.id_column, one.column))
        one.id_column = NULL; /* ids are the paths anyway */
    spec = &one;
    skip_bom(r);
    for (;;) {
        long line = r->line;
        size_t nf = 0;
        int end, quoted, blank = 0, got_path = 0, got_id = 0;

        int c = get(r);
        if (c == EOF)
            break;
        unget(r, c);
        do {
            if ((ret = read_field(r, &field, &end, &quoted)) < 0)
                goto done;
            blank = nf == 0 && end != ',' && !quoted && field.len == 0;
            if (!have_header) {
                if (!blank && (ret = keep_name(&names, &n_names, &field)) < 0)
                    goto done;
            } else if (nf == col || (spec->id_column && nf == id_col)) {
                Buf *keep = nf == col ? &path : &id;
                /* Swap buffers: the kept value survives the next field. */
                Buf t = *keep;
                *keep = field;
                field = t;
                if ((ret = check_value(r, keep, line, nf == col ? spec->column : spec->id_column)) <
                    0)
                    goto done;
                got_path |= keep == &path;
                got_id |= keep == &id;
            }
            nf++;
        } while (end == ',');
        if (blank)
            continue;
        if (!have_header) {
            have_header = 1;
            if ((ret = find_column(r, names, n_names, spec->column, &col)) < 0 ||
                (spec->id_column &&
                 (ret = find_column(r, names, n_names, spec->id_column, &id_col)) < 0))
                goto done;
            continue;
        }
        if (!got_path || (spec->id_column && !got_id)) {
            const char *which = !got_path ? spec->column : spec->id_column;
            ret =
                fail(r, AVERROR_INVALIDDATA, "line %ld: %zu field%s, but column '%s' is field %zu",
                     line, nf, nf == 1 ? "" : "s", which, (!got_path ? col : id_col) + 1);
            goto done;
        }
        ret = add_row(m, path.p ? path.p : "", path.len,
                      spec->id_column ? (id.p ? id.p : "") : NULL, line);
        if (ret < 0)
            goto done;
    }
    if (ferror(r->fp)) {
        ret = fail(r, AVERROR(EIO), "cannot be read: %s", strerror(EIO));
        goto done;
    }
    if (!have_header)
        ret = fail(r, AVERROR_INVALIDDATA, "is empty: a CSV needs a header row naming its columns");
done:
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    free(field.p);
    free(path.p);
    free(id.p);
    return ret;
}

static int read_list(Reader *r, RxManifest *m, int nul)
{
    Buf b = {0};
    long entry = 1;
    int ret = 0;

    if (!nul)
        skip_bom(r);
    for (;;) {
        long line = nul ? entry : r->line;
        int c;

        b.len = 0;
        while ((c = get(r)) != EOF && c != (nul ? '\0' : '\n')) {
            if (!nul && c == '\0') {
                ret = fail(r, AVERROR_INVALIDDATA,
                           "line %ld: a NUL byte (a NUL-separated list needs -0)", line);
                goto done;
            }
            if ((ret = buf_add(r, &b, c)) < 0)
                goto done;
        }
        if (!nul && b.len && b.p[b.len - 1] == '\r') /* written on Windows */
            b.len--;
        if (b.len && (ret = add_row(m, b.p, b.len, NULL, line)) < 0)
            goto done;
        entry++;
        if (c == EOF)
            break;
    }
    if (ferror(r->fp))
        ret = fail(r, AVERROR(EIO), "cannot be read: %s", strerror(EIO));
done:
    free(b.p);
    return ret;
}

static int cmp_ids(const void *pa, const void *pb)
{
    const Row *a = *(Row *const *)pa, *b = *(Row *const *)pb;
    int c = strcmp(a->id, b->id);

    return c ? c : (a->line > b->line) - (a->line < b->line);
}

/* The results file is keyed by id: two rows with one id would be one key. */
static int check_ids(Reader *r, RxManifest *m)
{
    Row **by_id;
    int ret = 0;

    if (m->n < 2 || !m->rows[0].id)
        return 0;
    by_id = malloc(m->n * sizeof(*by_id));
    if (!by_id)
        return AVERROR(ENOMEM);
    for (size_t i = 0; i < m->n; i++)
        by_id[i] = &m->rows[i];
    qsort(by_id, m->n, sizeof(*by_id), cmp_ids);
    for (size_t i = 1; i < m->n; i++) {
        if (!strcmp(by_id[i - 1]->id, by_id[i]->id)) {
            ret = fail(r, AVERROR_INVALIDDATA, "lines %ld and %ld have the same id '%s'",
                       by_id[i - 1]->line, by_id[i]->line, by_id[i]->id);
            break;
        }
    }
    free(by_id);
    return ret;
}

static char *base_of(const char *file)
{
    const char *slash = strrchr(file, '/');
    char *base;

    if (!strcmp(file, "-") || !slash)
        return strdup(".");
    if (slash == file)
        return strdup("/");
    base = malloc((size_t)(slash - file) + 1);
    if (base) {
        memcpy(base, file, (size_t)(slash - file));
        base[slash - file] = '\0';
    }
    return base;
}

int rx_manifest_read_fp(RxManifest **out, const RxManifestSpec *spec, FILE *fp, char *err,
                        size_t errsize)
{
    Reader r = {fp, spec->file ? spec->file : "-", {0}, 0, 1, err, errsize};
    RxManifest *m;
    int ret;

    if (errsize)
        err[0] = '\0';
    if (spec->kind == RX_MANIFEST_CSV && (!spec->column || !*spec->column))
        return fail(&r, AVERROR(EINVAL), "needs the name of the column of paths");
    m = calloc(1, sizeof(*m));
    if (!m)
        return AVERROR(ENOMEM);
    m->base = base_of(r.name);
    if (!m->base) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    ret = spec->kind == RX_MANIFEST_CSV ? read_csv(&r, m, spec)
                                        : read_list(&r, m, spec->kind == RX_MANIFEST_LIST0);
    if (ret >= 0)
        ret = check_ids(&r, m);
    if (ret >= 0) {
        m->paths = malloc((m->n ? m->n : 1) * sizeof(*m->paths));
        if (!m->paths)
            ret = AVERROR(ENOMEM);
        for (size_t i = 0; m->paths && i < m->n; i++)
            m->paths[i] = m->rows[i].path;
    }
    if (ret < 0)
        goto fail;
    *out = m;
    return 0;
fail:
    if (ret == AVERROR(ENOMEM))
        snprintf(err, errsize, "cannot read '%s': out of memory", r.name);
    rx_manifest_free(&m);
    return ret;
}

int rx_manifest_read(RxManifest **out, const RxManifestSpec *spec, char *err, size_t errsize)
{
    FILE *fp;
    int ret;

    if (!spec->file || !strcmp(spec->file, "-"))
        return rx_manifest_read_fp(out, spec, stdin, err, errsize);
    fp = fopen(spec->file, "rb");
    if (!fp) {
        ret = AVERROR(errno);
        snprintf(err, errsize, "cannot open '%s': %s", spec->file, strerror(errno));
        return ret;
    }
    ret = rx_manifest_read_fp(out, spec, fp, err, errsize);
    fclose(fp);
    return ret;
}

size_t rx_manifest_count(const RxManifest *m)
{
    return m->n;
}

const char *rx_manifest_path(const RxManifest *m, size_t i)
{
    return i < m->n ? m->rows[i].path : NULL;
}

const char *rx_manifest_id(const RxManifest *m, size_t i)
{
    if (i >= m->n)
        return NULL;
    return m->rows[i].id ? m->rows[i].id : m->rows[i].path;
}

long rx_manifest_line(const RxManifest *m, size_t i)
{
    return i < m->n ? m->rows[i].line : 0;
}

const char *const *rx_manifest_paths(const RxManifest *m)
{
    return m->paths;
}

const char *rx_manifest_base(const RxManifest *m)
{
    return m->base;
}

void rx_manifest_free(RxManifest **pm)
{
    RxManifest *m = pm ? *pm : NULL;

    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->rows[i].path);
        free(m->rows[i].id);
    }
    free(m->rows);
    free(m->paths);
    free(m->base);
    free(m);
    *pm = NULL;
}
