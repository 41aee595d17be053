/*
 * fakeid.h - a made-up file identity for journal tests: no file behind it,
 * rel borrowed (never cleared), the hash a function of seed.
 */
#ifndef RX_FAKEID_H
#define RX_FAKEID_H

#include <stdint.h>
#include <stdio.h>

#include "reencode/journal.h"

static inline RxFileId fake_id(const char *rel, int64_t size, unsigned seed)
{
    RxFileId id = {0};
    id.rel = (char *)(uintptr_t)rel;
    id.size = size;
    id.mtime_ns = 1700000000000000000 + seed;
    snprintf(id.hash, sizeof(id.hash), "%08x%08x%08x%08x", seed, seed * 2654435761u, ~seed,
             seed ^ 0x5a5a5a5au);
    return id;
}

#endif
