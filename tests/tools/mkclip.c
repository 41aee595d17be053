/*
 * mkclip.c - command-line front end of the test media helpers.
 *
 * Makes Game-Bar-like clips (tm_write_clip), spoils files on purpose
 * (truncated, random, empty), prints what a file decodes to (in_inspect) and
 * compares two files' pictures (in_quality). Used by the end-to-end tests, the
 * demo and the benchmarks, and by hand to look at what the tests feed the
 * transcoder.
 *
 * Exit status: 0 success, 1 failure (one line on stderr naming the file),
 * 2 usage error. The parser returns codes; only main() decides the status.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/avutil.h>
#include <libavutil/log.h>

#include "inspect.h"
#include "testmedia.h"

typedef enum MkMode {
    MK_CLIP,
    MK_RANDOM,
    MK_EMPTY,
    MK_INSPECT,
    MK_SSIM,
    MK_IMAGE,
    MK_PACKETS
} MkMode;

typedef struct MkOpts {
    MkMode mode;
    int mode_set;
    TmClip clip;
    const char *output;
    double truncate;         /* < 0: do not truncate */
    double seg_from, seg_to; /* seg_to > 0: keep only this part (--segment) */
    size_t random_bytes;
    unsigned seed;
    const char *inspect;
    const char *packets; /* --packets FILE */
    const char *ssim_ref, *ssim_test;
    double grid; /* --grid S: --ssim on a time grid; 0: every source frame */
    int verbose;
} MkOpts;

enum { PARSE_OK = 0, PARSE_HELP = 1, PARSE_USAGE = 2 };

static const char usage_text[] =
    "usage: mkclip [options] OUTPUT        write a Game-Bar-like clip (.mp4, .mov, .mkv)\n"
    "       mkclip --truncate F [options] OUTPUT   write the clip, keep its first F (0..1)\n"
    "       mkclip --segment A:B [options] OUTPUT  write the clip, keep from fraction A to B\n"
    "                                           of its bytes (whole 188-byte TS packets)\n"
    "       mkclip --random BYTES [--seed N] OUTPUT    write pseudo-random bytes\n"
    "       mkclip --empty OUTPUT               write an empty file\n"
    "       mkclip --image [--size WxH] [--seed N] OUTPUT   a still (.png, .jpg): two\n"
    "                                           flat colours, left and right, from N\n"
    "       mkclip --inspect FILE               decode FILE, print one line per stream\n"
    "       mkclip --ssim REF TEST [--grid S]   print TEST's luma quality against REF\n"
    "       mkclip --packets FILE               one line per packet, file order:\n"
    "                                           TYPE STREAM PTS_US DUR_US BYTES KEY\n"
    "                                           (video 0 7000 33000 28411 1; '-' no pts)\n"
    "\n"
    "--ssim compares each frame of REF with the frame of TEST on screen at its time\n"
    "and prints the mean SSIM, the lowest frame's SSIM and the mean PSNR in dB:\n"
    "  0.995123 min 0.981000 psnr 45.12\n"
    "--grid S compares at 0, S, 2S ... seconds (from each file's first frame) instead:\n"
    "the frame of REF on screen at each instant against TEST's\n"
    "\n"
    "clip options (defaults: a 2 s 320x180 30 fps H.264 slides clip, one AAC 48 kHz\n"
    "stereo track, artist \"Microsoft Game DVR\", title \"Visual Studio Code\"):\n"
    "  --size WxH            picture size (0x0: no video, an audio-only file)\n"
    "  --fps F               nominal frame rate\n"
    "  --duration S          seconds of video\n"
    "  --pattern P           slides | motion | webcam | noise | typing | camera\n"
    "                        | clock (the media time in ms, as 16 binary blocks)\n"
    "                        | talk (slides typed on now and then)\n"
    "  --slide-seconds S     a new slide every S seconds (default 1)\n"
    "  --motion AT:LEN       draw seconds [AT, AT+LEN) as the motion pattern\n"
    "  --motion-window F     ... in a window of F x the picture's size (0 < F < 1)\n"
    "  --pointer             a mouse pointer that glides to a new place every 6 s\n"
    "  --audio KIND          tone | silent (digital zeros) | speech (syllables,\n"
    "                        pauses) [tone]\n"
    "  --vfr                 irregular frame durations (same total duration)\n"
    "  --bit-depth 8|10      sample depth\n"
    "  --444                 4:4:4 chroma instead of 4:2:0\n"
    "  --audio-tracks N      AAC tracks, each its own sine tone (0: video only)\n"
    "  --rate HZ             audio sample rate\n"
    "  --channels N          audio channels (6: 5.1)\n"
    "  --audio-duration S    seconds of audio (default: the video's)\n"
    "  --artist S            artist tag;  --no-artist: none\n"
    "  --title S             title tag (the captured app);  --no-title: none\n"
    "  --creation-time T     ISO 8601 time;  --no-creation-time: none\n"
    "  --gop N               x264 keyint in frames\n"
    "  --faststart           moov atom first\n"
    "  --crf N               x264 crf (0..51)\n"
    "  --bitrate BPS         x264 average bitrate instead of crf\n"
    "  --preset P            x264 preset (default ultrafast)\n"
    "  --rotate DEG          0 to 359 clockwise (display matrix; marks drawn for 90s)\n"
    "  --gap AT:LEN          stamp everything from AT seconds on LEN seconds later\n"
    "  --hevc                HEVC (libx265) instead of H.264\n"
    "  --hdr                 tag as HDR10 (BT.2020, PQ); with --bit-depth 10\n"
    "  --close-frames        every fifth frame 0.4 ms after the one before (1/90000 clock)\n"
    "  (.mpg/.vob: MPEG-2 video and MP2 audio in a program stream; .ts: MPEG-TS)\n"
    "  -v, --verbose         show libav's messages (quiet otherwise)\n"
    "  -h, --help            this text\n";

