/*
 * rec.c — allocation and growth of customer records (layout in rec.h).
 */
#include "db/rec.h"

#include "pond.h"

/* A new record has room for two entries: nearly every customer gets a tag
 * or an attribute soon, and growing from zero then costs a realloc on the
 * first one (sequential pond_tag_add measured 190 -> 105 ns per call). */
cu_rec *cu_new(pc_mem *m, int64_t added_at) {
  cu_rec *r = pc_alloc(m, cu_size(2));
  if (!r) return NULL;
  r->added_at = added_at;
  r->last_seen = CU_UNSET;
  r->n = 0;
  r->cap = 2;
  return r;
}

void cu_free(pc_mem *m, cu_rec *r) {
  if (r) pc_free(m, r, cu_size(r->cap));
}

cu_rec *cu_clone(pc_mem *m, const cu_rec *r) {
  cu_rec *c = pc_alloc(m, cu_size(r->n));
  if (!c) return NULL;
  *c = *r;
  c->cap = r->n;
  memcpy(cu_vals(c), cu_cvals(r), r->n * sizeof(int64_t));
  memcpy(cu_keys(c), cu_ckeys(r), r->n * sizeof(uint32_t));
  return c;
}

int cu_reserve(pc_mem *m, cu_rec **rp, uint32_t extra) {
  cu_rec *r = *rp;
  if (r->cap - r->n >= extra) return POND_OK;
  uint64_t need = (uint64_t)r->n + extra;
  /* Small records grow by two entries, larger ones by half: most customers
   * hold a handful of tags, and slack is paid per customer. */
  uint64_t ncap = r->cap < 4 ? (uint64_t)r->cap + 2 : (uint64_t)r->cap + r->cap / 2;
  if (ncap < need) ncap = need;
  if (ncap > UINT32_MAX / 2) {
    if (need > UINT32_MAX / 2) return POND_ENOMEM;
    ncap = need;
  }
  uint32_t ocap = r->cap;
  cu_rec *q = pc_realloc(m, r, cu_size(ocap), cu_size((uint32_t)ncap));
  if (!q) return POND_ENOMEM;
  /* The key array sits after cap values: move it to its new offset. */
  uint32_t *okeys = (uint32_t *)(cu_vals(q) + ocap);
  q->cap = (uint32_t)ncap;
  memmove(cu_keys(q), okeys, q->n * sizeof(uint32_t));
  *rp = q;
  return POND_OK;
}
