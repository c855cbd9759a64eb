/*
 * test_persist.c — the db over storage (lib/store/persist.h): what is
 * written, what comes back, and what a failing storage leaves behind.
 *
 * The storage is the sorted-array model of test_persist_util.h; the oracle
 * for "the same state" is db_dump (every definition, tag, member, customer
 * entry and string value) plus db_check's invariants.
 *
 *   round trips     every kind of record, reopened; random workloads
 *                   reopened after every operation
 *   fault injection for a scenario of transactions and single calls, the
 *                   k-th commit fails, for every k: the db equals its state
 *                   before that transaction, the storage reopens to the
 *                   last successful commit, and carrying on stays consistent
 *   fast paths      the one-chunk images (bm_undo) under failing commits on
 *                   dense and sparse bitmaps, containers created and emptied
 *   open failures   failing scans, every allocation of a load
 *   misuse          storage versions, pond_compact without a file store
 */
#include "test_db_ops.h"
#include "test_persist_util.h"

#include "store/rec.h"

static const char *const DEFS =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"}, {\"name\": \"born\", \"type\": \"time\"},"
    " {\"name\": \"region\", \"type\": \"string\"}, {\"name\": \"vip\", \"type\": \"bool\"}],"
    " \"tag_groups\": [{\"name\": \"status\", \"exclusive\": true, \"tags\": [\"todo\", \"done\"]},"
    " {\"name\": \"src\", \"tags\": [\"store\", \"ad\"]}, {\"name\": \"camp\", \"ttl\": \"30d\"},"
    " {\"name\": \"来源\"}], \"counters\": [\"order.paid\", \"message\"],"
    " \"segments\": [{\"name\": \"big\", \"where\": \"spend > 100 AND tag('src/store')\"}]}";

/* CHECKs that a fresh db over s has the state `want` (a dump). */
#define SAME_RELOADED(s, want)              \
  do {                                      \
    char *got_ = mst_reload_dump((s), 0);   \
    CHECK_STR(got_, (want));                \
    free(got_);                             \
  } while (0)

static void empty_storage_opens_empty_and_meta_comes_with_the_first_commit(void) {
  mst s = {0};
  pond_db *db = mst_open(&s, 0);
  REQUIRE(db);
  CHECK_EQ(s.scans, 1);
  CHECK_EQ(s.calls, 0); /* opening writes nothing */
  CHECK_EQ(pond_customer_count(db), 0);
  CHECK_EQ(pond_customer_exists(db, 1), 0); /* reads write nothing */
  CHECK_EQ(s.calls, 0);
  CHECK_EQ(pond_customer_upsert(db, 7, 100), POND_OK);
  CHECK_EQ(s.calls, 1);
  CHECK_EQ(s.m.n, 2); /* meta and the customer */
  CHECK(s.m.n >= 1 && s.m.e[0].kl == 1 && s.m.e[0].k[0] == ST_NS_META);
  CHECK_EQ(pond_customer_upsert(db, 7, 100), POND_OK); /* no change: no commit */
  CHECK_EQ(s.calls, 1);
  char *want = tu_dump(db);
  pond_close(db);
  SAME_RELOADED(&s, want);
  free(want);
  fsu_clear(&s.m);
}

