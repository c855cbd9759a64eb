/*
 * fold.c — constant folding and light normalization of a checked tree.
 *
 * Every rewrite is valid in SQL's three-valued logic: literals are never
 * NULL, so a comparison of literals is TRUE or FALSE; `x AND FALSE` is FALSE
 * and `x OR TRUE` is TRUE whatever x is (UNKNOWN included); `x AND TRUE` and
 * `x OR FALSE` are x; NOT NOT x is x. Times relative to now() stay symbolic
 * (now is only known at evaluation). Besides folding:
 *  - TIMESTAMP '…' ± duration becomes one absolute time;
 *  - nested ANDs (ORs) are flattened into their parent;
 *  - a comparison with the literal on the left is mirrored (5 < x → x > 5);
 *  - IS NULL of a column that is never NULL becomes a constant.
 * Nodes are rewritten in place (a node shared by several uses of a segment
 * is rewritten once, identically for all). Recursion is bounded by the
 * tree's depth.
 */
#include <string.h>

#include "query/like.h"
#include "query/qyint.h"

static void fold_value(qy_value *v) {
  if (v->type == QY_T_TIME && !v->now && v->delta) {
    v->i += v->delta; /* in range: the parser checked it */
    v->delta = 0;
  }
}

static void make_const(qy_node *n, int truth) {
  n->kind = QY_CONST;
  n->type = QY_T_BOOL;
  n->v.type = QY_T_BOOL;
  n->v.i = truth;
  n->v.now = 0;
  n->v.delta = 0;
  n->n = 0;
  n->a = n->b = n->c = NULL;
  n->kids = NULL;
  n->items = NULL;
}

static int is_const_value(const qy_node *n) { return n->kind == QY_LITERAL && !n->v.now; }

/* Compares two literal values of comparable types: <0, 0, >0. Strings and
 * bools only ever meet = and !=, so their order is just "different". */
static int value_cmp(const qy_value *a, const qy_value *b) {
  if (a->type == QY_T_STRING)
    return a->s.len == b->s.len && memcmp(a->s.p, b->s.p, a->s.len) == 0 ? 0 : 1;
  return a->i < b->i ? -1 : a->i > b->i;
}

static int cmp_holds(int op, int c) {
  switch (op) {
    case QY_EQ: return c == 0;
    case QY_NE: return c != 0;
    case QY_LT: return c < 0;
    case QY_LE: return c <= 0;
    case QY_GT: return c > 0;
    default: return c >= 0;
  }
}

static int mirror(int op) {
  switch (op) {
    case QY_LT: return QY_GT;
    case QY_LE: return QY_GE;
    case QY_GT: return QY_LT;
    case QY_GE: return QY_LE;
    default: return op;
  }
}

static int fold(qy_prep *p, qy_node *n);

static int fold_list(qy_prep *p, qy_node *n) {
  int absorbing = n->kind == QY_OR; /* OR: TRUE absorbs; AND: FALSE absorbs */
  uint32_t total = 0;
  for (uint32_t i = 0; i < n->n; i++) {
    qy_node *k = n->kids[i];
    POND_TRY(fold(p, k));
    if (k->kind == QY_CONST) {
      if (k->v.i == absorbing) {
        make_const(n, absorbing);
        return POND_OK;
      }
      continue;
    }
    total += k->kind == n->kind ? k->n : 1;
  }
  if (total == 0) {
    make_const(n, !absorbing);
    return POND_OK;
  }
  qy_node **kids = qy_arena_alloc(p->arena, total * sizeof *kids);
  if (!kids) return pc_errf(p->e, POND_ENOMEM, "query: out of memory");
  uint32_t k = 0;
  for (uint32_t i = 0; i < n->n; i++) {
    qy_node *c = n->kids[i];
    if (c->kind == QY_CONST) continue;
    if (c->kind == n->kind) {
      memcpy(kids + k, c->kids, c->n * sizeof *kids);
      k += c->n;
    } else {
      kids[k++] = c;
    }
  }
  if (total == 1) {
    *n = *kids[0]; /* the one survivor takes the list's place */
    return POND_OK;
  }
  n->kids = kids;
  n->n = total;
  return POND_OK;
}

static int fold(qy_prep *p, qy_node *n) {
  switch (n->kind) {
    case QY_AND:
    case QY_OR:
      return fold_list(p, n);
    case QY_NOT:
      POND_TRY(fold(p, n->a));
      if (n->a->kind == QY_CONST) make_const(n, !n->a->v.i);
      else if (n->a->kind == QY_NOT) *n = *n->a->a;
      return POND_OK;
    case QY_SEGMENT:
      POND_TRY(fold(p, n->a));
      if (n->a->kind == QY_CONST) make_const(n, (int)n->a->v.i);
      return POND_OK;
    case QY_CMP:
      if (n->a->kind == QY_LITERAL) fold_value(&n->a->v);
      if (n->b->kind == QY_LITERAL) fold_value(&n->b->v);
      if (is_const_value(n->a) && is_const_value(n->b)) {
        make_const(n, cmp_holds(n->op, value_cmp(&n->a->v, &n->b->v)));
      } else if (n->a->kind == QY_LITERAL && n->b->kind == QY_COLUMN) {
        qy_node *t = n->a;
        n->a = n->b;
        n->b = t;
        n->op = (uint8_t)mirror(n->op);
      }
      return POND_OK;
    case QY_IN: {
      int all_const = 1, hit = 0;
      if (n->a->kind == QY_LITERAL) fold_value(&n->a->v);
      for (uint32_t i = 0; i < n->n; i++) {
        fold_value(&n->items[i]);
        if (n->items[i].now) all_const = 0;
      }
      if (!all_const || !is_const_value(n->a)) return POND_OK;
      for (uint32_t i = 0; i < n->n && !hit; i++) hit = value_cmp(&n->a->v, &n->items[i]) == 0;
      make_const(n, hit != n->neg);
      return POND_OK;
    }
    case QY_BETWEEN:
      if (n->a->kind == QY_LITERAL) fold_value(&n->a->v);
      if (n->b->kind == QY_LITERAL) fold_value(&n->b->v);
      if (n->c->kind == QY_LITERAL) fold_value(&n->c->v);
      if (is_const_value(n->a) && is_const_value(n->b) && is_const_value(n->c)) {
        int in = n->b->v.i <= n->a->v.i && n->a->v.i <= n->c->v.i;
        make_const(n, in != n->neg);
      }
      return POND_OK;
    case QY_LIKE:
      if (n->a->kind == QY_LITERAL)
        make_const(n, qy_like(n->a->v.s.p, n->a->v.s.len, n->v.s.p, n->v.s.len) != n->neg);
      return POND_OK;
    case QY_ISNULL:
      if (n->a->kind == QY_LITERAL || !qy_col_nullable(n->a->op)) make_const(n, n->neg);
      return POND_OK;
    default:
      return POND_OK;
  }
}

int qy_fold(qy_prep *p, qy_node **root) { return fold(p, *root); }
