/*
 * The query front end: lexer, parser, limits, type checking against a fake
 * schema, segment inlining, folding, error messages and canonical printing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "query/lex.h"
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
     "in segment 'self' at 1:9: segment 'self' refers to itself: self -> self", 0},
    {"vip AND segment('cyc_a')", POND_EPARSE, 1, 17,
     "in segment 'cyc_a' -> 'cyc_b' at 1:19: segment 'cyc_a' refers to itself: "
     "cyc_a -> cyc_b -> cyc_a", 0},
    {"segment('uses_broken')", POND_EPARSE, 1, 9,
     "in segment 'uses_broken' -> 'broken' at 2:3: strings have no order: '>' "
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


/* --------------------------------------------------------- canonical text */

typedef struct print_case {
  const char *text, *want;
} print_case;

/* As written (QY_NO_FOLD): the printer keeps the tree's shape. */
static const print_case print_cases[] = {
    {"spend>5", "spend > 5"},
    {"vip and active or not vip", "vip AND active OR NOT vip"},
    {"(vip or active) and vip", "(vip OR active) AND vip"},
    {"vip and (active and vip)", "vip AND (active AND vip)"},
    {"vip or (active or vip)", "vip OR (active OR vip)"},
    {"vip or (active and vip)", "vip OR active AND vip"},
    {"NOT (vip AND active)", "NOT (vip AND active)"},
    {"not not vip", "NOT NOT vip"},
    {"not (not (vip))", "NOT NOT vip"},
    {"((((vip))))", "vip"},
    {"spend <> 5", "spend != 5"},
    {"spend!=5 and spend<=6 and spend>=-7 and spend<8 and spend=+9",
     "spend != 5 AND spend <= 6 AND spend >= -7 AND spend < 8 AND spend = 9"},
    {"region in ('a','b')", "region IN ('a', 'b')"},
    {"region not in ('it''s')", "region NOT IN ('it''s')"},
    {"\"地区\" = '广东'", "\"地区\" = '广东'"},
    {"\"first name\" like '张%'", "\"first name\" LIKE '张%'"},
    {"\"first name\" not like '_三'", "\"first name\" NOT LIKE '_三'"},
    {"\"Order\" > 1", "Order > 1"},
    {"\"count\" > 1", "count > 1"},
    {"count > 1 AND count('order.paid') > 1", "count > 1 AND count('order.paid') > 1"},
    {"last_seen < NOW() - 14d", "last_seen < now() - 2w"},
    {"last_seen < now() + 90s", "last_seen < now() + 90s"},
    {"last_seen < now() - 120s", "last_seen < now() - 2m"},
    {"last_seen < now() - 36h", "last_seen < now() - 36h"},
    {"last_seen < now() - 0s", "last_seen < now()"},
    {"birthday >= TIMESTAMP '2026-03-01T09:30:00+08:00'",
     "birthday >= TIMESTAMP '2026-03-01 01:30:00'"},
    {"birthday >= timestamp '2026-03-01 00:00'", "birthday >= TIMESTAMP '2026-03-01'"},
    {"birthday BETWEEN TIMESTAMP '2026-01-01' AND TIMESTAMP '2026-12-31' + 1d",
     "birthday BETWEEN TIMESTAMP '2026-01-01' AND TIMESTAMP '2026-12-31' + 1d"},
    {"spend between -5 and +5", "spend BETWEEN -5 AND 5"},
    {"spend not between 1 and score", "spend NOT BETWEEN 1 AND score"},
    {"region is not null or region IS NULL", "region IS NOT NULL OR region IS NULL"},
    {"Tag('来源/*')", "tag('来源/*')"},
    {"TAG('vip/gold') AND NOT tag('状态/免打扰')", "tag('vip/gold') AND NOT tag('状态/免打扰')"},
    {"stage('lifecycle') in ('new','intent')", "stage('lifecycle') IN ('new', 'intent')"},
    {"STAGE_SINCE('lifecycle') < now() - 7d", "stage_since('lifecycle') < now() - 1w"},
    {"last('order.paid') IS NULL", "last('order.paid') IS NULL"},
    {"count('order.paid') >= 2 OR owner = 'alice'", "count('order.paid') >= 2 OR owner = 'alice'"},
    {"segment('vip_active')", "segment('vip_active')"},
    {"TRUE", "TRUE"},
    {"false", "FALSE"},
    {"TRUE = vip", "TRUE = vip"},
    {"CID = 5", "cid = 5"},
    {"\"cid\" = 5", "cid = 5"},
    {"Added_At < Last_Seen", "added_at < last_seen"},
    {"vip -- a comment\n AND active--another", "vip AND active"},
    {"spend > -9223372036854775808", "spend > -9223372036854775808"},
    {"spend < 9223372036854775807", "spend < 9223372036854775807"},
    {"'a' = 'a'", "'a' = 'a'"},
    {"5 < spend", "5 < spend"},
    {"region = ''", "region = ''"},
    {"region = ''''", "region = ''''"},
    {"tag('来源/门店扫码') AND NOT tag('状态/免打扰')\n"
     "  AND stage('lifecycle') IN ('intent', 'paying')\n"
     "  AND spend >= 1000 AND region LIKE '广东%'\n"
     "  AND last_seen < now() - 30d\n"
     "  AND (count('order.paid') >= 2 OR owner = 'alice')",
     "tag('来源/门店扫码') AND NOT tag('状态/免打扰') AND stage('lifecycle') IN ('intent', "
     "'paying') AND spend >= 1000 AND region LIKE '广东%' AND last_seen < now() - 30d AND "
     "(count('order.paid') >= 2 OR owner = 'alice')"},
};

static void printer_renders_canonical_text_that_parses_back_identically(void) {
  env v;
  env_init(&v);
  for (size_t i = 0; i < sizeof print_cases / sizeof print_cases[0]; i++) {
    const char *got = canon(&v, print_cases[i].text, QY_NO_FOLD);
    CHECK_STR(got, print_cases[i].want);
    if (!got) continue;
    char first[4096];
    snprintf(first, sizeof first, "%s", got);
    CHECK_STR(canon(&v, first, QY_NO_FOLD), first);
  }
  CHECK_EQ(atomic_load(&v.m.used), 0);
}

