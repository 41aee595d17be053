/*
 * fsutil.h - the durability helpers every writer of files shares.
 *
 * A rename or a new file is durable only once its directory is synced too
 * (the redis/git rule: fsync the file, rename, fsync the directory).
 * Thread-safety: no state.
 */
#ifndef RX_FSUTIL_H
#define RX_FSUTIL_H

/* fsync the directory that holds path. Returns 0 or a negative AVERROR. */
int rx_fsync_parent(const char *path);

/* Create the missing directories leading to path (not path itself), 0755.
 * Returns 0 or a negative AVERROR. */
int rx_mkdir_parents(const char *path);

#endif
