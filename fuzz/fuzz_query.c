/*
 * fuzz_query.c — prepares arbitrary text against a fixed fake schema.
 *
 * Beyond "no crash, no leak, no sanitizer report", it checks the front
 * end's invariants and aborts when one breaks:
 *  - a failure is POND_EPARSE/POND_ELIMIT with a "query:" message that is
 *    valid UTF-8 and an offset inside the text (or -1 for the length limit);
 *  - a success prints to canonical text that prepares again to the very
 *    same text, both as written and folded (print ∘ prepare is a fixed
 *    point after one step);
 *  - the folded and the unfolded tree give every customer the same
 *    three-valued truth (folding and planning change nothing), at an
 *    ordinary now and at the ends of time (saturation);
 *  - set evaluation (chunk by chunk) selects exactly the customers that
 *    row evaluation finds TRUE, and UNKNOWN, over a small population;
 *  - every byte allocated is freed.
 * The first byte selects small limits sometimes, so the limit paths are
 * reached with short inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/lex.h"
#include "query/qy.h"
#include "tests/test_query_chunks.h"
#include "tests/test_query_fake.h"

static void check_error(const pc_err *e, int rc, size_t len) {
  if (rc != POND_EPARSE && rc != POND_ELIMIT) abort();
  if (strncmp(e->msg, "query:", 6) != 0) abort();
  if (!qy_utf8_check(e->msg, strlen(e->msg), NULL)) abort();
  if (e->offset < -1 || e->offset > (long)len) abort();
}

static void round_trip(pc_mem *m, const qy_schema *s, const pond_limits *lim,
                       const qy_query *q, unsigned flags) {
  char *a = NULL, *b = NULL;
  size_t an = 0, bn = 0;
  pc_err e;
  if (qy_print(m, q->root, &a, &an) != POND_OK) abort();
  qy_query *q2 = NULL;
  /* the canonical text may be longer than the input (it is never deeper
   * and never has more nodes) */
  pond_limits big = *lim;
  big.query_max_len = QY_HARD_MAX_LEN;
  int rc = qy_prepare(m, s, &big, a, an, flags, &q2, &e);
  if (rc != POND_OK) abort();
  if (qy_print(m, q2->root, &b, &bn) != POND_OK) abort();
  if (an != bn || memcmp(a, b, an) != 0) abort();
  pc_free(m, a, an + 1);
  pc_free(m, b, bn + 1);
  qy_query_free(q2);
}

/* Set evaluation against row evaluation, customer by customer. */
typedef struct sets {
  const pop *p;
  const qy_query *q;
  int64_t now;
  size_t seen;
  int unknown;
} sets;

static int check_chunk(void *arg, uint64_t key, const uint64_t *t, const uint64_t *u) {
  sets *st = arg;
  for (size_t i = 0; i < st->p->n; i++) {
    const fq_cust *c = &st->p->c[i];
    if (c->cid >> 16 != key) continue;
    unsigned s = (unsigned)(c->cid & 0xFFFF);
    qy_row row = fq_row(c);
    int r = qy_eval_row(st->q, &row, st->now);
    int tb = (int)(t[s >> 6] >> (s & 63) & 1), ub = (int)(u[s >> 6] >> (s & 63) & 1);
    /* without UNKNOWNs asked for, u is empty and t still exact */
    if (tb != (r == QY_TRUE) || ub != (st->unknown && r == QY_UNKNOWN)) abort();
    st->seen += tb | ub;
  }
  return 0;
}

static void check_sets(pc_mem *m, qy_query *const *qs, int nq) {
  fq_cust cs[60];
  pop p = {cs, 60};
  uint64_t seed = 42;
  for (size_t i = 0; i < p.n; i++) fq_make_cust(&cs[i], i, p.n, &seed);
  fchunks f;
  fchunks_init(&f, &p, m);
  qy_chunks src = fc_source_rows(&f, 1); /* 60 customers: some chunks by rows */
  static const int64_t nows[] = {FQ_NOW, INT64_MAX};
  for (int k = 0; k < nq; k++)
    for (size_t n = 0; n < sizeof nows / sizeof nows[0]; n++) {
      sets st = {&p, qs[k], nows[n], 0, n == 0};
      pc_err e;
      qy_sink sink = {&st, check_chunk, NULL, st.unknown};
      src.few = n ? fc_few : NULL; /* chunks only, then with the per-customer path */
      if (qy_eval_set(qs[k], &src, nows[n], m, &sink, &e) != POND_OK) abort();
      /* every TRUE (or UNKNOWN, when asked for) customer lies in an
       * emitted chunk */
      size_t want = 0;
      for (size_t i = 0; i < p.n; i++) {
        qy_row row = fq_row(&cs[i]);
        int r = qy_eval_row(qs[k], &row, nows[n]);
        want += r == QY_TRUE || (st.unknown && r == QY_UNKNOWN);
      }
      if (st.seen != want) abort();
    }
  fchunks_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  fq_schema f;
  qy_schema s;
  fq_init(&f, &s);
  pond_limits lim;
  memset(&lim, 0, sizeof lim);
  if (size > 0 && data[0] == '\x01') {
    lim.query_max_depth = 4;
    lim.query_max_nodes = 24;
    lim.query_max_in_items = 3;
    lim.query_max_len = 200;
    data++;
    size--;
  }
  const char *text = (const char *)data;
  qy_query *qs[2] = {NULL, NULL};
  for (int pass = 0; pass < 2; pass++) {
    unsigned flags = pass ? 0 : QY_NO_FOLD;
    pc_err e;
    int rc = qy_prepare(&m, &s, &lim, text, size, flags, &qs[pass], &e);
    if (rc == POND_OK) {
      round_trip(&m, &s, &lim, qs[pass], flags);
    } else {
      if (qs[pass]) abort();
      check_error(&e, rc, size);
    }
  }
  if ((qs[0] == NULL) != (qs[1] == NULL)) abort();
  if (qs[0]) check_sets(&m, qs, 2);
  if (qs[0]) {
    static const int64_t nows[] = {FQ_NOW, INT64_MAX, INT64_MIN, 0};
    uint64_t seed = size;
    for (size_t i = 0; i < 8; i++) {
      fq_cust c;
      fq_make_cust(&c, i * 40, 320, &seed);
      qy_row row = fq_row(&c);
      for (size_t k = 0; k < sizeof nows / sizeof nows[0]; k++) {
        int a = qy_eval_row(qs[0], &row, nows[k]), b = qy_eval_row(qs[1], &row, nows[k]);
        if (a < 0 || a != b) abort();
        if (qy_test(qs[1], &row, nows[k]) != (b == QY_TRUE)) abort();
      }
    }
  }
  qy_query_free(qs[0]);
  qy_query_free(qs[1]);
  if (atomic_load(&m.used) != 0) abort();
  return 0;
}
