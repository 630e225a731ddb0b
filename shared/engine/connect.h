/* SPDX-License-Identifier: MIT */
/* The engine's connections: the HTTP clients of Runscope and xMatters. */
#ifndef RUNSCOPE_CONNECT_H
#define RUNSCOPE_CONNECT_H

#include "engine/context.h"

/* Makes e's HTTP clients and API clients from e->cfg: timeouts, parallel
 * transfers, MaxRequestsPerSecond for each API. Returns 0 or -ENOMEM (what
 * was made is released by connect_close). */
int connect_open(struct engine *e);

/* Releases what connect_open made; safe on a partial or zeroed one. */
void connect_close(struct engine *e);

#endif
