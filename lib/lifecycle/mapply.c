/*
 * mapply.c — building the machine set a definition document produces, and
 * publishing it (see mdef.c for the phases).
 *
 * Every pond_define compiles the whole set again when machines exist:
 * guards are prepared against the new definitions (a guard may name an
 * attribute, tag or segment the document changed), the event index and
 * the armed timer of each state are recomputed. Machines are small, so
 * this costs O(machines + transitions) and keeps the set immutable once
 * published.
 */
#include <stdio.h>
#include <string.h>

#include "lifecycle/mplan.h"
#include "query/qydb.h"

static char *dup(pc_mem *m, const char *s, size_t n, int *failed) {
  if (!s) return NULL;
  char *p = pc_strndup(m, s, n);
  if (!p) *failed = 1;
  return p;
}

/* A deep copy of src without its prepared guards. */
static int mach_copy(pc_mem *m, lc_machine *dst, const lc_machine *src) {
  int failed = 0;
  memset(dst, 0, sizeof *dst);
  dst->len = src->len;
  dst->live = src->live;
  dst->initial = src->initial;
  dst->home = src->home;
  dst->name = dup(m, src->name, src->len, &failed);
  dst->json = dup(m, src->json, src->jlen, &failed);
  dst->jlen = src->jlen;
  if (src->nst && !failed && (dst->st = pc_calloc(m, (size_t)src->nst * sizeof *dst->st))) {
    dst->nst = src->nst;
    for (uint32_t s = 0; s < src->nst; s++) {
      dst->st[s] = src->st[s];
      dst->st[s].name = dup(m, src->st[s].name, src->st[s].len, &failed);
    }
  } else if (src->nst) {
    failed = 1;
  }
  if (src->ntr && !failed && (dst->tr = pc_calloc(m, (size_t)src->ntr * sizeof *dst->tr))) {
    dst->ntr = src->ntr;
    for (uint32_t t = 0; t < src->ntr && !failed; t++) {
      const lc_trans *a = &src->tr[t];
      lc_trans *b = &dst->tr[t];
      *b = *a;
      b->from = NULL;
      b->nfrom = 0;
      b->guard = NULL;
      b->guard_text = dup(m, a->guard_text, a->glen, &failed);
      if (a->nfrom && !failed) {
        if ((b->from = pc_alloc(m, (size_t)a->nfrom * sizeof *b->from))) {
          memcpy(b->from, a->from, (size_t)a->nfrom * sizeof *b->from);
          b->nfrom = a->nfrom;
        } else {
          failed = 1;
        }
      }
    }
  } else if (src->ntr) {
    failed = 1;
  }
  return failed ? POND_ENOMEM : POND_OK;
}

/* The slots of machine pm: the old machine's (kept by name, live when the
 * document lists them), then new names. */
static int build_states(pond_db *db, const lcp_m *pm, const lc_machine *old, lc_machine *mc,
                        uint32_t *map) {
  pc_mem *m = &db->mem;
  uint32_t nold = old ? old->nst : 0, n = nold;
  size_t ns = pm->states->u.arr.n;
  for (size_t i = 0; i < ns; i++) {
    const pj_value *v = &pm->states->u.arr.items[i];
    uint32_t sid = UINT32_MAX;
    for (uint32_t s = 0; s < nold; s++)
      if (old->st[s].len == v->u.str.len && memcmp(old->st[s].name, v->u.str.s, v->u.str.len) == 0)
        sid = s;
    map[i] = sid == UINT32_MAX ? n++ : sid;
  }
  if (n > LC_SID_MAX) /* LC_SID_MAX itself marks "no state" in the funnel */
    return pc_errf(&db->err, POND_ELIMIT, "define: machine '%.*s' used more than %u state names over time",
                   (int)pm->len, pm->name, LC_SID_MAX);
  if (!(mc->st = pc_calloc(m, (size_t)n * sizeof *mc->st))) return POND_ENOMEM;
  mc->nst = n;
  int failed = 0;
  for (uint32_t s = 0; s < nold; s++) {
    mc->st[s].name = dup(m, old->st[s].name, old->st[s].len, &failed);
    mc->st[s].len = old->st[s].len;
  }
  for (size_t i = 0; i < ns; i++) {
    const pj_value *v = &pm->states->u.arr.items[i];
    lc_state *st = &mc->st[map[i]];
    if (!st->name) st->name = dup(m, v->u.str.s, v->u.str.len, &failed);
    st->len = (uint32_t)v->u.str.len;
    st->live = 1;
  }
  for (uint32_t s = 0; s < n; s++) {
    mc->st[s].entered = -1;
    mc->st[s].armed = -1;
  }
  return failed ? POND_ENOMEM : POND_OK;
}

