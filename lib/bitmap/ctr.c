/*
 * ctr.c — containers: allocation, sharing, single-value changes, kind
 * conversions, iteration (see ctr.h for the layout and invariants).
 *
 * Single-value changes keep the kind rules: an array that would pass 4096
 * values becomes a bitset, a bitset that drops to 4096 becomes an array, a
 * full bitset becomes one run, and a run container becomes an array or a
 * bitset as soon as it is no longer the smallest. Arrays and runs grow by
 * half again (at least 4) and never shrink, so adding back a value just
 * removed never allocates.
 */
#include <string.h>

#include "bitmap/bm.h"
#include "bitmap/ctr.h"
#include "bitmap/kern.h"

#define HDR offsetof(struct bm_ctr, d)

static size_t data_bytes(int kind, uint32_t cap) {
  switch (kind) {
    case CT_ARRAY: return (size_t)cap * 2;
    case CT_BITSET: return CT_BITSET_BYTES;
    default: return (size_t)cap * 4;
  }
}

size_t ct_bytes(const ct *c) { return HDR + data_bytes(c->kind, c->cap); }

static ct *alloc_ctr(pc_mem *m, int kind, uint32_t cap) {
  ct *c = pc_alloc(m, HDR + data_bytes(kind, cap));
  if (!c) return NULL;
  atomic_init(&c->rc, 1);
  c->kind = (uint8_t)kind;
  c->pad_[0] = c->pad_[1] = c->pad_[2] = 0;
  c->card = 0;
  c->n = kind == CT_BITSET ? CT_WORDS : 0;
  c->cap = cap;
  return c;
}

ct *ct_new_array(pc_mem *m, uint32_t cap) { return alloc_ctr(m, CT_ARRAY, cap ? cap : 1); }
ct *ct_new_run(pc_mem *m, uint32_t cap) { return alloc_ctr(m, CT_RUN, cap ? cap : 1); }
ct *ct_new_bitset(pc_mem *m, int zero) {
  ct *c = alloc_ctr(m, CT_BITSET, CT_WORDS);
  if (c && zero) memset(c->d, 0, CT_BITSET_BYTES);
  return c;
}

void ct_release(pc_mem *m, ct *c) {
  if (atomic_fetch_sub_explicit(&c->rc, 1, memory_order_release) != 1) return;
  atomic_thread_fence(memory_order_acquire);
  pc_free(m, c, ct_bytes(c));
}

static uint32_t grown(uint32_t n, uint32_t limit) {
  uint32_t c = n < 4 ? 4 : n + n / 2;
  return c > limit ? limit : c;
}

int ct_own(pc_mem *m, ct **pc, uint32_t extra) {
  ct *c = *pc;
  if (ct_private(c)) return POND_OK;
  uint32_t cap = c->kind == CT_BITSET ? CT_WORDS : c->n + extra;
  ct *d = alloc_ctr(m, c->kind, cap ? cap : 1);
  if (!d) return POND_ENOMEM;
  d->card = c->card;
  d->n = c->n;
  memcpy(d->d, c->d, c->kind == CT_BITSET ? CT_BITSET_BYTES : data_bytes(c->kind, c->n));
  ct_release(m, c);
  *pc = d;
  return POND_OK;
}

