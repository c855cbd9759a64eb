/*
 * map.c — pc_map64 (u64 -> u64) and pc_strmap (borrowed bytes -> u64).
 *
 * Layout: one block per table, cut into parallel arrays (keys, values, [key
 * lengths, stored 32-bit hashes,] meta). cap is a power of two; a key's home
 * slot is hash & (cap - 1) and collisions probe linearly.
 *
 * meta[i] is EMPTY (0), DELETED (1, a tombstone) or LIVE: 0x80 | seven hash
 * bits not used by the index. meta has GROUP extra bytes mirroring its first
 * GROUP bytes, so eight consecutive slots (wrapping) can be read as one
 * word at any position. A probe reads eight meta bytes at a time and finds
 * the tag matches and the empty slots with word arithmetic: the loop exits
 * by a branch that is nearly always taken the same way, so the CPU keeps
 * several look-ups in flight instead of stalling on a mispredicted probe
 * length, and keys are touched only on a tag match (1 in 128 otherwise).
 *
 * Deletion leaves a tombstone rather than shifting entries back: a backward
 * shift would move an unvisited entry behind a running iterator, and map.h
 * allows removing the entry just returned while iterating. A tombstone
 * followed by an EMPTY slot ends no probe chain, so such runs are turned back
 * into EMPTY at once. Invariant: between a key's home slot and its slot
 * there is no EMPTY slot.
 *
 * Load: `used` (live + tombstones) never exceeds 3/4 of cap. A table is
 * rebuilt only when an insert would break that bound; reserve(n) rebuilds
 * ahead so that the next n inserts of new keys fit without one. A rebuild
 * allocates the new block before touching the old one, so failure leaves
 * the map as it was.
 *
 * Complexity: get/put/del O(1) expected; rebuild O(cap); iteration O(cap).
 */
#include <string.h>

#include "core/err.h"
#include "core/map.h"

enum { EMPTY = 0, DELETED = 1, LIVE = 0x80 };
#define MIN_CAP 8
#define GROUP 8
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static size_t max_load(size_t cap) { return cap - cap / 4; }

/* The smallest power-of-two capacity holding need entries, or 0 on
 * overflow. */
static size_t cap_for(size_t need) {
  size_t cap = MIN_CAP;
  while (max_load(cap) < need) {
    if (cap > ((size_t)-1 >> 1)) return 0;
    cap <<= 1;
  }
  return cap;
}

/* Capacity for an insert that found no free slot: rebuilding at the same
 * size pays off only when it reclaims many tombstones; otherwise a churn of
 * deletes and inserts would rebuild every few operations. */
static size_t grow_cap(size_t cap, size_t count, size_t used) {
  size_t c = cap_for(count + 1);
  if (c && c <= cap) {
    if (used - count >= cap / 8) return cap;
    c = cap << 1;
    if (c < cap) return 0;
  }
  return c;
}

/* pc_map64's hash. Keys that are close — customer ids from a counter, the
 * common case — land in nearby slots: the 64 keys of an aligned block keep
 * their order from a random position (a mix of key >> 6), so a run of ids
 * reads a few cache lines of the table instead of one per id. The seven
 * tag bits come from a multiplicative hash of the whole key, so keys of one
 * block still have distinct tags. */
static inline uint64_t map64_hash(uint64_t key) {
  uint64_t index = (pc_hash_u64(key >> 6) + (key & 63)) & ((1ull << 57) - 1);
  return index | ((key * 0x9E3779B97F4A7C15ull) >> 57) << 57;
}

/* ---- meta groups --------------------------------------------------------- */

/* Eight meta bytes from p, byte k in bits 8k..8k+7 whatever the host order. */
static inline uint64_t load_group(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return w;
#else
  w = 0;
  for (int k = 7; k >= 0; k--) w = w << 8 | p[k];
  return w;
#endif
}

/* High bit of each zero byte of x, exactly: no carry crosses a byte, so a
 * flagged slot is always a true match, never a neighbour of one (which the
 * cheaper has-zero trick allows), and EMPTY tests need no second look. */
static inline uint64_t zero_bytes(uint64_t x) {
  return ~(((x & ~HIGHS) + ~HIGHS) | x) & HIGHS;
}
/* High bit of each byte equal to the tag t. */
static inline uint64_t match_tag(uint64_t g, uint8_t t) { return zero_bytes(g ^ (ONES * t)); }
/* High bit of each EMPTY byte. */
static inline uint64_t has_empty(uint64_t g) { return zero_bytes(g); }
/* High bit of each byte that is EMPTY or DELETED (exact). */
static inline uint64_t free_slots(uint64_t g) { return ~g & HIGHS; }

