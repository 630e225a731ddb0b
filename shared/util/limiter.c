/* SPDX-License-Identifier: MIT */
/* Sliding-window limits per key: trigger URLs, request rates. */
#include "util/limiter.h"

#include "util/array.h"
#include "util/hash.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void limiter_setup(struct limiter *l, size_t limit, double window,
                          size_t max) {
  memset(l, 0, sizeof(*l));
  l->limit = limit == 0 ? 1 : limit > max ? max : limit;
  l->window = window;
}

void limiter_init_window(struct limiter *l, size_t limit, double window) {
  limiter_setup(l, limit, window, LIMITER_SLOT_MAX);
}

void limiter_init_rate(struct limiter *l, size_t limit, double window) {
  limiter_setup(l, limit, window, LIMITER_RATE_MAX);
}

void limiter_fini(struct limiter *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i].at);
  free(l->v);
  memset(l, 0, sizeof(*l));
}

static struct limiter_slot *slot_find(const struct limiter *l, uint64_t url) {
  for (size_t i = 0; i < l->n; i++)
    if (l->v[i].url == url)
      return &l->v[i];
  return NULL;
}

double limiter_wait(const struct limiter *l, const char *url, double now) {
  const struct limiter_slot *s = slot_find(l, hash_str(url));
  if (s == NULL)
    return 0;
  double wait = s->blocked_until > now ? s->blocked_until - now : 0;
  /* Full: the oldest of the last `limit` must leave the window first. */
  if (s->n >= l->limit) {
    double free_at = s->at[s->n - l->limit] + l->window;
    if (free_at - now > wait)
      wait = free_at - now;
  }
  return wait;
}

/* Drops slots that limit nothing any more at now. */
static void slots_prune(struct limiter *l, double now) {
  size_t kept = 0;
  for (size_t i = 0; i < l->n; i++) {
    const struct limiter_slot *s = &l->v[i];
    bool idle = s->blocked_until <= now &&
                (s->n == 0 || s->at[s->n - 1] + l->window <= now);
    if (!idle)
      l->v[kept++] = *s;
    else
      free(s->at);
  }
  l->n = kept;
}

/* The slot of url, added when absent. NULL when memory runs out. */
static struct limiter_slot *slot_get(struct limiter *l, const char *url,
                                     double now) {
  uint64_t h = hash_str(url);
  struct limiter_slot *s = slot_find(l, h);
  if (s != NULL)
    return s;
  slots_prune(l, now);
  if (array_reserve(&l->v, &l->cap, l->n, sizeof(*l->v), 8) != 0)
    return NULL;
  double *at = malloc(l->limit * sizeof(*at));
  if (at == NULL)
    return NULL;
  s = &l->v[l->n++];
  memset(s, 0, sizeof(*s));
  s->url = h;
  s->at = at;
  return s;
}

int limiter_note(struct limiter *l, const char *url, double at) {
  struct limiter_slot *s = slot_get(l, url, at);
  if (s == NULL)
    return -ENOMEM;
  if (s->n == l->limit) {
    memmove(&s->at[0], &s->at[1], (s->n - 1) * sizeof(s->at[0]));
    s->n--;
  }
  /* Kept in order even when a clock steps back. */
  size_t i = s->n;
  for (; i > 0 && s->at[i - 1] > at; i--)
    s->at[i] = s->at[i - 1];
  s->at[i] = at;
  s->n++;
  return 0;
}

int limiter_block(struct limiter *l, const char *url, double now,
                  double until) {
  struct limiter_slot *s = slot_get(l, url, now);
  if (s == NULL)
    return -ENOMEM;
  if (until > s->blocked_until)
    s->blocked_until = until;
  return 0;
}
