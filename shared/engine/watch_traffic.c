/* SPDX-License-Identifier: MIT */
/* The stage that watches captured traffic for the live traffic alerts.
 *
 * It reads the Errors stream of every watched bucket that has
 * <TrafficAlert> rules, applies the rules (traffic.h), and sends an FYI
 * event per match that flood control lets through, on
 * LiveTrafficTriggerURL; with a notification per event and values per
 * rule.
 *
 * Restart safety, as for the events of failing tests: before a trigger goes
 * out, the state file records the message as handled, the rule's new flood
 * window and the message in `sending`; after the answer `sending` is
 * cleared. A message is therefore alerted at most once across restarts. A
 * crash between the save and the answer leaves `sending` set: the next
 * start logs that this one event may not have gone out, and does not send
 * it again (an FYI event carries no key the plugin could look it up by, so
 * sending it again could page twice). An explicit refusal (any HTTP error
 * status) created nothing: the match joins the rule's held-back matches and
 * is reported by its next event, so no match is lost to an outage. */
#include "engine/watch_traffic.h"

#include "core/report.h"
#include "core/traffic.h"
#include "engine/event_ops.h"
#include "util/clock.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A rule's name in a type instance: "traffic_suppressed-" and it fit
 * collectd's 127 bytes. */
#define RULE_NAME_MAX (REPORT_NAME_MAX - 20)

/* The rule's name for collectd: as it is when made of [A-Za-z0-9_.-] and
 * short enough, else sanitized, cut and followed by "-" and 8 hex digits
 * of a hash of the name (so that "5xx errors" and "5xx/errors" differ). */
static void rule_name(const char *rule, char out[RULE_NAME_MAX]) {
  size_t n = report_sanitize(rule, out, RULE_NAME_MAX);
  if (strcmp(out, rule) == 0)
    return;
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)rule; *p; p++)
    h = (h ^ *p) * 16777619u;
  if (n > RULE_NAME_MAX - 10)
    n = RULE_NAME_MAX - 10;
  snprintf(out + n, RULE_NAME_MAX - n, "-%08x", (unsigned)h);
}

/* The event a match (or a flush of held matches) is about to send. */
struct tr_send {
  const struct cfg_alert *rule;
  struct tr_rule_state *state;
  struct tr_rule_state before; /* flood control before the decision */
  struct tr_held report;       /* the held matches the event reports */
};

/* Links into the Runscope dashboard: the bucket's Traffic Inspector stream
 * (DashboardURL/stream/KEY, the page public clients link a bucket to), and
 * a message in it. The dashboard's own path of one message is not
 * documented anywhere we know; DashboardURL/stream/KEY/messages/UUID
 * mirrors the API's path of the message, and the stream link is there for
 * when it does not resolve. */
static void stream_url(const struct engine *e, const char *bucket_key,
                       char *out, size_t size) {
  snprintf(out, size, "%s/stream/%s", e->cfg->dashboard_url, bucket_key);
}

static void message_url(const struct engine *e, const char *bucket_key,
                        const char *uuid, char *out, size_t size) {
  if (uuid[0] == '\0') {
    str_copy(out, size, "");
    return;
  }
  snprintf(out, size, "%s/stream/%s/messages/%s", e->cfg->dashboard_url,
           bucket_key, uuid);
}

/* Everything an event and its notification say. */
struct tr_view {
  const char *bucket_key, *bucket_name, *rule;
  const struct rs_message *m; /* NULL: a report of held matches only */
  const struct tr_held *held;
  char summary[1536];
  char message_time[32], first_held[32], last_held[32];
  char message_url[RS_URL_MAX + 256], stream_url[RS_URL_MAX + 64];
  char held_url[RS_URL_MAX + 256];
};

