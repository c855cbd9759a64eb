/*
 * test_bitmap.c — lib/bitmap against CRoaring (Debian's libroaring 0.2.66)
 * as the oracle: random operation sequences over dense, sparse and runny
 * id distributions, contents / cardinalities / set algebra compared after
 * every batch, serialized bytes crossing both ways (and equal byte for byte
 * to CRoaring's after its run_optimize); the 64-bit format against bytes built from
 * CRoaring per bucket; the reader's validation; allocation failures at
 * every point of each operation; the SIMD kernels against the portable
 * ones.
 *
 * BITMAP_OPS sets the number of random operations: 120,000 by default,
 * 30,000 in sanitizer builds (4-8x slower; the plain build runs the full
 * count in the same test command).
 */
#include <roaring/roaring.h>
#include <time.h>

#include "bitmap/bm.h"
#include "bitmap/kern.h"
#include "core/mem.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ------------------------------------------------------------ allocator */

typedef struct alloc_ctl {
  long n;       /* allocations so far */
  long fail_at; /* the allocation number that fails (0: none) */
} alloc_ctl;

static void *t_alloc(void *ud, void *p, size_t osize, size_t nsize) {
  alloc_ctl *c = ud;
  (void)osize;
  if (nsize == 0) {
    free(p);
    return NULL;
  }
  if (++c->n == c->fail_at) return NULL;
  return realloc(p, nsize);
}

static alloc_ctl ctl;
static pc_mem mem;

static void mem_setup(void) {
  ctl.n = 0;
  ctl.fail_at = 0;
  pc_mem_init(&mem, t_alloc, &ctl, 0);
}

/* ---------------------------------------------------------- comparison */

static int report_diff(const char *what, uint64_t a, uint64_t b) {
  fprintf(stderr, "  %s: pond %" PRIu64 " vs roaring %" PRIu64 "\n", what, a, b);
  return 0;
}

/* b holds exactly r's values (ids < 2^32). */
static int same(const bm *b, const roaring_bitmap_t *r) {
  uint64_t card = roaring_bitmap_get_cardinality(r);
  if (bm_card(b) != card) return report_diff("cardinality", bm_card(b), card);
  if (!card) return bm_is_empty(b);
  uint32_t *v = malloc(card * sizeof *v);
  roaring_bitmap_to_uint32_array(r, v);
  bm_iter it;
  bm_iter_init(&it, b, 0);
  uint64_t x;
  int ok = 1;
  for (uint64_t i = 0; i < card && ok; i++) {
    if (!bm_iter_next(&it, &x)) ok = report_diff("iteration ended at", i, card);
    else if (x != v[i]) ok = report_diff("value", x, v[i]);
  }
  if (ok && bm_iter_next(&it, &x)) ok = report_diff("extra value", x, 0);
  if (ok && (bm_min(b) != v[0] || bm_max(b) != v[card - 1])) ok = report_diff("min", bm_min(b), v[0]);
  free(v);
  return ok;
}

/* Pages from `from` against the roaring values. */
static int same_page(const bm *b, const roaring_bitmap_t *r, uint32_t from, size_t cap) {
  uint64_t *out = malloc((cap + 1) * sizeof *out);
  size_t n = bm_page(b, from, out, cap);
  roaring_uint32_iterator_t *it = roaring_create_iterator(r);
  roaring_move_uint32_iterator_equalorlarger(it, from);
  size_t k = 0;
  int ok = 1;
  for (; it->has_value && k < cap; k++, roaring_advance_uint32_iterator(it))
    if (k >= n || out[k] != it->current_value) {
      ok = report_diff("page value", k < n ? out[k] : UINT64_MAX, it->current_value);
      break;
    }
  if (ok && k != n) ok = report_diff("page length", n, k);
  roaring_free_uint32_iterator(it);
  free(out);
  return ok;
}

static roaring_bitmap_t *r_op(int op, const roaring_bitmap_t *a, const roaring_bitmap_t *b) {
  switch (op) {
    case BM_AND: return roaring_bitmap_and(a, b);
    case BM_OR: return roaring_bitmap_or(a, b);
    case BM_ANDNOT: return roaring_bitmap_andnot(a, b);
    default: return roaring_bitmap_xor(a, b);
  }
}

static uint64_t r_op_card(int op, const roaring_bitmap_t *a, const roaring_bitmap_t *b) {
  switch (op) {
    case BM_AND: return roaring_bitmap_and_cardinality(a, b);
    case BM_OR: return roaring_bitmap_or_cardinality(a, b);
    case BM_ANDNOT: return roaring_bitmap_andnot_cardinality(a, b);
    default: return roaring_bitmap_xor_cardinality(a, b);
  }
}

static void r_op_inplace(int op, roaring_bitmap_t *a, const roaring_bitmap_t *b) {
  switch (op) {
    case BM_AND: roaring_bitmap_and_inplace(a, b); break;
    case BM_OR: roaring_bitmap_or_inplace(a, b); break;
    case BM_ANDNOT: roaring_bitmap_andnot_inplace(a, b); break;
    default: roaring_bitmap_xor_inplace(a, b); break;
  }
}

/* pond's bytes load in CRoaring, CRoaring's load in pond, and after both
 * run-optimize the bytes are identical. */
