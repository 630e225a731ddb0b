/* SPDX-License-Identifier: MIT */
/* The state's JSON text as a stream, for saves (state_file.c). */
#ifndef RUNSCOPE_STORE_STATE_JSON_H
#define RUNSCOPE_STORE_STATE_JSON_H

#include "core/reconcile.h"
#include "store/jw.h"

/* Writes the JSON text of *st and a newline into w (state.h gives the
 * format). An invalid *st (more locations or events than fit, an unknown
 * event state) makes the writing fail with -EINVAL, which jw_finish
 * returns with w's other errors. */
void state_json_write(struct jw *w, const struct rec_state *st);

#endif
