/* The strict JSON reader and the writer (lib/json): RFC 8259 accept/reject
 * tables with exact error positions, limits, unicode, numbers, allocation
 * failures, and random round trips. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "harness.h"
#include "json/json.h"

typedef struct counting {
  long allocs;  /* calls with nsize > 0 */
  long fail_at; /* fail this allocating call (1-based); 0: never */
} counting;

static void *count_alloc(void *ud, void *p, size_t o, size_t n) {
  counting *c = ud;
  (void)o;
  if (n == 0) {
    free(p);
    return NULL;
  }
  if (++c->allocs == c->fail_at) return NULL;
  return realloc(p, n);
}

/* Parses text, writes it back compactly into out (malloc'd) and frees
 * everything; returns the status. */
static int parse_write(const char *text, size_t len, const pj_limits *lim, char **out, pc_err *e) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pj_doc *d = NULL;
  int rc = pj_parse(&m, text, len, lim, &d, e);
  *out = NULL;
  if (rc == POND_OK) {
    pj_buf b;
    pj_buf_init(&b, &m);
    pj_buf_value(&b, pj_root(d), 0);
    if (!b.failed) {
      *out = malloc(b.len + 1);
      memcpy(*out, b.p, b.len + 1);
    }
    pj_buf_free(&b);
    pj_free(d);
  }
  if (atomic_load(&m.used) != 0) {
    fprintf(stderr, "leak of %zu bytes parsing %s\n", (size_t)atomic_load(&m.used), text);
    rc = -1000;
  }
  return rc;
}

/* ---- accept table (y_) ---------------------------------------------------- */

typedef struct yes_case {
  const char *name, *in, *out; /* out: the compact rewrite */
  size_t len;                  /* 0: strlen(in) */
} yes_case;

static const yes_case yes[] = {
    {"y_array_empty", "[]", "[]", 0},
    {"y_object_empty", "{}", "{}", 0},
    {"y_array_ws", " [ ] ", "[]", 0},
    {"y_all_whitespace_kinds", "\t\r\n [\n1\r\n]\n", "[1]", 0},
    {"y_string", "\"abc\"", "\"abc\"", 0},
    {"y_string_empty", "\"\"", "\"\"", 0},
    {"y_zero", "0", "0", 0},
    {"y_negative_zero", "-0", "-0", 0},
    {"y_exp_plus", "1.5e+10", "1.5e+10", 0},
    {"y_exp_capital_minus", "1E-2", "1E-2", 0},
    {"y_zero_exp", "[0e1]", "[0e1]", 0},
    {"y_fraction_exp_zero", "-1.0e-0", "-1.0e-0", 0},
    {"y_true", "true", "true", 0},
    {"y_false", "false", "false", 0},
    {"y_null", "null", "null", 0},
    {"y_mixed_array", "[1,\"a\",null,true,false]", "[1,\"a\",null,true,false]", 0},
    {"y_nested", "{\"a\":{\"b\":[{}]}}", "{\"a\":{\"b\":[{}]}}", 0},
    {"y_deep_arrays", "[[[[[[]]]]]]", "[[[[[[]]]]]]", 0},
    {"y_escape_u_ascii", "\"\\u0041\"", "\"A\"", 0},
    {"y_escape_quote", "\"\\\"\"", "\"\\\"\"", 0},
    {"y_escape_solidus", "\"\\/\"", "\"/\"", 0},
    {"y_escape_short_forms", "\"\\b\\f\\n\\r\\t\\\\\"", "\"\\b\\f\\n\\r\\t\\\\\"", 0},
    {"y_escape_u_control", "\"\\u001f\"", "\"\\u001f\"", 0},
    {"y_escape_u_2028", "\"\\u2028\"", "\"\xE2\x80\xA8\"", 0},
    {"y_raw_utf8", "\"\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\"", "\"\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\"", 0},
    {"y_surrogate_pair", "\"\\ud834\\udd1e\"", "\"\xF0\x9D\x84\x9E\"", 0},
    {"y_surrogate_pair_upper", "\"\\uD83D\\uDE00\"", "\"\xF0\x9F\x98\x80\"", 0},
    {"y_last_code_point", "\"\\uDBFF\\uDFFF\"", "\"\xF4\x8F\xBF\xBF\"", 0},
    {"y_noncharacter_ffff", "\"\\uFFFF\"", "\"\xEF\xBF\xBF\"", 0},
    {"y_escape_u_upper_hex", "\"\\u00E9\"", "\"\xC3\xA9\"", 0},
    {"y_escaped_nul", "\"\\u0000\"", "\"\\u0000\"", 0},
    {"y_empty_key", "{\"\":0}", "{\"\":0}", 0},
    {"y_member_order_kept", "{\"b\":1,\"a\":2}", "{\"b\":1,\"a\":2}", 0},
    {"y_escaped_key", "{\"\\u0061\":1,\"b\":2}", "{\"a\":1,\"b\":2}", 0},
    {"y_int64_edges", "[-9223372036854775808,9223372036854775807]",
     "[-9223372036854775808,9223372036854775807]", 0},
    {"y_big_integer_literal_kept", "123456789012345678901234567890",
     "123456789012345678901234567890", 0},
    {"y_small_fraction_literal_kept", "0.0000001", "0.0000001", 0},
    {"y_double_max", "[1.7976931348623157e308]", "[1.7976931348623157e308]", 0},
    {"y_underflow_to_zero", "1e-400", "1e-400", 0},
    {"y_raw_del_byte", "\"\x7F\"", "\"\x7F\"", 0},
    {"y_chinese_document", "{\"\xE8\xB7\x9F\xE8\xBF\x9B\":[\"\xE5\xBE\x85\"]}",
     "{\"\xE8\xB7\x9F\xE8\xBF\x9B\":[\"\xE5\xBE\x85\"]}", 0},
    {"y_space_inside_containers", "{ \"a\" : [ 1 , 2 ] }", "{\"a\":[1,2]}", 0},
};

static void accepts_every_rfc8259_valid_case(void) {
  for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++) {
    const yes_case *c = &yes[k];
    char *out = NULL;
    pc_err e;
    int rc = parse_write(c->in, c->len ? c->len : strlen(c->in), NULL, &out, &e);
    if (rc != POND_OK) {
      fprintf(stderr, "%s: rejected: %s\n", c->name, e.msg);
      CHECK_EQ(rc, POND_OK);
      continue;
    }
    if (!out || strcmp(out, c->out) != 0) fprintf(stderr, "%s: wrote %s\n", c->name, out ? out : "(null)");
    CHECK_STR(out, c->out);
    free(out);
  }
}

