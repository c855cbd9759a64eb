/*
 * dbidx.c — the derived indexes of set evaluation, kept in step with the
 * customer records lazily (see qydb.h).
 *
 * A column is built the first time a query reads it (O(holders)) and then
 * updated from the pending customers at the start of each evaluation
 * (O(pending × built columns)). An update that fails halfway drops the
 * column (it is rebuilt on next use) so that no index ever disagrees with
 * the records it claims to reflect.
 */
#include <string.h>

#include "db/db.h"
#include "lifecycle/lc.h"
#include "query/qydb.h"

static void col_free(pc_mem *m, qy_dbcol *c) {
  qy_icol_free(m, &c->col);
  for (uint32_t v = 0; v < c->nbyval; v++) bm_free(m, &c->byval[v]);
  pc_free(m, c->byval, (size_t)c->nbyval * sizeof *c->byval);
  memset(c, 0, sizeof *c);
}

void qy_db_close(pond_db *db) {
  qy_dbidx *x = db->qidx;
  if (!x) return;
  pc_mem *m = &db->mem;
  for (uint32_t a = 0; a < x->nattr; a++) col_free(m, &x->attr[a]);
  pc_free(m, x->attr, (size_t)x->nattr * sizeof *x->attr);
  for (uint32_t k = 0; k < x->nctr; k++) col_free(m, &x->ctr[k]);
  pc_free(m, x->ctr, (size_t)x->nctr * sizeof *x->ctr);
  col_free(m, &x->added);
  col_free(m, &x->seen);
  for (uint32_t k = 0; k < x->nmach; k++) col_free(m, &x->mach[k]);
  pc_free(m, x->mach, (size_t)x->nmach * sizeof *x->mach);
  pc_map64_free(m, &x->pending);
  pc_free(m, x, sizeof *x);
  db->qidx = NULL;
}

static int any_built(const qy_dbidx *x) {
  if (x->added.built || x->seen.built) return 1;
  for (uint32_t a = 0; a < x->nattr; a++)
    if (x->attr[a].built) return 1;
  for (uint32_t k = 0; k < x->nctr; k++)
    if (x->ctr[k].built) return 1;
  for (uint32_t k = 0; k < x->nmach; k++)
    if (x->mach[k].built) return 1;
  return 0;
}

void qy_db_stale(pond_db *db) {
  if (db->qidx) db->qidx->stale = 1;
}

void qy_db_touch(pond_db *db, uint64_t cid) {
  qy_dbidx *x = db->qidx;
  /* nothing built: nothing to keep up to date */
  if (!x || x->stale || !any_built(x)) return;
  if (pc_map64_put(&db->mem, &x->pending, cid, 0) < 0) x->stale = 1;
}

/* The value of column c for record r: 1 and *v, or 0 for NULL. */
static int record_value(const pond_db *db, int col, uint32_t id, const cu_rec *r, int64_t *v) {
  if (!r) return 0;
  if (col == QY_COL_STAGE || col == QY_COL_SINCE) {
    const lc_mset *ms = db->defs->machines;
    if (!ms || id >= ms->nm || !ms->m[id].live) return 0;
    uint32_t sid;
    int64_t since;
    int spent;
    lc_state_of(&ms->m[id], id, r, &sid, &since, &spent);
    *v = col == QY_COL_STAGE ? (int64_t)sid : since;
    return 1;
  }
  if (col == QY_COL_ADDED_AT) {
    *v = r->added_at;
    return 1;
  }
  if (col == QY_COL_LAST_SEEN) {
    if (r->last_seen == CU_UNSET) return 0;
    *v = r->last_seen;
    return 1;
  }
  uint32_t pos, key = col == QY_COL_COUNT  ? cu_ctr_count_key(id)
                      : col == QY_COL_LAST ? cu_ctr_last_key(id)
                                           : CU_ATTR | id;
  /* count('e') without an entry is 0, which the evaluator supplies for
   * customers the column does not hold (source.h) */
  if (!cu_find(r, key, &pos)) return 0;
  *v = cu_cvals(r)[pos];
  return 1;
}

static int byval_room(pc_mem *m, qy_dbcol *c, uint32_t vid) {
  if (vid < c->nbyval) return POND_OK;
  uint32_t n = c->nbyval ? c->nbyval : 8;
  while (n <= vid) n *= 2;
  bm *b = pc_realloc(m, c->byval, (size_t)c->nbyval * sizeof *b, (size_t)n * sizeof *b);
  if (!b) return POND_ENOMEM;
  for (uint32_t v = c->nbyval; v < n; v++) bm_init(&b[v]);
  c->byval = b;
  c->nbyval = n;
  return POND_OK;
}

