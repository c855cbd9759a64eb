/*
 * bench_store.c — pond on its file store against SQLite, in one run.
 *
 *   ./build/bench/bench_store                   (about a minute)
 *   BENCH_STORE_N=10000000 ./build/bench/bench_store   (adds the 10M open)
 *
 * 1. Durable tag adds (every commit fdatasync'ed before it returns), in
 *    batches of 1, 100 and 10,000, through the db on the file store
 *    (pond_open_path, no POND_NOSYNC) over 200,000 existing customers, each
 *    add a new (customer, tag) pair:
 *      calls   — batch 1: one pond_tag_add (its own transaction); batch b:
 *                pond_begin, b pond_tag_add, pond_commit
 *      many    — one pond_tag_add_many of b customers
 *    against SQLite 3 (WAL, synchronous=FULL: the WAL is synced at every
 *    commit, the same durability) doing the same inserts, one transaction
 *    per batch, into an indexed tag table
 *      t(cid, tag, ts, PRIMARY KEY(cid, tag)) WITHOUT ROWID + INDEX (tag, cid)
 *    pre-filled with one row per customer. For reference, the raw file store
 *    (pond_storage commits of 30-byte values) at the same batch sizes.
 * 2. N customers (default 1,000,000) with 10 tags each (of 1,000), loaded
 *    with POND_NOSYNC in transactions of 10,000 customers, then compacted:
 *    bytes on disk per customer, open time (pond_open_path: replay, scan,
 *    decode, bitmaps; best of 3, page cache warm), of which the file store's
 *    own replay + scan, and memory per customer after open. SQLite's file for
 *    the same N x 10 rows (up to 2M customers; BENCH_STORE_SQLITE_N to
 *    change).
 * Files go to $TMPDIR (or /tmp) and are removed. Results are printed as
 * markdown tables (bench/README.md, "storage").
 */
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pond.h"
#include "store/filestore.h"

#define CUSTOMERS 200000u
#define ROUNDS 5
#define NTAGS 64

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long env_long(const char *name, long dflt) {
  const char *s = getenv(name);
  return s ? strtol(s, NULL, 0) : dflt;
}

static void die(const char *what, const char *msg) {
  fprintf(stderr, "bench_store: %s: %s\n", what, msg);
  exit(1);
}

static uint64_t dir_bytes(const char *dir) {
  DIR *d = opendir(dir);
  uint64_t n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (e->d_name[0] != '.' && stat(p, &st) == 0) n += (uint64_t)st.st_size;
  }
  if (d) closedir(d);
  return n;
}

static void rmtree(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  if (d) closedir(d);
  rmdir(dir);
}

/* The k-th add: every customer gets tag 0, then every customer tag 1, …,
 * customers in a scrambled order (a permutation of 0..CUSTOMERS-1). */
static void nth_add(uint64_t k, uint32_t *tag, uint64_t *cid) {
  *tag = (uint32_t)(k / CUSTOMERS);
  *cid = (k % CUSTOMERS) * 7919u % CUSTOMERS;
}

/* --------------------------------------------------------- 1. durable adds */

typedef struct pondb {
  pond_db *db;
  uint32_t tags[NTAGS];
} pondb;

static void pond_setup(const char *dir, pondb *p) {
  pond_db *db;
  if (pond_open_path(dir, POND_NOSYNC, &db)) die("open", pond_errmsg(NULL));
  if (pond_define(db, "{\"tag_groups\": [{\"name\": \"t\"}]}", POND_NTS)) die("define", pond_errmsg(db));
  char name[32];
  for (int t = 0; t < NTAGS; t++) {
    snprintf(name, sizeof name, "t/%d", t);
    if (pond_tag_id(db, name, &p->tags[t])) die("tag_id", pond_errmsg(db));
  }
  pond_begin(db);
  for (uint64_t c = 0; c < CUSTOMERS; c++) pond_customer_upsert(db, c, 1700000000);
  if (pond_commit(db)) die("load", pond_errmsg(db));
  if (pond_compact(db)) die("compact", pond_errmsg(db));
  pond_close(db);
  if (pond_open_path(dir, 0, &p->db)) die("reopen", pond_errmsg(NULL)); /* durable from here */
}

