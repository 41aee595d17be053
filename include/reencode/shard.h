/*
 * shard.h - split one tree between N workers that never talk to each other.
 *
 * `--shard K/N` gives worker K (0-based, K < N) the files whose path
 * relative to their root hashes to K: shard = (first 8 bytes of
 * SHA-256(rel), big-endian) mod N. rel is the scanner's: the bytes of the
 * name as on disk, '/'-separated, no leading "./". The formula depends on
 * nothing but the path, so N processes on N machines (a Slurm array, a
 * Kubernetes Indexed Job, GNU parallel) agree on who owns what with no
 * coordination, whatever their byte order, version or start order. In
 * Python: int(hashlib.sha256(rel).hexdigest()[:16], 16) % N.
 *
 * Each shard writes its own journal, BASE.K-of-N beside the default BASE
 * (".reencode/journal"), and reads the others (journals.h).
 *
 * `--shard auto` takes K and N from the environment (rx_shard_from_env()):
 * Slurm job arrays, or Kubernetes' JOB_COMPLETION_INDEX with a count.
 *
 * Thread-safety: no state (rx_shard_from_env() reads the environment).
 */
#ifndef RX_SHARD_H
#define RX_SHARD_H

#include <stddef.h>

/* Shard counts above this are refused: more workers than that is a typo. */
#define RX_SHARD_MAX 100000

/* Environment variable that gives the shard count to `--shard auto` with
 * JOB_COMPLETION_INDEX (Kubernetes does not export the completions). */
#define RX_SHARD_COUNT_ENV "REENCODE_SHARDS"

typedef struct RxShard {
    int index;    /* K, 0-based */
    int count;    /* N; 0 = not sharded: every file */
    int from_env; /* --shard auto[/N]: index (and count when 0) still to be read */
} RxShard;

/*
 * Parse "K/N" (0 <= K < N <= RX_SHARD_MAX, plain decimal), "auto" or
 * "auto/N". Returns 0, or AVERROR(EINVAL) with a one-line reason in err.
 */
int rx_shard_parse(RxShard *s, const char *spec, char *err, size_t errsize);

/*
 * Resolve `--shard auto` from the environment, in this order:
 *   Slurm array: K = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) /
 *     SLURM_ARRAY_TASK_STEP, N = SLURM_ARRAY_TASK_COUNT (the array must be a
 *     regular range, e.g. --array=1-8 or 0-30:2; a list like 1,5,9 cannot
 *     say who owns what). An N given as auto/N wins.
 *   Kubernetes Indexed Job: K = JOB_COMPLETION_INDEX, N from auto/N or
 *     RX_SHARD_COUNT_ENV.
 * Does nothing when s->from_env is 0. Returns 0 (s->from_env cleared), or
 * AVERROR(EINVAL) with a one-line reason in err.
 */
int rx_shard_from_env(RxShard *s, char *err, size_t errsize);

/*
 * The shard of rel among count (>= 1), per the formula above: >= 0, or
 * AVERROR(ENOMEM).
 */
int rx_shard_of(const char *rel, int count);

/* Does rel belong to s? 1 yes (always when s is NULL or not sharded), 0 no,
 * or AVERROR(ENOMEM). */
int rx_shard_has(const RxShard *s, const char *rel);

/* The journal of shard s: "BASE.K-of-N", or a copy of BASE when not
 * sharded. NULL when out of memory. Free with av_free(). */
char *rx_shard_journal_path(const char *base, const RxShard *s);

/*
 * Is name (a file name, no directory) the journal named base_name or one of
 * its shards' ("base_name.K-of-N", K < N, decimal without leading zeros)?
 * Returns 1 and fills s (count 0 for base_name itself) or 0. Backups and
 * temporaries of a repair ("journal.bak-...") are not journals.
 */
int rx_shard_journal_name(const char *name, const char *base_name, RxShard *s);

#endif
