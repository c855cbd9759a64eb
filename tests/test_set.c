/*
 * test_set.c — pond_set_*: count, page, contains, serialize / deserialize
 * (Roaring portable format), set algebra against a naive model, misuse,
 * freeing from another thread.
 */
#include <pthread.h>

#include "test_db_util.h"

#define T0 1700000000

static pond_db *fixture(void) {
  pond_db *db = tu_open(POND_AUTOCREATE);
  if (db && tu_define(db, "{\"tag_groups\": [{\"name\": \"g\"}]}") != POND_OK) {
    pond_close(db);
    return NULL;
  }
  return db;
}

/* The members of a new tag holding ids[0..n). */
static pond_set *set_of(pond_db *db, const char *tag, const uint64_t *ids, size_t n) {
  uint32_t t = tu_tag(db, tag);
  pond_set *s = NULL;
  if (n && pond_tag_add_many(db, t, ids, n, T0) != POND_OK) return NULL;
  if (pond_tag_members(db, t, &s) != POND_OK) return NULL;
  return s;
}

static void count_page_contains(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  uint64_t ids[] = {70000, 3, 1, 65536, 1ull << 40, 5};
  pond_set *s = set_of(db, "g/a", ids, 6);
  REQUIRE(s);
  CHECK_EQ(pond_set_count(s), 6);
  uint64_t out[8];
  CHECK_EQ(pond_set_page(s, 0, out, 8), 6);
  CHECK_EQ(out[0], 1);
  CHECK_EQ(out[1], 3);
  CHECK_EQ(out[3], 65536);
  CHECK(out[5] == 1ull << 40);
  CHECK_EQ(pond_set_page(s, 4, out, 2), 2);
  CHECK_EQ(out[0], 5);
  CHECK_EQ(out[1], 65536);
  CHECK_EQ(pond_set_page(s, (1ull << 40) + 1, out, 8), 0);
  CHECK_EQ(pond_set_page(s, 0, out, 0), 0);
  CHECK_EQ(pond_set_contains(s, 65536), 1);
  CHECK_EQ(pond_set_contains(s, 2), 0);
  CHECK_EQ(pond_set_count(NULL), 0);
  CHECK_EQ(pond_set_contains(NULL, 1), 0);
  pond_set_free(s);
  pond_set_free(NULL);
  pond_close(db);
}

static void serialize_round_trips_and_validates(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  uint64_t ids[200];
  for (int i = 0; i < 200; i++) ids[i] = (uint64_t)i * 1000 + (i % 7);
  pond_set *s = set_of(db, "g/a", ids, 200);
  REQUIRE(s);
  size_t need = 0, len = 0;
  CHECK_EQ(pond_set_serialize(s, NULL, 0, &need), POND_OK);
  CHECK(need > 0);
  unsigned char *buf = malloc(need);
  CHECK_EQ(pond_set_serialize(s, buf, need - 1, &len), POND_ELIMIT);
  CHECK_EQ(pond_set_serialize(s, buf, need, &len), POND_OK);
  CHECK_EQ(len, need);
  pond_set *r = NULL;
  CHECK_EQ(pond_set_deserialize(db, buf, len, &r), POND_OK);
  REQUIRE(r);
  CHECK_EQ(pond_set_count(r), 200);
  pond_set *x = NULL;
  CHECK_EQ(pond_set_op(db, POND_XOR, s, r, &x), POND_OK);
  CHECK_EQ(pond_set_count(x), 0);
  pond_set_free(x);
  pond_set_free(r);
  /* every truncation is rejected without a set */
  for (size_t cut = 0; cut < len; cut++) {
    pond_set *bad = (pond_set *)1;
    int rc = pond_set_deserialize(db, buf, cut, &bad);
    CHECK(rc == POND_ECORRUPT);
    CHECK(bad == (pond_set *)1);
  }
  CHECK_EQ(pond_set_serialize(NULL, buf, need, &len), POND_EINVAL);
  CHECK_EQ(pond_set_deserialize(db, NULL, 5, &r), POND_EINVAL);
  free(buf);
  pond_set_free(s);
  pond_close(db);
}

/* {1, 5}: cookie 12346, one container, key 0, cardinality-1 = 1, offset
 * 16, then the uint16 values 1 and 5 (RoaringFormatSpec, no run
 * containers). */
static void small_set_is_the_roaring_portable_format(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  uint64_t ids[] = {5, 1};
  pond_set *s = set_of(db, "g/a", ids, 2);
  REQUIRE(s);
  static const unsigned char want[] = {0x3a, 0x30, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0,
                                       16, 0, 0, 0, 1, 0, 5, 0};
  unsigned char buf[64];
  size_t len = 0;
  CHECK_EQ(pond_set_serialize(s, buf, sizeof buf, &len), POND_OK);
  CHECK_EQ(len, sizeof want);
  CHECK(len == sizeof want && memcmp(buf, want, len) == 0);
  pond_set *r = NULL;
  CHECK_EQ(pond_set_deserialize(db, want, sizeof want, &r), POND_OK);
  CHECK_EQ(pond_set_count(r), 2);
  CHECK_EQ(pond_set_contains(r, 5), 1);
  pond_set_free(r);
  pond_set_free(s);
  pond_close(db);
}

