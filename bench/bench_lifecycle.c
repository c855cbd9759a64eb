/*
 * bench_lifecycle.c — lifecycle machines, side by side in one run:
 *
 *   events     pond_event through two machines with guards over N customers
 *              (random customers; order.paid / message / link.opened mix),
 *              against SQLite (in memory) doing one state upsert per event
 *              (prepared INSERT … ON CONFLICT DO UPDATE of the customer's
 *              two states, since times, count and last_seen)
 *   tick       pond_tick firing T due timers (T customers in a state with a
 *              1-day after-transition, one tick a day later); the first
 *              tick's queue build is timed apart
 *   memory     bytes per pending timer (the queue's allocation over its
 *              entries), against a flat binary heap of the same entries
 *   heap       a binary heap of (due, cid, kind) pushing and popping the
 *              same T entries (the alternative the calendar queue beat)
 *
 *   ./build/bench/bench_lifecycle
 *   BENCH_LC_CUSTOMERS=1000000 BENCH_LC_EVENTS=2000000 BENCH_LC_TIMERS=10000000
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pond.h"

#define T0 1700000000
#define DAY 86400

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
    fprintf(stderr, "bench_lifecycle: %s: %s\n", what, pond_errmsg(db));
    exit(1);
  }
}

static uint64_t rng(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static const char *DEFS =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"}],"
    " \"counters\": [\"order.paid\", \"message\"],"
    " \"machines\": [{\"name\": \"lifecycle\", \"initial\": \"new\","
    "   \"states\": [\"new\", \"intent\", \"paying\", \"repeat\", \"silent\"],"
    "   \"transitions\": ["
    "    {\"from\": [\"new\", \"silent\"], \"to\": \"intent\", \"on\": \"message\"},"
    "    {\"from\": [\"new\", \"intent\"], \"to\": \"paying\", \"on\": \"order.paid\"},"
    "    {\"from\": \"paying\", \"to\": \"repeat\", \"on\": \"order.paid\", \"if\": \"count('order.paid') >= 2\"},"
    "    {\"from\": \"*\", \"to\": \"silent\", \"after\": \"30d\"}]},"
    "  {\"name\": \"value\", \"initial\": \"low\", \"states\": [\"low\", \"mid\", \"high\"],"
    "   \"transitions\": ["
    "    {\"from\": \"low\", \"to\": \"mid\", \"on\": \"order.paid\", \"if\": \"count('order.paid') >= 1 AND last_seen >= now() - 30d\"},"
    "    {\"from\": \"mid\", \"to\": \"high\", \"on\": \"order.paid\", \"if\": \"count('order.paid') >= 3 AND stage('lifecycle') = 'repeat'\"}]}]}";

static const char *EVENTS[] = {"order.paid", "link.opened", "visit"};

/* Seconds for nev random events over n customers through the machines. */
static double pond_events(long n, long nev) {
  pond_db *db;
  must(NULL, pond_open(NULL, &db), "open");
  must(db, pond_define(db, DEFS, strlen(DEFS)), "define");
  for (long i = 0; i < n; i++) must(db, pond_customer_upsert(db, (uint64_t)i + 1, T0), "upsert");
  uint64_t s = 42;
  double t = now();
  for (long i = 0; i < nev; i++) {
    uint64_t cid = rng(&s) % (uint64_t)n + 1;
    int64_t ts = T0 + i / 100;
    unsigned k = (unsigned)(rng(&s) % 4);
    int rc = k == 3 ? pond_message(db, cid, "hi", 2, ts) : pond_event(db, cid, EVENTS[k], ts);
    must(db, rc, "event");
  }
  double pond_s = now() - t;
  const char *st;
  pond_stage(db, 1, "lifecycle", &st, NULL);
  pond_close(db);
  return pond_s;
}

static void bench_events(long n, long nev) {
  double pond_s = pond_events(n, nev);
  /* the same over 10,000 customers: records and map in cache, the engine's
   * own cost */
  double hot_s = pond_events(10000, nev);
  uint64_t s;
  double t;

  sqlite3 *q;
  sqlite3_open(":memory:", &q);
  sqlite3_exec(q,
               "CREATE TABLE c(cid INTEGER PRIMARY KEY, lc TEXT, lc_since INT, val TEXT, val_since INT,"
               " orders INT NOT NULL DEFAULT 0, last_seen INT)",
               NULL, NULL, NULL);
  sqlite3_exec(q, "BEGIN", NULL, NULL, NULL);
  sqlite3_stmt *ins;
  sqlite3_prepare_v2(q, "INSERT INTO c(cid, lc, lc_since, val, val_since) VALUES(?, 'new', ?, 'low', ?)", -1, &ins, NULL);
  for (long i = 0; i < n; i++) {
    sqlite3_bind_int64(ins, 1, i + 1);
    sqlite3_bind_int64(ins, 2, T0);
    sqlite3_bind_int64(ins, 3, T0);
    sqlite3_step(ins);
    sqlite3_reset(ins);
  }
  sqlite3_exec(q, "COMMIT", NULL, NULL, NULL);
  /* one upsert per event: the state moves the host computed, with the
   * counter and last_seen (the work a host does without pond) */
  sqlite3_stmt *up;
  sqlite3_prepare_v2(q,
                     "INSERT INTO c(cid, lc, lc_since, last_seen) VALUES(?1, 'new', ?2, ?2)"
                     " ON CONFLICT(cid) DO UPDATE SET orders = orders + ?3, last_seen = max(coalesce(last_seen, ?2), ?2),"
                     " lc = CASE WHEN ?3 = 1 AND lc IN ('new', 'intent') THEN 'paying'"
                     "  WHEN ?3 = 1 AND lc = 'paying' AND orders >= 1 THEN 'repeat' ELSE lc END,"
                     " lc_since = CASE WHEN ?3 = 1 AND lc IN ('new', 'intent', 'paying') THEN ?2 ELSE lc_since END",
                     -1, &up, NULL);
  s = 42;
  t = now();
  for (long i = 0; i < nev; i++) {
    uint64_t cid = rng(&s) % (uint64_t)n + 1;
    int64_t ts = T0 + i / 100;
    unsigned k = (unsigned)(rng(&s) % 4);
    sqlite3_bind_int64(up, 1, (sqlite3_int64)cid);
    sqlite3_bind_int64(up, 2, ts);
    sqlite3_bind_int64(up, 3, k == 0);
    if (sqlite3_step(up) != SQLITE_DONE) {
      fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(q));
      exit(1);
    }
    sqlite3_reset(up);
  }
  double sql_s = now() - t;
  sqlite3_finalize(ins);
  sqlite3_finalize(up);
  sqlite3_close(q);
  printf("events   %ld customers, %ld events (two machines with guards)\n", n, nev);
  printf("  pond   %8.1f ns/event  %6.2f M/s\n", pond_s / nev * 1e9, nev / pond_s / 1e6);
  printf("  sqlite %8.1f ns/event  %6.2f M/s  (one state upsert per event, in memory)\n", sql_s / nev * 1e9,
         nev / sql_s / 1e6);
  printf("  ratio  sqlite/pond %.1fx\n", sql_s / pond_s);
  printf("  pond   %8.1f ns/event over 10,000 customers (cache-resident: the engine's own cost)\n",
         hot_s / nev * 1e9);
}

