/* SPDX-License-Identifier: MIT */
/* Error messages that name the step, the object and the cause. */
#define _GNU_SOURCE /* strerrordesc_np */
#include "util/err.h"
#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mark_truncated(struct err *e, int written) {
  if (written >= (int)sizeof(e->msg))
    memcpy(e->msg + sizeof(e->msg) - 4, "...", 4);
}

void err_set(struct err *e, const char *fmt, ...) {
  if (e == NULL)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
  va_end(ap);
  mark_truncated(e, n);
}

void err_prefix(struct err *e, const char *fmt, ...) {
  if (e == NULL)
    return;
  char prefix[ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof(prefix), fmt, ap);
  va_end(ap);
  char old[ERR_MSG_MAX];
  memcpy(old, e->msg, sizeof(old));
  int n = snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
  mark_truncated(e, n);
}

void err_clear(struct err *e) {
  if (e != NULL)
    e->msg[0] = '\0';
}

void err_scrub(struct err *e, const char *secret) {
  if (e == NULL)
    return;
  char out[ERR_MSG_MAX];
  str_scrub(out, sizeof(out), e->msg, secret);
  memcpy(e->msg, out, strlen(out) + 1);
}

void err_set_scrubbed(struct err *e, const char *text,
                      const char *const *secrets, size_t n) {
  if (e == NULL)
    return;
  char *cur = str_scrub_all(text, secrets, n);
  if (cur == NULL) {
    err_set(e, "(an error message, withheld: out of memory to scrub it)");
    return;
  }
  err_set(e, "%s", cur);
  free(cur);
}

void err_setf_scrubbed(struct err *e, const char *const *secrets, size_t n,
                       const char *fmt, ...) {
  char *text = NULL;
  va_list ap;
  va_start(ap, fmt);
  int rc = vasprintf(&text, fmt, ap);
  va_end(ap);
  if (rc < 0) {
    err_set(e, "(an error message, withheld: out of memory to scrub it)");
    return;
  }
  err_set_scrubbed(e, text, secrets, n);
  free(text);
}

const char *err_errno_text(int errnum) {
  const char *text = strerrordesc_np(errnum);
  return text != NULL ? text : "unknown error";
}
