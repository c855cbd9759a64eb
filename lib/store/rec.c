/*
 * rec.c — encoders and strict decoders of pond's durable records (rec.h;
 * the layout is specified in lib/store/README.md).
 *
 * Every decoder consumes its value exactly, accepts only the canonical
 * encoding and checks every field against what the library itself could
 * have written: names by the rules of pond_define and tag names, a
 * customer's entries against the live tags and attributes and their types,
 * one tag per exclusive group. Failures are POND_ECORRUPT with a message
 * naming the record and the field; allocation failures POND_ENOMEM.
 */
#include "store/rec.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/utf8.h"
#include "db/db.h"
#include "define/defs.h"
#include "json/json.h"
#include "lifecycle/lc.h"
#include "tags/tags.h"

/* ---------------------------------------------------------- buffer */

int st_buf_grow(st_buf *b, size_t more) {
  if (b->failed) return POND_ENOMEM;
  if (more > (size_t)-1 / 2 - b->len) {
    b->failed = 1;
    return POND_ENOMEM;
  }
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < more) cap *= 2;
  uint8_t *p = pc_realloc(b->m, b->p, b->cap, cap);
  if (!p) {
    b->failed = 1;
    return POND_ENOMEM;
  }
  b->p = p;
  b->cap = cap;
  return POND_OK;
}

/* ---------------------------------------------------------- reader */

int st_rd_fail(st_rd *r, const char *fmt, ...) {
  char tail[PC_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tail, sizeof tail, fmt, ap);
  va_end(ap);
  char id[32] = "", item[48] = "";
  if (r->has_id) snprintf(id, sizeof id, " %llu", (unsigned long long)r->id);
  if (r->item_kind) snprintf(item, sizeof item, "%s %ld: ", r->item_kind, r->item);
  return pc_errf(r->e, POND_ECORRUPT, "storage: %s%s: %s%s", r->what, id, item, tail);
}

int st_rd_uv_slow(st_rd *r, uint64_t *v, const char *field) {
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end) return st_rd_fail(r, "%s: truncated", field);
    uint8_t c = *r->p++;
    if (shift == 63 && c > 1) return st_rd_fail(r, "%s: varint overflows 64 bits", field);
    x |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      if (!c && shift) return st_rd_fail(r, "%s: varint not minimal", field);
      *v = x;
      return POND_OK;
    }
  }
  return st_rd_fail(r, "%s: varint longer than 10 bytes", field);
}

int st_rd_u32(st_rd *r, uint32_t *v, const char *field) {
  uint64_t x;
  POND_TRY(st_rd_uv(r, &x, field));
  if (x > UINT32_MAX) return st_rd_fail(r, "%s: %llu is out of range", field, (unsigned long long)x);
  *v = (uint32_t)x;
  return POND_OK;
}

int st_rd_byte(st_rd *r, uint8_t *v, const char *field) {
  if (r->p >= r->end) return st_rd_fail(r, "%s: truncated", field);
  *v = *r->p++;
  return POND_OK;
}

int st_rd_str(st_rd *r, const uint8_t **s, size_t *n, size_t max, const char *field) {
  uint64_t len;
  POND_TRY(st_rd_uv(r, &len, field));
  if (len > max) return st_rd_fail(r, "%s: %llu bytes (at most %zu)", field, (unsigned long long)len, max);
  if (len > (uint64_t)(r->end - r->p)) return st_rd_fail(r, "%s: truncated", field);
  *s = r->p;
  *n = (size_t)len;
  r->p += len;
  return POND_OK;
}

static int rd_end(st_rd *r) {
  if (r->p != r->end) return st_rd_fail(r, "%zu bytes after the end", (size_t)(r->end - r->p));
  return POND_OK;
}

/* ------------------------------------------------------------ meta */

static const uint8_t magic[4] = {'p', 'o', 'n', 'd'};

void st_meta_encode(st_buf *b, uint32_t tag_next) {
  st_buf_bytes(b, magic, 4);
  st_buf_uv(b, ST_FORMAT);
  st_buf_uv(b, tag_next);
}

