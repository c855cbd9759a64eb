/*
 * source.h — what evaluation reads: one customer's data (qy_row, for
 * qy_test), or the whole population chunk by chunk (qy_chunks, for
 * qy_eval_set).
 *
 * The db implements both: a qy_row over its customer record
 * (pond_query_test looks the customer up once and passes the record as ctx,
 * so the callbacks are plain field reads), a qy_chunks over its bitmaps and
 * column indexes. Tests implement them over arrays.
 *
 * Every callback returns POND_OK (or 1/0 for tag and group) or a negative
 * status that aborts the evaluation and is returned as is.
 */
#ifndef POND_QUERY_SOURCE_H
#define POND_QUERY_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "query/icol.h"

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

/*
 * The population, chunk by chunk. A chunk is the 65536 ids sharing
 * id >> 16 (its key); `words` arguments are QY_CHUNK_WORDS (1024) 64-bit
 * words, bit s of word s >> 6 standing for id (key << 16) | s. Fill
 * callbacks overwrite all 1024 words.
 */
typedef struct qy_chunks {
  void *ctx;
  /* Chunk keys holding at least one customer, ascending, and the number of
   * customers (for selectivity estimates). Valid during the evaluation. */
  const uint64_t *keys;
  size_t nkeys;
  uint64_t population;
  /* words := the customers of chunk key. */
  int (*customers)(void *ctx, uint64_t key, uint64_t *words);
  /* words := the customers of chunk key having tag / any tag of group. */
  int (*tag)(void *ctx, uint32_t tag, uint64_t key, uint64_t *words);
  int (*group)(void *ctx, uint32_t group, uint64_t key, uint64_t *words);
  /* Customers having the tag / a tag of the group (estimates only). */
  uint64_t (*tag_count)(void *ctx, uint32_t tag);
  uint64_t (*group_count)(void *ctx, uint32_t group);
  /* The index of an int-valued column (col a qy_col: QY_COL_ATTR of type
   * int/time/bool, QY_COL_ADDED_AT, QY_COL_LAST_SEEN, QY_COL_SINCE,
   * QY_COL_COUNT, QY_COL_LAST), or NULL when no customer has a value. A
   * customer without a value is NULL, except for QY_COL_COUNT where it
   * counts 0. For a string-valued column (QY_COL_ATTR of type string,
   * QY_COL_STAGE): its value ids (as values/value give them), or NULL
   * when the source keeps none (then candidates are not read one by one). */
  const qy_icol *(*icol)(void *ctx, int col, uint32_t id);
  /* String-valued columns (QY_COL_ATTR of type string, QY_COL_STAGE):
   * values calls each(arg, vid, bytes, len) once per distinct value (the
   * dictionary; for stage('m'), the machine's states with vid = state id);
   * a non-zero return from each stops it and is returned. */
  int (*values)(void *ctx, int col, uint32_t id,
                int (*each)(void *arg, uint32_t vid, const char *s, size_t n), void *arg);
  /* words := the customers of chunk key whose value is vid. */
  int (*value)(void *ctx, int col, uint32_t id, uint32_t vid, uint64_t key, uint64_t *words);
  /* words := the customers of chunk key with any value (not NULL). */
  int (*valued)(void *ctx, int col, uint32_t id, uint64_t key, uint64_t *words);
  /* Customers whose value is vid (estimates only). */
  uint64_t (*value_count)(void *ctx, int col, uint32_t id, uint32_t vid);
  /* Optional, both or neither: chunks with few customers are evaluated
   * customer by customer (a chunk's bitsets cost O(65536) whatever it
   * holds). few writes the slots (id & 0xFFFF) of chunk key's customers,
   * ascending, to slots[0..cap) and returns their number, or cap + 1 when
   * the chunk holds more than cap; row fills *out for customer cid (valid
   * until the next call of row). */
  int (*few)(void *ctx, uint64_t key, uint16_t *slots, uint32_t cap);
  int (*row)(void *ctx, uint64_t cid, qy_row *out);
  /* Optional: the chunk of a tag (group: of any tag of the group) in
   * place, read-only, when the source holds it as a bitset; NULL to have
   * it copied with tag / group. */
  const uint64_t *(*tag_words)(void *ctx, uint32_t tag, int group, uint64_t key);
} qy_chunks;

#endif