/* Brings customer cid's entry of column c in line with record r. */
static int col_update(pond_db *db, qy_dbcol *c, int col, uint32_t id, uint64_t cid,
                      const cu_rec *r) {
  pc_mem *m = &db->mem;
  int64_t want = 0, have = 0;
  int w = record_value(db, col, id, r, &want);
  int h = qy_icol_get(&c->col, cid, &have);
  if (w == h && (!w || want == have)) return POND_OK;
  if (c->type == QY_T_STRING) {
    if (w) {
      POND_TRY(byval_room(m, c, (uint32_t)want));
      if (bm_add(m, &c->byval[want], cid) < 0) return POND_ENOMEM;
    }
    if (h && (uint64_t)have < c->nbyval && bm_remove(m, &c->byval[have], cid) < 0)
      return POND_ENOMEM;
  }
  if (w) return qy_icol_set(m, &c->col, cid, want);
  qy_icol_clear(m, &c->col, cid);
  return POND_OK;
}

static qy_dbcol *col_of(qy_dbidx *x, int col, uint32_t id) {
  if (col == QY_COL_ADDED_AT) return &x->added;
  if (col == QY_COL_LAST_SEEN) return &x->seen;
  if (col == QY_COL_COUNT || col == QY_COL_LAST) {
    uint64_t k = (uint64_t)id * 2 + (col == QY_COL_LAST);
    return k < x->nctr ? &x->ctr[k] : NULL;
  }
  if (col == QY_COL_STAGE || col == QY_COL_SINCE) {
    uint64_t k = (uint64_t)id * 2 + (col == QY_COL_SINCE);
    return k < x->nmach ? &x->mach[k] : NULL;
  }
  return id < x->nattr ? &x->attr[id] : NULL;
}

/* The type the column's values have now. */
static int col_type(const pond_db *db, int col, uint32_t id) {
  if (col == QY_COL_ATTR) return db->defs->attrs[id].type;
  if (col == QY_COL_STAGE) return QY_T_STRING;
  return col == QY_COL_COUNT ? QY_T_INT : QY_T_TIME;
}

static int col_build(pond_db *db, qy_dbcol *c, int col, uint32_t id) {
  c->type = (uint8_t)col_type(db, col, id);
  /* an attribute's holders are its has bitmap; counters and built-ins:
   * anyone (counters keep no bitmap of holders) */
  const bm *who = col == QY_COL_ATTR ? (id < db->nav ? &db->av[id].has : NULL) : &db->all;
  if (who) {
    bm_iter it;
    uint64_t cid;
    bm_iter_init(&it, who, 0);
    while (bm_iter_next(&it, &cid)) {
      int rc = col_update(db, c, col, id, cid, db_cust(db, cid));
      if (rc < 0) return rc;
    }
  }
  c->built = 1;
  return POND_OK;
}

/* Applies the pending customers to every built column. */
static int sync(pond_db *db, qy_dbidx *x) {
  pc_mem *m = &db->mem;
  if (x->stale) {
    for (uint32_t a = 0; a < x->nattr; a++) col_free(m, &x->attr[a]);
    for (uint32_t k = 0; k < x->nctr; k++) col_free(m, &x->ctr[k]);
    for (uint32_t k = 0; k < x->nmach; k++) col_free(m, &x->mach[k]);
    col_free(m, &x->added);
    col_free(m, &x->seen);
    pc_map64_free(m, &x->pending);
    pc_map64_init(&x->pending);
    x->stale = 0;
    return POND_OK;
  }
  if (x->pending.count == 0) return POND_OK;
  uint64_t cid, v;
  size_t it = 0;
  while (pc_map64_next(&x->pending, &it, &cid, &v)) {
    const cu_rec *r = db_cust(db, cid);
    for (uint32_t a = 0; a <= x->nattr + 1; a++) {
      int col = a < x->nattr ? QY_COL_ATTR : a == x->nattr ? QY_COL_ADDED_AT : QY_COL_LAST_SEEN;
      qy_dbcol *c = col_of(x, col, a);
      if (!c->built) continue;
      /* a dropped attribute: its values are gone; forget the column */
      if (col == QY_COL_ATTR && (a >= db->defs->nattrs || !db->defs->attrs[a].live)) {
        col_free(m, c);
        continue;
      }
      if (col_update(db, c, col, a, cid, r) < 0) col_free(m, c); /* rebuilt on next use */
    }
    for (uint32_t k = 0; k < x->nctr; k++) {
      qy_dbcol *c = &x->ctr[k];
      int col = k & 1 ? QY_COL_LAST : QY_COL_COUNT;
      if (!c->built) continue;
      if (k / 2 >= db->defs->ncounters || !db->defs->counters[k / 2].live) {
        col_free(m, c);
        continue;
      }
      if (col_update(db, c, col, k / 2, cid, r) < 0) col_free(m, c);
    }
    for (uint32_t k = 0; k < x->nmach; k++) {
      qy_dbcol *c = &x->mach[k];
      if (c->built && col_update(db, c, k & 1 ? QY_COL_SINCE : QY_COL_STAGE, k / 2, cid, r) < 0)
        col_free(m, c);
    }
    pc_map64_del(&x->pending, cid);
  }
  return POND_OK;
}

