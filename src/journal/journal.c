/*
 * journal.c - the crash-safe checkpoint journal (see journal.h, and
 * docs/journal.md for the format and the protocol).
 *
 * A line is one flat JSON object, a space, the CRC-32 of the object's bytes
 * (zlib's CRC-32, 8 lowercase hex digits) and '\n'. Records are described by
 * one table of keys (keys[] below): the parser fills a Rec indexed by key, and
 * the writer prints a Rec in key order, so the two cannot drift apart.
 *
 * The parser is strict and bounded: it works on (pointer, length) and checks
 * every index against the length before reading, because it reads whatever a
 * crash, a disk or a fuzzer left in the file. Strings must be in exactly the
 * form the writer produces (checked by re-encoding what was decoded), so one
 * file name has one spelling and decoding is reversible byte for byte.
 *
 * In memory, the journal is the latest entry per identity (size + content
 * hash) in an array in first-seen order, indexed by an open-addressing table.
 * An entry is never modified once published: a new state is a new entry, and
 * the replaced one is kept ("retired") until close, so that pointers handed to
 * other threads stay valid without copying.
 */
#include "reencode/journal.h"
#include "reencode/settings.h"
#include "core/fsutil.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/bprint.h>
#include <libavutil/common.h>
#include <libavutil/crc.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>

#define FORMAT_VERSION 1
#define LINE_MAX_BYTES (128 * 1024)       /* a longer line is not ours, torn or not */
#define FILE_MAX_BYTES ((int64_t)1 << 30) /* a larger file is not a journal */
#define LINE_PREFIX    "{\"v\":1,"        /* how every record starts */
#define CRC_SUFFIX_LEN 9                  /* " %08x" */

/* ---- record keys ---- */

enum Key {
    K_V,
    K_SEQ,
    K_TIME,
    K_TYPE,
    K_PID,
    K_HOST,
    K_REL,
    K_SIZE,
    K_MTIME_NS,
    K_HASH,
    K_STATE,
    K_ATTEMPTS,
    K_OUTPUT,
    K_ORIGINAL,
    K_ERR,
    K_ERROR,
    K_IN_BYTES,
    K_OUT_BYTES,
    K_OUT_HASH,
    K_IN_DURATION_US,
    K_VIDEO_DURATION_US,
    K_AUDIO_DURATION_US,
    K_VIDEO_FRAMES,
    K_VIDEO_ELIDED,
    K_VERIFIED,
    K_DECODE_ERRORS,
    K_AUDIO_TRACKS,
    K_WIDTH,
    K_HEIGHT,
    K_WALL_MS,
    K_SSIM_PPM,
    K_SSIM_MIN_PPM,
    K_PSNR_MDB,
    K_TUNED_CRF,
    K_TUNED_FOR,
    K_CRASHES,
    K_CRASHES_ALONE,
    K_CRASH_SIGNALS,
    K_CRASH,
    K_ALONE,
    K_SIGNAL,
    K_PARENT,
    K_COUNT
};

/* Record types, as bits of KeyDef's masks. "crash" records live in crash
 * files only (rx_journal_read_crashes()); a journal refuses them. */
enum RecType { T_SESSION, T_FILE, T_CRASH };
#define TS   (1u << T_SESSION)
#define TF   (1u << T_FILE)
#define TC   (1u << T_CRASH)
#define TALL (TS | TF | TC)

typedef struct KeyDef {
    const char *name;
    unsigned char str;      /* 1: a string, 0: an integer */
    unsigned char types;    /* the record types that may carry it */
    unsigned char required; /* the record types that must */
} KeyDef;

/* The order here is the order on the line. */
static const KeyDef keys[K_COUNT] = {
    [K_V] = {"v", 0, TALL, TALL},
    [K_SEQ] = {"seq", 0, TALL, TALL},
    [K_TIME] = {"time", 1, TALL, TALL},
    [K_TYPE] = {"type", 1, TALL, TALL},
    [K_PID] = {"pid", 0, TS | TC, TS | TC},
    [K_HOST] = {"host", 1, TS, TS},
    [K_REL] = {"rel", 1, TF | TC, TF | TC},
    [K_SIZE] = {"size", 0, TF | TC, TF | TC},
    [K_MTIME_NS] = {"mtime_ns", 0, TF, TF},
    [K_HASH] = {"hash", 1, TF | TC, TF | TC},
    [K_STATE] = {"state", 1, TF, TF},
    [K_ATTEMPTS] = {"attempts", 0, TF, TF},
    [K_OUTPUT] = {"output", 1, TF, 0},
    [K_ORIGINAL] = {"original", 1, TF, 0},
    [K_ERR] = {"err", 0, TF, 0},
    [K_ERROR] = {"error", 1, TF, 0},
    [K_IN_BYTES] = {"in_bytes", 0, TF, 0},
    [K_OUT_BYTES] = {"out_bytes", 0, TF, 0},
    [K_OUT_HASH] = {"out_hash", 1, TF, 0},
    [K_IN_DURATION_US] = {"in_duration_us", 0, TF, 0},
    [K_VIDEO_DURATION_US] = {"video_duration_us", 0, TF, 0},
    [K_AUDIO_DURATION_US] = {"audio_duration_us", 0, TF, 0},
    [K_VIDEO_FRAMES] = {"video_frames", 0, TF, 0},
    [K_VIDEO_ELIDED] = {"video_frames_elided", 0, TF, 0},
    [K_VERIFIED] = {"verified", 0, TF, 0},
    [K_DECODE_ERRORS] = {"decode_errors", 0, TF, 0},
    [K_AUDIO_TRACKS] = {"audio_tracks", 0, TF, 0},
    [K_WIDTH] = {"width", 0, TF, 0},
    [K_HEIGHT] = {"height", 0, TF, 0},
    [K_WALL_MS] = {"wall_ms", 0, TF, 0},
    [K_SSIM_PPM] = {"ssim_ppm", 0, TF, 0},
    [K_SSIM_MIN_PPM] = {"ssim_min_ppm", 0, TF, 0},
    [K_PSNR_MDB] = {"psnr_mdb", 0, TF, 0},
    [K_TUNED_CRF] = {"tuned_crf", 0, TF, 0},
    [K_TUNED_FOR] = {"tuned_for", 1, TF, 0},
    [K_CRASHES] = {"crashes", 0, TF, 0},
    [K_CRASHES_ALONE] = {"crashes_alone", 0, TF, 0},
    [K_CRASH_SIGNALS] = {"crash_signals", 1, TF, 0},
    [K_CRASH] = {"crash", 1, TF | TC, TC},
    [K_ALONE] = {"alone", 0, TC, TC},
    [K_SIGNAL] = {"signal", 1, TC, TC},
    [K_PARENT] = {"parent", 0, TS, 0},
};

/* One record, decoded or about to be written. Strings are NUL-terminated;
 * they point into the parser's scratch buffer or into an entry. */
typedef struct Rec {
    uint64_t present; /* bit k: key k is set */
    int64_t num[K_COUNT];
    const char *str[K_COUNT];
} Rec;

_Static_assert(K_COUNT <= 64, "Rec.present is a 64-bit mask");
#define KBIT(k) (UINT64_C(1) << (k))

static const char *const originals[] = {"renamed", "kept", "deleted"};

struct RxJournal {
    pthread_mutex_t lock; /* guards everything below once the journal is open */
    int fd;               /* -1: a buffer journal */
    int readonly;
    int failed;  /* sticky error of a write whose outcome is unknown */
    int live;    /* replay done: replaced entries are retired, not freed */
    int64_t end; /* file size after the last valid record */
    int64_t seq; /* sequence number of the last record */

    RxJournalEntry **files; /* latest entry per identity, in first-seen order */
    size_t n, cap;
    size_t *table; /* open addressing over files: index + 1, 0 = empty */
    size_t tcap;   /* a power of two, at least twice n */
    RxJournalEntry **retired;
    size_t nretired, rcap;
};

/* ---- small helpers ---- */

static uint32_t crc32_of(const void *data, size_t size)
{
    /* zlib's CRC-32 (reflected IEEE, ~0 in and out), so that anyone can check
     * a line with any zlib binding. */
    return av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX, data, size) ^ UINT32_MAX;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case is not ours */
}

