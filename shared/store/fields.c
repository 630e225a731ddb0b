/* SPDX-License-Identifier: MIT */
/* Records as JSON objects by their field tables: the one writer and reader. */
#include "store/fields.h"

#include "util/hash.h"
#include "util/jsonx.h"
#include "util/str.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENUM_NAME_MAX 16 /* an enum name read longer is "too long" */
#define HEX64_TEXT_MAX 24
#define TAG_TEXT_MAX 64 /* a tag read longer is "too long" */

/* ---- the struct's members ---- */

static size_t count_of(const struct fld_field *f, const char *rec) {
  return *(const size_t *)(rec + f->count_off);
}

/* Element i of an array of records. */
static const char *elem_at(const struct fld_field *f, const char *rec,
                           size_t i) {
  const char *array, *elem;
  if (f->store == FLD_INLINE)
    return rec + f->off + i * f->size;
  memcpy(&array, rec + f->off, sizeof(array)); /* the T * or T ** member */
  if (f->store == FLD_HEAP)
    return array + i * f->size;
  memcpy(&elem, array + i * sizeof(elem), sizeof(elem));
  return elem;
}

/* ---- writing ---- */

static void write_enum(struct jw *w, const struct fld_field *f, const void *p) {
  unsigned v;
  memcpy(&v, p, sizeof(v));
  if (v >= f->n_names)
    jw_fail(w, -EINVAL);
  else
    jw_string(w, f->names[v]);
}

static void write_hex64(struct jw *w, const void *p) {
  char id[17];
  snprintf(id, sizeof(id), "%016" PRIx64, *(const uint64_t *)p);
  jw_string(w, id);
}

/* An array of strings or records. */
static void write_array(struct jw *w, const struct fld_field *f,
                        const char *rec) {
  size_t n = count_of(f, rec);
  if (n > f->max || (f->kind == FLD_RECS && f->rec->size != f->size)) {
    jw_fail(w, -EINVAL);
    return;
  }
  const char *strs = rec + f->off;
  if (f->kind == FLD_STRS && f->store == FLD_HEAP)
    memcpy(&strs, rec + f->off, sizeof(strs));
  if (n > 0 && strs == NULL) {
    jw_fail(w, -EINVAL);
    return;
  }
  jw_open(w, '[');
  for (size_t i = 0; i < n && w->rc == 0; i++) {
    jw_item(w);
    if (f->kind == FLD_STRS)
      jw_string(w, strs + i * f->size);
    else
      fld_write(w, f->rec, elem_at(f, rec, i));
  }
  jw_close(w, ']');
}

static void write_value(struct jw *w, const struct fld_field *f,
                        const char *rec) {
  const void *p = rec + f->off;
  switch (f->kind) {
  case FLD_STR:
    jw_string(w, p);
    break;
  case FLD_STRP:
    jw_string(w, str_or_empty(*(char *const *)p));
    break;
  case FLD_NUM:
    jw_num(w, *(const double *)p);
    break;
  case FLD_LONG:
    jw_long(w, *(const long *)p);
    break;
  case FLD_UINT:
    jw_long(w, (long)*(const unsigned *)p);
    break;
  case FLD_BOOL:
    jw_bool(w, *(const bool *)p);
    break;
  case FLD_ENUM:
    write_enum(w, f, p);
    break;
  case FLD_HEX64:
    write_hex64(w, p);
    break;
  case FLD_TAG:
    jw_string(w, f->text);
    break;
  case FLD_VERSION:
    jw_long(w, (long)f->max);
    break;
  case FLD_STRS:
  case FLD_RECS:
    write_array(w, f, rec);
    break;
  }
}

/* The bytes of a plain member of kind k that say it is zero (a string:
 * its first). */
static size_t member_size(enum fld_kind k) {
  switch (k) {
  case FLD_STR:
    return 1;
  case FLD_NUM:
    return sizeof(double);
  case FLD_LONG:
    return sizeof(long);
  case FLD_UINT:
    return sizeof(unsigned);
  case FLD_BOOL:
    return sizeof(bool);
  case FLD_HEX64:
    return sizeof(uint64_t);
  default:
    return 0;
  }
}

