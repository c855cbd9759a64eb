/*
 * fs_index.c — hash table and order array of the file store's keys (see
 * fs_index.h for the layout and the invariants).
 *
 * Sorting is the part that has to be fast without being clever about the
 * keys: pond's keys share long prefixes (a namespace byte and a big-endian
 * id), so a comparison sort that dereferences recs would spend its time in
 * cache misses. Entries carry the first 8 key bytes; an LSD radix sort on
 * those orders most keys without touching the recs, each run of equal
 * prefixes is radix-sorted again on bytes 8..16 (one rec access per key),
 * and only keys that still tie after 16 bytes are compared in full.
 */
#include "store/fs_index.h"

#include <stdlib.h>
#include <string.h>

#include "core/map.h"
#include "store/fs_log.h"

#define HASH_SEED 0x706f6e64u /* "pond" */
#define SMALL_SORT 24

static size_t rec_size(size_t klen) {
  size_t s = offsetof(st_rec, key) + klen;
  return s < sizeof(st_rec) ? sizeof(st_rec) : s;
}

static uint64_t key_pfx(const uint8_t *k, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; i++) v = v << 8 | (i < n ? k[i] : 0u);
  return v;
}

int st_key_cmp(const void *a, size_t al, const void *b, size_t bl) {
  size_t n = al < bl ? al : bl;
  int c = n ? memcmp(a, b, n) : 0;
  if (c) return c;
  return (al > bl) - (al < bl);
}

static int ent_cmp(const st_ent *a, const st_ent *b) {
  if (a->pfx != b->pfx) return a->pfx < b->pfx ? -1 : 1;
  return st_key_cmp(a->rec->key, a->rec->klen, b->rec->key, b->rec->klen);
}

static int ent_qcmp(const void *a, const void *b) { return ent_cmp(a, b); }

void st_index_init(st_index *x, pc_mem *m) {
  memset(x, 0, sizeof *x);
  x->m = m;
}

void st_index_free(st_index *x) {
  for (size_t i = 0; i < x->n; i++) pc_free(x->m, x->ord[i].rec, rec_size(x->ord[i].rec->klen));
  pc_free(x->m, x->ord, x->ocap * sizeof *x->ord);
  pc_free(x->m, x->slot, x->cap * sizeof *x->slot);
  pc_free(x->m, x->tag, x->cap * sizeof *x->tag);
  st_index_init(x, x->m);
}

/* ------------------------------------------------------------------ hash */

/* The slot index comes from the stored tag, so growing never re-reads keys. */
static int hash_grow(st_index *x, size_t need) {
  size_t cap = x->cap ? x->cap : 64;
  while (cap / 4 * 3 < need) {
    if (cap > ((size_t)-1 / 2) / sizeof(st_rec *)) return POND_ENOMEM;
    cap *= 2;
  }
  if (cap == x->cap) return POND_OK;
  st_rec **slot = pc_calloc(x->m, cap * sizeof *slot);
  uint32_t *tag = pc_alloc(x->m, cap * sizeof *tag);
  if (!slot || !tag) {
    pc_free(x->m, slot, cap * sizeof *slot);
    pc_free(x->m, tag, cap * sizeof *tag);
    return POND_ENOMEM;
  }
  size_t mask = cap - 1;
  for (size_t i = 0; i < x->cap; i++) {
    if (!x->slot[i]) continue;
    size_t j = x->tag[i] & mask;
    while (slot[j]) j = (j + 1) & mask;
    slot[j] = x->slot[i];
    tag[j] = x->tag[i];
  }
  pc_free(x->m, x->slot, x->cap * sizeof *x->slot);
  pc_free(x->m, x->tag, x->cap * sizeof *x->tag);
  x->slot = slot;
  x->tag = tag;
  x->cap = cap;
  return POND_OK;
}

/* Backward-shift deletion: later members of the probe run move up into the
 * hole unless their home slot lies cyclically in (hole, their position]. */
static void hash_remove_at(st_index *x, size_t i) {
  size_t mask = x->cap - 1;
  for (;;) {
    x->slot[i] = NULL;
    size_t j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (!x->slot[j]) return;
      size_t k = x->tag[j] & mask;
      int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!stays) break;
    }
    x->slot[i] = x->slot[j];
    x->tag[i] = x->tag[j];
    i = j;
  }
}

static int order_grow(st_index *x, size_t need) {
  if (need <= x->ocap) return POND_OK;
  size_t cap = x->ocap + x->ocap / 2;
  if (cap < need) cap = need;
  if (cap < 64) cap = 64;
  size_t bytes;
  if (!pc_mul_ok(cap, sizeof *x->ord, &bytes)) return POND_ENOMEM;
  st_ent *ord = pc_realloc(x->m, x->ord, x->ocap * sizeof *x->ord, bytes);
  if (!ord) return POND_ENOMEM;
  x->ord = ord;
  x->ocap = cap;
  return POND_OK;
}

