/*
 * kern_avx2.c — AVX2 kernels (x86-64), compiled per function with
 * target("avx2,…") so the rest of the library keeps the baseline ISA; the
 * dispatchers in kern.c call them only when the CPU has the features.
 *
 * - Popcount: the nibble lookup (vpshufb) summed with vpsadbw, as in
 *   Mula, Kurz, Lemire, "Faster Population Counts Using AVX2 Instructions".
 * - Array intersection: blocks of 8 values of each side compared all
 *   against all (eight rotations), the matching lanes packed with a
 *   pshufb from a 256-entry table, the block with the smaller maximum
 *   advanced (the scheme of CRoaring's intersect_vector16, with AVX2
 *   compares instead of SSE4.2's pcmpestrm, which is slow on AMD cores).
 */
#include "bitmap/kern.h"

#ifdef KN_HAVE_AVX2

#include <immintrin.h>

#include "bitmap/bm.h"
#include "bitmap/kern_tables.h"

#define KN_AVX2 __attribute__((target("avx2,popcnt,bmi")))

KN_AVX2 static inline __m256i nibble_count(__m256i v) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                                       2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i lo = _mm256_and_si256(v, low);
  __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

KN_AVX2 static inline uint64_t hsum64(__m256i acc) {
  return (uint64_t)_mm256_extract_epi64(acc, 0) + (uint64_t)_mm256_extract_epi64(acc, 1) +
         (uint64_t)_mm256_extract_epi64(acc, 2) + (uint64_t)_mm256_extract_epi64(acc, 3);
}

/* Carry-save adder: (h, l) := a + b + c, bitwise. */
#define CSA(h, l, a, b, c)                                        \
  do {                                                            \
    __m256i u_ = _mm256_xor_si256(a, b);                          \
    h = _mm256_or_si256(_mm256_and_si256(a, b), _mm256_and_si256(u_, c)); \
    l = _mm256_xor_si256(u_, c);                                  \
  } while (0)

KN_AVX2 static inline __m256i sum64(__m256i v) {
  return _mm256_sad_epu8(nibble_count(v), _mm256_setzero_si256());
}

/* Popcount of op(a[i], b[i]) over 1024 words by Harley-Seal: sixteen
 * vectors are folded through carry-save adders so that only one vector in
 * sixteen goes through the nibble-lookup count (Muła, Kurz, Lemire). */
#define HS_LOAD(k) OPV(_mm256_loadu_si256((const __m256i *)(a + i + 4 * (k))), \
                       _mm256_loadu_si256((const __m256i *)(b + i + 4 * (k))))
#define HS_BODY                                                                      \
  __m256i total = _mm256_setzero_si256(), ones = total, twos = total, fours = total,    \
          eights = total, sixteens, twosA, twosB, foursA, foursB, eightsA, eightsB;     \
  for (uint32_t i = 0; i < 1024; i += 64) {                                            \
    CSA(twosA, ones, ones, HS_LOAD(0), HS_LOAD(1));                                   \
    CSA(twosB, ones, ones, HS_LOAD(2), HS_LOAD(3));                                   \
    CSA(foursA, twos, twos, twosA, twosB);                                            \
    CSA(twosA, ones, ones, HS_LOAD(4), HS_LOAD(5));                                   \
    CSA(twosB, ones, ones, HS_LOAD(6), HS_LOAD(7));                                   \
    CSA(foursB, twos, twos, twosA, twosB);                                            \
    CSA(eightsA, fours, fours, foursA, foursB);                                       \
    CSA(twosA, ones, ones, HS_LOAD(8), HS_LOAD(9));                                   \
    CSA(twosB, ones, ones, HS_LOAD(10), HS_LOAD(11));                                 \
    CSA(foursA, twos, twos, twosA, twosB);                                            \
    CSA(twosA, ones, ones, HS_LOAD(12), HS_LOAD(13));                                 \
    CSA(twosB, ones, ones, HS_LOAD(14), HS_LOAD(15));                                 \
    CSA(foursB, twos, twos, twosA, twosB);                                            \
    CSA(eightsB, fours, fours, foursA, foursB);                                       \
    CSA(sixteens, eights, eights, eightsA, eightsB);                                  \
    total = _mm256_add_epi64(total, sum64(sixteens));                                 \
  }                                                                                  \
  total = _mm256_slli_epi64(total, 4);                                               \
  total = _mm256_add_epi64(total, _mm256_slli_epi64(sum64(eights), 3));              \
  total = _mm256_add_epi64(total, _mm256_slli_epi64(sum64(fours), 2));               \
  total = _mm256_add_epi64(total, _mm256_slli_epi64(sum64(twos), 1));                \
  total = _mm256_add_epi64(total, sum64(ones));                                      \
  return (uint32_t)hsum64(total)