static void every_kind_of_record_round_trips(void) {
  mst s = {0};
  pond_db *db = mst_open(&s, 0);
  REQUIRE(db);
  REQ(tu_define(db, DEFS) == POND_OK);
  uint32_t todo = tu_tag(db, "status/todo"), done = tu_tag(db, "status/done");
  uint32_t store = tu_tag(db, "src/store"), ad = tu_tag(db, "src/ad");
  uint32_t zh = tu_tag(db, "来源/门店扫码"), gone = tu_tag(db, "camp/old");
  CHECK_EQ(pond_begin(db), POND_OK);
  for (uint64_t c = 1; c <= 300; c++) CHECK_EQ(pond_customer_upsert(db, c * 977, (int64_t)c - 150), POND_OK);
  CHECK_EQ(pond_customer_upsert(db, UINT64_MAX, INT64_MIN), POND_OK);
  CHECK_EQ(pond_customer_upsert(db, 0, INT64_MAX), POND_OK);
  CHECK_EQ(pond_commit(db), POND_OK);
  uint64_t ids[300];
  for (size_t i = 0; i < 300; i++) ids[i] = (i + 1) * 977;
  CHECK_EQ(pond_tag_add_many(db, store, ids, 200, 5), POND_OK);
  CHECK_EQ(pond_tag_add(db, 977, todo, INT64_MIN), POND_OK);
  CHECK_EQ(pond_tag_add(db, 977, done, INT64_MAX), POND_OK);
  CHECK_EQ(pond_tag_add(db, UINT64_MAX, zh, -1), POND_OK);
  CHECK_EQ(pond_tag_add(db, 0, ad, 0), POND_OK);
  CHECK_EQ(pond_tag_add(db, 0, gone, 0), POND_OK);
  CHECK_EQ(pond_attr_set_int(db, 977, "spend", INT64_MIN), POND_OK);
  CHECK_EQ(pond_attr_set_int(db, 2 * 977, "spend", INT64_MAX), POND_OK);
  CHECK_EQ(pond_attr_set_int(db, 977, "born", -5), POND_OK);
  CHECK_EQ(pond_attr_set_int(db, 977, "vip", 1), POND_OK);
  CHECK_EQ(pond_attr_set_int(db, 0, "vip", 0), POND_OK);
  CHECK_EQ(pond_attr_set_str(db, 977, "region", "杭州"), POND_OK);
  CHECK_EQ(pond_attr_set_str(db, 3 * 977, "region", ""), POND_OK);
  CHECK_EQ(pond_attr_set_str(db, UINT64_MAX, "region", "杭州"), POND_OK);
  CHECK_EQ(pond_tag_delete(db, gone), POND_OK); /* its id is never given out again */
  CHECK_EQ(pond_tag_rename(db, ad, "来源/广告"), POND_OK);
  CHECK_EQ(tu_define(db, "{\"drop\": [{\"attribute\": \"born\"}],"
                         " \"attributes\": [{\"name\": \"born\", \"type\": \"string\"}]}"),
           POND_OK);
  CHECK_EQ(pond_attr_set_str(db, 5 * 977, "born", "x"), POND_OK);
  CHECK_EQ(pond_customer_delete(db, 4 * 977), POND_OK);
  CHECK_EQ(pond_event(db, 977, "order.paid", 50), POND_OK);
  CHECK_EQ(pond_event(db, 977, "order.paid", 40), POND_OK);
  CHECK_EQ(pond_event(db, 2 * 977, "order.paid", INT64_MAX), POND_OK);
  CHECK_EQ(pond_event(db, 3 * 977, "other", 41), POND_OK);
  CHECK_EQ(pond_message(db, 977, "hi", POND_NTS, 60), POND_OK);
  CHECK_EQ(tu_define(db, "{\"counters\": [\"later\"], \"drop\": [{\"counter\": \"message\"}],"
                         " \"segments\": [{\"name\": \"vips\", \"where\": \"vip\"}]}"),
           POND_OK);
  CHECK_EQ(pond_event(db, 5 * 977, "later", 70), POND_OK);
  TU_INVARIANTS(db);
  char *want = tu_dump(db);
  pond_close(db);
  SAME_RELOADED(&s, want);

  /* The reopened db carries on: ids continue, names resolve. */
  db = mst_open(&s, 0);
  REQUIRE(db);
  uint32_t id;
  CHECK_EQ(pond_tag_id(db, "camp/new", &id), POND_OK);
  CHECK(id > gone);
  CHECK_EQ(pond_tag_id(db, "来源/广告", &id), POND_OK);
  CHECK_EQ(id, ad);
  const char *str;
  CHECK_EQ(pond_attr_get_str(db, UINT64_MAX, "region", &str), 1);
  CHECK_STR(str, "杭州");
  CHECK_EQ(pond_attr_set_str(db, 6 * 977, "region", "北京"), POND_OK);
  char *want2 = tu_dump(db);
  pond_close(db);
  SAME_RELOADED(&s, want2);
  free(want);
  free(want2);
  fsu_clear(&s.m);
}

/* A random workload (test_db_ops.h) in single calls and transactions;
 * after every step the storage reopens to exactly the db's state. */
static void random_workload_reopens_to_the_same_state_after_every_step(void) {
  uint64_t rng = th_seed(41);
  for (int round = 0; round < 8; round++) {
    mst s = {0};
    pond_db *db = mst_open(&s, round & 1 ? POND_AUTOCREATE : 0);
    REQUIRE(db);
    REQ(tu_define(db, TO_BASE_DEFS) == POND_OK);
    for (int step = 0; step < 120; step++) {
      int txn = th_rand(&rng) % 4 == 0;
      if (txn) CHECK_EQ(pond_begin(db), POND_OK);
      int nops = txn ? 1 + (int)(th_rand(&rng) % 6) : 1;
      for (int i = 0; i < nops; i++) {
        tu_op op;
        tu_random_op(&rng, &op, 1, db);
        (void)tu_apply(db, &op);
      }
      if (txn) CHECK_EQ(th_rand(&rng) % 5 ? pond_commit(db) : pond_rollback(db), POND_OK);
      char *want = tu_dump(db);
      char *got = mst_reload_dump(&s, 0);
      CHECK_STR(got, want);
      int same = got && !strcmp(got, want);
      free(got);
      free(want);
      if (!same) {
        fprintf(stderr, "  round %d step %d\n", round, step);
        break;
      }
    }
    TU_INVARIANTS(db);
    pond_close(db);
    fsu_clear(&s.m);
  }
}

/* ------------------------------------------------------ fault injection */

#define MAX_STEPS 260
#define MAX_TXN 6

typedef struct step {
  int txn;      /* 0: one call; 1: pond_begin .. ops .. pond_commit */
  int n;
  tu_op ops[MAX_TXN];
} step;

/* A deterministic scenario: the ops are generated against a reference
 * in-memory run, so they name live tags most of the time. */
