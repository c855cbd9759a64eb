/*
 * lex.c — the query scanner.
 *
 * One pass, no allocation, O(1) work per byte. Lexical errors become a
 * QY_TK_ERROR token with a message; the parser turns it into a positioned
 * error. Full-width punctuation typed by a Chinese input method ('（', '，',
 * '＝', curly quotes) gets a hint naming the ASCII character meant.
 */
#include "query/lex.h"

#include "core/utf8.h"

#include <stdio.h>
#include <string.h>

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static int is_ident(int c) { return is_alpha(c) || is_digit(c); }
static int is_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int qy_utf8_check(const char *s, size_t n, size_t *bad) {
  size_t at;
  if (!pc_utf8_valid(s, n, &at)) {
    if (bad) *bad = at;
    return 0;
  }
  const char *nul = memchr(s, 0, n);
  if (nul) {
    if (bad) *bad = (size_t)(nul - s);
    return 0;
  }
  return 1;
}

int qy_word_eq(const char *s, size_t n, const char *w) {
  size_t i = 0;
  for (; i < n && w[i]; i++) {
    int c = (unsigned char)s[i];
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    if (c != w[i]) return 0;
  }
  return i == n && w[i] == 0;
}

void qy_lex_init(qy_lexer *lx, const char *s, size_t n) {
  lx->s = s;
  lx->n = n;
  lx->pos = 0;
  lx->err_off = 0;
  lx->err_msg[0] = 0;
}

static const struct {
  const char *word;
  qy_tt type;
} keywords[] = {
    {"and", QY_TK_AND},         {"or", QY_TK_OR},     {"not", QY_TK_NOT},
    {"in", QY_TK_IN},           {"between", QY_TK_BETWEEN},
    {"like", QY_TK_LIKE},       {"is", QY_TK_IS},     {"null", QY_TK_NULL},
    {"true", QY_TK_TRUE},       {"false", QY_TK_FALSE},
    {"timestamp", QY_TK_TIMESTAMP},
};

const char *qy_tt_name(qy_tt t) {
  switch (t) {
    case QY_TK_EOF: return "end of input";
    case QY_TK_IDENT: return "a name";
    case QY_TK_QIDENT: return "a quoted name";
    case QY_TK_STRING: return "a string";
    case QY_TK_INTEGER: return "a number";
    case QY_TK_DURATION: return "a duration";
    case QY_TK_LPAREN: return "'('";
    case QY_TK_RPAREN: return "')'";
    case QY_TK_COMMA: return "','";
    case QY_TK_EQ: return "'='";
    case QY_TK_NE: return "'!='";
    case QY_TK_LT: return "'<'";
    case QY_TK_LE: return "'<='";
    case QY_TK_GT: return "'>'";
    case QY_TK_GE: return "'>='";
    case QY_TK_PLUS: return "'+'";
    case QY_TK_MINUS: return "'-'";
    case QY_TK_AND: return "AND";
    case QY_TK_OR: return "OR";
    case QY_TK_NOT: return "NOT";
    case QY_TK_IN: return "IN";
    case QY_TK_BETWEEN: return "BETWEEN";
    case QY_TK_LIKE: return "LIKE";
    case QY_TK_IS: return "IS";
    case QY_TK_NULL: return "NULL";
    case QY_TK_TRUE: return "TRUE";
    case QY_TK_FALSE: return "FALSE";
    case QY_TK_TIMESTAMP: return "TIMESTAMP";
    case QY_TK_ERROR: return "an error";
  }
  return "?";
}

static qy_tok error_tok(qy_lexer *lx, size_t off, const char *msg) {
  qy_tok t = {QY_TK_ERROR, (uint32_t)off, 0, 0, 0};
  lx->err_off = (uint32_t)off;
  snprintf(lx->err_msg, sizeof lx->err_msg, "%s", msg);
  lx->pos = lx->n; /* stop: later calls return EOF-like errors */
  return t;
}

/* Full-width and typographic characters an IME produces in place of the
 * ASCII punctuation of the language. */
