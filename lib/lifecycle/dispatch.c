/*
 * dispatch.c — the lifecycle runtime: a customer's machine states,
 * dispatching events to machines, pond_stage and pond_transition.
 *
 * A dispatch works on a copy of the customer's record (rt->scratch), so
 * guards see every change made so far — the event's own effects, then
 * each machine's transition in definition order, then the raised events —
 * while nothing visible has changed. Once the cascade is done, everything
 * the publication needs is reserved (record room, funnel slots, timer
 * slots, undo images); the publication itself cannot fail. So a failing
 * dispatch changes nothing, and a succeeding one needs no savepoint.
 *
 * Cascades: the triggering event is generation 0; each transition raises
 * stage.entered:<m>/<s> (when some transition listens to it) as an event
 * of the next generation, queued FIFO and offered to every machine after
 * the event before it. Generations beyond LC_MAX_GEN are not offered, and
 * one dispatch fires at most LC_MAX_STEPS transitions (bounded work).
 *
 * Cost: an event no machine listens to costs the activity and one hash
 * lookup; otherwise O(record) for the copy plus the guards evaluated.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "lifecycle/lc.h"
#include "query/qydb.h"

const lc_mset *lc_machines(const pond_db *db) {
  const lc_mset *s = db->defs ? db->defs->machines : NULL;
  return s && s->nlive ? s : NULL;
}

int lc_rt_need(pond_db *db, lc_rt **out) {
  *out = NULL;
  if (!db->lc) {
    lc_rt *rt = pc_calloc(&db->mem, sizeof *rt);
    if (!rt) return pc_errf(&db->err, POND_ENOMEM, "lifecycle: out of memory");
    pc_map64_init(&rt->funnel);
    rt->tq.rebuild = 1;
    db->lc = rt;
  }
  *out = db->lc;
  return POND_OK;
}

void lc_close(pond_db *db) {
  lc_rt *rt = db->lc;
  if (!rt) return;
  pc_mem *m = &db->mem;
  cu_free(m, rt->scratch);
  pc_free(m, rt->steps, rt->steps ? LC_MAX_STEPS * sizeof *rt->steps : 0);
  pc_free(m, rt->evq, rt->evq ? (LC_MAX_STEPS + 1) * 2 * sizeof *rt->evq : 0);
  lc_tq_free(m, &rt->tq);
  pc_map64_free(m, &rt->funnel);
  pc_free(m, rt->log, rt->clog * sizeof *rt->log);
  pc_free(m, rt->diag, rt->diag ? rt->dlen + 1 : 0);
  pc_free(m, rt, sizeof *rt);
  db->lc = NULL;
}

void lc_state_of(const lc_machine *mc, uint32_t mid, const cu_rec *r, uint32_t *sid,
                 int64_t *since, int *spent) {
  uint32_t pos;
  if (lc_find(r, mid, &pos)) {
    uint32_t k = cu_ckeys(r)[pos];
    *sid = lc_key_sid(k);
    *since = cu_cvals(r)[pos];
    *spent = lc_key_spent(k);
  } else {
    *sid = mc->home;
    *since = r->added_at;
    *spent = 0;
  }
}

int lc_due(const lc_machine *mc, uint32_t mid, const cu_rec *r, int64_t *due) {
  uint32_t sid;
  int64_t since;
  int spent;
  lc_state_of(mc, mid, r, &sid, &since, &spent);
  if (spent || sid >= mc->nst || mc->st[sid].armed < 0) return 0;
  int64_t base = r->last_seen != CU_UNSET && r->last_seen > since ? r->last_seen : since;
  int64_t d = mc->tr[mc->st[sid].armed].after;
  *due = base > INT64_MAX - d ? INT64_MAX : base + d;
  return 1;
}

/* ------------------------------------------------------------ the run */

/* Starts a dispatch for cid on a copy of r (NULL: a customer about to be
 * created at ts), with room for every machine entry. */
