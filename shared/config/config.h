/* SPDX-License-Identifier: MIT */
/* The plugin's configuration as a plain struct: defaults, checks, secrets. */
#ifndef RUNSCOPE_CONFIG_H
#define RUNSCOPE_CONFIG_H

#include "util/err.h"

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

/* A growable list of owned strings. */
struct cfg_list {
  char **v;
  size_t n;
};

/* The longest <TrafficAlert> name, NUL included (a longer one is refused). */
#define CFG_RULE_NAME_MAX 256

/* <TrafficAlert "name"> inside <Bucket>: stored and checked here; the
 * traffic-alert stage (traffic.h) uses it. */
struct cfg_alert {
  char *name;
  struct cfg_list methods;
  char *path;                 /* POSIX extended regex, unanchored; NULL: any */
  char *host;                 /* POSIX extended regex, unanchored; NULL: any */
  int status_min, status_max; /* inclusive; 0: no bound */
  double min_alert_interval;  /* seconds; 0 turns flood control off */
  struct cfg_list recipients;
  /* path and host compiled (REG_EXTENDED | REG_NOSUB) by cfg_finish,
   * freed by cfg_fini; the flags say which are. */
  regex_t path_re, host_re;
  bool path_compiled, host_compiled;
};

/* <Bucket "key">. */
struct cfg_bucket {
  char *key;
  struct cfg_list tests;        /* ids or names; empty: all */
  struct cfg_list environments; /* ids or names; empty: all */
  struct cfg_alert *alerts;
  size_t n_alerts;
  int failure_threshold;  /* FailureThreshold; -1: the plugin's */
  int recovery_threshold; /* RecoveryThreshold; -1: the plugin's */
};

struct cfg_window; /* config/window.h: a <Maintenance> block */
/* The TLS and proxy options of an API block (<Runscope>, <XMatters>,
 * <Cluster>): set up with cfg_tls_proxy_init, checked and completed by
 * cfg_tls_proxy_finish, freed (secrets wiped) by cfg_tls_proxy_fini. */
struct cfg_tls_proxy {
  char *ca_cert;               /* CACert: a PEM file of trusted CAs */
  char *ca_path;               /* CAPath: a directory of hashed CA files */
  bool verify_peer;            /* VerifyPeer, default true */
  bool verify_host;            /* VerifyHost, default true */
  char *client_cert;           /* ClientCert: PEM */
  char *client_key;            /* ClientKey: PEM */
  char *client_key_pass;       /* ClientKeyPass (secret) */
  char *client_key_pass_file;  /* ClientKeyPassFile */
  char *proxy;                 /* Proxy: http://, https:// or socks5h:// URL */
  char *proxy_user_file;       /* ProxyUserFile: "user:password" */
  struct cfg_list no_proxy;    /* NoProxy: hosts, domains, addresses */
  char *proxy_ca_cert;         /* ProxyCACert: CAs of an https:// proxy */
  bool proxy_from_environment; /* ProxyFromEnvironment, default false */
  /* Filled by cfg_tls_proxy_finish: the proxy URL without credentials,
   * and the user and password from ProxyUserFile ("user:password") or from
   * the URL (percent-decoded), or NULL. The password is a secret. */
  char *proxy_url;
  char *proxy_user;
  char *proxy_password;
};

/* Option tables, one line per option: X(ctx, "Name", KIND, member), KIND
 * one of STRING, BOOL, SECONDS (a number >= 0), NUMBER, INT, LIST (a
 * repeatable string), member the field of the block's struct. The plugin's
 * parser (plugin/config_parse.c) and runscopectl's reader of collectd's
 * config (cli/ctl_conf.c) both expand them, so that each option is named
 * in one place. */

/* The TLS and proxy options of an API block, members of struct
 * cfg_tls_proxy. */
#define CFG_TLS_PROXY_OPTIONS(X, ctx)                                          \
  X(ctx, "CACert", STRING, ca_cert)                                            \
  X(ctx, "CAPath", STRING, ca_path)                                            \
  X(ctx, "VerifyPeer", BOOL, verify_peer)                                      \
  X(ctx, "VerifyHost", BOOL, verify_host)                                      \
  X(ctx, "ClientCert", STRING, client_cert)                                    \
  X(ctx, "ClientKey", STRING, client_key)                                      \
  X(ctx, "ClientKeyPass", STRING, client_key_pass)                             \
  X(ctx, "ClientKeyPassFile", STRING, client_key_pass_file)                    \
  X(ctx, "Proxy", STRING, proxy)                                               \
  X(ctx, "ProxyUserFile", STRING, proxy_user_file)                             \
  X(ctx, "NoProxy", LIST, no_proxy)                                            \
  X(ctx, "ProxyCACert", STRING, proxy_ca_cert)                                 \
  X(ctx, "ProxyFromEnvironment", BOOL, proxy_from_environment)

/* <Cluster>'s own options (struct cfg_cluster; its TLS and proxy options
 * are in net). */
