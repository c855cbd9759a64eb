/*
 * bench_python_c.c — the C side of bench/bench_python.py: the same work as
 * the Python benchmark, through the public API, so that the Python script
 * can print Python/C ratios measured in one run.
 *
 *   ./build/bench/bench_python_c N SAMPLE REPS
 *
 * Setup: N customers with ids 0, 3, 6, … (as range(0, 3N, 3) in Python),
 * one tag group "g". Every line printed is "name seconds count": the best
 * of REPS runs of count operations. The operations do what the binding does
 * for one Python call: resolve the tag name with pond_tag_id, then act.
 *   tag_many     pond_tag_add_many of all N ids into a fresh tag (3 times
 *                per run, as Python tags from a list, an array, a range)
 *   tag_loop     SAMPLE calls of pond_tag_id + pond_tag_add into a fresh tag
 *   tag_again    SAMPLE pond_tag_id + pond_tag_add of members (a refresh)
 *   has_tag      SAMPLE pond_tag_id + pond_tag_has
 *   exists       SAMPLE pond_customer_exists
 *   members_len  pond_tag_id + pond_tag_members + pond_set_count +
 *                pond_set_free of an N-member tag (1000 times per run)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pond.h"

#define T0 1700000000

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void must(pond_db *db, int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "bench_python_c: %s: %s\n", what, pond_errmsg(db));
    exit(1);
  }
}

static double best[6];
static long counts[6];
static const char *const names[6] = {"tag_many", "tag_loop", "tag_again",
                                     "has_tag", "exists", "members_len"};

static void keep(int k, double secs, long count) {
  if (best[k] == 0 || secs < best[k]) best[k] = secs;
  counts[k] = count;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  long sample = argc > 2 ? atol(argv[2]) : 200000;
  int reps = argc > 3 ? atoi(argv[3]) : 3;
  if (n < 1 || sample < 1 || sample > n || reps < 1) {
    fprintf(stderr, "usage: bench_python_c N SAMPLE REPS (SAMPLE <= N)\n");
    return 2;
  }
  pond_db *db;
  if (pond_open(NULL, &db) != POND_OK) return 1;
  must(db, pond_define(db, "{\"tag_groups\": [{\"name\": \"g\"}]}", POND_NTS), "define");
  uint64_t *ids = malloc(sizeof *ids * (size_t)n);
  if (!ids) return 1;
  for (long i = 0; i < n; i++) {
    ids[i] = (uint64_t)i * 3;
    must(db, pond_customer_upsert(db, ids[i], T0), "upsert");
  }
  volatile long sink = 0;
  for (int r = 0; r < reps; r++) {
    uint32_t id;
    /* Three times, as the Python side does (list, array, range): the
     * allocator sees the same sequence of tag creations and deletions. */
    for (int k = 0; k < 3; k++) {
      double t = now();
      must(db, pond_tag_id(db, "g/many", &id), "tag_id");
      must(db, pond_tag_add_many(db, id, ids, (size_t)n, T0), "add_many");
      keep(0, now() - t, n);
      if (k < 2) must(db, pond_tag_delete(db, id), "delete");
    }

    double t = now();

    t = now();
    for (long i = 0; i < sample; i++) {
      must(db, pond_tag_id(db, "g/loop", &id), "tag_id");
      must(db, pond_tag_add(db, ids[i], id, T0), "add");
    }
    keep(1, now() - t, sample);

    t = now();
    for (long i = 0; i < sample; i++) {
      must(db, pond_tag_id(db, "g/loop", &id), "tag_id");
      must(db, pond_tag_add(db, ids[i], id, T0), "add");
    }
    keep(2, now() - t, sample);

    t = now();
    for (long i = 0; i < sample; i++) {
      int rc = pond_tag_id(db, "g/many", &id);
      must(db, rc, "tag_id");
      rc = pond_tag_has(db, ids[i], id);
      must(db, rc, "has");
      sink += rc;
    }
    keep(3, now() - t, sample);

    t = now();
    for (long i = 0; i < sample; i++) sink += pond_customer_exists(db, ids[i]);
    keep(4, now() - t, sample);

    t = now();
    for (int i = 0; i < 1000; i++) {
      pond_set *s;
      must(db, pond_tag_id(db, "g/many", &id), "tag_id");
      must(db, pond_tag_members(db, id, &s), "members");
      sink += (long)pond_set_count(s);
      pond_set_free(s);
    }
    keep(5, now() - t, 1000);

    must(db, pond_tag_id(db, "g/many", &id), "tag_id");
    must(db, pond_tag_delete(db, id), "delete");
    must(db, pond_tag_id(db, "g/loop", &id), "tag_id");
    must(db, pond_tag_delete(db, id), "delete");
  }
  for (int k = 0; k < 6; k++) printf("%s %.9f %ld\n", names[k], best[k], counts[k]);
  free(ids);
  pond_close(db);
  return sink == -1;
}
