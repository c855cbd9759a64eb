/*
 * api.c — pond_query_prepare / eval / test / free.
 *
 * A pond_query keeps its text and the definitions it was checked against;
 * when pond_define has published other definitions since, the next eval or
 * test prepares the text again (like SQLite re-preparing a statement after
 * a schema change), so ids never outlive the names they stood for. Every
 * call runs under the db's lock: evaluations of several queries on one db
 * are serialized, and see a consistent state.
 */
#include <string.h>

#include "db/db.h"
#include "query/qydb.h"
#include "set.h"

struct pond_query {
  pond_db *db;
  qy_query *q;
  uint64_t gen; /* db->defs_gen when q was checked (a pointer could be reused) */
  char *text;
  size_t len;
};

static int prepare(pond_db *db, const char *text, size_t len, qy_query **out) {
  qy_dbschema ctx = {db, db->defs, NULL, NULL, NULL};
  qy_schema s;
  qy_db_schema(&ctx, &s);
  return qy_prepare(&db->mem, &s, &db->lim, text, len, 0, out, &db->err);
}

/* Re-prepares q when the definitions changed since it was prepared. */
static int current(pond_query *q) {
  pond_db *db = q->db;
  if (q->gen == db->defs_gen) return POND_OK;
  qy_query *nq;
  POND_TRY(prepare(db, q->text, q->len, &nq));
  qy_query_free(q->q);
  q->q = nq;
  q->gen = db->defs_gen;
  return POND_OK;
}

int pond_query_prepare(pond_db *db, const char *expr, size_t len, pond_query **out) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  int rc;
  pond_query *q = NULL;
  if (!out || (!expr && len)) {
    rc = pc_errf(&db->err, POND_EINVAL, "query: expr and out must not be NULL");
    goto done;
  }
  if (!expr) expr = "";
  if (len == POND_NTS) len = strlen(expr);
  q = pc_calloc(&db->mem, sizeof *q);
  if (!q) {
    rc = pc_errf(&db->err, POND_ENOMEM, "query: out of memory");
    goto done;
  }
  q->db = db;
  rc = prepare(db, expr, len, &q->q);
  if (rc < 0) goto done;
  q->text = pc_strndup(&db->mem, expr, len);
  if (!q->text) {
    rc = pc_errf(&db->err, POND_ENOMEM, "query: out of memory");
    goto done;
  }
  q->len = len;
  q->gen = db->defs_gen;
  *out = q;
  q = NULL;
done:
  if (q) {
    qy_query_free(q->q);
    pc_free(&db->mem, q, sizeof *q);
  }
  return db_unlock(db, rc);
}

void pond_query_free(pond_query *q) {
  if (!q) return;
  pond_db *db = q->db;
  db_lock(db);
  qy_query_free(q->q);
  pc_free(&db->mem, q->text, q->len + 1);
  pc_free(&db->mem, q, sizeof *q);
  db_unlock(db, POND_OK);
}

int pond_query_test(pond_query *q, uint64_t cid, int64_t now) {
  if (!q) return POND_EINVAL;
  pond_db *db = q->db;
  db_lock(db);
  int rc = current(q);
  if (rc >= 0) {
    const cu_rec *r = db_cust(db, cid);
    if (!r) {
      rc = db_no_cust(db, cid);
    } else {
      qy_dbrow ctx = {db, r};
      qy_row row;
      qy_db_row(&ctx, cid, &row);
      rc = qy_test(q->q, &row, now);
      if (rc < 0 && !db->err.msg[0]) pc_errf(&db->err, rc, "query: evaluation failed");
    }
  }
  return db_unlock(db, rc);
}

/* Builds (or brings up to date) every index column the tree reads, so that
 * the evaluation itself cannot fail for want of one. */
