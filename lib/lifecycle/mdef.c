/*
 * mdef.c — "machines" in pond_define: validation with JSON paths, the
 * compiled machine set (lc_mset), and applying a new set atomically.
 *
 *   check    lc_check reads $.machines (structure, names, states, events,
 *            durations, rename_states) without changing anything;
 *   prepare  lc_apply_prepare builds the new lc_mset for the definitions
 *            the document produces: state slots kept by name, transitions
 *            compiled, the event index, armed timers per state, guards
 *            prepared (type-checked) against those definitions, cycles of
 *            stage.entered transitions rejected, states the document
 *            removes checked against the customers in them, and the
 *            records that rename_states rewrites imaged;
 *   commit   lc_apply_commit rewrites those records (never fails).
 *
 * Cost: O(document + machines) plus, when a machine that customers use
 * changes its states, one pass over the customer records.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "define/plan.h"
#include "lifecycle/lc.h"
#include "core/utf8.h"
#include "lifecycle/mplan.h"
#include "query/qydb.h"

#define SHOWN 100
static int shown(size_t n) { return (int)(n > SHOWN ? SHOWN : n); }

int lc_fail(pond_db *db, const pj_value *at, int code, const char *path, const char *fmt, ...) {
  char tail[PC_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tail, sizeof tail, fmt, ap);
  va_end(ap);
  pc_errf(&db->err, code, "define:%s: %s", path, tail);
  db->err.offset = at ? (long)at->offset : -1;
  return code;
}

static size_t distance(const char *a, size_t na, const char *b, size_t nb) {
  size_t row[65];
  if (na > 64 || nb > 64) return 99;
  for (size_t j = 0; j <= nb; j++) row[j] = j;
  for (size_t i = 1; i <= na; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[nb];
}

static int str_is(const pj_value *v, const char *s, size_t n) {
  return v->type == PJ_STRING && v->u.str.len == n && memcmp(v->u.str.s, s, n) == 0;
}

/* ------------------------------------------------------------ the set */

static void trans_free(pc_mem *m, lc_trans *t) {
  pc_free(m, t->from, (size_t)t->nfrom * sizeof *t->from);
  pc_free(m, t->guard_text, t->guard_text ? t->glen + 1 : 0);
  qy_query_free(t->guard);
}

static void mach_free(pc_mem *m, lc_machine *mc) {
  for (uint32_t s = 0; s < mc->nst; s++) pc_free(m, mc->st[s].name, mc->st[s].len + 1);
  pc_free(m, mc->st, (size_t)mc->nst * sizeof *mc->st);
  for (uint32_t t = 0; t < mc->ntr; t++) trans_free(m, &mc->tr[t]);
  pc_free(m, mc->tr, (size_t)mc->ntr * sizeof *mc->tr);
  pc_free(m, mc->name, mc->name ? mc->len + 1 : 0);
  pc_free(m, mc->json, mc->json ? mc->jlen + 1 : 0);
  memset(mc, 0, sizeof *mc);
}

static void mset_free(pc_mem *m, lc_mset *s) {
  if (!s) return;
  for (uint32_t i = 0; i < s->nm; i++) mach_free(m, &s->m[i]);
  pc_free(m, s->m, (size_t)s->nm * sizeof *s->m);
  for (uint32_t e = 0; e < s->nev; e++) {
    pc_free(m, s->ev[e].name, s->ev[e].len + 1);
    pc_free(m, s->ev[e].l, (size_t)s->ev[e].nl * sizeof *s->ev[e].l);
  }
  pc_free(m, s->ev, (size_t)s->nev * sizeof *s->ev);
  pc_strmap_free(m, &s->ids);
  pc_strmap_free(m, &s->ev_ids);
  pc_free(m, s, sizeof *s);
}

lc_mset *lc_mset_ref(lc_mset *s) {
  if (s) s->refs++;
  return s;
}

void lc_mset_unref(pc_mem *m, lc_mset *s) {
  if (s && --s->refs == 0) mset_free(m, s);
}