static int run_begin(pond_db *db, lc_rt *rt, const lc_mset *ms, uint64_t cid, const cu_rec *r,
                     int64_t ts, uint32_t extra) {
  pc_mem *m = &db->mem;
  if (!rt->steps) {
    rt->steps = pc_alloc(m, LC_MAX_STEPS * sizeof *rt->steps);
    if (!rt->steps) return POND_ENOMEM;
  }
  if (!rt->evq) {
    rt->evq = pc_alloc(m, (LC_MAX_STEPS + 1) * 2 * sizeof *rt->evq);
    if (!rt->evq) return POND_ENOMEM;
  }
  uint32_t n = r ? r->n : 0, need = n + ms->nlive + extra;
  if (!rt->scratch || rt->scratch->cap < need) {
    uint32_t cap = need < 16 ? 16 : need + need / 2;
    cu_rec *s = pc_alloc(m, cu_size(cap));
    if (!s) return POND_ENOMEM;
    cu_free(m, rt->scratch);
    s->cap = cap;
    rt->scratch = s;
  }
  cu_rec *s = rt->scratch;
  if (r) {
    s->added_at = r->added_at;
    s->last_seen = r->last_seen;
    s->n = n;
    memcpy(cu_vals(s), cu_cvals(r), n * sizeof(int64_t));
    memcpy(cu_keys(s), cu_ckeys(r), n * sizeof(uint32_t));
  } else {
    s->added_at = ts;
    s->last_seen = CU_UNSET;
    s->n = 0;
  }
  rt->cid = cid;
  rt->ts = ts;
  rt->nsteps = 0;
  rt->qh = rt->qt = 0;
  rt->nchg = 0;
  rt->all_timers = 0;
  return POND_OK;
}

static void mark(lc_rt *rt, uint32_t mid) {
  for (uint32_t i = 0; i < rt->nchg; i++)
    if (rt->chg[i] == mid) return;
  rt->chg[rt->nchg++] = mid; /* at most one per live machine */
}

/* Sets machine mid's entry in record r (room for it exists). */
static void rec_set(cu_rec *r, uint32_t mid, uint32_t sid, int64_t since, int spent) {
  uint32_t pos;
  if (lc_find(r, mid, &pos)) {
    cu_keys(r)[pos] = lc_key(mid, sid, spent);
    cu_vals(r)[pos] = since;
  } else {
    cu_insert_at(r, pos, lc_key(mid, sid, spent), since);
  }
}

static void enqueue(lc_rt *rt, int32_t eid, uint32_t gen) {
  if (eid < 0 || gen > LC_MAX_GEN || rt->qt >= LC_MAX_STEPS + 1) return;
  rt->evq[2 * rt->qt] = (uint32_t)eid;
  rt->evq[2 * rt->qt + 1] = gen;
  rt->qt++;
}

/* Machine mid moves from `from` to `to` at since; raises stage.entered of
 * generation gen. */
static void fire(lc_rt *rt, const lc_mset *ms, uint32_t mid, uint32_t from, uint32_t to,
                 int64_t since, uint32_t gen) {
  rec_set(rt->scratch, mid, to, since, 0);
  mark(rt, mid);
  rt->steps[rt->nsteps++] = (lc_step){mid, from, to};
  enqueue(rt, ms->m[mid].st[to].entered, gen);
}

static int from_matches(const lc_trans *t, uint32_t sid) {
  if (sid == t->to) return 0;
  if (t->any) return 1;
  uint32_t lo = 0, hi = t->nfrom;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (t->from[mid] < sid) lo = mid + 1;
    else hi = mid;
  }
  return lo < t->nfrom && t->from[lo] == sid;
}

/* 1 if t's guard holds for the scratch record at ts (no guard: 1). */
static int guard_holds(pond_db *db, lc_rt *rt, const lc_trans *t, int64_t ts) {
  if (!t->guard) return 1;
  qy_dbrow ctx = {db, rt->scratch};
  qy_row row;
  qy_db_row(&ctx, rt->cid, &row);
  return qy_test(t->guard, &row, ts);
}

