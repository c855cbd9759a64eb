/*
 * qtime.h — calendar arithmetic for TIMESTAMP literals and durations,
 * without libc's time-zone machinery (which reads the environment and
 * files, and is neither reentrant nor available everywhere alike).
 *
 * Dates are proleptic Gregorian, years 0000–9999; times are seconds since
 * 1970-01-01T00:00:00Z without leap seconds (as POSIX and SQLite count).
 */
#ifndef POND_QUERY_QTIME_H
#define POND_QUERY_QTIME_H

#include <stddef.h>
#include <stdint.h>

/* Earliest and latest instants a TIMESTAMP can name (UTC). */
#define QY_TIME_MIN INT64_C(-62167219200) /* 0000-01-01T00:00:00Z */
#define QY_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/*
 * Parses an ISO-8601 date or date-time: YYYY-MM-DD, optionally followed by
 * 'T' or ' ' and HH:MM or HH:MM:SS, optionally followed by Z, ±HH:MM, ±HHMM
 * or ±HH (UTC when absent). Calendar dates are validated (leap years).
 * Returns 1 and *out, or 0 and a reason in why (NUL-terminated, truncated to
 * cap). The result may fall outside QY_TIME_MIN..MAX by an offset.
 */
int qy_time_parse(const char *s, size_t n, int64_t *out, char *why, size_t cap);

/* Days since 1970-01-01 of a valid civil date. */
int64_t qy_days_from_civil(int64_t y, unsigned m, unsigned d);

/* The UTC civil date and time of t (any int64). */
void qy_civil_from_time(int64_t t, int64_t *y, unsigned *mo, unsigned *d,
                        unsigned *h, unsigned *mi, unsigned *s);

/* Renders t as 'YYYY-MM-DD' (midnight) or 'YYYY-MM-DD HH:MM:SS' into
 * buf[cap >= 24]; returns the length. t must be within QY_TIME_MIN..MAX. */
size_t qy_time_format(int64_t t, char *buf, size_t cap);

/* Renders a duration in its largest exact unit ("30d", "2w", "90s");
 * d >= 0. buf[cap >= 24]. */
size_t qy_duration_format(int64_t d, char *buf, size_t cap);

#endif