/* Compiles document machine pm into mc (slot mid; old: its previous
 * definition or NULL). Event ids are assigned later: tr[].ev holds -2 and
 * the name is kept in evname until then. */
typedef struct evname {
  const char *s;
  size_t n;
} evname;

static int build_machine(pond_db *db, lc_plan *p, lcp_m *pm, const lc_machine *old, lc_machine *mc,
                         evname *names) {
  pc_mem *m = &db->mem;
  size_t ns = pm->states->u.arr.n;
  uint32_t *map = pc_alloc(m, ns * sizeof *map);
  if (!map) return POND_ENOMEM;
  int rc = build_states(db, pm, old, mc, map);
  int failed = 0;
  if (rc >= 0) {
    mc->name = dup(m, pm->name, pm->len, &failed);
    mc->len = (uint32_t)pm->len;
    mc->live = 1;
    mc->initial = map[pm->initial];
    mc->home = mc->initial;
    if (old && old->live) {
      /* customers without an entry are in the old home state */
      mc->home = old->home;
      if (!mc->st[old->home].live) {
        const pj_value *to = pm->rename ? pj_get_n(pm->rename, old->st[old->home].name, old->st[old->home].len) : NULL;
        mc->home = to ? map[doc_state_index(pm->states, to->u.str.s, to->u.str.len)] : mc->initial;
        p->stale = 1;
      }
    }
  }
  if (rc >= 0 && pm->ntr && !(mc->tr = pc_calloc(m, (size_t)pm->ntr * sizeof *mc->tr))) rc = POND_ENOMEM;
  if (rc >= 0) mc->ntr = pm->ntr;
  for (uint32_t t = 0; rc >= 0 && t < pm->ntr; t++) {
    const lcp_tr *a = &pm->tr[t];
    lc_trans *b = &mc->tr[t];
    b->to = map[a->to];
    b->any = a->any;
    b->after = a->after;
    b->ev = a->on ? -2 : -1;
    names[t] = (evname){a->on, a->onlen};
    if (a->nfrom) {
      if (!(b->from = pc_alloc(m, (size_t)a->nfrom * sizeof *b->from))) {
        rc = POND_ENOMEM;
        break;
      }
      b->nfrom = a->nfrom;
      for (uint32_t i = 0; i < a->nfrom; i++) b->from[i] = map[a->from[i]];
      /* sorted by slot for the binary search of dispatch */
      for (uint32_t i = 1; i < b->nfrom; i++)
        for (uint32_t j = i; j > 0 && b->from[j - 1] > b->from[j]; j--) {
          uint32_t x = b->from[j];
          b->from[j] = b->from[j - 1];
          b->from[j - 1] = x;
        }
    }
    if (a->guard) {
      b->guard_text = dup(m, a->guard->u.str.s, a->guard->u.str.len, &failed);
      b->glen = a->guard->u.str.len;
    }
  }
  pc_free(m, map, ns * sizeof *map);
  if (rc >= 0 && failed) rc = POND_ENOMEM;
  return rc;
}

/* ------------------------------------------------------------- events */

static int add_event(pc_mem *m, lc_mset *ns, const char *name, size_t n, uint32_t *eid,
                     uint32_t *cev) {
  uint64_t v;
  if (pc_strmap_get(&ns->ev_ids, name, n, &v) == POND_OK) {
    *eid = (uint32_t)v;
    return POND_OK;
  }
  if (ns->nev == *cev) {
    uint32_t nc = *cev ? *cev * 2 : 8;
    lc_evt *e = pc_realloc(m, ns->ev, (size_t)*cev * sizeof *e, (size_t)nc * sizeof *e);
    if (!e) return POND_ENOMEM;
    ns->ev = e;
    *cev = nc;
  }
  lc_evt *e = &ns->ev[ns->nev];
  memset(e, 0, sizeof *e);
  if (!(e->name = pc_strndup(m, name, n))) return POND_ENOMEM;
  e->len = (uint32_t)n;
  if (pc_strmap_put(m, &ns->ev_ids, e->name, n, ns->nev) < 0) {
    pc_free(m, e->name, n + 1);
    return POND_ENOMEM;
  }
  *eid = ns->nev++;
  return POND_OK;
}

