/*
 * fuzz_manifest.c - read arbitrary bytes as a CSV or a list (manifest.h):
 * the CSV reader parses files users and dataset tools write, so no byte
 * sequence may crash it, leak, or make it hand back what it promised not to.
 *
 * Input: one byte of mode, then the file. mode % 3 is the kind (CSV, newline
 * list, NUL list); bit 2 asks a CSV for the id column too. The columns are
 * "video_path" and "video_id" (in the dictionary).
 * Seeds: tests/fuzz/corpus/fuzz_manifest.
 *
 * Properties checked besides memory safety (manifest.h):
 * - read fails only with AVERROR_INVALIDDATA or AVERROR(ENOMEM), then *out is
 *   untouched and the message names the file;
 * - rows come in file order: their lines strictly increase;
 * - no path is empty in a list; no path of a newline list holds '\n'; the
 *   bytes of all paths fit in the input;
 * - with an id column, ids are unique; without, the id is the path.
 */
#include <string.h>

#include <libavutil/error.h>

#include "fuzz.h"
#include "reencode/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    RxManifestSpec spec = {RX_MANIFEST_CSV, "fuzz.csv", "video_path", NULL};
    RxManifest *m = (RxManifest *)&spec; /* must stay untouched on failure */
    char err[256], *copy;
    size_t total = 0;
    FILE *fp;
    int ret;

    if (size < 2) /* fmemopen takes no empty buffer */
        return 0;
    spec.kind = (RxManifestKind)(data[0] % 3);
    if (spec.kind == RX_MANIFEST_CSV && (data[0] & 4))
        spec.id_column = "video_id";
    copy = malloc(size - 1);
    if (!copy)
        return 0;
    memcpy(copy, data + 1, size - 1);
    fp = fmemopen(copy, size - 1, "rb");
    if (!fp) {
        free(copy);
        return 0;
    }
    ret = rx_manifest_read_fp(&m, &spec, fp, err, sizeof(err));
    fclose(fp);
    free(copy);
    if (ret < 0) {
        FUZZ_CHECK(ret == AVERROR_INVALIDDATA || ret == AVERROR(ENOMEM));
        FUZZ_CHECK(m == (RxManifest *)&spec);
        FUZZ_CHECK(!strncmp(err, "'fuzz.csv' ", 11) || ret == AVERROR(ENOMEM));
        return 0;
    }
    for (size_t i = 0; i < rx_manifest_count(m); i++) {
        const char *path = rx_manifest_path(m, i), *id = rx_manifest_id(m, i);
        size_t len = strlen(path);
        FUZZ_CHECK(path && id && rx_manifest_paths(m)[i] == path);
        FUZZ_CHECK(i == 0 || rx_manifest_line(m, i) > rx_manifest_line(m, i - 1));
        FUZZ_CHECK(rx_manifest_line(m, i) >= 1);
        if (spec.kind != RX_MANIFEST_CSV)
            FUZZ_CHECK(len > 0);
        if (spec.kind == RX_MANIFEST_LIST)
            FUZZ_CHECK(!strchr(path, '\n'));
        if (!spec.id_column)
            FUZZ_CHECK(id == path);
        for (size_t k = 0; spec.id_column && k < i; k++)
            FUZZ_CHECK(strcmp(id, rx_manifest_id(m, k)));
        total += len;
    }
    FUZZ_CHECK(total <= size);
    FUZZ_CHECK(rx_manifest_path(m, rx_manifest_count(m)) == NULL);
    rx_manifest_free(&m);
    FUZZ_CHECK(m == NULL);
    return 0;
}
