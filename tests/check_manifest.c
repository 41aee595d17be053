/*
 * check_manifest.c - the CSV and list readers: quotes, commas, newlines and
 * quotes in names, BOM, CRLF, blank lines, non-ASCII and invalid UTF-8,
 * empty files, missing columns, short rows, unterminated quotes, duplicate
 * ids, NUL-separated lists; and reading a real file and standard input.
 *
 * Inputs are byte strings (with their length, so NUL bytes are data) read
 * through fmemopen, as rx_manifest_read() reads a file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/error.h>

#include "checkrun.h"
#include "reencode/manifest.h"

static char err[512];

/* Read len bytes of text as a manifest; returns the code, *out on success. */
static int read_bytes(RxManifest **out, RxManifestKind kind, const char *text, size_t len,
                      const char *column, const char *id_column)
{
    RxManifestSpec spec = {kind, "data/videos.csv", column, id_column};
    char *copy = malloc(len ? len : 1); /* fmemopen takes a writable buffer */
    FILE *fp;
    int ret;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, len);
    fp = fmemopen(copy, len, "rb");
    ck_assert_ptr_nonnull(fp);
    *out = NULL;
    ret = rx_manifest_read_fp(out, &spec, fp, err, sizeof(err));
    fclose(fp);
    free(copy);
    return ret;
}

static RxManifest *csv_ok(const char *text, const char *column, const char *id_column)
{
    RxManifest *m = NULL;
    int ret = read_bytes(&m, RX_MANIFEST_CSV, text, strlen(text), column, id_column);

    ck_assert_msg(ret == 0, "read failed (%d): %s", ret, err);
    return m;
}

static void csv_fails(const char *text, size_t len, const char *column, const char *id_column,
                      const char *message)
{
    RxManifest *m = NULL;
    int ret = read_bytes(&m, RX_MANIFEST_CSV, text, len, column, id_column);

    ck_assert_int_eq(ret, AVERROR_INVALIDDATA);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err, message), "error '%s' does not say '%s'", err, message);
    ck_assert_msg(strstr(err, "'data/videos.csv'"), "error '%s' does not name the file", err);
}

START_TEST(test_csv_plain)
{
    RxManifest *m = csv_ok("video_id,video_path,duration\n"
                           "a1,clips/one.mp4,12\n"
                           "b2,/abs/two.mp4,7\n",
                           "video_path", "video_id");

    ck_assert_uint_eq(rx_manifest_count(m), 2);
    ck_assert_str_eq(rx_manifest_path(m, 0), "clips/one.mp4");
    ck_assert_str_eq(rx_manifest_id(m, 0), "a1");
    ck_assert_int_eq(rx_manifest_line(m, 0), 2);
    ck_assert_str_eq(rx_manifest_path(m, 1), "/abs/two.mp4");
    ck_assert_str_eq(rx_manifest_id(m, 1), "b2");
    ck_assert_int_eq(rx_manifest_line(m, 1), 3);
    ck_assert_str_eq(rx_manifest_paths(m)[1], "/abs/two.mp4");
    ck_assert_ptr_null(rx_manifest_path(m, 2));
    ck_assert_str_eq(rx_manifest_base(m), "data");
    rx_manifest_free(&m);
    ck_assert_ptr_null(m);
    rx_manifest_free(NULL);
}
END_TEST

/* Commas, doubled quotes, newlines and spaces inside quoted fields; an empty
 * quoted id; a quote inside an unquoted field is a character. */
