/*
 * lex.h — the query scanner: bytes in, tokens with byte offsets out.
 *
 * Tokens carry only their span and, for numbers, their value: strings and
 * quoted identifiers are validated (terminated, valid UTF-8, no NUL) here
 * and unescaped by the parser when it keeps them. Keywords are recognized
 * case-insensitively; function names are not keywords (the parser knows an
 * identifier followed by '(' is a call), so `count` and `last` remain usable
 * as attribute names.
 */
#ifndef POND_QUERY_LEX_H
#define POND_QUERY_LEX_H

#include <stddef.h>
#include <stdint.h>

typedef enum qy_tt {
  QY_TK_EOF = 0,
  QY_TK_IDENT,    /* [A-Za-z_][A-Za-z0-9_]* that is not a keyword */
  QY_TK_QIDENT,   /* "…" with "" for a quote */
  QY_TK_STRING,   /* '…' with '' for a quote */
  QY_TK_INTEGER,  /* decimal digits; value in u (magnitude, <= 2^63) */
  QY_TK_DURATION, /* digits and a unit s m h d w; seconds in u */
  QY_TK_LPAREN,
  QY_TK_RPAREN,
  QY_TK_COMMA,
  QY_TK_EQ,
  QY_TK_NE, /* != or <> */
  QY_TK_LT,
  QY_TK_LE,
  QY_TK_GT,
  QY_TK_GE,
  QY_TK_PLUS,
  QY_TK_MINUS,
  /* keywords */
  QY_TK_AND,
  QY_TK_OR,
  QY_TK_NOT,
  QY_TK_IN,
  QY_TK_BETWEEN,
  QY_TK_LIKE,
  QY_TK_IS,
  QY_TK_NULL,
  QY_TK_TRUE,
  QY_TK_FALSE,
  QY_TK_TIMESTAMP,
  /* a lexical error; the lexer's err fields describe it */
  QY_TK_ERROR,
} qy_tt;

typedef struct qy_tok {
  qy_tt type;
  uint32_t off, len; /* span in the text */
  uint64_t u;        /* INTEGER magnitude (up to 2^63), DURATION seconds */
  uint8_t escapes;   /* STRING/QIDENT contains a doubled quote */
} qy_tok;

typedef struct qy_lexer {
  const char *s;
  size_t n, pos;
  /* set with a QY_TK_ERROR token */
  uint32_t err_off;
  char err_msg[160];
} qy_lexer;

void qy_lex_init(qy_lexer *lx, const char *s, size_t n);
/* The next token. After QY_TK_EOF or QY_TK_ERROR it keeps returning it. */
qy_tok qy_lex_next(qy_lexer *lx);

/* A human name for a token type ("')'", "AND", "end of input"). */
const char *qy_tt_name(qy_tt t);

/* Case-insensitive ASCII comparison of s[0..n) with the NUL-terminated
 * lower-case word w. */
int qy_word_eq(const char *s, size_t n, const char *w);

/* Decodes one UTF-8 code point of s[*i..n): returns it and advances *i, or
 * returns -1 and advances by one byte when the bytes are not valid UTF-8. */
int32_t qy_utf8_next(const char *s, size_t n, size_t *i);
/* (Decoding is core's pc_utf8_next.) 1 if s[0..n) is valid UTF-8 without NUL; else 0 and *bad (may be NULL)
 * is the offset of the first bad byte. */
int qy_utf8_check(const char *s, size_t n, size_t *bad);

#endif