static int same_serialized(const bm *b, const roaring_bitmap_t *r) {
  size_t len;
  if (bm_serialize(b, NULL, 0, &len) != POND_OK) return 0;
  char *buf = malloc(len + 1);
  size_t len2;
  int ok = bm_serialize(b, buf, len, &len2) == POND_OK && len2 == len;
  roaring_bitmap_t *back = ok ? roaring_bitmap_portable_deserialize_safe(buf, len) : NULL;
  if (!back || !roaring_bitmap_equals(back, r)) ok = report_diff("pond bytes in roaring", len, 0);
  if (back && roaring_bitmap_portable_size_in_bytes(back) != len)
    ok = report_diff("roaring size of pond bytes", roaring_bitmap_portable_size_in_bytes(back), len);
  roaring_bitmap_free(back);
  free(buf);

  size_t rl = roaring_bitmap_portable_size_in_bytes(r);
  buf = malloc(rl);
  roaring_bitmap_portable_serialize(r, buf);
  bm c;
  bm_init(&c);
  pc_err e;
  if (bm_deserialize(&mem, buf, rl, -1, &c, &e) != POND_OK) {
    fprintf(stderr, "  roaring bytes rejected: %s\n", e.msg);
    ok = 0;
  } else if (!same(&c, r)) {
    ok = 0;
  }
  free(buf);

  /* canonical forms */
  roaring_bitmap_t *ro = roaring_bitmap_copy(r);
  roaring_bitmap_run_optimize(ro);
  bm_run_optimize(&mem, &c);
  rl = roaring_bitmap_portable_size_in_bytes(ro);
  buf = malloc(rl);
  roaring_bitmap_portable_serialize(ro, buf);
  char *mine = malloc(rl + 1);
  if (bm_serialize(&c, mine, rl, &len) != POND_OK || len != rl || memcmp(mine, buf, rl)) {
    size_t at = 0;
    while (at < rl && at < len && mine[at] == buf[at]) at++;
    bm_serialize(&c, NULL, 0, &len);
    ok = report_diff("run-optimized bytes differ; sizes", len, rl);
    if (at < rl) fprintf(stderr, "  first difference at byte %zu: %02x vs %02x\n", at,
                         (unsigned char)mine[at], (unsigned char)buf[at]);
  }
  /* and without run-optimizing: the writer picks the smallest kinds itself */
  if (bm_serialize(b, mine, rl, &len) != POND_OK || len != rl || memcmp(mine, buf, rl)) {
    bm_serialize(b, NULL, 0, &len);
    ok = report_diff("bytes of the bitmap as is differ from run-optimized CRoaring; sizes", len, rl);
  }
  free(mine);
  free(buf);
  roaring_bitmap_free(ro);
  bm_free(&mem, &c);
  return ok;
}

/* ------------------------------------------------------------ workload */

enum { DENSE, SPARSE, RUNNY, NDIST };
static const char *dist_name[] = {"dense", "sparse", "runny"};

typedef struct gen {
  int dist;
  uint64_t rng;
  uint32_t run_next, run_left;
} gen;

static uint32_t gen_id(gen *g) {
  uint64_t r = th_rand(&g->rng);
  switch (g->dist) {
    case DENSE: return (uint32_t)(r % (1u << 20));
    case SPARSE: /* few ids per chunk; some anywhere in 32 bits (many chunks) */
      return (uint32_t)(r >> 60 ? r % (1u << 27) : r);
    default:
      if (!g->run_left) {
        g->run_next = (uint32_t)(r % (1u << 24));
        g->run_left = 1 + (uint32_t)((r >> 32) % 3000);
      }
      g->run_left--;
      return g->run_next++;
  }
}

#define SLOTS 4

typedef struct world {
  bm b[SLOTS];
  roaring_bitmap_t *r[SLOTS];
  bm snap;
  roaring_bitmap_t *rsnap;
} world;

static int check_world(world *w, uint64_t *rng) {
  int ok = 1;
  for (int i = 0; i < SLOTS && ok; i++) {
    ok = same(&w->b[i], w->r[i]);
    if (ok) ok = same_page(&w->b[i], w->r[i], (uint32_t)th_rand(rng) % (1u << 24), 1 + th_rand(rng) % 3000);
    if (ok) ok = same_page(&w->b[i], w->r[i], 0, 100);
    if (ok) ok = same_serialized(&w->b[i], w->r[i]);
    if (!ok) fprintf(stderr, "  slot %d\n", i);
  }
  if (ok && !(ok = same(&w->snap, w->rsnap))) fprintf(stderr, "  snapshot changed\n");
  for (int i = 0; i < SLOTS && ok; i++)
    for (int j = 0; j < SLOTS && ok; j++)
      for (int op = BM_AND; op <= BM_XOR && ok; op++) {
        bm out;
        bm_init(&out);
        if (bm_op(&mem, op, &w->b[i], &w->b[j], &out) != POND_OK) ok = 0;
        roaring_bitmap_t *ro = r_op(op, w->r[i], w->r[j]);
        if (ok && !(ok = same(&out, ro))) fprintf(stderr, "  op %d of slots %d, %d\n", op, i, j);
        if (ok && bm_op_card(op, &w->b[i], &w->b[j]) != roaring_bitmap_get_cardinality(ro))
          ok = report_diff("op_card", bm_op_card(op, &w->b[i], &w->b[j]), r_op_card(op, w->r[i], w->r[j]));
        roaring_bitmap_free(ro);
        bm_free(&mem, &out);
      }
  if (ok) {
    const bm *in[SLOTS];
    const roaring_bitmap_t *rin[SLOTS];
    for (int i = 0; i < SLOTS; i++) in[i] = &w->b[i], rin[i] = w->r[i];
    bm out;
    bm_init(&out);
    for (size_t n = 0; n <= SLOTS && ok; n++) {
      roaring_bitmap_t *ro = n ? roaring_bitmap_or_many(n, rin) : roaring_bitmap_create();
      ok = bm_or_many(&mem, in, n, &out) == POND_OK && same(&out, ro);
      if (!ok) fprintf(stderr, "  or_many of %zu\n", n);
      roaring_bitmap_free(ro);
      ro = n ? roaring_bitmap_copy(rin[0]) : roaring_bitmap_create();
      for (size_t i = 1; i < n; i++) roaring_bitmap_and_inplace(ro, rin[i]);
      if (ok && !(ok = bm_and_many(&mem, in, n, &out) == POND_OK && same(&out, ro)))
        fprintf(stderr, "  and_many of %zu\n", n);
      roaring_bitmap_free(ro);
    }
    bm_free(&mem, &out);
  }
  return ok;
}

static void fill_batch(gen *g, uint32_t *v32, uint64_t *v64, size_t n, int sorted) {
  for (size_t i = 0; i < n; i++) v32[i] = gen_id(g);
  if (sorted)
    for (size_t i = 1; i < n; i++) /* insertion into order is too slow; bubble via max */
      if (v32[i] < v32[i - 1]) v32[i] = v32[i - 1] + (uint32_t)(th_rand(&g->rng) % 3);
  for (size_t i = 0; i < n; i++) v64[i] = v32[i];
}

