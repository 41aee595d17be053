/*
 * text.h - file names and numbers made safe and readable for output.
 *
 * File names are bytes: they may hold newlines, escape sequences, or bytes
 * that are not UTF-8. Nothing reencode prints may be garbled (or garble a
 * terminal) by a name, and JSON output must stay valid JSON. These helpers
 * append to an AVBPrint (libavutil's growable string).
 *
 * Thread-safety: no state.
 */
#ifndef RX_TEXT_H
#define RX_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/bprint.h>

/* 1 when s is valid UTF-8 (no overlongs, no surrogates), else 0. */
int rx_utf8_valid(const char *s);

/*
 * For people: valid printable UTF-8 passes; backslash becomes "\\"; \n, \t,
 * \r become those escapes; other control characters (C0, DEL, C1) and bytes
 * that are not UTF-8 become \xNN. Reversible, and one line whatever the name.
 */
void rx_text_human(AVBPrint *bp, const char *s);

/*
 * For JSON: a quoted string. Valid UTF-8 passes (with JSON's escapes); each
 * byte that is not UTF-8 becomes U+FFFD. Returns 1 when something was
 * replaced (the caller may then add the exact bytes, see rx_text_hex()).
 */
int rx_text_json(AVBPrint *bp, const char *s);

/* Lower-case hex of the bytes of s, quoted for JSON. */
void rx_text_hex(AVBPrint *bp, const char *s);

/* "0 B", "512 B", "1.5 KiB", "9.1 GiB" */
void rx_text_bytes(AVBPrint *bp, int64_t bytes);

/* "0:00:07", "2:03:45"; "-" when negative (unknown) */
void rx_text_duration(AVBPrint *bp, int64_t ms);

#endif
