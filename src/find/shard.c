/*
 * shard.c - which worker owns which file (see shard.h).
 *
 * SHA-256 rather than a shorter hash: the assignment must be reproducible by
 * anyone from the documented formula with stock tools, and FNV-style hashes
 * leave their low bits (what "mod 4" keeps) depending only on the low bits
 * of each byte, so names differing in one letter can pile onto one shard.
 */
#include "reencode/shard.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/avstring.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "reencode/log.h"

static int fail(char *err, size_t errsize, const char *fmt, ...) RX_PRINTF(3, 4);

static int fail(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
    return AVERROR(EINVAL);
}

/* Plain decimal in [lo, hi] up to end (or the string's end when end is
 * NULL): no sign, no spaces, no leading zeros. Returns the value or -1. */
static long decimal(const char *s, const char *end, long lo, long hi)
{
    long v = 0;

    if (!end)
        end = s + strlen(s);
    if (s == end || end - s > 9 || (*s == '0' && end - s > 1))
        return -1;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v >= lo && v <= hi ? v : -1;
}

int rx_shard_parse(RxShard *s, const char *spec, char *err, size_t errsize)
{
    const char *slash = strchr(spec, '/');
    long k = 0, n;

    memset(s, 0, sizeof(*s));
    if (!strcmp(spec, "auto")) {
        s->from_env = 1;
        return 0;
    }
    if (!slash)
        return fail(err, errsize, "--shard takes K/N (0 <= K < N), auto or auto/N, not '%s'", spec);
    n = decimal(slash + 1, NULL, 1, RX_SHARD_MAX);
    if (n < 0)
        return fail(err, errsize, "--shard %s: N must be a whole number from 1 to %d", spec,
                    RX_SHARD_MAX);
    if (slash - spec == 4 && !strncmp(spec, "auto", 4)) {
        s->from_env = 1;
        s->count = (int)n;
        return 0;
    }
    k = decimal(spec, slash, 0, LONG_MAX / 2);
    if (k < 0)
        return fail(err, errsize, "--shard %s: K must be a whole number from 0 to N-1", spec);
    if (k >= n)
        return fail(err, errsize, "--shard %s: K must be below N (shards are numbered from 0)",
                    spec);
    s->index = (int)k;
    s->count = (int)n;
    return 0;
}

/* An integer variable of the environment: 1 and *v when set and valid, 0
 * when unset, -1 when set to something else (the message is in err). */
static int env_int(const char *name, long lo, long *v, char *err, size_t errsize)
{
    const char *s = getenv(name);

    if (!s || !*s)
        return 0;
    *v = decimal(s, NULL, lo, LONG_MAX / 2);
    if (*v < 0) {
        fail(err, errsize, "--shard auto: %s='%.64s' is not a whole number from %ld", name, s, lo);
        return -1;
    }
    return 1;
}

static int from_slurm(RxShard *s, long id, char *err, size_t errsize)
{
    long min = 0, max = 0, step = 1, count = 0;
    int has_max, has_count;

    if (env_int("SLURM_ARRAY_TASK_MIN", 0, &min, err, errsize) < 0 ||
        env_int("SLURM_ARRAY_TASK_STEP", 1, &step, err, errsize) < 0 ||
        (has_max = env_int("SLURM_ARRAY_TASK_MAX", 0, &max, err, errsize)) < 0 ||
        (has_count = env_int("SLURM_ARRAY_TASK_COUNT", 1, &count, err, errsize)) < 0)
        return AVERROR(EINVAL);
    if (!has_count && has_max && max >= min)
        count = (max - min) / step + 1;
    if (!count && !s->count)
        return fail(err, errsize,
                    "--shard auto: SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT; "
                    "give --shard auto/N");
    /* A list such as --array=1,5,9 has no rule from task id to shard: the
     * tasks would not cover every shard. */
    if (id < min || (id - min) % step || (has_max && count && (max - min) / step + 1 != count) ||
        (id - min) / step >= count)
        return fail(err, errsize,
                    "--shard auto: Slurm array task %ld is not in a regular range (min %ld, "
                    "step %ld, count %ld); use --array=FIRST-LAST[:STEP] or --shard K/N",
                    id, min, step, count);
    if (s->count && count != s->count)
        return fail(err, errsize,
                    "--shard auto/%d: the Slurm array has %ld tasks; the shard count must "
                    "be the number of tasks",
                    s->count, count);
    s->index = (int)((id - min) / step);
    s->count = (int)count;
    return 0;
}

