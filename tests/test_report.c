/* SPDX-License-Identifier: MIT */
/* Unit tests of the names and texts of values and notifications: the
 * sanitizing, the shortening and the uniqueness of key names, bucket
 * instances and notification messages. */
#include "core/report.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LONG_SUFFIX "-requests_executed" /* the longest value suffix */

/* True when s is made of [A-Za-z0-9_.-] only. */
static bool clean(const char *s) {
  return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789_.-") == strlen(s);
}

/* True when s ends in "-" and REPORT_HASH_DIGITS lowercase hex digits. */
static bool hashed(const char *s) {
  size_t len = strlen(s);
  if (len < REPORT_HASH_DIGITS + 1 || s[len - REPORT_HASH_DIGITS - 1] != '-')
    return false;
  const char *h = s + len - REPORT_HASH_DIGITS;
  return strspn(h, "0123456789abcdef") == REPORT_HASH_DIGITS;
}

/* count copies of unit into out. */
static void fill(char *out, size_t size, const char *unit, size_t count) {
  size_t len = strlen(unit), n = 0;
  for (size_t i = 0; i < count && n + len < size; i++, n += len)
    memcpy(out + n, unit, len);
  out[n] = '\0';
}

/* ---- report_sanitize ---- */

static const struct {
  const char *in;
  size_t size;
  const char *want;
} sanitize_cases[] = {
    {"Checkout API", 128, "Checkout_API"},
    {"Production", 128, "Production"},
    {"x.y-z_w09", 128, "x.y-z_w09"},
    {"a/b/c", 128, "a_b_c"},
    {"/health/", 128, "health"},
    {"a  /  b", 128, "a_b"},
    {"Caf\xc3\xa9/Z\xc3\xbcrich", 128, "Caf_Z_rich"},  /* Café/Zürich */
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 128, ""}, /* 日本語 */
    {"\xf0\x9f\x9a\x80 Launch \xf0\x9f\x9a\x80", 128, "Launch"}, /* 🚀 */
    {"tab\there\nnewline", 128, "tab_here_newline"},
    {"", 128, ""},
    {"   ", 128, ""},
    {"__kept__", 128, "__kept__"}, /* only replacements are trimmed */
    {"abcdef", 4, "abc"},
    {"ab cd", 4, "ab"}, /* never ends in a replacement */
    {"ab cd", 5, "ab_c"},
    {"abc", 1, ""},
};

START_TEST(test_sanitize) {
  char out[128];
  size_t n =
      report_sanitize(sanitize_cases[_i].in, out, sanitize_cases[_i].size);
  ck_assert_str_eq(out, sanitize_cases[_i].want);
  ck_assert_uint_eq(n, strlen(out));
  ck_assert(clean(out));
}
END_TEST

START_TEST(test_sanitize_null) {
  char out[8] = "junk";
  ck_assert_uint_eq(report_sanitize(NULL, out, sizeof(out)), 0);
  ck_assert_str_eq(out, "");
}
END_TEST

/* ---- report_key_names: one key ---- */

static const struct {
  const char *test, *env, *test_id, *env_id;
  const char *want; /* NULL: check the shortened form instead */
} name_cases[] = {
    {"Checkout API", "Production", "t1", "e1", "Checkout_API-Production"},
    {"Checkout API", "", "t1", "e1", "Checkout_API-e1"},
    {"", "Production", "t1", "e1", "t1-Production"},
    {NULL, NULL, "0aa48464-f89e", "abcdc896-2804",
     "0aa48464-f89e-abcdc896-2804"},
    {"Z\xc3\xbcrich/Checkout", "Prod (EU)", "t1", "e1",
     "Z_rich_Checkout-Prod_EU"},
    {"\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x9c\xac\xe7\x95\xaa", "t1", "e1",
     "t1-e1"},
    {"GET /users/{id}", "Staging/EU", "t1", "e1", "GET_users_id-Staging_EU"},
    {"a/b", "c/d", "id/1", "id/2", "a_b-c_d"},
    {NULL, NULL, "id/1", "id/2", "id_1-id_2"},
};