static int is_hash(const char *s)
{
    for (int i = 0; i < 32; i++)
        if (hexval(s[i]) < 0)
            return 0;
    return s[32] == '\0';
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. s is NUL-terminated, and NUL is
 * never a continuation byte, so this never reads past the terminator. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* The JSON form of the character at s (NUL-terminated, *s != 0) into out (at
 * most 6 bytes); *used = bytes of s consumed. Bytes that are not part of valid
 * UTF-8 become \udcXX, the lone surrogate that PEP 383 ("surrogateescape")
 * uses for byte XX: no text contains one, so the mapping is reversible. */
static size_t escape_one(const unsigned char *s, char *out, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = s[0];
    const char *esc = NULL;
    size_t n;

    *used = 1;
    switch (c) {
    case '"':
        esc = "\\\"";
        break;
    case '\\':
        esc = "\\\\";
        break;
    case '\b':
        esc = "\\b";
        break;
    case '\f':
        esc = "\\f";
        break;
    case '\n':
        esc = "\\n";
        break;
    case '\r':
        esc = "\\r";
        break;
    case '\t':
        esc = "\\t";
        break;
    }
    if (esc) {
        memcpy(out, esc, 2);
        return 2;
    }
    if (c < 0x20 || c == 0x7f) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 15];
        return 6;
    }
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    n = utf8_len(s);
    if (n) {
        memcpy(out, s, n);
        *used = n;
        return n;
    }
    memcpy(out, "\\udc", 4);
    out[4] = hex[c >> 4];
    out[5] = hex[c & 15];
    return 6;
}

static void put_str(AVBPrint *bp, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char tmp[8];
    size_t used;

    av_bprint_chars(bp, '"', 1);
    while (*p) {
        size_t m = escape_one(p, tmp, &used);
        av_bprint_append_data(bp, tmp, (unsigned)m);
        p += used;
    }
    av_bprint_chars(bp, '"', 1);
}

/* Does enc (enc_len bytes, no quotes) spell dec exactly as put_str() would? */
static int same_spelling(const char *dec, const char *enc, size_t enc_len)
{
    const unsigned char *p = (const unsigned char *)dec;
    size_t k = 0, used;
    char tmp[8];

    while (*p) {
        size_t m = escape_one(p, tmp, &used);
        if (m > enc_len - k || memcmp(enc + k, tmp, m))
            return 0;
        k += m;
        p += used;
    }
    return k == enc_len;
}

/* Print r as one whole line, checksum and '\n' included. */
static void format_rec(AVBPrint *bp, const Rec *r)
{
    unsigned start = bp->len;
    int first = 1;

    av_bprint_chars(bp, '{', 1);
    for (int k = 0; k < K_COUNT; k++) {
        if (!(r->present & KBIT(k)))
            continue;
        av_bprintf(bp, "%s\"%s\":", first ? "" : ",", keys[k].name);
        first = 0;
        if (keys[k].str)
            put_str(bp, r->str[k]);
        else
            av_bprintf(bp, "%" PRId64, r->num[k]);
    }
    av_bprint_chars(bp, '}', 1);
    if (av_bprint_is_complete(bp))
        av_bprintf(bp, " %08" PRIx32 "\n", crc32_of(bp->str + start, bp->len - start));
}

static char *put_digits(char *p, long v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

/* "2024-05-01T12:34:56.789Z"; a clock outside years 0..9999 is clamped, so
 * that the line stays valid whatever the clock says. */
static void now_iso(char out[32])
{
    struct timespec ts;
    struct tm tm;
    char *p = out;
    long year;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (!gmtime_r(&ts.tv_sec, &tm))
        memset(&tm, 0, sizeof(tm));
    year = tm.tm_year + 1900L;
    if (year < 0 || year > 9999) {
        memset(&tm, 0, sizeof(tm));
        year = year < 0 ? 0 : 9999;
    }
    p = put_digits(p, year, 4);
    *p++ = '-';
    p = put_digits(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_sec, 2); /* 60 on a leap second: still two digits */
    *p++ = '.';
    p = put_digits(p, ts.tv_nsec / 1000000, 3);
    *p++ = 'Z';
    *p = '\0';
}

static int is_time(const char *s)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";

    for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
        if (pattern[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != pattern[i])
            return 0;
    }
    return s[sizeof(pattern) - 1] == '\0';
}

static int state_from_name(const char *name, RxState *st)
{
    for (int s = RX_STATE_PENDING; s <= RX_STATE_INTERRUPTED; s++) {
        if (!strcmp(name, rx_state_name((RxState)s))) {
            *st = (RxState)s;
            return 0;
        }
    }
    return -1;
}

static int is_original(const char *s)
{
    for (size_t i = 0; i < sizeof(originals) / sizeof(originals[0]); i++)
        if (!strcmp(s, originals[i]))
            return 1;
    return 0;
}

/* Read the whole file from offset 0 (whatever the fd's offset), until EOF. */
static int read_all(int fd, char **out, size_t *out_len)
{
    return rx_read_fd(fd, FILE_MAX_BYTES, out, out_len);
}

/* Exactly size bytes at offset; a short file (it shrank) is AVERROR(EAGAIN). */
static int read_exact(int fd, uint8_t *buf, size_t size, off_t offset)
{
    size_t done = 0;

    while (done < size) {
        ssize_t r = pread(fd, buf + done, size - done, offset + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return AVERROR(errno);
        if (r == 0)
            return AVERROR(EAGAIN);
        done += (size_t)r;
    }
    return 0;
}

/* ---- file identity ---- */

int rx_file_id_compute(RxFileId *id, const char *path, const char *rel)
{
    static const char hex[] = "0123456789abcdef";
    struct AVSHA *sha = NULL;
    uint8_t *buf = NULL, digest[32];
    struct stat st;
    size_t n;
    int fd = -1, ret;

    memset(id, 0, sizeof(*id));
    if (!path || !rel)
        return AVERROR(EINVAL);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return AVERROR(errno);
    if (fstat(fd, &st) < 0) {
        ret = AVERROR(errno);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = AVERROR(EINVAL);
        goto fail;
    }
    buf = malloc(2 * RX_FILE_ID_SPAN);
    sha = av_sha_alloc();
    id->rel = strdup(rel);
    if (!buf || !sha || !id->rel) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    if (st.st_size <= 2 * RX_FILE_ID_SPAN) {
        n = (size_t)st.st_size;
        ret = read_exact(fd, buf, n, 0);
    } else {
        n = 2 * RX_FILE_ID_SPAN;
        ret = read_exact(fd, buf, RX_FILE_ID_SPAN, 0);
        if (ret >= 0)
            ret = read_exact(fd, buf + RX_FILE_ID_SPAN, RX_FILE_ID_SPAN,
                             st.st_size - RX_FILE_ID_SPAN);
    }
    if (ret < 0)
        goto fail;
    av_sha_init(sha, 256);
    av_sha_update(sha, buf, n);
    av_sha_final(sha, digest);
    /* 128 bits are plenty to tell files apart and keep the lines short. */
    for (int i = 0; i < 16; i++) {
        id->hash[2 * i] = hex[digest[i] >> 4];
        id->hash[2 * i + 1] = hex[digest[i] & 15];
    }
    id->hash[32] = '\0';
    id->size = st.st_size;
    id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    ret = 0;
fail:
    if (ret < 0)
        rx_file_id_clear(id);
    av_free(sha);
    free(buf);
    close(fd);
    return ret;
}

void rx_file_id_clear(RxFileId *id)
{
    if (!id)
        return;
    free(id->rel);
    memset(id, 0, sizeof(*id));
}

/* ---- entries ---- */

static void entry_free(RxJournalEntry *e)
{
    if (!e)
        return;
    free(e->id.rel);
    free(e->output);
    free(e->original);
    free(e);
}

/* SSIM as the line keeps it: in millionths (no floating point on a line). */
static int64_t millionths(double v)
{
    return isfinite(v) ? llrint(av_clipd(v, -1.0, 1.0) * 1e6) : 0;
}

static int64_t millidecibels(double db)
{
    return isfinite(db) ? llrint(av_clipd(db, 0.0, 1000.0) * 1000.0) : 0;
}

/* Milliseconds, as the line keeps them (no floating point on the line: its
 * spelling would depend on the locale). */
static int64_t wall_ms(double seconds)
{
    if (!(seconds > 0))
        return 0;
    if (seconds > 1e12)
        seconds = 1e12;
    return (int64_t)(seconds * 1000.0 + 0.5);
}

static void rec_from_entry(Rec *r, const RxJournalEntry *e, const char *state_name)
{
    const RxResult *res = &e->result;
    const int64_t opt[][2] = {
        {K_ERR, res->err},
        {K_IN_BYTES, res->in_bytes},
        {K_OUT_BYTES, res->out_bytes},
        {K_IN_DURATION_US, res->in_duration_us},
        {K_VIDEO_DURATION_US, res->video_duration_us},
        {K_AUDIO_DURATION_US, res->audio_duration_us},
        {K_VIDEO_FRAMES, res->video_frames},
        {K_VIDEO_ELIDED, res->video_frames_elided},
        {K_VERIFIED, res->verified},
        {K_DECODE_ERRORS, res->decode_errors},
        {K_AUDIO_TRACKS, res->audio_tracks},
        {K_WIDTH, res->width},
        {K_HEIGHT, res->height},
        {K_WALL_MS, wall_ms(res->wall_seconds)},
        {K_SSIM_PPM, millionths(res->ssim)},
        {K_SSIM_MIN_PPM, millionths(res->ssim_min)},
        {K_PSNR_MDB, millidecibels(res->psnr)},
        {K_TUNED_CRF, res->tuned_crf},
        {K_CRASHES, e->crashes},
        {K_CRASHES_ALONE, e->crashes_alone},
    };

    memset(r, 0, sizeof(*r));
    r->num[K_V] = FORMAT_VERSION;
    r->num[K_SEQ] = e->seq;
    r->str[K_TIME] = e->time;
    r->str[K_TYPE] = "file";
    r->str[K_REL] = e->id.rel;
    r->num[K_SIZE] = e->id.size;
    r->num[K_MTIME_NS] = e->id.mtime_ns;
    r->str[K_HASH] = e->id.hash;
    r->str[K_STATE] = state_name;
    r->num[K_ATTEMPTS] = e->attempts;
    r->present = KBIT(K_V) | KBIT(K_SEQ) | KBIT(K_TIME) | KBIT(K_TYPE) | KBIT(K_REL) |
                 KBIT(K_SIZE) | KBIT(K_MTIME_NS) | KBIT(K_HASH) | KBIT(K_STATE) | KBIT(K_ATTEMPTS);
    /* Absent means zero / none: the lines stay short. */
    if (e->output) {
        r->str[K_OUTPUT] = e->output;
        r->present |= KBIT(K_OUTPUT);
    }
    if (e->original) {
        r->str[K_ORIGINAL] = e->original;
        r->present |= KBIT(K_ORIGINAL);
    }
    if (res->error[0]) {
        r->str[K_ERROR] = res->error;
        r->present |= KBIT(K_ERROR);
    }
    if (res->tuned_for[0]) {
        r->str[K_TUNED_FOR] = res->tuned_for;
        r->present |= KBIT(K_TUNED_FOR);
    }
    if (res->out_hash[0]) {
        r->str[K_OUT_HASH] = res->out_hash;
        r->present |= KBIT(K_OUT_HASH);
    }
    if (e->crash_signals[0]) {
        r->str[K_CRASH_SIGNALS] = e->crash_signals;
        r->present |= KBIT(K_CRASH_SIGNALS);
    }
    if (e->crash[0]) {
        r->str[K_CRASH] = e->crash;
        r->present |= KBIT(K_CRASH);
    }
    for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
        if (opt[i][1]) {
            r->num[opt[i][0]] = opt[i][1];
            r->present |= KBIT(opt[i][0]);
        }
    }
}

