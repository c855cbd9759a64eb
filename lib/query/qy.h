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
#include "query/source.h"

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
  unsigned nidx;  /* distinct nodes (planning numbers them) */
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

/* Truth values of three-valued logic. */
enum { QY_FALSE = 0, QY_TRUE = 1, QY_UNKNOWN = 2 };

/* The query's truth for the customer row describes, at time now: QY_TRUE,
 * QY_FALSE or QY_UNKNOWN; or a negative status from a row callback. */
int qy_eval_row(const qy_query *q, const qy_row *row, int64_t now);
/* 1 if the query is TRUE for the customer, 0 if FALSE or UNKNOWN, <0 on
 * error (pond_query_test). */
int qy_test(const qy_query *q, const qy_row *row, int64_t now);

/* Where set evaluation sends its result, chunk by chunk, in ascending key
 * order (buffers borrowed for the call). chunk gets two QY_CHUNK_WORDS-word
 * bitsets: t the customers for which q is TRUE, u those for which it is
 * UNKNOWN. slots (optional) gets the same as ascending slots (id & 0xFFFF)
 * for chunks evaluated customer by customer (qy_chunks.few); without it,
 * chunk gets those too. Chunks without a TRUE or UNKNOWN customer are not
 * emitted. A negative return stops the evaluation and is returned. */
typedef struct qy_sink {
  void *arg;
  int (*chunk)(void *arg, uint64_t key, const uint64_t *t, const uint64_t *u);
  int (*slots)(void *arg, uint64_t key, const uint16_t *t, uint32_t nt, const uint16_t *u,
               uint32_t nu);
  /* 0: only the TRUE customers are wanted — u is empty then (chunk gets
   * zeros, slots nu = 0) and the evaluation skips work that only tells
   * UNKNOWN from FALSE. */
  int unknown;
} qy_sink;

/*
 * Evaluates q over the population src at now, chunk by chunk, into out. A
 * negative return from out or a source callback stops the evaluation and
 * is returned. Reads q only: several evaluations of one query may run at
 * once. Memory: O(tree height) bitsets of 8 KiB.
 */
int qy_eval_set(const qy_query *q, const qy_chunks *src, int64_t now, pc_mem *m,
                const qy_sink *out, pc_err *e);

/* The number of set bits in w[0..n) (with the popcnt instruction where
 * the CPU has it). */
uint64_t qy_popcount_words(const uint64_t *w, size_t n);

/* The value of a time literal at now: base + delta, saturated to int64. */
int64_t qy_time_at(const qy_value *v, int64_t now);

/*
 * The SQLite WHERE clause equivalent to tree n evaluated at now, over the
 * tables of QUERY.md (c, t). Same ownership as qy_print.
 */
int qy_to_sql(pc_mem *m, const qy_node *n, int64_t now, char **out, size_t *len);

#endif
