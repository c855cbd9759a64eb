/*
 * suggest.c — nearest-name search for error messages.
 *
 * Cost per candidate: O(1) when the lengths alone rule it out, else
 * O(|a|·|b|) with three rows of the distance table on the stack. This runs
 * only on the error path, once per unknown name.
 */
#include "query/suggest.h"

#include <limits.h>
#include <string.h>

#include "core/utf8.h"
#include "query/lex.h"

/* Decodes s into cps[0..max); returns the count, or max + 1 when longer. */
static size_t decode(const char *s, size_t n, int32_t *cps, size_t max) {
  size_t i = 0, k = 0;
  while (i < n) {
    if (k == max) return max + 1;
    int32_t c = pc_utf8_next(s, n, &i);
    cps[k++] = c < 0 ? 0xFFFD : c;
  }
  return k;
}

static unsigned osa(const int32_t *a, size_t an, const int32_t *b, size_t bn) {
  unsigned rows[3][QY_SUGGEST_MAX_CPS + 1];
  unsigned *pp = rows[0], *p = rows[1], *c = rows[2];
  for (size_t j = 0; j <= bn; j++) p[j] = (unsigned)j;
  for (size_t i = 1; i <= an; i++) {
    c[0] = (unsigned)i;
    for (size_t j = 1; j <= bn; j++) {
      unsigned cost = a[i - 1] != b[j - 1];
      unsigned v = p[j - 1] + cost;
      if (p[j] + 1 < v) v = p[j] + 1;
      if (c[j - 1] + 1 < v) v = c[j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
        v = pp[j - 2] + 1;
      c[j] = v;
    }
    unsigned *t = pp;
    pp = p;
    p = c;
    c = t;
  }
  return p[bn];
}

unsigned qy_edit_distance(const char *a, size_t an, const char *b, size_t bn) {
  int32_t ca[QY_SUGGEST_MAX_CPS], cb[QY_SUGGEST_MAX_CPS];
  size_t na = decode(a, an, ca, QY_SUGGEST_MAX_CPS);
  size_t nb = decode(b, bn, cb, QY_SUGGEST_MAX_CPS);
  if (na > QY_SUGGEST_MAX_CPS || nb > QY_SUGGEST_MAX_CPS) return UINT_MAX;
  return osa(ca, na, cb, nb);
}

void qy_suggest_init(qy_suggest *sg, const char *s, size_t n) {
  sg->nwant = decode(s, n, sg->want, QY_SUGGEST_MAX_CPS);
  if (sg->nwant > QY_SUGGEST_MAX_CPS) sg->nwant = 0;
  sg->best_dist = UINT_MAX;
  sg->best[0] = 0;
  sg->best_len = 0;
  sg->best_prefix = 0;
}

void qy_suggest_offer(void *arg, const char *name, size_t len) {
  qy_suggest *sg = arg;
  if (sg->nwant == 0 || len >= sizeof sg->best) return;
  int32_t cand[QY_SUGGEST_MAX_CPS];
  size_t nc = decode(name, len, cand, QY_SUGGEST_MAX_CPS);
  if (nc > QY_SUGGEST_MAX_CPS) return;
  size_t longer = nc > sg->nwant ? nc : sg->nwant;
  size_t diff = nc > sg->nwant ? nc - sg->nwant : sg->nwant - nc;
  unsigned limit = longer / 2 > 1 ? (unsigned)(longer / 2) : 1;
  if (diff > limit || diff > sg->best_dist) return;
  unsigned d = osa(sg->want, sg->nwant, cand, nc);
  if (d == 0 || d > limit || d > sg->best_dist) return; /* the name itself is no suggestion */
  /* ties: the longer common prefix (a truncated or misspelt ending is the
   * commonest slip), then the byte-wise smaller name */
  size_t prefix = 0;
  while (prefix < nc && prefix < sg->nwant && cand[prefix] == sg->want[prefix]) prefix++;
  if (d == sg->best_dist) {
    if (prefix < sg->best_prefix) return;
    if (prefix == sg->best_prefix) {
      size_t m = len < sg->best_len ? len : sg->best_len;
      int c = memcmp(name, sg->best, m);
      if (c > 0 || (c == 0 && len >= sg->best_len)) return;
    }
  }
  sg->best_dist = d;
  sg->best_prefix = prefix;
  memcpy(sg->best, name, len);
  sg->best[len] = 0;
  sg->best_len = len;
}

const char *qy_suggest_best(const qy_suggest *sg) {
  return sg->best_dist == UINT_MAX ? NULL : sg->best;
}
