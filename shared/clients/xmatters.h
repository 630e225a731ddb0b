/* SPDX-License-Identifier: MIT */
/* xMatters client: trigger events, find active events, terminate them,
 * read the responses to them (calls in xm_requests.c, JSON in
 * xm_answers.c). */
#ifndef RUNSCOPE_XMATTERS_H
#define RUNSCOPE_XMATTERS_H

#include "transport/http.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>

#define XM_ID_MAX 80   /* event UUIDs, requestIds; longer is -EPROTO */
#define XM_KEY_MAX 256 /* runscope_key values */

/* The property that ties an event to a key <bucket>/<test>/<environment>. */
#define XM_KEY_PROPERTY "runscope_key"

/* An event as the events list shows it. */
struct xm_event {
  char id[XM_ID_MAX];         /* UUID */
  char event_id[32];          /* the numeric id, as text */
  char status[24];            /* ACTIVE, SUSPENDED, TERMINATED, ... */
  char request_id[XM_ID_MAX]; /* "" when absent */
  /* the runscope_key property ("runscope_key#en" accepted), "" when the
   * list did not carry properties */
  char runscope_key[XM_KEY_MAX];
};

enum xm_prop_type { XM_PROP_TEXT, XM_PROP_NUMBER };

/* One event property. */
struct xm_prop {
  const char *name;
  enum xm_prop_type type;
  const char *text; /* XM_PROP_TEXT */
  double number;    /* XM_PROP_NUMBER, sent as a JSON integer when whole */
};

/* What to trigger. Every pointer is borrowed for the call. */
struct xm_trigger_req {
  const struct xm_prop *props;
  size_t n_props;
  const char *const *recipients; /* ids, sent as {"id": ...}; may be 0 */
  size_t n_recipients;
  const char *priority; /* "HIGH", "MEDIUM", "LOW", or NULL to leave out */
  /* response options to offer; NULL leaves them to the form (FYI events) */
  const char *acknowledge_text; /* e.g. "Acknowledge" */
  const char *rerun_text;       /* e.g. "Rerun" */
};

struct xm_client;

/* Creates a client that sends through http (borrowed). base_url is the
 * instance ("https://example.xmatters.com"); user and password are the REST
 * web service user's Basic credentials (NULL: none). Strings are copied.
 * Returns NULL when memory runs out. */
struct xm_client *xm_new(struct http_client *http, const char *base_url,
                         const char *user, const char *password,
                         int max_json_depth);

/* Frees the client; NULL is a no-op. */
void xm_free(struct xm_client *c);

/* The calls below return 0, or a negative errno with err naming the call
 * and the cause (trigger URLs are logged with apiKey redacted):
 *   -EACCES     401 or 403
 *   -ENOENT     404
 *   -EAGAIN     429 or 5xx: nothing was done, retry later
 *   -EINVAL     another 4xx: nothing was done, the request is wrong
 *   -EPROTO     an answer that is not the documented shape
 *   and the transport errors of http_do (see http_maybe_sent). */

/* POSTs the trigger body to trigger_url (an inbound integration or flow
 * HTTP trigger, authenticated by its own apiKey, or else by the client's
 * Basic credentials). On 2xx copies the requestId into ret_request_id. Two
 * answers leave the event in doubt (it may have been created):
 *   -EREMOTEIO  502, 503 or 504 (a gateway's answer, maybe after xMatters
 *               accepted the event)
 *   -EPROTO     a 2xx whose body is not JSON with a requestId
 * xm_create_outcome says what each return code means. */
int xm_trigger(struct xm_client *c, const char *trigger_url,
               const struct xm_trigger_req *req, char *ret_request_id,
               size_t size, struct err *err);

/* What the return code of xm_trigger (or xm_post_json) says about the
 * event. */
enum xm_create_outcome {
  XM_CREATED,       /* 0: accepted (the requestId may be "") */
  XM_NOT_CREATED,   /* an explicit refusal (401, 403, 404, another 4xx, 429,
                       500 and the other 5xx of xMatters itself) or a
                       request that was never sent: retry later */
  XM_MAYBE_CREATED, /* the answer was lost (http_maybe_sent), a gateway's
                       502/503/504 (-EREMOTEIO), a 2xx without a requestId
                       or another kind (-EPROTO): look for the event (by key
                       and requestId, for PendingTimeout) before resending */
};

/* Maps rc from xm_trigger or xm_post_json to what it means for the event:
 * the one rule for every caller that creates events. */
enum xm_create_outcome xm_create_outcome(int rc);

/* POSTs body[0..len) (JSON, prepared by the caller) to trigger_url,
 * authenticated and answered as xm_trigger: the same statuses give the same
 * errors, but any 2xx is 0 and copies the requestId ("" if none) into
 * ret_request_id. For forward mode, whose body is Runscope's webhook
 * payload. */
int xm_post_json(struct xm_client *c, const char *trigger_url, const char *body,
                 size_t len, char *ret_request_id, size_t size,
                 struct err *err);

