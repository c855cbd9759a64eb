/*
 * write.c — pj_buf, a growable byte buffer, and the JSON writer.
 *
 * A failed allocation sets b->failed and turns every later write into a
 * no-op, so a writer can emit a whole document and check once at the end.
 * The buffer keeps p[len] == 0 whenever p is non-NULL.
 *
 * Strings: '"', '\\' and control characters are escaped (the short forms
 * \b \f \n \r \t where they exist, else \u00XX); valid UTF-8 passes through
 * unchanged; each byte of an ill-formed sequence becomes \ufffd, so the
 * output is always valid JSON.
 *
 * Numbers parsed by pj_parse are written as their literal, so a document
 * round-trips exactly. Doubles are written in the shortest form that reads
 * back to the same value, with '.' whatever the locale says.
 *
 * pj_buf_value walks the tree with an explicit stack (on the C stack up to
 * 32 levels, then through pc_mem), so a deep tree costs no recursion.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "json/pjint.h"

void pj_buf_init(pj_buf *b, pc_mem *m) {
  b->m = m;
  b->p = NULL;
  b->len = b->cap = 0;
  b->failed = 0;
}

void pj_buf_free(pj_buf *b) {
  pc_free(b->m, b->p, b->cap);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* Room for n more bytes plus the NUL. */
static int reserve(pj_buf *b, size_t n) {
  if (b->failed) return 0;
  if (b->cap - b->len > n) return 1;
  size_t need = b->len + n + 1;
  if (need < b->len) goto fail;
  size_t ncap = b->cap ? b->cap : 64;
  while (ncap < need) {
    if (ncap > ((size_t)-1 >> 1)) {
      ncap = need;
      break;
    }
    ncap <<= 1;
  }
  char *np = pc_realloc(b->m, b->p, b->cap, ncap);
  if (!np) goto fail;
  b->p = np;
  b->cap = ncap;
  return 1;
fail:
  b->failed = 1;
  return 0;
}

void pj_buf_put(pj_buf *b, const void *p, size_t n) {
  if (!reserve(b, n)) return;
  if (n) memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = 0;
}

void pj_buf_puts(pj_buf *b, const char *s) { pj_buf_put(b, s, strlen(s)); }

static void putc_(pj_buf *b, char c) {
  if (!reserve(b, 1)) return;
  b->p[b->len++] = c;
  b->p[b->len] = 0;
}

void pj_buf_str(pj_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  putc_(b, '"');
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n) {
      unsigned c = (unsigned char)s[run];
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      run++;
    }
    pj_buf_put(b, s + i, run - i);
    i = run;
    if (i >= n) break;
    unsigned c = (unsigned char)s[i];
    if (c >= 0x80) {
      size_t j = i;
      if (pc_utf8_next(s, n, &j) >= 0) {
        pj_buf_put(b, s + i, j - i);
      } else {
        pj_buf_put(b, "\\ufffd", 6);
      }
      i = j;
      continue;
    }
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t el = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
        el = 6;
    }
    pj_buf_put(b, esc, el);
    i++;
  }
  putc_(b, '"');
}

void pj_buf_i64(pj_buf *b, int64_t v) {
  char t[24];
  int n = snprintf(t, sizeof t, "%" PRId64, v);
  pj_buf_put(b, t, (size_t)n);
}

/* printf's %g with the locale's radix replaced by '.'; returns the length. */
static size_t format_g(char *out, size_t cap, int prec, double d) {
  char t[64];
  int n = snprintf(t, sizeof t, "%.*g", prec, d);
  size_t o = 0;
  for (int i = 0; i < n && o + 1 < cap; i++) {
    char c = t[i];
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e') {
      out[o++] = c;
    } else if (o == 0 || out[o - 1] != '.') {
      out[o++] = '.'; /* a radix of any length becomes one '.' */
    }
  }
  out[o] = 0;
  return o;
}

void pj_buf_f64(pj_buf *b, double d) {
  if (!isfinite(d)) {
    pj_buf_put(b, "null", 4);
    return;
  }
  char t[64];
  size_t n = 0;
  for (int prec = 1; prec <= 17; prec++) {
    n = format_g(t, sizeof t, prec, d);
    int inf;
    double back = pj_number_to_double(t, n, &inf);
    if (back == d && signbit(back) == signbit(d)) break;
  }
  pj_buf_put(b, t, n);
}

static void newline(pj_buf *b, int indent, size_t depth) {
  if (indent <= 0) return;
  putc_(b, '\n');
  for (size_t i = 0; i < depth * (size_t)indent && !b->failed; i++) putc_(b, ' ');
}

static void scalar(pj_buf *b, const pj_value *v) {
  switch (v->type) {
    case PJ_NULL: pj_buf_put(b, "null", 4); break;
    case PJ_FALSE: pj_buf_put(b, "false", 5); break;
    case PJ_TRUE: pj_buf_put(b, "true", 4); break;
    case PJ_STRING: pj_buf_str(b, v->u.str.s, v->u.str.len); break;
    case PJ_NUMBER:
      if (v->u.num.raw && v->u.num.rawlen)
        pj_buf_put(b, v->u.num.raw, v->u.num.rawlen);
      else if (v->u.num.is_int)
        pj_buf_i64(b, v->u.num.i);
      else
        pj_buf_f64(b, v->u.num.d);
      break;
    default: break;
  }
}

typedef struct wframe {
  const pj_value *v;
  size_t next; /* index of the next child to write */
} wframe;

void pj_buf_value(pj_buf *b, const pj_value *root, int indent) {
  wframe local[32], *st = local;
  size_t cap = 32, depth = 0;
  const pj_value *v = root;
  for (;;) {
    /* Write v: a scalar whole, a container's opening. */
    if (v->type == PJ_ARRAY || v->type == PJ_OBJECT) {
      putc_(b, v->type == PJ_ARRAY ? '[' : '{');
      if (depth == cap) {
        size_t ncap = cap * 2;
        wframe *ns = pc_alloc(b->m, ncap * sizeof(wframe));
        if (!ns) {
          b->failed = 1;
          break;
        }
        memcpy(ns, st, depth * sizeof(wframe));
        if (st != local) pc_free(b->m, st, cap * sizeof(wframe));
        st = ns;
        cap = ncap;
      }
      st[depth].v = v;
      st[depth].next = 0;
      depth++;
    } else {
      scalar(b, v);
    }
    /* Find the next value to write, closing finished containers. */
    v = NULL;
    while (depth && !b->failed) {
      wframe *f = &st[depth - 1];
      int arr = f->v->type == PJ_ARRAY;
      size_t n = arr ? f->v->u.arr.n : f->v->u.obj.n;
      if (f->next < n) {
        if (f->next) putc_(b, ',');
        newline(b, indent, depth);
        if (arr) {
          v = &f->v->u.arr.items[f->next++];
        } else {
          const pj_member *mb = &f->v->u.obj.items[f->next++];
          pj_buf_str(b, mb->key, mb->klen);
          if (indent > 0)
            pj_buf_put(b, ": ", 2);
          else
            putc_(b, ':');
          v = &mb->value;
        }
        break;
      }
      depth--;
      if (n) newline(b, indent, depth);
      putc_(b, arr ? ']' : '}');
    }
    if (!v || b->failed) break;
  }
  if (st != local) pc_free(b->m, st, cap * sizeof(wframe));
}
