/*
 * defs.c — the definitions object: copy, lookup, append, drop; durations and
 * type names.
 *
 * Cost: df_clone is O(attributes + groups) with one allocation per name and
 * per JSON text; it runs once per pond_define, never on the data path.
 */
#include "define/defs.h"

#include "lifecycle/lc.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "pond.h"

df_defs *df_new(pc_mem *m) {
  df_defs *d = pc_calloc(m, sizeof *d);
  if (!d) return NULL;
  pc_strmap_init(&d->attr_ids);
  pc_strmap_init(&d->group_ids);
  pc_strmap_init(&d->counter_ids);
  pc_strmap_init(&d->segment_ids);
  return d;
}

void df_free(pc_mem *m, df_defs *d) {
  if (!d) return;
  lc_mset_unref(m, d->machines);
  for (uint32_t i = 0; i < d->nattrs; i++) {
    pc_free(m, d->attrs[i].name, d->attrs[i].len + 1);
    pc_free(m, d->attrs[i].json, d->attrs[i].jlen + 1);
  }
  for (uint32_t i = 0; i < d->ngroups; i++) {
    pc_free(m, d->groups[i].name, d->groups[i].len + 1);
    pc_free(m, d->groups[i].json, d->groups[i].jlen + 1);
  }
  for (uint32_t i = 0; i < d->ncounters; i++) {
    pc_free(m, d->counters[i].name, d->counters[i].len + 1);
    pc_free(m, d->counters[i].json, d->counters[i].jlen + 1);
  }
  for (uint32_t i = 0; i < d->nsegments; i++) {
    pc_free(m, d->segments[i].name, d->segments[i].len + 1);
    pc_free(m, d->segments[i].where, d->segments[i].wlen + 1);
    pc_free(m, d->segments[i].json, d->segments[i].jlen + 1);
  }
  pc_free(m, d->attrs, d->cattrs * sizeof *d->attrs);
  pc_free(m, d->groups, d->cgroups * sizeof *d->groups);
  pc_free(m, d->counters, d->ccounters * sizeof *d->counters);
  pc_free(m, d->segments, d->csegments * sizeof *d->segments);
  pc_strmap_free(m, &d->attr_ids);
  pc_strmap_free(m, &d->group_ids);
  pc_strmap_free(m, &d->counter_ids);
  pc_strmap_free(m, &d->segment_ids);
  pc_free(m, d, sizeof *d);
}

static char *dup_or_null(pc_mem *m, const char *s, size_t n, int *fail) {
  if (!s) return NULL;
  char *p = pc_strndup(m, s, n);
  if (!p) *fail = 1;
  return p;
}

