/*
 * sql.c — the SQLite WHERE clause equivalent to a checked tree, as QUERY.md
 * defines the mapping (tables c and t). This is the oracle side of the
 * differential tests; it is also handy for a host that mirrors pond's data
 * in SQL.
 *
 * Everything is parenthesized, so SQL's precedence never matters. Times are
 * rendered as the integers they denote at `now` (with the same saturation
 * as evaluation), TRUE/FALSE as 1/0, and INT64_MIN as an expression because
 * SQLite reads the literal 9223372036854775808 as a REAL.
 */
#include <inttypes.h>
#include <stdio.h>

#include "query/qyint.h"

static void put_int(qy_buf *b, int64_t i) {
  char tmp[32];
  if (i == INT64_MIN) {
    qy_buf_puts(b, "(-9223372036854775807-1)");
    return;
  }
  snprintf(tmp, sizeof tmp, "%" PRId64, i);
  qy_buf_puts(b, tmp);
}

static void put_quoted(qy_buf *b, const char *s, size_t n, char q) {
  qy_buf_put(b, &q, 1);
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != q) continue;
    qy_buf_put(b, s + start, i + 1 - start);
    qy_buf_put(b, &q, 1);
    start = i + 1;
  }
  qy_buf_put(b, s + start, n - start);
  qy_buf_put(b, &q, 1);
}

/* "prefix:name" as a quoted column name */
static void put_column_name(qy_buf *b, const char *prefix, const qy_str *name) {
  qy_buf_puts(b, "\"");
  qy_buf_puts(b, prefix);
  for (uint32_t i = 0; i < name->len; i++) {
    if (name->p[i] == '"') qy_buf_put(b, "\"", 1);
    qy_buf_put(b, name->p + i, 1);
  }
  qy_buf_puts(b, "\"");
}

static void value(qy_buf *b, const qy_value *v, int64_t now) {
  switch (v->type) {
    case QY_T_STRING: put_quoted(b, v->s.p, v->s.len, '\''); return;
    case QY_T_TIME: put_int(b, qy_time_at(v, now)); return;
    default: put_int(b, v->i); return;
  }
}

static void operand(qy_buf *b, const qy_node *n, int64_t now) {
  static const qy_str empty = {"", 0};
  if (n->kind == QY_LITERAL) {
    value(b, &n->v, now);
    return;
  }
  switch (n->op) {
    case QY_COL_ATTR: put_column_name(b, "", &n->name); return;
    case QY_COL_CID: qy_buf_puts(b, "c.cid"); return;
    case QY_COL_ADDED_AT: put_column_name(b, "added_at", &empty); return;
    case QY_COL_LAST_SEEN: put_column_name(b, "last_seen", &empty); return;
    case QY_COL_STAGE: put_column_name(b, "stage:", &n->name); return;
    case QY_COL_SINCE: put_column_name(b, "since:", &n->name); return;
    case QY_COL_COUNT: put_column_name(b, "count:", &n->name); return;
    case QY_COL_LAST: put_column_name(b, "last:", &n->name); return;
  }
}

static const char *const ops[] = {"?", " = ", " != ", " < ", " <= ", " > ", " >= "};

static void pred(qy_buf *b, const qy_node *n, int64_t now) {
  qy_buf_puts(b, "(");
  switch (n->kind) {
    case QY_CONST:
      qy_buf_puts(b, n->v.i ? "1" : "0");
      break;
    case QY_AND:
    case QY_OR:
      for (uint32_t i = 0; i < n->n; i++) {
        if (i) qy_buf_puts(b, n->kind == QY_AND ? " AND " : " OR ");
        pred(b, n->kids[i], now);
      }
      break;
    case QY_NOT:
      qy_buf_puts(b, "NOT ");
      pred(b, n->a, now);
      break;
    case QY_SEGMENT:
      pred(b, n->a, now);
      break;
    case QY_TAG:
      qy_buf_puts(b, "EXISTS(SELECT 1 FROM t WHERE t.cid = c.cid AND ");
      if (n->neg) {
        /* the group wildcard: the tags starting with "g/" */
        qy_str g = {n->name.p, n->name.len - 1};
        qy_buf_puts(b, "substr(t.tag, 1, length(");
        put_quoted(b, g.p, g.len, '\'');
        qy_buf_puts(b, ")) = ");
        put_quoted(b, g.p, g.len, '\'');
      } else {
        qy_buf_puts(b, "t.tag = ");
        put_quoted(b, n->name.p, n->name.len, '\'');
      }
      qy_buf_puts(b, ")");
      break;
    case QY_BOOLCOL:
      operand(b, n->a, now);
      break;
    case QY_CMP:
      operand(b, n->a, now);
      qy_buf_puts(b, ops[n->op]);
      operand(b, n->b, now);
      break;
    case QY_IN:
      operand(b, n->a, now);
      qy_buf_puts(b, n->neg ? " NOT IN (" : " IN (");
      for (uint32_t i = 0; i < n->n; i++) {
        if (i) qy_buf_puts(b, ", ");
        value(b, &n->items[i], now);
      }
      qy_buf_puts(b, ")");
      break;
    case QY_BETWEEN:
      operand(b, n->a, now);
      qy_buf_puts(b, n->neg ? " NOT BETWEEN " : " BETWEEN ");
      operand(b, n->b, now);
      qy_buf_puts(b, " AND ");
      operand(b, n->c, now);
      break;
    case QY_LIKE:
      operand(b, n->a, now);
      qy_buf_puts(b, n->neg ? " NOT LIKE " : " LIKE ");
      put_quoted(b, n->v.s.p, n->v.s.len, '\'');
      break;
    case QY_ISNULL:
      operand(b, n->a, now);
      qy_buf_puts(b, n->neg ? " IS NOT NULL" : " IS NULL");
      break;
  }
  qy_buf_puts(b, ")");
}

int qy_to_sql(pc_mem *m, const qy_node *n, int64_t now, char **out, size_t *len) {
  qy_buf b = {m, NULL, 0, 0, 0};
  pred(&b, n, now);
  if (b.oom || !b.p) {
    pc_free(m, b.p, b.cap);
    return POND_ENOMEM;
  }
  char *p = pc_realloc(m, b.p, b.cap, b.len + 1);
  if (!p) {
    pc_free(m, b.p, b.cap);
    return POND_ENOMEM;
  }
  *out = p;
  *len = b.len;
  return POND_OK;
}