/* ---- reject table (n_) ----------------------------------------------------- */

typedef struct no_case {
  const char *name, *in;
  size_t len; /* 0: strlen(in) */
  int rc;
  unsigned line, col;
  const char *msg; /* a substring of the message after "json:L:C: " */
} no_case;

#define P POND_EPARSE
static const no_case no[] = {
    {"n_empty", "", 0, P, 1, 1, "unexpected end of input"},
    {"n_only_ws", "  \n ", 0, P, 2, 2, "unexpected end of input"},
    {"n_open_array", "[", 0, P, 1, 2, "unexpected end of input (the '[' at 1:1 is not closed)"},
    {"n_open_array_newline", "[1,2\n", 0, P, 2, 1, "the '[' at 1:1 is not closed"},
    {"n_open_object_after_colon", "{\"a\":", 0, P, 1, 6, "unexpected end of input"},
    {"n_open_object_after_key", "{\"a\"", 0, P, 1, 5, "unexpected end of input"},
    {"n_open_object_after_comma", "{\"a\":1,", 0, P, 1, 8, "the '{' at 1:1 is not closed"},
    {"n_array_trailing_comma", "[1,]", 0, P, 1, 3, "trailing comma before ']'"},
    {"n_array_trailing_comma_lines", "[1,\n2,\n]", 0, P, 2, 2, "trailing comma before ']'"},
    {"n_array_leading_comma", "[,1]", 0, P, 1, 2, "expected a value, found ','"},
    {"n_array_double_comma", "{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}", 0, P, 3, 14,
     "expected a value, found ','"},
    {"n_object_trailing_comma", "{\"a\":1,}", 0, P, 1, 7, "trailing comma before '}'"},
    {"n_object_comma_only", "{,}", 0, P, 1, 2, "expected a string key or '}'"},
    {"n_object_missing_colon", "{\"a\" 1}", 0, P, 1, 6, "expected ':' after object key"},
    {"n_object_missing_comma", "{\"a\":1 \"b\":2}", 0, P, 1, 8,
     "expected ',' or '}' after object member"},
    {"n_array_missing_comma", "[1 2]", 0, P, 1, 4, "expected ',' or ']' after array element"},
    {"n_object_unquoted_key", "{a:1}", 0, P, 1, 2, "expected a string key or '}'"},
    {"n_object_single_quoted_key", "{'a':1}", 0, P, 1, 2, "expected a string key or '}', found '''"},
    {"n_object_number_key_after_comma", "{\"a\":1,2:3}", 0, P, 1, 8, "expected a string key, found '2'"},
    {"n_object_closed_by_bracket", "{\"a\":1]", 0, P, 1, 7, "expected ',' or '}' after object member"},
    {"n_array_closed_by_brace", "[1}", 0, P, 1, 3, "expected ',' or ']' after array element"},
    {"n_single_quoted_string", "['a']", 0, P, 1, 2, "expected a value, found '''"},
    {"n_leading_zero", "[01]", 0, P, 1, 2, "leading zeros are not allowed"},
    {"n_negative_leading_zero", "-01", 0, P, 1, 2, "leading zeros are not allowed"},
    {"n_plus_sign", "[+1]", 0, P, 1, 2, "a number must start with a digit or '-'"},
    {"n_leading_dot", "[.5]", 0, P, 1, 2, "a number must start with a digit or '-'"},
    {"n_trailing_dot", "[1.]", 0, P, 1, 4, "expected a digit after '.', found ']'"},
    {"n_dot_exponent", "[1.e5]", 0, P, 1, 4, "expected a digit after '.'"},
    {"n_empty_exponent", "[1e]", 0, P, 1, 4, "expected a digit in the exponent"},
    {"n_exponent_sign_only", "[1e+]", 0, P, 1, 5, "expected a digit in the exponent"},
    {"n_minus_alone", "[-]", 0, P, 1, 3, "expected a digit after '-'"},
    {"n_minus_space", "[- 1]", 0, P, 1, 3, "expected a digit after '-'"},
    {"n_minus_at_end", "-", 0, P, 1, 2, "unexpected end of input (expected a digit after '-')"},
    {"n_hex_number", "[0x10]", 0, P, 1, 3, "expected ',' or ']' after array element, found 'x'"},
    {"n_hex_top_level", "0x10", 0, P, 1, 2, "trailing characters after the document"},
    {"n_nan", "[NaN]", 0, P, 1, 2, "invalid literal 'NaN'"},
    {"n_infinity", "[Infinity]", 0, P, 1, 2, "invalid literal 'Infinity'"},
    {"n_minus_infinity", "[-Infinity]", 0, P, 1, 3, "expected a digit after '-'"},
    {"n_capital_true", "[True]", 0, P, 1, 2, "invalid literal 'True' (expected true, false or null)"},
    {"n_truncated_true", "[tru]", 0, P, 1, 2, "invalid literal 'tru'"},
    {"n_long_null", "[nulll]", 0, P, 1, 2, "invalid literal 'nulll'"},
    {"n_truncated_null_top", "nul", 0, P, 1, 1, "invalid literal 'nul'"},
    {"n_overflow", "1e400", 0, P, 1, 1, "number out of range: 1e400"},
    {"n_negative_overflow", "[-1e400]", 0, P, 1, 2, "number out of range"},
    {"n_unterminated_string", "\"abc", 0, P, 1, 5, "unterminated string starting at 1:1"},
    {"n_escape_q", "\"\\q\"", 0, P, 1, 2, "invalid escape '\\q'"},
    {"n_escape_x", "[\"ab\\x41\"]", 0, P, 1, 5, "invalid escape '\\x'"},
    {"n_escape_control", "\"\\\x01\"", 0, P, 1, 2, "invalid escape: '\\' followed by U+0001"},
    {"n_escape_at_end", "\"\\", 0, P, 1, 3, "unexpected end of input"},
    {"n_escape_u_short", "\"\\u12\"", 0, P, 1, 2, "\\u needs four hex digits"},
    {"n_escape_u_bad_hex", "\"\\u12G4\"", 0, P, 1, 2, "invalid escape '\\u12G4'"},
    {"n_lone_high_surrogate", "\"\\ud800\"", 0, P, 1, 2, "lone surrogate \\ud800"},
    {"n_lone_low_surrogate", "\"x\\uDC00\"", 0, P, 1, 3, "lone surrogate \\uDC00"},
    {"n_high_then_ascii_escape", "\"\\ud800\\u0041\"", 0, P, 1, 2, "lone surrogate \\ud800"},
    {"n_high_then_high", "\"\\ud800\\ud800\"", 0, P, 1, 2, "lone surrogate \\ud800"},
    {"n_high_then_raw_text", "\"\\ud83dxx\"", 0, P, 1, 2, "lone surrogate \\ud83d"},
    {"n_raw_newline_in_string", "[\n\"abc\ndef\"]", 0, P, 2, 5, "control character U+000A in string"},
    {"n_raw_tab_in_string", "\"a\tb\"", 0, P, 1, 3, "control character U+0009 in string"},
    {"n_raw_nul_in_string", "\"a\0b\"", 5, P, 1, 3, "control character U+0000 in string"},
    {"n_invalid_utf8_byte", "\"\xFF\"", 0, P, 1, 2, "invalid UTF-8"},
    {"n_overlong_utf8", "[\"a\xC0\x80\"]", 0, P, 1, 4, "invalid UTF-8"},
    {"n_surrogate_utf8", "\"\xED\xA0\x80\"", 0, P, 1, 2, "invalid UTF-8"},
    {"n_truncated_utf8", "\"\xE4\xB8\"", 0, P, 1, 2, "invalid UTF-8"},
    {"n_above_10ffff_utf8", "\"\xF4\x90\x80\x80\"", 0, P, 1, 2, "invalid UTF-8"},
    {"n_invalid_utf8_outside_string", "[1,\xFF]", 0, P, 1, 4, "invalid UTF-8"},
    {"n_trailing_garbage", "[1] x", 0, P, 1, 5, "trailing characters after the document"},
    {"n_two_values", "1 2", 0, P, 1, 3, "trailing characters after the document"},
    {"n_two_objects", "{\"a\":1}{}", 0, P, 1, 8, "trailing characters after the document"},
    {"n_extra_close", "[1,2]]", 0, P, 1, 6, "trailing characters after the document"},
    {"n_duplicate_key", "{\"a\":1,\"a\":2}", 0, P, 1, 8, "duplicate key 'a'"},
    {"n_duplicate_key_escaped", "{\"a\":1,\"\\u0061\":2}", 0, P, 1, 8, "duplicate key 'a'"},
    {"n_duplicate_key_nested", "{\"x\":{\"k\":1},\n \"y\":{\"k\":1,\"k\":2}}", 0, P, 2, 13,
     "duplicate key 'k'"},
    {"n_bom", "\xEF\xBB\xBF{}", 0, P, 1, 1, "byte order mark is not allowed"},
    {"n_line_comment", "// c\n1", 0, P, 1, 1, "expected a value, found '/'"},
    {"n_block_comment", "[1/* c */]", 0, P, 1, 3, "expected ',' or ']' after array element, found '/'"},
    {"n_nul_byte_top", "\0", 1, P, 1, 1, "expected a value, found U+0000"},
    {"n_tab_counts_one_column", "\t[1,,]", 0, P, 1, 5, "expected a value, found ','"},
    {"n_crlf_lines", "[1,\r\n,]", 0, P, 2, 1, "expected a value, found ','"},
    {"n_non_ascii_outside_string", "[\xC3\xA9]", 0, P, 1, 2, "expected a value, found '\xC3\xA9' (U+00E9)"},
    {"n_unescaped_quote_leaves_garbage", "[\"a\"b\"]", 0, P, 1, 5, "expected ',' or ']' after array element"},
};
#undef P

