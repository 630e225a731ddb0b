/* SPDX-License-Identifier: MIT */
/* The stage that watches captured traffic for the live traffic alerts. */
#ifndef RUNSCOPE_WATCH_TRAFFIC_H
#define RUNSCOPE_WATCH_TRAFFIC_H

#include "engine/context.h"

/* Reads the Errors stream of the watched buckets that have <TrafficAlert>
 * rules, sends the FYI events of their matches (with flood control), and
 * dispatches the rules' values and notifications. */
void watch_traffic(struct engine *e, double now);

#endif
