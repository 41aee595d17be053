/*
 * mux.c - the output of a job: the .part under our own fd and AVIOContext
 * (so it can be fsynced and its errors named), the container, metadata,
 * chapters, the header, and writing packets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/avstring.h>

#include "transcode/transcode_int.h"
#include "version.h"

/* ---- output file: our own fd under AVIO, so we can fsync and name errors */

static int io_write(void *opaque, uint8_t *buf, int size)
{
    RxTranscode *t = opaque;
    int done = 0;

    while (done < size) {
        ssize_t n = pwrite(t->fd, buf + done, (size_t)(size - done), t->out_pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            t->io_errno = errno;
            return AVERROR(errno);
        }
        done += (int)n;
        t->out_pos += n;
    }
    if (t->out_pos > t->out_size)
        t->out_size = t->out_pos;
    return size;
}

static int64_t io_seek(void *opaque, int64_t offset, int whence)
{
    RxTranscode *t = opaque;

    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
        return t->out_size;
    case SEEK_SET:
        break;
    case SEEK_CUR:
        offset += t->out_pos;
        break;
    case SEEK_END:
        offset += t->out_size;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if (offset < 0)
        return AVERROR(EINVAL);
    t->out_pos = offset;
    return offset;
}

/* Global tags: the reference names the output after the input and drops
 * the recorder's artist tag (so an output never looks like a recording
 * still to do); MP4 brand tags mean nothing in WebM. The recorder's own
 * title (for Game Bar: the captured application) is kept under
 * RECORDED_TITLE rather than lost. */
static int set_metadata(RxTranscode *t)
{
    static const char *const drop[] = {"major_brand", "minor_version", "compatible_brands",
                                       "encoder",     "title",         "artist"};
    const AVDictionaryEntry *e = NULL;
    const char *name = t->images ? t->output : t->input; /* the title comes from it */
    const char *base = strrchr(name, '/');
    const char *dot;
    char *title;
    int ret;

    while ((e = av_dict_get(t->ic->metadata, "", e, AV_DICT_IGNORE_SUFFIX))) {
        size_t i;
        for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
            if (!av_strcasecmp(e->key, drop[i]))
                break;
        if (i < sizeof(drop) / sizeof(drop[0]))
            continue;
        ret = av_dict_set(&t->oc->metadata, e->key, e->value, 0);
        if (ret < 0)
            return ret;
    }
    e = av_dict_get(t->ic->metadata, "artist", NULL, 0);
    if (e && strcmp(e->value, "Microsoft Game DVR")) {
        /* Someone's real artist tag: keep it. */
        ret = av_dict_set(&t->oc->metadata, "artist", e->value, 0);
        if (ret < 0)
            return ret;
    }
    e = av_dict_get(t->ic->metadata, "title", NULL, 0);
    if (e && e->value[0]) {
        ret = av_dict_set(&t->oc->metadata, "RECORDED_TITLE", e->value, 0);
        if (ret < 0)
            return ret;
    }

    base = base ? base + 1 : name;
    dot = strrchr(base, '.');
    title = av_strndup(base, dot && dot > base ? (size_t)(dot - base) : strlen(base));
    if (!title)
        return AVERROR(ENOMEM);
    ret = av_dict_set(&t->oc->metadata, "title", title, AV_DICT_DONT_STRDUP_VAL);
    if (ret < 0)
        return ret;
    return av_dict_set(&t->oc->metadata, "ENCODED_BY", "reencode " RX_VERSION, 0);
}

/*
 * Create or take over <output>.part, locked (flock) until it is renamed.
 * A .part left by a killed run is ours to replace, but one that another
 * reencode is writing (a run and an encode, or two runs over overlapping
 * trees, on the same file) is not: truncating it, or both writing one inode,
 * published a mix of the two encodes under the final name, changed after
 * its rename. So: open without O_TRUNC, lock, make sure the name still
 * leads to the locked inode (the holder may have renamed it just before),
 * and only then truncate.
 */
