/*
 * eval.c — set evaluation: the customers for which a prepared tree is TRUE
 * (and those for which it is UNKNOWN), chunk by chunk, in SQL's
 * three-valued logic. See README.md, "Set evaluation", for the design.
 *
 * Per chunk every node yields two bitsets, T and U, exact on the care mask
 * its parent passes and zero outside it (the root's care is the chunk's
 * customers, so T and U never hold an id that is not a customer). Buffers:
 * three bitsets per tree level (T, U and the care mask handed to
 * children), a few scratch bitsets for leaves, and, only when the query
 * compares two columns, decoded values of the chunk.
 *
 * Per evaluation (not per chunk): string predicates are resolved against
 * the dictionaries (the value ids they accept), IN lists with now() get
 * their values, predicates over literals only get their truth, and the
 * children of AND/OR get an order by estimated selectivity. All of it
 * lives in an arena freed at the end; the prepared tree is only read.
 */
#include <string.h>

#include "query/like.h"
#include "query/qyint.h"

#define W QY_CHUNK_WORDS
/* Below this many candidates in a chunk, a column predicate reads the
 * candidates' values one by one instead of scanning all 65536 (a scan
 * costs about as much as ~600 scattered reads, which miss the cache). */
#define QY_SPARSE_CARE 512

/* Chunks with at most this many customers are evaluated customer by
 * customer (qy_chunks.few/row): a chunk's bitsets cost about as much as
 * evaluating ~60 customers one at a time. */
#define QY_ROW_MAX 48

/* Bits set in a[0..n), counting stops above limit. Without the popcnt
 * instruction compilers call a slow library routine: use it where the CPU
 * has it (the check is cached by the compiler's runtime). */
static size_t count_sw(const uint64_t *a, unsigned n, size_t limit) {
  size_t c = 0;
  for (unsigned w = 0; w < n && c <= limit; w++) {
    uint64_t x = a[w];
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    c += (size_t)((x * 0x0101010101010101ull) >> 56);
  }
  return c;
}

#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("popcnt"))) static size_t count_hw(const uint64_t *a, unsigned n, size_t limit) {
  size_t c = 0;
  for (unsigned w = 0; w < n && c <= limit; w++) c += (size_t)__builtin_popcountll(a[w]);
  return c;
}
#endif

static size_t count_bits(const uint64_t *a, unsigned n, size_t limit) {
#if defined(__GNUC__) && defined(__x86_64__)
  if (__builtin_cpu_supports("popcnt")) return count_hw(a, n, limit);
#endif
  return count_sw(a, n, limit);
}

uint64_t qy_popcount_words(const uint64_t *w, size_t n) {
  uint64_t c = 0;
  for (size_t i = 0; i < n; i += 1024) {
    unsigned k = n - i < 1024 ? (unsigned)(n - i) : 1024;
    c += count_bits(w + i, k, SIZE_MAX);
  }
  return c;
}

enum { PLAIN = 0, CONSTANT, RANGE, ELEMENTWISE, STRINGS, PAIRS };

typedef struct ninfo {
  uint8_t how;      /* PLAIN (by kind), CONSTANT, RANGE, ELEMENTWISE, STRINGS, PAIRS */
  uint8_t truth;    /* CONSTANT: QY_TRUE / QY_FALSE */
  uint8_t negate;   /* RANGE/STRINGS: result is "valued and not in the set" */
  uint8_t ready;
  const qy_node *col; /* RANGE/STRINGS: the column operand */
  int64_t lo, hi;   /* RANGE: one interval, when nvals == 0 */
  const int64_t *vals; /* RANGE: sorted distinct values (IN), nvals of them */
  uint32_t nvals;
  uint32_t *vids;   /* STRINGS: accepted value ids; PAIRS: 2 per pair */
  uint32_t nvids;
  uint64_t *vtab;   /* STRINGS: bitset of the accepted value ids */
  uint32_t nvtab;   /* its words */
  uint32_t *order;  /* AND/OR: children in evaluation order */
  double est;       /* estimated fraction of customers for which TRUE */
  double cost;      /* estimated cost per chunk (a tag's copy is 1) */
  uint8_t nonull;   /* never UNKNOWN */
  uint8_t marked;   /* mark_need visited it */
  uint8_t hu;       /* its U is computed: it can be UNKNOWN and a reader
                       needs to know (under a NOT, or the sink wants it) */
} ninfo;

typedef struct ev {
  const qy_query *q;
  const qy_chunks *src;
  int64_t now;
  pc_err *e;
  qy_arena arena;
  ninfo *info;        /* by node idx */
  uint64_t *levels;   /* (height + 1) × 3 × W */
  uint64_t *cust;     /* the chunk's customers */
  uint64_t *s1, *s2, *s3; /* scratch for leaves */
  uint64_t *zero;     /* W zero words (the U of a root that is never UNKNOWN) */
  int64_t *dv[3];     /* decoded values, allocated on first need */
  uint64_t *dnn[3];
  uint64_t key;
  uint16_t *slots;        /* few customers of a chunk (QY_ROW_MAX + 1) */
  uint16_t *ts, *us;      /* their TRUE / UNKNOWN slots */
} ev;

static int nomem(ev *e) { return pc_errf(e->e, POND_ENOMEM, "query: out of memory"); }

static uint64_t *T_(ev *e, unsigned l) { return e->levels + (size_t)l * 3 * W; }
static uint64_t *U_(ev *e, unsigned l) { return e->levels + (size_t)l * 3 * W + W; }
static uint64_t *C_(ev *e, unsigned l) { return e->levels + (size_t)l * 3 * W + 2 * W; }

static int any(const uint64_t *a) {
  uint64_t x = 0;
  for (unsigned w = 0; w < W; w++) x |= a[w];
  return x != 0;
}

/* Word loops, written with restrict so that compilers vectorize them at
 * -O2 (without it every store may alias every load). */
static void w_or(uint64_t *restrict d, const uint64_t *restrict a) {
  for (unsigned w = 0; w < W; w++) d[w] |= a[w];
}