static int listen(pc_mem *m, lc_evt *e, uint32_t mid, uint32_t tr) {
  lc_listen *l = pc_realloc(m, e->l, (size_t)e->nl * sizeof *l, (size_t)(e->nl + 1) * sizeof *l);
  if (!l) return POND_ENOMEM;
  l[e->nl++] = (lc_listen){mid, tr};
  e->l = l;
  return POND_OK;
}

static int from_has(const lc_trans *t, uint32_t sid) {
  if (t->any) return sid != t->to;
  for (uint32_t i = 0; i < t->nfrom; i++)
    if (t->from[i] == sid) return 1;
  return 0;
}

/* The event index, stage.entered ids and armed timers of every live
 * machine. names[mid][t]: the event name of a transition compiled from the
 * document (ev == -2); kept machines keep their names in the old set. */
static int index_events(pond_db *db, lc_mset *ns, const lc_mset *old, evname **names) {
  pc_mem *m = &db->mem;
  uint32_t cev = 0;
  ns->ev_added = ns->ev_message = -1;
  for (uint32_t mid = 0; mid < ns->nm; mid++) {
    lc_machine *mc = &ns->m[mid];
    if (!mc->live) continue;
    for (uint32_t t = 0; t < mc->ntr; t++) {
      lc_trans *tr = &mc->tr[t];
      if (tr->ev == -1) continue;
      const char *s;
      size_t n;
      if (tr->ev == -2) {
        s = names[mid][t].s;
        n = names[mid][t].n;
      } else {
        s = old->ev[tr->ev].name;
        n = old->ev[tr->ev].len;
      }
      uint32_t eid;
      POND_TRY(add_event(m, ns, s, n, &eid, &cev));
      tr->ev = (int32_t)eid;
      POND_TRY(listen(m, &ns->ev[eid], mid, t));
    }
  }
  /* the event array's capacity is not kept: trim it to nev */
  if (cev > ns->nev) {
    lc_evt *e = pc_realloc(m, ns->ev, (size_t)cev * sizeof *e, (size_t)ns->nev * sizeof *e);
    if (e || !ns->nev) ns->ev = e;
    else return POND_ENOMEM;
  }
  for (uint32_t e = 0; e < ns->nev; e++) {
    const lc_evt *ev = &ns->ev[e];
    if (ev->len == 14 && memcmp(ev->name, "customer.added", 14) == 0) ns->ev_added = (int32_t)e;
    if (ev->len == 7 && memcmp(ev->name, "message", 7) == 0) ns->ev_message = (int32_t)e;
    if ((ev->len > 10 && memcmp(ev->name, "tag.added:", 10) == 0) ||
        (ev->len > 12 && memcmp(ev->name, "tag.removed:", 12) == 0))
      ns->tag_events = 1;
  }
  char buf[320];
  for (uint32_t mid = 0; mid < ns->nm; mid++) {
    lc_machine *mc = &ns->m[mid];
    if (!mc->live) continue;
    for (uint32_t s = 0; s < mc->nst; s++) {
      lc_state *st = &mc->st[s];
      st->entered = st->armed = -1;
      if (!st->live) continue;
      int n = snprintf(buf, sizeof buf, "stage.entered:%.*s/%.*s", (int)mc->len, mc->name, (int)st->len, st->name);
      st->entered = lc_event_find(ns, buf, (size_t)n);
      /* the shortest after-transition from s (ties: the first listed) */
      for (uint32_t t = 0; t < mc->ntr; t++) {
        const lc_trans *tr = &mc->tr[t];
        if (tr->ev != -1 || !from_has(tr, s)) continue;
        if (st->armed < 0 || tr->after < mc->tr[st->armed].after) st->armed = (int32_t)t;
      }
      if (st->armed >= 0) ns->has_after = 1;
    }
  }
  return POND_OK;
}

/* --------------------------------------------------------- canonical JSON */

