/*
 * The int column index behind attribute predicates: values, NULLs,
 * re-encoding, sparse/dense chunks, range scans on every SIMD path, and
 * all-or-nothing updates under allocation failure.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pond.h"
#include "query/icol.h"

/* A reference: candidate ids with their value and presence. */
typedef struct ref {
  uint64_t *cid;
  int64_t *v;
  uint8_t *has;
  size_t n;
} ref;

/* Distinct ids: a whole chunk, most of another, a sparse one, and the
 * top of the id space. */
static void ref_init(ref *r, uint64_t *seed) {
  r->n = 65536 + 40000 + 3000 + 100;
  r->cid = malloc(r->n * sizeof *r->cid);
  r->v = calloc(r->n, sizeof *r->v);
  r->has = calloc(r->n, 1);
  size_t k = 0;
  for (uint64_t i = 0; i < 65536; i++) r->cid[k++] = i;
  for (uint64_t i = 0; i < 40000; i++) r->cid[k++] = (UINT64_C(5) << 16) + i;
  uint64_t a = 1 + 2 * (th_rand(seed) % 1000); /* odd: i * a mod 2^16 is a permutation */
  for (uint64_t i = 0; i < 3000; i++) r->cid[k++] = (UINT64_C(9) << 16) + (i * a & 0xFFFF);
  for (uint64_t i = 0; i < 100; i++) r->cid[k++] = UINT64_MAX - i * 3;
}

static void ref_free(ref *r) {
  free(r->cid);
  free(r->v);
  free(r->has);
}

static int64_t rand_value(uint64_t *s, int regime) {
  switch (regime) {
    case 0: return (int64_t)(th_rand(s) % 200) - 100;          /* 1 byte */
    case 1: return 1772323200 + (int64_t)(th_rand(s) % 86400); /* times, 4 bytes */
    case 2: return (int64_t)(th_rand(s) % 70000);              /* 2-4 bytes */
    default: {
      static const int64_t ext[] = {INT64_MIN, INT64_MAX, 0, -1, INT64_MIN + 1, INT64_MAX - 1};
      return th_rand(s) % 3 ? ext[th_rand(s) % 6] : (int64_t)th_rand(s);
    }
  }
}

