/*
 * dbsrc.c — the query part's view of a db: qy_schema over the definitions
 * and the tag table, qy_row over one customer record, qy_chunks over the
 * bitmaps and the derived indexes. Everything runs under the db's lock.
 *
 * Lifecycle machines come from the definitions' machine set: stage('m')
 * reads the customer's state (lifecycle/lc.h: no entry = the home state).
 */
#include <string.h>

#include "db/db.h"
#include "lifecycle/lc.h"
#include "query/qydb.h"

/* ---------------------------------------------------------------- schema */

static int s_attr(void *ctx, const char *name, size_t len, uint32_t *id, int *type) {
  const qy_dbschema *x = ctx;
  POND_TRY(df_attr_find(x->defs, name, len, id));
  *type = x->defs->attrs[*id].type; /* DF_T_* are QY_T_* */
  return POND_OK;
}

/* A tag of the table whose group lives in x->defs and that the document
 * being defined (if any) does not drop. */
static int tag_visible(const qy_dbschema *x, uint32_t t) {
  const tg_tag *g = tg_get(&x->db->tags, t);
  return g && g->group < x->defs->ngroups && x->defs->groups[g->group].live &&
         !(x->hidden && x->hidden(x->arg, t));
}

static int s_tag(void *ctx, const char *name, size_t len, uint32_t *id) {
  const qy_dbschema *x = ctx;
  if (tg_find(&x->db->tags, name, len, id) == POND_OK && tag_visible(x, *id)) return POND_OK;
  if (x->extra && x->extra(x->arg, name, len)) {
    *id = 0; /* only checked, never evaluated: pond_define prepares to validate */
    return POND_OK;
  }
  return POND_NOTFOUND;
}

static int s_group(void *ctx, const char *name, size_t len, uint32_t *id) {
  const qy_dbschema *x = ctx;
  return df_group_find(x->defs, name, len, id);
}

static int s_counter(void *ctx, const char *name, size_t len, uint32_t *id) {
  const qy_dbschema *x = ctx;
  return df_counter_find(x->defs, name, len, id);
}

static int s_segment(void *ctx, const char *name, size_t len, const char **where, size_t *wlen) {
  const qy_dbschema *x = ctx;
  uint32_t id;
  POND_TRY(df_segment_find(x->defs, name, len, &id));
  *where = x->defs->segments[id].where;
  *wlen = x->defs->segments[id].wlen;
  return POND_OK;
}

static int s_machine(void *ctx, const char *name, size_t len, uint32_t *id) {
  const qy_dbschema *x = ctx;
  const lc_mset *ms = x->defs->machines;
  return ms && lc_machine_find(ms, name, len, id) ? POND_OK : POND_NOTFOUND;
}

static int s_state(void *ctx, uint32_t machine, const char *name, size_t len, uint32_t *id) {
  const qy_dbschema *x = ctx;
  const lc_mset *ms = x->defs->machines;
  if (!ms || machine >= ms->nm || !ms->m[machine].live) return POND_NOTFOUND;
  return lc_state_find(&ms->m[machine], name, len, id);
}

static void s_names(void *ctx, int kind, uint32_t scope, qy_name_fn each, void *arg) {
  const qy_dbschema *x = ctx;
  const pond_db *db = x->db;
  const df_defs *d = x->defs;
  switch (kind) {
    case QY_NAME_ATTR:
      for (uint32_t i = 0; i < d->nattrs; i++)
        if (d->attrs[i].live) each(arg, d->attrs[i].name, d->attrs[i].len);
      break;
    case QY_NAME_GROUP:
      for (uint32_t i = 0; i < d->ngroups; i++)
        if (d->groups[i].live) each(arg, d->groups[i].name, d->groups[i].len);
      break;
    case QY_NAME_TAG:
      for (uint32_t t = 1; t < db->tags.n; t++) {
        const tg_tag *g = &db->tags.v[t];
        if (tag_visible(x, t) && (scope == QY_SCOPE_ALL || g->group == scope))
          each(arg, g->name, g->len);
      }
      break;
    case QY_NAME_COUNTER:
      for (uint32_t i = 0; i < d->ncounters; i++)
        if (d->counters[i].live) each(arg, d->counters[i].name, d->counters[i].len);
      break;
    case QY_NAME_SEGMENT:
      for (uint32_t i = 0; i < d->nsegments; i++)
        if (d->segments[i].live) each(arg, d->segments[i].name, d->segments[i].len);
      break;
    case QY_NAME_MACHINE:
      for (uint32_t i = 0; d->machines && i < d->machines->nm; i++)
        if (d->machines->m[i].live) each(arg, d->machines->m[i].name, d->machines->m[i].len);
      break;
    case QY_NAME_STATE:
      if (d->machines && scope < d->machines->nm) {
        const lc_machine *mc = &d->machines->m[scope];
        for (uint32_t s = 0; s < mc->nst; s++)
          if (mc->st[s].live) each(arg, mc->st[s].name, mc->st[s].len);
      }
      break;
    default:
      break;
  }
}

