/*
 * test_query_chunks.h — a qy_chunks over an array of fake customers
 * (test_query_fake.h), for the set-evaluation tests and the fuzzer:
 * bitsets computed by scanning the array (slow, obviously right), and
 * real qy_icol indexes for the int columns.
 */
#ifndef POND_TESTS_QUERY_CHUNKS_H
#define POND_TESTS_QUERY_CHUNKS_H

#include <string.h>

#include "query/icol.h"
#include "query/source.h"
#include "test_query_fake.h"

typedef struct pop {
  fq_cust *c;
  size_t n;
} pop;

#define NSTR (sizeof fq_str_values / sizeof fq_str_values[0])

static inline unsigned fc_ctz(uint64_t x) {
  unsigned n = 0;
  while (!(x & 1)) x >>= 1, n++;
  return n;
}

typedef struct fchunks {
  const pop *p;
  pc_mem *m;
  uint64_t keys[8];
  size_t nkeys;
  /* int-valued columns, by kind: attributes (by attr id), added_at,
   * last_seen, since (by machine), count and last (by counter) */
  qy_icol attr[FQ_NATTR], added, seen, since[FQ_NMACHINES], count[FQ_NCOUNTERS],
      last[FQ_NCOUNTERS];
  /* string-valued columns as value ids (attr[] of string attributes too) */
  qy_icol stage[FQ_NMACHINES];
} fchunks;

static inline void fc_bit(uint64_t *w, uint64_t cid) { w[(cid & 0xFFFF) >> 6] |= UINT64_C(1) << (cid & 63); }

static inline int fc_customers(void *ctx, uint64_t key, uint64_t *w) {
  const fchunks *f = ctx;
  memset(w, 0, QY_CHUNK_WORDS * 8);
  for (size_t i = 0; i < f->p->n; i++)
    if (f->p->c[i].cid >> 16 == key) fc_bit(w, f->p->c[i].cid);
  return POND_OK;
}

static inline int fc_tag(void *ctx, uint32_t tag, uint64_t key, uint64_t *w) {
  const fchunks *f = ctx;
  memset(w, 0, QY_CHUNK_WORDS * 8);
  for (size_t i = 0; i < f->p->n; i++)
    if (f->p->c[i].cid >> 16 == key && fq_row_tag((void *)&f->p->c[i], tag)) fc_bit(w, f->p->c[i].cid);
  return POND_OK;
}

static inline int fc_group(void *ctx, uint32_t group, uint64_t key, uint64_t *w) {
  const fchunks *f = ctx;
  memset(w, 0, QY_CHUNK_WORDS * 8);
  for (size_t i = 0; i < f->p->n; i++)
    if (f->p->c[i].cid >> 16 == key && fq_row_group((void *)&f->p->c[i], group))
      fc_bit(w, f->p->c[i].cid);
  return POND_OK;
}

static inline uint64_t fc_tag_count(void *ctx, uint32_t tag) {
  const fchunks *f = ctx;
  uint64_t n = 0;
  for (size_t i = 0; i < f->p->n; i++) n += (uint64_t)fq_row_tag((void *)&f->p->c[i], tag);
  return n;
}

static inline uint64_t fc_group_count(void *ctx, uint32_t group) {
  const fchunks *f = ctx;
  uint64_t n = 0;
  for (size_t i = 0; i < f->p->n; i++) n += (uint64_t)fq_row_group((void *)&f->p->c[i], group);
  return n;
}

static inline const qy_icol *fc_icol(void *ctx, int col, uint32_t id) {
  fchunks *f = ctx;
  switch (col) {
    case QY_COL_ATTR: return &f->attr[id];
    case QY_COL_ADDED_AT: return &f->added;
    case QY_COL_LAST_SEEN: return &f->seen;
    case QY_COL_SINCE: return &f->since[id];
    case QY_COL_STAGE: return &f->stage[id];
    case QY_COL_COUNT: return &f->count[id];
    case QY_COL_LAST: return &f->last[id];
  }
  return NULL;
}

/* The value id of a customer's string column, or -1 for NULL. */
static inline int fc_vid(const fq_cust *c, int col, uint32_t id) {
  if (col == QY_COL_STAGE) return (int)c->stage[id];
  if (c->null[id]) return -1;
  for (size_t v = 0; v < NSTR; v++)
    if (strcmp(fq_str_values[v], c->sv[id]) == 0) return (int)v;
  return -1;
}

static inline int fc_values(void *ctx, int col, uint32_t id,
                     int (*each)(void *arg, uint32_t vid, const char *s, size_t n), void *arg) {
  (void)ctx;
  if (col == QY_COL_STAGE) {
    for (uint32_t st = 0; st < 6 && fq_states[id][st]; st++) {
      int rc = each(arg, st, fq_states[id][st], strlen(fq_states[id][st]));
      if (rc) return rc;
    }
    return POND_OK;
  }
  /* vids in a scrambled order: the evaluator must not depend on it */
  for (size_t k = 0; k < NSTR; k++) {
    uint32_t v = (uint32_t)((k * 7 + 3) % NSTR);
    int rc = each(arg, v, fq_str_values[v], strlen(fq_str_values[v]));
    if (rc) return rc;
  }
  return POND_OK;
}

static inline int fc_value(void *ctx, int col, uint32_t id, uint32_t vid, uint64_t key, uint64_t *w) {
  const fchunks *f = ctx;
  memset(w, 0, QY_CHUNK_WORDS * 8);
  for (size_t i = 0; i < f->p->n; i++)
    if (f->p->c[i].cid >> 16 == key && fc_vid(&f->p->c[i], col, id) == (int)vid)
      fc_bit(w, f->p->c[i].cid);
  return POND_OK;
}

