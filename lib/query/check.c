/*
 * check.c — resolves names through the qy_schema, types every operand,
 * validates every comparison, and inlines segments.
 *
 * Typing (QUERY.md, "Columns and types"): int and time form one numeric
 * class and compare with each other freely (both are integers in the SQLite
 * mapping); strings compare with strings by =, !=, IN, LIKE and IS NULL
 * only; bools with bools by = and != (and IN); BETWEEN is numeric only.
 *
 * Segments: segment('s') parses s's where-text in a child context whose
 * base depth is the reference's depth + 1, checks it, and caches the
 * checked tree by name for this prepare, so a segment used many times is
 * parsed once and its tree shared; each use still counts its nodes and
 * depth against the limits, so nesting or fan-out cannot blow up. A chain
 * of segments being expanded is kept on the C stack to report cycles.
 */
#include <stdio.h>
#include <string.h>

#include "query/lex.h"
#include "query/qyint.h"
#include "query/suggest.h"

static int lookup_failed(qy_ctx *cx, int rc, uint32_t off) {
  return qy_fail(cx, rc, off, "definition lookup failed: %s", pond_strerror(rc));
}

static const char *const builtin_columns[] = {"cid", "added_at", "last_seen", NULL};

/* "unknown <what> 'name'[; did you mean 'x'?][ hint]" */
static int unknown(qy_ctx *cx, uint32_t off, const char *what, int kind, uint32_t scope,
                   const qy_str *name, const char *const *extra, const char *hint) {
  const qy_schema *s = cx->p->schema;
  qy_suggest sg;
  char clip[256];
  qy_suggest_init(&sg, name->p, name->len);
  if (s->names) s->names(s->ctx, kind, scope, qy_suggest_offer, &sg);
  if (kind == QY_NAME_TAG && scope != QY_SCOPE_ALL && !qy_suggest_best(&sg) && s->names)
    s->names(s->ctx, kind, QY_SCOPE_ALL, qy_suggest_offer, &sg);
  for (; extra && *extra; extra++) qy_suggest_offer(&sg, *extra, strlen(*extra));
  const char *best = qy_suggest_best(&sg);
  qy_clip(clip, sizeof clip, name->p, name->len);
  if (best) {
    char bclip[256];
    return qy_fail(cx, POND_EPARSE, off, "unknown %s '%s'; did you mean '%s'?", what, clip,
                   qy_clip(bclip, sizeof bclip, best, strlen(best)));
  }
  return qy_fail(cx, POND_EPARSE, off, "unknown %s '%s'%s", what, clip, hint ? hint : "");
}