void qy_db_schema(qy_dbschema *ctx, qy_schema *s) {
  memset(s, 0, sizeof *s);
  s->ctx = ctx;
  s->attr = s_attr;
  s->tag = s_tag;
  s->group = s_group;
  s->counter = s_counter;
  s->segment = s_segment;
  s->names = s_names;
  s->machine = s_machine;
  s->state = s_state;
}

/* ------------------------------------------------------------------- row */

static int r_tag(void *ctx, uint32_t tag) {
  const qy_dbrow *x = ctx;
  uint32_t pos;
  return cu_find(x->rec, tag, &pos);
}

static int r_group(void *ctx, uint32_t group) {
  const qy_dbrow *x = ctx;
  const cu_rec *r = x->rec;
  const uint32_t *k = cu_ckeys(r);
  /* tag entries come first, in ascending id order */
  for (uint32_t i = 0; i < r->n && !(k[i] & CU_ATTR); i++)
    if (x->db->tags.v[k[i]].group == group) return 1;
  return 0;
}

static int r_column(void *ctx, int col, uint32_t id, qy_cell *out) {
  const qy_dbrow *x = ctx;
  const cu_rec *r = x->rec;
  switch (col) {
    case QY_COL_ADDED_AT:
      out->i = r->added_at;
      return POND_OK;
    case QY_COL_LAST_SEEN:
      out->null = r->last_seen == CU_UNSET;
      out->i = r->last_seen;
      return POND_OK;
    case QY_COL_COUNT:
    case QY_COL_LAST: {
      uint32_t pos, key = col == QY_COL_COUNT ? cu_ctr_count_key(id) : cu_ctr_last_key(id);
      if (cu_find(r, key, &pos)) out->i = cu_cvals(r)[pos];
      else if (col == QY_COL_COUNT) out->i = 0; /* no such event yet */
      else out->null = 1;
      return POND_OK;
    }
    case QY_COL_ATTR: {
      uint32_t pos;
      if (!cu_find(r, CU_ATTR | id, &pos)) {
        out->null = 1;
        return POND_OK;
      }
      int64_t v = cu_cvals(r)[pos];
      if (x->db->defs->attrs[id].type == DF_T_STRING) {
        const db_dict *d = &x->db->av[id].dict;
        if ((uint64_t)v >= d->n) return POND_ECORRUPT;
        out->s = d->v[v].s;
        out->n = d->v[v].len;
        out->id = (uint32_t)v;
      } else {
        out->i = v;
      }
      return POND_OK;
    }
    case QY_COL_STAGE:
    case QY_COL_SINCE: {
      const lc_mset *ms = x->db->defs->machines;
      if (!ms || id >= ms->nm || !ms->m[id].live) return POND_EINVAL;
      const lc_machine *mc = &ms->m[id];
      uint32_t sid;
      int64_t since;
      int spent;
      lc_state_of(mc, id, r, &sid, &since, &spent);
      if (col == QY_COL_SINCE) {
        out->i = since;
      } else {
        out->s = mc->st[sid].name;
        out->n = mc->st[sid].len;
        out->id = sid;
      }
      return POND_OK;
    }
  }
  return POND_EINVAL;
}

void qy_db_row(qy_dbrow *ctx, uint64_t cid, qy_row *row) {
  row->ctx = ctx;
  row->cid = cid;
  row->tag = r_tag;
  row->group = r_group;
  row->column = r_column;
}

/* ---------------------------------------------------------------- chunks */

static int c_customers(void *ctx, uint64_t key, uint64_t *words) {
  const qy_dbchunks *x = ctx;
  bm_chunk_words(&x->db->all, key, words);
  return POND_OK;
}

static int c_tag(void *ctx, uint32_t tag, uint64_t key, uint64_t *words) {
  const qy_dbchunks *x = ctx;
  const tg_tag *t = tg_get(&x->db->tags, tag);
  if (!t) {
    memset(words, 0, QY_CHUNK_WORDS * 8);
    return POND_OK;
  }
  bm_chunk_words(&t->members, key, words);
  return POND_OK;
}