static int need_columns(pond_db *db, const qy_node *n) {
  qy_dbcol *c;
  switch (n->kind) {
    case QY_AND:
    case QY_OR:
      for (uint32_t i = 0; i < n->n; i++) POND_TRY(need_columns(db, n->kids[i]));
      return POND_OK;
    case QY_NOT:
    case QY_SEGMENT:
    case QY_BOOLCOL:
      return need_columns(db, n->a);
    case QY_CMP:
    case QY_IN:
    case QY_BETWEEN:
    case QY_LIKE:
    case QY_ISNULL:
      POND_TRY(need_columns(db, n->a));
      if (n->b) POND_TRY(need_columns(db, n->b));
      if (n->c) POND_TRY(need_columns(db, n->c));
      return POND_OK;
    case QY_COLUMN:
      if (n->op == QY_COL_ATTR || n->op == QY_COL_ADDED_AT || n->op == QY_COL_LAST_SEEN ||
          n->op == QY_COL_COUNT || n->op == QY_COL_LAST || n->op == QY_COL_STAGE ||
          n->op == QY_COL_SINCE)
        return qy_dbidx_column(db, n->op, n->id, &c);
      return POND_OK;
    default:
      return POND_OK;
  }
}

/* Appends each chunk's TRUE customers to the result bitmap. */
typedef struct collect {
  pc_mem *m;
  bm out;
} collect;

static int emit(void *arg, uint64_t key, const uint64_t *t, const uint64_t *u) {
  collect *c = arg;
  (void)u;
  return bm_append_words(c->m, &c->out, key, t);
}

static int emit_slots(void *arg, uint64_t key, const uint16_t *t, uint32_t nt, const uint16_t *u,
                      uint32_t nu) {
  collect *c = arg;
  (void)u;
  (void)nu;
  for (uint32_t i = 0; i < nt; i++)
    if (bm_add(c->m, &c->out, key << 16 | t[i]) < 0) return POND_ENOMEM;
  return POND_OK;
}

/* Counting only: the TRUE customers of each chunk. */
static int count_chunk(void *arg, uint64_t key, const uint64_t *t, const uint64_t *u) {
  (void)key;
  (void)u;
  *(uint64_t *)arg += qy_popcount_words(t, QY_CHUNK_WORDS);
  return POND_OK;
}

static int count_slots(void *arg, uint64_t key, const uint16_t *t, uint32_t nt, const uint16_t *u,
                       uint32_t nu) {
  (void)key;
  (void)t;
  (void)u;
  (void)nu;
  *(uint64_t *)arg += nt;
  return POND_OK;
}

/* ------------------------------------------------------ tag algebra
 * A query that is an AND of tags, NOT tags and group wildcards (or one
 * tag) is set algebra on the tag bitmaps themselves: the bitmap part's
 * container kernels (AND-count without materializing, smallest operand
 * first) instead of chunk bitsets, and an eval's result is the bitmap
 * they produce rather than one rebuilt from words. */

#define ALG_MAX 64

typedef struct alg {
  const qy_node *pos[ALG_MAX], *neg[ALG_MAX];
  unsigned npos, nneg;
} alg;

static const qy_node *unwrap(const qy_node *n) {
  while (n->kind == QY_SEGMENT) n = n->a;
  return n;
}

/* 1 when the tree qualifies (a fills with its operands). */
static int algebra_of(const qy_node *root, alg *a) {
  const qy_node *n = unwrap(root);
  a->npos = a->nneg = 0;
  const qy_node *const *kids = n->kind == QY_AND ? (const qy_node *const *)n->kids : &n;
  uint32_t nk = n->kind == QY_AND ? n->n : 1;
  for (uint32_t i = 0; i < nk; i++) {
    const qy_node *k = unwrap(kids[i]);
    if (k->kind == QY_TAG && a->npos < ALG_MAX) {
      a->pos[a->npos++] = k;
    } else if (k->kind == QY_NOT && unwrap(k->a)->kind == QY_TAG && a->nneg < ALG_MAX) {
      a->neg[a->nneg++] = unwrap(k->a);
    } else {
      return 0;
    }
  }
  return a->npos > 0;
}