/* Index of the lowest flagged byte of a nonzero mask. */
static inline size_t first_byte(uint64_t m) {
#if defined(__GNUC__)
  return (size_t)__builtin_ctzll(m) >> 3;
#else
  size_t k = 0;
  while (!(m & 0x80)) m >>= 8, k++;
  return k;
#endif
}

static inline void set_meta(uint8_t *meta, size_t cap, size_t i, uint8_t v) {
  meta[i] = v;
  if (i < GROUP) meta[cap + i] = v;
}

/* The first EMPTY or DELETED slot from home on. The load bound guarantees
 * one exists. */
static size_t first_free(const uint8_t *meta, size_t mask, size_t home) {
  size_t pos = home;
  for (;;) {
    uint64_t f = free_slots(load_group(meta + pos));
    if (f) return (pos + first_byte(f)) & mask;
    pos = (pos + GROUP) & mask;
  }
}

/* Marks slot i free: EMPTY when nothing probes through it, else DELETED. */
static void release_slot(uint8_t *meta, size_t cap, size_t i, size_t *used) {
  size_t mask = cap - 1;
  if (meta[(i + 1) & mask] != EMPTY) {
    set_meta(meta, cap, i, DELETED);
    return;
  }
  /* Tombstones just before an EMPTY slot end no chain: reclaim them too. */
  do {
    set_meta(meta, cap, i, EMPTY);
    (*used)--;
    i = (i - 1) & mask;
  } while (meta[i] == DELETED);
}

/* ---- pc_map64 ------------------------------------------------------------ */

static inline uint8_t tag64(uint64_t h) { return (uint8_t)(LIVE | (h >> 57)); }

/* Bytes of a table of cap slots, or 0 on overflow. */
static size_t map64_bytes(size_t cap) {
  size_t n = 0;
  if (!pc_mul_ok(cap, 2 * sizeof(uint64_t) + 1, &n) || n + GROUP < n) return 0;
  return n + GROUP;
}

void pc_map64_init(pc_map64 *h) { memset(h, 0, sizeof *h); }

void pc_map64_free(pc_mem *m, pc_map64 *h) {
  if (h->cap) pc_free(m, h->keys, map64_bytes(h->cap));
  pc_map64_init(h);
}

/* Index of key's slot, or cap when absent. */
static inline size_t map64_find(const pc_map64 *h, uint64_t key, uint64_t hv) {
  size_t mask = h->cap - 1, pos = (size_t)hv & mask;
  uint8_t t = tag64(hv);
  /* Most keys sit in their home slot. Testing it first lets the CPU load
   * the slot's key in parallel with its meta byte (the address does not
   * depend on meta), where the group path needs meta before it knows which
   * key to load: one memory latency instead of two on a large table. */
  if (h->meta[pos] == t && h->keys[pos] == key) return pos;
  for (;;) {
    uint64_t g = load_group(h->meta + pos);
    for (uint64_t mt = match_tag(g, t); mt; mt &= mt - 1) {
      size_t i = (pos + first_byte(mt)) & mask;
      if (h->keys[i] == key) return i;
    }
    if (has_empty(g)) return h->cap;
    pos = (pos + GROUP) & mask;
  }
}

static int map64_rebuild(pc_mem *m, pc_map64 *h, size_t ncap) {
  size_t bytes = map64_bytes(ncap);
  if (!bytes) return POND_ENOMEM;
  uint64_t *nk = pc_alloc(m, bytes);
  if (!nk) return POND_ENOMEM;
  uint64_t *nv = nk + ncap;
  uint8_t *nm = (uint8_t *)(nv + ncap);
  memset(nm, EMPTY, ncap + GROUP);
  size_t mask = ncap - 1;
  for (size_t i = 0; i < h->cap; i++) {
    if (!(h->meta[i] & LIVE)) continue;
    uint64_t hv = map64_hash(h->keys[i]);
    size_t j = first_free(nm, mask, (size_t)hv & mask);
    set_meta(nm, ncap, j, tag64(hv));
    nk[j] = h->keys[i];
    nv[j] = h->vals[i];
  }
  if (h->cap) pc_free(m, h->keys, map64_bytes(h->cap));
  h->keys = nk;
  h->vals = nv;
  h->meta = nm;
  h->cap = ncap;
  h->used = h->count;
  return POND_OK;
}

int pc_map64_reserve(pc_mem *m, pc_map64 *h, size_t extra) {
  if (h->used + extra <= max_load(h->cap) && h->used + extra >= h->used) return POND_OK;
  if (h->count + extra < h->count) return POND_ENOMEM;
  size_t ncap = cap_for(h->count + extra);
  if (!ncap) return POND_ENOMEM;
  if (ncap < h->cap) ncap = h->cap;
  return map64_rebuild(m, h, ncap);
}

