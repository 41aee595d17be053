/*
 * check_verify.c - the read-back judge (src/check/verify.c) on clips made here:
 * a whole file, one whose timestamps go back, one cut short, and files that
 * are not what the request expects.
 *
 * Most clips are H.264 in Matroska straight from the test media helpers (the
 * judge decodes whatever libavformat opens); the one out of time order is
 * AV1, which decodes in packet order with the packets' timestamps.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "checkmedia.h"
#include "reencode/log.h"
#include "reencode/settings.h"
#include "reencode/transcode.h"
#include "reencode/verify.h"
#include "checkrun.h"
#include "testdir.h"
#include "testmedia.h"

static char dir[256];

static void setup(void)
{
    ck_assert_int_eq(td_create(dir, sizeof(dir), "check_verify"), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(td_remove(dir), 0);
}

/* 60 frames at 30 fps, one AAC track, Matroska. */
static const char *clip(const char *name)
{
    const char *path = td_path(dir, name);
    char err[256];
    TmClip c;

    tm_clip_default(&c);
    c.pattern = TM_MOTION;
    ck_assert_msg(tm_write_clip(path, &c, err, sizeof(err)) == 0, "%s", err);
    return path;
}

/* Open in, and out as a copy of its streams in format fmt, header written:
 * the start of every remux below. reorder: the muxer is told the video may
 * reorder (it then derives increasing dts and stores the pts as given). */
