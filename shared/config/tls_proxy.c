/* SPDX-License-Identifier: MIT */
/* The TLS and proxy options of an API block: defaults, checks, secrets. */
#define _GNU_SOURCE /* memrchr */
#include "config/config.h"
#include "util/str.h"

#include "util/url.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void cfg_tls_proxy_init(struct cfg_tls_proxy *t) {
  memset(t, 0, sizeof(*t));
  t->verify_peer = true;
  t->verify_host = true;
}

void cfg_tls_proxy_fini(struct cfg_tls_proxy *t) {
  char *plain[] = {t->ca_cert,
                   t->ca_path,
                   t->client_cert,
                   t->client_key,
                   t->client_key_pass_file,
                   t->proxy_user_file,
                   t->proxy_ca_cert,
                   t->proxy_url};
  for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
    free(plain[i]);
  /* The proxy URL may carry credentials inline. */
  str_free_secret(t->proxy);
  str_free_secret(t->client_key_pass);
  str_free_secret(t->proxy_user);
  str_free_secret(t->proxy_password);
  for (size_t i = 0; i < t->no_proxy.n; i++)
    free(t->no_proxy.v[i]);
  free(t->no_proxy.v);
  cfg_tls_proxy_init(t);
}

/* What a file or directory option should name, for the fix. */
struct path_key {
  const char *key;
  const char *what;
  bool dir;
};

static const struct path_key path_keys[] = {
    {"CACert", "a PEM file of the CA certificates to trust", false},
    {"CAPath", "a directory of CA certificates prepared with openssl rehash",
     true},
    {"ClientCert", "the PEM file of the client certificate", false},
    {"ClientKey", "the PEM file of ClientCert's private key", false},
    {"ProxyCACert", "a PEM file of the CAs of the https:// proxy", false},
};

/* The path set for path_keys[i] in t. */
static const char *path_of(const struct cfg_tls_proxy *t, size_t i) {
  const char *v[] = {t->ca_cert, t->ca_path, t->client_cert, t->client_key,
                     t->proxy_ca_cert};
  return v[i];
}

/* Checks that path exists, is readable and is a file (or a directory). */
static int check_path(const char *title, const struct path_key *k,
                      const char *path, struct err *err) {
  struct stat st;
  int mode = R_OK | (k->dir ? X_OK : 0);
  if (stat(path, &st) == 0 && k->dir != (S_ISDIR(st.st_mode) != 0)) {
    err_set(err, "%s %s \"%s\" is %s; give %s", title, k->key, path,
            k->dir ? "not a directory" : "a directory", k->what);
    return -EINVAL;
  }
  if (stat(path, &st) != 0 || access(path, mode) != 0) {
    err_set(err, "%s %s \"%s\": %s; give %s", title, k->key, path,
            err_errno_text(errno), k->what);
    return -EINVAL;
  }
  return 0;
}

