/*
 * Differential test of query evaluation against SQLite: random well-typed
 * queries (test_query_gen.h) over a random population held both in a fake
 * customer store and in the SQLite tables of QUERY.md. For every query the
 * customers whose value is TRUE, and those whose value is UNKNOWN
 * (`(<where>) IS NULL`), must be the same, id for id.
 *
 * Three evaluators are compared: SQLite, qy_eval_row (one customer at a
 * time, as pond_query_test) and qy_eval_set (chunk by chunk over a fake
 * qy_chunks, as pond_query_eval — in turn without and with its per-customer
 * path for chunks with few customers, emitting words or slots); qy_test
 * must agree with qy_eval_row.
 *
 * Default: 2,000 queries over 300 customers. QUERY_DIFF_ITERS=100000 for
 * the long mode, QUERY_DIFF_POP for more customers; TH_SEED to replay. A failure prints the query, its SQL and the first
 * differing customer.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "query/icol.h"
#include "query/qy.h"
#include "test_query_fake.h"
#include "test_query_gen.h"
#include "test_query_chunks.h"

static void make_pop(pop *p, size_t n, uint64_t *s) {
  p->c = calloc(n, sizeof *p->c);
  p->n = n;
  for (size_t i = 0; i < n; i++) fq_make_cust(&p->c[i], i, n, s);
}

/* ----------------------------------------------------------------- sqlite */

static void exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "sqlite: %s\n  in %s\n", err, sql);
    sqlite3_free(err);
    exit(2);
  }
}

static sqlite3 *make_sqlite(const pop *p) {
  sqlite3 *db;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) exit(2);
  char sql[4096];
  char *q = sql;
  q += sprintf(q, "CREATE TABLE c(cid INTEGER PRIMARY KEY, added_at INTEGER, last_seen INTEGER");
  for (size_t a = 0; a < FQ_NATTR; a++)
    q += sprintf(q, ", \"%s\" %s", fq_attrs[a].name,
                 fq_attrs[a].type == QY_T_STRING ? "TEXT" : "INTEGER");
  for (int m = 0; m < FQ_NMACHINES; m++)
    q += sprintf(q, ", \"stage:%s\" TEXT, \"since:%s\" INTEGER", fq_machines[m], fq_machines[m]);
  for (int k = 0; k < FQ_NCOUNTERS; k++)
    q += sprintf(q, ", \"count:%s\" INTEGER NOT NULL DEFAULT 0, \"last:%s\" INTEGER",
                 fq_counters[k], fq_counters[k]);
  sprintf(q, ")");
  exec(db, sql);
  exec(db, "CREATE TABLE t(cid INTEGER, tag TEXT, PRIMARY KEY(cid, tag))");
  exec(db, "PRAGMA case_sensitive_like = ON");
  exec(db, "BEGIN");
  sqlite3_stmt *ins, *tins;
  size_t ncols = 3 + FQ_NATTR + 2 * FQ_NMACHINES + 2 * FQ_NCOUNTERS;
  q = sql + sprintf(sql, "INSERT INTO c VALUES(?");
  for (size_t i = 1; i < ncols; i++) q += sprintf(q, ",?");
  sprintf(q, ")");
  if (sqlite3_prepare_v2(db, sql, -1, &ins, NULL) != SQLITE_OK) exit(2);
  if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?, ?)", -1, &tins, NULL) != SQLITE_OK) exit(2);
  for (size_t i = 0; i < p->n; i++) {
    const fq_cust *c = &p->c[i];
    int k = 1;
    sqlite3_bind_int64(ins, k++, (sqlite3_int64)c->cid);
    sqlite3_bind_int64(ins, k++, c->added_at);
    if (c->last_seen_null) sqlite3_bind_null(ins, k++);
    else sqlite3_bind_int64(ins, k++, c->last_seen);
    for (size_t a = 0; a < FQ_NATTR; a++, k++) {
      if (c->null[a]) sqlite3_bind_null(ins, k);
      else if (fq_attrs[a].type == QY_T_STRING) sqlite3_bind_text(ins, k, c->sv[a], -1, SQLITE_STATIC);
      else sqlite3_bind_int64(ins, k, c->iv[a]);
    }
    for (int m = 0; m < FQ_NMACHINES; m++) {
      sqlite3_bind_text(ins, k++, fq_states[m][c->stage[m]], -1, SQLITE_STATIC);
      sqlite3_bind_int64(ins, k++, c->since[m]);
    }
    for (int j = 0; j < FQ_NCOUNTERS; j++) {
      sqlite3_bind_int64(ins, k++, c->count[j]);
      if (c->count[j] == 0) sqlite3_bind_null(ins, k++);
      else sqlite3_bind_int64(ins, k++, c->last[j]);
    }
    if (sqlite3_step(ins) != SQLITE_DONE) exit(2);
    sqlite3_reset(ins);
    for (size_t t = 0; t < FQ_NTAGS; t++) {
      if (!(c->tags >> t & 1)) continue;
      sqlite3_bind_int64(tins, 1, (sqlite3_int64)c->cid);
      sqlite3_bind_text(tins, 2, fq_tags[t], -1, SQLITE_STATIC);
      if (sqlite3_step(tins) != SQLITE_DONE) exit(2);
      sqlite3_reset(tins);
    }
  }
  sqlite3_finalize(ins);
  sqlite3_finalize(tins);
  exec(db, "COMMIT");
  return db;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Ids selected by SQL, sorted as unsigned; returns the count or -1. */
