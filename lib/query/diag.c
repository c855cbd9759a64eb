/*
 * diag.c — positioned error messages.
 *
 * Tokens carry byte offsets only; the line and column are computed once, on
 * the error path, by rescanning the text up to the offset (O(offset)).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "query/lex.h"
#include "query/qyint.h"

void qy_line_col(const char *s, size_t n, size_t off, unsigned *line, unsigned *col) {
  unsigned l = 1, c = 1;
  size_t i = 0;
  if (off > n) off = n;
  while (i < off) {
    if (s[i] == '\n') {
      l++;
      c = 1;
      i++;
      continue;
    }
    /* a partial character before off still counts as one column */
    pc_utf8_next(s, off, &i);
    c++;
  }
  *line = l;
  *col = c;
}

const char *qy_clip(char *buf, size_t cap, const char *s, size_t n) {
  size_t i = 0, cps = 0;
  while (i < n && cps < 60) {
    size_t j = i;
    pc_utf8_next(s, n, &j);
    if (j + 4 >= cap) break; /* room for "…" and the NUL */
    i = j;
    cps++;
  }
  memcpy(buf, s, i);
  if (i < n) {
    memcpy(buf + i, "\xE2\x80\xA6", 3); /* … */
    i += 3;
  }
  buf[i] = 0;
  return buf;
}

int qy_fail(qy_ctx *cx, int code, size_t off, const char *fmt, ...) {
  pc_err *e = cx->p->e;
  unsigned line, col;
  char msg[PC_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  qy_line_col(cx->text, cx->len, off, &line, &col);
  pc_errf(e, code, "%s%u:%u: %s", cx->top ? "query:" : "", line, col, msg);
  e->offset = (long)off;
  return code;
}
