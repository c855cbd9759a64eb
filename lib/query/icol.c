/*
 * icol.c — the int column index (see icol.h for the layout and why).
 *
 * Invariants: keys[] strictly ascending; every chunk holds n >= 1 values;
 * a sparse chunk's slots[] strictly ascending; every value's offset fits
 * the chunk's frame (v - base < 2^bits). Mutations build what they need
 * first and commit by pointer swaps, so a failed allocation leaves the
 * column as it was.
 */
#include "query/icol.h"

#include <string.h>

#include "pond.h"

static unsigned ctz64(uint64_t x) {
#if defined(__GNUC__)
  return (unsigned)__builtin_ctzll(x);
#else
  unsigned n = 0;
  while (!(x & 1)) x >>= 1, n++;
  return n;
#endif
}

static unsigned bitlen(uint64_t x) {
  unsigned n = 0;
  while (x) x >>= 1, n++;
  return n;
}

static uint8_t width_for(unsigned bits) { return bits <= 8 ? 1 : bits <= 16 ? 2 : bits <= 32 ? 4 : 8; }
static uint8_t planes_for(unsigned bits) { return (uint8_t)((bits + 7) / 8); }

/* A chunk turns dense when its sparse form would take at least half the
 * bytes of the dense one, and back to sparse below a quarter of that (the
 * gap keeps a chunk from flipping on every insert/remove). */
static uint32_t dense_at(unsigned bits) {
  size_t dense = (size_t)planes_for(bits) * QY_CHUNK_SLOTS + QY_CHUNK_WORDS * 8;
  return (uint32_t)(dense / (2 + width_for(bits)) / 2);
}

/* ------------------------------------------------------- value storage */

static uint64_t sparse_load(const qy_ichunk *k, size_t i) {
  switch (k->width) {
    case 1: return ((const uint8_t *)k->vals)[i];
    case 2: return ((const uint16_t *)k->vals)[i];
    case 4: return ((const uint32_t *)k->vals)[i];
    default: return ((const uint64_t *)k->vals)[i];
  }
}

static void sparse_store(qy_ichunk *k, size_t i, uint64_t u) {
  switch (k->width) {
    case 1: ((uint8_t *)k->vals)[i] = (uint8_t)u; break;
    case 2: ((uint16_t *)k->vals)[i] = (uint16_t)u; break;
    case 4: ((uint32_t *)k->vals)[i] = (uint32_t)u; break;
    default: ((uint64_t *)k->vals)[i] = u; break;
  }
}

/* Dense: the offset is left-aligned to 8 × planes bits and split into
 * bytes, most significant in plane 0. */
static unsigned align_shift(const qy_ichunk *k) { return 8u * k->planes - k->bits; }

static uint64_t dense_load(const qy_ichunk *k, unsigned slot) {
  const uint8_t *p = k->vals;
  uint64_t a = 0;
  for (unsigned i = 0; i < k->planes; i++) a = a << 8 | p[(size_t)i * QY_CHUNK_SLOTS + slot];
  return a >> align_shift(k);
}

static void dense_store(qy_ichunk *k, unsigned slot, uint64_t u) {
  uint8_t *p = k->vals;
  uint64_t a = u << align_shift(k);
  for (unsigned i = k->planes; i-- > 0;) {
    p[(size_t)i * QY_CHUNK_SLOTS + slot] = (uint8_t)a;
    a >>= 8;
  }
}

static int fits(const qy_ichunk *k, int64_t v) {
  if (v < k->base) return 0;
  return k->bits >= 64 || ((uint64_t)v - (uint64_t)k->base) >> k->bits == 0;
}

static size_t vals_bytes(const qy_ichunk *k) {
  return k->dense ? (size_t)k->planes * QY_CHUNK_SLOTS : (size_t)k->cap * k->width;
}