static inline int fc_valued(void *ctx, int col, uint32_t id, uint64_t key, uint64_t *w) {
  const fchunks *f = ctx;
  memset(w, 0, QY_CHUNK_WORDS * 8);
  for (size_t i = 0; i < f->p->n; i++)
    if (f->p->c[i].cid >> 16 == key && fc_vid(&f->p->c[i], col, id) >= 0) fc_bit(w, f->p->c[i].cid);
  return POND_OK;
}

static inline uint64_t fc_value_count(void *ctx, int col, uint32_t id, uint32_t vid) {
  const fchunks *f = ctx;
  uint64_t n = 0;
  for (size_t i = 0; i < f->p->n; i++) n += fc_vid(&f->p->c[i], col, id) == (int)vid;
  return n;
}

static inline void fchunks_init(fchunks *f, const pop *p, pc_mem *m) {
  memset(f, 0, sizeof *f);
  f->p = p;
  f->m = m;
  for (size_t i = 0; i < p->n; i++) {
    const fq_cust *c = &p->c[i];
    uint64_t key = c->cid >> 16;
    if (!f->nkeys || f->keys[f->nkeys - 1] != key) f->keys[f->nkeys++] = key;
    for (size_t a = 0; a < FQ_NATTR; a++)
      if (!c->null[a])
        qy_icol_set(m, &f->attr[a], c->cid,
                    fq_attrs[a].type == QY_T_STRING ? fc_vid(c, QY_COL_ATTR, (uint32_t)a) : c->iv[a]);
    for (int k = 0; k < FQ_NMACHINES; k++) qy_icol_set(m, &f->stage[k], c->cid, c->stage[k]);
    qy_icol_set(m, &f->added, c->cid, c->added_at);
    if (!c->last_seen_null) qy_icol_set(m, &f->seen, c->cid, c->last_seen);
    for (int k = 0; k < FQ_NMACHINES; k++) qy_icol_set(m, &f->since[k], c->cid, c->since[k]);
    for (int k = 0; k < FQ_NCOUNTERS; k++)
      if (c->count[k]) { /* 0 events: no entry, which COUNT reads as 0 */
        qy_icol_set(m, &f->count[k], c->cid, c->count[k]);
        qy_icol_set(m, &f->last[k], c->cid, c->last[k]);
      }
  }
}

static inline void fchunks_free(fchunks *f) {
  for (size_t a = 0; a < FQ_NATTR; a++) qy_icol_free(f->m, &f->attr[a]);
  qy_icol_free(f->m, &f->added);
  qy_icol_free(f->m, &f->seen);
  for (int k = 0; k < FQ_NMACHINES; k++) {
    qy_icol_free(f->m, &f->since[k]);
    qy_icol_free(f->m, &f->stage[k]);
  }
  for (int k = 0; k < FQ_NCOUNTERS; k++) {
    qy_icol_free(f->m, &f->count[k]);
    qy_icol_free(f->m, &f->last[k]);
  }
}

/* The chunk's customers when there are at most cap (qy_chunks.few). */
static inline int fc_few(void *ctx, uint64_t key, uint16_t *slots, uint32_t cap) {
  const fchunks *f = ctx;
  uint32_t n = 0;
  for (size_t i = 0; i < f->p->n; i++)
    if (f->p->c[i].cid >> 16 == key) {
      if (n == cap) return (int)cap + 1;
      slots[n++] = (uint16_t)f->p->c[i].cid;
    }
  return (int)n;
}

static inline int fc_row(void *ctx, uint64_t cid, qy_row *out) {
  const fchunks *f = ctx;
  for (size_t i = 0; i < f->p->n; i++)
    if (f->p->c[i].cid == cid) {
      *out = fq_row(&f->p->c[i]);
      return POND_OK;
    }
  return POND_ECORRUPT;
}

/* rows: chunks with few customers are evaluated customer by customer. */
static inline qy_chunks fc_source_rows(fchunks *f, int rows) {
  qy_chunks s = {f,        f->keys,     f->nkeys,       f->p->n,   fc_customers,
                 fc_tag,   fc_group,    fc_tag_count,   fc_group_count, fc_icol,
                 fc_values, fc_value,   fc_valued,      fc_value_count,
                 rows ? fc_few : NULL, rows ? fc_row : NULL, NULL};
  return s;
}

static inline qy_chunks fc_source(fchunks *f) { return fc_source_rows(f, 0); }

/* Collects the ids of the emitted TRUE or UNKNOWN bitsets. */
typedef struct collect {
  uint64_t *ids;
  size_t n, cap;
  int unknown;
} collect;

static inline int collect_emit(void *arg, uint64_t key, const uint64_t *t, const uint64_t *u) {
  collect *c = arg;
  const uint64_t *w = c->unknown ? u : t;
  for (unsigned i = 0; i < QY_CHUNK_WORDS; i++)
    for (uint64_t bits = w[i]; bits; bits &= bits - 1) {
      if (c->n == c->cap) return POND_ELIMIT;
      c->ids[c->n++] = key << 16 | (i * 64 + fc_ctz(bits));
    }
  return POND_OK;
}

static inline int collect_slots(void *arg, uint64_t key, const uint16_t *t, uint32_t nt,
                                const uint16_t *u, uint32_t nu) {
  collect *c = arg;
  const uint16_t *s = c->unknown ? u : t;
  uint32_t n = c->unknown ? nu : nt;
  for (uint32_t i = 0; i < n; i++) {
    if (c->n == c->cap) return POND_ELIMIT;
    if (i && s[i - 1] >= s[i]) return POND_ECORRUPT; /* ascending */
    c->ids[c->n++] = key << 16 | s[i];
  }
  return POND_OK;
}

#endif
