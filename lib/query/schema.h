/*
 * schema.h — what the query checker needs to know about a tenant's
 * definitions. The db implements it over its own tables; tests and the fuzzer
 * implement it over a fixed fake.
 *
 * Every lookup takes a name as (bytes, length) — not NUL-terminated — and
 * returns POND_OK with the id, POND_NOTFOUND, or another negative status
 * (e.g. POND_ENOMEM) that aborts the prepare and is passed through. Ids are
 * the schema's own and opaque to the query part; they come back to the
 * schema's owner through the checked tree (qy_node.id, qy_value.id).
 *
 * Any function pointer may be NULL: that kind of name does not exist (a
 * tenant without lifecycle machines leaves machine/state NULL and every
 * stage('m') is "unknown machine 'm'").
 *
 * The schema must not change while qy_prepare runs; the ids it hands out are
 * valid for as long as its owner says (the db invalidates prepared queries
 * on redefinition).
 */
#ifndef POND_QUERY_SCHEMA_H
#define POND_QUERY_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

/* Kinds of names, for qy_schema.names. */
enum {
  QY_NAME_ATTR = 1, /* declared attributes (built-in columns are added by the checker) */
  QY_NAME_TAG,      /* tags as "group/name"; scope: a group id, or QY_SCOPE_ALL */
  QY_NAME_GROUP,    /* tag groups */
  QY_NAME_COUNTER,  /* declared counters */
  QY_NAME_MACHINE,  /* lifecycle machines */
  QY_NAME_STATE,    /* states of the machine whose id is scope */
  QY_NAME_SEGMENT,  /* saved segments */
};

#define QY_SCOPE_ALL UINT32_MAX

/* Receives one name; the bytes are borrowed for the duration of the call. */
typedef void (*qy_name_fn)(void *arg, const char *name, size_t len);

typedef struct qy_schema {
  void *ctx;
  /* A declared attribute: its id and type (QY_T_INT, QY_T_TIME,
   * QY_T_STRING or QY_T_BOOL from ast.h). */
  int (*attr)(void *ctx, const char *name, size_t len, uint32_t *id, int *type);
  /* A tag by its full name "group/name". */
  int (*tag)(void *ctx, const char *name, size_t len, uint32_t *id);
  /* A tag group by name (for the wildcard tag("g/" "*")). */
  int (*group)(void *ctx, const char *name, size_t len, uint32_t *id);
  int (*counter)(void *ctx, const char *name, size_t len, uint32_t *id);
  int (*machine)(void *ctx, const char *name, size_t len, uint32_t *id);
  /* A state of machine (an id from machine()). */
  int (*state)(void *ctx, uint32_t machine, const char *name, size_t len, uint32_t *id);
  /* A saved segment: its where-expression, borrowed until qy_prepare
   * returns. The checker parses and inlines it. */
  int (*segment)(void *ctx, const char *name, size_t len, const char **where,
                 size_t *wlen);
  /* Calls each(arg, name, len) for every name of kind (within scope, for
   * QY_NAME_TAG and QY_NAME_STATE), in any order. Used only to suggest a
   * spelling after a lookup failed, so it may be slow. May be NULL. */
  void (*names)(void *ctx, int kind, uint32_t scope, qy_name_fn each, void *arg);
} qy_schema;

#endif
