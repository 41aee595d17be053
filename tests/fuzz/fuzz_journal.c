/*
 * fuzz_journal.c - replay arbitrary bytes as a journal (rx_journal_open_buffer),
 * then use what opened the way `status` and a resumed `run` do: every entry,
 * its lookup, its strings printed for people and for JSON (text.c).
 *
 * Built with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, the journal skips its
 * CRC check, so mutated lines reach the record parser instead of all dying at
 * the checksum. Seeds: tests/fuzz/corpus/fuzz_journal (real journals).
 *
 * Properties checked besides memory safety (journal.h, text.h):
 * - open fails only with AVERROR_INVALIDDATA (naming a line inside the
 *   buffer) or AVERROR(ENOMEM), and then *out is NULL;
 * - a torn tail is reported inside the buffer;
 * - each entry is found again by its own identity, and by its content
 *   under another path; count and entry() agree;
 * - a buffer journal is read-only (record gives AVERROR(EBADF));
 * - what text.c makes of any string is one line of valid UTF-8 without
 *   control characters;
 * - the same bytes read as a crash file (rx_journal_read_crashes()) give
 *   one record or one dropped line per line, each record's fields in
 *   range, and a crash's fields of an entry are consistent.
 */
#include <errno.h>
#include <string.h>

#include <libavutil/bprint.h>
#include <libavutil/error.h>

#include "fuzz.h"
#include "reencode/journal.h"
#include "core/text.h"

/* The len bytes at s are valid UTF-8 without C0 controls or DEL and, when
 * no_c1, without C1 controls (U+0080..U+009F, UTF-8 c2 80..c2 9f; JSON allows
 * those raw, a terminal does not). */
static void check_printable(const char *s, size_t len, int no_c1)
{
    const unsigned char *p = (const unsigned char *)s;

    FUZZ_CHECK(strlen(s) == len);
    FUZZ_CHECK(rx_utf8_valid(s));
    for (size_t i = 0; i < len; i++) {
        FUZZ_CHECK(p[i] >= 0x20 && p[i] != 0x7f);
        FUZZ_CHECK(!(no_c1 && p[i] == 0xc2 && i + 1 < len && p[i + 1] < 0xa0));
    }
}

/* What status prints of a string from the journal. */
static void print_str(const char *s)
{
    AVBPrint bp;
    size_t n = strlen(s);

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_text_human(&bp, s);
    FUZZ_CHECK(av_bprint_is_complete(&bp));
    check_printable(bp.str, bp.len, 1);
    av_bprint_clear(&bp);

    if (rx_text_json(&bp, s)) {
        FUZZ_CHECK(!rx_utf8_valid(s));
        FUZZ_CHECK(av_bprint_is_complete(&bp));
        check_printable(bp.str, bp.len, 0);
        av_bprint_clear(&bp);
        rx_text_hex(&bp, s);
        FUZZ_CHECK(bp.len == 2 * n + 2);
    } else {
        FUZZ_CHECK(rx_utf8_valid(s));
        FUZZ_CHECK(av_bprint_is_complete(&bp));
        check_printable(bp.str, bp.len, 0);
    }
    av_bprint_finalize(&bp, NULL);
}

static void use_entry(RxJournal *j, const RxJournalEntry *e)
{
    const RxJournalEntry *f;
    RxFileId moved;
    AVBPrint bp;

    FUZZ_CHECK(e && e->id.rel);
    FUZZ_CHECK(e->id.size >= 0 && strlen(e->id.hash) == 32);
    FUZZ_CHECK(e->result.state >= RX_STATE_PENDING && e->result.state <= RX_STATE_INTERRUPTED);
    FUZZ_CHECK(e->seq >= 1 && e->attempts >= 0);
    FUZZ_CHECK(FUZZ_TERMINATED(e->time) && FUZZ_TERMINATED(e->result.error));
    FUZZ_CHECK(e->crashes >= 0 && e->crashes_alone >= 0 && e->crashes_alone <= e->crashes);
    FUZZ_CHECK(FUZZ_TERMINATED(e->crash_signals) && FUZZ_TERMINATED(e->crash));
    FUZZ_CHECK(!e->crashes == !e->crash_signals[0] && !e->crashes == !e->crash[0]);

    /* The latest entry of (content, path) is this one. */
    FUZZ_CHECK(rx_journal_find(j, &e->id) == e);
    /* Moved: the same content under a path no journal line can spell (the
     * writer escapes control bytes) is found by content. */
    moved = e->id;
    moved.rel = "\x01moved";
    f = rx_journal_find(j, &moved);
    FUZZ_CHECK(f && f->id.size == e->id.size && !memcmp(f->id.hash, e->id.hash, 33));

    print_str(e->id.rel);
    if (e->output)
        print_str(e->output);
    if (e->original)
        print_str(e->original);
    print_str(e->result.error);
    print_str(rx_state_name(e->result.state));
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    rx_text_bytes(&bp, e->result.in_bytes);
    rx_text_bytes(&bp, e->result.out_bytes);
    rx_text_duration(&bp, e->result.in_duration_us / 1000);
    FUZZ_CHECK(av_bprint_is_complete(&bp));
    av_bprint_finalize(&bp, NULL);
}

