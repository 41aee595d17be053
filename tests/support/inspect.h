/*
 * inspect.h - decode a media file and report what a test needs to assert.
 *
 * Container headers can lie (a WebM's Duration, an MP4's edit list, a stream's
 * frame count), and the transcoder is judged on what a player would show, so
 * in_inspect() decodes every packet of every audio and video stream and
 * reports the decoded frames' counts and timestamps. in_quality() and in_ssim()
 * judge an output's pictures against its source's as a viewer sees them: each
 * source frame against the output frame on screen at the same time.
 *
 * Calling sequence:
 *     InFile f;
 *     if (in_inspect("out.webm", 1, &f) == 0) {
 *         const InStream *v = in_stream(&f, AVMEDIA_TYPE_VIDEO, 0);
 *         ...
 *     }
 *     in_free(&f);
 *
 * Thread-safety: no global state; files may be inspected from several threads.
 * Decoders run with libavcodec's automatic thread count.
 */
#ifndef RX_INSPECT_H
#define RX_INSPECT_H

#include <stdint.h>

#include <libavutil/avutil.h>
#include <libavutil/frame.h>
#include <libavutil/dict.h>
#include <libavutil/frame.h>
#include <libavcodec/codec_id.h>

#define IN_MAX_STREAMS 8  /* streams past this index are not reported nor decoded */
#define IN_MAX_KEYS    16 /* keyframe times kept per stream */

typedef struct InStream {
    int index;
    enum AVMediaType type;
    enum AVCodecID codec_id;
    char codec_name[32]; /* avcodec_get_name(), e.g. "h264", "av1", "opus" */
    int width, height;   /* video: coded picture size from the stream parameters */
    char pix_fmt[32];    /* video: e.g. "yuv420p10le"; "" when unknown */
    int sample_rate, channels;
    int64_t frames;   /* decoded frames (video) or decoded audio frames */
    int64_t samples;  /* audio: decoded samples */
    int64_t first_us; /* best_effort_timestamp of the first decoded frame, in us */
    int64_t last_us;  /* best_effort_timestamp of the last decoded frame, in us */
    int64_t end_us;   /* last frame's timestamp + its duration, in us: video uses the
                         frame's pkt_duration; in Matroska (no frame keeps its own) the
                         interval between the last two frames, or the track's DURATION tag
                         where that ends the last frame within it; audio uses
                         nb_samples / sample_rate */
    int64_t *pts_us;  /* video: every decoded frame's timestamp in us, output order;
                         frames without a timestamp are left out (NULL for audio) */
    int n_pts;
    int keyframes;               /* video: packets flagged AV_PKT_FLAG_KEY */
    int decode_errors;           /* packets or frames the decoder rejected or flagged corrupt */
    int is_default;              /* disposition has AV_DISPOSITION_DEFAULT */
    char language[16];           /* the stream's "language" tag, "" if none */
    int64_t key_us[IN_MAX_KEYS]; /* video: pts of the first IN_MAX_KEYS keyframe packets, us */
    int64_t packets;             /* packets read (audio and video) */
    uint32_t packet_crc;         /* CRC-32 of every packet's payload, in file order */
} InStream;

typedef struct InFile {
    char format_name[64]; /* ic->iformat->name, e.g. "matroska,webm" */
    int64_t duration_us;  /* ic->duration (the header's claim), -1 when unknown */
    int nb_streams;       /* min(streams in the file, IN_MAX_STREAMS) */
    InStream streams[IN_MAX_STREAMS];
    AVDictionary *metadata; /* copy of the global tags (owned) */
    int rotation;           /* clockwise degrees (0, 90, 180, 270) from the first video
                               stream's display matrix, as MediaInfo reports them; 0 if none */
    int read_error;         /* 0 when reading ended at a clean EOF, else the error of
                               av_read_frame() that ended it early (e.g. a truncated file) */
} InFile;

/*
 * Open path and, if decode, decode every frame of every audio and video
 * stream (the first IN_MAX_STREAMS). f is overwritten (pass a zeroed or freed
 * struct). Returns 0, or a negative AVERROR when the file cannot be opened or
 * a decoder cannot be set up; f is then left freed and zeroed. A read error
 * mid-file is not a failure: it ends decoding and is kept in f->read_error.
 */
