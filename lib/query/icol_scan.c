/*
 * icol_scan.c — the range-scan kernels of dense int column chunks:
 * out[w] bit k = ((value[64w + k] - ulo) mod 2^(8·width)) <= span.
 *
 * A portable kernel, and AVX2 and AVX-512BW kernels chosen at run time
 * (__builtin_cpu_supports reads what libgcc/compiler-rt detected at load
 * time, so no state of our own is kept). The SIMD kernels compile only on
 * x86-64 with GCC or Clang, through target attributes, so the rest of the
 * library is built for the baseline ISA.
 */
#include <string.h>

#include "query/icol.h"

#define BLOCKS (QY_CHUNK_SLOTS / 64)

#define SCALAR_KERNEL(name, T)                                                  \
  static void name(const void *vals, uint64_t ulo, uint64_t span, uint64_t *out) { \
    const T *v = vals;                                                          \
    T lo = (T)ulo, sp = (T)span;                                                \
    for (unsigned w = 0; w < BLOCKS; w++) {                                     \
      uint64_t bits = 0;                                                        \
      for (unsigned k = 0; k < 64; k++)                                         \
        bits |= (uint64_t)((T)(v[64 * w + k] - lo) <= sp) << k;                 \
      out[w] = bits;                                                            \
    }                                                                           \
  }

SCALAR_KERNEL(scan1_c, uint8_t)
SCALAR_KERNEL(scan2_c, uint16_t)
SCALAR_KERNEL(scan4_c, uint32_t)
SCALAR_KERNEL(scan8_c, uint64_t)

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QY_X86 1
#include <immintrin.h>

/* AVX2 has only signed compares: flip the sign bit of both sides. */
__attribute__((target("avx2"))) static void scan1_avx2(const void *vals, uint64_t ulo,
                                                        uint64_t span, uint64_t *out) {
  const uint8_t *v = vals;
  const __m256i lo = _mm256_set1_epi8((char)ulo), sb = _mm256_set1_epi8((char)0x80);
  const __m256i sp = _mm256_xor_si256(_mm256_set1_epi8((char)span), sb);
  for (unsigned w = 0; w < BLOCKS; w++) {
    uint64_t bits = 0;
    for (unsigned k = 0; k < 2; k++) {
      __m256i x = _mm256_loadu_si256((const __m256i *)(v + 64 * w + 32 * k));
      x = _mm256_xor_si256(_mm256_sub_epi8(x, lo), sb);
      uint32_t gt = (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(x, sp));
      bits |= (uint64_t)(uint32_t)~gt << (32 * k);
    }
    out[w] = bits;
  }
}

__attribute__((target("avx2"))) static void scan2_avx2(const void *vals, uint64_t ulo,
                                                        uint64_t span, uint64_t *out) {
  const uint16_t *v = vals;
  const __m256i lo = _mm256_set1_epi16((short)ulo), sb = _mm256_set1_epi16((short)0x8000);
  const __m256i sp = _mm256_xor_si256(_mm256_set1_epi16((short)span), sb);
  for (unsigned w = 0; w < BLOCKS; w++) {
    uint64_t bits = 0;
    for (unsigned k = 0; k < 4; k++) {
      __m256i x = _mm256_loadu_si256((const __m256i *)(v + 64 * w + 16 * k));
      x = _mm256_xor_si256(_mm256_sub_epi16(x, lo), sb);
      __m256i gt = _mm256_cmpgt_epi16(x, sp);
      /* two mask bits per lane: pack to bytes (in-lane) and fix the order */
      __m128i packed = _mm_packs_epi16(_mm256_castsi256_si128(gt), _mm256_extracti128_si256(gt, 1));
      uint32_t m = (uint16_t)_mm_movemask_epi8(packed);
      bits |= (uint64_t)(uint16_t)~m << (16 * k);
    }
    out[w] = bits;
  }
}

__attribute__((target("avx2"))) static void scan4_avx2(const void *vals, uint64_t ulo,
                                                        uint64_t span, uint64_t *out) {
  const uint32_t *v = vals;
  const __m256i lo = _mm256_set1_epi32((int)ulo), sb = _mm256_set1_epi32(INT32_MIN);
  const __m256i sp = _mm256_xor_si256(_mm256_set1_epi32((int)span), sb);
  for (unsigned w = 0; w < BLOCKS; w++) {
    uint64_t bits = 0;
    for (unsigned k = 0; k < 8; k++) {
      __m256i x = _mm256_loadu_si256((const __m256i *)(v + 64 * w + 8 * k));
      x = _mm256_xor_si256(_mm256_sub_epi32(x, lo), sb);
      unsigned gt = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(x, sp)));
      bits |= (uint64_t)(uint8_t)~gt << (8 * k);
    }
    out[w] = bits;
  }
}