/* Set bits of AND over k word arrays, each complemented where inv[i]. */
#define AND_COUNT_BODY                                                      \
  uint64_t c = 0;                                                         \
  switch (k) {                                                            \
    case 1:                                                               \
      for (unsigned w = 0; w < QY_CHUNK_WORDS; w++)                       \
        c += (uint64_t)__builtin_popcountll(o[0][w] ^ inv[0]);            \
      break;                                                              \
    case 2:                                                               \
      for (unsigned w = 0; w < QY_CHUNK_WORDS; w++)                       \
        c += (uint64_t)__builtin_popcountll((o[0][w] ^ inv[0]) & (o[1][w] ^ inv[1])); \
      break;                                                              \
    case 3:                                                               \
      for (unsigned w = 0; w < QY_CHUNK_WORDS; w++)                       \
        c += (uint64_t)__builtin_popcountll((o[0][w] ^ inv[0]) & (o[1][w] ^ inv[1]) &  \
                                            (o[2][w] ^ inv[2]));          \
      break;                                                              \
    default:                                                              \
      for (unsigned w = 0; w < QY_CHUNK_WORDS; w++)                       \
        c += (uint64_t)__builtin_popcountll((o[0][w] ^ inv[0]) & (o[1][w] ^ inv[1]) &  \
                                            (o[2][w] ^ inv[2]) & (o[3][w] ^ inv[3])); \
      break;                                                              \
  }                                                                       \
  return c;

static uint64_t and_count_sw(const uint64_t *const *o, const uint64_t *inv, unsigned k) {
  AND_COUNT_BODY
}

#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("popcnt"))) static uint64_t and_count_hw(const uint64_t *const *o,
                                                               const uint64_t *inv, unsigned k) {
  AND_COUNT_BODY
}
#endif
#undef AND_COUNT_BODY

/* The number of customers in AND(pos) \ OR(neg), chunk by chunk over the
 * keys of the smallest positive operand: each chunk's words read in place
 * where the container is a bitset, and all operands combined in one pass
 * (up to four at a time) — no intermediate bitmap. */
static int algebra_count(pond_db *db, const alg *a, uint64_t *n) {
  pc_mem *m = &db->mem;
  qy_dbchunks ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.db = db;
  const bm *op[2 * ALG_MAX];
  uint64_t inv[2 * ALG_MAX];
  unsigned k = a->npos + a->nneg;
  int rc = POND_OK;
  for (unsigned i = 0; i < a->npos && rc >= 0; i++) rc = qy_db_tag_bm(&ctx, a->pos[i], &op[i]), inv[i] = 0;
  for (unsigned i = 0; i < a->nneg && rc >= 0; i++)
    rc = qy_db_tag_bm(&ctx, a->neg[i], &op[a->npos + i]), inv[a->npos + i] = ~UINT64_C(0);
  /* scratch: one chunk per operand that is not a bitset, and the running
   * AND of the operands past the fourth */
  uint64_t *buf = rc >= 0 ? pc_alloc(m, (size_t)(k + 1) * QY_CHUNK_WORDS * 8) : NULL;
  if (rc >= 0 && !buf) rc = POND_ENOMEM;
  if (rc >= 0) {
    unsigned small = 0;
    for (unsigned i = 1; i < a->npos; i++)
      if (bm_card(op[i]) < bm_card(op[small])) small = i;
    const bm *s = op[small];
    op[small] = op[0];
    op[0] = s;
#if defined(__GNUC__) && defined(__x86_64__)
    int hw = __builtin_cpu_supports("popcnt");
#endif
    uint64_t total = 0;
    for (uint32_t c = 0; c < s->n; c++) {
      uint64_t key = s->keys[c];
      const uint64_t *o[2 * ALG_MAX];
      for (unsigned i = 0; i < k; i++)
        if (!(o[i] = bm_chunk_bitset(op[i], key))) {
          uint64_t *w = buf + (size_t)i * QY_CHUNK_WORDS;
          bm_chunk_words(op[i], key, w);
          o[i] = w;
        }
      unsigned kk = k;
      uint64_t iv[4] = {inv[0], inv[1 % k], inv[2 % k], inv[3 % k]};
      if (k > 4) {
        /* operands 3.. folded into the scratch row first */
        uint64_t *acc = buf + (size_t)k * QY_CHUNK_WORDS;
        for (unsigned w = 0; w < QY_CHUNK_WORDS; w++) acc[w] = o[3][w] ^ inv[3];
        for (unsigned i = 4; i < k; i++)
          for (unsigned w = 0; w < QY_CHUNK_WORDS; w++) acc[w] &= o[i][w] ^ inv[i];
        o[3] = acc;
        iv[3] = 0;
        kk = 4;
      }
#if defined(__GNUC__) && defined(__x86_64__)
      total += hw ? and_count_hw(o, iv, kk) : and_count_sw(o, iv, kk);
#else
      total += and_count_sw(o, iv, kk);
#endif
    }
    *n = total;
  }
  pc_free(m, buf, (size_t)(k + 1) * QY_CHUNK_WORDS * 8);
  qy_db_chunks_free(&ctx);
  if (rc < 0) pc_errf(&db->err, rc, "query: out of memory");
  return rc;
}

