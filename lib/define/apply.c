/*
 * apply.c — applying a checked plan (plan.h) to the db, and pond_define.
 *
 * Two phases, so that a failure (only POND_ENOMEM is possible here) changes
 * nothing and no customer record ever needs an image for the call itself:
 *  A. everything fallible: the new definitions object (a clone of the old
 *     one, edited), the names of tags to pre-create, room in the tag table
 *     and in the attribute slots, and the open transaction's images of
 *     whatever phase B changes;
 *  B. nothing fallible: drops (tags leave their members' records, attribute
 *     values are cleared), the definitions swap, new attribute slots, new
 *     tags.
 */
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "define/plan.h"
#include "lifecycle/lc.h"
#include "query/qydb.h"

typedef struct newtag {
  char *name;
  size_t len;
  uint32_t gid;
} newtag;

typedef struct dfa {
  pond_db *db;
  pc_mem *m;
  const df_plan *p;
  df_defs *nd;
  pc_map64 drops; /* (kind << 32 | id) -> 1 */
  newtag *nt;
  size_t nnt, cnt;
} dfa;

static int dropped(const dfa *a, int kind, uint32_t id) {
  return pc_map64_get(&a->drops, (uint64_t)kind << 32 | id, NULL) == POND_OK;
}

/* buf's text as an exact-sized string (pc_free(m, s, len + 1)). */
static int finish_json(pj_buf *b, char **out, size_t *len) {
  char *s = b->failed ? NULL : pc_strndup(b->m, b->p ? b->p : "", b->len);
  size_t n = b->len;
  pj_buf_free(b);
  if (!s) return POND_ENOMEM;
  *out = s;
  *len = n;
  return POND_OK;
}

static int attr_json(pc_mem *m, const dfp_attr *at, char **out, size_t *len) {
  pj_buf b;
  pj_buf_init(&b, m);
  pj_buf_puts(&b, "{\"name\":");
  pj_buf_str(&b, at->name, at->len);
  pj_buf_puts(&b, ",\"type\":\"");
  pj_buf_puts(&b, df_type_name(at->type));
  pj_buf_puts(&b, "\"}");
  return finish_json(&b, out, len);
}

static int group_json(pc_mem *m, const dfp_group *g, char **out, size_t *len) {
  pj_buf b;
  pj_buf_init(&b, m);
  pj_buf_puts(&b, "{\"name\":");
  pj_buf_str(&b, g->name, g->len);
  if (g->exclusive) pj_buf_puts(&b, ",\"exclusive\":true");
  if (g->ttl) {
    char d[24];
    df_dur_format(g->ttl, d);
    pj_buf_puts(&b, ",\"ttl\":\"");
    pj_buf_puts(&b, d);
    pj_buf_puts(&b, "\"");
  }
  if (g->tags && g->tags->u.arr.n) {
    pj_buf_puts(&b, ",\"tags\":[");
    for (size_t i = 0; i < g->tags->u.arr.n; i++) {
      const pj_value *t = &g->tags->u.arr.items[i];
      if (i) pj_buf_puts(&b, ",");
      pj_buf_str(&b, t->u.str.s, t->u.str.len);
    }
    pj_buf_puts(&b, "]");
  }
  pj_buf_puts(&b, "}");
  return finish_json(&b, out, len);
}

/* The open transaction's images of every customer holding counter id's
 * entries (there is no bitmap of holders: O(customers)). */
static int counter_drop_prepare(pond_db *db, uint32_t id) {
  if (!db->tx.open) return POND_OK;
  uint64_t cid, v;
  size_t it = 0;
  uint32_t pos;
  while (pc_map64_next(&db->cus, &it, &cid, &v))
    if (cu_find((const cu_rec *)(uintptr_t)v, cu_ctr_count_key(id), &pos))
      POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  return POND_OK;
}

/* Every customer loses counter id's entries (never fails). */
static void counter_drop_apply(pond_db *db, uint32_t id) {
  uint64_t cid, v;
  size_t it = 0;
  uint32_t pos;
  while (pc_map64_next(&db->cus, &it, &cid, &v)) {
    cu_rec *r = (cu_rec *)(uintptr_t)v;
    int had = 0;
    if (cu_find(r, cu_ctr_last_key(id), &pos)) cu_erase_at(r, pos), had = 1;
    if (cu_find(r, cu_ctr_count_key(id), &pos)) cu_erase_at(r, pos), had = 1;
    if (had) db_cust_changed(db, cid);
  }
}