/* r has passed check_rec(). */
static RxJournalEntry *entry_from_rec(const Rec *r)
{
    RxJournalEntry *e = calloc(1, sizeof(*e));
    RxResult *res;
    RxState st = RX_STATE_PENDING;

    if (!e)
        return NULL;
    res = &e->result;
    rx_result_init(res);
    state_from_name(r->str[K_STATE], &st);
    res->state = st;
    e->id.rel = strdup(r->str[K_REL]);
    e->id.size = r->num[K_SIZE];
    e->id.mtime_ns = r->num[K_MTIME_NS];
    memcpy(e->id.hash, r->str[K_HASH], 33);
    if (r->present & KBIT(K_OUTPUT))
        e->output = strdup(r->str[K_OUTPUT]);
    if (r->present & KBIT(K_ORIGINAL))
        e->original = strdup(r->str[K_ORIGINAL]);
    if (r->present & KBIT(K_ERROR))
        snprintf(res->error, sizeof(res->error), "%s", r->str[K_ERROR]);
    if (r->present & KBIT(K_OUT_HASH))
        memcpy(res->out_hash, r->str[K_OUT_HASH], 33);
    res->err = (int)r->num[K_ERR];
    res->in_bytes = r->num[K_IN_BYTES];
    res->out_bytes = r->num[K_OUT_BYTES];
    res->in_duration_us = r->num[K_IN_DURATION_US];
    res->video_duration_us = r->num[K_VIDEO_DURATION_US];
    res->audio_duration_us = r->num[K_AUDIO_DURATION_US];
    res->video_frames = r->num[K_VIDEO_FRAMES];
    res->video_frames_elided = r->num[K_VIDEO_ELIDED];
    res->verified = (int)r->num[K_VERIFIED];
    res->decode_errors = r->num[K_DECODE_ERRORS];
    res->audio_tracks = (int)r->num[K_AUDIO_TRACKS];
    res->width = (int)r->num[K_WIDTH];
    res->height = (int)r->num[K_HEIGHT];
    res->wall_seconds = (double)r->num[K_WALL_MS] / 1000.0;
    res->ssim = (double)r->num[K_SSIM_PPM] / 1e6;
    res->ssim_min = (double)r->num[K_SSIM_MIN_PPM] / 1e6;
    res->psnr = (double)r->num[K_PSNR_MDB] / 1000.0;
    res->tuned_crf = (int)r->num[K_TUNED_CRF];
    if (r->present & KBIT(K_TUNED_FOR))
        snprintf(res->tuned_for, sizeof(res->tuned_for), "%s", r->str[K_TUNED_FOR]);
    e->attempts = (int)r->num[K_ATTEMPTS];
    e->seq = r->num[K_SEQ];
    snprintf(e->time, sizeof(e->time), "%s", r->str[K_TIME]);
    e->crashes = (int)r->num[K_CRASHES];
    e->crashes_alone = (int)r->num[K_CRASHES_ALONE];
    if (r->present & KBIT(K_CRASH_SIGNALS))
        snprintf(e->crash_signals, sizeof(e->crash_signals), "%s", r->str[K_CRASH_SIGNALS]);
    if (r->present & KBIT(K_CRASH))
        memcpy(e->crash, r->str[K_CRASH], sizeof(e->crash));
    if (!e->id.rel || ((r->present & KBIT(K_OUTPUT)) && !e->output) ||
        ((r->present & KBIT(K_ORIGINAL)) && !e->original)) {
        entry_free(e);
        return NULL;
    }
    return e;
}

/* ---- the identity index ---- */

static size_t id_slot(int64_t size, const char *hash)
{
    uint64_t h = 0;
    for (int i = 0; i < 16; i++)
        h = h << 4 | (uint64_t)hexval(hash[i]);
    return (size_t)(h ^ ((uint64_t)size * UINT64_C(0x9e3779b97f4a7c15)));
}

/* The table cell of a file, (content, path): the one that holds it, or the
 * empty one where it would go. Copies of one content under several paths
 * are several files; they share a probe sequence (the slot ignores rel). */
static size_t *cell(const RxJournal *j, int64_t size, const char *hash, const char *rel)
{
    size_t mask = j->tcap - 1, h = id_slot(size, hash) & mask;

    while (j->table[h]) {
        const RxJournalEntry *e = j->files[j->table[h] - 1];
        if (e->id.size == size && !memcmp(e->id.hash, hash, 32) && !strcmp(e->id.rel, rel))
            break;
        h = (h + 1) & mask;
    }
    return &j->table[h];
}

/* The first-recorded file with this content under any path, or NULL. */
static RxJournalEntry *same_content(const RxJournal *j, int64_t size, const char *hash)
{
    size_t mask = j->tcap - 1, h = id_slot(size, hash) & mask;

    for (; j->table[h]; h = (h + 1) & mask) {
        RxJournalEntry *e = j->files[j->table[h] - 1];
        if (e->id.size == size && !memcmp(e->id.hash, hash, 32))
            return e;
    }
    return NULL;
}

/* Make room for one more entry, so that publish() cannot fail once a record
 * is on disk. */
static int reserve(RxJournal *j)
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? 2 * j->cap : 64;
        RxJournalEntry **f = realloc(j->files, cap * sizeof(*f));
        if (!f)
            return AVERROR(ENOMEM);
        j->files = f;
        j->cap = cap;
    }
    if ((j->n + 1) * 2 > j->tcap) {
        size_t tcap = 2 * j->tcap, *old = j->table;
        j->table = calloc(tcap, sizeof(*j->table));
        if (!j->table) {
            j->table = old;
            return AVERROR(ENOMEM);
        }
        j->tcap = tcap;
        for (size_t i = 0; i < j->n; i++)
            *cell(j, j->files[i]->id.size, j->files[i]->id.hash, j->files[i]->id.rel) = i + 1;
        free(old);
    }
    if (j->live && j->nretired == j->rcap) {
        size_t cap = j->rcap ? 2 * j->rcap : 64;
        RxJournalEntry **r = realloc(j->retired, cap * sizeof(*r));
        if (!r)
            return AVERROR(ENOMEM);
        j->retired = r;
        j->rcap = cap;
    }
    return 0;
}