static int mach_json(pc_mem *m, const lc_mset *ns, lc_machine *mc) {
  pj_buf b;
  pj_buf_init(&b, m);
  pj_buf_puts(&b, "{\"name\":");
  pj_buf_str(&b, mc->name, mc->len);
  pj_buf_puts(&b, ",\"initial\":");
  pj_buf_str(&b, mc->st[mc->initial].name, mc->st[mc->initial].len);
  pj_buf_puts(&b, ",\"states\":[");
  int first = 1;
  for (uint32_t s = 0; s < mc->nst; s++) {
    if (!mc->st[s].live) continue;
    if (!first) pj_buf_puts(&b, ",");
    first = 0;
    pj_buf_str(&b, mc->st[s].name, mc->st[s].len);
  }
  pj_buf_puts(&b, "],\"transitions\":[");
  for (uint32_t t = 0; t < mc->ntr; t++) {
    const lc_trans *tr = &mc->tr[t];
    if (t) pj_buf_puts(&b, ",");
    pj_buf_puts(&b, "{\"from\":");
    if (tr->any) {
      pj_buf_puts(&b, "\"*\"");
    } else {
      pj_buf_puts(&b, "[");
      for (uint32_t i = 0; i < tr->nfrom; i++) {
        if (i) pj_buf_puts(&b, ",");
        pj_buf_str(&b, mc->st[tr->from[i]].name, mc->st[tr->from[i]].len);
      }
      pj_buf_puts(&b, "]");
    }
    pj_buf_puts(&b, ",\"to\":");
    pj_buf_str(&b, mc->st[tr->to].name, mc->st[tr->to].len);
    if (tr->ev >= 0) {
      pj_buf_puts(&b, ",\"on\":");
      pj_buf_str(&b, ns->ev[tr->ev].name, ns->ev[tr->ev].len);
    } else {
      char d[24];
      df_dur_format(tr->after, d);
      pj_buf_puts(&b, ",\"after\":\"");
      pj_buf_puts(&b, d);
      pj_buf_puts(&b, "\"");
    }
    if (tr->guard_text) {
      pj_buf_puts(&b, ",\"if\":");
      pj_buf_str(&b, tr->guard_text, tr->glen);
    }
    pj_buf_puts(&b, "}");
  }
  pj_buf_puts(&b, "]}");
  char *s = b.failed ? NULL : pc_strndup(m, b.p ? b.p : "", b.len);
  size_t n = b.len;
  pj_buf_free(&b);
  if (!s) return POND_ENOMEM;
  pc_free(m, mc->json, mc->json ? mc->jlen + 1 : 0);
  mc->json = s;
  mc->jlen = n;
  return POND_OK;
}

/* ------------------------------------------------------------- guards */

typedef struct gview {
  qy_dbschema dbs; /* first: the db schema's callbacks cast ctx to it */
  qy_schema base;
  const lc_view *v;
} gview;

static int g_tag(void *ctx, const char *name, size_t len, uint32_t *id) {
  gview *g = ctx;
  int rc = g->base.tag(ctx, name, len, id);
  if (rc == POND_NOTFOUND && g->v && g->v->future && g->v->future(g->v->arg, name, len, id))
    return POND_OK;
  return rc;
}

/* Finds the document path of transition t of machine mid, or NULL. */
static const lcp_m *doc_machine(const lc_plan *p, uint32_t mid, uint32_t *di) {
  for (uint32_t i = 0; i < p->nm; i++)
    if (p->m[i].mid == mid) {
      *di = i;
      return &p->m[i];
    }
  return NULL;
}