static void remux_open(const char *in, const char *out, const char *fmt, int reorder,
                       AVFormatContext **ic, AVFormatContext **oc)
{
    *ic = *oc = NULL;
    ck_assert_int_eq(avformat_open_input(ic, in, NULL, NULL), 0);
    ck_assert_int_ge(avformat_find_stream_info(*ic, NULL), 0);
    ck_assert_int_ge(avformat_alloc_output_context2(oc, NULL, fmt, out), 0);
    for (unsigned i = 0; i < (*ic)->nb_streams; i++) {
        AVStream *st = avformat_new_stream(*oc, NULL);
        ck_assert_ptr_nonnull(st);
        ck_assert_int_ge(avcodec_parameters_copy(st->codecpar, (*ic)->streams[i]->codecpar), 0);
        st->codecpar->codec_tag = 0;
        st->time_base = (*ic)->streams[i]->time_base;
        if (reorder && st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
            st->codecpar->video_delay = 2;
    }
    ck_assert_int_ge(avio_open(&(*oc)->pb, out, AVIO_FLAG_WRITE), 0);
    ck_assert_int_ge(avformat_write_header(*oc, NULL), 0);
}

static void remux_close(AVFormatContext **ic, AVFormatContext **oc)
{
    ck_assert_int_ge(av_write_trailer(*oc), 0);
    avio_closep(&(*oc)->pb);
    avformat_free_context(*oc);
    *oc = NULL;
    avformat_close_input(ic);
}

/* Copy in to out, stream for stream, swapping the timestamps of video
 * packets 30 and 31 (not their order). */
static void remux_swapped(const char *in, const char *out)
{
    AVFormatContext *ic, *oc;
    AVPacket *pkt = av_packet_alloc(), *held = av_packet_alloc();
    int64_t nv = 0;

    remux_open(in, out, "matroska", 1, &ic, &oc);
    while (av_read_frame(ic, pkt) >= 0) {
        AVStream *ist = ic->streams[pkt->stream_index];
        av_packet_rescale_ts(pkt, ist->time_base, oc->streams[pkt->stream_index]->time_base);
        if (ist->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
            pkt->dts = AV_NOPTS_VALUE;
            if (nv == 30) { /* hold it until 31 gives it its time */
                av_packet_move_ref(held, pkt);
                nv++;
                continue;
            }
            if (nv++ == 31) { /* same order, the times swapped */
                int64_t t = pkt->pts;
                pkt->pts = held->pts;
                held->pts = t;
                ck_assert_int_ge(av_write_frame(oc, held), 0);
            }
        }
        ck_assert_int_ge(av_write_frame(oc, pkt), 0);
        av_packet_unref(pkt);
    }
    remux_close(&ic, &oc);
    av_packet_free(&pkt);
    av_packet_free(&held);
}

static int verify(const char *path, int mode, RxVerifyRequest *rq, RxVerifyReport *rep)
{
    rq->path = path;
    rq->mode = mode;
    rq->threads = 1;
    return rx_verify_file(rq, rep);
}

START_TEST(whole_file_is_good_and_measured)
{
    const char *p = clip("good.mkv");
    RxVerifyRequest rq;
    RxVerifyReport rep;

    rx_verify_request_init(&rq);
    rq.audio_tracks = 1;
    rq.frames = 60;
    rq.video_us = 2000000;
    rq.audio_us = 2000000;
    ck_assert_msg(verify(p, RX_VERIFY_FULL, &rq, &rep) == 0, "%s", rep.error);
    ck_assert_int_eq(rep.fault, RX_VFAULT_NONE);
    ck_assert_str_eq(rep.error, "");
    ck_assert_int_eq(rep.frames, 60);
    ck_assert_int_eq(rep.damaged, 0);
    ck_assert_int_eq(rep.disorder, 0);
    ck_assert_int_eq(rep.streams, 2);
    ck_assert_int_eq(rep.audio_streams, 1);
    ck_assert_int_eq(rep.mode, RX_VERIFY_FULL);
    ck_assert(llabs(rep.video_us - 2000000) <= 2000);

    /* Expectations it does not meet: each fault by itself. */
    rq.frames = 61;
    ck_assert_int_eq(verify(p, RX_VERIFY_FULL, &rq, &rep), RX_ERR_BAD_OUTPUT);
    ck_assert_int_eq(rep.fault, RX_VFAULT_DECODE);
    ck_assert_ptr_nonnull(strstr(rep.error, "60 of 61 video frames"));
    rq.frames = 60;
    rq.audio_tracks = 2;
    ck_assert_int_eq(verify(p, RX_VERIFY_FULL, &rq, &rep), RX_ERR_BAD_OUTPUT);
    ck_assert_int_eq(rep.fault, RX_VFAULT_STREAMS);
    rq.audio_tracks = 1;
    rq.video_us = 3000000;
    ck_assert_int_eq(verify(p, RX_VERIFY_FULL, &rq, &rep), RX_ERR_BAD_OUTPUT);
    ck_assert_int_eq(rep.fault, RX_VFAULT_DURATION);
    rq.video_us = 2000000;
    rq.last_us = 1000000;
    ck_assert_int_eq(verify(p, RX_VERIFY_FULL, &rq, &rep), RX_ERR_BAD_OUTPUT);
    ck_assert_int_eq(rep.fault, RX_VFAULT_END);
}
END_TEST

/* quick from a named frame counts only the frames from there on. */
START_TEST(quick_counts_from_the_frame_named)
{
    const char *p = clip("q.mkv");
    RxVerifyRequest rq;
    RxVerifyReport rep;

    rx_verify_request_init(&rq);
    rq.from = 30; /* frame 30 of 60, at 1 s */
    rq.from_tb = (AVRational){1, 30};
    rq.frames = 60;
    rq.frames_from = 30;
    ck_assert_msg(verify(p, RX_VERIFY_QUICK, &rq, &rep) == 0, "%s", rep.error);
    ck_assert_int_eq(rep.mode, RX_VERIFY_QUICK);
    ck_assert_int_eq(rep.frames, 30);
    ck_assert_int_eq(rep.frames_want, 30);
}
END_TEST

/* In AV1, as reencode writes it: H.264 decoders smooth such a pair over. */
START_TEST(timestamps_going_back_are_found)
{
    const char *in = clip("in.mkv"), *good = td_path(dir, "in.webm"),
               *bad = td_path(dir, "swapped.mkv");
    RxTranscode *t = NULL;
    RxSettings s;
    RxResult res;
    RxVerifyRequest rq;
    RxVerifyReport rep;

    rx_settings_default(&s);
    s.threads = 1;
    s.dedup = 0;
    s.verify = RX_VERIFY_OFF;
    ck_assert_int_eq(rx_transcode_new(&t, in, good, &s), 0);
    ck_assert_msg(rx_transcode_run(t, &res) == 0, "%s", res.error);
    rx_transcode_free(&t);
    remux_swapped(good, bad);
    rx_verify_request_init(&rq);
    rq.frames = 60;
    ck_assert_int_eq(verify(bad, RX_VERIFY_FULL, &rq, &rep), RX_ERR_BAD_OUTPUT);
    ck_assert_msg(rep.fault == RX_VFAULT_ORDER, "fault %d: %s", rep.fault, rep.error);
    ck_assert_int_eq(rep.frames, 60); /* every frame decodes: only the order is wrong */
    ck_assert_int_eq(rep.disorder, 1);
    ck_assert_ptr_nonnull(strstr(rep.error, "go back in time"));
}
END_TEST

/* Cut p to num/den of its bytes: the read-back, expecting nothing, finds it
 * short, or damaged, or failing to read. */
static void assert_cut_is_found(const char *p, int num, int den)
{
    RxVerifyRequest rq;
    RxVerifyReport rep;
    struct stat st;

    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(truncate(p, st.st_size * num / den), 0);
    rx_verify_request_init(&rq);
    ck_assert_int_eq(verify(p, RX_VERIFY_FULL, &rq, &rep), RX_ERR_BAD_OUTPUT);
    ck_assert_msg(rep.fault == RX_VFAULT_SHORT || rep.fault == RX_VFAULT_READ ||
                      rep.fault == RX_VFAULT_DECODE,
                  "fault %d: %s", rep.fault, rep.error);
    ck_assert_ptr_nonnull(strstr(rep.error, p));
}

/* Cut to 60 %: the header still declares 2 s. Without expectations the
 * file's own header convicts it; a file that cannot be opened is a fault too. */
START_TEST(cut_short_is_found_without_expectations)
{
    const char *p = clip("cut.mkv");
    RxVerifyRequest rq;
    RxVerifyReport rep;

    assert_cut_is_found(p, 6, 10);
    rx_verify_request_init(&rq);
    ck_assert_int_eq(truncate(p, 100), 0);
    ck_assert_int_eq(verify(p, RX_VERIFY_FULL, &rq, &rep), RX_ERR_BAD_OUTPUT);
    ck_assert_int_eq(rep.fault, RX_VFAULT_OPEN);
    ck_assert_int_lt(rep.err, 0);
}
END_TEST

/* Copy in (one video stream first, then audio, as reencode writes them) to
 * out, every timestamp shift_us later, and video packet tie_at (-1: none)
 * stamped with the time of the packet before it, as a millisecond clock
 * merges two frames of a finer one. */
static void remux_retimed(const char *in, const char *out, int64_t shift_us, int tie_at)
{
    AVFormatContext *ic, *oc;
    AVPacket *pkt = av_packet_alloc();
    int64_t prev = AV_NOPTS_VALUE;
    int nv = 0;

    remux_open(in, out, "webm", 0, &ic, &oc);
    while (av_read_frame(ic, pkt) >= 0) {
        AVStream *ost = oc->streams[pkt->stream_index];
        av_packet_rescale_ts(pkt, ic->streams[pkt->stream_index]->time_base, ost->time_base);
        pkt->pts += av_rescale_q(shift_us, AV_TIME_BASE_Q, ost->time_base);
        if (ost->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
            if (nv++ == tie_at)
                pkt->pts = prev;
            prev = pkt->pts;
        }
        pkt->dts = pkt->pts; /* AV1 and Opus: no reordering */
        pkt->pos = -1;
        ck_assert_int_ge(av_write_frame(oc, pkt), 0);
        av_packet_unref(pkt);
    }
    remux_close(&ic, &oc);
    av_packet_free(&pkt);
}

/* A clip of c encoded by reencode, unchecked (the read-back is the test). */
static void encode_unchecked(const TmClip *c, const char *in, const char *out)
{
    RxSettings s;
    RxResult res;

    ck_make_clip(in, c);
    rx_settings_default(&s);
    s.threads = 1;
    s.dedup = 0;
    s.verify = RX_VERIFY_OFF;
    ck_assert_msg(ck_transcode(in, out, &s, &res) == 0, "%s", res.error);
}

/* clip()'s 2 s of motion through reencode to out (AV1 + Opus WebM). */
static void motion_webm(const char *in, const char *out)
{
    TmClip c;

    tm_clip_default(&c);
    c.pattern = TM_MOTION;
    encode_unchecked(&c, in, out);
}

/* Two video frames at one millisecond: a picture never shown, and the pair
 * players refuse. Equal audio times are not looked at. */
START_TEST(equal_video_timestamps_are_found)
{
    const char *in = td_path(dir, "in.mkv"), *good = td_path(dir, "in.webm"),
               *bad = td_path(dir, "tied.webm");
    RxVerifyRequest rq;
    RxVerifyReport rep;

    motion_webm(in, good);
    remux_retimed(good, bad, 0, 30);
    rx_verify_request_init(&rq);
    rq.frames = 60;
    ck_assert_msg(verify(good, RX_VERIFY_FULL, &rq, &rep) == 0, "%s", rep.error);
    ck_assert_int_eq(rep.ties, 0);
    ck_assert_int_eq(verify(bad, RX_VERIFY_FULL, &rq, &rep), RX_ERR_BAD_OUTPUT);
    ck_assert_msg(rep.fault == RX_VFAULT_ORDER, "fault %d: %s", rep.fault, rep.error);
    ck_assert_int_eq(rep.ties, 1);
    ck_assert_int_eq(rep.disorder, 0);
    ck_assert_ptr_nonnull(strstr(rep.error, "1 video frames at the same time"));
    /* quick, from near the end, finds a tie there too */
    remux_retimed(good, bad, 0, 58);
    rx_verify_request_init(&rq);
    ck_assert_int_eq(verify(bad, RX_VERIFY_QUICK, &rq, &rep), RX_ERR_BAD_OUTPUT);
    ck_assert_int_eq(rep.fault, RX_VFAULT_ORDER);
}
END_TEST

/*
 * What a file declares against where it ends: FFmpeg's muxer writes where
 * its latest stream ends, counted from zero, so a file whose timestamps
 * start at 10 s (a segment of a longer MPEG-TS) declares 12 s over 2 s of
 * streams, and is whole. A video-only WebM keeps no duration for its last
 * frame: at 1 fps that is a second, counted as long as the frame before.
 * Cut short, both are still found.
 */
START_TEST(late_start_and_last_frame_are_not_cut_short)
{
    const char *in = td_path(dir, "in.mp4"), *good = td_path(dir, "in.webm"),
               *late = td_path(dir, "late.webm"), *slow_in = td_path(dir, "slow.mp4"),
               *slow = td_path(dir, "slow.webm");
    RxVerifyRequest rq;
    RxVerifyReport rep;
    TmClip c;

    motion_webm(in, good);
    remux_retimed(good, late, 10000000, -1);
    rx_verify_request_init(&rq);
    rq.audio_tracks = 1;
    rq.frames = 60;
    rq.video_us = 2000000;
    ck_assert_msg(verify(late, RX_VERIFY_FULL, &rq, &rep) == 0, "%s", rep.error);
    ck_assert_msg(rep.declared_us > 11900000, "declares %lld", (long long)rep.declared_us);
    assert_cut_is_found(late, 6, 10);

    tm_clip_default(&c);
    c.fps = 1;
    c.duration = 5;
    c.audio_tracks = 0;
    encode_unchecked(&c, slow_in, slow);
    rx_verify_request_init(&rq);
    rq.audio_tracks = 0;
    rq.frames = 5;
    rq.video_us = 5000000; /* as the journal has it: the last frame's end */
    ck_assert_msg(verify(slow, RX_VERIFY_FULL, &rq, &rep) == 0, "%s", rep.error);
    ck_assert_msg(llabs(rep.video_us - 5000000) <= 2000, "video %lld us", (long long)rep.video_us);
    /* A last frame shorter than the one before (VFR) is still whole: the
     * video ends between its last packet and that plus an interval. */
    rq.video_us = 4100000;
    ck_assert_msg(verify(slow, RX_VERIFY_FULL, &rq, &rep) == 0, "%s", rep.error);
    rq.video_us = 5300000;
    ck_assert_int_eq(verify(slow, RX_VERIFY_FULL, &rq, &rep), RX_ERR_BAD_OUTPUT);
    ck_assert_int_eq(rep.fault, RX_VFAULT_DURATION);
    assert_cut_is_found(slow, 7, 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("verify");
    TCase *tc = tcase_create("verify");

    rx_log_init(RX_LOG_QUIET);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60); /* encodes: under the sanitizers too */
    tcase_add_test(tc, whole_file_is_good_and_measured);
    tcase_add_test(tc, quick_counts_from_the_frame_named);
    tcase_add_test(tc, timestamps_going_back_are_found);
    tcase_add_test(tc, cut_short_is_found_without_expectations);
    tcase_add_test(tc, equal_video_timestamps_are_found);
    tcase_add_test(tc, late_start_and_last_frame_are_not_cut_short);
    suite_add_tcase(s, tc);
    return rx_check_run(s);
}
