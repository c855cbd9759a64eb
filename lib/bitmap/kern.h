/*
 * kern.h — the inner loops of container algebra, with runtime CPU dispatch.
 * Private to lib/bitmap.
 *
 * Each kernel has a portable version (kern.c) and, on x86-64, an AVX2
 * version (kern_avx2.c) chosen per call with __builtin_cpu_supports: a
 * load and a bit test, nothing cached in global state. Both versions are
 * declared here so that tests compare them with each other directly.
 */
#ifndef POND_BITMAP_KERN_H
#define POND_BITMAP_KERN_H

#include <stddef.h>
#include <stdint.h>

/* Ops as in bm.h: BM_AND 1, BM_OR 2, BM_ANDNOT 3, BM_XOR 4. */

/* Set bits in w[0..n). */
uint64_t kn_popcount(const uint64_t *w, size_t n);
/* out[0..1024) := a op b (out may be NULL: count only, or alias a or b);
 * returns the number of set bits of the result. */
uint32_t kn_words_op(int op, const uint64_t *a, const uint64_t *b, uint64_t *out);
/* The positions of the set bits of w[0..1024) (or of a op b, op as above),
 * ascending; returns how many. out has room for that many plus KN_SLACK:
 * the SIMD version writes a few values past the end. */
uint32_t kn_words_to_array(const uint64_t *w, uint16_t *out);
uint32_t kn_words_op_to_array(int op, const uint64_t *a, const uint64_t *b, uint16_t *out);
/* Sorted distinct uint16 arrays: out := a op b; returns the count. out may
 * be NULL for AND (count only); otherwise it has room for na (AND, ANDNOT)
 * or na + nb (OR, XOR) values, plus KN_SLACK for AND, OR and ANDNOT (SIMD stores
 * write whole vectors past the result). */
#define KN_SLACK 16u
uint32_t kn_arr_and(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb, uint16_t *out);
uint32_t kn_arr_or(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb, uint16_t *out);
uint32_t kn_arr_andnot(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb, uint16_t *out);
uint32_t kn_arr_xor(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb, uint16_t *out);
/* |a AND b| / |a - b| for an array a and a bitset b. */
uint32_t kn_arr_words_and_card(const uint16_t *a, uint32_t na, const uint64_t *b);
/* out := a AND b (array result); returns the count. out has room for na. */
uint32_t kn_arr_words_and(const uint16_t *a, uint32_t na, const uint64_t *b, uint16_t *out);

/* For the SIMD kn_words_op_to_array versions: o = FLATTEN(o, x, base) for
 * every non-zero word x of a op b (base its first position), one loop per
 * op so the op is not decided per word. Needs BM_AND… (bitmap/bm.h). */
#define KN_FLATTEN_OP(op, a, b, o, FLATTEN)                        \
  do {                                                             \
    switch (op) {                                                  \
      case BM_AND: KN_FLATTEN_LOOP_(a[i_] & b[i_], o, FLATTEN);    \
      case BM_OR: KN_FLATTEN_LOOP_(a[i_] | b[i_], o, FLATTEN);     \
      case BM_ANDNOT: KN_FLATTEN_LOOP_(a[i_] & ~b[i_], o, FLATTEN); \
      default: KN_FLATTEN_LOOP_(a[i_] ^ b[i_], o, FLATTEN);        \
    }                                                              \
  } while (0)
#define KN_FLATTEN_LOOP_(E, o, FLATTEN)         \
  for (uint32_t i_ = 0; i_ < 1024; i_++) {      \
    uint64_t x_ = (E);                          \
    if (x_) o = FLATTEN(o, x_, i_ * 64);        \
  }                                             \
  break

/* Which implementation the dispatchers run: 0 portable, 1 AVX2, 2 AVX-512
 * for the bitset kernels (AVX2 for the rest). */
int kn_level(void);

/* Portable versions, also called by the dispatchers. */
uint64_t kn_popcount_portable(const uint64_t *w, size_t n);
uint32_t kn_words_op_portable(int op, const uint64_t *a, const uint64_t *b, uint64_t *out);
uint32_t kn_words_to_array_portable(const uint64_t *w, uint16_t *out);
uint32_t kn_words_op_to_array_portable(int op, const uint64_t *a, const uint64_t *b, uint16_t *out);
uint32_t kn_arr_and_portable(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb,
                             uint16_t *out);
uint32_t kn_arr_or_portable(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb,
                            uint16_t *out);
uint32_t kn_arr_andnot_portable(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb,
                                uint16_t *out);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KN_HAVE_AVX2 1
uint64_t kn_popcount_avx2(const uint64_t *w, size_t n);
uint32_t kn_words_op_avx2(int op, const uint64_t *a, const uint64_t *b, uint64_t *out);
uint32_t kn_words_to_array_avx2(const uint64_t *w, uint16_t *out);
uint32_t kn_words_op_to_array_avx2(int op, const uint64_t *a, const uint64_t *b, uint16_t *out);
uint32_t kn_arr_and_avx2(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb,
                         uint16_t *out);
uint32_t kn_arr_or_avx2(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb,
                        uint16_t *out);
uint32_t kn_arr_andnot_avx2(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb,
                            uint16_t *out);
/* F, BW, VBMI2 and VPOPCNTDQ (kern_avx512.c): the bitset kernels. gcc 12
 * and clang 14 both know these targets. */
#define KN_HAVE_AVX512 1
uint32_t kn_words_op_avx512(int op, const uint64_t *a, const uint64_t *b, uint64_t *out);
uint32_t kn_words_to_array_avx512(const uint64_t *w, uint16_t *out);
uint32_t kn_words_op_to_array_avx512(int op, const uint64_t *a, const uint64_t *b, uint16_t *out);
#endif

#endif