static int usage_error(char *err, size_t errsize, const char *what, const char *arg)
{
    snprintf(err, errsize, "%s '%s'", what, arg);
    return PARSE_USAGE;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    long v;

    if (parse_long(s, lo, hi, &v) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_size(const char *s, int *w, int *h)
{
    char buf[32];
    char *x;

    if (strlen(s) >= sizeof(buf))
        return -1;
    memcpy(buf, s, strlen(s) + 1);
    x = strchr(buf, 'x');
    if (!x)
        return -1;
    *x = '\0';
    if (parse_int(buf, 0, 65536, w) < 0 || parse_int(x + 1, 0, 65536, h) < 0)
        return -1;
    return 0;
}

static int parse_gap(const char *s, double *at, double *len)
{
    char buf[64];
    char *colon;

    if (strlen(s) >= sizeof(buf))
        return -1;
    memcpy(buf, s, strlen(s) + 1);
    colon = strchr(buf, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    if (parse_double(buf, 0.0, 1e6, at) < 0 || parse_double(colon + 1, 0.0, 1e6, len) < 0)
        return -1;
    return 0;
}

static int parse_pattern(const char *s, TmPattern *p)
{
    static const struct {
        const char *name;
        TmPattern pattern;
    } names[] = {
        {"slides", TM_SLIDES}, {"motion", TM_MOTION}, {"webcam", TM_WEBCAM},
        {"noise", TM_NOISE},   {"typing", TM_TYPING}, {"camera", TM_CAMERA},
        {"marks", TM_MARKS},   {"clock", TM_CLOCK},   {"talk", TM_TALK},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(s, names[i].name)) {
            *p = names[i].pattern;
            return 0;
        }
    }
    return -1;
}

static int set_mode(MkOpts *o, MkMode mode, const char *opt, char *err, size_t errsize)
{
    if (o->mode_set && o->mode != mode)
        return usage_error(err, errsize, "conflicting mode option", opt);
    o->mode = mode;
    o->mode_set = 1;
    return PARSE_OK;
}

/* Options that take a value: the value is the next argument (or follows '='). */
static int takes_value(const char *name)
{
    static const char *const names[] = {
        "--size",    "--fps",      "--duration",      "--pattern",        "--bit-depth",
        "--rate",    "--channels", "--artist",        "--title",          "--gop",
        "--crf",     "--bitrate",  "--preset",        "--rotate",         "--gap",
        "--random",  "--inspect",  "--seed",          "--audio-duration", "--audio-tracks",
        "--ssim",    "--truncate", "--creation-time", "--slide-seconds",  "--motion",
        "--segment",
    };
    /* The bench corpus's and the browser test's (packets, grid SSIM). */
    static const char *const more[] = {"--packets", "--motion-window", "--audio", "--grid"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(name, names[i]))
            return 1;
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
        if (!strcmp(name, more[i]))
            return 1;
    return 0;
}

static int parse_option(MkOpts *o, const char *name, const char *val, char *err, size_t errsize)
{
    TmClip *c = &o->clip;
    long l;

    if (!strcmp(name, "--size")) {
        if (parse_size(val, &c->width, &c->height) < 0)
            return usage_error(err, errsize, "bad --size (want WxH)", val);
    } else if (!strcmp(name, "--fps")) {
        if (parse_double(val, 0.001, 1000.0, &c->fps) < 0)
            return usage_error(err, errsize, "bad --fps", val);
    } else if (!strcmp(name, "--duration")) {
        if (parse_double(val, 0.001, 86400.0, &c->duration) < 0)
            return usage_error(err, errsize, "bad --duration", val);
    } else if (!strcmp(name, "--pattern")) {
        if (parse_pattern(val, &c->pattern) < 0)
            return usage_error(
                err, errsize,
                "bad --pattern (slides|motion|webcam|noise|typing|camera|marks|clock|talk)", val);
    } else if (!strcmp(name, "--slide-seconds")) {
        if (parse_double(val, 0.001, 86400.0, &c->slide_seconds) < 0)
            return usage_error(err, errsize, "bad --slide-seconds", val);
    } else if (!strcmp(name, "--motion")) {
        if (parse_gap(val, &c->motion_at, &c->motion_len) < 0)
            return usage_error(err, errsize, "bad --motion (want AT:LEN seconds)", val);
    } else if (!strcmp(name, "--motion-window")) {
        if (parse_double(val, 0.01, 0.99, &c->motion_window) < 0)
            return usage_error(err, errsize, "bad --motion-window (0.01..0.99)", val);
    } else if (!strcmp(name, "--pointer")) {
        c->pointer = 1;
    } else if (!strcmp(name, "--audio")) {
        if (!strcmp(val, "tone"))
            c->audio = TM_AUDIO_TONE;
        else if (!strcmp(val, "silent"))
            c->audio = TM_AUDIO_SILENT;
        else if (!strcmp(val, "speech"))
            c->audio = TM_AUDIO_SPEECH;
        else
            return usage_error(err, errsize, "bad --audio (tone|silent|speech)", val);
    } else if (!strcmp(name, "--vfr")) {
        c->vfr = 1;
    } else if (!strcmp(name, "--bit-depth")) {
        if (parse_int(val, 8, 10, &c->bit_depth) < 0 || (c->bit_depth != 8 && c->bit_depth != 10))
            return usage_error(err, errsize, "bad --bit-depth (8 or 10)", val);
    } else if (!strcmp(name, "--444")) {
        c->chroma444 = 1;
    } else if (!strcmp(name, "--audio-tracks")) {
        if (parse_int(val, 0, 16, &c->audio_tracks) < 0)
            return usage_error(err, errsize, "bad --audio-tracks (0..16)", val);
    } else if (!strcmp(name, "--rate")) {
        if (parse_int(val, 1000, 192000, &c->sample_rate) < 0)
            return usage_error(err, errsize, "bad --rate", val);
    } else if (!strcmp(name, "--channels")) {
        if (parse_int(val, 1, 8, &c->channels) < 0)
            return usage_error(err, errsize, "bad --channels (1..8)", val);
    } else if (!strcmp(name, "--audio-duration")) {
        if (parse_double(val, 0.001, 86400.0, &c->audio_duration) < 0)
            return usage_error(err, errsize, "bad --audio-duration", val);
    } else if (!strcmp(name, "--artist")) {
        c->artist = val;
    } else if (!strcmp(name, "--no-artist")) {
        c->artist = NULL;
    } else if (!strcmp(name, "--title")) {
        c->title = val;
    } else if (!strcmp(name, "--no-title")) {
        c->title = NULL;
    } else if (!strcmp(name, "--creation-time")) {
        c->creation_time = val;
    } else if (!strcmp(name, "--no-creation-time")) {
        c->creation_time = NULL;
    } else if (!strcmp(name, "--gop")) {
        if (parse_int(val, 1, 100000, &c->gop) < 0)
            return usage_error(err, errsize, "bad --gop", val);
    } else if (!strcmp(name, "--faststart")) {
        c->faststart = 1;
    } else if (!strcmp(name, "--crf")) {
        if (parse_int(val, 0, 51, &c->crf) < 0)
            return usage_error(err, errsize, "bad --crf (0..51)", val);
    } else if (!strcmp(name, "--bitrate")) {
        if (parse_long(val, 1, 2000000000L, &l) < 0)
            return usage_error(err, errsize, "bad --bitrate", val);
        c->bitrate = l;
    } else if (!strcmp(name, "--preset")) {
        c->x264_preset = val;
    } else if (!strcmp(name, "--rotate")) {
        if (parse_int(val, 0, 359, &c->rotation) < 0)
            return usage_error(err, errsize, "bad --rotate (0 to 359)", val);
    } else if (!strcmp(name, "--gap")) {
        if (parse_gap(val, &c->gap_at, &c->gap_len) < 0)
            return usage_error(err, errsize, "bad --gap (want AT:LEN seconds)", val);
    } else if (!strcmp(name, "--hevc")) {
        c->hevc = 1;
    } else if (!strcmp(name, "--hdr")) {
        c->hdr = 1;
    } else if (!strcmp(name, "--close-frames")) {
        c->close_frames = 1;
    } else if (!strcmp(name, "--segment")) {
        if (parse_gap(val, &o->seg_from, &o->seg_to) < 0 || !(o->seg_from < o->seg_to) ||
            o->seg_to > 1.0)
            return usage_error(err, errsize, "bad --segment (want A:B, 0 <= A < B <= 1)", val);
    } else if (!strcmp(name, "--truncate")) {
        if (parse_double(val, 0.0, 1.0, &o->truncate) < 0)
            return usage_error(err, errsize, "bad --truncate (0..1)", val);
    } else if (!strcmp(name, "--random")) {
        if (parse_long(val, 0, 1L << 40, &l) < 0)
            return usage_error(err, errsize, "bad --random byte count", val);
        o->random_bytes = (size_t)l;
        return set_mode(o, MK_RANDOM, name, err, errsize);
    } else if (!strcmp(name, "--seed")) {
        if (parse_long(val, 0, 0xffffffffL, &l) < 0)
            return usage_error(err, errsize, "bad --seed", val);
        o->seed = (unsigned)l;
    } else if (!strcmp(name, "--empty")) {
        return set_mode(o, MK_EMPTY, name, err, errsize);
    } else if (!strcmp(name, "--image")) {
        return set_mode(o, MK_IMAGE, name, err, errsize);
    } else if (!strcmp(name, "--inspect")) {
        o->inspect = val;
        return set_mode(o, MK_INSPECT, name, err, errsize);
    } else if (!strcmp(name, "--grid")) {
        if (parse_double(val, 0.001, 3600.0, &o->grid) < 0)
            return usage_error(err, errsize, "bad --grid (seconds)", val);
    } else if (!strcmp(name, "--packets")) {
        o->packets = val;
        return set_mode(o, MK_PACKETS, name, err, errsize);
    } else if (!strcmp(name, "--verbose") || !strcmp(name, "-v")) {
        o->verbose = 1;
    } else {
        return usage_error(err, errsize, "unknown option", name);
    }
    return PARSE_OK;
}

static int parse_args(int argc, char **argv, MkOpts *o, char *err, size_t errsize)
{
    int only_positional = 0;

    memset(o, 0, sizeof(*o));
    tm_clip_default(&o->clip);
    o->truncate = -1.0;
    o->seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        char name[32];
        const char *eq, *val = NULL;
        size_t len;
        int ret;

        if (only_positional || arg[0] != '-' || !arg[1]) {
            if (o->output)
                return usage_error(err, errsize, "extra argument", arg);
            o->output = arg;
            continue;
        }
        if (!strcmp(arg, "--")) {
            only_positional = 1;
            continue;
        }
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
            return PARSE_HELP;
        eq = strncmp(arg, "--", 2) ? NULL : strchr(arg, '=');
        len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof(name))
            return usage_error(err, errsize, "unknown option", arg);
        memcpy(name, arg, len);
        name[len] = '\0';
        if (!strcmp(name, "--ssim")) {
            if (eq || i + 2 >= argc)
                return usage_error(err, errsize, "want two files after", name);
            o->ssim_ref = argv[++i];
            o->ssim_test = argv[++i];
            ret = set_mode(o, MK_SSIM, name, err, errsize);
            if (ret != PARSE_OK)
                return ret;
            continue;
        }
        if (takes_value(name)) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return usage_error(err, errsize, "missing value after", name);
        } else if (eq) {
            return usage_error(err, errsize, "option takes no value", name);
        }
        ret = parse_option(o, name, val, err, errsize);
        if (ret != PARSE_OK)
            return ret;
    }
    if (o->mode == MK_INSPECT || o->mode == MK_SSIM || o->mode == MK_PACKETS) {
        if (o->output)
            return usage_error(err, errsize, "extra argument", o->output);
    } else if (!o->output) {
        snprintf(err, errsize, "missing OUTPUT");
        return PARSE_USAGE;
    }
    if (o->seg_to > 0.0 && o->mode != MK_CLIP)
        return usage_error(err, errsize, "--segment applies to a clip, not with",
                           "--random/--empty");
    if (o->grid > 0.0 && o->mode != MK_SSIM)
        return usage_error(err, errsize, "--grid applies to", "--ssim");
    if (o->truncate >= 0.0 && o->mode != MK_CLIP)
        return usage_error(err, errsize, "--truncate applies to a clip, not with",
                           "--random/--empty");
    return PARSE_OK;
}

