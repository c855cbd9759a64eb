/*
 * map.h — hash maps used across pond (open addressing, power-of-two sizes).
 *
 * CONTRACT (implemented in map.c):
 *  pc_map64: uint64_t key -> uint64_t value. Any key value is allowed
 *            (including 0 and UINT64_MAX).
 *  pc_strmap: byte-string key -> uint64_t value. Keys are BORROWED: the map
 *            stores the pointer and length; the caller keeps the bytes alive
 *            and unchanged while they are in the map.
 * Every fallible call returns POND_OK, POND_NOTFOUND or POND_ENOMEM and leaves
 * the map unchanged on failure. pc_*_reserve(n) guarantees the next n inserts
 * of new keys do not allocate; removals never allocate.
 * Iteration order is unspecified; a removal during iteration is allowed for
 * the entry just returned.
 */
#ifndef POND_CORE_MAP_H
#define POND_CORE_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"

typedef struct pc_map64 {
  uint64_t *keys;
  uint64_t *vals;
  uint8_t *meta;   /* slot state */
  size_t cap;      /* slots, power of two or 0 */
  size_t count;    /* live entries */
  size_t used;     /* live + deleted slots */
} pc_map64;

void pc_map64_init(pc_map64 *h);
void pc_map64_free(pc_mem *m, pc_map64 *h);
int pc_map64_reserve(pc_mem *m, pc_map64 *h, size_t extra);
/* Inserts or overwrites. */
int pc_map64_put(pc_mem *m, pc_map64 *h, uint64_t key, uint64_t val);
/* POND_OK and *val, or POND_NOTFOUND. val may be NULL. */
int pc_map64_get(const pc_map64 *h, uint64_t key, uint64_t *val);
/* Pointer to the stored value, or NULL. */
uint64_t *pc_map64_ref(const pc_map64 *h, uint64_t key);
int pc_map64_del(pc_map64 *h, uint64_t key);
/* Iterate: size_t it = 0; while (pc_map64_next(h, &it, &k, &v)) … */
int pc_map64_next(const pc_map64 *h, size_t *it, uint64_t *key, uint64_t *val);

typedef struct pc_strmap {
  const char **keys;
  size_t *klens;
  uint64_t *vals;
  uint32_t *hashes;
  uint8_t *meta;
  size_t cap, count, used;
} pc_strmap;

void pc_strmap_init(pc_strmap *h);
void pc_strmap_free(pc_mem *m, pc_strmap *h);
int pc_strmap_reserve(pc_mem *m, pc_strmap *h, size_t extra);
int pc_strmap_put(pc_mem *m, pc_strmap *h, const char *key, size_t klen, uint64_t val);
int pc_strmap_get(const pc_strmap *h, const char *key, size_t klen, uint64_t *val);
int pc_strmap_del(pc_strmap *h, const char *key, size_t klen);
int pc_strmap_next(const pc_strmap *h, size_t *it, const char **key, size_t *klen,
                   uint64_t *val);

/* 64-bit hashes: XXH3 when built with xxhash, a built-in mix otherwise. */
uint64_t pc_hash_bytes(const void *p, size_t n, uint64_t seed);
uint64_t pc_hash_u64(uint64_t x);

#endif
