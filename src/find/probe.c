/*
 * probe.c - one MediaInfo open per file, fields copied out at once.
 *
 * libmediainfo's C interface keeps one output string per handle, overwritten
 * by the next call, and runs every call (the whole parse inside Open
 * included) under one process-wide lock. So the handle lives only inside
 * rx_probe_open(): open, read each wanted field once into our own buffer,
 * close, delete. Readers of an RxProbe never go back to libmediainfo.
 *
 * The file is first opened here with open(2), for a real errno when it cannot
 * be read (MediaInfo only says "0 files opened") and to skip MediaInfo
 * altogether for empty files and non-files.
 */
#include "reencode/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* MediaInfoDLL_Static.h uses size_t without including its header. Plain
 * MediaInfoA_* (char) functions: no UNICODE (see LIBAV-NOTES). */
#include <stddef.h>
#include <MediaInfoDLL/MediaInfoDLL_Static.h>

#include <libavutil/error.h>

/* One copied value. Offsets, not pointers, into RxProbe.strings, which grows. */
typedef struct Field {
    RxStreamKind kind;
    size_t stream;
    size_t name; /* offset of the field's name */
    size_t value;
} Field;

struct RxProbe {
    size_t counts[RX_STREAM_KINDS];
    Field *fields;
    size_t n, cap;
    char *strings; /* names and values, each '\0'-terminated */
    size_t len, size;
};

static const char *const general_fields[] = {
    "Format", "Duration",  "OverallBitRate", "FileSize",   "Performer",
    "Title",  "EncodedBy", "IsTruncated",    "VideoCount", "AudioCount",
};
static const char *const video_fields[] = {
    "Format", "Width", "Height", "FrameRate", "FrameRate_Mode", "BitDepth", "Duration", "Rotation",
};
static const char *const audio_fields[] = {
    "Format", "SamplingRate", "Channel(s)", "BitDepth", "Duration",
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

static void init_mediainfo(void)
{
    /* File names go through wchar_t inside MediaInfo and back to bytes with
     * the C library's multibyte functions: only a UTF-8 LC_CTYPE keeps
     * non-ASCII names intact. */
    if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0 && !setlocale(LC_CTYPE, "C.UTF-8"))
        init_result = AVERROR(ENOTSUP);
    MediaInfoA_Option(NULL, "CharSet", "UTF-8");
    /* Process-wide: skip building the human-readable "/String" variants of
     * every field ("2 s 0 ms", "30.000 FPS"). Raw values are unchanged and
     * are what filters compare; probing runs ~1.7x faster. */
    MediaInfoA_Option(NULL, "ReadByHuman", "0");
}

int rx_probe_init(void)
{
    pthread_once(&init_once, init_mediainfo);
    return init_result;
}

/* Strict UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF): what MediaInfo's conversion maps back to the same bytes. */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++;
        int n;
        unsigned min;
        if (c < 0x80)
            continue;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            min = 0x10000;
        } else {
            return 0;
        }
        unsigned cp = c & (0x3F >> n);
        for (int i = 0; i < n; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (*p & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
    }
    return 1;
}

/* Append s (with its '\0') to p->strings; *off receives its offset. */
static int put_string(RxProbe *p, const char *s, size_t *off)
{
    size_t n = strlen(s) + 1;
    if (p->len + n > p->size) {
        size_t size = p->size ? p->size : 1024;
        while (size < p->len + n)
            size *= 2;
        char *q = realloc(p->strings, size);
        if (!q)
            return AVERROR(ENOMEM);
        p->strings = q;
        p->size = size;
    }
    memcpy(p->strings + p->len, s, n);
    *off = p->len;
    p->len += n;
    return 0;
}

static const Field *find_field(const RxProbe *p, RxStreamKind kind, size_t stream, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        const Field *f = &p->fields[i];
        if (f->kind == kind && f->stream == stream && !strcmp(p->strings + f->name, name))
            return f;
    }
    return NULL;
}

