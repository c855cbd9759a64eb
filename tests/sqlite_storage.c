/*
 * sqlite_storage.c — pond_storage V1 over SQLite (see sqlite_storage.h).
 */
#include "sqlite_storage.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sq {
  sqlite3 *db;
  sqlite3_stmt *put, *del, *scan, *begin, *commit, *rollback;
  char err[512];
} sq;

static int fail(sq *q, const char *what) {
  snprintf(q->err, sizeof q->err, "sqlite storage: %s: %s", what, sqlite3_errmsg(q->db));
  return POND_ESTORAGE;
}

/* A zero-length blob, never NULL: an empty key or value is not absent. */
static int bind_bytes(sqlite3_stmt *st, int i, const void *p, size_t n) {
  if (n == 0) return sqlite3_bind_zeroblob(st, i, 0);
  return sqlite3_bind_blob64(st, i, p, (sqlite3_uint64)n, SQLITE_TRANSIENT);
}

static int sq_scan(void *ctx, const void *prefix, size_t plen,
                   int (*each)(void *arg, const pond_kv *kv), void *arg) {
  sq *q = ctx;
  sqlite3_stmt *st = q->scan;
  if (bind_bytes(st, 1, prefix, plen) != SQLITE_OK) return fail(q, "scan");
  int rc = 0, r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    const void *k = sqlite3_column_blob(st, 0);
    size_t kl = (size_t)sqlite3_column_bytes(st, 0);
    if (kl < plen || (plen && memcmp(k, prefix, plen))) break;
    const void *v = sqlite3_column_blob(st, 1);
    size_t vl = (size_t)sqlite3_column_bytes(st, 1);
    pond_kv kv = {kl ? k : "", kl, v ? v : "", vl};
    rc = each(arg, &kv);
    if (rc) break;
  }
  if (!rc && r != SQLITE_ROW && r != SQLITE_DONE) rc = fail(q, "scan");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

static int step_done(sqlite3_stmt *st) {
  int r = sqlite3_step(st);
  sqlite3_reset(st);
  return r == SQLITE_DONE ? 0 : r;
}

static int sq_commit(void *ctx, const pond_kv *ops, size_t n) {
  sq *q = ctx;
  if (step_done(q->begin)) return fail(q, "begin");
  for (size_t i = 0; i < n; i++) {
    sqlite3_stmt *st = ops[i].val ? q->put : q->del;
    int r = bind_bytes(st, 1, ops[i].key, ops[i].klen);
    if (r == SQLITE_OK && ops[i].val) r = bind_bytes(st, 2, ops[i].val, ops[i].vlen);
    if (r == SQLITE_OK) r = step_done(st);
    sqlite3_clear_bindings(st);
    if (r != SQLITE_OK) {
      int rc = fail(q, ops[i].val ? "insert" : "delete");
      step_done(q->rollback);
      return rc;
    }
  }
  if (step_done(q->commit)) {
    int rc = fail(q, "commit");
    step_done(q->rollback);
    return rc;
  }
  return 0;
}

static const char *sq_errmsg(void *ctx) { return ((sq *)ctx)->err; }

static void sq_close(void *ctx) {
  sq *q = ctx;
  sqlite3_finalize(q->put);
  sqlite3_finalize(q->del);
  sqlite3_finalize(q->scan);
  sqlite3_finalize(q->begin);
  sqlite3_finalize(q->commit);
  sqlite3_finalize(q->rollback);
  sqlite3_close(q->db);
  free(q);
}

int sqlite_storage_open(const char *path, int nosync, pond_storage *out, char *err, size_t cap) {
  sq *q = calloc(1, sizeof *q);
  if (!q) return POND_ENOMEM;
  const char *setup = nosync ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
                             : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
  int r = sqlite3_open(path, &q->db);
  if (r == SQLITE_OK) r = sqlite3_exec(q->db, setup, NULL, NULL, NULL);
  if (r == SQLITE_OK)
    r = sqlite3_exec(q->db,
                     "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB NOT NULL) "
                     "WITHOUT ROWID",
                     NULL, NULL, NULL);
  struct {
    sqlite3_stmt **st;
    const char *sql;
  } stmts[] = {
      {&q->put, "INSERT OR REPLACE INTO kv(k, v) VALUES (?1, ?2)"},
      {&q->del, "DELETE FROM kv WHERE k = ?1"},
      {&q->scan, "SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k"},
      {&q->begin, "BEGIN IMMEDIATE"},
      {&q->commit, "COMMIT"},
      {&q->rollback, "ROLLBACK"},
  };
  for (size_t i = 0; r == SQLITE_OK && i < sizeof stmts / sizeof *stmts; i++)
    r = sqlite3_prepare_v2(q->db, stmts[i].sql, -1, stmts[i].st, NULL);
  if (r != SQLITE_OK) {
    if (err && cap) snprintf(err, cap, "sqlite storage: %s", q->db ? sqlite3_errmsg(q->db) : "open failed");
    sq_close(q);
    return POND_ESTORAGE;
  }
  memset(out, 0, sizeof *out);
  out->version = POND_STORAGE_V1;
  out->ctx = q;
  out->scan = sq_scan;
  out->commit = sq_commit;
  out->close = sq_close;
  out->errmsg = sq_errmsg;
  return 0;
}

void *sqlite_storage_db(const pond_storage *s) { return ((sq *)s->ctx)->db; }
