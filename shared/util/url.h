/* SPDX-License-Identifier: MIT */
/* The parts of URLs that the product decides on: the host, and whether it is
 * a loopback address. */
#ifndef RUNSCOPE_UTIL_URL_H
#define RUNSCOPE_UTIL_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Copies the host of url (scheme://[user@]host[:port][/path]), without the
 * brackets of an IPv6 literal and without the port, into out. Returns 0, or
 * -EINVAL when url has no scheme or no host, or the host does not fit. */
int url_host(const char *url, char *out, size_t size);

/* True when url's host is "localhost", in 127.0.0.0/8, or ::1. */
bool url_is_loopback(const char *url);

#endif