static void bench_tick(long n) {
  pond_db *db;
  must(NULL, pond_open(NULL, &db), "open");
  const char *d =
      "{\"machines\": [{\"name\": \"m\", \"initial\": \"a\", \"states\": [\"a\", \"b\", \"c\"],"
      " \"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"after\": \"1d\"}, {\"from\": \"b\", \"to\": \"c\", \"after\": \"30d\"}]}]}";
  must(db, pond_define(db, d, strlen(d)), "define");
  /* customers added over one hour, ids in arrival order (as hosts assign
   * them): their timers fall due over an hour, in id order */
  for (long i = 0; i < n; i++)
    must(db, pond_customer_upsert(db, (uint64_t)i + 1, T0 + (int64_t)((double)i * 3600 / (double)n)), "upsert");
  size_t m0 = pond_memory_used(db);
  double t = now();
  must(db, pond_tick(db, T0), "first tick (builds the queue)"); /* nothing due yet */
  double build = now() - t;
  size_t m1 = pond_memory_used(db);
  t = now();
  must(db, pond_tick(db, T0 + DAY + 3600), "tick");
  double fire = now() - t;
  const char *st;
  pond_stage(db, (uint64_t)n, "m", &st, NULL);
  printf("tick     %ld due timers\n", n);
  printf("  build  %8.1f ns/timer (queue from the records, first tick)\n", build / n * 1e9);
  printf("  fire   %8.1f ns/timer  %6.2f M/s  (each fire arms the next timer; last customer now '%s')\n",
         fire / n * 1e9, n / fire / 1e6, st);
  printf("  memory %8.1f bytes per pending timer (queue)\n", (double)(m1 - m0) / (double)n);
  pond_close(db);
}

/* The alternative: one binary heap over every entry. */
typedef struct hent {
  int64_t due;
  uint64_t cid;
  uint32_t kind;
} hent;

static int hless(const hent *a, const hent *b) {
  if (a->due != b->due) return a->due < b->due;
  if (a->cid != b->cid) return a->cid < b->cid;
  return a->kind < b->kind;
}

static void bench_heap(long n) {
  hent *h = malloc((size_t)n * sizeof *h);
  if (!h) return;
  long hn = 0;
  uint64_t s = 7;
  double t = now();
  for (long i = 0; i < n; i++) {
    hent e = {T0 + DAY + (int64_t)(rng(&s) % 3600), (uint64_t)i + 1, 0};
    long j = hn++;
    while (j && hless(&e, &h[(j - 1) / 2])) {
      h[j] = h[(j - 1) / 2];
      j = (j - 1) / 2;
    }
    h[j] = e;
  }
  double push = now() - t;
  t = now();
  uint64_t sum = 0;
  while (hn) {
    sum += h[0].cid;
    hent last = h[--hn];
    long j = 0;
    for (;;) {
      long c = 2 * j + 1;
      if (c >= hn) break;
      if (c + 1 < hn && hless(&h[c + 1], &h[c])) c++;
      if (!hless(&h[c], &last)) break;
      h[j] = h[c];
      j = c;
    }
    if (hn) h[j] = last;
  }
  double pop = now() - t;
  printf("heap     %ld entries (flat binary heap of 24-byte entries, the alternative)\n", n);
  printf("  push   %8.1f ns  pop %8.1f ns per entry  (%llu)\n", push / n * 1e9, pop / n * 1e9,
         (unsigned long long)(sum & 1));
  free(h);
}

int main(void) {
  long n = env_long("BENCH_LC_CUSTOMERS", 1000000), nev = env_long("BENCH_LC_EVENTS", 2000000),
       nt = env_long("BENCH_LC_TIMERS", 10000000);
  bench_events(n, nev);
  bench_tick(nt);
  bench_heap(nt);
  return 0;
}
