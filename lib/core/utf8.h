/*
 * utf8.h — UTF-8 validation and decoding (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF).
 */
#ifndef POND_CORE_UTF8_H
#define POND_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if s[0..n) is valid UTF-8; else 0 and *bad (may be NULL) gets the offset
 * of the first invalid byte, that is the first byte of the first ill-formed
 * sequence (a truncated "E2 82" at the end reports the E2). */
int pc_utf8_valid(const char *s, size_t n, size_t *bad);
/* Decodes one code point at s[*i] (i < n), advancing *i; returns the code
 * point or -1 when invalid (then *i advances by one byte). With *i >= n it
 * returns -1 and leaves *i alone. */
int32_t pc_utf8_next(const char *s, size_t n, size_t *i);
/* Encodes cp into out (>= 4 bytes); returns the byte count, 0 if invalid. */
size_t pc_utf8_encode(uint32_t cp, char *out);

#endif
