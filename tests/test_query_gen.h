/*
 * test_query_gen.h — random well-typed query text over the fake schema of
 * test_query_fake.h: every operator and function of the grammar, nesting,
 * NOT over UNKNOWN, IN / NOT IN, BETWEEN with columns, LIKE with '%' and
 * '_' over Chinese text, tags and tag groups, counters, segments, stages,
 * literals of every kind (extreme integers, now() ± durations, TIMESTAMPs).
 * Literals are drawn near the values of test populations (ints -5..20,
 * times around QG_NOW) so comparisons go both ways.
 */
#ifndef POND_TESTS_QUERY_GEN_H
#define POND_TESTS_QUERY_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define QG_NOW INT64_C(1772323200) /* 2026-03-01T00:00:00Z */

typedef struct qgen {
  uint64_t rng;
  char *p, *end;
  int depth, max_depth;
  int no_stages; /* no stage() / stage_since(): a tenant without machines */
} qgen;

static unsigned qg_r(qgen *g, unsigned n) { return (unsigned)(th_rand(&g->rng) % n); }

static void qg_put(qgen *g, const char *s) {
  size_t n = strlen(s);
  if (g->p + n < g->end) {
    memcpy(g->p, s, n);
    g->p += n;
    *g->p = 0;
  }
}

static const char *qg_pick(qgen *g, const char *const *a, size_t n) {
  return a[qg_r(g, (unsigned)n)];
}
#define QG_PICK(g, a) qg_pick(g, a, sizeof(a) / sizeof((a)[0]))

static const char *const qg_int_cols[] = {"spend", "score", "Order", "\"count\"", "cid",
                                          "count('order.paid')", "count('message')",
                                          "count('link.opened')"};
static const char *const qg_time_cols[] = {"birthday", "added_at", "last_seen",
                                           "stage_since('lifecycle')", "stage_since('service')",
                                           "last('order.paid')", "last('message')",
                                           "last('link.opened')"};
static const char *const qg_str_cols[] = {"region", "owner", "channel", "\"地区\"",
                                          "\"first name\""};
static const char *const qg_str_lits[] = {"'广东'", "'广东省'", "'广州'", "'北京'", "'alice'",
                                          "'bob'", "''", "'it''s'", "'门店'", "'Alice'"};
static const char *const qg_like_pats[] = {"'广东%'", "'广_'", "'%东%'", "'_'", "'%'",
                                           "'__'", "'a%'", "'%e'", "'%''%'", "''",
                                           "'广东'", "'%省'", "'_l%e'", "'%_%_%'"};
static const char *const qg_stage_lc[] = {"'new'", "'intent'", "'paying'", "'repeat'",
                                          "'silent'", "'churned'"};
static const char *const qg_stage_sv[] = {"'open'", "'closed'"};

static void qg_int_lit(qgen *g) {
  static const char *const extreme[] = {"9223372036854775807", "-9223372036854775808",
                                        "-1", "0", "+3"};
  char tmp[32];
  if (qg_r(g, 8) == 0) {
    qg_put(g, QG_PICK(g, extreme));
    return;
  }
  snprintf(tmp, sizeof tmp, "%d", (int)qg_r(g, 26) - 5);
  qg_put(g, tmp);
}

static void qg_time_lit(qgen *g) {
  static const char *const durs[] = {"30d", "1d", "12h", "2w", "90m", "45s", "0s"};
  static const char *const stamps[] = {"TIMESTAMP '2026-03-01'", "TIMESTAMP '2026-02-01 12:00'",
                                       "TIMESTAMP '2026-01-15T08:00:00+08:00'",
                                       "TIMESTAMP '2025-12-31 23:59:59'",
                                       "TIMESTAMP '2026-02-20T00:00:00Z'"};
  qg_put(g, qg_r(g, 2) ? "now()" : QG_PICK(g, stamps));
  switch (qg_r(g, 3)) {
    case 0: return;
    case 1: qg_put(g, " - "); break;
    default: qg_put(g, " + "); break;
  }
  qg_put(g, QG_PICK(g, durs));
}

/* A time column (stage_since only when machines exist). */
static void qg_time_col(qgen *g) {
  const char *c;
  do c = QG_PICK(g, qg_time_cols);
  while (g->no_stages && strncmp(c, "stage", 5) == 0);
  qg_put(g, c);
}

/* An int or time operand: a column or a literal. */
static void qg_num(qgen *g) {
  switch (qg_r(g, 4)) {
    case 0: qg_put(g, QG_PICK(g, qg_int_cols)); return;
    case 1: qg_time_col(g); return;
    case 2: qg_int_lit(g); return;
    default: qg_time_lit(g); return;
  }
}

/* A string operand; *machine gets 1/2 when it is stage('lifecycle'/'service'). */
static void qg_str(qgen *g, int *machine) {
  *machine = 0;
  switch (qg_r(g, 5)) {
    case 0: qg_put(g, QG_PICK(g, qg_str_lits)); return;
    case 1:
      if (g->no_stages) {
        qg_put(g, QG_PICK(g, qg_str_cols));
        return;
      }
      *machine = 1 + (int)qg_r(g, 2);
      qg_put(g, *machine == 1 ? "stage('lifecycle')" : "stage('service')");
      return;
    default: qg_put(g, QG_PICK(g, qg_str_cols)); return;
  }
}