/* The combining loops of AND / OR lists (eval_list): (T, U) op (t, u) on
 * the list's level, returning whether the mask of customers the next
 * child could still change is non-empty (AND: T | U; OR: care & ~T).
 * hu: the list keeps U; ku: the child has one (then hu too). */
static uint64_t and_kid(uint64_t *restrict T, uint64_t *restrict U, const uint64_t *restrict t,
                        const uint64_t *restrict u, int ku, int hu) {
  uint64_t x = 0;
  if (!hu) {
    for (unsigned w = 0; w < W; w++) x |= T[w] &= t[w];
  } else if (!ku) {
    /* (T, U) AND (t, FALSE elsewhere) */
    for (unsigned w = 0; w < W; w++) {
      T[w] &= t[w];
      U[w] &= t[w];
      x |= T[w] | U[w];
    }
  } else {
    for (unsigned w = 0; w < W; w++) {
      uint64_t nt = T[w] & t[w];
      U[w] = (T[w] | U[w]) & (t[w] | u[w]) & ~nt;
      T[w] = nt;
      x |= nt | U[w];
    }
  }
  return x;
}

/* t may hold bits outside care (a plain tag's bitset): they are masked. */
static uint64_t or_kid(uint64_t *restrict T, uint64_t *restrict U, const uint64_t *restrict t,
                       const uint64_t *restrict u, const uint64_t *restrict care, int ku, int hu) {
  uint64_t x = 0;
  if (!hu) {
    for (unsigned w = 0; w < W; w++) {
      T[w] |= t[w] & care[w];
      x |= care[w] & ~T[w];
    }
  } else if (!ku) {
    for (unsigned w = 0; w < W; w++) {
      T[w] |= t[w] & care[w];
      U[w] &= ~T[w];
      x |= care[w] & ~T[w];
    }
  } else {
    for (unsigned w = 0; w < W; w++) {
      T[w] |= t[w] & care[w];
      U[w] = (U[w] | u[w]) & ~T[w];
      x |= care[w] & ~T[w];
    }
  }
  return x;
}

/* C := T | U (AND) or care & ~T (OR). */
static void live_mask(uint64_t *restrict C, const uint64_t *restrict T, const uint64_t *restrict U,
                      const uint64_t *restrict care, int and) {
  if (and) {
    for (unsigned w = 0; w < W; w++) C[w] = T[w] | U[w];
  } else {
    for (unsigned w = 0; w < W; w++) C[w] = care[w] & ~T[w];
  }
}

/* ------------------------------------------------------------ operands */

static int is_lit(const qy_node *n) { return n->kind == QY_LITERAL; }
static int is_string_col(const qy_node *n) { return n->kind == QY_COLUMN && n->type == QY_T_STRING; }

static int64_t lit_int(const ev *e, const qy_node *n) {
  return n->v.type == QY_T_TIME ? qy_time_at(&n->v, e->now) : n->v.i;
}

static const qy_icol *icol_of(ev *e, const qy_node *col) {
  return e->src->icol ? e->src->icol(e->src->ctx, col->op, col->id) : NULL;
}

/* vals/nn := the values of a numeric operand over the current chunk. */
static int decode(ev *e, const qy_node *n, int64_t *vals, uint64_t *nn) {
  if (is_lit(n)) {
    int64_t v = lit_int(e, n);
    for (unsigned s = 0; s < QY_CHUNK_SLOTS; s++) vals[s] = v;
    memcpy(nn, e->cust, W * 8);
    return POND_OK;
  }
  if (n->op == QY_COL_CID) {
    for (unsigned s = 0; s < QY_CHUNK_SLOTS; s++) vals[s] = (int64_t)(e->key << 16 | s);
    memcpy(nn, e->cust, W * 8);
    return POND_OK;
  }
  const qy_icol *c = icol_of(e, n);
  qy_ichunk_decode(c ? qy_icol_chunk(c, e->key) : NULL, vals, nn);
  if (n->op == QY_COL_COUNT) /* no events: 0, never NULL */
    memcpy(nn, e->cust, W * 8);
  return POND_OK;
}

static int need_decode(ev *e, int k) {
  if (e->dv[k]) return POND_OK;
  e->dv[k] = qy_arena_alloc(&e->arena, QY_CHUNK_SLOTS * sizeof(int64_t));
  e->dnn[k] = qy_arena_alloc(&e->arena, W * 8);
  return e->dv[k] && e->dnn[k] ? POND_OK : nomem(e);
}

/* ----------------------------------------------------------- numeric */

/* hit := the slots of col whose value lies in [lo, hi] (restricted to
 * care only when few candidates are read one by one; never outside *nn);
 * *nn := the slots with a value: the chunk's own bitset when it has one,
 * else nnbuf filled (COUNT and cid: every customer, e->cust). The caller
 * intersects with care. */
static void range_bits(ev *e, const qy_node *col, int64_t lo, int64_t hi, const uint64_t *care,
                       uint64_t *hit, uint64_t *nnbuf, const uint64_t **nn) {
  if (col->op == QY_COL_CID) {
    /* a chunk's ids are contiguous as signed 64-bit too (2^63 starts a chunk) */
    int64_t first = (int64_t)(e->key << 16), last = first + 65535;
    memset(hit, 0, W * 8);
    if (lo <= last && hi >= first && lo <= hi) {
      unsigned a = lo > first ? (unsigned)(lo - first) : 0;
      unsigned b = hi < last ? (unsigned)(hi - first) : 65535;
      for (unsigned s = a; s <= b && s < QY_CHUNK_SLOTS;) {
        if ((s & 63) == 0 && s + 63 <= b) {
          hit[s >> 6] = ~UINT64_C(0);
          s += 64;
        } else {
          hit[s >> 6] |= UINT64_C(1) << (s & 63);
          s++;
        }
      }
    }
    *nn = e->cust;
    return;
  }
  const qy_icol *c = icol_of(e, col);
  const qy_ichunk *k = c ? qy_icol_chunk(c, e->key) : NULL;
  /* Few candidates left (earlier predicates were selective): read just
   * their values instead of scanning the chunk. */
  size_t cands = count_bits(care, W, QY_SPARSE_CARE);
  if (k && cands <= QY_SPARSE_CARE) {
    qy_ichunk_cands_range(k, care, lo, hi, hit, nnbuf);
    *nn = nnbuf;
  } else {
    qy_ichunk_range(k, lo, hi, hit);
    if (!(*nn = qy_ichunk_nn(k))) {
      qy_ichunk_notnull(k, nnbuf);
      *nn = nnbuf;
    }
  }
  if (col->op == QY_COL_COUNT) {
    /* no events: a count of 0, never NULL */
    if (lo <= 0 && 0 <= hi) {
      const uint64_t *v = *nn;
      for (unsigned w = 0; w < W; w++) hit[w] |= e->cust[w] & ~v[w];
    }
    *nn = e->cust;
  }
}