df_defs *df_clone(pc_mem *m, const df_defs *d) {
  df_defs *c = df_new(m);
  if (!c) return NULL;
  c->machines = lc_mset_ref(d->machines); /* immutable: shared */
  int fail = 0;
  if (d->nattrs) {
    c->attrs = pc_calloc(m, d->nattrs * sizeof *c->attrs);
    if (!c->attrs) goto fail;
    c->cattrs = d->nattrs;
  }
  if (d->ngroups) {
    c->groups = pc_calloc(m, d->ngroups * sizeof *c->groups);
    if (!c->groups) goto fail;
    c->cgroups = d->ngroups;
  }
  if (d->ncounters) {
    c->counters = pc_calloc(m, d->ncounters * sizeof *c->counters);
    if (!c->counters) goto fail;
    c->ccounters = d->ncounters;
  }
  if (d->nsegments) {
    c->segments = pc_calloc(m, d->nsegments * sizeof *c->segments);
    if (!c->segments) goto fail;
    c->csegments = d->nsegments;
  }
  /* Count entries as they are copied so df_free releases exactly them. */
  for (uint32_t i = 0; i < d->nattrs && !fail; i++) {
    df_attr *a = &c->attrs[i];
    *a = d->attrs[i];
    a->json = NULL;
    a->name = dup_or_null(m, d->attrs[i].name, d->attrs[i].len, &fail);
    if (!fail) a->json = dup_or_null(m, d->attrs[i].json, d->attrs[i].jlen, &fail);
    c->nattrs = i + 1;
  }
  for (uint32_t i = 0; i < d->ngroups && !fail; i++) {
    df_group *g = &c->groups[i];
    *g = d->groups[i];
    g->json = NULL;
    g->name = dup_or_null(m, d->groups[i].name, d->groups[i].len, &fail);
    if (!fail) g->json = dup_or_null(m, d->groups[i].json, d->groups[i].jlen, &fail);
    c->ngroups = i + 1;
  }
  for (uint32_t i = 0; i < d->ncounters && !fail; i++) {
    df_counter *k = &c->counters[i];
    *k = d->counters[i];
    k->json = NULL;
    k->name = dup_or_null(m, d->counters[i].name, d->counters[i].len, &fail);
    if (!fail) k->json = dup_or_null(m, d->counters[i].json, d->counters[i].jlen, &fail);
    c->ncounters = i + 1;
  }
  for (uint32_t i = 0; i < d->nsegments && !fail; i++) {
    df_segment *g = &c->segments[i];
    *g = d->segments[i];
    g->where = g->json = NULL;
    g->name = dup_or_null(m, d->segments[i].name, d->segments[i].len, &fail);
    if (!fail) g->where = dup_or_null(m, d->segments[i].where, d->segments[i].wlen, &fail);
    if (!fail) g->json = dup_or_null(m, d->segments[i].json, d->segments[i].jlen, &fail);
    c->nsegments = i + 1;
  }
  if (fail) goto fail;
  if (pc_strmap_reserve(m, &c->attr_ids, d->attr_ids.count) < 0 ||
      pc_strmap_reserve(m, &c->group_ids, d->group_ids.count) < 0 ||
      pc_strmap_reserve(m, &c->counter_ids, d->counter_ids.count) < 0 ||
      pc_strmap_reserve(m, &c->segment_ids, d->segment_ids.count) < 0)
    goto fail;
  for (uint32_t i = 0; i < c->nattrs; i++)
    if (c->attrs[i].live) pc_strmap_put(m, &c->attr_ids, c->attrs[i].name, c->attrs[i].len, i);
  for (uint32_t i = 0; i < c->ngroups; i++)
    if (c->groups[i].live)
      pc_strmap_put(m, &c->group_ids, c->groups[i].name, c->groups[i].len, i);
  for (uint32_t i = 0; i < c->ncounters; i++)
    if (c->counters[i].live)
      pc_strmap_put(m, &c->counter_ids, c->counters[i].name, c->counters[i].len, i);
  for (uint32_t i = 0; i < c->nsegments; i++)
    if (c->segments[i].live)
      pc_strmap_put(m, &c->segment_ids, c->segments[i].name, c->segments[i].len, i);
  return c;
fail:
  df_free(m, c);
  return NULL;
}

int df_attr_find(const df_defs *d, const char *name, size_t len, uint32_t *id) {
  uint64_t v;
  if (pc_strmap_get(&d->attr_ids, name, len, &v) < 0) return POND_NOTFOUND;
  *id = (uint32_t)v;
  return POND_OK;
}

int df_group_find(const df_defs *d, const char *name, size_t len, uint32_t *id) {
  uint64_t v;
  if (pc_strmap_get(&d->group_ids, name, len, &v) < 0) return POND_NOTFOUND;
  *id = (uint32_t)v;
  return POND_OK;
}

int df_counter_find(const df_defs *d, const char *name, size_t len, uint32_t *id) {
  uint64_t v;
  if (pc_strmap_get(&d->counter_ids, name, len, &v) < 0) return POND_NOTFOUND;
  *id = (uint32_t)v;
  return POND_OK;
}

int df_segment_find(const df_defs *d, const char *name, size_t len, uint32_t *id) {
  uint64_t v;
  if (pc_strmap_get(&d->segment_ids, name, len, &v) < 0) return POND_NOTFOUND;
  *id = (uint32_t)v;
  return POND_OK;
}

