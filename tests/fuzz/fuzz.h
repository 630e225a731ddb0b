/* SPDX-License-Identifier: MIT */
/* What the libFuzzer targets share: invariants a parser's output must keep
 * whatever the input. A broken one aborts, which libFuzzer reports as a
 * crash with the input that caused it. */
#ifndef RUNSCOPE_FUZZ_H
#define RUNSCOPE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The nesting limit the targets parse with (the plugin's default). */
#define FUZZ_DEPTH 64

/* Aborts unless s, a char array of size bytes, holds a NUL. */
#define FUZZ_STR(s) fuzz_str((s), sizeof(s))

static inline void fuzz_str(const char *s, size_t size) {
  if (memchr(s, '\0', size) == NULL)
    abort();
}

/* Aborts unless cond holds. */
static inline void fuzz_assert(int cond) {
  if (!cond)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