static int phase_drops(dfa *a) {
  pond_db *db = a->db;
  for (size_t i = 0; i < a->p->ndrops; i++) {
    const dfp_drop *d = &a->p->drops[i];
    if (pc_map64_put(a->m, &a->drops, (uint64_t)d->kind << 32 | d->id, 1) < 0) return POND_ENOMEM;
    if (d->kind == DFP_ATTR) {
      POND_TRY(db_attr_drop_prepare(db, d->id));
      df_attr_drop(a->m, a->nd, d->id);
    } else if (d->kind == DFP_COUNTER) {
      POND_TRY(counter_drop_prepare(db, d->id));
      df_counter_drop(a->m, a->nd, d->id);
    } else if (d->kind == DFP_SEGMENT) {
      df_segment_drop(a->m, a->nd, d->id);
    } else if (d->kind == DFP_TAG) {
      POND_TRY(tg_delete_prepare(db, d->id));
    } else {
      for (uint32_t t = 1; t < db->tags.n; t++)
        if (db->tags.v[t].live && db->tags.v[t].group == d->id) POND_TRY(tg_delete_prepare(db, t));
      df_group_drop(a->m, a->nd, d->id);
    }
  }
  return POND_OK;
}

static int phase_attrs(dfa *a) {
  for (size_t i = 0; i < a->p->nattrs; i++) {
    const dfp_attr *at = &a->p->attrs[i];
    char *js;
    size_t jl;
    uint32_t id;
    POND_TRY(attr_json(a->m, at, &js, &jl));
    if (df_attr_find(a->nd, at->name, at->len, &id) == POND_OK) {
      a->nd->attrs[id].type = (uint8_t)at->type;
      df_set_json(a->m, &a->nd->attrs[id].json, &a->nd->attrs[id].jlen, js, jl);
    } else if (df_attr_add(a->m, a->nd, at->name, at->len, at->type, js, jl, &id) < 0) {
      pc_free(a->m, js, jl + 1);
      return POND_ENOMEM;
    }
  }
  return POND_OK;
}

/* Remembers tag group/part for creation unless it will exist anyway. */
static int want_tag(dfa *a, const dfp_group *g, const pj_value *part, uint32_t gid) {
  pond_db *db = a->db;
  size_t len = g->len + 1 + part->u.str.len;
  char *name = pc_alloc(a->m, len + 1);
  if (!name) return POND_ENOMEM;
  memcpy(name, g->name, g->len);
  name[g->len] = '/';
  memcpy(name + g->len + 1, part->u.str.s, part->u.str.len);
  name[len] = 0;
  uint32_t id;
  if (tg_find(&db->tags, name, len, &id) == POND_OK && !dropped(a, DFP_TAG, id) &&
      !dropped(a, DFP_GROUP, db->tags.v[id].group)) {
    pc_free(a->m, name, len + 1);
    return POND_OK;
  }
  if (a->nnt == a->cnt) {
    size_t nc = a->cnt ? a->cnt * 2 : 16;
    newtag *v = pc_realloc(a->m, a->nt, a->cnt * sizeof *v, nc * sizeof *v);
    if (!v) {
      pc_free(a->m, name, len + 1);
      return POND_ENOMEM;
    }
    a->nt = v;
    a->cnt = nc;
  }
  a->nt[a->nnt++] = (newtag){name, len, gid};
  return POND_OK;
}

static int phase_groups(dfa *a) {
  for (size_t i = 0; i < a->p->ngroups; i++) {
    const dfp_group *g = &a->p->groups[i];
    char *js;
    size_t jl;
    uint32_t gid;
    POND_TRY(group_json(a->m, g, &js, &jl));
    if (df_group_find(a->nd, g->name, g->len, &gid) == POND_OK) {
      df_group *dg = &a->nd->groups[gid];
      dg->exclusive = (uint8_t)g->exclusive;
      dg->ttl = g->ttl;
      df_set_json(a->m, &dg->json, &dg->jlen, js, jl);
    } else if (df_group_add(a->m, a->nd, g->name, g->len, g->exclusive, g->ttl, js, jl, &gid) < 0) {
      pc_free(a->m, js, jl + 1);
      return POND_ENOMEM;
    }
    for (size_t j = 0; g->tags && j < g->tags->u.arr.n; j++)
      POND_TRY(want_tag(a, g, &g->tags->u.arr.items[j], gid));
  }
  return POND_OK;
}

static int phase_counters(dfa *a) {
  for (size_t i = 0; i < a->p->ncounters; i++) {
    const dfp_counter *k = &a->p->counters[i];
    uint32_t id;
    if (df_counter_find(a->nd, k->name, k->len, &id) == POND_OK) continue; /* nothing to change */
    if (a->nd->ncounters > CU_CTR_MAX)
      return pc_errf(&a->db->err, POND_ELIMIT, "define: too many counters defined over time");
    pj_buf b;
    char *js;
    size_t jl;
    pj_buf_init(&b, a->m);
    pj_buf_str(&b, k->name, k->len);
    POND_TRY(finish_json(&b, &js, &jl));
    if (df_counter_add(a->m, a->nd, k->name, k->len, js, jl, &id) < 0) {
      pc_free(a->m, js, jl + 1);
      return POND_ENOMEM;
    }
  }
  return POND_OK;
}

