/* SPDX-License-Identifier: MIT */
/* runscopectl: the runscope plugin's state and silences from the shell
 * (runscopectl(1)). */
#include "ctl.h"
#include "ctl_conf.h"
#include "ctl_etcd.h"
#include "ctl_silence.h"
#include "ctl_status.h"
#include "ctl_windows.h"
#include "engine/alerting.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifndef RUNSCOPECTL_CONF
#define RUNSCOPECTL_CONF "/etc/collectd/collectd.conf"
#endif
#ifndef RUNSCOPECTL_SNIPPET
#define RUNSCOPECTL_SNIPPET "/etc/collectd/collectd.conf.d/runscope.conf"
#endif
#ifndef RUNSCOPECTL_STATE_FILE
#define RUNSCOPECTL_STATE_FILE "/var/lib/collectd/runscope/state.json"
#endif
#ifndef RUNSCOPE_VERSION
#define RUNSCOPE_VERSION "unknown"
#endif

static const char usage_text[] =
    "usage: runscopectl [-c CONF] [-s STATEFILE] [-m DIR] COMMAND ...\n"
    "\n"
    "  status [--json] [KEY|TEST|BUCKET ...]\n"
    "      when each API last answered, the leader (with a <Cluster>), and\n"
    "      per key: verdict and streaks per location, flapping, open event\n"
    "      and since when, silences that apply now; from the state file,\n"
    "      or in a cluster from the leader's state in etcd unless -s FILE\n"
    "  leader [--json]\n"
    "      the agent that leads the cluster, and its lease's seconds left\n"
    "  silence --bucket B [--test T] [--environment E]\n"
    "          (--for 2h | --until TIME) [--start TIME] [--reason TEXT]\n"
    "          [--name NAME]\n"
    "      writes a maintenance window file into MaintenanceDir, prints "
    "its name\n"
    "  silences [--json]\n"
    "      lists the window files: active, future, expired, bad\n"
    "  unsilence NAME ...\n"
    "      removes window files\n"
    "\n"
    "  -c CONF   collectd's config, read for the runscope plugin's StateFile\n"
    "            and MaintenanceDir (default " RUNSCOPECTL_CONF ",\n"
    "            else " RUNSCOPECTL_SNIPPET ")\n"
    "  -s FILE   the state file (--state; default: StateFile, else\n"
    "            " RUNSCOPECTL_STATE_FILE ")\n"
    "  -m DIR    the MaintenanceDir (--maintenance-dir)\n"
    "\n"
    "Exit status: 0 done, 1 failed (leader: no agent leads), 2 bad\n"
    "arguments, 3 the configuration lacks what the command needs, 4 etcd\n"
    "could not be asked. See runscopectl(1).\n";

/* A command: its name, the options it takes, whether it takes operands,
 * and whether it works on the MaintenanceDir. */
struct command {
  const char *name;
  unsigned opts;
  bool operands;
  bool needs_dir;
};

static const struct command commands[] = {
    {"status", CTL_OPT_JSON, true, false},
    {"silence",
     CTL_OPT_BUCKET | CTL_OPT_TEST | CTL_OPT_ENVIRONMENT | CTL_OPT_FOR |
         CTL_OPT_UNTIL | CTL_OPT_START | CTL_OPT_REASON | CTL_OPT_NAME,
     false, true},
    {"silences", CTL_OPT_JSON, false, true},
    {"unsilence", 0, true, true},
    {"leader", CTL_OPT_JSON, false, false},
};

enum { OPT_LONG_ONLY = 256 };

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"state", required_argument, NULL, 's'},
    {"maintenance-dir", required_argument, NULL, 'm'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"json", no_argument, NULL, OPT_LONG_ONLY + 0},
    {"bucket", required_argument, NULL, OPT_LONG_ONLY + 1},
    {"test", required_argument, NULL, OPT_LONG_ONLY + 2},
    {"environment", required_argument, NULL, OPT_LONG_ONLY + 3},
    {"for", required_argument, NULL, OPT_LONG_ONLY + 4},
    {"until", required_argument, NULL, OPT_LONG_ONLY + 5},
    {"start", required_argument, NULL, OPT_LONG_ONLY + 6},
    {"reason", required_argument, NULL, OPT_LONG_ONLY + 7},
    {"name", required_argument, NULL, OPT_LONG_ONLY + 8},
    {NULL, 0, NULL, 0},
};

