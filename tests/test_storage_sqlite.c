/*
 * test_storage_sqlite.c — the SQLite storage adapter (sqlite_storage.c)
 * keeps the storage contract: byte-order scans with exact prefixes, empty
 * keys and values distinct from deletes, all-or-nothing commits with
 * SQLite's message on failure; and it agrees with the file store on a
 * random workload (two real backends, one contract).
 */
#include <sqlite3.h>

#include "harness.h"
#include "sqlite_storage.h"
#include "store/env_mem.h"
#include "store/filestore.h"
#include "test_filestore_util.h"

static pc_mem mem;

static size_t random_key(uint64_t *s, uint8_t *k) {
  size_t n;
  switch (th_rand(s) % 4) {
    case 0: { /* 'c' + big-endian id: long shared prefixes */
      uint64_t id = th_rand(s) % 3000;
      k[0] = 'c';
      for (int i = 0; i < 8; i++) k[1 + i] = (uint8_t)(id >> (56 - 8 * i));
      return 9;
    }
    case 1: /* zeros and 0xff, including the empty key */
      n = th_rand(s) % 6;
      for (size_t i = 0; i < n; i++) k[i] = th_rand(s) & 1 ? 0 : 0xff;
      return n;
    case 2:
      n = 1 + th_rand(s) % 3;
      for (size_t i = 0; i < n; i++) k[i] = (uint8_t)('a' + th_rand(s) % 3);
      return n;
    default:
      n = th_rand(s) % 24;
      for (size_t i = 0; i < n; i++) k[i] = (uint8_t)th_rand(s);
      return n;
  }
}

static void sqlite_storage_keeps_the_contract(void) {
  pond_storage s;
  char err[256];
  REQ(sqlite_storage_open(":memory:", 1, &s, err, sizeof err) == 0);
  CHECK_EQ(s.version, POND_STORAGE_V1);
  pond_kv a[] = {{"b", 1, "2", 1}, {"a", 1, "1", 1}, {"", 0, "empty key", 9},
                 {"e", 1, "", 0},  {"a\0", 2, "x", 1}};
  CHECK_EQ(s.commit(s.ctx, a, 5), 0);
  fsu_model want = {0}, got = {0};
  fsu_apply_ops(&want, a, 5);
  CHECK(fsu_matches(&s, &want));
  pond_kv b[] = {{"b", 1, NULL, 0}, {"zz", 2, NULL, 0}, {"a", 1, "one", 3}};
  CHECK_EQ(s.commit(s.ctx, b, 3), 0);
  fsu_apply_ops(&want, b, 3);
  CHECK(fsu_matches(&s, &want));
  CHECK_EQ(fsu_read(&s, "a", 1, &got), 0);
  CHECK_EQ(got.n, 2); /* "a" and "a\0" */
  CHECK_EQ(fsu_read(&s, "e", 1, &got), 0);
  CHECK(got.n == 1 && got.e[0].vl == 0);
  s.close(s.ctx);
  fsu_clear(&want);
  fsu_clear(&got);
}

static void failing_commit_applies_nothing_and_reports_sqlite_message(void) {
  pond_storage s;
  char err[256];
  REQ(sqlite_storage_open(":memory:", 1, &s, err, sizeof err) == 0);
  sqlite3 *db = sqlite_storage_db(&s);
  REQ(sqlite3_exec(db,
                   "CREATE TRIGGER no_bad BEFORE INSERT ON kv WHEN NEW.k = x'626164' "
                   "BEGIN SELECT RAISE(ABORT, 'bad key refused'); END;",
                   NULL, NULL, NULL) == SQLITE_OK);
  pond_kv a[] = {{"a", 1, "1", 1}};
  CHECK_EQ(s.commit(s.ctx, a, 1), 0);
  pond_kv b[] = {{"b", 1, "2", 1}, {"a", 1, NULL, 0}, {"bad", 3, "x", 1}, {"c", 1, "3", 1}};
  CHECK_EQ(s.commit(s.ctx, b, 4), POND_ESTORAGE);
  CHECK_HAS(s.errmsg(s.ctx), "bad key refused");
  fsu_model want = {0};
  fsu_apply_ops(&want, a, 1);
  CHECK(fsu_matches(&s, &want)); /* nothing of b */
  CHECK_EQ(s.commit(s.ctx, b, 2), 0); /* and the storage still works */
  fsu_apply_ops(&want, b, 2);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  fsu_clear(&want);
}

