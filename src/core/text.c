/*
 * text.c - escaping and number formatting for output (see text.h).
 */
#include <stdio.h>
#include <string.h>

#include "core/text.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && s[1] < 0xa0) /* overlong */
            return 0;
        if (c == 0xed && s[1] >= 0xa0) /* surrogates */
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && s[1] < 0x90) /* overlong */
            return 0;
        if (c == 0xf4 && s[1] >= 0x90) /* above U+10FFFF */
            return 0;
        return 4;
    }
    return 0;
}

int rx_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int n = utf8_len(p);
        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

void rx_text_human(AVBPrint *bp, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int n = utf8_len(p);
        if (n == 1 && *p == '\\') {
            av_bprintf(bp, "\\\\");
        } else if (n == 1 && *p == '\n') {
            av_bprintf(bp, "\\n");
        } else if (n == 1 && *p == '\t') {
            av_bprintf(bp, "\\t");
        } else if (n == 1 && *p == '\r') {
            av_bprintf(bp, "\\r");
        } else if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) ||
                   (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
            /* not UTF-8, or a control character (C1 included) */
            int k = n ? n : 1;
            for (int i = 0; i < k; i++)
                av_bprintf(bp, "\\x%02x", p[i]);
            p += k;
            continue;
        } else {
            av_bprint_append_data(bp, (const char *)p, (unsigned)n);
        }
        p += n ? n : 1;
    }
}

int rx_text_json(AVBPrint *bp, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int lossy = 0;

    av_bprint_chars(bp, '"', 1);
    while (*p) {
        int n = utf8_len(p);
        if (!n) {
            av_bprintf(bp, "\\ufffd");
            lossy = 1;
            p++;
            continue;
        }
        if (n == 1) {
            switch (*p) {
            case '"':
                av_bprintf(bp, "\\\"");
                break;
            case '\\':
                av_bprintf(bp, "\\\\");
                break;
            case '\n':
                av_bprintf(bp, "\\n");
                break;
            case '\t':
                av_bprintf(bp, "\\t");
                break;
            case '\r':
                av_bprintf(bp, "\\r");
                break;
            default:
                if (*p < 0x20 || *p == 0x7f)
                    av_bprintf(bp, "\\u%04x", *p);
                else
                    av_bprint_chars(bp, (char)*p, 1);
            }
        } else {
            av_bprint_append_data(bp, (const char *)p, (unsigned)n);
        }
        p += n;
    }
    av_bprint_chars(bp, '"', 1);
    return lossy;
}

void rx_text_hex(AVBPrint *bp, const char *s)
{
    av_bprint_chars(bp, '"', 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        av_bprintf(bp, "%02x", *p);
    av_bprint_chars(bp, '"', 1);
}

void rx_text_bytes(AVBPrint *bp, int64_t bytes)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    int u = -1;

    if (bytes < 0) {
        av_bprintf(bp, "-");
        return;
    }
    if (bytes < 1024) {
        av_bprintf(bp, "%lld B", (long long)bytes);
        return;
    }
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    av_bprintf(bp, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void rx_text_duration(AVBPrint *bp, int64_t ms)
{
    int64_t s;

    if (ms < 0) {
        av_bprintf(bp, "-");
        return;
    }
    s = (ms + 500) / 1000;
    av_bprintf(bp, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
               (long long)(s % 60));
}
