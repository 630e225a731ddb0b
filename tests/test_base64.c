/* SPDX-License-Identifier: MIT */
/* Unit tests of base64: the RFC 4648 vectors, binary round trips, the
 * inputs that are refused, and the buffer bounds. */
#include "util/base64.h"
#include "util/buf.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* RFC 4648, section 10, and a key of the cluster layout. */
static const struct {
  const char *plain, *encoded;
} vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
    {"/collectd-runscope/leader", "L2NvbGxlY3RkLXJ1bnNjb3BlL2xlYWRlcg=="},
};

START_TEST(test_encode_vectors) {
  struct buf b;
  buf_init(&b, 64);
  ck_assert_int_eq(buf_puts(&b, "x:"), 0);
  ck_assert_int_eq(
      base64_encode(vectors[_i].plain, strlen(vectors[_i].plain), &b), 0);
  ck_assert_str_eq(b.data + 2, vectors[_i].encoded); /* appended */
  ck_assert_uint_eq(base64_encoded_len(strlen(vectors[_i].plain)),
                    strlen(vectors[_i].encoded));
  buf_fini(&b);
}
END_TEST

START_TEST(test_decode_vectors) {
  struct buf b;
  buf_init(&b, 64);
  const char *e = vectors[_i].encoded;
  ck_assert_int_eq(base64_decode(e, strlen(e), &b), 0);
  ck_assert_ptr_nonnull(b.data);
  ck_assert_str_eq(b.data, vectors[_i].plain);
  ck_assert_uint_eq(b.len, strlen(vectors[_i].plain));
  buf_fini(&b);
}
END_TEST

/* Without its padding, as some encoders send it. */
START_TEST(test_decode_unpadded) {
  struct buf b;
  buf_init(&b, 64);
  ck_assert_int_eq(base64_decode("Zm9vYg", 6, &b), 0);
  ck_assert_str_eq(b.data, "foob");
  buf_reset(&b);
  ck_assert_int_eq(base64_decode("Zm9vYmE", 7, &b), 0);
  ck_assert_str_eq(b.data, "fooba");
  buf_fini(&b);
}
END_TEST

/* Every byte value, at every length across a chunk boundary. */
START_TEST(test_binary_round_trip) {
  static unsigned char data[2000];
  for (size_t i = 0; i < sizeof(data); i++)
    data[i] = (unsigned char)(i * 7 + i / 256);
  static const size_t lens[] = {1, 2, 3, 255, 256, 767, 768, 769, 1537, 2000};
  for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
    struct buf enc, dec;
    buf_init(&enc, 4096);
    buf_init(&dec, 4096);
    ck_assert_int_eq(base64_encode(data, lens[k], &enc), 0);
    ck_assert_uint_eq(enc.len, base64_encoded_len(lens[k]));
    ck_assert_uint_eq(strspn(enc.data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijk"
                                       "lmnopqrstuvwxyz0123456789+/="),
                      enc.len);
    ck_assert_int_eq(base64_decode(enc.data, enc.len, &dec), 0);
    ck_assert_uint_eq(dec.len, lens[k]);
    ck_assert_mem_eq(dec.data, data, lens[k]);
    buf_fini(&enc);
    buf_fini(&dec);
  }
}
END_TEST

static const char *const refused[] = {
    "Zm9v!",     /* a character outside the alphabet */
    "Zm9-",      /* the URL alphabet */
    "Zm 9v",     /* a blank */
    "Z",         /* one character carries less than a byte */
    "Zm9vY",     /* the same after a full quantum */
    "Zg=",       /* incomplete padding */
    "Zg===",     /* too much padding */
    "Zg==Zm9v",  /* padding in the middle */
    "====",      /* padding alone */
    "Z===",      /* three pads */
    "Zm9v\nYmFy" /* a line break */
};

START_TEST(test_decode_refused) {
  struct buf b;
  buf_init(&b, 64);
  ck_assert_int_eq(buf_puts(&b, "kept"), 0);
  ck_assert_int_eq(base64_decode(refused[_i], strlen(refused[_i]), &b),
                   -EINVAL);
  ck_assert_str_eq(b.data, "kept"); /* unchanged */
  ck_assert_uint_eq(b.len, 4);
  buf_fini(&b);
}
END_TEST

START_TEST(test_bounds) {
  struct buf b;
  buf_init(&b, 8);
  ck_assert_int_eq(base64_encode("foobar", 6, &b), 0); /* exactly 8 */
  ck_assert_int_eq(base64_encode("f", 1, &b), -EMSGSIZE);
  ck_assert_str_eq(b.data, "Zm9vYmFy");
  buf_fini(&b);
  buf_init(&b, 5);
  ck_assert_int_eq(base64_decode("Zm9vYmE=", 8, &b), 0); /* 5 bytes */
  ck_assert_int_eq(base64_decode("Zg==", 4, &b), -EMSGSIZE);
  ck_assert_str_eq(b.data, "fooba");
  buf_fini(&b);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("base64");
  TCase *tc = tcase_create("vectors");
  tcase_add_loop_test(tc, test_encode_vectors, 0,
                      (int)(sizeof(vectors) / sizeof(vectors[0])));
  tcase_add_loop_test(tc, test_decode_vectors, 0,
                      (int)(sizeof(vectors) / sizeof(vectors[0])));
  tcase_add_test(tc, test_decode_unpadded);
  tcase_add_test(tc, test_binary_round_trip);
  suite_add_tcase(s, tc);
  tc = tcase_create("refused");
  tcase_add_loop_test(tc, test_decode_refused, 0,
                      (int)(sizeof(refused) / sizeof(refused[0])));
  tcase_add_test(tc, test_bounds);
  suite_add_tcase(s, tc);
  return s;
}
