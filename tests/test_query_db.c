/*
 * test_query_db.c — the query part through the real db and the public API,
 * against SQLite.
 *
 * A population is built with pond_* calls (definitions, upserts, tags,
 * attributes, events, messages) and, from an independent model of what
 * those calls mean, the same data goes into the SQLite tables of QUERY.md.
 * Random well-typed queries (test_query_gen.h, stage() and stage_since()
 * included: the db has the fake schema's two machines, customers move by
 * order.paid events and forced transitions) are prepared with pond_query_prepare and
 * evaluated with pond_query_eval; the SQL of each (qy_to_sql over the fake
 * schema of test_query_fake.h, whose segments have the same texts as the
 * db's) selects the customers SQLite says are TRUE. Both q and NOT (q) are
 * compared id for id, so the UNKNOWN rows (neither) agree too.
 * pond_query_test agrees with membership for sampled customers.
 *
 * Between rounds the data changes through the API (attribute sets and
 * clears, tag adds and removes, customer deletes and creations, events,
 * messages, a redefined segment, a dropped and redefined attribute,
 * committed and rolled-back transactions, queries evaluated inside a
 * transaction) while prepared queries stay alive: the lazily synced derived
 * indexes must follow every change and every rollback.
 *
 * Populations: dense (tens of thousands of consecutive ids: dense index
 * chunks, scan paths), sparse (ids spread over the 64-bit space, above 2^63
 * included: one customer per chunk), clustered (a few hundred per chunk:
 * candidate reads), and a small one that carries most queries.
 *
 * Default: 2,000 queries (each evaluated as q and NOT q, several times
 * across mutations). QUERY_DB_ITERS=100000 for the long mode (the queries
 * of the small population; the large ones get 1/17 each), TH_SEED to
 * replay; a failure prints the seed, the query, its SQL and the first
 * difference.
 */
#include <sqlite3.h>

#include "harness.h"
#include "query/qy.h"
#include "test_query_fake.h"
#include "test_query_gen.h"

#define NOW QG_NOW
#define NCTR 3
#define POOL 6 /* prepared queries kept alive across mutations */

static const char *const ctr_names[NCTR] = {"order.paid", "message", "link.opened"};

/* ------------------------------------------------------------- the model */

typedef struct mc {
  uint64_t cid;
  int alive;
  int64_t added_at, last_seen; /* last_seen: CU-style INT64_MIN = NULL */
  int null[FQ_NATTR];
  int64_t iv[FQ_NATTR];
  const char *sv[FQ_NATTR];
  uint32_t tags; /* bit t: fq_tags[t] */
  int64_t count[NCTR], last[NCTR];
  int stage[FQ_NMACHINES];      /* index into fq_states[m] */
  int64_t since[FQ_NMACHINES];  /* stage_since */
} mc;

typedef struct world {
  uint64_t rng;
  pond_db *db;
  sqlite3 *sq;
  mc *c;
  size_t n, cap;
  uint32_t tag_id[FQ_NTAGS];
  /* the fake schema gives the SQL; its segments follow the db's */
  fq_schema f;
  qy_schema s;
  pc_mem m;
  int vip_alt; /* which text segment vip_active has now */
  uint64_t *want, *wantf, *got;
  sqlite3_stmt *ins, *tins, *del, *tdel;
  long evals, nonempty, tests;
  int failed;
} world;

static unsigned rnd(world *w, unsigned n) { return (unsigned)(th_rand(&w->rng) % n); }

static int64_t rnd_time(world *w) {
  static const int64_t edges[] = {NOW, NOW - 30 * 86400, NOW - 86400, NOW + 12 * 3600,
                                  1767225599 /* 2025-12-31 23:59:59 */};
  if (rnd(w, 6) == 0) return edges[rnd(w, 5)];
  return NOW - 100 * 86400 + (int64_t)(th_rand(&w->rng) % (110 * 86400));
}

static int64_t rnd_value(world *w, int type) {
  switch (type) {
    case QY_T_INT:
      if (rnd(w, 10) == 0) return rnd(w, 2) ? INT64_MAX : INT64_MIN;
      return (int64_t)rnd(w, 26) - 5;
    case QY_T_TIME: return rnd_time(w);
    default: return (int64_t)rnd(w, 2);
  }
}

