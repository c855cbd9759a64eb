/*
 * bulk.c — operations over many customers or a whole tag:
 * pond_tag_add_many, pond_tag_rename, pond_tag_merge, pond_tag_delete.
 *
 * Each one does every fallible step first — the transaction's images,
 * record growth, bitmap changes under a call savepoint — and then changes
 * the customer records, which cannot fail. So records need an image only
 * for an open transaction, never for the call itself.
 *
 * Cost: add_many O(n log n) for unsorted input (O(n) sorted), plus one
 * record lookup per distinct id; merge and delete O(members of the tag).
 */
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The distinct ids of cids, ascending: cids itself when it already is
 * (*owned = 0), else a sorted copy. */
static int sorted_ids(pc_mem *m, const uint64_t *cids, size_t n, uint64_t **out, size_t *nout,
                      size_t *owned) {
  size_t i = 1;
  while (i < n && cids[i - 1] < cids[i]) i++;
  if (i >= n) {
    *out = (uint64_t *)cids;
    *nout = n;
    *owned = 0;
    return POND_OK;
  }
  size_t bytes;
  if (!pc_mul_ok(n, sizeof *cids, &bytes)) return POND_ENOMEM;
  uint64_t *v = pc_alloc(m, bytes);
  if (!v) return POND_ENOMEM;
  memcpy(v, cids, bytes);
  qsort(v, n, sizeof *v, cmp_u64);
  size_t w = 1;
  for (size_t j = 1; j < n; j++)
    if (v[j] != v[w - 1]) v[w++] = v[j];
  *out = v;
  *nout = w;
  *owned = n;
  return POND_OK;
}

typedef struct add_many_ctx {
  uint64_t *ids; /* distinct, ascending */
  size_t n;
  size_t owned;   /* elements allocated in ids (0: borrowed) */
  cu_rec **recs;  /* recs[i]: ids[i]'s record, NULL when it is to be created */
  size_t nnew;
} add_many_ctx;

/* Fallible preparation: images, records' room, new records. */
static int add_many_prepare(pond_db *db, uint32_t tag, add_many_ctx *c, int64_t ts) {
  pc_mem *m = &db->mem;
  size_t bytes;
  if (!pc_mul_ok(c->n, sizeof *c->recs, &bytes)) return POND_ENOMEM;
  if (!(c->recs = pc_calloc(m, bytes))) return POND_ENOMEM;
  POND_TRY(db_touch_tagbm(db, tag, DB_NEED_TXN));
  /* With the map's room for every image reserved up front, a touch never
   * rehashes it, so each customer is looked up once (ref stays valid). */
  if (db->tx.open) POND_TRY(pc_map64_reserve(m, &db->cus, db->tx.cus_pending + c->n));
  for (size_t i = 0; i < c->n; i++) {
    uint64_t cid = c->ids[i];
    uint64_t *ref = db_cust_ref(db, cid);
    cu_rec *r = ref ? (cu_rec *)(uintptr_t)*ref : NULL;
    uint32_t pos;
    if (!r) {
      if (!(db->flags & POND_AUTOCREATE)) return POND_NOTFOUND; /* named by the caller */
      c->nnew++;
    }
    if (db->tx.open) POND_TRY(db_touch_cust_rec(db, cid, r, 1, DB_NEED_TXN));
    if (!r) continue;
    if (!cu_find(r, tag, &pos) && r->n == r->cap) {
      if (cu_reserve(m, &r, 1) < 0) return pc_errf(&db->err, POND_ENOMEM, "out of memory growing customer %llu", (unsigned long long)cid);
      *ref = (uint64_t)(uintptr_t)r;
    }
    c->recs[i] = r;
  }
  if (c->nnew) {
    POND_TRY(pc_map64_reserve(m, &db->cus, db->tx.cus_pending + c->nnew));
    for (size_t i = 0; i < c->n; i++) {
      if (c->recs[i]) continue;
      cu_rec *r = cu_new(m, ts);
      if (!r || cu_reserve(m, &r, 1) < 0) {
        cu_free(m, r);
        return POND_ENOMEM;
      }
      /* Marked as new by the low bit until it is published. */
      c->recs[i] = (cu_rec *)((uintptr_t)r | 1);
    }
  }
  return POND_OK;
}

