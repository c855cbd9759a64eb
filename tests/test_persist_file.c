/*
 * test_persist_file.c — the db on the embedded file store (pond_open_path):
 * round trips through real files, the lock, flags, pond_compact, damaged
 * logs and garbage, and the db's storage layer over the in-memory env with
 * power loss after every commit (lib/store/env_mem.h).
 */
#include <fcntl.h>

#include "store/env_mem.h"
#include "store/filestore.h"
#include "store/persist.h"
#include "test_db_ops.h"
#include "test_filestore_util.h"

static const char *const DEFS =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"}, {\"name\": \"region\", \"type\": \"string\"}],"
    " \"tag_groups\": [{\"name\": \"status\", \"exclusive\": true, \"tags\": [\"todo\", \"done\"]},"
    " {\"name\": \"src\", \"tags\": [\"store\", \"ad\"]}], \"counters\": [\"order.paid\"]}";

static pond_db *open_path(const char *dir, unsigned flags, int *rc) {
  pond_db *db = NULL;
  int r = pond_open_path(dir, flags, &db);
  if (rc) *rc = r;
  if (r && !rc) fprintf(stderr, "open_path(%s): %s\n", dir, pond_errmsg(NULL));
  return db;
}

static char *reload(const char *dir) {
  pond_db *db = open_path(dir, 0, NULL);
  if (!db) return NULL;
  char *d = tu_dump(db);
  TU_INVARIANTS(db);
  pond_close(db);
  return d;
}

static void fill(pond_db *db, int base) {
  tu_define(db, DEFS);
  uint32_t todo = tu_tag(db, "status/todo"), store = tu_tag(db, "src/store");
  pond_begin(db);
  for (int c = 0; c < 500; c++) pond_customer_upsert(db, (uint64_t)(base + c), c);
  pond_commit(db);
  for (int c = 0; c < 500; c += 3) pond_tag_add(db, (uint64_t)(base + c), store, c);
  for (int c = 0; c < 500; c += 7) pond_tag_add(db, (uint64_t)(base + c), todo, c);
  for (int c = 0; c < 500; c += 11) pond_attr_set_str(db, (uint64_t)(base + c), "region", c % 2 ? "东" : "西");
  for (int c = 0; c < 50; c++) pond_event(db, (uint64_t)(base + c), "order.paid", 1000 + c);
  for (int c = 0; c < 500; c += 13) pond_customer_delete(db, (uint64_t)(base + c));
}

static void round_trip_lock_flags_and_compaction(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  char sub[600];
  snprintf(sub, sizeof sub, "%s/db", dir); /* created by open */
  int rc;
  pond_db *db = open_path(sub, POND_AUTOCREATE, NULL);
  REQUIRE(db);
  fill(db, 0);
  char *want = tu_dump(db);
  pond_db *second = open_path(sub, 0, &rc);
  CHECK_EQ(rc, POND_EBUSY);
  CHECK(!second);
  CHECK_HAS(pond_errmsg(NULL), "locked");
  CHECK_EQ(pond_compact(db), POND_OK);
  TU_SAME(db, want);
  /* compaction inside a transaction: what the transaction changes is not
   * written until its commit */
  CHECK_EQ(pond_begin(db), POND_OK);
  CHECK_EQ(pond_customer_upsert(db, 9999, 1), POND_OK);
  CHECK_EQ(pond_compact(db), POND_OK);
  CHECK_EQ(pond_rollback(db), POND_OK);
  pond_close(db);
  char *got = reload(sub);
  CHECK_STR(got, want);
  free(got);

  /* NOSYNC: the same result after a clean close */
  db = open_path(sub, POND_NOSYNC | POND_AUTOCREATE, NULL);
  REQUIRE(db);
  fill(db, 100000);
  free(want);
  want = tu_dump(db);
  pond_close(db);
  got = reload(sub);
  CHECK_STR(got, want);
  free(got);

  CHECK_EQ(pond_open_path(sub, 0x8000, &db), POND_EINVAL);
  CHECK_EQ(pond_open_path("", 0, &db), POND_EINVAL);
  CHECK_EQ(pond_open_path(sub, 0, NULL), POND_EINVAL);
  CHECK_EQ(pond_compact(NULL), POND_EINVAL);
  pond_db *mem = tu_open(0);
  CHECK_EQ(pond_compact(mem), POND_EMISUSE);
  pond_close(mem);

  /* a path that cannot be a directory */
  char file[700];
  snprintf(file, sizeof file, "%s/plain", dir);
  FILE *f = fopen(file, "w");
  fputs("not a directory", f);
  fclose(f);
  char under[800];
  snprintf(under, sizeof under, "%s/sub", file);
  CHECK_EQ(pond_open_path(under, 0, &db), POND_ESTORAGE);
  CHECK_HAS(pond_errmsg(NULL), "plain");
  unlink(file);
  free(want);
  fsu_rmtree(sub);
  fsu_rmtree(dir);
}

