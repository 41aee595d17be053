/*
 * manifest.h - the files to work on, named by a dataset CSV or a list.
 *
 * Besides directories, `run` and `list` take the files named by a manifest:
 *   - a CSV (RFC 4180): a header row naming the columns, then one row per
 *     file; the path is in one named column, an optional id in another.
 *     Quoted fields may hold commas, doubled quotes and newlines; a UTF-8
 *     BOM is dropped; lines end in LF or CRLF. Blank lines are ignored.
 *   - a list: one path per line (a trailing CR is dropped, blank lines are
 *     ignored, a BOM at the start is dropped), or NUL-separated (`find
 *     -print0`): every byte but NUL is part of a name, newlines included.
 * Names are bytes: neither reader checks or changes their encoding. A name
 * cannot hold a NUL byte: a CSV field or newline-separated line with one is
 * an error. Relative paths are the caller's to resolve (reencode: against
 * the current directory).
 *
 * The whole manifest is read before the run starts (the rows are few next
 * to the work each one names); the CSV reader streams the file and keeps
 * only the two columns wanted.
 *
 * Calling sequence:
 *     RxManifestSpec s = {RX_MANIFEST_CSV, "videos.csv", "video_path", "video_id"};
 *     rx_manifest_read(&m, &s, err, sizeof(err));
 *     for (i < rx_manifest_count(m)) rx_manifest_path(m, i), rx_manifest_id(m, i) ...
 *     rx_manifest_free(&m);
 *
 * Thread-safety: no global state; a manifest is immutable once read.
 */
#ifndef RX_MANIFEST_H
#define RX_MANIFEST_H

#include <stddef.h>
#include <stdio.h>

typedef enum RxManifestKind {
    RX_MANIFEST_CSV = 0,
    RX_MANIFEST_LIST,  /* newline-separated */
    RX_MANIFEST_LIST0, /* NUL-separated */
} RxManifestKind;

typedef struct RxManifestSpec {
    RxManifestKind kind;
    const char *file;      /* a path, or "-" for standard input */
    const char *column;    /* CSV: the column that holds the paths (required) */
    const char *id_column; /* CSV: the column of ids, or NULL (ids are then the paths) */
} RxManifestSpec;

/* Longest field or line kept or skipped: a longer one is an error (no file
 * name comes near it; a runaway quote does). */
#define RX_MANIFEST_FIELD_MAX (1 << 20)

typedef struct RxManifest RxManifest;

/*
 * Read the manifest spec names. Returns 0 and sets *out (free with
 * rx_manifest_free()), or a negative code with *out untouched and err
 * holding one line that
 * names the file (and the line, for content): AVERROR_INVALIDDATA for a
 * malformed file (unterminated quote, text after a closing quote, a missing
 * column, a row too short for it, a NUL byte in a name, an empty CSV, a
 * field over RX_MANIFEST_FIELD_MAX, the same id on two rows), AVERROR(EINVAL)
 * for a bad spec, a negative errno when the file cannot be read, or
 * AVERROR(ENOMEM).
 */
int rx_manifest_read(RxManifest **out, const RxManifestSpec *spec, char *err, size_t errsize);

/* The same, from an open stream (tests, fuzzing); spec->file only names it
 * in messages. fp is read to its end or to the error, not closed. */
int rx_manifest_read_fp(RxManifest **out, const RxManifestSpec *spec, FILE *fp, char *err,
                        size_t errsize);

/* Rows, in file order. */
size_t rx_manifest_count(const RxManifest *m);

/* Row i's path (NULL when out of range). */
const char *rx_manifest_path(const RxManifest *m, size_t i);

/* Row i's id: the id column's value, or the path when there is none. */
const char *rx_manifest_id(const RxManifest *m, size_t i);

/* Line (CSV, newline list) or entry number (NUL list) where row i starts. */
long rx_manifest_line(const RxManifest *m, size_t i);

/* The paths as one array (rx_manifest_count() long), for find. */
const char *const *rx_manifest_paths(const RxManifest *m);

/* Where a run on this manifest alone keeps its journal and names its files
 * from: the manifest file's directory, or "." when it is standard input. */
const char *rx_manifest_base(const RxManifest *m);

void rx_manifest_free(RxManifest **m);

#endif