static int phase_segments(dfa *a) {
  for (size_t i = 0; i < a->p->nsegments; i++) {
    const dfp_segment *g = &a->p->segments[i];
    const pj_value *w = g->where;
    pj_buf b;
    char *js, *where = pc_strndup(a->m, w->u.str.s, w->u.str.len);
    size_t jl;
    uint32_t id;
    if (!where) return POND_ENOMEM;
    pj_buf_init(&b, a->m);
    pj_buf_puts(&b, "{\"name\":");
    pj_buf_str(&b, g->name, g->len);
    pj_buf_puts(&b, ",\"where\":");
    pj_buf_str(&b, w->u.str.s, w->u.str.len);
    pj_buf_puts(&b, "}");
    int rc = finish_json(&b, &js, &jl);
    if (rc >= 0 && (rc = df_segment_put(a->m, a->nd, g->name, g->len, where, w->u.str.len, js,
                                        jl, &id)) < 0)
      pc_free(a->m, js, jl + 1);
    if (rc < 0) {
      pc_free(a->m, where, w->u.str.len + 1);
      return POND_ENOMEM;
    }
  }
  return POND_OK;
}

/* The document's view of the tags for checking segments: tags it drops
 * (by name or with their group) are gone, tags it pre-creates exist. */
static int view_hidden(void *arg, uint32_t tag) { return dropped(arg, DFP_TAG, tag); }

/* The id a tag the document creates will get (phase B creates them in
 * order): lifecycle guards are prepared with it, for real. */
static int view_future(void *arg, const char *name, size_t len, uint32_t *id) {
  const dfa *a = arg;
  uint32_t base = a->db->tags.n ? a->db->tags.n : 1;
  for (size_t i = 0; i < a->nnt; i++)
    if (a->nt[i].len == len && memcmp(a->nt[i].name, name, len) == 0) {
      *id = base + (uint32_t)i;
      return 1;
    }
  return 0;
}

static int view_extra(void *arg, const char *name, size_t len) {
  const dfa *a = arg;
  for (size_t i = 0; i < a->nnt; i++)
    if (a->nt[i].len == len && memcmp(a->nt[i].name, name, len) == 0) return 1;
  return 0;
}

/* Turns the query error in db->err about segment g into a define error:
 * at `path` (with the offset of `at`), or naming a segment defined before. */
static int segment_failed(dfa *a, const df_segment *g, const char *path, const pj_value *at,
                          int rc) {
  pond_db *db = a->db;
  if (rc == POND_ENOMEM) return rc;
  char q[PC_ERRMSG_MAX];
  snprintf(q, sizeof q, "%s", db->err.msg);
  int code = rc == POND_ELIMIT ? POND_ELIMIT : POND_EINVAL;
  if (at) {
    pc_errf(&db->err, code, "define:%s: %s", path, q);
    db->err.offset = (long)at->offset;
  } else {
    pc_errf(&db->err, code,
            "define:$: segment '%.*s' (defined before) would no longer be valid: %s; drop or "
            "redefine it in the same document",
            (int)(g->len > 100 ? 100 : g->len), g->name, q);
  }
  return code;
}

/* Every live segment of the new definitions must prepare against them:
 * names resolve, types check, references to segments have no cycle. The
 * document's own segments first (in document order), then the others. */
static int check_segments(dfa *a) {
  pond_db *db = a->db;
  df_defs *nd = a->nd;
  if (!nd->segment_ids.count) return POND_OK;
  qy_dbschema ctx = {db, nd, view_hidden, view_extra, a};
  qy_schema s;
  qy_db_schema(&ctx, &s);
  for (size_t pass = 0; pass < 2; pass++) {
    for (uint32_t id = 0; id < nd->nsegments; id++) {
      const df_segment *g = &nd->segments[id];
      if (!g->live) continue;
      size_t k = 0;
      while (k < a->p->nsegments && !(a->p->segments[k].len == g->len &&
                                      memcmp(a->p->segments[k].name, g->name, g->len) == 0))
        k++;
      int listed = k < a->p->nsegments;
      if (listed != (pass == 0)) continue;
      qy_query *q = NULL;
      int rc = qy_prepare(&db->mem, &s, &db->lim, g->where, g->wlen, 0, &q, &db->err);
      qy_query_free(q);
      if (rc < 0) {
        char path[64];
        snprintf(path, sizeof path, "$.segments[%zu].where", k);
        return segment_failed(a, g, path, listed ? a->p->segments[k].where : NULL, rc);
      }
    }
  }
  return POND_OK;
}

