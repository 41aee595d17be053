/*
 * scan.h - find candidate recordings under one or more roots.
 *
 * A scan walks each root recursively and yields every regular file whose
 * extension is in a list (default "mp4"; compared ASCII case-insensitively, so
 * .mp4 and .MP4), with its size, mtime and identity. It never yields:
 *   - names ending in ".part" (outputs being written),
 *   - names ending in ".reencoded" (originals reencode already renamed,
 *     "foo.mp4.reencoded"),
 *   - anything inside a directory named ".reencode" (the journal's),
 *   - sockets, fifos and devices.
 * Symbolic links met during the walk are skipped unless follow_symlinks is
 * set; the roots themselves are always followed (like `find -H`). With
 * follow_symlinks, a directory (device, inode) is entered once however many
 * links lead to it, which ends link loops, and a file (device, inode) is
 * yielded once, under the first name met. Without it, overlapping roots and
 * bind-mount loops are still entered once; hard links are yielded under each
 * name. one_file_system keeps the walk on each root's device.
 *
 * Within a directory, names are visited in strcmp() order, so a walk is
 * deterministic; which name "comes first" above follows from that. The walk is
 * depth-first, which is not strcmp() order of whole paths ("a/b.mp4" is met
 * before "a.mp4"): rx_scan_list_sort() gives that order.
 *
 * A directory or file that cannot be read (EACCES, a name that vanished, a
 * dangling link, a missing root ...) is reported once through on_warn with
 * the path and a negative errno, and the walk goes on.
 *
 * Calling sequence:
 *     rx_scan_options_default(&o); o.extensions = "mp4,mkv"; ...
 *     rx_scan_list_new(&list);
 *     rx_scan_run(list, roots, n, &o);        entries stream to o.on_entry
 *     rx_scan_list_sort(list);
 *     rx_scan_list_get(list, i) ...
 *     rx_scan_list_free(&list);
 *
 * Thread-safety: no global state. rx_scan_run() calls on_entry and on_warn on
 * its own thread. Entries are immutable once yielded and keep their address
 * until the list is freed (sorting moves pointers, not entries), so on_entry
 * may hand them to other threads while the walk goes on.
 */
#ifndef RX_SCAN_H
#define RX_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* One file found. Owned by its list. */
typedef struct RxScanEntry {
    const char *path; /* the root as given (trailing '/' dropped) + '/' + rel */
    const char *rel;  /* path relative to its root; points into path */
    size_t root;      /* index of that root in the roots passed to rx_scan_run() */
    int64_t size;     /* bytes */
    int64_t mtime_ns; /* modification time, ns since the epoch */
    uint64_t dev;     /* identity of the file (of the link's target when followed) */
    uint64_t ino;
    int err; /* 0; rx_scan_files() only: why the named file cannot be used (negative
                errno), yielded anyway so that it is reported as that file */
} RxScanEntry;

/* Called for each entry as soon as it is found; return 0 to go on, or a
 * negative code to stop the walk (rx_scan_run() then returns that code). */
typedef int (*RxScanEntryFn)(void *opaque, const RxScanEntry *e);

/* Called once per unreadable path; err is a negative errno. */
typedef void (*RxScanWarnFn)(void *opaque, const char *path, int err);

typedef struct RxScanOptions {
    const char *extensions; /* comma-separated, leading dots allowed: "mp4,.MKV,mov";
                               NULL = "mp4" */
    int follow_symlinks;    /* follow links met in the walk (loop-safe) */
    int one_file_system;    /* do not cross into other file systems */
    RxScanEntryFn on_entry; /* optional */
    void *entry_opaque;
    RxScanWarnFn on_warn; /* optional; warnings are counted either way */
    void *warn_opaque;
    RxScanWarnFn on_not_taken; /* optional: rx_scan_files() names left out, with why */
    void *not_taken_opaque;
} RxScanOptions;

/* Why rx_scan_files() left a name out (on_not_taken's err). */
#define RX_SCAN_ERR_NAME (-0x52584320) /* the walk would not pick that name */
#define RX_SCAN_ERR_SAME (-0x52584321) /* the same file as one already in the list */
#define RX_SCAN_ERR_TYPE (-0x52584322) /* a directory, fifo ...: not a regular file */

/* Text for RX_SCAN_ERR_*, or NULL for any other code. */
const char *rx_scan_why(int err);

struct AVBPrint;

/* The one line for a warning of the walk (on_warn's path and err), the
 * path made printable: "cannot read 'PATH': WHY". Appended to bp. */
void rx_scan_warning(struct AVBPrint *bp, const char *path, int err);

typedef struct RxScanList RxScanList;

/* Defaults: "mp4", no symlinks followed, crossing file systems, no callbacks. */
void rx_scan_options_default(RxScanOptions *o);

/* Create an empty list. Returns 0 or AVERROR(ENOMEM). */
int rx_scan_list_new(RxScanList **out);

/*
 * Walk roots[0..n-1] and append what is found to list (entries already in the
 * list are not looked at). Returns 0 when the walk completed (warnings do not
 * make it fail), AVERROR(EINVAL) for an extension list with no extension or one
 * containing '/', AVERROR(ENOMEM), or the negative code an on_entry returned. On
 * error, what was found so far stays in the list (and with on_entry, may be
 * in use elsewhere): the caller frees it as usual.
 */
int rx_scan_run(RxScanList *list, const char *const *roots, size_t n, const RxScanOptions *o);

/*
 * Add files named one by one (a manifest) to list, in the order given. Each
 * path is used as given (a relative one from the current directory), links
 * followed. A file the walk would not pick by its name (o->extensions,
 * *.part, *.reencoded, a .reencode directory on its path), or one already in
 * the list (same device and inode: named twice, under two names, or found by
 * the walk too), or one that is not a regular file (a directory: `find`
 * lists them) is left out through o->on_not_taken. A file that cannot be
 * used (missing, unreadable) is yielded all the same,
 * with err set and size 0, so that it is reported as that file (not as a
 * warning) and a manifest never loses a row in silence.
 * Entries get root = the index given, and rel = the path from base when the
 * file lies under base (directories resolved with realpath, the file's own
 * name not), else its absolute path (starting with '/'): rel stays the same
 * from whichever directory a relative path was given.
 * Returns 0, AVERROR(EINVAL) for a bad extension list, AVERROR(ENOMEM), or the code an
 * on_entry returned.
 */
int rx_scan_files(RxScanList *list, const char *const *paths, size_t n, const char *base,
                  size_t root, const RxScanOptions *o);

size_t rx_scan_list_count(const RxScanList *list);

/* Entry i (0-based), or NULL when out of range. */
const RxScanEntry *rx_scan_list_get(const RxScanList *list, size_t i);

/* Number of warnings reported while filling the list. */
size_t rx_scan_list_warnings(const RxScanList *list);

/* Order the entries by path, byte-wise (strcmp), whatever the readdir order. */
void rx_scan_list_sort(RxScanList *list);

/* Free the list and its entries and set *list to NULL. Accepts NULL. */
void rx_scan_list_free(RxScanList **list);

#endif