START_TEST(test_csv_quotes)
{
    RxManifest *m = csv_ok("id,\"the \"\"path\"\"\",note\n"
                           "1,\"a, b.mp4\",\"x\"\n"
                           "2,\"say \"\"hi\"\".mp4\",y\n"
                           "3,\"two\nlines.mp4\",\"multi\nline\nnote\"\n"
                           "\"\",  spaced name .mp4 ,z\n"
                           "5,it\"s.mp4,w\n",
                           "the \"path\"", "id");

    ck_assert_uint_eq(rx_manifest_count(m), 5);
    ck_assert_str_eq(rx_manifest_path(m, 0), "a, b.mp4");
    ck_assert_str_eq(rx_manifest_path(m, 1), "say \"hi\".mp4");
    ck_assert_str_eq(rx_manifest_path(m, 2), "two\nlines.mp4");
    ck_assert_int_eq(rx_manifest_line(m, 2), 4);
    /* The row after a field with newlines is counted by physical line. */
    ck_assert_int_eq(rx_manifest_line(m, 3), 8);
    ck_assert_str_eq(rx_manifest_path(m, 3), "  spaced name .mp4 ");
    ck_assert_str_eq(rx_manifest_id(m, 3), "");
    ck_assert_str_eq(rx_manifest_path(m, 4), "it\"s.mp4");
    rx_manifest_free(&m);
}
END_TEST

/* Excel's "CSV UTF-8": a BOM before the header, CRLF line ends, a last
 * line without one; blank lines (LF and CRLF) are skipped. */
START_TEST(test_csv_bom_crlf)
{
    RxManifest *m = csv_ok("\xEF\xBB\xBFvideo_path,video_id\r\n"
                           "\"c:\\rec\\a.mp4\",x\r\n"
                           "\r\n"
                           "\n"
                           "b.mp4,\"y\"\r\n"
                           "c.mp4,z",
                           "video_path", "video_id");

    ck_assert_uint_eq(rx_manifest_count(m), 3);
    ck_assert_str_eq(rx_manifest_path(m, 0), "c:\\rec\\a.mp4");
    ck_assert_str_eq(rx_manifest_id(m, 0), "x");
    ck_assert_str_eq(rx_manifest_path(m, 1), "b.mp4");
    ck_assert_str_eq(rx_manifest_id(m, 1), "y");
    ck_assert_int_eq(rx_manifest_line(m, 1), 5);
    ck_assert_str_eq(rx_manifest_path(m, 2), "c.mp4");
    ck_assert_str_eq(rx_manifest_id(m, 2), "z");
    rx_manifest_free(&m);

    /* Without a BOM the first column's name starts at the first byte; a
     * partial BOM is data. */
    m = csv_ok("\xEF\xBBp\nq\n", "\xEF\xBBp", NULL);
    ck_assert_uint_eq(rx_manifest_count(m), 1);
    ck_assert_str_eq(rx_manifest_path(m, 0), "q");
    rx_manifest_free(&m);
}
END_TEST

/* Names are bytes: UTF-8 passes as is, invalid UTF-8 too; the id is the
 * path when there is no id column. */
START_TEST(test_csv_bytes)
{
    RxManifest *m = csv_ok("path\n"
                           "Vorlesung \xC3\x9C"
                           "bung \xE2\x80\x94 \xE6\x97\xA5\xE6\x9C\xAC.mp4\n"
                           "bad\xFF\xFEname.mp4\n"
                           "\"\xC3\"\n",
                           "path", NULL);

    ck_assert_uint_eq(rx_manifest_count(m), 3);
    ck_assert_str_eq(rx_manifest_path(m, 0), "Vorlesung \xC3\x9C"
                                             "bung \xE2\x80\x94 \xE6\x97\xA5\xE6\x9C\xAC.mp4");
    ck_assert_str_eq(rx_manifest_path(m, 1), "bad\xFF\xFEname.mp4");
    ck_assert_str_eq(rx_manifest_id(m, 1), "bad\xFF\xFEname.mp4");
    ck_assert_str_eq(rx_manifest_path(m, 2), "\xC3");
    rx_manifest_free(&m);
}
END_TEST