START_TEST(test_name_one) {
  struct report_key k = {name_cases[_i].test, name_cases[_i].env,
                         name_cases[_i].test_id, name_cases[_i].env_id};
  char out[1][REPORT_KEY_NAME_MAX];
  ck_assert_int_eq(report_key_names(&k, 1, out), 0);
  ck_assert_str_eq(out[0], name_cases[_i].want);
}
END_TEST

/* Long names: cut, with the hash of the ids; bounded with the suffix. */
static const struct {
  size_t test_len, env_len;
  bool shortened;
} long_cases[] = {
    {50, 50, false},
    {REPORT_KEY_NAME_MAX - 3, 1, false}, /* exactly the longest kept */
    {REPORT_KEY_NAME_MAX - 2, 1, true},  /* one byte more */
    {200, 10, true},
    {255, 255, true},
    {10, 300, true},
};

START_TEST(test_name_long) {
  char test[512], env[512];
  fill(test, sizeof(test), "t", long_cases[_i].test_len);
  fill(env, sizeof(env), "e", long_cases[_i].env_len);
  struct report_key k = {test, env, "test-id", "env-id"};
  char out[1][REPORT_KEY_NAME_MAX], again[1][REPORT_KEY_NAME_MAX];
  ck_assert_int_eq(report_key_names(&k, 1, out), 0);
  ck_assert_uint_lt(strlen(out[0]), REPORT_KEY_NAME_MAX);
  ck_assert_uint_le(strlen(out[0]) + strlen(LONG_SUFFIX), REPORT_NAME_MAX - 1);
  ck_assert(clean(out[0]));
  ck_assert_int_eq(hashed(out[0]), long_cases[_i].shortened);
  ck_assert_int_eq(strncmp(out[0], "tttt", 4), 0); /* readable prefix */
  /* deterministic */
  ck_assert_int_eq(report_key_names(&k, 1, again), 0);
  ck_assert_str_eq(out[0], again[0]);
  /* and made of the ids: other ids, another name */
  if (long_cases[_i].shortened) {
    struct report_key other = {test, env, "test-id", "env-id2"};
    ck_assert_int_eq(report_key_names(&other, 1, again), 0);
    ck_assert_str_ne(out[0], again[0]);
  }
}
END_TEST

/* ---- report_key_names: collisions ---- */

static void assert_distinct(char (*out)[REPORT_KEY_NAME_MAX], size_t n) {
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_ne(out[i], "");
    ck_assert(clean(out[i]));
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(out[i], out[j]) == 0)
        ck_abort_msg("keys %zu and %zu share the name %s", i, j, out[i]);
  }
}

static const struct {
  const char *what;
  struct report_key keys[4];
  size_t n;
  bool hashed[4]; /* which names must carry a hash */
} collision_cases[] = {
    {"two tests of the same name",
     {{"Checkout API", "Production", "t1", "e1"},
      {"Checkout API", "Production", "t2", "e2"},
      {"Login", "Production", "t3", "e1"}},
     3,
     {true, true, false}},
    {"names that differ only where sanitized",
     {{"Checkout API", "Production", "t1", "e1"},
      {"Checkout/API", "Production", "t2", "e1"},
      {"Checkout\xc3\xa9"
       "API",
       "Production", "t3", "e1"}},
     3,
     {true, true, true}},
    {"the same test in two environments of one name",
     {{"Checkout", "Prod", "t1", "e1"}, {"Checkout", "Prod", "t1", "e2"}},
     2,
     {true, true}},
    {"a dash inside a name",
     {{"a-b", "c", "t1", "e1"}, {"a", "b-c", "t2", "e2"}},
     2,
     {true, true}},
    {"ids as names",
     {{NULL, NULL, "t1", "e1"}, {"t1", "e1", "t2", "e2"}},
     2,
     {true, true}},
    {"unrelated names stay readable",
     {{"A", "Production", "t1", "e1"}, {"B", "Production", "t2", "e1"}},
     2,
     {false, false}},
};

START_TEST(test_name_collisions) {
  char out[4][REPORT_KEY_NAME_MAX];
  size_t n = collision_cases[_i].n;
  ck_assert_int_eq(report_key_names(collision_cases[_i].keys, n, out), 0);
  assert_distinct(out, n);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(hashed(out[i]) == collision_cases[_i].hashed[i],
                  "%s: key %zu named %s", collision_cases[_i].what, i, out[i]);
}
END_TEST

