/* SPDX-License-Identifier: MIT */
/* Bounded growable buffers. */
#ifndef RUNSCOPE_UTIL_BUF_H
#define RUNSCOPE_UTIL_BUF_H

#include <stddef.h>

/* A growable byte buffer whose size never passes the maximum fixed at
 * buf_init. The contents are always NUL-terminated (the NUL is not counted in
 * len), so a text buffer can be used as a C string. */
struct buf {
  char *data; /* NULL until the first append */
  size_t len;
  size_t cap;
  size_t max; /* the most bytes len may reach */
};

/* Prepares an empty buffer that may hold up to max bytes. */
void buf_init(struct buf *b, size_t max);

/* Frees the contents; the buffer may be used again after buf_init. */
void buf_fini(struct buf *b);

/* buf_fini for a buffer that held a secret (an Authorization header, a
 * body with a password): its memory is wiped before it is freed. */
void buf_fini_wipe(struct buf *b);

/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/* Appends n bytes. Returns 0, -EMSGSIZE when the result would pass the
 * maximum (the buffer is left unchanged), or -ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t n);

/* Appends a C string; same returns as buf_append. */
int buf_puts(struct buf *b, const char *s);

/* Appends formatted text; same returns as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends s percent-encoded for a URL query value (RFC 3986 unreserved
 * characters are kept, everything else, including ',' and '/', is encoded).
 * Same returns as buf_append. */
int buf_put_urlenc(struct buf *b, const char *s);

/* Hands the contents over to the caller, who frees them with free(); the
 * buffer is left empty. Returns NULL (and leaves the buffer as it was) when
 * memory runs out. An empty buffer gives an empty string. */
char *buf_detach(struct buf *b);

#endif