static int prepare_guards(pond_db *db, lc_plan *p, lc_mset *ns, df_defs *nd, const lc_view *v) {
  gview g;
  memset(&g, 0, sizeof g);
  g.dbs.db = db;
  g.dbs.defs = nd;
  g.dbs.hidden = v ? v->hidden : NULL;
  g.dbs.arg = v ? v->arg : NULL;
  g.v = v;
  qy_db_schema(&g.dbs, &g.base);
  qy_schema s = g.base;
  s.ctx = &g;
  s.tag = g_tag;
  for (uint32_t mid = 0; mid < ns->nm; mid++) {
    lc_machine *mc = &ns->m[mid];
    if (!mc->live) continue;
    for (uint32_t t = 0; t < mc->ntr; t++) {
      lc_trans *tr = &mc->tr[t];
      if (!tr->guard_text) continue;
      int rc = qy_prepare(&db->mem, &s, &db->lim, tr->guard_text, tr->glen, 0, &tr->guard, &db->err);
      if (rc >= 0) continue;
      if (rc == POND_ENOMEM) return rc;
      char q[PC_ERRMSG_MAX], path[96];
      snprintf(q, sizeof q, "%s", db->err.msg);
      int code = rc == POND_ELIMIT ? POND_ELIMIT : POND_EINVAL;
      uint32_t di;
      const lcp_m *pm = doc_machine(p, mid, &di);
      if (pm) {
        snprintf(path, sizeof path, "$.machines[%u].transitions[%u].if", di, t);
        return lc_fail(db, pm->tr[t].guard, code, path, "%s", q);
      }
      return lc_fail(db, NULL, code, "$",
                     "machine '%.*s' (defined before): the guard of its transition %u would no "
                     "longer be valid: %s; redefine the machine in the same document",
                     (int)mc->len, mc->name, t, q);
    }
  }
  return POND_OK;
}

/* ------------------------------------------------------------- cycles */

static int is_stage_event(const lc_mset *ns, int32_t ev) {
  return ev >= 0 && ns->ev[ev].len > 14 && memcmp(ns->ev[ev].name, "stage.entered:", 14) == 0;
}

/* A transition T2 can follow T1 in one dispatch: T2 listens to the
 * stage.entered event T1 raises and, in the same machine, starts where T1
 * ends. (Across machines the other machine's state is unknown here, so
 * the edge is assumed.) A cycle of such edges could loop until the
 * generation limit on every event that enters it: rejected. */
static int check_cycles(pond_db *db, lc_plan *p, const lc_mset *ns) {
  pc_mem *m = &db->mem;
  uint32_t *base = pc_calloc(m, ((size_t)ns->nm + 1) * sizeof *base);
  if (!base) return POND_ENOMEM;
  for (uint32_t mid = 0; mid < ns->nm; mid++)
    base[mid + 1] = base[mid] + (ns->m[mid].live ? ns->m[mid].ntr : 0);
  uint32_t total = base[ns->nm];
  uint8_t *color = pc_calloc(m, (size_t)total + 1);
  uint32_t *stack = pc_alloc(m, ((size_t)total + 1) * 2 * sizeof *stack);
  int rc = color && stack ? POND_OK : POND_ENOMEM;
  uint32_t cyc_mid = 0, cyc_t = 0, found = 0;
  for (uint32_t mid = 0; rc >= 0 && !found && mid < ns->nm; mid++) {
    const lc_machine *mc = &ns->m[mid];
    if (!mc->live) continue;
    for (uint32_t t = 0; !found && t < mc->ntr; t++) {
      if (!is_stage_event(ns, mc->tr[t].ev) || color[base[mid] + t]) continue;
      /* iterative DFS: stack of (node, next listener index) */
      size_t sp = 0;
      stack[sp++] = base[mid] + t;
      stack[sp++] = 0;
      color[base[mid] + t] = 1;
      while (sp && !found) {
        uint32_t node = stack[sp - 2], k = stack[sp - 1];
        uint32_t nm_ = 0;
        while (base[nm_ + 1] <= node) nm_++;
        const lc_trans *t1 = &ns->m[nm_].tr[node - base[nm_]];
        int32_t ev = ns->m[nm_].st[t1->to].entered;
        const lc_evt *e = ev >= 0 ? &ns->ev[ev] : NULL;
        if (!e || k >= e->nl) {
          color[node] = 2;
          sp -= 2;
          continue;
        }
        stack[sp - 1] = k + 1;
        const lc_listen *l = &e->l[k];
        const lc_trans *t2 = &ns->m[l->mid].tr[l->tr];
        if (l->mid == nm_ && !from_has(t2, t1->to)) continue;
        uint32_t nx = base[l->mid] + l->tr;
        if (color[nx] == 1) {
          found = 1;
          cyc_mid = l->mid;
          cyc_t = l->tr;
        } else if (!color[nx]) {
          color[nx] = 1;
          stack[sp++] = nx;
          stack[sp++] = 0;
        }
      }
    }
  }
  pc_free(m, stack, ((size_t)total + 1) * 2 * sizeof *stack);
  pc_free(m, color, (size_t)total + 1);
  pc_free(m, base, ((size_t)ns->nm + 1) * sizeof *base);
  if (rc < 0 || !found) return rc;
  const lc_machine *mc = &ns->m[cyc_mid];
  const lc_trans *tr = &mc->tr[cyc_t];
  uint32_t di;
  const lcp_m *pm = doc_machine(p, cyc_mid, &di);
  char path[96];
  if (pm) snprintf(path, sizeof path, "$.machines[%u].transitions[%u].on", di, cyc_t);
  else snprintf(path, sizeof path, "$");
  return lc_fail(db, pm ? pj_get(pm->tr[cyc_t].obj, "on") : NULL, POND_EINVAL, path,
                 "transitions on stage.entered events form a cycle through '%.*s' -> '%.*s' "
                 "(machine '%.*s') that could loop forever",
                 (int)mc->st[tr->from && tr->nfrom ? tr->from[0] : tr->to].len,
                 mc->st[tr->from && tr->nfrom ? tr->from[0] : tr->to].name, (int)mc->st[tr->to].len,
                 mc->st[tr->to].name, (int)mc->len, mc->name);
}

