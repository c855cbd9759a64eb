/*
 * qtime.c — ISO-8601 timestamps to epoch seconds and back.
 *
 * The day count is the classic era-based algorithm (400-year eras of
 * 146097 days, March-based years so the leap day is the last day of the
 * year): exact for every proleptic Gregorian date, integer-only.
 */
#include "query/qtime.h"

#include <stdio.h>

int64_t qy_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                   /* [0, 399] */
  int64_t mp = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9;          /* March = 0 */
  int64_t doy = (153 * mp + 2) / 5 + d - 1;                      /* [0, 365] */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

static int64_t floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

void qy_civil_from_time(int64_t t, int64_t *y, unsigned *mo, unsigned *d,
                        unsigned *h, unsigned *mi, unsigned *s) {
  int64_t z = floordiv(t, 86400);
  int64_t sod = t - z * 86400;
  *h = (unsigned)(sod / 3600);
  *mi = (unsigned)(sod / 60 % 60);
  *s = (unsigned)(sod % 60);
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  *mo = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*mo <= 2);
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Reads exactly k digits at s[*i]. */
static int digits(const char *s, size_t n, size_t *i, int k, unsigned *out) {
  unsigned v = 0;
  for (int j = 0; j < k; j++) {
    if (*i >= n || s[*i] < '0' || s[*i] > '9') return 0;
    v = v * 10 + (unsigned)(s[*i] - '0');
    (*i)++;
  }
  *out = v;
  return 1;
}

#define FORMAT "expected YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]"

static int fail(char *why, size_t cap, const char *msg) {
  snprintf(why, cap, "%s", msg);
  return 0;
}

int qy_time_parse(const char *s, size_t n, int64_t *out, char *why, size_t cap) {
  size_t i = 0;
  unsigned y, mo, d, h = 0, mi = 0, sec = 0;
  if (!digits(s, n, &i, 4, &y) || i >= n || s[i++] != '-' || !digits(s, n, &i, 2, &mo) ||
      i >= n || s[i++] != '-' || !digits(s, n, &i, 2, &d))
    return fail(why, cap, FORMAT);
  if (mo < 1 || mo > 12) return fail(why, cap, "month out of range");
  if (d < 1 || d > days_in_month(y, mo)) return fail(why, cap, "day out of range for the month");
  int64_t offset = 0;
  if (i < n) {
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return fail(why, cap, FORMAT);
    i++;
    if (!digits(s, n, &i, 2, &h) || i >= n || s[i++] != ':' || !digits(s, n, &i, 2, &mi))
      return fail(why, cap, FORMAT);
    if (i < n && s[i] == ':') {
      i++;
      if (!digits(s, n, &i, 2, &sec)) return fail(why, cap, FORMAT);
    }
    if (h > 23) return fail(why, cap, "hour out of range");
    if (mi > 59) return fail(why, cap, "minute out of range");
    if (sec > 59) return fail(why, cap, "second out of range");
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
      i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
      int neg = s[i++] == '-';
      unsigned oh, om = 0;
      if (!digits(s, n, &i, 2, &oh)) return fail(why, cap, FORMAT);
      if (i < n && s[i] == ':') {
        i++;
        if (!digits(s, n, &i, 2, &om)) return fail(why, cap, FORMAT);
      } else if (i < n) {
        if (!digits(s, n, &i, 2, &om)) return fail(why, cap, FORMAT);
      }
      if (oh > 23 || om > 59) return fail(why, cap, "UTC offset out of range");
      offset = (int64_t)oh * 3600 + om * 60;
      if (neg) offset = -offset;
    }
    if (i != n) return fail(why, cap, FORMAT);
  }
  /* local time = UTC + offset */
  *out = qy_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + sec - offset;
  return 1;
}

size_t qy_time_format(int64_t t, char *buf, size_t cap) {
  int64_t y;
  unsigned mo, d, h, mi, s;
  qy_civil_from_time(t, &y, &mo, &d, &h, &mi, &s);
  int len;
  if (h == 0 && mi == 0 && s == 0)
    len = snprintf(buf, cap, "%04d-%02u-%02u", (int)y, mo, d);
  else
    len = snprintf(buf, cap, "%04d-%02u-%02u %02u:%02u:%02u", (int)y, mo, d, h, mi, s);
  return len < 0 ? 0 : (size_t)len < cap ? (size_t)len : cap - 1;
}

size_t qy_duration_format(int64_t d, char *buf, size_t cap) {
  static const struct {
    int64_t secs;
    char unit;
  } units[] = {{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  size_t k = 0;
  if (d != 0)
    while (d % units[k].secs != 0) k++;
  else
    k = 4;
  int len = snprintf(buf, cap, "%lld%c", (long long)(d / units[k].secs), units[k].unit);
  return len < 0 ? 0 : (size_t)len < cap ? (size_t)len : cap - 1;
}
