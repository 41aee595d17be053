/*
 * imgseq.c - still images as a video source (see imgseq.h).
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/mem.h>

#include "transcode/imgseq.h"

void rx_imgseq_free(char ***paths, size_t n)
{
    if (!paths || !*paths)
        return;
    for (size_t i = 0; i < n; i++)
        av_free((*paths)[i]);
    av_freep(paths);
}

/* Append a copy of p (prefix + p when prefix is not NULL) to the array. */
static int append(char ***paths, size_t *n, const char *prefix, size_t plen, const char *p)
{
    char **grown = av_realloc_array(*paths, *n + 1, sizeof(**paths));
    char *copy;

    if (!grown)
        return AVERROR(ENOMEM);
    *paths = grown;
    copy = prefix ? av_asprintf("%.*s%s", (int)plen, prefix, p) : av_strdup(p);
    if (!copy)
        return AVERROR(ENOMEM);
    (*paths)[(*n)++] = copy;
    return 0;
}

static int by_version(const void *a, const void *b)
{
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

static int expand_glob(const char *spec, char ***paths, size_t *n, char *why, size_t whysize)
{
    glob_t g;
    int ret = glob(spec, GLOB_NOSORT, NULL, &g);

    if (ret == GLOB_NOMATCH) {
        snprintf(why, whysize, "no image matches '%s'", spec);
        return AVERROR(ENOENT);
    }
    if (ret) {
        snprintf(why, whysize, "cannot list the images of '%s'", spec);
        return ret == GLOB_NOSPACE ? AVERROR(ENOMEM) : AVERROR(EIO);
    }
    /* Our own order, not the locale's collation: the same on every machine. */
    qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), by_version);
    for (size_t i = 0; i < g.gl_pathc && ret >= 0; i++)
        ret = append(paths, n, NULL, 0, g.gl_pathv[i]);
    globfree(&g);
    if (ret < 0)
        snprintf(why, whysize, "cannot list the images of '%s'", spec);
    return ret;
}

static int read_list(const char *spec, char ***paths, size_t *n, char *why, size_t whysize)
{
    const char *slash = strrchr(spec, '/');
    size_t dirlen = slash ? (size_t)(slash - spec) + 1 : 0;
    FILE *fp = fopen(spec, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ret = 0;

    if (!fp) {
        ret = AVERROR(errno);
        snprintf(why, whysize, "cannot open the image list '%s'", spec);
        return ret;
    }
    while (ret >= 0 && (len = getline(&line, &cap, fp)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!len)
            continue;
        ret = append(paths, n, line[0] == '/' ? NULL : spec, dirlen, line);
    }
    if (ret >= 0 && ferror(fp))
        ret = AVERROR(EIO);
    free(line);
    fclose(fp);
    if (ret < 0)
        snprintf(why, whysize, "cannot read the image list '%s'", spec);
    else if (!*n) {
        snprintf(why, whysize, "the image list '%s' names no image", spec);
        ret = AVERROR(EINVAL);
    }
    return ret;
}

static int is_image_name(const char *spec)
{
    static const char *const ext[] = {".png", ".jpg", ".jpeg"};
    size_t len = strlen(spec);

    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        size_t e = strlen(ext[i]);
        if (len > e && !av_strcasecmp(spec + len - e, ext[i]))
            return 1;
    }
    return 0;
}

int rx_imgseq_expand(const char *spec, char ***paths, size_t *n, char *why, size_t whysize)
{
    int ret;

    *paths = NULL;
    *n = 0;
    if (whysize)
        why[0] = '\0';
    if (strpbrk(spec, "*?["))
        ret = expand_glob(spec, paths, n, why, whysize);
    else if (is_image_name(spec))
        ret = append(paths, n, NULL, 0, spec);
    else
        ret = read_list(spec, paths, n, why, whysize);
    if (ret == AVERROR(ENOMEM) && !why[0])
        snprintf(why, whysize, "cannot list the images of '%s'", spec);
    if (ret < 0)
        rx_imgseq_free(paths, *n);
    return ret;
}

int rx_imgseq_decode(const char *path, AVFrame *out)
{
    AVFormatContext *ic = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    const AVCodec *codec;
    int ret;

    if (!pkt)
        return AVERROR(ENOMEM);
    /* The demuxer is probed from the content (and the name): a JPEG named
     * .png decodes as JPEG. No find_stream_info: it would decode it twice. */
    ret = avformat_open_input(&ic, path, NULL, NULL);
    if (ret < 0)
        goto done;
    ret = AVERROR_INVALIDDATA;
    if (ic->nb_streams < 1 || ic->streams[0]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
        goto done;
    codec = avcodec_find_decoder(ic->streams[0]->codecpar->codec_id);
    if (!codec)
        goto done;
    dec = avcodec_alloc_context3(codec);
    ret = dec ? avcodec_parameters_to_context(dec, ic->streams[0]->codecpar) : AVERROR(ENOMEM);
    if (ret >= 0)
        ret = avcodec_open2(dec, codec, NULL);
    while (ret >= 0) {
        ret = av_read_frame(ic, pkt);
        if (ret < 0 && ret != AVERROR_EOF)
            break;
        if (ret >= 0 && pkt->stream_index != 0) {
            av_packet_unref(pkt);
            continue;
        }
        /* At the end of the file: flush, for a decoder that holds a frame. */
        ret = avcodec_send_packet(dec, ret >= 0 ? pkt : NULL);
        av_packet_unref(pkt);
        if (ret < 0 && ret != AVERROR_EOF)
            break;
        ret = avcodec_receive_frame(dec, out);
        if (ret != AVERROR(EAGAIN))
            break;
        ret = 0;
    }
    if (ret == AVERROR_EOF) /* the file held no picture */
        ret = AVERROR_INVALIDDATA;
    if (ret >= 0 && (out->decode_error_flags || (out->flags & AV_FRAME_FLAG_CORRUPT)))
        ret = AVERROR_INVALIDDATA;
done:
    if (ret < 0)
        av_frame_unref(out);
    avcodec_free_context(&dec);
    avformat_close_input(&ic);
    av_packet_free(&pkt);
    return ret;
}
