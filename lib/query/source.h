/*
 * source.h — what evaluation reads: one customer's data, for qy_test.
 *
 * The db implements a qy_row over its customer record (pond_query_test
 * looks the customer up once and passes the record as ctx, so the
 * callbacks are plain field reads); tests implement it over arrays.
 *
 * Every callback returns POND_OK (or 1/0 for tag and group) or a negative
 * status that aborts the evaluation and is returned as is.
 */
#ifndef POND_QUERY_SOURCE_H
#define POND_QUERY_SOURCE_H

#include <stddef.h>
#include <stdint.h>

/* One value of one column for one customer. */
typedef struct qy_cell {
  int null;      /* the value is NULL (unset attribute, no event yet…) */
  int64_t i;     /* int, time, bool (0/1) */
  const char *s; /* string: bytes, borrowed until the callback's caller returns */
  size_t n;
  uint32_t id;   /* stage('m'): the state's id (as qy_schema.state gives) */
} qy_cell;

typedef struct qy_row {
  void *ctx;
  uint64_t cid;
  /* 1 if the customer has the tag (id from qy_schema.tag), 0 if not. */
  int (*tag)(void *ctx, uint32_t tag);
  /* 1 if the customer has any tag of the group (id from qy_schema.group). */
  int (*group)(void *ctx, uint32_t group);
  /* The value of a column: col is a qy_col (QY_COL_ATTR with id from
   * qy_schema.attr, QY_COL_STAGE/SINCE with a machine id, QY_COL_COUNT/LAST
   * with a counter id, QY_COL_ADDED_AT, QY_COL_LAST_SEEN). QY_COL_CID is
   * answered by the evaluator itself. */
  int (*column)(void *ctx, int col, uint32_t id, qy_cell *out);
} qy_row;

#endif