int pc_map64_put(pc_mem *m, pc_map64 *h, uint64_t key, uint64_t val) {
  uint64_t hv = map64_hash(key);
  size_t i;
  if (h->cap) {
    /* An EMPTY home slot means the key is absent and this is its place. */
    i = (size_t)hv & (h->cap - 1);
    if (h->meta[i] == EMPTY && h->used + 1 <= max_load(h->cap)) goto place;
    i = map64_find(h, key, hv);
    if (i != h->cap) {
      h->vals[i] = val;
      return POND_OK;
    }
    i = first_free(h->meta, h->cap - 1, (size_t)hv & (h->cap - 1));
    /* Reusing a tombstone never breaks the load bound. */
    if (h->meta[i] == DELETED) goto place;
    if (h->used + 1 <= max_load(h->cap)) goto place;
  }
  POND_TRY(map64_rebuild(m, h, grow_cap(h->cap, h->count, h->used)));
  i = first_free(h->meta, h->cap - 1, (size_t)hv & (h->cap - 1));
place:
  if (h->meta[i] == EMPTY) h->used++;
  set_meta(h->meta, h->cap, i, tag64(hv));
  h->keys[i] = key;
  h->vals[i] = val;
  h->count++;
  return POND_OK;
}

int pc_map64_get(const pc_map64 *h, uint64_t key, uint64_t *val) {
  if (!h->count) return POND_NOTFOUND;
  size_t i = map64_find(h, key, map64_hash(key));
  if (i == h->cap) return POND_NOTFOUND;
  if (val) *val = h->vals[i];
  return POND_OK;
}

uint64_t *pc_map64_ref(const pc_map64 *h, uint64_t key) {
  if (!h->count) return NULL;
  size_t i = map64_find(h, key, map64_hash(key));
  return i == h->cap ? NULL : &h->vals[i];
}

int pc_map64_del(pc_map64 *h, uint64_t key) {
  if (!h->count) return POND_NOTFOUND;
  size_t i = map64_find(h, key, map64_hash(key));
  if (i == h->cap) return POND_NOTFOUND;
  release_slot(h->meta, h->cap, i, &h->used);
  h->count--;
  return POND_OK;
}

int pc_map64_next(const pc_map64 *h, size_t *it, uint64_t *key, uint64_t *val) {
  for (size_t i = *it; i < h->cap; i++) {
    if (h->meta[i] & LIVE) {
      if (key) *key = h->keys[i];
      if (val) *val = h->vals[i];
      *it = i + 1;
      return 1;
    }
  }
  *it = h->cap;
  return 0;
}

/* ---- pc_strmap ----------------------------------------------------------- */

/* The stored hash keeps 32 bits: the index uses its low bits, the meta tag
 * its top seven (they overlap only in tables above 2^25 slots, which costs
 * some filtering, not correctness). */
static inline uint32_t str_hash(const char *key, size_t klen) {
  uint64_t h = pc_hash_bytes(key, klen, 0);
  return (uint32_t)(h ^ (h >> 32));
}
static inline uint8_t tag32(uint32_t h) { return (uint8_t)(LIVE | (h >> 25)); }

#define STR_SLOT (sizeof(const char *) + sizeof(size_t) + sizeof(uint64_t) + sizeof(uint32_t) + 1)

static size_t strmap_bytes(size_t cap) {
  size_t n = 0;
  if (!pc_mul_ok(cap, STR_SLOT, &n) || n + GROUP < n) return 0;
  return n + GROUP;
}

void pc_strmap_init(pc_strmap *h) { memset(h, 0, sizeof *h); }

void pc_strmap_free(pc_mem *m, pc_strmap *h) {
  if (h->cap) pc_free(m, (void *)h->keys, strmap_bytes(h->cap));
  pc_strmap_init(h);
}

static size_t strmap_find(const pc_strmap *h, const char *key, size_t klen, uint32_t hv) {
  size_t mask = h->cap - 1, pos = hv & mask;
  uint8_t t = tag32(hv);
  if (h->meta[pos] == t && h->hashes[pos] == hv && h->klens[pos] == klen &&
      (klen == 0 || memcmp(h->keys[pos], key, klen) == 0))
    return pos; /* the home slot first, as in map64_find */
  for (;;) {
    uint64_t g = load_group(h->meta + pos);
    for (uint64_t mt = match_tag(g, t); mt; mt &= mt - 1) {
      size_t i = (pos + first_byte(mt)) & mask;
      if (h->hashes[i] == hv && h->klens[i] == klen &&
          (klen == 0 || memcmp(h->keys[i], key, klen) == 0))
        return i;
    }
    if (has_empty(g)) return h->cap;
    pos = (pos + GROUP) & mask;
  }
}

