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
 *   The position is that of the first byte that makes the text invalid
 *   (for "unexpected end of input", the end; for a duplicate key, its
 *   opening quote; for a bad escape, its backslash). Lines end at LF.
 * - Numbers whose magnitude overflows a double are rejected ("number out of
 *   range"); a byte order mark is rejected.
 * - Strings are NUL-terminated for convenience but may contain U+0000 (from
 *   "\u0000"): len is authoritative.
 * - The tree borrows nothing from text: text may be freed after pj_parse.
 * - A doc is read-only after pj_parse and may be read from several threads.
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
  unsigned max_depth; /* 0: 64; open arrays/objects, so "[[1]]" has depth 2 */
} pj_limits;

typedef struct pj_doc pj_doc;

/* lim may be NULL (defaults); e may be NULL. On failure *out is untouched
 * and nothing stays allocated. text may be NULL when len is 0. */
int pj_parse(pc_mem *m, const char *text, size_t len, const pj_limits *lim,
             pj_doc **out, pc_err *e);
const pj_value *pj_root(const pj_doc *d);
/* Frees the whole tree; NULL is a no-op. */
void pj_free(pj_doc *d);
/* The member value named key (NUL-terminated) of an object, or NULL (also
 * when obj is NULL or not an object). Linear in the member count. */
const pj_value *pj_get(const pj_value *obj, const char *key);
/* The same with a key of klen bytes (which may contain NUL). */
const pj_value *pj_get_n(const pj_value *obj, const char *key, size_t klen);

/* A growable byte buffer for writing JSON (and other encodings). After a
 * failed allocation every write is a no-op, so check `failed` once at the
 * end. p is NUL-terminated whenever it is non-NULL (p[len] == 0). */
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
/* Writes s as a JSON string literal: '"', '\\' and control characters
 * escaped, valid UTF-8 passed through, each byte of invalid UTF-8 written
 * as \ufffd (so the output is always valid JSON). */
void pj_buf_str(pj_buf *b, const char *s, size_t n);
void pj_buf_i64(pj_buf *b, int64_t v);
/* The shortest decimal that reads back as d (locale-independent); NaN and
 * infinities, which JSON cannot express, are written as null. */
void pj_buf_f64(pj_buf *b, double d);
/* Writes the tree v: compact when indent is 0, else one member or element
 * per line indented by indent spaces per level. Numbers with a literal
 * (raw) are written as that literal, else from i (is_int) or d. No
 * recursion: deep trees are fine. */
void pj_buf_value(pj_buf *b, const pj_value *v, int indent);

#endif
