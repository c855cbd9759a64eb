/*
 * bench_query.c — segment queries over a large population, pond against
 * SQLite with the best indexes, in one run.
 *
 *   meson setup build -Dbench=true && ninja -C build
 *   ./build/bench/bench_query                  (10M customers; ~6 GB, minutes)
 *   BENCH_QUERY_N=1000000 ./build/bench/bench_query
 *   BENCH_QUERY_SQLITE=0 ...                   (pond only)
 *   BENCH_QUERY_REPS=50 (pond runs per query), BENCH_QUERY_SQLITE_REPS=3,
 *   BENCH_QUERY_ONLY=3,7 (those queries only, for profiling),
 *   BENCH_QUERY_PARTS=qst (q: the 20 queries, s: special cases, t: tests)
 *
 * Population: N customers with ids 0..N-1 (dense, as a host's
 * auto-increment keys), 1,000 tags in 10 groups with Zipf sizes (the tag of
 * rank r holds N / (2 (r + 1)) customers: 50%, 25%, 16.7%, …; 37M
 * memberships at 10M), 6 attributes — spend (int, heavy-tailed, 10% NULL),
 * points (int, uniform over 20 bits), birthday (time, 30% NULL),
 * last_order (time, 40% NULL), region (string, 31 provinces, Zipf), owner
 * (string, 300 values) — added_at over three years, and 0-3 'order.paid'
 * events per customer through pond_event (count('order.paid'),
 * last('order.paid'), last_seen; 25% never seen).
 *
 * SQLite (the peer): the tables of QUERY.md in memory — c with one row per
 * customer, an index on every attribute column (and the counter columns),
 * t(tag, cid) WITHOUT ROWID (a covering index for "who has tag x") plus an
 * index t(cid, tag) — and each query written the way SQLite runs it best:
 * tags as `cid IN (SELECT cid FROM t WHERE tag = …)` (driven by the
 * covering index; EXISTS would probe per row). Every query's result count
 * must be the same in both (checked), so the two do the same work.
 *
 * Reported per query: pond_query_eval (the set made, as a host gets it)
 * median and p99 over REPS runs, pond_query_count median, SQLite median,
 * and the ratio of medians. Then the special cases of the targets: a 3-tag
 * AND-count, a 20-bit attribute range, and pond_query_test of a
 * 5-predicate guard (a customer just touched, and random customers).
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pond.h"

#define NOW INT64_C(1772323200) /* 2026-03-01T00:00:00Z */
#define DAY 86400
#define NTAGS 1000

static const char *const groups[10] = {"来源", "意向", "状态", "活动", "渠道",
                                       "兴趣", "等级", "地域", "门店", "标签"};
static const char *const regions[31] = {
    "广东", "浙江", "江苏", "山东", "河南", "四川", "湖北", "湖南", "河北", "福建", "上海",
    "北京", "安徽", "辽宁", "陕西", "江西", "重庆", "广西", "天津", "云南", "内蒙古",
    "山西", "黑龙江", "吉林", "贵州", "新疆", "甘肃", "海南", "宁夏", "青海", "西藏"};

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long env_long(const char *name, long dflt) {
  const char *s = getenv(name);
  return s ? strtol(s, NULL, 0) : dflt;
}

static uint64_t rng = 0x5eed;
static uint64_t rnd(void) {
  uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double unif(void) { return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0); }

static void must(pond_db *db, int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "bench_query: %s: %s\n", what, pond_errmsg(db));
    exit(1);
  }
}

static void sq_exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "sqlite: %s\n  in %s\n", err, sql);
    exit(1);
  }
}

static char tag_names[NTAGS][48];

/* --------------------------------------------------------------- queries */

typedef struct bq {
  const char *name;
  const char *pond; /* T<r> stands for tag('<name of rank r>') */
  const char *sql;  /* T<r> stands for cid IN (SELECT cid FROM t WHERE tag = '<name>') */
} bq;

