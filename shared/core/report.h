/* SPDX-License-Identifier: MIT */
/* Names and texts of values and notifications, from Runscope names: pure.
 *
 * collectd identifiers made from Runscope names, sanitized, bounded to
 * collectd's fields and unique per key, and the messages of notifications. */
#ifndef RUNSCOPE_CORE_REPORT_H
#define RUNSCOPE_CORE_REPORT_H

#include <stddef.h>

/* collectd's identifier fields (plugin_instance, type_instance) hold 127
 * bytes and a NUL (DATA_MAX_NAME_LEN). */
#define REPORT_NAME_MAX 128

/* collectd's notification message holds 255 bytes and a NUL
 * (NOTIF_MAX_MSG_LEN). */
#define REPORT_MESSAGE_MAX 256

/* A key's name, "<test>-<environment>", leaves room in the type instance
 * for "-" and the longest value suffix ("requests_executed"). */
#define REPORT_SUFFIX_MAX 18
#define REPORT_KEY_NAME_MAX (REPORT_NAME_MAX - REPORT_SUFFIX_MAX)

/* Hex digits of the hash that marks a shortened or ambiguous name. */
#define REPORT_HASH_DIGITS 8

/* Copies src into out (size > 0) with every run of bytes outside
 * [A-Za-z0-9_.-] replaced by one '_', and none of those '_' at either end:
 * "Checkout API" -> "Checkout_API", "Café/Zürich" -> "Caf_Z_rich",
 * "/health/" -> "health". Cuts the result to size - 1 bytes. Returns its
 * length. */
size_t report_sanitize(const char *src, char *out, size_t size);

/* One key of a bucket: its display names (NULL or "" when unknown) and
 * its ids. Strings are borrowed. */
struct report_key {
  const char *test_name;
  const char *env_name;
  const char *test_id;
  const char *env_id;
};

/* Names the n keys of one bucket for their values and notifications:
 * out[i] is "<test>-<environment>" from the sanitized names (an empty name
 * gives way to its id), e.g. "Checkout_API-Production". A name longer than
 * REPORT_KEY_NAME_MAX - 1 bytes, or one that another key of the list would
 * get too, is cut and ends in "-" and REPORT_HASH_DIGITS hex digits of a
 * hash of the key's ids ("Checkout_API-Production-1f0c9a3e"); should names
 * still coincide, the hash is salted again. The result depends only on the
 * list, not on its order, and no two keys with different ids share a name;
 * out[i] is "" only for keys whose ids repeat in the list. Returns 0 or
 * -ENOMEM (out is then all ""). */
int report_key_names(const struct report_key *keys, size_t n,
                     char (*out)[REPORT_KEY_NAME_MAX]);

/* The plugin instance of a bucket: its key when that is made of
 * [A-Za-z0-9_.-] and is not "self" (the plugin's own), else the sanitized
 * key, "-" and a hash of the key. out needs REPORT_NAME_MAX bytes. */
void report_bucket_instance(const char *bucket_key, char out[REPORT_NAME_MAX]);

/* The message of a key's FAILURE notification (failing true) or OKAY:
 *   Runscope test "T" fails in environment "E" at LOC: N assertions
 *   failed. URL
 *   Runscope test "T" passes again in environment "E". URL
 * (" at LOC" only when location is not empty). The test and environment
 * names are cut (at a UTF-8 character boundary, marked with "...") so
 * that the whole fits size bytes with the URL intact, as long as the URL
 * leaves room. Returns the message's length. */
size_t report_key_message(char *out, size_t size, int failing,
                          const char *test_name, const char *env_name,
                          const char *location, long assertions_failed,
                          const char *url);

#endif
