/*
 * fuzz_json.c — parses arbitrary bytes as JSON and checks the reader's and
 * writer's invariants, aborting when one breaks:
 *  - a failure is POND_EPARSE/POND_ELIMIT (or POND_ENOMEM when allocations
 *    are being failed) with a "json:LINE:COL:" message that is valid UTF-8,
 *    an offset inside the text, and a LINE:COL that matches the offset;
 *  - a success has only valid UTF-8 strings and keys, no duplicate keys, and
 *    depth within the limit; writing it (compact and indented) and parsing
 *    the output gives the same tree, and writing is a fixed point;
 *  - every byte allocated is freed.
 * A first byte 0x01 selects small limits (depth 4, 256 bytes); 0x02 fails
 * the k-th allocation (k from the next byte). Neither byte can start a JSON
 * document, so plain documents in the corpus are unaffected.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "json/json.h"

typedef struct failer {
  long calls, fail_at;
} failer;

static void *fail_alloc(void *ud, void *p, size_t o, size_t n) {
  failer *f = ud;
  (void)o;
  if (n == 0) {
    free(p);
    return NULL;
  }
  if (++f->calls == f->fail_at) return NULL;
  return realloc(p, n);
}

static void check_error(const pc_err *e, int rc, const char *text, size_t len, int oom_ok) {
  if (rc != POND_EPARSE && rc != POND_ELIMIT && !(oom_ok && rc == POND_ENOMEM)) abort();
  if (strncmp(e->msg, "json:", 5) != 0) abort();
  if (!pc_utf8_valid(e->msg, strlen(e->msg), NULL)) abort();
  if (e->offset < 0 || (size_t)e->offset > len) abort();
  unsigned ml, mc;
  if (sscanf(e->msg, "json:%u:%u:", &ml, &mc) != 2) abort();
  unsigned line = 1;
  size_t start = 0;
  for (size_t i = 0; i < (size_t)e->offset; i++)
    if (text[i] == '\n') line++, start = i + 1;
  if (ml != line || mc != (size_t)e->offset - start + 1) abort();
}

/* Recursion here is bounded by the parse's depth limit (at most 64). */
static void check_tree(const pj_value *v, unsigned depth, unsigned max_depth) {
  if (depth > max_depth) abort();
  switch (v->type) {
    case PJ_STRING:
      if (!pc_utf8_valid(v->u.str.s, v->u.str.len, NULL) || v->u.str.s[v->u.str.len]) abort();
      break;
    case PJ_NUMBER:
      if (!v->u.num.raw || v->u.num.rawlen == 0) abort();
      if (v->u.num.is_int && (double)v->u.num.i != v->u.num.d) abort();
      break;
    case PJ_ARRAY:
      for (size_t i = 0; i < v->u.arr.n; i++) check_tree(&v->u.arr.items[i], depth + 1, max_depth);
      break;
    case PJ_OBJECT:
      for (size_t i = 0; i < v->u.obj.n; i++) {
        const pj_member *m = &v->u.obj.items[i];
        if (!pc_utf8_valid(m->key, m->klen, NULL)) abort();
        /* No duplicates: the first member with this key is this one. */
        if (v->u.obj.n <= 256 && pj_get_n(v, m->key, m->klen) != &m->value) abort();
        check_tree(&m->value, depth + 1, max_depth);
      }
      break;
    default:
      break;
  }
}

static int tree_equal(const pj_value *a, const pj_value *b) {
  if (a->type != b->type) return 0;
  switch (a->type) {
    case PJ_STRING:
      return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case PJ_NUMBER:
      return a->u.num.rawlen == b->u.num.rawlen &&
             memcmp(a->u.num.raw, b->u.num.raw, a->u.num.rawlen) == 0 &&
             a->u.num.is_int == b->u.num.is_int && a->u.num.i == b->u.num.i &&
             memcmp(&a->u.num.d, &b->u.num.d, sizeof(double)) == 0;
    case PJ_ARRAY:
      if (a->u.arr.n != b->u.arr.n) return 0;
      for (size_t i = 0; i < a->u.arr.n; i++)
        if (!tree_equal(&a->u.arr.items[i], &b->u.arr.items[i])) return 0;
      return 1;
    case PJ_OBJECT:
      if (a->u.obj.n != b->u.obj.n) return 0;
      for (size_t i = 0; i < a->u.obj.n; i++) {
        const pj_member *x = &a->u.obj.items[i], *y = &b->u.obj.items[i];
        if (x->klen != y->klen || memcmp(x->key, y->key, x->klen) != 0) return 0;
        if (!tree_equal(&x->value, &y->value)) return 0;
      }
      return 1;
    default:
      return 1;
  }
}

/* Writes the tree, parses the output and checks it is the same tree;
 * returns the written bytes (the caller frees b). */
static void round_trip(pc_mem *m, const pj_value *root, const pj_limits *lim, int indent,
                       pj_buf *b) {
  pj_buf_init(b, m);
  pj_buf_value(b, root, indent);
  if (b->failed) abort();
  pj_limits again = *lim;
  again.max_len = 0; /* escapes and indentation may lengthen the text */
  pj_doc *d = NULL;
  pc_err e;
  if (pj_parse(m, b->p, b->len, &again, &d, &e) != POND_OK) abort();
  if (!tree_equal(root, pj_root(d))) abort();
  if (indent == 0) {
    pj_buf w;
    pj_buf_init(&w, m);
    pj_buf_value(&w, pj_root(d), 0);
    if (w.failed || w.len != b->len || memcmp(w.p, b->p, b->len) != 0) abort();
    pj_buf_free(&w);
  }
  pj_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pj_limits lim = {0, 0};
  failer f = {0, 0};
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  if (size > 0 && data[0] == 0x01) {
    lim.max_depth = 4;
    lim.max_len = 256;
    data++, size--;
  } else if (size > 1 && data[0] == 0x02) {
    f.fail_at = 1 + data[1] % 16;
    pc_mem_init(&m, fail_alloc, &f, 0);
    data += 2, size -= 2;
  }
  const char *text = (const char *)data;
  pj_doc *d = NULL;
  pc_err e;
  int rc = pj_parse(&m, text, size, &lim, &d, &e);
  if (rc != POND_OK) {
    if (d) abort();
    check_error(&e, rc, text, size, f.fail_at != 0);
  } else if (!f.fail_at) {
    check_tree(pj_root(d), 0, lim.max_depth ? lim.max_depth : 64);
    pj_buf a, b;
    round_trip(&m, pj_root(d), &lim, 0, &a);
    round_trip(&m, pj_root(d), &lim, 2, &b);
    pj_buf_free(&a);
    pj_buf_free(&b);
  }
  pj_free(d);
  if (atomic_load(&m.used) != 0) abort();
  return 0;
}