/* Make e the latest entry of its identity. Call reserve() first. */
static void publish(RxJournal *j, RxJournalEntry *e)
{
    size_t *c = cell(j, e->id.size, e->id.hash, e->id.rel);

    if (*c) {
        RxJournalEntry **slot = &j->files[*c - 1];
        if (j->live)
            j->retired[j->nretired++] = *slot;
        else
            entry_free(*slot);
        *slot = e;
    } else {
        j->files[j->n++] = e;
        *c = j->n;
    }
}

/* ---- the parser ---- */

/* Decode the string whose opening quote is at p[*pos] into out (which has
 * room: a decoded string is never longer than its spelling). */
static const char *parse_str(const char *p, size_t end, size_t *pos, char *out)
{
    size_t i = *pos + 1, start = i, o = 0;

    for (;;) {
        unsigned char c;
        unsigned v = 0;
        if (i >= end)
            return "unterminated string";
        c = (unsigned char)p[i];
        if (c == '"')
            break;
        if (c < 0x20)
            return "control character in a string";
        if (c != '\\') {
            out[o++] = (char)c;
            i++;
            continue;
        }
        if (end - i < 2)
            return "unterminated string";
        switch (p[i + 1]) {
        case '"':
        case '\\':
            out[o++] = p[i + 1];
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u':
            if (end - i < 6)
                return "unterminated string";
            for (size_t k = 2; k < 6; k++) {
                int h = hexval(p[i + k]);
                if (h < 0)
                    return "bad \\u escape";
                v = v << 4 | (unsigned)h;
            }
            if (v >= 1 && v < 0x80)
                out[o++] = (char)v;
            else if (v >= 0xdc80 && v <= 0xdcff) /* an escaped byte */
                out[o++] = (char)(v & 0xff);
            else
                return "unsupported \\u escape";
            i += 4;
            break;
        default:
            return "bad escape";
        }
        i += 2;
    }
    out[o] = '\0';
    if (!same_spelling(out, p + start, i - start))
        return "string not spelled as the writer spells it";
    *pos = i + 1;
    return NULL;
}

/* A JSON integer that fits int64_t, without leading zeros or "-0". */
static const char *parse_int(const char *p, size_t end, size_t *pos, int64_t *v)
{
    size_t i = *pos;
    uint64_t acc = 0, lim = INT64_MAX;
    int neg = 0;

    if (i < end && p[i] == '-') {
        neg = 1;
        lim = (uint64_t)INT64_MAX + 1;
        i++;
    }
    if (i >= end || p[i] < '0' || p[i] > '9')
        return "expected a number";
    if (p[i] == '0' && i + 1 < end && p[i + 1] >= '0' && p[i + 1] <= '9')
        return "leading zero";
    while (i < end && p[i] >= '0' && p[i] <= '9') {
        unsigned d = (unsigned)(p[i] - '0');
        if (acc > (lim - d) / 10)
            return "number out of range";
        acc = acc * 10 + d;
        i++;
    }
    if (neg && acc == 0)
        return "negative zero";
    if (neg)
        *v = acc > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)acc;
    else
        *v = (int64_t)acc;
    *pos = i;
    return NULL;
}

static int find_key(const char *name, size_t len)
{
    for (int k = 0; k < K_COUNT; k++)
        if (strlen(keys[k].name) == len && !memcmp(keys[k].name, name, len))
            return k;
    return -1;
}

/* Parse the JSON object p[0, end) into r; strings go to scratch (end + 1
 * bytes are enough: each string's quotes pay for its terminator). */
static const char *parse_object(const char *p, size_t end, Rec *r, char *scratch)
{
    size_t i = 1, used = 0;

    memset(r, 0, sizeof(*r));
    if (end < 2 || p[0] != '{')
        return "not a JSON object";
    for (;;) {
        size_t ks;
        const char *why;
        int k;

        if (i >= end || p[i] != '"')
            return "expected a field name";
        ks = ++i;
        while (i < end && p[i] != '"')
            i++;
        if (i >= end)
            return "unterminated field name";
        k = find_key(p + ks, i - ks);
        if (k < 0)
            return "unknown field";
        if (r->present & KBIT(k))
            return "duplicate field";
        i++;
        if (i >= end || p[i] != ':')
            return "expected ':'";
        i++;
        if (keys[k].str) {
            if (i >= end || p[i] != '"')
                return "expected a string";
            why = parse_str(p, end, &i, scratch + used);
            if (why)
                return why;
            r->str[k] = scratch + used;
            used += strlen(scratch + used) + 1;
        } else {
            why = parse_int(p, end, &i, &r->num[k]);
            if (why)
                return why;
        }
        r->present |= KBIT(k);
        if (i >= end)
            return "unterminated object";
        if (p[i] == '}')
            break;
        if (p[i] != ',')
            return "expected ',' or '}'";
        i++;
    }
    if (i + 1 != end)
        return "bytes after the object";
    return NULL;
}

static int in_range(int64_t v, int64_t lo, int64_t hi)
{
    return v >= lo && v <= hi;
}

/* A crash's id: 16 lowercase hex digits. */
static int is_crash_id(const char *s)
{
    for (int i = 0; i < 16; i++)
        if (hexval(s[i]) < 0)
            return 0;
    return s[16] == '\0';
}

/* A signal's name as crash records spell it: "SIG" and 1..8 capitals. */
static int is_signal_name(const char *s, size_t len)
{
    if (len < 4 || len > 11 || memcmp(s, "SIG", 3))
        return 0;
    for (size_t i = 3; i < len; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return 0;
    return 1;
}

/* crash_signals: signal names, each once, separated by commas. */
static int is_signal_list(const char *s)
{
    size_t len = strlen(s);

    if (len >= RX_CRASH_SIGNALS_MAX)
        return 0;
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (!is_signal_name(p, n))
            return 0;
        for (const char *q = s; q < p;) { /* not listed before */
            const char *c = strchr(q, ',');
            if ((size_t)(c - q) == n && !memcmp(q, p, n))
                return 0;
            q = c + 1;
        }
        if (!comma)
            return 1;
        p = comma + 1;
    }
}

/* What the fields mean, now that they are well formed. */
static const char *check_rec(const Rec *r)
{
    static const int ints[] = {K_ERR, K_AUDIO_TRACKS, K_WIDTH, K_HEIGHT, K_ATTEMPTS, K_CRASHES};
    unsigned bit;
    RxState st;

    for (int k = 0; k < K_COUNT; k++)
        if (keys[k].required == TALL && !(r->present & KBIT(k)))
            return "missing field";
    if (r->num[K_V] != FORMAT_VERSION)
        return "unknown format version";
    if (r->num[K_SEQ] < 1)
        return "bad sequence number";
    if (!is_time(r->str[K_TIME]))
        return "bad time";
    if (!strcmp(r->str[K_TYPE], "file"))
        bit = TF;
    else if (!strcmp(r->str[K_TYPE], "session"))
        bit = TS;
    else if (!strcmp(r->str[K_TYPE], "crash"))
        bit = TC;
    else
        return "unknown record type";
    for (int k = 0; k < K_COUNT; k++) {
        if ((r->present & KBIT(k)) && !(keys[k].types & bit))
            return "field not allowed in this record type";
        if (!(r->present & KBIT(k)) && (keys[k].required & bit))
            return "missing field";
    }
    if (bit != TF && !in_range(r->num[K_PID], 1, INT_MAX))
        return "bad pid";
    if ((r->present & KBIT(K_PARENT)) && !in_range(r->num[K_PARENT], 1, INT_MAX))
        return "bad parent";
    if (bit == TS)
        return NULL;
    if (r->num[K_SIZE] < 0)
        return "bad size";
    if (!is_hash(r->str[K_HASH]) ||
        ((r->present & KBIT(K_OUT_HASH)) && !is_hash(r->str[K_OUT_HASH])))
        return "bad hash";
    if ((r->present & KBIT(K_CRASH)) && !is_crash_id(r->str[K_CRASH]))
        return "bad crash id";
    if (bit == TC) {
        if (!in_range(r->num[K_ALONE], 0, 1))
            return "bad alone";
        if (!is_signal_name(r->str[K_SIGNAL], strlen(r->str[K_SIGNAL])))
            return "bad signal";
        return NULL;
    }
    if (state_from_name(r->str[K_STATE], &st) < 0)
        return "unknown state";
    if ((r->present & KBIT(K_ORIGINAL)) && !is_original(r->str[K_ORIGINAL]))
        return "bad original";
    if ((r->present & KBIT(K_ERROR)) && strlen(r->str[K_ERROR]) >= RX_ERROR_MAX)
        return "error text too long";
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        if (!in_range(r->num[ints[i]], ints[i] == K_ERR ? INT_MIN : 0, INT_MAX))
            return "number out of range";
    if (r->num[K_WALL_MS] < 0)
        return "bad wall time";
    if (!in_range(r->num[K_SSIM_PPM], -1000000, 1000000) ||
        !in_range(r->num[K_SSIM_MIN_PPM], -1000000, 1000000) ||
        !in_range(r->num[K_PSNR_MDB], 0, 1000000) ||
        !in_range(r->num[K_TUNED_CRF], 0, 255)) /* rav1e's quantizer goes to 255 */
        return "quality figure out of range";
    if ((r->present & KBIT(K_TUNED_FOR)) &&
        strlen(r->str[K_TUNED_FOR]) >= sizeof(((RxResult *)0)->tuned_for))
        return "tuned_for too long";
    /* A file that crashed has the signals and the crash's id; no other. */
    if (!in_range(r->num[K_CRASHES_ALONE], 0, r->num[K_CRASHES]) ||
        !!r->num[K_CRASHES] != !!(r->present & KBIT(K_CRASH_SIGNALS)) ||
        !!r->num[K_CRASHES] != !!(r->present & KBIT(K_CRASH)))
        return "bad crash counts";
    if ((r->present & KBIT(K_CRASH_SIGNALS)) && !is_signal_list(r->str[K_CRASH_SIGNALS]))
        return "bad crash signals";
    return NULL;
}

