/*
 * record.c - the journal's record codec: format and parse one line (see
 * record.h, and docs/journal.md for the format).
 *
 * The parser is strict and bounded: it works on (pointer, length) and checks
 * every index against the length before reading, because it reads whatever a
 * crash, a disk or a fuzzer left in the file. Strings must be in exactly the
 * form the writer produces (checked by re-encoding what was decoded), so one
 * file name has one spelling and decoding is reversible byte for byte.
 */
#include "journal/record.h"

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
#include <libavutil/crc.h>
#include <libavutil/error.h>

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

static const char *const originals[] = {"renamed", "kept", "deleted"};

/* ---- small helpers ---- */

static uint32_t crc32_of(const void *data, size_t size)
{
    /* zlib's CRC-32 (reflected IEEE, ~0 in and out), so that anyone can check
     * a line with any zlib binding. */
    return av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX, data, size) ^ UINT32_MAX;
}

int rx_rec_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case is not ours */
}

int rx_rec_is_hash(const char *s)
{
    for (int i = 0; i < 32; i++)
        if (rx_rec_hexval(s[i]) < 0)
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
void rx_rec_format(AVBPrint *bp, const Rec *r)
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
void rx_rec_now_iso(char out[32])
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

int rx_rec_state_from_name(const char *name, RxState *st)
{
    for (int s = RX_STATE_PENDING; s <= RX_STATE_INTERRUPTED; s++) {
        if (!strcmp(name, rx_state_name((RxState)s))) {
            *st = (RxState)s;
            return 0;
        }
    }
    return -1;
}

int rx_rec_is_original(const char *s)
{
    for (size_t i = 0; i < sizeof(originals) / sizeof(originals[0]); i++)
        if (!strcmp(s, originals[i]))
            return 1;
    return 0;
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
                int h = rx_rec_hexval(p[i + k]);
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
int rx_rec_is_crash_id(const char *s)
{
    for (int i = 0; i < 16; i++)
        if (rx_rec_hexval(s[i]) < 0)
            return 0;
    return s[16] == '\0';
}

/* A signal's name as crash records spell it: "SIG" and 1..8 capitals. */
int rx_rec_is_signal_name(const char *s, size_t len)
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
        if (!rx_rec_is_signal_name(p, n))
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
    if (!rx_rec_is_hash(r->str[K_HASH]) ||
        ((r->present & KBIT(K_OUT_HASH)) && !rx_rec_is_hash(r->str[K_OUT_HASH])))
        return "bad hash";
    if ((r->present & KBIT(K_CRASH)) && !rx_rec_is_crash_id(r->str[K_CRASH]))
        return "bad crash id";
    if (bit == TC) {
        if (!in_range(r->num[K_ALONE], 0, 1))
            return "bad alone";
        if (!rx_rec_is_signal_name(r->str[K_SIGNAL], strlen(r->str[K_SIGNAL])))
            return "bad signal";
        return NULL;
    }
    if (rx_rec_state_from_name(r->str[K_STATE], &st) < 0)
        return "unknown state";
    if ((r->present & KBIT(K_ORIGINAL)) && !rx_rec_is_original(r->str[K_ORIGINAL]))
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
const char *rx_rec_parse_line(const char *p, size_t len, Rec *r, char *scratch)
{
    size_t json = len - CRC_SUFFIX_LEN;
    uint32_t crc = 0;
    const char *why;

    if (len < 2 + CRC_SUFFIX_LEN || p[json] != ' ')
        return "no checksum";
    for (size_t i = json + 1; i < len; i++) {
        int h = rx_rec_hexval(p[i]);
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

/* Could these bytes be the start of a journal (or what a crash leaves of
 * one)? Keeps open and repair from "repairing" a file that is not ours. */
int rx_rec_looks_like_journal(const char *p, size_t len)
{
    size_t n = len < sizeof(LINE_PREFIX) - 1 ? len : sizeof(LINE_PREFIX) - 1;
    size_t i = 0;

    if (!memcmp(p, LINE_PREFIX, n))
        return 1;
    while (i < len && p[i] == '\0') /* some file systems zero-fill a torn tail */
        i++;
    return i == len;
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