static const char *rnd_str(world *w) {
  return fq_str_values[rnd(w, (unsigned)(sizeof fq_str_values / sizeof *fq_str_values))];
}

/* ------------------------------------------------------------- sqlite */

static void sq_exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "sqlite: %s\n  in %s\n", err, sql);
    exit(2);
  }
}

static void sq_open(world *w) {
  char sql[4096], *q = sql;
  if (sqlite3_open(":memory:", &w->sq) != SQLITE_OK) exit(2);
  q += sprintf(q, "CREATE TABLE c(cid INTEGER PRIMARY KEY, added_at INTEGER, last_seen INTEGER");
  for (size_t a = 0; a < FQ_NATTR; a++)
    q += sprintf(q, ", \"%s\" %s", fq_attrs[a].name, fq_attrs[a].type == QY_T_STRING ? "TEXT" : "INTEGER");
  for (int k = 0; k < NCTR; k++)
    q += sprintf(q, ", \"count:%s\" INTEGER NOT NULL DEFAULT 0, \"last:%s\" INTEGER", ctr_names[k],
                 ctr_names[k]);
  for (int m = 0; m < FQ_NMACHINES; m++)
    q += sprintf(q, ", \"stage:%s\" TEXT, \"since:%s\" INTEGER", fq_machines[m], fq_machines[m]);
  sprintf(q, ")");
  sq_exec(w->sq, sql);
  sq_exec(w->sq, "CREATE TABLE t(cid INTEGER, tag TEXT, PRIMARY KEY(cid, tag))");
  sq_exec(w->sq, "PRAGMA case_sensitive_like = ON");
  q = sql + sprintf(sql, "INSERT INTO c VALUES(?");
  for (size_t i = 1; i < 3 + FQ_NATTR + 2 * NCTR + 2 * FQ_NMACHINES; i++) q += sprintf(q, ",?");
  sprintf(q, ")");
  if (sqlite3_prepare_v2(w->sq, sql, -1, &w->ins, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(w->sq, "INSERT INTO t VALUES(?, ?)", -1, &w->tins, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(w->sq, "DELETE FROM c WHERE cid = ?", -1, &w->del, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(w->sq, "DELETE FROM t WHERE cid = ?", -1, &w->tdel, NULL) != SQLITE_OK)
    exit(2);
}

static void sq_step(sqlite3_stmt *st) {
  if (sqlite3_step(st) != SQLITE_DONE) exit(2);
  sqlite3_reset(st);
}

/* Customer c's rows in SQLite := the model's (none when it is gone). */
static void sq_sync(world *w, const mc *c) {
  sqlite3_bind_int64(w->del, 1, (sqlite3_int64)c->cid);
  sq_step(w->del);
  sqlite3_bind_int64(w->tdel, 1, (sqlite3_int64)c->cid);
  sq_step(w->tdel);
  if (!c->alive) return;
  sqlite3_stmt *ins = w->ins;
  int k = 1;
  sqlite3_bind_int64(ins, k++, (sqlite3_int64)c->cid);
  sqlite3_bind_int64(ins, k++, c->added_at);
  if (c->last_seen == INT64_MIN) sqlite3_bind_null(ins, k++);
  else sqlite3_bind_int64(ins, k++, c->last_seen);
  for (size_t a = 0; a < FQ_NATTR; a++, k++) {
    if (c->null[a]) sqlite3_bind_null(ins, k);
    else if (fq_attrs[a].type == QY_T_STRING) sqlite3_bind_text(ins, k, c->sv[a], -1, SQLITE_STATIC);
    else sqlite3_bind_int64(ins, k, c->iv[a]);
  }
  for (int j = 0; j < NCTR; j++) {
    sqlite3_bind_int64(ins, k++, c->count[j]);
    if (c->count[j] == 0) sqlite3_bind_null(ins, k++);
    else sqlite3_bind_int64(ins, k++, c->last[j]);
  }
  for (int m = 0; m < FQ_NMACHINES; m++) {
    sqlite3_bind_text(ins, k++, fq_states[m][c->stage[m]], -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, k++, c->since[m]);
  }
  sq_step(ins);
  for (size_t t = 0; t < FQ_NTAGS; t++) {
    if (!(c->tags >> t & 1)) continue;
    sqlite3_bind_int64(w->tins, 1, (sqlite3_int64)c->cid);
    sqlite3_bind_text(w->tins, 2, fq_tags[t], -1, SQLITE_STATIC);
    sq_step(w->tins);
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* One scan of SQLite: the ids whose value of `where` is TRUE into
 * w->want[0..*nt), FALSE into w->wantf[0..*nf), each sorted as unsigned
 * (rowid order is signed: ids above 2^63 come first). */
static int sq_truth(world *w, const char *where, size_t *nt, size_t *nf) {
  size_t cap = strlen(where) + 64;
  char *sql = malloc(cap);
  snprintf(sql, cap, "SELECT cid, (%s) FROM c", where);
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(w->sq, sql, -1, &st, NULL);
  free(sql);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "sqlite prepare: %s\n  %s\n", sqlite3_errmsg(w->sq), where);
    return -1;
  }
  *nt = *nf = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_type(st, 1) == SQLITE_NULL) continue; /* UNKNOWN */
    uint64_t cid = (uint64_t)sqlite3_column_int64(st, 0);
    if (sqlite3_column_int64(st, 1)) w->want[(*nt)++] = cid;
    else w->wantf[(*nf)++] = cid;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return -1;
  for (int k = 0; k < 2; k++) {
    uint64_t *v = k ? w->wantf : w->want;
    size_t n = k ? *nf : *nt, i = 1;
    while (i < n && v[i - 1] < v[i]) i++;
    if (i < n) qsort(v, n, sizeof *v, cmp_u64);
  }
  return 0;
}

/* --------------------------------------------------- the db, by the API */

static const char *const VIP_TEXT[2] = {"spend >= 10000 AND last_seen >= now() - 30d",
                                        "spend >= 3 OR count('order.paid') >= 2"};

static void must(world *w, int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "%s: %d %s\n", what, rc, pond_errmsg(w->db));
    w->failed = 1;
    CHECK(0);
  }
}