/* The line and column of offset, computed independently of the parser. */
static void expected_pos(const char *s, size_t off, unsigned *line, unsigned *col) {
  unsigned l = 1;
  size_t start = 0;
  for (size_t i = 0; i < off; i++)
    if (s[i] == '\n') l++, start = i + 1;
  *line = l;
  *col = (unsigned)(off - start + 1);
}

static void rejects_every_invalid_case_at_its_exact_position(void) {
  for (size_t k = 0; k < sizeof no / sizeof no[0]; k++) {
    const no_case *c = &no[k];
    size_t len = c->len ? c->len : strlen(c->in);
    char *out = NULL;
    pc_err e;
    int rc = parse_write(c->in, len, NULL, &out, &e);
    free(out);
    char want[64];
    snprintf(want, sizeof want, "json:%u:%u: ", c->line, c->col);
    int ok = rc == c->rc && strncmp(e.msg, want, strlen(want)) == 0 && strstr(e.msg, c->msg);
    unsigned l, col;
    if (ok && e.offset >= 0 && (size_t)e.offset <= len) {
      expected_pos(c->in, (size_t)e.offset, &l, &col);
      ok = l == c->line && col == c->col;
    } else {
      ok = 0;
    }
    if (!ok)
      fprintf(stderr, "%s: rc %d, offset %ld, msg \"%s\"; want %s... %s\n", c->name, rc, e.offset,
              e.msg, want, c->msg);
    CHECK(ok);
  }
  printf("%zu accept and %zu reject cases\n", sizeof yes / sizeof yes[0], sizeof no / sizeof no[0]);
}

/* ---- limits ------------------------------------------------------------------ */

static char *nest(const char *open, const char *close, int depth, const char *inner) {
  size_t lo = strlen(open), lc = strlen(close), li = strlen(inner);
  char *s = malloc((size_t)depth * (lo + lc) + li + 1), *o = s;
  for (int i = 0; i < depth; i++) memcpy(o, open, lo), o += lo;
  memcpy(o, inner, li), o += li;
  for (int i = 0; i < depth; i++) memcpy(o, close, lc), o += lc;
  *o = 0;
  return s;
}

static void depth_64_is_accepted_and_65_is_a_limit_error(void) {
  pc_err e;
  char *out;
  char *a64 = nest("[", "]", 64, "1"), *a65 = nest("[", "]", 65, "1");
  CHECK_EQ(parse_write(a64, strlen(a64), NULL, &out, &e), POND_OK);
  free(out);
  CHECK_EQ(parse_write(a65, strlen(a65), NULL, &out, &e), POND_ELIMIT);
  CHECK_STR(e.msg, "json:1:65: nesting deeper than 64 levels");
  CHECK_EQ(e.offset, 64);
  /* Objects count alike. */
  char *o64 = nest("{\"k\":", "}", 64, "null"), *o65 = nest("{\"k\":", "}", 65, "null");
  CHECK_EQ(parse_write(o64, strlen(o64), NULL, &out, &e), POND_OK);
  CHECK_STR(out, o64);
  free(out);
  CHECK_EQ(parse_write(o65, strlen(o65), NULL, &out, &e), POND_ELIMIT);
  CHECK_HAS(e.msg, "nesting deeper than 64 levels");
  /* A custom limit. */
  pj_limits lim = {0, 3};
  CHECK_EQ(parse_write("[[[1]]]", 7, &lim, &out, &e), POND_OK);
  free(out);
  CHECK_EQ(parse_write("[[[[1]]]]", 9, &lim, &out, &e), POND_ELIMIT);
  CHECK_STR(e.msg, "json:1:4: nesting deeper than 3 levels");
  /* A limit error early wins over a syntax error later. */
  CHECK_EQ(parse_write("[[[[1]]]]]]]]", 13, &lim, &out, &e), POND_ELIMIT);
  free(a64), free(a65), free(o64), free(o65);
}

