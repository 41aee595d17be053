/*
 * sink_meter.c - `reencode encode`'s progress line: one slot, one line
 * redrawn in place ("\r ... ESC[K") at most every METER_INTERVAL, erased
 * when the file finishes, so the messages after it start on a clean line.
 * It shows the position against the length the encoder reports, frame
 * rate, speed and output size; nothing for start and summary.
 */
#include <libavutil/bprint.h>

#include "report/report_int.h"

#define METER_INTERVAL 0.25 /* s between redraws of the line */

static void meter_progress(RxReporter *r, int slot, Slot *s, double now)
{
    const RxProgress *p = &s->p;
    double el, speed;
    AVBPrint line;

    (void)slot;
    if (now - r->last_draw < METER_INTERVAL)
        return;
    r->last_draw = now;
    el = now - s->started;
    speed = el > 0 ? (double)p->media_us / 1e6 / el : 0;
    av_bprint_init(&line, 0, AV_BPRINT_SIZE_UNLIMITED);
    if (p->total_us > 0)
        av_bprintf(&line, "\r%6.1f%%  %7.1f/%.1f s  %5.1f fps  %4.2fx  %7.2f MiB\033[K",
                   100.0 * (double)p->media_us / (double)p->total_us, p->media_us / 1e6,
                   p->total_us / 1e6, el > 0 ? p->frames / el : 0, speed, p->bytes / 1048576.0);
    else
        av_bprintf(&line, "\r%7.1f s  %5.1f fps  %4.2fx  %7.2f MiB\033[K", p->media_us / 1e6,
                   el > 0 ? p->frames / el : 0, speed, p->bytes / 1048576.0);
    rx_report_flush(r->fd, &line);
    r->drawn = 1;
    av_bprint_finalize(&line, NULL);
}

static void meter_erase(RxReporter *r, AVBPrint *bp)
{
    if (r->drawn)
        av_bprintf(bp, "\r\033[K");
    r->drawn = 0;
}

/* Only the line goes: what became of the file is the caller's to say. */
static void meter_finish(RxReporter *r, AVBPrint *out, int slot, const char *path,
                         const RxResult *res, const char *original, double now)
{
    (void)slot;
    (void)path;
    (void)res;
    (void)original;
    (void)now;
    meter_erase(r, out);
}

const RxSink rx_sink_meter = {
    .name = "meter",
    .progress = meter_progress,
    .finish = meter_finish,
    .note = rx_report_sink_note,
    .erase = meter_erase,
};
