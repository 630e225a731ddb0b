/* SPDX-License-Identifier: MIT */
/* <Plugin runscope> (collectd's oconfig tree) -> struct cfg. */
#ifndef RUNSCOPE_PLUGIN_CONFIG_PARSE_H
#define RUNSCOPE_PLUGIN_CONFIG_PARSE_H

#include "collectd/liboconfig/oconfig.h"
#include "config/config.h"
#include "util/err.h"

/* Parses the children of <Plugin runscope> into c (initialised by the
 * caller with cfg_init). Keys are matched case-insensitively, as collectd
 * does. Returns 0, or -EINVAL with err naming the key, its block and the fix
 * (unknown keys are errors), or -ENOMEM. */
int cfgp_parse(const oconfig_item_t *ci, struct cfg *c, struct err *err);

#endif
