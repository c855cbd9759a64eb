/*
 * api.c — pond_tag_id/name/add/remove/has/count/members, pond_customer_tags.
 * (Bulk and table-wide operations are in bulk.c.)
 *
 * pond_tag_add of an existing customer to a tag with no exclusive sibling
 * is the fast path: its only fallible step, the bitmap insert, comes last,
 * so out of a transaction it needs no before-image at all. Adding a tag of
 * an exclusive group to a customer holding a sibling, or creating the
 * customer (POND_AUTOCREATE), changes two bitmaps: that runs under a call
 * savepoint (db/txn.c).
 */
#include <string.h>

#include "db/db.h"
#include "lifecycle/lc.h"
#include "set.h"

int pond_tag_id(pond_db *db, const char *name, uint32_t *id) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  int rc;
  size_t slash, len;
  uint32_t gid, t;
  if (!name || !id) {
    rc = pc_errf(&db->err, POND_EINVAL, "tag_id: name and id must not be NULL");
    goto out;
  }
  len = strlen(name);
  if ((rc = tg_name_check(name, len, &slash, &db->err)) < 0) goto out;
  if (tg_find(&db->tags, name, len, &t) == POND_OK) {
    *id = t;
    goto out;
  }
  if (df_group_find(db->defs, name, slash, &gid) < 0) {
    rc = pc_errf(&db->err, POND_NOTFOUND, "tag group '%.*s' is not defined", (int)slash, name);
    goto out;
  }
  if (db->defs->groups[gid].exclusive) {
    rc = pc_errf(&db->err, POND_NOTFOUND,
                 "tag '%s' does not exist (tags of the exclusive group '%.*s' are created by "
                 "definitions only)",
                 name, (int)slash, name);
    goto out;
  }
  if ((rc = tg_create(db, name, len, gid, &t)) == POND_OK) *id = t;
out:
  return db_unlock(db, rc);
}

int pond_tag_name(pond_db *db, uint32_t tag, const char **name) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  tg_tag *t;
  int rc = name ? tg_need(db, tag, &t) : pc_errf(&db->err, POND_EINVAL, "tag_name: name is NULL");
  if (rc == POND_OK) *name = t->name;
  return db_unlock(db, rc);
}

/* Adds tag to cid when that takes two bitmap changes: the customer is
 * created (POND_AUTOCREATE) and/or loses an exclusive sibling. */
static int add_slow(pond_db *db, uint64_t cid, uint32_t tag, uint32_t sib, int64_t ts) {
  pc_mem *m = &db->mem;
  cu_rec *r = db_cust(db, cid);
  db_call_begin(db);
  /* A customer created here must go again if a later step fails. */
  int rc = db_touch_cust(db, cid, r ? DB_NEED_TXN : DB_NEED_CALL);
  if (rc >= 0) rc = db_touch_tagbm(db, tag, DB_NEED_TXN);
  if (rc >= 0 && !r) {
    rc = db_touch_all(db, DB_NEED_CALL);
    if (rc >= 0) rc = db_cust_create(db, cid, ts, &r);
  }
  if (rc >= 0 && sib) {
    rc = db_touch_tagbm(db, sib, DB_NEED_CALL);
    if (rc >= 0) rc = bm_remove(m, &db->tags.v[sib].members, cid);
  }
  if (rc >= 0) rc = db_cust_reserve(db, cid, 1, &r);
  if (rc >= 0) rc = bm_add(m, &db->tags.v[tag].members, cid);
  if (db_call_end(db, rc) < 0) return rc;
  if (sib) tg_unlink(db, cid, r, sib);
  tg_link(db, cid, r, tag, ts);
  return POND_OK;
}