int st_meta_decode(const uint8_t *p, size_t n, uint32_t *tag_next, pc_err *e) {
  st_rd r = {p, p + n, "meta record", e, 0, 0, NULL, 0};
  if (n < 4 || memcmp(p, magic, 4) != 0)
    return st_rd_fail(&r, "not a pond meta record (no \"pond\" magic)");
  r.p += 4;
  uint64_t fmt = 0;
  POND_TRY(st_rd_uv(&r, &fmt, "format version"));
  if (fmt > ST_FORMAT)
    return pc_errf(e, POND_ECORRUPT,
                   "storage: format version %llu is newer than this library's (%u): "
                   "open it with a newer pond",
                   (unsigned long long)fmt, ST_FORMAT);
  if (fmt == 0) return st_rd_fail(&r, "format version 0 does not exist");
  uint32_t next = 0;
  POND_TRY(st_rd_u32(&r, &next, "next tag id"));
  if (next >= CU_ATTR) return st_rd_fail(&r, "next tag id %u is out of range", next);
  POND_TRY(rd_end(&r));
  *tag_next = next;
  return POND_OK;
}

/* ------------------------------------------------------ definitions */

#define DEF_LIVE 0x1u
#define DEF_EXCLUSIVE 0x2u /* groups */
#define DEF_NAME_MAX 64    /* TG_PART_MAX: attribute and group names */
#define DEF_JSON_MAX ((size_t)16 << 20)

/* Sections of the definitions record, in this order; each kind's slots
 * follow its count, by id. A part that adds a kind of definition (counters,
 * segments, machines, …) adds a section. */
enum { SEC_ATTRS = 1, SEC_GROUPS = 2, SEC_COUNTERS = 3, SEC_SEGMENTS = 4, SEC_LAST = SEC_SEGMENTS };
/* Then, when machines were ever defined, their section (lifecycle/persist.c
 * encodes and decodes its body). */
#define SEC_MACHINES 5

void st_defs_encode(st_buf *b, const df_defs *d) {
  st_buf_byte(b, SEC_ATTRS);
  st_buf_uv(b, d->nattrs);
  for (uint32_t i = 0; i < d->nattrs; i++) {
    const df_attr *a = &d->attrs[i];
    st_buf_byte(b, a->live ? DEF_LIVE : 0);
    st_buf_byte(b, a->type);
    st_buf_uv(b, a->len);
    st_buf_bytes(b, a->name, a->len);
    if (a->live) {
      st_buf_uv(b, a->jlen);
      st_buf_bytes(b, a->json, a->jlen);
    }
  }
  st_buf_byte(b, SEC_GROUPS);
  st_buf_uv(b, d->ngroups);
  for (uint32_t i = 0; i < d->ngroups; i++) {
    const df_group *g = &d->groups[i];
    st_buf_byte(b, (uint8_t)((g->live ? DEF_LIVE : 0) | (g->exclusive ? DEF_EXCLUSIVE : 0)));
    st_buf_uv(b, (uint64_t)g->ttl);
    st_buf_uv(b, g->len);
    st_buf_bytes(b, g->name, g->len);
    if (g->live) {
      st_buf_uv(b, g->jlen);
      st_buf_bytes(b, g->json, g->jlen);
    }
  }
  st_buf_byte(b, SEC_COUNTERS);
  st_buf_uv(b, d->ncounters);
  for (uint32_t i = 0; i < d->ncounters; i++) {
    const df_counter *k = &d->counters[i];
    st_buf_byte(b, k->live ? DEF_LIVE : 0);
    st_buf_uv(b, k->len);
    st_buf_bytes(b, k->name, k->len);
    if (k->live) {
      st_buf_uv(b, k->jlen);
      st_buf_bytes(b, k->json, k->jlen);
    }
  }
  st_buf_byte(b, SEC_SEGMENTS);
  st_buf_uv(b, d->nsegments);
  for (uint32_t i = 0; i < d->nsegments; i++) {
    const df_segment *g = &d->segments[i];
    st_buf_byte(b, g->live ? DEF_LIVE : 0);
    st_buf_uv(b, g->len);
    st_buf_bytes(b, g->name, g->len);
    if (g->live) {
      st_buf_uv(b, g->wlen);
      st_buf_bytes(b, g->where, g->wlen);
      st_buf_uv(b, g->jlen);
      st_buf_bytes(b, g->json, g->jlen);
    }
  }
  if (d->machines) {
    st_buf_byte(b, SEC_MACHINES);
    lc_defs_encode(b, d->machines);
  }
}