int st_index_reserve(st_index *x, size_t k) {
  if (k > (size_t)-1 / 2 - x->count) return POND_ENOMEM;
  int rc = hash_grow(x, x->count + k);
  if (rc == POND_OK) rc = order_grow(x, x->n + k);
  return rc;
}

uint32_t st_index_hash(const void *key, size_t klen) {
  return (uint32_t)pc_hash_bytes(key, klen, HASH_SEED);
}

void st_index_prefetch(const st_index *x, uint32_t t) {
  if (!x->cap) return;
  size_t i = t & (x->cap - 1);
#if defined(__GNUC__)
  __builtin_prefetch(&x->slot[i]);
  __builtin_prefetch(&x->tag[i]);
#endif
}

st_rec *st_index_get(const st_index *x, const void *key, size_t klen) {
  return st_index_get_h(x, key, klen, st_index_hash(key, klen));
}

st_rec *st_index_get_h(const st_index *x, const void *key, size_t klen, uint32_t t) {
  if (!x->cap) return NULL;
  size_t mask = x->cap - 1;
  st_rec *r;
  for (size_t i = t & mask; (r = x->slot[i]) != NULL; i = (i + 1) & mask)
    if (x->tag[i] == t && r->klen == klen && (!klen || !memcmp(r->key, key, klen)))
      return r;
  return NULL;
}

int st_index_ensure(st_index *x, const void *key, size_t klen, st_rec **out) {
  return st_index_ensure_h(x, key, klen, st_index_hash(key, klen), out);
}

int st_index_ensure_h(st_index *x, const void *key, size_t klen, uint32_t t, st_rec **out) {
  st_rec *r = st_index_get_h(x, key, klen, t);
  if (r) {
    *out = r;
    return POND_OK;
  }
  int rc = st_index_reserve(x, 1);
  if (rc) return rc;
  size_t sz = rec_size(klen);
  r = pc_alloc(x->m, sz);
  if (!r) return POND_ENOMEM;
  r->off = 0;
  r->vlen = ST_DEAD;
  r->klen = (uint16_t)klen;
  if (klen) memcpy(r->key, key, klen);

  size_t mask = x->cap - 1, i = t & mask;
  while (x->slot[i]) i = (i + 1) & mask;
  x->slot[i] = r;
  x->tag[i] = t;
  x->count++;
  x->dead++;
  x->rec_bytes += sz;

  st_ent e = {key_pfx(r->key, klen), r};
  if (x->sorted == x->n && (x->n == 0 || ent_cmp(&x->ord[x->n - 1], &e) < 0)) x->sorted++;
  x->ord[x->n++] = e;
  *out = r;
  return POND_OK;
}

int st_index_after_last(const st_index *x, const void *key, size_t klen) {
  if (x->sorted != x->n) return 0;
  if (!x->n) return 1;
  const st_ent *e = &x->ord[x->n - 1];
  uint64_t pk = key_pfx(key, klen);
  if (e->pfx != pk) return e->pfx < pk;
  return st_key_cmp(e->rec->key, e->rec->klen, key, klen) < 0;
}

int st_index_append(st_index *x, const void *key, size_t klen, st_rec **out) {
  if (x->n == x->ocap) POND_TRY(order_grow(x, x->n + 1));
  size_t sz = rec_size(klen);
  st_rec *r = pc_alloc(x->m, sz);
  if (!r) return POND_ENOMEM;
  r->off = 0;
  r->vlen = ST_DEAD;
  r->klen = (uint16_t)klen;
  if (klen) memcpy(r->key, key, klen);
  x->count++;
  x->dead++;
  x->rec_bytes += sz;
  x->ord[x->n++] = (st_ent){key_pfx(r->key, klen), r};
  x->sorted++;
  x->pend++;
  *out = r;
  return POND_OK;
}

typedef struct hent {
  uint64_t t; /* the key's hash tag (low 32 bits) */
  st_rec *r;
} hent;

/* LSD radix sort of a[0..n) by the low `bits` bits of t, 11 per pass;
 * the result ends in a. */
static void radix_home(hent *a, hent *tmp, size_t n, unsigned bits) {
  hent *src = a, *dst = tmp;
  for (unsigned shift = 0; shift < bits; shift += 11) {
    uint32_t cnt[2048];
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < n; i++) cnt[(src[i].t >> shift) & 2047]++;
    uint32_t sum = 0;
    for (unsigned b = 0; b < 2048; b++) {
      uint32_t v = cnt[b];
      cnt[b] = sum;
      sum += v;
    }
    for (size_t i = 0; i < n; i++) dst[cnt[(src[i].t >> shift) & 2047]++] = src[i];
    hent *t = src;
    src = dst;
    dst = t;
  }
  if (src != a) memcpy(a, src, n * sizeof *a);
}

