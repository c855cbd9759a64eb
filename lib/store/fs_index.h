/*
 * fs_index.h — the file store's in-memory index of keys.
 *
 * Every key the store knows has one st_rec, allocated once and never moved
 * (so the hash table and the order array can both point at it): the key's
 * bytes and where its current value lies in the log. Values stay on disk.
 * A deleted key keeps its rec, marked dead (vlen == ST_DEAD), until
 * st_index_purge frees it; that way preparing a commit can create the recs
 * of all its keys up front, and applying it afterwards never allocates.
 *
 *   hash   open addressing with linear probing over (rec *, 32-bit tag)
 *          slots, load <= 3/4, deletion by backward shift (no tombstones):
 *          key -> rec in O(1) expected.
 *   order  an array of (8-byte key prefix, rec *) entries: ord[0..sorted)
 *          in ascending key order, ord[sorted..n) appended since. Keys
 *          arriving in ascending order (replaying a compacted log) extend
 *          the sorted part directly; st_index_sort folds the rest in (radix
 *          sort on the prefix, then on the next 8 bytes for ties, then a
 *          merge) when a scan needs order.
 *
 * Memory per key: the rec (14 + klen bytes, one allocation), 12 bytes of
 * hash slot / load factor, 16 bytes of order entry (plus array slack).
 * Not thread-safe; the store serializes access.
 */
#ifndef POND_STORE_FS_INDEX_H
#define POND_STORE_FS_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"

#define ST_DEAD UINT32_MAX

typedef struct st_rec {
  uint64_t off;  /* file offset of the value in the current log */
  uint32_t vlen; /* value bytes, or ST_DEAD */
  uint16_t klen;
  uint8_t key[];
} st_rec;

typedef struct st_ent {
  uint64_t pfx; /* key bytes 0..8, big-endian, zero-padded */
  st_rec *rec;
} st_ent;

typedef struct st_index {
  pc_mem *m;
  st_rec **slot; /* hash slots; NULL = empty */
  uint32_t *tag; /* low 32 bits of each slot's key hash */
  size_t cap;    /* slots: 0 or a power of two */
  size_t count;  /* recs, live and dead */
  size_t dead;   /* recs with vlen == ST_DEAD */
  st_ent *ord;
  size_t n, ocap, sorted;
  size_t pend; /* ord[n - pend, n): appended recs not yet in the hash */
  uint64_t live_bytes; /* encoded size of the live keys' put ops */
  uint64_t rec_bytes;  /* bytes allocated for recs */
} st_index;

void st_index_init(st_index *x, pc_mem *m);
void st_index_free(st_index *x);

/* Room for k more recs: the next k st_index_ensure calls allocate nothing
 * but the recs themselves. POND_ENOMEM, index unchanged. */
int st_index_reserve(st_index *x, size_t k);
/* The rec of key, live or dead, or NULL. */
st_rec *st_index_get(const st_index *x, const void *key, size_t klen);
/* The same with the key's hash given (st_index_hash), so that a caller
 * with many keys can hash them ahead and st_index_prefetch their slots:
 * lookups of a big index are cache misses otherwise. */
uint32_t st_index_hash(const void *key, size_t klen);
void st_index_prefetch(const st_index *x, uint32_t hash);
st_rec *st_index_get_h(const st_index *x, const void *key, size_t klen, uint32_t hash);
int st_index_ensure_h(st_index *x, const void *key, size_t klen, uint32_t hash, st_rec **out);
/* The rec of key, creating a dead one if the key is unknown.
 * POND_ENOMEM (index unchanged). */
int st_index_ensure(st_index *x, const void *key, size_t klen, st_rec **out);
/* Make rec live with its value at off (never fails). */
void st_index_set(st_index *x, st_rec *rec, uint64_t off, uint32_t vlen);
/* Make rec dead (never fails). */
void st_index_kill(st_index *x, st_rec *rec);
/* Frees every dead rec. Never fails; O(cap + n). */
void st_index_purge(st_index *x);
/*
 * Replaying a compacted log meets keys in ascending order, each once: a
 * key above every key of the index cannot be in it, so st_index_append
 * creates its (dead) rec without a hash lookup, and the hash gets all such
 * recs at once in st_index_hash_pending — in the order of their home
 * slots, so the table is written sequentially instead of one cache miss
 * per key (about 3x faster at 1M keys). Until then st_index_get does not
 * see them: callers flush before any lookup.
 */
int st_index_after_last(const st_index *x, const void *key, size_t klen);
int st_index_append(st_index *x, const void *key, size_t klen, st_rec **out);
int st_index_hash_pending(st_index *x);
/* Puts ord[0..n) in ascending key order. POND_ENOMEM (order unchanged). */
int st_index_sort(st_index *x);
/* With ord sorted: the first position whose key is >= key. */
size_t st_index_seek(const st_index *x, const void *key, size_t klen);

static inline size_t st_index_live(const st_index *x) { return x->count - x->dead; }

/* Byte-string order: memcmp, then the shorter first. */
int st_key_cmp(const void *a, size_t al, const void *b, size_t bl);

#endif