static int tag_add(pond_db *db, uint64_t cid, uint32_t tag, int64_t ts) {
  tg_tag *t;
  POND_TRY(tg_need(db, tag, &t));
  cu_rec *r = db_cust(db, cid);
  if (!r) {
    if (!(db->flags & POND_AUTOCREATE)) return db_no_cust(db, cid);
    return add_slow(db, cid, tag, 0, ts);
  }
  uint32_t pos;
  if (cu_find(r, tag, &pos)) { /* re-adding refreshes the time only */
    POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
    tg_link(db, cid, r, tag, ts);
    return POND_OK;
  }
  uint32_t gid = t->group;
  uint32_t sib = db->defs->groups[gid].exclusive ? tg_sibling(db, r, gid, tag) : 0;
  if (sib) return add_slow(db, cid, tag, sib, ts);
  if (POND_UNLIKELY(db_logging(db))) {
    POND_TRY(db_touch_cust_rec(db, cid, r, 1, DB_NEED_TXN));
    POND_TRY(db_touch_tagbm1(db, tag, cid));
  }
  if (r->n == r->cap) POND_TRY(db_cust_reserve(db, cid, 1, &r));
  int rc = bm_add(&db->mem, &t->members, cid);
  if (rc < 0) return rc;
  tg_link(db, cid, r, tag, ts);
  return POND_OK;
}

int pond_tag_add(pond_db *db, uint64_t cid, uint32_t tag, int64_t ts) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  /* lifecycle machines listening to tag events: decided before, published
   * after the tag call (lib/lifecycle/dispatch.c) */
  int lc = lc_tag_prepare(db, cid, tag, 1, ts), rc = lc;
  if (rc >= 0) rc = tag_add(db, cid, tag, ts);
  if (rc >= 0 && lc > 0) lc_tag_commit(db, cid);
  return db_unlock(db, rc);
}

static int tag_remove(pond_db *db, uint64_t cid, uint32_t tag) {
  tg_tag *t;
  POND_TRY(tg_need(db, tag, &t));
  cu_rec *r = db_cust(db, cid);
  if (!r) return db_no_cust(db, cid);
  uint32_t pos;
  if (!cu_find(r, tag, &pos)) return POND_OK;
  POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  POND_TRY(db_touch_tagbm1(db, tag, cid));
  int rc = bm_remove(&db->mem, &t->members, cid);
  if (rc < 0) return rc;
  tg_unlink(db, cid, db_cust(db, cid), tag);
  return POND_OK;
}

int pond_tag_remove(pond_db *db, uint64_t cid, uint32_t tag, int64_t ts) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  int lc = lc_tag_prepare(db, cid, tag, 0, ts), rc = lc;
  if (rc >= 0) rc = tag_remove(db, cid, tag);
  if (rc >= 0 && lc > 0) lc_tag_commit(db, cid);
  return db_unlock(db, rc);
}

int pond_tag_has(pond_db *db, uint64_t cid, uint32_t tag) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  tg_tag *t;
  int rc = tg_need(db, tag, &t);
  if (rc == POND_OK) {
    cu_rec *r = db_cust(db, cid);
    uint32_t pos;
    rc = r ? cu_find(r, tag, &pos) : db_no_cust(db, cid);
  }
  return db_unlock(db, rc);
}

int pond_customer_tags(pond_db *db, uint64_t cid, uint32_t *out, size_t cap, size_t *n) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  int rc = POND_OK;
  cu_rec *r = db_cust(db, cid);
  if (!n || (!out && cap)) rc = pc_errf(&db->err, POND_EINVAL, "customer_tags: n is NULL, or out is NULL with cap > 0");
  else if (!r) rc = db_no_cust(db, cid);
  else {
    uint32_t nt = cu_ntags(r);
    const uint32_t *k = cu_ckeys(r);
    for (size_t i = 0; i < nt && i < cap; i++) out[i] = k[i];
    *n = nt;
  }
  return db_unlock(db, rc);
}

int pond_tag_members(pond_db *db, uint32_t tag, pond_set **out) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  tg_tag *t;
  int rc = out ? tg_need(db, tag, &t) : pc_errf(&db->err, POND_EINVAL, "tag_members: out is NULL");
  if (rc == POND_OK) rc = set_from_bm(&db->mem, &t->members, out);
  return db_unlock(db, rc);
}

int pond_tag_count(pond_db *db, uint32_t tag, uint64_t *n) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  tg_tag *t;
  int rc = n ? tg_need(db, tag, &t) : pc_errf(&db->err, POND_EINVAL, "tag_count: n is NULL");
  if (rc == POND_OK) *n = bm_card(&t->members);
  return db_unlock(db, rc);
}