static void parse_only_mode_needs_no_schema(void) {
  pc_mem m;
  pc_err e;
  pc_mem_init(&m, NULL, NULL, 0);
  qy_query *q = NULL;
  const char *t = "\"and\" = 1 AND unknown_thing LIKE 'x' AND stage('nope') = 'x'";
  /* (REQUIRE evaluates its argument twice: no calls inside it) */
  int rc = qy_prepare(&m, NULL, NULL, t, strlen(t), QY_PARSE_ONLY, &q, &e);
  REQUIRE(rc == POND_OK);
  char *p;
  size_t n;
  rc = qy_print(&m, q->root, &p, &n);
  REQUIRE(rc == POND_OK);
  CHECK_STR(p, "\"and\" = 1 AND unknown_thing LIKE 'x' AND stage('nope') = 'x'");
  CHECK_EQ(n, strlen(p));
  pc_free(&m, p, n + 1);
  qy_query_free(q);
  CHECK_EQ(qy_prepare(&m, NULL, NULL, t, strlen(t), 0, &q, &e), POND_EINVAL);
  CHECK_EQ(atomic_load(&m.used), 0);
}

/* Checked and folded. */
static const print_case fold_cases[] = {
    {"TRUE AND vip", "vip"},
    {"vip AND FALSE", "FALSE"},
    {"vip OR TRUE", "TRUE"},
    {"vip OR FALSE OR active", "vip OR active"},
    {"NOT NOT vip", "vip"},
    {"NOT NOT NOT vip", "NOT vip"},
    {"1 < 2", "TRUE"},
    {"'a' = 'b'", "FALSE"},
    {"'a' != 'b' AND vip", "vip"},
    {"TRUE = FALSE", "FALSE"},
    {"5 < spend", "spend > 5"},
    {"5 <= spend AND 5 = spend AND 5 != spend", "spend >= 5 AND spend = 5 AND spend != 5"},
    {"now() > last_seen", "last_seen < now()"},
    {"vip AND (active AND spend > 1)", "vip AND active AND spend > 1"},
    {"vip OR (active OR (vip AND TRUE))", "vip OR active OR vip"},
    {"(vip AND active) OR FALSE", "vip AND active"},
    {"cid IS NULL", "FALSE"},
    {"cid IS NOT NULL AND vip", "vip"},
    {"count('order.paid') IS NULL OR stage('lifecycle') IS NULL", "FALSE"},
    {"spend IS NULL", "spend IS NULL"},
    {"last_seen IS NULL AND last('message') IS NOT NULL",
     "last_seen IS NULL AND last('message') IS NOT NULL"},
    {"birthday > TIMESTAMP '2026-03-01' + 1d", "birthday > TIMESTAMP '2026-03-02'"},
    {"birthday > TIMESTAMP '2026-03-01' - 1h", "birthday > TIMESTAMP '2026-02-28 23:00:00'"},
    {"last_seen > now() - 30d", "last_seen > now() - 30d"},
    {"'广东省' LIKE '广_省'", "TRUE"},
    {"'广东省' LIKE '广_'", "FALSE"},
    {"'广东省' NOT LIKE '%东%'", "FALSE"},
    {"1 IN (1, 2)", "TRUE"},
    {"3 NOT IN (1, 2)", "TRUE"},
    {"'x' IN ('a', 'b')", "FALSE"},
    {"now() IN (now())", "now() IN (now())"},
    {"5 BETWEEN 1 AND 4", "FALSE"},
    {"5 NOT BETWEEN 1 AND 4", "TRUE"},
    {"TIMESTAMP '2026-01-02' BETWEEN TIMESTAMP '2026-01-01' AND TIMESTAMP '2026-01-01' + 1d",
     "TRUE"},
    {"spend BETWEEN 1 AND 2 + 0", NULL}, /* not valid syntax: checked below */
    {"segment('always')", "TRUE"},
    {"segment('vip_active') AND vip", "segment('vip_active') AND vip"},
    {"NOT (TRUE AND FALSE)", "TRUE"},
    {"NOT (vip AND TRUE)", "NOT vip"},
    {"5 IS NULL OR 'x' IS NOT NULL", "TRUE"},
};

static void folding_simplifies_constants_and_keeps_now_symbolic(void) {
  env v;
  env_init(&v);
  for (size_t i = 0; i < sizeof fold_cases / sizeof fold_cases[0]; i++) {
    if (!fold_cases[i].want) continue;
    const char *got = canon(&v, fold_cases[i].text, 0);
    CHECK_STR(got, fold_cases[i].want);
    if (!got) continue;
    char first[4096];
    snprintf(first, sizeof first, "%s", got);
    CHECK_STR(canon(&v, first, 0), first); /* folding is idempotent */
  }
  CHECK_EQ(atomic_load(&v.m.used), 0);
}

static void segments_are_inlined_and_shared_between_uses(void) {
  env v;
  env_init(&v);
  qy_query *q = NULL;
  const char *t = "segment('store_leads') OR segment('vip_active') OR segment('vip_active')";
  int rc = env_prep(&v, t, strlen(t), QY_NO_FOLD, &q);
  REQUIRE(rc == POND_OK);
  REQUIRE(q->root->kind == QY_OR && q->root->n == 3);
  qy_node *a = q->root->kids[0]->a, *b = q->root->kids[1]->a, *c = q->root->kids[2]->a;
  REQUIRE(a && b && c);
  CHECK(b == c); /* parsed once, shared */
  CHECK(a->kind == QY_AND && a->n == 2);
  CHECK(a->kids[1]->kind == QY_NOT && a->kids[1]->a->kind == QY_SEGMENT);
  CHECK(a->kids[1]->a->a == b);
  CHECK(b->kind == QY_AND && b->kids[0]->kind == QY_CMP && b->kids[0]->a->op == QY_COL_ATTR);
  /* vip_active: AND + CMP + 2 operands, twice more CMP + operands = 7 nodes;
   * each use counts: query 1 OR + 3 SEGMENT + 3 × 7 + store_leads' own 4 + 7 */
  CHECK_EQ(q->nodes, 1 + 3 + 7 + 7 + 4 + 7);
  /* depth: OR(0) → segment store_leads → NOT (1) → segment vip_active */
  CHECK_EQ(q->depth, 3);
  qy_query_free(q);
  CHECK_EQ(atomic_load(&v.m.used), 0);
}