static void chunk_free(pc_mem *m, qy_ichunk *k) {
  if (!k) return;
  pc_free(m, k->vals, vals_bytes(k));
  if (k->dense) pc_free(m, k->nn, QY_CHUNK_WORDS * 8);
  else pc_free(m, k->slots, (size_t)k->cap * 2);
  pc_free(m, k, sizeof *k);
}

void qy_icol_init(qy_icol *c) { memset(c, 0, sizeof *c); }

void qy_icol_free(pc_mem *m, qy_icol *c) {
  for (uint32_t i = 0; i < c->n; i++) chunk_free(m, c->chunks[i]);
  pc_free(m, c->keys, (size_t)c->cap * sizeof *c->keys);
  pc_free(m, c->chunks, (size_t)c->cap * sizeof *c->chunks);
  qy_icol_init(c);
}

/* Index of key in keys[], or -(insertion point) - 1. */
static long find_key(const qy_icol *c, uint64_t key) {
  uint32_t lo = 0, hi = c->n;
  if (hi && c->keys[hi - 1] < key) return -(long)hi - 1; /* appending ids */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (c->keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < c->n && c->keys[lo] == key ? (long)lo : -(long)lo - 1;
}

/* Position of slot in a sparse chunk, or -(insertion point) - 1. */
static long find_slot(const qy_ichunk *k, uint16_t slot) {
  uint32_t lo = 0, hi = k->n;
  if (hi && k->slots[hi - 1] < slot) return -(long)hi - 1;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (k->slots[mid] < slot) lo = mid + 1;
    else hi = mid;
  }
  return lo < k->n && k->slots[lo] == slot ? (long)lo : -(long)lo - 1;
}

static int has_slot(const qy_ichunk *k, unsigned s) { return k->nn[s >> 6] >> (s & 63) & 1; }

const qy_ichunk *qy_icol_chunk(const qy_icol *c, uint64_t key) {
  long i = find_key(c, key);
  return i >= 0 ? c->chunks[i] : NULL;
}

int qy_ichunk_get(const qy_ichunk *k, unsigned slot, int64_t *v) {
  if (!k) return 0;
  uint64_t u;
  if (k->dense) {
    if (!has_slot(k, slot)) return 0;
    u = dense_load(k, slot);
  } else {
    long i = find_slot(k, (uint16_t)slot);
    if (i < 0) return 0;
    u = sparse_load(k, (size_t)i);
  }
  *v = (int64_t)((uint64_t)k->base + u);
  return 1;
}

/* ---------------------------------------------------------- candidates */

/* Calls BODY(s, u) for every slot s of care holding a value, with u its
 * offset (value = base + u); sets the slot in nn. Dense chunks test the
 * value bitset and read the planes for the candidates only, in batches
 * (cand_batch); sparse ones walk their sorted slots against care. */
#define CAND_BATCH 256u

/* The next batch of a dense chunk's candidates from word *w on (at most
 * CAND_BATCH slots into q, whole words), set in nn, with every plane byte
 * they need prefetched before any is read: the chunk is rarely in cache
 * when the candidates are few, and the misses then overlap instead of
 * coming one after another. Returns how many; *w is the next word. */
static unsigned cand_batch(const qy_ichunk *k, const uint64_t *care, uint64_t *nn, unsigned *w,
                           uint16_t *q) {
  unsigned n = 0;
  for (; *w < QY_CHUNK_WORDS && n <= CAND_BATCH - 64; (*w)++) {
    uint64_t b = care[*w] & k->nn[*w];
    nn[*w] = b;
    for (; b; b &= b - 1) {
      unsigned s = *w * 64 + (unsigned)__builtin_ctzll(b);
      for (unsigned i = 0; i < k->planes; i++)
        __builtin_prefetch(k->vals + (size_t)i * QY_CHUNK_SLOTS + s);
      q[n++] = (uint16_t)s;
    }
  }
  return n;
}