static void differential_vs_croaring(void) {
  mem_setup();
  uint64_t seed = th_seed(1);
  long total = th_env_long("BITMAP_OPS", SANITIZED ? 30000 : 120000);
  uint32_t *v32 = malloc(80000 * sizeof *v32);
  uint64_t *v64 = malloc(80000 * sizeof *v64);
  for (int d = 0; d < NDIST; d++) {
    gen g = {d, seed * 31 + (uint64_t)d, 0, 0};
    world w;
    for (int i = 0; i < SLOTS; i++) {
      bm_init(&w.b[i]);
      w.r[i] = roaring_bitmap_create();
    }
    bm_init(&w.snap);
    w.rsnap = roaring_bitmap_create();
    long ops = total / NDIST;
    int failed = 0;
    clock_t t0 = clock();
    for (long k = 0; k < ops && !failed; k++) {
      int s = (int)(th_rand(&g.rng) % SLOTS), s2 = (int)(th_rand(&g.rng) % SLOTS);
      bm *b = &w.b[s];
      roaring_bitmap_t *r = w.r[s];
      unsigned pick = (unsigned)(th_rand(&g.rng) % 100);
      if (pick < 40) {
        uint32_t x = gen_id(&g);
        int rc = bm_add(&mem, b, x);
        if (rc != (int)roaring_bitmap_add_checked(r, x)) failed = report_diff("add result", (uint64_t)rc, x);
      } else if (pick < 55) {
        uint64_t card = roaring_bitmap_get_cardinality(r);
        uint32_t x = gen_id(&g);
        if (card && (th_rand(&g.rng) & 1)) roaring_bitmap_select(r, (uint32_t)(th_rand(&g.rng) % card), &x);
        int rc = bm_remove(&mem, b, x);
        if (rc != (int)roaring_bitmap_remove_checked(r, x)) failed = report_diff("remove result", (uint64_t)rc, x);
      } else if (pick < 65) {
        uint32_t x = gen_id(&g);
        uint64_t card = roaring_bitmap_get_cardinality(r);
        if (card && (th_rand(&g.rng) & 1)) roaring_bitmap_select(r, (uint32_t)(th_rand(&g.rng) % card), &x);
        if (bm_contains(b, x) != (int)roaring_bitmap_contains(r, x)) failed = report_diff("contains", x, 0);
      } else if (pick < 75) {
        size_t n = 1 + th_rand(&g.rng) % 5000;
        fill_batch(&g, v32, v64, n, (int)(th_rand(&g.rng) & 1));
        uint64_t added, before = roaring_bitmap_get_cardinality(r);
        if (bm_add_many(&mem, b, v64, n, &added) != POND_OK) failed = 1;
        roaring_bitmap_add_many(r, n, v32);
        if (added != roaring_bitmap_get_cardinality(r) - before) failed = report_diff("added", added, 0);
      } else if (pick < 83) {
        int op = BM_AND + (int)(th_rand(&g.rng) % 4);
        if (bm_op_inplace(&mem, op, b, &w.b[s2]) != POND_OK) failed = 1;
        roaring_bitmap_t *other = roaring_bitmap_copy(w.r[s2]); /* CRoaring asserts a != b */
        r_op_inplace(op, r, other);
        roaring_bitmap_free(other);
      } else if (pick < 88) { /* a range: full containers, runs */
        uint32_t start = gen_id(&g), len = 1 + (uint32_t)(th_rand(&g.rng) % 70000);
        if (start > UINT32_MAX - len) start = UINT32_MAX - len;
        for (uint32_t i = 0; i < len && i < 80000; i++) v64[i] = (uint64_t)start + i;
        if (th_rand(&g.rng) & 1) {
          if (bm_add_many(&mem, b, v64, len, NULL) != POND_OK) failed = 1;
          roaring_bitmap_add_range(r, start, (uint64_t)start + len);
        } else {
          bm t;
          bm_init(&t);
          if (bm_add_many(&mem, &t, v64, len, NULL) != POND_OK ||
              bm_op_inplace(&mem, BM_ANDNOT, b, &t) != POND_OK)
            failed = 1;
          bm_free(&mem, &t);
          roaring_bitmap_remove_range(r, start, (uint64_t)start + len);
        }
      } else if (pick < 93) {
        if (bm_copy(&mem, &w.snap, b) != POND_OK) failed = 1;
        roaring_bitmap_free(w.rsnap);
        w.rsnap = roaring_bitmap_copy(r);
      } else if (pick < 96) {
        if (bm_run_optimize(&mem, b) != POND_OK) failed = 1;
        roaring_bitmap_run_optimize(r);
      } else if (pick < 98) {
        bm_free(&mem, b);
        roaring_bitmap_free(r); /* 0.2.66's roaring_bitmap_clear leaves it unusable */
        w.r[s] = roaring_bitmap_create();
      } else {
        bm c;
        bm_init(&c);
        if (bm_copy(&mem, &c, &w.b[s2]) != POND_OK) failed = 1;
        bm_move(&mem, b, &c);
        roaring_bitmap_t *copy = roaring_bitmap_copy(w.r[s2]);
        roaring_bitmap_free(w.r[s]);
        w.r[s] = copy;
      }
      if (!failed && (k % 4000 == 3999 || k == ops - 1) && !check_world(&w, &g.rng)) failed = 1;
      if (failed) fprintf(stderr, "  %s: failed at op %ld (pick %u)\n", dist_name[d], k, pick);
    }
    CHECK(!failed);
    uint64_t card = 0;
    for (int i = 0; i < SLOTS; i++) card += bm_card(&w.b[i]);
    printf("  %s: %ld operations, %" PRIu64 " ids in the end, %.1f s\n", dist_name[d], ops, card,
           (double)(clock() - t0) / CLOCKS_PER_SEC);
    for (int i = 0; i < SLOTS; i++) {
      bm_free(&mem, &w.b[i]);
      roaring_bitmap_free(w.r[i]);
    }
    bm_free(&mem, &w.snap);
    roaring_bitmap_free(w.rsnap);
  }
  free(v32);
  free(v64);
  CHECK_EQ(atomic_load(&mem.used), 0);
}

/* ---------------------------------------------------- 64-bit ids / format */