/* A command option (--json ... --name) into a. */
static void take_long(struct ctl_args *a, int i) {
  const char **slot[] = {NULL,     &a->bucket, &a->test,  &a->environment,
                         &a->for_, &a->until,  &a->start, &a->reason,
                         &a->name};
  a->given |= 1u << i;
  if (slot[i] != NULL)
    *slot[i] = optarg;
}

/* Reads the options into a; returns -1 to go on, or an exit code. */
static int parse_options(int argc, char **argv, struct ctl_args *a) {
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":c:s:m:hV", long_opts, NULL)) != -1) {
    if (c == 'c')
      a->conf = optarg;
    else if (c == 's')
      a->state_file = optarg;
    else if (c == 'm')
      a->maint_dir = optarg;
    else if (c == 'h')
      return fputs(usage_text, stdout) < 0 ? CTL_FAIL : CTL_OK;
    else if (c == 'V')
      return printf("runscopectl %s\n", RUNSCOPE_VERSION) < 0 ? CTL_FAIL
                                                              : CTL_OK;
    else if (c >= OPT_LONG_ONLY)
      take_long(a, c - OPT_LONG_ONLY);
    else if (c == ':')
      return ctl_fail(CTL_USAGE, "%s needs a value (runscopectl --help)",
                      argv[optind - 1]);
    else
      return ctl_fail(CTL_USAGE, "unknown option %s (runscopectl --help)",
                      argv[optind - 1]);
  }
  return -1;
}

/* The name of the first option of given that cmd does not take. */
static const char *foreign_option(unsigned given, const struct command *cmd) {
  for (int i = 0; long_opts[i].name != NULL; i++)
    if (long_opts[i].val >= OPT_LONG_ONLY) {
      unsigned bit = 1u << (long_opts[i].val - OPT_LONG_ONLY);
      if ((given & bit) && !(cmd->opts & bit))
        return long_opts[i].name;
    }
  return NULL;
}

/* The command named by the first operand, checked against the options. */
static int find_command(struct ctl_args *a, const struct command **ret) {
  if (a->n_operands == 0) {
    fputs(usage_text, stderr);
    return CTL_USAGE;
  }
  const char *name = a->operands[0];
  a->operands++;
  a->n_operands--;
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(commands[i].name, name) != 0)
      continue;
    const char *bad = foreign_option(a->given, &commands[i]);
    if (bad != NULL)
      return ctl_fail(CTL_USAGE, "%s does not take --%s", name, bad);
    if (!commands[i].operands && a->n_operands > 0)
      return ctl_fail(CTL_USAGE, "%s: unexpected argument %s", name,
                      a->operands[0]);
    *ret = &commands[i];
    return CTL_OK;
  }
  return ctl_fail(CTL_USAGE,
                  "unknown command %s: status, leader, silence, silences "
                  "or unsilence (runscopectl --help)",
                  name);
}

/* Reads collectd's config (-c CONF, else the default, else the package's
 * snippet; none installed is no error) into conf. With -s and -m (and no
 * -c), a config that cannot be read is only a warning: those paths are
 * given, and the thresholds and flap options keep their defaults. */
static int read_conf(const struct ctl_args *a, bool spared,
                     struct ctl_conf *conf, struct ctl_paths *p) {
  const char *path = a->conf != NULL ? a->conf : RUNSCOPECTL_CONF;
  struct err err = {{0}};
  int rc = ctl_conf_read(path, conf, &err);
  if (rc == -ENOENT && a->conf == NULL) {
    /* collectd's own config is not installed: the package's snippet */
    path = RUNSCOPECTL_SNIPPET;
    rc = ctl_conf_read(path, conf, &err);
  }
  if (rc == 0)
    p->conf = path;
  if (rc == 0 || (rc == -ENOENT && a->conf == NULL))
    return CTL_OK;
  if (!spared)
    return ctl_fail(CTL_CONFIG,
                    "reading collectd's config: %s (fix it, give another "
                    "with -c CONF, or give -s FILE and -m DIR)",
                    err.msg);
  fprintf(stderr,
          "runscopectl: warning: reading collectd's config: %s; going on "
          "with -s and -m, and the defaults of the thresholds\n",
          err.msg);
  ctl_conf_fini(conf);
  ctl_conf_init(conf);
  return CTL_OK;
}

/* The config read into conf, then the paths: the options first, then the
 * config, then the packaged defaults. */