static int resolve_column(qy_ctx *cx, qy_node *n) {
  const qy_schema *s = cx->p->schema;
  uint32_t id = 0;
  int rc;
  switch (n->op) {
    case QY_COL_ATTR: {
      int type = 0;
      rc = s->attr ? s->attr(s->ctx, n->name.p, n->name.len, &id, &type) : POND_NOTFOUND;
      if (rc == POND_OK) {
        if (type < QY_T_INT || type > QY_T_BOOL)
          return qy_fail(cx, POND_EINVAL, n->off, "attribute has an invalid type");
        n->id = id;
        n->type = (uint8_t)type;
        return POND_OK;
      }
      if (rc != POND_NOTFOUND) return lookup_failed(cx, rc, n->off);
      /* "cid" in quotes still names the built-in column (as in SQL) */
      if (n->quoted) {
        if (strcmp(n->name.p, "cid") == 0) n->op = QY_COL_CID;
        else if (strcmp(n->name.p, "added_at") == 0) n->op = QY_COL_ADDED_AT;
        else if (strcmp(n->name.p, "last_seen") == 0) n->op = QY_COL_LAST_SEEN;
        if (n->op != QY_COL_ATTR) return resolve_column(cx, n);
      }
      char hint[300] = "";
      if (n->quoted) {
        char clip[256];
        snprintf(hint, sizeof hint, " (strings take single quotes: '%s')",
                 qy_clip(clip, sizeof clip, n->name.p, n->name.len));
      }
      return unknown(cx, n->off, "attribute", QY_NAME_ATTR, 0, &n->name, builtin_columns,
                     hint);
    }
    case QY_COL_CID: n->type = QY_T_INT; return POND_OK;
    case QY_COL_ADDED_AT:
    case QY_COL_LAST_SEEN: n->type = QY_T_TIME; return POND_OK;
    case QY_COL_STAGE:
    case QY_COL_SINCE:
      rc = s->machine ? s->machine(s->ctx, n->name.p, n->name.len, &id) : POND_NOTFOUND;
      if (rc == POND_NOTFOUND)
        return unknown(cx, n->v.off, "machine", QY_NAME_MACHINE, 0, &n->name, NULL, NULL);
      if (rc < 0) return lookup_failed(cx, rc, n->v.off);
      n->id = id;
      n->type = n->op == QY_COL_STAGE ? QY_T_STRING : QY_T_TIME;
      return POND_OK;
    case QY_COL_COUNT:
    case QY_COL_LAST:
      rc = s->counter ? s->counter(s->ctx, n->name.p, n->name.len, &id) : POND_NOTFOUND;
      if (rc == POND_NOTFOUND)
        return unknown(cx, n->v.off, "counter", QY_NAME_COUNTER, 0, &n->name, NULL, NULL);
      if (rc < 0) return lookup_failed(cx, rc, n->v.off);
      n->id = id;
      n->type = n->op == QY_COL_COUNT ? QY_T_INT : QY_T_TIME;
      return POND_OK;
  }
  return qy_fail(cx, POND_EINVAL, n->off, "bad column");
}

static int resolve(qy_ctx *cx, qy_node *n) {
  if (n->kind == QY_LITERAL) {
    n->type = n->v.type;
    return POND_OK;
  }
  return resolve_column(cx, n);
}

/* "an int", "a string"… for messages */
static const char *a_type(int t) {
  switch (t) {
    case QY_T_INT: return "an int";
    case QY_T_TIME: return "a time";
    case QY_T_STRING: return "a string";
    default: return "a bool";
  }
}

static int numeric(int t) { return t == QY_T_INT || t == QY_T_TIME; }
static int comparable(int a, int b) { return numeric(a) ? numeric(b) : a == b; }

static const char *op_text(int op) {
  static const char *const t[] = {"?", "=", "!=", "<", "<=", ">", ">="};
  return op >= QY_EQ && op <= QY_GE ? t[op] : "?";
}

/* A string compared with stage('m') must be one of m's states. */
static int check_state(qy_ctx *cx, const qy_node *stage, qy_value *v) {
  const qy_schema *s = cx->p->schema;
  uint32_t id;
  int rc = s->state ? s->state(s->ctx, stage->id, v->s.p, v->s.len, &id) : POND_NOTFOUND;
  if (rc == POND_OK) {
    v->id = id;
    return POND_OK;
  }
  if (rc != POND_NOTFOUND) return lookup_failed(cx, rc, v->off);
  char clip[256];
  qy_clip(clip, sizeof clip, stage->name.p, stage->name.len);
  qy_suggest sg;
  qy_suggest_init(&sg, v->s.p, v->s.len);
  if (s->names) s->names(s->ctx, QY_NAME_STATE, stage->id, qy_suggest_offer, &sg);
  const char *best = qy_suggest_best(&sg);
  char vclip[256];
  qy_clip(vclip, sizeof vclip, v->s.p, v->s.len);
  if (best) {
    char bclip[256];
    return qy_fail(cx, POND_EPARSE, v->off,
                   "unknown state '%s' of machine '%s'; did you mean '%s'?", vclip, clip,
                   qy_clip(bclip, sizeof bclip, best, strlen(best)));
  }
  return qy_fail(cx, POND_EPARSE, v->off, "unknown state '%s' of machine '%s'", vclip, clip);
}

static int is_stage(const qy_node *n) {
  return n->kind == QY_COLUMN && n->op == QY_COL_STAGE;
}

