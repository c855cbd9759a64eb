/*
 * bm.c — the bitmap: a sorted array of chunk keys (id >> 16) with one
 * container per key, and the operations on single ids, copies, reads,
 * iteration and paging (bm.h has the contract).
 *
 * Layout: keys and ctrs live in one block of cap * 16 bytes (keys first),
 * grown by half again; the block never shrinks while the bitmap lives, so
 * removing a container and putting one back never allocates. A flat key
 * array over id >> 16 costs nothing for ids below 2^32 and serves 64-bit
 * ids too (a two-level layout would add an indirection for every id).
 *
 * Lookups test the last key first (ids usually arrive in ascending
 * order), then bisect.
 */
#include <string.h>

#include "bitmap/bm.h"
#include "bitmap/bmint.h"
#include "bitmap/ctr.h"
#include "bitmap/kern.h"

void bm_init(bm *b) {
  b->keys = NULL;
  b->ctrs = NULL;
  b->n = b->cap = 0;
}

static size_t block_bytes(uint32_t cap) { return (size_t)cap * (sizeof(uint64_t) + sizeof(ct *)); }

void bm_free(pc_mem *m, bm *b) {
  for (uint32_t i = 0; i < b->n; i++) ct_release(m, b->ctrs[i]);
  if (b->cap) pc_free(m, b->keys, block_bytes(b->cap));
  bm_init(b);
}

/* A block for cap containers, with n entries copied from b. */
static int new_block(pc_mem *m, const bm *b, uint32_t cap, uint64_t **keys, ct ***ctrs) {
  void *p = pc_alloc(m, block_bytes(cap));
  if (!p) return POND_ENOMEM;
  *keys = p;
  *ctrs = (ct **)(void *)((uint64_t *)p + cap);
  if (b->n) {
    memcpy(*keys, b->keys, (size_t)b->n * sizeof **keys);
    memcpy(*ctrs, b->ctrs, (size_t)b->n * sizeof **ctrs);
  }
  return POND_OK;
}

/* Room for `more` more containers. */
int bm_reserve(pc_mem *m, bm *b, uint32_t more) {
  if (b->cap - b->n >= more) return POND_OK;
  if (more > UINT32_MAX / 2 - b->n) return POND_ENOMEM;
  uint32_t cap = b->n + more, g = b->cap + b->cap / 2;
  if (g > cap && g < UINT32_MAX / 2) cap = g;
  if (cap < 4) cap = 4;
  uint64_t *keys;
  ct **ctrs;
  POND_TRY(new_block(m, b, cap, &keys, &ctrs));
  if (b->cap) pc_free(m, b->keys, block_bytes(b->cap));
  b->keys = keys;
  b->ctrs = ctrs;
  b->cap = cap;
  return POND_OK;
}

/* Index of key, or -(insertion point) - 1. */
long bm_find(const bm *b, uint64_t key) {
  uint32_t n = b->n;
  if (n && b->keys[n - 1] <= key) return b->keys[n - 1] == key ? (long)n - 1 : -(long)n - 1;
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (b->keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && b->keys[lo] == key ? (long)lo : -(long)lo - 1;
}

/* Inserts (key, c) at i; room must have been reserved. */
void bm_insert_at(bm *b, uint32_t i, uint64_t key, ct *c) {
  memmove(b->keys + i + 1, b->keys + i, (size_t)(b->n - i) * sizeof *b->keys);
  memmove(b->ctrs + i + 1, b->ctrs + i, (size_t)(b->n - i) * sizeof *b->ctrs);
  b->keys[i] = key;
  b->ctrs[i] = c;
  b->n++;
}

static void erase_at(pc_mem *m, bm *b, uint32_t i) {
  ct_release(m, b->ctrs[i]);
  memmove(b->keys + i, b->keys + i + 1, (size_t)(b->n - i - 1) * sizeof *b->keys);
  memmove(b->ctrs + i, b->ctrs + i + 1, (size_t)(b->n - i - 1) * sizeof *b->ctrs);
  b->n--;
}

int bm_copy(pc_mem *m, bm *dst, const bm *src) {
  if (dst == src) return POND_OK;
  bm c;
  bm_init(&c);
  if (src->n) {
    POND_TRY(new_block(m, src, src->n, &c.keys, &c.ctrs));
    c.n = c.cap = src->n;
    for (uint32_t i = 0; i < c.n; i++) ct_ref(c.ctrs[i]);
  }
  bm_free(m, dst);
  *dst = c;
  return POND_OK;
}

void bm_move(pc_mem *m, bm *dst, bm *src) {
  if (dst == src) return;
  bm_free(m, dst);
  *dst = *src;
  bm_init(src);
}

int bm_add(pc_mem *m, bm *b, uint64_t x) {
  uint64_t key = x >> 16;
  long i = bm_find(b, key);
  if (i >= 0) return ct_add(m, &b->ctrs[i], (uint16_t)x);
  POND_TRY(bm_reserve(m, b, 1));
  ct *c = ct_new_array(m, 4);
  if (!c) return POND_ENOMEM;
  ct_arr(c)[0] = (uint16_t)x;
  c->n = c->card = 1;
  bm_insert_at(b, (uint32_t)(-i - 1), key, c);
  return 1;
}

int bm_remove(pc_mem *m, bm *b, uint64_t x) {
  long i = bm_find(b, x >> 16);
  if (i < 0) return 0;
  ct *c = b->ctrs[i];
  if (c->card == 1) {
    if (!ct_contains(c, (uint16_t)x)) return 0;
    erase_at(m, b, (uint32_t)i);
    return 1;
  }
  return ct_remove(m, &b->ctrs[i], (uint16_t)x);
}

int bm_contains(const bm *b, uint64_t x) {
  long i = bm_find(b, x >> 16);
  return i >= 0 && ct_contains(b->ctrs[i], (uint16_t)x);
}

uint64_t bm_card(const bm *b) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < b->n; i++) n += b->ctrs[i]->card;
  return n;
}