static const bq QUERIES[] = {
    {"3 tags AND", "T0 AND T1 AND T2", "T0 AND T1 AND T2"},
    {"2 tags, NOT tag", "T3 AND T10 AND NOT T1", "T3 AND T10 AND NOT T1"},
    {"tag, spend, region", "T0 AND spend >= 1000 AND region = '广东'",
     "T0 AND spend >= 1000 AND region = '广东'"},
    {"silent, owners", "T5 AND NOT T2 AND last_seen < now() - 30d AND owner IN ('o1', 'o2', 'o3')",
     "T5 AND NOT T2 AND last_seen < @NOW - 30*86400 AND owner IN ('o1', 'o2', 'o3')"},
    {"20-bit range, tag, LIKE", "points BETWEEN 100000 AND 600000 AND T0 AND region LIKE '广%'",
     "points BETWEEN 100000 AND 600000 AND T0 AND region LIKE '广%'"},
    {"spend range, recent order", "spend BETWEEN 500 AND 5000 AND last_order >= now() - 90d AND T20",
     "spend BETWEEN 500 AND 5000 AND last_order >= @NOW - 90*86400 AND T20"},
    {"group, spend, NOT tag", "tag('活动/*') AND spend > 100 AND NOT T7",
     "cid IN (SELECT cid FROM t WHERE tag >= '活动/' AND tag < '活动0') AND spend > 100 AND NOT T7"},
    {"OR of tags, regions, seen", "(T1 OR T2 OR T3) AND region IN ('广东', '浙江', '江苏') AND last_seen >= now() - 7d",
     "(T1 OR T2 OR T3) AND region IN ('广东', '浙江', '江苏') AND last_seen >= @NOW - 7*86400"},
    {"repeat buyers", "count('order.paid') >= 2 AND last('order.paid') >= now() - 30d AND T4",
     "\"count:order.paid\" >= 2 AND \"last:order.paid\" >= @NOW - 30*86400 AND T4"},
    {"90s birthdays, owner",
     "birthday IS NOT NULL AND birthday BETWEEN TIMESTAMP '1990-01-01' AND TIMESTAMP '1999-12-31' AND T6 AND owner = 'o7'",
     "birthday IS NOT NULL AND birthday BETWEEN 631152000 AND 946598400 AND T6 AND owner = 'o7'"},
    {"new customers", "added_at >= now() - 30d AND T0 AND NOT T50",
     "added_at >= @NOW - 30*86400 AND T0 AND NOT T50"},
    {"small tag, big tag, spend", "T100 AND T0 AND spend >= 10000", "T100 AND T0 AND spend >= 10000"},
    {"churn risk", "last_seen < now() - 60d AND spend >= 5000 AND NOT T8 AND region != '北京'",
     "last_seen < @NOW - 60*86400 AND spend >= 5000 AND NOT T8 AND region != '北京'"},
    {"regions, points, 2 tags", "(region = '广东' OR region = '上海') AND points > 500000 AND T1 AND T3",
     "(region = '广东' OR region = '上海') AND points > 500000 AND T1 AND T3"},
    {"never ordered", "T2 AND NOT T9 AND NOT T15 AND last_order IS NULL",
     "T2 AND NOT T9 AND NOT T15 AND last_order IS NULL"},
    {"owner LIKE, active", "owner LIKE 'o1%' AND spend >= 2000 AND last_seen >= now() - 14d",
     "owner LIKE 'o1%' AND spend >= 2000 AND last_seen >= @NOW - 14*86400"},
    {"campaign union", "(T500 OR T600 OR T700) AND spend > 0 AND last_seen IS NOT NULL",
     "(T500 OR T600 OR T700) AND spend > 0 AND last_seen IS NOT NULL"},
    {"segment, tags", "segment('vip_active') AND T3 AND NOT T4",
     "spend >= 10000 AND last_seen >= @NOW - 30*86400 AND T3 AND NOT T4"},
    {"id range, tag, points", "cid BETWEEN 1000000 AND 3000000 AND T0 AND points < 100000",
     "cid BETWEEN 1000000 AND 3000000 AND T0 AND points < 100000"},
    {"8 predicates",
     "T0 AND T1 AND T2 AND T3 AND spend >= 100 AND last_seen >= now() - 30d AND region LIKE '%东%' AND NOT T5",
     "T0 AND T1 AND T2 AND T3 AND spend >= 100 AND last_seen >= @NOW - 30*86400 AND region LIKE '%东%' AND NOT T5"},
};
#define NQ (sizeof QUERIES / sizeof QUERIES[0])

