/*
 * utf8.c — strict UTF-8 (RFC 3629, table 3-7 of Unicode): the well-formed
 * sequences are exactly
 *
 *   00..7F
 *   C2..DF 80..BF
 *   E0     A0..BF 80..BF        (no overlongs)
 *   E1..EC 80..BF 80..BF
 *   ED     80..9F 80..BF        (no surrogates D800..DFFF)
 *   EE..EF 80..BF 80..BF
 *   F0     90..BF 80..BF 80..BF (no overlongs)
 *   F1..F3 80..BF 80..BF 80..BF
 *   F4     80..8F 80..BF 80..BF (nothing above U+10FFFF)
 *
 * so every check is on the second byte's range (which depends on the lead)
 * plus plain continuation bytes. Validation skips ASCII eight bytes at a time.
 */
#include <string.h>

#include "core/utf8.h"

/* Decodes the sequence at s[i] (i < n); returns its length (1..4) and the
 * code point, or 0 when ill-formed. */
static size_t decode(const unsigned char *s, size_t n, size_t i, uint32_t *cp) {
  unsigned c = s[i];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  unsigned lo = 0x80, hi = 0xBF;
  uint32_t v;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    v = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    v = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (n - i < len) return 0;
  unsigned c1 = s[i + 1];
  if (c1 < lo || c1 > hi) return 0;
  v = (v << 6) | (c1 & 0x3F);
  for (size_t k = 2; k < len; k++) {
    unsigned ck = s[i + k];
    if ((ck & 0xC0) != 0x80) return 0;
    v = (v << 6) | (ck & 0x3F);
  }
  *cp = v;
  return len;
}

int pc_utf8_valid(const char *str, size_t n, size_t *bad) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (!(w & 0x8080808080808080ull)) {
        i += 8;
        continue;
      }
    }
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    uint32_t cp;
    size_t len = decode(s, n, i, &cp);
    if (!len) {
      if (bad) *bad = i;
      return 0;
    }
    i += len;
  }
  return 1;
}

int32_t pc_utf8_next(const char *str, size_t n, size_t *i) {
  uint32_t cp;
  if (*i >= n) return -1;
  size_t len = decode((const unsigned char *)str, n, *i, &cp);
  if (!len) {
    (*i)++;
    return -1;
  }
  *i += len;
  return (int32_t)cp;
}

size_t pc_utf8_encode(uint32_t cp, char *out) {
  unsigned char *o = (unsigned char *)out;
  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (unsigned char)(0xC0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    o[0] = (unsigned char)(0xE0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  if (cp <= 0x10FFFF) {
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
  }
  return 0;
}
