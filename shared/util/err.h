/* SPDX-License-Identifier: MIT */
/* Error messages that name the step, the object and the cause. */
#ifndef RUNSCOPE_UTIL_ERR_H
#define RUNSCOPE_UTIL_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 512

/* A message for the caller to log once, e.g.
 * "Runscope API: GET /buckets/abc/tests: HTTP 503". Functions that take a
 * struct err * accept NULL and then keep the message to themselves. */
struct err {
  char msg[ERR_MSG_MAX];
};

/* Sets the message (truncated to ERR_MSG_MAX - 1 bytes, marked with "..."). */
void err_set(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends context ("step: ") to the message already set. */
void err_prefix(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The description of errno value errnum (positive), as strerror gives it
 * but safe in any thread: "No such file or directory"; an unknown value
 * gives "unknown error". The text is static. */
const char *err_errno_text(int errnum);

/* Clears the message. */
void err_clear(struct err *e);

/* Replaces every occurrence of secret in the message with "REDACTED", for
 * messages that may quote an answer or a URL. Secrets shorter than
 * ERR_SCRUB_MIN bytes are left alone: they would mangle ordinary words and
 * protect little. NULL e or secret is a no-op. */
#define ERR_SCRUB_MIN 4
void err_scrub(struct err *e, const char *secret);

#endif
