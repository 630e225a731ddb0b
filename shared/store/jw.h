/* SPDX-License-Identifier: MIT */
/* A streaming JSON writer: text into a bounded buffer, or in chunks to a file
 * as it is made.
 *
 * The text is made without a JSON tree: with thousands of tests a tree costs
 * several times the text in memory and most of a save's time. A member or an
 * array element starts with jw_member or jw_item (the comma when it is not
 * the first of its object or array), then one value. The first error sticks:
 * every later call does nothing, and jw_finish returns it. */
#ifndef RUNSCOPE_STORE_JW_H
#define RUNSCOPE_STORE_JW_H

#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_CHUNK (64u << 10) /* a file gets the text this often */

struct jw {
  struct buf *out;  /* the text, or the chunk not yet handed on */
  struct buf chunk; /* out for a file */
  size_t start;     /* out->len before the writing (jw_to_buf) */
  int fd;           /* >= 0: the chunks go to fd */
  size_t max;       /* the most bytes fd may receive */
  size_t flushed;   /* bytes written to fd */
  bool first;       /* the next member is the first of its object or array */
  int rc;           /* 0, or the first error */
  bool io_error;    /* rc is a write to fd that failed */
};

/* Starts writing: appended to out (bounded by out's maximum); or to the
 * open file fd (at most max bytes, else -EMSGSIZE; fd stays the caller's).
 * Each is ended by jw_finish. */
void jw_to_buf(struct jw *w, struct buf *out);
void jw_to_fd(struct jw *w, int fd, size_t max);

/* Ends the writing: hands the rest to the file and frees the
 * chunk. Returns 0 or the first error (-EMSGSIZE, -ENOMEM, -EINVAL from
 * jw_fail, or a write's negative errno with io_error set); on error a
 * buffer is left as it was before the writing. */
int jw_finish(struct jw *w);

/* Records an error (the first one sticks): the text is not valid. */
void jw_fail(struct jw *w, int rc);

/* Appends n bytes as they are. */
void jw_raw(struct jw *w, const char *s, size_t n);

/* Starts a member: the comma when needed, then quoted, the name as written
 * with its quotes and colon ("\"name\":", quoted_len bytes). */
void jw_member(struct jw *w, const char *quoted, size_t quoted_len);

/* Starts an array element: the comma when needed. */
void jw_item(struct jw *w);

/* Opens an object ('{') or an array ('['); jw_close closes it ('}', ']'). */
void jw_open(struct jw *w, char bracket);
void jw_close(struct jw *w, char bracket);

/* Values. A string is escaped as JSON needs; a number is written with the
 * fewest digits (15 to 17) that read back as the same double, and as null
 * when it is not finite (JSON has no NaN). */
void jw_string(struct jw *w, const char *s);
void jw_num(struct jw *w, double d);
void jw_long(struct jw *w, long v);
void jw_bool(struct jw *w, bool v);

#endif
