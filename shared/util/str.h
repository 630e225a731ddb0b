/* SPDX-License-Identifier: MIT */
/* String copies that report truncation, snippets for messages, scrubbing
 * of secrets, control characters kept out of log lines. */
#ifndef RUNSCOPE_UTIL_STR_H
#define RUNSCOPE_UTIL_STR_H

#include "util/err.h"

#include <stddef.h>

/* Copies src into dst of the given size, always NUL-terminated. Returns 0, or
 * -ENAMETOOLONG when src did not fit (dst then holds the truncated prefix). */
int str_copy(char *dst, size_t size, const char *src);

/* Replaces the heap string *dst (freed; NULL is none) with a copy of src
 * cut to at most max - 1 bytes (max 0: not cut), or with NULL when src is
 * NULL or "": a string sized to its content, none when empty. Returns 0,
 * or -ENOMEM (*dst is then NULL). The caller frees *dst. */
int str_set(char **dst, const char *src, size_t max);

/* s, or "" when s is NULL: how a heap string set by str_set is read. */
static inline const char *str_or_empty(const char *s) { return s ? s : ""; }

/* Cuts a trailing incomplete UTF-8 sequence off s (after a truncation). */
void str_utf8_trim(char *s);

/* Copies up to size - 1 bytes of text[0..len) into out (size > 0) for
 * quoting in a message: control characters become spaces, runs of blanks
 * one space, no blank at either end, no cut UTF-8 sequence at the end. */
void str_snippet(const char *text, size_t len, char *out, size_t size);

/* Copies in into out (size > 0 bytes, always NUL-terminated, cut to fit)
 * with every occurrence of secret replaced by "REDACTED", under the same
 * rule as err_scrub. Scrub a message before cutting it to its final size,
 * so that no part of a secret is left at the cut. */
void str_scrub(char *out, size_t size, const char *in, const char *secret);

/* A copy of text (malloc'ed, for free) with each of secrets[0..n) (NULL
 * ones skipped) scrubbed by str_scrub from the whole text; NULL without
 * memory. Cut the result, never the text before it. */
char *str_scrub_all(const char *text, const char *const *secrets, size_t n);

/* str_snippet of text[0..len) into out, with each of secrets[0..n)
 * scrubbed from the whole text before the cut (an answer that echoes a
 * secret near the cut leaves no part of it). Without the memory to scrub,
 * out is empty. */
void str_snippet_scrubbed(const char *text, size_t len,
                          const char *const *secrets, size_t n, char *out,
                          size_t size);

/* Overwrites s, up to its NUL, with zeros that the compiler does not
 * optimise away (explicit_bzero): a secret leaves no copy in memory that
 * is freed or reused. NULL is a no-op. */
void str_wipe(char *s);

/* str_wipe, then free: how a string that holds a secret (a token, a
 * password, a passphrase, credentials) is freed. NULL is a no-op. */
void str_free_secret(char *s);

/* Replaces, in place, each control character of s (a byte below 0x20, or
 * 0x7f) with '?', so that a text from an API (a user name, a response, a
 * message) can neither break a log line nor forge one. Other bytes stay:
 * UTF-8 text is kept as it is. Returns how many were replaced. */
size_t str_printable(char *s);

#endif
