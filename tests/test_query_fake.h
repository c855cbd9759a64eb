/*
 * test_query_fake.h — a fixed, in-memory qy_schema for the query tests and
 * the query fuzzer: the definitions of DEFINITIONS.md's example plus a few
 * names that exercise quoting, and segments (some of them cyclic or
 * invalid on purpose). Tests may add segments at run time (fq_add_segment)
 * and switch the machines off (fake.no_machines) to model a tenant without
 * lifecycle machines.
 */
#ifndef POND_TESTS_QUERY_FAKE_H
#define POND_TESTS_QUERY_FAKE_H

#include <string.h>

#include "pond.h"
#include "query/ast.h"
#include "query/schema.h"

static const struct {
  const char *name;
  int type;
} fq_attrs[] = {
    {"spend", QY_T_INT},      {"score", QY_T_INT},       {"birthday", QY_T_TIME},
    {"region", QY_T_STRING},  {"owner", QY_T_STRING},    {"channel", QY_T_STRING},
    {"vip", QY_T_BOOL},       {"active", QY_T_BOOL},     {"地区", QY_T_STRING},
    {"first name", QY_T_STRING}, {"Order", QY_T_INT},    {"count", QY_T_INT},
};

static const char *const fq_groups[] = {"跟进状态", "来源", "活动", "意向", "状态", "vip"};

static const char *const fq_tags[] = {
    "跟进状态/待跟进", "跟进状态/跟进中", "跟进状态/已成交", "来源/门店扫码", "来源/直播",
    "来源/广告",       "意向/问价",       "意向/比价",       "状态/免打扰",   "vip/gold",
    "vip/silver",      "活动/618",
};

static const char *const fq_counters[] = {"order.paid", "message", "link.opened"};

static const char *const fq_machines[] = {"lifecycle", "service"};
static const char *const fq_states[2][6] = {
    {"new", "intent", "paying", "repeat", "silent", "churned"},
    {"open", "closed", NULL, NULL, NULL, NULL},
};

#define FQ_MAX_SEGMENTS 128

typedef struct fq_schema {
  int no_machines;
  size_t nseg;
  const char *seg_name[FQ_MAX_SEGMENTS];
  const char *seg_where[FQ_MAX_SEGMENTS];
  int fail_lookups; /* return this status from every lookup when non-zero */
} fq_schema;

static int fq_eq(const char *a, const char *s, size_t n) {
  return strlen(a) == n && memcmp(a, s, n) == 0;
}

static int fq_attr(void *ctx, const char *s, size_t n, uint32_t *id, int *type) {
  fq_schema *f = ctx;
  if (f->fail_lookups) return f->fail_lookups;
  for (size_t i = 0; i < sizeof fq_attrs / sizeof fq_attrs[0]; i++)
    if (fq_eq(fq_attrs[i].name, s, n)) {
      *id = (uint32_t)i;
      *type = fq_attrs[i].type;
      return POND_OK;
    }
  return POND_NOTFOUND;
}

static int fq_find(const char *const *names, size_t count, const char *s, size_t n,
                   uint32_t *id) {
  for (size_t i = 0; i < count; i++)
    if (names[i] && fq_eq(names[i], s, n)) {
      *id = (uint32_t)i;
      return POND_OK;
    }
  return POND_NOTFOUND;
}

#define FQ_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int fq_tag(void *ctx, const char *s, size_t n, uint32_t *id) {
  (void)ctx;
  return fq_find(fq_tags, FQ_COUNT(fq_tags), s, n, id);
}
static int fq_group(void *ctx, const char *s, size_t n, uint32_t *id) {
  (void)ctx;
  return fq_find(fq_groups, FQ_COUNT(fq_groups), s, n, id);
}
static int fq_counter(void *ctx, const char *s, size_t n, uint32_t *id) {
  (void)ctx;
  return fq_find(fq_counters, FQ_COUNT(fq_counters), s, n, id);
}
static int fq_machine(void *ctx, const char *s, size_t n, uint32_t *id) {
  fq_schema *f = ctx;
  if (f->no_machines) return POND_NOTFOUND;
  return fq_find(fq_machines, FQ_COUNT(fq_machines), s, n, id);
}
static int fq_state(void *ctx, uint32_t m, const char *s, size_t n, uint32_t *id) {
  (void)ctx;
  if (m >= FQ_COUNT(fq_machines)) return POND_NOTFOUND;
  return fq_find(fq_states[m], 6, s, n, id);
}
static int fq_segment(void *ctx, const char *s, size_t n, const char **w, size_t *wn) {
  fq_schema *f = ctx;
  for (size_t i = 0; i < f->nseg; i++)
    if (fq_eq(f->seg_name[i], s, n)) {
      *w = f->seg_where[i];
      *wn = strlen(f->seg_where[i]);
      return POND_OK;
    }
  return POND_NOTFOUND;
}