/* Grows an array of n used / *cap slots of size sz by one slot. */
static int grow(pc_mem *m, void **arr, uint32_t n, uint32_t *cap, size_t sz) {
  if (n < *cap) return POND_OK;
  if (n >= UINT32_MAX / 2) return POND_ENOMEM;
  uint32_t nc = *cap ? *cap * 2 : 8;
  void *p = pc_realloc(m, *arr, *cap * sz, nc * sz);
  if (!p) return POND_ENOMEM;
  memset((char *)p + *cap * sz, 0, (nc - *cap) * sz);
  *arr = p;
  *cap = nc;
  return POND_OK;
}

int df_attr_add(pc_mem *m, df_defs *d, const char *name, size_t len, int type,
                char *json, size_t jlen, uint32_t *id) {
  void *arr = d->attrs;
  POND_TRY(grow(m, &arr, d->nattrs, &d->cattrs, sizeof *d->attrs));
  d->attrs = arr;
  POND_TRY(pc_strmap_reserve(m, &d->attr_ids, 1));
  char *nm = pc_strndup(m, name, len);
  if (!nm) return POND_ENOMEM;
  df_attr *a = &d->attrs[d->nattrs];
  a->name = nm;
  a->len = (uint32_t)len;
  a->type = (uint8_t)type;
  a->live = 1;
  a->json = json;
  a->jlen = jlen;
  pc_strmap_put(m, &d->attr_ids, nm, len, d->nattrs);
  *id = d->nattrs++;
  return POND_OK;
}

int df_group_add(pc_mem *m, df_defs *d, const char *name, size_t len, int exclusive,
                 int64_t ttl, char *json, size_t jlen, uint32_t *id) {
  void *arr = d->groups;
  POND_TRY(grow(m, &arr, d->ngroups, &d->cgroups, sizeof *d->groups));
  d->groups = arr;
  POND_TRY(pc_strmap_reserve(m, &d->group_ids, 1));
  char *nm = pc_strndup(m, name, len);
  if (!nm) return POND_ENOMEM;
  df_group *g = &d->groups[d->ngroups];
  g->name = nm;
  g->len = (uint32_t)len;
  g->exclusive = (uint8_t)!!exclusive;
  g->live = 1;
  g->ttl = ttl;
  g->json = json;
  g->jlen = jlen;
  pc_strmap_put(m, &d->group_ids, nm, len, d->ngroups);
  *id = d->ngroups++;
  return POND_OK;
}

int df_counter_add(pc_mem *m, df_defs *d, const char *name, size_t len, char *json,
                   size_t jlen, uint32_t *id) {
  void *arr = d->counters;
  POND_TRY(grow(m, &arr, d->ncounters, &d->ccounters, sizeof *d->counters));
  d->counters = arr;
  POND_TRY(pc_strmap_reserve(m, &d->counter_ids, 1));
  char *nm = pc_strndup(m, name, len);
  if (!nm) return POND_ENOMEM;
  df_counter *k = &d->counters[d->ncounters];
  k->name = nm;
  k->len = (uint32_t)len;
  k->live = 1;
  k->json = json;
  k->jlen = jlen;
  pc_strmap_put(m, &d->counter_ids, nm, len, d->ncounters);
  *id = d->ncounters++;
  return POND_OK;
}

int df_segment_put(pc_mem *m, df_defs *d, const char *name, size_t len, char *where,
                   size_t wlen, char *json, size_t jlen, uint32_t *id) {
  uint32_t i;
  if (df_segment_find(d, name, len, &i) == POND_OK) {
    df_segment *g = &d->segments[i];
    pc_free(m, g->where, g->wlen + 1);
    g->where = where;
    g->wlen = wlen;
    df_set_json(m, &g->json, &g->jlen, json, jlen);
    *id = i;
    return POND_OK;
  }
  void *arr = d->segments;
  POND_TRY(grow(m, &arr, d->nsegments, &d->csegments, sizeof *d->segments));
  d->segments = arr;
  POND_TRY(pc_strmap_reserve(m, &d->segment_ids, 1));
  char *nm = pc_strndup(m, name, len);
  if (!nm) return POND_ENOMEM;
  df_segment *g = &d->segments[d->nsegments];
  g->name = nm;
  g->len = (uint32_t)len;
  g->live = 1;
  g->where = where;
  g->wlen = wlen;
  g->json = json;
  g->jlen = jlen;
  pc_strmap_put(m, &d->segment_ids, nm, len, d->nsegments);
  *id = d->nsegments++;
  return POND_OK;
}

