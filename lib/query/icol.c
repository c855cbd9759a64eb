/*
 * icol.c — the int column index (see icol.h for the layout and why).
 *
 * Invariants: keys[] strictly ascending; every chunk holds n >= 1 values;
 * a sparse chunk's slots[] strictly ascending; every stored value fits the
 * chunk's width (v - base <= max for the width). Mutations build what they
 * need first and commit by pointer swaps, so a failed allocation leaves
 * the column as it was.
 */
#include "query/icol.h"

#include <string.h>

#include "pond.h"

/* A chunk turns dense when its sparse form would take at least half the
 * bytes of the dense one, and back to sparse below a quarter of that (the
 * gap keeps a chunk from flipping on every insert/remove). */
static uint32_t dense_at(unsigned width) {
  return (uint32_t)((QY_CHUNK_SLOTS * (size_t)width + QY_CHUNK_WORDS * 8) / (2 + width) / 2);
}

static unsigned ctz64(uint64_t x) {
#if defined(__GNUC__)
  return (unsigned)__builtin_ctzll(x);
#else
  unsigned n = 0;
  while (!(x & 1)) x >>= 1, n++;
  return n;
#endif
}

static uint64_t width_max(unsigned width) {
  return width == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * width)) - 1;
}

static uint64_t load(const void *vals, unsigned width, size_t i) {
  switch (width) {
    case 1: return ((const uint8_t *)vals)[i];
    case 2: return ((const uint16_t *)vals)[i];
    case 4: return ((const uint32_t *)vals)[i];
    default: return ((const uint64_t *)vals)[i];
  }
}

static void store(void *vals, unsigned width, size_t i, uint64_t u) {
  switch (width) {
    case 1: ((uint8_t *)vals)[i] = (uint8_t)u; break;
    case 2: ((uint16_t *)vals)[i] = (uint16_t)u; break;
    case 4: ((uint32_t *)vals)[i] = (uint32_t)u; break;
    default: ((uint64_t *)vals)[i] = u; break;
  }
}

static int fits(const qy_ichunk *k, int64_t v) {
  return v >= k->base && (uint64_t)v - (uint64_t)k->base <= width_max(k->width);
}

