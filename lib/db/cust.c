/*
 * cust.c — customers: the cid -> record map, the all-customers bitmap, and
 * pond_customer_*.
 *
 * The map's value is the record pointer. A record may move (cu_reserve), so
 * code holding one across a growth re-reads it or goes through
 * db_cust_reserve, which stores the new pointer.
 */
#include <inttypes.h>

#include "db/db.h"
#include "lifecycle/lc.h"
#include "query/qydb.h"

cu_rec *db_cust(const pond_db *db, uint64_t cid) {
  uint64_t v;
  return pc_map64_get(&db->cus, cid, &v) == POND_OK ? (cu_rec *)(uintptr_t)v : NULL;
}

uint64_t *db_cust_ref(const pond_db *db, uint64_t cid) { return pc_map64_ref(&db->cus, cid); }

int db_no_cust(pond_db *db, uint64_t cid) {
  return pc_errf(&db->err, POND_NOTFOUND, "customer %" PRIu64 " does not exist", cid);
}

void db_cust_changed(pond_db *db, uint64_t cid) { qy_db_touch(db, cid); }

int db_cust_reserve(pond_db *db, uint64_t cid, uint32_t extra, cu_rec **out) {
  uint64_t *ref = db_cust_ref(db, cid);
  cu_rec *r = (cu_rec *)(uintptr_t)*ref;
  if (cu_reserve(&db->mem, &r, extra) < 0)
    return pc_errf(&db->err, POND_ENOMEM, "out of memory growing customer %" PRIu64, cid);
  *ref = (uint64_t)(uintptr_t)r;
  *out = r;
  return POND_OK;
}

/* All fallible steps first, the bitmap insert last: on its failure nothing
 * is visible yet. */
int db_cust_create_room(pond_db *db, uint64_t cid, int64_t ts, uint32_t extra, cu_rec **out) {
  POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  POND_TRY(db_touch_all1(db, cid));
  if (db_cus_room(db) < 0) return POND_ENOMEM;
  cu_rec *r = cu_new(&db->mem, ts);
  if (!r) return POND_ENOMEM;
  if (extra > r->cap && cu_reserve(&db->mem, &r, extra) < 0) {
    cu_free(&db->mem, r);
    return POND_ENOMEM;
  }
  int rc = bm_add(&db->mem, &db->all, cid);
  if (rc < 0) {
    cu_free(&db->mem, r);
    return rc;
  }
  pc_map64_put(&db->mem, &db->cus, cid, (uint64_t)(uintptr_t)r);
  db_cust_changed(db, cid);
  *out = r;
  return POND_OK;
}

int db_cust_create(pond_db *db, uint64_t cid, int64_t ts, cu_rec **out) {
  if (lc_machines(db)) return lc_customer_create(db, cid, ts, out);
  return db_cust_create_room(db, cid, ts, 0, out);
}

int pond_customer_upsert(pond_db *db, uint64_t cid, int64_t ts) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  cu_rec *r;
  int rc = db_cust(db, cid) ? POND_OK : db_cust_create(db, cid, ts, &r);
  return db_unlock(db, rc);
}

/* Several bitmaps lose cid, each removal fallible (a copy-on-write or a run
 * split can allocate): under a call savepoint, then the record goes. */
static int cust_delete(pond_db *db, uint64_t cid) {
  pc_mem *m = &db->mem;
  cu_rec *r = db_cust(db, cid);
  if (!r) return db_no_cust(db, cid);
  POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  db_call_begin(db);
  int rc = db_touch_all(db, DB_NEED_CALL);
  const uint32_t *k = cu_ckeys(r);
  for (uint32_t i = 0; rc >= 0 && i < r->n; i++) {
    if (cu_is_ctr(k[i]) || cu_is_mach(k[i])) continue; /* in the record only */
    if (k[i] & CU_ATTR) {
      uint32_t a = k[i] & ~CU_ATTR;
      rc = db_touch_has(db, a, DB_NEED_CALL);
      if (rc >= 0) rc = bm_remove(m, &db->av[a].has, cid);
    } else {
      rc = db_touch_tagbm(db, k[i], DB_NEED_CALL);
      if (rc >= 0) rc = bm_remove(m, &db->tags.v[k[i]].members, cid);
    }
  }
  if (rc >= 0) rc = bm_remove(m, &db->all, cid);
  if (db_call_end(db, rc) < 0) return rc;
  /* Tag entries go through tg_unlink so that later parts see removals. */
  while (r->n && !(cu_keys(r)[0] & CU_ATTR)) tg_unlink(db, cid, r, cu_keys(r)[0]);
  pc_map64_del(&db->cus, cid);
  cu_free(m, r);
  db_cust_changed(db, cid);
  return POND_OK;
}

int pond_customer_delete(pond_db *db, uint64_t cid) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, cust_delete(db, cid));
}

int pond_customer_exists(pond_db *db, uint64_t cid) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  int rc = db_cust(db, cid) != NULL;
  return db_unlock(db, rc);
}

uint64_t pond_customer_count(pond_db *db) {
  if (!db) return 0;
  db_lock(db);
  uint64_t n = db->cus.count;
  db_unlock(db, POND_OK);
  return n;
}
