/*
 * parse.c — recursive descent over the grammar of QUERY.md into a qy_node
 * tree, enforcing the nesting, node and IN-list limits as it goes.
 *
 * Recursion happens only through '(' and NOT, and each of those counts one
 * level against the depth limit before recursing, so the C stack used is
 * bounded by the limit (itself capped by QY_HARD_MAX_DEPTH). AND/OR chains
 * are loops building n-ary nodes. One token of lookahead beyond the current
 * one is enough: a name followed by '(' is a call, NOT followed by IN,
 * BETWEEN or LIKE negates that comparison.
 *
 * The parser resolves nothing: names stay names until qy_check.
 */
#include <stdio.h>
#include <string.h>

#include "query/lex.h"
#include "query/qtime.h"
#include "query/qyint.h"
#include "query/suggest.h"

typedef struct parser {
  qy_ctx *cx;
  qy_lexer lx;
  qy_tok cur, nxt;
  unsigned depth; /* current nesting, relative to cx->base */
} parser;

static void advance(parser *p) {
  p->cur = p->nxt;
  if (p->cur.type != QY_TK_EOF && p->cur.type != QY_TK_ERROR) p->nxt = qy_lex_next(&p->lx);
}

static qy_arena *arena(parser *p) { return p->cx->p->arena; }

static int nomem(parser *p) {
  return qy_fail(p->cx, POND_ENOMEM, p->cur.off, "out of memory");
}

/* "end of input", "'spend'", "string '广东'" — the found token in messages. */
static const char *tok_desc(parser *p, const qy_tok *t, char *buf, size_t cap) {
  char clip[128];
  if (t->type == QY_TK_EOF) return "end of input";
  qy_clip(clip, sizeof clip, p->cx->text + t->off, t->len);
  if (t->type == QY_TK_STRING) snprintf(buf, cap, "string %s", clip);
  else if (t->type == QY_TK_QIDENT) snprintf(buf, cap, "name %s", clip);
  else snprintf(buf, cap, "'%s'", clip);
  return buf;
}

/* An error at the current token: the lexer's, or "expected <what>". */
static int bad(parser *p, const char *what) {
  if (p->cur.type == QY_TK_ERROR)
    return qy_fail(p->cx, POND_EPARSE, p->lx.err_off, "%s", p->lx.err_msg);
  char buf[160];
  return qy_fail(p->cx, POND_EPARSE, p->cur.off, "expected %s, found %s", what,
                 tok_desc(p, &p->cur, buf, sizeof buf));
}

static int new_node(parser *p, int kind, uint32_t off, qy_node **out) {
  qy_ctx *cx = p->cx;
  if (cx->nodes >= cx->p->lim.max_nodes)
    return qy_fail(cx, POND_ELIMIT, off, "expression has more than %u nodes",
                   cx->p->lim.max_nodes);
  qy_node *n = qy_arena_alloc(arena(p), sizeof *n);
  if (!n) return nomem(p);
  memset(n, 0, sizeof *n);
  n->kind = (uint8_t)kind;
  n->off = off;
  n->depth = (uint16_t)p->depth;
  cx->nodes++;
  *out = n;
  return POND_OK;
}

static int enter(parser *p, uint32_t off) {
  qy_ctx *cx = p->cx;
  if (cx->base + p->depth + 1 > cx->p->lim.max_depth)
    return qy_fail(cx, POND_ELIMIT, off, "expression nested deeper than %u levels",
                   cx->p->lim.max_depth);
  p->depth++;
  if (p->depth > cx->depth) cx->depth = p->depth;
  return POND_OK;
}

/* The text of a STRING or QIDENT token, unquoted and unescaped, in the
 * arena. */
static int unquote(parser *p, const qy_tok *t, qy_str *out) {
  const char *s = p->cx->text + t->off + 1;
  size_t n = t->len - 2;
  char *d = qy_arena_alloc(arena(p), n + 1);
  if (!d) return nomem(p);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    d[k++] = s[i];
    if (t->escapes && s[i] == s[-1]) i++; /* a doubled quote */
  }
  d[k] = 0;
  out->p = d;
  out->len = (uint32_t)k;
  return POND_OK;
}

