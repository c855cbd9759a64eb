/*
 * row.c — evaluates a prepared tree for one customer, in SQL's
 * three-valued logic (QY_TRUE, QY_FALSE, QY_UNKNOWN).
 *
 * This is pond_query_test: guards and rule conditions on the customer at
 * hand, without touching the population. It walks the tree (recursion
 * bounded by the depth limit), reads each column through qy_row once per
 * use, and short-circuits AND on FALSE and OR on TRUE (which is exact in
 * three-valued logic: FALSE AND x is FALSE for every x, UNKNOWN included).
 *
 * Semantics are SQLite's over the tables of QUERY.md: NULL in a
 * comparison, IN, BETWEEN or LIKE gives UNKNOWN; IS [NOT] NULL never does;
 * a bool column alone is its value (NULL: UNKNOWN); strings compare by
 * bytes; `cid` is the id read as a signed 64-bit integer (SQLite's rowid).
 */
#include <string.h>

#include "query/like.h"
#include "query/qyint.h"

int64_t qy_time_at(const qy_value *v, int64_t now) {
  int64_t base = v->now ? now : v->i, d = v->delta;
  /* saturate instead of overflowing: now() + 1000w near the end of time */
  if (d > 0 && base > INT64_MAX - d) return INT64_MAX;
  if (d < 0 && base < INT64_MIN - d) return INT64_MIN;
  return base + d;
}

static int operand(const qy_node *n, const qy_row *r, int64_t now, qy_cell *c) {
  memset(c, 0, sizeof *c);
  if (n->kind == QY_LITERAL) {
    const qy_value *v = &n->v;
    if (v->type == QY_T_STRING) {
      c->s = v->s.p;
      c->n = v->s.len;
      c->id = v->id;
    } else {
      c->i = v->type == QY_T_TIME ? qy_time_at(v, now) : v->i;
    }
    return POND_OK;
  }
  if (n->op == QY_COL_CID) {
    c->i = (int64_t)r->cid;
    return POND_OK;
  }
  return r->column(r->ctx, n->op, n->id, c);
}

static int not3(int t) { return t == QY_UNKNOWN ? QY_UNKNOWN : !t; }

/* a op b for two non-NULL cells of comparable types */
static int compare(const qy_node *a, const qy_node *b, const qy_cell *x, const qy_cell *y) {
  if (a->type == QY_T_STRING) {
    /* a state named by a literal is matched by id (same machine) */
    if (a->kind == QY_COLUMN && a->op == QY_COL_STAGE && b->kind == QY_LITERAL)
      return x->id == y->id ? 0 : 1;
    if (b->kind == QY_COLUMN && b->op == QY_COL_STAGE && a->kind == QY_LITERAL)
      return x->id == y->id ? 0 : 1;
    qy_str s = {x->s, (uint32_t)x->n}, t = {y->s, (uint32_t)y->n};
    return qy_str_cmp(&s, &t);
  }
  return x->i < y->i ? -1 : x->i > y->i;
}

static int holds(int op, int c) {
  switch (op) {
    case QY_EQ: return c == 0;
    case QY_NE: return c != 0;
    case QY_LT: return c < 0;
    case QY_LE: return c <= 0;
    case QY_GT: return c > 0;
    default: return c >= 0;
  }
}

static int in_list(const qy_node *n, const qy_cell *x, int64_t now) {
  if (n->idset || n->sset || n->iset) {
    size_t lo = 0, hi = n->nset;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      int c;
      if (n->idset) c = n->idset[mid] < x->id ? -1 : n->idset[mid] > x->id;
      else if (n->sset) {
        qy_str s = {x->s, (uint32_t)x->n};
        c = qy_str_cmp(&n->sset[mid], &s);
      } else c = n->iset[mid] < x->i ? -1 : n->iset[mid] > x->i;
      if (c == 0) return 1;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return 0;
  }
  for (uint32_t i = 0; i < n->n; i++) {
    const qy_value *v = &n->items[i];
    if (v->type == QY_T_STRING) {
      if (x->n == v->s.len && memcmp(x->s, v->s.p, x->n) == 0) return 1;
    } else if ((v->type == QY_T_TIME ? qy_time_at(v, now) : v->i) == x->i) {
      return 1;
    }
  }
  return 0;
}

static int eval(const qy_node *n, const qy_row *r, int64_t now) {
  qy_cell x, y, z;
  int t;
  switch (n->kind) {
    case QY_CONST:
      return n->v.i ? QY_TRUE : QY_FALSE;
    case QY_AND:
    case QY_OR: {
      int absorbing = n->kind == QY_AND ? QY_FALSE : QY_TRUE, unknown = 0;
      for (uint32_t i = 0; i < n->n; i++) {
        t = eval(n->kids[i], r, now);
        if (t < 0 || t == absorbing) return t;
        unknown |= t == QY_UNKNOWN;
      }
      return unknown ? QY_UNKNOWN : !absorbing;
    }
    case QY_NOT:
      t = eval(n->a, r, now);
      return t < 0 ? t : not3(t);
    case QY_SEGMENT:
      return eval(n->a, r, now);
    case QY_TAG:
      t = n->neg ? r->group(r->ctx, n->id) : r->tag(r->ctx, n->id);
      return t < 0 ? t : t ? QY_TRUE : QY_FALSE;
    case QY_BOOLCOL:
      POND_TRY(operand(n->a, r, now, &x));
      return x.null ? QY_UNKNOWN : x.i ? QY_TRUE : QY_FALSE;
    case QY_CMP:
      POND_TRY(operand(n->a, r, now, &x));
      POND_TRY(operand(n->b, r, now, &y));
      if (x.null || y.null) return QY_UNKNOWN;
      return holds(n->op, compare(n->a, n->b, &x, &y)) ? QY_TRUE : QY_FALSE;
    case QY_IN:
      POND_TRY(operand(n->a, r, now, &x));
      if (x.null) return QY_UNKNOWN;
      return in_list(n, &x, now) != n->neg ? QY_TRUE : QY_FALSE;
    case QY_BETWEEN: {
      POND_TRY(operand(n->a, r, now, &x));
      POND_TRY(operand(n->b, r, now, &y));
      POND_TRY(operand(n->c, r, now, &z));
      /* lo <= x AND x <= hi, each side possibly UNKNOWN */
      int lo = x.null || y.null ? QY_UNKNOWN : y.i <= x.i;
      int hi = x.null || z.null ? QY_UNKNOWN : x.i <= z.i;
      t = lo == QY_FALSE || hi == QY_FALSE ? QY_FALSE
          : lo == QY_UNKNOWN || hi == QY_UNKNOWN ? QY_UNKNOWN : QY_TRUE;
      return n->neg ? not3(t) : t;
    }
    case QY_LIKE:
      POND_TRY(operand(n->a, r, now, &x));
      if (x.null) return QY_UNKNOWN;
      return qy_like(x.s, x.n, n->v.s.p, n->v.s.len) != n->neg ? QY_TRUE : QY_FALSE;
    case QY_ISNULL:
      POND_TRY(operand(n->a, r, now, &x));
      return x.null != n->neg ? QY_TRUE : QY_FALSE;
  }
  return POND_EINVAL;
}

int qy_eval_row(const qy_query *q, const qy_row *row, int64_t now) {
  return eval(q->root, row, now);
}

int qy_test(const qy_query *q, const qy_row *row, int64_t now) {
  int t = eval(q->root, row, now);
  return t < 0 ? t : t == QY_TRUE;
}