int rx_shard_from_env(RxShard *s, char *err, size_t errsize)
{
    long id, n;
    int r;

    if (!s->from_env)
        return 0;
    if ((r = env_int("SLURM_ARRAY_TASK_ID", 0, &id, err, errsize)) < 0)
        return AVERROR(EINVAL);
    if (r) {
        if (from_slurm(s, id, err, errsize) < 0)
            return AVERROR(EINVAL);
    } else if ((r = env_int("JOB_COMPLETION_INDEX", 0, &id, err, errsize)) != 0) {
        if (r < 0)
            return AVERROR(EINVAL);
        if (!s->count) {
            if ((r = env_int(RX_SHARD_COUNT_ENV, 1, &n, err, errsize)) < 0)
                return AVERROR(EINVAL);
            if (!r)
                return fail(err, errsize,
                            "--shard auto: JOB_COMPLETION_INDEX=%ld but no shard count; give "
                            "--shard auto/N or set " RX_SHARD_COUNT_ENV " (the Job's completions)",
                            id);
            if (n > RX_SHARD_MAX)
                return fail(err, errsize, "--shard auto: " RX_SHARD_COUNT_ENV "=%ld is above %d", n,
                            RX_SHARD_MAX);
            s->count = (int)n;
        }
        s->index = (int)id; /* at most 9 digits */
    } else {
        return fail(err, errsize,
                    "--shard auto: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set; "
                    "give --shard K/N");
    }
    if (s->count > RX_SHARD_MAX)
        return fail(err, errsize, "--shard auto: %d shards is more than %d", s->count,
                    RX_SHARD_MAX);
    if (s->index >= s->count)
        return fail(err, errsize, "--shard auto: shard %d is not below the count %d", s->index,
                    s->count);
    s->from_env = 0;
    return 0;
}

int rx_shard_of(const char *rel, int count)
{
    struct AVSHA *sha = av_sha_alloc();
    uint8_t digest[32];
    uint64_t h = 0;

    if (!sha)
        return AVERROR(ENOMEM);
    av_sha_init(sha, 256);
    av_sha_update(sha, (const uint8_t *)rel, strlen(rel));
    av_sha_final(sha, digest);
    av_free(sha);
    for (int i = 0; i < 8; i++) /* big-endian: the hex digest's first 16 digits */
        h = h << 8 | digest[i];
    return count > 1 ? (int)(h % (uint64_t)count) : 0;
}

int rx_shard_has(const RxShard *s, const char *rel)
{
    int k;

    if (!s || s->count <= 0)
        return 1;
    k = rx_shard_of(rel, s->count);
    return k < 0 ? k : k == s->index;
}

char *rx_shard_journal_path(const char *base, const RxShard *s)
{
    if (!s || s->count <= 0)
        return av_strdup(base);
    return av_asprintf("%s.%d-of-%d", base, s->index, s->count);
}

int rx_shard_journal_name(const char *name, const char *base_name, RxShard *s)
{
    size_t len = strlen(base_name);
    const char *of;
    long k, n;

    memset(s, 0, sizeof(*s));
    if (strncmp(name, base_name, len))
        return 0;
    if (!name[len])
        return 1;
    if (name[len] != '.' || !(of = strstr(name + len + 1, "-of-")))
        return 0;
    k = decimal(name + len + 1, of, 0, RX_SHARD_MAX);
    n = decimal(of + 4, NULL, 1, RX_SHARD_MAX);
    if (k < 0 || n < 0 || k >= n)
        return 0;
    s->index = (int)k;
    s->count = (int)n;
    return 1;
}
