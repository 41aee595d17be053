/*
 * fsutil.c - directory sync and creation, whole-file reads (see fsutil.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/error.h>

#include "core/fsutil.h"

/* The directory part of path ("." when there is none), malloc'ed. */
static char *parent_dir(const char *path)
{
    size_t len = strlen(path);
    char *dir;

    while (len > 1 && path[len - 1] == '/')
        len--;
    while (len > 0 && path[len - 1] != '/')
        len--;
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len == 0)
        return strdup(".");
    dir = malloc(len + 1);
    if (dir) {
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    return dir;
}

int rx_fsync_parent(const char *path)
{
    char *dir = parent_dir(path);
    int fd, ret = 0;

    if (!dir)
        return AVERROR(ENOMEM);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        ret = AVERROR(errno);
    if (fd >= 0)
        close(fd);
    free(dir);
    return ret;
}

int rx_mkdir_parents(const char *path)
{
    char *p = strdup(path);
    int ret = 0;

    if (!p)
        return AVERROR(ENOMEM);
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            ret = AVERROR(errno);
            break;
        }
        *s = '/';
    }
    free(p);
    return ret;
}

int rx_replace_file(const char *path, const char *suffix, const void *data, size_t len)
{
    size_t plen = strlen(path), slen = strlen(suffix);
    char *tmp = malloc(plen + slen + 1);
    int fd = -1, ret;

    if (!tmp)
        return AVERROR(ENOMEM);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, suffix, slen + 1);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        ret = AVERROR(errno);
        goto fail;
    }
    if ((ret = rx_write_all(fd, data, len)) < 0)
        goto fail;
    if (fsync(fd) < 0) {
        ret = AVERROR(errno);
        goto fail;
    }
    ret = close(fd);
    fd = -1;
    if (ret < 0 || rename(tmp, path) < 0) {
        ret = AVERROR(errno);
        goto fail;
    }
    free(tmp);
    /* The rename is durable once the directory is: a failure here is
     * reported, but the new file is in place, so nothing to undo. */
    return rx_fsync_parent(path);
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return ret;
}

int rx_read_fd(int fd, int64_t max, char **out, size_t *out_len)
{
    struct stat st;
    size_t cap, len = 0;
    char *buf;

    *out = NULL;
    *out_len = 0;
    if (fstat(fd, &st) < 0)
        return AVERROR(errno);
    if (st.st_size > max)
        return AVERROR(EFBIG);
    cap = (size_t)st.st_size + 4096; /* a reader may see it grow */
    buf = malloc(cap);
    if (!buf)
        return AVERROR(ENOMEM);
    for (;;) {
        ssize_t r;
        if (len == cap) {
            char *nb;
            if ((int64_t)cap > max) {
                free(buf);
                return AVERROR(EFBIG);
            }
            nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return AVERROR(ENOMEM);
            }
            buf = nb;
            cap *= 2;
        }
        r = pread(fd, buf + len, cap - len, (off_t)len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = errno;
            free(buf);
            return AVERROR(err);
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int rx_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;

    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return AVERROR(errno);
        if (w == 0)
            return AVERROR(EIO);
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
