/*
 * test_alloc_fail.c — allocation-failure injection over a scenario of
 * define + upserts + tags + attributes + transactions + sets.
 *
 * For k = 1, 2, … the k-th allocation (or growth) through the db's
 * allocator fails. The call that meets it must return POND_ENOMEM and leave
 * the state exactly as before the call (dump compare); the step is then
 * retried without failure and must give the reference result, and the
 * scenario goes on. At the end the db is closed and every byte it took must
 * be back (the allocator counts; LeakSanitizer watches too). The loop ends
 * at the first k the scenario completes without meeting a failure.
 */
#include "test_db_util.h"

#define T0 1700000000

static const char *DEFS =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"}, {\"name\": \"region\", \"type\": \"string\"}],"
    " \"tag_groups\": [{\"name\": \"status\", \"exclusive\": true, \"tags\": [\"todo\", \"doing\", \"done\"]},"
    " {\"name\": \"src\", \"tags\": [\"store\", \"ad\"]}, {\"name\": \"camp\", \"ttl\": \"30d\"}]}";

/* Tag ids as the definitions above give them. */
enum { TODO = 1, DOING, DONE, STORE, AD, X /* src/x, created by a step */ };

typedef struct ctx {
  pond_set *s1, *s2;
} ctx;

static int st_define(pond_db *db, ctx *c) { (void)c; return pond_define(db, DEFS, strlen(DEFS)); }
/* Upserts of customers 977 * i: one call per step. */
#define UPSERT(i) \
  static int st_up##i(pond_db *db, ctx *c) { (void)c; return pond_customer_upsert(db, 977 * i, T0); }
UPSERT(1)
UPSERT(2)
UPSERT(3)
UPSERT(4)
UPSERT(5)
UPSERT(6)
UPSERT(7)
UPSERT(8)
UPSERT(9)
UPSERT(70000)
static int st_tag_id(pond_db *db, ctx *c) {
  (void)c;
  uint32_t id;
  return pond_tag_id(db, "src/x", &id);
}
static int st_add(pond_db *db, ctx *c) { (void)c; return pond_tag_add(db, 977, STORE, T0); }
static int st_add_excl(pond_db *db, ctx *c) { (void)c; return pond_tag_add(db, 977, TODO, T0); }
static int st_add_excl2(pond_db *db, ctx *c) { (void)c; return pond_tag_add(db, 977, DOING, T0 + 1); }
static int st_add_many(pond_db *db, ctx *c) {
  (void)c;
  uint64_t ids[] = {977 * 3, 977 * 2, 977 * 5, 977 * 2, 977 * 7};
  return pond_tag_add_many(db, AD, ids, 5, T0);
}
static int st_add_many_excl(pond_db *db, ctx *c) {
  (void)c;
  uint64_t ids[] = {977, 977 * 2, 977 * 9};
  return pond_tag_add_many(db, DONE, ids, 3, T0);
}
static int st_set_int(pond_db *db, ctx *c) { (void)c; return pond_attr_set_int(db, 977 * 2, "spend", 42); }
static int st_set_str(pond_db *db, ctx *c) { (void)c; return pond_attr_set_str(db, 977 * 3, "region", "north"); }
static int st_set_str2(pond_db *db, ctx *c) { (void)c; return pond_attr_set_str(db, 977 * 4, "region", "南方"); }
static int st_clear(pond_db *db, ctx *c) { (void)c; return pond_attr_clear(db, 977 * 3, "region"); }
static int st_rename(pond_db *db, ctx *c) { (void)c; return pond_tag_rename(db, X, "src/renamed"); }
static int st_add_x(pond_db *db, ctx *c) { (void)c; return pond_tag_add(db, 977 * 6, X, T0); }
static int st_merge(pond_db *db, ctx *c) { (void)c; return pond_tag_merge(db, X, AD, T0); }
static int st_delete_tag(pond_db *db, ctx *c) { (void)c; return pond_tag_delete(db, STORE); }
static int st_delete_cust(pond_db *db, ctx *c) { (void)c; return pond_customer_delete(db, 977 * 2); }
static int st_begin(pond_db *db, ctx *c) { (void)c; return pond_begin(db); }
static int st_commit(pond_db *db, ctx *c) { (void)c; return pond_commit(db); }
static int st_rollback(pond_db *db, ctx *c) { (void)c; return pond_rollback(db); }
static int st_txn_add(pond_db *db, ctx *c) { (void)c; return pond_tag_add(db, 977 * 8, AD, T0); }
static int st_txn_define(pond_db *db, ctx *c) {
  (void)c;
  return pond_define(db, "{\"drop\": [{\"attribute\": \"region\"}], \"attributes\": [{\"name\": \"score\", \"type\": \"int\"}],"
                         " \"tag_groups\": [{\"name\": \"camp\", \"tags\": [\"a\", \"b\"]}]}", POND_NTS);
}
static int st_txn_set(pond_db *db, ctx *c) { (void)c; return pond_attr_set_int(db, 977 * 9, "score", 7); }
static int st_txn_delete(pond_db *db, ctx *c) { (void)c; return pond_customer_delete(db, 977 * 5); }
static int st_txn_autocreate(pond_db *db, ctx *c) { (void)c; return pond_tag_add(db, 5, DONE, T0); }
static int st_auto_add(pond_db *db, ctx *c) { (void)c; return pond_tag_add(db, 6, TODO, T0); }
static int st_auto_many(pond_db *db, ctx *c) {
  (void)c;
  uint64_t ids[] = {6, 7, 977, 8};
  return pond_tag_add_many(db, DOING, ids, 4, T0);
}
static int st_members(pond_db *db, ctx *c) {
  if (c->s1) return POND_OK;
  return pond_tag_members(db, AD, &c->s1);
}
static int st_members2(pond_db *db, ctx *c) {
  if (c->s2) return POND_OK;
  return pond_tag_members(db, DONE, &c->s2);
}
static int st_set_op(pond_db *db, ctx *c) {
  pond_set *r = NULL;
  int rc = pond_set_op(db, POND_OR, c->s1, c->s2, &r);
  pond_set_free(r);
  return rc;
}
static int st_set_roundtrip(pond_db *db, ctx *c) {
  unsigned char buf[512];
  size_t len;
  int rc = pond_set_serialize(c->s1, buf, sizeof buf, &len);
  pond_set *r = NULL;
  if (rc >= 0) rc = pond_set_deserialize(db, buf, len, &r);
  pond_set_free(r);
  return rc;
}

