/*
 * ctr_ops.c — AND, OR, ANDNOT, XOR and their cardinalities on two
 * containers: dispatch on the pair of kinds in one place.
 *
 * Arrays and bitsets, the kinds tags are made of, have direct kernels.
 * Pairs with a run container go through 1024-word bitsets on the stack
 * (a few hundred nanoseconds), except the cheap cases: a full chunk, and
 * an array against runs. Results take the smallest kind by cardinality
 * (and by run count when an input was a run), and a result equal to an
 * input shares it (reference count) instead of copying.
 */
#include <string.h>

#include "bitmap/bm.h"
#include "bitmap/ctr.h"
#include "bitmap/kern.h"

static int is_full(const ct *c) { return c->card == 65536; }

/* A new array holding v[0..n), or the empty result. */
static int emit_array(pc_mem *m, const uint16_t *v, uint32_t n, ct **out) {
  if (!n) {
    *out = NULL;
    return POND_OK;
  }
  ct *d = ct_from_sorted(m, v, n);
  if (!d) return POND_ENOMEM;
  *out = d;
  return POND_OK;
}

/* A bitset c whose words were just written, with card bits: keeps it, or
 * turns it into the right kind. */
static int settle_bitset(pc_mem *m, ct *c, uint32_t card, ct **out) {
  if (!card) {
    ct_release(m, c);
    *out = NULL;
    return POND_OK;
  }
  c->card = card;
  if (card > CT_ARRAY_MAX && card < 65536) {
    *out = c;
    return POND_OK;
  }
  ct *d = ct_from_words(m, c->d, card, 0);
  ct_release(m, c);
  if (!d) return POND_ENOMEM;
  *out = d;
  return POND_OK;
}

/* AND, ANDNOT, XOR of two bitsets: the count first (a read-only pass),
 * then either the bitset or, for a small result, the array straight from
 * the two inputs — no 8 KiB block allocated and converted. */
static int bitset_pair(pc_mem *m, int op, const ct *a, const ct *b, ct **out) {
  uint32_t card = kn_words_op(op, a->d, b->d, NULL);
  if (!card) {
    *out = NULL;
    return POND_OK;
  }
  if (card <= CT_ARRAY_MAX) {
    uint16_t buf[CT_ARRAY_MAX + KN_SLACK];
    uint32_t k = kn_words_op_to_array(op, a->d, b->d, buf);
    return emit_array(m, buf, k, out);
  }
  ct *d = ct_new_bitset(m, 0);
  if (!d) return POND_ENOMEM;
  kn_words_op(op, a->d, b->d, d->d);
  return settle_bitset(m, d, card, out);
}

/* Values of a inside (keep 1) or outside (keep 0) the runs r. out may be
 * NULL to count. */
static uint32_t arr_vs_runs(const uint16_t *a, uint32_t na, const ct_run *r, uint32_t nr, int keep,
                            uint16_t *out) {
  uint32_t i = 0, j = 0, k = 0;
  while (i < na) {
    while (j < nr && (uint32_t)r[j].start + r[j].len < a[i]) j++;
    int in = j < nr && r[j].start <= a[i];
    if (in == keep) {
      if (out) out[k] = a[i];
      k++;
    }
    i++;
  }
  return k;
}

static const uint64_t *as_words(const ct *c, uint64_t *buf) {
  if (c->kind == CT_BITSET) return c->d;
  ct_to_words(c, buf);
  return buf;
}

/* Any pair, through bitsets. */
static int via_words(pc_mem *m, int op, const ct *a, const ct *b, ct **out) {
  uint64_t wa[CT_WORDS], wb[CT_WORDS];
  const uint64_t *pa = as_words(a, wa), *pb = as_words(b, wb);
  uint32_t card = kn_words_op(op, pa, pb, wa);
  if (!card) {
    *out = NULL;
    return POND_OK;
  }
  ct *d = ct_from_words(m, wa, card, a->kind == CT_RUN || b->kind == CT_RUN);
  if (!d) return POND_ENOMEM;
  *out = d;
  return POND_OK;
}