/* Offers the queued events, FIFO, to every machine. */
static int run_events(pond_db *db, lc_rt *rt, const lc_mset *ms) {
  while (rt->qh < rt->qt) {
    uint32_t eid = rt->evq[2 * rt->qh], gen = rt->evq[2 * rt->qh + 1];
    rt->qh++;
    const lc_evt *e = &ms->ev[eid];
    for (uint32_t i = 0; i < e->nl;) {
      uint32_t mid = e->l[i].mid, j = i;
      while (j < e->nl && e->l[j].mid == mid) j++;
      const lc_machine *mc = &ms->m[mid];
      uint32_t sid;
      int64_t since;
      int spent;
      lc_state_of(mc, mid, rt->scratch, &sid, &since, &spent);
      for (uint32_t k = i; k < j && rt->nsteps < LC_MAX_STEPS; k++) {
        const lc_trans *t = &mc->tr[e->l[k].tr];
        if (!from_matches(t, sid)) continue;
        int g = guard_holds(db, rt, t, rt->ts);
        if (g < 0) return pc_errf(&db->err, g, "lifecycle: evaluating a guard of machine '%s' failed", mc->name);
        if (!g) continue;
        fire(rt, ms, mid, sid, t->to, rt->ts, gen + 1);
        break;
      }
      i = j;
    }
  }
  return POND_OK;
}

/* Entries the scratch has and record r lacks (room to publish into r). */
static uint32_t inserts_for(const lc_rt *rt, const cu_rec *r) {
  uint32_t k = 0, pos;
  for (uint32_t i = 0; i < rt->nchg; i++) k += !r || !lc_find(r, rt->chg[i], &pos);
  return k;
}

static int tq_live(const pond_db *db, const lc_rt *rt) {
  return rt->tq.built && !rt->tq.rebuild && rt->tq.gen == db->defs_gen;
}

/* The timers a publication arms: machine ids in out (their dues from the
 * scratch record). */
static uint32_t arming(const pond_db *db, const lc_rt *rt, const lc_mset *ms, uint32_t *out,
                       int64_t *dues) {
  uint32_t k = 0;
  if (!tq_live(db, rt) || !ms->has_after) return 0;
  if (rt->all_timers) {
    for (uint32_t mid = 0; mid < ms->nm; mid++)
      if (ms->m[mid].live && lc_due(&ms->m[mid], mid, rt->scratch, &dues[k])) out[k++] = mid;
    return k;
  }
  for (uint32_t i = 0; i < rt->nchg; i++) {
    uint32_t mid = rt->chg[i];
    if (lc_due(&ms->m[mid], mid, rt->scratch, &dues[k])) out[k++] = mid;
  }
  return k;
}

static int log_room(pond_db *db, lc_rt *rt, size_t k) {
  if (rt->clog - rt->nlog >= k) return POND_OK;
  size_t nc = rt->clog ? rt->clog : 64;
  while (nc - rt->nlog < k) nc *= 2;
  lc_undo *l = pc_realloc(&db->mem, rt->log, rt->clog * sizeof *l, nc * sizeof *l);
  if (!l) return POND_ENOMEM;
  rt->log = l;
  rt->clog = nc;
  return POND_OK;
}

/* Everything the publication into cid's record needs, except room in the
 * record itself (the caller's: inserts_for). */
static int run_reserve(pond_db *db, lc_rt *rt, const lc_mset *ms) {
  pc_mem *m = &db->mem;
  if (!rt->nchg && !rt->nsteps && !rt->all_timers) return POND_OK;
  if (rt->nsteps) POND_TRY(pc_map64_reserve(m, &rt->funnel, rt->nsteps));
  uint32_t mids[LC_MAX_LIVE_MACHINES];
  int64_t dues[LC_MAX_LIVE_MACHINES];
  uint32_t k = arming(db, rt, ms, mids, dues);
  for (uint32_t i = 0; i < k; i++) POND_TRY(lc_tq_reserve(m, &rt->tq, dues[i], k));
  if (db_logging(db)) {
    POND_TRY(db_touch_lc(db, DB_NEED_CALL));
    POND_TRY(log_room(db, rt, rt->nsteps + (db->tx.call ? rt->nchg : 0)));
  }
  return POND_OK;
}

