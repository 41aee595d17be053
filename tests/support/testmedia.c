/*
 * testmedia.c - Game-Bar-like test clips, see testmedia.h.
 *
 * The writer plans every video timestamp up front (so that a packet coming
 * out of a B-frame encoder can find its duration again), draws each picture
 * into an 8-bit canvas (cheap to reason about, one drawing code path for every
 * pixel format), copies it into the encoder's frame (shifting to 10 bits when
 * asked) and interleaves video and audio encoding in timestamp order, so that
 * the MP4 is laid out the way a recorder writes it and the muxer's interleave
 * queue stays short.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* truncate(2) */
#endif

#include "testmedia.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/opt.h>

#define TM_MAX_AUDIO 16
#define TM_VFR_HZ    90000 /* VFR time base with libx264 (a 90 kHz clock, like MPEG) */
#define TM_VFR_HZ_M4 30000 /* mpeg4 refuses time base denominators above 65535 */
#define TM_PI        3.14159265358979323846

#if defined(__GNUC__)
#define TM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TM_PRINTF(a, b)
#endif

void tm_clip_default(TmClip *c)
{
    memset(c, 0, sizeof(*c));
    c->width = 320;
    c->height = 180;
    c->fps = 30.0;
    c->duration = 2.0;
    c->pattern = TM_SLIDES;
    c->slide_seconds = 1.0;
    c->bit_depth = 8;
    c->audio_tracks = 1;
    c->sample_rate = 48000;
    c->channels = 2;
    c->audio_duration = -1.0;
    c->artist = "Microsoft Game DVR";
    c->title = "Visual Studio Code";
    c->creation_time = "2024-03-05T10:20:30.000000Z";
    c->crf = 23;
    c->x264_preset = "ultrafast";
}

/* Format "<what>: <reason of ret>" into err and return ret. */
static int TM_PRINTF(4, 5) tm_fail(char *err, size_t errsize, int ret, const char *fmt, ...)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    char what[256];
    va_list ap;

    if (!err || !errsize)
        return ret;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    av_strerror(ret, reason, sizeof(reason));
    snprintf(err, errsize, "%s: %s", what, reason);
    return ret;
}

/* ---- deterministic pseudo-random numbers (no state outside the caller) ---- */

