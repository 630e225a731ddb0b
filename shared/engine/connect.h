/* SPDX-License-Identifier: MIT */
/* The engine's connections: the HTTP clients of Runscope and xMatters. */
#ifndef RUNSCOPE_CONNECT_H
#define RUNSCOPE_CONNECT_H

#include "engine/context.h"

/* Makes e's HTTP clients and API clients from e->cfg: timeouts, parallel
 * transfers, MaxRequestsPerSecond for each API. Returns 0 or -ENOMEM (what
 * was made is released by connect_close). */
int connect_open(struct engine *e);

/* Logs (once per change, as an error) the TLS or proxy problem each API's
 * client met, e.g. "xMatters https://127.0.0.1:4431: SSL certificate
 * problem: unable to get local issuer certificate; check CACert/CAPath in
 * <XMatters>" (see http_problem). Returns -EACCES while a client has one,
 * so that a first cycle fails `collectd -T` as rejected credentials do;
 * 0 otherwise. */
int connect_report(struct engine *e);

/* Releases what connect_open made; safe on a partial or zeroed one. */
void connect_close(struct engine *e);

#endif