/* Seconds for `commits` batches of b adds from add number *next on. */
static double pond_adds(pondb *p, int many, size_t b, long commits, uint64_t *next) {
  static uint64_t ids[10000];
  double t0 = now();
  for (long c = 0; c < commits; c++) {
    if (many) {
      uint32_t tag = 0;
      for (size_t i = 0; i < b; i++) nth_add((*next)++, &tag, &ids[i]);
      /* one tag per batch: b divides CUSTOMERS */
      if (pond_tag_add_many(p->db, p->tags[tag], ids, b, 1700000001)) die("add_many", pond_errmsg(p->db));
      continue;
    }
    if (b > 1 && pond_begin(p->db)) die("begin", pond_errmsg(p->db));
    for (size_t i = 0; i < b; i++) {
      uint32_t tag;
      uint64_t cid;
      nth_add((*next)++, &tag, &cid);
      if (pond_tag_add(p->db, cid, p->tags[tag], 1700000001)) die("tag_add", pond_errmsg(p->db));
    }
    if (b > 1 && pond_commit(p->db)) die("commit", pond_errmsg(p->db));
  }
  return now() - t0;
}

typedef struct sq {
  sqlite3 *db;
  sqlite3_stmt *ins;
} sq;

static void sq_exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) die(sql, err ? err : "?");
}

static void sq_setup(const char *path, sq *s) {
  if (sqlite3_open(path, &s->db)) die("sqlite open", sqlite3_errmsg(s->db));
  sq_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
                 "CREATE TABLE t(cid INTEGER, tag INTEGER, ts INTEGER, PRIMARY KEY(cid, tag)) WITHOUT ROWID;"
                 "CREATE INDEX t_tag ON t(tag, cid);");
  if (sqlite3_prepare_v2(s->db, "INSERT INTO t VALUES (?1, ?2, ?3)", -1, &s->ins, NULL))
    die("sqlite prepare", sqlite3_errmsg(s->db));
  sq_exec(s->db, "BEGIN");
  for (uint64_t c = 0; c < CUSTOMERS; c++) {
    sqlite3_bind_int64(s->ins, 1, (int64_t)c);
    sqlite3_bind_int64(s->ins, 2, 1000000);
    sqlite3_bind_int64(s->ins, 3, 1700000000);
    sqlite3_step(s->ins);
    sqlite3_reset(s->ins);
  }
  sq_exec(s->db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA synchronous=FULL;");
}

static double sq_adds(sq *s, size_t b, long commits, uint64_t *next) {
  double t0 = now();
  for (long c = 0; c < commits; c++) {
    sq_exec(s->db, "BEGIN");
    for (size_t i = 0; i < b; i++) {
      uint32_t tag;
      uint64_t cid;
      nth_add((*next)++, &tag, &cid);
      sqlite3_bind_int64(s->ins, 1, (int64_t)cid);
      sqlite3_bind_int64(s->ins, 2, tag);
      sqlite3_bind_int64(s->ins, 3, 1700000001);
      if (sqlite3_step(s->ins) != SQLITE_DONE) die("sqlite insert", sqlite3_errmsg(s->db));
      sqlite3_reset(s->ins);
    }
    sq_exec(s->db, "COMMIT");
  }
  return now() - t0;
}

/* The raw file store: commits of b records (9-byte keys, 30-byte values);
 * seconds. */
static double raw_adds(const char *dir, size_t b, long commits, uint64_t *next) {
  static pond_kv ops[10000];
  static uint8_t keys[10000][9];
  static const char val[] = "raw file store record, 30 byte";
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pond_storage s;
  pc_err e;
  if (st_file_open(&m, dir, 0, NULL, &s, &e)) die("raw open", e.msg);
  double t0 = now();
  uint64_t id = *next;
  for (long c = 0; c < commits; c++) {
    for (size_t i = 0; i < b; i++, id++) {
      keys[i][0] = 'c';
      for (int k = 0; k < 8; k++) keys[i][1 + k] = (uint8_t)(id >> (56 - 8 * k));
      ops[i] = (pond_kv){keys[i], 9, val, 30};
    }
    if (s.commit(s.ctx, ops, b)) die("raw commit", s.errmsg(s.ctx));
  }
  double r = now() - t0;
  *next = id;
  s.close(s.ctx);
  return r;
}