/* The bytes as a crash file: each line a record or a dropped line. */
static void read_as_crashes(const uint8_t *data, size_t size)
{
    RxCrashRecord *recs = NULL;
    RxJournalReport rep;
    size_t n = 0, lines = 0;
    int ret = rx_journal_read_crashes((const char *)data, size, &recs, &n, &rep);

    FUZZ_CHECK(ret == 0 || ret == AVERROR(ENOMEM));
    if (ret < 0) {
        FUZZ_CHECK(!recs && !n);
        return;
    }
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    lines += size && data[size - 1] != '\n';
    FUZZ_CHECK(n + (size_t)rep.dropped == lines && (long)n == rep.records);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(recs[i].id.rel && recs[i].id.size >= 0 && strlen(recs[i].id.hash) == 32);
        FUZZ_CHECK(strlen(recs[i].crash) == 16 && !strncmp(recs[i].signal, "SIG", 3));
        FUZZ_CHECK(recs[i].alone == 0 || recs[i].alone == 1);
        FUZZ_CHECK(recs[i].pid >= 1 && FUZZ_TERMINATED(recs[i].time));
        print_str(recs[i].id.rel);
    }
    rx_journal_crashes_free(&recs, n);
    FUZZ_CHECK(!recs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    RxJournalReport rep;
    RxJournal *j = NULL;
    size_t n;
    int ret;

    read_as_crashes(data, size);
    ret = rx_journal_open_buffer(&j, data, size, &rep);
    FUZZ_CHECK(FUZZ_TERMINATED(rep.reason) && FUZZ_TERMINATED(rep.holder_host) &&
               FUZZ_TERMINATED(rep.holder_time) && FUZZ_TERMINATED(rep.backup));
    FUZZ_CHECK(rep.records >= 0 && rep.dropped == 0);
    if (ret < 0) {
        FUZZ_CHECK(!j);
        FUZZ_CHECK(ret == AVERROR_INVALIDDATA || ret == AVERROR(ENOMEM));
        if (ret == AVERROR_INVALIDDATA) {
            FUZZ_CHECK(rep.corrupt_line >= 1 && rep.reason[0]);
            FUZZ_CHECK(rep.corrupt_offset >= 0 && (uint64_t)rep.corrupt_offset < size);
        }
        return 0;
    }
    FUZZ_CHECK(ret == 0 && j);
    FUZZ_CHECK(rep.corrupt_line == 0);
    if (rep.torn_tail) {
        FUZZ_CHECK(rep.torn_line >= 1 && rep.reason[0]);
        FUZZ_CHECK(rep.torn_offset >= 0 && (uint64_t)rep.torn_offset < size);
    }

    n = rx_journal_count(j);
    FUZZ_CHECK(n <= (size_t)rep.records);
    for (size_t i = 0; i < n; i++)
        use_entry(j, rx_journal_entry(j, i));
    FUZZ_CHECK(rx_journal_entry(j, n) == NULL);
    if (n) {
        const RxJournalEntry *e = rx_journal_entry(j, 0);
        FUZZ_CHECK(rx_journal_record(j, &e->id, RX_STATE_DONE, NULL, NULL, NULL) == AVERROR(EBADF));
        FUZZ_CHECK(rx_journal_count(j) == n && rx_journal_entry(j, 0) == e);
    }
    rx_journal_close(&j);
    FUZZ_CHECK(!j);
    return 0;
}
