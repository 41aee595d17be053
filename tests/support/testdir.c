/*
 * testdir.c - per-test temporary directories (see testdir.h).
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testdir.h"

int td_create(char *dir, size_t size, const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(dir, size, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);

    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    return mkdtemp(dir) ? 0 : -errno;
}

static int remove_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return type == FTW_DP ? rmdir(p) : unlink(p);
}

int td_remove(const char *dir)
{
    return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -errno;
}

const char *td_path(const char *dir, const char *rel)
{
    /* Each forked test has its own copy: no sharing across tests. */
    static char bufs[16][PATH_MAX];
    static unsigned k;
    char *p = bufs[k++ % 16];

    snprintf(p, PATH_MAX, "%s/%s", dir, rel);
    return p;
}

char *td_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *buf = f ? malloc(cap) : NULL;

    while (buf) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        char *more;
        n += r;
        if (r == 0)
            break;
        if (n + 1 < cap)
            continue;
        more = realloc(buf, cap * 2);
        if (!more) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = more;
        cap *= 2;
    }
    if (f && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}