__attribute__((target("avx2"))) static void scan8_avx2(const void *vals, uint64_t ulo,
                                                        uint64_t span, uint64_t *out) {
  const uint64_t *v = vals;
  const __m256i lo = _mm256_set1_epi64x((long long)ulo), sb = _mm256_set1_epi64x(INT64_MIN);
  const __m256i sp = _mm256_xor_si256(_mm256_set1_epi64x((long long)span), sb);
  for (unsigned w = 0; w < BLOCKS; w++) {
    uint64_t bits = 0;
    for (unsigned k = 0; k < 16; k++) {
      __m256i x = _mm256_loadu_si256((const __m256i *)(v + 64 * w + 4 * k));
      x = _mm256_xor_si256(_mm256_sub_epi64(x, lo), sb);
      unsigned gt = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(x, sp)));
      bits |= (uint64_t)(~gt & 0xF) << (4 * k);
    }
    out[w] = bits;
  }
}

#define AVX512_KERNEL(name, T, lanes, set1, sub, cmp, load)                     \
  __attribute__((target("avx512f,avx512bw"))) static void name(                 \
      const void *vals, uint64_t ulo, uint64_t span, uint64_t *out) {           \
    const T *v = vals;                                                          \
    const __m512i lo = set1(ulo), sp = set1(span);                              \
    for (unsigned w = 0; w < BLOCKS; w++) {                                     \
      uint64_t bits = 0;                                                        \
      for (unsigned k = 0; k < 64 / (lanes); k++) {                             \
        __m512i x = sub(load(v + 64 * w + (lanes) * k), lo);                    \
        bits |= (uint64_t)cmp(x, sp) << ((lanes) * k);                          \
      }                                                                         \
      out[w] = bits;                                                            \
    }                                                                           \
  }

#define SET1_8(x) _mm512_set1_epi8((char)(x))
#define SET1_16(x) _mm512_set1_epi16((short)(x))
#define SET1_32(x) _mm512_set1_epi32((int)(x))
#define SET1_64(x) _mm512_set1_epi64((long long)(x))
#define LOAD(p) _mm512_loadu_si512((const void *)(p))

AVX512_KERNEL(scan1_avx512, uint8_t, 64, SET1_8, _mm512_sub_epi8, _mm512_cmple_epu8_mask, LOAD)
AVX512_KERNEL(scan2_avx512, uint16_t, 32, SET1_16, _mm512_sub_epi16, _mm512_cmple_epu16_mask, LOAD)
AVX512_KERNEL(scan4_avx512, uint32_t, 16, SET1_32, _mm512_sub_epi32, _mm512_cmple_epu32_mask, LOAD)
AVX512_KERNEL(scan8_avx512, uint64_t, 8, SET1_64, _mm512_sub_epi64, _mm512_cmple_epu64_mask, LOAD)
#endif

int qy_scan_isa(void) {
#ifdef QY_X86
  if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f")) return 2;
  if (__builtin_cpu_supports("avx2")) return 1;
#endif
  return 0;
}

typedef void (*scan_fn)(const void *, uint64_t, uint64_t, uint64_t *);

void qy_scan_dense(const void *vals, unsigned width, uint64_t ulo, uint64_t span,
                   uint64_t *out, int isa) {
  static const scan_fn portable[4] = {scan1_c, scan2_c, scan4_c, scan8_c};
  unsigned wi = width == 1 ? 0 : width == 2 ? 1 : width == 4 ? 2 : 3;
  int best = qy_scan_isa();
  if (isa < 0 || isa > best) isa = best;
#ifdef QY_X86
  static const scan_fn avx2[4] = {scan1_avx2, scan2_avx2, scan4_avx2, scan8_avx2};
  static const scan_fn avx512[4] = {scan1_avx512, scan2_avx512, scan4_avx512, scan8_avx512};
  if (isa == 2) {
    avx512[wi](vals, ulo, span, out);
    return;
  }
  if (isa == 1) {
    avx2[wi](vals, ulo, span, out);
    return;
  }
#endif
  portable[wi](vals, ulo, span, out);
}