static void define_all(world *w) {
  char doc[8192], *p = doc;
  p += sprintf(p, "{\"attributes\": [");
  for (size_t a = 0; a < FQ_NATTR; a++)
    p += sprintf(p, "%s{\"name\": \"%s\", \"type\": \"%s\"}", a ? ", " : "", fq_attrs[a].name,
                 qy_type_name(fq_attrs[a].type));
  p += sprintf(p, "], \"tag_groups\": [");
  for (size_t g = 0; g < FQ_COUNT(fq_groups); g++) {
    p += sprintf(p, "%s{\"name\": \"%s\", \"tags\": [", g ? ", " : "", fq_groups[g]);
    int first = 1;
    for (size_t t = 0; t < FQ_NTAGS; t++) {
      size_t gl = fq_group_len(fq_tags[t]);
      if (gl == strlen(fq_groups[g]) && memcmp(fq_tags[t], fq_groups[g], gl) == 0) {
        p += sprintf(p, "%s\"%s\"", first ? "" : ", ", fq_tags[t] + gl + 1);
        first = 0;
      }
    }
    p += sprintf(p, "]}");
  }
  p += sprintf(p, "], \"counters\": [\"order.paid\", \"message\", \"link.opened\"],"
                  " \"segments\": [{\"name\": \"vip_active\", \"where\": \"%s\"},"
                  " {\"name\": \"store_leads\", \"where\": \"tag('来源/门店扫码') AND NOT segment('vip_active')\"},"
                  " {\"name\": \"always\", \"where\": \"TRUE OR vip\"}],"
                  " \"machines\": [{\"name\": \"lifecycle\", \"initial\": \"new\","
                  " \"states\": [\"new\", \"intent\", \"paying\", \"repeat\", \"silent\", \"churned\"],"
                  " \"transitions\": [{\"from\": [\"new\", \"intent\"], \"to\": \"paying\", \"on\": \"order.paid\"}]},"
                  " {\"name\": \"service\", \"initial\": \"open\", \"states\": [\"open\", \"closed\"]}]}",
               VIP_TEXT[0]);
  must(w, pond_define(w->db, doc, POND_NTS), "define");
  for (size_t t = 0; t < FQ_NTAGS; t++) must(w, pond_tag_id(w->db, fq_tags[t], &w->tag_id[t]), "tag_id");
}

