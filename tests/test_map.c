/* Hash maps and hashes (lib/core/map.c, hash.c): differential tests against a
 * naive model, allocation-failure injection, reserve, iteration. */
#include <string.h>

#include "core/map.h"
#include "harness.h"
#include "pond.h"

/* An allocator that counts calls that allocate and can fail the k-th. */
typedef struct counting {
  long allocs;  /* calls with nsize > 0 */
  long fail_at; /* fail this allocating call (1-based); 0: never */
} counting;

static void *count_alloc(void *ud, void *p, size_t o, size_t n) {
  counting *c = ud;
  (void)o;
  if (n == 0) {
    free(p);
    return NULL;
  }
  if (++c->allocs == c->fail_at) return NULL;
  return realloc(p, n);
}

/* ---- naive model -------------------------------------------------------- */

#define MODEL_MAX 8192
typedef struct model {
  uint64_t k[MODEL_MAX], v[MODEL_MAX];
  size_t n;
} model;

static long model_find(const model *md, uint64_t k) {
  for (size_t i = 0; i < md->n; i++)
    if (md->k[i] == k) return (long)i;
  return -1;
}
static void model_put(model *md, uint64_t k, uint64_t v) {
  long i = model_find(md, k);
  if (i >= 0) {
    md->v[i] = v;
  } else {
    md->k[md->n] = k;
    md->v[md->n++] = v;
  }
}
static int model_del(model *md, uint64_t k) {
  long i = model_find(md, k);
  if (i < 0) return 0;
  md->k[i] = md->k[md->n - 1];
  md->v[i] = md->v[--md->n];
  return 1;
}

/* The map holds exactly the model's entries, and iteration yields each once. */
static int map64_equals(const pc_map64 *h, const model *md) {
  if (h->count != md->n) return 0;
  for (size_t i = 0; i < md->n; i++) {
    uint64_t v = 0;
    if (pc_map64_get(h, md->k[i], &v) != POND_OK || v != md->v[i]) return 0;
    uint64_t *r = pc_map64_ref(h, md->k[i]);
    if (!r || *r != md->v[i]) return 0;
  }
  static unsigned char seen[MODEL_MAX];
  memset(seen, 0, sizeof seen);
  size_t it = 0, n = 0;
  uint64_t k, v;
  while (pc_map64_next(h, &it, &k, &v)) {
    long i = model_find(md, k);
    if (i < 0 || seen[i] || md->v[i] != v) return 0;
    seen[i] = 1;
    n++;
  }
  return n == md->n;
}

/* Keys drawn from a small universe (so that gets and deletes hit) that
 * includes the edge values 0 and UINT64_MAX. */
static uint64_t pick_key(uint64_t *s, unsigned universe) {
  uint64_t r = th_rand(s) % universe;
  if (th_rand(s) % 8 == 0) return (r << 40) | 0xABC; /* reserve's keys */
  if (r == 0) return 0;
  if (r == 1) return UINT64_MAX;
  if (r == 2) return UINT64_MAX - 1;
  return r * 0x10001ull; /* structured keys: low bits alike */
}