static void locked_database_fails_commit_with_busy_message(void) {
  char dir[512], path[600];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  snprintf(path, sizeof path, "%s/kv.sqlite", dir);
  pond_storage s;
  char err[256];
  REQ(sqlite_storage_open(path, 0, &s, err, sizeof err) == 0);
  sqlite3 *other;
  REQ(sqlite3_open(path, &other) == SQLITE_OK);
  REQ(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
  pond_kv a = {"k", 1, "v", 1};
  CHECK_EQ(s.commit(s.ctx, &a, 1), POND_ESTORAGE);
  CHECK_HAS(s.errmsg(s.ctx), "locked");
  sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(other);
  CHECK_EQ(s.commit(s.ctx, &a, 1), 0);
  s.close(s.ctx);
  REQ(sqlite_storage_open(path, 0, &s, err, sizeof err) == 0); /* durable */
  fsu_model want = {0};
  fsu_apply_ops(&want, &a, 1);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  fsu_clear(&want);
  fsu_rmtree(dir);
}

/* The same random batches through SQLite and through the file store. */
static void sqlite_and_file_store_agree_on_a_random_workload(void) {
  uint64_t seed = th_seed(81);
  pond_storage q, f;
  char err[256];
  REQ(sqlite_storage_open(":memory:", 1, &q, err, sizeof err) == 0);
  st_memenv *me = st_memenv_new(&mem);
  pc_err e;
  REQ(st_file_open(&mem, "/db", POND_NOSYNC, st_memenv_env(me), &f, &e) == 0);
  st_file_tune(f.ctx, 4096, 40);
  fsu_model a = {0}, b = {0};
  uint8_t keys[64][24], vals[64][40];
  long compared = 0;
  for (int step = 0; step < 1500; step++) {
    size_t n = 1 + th_rand(&seed) % 64;
    pond_kv ops[64];
    for (size_t i = 0; i < n; i++) {
      size_t kl = random_key(&seed, keys[i]);
      size_t vl = th_rand(&seed) % sizeof vals[i];
      for (size_t j = 0; j < vl; j++) vals[i][j] = (uint8_t)th_rand(&seed);
      ops[i] = (pond_kv){keys[i], kl, th_rand(&seed) % 4 ? vals[i] : NULL, vl};
    }
    CHECK_EQ(q.commit(q.ctx, ops, n), 0);
    CHECK_EQ(f.commit(f.ctx, ops, n), 0);
    if (step % 25 == 0) {
      uint8_t pre[24];
      size_t pl = step % 50 ? random_key(&seed, pre) % 3 : 0;
      CHECK_EQ(fsu_read(&q, pre, pl, &a), 0);
      CHECK_EQ(fsu_read(&f, pre, pl, &b), 0);
      if (!fsu_equal(&a, &b)) {
        CHECK(0);
        fprintf(stderr, "  step %d: sqlite %zu records, file store %zu\n", step, a.n, b.n);
        break;
      }
      compared += (long)a.n;
    }
  }
  CHECK_EQ(fsu_read(&q, NULL, 0, &a), 0);
  CHECK_EQ(fsu_read(&f, NULL, 0, &b), 0);
  CHECK(fsu_equal(&a, &b));
  printf("  %zu live records at the end; %ld records compared on the way\n", a.n, compared);
  q.close(q.ctx);
  f.close(f.ctx);
  st_memenv_free(me);
  fsu_clear(&a);
  fsu_clear(&b);
}

int main(void) {
  pc_mem_init(&mem, NULL, NULL, 0);
  TH_RUN(sqlite_storage_keeps_the_contract);
  TH_RUN(failing_commit_applies_nothing_and_reports_sqlite_message);
  TH_RUN(locked_database_fails_commit_with_busy_message);
  TH_RUN(sqlite_and_file_store_agree_on_a_random_workload);
  CHECK_EQ(atomic_load(&mem.used), 0);
  return th_done();
}