static void set_attr(world *w, mc *c, size_t a) {
  if (c->null[a]) {
    must(w, pond_attr_clear(w->db, c->cid, fq_attrs[a].name), "clear");
  } else if (fq_attrs[a].type == QY_T_STRING) {
    must(w, pond_attr_set_str(w->db, c->cid, fq_attrs[a].name, c->sv[a]), "set_str");
  } else {
    must(w, pond_attr_set_int(w->db, c->cid, fq_attrs[a].name, c->iv[a]), "set_int");
  }
}

/* One event of counter k (or, k < 0, an uncounted one) at ts, in both. */
static void activity(world *w, mc *c, int k, int64_t ts) {
  if (k == 1) must(w, pond_message(w->db, c->cid, "多少钱? how much", POND_NTS, ts), "message");
  else must(w, pond_event(w->db, c->cid, k < 0 ? "login" : ctr_names[k], ts), "event");
  if (ts > c->last_seen) c->last_seen = ts;
  if (k >= 0) {
    if (c->count[k] == 0 || ts > c->last[k]) c->last[k] = ts;
    c->count[k]++;
  }
  /* the lifecycle machine: new or intent -> paying on order.paid */
  if (k == 0 && c->stage[0] <= 1) {
    c->stage[0] = 2;
    c->since[0] = ts;
  }
}

/* Machine m of c forced into a random state at a random time, in both. */
static void move(world *w, mc *c) {
  int m = (int)rnd(w, FQ_NMACHINES), ns = m == 0 ? 6 : 2, s = (int)rnd(w, (unsigned)ns);
  int64_t ts = rnd_time(w);
  must(w, pond_transition_ex(w->db, c->cid, fq_machines[m], fq_states[m][s], ts, POND_FORCE), "transition");
  if (s != c->stage[m]) {
    c->stage[m] = s;
    c->since[m] = ts;
  }
}

/* A new customer cid: random values, made through the API. */
static void create(world *w, mc *c, uint64_t cid) {
  memset(c, 0, sizeof *c);
  c->cid = cid;
  c->alive = 1;
  c->added_at = rnd_time(w);
  c->last_seen = INT64_MIN;
  for (int m = 0; m < FQ_NMACHINES; m++) c->since[m] = c->added_at; /* initial states */
  must(w, pond_customer_upsert(w->db, cid, c->added_at), "upsert");
  for (size_t a = 0; a < FQ_NATTR; a++) {
    c->null[a] = rnd(w, 4) == 0;
    if (fq_attrs[a].type == QY_T_STRING) c->sv[a] = rnd_str(w);
    else c->iv[a] = rnd_value(w, fq_attrs[a].type);
    if (!c->null[a]) set_attr(w, c, a);
  }
  c->tags = (uint32_t)(th_rand(&w->rng) & th_rand(&w->rng)) & ((1u << FQ_NTAGS) - 1);
  for (size_t t = 0; t < FQ_NTAGS; t++)
    if (c->tags >> t & 1) must(w, pond_tag_add(w->db, cid, w->tag_id[t], c->added_at), "tag_add");
  if (rnd(w, 5) == 0) return; /* never active: last_seen NULL */
  for (int k = 0; k < NCTR; k++) {
    unsigned n = rnd(w, 3) == 0 ? 0 : rnd(w, 5);
    for (unsigned i = 0; i < n; i++) activity(w, c, k, rnd_time(w));
  }
  if (rnd(w, 2)) activity(w, c, -1, rnd_time(w));
  if (rnd(w, 3) == 0) move(w, c);
}

