/*
 * testmedia.h - write Game-Bar-like test recordings with libav*.
 *
 * Windows' Game Bar records MP4 (moov at the end, no faststart) with H.264
 * video, AAC 48 kHz stereo, the global tag artist = "Microsoft Game DVR"
 * (MediaInfo: Performer) and title = the captured application's name. The
 * tests need such files without shipping any: tm_write_clip() makes them at
 * test time, deterministically (same TmClip, same pixels and samples), with
 * the variations that the real world throws at the transcoder (VFR, 10-bit,
 * 4:4:4, odd rates and channel counts, several audio tracks with languages,
 * rotation, chapters, timestamp gaps) and picture content whose character later tests rely on:
 * slides are pixel-identical within each second of media time (duplicate
 * frame elision), motion and noise change every frame.
 *
 * Calling sequence:
 *     TmClip c;
 *     tm_clip_default(&c);
 *     c.duration = 3.0; ...
 *     tm_write_clip("in.mp4", &c, err, sizeof(err));
 *
 * Video is encoded with libx264 when libavcodec has it, else with the native
 * mpeg4 encoder (8-bit 4:2:0 only). Audio is the native AAC encoder. An
 * MPEG program stream (.mpg, .vob) gets MPEG-2 video and MP2 audio instead,
 * as DVD-style camcorders write it (8-bit 4:2:0, constant rate, 1 or 2
 * channels); an MPEG-TS (.ts) keeps H.264 and AAC.
 *
 * Thread-safety: no global state; clips may be written from several threads
 * at once. The functions do not touch libav's log level or callback.
 */
#ifndef RX_TESTMEDIA_H
#define RX_TESTMEDIA_H

#include <stddef.h>
#include <stdint.h>

typedef enum TmPattern {
    TM_SLIDES, /* light page with dark "text lines"; a new slide every 1.0 s of media
                  time, frames within one slide pixel-identical (decoded too, in the default
                  constant-QP mode, but for the frames after a change while the encoder
                  refines it: 1 with ultrafast, a few with B-frame presets; in bitrate mode
                  only close, about 45-80 dB PSNR) */
    TM_MOTION, /* scrolling gradient plus a moving box: every frame differs */
    TM_WEBCAM, /* a slide plus a noisy "webcam" box (1/6 of the width) in the
                  bottom-right corner and a 2x2 "cursor" that moves every 4 frames */
    TM_NOISE,  /* every frame new multi-scale pseudo-random content (worst case) */
    TM_CAMERA, /* slides (a new one every slide_seconds) with a webcam picture-in-picture
                  (1/6 of the width) that drifts around the bottom-right corner: a wall
                  gradient and a swaying, shaded head, plus +-2 levels of sensor noise.
                  Changes every frame, like a real camera; unlike TM_WEBCAM's box of
                  full-range noise, which no encoder can compress (a stress case). */
    TM_TYPING, /* one slide, someone typing: a new "character" (a small dark glyph) every
                  TM_TYPE_PERIOD s on the last text line and a 2-pixel-wide text cursor
                  after it, shown for TM_BLINK_PERIOD s, hidden for the next, and so on.
                  Between those instants frames are pixel-identical: the hostile case for
                  duplicate-frame elision (tiny changes that must never be dropped). */
    TM_MARKS,  /* dark background with two marks placed in the picture as it is SHOWN
                  (after the display matrix of `rotation`): a white block in the top-left
                  corner and a red one in the top-right, each a quarter of the shown width
                  and height. Where they land in a decoded output tells how it is turned
                  or mirrored. Static. */
    TM_CLOCK,  /* the frame's media time in ms (mod 65536) written across the middle of the
                  picture as 16 binary blocks, most significant first, white 1, black 0 on
                  grey: tm_read_clock() reads it back from a decoded picture, so a test can
                  tell which source frame an output frame shows */
    TM_TALK,   /* slides (a new one every slide_seconds) on which someone types now
                  and then: TM_TALK_TYPING s after a slide appears, a glyph every
                  TM_TYPE_PERIOD s into a box at its foot (lines wrap), a blinking text
                  cursor after the last, for all, half, a quarter or none of the slide's
                  remaining time (slide 0: all of it; the others by a hash of their
                  number); static otherwise. Long static stretches, a slide change now and
                  then, small changes between: a screen-recorded talk or coding session */
} TmPattern;

