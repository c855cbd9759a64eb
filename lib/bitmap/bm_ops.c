/*
 * bm_ops.c — set algebra on whole bitmaps (two-way and n-way) and bulk
 * adds.
 *
 * Results are built in a fresh bitmap and moved into the output at the
 * end, so a failure leaves every input and the output as they were, and
 * the output may alias an input. Containers present in one operand only
 * are shared with the result (a reference, not a copy): OR of disjoint
 * tags costs O(containers).
 *
 * AND walks the keys of the smaller bitmap and bisects the other's when
 * their sizes differ by more than 8x; otherwise both are merged.
 */
#include <string.h>

#include "bitmap/bm.h"
#include "bitmap/bmint.h"
#include "bitmap/ctr.h"
#include "bitmap/kern.h"

/* Appends c (a new reference or NULL for an empty result) to r. */
static void put(bm *r, uint64_t key, ct *c) {
  if (c) bm_push(r, key, c);
}

static int op_and(pc_mem *m, const bm *a, const bm *b, bm *r) {
  if (a->n > b->n) {
    const bm *t = a;
    a = b;
    b = t;
  }
  if (!a->n) return POND_OK;
  POND_TRY(bm_reserve(m, r, a->n));
  if ((uint64_t)a->n * 8 < b->n) {
    for (uint32_t i = 0; i < a->n; i++) {
      long j = bm_find(b, a->keys[i]);
      if (j < 0) continue;
      ct *c;
      POND_TRY(ct_op(m, BM_AND, a->ctrs[i], b->ctrs[j], &c));
      put(r, a->keys[i], c);
    }
    return POND_OK;
  }
  uint32_t i = 0, j = 0;
  while (i < a->n && j < b->n) {
    uint64_t ka = a->keys[i], kb = b->keys[j];
    if (ka < kb) {
      i++;
    } else if (kb < ka) {
      j++;
    } else {
      ct *c;
      POND_TRY(ct_op(m, BM_AND, a->ctrs[i], b->ctrs[j], &c));
      put(r, ka, c);
      i++;
      j++;
    }
  }
  return POND_OK;
}

/* OR, ANDNOT, XOR: a merge of the two key lists. */
static int op_merge(pc_mem *m, int op, const bm *a, const bm *b, bm *r) {
  uint32_t room = op == BM_ANDNOT ? a->n : a->n + b->n;
  if (room < a->n) return POND_ENOMEM; /* overflow */
  if (room) POND_TRY(bm_reserve(m, r, room));
  uint32_t i = 0, j = 0;
  while (i < a->n || j < b->n) {
    uint64_t ka = i < a->n ? a->keys[i] : UINT64_MAX, kb = j < b->n ? b->keys[j] : UINT64_MAX;
    if (i < a->n && (j >= b->n || ka < kb)) {
      put(r, ka, ct_ref(a->ctrs[i]));
      i++;
    } else if (i >= a->n || kb < ka) {
      if (op != BM_ANDNOT) put(r, kb, ct_ref(b->ctrs[j]));
      else if (i >= a->n) break;
      j++;
    } else {
      ct *c;
      POND_TRY(ct_op(m, op, a->ctrs[i], b->ctrs[j], &c));
      put(r, ka, c);
      i++;
      j++;
    }
  }
  return POND_OK;
}

int bm_op(pc_mem *m, int op, const bm *a, const bm *b, bm *out) {
  bm r;
  bm_init(&r);
  int rc = op == BM_AND ? op_and(m, a, b, &r) : op_merge(m, op, a, b, &r);
  if (rc < 0) {
    bm_free(m, &r);
    return rc;
  }
  bm_move(m, out, &r);
  return POND_OK;
}

int bm_op_inplace(pc_mem *m, int op, bm *a, const bm *b) { return bm_op(m, op, a, b, a); }

uint64_t bm_op_card(int op, const bm *a, const bm *b) {
  uint64_t both = 0;
  const bm *s = a->n <= b->n ? a : b, *l = s == a ? b : a;
  if ((uint64_t)s->n * 8 < l->n) {
    for (uint32_t i = 0; i < s->n; i++) {
      long j = bm_find(l, s->keys[i]);
      if (j >= 0) both += ct_op_card(BM_AND, s->ctrs[i], l->ctrs[j]);
    }
  } else {
    uint32_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
      uint64_t ka = a->keys[i], kb = b->keys[j];
      if (ka < kb) i++;
      else if (kb < ka) j++;
      else both += ct_op_card(BM_AND, a->ctrs[i++], b->ctrs[j++]);
    }
  }
  if (op == BM_AND) return both;
  uint64_t ca = bm_card(a), cb = bm_card(b);
  switch (op) {
    case BM_OR: return ca + cb - both;
    case BM_ANDNOT: return ca - both;
    default: return ca + cb - 2 * both;
  }
}