static void map64_matches_naive_model_over_random_ops(void) {
  uint64_t s = th_seed(20240601);
  static model md;
  counting c = {0, 0};
  pc_mem m;
  pc_mem_init(&m, count_alloc, &c, 0);
  for (int round = 0; round < 30; round++) {
    pc_map64 h;
    pc_map64_init(&h);
    md.n = 0;
    unsigned universe = 8 + (unsigned)(th_rand(&s) % 3000);
    int ops = 3000;
    for (int op = 0; op < ops; op++) {
      uint64_t r = th_rand(&s) % 100;
      uint64_t k = pick_key(&s, universe);
      if (r < 50) {
        uint64_t v = th_rand(&s);
        CHECK_EQ(pc_map64_put(&m, &h, k, v), POND_OK);
        model_put(&md, k, v);
      } else if (r < 80) {
        int want = model_del(&md, k);
        CHECK_EQ(pc_map64_del(&h, k), want ? POND_OK : POND_NOTFOUND);
      } else if (r < 97) {
        uint64_t v = 12345;
        long i = model_find(&md, k);
        CHECK_EQ(pc_map64_get(&h, k, &v), i >= 0 ? POND_OK : POND_NOTFOUND);
        if (i >= 0) CHECK(v == md.v[i]);
        if (i < 0) CHECK(v == 12345); /* a miss writes nothing */
        CHECK((pc_map64_ref(&h, k) != NULL) == (i >= 0));
      } else {
        /* reserve(n): the next n inserts of new keys never allocate. */
        size_t n = (size_t)(th_rand(&s) % 200);
        REQUIRE(pc_map64_reserve(&m, &h, n) == POND_OK);
        long before = c.allocs;
        size_t added = 0;
        for (size_t tries = 0; added < n && tries < 4 * n; tries++) {
          uint64_t nk = (th_rand(&s) % universe) << 40 | 0xABC;
          if (model_find(&md, nk) >= 0) continue;
          CHECK_EQ(pc_map64_put(&m, &h, nk, nk), POND_OK);
          model_put(&md, nk, nk);
          added++;
        }
        CHECK_EQ(c.allocs, before);
      }
      if (op % 97 == 0) CHECK(map64_equals(&h, &md));
    }
    CHECK(map64_equals(&h, &md));
    CHECK(h.used <= h.cap - h.cap / 4);
    pc_map64_free(&m, &h);
    CHECK_EQ(h.count, 0);
  }
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void map64_accepts_zero_and_max_keys(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pc_map64 h;
  pc_map64_init(&h);
  uint64_t v = 0;
  CHECK_EQ(pc_map64_get(&h, 0, &v), POND_NOTFOUND);
  CHECK_EQ(pc_map64_del(&h, UINT64_MAX), POND_NOTFOUND);
  CHECK(pc_map64_ref(&h, 0) == NULL);
  CHECK_EQ(pc_map64_put(&m, &h, 0, 7), POND_OK);
  CHECK_EQ(pc_map64_put(&m, &h, UINT64_MAX, 9), POND_OK);
  CHECK_EQ(pc_map64_get(&h, 0, &v), POND_OK);
  CHECK_EQ(v, 7);
  CHECK_EQ(pc_map64_get(&h, UINT64_MAX, NULL), POND_OK);
  *pc_map64_ref(&h, UINT64_MAX) = 10;
  CHECK_EQ(pc_map64_get(&h, UINT64_MAX, &v), POND_OK);
  CHECK_EQ(v, 10);
  CHECK_EQ(h.count, 2);
  CHECK_EQ(pc_map64_del(&h, 0), POND_OK);
  CHECK_EQ(pc_map64_get(&h, 0, &v), POND_NOTFOUND);
  pc_map64_free(&m, &h);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void map64_overwrite_and_delete_never_allocate(void) {
  counting c = {0, 0};
  pc_mem m;
  pc_mem_init(&m, count_alloc, &c, 0);
  pc_map64 h;
  pc_map64_init(&h);
  for (uint64_t k = 0; k < 6; k++) CHECK_EQ(pc_map64_put(&m, &h, k, k), POND_OK);
  /* 6 entries fill a table of 8 to its 3/4 bound. */
  CHECK_EQ(h.cap, 8);
  c.fail_at = c.allocs + 1;
  for (uint64_t k = 0; k < 6; k++) CHECK_EQ(pc_map64_put(&m, &h, k, k + 100), POND_OK);
  CHECK_EQ(pc_map64_del(&h, 3), POND_OK);
  /* Re-inserting a deleted key reuses its freed slot: no growth. */
  int rc = pc_map64_put(&m, &h, 3, 3);
  CHECK(rc == POND_OK);
  /* The table is full again, so a new key must grow it, and that fails. */
  rc = pc_map64_put(&m, &h, 1000, 1);
  CHECK(rc == POND_ENOMEM);
  CHECK_EQ(h.count, 6);
  CHECK_EQ(pc_map64_get(&h, 1000, NULL), POND_NOTFOUND);
  pc_map64_free(&m, &h);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void map64_failed_growth_leaves_map_unchanged_for_every_k(void) {
  uint64_t s = th_seed(77);
  /* Fail the k-th allocation for k = 1, 2, ... until a run allocates fewer
   * than k times. */
  for (long k = 1;; k++) {
    counting c = {0, k};
    pc_mem m;
    pc_mem_init(&m, count_alloc, &c, 0);
    pc_map64 h;
    pc_map64_init(&h);
    static model md;
    md.n = 0;
    int failures = 0;
    for (int i = 0; i < 2000; i++) {
      uint64_t key = th_rand(&s);
      int rc = i % 50 == 49 ? pc_map64_reserve(&m, &h, 300) : pc_map64_put(&m, &h, key, ~key);
      if (rc == POND_OK) {
        if (i % 50 != 49) model_put(&md, key, ~key);
      } else {
        CHECK_EQ(rc, POND_ENOMEM);
        failures++;
      }
      if (rc != POND_OK) CHECK(map64_equals(&h, &md));
    }
    CHECK_EQ(failures, c.allocs >= k);
    CHECK(map64_equals(&h, &md));
    pc_map64_free(&m, &h);
    CHECK_EQ(atomic_load(&m.used), 0);
    if (!failures) {
      CHECK(k > 8); /* 2,000 keys need at least 9 growths */
      break;
    }
  }
}

static void map64_memory_limit_refuses_growth_all_or_nothing(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 4096);
  pc_map64 h;
  pc_map64_init(&h);
  uint64_t k = 0;
  int rc;
  while ((rc = pc_map64_put(&m, &h, k * 7919, k)) == POND_OK) k++;
  CHECK_EQ(rc, POND_ENOMEM);
  CHECK_EQ(h.count, k);
  for (uint64_t i = 0; i < k; i++) {
    uint64_t v;
    CHECK_EQ(pc_map64_get(&h, i * 7919, &v), POND_OK);
    CHECK(v == i);
  }
  CHECK_EQ(pc_map64_reserve(&m, &h, 1000), POND_ENOMEM);
  CHECK_EQ(pc_map64_reserve(&m, &h, (size_t)-1), POND_ENOMEM);
  CHECK_EQ(h.count, k);
  pc_map64_free(&m, &h);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void map64_iteration_allows_removing_the_entry_just_returned(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pc_map64 h;
  pc_map64_init(&h);
  for (uint64_t k = 0; k < 1000; k++) CHECK_EQ(pc_map64_put(&m, &h, k, k * 2), POND_OK);
  static unsigned char seen[1000];
  memset(seen, 0, sizeof seen);
  size_t it = 0, visits = 0;
  uint64_t k, v;
  while (pc_map64_next(&h, &it, &k, &v)) {
    REQUIRE(k < 1000);
    CHECK(!seen[k]);
    CHECK(v == k * 2);
    seen[k] = 1;
    visits++;
    if (k % 3 != 0) CHECK_EQ(pc_map64_del(&h, k), POND_OK);
  }
  CHECK_EQ(visits, 1000);
  CHECK_EQ(h.count, 334);
  for (k = 0; k < 1000; k++) CHECK_EQ(pc_map64_get(&h, k, NULL), k % 3 ? POND_NOTFOUND : POND_OK);
  pc_map64_free(&m, &h);
}

static void map64_delete_insert_churn_stays_bounded(void) {
  /* Tombstones must not accumulate: a long churn at a fixed size keeps the
   * table at its size and rebuilds only occasionally. */
  counting c = {0, 0};
  pc_mem m;
  pc_mem_init(&m, count_alloc, &c, 0);
  pc_map64 h;
  pc_map64_init(&h);
  uint64_t s = th_seed(5);
  static uint64_t live[700];
  for (int i = 0; i < 700; i++) {
    live[i] = th_rand(&s);
    CHECK_EQ(pc_map64_put(&m, &h, live[i], 1), POND_OK);
  }
  size_t cap = h.cap;
  long allocs = c.allocs;
  for (int i = 0; i < 200000; i++) {
    int j = (int)(th_rand(&s) % 700);
    CHECK_EQ(pc_map64_del(&h, live[j]), POND_OK);
    live[j] = th_rand(&s);
    CHECK_EQ(pc_map64_put(&m, &h, live[j], 1), POND_OK);
  }
  CHECK_EQ(h.count, 700);
  CHECK(h.cap <= cap * 2);
  CHECK(c.allocs - allocs < 200000 / 50);
  pc_map64_free(&m, &h);
}

static void map64_probe_runs_wrap_around_the_table_end(void) {
  /* Keys whose home is one of the last two slots of a 16-slot table: their
   * run wraps to slot 0 and on, across the mirrored meta bytes that group
   * probing reads. Deleting and re-inserting inside the run must keep every
   * other key reachable. */
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pc_map64 h;
  pc_map64_init(&h);
  REQUIRE(pc_map64_reserve(&m, &h, 12) == POND_OK);
  REQUIRE(h.cap == 16);
  uint64_t keys[12];
  int n = 0;
  for (uint64_t k = 0; n < 12; k++)
    if ((pc_hash_u64(k) & 15) >= 14) keys[n++] = k;
  static model md;
  md.n = 0;
  for (int i = 0; i < 12; i++) {
    CHECK_EQ(pc_map64_put(&m, &h, keys[i], (uint64_t)i), POND_OK);
    model_put(&md, keys[i], (uint64_t)i);
  }
  CHECK_EQ(h.cap, 16); /* reserved: no growth */
  CHECK(map64_equals(&h, &md));
  uint64_t s = th_seed(61);
  for (int round = 0; round < 2000; round++) {
    int j = (int)(th_rand(&s) % 12);
    if (model_find(&md, keys[j]) >= 0) {
      CHECK_EQ(pc_map64_del(&h, keys[j]), POND_OK);
      model_del(&md, keys[j]);
    } else {
      CHECK_EQ(pc_map64_put(&m, &h, keys[j], (uint64_t)round), POND_OK);
      model_put(&md, keys[j], (uint64_t)round);
    }
    for (int i = 0; i < 12; i++)
      CHECK_EQ(pc_map64_get(&h, keys[i], NULL), model_find(&md, keys[i]) >= 0 ? POND_OK : POND_NOTFOUND);
  }
  CHECK(map64_equals(&h, &md));
  CHECK_EQ(h.cap, 16);
  pc_map64_free(&m, &h);
  CHECK_EQ(atomic_load(&m.used), 0);
}

/* ---- pc_strmap ----------------------------------------------------------- */

#define NKEYS 600
static char key_store[NKEYS][24];
static size_t key_len[NKEYS];

static void make_keys(void) {
  for (int i = 0; i < NKEYS; i++) {
    /* Lengths 0..23, embedded NULs, shared prefixes. */
    size_t n = (size_t)(i % 24);
    for (size_t j = 0; j < n; j++) key_store[i][j] = (char)(j == 3 ? 0 : 'a' + (i / 24 + j) % 26);
    key_len[i] = n;
  }
  /* Keys of one length differ in their first byte, so the only duplicates
   * are the 25 empty keys; key_index maps a key to its first occurrence. */
}

static int key_index(const char *k, size_t n) {
  for (int i = 0; i < NKEYS; i++)
    if (key_len[i] == n && memcmp(key_store[i], k, n) == 0) return i;
  return -1;
}

static void strmap_matches_naive_model_over_random_ops(void) {
  uint64_t s = th_seed(99);
  make_keys();
  /* Model: value per canonical key index, or -1. */
  static int64_t mv[NKEYS];
  counting c = {0, 0};
  pc_mem m;
  pc_mem_init(&m, count_alloc, &c, 0);
  for (int round = 0; round < 10; round++) {
    pc_strmap h;
    pc_strmap_init(&h);
    for (int i = 0; i < NKEYS; i++) mv[i] = -1;
    for (int op = 0; op < 20000; op++) {
      int ki = (int)(th_rand(&s) % NKEYS);
      int i = key_index(key_store[ki], key_len[ki]);
      uint64_t r = th_rand(&s) % 100;
      if (r < 45) {
        int64_t v = (int64_t)(th_rand(&s) >> 2);
        CHECK_EQ(pc_strmap_put(&m, &h, key_store[ki], key_len[ki], (uint64_t)v), POND_OK);
        mv[i] = v;
      } else if (r < 75) {
        CHECK_EQ(pc_strmap_del(&h, key_store[ki], key_len[ki]), mv[i] >= 0 ? POND_OK : POND_NOTFOUND);
        mv[i] = -1;
      } else if (r < 98) {
        uint64_t v = 1;
        CHECK_EQ(pc_strmap_get(&h, key_store[ki], key_len[ki], &v), mv[i] >= 0 ? POND_OK : POND_NOTFOUND);
        if (mv[i] >= 0) CHECK(v == (uint64_t)mv[i]);
      } else {
        size_t n = (size_t)(th_rand(&s) % 100);
        REQUIRE(pc_strmap_reserve(&m, &h, n) == POND_OK);
        long before = c.allocs;
        size_t added = 0;
        for (int j = 0; j < NKEYS && added < n; j++) {
          int cj = key_index(key_store[j], key_len[j]);
          if (cj != j || mv[j] >= 0) continue;
          CHECK_EQ(pc_strmap_put(&m, &h, key_store[j], key_len[j], 5), POND_OK);
          mv[j] = 5;
          added++;
        }
        CHECK_EQ(c.allocs, before);
      }
    }
    size_t live = 0;
    for (int i = 0; i < NKEYS; i++) live += mv[i] >= 0;
    CHECK_EQ(h.count, live);
    static unsigned char seen[NKEYS];
    memset(seen, 0, sizeof seen);
    size_t it = 0, n = 0;
    const char *k;
    size_t kl;
    uint64_t v;
    while (pc_strmap_next(&h, &it, &k, &kl, &v)) {
      int i = key_index(k, kl);
      REQUIRE(i >= 0);
      CHECK(!seen[i]);
      CHECK(mv[i] >= 0 && (uint64_t)mv[i] == v);
      CHECK(k >= key_store[0] && k <= key_store[NKEYS - 1]); /* borrowed, not copied */
      seen[i] = 1;
      n++;
    }
    CHECK_EQ(n, live);
    pc_strmap_free(&m, &h);
  }
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void strmap_failed_growth_leaves_map_unchanged_and_frees_all(void) {
  char names[300][8];
  for (int i = 0; i < 300; i++) snprintf(names[i], sizeof names[i], "t%03d", i);
  for (long k = 1;; k++) {
    counting c = {0, k};
    pc_mem m;
    pc_mem_init(&m, count_alloc, &c, 0);
    pc_strmap h;
    pc_strmap_init(&h);
    int ok = 0, failed = 0;
    for (int i = 0; i < 300; i++) {
      int rc = pc_strmap_put(&m, &h, names[i], 4, (uint64_t)i);
      if (rc == POND_OK) {
        ok++;
        continue;
      }
      CHECK_EQ(rc, POND_ENOMEM);
      failed++;
      CHECK_EQ(pc_strmap_get(&h, names[i], 4, NULL), POND_NOTFOUND);
      CHECK_EQ(h.count, (size_t)ok);
    }
    CHECK_EQ(failed, c.allocs >= k);
    for (int i = 0; i < 300; i++) {
      uint64_t v;
      int rc = pc_strmap_get(&h, names[i], 4, &v);
      if (rc == POND_OK) CHECK(v == (uint64_t)i);
    }
    pc_strmap_free(&m, &h);
    CHECK_EQ(atomic_load(&m.used), 0);
    if (!failed) {
      CHECK(k > 6);
      break;
    }
  }
}

static void strmap_distinguishes_prefixes_and_empty_key(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pc_strmap h;
  pc_strmap_init(&h);
  const char *t = "tagtag\0x";
  CHECK_EQ(pc_strmap_put(&m, &h, t, 3, 1), POND_OK);
  CHECK_EQ(pc_strmap_put(&m, &h, t, 6, 2), POND_OK);
  CHECK_EQ(pc_strmap_put(&m, &h, t, 0, 3), POND_OK);
  CHECK_EQ(pc_strmap_put(&m, &h, t, 8, 4), POND_OK);
  CHECK_EQ(pc_strmap_put(&m, &h, t + 3, 3, 5), POND_OK); /* same bytes as t[0..3) */
  CHECK_EQ(h.count, 4);
  uint64_t v;
  CHECK_EQ(pc_strmap_get(&h, "tag", 3, &v), POND_OK);
  CHECK_EQ(v, 5);
  CHECK_EQ(pc_strmap_get(&h, "", 0, &v), POND_OK);
  CHECK_EQ(v, 3);
  CHECK_EQ(pc_strmap_get(&h, NULL, 0, &v), POND_OK);
  CHECK_EQ(pc_strmap_get(&h, "tagtag\0y", 8, &v), POND_NOTFOUND);
  CHECK_EQ(pc_strmap_get(&h, "tagtag\0x", 8, &v), POND_OK);
  CHECK_EQ(v, 4);
  CHECK_EQ(pc_strmap_del(&h, "tagta", 5), POND_NOTFOUND);
  CHECK_EQ(pc_strmap_del(&h, "tagtag", 6), POND_OK);
  CHECK_EQ(pc_strmap_get(&h, "tagtag", 6, &v), POND_NOTFOUND);
  pc_strmap_free(&m, &h);
  CHECK_EQ(atomic_load(&m.used), 0);
}

/* ---- hashes -------------------------------------------------------------- */

static int popcount64(uint64_t x) {
  int n = 0;
  while (x) {
    x &= x - 1;
    n++;
  }
  return n;
}

static void hash_bytes_avalanches_on_every_input_bit(void) {
  /* Flipping any one bit of inputs of every length 1..80 flips about half
   * the output bits; a weak tail or length handling shows up as a low mean
   * or a near-zero minimum. */
  unsigned char buf[80];
  uint64_t s = th_seed(3);
  long total = 0, flips = 0;
  int minimum = 64;
  for (size_t n = 1; n <= sizeof buf; n++) {
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)th_rand(&s);
    uint64_t h0 = pc_hash_bytes(buf, n, 42);
    for (size_t b = 0; b < n * 8; b++) {
      buf[b / 8] ^= (unsigned char)(1u << (b % 8));
      int d = popcount64(h0 ^ pc_hash_bytes(buf, n, 42));
      buf[b / 8] ^= (unsigned char)(1u << (b % 8));
      total += d;
      flips++;
      if (d < minimum) minimum = d;
    }
  }
  double mean = (double)total / (double)flips;
  printf("hash_bytes avalanche: mean %.2f bits, min %d\n", mean, minimum);
  CHECK(mean > 30.0 && mean < 34.0);
  CHECK(minimum >= 12);
}

static void hash_bytes_depends_on_length_seed_and_content(void) {
  static const char zeros[64];
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pc_map64 seen;
  pc_map64_init(&seen);
  /* Runs of zero bytes of every length, under two seeds, all differ. */
  for (uint64_t seed = 0; seed < 2; seed++)
    for (size_t n = 0; n <= 64; n++)
      CHECK_EQ(pc_map64_put(&m, &seen, pc_hash_bytes(zeros, n, seed), n), POND_OK);
  CHECK_EQ(seen.count, 130);
  /* 200k short decimal strings: no 64-bit collision expected. */
  char b[16];
  for (int i = 0; i < 200000; i++) {
    int n = snprintf(b, sizeof b, "%d", i);
    CHECK_EQ(pc_map64_put(&m, &seen, pc_hash_bytes(b, (size_t)n, 7), (uint64_t)i), POND_OK);
  }
  CHECK_EQ(seen.count, 130 + 200000);
  CHECK(pc_hash_bytes("abc", 3, 1) == pc_hash_bytes("abc", 3, 1));
  CHECK(pc_hash_u64(0) != pc_hash_u64(1));
  pc_map64_free(&m, &seen);
}

static void hash_u64_spreads_strided_ids_over_low_bits(void) {
  /* Sequential ids must spread over the low bits the tables index with. */
  enum { B = 1 << 12 };
  static unsigned buckets[B];
  memset(buckets, 0, sizeof buckets);
  for (uint64_t i = 0; i < B * 16; i++) buckets[pc_hash_u64(i << 20) & (B - 1)]++;
  unsigned mx = 0;
  for (int i = 0; i < B; i++)
    if (buckets[i] > mx) mx = buckets[i];
  CHECK(mx < 48); /* mean 16; a poor mixer piles hundreds into one bucket */
}

int main(void) {
  TH_RUN(map64_matches_naive_model_over_random_ops);
  TH_RUN(map64_accepts_zero_and_max_keys);
  TH_RUN(map64_overwrite_and_delete_never_allocate);
  TH_RUN(map64_failed_growth_leaves_map_unchanged_for_every_k);
  TH_RUN(map64_memory_limit_refuses_growth_all_or_nothing);
  TH_RUN(map64_iteration_allows_removing_the_entry_just_returned);
  TH_RUN(map64_delete_insert_churn_stays_bounded);
  TH_RUN(map64_probe_runs_wrap_around_the_table_end);
  TH_RUN(strmap_matches_naive_model_over_random_ops);
  TH_RUN(strmap_failed_growth_leaves_map_unchanged_and_frees_all);
  TH_RUN(strmap_distinguishes_prefixes_and_empty_key);
  TH_RUN(hash_bytes_avalanches_on_every_input_bit);
  TH_RUN(hash_bytes_depends_on_length_seed_and_content);
  TH_RUN(hash_u64_spreads_strided_ids_over_low_bits);
  return th_done();
}
