/*
 * test_filestore_util.h — helpers shared by the file store tests: temporary
 * directories, a reference model of a key-value store (sorted array), and
 * reading a whole pond_storage back into a model while checking that scan
 * returns keys in strictly ascending byte order.
 */
#ifndef POND_TESTS_FILESTORE_UTIL_H
#define POND_TESTS_FILESTORE_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pond.h"

/* REQUIRE from harness.h evaluates its argument twice; this evaluates it
 * once, so it can wrap calls with side effects. Needs harness.h first. */
#define REQ(c)                                                              \
  do {                                                                      \
    if (!(c)) {                                                             \
      fprintf(stderr, "%s:%d: REQ(%s) failed\n", __FILE__, __LINE__, #c);   \
      th_case_failures++;                                                   \
      return;                                                               \
    }                                                                       \
  } while (0)

/* ---------------------------------------------------------- temp dirs */

/* Creates $TMPDIR/pond-fs-XXXXXX (or under /tmp); path has room for 512. */
static inline int fsu_tmpdir(char *path, size_t cap) {
  const char *t = getenv("TMPDIR");
  snprintf(path, cap, "%s/pond-fs-XXXXXX", t && *t ? t : "/tmp");
  return mkdtemp(path) ? 0 : -1;
}

/* Removes every file in dir (flat) and dir itself. */
static inline void fsu_rmtree(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char p[1024];
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

/* -------------------------------------------------------------- model */

typedef struct fsu_kv {
  uint8_t *k, *v;
  size_t kl, vl;
} fsu_kv;

typedef struct fsu_model {
  fsu_kv *e;
  size_t n, cap;
} fsu_model;

static inline int fsu_cmp(const void *a, size_t al, const void *b, size_t bl) {
  size_t n = al < bl ? al : bl;
  int c = n ? memcmp(a, b, n) : 0;
  return c ? c : (al > bl) - (al < bl);
}

/* Position of key, or where it would go (*found says which). */
static inline size_t fsu_find(const fsu_model *m, const void *k, size_t kl, int *found) {
  size_t lo = 0, hi = m->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = fsu_cmp(m->e[mid].k, m->e[mid].kl, k, kl);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *found = 0;
  return lo;
}

static inline void *fsu_dup(const void *p, size_t n) {
  void *q = malloc(n ? n : 1);
  if (n) memcpy(q, p, n);
  return q;
}

/* Applies one op (v == NULL deletes). */
static inline void fsu_apply(fsu_model *m, const void *k, size_t kl, const void *v, size_t vl) {
  int found;
  size_t i = fsu_find(m, k, kl, &found);
  if (!v) {
    if (!found) return;
    free(m->e[i].k);
    free(m->e[i].v);
    memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof *m->e);
    m->n--;
    return;
  }
  if (found) {
    free(m->e[i].v);
    m->e[i].v = fsu_dup(v, vl);
    m->e[i].vl = vl;
    return;
  }
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 64;
    m->e = realloc(m->e, m->cap * sizeof *m->e);
  }
  memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof *m->e);
  m->e[i] = (fsu_kv){fsu_dup(k, kl), fsu_dup(v, vl), kl, vl};
  m->n++;
}

static inline void fsu_apply_ops(fsu_model *m, const pond_kv *ops, size_t n) {
  for (size_t i = 0; i < n; i++) fsu_apply(m, ops[i].key, ops[i].klen, ops[i].val, ops[i].vlen);
}

static inline void fsu_clear(fsu_model *m) {
  for (size_t i = 0; i < m->n; i++) {
    free(m->e[i].k);
    free(m->e[i].v);
  }
  free(m->e);
  memset(m, 0, sizeof *m);
}

static inline void fsu_copy(fsu_model *dst, const fsu_model *src) {
  fsu_clear(dst);
  for (size_t i = 0; i < src->n; i++)
    fsu_apply(dst, src->e[i].k, src->e[i].kl, src->e[i].v, src->e[i].vl);
}

static inline int fsu_equal(const fsu_model *a, const fsu_model *b) {
  if (a->n != b->n) return 0;
  for (size_t i = 0; i < a->n; i++)
    if (fsu_cmp(a->e[i].k, a->e[i].kl, b->e[i].k, b->e[i].kl) ||
        fsu_cmp(a->e[i].v, a->e[i].vl, b->e[i].v, b->e[i].vl))
      return 0;
  return 1;
}

/* --------------------------------------------------- reading a storage */

typedef struct fsu_collect_arg {
  fsu_model *m;
  int disorder; /* set when a key is not greater than the previous one */
  const void *prefix;
  size_t plen;
  int outside; /* set when a key lacks the prefix */
} fsu_collect_arg;

static inline int fsu_collect_each(void *arg, const pond_kv *kv) {
  fsu_collect_arg *a = arg;
  fsu_model *m = a->m;
  if (m->n && fsu_cmp(m->e[m->n - 1].k, m->e[m->n - 1].kl, kv->key, kv->klen) >= 0)
    a->disorder = 1;
  if (kv->klen < a->plen || (a->plen && memcmp(kv->key, a->prefix, a->plen))) a->outside = 1;
  if (!kv->val) a->disorder = 1; /* a scan never yields deletes */
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 64;
    m->e = realloc(m->e, m->cap * sizeof *m->e);
  }
  m->e[m->n++] = (fsu_kv){fsu_dup(kv->key, kv->klen), fsu_dup(kv->val, kv->vlen), kv->klen,
                          kv->vlen};
  return 0;
}

/* Reads every record with the prefix into out (cleared first). Returns the
 * scan's status, or -100 if order or prefix was violated. */
static inline int fsu_read(const pond_storage *s, const void *prefix, size_t plen,
                           fsu_model *out) {
  fsu_clear(out);
  fsu_collect_arg a = {out, 0, prefix, plen, 0};
  int rc = s->scan(s->ctx, prefix, plen, fsu_collect_each, &a);
  if (rc) return rc;
  return a.disorder || a.outside ? -100 : 0;
}

/* The records of m with the prefix, as a new model. */
static inline void fsu_prefix(const fsu_model *m, const void *prefix, size_t plen,
                              fsu_model *out) {
  fsu_clear(out);
  for (size_t i = 0; i < m->n; i++)
    if (m->e[i].kl >= plen && (!plen || !memcmp(m->e[i].k, prefix, plen)))
      fsu_apply(out, m->e[i].k, m->e[i].kl, m->e[i].v, m->e[i].vl);
}

/* 1 if the storage holds exactly the model. */
static inline int fsu_matches(const pond_storage *s, const fsu_model *want) {
  fsu_model got = {0};
  int rc = fsu_read(s, NULL, 0, &got);
  int ok = rc == 0 && fsu_equal(&got, want);
  if (!ok)
    fprintf(stderr, "  storage has %zu records (scan rc %d), model %zu\n", got.n, rc, want->n);
  fsu_clear(&got);
  return ok;
}

/* ------------------------------------------------- failing allocator */

typedef struct fsu_alloc {
  long calls, fail_at; /* fail the fail_at-th allocation (1-based); 0 never */
} fsu_alloc;

static inline void *fsu_alloc_fn(void *ud, void *p, size_t o, size_t n) {
  fsu_alloc *f = ud;
  (void)o;
  if (n == 0) {
    free(p);
    return NULL;
  }
  if (n > o && ++f->calls == f->fail_at) return NULL;
  return realloc(p, n);
}

#endif
