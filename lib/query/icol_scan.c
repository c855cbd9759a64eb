/*
 * icol_scan.c — the range-scan kernel of dense int column chunks stored as
 * byte planes: out[w] bit k = a <= x <= b for the left-aligned offset x of
 * slot 64w + k, whose bytes are planes[i][64w + k], most significant first.
 *
 * Per 64-slot block, plane by plane, two pairs of masks are kept: slots
 * already known to be > a (ge) and slots still equal to a's leading bytes
 * (eqa); the same for b (le, eqb). A block reads its later planes only
 * while some slot still ties with a bound, right after its first plane,
 * with those planes prefetched a few blocks ahead (a plane-major order —
 * all of plane 0, then the tied blocks of plane 1… — measured slower:
 * it stores and reloads the masks of every block). A bound that cannot
 * exclude anything (a = 0, b = all ones) is decided up front.
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

static uint8_t byte_of(uint64_t x, unsigned np, unsigned i) {
  return (uint8_t)(x >> (8 * (np - 1 - i)));
}

static uint64_t all_ones(unsigned np) { return np >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * np)) - 1; }

static void planes_c(const uint8_t *p, unsigned np, uint64_t a, uint64_t b, uint64_t *out) {
  int ka = a != 0, kb = b != all_ones(np);
  for (unsigned w = 0; w < BLOCKS; w++) {
    uint64_t ge = ka ? 0 : ~UINT64_C(0), eqa = ka ? ~UINT64_C(0) : 0;
    uint64_t le = kb ? 0 : ~UINT64_C(0), eqb = kb ? ~UINT64_C(0) : 0;
    for (unsigned i = 0; i < np && (eqa | eqb); i++) {
      const uint8_t *x = p + (size_t)i * QY_CHUNK_SLOTS + 64 * w;
      uint8_t ai = byte_of(a, np, i), bi = byte_of(b, np, i);
      uint64_t gt = 0, ea = 0, lt = 0, eb = 0;
      for (unsigned k = 0; k < 64; k++) {
        gt |= (uint64_t)(x[k] > ai) << k;
        ea |= (uint64_t)(x[k] == ai) << k;
        lt |= (uint64_t)(x[k] < bi) << k;
        eb |= (uint64_t)(x[k] == bi) << k;
      }
      ge |= eqa & gt;
      eqa &= ea;
      le |= eqb & lt;
      eqb &= eb;
    }
    out[w] = (ge | eqa) & (le | eqb);
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QY_X86 1
#include <immintrin.h>

__attribute__((target("avx2"))) static void planes_avx2(const uint8_t *p, unsigned np, uint64_t a,
                                                         uint64_t b, uint64_t *out) {
  int ka = a != 0, kb = b != all_ones(np);
  const __m256i sb = _mm256_set1_epi8((char)0x80);
  __m256i av[8], bv[8], sav[8], sbv[8];
  for (unsigned i = 0; i < np; i++) {
    av[i] = _mm256_set1_epi8((char)byte_of(a, np, i));
    bv[i] = _mm256_set1_epi8((char)byte_of(b, np, i));
    sav[i] = _mm256_xor_si256(av[i], sb);
    sbv[i] = _mm256_xor_si256(bv[i], sb);
  }
  for (unsigned w = 0; w < BLOCKS; w++) {
    uint64_t ge = ka ? 0 : ~UINT64_C(0), eqa = ka ? ~UINT64_C(0) : 0;
    uint64_t le = kb ? 0 : ~UINT64_C(0), eqb = kb ? ~UINT64_C(0) : 0;
    for (unsigned i = 0; i < np && (eqa | eqb); i++) {
      const uint8_t *x = p + (size_t)i * QY_CHUNK_SLOTS + 64 * w;
      if (i && w + 8 < BLOCKS) _mm_prefetch((const char *)(x + 8 * 64), _MM_HINT_T0);
      uint64_t gt = 0, ea = 0, lt = 0, eb = 0;
      for (unsigned h = 0; h < 2; h++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(x + 32 * h));
        __m256i sv = _mm256_xor_si256(v, sb); /* unsigned order via signed compares */
        gt |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(sv, sav[i])) << (32 * h);
        ea |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, av[i])) << (32 * h);
        lt |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(sbv[i], sv)) << (32 * h);
        eb |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, bv[i])) << (32 * h);
      }
      ge |= eqa & gt;
      eqa &= ea;
      le |= eqb & lt;
      eqb &= eb;
    }
    out[w] = (ge | eqa) & (le | eqb);
  }
}

__attribute__((target("avx512f,avx512bw"))) static void planes_avx512(const uint8_t *p,
                                                                      unsigned np, uint64_t a,
                                                                      uint64_t b, uint64_t *out) {
  int ka = a != 0, kb = b != all_ones(np);
  __m512i av[8], bv[8];
  for (unsigned i = 0; i < np; i++) {
    av[i] = _mm512_set1_epi8((char)byte_of(a, np, i));
    bv[i] = _mm512_set1_epi8((char)byte_of(b, np, i));
  }
  /* block-major: a block's later planes are read right after its first,
   * while they are prefetched a few blocks ahead */
  for (unsigned w = 0; w < BLOCKS; w++) {
    __m512i v = _mm512_loadu_si512((const void *)(p + 64 * w));
    uint64_t ge = ka ? _mm512_cmpgt_epu8_mask(v, av[0]) : ~UINT64_C(0);
    uint64_t eqa = ka ? _mm512_cmpeq_epi8_mask(v, av[0]) : 0;
    uint64_t le = kb ? _mm512_cmplt_epu8_mask(v, bv[0]) : ~UINT64_C(0);
    uint64_t eqb = kb ? _mm512_cmpeq_epi8_mask(v, bv[0]) : 0;
    for (unsigned i = 1; i < np && (eqa | eqb); i++) {
      const uint8_t *x = p + (size_t)i * QY_CHUNK_SLOTS + 64 * w;
      if (w + 8 < BLOCKS) _mm_prefetch((const char *)(x + 8 * 64), _MM_HINT_T0);
      v = _mm512_loadu_si512((const void *)x);
      ge |= eqa & _mm512_cmpgt_epu8_mask(v, av[i]);
      eqa &= _mm512_cmpeq_epi8_mask(v, av[i]);
      le |= eqb & _mm512_cmplt_epu8_mask(v, bv[i]);
      eqb &= _mm512_cmpeq_epi8_mask(v, bv[i]);
    }
    out[w] = (ge | eqa) & (le | eqb);
  }
}
#endif

int qy_scan_isa(void) {
#ifdef QY_X86
  if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f")) return 2;
  if (__builtin_cpu_supports("avx2")) return 1;
#endif
  return 0;
}

void qy_scan_planes(const uint8_t *planes, unsigned np, uint64_t a, uint64_t b, uint64_t *out,
                    int isa) {
  int best = qy_scan_isa();
  if (isa < 0 || isa > best) isa = best;
#ifdef QY_X86
  if (isa == 2) {
    planes_avx512(planes, np, a, b, out);
    return;
  }
  if (isa == 1) {
    planes_avx2(planes, np, a, b, out);
    return;
  }
#endif
  planes_c(planes, np, a, b, out);
}
