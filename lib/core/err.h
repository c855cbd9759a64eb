/*
 * err.h — an error report: status code, message and (for parsers) byte offset.
 *
 * Each pond_db owns one; parts that can fail take a pc_err * and fill it with
 * pc_errf, which returns the code so that `return pc_errf(e, POND_EINVAL, …)`
 * reads straight. Messages are truncated, never overflowed.
 */
#ifndef POND_CORE_ERR_H
#define POND_CORE_ERR_H

#include "pond.h"

#define PC_ERRMSG_MAX 512

typedef struct pc_err {
  int code;
  long offset; /* byte offset of a parse error, else -1 */
  char msg[PC_ERRMSG_MAX];
} pc_err;

void pc_err_clear(pc_err *e);

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int pc_errf(pc_err *e, int code, const char *fmt, ...);

/* Forward a negative status. */
#define POND_TRY(expr)        \
  do {                        \
    int pond_try_rc_ = (expr); \
    if (pond_try_rc_ < 0) return pond_try_rc_; \
  } while (0)

#if defined(__GNUC__)
#define POND_LIKELY(x) __builtin_expect(!!(x), 1)
#define POND_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define POND_LIKELY(x) (x)
#define POND_UNLIKELY(x) (x)
#endif

#endif