static double sec(int64_t us)
{
    return (double)us / 1e6;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Distinct intervals between consecutive video timestamps (the VFR check). */
static int distinct_durations(const InStream *s)
{
    int64_t *d;
    int n = s->n_pts - 1, distinct = 0;

    if (n < 1)
        return 0;
    d = malloc((size_t)n * sizeof(*d));
    if (!d)
        return -1;
    for (int i = 0; i < n; i++)
        d[i] = s->pts_us[i + 1] - s->pts_us[i];
    qsort(d, (size_t)n, sizeof(*d), cmp_i64);
    for (int i = 0; i < n; i++)
        distinct += i == 0 || d[i] != d[i - 1];
    free(d);
    return distinct;
}

static void print_inspect(const char *path, const InFile *f)
{
    const AVDictionaryEntry *t = NULL;

    printf("file '%s': format %s, duration %.6f s (header), rotation %d, %d streams\n", path,
           f->format_name, f->duration_us < 0 ? -1.0 : sec(f->duration_us), f->rotation,
           f->nb_streams);
    while ((t = av_dict_get(f->metadata, "", t, AV_DICT_IGNORE_SUFFIX)))
        printf("  tag %s=%s\n", t->key, t->value);
    if (f->read_error) {
        char buf[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(f->read_error, buf, sizeof(buf));
        printf("  read error: %s\n", buf);
    }
    for (int i = 0; i < f->nb_streams; i++) {
        const InStream *s = &f->streams[i];
        const char *type = av_get_media_type_string(s->type);

        printf("stream %d: %s %s", s->index, type ? type : "unknown", s->codec_name);
        if (s->type == AVMEDIA_TYPE_VIDEO)
            printf(" %dx%d %s frames %" PRId64 " keyframes %d durations %d", s->width, s->height,
                   s->pix_fmt, s->frames, s->keyframes, distinct_durations(s));
        else if (s->type == AVMEDIA_TYPE_AUDIO)
            printf(" %d Hz %d ch frames %" PRId64 " samples %" PRId64, s->sample_rate, s->channels,
                   s->frames, s->samples);
        printf(" first %.6f last %.6f end %.6f errors %d default %d lang %s\n", sec(s->first_us),
               sec(s->last_us), sec(s->end_us), s->decode_errors, s->is_default,
               s->language[0] ? s->language : "-");
    }
}

static int print_packet(void *opaque, const InPacket *p)
{
    const char *type = av_get_media_type_string(p->type);

    (void)opaque;
    printf("%s %d ", type ? type : "unknown", p->stream);
    if (p->pts_us == AV_NOPTS_VALUE)
        printf("-");
    else
        printf("%" PRId64, p->pts_us);
    printf(" %" PRId64 " %d %d\n", p->dur_us, p->size, p->key);
    return 0;
}

static int run(const MkOpts *o)
{
    char err[512], reason[AV_ERROR_MAX_STRING_SIZE];
    InFile f;
    InQuality q;
    int ret = 0;

    switch (o->mode) {
    case MK_CLIP:
        ret = tm_write_clip(o->output, &o->clip, err, sizeof(err));
        if (ret < 0) {
            fprintf(stderr, "mkclip: cannot write '%s': %s\n", o->output, err);
            return 1;
        }
        if (o->seg_to > 0.0) {
            ret = tm_keep_range(o->output, o->seg_from, o->seg_to, 188);
            if (ret < 0) {
                av_strerror(ret, reason, sizeof(reason));
                fprintf(stderr, "mkclip: cannot cut '%s': %s\n", o->output, reason);
                return 1;
            }
        }
        if (o->truncate >= 0.0) {
            ret = tm_truncate_file(o->output, o->truncate);
            if (ret < 0) {
                av_strerror(ret, reason, sizeof(reason));
                fprintf(stderr, "mkclip: cannot truncate '%s': %s\n", o->output, reason);
                return 1;
            }
        }
        return 0;
    case MK_RANDOM:
        ret = tm_write_random(o->output, o->random_bytes, o->seed);
        break;
    case MK_EMPTY:
        ret = tm_write_empty(o->output);
        break;
    case MK_IMAGE: {
        const uint8_t left[3] = {(uint8_t)(o->seed * 37), (uint8_t)(o->seed * 91), 40};
        const uint8_t right[3] = {200, (uint8_t)(o->seed * 53), (uint8_t)(o->seed * 17)};
        ret =
            tm_write_image(o->output, o->clip.width, o->clip.height, left, right, err, sizeof(err));
        break;
    }
    case MK_INSPECT:
        ret = in_inspect(o->inspect, 1, &f);
        if (ret < 0) {
            av_strerror(ret, reason, sizeof(reason));
            fprintf(stderr, "mkclip: cannot inspect '%s': %s\n", o->inspect, reason);
            return 1;
        }
        print_inspect(o->inspect, &f);
        in_free(&f);
        return 0;
    case MK_PACKETS:
        ret = in_packets(o->packets, print_packet, NULL);
        if (ret < 0) {
            av_strerror(ret, reason, sizeof(reason));
            fprintf(stderr, "mkclip: cannot read the packets of '%s': %s\n", o->packets, reason);
            return 1;
        }
        return 0;
    case MK_SSIM:
        ret = o->grid > 0.0 ? in_quality_grid(o->ssim_ref, o->ssim_test, o->grid, &q)
                            : in_quality(o->ssim_ref, o->ssim_test, &q);
        if (ret < 0) {
            av_strerror(ret, reason, sizeof(reason));
            fprintf(stderr, "mkclip: cannot compare '%s' with '%s': %s\n", o->ssim_test,
                    o->ssim_ref, reason);
            return 1;
        }
        /* The mean SSIM first: scripts read the first field. */
        printf("%.6f min %.6f psnr %.2f\n", q.ssim, q.ssim_min, q.psnr);
        return 0;
    }
    if (ret < 0) {
        av_strerror(ret, reason, sizeof(reason));
        fprintf(stderr, "mkclip: cannot write '%s': %s\n", o->output, reason);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    MkOpts o;
    char err[256] = "";
    int ret = parse_args(argc, argv, &o, err, sizeof(err));

    if (ret == PARSE_HELP) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (ret != PARSE_OK) {
        fprintf(stderr, "mkclip: %s (see mkclip --help)\n", err);
        return 2;
    }
    av_log_set_level(o.verbose ? AV_LOG_INFO : AV_LOG_QUIET);
    ret = run(&o);
    if (fflush(stdout) != 0 && ret == 0) {
        fprintf(stderr, "mkclip: cannot write standard output: %s\n", strerror(errno));
        ret = 1;
    }
    return ret;
}
