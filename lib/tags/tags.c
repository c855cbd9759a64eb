/*
 * tags.c — the tag table: names, creation, deletion, and membership entries
 * in customer records.
 *
 * Cost: lookup by name O(1) expected; creation O(1) amortized; deletion
 * O(members) (each member's record loses one entry, O(tags of that
 * customer)); tg_sibling O(tags of the customer).
 */
#include "tags/tags.h"

#include <string.h>

#include "core/utf8.h"
#include "db/db.h"
#include "lifecycle/lc.h"

void tg_init(tg_table *t) {
  memset(t, 0, sizeof *t);
  pc_strmap_init(&t->ids);
}

void tg_free(pc_mem *m, tg_table *t) {
  for (uint32_t i = 1; i < t->n; i++) {
    pc_free(m, t->v[i].name, t->v[i].name ? t->v[i].len + 1 : 0);
    bm_free(m, &t->v[i].members);
  }
  pc_free(m, t->v, t->cap * sizeof *t->v);
  pc_strmap_free(m, &t->ids);
  tg_init(t);
}

int tg_part_check(const char *s, size_t n, const char *what, pc_err *e) {
  if (n == 0) return pc_errf(e, POND_EINVAL, "%s is empty", what);
  if (n > TG_PART_MAX)
    return pc_errf(e, POND_EINVAL, "%s is longer than %d bytes", what, TG_PART_MAX);
  size_t bad;
  if (!pc_utf8_valid(s, n, &bad))
    return pc_errf(e, POND_EINVAL, "%s is not valid UTF-8 (byte %zu)", what, bad);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f)
      return pc_errf(e, POND_EINVAL, "%s contains a control character (byte %zu)", what, i);
    if (c == '/') return pc_errf(e, POND_EINVAL, "%s contains '/'", what);
  }
  return POND_OK;
}

int tg_name_check(const char *name, size_t len, size_t *slash, pc_err *e) {
  const char *p = memchr(name, '/', len);
  if (!p)
    return pc_errf(e, POND_EINVAL, "tag name '%.*s' is not \"group/name\"",
                   (int)(len > 200 ? 200 : len), name);
  size_t s = (size_t)(p - name);
  POND_TRY(tg_part_check(name, s, "the group part of a tag name", e));
  POND_TRY(tg_part_check(p + 1, len - s - 1, "the tag part of a tag name", e));
  /* tag('g/ *') is the query language's "any tag of g". */
  if (len - s - 1 == 1 && p[1] == '*')
    return pc_errf(e, POND_EINVAL, "'*' is reserved as a tag part (any tag of the group)");
  *slash = s;
  return POND_OK;
}

int tg_need(pond_db *db, uint32_t id, tg_tag **out) {
  tg_tag *t = tg_get(&db->tags, id);
  if (!t) return pc_errf(&db->err, POND_NOTFOUND, "tag %u does not exist", id);
  *out = t;
  return POND_OK;
}

int tg_find(const tg_table *t, const char *name, size_t len, uint32_t *id) {
  uint64_t v;
  if (pc_strmap_get(&t->ids, name, len, &v) < 0) return POND_NOTFOUND;
  *id = (uint32_t)v;
  return POND_OK;
}

int tg_reserve(pond_db *db, uint32_t k) {
  tg_table *t = &db->tags;
  uint64_t need = (uint64_t)(t->n ? t->n : 1) + k;
  if (need >= CU_ATTR)
    return pc_errf(&db->err, POND_ELIMIT, "too many tags (ids are never reused)");
  if (need > t->cap) {
    uint64_t nc = t->cap ? t->cap : 64;
    while (nc < need) nc *= 2;
    tg_tag *v = pc_realloc(&db->mem, t->v, t->cap * sizeof *v, (size_t)nc * sizeof *v);
    if (!v) return POND_ENOMEM;
    memset(v + t->cap, 0, (size_t)(nc - t->cap) * sizeof *v);
    t->v = v;
    t->cap = (uint32_t)nc;
  }
  return pc_strmap_reserve(&db->mem, &t->ids, db->tx.name_pending + k);
}