static uint32_t tm_mix(uint32_t x)
{
    /* lowbias32 (Chris Wellons): cheap, and every input bit reaches every output bit */
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static uint32_t tm_hash3(uint32_t a, uint32_t b, uint32_t c)
{
    return tm_mix(a * 0x9e3779b1U ^ tm_mix(b * 0x85ebca77U ^ tm_mix(c + 0x27d4eb2fU)));
}

static uint32_t tm_rand(uint32_t *state)
{
    /* xorshift32; the state must not be 0 */
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

/* ---- drawing: an 8-bit Y/U/V canvas at the frame's chroma subsampling ---- */

typedef struct Canvas {
    uint8_t *plane[3];
    int w[3], h[3];
    int sx, sy; /* chroma subsampling shifts (1,1 for 4:2:0; 0,0 for 4:4:4) */
} Canvas;

static int canvas_alloc(Canvas *cv, int w, int h, int sx, int sy)
{
    memset(cv, 0, sizeof(*cv));
    cv->sx = sx;
    cv->sy = sy;
    for (int p = 0; p < 3; p++) {
        cv->w[p] = p ? (w + (1 << sx) - 1) >> sx : w;
        cv->h[p] = p ? (h + (1 << sy) - 1) >> sy : h;
        cv->plane[p] = av_malloc((size_t)cv->w[p] * (size_t)cv->h[p]);
        if (!cv->plane[p])
            return AVERROR(ENOMEM);
    }
    return 0;
}

static void canvas_free(Canvas *cv)
{
    for (int p = 0; p < 3; p++)
        av_freep(&cv->plane[p]);
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Fill a rectangle given in luma coordinates (clipped to the canvas). */
static void fill_rect(Canvas *cv, int x, int y, int w, int h, int yv, int u, int v)
{
    const int val[3] = {yv, u, v};
    int x0 = clampi(x, 0, cv->w[0]), x1 = clampi(x + w, 0, cv->w[0]);
    int y0 = clampi(y, 0, cv->h[0]), y1 = clampi(y + h, 0, cv->h[0]);

    if (x0 >= x1 || y0 >= y1)
        return;
    for (int p = 0; p < 3; p++) {
        int sx = p ? cv->sx : 0, sy = p ? cv->sy : 0;
        int cx0 = x0 >> sx, cx1 = (x1 + (1 << sx) - 1) >> sx;
        int cy0 = y0 >> sy, cy1 = (y1 + (1 << sy) - 1) >> sy;
        for (int yy = cy0; yy < cy1; yy++)
            memset(cv->plane[p] + (size_t)yy * (size_t)cv->w[p] + cx0, val[p], (size_t)(cx1 - cx0));
    }
}

/* Header colours of the slides (Y, U, V), and of "syntax-highlighted" words. */
static const uint8_t slide_header[8][3] = {
    {80, 170, 100},  {110, 90, 190}, {120, 70, 80},  {60, 150, 150},
    {140, 100, 150}, {90, 200, 120}, {130, 60, 140}, {70, 128, 128},
};
static const uint8_t word_color[8][3] = {
    {40, 128, 128}, {40, 128, 128}, {40, 128, 128}, {40, 128, 128},
    {50, 128, 128}, {70, 170, 110}, {90, 90, 90},   {80, 100, 175},
};

/* A light page with a coloured title bar and lines of dark "words": what a
 * code editor or a presentation looks like to an encoder. Depends only on
 * the slide number. */
static void draw_slide(Canvas *cv, uint32_t slide)
{
    int W = cv->w[0], H = cv->h[0];
    int bar = H / 12 > 2 ? H / 12 : 2;
    int lh = H / 40 > 6 ? H / 40 : 6; /* line pitch */
    int th = lh * 2 / 3;              /* text height */
    int margin = W / 32 > 2 ? W / 32 : 2;
    int unit = W / 160 > 1 ? W / 160 : 1;
    const uint8_t *hc = slide_header[slide % 8];

    fill_rect(cv, 0, 0, W, H, 225, 128, 128);
    fill_rect(cv, 0, 0, W, bar, hc[0], hc[1], hc[2]);
    for (uint32_t line = 0;; line++) {
        int y = bar + lh + (int)line * lh;
        uint32_t r = tm_hash3(slide, line, 0x5eed);
        int x, xend;

        if (y + th > H - lh)
            break;
        if (r % 7 == 0)
            continue; /* blank line */
        x = margin + (int)((r >> 3) % 4) * 2 * margin;
        xend = W - margin - (int)((r >> 5) % (uint32_t)(W / 3 + 1));
        for (uint32_t k = 1;; k++) {
            uint32_t q = tm_hash3(slide, line, k);
            int ww = unit * (2 + (int)(q % 10));
            const uint8_t *wc = word_color[(q >> 8) % 8];

            if (x + ww > xend)
                break;
            fill_rect(cv, x, y, ww, th, wc[0], wc[1], wc[2]);
            x += ww + unit * 2;
        }
    }
}

static int tri(int v)
{
    v &= 511;
    return v < 256 ? v : 511 - v;
}

/* Scrolling diagonal gradient and a bouncing box; t in seconds of media time. */
static void draw_motion(Canvas *cv, double t, int frame_no)
{
    int W = cv->w[0], H = cv->h[0];
    int off = (int)lrint(t * W * 0.75) + frame_no; /* + frame_no: no two frames alike */
    int bw = W / 8 > 2 ? W / 8 : 2, bh = H / 6 > 2 ? H / 6 : 2;
    double p = fmod(t * 0.6, 2.0);
    int bx = (int)lrint((p < 1.0 ? p : 2.0 - p) * (W - bw));
    int by = (H - bh) / 2 + (int)lrint(sin(t * 3.0) * (H - bh) / 3.0);

    for (int y = 0; y < cv->h[0]; y++) {
        uint8_t *row = cv->plane[0] + (size_t)y * (size_t)cv->w[0];
        for (int x = 0; x < W; x++)
            row[x] = (uint8_t)(16 + tri(2 * x + y + off) * 219 / 255);
    }
    for (int y = 0; y < cv->h[1]; y++) {
        uint8_t *ru = cv->plane[1] + (size_t)y * (size_t)cv->w[1];
        uint8_t *rv = cv->plane[2] + (size_t)y * (size_t)cv->w[2];
        int ly = y << cv->sy;
        for (int x = 0; x < cv->w[1]; x++) {
            int lx = x << cv->sx;
            ru[x] = (uint8_t)(128 + (tri(lx - off / 2) - 128) / 3);
            rv[x] = (uint8_t)(128 + (tri(2 * ly + off) - 128) / 3);
        }
    }
    fill_rect(cv, bx, by, bw, bh, 235, 80, 200);
    fill_rect(cv, bx + bw / 4, by + bh / 4, bw / 2, bh / 2, 16, 128, 128);
}

/* A slide with a picture-in-picture "webcam" of noise and a small cursor. */
static void draw_webcam(Canvas *cv, uint32_t slide, uint32_t frame_no)
{
    int W = cv->w[0], H = cv->h[0];
    int bw = (W / 6) & ~1, bh = (bw * 3 / 4) & ~1;
    int bx = (W - bw - W / 64) & ~1, by = (H - bh - H / 36) & ~1;
    uint32_t r = tm_hash3(frame_no / 4, 0xc0, 0x5e);
    int margin = W / 16 + 1;

    draw_slide(cv, slide);
    for (int y = 0; y < bh; y++) {
        uint8_t *row = cv->plane[0] + (size_t)(by + y) * (size_t)cv->w[0] + bx;
        for (int x = 0; x < bw; x++)
            row[x] = (uint8_t)(16 + tm_hash3(frame_no, (uint32_t)x, (uint32_t)y) % 220);
    }
    for (int p = 1; p < 3; p++) {
        int cx0 = bx >> cv->sx, cy0 = by >> cv->sy;
        int cw = bw >> cv->sx, ch = bh >> cv->sy;
        for (int y = 0; y < ch; y++) {
            uint8_t *row = cv->plane[p] + (size_t)(cy0 + y) * (size_t)cv->w[p] + cx0;
            for (int x = 0; x < cw; x++)
                row[x] =
                    (uint8_t)(96 + tm_hash3(frame_no, (uint32_t)x, (uint32_t)(y + 65536 * p)) % 64);
        }
    }
    if (W > 2 * margin + 2 && H > 2 * margin + 2)
        fill_rect(cv, margin + (int)(r % (uint32_t)(W - 2 * margin)),
                  margin + (int)((r >> 16) % (uint32_t)(H - 2 * margin)), 2, 2, 16, 128, 128);
}

/* Three octaves of value noise (32, 8 and 1 pixel cells), new every frame.
 * Hashes only at cell boundaries and a per-row xorshift for the finest
 * octave: a 1080p frame must cost far less than encoding it. */
static void draw_noise(Canvas *cv, uint32_t frame_no)
{
    for (int p = 0; p < 3; p++) {
        int coarse = p ? 2 : 5, mid = 3; /* log2 of the cell sizes (chroma: no mid) */
        uint32_t salt = frame_no * 4U + (uint32_t)p;
        for (int y = 0; y < cv->h[p]; y++) {
            uint8_t *row = cv->plane[p] + (size_t)y * (size_t)cv->w[p];
            uint32_t uy = (uint32_t)y;
            uint32_t rng = tm_hash3(salt, uy, 0xf1e) | 1U;
            uint32_t a = 0, b = 0;
            for (int x = 0; x < cv->w[p]; x++) {
                uint32_t ux = (uint32_t)x, c;
                if (!(ux & ((1U << coarse) - 1)))
                    a = tm_hash3(salt, ux >> coarse, uy >> coarse) & 255;
                if (!p && !(ux & ((1U << mid) - 1)))
                    b = tm_hash3(salt ^ 0x5a5a0000U, ux >> mid, uy >> mid) & 255;
                c = tm_rand(&rng) & 255;
                if (p)
                    row[x] = (uint8_t)(64 + (a / 2 + c / 2) / 2);
                else
                    row[x] = (uint8_t)(16 + (a / 2 + b / 4 + c / 4) * 219 / 255);
            }
        }
    }
}

/* A slide with a camera picture-in-picture: see TM_CAMERA. t in seconds. */
static void draw_camera(Canvas *cv, uint32_t slide, double t, uint32_t frame_no)
{
    int W = cv->w[0], H = cv->h[0];
    int bw = (W / 6) & ~1, bh = (bw * 3 / 4) & ~1;
    int bx = (W - bw - W / 24 + (int)lrint(sin(t * 0.35) * W / 48)) & ~1;
    int by = (H - bh - H / 18 + (int)lrint(cos(t * 0.23) * H / 48)) & ~1;
    double hx = bw * (0.5 + 0.08 * sin(t * 1.3)), hy = bh * (0.45 + 0.04 * sin(t * 0.9 + 1.0));
    double rx = bw * 0.18, ry = bh * 0.30;
    uint32_t rng = tm_hash3(frame_no, 0xca, 0xfe) | 1U;

    draw_slide(cv, slide);
    bx = clampi(bx, 0, W - bw);
    by = clampi(by, 0, H - bh);
    for (int y = 0; y < bh; y++) {
        uint8_t *row = cv->plane[0] + (size_t)(by + y) * (size_t)cv->w[0] + bx;
        for (int x = 0; x < bw; x++) {
            double dx = (x - hx) / rx, dy = (y - hy) / ry, d = dx * dx + dy * dy;
            int v = d < 1.0 ? 150 + (int)(40 * (1.0 - d)) - (int)(30 * dx) /* lit from the left */
                            : 70 + y * 60 / bh + x * 20 / bw;              /* the wall behind */
            v += (int)(tm_rand(&rng) % 5) - 2;                             /* sensor noise */
            row[x] = (uint8_t)clampi(v, 16, 235);
        }
    }
    for (int p = 1; p < 3; p++) {
        int cx0 = bx >> cv->sx, cy0 = by >> cv->sy;
        int cw = bw >> cv->sx, ch = bh >> cv->sy;
        for (int y = 0; y < ch; y++) {
            uint8_t *row = cv->plane[p] + (size_t)(cy0 + y) * (size_t)cv->w[p] + cx0;
            for (int x = 0; x < cw; x++) {
                double dx = ((x << cv->sx) - hx) / rx, dy = ((y << cv->sy) - hy) / ry;
                int skin = dx * dx + dy * dy < 1.0;
                row[x] = (uint8_t)(p == 1 ? (skin ? 110 : 135) : (skin ? 150 : 122));
            }
        }
    }
}

/* Glyph k of a typed text at (x, y): two small dark strokes whose shape
 * depends on k and seed, so no two are alike. */
static void draw_glyph(Canvas *cv, int x, int y, int unit, int gh, uint32_t k, uint32_t seed)
{
    uint32_t q = tm_hash3(k, 0x7e ^ seed, 0x11);

    fill_rect(cv, x, y, unit, gh, 30, 128, 128);
    fill_rect(cv, x + (int)(q % 3) * unit, y + (int)((q >> 4) % (uint32_t)gh), 2 * unit, unit, 30,
              128, 128);
}

/* Slide 0 with a line being typed: glyph k appears at (k + 1) * TM_TYPE_PERIOD
 * s, the cursor after the last glyph blinks every TM_BLINK_PERIOD s. Glyphs
 * are two small dark strokes whose shape depends on k, so no two are alike. */
static void draw_typing(Canvas *cv, double t)
{
    int W = cv->w[0], H = cv->h[0];
    int unit = W / 160 > 1 ? W / 160 : 1;
    int gh = H / 40 > 4 ? H / 40 : 4;                  /* glyph height */
    int pitch = 4 * unit;                              /* glyph advance (3 units wide) */
    int x0 = W / 32 > 2 ? W / 32 : 2, y0 = H - 3 * gh; /* the line being typed */
    int typed = (int)floor(t / TM_TYPE_PERIOD + 1e-9);
    int cursor_on = !((int)floor(t / TM_BLINK_PERIOD + 1e-9) & 1);
    int maxg = (W - 2 * x0) / pitch - 1;

    draw_slide(cv, 0);
    fill_rect(cv, 0, y0 - gh / 2, W, 2 * gh, 235, 128, 128); /* the editor's input line */
    if (typed > maxg)
        typed = maxg;
    for (int k = 0; k < typed; k++)
        draw_glyph(cv, x0 + k * pitch, y0, unit, gh, (uint32_t)k, 0);
    if (cursor_on)
        fill_rect(cv, x0 + typed * pitch, y0 - 1, 2, gh + 2, 16, 128, 128);
}

/* TM_TALK: see testmedia.h. t is media time. */
#define TALK_LINES 4 /* lines of the typing box */

static void draw_talk(Canvas *cv, double slide_seconds, double t)
{
    static const double share[4] = {1.0, 0.5, 0.25, 0.0};
    int W = cv->w[0], H = cv->h[0];
    int unit = W / 160 > 1 ? W / 160 : 1;
    int gh = H / 40 > 4 ? H / 40 : 4, pitch = 4 * unit;
    int x0 = W / 32 > 2 ? W / 32 : 2, top = H - (2 * TALK_LINES + 1) * gh;
    int per_line = (W - 2 * x0) / pitch - 1;
    uint32_t slide = (uint32_t)floor(t / slide_seconds + 1e-9);
    double since = t - slide * slide_seconds - TM_TALK_TYPING;
    double f = slide ? share[tm_hash3(slide, 0x1ec, 0x7) % 4] : 1.0;
    int glyphs = (int)floor(f * (slide_seconds - TM_TALK_TYPING - 1.0) / TM_TYPE_PERIOD);
    int typed;

    draw_slide(cv, slide);
    if (glyphs > TALK_LINES * per_line)
        glyphs = TALK_LINES * per_line;
    if (since < 0.0 || glyphs <= 0 || per_line < 1)
        return;
    fill_rect(cv, 0, top - gh / 2, W, 2 * TALK_LINES * gh, 235, 128, 128);
    typed = (int)floor(since / TM_TYPE_PERIOD + 1e-9);
    if (typed > glyphs)
        typed = glyphs;
    for (int k = 0; k < typed; k++)
        draw_glyph(cv, x0 + k % per_line * pitch, top + k / per_line * 2 * gh, unit, gh,
                   (uint32_t)k, slide);
    /* The text cursor blinks while typing goes on and for a blink after. */
    if (since < (glyphs + 1) * TM_TYPE_PERIOD && !((int)floor(since / TM_BLINK_PERIOD + 1e-9) & 1))
        fill_rect(cv, x0 + typed % per_line * pitch, top + typed / per_line * 2 * gh - 1, 2, gh + 2,
                  16, 128, 128);
}

/* Where the mouse pointer rests after its kth move (k may be -1). */
static void pointer_rest(int W, int H, int64_t k, double *x, double *y)
{
    uint32_t h = tm_hash3((uint32_t)k, 0x9013, 0x7e5);

    *x = W * (0.1 + 0.8 * (h & 0xffff) / 65535.0);
    *y = H * (0.12 + 0.76 * (h >> 16) / 65535.0);
}

/* A mouse pointer (a white arrow with a dark outline, 1/54 of the height)
 * where TmClip.pointer puts it at media time t. */
static void draw_pointer(Canvas *cv, double t)
{
    int W = cv->w[0], H = cv->h[0], ph = H / 54 > 8 ? H / 54 : 8;
    int64_t k = (int64_t)floor(t / TM_PTR_PERIOD);
    double in = t - (double)k * TM_PTR_PERIOD, x, y;

    pointer_rest(W, H, k, &x, &y);
    if (in < TM_PTR_MOVE) { /* gliding from the last rest, eased in and out */
        double ax, ay, s = in / TM_PTR_MOVE;
        pointer_rest(W, H, k - 1, &ax, &ay);
        s = s * s * (3.0 - 2.0 * s);
        x = ax + (x - ax) * s;
        y = ay + (y - ay) * s;
    }
    for (int r = 0; r < ph; r++) {
        int w = r * 3 / 5 + 1;
        fill_rect(cv, (int)x - 1, (int)y + r, w + 2, 1, 16, 128, 128);
        if (r > 0 && r < ph - 1)
            fill_rect(cv, (int)x, (int)y + r, w, 1, 235, 128, 128);
    }
}

/* Fill a rectangle given in the coordinates of the picture as shown, which
 * is the canvas turned `rotation` degrees clockwise. */
static void fill_shown_rect(Canvas *cv, int rotation, int x, int y, int w, int h, int yv, int u,
                            int v)
{
    int W = cv->w[0], H = cv->h[0];
    int cx[2] = {x, x + w - 1}, cy[2] = {y, y + h - 1}, sx[2], sy[2];

    for (int k = 0; k < 2; k++) {
        switch (rotation) {
        case 90: /* the shown top-left is the stored bottom-left */
            sx[k] = cy[k];
            sy[k] = H - 1 - cx[k];
            break;
        case 180:
            sx[k] = W - 1 - cx[k];
            sy[k] = H - 1 - cy[k];
            break;
        case 270:
            sx[k] = W - 1 - cy[k];
            sy[k] = cx[k];
            break;
        default:
            sx[k] = cx[k];
            sy[k] = cy[k];
        }
    }
    fill_rect(cv, FFMIN(sx[0], sx[1]), FFMIN(sy[0], sy[1]), abs(sx[1] - sx[0]) + 1,
              abs(sy[1] - sy[0]) + 1, yv, u, v);
}

static void draw_marks(Canvas *cv, int rotation)
{
    int sw = rotation % 180 ? cv->h[0] : cv->w[0], sh = rotation % 180 ? cv->w[0] : cv->h[0];

    fill_rect(cv, 0, 0, cv->w[0], cv->h[0], TM_MARK_BG_Y, 128, 128);
    fill_shown_rect(cv, rotation, 0, 0, sw / 4, sh / 4, TM_MARK_WHITE_Y, 128, 128);
    fill_shown_rect(cv, rotation, sw - sw / 4, 0, sw / 4, sh / 4, TM_MARK_RED_Y, TM_MARK_RED_U,
                    TM_MARK_RED_V);
}

/* TM_CLOCK: bits of the time in ms as blocks of a sixteenth of the width,
 * on the middle half of the height. */
#define CLOCK_BITS 16

static void draw_clock(Canvas *cv, double t)
{
    int W = cv->w[0], H = cv->h[0], bw = W / CLOCK_BITS;
    unsigned ms = (unsigned)llrint(t * 1000.0) & 0xffffu;

    fill_rect(cv, 0, 0, W, H, 128, 128, 128);
    for (int b = 0; b < CLOCK_BITS; b++) {
        int on = (ms >> (CLOCK_BITS - 1 - b)) & 1;
        fill_rect(cv, b * bw, H / 4, bw, H / 2, on ? 235 : 16, 128, 128);
    }
}

int tm_read_clock(const uint8_t *luma, ptrdiff_t stride, int w, int h)
{
    int bw = w / CLOCK_BITS, ms = 0;

    if (bw < 4 || h < 8)
        return -1;
    for (int b = 0; b < CLOCK_BITS; b++) {
        long sum = 0, n = 0;
        for (int y = 3 * h / 8; y < 5 * h / 8; y++)
            for (int x = b * bw + bw / 4; x < b * bw + 3 * bw / 4; x++, n++)
                sum += luma[y * stride + x];
        if (sum > 170 * n)
            ms |= 1 << (CLOCK_BITS - 1 - b);
        else if (sum >= 86 * n)
            return -1;
    }
    return ms;
}

/* The motion window of TmClip.motion_window in a w x h picture: even
 * coordinates, at an eighth of the width and a sixth of the height. */
static void motion_window_rect(const TmClip *c, int w, int h, int *x, int *y, int *ww, int *wh)
{
    *ww = (int)lrint(w * c->motion_window) & ~1;
    *wh = (int)lrint(h * c->motion_window) & ~1;
    *x = FFMIN(w / 8, w - *ww) & ~1;
    *y = FFMIN(h / 6, h - *wh) & ~1;
}

/* Copy canvas src (at the window's size) into cv at (x, y). */
static void blit(Canvas *cv, const Canvas *src, int x, int y)
{
    for (int p = 0; p < 3; p++) {
        int px = p ? x >> cv->sx : x, py = p ? y >> cv->sy : y;
        for (int r = 0; r < src->h[p] && py + r < cv->h[p]; r++)
            memcpy(cv->plane[p] + (size_t)(py + r) * (size_t)cv->w[p] + px,
                   src->plane[p] + (size_t)r * (size_t)src->w[p],
                   (size_t)FFMIN(src->w[p], cv->w[p] - px));
    }
}

static void draw_pattern(Canvas *cv, const TmClip *c, TmPattern pattern, double t, int frame_no);

/* win: the motion window's canvas (TmClip.motion_window), else unused. */
static void draw_frame(Canvas *cv, Canvas *win, const TmClip *c, double t, int frame_no)
{
    int moving = c->motion_len > 0.0 && t >= c->motion_at && t < c->motion_at + c->motion_len;

    if (moving && c->motion_window > 0.0 && c->motion_window < 1.0) {
        int x, y, ww, wh;
        motion_window_rect(c, cv->w[0], cv->h[0], &x, &y, &ww, &wh);
        draw_pattern(cv, c, c->pattern, t, frame_no);
        draw_motion(win, t, frame_no);
        blit(cv, win, x, y);
    } else {
        draw_pattern(cv, c, moving ? TM_MOTION : c->pattern, t, frame_no);
    }
    if (c->pointer)
        draw_pointer(cv, t);
}

static void draw_pattern(Canvas *cv, const TmClip *c, TmPattern pattern, double t, int frame_no)
{
    uint32_t slide = (uint32_t)floor(t / c->slide_seconds + 1e-9);

    switch (pattern) {
    case TM_SLIDES:
        draw_slide(cv, slide);
        break;
    case TM_MOTION:
        draw_motion(cv, t, frame_no);
        break;
    case TM_WEBCAM:
        draw_webcam(cv, slide, (uint32_t)frame_no);
        break;
    case TM_NOISE:
        draw_noise(cv, (uint32_t)frame_no);
        break;
    case TM_TYPING:
        draw_typing(cv, t);
        break;
    case TM_CAMERA:
        draw_camera(cv, slide, t, (uint32_t)frame_no);
        break;
    case TM_MARKS:
        draw_marks(cv, c->rotation);
        break;
    case TM_CLOCK:
        draw_clock(cv, t);
        break;
    case TM_TALK:
        draw_talk(cv, c->slide_seconds, t);
        break;
    }
}

static void canvas_to_frame(const Canvas *cv, AVFrame *f, int high_depth)
{
    for (int p = 0; p < 3; p++) {
        for (int y = 0; y < cv->h[p]; y++) {
            const uint8_t *src = cv->plane[p] + (size_t)y * (size_t)cv->w[p];
            uint8_t *dst = f->data[p] + (ptrdiff_t)y * f->linesize[p];
            if (!high_depth) {
                memcpy(dst, src, (size_t)cv->w[p]);
                continue;
            }
            for (int x = 0; x < cv->w[p]; x++)
                AV_WL16(dst + 2 * x, (unsigned)src[x] << 2);
        }
    }
}

/* ---- the timestamp plan of the video stream ---- */

typedef struct Plan {
    AVRational tb;
    int n;
    int64_t *pts; /* stamped timestamps (gap applied), ascending */
    int64_t *dur; /* each frame's own display duration (a gap is not part of it) */
    double *t;    /* media time of each frame in seconds (gap not counted) */
} Plan;

static void plan_free(Plan *p)
{
    av_freep(&p->pts);
    av_freep(&p->dur);
    av_freep(&p->t);
}

static int plan_alloc(Plan *p, int64_t cap)
{
    if (cap > INT_MAX / 2)
        return AVERROR(EINVAL);
    p->pts = av_calloc((size_t)cap, sizeof(*p->pts));
    p->dur = av_calloc((size_t)cap, sizeof(*p->dur));
    p->t = av_calloc((size_t)cap, sizeof(*p->t));
    if (!p->pts || !p->dur || !p->t)
        return AVERROR(ENOMEM);
    return 0;
}

/* TmClip.close_frames: the nominal grid of a vfr_hz clock, every fifth frame
 * (but the last, whose length a WebM reader takes from the interval before
 * it) moved to 0.4 ms after the one before it. */
static int plan_close_frames(Plan *p, const TmClip *c, int vfr_hz)
{
    int64_t n = llrint(c->duration * c->fps), total = llrint(c->duration * vfr_hz);
    int64_t close = llrint(0.0004 * vfr_hz);
    int ret;

    if (n < 2 || vfr_hz / c->fps < 4 * close)
        return AVERROR(EINVAL);
    p->tb = (AVRational){1, vfr_hz};
    ret = plan_alloc(p, n);
    if (ret < 0)
        return ret;
    for (int64_t i = 0; i < n; i++)
        p->pts[i] =
            i % 5 == 4 && i + 1 < n ? p->pts[i - 1] + close : llrint((double)i * vfr_hz / c->fps);
    for (int64_t i = 0; i < n; i++)
        p->dur[i] = (i + 1 < n ? p->pts[i + 1] : total) - p->pts[i];
    p->n = (int)n;
    return 0;
}

/*
 * CFR: one tick of 1/fps per frame. VFR: a vfr_hz clock and durations of 1 to
 * 4 nominal periods (mostly 1, as a recorder that skips unchanged frames
 * does) with an odd jitter of up to 1/6 period; the last frame takes up the
 * remainder so that the video lasts exactly the requested duration.
 */
static int plan_video(Plan *p, const TmClip *c, int vfr_hz)
{
    AVRational rate = av_d2q(c->fps, 65535);
    int64_t shift = 0;
    int ret;

    if (c->close_frames) {
        ret = plan_close_frames(p, c, vfr_hz);
        if (ret < 0)
            return ret;
    } else if (!c->vfr) {
        int64_t n = llrint(c->duration * c->fps);
        p->tb = av_inv_q(rate);
        if (n < 1)
            n = 1;
        ret = plan_alloc(p, n);
        if (ret < 0)
            return ret;
        for (int64_t i = 0; i < n; i++) {
            p->pts[i] = i;
            p->dur[i] = 1;
        }
        p->n = (int)n;
    } else {
        int64_t period = llrint(vfr_hz / c->fps);
        int64_t total = llrint(c->duration * vfr_hz), t = 0;
        uint32_t rng = 0x2545f491U;
        static const int periods[8] = {1, 1, 1, 1, 2, 2, 3, 4};

        p->tb = (AVRational){1, vfr_hz};
        if (period < 8)
            return AVERROR(EINVAL);
        ret = plan_alloc(p, total / (period - period / 6) + 4);
        if (ret < 0)
            return ret;
        while (t < total) {
            uint32_t r = tm_rand(&rng);
            int64_t jitter = (int64_t)(r % (uint32_t)(period / 3 + 1)) - period / 6;
            int64_t d = (periods[(r >> 24) & 7] * period + jitter) | 1;

            if (total - t - d < period / 2)
                d = total - t;
            p->pts[p->n] = t;
            p->dur[p->n] = d;
            p->n++;
            t += d;
        }
    }
    if (c->gap_len > 0) {
        shift = llrint(c->gap_len / av_q2d(p->tb));
        if (shift < 1)
            shift = 1;
    }
    for (int i = 0; i < p->n; i++) {
        p->t[i] = (double)p->pts[i] * av_q2d(p->tb);
        if (shift && p->t[i] >= c->gap_at - 1e-9)
            p->pts[i] += shift;
        p->pts[i] += llrint(c->video_start / av_q2d(p->tb));
    }
    return 0;
}

/* Duration of the frame stamped pts (binary search: packets come out of a
 * B-frame encoder in decode order). */
static int64_t plan_duration(const Plan *p, int64_t pts)
{
    int lo = 0, hi = p->n - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (p->pts[mid] == pts)
            return p->dur[mid];
        if (p->pts[mid] < pts)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

/* ---- the writer ---- */

typedef struct VideoOut {
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    Canvas cv;
    Canvas win; /* the motion window's picture (TmClip.motion_window) */
    Plan plan;
    int high_depth;
    int next; /* next frame to encode */
    int done; /* flushed */
} VideoOut;

typedef struct AudioOut {
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    double freq;
    TmAudio kind;      /* TmClip.audio */
    int track;         /* the track's number, 0 first */
    int64_t next;      /* next sample (media time) to encode */
    int64_t total;     /* samples to encode */
    int64_t gap_from;  /* first sample stamped late (INT64_MAX: none) */
    int64_t gap_shift; /* samples */
    int frame_size;    /* samples per frame sent (the encoder's, 1024 if it takes any) */
    int done;
} AudioOut;

typedef struct Writer {
    AVFormatContext *oc;
    AVPacket *pkt;
    VideoOut v;
    AudioOut a[TM_MAX_AUDIO];
    int na;
} Writer;

static int check_clip(const TmClip *c, char *err, size_t errsize)
{
    const char *why = NULL;
    int video = c->width > 0 && c->height > 0;

    if (video && (c->width < 16 || c->height < 16 || c->width > 8192 || c->height > 8192))
        why = "size must be 16x16 to 8192x8192 (or 0 for no video)";
    else if (c->width < 0 || c->height < 0)
        why = "size must not be negative";
    else if (!video && c->audio_tracks < 1)
        why = "neither video nor audio";
    else if (video && !c->chroma444 && ((c->width | c->height) & 1))
        why = "4:2:0 needs an even width and height";
    else if (!(c->fps > 0.0 && c->fps <= 1000.0))
        why = "fps must be in (0, 1000]";
    else if (!(c->duration > 0.0 && c->duration * c->fps <= 1e7))
        why = "duration must be positive (and at most 10^7 frames)";
    else if ((unsigned)c->pattern > TM_TALK)
        why = "unknown pattern";
    else if (c->chapters < 0 || c->chapters > 100)
        why = "chapters must be 0 to 100";
    else if (!(c->slide_seconds > 0.0))
        why = "slide_seconds must be positive";
    else if (c->motion_len < 0.0 || c->motion_at < 0.0)
        why = "motion_at and motion_len must not be negative";
    else if (c->bit_depth != 8 && c->bit_depth != 10)
        why = "bit depth must be 8 or 10";
    else if (c->audio_tracks < 0 || c->audio_tracks > TM_MAX_AUDIO)
        why = "audio tracks must be 0 to 16";
    else if (c->audio_tracks && (c->sample_rate < 1000 || c->sample_rate > 192000))
        why = "sample rate must be 1000 to 192000 Hz";
    else if (c->audio_tracks && (c->channels < 1 || c->channels > 8))
        why = "channels must be 1 to 8";
    else if (!(c->audio_duration < 0.0 || (c->audio_duration > 0.0 && c->audio_duration < 1e6)))
        why = "audio duration must be positive (or negative for the video's)";
    else if (c->crf < 0 || c->crf > 51)
        why = "crf must be 0 to 51";
    else if (c->bitrate < 0)
        why = "bitrate must not be negative";
    else if (c->rotation < 0 || c->rotation >= 360)
        why = "rotation must be 0 to 359";
    else if (!(c->gap_len >= 0.0 && c->gap_at >= 0.0 && c->gap_len < 1e6))
        why = "gap position and length must not be negative";
    else if (!(c->video_start >= 0.0 && c->video_start < 1e6))
        why = "video start must not be negative";
    else if (c->hdr && c->bit_depth != 10)
        why = "HDR needs 10 bits";
    else if (c->close_frames && c->vfr)
        why = "close frames are a VFR clock of their own: not with vfr";
    else if (!(c->motion_window >= 0.0 && c->motion_window <= 1.0))
        why = "motion window must be 0 to 1";
    else if ((unsigned)c->audio > TM_AUDIO_SPEECH)
        why = "unknown audio kind";
    if (!why)
        return 0;
    if (err && errsize)
        snprintf(err, errsize, "invalid clip: %s", why);
    return AVERROR(EINVAL);
}

/* MPEG program streams (DVD-style camcorder files) carry MPEG-2 video and
 * MP2 audio. */
static int program_stream(const AVFormatContext *oc)
{
    const char *n = oc->oformat->name;

    return !strcmp(n, "mpeg") || !strcmp(n, "vob") || !strcmp(n, "dvd");
}

/* The video encoder for c in oc's container: MPEG-2 in a program stream,
 * libx265 for c->hevc (NULL when missing), else libx264 or, without it,
 * mpeg4. Refuses (err) what the chosen one cannot do. */
static const AVCodec *pick_video_encoder(const AVFormatContext *oc, const TmClip *c, int *ret,
                                         char *err, size_t errsize)
{
    const AVCodec *codec;

    *ret = 0;
    if (program_stream(oc)) {
        if (c->bit_depth != 8 || c->chroma444 || c->vfr || c->close_frames || c->hevc ||
            c->channels > 2) {
            *ret = tm_fail(err, errsize, AVERROR(EINVAL),
                           "an MPEG program stream takes 8-bit 4:2:0 MPEG-2 at a constant rate "
                           "and 1 or 2 channels");
            return NULL;
        }
        codec = avcodec_find_encoder(AV_CODEC_ID_MPEG2VIDEO);
    } else if (c->hevc) {
        codec = avcodec_find_encoder_by_name("libx265");
        if (!codec) {
            *ret = tm_fail(err, errsize, AVERROR(ENOSYS), "no libx265 in this libavcodec");
            return NULL;
        }
    } else {
        codec = avcodec_find_encoder_by_name("libx264");
        if (!codec)
            codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    }
    if (!codec)
        *ret = tm_fail(err, errsize, AVERROR_ENCODER_NOT_FOUND, "no video encoder for %s",
                       oc->oformat->name);
    return codec;
}

/* libx265 at a constant QP (crf) or an average bit rate, quietly. */
static int x265_options(AVCodecContext *enc, const TmClip *c)
{
    int ret =
        av_opt_set(enc->priv_data, "preset", c->x264_preset ? c->x264_preset : "ultrafast", 0);

    if (ret >= 0)
        ret = av_opt_set(enc->priv_data, "x265-params", "log-level=error", 0);
    if (ret >= 0 && c->bitrate > 0)
        enc->bit_rate = c->bitrate;
    else if (ret >= 0)
        ret = av_opt_set_int(enc->priv_data, "qp", c->crf, 0);
    if (c->gop > 0)
        enc->gop_size = c->gop;
    return ret;
}

static int open_video(Writer *w, const TmClip *c, char *err, size_t errsize)
{
    VideoOut *v = &w->v;
    const AVCodec *codec;
    int x264, x265;
    enum AVPixelFormat fmt;
    int ret;

    codec = pick_video_encoder(w->oc, c, &ret, err, errsize);
    if (!codec)
        return ret;
    x264 = !strcmp(codec->name, "libx264");
    x265 = !strcmp(codec->name, "libx265");
    if (!x264 && !x265 && (c->bit_depth != 8 || c->chroma444))
        return tm_fail(err, errsize, AVERROR(ENOSYS),
                       "libx264 missing: the mpeg4 fallback does only 8-bit 4:2:0");
    if (c->bit_depth == 10)
        fmt = c->chroma444 ? AV_PIX_FMT_YUV444P10LE : AV_PIX_FMT_YUV420P10LE;
    else
        fmt = c->chroma444 ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P;
    v->high_depth = c->bit_depth > 8;

    ret = plan_video(&v->plan, c, x264 || x265 ? TM_VFR_HZ : TM_VFR_HZ_M4);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot plan %g s at %g fps", c->duration, c->fps);
    ret = canvas_alloc(&v->cv, c->width, c->height, c->chroma444 ? 0 : 1, c->chroma444 ? 0 : 1);
    if (ret >= 0 && c->motion_window > 0.0 && c->motion_window < 1.0) {
        int x, y, ww, wh;
        motion_window_rect(c, c->width, c->height, &x, &y, &ww, &wh);
        ret = canvas_alloc(&v->win, FFMAX(ww, 2), FFMAX(wh, 2), v->cv.sx, v->cv.sy);
    }
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot allocate the canvas");

    v->enc = avcodec_alloc_context3(codec);
    if (!v->enc)
        return tm_fail(err, errsize, AVERROR(ENOMEM), "cannot allocate the video encoder");
    v->enc->width = c->width;
    v->enc->height = c->height;
    v->enc->pix_fmt = fmt;
    v->enc->sample_aspect_ratio = (AVRational){1, 1};
    v->enc->time_base = v->plan.tb;
    v->enc->framerate = av_d2q(c->fps, 65535); /* rate-control hint, also for VFR */
    v->enc->color_range = AVCOL_RANGE_MPEG;
    v->enc->color_primaries = AVCOL_PRI_BT709;
    v->enc->color_trc = AVCOL_TRC_BT709;
    v->enc->colorspace = AVCOL_SPC_BT709;
    if (c->hdr) {
        v->enc->color_primaries = AVCOL_PRI_BT2020;
        v->enc->color_trc = AVCOL_TRC_SMPTE2084;
        v->enc->colorspace = AVCOL_SPC_BT2020_NCL;
    }
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER)
        v->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (x265) {
        ret = x265_options(v->enc, c);
        if (ret < 0)
            return tm_fail(err, errsize, ret, "cannot set the x265 options");
    } else if (x264) {
        v->enc->thread_count = 0; /* x264's own choice; its output stays deterministic */
        ret = av_opt_set(v->enc->priv_data, "preset", c->x264_preset ? c->x264_preset : "ultrafast",
                         0);
        if (ret < 0)
            return tm_fail(err, errsize, ret, "cannot set x264 preset");
        if (c->bitrate > 0) {
            /* A 1 s VBV as well: a recorder's hardware encoder holds its rate from the
             * first frame, where plain ABR overshoots short noisy clips threefold. */
            v->enc->bit_rate = c->bitrate;
            v->enc->rc_max_rate = c->bitrate;
            v->enc->rc_buffer_size = c->bitrate > INT_MAX ? INT_MAX : (int)c->bitrate;
        } else {
            /* Constant QP, not x264's crf: crf keeps lowering the QP of a static
             * picture's P-frames (55 of 60 decoded slides frames differed at crf 23),
             * and the deblocking filter keeps x264 from settling on skip blocks (every
             * frame differed at 1080p veryfast). Without both, the frames of a static
             * picture decode identical, which the duplicate-frame tests rely on. */
            ret = av_opt_set_int(v->enc->priv_data, "qp", c->crf, 0);
            if (ret >= 0)
                ret = av_opt_set(v->enc->priv_data, "x264-params", "no-deblock=1", 0);
        }
        if (ret < 0)
            return tm_fail(err, errsize, ret, "cannot set the x264 quantizer");
        if (c->gop > 0)
            v->enc->gop_size = c->gop;
    } else {
        v->enc->gop_size = c->gop > 0 ? c->gop : 250;
        if (c->bitrate > 0) {
            v->enc->bit_rate = c->bitrate;
        } else {
            v->enc->flags |= AV_CODEC_FLAG_QSCALE;
            v->enc->global_quality = FF_QP2LAMBDA * (2 + c->crf * 29 / 51);
        }
    }
    ret = avcodec_open2(v->enc, codec, NULL);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot open video encoder %s", codec->name);

    v->st = avformat_new_stream(w->oc, NULL);
    if (!v->st)
        return tm_fail(err, errsize, AVERROR(ENOMEM), "cannot add the video stream");
    v->st->time_base = v->enc->time_base;
    if (!c->vfr && !c->close_frames)
        v->st->avg_frame_rate = v->enc->framerate;
    v->st->disposition = AV_DISPOSITION_DEFAULT;
    ret = avcodec_parameters_from_context(v->st->codecpar, v->enc);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot copy video parameters");
    if (c->rotation) {
        uint8_t *sd =
            av_stream_new_side_data(v->st, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
        if (!sd)
            return tm_fail(err, errsize, AVERROR(ENOMEM), "cannot add the display matrix");
        /* Measured on lavu 57.28: after av_display_rotation_set(m, a), players (ffmpeg's
         * autorotate, MediaInfo) turn the picture a degrees clockwise, while ffprobe
         * prints av_display_rotation_get(m) = -a. */
        av_display_rotation_set((int32_t *)sd, (double)c->rotation);
    }

    v->frame = av_frame_alloc();
    if (!v->frame)
        return tm_fail(err, errsize, AVERROR(ENOMEM), "cannot allocate a video frame");
    v->frame->format = fmt;
    v->frame->width = c->width;
    v->frame->height = c->height;
    ret = av_frame_get_buffer(v->frame, 0);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot allocate a video frame");
    return 0;
}

/* Planar float where the encoder takes it (AAC), else interleaved 16-bit
 * (MP2): the two formats fill_tone() writes. */
static enum AVSampleFormat tone_format(const AVCodec *codec)
{
    for (const enum AVSampleFormat *f = codec->sample_fmts; f && *f != AV_SAMPLE_FMT_NONE; f++)
        if (*f == AV_SAMPLE_FMT_FLTP)
            return *f;
    return AV_SAMPLE_FMT_S16;
}

/* The encoder's own layout with c->channels channels, the default one if it
 * takes that (the native AAC encoder does not take every default layout). */
static int pick_layout(const AVCodec *codec, int channels, AVChannelLayout *out)
{
    AVChannelLayout def;

    av_channel_layout_default(&def, channels);
    if (!codec->ch_layouts)
        return av_channel_layout_copy(out, &def);
    for (const AVChannelLayout *l = codec->ch_layouts; l->nb_channels; l++)
        if (!av_channel_layout_compare(l, &def))
            return av_channel_layout_copy(out, l);
    for (const AVChannelLayout *l = codec->ch_layouts; l->nb_channels; l++)
        if (l->nb_channels == channels)
            return av_channel_layout_copy(out, l);
    return AVERROR(EINVAL);
}

static int open_audio(Writer *w, AudioOut *a, int track, const TmClip *c, char *err, size_t errsize)
{
    const AVCodec *codec = program_stream(w->oc) ? avcodec_find_encoder(AV_CODEC_ID_MP2)
                                                 : avcodec_find_encoder_by_name("aac");
    double seconds = c->audio_duration < 0.0 ? c->duration : c->audio_duration;
    int ret;

    if (!codec && !program_stream(w->oc))
        codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!codec)
        return tm_fail(err, errsize, AVERROR_ENCODER_NOT_FOUND, "no %s encoder",
                       program_stream(w->oc) ? "MP2" : "AAC");
    a->freq = 440.0 + 220.0 * track;
    a->kind = c->audio;
    a->track = track;
    a->total = llrint(seconds * c->sample_rate);
    a->gap_from = INT64_MAX;
    if (c->gap_len > 0) {
        a->gap_from = llrint(c->gap_at * c->sample_rate);
        a->gap_shift = llrint(c->gap_len * c->sample_rate);
    }

    a->enc = avcodec_alloc_context3(codec);
    if (!a->enc)
        return tm_fail(err, errsize, AVERROR(ENOMEM), "cannot allocate the audio encoder");
    ret = pick_layout(codec, c->channels, &a->enc->ch_layout);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "%s takes no %d-channel layout", codec->name,
                       c->channels);
    a->enc->sample_fmt = tone_format(codec);
    a->enc->sample_rate = c->sample_rate;
    a->enc->bit_rate = 64000 * (int64_t)c->channels;
    a->enc->time_base = (AVRational){1, c->sample_rate};
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER)
        a->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    ret = avcodec_open2(a->enc, codec, NULL);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot open audio encoder %s (%d Hz, %d channels)",
                       codec->name, c->sample_rate, c->channels);

    a->st = avformat_new_stream(w->oc, NULL);
    if (!a->st)
        return tm_fail(err, errsize, AVERROR(ENOMEM), "cannot add an audio stream");
    a->st->time_base = a->enc->time_base;
    a->st->disposition = track == 0 ? AV_DISPOSITION_DEFAULT : 0;
    if (c->languages && c->languages[track] &&
        av_dict_set(&a->st->metadata, "language", c->languages[track], 0) < 0)
        return tm_fail(err, errsize, AVERROR(ENOMEM), "cannot tag an audio stream");
    ret = avcodec_parameters_from_context(a->st->codecpar, a->enc);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot copy audio parameters");

    a->frame = av_frame_alloc();
    if (!a->frame)
        return tm_fail(err, errsize, AVERROR(ENOMEM), "cannot allocate an audio frame");
    a->frame->format = a->enc->sample_fmt;
    a->frame->sample_rate = a->enc->sample_rate;
    a->frame_size = a->enc->frame_size > 0 ? a->enc->frame_size : 1024;
    a->frame->nb_samples = a->frame_size;
    ret = av_channel_layout_copy(&a->frame->ch_layout, &a->enc->ch_layout);
    if (ret >= 0)
        ret = av_frame_get_buffer(a->frame, 0);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot allocate an audio frame");
    return 0;
}