static mc *add_slot(world *w) {
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 1024;
    w->c = realloc(w->c, w->cap * sizeof *w->c);
    w->want = realloc(w->want, w->cap * sizeof *w->want);
    w->wantf = realloc(w->wantf, w->cap * sizeof *w->wantf);
    w->got = realloc(w->got, w->cap * sizeof *w->got);
  }
  return &w->c[w->n++];
}

static void world_open(world *w, uint64_t seed) {
  memset(w, 0, sizeof *w);
  w->rng = seed;
  pc_mem_init(&w->m, NULL, NULL, 0);
  fq_init(&w->f, &w->s);
  fq_add_segment(&w->f, "vip_active", VIP_TEXT[0]);
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  if (pond_open(&o, &w->db) != POND_OK) exit(2);
  sq_open(w);
  define_all(w);
}

static void world_close(world *w) {
  sqlite3_finalize(w->ins);
  sqlite3_finalize(w->tins);
  sqlite3_finalize(w->del);
  sqlite3_finalize(w->tdel);
  sqlite3_close(w->sq);
  pond_close(w->db);
  free(w->c);
  free(w->want);
  free(w->wantf);
  free(w->got);
}

/* ------------------------------------------------------------ populations */

enum { POP_SMALL, POP_DENSE, POP_SPARSE, POP_CLUSTERED };

static void populate(world *w, int kind, size_t n) {
  uint64_t *ids = malloc(n * sizeof *ids);
  for (size_t i = 0; i < n; i++) {
    uint64_t cid;
    switch (kind) {
      case POP_DENSE: cid = 10000 + i; break; /* one dense chunk */
      case POP_SPARSE:
        /* anywhere in 64 bits, a few right at chunk edges and above 2^63 */
        cid = i % 7 == 0 ? ((th_rand(&w->rng) >> 16) << 16) | (i % 2 ? 0xFFFF : 0) : th_rand(&w->rng);
        break;
      case POP_CLUSTERED:
        cid = ((uint64_t)(i % 40) << 20) + (th_rand(&w->rng) % 65536);
        break;
      default:
        /* a chunk's worth of ids with gaps, a few far away */
        cid = i < n - 3 ? 65000 + i * 3 : UINT64_MAX - (n - i) * 5;
        break;
    }
    ids[i] = cid;
  }
  /* created in id order, as a bulk import would (a bitmap grows at its end) */
  qsort(ids, n, sizeof *ids, cmp_u64);
  sq_exec(w->sq, "BEGIN");
  for (size_t i = 0; i < n; i++) {
    if (i && ids[i] == ids[i - 1]) continue; /* random collision */
    mc *c = add_slot(w);
    create(w, c, ids[i]);
    sq_sync(w, c);
  }
  sq_exec(w->sq, "COMMIT");
  free(ids);
}

/* A live customer of the model, or NULL. */
static mc *pick(world *w) {
  for (int tries = 0; tries < 8 && w->n; tries++) {
    mc *c = &w->c[rnd(w, (unsigned)w->n)];
    if (c->alive) return c;
  }
  return NULL;
}

/* One random change, in the db, the model and SQLite. */
static void mutate(world *w) {
  mc *c = pick(w);
  unsigned kind = rnd(w, 100);
  if (!c || kind < 5) {
    /* a new customer near the others, or a deleted one coming back */
    uint64_t cid = w->n && rnd(w, 2) ? w->c[rnd(w, (unsigned)w->n)].cid + 1 + rnd(w, 3) : th_rand(&w->rng);
    for (size_t i = 0; i < w->n; i++)
      if (w->c[i].cid == cid) {
        if (w->c[i].alive) return;
        create(w, &w->c[i], cid);
        sq_sync(w, &w->c[i]);
        return;
      }
    mc *d = add_slot(w);
    create(w, d, cid);
    sq_sync(w, d);
    return;
  }
  if (kind < 35) {
    size_t a = rnd(w, (unsigned)FQ_NATTR);
    c->null[a] = rnd(w, 4) == 0;
    if (fq_attrs[a].type == QY_T_STRING) c->sv[a] = rnd_str(w);
    else c->iv[a] = rnd_value(w, fq_attrs[a].type);
    set_attr(w, c, a);
  } else if (kind < 60) {
    size_t t = rnd(w, (unsigned)FQ_NTAGS);
    if (c->tags >> t & 1) must(w, pond_tag_remove(w->db, c->cid, w->tag_id[t], NOW), "tag_remove");
    else must(w, pond_tag_add(w->db, c->cid, w->tag_id[t], NOW), "tag_add");
    c->tags ^= 1u << t;
  } else if (kind < 78) {
    activity(w, c, (int)rnd(w, NCTR + 1) - 1, rnd_time(w));
  } else if (kind < 85) {
    move(w, c);
  } else {
    must(w, pond_customer_delete(w->db, c->cid), "delete");
    c->alive = 0;
  }
  sq_sync(w, c);
}