static int strmap_rebuild(pc_mem *m, pc_strmap *h, size_t ncap) {
  size_t bytes = strmap_bytes(ncap);
  if (!bytes) return POND_ENOMEM;
  /* Widest members first so every array stays aligned. */
  const char **nk = pc_alloc(m, bytes);
  if (!nk) return POND_ENOMEM;
  size_t *nl = (size_t *)(nk + ncap);
  uint64_t *nv = (uint64_t *)(nl + ncap);
  uint32_t *nh = (uint32_t *)(nv + ncap);
  uint8_t *nm = (uint8_t *)(nh + ncap);
  memset(nm, EMPTY, ncap + GROUP);
  size_t mask = ncap - 1;
  for (size_t i = 0; i < h->cap; i++) {
    if (!(h->meta[i] & LIVE)) continue;
    uint32_t hv = h->hashes[i];
    size_t j = first_free(nm, mask, hv & mask);
    set_meta(nm, ncap, j, h->meta[i]);
    nk[j] = h->keys[i];
    nl[j] = h->klens[i];
    nv[j] = h->vals[i];
    nh[j] = hv;
  }
  if (h->cap) pc_free(m, (void *)h->keys, strmap_bytes(h->cap));
  h->keys = nk;
  h->klens = nl;
  h->vals = nv;
  h->hashes = nh;
  h->meta = nm;
  h->cap = ncap;
  h->used = h->count;
  return POND_OK;
}

int pc_strmap_reserve(pc_mem *m, pc_strmap *h, size_t extra) {
  if (h->used + extra <= max_load(h->cap) && h->used + extra >= h->used) return POND_OK;
  if (h->count + extra < h->count) return POND_ENOMEM;
  size_t ncap = cap_for(h->count + extra);
  if (!ncap) return POND_ENOMEM;
  if (ncap < h->cap) ncap = h->cap;
  return strmap_rebuild(m, h, ncap);
}

int pc_strmap_put(pc_mem *m, pc_strmap *h, const char *key, size_t klen, uint64_t val) {
  uint32_t hv = str_hash(key, klen);
  size_t i;
  if (h->cap) {
    i = hv & (h->cap - 1);
    if (h->meta[i] == EMPTY && h->used + 1 <= max_load(h->cap)) goto place;
    i = strmap_find(h, key, klen, hv);
    if (i != h->cap) {
      h->vals[i] = val;
      return POND_OK;
    }
    i = first_free(h->meta, h->cap - 1, hv & (h->cap - 1));
    if (h->meta[i] == DELETED) goto place;
    if (h->used + 1 <= max_load(h->cap)) goto place;
  }
  POND_TRY(strmap_rebuild(m, h, grow_cap(h->cap, h->count, h->used)));
  i = first_free(h->meta, h->cap - 1, hv & (h->cap - 1));
place:
  if (h->meta[i] == EMPTY) h->used++;
  set_meta(h->meta, h->cap, i, tag32(hv));
  h->keys[i] = key;
  h->klens[i] = klen;
  h->vals[i] = val;
  h->hashes[i] = hv;
  h->count++;
  return POND_OK;
}

int pc_strmap_get(const pc_strmap *h, const char *key, size_t klen, uint64_t *val) {
  if (!h->count) return POND_NOTFOUND;
  size_t i = strmap_find(h, key, klen, str_hash(key, klen));
  if (i == h->cap) return POND_NOTFOUND;
  if (val) *val = h->vals[i];
  return POND_OK;
}

int pc_strmap_del(pc_strmap *h, const char *key, size_t klen) {
  if (!h->count) return POND_NOTFOUND;
  size_t i = strmap_find(h, key, klen, str_hash(key, klen));
  if (i == h->cap) return POND_NOTFOUND;
  release_slot(h->meta, h->cap, i, &h->used);
  h->count--;
  return POND_OK;
}

int pc_strmap_next(const pc_strmap *h, size_t *it, const char **key, size_t *klen,
                   uint64_t *val) {
  for (size_t i = *it; i < h->cap; i++) {
    if (h->meta[i] & LIVE) {
      if (key) *key = h->keys[i];
      if (klen) *klen = h->klens[i];
      if (val) *val = h->vals[i];
      *it = i + 1;
      return 1;
    }
  }
  *it = h->cap;
  return 0;
}