#define CFG_CLUSTER_OPTIONS(X, ctx)                                            \
  X(ctx, "Endpoint", LIST, endpoints)                                          \
  X(ctx, "Name", STRING, name)                                                 \
  X(ctx, "LeaseTTL", SECONDS, lease_ttl)                                       \
  X(ctx, "Prefix", STRING, prefix)                                             \
  X(ctx, "User", STRING, user)                                                 \
  X(ctx, "Password", STRING, password)                                         \
  X(ctx, "PasswordFile", STRING, password_file)                                \
  X(ctx, "AllowPlainHTTP", BOOL, allow_plain_http)

/* The alert semantics' options of <Plugin runscope> (struct cfg). */
#define CFG_ALERT_OPTIONS(X, ctx)                                              \
  X(ctx, "FailureThreshold", INT, failure_threshold)                           \
  X(ctx, "RecoveryThreshold", INT, recovery_threshold)                         \
  X(ctx, "FlapDetection", BOOL, flap_detection)                                \
  X(ctx, "FlapWindow", INT, flap_window)                                       \
  X(ctx, "FlapLowThreshold", NUMBER, flap_low_threshold)                       \
  X(ctx, "FlapHighThreshold", NUMBER, flap_high_threshold)

/* Those of a <Bucket> (struct cfg_bucket). */
#define CFG_BUCKET_ALERT_OPTIONS(X, ctx)                                       \
  X(ctx, "FailureThreshold", INT, failure_threshold)                           \
  X(ctx, "RecoveryThreshold", INT, recovery_threshold)

struct cfg_runscope {
  char *base_url;
  char *token;
  char *token_file;
  double timeout;
  bool allow_plain_http;
  struct cfg_tls_proxy net; /* CACert, Proxy, ... */
};

enum cfg_mode { CFG_MODE_MANAGE = 0, CFG_MODE_FORWARD };

struct cfg_xmatters {
  char *base_url;
  char *user;
  char *password;
  char *password_file;
  char *test_results_trigger_url;
  char *live_traffic_trigger_url;
  struct cfg_list recipients;
  char *priority; /* HIGH, MEDIUM, LOW; NULL: the form's default */
  char *acknowledge_response;
  char *rerun_response;
  bool rerun_keeps_event_open; /* a rerun's result decides the event */
  int max_reruns_per_event;    /* Rerun responses acted on per event */
  enum cfg_mode mode;
  double timeout;
  bool allow_plain_http;
  struct cfg_tls_proxy net; /* CACert, Proxy, ... */
  /* narrow the sweep of open events (names or ids); NULL: every plan/form */
  char *plan;
  char *form;
};

/* <Cluster>: several agents, one pager, on etcd (engine/cluster.h). */
struct cfg_cluster {
  bool enabled; /* the block is present */
  struct cfg_list endpoints;
  char *name;       /* NULL: collectd's hostname */
  double lease_ttl; /* seconds, at least 2 */
  char *prefix;
  char *user;
  char *password;
  char *password_file;
  bool allow_plain_http;
  struct cfg_tls_proxy net; /* CACert, ClientCert, Proxy, ... */
};

/* LeaseTTL's default and least value, in seconds. */
#define CFG_LEASE_TTL_DEFAULT 10
#define CFG_LEASE_TTL_MIN 2

struct cfg {
  char *state_file;
  bool dry_run;
  char *dashboard_url;
  double interval; /* the read interval collectd gives the plugin */
  double discovery_interval;
  double max_result_age;
  double reconcile_interval;
  double max_catch_up;
  double outage_threshold;
  double pending_timeout;
  double location_window;
  double max_run_duration; /* an unfinished run older than this is given up */
  double max_response_bytes;
  int max_json_depth;
  int max_concurrent_requests;    /* Runscope reads at a time */
  double max_requests_per_second; /* per API; 0: no cap */
  /* ValuesEveryInterval: every key's values every cycle (dense series)
   * instead of once per verdict run; default false */
  bool values_every_interval;
  /* DetailedValues: the four counts of a key's run beside bool and
   * duration; default false */
  bool detailed_values;
  struct cfg_runscope runscope;
  struct cfg_xmatters xmatters;
  struct cfg_bucket *buckets;
  size_t n_buckets;
  struct cfg_cluster cluster;
  /* alert semantics (config/alerting.h checks them) */
  int failure_threshold;      /* FailureThreshold; default 1 */
  int recovery_threshold;     /* RecoveryThreshold; default 1 */
  bool flap_detection;        /* FlapDetection; default false */
  int flap_window;            /* FlapWindow, verdicts; default 21 */
  double flap_low_threshold;  /* FlapLowThreshold, percent; default 25 */
  double flap_high_threshold; /* FlapHighThreshold, percent; default 50 */
  char *maintenance_dir;      /* MaintenanceDir; NULL: none */
  struct cfg_window *windows; /* <Maintenance> blocks */
  size_t n_windows;
};

/* MaxRerunsPerEvent's default. */
#define CFG_MAX_RERUNS_DEFAULT 3

/* Sets every default (see the man page); strings are NULL. */
void cfg_init(struct cfg *c);