/* ------------------------------------------------------------- literals */

/* [+|-] INTEGER */
static int parse_int(parser *p, qy_value *v) {
  uint32_t off = p->cur.off;
  int neg = 0;
  if (p->cur.type == QY_TK_MINUS || p->cur.type == QY_TK_PLUS) {
    neg = p->cur.type == QY_TK_MINUS;
    advance(p);
    if (p->cur.type != QY_TK_INTEGER) return bad(p, neg ? "a number after '-'" : "a number after '+'");
  }
  uint64_t u = p->cur.u;
  if (!neg && u > (uint64_t)INT64_MAX)
    return qy_fail(p->cx, POND_EPARSE, p->cur.off, "integer out of range");
  v->type = QY_T_INT;
  v->off = off;
  /* -2^63 has no positive counterpart: negate in unsigned arithmetic */
  v->i = neg ? (int64_t)(0 - u) : (int64_t)u;
  if (neg && u == (UINT64_C(1) << 63)) v->i = INT64_MIN;
  advance(p);
  return POND_OK;
}

/* after now() or TIMESTAMP '…': [ (+|-) DURATION ] */
static int parse_delta(parser *p, qy_value *v) {
  if (p->cur.type != QY_TK_PLUS && p->cur.type != QY_TK_MINUS) return POND_OK;
  int neg = p->cur.type == QY_TK_MINUS;
  advance(p);
  if (p->cur.type != QY_TK_DURATION) return bad(p, "a duration such as 30d, 12h, 15m, 45s or 2w");
  int64_t d = (int64_t)p->cur.u;
  v->delta = neg ? -d : d;
  if (!v->now) {
    /* both within ±2^62, so the sum cannot overflow before the range test */
    if (v->delta < -(INT64_C(1) << 62) || v->delta > (INT64_C(1) << 62) ||
        v->i + v->delta < QY_TIME_MIN || v->i + v->delta > QY_TIME_MAX)
      return qy_fail(p->cx, POND_EPARSE, v->off,
                     "time out of range (years 0000 to 9999)");
  }
  advance(p);
  return POND_OK;
}

/* TIMESTAMP STRING [(+|-) DURATION] */
static int parse_timestamp(parser *p, qy_value *v) {
  v->type = QY_T_TIME;
  v->off = p->cur.off;
  advance(p);
  if (p->cur.type != QY_TK_STRING) return bad(p, "a string after TIMESTAMP, like TIMESTAMP '2026-03-01'");
  qy_str s;
  POND_TRY(unquote(p, &p->cur, &s));
  char why[128];
  int64_t t;
  if (!qy_time_parse(s.p, s.len, &t, why, sizeof why)) {
    char clip[128];
    return qy_fail(p->cx, POND_EPARSE, p->cur.off, "invalid timestamp '%s': %s",
                   qy_clip(clip, sizeof clip, s.p, s.len), why);
  }
  if (t < QY_TIME_MIN || t > QY_TIME_MAX)
    return qy_fail(p->cx, POND_EPARSE, v->off, "time out of range (years 0000 to 9999)");
  v->i = t;
  advance(p);
  return parse_delta(p, v);
}

/* now ( ) [(+|-) DURATION]; cur is the name "now" */
static int parse_now(parser *p, qy_value *v) {
  v->type = QY_T_TIME;
  v->now = 1;
  v->off = p->cur.off;
  advance(p); /* now */
  advance(p); /* ( */
  if (p->cur.type != QY_TK_RPAREN) return bad(p, "')' (now() takes no arguments)");
  advance(p);
  return parse_delta(p, v);
}

static int is_call(parser *p, const char *name) {
  return p->cur.type == QY_TK_IDENT && p->nxt.type == QY_TK_LPAREN &&
         qy_word_eq(p->lx.s + p->cur.off, p->cur.len, name);
}

static int null_error(parser *p, const char *hint) {
  return qy_fail(p->cx, POND_EPARSE, p->cur.off,
                 "comparison with NULL is never true; %s", hint);
}