static long sql_ids(sqlite3 *db, const char *sql, uint64_t *out, size_t cap) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "sqlite prepare: %s\n  %s\n", sqlite3_errmsg(db), sql);
    return -1;
  }
  long n = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if ((size_t)n < cap) out[n++] = (uint64_t)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return -1;
  qsort(out, (size_t)n, sizeof *out, cmp_u64);
  return n;
}

typedef struct diff_env {
  pc_mem m;
  fq_schema f;
  qy_schema s;
  pc_err e;
  pop p;
  sqlite3 *db;
  uint64_t *want, *got, *set;
  char *sql;
  fchunks fc;
  int rows; /* 0: chunks only; 1: small chunks by rows, out as words; 2: as slots */
} diff_env;

static void diff_env_init(diff_env *d, uint64_t *seed, size_t n) {
  pc_mem_init(&d->m, NULL, NULL, 0);
  fq_init(&d->f, &d->s);
  make_pop(&d->p, n, seed);
  d->db = make_sqlite(&d->p);
  d->want = malloc(n * sizeof *d->want);
  d->got = malloc(n * sizeof *d->got);
  d->set = malloc(n * sizeof *d->set);
  fchunks_init(&d->fc, &d->p, &d->m);
  d->sql = malloc(1 << 20);
}

static void diff_env_free(diff_env *d) {
  sqlite3_close(d->db);
  free(d->p.c);
  free(d->want);
  free(d->got);
  free(d->set);
  free(d->sql);
  fchunks_free(&d->fc);
}

/* Compares pond's TRUE (truth = QY_TRUE) or UNKNOWN set with SQLite's;
 * returns the set's size, or -1 when they differ. */
static long compare_sets(diff_env *d, const qy_query *q, const char *text, const char *where,
                        int truth) {
  snprintf(d->sql, 1 << 20, "SELECT cid FROM c WHERE %s%s", where,
           truth == QY_TRUE ? "" : " IS NULL");
  long nw = sql_ids(d->db, d->sql, d->want, d->p.n);
  if (nw < 0) return -1;
  size_t ng = 0;
  for (size_t i = 0; i < d->p.n; i++) {
    qy_row row = fq_row(&d->p.c[i]);
    int t = qy_eval_row(q, &row, QG_NOW);
    if (t < 0) return -1;
    if (t == truth) d->got[ng++] = d->p.c[i].cid;
    /* qy_test agrees with the three-valued result */
    if (qy_test(q, &row, QG_NOW) != (t == QY_TRUE)) return -1;
  }
  /* the set evaluation, chunk by chunk, selects the same ids */
  collect col = {d->set, 0, d->p.n, truth == QY_UNKNOWN};
  /* by chunk, by customer for small chunks (with slots or words out) */
  /* the TRUE set both with and without the UNKNOWNs being computed */
  qy_sink sink = {&col, collect_emit, d->rows == 2 ? collect_slots : NULL,
                  truth == QY_UNKNOWN || d->rows == 1};
  qy_chunks src = fc_source_rows(&d->fc, d->rows != 0);
  int rc = qy_eval_set(q, &src, QG_NOW, &d->m, &sink, &d->e);
  if (rc != POND_OK) {
    fprintf(stderr, "qy_eval_set failed: %d %s\n", rc, d->e.msg);
    return -1;
  }
  if (col.n != ng || memcmp(col.ids, d->got, ng * sizeof *d->got) != 0) {
    size_t k = 0;
    while (k < ng && k < col.n && col.ids[k] == d->got[k]) k++;
    fprintf(stderr, "%s sets of qy_eval_set and qy_eval_row differ for: %s\n  set %zu ids, "
            "row %zu; first difference at %zu (set %llu, row %llu)\n",
            truth == QY_TRUE ? "TRUE" : "UNKNOWN", text, col.n, ng, k,
            k < col.n ? (unsigned long long)col.ids[k] : 0ull,
            k < ng ? (unsigned long long)d->got[k] : 0ull);
    return -1;
  }
  if ((size_t)nw == ng && memcmp(d->want, d->got, ng * sizeof *d->got) == 0) return nw;
  size_t k = 0;
  while (k < ng && k < (size_t)nw && d->want[k] == d->got[k]) k++;
  fprintf(stderr, "%s sets differ for: %s\n  sql: %s\n  sqlite %ld ids, pond %zu; first "
          "difference at position %zu (sqlite %llu, pond %llu)\n",
          truth == QY_TRUE ? "TRUE" : "UNKNOWN", text, where, nw, ng, k,
          k < (size_t)nw ? (unsigned long long)d->want[k] : 0ull,
          k < ng ? (unsigned long long)d->got[k] : 0ull);
  return -1;
}