/* Long names that only differ beyond the cut. */
START_TEST(test_name_long_collision) {
  char a[300], b[300];
  fill(a, sizeof(a), "x", 250);
  fill(b, sizeof(b), "x", 250);
  a[250] = 'A', b[250] = 'B';
  a[251] = b[251] = '\0';
  struct report_key keys[] = {{a, "Prod", "t1", "e1"}, {b, "Prod", "t2", "e1"}};
  char out[2][REPORT_KEY_NAME_MAX];
  ck_assert_int_eq(report_key_names(keys, 2, out), 0);
  assert_distinct(out, 2);
  ck_assert(hashed(out[0]) && hashed(out[1]));
}
END_TEST

/* A readable name that happens to be another key's shortened name. */
START_TEST(test_name_equals_a_hashed_name) {
  struct report_key pair[] = {{"Checkout API", "Production", "t1", "e1"},
                              {"Checkout API", "Production", "t2", "e2"}};
  char first[2][REPORT_KEY_NAME_MAX];
  ck_assert_int_eq(report_key_names(pair, 2, first), 0);
  /* "Checkout_API" in environment "Production-<hash of t1/e1>" */
  const char *env = first[0] + strlen("Checkout_API-");
  struct report_key three[] = {
      pair[0], pair[1], {"Checkout API", env, "t3", "e3"}};
  char out[3][REPORT_KEY_NAME_MAX];
  ck_assert_int_eq(report_key_names(three, 3, out), 0);
  assert_distinct(out, 3);
}
END_TEST

/* The names depend on the set of keys, not on their order. */
START_TEST(test_name_order_independent) {
  char long_name[256];
  fill(long_name, sizeof(long_name), "L", 200);
  struct report_key keys[] = {
      {"Checkout API", "Production", "t1", "e1"},
      {"Checkout API", "Production", "t2", "e1"},
      {"Login", "Production", "t3", "e1"},
      {long_name, "Production", "t4", "e1"},
  };
  struct report_key rev[4];
  for (size_t i = 0; i < 4; i++)
    rev[i] = keys[3 - i];
  char out[4][REPORT_KEY_NAME_MAX], out_rev[4][REPORT_KEY_NAME_MAX];
  ck_assert_int_eq(report_key_names(keys, 4, out), 0);
  ck_assert_int_eq(report_key_names(rev, 4, out_rev), 0);
  for (size_t i = 0; i < 4; i++)
    ck_assert_str_eq(out[i], out_rev[3 - i]);
  assert_distinct(out, 4);
}
END_TEST

/* Many keys of one name: more than a short hash keeps apart by luck. */
START_TEST(test_name_many) {
  enum { N = 3000 };
  struct report_key *keys = calloc(N, sizeof(*keys));
  char(*ids)[16] = calloc(N, sizeof(*ids));
  char(*out)[REPORT_KEY_NAME_MAX] = calloc(N, sizeof(*out));
  ck_assert(keys && ids && out);
  for (size_t i = 0; i < N; i++) {
    snprintf(ids[i], sizeof(ids[i]), "t%zu", i);
    keys[i] = (struct report_key){"Same", "Env", ids[i], "e"};
  }
  ck_assert_int_eq(report_key_names(keys, N, out), 0);
  assert_distinct(out, N);
  free(keys);
  free(ids);
  free(out);
}
END_TEST

/* Two keys of one name whose ids hash alike: the salted hash parts them
 * (t439599/e and t622382/e have the same 32-bit FNV-1a hash, 7e774779). */
START_TEST(test_name_hash_collision) {
  struct report_key keys[] = {{"Same", "Env", "t439599", "e"},
                              {"Same", "Env", "t622382", "e"}};
  char out[2][REPORT_KEY_NAME_MAX];
  ck_assert_int_eq(report_key_names(keys, 2, out), 0);
  assert_distinct(out, 2);
  ck_assert(hashed(out[0]) && hashed(out[1]));
}
END_TEST