/* A literal of an IN list: INTEGER, STRING, TRUE, FALSE or a time. */
static int parse_literal(parser *p, qy_value *v) {
  memset(v, 0, sizeof *v);
  switch (p->cur.type) {
    case QY_TK_INTEGER:
    case QY_TK_MINUS:
    case QY_TK_PLUS:
      return parse_int(p, v);
    case QY_TK_STRING:
      v->type = QY_T_STRING;
      v->off = p->cur.off;
      POND_TRY(unquote(p, &p->cur, &v->s));
      advance(p);
      return POND_OK;
    case QY_TK_TRUE:
    case QY_TK_FALSE:
      v->type = QY_T_BOOL;
      v->off = p->cur.off;
      v->i = p->cur.type == QY_TK_TRUE;
      advance(p);
      return POND_OK;
    case QY_TK_TIMESTAMP:
      return parse_timestamp(p, v);
    case QY_TK_NULL:
      return qy_fail(p->cx, POND_EPARSE, p->cur.off,
                     "NULL in an IN list never matches; use IS NULL");
    case QY_TK_DURATION:
      return qy_fail(p->cx, POND_EPARSE, p->cur.off,
                     "a duration is not a value; add it to a time, as in now() - 30d");
    default:
      if (is_call(p, "now")) return parse_now(p, v);
      if (p->cur.type == QY_TK_IDENT || p->cur.type == QY_TK_QIDENT)
        return qy_fail(p->cx, POND_EPARSE, p->cur.off,
                       "an IN list holds literals only (numbers, strings, TRUE, FALSE, times)");
      return bad(p, "a literal");
  }
}

/* ------------------------------------------------------------- operands */

static const char *const functions[] = {"tag", "segment", "stage", "stage_since",
                                        "count", "last", "now"};

/* name ( STRING ) — the argument of tag(), stage()… into *name, *aoff. */
static int parse_arg(parser *p, const char *fn, qy_str *name, uint32_t *aoff) {
  advance(p); /* name */
  advance(p); /* ( */
  if (p->cur.type != QY_TK_STRING) {
    if (p->cur.type == QY_TK_ERROR) return bad(p, "");
    char what[96];
    snprintf(what, sizeof what, "a string argument, as in %s('%s')", fn,
             strcmp(fn, "tag") == 0 ? "group/name" : "name");
    return bad(p, what);
  }
  *aoff = p->cur.off;
  POND_TRY(unquote(p, &p->cur, name));
  if (name->len == 0)
    return qy_fail(p->cx, POND_EPARSE, p->cur.off, "empty name in %s()", fn);
  advance(p);
  if (p->cur.type != QY_TK_RPAREN) {
    char what[64];
    snprintf(what, sizeof what, "')' after the argument of %s()", fn);
    return bad(p, what);
  }
  advance(p);
  return POND_OK;
}

static int unknown_function(parser *p) {
  qy_suggest sg;
  char name[128];
  const char *s = p->lx.s + p->cur.off;
  qy_suggest_init(&sg, s, p->cur.len);
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
    qy_suggest_offer(&sg, functions[i], strlen(functions[i]));
  const char *best = qy_suggest_best(&sg);
  qy_clip(name, sizeof name, s, p->cur.len);
  if (best)
    return qy_fail(p->cx, POND_EPARSE, p->cur.off,
                   "unknown function '%s'; did you mean '%s'?", name, best);
  return qy_fail(p->cx, POND_EPARSE, p->cur.off, "unknown function '%s'", name);
}

