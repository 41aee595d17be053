/*
 * testdir.h - a fresh temporary directory for each test, and paths in it.
 *
 * Check forks per test, so each test's setup creates its own directory and
 * its teardown removes it. td_path() returns one of 16 rotating buffers, so
 * a test may hold up to 16 paths at once.
 */
#ifndef RX_TESTDIR_H
#define RX_TESTDIR_H

#include <stddef.h>

/* Create "$TMPDIR/PREFIX.XXXXXX" (TMPDIR default /tmp) into dir. 0 or -errno. */
int td_create(char *dir, size_t size, const char *prefix);

/* Remove dir and everything below it, never following links. 0 or -errno. */
int td_remove(const char *dir);

/* "dir/rel", valid until 16 more calls. */
const char *td_path(const char *dir, const char *rel);

/* The whole file at path, NUL-terminated, malloc'ed (free()), its length in
 * *len; NULL when it cannot be read. */
char *td_read(const char *path, size_t *len);

#endif
