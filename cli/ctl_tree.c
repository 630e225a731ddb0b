/* SPDX-License-Identifier: MIT */
/* runscopectl: collectd's config syntax into a tree, Includes followed. */
#include "ctl_tree.h"

#include "ctl.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define STMT_MAX 64 /* tokens of one statement */

enum stmt_kind { STMT_ITEM, STMT_OPEN, STMT_CLOSE };

struct stmt {
  enum stmt_kind kind;
  char *tok[STMT_MAX];
  size_t n;
  int line;
};

/* The text of one file being read. */
struct rd {
  const char *file;
  const char *p, *end;
  int line;
  int depth; /* of Includes */
  struct err *err;
};

static int parse_block(struct rd *r, struct ctl_node *parent,
                       const char *closing);

void ctl_tree_fini(struct ctl_node *n) {
  free(n->key);
  for (size_t i = 0; i < n->n_vals; i++)
    free(n->vals[i]);
  free(n->vals);
  for (size_t i = 0; i < n->n_kids; i++)
    ctl_tree_fini(&n->kids[i]);
  free(n->kids);
  free(n->file);
  memset(n, 0, sizeof(*n));
}

static void stmt_clear(struct stmt *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->tok[i]);
  s->n = 0;
}

static int bad(struct rd *r, const char *what) {
  err_set(r->err, "%s:%d: %s", r->file, r->line, what);
  return -EINVAL;
}

/* Skips blanks and continued lines; with newlines, also line ends and
 * comments. */
static void skip_blanks(struct rd *r, bool newlines) {
  while (r->p < r->end) {
    char c = *r->p;
    if (c == '\\' && r->p + 1 < r->end && r->p[1] == '\n') {
      r->p += 2;
      r->line++;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      r->p++;
    } else if (newlines && c == '\n') {
      r->p++;
      r->line++;
    } else if (newlines && c == '#') {
      while (r->p < r->end && *r->p != '\n')
        r->p++;
    } else {
      return;
    }
  }
}

/* A quoted string at r->p (on its opening quote) into *ret. */
static int read_quoted(struct rd *r, char **ret) {
  struct buf b;
  buf_init(&b, CTL_CONF_FILE_MAX);
  int rc = 0;
  r->p++;
  while (rc == 0 && r->p < r->end && *r->p != '"' && *r->p != '\n') {
    if (*r->p == '\\' && r->p + 1 < r->end && r->p[1] != '\n')
      r->p++;
    rc = buf_append(&b, r->p++, 1);
  }
  if (rc == 0 && (r->p >= r->end || *r->p != '"'))
    rc = bad(r, "a quoted string is not closed on its line");
  if (rc == 0)
    rc = buf_puts(&b, "");
  r->p++;
  *ret = rc == 0 ? buf_detach(&b) : NULL;
  buf_fini(&b);
  return rc != 0 ? rc : *ret == NULL ? -ENOMEM : 0;
}

/* A bare word at r->p into *ret; a block's head ends at '>'. */
static int read_bare(struct rd *r, bool block, char **ret) {
  const char *start = r->p;
  while (r->p < r->end && !strchr(" \t\r\n#", *r->p) &&
         !(block && *r->p == '>'))
    r->p++;
  *ret = strndup(start, (size_t)(r->p - start));
  return *ret == NULL ? -ENOMEM : 0;
}

/* Ends a block's head: '>' and nothing but a comment after it. */
static int end_head(struct rd *r) {
  if (r->p >= r->end || *r->p != '>')
    return bad(r, "a block's '<' has no '>' on its line");
  r->p++;
  skip_blanks(r, false);
  if (r->p < r->end && *r->p != '\n' && *r->p != '#')
    return bad(r, "text after a block's '>'");
  return 0;
}

/* The tokens of the statement at r->p. */
static int read_tokens(struct rd *r, struct stmt *s) {
  bool block = s->kind != STMT_ITEM;
  for (;;) {
    skip_blanks(r, false);
    if (r->p >= r->end || *r->p == '\n' || *r->p == '#')
      return block ? bad(r, "a block's '<' has no '>' on its line") : 0;
    if (block && *r->p == '>')
      return end_head(r);
    if (s->n == STMT_MAX)
      return bad(r, "too many values on one line");
    int rc = *r->p == '"' ? read_quoted(r, &s->tok[s->n])
                          : read_bare(r, block, &s->tok[s->n]);
    if (rc != 0)
      return rc;
    s->n++;
  }
}

/* The next statement into s: 1, or 0 at the end of the text, or a negative
 * errno. */
static int next_stmt(struct rd *r, struct stmt *s) {
  skip_blanks(r, true);
  if (r->p >= r->end)
    return 0;
  s->line = r->line;
  s->kind = STMT_ITEM;
  if (*r->p == '<') {
    r->p++;
    s->kind = STMT_OPEN;
    if (r->p < r->end && *r->p == '/') {
      r->p++;
      s->kind = STMT_CLOSE;
    }
  }
  int rc = read_tokens(r, s);
  if (rc == 0 && s->n == 0)
    rc = bad(r, "a statement without a key");
  if (rc == 0 && s->kind == STMT_CLOSE && s->n != 1)
    rc = bad(r, "a closing tag with values");
  return rc == 0 ? 1 : rc;
}

