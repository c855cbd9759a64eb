/* Strict UTF-8 (lib/core/utf8.c): boundaries, overlongs, surrogates, the
 * U+10FFFF ceiling, truncation, and an exhaustive differential test against
 * a reference decoder written from the definition. */
#include <string.h>

#include "core/utf8.h"
#include "harness.h"

/* Reference: decode by bit pattern, then reject what RFC 3629 forbids
 * (overlong forms, surrogates, values above U+10FFFF). Returns the length of
 * the well-formed sequence at s[0..n), or 0. */
static size_t ref_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  size_t len;
  uint32_t v, min;
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  } else if ((s[0] & 0xE0) == 0xC0) {
    len = 2, v = s[0] & 0x1Fu, min = 0x80;
  } else if ((s[0] & 0xF0) == 0xE0) {
    len = 3, v = s[0] & 0x0Fu, min = 0x800;
  } else if ((s[0] & 0xF8) == 0xF0) {
    len = 4, v = s[0] & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = v << 6 | (s[i] & 0x3Fu);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

static int valid(const char *s, size_t n) { return pc_utf8_valid(s, n, NULL); }

static void every_boundary_code_point_round_trips(void) {
  static const uint32_t cps[] = {0x0,     0x7F,    0x80,    0x7FF,   0x800,   0xFFF,
                                 0x1000,  0xCFFF,  0xD000,  0xD7FF,  0xE000,  0xFFFD,
                                 0xFFFE,  0xFFFF,  0x10000, 0x3FFFF, 0x40000, 0xFFFFF,
                                 0x100000, 0x10FFFF};
  static const size_t lens[] = {1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4};
  for (size_t k = 0; k < sizeof cps / sizeof cps[0]; k++) {
    char b[4];
    size_t n = pc_utf8_encode(cps[k], b);
    CHECK_EQ(n, lens[k]);
    CHECK(valid(b, n));
    size_t i = 0;
    CHECK_EQ(pc_utf8_next(b, n, &i), (int32_t)cps[k]);
    CHECK_EQ(i, n);
  }
}

static void every_code_point_encodes_and_decodes_or_is_refused(void) {
  long bad = 0;
  for (uint32_t cp = 0; cp <= 0x110000 + 5; cp++) {
    char b[4];
    size_t n = pc_utf8_encode(cp, b);
    int should = cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!should) {
      bad += n != 0;
      continue;
    }
    size_t i = 0;
    uint32_t ref;
    bad += n == 0 || !valid(b, n) || pc_utf8_next(b, n, &i) != (int32_t)cp || i != n ||
           ref_decode((const unsigned char *)b, n, &ref) != n || ref != cp;
  }
  CHECK_EQ(bad, 0);
  char b[4];
  CHECK_EQ(pc_utf8_encode(0xFFFFFFFFu, b), 0);
}

static void overlong_forms_are_rejected(void) {
  CHECK(!valid("\xC0\x80", 2)); /* NUL in two bytes (modified UTF-8) */
  CHECK(!valid("\xC1\xBF", 2));
  CHECK(!valid("\xE0\x80\x80", 3));
  CHECK(!valid("\xE0\x9F\xBF", 3)); /* U+07FF in three bytes */
  CHECK(valid("\xE0\xA0\x80", 3));  /* U+0800: the first true three-byte form */
  CHECK(!valid("\xF0\x80\x80\x80", 4));
  CHECK(!valid("\xF0\x8F\xBF\xBF", 4)); /* U+FFFF in four bytes */
  CHECK(valid("\xF0\x90\x80\x80", 4));
  CHECK(!valid("\xF8\x88\x80\x80\x80", 5)); /* five-byte forms do not exist */
  CHECK(!valid("\xFC\x84\x80\x80\x80\x80", 6));
}

static void surrogates_are_rejected(void) {
  CHECK(valid("\xED\x9F\xBF", 3)); /* U+D7FF */
  CHECK(!valid("\xED\xA0\x80", 3)); /* U+D800 */
  CHECK(!valid("\xED\xAD\xBF", 3));
  CHECK(!valid("\xED\xB0\x80", 3)); /* U+DC00 */
  CHECK(!valid("\xED\xBF\xBF", 3)); /* U+DFFF */
  CHECK(!valid("\xED\xA0\xBD\xED\xB8\x80", 6)); /* CESU-8 pair */
  CHECK(valid("\xEE\x80\x80", 3)); /* U+E000 */
}

static void code_points_above_10ffff_are_rejected(void) {
  CHECK(valid("\xF4\x8F\xBF\xBF", 4));
  CHECK(!valid("\xF4\x90\x80\x80", 4)); /* U+110000 */
  CHECK(!valid("\xF5\x80\x80\x80", 4));
  CHECK(!valid("\xF7\xBF\xBF\xBF", 4));
  for (unsigned b = 0xF5; b <= 0xFF; b++) {
    char c = (char)b;
    CHECK(!valid(&c, 1));
  }
}

