/*
 * test_tags.c — customers and tags: ids and names, add/remove/has,
 * exclusive groups, add_many, rename/merge/delete, customer deletion,
 * member snapshots, autocreate, threads.
 */
#include <pthread.h>

#include "test_db_util.h"

#define T0 1700000000

static const char *DEFS =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"},"
    "                  {\"name\": \"region\", \"type\": \"string\"}],"
    " \"tag_groups\": ["
    "  {\"name\": \"status\", \"exclusive\": true, \"tags\": [\"todo\", \"doing\", \"done\"]},"
    "  {\"name\": \"src\", \"tags\": [\"store\", \"ad\", \"live\"]},"
    "  {\"name\": \"camp\", \"ttl\": \"30d\"},"
    "  {\"name\": \"来源\", \"tags\": [\"门店扫码\"]}]}";

static pond_db *fixture(unsigned flags, int customers) {
  pond_db *db = tu_open(flags);
  if (!db) return NULL;
  if (tu_define(db, DEFS) != POND_OK) {
    fprintf(stderr, "define: %s\n", pond_errmsg(db));
    pond_close(db);
    return NULL;
  }
  for (int i = 1; i <= customers; i++) pond_customer_upsert(db, (uint64_t)i, T0 + i);
  return db;
}

static void tag_id_resolves_precreated_and_creates_in_open_groups(void) {
  pond_db *db = fixture(0, 0);
  REQUIRE(db);
  uint32_t a = 0, b = 0, c = 0, again = 0;
  CHECK_EQ(pond_tag_id(db, "src/store", &a), POND_OK);
  CHECK_EQ(pond_tag_id(db, "camp/spring", &b), POND_OK);
  CHECK(a != b && a && b);
  CHECK_EQ(pond_tag_id(db, "camp/spring", &again), POND_OK);
  CHECK_EQ(again, b);
  CHECK_EQ(pond_tag_id(db, "来源/门店扫码", &c), POND_OK);
  const char *name = NULL;
  CHECK_EQ(pond_tag_name(db, c, &name), POND_OK);
  CHECK_STR(name, "来源/门店扫码");
  uint32_t x = 77;
  CHECK_EQ(pond_tag_id(db, "nogroup/x", &x), POND_NOTFOUND);
  CHECK_HAS(pond_errmsg(db), "nogroup");
  CHECK_EQ(x, 77); /* failed calls write nothing */
  CHECK_EQ(pond_tag_id(db, "status/new", &x), POND_NOTFOUND);
  CHECK_HAS(pond_errmsg(db), "exclusive");
  TU_INVARIANTS(db);
  pond_close(db);
}

static void tag_id_rejects_malformed_names(void) {
  pond_db *db = fixture(0, 0);
  REQUIRE(db);
  char long_part[80];
  memset(long_part, 'x', sizeof long_part);
  memcpy(long_part, "src/", 4);
  long_part[4 + 65] = 0; /* 65-byte tag part */
  const char *bad[] = {"nogroupslash", "/x", "src/", "src/a/b", "src/*", "src/a\x01",
                       "src/\xff\xfe", "src/\xe4\xb8", long_part, ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint32_t id = 9;
    int rc = pond_tag_id(db, bad[i], &id);
    if (rc != POND_EINVAL) fprintf(stderr, "name #%zu gave %d\n", i, rc);
    CHECK_EQ(rc, POND_EINVAL);
    CHECK_EQ(id, 9);
  }
  long_part[4 + 64] = 0; /* exactly 64 bytes is fine */
  uint32_t id;
  CHECK_EQ(pond_tag_id(db, long_part, &id), POND_OK);
  CHECK_EQ(pond_tag_id(NULL, "src/a", &id), POND_EINVAL);
  CHECK_EQ(pond_tag_id(db, NULL, &id), POND_EINVAL);
  pond_close(db);
}