static void set_bit(uint64_t *a, unsigned s) { a[s >> 6] |= UINT64_C(1) << (s & 63); }

/* T := care ∩ (negate ? nn \ hit : hit); U := care \ nn unless the
 * node is never UNKNOWN (hit ⊆ nn). */
static void leaf_out(uint64_t *restrict T, uint64_t *restrict U, const uint64_t *restrict care,
                     const uint64_t *restrict hit, const uint64_t *restrict nn, int negate, int hu) {
  if (negate) {
    for (unsigned w = 0; w < W; w++) T[w] = care[w] & nn[w] & ~hit[w];
  } else {
    for (unsigned w = 0; w < W; w++) T[w] = care[w] & hit[w];
  }
  if (hu)
    for (unsigned w = 0; w < W; w++) U[w] = care[w] & ~nn[w];
}

static int leaf_range(ev *e, const ninfo *in, const uint64_t *care, uint64_t *T, uint64_t *U) {
  uint64_t *hit = e->s1;
  const uint64_t *nn;
  if (in->nvals == 0) {
    range_bits(e, in->col, in->lo, in->hi, care, hit, e->s2, &nn);
  } else if (in->nvals <= 8) {
    memset(hit, 0, W * 8);
    for (uint32_t i = 0; i < in->nvals; i++) {
      range_bits(e, in->col, in->vals[i], in->vals[i], care, e->s3, e->s2, &nn);
      w_or(hit, e->s3);
    }
  } else {
    /* many values: one scan of [min, max], then a binary search per hit */
    range_bits(e, in->col, in->vals[0], in->vals[in->nvals - 1], care, hit, e->s2, &nn);
    const qy_icol *c = in->col->op == QY_COL_CID ? NULL : icol_of(e, in->col);
    const qy_ichunk *k = c ? qy_icol_chunk(c, e->key) : NULL;
    for (unsigned w = 0; w < W; w++)
      for (uint64_t bits = hit[w] & care[w]; bits; bits &= bits - 1) {
        unsigned s = w * 64 + qy_ctz64(bits);
        int64_t v = 0;
        if (in->col->op == QY_COL_CID) v = (int64_t)(e->key << 16 | s);
        else if (!qy_ichunk_get(k, s, &v)) v = 0; /* COUNT without events */
        uint32_t lo = 0, hi = in->nvals;
        while (lo < hi) {
          uint32_t mid = lo + (hi - lo) / 2;
          if (in->vals[mid] < v) lo = mid + 1;
          else hi = mid;
        }
        if (lo == in->nvals || in->vals[lo] != v) hit[w] &= ~(UINT64_C(1) << (s & 63));
      }
  }
  leaf_out(T, U, care, hit, nn, in->negate, in->hu);
  return POND_OK;
}

/* Comparisons with a column on both sides, or BETWEEN with column bounds:
 * value by value over the care mask. */
/* The value of a numeric operand for slot s of the current chunk (k: the
 * operand's index chunk, when a column): 1 and *v, or 0 for NULL. */
static int operand_at(ev *e, const qy_node *n, const qy_ichunk *k, unsigned s, int64_t *v) {
  if (is_lit(n)) {
    *v = lit_int(e, n);
    return 1;
  }
  if (n->op == QY_COL_CID) {
    *v = (int64_t)(e->key << 16 | s);
    return 1;
  }
  if (qy_ichunk_get(k, s, v)) return 1;
  *v = 0;
  return n->op == QY_COL_COUNT; /* no events: 0, never NULL */
}

/* Below this many candidates, an elementwise comparison reads each
 * candidate's values instead of decoding whole chunks (512 KiB each). */
#define QY_DECODE_CARE 4096

static int leaf_elementwise(ev *e, const qy_node *n, const uint64_t *care, uint64_t *T,
                            uint64_t *U) {
  const qy_node *ops[3] = {n->a, n->b, n->kind == QY_BETWEEN ? n->c : NULL};
  int nops = ops[2] ? 3 : 2;
  int decoded = count_bits(care, W, QY_DECODE_CARE) > QY_DECODE_CARE;
  const qy_ichunk *kc[3] = {NULL, NULL, NULL};
  for (int k = 0; k < nops; k++) {
    if (decoded) {
      POND_TRY(need_decode(e, k));
      POND_TRY(decode(e, ops[k], e->dv[k], e->dnn[k]));
    } else if (!is_lit(ops[k]) && ops[k]->op != QY_COL_CID) {
      const qy_icol *c = icol_of(e, ops[k]);
      kc[k] = c ? qy_icol_chunk(c, e->key) : NULL;
    }
  }
  memset(T, 0, W * 8);
  memset(U, 0, W * 8);
  for (unsigned w = 0; w < W; w++)
    for (uint64_t bits = care[w]; bits; bits &= bits - 1) {
      unsigned s = w * 64 + qy_ctz64(bits);
      int nx, ny, nz = 0;
      int64_t x, y, z = 0;
      if (decoded) {
        nx = e->dnn[0][w] >> (s & 63) & 1, ny = e->dnn[1][w] >> (s & 63) & 1;
        x = e->dv[0][s], y = e->dv[1][s];
        if (nops == 3) nz = e->dnn[2][w] >> (s & 63) & 1, z = e->dv[2][s];
      } else {
        nx = operand_at(e, ops[0], kc[0], s, &x);
        ny = operand_at(e, ops[1], kc[1], s, &y);
        if (nops == 3) nz = operand_at(e, ops[2], kc[2], s, &z);
      }
      int t;
      if (n->kind == QY_CMP) {
        if (!nx || !ny) {
          t = QY_UNKNOWN;
        } else {
          int c = x < y ? -1 : x > y;
          switch (n->op) {
            case QY_EQ: t = c == 0; break;
            case QY_NE: t = c != 0; break;
            case QY_LT: t = c < 0; break;
            case QY_LE: t = c <= 0; break;
            case QY_GT: t = c > 0; break;
            default: t = c >= 0; break;
          }
        }
      } else {
        /* y <= x AND x <= z */
        int lo = !nx || !ny ? QY_UNKNOWN : y <= x;
        int hi = !nx || !nz ? QY_UNKNOWN : x <= z;
        t = lo == QY_FALSE || hi == QY_FALSE ? QY_FALSE
            : lo == QY_UNKNOWN || hi == QY_UNKNOWN ? QY_UNKNOWN : QY_TRUE;
        if (n->neg && t != QY_UNKNOWN) t = !t;
      }
      if (t == QY_TRUE) set_bit(T, s);
      else if (t == QY_UNKNOWN) set_bit(U, s);
    }
  return POND_OK;
}

