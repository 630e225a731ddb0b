/* SPDX-License-Identifier: MIT */
/* The project's json-c helpers: bounded parsing and liberal typed lookups.
 *
 * This is the one header besides json-c's own that names json_object; it is
 * included by the .c files of the modules that parse or build JSON (runscope,
 * xmatters, state) and by no public header. */
#ifndef RUNSCOPE_JSONX_H
#define RUNSCOPE_JSONX_H

#include "util/err.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* Parses exactly one JSON value from text[0..len) with nesting limited to
 * max_depth. On success *ret is a new root the caller releases with
 * json_object_put. Returns 0 or -EPROTO (malformed, trailing bytes, too
 * deep), with err naming the cause. */
int jsonx_parse(const char *text, size_t len, int max_depth, json_object **ret,
                struct err *err);

/* Borrowed member lookups; NULL when o is not an object, the key is absent,
 * or the value is null or of another type. */
json_object *jsonx_obj(json_object *o, const char *key);
json_object *jsonx_arr(json_object *o, const char *key);

/* The string member, or NULL (absent, null, not a string). */
const char *jsonx_str(json_object *o, const char *key);

/* Copies the string member into dst (size bytes). Returns 0; -ENOENT when
 * absent or null (dst becomes ""); -EPROTO when not a string (dst ""), and
 * -ENAMETOOLONG when it did not fit (dst truncated). */
int jsonx_copy_str(json_object *o, const char *key, char *dst, size_t size);

/* jsonx_copy_str for an id that must fit: a string member too long for dst
 * (size bytes) is -EPROTO with err saying "<where>.<key> is longer than N
 * bytes" (dst ""); absent or not a string leaves dst "" and returns 0, for
 * the caller to decide whether the id is required. */
int jsonx_copy_id(json_object *o, const char *key, char *dst, size_t size,
                  const char *where, struct err *err);

/* A number member, accepting JSON ints, doubles and numeric strings
 * ("1406061608.5"). Returns dflt when absent, null or not numeric. */
double jsonx_num(json_object *o, const char *key, double dflt);

/* As jsonx_num, for integers (a double is truncated). */
long long jsonx_int(json_object *o, const char *key, long long dflt);

/* A boolean member (JSON true/false; "true"/"false" strings); dflt otherwise.
 */
bool jsonx_bool(json_object *o, const char *key, bool dflt);

#endif