const lc_machine *lc_machine_find(const lc_mset *s, const char *name, size_t len, uint32_t *mid) {
  uint64_t v;
  if (!s || pc_strmap_get(&s->ids, name, len, &v) < 0) return NULL;
  if (mid) *mid = (uint32_t)v;
  return &s->m[v];
}

int lc_state_find(const lc_machine *mc, const char *name, size_t len, uint32_t *sid) {
  for (uint32_t s = 0; s < mc->nst; s++)
    if (mc->st[s].live && mc->st[s].len == len && memcmp(mc->st[s].name, name, len) == 0) {
      *sid = s;
      return POND_OK;
    }
  return POND_NOTFOUND;
}

int32_t lc_event_find(const lc_mset *s, const char *name, size_t len) {
  uint64_t v;
  if (!s || pc_strmap_get(&s->ev_ids, name, len, &v) < 0) return -1;
  return (int32_t)v;
}

/* ------------------------------------------------------------- check */

static const char *const mkeys[] = {"name", "initial", "states", "transitions", "rename_states",
                                    NULL};
static const char *const tkeys[] = {"from", "to", "on", "after", "if", NULL};

static int keys_ok(pond_db *db, const pj_value *obj, const char *path, const char *const *keys) {
  if (obj->type != PJ_OBJECT) return lc_fail(db, obj, POND_EINVAL, path, "expected an object");
  for (size_t i = 0; i < obj->u.obj.n; i++) {
    const pj_member *mb = &obj->u.obj.items[i];
    size_t k = 0;
    while (keys[k] && !(strlen(keys[k]) == mb->klen && memcmp(keys[k], mb->key, mb->klen) == 0)) k++;
    if (keys[k]) continue;
    char kp[256];
    snprintf(kp, sizeof kp, "%s.%.*s", path, shown(mb->klen), mb->key);
    const char *best = NULL;
    size_t bd = 3;
    for (k = 0; keys[k]; k++) {
      size_t d = distance(mb->key, mb->klen, keys[k], strlen(keys[k]));
      if (d < bd) {
        bd = d;
        best = keys[k];
      }
    }
    if (best) return lc_fail(db, &mb->value, POND_EINVAL, kp, "unknown key; did you mean '%s'?", best);
    return lc_fail(db, &mb->value, POND_EINVAL, kp, "unknown key");
  }
  return POND_OK;
}

/* A machine or state name: 1..64 bytes of valid UTF-8, no control
 * characters, no '/' (stage.entered:<machine>/<state> is split there). */
static int name_ok(pond_db *db, const pj_value *v, const char *path, const char *what) {
  if (v->type != PJ_STRING) return lc_fail(db, v, POND_EINVAL, path, "expected a string");
  pc_err e;
  pc_err_clear(&e);
  if (tg_part_check(v->u.str.s, v->u.str.len, what, &e) < 0)
    return lc_fail(db, v, POND_EINVAL, path, "%s", e.msg);
  return POND_OK;
}

/* The index of state name s in the document's states, or -1. */
static int32_t doc_state(const pj_value *states, const char *s, size_t n) {
  for (size_t i = 0; i < states->u.arr.n; i++)
    if (str_is(&states->u.arr.items[i], s, n)) return (int32_t)i;
  return -1;
}

static int unknown_state(pond_db *db, const pj_value *at, const char *path, const lcp_m *pm) {
  const char *best = NULL;
  size_t bl = 0, bd = 99, n = at->u.str.len;
  for (size_t i = 0; i < pm->states->u.arr.n; i++) {
    const pj_value *s = &pm->states->u.arr.items[i];
    size_t d = distance(at->u.str.s, n, s->u.str.s, s->u.str.len);
    size_t lim = (n > s->u.str.len ? n : s->u.str.len) / 2;
    if (d <= (lim ? lim : 1) && d < bd) {
      bd = d;
      best = s->u.str.s;
      bl = s->u.str.len;
    }
  }
  if (best)
    return lc_fail(db, at, POND_EINVAL, path, "unknown state '%.*s'; did you mean '%.*s'?", shown(n),
                at->u.str.s, shown(bl), best);
  return lc_fail(db, at, POND_EINVAL, path, "unknown state '%.*s' (machine '%.*s' has no such state)",
              shown(n), at->u.str.s, shown(pm->len), pm->name);
}