/* The union of a group's tags, computed once per evaluation. */
static int group_union(qy_dbchunks *x, uint32_t group, const bm **out) {
  pond_db *db = x->db;
  pc_mem *m = &db->mem;
  for (uint32_t i = 0; i < x->ngroups; i++)
    if (x->gids[i] == group) {
      *out = &x->gunion[i];
      return POND_OK;
    }
  if (x->ngroups == x->cgroups) {
    uint32_t n = x->cgroups ? x->cgroups * 2 : 4;
    uint32_t *g = pc_alloc(m, (size_t)n * sizeof *g);
    bm *u = pc_alloc(m, (size_t)n * sizeof *u);
    if (!g || !u) {
      pc_free(m, g, (size_t)n * sizeof *g);
      pc_free(m, u, (size_t)n * sizeof *u);
      return POND_ENOMEM;
    }
    if (x->ngroups) {
      memcpy(g, x->gids, x->ngroups * sizeof *g);
      memcpy(u, x->gunion, x->ngroups * sizeof *u);
    }
    pc_free(m, x->gids, (size_t)x->cgroups * sizeof *g);
    pc_free(m, x->gunion, (size_t)x->cgroups * sizeof *u);
    x->gids = g;
    x->gunion = u;
    x->cgroups = n;
  }
  /* the members of the group's live tags */
  size_t k = 0;
  for (uint32_t t = 1; t < db->tags.n; t++) k += db->tags.v[t].live && db->tags.v[t].group == group;
  const bm **in = k ? pc_alloc(m, k * sizeof *in) : NULL;
  if (k && !in) return POND_ENOMEM;
  k = 0;
  for (uint32_t t = 1; t < db->tags.n; t++)
    if (db->tags.v[t].live && db->tags.v[t].group == group) in[k++] = &db->tags.v[t].members;
  bm *u = &x->gunion[x->ngroups];
  bm_init(u);
  int rc = bm_or_many(m, (const bm *const *)in, k, u);
  pc_free(m, in, k * sizeof *in);
  if (rc < 0) return rc;
  x->gids[x->ngroups++] = group;
  *out = u;
  return POND_OK;
}

int qy_db_tag_bm(qy_dbchunks *x, const qy_node *n, const bm **out) {
  static const bm empty = {NULL, NULL, 0, 0};
  if (n->neg) return group_union(x, n->id, out);
  const tg_tag *t = tg_get(&x->db->tags, n->id);
  *out = t ? &t->members : &empty;
  return POND_OK;
}

static int c_group(void *ctx, uint32_t group, uint64_t key, uint64_t *words) {
  const bm *u;
  POND_TRY(group_union(ctx, group, &u));
  bm_chunk_words(u, key, words);
  return POND_OK;
}

static const uint64_t *c_tag_words(void *ctx, uint32_t tag, int group, uint64_t key) {
  qy_dbchunks *x = ctx;
  const bm *b;
  if (group) {
    if (group_union(x, tag, &b) < 0) return NULL; /* c_group reports it */
  } else {
    const tg_tag *t = tg_get(&x->db->tags, tag);
    if (!t) return NULL;
    b = &t->members;
  }
  return bm_chunk_bitset(b, key);
}

static uint64_t c_tag_count(void *ctx, uint32_t tag) {
  const qy_dbchunks *x = ctx;
  const tg_tag *t = tg_get(&x->db->tags, tag);
  return t ? bm_card(&t->members) : 0;
}

static uint64_t c_group_count(void *ctx, uint32_t group) {
  const bm *u;
  return group_union(ctx, group, &u) < 0 ? 0 : bm_card(u);
}

static const qy_icol *c_icol(void *ctx, int col, uint32_t id) {
  const qy_dbchunks *x = ctx;
  qy_dbcol *c;
  /* the columns were built before the evaluation started (api.c) */
  if (qy_dbidx_column(x->db, col, id, &c) < 0) return NULL;
  return &c->col;
}

