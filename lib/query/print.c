/*
 * print.c — renders trees back to canonical query text.
 *
 * Used for debugging, for error messages (operands), for the round-trip
 * tests (print ∘ parse is a fixed point after one step) and later for the
 * SQLite mapping. Parentheses are added exactly where the tree's shape
 * needs them: an OR inside AND, NOT or another OR, and an AND inside AND or
 * NOT (nested same-kind lists keep their shape so that the tree round-trips
 * unchanged; folding flattens them).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "query/lex.h"
#include "query/qtime.h"
#include "query/qyint.h"

void qy_buf_put(qy_buf *b, const char *s, size_t n) {
  if (b->oom || n == 0) return;
  if (!b->m) {
    /* fixed: truncate at a character boundary and end with "…" */
    if (b->len + n + 1 <= b->cap) {
      memcpy(b->p + b->len, s, n);
      b->len += n;
      b->p[b->len] = 0;
      return;
    }
    size_t room = b->cap > b->len + 4 ? b->cap - b->len - 4 : 0;
    if (room > n) room = n; /* cannot happen when n does not fit; keeps reads in s */
    while (room > 0 && room < n && ((unsigned char)s[room] & 0xC0) == 0x80) room--;
    memcpy(b->p + b->len, s, room);
    b->len += room;
    if (b->len + 4 <= b->cap) {
      memcpy(b->p + b->len, "\xE2\x80\xA6", 3);
      b->len += 3;
    }
    if (b->cap) b->p[b->len] = 0;
    b->oom = 1;
    return;
  }
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < b->len + n + 1) ncap *= 2;
    char *p = pc_realloc(b->m, b->p, b->cap, ncap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

void qy_buf_puts(qy_buf *b, const char *s) { qy_buf_put(b, s, strlen(s)); }

/* 'text' with '' for a quote (q = '\'') or "name" with "" (q = '"'). */
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

/* Names that must be quoted to be read back as an attribute. */
static const char *const reserved[] = {"and",   "or",        "not",   "in",
                                       "between", "like",    "is",    "null",
                                       "true",  "false",     "timestamp",
                                       "cid",   "added_at",  "last_seen", NULL};

static int bare_ok(const char *s, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return 0;
  }
  for (size_t k = 0; reserved[k]; k++)
    if (qy_word_eq(s, n, reserved[k])) return 0;
  return 1;
}

static void put_call(qy_buf *b, const char *fn, const qy_str *arg) {
  qy_buf_puts(b, fn);
  qy_buf_puts(b, "(");
  put_quoted(b, arg->p, arg->len, '\'');
  qy_buf_puts(b, ")");
}

void qy_print_value(qy_buf *b, const qy_value *v) {
  char tmp[48];
  switch (v->type) {
    case QY_T_INT:
      snprintf(tmp, sizeof tmp, "%" PRId64, v->i);
      qy_buf_puts(b, tmp);
      return;
    case QY_T_BOOL:
      qy_buf_puts(b, v->i ? "TRUE" : "FALSE");
      return;
    case QY_T_STRING:
      put_quoted(b, v->s.p, v->s.len, '\'');
      return;
    case QY_T_TIME:
      if (v->now) {
        qy_buf_puts(b, "now()");
      } else {
        size_t n = qy_time_format(v->i, tmp, sizeof tmp);
        qy_buf_puts(b, "TIMESTAMP ");
        put_quoted(b, tmp, n, '\'');
      }
      if (v->delta) {
        qy_buf_puts(b, v->delta < 0 ? " - " : " + ");
        qy_duration_format(v->delta < 0 ? -v->delta : v->delta, tmp, sizeof tmp);
        qy_buf_puts(b, tmp);
      }
      return;
  }
  qy_buf_puts(b, "?");
}