/* The group of a tag name, as the length of its prefix before '/'. */
static size_t fq_group_len(const char *t) { return (size_t)(strchr(t, '/') - t); }

static void fq_names(void *ctx, int kind, uint32_t scope, qy_name_fn each, void *arg) {
  fq_schema *f = ctx;
  size_t i;
  switch (kind) {
    case QY_NAME_ATTR:
      for (i = 0; i < FQ_COUNT(fq_attrs); i++) each(arg, fq_attrs[i].name, strlen(fq_attrs[i].name));
      break;
    case QY_NAME_TAG:
      for (i = 0; i < FQ_COUNT(fq_tags); i++) {
        if (scope != QY_SCOPE_ALL &&
            !(fq_group_len(fq_tags[i]) == strlen(fq_groups[scope]) &&
              memcmp(fq_tags[i], fq_groups[scope], strlen(fq_groups[scope])) == 0))
          continue;
        each(arg, fq_tags[i], strlen(fq_tags[i]));
      }
      break;
    case QY_NAME_GROUP:
      for (i = 0; i < FQ_COUNT(fq_groups); i++) each(arg, fq_groups[i], strlen(fq_groups[i]));
      break;
    case QY_NAME_COUNTER:
      for (i = 0; i < FQ_COUNT(fq_counters); i++) each(arg, fq_counters[i], strlen(fq_counters[i]));
      break;
    case QY_NAME_MACHINE:
      if (!f->no_machines)
        for (i = 0; i < FQ_COUNT(fq_machines); i++) each(arg, fq_machines[i], strlen(fq_machines[i]));
      break;
    case QY_NAME_STATE:
      if (scope < FQ_COUNT(fq_machines))
        for (i = 0; i < 6; i++)
          if (fq_states[scope][i]) each(arg, fq_states[scope][i], strlen(fq_states[scope][i]));
      break;
    case QY_NAME_SEGMENT:
      for (i = 0; i < f->nseg; i++) each(arg, f->seg_name[i], strlen(f->seg_name[i]));
      break;
  }
}

static void fq_add_segment(fq_schema *f, const char *name, const char *where) {
  for (size_t i = 0; i < f->nseg; i++)
    if (strcmp(f->seg_name[i], name) == 0) {
      f->seg_where[i] = where;
      return;
    }
  if (f->nseg < FQ_MAX_SEGMENTS) {
    f->seg_name[f->nseg] = name;
    f->seg_where[f->nseg] = where;
    f->nseg++;
  }
}

/* The default fake: DEFINITIONS.md's segment and a few for the tests. */
static void fq_init(fq_schema *f, qy_schema *s) {
  memset(f, 0, sizeof *f);
  fq_add_segment(f, "vip_active", "spend >= 10000 AND last_seen >= now() - 30d");
  fq_add_segment(f, "store_leads", "tag('来源/门店扫码') AND NOT segment('vip_active')");
  fq_add_segment(f, "cyc_a", "vip AND segment('cyc_b')");
  fq_add_segment(f, "cyc_b", "active OR segment('cyc_a')");
  fq_add_segment(f, "self", "segment('self')");
  fq_add_segment(f, "broken", "spend > 10 AND\n  region > 'x'");
  fq_add_segment(f, "uses_broken", "vip OR segment('broken')");
  fq_add_segment(f, "always", "TRUE OR vip");
  s->ctx = f;
  s->attr = fq_attr;
  s->tag = fq_tag;
  s->group = fq_group;
  s->counter = fq_counter;
  s->machine = fq_machine;
  s->state = fq_state;
  s->segment = fq_segment;
  s->names = fq_names;
}

#endif
