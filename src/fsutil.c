/*
 * fsutil.c - directory sync and creation (see fsutil.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/error.h>

#include "reencode/fsutil.h"

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
    const char *p = data;
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
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = AVERROR(errno);
            goto fail;
        }
        p += n;
        len -= (size_t)n;
    }
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
