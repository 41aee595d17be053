/*
 * report_int.h - what the files of src/report/ share: the reporter's state,
 * the sink vtable, and the human lines every sink and the log use.
 *
 * The reporter core (progress.c) owns the state: the slots, the counts, the
 * lock, the log file, the summary and the stats file. Each event is logged
 * by the core and then handed to the one sink chosen at creation, which
 * turns it into output for its mode. A sink is a const table of functions
 * (dav1d's tools/output muxers are the model); each runs with the
 * reporter's lock held, so it may read and write the state freely.
 *
 * Adding an output format: one file with a `const RxSink`, a mode in
 * progress.h's RxReportMode, and a row in progress.c's sink table.
 */
#ifndef RX_REPORT_INT_H
#define RX_REPORT_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <libavutil/bprint.h>

#include "reencode/progress.h"

#define STATUS_COLS    12 /* the status word's column: "interrupted " */
#define SUMMARY_INDENT "\n            "

#define SGR_GREEN  "\033[32m"
#define SGR_RED    "\033[31m"
#define SGR_YELLOW "\033[33m"
#define SGR_RESET  "\033[0m"

typedef struct Slot {
    char *path;       /* NULL: no encode in this slot */
    int64_t in_bytes; /* as given to rx_reporter_start() */
    int64_t media_us; /* planned duration, 0 unknown */
    double started;
    double last_line; /* PLAIN/JSON: when the last progress line went out */
    RxProgress p;     /* latest progress */
} Slot;

typedef struct RxSink RxSink;

struct RxReporter {
    pthread_mutex_t lock;
    const RxSink *sink;
    int fd;
    int log_fd; /* -1: no log */
    int color;  /* resolved: TTY mode, wanted, NO_COLOR unset */
    int width;
    char *stats_path;
    double (*clock)(void *opaque);
    void *clock_opaque;
    double t0;
    double t_plan; /* when the plan came (rx_reporter_set_plan()); 0: at t0 */
    int64_t media_us_total;
    int nslots;
    Slot *slots;

    double last_draw; /* TTY, meter: when the live output was last drawn */
    int drawn;        /* rows of the live block on screen, the cursor on the last */
    int started_any;  /* the live block exists from the first start ... */
    int closed;       /* ... until the summary */

    RxReportTotals tot;
    int64_t media_finished_us; /* planned media time of the finished files */
    int64_t media_encoded_us;  /* media time the finished files got through */
};

/*
 * One output format. Every function is called with the lock held, after the
 * core has updated the state and written the log line. start and progress
 * write their output themselves (rx_report_emit()); finish, note and
 * summary compose into out, which the core emits when it is not empty (and
 * finish always, when the sink redraws a live view: draw is set). A NULL
 * function: the event shows nothing (progress NULL: not even recorded).
 * erase/draw, when set, wrap every emitted unit: the live view is erased
 * before a line and drawn again after it.
 */
struct RxSink {
    const char *name;
    void (*start)(RxReporter *r, int slot, const char *path, int64_t in_bytes, int64_t media_us,
                  const AVBPrint *human, double now);
    void (*progress)(RxReporter *r, int slot, Slot *s, double now);
    void (*finish)(RxReporter *r, AVBPrint *out, int slot, const char *path, const RxResult *res,
                   const char *original, double now);
    void (*note)(RxReporter *r, AVBPrint *out, RxLogLevel level, const char *text, double now);
    void (*summary)(RxReporter *r, AVBPrint *out, const RxReportTotals *t, double now);
    void (*erase)(RxReporter *r, AVBPrint *bp);
    void (*draw)(RxReporter *r, AVBPrint *bp, double now);
};

extern const RxSink rx_sink_tty;
extern const RxSink rx_sink_plain;
extern const RxSink rx_sink_ndjson;
extern const RxSink rx_sink_quiet;
extern const RxSink rx_sink_meter;

/* ---- the core (progress.c) */

/* Writes a unit of output in one write(2): the sink's live view erased, the
 * line (may be NULL: just redraw), the live view again. */
void rx_report_emit(RxReporter *r, const AVBPrint *line, double now);

/* bp to fd in one write; a failed write has nowhere to be reported. */
void rx_report_flush(int fd, const AVBPrint *bp);

/* ---- numbers and human lines (human.c) */

typedef struct Rates {
    double percent; /* of media time; < 0 unknown */
    double fps;
    double speed; /* media seconds per wall second */
    double eta;   /* seconds */
} Rates;

const char *rx_report_bytes(char *buf, size_t size, int64_t v);
const char *rx_report_dur(char *buf, size_t size, double seconds);
Rates rx_report_rates(const Slot *s, double now);
void rx_report_rates_text(AVBPrint *bp, const Slot *s, double now, int brief);
int rx_report_processed(RxState s);
int64_t rx_report_media_of(const RxResult *res);

void rx_report_status_word(AVBPrint *bp, int color, const char *sgr, const char *word);
void rx_report_human_start(AVBPrint *bp, const char *path, int64_t in_bytes, int64_t media_us);
void rx_report_human_finish(AVBPrint *bp, int color, const char *path, const RxResult *res,
                            const char *original, int fold);
void rx_report_human_original(AVBPrint *bp, const char *path, const char *original);
void rx_report_human_progress(AVBPrint *bp, const Slot *s, double now);
void rx_report_human_note(AVBPrint *bp, int color, RxLogLevel level, const char *text);
void rx_report_human_summary(AVBPrint *bp, const RxReportTotals *t, const char *sep);

/* The note and the summary of the sinks for people (RxSink.note, .summary):
 * "error: ..." coloured when the reporter is; three summary lines. */
void rx_report_sink_note(RxReporter *r, AVBPrint *out, RxLogLevel level, const char *text,
                         double now);
void rx_report_sink_summary(RxReporter *r, AVBPrint *out, const RxReportTotals *t, double now);

#endif