/* A state reference of machine pm at path. */
static int state_ref(pond_db *db, const pj_value *v, const char *path, const lcp_m *pm, uint32_t *out) {
  if (v->type != PJ_STRING) return lc_fail(db, v, POND_EINVAL, path, "expected a state name");
  int32_t i = doc_state(pm->states, v->u.str.s, v->u.str.len);
  if (i < 0) return unknown_state(db, v, path, pm);
  *out = (uint32_t)i;
  return POND_OK;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Validates an event name a transition listens to. The library's own
 * events must name what exists (in this document or before). */
static int event_ok(pond_db *db, lc_plan *p, const pj_value *v, const char *path) {
  if (v->type != PJ_STRING) return lc_fail(db, v, POND_EINVAL, path, "expected an event name");
  const char *s = v->u.str.s;
  size_t n = v->u.str.len;
  pc_err e;
  pc_err_clear(&e);
  if (n == 0 || n > 256) return lc_fail(db, v, POND_EINVAL, path, "an event name has 1 to 256 bytes");
  if (!pc_utf8_valid(s, n, NULL)) return lc_fail(db, v, POND_EINVAL, path, "event name is not valid UTF-8");
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return lc_fail(db, v, POND_EINVAL, path, "control character in event name");
  static const char *const tagp[] = {"tag.added:", "tag.removed:"};
  for (int k = 0; k < 2; k++) {
    size_t pl = strlen(tagp[k]), slash;
    if (n < pl || memcmp(s, tagp[k], pl) != 0) continue;
    if (tg_name_check(s + pl, n - pl, &slash, &e) < 0)
      return lc_fail(db, v, POND_EINVAL, path, "%s", e.msg);
    uint32_t gid;
    if (df_group_find(db->defs, s + pl, slash, &gid) == POND_OK) return POND_OK;
    for (size_t g = 0; p->dp && g < p->dp->ngroups; g++)
      if (p->dp->groups[g].len == slash && memcmp(p->dp->groups[g].name, s + pl, slash) == 0)
        return POND_OK;
    return lc_fail(db, v, POND_EINVAL, path, "tag group '%.*s' is not defined", shown(slash), s + pl);
  }
  const char *sp = "stage.entered:";
  size_t pl = strlen(sp);
  if (n >= pl && memcmp(s, sp, pl) == 0) {
    const char *mn = s + pl, *sl = memchr(mn, '/', n - pl);
    if (!sl)
      return lc_fail(db, v, POND_EINVAL, path, "expected \"stage.entered:<machine>/<state>\"");
    size_t ml = (size_t)(sl - mn), stl = n - pl - ml - 1;
    for (uint32_t i = 0; i < p->nm; i++) {
      const lcp_m *pm = &p->m[i];
      if (pm->len != ml || memcmp(pm->name, mn, ml) != 0) continue;
      if (doc_state(pm->states, sl + 1, stl) < 0)
        return lc_fail(db, v, POND_EINVAL, path, "machine '%.*s' has no state '%.*s'", shown(ml), mn,
                    shown(stl), sl + 1);
      return POND_OK;
    }
    uint32_t sid;
    const lc_machine *mc = lc_machine_find(lc_machines(db), mn, ml, NULL);
    if (!mc) return lc_fail(db, v, POND_EINVAL, path, "unknown machine '%.*s'", shown(ml), mn);
    if (lc_state_find(mc, sl + 1, stl, &sid) < 0)
      return lc_fail(db, v, POND_EINVAL, path, "machine '%.*s' has no state '%.*s'", shown(ml), mn,
                  shown(stl), sl + 1);
    return POND_OK;
  }
  static const char *const later[] = {"segment.entered:", "segment.left:", "keyword:"};
  for (int k = 0; k < 3; k++)
    if (n >= strlen(later[k]) && memcmp(s, later[k], strlen(later[k])) == 0)
      return lc_fail(db, v, POND_EINVAL, path, "'%.*s' events are not supported by this version yet",
                  (int)strlen(later[k]) - 1, later[k]);
  return POND_OK;
}

static int check_trans(pond_db *db, lc_plan *p, lcp_m *pm, const pj_value *it, const char *path,
                       lcp_tr *t) {
  char kp[160];
  POND_TRY(keys_ok(db, it, path, tkeys));
  t->obj = it;
  const pj_value *to = pj_get(it, "to"), *from = pj_get(it, "from"), *on = pj_get(it, "on"),
                 *after = pj_get(it, "after"), *g = pj_get(it, "if");
  if (!to) return lc_fail(db, it, POND_EINVAL, path, "missing \"to\"");
  snprintf(kp, sizeof kp, "%s.to", path);
  POND_TRY(state_ref(db, to, kp, pm, &t->to));
  snprintf(kp, sizeof kp, "%s.from", path);
  if (!from) return lc_fail(db, it, POND_EINVAL, path, "missing \"from\" (a state, a list, or \"*\")");
  if (str_is(from, "*", 1)) {
    t->any = 1;
  } else if (from->type == PJ_STRING) {
    if (!(t->from = pc_alloc(&db->mem, sizeof *t->from))) return POND_ENOMEM;
    t->nfrom = 1;
    POND_TRY(state_ref(db, from, kp, pm, &t->from[0]));
    if (t->from[0] == t->to)
      return lc_fail(db, from, POND_EINVAL, kp, "a transition cannot go from a state to itself");
  } else if (from->type == PJ_ARRAY) {
    size_t n = from->u.arr.n;
    if (n == 0) return lc_fail(db, from, POND_EINVAL, kp, "an empty list of states");
    if (!(t->from = pc_alloc(&db->mem, n * sizeof *t->from))) return POND_ENOMEM;
    t->nfrom = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
      char ip[192];
      snprintf(ip, sizeof ip, "%s[%zu]", kp, i);
      POND_TRY(state_ref(db, &from->u.arr.items[i], ip, pm, &t->from[i]));
      for (size_t j = 0; j < i; j++)
        if (t->from[j] == t->from[i])
          return lc_fail(db, &from->u.arr.items[i], POND_EINVAL, ip, "'%s' is listed twice",
                      from->u.arr.items[i].u.str.s);
      if (t->from[i] == t->to)
        return lc_fail(db, &from->u.arr.items[i], POND_EINVAL, ip,
                    "'%s' is the transition's own \"to\" (a transition changes the state)",
                    from->u.arr.items[i].u.str.s);
    }
    qsort(t->from, n, sizeof *t->from, cmp_u32);
  } else {
    return lc_fail(db, from, POND_EINVAL, kp, "expected a state, a list of states, or \"*\"");
  }
  if (!on == !after)
    return lc_fail(db, it, POND_EINVAL, path, "expected exactly one of \"on\" (an event) and \"after\" (a duration)");
  if (on) {
    snprintf(kp, sizeof kp, "%s.on", path);
    POND_TRY(event_ok(db, p, on, kp));
    t->on = on->u.str.s;
    t->onlen = on->u.str.len;
  } else {
    snprintf(kp, sizeof kp, "%s.after", path);
    if (after->type != PJ_STRING)
      return lc_fail(db, after, POND_EINVAL, kp, "expected a duration string such as \"30d\"");
    if (df_dur_parse(after->u.str.s, after->u.str.len, &t->after) < 0)
      return lc_fail(db, after, POND_EINVAL, kp, "invalid duration '%.*s' (a positive integer and s, m, h, d or w)",
                  shown(after->u.str.len), after->u.str.s);
    if (t->after <= 0) return lc_fail(db, after, POND_EINVAL, kp, "an after-transition needs a duration longer than 0s");
    if (t->after > ((int64_t)1 << 40))
      return lc_fail(db, after, POND_EINVAL, kp, "a duration longer than 2^40 seconds");
  }
  if (g) {
    snprintf(kp, sizeof kp, "%s.if", path);
    if (g->type != PJ_STRING) return lc_fail(db, g, POND_EINVAL, kp, "expected a query expression (a string)");
    if (g->u.str.len > db->lim.query_max_len)
      return lc_fail(db, g, POND_ELIMIT, kp, "the expression has %zu bytes; limits.query_max_len is %zu",
                  g->u.str.len, db->lim.query_max_len);
    t->guard = g;
  }
  return POND_OK;
}

