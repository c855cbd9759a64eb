/*
 * like.c — LIKE matching.
 *
 * The classic wildcard matcher with a single backtrack point: on a mismatch
 * after a '%', retry with the '%' absorbing one more character of s. With
 * only '%' and '_' as wildcards the last '%' seen is the only one worth
 * revisiting (any match found by moving an earlier '%' can be found by
 * moving the last), so this is exact, iterative and O(n·pn) at worst.
 */
#include "query/like.h"

#include <stdint.h>

/* Length of the UTF-8 character starting at s[i] (1 for a stray byte). */
static size_t char_len(const char *s, size_t n, size_t i) {
  unsigned char c = (unsigned char)s[i];
  size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  if (i + len > n) return 1;
  for (size_t k = 1; k < len; k++)
    if (((unsigned char)s[i + k] & 0xC0) != 0x80) return 1;
  return len;
}

int qy_like(const char *s, size_t n, const char *p, size_t pn) {
  size_t si = 0, pi = 0;
  size_t star_p = SIZE_MAX, star_s = 0;
  while (si < n) {
    if (pi < pn && p[pi] == '%') {
      star_p = ++pi;
      star_s = si;
      continue;
    }
    if (pi < pn && p[pi] == '_') {
      si += char_len(s, n, si);
      pi++;
      continue;
    }
    if (pi < pn) {
      size_t cl = char_len(p, pn, pi);
      size_t k = 0;
      while (k < cl && si + k < n && s[si + k] == p[pi + k]) k++;
      if (k == cl) {
        si += cl;
        pi += cl;
        continue;
      }
    }
    if (star_p == SIZE_MAX) return 0;
    /* let the last '%' absorb one more character and retry after it */
    star_s += char_len(s, n, star_s);
    si = star_s;
    pi = star_p;
  }
  while (pi < pn && p[pi] == '%') pi++;
  return pi == pn;
}