static int make_scenario(uint64_t seed, step *st) {
  uint64_t rng = seed;
  pond_db *ref = tu_open(POND_AUTOCREATE);
  if (!ref || tu_define(ref, TO_BASE_DEFS) != POND_OK) return 0;
  int n = 0;
  for (; n < MAX_STEPS; n++) {
    step *p = &st[n];
    p->txn = th_rand(&rng) % 3 == 0;
    p->n = p->txn ? 1 + (int)(th_rand(&rng) % MAX_TXN) : 1;
    if (p->txn) pond_begin(ref);
    for (int i = 0; i < p->n; i++) {
      tu_random_op(&rng, &p->ops[i], n % 10 == 9, ref);
      (void)tu_apply(ref, &p->ops[i]);
    }
    if (p->txn) pond_commit(ref);
  }
  pond_close(ref);
  return n;
}

/* Runs step p; returns the status of its call or of its pond_commit. */
static int run_step(pond_db *db, const step *p) {
  if (!p->txn) return tu_apply(db, &p->ops[0]);
  if (pond_begin(db) != POND_OK) return POND_EMISUSE;
  for (int i = 0; i < p->n; i++) (void)tu_apply(db, &p->ops[i]);
  return pond_commit(db);
}

static void kth_commit_fails_for_every_k(void) {
  static step sc[MAX_STEPS];
  int nsteps = make_scenario(th_seed(77), sc);
  REQUIRE(nsteps > 0);
  /* Reference run: how many commits the scenario makes. */
  mst ok = {0};
  pond_db *db = mst_open(&ok, POND_AUTOCREATE);
  REQUIRE(db);
  REQ(tu_define(db, TO_BASE_DEFS) == POND_OK);
  for (int i = 0; i < nsteps; i++) (void)run_step(db, &sc[i]);
  long total = ok.calls;
  pond_close(db);
  fsu_clear(&ok.m);
  REQUIRE(total > 100);
  long failures = 0, single = 0, txns = 0;
  for (long k = 1; k <= total; k++) {
    mst s = {0};
    s.fail_commit = k;
    db = mst_open(&s, POND_AUTOCREATE);
    REQUIRE(db);
    int rc = tu_define(db, TO_BASE_DEFS);
    int failed_at = rc == POND_ESTORAGE ? 0 : -1;
    if (k == 1) {
      CHECK_EQ(rc, POND_ESTORAGE);
      CHECK_EQ(pond_customer_count(db), 0);
      char *empty = tu_dump(db);
      SAME_RELOADED(&s, empty);
      free(empty);
      rc = tu_define(db, TO_BASE_DEFS);
    }
    CHECK_EQ(rc, POND_OK);
    for (int i = 0; i < nsteps; i++) {
      char *before = tu_dump(db);
      long calls = s.calls;
      rc = run_step(db, &sc[i]);
      if (s.calls >= k && calls < k) { /* the k-th commit was this step's */
        failed_at = i;
        failures++;
        if (sc[i].txn) txns++;
        else single++;
        CHECK_EQ(rc, POND_ESTORAGE);
        CHECK_HAS(pond_errmsg(db), "injected failure of commit call");
        TU_SAME(db, before);
        TU_INVARIANTS(db);
        SAME_RELOADED(&s, before);
      }
      free(before);
      if (th_case_failures) {
        fprintf(stderr, "  k=%ld step %d (%s)\n", k, i, sc[i].txn ? "transaction" : "call");
        break;
      }
    }
    if (failed_at < 0 && k > 1) fprintf(stderr, "  k=%ld: no step failed (%ld calls)\n", k, s.calls);
    CHECK(failed_at >= 0 || k == 1);
    /* Carrying on after the failure kept memory and storage together. */
    char *end = tu_dump(db);
    SAME_RELOADED(&s, end);
    free(end);
    TU_INVARIANTS(db);
    pond_close(db);
    fsu_clear(&s.m);
    if (th_case_failures) break;
  }
  printf("  %ld commits in the scenario; each failed once: %ld in single calls, %ld in "
         "transactions\n",
         total, single, txns);
  CHECK_EQ(failures + 1, total); /* every k but the define's */
}

/* The fast paths' one-chunk images on every container kind: each call is
 * made with every commit failing (state unchanged, exactly), then for real. */
