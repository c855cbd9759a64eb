/*
 * serial.c — the Roaring portable format (RoaringFormatSpec) and its
 * 64-bit variant, written and read with every byte checked.
 *
 * 32-bit layout (all little-endian):
 *   cookie      u32 12346, then u32 container count        (no run container)
 *               or u32 12347 | (count - 1) << 16, then a bitmap of
 *               ceil(count / 8) bytes marking run containers
 *   header      per container: u16 key, u16 cardinality - 1
 *   offsets     per container: u32 byte offset from the start; present
 *               unless the run cookie is used with fewer than 4 containers
 *   containers  run: u16 count, then (u16 start, u16 length - 1) pairs;
 *               else cardinality <= 4096: sorted u16 values;
 *               else 1024 u64 words
 * 64-bit layout: u64 bucket count, then per bucket u32 high 32 bits of the
 * ids (ascending) and a 32-bit bitmap of their low 32 bits.
 *
 * Containers are written in their smallest kind (CRoaring's run_optimize
 * rule), converted on the fly: the bytes equal CRoaring's for the same set
 * after its run_optimize.
 *
 * The reader rejects anything the format does not allow or that a writer
 * would not produce ambiguously: unsorted or repeated keys, values or runs,
 * overlapping runs, cardinalities that disagree with the data, offsets
 * that do not point where the container is, padding bits set in the run
 * bitmap, and trailing bytes. Runs that touch are merged (same set).
 */
#include <string.h>

#include "bitmap/bm.h"
#include "bitmap/bmint.h"
#include "bitmap/ctr.h"
#include "bitmap/kern.h"

#define COOKIE_NORUN 12346u
#define COOKIE_RUN 12347u
#define NO_OFFSET_THRESHOLD 4u

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* The kind a container is written as: the smallest, with CRoaring's sizes
 * and ties (ct_best_kind), so the bytes are those CRoaring writes after
 * run_optimize whatever kind the container has in memory. */
static int wire_kind(const ct *c, uint32_t *nruns) {
  *nruns = ct_nruns(c);
  return ct_best_kind(c->card, *nruns, c->kind);
}

static size_t data_size(const ct *c) {
  uint32_t nr;
  switch (wire_kind(c, &nr)) {
    case CT_RUN: return 2 + 4 * (size_t)nr;
    case CT_ARRAY: return 2 * (size_t)c->card;
    default: return CT_BITSET_BYTES;
  }
}

static uint8_t *put_container(uint8_t *p, const ct *c) {
  uint32_t nr;
  int kind = wire_kind(c, &nr);
  if (kind == c->kind) {
    switch (c->kind) {
      case CT_RUN:
        put16(p, (uint16_t)c->n);
        p += 2;
        for (uint32_t r = 0; r < c->n; r++, p += 4) {
          put16(p, ct_cruns(c)[r].start);
          put16(p + 2, ct_cruns(c)[r].len);
        }
        return p;
      case CT_ARRAY:
        for (uint32_t r = 0; r < c->n; r++, p += 2) put16(p, ct_carr(c)[r]);
        return p;
      default:
        for (uint32_t r = 0; r < CT_WORDS; r++, p += 8) put64(p, c->d[r]);
        return p;
    }
  }
  uint64_t w[CT_WORDS];
  ct_to_words(c, w);
  switch (kind) {
    case CT_RUN: {
      /* converted only when smaller than the array or the bitset: r < 2048 */
      ct_run runs[2048];
      ct_words_to_runs(w, runs);
      put16(p, (uint16_t)nr);
      p += 2;
      for (uint32_t r = 0; r < nr; r++, p += 4) {
        put16(p, runs[r].start);
        put16(p + 2, runs[r].len);
      }
      return p;
    }
    case CT_ARRAY:
      for (uint32_t i = 0; i < CT_WORDS; i++)
        for (uint64_t x = w[i]; x; x &= x - 1, p += 2) put16(p, (uint16_t)(i * 64 + (uint32_t)__builtin_ctzll(x)));
      return p;
    default:
      for (uint32_t r = 0; r < CT_WORDS; r++, p += 8) put64(p, w[r]);
      return p;
  }
}

static int is_run_on_wire(const ct *c) {
  uint32_t nr;
  return wire_kind(c, &nr) == CT_RUN;
}

