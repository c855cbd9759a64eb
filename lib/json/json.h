/*
 * json.h — strict RFC 8259 JSON reader (into a tree) and a small writer.
 *
 * CONTRACT used by pond_define (lib/tags, lib/db.c) and the store.
 * - pj_parse builds a tree in one arena allocated through pc_mem; pj_free
 *   releases it. Nothing outside the document is touched on failure.
 * - Strict: no comments, no trailing commas, no leading zeros, no NaN, only
 *   the escapes of RFC 8259, strings must be valid UTF-8 after unescaping
 *   (surrogate pairs combined, lone surrogates rejected), duplicate object keys
 *   rejected, exactly one value with optional surrounding whitespace.
 * - Errors: POND_EPARSE with e->msg "json:LINE:COL: message" (1-based, COL in
 *   bytes) and e->offset the byte offset; POND_ELIMIT beyond max_depth or
 *   max_len; POND_ENOMEM.
 */
#ifndef POND_JSON_JSON_H
#define POND_JSON_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/mem.h"

typedef enum pj_type {
  PJ_NULL, PJ_FALSE, PJ_TRUE, PJ_NUMBER, PJ_STRING, PJ_ARRAY, PJ_OBJECT
} pj_type;

typedef struct pj_value pj_value;
typedef struct pj_member pj_member;

struct pj_value {
  pj_type type;
  uint32_t line, col; /* where the value starts (1-based) */
  size_t offset;      /* byte offset where the value starts */
  union {
    struct { const char *s; size_t len; } str;      /* unescaped, NUL-terminated */
    struct {
      double d;
      int is_int;      /* the literal is an integer that fits int64 */
      int64_t i;
      const char *raw; /* the literal as written */
      size_t rawlen;
    } num;
    struct { pj_value *items; size_t n; } arr;
    struct { pj_member *items; size_t n; } obj;     /* in document order */
  } u;
};

struct pj_member {
  const char *key; /* unescaped, NUL-terminated */
  size_t klen;
  pj_value value;
};

typedef struct pj_limits {
  size_t max_len;     /* 0: no limit */
  unsigned max_depth; /* 0: 64 */
} pj_limits;

typedef struct pj_doc pj_doc;

int pj_parse(pc_mem *m, const char *text, size_t len, const pj_limits *lim,
             pj_doc **out, pc_err *e);
const pj_value *pj_root(const pj_doc *d);
void pj_free(pj_doc *d);
/* The member value named key (NUL-terminated) of an object, or NULL. */
const pj_value *pj_get(const pj_value *obj, const char *key);

/* A growable byte buffer for writing JSON (and other encodings). */
typedef struct pj_buf {
  pc_mem *m;
  char *p;
  size_t len, cap;
  int failed; /* an allocation failed: the contents are incomplete */
} pj_buf;

void pj_buf_init(pj_buf *b, pc_mem *m);
void pj_buf_free(pj_buf *b);
void pj_buf_put(pj_buf *b, const void *p, size_t n);
void pj_buf_puts(pj_buf *b, const char *s);
/* Writes s as a JSON string literal with escapes. */
void pj_buf_str(pj_buf *b, const char *s, size_t n);
void pj_buf_i64(pj_buf *b, int64_t v);

#endif