#define FOR_EACH_CAND(k, care, nn, s, u, BODY)                                  \
  do {                                                                          \
    if ((k)->dense) {                                                           \
      const uint8_t *p_ = (k)->vals;                                            \
      unsigned np_ = (k)->planes, sh_ = align_shift(k), w_ = 0;                 \
      uint16_t q_[CAND_BATCH];                                                  \
      while (w_ < QY_CHUNK_WORDS) {                                             \
        unsigned nq_ = cand_batch((k), (care), (nn), &w_, q_);                  \
        for (unsigned j_ = 0; j_ < nq_; j_++) {                                 \
          unsigned s = q_[j_];                                                  \
          uint64_t a_ = p_[s];                                                  \
          for (unsigned i_ = 1; i_ < np_; i_++) a_ = a_ << 8 | p_[(size_t)i_ * QY_CHUNK_SLOTS + s]; \
          uint64_t u = a_ >> sh_;                                               \
          BODY;                                                                 \
        }                                                                       \
      }                                                                         \
    } else {                                                                    \
      for (uint32_t j_ = 0; j_ < (k)->n; j_++) {                                \
        unsigned s = (k)->slots[j_];                                            \
        if (!((care)[s >> 6] >> (s & 63) & 1)) continue;                        \
        (nn)[s >> 6] |= UINT64_C(1) << (s & 63);                                \
        uint64_t u = sparse_load((k), j_);                                      \
        BODY;                                                                   \
      }                                                                         \
    }                                                                           \
  } while (0)

void qy_ichunk_cands_range(const qy_ichunk *k, const uint64_t *care, int64_t lo, int64_t hi,
                           uint64_t *hit, uint64_t *nn) {
  memset(hit, 0, QY_CHUNK_WORDS * 8);
  memset(nn, 0, QY_CHUNK_WORDS * 8);
  if (!k) return;
  /* [lo, hi] in offsets; an empty range still reports the valued slots */
  uint64_t ulo = 1, uhi = 0;
  if (lo <= hi && hi >= k->base) {
    ulo = lo < k->base ? 0 : (uint64_t)lo - (uint64_t)k->base;
    uhi = (uint64_t)hi - (uint64_t)k->base;
  }
  uint64_t span = uhi - ulo;
  if (ulo > uhi) {
    FOR_EACH_CAND(k, care, nn, s, u, (void)s; (void)u);
    return;
  }
  FOR_EACH_CAND(k, care, nn, s, u, hit[s >> 6] |= (uint64_t)(u - ulo <= span) << (s & 63));
}

void qy_ichunk_cands_in(const qy_ichunk *k, const uint64_t *care, const uint64_t *tab,
                        uint32_t ntab, uint64_t *hit, uint64_t *nn) {
  memset(hit, 0, QY_CHUNK_WORDS * 8);
  memset(nn, 0, QY_CHUNK_WORDS * 8);
  if (!k) return;
  uint64_t base = (uint64_t)k->base;
  FOR_EACH_CAND(k, care, nn, s, u, {
    uint64_t v = base + u;
    if (v >> 6 < ntab && (tab[v >> 6] >> (v & 63) & 1)) hit[s >> 6] |= UINT64_C(1) << (s & 63);
  });
}

int qy_icol_get(const qy_icol *c, uint64_t cid, int64_t *v) {
  return qy_ichunk_get(qy_icol_chunk(c, cid >> 16), (unsigned)(cid & 0xFFFF), v);
}

/* ------------------------------------------------------------- frames */

/* The frame for values spanning [lo, hi], with one bit of headroom: the
 * span takes at most half of the offsets and sits in their middle. */
static void choose_frame(int64_t lo, int64_t hi, uint8_t *bits, int64_t *base) {
  uint64_t span = (uint64_t)hi - (uint64_t)lo;
  unsigned L = bitlen(span) + 1;
  if (L >= 64) {
    *bits = 64;
    *base = INT64_MIN;
    return;
  }
  uint64_t slack = (((UINT64_C(1) << L) - 1) - span) / 2;
  *bits = (uint8_t)L;
  /* base = lo - slack, not below INT64_MIN */
  *base = (uint64_t)lo - (uint64_t)INT64_MIN < slack ? INT64_MIN
                                                    : (int64_t)((uint64_t)lo - slack);
}