/* column | literal | timeexpr */
static int parse_operand(parser *p, qy_node **out) {
  qy_node *n;
  uint32_t off = p->cur.off;
  qy_tt t = p->cur.type;
  if (t == QY_TK_IDENT && p->nxt.type == QY_TK_LPAREN) {
    static const struct {
      const char *name;
      int col;
    } cols[] = {{"stage", QY_COL_STAGE},
                {"stage_since", QY_COL_SINCE},
                {"count", QY_COL_COUNT},
                {"last", QY_COL_LAST}};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
      if (!is_call(p, cols[i].name)) continue;
      POND_TRY(new_node(p, QY_COLUMN, off, &n));
      n->op = (uint8_t)cols[i].col;
      POND_TRY(parse_arg(p, cols[i].name, &n->name, &n->v.off));
      *out = n;
      return POND_OK;
    }
    if (is_call(p, "now")) {
      POND_TRY(new_node(p, QY_LITERAL, off, &n));
      POND_TRY(parse_now(p, &n->v));
      *out = n;
      return POND_OK;
    }
    if (is_call(p, "tag") || is_call(p, "segment"))
      return qy_fail(p->cx, POND_EPARSE, off,
                     "%s() is a condition, not a value: use it alone, as in NOT %s('…')",
                     is_call(p, "tag") ? "tag" : "segment",
                     is_call(p, "tag") ? "tag" : "segment");
    return unknown_function(p);
  }
  if (t == QY_TK_IDENT || t == QY_TK_QIDENT) {
    POND_TRY(new_node(p, QY_COLUMN, off, &n));
    n->op = QY_COL_ATTR;
    if (t == QY_TK_QIDENT) {
      n->quoted = 1;
      POND_TRY(unquote(p, &p->cur, &n->name));
    } else {
      const char *s = p->lx.s + off;
      if (qy_word_eq(s, p->cur.len, "cid")) n->op = QY_COL_CID;
      else if (qy_word_eq(s, p->cur.len, "added_at")) n->op = QY_COL_ADDED_AT;
      else if (qy_word_eq(s, p->cur.len, "last_seen")) n->op = QY_COL_LAST_SEEN;
      char *d = qy_arena_strdup(arena(p), s, p->cur.len);
      if (!d) return nomem(p);
      n->name.p = d;
      n->name.len = p->cur.len;
    }
    advance(p);
    *out = n;
    return POND_OK;
  }
  if (t == QY_TK_NULL) return null_error(p, "use IS NULL or IS NOT NULL");
  if (t == QY_TK_INTEGER || t == QY_TK_MINUS || t == QY_TK_PLUS || t == QY_TK_STRING ||
      t == QY_TK_TRUE || t == QY_TK_FALSE || t == QY_TK_TIMESTAMP || t == QY_TK_DURATION) {
    POND_TRY(new_node(p, QY_LITERAL, off, &n));
    POND_TRY(parse_literal(p, &n->v));
    *out = n;
    return POND_OK;
  }
  return bad(p, "a column or a value");
}

/* ----------------------------------------------------------- predicates */

static int cmpop_of(qy_tt t) {
  switch (t) {
    case QY_TK_EQ: return QY_EQ;
    case QY_TK_NE: return QY_NE;
    case QY_TK_LT: return QY_LT;
    case QY_TK_LE: return QY_LE;
    case QY_TK_GT: return QY_GT;
    case QY_TK_GE: return QY_GE;
    default: return 0;
  }
}

static int parse_in_list(parser *p, qy_node *n) {
  advance(p); /* IN */
  if (p->cur.type != QY_TK_LPAREN) return bad(p, "'(' after IN");
  advance(p);
  if (p->cur.type == QY_TK_RPAREN)
    return qy_fail(p->cx, POND_EPARSE, p->cur.off, "empty IN list");
  uint32_t cap = 0;
  for (;;) {
    if (n->n == cap) {
      if (n->n >= p->cx->p->lim.max_in)
        return qy_fail(p->cx, POND_ELIMIT, p->cur.off, "IN list has more than %u items",
                       p->cx->p->lim.max_in);
      /* doubling inside the arena wastes at most half of the final list */
      uint32_t ncap = cap ? cap * 2 : 8;
      if (ncap > p->cx->p->lim.max_in) ncap = p->cx->p->lim.max_in;
      qy_value *items = qy_arena_alloc(arena(p), (size_t)ncap * sizeof *items);
      if (!items) return nomem(p);
      if (n->n) memcpy(items, n->items, n->n * sizeof *items);
      n->items = items;
      cap = ncap;
    }
    POND_TRY(parse_literal(p, &n->items[n->n]));
    n->n++;
    if (p->cur.type == QY_TK_COMMA) {
      advance(p);
      continue;
    }
    if (p->cur.type == QY_TK_RPAREN) break;
    return bad(p, "',' or ')' in the IN list");
  }
  advance(p);
  return POND_OK;
}

