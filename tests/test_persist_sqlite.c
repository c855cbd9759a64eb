/*
 * test_persist_sqlite.c — a real db on a real host database: the SQLite
 * pond_storage adapter (tests/sqlite_storage.c, written only with the
 * public vtable) under pond_open.
 *
 *   - a random workload runs on two dbs at once, one over SQLite and one
 *     over the sorted-array model storage: after every step both storages
 *     hold exactly the same records, and SQLite reopens to the db's state;
 *   - a commit SQLite refuses (another connection holds the write lock)
 *     fails the call with POND_ESTORAGE and SQLite's own message, rolls the
 *     db back, and the next commit works.
 */
#include <sqlite3.h>

#include "sqlite_storage.h"
#include "test_db_ops.h"
#include "test_persist_util.h"

static pond_db *open_sqlite(const char *path, unsigned flags) {
  pond_storage s;
  char err[256];
  if (sqlite_storage_open(path, 1, &s, err, sizeof err)) {
    fprintf(stderr, "sqlite: %s\n", err);
    return NULL;
  }
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  o.flags = flags;
  o.storage = &s;
  pond_db *db = NULL;
  if (pond_open(&o, &db)) {
    fprintf(stderr, "open over sqlite: %s\n", pond_errmsg(NULL));
    s.close(s.ctx);
    return NULL;
  }
  return db;
}

/* Reads the whole SQLite table into a model. */
static int sqlite_records(const char *path, fsu_model *out) {
  pond_storage s;
  char err[256];
  if (sqlite_storage_open(path, 1, &s, err, sizeof err)) return -1;
  int rc = fsu_read(&s, NULL, 0, out);
  s.close(s.ctx);
  return rc;
}

static void same_records_as_the_model_storage_after_every_step(void) {
  char dir[512], path[600];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  snprintf(path, sizeof path, "%s/pond.sqlite", dir);
  pond_db *sq = open_sqlite(path, POND_AUTOCREATE);
  REQUIRE(sq);
  mst m = {0};
  pond_db *md = mst_open(&m, POND_AUTOCREATE);
  REQUIRE(md);
  REQ(tu_define(sq, TO_BASE_DEFS) == POND_OK);
  REQ(tu_define(md, TO_BASE_DEFS) == POND_OK);
  uint64_t rng = th_seed(9);
  fsu_model got = {0};
  for (int step = 0; step < 150; step++) {
    tu_op op;
    tu_random_op(&rng, &op, 1, md);
    int txn = step % 5 == 4;
    if (txn) {
      pond_begin(sq);
      pond_begin(md);
    }
    int a = tu_apply(sq, &op), b = tu_apply(md, &op);
    CHECK_EQ(a, b);
    if (txn) {
      tu_random_op(&rng, &op, 0, md);
      CHECK_EQ(tu_apply(sq, &op), tu_apply(md, &op));
      CHECK_EQ(pond_commit(sq), POND_OK);
      CHECK_EQ(pond_commit(md), POND_OK);
    }
    CHECK_EQ(sqlite_records(path, &got), 0);
    CHECK(fsu_equal(&got, &m.m));
    if (th_case_failures) {
      fprintf(stderr, "  step %d\n", step);
      break;
    }
  }
  char *want = tu_dump(md);
  TU_SAME(sq, want);
  pond_close(sq);
  sq = open_sqlite(path, 0);
  REQUIRE(sq);
  TU_SAME(sq, want);
  TU_INVARIANTS(sq);
  pond_close(sq);
  pond_close(md);
  free(want);
  fsu_clear(&got);
  fsu_clear(&m.m);
  unlink(path);
  fsu_rmtree(dir);
}

static void a_locked_database_fails_the_commit_with_sqlites_message(void) {
  char dir[512], path[600];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  snprintf(path, sizeof path, "%s/pond.sqlite", dir);
  pond_db *db = open_sqlite(path, POND_AUTOCREATE);
  REQUIRE(db);
  REQ(tu_define(db, TO_BASE_DEFS) == POND_OK);
  uint32_t store = tu_tag(db, "src/store");
  CHECK_EQ(pond_tag_add(db, 1, store, 5), POND_OK);
  char *before = tu_dump(db);
  sqlite3 *other;
  REQ(sqlite3_open(path, &other) == SQLITE_OK);
  sqlite3_busy_timeout(other, 0);
  REQ(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
  CHECK_EQ(pond_tag_add(db, 2, store, 6), POND_ESTORAGE);
  CHECK_HAS(pond_errmsg(db), "locked");
  TU_SAME(db, before);
  CHECK_EQ(pond_begin(db), POND_OK);
  CHECK_EQ(pond_customer_upsert(db, 3, 7), POND_OK);
  CHECK_EQ(pond_tag_add(db, 3, store, 7), POND_OK);
  CHECK_EQ(pond_commit(db), POND_ESTORAGE);
  TU_SAME(db, before);
  TU_INVARIANTS(db);
  sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(other);
  CHECK_EQ(pond_tag_add(db, 2, store, 6), POND_OK);
  char *after = tu_dump(db);
  pond_close(db);
  db = open_sqlite(path, 0);
  REQUIRE(db);
  TU_SAME(db, after);
  pond_close(db);
  free(before);
  free(after);
  unlink(path);
  fsu_rmtree(dir);
}

int main(void) {
  TH_RUN(same_records_as_the_model_storage_after_every_step);
  TH_RUN(a_locked_database_fails_the_commit_with_sqlites_message);
  return th_done();
}
