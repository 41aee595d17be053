/*
 * entry.c - the journal's entries: the latest state of one file, its record
 * form both ways, and the entry that a new record makes (journal_int.h).
 */
#include "journal/journal_int.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/common.h>

/* ---- entries ---- */

void rx_entry_free(RxJournalEntry *e)
{
    if (!e)
        return;
    free(e->id.rel);
    free(e->output);
    free(e->original);
    free(e);
}

/* SSIM as the line keeps it: in millionths (no floating point on a line). */
static int64_t millionths(double v)
{
    return isfinite(v) ? llrint(av_clipd(v, -1.0, 1.0) * 1e6) : 0;
}

static int64_t millidecibels(double db)
{
    return isfinite(db) ? llrint(av_clipd(db, 0.0, 1000.0) * 1000.0) : 0;
}

/* Milliseconds, as the line keeps them (no floating point on the line: its
 * spelling would depend on the locale). */
static int64_t wall_ms(double seconds)
{
    if (!(seconds > 0))
        return 0;
    if (seconds > 1e12)
        seconds = 1e12;
    return (int64_t)(seconds * 1000.0 + 0.5);
}

void rx_entry_to_rec(Rec *r, const RxJournalEntry *e, const char *state_name)
{
    const RxResult *res = &e->result;
    const int64_t opt[][2] = {
        {K_ERR, res->err},
        {K_IN_BYTES, res->in_bytes},
        {K_OUT_BYTES, res->out_bytes},
        {K_IN_DURATION_US, res->in_duration_us},
        {K_VIDEO_DURATION_US, res->video_duration_us},
        {K_AUDIO_DURATION_US, res->audio_duration_us},
        {K_VIDEO_FRAMES, res->video_frames},
        {K_VIDEO_ELIDED, res->video_frames_elided},
        {K_VERIFIED, res->verified},
        {K_DECODE_ERRORS, res->decode_errors},
        {K_AUDIO_TRACKS, res->audio_tracks},
        {K_WIDTH, res->width},
        {K_HEIGHT, res->height},
        {K_WALL_MS, wall_ms(res->wall_seconds)},
        {K_SSIM_PPM, millionths(res->ssim)},
        {K_SSIM_MIN_PPM, millionths(res->ssim_min)},
        {K_PSNR_MDB, millidecibels(res->psnr)},
        {K_TUNED_CRF, res->tuned_crf},
        {K_CRASHES, e->crashes},
        {K_CRASHES_ALONE, e->crashes_alone},
    };

    memset(r, 0, sizeof(*r));
    r->num[K_V] = FORMAT_VERSION;
    r->num[K_SEQ] = e->seq;
    r->str[K_TIME] = e->time;
    r->str[K_TYPE] = "file";
    r->str[K_REL] = e->id.rel;
    r->num[K_SIZE] = e->id.size;
    r->num[K_MTIME_NS] = e->id.mtime_ns;
    r->str[K_HASH] = e->id.hash;
    r->str[K_STATE] = state_name;
    r->num[K_ATTEMPTS] = e->attempts;
    r->present = KBIT(K_V) | KBIT(K_SEQ) | KBIT(K_TIME) | KBIT(K_TYPE) | KBIT(K_REL) |
                 KBIT(K_SIZE) | KBIT(K_MTIME_NS) | KBIT(K_HASH) | KBIT(K_STATE) | KBIT(K_ATTEMPTS);
    /* Absent means zero / none: the lines stay short. */
    if (e->output) {
        r->str[K_OUTPUT] = e->output;
        r->present |= KBIT(K_OUTPUT);
    }
    if (e->original) {
        r->str[K_ORIGINAL] = e->original;
        r->present |= KBIT(K_ORIGINAL);
    }
    if (res->error[0]) {
        r->str[K_ERROR] = res->error;
        r->present |= KBIT(K_ERROR);
    }
    if (res->tuned_for[0]) {
        r->str[K_TUNED_FOR] = res->tuned_for;
        r->present |= KBIT(K_TUNED_FOR);
    }
    if (res->out_hash[0]) {
        r->str[K_OUT_HASH] = res->out_hash;
        r->present |= KBIT(K_OUT_HASH);
    }
    if (e->crash_signals[0]) {
        r->str[K_CRASH_SIGNALS] = e->crash_signals;
        r->present |= KBIT(K_CRASH_SIGNALS);
    }
    if (e->crash[0]) {
        r->str[K_CRASH] = e->crash;
        r->present |= KBIT(K_CRASH);
    }
    for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
        if (opt[i][1]) {
            r->num[opt[i][0]] = opt[i][1];
            r->present |= KBIT(opt[i][0]);
        }
    }
}

