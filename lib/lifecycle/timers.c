/*
 * timers.c — the timer queue and pond_tick.
 *
 * Every pending timer is derived from a customer record: machine m's
 * armed after-transition is due at max(since, last_seen) + duration
 * (unless the spent bit is set), a tag of a group with a ttl expires at
 * its added time + ttl. So the queue holds no truth of its own: it is
 * rebuilt from the records whenever it may disagree with them (at the
 * first tick, after pond_define, after a rollback of lifecycle changes),
 * and durability is the records' (a reopen rebuilds it: nothing is lost,
 * nothing fires twice, since a fired timer changed its record in the same
 * commit).
 *
 * Layout: a calendar queue. Entries (cid, kind, offset: 16 bytes) sit in
 * buckets of LC_TQ_WIDTH seconds, kept in an array sorted by bucket key.
 * A bucket is appended to, unsorted, until a tick reaches it; then it is
 * sorted once by (due, cid, kind) — an LSD radix sort skipping constant
 * digits — and consumed in order from a cursor. Entries added to a bucket
 * after it was sorted go to a small binary heap beside it; the tick takes
 * the smaller of the cursor's and the heap's head. Push is O(log buckets)
 * for the bucket search, pop O(1) amortized plus the sort's O(n) passes.
 * (A binary heap over all entries costs a cache miss per level per pop at
 * 10M entries; bench/bench_lifecycle.c measures both.)
 *
 * Entries are validated when they come due: one whose record no longer
 * gives that due time is dropped, or pushed again at the later due time
 * when activity moved it (activity itself never touches the queue: the
 * re-arm is paid once, when the old due time arrives).
 */
#include <string.h>

#include "db/db.h"
#include "lifecycle/lc.h"

static int64_t bkey(int64_t due) {
  /* floor division: negative times sort before positive ones */
  return due >= 0 ? due >> LC_TQ_SHIFT : -((-due + LC_TQ_WIDTH - 1) >> LC_TQ_SHIFT);
}

static void bucket_free(pc_mem *m, lc_bucket *b) {
  pc_free(m, b->v, (size_t)b->cap * sizeof *b->v);
  pc_free(m, b->h, (size_t)b->hcap * sizeof *b->h);
  memset(b, 0, sizeof *b);
}

void lc_tq_free(pc_mem *m, lc_tq *q) {
  for (uint32_t i = 0; i < q->nb; i++) bucket_free(m, &q->b[i]);
  pc_free(m, q->b, (size_t)q->cb * sizeof *q->b);
  pc_free(m, q->tmp, q->ntmp * sizeof *q->tmp);
  q->b = NULL;
  q->nb = q->cb = 0;
  q->tmp = NULL;
  q->ntmp = 0;
  q->count = 0;
}

/* The bucket with key k: 1 and *i, or 0 and *i where it would go. */
static int bfind(const lc_tq *q, int64_t k, uint32_t *i) {
  uint32_t lo = 0, hi = q->nb;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (q->b[mid].key < k) lo = mid + 1;
    else hi = mid;
  }
  *i = lo;
  return lo < q->nb && q->b[lo].key == k;
}

static int grow(pc_mem *m, void **p, uint32_t *cap, uint32_t need, size_t sz) {
  if (*cap >= need) return POND_OK;
  uint32_t nc = *cap ? *cap : 8;
  while (nc < need) {
    if (nc > UINT32_MAX / 2) return POND_ENOMEM;
    nc *= 2;
  }
  void *np = pc_realloc(m, *p, (size_t)*cap * sz, (size_t)nc * sz);
  if (!np) return POND_ENOMEM;
  *p = np;
  *cap = nc;
  return POND_OK;
}