/* Checks every candidate's value, the count, and scans of each chunk. */
static int verify(const qy_icol *c, const ref *r, uint64_t *seed) {
  uint64_t count = 0;
  int ok = 1;
  for (size_t i = 0; i < r->n; i++) {
    int64_t v = 0;
    int got = qy_icol_get(c, r->cid[i], &v);
    if (got != r->has[i] || (got && v != r->v[i])) {
      fprintf(stderr, "cid %llu: got %d %lld want %d %lld\n", (unsigned long long)r->cid[i], got,
              (long long)v, r->has[i], (long long)r->v[i]);
      ok = 0;
      break;
    }
  }
  for (size_t i = 0; i < r->n; i++) count += r->has[i];
  if (count != c->count) {
    fprintf(stderr, "count %llu want %llu\n", (unsigned long long)c->count,
            (unsigned long long)count);
    ok = 0;
  }
  static uint64_t got[QY_CHUNK_WORDS], want[QY_CHUNK_WORDS], nn[QY_CHUNK_WORDS];
  static const uint64_t keys[] = {0, 5, 9, UINT64_MAX >> 16, 77};
  for (size_t q = 0; q < 12 && ok; q++) {
    int64_t lo = rand_value(seed, (int)(th_rand(seed) % 4));
    int64_t d = (int64_t)(th_rand(seed) % 1000);
    int64_t hi = th_rand(seed) % 4 ? (lo > INT64_MAX - d ? INT64_MAX : lo + d) : rand_value(seed, 3);
    if (hi < lo && th_rand(seed) % 2) {
      int64_t t = lo;
      lo = hi;
      hi = t;
    }
    for (size_t ki = 0; ki < sizeof keys / sizeof keys[0]; ki++) {
      const qy_ichunk *k = qy_icol_chunk(c, keys[ki]);
      qy_ichunk_range(k, lo, hi, got);
      qy_ichunk_notnull(k, nn);
      memset(want, 0, sizeof want);
      uint64_t wantnn[QY_CHUNK_WORDS];
      memset(wantnn, 0, sizeof wantnn);
      for (size_t i = 0; i < r->n; i++) {
        if (r->cid[i] >> 16 != keys[ki] || !r->has[i]) continue;
        unsigned s = (unsigned)(r->cid[i] & 0xFFFF);
        wantnn[s >> 6] |= UINT64_C(1) << (s & 63);
        if (r->v[i] >= lo && r->v[i] <= hi) want[s >> 6] |= UINT64_C(1) << (s & 63);
      }
      if (memcmp(got, want, sizeof got) != 0 || memcmp(nn, wantnn, sizeof nn) != 0) {
        fprintf(stderr, "scan of chunk %llu [%lld, %lld] differs (%s, %d bits)\n",
                (unsigned long long)keys[ki], (long long)lo, (long long)hi,
                k && k->dense ? "dense" : "sparse", k ? k->bits : 0);
        ok = 0;
        break;
      }
      /* candidates read one by one agree, on a random care mask */
      static uint64_t care[QY_CHUNK_WORDS], tab[4];
      unsigned dens = (unsigned)(th_rand(seed) % 4);
      for (unsigned w = 0; w < QY_CHUNK_WORDS; w++) {
        uint64_t x = th_rand(seed);
        care[w] = dens == 0 ? x & th_rand(seed) & th_rand(seed) : dens == 1 ? x : dens == 2 ? ~UINT64_C(0) : 0;
      }
      for (int t = 0; t < 4; t++) tab[t] = th_rand(seed);
      qy_ichunk_cands_range(k, care, lo, hi, got, nn);
      int bad = 0;
      for (unsigned w = 0; w < QY_CHUNK_WORDS; w++)
        bad |= got[w] != (want[w] & care[w]) || nn[w] != (wantnn[w] & care[w]);
      qy_ichunk_cands_in(k, care, tab, 4, got, nn);
      for (unsigned sl = 0; sl < QY_CHUNK_SLOTS && !bad; sl++) {
        int64_t v;
        int in = (int)(care[sl >> 6] >> (sl & 63) & 1) && qy_ichunk_get(k, sl, &v);
        int hitw = in && v >= 0 && v < 256 && (tab[v >> 6] >> (v & 63) & 1);
        bad |= (int)(nn[sl >> 6] >> (sl & 63) & 1) != in || (int)(got[sl >> 6] >> (sl & 63) & 1) != hitw;
      }
      if (bad) {
        fprintf(stderr, "candidates of chunk %llu [%lld, %lld] differ (%s)\n", (unsigned long long)keys[ki],
                (long long)lo, (long long)hi, k && k->dense ? "dense" : "sparse");
        ok = 0;
        break;
      }
    }
  }
  return ok;
}

static void ref_apply(ref *r, size_t i, int has, int64_t v) {
  r->has[i] = (uint8_t)has;
  r->v[i] = v;
}

static void random_updates_match_a_reference_and_scans_are_exact(void) {
  uint64_t seed = th_seed(0x1c01);
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  ref r;
  ref_init(&r, &seed);
  qy_icol c;
  qy_icol_init(&c);
  long rounds = th_env_long("QUERY_ICOL_ROUNDS", 12);
  int ok = 1;
  for (long round = 0; round < rounds && ok; round++) {
    int regime = (int)(round % 4);
    /* fill phase then a thinning phase, so chunks go sparse → dense →
     * sparse and frames widen */
    size_t ops = round % 3 == 2 ? 60000 : 120000;
    for (size_t o = 0; o < ops; o++) {
      size_t i = (size_t)(th_rand(&seed) % r.n);
      if (round % 3 == 2 || th_rand(&seed) % 5 == 0) {
        qy_icol_clear(&m, &c, r.cid[i]);
        ref_apply(&r, i, 0, 0);
      } else {
        int64_t v = rand_value(&seed, th_rand(&seed) % 16 == 0 ? 3 : regime);
        REQUIRE(qy_icol_set(&m, &c, r.cid[i], v) == POND_OK);
        ref_apply(&r, i, 1, v);
      }
    }
    ok = verify(&c, &r, &seed);
    CHECK(ok);
  }
  CHECK_EQ(qy_icol_memory(&c) > 0, c.n > 0);
  qy_icol_free(&m, &c);
  CHECK_EQ(atomic_load(&m.used), 0);
  ref_free(&r);
}