static int c_values(void *ctx, int col, uint32_t id,
                    int (*each)(void *arg, uint32_t vid, const char *s, size_t n), void *arg) {
  const qy_dbchunks *x = ctx;
  if (col == QY_COL_STAGE) {
    const lc_mset *ms = x->db->defs->machines;
    if (!ms || id >= ms->nm) return POND_OK;
    const lc_machine *mc = &ms->m[id];
    for (uint32_t s = 0; s < mc->nst; s++) {
      if (!mc->st[s].live) continue;
      int rc = each(arg, s, mc->st[s].name, mc->st[s].len);
      if (rc) return rc;
    }
    return POND_OK;
  }
  if (col != QY_COL_ATTR || id >= x->db->nav) return POND_OK;
  const db_dict *d = &x->db->av[id].dict;
  for (uint32_t v = 0; v < d->n; v++) {
    int rc = each(arg, v, d->v[v].s, d->v[v].len);
    if (rc) return rc;
  }
  return POND_OK;
}

static int c_value(void *ctx, int col, uint32_t id, uint32_t vid, uint64_t key, uint64_t *words) {
  const qy_dbchunks *x = ctx;
  qy_dbcol *c;
  POND_TRY(qy_dbidx_column(x->db, col, id, &c));
  if (vid >= c->nbyval) memset(words, 0, QY_CHUNK_WORDS * 8);
  else bm_chunk_words(&c->byval[vid], key, words);
  return POND_OK;
}

static int c_valued(void *ctx, int col, uint32_t id, uint64_t key, uint64_t *words) {
  const qy_dbchunks *x = ctx;
  qy_dbcol *c;
  POND_TRY(qy_dbidx_column(x->db, col, id, &c));
  qy_ichunk_notnull(qy_icol_chunk(&c->col, key), words);
  return POND_OK;
}

static uint64_t c_value_count(void *ctx, int col, uint32_t id, uint32_t vid) {
  const qy_dbchunks *x = ctx;
  qy_dbcol *c;
  if (qy_dbidx_column(x->db, col, id, &c) < 0 || vid >= c->nbyval) return 0;
  return bm_card(&c->byval[vid]);
}

/* The evaluation asks for chunks in ascending key order, most of them
 * right after the previous one: one iterator walks the population, and
 * the first id past a chunk is kept for the next (no seek per chunk). */
static int c_few(void *ctx, uint64_t key, uint16_t *slots, uint32_t cap) {
  qy_dbchunks *x = ctx;
  uint32_t k = 0;
  if (!x->it_ok || !x->pend_ok || x->pend >> 16 != key) {
    bm_iter_init(&x->it, &x->db->all, key << 16);
    x->it_ok = 1;
    x->pend_ok = bm_iter_next(&x->it, &x->pend);
  }
  for (; x->pend_ok && x->pend >> 16 == key; x->pend_ok = bm_iter_next(&x->it, &x->pend)) {
    if (k == cap) {
      x->it_ok = 0; /* a big chunk: the next call seeks */
      return (int)cap + 1;
    }
    slots[k++] = (uint16_t)x->pend;
  }
  return (int)k;
}

static int c_row(void *ctx, uint64_t cid, qy_row *out) {
  qy_dbchunks *x = ctx;
  const cu_rec *r = db_cust(x->db, cid);
  if (!r) return pc_errf(&x->db->err, POND_ECORRUPT, "query: customer %llu is missing its record",
                         (unsigned long long)cid);
  x->row.db = x->db;
  x->row.rec = r;
  qy_db_row(&x->row, cid, out);
  return POND_OK;
}

void qy_db_chunks(qy_dbchunks *ctx, qy_chunks *src) {
  pond_db *db = ctx->db;
  memset(src, 0, sizeof *src);
  src->ctx = ctx;
  src->keys = db->all.keys;
  src->nkeys = db->all.n;
  src->population = bm_card(&db->all);
  src->customers = c_customers;
  src->tag = c_tag;
  src->group = c_group;
  src->tag_count = c_tag_count;
  src->group_count = c_group_count;
  src->icol = c_icol;
  src->values = c_values;
  src->value = c_value;
  src->valued = c_valued;
  src->value_count = c_value_count;
  src->few = c_few;
  src->row = c_row;
  src->tag_words = c_tag_words;
}

void qy_db_chunks_free(qy_dbchunks *ctx) {
  pc_mem *m = &ctx->db->mem;
  for (uint32_t i = 0; i < ctx->ngroups; i++) bm_free(m, &ctx->gunion[i]);
  pc_free(m, ctx->gids, (size_t)ctx->cgroups * sizeof *ctx->gids);
  pc_free(m, ctx->gunion, (size_t)ctx->cgroups * sizeof *ctx->gunion);
  ctx->gids = NULL;
  ctx->gunion = NULL;
  ctx->ngroups = ctx->cgroups = 0;
}