static void durable(const char *root) {
  static const size_t batch[] = {1, 100, 10000};
  static const long commits[] = {1500, 300, 40};
  char dir[600], path[700], raw[700];
  snprintf(dir, sizeof dir, "%s/durable", root);
  snprintf(path, sizeof path, "%s/durable.sqlite", root);
  snprintf(raw, sizeof raw, "%s/raw", root);
  pondb p;
  sq s;
  pond_setup(dir, &p);
  sq_setup(path, &s);
  uint64_t next_calls = 0, next_sq = 0;
  /* add_many batches use tags NTAGS/2.. so they never meet the calls' adds */
  uint64_t next_many = (uint64_t)CUSTOMERS * (NTAGS / 2);
  printf("## durable tag adds (fdatasync per commit), adds/s, %u customers\n\n", CUSTOMERS);
  printf("| batch | pond: pond_tag_add calls | pond: pond_tag_add_many | SQLite WAL FULL, indexed tag table | calls / SQLite | many / SQLite | raw file store commits |\n");
  printf("|---:|---:|---:|---:|---:|---:|---:|\n");
  /* fdatasync latency drifts with what else the machine's disk does:
   * the contenders take turns, ROUNDS times, and their times are summed. */
  uint64_t next_raw = 0;
  for (int k = 0; k < 3; k++) {
    double tc = 0, tm = 0, ts = 0, tr = 0;
    long per = commits[k] / ROUNDS;
    for (int round = 0; round < ROUNDS; round++) {
      tc += pond_adds(&p, 0, batch[k], per, &next_calls);
      if (batch[k] > 1) tm += pond_adds(&p, 1, batch[k], per, &next_many);
      ts += sq_adds(&s, batch[k], per, &next_sq);
      tr += raw_adds(raw, batch[k], per, &next_raw);
    }
    rmtree(raw);
    double n = (double)batch[k] * (double)(per * ROUNDS);
    double calls = n / tc, many = batch[k] > 1 ? n / tm : calls, sql = n / ts, r = n / tr;
    printf("| %zu | %.0f | %.0f | %.0f | %.2fx | %.2fx | %.0f |\n", batch[k], calls, many, sql,
           calls / sql, many / sql, r);
    fflush(stdout);
  }
  printf("\n(batch 1: pond_tag_add_many of one customer is the same call path as one pond_tag_add)\n");
  pond_close(p.db);
  sqlite3_finalize(s.ins);
  sqlite3_close(s.db);
  rmtree(dir);
  unlink(path);
  char wal[800];
  snprintf(wal, sizeof wal, "%s-wal", path);
  unlink(wal);
  snprintf(wal, sizeof wal, "%s-shm", path);
  unlink(wal);
}

/* ------------------------------------------------------ 2. open and size */

static int count_each(void *arg, const pond_kv *kv) {
  (void)kv;
  ++*(uint64_t *)arg;
  return 0;
}

static void build(const char *dir, long n) {
  pond_db *db;
  if (pond_open_path(dir, POND_NOSYNC, &db)) die("open", pond_errmsg(NULL));
  if (pond_define(db, "{\"tag_groups\": [{\"name\": \"t\"}]}", POND_NTS)) die("define", pond_errmsg(db));
  static uint32_t tags[1000];
  char name[32];
  for (int t = 0; t < 1000; t++) {
    snprintf(name, sizeof name, "t/%d", t);
    if (pond_tag_id(db, name, &tags[t])) die("tag_id", pond_errmsg(db));
  }
  for (long c = 0; c < n; c += 10000) {
    pond_begin(db);
    for (long i = c; i < c + 10000 && i < n; i++) {
      pond_customer_upsert(db, (uint64_t)i, 1700000000 + i % 86400);
      for (int j = 0; j < 10; j++) pond_tag_add(db, (uint64_t)i, tags[(i + j * 101) % 1000], 1700000000 + i % 86400 + j);
    }
    if (pond_commit(db)) die("commit", pond_errmsg(db));
  }
  if (pond_compact(db)) die("compact", pond_errmsg(db));
  pond_close(db);
}