/* The rest of a comparison whose left operand is a. */
static int parse_comparison(parser *p, qy_node *a, qy_node **out) {
  qy_node *n;
  int op = cmpop_of(p->cur.type);
  if (op) {
    POND_TRY(new_node(p, QY_CMP, a->off, &n));
    n->op = (uint8_t)op;
    n->a = a;
    advance(p);
    if (p->cur.type == QY_TK_NULL)
      return null_error(p, op == QY_NE ? "use IS NOT NULL" : "use IS NULL");
    POND_TRY(parse_operand(p, &n->b));
    *out = n;
    return POND_OK;
  }
  int neg = 0;
  if (p->cur.type == QY_TK_NOT) {
    if (p->nxt.type != QY_TK_IN && p->nxt.type != QY_TK_BETWEEN && p->nxt.type != QY_TK_LIKE) {
      advance(p);
      return bad(p, "IN, BETWEEN or LIKE after NOT");
    }
    neg = 1;
    advance(p);
  }
  switch (p->cur.type) {
    case QY_TK_IN:
      POND_TRY(new_node(p, QY_IN, a->off, &n));
      n->a = a;
      n->neg = (uint8_t)neg;
      POND_TRY(parse_in_list(p, n));
      break;
    case QY_TK_BETWEEN:
      POND_TRY(new_node(p, QY_BETWEEN, a->off, &n));
      n->a = a;
      n->neg = (uint8_t)neg;
      advance(p);
      POND_TRY(parse_operand(p, &n->b));
      if (p->cur.type != QY_TK_AND) return bad(p, "AND in BETWEEN … AND …");
      advance(p);
      POND_TRY(parse_operand(p, &n->c));
      break;
    case QY_TK_LIKE:
      POND_TRY(new_node(p, QY_LIKE, a->off, &n));
      n->a = a;
      n->neg = (uint8_t)neg;
      advance(p);
      if (p->cur.type != QY_TK_STRING) return bad(p, "a string pattern after LIKE");
      n->v.type = QY_T_STRING;
      n->v.off = p->cur.off;
      POND_TRY(unquote(p, &p->cur, &n->v.s));
      advance(p);
      if (p->cur.type == QY_TK_IDENT && qy_word_eq(p->lx.s + p->cur.off, p->cur.len, "escape"))
        return qy_fail(p->cx, POND_EPARSE, p->cur.off, "LIKE … ESCAPE is not supported");
      break;
    case QY_TK_IS:
      POND_TRY(new_node(p, QY_ISNULL, a->off, &n));
      n->a = a;
      advance(p);
      if (p->cur.type == QY_TK_NOT) {
        n->neg = 1;
        advance(p);
      }
      if (p->cur.type != QY_TK_NULL) return bad(p, n->neg ? "NULL after IS NOT" : "NULL after IS");
      advance(p);
      break;
    default:
      return bad(p, "a comparison operator");
  }
  *out = n;
  return POND_OK;
}

static int parse_or(parser *p, qy_node **out);

static int ends_predicate(qy_tt t) {
  return t == QY_TK_AND || t == QY_TK_OR || t == QY_TK_RPAREN || t == QY_TK_EOF;
}