static void deep_nesting_under_a_high_limit_uses_no_recursion(void) {
  /* 200,000 levels: a recursive parser or writer would overflow the stack
   * (notably under ASan); the iterative ones are fine. */
  int depth = 200000;
  char *s = nest("[", "]", depth, "");
  pj_limits lim = {0, (unsigned)depth};
  pc_err e;
  char *out = NULL;
  CHECK_EQ(parse_write(s, strlen(s), &lim, &out, &e), POND_OK);
  CHECK_STR(out, s);
  free(out);
  lim.max_depth = (unsigned)depth - 1;
  CHECK_EQ(parse_write(s, strlen(s), &lim, &out, &e), POND_ELIMIT);
  free(s);
}

static void max_len_is_enforced_exactly(void) {
  const char *doc = "{\n\"a\":[1,2,3]}";
  size_t len = strlen(doc);
  pc_err e;
  char *out;
  pj_limits lim = {len, 0};
  CHECK_EQ(parse_write(doc, len, &lim, &out, &e), POND_OK);
  free(out);
  lim.max_len = len - 1;
  CHECK_EQ(parse_write(doc, len, &lim, &out, &e), POND_ELIMIT);
  CHECK_STR(e.msg, "json:2:12: document longer than the limit of 13 bytes");
  CHECK_EQ(e.offset, (long)len - 1);
}

/* ---- values -------------------------------------------------------------------- */

static pj_doc *parse_ok(pc_mem *m, const char *s) {
  pj_doc *d = NULL;
  pc_err e;
  int rc = pj_parse(m, s, strlen(s), NULL, &d, &e);
  if (rc) fprintf(stderr, "parse_ok(%s): %s\n", s, e.msg);
  return d;
}