/* Index of the first value >= v in a[0..n). */
static uint32_t lower16(const uint16_t *a, uint32_t n, uint16_t v) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Index of the first run ending at or after v (start + len >= v). */
static uint32_t run_lower(const ct_run *r, uint32_t n, uint16_t v) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if ((uint32_t)r[mid].start + r[mid].len < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

int ct_contains(const ct *c, uint16_t v) {
  switch (c->kind) {
    case CT_ARRAY: {
      const uint16_t *a = ct_carr(c);
      uint32_t i = lower16(a, c->n, v);
      return i < c->n && a[i] == v;
    }
    case CT_BITSET: return (int)((c->d[v >> 6] >> (v & 63)) & 1);
    default: {
      const ct_run *r = ct_cruns(c);
      uint32_t i = run_lower(r, c->n, v);
      return i < c->n && r[i].start <= v;
    }
  }
}

static void words_set_range(uint64_t *w, uint32_t lo, uint32_t hi) { /* [lo, hi] */
  uint32_t a = lo >> 6, b = hi >> 6;
  uint64_t ma = ~0ull << (lo & 63), mb = ~0ull >> (63 - (hi & 63));
  if (a == b) {
    w[a] |= ma & mb;
    return;
  }
  w[a] |= ma;
  for (uint32_t i = a + 1; i < b; i++) w[i] = ~0ull;
  w[b] |= mb;
}

void ct_to_words(const ct *c, uint64_t *w) {
  switch (c->kind) {
    case CT_BITSET: memcpy(w, c->d, CT_BITSET_BYTES); return;
    case CT_ARRAY: {
      memset(w, 0, CT_BITSET_BYTES);
      const uint16_t *a = ct_carr(c);
      for (uint32_t i = 0; i < c->n; i++) w[a[i] >> 6] |= 1ull << (a[i] & 63);
      return;
    }
    default: {
      memset(w, 0, CT_BITSET_BYTES);
      const ct_run *r = ct_cruns(c);
      for (uint32_t i = 0; i < c->n; i++) words_set_range(w, r[i].start, (uint32_t)r[i].start + r[i].len);
      return;
    }
  }
}

/* A run starts at each set bit whose lower neighbour is clear. */
#define WORDS_RUNS_BODY                                             \
  uint64_t n = 0, carry = 0;                                        \
  for (uint32_t i = 0; i < CT_WORDS; i++) {                         \
    uint64_t x = w[i];                                              \
    n += (uint64_t)__builtin_popcountll(x & ~((x << 1) | carry));   \
    carry = x >> 63;                                                \
  }                                                                 \
  return (uint32_t)n;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* With the popcnt instruction (the baseline build calls a library routine
 * per word: 3 of the 8 us that bm_append_words took per chunk). */
__attribute__((target("popcnt"))) static uint32_t words_runs_popcnt(const uint64_t *w) {
  WORDS_RUNS_BODY
}
#endif

uint32_t ct_words_runs(const uint64_t *w) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (__builtin_cpu_supports("popcnt")) return words_runs_popcnt(w);
#endif
  WORDS_RUNS_BODY
}
#undef WORDS_RUNS_BODY

uint32_t ct_nruns(const ct *c) {
  switch (c->kind) {
    case CT_RUN: return c->n;
    case CT_BITSET: return ct_words_runs(c->d);
    default: {
      const uint16_t *a = ct_carr(c);
      uint32_t n = 1;
      for (uint32_t i = 1; i < c->n; i++) n += a[i] != (uint16_t)(a[i - 1] + 1);
      return n;
    }
  }
}

/* CRoaring's accounting (run 2 + 4r, array 2c + 2, bitset 8192) and its
 * tie rule (a tie keeps the current kind; a run container is kept while it
 * is no bigger than either other kind), so that after bm_run_optimize both
 * libraries pick the same kinds and write the same bytes. cur 0: a new
 * container, a run only when strictly smaller. */
int ct_best_kind(uint32_t card, uint32_t nruns, int cur) {
  size_t run = 2 + 4 * (size_t)nruns, array = 2 * (size_t)card + 2;
  int plain = card <= CT_ARRAY_MAX ? CT_ARRAY : CT_BITSET;
  if (cur == CT_RUN) return run <= (array < CT_BITSET_BYTES ? array : CT_BITSET_BYTES) ? CT_RUN : plain;
  return run < (plain == CT_ARRAY ? array : CT_BITSET_BYTES) ? CT_RUN : plain;
}

void ct_words_to_runs(const uint64_t *w, ct_run *r) {
  uint32_t n = 0;
  uint32_t i = 0;
  uint64_t x = w[0];
  for (;;) {
    while (!x) {
      if (++i == CT_WORDS) return;
      x = w[i];
    }
    uint32_t start = i * 64 + (uint32_t)__builtin_ctzll(x);
    x |= x - 1; /* fill below the run's first bit */
    while (x == ~0ull) {
      if (++i == CT_WORDS) {
        r[n].start = (uint16_t)start;
        r[n].len = (uint16_t)(65535 - start);
        return;
      }
      x = w[i];
    }
    uint32_t end = i * 64 + (uint32_t)__builtin_ctzll(~x); /* first clear bit */
    r[n].start = (uint16_t)start;
    r[n].len = (uint16_t)(end - 1 - start);
    n++;
    x &= x + 1; /* clear the run's bits */
  }
}