/* ------------------------------------------------------------------ limits */

static char *repeat(const char *pre, unsigned n, const char *mid, const char *post, unsigned m) {
  size_t len = strlen(pre) * n + strlen(mid) + strlen(post) * m + 1;
  char *s = malloc(len), *p = s;
  for (unsigned i = 0; i < n; i++) p += sprintf(p, "%s", pre);
  p += sprintf(p, "%s", mid);
  for (unsigned i = 0; i < m; i++) p += sprintf(p, "%s", post);
  return s;
}

static int prep_rc(env *v, const char *t) {
  qy_query *q = NULL;
  int rc = env_prep(v, t, strlen(t), 0, &q);
  qy_query_free(q);
  return rc;
}

static void nesting_depth_64_passes_and_65_is_a_limit_error(void) {
  env v;
  env_init(&v);
  char *t = repeat("(", 64, "vip", ")", 64);
  CHECK_EQ(prep_rc(&v, t), POND_OK);
  free(t);
  t = repeat("(", 65, "vip", ")", 65);
  CHECK_EQ(prep_rc(&v, t), POND_ELIMIT);
  CHECK_STR(v.e.msg, "query:1:65: expression nested deeper than 64 levels");
  CHECK_EQ(v.e.offset, 64);
  free(t);
  t = repeat("NOT ", 64, "vip", "", 0);
  CHECK_EQ(prep_rc(&v, t), POND_OK);
  free(t);
  t = repeat("not ", 65, "vip", "", 0);
  CHECK_EQ(prep_rc(&v, t), POND_ELIMIT);
  CHECK_STR(v.e.msg, "query:1:257: expression nested deeper than 64 levels");
  free(t);
  /* a million open parentheses: refused at the 65th, no deep recursion */
  t = repeat("(", 60000, "", "", 0);
  CHECK_EQ(prep_rc(&v, t), POND_ELIMIT);
  free(t);
  /* configurable, and capped */
  v.lim.query_max_depth = 3;
  CHECK_EQ(prep_rc(&v, "((NOT vip))"), POND_OK);
  CHECK_EQ(prep_rc(&v, "(((NOT vip)))"), POND_ELIMIT);
  v.lim.query_max_depth = 100000;
  t = repeat("(", QY_HARD_MAX_DEPTH + 1, "vip", ")", QY_HARD_MAX_DEPTH + 1);
  CHECK_EQ(prep_rc(&v, t), POND_ELIMIT);
  free(t);
}

static void segment_chains_count_toward_the_depth_limit(void) {
  env v;
  env_init(&v);
  static char names[70][8], texts[70][32];
  for (int i = 1; i <= 66; i++) {
    snprintf(names[i], sizeof names[i], "s%d", i);
    snprintf(texts[i], sizeof texts[i], "segment('s%d')", i + 1);
  }
  /* s1 → … → s64 = vip: s64's text sits 64 levels deep */
  for (int i = 1; i <= 66; i++) fq_add_segment(&v.f, names[i], texts[i]);
  fq_add_segment(&v.f, names[64], "vip");
  CHECK_EQ(prep_rc(&v, "segment('s1')"), POND_OK);
  CHECK_EQ(prep_rc(&v, "(segment('s1'))"), POND_ELIMIT);
  fq_add_segment(&v.f, names[64], texts[64]);
  fq_add_segment(&v.f, names[65], "vip");
  CHECK_EQ(prep_rc(&v, "segment('s1')"), POND_ELIMIT);
  CHECK_STR(v.e.msg, "query:1:9: in segment 's1' -> … -> 's61' -> 's62' -> 's63' -> 's64' at "
                     "1:9: expression nested deeper than 64 levels");
  /* a cached segment used again deeper still counts its own depth */
  fq_add_segment(&v.f, names[65], "vip");
  fq_add_segment(&v.f, names[64], "vip");
  CHECK_EQ(prep_rc(&v, "segment('s2') AND segment('s1')"), POND_OK);
  CHECK_EQ(prep_rc(&v, "segment('s2') AND (segment('s1'))"), POND_ELIMIT);
  CHECK_STR(v.e.msg, "query:1:28: in segment 's1' at 1:9: segment 's2' here nests the "
                     "expression deeper than 64 levels");
}

static void node_limit_counts_every_node_and_every_segment_use(void) {
  env v;
  env_init(&v);
  /* TRUE AND … : one AND node plus one per TRUE */
  char *t = repeat("TRUE AND ", 4094, "TRUE", "", 0);
  CHECK_EQ(prep_rc(&v, t), POND_OK);
  free(t);
  t = repeat("TRUE AND ", 4095, "TRUE", "", 0);
  CHECK_EQ(prep_rc(&v, t), POND_ELIMIT);
  CHECK_STR(v.e.msg, "query:1:36856: expression has more than 4096 nodes");
  free(t);
  /* a segment of ~1,000 nodes used five times */
  char *big = repeat("vip AND ", 500, "vip", "", 0);
  fq_add_segment(&v.f, "big", big);
  CHECK_EQ(prep_rc(&v, "segment('big') OR segment('big')"), POND_OK);
  CHECK_EQ(prep_rc(&v, "segment('big') OR segment('big') OR segment('big') OR segment('big') "
                       "OR segment('big')"),
           POND_ELIMIT);
  CHECK_STR(v.e.msg,
            "query:1:81: expression has more than 4096 nodes with segment 'big' inlined");
  /* exponential fan-out is stopped by the count, and parsed once per name */
  static char names[40][8], texts[40][48];
  for (int i = 1; i < 40; i++) {
    snprintf(names[i], sizeof names[i], "x%d", i);
    snprintf(texts[i], sizeof texts[i], "segment('x%d') AND segment('x%d')", i - 1, i - 1);
    fq_add_segment(&v.f, names[i], texts[i]);
  }
  fq_add_segment(&v.f, "x0", "vip");
  CHECK_EQ(prep_rc(&v, "segment('x8')"), POND_OK);
  CHECK_EQ(prep_rc(&v, "segment('x39')"), POND_ELIMIT);
  free(big);
  v.lim.query_max_nodes = 3;
  CHECK_EQ(prep_rc(&v, "spend > 1"), POND_OK);
  CHECK_EQ(prep_rc(&v, "NOT spend > 1"), POND_ELIMIT);
}