static size_t vals_bytes(const qy_ichunk *k) {
  return (size_t)(k->dense ? QY_CHUNK_SLOTS : k->cap) * k->width;
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

const qy_ichunk *qy_icol_chunk(const qy_icol *c, uint64_t key) {
  long i = find_key(c, key);
  return i >= 0 ? c->chunks[i] : NULL;
}

int qy_icol_get(const qy_icol *c, uint64_t cid, int64_t *v) {
  const qy_ichunk *k = qy_icol_chunk(c, cid >> 16);
  if (!k) return 0;
  uint16_t slot = (uint16_t)cid;
  size_t at;
  if (k->dense) {
    if (!(k->nn[slot >> 6] >> (slot & 63) & 1)) return 0;
    at = slot;
  } else {
    long i = find_slot(k, slot);
    if (i < 0) return 0;
    at = (size_t)i;
  }
  *v = (int64_t)((uint64_t)k->base + load(k->vals, k->width, at));
  return 1;
}

/* The frame (width, base) for values spanning [lo, hi], with headroom:
 * the span takes at most half of the width's range and sits in its
 * middle, so neighbours of the current values fit without re-encoding. */
static void choose_frame(int64_t lo, int64_t hi, uint8_t *width, int64_t *base) {
  uint64_t span = (uint64_t)hi - (uint64_t)lo;
  static const uint8_t widths[] = {1, 2, 4};
  for (size_t i = 0; i < sizeof widths; i++) {
    uint64_t max = width_max(widths[i]);
    if (span > max / 2) continue;
    uint64_t slack = (max - span) / 2;
    *width = widths[i];
    /* base = lo - slack, not below INT64_MIN */
    *base = (uint64_t)lo - (uint64_t)INT64_MIN < slack ? INT64_MIN
                                                      : (int64_t)((uint64_t)lo - slack);
    return;
  }
  *width = 8;
  *base = INT64_MIN;
}

/* A copy of k re-encoded so that v fits too, with room for `room` values
 * when sparse. NULL on allocation failure. */
static qy_ichunk *reencode(pc_mem *m, const qy_ichunk *k, int64_t v, uint32_t room) {
  int64_t lo = v, hi = v;
  size_t count = k->dense ? QY_CHUNK_SLOTS : k->n;
  for (size_t i = 0; i < count; i++) {
    if (k->dense && !(k->nn[i >> 6] >> (i & 63) & 1)) continue;
    int64_t x = (int64_t)((uint64_t)k->base + load(k->vals, k->width, i));
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  qy_ichunk *r = pc_alloc(m, sizeof *r);
  if (!r) return NULL;
  *r = *k;
  choose_frame(lo, hi, &r->width, &r->base);
  r->cap = k->dense ? 0 : room;
  r->vals = pc_alloc(m, vals_bytes(r));
  r->nn = NULL;
  r->slots = NULL;
  if (!r->vals) goto fail;
  if (k->dense) {
    r->nn = pc_alloc(m, QY_CHUNK_WORDS * 8);
    if (!r->nn) goto fail;
    memcpy(r->nn, k->nn, QY_CHUNK_WORDS * 8);
    memset(r->vals, 0, vals_bytes(r));
  } else {
    r->slots = pc_alloc(m, (size_t)room * 2);
    if (!r->slots) goto fail;
    memcpy(r->slots, k->slots, (size_t)k->n * 2);
  }
  for (size_t i = 0; i < count; i++) {
    if (k->dense && !(k->nn[i >> 6] >> (i & 63) & 1)) continue;
    uint64_t x = (uint64_t)k->base + load(k->vals, k->width, i);
    store(r->vals, r->width, i, x - (uint64_t)r->base);
  }
  return r;
fail:
  pc_free(m, r->vals, vals_bytes(r));
  pc_free(m, r->slots, (size_t)room * 2);
  pc_free(m, r, sizeof *r);
  return NULL;
}

/* A dense copy of sparse chunk k. */
static qy_ichunk *densify(pc_mem *m, const qy_ichunk *k) {
  qy_ichunk *r = pc_alloc(m, sizeof *r);
  if (!r) return NULL;
  *r = *k;
  r->dense = 1;
  r->cap = 0;
  r->slots = NULL;
  r->nn = pc_calloc(m, QY_CHUNK_WORDS * 8);
  r->vals = pc_calloc(m, (size_t)QY_CHUNK_SLOTS * k->width);
  if (!r->nn || !r->vals) {
    pc_free(m, r->nn, QY_CHUNK_WORDS * 8);
    pc_free(m, r->vals, (size_t)QY_CHUNK_SLOTS * k->width);
    pc_free(m, r, sizeof *r);
    return NULL;
  }
  for (uint32_t i = 0; i < k->n; i++) {
    uint16_t s = k->slots[i];
    r->nn[s >> 6] |= UINT64_C(1) << (s & 63);
    store(r->vals, r->width, s, load(k->vals, k->width, i));
  }
  return r;
}

/* A sparse copy of dense chunk k (used when it has shrunk). */
static qy_ichunk *sparsify(pc_mem *m, const qy_ichunk *k) {
  qy_ichunk *r = pc_alloc(m, sizeof *r);
  if (!r) return NULL;
  *r = *k;
  r->dense = 0;
  r->cap = k->n;
  r->nn = NULL;
  r->slots = pc_alloc(m, (size_t)r->cap * 2);
  r->vals = pc_alloc(m, (size_t)r->cap * k->width);
  if (!r->slots || !r->vals) {
    pc_free(m, r->slots, (size_t)r->cap * 2);
    pc_free(m, r->vals, (size_t)r->cap * k->width);
    pc_free(m, r, sizeof *r);
    return NULL;
  }
  uint32_t j = 0;
  for (uint32_t w = 0; w < QY_CHUNK_WORDS; w++)
    for (uint64_t bits = k->nn[w]; bits; bits &= bits - 1) {
      unsigned s = w * 64 + ctz64(bits);
      r->slots[j] = (uint16_t)s;
      store(r->vals, r->width, j, load(k->vals, k->width, s));
      j++;
    }
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

/* Doubles a sparse chunk's capacity (new blocks, then swap). */
static int grow_sparse(pc_mem *m, qy_ichunk *k) {
  uint32_t ncap = k->cap * 2;
  uint16_t *slots = pc_alloc(m, (size_t)ncap * 2);
  void *vals = pc_alloc(m, (size_t)ncap * k->width);
  if (!slots || !vals) {
    pc_free(m, slots, (size_t)ncap * 2);
    pc_free(m, vals, (size_t)ncap * k->width);
    return POND_ENOMEM;
  }
  memcpy(slots, k->slots, (size_t)k->n * 2);
  memcpy(vals, k->vals, (size_t)k->n * k->width);
  pc_free(m, k->slots, (size_t)k->cap * 2);
  pc_free(m, k->vals, (size_t)k->cap * k->width);
  k->slots = slots;
  k->vals = vals;
  k->cap = ncap;
  return POND_OK;
}

int qy_icol_set(pc_mem *m, qy_icol *c, uint64_t cid, int64_t v) {
  uint64_t key = cid >> 16;
  uint16_t slot = (uint16_t)cid;
  long ki = find_key(c, key);
  if (ki < 0) {
    /* a new chunk holding just this value */
    if (grow_keys(m, c) != POND_OK) return POND_ENOMEM;
    qy_ichunk *k = pc_calloc(m, sizeof *k);
    if (!k) return POND_ENOMEM;
    choose_frame(v, v, &k->width, &k->base);
    k->cap = 4;
    k->slots = pc_alloc(m, (size_t)k->cap * 2);
    k->vals = pc_alloc(m, (size_t)k->cap * k->width);
    if (!k->slots || !k->vals) {
      pc_free(m, k->slots, (size_t)k->cap * 2);
      pc_free(m, k->vals, (size_t)k->cap * k->width);
      pc_free(m, k, sizeof *k);
      return POND_ENOMEM;
    }
    k->slots[0] = slot;
    store(k->vals, k->width, 0, (uint64_t)v - (uint64_t)k->base);
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
  int present;
  long si = 0;
  if (k->dense) {
    present = k->nn[slot >> 6] >> (slot & 63) & 1;
  } else {
    si = find_slot(k, slot);
    present = si >= 0;
  }
  int full = !k->dense && !present && k->n == k->cap;
  if (!fits(k, v)) {
    qy_ichunk *r = reencode(m, k, v, full ? k->cap * 2 : k->cap);
    if (!r) return POND_ENOMEM;
    chunk_free(m, k);
    c->chunks[ki] = k = r;
  } else if (full && grow_sparse(m, k) != POND_OK) {
    return POND_ENOMEM;
  }
  uint64_t u = (uint64_t)v - (uint64_t)k->base;
  if (k->dense) {
    store(k->vals, k->width, slot, u);
    if (!present) {
      k->nn[slot >> 6] |= UINT64_C(1) << (slot & 63);
      k->n++;
      c->count++;
    }
    return POND_OK;
  }
  if (present) {
    store(k->vals, k->width, (size_t)si, u);
    return POND_OK;
  }
  size_t at = (size_t)(-si - 1);
  memmove(k->slots + at + 1, k->slots + at, (k->n - at) * 2);
  memmove((char *)k->vals + (at + 1) * k->width, (char *)k->vals + at * k->width,
          (k->n - at) * k->width);
  k->slots[at] = slot;
  store(k->vals, k->width, at, u);
  k->n++;
  c->count++;
  if (k->n >= dense_at(k->width)) {
    qy_ichunk *d = densify(m, k);
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
  uint16_t slot = (uint16_t)cid;
  if (k->dense) {
    if (!(k->nn[slot >> 6] >> (slot & 63) & 1)) return;
    k->nn[slot >> 6] &= ~(UINT64_C(1) << (slot & 63));
    store(k->vals, k->width, slot, 0);
  } else {
    long si = find_slot(k, slot);
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
  if (k->dense && k->n < dense_at(k->width) / 4) {
    qy_ichunk *s = sparsify(m, k);
    if (s) {
      chunk_free(m, k);
      c->chunks[ki] = s;
    }
  }
}

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
  if (!k || lo > hi) {
    memset(out, 0, QY_CHUNK_WORDS * 8);
    return;
  }
  /* clip [lo, hi] to the frame [base, base + max] (offsets from base are
   * compared unsigned: base + max may lie beyond INT64_MAX) */
  uint64_t max = width_max(k->width);
  if (hi < k->base) {
    memset(out, 0, QY_CHUNK_WORDS * 8);
    return;
  }
  uint64_t ulo = lo < k->base ? 0 : (uint64_t)lo - (uint64_t)k->base;
  uint64_t uhi = (uint64_t)hi - (uint64_t)k->base;
  if (ulo > max) {
    memset(out, 0, QY_CHUNK_WORDS * 8);
    return;
  }
  if (uhi > max) uhi = max;
  if (k->dense) {
    qy_scan_dense(k->vals, k->width, ulo, uhi - ulo, out, -1);
    for (uint32_t w = 0; w < QY_CHUNK_WORDS; w++) out[w] &= k->nn[w];
    return;
  }
  memset(out, 0, QY_CHUNK_WORDS * 8);
  uint64_t span = uhi - ulo;
  for (uint32_t i = 0; i < k->n; i++)
    if (load(k->vals, k->width, i) - ulo <= span)
      out[k->slots[i] >> 6] |= UINT64_C(1) << (k->slots[i] & 63);
}

int qy_ichunk_get(const qy_ichunk *k, unsigned slot, int64_t *v) {
  if (!k) return 0;
  size_t at = slot;
  if (k->dense) {
    if (!(k->nn[slot >> 6] >> (slot & 63) & 1)) return 0;
  } else {
    long i = find_slot(k, (uint16_t)slot);
    if (i < 0) return 0;
    at = (size_t)i;
  }
  *v = (int64_t)((uint64_t)k->base + load(k->vals, k->width, at));
  return 1;
}

void qy_ichunk_decode(const qy_ichunk *k, int64_t *vals, uint64_t *nn) {
  memset(nn, 0, QY_CHUNK_WORDS * 8);
  memset(vals, 0, QY_CHUNK_SLOTS * sizeof *vals);
  if (!k) return;
  if (k->dense) {
    memcpy(nn, k->nn, QY_CHUNK_WORDS * 8);
    for (uint32_t w = 0; w < QY_CHUNK_WORDS; w++)
      for (uint64_t bits = k->nn[w]; bits; bits &= bits - 1) {
        unsigned s = w * 64 + ctz64(bits);
        vals[s] = (int64_t)((uint64_t)k->base + load(k->vals, k->width, s));
      }
    return;
  }
  for (uint32_t i = 0; i < k->n; i++) {
    unsigned s = k->slots[i];
    nn[s >> 6] |= UINT64_C(1) << (s & 63);
    vals[s] = (int64_t)((uint64_t)k->base + load(k->vals, k->width, i));
  }
}

size_t qy_icol_memory(const qy_icol *c) {
  size_t b = (size_t)c->cap * (sizeof *c->keys + sizeof *c->chunks);
  for (uint32_t i = 0; i < c->n; i++) {
    const qy_ichunk *k = c->chunks[i];
    b += sizeof *k + vals_bytes(k) + (k->dense ? QY_CHUNK_WORDS * 8 : (size_t)k->cap * 2);
  }
  return b;
}