/* Structure, names and states of one machine (its transitions come in a
 * second pass, once every machine's states are known). */
static int check_machine(pond_db *db, lc_plan *p, const pj_value *it, size_t i) {
  char path[64], kp[128];
  snprintf(path, sizeof path, "$.machines[%zu]", i);
  POND_TRY(keys_ok(db, it, path, mkeys));
  lcp_m *pm = &p->m[p->nm];
  memset(pm, 0, sizeof *pm);
  pm->obj = it;
  const pj_value *name = pj_get(it, "name"), *states = pj_get(it, "states"),
                 *init = pj_get(it, "initial");
  if (!name) return lc_fail(db, it, POND_EINVAL, path, "missing \"name\"");
  snprintf(kp, sizeof kp, "%s.name", path);
  POND_TRY(name_ok(db, name, kp, "machine name"));
  for (uint32_t j = 0; j < p->nm; j++)
    if (str_is(name, p->m[j].name, p->m[j].len))
      return lc_fail(db, name, POND_EINVAL, kp, "'%s' appears twice (first at $.machines[%u])", name->u.str.s, j);
  pm->name = name->u.str.s;
  pm->len = name->u.str.len;
  if (!states) return lc_fail(db, it, POND_EINVAL, path, "missing \"states\"");
  snprintf(kp, sizeof kp, "%s.states", path);
  if (states->type != PJ_ARRAY || states->u.arr.n == 0)
    return lc_fail(db, states, POND_EINVAL, kp, "expected a non-empty array of state names");
  if (states->u.arr.n > LC_MAX_STATES)
    return lc_fail(db, states, POND_ELIMIT, kp, "more than %d states", LC_MAX_STATES);
  for (size_t s = 0; s < states->u.arr.n; s++) {
    const pj_value *v = &states->u.arr.items[s];
    char sp[160];
    snprintf(sp, sizeof sp, "%s[%zu]", kp, s);
    POND_TRY(name_ok(db, v, sp, "state name"));
    for (size_t r = 0; r < s; r++)
      if (str_is(&states->u.arr.items[r], v->u.str.s, v->u.str.len))
        return lc_fail(db, v, POND_EINVAL, sp, "'%s' appears twice (first at %s[%zu])", v->u.str.s, kp, r);
  }
  pm->states = states;
  if (!init) return lc_fail(db, it, POND_EINVAL, path, "missing \"initial\"");
  snprintf(kp, sizeof kp, "%s.initial", path);
  POND_TRY(state_ref(db, init, kp, pm, &pm->initial));
  p->nm++;
  return POND_OK;
}