uint32_t tg_create_with(pond_db *db, char *name, size_t len, uint32_t gid) {
  tg_table *t = &db->tags;
  if (t->n == 0) t->n = 1; /* id 0 is never a tag */
  tg_tag *g = &t->v[t->n];
  memset(g, 0, sizeof *g);
  g->name = name;
  g->len = (uint32_t)len;
  g->group = gid;
  g->live = 1;
  bm_init(&g->members);
  pc_strmap_put(&db->mem, &t->ids, name, len, t->n);
  t->live++;
  return t->n++;
}

int tg_create(pond_db *db, const char *name, size_t len, uint32_t gid, uint32_t *id) {
  POND_TRY(db_touch_tagnew(db, DB_NEED_TXN));
  POND_TRY(tg_reserve(db, 1));
  char *nm = pc_strndup(&db->mem, name, len);
  if (!nm) return POND_ENOMEM;
  *id = tg_create_with(db, nm, len, gid);
  return POND_OK;
}

int tg_delete_prepare(pond_db *db, uint32_t id) {
  tg_tag *t = &db->tags.v[id];
  POND_TRY(db_touch_tag(db, id, DB_NEED_TXN));
  POND_TRY(db_touch_tagbm(db, id, DB_NEED_TXN));
  if (db->tx.open) {
    bm_iter it;
    uint64_t cid;
    bm_iter_init(&it, &t->members, 0);
    while (bm_iter_next(&it, &cid)) POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  }
  return POND_OK;
}

void tg_delete_apply(pond_db *db, uint32_t id) {
  tg_tag *t = &db->tags.v[id];
  pc_mem *m = &db->mem;
  bm_iter it;
  uint64_t cid;
  bm_iter_init(&it, &t->members, 0);
  while (bm_iter_next(&it, &cid)) tg_unlink(db, cid, db_cust(db, cid), id);
  bm_free(m, &t->members);
  pc_strmap_del(&db->tags.ids, t->name, t->len);
  pc_free(m, t->name, t->len + 1);
  t->name = NULL;
  t->len = 0;
  t->live = 0;
  db->tags.live--;
}

int tg_group_overlaps(pond_db *db, uint32_t gid, uint32_t except, uint32_t extra) {
  const tg_table *t = &db->tags;
  pc_mem *m = &db->mem;
  /* The group's tags are pairwise disjoint when each is disjoint from the
   * union of those before it. */
  bm u;
  bm_init(&u);
  int overlap = 0;
  for (uint32_t i = 1; i < t->n && !overlap; i++) {
    const tg_tag *g = &t->v[i];
    if (!g->live || i == except || (g->group != gid && i != extra)) continue;
    if (bm_is_empty(&g->members)) continue;
    if (bm_op_card(BM_AND, &u, &g->members)) overlap = 1;
    else if (bm_op_inplace(m, BM_OR, &u, &g->members) < 0) overlap = POND_ENOMEM;
  }
  bm_free(m, &u);
  return overlap;
}

void tg_link(pond_db *db, uint64_t cid, cu_rec *r, uint32_t tag, int64_t ts) {
  uint32_t pos;
  if (cu_find(r, tag, &pos)) cu_vals(r)[pos] = ts; /* re-add: refresh the ttl clock */
  else cu_insert_at(r, pos, tag, ts);
  lc_ttl_linked(db, cid, tag, ts); /* a ttl group's tag arms its expiry */
}

void tg_unlink(pond_db *db, uint64_t cid, cu_rec *r, uint32_t tag) {
  (void)db;
  (void)cid;
  uint32_t pos;
  if (cu_find(r, tag, &pos)) cu_erase_at(r, pos);
}

uint32_t tg_sibling(const pond_db *db, const cu_rec *r, uint32_t gid, uint32_t except) {
  const uint32_t *k = cu_ckeys(r);
  for (uint32_t i = 0; i < r->n && !(k[i] & CU_ATTR); i++)
    if (k[i] != except && db->tags.v[k[i]].group == gid) return k[i];
  return 0;
}