/* pond_define's attribute name rule (define/check.c): 1..64 bytes of UTF-8
 * without control characters, not a built-in column (any case). */
static int attr_name_ok(const uint8_t *s, size_t n) {
  if (n == 0 || n > DEF_NAME_MAX || !pc_utf8_valid((const char *)s, n, NULL)) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] == 0x7f) return 0;
  static const char *const builtin[] = {"cid", "added_at", "last_seen", NULL};
  for (size_t b = 0; builtin[b]; b++) {
    size_t bl = strlen(builtin[b]), i = 0;
    if (bl != n) continue;
    while (i < n && (s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]) == (uint8_t)builtin[b][i]) i++;
    if (i == n) return 0;
  }
  return 1;
}

static int is_str(const pj_value *v, const uint8_t *s, size_t n) {
  return v && v->type == PJ_STRING && v->u.str.len == n && !memcmp(v->u.str.s, s, n);
}

/* The canonical JSON of a live slot must describe the slot's fields: an
 * object with exactly the keys pond_define writes, agreeing with them.
 * 1 if it does, 0 if not, POND_ENOMEM. */
static int parse(pc_mem *m, const uint8_t *js, size_t jl, pj_doc **doc) {
  int rc = pj_parse(m, (const char *)js, jl, NULL, doc, NULL);
  return rc == POND_ENOMEM ? rc : rc < 0 ? 0 : 1;
}

static int attr_json_ok(pc_mem *m, const uint8_t *js, size_t jl, const uint8_t *name, size_t nl,
                        int type) {
  pj_doc *doc = NULL;
  int rc = parse(m, js, jl, &doc);
  if (rc <= 0) return rc;
  const pj_value *root = pj_root(doc);
  const char *tn = df_type_name(type);
  int ok = root->type == PJ_OBJECT && root->u.obj.n == 2 && is_str(pj_get(root, "name"), name, nl) &&
           is_str(pj_get(root, "type"), (const uint8_t *)tn, strlen(tn));
  pj_free(doc);
  return ok;
}

static int group_json_ok(pc_mem *m, const uint8_t *js, size_t jl, const uint8_t *name, size_t nl,
                         int exclusive, int64_t ttl) {
  pj_doc *doc = NULL;
  int rc = parse(m, js, jl, &doc);
  if (rc <= 0) return rc;
  const pj_value *root = pj_root(doc);
  int ok = root->type == PJ_OBJECT && is_str(pj_get(root, "name"), name, nl);
  size_t known = 1;
  const pj_value *x = pj_get(root, "exclusive"), *t = pj_get(root, "ttl"), *tags = pj_get(root, "tags");
  if (x) {
    known++;
    ok = ok && x->type == PJ_TRUE && exclusive;
  } else {
    ok = ok && !exclusive;
  }
  if (t) {
    known++;
    int64_t secs;
    ok = ok && t->type == PJ_STRING && df_dur_parse(t->u.str.s, t->u.str.len, &secs) == POND_OK &&
         secs == ttl && ttl > 0;
  } else {
    ok = ok && ttl == 0;
  }
  if (tags) {
    known++;
    ok = ok && tags->type == PJ_ARRAY;
    pc_err e;
    for (size_t i = 0; ok && i < tags->u.arr.n; i++) {
      const pj_value *s = &tags->u.arr.items[i];
      ok = s->type == PJ_STRING && tg_part_check(s->u.str.s, s->u.str.len, "tag", &e) == POND_OK;
    }
  }
  ok = ok && root->u.obj.n == known;
  pj_free(doc);
  return ok;
}