static int check_rename(pond_db *db, lcp_m *pm, const char *path) {
  const pj_value *rn = pj_get(pm->obj, "rename_states");
  if (!rn) return POND_OK;
  char kp[128];
  snprintf(kp, sizeof kp, "%s.rename_states", path);
  if (rn->type != PJ_OBJECT)
    return lc_fail(db, rn, POND_EINVAL, kp, "expected an object {\"old state\": \"new state\"}");
  const lc_machine *old = lc_machine_find(lc_machines(db), pm->name, pm->len, NULL);
  if (!old)
    return lc_fail(db, rn, POND_EINVAL, kp, "machine '%.*s' is new: it has no states to rename", shown(pm->len), pm->name);
  for (size_t i = 0; i < rn->u.obj.n; i++) {
    const pj_member *mb = &rn->u.obj.items[i];
    char ep[256];
    uint32_t sid, to;
    snprintf(ep, sizeof ep, "%s[\"%.*s\"]", kp, shown(mb->klen), mb->key);
    if (lc_state_find(old, mb->key, mb->klen, &sid) < 0)
      return lc_fail(db, &mb->value, POND_EINVAL, ep, "'%.*s' is not a state of machine '%.*s'", shown(mb->klen),
                  mb->key, shown(pm->len), pm->name);
    if (doc_state(pm->states, mb->key, mb->klen) >= 0)
      return lc_fail(db, &mb->value, POND_EINVAL, ep, "'%.*s' is still a state: only removed states are renamed",
                  shown(mb->klen), mb->key);
    POND_TRY(state_ref(db, &mb->value, ep, pm, &to));
  }
  pm->rename = rn;
  return POND_OK;
}