/* Keys whose ids repeat (a caller's bug) get no name at all. */
START_TEST(test_name_same_ids) {
  struct report_key keys[] = {
      {"A", "P", "t1", "e1"}, {"B", "Q", "t1", "e1"}, {"C", "R", "t2", "e1"}};
  char out[3][REPORT_KEY_NAME_MAX];
  ck_assert_int_eq(report_key_names(keys, 3, out), 0);
  ck_assert_str_eq(out[0], "A-P"); /* the names differ: nothing to do */
  keys[1].test_name = "A";
  keys[1].env_name = "P";
  ck_assert_int_eq(report_key_names(keys, 3, out), 0);
  ck_assert_str_eq(out[0], "");
  ck_assert_str_eq(out[1], "");
  ck_assert_str_eq(out[2], "C-R");
}
END_TEST

START_TEST(test_name_none) {
  ck_assert_int_eq(report_key_names(NULL, 0, NULL), 0);
}
END_TEST

/* ---- report_bucket_instance ---- */

static const struct {
  const char *key;
  const char *want; /* NULL: the sanitized key and a hash */
  const char *prefix;
} bucket_cases[] = {
    {"6knqwmwvqpzr", "6knqwmwvqpzr", NULL},
    {"shop1bucket0", "shop1bucket0", NULL},
    {"self", NULL, "self-"},
    {"a/b", NULL, "a_b-"},
    {"bucket key", NULL, "bucket_key-"},
    {"", NULL, "bucket-"},
    {"\xe6\x97\xa5", NULL, "bucket-"},
};

START_TEST(test_bucket_instance) {
  char out[REPORT_NAME_MAX];
  report_bucket_instance(bucket_cases[_i].key, out);
  ck_assert(clean(out));
  ck_assert_str_ne(out, "self");
  if (bucket_cases[_i].want != NULL) {
    ck_assert_str_eq(out, bucket_cases[_i].want);
    return;
  }
  ck_assert(hashed(out));
  ck_assert_uint_eq(strlen(out),
                    strlen(bucket_cases[_i].prefix) + REPORT_HASH_DIGITS);
  ck_assert_int_eq(
      strncmp(out, bucket_cases[_i].prefix, strlen(bucket_cases[_i].prefix)),
      0);
}
END_TEST

START_TEST(test_bucket_instance_long_and_distinct) {
  char a[REPORT_NAME_MAX], b[REPORT_NAME_MAX];
  char key[300];
  fill(key, sizeof(key), "k", 200);
  key[200] = '!';
  key[201] = '\0';
  report_bucket_instance(key, a);
  ck_assert_uint_lt(strlen(a), REPORT_NAME_MAX);
  ck_assert(hashed(a));
  report_bucket_instance("a b", a);
  report_bucket_instance("a/b", b);
  ck_assert_str_ne(a, b);
}
END_TEST

/* ---- report_key_message ---- */

#define URL                                                                    \
  "https://www.runscope.com/radar/6knqwmwvqpzr/"                               \
  "db4cc896-2804-4520-ad06-0caf3bf216a8/results/"                              \
  "0aa48464-f89e-4596-8d60-79bc678d313f"

static const struct {
  int failing;
  const char *test, *env, *loc;
  long failed;
  const char *want;
} message_cases[] = {
    {1, "Checkout API", "Production", "us1", 2,
     "Runscope test \"Checkout API\" fails in environment \"Production\" at "
     "us1: 2 assertions failed. " URL},
    {1, "Checkout API", "Production", "", 1,
     "Runscope test \"Checkout API\" fails in environment \"Production\": 1 "
     "assertion failed. " URL},
    {0, "Checkout API", "Production", "us1", 0,
     "Runscope test \"Checkout API\" passes again in environment "
     "\"Production\". " URL},
};

START_TEST(test_message) {
  char out[REPORT_MESSAGE_MAX];
  size_t n =
      report_key_message(out, sizeof(out), message_cases[_i].failing,
                         message_cases[_i].test, message_cases[_i].env,
                         message_cases[_i].loc, message_cases[_i].failed, URL);
  ck_assert_str_eq(out, message_cases[_i].want);
  ck_assert_uint_eq(n, strlen(out));
}
END_TEST

/* True when s is valid UTF-8 (no sequence cut). */
static bool valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    int more = *p < 0x80             ? 0
               : (*p & 0xE0) == 0xC0 ? 1
               : (*p & 0xF0) == 0xE0 ? 2
               : (*p & 0xF8) == 0xF0 ? 3
                                     : -1;
    if (more < 0)
      return false;
    p++;
    for (int i = 0; i < more; i++, p++)
      if ((*p & 0xC0) != 0x80)
        return false;
  }
  return true;
}

