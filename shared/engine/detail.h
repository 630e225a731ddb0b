/* SPDX-License-Identifier: MIT */
/* A test's detail read when a stage needs it now (a Rerun's trigger URL). */
#ifndef RUNSCOPE_DETAIL_H
#define RUNSCOPE_DETAIL_H

#include "engine/context.h"

/* Reads the detail of test test_id of bucket bucket_key into the catalog
 * when it was never read or is older than DiscoveryInterval (a cold start
 * reads no detail a test does not need: cat_detail_needed), so that its
 * trigger URL is at hand. A test the catalog does not hold is left alone.
 * Returns 0 when the detail is current (or there is no such test), else
 * the errno of the read (logged and counted; the caller tries again in a
 * later cycle). */
int detail_ensure(struct engine *e, const char *bucket_key, const char *test_id,
                  double now);

#endif
