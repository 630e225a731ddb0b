/* SPDX-License-Identifier: MIT */
/* A JSON reader that walks the text in place, without building a tree.
 *
 * For answers read every cycle (the tests list), where json-c's tree of
 * objects and hash tables costs more than the rest of the cycle. Strict
 * RFC 8259, depth-bounded, no allocation. It reads; it does not forgive:
 * anything it does not accept (a syntax json-c might take, an escape it
 * does not decode, a number it will not convert exactly) is an error, and
 * the caller falls back on json-c, so that both read the same values.
 *
 *   struct jscan s;
 *   jscan_init(&s, text, len, 64);
 *   if (jscan_enter(&s, '{'))
 *     while (jscan_member(&s, key, sizeof(key)))
 *       ... jscan_string(&s, ...) / jscan_number / jscan_skip ...
 *   if (jscan_end(&s) != 0) ... fall back ...
 */
#ifndef RUNSCOPE_JSCAN_H
#define RUNSCOPE_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

enum jscan_type {
  JSCAN_ERROR = 0, /* not JSON here, or an error earlier */
  JSCAN_OBJECT,
  JSCAN_ARRAY,
  JSCAN_STRING,
  JSCAN_NUMBER,
  JSCAN_TRUE,
  JSCAN_FALSE,
  JSCAN_NULL,
};

struct jscan {
  const char *p, *end;
  int depth, max_depth;
  bool failed; /* sticky: every call after an error fails */
  bool first;  /* the next member or item is the first of its container */
};

/* Starts reading text[0..len) with containers nested max_depth deep at
 * most. */
void jscan_init(struct jscan *s, const char *text, size_t len, int max_depth);

/* The type of the next value (whitespace skipped, nothing consumed). */
enum jscan_type jscan_peek(struct jscan *s);

/* Enters the object ('{') or array ('[') that comes next. False (an error)
 * when something else comes, or it would nest too deep. */
bool jscan_enter(struct jscan *s, char open);

/* In an object: reads the next member's key into key (size bytes, NUL
 * included; a longer or escaped key is an error; key NULL: the key is
 * checked, not kept, whatever its length) and the ':' after it, and
 * returns true; at the object's end consumes the '}' and returns false.
 * The member's value must be read or skipped next. */
bool jscan_member(struct jscan *s, char *key, size_t size);

/* A member's key where it lies in the text (unescaped: an escaped key is an
 * error), valid while the text is. */
struct jscan_key {
  const char *p;
  size_t len;
};

/* As jscan_member, with the key left in place instead of copied: the
 * cheaper way for a reader that compares it with the names it wants. */
bool jscan_member_at(struct jscan *s, struct jscan_key *key);

/* True when key is name (a literal, whose length the compiler knows). */
static inline bool jscan_key_is(struct jscan_key key, const char *name) {
  return key.len == strlen(name) && memcmp(key.p, name, key.len) == 0;
}

/* In an array: true when an item comes (to be read or skipped next); at
 * the array's end consumes the ']' and returns false. */
bool jscan_item(struct jscan *s);

/* Reads a string value into out, escapes decoded (\uXXXX into UTF-8;
 * a lone surrogate is an error). Returns 0, -ENAMETOOLONG when it does
 * not fit (out holds the cut, NUL-terminated, value), or -EPROTO. */
int jscan_string(struct jscan *s, char *out, size_t size);

/* Reads a number value. Returns 0 or -EPROTO (also for an integer of
 * more than 15 digits, or one that overflows a double: not converted
 * exactly the way json-c does). */
int jscan_number(struct jscan *s, double *ret);

/* Skips the next value, whatever it is (checked all the same). Returns 0
 * or -EPROTO. */
int jscan_skip(struct jscan *s);

/* Counts the items of the array that is member key of the object
 * text[0..len) (a page's "data"), stopping at stop + 1 items: what a page
 * holds, read before a parser allocates anything for it. Returns the count
 * (at most stop + 1), or -EPROTO when the scanner cannot tell (not such an
 * object, no such array, or a syntax it does not read: the parser then
 * decides). */
long jscan_count_items(const char *text, size_t len, int max_depth,
                       const char *key, size_t stop);

/* After the top-level value: 0 when only whitespace follows and no error
 * happened, else -EPROTO. */
int jscan_end(struct jscan *s);

#endif
