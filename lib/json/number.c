/*
 * number.c — JSON number literals.
 *
 * Grammar (RFC 8259): -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
 *
 * Each number keeps its literal (copied into the arena), a double, and, when
 * the literal is an integer (no fraction, no exponent) within int64, that
 * exact value. A literal whose magnitude overflows a double is rejected: JSON
 * has no infinity, and a silent inf would surprise every consumer.
 *
 * Decimal to double never goes through the locale: strtod's radix character
 * follows LC_NUMERIC, which a host may have set to ','. The literal is
 * rewritten as integer digits and an exponent ("1.25e3" -> "125e1"), which
 * every locale parses alike. Clinger's fast path (at most 15 digits and
 * |exponent| <= 22: one exact product or quotient) handles typical numbers
 * without strtod. Significant digits beyond 780 are cut and replaced by a
 * sticky '1', which keeps the rounding exact: a halfway point between two
 * doubles never needs more than 767 significant digits.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/pjint.h"

#define MAX_DIGITS 780
#define EXP_CLAMP 100000

static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

double pj_number_to_double(const char *s, size_t n, int *inf) {
  char buf[MAX_DIGITS + 32];
  size_t i = 0, nd = 0;
  int neg = 0, sticky = 0;
  long long e10 = 0;
  *inf = 0;
  if (i < n && s[i] == '-') {
    neg = 1;
    i++;
  }
  buf[0] = '-';
  char *d = buf + neg;
  for (; i < n && is_digit((unsigned char)s[i]); i++) {
    if (nd == 0 && s[i] == '0') continue;
    if (nd < MAX_DIGITS) {
      d[nd++] = s[i];
    } else {
      e10++;
      sticky |= s[i] != '0';
    }
  }
  if (i < n && s[i] == '.') {
    for (i++; i < n && is_digit((unsigned char)s[i]); i++) {
      if (nd == 0 && s[i] == '0') {
        e10--;
      } else if (nd < MAX_DIGITS) {
        d[nd++] = s[i];
        e10--;
      } else {
        sticky |= s[i] != '0';
      }
    }
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    int eneg = 0;
    long long ex = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    for (; i < n && is_digit((unsigned char)s[i]); i++)
      if (ex < 1000000000) ex = ex * 10 + (s[i] - '0');
    e10 += eneg ? -ex : ex;
  }
  if (sticky) {
    d[nd++] = '1';
    e10--;
  }
  while (nd > 0 && d[nd - 1] == '0') {
    nd--;
    e10++;
  }
  if (nd == 0) return neg ? -0.0 : 0.0;

#if FLT_EVAL_METHOD == 0
  if (nd <= 15 && e10 >= -22 && e10 <= 22) {
    uint64_t w = 0;
    for (size_t k = 0; k < nd; k++) w = w * 10 + (uint64_t)(d[k] - '0');
    double v = (double)w; /* exact: w < 10^15 < 2^53 */
    v = e10 >= 0 ? v * pow10_exact[e10] : v / pow10_exact[-e10];
    return neg ? -v : v;
  }
#endif
  if (e10 > EXP_CLAMP) e10 = EXP_CLAMP;
  if (e10 < -EXP_CLAMP) e10 = -EXP_CLAMP;
  snprintf(d + nd, sizeof buf - (size_t)(d + nd - buf), "e%lld", e10);
  int saved = errno; /* strtod may set ERANGE; the host's errno is not ours */
  double v = strtod(buf, NULL);
  errno = saved;
  if (isinf(v)) *inf = 1;
  return v;
}

/* Fills v->u.num.i when the integer literal s[0..n) fits int64. */
static int to_int64(const char *s, size_t n, int64_t *out) {
  int neg = s[0] == '-';
  size_t i = (size_t)neg;
  if (n - i > 19) return 0;
  uint64_t mag = 0;
  for (; i < n; i++) mag = mag * 10 + (uint64_t)(s[i] - '0'); /* 19 digits fit u64 */
  if (neg) {
    if (mag > (uint64_t)INT64_MAX + 1) return 0;
    *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
  } else {
    if (mag > (uint64_t)INT64_MAX) return 0;
    *out = (int64_t)mag;
  }
  return 1;
}

static int digits_or_fail(pj_parser *p, size_t *i, const char *what) {
  if (*i >= p->n)
    return pj_fail(p, POND_EPARSE, *i, "unexpected end of input (%s)", what);
  if (!is_digit(p->s[*i])) {
    char d[48];
    return pj_fail(p, POND_EPARSE, *i, "%s, found %s", what, pj_describe_at(p, *i, d, sizeof d));
  }
  while (*i < p->n && is_digit(p->s[*i])) (*i)++;
  return POND_OK;
}

int pj_lex_number(pj_parser *p, pj_value *v) {
  const unsigned char *s = p->s;
  size_t n = p->n, start = p->pos, i = start;
  int integral = 1;
  if (s[i] == '-') i++;
  if (i < n && s[i] == '0') {
    i++;
    if (i < n && is_digit(s[i]))
      return pj_fail(p, POND_EPARSE, i - 1, "leading zeros are not allowed");
  } else {
    POND_TRY(digits_or_fail(p, &i, "expected a digit after '-'"));
  }
  if (i < n && s[i] == '.') {
    i++;
    integral = 0;
    POND_TRY(digits_or_fail(p, &i, "expected a digit after '.'"));
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    integral = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    POND_TRY(digits_or_fail(p, &i, "expected a digit in the exponent"));
  }
  size_t len = i - start;
  const char *lit = (const char *)s + start;
  v->u.num.is_int = integral && to_int64(lit, len, &v->u.num.i);
  if (v->u.num.is_int) {
    v->u.num.d = (double)v->u.num.i;
    if (lit[0] == '-' && v->u.num.i == 0) v->u.num.d = -0.0;
  } else {
    int inf;
    v->u.num.i = 0;
    v->u.num.d = pj_number_to_double(lit, len, &inf);
    if (inf) {
      char ex[64];
      pj_excerpt(ex, sizeof ex, lit, len, 32);
      return pj_fail(p, POND_EPARSE, start, "number out of range: %s", ex);
    }
  }
  char *raw = pj_arena_bytes(p->doc, len + 1);
  if (!raw) return pj_fail(p, POND_ENOMEM, start, "out of memory");
  memcpy(raw, lit, len);
  raw[len] = 0;
  v->u.num.raw = raw;
  v->u.num.rawlen = len;
  p->pos = i;
  return POND_OK;
}