/* ----------------------------------------------------------- strings */

static int string_valued(ev *e, const qy_node *col, uint64_t *out) {
  if (!e->src->valued) {
    memset(out, 0, W * 8);
    return POND_OK;
  }
  return e->src->valued(e->src->ctx, col->op, col->id, e->key, out);
}

static int string_value(ev *e, const qy_node *col, uint32_t vid, uint64_t *out) {
  return e->src->value(e->src->ctx, col->op, col->id, vid, e->key, out);
}

/* Below this many candidates (plus 64 per accepted value), a string
 * predicate reads each candidate's value id and looks it up, instead of
 * a union of one bitmap per accepted value. */
#define QY_STRING_CARE 512

static int leaf_strings(ev *e, const ninfo *in, const uint64_t *care, uint64_t *T, uint64_t *U) {
  uint64_t *hit = e->s1, *nn = e->s2;
  const qy_icol *c = in->vtab ? icol_of(e, in->col) : NULL;
  size_t limit = QY_STRING_CARE + 64 * (size_t)in->nvids;
  if (limit > 8192) limit = 8192;
  if (c && count_bits(care, W, limit) <= limit) {
    /* the candidates' value ids, through the accepted-value table */
    qy_ichunk_cands_in(qy_icol_chunk(c, e->key), care, in->vtab, in->nvtab, hit, nn);
  } else {
    memset(hit, 0, W * 8);
    for (uint32_t i = 0; i < in->nvids; i++) {
      POND_TRY(string_value(e, in->col, in->vids[i], e->s3));
      w_or(hit, e->s3);
    }
    if (in->negate || in->hu) POND_TRY(string_valued(e, in->col, nn));
  }
  leaf_out(T, U, care, hit, nn, in->negate, in->hu);
  return POND_OK;
}

/* column = column over strings: the union of (a = v) ∩ (b = v) over the
 * values v the two dictionaries share. */
static int leaf_pairs(ev *e, const qy_node *n, const ninfo *in, const uint64_t *care,
                      uint64_t *T, uint64_t *U) {
  uint64_t *hit = e->s1, *nn = e->s2, *x = e->s3;
  memset(hit, 0, W * 8);
  for (uint32_t i = 0; i < in->nvids; i++) {
    POND_TRY(string_value(e, n->a, in->vids[2 * i], x));
    if (!any(x)) continue;
    POND_TRY(string_value(e, n->b, in->vids[2 * i + 1], T)); /* T as scratch */
    for (unsigned w = 0; w < W; w++) hit[w] |= x[w] & T[w];
  }
  POND_TRY(string_valued(e, n->a, nn));
  POND_TRY(string_valued(e, n->b, x));
  for (unsigned w = 0; w < W; w++) {
    uint64_t both = nn[w] & x[w] & care[w];
    T[w] = n->op == QY_NE ? both & ~hit[w] : hit[w] & care[w];
    U[w] = care[w] & ~both;
  }
  return POND_OK;
}

/* -------------------------------------------------------------- tree */

static int eval_node(ev *e, const qy_node *n, unsigned l, const uint64_t *care);

/* A plain tag (or group) leaf: evaluated by its parent list directly. */
static int plain_tag(const qy_node *kid, const ninfo *ki) {
  return kid->kind == QY_TAG && ki->how == PLAIN;
}

static int fill_tag(ev *e, const qy_node *n, uint64_t *out) {
  return n->neg ? e->src->group(e->src->ctx, n->id, e->key, out)
                : e->src->tag(e->src->ctx, n->id, e->key, out);
}

/* The tag's chunk: in place when the source has it as a bitset, else
 * copied into buf. */
static int tag_chunk(ev *e, const qy_node *n, uint64_t *buf, const uint64_t **out) {
  const uint64_t *w = e->src->tag_words ? e->src->tag_words(e->src->ctx, n->id, n->neg, e->key) : NULL;
  if (!w) {
    POND_TRY(fill_tag(e, n, buf));
    w = buf;
  }
  *out = w;
  return POND_OK;
}

/*
 * AND / OR. The children go in the planned order, each under the mask of
 * customers whose result it can still change (AND: TRUE or UNKNOWN so
 * far; OR: not TRUE yet); the list stops as soon as that mask is empty.
 * Without UNKNOWNs to keep (!hu) only T is kept, and an AND child's care mask
 * is T itself. A plain tag child is combined straight from its bitset.
 */