static int open_part(RxTranscode *t)
{
    struct stat fst, pst;

    if (t->lock_fd >= 0) { /* a later pass of this job: the .part is ours */
        t->fd = fcntl(t->lock_fd, F_DUPFD_CLOEXEC, 0);
        if (t->fd < 0)
            return tc_fail(t, AVERROR(errno), "cannot reopen '%s' for '%s'", t->part, t->input);
        if (ftruncate(t->fd, 0) < 0)
            return tc_fail(t, AVERROR(errno), "cannot truncate '%s' for '%s'", t->part, t->input);
        return 0;
    }

    for (int tries = 0; tries < 8; tries++) {
        t->fd = open(t->part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (t->fd < 0)
            return tc_fail(t, AVERROR(errno), "cannot create '%s' for '%s'", t->part, t->input);
        if (flock(t->fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
            close(t->fd);
            t->fd = -1;
            return tc_fail(t, AVERROR(EBUSY),
                           "'%s' (for '%s') is being written by another reencode", t->part,
                           t->input);
        }
        /* Other flock errors (a file system without locks): go on unlocked,
         * as before locking existed. */
        if (fstat(t->fd, &fst) == 0 && stat(t->part, &pst) == 0 && fst.st_dev == pst.st_dev &&
            fst.st_ino == pst.st_ino) {
            t->part_owned = 1;
            /* fd is closed (and checked) before the rename; this dup holds
             * the lock over the check and the rename. */
            t->lock_fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 0);
            if (t->lock_fd < 0)
                return tc_fail(t, AVERROR(errno), "cannot lock '%s' for '%s'", t->part, t->input);
            if (ftruncate(t->fd, 0) < 0)
                return tc_fail(t, AVERROR(errno), "cannot truncate '%s' for '%s'", t->part,
                               t->input);
            return 0;
        }
        close(t->fd); /* renamed or removed under us: open the name afresh */
        t->fd = -1;
    }
    return tc_fail(t, AVERROR(EBUSY), "'%s' (for '%s') keeps being replaced by another process",
                   t->part, t->input);
}

static const char *container_name(RxContainer c)
{
    return c == RX_CONTAINER_MKV ? "Matroska" : "WebM";
}

/* A stream the container cannot hold (WebM: VP8/VP9/AV1 video, Vorbis/Opus
 * audio) is refused before anything is written, in words that say what to
 * change. The muxer's own list decides, not ours. */
static int check_container(RxTranscode *t, RxContainer c)
{
    const AVCodec *venc = avcodec_find_encoder_by_name(t->s.video_encoder);
    char name[32];

    if (venc && avformat_query_codec(t->oc->oformat, venc->id, FF_COMPLIANCE_NORMAL) != 1)
        return tc_refuse(t, AVERROR(ENOTSUP),
                         "cannot re-encode '%s': %s video cannot go in %s: use --container mkv",
                         t->input, avcodec_get_name(venc->id), container_name(c));
    for (unsigned i = 0; t->s.audio_copy && i < t->ic->nb_streams; i++) {
        const AVCodecParameters *par = t->ic->streams[i]->codecpar;
        if (par->codec_type != AVMEDIA_TYPE_AUDIO ||
            avformat_query_codec(t->oc->oformat, par->codec_id, FF_COMPLIANCE_NORMAL) == 1)
            continue;
        snprintf(name, sizeof(name), "%s", avcodec_get_name(par->codec_id));
        for (char *p = name; *p; p++)
            *p = (char)av_toupper((unsigned char)*p);
        return tc_refuse(
            t, AVERROR(ENOTSUP),
            "cannot re-encode '%s': %s audio cannot go in %s: use %s--audio-codec opus", t->input,
            name, container_name(c), c == RX_CONTAINER_WEBM ? "--container mkv or " : "");
    }
    return 0;
}

int tc_open_output(RxTranscode *t)
{
    RxContainer c = rx_settings_container(&t->s);
    unsigned char *buf;
    int ret;

    ret = avformat_alloc_output_context2(&t->oc, NULL, c == RX_CONTAINER_MKV ? "matroska" : "webm",
                                         NULL);
    if (ret < 0)
        return tc_fail(t, ret, "cannot create %s muxer for '%s'", container_name(c), t->output);
    ret = check_container(t, c);
    if (ret < 0)
        return ret;
    ret = open_part(t);
    if (ret < 0)
        return ret;
    buf = av_malloc(IO_BUF_SIZE);
    if (!buf)
        return tc_fail(t, AVERROR(ENOMEM), "cannot create '%s' for '%s'", t->part, t->input);
    t->pb = avio_alloc_context(buf, IO_BUF_SIZE, 1, t, NULL, io_write, io_seek);
    if (!t->pb) {
        av_free(buf);
        return tc_fail(t, AVERROR(ENOMEM), "cannot create '%s' for '%s'", t->part, t->input);
    }
    t->oc->pb = t->pb;
    /* BITEXACT: Matroska would otherwise write random segment and track
     * UIDs, and the same input and settings would give different bytes on
     * every run; reproducible outputs make resumes and tests comparable. */
    t->oc->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_BITEXACT;
    return 0;
}

/* Chapters (MP4's chapter track or Nero chpl) go over with their titles; the
 * muxer converts their time base. The output keeps the input's timestamps,
 * so their times need no shift. One Matroska refuses (it fails the header)
 * is mended rather than lost: no end, or an end before the start, becomes
 * an instant; one starting before zero is left out. */
static int copy_chapters(RxTranscode *t)
{
    unsigned n = t->ic->nb_chapters;

    if (!n)
        return 0;
    t->oc->chapters = av_calloc(n, sizeof(*t->oc->chapters));
    if (!t->oc->chapters)
        return AVERROR(ENOMEM);
    for (unsigned i = 0; i < n; i++) {
        const AVChapter *in = t->ic->chapters[i];
        AVChapter *out;

        if (in->start < 0 || in->time_base.num <= 0 || in->time_base.den <= 0)
            continue;
        out = av_mallocz(sizeof(*out));
        if (!out)
            return AVERROR(ENOMEM);
        t->oc->chapters[t->oc->nb_chapters++] = out;
        out->id = in->id;
        out->time_base = in->time_base;
        out->start = in->start;
        out->end = in->end == AV_NOPTS_VALUE || in->end < in->start ? in->start : in->end;
        if (av_dict_copy(&out->metadata, in->metadata, 0) < 0)
            return AVERROR(ENOMEM);
    }
    return 0;
}

int tc_write_header(RxTranscode *t)
{
    int ret = set_metadata(t);

    if (ret >= 0)
        ret = copy_chapters(t);
    if (ret < 0)
        return tc_fail(t, ret, "cannot set metadata of '%s'", t->output);
    ret = avformat_write_header(t->oc, NULL);
    if (ret < 0)
        return tc_fail(t, ret, "cannot write header of '%s' for '%s'", t->part, t->input);
    return 0;
}

/* ---- writing packets */

int tc_mux(RxTranscode *t, AVPacket *pkt, AVRational tb, AVStream *ost)
{
    int ret;

    av_packet_rescale_ts(pkt, tb, ost->time_base);
    pkt->stream_index = ost->index;
    ret = av_interleaved_write_frame(t->oc, pkt);
    if (ret < 0)
        return tc_fail(t, ret, "cannot write '%s' for '%s'", t->part, t->input);
    return 0;
}
