/*
 * ast.h — the syntax tree of a segment query, and the arena that holds it.
 *
 * One tree per prepared query, allocated in a qy_arena (a list of blocks
 * taken from the db's pc_mem and released all at once). Nodes never point
 * outside their arena, except that a checked tree shares the inlined subtree
 * of a segment referenced several times (the tree is then a DAG; it is never
 * mutated after qy_prepare returns, so sharing is safe).
 *
 * AND and OR are n-ary: `a AND b AND c` is one node with three children, so
 * the tree is as deep as the text's nesting (parentheses, NOT, segment
 * references), never as long as a chain of ANDs. Every recursive walk over a
 * tree is therefore bounded by the depth limit (see qy.h).
 */
#ifndef POND_QUERY_AST_H
#define POND_QUERY_AST_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"

/* ------------------------------------------------------------------ arena */

typedef struct qy_block qy_block;

typedef struct qy_arena {
  pc_mem *m;
  qy_block *head; /* newest block first */
  size_t used;    /* bytes handed out from head */
  size_t total;   /* bytes held, for accounting */
} qy_arena;

void qy_arena_init(qy_arena *a, pc_mem *m);
void qy_arena_free(qy_arena *a);
/* n bytes aligned for any scalar, uninitialized; NULL on allocation failure. */
void *qy_arena_alloc(qy_arena *a, size_t n);
/* A NUL-terminated copy of s[0..len). */
char *qy_arena_strdup(qy_arena *a, const char *s, size_t len);

/* ------------------------------------------------------------------ types */

/* Types of operands. QY_T_NONE: not yet resolved. */
typedef enum qy_type {
  QY_T_NONE = 0,
  QY_T_INT,
  QY_T_TIME,
  QY_T_STRING,
  QY_T_BOOL,
} qy_type;

const char *qy_type_name(int type);

/* A byte string inside the arena, NUL-terminated. */
typedef struct qy_str {
  const char *p;
  uint32_t len;
} qy_str;

/*
 * A literal. Times are `base + delta` seconds, where base is now() when
 * `now` is set (then `base` is unused) or an absolute epoch time: keeping
 * the two apart lets the printer render `TIMESTAMP '…' + 1d` as written and
 * lets evaluation add the caller's now. Folding merges delta into an
 * absolute base.
 */
typedef struct qy_value {
  uint8_t type; /* QY_T_INT, QY_T_TIME, QY_T_STRING, QY_T_BOOL */
  uint8_t now;  /* QY_T_TIME relative to now() */
  uint32_t off; /* byte offset of the literal in its text */
  int64_t i;    /* int, bool (0/1), time base */
  int64_t delta; /* time: seconds added to the base (signed) */
  qy_str s;     /* string */
  uint32_t id;  /* string compared with stage('m'): the state's id */
} qy_value;

/* ------------------------------------------------------------------ nodes */

typedef enum qy_kind {
  /* predicates (type bool, three-valued) */
  QY_CONST = 1, /* v.i: 1 TRUE, 0 FALSE */
  QY_AND,       /* kids[0..n) */
  QY_OR,        /* kids[0..n) */
  QY_NOT,       /* a */
  QY_TAG,       /* name "g/t" (id: tag), or the group wildcard "g/" "*" (neg=1, id: group) */
  QY_SEGMENT,   /* name; a: the segment's checked tree (after checking) */
  QY_BOOLCOL,   /* a: a bool column standing alone */
  QY_CMP,       /* a op b */
  QY_IN,        /* a [NOT] IN (items[0..n)) */
  QY_BETWEEN,   /* a [NOT] BETWEEN b AND c */
  QY_LIKE,      /* a [NOT] LIKE v (a string) */
  QY_ISNULL,    /* a IS [NOT] NULL */
  /* operands */
  QY_COLUMN,    /* op: qy_col; name; id */
  QY_LITERAL,   /* v */
} qy_kind;

typedef enum qy_cmpop {
  QY_EQ = 1,
  QY_NE,
  QY_LT,
  QY_LE,
  QY_GT,
  QY_GE,
} qy_cmpop;

/* What a QY_COLUMN reads. */
typedef enum qy_col {
  QY_COL_ATTR = 1,  /* a declared attribute (name; id from the schema) */
  QY_COL_CID,       /* int, never NULL */
  QY_COL_ADDED_AT,  /* time, never NULL */
  QY_COL_LAST_SEEN, /* time, NULL before the first activity */
  QY_COL_STAGE,     /* string, never NULL; name = machine, id = machine */
  QY_COL_SINCE,     /* time, never NULL; name = machine */
  QY_COL_COUNT,     /* int, never NULL; name = counter */
  QY_COL_LAST,      /* time, NULL when no such event; name = counter */
} qy_col;

typedef struct qy_node qy_node;

struct qy_node {
  uint8_t kind;   /* qy_kind */
  uint8_t type;   /* operand type once checked; QY_T_BOOL for predicates */
  uint8_t op;     /* QY_CMP: qy_cmpop; QY_COLUMN: qy_col */
  uint8_t neg;    /* NOT IN / NOT BETWEEN / NOT LIKE / IS NOT NULL; tag wildcard */
  uint8_t quoted; /* QY_COLUMN written as "…" (for hints only) */
  uint16_t depth; /* nesting (parentheses, NOT) within its own text */
  uint32_t off;   /* byte offset of the node's first token */
  uint32_t n;     /* children of AND/OR, items of IN */
  uint32_t id;    /* schema id once checked (attr, tag, group, machine, counter) */
  qy_str name;    /* attribute, tag, segment, machine or counter name */
  qy_node *a, *b, *c;
  qy_node **kids; /* AND/OR */
  qy_value *items; /* IN */
  qy_value v;     /* QY_LITERAL value, QY_LIKE pattern, QY_CONST truth */
  /* QY_IN after planning (see plan.c): the items as a sorted set without
   * duplicates, when none is relative to now(). */
  uint8_t planned;
  uint16_t height; /* levels of the tree below and including this node */
  uint32_t idx;    /* 0..qy_query.nidx-1, distinct per distinct node */
  uint32_t nset;
  const int64_t *iset;  /* numeric or bool items */
  const qy_str *sset;   /* string items (byte order) */
  const uint32_t *idset; /* states, against stage('m') */
};

/* 1 if the column can be NULL. */
int qy_col_nullable(int col);

#endif