static void integers_at_the_int64_edges_are_exact(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pj_doc *d = parse_ok(&m,
                       "[9223372036854775807,-9223372036854775808,9223372036854775808,"
                       "-9223372036854775809,-0,0,1.0,1e2,12345678901234567890123,-5]");
  REQUIRE(d);
  const pj_value *a = pj_root(d);
  REQUIRE(a->type == PJ_ARRAY && a->u.arr.n == 10);
  const pj_value *v = a->u.arr.items;
  CHECK(v[0].u.num.is_int && v[0].u.num.i == INT64_MAX);
  CHECK(v[1].u.num.is_int && v[1].u.num.i == INT64_MIN);
  CHECK(v[1].u.num.d == -9223372036854775808.0);
  CHECK(!v[2].u.num.is_int && v[2].u.num.d == 9223372036854775808.0);
  CHECK(!v[3].u.num.is_int && v[3].u.num.d == -9223372036854775808.0);
  CHECK(v[4].u.num.is_int && v[4].u.num.i == 0 && v[4].u.num.d == 0 && signbit(v[4].u.num.d));
  CHECK(v[5].u.num.is_int && v[5].u.num.i == 0 && !signbit(v[5].u.num.d));
  CHECK(!v[6].u.num.is_int && v[6].u.num.d == 1.0); /* a fraction is not an integer literal */
  CHECK(!v[7].u.num.is_int && v[7].u.num.d == 100.0);
  CHECK(!v[8].u.num.is_int && v[8].u.num.d == 12345678901234567890123.0);
  CHECK(v[9].u.num.is_int && v[9].u.num.i == -5);
  CHECK_STR(v[2].u.num.raw, "9223372036854775808");
  CHECK_EQ(v[2].u.num.rawlen, 19);
  pj_free(d);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static double num(pc_mem *m, const char *s) {
  pj_doc *d = parse_ok(m, s);
  double v = d ? pj_root(d)->u.num.d : NAN;
  pj_free(d);
  return v;
}

static void doubles_are_correctly_rounded(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  CHECK(num(&m, "0.1") == 0.1);
  CHECK(num(&m, "1.7976931348623157e308") == DBL_MAX);
  CHECK(num(&m, "2.2250738585072014e-308") == DBL_MIN);
  CHECK(num(&m, "4.9406564584124654e-324") == 4.9406564584124654e-324);
  /* 2^-1075 is halfway between 0 and the smallest denormal: ties to even
   * (0); anything above rounds up. */
  CHECK(num(&m, "2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328125e-324") == 0.0);
  CHECK(num(&m, "2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328125000000000000000000000001e-324") == 4.9406564584124654e-324);
  CHECK(num(&m, "9007199254740993") == 9007199254740992.0); /* 2^53+1 ties to even */
  CHECK(num(&m, "9007199254740993.0") == 9007199254740992.0);
  CHECK(num(&m, "9007199254740995.0") == 9007199254740996.0);
  CHECK(num(&m, "123456789012345678901234567890e-30") == 0.12345678901234568);
  CHECK(num(&m, "0.000000000000000000000000000000000000001e39") == 1.0);
  CHECK(num(&m, "1e-99999999999999999999") == 0.0);
  CHECK(num(&m, "0e99999999999999999999") == 0.0);
  CHECK(num(&m, "-0.0") == 0.0 && signbit(num(&m, "-0.0")));
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void random_decimal_literals_match_strtod(void) {
  /* The tests run in the C locale, so strtod is a correct oracle here. */
  uint64_t s = th_seed(1234);
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  long bad = 0;
  char lit[64];
  for (int k = 0; k < 200000; k++) {
    uint64_t r = th_rand(&s);
    int kind = (int)(r % 4);
    if (kind == 0) {
      /* Bit patterns of random doubles, printed with 17 digits. */
      uint64_t bits = th_rand(&s);
      double d;
      memcpy(&d, &bits, 8);
      if (!isfinite(d)) continue;
      snprintf(lit, sizeof lit, "%.17g", d);
    } else if (kind == 1) {
      /* Draws sequenced one by one: argument order is unspecified, and the
       * seed must replay alike under every compiler. */
      uint64_t ip = th_rand(&s) % 100000000000000000ull, fp = th_rand(&s) % 1000000;
      int ex = (int)(th_rand(&s) % 640) - 340;
      snprintf(lit, sizeof lit, "%" PRIu64 ".%" PRIu64 "e%d", ip, fp, ex);
    } else if (kind == 2) {
      uint64_t w = th_rand(&s);
      w >>= th_rand(&s) % 64;
      int ex = (int)(th_rand(&s) % 50) - 25;
      snprintf(lit, sizeof lit, "%" PRIu64 "e%d", w, ex);
    } else {
      snprintf(lit, sizeof lit, "0.%018" PRIu64, (uint64_t)(th_rand(&s) % 1000000000000000000ull));
    }
    double want = strtod(lit, NULL);
    if (!isfinite(want)) continue;
    double got = num(&m, lit);
    if (memcmp(&got, &want, 8) != 0) {
      if (bad++ < 5) fprintf(stderr, "%s: got %.17g want %.17g\n", lit, got, want);
    }
  }
  CHECK_EQ(bad, 0);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void unicode_escapes_decode_to_utf8(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pj_doc *d = parse_ok(&m, "[\"\\u00e9\",\"\\ud83d\\ude00\",\"a\\u0000b\",\"\\u4e2d\\u6587\",\"\\u0080\\u07ff\\u0800\\uffff\"]");
  REQUIRE(d);
  const pj_value *v = pj_root(d)->u.arr.items;
  CHECK_EQ(v[0].u.str.len, 2);
  CHECK(memcmp(v[0].u.str.s, "\xC3\xA9", 3) == 0); /* includes the NUL */
  CHECK_EQ(v[1].u.str.len, 4);
  CHECK(memcmp(v[1].u.str.s, "\xF0\x9F\x98\x80", 5) == 0);
  CHECK_EQ(v[2].u.str.len, 3);
  CHECK(memcmp(v[2].u.str.s, "a\0b", 4) == 0);
  CHECK_STR(v[3].u.str.s, "\xE4\xB8\xAD\xE6\x96\x87");
  CHECK_STR(v[4].u.str.s, "\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF");
  for (int i = 0; i < 5; i++) CHECK(pc_utf8_valid(v[i].u.str.s, v[i].u.str.len, NULL));
  pj_free(d);
  /* Every code point escaped as \uXXXX (pairs above U+FFFF) decodes to its
   * UTF-8 encoding; sampled every 97 code points. */
  long bad = 0;
  for (uint32_t cp = 1; cp <= 0x10FFFF; cp += 97) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    char lit[32], enc[4];
    if (cp < 0x10000) {
      snprintf(lit, sizeof lit, "\"\\u%04X\"", (unsigned)cp);
    } else {
      uint32_t u = cp - 0x10000;
      snprintf(lit, sizeof lit, "\"\\u%04x\\u%04X\"", (unsigned)(0xD800 + (u >> 10)),
               (unsigned)(0xDC00 + (u & 0x3FF)));
    }
    size_t n = pc_utf8_encode(cp, enc);
    pj_doc *x = parse_ok(&m, lit);
    if (!x || pj_root(x)->u.str.len != n || memcmp(pj_root(x)->u.str.s, enc, n) != 0) bad++;
    pj_free(x);
  }
  CHECK_EQ(bad, 0);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void values_carry_their_line_column_and_offset(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  const char *s = "{\n  \"a\": [10, \"x\"],\n\t\"b\": {\"c\": null}\n}";
  pj_doc *d = parse_ok(&m, s);
  REQUIRE(d);
  const pj_value *r = pj_root(d);
  CHECK(r->line == 1 && r->col == 1 && r->offset == 0);
  const pj_value *a = pj_get(r, "a");
  REQUIRE(a && a->type == PJ_ARRAY);
  CHECK(a->line == 2 && a->col == 8 && a->offset == 9);
  CHECK(a->u.arr.items[0].line == 2 && a->u.arr.items[0].col == 9);
  CHECK(a->u.arr.items[1].line == 2 && a->u.arr.items[1].col == 13);
  const pj_value *c = pj_get(pj_get(r, "b"), "c");
  REQUIRE(c && c->type == PJ_NULL);
  CHECK(c->line == 3 && c->col == 13); /* a tab is one byte, one column */
  CHECK(s[c->offset] == 'n');
  pj_free(d);
}

static void get_finds_members_by_key(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pj_doc *d = parse_ok(&m, "{\"name\":\"vip\",\"\":1,\"a\\u0000b\":2,\"n\":[]}");
  REQUIRE(d);
  const pj_value *r = pj_root(d);
  CHECK_STR(pj_get(r, "name")->u.str.s, "vip");
  CHECK(pj_get(r, "")->type == PJ_NUMBER);
  CHECK(pj_get(r, "nam") == NULL);
  CHECK(pj_get(r, "a") == NULL);
  CHECK(pj_get_n(r, "a\0b", 3)->u.num.i == 2);
  CHECK(pj_get(pj_get(r, "n"), "x") == NULL); /* not an object */
  CHECK(pj_get(NULL, "x") == NULL);
  CHECK_EQ(r->u.obj.n, 4);
  CHECK_STR(r->u.obj.items[3].key, "n"); /* document order */
  pj_free(d);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void duplicate_keys_are_found_in_large_objects(void) {
  /* Past the linear-scan size the keys go through a hash set: a duplicate
   * far from its twin is still found, and distinct keys all pass. */
  size_t cap = 1 << 20;
  char *s = malloc(cap);
  for (int dupe_at = -1; dupe_at < 3000; dupe_at += 1000) {
    size_t o = 0;
    s[o++] = '{';
    for (int i = 0; i < 3000; i++) {
      int k = (i == dupe_at && i > 0) ? 7 : i;
      o += (size_t)snprintf(s + o, cap - o, "%s\"key%d\":%d", i ? "," : "", k, i);
    }
    s[o++] = '}';
    char *out = NULL;
    pc_err e;
    int rc = parse_write(s, o, NULL, &out, &e);
    if (dupe_at <= 0) {
      CHECK_EQ(rc, POND_OK);
    } else {
      CHECK_EQ(rc, POND_EPARSE);
      CHECK_HAS(e.msg, "duplicate key 'key7'");
      CHECK(e.offset > 0 && s[e.offset] == '"' && strncmp(s + e.offset, "\"key7\"", 6) == 0 &&
            e.offset > 100);
    }
    free(out);
  }
  free(s);
}

static void failure_leaves_out_untouched(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pj_doc *sentinel = (pj_doc *)&m, *d = sentinel;
  pc_err e;
  CHECK_EQ(pj_parse(&m, "[1,", 3, NULL, &d, &e), POND_EPARSE);
  CHECK(d == sentinel);
  CHECK_EQ(pj_parse(&m, NULL, 0, NULL, &d, NULL), POND_EPARSE);
  CHECK(d == sentinel);
  CHECK_EQ(pj_parse(&m, NULL, 5, NULL, &d, &e), POND_EINVAL);
  CHECK(d == sentinel);
  CHECK_EQ(atomic_load(&m.used), 0);
  pj_free(NULL);
}

/* ---- allocation failures ---------------------------------------------------------- */

static const char definitions[] =
    "{\n"
    "  \"attributes\": [\n"
    "    {\"name\": \"spend\",  \"type\": \"int\"},\n"
    "    {\"name\": \"region\", \"type\": \"string\"},\n"
    "    {\"name\": \"vip\",    \"type\": \"bool\"}\n"
    "  ],\n"
    "  \"counters\": [\"order.paid\", \"message\", \"link.opened\"],\n"
    "  \"tag_groups\": [\n"
    "    {\"name\": \"\xE8\xB7\x9F\xE8\xBF\x9B\xE7\x8A\xB6\xE6\x80\x81\", \"exclusive\": true,"
    " \"tags\": [\"\\u5f85\\u8ddf\\u8fdb\", \"\xE8\xB7\x9F\xE8\xBF\x9B\xE4\xB8\xAD\"]},\n"
    "    {\"name\": \"\xE6\xB4\xBB\xE5\x8A\xA8\", \"ttl\": \"30d\"}\n"
    "  ],\n"
    "  \"machines\": [{\"name\": \"lifecycle\", \"initial\": \"new\",\n"
    "    \"states\": [\"new\", \"intent\", \"paying\", \"repeat\", \"silent\", \"churned\"],\n"
    "    \"transitions\": [\n"
    "      {\"from\": [\"new\", \"intent\"], \"to\": \"paying\", \"on\": \"order.paid\"},\n"
    "      {\"from\": \"paying\", \"to\": \"repeat\", \"on\": \"order.paid\", \"if\": \"count('order.paid') >= 2\"},\n"
    "      {\"from\": \"silent\", \"to\": \"churned\", \"after\": \"60d\"}\n"
    "    ]}],\n"
    "  \"rules\": [{\"name\": \"nurture\", \"on\": \"customer.added\",\n"
    "    \"steps\": [{\"after\": \"0s\", \"do\": \"send\", \"template\": \"welcome\"},\n"
    "              {\"after\": \"7d\", \"do\": \"tag.add\", \"params\": {\"tag\": \"a/b\"}}],\n"
    "    \"cap\": {\"max\": 2, \"per\": \"1d\"}, \"weight\": -1.25e-3}],\n"
    "  \"limits\": {\"send\": {\"max\": 3, \"per\": \"7d\"}}\n"
    "}\n";

static void every_allocation_failure_is_enomem_without_leak(void) {
  /* Inputs that reach every allocation site: the first arena block, later
   * blocks, the scratch and frame stacks, the key set of a large object. */
  size_t cap = 1 << 16;
  char *big = malloc(cap);
  size_t o = 0;
  big[o++] = '[';
  for (int i = 0; i < 300; i++)
    o += (size_t)snprintf(big + o, cap - o, "%s[[{\"k%d\":\"v\\t%d\",\"n\":%d.5}]]", i ? "," : "", i, i, i);
  o += (size_t)snprintf(big + o, cap - o, ",{");
  for (int i = 0; i < 100; i++) o += (size_t)snprintf(big + o, cap - o, "%s\"key%d\":%d", i ? "," : "", i, i);
  o += (size_t)snprintf(big + o, cap - o, "}]");
  const char *docs[] = {definitions, big};
  size_t lens[] = {sizeof definitions - 1, o};
  for (int di = 0; di < 2; di++) {
    long k;
    for (k = 1;; k++) {
      counting c = {0, k};
      pc_mem m;
      pc_mem_init(&m, count_alloc, &c, 0);
      pj_doc *d = NULL;
      pc_err e;
      int rc = pj_parse(&m, docs[di], lens[di], NULL, &d, &e);
      if (c.allocs < k) {
        /* No k-th allocation happened: a full success. */
        REQUIRE(rc == POND_OK);
        pj_free(d);
        CHECK_EQ(atomic_load(&m.used), 0);
        break;
      }
      CHECK_EQ(rc, POND_ENOMEM);
      CHECK(d == NULL);
      CHECK_HAS(e.msg, "out of memory");
      CHECK_EQ(atomic_load(&m.used), 0);
    }
    printf("doc %d: %ld allocation sites failed in turn\n", di, k - 1);
    CHECK(k > 3);
  }
  free(big);
}

static void writer_allocation_failure_sets_failed_without_leak(void) {
  pc_mem m0;
  pc_mem_init(&m0, NULL, NULL, 0);
  pj_doc *d = parse_ok(&m0, definitions);
  REQUIRE(d);
  for (long k = 1;; k++) {
    counting c = {0, k};
    pc_mem m;
    pc_mem_init(&m, count_alloc, &c, 0);
    pj_buf b;
    pj_buf_init(&b, &m);
    pj_buf_value(&b, pj_root(d), 2);
    int failed = b.failed;
    pj_buf_free(&b);
    CHECK_EQ(atomic_load(&m.used), 0);
    if (c.allocs < k) {
      CHECK(!failed);
      break;
    }
    CHECK(failed);
  }
  pj_free(d);
}

/* ---- writer ------------------------------------------------------------------------ */

static void writer_escapes_controls_and_replaces_invalid_utf8(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pj_buf b;
  pj_buf_init(&b, &m);
  static const char raw[] = "a\"b\\c\x01\x1f\n\t/\x7F\xC3\xA9\xFF\xE4\xB8z";
  pj_buf_str(&b, raw, sizeof raw - 1);
  CHECK_STR(b.p, "\"a\\\"b\\\\c\\u0001\\u001f\\n\\t/\x7F\xC3\xA9\\ufffd\\ufffd\\ufffdz\"");
  b.len = 0;
  pj_buf_str(&b, "", 0);
  CHECK_STR(b.p, "\"\"");
  b.len = 0;
  pj_buf_str(&b, "x\0y", 3);
  CHECK_STR(b.p, "\"x\\u0000y\"");
  pj_buf_free(&b);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void writer_numbers_are_shortest_and_exact(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pj_buf b;
  pj_buf_init(&b, &m);
  static const struct {
    double d;
    const char *s;
  } f[] = {{0.1, "0.1"}, {1.0, "1"}, {-0.0, "-0"}, {1e300, "1e+300"}, {5e-324, "5e-324"},
           {DBL_MAX, "1.7976931348623157e+308"}, {0.30000000000000004, "0.30000000000000004"},
           {123456.789, "123456.789"}};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    b.len = 0;
    pj_buf_f64(&b, f[i].d);
    CHECK_STR(b.p, f[i].s);
  }
  b.len = 0;
  pj_buf_f64(&b, NAN);
  pj_buf_put(&b, ",", 1);
  pj_buf_f64(&b, -INFINITY);
  CHECK_STR(b.p, "null,null");
  b.len = 0;
  pj_buf_i64(&b, INT64_MIN);
  pj_buf_put(&b, ",", 1);
  pj_buf_i64(&b, INT64_MAX);
  CHECK_STR(b.p, "-9223372036854775808,9223372036854775807");
  /* Random doubles: the text reads back bit-exactly. */
  uint64_t s = th_seed(8);
  long bad = 0;
  for (int k = 0; k < 20000; k++) {
    uint64_t bits = th_rand(&s);
    double d;
    memcpy(&d, &bits, 8);
    if (!isfinite(d)) continue;
    b.len = 0;
    pj_buf_f64(&b, d);
    double back = strtod(b.p, NULL);
    bad += memcmp(&back, &d, 8) != 0;
  }
  CHECK_EQ(bad, 0);
  pj_buf_free(&b);
}

static void writer_pretty_prints_with_indent(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  pj_doc *d = parse_ok(&m, "{\"a\":[1,{}],\"b\":[],\"c\":{\"d\":null}}");
  REQUIRE(d);
  pj_buf b;
  pj_buf_init(&b, &m);
  pj_buf_value(&b, pj_root(d), 2);
  CHECK_STR(b.p,
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": [],\n  \"c\": {\n    \"d\": null\n  }\n}");
  pj_buf_free(&b);
  pj_free(d);
  CHECK_EQ(atomic_load(&m.used), 0);
}

/* ---- random round trips ------------------------------------------------------------- */

typedef struct gen {
  char *p;
  size_t len, cap;
  uint64_t s;
} gen;

static void g_put(gen *g, const char *s, size_t n) {
  if (g->len + n + 1 > g->cap) {
    g->cap = (g->len + n + 1) * 2;
    g->p = realloc(g->p, g->cap);
  }
  memcpy(g->p + g->len, s, n);
  g->len += n;
  g->p[g->len] = 0;
}
static void g_puts(gen *g, const char *s) { g_put(g, s, strlen(s)); }
static unsigned g_rand(gen *g, unsigned n) { return (unsigned)(th_rand(&g->s) % n); }

static void g_ws(gen *g) {
  static const char *ws[] = {"", "", "", " ", "\n", "\t", "\r\n  "};
  g_puts(g, ws[g_rand(g, 7)]);
}

static void g_string(gen *g, const char *prefix) {
  g_puts(g, "\"");
  if (prefix) g_puts(g, prefix);
  int n = (int)g_rand(g, 12);
  for (int i = 0; i < n; i++) {
    char t[16];
    switch (g_rand(g, 8)) {
      case 0: g_puts(g, "\\\""); break;
      case 1: g_puts(g, (const char *[]){"\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"}[g_rand(g, 7)]); break;
      case 2: {
        uint32_t cp = g_rand(g, 0x10000);
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0x41;
        snprintf(t, sizeof t, "\\u%04x", (unsigned)cp);
        g_puts(g, t);
        break;
      }
      case 3: {
        uint32_t u = g_rand(g, 0x100000);
        snprintf(t, sizeof t, "\\u%04X\\u%04x", (unsigned)(0xD800 + (u >> 10)), (unsigned)(0xDC00 + (u & 0x3FF)));
        g_puts(g, t);
        break;
      }
      case 4: {
        uint32_t cp = 0x80 + g_rand(g, 0x10FF80);
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0x4E2D;
        size_t k = pc_utf8_encode(cp, t);
        g_put(g, t, k);
        break;
      }
      default: {
        char c = (char)(' ' + g_rand(g, 95));
        if (c == '"' || c == '\\') c = 'q';
        g_put(g, &c, 1);
      }
    }
  }
  g_puts(g, "\"");
}

static void g_number(gen *g) {
  char t[64];
  switch (g_rand(g, 6)) {
    case 0: snprintf(t, sizeof t, "%d", (int)g_rand(g, 2000) - 1000); break;
    case 1: snprintf(t, sizeof t, "%" PRId64, (int64_t)th_rand(&g->s)); break;
    case 2: snprintf(t, sizeof t, "%s", g_rand(g, 2) ? "-9223372036854775808" : "9223372036854775807"); break;
    case 3: {
      /* One draw per statement: argument order is unspecified. */
      int a = (int)g_rand(g, 100), b = (int)g_rand(g, 1000);
      const char *sign = g_rand(g, 2) ? "-" : "+";
      int ex = (int)g_rand(g, 300);
      snprintf(t, sizeof t, "%d.%03de%s%d", a, b, sign, ex);
      break;
    }
    case 4: {
      uint64_t bits = th_rand(&g->s);
      double d;
      memcpy(&d, &bits, 8);
      if (!isfinite(d)) d = 1.5;
      snprintf(t, sizeof t, "%.17g", d);
      break;
    }
    default: {
      int a = (int)g_rand(g, 1000), ex = (int)g_rand(g, 20);
      snprintf(t, sizeof t, "-0.%dE%d", a, ex);
    }
  }
  g_puts(g, t);
}

/* A random document; recursion in the generator is bounded by maxd. */
static void g_value(gen *g, int maxd) {
  unsigned r = g_rand(g, maxd > 0 ? 10 : 6);
  g_ws(g);
  switch (r) {
    case 0: g_puts(g, "null"); break;
    case 1: g_puts(g, g_rand(g, 2) ? "true" : "false"); break;
    case 2: case 3: g_number(g); break;
    case 4: case 5: g_string(g, NULL); break;
    case 6: case 7: {
      g_puts(g, "[");
      int n = (int)g_rand(g, 6);
      for (int i = 0; i < n; i++) {
        if (i) g_puts(g, ",");
        g_value(g, maxd - 1);
      }
      g_ws(g);
      g_puts(g, "]");
      break;
    }
    default: {
      g_puts(g, "{");
      int n = (int)g_rand(g, 6);
      for (int i = 0; i < n; i++) {
        char pre[8];
        snprintf(pre, sizeof pre, "%d:", i); /* keys unique by prefix */
        if (i) g_puts(g, ",");
        g_ws(g);
        g_string(g, pre);
        g_ws(g);
        g_puts(g, ":");
        g_value(g, maxd - 1);
      }
      g_ws(g);
      g_puts(g, "}");
    }
  }
  g_ws(g);
}

static int tree_equal(const pj_value *a, const pj_value *b) {
  if (a->type != b->type) return 0;
  switch (a->type) {
    case PJ_STRING:
      return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case PJ_NUMBER:
      return a->u.num.rawlen == b->u.num.rawlen && memcmp(a->u.num.raw, b->u.num.raw, a->u.num.rawlen) == 0 &&
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

static void random_documents_round_trip_through_the_writer(void) {
  uint64_t seed = th_seed(42);
  long n = th_env_long("JSON_ROUNDS", 3000), bad = 0;
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  gen g = {NULL, 0, 0, seed};
  for (long k = 0; k < n; k++) {
    g.len = 0;
    g_value(&g, 6);
    pj_doc *a = NULL, *b = NULL, *c = NULL;
    pc_err e;
    if (pj_parse(&m, g.p, g.len, NULL, &a, &e) != POND_OK) {
      if (bad++ < 3) fprintf(stderr, "generated doc rejected: %s\n%s\n", e.msg, g.p);
      continue;
    }
    pj_buf w1, w2, w3;
    pj_buf_init(&w1, &m), pj_buf_init(&w2, &m), pj_buf_init(&w3, &m);
    pj_buf_value(&w1, pj_root(a), 0);
    pj_buf_value(&w2, pj_root(a), (int)(k % 4));
    int ok = pj_parse(&m, w1.p, w1.len, NULL, &b, &e) == POND_OK &&
             pj_parse(&m, w2.p, w2.len, NULL, &c, &e) == POND_OK;
    ok = ok && tree_equal(pj_root(a), pj_root(b)) && tree_equal(pj_root(a), pj_root(c));
    if (ok) {
      pj_buf_value(&w3, pj_root(c), 0);
      ok = w3.len == w1.len && memcmp(w3.p, w1.p, w1.len) == 0; /* write is a fixed point */
    }
    if (!ok && bad++ < 3) fprintf(stderr, "round trip differs for:\n%s\n", g.p);
    pj_buf_free(&w1), pj_buf_free(&w2), pj_buf_free(&w3);
    pj_free(a), pj_free(b), pj_free(c);
  }
  free(g.p);
  CHECK_EQ(bad, 0);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void random_mutations_fail_cleanly_with_consistent_positions(void) {
  /* One byte of a valid document replaced, inserted or deleted: either it
   * still parses, or it fails with EPARSE/ELIMIT, an offset inside the text
   * and a line:col that matches the offset; never a leak. */
  uint64_t seed = th_seed(4242);
  long n = th_env_long("JSON_ROUNDS", 3000), bad = 0, rejected = 0;
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  gen g = {NULL, 0, 0, seed};
  static const char bytes[] = "{}[],:\"\\0123456789.eE+-tfnu \n\x01\x80\xC3\xED\xF4\xFF";
  for (long k = 0; k < n; k++) {
    g.len = 0;
    g_value(&g, 4);
    size_t at = (size_t)g_rand(&g, (unsigned)g.len + 1);
    char b = bytes[g_rand(&g, sizeof bytes - 1)];
    unsigned op = g_rand(&g, 3);
    if (op == 0 && at < g.len) {
      g.p[at] = b;
    } else if (op == 1) {
      g_put(&g, " ", 1);
      memmove(g.p + at + 1, g.p + at, g.len - 1 - at);
      g.p[at] = b;
    } else if (at < g.len) {
      memmove(g.p + at, g.p + at + 1, g.len - at - 1);
      g.len--;
    }
    pj_doc *d = NULL;
    pc_err e;
    pj_limits lim = {0, 5};
    int rc = pj_parse(&m, g.p, g.len, &lim, &d, &e);
    if (rc == POND_OK) {
      pj_free(d);
      continue;
    }
    rejected++;
    unsigned l, c, ml = 0, mc = 0;
    int ok = (rc == POND_EPARSE || rc == POND_ELIMIT) && e.offset >= 0 && (size_t)e.offset <= g.len &&
             sscanf(e.msg, "json:%u:%u:", &ml, &mc) == 2 && pc_utf8_valid(e.msg, strlen(e.msg), NULL);
    if (ok) {
      expected_pos(g.p, (size_t)e.offset, &l, &c);
      ok = l == ml && c == mc;
    }
    if (!ok && bad++ < 3) fprintf(stderr, "bad error %d \"%s\" (offset %ld) for:\n%.*s\n", rc, e.msg, e.offset, (int)g.len, g.p);
  }
  free(g.p);
  printf("%ld of %ld mutated documents rejected\n", rejected, n);
  CHECK(rejected > n / 4);
  CHECK_EQ(bad, 0);
  CHECK_EQ(atomic_load(&m.used), 0);
}

int main(void) {
  TH_RUN(accepts_every_rfc8259_valid_case);
  TH_RUN(rejects_every_invalid_case_at_its_exact_position);
  TH_RUN(depth_64_is_accepted_and_65_is_a_limit_error);
  TH_RUN(deep_nesting_under_a_high_limit_uses_no_recursion);
  TH_RUN(max_len_is_enforced_exactly);
  TH_RUN(integers_at_the_int64_edges_are_exact);
  TH_RUN(doubles_are_correctly_rounded);
  TH_RUN(random_decimal_literals_match_strtod);
  TH_RUN(unicode_escapes_decode_to_utf8);
  TH_RUN(values_carry_their_line_column_and_offset);
  TH_RUN(get_finds_members_by_key);
  TH_RUN(duplicate_keys_are_found_in_large_objects);
  TH_RUN(failure_leaves_out_untouched);
  TH_RUN(every_allocation_failure_is_enomem_without_leak);
  TH_RUN(writer_allocation_failure_sets_failed_without_leak);
  TH_RUN(writer_escapes_controls_and_replaces_invalid_utf8);
  TH_RUN(writer_numbers_are_shortest_and_exact);
  TH_RUN(writer_pretty_prints_with_indent);
  TH_RUN(random_documents_round_trip_through_the_writer);
  TH_RUN(random_mutations_fail_cleanly_with_consistent_positions);
  return th_done();
}
