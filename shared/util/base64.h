/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648, standard alphabet, padded) into bounded buffers. */
#ifndef RUNSCOPE_UTIL_BASE64_H
#define RUNSCOPE_UTIL_BASE64_H

#include "util/buf.h"

#include <stddef.h>

/* The length of the encoding of n bytes, padding included (no NUL). */
size_t base64_encoded_len(size_t n);

/* Appends the padded encoding of data[0..n) to out. Returns 0, -EMSGSIZE
 * when it would pass out's maximum (out is then unchanged), or -ENOMEM. */
int base64_encode(const void *data, size_t n, struct buf *out);

/* Appends the bytes that text[0..len) encodes to out (NUL-terminated, as a
 * buf always is, so decoded text can be used as a C string). The text is
 * the standard alphabet; the padding may be left out, as some encoders do,
 * but where it is present it must be complete. Returns 0, -EINVAL for
 * anything else (a character outside the alphabet, a length that no
 * encoding has, padding in the middle; out is then unchanged), -EMSGSIZE or
 * -ENOMEM. */
int base64_decode(const char *text, size_t len, struct buf *out);

#endif