static int mismatch(qy_ctx *cx, uint32_t off, const qy_node *a, const qy_node *b) {
  char ta[128], tb[128];
  return qy_fail(cx, POND_EPARSE, off, "cannot compare %s (%s) with %s (%s)",
                 qy_operand_text(ta, sizeof ta, a), qy_type_name(a->type),
                 qy_operand_text(tb, sizeof tb, b), qy_type_name(b->type));
}

static int check_cmp(qy_ctx *cx, qy_node *n) {
  POND_TRY(resolve(cx, n->a));
  POND_TRY(resolve(cx, n->b));
  if (!comparable(n->a->type, n->b->type)) return mismatch(cx, n->off, n->a, n->b);
  if (!numeric(n->a->type) && n->op != QY_EQ && n->op != QY_NE) {
    char ta[128];
    if (n->a->type == QY_T_STRING)
      return qy_fail(cx, POND_EPARSE, n->off,
                     "strings have no order: '%s' needs int or time operands, and %s is a "
                     "string (use =, !=, IN or LIKE)",
                     op_text(n->op), qy_operand_text(ta, sizeof ta, n->a));
    return qy_fail(cx, POND_EPARSE, n->off,
                   "bools have no order: '%s' needs int or time operands, and %s is a bool "
                   "(use = or !=)",
                   op_text(n->op), qy_operand_text(ta, sizeof ta, n->a));
  }
  if (is_stage(n->a) && n->b->kind == QY_LITERAL) POND_TRY(check_state(cx, n->a, &n->b->v));
  if (is_stage(n->b) && n->a->kind == QY_LITERAL) POND_TRY(check_state(cx, n->b, &n->a->v));
  return POND_OK;
}

static int check_in(qy_ctx *cx, qy_node *n) {
  POND_TRY(resolve(cx, n->a));
  for (uint32_t i = 0; i < n->n; i++) {
    qy_value *v = &n->items[i];
    if (!comparable(n->a->type, v->type)) {
      char ta[128], tv[128];
      qy_buf b = {NULL, tv, 0, sizeof tv, 0};
      qy_print_value(&b, v);
      return qy_fail(cx, POND_EPARSE, v->off, "IN list item %s is %s, but %s is %s", tv,
                     a_type(v->type), qy_operand_text(ta, sizeof ta, n->a), a_type(n->a->type));
    }
    if (is_stage(n->a)) POND_TRY(check_state(cx, n->a, v));
  }
  return POND_OK;
}

static int check_numeric(qy_ctx *cx, const qy_node *o, const char *what) {
  if (numeric(o->type)) return POND_OK;
  char t[128];
  return qy_fail(cx, POND_EPARSE, o->off, "%s applies to int and time only, and %s is %s",
                 what, qy_operand_text(t, sizeof t, o), a_type(o->type));
}

static int check_pred(qy_ctx *cx, qy_node *n);

/* An error inside segment n's text. Inner levels only record the segment;
 * the query's level writes "in segment 'a' -> 'b' at L:C: message", where
 * L:C is the position in the innermost segment's text. */
static int segment_error(qy_ctx *cx, const qy_node *n, int rc) {
  qy_prep *p = cx->p;
  p->errchain[p->nchain < 4 ? p->nchain : 4] = n->name;
  p->nchain++;
  if (!cx->top) return rc;
  char path[PC_ERRMSG_MAX], inner[PC_ERRMSG_MAX], clip[128];
  qy_buf b = {NULL, path, 0, sizeof path, 0};
  path[0] = 0;
  unsigned shown = p->nchain < 4 ? p->nchain : 4;
  qy_buf_puts(&b, "in segment ");
  if (p->nchain > 4) {
    qy_buf_puts(&b, "'");
    qy_buf_puts(&b, qy_clip(clip, sizeof clip, p->errchain[4].p, p->errchain[4].len));
    qy_buf_puts(&b, p->nchain > 5 ? "' -> \xE2\x80\xA6 -> " : "' -> ");
  }
  for (unsigned i = shown; i > 0; i--) {
    qy_buf_puts(&b, "'");
    qy_buf_puts(&b, qy_clip(clip, sizeof clip, p->errchain[i - 1].p, p->errchain[i - 1].len));
    qy_buf_puts(&b, i > 1 ? "' -> " : "'");
  }
  memcpy(inner, p->e->msg, sizeof inner);
  return qy_fail(cx, rc, n->v.off, "%s at %s", path, inner);
}

