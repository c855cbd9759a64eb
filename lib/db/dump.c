/*
 * dump.c — the whole state as text, and an invariant checker. Used by the
 * tests (state before == state after a failed call), the fuzzers and for
 * debugging; O(size of the state).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "lifecycle/lc.h"
#include "json/json.h"

static void putf(pj_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void putf(pj_buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  pj_buf_put(b, tmp, n < 0 ? 0 : (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void dump_bm(pj_buf *b, const bm *m) {
  bm_iter it;
  uint64_t x;
  int first = 1;
  pj_buf_puts(b, "{");
  bm_iter_init(&it, m, 0);
  while (bm_iter_next(&it, &x)) {
    putf(b, first ? "%" PRIu64 : ",%" PRIu64, x);
    first = 0;
  }
  pj_buf_puts(b, "}");
}

void db_dump(pond_db *db, pj_buf *out) {
  db_lock(db);
  const df_defs *d = db->defs;
  for (uint32_t i = 0; i < d->nattrs; i++)
    if (d->attrs[i].live) {
      putf(out, "attr %u ", i);
      pj_buf_put(out, d->attrs[i].json, d->attrs[i].jlen);
      pj_buf_puts(out, "\n");
    }
  for (uint32_t i = 0; i < d->ngroups; i++)
    if (d->groups[i].live) {
      putf(out, "group %u ", i);
      pj_buf_put(out, d->groups[i].json, d->groups[i].jlen);
      pj_buf_puts(out, "\n");
    }
  for (uint32_t i = 0; i < d->ncounters; i++)
    if (d->counters[i].live) {
      putf(out, "counter %u ", i);
      pj_buf_put(out, d->counters[i].json, d->counters[i].jlen);
      pj_buf_puts(out, "\n");
    }
  for (uint32_t i = 0; i < d->nsegments; i++)
    if (d->segments[i].live) {
      putf(out, "segment %u ", i);
      pj_buf_put(out, d->segments[i].json, d->segments[i].jlen);
      pj_buf_puts(out, "\n");
    }
  putf(out, "tags next=%u live=%u\n", db->tags.n, db->tags.live);
  for (uint32_t i = 1; i < db->tags.n; i++) {
    const tg_tag *t = &db->tags.v[i];
    if (!t->live) continue;
    putf(out, "tag %u g%u ", i, t->group);
    pj_buf_str(out, t->name, t->len);
    pj_buf_puts(out, " ");
    dump_bm(out, &t->members);
    pj_buf_puts(out, "\n");
  }
  pj_buf_puts(out, "all ");
  dump_bm(out, &db->all);
  pj_buf_puts(out, "\n");
  for (uint32_t a = 0; a < db->nav; a++) {
    if (!d->attrs[a].live) continue;
    putf(out, "has %u ", a);
    dump_bm(out, &db->av[a].has);
    pj_buf_puts(out, "\n");
  }
  bm_iter it;
  uint64_t cid;
  bm_iter_init(&it, &db->all, 0);
  while (bm_iter_next(&it, &cid)) {
    const cu_rec *r = db_cust(db, cid);
    if (!r) {
      putf(out, "cust %" PRIu64 " MISSING\n", cid);
      continue;
    }
    putf(out, "cust %" PRIu64 " added=%" PRId64, cid, r->added_at);
    if (r->last_seen != CU_UNSET) putf(out, " seen=%" PRId64, r->last_seen);
    const uint32_t *k = cu_ckeys(r);
    const int64_t *v = cu_cvals(r);
    for (uint32_t i = 0; i < r->n; i++) {
      if (!(k[i] & CU_ATTR)) {
        putf(out, " t%u@%" PRId64, k[i], v[i]);
        continue;
      }
      if (cu_is_ctr(k[i])) {
        putf(out, " %c%u=%" PRId64, k[i] & 1 ? 'l' : 'c', (k[i] & ~CU_CTR) >> 1, v[i]);
        continue;
      }
      if (cu_is_mach(k[i])) { /* lifecycle: machine=state[!spent]@since */
        putf(out, " m%u=s%u%s@%" PRId64, lc_key_mid(k[i]), lc_key_sid(k[i]),
             lc_key_spent(k[i]) ? "!" : "", v[i]);
        continue;
      }
      uint32_t a = k[i] & ~CU_ATTR;
      putf(out, " a%u=", a);
      if (a < d->nattrs && d->attrs[a].type == DF_T_STRING && (uint64_t)v[i] < db->av[a].dict.n)
        pj_buf_str(out, db->av[a].dict.v[v[i]].s, db->av[a].dict.v[v[i]].len);
      else putf(out, "%" PRId64, v[i]);
    }
    pj_buf_puts(out, "\n");
  }
  db_unlock(db, POND_OK);
}

#define WHY(...)                          \
  do {                                    \
    snprintf(why, cap, __VA_ARGS__);      \
    rc = POND_ECORRUPT;                   \
    goto out;                             \
  } while (0)