/* Bytes of the 32-bit serialization of containers [i, j) of b. */
static size_t size32(const bm *b, uint32_t i, uint32_t j) {
  uint32_t n = j - i;
  int runs = 0;
  size_t data = 0;
  for (uint32_t k = i; k < j; k++) {
    runs |= is_run_on_wire(b->ctrs[k]);
    data += data_size(b->ctrs[k]);
  }
  size_t head = runs ? 4 + (n + 7) / 8 : 8;
  head += 4 * (size_t)n;
  if (!runs || n >= NO_OFFSET_THRESHOLD) head += 4 * (size_t)n;
  return head + data;
}

static uint8_t *write32(const bm *b, uint32_t i, uint32_t j, uint8_t *p) {
  uint8_t *start = p;
  uint32_t n = j - i;
  int runs = 0;
  for (uint32_t k = i; k < j; k++) runs |= is_run_on_wire(b->ctrs[k]);
  if (runs) {
    put32(p, COOKIE_RUN | (n - 1) << 16);
    p += 4;
    memset(p, 0, (n + 7) / 8);
    for (uint32_t k = 0; k < n; k++)
      if (is_run_on_wire(b->ctrs[i + k])) p[k / 8] |= (uint8_t)(1u << (k % 8));
    p += (n + 7) / 8;
  } else {
    put32(p, COOKIE_NORUN);
    put32(p + 4, n);
    p += 8;
  }
  for (uint32_t k = i; k < j; k++) {
    put16(p, (uint16_t)b->keys[k]);
    put16(p + 2, (uint16_t)(b->ctrs[k]->card - 1));
    p += 4;
  }
  uint8_t *offsets = NULL;
  if (!runs || n >= NO_OFFSET_THRESHOLD) {
    offsets = p;
    p += 4 * (size_t)n;
  }
  for (uint32_t k = i; k < j; k++) {
    const ct *c = b->ctrs[k];
    if (offsets) put32(offsets + 4 * (size_t)(k - i), (uint32_t)(p - start));
    p = put_container(p, c);
  }
  return p;
}

/* Containers [i, j) whose keys share the high 16 bits of keys[i]. */
static uint32_t bucket_end(const bm *b, uint32_t i) {
  uint32_t j = i + 1;
  while (j < b->n && b->keys[j] >> 16 == b->keys[i] >> 16) j++;
  return j;
}

int bm_serialize(const bm *b, void *buf, size_t cap, size_t *len) {
  int wide = b->n && b->keys[b->n - 1] >> 16;
  size_t need;
  uint64_t buckets = 0;
  if (!wide) {
    need = size32(b, 0, b->n);
  } else {
    need = 8;
    for (uint32_t i = 0; i < b->n; i = bucket_end(b, i)) {
      need += 4 + size32(b, i, bucket_end(b, i));
      buckets++;
    }
  }
  *len = need;
  if (!buf) return POND_OK;
  if (cap < need) return POND_ELIMIT;
  uint8_t *p = buf;
  if (!wide) {
    write32(b, 0, b->n, p);
    return POND_OK;
  }
  put64(p, buckets);
  p += 8;
  for (uint32_t i = 0, j; i < b->n; i = j) {
    j = bucket_end(b, i);
    put32(p, (uint32_t)(b->keys[i] >> 16));
    p = write32(b, i, j, p + 4);
  }
  return POND_OK;
}

/* ------------------------------------------------------------- reading */

typedef struct rd {
  const uint8_t *p;
  size_t len;  /* bytes of this 32-bit bitmap's input (the rest of the buffer) */
  size_t base; /* offset of p in the caller's buffer, for messages */
  pc_err *e;
} rd;

#define BAD(...) pc_errf(r->e, POND_ECORRUPT, "set: " __VA_ARGS__)

static int need(rd *r, size_t at, size_t n, const char *what) {
  if (at > r->len || r->len - at < n)
    return BAD("truncated: %s needs %zu bytes at offset %zu, %zu left", what, n, r->base + at,
               at > r->len ? (size_t)0 : r->len - at);
  return POND_OK;
}