/* What the audio tracks carry (TmClip.audio). */
typedef enum TmAudio {
    TM_AUDIO_TONE,   /* a steady sine, its own per track (the default) */
    TM_AUDIO_SILENT, /* digital zeros: what Game Bar writes when no microphone is recorded */
    TM_AUDIO_SPEECH, /* speech-like: syllables of 120-220 ms (a voiced tone of 120-240 Hz and
                        two harmonics under a smooth envelope), short gaps between them, and
                        a pause of 3 s in every three or so: pauses and gaps are a microphone's
                        noise floor (about -70 dBFS), not zeros */
} TmAudio;

/* TM_MARKS' colours (8-bit Y, U, V; U and V 128 where not given). */
#define TM_MARK_BG_Y    40
#define TM_MARK_WHITE_Y 235
#define TM_MARK_RED_Y   81
#define TM_MARK_RED_U   90
#define TM_MARK_RED_V   240

#define TM_TYPE_PERIOD  0.7 /* seconds between typed characters (TM_TYPING) */
#define TM_BLINK_PERIOD 0.5 /* cursor on, then off, for this long each (TM_TYPING) */
#define TM_TALK_TYPING  4.0 /* TM_TALK: seconds from a slide change to its typing */
#define TM_PTR_PERIOD   6.0 /* TmClip.pointer: the pointer moves once every this many s */
#define TM_PTR_MOVE     0.8 /* ... taking this long, at the start of each period */

typedef struct TmClip {
    int width, height;            /* default 320x180; 4:2:0 needs both even (x264);
                                     width or height 0: no video stream (an audio-only file,
                                     duration then still sets the audio's length) */
    double fps;                   /* nominal rate, default 30 */
    double duration;              /* seconds of video, default 2.0 */
    TmPattern pattern;            /* default TM_SLIDES */
    double slide_seconds;         /* a new slide every this many seconds (default 1.0; slides,
                                     webcam) */
    double motion_at, motion_len; /* motion_len > 0: media time [motion_at, motion_at +
                                  motion_len) is drawn as TM_MOTION (video playback inside a
                                  screen recording) whatever the pattern */
    int vfr;                      /* 1: irregular frame durations in a 1/90000 time base
                                     (1/30000 with the mpeg4 fallback; deterministic: 1..4 nominal periods with odd
                                     jitter,                   so >10 distinct durations), same total duration */
    int bit_depth;                /* 8 (default) or 10 */
    int chroma444;                /* 1: yuv444p / yuv444p10le instead of 4:2:0 */
    int audio_tracks;             /* 0, 1 (default), 2 ... (at most 16), each its own tone:
                                     track i is a sine at 440 + 220 * i Hz */
    int sample_rate;              /* default 48000 (any rate AAC takes: 44100, 12000 ...) */
    int channels;                 /* default 2; 1..8 (6 = 5.1) */
    double audio_duration;        /* < 0 (default): same as the video duration */
    const char *artist;           /* default "Microsoft Game DVR"; NULL = no tag */
    const char *title;            /* default "Visual Studio Code"; NULL = no tag */
    const char *creation_time;    /* default "2024-03-05T10:20:30.000000Z"; NULL = none */
    int gop;                      /* x264 keyint in frames; 0 (default) = x264's default */
    int faststart;                /* 1: moov first (movflags +faststart; MP4/MOV only) */
    int crf;                      /* x264 quality 0..51, default 23, applied as a CONSTANT QP
                                     (x264 -qp) with the deblocking filter off: with x264's crf
                                     or deblocking the frames of a static slide keep being
                                     refined and never decode identical */
    int64_t bitrate;              /* > 0: x264 average bitrate in bit/s instead of crf */
    const char *x264_preset;      /* default "ultrafast" */
    int rotation;                 /* 0 to 359 degrees CLOCKWISE, as MediaInfo and the old
                                     "rotate" tag report it (a portrait phone video is 90);
                                     stored as a display matrix, which ffprobe prints negated.
                                     TM_MARKS draws angles other than 90, 180, 270 as 0 */
    int chapters;                 /* n > 0: n chapters splitting the video's duration evenly,
                                     titled "Chapter 1" ... "Chapter n", in a 1/1000 time base
                                     (MP4: a chapter track and Nero chpl) */
    const char *const *languages; /* NULL, or one ISO 639-2 "language" tag per audio track
                                     (NULL entries: none) */
    double gap_at, gap_len;       /* gap_len > 0: every video frame whose media time is
                                     >= gap_at, and every audio frame from the first AAC frame
                                     boundary >= gap_at, is stamped gap_len seconds later */
    double video_start;           /* > 0: video timestamps start this many seconds after the
                                     audio's (both otherwise start at 0) */
    /* Real-world variants (check_inputs, e2e realworld). */
    int hevc;             /* 1: HEVC through libx265 instead of H.264 (Main 10 at 10 bits, as
                             phones and HDR game captures write); AVERROR(ENOSYS) without it */
    int hdr;              /* 1: tagged HDR10 (BT.2020 primaries and matrix, PQ transfer); 10-bit */
    int close_frames;     /* 1: a phone's jittery VFR clock (1/90000): frames at the nominal rate,
                             but every fifth one (not the last) 0.4 ms after the one before, so that
                             some pairs share a millisecond when rounded and others do not; the video
                             keeps its duration */
    int pointer;          /* 1: a mouse pointer drawn over the picture, resting, then
                             gliding to a new place for TM_PTR_MOVE s at the start
                             of every TM_PTR_PERIOD s (every frame of a glide
                             differs) */
    double motion_window; /* 0 (default): the motion segment fills the picture; 0 < f
                             < 1: it plays in a window of f times the picture's width
                             and height (a video played in a browser during a talk),
                             the pattern around it */
    TmAudio audio;        /* what the audio tracks carry, default TM_AUDIO_TONE */
} TmClip;

