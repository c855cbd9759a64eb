/*
 * commit.c — one storage commit per transaction, and closing.
 *
 * The undo log of the transaction names every object it changed (txn.c):
 *   DB_U_CUST   customer cid        -> its record (put), or a delete if
 *                                      the customer no longer exists
 *   DB_U_TAG    tag id              -> its record (put), or a delete if
 *                                      the tag is no longer live
 *   DB_U_TAGNEW tags >= the count   -> the same, for each tag created
 *   DB_U_DEFS                       -> the definitions record
 *   bitmaps, dictionaries, slot counts: derived, nothing to write
 * plus the meta record when the next tag id moved (or the storage has
 * none yet). Ops go out in key order: meta, definitions, tags, customers.
 * Keys and values are encoded into one buffer kept between commits; the
 * ops point into it only once it has stopped growing.
 *
 * Cost: O(records changed) encoding plus sorting the customer ids; the
 * buffer and arrays are trimmed after a commit that needed more than
 * TRIM_BYTES.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "lifecycle/lc.h"
#include "store/filestore.h"
#include "store/persist.h"
#include "store/rec.h"

#define TRIM_BYTES ((size_t)16 << 20)

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Room for n elements of size sz in *arr (capacity *cap), contents dropped. */
static int room(pc_mem *m, void **arr, size_t *cap, size_t n, size_t sz) {
  if (n <= *cap) return POND_OK;
  size_t nc = *cap ? *cap : 64, bytes;
  while (nc < n) nc *= 2;
  if (!pc_mul_ok(nc, sz, &bytes)) return POND_ENOMEM;
  void *p = pc_alloc(m, bytes);
  if (!p) return POND_ENOMEM;
  pc_free(m, *arr, *cap * sz);
  *arr = p;
  *cap = nc;
  return POND_OK;
}

static size_t sort_unique64(uint64_t *v, size_t n) {
  size_t i = 1;
  while (i < n && v[i - 1] < v[i]) i++;
  if (i >= n) return n;
  qsort(v, n, sizeof *v, cmp_u64);
  size_t w = 1;
  for (size_t j = 1; j < n; j++)
    if (v[j] != v[w - 1]) v[w++] = v[j];
  return w;
}

static size_t sort_unique32(uint32_t *v, size_t n) {
  if (n < 2) return n;
  qsort(v, n, sizeof *v, cmp_u32);
  size_t w = 1;
  for (size_t j = 1; j < n; j++)
    if (v[j] != v[w - 1]) v[w++] = v[j];
  return w;
}

/* An op whose key and value are offsets into the buffer for now. */
static void op_at(pond_kv *o, size_t koff, size_t klen, size_t voff, size_t vlen, int del) {
  o->key = (const void *)(uintptr_t)koff;
  o->klen = klen;
  o->val = del ? NULL : (const void *)(uintptr_t)voff;
  o->vlen = del ? 0 : vlen;
}

static void trim(st_dbs *st, pc_mem *m) {
  if (st->bcap > TRIM_BYTES) {
    pc_free(m, st->buf, st->bcap);
    st->buf = NULL;
    st->bcap = 0;
  }
  if (st->ocap * sizeof *st->ops > TRIM_BYTES) {
    pc_free(m, st->ops, st->ocap * sizeof *st->ops);
    st->ops = NULL;
    st->ocap = 0;
  }
  if (st->icap * sizeof *st->ids > TRIM_BYTES) {
    pc_free(m, st->ids, st->icap * sizeof *st->ids);
    st->ids = NULL;
    st->icap = 0;
  }
  if (st->tcap * sizeof *st->tids > TRIM_BYTES) {
    pc_free(m, st->tids, st->tcap * sizeof *st->tids);
    st->tids = NULL;
    st->tcap = 0;
  }
  if (st->fcap * sizeof *st->fkeys > TRIM_BYTES) {
    pc_free(m, st->fkeys, st->fcap * sizeof *st->fkeys);
    st->fkeys = NULL;
    st->fcap = 0;
  }
}

