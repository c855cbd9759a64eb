/*
 * bench_bitmap.c — pond's bitmaps against Debian's CRoaring (0.2.66, built
 * without SIMD) on the same data, in one run, and memory bandwidth.
 *
 *   ./build/bench/bench_bitmap                 (10M customers, 1,000 tags)
 *   BENCH_CUSTOMERS=1000000 BENCH_TAGS=200 ./build/bench/bench_bitmap
 *
 * Data: N customers with dense ids; T tags whose sizes follow Zipf
 * (size_k = 0.5 N / k^0.9, at least 50), members drawn uniformly. Pairs of
 * tags are grouped by the container kinds they are made of:
 *   bitset   both tags denser than 1/16 (bitset containers)
 *   array    both tags sparser than 1/32 (array containers)
 *   mixed    one of each
 * For each group: AND, OR, ANDNOT, XOR (materialized) and AND-count, time
 * per operation (median of repeats) for pond and CRoaring, and the ratio.
 * Also: bytes per membership, tag adds per second (bm_add, and the public
 * pond_tag_add / pond_tag_add_many), and the read bandwidth of the cache
 * level the dense operands live in and of DRAM, against which the dense
 * AND-count is reported as a fraction.
 */
#include <roaring/roaring.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitmap/bm.h"
#include "bitmap/kern.h"
#include "core/mem.h"
#include "pond.h"

/* CPU time of this thread: the machine is shared, and time spent
 * descheduled is not the code's (cache interference still is). */
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long env_long(const char *name, long dflt) {
  const char *s = getenv(name);
  return s ? strtol(s, NULL, 0) : dflt;
}