static void view_init(struct engine *e, struct tr_view *v,
                      const char *bucket_key, const char *rule,
                      const struct rs_message *m, const struct tr_held *held) {
  const struct cat_bucket *b = cat_bucket_find(&e->cat, bucket_key);
  v->bucket_key = bucket_key;
  v->bucket_name = b && b->info.name[0] ? b->info.name : bucket_key;
  v->rule = rule;
  v->m = m;
  v->held = held;
  clock_iso8601(m ? m->timestamp : 0, v->message_time, sizeof(v->message_time));
  clock_iso8601(held->count ? held->first_at : 0, v->first_held,
                sizeof(v->first_held));
  clock_iso8601(held->count ? held->last_at : 0, v->last_held,
                sizeof(v->last_held));
  message_url(e, bucket_key, m ? m->uuid : "", v->message_url,
              sizeof(v->message_url));
  message_url(e, bucket_key, held->count ? held->last_uuid : "", v->held_url,
              sizeof(v->held_url));
  stream_url(e, bucket_key, v->stream_url, sizeof(v->stream_url));
  if (m != NULL)
    snprintf(v->summary, sizeof(v->summary),
             "Runscope captured-traffic error matched rule \"%s\" in bucket "
             "\"%s\": %s %s%.400s %d%s",
             rule, v->bucket_name, m->method, m->host, m->path, m->status,
             held->count ? " (and earlier matches held back)" : "");
  else
    snprintf(v->summary, sizeof(v->summary),
             "Runscope captured-traffic errors matched rule \"%s\" in bucket "
             "\"%s\" %ld more times from %s to %s (held back by flood "
             "control)",
             rule, v->bucket_name, held->count, v->first_held, v->last_held);
}

#define TEXT(n, v)                                                             \
  { .name = (n), .type = XM_PROP_TEXT, .text = (v) }
#define NUMBER(n, v)                                                           \
  { .name = (n), .type = XM_PROP_NUMBER, .number = (double)(v) }

/* Sends the FYI event of view v. Returns the trigger's errno. */
static int trigger(struct engine *e, const struct cfg_alert *rule,
                   const struct tr_view *v, char *request_id, size_t size,
                   struct err *err) {
  const struct rs_message *m = v->m;
  const struct xm_prop props[] = {
      TEXT("summary", v->summary),
      TEXT("alert_type", m ? "match" : "held_back"),
      TEXT("rule_name", v->rule),
      TEXT("bucket_key", v->bucket_key),
      TEXT("bucket_name", v->bucket_name),
      TEXT("method", m ? m->method : ""),
      TEXT("host", m ? m->host : ""),
      TEXT("path", m ? m->path : ""),
      NUMBER("status", m ? m->status : 0),
      TEXT("message_time", v->message_time),
      TEXT("message_uuid", m ? m->uuid : ""),
      TEXT("message_url", v->message_url),
      TEXT("stream_url", v->stream_url),
      NUMBER("suppressed_matches", v->held->count),
      TEXT("first_suppressed_at", v->first_held),
      TEXT("last_suppressed_at", v->last_held),
      TEXT("last_suppressed_message_uuid",
           v->held->count ? v->held->last_uuid : ""),
      TEXT("last_suppressed_message_url", v->held_url),
      TEXT("collectd_host", e->hostname),
  };
  const struct cfg_xmatters *x = &e->cfg->xmatters;
  const struct cfg_list *to =
      rule->recipients.n > 0 ? &rule->recipients : &x->recipients;
  struct xm_trigger_req req = {
      .props = props,
      .n_props = sizeof(props) / sizeof(props[0]),
      .recipients = (const char *const *)to->v,
      .n_recipients = to->n,
  };
  return xm_trigger(e->xm, x->live_traffic_trigger_url, &req, request_id, size,
                    err);
}

/* A WARNING notification for an event that went out (or would have, in
 * DryRun). */