static void add_many_free(pond_db *db, add_many_ctx *c) {
  if (c->recs) {
    for (size_t i = 0; i < c->n; i++)
      if ((uintptr_t)c->recs[i] & 1) cu_free(&db->mem, (cu_rec *)((uintptr_t)c->recs[i] & ~(uintptr_t)1));
    pc_free(&db->mem, c->recs, c->n * sizeof *c->recs);
  }
  if (c->owned) pc_free(&db->mem, c->ids, c->owned * sizeof *c->ids);
}

/* The bitmap changes, under a call savepoint: new customers into `all`,
 * exclusive siblings lose the ids, the tag gains them (last). */
static int add_many_bitmaps(pond_db *db, uint32_t tag, add_many_ctx *c) {
  pc_mem *m = &db->mem;
  tg_table *t = &db->tags;
  uint32_t gid = t->v[tag].group;
  bm ids;
  bm_init(&ids);
  int rc = bm_add_many(m, &ids, c->ids, c->n, NULL);
  if (rc >= 0 && c->nnew) {
    rc = db_touch_all(db, DB_NEED_CALL);
    if (rc >= 0) rc = bm_op_inplace(m, BM_OR, &db->all, &ids);
  }
  if (db->defs->groups[gid].exclusive) {
    for (uint32_t s = 1; rc >= 0 && s < t->n; s++) {
      if (s == tag || !t->v[s].live || t->v[s].group != gid) continue;
      if (!bm_op_card(BM_AND, &t->v[s].members, &ids)) continue;
      rc = db_touch_tagbm(db, s, DB_NEED_CALL);
      if (rc >= 0) rc = bm_op_inplace(m, BM_ANDNOT, &t->v[s].members, &ids);
    }
  }
  if (rc >= 0) rc = bm_op_inplace(m, BM_OR, &t->v[tag].members, &ids);
  bm_free(m, &ids);
  return rc;
}

static int add_many(pond_db *db, uint32_t tag, const uint64_t *cids, size_t n, int64_t ts) {
  tg_tag *t;
  POND_TRY(tg_need(db, tag, &t));
  if (n == 0) return POND_OK;
  if (!cids) return pc_errf(&db->err, POND_EINVAL, "tag_add_many: cids is NULL");
  add_many_ctx c;
  memset(&c, 0, sizeof c);
  int rc = sorted_ids(&db->mem, cids, n, &c.ids, &c.n, &c.owned);
  if (rc >= 0) rc = add_many_prepare(db, tag, &c, ts);
  if (rc == POND_NOTFOUND) /* the first missing customer in the caller's order */
    for (size_t i = 0; i < n; i++)
      if (!db_cust(db, cids[i])) {
        rc = db_no_cust(db, cids[i]);
        break;
      }
  if (rc >= 0) {
    db_call_begin(db);
    rc = db_call_end(db, add_many_bitmaps(db, tag, &c));
  }
  if (rc >= 0) {
    /* Publish: nothing below can fail. */
    uint32_t gid = db->tags.v[tag].group;
    int excl = db->defs->groups[gid].exclusive;
    for (size_t i = 0; i < c.n; i++) {
      cu_rec *r = c.recs[i];
      if ((uintptr_t)r & 1) {
        r = (cu_rec *)((uintptr_t)r & ~(uintptr_t)1);
        c.recs[i] = NULL;
        pc_map64_put(&db->mem, &db->cus, c.ids[i], (uint64_t)(uintptr_t)r); /* reserved */
        db_cust_changed(db, c.ids[i]);
      }
      uint32_t sib;
      if (excl && (sib = tg_sibling(db, r, gid, tag))) tg_unlink(db, c.ids[i], r, sib);
      tg_link(db, c.ids[i], r, tag, ts);
    }
  }
  add_many_free(db, &c);
  return rc;
}

int pond_tag_add_many(pond_db *db, uint32_t tag, const uint64_t *cids, size_t n, int64_t ts) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, add_many(db, tag, cids, n, ts));
}

