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

#endif