/* An exact-size array of the card (<= 4096) set bits of w. */
static ct *array_from_words(pc_mem *m, const uint64_t *w, uint32_t card) {
  uint16_t buf[CT_ARRAY_MAX + KN_SLACK]; /* the SIMD extraction writes past the end */
  ct *c = ct_new_array(m, card);
  if (!c) return NULL;
  c->n = kn_words_to_array(w, buf);
  memcpy(ct_arr(c), buf, (size_t)c->n * 2);
  return c;
}

ct *ct_from_words(pc_mem *m, const uint64_t *w, uint32_t card, int with_runs) {
  int kind = card <= CT_ARRAY_MAX ? CT_ARRAY : CT_BITSET;
  uint32_t nruns = 0;
  if (with_runs || card == 65536) {
    nruns = ct_words_runs(w);
    kind = ct_best_kind(card, nruns, 0);
  }
  ct *c;
  switch (kind) {
    case CT_ARRAY:
      if (!(c = array_from_words(m, w, card))) return NULL;
      break;
    case CT_BITSET:
      if (!(c = ct_new_bitset(m, 0))) return NULL;
      memcpy(c->d, w, CT_BITSET_BYTES);
      break;
    default:
      if (!(c = ct_new_run(m, nruns))) return NULL;
      ct_words_to_runs(w, ct_runs(c));
      c->n = nruns;
      break;
  }
  c->card = card;
  return c;
}

ct *ct_from_sorted(pc_mem *m, const uint16_t *v, uint32_t n) {
  if (n <= CT_ARRAY_MAX) {
    ct *c = ct_new_array(m, n);
    if (!c) return NULL;
    memcpy(ct_arr(c), v, (size_t)n * 2);
    c->n = c->card = n;
    return c;
  }
  ct *c = ct_new_bitset(m, 1);
  if (!c) return NULL;
  for (uint32_t i = 0; i < n; i++) c->d[v[i] >> 6] |= 1ull << (v[i] & 63);
  c->card = n;
  if (n == 65536) {
    ct *r = ct_new_run(m, 1);
    if (r) {
      ct_runs(r)[0] = (ct_run){0, 65535};
      r->n = 1;
      r->card = n;
      ct_release(m, c);
      c = r;
    }
  }
  return c;
}

ct *ct_convert(pc_mem *m, const ct *c, int kind) {
  if (kind == c->kind) {
    ct *d = alloc_ctr(m, kind, kind == CT_BITSET ? CT_WORDS : c->n);
    if (!d) return NULL;
    d->n = c->n;
    d->card = c->card;
    memcpy(d->d, c->d, kind == CT_BITSET ? CT_BITSET_BYTES : data_bytes(kind, c->n));
    return d;
  }
  if (kind == CT_ARRAY && c->kind == CT_RUN) {
    ct *d = ct_new_array(m, c->card);
    if (!d) return NULL;
    const ct_run *r = ct_cruns(c);
    uint16_t *a = ct_arr(d);
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->n; i++)
      for (uint32_t v = r[i].start; v <= (uint32_t)r[i].start + r[i].len; v++) a[k++] = (uint16_t)v;
    d->n = d->card = k;
    return d;
  }
  uint64_t w[CT_WORDS];
  const uint64_t *src = c->d;
  if (c->kind != CT_BITSET) {
    ct_to_words(c, w);
    src = w;
  }
  ct *d;
  switch (kind) {
    case CT_ARRAY:
      if (!(d = array_from_words(m, src, c->card))) return NULL;
      break;
    case CT_BITSET:
      if (!(d = ct_new_bitset(m, 0))) return NULL;
      memcpy(d->d, src, CT_BITSET_BYTES);
      break;
    default: {
      uint32_t nr = ct_nruns(c);
      if (!(d = ct_new_run(m, nr))) return NULL;
      ct_words_to_runs(src, ct_runs(d));
      d->n = nr;
      break;
    }
  }
  d->card = c->card;
  return d;
}

/* Replaces *pc by a converted copy; POND_ENOMEM leaves it. */
static int convert_in_place(pc_mem *m, ct **pc, int kind) {
  ct *d = ct_convert(m, *pc, kind);
  if (!d) return POND_ENOMEM;
  ct_release(m, *pc);
  *pc = d;
  return POND_OK;
}