static int op_and(pc_mem *m, const ct *a, const ct *b, ct **out) {
  if (a == b || is_full(b)) {
    *out = ct_ref((ct *)a);
    return POND_OK;
  }
  if (is_full(a)) {
    *out = ct_ref((ct *)b);
    return POND_OK;
  }
  if (a->kind == CT_BITSET && b->kind != CT_BITSET) {
    const ct *t = a;
    a = b;
    b = t;
  }
  uint16_t buf[CT_ARRAY_MAX + KN_SLACK];
  if (a->kind == CT_ARRAY) {
    uint32_t k;
    switch (b->kind) {
      case CT_ARRAY: k = kn_arr_and(ct_carr(a), a->n, ct_carr(b), b->n, buf); break;
      case CT_BITSET: k = kn_arr_words_and(ct_carr(a), a->n, b->d, buf); break;
      default: k = arr_vs_runs(ct_carr(a), a->n, ct_cruns(b), b->n, 1, buf); break;
    }
    return emit_array(m, buf, k, out);
  }
  if (b->kind == CT_ARRAY) { /* a is a run */
    uint32_t k = arr_vs_runs(ct_carr(b), b->n, ct_cruns(a), a->n, 1, buf);
    return emit_array(m, buf, k, out);
  }
  if (a->kind == CT_BITSET && b->kind == CT_BITSET) return bitset_pair(m, BM_AND, a, b, out);
  return via_words(m, BM_AND, a, b, out);
}

static int op_or(pc_mem *m, const ct *a, const ct *b, ct **out) {
  if (a == b || is_full(a)) {
    *out = ct_ref((ct *)a);
    return POND_OK;
  }
  if (is_full(b)) {
    *out = ct_ref((ct *)b);
    return POND_OK;
  }
  if (a->kind == CT_ARRAY && b->kind == CT_ARRAY) {
    uint16_t buf[2 * CT_ARRAY_MAX + KN_SLACK];
    uint32_t k = kn_arr_or(ct_carr(a), a->n, ct_carr(b), b->n, buf);
    if (k <= CT_ARRAY_MAX) return emit_array(m, buf, k, out);
    ct *d = ct_from_sorted(m, buf, k);
    if (!d) return POND_ENOMEM;
    *out = d;
    return POND_OK;
  }
  if (b->kind == CT_BITSET && a->kind == CT_ARRAY) {
    const ct *t = a;
    a = b;
    b = t;
  }
  if (a->kind == CT_BITSET && b->kind == CT_ARRAY) {
    ct *d = ct_new_bitset(m, 0);
    if (!d) return POND_ENOMEM;
    memcpy(d->d, a->d, CT_BITSET_BYTES);
    uint32_t card = a->card;
    const uint16_t *v = ct_carr(b);
    for (uint32_t i = 0; i < b->n; i++) {
      uint64_t *w = &d->d[v[i] >> 6], bit = 1ull << (v[i] & 63);
      card += !(*w & bit);
      *w |= bit;
    }
    return settle_bitset(m, d, card, out);
  }
  if (a->kind == CT_BITSET && b->kind == CT_BITSET) {
    ct *d = ct_new_bitset(m, 0);
    if (!d) return POND_ENOMEM;
    return settle_bitset(m, d, kn_words_op(BM_OR, a->d, b->d, d->d), out);
  }
  return via_words(m, BM_OR, a, b, out);
}

static int op_andnot(pc_mem *m, const ct *a, const ct *b, ct **out) {
  if (a == b || is_full(b)) {
    *out = NULL;
    return POND_OK;
  }
  uint16_t buf[CT_ARRAY_MAX + KN_SLACK];
  if (a->kind == CT_ARRAY) {
    uint32_t k;
    switch (b->kind) {
      case CT_ARRAY: k = kn_arr_andnot(ct_carr(a), a->n, ct_carr(b), b->n, buf); break;
      case CT_BITSET: {
        const uint16_t *v = ct_carr(a);
        k = 0;
        for (uint32_t i = 0; i < a->n; i++) {
          buf[k] = v[i];
          k += !((b->d[v[i] >> 6] >> (v[i] & 63)) & 1);
        }
        break;
      }
      default: k = arr_vs_runs(ct_carr(a), a->n, ct_cruns(b), b->n, 0, buf); break;
    }
    if (k == a->n) {
      *out = ct_ref((ct *)a);
      return POND_OK;
    }
    return emit_array(m, buf, k, out);
  }
  if (a->kind == CT_BITSET && b->kind == CT_ARRAY) {
    ct *d = ct_new_bitset(m, 0);
    if (!d) return POND_ENOMEM;
    memcpy(d->d, a->d, CT_BITSET_BYTES);
    uint32_t card = a->card;
    const uint16_t *v = ct_carr(b);
    for (uint32_t i = 0; i < b->n; i++) {
      uint64_t *w = &d->d[v[i] >> 6], bit = 1ull << (v[i] & 63);
      card -= !!(*w & bit);
      *w &= ~bit;
    }
    return settle_bitset(m, d, card, out);
  }
  if (a->kind == CT_BITSET && b->kind == CT_BITSET) return bitset_pair(m, BM_ANDNOT, a, b, out);
  return via_words(m, BM_ANDNOT, a, b, out);
}