typedef struct by_card {
  uint64_t card;
  size_t i;
} by_card;

static int before(const by_card *x, const by_card *y) {
  return x->card < y->card || (x->card == y->card && x->i < y->i);
}

/* Heapsort (no recursion, no allocation) by ascending card. */
static void sort_by_card(by_card *v, size_t n) {
  for (size_t k = n; k-- > 0;) {
    for (size_t root = k, end = n;;) {
      size_t c = 2 * root + 1;
      if (c >= end) break;
      if (c + 1 < end && before(&v[c], &v[c + 1])) c++;
      if (!before(&v[root], &v[c])) break;
      by_card t = v[root];
      v[root] = v[c];
      v[c] = t;
      root = c;
    }
  }
  for (size_t end = n; end-- > 1;) {
    by_card t = v[0];
    v[0] = v[end];
    v[end] = t;
    for (size_t root = 0;;) {
      size_t c = 2 * root + 1;
      if (c >= end) break;
      if (c + 1 < end && before(&v[c], &v[c + 1])) c++;
      if (!before(&v[root], &v[c])) break;
      t = v[root];
      v[root] = v[c];
      v[c] = t;
      root = c;
    }
  }
}

int bm_and_many(pc_mem *m, const bm *const *in, size_t n, bm *out) {
  bm r;
  bm_init(&r);
  if (n == 0) {
    bm_move(m, out, &r);
    return POND_OK;
  }
  /* Smallest first: the running result only shrinks, and an empty one
   * stops the loop. */
  size_t bytes;
  if (!pc_mul_ok(n, sizeof(by_card), &bytes)) return POND_ENOMEM;
  by_card *ord = pc_alloc(m, bytes);
  if (!ord) return POND_ENOMEM;
  for (size_t i = 0; i < n; i++) ord[i] = (by_card){bm_card(in[i]), i};
  sort_by_card(ord, n);
  int rc = bm_copy(m, &r, in[ord[0].i]);
  for (size_t k = 1; rc >= 0 && k < n && r.n; k++) rc = bm_op(m, BM_AND, &r, in[ord[k].i], &r);
  pc_free(m, ord, bytes);
  if (rc < 0) {
    bm_free(m, &r);
    return rc;
  }
  bm_move(m, out, &r);
  return POND_OK;
}

/* OR of the containers c[0..k) of one key into a new container. */
static int or_group(pc_mem *m, ct *const *c, size_t k, ct **out) {
  if (k == 1) {
    *out = ct_ref(c[0]);
    return POND_OK;
  }
  if (k == 2) return ct_op(m, BM_OR, c[0], c[1], out);
  uint64_t acc[CT_WORDS], w[CT_WORDS];
  int runs = 0;
  ct_to_words(c[0], acc);
  for (size_t i = 1; i < k; i++) {
    runs |= c[i]->kind == CT_RUN;
    if (c[i]->card == 65536) {
      *out = ct_ref(c[i]);
      return POND_OK;
    }
    if (c[i]->kind == CT_ARRAY) {
      const uint16_t *v = ct_carr(c[i]);
      for (uint32_t j = 0; j < c[i]->n; j++) acc[v[j] >> 6] |= 1ull << (v[j] & 63);
    } else if (c[i]->kind == CT_BITSET) {
      for (uint32_t j = 0; j < CT_WORDS; j++) acc[j] |= c[i]->d[j];
    } else {
      ct_to_words(c[i], w);
      for (uint32_t j = 0; j < CT_WORDS; j++) acc[j] |= w[j];
    }
  }
  uint32_t card = (uint32_t)kn_popcount(acc, CT_WORDS);
  ct *d = ct_from_words(m, acc, card, runs || c[0]->kind == CT_RUN);
  if (!d) return POND_ENOMEM;
  *out = d;
  return POND_OK;
}