static void fast_paths_undo_exactly_on_every_container_kind(void) {
  mst s = {0};
  pond_db *db = mst_open(&s, 0);
  REQUIRE(db);
  REQ(tu_define(db, DEFS) == POND_OK);
  uint32_t t = tu_tag(db, "src/store"), todo = tu_tag(db, "status/todo");
  /* all: chunk 0 full (a run), chunk 1 dense (a bitset), chunk 2 sparse
   * (an array), chunk 9 a single id. tag t: bitset in chunk 0 with 4097
   * members, an array in chunk 2, one member in chunk 9. */
  static uint64_t ids[200000];
  size_t n = 0;
  for (uint64_t c = 0; c < 65536; c++) ids[n++] = c;
  for (uint64_t c = 65536; c < 2 * 65536; c += 2) ids[n++] = c;
  for (uint64_t c = 2 * 65536; c < 3 * 65536; c += 640) ids[n++] = c;
  ids[n++] = 9 * 65536 + 7;
  REQ(pond_begin(db) == POND_OK);
  for (size_t i = 0; i < n; i++) REQ(pond_customer_upsert(db, ids[i], 1) == POND_OK);
  REQ(pond_commit(db) == POND_OK);
  uint64_t tm[5000];
  size_t m = 0;
  for (uint64_t c = 0; c < 4097; c++) tm[m++] = c * 3;
  for (uint64_t c = 2 * 65536; c < 2 * 65536 + 6400; c += 640) tm[m++] = c;
  tm[m++] = 9 * 65536 + 7;
  REQ(pond_tag_add_many(db, t, tm, m, 2) == POND_OK);
  /* (call, expected effect) pairs, each tried failing then for real. */
  struct {
    int kind; /* 0 add, 1 remove, 2 set, 3 clear, 4 upsert, 5 set_str */
    uint64_t cid;
  } calls[] = {
      {1, 0},             /* bitset with 4097 -> array of 4096 */
      {0, 0},             /* back: array -> bitset */
      {0, 1},             /* into the bitset */
      {1, 9 * 65536 + 7}, /* empties its container */
      {0, 9 * 65536 + 7}, /* creates it */
      {0, 65536 + 2},     /* a new container in chunk 1 */
      {0, 2 * 65536 + 640 * 50}, /* into the array */
      {1, 2 * 65536},     /* out of the array */
      {2, 5},             /* has: a new container */
      {2, 6},             /* into it */
      {3, 5},             /* out */
      {3, 6},             /* empties it */
      {5, 7},             /* string: dictionary grows, has gets a container */
      {4, 70 * 65536},    /* all: a new container */
      {4, 2 * 65536 + 1}, /* into the array of all */
      {4, 65536 + 1},     /* into the bitset of all */
  };
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    for (int real = 0; real < 2; real++) {
      s.fail_all = !real;
      char *before = tu_dump(db);
      uint64_t cid = calls[i].cid;
      int rc;
      switch (calls[i].kind) {
        case 0: rc = pond_tag_add(db, cid, t, 3); break;
        case 1: rc = pond_tag_remove(db, cid, t, 3); break;
        case 2: rc = pond_attr_set_int(db, cid, "spend", 10); break;
        case 3: rc = pond_attr_clear(db, cid, "spend"); break;
        case 4: rc = pond_customer_upsert(db, cid, 3); break;
        default: rc = pond_attr_set_str(db, cid, "region", "new value"); break;
      }
      if (!real) {
        CHECK_EQ(rc, POND_ESTORAGE);
        TU_SAME(db, before);
      } else {
        CHECK_EQ(rc, POND_OK);
        if (rc) fprintf(stderr, "%s\n", pond_errmsg(db));
        char *want = tu_dump(db);
        CHECK(strcmp(want, before) != 0);
        free(want);
      }
      TU_INVARIANTS(db);
      free(before);
      if (th_case_failures) {
        fprintf(stderr, "  call %zu (%s)\n", i, real ? "real" : "failing");
        break;
      }
    }
  }
  /* An exclusive group's tag (add_slow: a snapshot image) fails the same. */
  s.fail_all = 1;
  char *before = tu_dump(db);
  CHECK_EQ(pond_tag_add(db, 9 * 65536 + 7, todo, 4), POND_ESTORAGE);
  TU_SAME(db, before);
  free(before);
  s.fail_all = 0;
  char *want = tu_dump(db);
  pond_close(db);
  SAME_RELOADED(&s, want);
  free(want);
  fsu_clear(&s.m);
}

/* White box: in one implicit transaction a one-chunk image that empties a
 * container, then a full snapshot of the same bitmap and a wholesale
 * change; the rollback restores the snapshot (exact-sized block) and then
 * re-inserts the container, which needs the room the snapshot was given. */
static void chunk_image_then_snapshot_rolls_back(void) {
  mst s = {0};
  pond_db *db = mst_open(&s, 0);
  REQUIRE(db);
  REQ(tu_define(db, DEFS) == POND_OK);
  uint32_t t = tu_tag(db, "src/store");
  uint64_t ids[] = {1, 2, 65536 * 3, 65536 * 5 + 1, 65536 * 8};
  for (size_t i = 0; i < 5; i++) REQ(pond_customer_upsert(db, ids[i], 1) == POND_OK);
  REQ(pond_tag_add_many(db, t, ids, 5, 1) == POND_OK);
  char *before = tu_dump(db);
  long calls = s.calls;
  for (int variant = 0; variant < 3; variant++) {
    db_lock(db); /* opens the implicit transaction */
    bm *b = &db->tags.v[t].members;
    CHECK(db->tx.implicit);
    /* chunk images: remove the sole member of chunk 3, then of chunk 5 */
    CHECK_EQ(db_touch_tagbm1(db, t, 65536 * 3), POND_OK);
    CHECK_EQ(bm_remove(&db->mem, b, 65536 * 3), 1);
    if (variant > 0) {
      CHECK_EQ(db_touch_tagbm1(db, t, 65536 * 5 + 1), POND_OK);
      CHECK_EQ(bm_remove(&db->mem, b, 65536 * 5 + 1), 1);
    }
    if (variant > 1) { /* and a new container */
      CHECK_EQ(db_touch_tagbm1(db, t, 65536 * 11), POND_OK);
      CHECK_EQ(bm_add(&db->mem, b, 65536 * 11), 1);
    }
    /* a snapshot of the same bitmap, then a change replacing its block */
    CHECK_EQ(db_touch_tagbm(db, t, DB_NEED_TXN), POND_OK);
    bm other;
    bm_init(&other);
    CHECK_EQ(bm_add(&db->mem, &other, 65536 * 20), 1);
    CHECK_EQ(bm_op_inplace(&db->mem, BM_OR, b, &other), POND_OK);
    bm_free(&db->mem, &other);
    CHECK_EQ(db_unlock(db, POND_EINVAL), POND_EINVAL); /* rolls back */
    TU_SAME(db, before);
    TU_INVARIANTS(db);
  }
  free(before);
  CHECK_EQ(s.calls, calls);
  pond_close(db);
  fsu_clear(&s.m);
}

