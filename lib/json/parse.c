/*
 * parse.c — the strict RFC 8259 reader.
 *
 * The parser is a loop over an explicit stack of open containers (frames),
 * never recursion, so nesting costs heap bounded by max_depth and no C stack.
 * Children of open containers wait on one scratch stack; when a container
 * closes, its children are copied into one exact-size array in the arena
 * (pj_value[] for arrays, pj_member[] for objects), so the finished tree is
 * contiguous per container and the scratch memory is reused.
 *
 * Duplicate keys: an object's keys are compared linearly while it has few
 * members; from DUP_LINEAR members on, they go into a pc_strmap owned by the
 * frame, so a hostile object of n keys costs O(n), not O(n^2).
 *
 * Positions: line and line_start are maintained as whitespace is skipped
 * (a raw LF can occur nowhere else in valid JSON), so a value's column is
 * pos - line_start + 1. Lines end at LF; CR is ordinary whitespace.
 *
 * Errors report the first offending byte in document order: the error of
 * the earliest byte that makes the text invalid wins.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "json/pjint.h"

#define DEFAULT_DEPTH 64
#define DUP_LINEAR 32

/* ---- positions and messages --------------------------------------------- */

static void line_col(const pj_parser *p, size_t offset, uint32_t *line, uint32_t *col) {
  size_t ln, start;
  if (offset >= p->line_start) {
    ln = p->line;
    start = p->line_start;
  } else {
    ln = 1;
    start = 0;
  }
  for (size_t i = start; i < offset && i < p->n; i++) {
    if (p->s[i] == '\n') {
      ln++;
      start = i + 1;
    }
  }
  *line = ln > UINT32_MAX ? UINT32_MAX : (uint32_t)ln;
  size_t c = offset - start + 1;
  *col = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

int pj_fail(pj_parser *p, int code, size_t offset, const char *fmt, ...) {
  char msg[PC_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  uint32_t line, col;
  line_col(p, offset, &line, &col);
  pc_errf(p->e, code, "json:%u:%u: %s", (unsigned)line, (unsigned)col, msg);
  p->e->offset = (long)offset;
  return code;
}

const char *pj_describe_at(const pj_parser *p, size_t offset, char *buf, size_t cap) {
  if (offset >= p->n) {
    snprintf(buf, cap, "end of input");
    return buf;
  }
  unsigned c = p->s[offset];
  if (c > 0x20 && c < 0x7F) {
    snprintf(buf, cap, "'%c'", (char)c);
  } else if (c < 0x80) {
    snprintf(buf, cap, "U+%04X", c);
  } else {
    size_t i = offset;
    int32_t cp = pc_utf8_next((const char *)p->s, p->n, &i);
    if (cp < 0)
      snprintf(buf, cap, "byte 0x%02X (invalid UTF-8)", c);
    else
      snprintf(buf, cap, "'%.*s' (U+%04X)", (int)(i - offset), (const char *)p->s + offset,
               (unsigned)cp);
  }
  return buf;
}

void pj_excerpt(char *buf, size_t cap, const char *s, size_t n, size_t max) {
  /* Control bytes and invalid UTF-8 are shown escaped so that a message is
   * always one line of valid UTF-8. */
  size_t o = 0, i = 0;
  if (cap == 0) return;
  while (i < n && i < max && o + 12 < cap) {
    unsigned c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7F) {
      buf[o++] = (char)c;
      i++;
    } else if (c >= 0x80) {
      size_t j = i;
      if (pc_utf8_next(s, n, &j) >= 0 && j <= max) {
        memcpy(buf + o, s + i, j - i);
        o += j - i;
        i = j;
      } else {
        o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", c);
        i++;
      }
    } else {
      o += (size_t)snprintf(buf + o, cap - o, "\\u%04X", c);
      i++;
    }
  }
  if (i < n && o + 4 < cap) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  buf[o] = 0;
}

/* ---- scanning ------------------------------------------------------------ */

static void skip_ws(pj_parser *p) {
  const unsigned char *s = p->s;
  size_t i = p->pos, n = p->n;
  while (i < n) {
    unsigned c = s[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      i++;
    } else if (c == '\n') {
      i++;
      p->line++;
      p->line_start = i;
    } else {
      break;
    }
  }
  p->pos = i;
}

static int is_word(unsigned c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int lex_word(pj_parser *p, pj_value *v) {
  size_t i = p->pos, n = p->n;
  while (i < n && is_word(p->s[i])) i++;
  size_t len = i - p->pos;
  const char *w = (const char *)p->s + p->pos;
  if (len == 4 && memcmp(w, "true", 4) == 0) {
    v->type = PJ_TRUE;
  } else if (len == 5 && memcmp(w, "false", 5) == 0) {
    v->type = PJ_FALSE;
  } else if (len == 4 && memcmp(w, "null", 4) == 0) {
    v->type = PJ_NULL;
  } else {
    char ex[64];
    pj_excerpt(ex, sizeof ex, w, len, 24);
    return pj_fail(p, POND_EPARSE, p->pos, "invalid literal '%s' (expected true, false or null)", ex);
  }
  p->pos = i;
  return POND_OK;
}

/* ---- stacks --------------------------------------------------------------- */

static int push_member(pj_parser *p, const char *key, size_t klen, const pj_value *v) {
  if (p->slen == p->scap) {
    size_t ncap = p->scap ? 2 * p->scap : 16, bytes;
    if (!pc_mul_ok(ncap, sizeof(pj_member), &bytes)) return POND_ENOMEM;
    pj_member *ns = pc_realloc(p->m, p->scratch, p->scap * sizeof(pj_member), bytes);
    if (!ns) return POND_ENOMEM;
    p->scratch = ns;
    p->scap = ncap;
  }
  pj_member *mb = &p->scratch[p->slen++];
  mb->key = key;
  mb->klen = klen;
  if (v) mb->value = *v;
  return POND_OK;
}

static int push_frame(pj_parser *p, pj_type type, const pj_value *at) {
  if (p->depth == p->fcap) {
    size_t ncap = p->fcap ? 2 * p->fcap : 8;
    if (ncap > p->max_depth) ncap = p->max_depth;
    pj_frame *nf = pc_realloc(p->m, p->frames, p->fcap * sizeof(pj_frame), ncap * sizeof(pj_frame));
    if (!nf) return POND_ENOMEM;
    p->frames = nf;
    p->fcap = ncap;
  }
  pj_frame *f = &p->frames[p->depth++];
  f->type = type;
  f->start = p->slen;
  f->offset = at->offset;
  f->line = at->line;
  f->col = at->col;
  f->keys = NULL;
  return POND_OK;
}

static void drop_keys(pj_parser *p, pj_frame *f) {
  if (!f->keys) return;
  pc_strmap_free(p->m, f->keys);
  pc_free(p->m, f->keys, sizeof *f->keys);
  f->keys = NULL;
}

/* Pops the innermost container into v, its children copied to the arena. */
static int close_container(pj_parser *p, pj_value *v) {
  pj_frame *f = &p->frames[p->depth - 1];
  size_t n = p->slen - f->start;
  const pj_member *kids = n ? p->scratch + f->start : NULL;
  memset(v, 0, sizeof *v);
  v->type = f->type;
  v->offset = f->offset;
  v->line = f->line;
  v->col = f->col;
  if (f->type == PJ_ARRAY) {
    pj_value *items = NULL;
    if (n) {
      items = pj_arena_alloc(p->doc, n * sizeof(pj_value));
      if (!items) return POND_ENOMEM;
      for (size_t i = 0; i < n; i++) items[i] = kids[i].value;
    }
    v->u.arr.items = items;
    v->u.arr.n = n;
  } else {
    pj_member *items = NULL;
    if (n) {
      items = pj_arena_alloc(p->doc, n * sizeof(pj_member));
      if (!items) return POND_ENOMEM;
      memcpy(items, kids, n * sizeof(pj_member));
    }
    v->u.obj.items = items;
    v->u.obj.n = n;
  }
  drop_keys(p, f);
  p->slen = f->start;
  p->depth--;
  return POND_OK;
}

/* Fails with "duplicate key" when the innermost object already has key. */
static int check_duplicate(pj_parser *p, const char *key, size_t klen, size_t at) {
  pj_frame *f = &p->frames[p->depth - 1];
  size_t n = p->slen - f->start;
  int dup = 0;
  if (!f->keys && n < DUP_LINEAR) {
    for (size_t i = f->start; i < p->slen && !dup; i++)
      dup = p->scratch[i].klen == klen && memcmp(p->scratch[i].key, key, klen) == 0;
  } else {
    if (!f->keys) {
      pc_strmap *km = pc_alloc(p->m, sizeof *km);
      if (!km) return POND_ENOMEM;
      pc_strmap_init(km);
      if (pc_strmap_reserve(p->m, km, 2 * n) != POND_OK) {
        pc_free(p->m, km, sizeof *km);
        return POND_ENOMEM;
      }
      for (size_t i = f->start; i < p->slen; i++)
        (void)pc_strmap_put(p->m, km, p->scratch[i].key, p->scratch[i].klen, 0); /* reserved */
      f->keys = km;
    }
    dup = pc_strmap_get(f->keys, key, klen, NULL) == POND_OK;
    if (!dup && pc_strmap_put(p->m, f->keys, key, klen, 0) != POND_OK) return POND_ENOMEM;
  }
  if (dup) {
    char ex[96];
    pj_excerpt(ex, sizeof ex, key, klen, 48);
    return pj_fail(p, POND_EPARSE, at, "duplicate key '%s'", ex);
  }
  return POND_OK;
}

/* ---- the loop --------------------------------------------------------------- */

static int unclosed(pj_parser *p) {
  if (p->depth == 0)
    return pj_fail(p, POND_EPARSE, p->n, "unexpected end of input (expected a value)");
  const pj_frame *f = &p->frames[p->depth - 1];
  return pj_fail(p, POND_EPARSE, p->n, "unexpected end of input (the '%c' at %u:%u is not closed)",
                 f->type == PJ_ARRAY ? '[' : '{', (unsigned)f->line, (unsigned)f->col);
}

static int fail_at(pj_parser *p, const char *what) {
  char d[64];
  if (p->pos >= p->n) return unclosed(p);
  return pj_fail(p, POND_EPARSE, p->pos, "%s, found %s", what, pj_describe_at(p, p->pos, d, sizeof d));
}

static int oom(pj_parser *p) { return pj_fail(p, POND_ENOMEM, p->pos, "out of memory"); }

/* The next object key, the ':' after it, and the pending member. */
static int object_key(pj_parser *p, const char *expected) {
  if (p->pos >= p->n) return unclosed(p);
  if (p->s[p->pos] != '"') return fail_at(p, expected);
  size_t at = p->pos;
  const char *key;
  size_t klen;
  POND_TRY(pj_lex_string(p, &key, &klen));
  int rc = check_duplicate(p, key, klen, at);
  if (rc == POND_ENOMEM) return oom(p);
  if (rc) return rc;
  if (push_member(p, key, klen, NULL)) return oom(p);
  skip_ws(p);
  if (p->pos >= p->n) return unclosed(p);
  if (p->s[p->pos] != ':') return fail_at(p, "expected ':' after object key");
  p->pos++;
  return POND_OK;
}

static int run(pj_parser *p) {
  pj_value v;
  int rc;
  skip_ws(p);
  if (p->n - p->pos >= 3 && memcmp(p->s + p->pos, "\xEF\xBB\xBF", 3) == 0)
    return pj_fail(p, POND_EPARSE, p->pos, "byte order mark is not allowed");
value:
  skip_ws(p);
  if (p->pos >= p->n) return unclosed(p);
  memset(&v, 0, sizeof v);
  v.offset = p->pos;
  v.line = p->line;
  v.col = (uint32_t)(p->pos - p->line_start + 1);
  switch (p->s[p->pos]) {
    case '[':
    case '{': {
      pj_type t = p->s[p->pos] == '[' ? PJ_ARRAY : PJ_OBJECT;
      if (p->depth >= p->max_depth)
        return pj_fail(p, POND_ELIMIT, p->pos, "nesting deeper than %u levels", p->max_depth);
      if (push_frame(p, t, &v)) return oom(p);
      p->pos++;
      skip_ws(p);
      if (p->pos < p->n && p->s[p->pos] == (t == PJ_ARRAY ? ']' : '}')) {
        p->pos++;
        if (close_container(p, &v)) return oom(p);
        goto done;
      }
      if (t == PJ_ARRAY) goto value;
      POND_TRY(object_key(p, "expected a string key or '}'"));
      goto value;
    }
    case '"':
      v.type = PJ_STRING;
      POND_TRY(pj_lex_string(p, &v.u.str.s, &v.u.str.len));
      goto done;
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      v.type = PJ_NUMBER;
      POND_TRY(pj_lex_number(p, &v));
      goto done;
    default:
      if (is_word(p->s[p->pos])) {
        POND_TRY(lex_word(p, &v));
        goto done;
      }
      if (p->s[p->pos] == '+' || p->s[p->pos] == '.')
        return pj_fail(p, POND_EPARSE, p->pos, "a number must start with a digit or '-'");
      return fail_at(p, "expected a value");
  }

done:
  if (p->depth == 0) {
    p->doc->root = v;
    skip_ws(p);
    if (p->pos < p->n)
      return pj_fail(p, POND_EPARSE, p->pos, "trailing characters after the document");
    return POND_OK;
  }
  {
    pj_frame *f = &p->frames[p->depth - 1];
    if (f->type == PJ_ARRAY) {
      if (push_member(p, NULL, 0, &v)) return oom(p);
    } else {
      p->scratch[p->slen - 1].value = v;
    }
    skip_ws(p);
    if (p->pos >= p->n) return unclosed(p);
    unsigned c = p->s[p->pos];
    unsigned close = f->type == PJ_ARRAY ? ']' : '}';
    if (c == ',') {
      size_t comma = p->pos++;
      skip_ws(p);
      if (p->pos < p->n && p->s[p->pos] == close)
        return pj_fail(p, POND_EPARSE, comma, "trailing comma before '%c'", (char)close);
      if (f->type == PJ_ARRAY) goto value;
      POND_TRY(object_key(p, "expected a string key"));
      goto value;
    }
    if (c == close) {
      p->pos++;
      rc = close_container(p, &v);
      if (rc) return oom(p);
      goto done;
    }
    return fail_at(p, f->type == PJ_ARRAY ? "expected ',' or ']' after array element"
                                          : "expected ',' or '}' after object member");
  }
}

int pj_parse(pc_mem *m, const char *text, size_t len, const pj_limits *lim, pj_doc **out,
             pc_err *e) {
  pc_err local;
  if (!e) e = &local;
  pc_err_clear(e);
  pj_parser p;
  memset(&p, 0, sizeof p);
  p.m = m;
  p.e = e;
  p.s = (const unsigned char *)text;
  p.n = len;
  p.line = 1;
  p.max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_DEPTH;
  if (!m || !out || (!text && len)) return pc_errf(e, POND_EINVAL, "json: invalid argument");
  if (lim && lim->max_len && len > lim->max_len) {
    p.n = lim->max_len; /* count lines only up to the limit */
    return pj_fail(&p, POND_ELIMIT, lim->max_len, "document longer than the limit of %zu bytes",
                   lim->max_len);
  }
  p.doc = pj_doc_new(m, len);
  if (!p.doc) return pj_fail(&p, POND_ENOMEM, 0, "out of memory");
  int rc = run(&p);
  for (size_t i = 0; i < p.depth; i++) drop_keys(&p, &p.frames[i]);
  pc_free(m, p.scratch, p.scap * sizeof(pj_member));
  pc_free(m, p.frames, p.fcap * sizeof(pj_frame));
  if (rc) {
    pj_free(p.doc);
    return rc;
  }
  *out = p.doc;
  return POND_OK;
}