static const char *ascii_for(int32_t cp) {
  switch (cp) {
    case 0xFF08: return "(";
    case 0xFF09: return ")";
    case 0xFF0C: return ",";
    case 0x3001: return ",";
    case 0xFF1D: return "=";
    case 0xFF1C: return "<";
    case 0xFF1E: return ">";
    case 0xFF01: return "!";
    case 0xFF07: case 0x2018: case 0x2019: return "'";
    case 0xFF02: case 0x201C: case 0x201D: return "\"";
    case 0x3000: return " ";
    default: return NULL;
  }
}

static qy_tok bad_char(qy_lexer *lx, size_t at) {
  char msg[160];
  size_t i = at;
  int32_t cp = pc_utf8_next(lx->s, lx->n, &i);
  if (cp < 0) return error_tok(lx, at, "invalid UTF-8");
  if (cp == 0) return error_tok(lx, at, "unexpected NUL byte");
  if (cp < 0x20 || cp == 0x7F) {
    snprintf(msg, sizeof msg, "unexpected control character U+%04X", (unsigned)cp);
    return error_tok(lx, at, msg);
  }
  if (cp < 0x80) {
    if (cp == '!')
      snprintf(msg, sizeof msg, "unexpected character '!' (did you mean '!='?)");
    else
      snprintf(msg, sizeof msg, "unexpected character '%c'", (char)cp);
    return error_tok(lx, at, msg);
  }
  const char *ascii = ascii_for(cp);
  if (ascii) {
    /* a quote is shown in the other kind of quotes */
    const char *q = ascii[0] == '\'' ? "\"" : "'";
    snprintf(msg, sizeof msg, "unexpected character '%.*s' (did you mean %s%s%s?)",
             (int)(i - at), lx->s + at, q, ascii, q);
    return error_tok(lx, at, msg);
  }
  /* Likely a non-ASCII name written bare: show it quoted, up to a
   * delimiter, as the fix. */
  size_t end = i;
  while (end < lx->n && end - at < 48) {
    unsigned char c = (unsigned char)lx->s[end];
    if (c < 0x80) {
      if (!is_ident(c)) break;
      end++;
      continue;
    }
    size_t j = end;
    int32_t cj = pc_utf8_next(lx->s, lx->n, &j);
    if (cj < 0 || ascii_for(cj)) break;
    end = j;
  }
  snprintf(msg, sizeof msg,
           "unexpected character '%.*s' (write non-ASCII names in double quotes: \"%.*s\")",
           (int)(i - at), lx->s + at, (int)(end - at), lx->s + at);
  return error_tok(lx, at, msg);
}

/* A '…' or "…" token starting at s[at] == q. */
static qy_tok quoted(qy_lexer *lx, size_t at, char q, qy_tt type) {
  size_t i = at + 1;
  uint8_t escapes = 0;
  for (;;) {
    if (i >= lx->n)
      return error_tok(lx, at, type == QY_TK_STRING ? "unterminated string"
                                                    : "unterminated quoted name");
    unsigned char c = (unsigned char)lx->s[i];
    if (c == (unsigned char)q) {
      if (i + 1 < lx->n && lx->s[i + 1] == q) {
        escapes = 1;
        i += 2;
        continue;
      }
      break;
    }
    if (c == 0)
      return error_tok(lx, i, type == QY_TK_STRING ? "NUL byte in string"
                                                   : "NUL byte in quoted name");
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t j = i;
    if (pc_utf8_next(lx->s, lx->n, &j) < 0)
      return error_tok(lx, i, type == QY_TK_STRING ? "invalid UTF-8 in string"
                                                   : "invalid UTF-8 in quoted name");
    i = j;
  }
  if (type == QY_TK_QIDENT && i == at + 1) return error_tok(lx, at, "empty quoted name");
  if (i + 1 - at > UINT32_MAX) return error_tok(lx, at, "token too long");
  qy_tok t = {type, (uint32_t)at, (uint32_t)(i + 1 - at), 0, escapes};
  lx->pos = i + 1;
  return t;
}