/* A chunk of the given form and frame, without values; its arrays are
 * allocated (sparse: for cap entries). NULL on allocation failure. */
static qy_ichunk *chunk_new(pc_mem *m, int dense, uint8_t bits, int64_t base, uint32_t cap) {
  qy_ichunk *r = pc_calloc(m, sizeof *r);
  if (!r) return NULL;
  r->bits = bits;
  r->base = base;
  r->width = width_for(bits);
  r->planes = planes_for(bits);
  r->dense = (uint8_t)dense;
  r->cap = dense ? 0 : cap;
  if (dense) {
    r->nn = pc_calloc(m, QY_CHUNK_WORDS * 8);
    r->vals = pc_calloc(m, vals_bytes(r));
  } else {
    r->slots = pc_alloc(m, (size_t)cap * 2);
    r->vals = pc_alloc(m, vals_bytes(r));
  }
  if (!r->vals || (dense ? !r->nn : !r->slots)) {
    chunk_free(m, r);
    return NULL;
  }
  return r;
}

/* Calls each value of k as (slot or position, offset). */
#define FOR_EACH_VALUE(k, s, u, body)                                          \
  do {                                                                         \
    if ((k)->dense) {                                                          \
      for (uint32_t w_ = 0; w_ < QY_CHUNK_WORDS; w_++)                         \
        for (uint64_t b_ = (k)->nn[w_]; b_; b_ &= b_ - 1) {                    \
          unsigned s = w_ * 64 + ctz64(b_);                                    \
          uint64_t u = dense_load((k), s);                                     \
          body;                                                                \
        }                                                                      \
    } else {                                                                   \
      for (uint32_t i_ = 0; i_ < (k)->n; i_++) {                               \
        unsigned s = (k)->slots[i_];                                           \
        uint64_t u = sparse_load((k), i_);                                     \
        body;                                                                  \
      }                                                                        \
    }                                                                          \
  } while (0)

/* A copy of k in the given form (dense or sparse with room for cap), in
 * the frame fitting k's values and v (or k's own frame when keep). */
static qy_ichunk *rebuild(pc_mem *m, const qy_ichunk *k, int dense, uint32_t cap, int keep,
                          int64_t v) {
  uint8_t bits = k->bits;
  int64_t base = k->base;
  if (!keep) {
    int64_t lo = v, hi = v;
    FOR_EACH_VALUE(k, s, u, {
      int64_t x = (int64_t)((uint64_t)k->base + u);
      if (x < lo) lo = x;
      if (x > hi) hi = x;
      (void)s;
    });
    choose_frame(lo, hi, &bits, &base);
  }
  qy_ichunk *r = chunk_new(m, dense, bits, base, cap);
  if (!r) return NULL;
  uint32_t j = 0;
  FOR_EACH_VALUE(k, s, u, {
    uint64_t x = (uint64_t)k->base + u - (uint64_t)base;
    if (dense) {
      r->nn[s >> 6] |= UINT64_C(1) << (s & 63);
      dense_store(r, s, x);
    } else {
      r->slots[j] = (uint16_t)s;
      sparse_store(r, j, x);
    }
    j++;
  });
  r->n = k->n;
  return r;
}