/* One attribute or group slot (id: the next one of d). */
static int defs_slot(st_rd *r, pc_mem *m, df_defs *d, int attr, uint32_t id) {
  const char *field = "slot";
  uint8_t flags = 0, type = 0;
  uint64_t ttl = 0;
  const uint8_t *name = NULL, *js = NULL;
  size_t nl = 0, jl = 0;
  r->item_kind = attr ? "attribute" : "group";
  r->item = id;
  POND_TRY(st_rd_byte(r, &flags, field));
  if (flags & ~(attr ? DEF_LIVE : DEF_LIVE | DEF_EXCLUSIVE))
    return st_rd_fail(r, "unknown flags 0x%02x", flags);
  if (attr) POND_TRY(st_rd_byte(r, &type, field));
  else POND_TRY(st_rd_uv(r, &ttl, field));
  POND_TRY(st_rd_str(r, &name, &nl, DEF_NAME_MAX, field));
  if (flags & DEF_LIVE) POND_TRY(st_rd_str(r, &js, &jl, DEF_JSON_MAX, field));
  if (attr && (type < DF_T_INT || type > DF_T_BOOL))
    return st_rd_fail(r, "unknown type %u", type);
  if (!attr && ttl > (uint64_t)INT64_MAX) return st_rd_fail(r, "ttl out of range");
  pc_err ne;
  int name_ok = attr ? attr_name_ok(name, nl)
                     : tg_part_check((const char *)name, nl, "group", &ne) == POND_OK;
  if (!name_ok) return st_rd_fail(r, "invalid name");
  uint32_t other;
  /* A name is live in one slot at most, and a slot is made only while no
   * live one has its name. */
  if ((attr ? df_attr_find(d, (const char *)name, nl, &other)
            : df_group_find(d, (const char *)name, nl, &other)) == POND_OK)
    return st_rd_fail(r, "name is also live in slot %u", other);
  int jok = !js ? 1
            : attr ? attr_json_ok(m, js, jl, name, nl, type)
                   : group_json_ok(m, js, jl, name, nl, flags & DEF_EXCLUSIVE, (int64_t)ttl);
  if (jok < 0) return jok;
  if (!jok) return st_rd_fail(r, "its JSON does not match its fields");
  char *jcopy = NULL;
  if (js && !(jcopy = pc_strndup(m, (const char *)js, jl))) return POND_ENOMEM;
  uint32_t got;
  int rc = attr ? df_attr_add(m, d, (const char *)name, nl, type, jcopy, jl, &got)
                : df_group_add(m, d, (const char *)name, nl, flags & DEF_EXCLUSIVE, (int64_t)ttl,
                               jcopy, jl, &got);
  if (rc < 0) {
    pc_free(m, jcopy, jl + 1);
    return rc;
  }
  if (!(flags & DEF_LIVE)) {
    if (attr) df_attr_drop(m, d, got);
    else df_group_drop(m, d, got);
  }
  return POND_OK;
}

/* An event (counter) or segment name as pond_define checks it: 1..64
 * bytes of UTF-8 without control characters. */
static int event_name_ok(const uint8_t *s, size_t n) {
  if (n == 0 || n > DEF_NAME_MAX || !pc_utf8_valid((const char *)s, n, NULL)) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] == 0x7f) return 0;
  return 1;
}

/* A counter's JSON is its name as a JSON string; a segment's
 * {"name": …, "where": …}. 1, 0 or POND_ENOMEM. */
static int counter_json_ok(pc_mem *m, const uint8_t *js, size_t jl, const uint8_t *name, size_t nl) {
  pj_doc *doc = NULL;
  int rc = parse(m, js, jl, &doc);
  if (rc <= 0) return rc;
  int ok = is_str(pj_root(doc), name, nl);
  pj_free(doc);
  return ok;
}

static int segment_json_ok(pc_mem *m, const uint8_t *js, size_t jl, const uint8_t *name, size_t nl,
                           const uint8_t *w, size_t wl) {
  pj_doc *doc = NULL;
  int rc = parse(m, js, jl, &doc);
  if (rc <= 0) return rc;
  const pj_value *root = pj_root(doc);
  int ok = root->type == PJ_OBJECT && root->u.obj.n == 2 && is_str(pj_get(root, "name"), name, nl) &&
           is_str(pj_get(root, "where"), w, wl);
  pj_free(doc);
  return ok;
}