/* Copy field `name` of every stream of `kind` from the open handle h. */
static int copy_field(RxProbe *p, void *h, RxStreamKind kind, const char *name)
{
    for (size_t s = 0; s < p->counts[kind]; s++) {
        if (find_field(p, kind, s, name))
            continue; /* asked twice */
        const char *v = MediaInfoA_Get(h, (MediaInfo_stream_C)kind, s, name, MediaInfo_Info_Text,
                                       MediaInfo_Info_Name);
        if (!v || !*v)
            continue; /* absent: not stored, reads as NULL */
        if (p->n == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 32;
            Field *f = realloc(p->fields, cap * sizeof(*f));
            if (!f)
                return AVERROR(ENOMEM);
            p->fields = f;
            p->cap = cap;
        }
        Field *f = &p->fields[p->n];
        f->kind = kind;
        f->stream = s;
        /* v is MediaInfo's per-handle buffer: copy it before the next call. */
        if (put_string(p, v, &f->value) < 0 || put_string(p, name, &f->name) < 0)
            return AVERROR(ENOMEM);
        p->n++;
    }
    return 0;
}

static int copy_fields(RxProbe *p, void *h, const RxProbeOptions *o)
{
    static const struct {
        RxStreamKind kind;
        const char *const *names;
        size_t n;
    } fixed[] = {
        {RX_STREAM_GENERAL, general_fields, sizeof(general_fields) / sizeof(general_fields[0])},
        {RX_STREAM_VIDEO, video_fields, sizeof(video_fields) / sizeof(video_fields[0])},
        {RX_STREAM_AUDIO, audio_fields, sizeof(audio_fields) / sizeof(audio_fields[0])},
    };
    int ret;

    for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
        for (size_t i = 0; i < fixed[k].n; i++)
            if ((ret = copy_field(p, h, fixed[k].kind, fixed[k].names[i])) < 0)
                return ret;
    for (size_t i = 0; o && i < o->n_extra; i++) {
        const RxFieldRef *r = &o->extra[i];
        if ((unsigned)r->kind >= RX_STREAM_KINDS || !r->name || !*r->name)
            return AVERROR(EINVAL);
        if ((ret = copy_field(p, h, r->kind, r->name)) < 0)
            return ret;
    }
    return 0;
}

/* "0", "0.25", "1": what MediaInfo's ParseSpeed takes. */
static int valid_speed(const char *s)
{
    if (!*s || strlen(s) > 8)
        return 0;
    for (; *s; s++)
        if ((*s < '0' || *s > '9') && *s != '.')
            return 0;
    return 1;
}

int rx_probe_open(RxProbe **out, const char *path, const RxProbeOptions *opts)
{
    const char *speed = opts && opts->parse_speed ? opts->parse_speed : "0";
    RxProbe *p = NULL;
    void *h = NULL;
    struct stat st;
    int ret = 0, fd;

    if (!valid_speed(speed) || (opts && opts->n_extra && !opts->extra))
        return AVERROR(EINVAL);
    rx_probe_init();

    /* O_NONBLOCK: opening a FIFO for reading must not wait for a writer. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return AVERROR(errno);
    if (fstat(fd, &st) < 0)
        ret = AVERROR(errno);
    else if (S_ISDIR(st.st_mode))
        ret = AVERROR(EISDIR);
    else if (!S_ISREG(st.st_mode))
        ret = AVERROR(EINVAL);
    else if (st.st_size == 0)
        ret = RX_ERR_EMPTY;
    if (ret < 0)
        goto fail;

    p = calloc(1, sizeof(*p));
    h = MediaInfoA_New();
    if (!p || !h) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    MediaInfoA_Option(h, "ParseSpeed", speed);
    /* MediaInfo takes names as UTF-8 and converts them back to bytes through
     * LC_CTYPE; Linux names are just bytes. A name that is not UTF-8, or that
     * does not survive the round trip (no UTF-8 locale), is reached through
     * our descriptor instead: the fields we read do not depend on the name,
     * only CompleteName shows the alias. */
    char alias[64];
    snprintf(alias, sizeof(alias), "/proc/self/fd/%d", fd);
    size_t opened = valid_utf8(path) ? MediaInfoA_Open(h, path) : 0;
    if (!opened) {
        MediaInfoA_Close(h);
        opened = MediaInfoA_Open(h, alias);
    }
    if (!opened) {
        ret = AVERROR(EILSEQ); /* readable a moment ago, by name and by fd: no /proc? */
        goto fail;
    }
    close(fd);
    fd = -1;
    for (int k = 0; k < RX_STREAM_KINDS; k++)
        p->counts[k] = MediaInfoA_Count_Get(h, (MediaInfo_stream_C)k, (size_t)-1);

    ret = copy_fields(p, h, opts);
    if (ret < 0)
        goto fail;
    if (!rx_probe_get(p, RX_STREAM_GENERAL, 0, "Format")) {
        ret = RX_ERR_UNRECOGNISED;
        goto fail;
    }
    if (!p->counts[RX_STREAM_VIDEO] && !p->counts[RX_STREAM_AUDIO]) {
        ret = RX_ERR_NOSTREAMS;
        goto fail;
    }
    MediaInfoA_Close(h);
    MediaInfoA_Delete(h);
    *out = p;
    return 0;

fail:
    if (fd >= 0)
        close(fd);
    if (h) {
        MediaInfoA_Close(h);
        MediaInfoA_Delete(h);
    }
    rx_probe_free(&p);
    return ret;
}