/* The key's open events: GET /api/xm/1/events?status=ACTIVE,SUSPENDED&
 * embed=properties&propertyValueOperator=EQUALS&propertyName=runscope_key&
 * propertyValue=KEY, following links.next (on a 400, once per status,
 * merged). *ret (caller frees) holds the events whose runscope_key property
 * is key; those without it, or with another, are left out. */
int xm_find_active(struct xm_client *c, const char *key, struct xm_event **ret,
                   size_t *ret_n, struct err *err);

/* GET /api/xm/1/events?requestId=ID, following links.next: the events one
 * trigger created, whatever their status. */
int xm_find_by_request(struct xm_client *c, const char *request_id,
                       struct xm_event **ret, size_t *ret_n, struct err *err);

/* What narrows xm_list_active: a plan and a form (xMatters' plan= and
 * form= filters), each a name or an id; NULL or "" for any. */
struct xm_scope {
  const char *plan;
  const char *form;
};

/* GET /api/xm/1/events?status=ACTIVE,SUSPENDED&embed=properties[&plan=P]
 * [&form=F], following links.next (on a 400, once per status, merged): the
 * open events that carry a runscope_key property (the others are left
 * out). For adopting events the state does not know. scope may be NULL.
 * A list longer than XM_SWEEP_PAGES_MAX pages is cut there: 0, with what
 * was read and *ret_capped set (false otherwise). */
int xm_list_active(struct xm_client *c, const struct xm_scope *scope,
                   struct xm_event **ret, size_t *ret_n, bool *ret_capped,
                   struct err *err);

/* How many pages of 100 events xm_list_active reads at most; every other
 * list of more pages is -EPROTO (a bound against loops). */
#define XM_SWEEP_PAGES_MAX 100

/* Reads one page of one active event: 0 when the REST credentials are
 * accepted, -EACCES when not (or another error of the calls above). */
int xm_check_credentials(struct xm_client *c, struct err *err);

/* POST /api/xm/1/events {"id": ID, "status": "TERMINATED"}. -ENOENT when
 * the event does not exist. */
int xm_terminate(struct xm_client *c, const char *event_id, struct err *err);

/* GET /api/xm/1/events/{id}: the event (status, and its runscope_key
 * property when it has one) into *ret. -ENOENT when xMatters does not know
 * it. */
int xm_get_event(struct xm_client *c, const char *event_id,
                 struct xm_event *ret, struct err *err);

#define XM_USER_MAX 256 /* a responder's name or id; longer is cut */
#define XM_TEXT_MAX 256 /* a response text; longer is cut */

/* One user's delivery of an event, from user-deliveries: who, and the last
 * response that user gave (xmatters-api.md 5.1). */
struct xm_delivery {
  char event_id[XM_ID_MAX]; /* data[].event.id; "" when absent */
  char event_number[32];    /* data[].event.eventId; "" when absent */
  char user[XM_USER_MAX];   /* person (or recipient) targetName, else id */
  char text[XM_TEXT_MAX];   /* response.text; "" when no response (yet) */
  double received;          /* response.received, Unix seconds; 0 when
                               absent or not understood */
};

/* GET /api/xm/1/events/{id}/user-deliveries?at=NOW&limit=100 (now in
 * ISO-8601 UTC: the endpoint reads the historical store), following
 * links.next. *ret (caller frees; never NULL on success) holds one item per
 * user the event reached, in the answer's order. */
int xm_user_deliveries(struct xm_client *c, const char *event_id, double now,
                       struct xm_delivery **ret, size_t *ret_n,
                       struct err *err);

/* Seconds the last answer asked to wait (Retry-After), or -1. */
double xm_retry_after(const struct xm_client *c);

/* Builders and parsers behind the calls, for unit tests. */

/* Appends the trigger body (properties, recipients, priority,
 * responseOptions) as JSON to out. Returns 0, -ENOMEM or -EMSGSIZE. */
int xm_build_trigger_body(const struct xm_trigger_req *req, struct buf *out);

/* Parses an events page: appends its events to *ret and *ret_n (growing the
 * array, caller frees) and copies links.next into next ("" when absent).
 * Returns 0, -EPROTO or -ENOMEM. */
int xm_parse_events_page(const char *body, size_t len, int max_depth,
                         struct xm_event **ret, size_t *ret_n, char *next,
                         size_t next_size, struct err *err);

/* Parses a trigger answer's requestId into ret (size bytes). */
int xm_parse_request_id(const char *body, size_t len, int max_depth, char *ret,
                        size_t size, struct err *err);

/* Parses a user-deliveries page: appends its items to *ret and *ret_n
 * (growing the array, caller frees) and copies links.next into next (""
 * when absent). Items that are not objects are skipped; an event id longer
 * than XM_ID_MAX is -EPROTO; a missing person, response or received leaves
 * its fields empty. Returns 0, -EPROTO or -ENOMEM. */
int xm_parse_deliveries_page(const char *body, size_t len, int max_depth,
                             struct xm_delivery **ret, size_t *ret_n,
                             char *next, size_t next_size, struct err *err);

#endif