static void dense_chunks_and_frames_are_chosen_by_the_data(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  qy_icol c;
  qy_icol_init(&c);
  for (uint64_t i = 0; i < 65536; i++) REQUIRE(qy_icol_set(&m, &c, i, (int64_t)(i % 100)) == POND_OK);
  const qy_ichunk *k = qy_icol_chunk(&c, 0);
  REQUIRE(k != NULL);
  CHECK(k->dense);
  CHECK_EQ(k->bits, 8); /* span 99: 7 bits and one of headroom */
  CHECK_EQ(k->planes, 1);
  /* a time widens the frame to 32 bits, an extreme value to 64 */
  REQUIRE(qy_icol_set(&m, &c, 7, 1772323200) == POND_OK);
  k = qy_icol_chunk(&c, 0);
  CHECK_EQ(k->bits, 32);
  CHECK_EQ(k->planes, 4);
  REQUIRE(qy_icol_set(&m, &c, 9, INT64_MIN) == POND_OK);
  k = qy_icol_chunk(&c, 0);
  CHECK_EQ(k->bits, 64);
  CHECK_EQ(k->planes, 8);
  int64_t v = 0;
  CHECK(qy_icol_get(&c, 7, &v) == 1 && v == 1772323200);
  CHECK(qy_icol_get(&c, 8, &v) == 1 && v == 8);
  CHECK(qy_icol_get(&c, 9, &v) == 1 && v == INT64_MIN);
  /* times within 8 hours of each other take 16 bits (frame of reference) */
  for (uint64_t i = 0; i < 30000; i++)
    REQUIRE(qy_icol_set(&m, &c, (UINT64_C(3) << 16) | i, 1772323200 + (int64_t)i) == POND_OK);
  k = qy_icol_chunk(&c, 3);
  CHECK(k->dense);
  CHECK_EQ(k->bits, 16);
  CHECK_EQ(k->planes, 2);
  CHECK(qy_icol_memory(&c) < 65536 * (8 + 2) + 3 * 8192);
  /* thinning turns the chunk sparse again */
  for (uint64_t i = 100; i < 30000; i++) qy_icol_clear(&m, &c, (UINT64_C(3) << 16) | i);
  k = qy_icol_chunk(&c, 3);
  CHECK(!k->dense);
  CHECK_EQ(k->n, 100);
  CHECK(qy_icol_get(&c, (UINT64_C(3) << 16) | 99, &v) == 1 && v == 1772323200 + 99);
  for (uint64_t i = 0; i < 100; i++) qy_icol_clear(&m, &c, (UINT64_C(3) << 16) | i);
  CHECK(qy_icol_chunk(&c, 3) == NULL);
  CHECK_EQ(c.n, 1);
  qy_icol_free(&m, &c);
  CHECK_EQ(atomic_load(&m.used), 0);
}

/* The definition the kernels implement, slot by slot. */
static int want_bit(const uint8_t *planes, unsigned np, unsigned s, uint64_t a, uint64_t b) {
  uint64_t x = 0;
  for (unsigned i = 0; i < np; i++) x = x << 8 | planes[(size_t)i * QY_CHUNK_SLOTS + s];
  return a <= x && x <= b;
}

