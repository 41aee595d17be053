/*
 * json.h - the JSON members every report writes: `,"key":value` after an
 * object's first member, strings escaped with a "key_hex" twin holding the
 * exact bytes when they are not UTF-8 (text.h), numbers that JSON can hold.
 *
 * Pure formatting into an AVBPrint; no state, any thread. Numbers use
 * printf: keep LC_NUMERIC "C".
 */
#ifndef RX_REPORT_JSON_H
#define RX_REPORT_JSON_H

#include <stdint.h>

#include <libavutil/bprint.h>

#include "reencode/journal.h"
#include "reencode/progress.h"
#include "reencode/result.h"

/* ,"key":"v" (and ,"key_hex":"..." when v is not UTF-8); v NULL: null. */
void rx_json_str(AVBPrint *bp, const char *key, const char *v);

/* ,"key":v */
void rx_json_int(AVBPrint *bp, const char *key, int64_t v);

/* ,"key":v with 3 decimals; negative or not finite (unknown): null. */
void rx_json_num(AVBPrint *bp, const char *key, double v);

/* The summary's members, the first without a comma: the "summary" event
 * of run --json and the --stats file. */
void rx_json_summary_fields(AVBPrint *bp, const RxReportTotals *t);

/*
 * A file's record: the members of res, each after a comma: "state", sizes,
 * durations, frames, "verified", decode errors, tracks, picture size,
 * "wall_seconds", "ssim"/"ssim_min"/"psnr" when measured, "tuned_crf" and
 * "tune_probes" when tuned, "err", "error" ("" when none). The one
 * spelling of a file in run --json ("done"/"failed"... events), status
 * --json and --results; each adds its own envelope around it.
 */
void rx_result_json(AVBPrint *bp, const RxResult *res);

/*
 * The members of journal entry e as one JSON object's (no braces: the
 * caller adds its own, e.g. a type): "status" (given: rx_state_status() of
 * the state, or a word of the caller's), "path" (path, or NULL for e's rel;
 * "path_hex" with its bytes when not UTF-8), the record (rx_result_json()),
 * "seconds", "attempts", "time", crashes when any, "original", "output".
 * The per-file record of `status --json` and `run --results`.
 */
void rx_json_entry(AVBPrint *bp, const RxJournalEntry *e, const char *status, const char *path);

#endif