/* ----------------------------------------------------------- corruption */

/* A storage with one of everything. */
static void fill(mst *s) {
  pond_db *db = mst_open(s, POND_AUTOCREATE);
  if (!db) return;
  tu_define(db, DEFS);
  uint32_t todo = tu_tag(db, "status/todo"), store = tu_tag(db, "src/store");
  uint32_t x = tu_tag(db, "camp/x");
  pond_tag_add(db, 1, todo, 10);
  pond_tag_add(db, 1, store, 11);
  pond_tag_add(db, 2, x, 12);
  pond_attr_set_str(db, 1, "region", "杭州");
  pond_attr_set_int(db, 2, "spend", -300);
  pond_attr_set_int(db, 2, "vip", 1);
  pond_attr_set_int(db, 2, "born", 99);
  pond_tag_delete(db, x);
  pond_close(db);
}

/* Opens s expecting rc; CHECKs pond_errmsg(NULL) has msg (when given). */
static void open_fails(mst *s, int want, const char *msg) {
  tu_alloc a = {0, 0, 0, 0};
  int rc;
  pond_db *db = mst_open_a(s, 0, &a, &rc);
  CHECK_EQ(rc, want);
  if (msg) CHECK_HAS(pond_errmsg(NULL), msg);
  if (db) pond_close(db);
  CHECK_EQ(a.live, 0); /* a failed open leaves nothing allocated */
}

static void put(mst *s, const void *k, size_t kl, const void *v, size_t vl) {
  fsu_apply(&s->m, k, kl, v, vl);
}

static void newer_format_and_missing_meta_are_corrupt(void) {
  mst s = {0};
  fill(&s);
  REQUIRE(s.m.n > 4);
  uint8_t meta[] = {'p', 'o', 'n', 'd', 2, 4};
  uint8_t k1 = ST_NS_META;
  mst t = {0};
  fsu_copy(&t.m, &s.m);
  put(&t, &k1, 1, meta, sizeof meta);
  open_fails(&t, POND_ECORRUPT, "format version 2 is newer than this library's (1)");
  meta[4] = 0x80; /* a non-minimal varint */
  uint8_t long_meta[] = {'p', 'o', 'n', 'd', 0x81, 0x00, 4};
  put(&t, &k1, 1, long_meta, sizeof long_meta);
  open_fails(&t, POND_ECORRUPT, "not minimal");
  fsu_apply(&t.m, &k1, 1, NULL, 0); /* no meta */
  open_fails(&t, POND_ECORRUPT, "no meta record");
  uint8_t junk[] = "\xff\xff\xff";
  put(&t, &k1, 1, junk, 3);
  open_fails(&t, POND_ECORRUPT, "not a pond meta record");
  fsu_clear(&t.m);
  fsu_clear(&s.m);
}

/* Every proper prefix of every record, the record with a byte appended,
 * and every single-bit flip: a prefix or an extension never decodes; a
 * flip either does not (POND_ECORRUPT) or gives a db that keeps every
 * invariant. Never a crash or a leak (the allocator counts). */