static int grow_keys(pc_mem *m, qy_icol *c) {
  if (c->n < c->cap) return POND_OK;
  uint32_t ncap = c->cap ? c->cap * 2 : 8;
  uint64_t *keys = pc_alloc(m, (size_t)ncap * sizeof *keys);
  qy_ichunk **chunks = pc_alloc(m, (size_t)ncap * sizeof *chunks);
  if (!keys || !chunks) {
    pc_free(m, keys, (size_t)ncap * sizeof *keys);
    pc_free(m, chunks, (size_t)ncap * sizeof *chunks);
    return POND_ENOMEM;
  }
  if (c->n) {
    memcpy(keys, c->keys, c->n * sizeof *keys);
    memcpy(chunks, c->chunks, c->n * sizeof *chunks);
  }
  pc_free(m, c->keys, (size_t)c->cap * sizeof *keys);
  pc_free(m, c->chunks, (size_t)c->cap * sizeof *chunks);
  c->keys = keys;
  c->chunks = chunks;
  c->cap = ncap;
  return POND_OK;
}

/* ------------------------------------------------------------ updates */

int qy_icol_set(pc_mem *m, qy_icol *c, uint64_t cid, int64_t v) {
  uint64_t key = cid >> 16;
  unsigned slot = (unsigned)(cid & 0xFFFF);
  long ki = find_key(c, key);
  if (ki < 0) {
    /* a new chunk holding just this value */
    if (grow_keys(m, c) != POND_OK) return POND_ENOMEM;
    uint8_t bits;
    int64_t base;
    choose_frame(v, v, &bits, &base);
    qy_ichunk *k = chunk_new(m, 0, bits, base, 4);
    if (!k) return POND_ENOMEM;
    k->slots[0] = (uint16_t)slot;
    sparse_store(k, 0, (uint64_t)v - (uint64_t)base);
    k->n = 1;
    size_t at = (size_t)(-ki - 1);
    memmove(c->keys + at + 1, c->keys + at, (c->n - at) * sizeof *c->keys);
    memmove(c->chunks + at + 1, c->chunks + at, (c->n - at) * sizeof *c->chunks);
    c->keys[at] = key;
    c->chunks[at] = k;
    c->n++;
    c->count++;
    return POND_OK;
  }
  qy_ichunk *k = c->chunks[ki];
  long si = 0;
  int present = k->dense ? has_slot(k, slot) : (si = find_slot(k, (uint16_t)slot)) >= 0;
  int full = !k->dense && !present && k->n == k->cap;
  if (!fits(k, v) || full) {
    qy_ichunk *r = rebuild(m, k, k->dense, full ? k->cap * 2 : k->cap, fits(k, v), v);
    if (!r) return POND_ENOMEM;
    chunk_free(m, k);
    c->chunks[ki] = k = r;
  }
  uint64_t u = (uint64_t)v - (uint64_t)k->base;
  if (k->dense) {
    dense_store(k, slot, u);
    if (!present) {
      k->nn[slot >> 6] |= UINT64_C(1) << (slot & 63);
      k->n++;
      c->count++;
    }
    return POND_OK;
  }
  if (present) {
    sparse_store(k, (size_t)si, u);
    return POND_OK;
  }
  size_t at = (size_t)(-si - 1);
  memmove(k->slots + at + 1, k->slots + at, (k->n - at) * 2);
  memmove((char *)k->vals + (at + 1) * k->width, (char *)k->vals + at * k->width,
          (k->n - at) * k->width);
  k->slots[at] = (uint16_t)slot;
  sparse_store(k, at, u);
  k->n++;
  c->count++;
  if (k->n >= dense_at(k->bits)) {
    qy_ichunk *d = rebuild(m, k, 1, 0, 1, 0);
    if (d) { /* else stay sparse: correct, only slower */
      chunk_free(m, k);
      c->chunks[ki] = d;
    }
  }
  return POND_OK;
}

