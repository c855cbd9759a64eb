/*
 * check.c — validation of a definition document (DEFINITIONS.md) against
 * the db, into a plan (plan.h). Reads only; every problem is reported as
 *
 *   define:$.tag_groups[1].ttl: invalid duration '3x' (...)
 *
 * with pond_error_offset at the offending JSON value. Structure first (root
 * keys in document order), then "drop", "attributes", "tag_groups",
 * "counters", "segments" in that order, each in document order: the first
 * problem found is reported. (Segment expressions are checked by df_apply,
 * once the definitions the document produces are known.)
 * Conflicts with the data (a type change while customers have values, an
 * exclusive group whose customers hold two of its tags) are POND_ECONFLICT;
 * everything else is POND_EINVAL (POND_ELIMIT past the attribute limit).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "define/plan.h"
#include "lifecycle/lc.h"

typedef struct dfc {
  pond_db *db;
  pc_mem *m;
  df_plan *p;
  pc_map64 drops; /* (kind << 32 | id) -> 1 */
  pc_strmap seen; /* names met in the current section -> index */
} dfc;

#define NAME_SHOWN 100 /* bytes of a name quoted in a message */

static int fail(dfc *c, const pj_value *at, int code, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static int fail(dfc *c, const pj_value *at, int code, const char *path, const char *fmt, ...) {
  char tail[PC_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tail, sizeof tail, fmt, ap);
  va_end(ap);
  pc_errf(&c->db->err, code, "define:%s: %s", path, tail);
  c->db->err.offset = at ? (long)at->offset : -1;
  return code;
}

static int shown(size_t n) { return (int)(n > NAME_SHOWN ? NAME_SHOWN : n); }

/* ------------------------------------------------------------ key paths */

static int is_ident(const char *k, size_t n) {
  if (!n || (k[0] >= '0' && k[0] <= '9')) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = k[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
      return 0;
  }
  return 1;
}

/* base + ".key" or base + "[\"k e y\"]" (escaped, truncated). */
static void key_path(char *out, size_t cap, const char *base, const char *k, size_t n) {
  if (is_ident(k, n)) {
    snprintf(out, cap, "%s.%.*s", base, shown(n), k);
    return;
  }
  size_t w = (size_t)snprintf(out, cap, "%s[\"", base);
  for (size_t i = 0; i < n && i < NAME_SHOWN && w + 8 < cap; i++) {
    unsigned char ch = (unsigned char)k[i];
    if (ch == '"' || ch == '\\') w += (size_t)snprintf(out + w, cap - w, "\\%c", ch);
    else if (ch < 0x20) w += (size_t)snprintf(out + w, cap - w, "\\u%04x", ch);
    else out[w++] = (char)ch;
  }
  snprintf(out + w, cap - w, "\"]");
}

/* Levenshtein distance of two short byte strings (capped at 32 bytes). */
static size_t distance(const char *a, size_t na, const char *b, size_t nb) {
  size_t row[33];
  if (na > 32 || nb > 32) return 99;
  for (size_t j = 0; j <= nb; j++) row[j] = j;
  for (size_t i = 1; i <= na; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[nb];
}

static int unknown_key(dfc *c, const pj_member *mb, const char *base, const char *const *keys) {
  char path[256];
  key_path(path, sizeof path, base, mb->key, mb->klen);
  const char *best = NULL;
  size_t bd = 3;
  for (size_t i = 0; keys[i]; i++) {
    size_t d = distance(mb->key, mb->klen, keys[i], strlen(keys[i]));
    if (d < bd) {
      bd = d;
      best = keys[i];
    }
  }
  if (best) return fail(c, &mb->value, POND_EINVAL, path, "unknown key; did you mean '%s'?", best);
  return fail(c, &mb->value, POND_EINVAL, path, "unknown key");
}

/* Checks that obj (at path) is an object whose keys are all in keys. */
static int object_with(dfc *c, const pj_value *obj, const char *path, const char *const *keys) {
  if (obj->type != PJ_OBJECT) return fail(c, obj, POND_EINVAL, path, "expected an object");
  for (size_t i = 0; i < obj->u.obj.n; i++) {
    const pj_member *mb = &obj->u.obj.items[i];
    size_t k = 0;
    while (keys[k] && !(strlen(keys[k]) == mb->klen && memcmp(keys[k], mb->key, mb->klen) == 0)) k++;
    if (!keys[k]) return unknown_key(c, mb, path, keys);
  }
  return POND_OK;
}

/* obj.key as a string: POND_OK, or 1 when absent and optional. */
static int string_of(dfc *c, const pj_value *obj, const char *key, const char *path, int required,
                     const pj_value **out) {
  const pj_value *v = pj_get(obj, key);
  char kp[256];
  snprintf(kp, sizeof kp, "%s.%s", path, key);
  if (!v) {
    if (!required) return 1;
    return fail(c, obj, POND_EINVAL, path, "missing \"%s\"", key);
  }
  if (v->type != PJ_STRING) return fail(c, v, POND_EINVAL, kp, "expected a string");
  *out = v;
  return POND_OK;
}

/* ---------------------------------------------------------------- names */

/* An attribute name: 1..64 bytes of UTF-8 without control characters, not
 * a built-in column of the query language. */
static int attr_name_ok(dfc *c, const pj_value *v, const char *path) {
  const char *s = v->u.str.s;
  size_t n = v->u.str.len;
  if (n == 0) return fail(c, v, POND_EINVAL, path, "empty name");
  if (n > TG_PART_MAX) return fail(c, v, POND_EINVAL, path, "name longer than %d bytes", TG_PART_MAX);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return fail(c, v, POND_EINVAL, path, "control character in name");
  static const char *const builtin[] = {"cid", "added_at", "last_seen", NULL};
  for (size_t b = 0; builtin[b]; b++) {
    size_t bl = strlen(builtin[b]), i = 0;
    if (bl != n) continue;
    while (i < n && (s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]) == builtin[b][i]) i++;
    if (i == n) return fail(c, v, POND_EINVAL, path, "'%s' is a built-in column", builtin[b]);
  }
  return POND_OK;
}

static int part_ok(dfc *c, const pj_value *v, const char *path, const char *what) {
  pc_err e;
  pc_err_clear(&e);
  if (tg_part_check(v->u.str.s, v->u.str.len, what, &e) < 0)
    return fail(c, v, POND_EINVAL, path, "%s", e.msg);
  return POND_OK;
}

/* Registers name as met at index i of the section; a repeat is an error
 * naming the first occurrence. */
static int once(dfc *c, const pj_value *v, size_t i, const char *path, const char *fmt_first) {
  uint64_t first;
  if (pc_strmap_get(&c->seen, v->u.str.s, v->u.str.len, &first) == POND_OK) {
    char at[160];
    snprintf(at, sizeof at, fmt_first, (size_t)first);
    return fail(c, v, POND_EINVAL, path, "'%.*s' appears twice (first at %s)", shown(v->u.str.len),
                v->u.str.s, at);
  }
  if (pc_strmap_put(c->m, &c->seen, v->u.str.s, v->u.str.len, i) < 0) return POND_ENOMEM;
  return POND_OK;
}

static void seen_reset(dfc *c) {
  pc_strmap_free(c->m, &c->seen);
  pc_strmap_init(&c->seen);
}

static int is_dropped(const dfc *c, int kind, uint32_t id) {
  return pc_map64_get(&c->drops, (uint64_t)kind << 32 | id, NULL) == POND_OK;
}

/* Sections that later versions define. */
static const char *const later_keys[] = {"keywords", "rules", "limits", NULL};
static const char *const later_drops[] = {"machine", "keyword", "rule", NULL};

static int in_list(const char *const *l, const char *k, size_t n) {
  for (size_t i = 0; l[i]; i++)
    if (strlen(l[i]) == n && memcmp(l[i], k, n) == 0) return 1;
  return 0;
}

/* ----------------------------------------------------------------- drop */

static int check_drop(dfc *c, const pj_value *arr) {
  static const char *const kinds[] = {"attribute", "tag_group", "tag", "counter", "machine",
                                      "segment", "keyword", "rule", NULL};
  pond_db *db = c->db;
  if (arr->type != PJ_ARRAY) return fail(c, arr, POND_EINVAL, "$.drop", "expected an array");
  if (arr->u.arr.n && !(c->p->drops = pc_calloc(c->m, arr->u.arr.n * sizeof *c->p->drops)))
    return POND_ENOMEM;
  c->p->cdrops = arr->u.arr.n;
  for (size_t i = 0; i < arr->u.arr.n; i++) {
    const pj_value *it = &arr->u.arr.items[i];
    char path[64], kp[256];
    snprintf(path, sizeof path, "$.drop[%zu]", i);
    POND_TRY(object_with(c, it, path, kinds));
    if (it->u.obj.n != 1)
      return fail(c, it, POND_EINVAL, path,
                  "expected exactly one of \"attribute\", \"tag_group\", \"tag\", "
                  "\"counter\" or \"segment\"");
    const pj_member *mb = &it->u.obj.items[0];
    const pj_value *v = &mb->value;
    snprintf(kp, sizeof kp, "%s.%s", path, mb->key);
    if (in_list(later_drops, mb->key, mb->klen))
      return fail(c, v, POND_EINVAL, kp, "dropping a %s is not supported by this version yet", mb->key);
    if (v->type != PJ_STRING) return fail(c, v, POND_EINVAL, kp, "expected a string");
    const char *s = v->u.str.s;
    size_t n = v->u.str.len, slash;
    dfp_drop d = {0, 0};
    if (strcmp(mb->key, "attribute") == 0) {
      d.kind = DFP_ATTR;
      if (df_attr_find(db->defs, s, n, &d.id) < 0)
        return fail(c, v, POND_EINVAL, kp, "attribute '%.*s' is not defined", shown(n), s);
    } else if (strcmp(mb->key, "counter") == 0) {
      d.kind = DFP_COUNTER;
      if (df_counter_find(db->defs, s, n, &d.id) < 0)
        return fail(c, v, POND_EINVAL, kp, "counter '%.*s' is not defined", shown(n), s);
    } else if (strcmp(mb->key, "segment") == 0) {
      d.kind = DFP_SEGMENT;
      if (df_segment_find(db->defs, s, n, &d.id) < 0)
        return fail(c, v, POND_EINVAL, kp, "segment '%.*s' is not defined", shown(n), s);
    } else if (strcmp(mb->key, "tag_group") == 0) {
      d.kind = DFP_GROUP;
      if (df_group_find(db->defs, s, n, &d.id) < 0)
        return fail(c, v, POND_EINVAL, kp, "tag group '%.*s' is not defined", shown(n), s);
    } else {
      pc_err e;
      pc_err_clear(&e);
      d.kind = DFP_TAG;
      if (tg_name_check(s, n, &slash, &e) < 0) return fail(c, v, POND_EINVAL, kp, "%s", e.msg);
      if (tg_find(&db->tags, s, n, &d.id) < 0)
        return fail(c, v, POND_EINVAL, kp, "tag '%.*s' does not exist", shown(n), s);
    }
    uint64_t key = (uint64_t)d.kind << 32 | d.id;
    if (is_dropped(c, d.kind, d.id))
      return fail(c, v, POND_EINVAL, kp, "'%.*s' is dropped twice", shown(n), s);
    if (pc_map64_put(c->m, &c->drops, key, 1) < 0) return POND_ENOMEM;
    c->p->drops[c->p->ndrops++] = d;
  }
  return POND_OK;
}

/* ----------------------------------------------------------- attributes */

static int check_attrs(dfc *c, const pj_value *arr) {
  static const char *const keys[] = {"name", "type", NULL};
  pond_db *db = c->db;
  df_plan *p = c->p;
  if (arr->type != PJ_ARRAY) return fail(c, arr, POND_EINVAL, "$.attributes", "expected an array");
  if (arr->u.arr.n && !(p->attrs = pc_calloc(c->m, arr->u.arr.n * sizeof *p->attrs)))
    return POND_ENOMEM;
  p->cattrs = arr->u.arr.n;
  size_t live = db->defs->attr_ids.count, added = 0;
  for (size_t i = 0; i < p->ndrops; i++) live -= p->drops[i].kind == DFP_ATTR;
  seen_reset(c);
  for (size_t i = 0; i < arr->u.arr.n; i++) {
    const pj_value *it = &arr->u.arr.items[i], *name = NULL, *type = NULL;
    char path[64], np[96], tp[96];
    snprintf(path, sizeof path, "$.attributes[%zu]", i);
    snprintf(np, sizeof np, "%s.name", path);
    snprintf(tp, sizeof tp, "%s.type", path);
    POND_TRY(object_with(c, it, path, keys));
    POND_TRY(string_of(c, it, "name", path, 1, &name));
    POND_TRY(attr_name_ok(c, name, np));
    POND_TRY(once(c, name, i, np, "$.attributes[%zu]"));
    POND_TRY(string_of(c, it, "type", path, 1, &type));
    int t = df_type_parse(type->u.str.s, type->u.str.len);
    if (!t)
      return fail(c, type, POND_EINVAL, tp, "unknown type '%.*s' (int, time, string or bool)",
                  shown(type->u.str.len), type->u.str.s);
    uint32_t id;
    if (df_attr_find(db->defs, name->u.str.s, name->u.str.len, &id) == POND_OK &&
        !is_dropped(c, DFP_ATTR, id)) {
      const df_attr *a = &db->defs->attrs[id];
      uint64_t holders = bm_card(&db->av[id].has);
      if (a->type != t && holders)
        return fail(c, type, POND_ECONFLICT, tp,
                    "cannot change '%s' from %s to %s while %llu customers have a value (clear "
                    "them or drop the attribute first)",
                    a->name, df_type_name(a->type), df_type_name(t), (unsigned long long)holders);
    } else if (live + ++added > DF_MAX_ATTRS) {
      return fail(c, it, POND_ELIMIT, path, "more than %d attributes", DF_MAX_ATTRS);
    }
    p->attrs[p->nattrs++] = (dfp_attr){name->u.str.s, name->u.str.len, t};
  }
  return POND_OK;
}

/* ----------------------------------------------------------- tag groups */

/* 1 if two of group gid's tags that this document keeps share a member. */
static int group_overlaps(dfc *c, uint32_t gid) {
  const tg_table *t = &c->db->tags;
  bm u;
  bm_init(&u);
  int rc = 0;
  for (uint32_t i = 1; i < t->n && !rc; i++) {
    const tg_tag *g = &t->v[i];
    if (!g->live || g->group != gid || is_dropped(c, DFP_TAG, i) || bm_is_empty(&g->members))
      continue;
    if (bm_op_card(BM_AND, &u, &g->members)) rc = 1;
    else if (bm_op_inplace(c->m, BM_OR, &u, &g->members) < 0) rc = POND_ENOMEM;
  }
  bm_free(c->m, &u);
  return rc;
}

static int check_tags(dfc *c, const pj_value *tags, const char *path) {
  char tp[160];
  if (tags->type != PJ_ARRAY) return fail(c, tags, POND_EINVAL, path, "expected an array");
  seen_reset(c);
  for (size_t j = 0; j < tags->u.arr.n; j++) {
    const pj_value *v = &tags->u.arr.items[j];
    snprintf(tp, sizeof tp, "%s[%zu]", path, j);
    if (v->type != PJ_STRING) return fail(c, v, POND_EINVAL, tp, "expected a string");
    POND_TRY(part_ok(c, v, tp, "tag name"));
    if (v->u.str.len == 1 && v->u.str.s[0] == '*')
      return fail(c, v, POND_EINVAL, tp, "'*' is reserved (any tag of the group)");
    char first[160];
    snprintf(first, sizeof first, "%s[%%zu]", path);
    POND_TRY(once(c, v, j, tp, first));
  }
  return POND_OK;
}

static int check_groups(dfc *c, const pj_value *arr) {
  static const char *const keys[] = {"name", "exclusive", "ttl", "tags", NULL};
  pond_db *db = c->db;
  df_plan *p = c->p;
  if (arr->type != PJ_ARRAY) return fail(c, arr, POND_EINVAL, "$.tag_groups", "expected an array");
  if (arr->u.arr.n && !(p->groups = pc_calloc(c->m, arr->u.arr.n * sizeof *p->groups)))
    return POND_ENOMEM;
  p->cgroups = arr->u.arr.n;
  /* Group names first (the per-group tag lists reuse `seen`). */
  pc_strmap names;
  pc_strmap_init(&names);
  int rc = POND_OK;
  for (size_t i = 0; i < arr->u.arr.n && rc >= 0; i++) {
    const pj_value *it = &arr->u.arr.items[i], *name = NULL, *v = NULL;
    char path[64], kp[96];
    uint64_t first;
    snprintf(path, sizeof path, "$.tag_groups[%zu]", i);
    dfp_group g = {NULL, 0, 0, 0, NULL};
    if ((rc = object_with(c, it, path, keys)) < 0) break;
    if ((rc = string_of(c, it, "name", path, 1, &name)) < 0) break;
    snprintf(kp, sizeof kp, "%s.name", path);
    if ((rc = part_ok(c, name, kp, "group name")) < 0) break;
    if (pc_strmap_get(&names, name->u.str.s, name->u.str.len, &first) == POND_OK) {
      rc = fail(c, name, POND_EINVAL, kp, "'%.*s' appears twice (first at $.tag_groups[%zu])",
                shown(name->u.str.len), name->u.str.s, (size_t)first);
      break;
    }
    if ((rc = pc_strmap_put(c->m, &names, name->u.str.s, name->u.str.len, i)) < 0) break;
    g.name = name->u.str.s;
    g.len = name->u.str.len;
    if ((v = pj_get(it, "exclusive"))) {
      snprintf(kp, sizeof kp, "%s.exclusive", path);
      if (v->type != PJ_TRUE && v->type != PJ_FALSE) {
        rc = fail(c, v, POND_EINVAL, kp, "expected true or false");
        break;
      }
      g.exclusive = v->type == PJ_TRUE;
    }
    if ((v = pj_get(it, "ttl"))) {
      snprintf(kp, sizeof kp, "%s.ttl", path);
      if (v->type != PJ_STRING) {
        rc = fail(c, v, POND_EINVAL, kp, "expected a duration string such as \"30d\"");
        break;
      }
      if (df_dur_parse(v->u.str.s, v->u.str.len, &g.ttl) < 0) {
        rc = fail(c, v, POND_EINVAL, kp,
                  "invalid duration '%.*s' (a positive integer and s, m, h, d or w)",
                  shown(v->u.str.len), v->u.str.s);
        break;
      }
      if (g.ttl == 0) {
        rc = fail(c, v, POND_EINVAL, kp, "a ttl must be longer than 0s");
        break;
      }
    }
    if ((v = pj_get(it, "tags"))) {
      snprintf(kp, sizeof kp, "%s.tags", path);
      if ((rc = check_tags(c, v, kp)) < 0) break;
      g.tags = v;
    }
    uint32_t gid;
    if (g.exclusive && df_group_find(db->defs, g.name, g.len, &gid) == POND_OK &&
        !is_dropped(c, DFP_GROUP, gid) && !db->defs->groups[gid].exclusive) {
      int ov = group_overlaps(c, gid);
      snprintf(kp, sizeof kp, "%s.exclusive", path);
      if (ov < 0) rc = ov;
      else if (ov)
        rc = fail(c, pj_get(it, "exclusive"), POND_ECONFLICT, kp,
                  "customers hold more than one tag of '%.*s'; it cannot become exclusive",
                  shown(g.len), g.name);
      if (rc < 0) break;
    }
    p->groups[p->ngroups++] = g;
  }
  pc_strmap_free(c->m, &names);
  return rc;
}

/* ------------------------------------------------------------- counters */

/* An event or segment name: 1..64 bytes without control characters. */
static int name_ok(dfc *c, const pj_value *v, const char *path) {
  const char *s = v->u.str.s;
  size_t n = v->u.str.len;
  if (n == 0) return fail(c, v, POND_EINVAL, path, "empty name");
  if (n > TG_PART_MAX) return fail(c, v, POND_EINVAL, path, "name longer than %d bytes", TG_PART_MAX);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return fail(c, v, POND_EINVAL, path, "control character in name");
  return POND_OK;
}

static int check_counters(dfc *c, const pj_value *arr) {
  pond_db *db = c->db;
  df_plan *p = c->p;
  if (arr->type != PJ_ARRAY)
    return fail(c, arr, POND_EINVAL, "$.counters", "expected an array of event names");
  if (arr->u.arr.n && !(p->counters = pc_calloc(c->m, arr->u.arr.n * sizeof *p->counters)))
    return POND_ENOMEM;
  p->ccounters = arr->u.arr.n;
  size_t live = db->defs->counter_ids.count, added = 0;
  for (size_t i = 0; i < p->ndrops; i++) live -= p->drops[i].kind == DFP_COUNTER;
  seen_reset(c);
  for (size_t i = 0; i < arr->u.arr.n; i++) {
    const pj_value *v = &arr->u.arr.items[i];
    char path[64];
    snprintf(path, sizeof path, "$.counters[%zu]", i);
    if (v->type != PJ_STRING) return fail(c, v, POND_EINVAL, path, "expected a string (an event name)");
    POND_TRY(name_ok(c, v, path));
    if (df_builtin_event(v->u.str.s, v->u.str.len))
      return fail(c, v, POND_EINVAL, path,
                  "'%.*s' is a built-in event; this version counts only \"message\" among them",
                  shown(v->u.str.len), v->u.str.s);
    POND_TRY(once(c, v, i, path, "$.counters[%zu]"));
    uint32_t id;
    if (!(df_counter_find(db->defs, v->u.str.s, v->u.str.len, &id) == POND_OK &&
          !is_dropped(c, DFP_COUNTER, id)) &&
        live + ++added > DF_MAX_COUNTERS)
      return fail(c, v, POND_ELIMIT, path, "more than %d counters", DF_MAX_COUNTERS);
    p->counters[p->ncounters++] = (dfp_counter){v->u.str.s, v->u.str.len};
  }
  return POND_OK;
}

/* ------------------------------------------------------------- segments */

/* Structure only: the expressions are checked by df_apply, against the
 * definitions this document produces (query/qy.h). */
static int check_segments(dfc *c, const pj_value *arr) {
  static const char *const keys[] = {"name", "where", NULL};
  pond_db *db = c->db;
  df_plan *p = c->p;
  if (arr->type != PJ_ARRAY) return fail(c, arr, POND_EINVAL, "$.segments", "expected an array");
  if (arr->u.arr.n && !(p->segments = pc_calloc(c->m, arr->u.arr.n * sizeof *p->segments)))
    return POND_ENOMEM;
  p->csegments = arr->u.arr.n;
  size_t live = db->defs->segment_ids.count, added = 0;
  for (size_t i = 0; i < p->ndrops; i++) live -= p->drops[i].kind == DFP_SEGMENT;
  seen_reset(c);
  for (size_t i = 0; i < arr->u.arr.n; i++) {
    const pj_value *it = &arr->u.arr.items[i], *name = NULL, *where = NULL;
    char path[64], np[96], wp[96];
    snprintf(path, sizeof path, "$.segments[%zu]", i);
    snprintf(np, sizeof np, "%s.name", path);
    snprintf(wp, sizeof wp, "%s.where", path);
    POND_TRY(object_with(c, it, path, keys));
    POND_TRY(string_of(c, it, "name", path, 1, &name));
    POND_TRY(name_ok(c, name, np));
    POND_TRY(once(c, name, i, np, "$.segments[%zu]"));
    POND_TRY(string_of(c, it, "where", path, 1, &where));
    if (where->u.str.len > db->lim.query_max_len)
      return fail(c, where, POND_ELIMIT, wp, "the expression has %zu bytes; limits.query_max_len is %zu",
                  where->u.str.len, db->lim.query_max_len);
    uint32_t id;
    if (!(df_segment_find(db->defs, name->u.str.s, name->u.str.len, &id) == POND_OK &&
          !is_dropped(c, DFP_SEGMENT, id)) &&
        live + ++added > DF_MAX_SEGMENTS)
      return fail(c, it, POND_ELIMIT, path, "more than %d segments", DF_MAX_SEGMENTS);
    p->segments[p->nsegments++] = (dfp_segment){name->u.str.s, name->u.str.len, where};
  }
  return POND_OK;
}

/* ----------------------------------------------------------------- root */

int df_check(pond_db *db, const pj_value *root, df_plan *p) {
  static const char *const keys[] = {"attributes", "tag_groups", "drop", "counters", "machines",
                                     "segments", "keywords", "rules", "limits", NULL};
  dfc c = {db, &db->mem, p, {0}, {0}};
  pc_map64_init(&c.drops);
  pc_strmap_init(&c.seen);
  memset(p, 0, sizeof *p);
  int rc = POND_OK;
  if (root->type != PJ_OBJECT) {
    rc = fail(&c, root, POND_EINVAL, "$", "a definition document is a JSON object");
  } else {
    for (size_t i = 0; i < root->u.obj.n && rc >= 0; i++) {
      const pj_member *mb = &root->u.obj.items[i];
      char path[64];
      if (in_list(later_keys, mb->key, mb->klen)) {
        snprintf(path, sizeof path, "$.%s", mb->key);
        rc = fail(&c, &mb->value, POND_EINVAL, path,
                  "\"%s\" is not supported by this version yet (it defines attributes, "
                  "tag_groups, counters, segments, machines and drop)",
                  mb->key);
      } else if (!in_list(keys, mb->key, mb->klen)) {
        rc = unknown_key(&c, mb, "$", keys);
      }
    }
    const pj_value *v;
    if (rc >= 0 && (v = pj_get(root, "drop"))) rc = check_drop(&c, v);
    if (rc >= 0 && (v = pj_get(root, "attributes"))) rc = check_attrs(&c, v);
    if (rc >= 0 && (v = pj_get(root, "tag_groups"))) rc = check_groups(&c, v);
    if (rc >= 0 && (v = pj_get(root, "counters"))) rc = check_counters(&c, v);
    if (rc >= 0 && (v = pj_get(root, "segments"))) rc = check_segments(&c, v);
    if (rc >= 0 && (v = pj_get(root, "machines"))) rc = lc_check(db, v, p, &p->machines);
  }
  pc_map64_free(c.m, &c.drops);
  pc_strmap_free(c.m, &c.seen);
  if (rc < 0) df_plan_free(c.m, p);
  return rc;
}

void df_plan_free(pc_mem *m, df_plan *p) {
  pc_free(m, p->drops, p->cdrops * sizeof *p->drops);
  pc_free(m, p->attrs, p->cattrs * sizeof *p->attrs);
  pc_free(m, p->groups, p->cgroups * sizeof *p->groups);
  pc_free(m, p->counters, p->ccounters * sizeof *p->counters);
  pc_free(m, p->segments, p->csegments * sizeof *p->segments);
  lc_plan_free(m, p->machines);
  memset(p, 0, sizeof *p);
}
