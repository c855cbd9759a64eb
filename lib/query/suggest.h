/*
 * suggest.h — "did you mean" for unknown names.
 *
 * The candidate closest to the misspelt name by optimal-string-alignment
 * distance (Levenshtein plus adjacent transpositions) over Unicode code
 * points, accepted when the distance is at most max(1, L / 2) with L the
 * longer of the two lengths in code points — so '来源/门店' finds
 * '来源/门店扫码' (2 insertions in 7) and 'payed' finds 'paying' (3 edits
 * in 6, DEFINITIONS.md's example) but 'ab' does not find 'xy'. Ties go
 * to the candidate sharing the longer prefix with the name ('来源/门店'
 * prefers '来源/门店扫码' to '来源/广告', both 2 edits away), then to the
 * byte-wise smaller name, so the answer does not depend on the order in
 * which the schema enumerates names.
 */
#ifndef POND_QUERY_SUGGEST_H
#define POND_QUERY_SUGGEST_H

#include <stddef.h>
#include <stdint.h>

/* Names longer than this many code points are neither suggested nor
 * corrected (the distance table stays on the stack). */
#define QY_SUGGEST_MAX_CPS 160

typedef struct qy_suggest {
  int32_t want[QY_SUGGEST_MAX_CPS];
  size_t nwant;       /* code points of the misspelt name; 0: disabled */
  unsigned best_dist; /* distance of best, or UINT_MAX */
  char best[4 * QY_SUGGEST_MAX_CPS + 1]; /* the best candidate so far */
  size_t best_len;
  size_t best_prefix; /* code points best shares with the name's start */
} qy_suggest;

/* Starts a search for names close to s[0..n). */
void qy_suggest_init(qy_suggest *sg, const char *s, size_t n);
/* Offers one candidate (a qy_name_fn: arg is the qy_suggest). */
void qy_suggest_offer(void *sg, const char *name, size_t len);
/* The best candidate, or NULL if none is close enough. */
const char *qy_suggest_best(const qy_suggest *sg);

/* The distance itself, for tests: OSA distance between a and b in code
 * points, or UINT_MAX when either is longer than QY_SUGGEST_MAX_CPS. */
unsigned qy_edit_distance(const char *a, size_t an, const char *b, size_t bn);

#endif
