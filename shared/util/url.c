/* SPDX-License-Identifier: MIT */
/* URL hosts and loopback addresses. */
#include "util/url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

int url_host(const char *url, char *out, size_t size) {
  const char *p = strstr(url, "://");
  if (p == NULL)
    return -EINVAL;
  p += 3;
  size_t auth_end = strcspn(p, "/?#");
  const char *at = memchr(p, '@', auth_end);
  if (at != NULL) {
    auth_end -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  size_t n;
  if (*p == '[') {
    p++;
    n = strcspn(p, "]");
  } else {
    n = strcspn(p, ":/?#");
  }
  if (n == 0 || n >= size || n > auth_end)
    return -EINVAL;
  memcpy(out, p, n);
  out[n] = '\0';
  return 0;
}

bool url_is_loopback(const char *url) {
  char host[256];
  if (url_host(url, host, sizeof(host)) != 0)
    return false;
  if (strcasecmp(host, "localhost") == 0)
    return true;
  struct in_addr v4;
  if (inet_pton(AF_INET, host, &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  struct in6_addr v6;
  return inet_pton(AF_INET6, host, &v6) == 1 &&
         memcmp(&v6, &in6addr_loopback, sizeof(v6)) == 0;
}
