/*
 * imgseq.h - still images (PNG, JPEG) as the source of a video.
 *
 * `reencode encode --images SPEC --fps N` encodes an ordered series of images
 * as one video, image k at k/N s. This module finds the images SPEC names and
 * decodes one image; the transcode job runs the rest of the pipeline (the
 * frame stage scales every image to the first one's size).
 *
 * SPEC is
 *   - a glob(3) pattern when it holds *, ? or [: every match, in version
 *     order (strverscmp: "shot2.png" before "shot10.png"; zero-padded names
 *     sort as they read);
 *   - one image when it ends in .png, .jpg or .jpeg (any case);
 *   - else a LIST: a text file of image paths, one a line, in that order;
 *     blank lines are skipped, a relative path is taken from the LIST's own
 *     directory (so a list can travel with its images).
 *
 * No state; safe from any thread.
 */
#ifndef RX_IMGSEQ_H
#define RX_IMGSEQ_H

#include <stddef.h>

#include <libavutil/frame.h>

/*
 * Expand spec into *paths (n >= 1 of them, each and the array owned by the
 * caller: rx_imgseq_free). Returns 0, or a negative AVERROR with one line in
 * why naming spec and the cause (no match, an empty or unreadable list).
 */
int rx_imgseq_expand(const char *spec, char ***paths, size_t *n, char *why, size_t whysize);

void rx_imgseq_free(char ***paths, size_t n);

/*
 * Decode the (first) picture of the image file at path into out, which must
 * be blank (unreferenced); the caller unrefs it. Returns 0 or a negative
 * AVERROR (AVERROR_INVALIDDATA for a file that is not a picture it can
 * decode).
 */
int rx_imgseq_decode(const char *path, AVFrame *out);

#endif