int db_check(pond_db *db, char *why, size_t cap) {
  db_lock(db);
  int rc = POND_OK;
  const df_defs *d = db->defs;
  uint64_t cid, v;
  size_t it = 0;
  if (db->cus.count != bm_card(&db->all))
    WHY("%zu customers in the map, %" PRIu64 " in all", db->cus.count, bm_card(&db->all));
  if (db->nav != d->nattrs) WHY("%u attribute slots for %u attributes", db->nav, d->nattrs);
  while (pc_map64_next(&db->cus, &it, &cid, &v)) {
    const cu_rec *r = (const cu_rec *)(uintptr_t)v;
    const uint32_t *k = cu_ckeys(r);
    if (!bm_contains(&db->all, cid)) WHY("customer %" PRIu64 " not in all", cid);
    if (r->n > r->cap) WHY("customer %" PRIu64 ": %u entries, capacity %u", cid, r->n, r->cap);
    for (uint32_t i = 0; i < r->n; i++) {
      if (i && k[i - 1] >= k[i]) WHY("customer %" PRIu64 ": entries out of order", cid);
      if (cu_is_mach(k[i])) {
        const lc_mset *ms = d->machines;
        uint32_t mid = lc_key_mid(k[i]), sid = lc_key_sid(k[i]);
        if (!ms || mid >= ms->nm || !ms->m[mid].live) WHY("customer %" PRIu64 ": dead machine %u", cid, mid);
        if (sid >= ms->m[mid].nst || !ms->m[mid].st[sid].live)
          WHY("customer %" PRIu64 ": machine %u in dead state %u", cid, mid, sid);
        continue;
      }
      if (cu_is_ctr(k[i])) {
        uint32_t c = (k[i] & ~CU_CTR) >> 1;
        if (c >= d->ncounters || !d->counters[c].live) WHY("customer %" PRIu64 ": dead counter %u", cid, c);
        /* count and last come in pairs, count > 0 */
        uint32_t pos;
        if (!(k[i] & 1) && (cu_cvals(r)[i] <= 0 || !cu_find(r, k[i] | 1, &pos)))
          WHY("customer %" PRIu64 ": counter %u without a positive count and a last time", cid, c);
        if ((k[i] & 1) && !cu_find(r, k[i] & ~1u, &pos))
          WHY("customer %" PRIu64 ": counter %u has a last time but no count", cid, c);
        continue;
      }
      if (k[i] & CU_ATTR) {
        uint32_t a = k[i] & ~CU_ATTR;
        if (a >= d->nattrs || !d->attrs[a].live) WHY("customer %" PRIu64 ": dead attribute %u", cid, a);
        if (!bm_contains(&db->av[a].has, cid)) WHY("customer %" PRIu64 " not in has %u", cid, a);
        if (d->attrs[a].type == DF_T_STRING && (uint64_t)cu_cvals(r)[i] >= db->av[a].dict.n)
          WHY("customer %" PRIu64 ": value id out of range", cid);
        continue;
      }
      const tg_tag *t = tg_get(&db->tags, k[i]);
      if (!t) WHY("customer %" PRIu64 ": dead tag %u", cid, k[i]);
      if (!bm_contains(&t->members, cid)) WHY("customer %" PRIu64 " not in tag %u's bitmap", cid, k[i]);
      for (uint32_t j = 0; j < i; j++)
        if (d->groups[t->group].exclusive && db->tags.v[k[j]].group == t->group)
          WHY("customer %" PRIu64 " holds two tags of exclusive group %u", cid, t->group);
    }
  }
  uint32_t live = 0;
  for (uint32_t i = 1; i < db->tags.n; i++) {
    const tg_tag *t = &db->tags.v[i];
    if (!t->live) {
      if (!bm_is_empty(&t->members)) WHY("dead tag %u has members", i);
      continue;
    }
    live++;
    uint32_t id;
    if (t->group >= d->ngroups || !d->groups[t->group].live) WHY("tag %u in dead group", i);
    if (tg_find(&db->tags, t->name, t->len, &id) < 0 || id != i)
      WHY("tag %u's name is not indexed", i);
    bm_iter bi;
    uint32_t pos;
    bm_iter_init(&bi, &t->members, 0);
    while (bm_iter_next(&bi, &cid)) {
      const cu_rec *r = db_cust(db, cid);
      if (!r || !cu_find(r, i, &pos)) WHY("tag %u member %" PRIu64 " lacks the entry", i, cid);
    }
  }
  if (live != db->tags.live || live != db->tags.ids.count)
    WHY("%u live tags, counted %u, indexed %zu", live, db->tags.live, db->tags.ids.count);
  for (uint32_t a = 0; a < db->nav; a++) {
    bm_iter bi;
    uint32_t pos;
    bm_iter_init(&bi, &db->av[a].has, 0);
    while (bm_iter_next(&bi, &cid)) {
      const cu_rec *r = db_cust(db, cid);
      if (!r || !cu_find(r, CU_ATTR | a, &pos)) WHY("has %u member %" PRIu64 " lacks the value", a, cid);
    }
  }
  if (db->tx.cus_pending || db->tx.name_pending || db->tx.call)
    if (!db->tx.open) WHY("undo state left over outside a transaction");
out:
  db_unlock(db, POND_OK);
  return rc;
}