/* Long names are cut so that the run link survives in 255 bytes. */
static const struct {
  size_t test_len, env_len;
  const char *unit; /* repeated to make the names */
} cut_cases[] = {
    {200, 10, "a"},
    {10, 200, "a"},
    {250, 250, "a"},
    {100, 100, "\xc3\xbc"},       /* ü, 2 bytes */
    {100, 100, "\xe6\x97\xa5"},   /* 日, 3 bytes */
    {60, 60, "\xf0\x9f\x9a\x80"}, /* 🚀, 4 bytes */
};

START_TEST(test_message_cut) {
  char test[1024], env[1024];
  fill(test, sizeof(test), cut_cases[_i].unit, cut_cases[_i].test_len);
  fill(env, sizeof(env), cut_cases[_i].unit, cut_cases[_i].env_len);
  for (int failing = 0; failing <= 1; failing++) {
    char out[REPORT_MESSAGE_MAX];
    size_t n =
        report_key_message(out, sizeof(out), failing, test, env, "us1", 3, URL);
    ck_assert_uint_le(n, REPORT_MESSAGE_MAX - 1);
    ck_assert_uint_eq(n, strlen(out));
    ck_assert_msg(n > strlen(URL) && strcmp(out + n - strlen(URL), URL) == 0,
                  "the link is cut: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "..."));
    ck_assert_msg(valid_utf8(out), "a character is cut: %s", out);
    ck_assert_uint_ge(n, REPORT_MESSAGE_MAX - 8); /* the room is used */
  }
}
END_TEST

/* A larger buffer than collectd's: names longer than Runscope's are still
 * cut at a character, and marked. */
START_TEST(test_message_long_name_large_buffer) {
  char test[1024], out[2048];
  fill(test, sizeof(test), "\xe6\x97\xa5", 300); /* 900 bytes */
  size_t n =
      report_key_message(out, sizeof(out), 1, test, "Production", "", 1, URL);
  ck_assert_uint_eq(n, strlen(out));
  ck_assert_ptr_nonnull(strstr(out, "...\" fails in environment"));
  ck_assert_msg(valid_utf8(out), "a character is cut: %s", out);
  ck_assert_int_eq(strcmp(out + n - strlen(URL), URL), 0);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("report");
  TCase *tc = tcase_create("sanitize");
  tcase_add_loop_test(tc, test_sanitize, 0,
                      sizeof(sanitize_cases) / sizeof(sanitize_cases[0]));
  tcase_add_test(tc, test_sanitize_null);
  suite_add_tcase(s, tc);

  tc = tcase_create("key names");
  tcase_add_loop_test(tc, test_name_one, 0,
                      sizeof(name_cases) / sizeof(name_cases[0]));
  tcase_add_loop_test(tc, test_name_long, 0,
                      sizeof(long_cases) / sizeof(long_cases[0]));
  tcase_add_test(tc, test_name_none);
  suite_add_tcase(s, tc);

  tc = tcase_create("collisions");
  tcase_add_loop_test(tc, test_name_collisions, 0,
                      sizeof(collision_cases) / sizeof(collision_cases[0]));
  tcase_add_test(tc, test_name_long_collision);
  tcase_add_test(tc, test_name_equals_a_hashed_name);
  tcase_add_test(tc, test_name_order_independent);
  tcase_add_test(tc, test_name_many);
  tcase_add_test(tc, test_name_hash_collision);
  tcase_add_test(tc, test_name_same_ids);
  suite_add_tcase(s, tc);

  tc = tcase_create("bucket instance");
  tcase_add_loop_test(tc, test_bucket_instance, 0,
                      sizeof(bucket_cases) / sizeof(bucket_cases[0]));
  tcase_add_test(tc, test_bucket_instance_long_and_distinct);
  suite_add_tcase(s, tc);

  tc = tcase_create("messages");
  tcase_add_loop_test(tc, test_message, 0,
                      sizeof(message_cases) / sizeof(message_cases[0]));
  tcase_add_loop_test(tc, test_message_cut, 0,
                      sizeof(cut_cases) / sizeof(cut_cases[0]));
  tcase_add_test(tc, test_message_long_name_large_buffer);
  suite_add_tcase(s, tc);
  return s;
}
