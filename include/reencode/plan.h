/*
 * plan.h - what to do with each file found: re-encode it, or why not.
 *
 * rx_plan_decide() turns one found file (scan + probe, find.h) and the
 * filter into a verdict with a reason a person can read. `list` prints the
 * verdicts; `run` encodes the candidates.
 *
 * Thread-safety: no state.
 */
#ifndef RX_PLAN_H
#define RX_PLAN_H

#include <stdint.h>

#include "reencode/filter.h"
#include "reencode/find.h"

typedef enum RxVerdict {
    RX_VERDICT_CANDIDATE = 0, /* to be re-encoded */
    RX_VERDICT_FILTERED,      /* a match expression does not hold */
    RX_VERDICT_NO_VIDEO,      /* nothing to re-encode */
    RX_VERDICT_OWN_OUTPUT,    /* written by reencode (ENCODED_BY tag) */
    RX_VERDICT_UNREADABLE,    /* could not be probed */
} RxVerdict;

typedef struct RxDecision {
    RxVerdict verdict;
    char reason[512]; /* "" for candidates; else one line, e.g. "Performer absent" */
} RxDecision;

/* "candidate", "skipped" or "unreadable". */
const char *rx_verdict_status(RxVerdict v);

void rx_plan_decide(const RxFound *f, const RxFilter *filter, RxDecision *d);

/*
 * Estimated output size of a candidate at the reference settings: video at
 * 200 kb/s per 1920x1080 of picture area (at least 50 kb/s), plus 32 kb/s per
 * audio track, over its duration; when that is not below
 * RX_BATCH_DEFAULT_SIZE_RATIO of the input (the size guard keeps such originals), the input's size.
 * 200 kb/s is the cautious end of what the reference settings give on Game Bar recordings (50x on a
 * 10 Mb/s recording; static slides do far better).
 */
int64_t rx_plan_estimate_bytes(const RxFound *f);

#endif
