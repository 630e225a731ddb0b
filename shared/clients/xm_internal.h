/* SPDX-License-Identifier: MIT */
/* What the xMatters client's two halves share: the JSON side (xm_answers.c)
 * offers these to the HTTP side (xm_requests.c). Not for other modules. */
#ifndef RUNSCOPE_XM_INTERNAL_H
#define RUNSCOPE_XM_INTERNAL_H

#include "clients/xmatters.h"
#include "util/buf.h"
#include "util/err.h"

#include <stddef.h>

/* Parses the answer of GET /api/xm/1/events/{id} into ret (zeroed first).
 * Returns 0, or -EPROTO (not JSON, too deep, an id too long, or not an
 * object with an id) with err naming the cause. */
int xm_parse_event(const char *body, size_t len, int max_depth,
                   struct xm_event *ret, struct err *err);

/* A short description of an error answer's body for a message, written
 * into buf (size > 0): "reason: message" from the JSON shapes xMatters uses
 * ({"code","reason","message"}, {"message","details"},
 * {"error","error_description"}), or a cleaned-up snippet of a body that is
 * not JSON. Returns buf, or NULL when the body says nothing useful. */
const char *xm_error_text(const char *body, size_t len, int max_depth,
                          char *buf, size_t size);

/* Appends the terminate body {"id": event_id, "status": "TERMINATED"} to
 * out. Returns 0, -ENOMEM or -EMSGSIZE. */
int xm_build_terminate_body(const char *event_id, struct buf *out);

#endif