/* A header and no rows is an empty batch; an empty file is an error. */
START_TEST(test_csv_empty)
{
    RxManifest *m = csv_ok("video_path\n", "video_path", NULL);

    ck_assert_uint_eq(rx_manifest_count(m), 0);
    rx_manifest_free(&m);
    csv_fails("", 0, "video_path", NULL, "is empty");
    csv_fails("\n\r\n\n", 4, "video_path", NULL, "is empty");
    csv_fails("\xEF\xBB\xBF", 3, "video_path", NULL, "is empty");
}
END_TEST

START_TEST(test_csv_errors)
{
    const char nul[] = "p\na\0b.mp4\n";

    csv_fails("id,path\n1,a.mp4\n", 16, "video_path", NULL,
              "has no column 'video_path' (its header has 'id', 'path')");
    csv_fails("video_path\na.mp4\n", 17, "video_path", "video_id", "has no column 'video_id'");
    csv_fails("p,q\n\"a.mp4,1\nb.mp4,2\n", 20, "p", NULL,
              "line 2: a quoted field opened here is never closed");
    csv_fails("p,q\nx,1\n\"a\"b.mp4,2\n", 19, "p", NULL, "line 3: text after a closing quote");
    csv_fails("p,q\n\"a\"\rb,1\n", 12, "p", NULL, "line 2: a carriage return after a closing");
    csv_fails("a,b,p\n1,2,x.mp4\n1,2\n", 20, "p", NULL,
              "line 3: 2 fields, but column 'p' is field 3");
    csv_fails(nul, sizeof(nul) - 1, "p", NULL, "line 2: column 'p' holds a NUL byte");
    csv_fails("p,id\na.mp4,k\nb.mp4,j\nc.mp4,k\n", 28, "p", "id",
              "lines 2 and 4 have the same id 'k'");
}
END_TEST

/* A field longer than the limit stops the reader (a runaway quote in a
 * huge file) instead of taking all memory. */
START_TEST(test_csv_field_limit)
{
    size_t len = RX_MANIFEST_FIELD_MAX + 16;
    char *text = malloc(len);

    ck_assert_ptr_nonnull(text);
    memcpy(text, "p\n\"", 3);
    memset(text + 3, 'x', len - 3);
    csv_fails(text, len, "p", NULL, "a field longer than");
    free(text);
}
END_TEST

/* A column used for both paths and ids: the ids are the paths. */
START_TEST(test_csv_same_column)
{
    RxManifest *m = csv_ok("p\na.mp4\n", "p", "p");

    ck_assert_str_eq(rx_manifest_id(m, 0), "a.mp4");
    rx_manifest_free(&m);
}
END_TEST

START_TEST(test_list_lines)
{
    const char text[] = "\xEF\xBB\xBF"
                        "a.mp4\n"
                        "\n"
                        "dir with space/b.mp4\r\n"
                        "  c.mp4\n"
                        "\xC3\xA9t\xC3\xA9.mp4\n"
                        "last.mp4";
    RxManifest *m = NULL;

    ck_assert_int_eq(read_bytes(&m, RX_MANIFEST_LIST, text, sizeof(text) - 1, NULL, NULL), 0);
    ck_assert_uint_eq(rx_manifest_count(m), 5);
    ck_assert_str_eq(rx_manifest_path(m, 0), "a.mp4");
    ck_assert_str_eq(rx_manifest_path(m, 1), "dir with space/b.mp4");
    ck_assert_int_eq(rx_manifest_line(m, 1), 3);
    ck_assert_str_eq(rx_manifest_path(m, 2), "  c.mp4");
    ck_assert_str_eq(rx_manifest_path(m, 3), "\xC3\xA9t\xC3\xA9.mp4");
    ck_assert_str_eq(rx_manifest_path(m, 4), "last.mp4");
    ck_assert_str_eq(rx_manifest_id(m, 4), "last.mp4");
    rx_manifest_free(&m);

    /* A NUL byte in a line-separated list: it was meant for -0. */
    const char nul[] = "a.mp4\nb\0c.mp4\n";
    ck_assert_int_eq(read_bytes(&m, RX_MANIFEST_LIST, nul, sizeof(nul) - 1, NULL, NULL),
                     AVERROR_INVALIDDATA);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(err, "line 2: a NUL byte (a NUL-separated list needs -0)"));

    ck_assert_int_eq(read_bytes(&m, RX_MANIFEST_LIST, "", 0, NULL, NULL), 0);
    ck_assert_uint_eq(rx_manifest_count(m), 0);
    rx_manifest_free(&m);
}
END_TEST