/* ------------------------------------------------- reachability (warnings) */

static int warn_unreachable(pond_db *db, lc_plan *p, const lc_mset *ns) {
  pc_mem *m = &db->mem;
  for (uint32_t i = 0; i < p->nm; i++) {
    const lc_machine *mc = &ns->m[p->m[i].mid];
    uint8_t *seen = pc_calloc(m, mc->nst);
    if (!seen) return POND_ENOMEM;
    seen[mc->initial] = seen[mc->home] = 1;
    for (int changed = 1; changed;) {
      changed = 0;
      for (uint32_t t = 0; t < mc->ntr; t++) {
        const lc_trans *tr = &mc->tr[t];
        if (seen[tr->to]) continue;
        for (uint32_t s = 0; s < mc->nst; s++)
          if (seen[s] && from_has(tr, s)) {
            seen[tr->to] = 1;
            changed = 1;
            break;
          }
      }
    }
    const pj_value *st = p->m[i].states;
    for (size_t k = 0; k < st->u.arr.n; k++) {
      const pj_value *v = &st->u.arr.items[k];
      uint32_t sid;
      if (lc_state_find(mc, v->u.str.s, v->u.str.len, &sid) == POND_OK && !seen[sid]) {
        char line[512];
        snprintf(line, sizeof line,
                 "define:$.machines[%u].states[%zu]: warning: state '%s' is unreachable from the "
                 "initial state '%.*s'\n",
                 i, k, v->u.str.s, (int)mc->st[mc->initial].len, mc->st[mc->initial].name);
        pj_buf_puts(&p->diag, line);
      }
    }
    pc_free(m, seen, mc->nst);
  }
  return p->diag.failed ? POND_ENOMEM : POND_OK;
}

/* ------------------------------------------- removed states and renames */

static int rw_push(pc_mem *m, lc_plan *p, uint64_t cid, uint32_t mid, uint32_t sid) {
  if (p->nrw == p->crw) {
    size_t nc = p->crw ? p->crw * 2 : 64;
    uint64_t *a = pc_realloc(m, p->rw, p->crw * sizeof *a, nc * sizeof *a);
    if (!a) return POND_ENOMEM;
    p->rw = a;
    uint32_t *b = pc_realloc(m, p->rwmid, p->crw * sizeof *b, nc * sizeof *b);
    if (!b) return POND_ENOMEM;
    p->rwmid = b;
    uint32_t *c = pc_realloc(m, p->rwsid, p->crw * sizeof *c, nc * sizeof *c);
    if (!c) return POND_ENOMEM;
    p->rwsid = c;
    p->crw = nc;
  }
  p->rw[p->nrw] = cid;
  p->rwmid[p->nrw] = mid;
  p->rwsid[p->nrw++] = sid;
  return POND_OK;
}

/* Customers in states the document removes: renamed (their entries
 * rewritten at commit, images taken now), or a conflict. */
