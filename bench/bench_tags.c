/*
 * bench_tags.c — tagging throughput through the public API, and memory per
 * customer.
 *
 *   ./build/bench/bench_tags                         (1M customers, ~5 s)
 *   BENCH_CUSTOMERS=10000000 ./build/bench/bench_tags
 *
 * Setup: N customers (ids spread over 4N, so bitmaps hold mixed
 * containers), one "big" tag holding every other customer (N/2 members).
 * Then, each timed:
 *   add_single      pond_tag_add of customers lacking the big tag, outside a
 *                   transaction (the fast path: no before-image)
 *   add_in_txn      the same inside one pond_begin/pond_commit
 *   add_exclusive   pond_tag_add moving customers between two tags of an
 *                   exclusive group (two bitmaps change: call savepoint)
 *   add_many        pond_tag_add_many in batches of 10,000 ids
 *   remove_single   pond_tag_remove, outside a transaction
 * and memory: bytes per customer (records + map + all-customers bitmap),
 * bytes per tag membership (record entry + bitmap share).
 * Prints the best of three runs of each (the machine is shared).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pond.h"

#define T0 1700000000

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long env_long(const char *name, long dflt) {
  const char *s = getenv(name);
  return s ? strtol(s, NULL, 0) : dflt;
}

static void must(pond_db *db, int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "bench_tags: %s: %s\n", what, pond_errmsg(db));
    exit(1);
  }
}

/* Customer i's id: spread so that chunks are neither all dense nor sparse. */
static uint64_t cid_of(long i) { return (uint64_t)i * 4 + (uint64_t)(i % 3); }

static uint32_t tag(pond_db *db, const char *name) {
  uint32_t id;
  must(db, pond_tag_id(db, name, &id), name);
  return id;
}

static void report(const char *what, long ops, double secs) {
  printf("%-15s %10.2f M/s  %7.1f ns/op\n", what, ops / secs / 1e6, secs / ops * 1e9);
}

int main(void) {
  long n = env_long("BENCH_CUSTOMERS", 1000000), sample = n / 10 < 200000 ? n / 10 : 200000;
  pond_db *db;
  if (pond_open(NULL, &db) != POND_OK) return 1;
  must(db, pond_define(db,
                       "{\"tag_groups\": [{\"name\": \"g\"},"
                       " {\"name\": \"st\", \"exclusive\": true, \"tags\": [\"a\", \"b\"]}]}",
                       POND_NTS),
       "define");
  size_t m0 = pond_memory_used(db);
  double t = now();
  for (long i = 0; i < n; i++) must(db, pond_customer_upsert(db, cid_of(i), T0), "upsert");
  double up = now() - t;
  size_t m1 = pond_memory_used(db);
  uint32_t big = tag(db, "g/big"), a = tag(db, "st/a"), b = tag(db, "st/b");
  uint64_t *ids = malloc(sizeof *ids * (size_t)n);
  for (long i = 0; i < n; i++) ids[i] = cid_of(i);
  /* every other customer holds big; its members: the even indexes */
  for (long i = 0; i < n; i += 2) must(db, pond_tag_add(db, ids[i], big, T0), "seed big");
  size_t m2 = pond_memory_used(db);
  printf("customers %ld, big tag %ld members\n", n, (n + 1) / 2);
  report("upsert", n, up);

  double best[5] = {1e9, 1e9, 1e9, 1e9, 1e9};
  for (int run = 0; run < 3; run++) {
    char name[32];
    /* add_single: odd indexes into a fresh tag of the same size first, then big */
    t = now();
    for (long i = 1; i < 2 * sample && i < n; i += 2) must(db, pond_tag_add(db, ids[i], big, T0), "add");
    double d = now() - t;
    if (d < best[0]) best[0] = d;
    for (long i = 1; i < 2 * sample && i < n; i += 2) must(db, pond_tag_remove(db, ids[i], big, T0), "rm");

    must(db, pond_begin(db), "begin");
    t = now();
    for (long i = 1; i < 2 * sample && i < n; i += 2) must(db, pond_tag_add(db, ids[i], big, T0), "add");
    must(db, pond_commit(db), "commit");
    d = now() - t;
    if (d < best[1]) best[1] = d;

    t = now();
    for (long i = 1; i < 2 * sample && i < n; i += 2) must(db, pond_tag_remove(db, ids[i], big, T0), "rm");
    d = now() - t;
    if (d < best[4]) best[4] = d;

    for (long i = 0; i < sample; i++) must(db, pond_tag_add(db, ids[i], a, T0), "excl a");
    t = now();
    for (long i = 0; i < sample; i++) must(db, pond_tag_add(db, ids[i], b, T0), "excl b");
    d = now() - t;
    if (d < best[2]) best[2] = d;

    snprintf(name, sizeof name, "g/many%d", run);
    uint32_t many = tag(db, name);
    t = now();
    for (long i = 0; i < n; i += 10000) {
      size_t k = (size_t)(n - i < 10000 ? n - i : 10000);
      must(db, pond_tag_add_many(db, many, ids + i, k, T0), "add_many");
    }
    d = now() - t;
    if (d < best[3]) best[3] = d;
    must(db, pond_tag_delete(db, many), "delete");
  }
  long singles = (long)((n > 2 * sample ? 2 * sample : n) / 2);
  report("add_single", singles, best[0]);
  report("add_in_txn", singles, best[1]);
  report("add_exclusive", sample, best[2]);
  report("add_many", n, best[3]);
  report("remove_single", singles, best[4]);
  printf("memory: %.1f bytes/customer (records, map, bitmap of all), "
         "%.1f bytes/membership of the big tag\n",
         (double)(m1 - m0) / (double)n, (double)(m2 - m1) / (double)((n + 1) / 2));
  free(ids);
  pond_close(db);
  return 0;
}