static int in(const uint64_t *v, size_t n, uint64_t x) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == x) return 1;
  return 0;
}

static void set_algebra_matches_a_naive_model(void) {
  uint64_t rng = th_seed(99);
  pond_db *db = fixture();
  REQUIRE(db);
  for (int round = 0; round < 20; round++) {
    uint64_t a[300], b[300];
    size_t na = th_rand(&rng) % 300, nb = th_rand(&rng) % 300;
    uint64_t span = round % 2 ? 1000 : 1ull << 34;
    for (size_t i = 0; i < na; i++) a[i] = th_rand(&rng) % span;
    for (size_t i = 0; i < nb; i++) b[i] = th_rand(&rng) % span;
    char ta[16], tb[16];
    snprintf(ta, sizeof ta, "g/a%d", round);
    snprintf(tb, sizeof tb, "g/b%d", round);
    pond_set *sa = set_of(db, ta, a, na), *sb = set_of(db, tb, b, nb);
    REQUIRE(sa && sb);
    for (int op = POND_AND; op <= POND_XOR; op++) {
      pond_set *r = NULL;
      CHECK_EQ(pond_set_op(db, op, sa, sb, &r), POND_OK);
      REQUIRE(r);
      uint64_t expect = 0;
      for (uint64_t x = 0; x < (round % 2 ? span : 0); x++) {
        int ia = in(a, na, x), ib = in(b, nb, x);
        int want = op == POND_AND ? ia && ib : op == POND_OR ? ia || ib : op == POND_ANDNOT ? ia && !ib : ia != ib;
        expect += (uint64_t)want;
        if (pond_set_contains(r, x) != want) {
          CHECK_EQ(pond_set_contains(r, x), want);
          break;
        }
      }
      if (round % 2) CHECK_EQ(pond_set_count(r), expect);
      /* sparse rounds: check through members */
      uint64_t page[600];
      size_t got = pond_set_page(r, 0, page, 600);
      CHECK_EQ(got, pond_set_count(r));
      for (size_t i = 0; i < got; i++) {
        int ia = in(a, na, page[i]), ib = in(b, nb, page[i]);
        int want = op == POND_AND ? ia && ib : op == POND_OR ? ia || ib : op == POND_ANDNOT ? ia && !ib : ia != ib;
        CHECK(want);
        if (i) CHECK(page[i - 1] < page[i]);
      }
      pond_set_free(r);
    }
    pond_set_free(sa);
    pond_set_free(sb);
  }
  pond_close(db);
}

static void op_rejects_bad_arguments_and_sets_of_another_db(void) {
  pond_db *db = fixture(), *other = fixture();
  REQUIRE(db && other);
  uint64_t ids[] = {1, 2};
  pond_set *a = set_of(db, "g/a", ids, 2), *o = set_of(other, "g/a", ids, 2), *r = NULL;
  REQUIRE(a && o);
  CHECK_EQ(pond_set_op(db, 0, a, a, &r), POND_EINVAL);
  CHECK_EQ(pond_set_op(db, 5, a, a, &r), POND_EINVAL);
  CHECK_EQ(pond_set_op(db, POND_AND, a, NULL, &r), POND_EINVAL);
  CHECK_EQ(pond_set_op(db, POND_AND, a, o, &r), POND_EINVAL);
  CHECK_HAS(pond_errmsg(db), "different db");
  CHECK(r == NULL);
  CHECK_EQ(pond_set_op(NULL, POND_AND, a, a, &r), POND_EINVAL);
  pond_set_free(a);
  pond_set_free(o);
  pond_close(db);
  pond_close(other);
}

static void *free_it(void *s) {
  pond_set_free(s);
  return NULL;
}

static void a_set_may_be_freed_from_another_thread(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  uint64_t ids[1000];
  for (int i = 0; i < 1000; i++) ids[i] = (uint64_t)i * 3;
  uint32_t t = tu_tag(db, "g/a");
  CHECK_EQ(pond_tag_add_many(db, t, ids, 1000, T0), POND_OK);
  size_t before = pond_memory_used(db);
  pond_set *s[8];
  pthread_t th[8];
  for (int i = 0; i < 8; i++) CHECK_EQ(pond_tag_members(db, t, &s[i]), POND_OK);
  for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, free_it, s[i]);
  for (int i = 0; i < 1000; i += 2) pond_tag_remove(db, ids[i], t, T0); /* copies on write meanwhile */
  for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
  uint64_t n;
  pond_tag_count(db, t, &n);
  CHECK_EQ(n, 500);
  CHECK(pond_memory_used(db) <= before + 65536);
  pond_close(db);
}

int main(void) {
  TH_RUN(count_page_contains);
  TH_RUN(serialize_round_trips_and_validates);
  TH_RUN(small_set_is_the_roaring_portable_format);
  TH_RUN(set_algebra_matches_a_naive_model);
  TH_RUN(op_rejects_bad_arguments_and_sets_of_another_db);
  TH_RUN(a_set_may_be_freed_from_another_thread);
  return th_done();
}