/* Send frame (NULL: flush) and write every packet that comes out. plan gives
 * video packets their durations (libx264 in lavc 59 leaves them 0). */
static int encode_write(Writer *w, AVCodecContext *enc, AVStream *st, const AVFrame *frame,
                        const Plan *plan)
{
    int ret = avcodec_send_frame(enc, frame);

    while (ret >= 0) {
        ret = avcodec_receive_packet(enc, w->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            break;
        if (plan)
            w->pkt->duration = plan_duration(plan, w->pkt->pts);
        w->pkt->stream_index = st->index;
        av_packet_rescale_ts(w->pkt, enc->time_base, st->time_base);
        ret = av_interleaved_write_frame(w->oc, w->pkt);
    }
    av_packet_unref(w->pkt);
    return ret;
}

static int video_step(Writer *w, const TmClip *c, char *err, size_t errsize)
{
    VideoOut *v = &w->v;
    int ret;

    if (v->next >= v->plan.n) {
        ret = encode_write(w, v->enc, v->st, NULL, &v->plan);
        v->done = 1;
        return ret < 0 ? tm_fail(err, errsize, ret, "cannot flush the video encoder") : 0;
    }
    ret = av_frame_make_writable(v->frame);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot write a video frame");
    draw_frame(&v->cv, &v->win, c, v->plan.t[v->next], v->next);
    canvas_to_frame(&v->cv, v->frame, v->high_depth);
    v->frame->pts = v->plan.pts[v->next];
    v->frame->pkt_duration = v->plan.dur[v->next];
    v->frame->pict_type = AV_PICTURE_TYPE_NONE;
    ret = encode_write(w, v->enc, v->st, v->frame, &v->plan);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot encode video frame %d", v->next);
    v->next++;
    return 0;
}

/* TM_AUDIO_SPEECH's sample n of channel ch at rate (see testmedia.h): a
 * function of n alone, like the other kinds, so any stretch is the same. */
static double speech_sample(int64_t n, int rate, int ch, int track)
{
    double t = (double)n / rate;
    uint32_t phrase = (uint32_t)(int64_t)floor(t / 3.0);
    uint32_t syl = (uint32_t)(int64_t)floor(t / 0.25), h = tm_hash3(syl, 0x51 + track, 0x1a);
    double len = 0.12 + (h % 101) * 0.001, off = t - syl * 0.25, f0, env;
    double floor_noise =
        ((tm_hash3((uint32_t)n, (uint32_t)ch, 0x70 + track) & 0xffff) / 65535.0 - 0.5) * 0.0006;

    if (tm_hash3(phrase, 0x5be + track, 0xec) % 3 == 0 || (h >> 8) % 5 == 0 || off >= len)
        return floor_noise; /* a pause, a gap between syllables */
    f0 = 120.0 + (h >> 16) % 121 + 40.0 * track;
    env = sin(TM_PI * off / len);
    return floor_noise + 0.25 * (1.0 - 0.08 * ch) * env * env *
                             (sin(2 * TM_PI * f0 * t) + 0.5 * sin(4 * TM_PI * f0 * t) +
                              0.25 * sin(6 * TM_PI * f0 * t)) /
                             1.75;
}

/* The track's signal (a->kind) from sample a->next on, each channel its own
 * level, as planar float or interleaved s16 (MP2). */
static void fill_audio(const AudioOut *a, AVFrame *f)
{
    int nch = f->ch_layout.nb_channels;

    for (int ch = 0; ch < nch; ch++) {
        double amp = 0.25 * (1.0 - 0.08 * ch); /* channels tell apart */
        for (int i = 0; i < f->nb_samples; i++) {
            double v;
            if (a->kind == TM_AUDIO_SILENT)
                v = 0.0;
            else if (a->kind == TM_AUDIO_SPEECH)
                v = speech_sample(a->next + i, f->sample_rate, ch, a->track);
            else
                v = amp * sin(2.0 * TM_PI * a->freq * (double)(a->next + i) / f->sample_rate);
            if (f->format == AV_SAMPLE_FMT_S16)
                ((int16_t *)f->data[0])[i * nch + ch] = (int16_t)lrint(v * 32767.0);
            else
                ((float *)f->extended_data[ch])[i] = (float)v;
        }
    }
}

static int audio_step(Writer *w, AudioOut *a, char *err, size_t errsize)
{
    AVFrame *f = a->frame;
    int64_t n = a->total - a->next;
    int ret;

    if (n <= 0) {
        ret = encode_write(w, a->enc, a->st, NULL, NULL);
        a->done = 1;
        return ret < 0 ? tm_fail(err, errsize, ret, "cannot flush an audio encoder") : 0;
    }
    ret = av_frame_make_writable(f);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot write an audio frame");
    /* Only the last frame may be short (AV_CODEC_CAP_SMALL_LAST_FRAME). */
    f->nb_samples = n < a->frame_size ? (int)n : a->frame_size;
    fill_audio(a, f);
    f->pts = a->next + (a->next >= a->gap_from ? a->gap_shift : 0);
    ret = encode_write(w, a->enc, a->st, f, NULL);
    if (ret < 0)
        return tm_fail(err, errsize, ret, "cannot encode audio");
    a->next += f->nb_samples;
    return 0;
}

/* Seconds at which a stream's next input is stamped; -inf when only its flush
 * is left (do that first), +inf when it is finished. */
static double video_next_time(const VideoOut *v)
{
    if (v->done)
        return INFINITY;
    if (v->next >= v->plan.n)
        return -INFINITY;
    return (double)v->plan.pts[v->next] * av_q2d(v->plan.tb);
}

static double audio_next_time(const AudioOut *a)
{
    if (a->done)
        return INFINITY;
    if (a->next >= a->total)
        return -INFINITY;
    return (double)(a->next + (a->next >= a->gap_from ? a->gap_shift : 0)) / a->enc->sample_rate;
}

static void writer_free(Writer *w)
{
    canvas_free(&w->v.cv);
    canvas_free(&w->v.win);
    plan_free(&w->v.plan);
    av_frame_free(&w->v.frame);
    avcodec_free_context(&w->v.enc);
    for (int i = 0; i < TM_MAX_AUDIO; i++) {
        av_frame_free(&w->a[i].frame);
        avcodec_free_context(&w->a[i].enc);
    }
    av_packet_free(&w->pkt);
    if (w->oc)
        avio_closep(&w->oc->pb);
    avformat_free_context(w->oc);
    w->oc = NULL;
}

/* libavformat has no public call that adds a chapter: muxers read
 * oc->chapters as the caller left it (as ffmpeg's own copy_chapters fills
 * it), and avformat_free_context() frees it. */
static int add_chapters(AVFormatContext *oc, const TmClip *c)
{
    int64_t total = llrint(c->duration * 1000);

    if (c->chapters <= 0)
        return 0;
    oc->chapters = av_calloc((size_t)c->chapters, sizeof(*oc->chapters));
    if (!oc->chapters)
        return AVERROR(ENOMEM);
    for (int i = 0; i < c->chapters; i++) {
        AVChapter *ch = av_mallocz(sizeof(*ch));
        char title[32];

        if (!ch)
            return AVERROR(ENOMEM);
        oc->chapters[oc->nb_chapters++] = ch;
        ch->id = i + 1;
        ch->time_base = (AVRational){1, 1000};
        ch->start = total * i / c->chapters;
        ch->end = total * (i + 1) / c->chapters;
        snprintf(title, sizeof(title), "Chapter %d", i + 1);
        if (av_dict_set(&ch->metadata, "title", title, 0) < 0)
            return AVERROR(ENOMEM);
    }
    return 0;
}

int tm_write_clip(const char *path, const TmClip *c, char *err, size_t errsize)
{
    Writer w;
    AVDictionary *opts = NULL;
    int created = 0;
    int ret;

    memset(&w, 0, sizeof(w));
    if (err && errsize)
        err[0] = '\0';
    ret = check_clip(c, err, errsize);
    if (ret < 0)
        return ret;

    ret = avformat_alloc_output_context2(&w.oc, NULL, NULL, path);
    if (ret < 0) {
        tm_fail(err, errsize, ret, "no container for '%s'", path);
        goto fail;
    }
    w.pkt = av_packet_alloc();
    if (!w.pkt) {
        ret = tm_fail(err, errsize, AVERROR(ENOMEM), "cannot allocate a packet");
        goto fail;
    }
    if (c->width > 0 && c->height > 0) {
        ret = open_video(&w, c, err, errsize);
        if (ret < 0)
            goto fail;
    } else {
        w.v.done = 1; /* an audio-only file */
    }
    for (w.na = 0; w.na < c->audio_tracks; w.na++) {
        ret = open_audio(&w, &w.a[w.na], w.na, c, err, errsize);
        if (ret < 0)
            goto fail;
    }

    ret = 0;
    if (c->artist)
        ret = av_dict_set(&w.oc->metadata, "artist", c->artist, 0);
    if (ret >= 0 && c->title)
        ret = av_dict_set(&w.oc->metadata, "title", c->title, 0);
    if (ret >= 0 && c->creation_time)
        ret = av_dict_set(&w.oc->metadata, "creation_time", c->creation_time, 0);
    if (ret < 0) {
        tm_fail(err, errsize, ret, "cannot set the tags");
        goto fail;
    }
    ret = add_chapters(w.oc, c);
    if (ret < 0) {
        tm_fail(err, errsize, ret, "cannot add the chapters");
        goto fail;
    }
    if (c->faststart) {
        if (!av_opt_find(w.oc->priv_data, "movflags", NULL, 0, 0)) {
            ret = tm_fail(err, errsize, AVERROR(ENOSYS), "faststart needs MP4 or MOV, not %s",
                          w.oc->oformat->name);
            goto fail;
        }
        ret = av_dict_set(&opts, "movflags", "+faststart", 0);
        if (ret < 0) {
            tm_fail(err, errsize, ret, "cannot set movflags");
            goto fail;
        }
    }

    ret = avio_open(&w.oc->pb, path, AVIO_FLAG_WRITE);
    if (ret < 0) {
        tm_fail(err, errsize, ret, "cannot create '%s'", path);
        goto fail;
    }
    created = 1;
    ret = avformat_write_header(w.oc, &opts);
    if (ret < 0) {
        tm_fail(err, errsize, ret, "cannot write the header of '%s'", path);
        goto fail;
    }

    /* Encode in timestamp order across the streams, flushing each at its end. */
    for (;;) {
        double best = video_next_time(&w.v);
        int pick = -1; /* -1: video, i: audio track i */

        for (int i = 0; i < w.na; i++) {
            double t = audio_next_time(&w.a[i]);
            if (t < best) {
                best = t;
                pick = i;
            }
        }
        if (best == INFINITY)
            break;
        ret = pick < 0 ? video_step(&w, c, err, errsize) : audio_step(&w, &w.a[pick], err, errsize);
        if (ret < 0)
            goto fail;
    }

    ret = av_write_trailer(w.oc);
    if (ret < 0) {
        tm_fail(err, errsize, ret, "cannot write the trailer of '%s'", path);
        goto fail;
    }
    ret = avio_closep(&w.oc->pb);
    if (ret < 0) {
        tm_fail(err, errsize, ret, "cannot close '%s'", path);
        goto fail;
    }
    ret = 0;

fail:
    av_dict_free(&opts);
    writer_free(&w);
    if (ret < 0 && created)
        unlink(path);
    return ret;
}

static int close_checked(FILE *fp, int ret);

/* Full-range BT.601 (JFIF) Y, Cb, Cr of an RGB colour. */
static void jfif_yuv(const uint8_t rgb[3], uint8_t yuv[3])
{
    double r = rgb[0], g = rgb[1], b = rgb[2];

    yuv[0] = (uint8_t)clampi((int)lrint(0.299 * r + 0.587 * g + 0.114 * b), 0, 255);
    yuv[1] = (uint8_t)clampi((int)lrint(128 - 0.168736 * r - 0.331264 * g + 0.5 * b), 0, 255);
    yuv[2] = (uint8_t)clampi((int)lrint(128 + 0.5 * r - 0.418688 * g - 0.081312 * b), 0, 255);
}

/* Fill f (rgb24 or a planar 4:2:0 format) half left, half right. */
static void fill_halves(AVFrame *f, const uint8_t left[3], const uint8_t right[3])
{
    if (f->format == AV_PIX_FMT_RGB24) {
        for (int y = 0; y < f->height; y++)
            for (int x = 0; x < f->width; x++)
                memcpy(f->data[0] + y * f->linesize[0] + 3 * x, x < f->width / 2 ? left : right, 3);
        return;
    }
    for (int p = 0; p < 3; p++) {
        int w = p ? (f->width + 1) / 2 : f->width, h = p ? (f->height + 1) / 2 : f->height;
        uint8_t l[3], r[3];
        jfif_yuv(left, l);
        jfif_yuv(right, r);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                f->data[p][y * f->linesize[p] + x] = x < w / 2 ? l[p] : r[p];
    }
}

int tm_write_image(const char *path, int w, int h, const uint8_t left[3], const uint8_t right[3],
                   char *err, size_t errsize)
{
    const char *dot = strrchr(path, '.');
    int png = dot && !strcmp(dot, ".png");
    const AVCodec *codec = avcodec_find_encoder(png ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG);
    AVCodecContext *enc = NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    FILE *fp = NULL;
    int ret;

    if (err && errsize)
        err[0] = '\0';
    if (!f || !pkt || !codec || !(enc = avcodec_alloc_context3(codec))) {
        ret = tm_fail(err, errsize, codec ? AVERROR(ENOMEM) : AVERROR_ENCODER_NOT_FOUND,
                      "cannot set up an image encoder for '%s'", path);
        goto done;
    }
    enc->width = f->width = w;
    enc->height = f->height = h;
    enc->pix_fmt = f->format = png ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_YUVJ420P;
    enc->time_base = (AVRational){1, 25};
    if (!png) { /* quantiser 2: about the best JPEG quality there is */
        enc->flags |= AV_CODEC_FLAG_QSCALE;
        enc->global_quality = FF_QP2LAMBDA * 2;
        f->quality = enc->global_quality;
    }
    ret = avcodec_open2(enc, codec, NULL);
    if (ret >= 0)
        ret = av_frame_get_buffer(f, 0);
    if (ret < 0) {
        tm_fail(err, errsize, ret, "cannot open the %s encoder", codec->name);
        goto done;
    }
    fill_halves(f, left, right);
    ret = avcodec_send_frame(enc, f);
    if (ret >= 0)
        ret = avcodec_send_frame(enc, NULL);
    if (ret >= 0)
        ret = avcodec_receive_packet(enc, pkt);
    if (ret < 0) {
        tm_fail(err, errsize, ret, "cannot encode '%s'", path);
        goto done;
    }
    fp = fopen(path, "wb");
    if (!fp) {
        ret = tm_fail(err, errsize, AVERROR(errno), "cannot create '%s'", path);
        goto done;
    }
    ret = fwrite(pkt->data, 1, (size_t)pkt->size, fp) == (size_t)pkt->size ? 0 : AVERROR(EIO);
    ret = close_checked(fp, ret);
    if (ret < 0)
        tm_fail(err, errsize, ret, "cannot write '%s'", path);
done:
    avcodec_free_context(&enc);
    av_frame_free(&f);
    av_packet_free(&pkt);
    return ret;
}

int tm_truncate_file(const char *path, double fraction)
{
    struct stat sb;

    if (!(fraction >= 0.0 && fraction <= 1.0))
        return AVERROR(EINVAL);
    if (stat(path, &sb) < 0)
        return AVERROR(errno);
    if (truncate(path, (off_t)((double)sb.st_size * fraction)) < 0)
        return AVERROR(errno);
    return 0;
}

int tm_keep_range(const char *path, double from, double to, size_t unit)
{
    struct stat sb;
    uint8_t *buf = NULL;
    size_t a, b;
    FILE *fp;
    int ret = 0;

    if (!(from >= 0.0 && from < to && to <= 1.0) || !unit)
        return AVERROR(EINVAL);
    if (stat(path, &sb) < 0)
        return AVERROR(errno);
    a = (size_t)((double)sb.st_size * from) / unit * unit;
    b = (size_t)((double)sb.st_size * to) / unit * unit;
    if (b <= a)
        return AVERROR(EINVAL);
    buf = av_malloc(b - a);
    fp = buf ? fopen(path, "rb") : NULL;
    if (!fp) {
        ret = buf ? AVERROR(errno) : AVERROR(ENOMEM);
        av_free(buf);
        return ret;
    }
    if (fseek(fp, (long)a, SEEK_SET) != 0 || fread(buf, 1, b - a, fp) != b - a)
        ret = AVERROR(EIO);
    fclose(fp);
    if (ret >= 0) {
        fp = fopen(path, "wb");
        if (!fp)
            ret = AVERROR(errno);
        else
            ret = close_checked(fp, fwrite(buf, 1, b - a, fp) == b - a ? 0 : AVERROR(EIO));
    }
    av_free(buf);
    return ret;
}

/* fclose() and report the first error of the whole write. */
static int close_checked(FILE *fp, int ret)
{
    int saved = errno;

    if (ferror(fp) && ret >= 0)
        ret = AVERROR(saved ? saved : EIO);
    if (fclose(fp) != 0 && ret >= 0)
        ret = AVERROR(errno);
    return ret;
}

int tm_write_random(const char *path, size_t bytes, unsigned seed)
{
    uint8_t buf[4096];
    uint32_t state = tm_mix(seed ^ 0xa5a5a5a5U);
    FILE *fp = fopen(path, "wb");
    int ret = 0;

    if (!fp)
        return AVERROR(errno);
    if (!state)
        state = 1;
    while (bytes > 0) {
        size_t n = bytes < sizeof(buf) ? bytes : sizeof(buf);
        for (size_t i = 0; i < n; i += 4) {
            uint32_t r = tm_rand(&state);
            for (size_t k = 0; k < 4 && i + k < n; k++)
                buf[i + k] = (uint8_t)(r >> (8 * k));
        }
        if (fwrite(buf, 1, n, fp) != n) {
            ret = AVERROR(errno ? errno : EIO);
            break;
        }
        bytes -= n;
    }
    return close_checked(fp, ret);
}

int tm_write_empty(const char *path)
{
    FILE *fp = fopen(path, "wb");

    if (!fp)
        return AVERROR(errno);
    return close_checked(fp, 0);
}