/* r has passed check_rec(). */
RxJournalEntry *rx_entry_from_rec(const Rec *r)
{
    RxJournalEntry *e = calloc(1, sizeof(*e));
    RxResult *res;
    RxState st = RX_STATE_PENDING;

    if (!e)
        return NULL;
    res = &e->result;
    rx_result_init(res);
    rx_rec_state_from_name(r->str[K_STATE], &st);
    res->state = st;
    e->id.rel = strdup(r->str[K_REL]);
    e->id.size = r->num[K_SIZE];
    e->id.mtime_ns = r->num[K_MTIME_NS];
    memcpy(e->id.hash, r->str[K_HASH], 33);
    if (r->present & KBIT(K_OUTPUT))
        e->output = strdup(r->str[K_OUTPUT]);
    if (r->present & KBIT(K_ORIGINAL))
        e->original = strdup(r->str[K_ORIGINAL]);
    if (r->present & KBIT(K_ERROR))
        snprintf(res->error, sizeof(res->error), "%s", r->str[K_ERROR]);
    if (r->present & KBIT(K_OUT_HASH))
        memcpy(res->out_hash, r->str[K_OUT_HASH], 33);
    res->err = (int)r->num[K_ERR];
    res->in_bytes = r->num[K_IN_BYTES];
    res->out_bytes = r->num[K_OUT_BYTES];
    res->in_duration_us = r->num[K_IN_DURATION_US];
    res->video_duration_us = r->num[K_VIDEO_DURATION_US];
    res->audio_duration_us = r->num[K_AUDIO_DURATION_US];
    res->video_frames = r->num[K_VIDEO_FRAMES];
    res->video_frames_elided = r->num[K_VIDEO_ELIDED];
    res->verified = (int)r->num[K_VERIFIED];
    res->decode_errors = r->num[K_DECODE_ERRORS];
    res->audio_tracks = (int)r->num[K_AUDIO_TRACKS];
    res->width = (int)r->num[K_WIDTH];
    res->height = (int)r->num[K_HEIGHT];
    res->wall_seconds = (double)r->num[K_WALL_MS] / 1000.0;
    res->ssim = (double)r->num[K_SSIM_PPM] / 1e6;
    res->ssim_min = (double)r->num[K_SSIM_MIN_PPM] / 1e6;
    res->psnr = (double)r->num[K_PSNR_MDB] / 1000.0;
    res->tuned_crf = (int)r->num[K_TUNED_CRF];
    if (r->present & KBIT(K_TUNED_FOR))
        snprintf(res->tuned_for, sizeof(res->tuned_for), "%s", r->str[K_TUNED_FOR]);
    e->attempts = (int)r->num[K_ATTEMPTS];
    e->seq = r->num[K_SEQ];
    snprintf(e->time, sizeof(e->time), "%s", r->str[K_TIME]);
    e->crashes = (int)r->num[K_CRASHES];
    e->crashes_alone = (int)r->num[K_CRASHES_ALONE];
    if (r->present & KBIT(K_CRASH_SIGNALS))
        snprintf(e->crash_signals, sizeof(e->crash_signals), "%s", r->str[K_CRASH_SIGNALS]);
    if (r->present & KBIT(K_CRASH))
        memcpy(e->crash, r->str[K_CRASH], sizeof(e->crash));
    if (!e->id.rel || ((r->present & KBIT(K_OUTPUT)) && !e->output) ||
        ((r->present & KBIT(K_ORIGINAL)) && !e->original)) {
        rx_entry_free(e);
        return NULL;
    }
    return e;
}