int lc_tq_reserve(pc_mem *m, lc_tq *q, int64_t due, uint32_t k) {
  int64_t key = bkey(due);
  uint32_t i;
  if (!bfind(q, key, &i)) {
    void *b = q->b;
    POND_TRY(grow(m, &b, &q->cb, q->nb + 1, sizeof *q->b));
    q->b = b;
    memmove(q->b + i + 1, q->b + i, (size_t)(q->nb - i) * sizeof *q->b);
    memset(&q->b[i], 0, sizeof q->b[i]);
    q->b[i].key = key;
    q->nb++;
  }
  lc_bucket *b = &q->b[i];
  void *p;
  if (b->sorted) {
    p = b->h;
    POND_TRY(grow(m, &p, &b->hcap, b->hn + k, sizeof *b->h));
    b->h = p;
  } else {
    p = b->v;
    POND_TRY(grow(m, &p, &b->cap, b->n + k, sizeof *b->v));
    b->v = p;
  }
  return POND_OK;
}

static int ent_lt(const lc_tent *a, const lc_tent *b) {
  if (a->off != b->off) return a->off < b->off;
  if (a->cid != b->cid) return a->cid < b->cid;
  return a->kind < b->kind;
}

static void heap_push(lc_bucket *b, lc_tent e) {
  uint32_t i = b->hn++;
  while (i) {
    uint32_t p = (i - 1) / 2;
    if (!ent_lt(&e, &b->h[p])) break;
    b->h[i] = b->h[p];
    i = p;
  }
  b->h[i] = e;
}

static lc_tent heap_pop(lc_bucket *b) {
  lc_tent top = b->h[0], last = b->h[--b->hn];
  uint32_t i = 0, n = b->hn;
  for (;;) {
    uint32_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && ent_lt(&b->h[c + 1], &b->h[c])) c++;
    if (!ent_lt(&b->h[c], &last)) break;
    b->h[i] = b->h[c];
    i = c;
  }
  if (n) b->h[i] = last;
  return top;
}

void lc_tq_push(lc_tq *q, int64_t due, uint64_t cid, uint32_t kind) {
  int64_t key = bkey(due);
  uint32_t i;
  bfind(q, key, &i); /* reserved: it exists */
  lc_bucket *b = &q->b[i];
  lc_tent e = {cid, kind, (uint32_t)(due - key * LC_TQ_WIDTH)};
  if (b->sorted) heap_push(b, e);
  else b->v[b->n++] = e;
  q->count++;
}

/* ------------------------------------------------------------- sorting */

/* Sorts v[0..n) by (off, cid, kind): stable LSD radix passes over the
 * bytes of kind, cid and off, least significant first, skipping bytes all
 * entries share (ids are dense, kinds few: most passes are skipped). */
static int sort_entries(pc_mem *m, lc_tq *q, lc_tent *v, size_t n) {
  if (n < 64) {
    for (size_t i = 1; i < n; i++) {
      lc_tent x = v[i];
      size_t j = i;
      while (j && ent_lt(&x, &v[j - 1])) {
        v[j] = v[j - 1];
        j--;
      }
      v[j] = x;
    }
    return POND_OK;
  }
  /* already in order (entries pushed in cid order at one time): done */
  size_t i = 1;
  while (i < n && !ent_lt(&v[i], &v[i - 1])) i++;
  if (i == n) return POND_OK;
  if (q->ntmp < n) {
    lc_tent *t = pc_realloc(m, q->tmp, q->ntmp * sizeof *t, n * sizeof *t);
    if (!t) return POND_ENOMEM;
    q->tmp = t;
    q->ntmp = n;
  }
  lc_tent *a = v, *b = q->tmp;
  for (int d = 0; d < 14; d++) {
    /* digits 0-3: kind, 4-11: cid, 12-13: off */
    size_t cnt[256] = {0};
    unsigned sh = d < 4 ? (unsigned)d * 8 : d < 12 ? (unsigned)(d - 4) * 8 : (unsigned)(d - 12) * 8;
#define DIGIT(e) \
  (unsigned)((d < 4 ? (uint64_t)(e).kind : d < 12 ? (e).cid : (uint64_t)(e).off) >> sh & 0xff)
    for (size_t k = 0; k < n; k++) cnt[DIGIT(a[k])]++;
    if (cnt[DIGIT(a[0])] == n) continue;
    size_t sum = 0;
    for (int c = 0; c < 256; c++) {
      size_t x = cnt[c];
      cnt[c] = sum;
      sum += x;
    }
    for (size_t k = 0; k < n; k++) b[cnt[DIGIT(a[k])]++] = a[k];
#undef DIGIT
    lc_tent *t = a;
    a = b;
    b = t;
  }
  if (a != v) memcpy(v, a, n * sizeof *v);
  return POND_OK;
}

