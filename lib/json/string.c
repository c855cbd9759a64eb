/*
 * string.c — JSON string literals.
 *
 * Two passes. The first validates everything (UTF-8, control characters,
 * escapes, surrogate pairing) and finds the closing quote, skipping plain
 * ASCII eight bytes at a time. The second runs only when the literal has
 * escapes: it decodes into the arena without checks, into a block of the raw
 * length (unescaping never grows a string) whose unused tail goes back.
 * Strings without escapes are one memcpy.
 *
 * Unescaped strings may contain U+0000 (from "\u0000"); len is authoritative.
 */
#include <string.h>

#include "core/utf8.h"
#include "json/pjint.h"

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero when some byte of w is '"', '\\' or below 0x20. Bytes >= 0x80
 * are not flagged (the has-zero-byte trick; a flag above a true one may be
 * spurious, which only sends us to the byte loop). */
static inline uint64_t special8(uint64_t w) {
  uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
  return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((w - ONES * 0x20) & ~w)) & HIGHS;
}

static int hexval(unsigned c) {
  if (c >= '0' && c <= '9') return (int)(c - '0');
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
  return -1;
}

/* The value of the four hex digits at s[i..i+4), or -1. */
static long hex4(const unsigned char *s, size_t n, size_t i) {
  if (i > n || n - i < 4) return -1;
  long v = 0;
  for (int k = 0; k < 4; k++) {
    int h = hexval(s[i + k]);
    if (h < 0) return -1;
    v = v << 4 | h;
  }
  return v;
}

/* Validates the escape at s[i] == '\\'; returns its length (2, 6 or 12). */
static int check_escape(pj_parser *p, size_t i, size_t *len) {
  const unsigned char *s = p->s;
  size_t n = p->n;
  if (i + 1 >= n) return pj_fail(p, POND_EPARSE, n, "unexpected end of input in string");
  unsigned c = s[i + 1];
  switch (c) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
      *len = 2;
      return POND_OK;
    case 'u':
      break;
    default: {
      if (c > 0x20 && c < 0x7F) return pj_fail(p, POND_EPARSE, i, "invalid escape '\\%c'", (char)c);
      char d[48];
      return pj_fail(p, POND_EPARSE, i, "invalid escape: '\\' followed by %s",
                     pj_describe_at(p, i + 1, d, sizeof d));
    }
  }
  long u = hex4(s, n, i + 2);
  if (u < 0) {
    char ex[48];
    size_t avail = n - i < 6 ? n - i : 6;
    pj_excerpt(ex, sizeof ex, (const char *)s + i, avail, 6);
    return pj_fail(p, POND_EPARSE, i, "invalid escape '%s' (\\u needs four hex digits)", ex);
  }
  if (u >= 0xD800 && u <= 0xDBFF) {
    long lo = (n - i >= 12 && s[i + 6] == '\\' && s[i + 7] == 'u') ? hex4(s, n, i + 8) : -1;
    if (lo >= 0xDC00 && lo <= 0xDFFF) {
      *len = 12;
      return POND_OK;
    }
  }
  if (u >= 0xD800 && u <= 0xDFFF)
    return pj_fail(p, POND_EPARSE, i, "lone surrogate %.6s", (const char *)s + i);
  *len = 6;
  return POND_OK;
}

/* Decodes the validated literal body s[0..n) into out; returns the length. */
static size_t unescape(const unsigned char *s, size_t n, char *out) {
  size_t o = 0, i = 0;
  while (i < n) {
    const unsigned char *bs = memchr(s + i, '\\', n - i);
    size_t run = bs ? (size_t)(bs - s) - i : n - i;
    memcpy(out + o, s + i, run);
    o += run;
    i += run;
    if (i >= n) break;
    unsigned c = s[i + 1];
    i += 2;
    switch (c) {
      case 'b': out[o++] = '\b'; break;
      case 'f': out[o++] = '\f'; break;
      case 'n': out[o++] = '\n'; break;
      case 'r': out[o++] = '\r'; break;
      case 't': out[o++] = '\t'; break;
      case 'u': {
        uint32_t cp = (uint32_t)hex4(s, n, i);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo = (uint32_t)hex4(s, n, i + 2);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
        o += pc_utf8_encode(cp, out + o);
        break;
      }
      default: out[o++] = (char)c; break; /* '"', '\\', '/' */
    }
  }
  return o;
}

/* Checks that the plain span s[from..to) (no quote, backslash or control
 * byte) is valid UTF-8. */
static int check_span(pj_parser *p, size_t from, size_t to) {
  size_t bad;
  if (pc_utf8_valid((const char *)p->s + from, to - from, &bad)) return POND_OK;
  return pj_fail(p, POND_EPARSE, from + bad, "invalid UTF-8 in string");
}

int pj_lex_string(pj_parser *p, const char **out, size_t *len) {
  const unsigned char *s = p->s;
  size_t n = p->n, start = p->pos + 1, i = start;
  size_t span = start; /* first byte not yet checked as UTF-8 */
  uint64_t high = 0;   /* nonzero when the span has a byte >= 0x80 */
  int escaped = 0;
  for (;;) {
    /* Skip to the next quote, backslash or control byte; multi-byte UTF-8
     * is validated per span in one call rather than per character. */
    while (n - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (special8(w)) break;
      high |= w;
      i += 8;
    }
    unsigned c = 0;
    while (i < n && (c = s[i]) >= 0x20 && c != '"' && c != '\\') {
      high |= c & 0x80;
      i++;
    }
    if ((high & HIGHS) && i > span) POND_TRY(check_span(p, span, i));
    high = 0;
    if (i >= n) {
      uint32_t col = (uint32_t)(start - 1 - p->line_start + 1);
      return pj_fail(p, POND_EPARSE, n, "unexpected end of input (unterminated string starting at %u:%u)",
                     (unsigned)p->line, (unsigned)col);
    }
    if (c == '"') break;
    if (c < 0x20) return pj_fail(p, POND_EPARSE, i, "control character U+%04X in string", c);
    size_t el = 0;
    POND_TRY(check_escape(p, i, &el));
    i += el;
    span = i;
    escaped = 1;
  }
  size_t raw = i - start;
  char *dst = pj_arena_bytes(p->doc, raw + 1);
  if (!dst) return pj_fail(p, POND_ENOMEM, p->pos, "out of memory");
  size_t used = raw;
  if (escaped) {
    used = unescape(s + start, raw, dst);
    pj_arena_trim(p->doc, dst, raw + 1, used + 1);
  } else if (raw) {
    memcpy(dst, s + start, raw);
  }
  dst[used] = 0;
  *out = dst;
  *len = used;
  p->pos = i + 1;
  return POND_OK;
}