static int check_paths(const char *title, const struct cfg_tls_proxy *t,
                       struct err *err) {
  for (size_t i = 0; i < sizeof(path_keys) / sizeof(path_keys[0]); i++) {
    const char *path = path_of(t, i);
    int rc = path ? check_path(title, &path_keys[i], path, err) : 0;
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* One warning at every start for each verification turned off. */
static void warn_unverified(const char *title, const struct cfg_tls_proxy *t,
                            cfg_warn_fn warn, void *warn_ctx) {
  char msg[ERR_MSG_MAX];
  if (warn != NULL && !t->verify_peer) {
    snprintf(msg, sizeof(msg),
             "%s VerifyPeer false: the server's certificate is not checked, "
             "so anyone on the path can read and change the traffic, "
             "credentials included; give the CA with CACert instead",
             title);
    warn(warn_ctx, msg);
  }
  if (warn != NULL && !t->verify_host) {
    snprintf(msg, sizeof(msg),
             "%s VerifyHost false: a certificate for any other host is "
             "accepted; use a certificate that names the host instead",
             title);
    warn(warn_ctx, msg);
  }
}

/* ClientCert, ClientKey and ClientKeyPass(File) fit together; reads the
 * pass file. */
static int finish_client(const char *title, struct cfg_tls_proxy *t,
                         cfg_warn_fn warn, void *warn_ctx, struct err *err) {
  bool pass = t->client_key_pass != NULL || t->client_key_pass_file != NULL;
  if (t->client_key != NULL && t->client_cert == NULL) {
    err_set(err, "%s ClientKey is set without ClientCert; add ClientCert",
            title);
    return -EINVAL;
  }
  if (pass && t->client_cert == NULL) {
    err_set(err,
            "%s ClientKeyPass(File) is set without ClientCert; add "
            "ClientCert and ClientKey",
            title);
    return -EINVAL;
  }
  if (t->client_key_pass != NULL && t->client_key_pass_file != NULL) {
    err_set(err,
            "%s: ClientKeyPass and ClientKeyPassFile are both set; keep "
            "one",
            title);
    return -EINVAL;
  }
  if (t->client_key_pass != NULL)
    cfg_warn_inline(warn, warn_ctx, title, "ClientKeyPass",
                    "the client key's passphrase", "it", "ClientKeyPassFile");
  if (t->client_key_pass_file == NULL)
    return 0;
  char key[64];
  snprintf(key, sizeof(key), "%s ClientKeyPassFile", title);
  return cfg_read_secret(key, t->client_key_pass_file, &t->client_key_pass,
                         warn, warn_ctx, err);
}

/* Decodes %XX escapes of s[0..n) into a new string (NULL: no memory). */
static char *percent_decode(const char *s, size_t n) {
  char *out = malloc(n + 1);
  size_t o = 0;
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
        isxdigit((unsigned char)s[i + 2])) {
      char hex[3] = {s[i + 1], s[i + 2], '\0'};
      out[o++] = (char)strtol(hex, NULL, 16);
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
  return out;
}

/* Splits "user:password" (n bytes of s) into the proxy credentials. */
static int set_credentials(struct cfg_tls_proxy *t, const char *s, size_t n,
                           bool decode) {
  const char *colon = memchr(s, ':', n);
  size_t ulen = colon ? (size_t)(colon - s) : n;
  const char *p = colon ? colon + 1 : s + n;
  size_t plen = n - (size_t)(p - s);
  str_free_secret(t->proxy_user);
  str_free_secret(t->proxy_password);
  t->proxy_user = decode ? percent_decode(s, ulen) : strndup(s, ulen);
  t->proxy_password = decode ? percent_decode(p, plen) : strndup(p, plen);
  return t->proxy_user && t->proxy_password ? 0 : -ENOMEM;
}

/* The Proxy URL's scheme is one that libcurl tunnels through. */
static int check_proxy_scheme(const char *title, const char *url,
                              struct err *err) {
  static const char *const ok[] = {"http://", "https://", "socks5h://"};
  char host[256];
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    if (strncasecmp(url, ok[i], strlen(ok[i])) == 0 &&
        url_host(url, host, sizeof(host)) == 0)
      return 0;
  /* Not the value: it may hold credentials. */
  err_set(err,
          "%s Proxy: not an http://, https:// or socks5h:// URL with a "
          "host; use e.g. http://proxy.example.com:3128 (socks5h://, not "
          "socks5://: the proxy resolves the names)",
          title);
  return -EINVAL;
}

/* Splits inline credentials off the proxy URL into t->proxy_url. */
static int split_proxy_url(const char *title, struct cfg_tls_proxy *t,
                           cfg_warn_fn warn, void *warn_ctx, struct err *err) {
  const char *auth = strstr(t->proxy, "://") + 3;
  size_t alen = strcspn(auth, "/?#");
  const char *at = memrchr(auth, '@', alen);
  free(t->proxy_url);
  if (at == NULL)
    return (t->proxy_url = strdup(t->proxy)) ? 0 : -ENOMEM;
  if (t->proxy_user_file != NULL) {
    err_set(err,
            "%s: Proxy holds credentials and ProxyUserFile is set; keep "
            "one (ProxyUserFile)",
            title);
    return -EINVAL;
  }
  size_t scheme = (size_t)(auth - t->proxy);
  size_t rest = strlen(at + 1);
  if ((t->proxy_url = malloc(scheme + rest + 1)) == NULL)
    return -ENOMEM;
  memcpy(t->proxy_url, t->proxy, scheme);
  memcpy(t->proxy_url + scheme, at + 1, rest + 1);
  cfg_warn_inline(warn, warn_ctx, title, "Proxy", "the proxy's credentials",
                  "\"user:password\"", "ProxyUserFile");
  return set_credentials(t, auth, (size_t)(at - auth), true);
}

/* ProxyUserFile: "user:password" on its first line. */
static int read_proxy_user(const char *title, struct cfg_tls_proxy *t,
                           cfg_warn_fn warn, void *warn_ctx, struct err *err) {
  char key[64];
  char *line = NULL;
  snprintf(key, sizeof(key), "%s ProxyUserFile", title);
  int rc = cfg_read_secret(key, t->proxy_user_file, &line, warn, warn_ctx, err);
  if (rc != 0)
    return rc;
  if (strchr(line, ':') == NULL) {
    err_set(err, "%s \"%s\": no ':' on the first line; write \"user:password\"",
            key, t->proxy_user_file);
    rc = -EINVAL;
  } else {
    rc = set_credentials(t, line, strlen(line), false);
  }
  str_free_secret(line);
  return rc;
}

/* Keys that only mean something with Proxy. */
static int check_proxy_alone(const char *title, const struct cfg_tls_proxy *t,
                             struct err *err) {
  const char *key = t->proxy_user_file ? "ProxyUserFile"
                    : t->proxy_ca_cert ? "ProxyCACert"
                                       : NULL;
  if (key != NULL) {
    err_set(err, "%s %s is set without Proxy; add Proxy or remove %s", title,
            key, key);
    return -EINVAL;
  }
  if (t->no_proxy.n > 0 && !t->proxy_from_environment) {
    err_set(err,
            "%s NoProxy is set without Proxy; add Proxy (or "
            "ProxyFromEnvironment true)",
            title);
    return -EINVAL;
  }
  return 0;
}

static int finish_proxy(const char *title, struct cfg_tls_proxy *t,
                        cfg_warn_fn warn, void *warn_ctx, struct err *err) {
  if (t->proxy == NULL)
    return check_proxy_alone(title, t, err);
  if (t->proxy_from_environment) {
    err_set(err,
            "%s: Proxy and ProxyFromEnvironment true are both set; keep "
            "one",
            title);
    return -EINVAL;
  }
  int rc = check_proxy_scheme(title, t->proxy, err);
  if (rc == 0)
    rc = split_proxy_url(title, t, warn, warn_ctx, err);
  if (rc == 0 && t->proxy_user_file != NULL)
    rc = read_proxy_user(title, t, warn, warn_ctx, err);
  if (rc == 0 && t->proxy_ca_cert != NULL &&
      strncasecmp(t->proxy_url, "https://", 8) != 0) {
    err_set(err,
            "%s ProxyCACert applies to an https:// Proxy only; remove it or "
            "use https://",
            title);
    rc = -EINVAL;
  }
  return rc;
}

int cfg_tls_proxy_finish(const char *title, struct cfg_tls_proxy *t,
                         cfg_warn_fn warn, void *warn_ctx, struct err *err) {
  int rc = check_paths(title, t, err);
  if (rc == 0)
    rc = finish_client(title, t, warn, warn_ctx, err);
  if (rc == 0)
    rc = finish_proxy(title, t, warn, warn_ctx, err);
  if (rc == 0)
    warn_unverified(title, t, warn, warn_ctx);
  if (rc == -ENOMEM)
    err_set(err, "out of memory");
  return rc == -ENOMEM ? rc : (rc != 0 ? -EINVAL : 0);
}
