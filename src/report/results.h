/*
 * results.h - `run --results FILE`: what became of each row of a manifest,
 * as one JSON object keyed by the manifest's ids.
 *
 * While a batch runs it notes each file's outcome as it is decided, by the
 * file's path as found: the journal's entry once the journal has one (done,
 * skipped, failed ...), otherwise a word and a reason (a file the filter
 * does not select, one that cannot be read). A later note on a path
 * replaces an earlier one. rx_results_write() then gives every row of the
 * manifest the note of its path (rows without one are "pending": the run
 * stopped before them), each value the record `status --json` prints
 * (rx_json_entry()) with "path" the path as the manifest names it.
 * The file is replaced atomically (FILE.part, fsync, rename).
 *
 * Calling sequence: rx_results_new() -> rx_results_entry()/_note() from
 * any thread -> rx_results_write() -> rx_results_free().
 */
#ifndef RX_RESULTS_H
#define RX_RESULTS_H

#include <stddef.h>

#include "reencode/journal.h"
#include "reencode/manifest.h"
#include "reencode/result.h"

typedef struct RxResults RxResults;

int rx_results_new(RxResults **out);

/* The file at path now has journal entry e (copied). 0 or AVERROR(ENOMEM). */
int rx_results_entry(RxResults *r, const char *path, const RxJournalEntry *e);

/* The file at path has no journal entry: status is the word for it
 * ("not-selected", "not-taken", "failed"), state its RxState, error one
 * line why. 0 or AVERROR(ENOMEM). */
int rx_results_note(RxResults *r, const char *path, const char *status, RxState state,
                    const char *error);

/*
 * Write the object {"<id>": {record}, ...} in the manifest's row order to
 * file. A key met twice (the same path twice in a list) is written once.
 * Returns 0, or a negative AVERROR with err holding one line.
 */
int rx_results_write(RxResults *r, const RxManifest *m, const char *file, char *err,
                     size_t errsize);

void rx_results_free(RxResults **r);

#endif