static void in_list_of_10000_items_passes_and_10001_is_a_limit_error(void) {
  env v;
  env_init(&v);
  size_t cap = 10 + 10001 * 3 + 2;
  char *t = malloc(cap);
  for (unsigned n = 10000; n <= 10001; n++) {
    char *p = t + sprintf(t, "spend IN (0");
    for (unsigned i = 1; i < n; i++) p += sprintf(p, ",%u", i % 10);
    sprintf(p, ")");
    int rc = prep_rc(&v, t);
    CHECK_EQ(rc, n == 10000 ? POND_OK : POND_ELIMIT);
  }
  CHECK_STR(v.e.msg, "query:1:20011: IN list has more than 10000 items");
  free(t);
  v.lim.query_max_in_items = 2;
  CHECK_EQ(prep_rc(&v, "region IN ('a', 'b')"), POND_OK);
  CHECK_EQ(prep_rc(&v, "region IN ('a', 'b', 'c')"), POND_ELIMIT);
}

static void text_of_64_kib_passes_and_one_byte_more_is_a_limit_error(void) {
  env v;
  env_init(&v);
  size_t n = 65536;
  char *t = malloc(n + 2);
  memset(t, ' ', n + 1);
  memcpy(t, "vip --", 6);
  t[n + 1] = 0;
  qy_query *q = NULL;
  CHECK_EQ(env_prep(&v, t, n, 0, &q), POND_OK);
  qy_query_free(q);
  q = NULL;
  CHECK_EQ(env_prep(&v, t, n + 1, 0, &q), POND_ELIMIT);
  CHECK(q == NULL);
  CHECK_STR(v.e.msg, "query: expression is 65537 bytes long; the limit is 65536");
  CHECK_EQ(v.e.offset, -1);
  v.lim.query_max_len = 3;
  CHECK_EQ(prep_rc(&v, "vip"), POND_OK);
  CHECK_EQ(prep_rc(&v, " vip"), POND_ELIMIT);
  /* a segment's text is held to the same limit */
  v.lim.query_max_len = 21;
  CHECK_EQ(prep_rc(&v, "segment('vip_active')"), POND_ELIMIT);
  CHECK_STR(v.e.msg, "query:1:9: segment 'vip_active' is 43 bytes long; the limit is 21");
  free(t);
}
/* -------------------------------------------------------------- timestamps */

static int64_t ts(const char *s) {
  int64_t t = INT64_MIN;
  char why[128];
  if (!qy_time_parse(s, strlen(s), &t, why, sizeof why)) return INT64_MIN;
  return t;
}

static void timestamps_convert_to_epoch_seconds_without_libc(void) {
  CHECK_EQ(ts("1970-01-01"), 0);
  CHECK_EQ(ts("1969-12-31T23:59:59Z"), -1);
  CHECK_EQ(ts("2026-03-01"), 1772323200);
  CHECK_EQ(ts("2026-03-01 09:30:00"), 1772323200 + 9 * 3600 + 30 * 60);
  CHECK_EQ(ts("2026-03-01T09:30:00+08:00"), 1772328600);
  CHECK_EQ(ts("2026-03-01T09:30+0800"), 1772328600);
  CHECK_EQ(ts("2026-03-01T01:30:00z"), 1772328600);
  CHECK_EQ(ts("2026-03-01t09:30:00+08"), 1772328600);
  CHECK_EQ(ts("2026-02-28T20:30:00-05:00"), 1772328600);
  CHECK_EQ(ts("2000-02-29 12:00:00"), 951825600);
  CHECK_EQ(ts("2024-12-31 23:59:59"), 1735689599);
  CHECK_EQ(ts("0000-01-01"), QY_TIME_MIN);
  CHECK_EQ(ts("9999-12-31 23:59:59"), QY_TIME_MAX);
  CHECK_EQ(qy_days_from_civil(1970, 1, 1), 0);
  CHECK_EQ(qy_days_from_civil(2000, 3, 1), 11017);
  CHECK_EQ(qy_days_from_civil(1600, 2, 29), -135081);
}

static void timestamp_format_and_parse_round_trip_over_the_whole_range(void) {
  uint64_t seed = th_seed(0x71e5);
  char buf[64];
  for (int i = 0; i < 200000; i++) {
    uint64_t r = th_rand(&seed);
    int64_t t = QY_TIME_MIN + (int64_t)(r % (uint64_t)(QY_TIME_MAX - QY_TIME_MIN + 1));
    if (i % 4 == 0) t -= t % 86400; /* midnights take the short form */
    size_t n = qy_time_format(t, buf, sizeof buf);
    int64_t back = INT64_MIN;
    char why[128];
    int ok = qy_time_parse(buf, n, &back, why, sizeof why);
    if (!ok || back != t) {
      fprintf(stderr, "t=%lld printed %s parsed %lld (%s)\n", (long long)t, buf,
              (long long)back, ok ? "" : why);
      CHECK(0);
      break;
    }
  }
  /* every day of 400 years (a full Gregorian cycle) is consecutive */
  int64_t prev = qy_days_from_civil(1999, 12, 31);
  for (int64_t y = 2000; y < 2400; y++)
    for (unsigned m = 1; m <= 12; m++)
      for (unsigned d = 1; d <= 31; d++) {
        char s[16];
        snprintf(s, sizeof s, "%04d-%02u-%02u", (int)y, m, d);
        int64_t t = ts(s);
        if (t == INT64_MIN) continue;
        CHECK_EQ(t / 86400, prev + 1);
        prev = t / 86400;
      }
  CHECK_EQ(prev, qy_days_from_civil(2399, 12, 31));
  /* durations in their largest exact unit */
  CHECK_EQ(qy_duration_format(0, buf, sizeof buf), 2);
  CHECK_STR(buf, "0s");
  qy_duration_format(1209600, buf, sizeof buf);
  CHECK_STR(buf, "2w");
  qy_duration_format(90000, buf, sizeof buf);
  CHECK_STR(buf, "25h");
  qy_duration_format(INT64_MAX, buf, sizeof buf);
  CHECK_STR(buf, "9223372036854775807s");
}