void qy_icol_clear(pc_mem *m, qy_icol *c, uint64_t cid) {
  long ki = find_key(c, cid >> 16);
  if (ki < 0) return;
  qy_ichunk *k = c->chunks[ki];
  unsigned slot = (unsigned)(cid & 0xFFFF);
  if (k->dense) {
    if (!has_slot(k, slot)) return;
    k->nn[slot >> 6] &= ~(UINT64_C(1) << (slot & 63));
    dense_store(k, slot, 0);
  } else {
    long si = find_slot(k, (uint16_t)slot);
    if (si < 0) return;
    size_t at = (size_t)si;
    memmove(k->slots + at, k->slots + at + 1, (k->n - at - 1) * 2);
    memmove((char *)k->vals + at * k->width, (char *)k->vals + (at + 1) * k->width,
            (k->n - at - 1) * k->width);
  }
  k->n--;
  c->count--;
  if (k->n == 0) {
    chunk_free(m, k);
    memmove(c->keys + ki, c->keys + ki + 1, (c->n - (size_t)ki - 1) * sizeof *c->keys);
    memmove(c->chunks + ki, c->chunks + ki + 1, (c->n - (size_t)ki - 1) * sizeof *c->chunks);
    c->n--;
    return;
  }
  if (k->dense && k->n < dense_at(k->bits) / 4) {
    qy_ichunk *s = rebuild(m, k, 0, k->n, 1, 0);
    if (s) {
      chunk_free(m, k);
      c->chunks[ki] = s;
    }
  }
}

/* -------------------------------------------------------------- reads */

void qy_ichunk_notnull(const qy_ichunk *k, uint64_t *out) {
  memset(out, 0, QY_CHUNK_WORDS * 8);
  if (!k) return;
  if (k->dense) {
    memcpy(out, k->nn, QY_CHUNK_WORDS * 8);
    return;
  }
  for (uint32_t i = 0; i < k->n; i++) out[k->slots[i] >> 6] |= UINT64_C(1) << (k->slots[i] & 63);
}

void qy_ichunk_range(const qy_ichunk *k, int64_t lo, int64_t hi, uint64_t *out) {
  if (!k || lo > hi || hi < k->base) {
    memset(out, 0, QY_CHUNK_WORDS * 8);
    return;
  }
  /* clip [lo, hi] to the frame's offsets [0, 2^bits - 1] */
  uint64_t max = k->bits >= 64 ? UINT64_MAX : (UINT64_C(1) << k->bits) - 1;
  uint64_t ulo = lo < k->base ? 0 : (uint64_t)lo - (uint64_t)k->base;
  uint64_t uhi = (uint64_t)hi - (uint64_t)k->base;
  if (ulo > max) {
    memset(out, 0, QY_CHUNK_WORDS * 8);
    return;
  }
  if (uhi > max) uhi = max;
  if (k->dense) {
    unsigned sh = align_shift(k);
    qy_scan_planes(k->vals, k->planes, ulo << sh, uhi << sh, out, -1);
    for (uint32_t w = 0; w < QY_CHUNK_WORDS; w++) out[w] &= k->nn[w];
    return;
  }
  memset(out, 0, QY_CHUNK_WORDS * 8);
  uint64_t span = uhi - ulo;
  for (uint32_t i = 0; i < k->n; i++)
    if (sparse_load(k, i) - ulo <= span) out[k->slots[i] >> 6] |= UINT64_C(1) << (k->slots[i] & 63);
}

void qy_ichunk_decode(const qy_ichunk *k, int64_t *vals, uint64_t *nn) {
  memset(nn, 0, QY_CHUNK_WORDS * 8);
  memset(vals, 0, QY_CHUNK_SLOTS * sizeof *vals);
  if (!k) return;
  FOR_EACH_VALUE(k, s, u, {
    nn[s >> 6] |= UINT64_C(1) << (s & 63);
    vals[s] = (int64_t)((uint64_t)k->base + u);
  });
}

size_t qy_icol_memory(const qy_icol *c) {
  size_t b = (size_t)c->cap * (sizeof *c->keys + sizeof *c->chunks);
  for (uint32_t i = 0; i < c->n; i++) {
    const qy_ichunk *k = c->chunks[i];
    b += sizeof *k + vals_bytes(k) + (k->dense ? QY_CHUNK_WORDS * 8 : (size_t)k->cap * 2);
  }
  return b;
}
