/* SPDX-License-Identifier: MIT */
/* The TLS and proxy side of libcurl transfers: the options of an API block
 * set on a handle, and the failures they explain. */
#ifndef RUNSCOPE_NET_H
#define RUNSCOPE_NET_H

#include "config/config.h"

#include <curl/curl.h>
#include <stddef.h>

/* Sets the TLS and proxy options of t on h: CA, verification, client
 * certificate, and the proxy. Without Proxy the environment's proxy
 * variables are ignored unless ProxyFromEnvironment; with Proxy the
 * environment's no_proxy is too (no_proxy, the joined NoProxy list, or
 * NULL, replaces it). Strings are borrowed: they must outlive the
 * transfer. Returns libcurl's first error. */
CURLcode net_set_opts(CURL *h, const struct cfg_tls_proxy *t,
                      const char *no_proxy);

/* Joins the NoProxy list with commas, as CURLOPT_NOPROXY takes it. *ret is
 * the caller's to free; NULL for an empty list. Returns 0 or -ENOMEM. */
int net_join_no_proxy(const struct cfg_list *l, char **ret);

/* The options of t to look at when a transfer ended with e (and HTTP
 * status, errbuf as libcurl filled it) because of TLS or the proxy: a
 * certificate that does not verify ("CACert/CAPath"), a client
 * certificate the server rejected, a proxy that refused the credentials
 * (407, also the answer to a CONNECT), a CONNECT that failed. NULL when
 * the failure is not about these options. h is the finished handle
 * (for the CONNECT's status). The text is static. */
const char *net_hint(const struct cfg_tls_proxy *t, CURL *h, CURLcode e,
                     long status, const char *errbuf);

/* Copies the "scheme://host[:port]" of url, without credentials, path or
 * query, into out (size > 0; cut to fit). */
void net_origin(const char *url, char *out, size_t size);

#endif