static int resolve_paths(const struct ctl_args *a, const struct command *cmd,
                         struct ctl_conf *conf, struct ctl_paths *p) {
  bool spared = a->conf == NULL && a->state_file != NULL &&
                a->maint_dir != NULL && strcmp(cmd->name, "leader") != 0;
  int code = read_conf(a, spared, conf, p);
  if (code != CTL_OK)
    return code;
  p->state_file = a->state_file      ? a->state_file
                  : conf->state_file ? conf->state_file
                                     : RUNSCOPECTL_STATE_FILE;
  p->maint_dir = a->maint_dir ? a->maint_dir : conf->maint_dir;
  return CTL_OK;
}

/* Checks that the MaintenanceDir is set and is a directory. */
static int check_dir(const struct ctl_paths *p, const struct ctl_conf *conf) {
  if (p->maint_dir == NULL && p->conf == NULL)
    return ctl_fail(CTL_CONFIG,
                    "no MaintenanceDir: there is no config at %s nor %s; "
                    "give the runscope plugin's MaintenanceDir with -m DIR, "
                    "or collectd's config with -c CONF",
                    RUNSCOPECTL_CONF, RUNSCOPECTL_SNIPPET);
  if (p->maint_dir == NULL)
    return ctl_fail(CTL_CONFIG,
                    "MaintenanceDir is not set in <Plugin runscope> of %s%s: "
                    "add MaintenanceDir \"DIR\" there (and restart "
                    "collectd), or give the directory with -m DIR",
                    p->conf,
                    conf->found_plugin ? "" : " (it has no such block)");
  struct stat sb;
  if (stat(p->maint_dir, &sb) != 0) {
    int e = errno;
    return ctl_fail(CTL_FAIL, "MaintenanceDir %s: %s%s", p->maint_dir,
                    err_errno_text(e),
                    e == ENOENT ? ": create it (install -d -m 0755 DIR) or "
                                  "fix MaintenanceDir"
                                : "");
  }
  if (!S_ISDIR(sb.st_mode))
    return ctl_fail(CTL_FAIL, "MaintenanceDir %s is not a directory",
                    p->maint_dir);
  return CTL_OK;
}

/* The config's windows and those of the MaintenanceDir, if any, into
 * *ret (the caller frees it; it borrows from conf and files). */
static int gather_windows(const struct ctl_paths *p,
                          const struct ctl_conf *conf, double now,
                          struct ctl_wfiles *files,
                          const struct cfg_window ***ret, size_t *ret_n) {
  struct err err = {{0}};
  if (p->maint_dir != NULL &&
      ctl_wfiles_load(p->maint_dir, now, files, &err) != 0)
    fprintf(stderr, "runscopectl: warning: %s: silences not shown\n", err.msg);
  size_t n = 0;
  const struct cfg_window **windows =
      calloc(conf->n_windows + files->n + 1, sizeof(*windows));
  if (windows == NULL)
    return ctl_fail(CTL_FAIL, "out of memory");
  for (size_t i = 0; i < conf->n_windows; i++)
    windows[n++] = &conf->windows[i];
  for (size_t i = 0; i < files->n; i++)
    if (!files->v[i].bad)
      windows[n++] = &files->v[i].w;
  *ret = windows;
  *ret_n = n;
  return CTL_OK;
}

/* In a cluster: the leader, and the leader's state from etcd unless a
 * state file was given (-s), into o's source and *st. Without -s, etcd
 * must answer; with it, a failure to name the leader is a warning. */
static int cluster_state(const struct ctl_args *a, struct ctl_etcd *e,
                         struct ctl_leader *leader, struct rec_state *st,
                         struct ctl_source *src) {
  struct err err = {{0}};
  src->cluster = e->cfg;
  src->state_prefix = e->state_prefix;
  if (ctl_etcd_leader(e, leader, &err) == 0)
    src->leader = leader;
  else if (a->state_file == NULL)
    return ctl_etcd_fail(e, "reading the leader key", &err);
  else
    fprintf(stderr, "runscopectl: warning: the leader is not known: %s\n",
            err.msg);
  if (a->state_file != NULL)
    return ctl_status_load_file(a->state_file, st);
  int rc = ctl_etcd_state(e, 64, st, &err);
  if (rc == -ENOENT)
    return ctl_fail(CTL_FAIL,
                    "etcd holds no state under %s yet: the leader writes it "
                    "at its first cycle; is a runscope plugin with this "
                    "<Cluster> Prefix leading? (-s FILE reads a state file)",
                    e->state_prefix);
  if (rc == -EBADMSG)
    return ctl_fail(CTL_FAIL,
                    "the state in etcd is not one the plugin wrote: "
                    "%s",
                    err.msg);
  return rc == 0 ? CTL_OK : ctl_etcd_fail(e, "reading the state", &err);
}