static void truncated_and_interrupted_sequences_are_rejected(void) {
  static const char *seqs[] = {"\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80"};
  for (int k = 0; k < 3; k++) {
    size_t n = strlen(seqs[k]);
    for (size_t cut = 1; cut < n; cut++) {
      char b[16];
      size_t bad = 99;
      /* At the very end. */
      memcpy(b, "ab", 2);
      memcpy(b + 2, seqs[k], cut);
      CHECK(!pc_utf8_valid(b, 2 + cut, &bad));
      CHECK_EQ(bad, 2);
      /* Followed by ASCII: the interruption is caught, not skipped. */
      b[2 + cut] = 'z';
      bad = 99;
      CHECK(!pc_utf8_valid(b, 3 + cut, &bad));
      CHECK_EQ(bad, 2);
    }
  }
  CHECK(!valid("\x80", 1)); /* a lone continuation byte */
  CHECK(!valid("\xBF", 1));
  CHECK(!valid("\xC3\xA9\xA9", 3));
  CHECK(valid("", 0));
}

static void invalid_offset_is_exact_past_the_ascii_fast_path(void) {
  char b[64];
  for (size_t at = 0; at < 40; at++) {
    memset(b, 'x', sizeof b);
    memcpy(b + at, "\xE4\xB8\xAD", 3); /* valid */
    CHECK(pc_utf8_valid(b, sizeof b, NULL));
    b[at + 2] = 'y'; /* now truncated at at */
    size_t bad = 999;
    CHECK(!pc_utf8_valid(b, sizeof b, &bad));
    CHECK_EQ(bad, at);
  }
}

static void next_skips_one_byte_after_invalid(void) {
  const char *s = "a\xFF\xE4\xB8\xAD\xC3";
  size_t n = 6, i = 0;
  CHECK_EQ(pc_utf8_next(s, n, &i), 'a');
  CHECK_EQ(pc_utf8_next(s, n, &i), -1);
  CHECK_EQ(i, 2);
  CHECK_EQ(pc_utf8_next(s, n, &i), 0x4E2D);
  CHECK_EQ(i, 5);
  CHECK_EQ(pc_utf8_next(s, n, &i), -1); /* truncated C3 */
  CHECK_EQ(i, 6);
  CHECK_EQ(pc_utf8_next(s, n, &i), -1); /* at the end: no move */
  CHECK_EQ(i, 6);
}

static void all_sequences_up_to_three_bytes_match_reference(void) {
  /* Exhaustive over every 1-, 2- and 3-byte string (16.8M): validity and
   * decoded values agree with the reference decoder. */
  long mismatches = 0;
  unsigned char b[3];
  for (uint32_t x = 0; x < (1u << 24); x++) {
    b[0] = (unsigned char)(x >> 16), b[1] = (unsigned char)(x >> 8), b[2] = (unsigned char)x;
    /* Whole-string validity via the reference: decode greedily. */
    int ref_ok = 1;
    for (size_t i = 0; i < 3;) {
      uint32_t cp;
      size_t l = ref_decode(b + i, 3 - i, &cp);
      if (!l) {
        ref_ok = 0;
        break;
      }
      i += l;
    }
    mismatches += valid((const char *)b, 3) != ref_ok;
    {
      uint32_t cp = 0;
      size_t i = 0, l = ref_decode(b, 3, &cp);
      int32_t got = pc_utf8_next((const char *)b, 3, &i);
      mismatches += l ? (got != (int32_t)cp || i != l) : (got != -1 || i != 1);
    }
    if (x < (1u << 16)) {
      /* Two-byte strings too (the high byte is the only one that varies in
       * the low range otherwise). */
      unsigned char c[2] = {(unsigned char)(x >> 8), (unsigned char)x};
      uint32_t cp = 0;
      size_t i = 0;
      size_t l = ref_decode(c, 2, &cp);
      int32_t got = pc_utf8_next((const char *)c, 2, &i);
      mismatches += l ? (got != (int32_t)cp || i != l) : (got != -1 || i != 1);
    }
  }
  CHECK_EQ(mismatches, 0);
}

static void random_four_byte_sequences_match_reference(void) {
  uint64_t s = th_seed(11);
  long mismatches = 0;
  for (int k = 0; k < 2000000; k++) {
    uint64_t r = th_rand(&s);
    unsigned char b[4] = {(unsigned char)(0xF0 | (r & 7)), (unsigned char)(r >> 8),
                          (unsigned char)(r >> 16), (unsigned char)(r >> 24)};
    /* Bias the continuation bytes into 80..BF half the time so that valid
     * sequences are common. */
    if (r & (1ull << 40)) {
      for (int j = 1; j < 4; j++) b[j] = (unsigned char)(0x80 | (b[j] & 0x3F));
    }
    uint32_t cp = 0;
    size_t l = ref_decode(b, 4, &cp);
    size_t i = 0;
    int32_t got = pc_utf8_next((const char *)b, 4, &i);
    mismatches += l ? (got != (int32_t)cp || i != l) : (got != -1 || i != 1);
  }
  CHECK_EQ(mismatches, 0);
}

int main(void) {
  TH_RUN(every_boundary_code_point_round_trips);
  TH_RUN(every_code_point_encodes_and_decodes_or_is_refused);
  TH_RUN(overlong_forms_are_rejected);
  TH_RUN(surrogates_are_rejected);
  TH_RUN(code_points_above_10ffff_are_rejected);
  TH_RUN(truncated_and_interrupted_sequences_are_rejected);
  TH_RUN(invalid_offset_is_exact_past_the_ascii_fast_path);
  TH_RUN(next_skips_one_byte_after_invalid);
  TH_RUN(all_sequences_up_to_three_bytes_match_reference);
  TH_RUN(random_four_byte_sequences_match_reference);
  return th_done();
}