/* One line without its '\n' (len bytes). NULL if valid, else why not. */
static const char *parse_line(const char *p, size_t len, Rec *r, char *scratch)
{
    size_t json = len - CRC_SUFFIX_LEN;
    uint32_t crc = 0;
    const char *why;

    if (len < 2 + CRC_SUFFIX_LEN || p[json] != ' ')
        return "no checksum";
    for (size_t i = json + 1; i < len; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return "no checksum";
        crc = crc << 4 | (uint32_t)h;
    }
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    /* Fuzzers cannot forge checksums: let them reach the parser. */
    if (crc != crc32_of(p, json))
        return "bad checksum";
#endif
    why = parse_object(p, json, r, scratch);
    return why ? why : check_rec(r);
}

/* ---- replay ---- */

enum LoadMode {
    LOAD_STRICT,  /* open: torn tail ignored, damaged middle refused */
    LOAD_SALVAGE, /* repair: damaged lines dropped, the valid ones kept */
    LOAD_PEEK,    /* lock refused: only the last session record matters */
};

/* Could these bytes be the start of a journal (or what a crash leaves of
 * one)? Keeps open and repair from "repairing" a file that is not ours. */
static int looks_like_journal(const char *p, size_t len)
{
    size_t n = len < sizeof(LINE_PREFIX) - 1 ? len : sizeof(LINE_PREFIX) - 1;
    size_t i = 0;

    if (!memcmp(p, LINE_PREFIX, n))
        return 1;
    while (i < len && p[i] == '\0') /* some file systems zero-fill a torn tail */
        i++;
    return i == len;
}

static void note_bad(RxJournalReport *rep, long line, int64_t offset, const char *why)
{
    rep->corrupt_line = line;
    rep->corrupt_offset = offset;
    snprintf(rep->reason, sizeof(rep->reason), "%s", why);
}

/*
 * Replay buf into j (NULL in LOAD_PEEK). *valid_end is set to the end of the
 * last valid record. In LOAD_SALVAGE the valid lines are copied, in order, to
 * kept (len bytes of room) and *kept_len is set.
 */
static int load(RxJournal *j, const char *buf, size_t len, RxJournalReport *rep, enum LoadMode mode,
                int64_t *valid_end, char *kept, size_t *kept_len)
{
    char *scratch = malloc(LINE_MAX_BYTES + 1);
    int64_t last_seq = 0;
    size_t off = 0, nkept = 0;
    long line = 0;
    int ret = 0;

    *valid_end = 0;
    if (!scratch)
        return AVERROR(ENOMEM);
    while (off < len) {
        const char *nl = memchr(buf + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
        size_t next = nl ? off + n + 1 : len;
        const char *why;
        Rec r;

        line++;
        if (n >= LINE_MAX_BYTES)
            why = "line too long";
        else if (!nl)
            why = "incomplete line (no newline at the end)";
        else
            why = parse_line(buf + off, n, &r, scratch);
        if (!why && !strcmp(r.str[K_TYPE], "crash"))
            why = "crash record in a journal";
        if (!why && r.num[K_SEQ] <= last_seq)
            why = "sequence number does not increase";
        if (!why) {
            if (!strcmp(r.str[K_TYPE], "session")) {
                rep->holder_pid = (long)r.num[K_PID];
                rep->holder_run = (long)r.num[r.present & KBIT(K_PARENT) ? K_PARENT : K_PID];
                snprintf(rep->holder_host, sizeof(rep->holder_host), "%s", r.str[K_HOST]);
                snprintf(rep->holder_time, sizeof(rep->holder_time), "%s", r.str[K_TIME]);
            } else if (mode != LOAD_PEEK) {
                RxJournalEntry *e;
                ret = reserve(j);
                if (ret < 0)
                    goto done;
                e = entry_from_rec(&r);
                if (!e) {
                    ret = AVERROR(ENOMEM);
                    goto done;
                }
                publish(j, e);
            }
            if (j)
                j->seq = r.num[K_SEQ];
            last_seq = r.num[K_SEQ];
            rep->records++;
            if (mode == LOAD_SALVAGE) {
                memcpy(kept + nkept, buf + off, next - off);
                nkept += next - off;
            }
            *valid_end = (int64_t)next;
            off = next;
            continue;
        }
        switch (mode) {
        case LOAD_PEEK:
            break;
        case LOAD_SALVAGE:
            if (!rep->dropped)
                note_bad(rep, line, (int64_t)off, why);
            rep->dropped++;
            break;
        case LOAD_STRICT:
            /* Only the last line can be a torn write (every later append
             * starts by cutting it off), and only if it could be a record. */
            if (next < len || n >= LINE_MAX_BYTES) {
                note_bad(rep, line, (int64_t)off, why);
                ret = AVERROR_INVALIDDATA;
                goto done;
            }
            if (!rep->records && !looks_like_journal(buf + off, n)) {
                note_bad(rep, line, (int64_t)off, "not a reencode journal");
                ret = AVERROR_INVALIDDATA;
                goto done;
            }
            /* What a crash leaves: the write of the last record was cut. */
            rep->torn_tail = 1;
            rep->torn_line = line;
            rep->torn_offset = (int64_t)off;
            snprintf(rep->reason, sizeof(rep->reason), "%s", why);
            break;
        }
        off = next;
    }
    if (mode == LOAD_SALVAGE) {
        *kept_len = nkept;
        if (!rep->records && len && !looks_like_journal(buf, len)) {
            snprintf(rep->reason, sizeof(rep->reason), "not a reencode journal");
            ret = AVERROR_INVALIDDATA;
        }
    }
done:
    free(scratch);
    return ret;
}

/* ---- crash files ---- */

void rx_journal_crash_head(AVBPrint *bp, const RxFileId *id, long pid, const char *crash,
                           size_t max)
{
    AVBPrint rel;
    int fits;

    /* crash and hash are hex: no escaping needed. The fields but rel take
     * less than 160 bytes. */
    av_bprint_init(&rel, 0, AV_BPRINT_SIZE_UNLIMITED);
    put_str(&rel, id->rel ? id->rel : "");
    fits = av_bprint_is_complete(&rel) && rel.len + 160 <= max;
    av_bprintf(bp,
               LINE_PREFIX "\"seq\":1,\"type\":\"crash\",\"pid\":%ld,\"crash\":\"%s\",\"rel\":%s,"
                           "\"size\":%" PRId64 ",\"hash\":\"%s\"",
               pid, crash, fits ? rel.str : "\"\"", id->size, id->hash);
    av_bprint_finalize(&rel, NULL);
}

void rx_journal_crashes_free(RxCrashRecord **recs, size_t n)
{
    if (!recs || !*recs)
        return;
    for (size_t i = 0; i < n; i++)
        rx_file_id_clear(&(*recs)[i].id);
    av_freep(recs);
}

int rx_journal_read_crashes(const char *buf, size_t len, RxCrashRecord **out, size_t *n,
                            RxJournalReport *report)
{
    RxJournalReport dummy;
    char *scratch = malloc(LINE_MAX_BYTES + 1);
    RxCrashRecord *recs = NULL;
    size_t off = 0, cap = 0;
    long line = 0;
    int ret = 0;

    if (!report)
        report = &dummy;
    memset(report, 0, sizeof(*report));
    *out = NULL;
    *n = 0;
    if (!scratch)
        return AVERROR(ENOMEM);
    while (off < len) {
        const char *nl = memchr(buf + off, '\n', len - off);
        size_t ln = nl ? (size_t)(nl - (buf + off)) : len - off;
        const char *why;
        RxCrashRecord *c;
        Rec r;

        line++;
        if (ln >= LINE_MAX_BYTES)
            why = "line too long";
        else if (!nl)
            why = "incomplete line (no newline at the end)";
        else
            why = parse_line(buf + off, ln, &r, scratch);
        if (!why && strcmp(r.str[K_TYPE], "crash"))
            why = "not a crash record";
        if (!why && *n == cap) {
            RxCrashRecord *more = av_realloc_array(recs, cap ? 2 * cap : 8, sizeof(*recs));
            if (!more) {
                ret = AVERROR(ENOMEM);
                break;
            }
            recs = more;
            cap = cap ? 2 * cap : 8;
        }
        if (!why) {
            c = &recs[*n];
            memset(c, 0, sizeof(*c));
            c->id.rel = strdup(r.str[K_REL]);
            if (!c->id.rel) {
                ret = AVERROR(ENOMEM);
                break;
            }
            c->id.size = r.num[K_SIZE];
            memcpy(c->id.hash, r.str[K_HASH], sizeof(c->id.hash));
            c->pid = (long)r.num[K_PID];
            memcpy(c->crash, r.str[K_CRASH], sizeof(c->crash));
            snprintf(c->signal, sizeof(c->signal), "%s", r.str[K_SIGNAL]);
            c->alone = (int)r.num[K_ALONE];
            snprintf(c->time, sizeof(c->time), "%s", r.str[K_TIME]);
            (*n)++;
            report->records++;
        } else {
            if (!report->dropped)
                note_bad(report, line, (int64_t)off, why);
            report->dropped++;
        }
        off = nl ? off + ln + 1 : len;
    }
    free(scratch);
    if (ret < 0) {
        rx_journal_crashes_free(&recs, *n);
        *n = 0;
        return ret;
    }
    *out = recs;
    return 0;
}

/* ---- the journal ---- */

int rx_journal_dir_create(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0755) == 0)
        return rx_fsync_parent(dir);
    if (errno != EEXIST)
        return AVERROR(errno);
    if (stat(dir, &st) < 0)
        return AVERROR(errno);
    return S_ISDIR(st.st_mode) ? 0 : AVERROR(ENOTDIR);
}