/* find -print0: newlines, CRs and a BOM are part of names; empty entries
 * are skipped; the last entry may lack its NUL. */
START_TEST(test_list_nul)
{
    const char text[] = "./a\nb.mp4\0"
                        "\0"
                        "c.mp4\r\0"
                        "\xEF\xBB\xBF"
                        "d.mp4\0"
                        "e\xFF.mp4";
    RxManifest *m = NULL;

    ck_assert_int_eq(read_bytes(&m, RX_MANIFEST_LIST0, text, sizeof(text) - 1, NULL, NULL), 0);
    ck_assert_uint_eq(rx_manifest_count(m), 4);
    ck_assert_str_eq(rx_manifest_path(m, 0), "./a\nb.mp4");
    ck_assert_str_eq(rx_manifest_path(m, 1), "c.mp4\r");
    ck_assert_int_eq(rx_manifest_line(m, 1), 3);
    ck_assert_str_eq(rx_manifest_path(m, 2), "\xEF\xBB\xBF"
                                             "d.mp4");
    ck_assert_str_eq(rx_manifest_path(m, 3), "e\xFF.mp4");
    rx_manifest_free(&m);
}
END_TEST

/* rx_manifest_read(): a file on disk, its base directory, a missing file. */
START_TEST(test_read_file)
{
    char dir[] = "/tmp/check_manifest.XXXXXX", path[64];
    RxManifestSpec spec = {RX_MANIFEST_CSV, path, "p", NULL};
    RxManifest *m = NULL;
    FILE *fp;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/list.csv", dir);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("p\nx.mp4\n", fp);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(rx_manifest_read(&m, &spec, err, sizeof(err)), 0);
    ck_assert_uint_eq(rx_manifest_count(m), 1);
    ck_assert_str_eq(rx_manifest_base(m), dir);
    rx_manifest_free(&m);

    spec.column = NULL;
    ck_assert_int_eq(rx_manifest_read(&m, &spec, err, sizeof(err)), AVERROR(EINVAL));
    spec.column = "p";
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    ck_assert_int_eq(rx_manifest_read(&m, &spec, err, sizeof(err)), AVERROR(ENOENT));
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(err, "cannot open '"));
    ck_assert_ptr_nonnull(strstr(err, "list.csv': No such file"));

    /* Standard input: the base is the current directory. */
    spec.kind = RX_MANIFEST_LIST0;
    spec.file = "-";
    ck_assert_ptr_nonnull(freopen("/dev/null", "rb", stdin));
    ck_assert_int_eq(rx_manifest_read(&m, &spec, err, sizeof(err)), 0);
    ck_assert_uint_eq(rx_manifest_count(m), 0);
    ck_assert_str_eq(rx_manifest_base(m), ".");
    rx_manifest_free(&m);
}
END_TEST

static Suite *manifest_suite(void)
{
    Suite *s = suite_create("manifest");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_csv_plain);
    tcase_add_test(tc, test_csv_quotes);
    tcase_add_test(tc, test_csv_bom_crlf);
    tcase_add_test(tc, test_csv_bytes);
    tcase_add_test(tc, test_csv_empty);
    tcase_add_test(tc, test_csv_errors);
    tcase_add_test(tc, test_csv_field_limit);
    tcase_add_test(tc, test_csv_same_column);
    tcase_add_test(tc, test_list_lines);
    tcase_add_test(tc, test_list_nul);
    tcase_add_test(tc, test_read_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return rx_check_run(manifest_suite());
}
