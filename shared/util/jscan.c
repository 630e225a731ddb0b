/* SPDX-License-Identifier: MIT */
/* A JSON reader that walks the text in place, without building a tree. */
#include "util/jscan.h"

#include <endian.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Longest number token converted (a longer one is an error). */
#define NUMBER_MAX 64
/* Integers of more digits than this do not convert exactly to a double
 * the way json-c converts them (through a 64-bit integer). */
#define INT_DIGITS_MAX 15

static bool fail(struct jscan *s) {
  s->failed = true;
  return false;
}

static void skip_ws(struct jscan *s) {
  while (s->p < s->end &&
         (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

/* Consumes c after whitespace; false (an error) when c does not come. */
static bool expect(struct jscan *s, char c) {
  skip_ws(s);
  if (s->failed || s->p >= s->end || *s->p != c)
    return fail(s);
  s->p++;
  return true;
}

void jscan_init(struct jscan *s, const char *text, size_t len, int max_depth) {
  s->p = text;
  s->end = text + len;
  s->depth = 0;
  s->max_depth = max_depth;
  s->failed = text == NULL;
  s->first = false;
}

/* True when the literal word comes next (not consumed). */
static bool at_word(const struct jscan *s, const char *w, size_t n) {
  return (size_t)(s->end - s->p) >= n && memcmp(s->p, w, n) == 0;
}

enum jscan_type jscan_peek(struct jscan *s) {
  skip_ws(s);
  if (s->failed || s->p >= s->end)
    return JSCAN_ERROR;
  char c = *s->p;
  if (c == '{')
    return JSCAN_OBJECT;
  if (c == '[')
    return JSCAN_ARRAY;
  if (c == '"')
    return JSCAN_STRING;
  if (c == '-' || (c >= '0' && c <= '9'))
    return JSCAN_NUMBER;
  if (at_word(s, "true", 4))
    return JSCAN_TRUE;
  if (at_word(s, "false", 5))
    return JSCAN_FALSE;
  if (at_word(s, "null", 4))
    return JSCAN_NULL;
  return JSCAN_ERROR;
}

bool jscan_enter(struct jscan *s, char open) {
  if ((open != '{' && open != '[') || s->depth >= s->max_depth)
    return fail(s);
  if (!expect(s, open))
    return false;
  s->depth++;
  s->first = true;
  return true;
}

/* At a container's end: consumes close and returns true; else false. */
static bool close_container(struct jscan *s, char close_char) {
  skip_ws(s);
  if (s->failed || s->p >= s->end || *s->p != close_char)
    return false;
  s->p++;
  s->depth--;
  s->first = false; /* back in the parent, past its first member */
  return true;
}

/* The separator before a member or an item that is not the first. */
static bool separator(struct jscan *s) {
  if (s->first) {
    s->first = false;
    return true;
  }
  return expect(s, ',');
}

/* The bytes a string holds as they are: all but the quote, the backslash
 * and the control characters. */
static const bool PLAIN[256] = {[0x20 ... '"' - 1] = true,
                                ['"' + 1 ... '\\' - 1] = true,
                                ['\\' + 1 ... 0xff] = true};

#define BYTES(b) (0x0101010101010101ULL * (b))

/* The bytes of w (read little-endian) that are not PLAIN, as their top
 * bits: a byte below 0x20, or one that equals '"' or '\\' (x - 1 borrows
 * into the top bit only from a zero byte, x ^ c is zero where x is c). A
 * borrow may also mark a byte above a marked one, never the lowest. */
static uint64_t word_ends(uint64_t w) {
  uint64_t quote = w ^ BYTES('"'), backslash = w ^ BYTES('\\');
  return ((w - BYTES(0x20)) | (quote - BYTES(1)) | (backslash - BYTES(1))) &
         ~w & BYTES(0x80);
}

/* The end of the run of plain characters at p: eight bytes at a time (a
 * page is mostly the runs of its strings and keys), the last few one by
 * one. */
static const char *plain_run(const char *p, const char *end) {
  uint64_t w, ends;
  for (; end - p >= (ptrdiff_t)sizeof(w); p += sizeof(w)) {
    memcpy(&w, p, sizeof(w));
    w = le64toh(w);
    if ((ends = word_ends(w)) != 0)
      return p + __builtin_ctzll(ends) / 8;
  }
  while (p < end && PLAIN[(unsigned char)*p])
    p++;
  return p;
}

/* The '"' that opens a member's key, after the '}' that may end the object
 * instead (consumed: false, s not failed) or the ',' before a member that
 * is not the first: as close_container, separator and expect would, in
 * one pass (the most frequent call of a page). */
static bool member_start(struct jscan *s) {
  skip_ws(s);
  if (s->p < s->end && *s->p == '}') {
    s->p++;
    s->depth--;
    s->first = false;
    return false;
  }
  if (!s->first) {
    if (s->p >= s->end || *s->p != ',')
      return fail(s);
    s->p++;
    skip_ws(s);
  }
  s->first = false;
  if (s->p >= s->end || *s->p != '"')
    return fail(s);
  s->p++;
  return true;
}

bool jscan_member_at(struct jscan *s, struct jscan_key *key) {
  if (s->failed || !member_start(s))
    return false;
  key->p = s->p;
  s->p = plain_run(s->p, s->end);
  key->len = (size_t)(s->p - key->p);
  if (s->p >= s->end || *s->p != '"')
    return fail(s); /* escaped or cut off: not a key we read */
  s->p++;
  return expect(s, ':');
}

bool jscan_member(struct jscan *s, char *key, size_t size) {
  struct jscan_key at;
  if (!jscan_member_at(s, &at))
    return false;
  if (key != NULL && at.len >= size)
    return fail(s); /* too long: not a key we read */
  if (key != NULL) {
    memcpy(key, at.p, at.len);
    key[at.len] = '\0';
  }
  return true;
}

bool jscan_item(struct jscan *s) {
  if (s->failed || close_container(s, ']') || !separator(s))
    return false;
  return jscan_peek(s) != JSCAN_ERROR || fail(s);
}

static int hex4(const char *p, const char *end, unsigned *ret) {
  unsigned v = 0;
  if (end - p < 4)
    return -EPROTO;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return -EPROTO;
  }
  *ret = v;
  return 0;
}

/* Decodes \uXXXX (and its low surrogate) at s->p (after the 'u') into
 * UTF-8 in u8. Returns the bytes, or -EPROTO. */
static int unicode(struct jscan *s, char u8[4]) {
  unsigned cp, lo;
  if (hex4(s->p, s->end, &cp) != 0)
    return -EPROTO;
  s->p += 4;
  if (cp >= 0xDC00 && cp <= 0xDFFF)
    return -EPROTO;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
        hex4(s->p + 2, s->end, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
      return -EPROTO;
    s->p += 6;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
  }
  if (cp == 0)
    return -EPROTO; /* json-c's C string would end there */
  if (cp < 0x80) {
    u8[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    u8[0] = (char)(0xC0 | (cp >> 6));
    u8[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    u8[0] = (char)(0xE0 | (cp >> 12));
    u8[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u8[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  u8[0] = (char)(0xF0 | (cp >> 18));
  u8[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  u8[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  u8[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* One escape at s->p (after the backslash) into out; returns its bytes or
 * -EPROTO. */
static int escape(struct jscan *s, char out[4]) {
  if (s->p >= s->end)
    return -EPROTO;
  char c = *s->p++;
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char *hit = c != '\0' ? strchr(from, c) : NULL;
  if (hit != NULL) {
    out[0] = to[hit - from];
    return 1;
  }
  return c == 'u' ? unicode(s, out) : -EPROTO;
}

/* Appends bytes[0..len) to out (size bytes, *n used, NUL kept room for);
 * sets *cut when they do not all fit. */
static void put_bytes(char *out, size_t size, size_t *n, const char *bytes,
                      size_t len, bool *cut) {
  if (out == NULL)
    return;
  size_t room = *n + 1 < size ? size - 1 - *n : 0;
  if (len > room) {
    len = room;
    *cut = true;
  }
  memcpy(out + *n, bytes, len);
  *n += len;
}

int jscan_string(struct jscan *s, char *out, size_t size) {
  size_t n = 0;
  bool cut = false;
  if (!expect(s, '"'))
    return -EPROTO;
  for (;;) {
    const char *run = s->p;
    s->p = plain_run(s->p, s->end);
    put_bytes(out, size, &n, run, (size_t)(s->p - run), &cut);
    if (s->p >= s->end || (unsigned char)*s->p < 0x20)
      return fail(s), -EPROTO;
    if (*s->p++ == '"')
      break;
    char bytes[4];
    int len = escape(s, bytes); /* after a backslash */
    if (len < 0)
      return fail(s), -EPROTO;
    put_bytes(out, size, &n, bytes, (size_t)len, &cut);
  }
  if (out != NULL && size > 0)
    out[n] = '\0';
  return cut ? -ENAMETOOLONG : 0;
}

/* Reads the digits at s->p; returns how many. */
static size_t digits(struct jscan *s) {
  size_t n = 0;
  while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
    s->p++;
    n++;
  }
  return n;
}

/* A number token, checked and consumed. */
struct number {
  const char *start;
  size_t len;
  bool exact_int; /* no fraction, no exponent */
  bool exponent;
};

/* Consumes the number at s->p into *n: 0, or -EPROTO (s failed) for a
 * token RFC 8259 does not allow or one jscan_number would not convert (too
 * long, or an integer of more than INT_DIGITS_MAX digits). */
static int number_token(struct jscan *s, struct number *n) {
  skip_ws(s);
  n->start = s->p;
  n->exact_int = true;
  n->exponent = false;
  if (s->p < s->end && *s->p == '-')
    s->p++;
  size_t int_digits = digits(s);
  if (int_digits == 0 ||
      (int_digits > 1 && n->start[n->start[0] == '-'] == '0'))
    return fail(s), -EPROTO;
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    n->exact_int = false;
    if (digits(s) == 0)
      return fail(s), -EPROTO;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    n->exact_int = false;
    n->exponent = true;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
      s->p++;
    if (digits(s) == 0)
      return fail(s), -EPROTO;
  }
  n->len = (size_t)(s->p - n->start);
  if (n->len >= NUMBER_MAX || (n->exact_int && int_digits > INT_DIGITS_MAX))
    return fail(s), -EPROTO;
  return 0;
}

/* Exact powers of ten as doubles (10^22 is the last one a double holds). */
static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
#define FAST_DIGITS_MAX 19             /* a uint64_t holds any 19 digits */
#define FAST_MANTISSA_MAX (1ULL << 53) /* integers a double holds exactly */

/* m / 10^k in the x87's extended precision (a 64-bit significand), where
 * both are exact (m below 2^64, k at most 22) and the quotient is rounded
 * once. Rounding that quotient to a double gives what rounding m / 10^k
 * itself would, unless the quotient is exactly halfway between two doubles
 * (its 11 bits below a double's are 0x400: the true quotient may lie on
 * either side): false then, and where long double is not the x87's. */
#if LDBL_MANT_DIG == 64 && (defined(__x86_64__) || defined(__i386__))
static bool divide_extended(uint64_t m, size_t k, double *ret) {
  long double q = (long double)m / (long double)POW10[k];
  uint64_t significand;
  memcpy(&significand, &q, sizeof(significand));
  if ((significand & 0x7ff) == 0x400)
    return false;
  *ret = (double)q;
  return true;
}
#else
static bool divide_extended(uint64_t m, size_t k, double *ret) {
  (void)m;
  (void)k;
  (void)ret;
  return false;
}
#endif

/* A number without an exponent whose digits, the point left out, make an
 * integer m of at most 19 digits, with at most 22 digits after the point:
 * converted to the very double strtod gives. When a double holds m
 * exactly, m / 10^k is one correctly rounded division of two exact doubles
 * (Clinger's fast path); a larger m (times with 17 digits, as some answers
 * give) is divided in extended precision. False when neither applies. */
static bool convert_fast(const struct number *n, double *ret) {
  const char *p = n->start, *end = n->start + n->len;
  bool neg = *p == '-';
  uint64_t m = 0;
  size_t count = 0, frac = 0;
  bool point = false;
  for (p += neg; p < end; p++) {
    if (*p == '.') {
      point = true;
      continue;
    }
    if (++count > FAST_DIGITS_MAX)
      return false;
    m = m * 10 + (uint64_t)(*p - '0');
    frac += point;
  }
  if (frac >= sizeof(POW10) / sizeof(POW10[0]))
    return false;
  double d;
  if (m <= FAST_MANTISSA_MAX)
    d = (double)m / POW10[frac];
  else if (!divide_extended(m, frac, &d))
    return false;
  *ret = neg ? -d : d;
  return true;
}

/* The token's value by strtod: 0, or -EPROTO when it is not finite. */
static int convert_strtod(const struct number *n, double *ret) {
  char buf[NUMBER_MAX];
  memcpy(buf, n->start, n->len);
  buf[n->len] = '\0';
  char *end = NULL;
  double d = strtod(buf, &end);
  if (end != buf + n->len || !isfinite(d))
    return -EPROTO;
  *ret = d;
  return 0;
}

int jscan_number(struct jscan *s, double *ret) {
  struct number n;
  double d;
  if (number_token(s, &n) != 0)
    return -EPROTO;
  if (!(!n.exponent && convert_fast(&n, &d)) && convert_strtod(&n, &d) != 0)
    return fail(s), -EPROTO;
  *ret = d;
  return 0;
}

/* Skips a number: only one with an exponent can overflow, and is
 * converted to find out (as jscan_number would refuse it). */
static int skip_number(struct jscan *s) {
  struct number n;
  double d;
  if (number_token(s, &n) != 0)
    return -EPROTO;
  if (n.exponent && convert_strtod(&n, &d) != 0)
    return fail(s), -EPROTO;
  return 0;
}

/* Skips a literal word of n letters. */
static int word(struct jscan *s, const char *w, size_t n) {
  if (!at_word(s, w, n))
    return fail(s), -EPROTO;
  s->p += n;
  return 0;
}

int jscan_skip(struct jscan *s) {
  switch (jscan_peek(s)) {
  case JSCAN_OBJECT:
    if (!jscan_enter(s, '{'))
      return -EPROTO;
    while (jscan_member(s, NULL, 0))
      if (jscan_skip(s) != 0)
        return -EPROTO;
    return s->failed ? -EPROTO : 0;
  case JSCAN_ARRAY:
    if (!jscan_enter(s, '['))
      return -EPROTO;
    while (jscan_item(s))
      if (jscan_skip(s) != 0)
        return -EPROTO;
    return s->failed ? -EPROTO : 0;
  case JSCAN_STRING:
    return jscan_string(s, NULL, 0) == 0 ? 0 : -EPROTO;
  case JSCAN_NUMBER:
    return skip_number(s);
  case JSCAN_TRUE:
    return word(s, "true", 4);
  case JSCAN_FALSE:
    return word(s, "false", 5);
  case JSCAN_NULL:
    return word(s, "null", 4);
  case JSCAN_ERROR:
    break;
  }
  return fail(s), -EPROTO;
}

int jscan_end(struct jscan *s) {
  skip_ws(s);
  return !s->failed && s->p == s->end && s->depth == 0 ? 0 : -EPROTO;
}

/* Counts the items of the array that comes next, stopping at stop + 1. */
static long count_array(struct jscan *s, size_t stop) {
  size_t n = 0;
  if (!jscan_enter(s, '['))
    return -EPROTO;
  while (n <= stop && jscan_item(s)) {
    if (jscan_skip(s) != 0)
      return -EPROTO;
    n++;
  }
  return s->failed ? -EPROTO : (long)n;
}

long jscan_count_items(const char *text, size_t len, int max_depth,
                       const char *key, size_t stop) {
  struct jscan s;
  char k[256];
  jscan_init(&s, text, len, max_depth);
  if (!jscan_enter(&s, '{'))
    return -EPROTO;
  while (jscan_member(&s, k, sizeof(k))) {
    if (strcmp(k, key) == 0)
      return count_array(&s, stop);
    if (jscan_skip(&s) != 0)
      return -EPROTO;
  }
  return -EPROTO;
}