static RxJournal *journal_new(void)
{
    RxJournal *j = calloc(1, sizeof(*j));

    if (!j)
        return NULL;
    j->fd = -1;
    j->tcap = 64;
    j->table = calloc(j->tcap, sizeof(*j->table));
    if (!j->table || pthread_mutex_init(&j->lock, NULL)) {
        free(j->table);
        free(j);
        return NULL;
    }
    return j;
}

void rx_journal_close(RxJournal **pj)
{
    RxJournal *j = pj ? *pj : NULL;

    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++)
        entry_free(j->files[i]);
    for (size_t i = 0; i < j->nretired; i++)
        entry_free(j->retired[i]);
    free(j->files);
    free(j->retired);
    free(j->table);
    if (j->fd >= 0)
        close(j->fd); /* releases the lock */
    pthread_mutex_destroy(&j->lock);
    free(j);
    *pj = NULL;
}

/* After a refused lock: who holds it? The holder appends its session record
 * right after locking, so for a moment the last one may still be its
 * predecessor's; a dead pid on this host means exactly that, so look again
 * (briefly: the caller wants an answer at once). */
static void peek_holder(int fd, RxJournalReport *rep)
{
    char host[256] = "";

    gethostname(host, sizeof(host) - 1);
    for (int tries = 0; tries < 10; tries++) {
        RxJournalReport r = {0};
        int64_t end;
        size_t len;
        char *buf;

        if (read_all(fd, &buf, &len) < 0)
            return;
        load(NULL, buf, len, &r, LOAD_PEEK, &end, NULL, NULL);
        free(buf);
        rep->holder_pid = r.holder_pid;
        rep->holder_run = r.holder_run;
        memcpy(rep->holder_host, r.holder_host, sizeof(rep->holder_host));
        memcpy(rep->holder_time, r.holder_time, sizeof(rep->holder_time));
        if (r.holder_pid &&
            (strcmp(r.holder_host, host) || kill((pid_t)r.holder_pid, 0) == 0 || errno != ESRCH))
            return;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
}

/* Is the lock holder rep names a process of this host on its way out? A
 * killed process keeps its lock until its last thread has torn down its
 * memory, some milliseconds after a parent or a shell saw it die: a
 * supervisor's worker killed with it (supervise.h), a run killed and
 * restarted at once. Its kernel state says so: a zombie, or exiting. */
static int holder_exiting(const RxJournalReport *rep)
{
    char host[256] = "", path[64], buf[512], status[4096], state;
    unsigned long flags = 0;
    const char *p;
    ssize_t n;
    int fd;

    gethostname(host, sizeof(host) - 1);
    if (rep->holder_pid <= 0 || strcmp(rep->holder_host, host))
        return 0;
    snprintf(path, sizeof(path), "/proc/%ld/stat", rep->holder_pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* gone (then not the holder), or no /proc */
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* "pid (comm) S ppid pgrp session tty tpgid flags ...": comm may hold
     * anything, so from the last ')'. */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
        return 0;
    if (state == 'Z' || state == 'X' || (flags & 0x4)) /* PF_EXITING */
        return 1;
    /* A SIGKILL pending: sent a moment ago, not yet acted on. */
    snprintf(path, sizeof(path), "/proc/%ld/status", rep->holder_pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, status, sizeof(status) - 1);
    close(fd);
    status[n > 0 ? n : 0] = '\0';
    for (const char *key = "SigPnd:"; key; key = strcmp(key, "SigPnd:") ? NULL : "ShdPnd:") {
        unsigned long long pending = 0;
        p = strstr(status, key);
        if (p && sscanf(p + strlen(key), " %llx", &pending) == 1 &&
            (pending & (1ull << (SIGKILL - 1))))
            return 1;
    }
    return 0;
}

/* Open path read-write and lock it. The lock is on the inode: if path names
 * another file once we hold it (a repair renamed a new journal over it while
 * we waited), the lock protects nothing, so start again. A holder that is
 * exiting is waited for, up to 5 s. */
static int open_locked(const char *path, int create, int wait, RxJournalReport *rep, int *pfd)
{
    for (int exiting = 0;;) {
        struct stat a, b;
        int fd, created = 0, ret;

        fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
            fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_CREAT | O_EXCL, 0644);
            if (fd < 0 && errno == EEXIST)
                continue;
            created = 1;
        }
        if (fd < 0)
            return AVERROR(errno);
        if (created) {
            ret = rx_fsync_parent(path);
            if (ret < 0) {
                close(fd);
                return ret;
            }
        }
        if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
            ret = AVERROR(errno);
            if (errno == EWOULDBLOCK)
                peek_holder(fd, rep);
            close(fd);
            if (ret == AVERROR(EWOULDBLOCK) && exiting++ < 250 && holder_exiting(rep)) {
                nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
                continue;
            }
            return ret;
        }
        if (fstat(fd, &a) < 0) {
            ret = AVERROR(errno);
            close(fd);
            return ret;
        }
        if (stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            if (!S_ISREG(a.st_mode)) {
                close(fd);
                return AVERROR(EINVAL);
            }
            *pfd = fd;
            return 0;
        }
        close(fd);
    }
}

/* Append one whole line and make it durable. Caller holds j->lock (or is
 * alone with j). */