/* Fill c with the defaults above. */
void tm_clip_default(TmClip *c);

/*
 * Write the clip described by c to path; the container follows the extension
 * (.mp4, .mov, .mkv, anything libavformat guesses). Returns 0, or a negative
 * AVERROR with a one-line reason in err (err may be NULL). On failure the
 * partial file is removed. AVERROR(ENOSYS) when the mpeg4 fallback is asked for
 * something only libx264 can do; AVERROR(EINVAL) for an impossible TmClip.
 */
int tm_write_clip(const char *path, const TmClip *c, char *err, size_t errsize);

/* The time in ms a TM_CLOCK picture shows, from its 8-bit luma plane (w x h,
 * stride bytes a row); -1 when a block is neither clearly white nor black. */
int tm_read_clock(const uint8_t *luma, ptrdiff_t stride, int w, int h);

/*
 * Write a still image of w x h, its left half the colour left and its right
 * half right (R, G, B): PNG (rgb24) or JPEG (yuvj420p, high quality) as the
 * name ends in .png or .jpg/.jpeg. Returns 0 or a negative AVERROR with a
 * one-line reason in err (err may be NULL).
 */
int tm_write_image(const char *path, int w, int h, const uint8_t left[3], const uint8_t right[3],
                   char *err, size_t errsize);

/* Hostile-file helpers. Each returns 0 or a negative AVERROR (errno based). */

/* Keep the first fraction (0..1) of the bytes of an existing file. */
int tm_truncate_file(const char *path, double fraction);

/* Keep only the bytes from fraction `from` to fraction `to` (0..1) of an
 * existing file, both rounded down to a multiple of unit bytes (188: whole
 * MPEG-TS packets): a segment cut out of a longer recording. */
int tm_keep_range(const char *path, double from, double to, size_t unit);

/* Create or replace path with bytes pseudo-random bytes, determined by seed. */
int tm_write_random(const char *path, size_t bytes, unsigned seed);

/* Create or replace path with an empty file. */
int tm_write_empty(const char *path);

#endif
