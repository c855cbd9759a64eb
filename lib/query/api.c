/*
 * api.c — pond_query_prepare / eval / test / free.
 *
 * A pond_query keeps its text and the definitions it was checked against;
 * when pond_define has published other definitions since, the next eval or
 * test prepares the text again (like SQLite re-preparing a statement after
 * a schema change), so ids never outlive the names they stood for. Every
 * call runs under the db's lock: evaluations of several queries on one db
 * are serialized, and see a consistent state.
 */
#include <string.h>

#include "db/db.h"
#include "query/qydb.h"
#include "set.h"

struct pond_query {
  pond_db *db;
  qy_query *q;
  uint64_t gen; /* db->defs_gen when q was checked (a pointer could be reused) */
  char *text;
  size_t len;
};

static int prepare(pond_db *db, const char *text, size_t len, qy_query **out) {
  qy_dbschema ctx = {db, db->defs, NULL, NULL, NULL};
  qy_schema s;
  qy_db_schema(&ctx, &s);
  return qy_prepare(&db->mem, &s, &db->lim, text, len, 0, out, &db->err);
}

/* Re-prepares q when the definitions changed since it was prepared. */
static int current(pond_query *q) {
  pond_db *db = q->db;
  if (q->gen == db->defs_gen) return POND_OK;
  qy_query *nq;
  POND_TRY(prepare(db, q->text, q->len, &nq));
  qy_query_free(q->q);
  q->q = nq;
  q->gen = db->defs_gen;
  return POND_OK;
}

int pond_query_prepare(pond_db *db, const char *expr, size_t len, pond_query **out) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  int rc;
  pond_query *q = NULL;
  if (!out || (!expr && len)) {
    rc = pc_errf(&db->err, POND_EINVAL, "query: expr and out must not be NULL");
    goto done;
  }
  if (!expr) expr = "";
  if (len == POND_NTS) len = strlen(expr);
  q = pc_calloc(&db->mem, sizeof *q);
  if (!q) {
    rc = pc_errf(&db->err, POND_ENOMEM, "query: out of memory");
    goto done;
  }
  q->db = db;
  rc = prepare(db, expr, len, &q->q);
  if (rc < 0) goto done;
  q->text = pc_strndup(&db->mem, expr, len);
  if (!q->text) {
    rc = pc_errf(&db->err, POND_ENOMEM, "query: out of memory");
    goto done;
  }
  q->len = len;
  q->gen = db->defs_gen;
  *out = q;
  q = NULL;
done:
  if (q) {
    qy_query_free(q->q);
    pc_free(&db->mem, q, sizeof *q);
  }
  return db_unlock(db, rc);
}

void pond_query_free(pond_query *q) {
  if (!q) return;
  pond_db *db = q->db;
  db_lock(db);
  qy_query_free(q->q);
  pc_free(&db->mem, q->text, q->len + 1);
  pc_free(&db->mem, q, sizeof *q);
  db_unlock(db, POND_OK);
}

int pond_query_test(pond_query *q, uint64_t cid, int64_t now) {
  if (!q) return POND_EINVAL;
  pond_db *db = q->db;
  db_lock(db);
  int rc = current(q);
  if (rc >= 0) {
    const cu_rec *r = db_cust(db, cid);
    if (!r) {
      rc = db_no_cust(db, cid);
    } else {
      qy_dbrow ctx = {db, r};
      qy_row row;
      qy_db_row(&ctx, cid, &row);
      rc = qy_test(q->q, &row, now);
      if (rc < 0 && !db->err.msg[0]) pc_errf(&db->err, rc, "query: evaluation failed");
    }
  }
  return db_unlock(db, rc);
}

/* Builds (or brings up to date) every index column the tree reads, so that
 * the evaluation itself cannot fail for want of one. */
static int need_columns(pond_db *db, const qy_node *n) {
  qy_dbcol *c;
  switch (n->kind) {
    case QY_AND:
    case QY_OR:
      for (uint32_t i = 0; i < n->n; i++) POND_TRY(need_columns(db, n->kids[i]));
      return POND_OK;
    case QY_NOT:
    case QY_SEGMENT:
    case QY_BOOLCOL:
      return need_columns(db, n->a);
    case QY_CMP:
    case QY_IN:
    case QY_BETWEEN:
    case QY_LIKE:
    case QY_ISNULL:
      POND_TRY(need_columns(db, n->a));
      if (n->b) POND_TRY(need_columns(db, n->b));
      if (n->c) POND_TRY(need_columns(db, n->c));
      return POND_OK;
    case QY_COLUMN:
      if (n->op == QY_COL_ATTR || n->op == QY_COL_ADDED_AT || n->op == QY_COL_LAST_SEEN ||
          n->op == QY_COL_COUNT || n->op == QY_COL_LAST || n->op == QY_COL_STAGE ||
          n->op == QY_COL_SINCE)
        return qy_dbidx_column(db, n->op, n->id, &c);
      return POND_OK;
    default:
      return POND_OK;
  }
}

/* Appends each chunk's TRUE customers to the result bitmap. */
typedef struct collect {
  pc_mem *m;
  bm out;
} collect;

static int emit(void *arg, uint64_t key, const uint64_t *t, const uint64_t *u) {
  collect *c = arg;
  (void)u;
  return bm_append_words(c->m, &c->out, key, t);
}

static int emit_slots(void *arg, uint64_t key, const uint16_t *t, uint32_t nt, const uint16_t *u,
                      uint32_t nu) {
  collect *c = arg;
  (void)u;
  (void)nu;
  for (uint32_t i = 0; i < nt; i++)
    if (bm_add(c->m, &c->out, key << 16 | t[i]) < 0) return POND_ENOMEM;
  return POND_OK;
}

int pond_query_eval(pond_query *q, int64_t now, pond_set **out) {
  if (!q) return POND_EINVAL;
  pond_db *db = q->db;
  db_lock(db);
  int rc = out ? current(q) : pc_errf(&db->err, POND_EINVAL, "query: out must not be NULL");
  if (rc >= 0) rc = need_columns(db, q->q->root);
  if (rc >= 0) {
    collect c = {&db->mem, {0}};
    bm_init(&c.out);
    qy_dbchunks ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.db = db;
    qy_chunks src;
    qy_db_chunks(&ctx, &src);
    qy_sink sink = {&c, emit, emit_slots};
    rc = qy_eval_set(q->q, &src, now, &db->mem, &sink, &db->err);
    qy_db_chunks_free(&ctx);
    if (rc >= 0) rc = set_adopt(&db->mem, &c.out, out);
    if (rc < 0 && !db->err.msg[0]) pc_errf(&db->err, rc, "query: evaluation failed");
    bm_free(&db->mem, &c.out);
  }
  return db_unlock(db, rc);
}