static void notify(struct engine *e, const struct tr_view *v,
                   const char *request_id) {
  char instance[REPORT_NAME_MAX], rule[RULE_NAME_MAX];
  char type_instance[REPORT_NAME_MAX];
  char msg[3072], status[16], count[24];
  report_bucket_instance(v->bucket_key, instance);
  rule_name(v->rule, rule);
  snprintf(type_instance, sizeof(type_instance), "traffic_events-%s", rule);
  snprintf(msg, sizeof(msg), "%s. %s", v->summary,
           v->m ? v->message_url : v->stream_url);
  snprintf(status, sizeof(status), "%d", v->m ? v->m->status : 0);
  snprintf(count, sizeof(count), "%ld", v->held->count);
  const struct engine_meta meta[] = {
      {"rule_name", v->rule},
      {"bucket_key", v->bucket_key},
      {"message_uuid", v->m ? v->m->uuid : ""},
      {"message_url", v->message_url},
      {"method", v->m ? v->m->method : ""},
      {"host", v->m ? v->m->host : ""},
      {"path", v->m ? v->m->path : ""},
      {"status", status},
      {"suppressed_matches", count},
      {"xmatters_request_id", request_id},
  };
  struct say_about about = {instance, "derive", type_instance};
  say_notify(&e->say, ENGINE_WARNING, &about, msg, meta,
             sizeof(meta) / sizeof(meta[0]));
}

/* True when the trigger's answer says that nothing was created (any HTTP
 * error status), so the match may be reported again without paging twice. */
static bool not_created(int rc) {
  return xm_create_outcome(rc) == XM_NOT_CREATED;
}

/* Puts back what the refused event was to report, and the match itself. */
static void unsend(struct tr_send *s, const struct rs_message *m) {
  struct tr_rule_state *r = s->state;
  r->last_sent = s->before.last_sent;
  r->held = s->before.held;
  if (m != NULL) {
    tr_flood_hold(r, m->uuid, m->timestamp);
    r->suppressed++;
  }
}

/* Sends one event whose write-ahead mark has been saved; m is NULL for a
 * report of held matches. */
static void send_one(struct engine *e, const char *bucket_key,
                     struct tr_send *s, const struct rs_message *m,
                     double now) {
  struct tr_view v;
  char request_id[XM_ID_MAX] = "";
  struct err err = {{0}};
  view_init(e, &v, bucket_key, s->rule->name, m, &s->report);
  int rc = 0;
  if (e->cfg->dry_run)
    say_log(&e->say, ENGINE_LOG_NOTICE,
            "DryRun: would create an FYI event: %s.", v.summary);
  else if (!health_xm_usable(&e->health))
    rc = -EAGAIN; /* not tried: xMatters is out for this cycle */
  else if (!event_ops_may_act(e))
    rc = -EAGAIN; /* not tried: the cluster's lease ran out */
  else
    rc = trigger(e, s->rule, &v, request_id, sizeof(request_id), &err);
  s->state->sending[0] = '\0';
  if (rc != 0 && not_created(rc)) {
    unsend(s, m);
    if (err.msg[0] != '\0')
      health_xm_failed(&e->health, rc, &err, now);
    return;
  }
  if (rc != 0) {
    health_xm_failed(&e->health, rc, &err, now);
    say_log(&e->say, ENGINE_LOG_WARNING,
            "The FYI event of rule \"%s\" in bucket %s may have been "
            "created (no readable answer); it is not sent again.",
            s->rule->name, bucket_key);
  } else if (!e->cfg->dry_run) {
    health_up(&e->health.xm);
    say_log(&e->say, ENGINE_LOG_INFO, "Created an FYI event, requestId %s: %s.",
            request_id[0] ? request_id : "(none)", v.summary);
  }
  s->state->events++;
  notify(e, &v, request_id);
}

/* ---- one message ---- */

/* Reads the message's detail when a rule needs a field the list item
 * lacks. Returns 0, or the errno of an outage (the message is left for the
 * next cycle). Other errors (a message gone since) leave the list's fields:
 * the rules that needed more do not match. */