static void put_le(unsigned char *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* The 64-bit portable format built from CRoaring's bytes per bucket. */
static unsigned char *expected64(uint64_t *ids, size_t n, size_t *len) {
  /* ids sorted, distinct */
  size_t cap = 16, used = 8, buckets = 0;
  unsigned char *out = malloc(cap);
  for (size_t i = 0; i < n;) {
    uint32_t high = (uint32_t)(ids[i] >> 32);
    roaring_bitmap_t *r = roaring_bitmap_create();
    for (; i < n && (uint32_t)(ids[i] >> 32) == high; i++) roaring_bitmap_add(r, (uint32_t)ids[i]);
    roaring_bitmap_run_optimize(r);
    size_t rl = roaring_bitmap_portable_size_in_bytes(r);
    while (cap < used + 4 + rl) cap *= 2;
    out = realloc(out, cap);
    put_le(out + used, high, 4);
    roaring_bitmap_portable_serialize(r, (char *)out + used + 4);
    used += 4 + rl;
    buckets++;
    roaring_bitmap_free(r);
  }
  put_le(out, buckets, 8);
  *len = used;
  return out;
}

static int cmp64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void ids_above_2_to_32_use_the_64_bit_format(void) {
  mem_setup();
  uint64_t rng = th_seed(7);
  static const uint64_t highs[] = {0, 1, 2, 0x7fffffffull, 0xfffffffeull, 0xffffffffull};
  for (int round = 0; round < 40; round++) {
    size_t n = 1 + th_rand(&rng) % 20000;
    uint64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) {
      uint64_t hi = highs[th_rand(&rng) % 6], lo;
      switch (th_rand(&rng) % 3) {
        case 0: lo = th_rand(&rng) % 70000; break;                      /* dense */
        case 1: lo = (uint32_t)th_rand(&rng); break;                    /* sparse */
        default: lo = 0xffffffffull - th_rand(&rng) % 3; break;         /* edges */
      }
      ids[i] = hi << 32 | lo;
    }
    if (round == 0) ids[0] = UINT64_MAX;
    bm b;
    bm_init(&b);
    REQUIRE(bm_add_many(&mem, &b, ids, n, NULL) == POND_OK);
    qsort(ids, n, sizeof *ids, cmp64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (!k || ids[i] != ids[k - 1]) ids[k++] = ids[i];
    CHECK_EQ(bm_card(&b), k);
    for (size_t i = 0; i < k; i += 1 + k / 100) {
      CHECK(bm_contains(&b, ids[i]));
      uint64_t x;
      CHECK(bm_page(&b, ids[i], &x, 1) == 1 && x == ids[i]);
    }
    CHECK_EQ(bm_max(&b), ids[k - 1]);
    CHECK_EQ(bm_min(&b), ids[0]);
    REQUIRE(bm_run_optimize(&mem, &b) == POND_OK);
    size_t want_len, len;
    unsigned char *want = expected64(ids, k, &want_len);
    int wide = ids[k - 1] >> 32 != 0;
    REQUIRE(bm_serialize(&b, NULL, 0, &len) == POND_OK);
    unsigned char *got = malloc(len);
    REQUIRE(bm_serialize(&b, got, len, &len) == POND_OK);
    if (wide) {
      CHECK(len == want_len && memcmp(got, want, len) == 0);
    } else { /* everything below 2^32: the plain 32-bit format = the one bucket */
      CHECK(len + 12 == want_len && memcmp(got, want + 12, len) == 0);
    }
    bm c;
    bm_init(&c);
    pc_err e;
    CHECK(bm_deserialize(&mem, want, want_len, wide ? -1 : 1, &c, &e) == POND_OK);
    CHECK(bm_equal(&b, &c));
    bm_iter it;
    bm_iter_init(&it, &c, 0);
    uint64_t x;
    size_t i = 0;
    while (bm_iter_next(&it, &x) && i < k) CHECK(x == ids[i++]);
    CHECK_EQ(i, k);
    free(got);
    free(want);
    free(ids);
    bm_free(&mem, &b);
    bm_free(&mem, &c);
  }
  CHECK_EQ(atomic_load(&mem.used), 0);
}

/* ------------------------------------------------------------ validation */

static int rejects(const void *p, size_t n, int is64, const char *want) {
  bm b;
  bm_init(&b);
  bm_add(&mem, &b, 42); /* must survive a failed read */
  pc_err e;
  pc_err_clear(&e);
  int rc = bm_deserialize(&mem, p, n, is64, &b, &e);
  int ok = rc == POND_ECORRUPT && bm_card(&b) == 1 && bm_contains(&b, 42) &&
           (!want || strstr(e.msg, want));
  if (!ok) fprintf(stderr, "  rc %d msg '%s' (want '%s')\n", rc, e.msg, want ? want : "");
  bm_free(&mem, &b);
  return ok;
}

static size_t ser(const bm *b, unsigned char *buf) {
  size_t len;
  bm_serialize(b, buf, 1 << 20, &len);
  return len;
}

static void reader_rejects_every_malformed_input(void) {
  mem_setup();
  unsigned char *buf = malloc(1 << 20), *t = malloc(1 << 20);
  bm b;
  bm_init(&b);
  /* three containers: array, bitset, run (after run_optimize) */
  for (uint32_t i = 0; i < 10; i++) bm_add(&mem, &b, i * 3);
  for (uint32_t i = 0; i < 6000; i++) bm_add(&mem, &b, 65536 + i * 7);
  for (uint32_t i = 0; i < 3000; i++) bm_add(&mem, &b, 131072 + i);
  bm_run_optimize(&mem, &b);
  size_t n = ser(&b, buf);
  /* header: cookie(4) runmap(1) keys/cards(12), no offsets (< 4 containers) */
  CHECK_EQ(buf[0] | buf[1] << 8, 12347);
  CHECK_EQ(buf[4], 4); /* container 2 is a run */
  CHECK(rejects(buf, 0, -1, "empty"));
  CHECK(rejects(buf, 3, 0, "truncated"));
  for (size_t cut = 0; cut < n; cut++) CHECK(rejects(buf, cut, 0, NULL));
  memcpy(t, buf, n);
  t[n] = 0;
  CHECK(rejects(t, n + 1, 0, "trailing"));
  memcpy(t, buf, n);
  t[0] = 0x3c;
  CHECK(rejects(t, n, 0, "cookie"));
  memcpy(t, buf, n);
  t[4] |= 0x10; /* padding bit past 3 containers */
  CHECK(rejects(t, n, 0, "padding"));
  memcpy(t, buf, n);
  t[5 + 4] = 0; /* key of container 1 := 0 = key of container 0 */
  CHECK(rejects(t, n, 0, "key"));
  memcpy(t, buf, n);
  t[5 + 2] = 10; /* card of container 0: 11 values declared, 10 present */
  CHECK(rejects(t, n, 0, NULL));
  /* array container: values at 17 .. 37; make value 3 equal value 2 */
  memcpy(t, buf, n);
  t[17 + 6] = t[17 + 4];
  t[17 + 7] = t[17 + 5];
  CHECK(rejects(t, n, 0, "not above"));
  /* bitset: flip a bit -> popcount disagrees */
  memcpy(t, buf, n);
  t[37 + 100] ^= 0x01;
  CHECK(rejects(t, n, 0, "bitset holds"));
  /* run container at 37 + 8192: u16 count (1), (start, len) */
  size_t rp = 37 + 8192;
  CHECK_EQ(t[rp] | t[rp + 1] << 8, 1);
  memcpy(t, buf, n);
  t[rp + 2] = 1;
  t[rp + 4] = 0xff;
  t[rp + 5] = 0xff; /* length 65536 from start 1 */
  CHECK(rejects(t, n, 0, "passes 65535"));
  memcpy(t, buf, n);
  t[rp + 4] ^= 1; /* length changes: card mismatch */
  CHECK(rejects(t, n, 0, "runs hold"));
  memcpy(t, buf, n);
  t[rp] = 0;
  CHECK(rejects(t, n, 0, "no runs"));

  /* two runs: overlapping and touching */
  {
    unsigned char r[] = {0x3b, 0x30, 0, 0, 1, 0, 0, 9, 0, 2, 0, 10, 0, 4, 0, 12, 0, 4, 0};
    /* runs (10, len 5) and (12, len 5): overlap; card 10 */
    CHECK(rejects(r, sizeof r, 0, "inside or before"));
    r[15] = 15; /* (15, len 5) touches (10..14): merged, 10 values */
    bm c;
    bm_init(&c);
    pc_err e;
    CHECK(bm_deserialize(&mem, r, sizeof r, 0, &c, &e) == POND_OK);
    CHECK_EQ(bm_card(&c), 10);
    CHECK(bm_contains(&c, 10) && bm_contains(&c, 19) && !bm_contains(&c, 20));
    bm_free(&mem, &c);
  }
  /* no-run format with offsets: wrong offset, too many containers */
  {
    bm d;
    bm_init(&d);
    bm_add(&mem, &d, 1);
    bm_add(&mem, &d, 70000);
    size_t dn = ser(&d, t);
    CHECK_EQ(dn, 8 + 8 + 8 + 4);
    t[16] ^= 1;
    CHECK(rejects(t, dn, 0, "offset"));
    unsigned char big[8] = {0x3a, 0x30, 0, 0, 1, 0, 1, 0};
    CHECK(rejects(big, 8, 0, "at most 65536"));
    bm_free(&mem, &d);
  }
  /* 64-bit: unsorted buckets, impossible count, trailing bytes */
  {
    unsigned char w[64];
    memset(w, 0, sizeof w);
    put_le(w, 2, 8);
    put_le(w + 8, 5, 4);
    put_le(w + 12, 12346, 4); /* empty inner bitmap */
    put_le(w + 20, 5, 4);     /* same high key again */
    put_le(w + 24, 12346, 4);
    CHECK(rejects(w, 32, 1, "not above"));
    put_le(w + 20, 6, 4);
    bm c;
    bm_init(&c);
    pc_err e;
    CHECK(bm_deserialize(&mem, w, 32, 1, &c, &e) == POND_OK && bm_is_empty(&c));
    CHECK(rejects(w, 33, 1, "trailing"));
    put_le(w, 1000, 8);
    CHECK(rejects(w, 32, 1, "cannot fit"));
    bm_free(&mem, &c);
  }
  bm_free(&mem, &b);
  free(buf);
  free(t);
  CHECK_EQ(atomic_load(&mem.used), 0);
}

/* Random damage: never a crash or a leak; what is accepted is a valid
 * bitmap that round-trips. */
static void damaged_bytes_never_crash(void) {
  mem_setup();
  uint64_t rng = th_seed(11);
  unsigned char *buf = malloc(1 << 20);
  long accepted = 0, rejected = 0;
  for (int round = 0; round < 300; round++) {
    bm b;
    bm_init(&b);
    gen g = {(int)(round % NDIST), th_rand(&rng), 0, 0};
    size_t n = 1 + th_rand(&rng) % 3000;
    for (size_t i = 0; i < n; i++) {
      uint64_t x = gen_id(&g);
      if (round % 7 == 0) x |= (th_rand(&rng) % 3) << 32;
      bm_add(&mem, &b, x);
    }
    if (round & 1) bm_run_optimize(&mem, &b);
    size_t len = ser(&b, buf);
    for (int k = 0; k < 20; k++) {
      size_t at = th_rand(&rng) % len;
      unsigned char old = buf[at];
      buf[at] ^= (unsigned char)(1 + th_rand(&rng) % 255);
      bm c;
      bm_init(&c);
      pc_err e;
      if (bm_deserialize(&mem, buf, len, -1, &c, &e) == POND_OK) {
        accepted++;
        uint64_t cnt = 0, x, prev = 0;
        bm_iter it;
        bm_iter_init(&it, &c, 0);
        while (bm_iter_next(&it, &x)) {
          CHECK(cnt == 0 || x > prev);
          prev = x;
          cnt++;
        }
        CHECK_EQ(cnt, bm_card(&c));
        size_t l2;
        CHECK(bm_serialize(&c, NULL, 0, &l2) == POND_OK);
        unsigned char *b2 = malloc(l2);
        bm d;
        bm_init(&d);
        CHECK(bm_serialize(&c, b2, l2, &l2) == POND_OK);
        CHECK(bm_deserialize(&mem, b2, l2, -1, &d, &e) == POND_OK && bm_equal(&c, &d));
        bm_free(&mem, &d);
        free(b2);
      } else {
        rejected++;
      }
      bm_free(&mem, &c);
      buf[at] = old;
    }
    bm_free(&mem, &b);
  }
  printf("  damaged inputs: %ld rejected, %ld accepted (a flip inside values)\n", rejected, accepted);
  CHECK(rejected > accepted);
  free(buf);
  CHECK_EQ(atomic_load(&mem.used), 0);
}

/* --------------------------------------------------- allocation failures */

typedef struct scenario {
  const char *name;
  /* Builds the inputs (no failure injection), runs the operation, returns
   * its status. */
  void (*setup)(bm *a, bm *b);
  int (*run)(bm *a, bm *b, bm *out);
} scenario;

static void setup_mixed(bm *a, bm *b) {
  for (uint32_t i = 0; i < 5000; i++) bm_add(&mem, a, i * 5);            /* bitset */
  for (uint32_t i = 0; i < 300; i++) bm_add(&mem, a, 200000 + i * 11);   /* array */
  for (uint32_t i = 0; i < 70000; i++) bm_add(&mem, a, 400000 + i);      /* runs */
  bm_run_optimize(&mem, a);
  for (uint32_t i = 0; i < 4096; i++) bm_add(&mem, b, i * 3);            /* full array */
  for (uint32_t i = 0; i < 9000; i++) bm_add(&mem, b, 200000 + i * 2);   /* bitset */
  for (uint32_t i = 0; i < 50; i++) bm_add(&mem, b, 460000 + i * 100);   /* splits a run */
  bm_add(&mem, b, (uint64_t)7 << 40);
}

static int run_and(bm *a, bm *b, bm *o) { return bm_op(&mem, BM_AND, a, b, o); }
static int run_or(bm *a, bm *b, bm *o) { return bm_op(&mem, BM_OR, a, b, o); }
static int run_andnot(bm *a, bm *b, bm *o) { return bm_op(&mem, BM_ANDNOT, a, b, o); }
static int run_xor(bm *a, bm *b, bm *o) { return bm_op(&mem, BM_XOR, b, a, o); }
static int run_inplace(bm *a, bm *b, bm *o) {
  (void)o;
  return bm_op_inplace(&mem, BM_OR, a, b);
}
static int run_or_many(bm *a, bm *b, bm *o) {
  const bm *in[] = {a, b, a, b};
  return bm_or_many(&mem, in, 4, o);
}
static int run_and_many(bm *a, bm *b, bm *o) {
  const bm *in[] = {a, b, a};
  return bm_and_many(&mem, in, 3, o);
}
static int run_copy(bm *a, bm *b, bm *o) {
  (void)b;
  return bm_copy(&mem, o, a);
}
static int run_add_many(bm *a, bm *b, bm *o) {
  (void)b;
  (void)o;
  uint64_t ids[3000];
  uint64_t s = 5;
  for (int i = 0; i < 3000; i++) ids[i] = th_rand(&s) % 600000;
  return bm_add_many(&mem, a, ids, 3000, NULL);
}
static int run_single(bm *a, bm *b, bm *o) {
  (void)o;
  /* array -> bitset, bitset -> array, run split, new container, shared copy */
  int rc = bm_copy(&mem, b, a);
  if (rc >= 0) rc = bm_add(&mem, a, 200000 + 1);
  if (rc >= 0) rc = bm_remove(&mem, a, 0);
  if (rc >= 0) rc = bm_remove(&mem, a, 400000 + 500);
  if (rc >= 0) rc = bm_add(&mem, a, 9000000);
  return rc < 0 ? rc : 0;
}
static int run_serial(bm *a, bm *b, bm *o) {
  (void)b;
  size_t len;
  bm_serialize(a, NULL, 0, &len);
  unsigned char *buf = malloc(len);
  bm_serialize(a, buf, len, &len);
  pc_err e;
  int rc = bm_deserialize(&mem, buf, len, -1, o, &e);
  free(buf);
  return rc;
}
static int run_append(bm *a, bm *b, bm *o) {
  (void)b;
  uint64_t w[1024];
  bm_chunk_words(a, 0, w);
  int rc = bm_append_words(&mem, o, 100, w);
  if (rc >= 0) rc = bm_append_words(&mem, o, 3, w);
  if (rc >= 0) rc = bm_append_words(&mem, o, 3, w);
  return rc;
}

/* A deep copy (a snapshot shares containers: no good as a witness). */
static roaring_bitmap_t *witness(const bm *b) {
  roaring_bitmap_t *r = roaring_bitmap_create();
  bm_iter it;
  bm_iter_init(&it, b, 0);
  uint64_t x;
  while (bm_iter_next(&it, &x)) roaring_bitmap_add(r, (uint32_t)(x ^ (x >> 32)));
  return r;
}

static int same_witness(const bm *b, const roaring_bitmap_t *r) {
  roaring_bitmap_t *w = witness(b);
  int ok = roaring_bitmap_equals(w, r) && bm_card(b) == roaring_bitmap_get_cardinality(r);
  roaring_bitmap_free(w);
  return ok;
}

static void every_allocation_failure_leaves_inputs_unchanged(void) {
  static const scenario sc[] = {
      {"and", setup_mixed, run_and},         {"or", setup_mixed, run_or},
      {"andnot", setup_mixed, run_andnot},   {"xor", setup_mixed, run_xor},
      {"inplace", setup_mixed, run_inplace}, {"or_many", setup_mixed, run_or_many},
      {"and_many", setup_mixed, run_and_many},
      {"copy", setup_mixed, run_copy},       {"add_many", setup_mixed, run_add_many},
      {"single", setup_mixed, run_single},   {"serial", setup_mixed, run_serial},
      {"append", setup_mixed, run_append},
  };
  long points = 0;
  for (size_t s = 0; s < sizeof sc / sizeof *sc; s++) {
    for (long k = 1;; k++) {
      mem_setup();
      bm a, b, o;
      bm_init(&a);
      bm_init(&b);
      bm_init(&o);
      sc[s].setup(&a, &b);
      bm_add(&mem, &o, 77);
      roaring_bitmap_t *wa = witness(&a), *wb = witness(&b), *wo = witness(&o);
      size_t base = atomic_load(&mem.used);
      ctl.n = 0;
      ctl.fail_at = k;
      int rc = sc[s].run(&a, &b, &o);
      ctl.fail_at = 0;
      if (rc >= 0) {
        bm_free(&mem, &a);
        bm_free(&mem, &b);
        bm_free(&mem, &o);
        CHECK_EQ(atomic_load(&mem.used), 0);
        roaring_bitmap_free(wa);
        roaring_bitmap_free(wb);
        roaring_bitmap_free(wo);
        break;
      }
      points++;
      CHECK_EQ(rc, POND_ENOMEM);
      /* "single" changes a and b step by step: only the failed step is undone */
      if (strcmp(sc[s].name, "single") != 0) {
        CHECK(same_witness(&a, wa));
        CHECK(same_witness(&b, wb));
        if (strcmp(sc[s].name, "append") != 0) {
          CHECK(same_witness(&o, wo));
          CHECK_EQ(atomic_load(&mem.used), base);
        }
      }
      if (th_case_failures) {
        fprintf(stderr, "  scenario %s, allocation %ld\n", sc[s].name, k);
        return;
      }
      bm_free(&mem, &a);
      bm_free(&mem, &b);
      bm_free(&mem, &o);
      CHECK_EQ(atomic_load(&mem.used), 0);
      roaring_bitmap_free(wa);
      roaring_bitmap_free(wb);
      roaring_bitmap_free(wo);
    }
  }
  printf("  %ld failure points\n", points);
}

/* Each single-value step undone on failure: checked one call at a time
 * against a witness kept in step. */
static void failed_single_calls_change_nothing(void) {
  uint64_t rng = th_seed(3);
  long points = 0;
  for (int round = 0; round < 60; round++) {
    mem_setup();
    bm a, snap;
    bm_init(&a);
    bm_init(&snap);
    setup_mixed(&a, &snap);
    bm_free(&mem, &snap);
    if (round & 1) bm_copy(&mem, &snap, &a); /* shared containers */
    roaring_bitmap_t *w = witness(&a);
    for (int step = 0; step < 200; step++) {
      uint64_t x;
      switch (th_rand(&rng) % 4) {
        case 0: x = th_rand(&rng) % 600000; break;
        case 1: x = 5 * (th_rand(&rng) % 5000); break;
        case 2: x = 400000 + th_rand(&rng) % 70000; break;
        default: x = 200000 + 11 * (th_rand(&rng) % 300); break;
      }
      int add = (int)(th_rand(&rng) & 1);
      int had = bm_contains(&a, x);
      ctl.n = 0;
      ctl.fail_at = 1 + (long)(th_rand(&rng) % 2);
      int rc = add ? bm_add(&mem, &a, x) : bm_remove(&mem, &a, x);
      ctl.fail_at = 0;
      if (rc == POND_ENOMEM) {
        points++;
        CHECK(same_witness(&a, w));
      } else {
        CHECK(rc == (add ? !had : had));
        CHECK(bm_contains(&a, x) == add);
        if (add) roaring_bitmap_add(w, (uint32_t)x);
        else roaring_bitmap_remove(w, (uint32_t)x);
      }
      if (th_case_failures) return;
    }
    CHECK(same_witness(&a, w));
    roaring_bitmap_free(w);
    bm_free(&mem, &a);
    bm_free(&mem, &snap);
    CHECK_EQ(atomic_load(&mem.used), 0);
  }
  printf("  %ld failed single calls\n", points);
}

/* ------------------------------------------------------------- kernels */

static uint32_t rand_sorted(uint64_t *rng, uint16_t *v, uint32_t n, uint32_t range) {
  uint64_t w[1024] = {0};
  for (uint32_t i = 0; i < n; i++) {
    uint32_t x = (uint32_t)(th_rand(rng) % range);
    w[x >> 6] |= 1ull << (x & 63);
  }
  return kn_words_to_array_portable(w, v);
}

static void simd_kernels_agree_with_portable_ones(void) {
  uint64_t rng = th_seed(13);
  static uint16_t a[65536 + 16], b[65536 + 16], o1[65536 + 32], o2[65536 + 32];
  static uint64_t wa[1024], wb[1024], w1[1024], w2[1024];
  printf("  kernel level %d\n", kn_level());
  for (int round = 0; round < 3000; round++) {
    uint32_t range = 1 + (uint32_t)(th_rand(&rng) % 65536);
    uint32_t na = rand_sorted(&rng, a, (uint32_t)(th_rand(&rng) % 5000), range);
    uint32_t nb = rand_sorted(&rng, b, (uint32_t)(th_rand(&rng) % (round % 10 ? 5000 : 200)), range);
    uint32_t k1 = kn_arr_and_portable(a, na, b, nb, o1);
    /* naive */
    uint32_t k0 = 0;
    for (uint32_t i = 0, j = 0; i < na && j < nb;) {
      if (a[i] == b[j]) k0++, i++, j++;
      else if (a[i] < b[j]) i++;
      else j++;
    }
    CHECK_EQ(k1, k0);
    CHECK_EQ(kn_arr_and_portable(a, na, b, nb, NULL), k0);
#ifdef KN_HAVE_AVX2
    if (kn_level() >= 1) {
      uint32_t k2 = kn_arr_and_avx2(a, na, b, nb, o2);
      CHECK_EQ(k2, k0);
      CHECK(memcmp(o1, o2, k0 * 2) == 0);
      CHECK_EQ(kn_arr_and_avx2(b, nb, a, na, NULL), k0);
      uint32_t u1 = kn_arr_or_portable(a, na, b, nb, o1), u2 = kn_arr_or_avx2(a, na, b, nb, o2);
      CHECK_EQ(u1, na + nb - k0);
      CHECK_EQ(u2, u1);
      CHECK(memcmp(o1, o2, u1 * 2) == 0);
      for (uint32_t i = 1; i < u1; i++) CHECK(o1[i - 1] < o1[i]);
      uint32_t d1 = kn_arr_andnot_portable(a, na, b, nb, o1), d2 = kn_arr_andnot_avx2(a, na, b, nb, o2);
      CHECK_EQ(d1, na - k0);
      CHECK_EQ(d2, d1);
      CHECK(memcmp(o1, o2, d1 * 2) == 0);
      d1 = kn_arr_andnot_portable(b, nb, a, na, o1), d2 = kn_arr_andnot_avx2(b, nb, a, na, o2);
      CHECK_EQ(d1, nb - k0);
      CHECK_EQ(d2, d1);
      CHECK(memcmp(o1, o2, d1 * 2) == 0);
    }
#endif
    for (int i = 0; i < 1024; i++) {
      wa[i] = round % 3 == 0 && th_rand(&rng) % 4 ? 0 : th_rand(&rng) & th_rand(&rng);
      wb[i] = round & 1 ? th_rand(&rng) : ~0ull;
    }
    for (int op = BM_AND; op <= BM_XOR; op++) {
      uint32_t c1 = kn_words_op_portable(op, wa, wb, w1);
      CHECK_EQ(c1, kn_popcount_portable(w1, 1024));
#ifdef KN_HAVE_AVX2
      if (kn_level() >= 1) {
        CHECK_EQ(kn_words_op_avx2(op, wa, wb, w2), c1);
        CHECK(memcmp(w1, w2, sizeof w1) == 0);
        CHECK_EQ(kn_words_op_avx2(op, wa, wb, NULL), c1);
        CHECK_EQ(kn_popcount_avx2(w1, 1024), c1);
        CHECK_EQ(kn_popcount_avx2(w1, 1023 - (size_t)(round % 30)), kn_popcount_portable(w1, 1023 - (size_t)(round % 30)));
        CHECK_EQ(kn_words_to_array_avx2(w1, o2), kn_words_to_array_portable(w1, o1));
        CHECK(memcmp(o1, o2, c1 * 2) == 0);
        CHECK_EQ(kn_words_op_to_array_avx2(op, wa, wb, o2), c1);
        CHECK_EQ(kn_words_op_to_array_portable(op, wa, wb, o1), c1);
        CHECK(memcmp(o1, o2, c1 * 2) == 0);
      }
#endif
#ifdef KN_HAVE_AVX512
      if (kn_level() >= 2) {
        CHECK_EQ(kn_words_op_avx512(op, wa, wb, w2), c1);
        CHECK(memcmp(w1, w2, sizeof w1) == 0);
        CHECK_EQ(kn_words_op_avx512(op, wa, wb, NULL), c1);
        /* masked stores: nothing written past the last value */
        o2[c1] = 0xbeef;
        CHECK_EQ(kn_words_to_array_avx512(w1, o2), kn_words_to_array_portable(w1, o1));
        CHECK(memcmp(o1, o2, c1 * 2) == 0);
        CHECK_EQ(o2[c1], 0xbeef);
        CHECK_EQ(kn_words_op_to_array_avx512(op, wa, wb, o2), c1);
        CHECK(memcmp(o1, o2, c1 * 2) == 0);
        CHECK_EQ(o2[c1], 0xbeef);
      }
#endif
    }
    if (th_case_failures) return;
  }
}

/* --------------------------------------------------------- misc behaviour */

static void containers_are_shared_until_written(void) {
  mem_setup();
  bm a, b;
  bm_init(&a);
  bm_init(&b);
  for (uint32_t i = 0; i < 100000; i++) bm_add(&mem, &a, i * 2);
  size_t before = atomic_load(&mem.used);
  REQUIRE(bm_copy(&mem, &b, &a) == POND_OK);
  size_t after = atomic_load(&mem.used);
  CHECK(after - before < 200); /* the key block only */
  CHECK(bm_add(&mem, &a, 1) == 1);
  CHECK(!bm_contains(&b, 1));
  CHECK(atomic_load(&mem.used) - after > 8000); /* one bitset copied */
  bm_free(&mem, &a);
  CHECK_EQ(bm_card(&b), 100000);
  bm_free(&mem, &b);
  CHECK_EQ(atomic_load(&mem.used), 0);
}

static void full_chunks_become_one_run_and_back(void) {
  mem_setup();
  bm a;
  bm_init(&a);
  for (uint32_t i = 0; i < 65536; i++) bm_add(&mem, &a, (5ull << 16) + i);
  CHECK(bm_memory(&a) < 200);
  CHECK_EQ(bm_card(&a), 65536);
  CHECK(bm_remove(&mem, &a, (5ull << 16) + 777) == 1);
  CHECK_EQ(bm_card(&a), 65535);
  CHECK(!bm_contains(&a, (5ull << 16) + 777));
  CHECK(bm_memory(&a) < 200); /* two runs */
  uint64_t w[1024];
  bm_chunk_words(&a, 5, w);
  CHECK_EQ(kn_popcount(w, 1024), 65535);
  bm_chunk_words(&a, 6, w);
  CHECK_EQ(kn_popcount(w, 1024), 0);
  bm_free(&mem, &a);
  CHECK_EQ(atomic_load(&mem.used), 0);
}

static void iteration_and_paging_start_anywhere(void) {
  mem_setup();
  bm a;
  bm_init(&a);
  uint64_t ids[] = {0, 1, 65535, 65536, 70000, 1u << 31, UINT32_MAX, 1ull << 32, UINT64_MAX - 1, UINT64_MAX};
  size_t n = sizeof ids / sizeof *ids;
  for (size_t i = 0; i < n; i++) CHECK(bm_add(&mem, &a, ids[i]) == 1);
  for (size_t i = 0; i < n; i++) {
    bm_iter it;
    bm_iter_init(&it, &a, ids[i]);
    uint64_t x;
    for (size_t j = i; j < n; j++) CHECK(bm_iter_next(&it, &x) && x == ids[j]);
    CHECK(!bm_iter_next(&it, &x));
    uint64_t out[16];
    if (i + 1 < n) CHECK_EQ(bm_page(&a, ids[i] + 1, out, 16), n - i - 1);
  }
  CHECK_EQ(bm_page(&a, 0, NULL, 0), 0);
  bm_free(&mem, &a);
  CHECK_EQ(atomic_load(&mem.used), 0);
}

int main(void) {
  TH_RUN(differential_vs_croaring);
  TH_RUN(ids_above_2_to_32_use_the_64_bit_format);
  TH_RUN(reader_rejects_every_malformed_input);
  TH_RUN(damaged_bytes_never_crash);
  TH_RUN(every_allocation_failure_leaves_inputs_unchanged);
  TH_RUN(failed_single_calls_change_nothing);
  TH_RUN(simd_kernels_agree_with_portable_ones);
  TH_RUN(containers_are_shared_until_written);
  TH_RUN(full_chunks_become_one_run_and_back);
  TH_RUN(iteration_and_paging_start_anywhere);
  return th_done();
}