static void simd_kernels_agree_with_the_portable_one(void) {
  uint64_t seed = th_seed(0x51d);
  static uint8_t planes[8 * QY_CHUNK_SLOTS];
  static uint64_t a[QY_CHUNK_WORDS], b[QY_CHUNK_WORDS];
  int best = qy_scan_isa();
  printf("scan isa on this machine: %s\n", best == 2 ? "AVX-512BW" : best == 1 ? "AVX2" : "portable");
  for (int round = 0; round < 96; round++) {
    unsigned np = 1 + (unsigned)(round % 8);
    uint64_t max = np == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * np)) - 1;
    /* few distinct leading bytes, so that ties reach the later planes */
    /* few distinct leading bytes (and, every other round, second bytes
     * too), so that ties reach the later planes; zeros and 0xFF included */
    for (size_t i = 0; i < (size_t)np * QY_CHUNK_SLOTS; i++) {
      unsigned r = (unsigned)th_rand(&seed);
      if (i < QY_CHUNK_SLOTS) planes[i] = round & 1 ? (uint8_t)(r % 4 + 100) : (uint8_t)(r % 3 ? r % 4 : 0xFF);
      else if (i < 2 * QY_CHUNK_SLOTS && round % 4 == 1) planes[i] = (uint8_t)(r % 3);
      else planes[i] = (uint8_t)r;
    }
    if (round % 5 == 0) memset(planes, 0xFF, sizeof planes);
    uint64_t lo = th_rand(&seed) & max, hi = th_rand(&seed) & max;
    if (round % 3 == 0) { /* bounds that tie with stored values */
      unsigned s1 = (unsigned)(th_rand(&seed) % QY_CHUNK_SLOTS), s2 = (unsigned)(th_rand(&seed) % QY_CHUNK_SLOTS);
      lo = hi = 0;
      for (unsigned i = 0; i < np; i++) {
        lo = lo << 8 | planes[(size_t)i * QY_CHUNK_SLOTS + s1];
        hi = hi << 8 | planes[(size_t)i * QY_CHUNK_SLOTS + s2];
      }
    }
    if (lo > hi && round % 13 != 12) { /* every 13th round: an empty range */
      uint64_t t = lo;
      lo = hi;
      hi = t;
    }
    if (round % 7 == 0) lo = 0;
    if (round % 11 == 0) hi = max;
    qy_scan_planes(planes, np, lo, hi, a, 0);
    for (int isa = 1; isa <= best; isa++) {
      qy_scan_planes(planes, np, lo, hi, b, isa);
      if (memcmp(a, b, sizeof a) != 0) {
        fprintf(stderr, "%u planes, isa %d differs\n", np, isa);
        CHECK(0);
      }
    }
    int wrong = 0;
    for (unsigned s = 0; s < QY_CHUNK_SLOTS; s++)
      wrong += (int)(a[s >> 6] >> (s & 63) & 1) != want_bit(planes, np, s, lo, hi);
    if (wrong) fprintf(stderr, "round %d, %u planes: %d slots wrong\n", round, np, wrong);
    CHECK_EQ(wrong, 0);
  }
}

typedef struct failing {
  long calls, fail_at;
} failing;

static void *failing_alloc(void *ud, void *p, size_t o, size_t n) {
  failing *f = ud;
  (void)o;
  if (n == 0) {
    free(p);
    return NULL;
  }
  if (++f->calls == f->fail_at) return NULL;
  return realloc(p, n);
}

static void failed_updates_leave_the_column_unchanged(void) {
  /* a script of sets that allocates on many different paths: new chunks,
   * sparse growth, re-encoding (sparse and dense), densifying */
  uint64_t seed = th_seed(0xfa11);
  enum { N = 9000 };
  static uint64_t cids[N];
  static int64_t vs[N];
  for (size_t i = 0; i < N; i++) {
    cids[i] = (th_rand(&seed) % 3) << 16 | (i * 7 % 65536);
    vs[i] = i < 4000 ? (int64_t)(i % 50) : i < 8000 ? 1772323200 : INT64_MIN + (int64_t)i;
  }
  long failures = 0;
  for (long fail_at = 1;; fail_at += 1 + fail_at / 8) {
    failing f = {0, fail_at};
    pc_mem m;
    pc_mem_init(&m, failing_alloc, &f, 0);
    qy_icol c;
    qy_icol_init(&c);
    int failed = 0;
    for (size_t i = 0; i < N; i++) {
      int64_t before = 0;
      int had = qy_icol_get(&c, cids[i], &before);
      uint64_t count = c.count;
      int rc = qy_icol_set(&m, &c, cids[i], vs[i]);
      if (rc != POND_OK) {
        CHECK_EQ(rc, POND_ENOMEM);
        int64_t after = 0;
        CHECK_EQ(qy_icol_get(&c, cids[i], &after), had);
        if (had) CHECK_EQ(after, before);
        CHECK_EQ(c.count, count);
        failed = 1;
        failures++;
      }
    }
    qy_icol_free(&m, &c);
    CHECK_EQ(atomic_load(&m.used), 0);
    if (!failed && f.calls < fail_at) break;
  }
  CHECK(failures > 5);
}

int main(void) {
  TH_RUN(random_updates_match_a_reference_and_scans_are_exact);
  TH_RUN(dense_chunks_and_frames_are_chosen_by_the_data);
  TH_RUN(simd_kernels_agree_with_the_portable_one);
  TH_RUN(failed_updates_leave_the_column_unchanged);
  return th_done();
}