/* The log's last file in dir. */
static int log_path(const char *dir, char *out, size_t cap) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int found = 0;
  while (d && (e = readdir(d)) != NULL)
    if (strlen(e->d_name) == 20 && !strcmp(e->d_name + 16, ".log")) {
      snprintf(out, cap, "%s/%s", dir, e->d_name);
      found = 1;
    }
  if (d) closedir(d);
  return found;
}

static void damaged_logs_are_corrupt_torn_tails_are_dropped(void) {
  char dir[512], log[700];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_db *db = open_path(dir, POND_AUTOCREATE, NULL);
  REQUIRE(db);
  fill(db, 0);
  char *want = tu_dump(db);
  pond_close(db);
  REQ(log_path(dir, log, sizeof log));
  struct stat st;
  REQ(stat(log, &st) == 0);
  size_t size = (size_t)st.st_size;
  uint8_t *orig = malloc(size);
  int fd = open(log, O_RDWR);
  REQUIRE(fd >= 0);
  REQ(pread(fd, orig, size, 0) == (ssize_t)size);
  /* a flipped byte in the middle of the log: damage before the tail */
  uint8_t b = orig[size / 2] ^ 0x20;
  REQ(pwrite(fd, &b, 1, (off_t)(size / 2)) == 1);
  int rc;
  db = open_path(dir, 0, &rc);
  CHECK_EQ(rc, POND_ECORRUPT);
  CHECK(!db);
  /* a torn last batch: dropped, everything before it kept */
  REQ(pwrite(fd, orig, size, 0) == (ssize_t)size);
  REQ(ftruncate(fd, (off_t)(size - 3)) == 0);
  db = open_path(dir, 0, &rc);
  CHECK_EQ(rc, POND_OK);
  if (db) {
    char *now = tu_dump(db);
    CHECK(strcmp(now, want) != 0); /* the last commit (a delete) is gone */
    free(now);
    TU_INVARIANTS(db);
    pond_close(db);
  }
  /* garbage instead of a log */
  uint8_t junk[4096];
  uint64_t s = 99;
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)th_rand(&s);
  REQ(ftruncate(fd, 0) == 0);
  REQ(pwrite(fd, junk, sizeof junk, 0) == (ssize_t)sizeof junk);
  db = open_path(dir, 0, &rc);
  CHECK_EQ(rc, POND_ECORRUPT);
  close(fd);
  free(orig);
  free(want);
  fsu_rmtree(dir);
}

/* The db over the file store on the in-memory env: after every commit of
 * a random workload, a power loss keeping only what was synced reopens to
 * exactly the db's state (every acknowledged commit is durable). */
static void power_loss_after_every_commit_keeps_every_acknowledged_one(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  st_memenv *me = st_memenv_new(&m);
  REQUIRE(me);
  pond_db *db = tu_open(POND_AUTOCREATE);
  REQUIRE(db);
  pond_storage s;
  pc_err e;
  REQ(st_file_open(&db->mem, "/db", 0, st_memenv_env(me), &s, &e) == POND_OK);
  st_file_tune(s.ctx, 4096, 30); /* compactions happen along the way */
  REQ(st_db_attach(db, &s, 1) == POND_OK);
  REQ(tu_define(db, TO_BASE_DEFS) == POND_OK);
  uint64_t rng = th_seed(5);
  long checks = 0;
  for (int step = 0; step < 300; step++) {
    tu_op op;
    tu_random_op(&rng, &op, 1, db);
    (void)tu_apply(db, &op);
    if (step % 3) continue;
    char *want = tu_dump(db);
    st_crash c = {0, 0, -1, 0, 0}; /* nothing unsynced survives */
    st_memenv *after = st_memenv_crash(me, &c);
    REQUIRE(after);
    pond_db *re = tu_open(0);
    pond_storage s2;
    int rc = st_file_open(&re->mem, "/db", 0, st_memenv_env(after), &s2, &e);
    if (rc == POND_OK) rc = st_db_attach(re, &s2, 1);
    CHECK_EQ(rc, POND_OK);
    if (rc == POND_OK) {
      TU_SAME(re, want);
      checks++;
    }
    pond_close(re);
    st_memenv_free(after);
    free(want);
    if (th_case_failures) {
      fprintf(stderr, "  step %d: %s\n", step, e.msg);
      break;
    }
  }
  st_file_stats fst;
  st_file_stats_get(db->st->s.ctx, &fst);
  printf("  %ld power losses, %llu compactions\n", checks, (unsigned long long)fst.compactions);
  CHECK(fst.compactions > 0);
  pond_close(db);
  st_memenv_free(me);
  CHECK_EQ(atomic_load(&m.used), 0);
}

int main(void) {
  TH_RUN(round_trip_lock_flags_and_compaction);
  TH_RUN(damaged_logs_are_corrupt_torn_tails_are_dropped);
  TH_RUN(power_loss_after_every_commit_keeps_every_acknowledged_one);
  return th_done();
}
