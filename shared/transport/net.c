/* SPDX-License-Identifier: MIT */
/* The TLS and proxy side of libcurl transfers: options and failures. */
#include "transport/net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Sets one libcurl option unless an earlier one failed (as http.c). */
#define NET_SETOPT(h, opt, val, e)                                             \
  do {                                                                         \
    if (*(e) == CURLE_OK)                                                      \
      *(e) = curl_easy_setopt((h), (opt), (val));                              \
  } while (0)

/* CA, verification and the client certificate. */
static CURLcode set_tls_opts(CURL *h, const struct cfg_tls_proxy *t) {
  CURLcode e = CURLE_OK;
  NET_SETOPT(h, CURLOPT_SSL_VERIFYPEER, t->verify_peer ? 1L : 0L, &e);
  NET_SETOPT(h, CURLOPT_SSL_VERIFYHOST, t->verify_host ? 2L : 0L, &e);
  if (t->ca_cert != NULL)
    NET_SETOPT(h, CURLOPT_CAINFO, t->ca_cert, &e);
  if (t->ca_path != NULL)
    NET_SETOPT(h, CURLOPT_CAPATH, t->ca_path, &e);
  if (t->client_cert != NULL)
    NET_SETOPT(h, CURLOPT_SSLCERT, t->client_cert, &e);
  if (t->client_key != NULL)
    NET_SETOPT(h, CURLOPT_SSLKEY, t->client_key, &e);
  if (t->client_key_pass != NULL)
    NET_SETOPT(h, CURLOPT_KEYPASSWD, t->client_key_pass, &e);
  return e;
}

/* The proxy, its credentials and its CA; no proxy at all without one. */
static CURLcode set_proxy_opts(CURL *h, const struct cfg_tls_proxy *t,
                               const char *no_proxy) {
  CURLcode e = CURLE_OK;
  if (t->proxy_from_environment) {
    if (no_proxy != NULL)
      NET_SETOPT(h, CURLOPT_NOPROXY, no_proxy, &e);
    return e;
  }
  /* "" turns off the environment's http_proxy, https_proxy, all_proxy. */
  NET_SETOPT(h, CURLOPT_PROXY, t->proxy_url ? t->proxy_url : "", &e);
  if (t->proxy_url == NULL)
    return e;
  /* Set even when empty: libcurl would otherwise read the environment's
   * no_proxy, and "*" there would bypass the configured proxy. */
  NET_SETOPT(h, CURLOPT_NOPROXY, no_proxy ? no_proxy : "", &e);
  if (t->proxy_user != NULL) {
    NET_SETOPT(h, CURLOPT_PROXYUSERNAME, t->proxy_user, &e);
    NET_SETOPT(h, CURLOPT_PROXYPASSWORD,
               t->proxy_password ? t->proxy_password : "", &e);
  }
  if (t->proxy_ca_cert != NULL)
    NET_SETOPT(h, CURLOPT_PROXY_CAINFO, t->proxy_ca_cert, &e);
  NET_SETOPT(h, CURLOPT_PROXY_SSL_VERIFYPEER, t->verify_peer ? 1L : 0L, &e);
  NET_SETOPT(h, CURLOPT_PROXY_SSL_VERIFYHOST, t->verify_host ? 2L : 0L, &e);
  return e;
}

CURLcode net_set_opts(CURL *h, const struct cfg_tls_proxy *t,
                      const char *no_proxy) {
  CURLcode e = set_tls_opts(h, t);
  return e == CURLE_OK ? set_proxy_opts(h, t, no_proxy) : e;
}

int net_join_no_proxy(const struct cfg_list *l, char **ret) {
  size_t len = 0;
  *ret = NULL;
  if (l->n == 0)
    return 0;
  for (size_t i = 0; i < l->n; i++)
    len += strlen(l->v[i]) + 1;
  char *s = malloc(len);
  if (s == NULL)
    return -ENOMEM;
  size_t used = 0;
  for (size_t i = 0; i < l->n; i++) {
    size_t n = strlen(l->v[i]);
    memcpy(s + used, l->v[i], n);
    used += n;
    s[used++] = ',';
  }
  s[used - 1] = '\0'; /* the last comma */
  *ret = s;
  return 0;
}

/* True when libcurl's message names a TLS alert about a certificate: the
 * server refused the client certificate, or wanted one it did not get. */
static bool is_certificate_alert(const char *errbuf) {
  return strstr(errbuf, "alert") != NULL &&
         (strstr(errbuf, "certificate") != NULL ||
          strstr(errbuf, "unknown ca") != NULL);
}

/* The status the proxy gave a CONNECT (0: none was made). */
static long connect_status(CURL *h) {
  long code = 0;
  if (curl_easy_getinfo(h, CURLINFO_HTTP_CONNECTCODE, &code) != CURLE_OK)
    return 0;
  return code;
}

/* Hints for the failures a proxy causes, or NULL. */
static const char *proxy_hint(CURL *h, CURLcode e, long status) {
  long code = e != CURLE_OK ? connect_status(h) : 0;
  /* 407, or 401 to a CONNECT (tinyproxy's answer to a wrong password) */
  if (status == 407 || code == 407 || code == 401)
    return "ProxyUserFile (the proxy's user and password)";
  if (code != 0 && (code < 200 || code > 299))
    return "Proxy and NoProxy (the proxy must allow a CONNECT to this host "
           "and port)";
  if (e == CURLE_COULDNT_RESOLVE_PROXY)
    return "Proxy";
#if LIBCURL_VERSION_NUM >= 0x074900 /* 7.73.0: CURLE_PROXY */
  if (e == CURLE_PROXY)
    return "Proxy (the SOCKS proxy refused)";
#endif
  return NULL;
}

const char *net_hint(const struct cfg_tls_proxy *t, CURL *h, CURLcode e,
                     long status, const char *errbuf) {
  const char *hint = proxy_hint(h, e, status);
  if (hint != NULL || e == CURLE_OK)
    return hint;
  bool https_proxy =
      t->proxy_url != NULL && strncasecmp(t->proxy_url, "https://", 8) == 0;
  switch (e) {
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
    return https_proxy ? "CACert/CAPath (ProxyCACert for the proxy's own "
                         "certificate)"
                       : "CACert/CAPath";
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_ENGINE_INITFAILED:
    return "ClientCert/ClientKey/ClientKeyPass";
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
    return is_certificate_alert(errbuf)
               ? "ClientCert/ClientKey (the server wants a client "
                 "certificate it trusts)"
               : NULL;
  default:
    return NULL;
  }
}

void net_origin(const char *url, char *out, size_t size) {
  const char *sep = strstr(url, "://");
  const char *auth = sep ? sep + 3 : url;
  size_t alen = strcspn(auth, "/?#");
  const char *at = NULL;
  for (size_t i = 0; i < alen; i++)
    if (auth[i] == '@')
      at = auth + i;
  size_t scheme = sep ? (size_t)(auth - url) : 0;
  const char *host = at ? at + 1 : auth;
  size_t hlen = alen - (size_t)(host - auth);
  if (scheme >= size)
    scheme = size - 1;
  memcpy(out, url, scheme);
  if (hlen > size - 1 - scheme)
    hlen = size - 1 - scheme;
  memcpy(out + scheme, host, hlen);
  out[scheme + hlen] = '\0';
}
