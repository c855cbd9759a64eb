/*
 * kern_avx512.c — AVX-512 kernels (x86-64: F, BW, VBMI2, VPOPCNTDQ),
 * compiled per function with target("…") like kern_avx2.c; kern.c calls
 * them only when the CPU has every feature.
 *
 * - Bitset to array (the set bits of a container, or of a word-wise op of
 *   two, as sorted positions): per 64-bit word one vpcompressb of the byte
 *   offsets 0..63 under the word as mask, widened to 16 bits and offset by
 *   the word's base, stored with a lane mask of popcount(word) (never past
 *   the last value: no slack needed). The AVX2 version's tzcnt loop costs a
 *   dependent step per set bit; this costs the same for any word. The
 *   compress is the register form: the memory form is microcoded and slow
 *   on AMD cores.
 * - Word-wise ops with counts: vpopcntq instead of the nibble lookup.
 */
#include "bitmap/kern.h"

#ifdef KN_HAVE_AVX512

#include <immintrin.h>

#include "bitmap/bm.h"

#define KN_AVX512 __attribute__((target("avx512f,avx512bw,avx512vbmi2,avx512vpopcntdq,popcnt,bmi,bmi2")))

/* The positions of x's set bits plus base at o; returns the end. */
KN_AVX512 static inline uint16_t *flatten512(uint16_t *o, uint64_t x, uint32_t base, __m512i iota) {
  unsigned n = (unsigned)_mm_popcnt_u64(x);
  __m512i bytes = _mm512_maskz_compress_epi8((__mmask64)x, iota);
  __m512i vbase = _mm512_set1_epi16((short)base);
  __m512i lo = _mm512_add_epi16(_mm512_cvtepu8_epi16(_mm512_castsi512_si256(bytes)), vbase);
  if (n <= 32) {
    _mm512_mask_storeu_epi16(o, (__mmask32)_bzhi_u32(~0u, n), lo);
  } else {
    _mm512_storeu_si512(o, lo);
    __m512i hi = _mm512_add_epi16(_mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(bytes, 1)), vbase);
    _mm512_mask_storeu_epi16(o + 32, (__mmask32)_bzhi_u32(~0u, n - 32), hi);
  }
  return o + n;
}

KN_AVX512 static inline __m512i byte_iota(void) {
  return _mm512_set_epi8(63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45,
                         44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26,
                         25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
                         5, 4, 3, 2, 1, 0);
}

KN_AVX512 uint32_t kn_words_to_array_avx512(const uint64_t *w, uint16_t *out) {
  __m512i iota = byte_iota();
  uint16_t *o = out;
  for (uint32_t i = 0; i < 1024; i++)
    if (w[i]) o = flatten512(o, w[i], i * 64, iota);
  return (uint32_t)(o - out);
}

KN_AVX512 uint32_t kn_words_op_to_array_avx512(int op, const uint64_t *a, const uint64_t *b,
                                               uint16_t *out) {
  __m512i iota = byte_iota();
  uint16_t *o = out;
#define FLATTEN512(o, x, base) flatten512(o, x, base, iota)
  KN_FLATTEN_OP(op, a, b, o, FLATTEN512);
#undef FLATTEN512
  return (uint32_t)(o - out);
}

/* Two independent accumulators: vpopcntq has a few cycles of latency. */
#define OP512_LOOP(E)                                                        \
  do {                                                                       \
    __m512i c0 = _mm512_setzero_si512(), c1 = _mm512_setzero_si512();        \
    for (uint32_t i = 0; i < 1024; i += 16) {                                \
      __m512i x0 = _mm512_loadu_si512(a + i), y0 = _mm512_loadu_si512(b + i); \
      __m512i x1 = _mm512_loadu_si512(a + i + 8);                            \
      __m512i y1 = _mm512_loadu_si512(b + i + 8);                            \
      __m512i r0 = E(x0, y0), r1 = E(x1, y1);                                \
      if (out) {                                                             \
        _mm512_storeu_si512(out + i, r0);                                    \
        _mm512_storeu_si512(out + i + 8, r1);                                \
      }                                                                      \
      c0 = _mm512_add_epi64(c0, _mm512_popcnt_epi64(r0));                    \
      c1 = _mm512_add_epi64(c1, _mm512_popcnt_epi64(r1));                    \
    }                                                                        \
    return (uint32_t)_mm512_reduce_add_epi64(_mm512_add_epi64(c0, c1));      \
  } while (0)

#define E_AND(x, y) _mm512_and_si512(x, y)
#define E_OR(x, y) _mm512_or_si512(x, y)
#define E_ANDNOT(x, y) _mm512_andnot_si512(y, x)
#define E_XOR(x, y) _mm512_xor_si512(x, y)

KN_AVX512 uint32_t kn_words_op_avx512(int op, const uint64_t *a, const uint64_t *b, uint64_t *out) {
  switch (op) {
    case BM_AND: OP512_LOOP(E_AND);
    case BM_OR: OP512_LOOP(E_OR);
    case BM_ANDNOT: OP512_LOOP(E_ANDNOT);
    default: OP512_LOOP(E_XOR);
  }
}

#endif