/* text with T<r> and @NOW expanded (pond: sql = 0). Caller frees. */
static char *expand(const char *in, int sql) {
  size_t cap = strlen(in) * 4 + 4096, w = 0;
  char *out = malloc(cap);
  for (const char *p = in; *p;) {
    if (*p == 'T' && p[1] >= '0' && p[1] <= '9' && (p == in || p[-1] == ' ' || p[-1] == '(')) {
      char *end;
      long r = strtol(p + 1, &end, 10);
      if (sql) w += (size_t)snprintf(out + w, cap - w, "cid IN (SELECT cid FROM t WHERE tag = '%s')", tag_names[r]);
      else w += (size_t)snprintf(out + w, cap - w, "tag('%s')", tag_names[r]);
      p = end;
    } else if (sql && strncmp(p, "@NOW", 4) == 0) {
      w += (size_t)snprintf(out + w, cap - w, "%lld", (long long)NOW);
      p += 4;
    } else {
      out[w++] = *p++;
    }
  }
  out[w] = 0;
  return out;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct stats {
  double med, p99;
} stats;

static stats summarize(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  stats s = {v[n / 2], v[(int)((n - 1) * 0.99 + 0.5)]};
  return s;
}

/* ------------------------------------------------------------ population */

static void build(pond_db *db, sqlite3 *sq, long n) {
  double t0 = now_s();
  char doc[8192], *p = doc;
  p += sprintf(p, "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"}, {\"name\": \"points\", \"type\": \"int\"},"
                  " {\"name\": \"birthday\", \"type\": \"time\"}, {\"name\": \"last_order\", \"type\": \"time\"},"
                  " {\"name\": \"region\", \"type\": \"string\"}, {\"name\": \"owner\", \"type\": \"string\"}],"
                  " \"counters\": [\"order.paid\"], \"tag_groups\": [");
  for (int g = 0; g < 10; g++) p += sprintf(p, "%s{\"name\": \"%s\"}", g ? ", " : "", groups[g]);
  sprintf(p, "], \"segments\": [{\"name\": \"vip_active\", \"where\": \"spend >= 10000 AND last_seen >= now() - 30d\"}]}");
  must(db, pond_define(db, doc, POND_NTS), "define");
  uint32_t tid[NTAGS];
  for (int r = 0; r < NTAGS; r++) {
    snprintf(tag_names[r], sizeof tag_names[r], "%s/t%d", groups[r % 10], r);
    must(db, pond_tag_id(db, tag_names[r], &tid[r]), "tag_id");
  }
  if (sq) {
    sq_exec(sq, "PRAGMA journal_mode = OFF");
    sq_exec(sq, "PRAGMA synchronous = OFF");
    sq_exec(sq, "PRAGMA cache_size = -4000000");
    sq_exec(sq, "PRAGMA temp_store = MEMORY");
    sq_exec(sq, "PRAGMA case_sensitive_like = ON");
    sq_exec(sq, "CREATE TABLE c(cid INTEGER PRIMARY KEY, added_at INTEGER, last_seen INTEGER, spend INTEGER,"
                " points INTEGER, birthday INTEGER, last_order INTEGER, region TEXT, owner TEXT,"
                " \"count:order.paid\" INTEGER NOT NULL DEFAULT 0, \"last:order.paid\" INTEGER)");
    sq_exec(sq, "CREATE TABLE t(tag TEXT, cid INTEGER, PRIMARY KEY(tag, cid)) WITHOUT ROWID");
    sq_exec(sq, "BEGIN");
  }
  sqlite3_stmt *ins = NULL, *tins = NULL;
  if (sq && (sqlite3_prepare_v2(sq, "INSERT INTO c VALUES(?,?,?,?,?,?,?,?,?,?,?)", -1, &ins, NULL) ||
             sqlite3_prepare_v2(sq, "INSERT INTO t VALUES(?,?)", -1, &tins, NULL)))
    exit(1);
  char owner[16];
  for (long i = 0; i < n; i++) {
    uint64_t cid = (uint64_t)i;
    int64_t added = NOW - (int64_t)(rnd() % (3 * 365 * DAY));
    must(db, pond_customer_upsert(db, cid, added), "upsert");
    int spend_null = rnd() % 10 == 0, bday_null = rnd() % 10 < 3, lo_null = rnd() % 10 < 4;
    int64_t spend = (int64_t)(-log(1.0 - unif()) * 3000.0);
    int64_t points = (int64_t)(rnd() & 0xFFFFF);
    int64_t bday = 0 - 631152000 + (int64_t)(rnd() % (60ull * 365 * DAY)); /* 1950..2010 */
    int64_t lo = NOW - (int64_t)(rnd() % (365 * DAY));
    const char *region = regions[(int)(31.0 * pow(unif(), 2.2))];
    snprintf(owner, sizeof owner, "o%d", (int)(rnd() % 300));
    if (!spend_null) must(db, pond_attr_set_int(db, cid, "spend", spend), "spend");
    must(db, pond_attr_set_int(db, cid, "points", points), "points");
    if (!bday_null) must(db, pond_attr_set_int(db, cid, "birthday", bday), "birthday");
    if (!lo_null) must(db, pond_attr_set_int(db, cid, "last_order", lo), "last_order");
    must(db, pond_attr_set_str(db, cid, "region", region), "region");
    must(db, pond_attr_set_str(db, cid, "owner", owner), "owner");
    int events = rnd() % 4 == 0 ? 0 : (int)(rnd() % 4);
    int64_t last = INT64_MIN, seen = INT64_MIN;
    for (int k = 0; k < events; k++) {
      int64_t ts = NOW - (int64_t)(rnd() % (120 * DAY));
      must(db, pond_event(db, cid, "order.paid", ts), "event");
      if (ts > last) last = ts;
    }
    seen = last;
    if (!sq) continue;
    sqlite3_bind_int64(ins, 1, (sqlite3_int64)cid);
    sqlite3_bind_int64(ins, 2, added);
    if (seen == INT64_MIN) sqlite3_bind_null(ins, 3); else sqlite3_bind_int64(ins, 3, seen);
    if (spend_null) sqlite3_bind_null(ins, 4); else sqlite3_bind_int64(ins, 4, spend);
    sqlite3_bind_int64(ins, 5, points);
    if (bday_null) sqlite3_bind_null(ins, 6); else sqlite3_bind_int64(ins, 6, bday);
    if (lo_null) sqlite3_bind_null(ins, 7); else sqlite3_bind_int64(ins, 7, lo);
    sqlite3_bind_text(ins, 8, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 9, owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins, 10, events);
    if (events) sqlite3_bind_int64(ins, 11, last); else sqlite3_bind_null(ins, 11);
    if (sqlite3_step(ins) != SQLITE_DONE) exit(1);
    sqlite3_reset(ins);
  }
  printf("customers and attributes: %.1f s\n", now_s() - t0);
  /* tags: rank r holds about n / (2 (r + 1)) customers, drawn by geometric
   * skips (ascending ids: the fast path of both bulk loads) */
  uint64_t *ids = malloc((size_t)n * sizeof *ids), total = 0;
  for (int r = 0; r < NTAGS; r++) {
    double pr = 0.5 / (r + 1);
    size_t k = 0;
    double lq = log(1.0 - pr);
    for (double x = floor(log(1.0 - unif()) / lq); x < (double)n; x += 1.0 + floor(log(1.0 - unif()) / lq))
      ids[k++] = (uint64_t)x;
    must(db, pond_tag_add_many(db, tid[r], ids, k, NOW - 100 * DAY), "tag_add_many");
    total += k;
    for (size_t i = 0; sq && i < k; i++) {
      sqlite3_bind_text(tins, 1, tag_names[r], -1, SQLITE_STATIC);
      sqlite3_bind_int64(tins, 2, (sqlite3_int64)ids[i]);
      if (sqlite3_step(tins) != SQLITE_DONE) exit(1);
      sqlite3_reset(tins);
    }
  }
  free(ids);
  printf("tags: %llu memberships, %.1f s\n", (unsigned long long)total, now_s() - t0);
  if (sq) {
    sqlite3_finalize(ins);
    sqlite3_finalize(tins);
    sq_exec(sq, "COMMIT");
    static const char *const idx[] = {"added_at", "last_seen", "spend", "points", "birthday", "last_order",
                                      "region", "owner", "\"count:order.paid\"", "\"last:order.paid\""};
    char sql[256];
    for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
      snprintf(sql, sizeof sql, "CREATE INDEX c_%zu ON c(%s)", i, idx[i]);
      sq_exec(sq, sql);
    }
    sq_exec(sq, "CREATE INDEX t_cid ON t(cid, tag)");
    sq_exec(sq, "ANALYZE");
    printf("sqlite indexes: %.1f s\n", now_s() - t0);
  }
  printf("pond memory: %.2f GB (%.0f bytes per customer)\n", pond_memory_used(db) / 1e9,
         (double)pond_memory_used(db) / (double)n);
}