/* Evaluates q into sink (columns built first, so the evaluation itself
 * cannot fail for want of an index). */
static int run(pond_query *q, int64_t now, const qy_sink *sink) {
  pond_db *db = q->db;
  int rc = current(q);
  if (rc >= 0) rc = need_columns(db, q->q->root);
  if (rc < 0) return rc;
  qy_dbchunks ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.db = db;
  qy_chunks src;
  qy_db_chunks(&ctx, &src);
  rc = qy_eval_set(q->q, &src, now, &db->mem, sink, &db->err);
  qy_db_chunks_free(&ctx);
  if (rc < 0 && !db->err.msg[0]) pc_errf(&db->err, rc, "query: evaluation failed");
  return rc;
}

int pond_query_count(pond_query *q, int64_t now, uint64_t *n) {
  if (!q) return POND_EINVAL;
  pond_db *db = q->db;
  db_lock(db);
  uint64_t c = 0;
  qy_sink sink = {&c, count_chunk, count_slots, 0};
  alg a;
  int rc = n ? current(q) : pc_errf(&db->err, POND_EINVAL, "query: n must not be NULL");
  if (rc >= 0 && algebra_of(q->q->root, &a)) rc = algebra_count(db, &a, &c);
  else if (rc >= 0) rc = run(q, now, &sink);
  if (rc >= 0) *n = c;
  return db_unlock(db, rc);
}

int pond_query_eval(pond_query *q, int64_t now, pond_set **out) {
  if (!q) return POND_EINVAL;
  pond_db *db = q->db;
  db_lock(db);
  collect c = {&db->mem, {0}};
  bm_init(&c.out);
  qy_sink sink = {&c, emit, emit_slots, 0};
  alg a;
  int rc = out ? current(q) : pc_errf(&db->err, POND_EINVAL, "query: out must not be NULL");
  if (rc >= 0 && algebra_of(q->q->root, &a) && a.npos == 1 && a.nneg == 0) {
    /* one tag (or group): its bitmap, containers shared copy-on-write */
    qy_dbchunks ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.db = db;
    const bm *b;
    rc = qy_db_tag_bm(&ctx, a.pos[0], &b);
    if (rc >= 0) rc = bm_copy(&db->mem, &c.out, b);
    qy_db_chunks_free(&ctx);
    if (rc < 0) pc_errf(&db->err, rc, "query: out of memory");
  } else if (rc >= 0) {
    rc = run(q, now, &sink);
  }
  if (rc >= 0 && (rc = set_adopt(&db->mem, &c.out, out)) < 0)
    pc_errf(&db->err, rc, "query: out of memory");
  bm_free(&db->mem, &c.out);
  return db_unlock(db, rc);
}