static void print_operand(qy_buf *b, const qy_node *n) {
  if (n->kind == QY_LITERAL) {
    qy_print_value(b, &n->v);
    return;
  }
  switch (n->op) {
    case QY_COL_ATTR:
      if (bare_ok(n->name.p, n->name.len)) qy_buf_put(b, n->name.p, n->name.len);
      else put_quoted(b, n->name.p, n->name.len, '"');
      return;
    case QY_COL_CID: qy_buf_puts(b, "cid"); return;
    case QY_COL_ADDED_AT: qy_buf_puts(b, "added_at"); return;
    case QY_COL_LAST_SEEN: qy_buf_puts(b, "last_seen"); return;
    case QY_COL_STAGE: put_call(b, "stage", &n->name); return;
    case QY_COL_SINCE: put_call(b, "stage_since", &n->name); return;
    case QY_COL_COUNT: put_call(b, "count", &n->name); return;
    case QY_COL_LAST: put_call(b, "last", &n->name); return;
  }
  qy_buf_puts(b, "?");
}

const char *qy_operand_text(char *buf, size_t cap, const qy_node *n) {
  qy_buf b = {NULL, buf, 0, cap, 0};
  if (cap) buf[0] = 0;
  print_operand(&b, n);
  return buf;
}

static const char *const cmp_text[] = {"?", " = ", " != ", " < ", " <= ", " > ", " >= "};

static void print_pred(qy_buf *b, const qy_node *n, int parent) {
  switch (n->kind) {
    case QY_CONST:
      qy_buf_puts(b, n->v.i ? "TRUE" : "FALSE");
      return;
    case QY_AND:
    case QY_OR: {
      int paren = parent == QY_NOT || parent == QY_AND || (n->kind == QY_OR && parent == QY_OR);
      if (paren) qy_buf_puts(b, "(");
      for (uint32_t i = 0; i < n->n; i++) {
        if (i) qy_buf_puts(b, n->kind == QY_AND ? " AND " : " OR ");
        print_pred(b, n->kids[i], n->kind);
      }
      if (paren) qy_buf_puts(b, ")");
      return;
    }
    case QY_NOT:
      qy_buf_puts(b, "NOT ");
      print_pred(b, n->a, QY_NOT);
      return;
    case QY_TAG:
      put_call(b, "tag", &n->name);
      return;
    case QY_SEGMENT:
      put_call(b, "segment", &n->name);
      return;
    case QY_BOOLCOL:
      print_operand(b, n->a);
      return;
    case QY_CMP:
      print_operand(b, n->a);
      qy_buf_puts(b, n->op >= QY_EQ && n->op <= QY_GE ? cmp_text[n->op] : " ? ");
      print_operand(b, n->b);
      return;
    case QY_IN:
      print_operand(b, n->a);
      qy_buf_puts(b, n->neg ? " NOT IN (" : " IN (");
      for (uint32_t i = 0; i < n->n; i++) {
        if (i) qy_buf_puts(b, ", ");
        qy_print_value(b, &n->items[i]);
      }
      qy_buf_puts(b, ")");
      return;
    case QY_BETWEEN:
      print_operand(b, n->a);
      qy_buf_puts(b, n->neg ? " NOT BETWEEN " : " BETWEEN ");
      print_operand(b, n->b);
      qy_buf_puts(b, " AND ");
      print_operand(b, n->c);
      return;
    case QY_LIKE:
      print_operand(b, n->a);
      qy_buf_puts(b, n->neg ? " NOT LIKE " : " LIKE ");
      qy_print_value(b, &n->v);
      return;
    case QY_ISNULL:
      print_operand(b, n->a);
      qy_buf_puts(b, n->neg ? " IS NOT NULL" : " IS NULL");
      return;
    case QY_COLUMN:
    case QY_LITERAL:
      print_operand(b, n);
      return;
  }
  qy_buf_puts(b, "?");
}

void qy_print_node(qy_buf *b, const qy_node *n) { print_pred(b, n, 0); }

int qy_print(pc_mem *m, const qy_node *n, char **out, size_t *len) {
  qy_buf b = {m, NULL, 0, 0, 0};
  print_pred(&b, n, 0);
  if (b.oom || !b.p) {
    pc_free(m, b.p, b.cap);
    return POND_ENOMEM;
  }
  /* hand out an exact-size block so the caller frees len + 1 bytes */
  char *p = pc_realloc(m, b.p, b.cap, b.len + 1);
  if (!p) {
    pc_free(m, b.p, b.cap);
    return POND_ENOMEM;
  }
  *out = p;
  *len = b.len;
  return POND_OK;
}
