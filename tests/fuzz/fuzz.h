/*
 * fuzz.h - what the libFuzzer harnesses share.
 *
 * Each harness checks, besides "no crash, no leak, no undefined behaviour",
 * the properties its module's header promises. FUZZ_CHECK() is how: unlike
 * assert() it stays in release builds (the fuzz tree is RelWithDebInfo, so
 * NDEBUG), and it aborts, which libFuzzer records as a crash with the input
 * that caused it.
 */
#ifndef RX_FUZZ_H
#define RX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* libFuzzer's entry point: called once per input; data is only valid for the
 * call and is exactly size bytes (ASan catches any read beyond). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* Is s NUL-terminated within its size bytes? (Fixed-size report fields.) */
#define FUZZ_TERMINATED(s) (memchr((s), '\0', sizeof(s)) != NULL)

#endif