static int array_add(pc_mem *m, ct **pc, uint16_t v) {
  ct *c = *pc;
  uint16_t *a = ct_arr(c);
  uint32_t i = (c->n && a[c->n - 1] < v) ? c->n : lower16(a, c->n, v);
  if (i < c->n && a[i] == v) return 0;
  if (c->n == CT_ARRAY_MAX) {
    ct *b = ct_new_bitset(m, 0);
    if (!b) return POND_ENOMEM;
    ct_to_words(c, b->d);
    b->d[v >> 6] |= 1ull << (v & 63);
    b->card = c->card + 1;
    ct_release(m, c);
    *pc = b;
    return 1;
  }
  if (!ct_private(c) || c->n == c->cap) {
    ct *d = ct_new_array(m, grown(c->n, CT_ARRAY_MAX));
    if (!d) return POND_ENOMEM;
    memcpy(ct_arr(d), a, (size_t)i * 2);
    memcpy(ct_arr(d) + i + 1, a + i, (size_t)(c->n - i) * 2);
    ct_arr(d)[i] = v;
    d->n = d->card = c->n + 1;
    ct_release(m, c);
    *pc = d;
    return 1;
  }
  memmove(a + i + 1, a + i, (size_t)(c->n - i) * 2);
  a[i] = v;
  c->n++;
  c->card++;
  return 1;
}

static int bitset_add(pc_mem *m, ct **pc, uint16_t v) {
  ct *c = *pc;
  uint64_t bit = 1ull << (v & 63);
  if (c->d[v >> 6] & bit) return 0;
  if (c->card == 65535) { /* full: one run */
    ct *r = ct_new_run(m, 1);
    if (!r) return POND_ENOMEM;
    ct_runs(r)[0] = (ct_run){0, 65535};
    r->n = 1;
    r->card = 65536;
    ct_release(m, c);
    *pc = r;
    return 1;
  }
  POND_TRY(ct_own(m, pc, 0));
  c = *pc;
  c->d[v >> 6] |= bit;
  c->card++;
  return 1;
}

/* Makes room for one more run at index i of a private or shared run
 * container (copying when shared or full). */
static int run_open_slot(pc_mem *m, ct **pc, uint32_t i) {
  ct *c = *pc;
  if (ct_private(c) && c->n < c->cap) {
    memmove(ct_runs(c) + i + 1, ct_runs(c) + i, (size_t)(c->n - i) * 4);
    c->n++;
    return POND_OK;
  }
  uint32_t cap = ct_private(c) ? grown(c->n + 1, 32768) : c->n + 1;
  if (cap < c->n + 1) cap = c->n + 1;
  ct *d = ct_new_run(m, cap);
  if (!d) return POND_ENOMEM;
  memcpy(ct_runs(d), ct_cruns(c), (size_t)i * 4);
  memcpy(ct_runs(d) + i + 1, ct_cruns(c) + i, (size_t)(c->n - i) * 4);
  d->n = c->n + 1;
  d->card = c->card;
  ct_release(m, c);
  *pc = d;
  return POND_OK;
}

/* After a change: a run container that is no longer the smallest kind is
 * converted. Failure to convert is harmless (it stays a valid run). */
static void run_settle(pc_mem *m, ct **pc) {
  ct *c = *pc;
  int k = ct_best_kind(c->card, c->n, CT_RUN);
  if (k != CT_RUN) (void)convert_in_place(m, pc, k);
}

static int run_add(pc_mem *m, ct **pc, uint16_t v) {
  ct *c = *pc;
  ct_run *r = ct_runs(c);
  uint32_t i = run_lower(r, c->n, v); /* first run with end >= v */
  if (i < c->n && r[i].start <= v) return 0;
  int after_prev = i > 0 && (uint32_t)r[i - 1].start + r[i - 1].len + 1 == v;
  int before_next = i < c->n && r[i].start == (uint32_t)v + 1;
  if (after_prev || before_next) {
    POND_TRY(ct_own(m, pc, 0));
    c = *pc;
    r = ct_runs(c);
    if (after_prev && before_next) { /* v joins two runs */
      r[i - 1].len = (uint16_t)(r[i - 1].len + 1 + r[i].len + 1);
      memmove(r + i, r + i + 1, (size_t)(c->n - i - 1) * 4);
      c->n--;
    } else if (after_prev) {
      r[i - 1].len++;
    } else {
      r[i].start--;
      r[i].len++;
    }
    c->card++;
    run_settle(m, pc);
    return 1;
  }
  /* A new run of one: convert first when it would stop being smallest. */
  int k = ct_best_kind(c->card + 1, c->n + 1, CT_RUN);
  if (k != CT_RUN) {
    POND_TRY(convert_in_place(m, pc, k));
    return k == CT_ARRAY ? array_add(m, pc, v) : bitset_add(m, pc, v);
  }
  POND_TRY(run_open_slot(m, pc, i));
  c = *pc;
  ct_runs(c)[i] = (ct_run){v, 0};
  c->card++;
  return 1;
}

