/*
 * test_txn.c — transactions: rollback restores exactly the state before
 * pond_begin (bitmaps, records, names, ids, definitions), commit equals the
 * same calls made one by one, a failing call inside a transaction changes
 * nothing and leaves it open, and the misuse rules.
 */
#include "test_db_ops.h"

static pond_db *base(unsigned flags) {
  pond_db *db = tu_open(flags);
  if (db && tu_define(db, TO_BASE_DEFS) != POND_OK) {
    pond_close(db);
    return NULL;
  }
  for (uint64_t c = 1; db && c <= 12; c++) pond_customer_upsert(db, c, TO_T0);
  return db;
}

static void begin_commit_rollback_misuse(void) {
  pond_db *db = base(0);
  REQUIRE(db);
  CHECK_EQ(pond_commit(db), POND_EMISUSE);
  CHECK_HAS(pond_errmsg(db), "no transaction");
  CHECK_EQ(pond_rollback(db), POND_EMISUSE);
  CHECK_EQ(pond_begin(db), POND_OK);
  CHECK_EQ(pond_begin(db), POND_EMISUSE);
  CHECK_HAS(pond_errmsg(db), "already open");
  CHECK_EQ(pond_commit(db), POND_OK);
  CHECK_EQ(pond_commit(db), POND_EMISUSE);
  CHECK_EQ(pond_begin(db), POND_OK);
  CHECK_EQ(pond_rollback(db), POND_OK);
  CHECK_EQ(pond_rollback(db), POND_EMISUSE);
  CHECK_EQ(pond_begin(NULL), POND_EMISUSE);
  pond_close(db);
}

static void rollback_restores_everything_touched(void) {
  pond_db *db = base(POND_AUTOCREATE);
  REQUIRE(db);
  uint32_t todo = tu_tag(db, "status/todo"), doing = tu_tag(db, "status/doing");
  uint32_t ad = tu_tag(db, "src/ad"), store = tu_tag(db, "src/store");
  for (uint64_t c = 1; c <= 12; c++) pond_tag_add(db, c, c % 2 ? todo : ad, TO_T0);
  pond_attr_set_str(db, 3, "region", "north");
  pond_attr_set_int(db, 4, "spend", 7);
  char *before = tu_dump(db);
  size_t mem = pond_memory_used(db);
  CHECK_EQ(pond_begin(db), POND_OK);
  uint32_t x = tu_tag(db, "src/newtag");
  CHECK(x > store);
  uint64_t many[] = {1, 2, 3, 500, 501};
  CHECK_EQ(pond_tag_add_many(db, doing, many, 5, TO_T0 + 1), POND_OK);
  CHECK_EQ(pond_tag_add(db, 6, x, TO_T0), POND_OK);
  CHECK_EQ(pond_tag_rename(db, ad, "src/ads"), POND_OK);
  CHECK_EQ(pond_tag_merge(db, store, x, TO_T0), POND_OK);
  CHECK_EQ(pond_customer_delete(db, 4), POND_OK);
  CHECK_EQ(pond_customer_delete(db, 500), POND_OK);
  CHECK_EQ(pond_attr_set_str(db, 5, "region", "新区"), POND_OK);
  CHECK_EQ(pond_attr_clear(db, 3, "region"), POND_OK);
  CHECK_EQ(tu_define(db, "{\"attributes\": [{\"name\": \"score\", \"type\": \"time\"}],"
                         " \"drop\": [{\"tag_group\": \"status\"}]}"),
           POND_OK);
  CHECK_EQ(pond_attr_set_int(db, 7, "score", 9), POND_OK);
  CHECK_EQ(pond_tag_delete(db, x), POND_OK);
  TU_INVARIANTS(db);
  CHECK_EQ(pond_rollback(db), POND_OK);
  TU_SAME(db, before);
  TU_INVARIANTS(db);
  CHECK_EQ(pond_memory_used(db) <= mem + 4096, 1); /* the log's array may stay */
  /* ids given out in the rolled-back transaction are given out again */
  uint32_t again = tu_tag(db, "src/other");
  CHECK_EQ(again, x);
  const char *name;
  CHECK_EQ(pond_tag_name(db, ad, &name), POND_OK);
  CHECK_STR(name, "src/ad");
  free(before);
  pond_close(db);
}

static void failing_call_inside_a_transaction_changes_nothing_and_keeps_it_open(void) {
  pond_db *db = base(0);
  REQUIRE(db);
  uint32_t ad = tu_tag(db, "src/ad"), todo = tu_tag(db, "status/todo");
  char *start = tu_dump(db);
  CHECK_EQ(pond_begin(db), POND_OK);
  CHECK_EQ(pond_tag_add(db, 1, ad, TO_T0), POND_OK);
  CHECK_EQ(pond_tag_add(db, 2, todo, TO_T0), POND_OK);
  char *mid = tu_dump(db);
  uint64_t bad[] = {1, 2, 999};
  CHECK_EQ(pond_tag_add_many(db, ad, bad, 3, TO_T0), POND_NOTFOUND);
  TU_SAME(db, mid);
  CHECK_EQ(tu_define(db, "{\"tag_groups\": [{\"name\": \"g\"}, {\"name\": \"h\", \"ttl\": \"0s\"}]}"),
           POND_EINVAL);
  TU_SAME(db, mid);
  CHECK_EQ(pond_attr_set_int(db, 1, "vip", 3), POND_EINVAL);
  TU_SAME(db, mid);
  CHECK_EQ(pond_begin(db), POND_EMISUSE); /* still open */
  CHECK_EQ(pond_tag_add(db, 3, ad, TO_T0), POND_OK);
  CHECK_EQ(pond_rollback(db), POND_OK);
  TU_SAME(db, start);
  free(start);
  free(mid);
  pond_close(db);
}