size_t rx_probe_count(const RxProbe *p, RxStreamKind kind)
{
    return (unsigned)kind < RX_STREAM_KINDS ? p->counts[kind] : 0;
}

const char *rx_probe_get(const RxProbe *p, RxStreamKind kind, size_t stream, const char *name)
{
    const Field *f = find_field(p, kind, stream, name);
    return f ? p->strings + f->value : NULL;
}

int rx_probe_int(const RxProbe *p, RxStreamKind kind, size_t stream, const char *name, int64_t *out)
{
    const char *s = rx_probe_get(p, kind, stream, name);
    int64_t v = 0;
    int neg = 0;

    if (!s)
        return AVERROR(ENODATA);
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (*s < '0' || *s > '9')
        return AVERROR(EINVAL);
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (INT64_MAX - (*s - '0')) / 10)
            return AVERROR(ERANGE);
        v = v * 10 + (*s - '0');
    }
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            ;
    if (*s)
        return AVERROR(EINVAL);
    *out = neg ? -v : v;
    return 0;
}

static size_t fields_count(const void *opaque, RxStreamKind kind)
{
    return rx_probe_count(opaque, kind);
}

static const char *fields_get(const void *opaque, RxStreamKind kind, size_t stream,
                              const char *name)
{
    return rx_probe_get(opaque, kind, stream, name);
}

RxFields rx_probe_fields(const RxProbe *p)
{
    RxFields f = {p, fields_count, fields_get};
    return f;
}

void rx_probe_free(RxProbe **pp)
{
    RxProbe *p = pp ? *pp : NULL;
    if (!p)
        return;
    free(p->fields);
    free(p->strings);
    free(p);
    *pp = NULL;
}

const char *rx_probe_strerror(int err, char *buf, size_t size)
{
    const char *s = NULL;
    switch (err) {
    case 0:
        s = "success";
        break;
    case RX_ERR_EMPTY:
        s = "empty file";
        break;
    case RX_ERR_UNRECOGNISED:
        s = "not a media file MediaInfo recognises";
        break;
    case RX_ERR_NOSTREAMS:
        s = "no audio or video stream (truncated before its index?)";
        break;
    case AVERROR(EILSEQ):
        s = "MediaInfo cannot open it by name (not UTF-8?) nor through /proc";
        break;
    default:
        break;
    }
    char tmp[128];
    if (s)
        snprintf(buf, size, "%s", s);
    else if (err < 0)
        snprintf(buf, size, "%s", strerror_r(-err, tmp, sizeof(tmp))); /* GNU: returns the text */
    else
        snprintf(buf, size, "unknown error %d", err);
    return buf;
}