/* Publishes the scratch's changes into r (room reserved). Never fails. */
static void run_commit(pond_db *db, lc_rt *rt, const lc_mset *ms, cu_rec *r) {
  int logging = db_logging(db), call = db->tx.call;
  const cu_rec *s = rt->scratch;
  for (uint32_t i = 0; i < rt->nchg; i++) {
    uint32_t mid = rt->chg[i], pos, spos;
    if (!lc_find(s, mid, &spos)) continue;
    if (logging && call) {
      lc_undo *u = &rt->log[rt->nlog++];
      memset(u, 0, sizeof *u);
      u->kind = LC_U_REC;
      u->a = rt->cid;
      u->mid = (uint16_t)mid;
      if (lc_find(r, mid, &pos)) {
        u->key = cu_keys(r)[pos];
        u->b = cu_vals(r)[pos];
      }
    }
    uint32_t k = cu_ckeys(s)[spos];
    rec_set(r, mid, lc_key_sid(k), cu_cvals(s)[spos], lc_key_spent(k));
  }
  int64_t day = lc_day(rt->ts);
  for (uint32_t i = 0; i < rt->nsteps; i++) {
    const lc_step *st = &rt->steps[i];
    uint64_t key = lc_funnel_key(st->mid, st->from, st->to, day);
    uint64_t *v = pc_map64_ref(&rt->funnel, key);
    if (v) (*v)++;
    else pc_map64_put(&db->mem, &rt->funnel, key, 1); /* reserved */
    if (logging) {
      /* increments of one counter in a row (a tick firing many timers of
       * one day) share an entry: funnel undo is commutative */
      lc_undo *u = NULL;
      for (size_t j = rt->nlog; j > 0 && j + 4 > rt->nlog && !u; j--)
        if (rt->log[j - 1].kind == LC_U_FUNNEL && rt->log[j - 1].a == key) u = &rt->log[j - 1];
      if (u) {
        u->b++;
      } else {
        u = &rt->log[rt->nlog++];
        memset(u, 0, sizeof *u);
        u->kind = LC_U_FUNNEL;
        u->a = key;
        u->b = 1;
      }
    }
  }
  uint32_t mids[LC_MAX_LIVE_MACHINES];
  int64_t dues[LC_MAX_LIVE_MACHINES];
  uint32_t k = arming(db, rt, ms, mids, dues);
  for (uint32_t i = 0; i < k; i++) lc_tq_push(&rt->tq, dues[i], rt->cid, mids[i]);
  if (rt->nchg) db_cust_changed(db, rt->cid);
}

/* ------------------------------------------------------ creation, events */

int lc_customer_create(pond_db *db, uint64_t cid, int64_t ts, cu_rec **out) {
  const lc_mset *ms = lc_machines(db);
  lc_rt *rt;
  POND_TRY(lc_rt_need(db, &rt));
  POND_TRY(run_begin(db, rt, ms, cid, NULL, ts, 0));
  for (uint32_t mid = 0; mid < ms->nm; mid++) {
    const lc_machine *mc = &ms->m[mid];
    if (!mc->live) continue;
    /* arriving in the initial state counts in the funnel; an entry is
     * needed only when that is not the home state */
    if (mc->initial != mc->home) {
      rec_set(rt->scratch, mid, mc->initial, ts, 0);
      mark(rt, mid);
    }
    rt->steps[rt->nsteps++] = (lc_step){mid, LC_SID_MAX, mc->initial};
  }
  rt->all_timers = 1;
  enqueue(rt, ms->ev_added, 0);
  POND_TRY(run_events(db, rt, ms));
  POND_TRY(run_reserve(db, rt, ms));
  cu_rec *r;
  POND_TRY(db_cust_create_room(db, cid, ts, inserts_for(rt, NULL), &r));
  run_commit(db, rt, ms, r);
  *out = r;
  return POND_OK;
}