static int eval_list(ev *e, const qy_node *n, unsigned l, const uint64_t *care) {
  uint64_t *T = T_(e, l), *U = U_(e, l), *C = C_(e, l);
  const ninfo *in = &e->info[n->idx];
  int and = n->kind == QY_AND, hu = in->hu;
  if (and) memcpy(T, care, W * 8);
  else memset(T, 0, W * 8);
  if (hu) memset(U, 0, W * 8);
  uint64_t live = 1; /* the caller's care mask is not empty */
  for (uint32_t i = 0; i < n->n && live; i++) {
    const qy_node *kid = n->kids[in->order ? in->order[i] : i];
    const ninfo *ki = &e->info[kid->idx];
    if (plain_tag(kid, ki)) {
      /* straight from the bitset: a tag is never UNKNOWN, and bits
       * outside the care mask do not matter to AND (T, U are inside it)
       * and are masked for OR */
      const uint64_t *t;
      POND_TRY(tag_chunk(e, kid, e->s3, &t));
      live = and ? and_kid(T, U, t, e->zero, 0, hu) : or_kid(T, U, t, e->zero, care, 0, hu);
      continue;
    }
    const uint64_t *kc = C;
    if (and && !hu) kc = T; /* read-only while the child runs */
    else live_mask(C, T, U, care, and);
    POND_TRY(eval_node(e, kid, l + 1, kc));
    const uint64_t *t = T_(e, l + 1), *u = ki->hu ? U_(e, l + 1) : e->zero;
    live = and ? and_kid(T, U, t, u, ki->hu, hu) : or_kid(T, U, t, u, care, ki->hu, hu);
  }
  return POND_OK;
}

static int eval_node(ev *e, const qy_node *n, unsigned l, const uint64_t *care) {
  uint64_t *T = T_(e, l), *U = U_(e, l);
  const ninfo *in = &e->info[n->idx];
  switch (in->how) {
    case CONSTANT:
      for (unsigned w = 0; w < W; w++) T[w] = in->truth == QY_TRUE ? care[w] : 0;
      return POND_OK;
    case RANGE:
      return leaf_range(e, in, care, T, U);
    case ELEMENTWISE:
      return leaf_elementwise(e, n, care, T, U);
    case STRINGS:
      return leaf_strings(e, in, care, T, U);
    case PAIRS:
      return leaf_pairs(e, n, in, care, T, U);
  }
  switch (n->kind) {
    case QY_AND:
    case QY_OR:
      return eval_list(e, n, l, care);
    case QY_NOT: {
      POND_TRY(eval_node(e, n->a, l + 1, care));
      const uint64_t *t = T_(e, l + 1), *u = U_(e, l + 1);
      if (!e->info[n->a->idx].hu) {
        for (unsigned w = 0; w < W; w++) T[w] = care[w] & ~t[w];
      } else {
        for (unsigned w = 0; w < W; w++) {
          T[w] = care[w] & ~t[w] & ~u[w];
          U[w] = u[w];
        }
      }
      return POND_OK;
    }
    case QY_SEGMENT:
      return eval_node(e, n->a, l, care);
    case QY_TAG: {
      const uint64_t *t;
      POND_TRY(tag_chunk(e, n, e->s3, &t));
      for (unsigned w = 0; w < W; w++) T[w] = t[w] & care[w];
      return POND_OK;
    }
    case QY_ISNULL: {
      const qy_node *a = n->a;
      const uint64_t *nn = e->s2;
      if (is_string_col(a)) POND_TRY(string_valued(e, a, e->s2));
      else range_bits(e, a, INT64_MIN, INT64_MAX, care, e->s1, e->s2, &nn);
      for (unsigned w = 0; w < W; w++) T[w] = care[w] & (n->neg ? nn[w] : ~nn[w]);
      return POND_OK;
    }
  }
  return pc_errf(e->e, POND_EINVAL, "query: cannot evaluate node kind %d", n->kind);
}

/* ------------------------------------------------- per-evaluation setup */

typedef struct dict_match {
  ev *e;
  const qy_node *n; /* the predicate */
  uint32_t *vids;
  uint32_t nvids, cap;
  int failed;
} dict_match;

static int push_vid(dict_match *d, uint32_t vid) {
  if (d->nvids == d->cap) {
    uint32_t ncap = d->cap ? d->cap * 2 : 8;
    uint32_t *v = qy_arena_alloc(&d->e->arena, ncap * sizeof *v);
    if (!v) {
      d->failed = 1;
      return 1;
    }
    if (d->nvids) memcpy(v, d->vids, d->nvids * sizeof *v);
    d->vids = v;
    d->cap = ncap;
  }
  d->vids[d->nvids++] = vid;
  return 0;
}