static void phase_b(dfa *a) {
  pond_db *db = a->db;
  for (size_t i = 0; i < a->p->ndrops; i++) {
    const dfp_drop *d = &a->p->drops[i];
    if (d->kind == DFP_ATTR) {
      db_attr_drop_apply(db, d->id);
    } else if (d->kind == DFP_COUNTER) {
      counter_drop_apply(db, d->id);
    } else if (d->kind == DFP_SEGMENT) {
      /* the definitions swap below removes it */
    } else if (d->kind == DFP_TAG) {
      if (db->tags.v[d->id].live) tg_delete_apply(db, d->id);
    } else {
      for (uint32_t t = 1; t < db->tags.n; t++)
        if (db->tags.v[t].live && db->tags.v[t].group == d->id) tg_delete_apply(db, t);
    }
  }
  df_defs *old = db->defs;
  db->defs = a->nd;
  db->defs_gen++;
  a->nd = NULL;
  if (!db_defs_held(db, old)) df_free(a->m, old);
  db_av_extend(db, db->defs->nattrs);
  for (size_t i = 0; i < a->nnt; i++) {
    tg_create_with(db, a->nt[i].name, a->nt[i].len, a->nt[i].gid);
    a->nt[i].name = NULL;
  }
}

int df_apply(pond_db *db, df_plan *p) {
  dfa a = {db, &db->mem, p, NULL, {0}, NULL, 0, 0};
  pc_map64_init(&a.drops);
  int rc = (a.nd = df_clone(a.m, db->defs)) ? POND_OK : POND_ENOMEM;
  if (rc >= 0) rc = phase_drops(&a);
  if (rc >= 0) rc = phase_attrs(&a);
  if (rc >= 0) rc = phase_groups(&a);
  if (rc >= 0) rc = phase_counters(&a);
  if (rc >= 0) rc = phase_segments(&a);
  if (rc >= 0 && a.nd->nattrs > CU_ATTR_MAX)
    rc = pc_errf(&db->err, POND_ELIMIT, "define: too many attributes defined over time");
  if (rc >= 0 && a.nnt >= CU_ATTR) rc = pc_errf(&db->err, POND_ELIMIT, "define: too many tags");
  if (rc >= 0) rc = check_segments(&a);
  lc_view lv = {view_hidden, view_future, &a};
  if (rc >= 0) rc = lc_apply_prepare(db, &p->machines, a.nd, &lv);
  if (rc >= 0 && a.nnt) rc = db_touch_tagnew(db, DB_NEED_TXN);
  if (rc >= 0) rc = tg_reserve(db, (uint32_t)a.nnt);
  if (rc >= 0) rc = db_touch_avn(db, DB_NEED_TXN);
  if (rc >= 0) rc = db_av_reserve(db, a.nd->nattrs);
  if (rc >= 0) rc = db_touch_defs(db, DB_NEED_TXN);
  if (rc >= 0) {
    phase_b(&a);
    lc_apply_commit(db, p->machines);
  }
  for (size_t i = 0; i < a.nnt; i++)
    if (a.nt[i].name) pc_free(a.m, a.nt[i].name, a.nt[i].len + 1);
  pc_free(a.m, a.nt, a.cnt * sizeof *a.nt);
  df_free(a.m, a.nd);
  pc_map64_free(a.m, &a.drops);
  return rc;
}

static int define(pond_db *db, const char *json, size_t len) {
  if (!json && len) return pc_errf(&db->err, POND_EINVAL, "define: json is NULL");
  if (len == POND_NTS) len = strlen(json);
  if (len > db->lim.define_max_len)
    return pc_errf(&db->err, POND_ELIMIT,
                   "define: the document has %zu bytes; limits.define_max_len is %zu", len,
                   db->lim.define_max_len);
  pj_limits lim = {db->lim.define_max_len, db->lim.define_max_depth};
  pj_doc *doc = NULL;
  int rc = pj_parse(&db->mem, json ? json : "", len, &lim, &doc, &db->err);
  if (rc < 0) {
    /* "json:LINE:COL: …" reads as "define:LINE:COL: …" (like query errors). */
    char msg[PC_ERRMSG_MAX];
    const char *s = db->err.msg;
    if (strncmp(s, "json:", 5) == 0) s += 5;
    snprintf(msg, sizeof msg, "define:%.*s", (int)(sizeof msg - 8), s);
    memcpy(db->err.msg, msg, sizeof msg);
    return rc;
  }
  df_plan p;
  rc = df_check(db, pj_root(doc), &p);
  if (rc >= 0) rc = df_apply(db, &p);
  df_plan_free(&db->mem, &p);
  pj_free(doc);
  return rc;
}

int pond_define(pond_db *db, const char *json, size_t len) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, define(db, json, len));
}