int bm_or_many(pc_mem *m, const bm *const *in, size_t n, bm *out) {
  if (n <= 2) {
    bm empty;
    bm_init(&empty);
    return bm_op(m, BM_OR, n ? in[0] : &empty, n > 1 ? in[1] : &empty, out);
  }
  /* cursors, then the containers of the current key */
  size_t bytes;
  if (!pc_mul_ok(n, sizeof(size_t) + sizeof(ct *), &bytes)) return POND_ENOMEM;
  size_t *pos = pc_calloc(m, bytes);
  if (!pos) return POND_ENOMEM;
  ct **group = (ct **)(void *)(pos + n);
  bm r;
  bm_init(&r);
  int rc = POND_OK;
  for (;;) {
    uint64_t key = UINT64_MAX;
    int any = 0;
    for (size_t i = 0; i < n; i++)
      if (pos[i] < in[i]->n && (!any || in[i]->keys[pos[i]] < key)) key = in[i]->keys[pos[i]], any = 1;
    if (!any) break;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (pos[i] < in[i]->n && in[i]->keys[pos[i]] == key) group[k++] = in[i]->ctrs[pos[i]++];
    ct *c;
    if ((rc = bm_reserve(m, &r, 1)) < 0 || (rc = or_group(m, group, k, &c)) < 0) break;
    bm_push(&r, key, c);
  }
  pc_free(m, pos, bytes);
  if (rc < 0) {
    bm_free(m, &r);
    return rc;
  }
  bm_move(m, out, &r);
  return POND_OK;
}

/* LSD radix sort of v[0..n) using tmp, 11 bits per pass, skipping the
 * digits on which all values agree; the result ends in v. */
static void radix_sort(uint64_t *v, uint64_t *tmp, size_t n) {
  uint64_t all_or = 0, all_and = ~0ull;
  for (size_t i = 0; i < n; i++) all_or |= v[i], all_and &= v[i];
  uint64_t varies = all_or ^ all_and;
  size_t count[2048];
  uint64_t *src = v, *dst = tmp;
  for (unsigned shift = 0; shift < 64; shift += 11) {
    if (!((varies >> shift) & 0x7ff)) continue;
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) count[(src[i] >> shift) & 0x7ff]++;
    size_t sum = 0;
    for (size_t d = 0; d < 2048; d++) {
      size_t c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) dst[count[(src[i] >> shift) & 0x7ff]++] = src[i];
    uint64_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != v) memcpy(v, src, n * sizeof *v);
}

/* Containers for the sorted ids v[0..n) (duplicates allowed) into r. */
static int build_sorted(pc_mem *m, const uint64_t *v, size_t n, bm *r) {
  size_t i = 0;
  while (i < n) {
    uint64_t key = v[i] >> 16;
    size_t j = i + 1;
    while (j < n && v[j] >> 16 == key) j++;
    /* distinct values of v[i..j) */
    uint32_t distinct = 1;
    for (size_t k = i + 1; k < j; k++) distinct += v[k] != v[k - 1];
    POND_TRY(bm_reserve(m, r, 1));
    ct *c;
    if (distinct <= CT_ARRAY_MAX) {
      if (!(c = ct_new_array(m, distinct))) return POND_ENOMEM;
      uint16_t *a = ct_arr(c);
      uint32_t w = 0;
      for (size_t k = i; k < j; k++)
        if (k == i || v[k] != v[k - 1]) a[w++] = (uint16_t)v[k];
      c->n = c->card = w;
    } else {
      uint64_t words[CT_WORDS];
      memset(words, 0, sizeof words);
      for (size_t k = i; k < j; k++) words[(v[k] >> 6) & 1023] |= 1ull << (v[k] & 63);
      if (!(c = ct_from_words(m, words, distinct, 1))) return POND_ENOMEM;
    }
    bm_push(r, key, c);
    i = j;
  }
  return POND_OK;
}

int bm_add_many(pc_mem *m, bm *b, const uint64_t *ids, size_t n, uint64_t *added) {
  if (!n) {
    if (added) *added = 0;
    return POND_OK;
  }
  size_t i = 1;
  while (i < n && ids[i - 1] <= ids[i]) i++;
  uint64_t *sorted = NULL;
  size_t bytes = 0;
  if (i < n) {
    if (!pc_mul_ok(n, 2 * sizeof *ids, &bytes)) return POND_ENOMEM;
    if (!(sorted = pc_alloc(m, bytes))) return POND_ENOMEM;
    memcpy(sorted, ids, n * sizeof *ids);
    radix_sort(sorted, sorted + n, n);
    ids = sorted;
  }
  bm t;
  bm_init(&t);
  uint64_t before = bm_card(b);
  int rc = build_sorted(m, ids, n, &t);
  if (sorted) pc_free(m, sorted, bytes);
  if (rc >= 0) rc = bm_op_inplace(m, BM_OR, b, &t);
  bm_free(m, &t);
  if (rc < 0) return rc;
  if (added) *added = bm_card(b) - before;
  return POND_OK;
}