#define OPV(x, y) _mm256_and_si256(x, y)
KN_AVX2 static uint32_t hs_and(const uint64_t *a, const uint64_t *b) { HS_BODY; }
#undef OPV
#define OPV(x, y) _mm256_or_si256(x, y)
KN_AVX2 static uint32_t hs_or(const uint64_t *a, const uint64_t *b) { HS_BODY; }
#undef OPV
#define OPV(x, y) _mm256_andnot_si256(y, x)
KN_AVX2 static uint32_t hs_andnot(const uint64_t *a, const uint64_t *b) { HS_BODY; }
#undef OPV
#define OPV(x, y) _mm256_xor_si256(x, y)
KN_AVX2 static uint32_t hs_xor(const uint64_t *a, const uint64_t *b) { HS_BODY; }
#undef OPV

KN_AVX2 uint64_t kn_popcount_avx2(const uint64_t *w, size_t n) {
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    /* four vectors: byte counts stay <= 32 before the widening sum */
    __m256i c = nibble_count(_mm256_loadu_si256((const __m256i *)(w + i)));
    c = _mm256_add_epi8(c, nibble_count(_mm256_loadu_si256((const __m256i *)(w + i + 4))));
    c = _mm256_add_epi8(c, nibble_count(_mm256_loadu_si256((const __m256i *)(w + i + 8))));
    c = _mm256_add_epi8(c, nibble_count(_mm256_loadu_si256((const __m256i *)(w + i + 12))));
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(c, _mm256_setzero_si256()));
  }
  uint64_t r = hsum64(acc);
  for (; i < n; i++) r += (uint64_t)_mm_popcnt_u64(w[i]);
  return r;
}

#define OP_LOOP(OPEXPR)                                                            \
  for (uint32_t i = 0; i < 1024; i += 16) {                                        \
    __m256i c = _mm256_setzero_si256();                                            \
    for (uint32_t k = 0; k < 16; k += 4) {                                         \
      __m256i x = _mm256_loadu_si256((const __m256i *)(a + i + k));                \
      __m256i y = _mm256_loadu_si256((const __m256i *)(b + i + k));                \
      __m256i r = OPEXPR;                                                          \
      if (out) _mm256_storeu_si256((__m256i *)(out + i + k), r);                   \
      c = _mm256_add_epi8(c, nibble_count(r));                                     \
    }                                                                              \
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(c, _mm256_setzero_si256()));       \
  }

KN_AVX2 uint32_t kn_words_op_avx2(int op, const uint64_t *a, const uint64_t *b, uint64_t *out) {
  if (!out) {
    switch (op) {
      case BM_AND: return hs_and(a, b);
      case BM_OR: return hs_or(a, b);
      case BM_ANDNOT: return hs_andnot(a, b);
      default: return hs_xor(a, b);
    }
  }
  __m256i acc = _mm256_setzero_si256();
  switch (op) {
    case BM_AND: OP_LOOP(_mm256_and_si256(x, y)); break;
    case BM_OR: OP_LOOP(_mm256_or_si256(x, y)); break;
    case BM_ANDNOT: OP_LOOP(_mm256_andnot_si256(y, x)); break;
    default: OP_LOOP(_mm256_xor_si256(x, y)); break;
  }
  return (uint32_t)hsum64(acc);
}

/* The set bits of x as base + position; returns the end. A plain loop:
 * measured faster here than writing four or eight values unconditionally
 * per word (simdjson's flatten), 2.5-5.4 vs 2.3-6.5 us per chunk at
 * 1-6% density. */
KN_AVX2 static inline uint16_t *flatten(uint16_t *o, uint64_t x, uint32_t base) {
  while (x) {
    *o++ = (uint16_t)(base + _tzcnt_u64(x));
    x = _blsr_u64(x);
  }
  return o;
}

KN_AVX2 uint32_t kn_words_to_array_avx2(const uint64_t *w, uint16_t *out) {
  uint16_t *o = out;
  for (uint32_t i = 0; i < 1024; i++)
    o = flatten(o, w[i], i * 64);
  return (uint32_t)(o - out);
}

KN_AVX2 uint32_t kn_words_op_to_array_avx2(int op, const uint64_t *a, const uint64_t *b,
                                           uint16_t *out) {
  uint16_t *o = out;
  KN_FLATTEN_OP(op, a, b, o, flatten);
  return (uint32_t)(o - out);
}

