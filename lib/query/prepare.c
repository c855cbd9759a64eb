/*
 * prepare.c — qy_prepare: the stages in order, and the query's lifetime.
 */
#include <string.h>

#include "query/qyint.h"

void qy_limits_init(qy_limits *out, const pond_limits *lim) {
  out->max_len = lim && lim->query_max_len ? lim->query_max_len : QY_DEFAULT_MAX_LEN;
  out->max_depth = lim && lim->query_max_depth ? lim->query_max_depth : QY_DEFAULT_MAX_DEPTH;
  out->max_nodes = lim && lim->query_max_nodes ? lim->query_max_nodes : QY_DEFAULT_MAX_NODES;
  out->max_in = lim && lim->query_max_in_items ? lim->query_max_in_items : QY_DEFAULT_MAX_IN;
  if (out->max_len > QY_HARD_MAX_LEN) out->max_len = QY_HARD_MAX_LEN;
  if (out->max_depth > QY_HARD_MAX_DEPTH) out->max_depth = QY_HARD_MAX_DEPTH;
  if (out->max_nodes > QY_HARD_MAX_NODES) out->max_nodes = QY_HARD_MAX_NODES;
  if (out->max_in > QY_HARD_MAX_IN) out->max_in = QY_HARD_MAX_IN;
}

int qy_prepare(pc_mem *m, const qy_schema *schema, const pond_limits *lim,
               const char *text, size_t len, unsigned flags, qy_query **out, pc_err *e) {
  static const qy_schema empty = {0};
  pc_err_clear(e);
  if (!text && len) return pc_errf(e, POND_EINVAL, "query: NULL text");
  if (!schema) {
    if (!(flags & QY_PARSE_ONLY)) return pc_errf(e, POND_EINVAL, "query: no schema");
    schema = &empty;
  }
  qy_prep p;
  memset(&p, 0, sizeof p);
  qy_limits_init(&p.lim, lim);
  if (len > p.lim.max_len)
    return pc_errf(e, POND_ELIMIT, "query: expression is %zu bytes long; the limit is %zu",
                   len, p.lim.max_len);
  qy_query *q = pc_alloc(m, sizeof *q);
  if (!q) return pc_errf(e, POND_ENOMEM, "query: out of memory");
  memset(q, 0, sizeof *q);
  q->m = m;
  qy_arena_init(&q->arena, m);
  p.m = m;
  p.arena = &q->arena;
  p.schema = schema;
  p.e = e;
  p.flags = flags;
  qy_ctx cx = {&p, text ? text : "", len, 1, 0, 0, 0, NULL};
  int rc = qy_parse(&cx, &q->root);
  if (rc == POND_OK && !(flags & QY_PARSE_ONLY)) rc = qy_check(&cx, q->root);
  if (rc == POND_OK && !(flags & (QY_PARSE_ONLY | QY_NO_FOLD))) rc = qy_fold(&p, &q->root);
  if (rc == POND_OK && !(flags & QY_PARSE_ONLY)) rc = qy_plan(&p, q->root, &q->nidx);
  if (rc < 0) {
    qy_query_free(q);
    return rc;
  }
  q->nodes = cx.nodes;
  q->depth = cx.depth;
  *out = q;
  return POND_OK;
}

void qy_query_free(qy_query *q) {
  if (!q) return;
  qy_arena_free(&q->arena);
  pc_free(q->m, q, sizeof *q);
}
