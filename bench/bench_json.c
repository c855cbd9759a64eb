/*
 * bench_json.c — throughput of the JSON reader and writer on a customer
 * import document, and of the core hash maps.
 *
 *   ./build/bench/bench_json            (about 2 s)
 *   BENCH_CUSTOMERS=60000 BENCH_MAP=10000000 ./build/bench/bench_json
 *
 * Prints the best of several runs; the machine is shared, so compare runs
 * made back to back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/map.h"
#include "json/json.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long env_long(const char *name, long dflt) {
  const char *s = getenv(name);
  return s ? strtol(s, NULL, 0) : dflt;
}

/* A customer import: ids, UTF-8 names and tags, attributes, timestamps. */
static char *make_doc(long customers, size_t *len) {
  size_t cap = (size_t)customers * 400 + 16, o = 0;
  char *s = malloc(cap);
  unsigned long long r = 1;
  s[o++] = '[';
  for (long i = 0; i < customers; i++) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    o += (size_t)snprintf(
        s + o, cap - o,
        "%s{\"id\":%ld,\"name\":\"customer %ld \xE5\xBE\x85\xE8\xB7\x9F\xE8\xBF\x9B\","
        "\"tags\":[\"\xE6\x9D\xA5\xE6\xBA\x90/\xE7\x9B\xB4\xE6\x92\xAD\",\"campaign/spring\","
        "\"note\\n%llu\"],\"attrs\":{\"spend\":%llu,\"score\":%.6f,\"region\":\"sh\","
        "\"vip\":%s,\"owner\":null},\"added_at\":%ld}",
        i ? "," : "", 1000 + i, i, r % 1000, r % 100000, (double)(r % 100000) / 7.0,
        (r & 1) ? "true" : "false", 1700000000 + i);
  }
  s[o++] = ']';
  s[o] = 0;
  *len = o;
  return s;
}

static void bench_json(pc_mem *m, long customers) {
  size_t len;
  char *s = make_doc(customers, &len);
  double best = 1e9, bestw = 1e9;
  size_t tree = 0, out = 0;
  for (int k = 0; k < 5; k++) {
    pj_doc *d;
    pc_err e;
    double t0 = now();
    if (pj_parse(m, s, len, NULL, &d, &e) != POND_OK) {
      printf("parse failed: %s\n", e.msg);
      break;
    }
    double t = now() - t0;
    if (t < best) best = t;
    tree = atomic_load(&m->used);
    pj_buf b;
    pj_buf_init(&b, m);
    t0 = now();
    pj_buf_value(&b, pj_root(d), 0);
    t = now() - t0;
    if (t < bestw) bestw = t;
    out = b.len;
    pj_buf_free(&b);
    pj_free(d);
  }
  printf("json: %.1f MB document: parse %.1f ms (%.0f MB/s), tree %.1f MB; write %.1f ms (%.0f MB/s, %s)\n",
         (double)len / 1e6, best * 1e3, (double)len / best / 1e6, (double)tree / 1e6, bestw * 1e3,
         (double)len / bestw / 1e6, out == len ? "identical length" : "LENGTH DIFFERS");
  free(s);
}

static void bench_map64(pc_mem *m, size_t n) {
  pc_map64 h;
  pc_map64_init(&h);
  uint64_t sum = 0;
  double t0 = now();
  for (size_t i = 0; i < n; i++) pc_map64_put(m, &h, i * 2654435761u, i);
  double tgrow = now() - t0;
  pc_map64_free(m, &h);
  pc_map64_init(&h);
  pc_map64_reserve(m, &h, n);
  t0 = now();
  for (size_t i = 0; i < n; i++) pc_map64_put(m, &h, i * 2654435761u, i);
  double tput = now() - t0;
  /* Look ups in a shuffled order, so neither the hash nor the order of
   * insertion lines them up. */
  uint64_t *q = malloc(n * sizeof *q), s = 7;
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1;
    q[i] = (s >> 20) % n * 2654435761u;
  }
  t0 = now();
  for (size_t i = 0; i < n; i++) {
    uint64_t v = 0;
    pc_map64_get(&h, q[i], &v);
    sum += v;
  }
  double thit = now() - t0;
  t0 = now();
  for (size_t i = 0; i < n; i++) sum += pc_map64_get(&h, q[i] + 1, NULL) != POND_OK;
  double tmiss = now() - t0;
  printf("map64: %zu keys (%.0f MB): put %.1f ns (growing) / %.1f ns (reserved), hit %.1f ns, miss %.1f ns [%llu]\n",
         n, (double)h.cap * 17 / 1e6, tgrow / (double)n * 1e9, tput / (double)n * 1e9,
         thit / (double)n * 1e9, tmiss / (double)n * 1e9, (unsigned long long)(sum & 0xF));
  free(q);
  pc_map64_free(m, &h);
  /* Consecutive ids (customer ids from a counter), inserted and read in
   * order: the hash keeps blocks of 64 together (map.c). */
  pc_map64_init(&h);
  t0 = now();
  for (size_t i = 0; i < n; i++) pc_map64_put(m, &h, 1000000 + i, i);
  tgrow = now() - t0;
  t0 = now();
  for (size_t i = 0; i < n; i++) {
    uint64_t v = 0;
    pc_map64_get(&h, 1000000 + i, &v);
    sum += v;
  }
  thit = now() - t0;
  printf("map64: %zu consecutive keys in order: put %.1f ns (growing), hit %.1f ns [%llu]\n", n,
         tgrow / (double)n * 1e9, thit / (double)n * 1e9, (unsigned long long)(sum & 0xF));
  pc_map64_free(m, &h);
}

static void bench_strmap(pc_mem *m, size_t n) {
  char (*keys)[24] = malloc(n * 24);
  size_t *lens = malloc(n * sizeof *lens);
  for (size_t i = 0; i < n; i++) lens[i] = (size_t)snprintf(keys[i], 24, "tag/group-%zu", i);
  pc_strmap h;
  pc_strmap_init(&h);
  double t0 = now();
  for (size_t i = 0; i < n; i++) pc_strmap_put(m, &h, keys[i], lens[i], i);
  double tput = now() - t0;
  uint64_t sum = 0;
  t0 = now();
  for (size_t i = 0; i < n; i++) {
    uint64_t v = 0;
    pc_strmap_get(&h, keys[i], lens[i], &v);
    sum += v;
  }
  double tget = now() - t0;
  printf("strmap: %zu keys: put %.1f ns, get %.1f ns [%llu]\n", n, tput / (double)n * 1e9,
         tget / (double)n * 1e9, (unsigned long long)(sum & 0xF));
  pc_strmap_free(m, &h);
  free(keys);
  free(lens);
}

int main(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  bench_json(&m, env_long("BENCH_CUSTOMERS", 20000));
  bench_map64(&m, (size_t)env_long("BENCH_MAP", 1000000));
  bench_map64(&m, 50000);
  bench_strmap(&m, (size_t)env_long("BENCH_MAP", 1000000));
  return atomic_load(&m.used) != 0;
}