static void run_differential(uint64_t seed, long iters, size_t population) {
  uint64_t seed0 = seed;
  diff_env d;
  diff_env_init(&d, &seed, population);
  char text[16384];
  long checked = 0, nonempty = 0, unknowns = 0;
  for (long i = 0; i < iters; i++) {
    qg_query(seed * 1000003u + (uint64_t)i, text, sizeof text, 4);
    d.rows = (int)(i % 3);
    for (int fold = 0; fold < 2; fold++) {
      qy_query *q = NULL;
      int rc = qy_prepare(&d.m, &d.s, NULL, text, strlen(text), fold ? 0 : QY_NO_FOLD, &q, &d.e);
      if (rc != POND_OK) {
        fprintf(stderr, "iteration %ld: prepare failed: %s\n  %s\n", i, d.e.msg, text);
        CHECK(0);
        diff_env_free(&d);
        return;
      }
      char *where;
      size_t wn;
      rc = qy_to_sql(&d.m, q->root, QG_NOW, &where, &wn);
      REQUIRE(rc == POND_OK);
      long nt = compare_sets(&d, q, text, where, QY_TRUE);
      long nu = nt < 0 ? -1 : compare_sets(&d, q, text, where, QY_UNKNOWN);
      pc_free(&d.m, where, wn + 1);
      qy_query_free(q);
      if (nt < 0 || nu < 0) {
        fprintf(stderr, "iteration %ld (%s), replay with TH_SEED=%llu\n", i,
                fold ? "folded" : "as written", (unsigned long long)seed0);
        CHECK(0);
        diff_env_free(&d);
        return;
      }
      checked++;
      if (!fold) {
        nonempty += nt > 0 && (size_t)nt < d.p.n;
        unknowns += nu > 0;
      }
    }
  }
  printf("%ld query evaluations agreed with SQLite (TRUE and UNKNOWN sets); %ld of %ld "
         "queries select some but not all customers, %ld have UNKNOWN rows\n",
         checked, nonempty, iters, unknowns);
  /* a generator that only made trivial queries would prove little */
  CHECK(nonempty * 3 >= iters);
  CHECK(unknowns * 5 >= iters);
  CHECK_EQ(checked, 2 * iters);
  diff_env_free(&d);
  CHECK_EQ(atomic_load(&d.m.used), 0);
}

static void random_queries_select_the_same_customers_as_sqlite(void) {
  uint64_t seed = th_seed(0xd1ff);
  /* QUERY_DIFF_POP=30000 makes dense index chunks (slower) */
  run_differential(seed, th_env_long("QUERY_DIFF_ITERS", 2000),
                   (size_t)th_env_long("QUERY_DIFF_POP", 300));
}

/* With thousands of customers in a chunk, set evaluation scans the column
 * indexes instead of reading the few candidates one by one. */
static void random_queries_agree_on_a_population_that_takes_the_scan_paths(void) {
  uint64_t seed = th_seed(0xd1ff + 1);
  run_differential(seed, th_env_long("QUERY_DIFF_ITERS", 2000) / 10, 4000);
}

/* With tens of thousands of customers in a chunk, the column indexes hold
 * dense chunks (byte planes and their SIMD scans). */
static void random_queries_agree_on_a_population_with_dense_index_chunks(void) {
  uint64_t seed = th_seed(0xd1ff + 2);
  run_differential(seed, th_env_long("QUERY_DIFF_ITERS", 2000) / 50, 25000);
}

int main(void) {
  TH_RUN(random_queries_select_the_same_customers_as_sqlite);
  TH_RUN(random_queries_agree_on_a_population_that_takes_the_scan_paths);
  TH_RUN(random_queries_agree_on_a_population_with_dense_index_chunks);
  return th_done();
}
