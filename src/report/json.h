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

#include "reencode/progress.h"

/* ,"key":"v" (and ,"key_hex":"..." when v is not UTF-8); v NULL: null. */
void rx_json_str(AVBPrint *bp, const char *key, const char *v);

/* ,"key":v */
void rx_json_int(AVBPrint *bp, const char *key, int64_t v);

/* ,"key":v with 3 decimals; negative or not finite (unknown): null. */
void rx_json_num(AVBPrint *bp, const char *key, double v);

/* The summary's members, the first without a comma: the "summary" event
 * of run --json and the --stats file. */
void rx_json_summary_fields(AVBPrint *bp, const RxReportTotals *t);

#endif