static int check_removed(pond_db *db, lc_plan *p, const lc_mset *old, const lc_mset *ns) {
  pc_mem *m = &db->mem;
  /* to[mid][old sid]: the new state, UINT32_MAX (removed, no rename) or
   * the sid itself (kept) — only for document machines that existed */
  uint32_t *map[LC_MAX_LIVE_MACHINES];
  uint32_t mids[LC_MAX_LIVE_MACHINES], k = 0;
  int rc = POND_OK;
  for (uint32_t i = 0; i < p->nm && rc >= 0; i++) {
    uint32_t mid = p->m[i].mid;
    if (!old || mid >= old->nm || !old->m[mid].live) continue;
    const lc_machine *om = &old->m[mid], *nmc = &ns->m[mid];
    int removed = 0;
    for (uint32_t s = 0; s < om->nst; s++) removed |= om->st[s].live && !nmc->st[s].live;
    if (!removed) continue;
    uint32_t *mp = pc_alloc(m, (size_t)om->nst * sizeof *mp);
    if (!mp) {
      rc = POND_ENOMEM;
      break;
    }
    for (uint32_t s = 0; s < om->nst; s++) {
      mp[s] = s;
      if (!om->st[s].live || nmc->st[s].live) continue;
      const pj_value *to = p->m[i].rename ? pj_get_n(p->m[i].rename, om->st[s].name, om->st[s].len) : NULL;
      uint32_t sid;
      mp[s] = to && lc_state_find(nmc, to->u.str.s, to->u.str.len, &sid) == POND_OK ? sid : UINT32_MAX;
    }
    map[k] = mp;
    mids[k++] = mid;
  }
  uint64_t cid, v, conflicts = 0;
  uint32_t cmid = 0, csid = 0;
  size_t it = 0;
  while (rc >= 0 && k && pc_map64_next(&db->cus, &it, &cid, &v)) {
    const cu_rec *r = (const cu_rec *)(uintptr_t)v;
    for (uint32_t j = 0; j < k && rc >= 0; j++) {
      uint32_t pos, sid;
      int has = lc_find(r, mids[j], &pos);
      sid = has ? lc_key_sid(cu_ckeys(r)[pos]) : old->m[mids[j]].home;
      if (sid >= old->m[mids[j]].nst || map[j][sid] == sid) continue;
      if (map[j][sid] == UINT32_MAX) {
        if (!conflicts++) {
          cmid = mids[j];
          csid = sid;
        }
      } else if (has) {
        rc = rw_push(m, p, cid, mids[j], map[j][sid]);
        if (rc >= 0) rc = db_touch_cust(db, cid, DB_NEED_TXN);
      }
    }
  }
  for (uint32_t j = 0; j < k; j++) pc_free(m, map[j], (size_t)old->m[mids[j]].nst * sizeof *map[j]);
  if (rc < 0 || !conflicts) return rc;
  const lc_machine *om = &old->m[cmid];
  uint32_t di = 0;
  const lcp_m *pm = doc_machine(p, cmid, &di);
  char path[64];
  snprintf(path, sizeof path, "$.machines[%u].states", di);
  return lc_fail(db, pm ? pm->states : NULL, POND_ECONFLICT, path,
                 "%llu customers are in state '%.*s' of machine '%.*s', which this document "
                 "removes; map it to a state with \"rename_states\": {\"%.*s\": \"...\"}",
                 (unsigned long long)conflicts, (int)om->st[csid].len, om->st[csid].name,
                 (int)om->len, om->name, (int)om->st[csid].len, om->st[csid].name);
}

/* ------------------------------------------------------------- prepare */