/* Changes to the definitions that queries must follow. */
static void redefine(world *w) {
  if (rnd(w, 2)) {
    /* another text for vip_active (store_leads uses it) */
    w->vip_alt ^= 1;
    char doc[512];
    snprintf(doc, sizeof doc, "{\"segments\": [{\"name\": \"vip_active\", \"where\": \"%s\"}]}",
             VIP_TEXT[w->vip_alt]);
    must(w, pond_define(w->db, doc, POND_NTS), "define segment");
    fq_add_segment(&w->f, "vip_active", VIP_TEXT[w->vip_alt]);
  } else {
    /* score dropped and declared again: every value is gone */
    must(w, pond_define(w->db, "{\"drop\": [{\"attribute\": \"score\"}],"
                               " \"attributes\": [{\"name\": \"score\", \"type\": \"int\"}]}", POND_NTS),
         "define attribute");
    size_t a = 1; /* fq_attrs[1] is score */
    for (size_t i = 0; i < w->n; i++)
      if (w->c[i].alive && !w->c[i].null[a]) {
        w->c[i].null[a] = 1;
        sq_sync(w, &w->c[i]);
      }
  }
}

/* --------------------------------------------------------------- checking */

typedef struct live_q {
  char text[8192];
  pond_query *q, *nq; /* q and NOT (q) */
} live_q;

/* pond's result for q (prepared from text) against the ids SQLite gives
 * (want[0..nw)); pond_query_test sampled. Returns 0 when they agree. */
static int agree(world *w, const char *text, pond_query *q, const uint64_t *want, size_t nw) {
  pond_set *s = NULL;
  int rc = pond_query_eval(q, NOW, &s);
  int bad = 0;
  if (rc != POND_OK) {
    fprintf(stderr, "eval failed: %d %s\n", rc, pond_errmsg(w->db));
    bad = 1;
  } else {
    size_t ng = pond_set_page(s, 0, w->got, w->cap);
    if (ng != nw || pond_set_count(s) != ng || memcmp(w->got, want, ng * sizeof *w->got)) {
      size_t k = 0;
      while (k < ng && k < nw && w->got[k] == want[k]) k++;
      fprintf(stderr, "sets differ: sqlite %zu ids, pond %zu; first difference at %zu (sqlite %llu, pond %llu)\n",
              nw, ng, k, k < nw ? (unsigned long long)want[k] : 0ull, k < ng ? (unsigned long long)w->got[k] : 0ull);
      bad = 1;
    }
    w->nonempty += ng > 0;
    /* pond_query_count counts the same (its own paths: counting words,
     * or bitmap algebra for tag-only queries) */
    uint64_t cnt = UINT64_MAX;
    if (pond_query_count(q, NOW, &cnt) != POND_OK || cnt != ng) {
      fprintf(stderr, "pond_query_count = %llu, the set has %zu\n", (unsigned long long)cnt, ng);
      bad = 1;
    }
    /* single-customer tests agree with membership: members, then others */
    for (int i = 0; i < 12 && !bad; i++) {
      uint64_t cid;
      if (i < 6 && ng) cid = w->got[rnd(w, (unsigned)ng)];
      else {
        mc *c = pick(w);
        if (!c) break;
        cid = c->cid;
      }
      int t = pond_query_test(q, cid, NOW);
      w->tests++;
      if (t != pond_set_contains(s, cid)) {
        fprintf(stderr, "pond_query_test(%llu) = %d, but eval says %d\n", (unsigned long long)cid, t,
                pond_set_contains(s, cid));
        bad = 1;
      }
    }
  }
  if (bad) fprintf(stderr, "query: %s\n", text);
  w->evals++;
  pond_set_free(s);
  return bad ? -1 : 0;
}