int lc_check(pond_db *db, const pj_value *arr, const struct df_plan *dp, lc_plan **out) {
  pc_mem *m = &db->mem;
  if (arr->type != PJ_ARRAY) return lc_fail(db, arr, POND_EINVAL, "$.machines", "expected an array");
  lc_plan *p = pc_calloc(m, sizeof *p);
  if (!p) return POND_ENOMEM;
  pj_buf_init(&p->diag, m);
  int rc = POND_OK;
  p->dp = dp;
  p->cm = (uint32_t)arr->u.arr.n;
  if (arr->u.arr.n && !(p->m = pc_calloc(m, arr->u.arr.n * sizeof *p->m))) rc = POND_ENOMEM;
  for (size_t i = 0; rc >= 0 && i < arr->u.arr.n; i++) rc = check_machine(db, p, &arr->u.arr.items[i], i);
  for (uint32_t i = 0; rc >= 0 && i < p->nm; i++) {
    lcp_m *pm = &p->m[i];
    char path[64], kp[96];
    snprintf(path, sizeof path, "$.machines[%u]", i);
    const pj_value *tr = pj_get(pm->obj, "transitions");
    if (tr) {
      snprintf(kp, sizeof kp, "%s.transitions", path);
      if (tr->type != PJ_ARRAY) {
        rc = lc_fail(db, tr, POND_EINVAL, kp, "expected an array");
        break;
      }
      if (tr->u.arr.n > LC_MAX_TRANSITIONS) {
        rc = lc_fail(db, tr, POND_ELIMIT, kp, "more than %d transitions", LC_MAX_TRANSITIONS);
        break;
      }
      if (tr->u.arr.n && !(pm->tr = pc_calloc(m, tr->u.arr.n * sizeof *pm->tr))) {
        rc = POND_ENOMEM;
        break;
      }
      pm->ctr = (uint32_t)tr->u.arr.n;
      for (size_t j = 0; rc >= 0 && j < tr->u.arr.n; j++) {
        char tp[128];
        snprintf(tp, sizeof tp, "%s[%zu]", kp, j);
        rc = check_trans(db, p, pm, &tr->u.arr.items[j], tp, &pm->tr[j]);
        pm->ntr = (uint32_t)j + 1;
      }
    }
    if (rc >= 0) rc = check_rename(db, pm, path);
  }
  if (rc < 0) {
    lc_plan_free(m, p);
    return rc;
  }
  *out = p;
  return POND_OK;
}

void lc_plan_free(pc_mem *m, lc_plan *p) {
  if (!p) return;
  for (uint32_t i = 0; i < p->nm; i++) {
    for (uint32_t j = 0; j < p->m[i].ntr; j++)
      pc_free(m, p->m[i].tr[j].from, (size_t)p->m[i].tr[j].nfrom * sizeof(uint32_t));
    pc_free(m, p->m[i].tr, (size_t)p->m[i].ctr * sizeof *p->m[i].tr);
  }
  pc_free(m, p->m, (size_t)p->cm * sizeof *p->m);
  lc_mset_unref(m, p->ns);
  pc_free(m, p->rw, p->crw * sizeof *p->rw);
  pc_free(m, p->rwmid, p->crw * sizeof *p->rwmid);
  pc_free(m, p->rwsid, p->crw * sizeof *p->rwsid);
  pj_buf_free(&p->diag);
  pc_free(m, p->dstr, p->dstr ? p->dlen + 1 : 0);
  pc_free(m, p, sizeof *p);
}