/* Lanes of va equal to some lane of vb, as an 8-bit mask. */
KN_AVX2 static inline unsigned match8(__m128i va, __m128i vb) {
  __m128i r = _mm_cmpeq_epi16(va, vb);
  r = _mm_or_si128(r, _mm_cmpeq_epi16(va, _mm_alignr_epi8(vb, vb, 2)));
  r = _mm_or_si128(r, _mm_cmpeq_epi16(va, _mm_alignr_epi8(vb, vb, 4)));
  r = _mm_or_si128(r, _mm_cmpeq_epi16(va, _mm_alignr_epi8(vb, vb, 6)));
  r = _mm_or_si128(r, _mm_cmpeq_epi16(va, _mm_alignr_epi8(vb, vb, 8)));
  r = _mm_or_si128(r, _mm_cmpeq_epi16(va, _mm_alignr_epi8(vb, vb, 10)));
  r = _mm_or_si128(r, _mm_cmpeq_epi16(va, _mm_alignr_epi8(vb, vb, 12)));
  r = _mm_or_si128(r, _mm_cmpeq_epi16(va, _mm_alignr_epi8(vb, vb, 14)));
  return (unsigned)_mm_movemask_epi8(_mm_packs_epi16(r, _mm_setzero_si128())) & 0xffu;
}

KN_AVX2 uint32_t kn_arr_and_avx2(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb,
                                 uint16_t *out) {
  if (na > nb) {
    const uint16_t *t = a;
    a = b;
    b = t;
    uint32_t tn = na;
    na = nb;
    nb = tn;
  }
  /* Small or skewed inputs: the scalar merge or galloping is faster. */
  if (na < 16 || (uint64_t)na * 32 < nb) return kn_arr_and_portable(a, na, b, nb, out);
  uint32_t i = 0, j = 0, k = 0;
  __m128i va = _mm_loadu_si128((const __m128i *)a), vb = _mm_loadu_si128((const __m128i *)b);
  for (;;) {
    unsigned m = match8(va, vb);
    if (out)
      _mm_storeu_si128((__m128i *)(out + k),
                       _mm_shuffle_epi8(va, _mm_load_si128((const __m128i *)kn_pack16[m])));
    k += (uint32_t)_mm_popcnt_u32(m);
    uint16_t amax = a[i + 7], bmax = b[j + 7];
    int adv_a = amax <= bmax, adv_b = bmax <= amax;
    i += adv_a ? 8u : 0u;
    j += adv_b ? 8u : 0u;
    if (i + 8 > na || j + 8 > nb) break;
    if (adv_a) va = _mm_loadu_si128((const __m128i *)(a + i));
    if (adv_b) vb = _mm_loadu_si128((const __m128i *)(b + j));
  }
  /* The rest, merged (values of a block already matched are not seen
   * again: the side that stays is behind the other's next block). */
  while (i < na && j < nb) {
    uint16_t x = a[i], y = b[j];
    if (out) out[k] = x;
    k += x == y;
    i += x <= y;
    j += y <= x;
  }
  return k;
}

/* ---- difference ----------------------------------------------------------
 * a ANDNOT b by the same block scheme as the intersection: the matches of
 * a's current block are or-ed up over every b block it meets, and when the
 * block is left behind its unmatched lanes are stored. */

KN_AVX2 uint32_t kn_arr_andnot_avx2(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb,
                                    uint16_t *out) {
  if (na < 16 || nb < 16) return kn_arr_andnot_portable(a, na, b, nb, out);
  uint32_t i = 0, j = 0, k = 0;
  unsigned seen = 0; /* lanes of a's current block found in b so far */
  __m128i va = _mm_loadu_si128((const __m128i *)a), vb = _mm_loadu_si128((const __m128i *)b);
  for (;;) {
    seen |= match8(va, vb);
    uint16_t amax = a[i + 7], bmax = b[j + 7];
    if (amax <= bmax) {
      unsigned keep = ~seen & 0xffu;
      _mm_storeu_si128((__m128i *)(out + k),
                       _mm_shuffle_epi8(va, _mm_load_si128((const __m128i *)kn_pack16[keep])));
      k += (uint32_t)_mm_popcnt_u32(keep);
      seen = 0;
      i += 8;
    }
    if (bmax <= amax) j += 8;
    if (i + 8 > na || j + 8 > nb) break;
    if (amax <= bmax) va = _mm_loadu_si128((const __m128i *)(a + i));
    if (bmax <= amax) vb = _mm_loadu_si128((const __m128i *)(b + j));
  }
  /* The rest, merged. Values of b before j are below a[i] or were
   * compared with a's current block already (its matches are in seen). */
  for (uint32_t l = 0; i < na; i++, l++) {
    uint16_t x = a[i];
    while (j < nb && b[j] < x) j++;
    int matched = (l < 8 && (seen >> l) & 1u) || (j < nb && b[j] == x);
    out[k] = x;
    k += !matched;
  }
  return k;
}