int lc_event(pond_db *db, uint64_t cid, uint32_t counter, const char *name, size_t n, int64_t ts) {
  const lc_mset *ms = lc_machines(db);
  if (ts == INT64_MIN)
    return pc_errf(&db->err, POND_EINVAL, "timestamp %" PRId64 " is out of range", ts);
  cu_rec *r = db_cust(db, cid);
  if (!r) {
    if (!(db->flags & POND_AUTOCREATE)) return db_no_cust(db, cid);
    /* two steps: a customer created here goes again if the event fails */
    db_call_begin(db);
    int rc = db_touch_cust(db, cid, DB_NEED_CALL);
    if (rc >= 0) rc = db_touch_all(db, DB_NEED_CALL);
    if (rc >= 0) rc = lc_customer_create(db, cid, ts, &r);
    if (rc >= 0) rc = lc_event(db, cid, counter, name, n, ts);
    return db_call_end(db, rc);
  }
  int32_t eid = name ? lc_event_find(ms, name, n) : ms->ev_message;
  if (eid < 0) {
    /* no machine listens: the activity alone, unless it re-arms a timer
     * (machine entries are the record's last ones) */
    const uint32_t *k = cu_ckeys(r);
    uint32_t i = r->n;
    while (i && cu_is_mach(k[i - 1]) && !lc_key_spent(k[i - 1])) i--;
    if (!i || !cu_is_mach(k[i - 1])) {
      uint32_t pos, extra = counter != UINT32_MAX && !cu_find(r, cu_ctr_count_key(counter), &pos) ? 2 : 0;
      POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
      if (r->cap - r->n < extra) POND_TRY(db_cust_reserve(db, cid, extra, &r));
      db_activity_apply(r, counter, ts);
      db_cust_changed(db, cid);
      return POND_OK;
    }
  }
  lc_rt *rt;
  POND_TRY(lc_rt_need(db, &rt));
  POND_TRY(run_begin(db, rt, ms, cid, r, ts, 2));
  cu_rec *s = rt->scratch;
  db_activity_apply(s, counter, ts);
  /* activity re-arms timers whose guard failed at their due time */
  const uint32_t *k = cu_ckeys(s);
  for (uint32_t i = 0; i < s->n; i++)
    if (cu_is_mach(k[i]) && lc_key_spent(k[i])) {
      cu_keys(s)[i] &= ~LC_SPENT;
      mark(rt, lc_key_mid(k[i]));
    }
  enqueue(rt, eid, 0);
  POND_TRY(run_events(db, rt, ms));
  POND_TRY(run_reserve(db, rt, ms));
  POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  uint32_t pos, extra = inserts_for(rt, r);
  if (counter != UINT32_MAX && !cu_find(r, cu_ctr_count_key(counter), &pos)) extra += 2;
  if (r->cap - r->n < extra) POND_TRY(db_cust_reserve(db, cid, extra, &r));
  db_activity_apply(r, counter, ts);
  run_commit(db, rt, ms, r);
  db_cust_changed(db, cid);
  return POND_OK;
}

/* ---------------------------------------------------------- public API */

static int need_machine(pond_db *db, const char *machine, const lc_machine **mc, uint32_t *mid) {
  if (!machine) return pc_errf(&db->err, POND_EINVAL, "machine is NULL");
  const lc_mset *ms = lc_machines(db);
  *mc = lc_machine_find(ms, machine, strlen(machine), mid);
  if (!*mc) return pc_errf(&db->err, POND_NOTFOUND, "machine '%.100s' is not defined", machine);
  return POND_OK;
}