/* One counter or segment slot. */
static int defs_slot2(st_rd *r, pc_mem *m, df_defs *d, int counter, uint32_t id) {
  const char *field = "slot";
  uint8_t flags = 0;
  const uint8_t *name = NULL, *js = NULL, *w = NULL;
  size_t nl = 0, jl = 0, wl = 0;
  r->item_kind = counter ? "counter" : "segment";
  r->item = id;
  POND_TRY(st_rd_byte(r, &flags, field));
  if (flags & ~DEF_LIVE) return st_rd_fail(r, "unknown flags 0x%02x", flags);
  POND_TRY(st_rd_str(r, &name, &nl, DEF_NAME_MAX, field));
  if (!counter && (flags & DEF_LIVE)) POND_TRY(st_rd_str(r, &w, &wl, DEF_JSON_MAX, field));
  if (flags & DEF_LIVE) POND_TRY(st_rd_str(r, &js, &jl, DEF_JSON_MAX, field));
  if (!event_name_ok(name, nl) || (counter && df_builtin_event((const char *)name, nl)))
    return st_rd_fail(r, "invalid name");
  if (w && !pc_utf8_valid((const char *)w, wl, NULL))
    return st_rd_fail(r, "expression is not valid UTF-8");
  uint32_t other;
  if ((counter ? df_counter_find(d, (const char *)name, nl, &other)
               : df_segment_find(d, (const char *)name, nl, &other)) == POND_OK)
    return st_rd_fail(r, "name is also live in slot %u", other);
  int jok = !js ? 1 : counter ? counter_json_ok(m, js, jl, name, nl) : segment_json_ok(m, js, jl, name, nl, w, wl);
  if (jok < 0) return jok;
  if (!jok) return st_rd_fail(r, "its JSON does not match its fields");
  char *jcopy = NULL, *wcopy = NULL;
  if (js && !(jcopy = pc_strndup(m, (const char *)js, jl))) return POND_ENOMEM;
  if (w && !(wcopy = pc_strndup(m, (const char *)w, wl))) {
    pc_free(m, jcopy, jl + 1);
    return POND_ENOMEM;
  }
  uint32_t got;
  int rc = counter ? df_counter_add(m, d, (const char *)name, nl, jcopy, jl, &got)
                   : df_segment_put(m, d, (const char *)name, nl, wcopy, wl, jcopy, jl, &got);
  if (rc < 0) {
    pc_free(m, jcopy, jl + 1);
    pc_free(m, wcopy, wl + 1);
    return rc;
  }
  if (!(flags & DEF_LIVE)) {
    if (counter) df_counter_drop(m, d, got);
    else df_segment_drop(m, d, got);
  }
  return POND_OK;
}

int st_defs_decode(pc_mem *m, const uint8_t *p, size_t n, df_defs **out, pc_err *e) {
  st_rd r = {p, p + n, "definitions record", e, 0, 0, NULL, 0};
  df_defs *d = df_new(m);
  if (!d) return pc_errf(e, POND_ENOMEM, "storage: out of memory loading definitions");
  int rc = POND_OK;
  for (int want = SEC_ATTRS; rc == POND_OK && want <= SEC_LAST; want++) {
    uint8_t sec = 0;
    uint32_t cnt = 0;
    if ((rc = st_rd_byte(&r, &sec, "section")) < 0) break;
    if (sec != want) {
      rc = st_rd_fail(&r, "section %u where section %d belongs", sec, want);
      break;
    }
    if ((rc = st_rd_u32(&r, &cnt, "slot count")) < 0) break;
    /* Every slot takes at least 3 bytes: bound the count before allocating. */
    if (cnt > (size_t)(r.end - r.p) / 3) {
      rc = st_rd_fail(&r, "%u slots cannot fit in %zu bytes", cnt, (size_t)(r.end - r.p));
      break;
    }
    for (uint32_t i = 0; i < cnt && rc == POND_OK; i++)
      rc = want <= SEC_GROUPS ? defs_slot(&r, m, d, want == SEC_ATTRS, i)
                              : defs_slot2(&r, m, d, want == SEC_COUNTERS, i);
  }
  r.item_kind = NULL;
  if (rc == POND_OK && r.p < r.end) {
    uint8_t sec = 0;
    if ((rc = st_rd_byte(&r, &sec, "section")) == POND_OK)
      rc = sec == SEC_MACHINES ? lc_defs_decode(&r, m, d)
                               : st_rd_fail(&r, "section %u where section %d belongs", sec, SEC_MACHINES);
  }
  if (rc == POND_OK) rc = rd_end(&r);
  if (rc < 0) {
    df_free(m, d);
    if (rc == POND_ENOMEM) pc_errf(e, rc, "storage: out of memory loading definitions");
    return rc;
  }
  *out = d;
  return POND_OK;
}

