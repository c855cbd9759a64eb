/*
 * qyint.h — state shared by the stages of one qy_prepare (private to
 * lib/query).
 *
 * A qy_prep lives for one prepare: the arena, the schema, the limits, the
 * error report, the running node count and the cache of inlined segments.
 * A qy_ctx is one text being processed — the query, or the where-text of a
 * segment it references — with the nesting depth at which that text sits.
 */
#ifndef POND_QUERY_QYINT_H
#define POND_QUERY_QYINT_H

#include "query/qy.h"

/* A segment already parsed and checked in this prepare. */
typedef struct qy_seg {
  struct qy_seg *next;
  qy_str name;
  qy_node *root;
  unsigned nodes; /* its tree's nodes, its own inlined segments included */
  unsigned depth; /* deepest nesting inside it, relative to its top level */
} qy_seg;

/* The chain of segments being expanded, innermost first (on the C stack;
 * bounded by the depth limit because each expansion nests one level). */
typedef struct qy_segframe {
  const struct qy_segframe *up;
  qy_str name;
} qy_segframe;

typedef struct qy_prep {
  pc_mem *m;
  qy_arena *arena;
  const qy_schema *schema;
  qy_limits lim;
  pc_err *e;
  unsigned flags;
  qy_seg *segs;
  /* Segments an error unwound through, innermost first: the four innermost
   * and, in errchain[4], the outermost beyond them. */
  qy_str errchain[5];
  unsigned nchain;
} qy_prep;

typedef struct qy_ctx {
  qy_prep *p;
  const char *text;
  size_t len;
  int top;           /* the query itself: messages start "query:" */
  unsigned base;     /* nesting depth of this text's top level */
  unsigned depth;    /* deepest nesting reached, relative to base */
  unsigned nodes;    /* nodes created for this text */
  const qy_segframe *chain;
} qy_ctx;

/* Records an error at byte off of cx's text: "query:L:C: <fmt>" (or "L:C: "
 * inside a segment's text) with pc_err.offset = off. Returns code. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int qy_fail(qy_ctx *cx, int code, size_t off, const char *fmt, ...);

/* 1-based line and column (code points) of byte off in s. */
void qy_line_col(const char *s, size_t n, size_t off, unsigned *line, unsigned *col);

/* Writes s[0..n) into buf[cap] for a message, truncated to about 60 code
 * points with "…" (never splitting a character); returns buf. */
const char *qy_clip(char *buf, size_t cap, const char *s, size_t n);

/* Stage entry points. */
int qy_parse(qy_ctx *cx, qy_node **out);
int qy_check(qy_ctx *cx, qy_node *root);
int qy_fold(qy_prep *p, qy_node **root);
/* Plans root; *nidx gets the number of distinct nodes. */
int qy_plan(qy_prep *p, qy_node *root, unsigned *nidx);

/* In-place heapsort (no recursion, no allocation). */
void qy_heapsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
/* Index of the lowest set bit of x (x != 0). */
static inline unsigned qy_ctz64(uint64_t x) {
#if defined(__GNUC__)
  return (unsigned)__builtin_ctzll(x);
#else
  unsigned n = 0;
  while (!(x & 1)) x >>= 1, n++;
  return n;
#endif
}

/* Byte-wise order of strings, shorter first on a common prefix. */
int qy_str_cmp(const qy_str *a, const qy_str *b);

/* A growable (m != NULL) or fixed (m == NULL, truncating) output buffer. */
typedef struct qy_buf {
  pc_mem *m;
  char *p;
  size_t len, cap;
  int oom;
} qy_buf;

void qy_buf_put(qy_buf *b, const char *s, size_t n);
void qy_buf_puts(qy_buf *b, const char *s);
/* Renders a node or a value into b (canonical text, see qy_print). */
void qy_print_node(qy_buf *b, const qy_node *n);
void qy_print_value(qy_buf *b, const qy_value *v);
/* Renders an operand into a fixed buffer for a message. */
const char *qy_operand_text(char *buf, size_t cap, const qy_node *n);

#endif