int ct_add(pc_mem *m, ct **pc, uint16_t v) {
  switch ((*pc)->kind) {
    case CT_ARRAY: return array_add(m, pc, v);
    case CT_BITSET: return bitset_add(m, pc, v);
    default: return run_add(m, pc, v);
  }
}

static int array_remove(pc_mem *m, ct **pc, uint16_t v) {
  ct *c = *pc;
  uint32_t i = lower16(ct_carr(c), c->n, v);
  if (i >= c->n || ct_carr(c)[i] != v) return 0;
  POND_TRY(ct_own(m, pc, 0));
  c = *pc;
  uint16_t *a = ct_arr(c);
  memmove(a + i, a + i + 1, (size_t)(c->n - i - 1) * 2);
  c->n--;
  c->card--;
  return 1;
}

static int bitset_remove(pc_mem *m, ct **pc, uint16_t v) {
  ct *c = *pc;
  uint64_t bit = 1ull << (v & 63);
  if (!(c->d[v >> 6] & bit)) return 0;
  if (c->card == CT_ARRAY_MAX + 1) {
    /* Room for one more, so that adding v back cannot fail for want of it. */
    ct *d = ct_new_array(m, CT_ARRAY_MAX);
    if (!d) return POND_ENOMEM;
    uint16_t buf[CT_ARRAY_MAX + 1 + KN_SLACK];
    uint32_t n = kn_words_to_array(c->d, buf), k = 0;
    uint16_t *a = ct_arr(d);
    for (uint32_t i = 0; i < n; i++)
      if (buf[i] != v) a[k++] = buf[i];
    d->n = d->card = k;
    ct_release(m, c);
    *pc = d;
    return 1;
  }
  POND_TRY(ct_own(m, pc, 0));
  c = *pc;
  c->d[v >> 6] &= ~bit;
  c->card--;
  return 1;
}

static int run_remove(pc_mem *m, ct **pc, uint16_t v) {
  ct *c = *pc;
  uint32_t i = run_lower(ct_cruns(c), c->n, v);
  if (i >= c->n || ct_cruns(c)[i].start > v) return 0;
  ct_run x = ct_cruns(c)[i];
  uint32_t end = (uint32_t)x.start + x.len;
  if (v != x.start && v != end) { /* splits the run */
    int k = ct_best_kind(c->card - 1, c->n + 1, CT_RUN);
    if (k != CT_RUN) {
      POND_TRY(convert_in_place(m, pc, k));
      return k == CT_ARRAY ? array_remove(m, pc, v) : bitset_remove(m, pc, v);
    }
    POND_TRY(run_open_slot(m, pc, i + 1));
    c = *pc;
    ct_run *r = ct_runs(c);
    r[i].len = (uint16_t)(v - 1 - x.start);
    r[i + 1] = (ct_run){(uint16_t)(v + 1), (uint16_t)(end - v - 1)};
    c->card--;
    return 1;
  }
  POND_TRY(ct_own(m, pc, 0));
  c = *pc;
  ct_run *r = ct_runs(c);
  if (x.len == 0) {
    memmove(r + i, r + i + 1, (size_t)(c->n - i - 1) * 4);
    c->n--;
  } else if (v == x.start) {
    r[i].start++;
    r[i].len--;
  } else {
    r[i].len--;
  }
  c->card--;
  run_settle(m, pc);
  return 1;
}

int ct_remove(pc_mem *m, ct **pc, uint16_t v) {
  switch ((*pc)->kind) {
    case CT_ARRAY: return array_remove(m, pc, v);
    case CT_BITSET: return bitset_remove(m, pc, v);
    default: return run_remove(m, pc, v);
  }
}

uint16_t ct_min(const ct *c) {
  switch (c->kind) {
    case CT_ARRAY: return ct_carr(c)[0];
    case CT_RUN: return ct_cruns(c)[0].start;
    default:
      for (uint32_t i = 0;; i++)
        if (c->d[i]) return (uint16_t)(i * 64 + (uint32_t)__builtin_ctzll(c->d[i]));
  }
}