static long sq_count(sqlite3 *sq, const char *where) {
  size_t cap = strlen(where) + 64;
  char *sql = malloc(cap);
  snprintf(sql, cap, "SELECT count(*) FROM c WHERE %s", where);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(sq, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "sqlite: %s\n  %s\n", sqlite3_errmsg(sq), sql);
    exit(1);
  }
  long c = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  free(sql);
  return c;
}

int main(void) {
  long n = env_long("BENCH_QUERY_N", 10000000), reps = env_long("BENCH_QUERY_REPS", 50);
  long sreps = env_long("BENCH_QUERY_SQLITE_REPS", 3);
  int with_sqlite = (int)env_long("BENCH_QUERY_SQLITE", 1);
  pond_db *db;
  if (pond_open(NULL, &db) != POND_OK) return 1;
  sqlite3 *sq = NULL;
  if (with_sqlite && sqlite3_open(":memory:", &sq) != SQLITE_OK) return 1;
  printf("bench_query: %ld customers, %d tags (Zipf), 6 attributes; pond %ld runs per query, SQLite %ld%s\n",
         n, NTAGS, reps, sreps, with_sqlite ? "" : " (SQLite off)");
  build(db, sq, n);
  if (env_long("BENCH_QUERY_PAUSE", 0)) { /* attach a profiler now */
    printf("ready (pid %ld)\n", (long)getpid());
    fflush(stdout);
    sleep((unsigned)env_long("BENCH_QUERY_PAUSE", 0));
  }

  double *v = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *v);
  double pond_meds[NQ], ratios[NQ];
  int nr = 0;
  printf("\n| # | query | predicates | result | pond eval median | p99 | pond count median | SQLite median | ratio |\n");
  printf("| - | ----- | ---------- | ------ | ---------------- | --- | ----------------- | ------------- | ----- |\n");
  const char *only = getenv("BENCH_QUERY_ONLY"); /* "3,7": just those (profiling) */
  for (size_t i = 0; i < NQ; i++) {
    if (getenv("BENCH_QUERY_PARTS") && !strchr(getenv("BENCH_QUERY_PARTS"), 'q')) only = "0";
    if (only) {
      char key[16];
      snprintf(key, sizeof key, ",%zu,", i + 1);
      char *list = malloc(strlen(only) + 3);
      sprintf(list, ",%s,", only);
      int skip = !strstr(list, key);
      free(list);
      if (skip) {
        pond_meds[i] = 0;
        continue;
      }
    }
    char *text = expand(QUERIES[i].pond, 0);
    pond_query *q;
    must(db, pond_query_prepare(db, text, POND_NTS, &q), text);
    uint64_t cnt = 0;
    must(db, pond_query_count(q, NOW, &cnt), "count"); /* builds the indexes it reads */
    for (long r = 0; r < reps; r++) {
      pond_set *s;
      double t0 = now_s();
      must(db, pond_query_eval(q, NOW, &s), "eval");
      v[r] = now_s() - t0;
      if (pond_set_count(s) != cnt) {
        fprintf(stderr, "eval and count disagree on query %zu\n", i + 1);
        return 1;
      }
      pond_set_free(s);
    }
    stats se = summarize(v, (int)reps);
    for (long r = 0; r < reps; r++) {
      double t0 = now_s();
      must(db, pond_query_count(q, NOW, &cnt), "count");
      v[r] = now_s() - t0;
    }
    stats sc = summarize(v, (int)reps);
    pond_query_free(q);
    pond_meds[i] = se.med;
    unsigned preds = 1;
    for (const char *p = QUERIES[i].pond; *p; p++) preds += strncmp(p, " AND ", 5) == 0 || strncmp(p, " OR ", 4) == 0;
    double sqmed = 0;
    if (sq) {
      char *sql = expand(QUERIES[i].sql, 1);
      double sv[16];
      long k = sreps < 16 ? sreps : 16;
      for (long r = 0; r < k; r++) {
        double t0 = now_s();
        long c = sq_count(sq, sql);
        sv[r] = now_s() - t0;
        if (c != (long)cnt) {
          fprintf(stderr, "query %zu: SQLite counts %ld, pond %llu\n  %s\n", i + 1, c, (unsigned long long)cnt, sql);
          return 1;
        }
      }
      sqmed = summarize(sv, (int)k).med;
      ratios[nr++] = sqmed / se.med;
      free(sql);
    }
    printf("| %zu | %s | %u | %llu | %.3f ms | %.3f ms | %.3f ms |", i + 1, QUERIES[i].name, preds,
           (unsigned long long)cnt, se.med * 1e3, se.p99 * 1e3, sc.med * 1e3);
    if (sq) printf(" %.1f ms | %.0f× |\n", sqmed * 1e3, sqmed / se.med);
    else printf(" - | - |\n");
    fflush(stdout);
    free(text);
  }
  double all[NQ];
  memcpy(all, pond_meds, sizeof all);
  qsort(all, NQ, sizeof *all, cmp_double);
  printf("\nmedian over the %zu queries of pond's medians: %.3f ms (slowest %.3f ms)", NQ, all[NQ / 2] * 1e3,
         all[NQ - 1] * 1e3);
  if (nr) {
    qsort(ratios, (size_t)nr, sizeof *ratios, cmp_double);
    printf("; ratio vs SQLite: median %.0f×, lowest %.0f×", ratios[nr / 2], ratios[0]);
  }
  printf("\n\n");

  /* special cases of the targets */
  const char *parts = getenv("BENCH_QUERY_PARTS"); /* "qst": queries, special cases, tests */
  if (!parts) parts = only ? "q" : "qst";
  struct {
    const char *what, *text;
  } special[] = {
      {"3-tag AND-count (pond_query_count)", "T0 AND T1 AND T2"},
      {"3-tag AND-count, smaller tags", "T3 AND T4 AND T5"},
      {"20-bit attribute range, count", "points BETWEEN 100000 AND 600000"},
      {"20-bit attribute range, eval (set made)", "points BETWEEN 100000 AND 600000"},
  };
  for (size_t i = 0; strchr(parts, 's') && i < sizeof special / sizeof special[0]; i++) {
    char *text = expand(special[i].text, 0);
    pond_query *q;
    must(db, pond_query_prepare(db, text, POND_NTS, &q), text);
    uint64_t cnt;
    must(db, pond_query_count(q, NOW, &cnt), "count");
    int eval = strstr(special[i].what, "eval") != NULL;
    for (long r = 0; r < reps; r++) {
      double t0 = now_s();
      if (eval) {
        pond_set *s;
        must(db, pond_query_eval(q, NOW, &s), "eval");
        pond_set_free(s);
      } else {
        must(db, pond_query_count(q, NOW, &cnt), "count");
      }
      v[r] = now_s() - t0;
    }
    stats s = summarize(v, (int)reps);
    printf("%-42s %10llu ids  median %.3f ms  p99 %.3f ms\n", special[i].what, (unsigned long long)cnt,
           s.med * 1e3, s.p99 * 1e3);
    pond_query_free(q);
    free(text);
  }

  /* pond_query_test of a 5-predicate guard */
  if (strchr(parts, 't')) {
    char *text = expand("T0 AND spend >= 1000 AND region = '广东' AND last_seen >= now() - 30d AND NOT T5", 0);
    pond_query *q;
    must(db, pond_query_prepare(db, text, POND_NTS, &q), text);
    long iters = 2000000;
    volatile int acc = 0;
    double t0 = now_s();
    for (long r = 0; r < iters; r++) acc += pond_query_test(q, 4242, NOW);
    double hot = (now_s() - t0) / (double)iters;
    uint64_t *cids = malloc(4096 * sizeof *cids);
    for (int k = 0; k < 4096; k++) cids[k] = rnd() % (uint64_t)n;
    t0 = now_s();
    for (long r = 0; r < iters; r++) acc += pond_query_test(q, cids[r & 4095], NOW);
    double warm = (now_s() - t0) / (double)iters;
    t0 = now_s();
    for (long r = 0; r < iters; r++) acc += pond_query_test(q, rnd() % (uint64_t)n, NOW);
    double cold = (now_s() - t0) / (double)iters;
    printf("pond_query_test, 5-predicate guard: %.0f ns (the same customer), %.0f ns (4,096 customers), "
           "%.0f ns (random of %ld: cache misses)\n",
           hot * 1e9, warm * 1e9, cold * 1e9, n);
    free(cids);
    pond_query_free(q);
    free(text);
  }
  free(v);
  pond_close(db);
  if (sq) sqlite3_close(sq);
  return 0;
}