typedef struct step {
  const char *name;
  int (*fn)(pond_db *, ctx *);
  int autocreate_db; /* run on a POND_AUTOCREATE db only */
} step;

static const step STEPS[] = {
    {"define", st_define, 0},        {"up1", st_up1, 0},   {"up2", st_up2, 0},   {"up3", st_up3, 0},
    {"up4", st_up4, 0},              {"up5", st_up5, 0},   {"up6", st_up6, 0},   {"up7", st_up7, 0},
    {"up8", st_up8, 0},              {"up9", st_up9, 0},   {"up70000", st_up70000, 0},
    {"tag_id", st_tag_id, 0},        {"auto_add", st_auto_add, 1},     {"auto_many", st_auto_many, 1},
    {"add", st_add, 0},              {"add_excl", st_add_excl, 0},     {"add_excl2", st_add_excl2, 0},
    {"add_many", st_add_many, 0},    {"add_many_excl", st_add_many_excl, 0},
    {"set_int", st_set_int, 0},      {"set_str", st_set_str, 0},       {"set_str2", st_set_str2, 0},
    {"clear", st_clear, 0},          {"rename", st_rename, 0},         {"add_x", st_add_x, 0},
    {"members", st_members, 0},      {"members2", st_members2, 0},     {"set_op", st_set_op, 0},
    {"set_roundtrip", st_set_roundtrip, 0},
    {"begin", st_begin, 0},          {"txn_add", st_txn_add, 0},       {"txn_define", st_txn_define, 0},
    {"txn_set", st_txn_set, 0},      {"txn_delete", st_txn_delete, 0}, {"txn_autocreate", st_txn_autocreate, 1},
    {"merge", st_merge, 0},          {"rollback", st_rollback, 0},
    {"begin", st_begin, 0},          {"txn_define", st_txn_define, 0}, {"txn_add", st_txn_add, 0},
    {"delete_tag", st_delete_tag, 0}, {"txn_delete", st_txn_delete, 0}, {"commit", st_commit, 0},
    {"merge", st_merge, 0},          {"delete_cust", st_delete_cust, 0},
};
#define NSTEPS (sizeof STEPS / sizeof STEPS[0])