int in_inspect(const char *path, int decode, InFile *f);

/* Free the pts arrays and the metadata and zero f. Accepts a zeroed struct. */
void in_free(InFile *f);

/* The nth (0-based) stream of that type, or NULL. */
const InStream *in_stream(const InFile *f, enum AVMediaType type, int nth);

/*
 * The first decoded frame of path's first video stream into *frame (allocated
 * here; av_frame_free() it), as stored: no display matrix applied. Returns 0
 * or a negative AVERROR (AVERROR_EOF when no frame decodes).
 */
int in_first_frame(const char *path, AVFrame **frame);

/* Mean of the w x h samples of plane p of f from (x, y), in that plane's
 * sample coordinates, on the 8-bit scale (deeper formats are scaled down);
 * planar formats only. -1 when the rectangle is not inside the plane. */
double in_mean(const AVFrame *f, int p, int x, int y, int w, int h);

/*
 * Decode the first video stream of path and call fn with each frame in
 * output order and its timestamp in us (the stream's, not made relative).
 * Returns 0, the first negative value fn returns, or a negative AVERROR.
 */
typedef int (*InFrameFn)(void *opaque, const AVFrame *frame, int64_t us);
int in_frames(const char *path, InFrameFn fn, void *opaque);

/* One packet as stored in the file (in_packets: nothing is decoded). */
typedef struct InPacket {
    int stream;            /* index in the file */
    enum AVMediaType type; /* the stream's */
    int64_t pts_us;        /* stream time in us; AV_NOPTS_VALUE when unknown */
    int64_t dur_us;        /* 0 when unknown */
    int size;              /* payload bytes */
    int key;               /* AV_PKT_FLAG_KEY */
} InPacket;

/*
 * Read every packet of path in file order and call fn with each. What seek
 * and size measurements need: where the keyframes are and what each frame
 * costs, per stream. Returns 0, the first negative value fn returns, or a
 * negative AVERROR (a read error other than EOF included).
 */
typedef int (*InPacketFn)(void *opaque, const InPacket *p);
int in_packets(const char *path, InPacketFn fn, void *opaque);

/* What in_quality() measures; luma only (see reencode/measure.h). */
typedef struct InQuality {
    double ssim;     /* mean of the per-frame SSIM over ref's frames */
    double ssim_min; /* the lowest per-frame SSIM */
    double psnr;     /* PSNR of the mean of the per-frame MSE, dB, <= IN_PSNR_MAX */
    int64_t frames;  /* ref frames compared */
} InQuality;

#define IN_PSNR_MAX 100.0 /* dB, the PSNR of identical pictures (RX_PSNR_MAX) */

/*
 * Picture quality of the first video stream of test against that of ref, as
 * a viewer sees it: rx_measure() over every frame (reencode/measure.h). Each
 * ref frame, shown at time t, is compared with the test frame on screen at
 * t (the last whose timestamp is <= t + 2 ms, for WebM's millisecond
 * rounding), times counted from each file's first decoded frame (WebM's
 * muxer shifts every stream by Opus's pre-skip). Pictures are compared at
 * test's size (ref scaled when they differ), on 8-bit luma; SSIM is the
 * ffmpeg/x264 8x8-window formulation, PSNR the psnr filter's "average",
 * IN_PSNR_MAX when every pair is identical.
 *
 * Returns 0 and fills *q, or a negative AVERROR and zeroes it
 * (AVERROR_INVALIDDATA when either file has no decodable video frame or a
 * picture is smaller than 8x8).
 */
int in_quality(const char *ref, const char *test, InQuality *q);

/*
 * in_quality() on a fixed time grid: at 0, grid_s, 2 grid_s ... seconds from
 * each file's first frame, up to the end of ref's last frame, ref's frame on
 * screen at that instant against test's (RxMeasureOptions.grid_us). Two
 * outputs of one source measured so are judged on the same instants, however
 * their frames are spread; frames counts the instants.
 */
int in_quality_grid(const char *ref, const char *test, double grid_s, InQuality *q);

/* in_quality()'s mean SSIM alone, into *ssim (0 on error). */
int in_ssim(const char *ref, const char *test, double *ssim);

#endif