int pond_stage(pond_db *db, uint64_t cid, const char *machine, const char **state, int64_t *since) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  const lc_machine *mc;
  uint32_t mid, sid;
  int64_t t;
  int spent;
  int rc = need_machine(db, machine, &mc, &mid);
  const cu_rec *r = rc >= 0 ? db_cust(db, cid) : NULL;
  if (rc >= 0 && !r) rc = db_no_cust(db, cid);
  if (rc >= 0) {
    lc_state_of(mc, mid, r, &sid, &t, &spent);
    if (state) *state = mc->st[sid].name;
    if (since) *since = t;
  }
  return db_unlock(db, rc);
}

static int transition(pond_db *db, uint64_t cid, const char *machine, const char *state, int64_t ts,
                      unsigned flags) {
  const lc_machine *mc;
  uint32_t mid, sid, cur;
  int64_t since;
  int spent;
  if (flags & ~POND_FORCE) return pc_errf(&db->err, POND_EINVAL, "transition: unknown flags");
  if (ts == INT64_MIN)
    return pc_errf(&db->err, POND_EINVAL, "timestamp %" PRId64 " is out of range", ts);
  POND_TRY(need_machine(db, machine, &mc, &mid));
  if (!state) return pc_errf(&db->err, POND_EINVAL, "transition: state is NULL");
  if (lc_state_find(mc, state, strlen(state), &sid) < 0)
    return pc_errf(&db->err, POND_NOTFOUND, "machine '%s' has no state '%.100s'", mc->name, state);
  cu_rec *r = db_cust(db, cid);
  if (!r) return db_no_cust(db, cid);
  lc_state_of(mc, mid, r, &cur, &since, &spent);
  if (cur == sid) return POND_OK; /* already there: nothing changes, nothing is raised */
  int allowed = 0;
  for (uint32_t t = 0; t < mc->ntr && !allowed; t++) allowed = mc->tr[t].to == sid && from_matches(&mc->tr[t], cur);
  if (!allowed && !(flags & POND_FORCE))
    return pc_errf(&db->err, POND_ECONFLICT,
                   "machine '%s': no transition goes from '%s' to '%s' (POND_FORCE forces it)",
                   mc->name, mc->st[cur].name, mc->st[sid].name);
  const lc_mset *ms = lc_machines(db);
  lc_rt *rt;
  POND_TRY(lc_rt_need(db, &rt));
  POND_TRY(run_begin(db, rt, ms, cid, r, ts, 0));
  fire(rt, ms, mid, cur, sid, ts, 1);
  POND_TRY(run_events(db, rt, ms));
  POND_TRY(run_reserve(db, rt, ms));
  POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  uint32_t extra = inserts_for(rt, r);
  if (r->cap - r->n < extra) POND_TRY(db_cust_reserve(db, cid, extra, &r));
  run_commit(db, rt, ms, r);
  return POND_OK;
}

int pond_transition_ex(pond_db *db, uint64_t cid, const char *machine, const char *state, int64_t ts,
                       unsigned flags) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, transition(db, cid, machine, state, ts, flags));
}

int pond_transition(pond_db *db, uint64_t cid, const char *machine, const char *state, int64_t ts) {
  return pond_transition_ex(db, cid, machine, state, ts, 0);
}

const char *pond_define_diagnostics(pond_db *db) {
  if (!db) return "";
  db_lock(db);
  const char *d = db->lc && db->lc->diag ? db->lc->diag : "";
  db_unlock(db, POND_OK);
  return d;
}

/* ------------------------------------------------------------------ undo */

int lc_undo_len(const pond_db *db) { return db->lc ? (int)db->lc->nlog : 0; }

