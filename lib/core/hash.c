/*
 * hash.c — the 64-bit hashes behind pond's maps.
 *
 * pc_hash_bytes is XXH3 (seeded) when built with xxhash; otherwise a built-in
 * hash in the multiply-fold family (wyhash-like): each 16-byte block is folded
 * into the state by one 64x64->128 multiply whose halves are xored, and short
 * inputs read at most two overlapping words, so a 10-byte tag name costs a
 * handful of cycles. pc_hash_u64 is always the built-in 64-bit finalizer (a
 * bijection with full avalanche), because calling XXH3 on 8 bytes is slower
 * and no better.
 *
 * Neither value is stable across builds or byte orders: hashes are for
 * in-memory tables only and must never be persisted.
 */
#include <string.h>

#include "core/map.h"
#include "pond_config.h"

#if POND_HAVE_XXHASH
#define XXH_INLINE_ALL
#include <xxhash.h>
#endif

uint64_t pc_hash_u64(uint64_t x) {
  /* splitmix64's finalizer: every input bit flips each output bit with
   * probability ~1/2, so low bits are usable as a table index. */
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

#if !POND_HAVE_XXHASH

#define K0 0xa0761d6478bd642full
#define K1 0xe7037ed1a0b428dbull
#define K2 0x8ebc6af09c88c6e3ull

/* The 128-bit product of a and b, folded to 64 bits. */
static inline uint64_t fold_mul(uint64_t a, uint64_t b) {
#if defined(__SIZEOF_INT128__)
  __extension__ typedef unsigned __int128 u128;
  u128 r = (u128)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
  uint64_t ha = a >> 32, la = (uint32_t)a, hb = b >> 32, lb = (uint32_t)b;
  uint64_t hh = ha * hb, hl = ha * lb, lh = la * hb, ll = la * lb;
  uint64_t mid = (ll >> 32) + (uint32_t)hl + (uint32_t)lh;
  uint64_t lo = (mid << 32) | (uint32_t)ll;
  uint64_t hi = hh + (hl >> 32) + (lh >> 32) + (mid >> 32);
  return lo ^ hi;
#endif
}

static inline uint64_t rd64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static inline uint64_t rd32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static uint64_t builtin_hash(const unsigned char *p, size_t n, uint64_t seed) {
  uint64_t a, b;
  seed ^= fold_mul(seed ^ K0, K1);
  if (n <= 16) {
    if (n >= 4) {
      /* Two (possibly overlapping) 4-byte reads from each end cover 4..16
       * bytes without a loop. */
      size_t q = (n >> 3) << 2;
      a = (rd32(p) << 32) | rd32(p + q);
      b = (rd32(p + n - 4) << 32) | rd32(p + n - 4 - q);
    } else if (n > 0) {
      a = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
      b = 0;
    } else {
      a = b = 0;
    }
  } else {
    size_t i = n;
    if (i > 48) {
      /* Three independent lanes hide the multiply latency on long keys. */
      uint64_t s1 = seed, s2 = seed;
      do {
        seed = fold_mul(rd64(p) ^ K1, rd64(p + 8) ^ seed);
        s1 = fold_mul(rd64(p + 16) ^ K2, rd64(p + 24) ^ s1);
        s2 = fold_mul(rd64(p + 32) ^ K0, rd64(p + 40) ^ s2);
        p += 48;
        i -= 48;
      } while (i > 48);
      seed ^= s1 ^ s2;
    }
    while (i > 16) {
      seed = fold_mul(rd64(p) ^ K1, rd64(p + 8) ^ seed);
      p += 16;
      i -= 16;
    }
    a = rd64(p + i - 16);
    b = rd64(p + i - 8);
  }
  return fold_mul(K1 ^ (uint64_t)n, fold_mul(a ^ K1, b ^ seed));
}
#endif

uint64_t pc_hash_bytes(const void *p, size_t n, uint64_t seed) {
#if POND_HAVE_XXHASH
  return XXH3_64bits_withSeed(p, n, seed);
#else
  return builtin_hash(p, n, seed);
#endif
}