/* The entry that a record of (id, state, ...) makes, given the previous one. */
RxJournalEntry *rx_entry_next(const RxJournalEntry *prev, const RxFileId *id, RxState state,
                              const RxResult *res, const char *output, const char *original,
                              int note)
{
    RxJournalEntry *e = calloc(1, sizeof(*e));
    const RxJournalEntry *carry = state == RX_STATE_STARTED && !note ? NULL : prev;
    int new_attempt;

    if (!e)
        return NULL;
    new_attempt =
        !note &&
        (state == RX_STATE_STARTED ||
         (state != RX_STATE_PENDING && (!prev || (prev->result.state != RX_STATE_STARTED &&
                                                  prev->result.state != RX_STATE_ENCODED))));
    e->id.rel = strdup(id->rel);
    e->id.size = id->size;
    e->id.mtime_ns = id->mtime_ns;
    memcpy(e->id.hash, id->hash, 33);
    if (res)
        e->result = *res;
    else if (carry)
        e->result = carry->result;
    else
        rx_result_init(&e->result);
    e->result.state = state;
    e->result.error[RX_ERROR_MAX - 1] = '\0';
    if (!rx_rec_is_hash(e->result.out_hash)) /* only a real one is written */
        memset(e->result.out_hash, 0, sizeof(e->result.out_hash));
    /* As a replay will read it back. */
    e->result.wall_seconds = (double)wall_ms(e->result.wall_seconds) / 1000.0;
    e->result.ssim = (double)millionths(e->result.ssim) / 1e6;
    e->result.ssim_min = (double)millionths(e->result.ssim_min) / 1e6;
    e->result.psnr = (double)millidecibels(e->result.psnr) / 1000.0;
    if (output || (carry && carry->output))
        e->output = strdup(output ? output : carry->output);
    if (original || (carry && carry->original))
        e->original = strdup(original ? original : carry->original);
    e->attempts = (prev ? prev->attempts : 0) + new_attempt;
    if (prev) { /* a file's crashes outlive its attempts: they say how to run it */
        e->crashes = prev->crashes;
        e->crashes_alone = prev->crashes_alone;
        memcpy(e->crash_signals, prev->crash_signals, sizeof(e->crash_signals));
        memcpy(e->crash, prev->crash, sizeof(e->crash));
    }
    if (!e->id.rel || ((output || (carry && carry->output)) && !e->output) ||
        ((original || (carry && carry->original)) && !e->original)) {
        rx_entry_free(e);
        return NULL;
    }
    return e;
}

/* Add one crash to e (a new entry, not yet published). */
void rx_entry_add_crash(RxJournalEntry *e, const RxCrashRecord *c)
{
    size_t len = strlen(e->crash_signals), n = strlen(c->signal);
    const char *p = e->crash_signals;

    e->crashes += e->crashes < INT_MAX;
    e->crashes_alone += c->alone && e->crashes_alone < e->crashes;
    memcpy(e->crash, c->crash, sizeof(e->crash));
    for (;;) { /* each signal named once */
        const char *comma = strchr(p, ',');
        size_t k = comma ? (size_t)(comma - p) : strlen(p);
        if (k == n && !memcmp(p, c->signal, n))
            return;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (len + !!len + n < sizeof(e->crash_signals))
        snprintf(e->crash_signals + len, sizeof(e->crash_signals) - len, "%s%s", len ? "," : "",
                 c->signal);
}