/* ---- union ---------------------------------------------------------------
 * Blocks of 8 sorted values merged by a rotate-min/max network (the
 * vectorized union of Lemire et al., "Roaring Bitmaps: Implementation of an
 * Optimized Software Library", 2018): merging the 8 values kept from the
 * last step with the next block of whichever input has the smaller head
 * gives the 8 smallest, sorted, which are stored with the values equal to
 * their predecessor packed away; the 8 largest are kept. */

/* lo := the 8 smallest of a and b (each sorted), hi := the 8 largest. */
KN_AVX2 static inline void merge8(__m128i a, __m128i b, __m128i *lo, __m128i *hi) {
  __m128i mn = _mm_min_epu16(a, b), mx = _mm_max_epu16(a, b);
  for (int r = 0; r < 7; r++) {
    mn = _mm_alignr_epi8(mn, mn, 2); /* rotate by one lane */
    __m128i t = _mm_min_epu16(mn, mx);
    mx = _mm_max_epu16(mn, mx);
    mn = t;
  }
  *lo = _mm_alignr_epi8(mn, mn, 2);
  *hi = mx;
}

/* Stores the lanes of v (sorted) that differ from their predecessor (lane 0
 * from lane 7 of prev); returns how many. Writes 16 bytes at out. */
KN_AVX2 static inline uint32_t store_unique(__m128i prev, __m128i v, uint16_t *out) {
  __m128i before = _mm_alignr_epi8(v, prev, 14);
  unsigned dup = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(_mm_cmpeq_epi16(v, before),
                                                             _mm_setzero_si128())) & 0xffu;
  unsigned keep = ~dup & 0xffu;
  _mm_storeu_si128((__m128i *)out,
                   _mm_shuffle_epi8(v, _mm_load_si128((const __m128i *)kn_pack16[keep])));
  return (uint32_t)_mm_popcnt_u32(keep);
}

/* Sorted merge of small sorted runs with duplicates dropped, appended to
 * out[0..k) (whose last value also counts as seen). */
KN_AVX2 static uint32_t union_tail(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb,
                                   uint16_t *out, uint32_t k) {
  uint32_t i = 0, j = 0;
  while (i < na || j < nb) {
    uint16_t v;
    if (j >= nb || (i < na && a[i] <= b[j])) v = a[i++];
    else v = b[j++];
    if (!k || out[k - 1] != v) out[k++] = v;
  }
  return k;
}

KN_AVX2 uint32_t kn_arr_or_avx2(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb,
                                uint16_t *out) {
  if (na < 16 || nb < 16) return kn_arr_or_portable(a, na, b, nb, out);
  __m128i lo, hi;
  merge8(_mm_loadu_si128((const __m128i *)a), _mm_loadu_si128((const __m128i *)b), &lo, &hi);
  /* the first value has no predecessor: prev = all ones unless it is 65535 */
  __m128i prev = _mm_set1_epi16((short)(a[0] == 0xffff || b[0] == 0xffff ? 0 : 0xffff));
  uint32_t k = store_unique(prev, lo, out);
  prev = lo;
  uint32_t i = 8, j = 8;
  while (i + 8 <= na && j + 8 <= nb) {
    __m128i v;
    if (a[i] <= b[j]) {
      v = _mm_loadu_si128((const __m128i *)(a + i));
      i += 8;
    } else {
      v = _mm_loadu_si128((const __m128i *)(b + j));
      j += 8;
    }
    merge8(v, hi, &lo, &hi);
    k += store_unique(prev, lo, out + k);
    prev = lo;
  }
  /* The 8 kept values, the short side's rest (< 8) and the long side's
   * rest: the first two merged into buf, then buf with the long rest. */
  uint16_t kept[8], buf[16];
  _mm_storeu_si128((__m128i *)kept, hi);
  const uint16_t *sr = a + i, *lr = b + j;
  uint32_t ns = na - i, nl = nb - j;
  if (ns >= 8) {
    sr = b + j, ns = nb - j;
    lr = a + i, nl = na - i;
  }
  uint32_t p = 0, q = 0, nbuf = 0;
  while (p < 8 || q < ns) buf[nbuf++] = (q >= ns || (p < 8 && kept[p] <= sr[q])) ? kept[p++] : sr[q++];
  return union_tail(buf, nbuf, lr, nl, out, k);
}

#endif