static int check_segment(qy_ctx *cx, qy_node *n) {
  qy_prep *p = cx->p;
  const qy_schema *s = p->schema;
  char clip[256];
  qy_clip(clip, sizeof clip, n->name.p, n->name.len);
  /* a segment already being expanded further out is a cycle */
  unsigned k = 0;
  for (const qy_segframe *f = cx->chain; f; f = f->up) {
    k++;
    if (f->name.len == n->name.len && memcmp(f->name.p, n->name.p, n->name.len) == 0) {
      char path[PC_ERRMSG_MAX] = "";
      qy_buf b = {NULL, path, 0, sizeof path, 0};
      /* the chain is innermost first: print it outermost first */
      for (unsigned i = k; i > 0; i--) {
        const qy_segframe *g = cx->chain;
        for (unsigned j = 1; j < i; j++) g = g->up;
        qy_buf_put(&b, g->name.p, g->name.len);
        qy_buf_puts(&b, " -> ");
      }
      qy_buf_put(&b, n->name.p, n->name.len);
      return qy_fail(cx, POND_EPARSE, n->v.off, "segment '%s' refers to itself: %s", clip, path);
    }
  }
  qy_seg *seg = p->segs;
  while (seg && !(seg->name.len == n->name.len &&
                  memcmp(seg->name.p, n->name.p, n->name.len) == 0))
    seg = seg->next;
  unsigned base = cx->base + n->depth + 1;
  if (!seg) {
    const char *where = NULL;
    size_t wlen = 0;
    int rc = s->segment ? s->segment(s->ctx, n->name.p, n->name.len, &where, &wlen)
                        : POND_NOTFOUND;
    if (rc == POND_NOTFOUND)
      return unknown(cx, n->v.off, "segment", QY_NAME_SEGMENT, 0, &n->name, NULL, NULL);
    if (rc < 0) return lookup_failed(cx, rc, n->v.off);
    if (wlen > p->lim.max_len)
      return qy_fail(cx, POND_ELIMIT, n->v.off,
                     "segment '%s' is %zu bytes long; the limit is %zu", clip, wlen,
                     p->lim.max_len);
    if (base > p->lim.max_depth)
      return qy_fail(cx, POND_ELIMIT, n->v.off, "expression nested deeper than %u levels",
                     p->lim.max_depth);
    qy_segframe frame = {cx->chain, n->name};
    qy_ctx child = {p, where, wlen, 0, base, 0, 0, &frame};
    qy_node *root = NULL;
    rc = qy_parse(&child, &root);
    if (rc == POND_OK) rc = qy_check(&child, root);
    if (rc < 0) return segment_error(cx, n, rc);
    seg = qy_arena_alloc(p->arena, sizeof *seg);
    if (!seg) return qy_fail(cx, POND_ENOMEM, n->v.off, "out of memory");
    seg->name = n->name;
    seg->root = root;
    seg->nodes = child.nodes;
    seg->depth = child.depth;
    seg->next = p->segs;
    p->segs = seg;
  }
  if (base + seg->depth > p->lim.max_depth)
    return qy_fail(cx, POND_ELIMIT, n->v.off,
                   "segment '%s' here nests the expression deeper than %u levels", clip,
                   p->lim.max_depth);
  if (seg->nodes > p->lim.max_nodes - cx->nodes)
    return qy_fail(cx, POND_ELIMIT, n->v.off,
                   "expression has more than %u nodes with segment '%s' inlined",
                   p->lim.max_nodes, clip);
  cx->nodes += seg->nodes;
  if (n->depth + 1 + seg->depth > cx->depth) cx->depth = n->depth + 1 + seg->depth;
  n->a = seg->root;
  return POND_OK;
}