/* An AND of tags, NOT tags and group wildcards (the bitmap-algebra path of
 * pond_query_eval / pond_query_count), now and then with something else
 * mixed in (which must take the general path). */
static void tag_algebra_query(uint64_t seed, char *out, size_t cap) {
  static const char *const groups[] = {"tag('意向/*')", "tag('来源/*')", "tag('vip/*')", "tag('活动/*')"};
  unsigned n = 1 + (unsigned)(th_rand(&seed) % 5);
  size_t w = 0;
  for (unsigned i = 0; i < n; i++) {
    unsigned r = (unsigned)(th_rand(&seed) % 16);
    const char *sep = i ? " AND " : "";
    if (r < 9) w += (size_t)snprintf(out + w, cap - w, "%s%stag('%s')", sep, i && r < 4 ? "NOT " : "",
                                     fq_tags[th_rand(&seed) % FQ_NTAGS]);
    else if (r < 13) w += (size_t)snprintf(out + w, cap - w, "%s%s%s", sep, r == 12 && i ? "NOT " : "", groups[r % 4]);
    else if (r < 14) w += (size_t)snprintf(out + w, cap - w, "%ssegment('always')", sep);
    else w += (size_t)snprintf(out + w, cap - w, "%s(tag('vip/gold') OR spend > 3)", sep);
  }
}

static int prepare_live(world *w, live_q *l, uint64_t qseed) {
  if (qseed % 5 == 0) tag_algebra_query(qseed, l->text, sizeof l->text - 16);
  else qg_query_ex(qseed, l->text, sizeof l->text - 16, 4, 0);
  char neg[8300];
  snprintf(neg, sizeof neg, "NOT (%s)", l->text);
  if (pond_query_prepare(w->db, l->text, POND_NTS, &l->q) != POND_OK ||
      pond_query_prepare(w->db, neg, POND_NTS, &l->nq) != POND_OK) {
    fprintf(stderr, "prepare failed: %s\n  %s\n", pond_errmsg(w->db), l->text);
    w->failed = 1;
    return -1;
  }
  return 0;
}

static void free_live(live_q *l) {
  pond_query_free(l->q);
  pond_query_free(l->nq);
  l->q = l->nq = NULL;
}

/* q's TRUE set and NOT (q)'s (SQLite's FALSE rows) agree with one scan of
 * SQLite over the equivalent WHERE clause (from the fake schema's tree). */
static int check_live(world *w, live_q *l, uint64_t seed) {
  qy_query *fq = NULL;
  pc_err e;
  char *where = NULL;
  size_t wn = 0, nt, nf;
  int rc = qy_prepare(&w->m, &w->s, NULL, l->text, strlen(l->text), 0, &fq, &e);
  if (rc == POND_OK) rc = qy_to_sql(&w->m, fq->root, NOW, &where, &wn);
  qy_query_free(fq);
  if (rc != POND_OK) {
    fprintf(stderr, "fake prepare failed: %s\n  %s\n", e.msg, l->text);
    rc = -1;
  } else if (sq_truth(w, where, &nt, &nf) < 0) {
    rc = -1;
  } else {
    char neg[8300];
    snprintf(neg, sizeof neg, "NOT (%s)", l->text);
    rc = agree(w, l->text, l->q, w->want, nt);
    if (rc == 0) rc = agree(w, neg, l->nq, w->wantf, nf);
  }
  if (rc < 0) {
    fprintf(stderr, "  sql: %s\n  replay with TH_SEED=%llu\n", where ? where : "?",
            (unsigned long long)seed);
    w->failed = 1;
  }
  if (where) pc_free(&w->m, where, wn + 1);
  return rc;
}