static int write_line(RxJournal *j, const char *line, size_t len)
{
    size_t done = 0;

    if (j->failed)
        return j->failed;
    /* One write() nearly always; the loop is for the rare short write. */
    while (done < len) {
        ssize_t w = write(j->fd, line + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int ret = w < 0 ? AVERROR(errno) : AVERROR(EIO);
            /* Cut a partial line off now, or the next record would be glued
             * to it and the damage would no longer be at the tail. */
            if (done && ftruncate(j->fd, (off_t)j->end) < 0)
                j->failed = ret;
            return ret;
        }
        done += (size_t)w;
    }
    if (fdatasync(j->fd) < 0) {
        /* The kernel may have dropped the dirty pages: what is on disk is
         * unknown, so nothing more may be trusted to this descriptor. */
        j->failed = AVERROR(errno);
        return j->failed;
    }
    j->end += (int64_t)len;
    return 0;
}

static int append_session(RxJournal *j, int supervised)
{
    char host[256] = "", time[32];
    AVBPrint bp;
    Rec r = {0};
    int ret;

    if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
        snprintf(host, sizeof(host), "unknown");
    now_iso(time);
    r.present = KBIT(K_V) | KBIT(K_SEQ) | KBIT(K_TIME) | KBIT(K_TYPE) | KBIT(K_PID) | KBIT(K_HOST);
    r.num[K_V] = FORMAT_VERSION;
    r.num[K_SEQ] = j->seq + 1;
    r.str[K_TIME] = time;
    r.str[K_TYPE] = "session";
    r.num[K_PID] = getpid();
    r.str[K_HOST] = host;
    if (supervised) { /* the run a person started and would signal */
        r.num[K_PARENT] = getppid();
        r.present |= KBIT(K_PARENT);
    }
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    format_rec(&bp, &r);
    if (!av_bprint_is_complete(&bp))
        ret = AVERROR(ENOMEM);
    else
        ret = write_line(j, bp.str, bp.len);
    if (ret >= 0)
        j->seq++;
    av_bprint_finalize(&bp, NULL);
    return ret;
}

int rx_journal_open(RxJournal **out, const char *path, unsigned flags, RxJournalReport *report)
{
    RxJournalReport dummy;
    RxJournal *j = NULL;
    char *buf = NULL;
    size_t len;
    int64_t valid_end;
    int ret;

    if (!report)
        report = &dummy;
    memset(report, 0, sizeof(*report));
    *out = NULL;
    j = journal_new();
    if (!j)
        return AVERROR(ENOMEM);
    j->readonly = !!(flags & RX_JOURNAL_READONLY);
    if (j->readonly) {
        j->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (j->fd < 0) {
            ret = AVERROR(errno);
            goto fail;
        }
    } else {
        ret = open_locked(path, 1, !!(flags & RX_JOURNAL_WAIT), report, &j->fd);
        if (ret < 0)
            goto fail;
    }
    ret = read_all(j->fd, &buf, &len);
    if (ret < 0)
        goto fail;
    ret = load(j, buf, len, report, LOAD_STRICT, &valid_end, NULL, NULL);
    if (ret < 0)
        goto fail;
    j->end = valid_end;
    if (!j->readonly) {
        if (report->torn_tail && (ftruncate(j->fd, (off_t)valid_end) < 0 || fsync(j->fd) < 0)) {
            ret = AVERROR(errno);
            goto fail;
        }
        ret = append_session(j, !!(flags & RX_JOURNAL_SUPERVISED));
        if (ret < 0)
            goto fail;
    }
    j->live = 1;
    free(buf);
    *out = j;
    return 0;
fail:
    free(buf);
    rx_journal_close(&j);
    return ret;
}

int rx_journal_open_buffer(RxJournal **out, const void *data, size_t size, RxJournalReport *report)
{
    RxJournalReport dummy;
    RxJournal *j;
    int64_t valid_end;
    int ret;

    if (!report)
        report = &dummy;
    memset(report, 0, sizeof(*report));
    *out = NULL;
    j = journal_new();
    if (!j)
        return AVERROR(ENOMEM);
    j->readonly = 1;
    ret = load(j, data, size, report, LOAD_STRICT, &valid_end, NULL, NULL);
    if (ret < 0) {
        rx_journal_close(&j);
        return ret;
    }
    j->end = valid_end;
    j->live = 1;
    *out = j;
    return 0;
}

static int valid_id(const RxFileId *id)
{
    return id && id->rel && id->size >= 0 && is_hash(id->hash);
}

/* The latest entry of the file (content and path), or NULL. Caller holds
 * j->lock. */
static RxJournalEntry *lookup(const RxJournal *j, const RxFileId *id)
{
    size_t *c = cell(j, id->size, id->hash, id->rel);
    return *c ? j->files[*c - 1] : NULL;
}

const RxJournalEntry *rx_journal_find(RxJournal *j, const RxFileId *id)
{
    const RxJournalEntry *e;

    if (!j || !valid_id(id))
        return NULL;
    pthread_mutex_lock(&j->lock);
    e = lookup(j, id);
    if (!e)
        e = same_content(j, id->size, id->hash);
    pthread_mutex_unlock(&j->lock);
    return e;
}

/* The entry that a record of (id, state, ...) makes, given the previous one. */
static RxJournalEntry *entry_next(const RxJournalEntry *prev, const RxFileId *id, RxState state,
                                  const RxResult *res, const char *output, const char *original,
                                  int note)
{
    RxJournalEntry *e = calloc(1, sizeof(*e));
    const RxJournalEntry *carry = state == RX_STATE_STARTED && !note ? NULL : prev;
    int new_attempt;

    if (!e)
        return NULL;
    new_attempt =
        !note &&
        (state == RX_STATE_STARTED ||
         (state != RX_STATE_PENDING && (!prev || (prev->result.state != RX_STATE_STARTED &&
                                                  prev->result.state != RX_STATE_ENCODED))));
    e->id.rel = strdup(id->rel);
    e->id.size = id->size;
    e->id.mtime_ns = id->mtime_ns;
    memcpy(e->id.hash, id->hash, 33);
    if (res)
        e->result = *res;
    else if (carry)
        e->result = carry->result;
    else
        rx_result_init(&e->result);
    e->result.state = state;
    e->result.error[RX_ERROR_MAX - 1] = '\0';
    if (!is_hash(e->result.out_hash)) /* only a real one is written */
        memset(e->result.out_hash, 0, sizeof(e->result.out_hash));
    /* As a replay will read it back. */
    e->result.wall_seconds = (double)wall_ms(e->result.wall_seconds) / 1000.0;
    e->result.ssim = (double)millionths(e->result.ssim) / 1e6;
    e->result.ssim_min = (double)millionths(e->result.ssim_min) / 1e6;
    e->result.psnr = (double)millidecibels(e->result.psnr) / 1000.0;
    if (output || (carry && carry->output))
        e->output = strdup(output ? output : carry->output);
    if (original || (carry && carry->original))
        e->original = strdup(original ? original : carry->original);
    e->attempts = (prev ? prev->attempts : 0) + new_attempt;
    if (prev) { /* a file's crashes outlive its attempts: they say how to run it */
        e->crashes = prev->crashes;
        e->crashes_alone = prev->crashes_alone;
        memcpy(e->crash_signals, prev->crash_signals, sizeof(e->crash_signals));
        memcpy(e->crash, prev->crash, sizeof(e->crash));
    }
    if (!e->id.rel || ((output || (carry && carry->output)) && !e->output) ||
        ((original || (carry && carry->original)) && !e->original)) {
        entry_free(e);
        return NULL;
    }
    return e;
}

