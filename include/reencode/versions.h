/*
 * versions.h - what reencode runs with, for --version and bug reports.
 *
 * Each library is asked at run time (the shared object actually loaded, not
 * the headers compiled against); the FFmpeg libraries also show the version
 * they were built against, since a mismatch there explains odd failures.
 * libsvtav1 is not linked by reencode itself: it is reported when the
 * libavcodec loaded brought it in.
 *
 * Thread-safety: call from main, after rx_probe_init() (MediaInfo's options
 * are process-wide).
 */
#ifndef RX_VERSIONS_H
#define RX_VERSIONS_H

#include <libavutil/bprint.h>

/* Append one line per component, "NAME VERSION[ (detail)]\n", reencode's
 * own first. */
void rx_versions_describe(AVBPrint *bp);

#endif
