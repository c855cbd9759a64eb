/*
 * defs.h — the merged definitions of a db: declared attributes, tag
 * groups, counters and segments (later: machines, keywords, rules).
 *
 * A df_defs is immutable once published in the db: pond_define builds a new
 * one (df_clone + changes) and swaps it in whole, so a transaction's
 * before-image of the definitions is just the old pointer.
 *
 * Ids are indexes into attrs[] / groups[] / counters[] / segments[]; they
 * are stable and never reused:
 * a dropped name keeps its slot with live = 0, and defining the name again
 * gives it a new id. Each live entry keeps its canonical JSON (json, jlen):
 * what the store will persist and what a dump shows.
 */
#ifndef POND_DEFINE_DEFS_H
#define POND_DEFINE_DEFS_H

#include <stddef.h>
#include <stdint.h>

#include "core/map.h"
#include "core/mem.h"

/* Attribute types; the same values as the query part's QY_T_*. */
enum { DF_T_INT = 1, DF_T_TIME, DF_T_STRING, DF_T_BOOL };

typedef struct df_attr {
  char *name; /* NUL-terminated, owned */
  uint32_t len;
  uint8_t type; /* DF_T_* */
  uint8_t live;
  char *json; /* canonical definition, owned (NULL when dropped) */
  size_t jlen;
} df_attr;

typedef struct df_group {
  char *name;
  uint32_t len;
  uint8_t exclusive;
  uint8_t live;
  int64_t ttl; /* seconds; 0: none */
  char *json;
  size_t jlen;
} df_group;

/* A counter: an event name whose per-customer count and last time are
 * kept in the customer records (db/rec.h, CU_CTR entries). */
typedef struct df_counter {
  char *name;
  uint32_t len;
  uint8_t live;
  char *json; /* canonical definition: the name as a JSON string */
  size_t jlen;
} df_counter;

/* A saved segment: a query expression, checked against the definitions
 * whenever they change (references to other segments are inlined when a
 * query is prepared). */
typedef struct df_segment {
  char *name;
  uint32_t len;
  uint8_t live;
  char *where; /* NUL-terminated, owned (NULL when dropped) */
  size_t wlen;
  char *json;
  size_t jlen;
} df_segment;

typedef struct df_defs {
  df_attr *attrs;
  uint32_t nattrs, cattrs;
  df_group *groups;
  uint32_t ngroups, cgroups;
  df_counter *counters;
  uint32_t ncounters, ccounters;
  df_segment *segments;
  uint32_t nsegments, csegments;
  pc_strmap attr_ids;  /* live attribute name -> id (keys borrowed from attrs) */
  pc_strmap group_ids; /* live group name -> id */
  pc_strmap counter_ids;
  pc_strmap segment_ids;
  struct lc_mset *machines; /* lifecycle machines (lifecycle/lc.h), shared
                               between clones by a reference count; NULL:
                               none defined */
} df_defs;

df_defs *df_new(pc_mem *m);
/* A deep copy, or NULL on allocation failure. */
df_defs *df_clone(pc_mem *m, const df_defs *d);
void df_free(pc_mem *m, df_defs *d);

/* POND_OK and *id, or POND_NOTFOUND. */
int df_attr_find(const df_defs *d, const char *name, size_t len, uint32_t *id);
int df_group_find(const df_defs *d, const char *name, size_t len, uint32_t *id);
int df_counter_find(const df_defs *d, const char *name, size_t len, uint32_t *id);
int df_segment_find(const df_defs *d, const char *name, size_t len, uint32_t *id);

/* Appends a new live attribute / group (name copied, json adopted on
 * success). POND_ENOMEM leaves d unchanged and json owned by the caller. */
int df_attr_add(pc_mem *m, df_defs *d, const char *name, size_t len, int type,
                char *json, size_t jlen, uint32_t *id);
int df_group_add(pc_mem *m, df_defs *d, const char *name, size_t len, int exclusive,
                 int64_t ttl, char *json, size_t jlen, uint32_t *id);
/* A new live counter (name copied, json adopted on success). POND_ENOMEM
 * leaves d unchanged. */
int df_counter_add(pc_mem *m, df_defs *d, const char *name, size_t len, char *json,
                   size_t jlen, uint32_t *id);
/* A new live segment, or a new text for a live one (*id found by name):
 * where and json are adopted on success. */
int df_segment_put(pc_mem *m, df_defs *d, const char *name, size_t len, char *where,
                   size_t wlen, char *json, size_t jlen, uint32_t *id);
/* Replaces the canonical JSON of an entry (adopting json; never fails). */
void df_set_json(pc_mem *m, char **slot, size_t *slen, char *json, size_t jlen);
/* Marks an entry dropped: removes its name from the index, frees its json. */
void df_attr_drop(pc_mem *m, df_defs *d, uint32_t id);
void df_group_drop(pc_mem *m, df_defs *d, uint32_t id);
void df_counter_drop(pc_mem *m, df_defs *d, uint32_t id);
void df_segment_drop(pc_mem *m, df_defs *d, uint32_t id);

/* 1 if s[0..n) names one of the library's own events other than
 * "message" ("customer.added", "tag.added:…", "stage.entered:…", …):
 * counters cannot count them (yet) and hosts cannot raise them. */
int df_builtin_event(const char *s, size_t n);

/* "int", "time", "string", "bool" and back (0 when unknown). */
const char *df_type_name(int type);
int df_type_parse(const char *s, size_t n);

/* Durations: "45s", "15m", "12h", "30d", "2w" (a positive integer and a
 * lower-case unit). POND_OK and *secs, or POND_EINVAL. df_dur_format writes
 * the canonical text (largest exact unit) to out (>= 24 bytes). */
int df_dur_parse(const char *s, size_t n, int64_t *secs);
void df_dur_format(int64_t secs, char *out);

#endif