static qy_tok number(qy_lexer *lx, size_t at) {
  size_t i = at;
  uint64_t v = 0;
  int overflow = 0;
  while (i < lx->n && is_digit((unsigned char)lx->s[i])) {
    unsigned d = (unsigned)(lx->s[i] - '0');
    /* magnitudes up to 2^63 are kept so that -9223372036854775808 parses */
    if (v > ((UINT64_C(1) << 63) - d) / 10) overflow = 1;
    else v = v * 10 + d;
    i++;
  }
  size_t end = i;
  while (end < lx->n && (is_ident((unsigned char)lx->s[end]) || lx->s[end] == '.')) end++;
  char msg[160];
  if (end == i) {
    if (overflow) return error_tok(lx, at, "integer out of range");
    qy_tok t = {QY_TK_INTEGER, (uint32_t)at, (uint32_t)(i - at), v, 0};
    lx->pos = i;
    return t;
  }
  if (end == i + 1) {
    uint64_t unit = 0;
    switch (lx->s[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 604800; break;
    }
    if (unit) {
      if (overflow || v > (uint64_t)INT64_MAX / unit)
        return error_tok(lx, at, "duration out of range");
      qy_tok t = {QY_TK_DURATION, (uint32_t)at, (uint32_t)(end - at), v * unit, 0};
      lx->pos = end;
      return t;
    }
  }
  int shown = end - at > 40 ? 40 : (int)(end - at);
  snprintf(msg, sizeof msg,
           "malformed number '%.*s' (integers only; durations are written 30d, 12h, 15m, 45s, 2w)",
           shown, lx->s + at);
  return error_tok(lx, at, msg);
}

qy_tok qy_lex_next(qy_lexer *lx) {
  const char *s = lx->s;
  size_t n = lx->n, i = lx->pos;
  if (lx->err_msg[0]) {
    qy_tok t = {QY_TK_ERROR, lx->err_off, 0, 0, 0};
    return t;
  }
  for (;;) {
    while (i < n && is_space((unsigned char)s[i])) i++;
    if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
      while (i < n && s[i] != '\n') i++;
      continue;
    }
    break;
  }
  lx->pos = i;
  qy_tok t = {QY_TK_EOF, (uint32_t)i, 0, 0, 0};
  if (i >= n) return t;
  unsigned char c = (unsigned char)s[i];
  if (is_alpha(c)) {
    size_t j = i;
    while (j < n && is_ident((unsigned char)s[j])) j++;
    if (j - i > 1024) return error_tok(lx, i, "name too long");
    t.type = QY_TK_IDENT;
    t.len = (uint32_t)(j - i);
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
      if (qy_word_eq(s + i, j - i, keywords[k].word)) t.type = keywords[k].type;
    lx->pos = j;
    return t;
  }
  if (is_digit(c)) return number(lx, i);
  if (c == '\'') return quoted(lx, i, '\'', QY_TK_STRING);
  if (c == '"') return quoted(lx, i, '"', QY_TK_QIDENT);
  char c2 = i + 1 < n ? s[i + 1] : 0;
  t.len = 1;
  switch (c) {
    case '(': t.type = QY_TK_LPAREN; break;
    case ')': t.type = QY_TK_RPAREN; break;
    case ',': t.type = QY_TK_COMMA; break;
    case '+': t.type = QY_TK_PLUS; break;
    case '-': t.type = QY_TK_MINUS; break;
    case '=':
      if (c2 == '=') return error_tok(lx, i, "'==' is not an operator (use '=')");
      t.type = QY_TK_EQ;
      break;
    case '!':
      if (c2 != '=') return bad_char(lx, i);
      t.type = QY_TK_NE;
      t.len = 2;
      break;
    case '<':
      if (c2 == '=') t.type = QY_TK_LE, t.len = 2;
      else if (c2 == '>') t.type = QY_TK_NE, t.len = 2;
      else t.type = QY_TK_LT;
      break;
    case '>':
      if (c2 == '=') t.type = QY_TK_GE, t.len = 2;
      else t.type = QY_TK_GT;
      break;
    default:
      return bad_char(lx, i);
  }
  lx->pos = i + t.len;
  return t;
}
