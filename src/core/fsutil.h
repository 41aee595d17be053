/*
 * fsutil.h - the durability helpers every writer of files shares.
 *
 * A rename or a new file is durable only once its directory is synced too
 * (the redis/git rule: fsync the file, rename, fsync the directory).
 * Thread-safety: no state.
 */
#ifndef RX_FSUTIL_H
#define RX_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

/* fsync the directory that holds path. Returns 0 or a negative AVERROR. */
int rx_fsync_parent(const char *path);

/* Create the missing directories leading to path (not path itself), 0755.
 * Returns 0 or a negative AVERROR. */
int rx_mkdir_parents(const char *path);

/* Replace (or create) path with len bytes of data, crash-safe: written to
 * path + suffix (e.g. ".part"), fsync'ed, renamed over path, directory
 * fsync'ed; on failure the temporary is removed and path left as it was
 * (unless only the last fsync failed: the new file is then in place).
 * Returns 0 or a negative AVERROR. */
int rx_replace_file(const char *path, const char *suffix, const void *data, size_t len);

/* The whole file open at fd, from offset 0 whatever the fd's offset, until
 * EOF (it may grow while read): *out (malloc'ed, free()) and *out_len.
 * Returns 0, AVERROR(EFBIG) past max bytes, AVERROR(ENOMEM), or the
 * negative errno of fstat/pread. */
int rx_read_fd(int fd, int64_t max, char **out, size_t *out_len);

/* write(2) all n bytes, again after EINTR and short writes. Returns 0, the
 * AVERROR of write's errno, or AVERROR(EIO) when write wrote nothing (so a
 * full device can never spin the loop). Messages and crash records ignore
 * the result: nothing better can be done there. Async-signal-safe. */
int rx_write_all(int fd, const void *data, size_t n);

#endif