/* ------------------------------------------------------------- rebuild */

static int push1(pc_mem *m, lc_tq *q, int64_t due, uint64_t cid, uint32_t kind) {
  POND_TRY(lc_tq_reserve(m, q, due, 1));
  lc_tq_push(q, due, cid, kind);
  return POND_OK;
}

/* The queue from the records: every armed machine timer and ttl tag. */
static int rebuild(pond_db *db, lc_rt *rt) {
  pc_mem *m = &db->mem;
  lc_tq *q = &rt->tq;
  const lc_mset *ms = lc_machines(db);
  const df_defs *d = db->defs;
  lc_tq_free(m, q);
  int ttl = 0;
  for (uint32_t g = 0; g < d->ngroups; g++) ttl |= d->groups[g].live && d->groups[g].ttl > 0;
  uint64_t cid, v;
  size_t it = 0;
  int rc = POND_OK;
  while (rc >= 0 && (ms || ttl) && pc_map64_next(&db->cus, &it, &cid, &v)) {
    const cu_rec *r = (const cu_rec *)(uintptr_t)v;
    for (uint32_t mid = 0; ms && ms->has_after && mid < ms->nm && rc >= 0; mid++) {
      int64_t due;
      if (ms->m[mid].live && lc_due(&ms->m[mid], mid, r, &due)) rc = push1(m, q, due, cid, mid);
    }
    const uint32_t *k = cu_ckeys(r);
    for (uint32_t i = 0; ttl && i < r->n && cu_is_tag(k[i]) && rc >= 0; i++) {
      int64_t t = d->groups[db->tags.v[k[i]].group].ttl;
      int64_t at = cu_cvals(r)[i];
      if (t > 0) rc = push1(m, q, at > INT64_MAX - t ? INT64_MAX : at + t, cid, LC_TK_TAG | k[i]);
    }
  }
  if (rc < 0) {
    lc_tq_free(m, q);
    q->rebuild = 1;
    return pc_errf(&db->err, rc, "tick: out of memory rebuilding the timers");
  }
  /* vectors grew by doubling: give the slack back (a failed shrink keeps
   * the larger block) — 16 bytes a timer plus the bucket headers */
  for (uint32_t i = 0; i < q->nb; i++) {
    lc_bucket *b = &q->b[i];
    if (b->n < b->cap) {
      lc_tent *v = pc_realloc(m, b->v, (size_t)b->cap * sizeof *v, (size_t)(b->n ? b->n : 1) * sizeof *v);
      if (v) {
        b->v = v;
        b->cap = b->n ? b->n : 1;
      }
    }
  }
  q->rebuild = 0;
  q->built = 1;
  q->gen = db->defs_gen;
  return POND_OK;
}

/* ---------------------------------------------------------------- tick */