void lc_undo_to(pond_db *db, uint64_t n) {
  lc_rt *rt = db->lc;
  if (!rt) return;
  while (rt->nlog > n) {
    lc_undo *u = &rt->log[--rt->nlog];
    if (u->kind == LC_U_FUNNEL) {
      uint64_t *v = pc_map64_ref(&rt->funnel, u->a);
      if (v && (*v -= (uint64_t)u->b) == 0) pc_map64_del(&rt->funnel, u->a);
      continue;
    }
    cu_rec *r = db_cust(db, u->a);
    uint32_t pos;
    if (!r) continue;
    if (lc_find(r, u->mid, &pos)) {
      if (u->key) {
        cu_keys(r)[pos] = u->key;
        cu_vals(r)[pos] = u->b;
      } else {
        cu_erase_at(r, pos);
      }
    } else if (u->key) {
      /* cannot happen (entries are never removed by a dispatch); the
       * record's image restores it */
    }
    db_cust_changed(db, u->a);
  }
  /* timers consumed or armed by what was undone: derive them again */
  rt->tq.rebuild = 1;
}

void lc_undo_release(pond_db *db, uint64_t n) {
  lc_rt *rt = db->lc;
  if (!rt) return;
  /* a transaction still open keeps everything it may roll back */
  if (db->tx.open && (db->tx.touch_lc & DB_TX_TXN)) return;
  if (rt->nlog > n) rt->nlog = n;
}

/* ---------------------------------------------------------------- timers */

/* Publishes the run into cid's live record r: image, room, commit. */
static int run_publish(pond_db *db, lc_rt *rt, const lc_mset *ms, uint64_t cid, cu_rec *r) {
  POND_TRY(run_reserve(db, rt, ms));
  POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  uint32_t extra = inserts_for(rt, r);
  if (r->cap - r->n < extra) POND_TRY(db_cust_reserve(db, cid, extra, &r));
  run_commit(db, rt, ms, r);
  return POND_OK;
}

/* A machine timer came due (pond_tick). 1: it fired (or its guard failed
 * and it is spent), 0: stale, <0: error. */
int lc_fire_machine(pond_db *db, lc_rt *rt, uint64_t cid, uint32_t mid, int64_t due) {
  const lc_mset *ms = lc_machines(db);
  if (!ms || mid >= ms->nm || !ms->m[mid].live) return 0;
  const lc_machine *mc = &ms->m[mid];
  cu_rec *r = db_cust(db, cid);
  int64_t d;
  if (!r || !lc_due(mc, mid, r, &d) || d < due) return 0;
  if (d > due) {
    /* activity moved it: due again later */
    POND_TRY(lc_tq_reserve(&db->mem, &rt->tq, d, 1));
    lc_tq_push(&rt->tq, d, cid, mid);
    return 0;
  }
  uint32_t sid;
  int64_t since;
  int spent;
  lc_state_of(mc, mid, r, &sid, &since, &spent);
  const lc_trans *t = &mc->tr[mc->st[sid].armed];
  POND_TRY(run_begin(db, rt, ms, cid, r, due, 0));
  int g = guard_holds(db, rt, t, due);
  if (g < 0) return pc_errf(&db->err, g, "lifecycle: evaluating a guard of machine '%s' failed", mc->name);
  if (g) {
    fire(rt, ms, mid, sid, t->to, due, 1);
    POND_TRY(run_events(db, rt, ms));
  } else {
    rec_set(rt->scratch, mid, sid, since, 1);
    mark(rt, mid);
  }
  POND_TRY(run_publish(db, rt, ms, cid, r));
  return 1;
}

/* A ttl came due: the tag leaves the customer and tag.removed:<tag> is
 * raised at the due time. */