static void add_has_remove_and_customer_tags_in_id_order(void) {
  pond_db *db = fixture(0, 3);
  REQUIRE(db);
  uint32_t live = tu_tag(db, "src/live"), store = tu_tag(db, "src/store");
  CHECK_EQ(pond_tag_add(db, 1, live, T0), POND_OK);
  CHECK_EQ(pond_tag_add(db, 1, store, T0), POND_OK);
  CHECK_EQ(pond_tag_has(db, 1, live), 1);
  CHECK_EQ(pond_tag_has(db, 2, live), 0);
  uint32_t out[4];
  size_t n = 0;
  CHECK_EQ(pond_customer_tags(db, 1, out, 4, &n), POND_OK);
  CHECK_EQ(n, 2);
  CHECK(out[0] < out[1]);
  CHECK_EQ(pond_customer_tags(db, 1, out, 1, &n), POND_OK); /* truncated, total reported */
  CHECK_EQ(n, 2);
  CHECK_EQ(pond_customer_tags(db, 1, NULL, 0, &n), POND_OK);
  CHECK_EQ(n, 2);
  uint64_t cnt = 0;
  CHECK_EQ(pond_tag_count(db, live, &cnt), POND_OK);
  CHECK_EQ(cnt, 1);
  CHECK_EQ(pond_tag_remove(db, 1, live, T0), POND_OK);
  CHECK_EQ(pond_tag_remove(db, 1, live, T0), POND_OK); /* absent: nothing to do */
  CHECK_EQ(pond_tag_has(db, 1, live), 0);
  CHECK_EQ(pond_tag_count(db, live, &cnt), POND_OK);
  CHECK_EQ(cnt, 0);
  CHECK_EQ(pond_tag_add(db, 99, live, T0), POND_NOTFOUND);
  CHECK_HAS(pond_errmsg(db), "customer 99");
  CHECK_EQ(pond_tag_add(db, 1, 12345, T0), POND_NOTFOUND);
  CHECK_EQ(pond_tag_add(db, 1, 0, T0), POND_NOTFOUND);
  CHECK_EQ(pond_tag_has(db, 99, live), POND_NOTFOUND);
  CHECK_EQ(pond_customer_tags(db, 99, out, 4, &n), POND_NOTFOUND);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void readding_a_tag_refreshes_its_time_only(void) {
  pond_db *db = fixture(0, 1);
  REQUIRE(db);
  uint32_t ad = tu_tag(db, "src/ad");
  CHECK_EQ(pond_tag_add(db, 1, ad, T0), POND_OK);
  char *a = tu_dump(db);
  CHECK_EQ(pond_tag_add(db, 1, ad, T0 + 50), POND_OK);
  char *b = tu_dump(db);
  CHECK(strcmp(a, b) != 0);
  CHECK(strstr(b, "@1700000050") != NULL);
  uint64_t cnt;
  pond_tag_count(db, ad, &cnt);
  CHECK_EQ(cnt, 1);
  free(a);
  free(b);
  pond_close(db);
}

static void exclusive_group_replaces_sibling(void) {
  pond_db *db = fixture(0, 2);
  REQUIRE(db);
  uint32_t todo = tu_tag(db, "status/todo"), doing = tu_tag(db, "status/doing"),
           done = tu_tag(db, "status/done"), ad = tu_tag(db, "src/ad");
  CHECK_EQ(pond_tag_add(db, 1, todo, T0), POND_OK);
  CHECK_EQ(pond_tag_add(db, 1, ad, T0), POND_OK);
  CHECK_EQ(pond_tag_add(db, 1, doing, T0 + 1), POND_OK);
  CHECK_EQ(pond_tag_has(db, 1, todo), 0);
  CHECK_EQ(pond_tag_has(db, 1, doing), 1);
  CHECK_EQ(pond_tag_has(db, 1, ad), 1); /* other groups untouched */
  CHECK_EQ(pond_tag_add(db, 1, done, T0 + 2), POND_OK);
  uint64_t n;
  pond_tag_count(db, todo, &n);
  CHECK_EQ(n, 0);
  pond_tag_count(db, doing, &n);
  CHECK_EQ(n, 0);
  pond_tag_count(db, done, &n);
  CHECK_EQ(n, 1);
  size_t nt;
  uint32_t out[8];
  pond_customer_tags(db, 1, out, 8, &nt);
  CHECK_EQ(nt, 2);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void unknown_customer_is_notfound_unless_autocreate(void) {
  pond_db *db = fixture(0, 0);
  REQUIRE(db);
  uint32_t ad = tu_tag(db, "src/ad");
  CHECK_EQ(pond_tag_add(db, 5, ad, T0), POND_NOTFOUND);
  CHECK_EQ(pond_customer_exists(db, 5), 0);
  pond_close(db);

  db = fixture(POND_AUTOCREATE, 0);
  REQUIRE(db);
  ad = tu_tag(db, "src/ad");
  uint32_t todo = tu_tag(db, "status/todo");
  CHECK_EQ(pond_tag_add(db, 5, ad, T0 + 7), POND_OK);
  CHECK_EQ(pond_customer_exists(db, 5), 1);
  int64_t added = 0;
  CHECK_EQ(pond_attr_get_int(db, 5, "added_at", &added), 1);
  CHECK_EQ(added, T0 + 7);
  CHECK_EQ(pond_tag_add(db, 6, todo, T0), POND_OK); /* exclusive group, new customer */
  CHECK_EQ(pond_customer_count(db), 2);
  /* Removal and attributes do not create. */
  CHECK_EQ(pond_tag_remove(db, 9, ad, T0), POND_NOTFOUND);
  CHECK_EQ(pond_attr_set_int(db, 9, "spend", 1), POND_NOTFOUND);
  CHECK_EQ(pond_customer_exists(db, 9), 0);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void add_many_is_all_or_nothing_with_a_missing_cid(void) {
  pond_db *db = fixture(0, 10);
  REQUIRE(db);
  uint32_t ad = tu_tag(db, "src/ad");
  char *before = tu_dump(db);
  uint64_t ids[] = {1, 2, 3, 4242, 5};
  CHECK_EQ(pond_tag_add_many(db, ad, ids, 5, T0), POND_NOTFOUND);
  CHECK_HAS(pond_errmsg(db), "4242");
  TU_SAME(db, before);
  uint64_t ok[] = {9, 3, 3, 1, 7, 9};
  CHECK_EQ(pond_tag_add_many(db, ad, ok, 6, T0), POND_OK);
  uint64_t n;
  pond_tag_count(db, ad, &n);
  CHECK_EQ(n, 4);
  CHECK_EQ(pond_tag_has(db, 7, ad), 1);
  CHECK_EQ(pond_tag_add_many(db, ad, NULL, 0, T0), POND_OK);
  CHECK_EQ(pond_tag_add_many(db, ad, NULL, 3, T0), POND_EINVAL);
  TU_INVARIANTS(db);
  free(before);
  pond_close(db);
}

static void add_many_moves_exclusive_siblings_and_autocreates(void) {
  pond_db *db = fixture(POND_AUTOCREATE, 6);
  REQUIRE(db);
  uint32_t todo = tu_tag(db, "status/todo"), done = tu_tag(db, "status/done");
  uint64_t a[] = {1, 2, 3};
  CHECK_EQ(pond_tag_add_many(db, todo, a, 3, T0), POND_OK);
  uint64_t b[] = {3, 2, 100, 101};
  CHECK_EQ(pond_tag_add_many(db, done, b, 4, T0 + 1), POND_OK);
  CHECK_EQ(pond_tag_has(db, 1, todo), 1);
  CHECK_EQ(pond_tag_has(db, 2, todo), 0);
  CHECK_EQ(pond_tag_has(db, 2, done), 1);
  CHECK_EQ(pond_tag_has(db, 100, done), 1);
  CHECK_EQ(pond_customer_count(db), 8);
  int64_t added;
  CHECK_EQ(pond_attr_get_int(db, 101, "added_at", &added), 1);
  CHECK_EQ(added, T0 + 1);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void rename_keeps_id_and_checks_conflicts(void) {
  pond_db *db = fixture(0, 3);
  REQUIRE(db);
  uint32_t ad = tu_tag(db, "src/ad"), store = tu_tag(db, "src/store");
  uint32_t todo = tu_tag(db, "status/todo");
  pond_tag_add(db, 1, ad, T0);
  pond_tag_add(db, 1, todo, T0);
  CHECK_EQ(pond_tag_rename(db, ad, "src/ads"), POND_OK);
  uint32_t id;
  CHECK_EQ(pond_tag_id(db, "src/ads", &id), POND_OK);
  CHECK_EQ(id, ad);
  const char *nm;
  pond_tag_name(db, ad, &nm);
  CHECK_STR(nm, "src/ads");
  CHECK_EQ(pond_tag_has(db, 1, ad), 1);
  char *before = tu_dump(db);
  CHECK_EQ(pond_tag_rename(db, ad, "src/store"), POND_ECONFLICT);
  CHECK_EQ(pond_tag_rename(db, ad, "nogroup/x"), POND_NOTFOUND);
  CHECK_EQ(pond_tag_rename(db, ad, "bad"), POND_EINVAL);
  /* customer 1 holds status/todo: moving src/ads into status would break it */
  CHECK_EQ(pond_tag_rename(db, ad, "status/ads"), POND_ECONFLICT);
  TU_SAME(db, before);
  CHECK_EQ(pond_tag_rename(db, store, "status/store"), POND_OK); /* no members: fine */
  CHECK_EQ(pond_tag_rename(db, ad, "src/ads"), POND_OK);         /* same name: no-op */
  /* the old name is free again and creates a new id */
  CHECK_EQ(pond_tag_id(db, "src/ad", &id), POND_OK);
  CHECK(id != ad);
  TU_INVARIANTS(db);
  free(before);
  pond_close(db);
}

static void merge_moves_members_and_deletes_source(void) {
  pond_db *db = fixture(0, 5);
  REQUIRE(db);
  uint32_t ad = tu_tag(db, "src/ad"), live = tu_tag(db, "src/live");
  uint32_t todo = tu_tag(db, "status/todo"), done = tu_tag(db, "status/done");
  pond_tag_add(db, 1, ad, T0);
  pond_tag_add(db, 2, ad, T0);
  pond_tag_add(db, 2, live, T0);
  pond_tag_add(db, 3, live, T0);
  CHECK_EQ(pond_tag_merge(db, ad, live, T0 + 9), POND_OK);
  uint64_t n;
  CHECK_EQ(pond_tag_count(db, ad, &n), POND_NOTFOUND);
  CHECK_EQ(pond_tag_count(db, live, &n), POND_OK);
  CHECK_EQ(n, 3);
  CHECK_EQ(pond_tag_has(db, 1, live), 1);
  CHECK_EQ(pond_tag_merge(db, live, live, T0), POND_EINVAL);
  CHECK_EQ(pond_tag_merge(db, ad, live, T0), POND_NOTFOUND);
  /* into an exclusive group: members of from lose their sibling */
  pond_tag_add(db, 4, todo, T0);
  pond_tag_add(db, 5, done, T0);
  pond_tag_add(db, 4, live, T0);
  CHECK_EQ(pond_tag_merge(db, live, done, T0), POND_OK);
  CHECK_EQ(pond_tag_has(db, 4, todo), 0);
  CHECK_EQ(pond_tag_has(db, 4, done), 1);
  CHECK_EQ(pond_tag_has(db, 1, done), 1);
  /* within one exclusive group */
  CHECK_EQ(pond_tag_merge(db, todo, done, T0), POND_OK);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void delete_tag_removes_it_everywhere_and_never_reuses_its_id(void) {
  pond_db *db = fixture(0, 3);
  REQUIRE(db);
  uint32_t ad = tu_tag(db, "src/ad");
  pond_tag_add(db, 1, ad, T0);
  pond_tag_add(db, 3, ad, T0);
  CHECK_EQ(pond_tag_delete(db, ad), POND_OK);
  CHECK_EQ(pond_tag_delete(db, ad), POND_NOTFOUND);
  CHECK_EQ(pond_tag_has(db, 1, ad), POND_NOTFOUND);
  size_t n = 9;
  CHECK_EQ(pond_customer_tags(db, 1, NULL, 0, &n), POND_OK);
  CHECK_EQ(n, 0);
  uint32_t again;
  CHECK_EQ(pond_tag_id(db, "src/ad", &again), POND_OK);
  CHECK(again != ad);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void deleting_a_customer_erases_it_from_every_tag_and_attribute(void) {
  pond_db *db = fixture(0, 3);
  REQUIRE(db);
  uint32_t ad = tu_tag(db, "src/ad"), todo = tu_tag(db, "status/todo");
  pond_tag_add(db, 2, ad, T0);
  pond_tag_add(db, 2, todo, T0);
  pond_tag_add(db, 3, ad, T0);
  CHECK_EQ(pond_attr_set_int(db, 2, "spend", 10), POND_OK);
  CHECK_EQ(pond_attr_set_str(db, 2, "region", "north"), POND_OK);
  CHECK_EQ(pond_customer_delete(db, 2), POND_OK);
  CHECK_EQ(pond_customer_exists(db, 2), 0);
  CHECK_EQ(pond_customer_delete(db, 2), POND_NOTFOUND);
  uint64_t n;
  pond_tag_count(db, ad, &n);
  CHECK_EQ(n, 1);
  pond_tag_count(db, todo, &n);
  CHECK_EQ(n, 0);
  CHECK_EQ(pond_customer_count(db), 2);
  char *d = tu_dump(db);
  CHECK(strstr(d, "cust 2 ") == NULL);
  CHECK(strstr(d, "{2") == NULL && strstr(d, ",2,") == NULL);
  free(d);
  /* the id can come back, with nothing of the old customer */
  CHECK_EQ(pond_customer_upsert(db, 2, T0 + 100), POND_OK);
  CHECK_EQ(pond_tag_has(db, 2, ad), 0);
  int64_t v;
  CHECK_EQ(pond_attr_get_int(db, 2, "spend", &v), 0);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void members_are_a_snapshot(void) {
  pond_db *db = fixture(0, 200);
  REQUIRE(db);
  uint32_t ad = tu_tag(db, "src/ad");
  for (uint64_t c = 1; c <= 100; c++) pond_tag_add(db, c, ad, T0);
  pond_set *s = NULL;
  CHECK_EQ(pond_tag_members(db, ad, &s), POND_OK);
  REQUIRE(s);
  for (uint64_t c = 101; c <= 200; c++) pond_tag_add(db, c, ad, T0);
  pond_tag_remove(db, 5, ad, T0);
  pond_customer_delete(db, 6);
  CHECK_EQ(pond_set_count(s), 100);
  CHECK_EQ(pond_set_contains(s, 5), 1);
  CHECK_EQ(pond_set_contains(s, 6), 1);
  CHECK_EQ(pond_set_contains(s, 150), 0);
  uint64_t page[3];
  CHECK_EQ(pond_set_page(s, 99, page, 3), 2);
  CHECK_EQ(page[0], 99);
  CHECK_EQ(page[1], 100);
  pond_tag_delete(db, ad);
  CHECK_EQ(pond_set_count(s), 100);
  pond_set_free(s);
  pond_close(db);
}

static void customer_upsert_is_idempotent(void) {
  pond_db *db = fixture(0, 0);
  REQUIRE(db);
  CHECK_EQ(pond_customer_upsert(db, 0, T0), POND_OK); /* 0 and UINT64_MAX are ordinary ids */
  CHECK_EQ(pond_customer_upsert(db, UINT64_MAX, T0), POND_OK);
  CHECK_EQ(pond_customer_upsert(db, 0, T0 + 5), POND_OK);
  int64_t v;
  CHECK_EQ(pond_attr_get_int(db, 0, "added_at", &v), 1);
  CHECK_EQ(v, T0); /* the first upsert's time stays */
  CHECK_EQ(pond_attr_get_int(db, 0, "last_seen", &v), 0);
  CHECK_EQ(pond_customer_count(db), 2);
  uint32_t ad = tu_tag(db, "src/ad");
  CHECK_EQ(pond_tag_add(db, UINT64_MAX, ad, T0), POND_OK);
  CHECK_EQ(pond_tag_has(db, UINT64_MAX, ad), 1);
  TU_INVARIANTS(db);
  pond_close(db);
}

/* ------------------------------------------------------------------ threads */

typedef struct worker {
  pond_db *db;
  uint32_t tag;
  uint64_t base;
  int errors;
} worker;

static void *tagger(void *arg) {
  worker *w = arg;
  for (uint64_t i = 0; i < 2000; i++) {
    uint64_t cid = w->base + i;
    if (pond_customer_upsert(w->db, cid, T0) != POND_OK) w->errors++;
    if (pond_tag_add(w->db, cid, w->tag, T0) != POND_OK) w->errors++;
    if (pond_tag_has(w->db, cid, w->tag) != 1) w->errors++;
    if (i % 3 == 0 && pond_tag_remove(w->db, cid, w->tag, T0) != POND_OK) w->errors++;
    /* an error of this thread stays this thread's */
    if (i % 500 == 0) {
      if (pond_tag_add(w->db, cid, 99999, T0) != POND_NOTFOUND) w->errors++;
      if (!strstr(pond_errmsg(w->db), "tag 99999")) w->errors++;
    }
  }
  return NULL;
}

static void *reader(void *arg) {
  worker *w = arg;
  for (int i = 0; i < 300; i++) {
    pond_set *s = NULL;
    if (pond_tag_members(w->db, w->tag, &s) != POND_OK) {
      w->errors++;
      continue;
    }
    uint64_t n = pond_set_count(s), page[64], from = 0, seen = 0;
    size_t got;
    while ((got = pond_set_page(s, from, page, 64)) > 0) {
      seen += got;
      from = page[got - 1] + 1;
    }
    if (seen != n) w->errors++;
    pond_set_free(s);
    (void)pond_customer_count(w->db);
  }
  return NULL;
}

static void handle_is_safe_to_share_between_threads(void) {
  pond_db *db = fixture(0, 0);
  REQUIRE(db);
  worker w[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker){db, tu_tag(db, i < 2 ? "src/ad" : "src/live"), (uint64_t)i * 100000, 0};
    pthread_create(&th[i], NULL, i == 3 ? reader : tagger, &w[i]);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) CHECK_EQ(w[i].errors, 0);
  uint64_t n;
  pond_tag_count(db, w[0].tag, &n);
  CHECK_EQ(n, 2 * (2000 - 667));
  CHECK_EQ(pond_customer_count(db), 6000);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void errmsg_is_per_thread_and_open_failure_has_a_message(void) {
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = 99;
  pond_db *db = (pond_db *)1;
  CHECK_EQ(pond_open(&o, &db), POND_EINVAL);
  CHECK(db == (pond_db *)1);
  CHECK_HAS(pond_errmsg(NULL), "version");
  o.version = POND_OPTIONS_V1;
  o.flags = 0x80;
  CHECK_EQ(pond_open(&o, &db), POND_EINVAL);
  CHECK_HAS(pond_errmsg(NULL), "flags");
  db = fixture(0, 0);
  REQUIRE(db);
  CHECK_STR(pond_errmsg(db), "");
  CHECK_EQ(pond_error_offset(db), -1);
  CHECK_EQ(pond_customer_delete(db, 3), POND_NOTFOUND);
  CHECK_HAS(pond_errmsg(db), "customer 3");
  CHECK_EQ(pond_customer_upsert(db, 3, T0), POND_OK); /* success keeps the last error */
  CHECK_HAS(pond_errmsg(db), "customer 3");
  CHECK(pond_memory_used(db) > sizeof(void *));
  pond_close(db);
  pond_close(NULL);
}

int main(void) {
  TH_RUN(tag_id_resolves_precreated_and_creates_in_open_groups);
  TH_RUN(tag_id_rejects_malformed_names);
  TH_RUN(add_has_remove_and_customer_tags_in_id_order);
  TH_RUN(readding_a_tag_refreshes_its_time_only);
  TH_RUN(exclusive_group_replaces_sibling);
  TH_RUN(unknown_customer_is_notfound_unless_autocreate);
  TH_RUN(add_many_is_all_or_nothing_with_a_missing_cid);
  TH_RUN(add_many_moves_exclusive_siblings_and_autocreates);
  TH_RUN(rename_keeps_id_and_checks_conflicts);
  TH_RUN(merge_moves_members_and_deletes_source);
  TH_RUN(delete_tag_removes_it_everywhere_and_never_reuses_its_id);
  TH_RUN(deleting_a_customer_erases_it_from_every_tag_and_attribute);
  TH_RUN(members_are_a_snapshot);
  TH_RUN(customer_upsert_is_idempotent);
  TH_RUN(handle_is_safe_to_share_between_threads);
  TH_RUN(errmsg_is_per_thread_and_open_failure_has_a_message);
  return th_done();
}