static int complete(struct engine *e, const struct cat_bucket *b,
                    struct rs_message *m, double now) {
  if (!tr_needs_detail(b->cfg, m))
    return 0;
  struct rs_message d;
  struct err err = {{0}};
  int rc = rs_get_message(e->rs, b->info.key, m->uuid, &d, &err);
  if (rc != 0) {
    if (health_failed(&e->health, &e->health.rs, rc, &err, now))
      return rc;
    return 0;
  }
  health_up(&e->health.rs);
  tr_merge(m, &d);
  return 0;
}

/* Decides, for every rule that matches m, whether its event goes out now;
 * fills sends[] (room for every rule) and returns how many. */
static size_t decide(struct engine *e, const struct cat_bucket *b,
                     const struct rs_message *m, struct tr_send *sends,
                     double now) {
  size_t n = 0;
  for (size_t i = 0; i < b->cfg->n_alerts; i++) {
    const struct cfg_alert *a = &b->cfg->alerts[i];
    struct tr_rule_state *r;
    if (tr_eval(a, m) != TR_MATCH ||
        tr_rule_get(&e->state.traffic, b->info.key, a->name, &r) != 0)
      continue;
    r->matches++;
    struct tr_send *s = &sends[n];
    s->rule = a;
    s->state = r;
    s->before = *r;
    if (tr_flood_match(r, a->min_alert_interval, now, m->uuid, m->timestamp,
                       &s->report) == TR_HOLD) {
      r->suppressed++;
      continue;
    }
    str_copy(r->sending, sizeof(r->sending), m->uuid);
    n++;
  }
  return n;
}

/* Handles one new message. Returns 0, or the errno of a Runscope outage
 * (the message is then left for the next cycle). */
static int handle(struct engine *e, const struct cat_bucket *b,
                  struct tr_bucket_state *bs, struct rs_message *m,
                  struct tr_send *sends, double now) {
  int rc = complete(e, b, m, now);
  if (rc != 0)
    return rc;
  size_t n = decide(e, b, m, sends, now);
  if (tr_seen_add(bs, m->uuid, m->timestamp) != 0)
    say_log(&e->say, ENGINE_LOG_ERR, "Out of memory remembering message %s.",
            m->uuid);
  if (n > 0) /* write-ahead: handled, and being sent */
    persist_save(&e->persist, &e->state, now);
  for (size_t i = 0; i < n; i++)
    send_one(e, b->info.key, &sends[i], m, now);
  return 0;
}

/* ---- one bucket ---- */

/* Reads the bucket's new errors and handles them, oldest first. Returns 0
 * or the errno of a Runscope outage. */
static int poll_bucket(struct engine *e, const struct cat_bucket *b,
                       double now) {
  struct tr_bucket_state *bs;
  if (tr_bucket_get(&e->state.traffic, b->info.key, now - e->cfg->max_catch_up,
                    &bs) != 0)
    return -ENOMEM;
  struct rs_message *msgs = NULL;
  size_t n = 0;
  bool truncated = false;
  struct err err = {{0}};
  int rc = rs_list_errors(e->rs, b->info.key, bs->since, &msgs, &n, &truncated,
                          &err);
  if (rc != 0) {
    health_failed(&e->health, &e->health.rs, rc, &err, now);
    return rc;
  }
  health_up(&e->health.rs);
  if (truncated)
    say_log(&e->say, ENGINE_LOG_WARNING,
            "More than %d captured-traffic errors in bucket %s since the last "
            "read: the older ones are not checked against the rules.",
            RS_MESSAGES_MAX, b->info.key);
  struct tr_send *sends = calloc(b->cfg->n_alerts, sizeof(*sends));
  double newest = 0;
  for (size_t i = 0; sends != NULL && rc == 0 && i < n; i++) {
    if (tr_seen_has(bs, msgs[i].uuid) || msgs[i].timestamp <= bs->since)
      continue;
    rc = handle(e, b, bs, &msgs[i], sends, now);
    if (rc == 0 && msgs[i].timestamp > newest)
      newest = msgs[i].timestamp;
  }
  if (sends == NULL)
    rc = -ENOMEM;
  tr_cursor_advance(bs, newest);
  free(sends);
  free(msgs);
  return rc;
}