int lc_fire_ttl(pond_db *db, lc_rt *rt, uint64_t cid, uint32_t tag, int64_t due) {
  tg_tag *t = tg_get(&db->tags, tag);
  cu_rec *r = db_cust(db, cid);
  uint32_t pos;
  if (!t || !r || !cu_find(r, tag, &pos)) return 0;
  int64_t ttl = db->defs->groups[t->group].ttl, at = cu_cvals(r)[pos];
  if (ttl <= 0) return 0;
  int64_t d = at > INT64_MAX - ttl ? INT64_MAX : at + ttl;
  if (d < due) return 0;
  if (d > due) {
    POND_TRY(lc_tq_reserve(&db->mem, &rt->tq, d, 1));
    lc_tq_push(&rt->tq, d, cid, LC_TK_TAG | tag);
    return 0;
  }
  const lc_mset *ms = lc_machines(db);
  int32_t eid = -1;
  if (ms && ms->tag_events) {
    char buf[16 + 2 * TG_PART_MAX];
    int n = snprintf(buf, sizeof buf, "tag.removed:%s", t->name);
    eid = lc_event_find(ms, buf, (size_t)n);
  }
  /* the tick's call savepoint undoes the removal if a later step fails */
  POND_TRY(db_touch_cust(db, cid, DB_NEED_CALL));
  POND_TRY(db_touch_tagbm(db, tag, DB_NEED_CALL));
  if (eid >= 0) {
    /* decide the dispatch on the record without the tag */
    POND_TRY(run_begin(db, rt, ms, cid, r, due, 0));
    cu_erase_at(rt->scratch, pos);
    enqueue(rt, eid, 0);
    POND_TRY(run_events(db, rt, ms));
    POND_TRY(run_reserve(db, rt, ms));
    uint32_t extra = inserts_for(rt, r);
    if (r->cap - r->n < extra) POND_TRY(db_cust_reserve(db, cid, extra, &r));
  }
  POND_TRY(bm_remove(&db->mem, &t->members, cid));
  tg_unlink(db, cid, r, tag);
  if (eid >= 0) run_commit(db, rt, ms, r);
  return 1;
}

/* ------------------------------------------------------------ tag events */

int lc_tag_prepare(pond_db *db, uint64_t cid, uint32_t tag, int added, int64_t ts) {
  const lc_mset *ms = lc_machines(db);
  if (!ms || !ms->tag_events) return 0;
  cu_rec *r = db_cust(db, cid);
  const tg_tag *t = tg_get(&db->tags, tag);
  if (!r || !t) return 0; /* the tag call fails (or autocreates) by itself */
  uint32_t pos, spos = 0;
  int has = cu_find(r, tag, &pos);
  if (added == has) return 0; /* raised only on change */
  uint32_t sib = 0;
  if (added && db->defs->groups[t->group].exclusive) sib = tg_sibling(db, r, t->group, tag);
  char buf[16 + 2 * TG_PART_MAX];
  int32_t esib = -1, etag;
  if (sib) {
    int n = snprintf(buf, sizeof buf, "tag.removed:%s", db->tags.v[sib].name);
    esib = lc_event_find(ms, buf, (size_t)n);
  }
  int n = snprintf(buf, sizeof buf, "%s%s", added ? "tag.added:" : "tag.removed:", t->name);
  etag = lc_event_find(ms, buf, (size_t)n);
  if (esib < 0 && etag < 0) return 0;
  lc_rt *rt;
  POND_TRY(lc_rt_need(db, &rt));
  POND_TRY(run_begin(db, rt, ms, cid, r, ts, 1));
  /* the record as the tag call will leave it */
  cu_rec *s = rt->scratch;
  if (sib && cu_find(s, sib, &spos)) cu_erase_at(s, spos);
  if (added) {
    cu_find(s, tag, &pos);
    cu_insert_at(s, pos, tag, ts);
  } else {
    cu_erase_at(s, pos);
  }
  enqueue(rt, esib, 0);
  enqueue(rt, etag, 0);
  POND_TRY(run_events(db, rt, ms));
  if (!rt->nchg) return 0;
  POND_TRY(run_reserve(db, rt, ms));
  POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  uint32_t extra = inserts_for(rt, r) + 1;
  if (r->cap - r->n < extra) POND_TRY(db_cust_reserve(db, cid, extra, &r));
  return 1;
}

void lc_tag_commit(pond_db *db, uint64_t cid) {
  cu_rec *r = db_cust(db, cid);
  if (r) run_commit(db, db->lc, lc_machines(db), r);
}