static void open_and_size(const char *root, long n) {
  char dir[600];
  snprintf(dir, sizeof dir, "%s/open-%ld", root, n);
  double t0 = now();
  build(dir, n);
  double tb = now() - t0;
  uint64_t bytes = dir_bytes(dir);
  double best = 1e9, raw = 1e9;
  size_t mem = 0;
  uint64_t count = 0;
  for (int r = 0; r < 3; r++) {
    pond_db *db;
    t0 = now();
    if (pond_open_path(dir, 0, &db)) die("open", pond_errmsg(NULL));
    double t = now() - t0;
    if (t < best) best = t;
    mem = pond_memory_used(db);
    count = pond_customer_count(db);
    pond_close(db);
    pc_mem m;
    pc_mem_init(&m, NULL, NULL, 0);
    pond_storage s;
    pc_err e;
    t0 = now();
    if (st_file_open(&m, dir, 0, NULL, &s, &e)) die("raw open", e.msg);
    uint64_t seen = 0;
    s.scan(s.ctx, "", 0, count_each, &seen);
    t = now() - t0;
    if (t < raw) raw = t;
    s.close(s.ctx);
  }
  printf("| %ld | %.0f | %.3f | %.3f | %.0f | %.1f s |\n", n, (double)bytes / (double)n, best, raw,
         (double)mem / (double)n, tb);
  if (count != (uint64_t)n) printf("  (opened %llu customers!)\n", (unsigned long long)count);
  fflush(stdout);
  rmtree(dir);
}

static void sqlite_size(const char *root, long n) {
  char path[700];
  snprintf(path, sizeof path, "%s/size.sqlite", root);
  sqlite3 *db;
  sqlite3_stmt *ins;
  if (sqlite3_open(path, &db)) die("sqlite", sqlite3_errmsg(db));
  sq_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
              "CREATE TABLE t(cid INTEGER, tag INTEGER, ts INTEGER, PRIMARY KEY(cid, tag)) WITHOUT ROWID;"
              "CREATE INDEX t_tag ON t(tag, cid); BEGIN;");
  sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?1, ?2, ?3)", -1, &ins, NULL);
  for (long i = 0; i < n; i++)
    for (int j = 0; j < 10; j++) {
      sqlite3_bind_int64(ins, 1, i);
      sqlite3_bind_int64(ins, 2, (i + j * 101) % 1000);
      sqlite3_bind_int64(ins, 3, 1700000000 + i % 86400 + j);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
  sqlite3_finalize(ins);
  sq_exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);");
  sqlite3_close(db);
  struct stat st;
  stat(path, &st);
  printf("| SQLite, %ld customers x 10 tags | %.0f bytes per customer (tag table with both indexes) |\n", n,
         (double)st.st_size / (double)n);
  unlink(path);
}

int main(void) {
  const char *t = getenv("TMPDIR");
  char root[512];
  snprintf(root, sizeof root, "%s/pond-bench-XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(root)) return 1;
  durable(root);
  long big = env_long("BENCH_STORE_N", 1000000);
  printf("\n## open: customers with 10 tags each (of 1,000), file store compacted, page cache warm\n\n");
  printf("| customers | bytes on disk per customer | pond_open_path s (best of 3) | of which file store replay + scan s | memory bytes per customer | build (NOSYNC) |\n");
  printf("|---:|---:|---:|---:|---:|---:|\n");
  open_and_size(root, 1000000);
  if (big != 1000000) open_and_size(root, big);
  printf("\n| | |\n|---|---|\n");
  sqlite_size(root, env_long("BENCH_STORE_SQLITE_N", 1000000));
  rmtree(root);
  return 0;
}