/* Runs the scenario with the k-th allocation failing (k = 0: never);
 * fills ref[] when record is set. Returns 1 when no failure was met. */
static int run(unsigned flags, long k, int *ref, int record) {
  tu_alloc a = {0, 0, 0, 0};
  a.countdown = k;
  pond_db *db = tu_open_alloc(&a, flags);
  if (!db) {
    CHECK(a.failed);
    CHECK_EQ(a.live, 0);
    return 0;
  }
  ctx c = {NULL, NULL};
  int clean = 1;
  for (size_t i = 0; i < NSTEPS; i++) {
    if (STEPS[i].autocreate_db && !(flags & POND_AUTOCREATE)) continue;
    long saved = a.countdown;
    a.countdown = 0;
    char *before = tu_dump(db);
    a.countdown = saved;
    int was = a.failed;
    int rc = STEPS[i].fn(db, &c);
    if (a.failed && !was) {
      clean = 0;
      a.countdown = 0;
      if (rc != POND_OK) {
        if (rc != POND_ENOMEM)
          fprintf(stderr, "k=%ld step %s: %d (%s)\n", k, STEPS[i].name, rc, pond_errmsg(db));
        CHECK_EQ(rc, POND_ENOMEM);
        TU_SAME(db, before);
        TU_INVARIANTS(db);
        if (th_case_failures) fprintf(stderr, "k=%ld step %s\n", k, STEPS[i].name);
        rc = STEPS[i].fn(db, &c); /* again, without failure */
      }
    }
    if (record) ref[i] = rc;
    else if (rc != ref[i]) {
      fprintf(stderr, "k=%ld step %s: %d, reference %d\n", k, STEPS[i].name, rc, ref[i]);
      CHECK_EQ(rc, ref[i]);
    }
    free(before);
  }
  a.countdown = 0;
  TU_INVARIANTS(db);
  pond_set_free(c.s1);
  pond_set_free(c.s2);
  pond_close(db);
  CHECK_EQ(a.live, 0);
  return clean;
}

static void scenario(unsigned flags) {
  int ref[NSTEPS];
  run(flags, 0, ref, 1);
  for (size_t i = 0; i < NSTEPS; i++)
    if (ref[i] < 0 && !(STEPS[i].autocreate_db && !(flags & POND_AUTOCREATE)))
      fprintf(stderr, "reference step %s failed: %d\n", STEPS[i].name, ref[i]);
  long k = 1;
  while (!run(flags, k, ref, 0) && !th_case_failures) k++;
  printf("  %ld allocation points, each failed once\n", k - 1);
  CHECK(k > 100);
}

static void every_allocation_failure_is_enomem_and_changes_nothing(void) { scenario(0); }
static void every_allocation_failure_with_autocreate(void) { scenario(POND_AUTOCREATE); }

static void memory_limit_fails_calls_cleanly(void) {
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  o.memory_limit = 64 * 1024;
  pond_db *db = NULL;
  int rc = pond_open(&o, &db);
  REQUIRE(rc == POND_OK);
  CHECK_EQ(pond_define(db, DEFS, strlen(DEFS)), POND_OK);
  uint64_t cid = 0;
  char *before = NULL;
  for (;;) {
    free(before);
    before = tu_dump(db);
    rc = pond_customer_upsert(db, cid * 7919, T0);
    if (rc != POND_OK) break;
    free(before);
    before = tu_dump(db);
    rc = pond_tag_add(db, cid * 7919, cid % 2 ? AD : TODO, T0);
    if (rc != POND_OK) break;
    cid++;
  }
  CHECK_EQ(rc, POND_ENOMEM);
  CHECK(cid > 10);
  CHECK(pond_memory_used(db) <= 64 * 1024);
  TU_SAME(db, before);
  TU_INVARIANTS(db);
  free(before);
  pond_close(db);
  o.memory_limit = 16;
  db = NULL;
  CHECK_EQ(pond_open(&o, &db), POND_ENOMEM);
  CHECK(db == NULL);
}

int main(void) {
  TH_RUN(every_allocation_failure_is_enomem_and_changes_nothing);
  TH_RUN(every_allocation_failure_with_autocreate);
  TH_RUN(memory_limit_fails_calls_cleanly);
  return th_done();
}