static void timestamp_literals_reject_impossible_dates(void) {
  const char *bad[] = {"1900-02-29", "2100-02-29", "2026-04-31", "2026-00-10", "2026-01-00",
                       "2026-01-32", "26-01-01",   "2026-1-01",  "2026-01-01T",
                       "2026-01-01 24:00", "2026-01-01 23:60", "2026-01-01 23:59:60",
                       "2026-01-01 23:59:59.5", "2026-01-01+08:00", "2026-01-01 10:00+24:00",
                       "2026-01-01 10:00+08:60", "2026-01-01 10:00 +08:00", "",
                       "2026-01-01 10:00:00Zjunk", "２０２６-01-01"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (ts(bad[i]) != INT64_MIN) fprintf(stderr, "accepted %s\n", bad[i]);
    CHECK_EQ(ts(bad[i]), INT64_MIN);
  }
  CHECK(ts("2000-02-29") != INT64_MIN);
  CHECK(ts("2024-02-29") != INT64_MIN);
  CHECK(ts("1600-02-29") != INT64_MIN);
  /* out of the printable range through an offset, or with a duration */
  env v;
  env_init(&v);
  CHECK_EQ(prep_rc(&v, "birthday > TIMESTAMP '0000-01-01T00:00:00+01:00'"), POND_EPARSE);
  CHECK_STR(v.e.msg, "query:1:12: time out of range (years 0000 to 9999)");
  CHECK_EQ(prep_rc(&v, "birthday > TIMESTAMP '0000-01-01T00:00:00-01:00'"), POND_OK);
  CHECK_EQ(prep_rc(&v, "birthday > TIMESTAMP '0000-01-01' - 1s"), POND_EPARSE);
  CHECK_EQ(prep_rc(&v, "birthday > TIMESTAMP '9999-12-31 23:59:58' + 1s"), POND_OK);
  CHECK_EQ(prep_rc(&v, "birthday > TIMESTAMP '2026-01-01' + 9223372036854775807s"),
           POND_EPARSE);
  CHECK_EQ(prep_rc(&v, "birthday > now() + 9223372036854775807s"), POND_OK);
  CHECK_EQ(prep_rc(&v, "birthday > now() + 9223372036854775808s"), POND_EPARSE);
  CHECK_STR(v.e.msg, "query:1:20: duration out of range");
  CHECK_EQ(prep_rc(&v, "birthday > now() + 15250284452471w"), POND_OK);
  CHECK_EQ(prep_rc(&v, "birthday > now() + 15250284452472w"), POND_EPARSE);
}

/* ------------------------------------------------------------- suggestions */

static void edit_distance_counts_code_points_and_transpositions(void) {
#define D(a, b) qy_edit_distance(a, strlen(a), b, strlen(b))
  CHECK_EQ(D("", ""), 0);
  CHECK_EQ(D("abc", ""), 3);
  CHECK_EQ(D("kitten", "sitting"), 3);
  CHECK_EQ(D("spned", "spend"), 1); /* one transposition */
  CHECK_EQ(D("来源/门店", "来源/门店扫码"), 2);
  CHECK_EQ(D("门店", "店门"), 1);
  CHECK_EQ(D("payed", "paying"), 3);
  CHECK_EQ(D("ca", "abc"), 3); /* OSA, not unrestricted Damerau */
#undef D
  char longname[4 * QY_SUGGEST_MAX_CPS + 8];
  memset(longname, 'a', QY_SUGGEST_MAX_CPS + 1);
  longname[QY_SUGGEST_MAX_CPS + 1] = 0;
  CHECK(qy_edit_distance(longname, strlen(longname), "a", 1) == (unsigned)-1);
}

static void suggestions_prefer_close_names_deterministically(void) {
  const char *names[] = {"region", "regions", "legion", "owner", "reg"};
  qy_suggest sg;
  /* one edit from "region" and "legion"? no: "regoin" is a transposition */
  qy_suggest_init(&sg, "regoin", 6);
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < 5; i++) qy_suggest_offer(&sg, names[k ? 4 - i : i], strlen(names[k ? 4 - i : i]));
  CHECK_STR(qy_suggest_best(&sg), "region");
  /* equal distance: longer shared prefix, then byte order, in any order */
  const char *tie[] = {"xb", "ab", "aa"};
  for (int k = 0; k < 3; k++) {
    qy_suggest_init(&sg, "ac", 2);
    for (int i = 0; i < 3; i++) qy_suggest_offer(&sg, tie[(i + k) % 3], 2);
    CHECK_STR(qy_suggest_best(&sg), "aa");
  }
  qy_suggest_init(&sg, "ab", 2);
  qy_suggest_offer(&sg, "xy", 2);
  CHECK(qy_suggest_best(&sg) == NULL);
  qy_suggest_init(&sg, "ab", 2);
  qy_suggest_offer(&sg, "ab", 2); /* the name itself is no suggestion */
  CHECK(qy_suggest_best(&sg) == NULL);
}

/* -------------------------------------------------------------------- LIKE */