/* ------------------------------------------------------------- tags */

void st_tag_encode(st_buf *b, uint32_t group, const char *name, size_t len) {
  st_buf_uv(b, group);
  st_buf_uv(b, len);
  st_buf_bytes(b, name, len);
}

int st_tag_decode(const uint8_t *p, size_t n, uint32_t id, const df_defs *d, uint32_t *group,
                  const char **name, size_t *len, pc_err *e) {
  st_rd r = {p, p + n, "tag", e, id, 1, NULL, 0};
  uint32_t g = 0;
  const uint8_t *s = NULL;
  size_t sl = 0, slash = 0;
  POND_TRY(st_rd_u32(&r, &g, "group"));
  POND_TRY(st_rd_str(&r, &s, &sl, 2 * TG_PART_MAX + 1, "name"));
  POND_TRY(rd_end(&r));
  if (g >= d->ngroups || !d->groups[g].live) return st_rd_fail(&r, "group %u does not exist", g);
  pc_err ne;
  if (tg_name_check((const char *)s, sl, &slash, &ne) < 0)
    return st_rd_fail(&r, "invalid name: %s", ne.msg);
  const df_group *gr = &d->groups[g];
  if (slash != gr->len || memcmp(s, gr->name, slash) != 0)
    return st_rd_fail(&r, "name is not in its group '%s'", gr->name);
  *group = g;
  *name = (const char *)s;
  *len = sl;
  return POND_OK;
}

/* -------------------------------------------------------- customers */

#define CUST_SEEN 0x1u /* flags: last_seen follows */

/* Entry classes by key (db/rec.h): tags, attributes, counters. A part that
 * adds entries of a new kind to cu_rec gives its keys a class here and its
 * value an encoding and a check below; until then the encoder writes such
 * values as zigzag varints and the decoder refuses them. */
enum { KC_TAG, KC_ATTR, KC_CTR, KC_MACH, KC_OTHER };

static inline int key_class(uint32_t key) {
  return cu_is_tag(key)    ? KC_TAG
         : cu_is_attr(key) ? KC_ATTR
         : cu_is_ctr(key)  ? KC_CTR
         : cu_is_mach(key) ? KC_MACH
                           : KC_OTHER;
}

void st_cust_encode(st_buf *b, const pond_db *db, const cu_rec *r) {
  const uint32_t *k = cu_ckeys(r);
  const int64_t *v = cu_cvals(r);
  int seen = r->last_seen != CU_UNSET;
  st_buf_byte(b, seen ? CUST_SEEN : 0);
  st_buf_uv(b, st_zz(r->added_at));
  if (seen) st_buf_uv(b, st_zz(st_wsub(r->last_seen, r->added_at)));
  st_buf_uv(b, r->n);
  for (uint32_t i = 0; i < r->n; i++) {
    st_buf_uv(b, i ? (uint64_t)(k[i] - k[i - 1] - 1) : k[i]);
    int kc = key_class(k[i]);
    if (kc == KC_TAG) {
      st_buf_uv(b, st_zz(st_wsub(v[i], r->added_at)));
      continue;
    }
    if (kc == KC_OTHER || (kc == KC_CTR && !(k[i] & 1))) { /* a count */
      st_buf_uv(b, st_zz(v[i]));
      continue;
    }
    if (kc == KC_CTR || kc == KC_MACH) { /* a counter's last time; a machine state's since */
      st_buf_uv(b, st_zz(st_wsub(v[i], r->added_at)));
      continue;
    }
    uint32_t a = k[i] & ~CU_ATTR;
    switch (db->defs->attrs[a].type) {
      case DF_T_STRING: {
        const db_dstr *s = &db->av[a].dict.v[v[i]];
        st_buf_uv(b, s->len);
        st_buf_bytes(b, s->s, s->len);
        break;
      }
      case DF_T_TIME: st_buf_uv(b, st_zz(st_wsub(v[i], r->added_at))); break;
      default: st_buf_uv(b, st_zz(v[i])); break;
    }
  }
}