void df_set_json(pc_mem *m, char **slot, size_t *slen, char *json, size_t jlen) {
  pc_free(m, *slot, *slen + 1);
  *slot = json;
  *slen = jlen;
}

void df_attr_drop(pc_mem *m, df_defs *d, uint32_t id) {
  df_attr *a = &d->attrs[id];
  pc_strmap_del(&d->attr_ids, a->name, a->len);
  df_set_json(m, &a->json, &a->jlen, NULL, 0);
  a->live = 0;
}

void df_group_drop(pc_mem *m, df_defs *d, uint32_t id) {
  df_group *g = &d->groups[id];
  pc_strmap_del(&d->group_ids, g->name, g->len);
  df_set_json(m, &g->json, &g->jlen, NULL, 0);
  g->live = 0;
}

void df_counter_drop(pc_mem *m, df_defs *d, uint32_t id) {
  df_counter *k = &d->counters[id];
  pc_strmap_del(&d->counter_ids, k->name, k->len);
  df_set_json(m, &k->json, &k->jlen, NULL, 0);
  k->live = 0;
}

void df_segment_drop(pc_mem *m, df_defs *d, uint32_t id) {
  df_segment *g = &d->segments[id];
  pc_strmap_del(&d->segment_ids, g->name, g->len);
  pc_free(m, g->where, g->wlen + 1);
  g->where = NULL;
  g->wlen = 0;
  df_set_json(m, &g->json, &g->jlen, NULL, 0);
  g->live = 0;
}

/* Built-in events that a counter cannot count (yet): only "message" is
 * counted among the library's own events. */
static const char *const builtin_events[] = {"customer.added", "tag.added:", "tag.removed:",
                                             "stage.entered:", "segment.entered:",
                                             "segment.left:", "keyword:", NULL};

/* 1 if name is (or starts like) one of the library's built-in events other
 * than "message" (which pond_message raises). Shared with pond_event, which
 * refuses them. */
int df_builtin_event(const char *s, size_t n) {
  for (size_t i = 0; builtin_events[i]; i++) {
    size_t bl = strlen(builtin_events[i]);
    int prefix = builtin_events[i][bl - 1] == ':';
    if ((prefix ? n >= bl : n == bl) && memcmp(s, builtin_events[i], bl) == 0) return 1;
  }
  return 0;
}

static const char *const type_names[] = {NULL, "int", "time", "string", "bool"};

const char *df_type_name(int type) {
  return type >= DF_T_INT && type <= DF_T_BOOL ? type_names[type] : "?";
}

int df_type_parse(const char *s, size_t n) {
  for (int t = DF_T_INT; t <= DF_T_BOOL; t++)
    if (strlen(type_names[t]) == n && memcmp(type_names[t], s, n) == 0) return t;
  return 0;
}

static const struct {
  char unit;
  int64_t secs;
} units[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};

int df_dur_parse(const char *s, size_t n, int64_t *secs) {
  if (n < 2 || s[0] < '0' || s[0] > '9') return POND_EINVAL;
  int64_t mul = 0;
  for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
    if (s[n - 1] == units[u].unit) mul = units[u].secs;
  if (!mul) return POND_EINVAL;
  int64_t v = 0;
  for (size_t i = 0; i < n - 1; i++) {
    if (s[i] < '0' || s[i] > '9') return POND_EINVAL;
    if (v > (INT64_MAX - (s[i] - '0')) / 10) return POND_EINVAL;
    v = v * 10 + (s[i] - '0');
  }
  if (v > INT64_MAX / mul) return POND_EINVAL;
  *secs = v * mul;
  return POND_OK;
}

void df_dur_format(int64_t secs, char *out) {
  for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
    if (secs % units[u].secs == 0) {
      snprintf(out, 24, "%lld%c", (long long)(secs / units[u].secs), units[u].unit);
      return;
    }
  }
}