static int valid_tag_part(size_t n) { return n >= 1 && n <= 64; }

static int check_tag(qy_ctx *cx, qy_node *n) {
  const qy_schema *s = cx->p->schema;
  const char *name = n->name.p;
  size_t len = n->name.len;
  const char *slash = memchr(name, '/', len);
  char clip[256];
  if (!slash || memchr(slash + 1, '/', len - (size_t)(slash + 1 - name)) ||
      !valid_tag_part((size_t)(slash - name)) ||
      !valid_tag_part(len - (size_t)(slash + 1 - name)))
    return qy_fail(cx, POND_EPARSE, n->v.off,
                   "invalid tag name '%s' (expected 'group/name' or 'group/*')",
                   qy_clip(clip, sizeof clip, name, len));
  qy_str group = {name, (uint32_t)(slash - name)};
  uint32_t gid = QY_SCOPE_ALL, id;
  int rc = s->group ? s->group(s->ctx, group.p, group.len, &id) : POND_NOTFOUND;
  if (rc == POND_OK) gid = id;
  else if (rc != POND_NOTFOUND) return lookup_failed(cx, rc, n->v.off);
  if (slash[1] == '*' && name + len == slash + 2) {
    if (gid == QY_SCOPE_ALL)
      return unknown(cx, n->v.off, "tag group", QY_NAME_GROUP, 0, &group, NULL, NULL);
    n->neg = 1;
    n->id = gid;
    n->type = QY_T_BOOL;
    return POND_OK;
  }
  rc = s->tag ? s->tag(s->ctx, name, len, &id) : POND_NOTFOUND;
  if (rc == POND_NOTFOUND)
    return unknown(cx, n->v.off, "tag", QY_NAME_TAG, gid, &n->name, NULL, NULL);
  if (rc < 0) return lookup_failed(cx, rc, n->v.off);
  n->id = id;
  n->type = QY_T_BOOL;
  return POND_OK;
}

static int check_pred(qy_ctx *cx, qy_node *n) {
  n->type = QY_T_BOOL;
  switch (n->kind) {
    case QY_CONST:
      return POND_OK;
    case QY_AND:
    case QY_OR:
      for (uint32_t i = 0; i < n->n; i++) POND_TRY(check_pred(cx, n->kids[i]));
      return POND_OK;
    case QY_NOT:
      return check_pred(cx, n->a);
    case QY_TAG:
      return check_tag(cx, n);
    case QY_SEGMENT:
      return check_segment(cx, n);
    case QY_BOOLCOL: {
      POND_TRY(resolve(cx, n->a));
      if (n->a->type == QY_T_BOOL) return POND_OK;
      char t[128];
      return qy_fail(cx, POND_EPARSE, n->off, "%s is %s, not a condition; compare it with a value",
                     qy_operand_text(t, sizeof t, n->a), a_type(n->a->type));
    }
    case QY_CMP:
      return check_cmp(cx, n);
    case QY_IN:
      return check_in(cx, n);
    case QY_BETWEEN:
      POND_TRY(resolve(cx, n->a));
      POND_TRY(resolve(cx, n->b));
      POND_TRY(resolve(cx, n->c));
      POND_TRY(check_numeric(cx, n->a, "BETWEEN"));
      POND_TRY(check_numeric(cx, n->b, "BETWEEN"));
      return check_numeric(cx, n->c, "BETWEEN");
    case QY_LIKE: {
      POND_TRY(resolve(cx, n->a));
      if (n->a->type == QY_T_STRING) return POND_OK;
      char t[128];
      return qy_fail(cx, POND_EPARSE, n->off, "LIKE applies to strings only, and %s is %s",
                     qy_operand_text(t, sizeof t, n->a), a_type(n->a->type));
    }
    case QY_ISNULL:
      return resolve(cx, n->a);
  }
  return qy_fail(cx, POND_EINVAL, n->off, "bad node");
}

int qy_check(qy_ctx *cx, qy_node *root) { return check_pred(cx, root); }
