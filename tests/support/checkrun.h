/*
 * checkrun.h - the one way a Check suite runs: every test suite's main()
 * ends with `return rx_check_run(suite);`.
 *
 * CK_ENV: the verbosity comes from CK_VERBOSITY (CTest sets "normal"). The
 * exit status is nonzero when any test failed, which is what CTest reads.
 */
#ifndef RX_CHECKRUN_H
#define RX_CHECKRUN_H

#include <check.h>
#include <stdlib.h>

static inline int rx_check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