static int read_runs(pc_mem *m, rd *r, size_t at, uint32_t card, uint32_t idx, ct **out,
                     size_t *used) {
  POND_TRY(need(r, at, 2, "a run count"));
  uint32_t nr = get16(r->p + at);
  if (!nr) return BAD("container %u: a run container with no runs", idx);
  POND_TRY(need(r, at + 2, 4 * (size_t)nr, "run container data"));
  ct *c = ct_new_run(m, nr);
  if (!c) return POND_ENOMEM;
  const uint8_t *p = r->p + at + 2;
  ct_run *v = ct_runs(c);
  uint32_t k = 0, sum = 0;
  int64_t prev_end = -1;
  for (uint32_t i = 0; i < nr; i++, p += 4) {
    uint32_t s = get16(p), l = get16(p + 2);
    if (s + l > 65535) {
      ct_release(m, c);
      return BAD("container %u: run %u (%u, length %u) passes 65535", idx, i, s, l + 1);
    }
    if ((int64_t)s <= prev_end) {
      ct_release(m, c);
      return BAD("container %u: run %u starts at %u, inside or before the previous run", idx, i, s);
    }
    if (k && (int64_t)s == prev_end + 1) { /* touching: one run */
      v[k - 1].len = (uint16_t)(v[k - 1].len + l + 1);
    } else {
      v[k++] = (ct_run){(uint16_t)s, (uint16_t)l};
    }
    prev_end = s + l;
    sum += l + 1;
  }
  if (sum != card) {
    ct_release(m, c);
    return BAD("container %u: runs hold %u values, the header says %u", idx, sum, card);
  }
  c->n = k;
  c->card = card;
  *out = c;
  *used = 2 + 4 * (size_t)nr;
  return POND_OK;
}

static int read_array(pc_mem *m, rd *r, size_t at, uint32_t card, uint32_t idx, ct **out,
                      size_t *used) {
  POND_TRY(need(r, at, 2 * (size_t)card, "array container data"));
  ct *c = ct_new_array(m, card);
  if (!c) return POND_ENOMEM;
  const uint8_t *p = r->p + at;
  uint16_t *a = ct_arr(c);
  for (uint32_t i = 0; i < card; i++) {
    uint16_t v = get16(p + 2 * (size_t)i);
    if (i && v <= a[i - 1]) {
      unsigned prev = a[i - 1];
      ct_release(m, c);
      return BAD("container %u: value %u (%u) is not above the previous one (%u)", idx, i, v, prev);
    }
    a[i] = v;
  }
  c->n = c->card = card;
  *out = c;
  *used = 2 * (size_t)card;
  return POND_OK;
}

static int read_bitset(pc_mem *m, rd *r, size_t at, uint32_t card, uint32_t idx, ct **out,
                       size_t *used) {
  POND_TRY(need(r, at, CT_BITSET_BYTES, "bitset container data"));
  ct *c = ct_new_bitset(m, 0);
  if (!c) return POND_ENOMEM;
  for (uint32_t i = 0; i < CT_WORDS; i++) c->d[i] = get64(r->p + at + 8 * (size_t)i);
  uint64_t pop = kn_popcount(c->d, CT_WORDS);
  if (pop != card) {
    ct_release(m, c);
    return BAD("container %u: bitset holds %llu values, the header says %u", idx,
               (unsigned long long)pop, card);
  }
  c->card = card;
  *out = c;
  *used = CT_BITSET_BYTES;
  return POND_OK;
}

/* One 32-bit bitmap at r->p, its containers appended to out with keys
 * high << 16 | key; *consumed gets its length. */
static int read32(pc_mem *m, rd *r, uint64_t high, bm *out, size_t *consumed) {
  POND_TRY(need(r, 0, 4, "the cookie"));
  uint32_t cookie = get32(r->p), n;
  size_t at;
  const uint8_t *runmap = NULL;
  if ((cookie & 0xffff) == COOKIE_RUN) {
    n = (cookie >> 16) + 1;
    POND_TRY(need(r, 4, (n + 7) / 8, "the run bitmap"));
    runmap = r->p + 4;
    if (n % 8 && runmap[n / 8] >> (n % 8))
      return BAD("padding bits of the run bitmap are set (offset %zu)", r->base + 4 + n / 8);
    at = 4 + (n + 7) / 8;
  } else if (cookie == COOKIE_NORUN) {
    POND_TRY(need(r, 4, 4, "the container count"));
    n = get32(r->p + 4);
    if (n > 65536) return BAD("%u containers (at most 65536)", n);
    at = 8;
  } else {
    return BAD("not a Roaring bitmap: cookie 0x%08x at offset %zu", cookie, r->base);
  }
  POND_TRY(need(r, at, 4 * (size_t)n, "the container header"));
  const uint8_t *hdr = r->p + at;
  at += 4 * (size_t)n;
  const uint8_t *offs = NULL;
  if (!runmap || n >= NO_OFFSET_THRESHOLD) {
    POND_TRY(need(r, at, 4 * (size_t)n, "the offset header"));
    offs = r->p + at;
    at += 4 * (size_t)n;
  }
  POND_TRY(bm_reserve(m, out, n));
  for (uint32_t i = 0; i < n; i++) {
    uint32_t key = get16(hdr + 4 * (size_t)i), card = get16(hdr + 4 * (size_t)i + 2) + 1u;
    if (i && key <= get16(hdr + 4 * (size_t)(i - 1)))
      return BAD("container %u: key %u is not above the previous key %u", i, key,
                 get16(hdr + 4 * (size_t)(i - 1)));
    if (offs && get32(offs + 4 * (size_t)i) != at)
      return BAD("container %u: offset %u, but its data is at %zu", i, get32(offs + 4 * (size_t)i), at);
    ct *c = NULL;
    size_t used = 0;
    if (runmap && (runmap[i / 8] >> (i % 8) & 1)) POND_TRY(read_runs(m, r, at, card, i, &c, &used));
    else if (card <= CT_ARRAY_MAX) POND_TRY(read_array(m, r, at, card, i, &c, &used));
    else POND_TRY(read_bitset(m, r, at, card, i, &c, &used));
    bm_push(out, high << 16 | key, c);
    at += used;
  }
  *consumed = at;
  return POND_OK;
}

