/* SPDX-License-Identifier: MIT */
/* A record (a C struct) as a JSON object, by a table of its fields: one
 * writer and one reader walk every table, so that a persisted field is one
 * row, written and read by the same code.
 *
 * A row names the JSON member, the kind of value and where the value is in
 * the struct (the FLD_* macros below fill it from the member, and do not
 * compile when the member is not of the kind's C type). The object's
 * members are written in the order of the rows.
 *
 * Reading is strict about what it needs and liberal about the rest: a
 * record starts zeroed, an absent or null member leaves the zero value
 * (FLD_REQUIRED: it is "missing"), and unknown members are ignored. A value
 * of the wrong type, a string too long for its array (or holding a NUL), a
 * number that is not finite, an integer out of range, an unknown enum name
 * or more elements than fit make the text invalid, with a message that
 * says where: "keys[2].locations[0].test_run_id: too long (80 bytes, at
 * most 79)". A record's plain members are read first, then its check hook
 * runs, then its arrays are read: a header is checked before the contents,
 * and an element's add hook sees its parent's plain members.
 *
 * What a row cannot say stays a small hook: check (a relation between
 * members), add (where an element of an array goes: a sorted insert, a
 * duplicate check), fini (what a read record owns) and omit (a member left
 * out of the text). */
#ifndef RUNSCOPE_STORE_FIELDS_H
#define RUNSCOPE_STORE_FIELDS_H

#include "store/jw.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fld_kind {
  FLD_STR,     /* char[size]: a string */
  FLD_STRP,    /* char *, owned (NULL: ""): a string of at most size - 1 */
  FLD_NUM,     /* double: a number (not finite: written as null) */
  FLD_LONG,    /* long: an integer */
  FLD_UINT,    /* unsigned: an integer from 0 to max */
  FLD_BOOL,    /* bool: true or false */
  FLD_ENUM,    /* an enum: the string names[value]; "" reads as 0 */
  FLD_HEX64,   /* uint64_t: a string of 16 hex digits */
  FLD_TAG,     /* no member: the string text, the same when read */
  FLD_VERSION, /* no member: the integer max; read, another is refused */
  FLD_STRS,    /* char[max][size] and a size_t count: an array of strings */
  FLD_RECS,    /* records of rec and a size_t count: an array of objects */
};

/* Where the elements of an array of records are. */
enum fld_store {
  FLD_INLINE, /* in the struct: T m[max] */
  FLD_HEAP,   /* T *m, an array of count elements */
  FLD_PTRS,   /* T **m, an array of count pointers */
};

#define FLD_REQUIRED 1u /* reading: absent or null is an error */
/* writing: a plain member (STR, NUM, LONG, UINT, BOOL, HEX64) left out
 * while it is zero, so that a file without it keeps its shape */
#define FLD_OMIT_ZERO 2u

struct fld_record;

struct fld_field {
  const char *name;   /* the JSON member */
  const char *quoted; /* "\"name\":", as written */
  size_t quoted_len;
  enum fld_kind kind;
  unsigned flags;   /* FLD_REQUIRED */
  size_t off;       /* offsetof the member */
  size_t size;      /* STR, STRS: the char array's size; STRP: the most bytes
                     * with the NUL; RECS: an element's */
  size_t count_off; /* STRS, RECS: offsetof the size_t count */
  size_t max; /* STRS, RECS: the most elements; UINT: the largest; VERSION */
  const char *text;         /* TAG */
  const char *const *names; /* ENUM: the name of each value */
  size_t n_names;
  enum fld_store store;         /* RECS */
  const struct fld_record *rec; /* RECS: the elements' table */
  /* RECS read into a FLD_HEAP or FLD_PTRS array: stores the read element
   * elem (of rec) into parent, taking over what elem owns. 0, or a
   * negative errno with err set (elem stays the caller's). */
  int (*add)(void *parent, void *elem, const char *where, struct err *err);
  bool (*omit)(const void *rec); /* not NULL and true: not written */
};

struct fld_record {
  const struct fld_field *fields;
  size_t n_fields;
  size_t size; /* sizeof the struct */
  /* Not NULL: called once the plain members are read, before the arrays.
   * 0, or a negative errno with err set. */
  int (*check)(void *rec, const char *where, struct err *err);
  void (*fini)(void *rec); /* not NULL: frees what a read record owns */
};

/* Writes rec as a JSON object: the value of a member or an element that the
 * caller started. An array longer than its row's max, or an enum without a
 * name for its value, makes the writing fail with -EINVAL (jw_fail). */