/* The state and where it came from: the leader's in etcd in a cluster
 * (unless -s), else the state file. */
static int load_status(const struct ctl_args *a, const struct ctl_paths *p,
                       struct ctl_conf *conf, struct ctl_etcd *e,
                       struct ctl_leader *leader, struct rec_state *st,
                       struct ctl_source *src) {
  if (!conf->cfg.cluster.enabled) {
    src->state_file = p->state_file;
    return ctl_status_load_file(p->state_file, st);
  }
  int code = ctl_etcd_open(&conf->cfg, e);
  src->state_file = a->state_file;
  return code == CTL_OK ? cluster_state(a, e, leader, st, src) : code;
}

/* status: the state with the thresholds, flap options and windows of the
 * config. */
static int run_status(const struct ctl_args *a, const struct ctl_paths *p,
                      struct ctl_conf *conf, double now) {
  struct ctl_wfiles files = {0};
  struct ctl_etcd e = {0};
  struct ctl_leader leader;
  struct rec_state st;
  struct rec_bucket_opts *buckets = NULL;
  struct ctl_status_opts o = {.json = (a->given & CTL_OPT_JSON) != 0,
                              .filters = a->operands,
                              .n_filters = a->n_operands,
                              .now = now};
  struct rec_opts rec;
  rec_opts_default(&rec);
  rec_state_init(&st);
  const struct cfg_window **windows = NULL;
  int code = gather_windows(p, conf, now, &files, &windows, &o.n_windows);
  if (code == CTL_OK && alerting_rec_opts(&conf->cfg, &rec, &buckets) != 0)
    code = ctl_fail(CTL_FAIL, "out of memory");
  if (code == CTL_OK)
    code = load_status(a, p, conf, &e, &leader, &st, &o.source);
  o.windows = windows;
  o.rec = &rec;
  if (code == CTL_OK)
    code = ctl_status(&st, &o);
  rec_state_fini(&st);
  ctl_etcd_close(&e);
  free(buckets);
  free(windows);
  ctl_wfiles_fini(&files);
  return code;
}

/* leader: the leader key's holder, and its lease's seconds left. */
static int run_leader(const struct ctl_args *a, struct ctl_conf *conf) {
  struct ctl_etcd e;
  struct ctl_leader l;
  struct err err = {{0}};
  int code = ctl_etcd_open(&conf->cfg, &e);
  if (code == CTL_OK && ctl_etcd_leader(&e, &l, &err) != 0)
    code = ctl_etcd_fail(&e, "reading the leader key", &err);
  if (code == CTL_OK)
    code = ctl_leader_print(&l, e.leader_key, (a->given & CTL_OPT_JSON) != 0);
  if (code == CTL_OK && l.name[0] == '\0')
    code = CTL_FAIL; /* nobody leads: etcd answered, but no leader */
  ctl_etcd_close(&e);
  return code;
}

static int run(const struct command *cmd, const struct ctl_args *a,
               const struct ctl_paths *p, struct ctl_conf *conf) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  if (strcmp(cmd->name, "status") == 0)
    return run_status(a, p, conf, now);
  if (strcmp(cmd->name, "leader") == 0)
    return run_leader(a, conf);
  int code = check_dir(p, conf);
  if (code != CTL_OK)
    return code;
  if (strcmp(cmd->name, "silence") == 0)
    return ctl_cmd_silence(a, p->maint_dir, now);
  if (strcmp(cmd->name, "silences") == 0)
    return ctl_cmd_silences(a, p->maint_dir, now);
  return ctl_cmd_unsilence(a, p->maint_dir, now);
}

int main(int argc, char **argv) {
  struct ctl_args a;
  memset(&a, 0, sizeof(a));
  int code = parse_options(argc, argv, &a);
  if (code >= 0)
    return code;
  a.operands = argv + optind;
  a.n_operands = (size_t)(argc - optind);
  const struct command *cmd = NULL;
  code = find_command(&a, &cmd);
  if (code != CTL_OK)
    return code;
  struct ctl_conf conf;
  struct ctl_paths paths = {0};
  ctl_conf_init(&conf);
  code = resolve_paths(&a, cmd, &conf, &paths);
  if (code == CTL_OK)
    code = run(cmd, &a, &paths, &conf);
  ctl_conf_fini(&conf);
  return code;
}