/*
 * Runs `queries` fresh queries over population kind/n. Every query is
 * checked when prepared; POOL of them stay alive and are checked again
 * after each round of mutations (every 8 queries), inside transactions and
 * after their commit or rollback.
 */
static void run(int kind, size_t n, long queries, uint64_t seed) {
  world w;
  world_open(&w, seed);
  populate(&w, kind, n);
  live_q *pool = calloc(POOL, sizeof *pool);
  long made = 0;
  for (int i = 0; i < POOL && !w.failed; i++)
    if (prepare_live(&w, &pool[i], seed * 7919 + (uint64_t)made++) == 0) check_live(&w, &pool[i], seed);
  while (made < queries && !w.failed) {
    /* a round: replace one pooled query, then change data and recheck */
    int slot = (int)rnd(&w, POOL);
    free_live(&pool[slot]);
    if (prepare_live(&w, &pool[slot], seed * 7919 + (uint64_t)made++) < 0) break;
    if (check_live(&w, &pool[slot], seed) < 0) break;
    if (made % 8) continue;
    unsigned r = rnd(&w, 10);
    int txn = r < 3;
    mc *snap = NULL;
    size_t snap_n = 0;
    if (txn) {
      must(&w, pond_begin(w.db), "begin");
      sq_exec(w.sq, "BEGIN");
      snap = malloc(w.n * sizeof *snap + 1);
      memcpy(snap, w.c, w.n * sizeof *snap);
      snap_n = w.n;
    }
    unsigned muts = 1 + rnd(&w, 40);
    for (unsigned k = 0; k < muts; k++) mutate(&w);
    if (r == 9) redefine(&w);
    for (int i = 0; i < POOL && !w.failed; i++) check_live(&w, &pool[i], seed);
    if (txn) {
      if (r == 0) {
        must(&w, pond_commit(w.db), "commit");
        sq_exec(w.sq, "COMMIT");
      } else {
        must(&w, pond_rollback(w.db), "rollback");
        sq_exec(w.sq, "ROLLBACK");
        memcpy(w.c, snap, snap_n * sizeof *snap);
        w.n = snap_n;
        /* a redefinition cannot be inside: r < 3 */
      }
      free(snap);
      for (int i = 0; i < POOL && !w.failed; i++) check_live(&w, &pool[i], seed);
    }
  }
  for (int i = 0; i < POOL; i++) free_live(&pool[i]);
  free(pool);
  CHECK(!w.failed);
  size_t alive = 0;
  for (size_t i = 0; i < w.n; i++) alive += w.c[i].alive;
  CHECK_EQ(pond_customer_count(w.db), alive);
  printf("  %ld queries, %ld evaluations (q and NOT q) agreed with SQLite over %zu customers; "
         "%ld non-empty, %ld pond_query_test samples\n",
         made, w.evals, alive, w.nonempty, w.tests);
  /* a generator that only made empty results would prove little */
  CHECK(w.nonempty * 4 >= w.evals);
  world_close(&w);
}

/* Queries of the small population; the three large ones get 1/17 each
 * (2,000 in all by default). */
static long iters(void) { return th_env_long("QUERY_DB_ITERS", 1700); }

static void small_population_with_mutations_and_transactions(void) {
  run(POP_SMALL, 1500, iters(), th_seed(0xdb01));
}

static void dense_ids_take_the_scan_paths_and_dense_chunks(void) {
  run(POP_DENSE, 45000, iters() / 17, th_seed(0xdb02));
}

static void sparse_ids_over_the_whole_id_space(void) {
  run(POP_SPARSE, 10000, iters() / 17, th_seed(0xdb03));
}

static void clustered_ids_read_candidates(void) {
  run(POP_CLUSTERED, 10000, iters() / 17, th_seed(0xdb04));
}

int main(void) {
  TH_RUN(small_population_with_mutations_and_transactions);
  TH_RUN(dense_ids_take_the_scan_paths_and_dense_chunks);
  TH_RUN(sparse_ids_over_the_whole_id_space);
  TH_RUN(clustered_ids_read_candidates);
  return th_done();
}
