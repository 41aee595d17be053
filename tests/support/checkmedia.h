/*
 * checkmedia.h - the steps every media suite repeats, failing the test
 * (Check's ck_assert) on an error: make a clip, transcode it, inspect a file.
 * Header-only, like checkrun.h, as rx_testmedia does not link Check.
 *
 * The older suites (check_transcode, check_meta, check_cfr) still carry
 * their own copies of these; new suites use this one.
 */
#ifndef RX_CHECKMEDIA_H
#define RX_CHECKMEDIA_H

#include <check.h>

#include "reencode/transcode.h"
#include "inspect.h"
#include "testmedia.h"

/* tm_write_clip() or fail with its reason. */
static inline void ck_make_clip(const char *path, const TmClip *c)
{
    char err[256];
    int ret = tm_write_clip(path, c, err, sizeof(err));

    ck_assert_msg(ret == 0, "cannot make test clip %s: %s", path, err);
}

/* One job from in to out with s; its return value (r says why). */
static inline int ck_transcode(const char *in, const char *out, const RxSettings *s, RxResult *r)
{
    RxTranscode *t = NULL;
    int ret = rx_transcode_new(&t, in, out, s);

    ck_assert_int_eq(ret, 0);
    ret = rx_transcode_run(t, r);
    rx_transcode_free(&t);
    return ret;
}

/* in_inspect() with decoding, or fail. */
static inline void ck_inspect(const char *path, InFile *f)
{
    int ret = in_inspect(path, 1, f);

    ck_assert_msg(ret == 0, "cannot inspect %s: %d", path, ret);
}

#endif
