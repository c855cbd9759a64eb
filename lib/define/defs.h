/*
 * defs.h — the merged definitions of a db: declared attributes and tag
 * groups (later: counters, machines, segments, keywords, rules).
 *
 * A df_defs is immutable once published in the db: pond_define builds a new
 * one (df_clone + changes) and swaps it in whole, so a transaction's
 * before-image of the definitions is just the old pointer.
 *
 * Ids are indexes into attrs[] / groups[]; they are stable and never reused:
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

typedef struct df_defs {
  df_attr *attrs;
  uint32_t nattrs, cattrs;
  df_group *groups;
  uint32_t ngroups, cgroups;
  pc_strmap attr_ids;  /* live attribute name -> id (keys borrowed from attrs) */
  pc_strmap group_ids; /* live group name -> id */
} df_defs;

df_defs *df_new(pc_mem *m);
/* A deep copy, or NULL on allocation failure. */
df_defs *df_clone(pc_mem *m, const df_defs *d);
void df_free(pc_mem *m, df_defs *d);

/* POND_OK and *id, or POND_NOTFOUND. */
int df_attr_find(const df_defs *d, const char *name, size_t len, uint32_t *id);
int df_group_find(const df_defs *d, const char *name, size_t len, uint32_t *id);

/* Appends a new live attribute / group (name copied, json adopted on
 * success). POND_ENOMEM leaves d unchanged and json owned by the caller. */
int df_attr_add(pc_mem *m, df_defs *d, const char *name, size_t len, int type,
                char *json, size_t jlen, uint32_t *id);
int df_group_add(pc_mem *m, df_defs *d, const char *name, size_t len, int exclusive,
                 int64_t ttl, char *json, size_t jlen, uint32_t *id);
/* Replaces the canonical JSON of an entry (adopting json; never fails). */
void df_set_json(pc_mem *m, char **slot, size_t *slen, char *json, size_t jlen);
/* Marks an entry dropped: removes its name from the index, frees its json. */
void df_attr_drop(pc_mem *m, df_defs *d, uint32_t id);
void df_group_drop(pc_mem *m, df_defs *d, uint32_t id);

/* "int", "time", "string", "bool" and back (0 when unknown). */
const char *df_type_name(int type);
int df_type_parse(const char *s, size_t n);

/* Durations: "45s", "15m", "12h", "30d", "2w" (a positive integer and a
 * lower-case unit). POND_OK and *secs, or POND_EINVAL. df_dur_format writes
 * the canonical text (largest exact unit) to out (>= 24 bytes). */
int df_dur_parse(const char *s, size_t n, int64_t *secs);
void df_dur_format(int64_t secs, char *out);

#endif