static int parse_primary(parser *p, qy_node **out) {
  qy_node *n;
  uint32_t off = p->cur.off;
  if (p->cur.type == QY_TK_LPAREN) {
    POND_TRY(enter(p, off));
    advance(p);
    POND_TRY(parse_or(p, out));
    if (p->cur.type != QY_TK_RPAREN) {
      unsigned line, col;
      char what[80];
      qy_line_col(p->cx->text, p->cx->len, off, &line, &col);
      snprintf(what, sizeof what, "')' to close the '(' at %u:%u", line, col);
      return bad(p, what);
    }
    advance(p);
    p->depth--;
    return POND_OK;
  }
  if (is_call(p, "tag") || is_call(p, "segment")) {
    int tag = is_call(p, "tag");
    POND_TRY(new_node(p, tag ? QY_TAG : QY_SEGMENT, off, &n));
    POND_TRY(parse_arg(p, tag ? "tag" : "segment", &n->name, &n->v.off));
    *out = n;
    return POND_OK;
  }
  if ((p->cur.type == QY_TK_TRUE || p->cur.type == QY_TK_FALSE) && ends_predicate(p->nxt.type)) {
    POND_TRY(new_node(p, QY_CONST, off, &n));
    n->type = QY_T_BOOL;
    n->v.type = QY_T_BOOL;
    n->v.i = p->cur.type == QY_TK_TRUE;
    advance(p);
    *out = n;
    return POND_OK;
  }
  qy_node *a;
  POND_TRY(parse_operand(p, &a));
  if (a->kind == QY_COLUMN && ends_predicate(p->cur.type)) {
    /* a bool attribute standing alone; its type is checked later */
    POND_TRY(new_node(p, QY_BOOLCOL, off, &n));
    n->a = a;
    *out = n;
    return POND_OK;
  }
  return parse_comparison(p, a, out);
}

static int parse_not(parser *p, qy_node **out) {
  if (p->cur.type != QY_TK_NOT) return parse_primary(p, out);
  uint32_t off = p->cur.off;
  qy_node *n;
  POND_TRY(enter(p, off));
  POND_TRY(new_node(p, QY_NOT, off, &n));
  advance(p);
  POND_TRY(parse_not(p, &n->a));
  p->depth--;
  *out = n;
  return POND_OK;
}

/* and := not { AND not }  /  or := and { OR and }: one n-ary node. */
static int parse_list(parser *p, int kind, qy_node **out) {
  qy_tt sep = kind == QY_AND ? QY_TK_AND : QY_TK_OR;
  qy_node *first;
  POND_TRY(kind == QY_AND ? parse_not(p, &first) : parse_list(p, QY_AND, &first));
  if (p->cur.type != sep) {
    *out = first;
    return POND_OK;
  }
  qy_node *n;
  POND_TRY(new_node(p, kind, first->off, &n));
  uint32_t cap = 4;
  n->kids = qy_arena_alloc(arena(p), cap * sizeof *n->kids);
  if (!n->kids) return nomem(p);
  n->kids[n->n++] = first;
  while (p->cur.type == sep) {
    advance(p);
    if (n->n == cap) {
      qy_node **k = qy_arena_alloc(arena(p), (size_t)cap * 2 * sizeof *k);
      if (!k) return nomem(p);
      memcpy(k, n->kids, cap * sizeof *k);
      n->kids = k;
      cap *= 2;
    }
    POND_TRY(kind == QY_AND ? parse_not(p, &n->kids[n->n]) : parse_list(p, QY_AND, &n->kids[n->n]));
    n->n++;
  }
  *out = n;
  return POND_OK;
}

static int parse_or(parser *p, qy_node **out) { return parse_list(p, QY_OR, out); }

int qy_parse(qy_ctx *cx, qy_node **out) {
  parser p;
  p.cx = cx;
  p.depth = 0;
  qy_lex_init(&p.lx, cx->text, cx->len);
  p.nxt = qy_lex_next(&p.lx);
  advance(&p);
  if (p.cur.type == QY_TK_EOF) return qy_fail(cx, POND_EPARSE, 0, "empty expression");
  qy_node *root;
  POND_TRY(parse_or(&p, &root));
  if (p.cur.type != QY_TK_EOF) {
    if (p.cur.type == QY_TK_RPAREN)
      return qy_fail(cx, POND_EPARSE, p.cur.off, "unmatched ')'");
    return bad(&p, "AND, OR or end of input");
  }
  *out = root;
  return POND_OK;
}
