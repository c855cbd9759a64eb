/*
 * set.c — pond_set_*: immutable sets of customer ids (see set.h).
 *
 * Reading a set takes no lock: a set is never modified after it is made,
 * and the containers it shares with the db are copied before the db
 * changes them. Calls that make a set from a db (deserialize, op) lock the
 * db only to report errors and to allocate through its accounting.
 */
#include "set.h"

#include "db/db.h"

int set_adopt(pc_mem *m, bm *b, pond_set **out) {
  pond_set *s = pc_alloc(m, sizeof *s);
  if (!s) return POND_ENOMEM;
  s->m = m;
  bm_init(&s->b);
  bm_move(m, &s->b, b);
  *out = s;
  return POND_OK;
}

int set_from_bm(pc_mem *m, const bm *b, pond_set **out) {
  bm c;
  bm_init(&c);
  POND_TRY(bm_copy(m, &c, b));
  int rc = set_adopt(m, &c, out);
  if (rc < 0) bm_free(m, &c);
  return rc;
}

uint64_t pond_set_count(const pond_set *s) { return s ? bm_card(&s->b) : 0; }

size_t pond_set_page(const pond_set *s, uint64_t from, uint64_t *out, size_t cap) {
  if (!s || !out || !cap) return 0;
  return bm_page(&s->b, from, out, cap);
}

int pond_set_contains(const pond_set *s, uint64_t cid) {
  return s ? bm_contains(&s->b, cid) : 0;
}

int pond_set_serialize(const pond_set *s, void *buf, size_t cap, size_t *len) {
  if (!s || !len) return POND_EINVAL;
  size_t n;
  POND_TRY(bm_serialize(&s->b, buf, buf ? cap : 0, &n));
  *len = n;
  return POND_OK;
}

int pond_set_deserialize(pond_db *db, const void *buf, size_t len, pond_set **out) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  int rc;
  bm b;
  bm_init(&b);
  if (!out || (!buf && len)) {
    rc = pc_errf(&db->err, POND_EINVAL, "set_deserialize: out is NULL, or buf is NULL with len > 0");
  } else if ((rc = bm_deserialize(&db->mem, buf, len, -1, &b, &db->err)) == POND_OK) {
    rc = set_adopt(&db->mem, &b, out);
    if (rc < 0) bm_free(&db->mem, &b);
  }
  return db_unlock(db, rc);
}

int pond_set_op(pond_db *db, int op, const pond_set *a, const pond_set *b, pond_set **out) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  int rc;
  bm r;
  bm_init(&r);
  if (!a || !b || !out) {
    rc = pc_errf(&db->err, POND_EINVAL, "set_op: a, b and out must not be NULL");
  } else if (op < POND_AND || op > POND_XOR) {
    rc = pc_errf(&db->err, POND_EINVAL, "set_op: unknown operation %d", op);
  } else if (a->m != &db->mem || b->m != &db->mem) {
    /* Containers are shared between the operands and the result, and
     * their memory is accounted to one db. */
    rc = pc_errf(&db->err, POND_EINVAL, "set_op: the sets belong to a different db");
  } else if ((rc = bm_op(&db->mem, op, &a->b, &b->b, &r)) == POND_OK) {
    rc = set_adopt(&db->mem, &r, out);
    if (rc < 0) bm_free(&db->mem, &r);
  }
  return db_unlock(db, rc);
}

void pond_set_free(pond_set *s) {
  if (!s) return;
  pc_mem *m = s->m;
  bm_free(m, &s->b);
  pc_free(m, s, sizeof *s);
}
