/*
 * The query front end: lexer, parser, limits, type checking against a fake
 * schema, segment inlining, folding, error messages and canonical printing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "query/like.h"
#include "query/qtime.h"
#include "query/qy.h"
#include "query/qyint.h"
#include "query/suggest.h"
#include "test_query_fake.h"

/* ----------------------------------------------------------------- helpers */

typedef struct env {
  pc_mem m;
  fq_schema f;
  qy_schema s;
  pc_err e;
  pond_limits lim;
} env;

static void env_init(env *v) {
  pc_mem_init(&v->m, NULL, NULL, 0);
  fq_init(&v->f, &v->s);
  pc_err_clear(&v->e);
  memset(&v->lim, 0, sizeof v->lim);
}

static int env_prep(env *v, const char *text, size_t len, unsigned flags, qy_query **q) {
  return qy_prepare(&v->m, &v->s, &v->lim, text, len, flags, q, &v->e);
}

/* Prepares text and returns its canonical print (static buffer) or NULL. */
static const char *canon(env *v, const char *text, unsigned flags) {
  static char out[1 << 17];
  qy_query *q = NULL;
  int rc = env_prep(v, text, strlen(text), flags, &q);
  if (rc != POND_OK) {
    fprintf(stderr, "  prepare(%s) failed: %d %s\n", text, rc, v->e.msg);
    return NULL;
  }
  char *p;
  size_t n;
  rc = qy_print(&v->m, q->root, &p, &n);
  qy_query_free(q);
  if (rc != POND_OK) return NULL;
  snprintf(out, sizeof out, "%s", p);
  pc_free(&v->m, p, n + 1);
  return out;
}

/* ------------------------------------------------------- malformed inputs */

typedef struct bad_case {
  const char *text;
  int code;
  unsigned line, col;
  const char *msg; /* after "query:LINE:COL: " */
  int no_machines;
} bad_case;

