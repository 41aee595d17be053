/*
 * probe.h - what MediaInfo says about one file, copied out of libmediainfo.
 *
 * rx_probe_open() opens the file once with libmediainfo, copies a fixed set
 * of fields (below) plus any extra fields the caller asks for (the filter's,
 * see rx_filter_fields()) for every stream of the kinds concerned, and closes
 * the MediaInfo handle before returning. The RxProbe that remains is plain
 * memory: reading it takes no lock and costs no I/O.
 *
 * Fields always copied (MediaInfo's own names, as `mediainfo --Language=raw -f`
 * prints them):
 *     General: Format, Duration (ms), OverallBitRate (bit/s), FileSize (bytes),
 *              Performer, Title, EncodedBy (Matroska's ENCODED_BY tag),
 *              IsTruncated, VideoCount, AudioCount
 *     Video:   Format, Width, Height, FrameRate, FrameRate_Mode, BitDepth,
 *              Duration, Rotation
 *     Audio:   Format, SamplingRate, Channel(s), BitDepth, Duration
 * Any other field reads as absent unless it was requested in
 * RxProbeOptions.extra. MediaInfo does not distinguish an empty value from a
 * missing one; neither does this module: both read as NULL. The "/String"
 * variants ("Duration/String" ...) are always absent: rx_probe_init() turns
 * MediaInfo's ReadByHuman off, process-wide, which makes probes ~1.7x faster
 * and leaves every raw value unchanged.
 *
 * Calling sequence:
 *     rx_probe_init()                      once, in main, before any thread
 *     rx_probe_open(&p, path, &opts)       per file, from any thread
 *     rx_probe_get(p, ...) / rx_probe_fields(p)
 *     rx_probe_free(&p)
 *
 * Thread-safety: rx_probe_open() may run on several threads at once, but
 * libmediainfo runs every call under one process-wide lock, so a whole parse
 * is serialised; two threads still help (one parses while the other opens,
 * copies and frees). A finished RxProbe is immutable and may be read from any
 * thread.
 *
 * Speed: MediaInfo's ParseSpeed defaults to "0" here (read the container's
 * headers and index, do not scan frames). On MP4 with the moov at the end
 * (Game Bar), faststart MP4, truncated MP4, WebM and MPEG-TS this gives the
 * same fields as MediaInfo's default 0.5, at ~2.5x the rate; only StreamSize
 * figures differ from a full parse (1). On Matroska made by remuxing H.264 it
 * loses FrameRate and FrameRate_Mode (computed from frame timings): ask for
 * "0.5" there. Measured with 2,000 small Game-Bar-like clips: ~1,200-1,700
 * files/s from rx_find_run() against 35-55 files/s for a shell loop running
 * the mediainfo CLI once per file.
 */
#ifndef RX_PROBE_H
#define RX_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* Kinds of stream, in MediaInfo's order (MediaInfo_stream_t). */
typedef enum RxStreamKind {
    RX_STREAM_GENERAL = 0,
    RX_STREAM_VIDEO,
    RX_STREAM_AUDIO,
    RX_STREAM_TEXT,
    RX_STREAM_OTHER,
    RX_STREAM_IMAGE,
    RX_STREAM_MENU,
    RX_STREAM_KINDS /* number of kinds, not a kind */
} RxStreamKind;

/* MediaInfo's name of a kind ("General", "Video", ...); "?" when out of range. */
static inline const char *rx_stream_kind_name(RxStreamKind kind)
{
    switch (kind) {
    case RX_STREAM_GENERAL:
        return "General";
    case RX_STREAM_VIDEO:
        return "Video";
    case RX_STREAM_AUDIO:
        return "Audio";
    case RX_STREAM_TEXT:
        return "Text";
    case RX_STREAM_OTHER:
        return "Other";
    case RX_STREAM_IMAGE:
        return "Image";
    case RX_STREAM_MENU:
        return "Menu";
    default:
        return "?";
    }
}