/* True when f is FLD_OMIT_ZERO and its member holds only zero bytes (a
 * heap string: NULL or ""). */
static bool zero_omitted(const struct fld_field *f, const void *rec) {
  if (!(f->flags & FLD_OMIT_ZERO))
    return false;
  const unsigned char *m = (const unsigned char *)rec + f->off;
  if (f->kind == FLD_STRP)
    return str_or_empty(*(char *const *)m)[0] == '\0';
  size_t n = member_size(f->kind);
  for (size_t i = 0; i < n; i++)
    if (m[i] != 0)
      return false;
  return n > 0;
}

void fld_write(struct jw *w, const struct fld_record *r, const void *rec) {
  jw_open(w, '{');
  for (size_t i = 0; i < r->n_fields; i++) {
    const struct fld_field *f = &r->fields[i];
    if ((f->omit != NULL && f->omit(rec)) || zero_omitted(f, rec))
      continue;
    jw_member(w, f->quoted, f->quoted_len);
    write_value(w, f, rec);
  }
  jw_close(w, '}');
}

/* ---- digest: the values without the text ---- */

/* Folds n bytes into *h, eight at a time: most of a digest is its bytes. */
static void digest_bytes(uint64_t *h, const void *data, size_t n) {
  const char *p = data;
  uint64_t v = *h;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    memcpy(&word, p + i, sizeof(word));
    v = (v ^ word) * HASH_FNV_PRIME;
  }
  *h = hash_fnv1a(v, p + i, n - i);
}

static void digest_u64(uint64_t *h, uint64_t v) {
  *h = (*h ^ v) * HASH_FNV_PRIME;
}

static void digest_str(uint64_t *h, const char *s) {
  digest_bytes(h, s, strlen(s) + 1);
}

/* A number as its bytes; both zeros (written "0") as one. */
static void digest_num(uint64_t *h, double d) {
  uint64_t bits = 0;
  if (d != 0)
    memcpy(&bits, &d, sizeof(bits));
  digest_u64(h, bits);
}

static int digest_array(uint64_t *h, const struct fld_field *f,
                        const char *rec) {
  size_t n = count_of(f, rec);
  if (n > f->max || (f->kind == FLD_RECS && f->rec->size != f->size))
    return -EINVAL;
  const char *strs = rec + f->off;
  if (f->kind == FLD_STRS && f->store == FLD_HEAP)
    memcpy(&strs, rec + f->off, sizeof(strs));
  if (n > 0 && strs == NULL)
    return -EINVAL;
  digest_u64(h, n);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (f->kind == FLD_STRS)
      digest_str(h, strs + i * f->size);
    else
      rc = fld_digest(h, f->rec, elem_at(f, rec, i));
  }
  return rc;
}

/* One member's value; the rows whose text is fixed (TAG, VERSION) only by
 * their row number, which the caller folds in. */
static int digest_value(uint64_t *h, const struct fld_field *f,
                        const char *rec) {
  const void *p = rec + f->off;
  switch (f->kind) {
  case FLD_STR:
    digest_str(h, p);
    return 0;
  case FLD_STRP:
    digest_str(h, str_or_empty(*(char *const *)p));
    return 0;
  case FLD_NUM:
    digest_num(h, *(const double *)p);
    return 0;
  case FLD_LONG:
    digest_u64(h, (uint64_t) * (const long *)p);
    return 0;
  case FLD_UINT:
  case FLD_ENUM:
    if (f->kind == FLD_ENUM && *(const unsigned *)p >= f->n_names)
      return -EINVAL;
    digest_u64(h, *(const unsigned *)p);
    return 0;
  case FLD_BOOL:
    digest_u64(h, *(const bool *)p);
    return 0;
  case FLD_HEX64:
    digest_u64(h, *(const uint64_t *)p);
    return 0;
  case FLD_TAG:
  case FLD_VERSION:
    return 0;
  case FLD_STRS:
  case FLD_RECS:
    return digest_array(h, f, rec);
  }
  return -EINVAL;
}

