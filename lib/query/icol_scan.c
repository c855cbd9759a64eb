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

/* The exact comparison over all planes for one 64-slot block. */
static uint64_t block_c(const uint8_t *p, unsigned np, uint64_t a, uint64_t b, unsigned w, int ka,
                        int kb) {
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
  return (ge | eqa) & (le | eqb);
}

/* Portable: the first two planes as one 16-bit value per slot (as the
 * AVX2 kernel), the rare block with a 16-bit tie compared exactly. */
static void planes_c(const uint8_t *p, unsigned np, uint64_t a, uint64_t b, uint64_t *out) {
  int ka = a != 0, kb = b != all_ones(np);
  if (np == 1) {
    for (unsigned w = 0; w < BLOCKS; w++) out[w] = block_c(p, np, a, b, w, ka, kb);
    return;
  }
  /* strict bounds in 17-bit arithmetic: an absent bound is one past the
   * 16-bit range, so nothing ties with it */
  int a01 = ka ? (int)(byte_of(a, np, 0) << 8 | byte_of(a, np, 1)) : -1;
  int b01 = kb ? (int)(byte_of(b, np, 0) << 8 | byte_of(b, np, 1)) : 0x10000;
  for (unsigned w = 0; w < BLOCKS; w++) {
    const uint8_t *x0 = p + 64 * w, *x1 = x0 + QY_CHUNK_SLOTS;
    uint64_t r = 0, tie = 0;
    for (unsigned k = 0; k < 64; k++) {
      int v = x0[k] << 8 | x1[k];
      r |= (uint64_t)((v > a01) & (v < b01)) << k;
      tie |= (uint64_t)((v == a01) | (v == b01)) << k;
    }
    if (np == 2) {
      /* equal to a bound in every byte: inside, unless the range is empty */
      out[w] = r | (a <= b ? tie : 0);
    } else {
      out[w] = tie ? block_c(p, np, a, b, w, ka, kb) : r;
    }
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QY_X86 1
#include <immintrin.h>

/* AVX2. With two or more planes, one branch-free pass compares the first
 * two planes of each slot as one 16-bit value (unpack to 16-bit lanes,
 * compare, pack back: unpack and pack are inverse within each 128-bit
 * lane, so slots keep their order); a slot equal to a bound in those 16
 * bits — about 1 in 30,000 for a wide range — sends its half block
 * through the byte-plane comparison over all planes. Both planes stream
 * in order (the hardware prefetcher follows two sequential streams), and
 * no branch depends on the data but that rare one. Measured against a
 * block-major pass reading a later plane only where a slot ties (README,
 * "Attribute indexes"): reading every slot's second byte costs less than
 * the mispredicted branches and the scattered reads it saves. */
__attribute__((target("avx2"))) static void planes_avx2(const uint8_t *p, unsigned np, uint64_t a,
                                                         uint64_t b, uint64_t *out) {
  int ka = a != 0, kb = b != all_ones(np);
  const __m256i sb = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi8(-1);
  const __m256i zero = _mm256_setzero_si256();
  __m256i av[8], bv[8], sav[8], sbv[8];
  for (unsigned i = 0; i < np; i++) {
    av[i] = _mm256_set1_epi8((char)byte_of(a, np, i));
    bv[i] = _mm256_set1_epi8((char)byte_of(b, np, i));
    sav[i] = _mm256_xor_si256(av[i], sb);
    sbv[i] = _mm256_xor_si256(bv[i], sb);
  }
  if (np == 1) {
    for (unsigned w = 0; w < BLOCKS; w++) {
      uint64_t r = 0;
      for (unsigned h = 0; h < 2; h++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + 64 * w + 32 * h));
        /* a <= v <= b: max(v, a) == v and min(v, b) == v */
        __m256i in = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_max_epu8(v, av[0]), v),
                                      _mm256_cmpeq_epi8(_mm256_min_epu8(v, bv[0]), v));
        r |= (uint64_t)(uint32_t)_mm256_movemask_epi8(in) << (32 * h);
      }
      out[w] = r;
    }
    return;
  }
  const __m256i s16 = _mm256_set1_epi16((short)0x8000);
  const __m256i va = _mm256_set1_epi16((short)(byte_of(a, np, 0) << 8 | byte_of(a, np, 1)));
  const __m256i vb = _mm256_set1_epi16((short)(byte_of(b, np, 0) << 8 | byte_of(b, np, 1)));
  const __m256i sva = _mm256_xor_si256(va, s16), svb = _mm256_xor_si256(vb, s16);
  for (unsigned w = 0; w < BLOCKS; w++) {
    uint64_t r = 0;
    for (unsigned h = 0; h < 2; h++) {
      size_t off = 64 * (size_t)w + 32 * h;
      __m256i v0 = _mm256_loadu_si256((const __m256i *)(p + off));
      __m256i v1 = _mm256_loadu_si256((const __m256i *)(p + QY_CHUNK_SLOTS + off));
      __m256i lo = _mm256_unpacklo_epi8(v1, v0), hi = _mm256_unpackhi_epi8(v1, v0);
      __m256i slo = _mm256_xor_si256(lo, s16), shi = _mm256_xor_si256(hi, s16);
      __m256i gtl = ka ? _mm256_cmpgt_epi16(slo, sva) : ones, gth = ka ? _mm256_cmpgt_epi16(shi, sva) : ones;
      __m256i ltl = kb ? _mm256_cmpgt_epi16(svb, slo) : ones, lth = kb ? _mm256_cmpgt_epi16(svb, shi) : ones;
      __m256i eal = ka ? _mm256_cmpeq_epi16(lo, va) : zero, eah = ka ? _mm256_cmpeq_epi16(hi, va) : zero;
      __m256i ebl = kb ? _mm256_cmpeq_epi16(lo, vb) : zero, ebh = kb ? _mm256_cmpeq_epi16(hi, vb) : zero;
      __m256i rl, rh;
      if (np == 2) {
        rl = _mm256_and_si256(_mm256_or_si256(gtl, eal), _mm256_or_si256(ltl, ebl));
        rh = _mm256_and_si256(_mm256_or_si256(gth, eah), _mm256_or_si256(lth, ebh));
      } else {
        __m256i ties = _mm256_or_si256(_mm256_or_si256(eal, ebl), _mm256_or_si256(eah, ebh));
        if (__builtin_expect(!_mm256_testz_si256(ties, ties), 0)) {
          /* a tie in 16 bits: the byte planes, all of them */
          __m256i ge = ka ? zero : ones, eqa = ka ? ones : zero;
          __m256i le = kb ? zero : ones, eqb = kb ? ones : zero;
          for (unsigned i = 0; i < np; i++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(p + (size_t)i * QY_CHUNK_SLOTS + off));
            __m256i sv = _mm256_xor_si256(v, sb);
            ge = _mm256_or_si256(ge, _mm256_and_si256(eqa, _mm256_cmpgt_epi8(sv, sav[i])));
            eqa = _mm256_and_si256(eqa, _mm256_cmpeq_epi8(v, av[i]));
            le = _mm256_or_si256(le, _mm256_and_si256(eqb, _mm256_cmpgt_epi8(sbv[i], sv)));
            eqb = _mm256_and_si256(eqb, _mm256_cmpeq_epi8(v, bv[i]));
          }
          __m256i res = _mm256_and_si256(_mm256_or_si256(ge, eqa), _mm256_or_si256(le, eqb));
          r |= (uint64_t)(uint32_t)_mm256_movemask_epi8(res) << (32 * h);
          continue;
        }
        rl = _mm256_and_si256(gtl, ltl);
        rh = _mm256_and_si256(gth, lth);
      }
      r |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_packs_epi16(rl, rh)) << (32 * h);
    }
    out[w] = r;
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