static int parse32(pc_mem *m, const uint8_t *p, size_t len, bm *out, pc_err *e) {
  rd r = {p, len, 0, e};
  size_t used;
  POND_TRY(read32(m, &r, 0, out, &used));
  if (used != len)
    return pc_errf(e, POND_ECORRUPT, "set: %zu trailing bytes after the bitmap (offset %zu)",
                   len - used, used);
  return POND_OK;
}

static int parse64(pc_mem *m, const uint8_t *p, size_t len, bm *out, pc_err *e) {
  if (len < 8)
    return pc_errf(e, POND_ECORRUPT, "set: truncated: the 64-bit bucket count needs 8 bytes, %zu given", len);
  uint64_t nb = get64(p);
  if (nb > (len - 8) / 12) /* each bucket takes at least 12 bytes */
    return pc_errf(e, POND_ECORRUPT, "set: %llu buckets cannot fit in %zu bytes",
                   (unsigned long long)nb, len);
  size_t at = 8;
  int64_t prev = -1;
  for (uint64_t i = 0; i < nb; i++) {
    if (len - at < 4)
      return pc_errf(e, POND_ECORRUPT, "set: truncated: bucket %llu's key needs 4 bytes at offset %zu",
                     (unsigned long long)i, at);
    uint32_t high = get32(p + at);
    if ((int64_t)high <= prev)
      return pc_errf(e, POND_ECORRUPT, "set: bucket %llu: high key %u is not above the previous %lld",
                     (unsigned long long)i, high, (long long)prev);
    prev = high;
    at += 4;
    rd sub = {p + at, len - at, at, e};
    size_t used;
    POND_TRY(read32(m, &sub, high, out, &used));
    at += used;
  }
  if (at != len)
    return pc_errf(e, POND_ECORRUPT, "set: %zu trailing bytes after the bitmap (offset %zu)",
                   len - at, at);
  return POND_OK;
}

int bm_deserialize(pc_mem *m, const void *buf, size_t len, int is64, bm *out, pc_err *e) {
  const uint8_t *p = buf;
  bm b;
  bm_init(&b);
  int rc;
  if (is64 == 1) {
    rc = parse64(m, p, len, &b, e);
  } else if (is64 == 0) {
    rc = parse32(m, p, len, &b, e);
  } else {
    /* Auto: a 32-bit cookie first; a 64-bit count can only look like one
     * with 12346 or more buckets, so that reading is tried second. */
    uint32_t c = len >= 4 ? get32(p) : 0;
    if (len >= 4 && (c == COOKIE_NORUN || (c & 0xffff) == COOKIE_RUN)) {
      rc = parse32(m, p, len, &b, e);
      if (rc == POND_ECORRUPT) {
        pc_err e2;
        pc_err_clear(&e2);
        bm b2;
        bm_init(&b2);
        if (parse64(m, p, len, &b2, &e2) == POND_OK) {
          bm_free(m, &b);
          b = b2;
          rc = POND_OK;
        } else {
          bm_free(m, &b2);
        }
      }
    } else if (len == 0) {
      rc = pc_errf(e, POND_ECORRUPT, "set: empty input (an empty set is 8 bytes)");
    } else {
      rc = parse64(m, p, len, &b, e);
    }
  }
  if (rc < 0) {
    bm_free(m, &b);
    return rc;
  }
  bm_move(m, out, &b);
  return POND_OK;
}
