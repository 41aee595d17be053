/*
 * fileid.c - a file's identity: its size and the hash of its first and last
 * RX_FILE_ID_SPAN bytes (journal.h).
 */
#include "reencode/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/error.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>

/* Exactly size bytes at offset; a short file (it shrank) is AVERROR(EAGAIN). */
static int read_exact(int fd, uint8_t *buf, size_t size, off_t offset)
{
    size_t done = 0;

    while (done < size) {
        ssize_t r = pread(fd, buf + done, size - done, offset + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return AVERROR(errno);
        if (r == 0)
            return AVERROR(EAGAIN);
        done += (size_t)r;
    }
    return 0;
}

/* ---- file identity ---- */

int rx_file_id_compute(RxFileId *id, const char *path, const char *rel)
{
    static const char hex[] = "0123456789abcdef";
    struct AVSHA *sha = NULL;
    uint8_t *buf = NULL, digest[32];
    struct stat st;
    size_t n;
    int fd = -1, ret;

    memset(id, 0, sizeof(*id));
    if (!path || !rel)
        return AVERROR(EINVAL);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return AVERROR(errno);
    if (fstat(fd, &st) < 0) {
        ret = AVERROR(errno);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = AVERROR(EINVAL);
        goto fail;
    }
    buf = malloc(2 * RX_FILE_ID_SPAN);
    sha = av_sha_alloc();
    id->rel = strdup(rel);
    if (!buf || !sha || !id->rel) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    if (st.st_size <= 2 * RX_FILE_ID_SPAN) {
        n = (size_t)st.st_size;
        ret = read_exact(fd, buf, n, 0);
    } else {
        n = 2 * RX_FILE_ID_SPAN;
        ret = read_exact(fd, buf, RX_FILE_ID_SPAN, 0);
        if (ret >= 0)
            ret = read_exact(fd, buf + RX_FILE_ID_SPAN, RX_FILE_ID_SPAN,
                             st.st_size - RX_FILE_ID_SPAN);
    }
    if (ret < 0)
        goto fail;
    av_sha_init(sha, 256);
    av_sha_update(sha, buf, n);
    av_sha_final(sha, digest);
    /* 128 bits are plenty to tell files apart and keep the lines short. */
    for (int i = 0; i < 16; i++) {
        id->hash[2 * i] = hex[digest[i] >> 4];
        id->hash[2 * i + 1] = hex[digest[i] & 15];
    }
    id->hash[32] = '\0';
    id->size = st.st_size;
    id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    ret = 0;
fail:
    if (ret < 0)
        rx_file_id_clear(id);
    av_free(sha);
    free(buf);
    close(fd);
    return ret;
}

void rx_file_id_clear(RxFileId *id)
{
    if (!id)
        return;
    free(id->rel);
    memset(id, 0, sizeof(*id));
}
