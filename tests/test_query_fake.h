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
#include "query/source.h"

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

/* ------------------------------------------------ a fake customer (row) */

#define FQ_NOW INT64_C(1772323200) /* 2026-03-01T00:00:00Z */

/* splitmix64 (as th_rand, without the harness). */
static inline uint64_t fq_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

#define FQ_NATTR (sizeof fq_attrs / sizeof fq_attrs[0])
#define FQ_NTAGS (sizeof fq_tags / sizeof fq_tags[0])
#define FQ_NCOUNTERS 3
#define FQ_NMACHINES 2

typedef struct fq_cust {
  uint64_t cid;
  int64_t added_at, last_seen;
  int last_seen_null;
  int null[FQ_NATTR];
  int64_t iv[FQ_NATTR];
  const char *sv[FQ_NATTR];
  uint32_t tags; /* bit i: fq_tags[i] */
  uint32_t stage[FQ_NMACHINES];
  int64_t since[FQ_NMACHINES];
  int64_t count[FQ_NCOUNTERS], last[FQ_NCOUNTERS];
} fq_cust;

static const char *const fq_str_values[] = {"广东", "广东省", "广州", "北京", "alice", "bob", "",
                                         "it's", "门店", "Alice", "广东省深圳", "e", "a%e",
                                         "l_e", "东"};

static inline int64_t fq_rand_time(uint64_t *s) {
  /* around FQ_NOW: 100 days before to 10 days after, sometimes exactly on
   * the literals' boundaries */
  static const int64_t edges[] = {FQ_NOW, FQ_NOW - 30 * 86400, FQ_NOW - 86400,
                                  FQ_NOW + 12 * 3600, 1767225599 /* 2025-12-31 23:59:59 */};
  if (fq_rand(s) % 6 == 0) return edges[fq_rand(s) % 5];
  return FQ_NOW - 100 * 86400 + (int64_t)(fq_rand(s) % (110 * 86400));
}

/* Customer i of n, drawn from *s: values near FQ_NOW, about a quarter
 * NULL, the last two ids above 2^63. */
static inline void fq_make_cust(fq_cust *c, size_t i, size_t n, uint64_t *s) {
  {
    /* ascending ids with gaps; the last two above 2^63 (negative in SQLite) */
    c->cid = i + 1 + (i > 50 ? 1000 : 0) + (i > 150 ? (uint64_t)1 << 40 : 0);
    if (i >= n - 2) c->cid = UINT64_MAX - (n - 1 - i) * 7;
    c->added_at = fq_rand_time(s);
    c->last_seen_null = fq_rand(s) % 5 == 0;
    c->last_seen = fq_rand_time(s);
    for (size_t a = 0; a < FQ_NATTR; a++) {
      c->null[a] = fq_rand(s) % 4 == 0;
      switch (fq_attrs[a].type) {
        case QY_T_INT:
          c->iv[a] = fq_rand(s) % 10 == 0 ? (fq_rand(s) % 2 ? INT64_MAX : INT64_MIN)
                                           : (int64_t)(fq_rand(s) % 26) - 5;
          break;
        case QY_T_TIME: c->iv[a] = fq_rand_time(s); break;
        case QY_T_BOOL: c->iv[a] = (int64_t)(fq_rand(s) % 2); break;
        default: c->sv[a] = fq_str_values[fq_rand(s) % (sizeof fq_str_values / sizeof *fq_str_values)];
      }
    }
    c->tags = (uint32_t)(fq_rand(s) & fq_rand(s)) & ((1u << FQ_NTAGS) - 1);
    c->stage[0] = (uint32_t)(fq_rand(s) % 6);
    c->stage[1] = (uint32_t)(fq_rand(s) % 2);
    for (int m = 0; m < FQ_NMACHINES; m++) c->since[m] = fq_rand_time(s);
    for (int k = 0; k < FQ_NCOUNTERS; k++) {
      c->count[k] = fq_rand(s) % 3 == 0 ? 0 : (int64_t)(fq_rand(s) % 5);
      c->last[k] = fq_rand_time(s);
    }
  }
}

static inline int fq_row_tag(void *ctx, uint32_t tag) { return (((const fq_cust *)ctx)->tags >> tag) & 1; }

static inline int fq_row_group(void *ctx, uint32_t group) {
  const fq_cust *c = ctx;
  size_t gl = strlen(fq_groups[group]);
  for (size_t t = 0; t < FQ_NTAGS; t++)
    if ((c->tags >> t & 1) && fq_group_len(fq_tags[t]) == gl &&
        memcmp(fq_tags[t], fq_groups[group], gl) == 0)
      return 1;
  return 0;
}

static inline int fq_row_column(void *ctx, int col, uint32_t id, qy_cell *out) {
  const fq_cust *c = ctx;
  switch (col) {
    case QY_COL_ATTR:
      out->null = c->null[id];
      if (fq_attrs[id].type == QY_T_STRING) {
        out->s = c->sv[id];
        out->n = strlen(c->sv[id]);
      } else {
        out->i = c->iv[id];
      }
      return POND_OK;
    case QY_COL_ADDED_AT: out->i = c->added_at; return POND_OK;
    case QY_COL_LAST_SEEN:
      out->null = c->last_seen_null;
      out->i = c->last_seen;
      return POND_OK;
    case QY_COL_STAGE:
      out->id = c->stage[id];
      out->s = fq_states[id][c->stage[id]];
      out->n = strlen(out->s);
      return POND_OK;
    case QY_COL_SINCE: out->i = c->since[id]; return POND_OK;
    case QY_COL_COUNT: out->i = c->count[id]; return POND_OK;
    case QY_COL_LAST:
      out->null = c->count[id] == 0;
      out->i = c->last[id];
      return POND_OK;
  }
  return POND_EINVAL;
}

/* A qy_row reading c. */
static inline qy_row fq_row(const fq_cust *c) {
  qy_row r = {(void *)c, c->cid, fq_row_tag, fq_row_group, fq_row_column};
  return r;
}

#endif