static void like_matches_percent_and_underscore_over_utf8(void) {
  static const struct {
    const char *s, *p;
    int want;
  } cases[] = {
      {"", "", 1},          {"", "%", 1},           {"", "_", 0},         {"a", "", 0},
      {"abc", "abc", 1},    {"abc", "ABC", 0},      {"abc", "a%", 1},     {"abc", "%c", 1},
      {"abc", "%b%", 1},    {"abc", "a_c", 1},      {"abc", "a__c", 0},   {"abc", "___", 1},
      {"abc", "%%%", 1},    {"abc", "a%b%c%", 1},   {"abc", "%a%b%c", 1}, {"abc", "%ac%", 0},
      {"广东省", "广_省", 1}, {"广东省", "___", 1},    {"广东省", "__", 0},   {"广东省", "广%", 1},
      {"广东省深圳", "%省%", 1}, {"广东省", "%东", 0},   {"aaa", "%a%a%a%a", 0},
      {"mississippi", "%iss%ppi", 1}, {"mississippi", "m%iss%i", 1},
      {"mississippi", "%sip%sip", 0}, {"100%", "100%", 1}, {"a_b", "a_b", 1},
      {"ab", "a_%", 1},     {"a", "a_%", 0},        {"ä", "_", 1},        {"😀x", "_x", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int got = qy_like(cases[i].s, strlen(cases[i].s), cases[i].p, strlen(cases[i].p));
    if (got != cases[i].want) fprintf(stderr, "'%s' LIKE '%s'\n", cases[i].s, cases[i].p);
    CHECK_EQ(got, cases[i].want);
  }
  /* a pathological pattern stays quadratic, not exponential */
  char s[4001], p[402];
  memset(s, 'a', 4000);
  s[4000] = 0;
  for (int i = 0; i < 200; i++) p[2 * i] = '%', p[2 * i + 1] = 'a';
  p[400] = 'b';
  p[401] = 0;
  CHECK_EQ(qy_like(s, 4000, p, 401), 0);
}

/* ------------------------------------------------------ strings and names */

static void strings_and_quoted_names_unescape_doubled_quotes(void) {
  env v;
  env_init(&v);
  qy_query *q = NULL;
  const char *t = "region = 'it''s ''广东''' AND \"first name\" IN ('', '''')";
  int rc = env_prep(&v, t, strlen(t), QY_NO_FOLD, &q);
  REQUIRE(rc == POND_OK);
  qy_node *a = q->root->kids[0], *b = q->root->kids[1];
  CHECK_STR(a->b->v.s.p, "it's '广东'");
  CHECK_EQ(a->b->v.s.len, strlen("it's '广东'"));
  CHECK_STR(b->a->name.p, "first name");
  CHECK_EQ(b->n, 2);
  CHECK_EQ(b->items[0].s.len, 0);
  CHECK_STR(b->items[1].s.p, "'");
  qy_query_free(q);
  /* a quoted name with a quote inside: printed back quoted */
  CHECK_STR(canon(&v, "\"a\"\"b\" = 1", QY_PARSE_ONLY), "\"a\"\"b\" = 1");
  CHECK_STR(canon(&v, "\"地区\" LIKE '%''%'", 0), "\"地区\" LIKE '%''%'");
}

static void columns_count_characters_and_offsets_count_bytes(void) {
  env v;
  env_init(&v);
  /* '广东' is 2 columns but 6 bytes */
  CHECK_EQ(prep_rc(&v, "\"地区\" = '广东' AND spned > 1"), POND_EPARSE);
  CHECK_STR(v.e.msg, "query:1:17: unknown attribute 'spned'; did you mean 'spend'?");
  CHECK_EQ(v.e.offset, (long)strlen("\"地区\" = '广东' AND "));
  /* lines count '\n'; a '\r' is whitespace and one column */
  CHECK_EQ(prep_rc(&v, "vip AND\r\n  -- 注释 spend\n\t spned > 1"), POND_EPARSE);
  CHECK_STR(v.e.msg, "query:3:3: unknown attribute 'spned'; did you mean 'spend'?");
  unsigned line, col;
  qy_line_col("a\xff\xfe" "b", 4, 3, &line, &col); /* invalid bytes: one column each */
  CHECK_EQ(col, 4);
  qy_line_col("ab", 2, 99, &line, &col); /* clamps */
  CHECK_EQ(col, 3);
}

static void checked_tree_carries_schema_ids_and_types(void) {
  env v;
  env_init(&v);
  qy_query *q = NULL;
  const char *t = "tag('来源/直播') AND tag('意向/*') AND region = 'x' AND "
                  "stage('lifecycle') IN ('paying', 'churned') AND count('message') > 1 "
                  "AND last('link.opened') IS NULL AND stage('service') = 'closed'";
  int rc = env_prep(&v, t, strlen(t), 0, &q);
  REQUIRE(rc == POND_OK);
  REQUIRE(q->root->kind == QY_AND && q->root->n == 7);
  qy_node **k = q->root->kids;
  CHECK(k[0]->kind == QY_TAG && k[0]->id == 4 && !k[0]->neg);
  CHECK(k[1]->kind == QY_TAG && k[1]->id == 3 && k[1]->neg);
  CHECK(k[2]->a->op == QY_COL_ATTR && k[2]->a->id == 3 && k[2]->a->type == QY_T_STRING);
  CHECK(k[3]->a->op == QY_COL_STAGE && k[3]->a->id == 0 && k[3]->items[0].id == 2 &&
        k[3]->items[1].id == 5);
  CHECK(k[4]->a->op == QY_COL_COUNT && k[4]->a->id == 1 && k[4]->a->type == QY_T_INT);
  CHECK(k[5]->a->op == QY_COL_LAST && k[5]->a->id == 2 && k[5]->a->type == QY_T_TIME);
  CHECK(k[6]->b->v.id == 1 && k[6]->a->id == 1);
  qy_query_free(q);
  CHECK_EQ(atomic_load(&v.m.used), 0);
}

static void schema_lookup_failures_are_passed_through(void) {
  env v;
  env_init(&v);
  v.f.fail_lookups = POND_ENOMEM;
  CHECK_EQ(prep_rc(&v, "vip AND spend > 1"), POND_ENOMEM);
  CHECK_STR(v.e.msg, "query:1:1: definition lookup failed: out of memory");
  /* an empty schema knows nothing, and says so */
  qy_schema none = {0};
  qy_query *q = NULL;
  CHECK_EQ(qy_prepare(&v.m, &none, NULL, "tag('a/b')", 10, 0, &q, &v.e), POND_EPARSE);
  CHECK_STR(v.e.msg, "query:1:5: unknown tag 'a/b'");
  CHECK_EQ(qy_prepare(&v.m, &none, NULL, "cid > 5 AND added_at < now()", 28, 0, &q, &v.e),
           POND_OK);
  qy_query_free(q);
  CHECK_EQ(qy_prepare(&v.m, &none, NULL, NULL, 0, 0, &q, &v.e), POND_EPARSE);
  CHECK_EQ(qy_prepare(&v.m, &none, NULL, NULL, 3, 0, &q, &v.e), POND_EINVAL);
  CHECK_EQ(atomic_load(&v.m.used), 0);
}

/* ------------------------------------------------------ allocation failure */

typedef struct failing {
  long calls, fail_at;
} failing;

static void *failing_alloc(void *ud, void *p, size_t o, size_t n) {
  failing *f = ud;
  (void)o;
  if (n == 0) {
    free(p);
    return NULL;
  }
  if (++f->calls == f->fail_at) return NULL;
  return realloc(p, n);
}

static void every_allocation_failure_is_reported_and_leaks_nothing(void) {
  const char *texts[] = {
      ("segment('store_leads') OR segment('vip_active') AND region IN ('a', 'b', 'c', 'd', "
       "'e', 'f', 'g', 'h', 'i', 'j') AND tag('来源/*')"),
      "vip AND active AND vip AND active AND vip AND active AND vip AND active AND vip",
      "segment('uses_broken')", "spned > 1"};
  for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
    long fail_at = 1;
    for (;; fail_at++) {
      failing f = {0, fail_at};
      env v;
      env_init(&v);
      pc_mem_init(&v.m, failing_alloc, &f, 0);
      qy_query *q = NULL;
      int rc = env_prep(&v, texts[t], strlen(texts[t]), 0, &q);
      if (rc == POND_OK) {
        char *p;
        size_t n;
        rc = qy_print(&v.m, q->root, &p, &n);
        if (rc == POND_OK) pc_free(&v.m, p, n + 1);
        qy_query_free(q);
      }
      if (rc != POND_OK && rc != POND_ENOMEM && rc != POND_EPARSE) CHECK(0);
      CHECK_EQ(atomic_load(&v.m.used), 0);
      if (f.calls < fail_at) break; /* no allocation failed: done */
    }
    CHECK(fail_at > 1);
  }
}