static void hash_put(st_index *x, st_rec *r, uint32_t t) {
  size_t mask = x->cap - 1, i = t & mask;
  while (x->slot[i]) i = (i + 1) & mask;
  x->slot[i] = r;
  x->tag[i] = t;
}

int st_index_hash_pending(st_index *x) {
  size_t k = x->pend;
  if (!k) return POND_OK;
  POND_TRY(hash_grow(x, x->count));
  const st_ent *p = x->ord + x->n - k;
  unsigned bits = 0;
  while (((size_t)1 << bits) < x->cap) bits++;
  hent *h = NULL;
  size_t bytes;
  /* Sorting needs 32 bytes per key; without them (or for a few keys) the
   * recs go in one by one, just slower. */
  if (k > 4096 && k <= UINT32_MAX && pc_mul_ok(k, 2 * sizeof *h, &bytes)) h = pc_alloc(x->m, bytes);
  if (h) {
    for (size_t i = 0; i < k; i++)
      h[i] = (hent){(uint32_t)pc_hash_bytes(p[i].rec->key, p[i].rec->klen, HASH_SEED), p[i].rec};
    radix_home(h, h + k, k, bits);
    for (size_t i = 0; i < k; i++) hash_put(x, h[i].r, (uint32_t)h[i].t);
    pc_free(x->m, h, bytes);
  } else {
    for (size_t i = 0; i < k; i++)
      hash_put(x, p[i].rec, (uint32_t)pc_hash_bytes(p[i].rec->key, p[i].rec->klen, HASH_SEED));
  }
  x->pend = 0;
  return POND_OK;
}

void st_index_set(st_index *x, st_rec *rec, uint64_t off, uint32_t vlen) {
  if (rec->vlen == ST_DEAD)
    x->dead--;
  else
    x->live_bytes -= st_op_size(rec->klen, 1, rec->vlen);
  rec->off = off;
  rec->vlen = vlen;
  x->live_bytes += st_op_size(rec->klen, 1, vlen);
}

void st_index_kill(st_index *x, st_rec *rec) {
  if (rec->vlen == ST_DEAD) return;
  x->live_bytes -= st_op_size(rec->klen, 1, rec->vlen);
  rec->vlen = ST_DEAD;
  x->dead++;
}

void st_index_purge(st_index *x) {
  if (!x->dead) return;
  /* Unlink from the hash first (reads rec->vlen), then free while
   * filtering the order array, where every rec appears exactly once. A
   * removal can shift a later slot into i, so i is examined again. */
  for (size_t i = 0; i < x->cap; i++)
    while (x->slot[i] && x->slot[i]->vlen == ST_DEAD) hash_remove_at(x, i);
  size_t w = 0, ws = 0;
  for (size_t r = 0; r < x->n; r++) {
    st_rec *rec = x->ord[r].rec;
    if (rec->vlen == ST_DEAD) {
      x->rec_bytes -= rec_size(rec->klen);
      pc_free(x->m, rec, rec_size(rec->klen));
      continue;
    }
    if (r < x->sorted) ws++;
    x->ord[w++] = x->ord[r];
  }
  x->count -= x->dead;
  x->dead = 0;
  x->n = w;
  x->sorted = ws;
}

/* ------------------------------------------------------------------ sort */

static void insertion_sort(st_ent *a, size_t n) {
  for (size_t i = 1; i < n; i++) {
    st_ent e = a[i];
    size_t j = i;
    while (j > 0 && ent_cmp(&a[j - 1], &e) > 0) {
      a[j] = a[j - 1];
      j--;
    }
    a[j] = e;
  }
}

/* LSD radix sort on pfx, 8 bits per pass, skipping passes where every
 * entry has the same digit (common: keys share their leading bytes).
 * scratch holds n entries; the result ends in a. n <= UINT32_MAX. */
static void radix_pfx(st_ent *a, size_t n, st_ent *scratch) {
  uint32_t cnt[8][256];
  memset(cnt, 0, sizeof cnt);
  for (size_t i = 0; i < n; i++)
    for (unsigned d = 0; d < 8; d++) cnt[d][(a[i].pfx >> (8 * d)) & 0xff]++;
  st_ent *src = a, *dst = scratch;
  for (unsigned d = 0; d < 8; d++) {
    uint32_t *c = cnt[d];
    if (c[(a[0].pfx >> (8 * d)) & 0xff] == n) continue;
    uint32_t sum = 0;
    for (unsigned b = 0; b < 256; b++) {
      uint32_t v = c[b];
      c[b] = sum;
      sum += v;
    }
    for (size_t i = 0; i < n; i++) dst[c[(src[i].pfx >> (8 * d)) & 0xff]++] = src[i];
    st_ent *t = src;
    src = dst;
    dst = t;
  }
  if (src != a) memcpy(a, src, n * sizeof *a);
}