static void damaged_records_never_load_wrongly(void) {
  mst s = {0};
  fill(&s);
  long corrupt = 0, opened = 0;
  for (size_t r = 0; r < s.m.n; r++) {
    size_t vl = s.m.e[r].vl;
    uint8_t *orig = fsu_dup(s.m.e[r].v, vl);
    for (size_t cut = 0; cut <= vl; cut++) { /* cut == vl: one byte more */
      mst t = {0};
      fsu_copy(&t.m, &s.m);
      uint8_t *v = malloc(vl + 1);
      memcpy(v, orig, vl);
      v[vl] = 0;
      fsu_apply(&t.m, s.m.e[r].k, s.m.e[r].kl, v, cut < vl ? cut : vl + 1);
      free(v);
      open_fails(&t, POND_ECORRUPT, "storage: ");
      corrupt++;
      fsu_clear(&t.m);
    }
    for (size_t bit = 0; bit < vl * 8; bit++) {
      mst t = {0};
      fsu_copy(&t.m, &s.m);
      uint8_t *v = fsu_dup(orig, vl);
      v[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      fsu_apply(&t.m, s.m.e[r].k, s.m.e[r].kl, v, vl);
      free(v);
      tu_alloc a = {0, 0, 0, 0};
      int rc;
      pond_db *db = mst_open_a(&t, 0, &a, &rc);
      if (rc == POND_OK) {
        opened++;
        TU_INVARIANTS(db);
        pond_close(db);
      } else {
        CHECK_EQ(rc, POND_ECORRUPT);
        corrupt++;
      }
      CHECK_EQ(a.live, 0);
      fsu_clear(&t.m);
    }
    free(orig);
  }
  printf("  %zu records: %ld damaged versions refused, %ld bit flips still valid records\n",
         s.m.n, corrupt, opened);
  fsu_clear(&s.m);
}

static void malformed_keys_and_contents_are_corrupt(void) {
  mst s = {0};
  fill(&s);
  struct {
    const char *what;
    uint8_t key[12];
    size_t kl;
    uint8_t val[24];
    size_t vl;
    const char *msg;
  } cases[] = {
      {"unknown namespace", {0x0b, 1}, 2, {0}, 1, "unknown namespace 0x0b"},
      {"a timer", {ST_NS_TIMER, 1}, 2, {0}, 1, "reserved for timers"},
      {"an outbox task", {ST_NS_OUTBOX}, 1, {0}, 1, "reserved for the task outbox"},
      {"short customer key", {ST_NS_CUST, 0, 0, 0, 1}, 5, {0, 0, 0}, 3, "not 9 bytes"},
      {"long tag key", {ST_NS_TAG, 0, 0, 0, 1, 0}, 6, {0}, 1, "not 5 bytes"},
      {"tag id 0", {ST_NS_TAG, 0, 0, 0, 0}, 5, {1, 5, 's', 'r', 'c', '/', 'q'}, 7, "outside the ids"},
      {"tag beyond next", {ST_NS_TAG, 0, 0, 1, 0}, 5, {1, 5, 's', 'r', 'c', '/', 'q'}, 7, "outside the ids"},
      {"tag in a dead group", {ST_NS_TAG, 0, 0, 0, 5}, 5, {9, 5, 's', 'r', 'c', '/', 'q'}, 7, "does not exist"},
      {"tag in another group", {ST_NS_TAG, 0, 0, 0, 5}, 5, {0, 5, 's', 'r', 'c', '/', 'q'}, 7, "not in its group"},
      {"tag name taken", {ST_NS_TAG, 0, 0, 0, 5}, 5, {1, 9, 's', 'r', 'c', '/', 's', 't', 'o', 'r', 'e'}, 11, "same name"},
      {"bad tag name", {ST_NS_TAG, 0, 0, 0, 5}, 5, {1, 4, 's', 'r', 'c', '/'}, 6, "invalid name"},
      /* customers: flags, zz(added), n, entries */
      {"dead tag", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {0, 2, 1, 5, 0}, 5, "tag 5 does not exist"},
      {"two exclusive tags", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {0, 2, 2, 1, 0, 0, 0}, 7, "exclusive group"},
      {"bool 2", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {0, 2, 1, 0x83, 0x80, 0x80, 0x80, 0x08, 4}, 9, "holds 2"},
      {"dead attribute", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {0, 2, 1, 0x89, 0x80, 0x80, 0x80, 0x08, 4}, 9, "attribute 9 does not exist"},
      {"bad UTF-8", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {0, 2, 1, 0x82, 0x80, 0x80, 0x80, 0x08, 1, 0xff}, 10, "UTF-8"},
      {"unknown flags", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {2, 2, 0}, 3, "unknown flags"},
      {"unset marker", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0}, 13, "unset marker"},
      {"dead counter", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {0, 2, 2, 0x84, 0x80, 0x80, 0x80, 0x0c, 2, 0, 0}, 11, "counter 2 does not exist"},
      {"count without last", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {0, 2, 1, 0x80, 0x80, 0x80, 0x80, 0x0c, 2}, 9, "no last time"},
      {"last without count", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {0, 2, 1, 0x81, 0x80, 0x80, 0x80, 0x0c, 2}, 9, "no count"},
      {"count 0", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {0, 2, 2, 0x80, 0x80, 0x80, 0x80, 0x0c, 0, 0, 0}, 11, "counts 0"},
      {"too many entries", {ST_NS_CUST, 0, 0, 0, 0, 0, 0, 0, 9}, 9, {0, 2, 0x7f, 0}, 4, "cannot fit"},
      {"empty key", {0}, 0, {0}, 1, "empty key"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mst t = {0};
    fsu_copy(&t.m, &s.m);
    put(&t, cases[i].key, cases[i].kl, cases[i].val, cases[i].vl);
    open_fails(&t, POND_ECORRUPT, cases[i].msg);
    if (th_case_failures) fprintf(stderr, "  case '%s'\n", cases[i].what);
    fsu_clear(&t.m);
    if (th_case_failures) break;
  }
  fsu_clear(&s.m);
}

/* A storage whose scan hands out records in the wrong order. */
static int reversed_scan(void *ctx, const void *prefix, size_t plen,
                         int (*each)(void *arg, const pond_kv *kv), void *arg) {
  mst *s = ctx;
  (void)prefix;
  (void)plen;
  for (size_t i = s->m.n; i-- > 0;) {
    pond_kv kv = {s->m.e[i].k, s->m.e[i].kl, s->m.e[i].v, s->m.e[i].vl};
    int rc = each(arg, &kv);
    if (rc) return rc;
  }
  return 0;
}

static void scan_failures_and_disorder(void) {
  mst s = {0};
  fill(&s);
  for (long at = 1; at <= (long)s.m.n + 1; at++) {
    s.fail_scan = (int)at;
    open_fails(&s, POND_ESTORAGE, "injected scan failure");
  }
  s.fail_scan = 0;
  pond_storage v = mst_vtable(&s);
  v.scan = reversed_scan;
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  o.storage = &v;
  pond_db *db = NULL;
  CHECK_EQ(pond_open(&o, &db), POND_ECORRUPT);
  CHECK_HAS(pond_errmsg(NULL), "no meta record");
  /* two customers swapped */
  mst t = {0};
  size_t a = 0, b = 0;
  for (size_t i = 0; i < s.m.n; i++)
    if (s.m.e[i].k[0] == ST_NS_CUST) {
      if (a) b = i;
      else a = i;
    }
  REQUIRE(a && b);
  fsu_copy(&t.m, &s.m);
  fsu_kv tmp = t.m.e[a];
  t.m.e[a] = t.m.e[b];
  t.m.e[b] = tmp;
  open_fails(&t, POND_ECORRUPT, "out of key order");
  fsu_clear(&t.m);
  /* misuse of the vtable */
  v = mst_vtable(&s);
  v.version = 0;
  CHECK_EQ(pond_open(&o, &db), POND_EINVAL);
  v.version = POND_STORAGE_V1;
  v.commit = NULL;
  CHECK_EQ(pond_open(&o, &db), POND_EINVAL);
  CHECK_HAS(pond_errmsg(NULL), "scan and commit");
  v.version = 7; /* a later version: read as version 1 */
  v.commit = mst_commit;
  CHECK_EQ(pond_open(&o, &db), POND_OK);
  CHECK_EQ(pond_compact(db), POND_EMISUSE);
  pond_close(db);
  fsu_clear(&s.m);
}

/* ----------------------------------------------------- allocation failure */

static void every_allocation_of_a_load_fails_cleanly(void) {
  mst s = {0};
  fill(&s);
  /* and enough customers for the pair buffer to grow */
  pond_db *db = mst_open(&s, POND_AUTOCREATE);
  REQUIRE(db);
  uint32_t store = tu_tag(db, "src/store"), y = tu_tag(db, "camp/y");
  static uint64_t ids[2500];
  for (size_t i = 0; i < 2500; i++) ids[i] = i * 7 + 100;
  REQ(pond_tag_add_many(db, store, ids, 2500, 1) == POND_OK); /* 7,500 pairs: the buffer grows */
  REQ(pond_tag_add_many(db, y, ids, 2500, 1) == POND_OK);
  char *want = tu_dump(db);
  pond_close(db);
  long points = 0;
  /* Every allocation up to 400 (definitions, tags, the first customers,
   * buffers), then every 7th (one per customer record, mostly): POND_ALLOC_EVERY=1
   * tries them all. */
  long every = th_env_long("POND_ALLOC_EVERY", 7);
  for (long k = 1;; k += k < 400 ? 1 : every) {
    tu_alloc a = {k, 0, 0, 0};
    int rc;
    db = mst_open_a(&s, 0, &a, &rc);
    if (rc == POND_OK) {
      CHECK(!a.failed);
      TU_SAME(db, want);
      pond_close(db);
      CHECK_EQ(a.live, 0);
      break;
    }
    points++;
    CHECK_EQ(rc, POND_ENOMEM);
    CHECK(a.failed);
    CHECK_EQ(a.live, 0);
    if (th_case_failures) {
      fprintf(stderr, "  allocation %ld: %s\n", k, pond_errmsg(NULL));
      break;
    }
  }
  printf("  %ld allocation points in a load, each failed once\n", points);
  CHECK(points > 20);
  free(want);
  fsu_clear(&s.m);
}

/* Every allocation of each call of a scenario fails once, with storage:
 * the call fails with POND_ENOMEM, memory and storage are as before. */
static void every_allocation_of_a_commit_fails_cleanly(void) {
  mst s = {0};
  tu_alloc a = {0, 0, 0, 0};
  int rc;
  pond_db *db = mst_open_a(&s, POND_AUTOCREATE, &a, &rc);
  REQUIRE(db);
  uint64_t many[300];
  for (size_t i = 0; i < 300; i++) many[i] = i * 131;
  long points = 0;
  for (int step = 0; step < 11; step++) {
    for (long k = 1;; k++) {
      char *before = tu_dump(db);
      long commits = s.commits;
      a.countdown = k;
      a.failed = 0;
      uint32_t t = 0;
      switch (step) {
        case 0: rc = tu_define(db, DEFS); break;
        case 1: rc = pond_customer_upsert(db, 5, 1); break;
        case 2: rc = pond_tag_id(db, "camp/new", &t); break;
        case 3: rc = pond_tag_add(db, 5, 1, 2); break;
        case 4: rc = pond_tag_add_many(db, 4, many, 300, 3); break;
        case 5: rc = pond_attr_set_str(db, 131, "region", "深圳"); break;
        case 6: rc = pond_tag_add(db, 262, 2, 4); break; /* exclusive: add_slow */
        case 7: rc = pond_tag_rename(db, 4, "src/shop"); break;
        case 8: rc = pond_customer_delete(db, 131); break;
        case 9:
          rc = pond_begin(db);
          if (rc == POND_OK) rc = pond_tag_add(db, 393, 1, 5);
          if (rc == POND_OK) rc = pond_attr_set_int(db, 393, "spend", 5);
          if (rc == POND_OK) rc = pond_commit(db);
          else pond_rollback(db);
          break;
        default: rc = pond_tag_delete(db, 4); break;
      }
      a.countdown = 0;
      if (rc == POND_OK) { /* done (a failure may have been absorbed: still consistent) */
        free(before);
        char *now = tu_dump(db);
        SAME_RELOADED(&s, now);
        free(now);
        break;
      }
      points++;
      CHECK_EQ(rc, POND_ENOMEM);
      TU_SAME(db, before);
      CHECK_EQ(s.commits, commits);
      SAME_RELOADED(&s, before);
      free(before);
      if (th_case_failures) {
        fprintf(stderr, "  step %d allocation %ld: %s\n", step, k, pond_errmsg(db));
        break;
      }
    }
    if (th_case_failures) break;
  }
  TU_INVARIANTS(db);
  char *end = tu_dump(db);
  pond_close(db);
  CHECK_EQ(a.live, 0);
  SAME_RELOADED(&s, end);
  free(end);
  printf("  %ld allocation points in 11 calls with storage, each failed once\n", points);
  fsu_clear(&s.m);
}

/* lib/bitmap's one-change undo against the simplest oracle: after any
 * sequence of (save, one add or remove) on random bitmaps — all container
 * kinds, containers created and emptied, shared containers — restoring the
 * saves in reverse gives back a bitmap equal to a copy taken first, and
 * snapshots taken before stay untouched. */
static void bm_undo_restores_any_sequence_of_single_changes(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  uint64_t rng = th_seed(3);
  long restores = 0;
  for (int round = 0; round < 300; round++) {
    bm b, orig, snap;
    bm_init(&b);
    bm_init(&orig);
    bm_init(&snap);
    int kind = round % 4;
    for (int i = 0; i < (kind == 0 ? 20 : kind == 1 ? 6000 : kind == 2 ? 70000 : 300); i++) {
      uint64_t x = kind == 2 ? (uint64_t)i : kind == 3 ? th_rand(&rng) % (1u << 24) : th_rand(&rng) % 200000;
      REQ(bm_add(&m, &b, x) >= 0);
    }
    if (round % 3 == 0) REQ(bm_run_optimize(&m, &b) == POND_OK);
    REQ(bm_copy(&m, &orig, &b) == POND_OK);
    if (round % 2) REQ(bm_copy(&m, &snap, &b) == POND_OK); /* shares every container */
    bm_undo u[64];
    int n = 1 + (int)(th_rand(&rng) % 64);
    for (int k = 0; k < n; k++) {
      uint64_t r = th_rand(&rng);
      uint64_t x = r % 4 == 0 ? (r >> 8) % (1u << 24) : (r >> 8) % 200000;
      if (r % 7 == 0) x = bm_is_empty(&b) ? x : bm_min(&b); /* often the sole member of its chunk */
      REQ(bm_undo_save(&m, &b, x, &u[k]) == POND_OK);
      int rc = (r >> 3) & 1 ? bm_add(&m, &b, x) : bm_remove(&m, &b, x);
      REQ(rc >= 0);
    }
    for (int k = n; k-- > 0;) {
      bm_undo_restore(&m, &b, &u[k]);
      restores++;
    }
    CHECK(bm_equal(&b, &orig));
    CHECK_EQ(bm_card(&b), bm_card(&orig));
    if (round % 2) CHECK(bm_equal(&snap, &orig));
    /* release instead of restore: the changes stay, nothing leaks */
    REQ(bm_undo_save(&m, &b, 12345, &u[0]) == POND_OK);
    REQ(bm_add(&m, &b, 12345) >= 0);
    bm_undo_release(&m, &u[0]);
    CHECK(bm_contains(&b, 12345));
    bm_free(&m, &b);
    bm_free(&m, &orig);
    bm_free(&m, &snap);
    if (th_case_failures) {
      fprintf(stderr, "  round %d\n", round);
      break;
    }
  }
  printf("  %ld single changes undone\n", restores);
  CHECK_EQ(atomic_load(&m.used), 0);
}

int main(void) {
  TH_RUN(empty_storage_opens_empty_and_meta_comes_with_the_first_commit);
  TH_RUN(every_kind_of_record_round_trips);
  TH_RUN(random_workload_reopens_to_the_same_state_after_every_step);
  TH_RUN(kth_commit_fails_for_every_k);
  TH_RUN(fast_paths_undo_exactly_on_every_container_kind);
  TH_RUN(chunk_image_then_snapshot_rolls_back);
  TH_RUN(newer_format_and_missing_meta_are_corrupt);
  TH_RUN(damaged_records_never_load_wrongly);
  TH_RUN(malformed_keys_and_contents_are_corrupt);
  TH_RUN(scan_failures_and_disorder);
  TH_RUN(every_allocation_of_a_load_fails_cleanly);
  TH_RUN(every_allocation_of_a_commit_fails_cleanly);
  TH_RUN(bm_undo_restores_any_sequence_of_single_changes);
  return th_done();
}