void st_dec_init(st_dec *d, pond_db *db) {
  memset(d, 0, sizeof *d);
  d->db = db;
}

void st_dec_free(st_dec *d) {
  pc_free(&d->db->mem, d->gstamp, (size_t)d->ngst * sizeof *d->gstamp);
  d->gstamp = NULL;
  d->ngst = 0;
}

/* The stamps cover every group of the current definitions. */
static int dec_groups(st_dec *d) {
  uint32_t ng = d->db->defs->ngroups;
  if (ng <= d->ngst) return POND_OK;
  uint32_t *g = pc_realloc(&d->db->mem, d->gstamp, (size_t)d->ngst * sizeof *g, (size_t)ng * sizeof *g);
  if (!g) return POND_ENOMEM;
  memset(g + d->ngst, 0, (size_t)(ng - d->ngst) * sizeof *g);
  d->gstamp = g;
  d->ngst = ng;
  return POND_OK;
}

int st_cust_decode(st_dec *d, uint64_t cid, const uint8_t *p, size_t n, cu_rec **out, pc_err *e) {
  pond_db *db = d->db;
  pc_mem *m = &db->mem;
  const df_defs *defs = db->defs;
  st_rd r = {p, p + n, "customer", e, cid, 1, NULL, 0};
  uint8_t flags = 0;
  uint64_t u = 0;
  uint32_t cnt = 0;
  POND_TRY(st_rd_byte(&r, &flags, "flags"));
  if (flags & ~CUST_SEEN) return st_rd_fail(&r, "unknown flags 0x%02x", flags);
  POND_TRY(st_rd_uv(&r, &u, "added_at"));
  int64_t added = st_unzz(u), seen = CU_UNSET;
  if (flags & CUST_SEEN) {
    POND_TRY(st_rd_uv(&r, &u, "last_seen"));
    seen = st_wadd(added, st_unzz(u));
    if (seen == CU_UNSET) return st_rd_fail(&r, "last_seen is the unset marker");
  }
  POND_TRY(st_rd_u32(&r, &cnt, "entry count"));
  /* An entry takes at least two bytes. */
  if (cnt > (size_t)(r.end - r.p) / 2)
    return st_rd_fail(&r, "%u entries cannot fit in %zu bytes", cnt, (size_t)(r.end - r.p));
  if (dec_groups(d) < 0) return pc_errf(e, POND_ENOMEM, "storage: out of memory loading customers");
  cu_rec *rec = pc_alloc(m, cu_size(cnt));
  if (!rec) return pc_errf(e, POND_ENOMEM, "storage: out of memory loading customers");
  rec->added_at = added;
  rec->last_seen = seen;
  rec->n = 0;
  rec->cap = cnt;
  int64_t *vals = cu_vals(rec);
  uint32_t *keys = cu_keys(rec);
  if (++d->stamp == 0) { /* wrapped: start the stamps afresh */
    memset(d->gstamp, 0, (size_t)d->ngst * sizeof *d->gstamp);
    d->stamp = 1;
  }
  uint64_t key = 0;
  int rc = POND_OK;
  const char *field = "value";
  r.item_kind = "entry";
  for (uint32_t i = 0; i < cnt && rc == POND_OK; i++) {
    r.item = i;
    if ((rc = st_rd_uv(&r, &u, field)) < 0) break;
    if (u <= UINT32_MAX) key = i ? key + 1 + u : u;
    if (u > UINT32_MAX || key > UINT32_MAX) {
      rc = st_rd_fail(&r, "key out of range");
      break;
    }
    uint32_t k = (uint32_t)key;
    int64_t v;
    int kc = key_class(k);
    if (kc == KC_OTHER) {
      rc = st_rd_fail(&r, "key 0x%08x is of no kind that format %u stores", k, ST_FORMAT);
      break;
    }
    /* A counter's count entry is followed by its last-time entry. */
    if (i && cu_is_ctr(keys[i - 1]) && !(keys[i - 1] & 1) && k != (keys[i - 1] | 1)) {
      rc = st_rd_fail(&r, "counter %u has a count but no last time", (keys[i - 1] & ~CU_CTR) >> 1);
      break;
    }
    if (kc == KC_MACH) {
      if (!lc_entry_ok(defs, k)) {
        rc = st_rd_fail(&r, "machine %u has no state %u", lc_key_mid(k), lc_key_sid(k));
        break;
      }
      if ((rc = st_rd_uv(&r, &u, field)) < 0) break;
      v = st_wadd(added, st_unzz(u));
    } else if (kc == KC_CTR) {
      uint32_t c = (k & ~CU_CTR) >> 1;
      if (c >= defs->ncounters || !defs->counters[c].live) {
        rc = st_rd_fail(&r, "counter %u does not exist", c);
        break;
      }
      if ((k & 1) && (!i || keys[i - 1] != (k & ~1u))) {
        rc = st_rd_fail(&r, "counter %u has a last time but no count", c);
        break;
      }
      if ((rc = st_rd_uv(&r, &u, field)) < 0) break;
      v = k & 1 ? st_wadd(added, st_unzz(u)) : st_unzz(u);
      if (!(k & 1) && v <= 0) {
        rc = st_rd_fail(&r, "counter %u counts %lld", c, (long long)v);
        break;
      }
    } else if (kc == KC_TAG) {
      const tg_tag *t = tg_get(&db->tags, k);
      if (!t) {
        rc = st_rd_fail(&r, "tag %u does not exist", k);
        break;
      }
      if (defs->groups[t->group].exclusive) {
        if (d->gstamp[t->group] == d->stamp) {
          rc = st_rd_fail(&r, "a second tag of exclusive group '%s'",
                          defs->groups[t->group].name);
          break;
        }
        d->gstamp[t->group] = d->stamp;
      }
      if ((rc = st_rd_uv(&r, &u, field)) < 0) break;
      v = st_wadd(added, st_unzz(u));
    } else {
      uint32_t a = k & ~CU_ATTR;
      if (a >= defs->nattrs || !defs->attrs[a].live) {
        rc = st_rd_fail(&r, "attribute %u does not exist", a);
        break;
      }
      int type = defs->attrs[a].type;
      if (type == DF_T_STRING) {
        const uint8_t *s = NULL;
        size_t sl = 0;
        uint32_t vid = 0;
        int added_new;
        if ((rc = st_rd_str(&r, &s, &sl, DB_ATTR_STR_MAX, field)) < 0) break;
        if (!pc_utf8_valid((const char *)s, sl, NULL)) {
          rc = st_rd_fail(&r, "attribute '%s': value is not valid UTF-8", defs->attrs[a].name);
          break;
        }
        rc = db_dict_intern(m, &db->av[a].dict, (const char *)s, sl, &vid, &added_new);
        if (rc < 0) {
          if (rc == POND_ENOMEM) pc_errf(e, rc, "storage: out of memory loading customers");
          else pc_errf(e, rc, "storage: customer %llu: attribute '%s' has too many values",
                       (unsigned long long)cid, defs->attrs[a].name);
          break;
        }
        v = vid;
      } else {
        if ((rc = st_rd_uv(&r, &u, field)) < 0) break;
        v = type == DF_T_TIME ? st_wadd(added, st_unzz(u)) : st_unzz(u);
        if (type == DF_T_BOOL && v != 0 && v != 1) {
          rc = st_rd_fail(&r, "bool attribute '%s' holds %lld", defs->attrs[a].name,
                          (long long)v);
          break;
        }
      }
    }
    keys[i] = k;
    vals[i] = v;
    rec->n = i + 1;
  }
  r.item_kind = NULL;
  if (rc == POND_OK && cnt && cu_is_ctr(keys[cnt - 1]) && !(keys[cnt - 1] & 1))
    rc = st_rd_fail(&r, "counter %u has a count but no last time", (keys[cnt - 1] & ~CU_CTR) >> 1);
  if (rc == POND_OK) rc = rd_end(&r);
  if (rc < 0) {
    cu_free(m, rec);
    return rc;
  }
  *out = rec;
  return POND_OK;
}
