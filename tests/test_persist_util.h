/*
 * test_persist_util.h — a pond_storage over the sorted-array model of
 * test_filestore_util.h (an oracle: obviously right, all or nothing by
 * construction) that can fail its k-th commit or scan, and helpers to open
 * a db over it and compare states.
 */
#ifndef POND_TESTS_PERSIST_UTIL_H
#define POND_TESTS_PERSIST_UTIL_H

#include "test_db_util.h"
#include "test_filestore_util.h"

typedef struct mst {
  fsu_model m;
  long commits;      /* commits applied */
  long calls;        /* commit calls */
  long fail_commit;  /* fail the commit call with this number (1-based); 0: never */
  int fail_all;      /* fail every commit */
  long scans;
  int fail_scan;     /* scan fails (after yielding fail_scan - 1 records; 1: at once) */
  long ops;          /* ops committed, in total */
  char err[96];
} mst;

static inline int mst_scan(void *ctx, const void *prefix, size_t plen,
                           int (*each)(void *arg, const pond_kv *kv), void *arg) {
  mst *s = ctx;
  s->scans++;
  long left = s->fail_scan;
  for (size_t i = 0; i < s->m.n; i++) {
    const fsu_kv *e = &s->m.e[i];
    if (e->kl < plen || (plen && memcmp(e->k, prefix, plen))) continue;
    if (left && --left == 0) {
      snprintf(s->err, sizeof s->err, "injected scan failure");
      return -1;
    }
    pond_kv kv = {e->k, e->kl, e->v, e->vl};
    int rc = each(arg, &kv);
    if (rc) return rc;
  }
  if (left) {
    snprintf(s->err, sizeof s->err, "injected scan failure");
    return -1;
  }
  return 0;
}

static inline int mst_commit(void *ctx, const pond_kv *ops, size_t n) {
  mst *s = ctx;
  s->calls++;
  if (s->fail_all || s->calls == s->fail_commit) {
    snprintf(s->err, sizeof s->err, "injected failure of commit call %ld", s->calls);
    return -1;
  }
  fsu_apply_ops(&s->m, ops, n);
  s->commits++;
  s->ops += (long)n;
  return 0;
}

static inline const char *mst_errmsg(void *ctx) { return ((mst *)ctx)->err; }

static inline pond_storage mst_vtable(mst *s) {
  pond_storage v = {POND_STORAGE_V1, s, mst_scan, mst_commit, NULL, mst_errmsg};
  return v;
}

/* Opens a db over s (flags: POND_AUTOCREATE…); rc in *rc when given. */
static inline pond_db *mst_open_a(mst *s, unsigned flags, tu_alloc *a, int *rc) {
  pond_storage v = mst_vtable(s);
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  o.flags = flags;
  o.storage = &v;
  if (a) {
    o.alloc = tu_alloc_fn;
    o.alloc_ud = a;
  }
  pond_db *db = NULL;
  int r = pond_open(&o, &db);
  if (rc) *rc = r;
  if (r != POND_OK && !rc) fprintf(stderr, "open over storage: %s\n", pond_errmsg(NULL));
  return db;
}

static inline pond_db *mst_open(mst *s, unsigned flags) { return mst_open_a(s, flags, NULL, NULL); }

/* The dump of a db opened afresh from s (NULL if it does not open). */
static inline char *mst_reload_dump(mst *s, unsigned flags) {
  pond_db *db = mst_open(s, flags);
  if (!db) return NULL;
  char *d = tu_dump(db);
  char why[256] = "";
  if (db_check(db, why, sizeof why) != POND_OK) {
    fprintf(stderr, "reloaded db breaks an invariant: %s\n", why);
    d[0] = 0;
  }
  pond_close(db);
  return d;
}

#endif