static const bad_case bad_cases[] = {
    {"", POND_EPARSE, 1, 1, "empty expression", 0},
    {"   -- only a comment", POND_EPARSE, 1, 1, "empty expression", 0},
    {"spend >", POND_EPARSE, 1, 8, "expected a column or a value, found end of input", 0},
    {"spend > 5 AND", POND_EPARSE, 1, 14, "expected a column or a value, found end of input", 0},
    {"(spend > 5", POND_EPARSE, 1, 11,
     "expected ')' to close the '(' at 1:1, found end of input", 0},
    {"spend > 5)", POND_EPARSE, 1, 10, "unmatched ')'", 0},
    {"spend = = 5", POND_EPARSE, 1, 9, "expected a column or a value, found '='", 0},
    {"spend 5", POND_EPARSE, 1, 7, "expected a comparison operator, found '5'", 0},
    {"region = 'abc", POND_EPARSE, 1, 10, "unterminated string", 0},
    {"\"地区 = 'x'", POND_EPARSE, 1, 1, "unterminated quoted name", 0},
    {"spend = 99999999999999999999", POND_EPARSE, 1, 9, "integer out of range", 0},
    {"spend > -9223372036854775809", POND_EPARSE, 1, 10, "integer out of range", 0},
    {"spend > 9223372036854775808", POND_EPARSE, 1, 9, "integer out of range", 0},
    {"last_seen < now() - 30x", POND_EPARSE, 1, 21,
     "malformed number '30x' (integers only; durations are written 30d, 12h, 15m, 45s, 2w)", 0},
    {"last_seen < now() - 30", POND_EPARSE, 1, 21,
     "expected a duration such as 30d, 12h, 15m, 45s or 2w, found '30'", 0},
    {"last_seen < now() - 30D", POND_EPARSE, 1, 21,
     "malformed number '30D' (integers only; durations are written 30d, 12h, 15m, 45s, 2w)", 0},
    {"spend > 30d", POND_EPARSE, 1, 9,
     "a duration is not a value; add it to a time, as in now() - 30d", 0},
    {"spend = NULL", POND_EPARSE, 1, 9, "comparison with NULL is never true; use IS NULL", 0},
    {"spend <> NULL", POND_EPARSE, 1, 10,
     "comparison with NULL is never true; use IS NOT NULL", 0},
    {"NULL = spend", POND_EPARSE, 1, 1,
     "comparison with NULL is never true; use IS NULL or IS NOT NULL", 0},
    {"spend IN (1, NULL)", POND_EPARSE, 1, 14, "NULL in an IN list never matches; use IS NULL", 0},
    {"spend IS 5", POND_EPARSE, 1, 10, "expected NULL after IS, found '5'", 0},
    {"spend IS NOT TRUE", POND_EPARSE, 1, 14, "expected NULL after IS NOT, found 'TRUE'", 0},
    {"spend IN ()", POND_EPARSE, 1, 11, "empty IN list", 0},
    {"spend IN (1, 2", POND_EPARSE, 1, 15,
     "expected ',' or ')' in the IN list, found end of input", 0},
    {"spend IN 1", POND_EPARSE, 1, 10, "expected '(' after IN, found '1'", 0},
    {"spend IN (1, score)", POND_EPARSE, 1, 14,
     "an IN list holds literals only (numbers, strings, TRUE, FALSE, times)", 0},
    {"spend BETWEEN 1 5", POND_EPARSE, 1, 17,
     "expected AND in BETWEEN … AND …, found '5'", 0},
    {"region LIKE owner", POND_EPARSE, 1, 13,
     "expected a string pattern after LIKE, found 'owner'", 0},
    {"region LIKE 'a%' ESCAPE '!'", POND_EPARSE, 1, 18, "LIKE … ESCAPE is not supported", 0},
    {"spend NOT 5", POND_EPARSE, 1, 11, "expected IN, BETWEEN or LIKE after NOT, found '5'", 0},
    {"tag(来源)", POND_EPARSE, 1, 5,
     "unexpected character '来' (write non-ASCII names in double quotes: \"来源\")", 0},
    {"tag('来源/门店')", POND_EPARSE, 1, 5,
     "unknown tag '来源/门店'; did you mean '来源/门店扫码'?", 0},
    /* QUERY.md's example: the column counts characters, not bytes */
    {"\"地区\" = '广东省份' AND vip AND tag('来源/门店')", POND_EPARSE, 1, 31,
     "unknown tag '来源/门店'; did you mean '来源/门店扫码'?", 0},
    {"tag('意向/门店扫码')", POND_EPARSE, 1, 5,
     "unknown tag '意向/门店扫码'; did you mean '来源/门店扫码'?", 0},
    {"tag('来源')", POND_EPARSE, 1, 5,
     "invalid tag name '来源' (expected 'group/name' or 'group/*')", 0},
    {"tag('a/b/c')", POND_EPARSE, 1, 5,
     "invalid tag name 'a/b/c' (expected 'group/name' or 'group/*')", 0},
    {"tag('无此组/*')", POND_EPARSE, 1, 5, "unknown tag group '无此组'", 0},
    {"tag('来原/*')", POND_EPARSE, 1, 5, "unknown tag group '来原'; did you mean '来源'?", 0},
    {"tag(spend)", POND_EPARSE, 1, 5,
     "expected a string argument, as in tag('group/name'), found 'spend'", 0},
    {"tag('a/b'", POND_EPARSE, 1, 10,
     "expected ')' after the argument of tag(), found end of input", 0},
    {"tag('')", POND_EPARSE, 1, 5, "empty name in tag()", 0},
    {"tags('来源/直播')", POND_EPARSE, 1, 1, "unknown function 'tags'; did you mean 'tag'?", 0},
    {"frobnicate(1)", POND_EPARSE, 1, 1, "unknown function 'frobnicate'", 0},
    {"spned > 5", POND_EPARSE, 1, 1, "unknown attribute 'spned'; did you mean 'spend'?", 0},
    {"last_sen < now()", POND_EPARSE, 1, 1,
     "unknown attribute 'last_sen'; did you mean 'last_seen'?", 0},
    {"\"广东\" = region", POND_EPARSE, 1, 1,
     "unknown attribute '广东' (strings take single quotes: '广东')", 0},
    {"region > 'a'", POND_EPARSE, 1, 1,
     "strings have no order: '>' needs int or time operands, and region is a string (use =, "
     "!=, IN or LIKE)", 0},
    {"vip <= TRUE", POND_EPARSE, 1, 1,
     "bools have no order: '<=' needs int or time operands, and vip is a bool (use = or !=)", 0},
    {"spend = 'a'", POND_EPARSE, 1, 1, "cannot compare spend (int) with 'a' (string)", 0},
    {"vip = 1", POND_EPARSE, 1, 1, "cannot compare vip (bool) with 1 (int)", 0},
    {"spend", POND_EPARSE, 1, 1, "spend is an int, not a condition; compare it with a value", 0},
    {"stage('lifecycle')", POND_EPARSE, 1, 1,
     "stage('lifecycle') is a string, not a condition; compare it with a value", 0},
    {"spend LIKE '5%'", POND_EPARSE, 1, 1, "LIKE applies to strings only, and spend is an int", 0},
    {"region BETWEEN 'a' AND 'b'", POND_EPARSE, 1, 1,
     "BETWEEN applies to int and time only, and region is a string", 0},
    {"spend BETWEEN 1 AND owner", POND_EPARSE, 1, 21,
     "BETWEEN applies to int and time only, and owner is a string", 0},
    {"spend IN (1, 'two')", POND_EPARSE, 1, 14,
     "IN list item 'two' is a string, but spend is an int", 0},
    {"stage('lifecycle') = 'payed'", POND_EPARSE, 1, 22,
     "unknown state 'payed' of machine 'lifecycle'; did you mean 'paying'?", 0},
    {"stage('lifecycle') IN ('new', 'silnet')", POND_EPARSE, 1, 31,
     "unknown state 'silnet' of machine 'lifecycle'; did you mean 'silent'?", 0},
    {"'x' = stage('service')", POND_EPARSE, 1, 1, "unknown state 'x' of machine 'service'", 0},
    {"stage('lifecylce') = 'new'", POND_EPARSE, 1, 7,
     "unknown machine 'lifecylce'; did you mean 'lifecycle'?", 0},
    {"stage('lifecycle') = 'new'", POND_EPARSE, 1, 7, "unknown machine 'lifecycle'", 1},
    {"stage_since('lifecycle') > now() - 1d", POND_EPARSE, 1, 13,
     "unknown machine 'lifecycle'", 1},
    {"count('order.payed') > 1", POND_EPARSE, 1, 7,
     "unknown counter 'order.payed'; did you mean 'order.paid'?", 0},
    {"last('login') > now()", POND_EPARSE, 1, 6, "unknown counter 'login'", 0},
    {"segment('vip_actve')", POND_EPARSE, 1, 9,
     "unknown segment 'vip_actve'; did you mean 'vip_active'?", 0},
    {"segment('self')", POND_EPARSE, 1, 9,
     "in segment 'self': 1:9: segment 'self' refers to itself: self -> self", 0},
    {"vip AND segment('cyc_a')", POND_EPARSE, 1, 17,
     "in segment 'cyc_a': 1:17: in segment 'cyc_b': 1:19: segment 'cyc_a' refers to itself: "
     "cyc_a -> cyc_b -> cyc_a", 0},
    {"segment('uses_broken')", POND_EPARSE, 1, 9,
     "in segment 'uses_broken': 1:16: in segment 'broken': 2:3: strings have no order: '>' "
     "needs int or time operands, and region is a string (use =, !=, IN or LIKE)", 0},
    {"vip\nAND spend >\n  'x'", POND_EPARSE, 2, 5, "cannot compare spend (int) with 'x' (string)",
     0},
    {"spend > 5 5", POND_EPARSE, 1, 11, "expected AND, OR or end of input, found '5'", 0},
    {"spend == 5", POND_EPARSE, 1, 7, "'==' is not an operator (use '=')", 0},
    {"spend ! 5", POND_EPARSE, 1, 7, "unexpected character '!' (did you mean '!='?)", 0},
    {"tag（'来源/直播')", POND_EPARSE, 1, 4, "unexpected character '（' (did you mean '('?)", 0},
    {"region = ‘广东’", POND_EPARSE, 1, 10, "unexpected character '‘' (did you mean \"'\"?)", 0},
    {"spend > 1 # comment", POND_EPARSE, 1, 11, "unexpected character '#'", 0},
    {"TIMESTAMP '2026-02-29' < last_seen", POND_EPARSE, 1, 11,
     "invalid timestamp '2026-02-29': day out of range for the month", 0},
    {"last_seen > TIMESTAMP '2026-13-01'", POND_EPARSE, 1, 23,
     "invalid timestamp '2026-13-01': month out of range", 0},
    {"last_seen > TIMESTAMP '2026-03-01 25:00'", POND_EPARSE, 1, 23,
     "invalid timestamp '2026-03-01 25:00': hour out of range", 0},
    {"last_seen > TIMESTAMP '2026/03/01'", POND_EPARSE, 1, 23,
     "invalid timestamp '2026/03/01': expected YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] or "
     "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]", 0},
    {"last_seen > TIMESTAMP 2026", POND_EPARSE, 1, 23,
     "expected a string after TIMESTAMP, like TIMESTAMP '2026-03-01', found '2026'", 0},
    {"last_seen > TIMESTAMP '9999-12-31' + 1d", POND_EPARSE, 1, 13,
     "time out of range (years 0000 to 9999)", 0},
    {"last_seen < now() + 5", POND_EPARSE, 1, 21,
     "expected a duration such as 30d, 12h, 15m, 45s or 2w, found '5'", 0},
    {"last_seen < now() - 1d - 1h", POND_EPARSE, 1, 24,
     "expected AND, OR or end of input, found '-'", 0},
    {"spend = 1.5", POND_EPARSE, 1, 9,
     "malformed number '1.5' (integers only; durations are written 30d, 12h, 15m, 45s, 2w)", 0},
    {"spend > 1 AND NOT", POND_EPARSE, 1, 18, "expected a column or a value, found end of input",
     0},
    {"vip = tag('vip/gold')", POND_EPARSE, 1, 7,
     "tag() is a condition, not a value: use it alone, as in NOT tag('…')", 0},
    {"now(1) > spend", POND_EPARSE, 1, 5,
     "expected ')' (now() takes no arguments), found '1'", 0},
    {"'a' = 'a' AND 5", POND_EPARSE, 1, 16, "expected a comparison operator, found end of input",
     0},
    {"spend > 5 AND \x01", POND_EPARSE, 1, 15, "unexpected control character U+0001", 0},
    {"region = 'a\xff'", POND_EPARSE, 1, 12, "invalid UTF-8 in string", 0},
    {"region = '地\xe5'", POND_EPARSE, 1, 12, "invalid UTF-8 in string", 0},
    {"地区 = '广东'", POND_EPARSE, 1, 1,
     "unexpected character '地' (write non-ASCII names in double quotes: \"地区\")", 0},
    {"\"\" = 1", POND_EPARSE, 1, 1, "empty quoted name", 0},
    {"spend > 5 OR (vip AND", POND_EPARSE, 1, 22, "expected a column or a value, found end of input",
     0},
    {"NOT IN (1)", POND_EPARSE, 1, 5, "expected a column or a value, found 'IN'", 0},
    {"spend > 5 AND 'x' IN ('x', 1)", POND_EPARSE, 1, 28,
     "IN list item 1 is an int, but 'x' is a string", 0},
};