int qy_dbidx_column(pond_db *db, int col, uint32_t id, qy_dbcol **out) {
  pc_mem *m = &db->mem;
  if (!db->qidx) {
    db->qidx = pc_calloc(m, sizeof *db->qidx);
    if (!db->qidx) return pc_errf(&db->err, POND_ENOMEM, "query: out of memory");
    pc_map64_init(&db->qidx->pending);
  }
  qy_dbidx *x = db->qidx;
  if (col == QY_COL_ATTR && id >= x->nattr) {
    uint32_t n = db->defs->nattrs > id ? db->defs->nattrs : id + 1;
    qy_dbcol *a = pc_realloc(m, x->attr, (size_t)x->nattr * sizeof *a, (size_t)n * sizeof *a);
    if (!a) return pc_errf(&db->err, POND_ENOMEM, "query: out of memory");
    memset(a + x->nattr, 0, (size_t)(n - x->nattr) * sizeof *a);
    x->attr = a;
    x->nattr = n;
  }
  if ((col == QY_COL_COUNT || col == QY_COL_LAST) && (uint64_t)id * 2 + 2 > x->nctr) {
    uint64_t want = (uint64_t)(db->defs->ncounters > id ? db->defs->ncounters : id + 1) * 2;
    if (want > UINT32_MAX / 2) return pc_errf(&db->err, POND_ELIMIT, "query: counter id out of range");
    uint32_t n = (uint32_t)want;
    qy_dbcol *k = pc_realloc(m, x->ctr, (size_t)x->nctr * sizeof *k, (size_t)n * sizeof *k);
    if (!k) return pc_errf(&db->err, POND_ENOMEM, "query: out of memory");
    memset(k + x->nctr, 0, (size_t)(n - x->nctr) * sizeof *k);
    x->ctr = k;
    x->nctr = n;
  }
  if ((col == QY_COL_STAGE || col == QY_COL_SINCE) && (uint64_t)id * 2 + 2 > x->nmach) {
    uint32_t n = (id + 1) * 2;
    qy_dbcol *k = pc_realloc(m, x->mach, (size_t)x->nmach * sizeof *k, (size_t)n * sizeof *k);
    if (!k) return pc_errf(&db->err, POND_ENOMEM, "query: out of memory");
    memset(k + x->nmach, 0, (size_t)(n - x->nmach) * sizeof *k);
    x->mach = k;
    x->nmach = n;
  }
  /* machine columns follow one machine set: another one (pond_define, a
   * rollback) may give records without an entry another home state */
  if (x->mset != (const void *)db->defs->machines) {
    for (uint32_t k = 0; k < x->nmach; k++) col_free(m, &x->mach[k]);
    x->mset = db->defs->machines;
  }
  POND_TRY(sync(db, x));
  qy_dbcol *c = col_of(x, col, id);
  /* an attribute whose type changed (possible while no customer has a
   * value, and by a rollback of the definitions): index it anew */
  if (c->built && c->type != col_type(db, col, id)) col_free(m, c);
  if (!c->built) {
    int rc = col_build(db, c, col, id);
    if (rc < 0) {
      col_free(m, c);
      return pc_errf(&db->err, rc, "query: out of memory while indexing");
    }
  }
  *out = c;
  return POND_OK;
}
