/*
 * rec.h — the customer record: everything durable about one customer in one
 * block.
 *
 * Layout (one allocation of cu_size(cap) bytes):
 *
 *   cu_rec header   added_at, last_seen, n, cap            24 bytes
 *   int64_t val[cap]                                     8 * cap
 *   uint32_t key[cap]                                    4 * cap
 *
 * Entries (key[i], val[i]) for i < n are sorted by key. A key below
 * CU_ATTR is a tag id and its value the time the tag was added; a key with
 * CU_ATTR set is (CU_ATTR | attribute id) and its value the attribute's
 * value (int, time, bool as 0/1, or a string's value id in the attribute's
 * dictionary). So a customer's tags come first, in ascending id order, and
 * an unset attribute has no entry (NULL costs nothing).
 *
 * Counters (define: "counters") are entries too, after the attributes: key
 * CU_CTR | (counter id << 1) holds count('e') (> 0) and key
 * CU_CTR | (counter id << 1) | 1 holds last('e') (the latest event time).
 * Both exist from the customer's first 'e' event on (pond_event,
 * pond_message for the counter "message"); no entries means count 0 and
 * last NULL. CU_CTR keys have the top bits 110, so attribute ids stay
 * below CU_CTR_MIN_BIT (cu_is_attr tells the two apart).
 *
 * Lifecycle machines (lib/lifecycle/lc.h) keep one entry per machine a
 * customer has left the home state of: key CU_MACH | machine id << 16 |
 * spent bit << 15 | state id (top bits 111), value `since`.
 *
 * Keeping values and keys in two arrays avoids padding: an entry costs 12
 * bytes. Capacity grows by about half (amortized O(1) appends, at most ~1/3
 * slack) and a record is never shrunk in place; a before-image copy
 * (cu_clone) is exact-sized.
 */
#ifndef POND_DB_REC_H
#define POND_DB_REC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/mem.h"

#define CU_ATTR 0x80000000u
#define CU_CTR 0xC0000000u         /* counter entries (see above) */
#define CU_CTR_MAX ((1u << 28) - 1) /* largest counter id */
#define CU_MACH 0xE0000000u        /* lifecycle state entries (see above) */
#define CU_ATTR_MAX 0x3FFFFFFFu     /* largest attribute id */

/* What an entry key is. */
static inline int cu_is_tag(uint32_t k) { return !(k & CU_ATTR); }
static inline int cu_is_attr(uint32_t k) { return (k & CU_CTR) == CU_ATTR; }
static inline int cu_is_ctr(uint32_t k) { return (k & CU_MACH) == CU_CTR; }
static inline int cu_is_mach(uint32_t k) { return (k & CU_MACH) == CU_MACH; }
/* Counter entry keys: count('e') and last('e') of counter id. */
static inline uint32_t cu_ctr_count_key(uint32_t id) { return CU_CTR | id << 1; }
static inline uint32_t cu_ctr_last_key(uint32_t id) { return CU_CTR | id << 1 | 1u; }
#define CU_UNSET INT64_MIN /* last_seen before any activity */

typedef struct cu_rec {
  int64_t added_at;
  int64_t last_seen;
  uint32_t n, cap;
} cu_rec;

static inline size_t cu_size(uint32_t cap) {
  return sizeof(cu_rec) + (size_t)cap * (sizeof(int64_t) + sizeof(uint32_t));
}
static inline int64_t *cu_vals(cu_rec *r) { return (int64_t *)(r + 1); }
static inline uint32_t *cu_keys(cu_rec *r) { return (uint32_t *)(cu_vals(r) + r->cap); }
static inline const int64_t *cu_cvals(const cu_rec *r) { return (const int64_t *)(r + 1); }
static inline const uint32_t *cu_ckeys(const cu_rec *r) {
  return (const uint32_t *)(cu_cvals(r) + r->cap);
}

/* A new empty record (NULL on allocation failure). */
cu_rec *cu_new(pc_mem *m, int64_t added_at);
void cu_free(pc_mem *m, cu_rec *r);
/* An exact-sized copy (NULL on allocation failure). */
cu_rec *cu_clone(pc_mem *m, const cu_rec *r);

/* 1 and *pos when key is present; else 0 and *pos = where it would go. */
static inline int cu_find(const cu_rec *r, uint32_t key, uint32_t *pos) {
  const uint32_t *k = cu_ckeys(r);
  uint32_t lo = 0, hi = r->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (k[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  *pos = lo;
  return lo < r->n && k[lo] == key;
}

/* Ensures room for `extra` more entries; may move the record (*rp is
 * updated). On failure (POND_ENOMEM) the record is unchanged. */
int cu_reserve(pc_mem *m, cu_rec **rp, uint32_t extra);

/* Inserts (key, val) at pos; the caller reserved room. Never fails. */
static inline void cu_insert_at(cu_rec *r, uint32_t pos, uint32_t key, int64_t val) {
  int64_t *v = cu_vals(r);
  uint32_t *k = cu_keys(r);
  memmove(v + pos + 1, v + pos, (r->n - pos) * sizeof *v);
  memmove(k + pos + 1, k + pos, (r->n - pos) * sizeof *k);
  v[pos] = val;
  k[pos] = key;
  r->n++;
}

static inline void cu_erase_at(cu_rec *r, uint32_t pos) {
  int64_t *v = cu_vals(r);
  uint32_t *k = cu_keys(r);
  memmove(v + pos, v + pos + 1, (r->n - pos - 1) * sizeof *v);
  memmove(k + pos, k + pos + 1, (r->n - pos - 1) * sizeof *k);
  r->n--;
}

/* Number of tag entries (they precede the attribute entries). */
static inline uint32_t cu_ntags(const cu_rec *r) {
  uint32_t pos;
  cu_find(r, CU_ATTR, &pos);
  return pos;
}

#endif