static void malformed_inputs_report_code_position_and_message(void) {
  size_t n = sizeof bad_cases / sizeof bad_cases[0];
  CHECK(n >= 40);
  for (size_t i = 0; i < n; i++) {
    const bad_case *c = &bad_cases[i];
    env v;
    env_init(&v);
    v.f.no_machines = c->no_machines;
    qy_query *q = NULL;
    int rc = env_prep(&v, c->text, strlen(c->text), 0, &q);
    char want[PC_ERRMSG_MAX];
    snprintf(want, sizeof want, "query:%u:%u: %s", c->line, c->col, c->msg);
    if (rc != c->code || strcmp(v.e.msg, want) != 0) {
      fprintf(stderr, "case %zu: %s\n", i, c->text);
    }
    CHECK_EQ(rc, c->code);
    CHECK_STR(v.e.msg, want);
    CHECK(q == NULL);
    /* the offset names the same place as LINE:COL */
    unsigned line, col;
    CHECK(v.e.offset >= 0 && (size_t)v.e.offset <= strlen(c->text));
    qy_line_col(c->text, strlen(c->text), (size_t)v.e.offset, &line, &col);
    CHECK_EQ(line, c->line);
    CHECK_EQ(col, c->col);
    CHECK_EQ(atomic_load(&v.m.used), 0);
  }
}

int main(void) {
  TH_RUN(malformed_inputs_report_code_position_and_message);
  return th_done();
}
