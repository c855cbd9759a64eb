/*
 * pjint.h — internals shared by the JSON reader's files (not a contract).
 *
 *   doc.c     the arena that owns a parsed tree; pj_root, pj_free, pj_get
 *   parse.c   the iterative parser: containers, literals, errors, limits
 *   string.c  string literals: validation and unescaping
 *   number.c  number literals: grammar, int64, locale-free decimal->double
 *   write.c   pj_buf and the writer
 */
#ifndef POND_JSON_PJINT_H
#define POND_JSON_PJINT_H

#include "core/map.h"
#include "json/json.h"

/* ---- arena (doc.c) ------------------------------------------------------ */

typedef struct pj_block {
  struct pj_block *next;
  size_t size; /* bytes of this block, header included */
} pj_block;

struct pj_doc {
  pc_mem *m;
  pj_block *blocks; /* newest first; the doc itself lives in the oldest */
  char *cur, *end;  /* free space of the newest block */
  size_t next_size; /* size of the next block to allocate */
  pj_value root;
};

/* A new doc with a first block sized for a text of len bytes. */
pj_doc *pj_doc_new(pc_mem *m, size_t len);
/* n bytes aligned for any pj_ struct; NULL on allocation failure. */
void *pj_arena_alloc(pj_doc *d, size_t n);
/* n bytes with no alignment (string bytes). */
char *pj_arena_bytes(pj_doc *d, size_t n);
/* Gives back the tail of the most recent allocation p of n bytes, keeping
 * used bytes. */
void pj_arena_trim(pj_doc *d, char *p, size_t n, size_t used);

/* ---- parser state (parse.c) -------------------------------------------- */

typedef struct pj_frame {
  pj_type type;     /* PJ_ARRAY or PJ_OBJECT */
  size_t start;     /* first child in the scratch stack */
  size_t offset;    /* of the '[' or '{' */
  uint32_t line, col;
  pc_strmap *keys;  /* object keys once the object is large, else NULL */
} pj_frame;

typedef struct pj_parser {
  pc_mem *m;
  pc_err *e;
  const unsigned char *s;
  size_t n, pos;
  uint32_t line;     /* of pos */
  size_t line_start; /* offset of the first byte of that line */
  unsigned max_depth;
  pj_doc *doc;
  pj_member *scratch; /* children of the open containers, innermost last */
  size_t slen, scap;
  pj_frame *frames;
  size_t depth, fcap;
} pj_parser;

/* Fills p->e with "json:LINE:COL: msg" for the byte at offset and returns
 * code. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int pj_fail(pj_parser *p, int code, size_t offset, const char *fmt, ...);

/* Describes the input byte(s) at offset for an error message ("'x'",
 * "U+00E9", "byte 0xFF", "end of input") into buf. */
const char *pj_describe_at(const pj_parser *p, size_t offset, char *buf, size_t cap);

/* Appends a quoted, display-safe excerpt of s[0..n) (at most max bytes) to
 * buf. */
void pj_excerpt(char *buf, size_t cap, const char *s, size_t n, size_t max);

/* ---- literals (string.c, number.c) ------------------------------------- */

/* At p->pos == '"': parses a string literal into the arena; on success
 * p->pos is past the closing quote. */
int pj_lex_string(pj_parser *p, const char **out, size_t *len);
/* At p->pos on '-' or a digit: parses a number into v->u.num. */
int pj_lex_number(pj_parser *p, pj_value *v);

/* Locale-free, correctly rounded conversion of a literal matching the JSON
 * number grammar (already validated); *inf set when it overflows. */
double pj_number_to_double(const char *s, size_t n, int *inf);

#endif