/* ---- the stage ---- */

/* Once per start: forgets what the config no longer has rules for, and
 * says which events a crash may have cut short. */
static void traffic_start(struct engine *e) {
  long dropped = tr_retain(&e->state.traffic, e->cfg);
  if (dropped > 0)
    say_log(&e->say, ENGINE_LOG_WARNING,
            "Forgot %ld held-back traffic-alert matches of rules that are no "
            "longer configured.",
            dropped);
  for (size_t i = 0; i < e->state.traffic.n_rules; i++) {
    struct tr_rule_state *r = e->state.traffic.rules[i];
    if (r->sending[0] == '\0')
      continue;
    say_log(&e->say, ENGINE_LOG_WARNING,
            "The FYI event of rule \"%s\" in bucket %s for message %s may not "
            "have been created: collectd stopped while sending it. It is not "
            "sent again.",
            r->rule, r->bucket_key,
            strcmp(r->sending, TR_FLUSH_UUID) ? r->sending : "(held matches)");
    r->sending[0] = '\0';
  }
}

/* Sends, for every rule whose window closed with matches held back, an
 * event that reports them (whether or not Runscope can be read now). */
static void flush(struct engine *e, double now) {
  for (size_t i = 0; i < e->cfg->n_buckets; i++) {
    const struct cfg_bucket *b = &e->cfg->buckets[i];
    for (size_t j = 0; j < b->n_alerts; j++) {
      const struct cfg_alert *a = &b->alerts[j];
      struct tr_rule_state *r =
          tr_rule_find(&e->state.traffic, b->key, a->name);
      struct tr_send s = {.rule = a, .state = r};
      if (r == NULL || !health_xm_usable(&e->health))
        continue;
      s.before = *r;
      if (!tr_flood_due(r, a->min_alert_interval, now, &s.report))
        continue;
      str_copy(r->sending, sizeof(r->sending), TR_FLUSH_UUID);
      persist_save(&e->persist, &e->state, now);
      send_one(e, b->key, &s, NULL, now);
    }
  }
}

static void value(struct engine *e, const char *instance, const char *what,
                  const char rule[RULE_NAME_MAX], uint64_t v) {
  char type_instance[REPORT_NAME_MAX];
  snprintf(type_instance, sizeof(type_instance), "%s-%s", what, rule);
  struct say_about about = {instance, "derive", type_instance};
  say_value(&e->say, &about, ENGINE_DERIVE, (double)v);
}

/* Per rule: matches, events sent, matches held back (counted since the
 * plugin started). */
static void report(struct engine *e) {
  for (size_t i = 0; i < e->cfg->n_buckets; i++) {
    const struct cfg_bucket *b = &e->cfg->buckets[i];
    char instance[REPORT_NAME_MAX], rule[RULE_NAME_MAX];
    report_bucket_instance(b->key, instance);
    for (size_t j = 0; j < b->n_alerts; j++) {
      struct tr_rule_state *r;
      if (tr_rule_get(&e->state.traffic, b->key, b->alerts[j].name, &r) != 0)
        continue;
      rule_name(r->rule, rule);
      value(e, instance, "traffic_matches", rule, r->matches);
      value(e, instance, "traffic_events", rule, r->events);
      value(e, instance, "traffic_suppressed", rule, r->suppressed);
    }
  }
}

void watch_traffic(struct engine *e, double now) {
  if (!e->traffic_started) {
    traffic_start(e);
    e->traffic_started = true;
  }
  for (size_t i = 0; e->cat.loaded && i < e->cat.n_buckets; i++) {
    const struct cat_bucket *b = &e->cat.buckets[i];
    if (b->cfg == NULL || b->cfg->n_alerts == 0 ||
        health_waiting(&e->health.rs, now))
      continue;
    int rc = poll_bucket(e, b, now);
    if (rc != 0 && health_is_outage(rc))
      break;
  }
  flush(e, now);
  report(e);
}
