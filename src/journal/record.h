/*
 * record.h - the journal's record codec, private to src/journal/ (and the
 * tests): one line is one flat JSON object, a space, the CRC-32 of the
 * object's bytes (zlib's CRC-32, 8 lowercase hex digits) and '\n'
 * (docs/journal.md). Records are described by one table of keys (keys[] in
 * record.c): the parser fills a Rec indexed by key, and the writer prints a
 * Rec in key order, so the two cannot drift apart. The codec knows lines,
 * not journals, so that a fuzzer can reach it alone.
 */
#ifndef RX_JOURNAL_RECORD_H
#define RX_JOURNAL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/bprint.h>

#include "reencode/journal.h"
#include "reencode/result.h"

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

/* One record, decoded or about to be written. Strings are NUL-terminated;
 * they point into the parser's scratch buffer or into an entry. */
typedef struct Rec {
    uint64_t present; /* bit k: key k is set */
    int64_t num[K_COUNT];
    const char *str[K_COUNT];
} Rec;

_Static_assert(K_COUNT <= 64, "Rec.present is a 64-bit mask");
#define KBIT(k) (UINT64_C(1) << (k))

/* r as one whole line, checksum and '\n' included. */
void rx_rec_format(AVBPrint *bp, const Rec *r);

/* One line without its '\n' (len bytes) into r, its strings into scratch
 * (len + 1 bytes are enough). NULL if valid, else why not. */
const char *rx_rec_parse_line(const char *p, size_t len, Rec *r, char *scratch);

/* Could these bytes be the start of a journal (or what a crash leaves of
 * one)? */
int rx_rec_looks_like_journal(const char *p, size_t len);

/* The time as a line spells it: "2024-05-01T12:34:56.789Z". */
void rx_rec_now_iso(char out[32]);

/* The value of a lowercase hex digit, or -1. */
int rx_rec_hexval(char c);

/* Field checks, as the parser applies them. */
int rx_rec_is_hash(const char *s);
int rx_rec_is_original(const char *s);
int rx_rec_is_crash_id(const char *s);
int rx_rec_is_signal_name(const char *s, size_t len);
int rx_rec_state_from_name(const char *name, RxState *st);

#endif