/* The earliest entry (without removing it): 1 and *e, *due; 0 if empty. */
static int peek(pond_db *db, lc_tq *q, int64_t now, lc_tent *e, int64_t *due, int *rc) {
  while (q->nb) {
    lc_bucket *b = &q->b[0];
    if (b->key > now / LC_TQ_WIDTH + 1) return 0; /* nothing due: no need to sort it */
    if (!b->sorted) {
      if ((*rc = sort_entries(&db->mem, q, b->v, b->n)) < 0) return 0;
      b->sorted = 1;
      b->pos = 0;
    }
    int hv = b->pos < b->n, hh = b->hn > 0;
    if (!hv && !hh) {
      bucket_free(&db->mem, b);
      memmove(q->b, q->b + 1, (size_t)(q->nb - 1) * sizeof *q->b);
      q->nb--;
      continue;
    }
    *e = hv && (!hh || !ent_lt(&b->h[0], &b->v[b->pos])) ? b->v[b->pos] : b->h[0];
    *due = b->key * LC_TQ_WIDTH + e->off;
    return 1;
  }
  return 0;
}

static void pop(lc_tq *q) {
  lc_bucket *b = &q->b[0];
  int hv = b->pos < b->n, hh = b->hn > 0;
  if (hv && (!hh || !ent_lt(&b->h[0], &b->v[b->pos]))) b->pos++;
  else heap_pop(b);
  q->count--;
}

int lc_fire_machine(pond_db *db, lc_rt *rt, uint64_t cid, uint32_t mid, int64_t due);
int lc_fire_ttl(pond_db *db, lc_rt *rt, uint64_t cid, uint32_t tag, int64_t due);

static int tick(pond_db *db, int64_t now, uint64_t *fired) {
  const lc_mset *ms = lc_machines(db);
  const df_defs *d = db->defs;
  int ttl = 0;
  for (uint32_t g = 0; g < d->ngroups; g++) ttl |= d->groups[g].live && d->groups[g].ttl > 0;
  if (!ms && !ttl) return POND_OK;
  lc_rt *rt;
  POND_TRY(lc_rt_need(db, &rt));
  lc_tq *q = &rt->tq;
  if (!q->built || q->rebuild || q->gen != db->defs_gen) POND_TRY(rebuild(db, rt));
  db_call_begin(db);
  /* consumed entries come back by a rebuild if this call is undone */
  int rc = db_touch_lc(db, DB_NEED_CALL);
  lc_tent e;
  int64_t due;
  while (rc >= 0 && peek(db, q, now, &e, &due, &rc) && due <= now) {
    pop(q);
    if (e.kind & LC_TK_TAG) rc = lc_fire_ttl(db, rt, e.cid, e.kind & ~LC_TK_TAG, due);
    else rc = lc_fire_machine(db, rt, e.cid, e.kind, due);
    if (rc > 0) {
      (*fired)++;
      rc = POND_OK;
    }
  }
  /* the sort scratch is the size of the largest bucket sorted: not kept */
  if (q->ntmp > 65536) {
    pc_free(&db->mem, q->tmp, q->ntmp * sizeof *q->tmp);
    q->tmp = NULL;
    q->ntmp = 0;
  }
  return db_call_end(db, rc);
}

int pond_tick(pond_db *db, int64_t now) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  uint64_t fired = 0;
  return db_unlock(db, tick(db, now, &fired));
}

uint64_t lc_pending_timers(const pond_db *db) { return db->lc ? db->lc->tq.count : 0; }

void lc_ttl_linked(pond_db *db, uint64_t cid, uint32_t tag, int64_t ts) {
  lc_rt *rt = db->lc;
  if (!rt || !rt->tq.built || rt->tq.rebuild || rt->tq.gen != db->defs_gen) return;
  const tg_tag *t = &db->tags.v[tag];
  int64_t ttl = db->defs->groups[t->group].ttl;
  if (ttl <= 0) return;
  int64_t due = ts > INT64_MAX - ttl ? INT64_MAX : ts + ttl;
  /* a re-add's older entry goes stale and is dropped when it comes due */
  if (lc_tq_reserve(&db->mem, &rt->tq, due, 1) < 0) rt->tq.rebuild = 1;
  else lc_tq_push(&rt->tq, due, cid, LC_TK_TAG | tag);
}