/* ------------------------------------------------------------- randomized */

typedef struct gen {
  uint64_t rng;
  char *p, *end;
  int depth;
} gen;

static unsigned gen_r(gen *g, unsigned n) { return (unsigned)(th_rand(&g->rng) % n); }

static void gen_put(gen *g, const char *s) {
  size_t n = strlen(s);
  if (g->p + n < g->end) {
    memcpy(g->p, s, n);
    g->p += n;
    *g->p = 0;
  }
}

static const char *pick(gen *g, const char *const *a, size_t n) { return a[gen_r(g, (unsigned)n)]; }
#define PICK(g, a) pick(g, a, sizeof(a) / sizeof((a)[0]))

static void gen_num_operand(gen *g) {
  static const char *const cols[] = {"spend", "score", "cid", "\"count\"", "count('order.paid')",
                                     "count('message')", "Order"};
  static const char *const times[] = {"birthday", "added_at", "last_seen",
                                      "stage_since('lifecycle')", "last('order.paid')",
                                      "now()", "now() - 30d", "now() + 12h",
                                      "TIMESTAMP '2026-03-01'",
                                      "TIMESTAMP '2026-03-01T09:30:00+08:00' - 15m"};
  static const char *const ints[] = {"0", "1", "-5", "1000", "9223372036854775807",
                                     "-9223372036854775808", "+7"};
  switch (gen_r(g, 3)) {
    case 0: gen_put(g, PICK(g, cols)); break;
    case 1: gen_put(g, PICK(g, times)); break;
    default: gen_put(g, PICK(g, ints)); break;
  }
}

static void gen_str_operand(gen *g) {
  static const char *const s[] = {"region", "owner", "\"地区\"", "\"first name\"",
                                  "'广东'", "'it''s'", "''", "'alice'"};
  gen_put(g, PICK(g, s));
}

static void gen_pred(gen *g);

static void gen_atom(gen *g) {
  static const char *const tags[] = {"tag('来源/门店扫码')", "tag('意向/*')", "TAG('vip/gold')",
                                     "tag('状态/免打扰')", "segment('vip_active')",
                                     "segment('store_leads')", "vip", "active", "TRUE", "false",
                                     "vip = TRUE", "active != FALSE"};
  static const char *const cmps[] = {" = ", " != ", " <> ", " < ", " <= ", " > ", " >= "};
  static const char *const likes[] = {"'广东%'", "'_东'", "'%'", "'a_c%'"};
  switch (gen_r(g, 9)) {
    case 0: gen_put(g, PICK(g, tags)); return;
    case 1: gen_num_operand(g); gen_put(g, PICK(g, cmps)); gen_num_operand(g); return;
    case 2: gen_str_operand(g); gen_put(g, gen_r(g, 2) ? " = " : " != "); gen_str_operand(g); return;
    case 3:
      gen_str_operand(g);
      gen_put(g, gen_r(g, 2) ? " LIKE " : " NOT LIKE ");
      gen_put(g, PICK(g, likes));
      return;
    case 4:
      gen_num_operand(g);
      gen_put(g, gen_r(g, 2) ? " BETWEEN " : " NOT BETWEEN ");
      gen_num_operand(g);
      gen_put(g, " AND ");
      gen_num_operand(g);
      return;
    case 5: {
      int str = gen_r(g, 2);
      if (str) gen_str_operand(g);
      else gen_num_operand(g);
      gen_put(g, gen_r(g, 2) ? " IN (" : " NOT IN (");
      unsigned n = 1 + gen_r(g, 4);
      for (unsigned i = 0; i < n; i++) {
        if (i) gen_put(g, ", ");
        if (str) gen_put(g, gen_r(g, 2) ? "'广东'" : "'x'");
        else gen_put(g, gen_r(g, 2) ? "3" : "now() - 1d");
      }
      gen_put(g, ")");
      return;
    }
    case 6:
      if (gen_r(g, 2)) gen_str_operand(g);
      else gen_num_operand(g);
      gen_put(g, gen_r(g, 2) ? " IS NULL" : " IS NOT NULL");
      return;
    case 7:
      gen_put(g, "stage('lifecycle')");
      gen_put(g, gen_r(g, 2) ? " = 'paying'" : " IN ('new', 'silent')");
      return;
    default:
      if (g->depth < 6) {
        g->depth++;
        gen_put(g, "(");
        gen_pred(g);
        gen_put(g, ")");
        g->depth--;
      } else {
        gen_put(g, "vip");
      }
  }
}

