/*
 * test_db_util.h — helpers for the db/tags/define/txn tests: a dump of the
 * whole state (to compare before/after a failed call), the invariant check,
 * and an allocator that fails on demand.
 */
#ifndef POND_TESTS_DB_UTIL_H
#define POND_TESTS_DB_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "harness.h"
#include "json/json.h"
#include "pond.h"

/* The state of db as a malloc'd string (free with free). */
static inline char *tu_dump(pond_db *db) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pj_buf b;
  pj_buf_init(&b, &m);
  db_dump(db, &b);
  char *s = malloc(b.len + 1);
  if (s) {
    if (b.len) memcpy(s, b.p, b.len);
    s[b.len] = 0;
  }
  if (b.failed) s[0] = 0;
  pj_buf_free(&b);
  return s;
}

/* CHECKs that db's invariants hold. */
#define TU_INVARIANTS(db)                                     \
  do {                                                        \
    char why_[256] = "";                                      \
    int rc_ = db_check((db), why_, sizeof why_);              \
    if (rc_ != POND_OK) fprintf(stderr, "invariant: %s\n", why_); \
    CHECK_EQ(rc_, POND_OK);                                   \
  } while (0)

/* CHECKs that db's state is the text `before` (a tu_dump). */
#define TU_SAME(db, before)                                   \
  do {                                                        \
    char *after_ = tu_dump(db);                               \
    CHECK_STR(after_, before);                                \
    free(after_);                                             \
  } while (0)

static inline pond_db *tu_open(unsigned flags) {
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  o.flags = flags;
  pond_db *db = NULL;
  if (pond_open(&o, &db) != POND_OK) return NULL;
  return db;
}

static inline int tu_define(pond_db *db, const char *doc) {
  return pond_define(db, doc, strlen(doc));
}

static inline uint32_t tu_tag(pond_db *db, const char *name) {
  uint32_t id = 0;
  int rc = pond_tag_id(db, name, &id);
  if (rc != POND_OK) fprintf(stderr, "tag_id(%s): %s\n", name, pond_errmsg(db));
  return id;
}

/* An allocator that refuses the k-th allocation or growth from now on
 * (k = 0: never) and counts them. */
typedef struct tu_alloc {
  long countdown; /* fail when it reaches 0 */
  long calls;
  int failed;
  size_t live;
} tu_alloc;

static inline void *tu_alloc_fn(void *ud, void *p, size_t o, size_t n) {
  tu_alloc *a = ud;
  if (n == 0) {
    free(p);
    a->live -= o;
    return NULL;
  }
  if (n > o) {
    a->calls++;
    if (a->countdown > 0 && --a->countdown == 0) {
      a->failed = 1;
      return NULL;
    }
  }
  void *q = realloc(p, n);
  if (q) a->live += n - (p ? o : 0);
  return q;
}

static inline pond_db *tu_open_alloc(tu_alloc *a, unsigned flags) {
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  o.flags = flags;
  o.alloc = tu_alloc_fn;
  o.alloc_ud = a;
  pond_db *db = NULL;
  if (pond_open(&o, &db) != POND_OK) return NULL;
  return db;
}

#endif
