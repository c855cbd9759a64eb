/*
 * persist.c — what of the lifecycle part the store writes and reads back
 * (lib/store/README.md has the record layout; these are its lifecycle
 * pieces).
 *
 *  - The machines section of the definitions record: per machine slot its
 *    name, and for a live one the home and initial state, every state slot
 *    (name, live) and the canonical JSON of its definition. Slots must come
 *    back as they were: customer records name states by slot.
 *  - Customer entries (CU_MACH keys): `since` relative to added_at, like
 *    every time of the record; checked against the definitions on load.
 *  - Funnel counters: one record per (machine, from, to, day), key
 *    ST_NS_FUNNEL + the 8-byte counter key big-endian, value the count.
 *  - Timers: nothing. They are derived from the records and rebuilt at the
 *    first tick after open (timers.c), so a reopen neither loses nor
 *    repeats one.
 *
 * Loading builds a skeleton machine set from the definitions record (the
 * slots only), against which customer records are checked; once every
 * record is in (tags included), lc_load_finish compiles the stored JSON of
 * the machines into the real set, with the slots of the skeleton as "the
 * machines defined before" — exactly what pond_define does.
 */
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "define/plan.h"
#include "lifecycle/lc.h"
#include "lifecycle/mplan.h"
#include "store/rec.h"

#define MDEF_LIVE 0x1u
#define JSON_MAX ((size_t)16 << 20)

void lc_defs_encode(st_buf *b, const lc_mset *s) {
  uint32_t nm = s ? s->nm : 0;
  st_buf_uv(b, nm);
  for (uint32_t i = 0; i < nm; i++) {
    const lc_machine *mc = &s->m[i];
    st_buf_byte(b, mc->live ? MDEF_LIVE : 0);
    st_buf_uv(b, mc->name ? mc->len : 0);
    st_buf_bytes(b, mc->name, mc->name ? mc->len : 0);
    if (!mc->live) continue;
    st_buf_uv(b, mc->home);
    st_buf_uv(b, mc->initial);
    st_buf_uv(b, mc->nst);
    for (uint32_t k = 0; k < mc->nst; k++) {
      st_buf_byte(b, mc->st[k].live ? MDEF_LIVE : 0);
      st_buf_uv(b, mc->st[k].len);
      st_buf_bytes(b, mc->st[k].name, mc->st[k].len);
    }
    st_buf_uv(b, mc->jlen);
    st_buf_bytes(b, mc->json, mc->jlen);
  }
}

static int name_ok(st_rd *r, const uint8_t *s, size_t n, const char *what) {
  pc_err e;
  pc_err_clear(&e);
  if (tg_part_check((const char *)s, n, what, &e) < 0) return st_rd_fail(r, "%s", e.msg);
  return POND_OK;
}

static int decode_machine(st_rd *r, pc_mem *m, lc_machine *mc, uint32_t i) {
  uint8_t flags;
  const uint8_t *s;
  size_t n;
  char field[48];
  snprintf(field, sizeof field, "machine %u", i);
  POND_TRY(st_rd_byte(r, &flags, field));
  if (flags & ~MDEF_LIVE) return st_rd_fail(r, "%s: unknown flags 0x%02x", field, flags);
  POND_TRY(st_rd_str(r, &s, &n, TG_PART_MAX, field));
  if (n && name_ok(r, s, n, "machine name") < 0) return POND_ECORRUPT;
  if (n && !(mc->name = pc_strndup(m, (const char *)s, n))) return POND_ENOMEM;
  mc->len = (uint32_t)n;
  if (!(flags & MDEF_LIVE)) return POND_OK;
  if (!n) return st_rd_fail(r, "%s: a live machine without a name", field);
  mc->live = 1;
  uint32_t home, initial, nst;
  POND_TRY(st_rd_u32(r, &home, field));
  POND_TRY(st_rd_u32(r, &initial, field));
  POND_TRY(st_rd_u32(r, &nst, field));
  if (nst == 0 || nst > LC_SID_MAX || nst > (size_t)(r->end - r->p) / 2)
    return st_rd_fail(r, "%s: %u state slots", field, nst);
  if (home >= nst || initial >= nst) return st_rd_fail(r, "%s: home or initial state out of range", field);
  if (!(mc->st = pc_calloc(m, (size_t)nst * sizeof *mc->st))) return POND_ENOMEM;
  mc->nst = nst;
  for (uint32_t k = 0; k < nst; k++) {
    POND_TRY(st_rd_byte(r, &flags, field));
    if (flags & ~MDEF_LIVE) return st_rd_fail(r, "%s: state %u: unknown flags", field, k);
    POND_TRY(st_rd_str(r, &s, &n, TG_PART_MAX, field));
    if (name_ok(r, s, n, "state name") < 0) return POND_ECORRUPT;
    if (!(mc->st[k].name = pc_strndup(m, (const char *)s, n))) return POND_ENOMEM;
    mc->st[k].len = (uint32_t)n;
    mc->st[k].live = flags & MDEF_LIVE;
    mc->st[k].entered = mc->st[k].armed = -1;
  }
  if (!mc->st[home].live || !mc->st[initial].live)
    return st_rd_fail(r, "%s: home or initial state is not live", field);
  mc->home = home;
  mc->initial = initial;
  POND_TRY(st_rd_str(r, &s, &n, JSON_MAX, field));
  if (!(mc->json = pc_strndup(m, (const char *)s, n))) return POND_ENOMEM;
  mc->jlen = n;
  return POND_OK;
}