/* Frees everything cfg_init and the setters allocated. */
void cfg_fini(struct cfg *c);

/* Replaces *dst with a copy of src. Returns 0 or -ENOMEM. */
int cfg_set_string(char **dst, const char *src);

/* Appends a copy of s. Returns 0 or -ENOMEM. */
int cfg_list_add(struct cfg_list *l, const char *s);

/* Frees the strings of l and empties it. */
void cfg_list_fini(struct cfg_list *l);

/* True when the list is empty or holds s. */
bool cfg_list_has(const struct cfg_list *l, const char *s);

/* Appends an empty bucket with the given key; *ret points into c->buckets
 * until the next append. Returns 0 or -ENOMEM. */
int cfg_add_bucket(struct cfg *c, const char *key, struct cfg_bucket **ret);

/* Appends an empty rule named name to b. Returns 0 or -ENOMEM. */
int cfg_add_alert(struct cfg_bucket *b, const char *name,
                  struct cfg_alert **ret);

/* Called with each warning (a secret file readable by others, ...). */
typedef void (*cfg_warn_fn)(void *ctx, const char *msg);

/* Completes and checks a parsed config: reads TokenFile and PasswordFile
 * (warning through warn when group- or world-readable), checks URLs
 * (http:// only for loopback hosts unless AllowPlainHTTP), required keys,
 * ranges, the mode and the traffic-alert rules. Returns 0 or -EINVAL with
 * err naming the key and the fix, e.g. "<Runscope> TokenFile
 * \"/etc/x\": No such file or directory". */
int cfg_finish(struct cfg *c, cfg_warn_fn warn, void *warn_ctx,
               struct err *err);

/* Completes and checks <Cluster> when present (c->enabled): Prefix's
 * default, the endpoints (as cfg_check_url), LeaseTTL, Name, the TLS and
 * proxy options (cfg_tls_proxy_finish) and User with PasswordFile (read,
 * warning through warn when group- or world-readable) or Password. Name
 * keeps NULL when not set (the caller's default). Returns 0, -ENOMEM or
 * -EINVAL with err naming the key and the fix. */
int cfg_cluster_finish(struct cfg_cluster *c, cfg_warn_fn warn, void *warn_ctx,
                       struct err *err);

/* Checks that url is http(s) and that plain http goes to a loopback host
 * unless allow_plain_http. key names the option in the message. Returns 0 or
 * -EINVAL. */
int cfg_check_url(const char *key, const char *url, bool allow_plain_http,
                  struct err *err);

/* Checks a trigger URL that Runscope's API gave (a test's detail) before
 * the plugin POSTs to it: cfg_check_url's rule with <Runscope>
 * AllowPlainHTTP, and a Runscope host: runscope.com, a host under it
 * (*.runscope.com), or the host of <Runscope> BaseURL. what names the URL in
 * the message. Returns 0 or -EINVAL (err says why; it shows the host, never
 * the URL). */
int cfg_check_trigger_url(const struct cfg_runscope *r, const char *what,
                          const char *url, struct err *err);

/* Warns through warn (NULL: no-op) that title's key holds what (a secret)
 * inline, where whoever reads the config reads it: "<Runscope> Token holds
 * the API token inline; put it on the first line of a file of mode 0600
 * and name that file with TokenFile" (put: what the file is to hold). */
void cfg_warn_inline(cfg_warn_fn warn, void *warn_ctx, const char *title,
                     const char *key, const char *what, const char *put,
                     const char *file_key);

/* Reads a secret from path: the first line, without the line end; an empty
 * secret is an error. *ret is the caller's to free. Warns when the file is
 * group- or world-readable. Returns 0, -EINVAL (empty, or a first line
 * longer than 4094 bytes) or a negative errno from open/read, err naming key
 * and path. */
int cfg_read_secret(const char *key, const char *path, char **ret,
                    cfg_warn_fn warn, void *warn_ctx, struct err *err);

/* Sets the defaults of the TLS and proxy options (VerifyPeer and
 * VerifyHost true, everything else unset). */
void cfg_tls_proxy_init(struct cfg_tls_proxy *t);

/* Frees what the options hold, wiping the secrets first; t is then as
 * cfg_tls_proxy_init left it. */
void cfg_tls_proxy_fini(struct cfg_tls_proxy *t);

/* Checks and completes the TLS and proxy options of the block named title
 * ("<XMatters>"): the files and directories exist and are readable, the
 * proxy URL's scheme is http, https or socks5h, ClientKeyPass(File) and
 * Proxy credentials come from one place; reads ClientKeyPassFile and
 * ProxyUserFile (warning when group- or world-readable), splits inline
 * credentials off the proxy URL (with a warning). Warns at every start
 * when VerifyPeer or VerifyHost is off. Returns 0, -ENOMEM or -EINVAL with
 * err naming the key and the fix. */
int cfg_tls_proxy_finish(const char *title, struct cfg_tls_proxy *t,
                         cfg_warn_fn warn, void *warn_ctx, struct err *err);

#endif