static int op_xor(pc_mem *m, const ct *a, const ct *b, ct **out) {
  if (a == b) {
    *out = NULL;
    return POND_OK;
  }
  if (a->kind == CT_ARRAY && b->kind == CT_ARRAY) {
    uint16_t buf[2 * CT_ARRAY_MAX + KN_SLACK];
    uint32_t k = kn_arr_xor(ct_carr(a), a->n, ct_carr(b), b->n, buf);
    if (k <= CT_ARRAY_MAX) return emit_array(m, buf, k, out);
    ct *d = ct_from_sorted(m, buf, k);
    if (!d) return POND_ENOMEM;
    *out = d;
    return POND_OK;
  }
  if (b->kind == CT_BITSET && a->kind == CT_ARRAY) {
    const ct *t = a;
    a = b;
    b = t;
  }
  if (a->kind == CT_BITSET && b->kind == CT_ARRAY) {
    ct *d = ct_new_bitset(m, 0);
    if (!d) return POND_ENOMEM;
    memcpy(d->d, a->d, CT_BITSET_BYTES);
    uint32_t card = a->card;
    const uint16_t *v = ct_carr(b);
    for (uint32_t i = 0; i < b->n; i++) {
      uint64_t *w = &d->d[v[i] >> 6], bit = 1ull << (v[i] & 63);
      card += (*w & bit) ? (uint32_t)-1 : 1u;
      *w ^= bit;
    }
    return settle_bitset(m, d, card, out);
  }
  if (a->kind == CT_BITSET && b->kind == CT_BITSET) return bitset_pair(m, BM_XOR, a, b, out);
  return via_words(m, BM_XOR, a, b, out);
}

int ct_op(pc_mem *m, int op, const ct *a, const ct *b, ct **out) {
  switch (op) {
    case BM_AND: return op_and(m, a, b, out);
    case BM_OR: return op_or(m, a, b, out);
    case BM_ANDNOT: return op_andnot(m, a, b, out);
    default: return op_xor(m, a, b, out);
  }
}

static uint32_t and_card(const ct *a, const ct *b) {
  if (a == b || is_full(b)) return a->card;
  if (is_full(a)) return b->card;
  if (a->kind > b->kind) { /* order: ARRAY < BITSET < RUN */
    const ct *t = a;
    a = b;
    b = t;
  }
  if (a->kind == CT_ARRAY) {
    switch (b->kind) {
      case CT_ARRAY: return kn_arr_and(ct_carr(a), a->n, ct_carr(b), b->n, NULL);
      case CT_BITSET: return kn_arr_words_and_card(ct_carr(a), a->n, b->d);
      default: return arr_vs_runs(ct_carr(a), a->n, ct_cruns(b), b->n, 1, NULL);
    }
  }
  if (a->kind == CT_BITSET && b->kind == CT_BITSET) return kn_words_op(BM_AND, a->d, b->d, NULL);
  uint64_t wa[CT_WORDS], wb[CT_WORDS];
  return kn_words_op(BM_AND, as_words(a, wa), as_words(b, wb), NULL);
}

uint32_t ct_op_card(int op, const ct *a, const ct *b) {
  uint32_t both = and_card(a, b);
  switch (op) {
    case BM_AND: return both;
    case BM_OR: return a->card + b->card - both;
    case BM_ANDNOT: return a->card - both;
    default: return a->card + b->card - 2 * both;
  }
}