/* Add one crash to e (a new entry, not yet published). */
static void add_crash(RxJournalEntry *e, const RxCrashRecord *c)
{
    size_t len = strlen(e->crash_signals), n = strlen(c->signal);
    const char *p = e->crash_signals;

    e->crashes += e->crashes < INT_MAX;
    e->crashes_alone += c->alone && e->crashes_alone < e->crashes;
    memcpy(e->crash, c->crash, sizeof(e->crash));
    for (;;) { /* each signal named once */
        const char *comma = strchr(p, ',');
        size_t k = comma ? (size_t)(comma - p) : strlen(p);
        if (k == n && !memcmp(p, c->signal, n))
            return;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (len + !!len + n < sizeof(e->crash_signals))
        snprintf(e->crash_signals + len, sizeof(e->crash_signals) - len, "%s%s", len ? "," : "",
                 c->signal);
}

/* A record of id; with note, one in its latest state and attempt
 * (rx_journal_note()), state ignored; with crash, that crash added
 * (rx_journal_crash()). */
static int record(RxJournal *j, const RxFileId *id, RxState state, const RxResult *res,
                  const char *output, const char *original, int note, const RxCrashRecord *crash)
{
    const RxJournalEntry *prev;
    RxJournalEntry *e = NULL;
    AVBPrint bp;
    Rec r;
    int ret;

    if (!j || !valid_id(id) || (int)state < RX_STATE_PENDING || state > RX_STATE_INTERRUPTED ||
        (original && !is_original(original)))
        return AVERROR(EINVAL);
    if (j->readonly)
        return AVERROR(EBADF);
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    pthread_mutex_lock(&j->lock);
    ret = reserve(j);
    if (ret < 0)
        goto fail;
    prev = lookup(j, id);
    if ((note || crash) && !prev) {
        ret = crash ? AVERROR(ENOENT) : AVERROR(EINVAL);
        goto fail;
    }
    if (crash && !strcmp(prev->crash, crash->crash))
        goto fail; /* folded in before: ret is 0 */
    if (note)
        state = prev->result.state;
    e = entry_next(prev, id, state, res, output, original, note);
    if (!e) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    if (crash)
        add_crash(e, crash);
    e->seq = j->seq + 1;
    now_iso(e->time);
    rec_from_entry(&r, e, rx_state_name(state));
    format_rec(&bp, &r);
    if (!av_bprint_is_complete(&bp)) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    if (bp.len >= LINE_MAX_BYTES) {
        ret = AVERROR(ENAMETOOLONG);
        goto fail;
    }
    ret = write_line(j, bp.str, bp.len);
    if (ret < 0)
        goto fail;
    /* Only now that it is on disk may find() answer with it. */
    j->seq = e->seq;
    publish(j, e);
    e = NULL;
fail:
    pthread_mutex_unlock(&j->lock);
    av_bprint_finalize(&bp, NULL);
    entry_free(e);
    return ret;
}

int rx_journal_record(RxJournal *j, const RxFileId *id, RxState state, const RxResult *res,
                      const char *output, const char *original)
{
    return record(j, id, state, res, output, original, 0, NULL);
}

int rx_journal_note(RxJournal *j, const RxFileId *id, const RxResult *res)
{
    if (!res)
        return AVERROR(EINVAL);
    return record(j, id, RX_STATE_PENDING, res, NULL, NULL, 1, NULL);
}

int rx_journal_crash(RxJournal *j, const RxCrashRecord *c, const RxResult *failed)
{
    const RxJournalEntry *e;

    if (!j || !c || !is_crash_id(c->crash) || !is_signal_name(c->signal, strlen(c->signal)))
        return AVERROR(EINVAL);
    e = rx_journal_find(j, &c->id);
    if (!e)
        return AVERROR(ENOENT);
    /* Entries live until close: e->id stays valid while record() runs. */
    if (failed)
        return record(j, &e->id, RX_STATE_FAILED, failed, NULL, NULL, 0, c);
    return record(j, &e->id, RX_STATE_PENDING, NULL, NULL, NULL, 1, c);
}

int64_t rx_journal_seq(RxJournal *j)
{
    int64_t seq;

    if (!j)
        return 0;
    pthread_mutex_lock(&j->lock);
    seq = j->seq;
    pthread_mutex_unlock(&j->lock);
    return seq;
}

size_t rx_journal_count(RxJournal *j)
{
    size_t n;

    if (!j)
        return 0;
    pthread_mutex_lock(&j->lock);
    n = j->n;
    pthread_mutex_unlock(&j->lock);
    return n;
}

const RxJournalEntry *rx_journal_entry(RxJournal *j, size_t i)
{
    const RxJournalEntry *e = NULL;

    if (!j)
        return NULL;
    pthread_mutex_lock(&j->lock);
    if (i < j->n)
        e = j->files[i];
    pthread_mutex_unlock(&j->lock);
    return e;
}

/* ---- repair ---- */

/* Create path (it must not exist) with these bytes, durably but for its
 * name: the caller syncs the directory. */
static int write_new_file(const char *path, const char *data, size_t len, mode_t mode)
{
    size_t done = 0;
    int fd, ret = 0;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return AVERROR(errno);
    while (done < len && ret == 0) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno != EINTR)
            ret = AVERROR(errno);
        else if (w > 0)
            done += (size_t)w;
    }
    if (ret == 0 && fsync(fd) < 0)
        ret = AVERROR(errno);
    if (close(fd) < 0 && ret == 0)
        ret = AVERROR(errno);
    if (ret < 0)
        unlink(path);
    return ret;
}

int rx_journal_repair(const char *path, RxJournalReport *report)
{
    RxJournalReport dummy;
    RxJournal *j = NULL;
    char *buf = NULL, *kept = NULL, *tmp = NULL, *bak = NULL;
    size_t len, kept_len = 0, plen = strlen(path);
    int64_t valid_end;
    struct stat st;
    int fd = -1, ret;

    if (!report)
        report = &dummy;
    memset(report, 0, sizeof(*report));
    ret = open_locked(path, 0, 0, report, &fd);
    if (ret < 0)
        return ret;
    if (fstat(fd, &st) < 0) {
        ret = AVERROR(errno);
        goto fail;
    }
    ret = read_all(fd, &buf, &len);
    if (ret < 0)
        goto fail;
    j = journal_new();
    kept = malloc(len + 1);
    tmp = malloc(plen + 32);
    bak = malloc(plen + 64);
    if (!j || !kept || !tmp || !bak) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    ret = load(j, buf, len, report, LOAD_SALVAGE, &valid_end, kept, &kept_len);
    if (ret < 0 || !report->dropped)
        goto fail;

    /* The original first, so that nothing is lost whatever happens next. */
    for (int k = 0;; k++) {
        long long t = (long long)time(NULL);
        if (k)
            snprintf(bak, plen + 64, "%s.bak-%lld-%d", path, t, k);
        else
            snprintf(bak, plen + 64, "%s.bak-%lld", path, t);
        ret = write_new_file(bak, buf, len, st.st_mode & 07777);
        if (ret != AVERROR(EEXIST) || k == 99)
            break;
    }
    if (ret < 0)
        goto fail;
    snprintf(report->backup, sizeof(report->backup), "%s", bak);
    snprintf(tmp, plen + 32, "%s.tmp-%ld", path, (long)getpid());
    unlink(tmp); /* a stale one: a crashed repair that had our pid */
    ret = write_new_file(tmp, kept, kept_len, st.st_mode & 07777);
    if (ret < 0)
        goto fail;
    if (rename(tmp, path) < 0) {
        ret = AVERROR(errno);
        unlink(tmp);
        goto fail;
    }
    ret = rx_fsync_parent(path);
fail:
    rx_journal_close(&j);
    free(bak);
    free(tmp);
    free(kept);
    free(buf);
    if (fd >= 0)
        close(fd);
    return ret;
}

void rx_journal_entry_json(AVBPrint *bp, const RxJournalEntry *e, const char *status,
                           const char *path)
{
    if (!path)
        path = e->id.rel ? e->id.rel : "";
    av_bprintf(bp, "\"status\":\"%s\",\"state\":\"%s\",\"path\":", status,
               rx_state_name(e->result.state));
    if (rx_text_json(bp, path)) {
        av_bprintf(bp, ",\"path_hex\":");
        rx_text_hex(bp, path);
    }
    av_bprintf(bp,
               ",\"in_bytes\":%lld,\"out_bytes\":%lld,\"seconds\":%.1f,\"attempts\":%d,"
               "\"in_duration_us\":%lld,\"video_duration_us\":%lld,"
               "\"video_frames\":%lld,\"video_frames_elided\":%lld,\"verified\":\"%s\","
               "\"time\":\"%s\",\"error\":",
               (long long)e->result.in_bytes, (long long)e->result.out_bytes,
               e->result.wall_seconds, e->attempts, (long long)e->result.in_duration_us,
               (long long)e->result.video_duration_us, (long long)e->result.video_frames,
               (long long)e->result.video_frames_elided, rx_verified_name(e->result.verified),
               e->time);
    rx_text_json(bp, e->result.error);
    if (e->result.ssim > 0)
        av_bprintf(bp, ",\"ssim\":%.6f,\"ssim_min\":%.6f,\"psnr\":%.3f", e->result.ssim,
                   e->result.ssim_min, e->result.psnr);
    if (e->result.tuned_crf)
        av_bprintf(bp, ",\"tuned_crf\":%d", e->result.tuned_crf);
    if (e->crashes)
        av_bprintf(bp, ",\"crashes\":%d,\"crashes_alone\":%d,\"crash_signals\":\"%s\"", e->crashes,
                   e->crashes_alone, e->crash_signals);
    av_bprintf(bp, ",\"original\":");
    rx_text_json(bp, e->original ? e->original : "");
    av_bprintf(bp, ",\"output\":");
    if (rx_text_json(bp, e->output ? e->output : "")) {
        av_bprintf(bp, ",\"output_hex\":");
        rx_text_hex(bp, e->output);
    }
}