uint16_t ct_max(const ct *c) {
  switch (c->kind) {
    case CT_ARRAY: return ct_carr(c)[c->n - 1];
    case CT_RUN: {
      const ct_run *r = ct_cruns(c) + c->n - 1;
      return (uint16_t)(r->start + r->len);
    }
    default:
      for (uint32_t i = CT_WORDS; i-- > 0;)
        if (c->d[i]) return (uint16_t)(i * 64 + 63 - (uint32_t)__builtin_clzll(c->d[i]));
      return 0;
  }
}

int ct_equal(const ct *a, const ct *b) {
  if (a == b) return 1;
  if (a->card != b->card) return 0;
  if (a->kind == b->kind) {
    if (a->kind == CT_BITSET) return memcmp(a->d, b->d, CT_BITSET_BYTES) == 0;
    return a->n == b->n && memcmp(a->d, b->d, data_bytes(a->kind, a->n)) == 0;
  }
  uint64_t wa[CT_WORDS], wb[CT_WORDS];
  ct_to_words(a, wa);
  ct_to_words(b, wb);
  return memcmp(wa, wb, sizeof wa) == 0;
}

size_t ct_page(const ct *c, uint32_t from, uint64_t base, uint64_t *out, size_t cap) {
  size_t k = 0;
  switch (c->kind) {
    case CT_ARRAY: {
      const uint16_t *a = ct_carr(c);
      for (uint32_t i = lower16(a, c->n, (uint16_t)from); i < c->n && k < cap; i++) out[k++] = base | a[i];
      return k;
    }
    case CT_BITSET:
      for (uint32_t i = from >> 6; i < CT_WORDS && k < cap; i++) {
        uint64_t x = c->d[i];
        if (i == from >> 6) x &= ~0ull << (from & 63);
        while (x && k < cap) {
          out[k++] = base | (i * 64 + (uint64_t)__builtin_ctzll(x));
          x &= x - 1;
        }
      }
      return k;
    default: {
      const ct_run *r = ct_cruns(c);
      for (uint32_t i = run_lower(r, c->n, (uint16_t)from); i < c->n && k < cap; i++) {
        uint32_t v = r[i].start < from ? from : r[i].start, end = (uint32_t)r[i].start + r[i].len;
        for (; v <= end && k < cap; v++) out[k++] = base | v;
      }
      return k;
    }
  }
}

void ct_seek(const ct *c, uint32_t from, uint32_t *pos, uint32_t *sub) {
  *sub = 0;
  switch (c->kind) {
    case CT_ARRAY: *pos = from > 65535 ? c->n : lower16(ct_carr(c), c->n, (uint16_t)from); return;
    case CT_BITSET: *pos = from; return;
    default: {
      const ct_run *r = ct_cruns(c);
      if (from > 65535) {
        *pos = c->n;
        return;
      }
      uint32_t i = run_lower(r, c->n, (uint16_t)from);
      *pos = i;
      if (i < c->n) *sub = r[i].start < from ? from : r[i].start;
      return;
    }
  }
}

int ct_next(const ct *c, uint32_t *pos, uint32_t *sub, uint16_t *v) {
  switch (c->kind) {
    case CT_ARRAY:
      if (*pos >= c->n) return 0;
      *v = ct_carr(c)[(*pos)++];
      return 1;
    case CT_BITSET: {
      uint32_t p = *pos;
      if (p >= 65536) return 0;
      uint32_t i = p >> 6;
      uint64_t x = c->d[i] & (~0ull << (p & 63));
      while (!x) {
        if (++i == CT_WORDS) {
          *pos = 65536;
          return 0;
        }
        x = c->d[i];
      }
      uint32_t b = i * 64 + (uint32_t)__builtin_ctzll(x);
      *v = (uint16_t)b;
      *pos = b + 1;
      return 1;
    }
    default: {
      if (*pos >= c->n) return 0;
      const ct_run *r = ct_cruns(c) + *pos;
      *v = (uint16_t)*sub;
      if (*sub >= (uint32_t)r->start + r->len) {
        if (++*pos < c->n) *sub = r[1].start;
      } else {
        ++*sub;
      }
      return 1;
    }
  }
}
