/*
 * mplan.h — a checked "machines" section, ready to apply (private to
 * lib/lifecycle/mdef.c and mapply.c). Names point into the JSON tree.
 */
#ifndef POND_LIFECYCLE_MPLAN_H
#define POND_LIFECYCLE_MPLAN_H

#include <string.h>

#include "db/db.h"
#include "json/json.h"
#include "lifecycle/lc.h"

typedef struct lcp_tr {
  const pj_value *obj;
  uint32_t to; /* index into the document's states */
  uint8_t any;
  uint32_t *from;
  uint32_t nfrom;
  const char *on; /* NULL: an after-transition */
  size_t onlen;
  int64_t after;
  const pj_value *guard;
} lcp_tr;

typedef struct lcp_m {
  const pj_value *obj;
  const char *name;
  size_t len;
  const pj_value *states;
  uint32_t initial;
  lcp_tr *tr;
  uint32_t ntr, ctr; /* checked, allocated */
  const pj_value *rename;
  uint32_t mid;
} lcp_m;

struct lc_plan {
  lcp_m *m;
  uint32_t nm, cm;
  const struct df_plan *dp; /* the rest of the document */
  lc_mset *ns;      /* the new set (prepare) */
  uint64_t *rw;     /* customers whose entries rename_states rewrites */
  uint32_t *rwmid;  /* ... their machine, */
  uint32_t *rwsid;  /* ... and the new state */
  size_t nrw, crw;
  int stale;        /* derived stage columns must be rebuilt */
  pj_buf diag;
  char *dstr; /* the warnings, allocated for lc_apply_commit to adopt */
  size_t dlen;
};

/* The index of state name s in the document's states, or -1. */
static inline int32_t doc_state_index(const pj_value *states, const char *s, size_t n) {
  for (size_t i = 0; i < states->u.arr.n; i++) {
    const pj_value *v = &states->u.arr.items[i];
    if (v->u.str.len == n && memcmp(v->u.str.s, s, n) == 0) return (int32_t)i;
  }
  return -1;
}

int lc_fail(pond_db *db, const pj_value *at, int code, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

#endif