int lc_defs_decode(st_rd *r, pc_mem *m, struct df_defs *d) {
  uint32_t nm;
  POND_TRY(st_rd_u32(r, &nm, "machine count"));
  if (nm == 0) return POND_OK;
  if (nm > LC_MID_MAX + 1 || nm > (size_t)(r->end - r->p) / 2)
    return st_rd_fail(r, "%u machine slots", nm);
  lc_mset *s = pc_calloc(m, sizeof *s);
  if (!s) return POND_ENOMEM;
  s->refs = 1;
  pc_strmap_init(&s->ids);
  pc_strmap_init(&s->ev_ids);
  s->ev_added = s->ev_message = -1;
  d->machines = s; /* freed with d on failure */
  if (!(s->m = pc_calloc(m, (size_t)nm * sizeof *s->m))) return POND_ENOMEM;
  s->nm = nm;
  for (uint32_t i = 0; i < nm; i++) {
    POND_TRY(decode_machine(r, m, &s->m[i], i));
    if (!s->m[i].live) continue;
    uint64_t other;
    if (pc_strmap_get(&s->ids, s->m[i].name, s->m[i].len, &other) == POND_OK)
      return st_rd_fail(r, "machine '%s' appears twice", s->m[i].name);
    POND_TRY(pc_strmap_put(m, &s->ids, s->m[i].name, s->m[i].len, i));
    s->nlive++;
  }
  return POND_OK;
}

int lc_entry_ok(const struct df_defs *d, uint32_t key) {
  const lc_mset *s = d->machines;
  uint32_t mid = lc_key_mid(key), sid = lc_key_sid(key);
  return s && mid < s->nm && s->m[mid].live && sid < s->m[mid].nst && s->m[mid].st[sid].live;
}

/* Compiles the stored machines (the skeleton's JSON) into the real set. */
int lc_load_finish(pond_db *db) {
  const lc_mset *sk = db->defs->machines;
  if (!sk || !sk->nlive) return POND_OK;
  pc_mem *m = &db->mem;
  pj_buf b;
  pj_buf_init(&b, m);
  pj_buf_puts(&b, "{\"machines\":[");
  int first = 1;
  for (uint32_t i = 0; i < sk->nm; i++) {
    if (!sk->m[i].live) continue;
    if (!first) pj_buf_puts(&b, ",");
    first = 0;
    pj_buf_put(&b, sk->m[i].json, sk->m[i].jlen);
  }
  pj_buf_puts(&b, "]}");
  if (b.failed) {
    pj_buf_free(&b);
    return pc_errf(&db->err, POND_ENOMEM, "storage: out of memory loading machines");
  }
  pj_doc *doc = NULL;
  /* the skeleton is "the machines defined before" until the set replaces it */
  lc_mset *keep = lc_mset_ref(db->defs->machines);
  int rc = pj_parse(m, b.p, b.len, NULL, &doc, &db->err);
  lc_plan *p = NULL;
  if (rc >= 0) rc = lc_check(db, pj_get(pj_root(doc), "machines"), NULL, &p);
  if (rc >= 0) rc = lc_apply_prepare(db, &p, db->defs, NULL);
  if (rc >= 0) {
    lc_apply_commit(db, p);
  } else if (rc != POND_ENOMEM) {
    char msg[PC_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", db->err.msg);
    rc = pc_errf(&db->err, POND_ECORRUPT, "storage: the stored machines do not compile: %s", msg);
  }
  lc_plan_free(m, p);
  lc_mset_unref(m, keep);
  pj_free(doc);
  pj_buf_free(&b);
  return rc;
}

/* -------------------------------------------------------------- funnel */

int lc_funnel_load(pond_db *db, uint64_t key, uint64_t count, pc_err *e) {
  lc_rt *rt;
  POND_TRY(lc_rt_need(db, &rt));
  const lc_mset *s = db->defs->machines;
  uint32_t mid = (uint32_t)(key >> 51), from = (uint32_t)(key >> 36) & LC_SID_MAX,
           to = (uint32_t)(key >> 21) & LC_SID_MAX;
  if (!s || mid >= s->nm || !s->m[mid].name || count == 0 ||
      (from != LC_SID_MAX && from >= s->m[mid].nst) || to >= s->m[mid].nst)
    return pc_errf(e, POND_ECORRUPT, "storage: funnel counter %016llx names no machine state",
                   (unsigned long long)key);
  if (pc_map64_put(&db->mem, &rt->funnel, key, count) < 0)
    return pc_errf(e, POND_ENOMEM, "storage: out of memory loading funnel counters");
  return POND_OK;
}

size_t lc_funnel_changed(const pond_db *db, uint64_t *keys, size_t cap) {
  const lc_rt *rt = db->lc;
  size_t n = 0;
  for (size_t i = 0; rt && i < rt->nlog; i++)
    if (rt->log[i].kind == LC_U_FUNNEL) {
      if (n < cap) keys[n] = rt->log[i].a;
      n++;
    }
  return n;
}

uint64_t lc_funnel_count(const pond_db *db, uint64_t key) {
  uint64_t v = 0;
  if (db->lc) pc_map64_get(&db->lc->funnel, key, &v);
  return v;
}