static int encode(pond_db *db, size_t *nops) {
  st_dbs *st = db->st;
  pc_mem *m = &db->mem;
  const db_txn *tx = &db->tx;
  size_t nc = 0, nt = 0;
  int defs = 0;
  uint32_t tagnew = UINT32_MAX;
  for (size_t i = 0; i < tx->n; i++) {
    const db_undo *u = &tx->log[i];
    switch (u->kind) {
      case DB_U_CUST: nc++; break;
      case DB_U_TAG: nt++; break;
      case DB_U_TAGNEW:
        if (u->u.n < tagnew) tagnew = u->u.n;
        break;
      case DB_U_DEFS: defs = 1; break;
      default: break;
    }
  }
  if (tagnew == 0) tagnew = 1; /* id 0 is never a tag */
  if (tagnew < db->tags.n) nt += db->tags.n - tagnew;
  void *ids = st->ids, *tids = st->tids;
  if (room(m, &ids, &st->icap, nc, sizeof(uint64_t)) < 0) return POND_ENOMEM;
  st->ids = ids;
  if (room(m, &tids, &st->tcap, nt, sizeof(uint32_t)) < 0) return POND_ENOMEM;
  st->tids = tids;
  nc = nt = 0;
  for (size_t i = 0; i < tx->n; i++) {
    const db_undo *u = &tx->log[i];
    if (u->kind == DB_U_CUST) st->ids[nc++] = u->cid;
    else if (u->kind == DB_U_TAG) st->tids[nt++] = u->id;
  }
  for (uint32_t t = tagnew; t < db->tags.n; t++) st->tids[nt++] = t;
  nc = sort_unique64(st->ids, nc);
  nt = sort_unique32(st->tids, nt);
  int meta = !st->meta || st->tag_next != db->tags.n;
  /* lifecycle funnel counters the transaction changed (lc's undo log) */
  size_t nf = lc_funnel_changed(db, NULL, 0);
  void *fk = st->fkeys;
  if (room(m, &fk, &st->fcap, nf, sizeof(uint64_t)) < 0) return POND_ENOMEM;
  st->fkeys = fk;
  lc_funnel_changed(db, st->fkeys, nf);
  nf = sort_unique64(st->fkeys, nf);
  size_t n = nc + nt + nf + (size_t)defs + (size_t)meta;
  void *ops = st->ops;
  if (room(m, &ops, &st->ocap, n, sizeof(pond_kv)) < 0) return POND_ENOMEM;
  st->ops = ops;

  st_buf b = {m, st->buf, 0, st->bcap, 0};
  size_t k = 0, koff, voff;
  if (meta) {
    koff = b.len;
    st_buf_byte(&b, ST_NS_META);
    voff = b.len;
    st_meta_encode(&b, db->tags.n);
    op_at(&st->ops[k++], koff, 1, voff, b.len - voff, 0);
  }
  if (defs) {
    koff = b.len;
    st_buf_byte(&b, ST_NS_DEFS);
    voff = b.len;
    st_defs_encode(&b, db->defs);
    op_at(&st->ops[k++], koff, 1, voff, b.len - voff, 0);
  }
  for (size_t i = 0; i < nt; i++) {
    uint8_t key[ST_KEY_TAG_LEN];
    const tg_tag *t = tg_get(&db->tags, st->tids[i]);
    st_key_tag(key, st->tids[i]);
    koff = b.len;
    st_buf_bytes(&b, key, sizeof key);
    voff = b.len;
    if (t) st_tag_encode(&b, t->group, t->name, t->len);
    op_at(&st->ops[k++], koff, sizeof key, voff, b.len - voff, !t);
  }
  for (size_t i = 0; i < nc; i++) {
    uint8_t key[ST_KEY_CUST_LEN];
    const cu_rec *r = db_cust(db, st->ids[i]);
    st_key_cust(key, st->ids[i]);
    koff = b.len;
    st_buf_bytes(&b, key, sizeof key);
    voff = b.len;
    if (r) st_cust_encode(&b, db, r);
    op_at(&st->ops[k++], koff, sizeof key, voff, b.len - voff, !r);
  }
  for (size_t i = 0; i < nf; i++) {
    uint8_t key[ST_KEY_FUNNEL_LEN];
    uint64_t count = lc_funnel_count(db, st->fkeys[i]);
    st_key_funnel(key, st->fkeys[i]);
    koff = b.len;
    st_buf_bytes(&b, key, sizeof key);
    voff = b.len;
    if (count) st_buf_uv(&b, count);
    op_at(&st->ops[k++], koff, sizeof key, voff, b.len - voff, !count);
  }
  st->buf = b.p;
  st->bcap = b.cap;
  if (b.failed) return POND_ENOMEM;
  for (size_t i = 0; i < k; i++) {
    pond_kv *o = &st->ops[i];
    o->key = b.p + (uintptr_t)o->key;
    if (o->val) o->val = b.p + (uintptr_t)o->val;
  }
  *nops = k;
  return POND_OK;
}

int st_db_commit(pond_db *db) {
  st_dbs *st = db->st;
  size_t n = 0;
  if (encode(db, &n) < 0) {
    trim(st, &db->mem);
    return pc_errf(&db->err, POND_ENOMEM, "commit: out of memory encoding the changed records");
  }
  int rc = n ? st->s.commit(st->s.ctx, st->ops, n) : 0;
  if (rc != 0) {
    const char *msg = st->s.errmsg ? st->s.errmsg(st->s.ctx) : NULL;
    pc_errf(&db->err, POND_ESTORAGE, "storage commit failed (%d)%s%s; the transaction was rolled back",
            rc, msg && *msg ? ": " : "", msg ? msg : "");
  } else {
    st->meta = 1;
    st->tag_next = db->tags.n;
    st->commits++;
  }
  trim(st, &db->mem);
  return rc ? POND_ESTORAGE : POND_OK;
}

void st_db_detach(pond_db *db) {
  st_dbs *st = db->st;
  if (!st) return;
  pc_mem *m = &db->mem;
  if (st->s.close) st->s.close(st->s.ctx);
  pc_free(m, st->buf, st->bcap);
  pc_free(m, st->ops, st->ocap * sizeof *st->ops);
  pc_free(m, st->ids, st->icap * sizeof *st->ids);
  pc_free(m, st->tids, st->tcap * sizeof *st->tids);
  pc_free(m, st->fkeys, st->fcap * sizeof *st->fkeys);
  pc_free(m, st, sizeof *st);
  db->st = NULL;
}
