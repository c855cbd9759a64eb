/*
 * like.h — SQL LIKE as SQLite runs it with PRAGMA case_sensitive_like = ON:
 * '%' matches any run of characters (possibly empty), '_' exactly one UTF-8
 * character, every other character itself; no ESCAPE.
 */
#ifndef POND_QUERY_LIKE_H
#define POND_QUERY_LIKE_H

#include <stddef.h>

/* 1 if s[0..n) matches pattern p[0..pn), else 0. Worst case O(n·pn),
 * constant memory, no recursion. */
int qy_like(const char *s, size_t n, const char *p, size_t pn);

#endif