static int tag_rename(pond_db *db, uint32_t tag, const char *name) {
  tg_tag *t;
  POND_TRY(tg_need(db, tag, &t));
  if (!name) return pc_errf(&db->err, POND_EINVAL, "tag_rename: new_name is NULL");
  size_t len = strlen(name), slash;
  uint32_t gid, other;
  POND_TRY(tg_name_check(name, len, &slash, &db->err));
  if (len == t->len && memcmp(name, t->name, len) == 0) return POND_OK;
  if (df_group_find(db->defs, name, slash, &gid) < 0)
    return pc_errf(&db->err, POND_NOTFOUND, "tag group '%.*s' is not defined", (int)slash, name);
  if (tg_find(&db->tags, name, len, &other) == POND_OK)
    return pc_errf(&db->err, POND_ECONFLICT, "tag '%s' already exists", name);
  if (gid != t->group && db->defs->groups[gid].exclusive) {
    int ov = tg_group_overlaps(db, gid, 0, tag);
    if (ov < 0) return ov;
    if (ov)
      return pc_errf(&db->err, POND_ECONFLICT,
                     "customers holding '%s' already hold a tag of the exclusive group '%.*s'",
                     t->name, (int)slash, name);
  }
  POND_TRY(db_touch_tag(db, tag, DB_NEED_TXN));
  POND_TRY(db_names_room(db));
  char *nm = pc_strndup(&db->mem, name, len);
  if (!nm) return POND_ENOMEM;
  t = &db->tags.v[tag];
  pc_strmap_del(&db->tags.ids, t->name, t->len);
  pc_free(&db->mem, t->name, t->len + 1);
  t->name = nm;
  t->len = (uint32_t)len;
  t->group = gid;
  pc_strmap_put(&db->mem, &db->tags.ids, nm, len, tag); /* room reserved */
  return POND_OK;
}

int pond_tag_rename(pond_db *db, uint32_t tag, const char *new_name) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, tag_rename(db, tag, new_name));
}

/* into's bitmap gains from's members (its exclusive siblings lose them)
 * under a call savepoint; then each member's record swaps from for into,
 * which never needs more room; then from is deleted. */
static int tag_merge(pond_db *db, uint32_t from, uint32_t into, int64_t ts) {
  tg_tag *f, *t;
  POND_TRY(tg_need(db, from, &f));
  POND_TRY(tg_need(db, into, &t));
  if (from == into) return pc_errf(&db->err, POND_EINVAL, "tag_merge: a tag cannot merge into itself");
  pc_mem *m = &db->mem;
  tg_table *tt = &db->tags;
  uint32_t gid = t->group;
  int excl = db->defs->groups[gid].exclusive;
  POND_TRY(tg_delete_prepare(db, from));
  POND_TRY(db_touch_tagbm(db, into, DB_NEED_TXN));
  db_call_begin(db);
  int rc = POND_OK;
  for (uint32_t s = 1; excl && rc >= 0 && s < tt->n; s++) {
    if (s == into || s == from || !tt->v[s].live || tt->v[s].group != gid) continue;
    if (!bm_op_card(BM_AND, &tt->v[s].members, &tt->v[from].members)) continue;
    rc = db_touch_tagbm(db, s, DB_NEED_CALL);
    if (rc >= 0) rc = bm_op_inplace(m, BM_ANDNOT, &tt->v[s].members, &tt->v[from].members);
  }
  if (rc >= 0) rc = bm_op_inplace(m, BM_OR, &tt->v[into].members, &tt->v[from].members);
  if (db_call_end(db, rc) < 0) return rc;
  bm_iter it;
  uint64_t cid;
  bm_iter_init(&it, &tt->v[from].members, 0);
  while (bm_iter_next(&it, &cid)) {
    cu_rec *r = db_cust(db, cid);
    uint32_t sib;
    tg_unlink(db, cid, r, from);
    while (excl && (sib = tg_sibling(db, r, gid, into))) tg_unlink(db, cid, r, sib);
    tg_link(db, cid, r, into, ts);
  }
  tg_delete_apply(db, from);
  return POND_OK;
}

int pond_tag_merge(pond_db *db, uint32_t from, uint32_t into, int64_t ts) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, tag_merge(db, from, into, ts));
}

int pond_tag_delete(pond_db *db, uint32_t tag) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  tg_tag *t;
  int rc = tg_need(db, tag, &t);
  if (rc >= 0) rc = tg_delete_prepare(db, tag);
  if (rc >= 0) tg_delete_apply(db, tag);
  return db_unlock(db, rc);
}