static void close_with_an_open_transaction_rolls_back_and_frees(void) {
  tu_alloc a = {0, 0, 0, 0};
  pond_db *db = tu_open_alloc(&a, 0);
  REQUIRE(db);
  CHECK_EQ(tu_define(db, TO_BASE_DEFS), POND_OK);
  CHECK_EQ(pond_begin(db), POND_OK);
  for (uint64_t c = 1; c <= 50; c++) pond_customer_upsert(db, c, TO_T0);
  uint64_t many[] = {1, 5, 9};
  pond_tag_add_many(db, tu_tag(db, "src/q"), many, 3, TO_T0);
  pond_close(db);
  CHECK_EQ(a.live, 0);
}

/* Random transactions on db A; each committed one is replayed call by call
 * on db B. After a rollback A equals its state at begin; after a commit A
 * equals B; every call returns the same status on both. */
static void random_transactions(unsigned flags, uint64_t seed) {
  uint64_t rng = th_seed(seed);
  long rounds = th_env_long("POND_TXN_ROUNDS", 300);
  pond_db *a = base(flags), *b = base(flags);
  REQUIRE(a && b);
  tu_op ops[24];
  int rcs[24];
  for (long round = 0; round < rounds; round++) {
    char *start = tu_dump(a);
    size_t n = 1 + th_rand(&rng) % 24;
    int commit = (int)(th_rand(&rng) % 2);
    CHECK_EQ(pond_begin(a), POND_OK);
    for (size_t i = 0; i < n; i++) {
      tu_random_op(&rng, &ops[i], 1, a);
      char *pre = tu_dump(a);
      rcs[i] = tu_apply(a, &ops[i]);
      if (getenv("TXN_DEBUG") && round >= atol(getenv("TXN_DEBUG")))
        fprintf(stderr, "r%ld op kind=%d cid=%llu tag=%u tag2=%u v=%lld s=%s n=%zu -> %d\n", round,
                ops[i].kind, (unsigned long long)ops[i].cid, ops[i].tag, ops[i].tag2,
                (long long)ops[i].v, ops[i].s, ops[i].n, rcs[i]);
      if (rcs[i] < 0) TU_SAME(a, pre); /* a failing call changes nothing */
      free(pre);
    }
    TU_INVARIANTS(a);
    if (getenv("TXN_DEBUG") && round >= atol(getenv("TXN_DEBUG"))) fprintf(stderr, "commit=%d\n", commit);
    if (commit) {
      CHECK_EQ(pond_commit(a), POND_OK);
      for (size_t i = 0; i < n; i++) {
        int rc = tu_apply(b, &ops[i]);
        if (rc != rcs[i]) fprintf(stderr, "round %ld op %zu kind %d: %d vs %d\n", round, i, ops[i].kind, rc, rcs[i]);
        CHECK_EQ(rc, rcs[i]);
      }
      char *db_ = tu_dump(b);
      TU_SAME(a, db_);
      free(db_);
    } else {
      if (getenv("TXN_DEBUG") && round >= atol(getenv("TXN_DEBUG"))) { char *d = tu_dump(a); fprintf(stderr, "START\n%s\nBEFORE ROLLBACK\n%s\n", start, d); free(d); }
      CHECK_EQ(pond_rollback(a), POND_OK);
      TU_SAME(a, start);
    }
    TU_INVARIANTS(a);
    free(start);
    if (th_case_failures) {
      fprintf(stderr, "first failure in round %ld\n", round);
      break;
    }
  }
  pond_close(a);
  pond_close(b);
}

static void random_transactions_roll_back_exactly_and_commit_like_single_calls(void) {
  random_transactions(0, 20240601);
  random_transactions(POND_AUTOCREATE, 4711);
}

/* Outside a transaction, every failing call leaves the state unchanged. */
static void random_single_calls_are_all_or_nothing(void) {
  uint64_t rng = th_seed(77);
  pond_db *db = base(POND_AUTOCREATE);
  REQUIRE(db);
  for (int i = 0; i < 3000 && !th_case_failures; i++) {
    tu_op op;
    tu_random_op(&rng, &op, 1, db);
    char *pre = tu_dump(db);
    int rc = tu_apply(db, &op);
    if (rc < 0) TU_SAME(db, pre);
    free(pre);
    if (i % 100 == 0) TU_INVARIANTS(db);
  }
  TU_INVARIANTS(db);
  pond_close(db);
}

int main(void) {
  TH_RUN(begin_commit_rollback_misuse);
  TH_RUN(rollback_restores_everything_touched);
  TH_RUN(failing_call_inside_a_transaction_changes_nothing_and_keeps_it_open);
  TH_RUN(close_with_an_open_transaction_rolls_back_and_frees);
  TH_RUN(random_transactions_roll_back_exactly_and_commit_like_single_calls);
  TH_RUN(random_single_calls_are_all_or_nothing);
  return th_done();
}