static int str_in_sorted(const qy_str *set, uint32_t n, const char *s, size_t len) {
  qy_str k = {s, (uint32_t)len};
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    int c = qy_str_cmp(&set[mid], &k);
    if (c == 0) return 1;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/* Dictionary pass: does value s of the column satisfy the predicate? */
static int match_each(void *arg, uint32_t vid, const char *s, size_t len) {
  dict_match *d = arg;
  const qy_node *n = d->n;
  int ok;
  if (n->kind == QY_LIKE) {
    ok = qy_like(s, len, n->v.s.p, n->v.s.len);
  } else if (n->kind == QY_IN) {
    ok = str_in_sorted(n->sset, n->nset, s, len);
  } else {
    const qy_value *v = is_lit(n->a) ? &n->a->v : &n->b->v;
    ok = len == v->s.len && memcmp(s, v->s.p, len) == 0;
  }
  return ok ? push_vid(d, vid) : 0;
}

/* For column = column: the first dictionary, collected. */
typedef struct dict_all {
  ev *e;
  qy_str *strs;
  uint32_t *vids;
  uint32_t n, cap;
  int failed;
} dict_all;

static int collect_each(void *arg, uint32_t vid, const char *s, size_t len) {
  dict_all *d = arg;
  if (d->n == d->cap) {
    uint32_t ncap = d->cap ? d->cap * 2 : 16;
    qy_str *ss = qy_arena_alloc(&d->e->arena, ncap * sizeof *ss);
    uint32_t *vv = qy_arena_alloc(&d->e->arena, ncap * sizeof *vv);
    if (!ss || !vv) {
      d->failed = 1;
      return 1;
    }
    if (d->n) {
      memcpy(ss, d->strs, d->n * sizeof *ss);
      memcpy(vv, d->vids, d->n * sizeof *vv);
    }
    d->strs = ss;
    d->vids = vv;
    d->cap = ncap;
  }
  char *copy = qy_arena_strdup(&d->e->arena, s, len);
  if (!copy) {
    d->failed = 1;
    return 1;
  }
  d->strs[d->n].p = copy;
  d->strs[d->n].len = (uint32_t)len;
  d->vids[d->n++] = vid;
  return 0;
}

typedef struct pair_match {
  dict_match out; /* vids as pairs */
  const dict_all *first;
} pair_match;

static int pair_each(void *arg, uint32_t vid, const char *s, size_t len) {
  pair_match *pm = arg;
  for (uint32_t i = 0; i < pm->first->n; i++)
    if (pm->first->strs[i].len == len && memcmp(pm->first->strs[i].p, s, len) == 0) {
      if (push_vid(&pm->out, pm->first->vids[i]) || push_vid(&pm->out, vid)) return 1;
    }
  return 0;
}

static int values_of(ev *e, const qy_node *col,
                     int (*each)(void *, uint32_t, const char *, size_t), void *arg) {
  if (!e->src->values) return POND_OK;
  int rc = e->src->values(e->src->ctx, col->op, col->id, each, arg);
  return rc < 0 ? rc : POND_OK;
}

/* A comparison of literals only (possibly relative to now): its truth. */
static int literal_truth(ev *e, const qy_node *n) {
  qy_row none = {NULL, 0, NULL, NULL, NULL};
  qy_query q1 = *e->q;
  q1.root = (qy_node *)n;
  /* no column is read: the row callbacks are never called */
  return qy_eval_row(&q1, &none, e->now);
}

static int all_literal(const qy_node *n) {
  switch (n->kind) {
    case QY_CMP: return is_lit(n->a) && is_lit(n->b);
    case QY_BETWEEN: return is_lit(n->a) && is_lit(n->b) && is_lit(n->c);
    case QY_IN:
    case QY_LIKE:
    case QY_ISNULL: return is_lit(n->a);
    default: return 0;
  }
}

static int cmp_range(int op, int64_t v, int64_t *lo, int64_t *hi, uint8_t *negate) {
  *negate = 0;
  *lo = INT64_MIN;
  *hi = INT64_MAX;
  switch (op) {
    case QY_EQ: *lo = *hi = v; return 1;
    case QY_NE: *lo = *hi = v; *negate = 1; return 1;
    case QY_LT: if (v == INT64_MIN) return 0; *hi = v - 1; return 1;
    case QY_LE: *hi = v; return 1;
    case QY_GT: if (v == INT64_MAX) return 0; *lo = v + 1; return 1;
    default: *lo = v; return 1;
  }
}

static int mirror_op(int op) {
  switch (op) {
    case QY_LT: return QY_GT;
    case QY_LE: return QY_GE;
    case QY_GT: return QY_LT;
    case QY_GE: return QY_LE;
    default: return op;
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double frac(const ev *e, uint64_t count) {
  return e->src->population ? (double)count / (double)e->src->population : 0.5;
}

static int setup(ev *e, const qy_node *n);

/* order[] of an AND (ascending estimate: the most selective first) or an
 * OR (descending: the most inclusive first); scans count as costlier. */
static int setup_list(ev *e, const qy_node *n, ninfo *in) {
  in->order = qy_arena_alloc(&e->arena, n->n * sizeof *in->order);
  double *key = qy_arena_alloc(&e->arena, n->n * sizeof *key);
  if (!in->order || !key) return nomem(e);
  double acc = n->kind == QY_AND ? 1.0 : 0.0;
  in->nonull = 1;
  in->cost = 0;
  for (uint32_t i = 0; i < n->n; i++) {
    POND_TRY(setup(e, n->kids[i]));
    const ninfo *k = &e->info[n->kids[i]->idx];
    /* the classic order of short-circuited conjunctions: ascending
     * cost / P(the child leaves something to do), so cheap and selective
     * children come first (a bitmap before a column scan); OR dually */
    double p = n->kind == QY_AND ? 1.0 - k->est : k->est;
    in->order[i] = i;
    key[i] = k->cost / (p > 0.001 ? p : 0.001);
    if (n->kind == QY_AND) acc *= k->est;
    else acc = 1.0 - (1.0 - acc) * (1.0 - k->est);
    in->nonull &= k->nonull;
    in->cost += k->cost;
  }
  /* insertion sort: lists are short, and it keeps ties in written order */
  for (uint32_t i = 1; i < n->n; i++)
    for (uint32_t j = i; j > 0 && key[in->order[j]] < key[in->order[j - 1]]; j--) {
      uint32_t t = in->order[j];
      in->order[j] = in->order[j - 1];
      in->order[j - 1] = t;
    }
  in->est = acc;
  return POND_OK;
}

static int setup_leaf(ev *e, const qy_node *n, ninfo *in) {
  in->est = 0.5;
  if (n->kind == QY_CONST) {
    in->how = CONSTANT;
    in->truth = n->v.i ? QY_TRUE : QY_FALSE;
    in->est = n->v.i ? 1.0 : 0.0;
    return POND_OK;
  }
  if (n->kind == QY_TAG) {
    uint64_t c = n->neg ? (e->src->group_count ? e->src->group_count(e->src->ctx, n->id) : 0)
                        : (e->src->tag_count ? e->src->tag_count(e->src->ctx, n->id) : 0);
    in->est = frac(e, c);
    return POND_OK;
  }
  if (all_literal(n)) {
    int t = literal_truth(e, n);
    if (t < 0) return t;
    in->how = CONSTANT;
    in->truth = t == QY_TRUE ? QY_TRUE : QY_FALSE; /* literals are never NULL */
    in->est = t == QY_TRUE;
    return POND_OK;
  }
  if (n->kind == QY_BOOLCOL) {
    in->how = RANGE;
    in->col = n->a;
    in->lo = in->hi = 1;
    return POND_OK;
  }
  if (n->kind == QY_ISNULL) return POND_OK;
  const qy_node *a = n->a;
  int strings = a->type == QY_T_STRING;
  if (strings) {
    dict_match d = {e, n, NULL, 0, 0, 0};
    in->how = STRINGS;
    if (n->kind == QY_CMP && !is_lit(n->a) && !is_lit(n->b)) {
      /* column = column: join the dictionaries */
      dict_all first = {e, NULL, NULL, 0, 0, 0};
      POND_TRY(values_of(e, n->a, collect_each, &first));
      if (first.failed) return nomem(e);
      pair_match pm = {{e, n, NULL, 0, 0, 0}, &first};
      POND_TRY(values_of(e, n->b, pair_each, &pm));
      if (pm.out.failed) return nomem(e);
      in->how = PAIRS;
      in->vids = pm.out.vids;
      in->nvids = pm.out.nvids / 2;
      return POND_OK;
    }
    const qy_node *col = is_lit(a) ? n->b : a;
    in->col = col;
    in->negate = n->kind == QY_CMP ? n->op == QY_NE : n->neg;
    if (col->op == QY_COL_STAGE && n->kind != QY_LIKE) {
      /* states named by literals were resolved at prepare: their ids */
      if (n->kind == QY_IN) {
        for (uint32_t i = 0; i < n->nset; i++)
          if (push_vid(&d, n->idset[i])) return nomem(e);
      } else if (push_vid(&d, (is_lit(a) ? a : n->b)->v.id)) {
        return nomem(e);
      }
    } else {
      POND_TRY(values_of(e, col, match_each, &d));
      if (d.failed) return nomem(e);
    }
    in->vids = d.vids;
    in->nvids = d.nvids;
    uint64_t c = 0;
    for (uint32_t i = 0; i < d.nvids && e->src->value_count; i++)
      c += e->src->value_count(e->src->ctx, col->op, col->id, d.vids[i]);
    in->est = frac(e, c);
    if (in->negate) in->est = 1.0 - in->est;
    return POND_OK;
  }
  /* numeric (int, time, bool) */
  if (n->kind == QY_CMP) {
    const qy_node *col = is_lit(a) ? n->b : a, *lit = is_lit(a) ? a : is_lit(n->b) ? n->b : NULL;
    if (!lit) {
      in->how = ELEMENTWISE;
      return POND_OK;
    }
    int op = is_lit(a) ? mirror_op(n->op) : n->op;
    in->how = RANGE;
    in->col = col;
    if (!cmp_range(op, lit_int(e, lit), &in->lo, &in->hi, &in->negate)) {
      in->lo = 1; /* nothing matches: an empty interval */
      in->hi = 0;
    }
    in->est = op == QY_EQ ? 0.05 : op == QY_NE ? 0.95 : 0.5;
    return POND_OK;
  }
  if (n->kind == QY_BETWEEN) {
    if (!is_lit(n->b) || !is_lit(n->c) || is_lit(a)) {
      in->how = ELEMENTWISE;
      return POND_OK;
    }
    in->how = RANGE;
    in->col = a;
    in->lo = lit_int(e, n->b);
    in->hi = lit_int(e, n->c);
    in->negate = n->neg;
    return POND_OK;
  }
  if (n->kind == QY_IN) {
    in->how = RANGE;
    in->col = a;
    in->negate = n->neg;
    if (n->iset) {
      in->vals = n->iset;
      in->nvals = n->nset;
    } else {
      /* items relative to now(): their values now, sorted, distinct */
      int64_t *v = qy_arena_alloc(&e->arena, n->n * sizeof *v);
      if (!v) return nomem(e);
      uint32_t k = 0;
      for (uint32_t i = 0; i < n->n; i++)
        v[k++] = n->items[i].type == QY_T_TIME ? qy_time_at(&n->items[i], e->now) : n->items[i].i;
      qy_heapsort(v, k, sizeof *v, cmp_i64);
      uint32_t u = 0;
      for (uint32_t i = 0; i < k; i++)
        if (u == 0 || v[u - 1] != v[i]) v[u++] = v[i];
      in->vals = v;
      in->nvals = u;
    }
    in->est = 0.1;
    return POND_OK;
  }
  return pc_errf(e->e, POND_EINVAL, "query: cannot plan node kind %d", n->kind);
}

/* 1 if operand n is never NULL (a literal or a column that always has a
 * value). */
static int never_null(const qy_node *n) {
  return !n || n->kind == QY_LITERAL || !qy_col_nullable(n->op);
}

/* A leaf's cost per chunk, in units of a tag's bitmap copy and AND, and
 * whether it can be UNKNOWN: from the measurements in README.md (a column
 * scan costs about a dozen tag copies). */
static int finish_leaf(ev *e, const qy_node *n, ninfo *in) {
  switch (in->how) {
    case CONSTANT:
      in->cost = 0;
      in->nonull = 1;
      break;
    case RANGE:
      in->cost = in->col->op == QY_COL_CID ? 0.5 : 12.0 * (in->nvals && in->nvals <= 8 ? in->nvals : 1);
      in->nonull = never_null(in->col);
      break;
    case STRINGS: {
      in->cost = 2.0 + in->nvids;
      in->nonull = never_null(in->col);
      /* the accepted value ids as a bitset, for reading candidates */
      uint32_t maxv = 0;
      for (uint32_t i = 0; i < in->nvids; i++)
        if (in->vids[i] > maxv) maxv = in->vids[i];
      in->nvtab = maxv / 64 + 1;
      in->vtab = qy_arena_alloc(&e->arena, (size_t)in->nvtab * 8);
      if (!in->vtab) return nomem(e);
      memset(in->vtab, 0, (size_t)in->nvtab * 8);
      for (uint32_t i = 0; i < in->nvids; i++) in->vtab[in->vids[i] >> 6] |= UINT64_C(1) << (in->vids[i] & 63);
      break;
    }
    case ELEMENTWISE:
      in->cost = 40;
      in->nonull = never_null(n->a) && never_null(n->b) && never_null(n->kind == QY_BETWEEN ? n->c : NULL);
      break;
    case PAIRS:
      in->cost = 2.0 + 2.0 * in->nvids;
      in->nonull = never_null(n->a) && never_null(n->b);
      break;
    default: /* PLAIN: a tag or IS [NOT] NULL */
      in->cost = n->kind == QY_TAG ? 1 : is_string_col(n->a) ? 1 : 2;
      in->nonull = 1;
      break;
  }
  return POND_OK;
}

/* Which nodes must compute their UNKNOWNs: those under a NOT (whose
 * complement needs them), and the root when the sink asks for them; an
 * AND or OR whose own UNKNOWNs nobody reads only needs its children's
 * TRUEs (an UNKNOWN can never become TRUE). Top-down over the DAG of
 * shared segment trees: a node needed by one parent is needed. */
static void mark_need(ev *e, const qy_node *n, int need) {
  ninfo *in = &e->info[n->idx];
  if (in->nonull || (need ? in->hu : in->marked)) return; /* nothing to compute, or done */
  in->marked = 1;
  if (need) in->hu = 1;
  switch (n->kind) {
    case QY_AND:
    case QY_OR:
      for (uint32_t i = 0; i < n->n; i++) mark_need(e, n->kids[i], need);
      break;
    case QY_NOT: mark_need(e, n->a, 1); break;
    case QY_SEGMENT: mark_need(e, n->a, need); break;
    default: break;
  }
}

static int setup(ev *e, const qy_node *n) {
  ninfo *in = &e->info[n->idx];
  if (in->ready) return POND_OK;
  in->ready = 1;
  switch (n->kind) {
    case QY_AND:
    case QY_OR:
      return setup_list(e, n, in);
    case QY_NOT:
    case QY_SEGMENT: {
      POND_TRY(setup(e, n->a));
      const ninfo *k = &e->info[n->a->idx];
      in->est = n->kind == QY_NOT ? 1.0 - k->est : k->est;
      in->cost = k->cost;
      in->nonull = k->nonull;
      return POND_OK;
    }
    default:
      POND_TRY(setup_leaf(e, n, in));
      return finish_leaf(e, n, in);
  }
}

/* A chunk of n customers (e->slots), one customer at a time. */
static int eval_rows(ev *e, uint32_t n, const qy_sink *out) {
  const qy_chunks *src = e->src;
  uint32_t nt = 0, nu = 0;
  for (uint32_t i = 0; i < n; i++) {
    qy_row row;
    int rc = src->row(src->ctx, e->key << 16 | e->slots[i], &row);
    if (rc < 0) return rc;
    int t = qy_eval_row(e->q, &row, e->now);
    if (t < 0) return t;
    if (t == QY_TRUE) e->ts[nt++] = e->slots[i];
    else if (t == QY_UNKNOWN && out->unknown) e->us[nu++] = e->slots[i];
  }
  if (!nt && !nu) return POND_OK;
  if (out->slots) return out->slots(out->arg, e->key, e->ts, nt, e->us, nu);
  /* as bitsets: set, emit, clear again (the level-0 buffers are ours) */
  uint64_t *T = T_(e, 0), *U = U_(e, 0);
  memset(T, 0, W * 8);
  memset(U, 0, W * 8);
  for (uint32_t i = 0; i < nt; i++) set_bit(T, e->ts[i]);
  for (uint32_t i = 0; i < nu; i++) set_bit(U, e->us[i]);
  return out->chunk(out->arg, e->key, T, U);
}

int qy_eval_set(const qy_query *q, const qy_chunks *src, int64_t now, pc_mem *m,
                const qy_sink *out, pc_err *err) {
  ev e;
  memset(&e, 0, sizeof e);
  e.q = q;
  e.src = src;
  e.now = now;
  e.e = err;
  qy_arena_init(&e.arena, m);
  unsigned height = q->root->height;
  int rc = POND_ENOMEM;
  e.info = qy_arena_alloc(&e.arena, (q->nidx ? q->nidx : 1) * sizeof *e.info);
  e.levels = qy_arena_alloc(&e.arena, (size_t)(height + 2) * 3 * W * 8);
  e.cust = qy_arena_alloc(&e.arena, W * 8);
  e.s1 = qy_arena_alloc(&e.arena, W * 8);
  e.s2 = qy_arena_alloc(&e.arena, W * 8);
  e.s3 = qy_arena_alloc(&e.arena, W * 8);
  e.zero = qy_arena_alloc(&e.arena, W * 8);
  e.slots = qy_arena_alloc(&e.arena, 3 * (QY_ROW_MAX + 1) * sizeof *e.slots);
  if (!e.info || !e.levels || !e.cust || !e.s1 || !e.s2 || !e.s3 || !e.zero || !e.slots) {
    rc = nomem(&e);
    goto done;
  }
  memset(e.info, 0, (q->nidx ? q->nidx : 1) * sizeof *e.info);
  memset(e.zero, 0, W * 8);
  rc = setup(&e, q->root);
  if (rc < 0) goto done;
  mark_need(&e, q->root, out->unknown);
  e.ts = e.slots + QY_ROW_MAX + 1;
  e.us = e.ts + QY_ROW_MAX + 1;
  int rows = src->few && src->row;
  for (size_t i = 0; i < src->nkeys; i++) {
    e.key = src->keys[i];
    if (rows) {
      int n = src->few(src->ctx, e.key, e.slots, QY_ROW_MAX);
      if (n < 0) {
        rc = n;
        goto done;
      }
      if (n <= QY_ROW_MAX) {
        rc = eval_rows(&e, (uint32_t)n, out);
        if (rc < 0) goto done;
        continue;
      }
    }
    rc = src->customers(src->ctx, e.key, e.cust);
    if (rc < 0) goto done;
    rc = eval_node(&e, q->root, 0, e.cust);
    if (rc < 0) goto done;
    const uint64_t *t = T_(&e, 0), *u = e.info[q->root->idx].hu ? U_(&e, 0) : e.zero;
    if (any(t) || (u != e.zero && any(u))) {
      rc = out->chunk(out->arg, e.key, t, u);
      if (rc < 0) goto done;
    }
  }
  rc = POND_OK;
done:
  qy_arena_free(&e.arena);
  return rc;
}