static void sort_by_pfx(st_ent *a, size_t n, st_ent *scratch) {
  if (n <= SMALL_SORT || n > UINT32_MAX)
    qsort(a, n, sizeof *a, ent_qcmp); /* n > 2^32: correct, just slower */
  else
    radix_pfx(a, n, scratch);
}

/* a[0..r) share their first 8 key bytes (padded). Order them by the next 8
 * (one rec access each), then by full comparison where those tie too. */
static void sort_ties(st_ent *run, size_t r, st_ent *tmp) {
  if (r <= SMALL_SORT) {
    insertion_sort(run, r);
    return;
  }
  uint64_t p0 = run[0].pfx;
  for (size_t k = 0; k < r; k++) {
    const st_rec *rec = run[k].rec;
    /* Keys that end within 8 bytes get 0 and tie with keys whose bytes
     * 8..16 are zero; the full comparison below orders those. */
    tmp[k].pfx = rec->klen > 8 ? key_pfx(rec->key + 8, rec->klen - 8u) : 0;
    tmp[k].rec = run[k].rec;
  }
  sort_by_pfx(tmp, r, run);
  for (size_t i = 0; i < r;) {
    size_t j = i + 1;
    while (j < r && tmp[j].pfx == tmp[i].pfx) j++;
    if (j - i > SMALL_SORT)
      qsort(tmp + i, j - i, sizeof *tmp, ent_qcmp);
    else if (j - i > 1)
      insertion_sort(tmp + i, j - i);
    i = j;
  }
  for (size_t k = 0; k < r; k++) {
    run[k].pfx = p0;
    run[k].rec = tmp[k].rec;
  }
}

static void sort_ents(st_ent *a, size_t n, st_ent *tmp) {
  if (n <= SMALL_SORT) {
    insertion_sort(a, n);
    return;
  }
  sort_by_pfx(a, n, tmp);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && a[j].pfx == a[i].pfx) j++;
    if (j - i > 1) sort_ties(a + i, j - i, tmp);
    i = j;
  }
}

static unsigned bit_length(size_t v) {
  unsigned b = 0;
  while (v) {
    b++;
    v >>= 1;
  }
  return b;
}

/* Merges the sorted tail (copied to tmp) into the sorted head, from the
 * back. A short tail gallops: each of its entries finds its place by binary
 * search, and the head moves by memmove — O(t log h) comparisons instead of
 * O(h + t), which matters because comparisons may touch recs. */
static void merge_tail(st_index *x, st_ent *tmp) {
  size_t h = x->sorted, t = x->n - h;
  memcpy(tmp, x->ord + h, t * sizeof *tmp);
  st_ent *ord = x->ord;
  if ((uint64_t)t * bit_length(h) < h) {
    size_t i = h;
    for (size_t j = t; j > 0; j--) {
      st_ent e = tmp[j - 1];
      size_t lo = 0, hi = i;
      while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ent_cmp(&ord[mid], &e) < 0)
          lo = mid + 1;
        else
          hi = mid;
      }
      memmove(&ord[lo + j], &ord[lo], (i - lo) * sizeof *ord);
      ord[lo + j - 1] = e;
      i = lo;
    }
    return;
  }
  size_t i = h, j = t, k = x->n;
  while (j > 0) {
    if (i > 0 && ent_cmp(&ord[i - 1], &tmp[j - 1]) > 0)
      ord[--k] = ord[--i];
    else
      ord[--k] = tmp[--j];
  }
}

int st_index_sort(st_index *x) {
  size_t t = x->n - x->sorted;
  if (t == 0) return POND_OK;
  st_ent *tmp = pc_alloc(x->m, t * sizeof *tmp);
  if (!tmp) return POND_ENOMEM;
  sort_ents(x->ord + x->sorted, t, tmp);
  merge_tail(x, tmp);
  pc_free(x->m, tmp, t * sizeof *tmp);
  x->sorted = x->n;
  return POND_OK;
}

size_t st_index_seek(const st_index *x, const void *key, size_t klen) {
  uint64_t pk = key_pfx(key, klen);
  size_t lo = 0, hi = x->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const st_ent *e = &x->ord[mid];
    int c = e->pfx != pk ? (e->pfx < pk ? -1 : 1)
                         : st_key_cmp(e->rec->key, e->rec->klen, key, klen);
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}