/* One named field of one kind of stream, e.g. {RX_STREAM_AUDIO, "SamplingRate"}. */
typedef struct RxFieldRef {
    RxStreamKind kind;
    const char *name;
} RxFieldRef;

/*
 * Read access to the fields of one file, as the filter consumes them. An
 * interface rather than RxProbe itself so that the filter can be tested (and
 * used) without libmediainfo. count() returns how many streams of a kind the
 * file has; get() returns the value of a field of stream number `stream`
 * (0-based) of that kind, or NULL (or "") when absent. Returned strings must
 * stay valid as long as the source does.
 */
typedef struct RxFields {
    const void *opaque;
    size_t (*count)(const void *opaque, RxStreamKind kind);
    const char *(*get)(const void *opaque, RxStreamKind kind, size_t stream, const char *name);
} RxFields;

/* Why a file could not be probed, besides negative errno codes (ENOENT,
 * EACCES, EISDIR, EINVAL for a fifo or device, EILSEQ when MediaInfo cannot
 * open a file we can ...). Outside the ranges of errno, AVERROR and
 * result.h's RX_ERR_*. */
#define RX_ERR_EMPTY        (-0x52584311) /* the file has 0 bytes */
#define RX_ERR_UNRECOGNISED (-0x52584312) /* MediaInfo recognises no format */
#define RX_ERR_NOSTREAMS    (-0x52584313) /* format known, no audio/video (truncated?) */

typedef struct RxProbe RxProbe;

typedef struct RxProbeOptions {
    const RxFieldRef *extra; /* fields to copy besides the fixed set; may repeat them */
    size_t n_extra;
    const char *parse_speed; /* MediaInfo ParseSpeed, "0".."1"; NULL = "0" */
} RxProbeOptions;

/*
 * Make the process ready for libmediainfo: a UTF-8 LC_CTYPE (C.UTF-8 unless
 * LC_CTYPE already uses UTF-8; file names go through it) and MediaInfo's
 * UTF-8 char set. setlocale() is not thread-safe, so call this from main
 * before starting threads; rx_probe_open() calls it once itself otherwise.
 * Returns 0, or AVERROR(ENOTSUP) when no UTF-8 locale exists (probing still works:
 * names MediaInfo cannot convert are opened through /proc/self/fd).
 */
int rx_probe_init(void);

/*
 * Probe path. opts may be NULL (fixed fields, ParseSpeed 0). Returns 0 and
 * sets *out (owned by the caller, free with rx_probe_free()), or a negative
 * code and leaves *out untouched: AVERROR(errno) when the file cannot be opened or is
 * not a regular file, RX_ERR_EMPTY, RX_ERR_UNRECOGNISED, RX_ERR_NOSTREAMS,
 * AVERROR(ENOMEM), AVERROR(EINVAL) for a bad option.
 */
int rx_probe_open(RxProbe **out, const char *path, const RxProbeOptions *opts);

/* Number of streams of a kind (General: 1). */
size_t rx_probe_count(const RxProbe *p, RxStreamKind kind);

/* Value of a copied field, owned by p; NULL when absent or not copied. */
const char *rx_probe_get(const RxProbe *p, RxStreamKind kind, size_t stream, const char *name);

/*
 * A field as an integer: the integral part of a decimal value such as
 * "2013.000000" (WebM durations carry fractions). Returns 0 and sets *out, or
 * AVERROR(ENODATA) when absent, AVERROR(EINVAL) when not a decimal number, AVERROR(ERANGE) on
 * overflow.
 */
int rx_probe_int(const RxProbe *p, RxStreamKind kind, size_t stream, const char *name,
                 int64_t *out);

/* p seen through the filter's interface; valid as long as p is. */
RxFields rx_probe_fields(const RxProbe *p);

/* Free p and set *p to NULL. Accepts NULL and *p == NULL. */
void rx_probe_free(RxProbe **p);

/*
 * Human text for a code returned by rx_probe_open() ("empty file",
 * "Permission denied", ...). Writes into buf and returns it.
 */
const char *rx_probe_strerror(int err, char *buf, size_t size);

#endif
