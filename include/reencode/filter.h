/*
 * filter.h - which files to re-encode: match expressions over MediaInfo fields.
 *
 * An expression tests one field of one kind of stream:
 *     Performer=Microsoft Game DVR     General stream unless a kind is given
 *     Video;Format=AVC                 "Kind;" selects the kind of stream
 *     Audio;SamplingRate!=48000
 *     OverallBitRate>2000000           also <, <=, >=
 *     Title~=chrome                    substring, ASCII case-insensitive
 *     Title?                           present
 *     !Title                           absent
 * The language, with its exact semantics, is in docs/match-expressions.md.
 * In short: comparisons are numeric when both sides are decimal numbers and
 * byte-wise otherwise; a comparison never holds on an absent field; for kinds
 * with several streams an expression holds when any stream satisfies it, and
 * `Kind;!Field` holds when no stream of that kind has the field. A file
 * matches when every expression holds.
 *
 * Calling sequence:
 *     rx_filter_compile(&f, exprs, n, flags, &err)   parse once
 *     rx_filter_fields(f, &n)                        fields to ask the probe for
 *     rx_filter_match(f, &fields, &miss)             per file, any thread
 *     rx_filter_free(&f)
 *
 * Evaluation reads fields through RxFields (probe.h), so the filter works on
 * anything that can answer "value of field X of stream i of kind K": an
 * RxProbe (rx_probe_fields()) or a table in a test.
 *
 * Thread-safety: a compiled filter is immutable; several threads may match
 * with it at once.
 */
#ifndef RX_FILTER_H
#define RX_FILTER_H

#include <stddef.h>

#include "reencode/probe.h"

/* The filter used when none is given: Game Bar's tag. */
#define RX_FILTER_DEFAULT "Performer=Microsoft Game DVR"

/* rx_filter_compile() flags. */
#define RX_FILTER_ALL 1 /* "all" mode: any file with a video stream; no default filter */

typedef struct RxFilter RxFilter;

/* Where and why an expression is malformed. */
typedef struct RxFilterError {
    size_t index;      /* which expression (index into exprs) */
    size_t offset;     /* 0-based byte offset of the offending character; may equal
                          strlen(expr) when something is missing at the end */
    size_t column;     /* the same offset counted in characters (UTF-8 code points):
                          print the expression, then `column` spaces and a caret */
    char message[160]; /* lower case, no full stop: "unknown stream kind 'Vdeo'" */
} RxFilterError;

/* Why a file does not match: the first condition that failed. */
typedef struct RxFilterMiss {
    size_t index;     /* failing condition, 0-based, in compile order */
    int present;      /* the field had a value in at least one stream */
    char actual[256]; /* first value found ("" when absent), control bytes as '?' */
    char why[512];    /* one line for people, e.g.
                         "Performer is 'OBS' (want 'Microsoft Game DVR')",
                         "Performer absent", "Audio SamplingRate is '44100' (want != 44100)",
                         "no Video stream" */
} RxFilterMiss;

/*
 * Compile the expressions exprs[0..n-1] (all must hold) into *out.
 * With n == 0 and no RX_FILTER_ALL, the filter is RX_FILTER_DEFAULT.
 * RX_FILTER_ALL adds the condition "has a video stream" (shown as
 * "has a Video stream") and drops the default; expressions given with it still
 * apply. Returns 0 and sets *out (free with rx_filter_free()), or AVERROR(EINVAL) with
 * err filled (err may be NULL) for a malformed expression, or AVERROR(ENOMEM); on
 * error *out is untouched.
 */
int rx_filter_compile(RxFilter **out, const char *const *exprs, size_t n, unsigned flags,
                      RxFilterError *err);

/* Number of conditions, and condition i as text (the expression as given). */
size_t rx_filter_count(const RxFilter *f);
const char *rx_filter_text(const RxFilter *f, size_t i);

/*
 * The fields the filter reads, without duplicates, to pass to the probe as
 * RxProbeOptions.extra. Owned by f; *n receives the count.
 */
const RxFieldRef *rx_filter_fields(const RxFilter *f, size_t *n);

/*
 * Evaluate f on one file. Returns 1 when every condition holds, 0 when one
 * fails (miss, when not NULL, then says which and why). Never fails itself.
 */
int rx_filter_match(const RxFilter *f, const RxFields *fields, RxFilterMiss *miss);

/* Free f and set *f to NULL. Accepts NULL and *f == NULL. */
void rx_filter_free(RxFilter **f);

#endif
