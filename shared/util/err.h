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

/* Sets the message to text with each of secrets[0..n) (NULL ones skipped)
 * scrubbed from the whole text first, then cut as err_set cuts: no part of
 * a secret is left at the cut, as err_scrub after a cut would leave it.
 * Without the memory to scrub, the message says so and quotes nothing. */
void err_set_scrubbed(struct err *e, const char *text,
                      const char *const *secrets, size_t n);

/* err_set_scrubbed of the text that fmt makes, whole (an answer's message
 * quoted in it is not cut before the scrub). */
void err_setf_scrubbed(struct err *e, const char *const *secrets, size_t n,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