int bm_is_empty(const bm *b) { return b->n == 0; }

int bm_equal(const bm *a, const bm *b) {
  if (a->n != b->n) return 0;
  if (a->n && memcmp(a->keys, b->keys, (size_t)a->n * sizeof *a->keys)) return 0;
  for (uint32_t i = 0; i < a->n; i++)
    if (!ct_equal(a->ctrs[i], b->ctrs[i])) return 0;
  return 1;
}

uint64_t bm_min(const bm *b) { return b->n ? b->keys[0] << 16 | ct_min(b->ctrs[0]) : 0; }
uint64_t bm_max(const bm *b) {
  return b->n ? b->keys[b->n - 1] << 16 | ct_max(b->ctrs[b->n - 1]) : 0;
}

/* First container index with key >= from's key; *lo gets the low bits to
 * start from in it (0 when its key is greater). */
static uint32_t seek(const bm *b, uint64_t from, uint32_t *lo) {
  long i = bm_find(b, from >> 16);
  if (i >= 0) {
    *lo = (uint32_t)(from & 0xffff);
    return (uint32_t)i;
  }
  *lo = 0;
  return (uint32_t)(-i - 1);
}

size_t bm_page(const bm *b, uint64_t from, uint64_t *out, size_t cap) {
  uint32_t lo;
  size_t k = 0;
  for (uint32_t i = seek(b, from, &lo); i < b->n && k < cap; i++, lo = 0)
    k += ct_page(b->ctrs[i], lo, b->keys[i] << 16, out + k, cap - k);
  return k;
}

void bm_iter_init(bm_iter *it, const bm *b, uint64_t from) {
  uint32_t lo;
  it->b = b;
  it->ci = seek(b, from, &lo);
  it->pos = it->sub = 0;
  if (it->ci < b->n) ct_seek(b->ctrs[it->ci], lo, &it->pos, &it->sub);
}

int bm_iter_next(bm_iter *it, uint64_t *x) {
  const bm *b = it->b;
  while (it->ci < b->n) {
    uint16_t v;
    if (ct_next(b->ctrs[it->ci], &it->pos, &it->sub, &v)) {
      *x = b->keys[it->ci] << 16 | v;
      return 1;
    }
    if (++it->ci < b->n) ct_seek(b->ctrs[it->ci], 0, &it->pos, &it->sub);
  }
  return 0;
}

size_t bm_memory(const bm *b) {
  size_t n = block_bytes(b->cap);
  for (uint32_t i = 0; i < b->n; i++) n += ct_bytes(b->ctrs[i]);
  return n;
}

int bm_run_optimize(pc_mem *m, bm *b) {
  for (uint32_t i = 0; i < b->n; i++) {
    ct *c = b->ctrs[i];
    int k = ct_best_kind(c->card, ct_nruns(c), c->kind);
    if (k == c->kind) continue;
    ct *d = ct_convert(m, c, k);
    if (!d) return POND_ENOMEM; /* the containers done so far stay converted: same contents */
    ct_release(m, c);
    b->ctrs[i] = d;
  }
  return POND_OK;
}

void bm_chunk_words(const bm *b, uint64_t key, uint64_t *words) {
  long i = bm_find(b, key);
  if (i < 0) {
    memset(words, 0, CT_BITSET_BYTES);
    return;
  }
  ct_to_words(b->ctrs[i], words);
}

const uint64_t *bm_chunk_bitset(const bm *b, uint64_t key) {
  long i = bm_find(b, key);
  return i >= 0 && b->ctrs[i]->kind == CT_BITSET ? b->ctrs[i]->d : NULL;
}

int bm_append_words(pc_mem *m, bm *b, uint64_t key, const uint64_t *words) {
  uint32_t card = (uint32_t)kn_popcount(words, CT_WORDS); /* dispatched: popcnt / AVX2 */
  if (!card) return POND_OK;
  long i = bm_find(b, key);
  if (i >= 0) { /* not an append: merge with what is there */
    ct *add = ct_from_words(m, words, card, 1), *r;
    if (!add) return POND_ENOMEM;
    int rc = ct_op(m, BM_OR, b->ctrs[i], add, &r);
    ct_release(m, add);
    POND_TRY(rc);
    ct_release(m, b->ctrs[i]);
    b->ctrs[i] = r;
    return POND_OK;
  }
  POND_TRY(bm_reserve(m, b, 1));
  ct *c = ct_from_words(m, words, card, 1);
  if (!c) return POND_ENOMEM;
  bm_insert_at(b, (uint32_t)(-i - 1), key, c);
  return POND_OK;
}