static uint64_t rng_state = 42;
static uint64_t rnd(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct tagdata {
  uint64_t n;
  bm b;
  roaring_bitmap_t *r;
} tagdata;

static pc_mem mem;
static volatile uint64_t sink;

/* Members of a tag of size n over [0, N): sorted, distinct. */
static uint32_t *members(uint64_t N, uint64_t n, uint64_t *out_n) {
  uint32_t *v = malloc((n + 1) * sizeof *v);
  uint64_t k = 0;
  if (n * 8 > N) { /* dense: Bernoulli per id */
    uint64_t thresh = (uint64_t)((double)n / (double)N * 18446744073709551615.0);
    for (uint64_t i = 0; i < N && k < n; i++)
      if (rnd() < thresh) v[k++] = (uint32_t)i;
  } else { /* sparse: sorted sample by random gaps */
    double gap = (double)N / (double)n;
    double x = 0;
    for (; k < n; k++) {
      x += 1.0 + (gap - 1.0) * 2.0 * ((double)(rnd() >> 11) / 9007199254740992.0);
      if (x >= (double)N) break;
      v[k] = (uint32_t)x;
    }
  }
  *out_n = k;
  return v;
}

typedef struct pair {
  int a, b;
} pair;

enum { G_BITSET, G_ARRAY, G_MIXED, NGROUP };
static const char *group_name[] = {"bitset", "array", "mixed"};
static const char *op_name[] = {"", "AND", "OR", "ANDNOT", "XOR", "AND-count"};

/* Median seconds per call of fn over the pairs, repeated until ~0.2 s. */
typedef void (*op_fn)(int op, tagdata *x, tagdata *y);

static void pond_op(int op, tagdata *x, tagdata *y) {
  if (op == 5) {
    sink += bm_op_card(BM_AND, &x->b, &y->b);
    return;
  }
  bm o;
  bm_init(&o);
  if (bm_op(&mem, op, &x->b, &y->b, &o) != POND_OK) abort();
  sink += o.n;
  bm_free(&mem, &o);
}

static void roaring_op(int op, tagdata *x, tagdata *y) {
  roaring_bitmap_t *o;
  switch (op) {
    case BM_AND: o = roaring_bitmap_and(x->r, y->r); break;
    case BM_OR: o = roaring_bitmap_or(x->r, y->r); break;
    case BM_ANDNOT: o = roaring_bitmap_andnot(x->r, y->r); break;
    case BM_XOR: o = roaring_bitmap_xor(x->r, y->r); break;
    default: sink += roaring_bitmap_and_cardinality(x->r, y->r); return;
  }
  sink += o->high_low_container.size;
  roaring_bitmap_free(o);
}

static double time_op(op_fn fn, int op, tagdata *t, const pair *p, int np) {
  double samples[64];
  int ns = 0;
  for (int rep = 0; rep < 64; rep++) {
    double t0 = now();
    for (int i = 0; i < np; i++) fn(op, &t[p[i].a], &t[p[i].b]);
    samples[ns++] = (now() - t0) / np;
    if (rep >= 4 && samples[0] * ns > 0.3) break;
  }
  qsort(samples, (size_t)ns, sizeof *samples, cmp_double);
  return samples[ns / 2];
}

/* Read bandwidth (GB/s): a vectorizable XOR-sum over a buffer of `bytes`,
 * best of repeats. */
static double bandwidth(size_t bytes) {
  size_t n = bytes / 8;
  uint64_t *buf = malloc(n * 8);
  for (size_t i = 0; i < n; i++) buf[i] = i;
  double best = 0;
  size_t reps = (size_t)(2e9 / (double)bytes) + 1;
  if (reps > 5000) reps = 5000;
  for (int k = 0; k < 5; k++) {
    double t0 = now();
    for (size_t r = 0; r < reps; r++) {
      uint64_t x0 = 0, x1 = 0, x2 = 0, x3 = 0;
      for (size_t i = 0; i + 4 <= n; i += 4) x0 ^= buf[i], x1 ^= buf[i + 1], x2 ^= buf[i + 2], x3 ^= buf[i + 3];
      sink += x0 ^ x1 ^ x2 ^ x3;
    }
    double gbs = (double)bytes * (double)reps / (now() - t0) / 1e9;
    if (gbs > best) best = gbs;
  }
  free(buf);
  return best;
}

static size_t roaring_bytes(const roaring_bitmap_t *r) {
  roaring_statistics_t st;
  roaring_bitmap_statistics(r, &st);
  /* container payloads plus CRoaring's per-container bookkeeping (key,
   * typecode, pointer, container struct): its own in-memory accounting */
  return st.n_bytes_array_containers + st.n_bytes_run_containers + st.n_bytes_bitset_containers +
         (size_t)st.n_containers * (2 + 1 + 8 + 16);
}

int main(void) {
  pc_mem_init(&mem, NULL, NULL, 0);
  uint64_t N = (uint64_t)env_long("BENCH_CUSTOMERS", 10000000);
  int T = (int)env_long("BENCH_TAGS", 1000);
  printf("bench_bitmap: %" PRIu64 " customers, %d Zipf tags; pond kernels: %s; CRoaring 0.2.66 (Debian)\n", N, T,
         kn_level() == 2 ? "AVX-512 (bitsets), AVX2" : kn_level() ? "AVX2" : "portable");
  tagdata *t = calloc((size_t)T, sizeof *t);
  uint64_t total = 0;
  size_t pond_bytes = 0, r_bytes = 0;
  double t0 = now();
  for (int k = 0; k < T; k++) {
    uint64_t want = (uint64_t)(0.5 * (double)N / pow(k + 1, 0.9));
    if (want < 50) want = 50;
    uint64_t n;
    uint32_t *v = members(N, want, &n);
    uint64_t *v64 = malloc((n + 1) * sizeof *v64);
    for (uint64_t i = 0; i < n; i++) v64[i] = v[i];
    bm_init(&t[k].b);
    if (bm_add_many(&mem, &t[k].b, v64, n, NULL) != POND_OK) abort();
    t[k].r = roaring_bitmap_of_ptr(n, v);
    roaring_bitmap_run_optimize(t[k].r);
    bm_run_optimize(&mem, &t[k].b);
    t[k].n = n;
    total += n;
    pond_bytes += bm_memory(&t[k].b);
    r_bytes += roaring_bytes(t[k].r);
    free(v);
    free(v64);
  }
  printf("built in %.1f s: %" PRIu64 " memberships\n\n", now() - t0, total);
  printf("memory per membership: pond %.3f bytes, CRoaring %.3f bytes (payload + bookkeeping)\n\n",
         (double)pond_bytes / (double)total, (double)r_bytes / (double)total);

  /* pairs per group */
  pair p[NGROUP][40];
  int np[NGROUP] = {0};
  for (int tries = 0; tries < 200000; tries++) {
    int a = (int)(rnd() % (uint64_t)T), b = (int)(rnd() % (uint64_t)T);
    if (a == b) continue;
    double da = (double)t[a].n / (double)N, db = (double)t[b].n / (double)N;
    int g = da > 1.0 / 16 && db > 1.0 / 16   ? G_BITSET
            : da < 1.0 / 32 && db < 1.0 / 32 ? G_ARRAY
            : (da > 1.0 / 16) != (db > 1.0 / 16) && (da < 1.0 / 32 || db < 1.0 / 32) ? G_MIXED
                                                                                   : -1;
    if (g < 0 || np[g] >= 40) continue;
    /* array pairs: prefer tags of similar, not tiny size */
    if (g == G_ARRAY && (t[a].n < N / 2000 || t[b].n < N / 2000)) continue;
    p[g][np[g]++] = (pair){a, b};
  }
  printf("| containers | op | pairs | pond µs | CRoaring µs | speed-up |\n");
  printf("|---|---|---|---|---|---|\n");
  double dense_andcount = 0, dense_bytes = 0;
  for (int g = 0; g < NGROUP; g++) {
    if (!np[g]) continue;
    for (int op = BM_AND; op <= 5; op++) {
      double tp = time_op(pond_op, op, t, p[g], np[g]);
      double tr = time_op(roaring_op, op, t, p[g], np[g]);
      printf("| %s | %s | %d | %.1f | %.1f | %.2fx |\n", group_name[g], op_name[op], np[g], tp * 1e6,
             tr * 1e6, tr / tp);
      if (g == G_BITSET && op == 5) {
        dense_andcount = tp;
        double bytes = 0;
        for (int i = 0; i < np[g]; i++)
          bytes += (double)bm_memory(&t[p[g][i].a].b) + (double)bm_memory(&t[p[g][i].b].b);
        dense_bytes = bytes / np[g];
      }
    }
  }
  fflush(stdout);

  /* Dense AND-count against the read bandwidth of where its operands
   * live: one pair repeated (its cache level); all pairs in turn mostly
   * from DRAM, with some reuse between pairs. */
  if (np[G_BITSET]) {
    const pair *q = &p[G_BITSET][0];
    double pair_bytes = (double)bm_memory(&t[q->a].b) + (double)bm_memory(&t[q->b].b);
    double hot = time_op(pond_op, 5, t, q, 1), hot_r = time_op(roaring_op, 5, t, q, 1);
    double bw_hot = bandwidth((size_t)pair_bytes);
    printf("\ndense AND-count, one pair repeated (%.2f MB): pond %.1f us = %.1f GB/s, %.0f%% of the "
           "read bandwidth at that size (%.1f GB/s); CRoaring %.1f us\n",
           pair_bytes / 1e6, hot * 1e6, pair_bytes / hot / 1e9, 100.0 * pair_bytes / hot / 1e9 / bw_hot,
           bw_hot, hot_r * 1e6);
    printf("dense AND-count over %d pairs in turn: %.1f GB/s (DRAM read bandwidth %.1f GB/s)\n",
           np[G_BITSET], dense_bytes / dense_andcount / 1e9, bandwidth((size_t)1 << 30));
  }

  /* tag adds */
  {
    bm b;
    bm_init(&b);
    uint64_t n = N;
    double s = now();
    for (uint64_t i = 0; i < n; i++) bm_add(&mem, &b, (i * 2654435761u) % N);
    double dt = now() - s;
    printf("\nbm_add, %" PRIu64 " ids in scrambled order: %.1f M adds/s\n", n, (double)n / dt / 1e6);
    bm_free(&mem, &b);
    roaring_bitmap_t *r = roaring_bitmap_create();
    s = now();
    for (uint64_t i = 0; i < n; i++) roaring_bitmap_add(r, (uint32_t)((i * 2654435761u) % N));
    dt = now() - s;
    printf("roaring_bitmap_add, same ids: %.1f M adds/s\n", (double)n / dt / 1e6);
    roaring_bitmap_free(r);
  }
  {
    pond_db *db;
    if (pond_open(NULL, &db) != POND_OK) abort();
    const char *defs = "{\"tag_groups\": [{\"name\": \"g\"}]}";
    if (pond_define(db, defs, strlen(defs)) != POND_OK) abort();
    uint64_t n = N < 2000000 ? N : 2000000;
    for (uint64_t i = 0; i < n; i++) pond_customer_upsert(db, i, 1700000000);
    uint32_t tag[8];
    char name[16];
    for (int k = 0; k < 8; k++) {
      snprintf(name, sizeof name, "g/t%d", k);
      if (pond_tag_id(db, name, &tag[k]) != POND_OK) abort();
    }
    double s = now();
    for (uint64_t i = 0; i < n; i++) pond_tag_add(db, i, tag[i & 7], 1700000001);
    double dt = now() - s;
    printf("pond_tag_add (public API, 8 tags, %" PRIu64 " customers in id order): %.1f M adds/s, %.0f ns per call\n",
           n, (double)n / dt / 1e6, dt / (double)n * 1e9);
    s = now();
    for (uint64_t i = 0; i < n; i++) pond_tag_add(db, (i * 2654435761u) % n, tag[(i & 7) ^ 4], 1700000001);
    dt = now() - s;
    printf("pond_tag_add, customers in scrambled order: %.1f M adds/s, %.0f ns per call (DRAM misses: map slot, record)\n",
           (double)n / dt / 1e6, dt / (double)n * 1e9);
    uint64_t *ids = malloc(10000 * sizeof *ids);
    s = now();
    uint64_t done = 0;
    for (uint64_t i = 0; i + 10000 <= n; i += 10000) {
      for (int j = 0; j < 10000; j++) ids[j] = i + (uint64_t)j;
      if (pond_tag_add_many(db, tag[(i / 10000) % 8 ^ 2], ids, 10000, 1700000002) != POND_OK) abort();
      done += 10000;
    }
    dt = now() - s;
    printf("pond_tag_add_many (batches of 10,000): %.1f M adds/s\n", (double)done / dt / 1e6);
    free(ids);
    pond_close(db);
  }
  for (int k = 0; k < T; k++) {
    bm_free(&mem, &t[k].b);
    roaring_bitmap_free(t[k].r);
  }
  free(t);
  return 0;
}