void fld_write(struct jw *w, const struct fld_record *r, const void *rec);

/* Folds rec into the digest *h (start with HASH_FNV_BASIS) without writing
 * its text: the values of the members fld_write would write, each after
 * its row's number, strings with their NUL, arrays with their count. Two
 * records whose texts differ have different digests (unless the hash
 * collides); equal records, equal digests. Returns 0, or -EINVAL where
 * fld_write fails. A digest is only ever compared with digests of this
 * function, never with a digest of text. */
int fld_digest(uint64_t *h, const struct fld_record *r, const void *rec);

/* Parses text[0..len) (nesting at most max_json_depth as json-c counts it;
 * <= 0: json-c's default) as one record of r into rec, which the caller
 * zeroed (and set up, when its arrays need it). Returns 0, -EBADMSG when the
 * text is not JSON or not a valid record (err says what and where), or
 * -ENOMEM. On error rec may hold part of the record: the caller frees it. */
int fld_from_json(const char *text, size_t len, int max_json_depth,
                  const struct fld_record *r, void *rec, struct err *err);

/* Says in err what is wrong with where.name (either may be ""), for hooks.
 * Returns -EBADMSG. */
int fld_bad(struct err *err, const char *where, const char *name,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- rows ----
 *
 * FLD_x(json name, struct type, member, ..., flags). Each row checks at
 * compile time that the member is of the C type its kind reads (the check
 * adds 0 to the offset, or does not compile). */

#define FLD_M_(T, m) (((T *)0)->m)
#define FLD_N_(a) (sizeof(a) / sizeof((a)[0]))
/* 0 when expr is of type type */
#define FLD_IS_(expr, type) (0 * sizeof(_Generic((expr), type : 1)))
#define FLD_NAME_(json)                                                        \
  .name = json,                                                                \
  .quoted = "\"" json "\":", .quoted_len = sizeof("\"" json "\":") - 1
#define FLD_ROW_(json, k, T, m, fl, type_check)                                \
  FLD_NAME_(json), .kind = (k), .flags = (fl),                                 \
                   .off = offsetof(T, m) + (type_check)
/* 0 when m is a pointer (T *m: LIST; T **m: PLIST), not an array */
#define FLD_PTR_(T, m) FLD_IS_(&FLD_M_(T, m), __typeof__(FLD_M_(T, m)[0]) **)
#define FLD_PTRS_(T, m)                                                        \
  (FLD_PTR_(T, m) + FLD_IS_(FLD_M_(T, m)[0], __typeof__(*FLD_M_(T, m)[0]) *))
#define FLD_COUNT_(T, count)                                                   \
  .count_off = offsetof(T, count) + FLD_IS_(FLD_M_(T, count), size_t)

#define FLD_STR(json, T, m, fl)                                                \
  {                                                                            \
    FLD_ROW_(json, FLD_STR, T, m, fl,                                          \
             FLD_IS_(&FLD_M_(T, m), char(*)[sizeof(FLD_M_(T, m))])),           \
        .size = sizeof(FLD_M_(T, m))                                           \
  }
/* A heap string: char *m, NULL when empty, read with a copy of at most
 * maximum - 1 bytes (a longer one is "too long"); the record's fini frees
 * it. Written as "" when NULL (FLD_OMIT_ZERO: left out). */
#define FLD_STRP(json, T, m, maximum, fl)                                      \
  {                                                                            \
    FLD_ROW_(json, FLD_STRP, T, m, fl, FLD_IS_(FLD_M_(T, m), char *)),         \
        .size = (maximum)                                                      \
  }
#define FLD_NUM(json, T, m, fl)                                                \
  { FLD_ROW_(json, FLD_NUM, T, m, fl, FLD_IS_(FLD_M_(T, m), double)) }
#define FLD_LONG(json, T, m, fl)                                               \
  { FLD_ROW_(json, FLD_LONG, T, m, fl, FLD_IS_(FLD_M_(T, m), long)) }
#define FLD_UINT(json, T, m, maximum, fl)                                      \
  {                                                                            \
    FLD_ROW_(json, FLD_UINT, T, m, fl, FLD_IS_(FLD_M_(T, m), unsigned)),       \
        .max = (maximum)                                                       \
  }
#define FLD_BOOL(json, T, m, fl)                                               \
  { FLD_ROW_(json, FLD_BOOL, T, m, fl, FLD_IS_(FLD_M_(T, m), bool)) }
/* An enum (of int size) is one of name_array's names. */
#define FLD_ENUM(json, T, m, name_array, fl)                                   \
  {                                                                            \
    FLD_ROW_(json, FLD_ENUM, T, m, fl,                                         \
             0 * sizeof(char[sizeof(FLD_M_(T, m)) == sizeof(int) ? 1 : -1])),  \
        .names = (name_array), .n_names = FLD_N_(name_array)                   \
  }
#define FLD_HEX64(json, T, m, fl)                                              \
  { FLD_ROW_(json, FLD_HEX64, T, m, fl, FLD_IS_(FLD_M_(T, m), uint64_t)) }
/* A constant the struct does not hold, written as it is and required as it
 * is when read: a file's format name, its version. */
#define FLD_TAG(json, tag_text)                                                \
  {                                                                            \
    FLD_NAME_(json), .kind = FLD_TAG, .flags = FLD_REQUIRED,                   \
                     .text = (tag_text)                                        \
  }
#define FLD_VERSION(json, number)                                              \
  {                                                                            \
    FLD_NAME_(json), .kind = FLD_VERSION, .flags = FLD_REQUIRED,               \
                     .max = (number)                                           \
  }
/* Strings in the struct: char m[max][size], count of them used. */
#define FLD_STRS(json, T, m, count)                                            \
  {                                                                            \
    FLD_ROW_(json, FLD_STRS, T, m, 0,                                          \
             FLD_IS_(&FLD_M_(T, m),                                            \
                     char(*)[FLD_N_(FLD_M_(T, m))][sizeof(FLD_M_(T, m)[0])])), \
        .size = sizeof(FLD_M_(T, m)[0]), FLD_COUNT_(T, count),                 \
        .max = FLD_N_(FLD_M_(T, m))                                            \
  }
/* Strings in a heap array: char (*m)[size] of room for maximum, allocated
 * (calloc) with the first string read, and a size_t count of them used;
 * the record's fini frees it. */
#define FLD_STRS_HEAP(json, T, m, count, maximum)                              \
  {                                                                            \
    FLD_ROW_(json, FLD_STRS, T, m, 0,                                          \
             FLD_IS_(FLD_M_(T, m), char(*)[sizeof(*FLD_M_(T, m))])),           \
        .size = sizeof(*FLD_M_(T, m)), FLD_COUNT_(T, count), .max = (maximum), \
        .store = FLD_HEAP                                                      \
  }
/* Records in the struct: m[max] (record: the elements' table). */
#define FLD_RECS(json, T, m, count, record)                                    \
  {                                                                            \
    FLD_ROW_(json, FLD_RECS, T, m, 0, 0),                                      \
        .size = sizeof(FLD_M_(T, m)[0]), FLD_COUNT_(T, count),                 \
        .max = FLD_N_(FLD_M_(T, m)), .store = FLD_INLINE, .rec = (record)      \
  }
/* Records in a heap array (*m) or a heap array of pointers (**m), at most
 * maximum, stored by add_hook as they are read; omit_hook may be NULL. */
#define FLD_LIST(json, T, m, count, maximum, record, add_hook, omit_hook)      \
  {                                                                            \
    FLD_ROW_(json, FLD_RECS, T, m, 0, FLD_PTR_(T, m)),                         \
        .size = sizeof(*FLD_M_(T, m)), FLD_COUNT_(T, count), .max = (maximum), \
        .store = FLD_HEAP, .rec = (record), .add = (add_hook),                 \
        .omit = (omit_hook)                                                    \
  }
#define FLD_PLIST(json, T, m, count, maximum, record, add_hook, omit_hook)     \
  {                                                                            \
    FLD_ROW_(json, FLD_RECS, T, m, 0, FLD_PTRS_(T, m)),                        \
        .size = sizeof(**FLD_M_(T, m)), FLD_COUNT_(T, count),                  \
        .max = (maximum), .store = FLD_PTRS, .rec = (record),                  \
        .add = (add_hook), .omit = (omit_hook)                                 \
  }

/* The table of struct T: fields is an array of rows; check and fini may be
 * NULL. */
#define FLD_RECORD(T, field_rows, check_hook, fini_hook)                       \
  {                                                                            \
    .fields = (field_rows), .n_fields = FLD_N_(field_rows), .size = sizeof(T), \
    .check = (check_hook), .fini = (fini_hook)                                 \
  }

#endif