/* Appends a node made of s's tokens (taken over) to parent. */
static int add_node(struct rd *r, struct ctl_node *parent, struct stmt *s,
                    struct ctl_node **ret) {
  struct ctl_node *kids =
      realloc(parent->kids, (parent->n_kids + 1) * sizeof(*kids));
  if (kids == NULL)
    return -ENOMEM;
  parent->kids = kids;
  struct ctl_node *n = &kids[parent->n_kids];
  memset(n, 0, sizeof(*n));
  n->vals = s->n > 1 ? calloc(s->n - 1, sizeof(char *)) : NULL;
  n->file = strdup(r->file);
  if ((s->n > 1 && n->vals == NULL) || n->file == NULL) {
    free(n->vals);
    free(n->file);
    return -ENOMEM;
  }
  parent->n_kids++;
  n->key = s->tok[0];
  for (size_t i = 1; i < s->n; i++)
    n->vals[i - 1] = s->tok[i];
  n->n_vals = s->n - 1;
  n->line = s->line;
  s->n = 0;
  *ret = n;
  return 0;
}

static int read_into(const char *path, struct ctl_node *parent, int depth,
                     struct err *err);

/* The files of directory dir (sorted; subdirectories followed) whose names
 * match filter (NULL: all). */
static int include_dir(const char *dir, const char *filter,
                       struct ctl_node *parent, int depth, struct err *err) {
  if (depth > CTL_INCLUDE_DEPTH) {
    err_set(err, "Include %s: directories nest too deep (a loop?)", dir);
    return -ELOOP;
  }
  struct dirent **names = NULL;
  int n = scandir(dir, &names, NULL, alphasort);
  if (n < 0) {
    int rc = -errno;
    err_set(err, "Include %s: %s", dir, err_errno_text(-rc));
    return rc;
  }
  int rc = 0;
  for (int i = 0; i < n; i++) {
    char path[4096];
    const char *name = names[i]->d_name;
    struct stat sb;
    bool skip = name[0] == '.' ||
                (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
                    sizeof(path) ||
                stat(path, &sb) != 0;
    if (rc == 0 && !skip && S_ISDIR(sb.st_mode))
      rc = include_dir(path, filter, parent, depth + 1, err);
    else if (rc == 0 && !skip &&
             (filter == NULL || fnmatch(filter, name, 0) == 0))
      rc = read_into(path, parent, depth, err);
    free(names[i]);
  }
  free(names);
  return rc;
}

/* Include "pattern": every file or directory it names, as collectd does. */
static int include(struct rd *r, struct ctl_node *parent, const char *pattern,
                   const char *filter) {
  if (r->depth >= CTL_INCLUDE_DEPTH)
    return bad(r, "Includes nest too deep (a loop?)");
  glob_t g;
  int grc = glob(pattern, GLOB_NOCHECK, NULL, &g);
  if (grc != 0)
    return bad(r, "Include: the pattern matches nothing readable");
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
    struct stat sb;
    const char *path = g.gl_pathv[i];
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
      rc = include_dir(path, filter, parent, r->depth + 1, r->err);
    else
      rc = read_into(path, parent, r->depth + 1, r->err);
  }
  globfree(&g);
  return rc;
}

/* The Filter of an <Include> block, or NULL. */
static const char *include_filter(const struct ctl_node *block) {
  for (size_t i = 0; i < block->n_kids; i++)
    if (strcasecmp(block->kids[i].key, "Filter") == 0 &&
        block->kids[i].n_vals == 1)
      return block->kids[i].vals[0];
  return NULL;
}

/* An <Include "path"> block: read, followed, then dropped from parent. */
static int include_block(struct rd *r, struct ctl_node *parent) {
  struct ctl_node block = parent->kids[--parent->n_kids];
  int rc = parse_block(r, &block, "Include");
  if (rc == 0 && block.n_vals != 1)
    rc = bad(r, "<Include> takes one path");
  if (rc == 0)
    rc = include(r, parent, block.vals[0], include_filter(&block));
  ctl_tree_fini(&block);
  return rc;
}

/* One statement s of the block parent. */
static int take_stmt(struct rd *r, struct ctl_node *parent, struct stmt *s) {
  bool is_include = strcasecmp(s->tok[0], "Include") == 0;
  if (s->kind == STMT_ITEM && is_include)
    return s->n == 2 ? include(r, parent, s->tok[1], NULL)
                     : bad(r, "Include takes one path");
  struct ctl_node *n = NULL;
  int rc = add_node(r, parent, s, &n);
  if (rc != 0 || s->kind != STMT_OPEN)
    return rc;
  if (is_include)
    return include_block(r, parent);
  char *key = n->key;
  return parse_block(r, n, key);
}

/* The statements up to </closing> (NULL: the end of the text) into
 * parent. */
static int parse_block(struct rd *r, struct ctl_node *parent,
                       const char *closing) {
  struct stmt s = {0};
  int rc;
  while ((rc = next_stmt(r, &s)) == 1) {
    if (s.kind == STMT_CLOSE) {
      bool ok = closing != NULL && strcasecmp(s.tok[0], closing) == 0;
      stmt_clear(&s);
      return ok ? 0 : bad(r, "a closing tag that closes no open block");
    }
    rc = take_stmt(r, parent, &s);
    stmt_clear(&s);
    if (rc != 0)
      return rc;
  }
  stmt_clear(&s);
  if (rc == 0 && closing != NULL) {
    err_set(r->err, "%s: <%s> is not closed", r->file, closing);
    return -EINVAL;
  }
  return rc;
}

static int read_into(const char *path, struct ctl_node *parent, int depth,
                     struct err *err) {
  struct buf text;
  int rc = ctl_read_file(path, CTL_CONF_FILE_MAX, &text, err);
  if (rc != 0)
    return rc;
  struct rd r = {path, text.data, text.data + text.len, 1, depth, err};
  if (text.data == NULL)
    r.p = r.end = "";
  rc = parse_block(&r, parent, NULL);
  buf_fini(&text);
  return rc;
}

int ctl_tree_read(const char *path, struct ctl_node *root, struct err *err) {
  return read_into(path, root, 0, err);
}