/* A string literal that can meet an operand of `machine`. */
static void qg_str_lit_for(qgen *g, int machine) {
  if (machine == 1) qg_put(g, QG_PICK(g, qg_stage_lc));
  else if (machine == 2) qg_put(g, QG_PICK(g, qg_stage_sv));
  else qg_put(g, QG_PICK(g, qg_str_lits));
}

static void qg_pred(qgen *g);

static void qg_atom(qgen *g) {
  static const char *const tags[] = {"tag('来源/门店扫码')", "tag('来源/直播')", "tag('意向/问价')",
                                     "tag('状态/免打扰')", "tag('vip/gold')", "tag('跟进状态/已成交')",
                                     "tag('意向/*')", "tag('来源/*')", "tag('活动/*')",
                                     "tag('vip/*')", "segment('vip_active')",
                                     "segment('store_leads')", "segment('always')", "TRUE",
                                     "FALSE"};
  static const char *const cmps[] = {" = ", " != ", " <> ", " < ", " <= ", " > ", " >= "};
  int m1, m2;
  switch (qg_r(g, 12)) {
    case 0:
      qg_put(g, QG_PICK(g, tags));
      return;
    case 1:
      qg_put(g, qg_r(g, 2) ? "vip" : "active");
      if (qg_r(g, 2)) {
        qg_put(g, qg_r(g, 2) ? " = " : " != ");
        static const char *const b[] = {"TRUE", "FALSE", "vip", "active"};
        qg_put(g, QG_PICK(g, b));
      }
      return;
    case 2:
    case 3:
      qg_num(g);
      qg_put(g, QG_PICK(g, cmps));
      qg_num(g);
      return;
    case 4:
      qg_str(g, &m1);
      qg_put(g, qg_r(g, 3) == 0 ? " <> " : qg_r(g, 2) ? " = " : " != ");
      if (m1) {
        unsigned k = qg_r(g, 6);
        if (k < 4) qg_str_lit_for(g, m1);
        else if (k == 4) qg_put(g, m1 == 1 ? "stage('service')" : "stage('lifecycle')");
        else qg_put(g, QG_PICK(g, qg_str_cols));
      } else if (qg_r(g, 3)) {
        qg_put(g, QG_PICK(g, qg_str_cols)); /* never a stage() right of a literal */
      } else {
        qg_put(g, QG_PICK(g, qg_str_lits));
      }
      (void)m2;
      return;
    case 5: {
      int kind = (int)qg_r(g, 3);
      if (kind == 0) qg_num(g);
      else if (kind == 1) qg_str(g, &m1);
      else qg_put(g, qg_r(g, 2) ? "vip" : "active");
      qg_put(g, qg_r(g, 2) ? " IN (" : " NOT IN (");
      unsigned n = 1 + qg_r(g, 5);
      for (unsigned i = 0; i < n; i++) {
        if (i) qg_put(g, ", ");
        if (kind == 0) {
          if (qg_r(g, 2)) qg_int_lit(g);
          else qg_time_lit(g);
        } else if (kind == 1) {
          qg_str_lit_for(g, m1);
        } else {
          qg_put(g, qg_r(g, 2) ? "TRUE" : "FALSE");
        }
      }
      qg_put(g, ")");
      return;
    }
    case 6:
      qg_num(g);
      qg_put(g, qg_r(g, 2) ? " BETWEEN " : " NOT BETWEEN ");
      qg_num(g);
      qg_put(g, " AND ");
      qg_num(g);
      return;
    case 7:
      if (qg_r(g, 4) == 0) qg_put(g, QG_PICK(g, qg_str_lits));
      else if (qg_r(g, 4) == 0 && !g->no_stages) qg_put(g, "stage('lifecycle')");
      else qg_put(g, QG_PICK(g, qg_str_cols));
      qg_put(g, qg_r(g, 2) ? " LIKE " : " NOT LIKE ");
      qg_put(g, QG_PICK(g, qg_like_pats));
      return;
    case 8: {
      int kind = (int)qg_r(g, 3);
      if (kind == 0) qg_num(g);
      else if (kind == 1) qg_str(g, &m1);
      else qg_put(g, qg_r(g, 2) ? "vip" : "active");
      qg_put(g, qg_r(g, 2) ? " IS NULL" : " IS NOT NULL");
      return;
    }
    default:
      if (g->depth < g->max_depth) {
        g->depth++;
        qg_put(g, "(");
        qg_pred(g);
        qg_put(g, ")");
        g->depth--;
      } else {
        qg_put(g, "last_seen > now() - 30d");
      }
  }
}

static void qg_pred(qgen *g) {
  unsigned n = 1 + qg_r(g, 3);
  for (unsigned i = 0; i < n; i++) {
    if (i) qg_put(g, qg_r(g, 2) ? " AND " : " OR ");
    unsigned nots = qg_r(g, 6) == 0 ? 1 + qg_r(g, 2) : 0;
    for (unsigned k = 0; k < nots; k++) qg_put(g, "NOT ");
    qg_atom(g);
  }
}

/* A random query into buf[cap]; no_stages leaves out stage() and
 * stage_since() (the db without lifecycle machines). */
static inline void qg_query_ex(uint64_t seed, char *buf, size_t cap, int max_depth, int no_stages) {
  qgen g = {seed, buf, buf + cap - 1, 0, max_depth, no_stages};
  buf[0] = 0;
  qg_pred(&g);
}

static inline void qg_query(uint64_t seed, char *buf, size_t cap, int max_depth) {
  qg_query_ex(seed, buf, cap, max_depth, 0);
}

#endif