static void gen_pred(gen *g) {
  unsigned n = 1 + gen_r(g, 3);
  for (unsigned i = 0; i < n; i++) {
    if (i) gen_put(g, gen_r(g, 2) ? " AND " : " OR ");
    if (gen_r(g, 4) == 0) gen_put(g, "NOT ");
    gen_atom(g);
  }
}

static void random_queries_print_and_reparse_to_the_same_text(void) {
  env v;
  env_init(&v);
  uint64_t seed = th_seed(0x9e3779b9);
  long iters = th_env_long("QUERY_ITERS", 3000);
  char text[8192], first[65536];
  for (long i = 0; i < iters; i++) {
    gen g = {seed + (uint64_t)i, text, text + sizeof text - 1, 0};
    text[0] = 0;
    gen_pred(&g);
    for (int fold = 0; fold < 2; fold++) {
      unsigned flags = fold ? 0 : QY_NO_FOLD;
      const char *c = canon(&v, text, flags);
      if (!c) {
        fprintf(stderr, "iteration %ld (seed %llu): %s\n", i, (unsigned long long)seed, text);
        CHECK(0);
        return;
      }
      snprintf(first, sizeof first, "%s", c);
      c = canon(&v, first, flags);
      if (!c || strcmp(c, first) != 0) {
        fprintf(stderr, "iteration %ld: %s\n  first  %s\n  second %s\n", i, text, first,
                c ? c : "(error)");
        CHECK(0);
        return;
      }
    }
  }
  CHECK_EQ(atomic_load(&v.m.used), 0);
}

static void mutated_queries_fail_cleanly_or_parse(void) {
  env v;
  env_init(&v);
  uint64_t seed = th_seed(0x5eed);
  long iters = th_env_long("QUERY_ITERS", 3000);
  static const char *const pieces[] = {"(", ")", "'", "\"", "--", "NOT ", " AND ", "IN",
                                       "\xe5", "\xff", "9999999999999999999", "30d", "now()",
                                       "tag(", "segment('", ",", "\n", "BETWEEN", "\x00"};
  char text[8192];
  for (long i = 0; i < iters; i++) {
    gen g = {seed + (uint64_t)i, text, text + sizeof text - 1, 0};
    text[0] = 0;
    gen_pred(&g);
    size_t len = strlen(text);
    unsigned muts = 1 + gen_r(&g, 4);
    for (unsigned k = 0; k < muts && len > 0; k++) {
      size_t at = gen_r(&g, (unsigned)len);
      switch (gen_r(&g, 3)) {
        case 0: text[at] = (char)gen_r(&g, 256); break;
        case 1: len = at; break;
        default: {
          const char *pc = PICK(&g, pieces);
          size_t pl = pc[0] ? strlen(pc) : 1;
          if (len + pl < sizeof text) {
            memmove(text + at + pl, text + at, len - at);
            memcpy(text + at, pc, pl);
            len += pl;
          }
        }
      }
    }
    qy_query *q = NULL;
    int rc = env_prep(&v, text, len, 0, &q);
    if (rc == POND_OK) {
      CHECK(q != NULL);
      qy_query_free(q);
      continue;
    }
    CHECK(rc == POND_EPARSE || rc == POND_ELIMIT);
    CHECK(q == NULL);
    CHECK(strncmp(v.e.msg, "query:", 6) == 0);
    CHECK(v.e.offset >= -1 && v.e.offset <= (long)len);
    CHECK(qy_utf8_check(v.e.msg, strlen(v.e.msg), NULL)); /* messages stay valid UTF-8 */
  }
  CHECK_EQ(atomic_load(&v.m.used), 0);
}


int main(void) {
  TH_RUN(malformed_inputs_report_code_position_and_message);
  TH_RUN(printer_renders_canonical_text_that_parses_back_identically);
  TH_RUN(parse_only_mode_needs_no_schema);
  TH_RUN(folding_simplifies_constants_and_keeps_now_symbolic);
  TH_RUN(segments_are_inlined_and_shared_between_uses);
  TH_RUN(nesting_depth_64_passes_and_65_is_a_limit_error);
  TH_RUN(segment_chains_count_toward_the_depth_limit);
  TH_RUN(node_limit_counts_every_node_and_every_segment_use);
  TH_RUN(in_list_of_10000_items_passes_and_10001_is_a_limit_error);
  TH_RUN(text_of_64_kib_passes_and_one_byte_more_is_a_limit_error);
  TH_RUN(timestamps_convert_to_epoch_seconds_without_libc);
  TH_RUN(timestamp_format_and_parse_round_trip_over_the_whole_range);
  TH_RUN(timestamp_literals_reject_impossible_dates);
  TH_RUN(edit_distance_counts_code_points_and_transpositions);
  TH_RUN(suggestions_prefer_close_names_deterministically);
  TH_RUN(like_matches_percent_and_underscore_over_utf8);
  TH_RUN(strings_and_quoted_names_unescape_doubled_quotes);
  TH_RUN(columns_count_characters_and_offsets_count_bytes);
  TH_RUN(checked_tree_carries_schema_ids_and_types);
  TH_RUN(schema_lookup_failures_are_passed_through);
  TH_RUN(every_allocation_failure_is_reported_and_leaks_nothing);
  TH_RUN(random_queries_print_and_reparse_to_the_same_text);
  TH_RUN(mutated_queries_fail_cleanly_or_parse);
  return th_done();
}
