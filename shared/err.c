/* Error messages that name the step, the object and the cause. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
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
  size_t n = secret ? strlen(secret) : 0;
  if (e == NULL || n < ERR_SCRUB_MIN || strstr(e->msg, secret) == NULL)
    return;
  char out[ERR_MSG_MAX];
  size_t o = 0;
  for (const char *p = e->msg; *p != '\0' && o < sizeof(out) - 1;) {
    if (strncmp(p, secret, n) == 0) {
      int w = snprintf(out + o, sizeof(out) - o, "REDACTED");
      o += (size_t)w < sizeof(out) - o ? (size_t)w : sizeof(out) - 1 - o;
      p += n;
    } else {
      out[o++] = *p++;
    }
  }
  out[o] = '\0';
  memcpy(e->msg, out, o + 1);
}
