/*
 * plan.h — a validated definition document, ready to apply (private to
 * lib/define/).
 *
 * df_check reads the JSON tree and the db without changing anything and
 * either fails with a JSON-path message or fills a plan; df_apply then
 * applies the plan, failing only for lack of memory (and then changing
 * nothing). Names in a plan point into the JSON tree, which must outlive it.
 *
 * Order of application: drops, then attributes, tag groups, counters and
 * segments — so a document may drop a name and define it anew. Segments'
 * expressions are checked while applying (df_apply, before anything
 * changes), against the definitions the document produces.
 */
#ifndef POND_DEFINE_PLAN_H
#define POND_DEFINE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "json/json.h"

struct pond_db;

enum { DFP_ATTR = 1, DFP_GROUP, DFP_TAG, DFP_COUNTER, DFP_SEGMENT };

typedef struct dfp_drop {
  int kind;    /* DFP_* */
  uint32_t id; /* attribute, group or tag id */
} dfp_drop;

typedef struct dfp_attr {
  const char *name;
  size_t len;
  int type; /* DF_T_* */
} dfp_attr;

typedef struct dfp_group {
  const char *name;
  size_t len;
  int exclusive;
  int64_t ttl;
  const pj_value *tags; /* array of strings, or NULL */
} dfp_group;

typedef struct dfp_counter {
  const char *name;
  size_t len;
} dfp_counter;

typedef struct dfp_segment {
  const char *name;
  size_t len;
  const pj_value *where; /* the string; its offset is the error position */
} dfp_segment;

typedef struct df_plan {
  dfp_drop *drops;
  size_t ndrops, cdrops;
  dfp_attr *attrs;
  size_t nattrs, cattrs;
  dfp_group *groups;
  size_t ngroups, cgroups;
  dfp_counter *counters;
  size_t ncounters, ccounters;
  dfp_segment *segments;
  size_t nsegments, csegments;
  struct lc_plan *machines; /* "machines" (lifecycle/mdef.c), or NULL */
} df_plan;

int df_check(struct pond_db *db, const pj_value *root, df_plan *p);
int df_apply(struct pond_db *db, df_plan *p);
void df_plan_free(pc_mem *m, df_plan *p);

/* The most live attributes / counters / segments a db may declare. */
#define DF_MAX_ATTRS 4096
#define DF_MAX_COUNTERS 4096
#define DF_MAX_SEGMENTS 4096

#endif