int fld_digest(uint64_t *h, const struct fld_record *r, const void *rec) {
  int rc = 0;
  for (size_t i = 0; i < r->n_fields && rc == 0; i++) {
    const struct fld_field *f = &r->fields[i];
    if ((f->omit != NULL && f->omit(rec)) || zero_omitted(f, rec))
      continue;
    digest_u64(h, i + 1);
    rc = digest_value(h, f, rec);
  }
  digest_u64(h, 0); /* the record's end */
  return rc;
}

/* ---- reading: one value ---- */

int fld_bad(struct err *err, const char *where, const char *name,
            const char *fmt, ...) {
  char what[ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  err_set(err, "%s%s%s: %s", where, where[0] && name[0] ? "." : "", name, what);
  return -EBADMSG;
}

/* The text of the string v, when it fits size bytes with its NUL: NULL
 * with err set when it is not a string, holds a NUL or is too long. */
static const char *str_of(json_object *v, const char *where, const char *name,
                          size_t size, struct err *err) {
  if (!json_object_is_type(v, json_type_string)) {
    fld_bad(err, where, name, "not a string");
    return NULL;
  }
  const char *s = json_object_get_string(v);
  size_t n = (size_t)json_object_get_string_len(v);
  if (memchr(s, '\0', n) != NULL) {
    fld_bad(err, where, name, "contains a NUL byte");
    return NULL;
  }
  if (n >= size) {
    fld_bad(err, where, name, "too long (%zu bytes, at most %zu)", n, size - 1);
    return NULL;
  }
  return s;
}

/* Copies the string v into dst[size]. 0 or -EBADMSG (not a string, a NUL
 * inside, too long). */
static int copy_str(json_object *v, const char *where, const char *name,
                    char *dst, size_t size, struct err *err) {
  const char *s = str_of(v, where, name, size, err);
  if (s == NULL)
    return -EBADMSG;
  memcpy(dst, s, strlen(s) + 1);
  return 0;
}

/* The string v as the heap string *dst of at most size - 1 bytes (NULL
 * when ""). 0, -EBADMSG (as copy_str) or -ENOMEM. */
static int read_strp(json_object *v, const char *where, const char *name,
                     char **dst, size_t size, struct err *err) {
  const char *s = str_of(v, where, name, size, err);
  if (s == NULL)
    return -EBADMSG;
  if (str_set(dst, s, 0) != 0) {
    err_set(err, "%s%s%s: out of memory", where, where[0] ? "." : "", name);
    return -ENOMEM;
  }
  return 0;
}

static int read_num(json_object *v, const char *where, const char *name,
                    double *ret, struct err *err) {
  if (!json_object_is_type(v, json_type_double) &&
      !json_object_is_type(v, json_type_int))
    return fld_bad(err, where, name, "not a number");
  double d = json_object_get_double(v);
  if (!isfinite(d))
    return fld_bad(err, where, name, "not a finite number");
  *ret = d;
  return 0;
}

static int read_long(json_object *v, const char *where, const char *name,
                     long *ret, struct err *err) {
  if (!json_object_is_type(v, json_type_int))
    return fld_bad(err, where, name, "not an integer");
  int64_t n = json_object_get_int64(v);
#if INT64_MAX > LONG_MAX
  if (n < LONG_MIN || n > LONG_MAX)
    return fld_bad(err, where, name, "out of range");
#endif
  *ret = (long)n;
  return 0;
}

static int read_uint(json_object *v, const char *where,
                     const struct fld_field *f, unsigned *ret,
                     struct err *err) {
  long n = 0;
  if (read_long(v, where, f->name, &n, err))
    return -EBADMSG;
  if (n < 0 || (unsigned long)n > f->max || (unsigned long)n > UINT_MAX)
    return fld_bad(err, where, f->name, "%ld is out of range", n);
  *ret = (unsigned)n;
  return 0;
}

static int read_bool(json_object *v, const char *where, const char *name,
                     bool *ret, struct err *err) {
  if (!json_object_is_type(v, json_type_boolean))
    return fld_bad(err, where, name, "not a boolean");
  *ret = json_object_get_boolean(v);
  return 0;
}

static int read_enum(json_object *v, const char *where,
                     const struct fld_field *f, void *p, struct err *err) {
  char name[ENUM_NAME_MAX];
  if (copy_str(v, where, f->name, name, sizeof(name), err))
    return -EBADMSG;
  unsigned e = 0;
  while (e < f->n_names && name[0] != '\0' && strcmp(name, f->names[e]) != 0)
    e++;
  if (e == f->n_names)
    return fld_bad(err, where, f->name, "unknown state \"%s\"", name);
  memcpy(p, &e, sizeof(e));
  return 0;
}

static int read_hex64(json_object *v, const char *where, const char *name,
                      uint64_t *ret, struct err *err) {
  char text[HEX64_TEXT_MAX], *end;
  if (copy_str(v, where, name, text, sizeof(text), err))
    return -EBADMSG;
  errno = 0;
  unsigned long long n = strtoull(text, &end, 16);
  if (strlen(text) != 16 || *end != '\0' || errno != 0)
    return fld_bad(err, where, name, "\"%s\" is not 16 hex digits", text);
  *ret = (uint64_t)n;
  return 0;
}

static int read_tag(json_object *v, const char *where,
                    const struct fld_field *f, struct err *err) {
  char text[TAG_TEXT_MAX];
  if (copy_str(v, where, f->name, text, sizeof(text), err))
    return -EBADMSG;
  if (strcmp(text, f->text) != 0)
    return fld_bad(err, where, f->name, "\"%s\", not \"%s\"", text, f->text);
  return 0;
}

static int read_version(json_object *v, const char *where,
                        const struct fld_field *f, struct err *err) {
  long n = 0;
  if (read_long(v, where, f->name, &n, err))
    return -EBADMSG;
  if (n < 0 || (unsigned long)n != f->max)
    return fld_bad(err, where, f->name,
                   "%ld is not supported (this build reads version %zu)", n,
                   f->max);
  return 0;
}

/* The value v of a plain member (not an array) into rec. */
static int read_plain(json_object *v, const char *where,
                      const struct fld_field *f, char *rec, struct err *err) {
  void *p = rec + f->off;
  switch (f->kind) {
  case FLD_STR:
    return copy_str(v, where, f->name, p, f->size, err);
  case FLD_STRP:
    return read_strp(v, where, f->name, (char **)p, f->size, err);
  case FLD_NUM:
    return read_num(v, where, f->name, (double *)p, err);
  case FLD_LONG:
    return read_long(v, where, f->name, (long *)p, err);
  case FLD_UINT:
    return read_uint(v, where, f, (unsigned *)p, err);
  case FLD_BOOL:
    return read_bool(v, where, f->name, (bool *)p, err);
  case FLD_ENUM:
    return read_enum(v, where, f, p, err);
  case FLD_HEX64:
    return read_hex64(v, where, f->name, (uint64_t *)p, err);
  case FLD_TAG:
    return read_tag(v, where, f, err);
  case FLD_VERSION:
    return read_version(v, where, f, err);
  default:
    return fld_bad(err, where, f->name, "not a plain member");
  }
}

/* ---- reading: arrays and records ---- */

static int read_object(json_object *o, const char *where,
                       const struct fld_record *r, char *rec, struct err *err);

/* Element at of an array of records into rec: in its place (FLD_INLINE),
 * or read into elem (f->size bytes) and stored by f->add. */
static int read_elem(json_object *o, const char *at, const struct fld_field *f,
                     char *rec, void *elem, struct err *err) {
  size_t *count = (size_t *)(rec + f->count_off);
  if (f->add == NULL)
    elem = rec + f->off + *count * f->size;
  memset(elem, 0, f->size);
  int rc = read_object(o, at, f->rec, elem, err);
  if (rc == 0 && f->add != NULL)
    rc = f->add(rec, elem, at, err);
  else if (rc == 0)
    (*count)++;
  if (rc != 0 && f->rec->fini != NULL)
    f->rec->fini(elem);
  return rc;
}

/* Element at of an array of strings into rec. */
static int read_str_elem(json_object *s, const char *at,
                         const struct fld_field *f, char *rec,
                         struct err *err) {
  size_t *count = (size_t *)(rec + f->count_off);
  char *strs = rec + f->off;
  if (f->store == FLD_HEAP) {
    memcpy(&strs, rec + f->off, sizeof(strs));
    if (strs == NULL && (strs = calloc(f->max, f->size)) == NULL)
      return -ENOMEM;
    memcpy(rec + f->off, &strs, sizeof(strs));
  }
  if (copy_str(s, at, "", strs + *count * f->size, f->size, err))
    return -EBADMSG;
  (*count)++;
  return 0;
}

/* The elements of the array a into rec; elem is room for one record. */
static int read_elems(json_object *a, const char *where,
                      const struct fld_field *f, char *rec, void *elem,
                      struct err *err) {
  size_t n = json_object_array_length(a);
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(a, i);
    char at[128];
    snprintf(at, sizeof(at), "%s%s%s[%zu]", where, where[0] ? "." : "", f->name,
             i);
    int rc = f->kind == FLD_STRS ? read_str_elem(e, at, f, rec, err)
                                 : read_elem(e, at, f, rec, elem, err);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* The array a of strings or records into rec. */
static int read_array(json_object *a, const char *where,
                      const struct fld_field *f, char *rec, struct err *err) {
  if (!json_object_is_type(a, json_type_array))
    return fld_bad(err, where, f->name, "not an array");
  size_t n = json_object_array_length(a);
  if (n > f->max)
    return fld_bad(err, where, f->name, "%zu elements, at most %zu", n, f->max);
  if (f->kind == FLD_RECS &&
      (f->rec->size != f->size || (f->store != FLD_INLINE && f->add == NULL)))
    return fld_bad(err, where, f->name, "no way to store it");
  void *elem = NULL; /* an element before f->add stores it */
  if (n > 0 && f->add != NULL && (elem = malloc(f->size)) == NULL) {
    err_set(err, "%s%s%s: out of memory", where, where[0] ? "." : "", f->name);
    return -ENOMEM;
  }
  int rc = read_elems(a, where, f, rec, elem, err);
  free(elem);
  return rc;
}

static bool is_array(const struct fld_field *f) {
  return f->kind == FLD_STRS || f->kind == FLD_RECS;
}

/* The members of r that are arrays (arrays true) or not, in table order. */
static int read_members(json_object *o, const char *where,
                        const struct fld_record *r, char *rec, bool arrays,
                        struct err *err) {
  for (size_t i = 0; i < r->n_fields; i++) {
    const struct fld_field *f = &r->fields[i];
    json_object *v = NULL;
    if (is_array(f) != arrays)
      continue;
    /* absent and null (NULL as well) both mean the zero value */
    if (!json_object_object_get_ex(o, f->name, &v) || v == NULL) {
      if (f->flags & FLD_REQUIRED)
        return fld_bad(err, where, f->name, "missing");
      continue;
    }
    int rc = arrays ? read_array(v, where, f, rec, err)
                    : read_plain(v, where, f, rec, err);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static int read_object(json_object *o, const char *where,
                       const struct fld_record *r, char *rec, struct err *err) {
  if (!json_object_is_type(o, json_type_object))
    return fld_bad(err, where, "", "%s",
                   where[0] ? "not an object" : "not a JSON object");
  int rc = read_members(o, where, r, rec, false, err);
  if (rc == 0 && r->check != NULL)
    rc = r->check(rec, where, err);
  if (rc == 0)
    rc = read_members(o, where, r, rec, true, err);
  return rc;
}

int fld_from_json(const char *text, size_t len, int max_json_depth,
                  const struct fld_record *r, void *rec, struct err *err) {
  json_object *root = NULL;
  int rc = jsonx_parse(text, len, max_json_depth, &root, err);
  if (rc == -EPROTO)
    rc = -EBADMSG;
  if (rc == 0)
    rc = read_object(root, "", r, rec, err);
  json_object_put(root);
  return rc;
}
