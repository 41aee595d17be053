/*
 * listing.h - the dry-run listing: one line (or JSON object) per file found,
 * then totals.
 *
 * Human form (aligned, fits 80 columns before the path; names escaped, see
 * text.h), reasons on an indented second line:
 *     candidate   0:45:10   2.1 GiB  6.3 Mb/s  1920x1080  VFR  week1/lecture.mp4
 *     skipped     0:00:02   289 KiB  1.2 Mb/s  320x180    CFR  other.mp4
 *                 Performer absent
 * JSON form (NDJSON): {"type":"file",...} per file, {"type":"totals",...} last.
 *
 * Thread-safety: no state; a RxListTotals belongs to its caller.
 */
#ifndef RX_LISTING_H
#define RX_LISTING_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/bprint.h>

#include "reencode/find.h"
#include "reencode/plan.h"

typedef struct RxListTotals {
    size_t files;
    size_t candidates;
    size_t skipped;
    size_t unreadable;
    int64_t candidate_bytes;
    int64_t candidate_ms;
    int64_t estimate_bytes; /* estimated size of the candidates' outputs */
    size_t warnings;        /* unreadable directories etc. reported by the walk */
} RxListTotals;

void rx_list_header(AVBPrint *bp);
void rx_list_file(AVBPrint *bp, const RxFound *f, const RxDecision *d, int json);
void rx_list_count(RxListTotals *t, const RxFound *f, const RxDecision *d);
void rx_list_totals(AVBPrint *bp, const RxListTotals *t, int json);

#endif
