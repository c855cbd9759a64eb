/*
 * qy.h — the query part's interface to the rest of the library.
 *
 * qy_prepare turns query text into a checked tree: lex → parse (syntax,
 * limits) → check (names resolved through a qy_schema, types, segments
 * inlined with cycle detection) → fold (constants). Errors are POND_EPARSE
 * with "query:LINE:COL: message" and the byte offset in pc_err.offset;
 * POND_ELIMIT when a limit is exceeded; POND_ENOMEM.
 *
 * Positions: LINE counts '\n' (1-based); COL counts Unicode code points
 * from the start of the line (1-based), so a column matches what an editor
 * shows for CJK text; invalid UTF-8 bytes count one column each. The exact
 * byte offset is pc_err.offset (pond_error_offset).
 */
#ifndef POND_QUERY_QY_H
#define POND_QUERY_QY_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/mem.h"
#include "pond.h"
#include "query/ast.h"
#include "query/schema.h"

/* Defaults of pond_limits' query fields (QUERY.md) and hard ceilings: a
 * host may raise the limits, but never so far that a recursive walk over a
 * tree could exhaust a small thread stack or offsets overflow 32 bits. */
#define QY_DEFAULT_MAX_LEN 65536u
#define QY_DEFAULT_MAX_DEPTH 64u
#define QY_DEFAULT_MAX_NODES 4096u
#define QY_DEFAULT_MAX_IN 10000u
#define QY_HARD_MAX_LEN ((size_t)1 << 30)
#define QY_HARD_MAX_DEPTH 256u
#define QY_HARD_MAX_NODES 1000000u
#define QY_HARD_MAX_IN 10000000u

typedef struct qy_limits {
  size_t max_len;     /* bytes of text */
  unsigned max_depth; /* nesting: parentheses, NOT, segment references */
  unsigned max_nodes; /* tree nodes, inlined segments counted at each use */
  unsigned max_in;    /* items of one IN list */
} qy_limits;

/* Fills out from lim (NULL: all defaults); zeros become defaults, values
 * above the hard ceilings are clamped to them. */
void qy_limits_init(qy_limits *out, const pond_limits *lim);

typedef struct qy_query {
  pc_mem *m;
  qy_arena arena;
  qy_node *root;  /* a predicate */
  unsigned nodes; /* nodes, counting each use of a segment's tree */
  unsigned depth; /* deepest nesting reached */
} qy_query;

/* Flags of qy_prepare. */
#define QY_PARSE_ONLY 0x1u /* syntax and limits only; schema unused (may be NULL) */
#define QY_NO_FOLD 0x2u    /* keep the tree as written (for printing) */

/*
 * Prepares text[0..len) against schema. On success *out is a query to free
 * with qy_query_free; on failure *out is untouched and e describes the error.
 */
int qy_prepare(pc_mem *m, const qy_schema *schema, const pond_limits *lim,
               const char *text, size_t len, unsigned flags, qy_query **out,
               pc_err *e);
void qy_query_free(qy_query *q);

/*
 * Renders a tree as canonical query text: keywords upper case, functions
 * lower case, single spaces, the fewest parentheses that keep the tree's
 * shape, '!=' for '<>', durations in their largest exact unit, times as
 * TIMESTAMP 'YYYY-MM-DD[ HH:MM:SS]' (UTC). Parsing the output gives the same
 * tree. *out is NUL-terminated; free it with pc_free(m, *out, *len + 1).
 * POND_ENOMEM on allocation failure.
 */
int qy_print(pc_mem *m, const qy_node *n, char **out, size_t *len);

#endif