int lc_apply_prepare(pond_db *db, lc_plan **pp, df_defs *nd, const lc_view *view) {
  pc_mem *m = &db->mem;
  const lc_mset *old = db->defs->machines;
  lc_plan *p = *pp;
  if (!p && !old) return POND_OK;
  if (!p) {
    if (!(p = pc_calloc(m, sizeof *p))) return POND_ENOMEM;
    pj_buf_init(&p->diag, m);
    *pp = p;
  }
  lc_rt *rt;
  POND_TRY(lc_rt_need(db, &rt));
  lc_mset *ns = pc_calloc(m, sizeof *ns);
  if (!ns) return POND_ENOMEM;
  ns->refs = 1;
  pc_strmap_init(&ns->ids);
  pc_strmap_init(&ns->ev_ids);
  p->ns = ns;
  uint32_t nold = old ? old->nm : 0, nm = nold;
  for (uint32_t i = 0; i < p->nm; i++) {
    uint32_t mid;
    p->m[i].mid = lc_machine_find(old, p->m[i].name, p->m[i].len, &mid) ? mid : nm++;
  }
  if (nm > LC_MID_MAX + 1)
    return pc_errf(&db->err, POND_ELIMIT, "define: more than %u machines defined over time", LC_MID_MAX + 1);
  if (nm && !(ns->m = pc_calloc(m, (size_t)nm * sizeof *ns->m))) return POND_ENOMEM;
  ns->nm = nm;
  evname **names = nm ? pc_calloc(m, (size_t)nm * sizeof *names) : NULL;
  if (nm && !names) return POND_ENOMEM;
  int rc = POND_OK;
  for (uint32_t mid = 0; mid < nold && rc >= 0; mid++) {
    uint32_t di;
    if (!doc_machine(p, mid, &di)) rc = mach_copy(m, &ns->m[mid], &old->m[mid]);
  }
  for (uint32_t i = 0; i < p->nm && rc >= 0; i++) {
    lcp_m *pm = &p->m[i];
    const lc_machine *om = pm->mid < nold ? &old->m[pm->mid] : NULL;
    if (pm->ntr && !(names[pm->mid] = pc_calloc(m, (size_t)pm->ntr * sizeof **names))) rc = POND_ENOMEM;
    if (rc >= 0) rc = build_machine(db, p, pm, om, &ns->m[pm->mid], names[pm->mid]);
  }
  for (uint32_t mid = 0; mid < nm && rc >= 0; mid++)
    if (ns->m[mid].live) {
      ns->nlive++;
      rc = pc_strmap_put(m, &ns->ids, ns->m[mid].name, ns->m[mid].len, mid);
    }
  if (rc >= 0 && ns->nlive > LC_MAX_LIVE_MACHINES)
    rc = pc_errf(&db->err, POND_ELIMIT, "define: more than %d machines", LC_MAX_LIVE_MACHINES);
  if (rc >= 0) rc = index_events(db, ns, old, names);
  for (uint32_t mid = 0; names && mid < nm; mid++)
    if (names[mid]) pc_free(m, names[mid], (size_t)ns->m[mid].ntr * sizeof **names);
  pc_free(m, names, (size_t)nm * sizeof *names);
  for (uint32_t i = 0; i < p->nm && rc >= 0; i++) rc = mach_json(m, ns, &ns->m[p->m[i].mid]);
  if (rc < 0) return rc;
  /* the new definitions hold the set from here on (guards name its states) */
  lc_mset_unref(m, nd->machines);
  nd->machines = lc_mset_ref(ns);
  POND_TRY(prepare_guards(db, p, ns, nd, view));
  POND_TRY(check_cycles(db, p, ns));
  POND_TRY(check_removed(db, p, old, ns));
  POND_TRY(warn_unreachable(db, p, ns));
  if (p->diag.len) {
    if (!(p->dstr = pc_strndup(m, p->diag.p, p->diag.len))) return POND_ENOMEM;
    p->dlen = p->diag.len;
  }
  return POND_OK;
}

void lc_apply_commit(pond_db *db, lc_plan *p) {
  lc_rt *rt = db->lc; /* made by lc_apply_prepare */
  if (rt) { /* the warnings of this define replace the last ones */
    pc_free(&db->mem, rt->diag, rt->diag ? rt->dlen + 1 : 0);
    rt->diag = NULL;
    rt->dlen = 0;
  }
  if (!p) return;
  for (size_t i = 0; i < p->nrw; i++) {
    cu_rec *r = db_cust(db, p->rw[i]);
    uint32_t pos;
    if (!r || !lc_find(r, p->rwmid[i], &pos)) continue;
    cu_keys(r)[pos] = lc_key(p->rwmid[i], p->rwsid[i], 0);
    db_cust_changed(db, p->rw[i]);
  }
  if (p->stale || p->nrw) qy_db_stale(db);
  if (rt && p->dstr) {
    rt->diag = p->dstr;
    rt->dlen = p->dlen;
    p->dstr = NULL;
  }
}
