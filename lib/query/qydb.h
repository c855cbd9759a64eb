/*
 * qydb.h — what the db calls in the query part, and what the query part's
 * glue (api.c, dbsrc.c, dbidx.c) shares. Included by lib/db (hooks) and
 * lib/query only.
 *
 * Set evaluation keeps derived indexes of attribute values (int columns as
 * qy_icol, string columns as a qy_icol of value ids plus one bitmap per
 * value, and added_at / last_seen), built the first time a query reads a
 * column and brought up to date lazily, at the start of each evaluation,
 * from the customer records. The db only says which customers may have
 * changed: qy_db_touch(db, cid) wherever a record changes or is restored
 * (txn.c calls it from db_touch_cust and when a rollback restores a
 * customer image). It never fails: without memory for the pending set it
 * marks every index for a rebuild.
 */
#ifndef POND_QUERY_QYDB_H
#define POND_QUERY_QYDB_H

#include <stdint.h>

#include "bitmap/bm.h"
#include "core/err.h"
#include "core/map.h"
#include "query/icol.h"
#include "query/qy.h"

struct pond_db;

/* Customer cid's record may change (or was restored). */
void qy_db_touch(struct pond_db *db, uint64_t cid);
/* Every derived column must be rebuilt (pond_define changed what records
 * mean: a machine's home state). Never fails. */
void qy_db_stale(struct pond_db *db);
/* Frees the derived indexes (pond_close). */
void qy_db_close(struct pond_db *db);

/* ------------------------------------------------------ query part only */

/* One derived column. */
typedef struct qy_dbcol {
  uint8_t built;
  uint8_t type;  /* QY_T_*; QY_T_STRING: col holds value ids */
  qy_icol col;   /* the indexed value of each customer (NULL: none) */
  bm *byval;     /* strings: byval[vid] = customers whose value is vid */
  uint32_t nbyval;
} qy_dbcol;

typedef struct qy_dbidx {
  pc_map64 pending; /* customers to re-read (keys; values unused) */
  int stale;        /* pending is incomplete: rebuild every built column */
  qy_dbcol *attr;   /* by attribute id */
  uint32_t nattr;
  qy_dbcol *ctr;    /* by counter id: 2 id = count('e'), 2 id + 1 = last('e') */
  uint32_t nctr;    /* columns in ctr (twice the counters) */
  qy_dbcol added, seen; /* added_at, last_seen */
  qy_dbcol *mach;   /* by machine id: 2 id = stage('m') (value ids are state
                       ids, byval one bitmap per state), 2 id + 1 =
                       stage_since('m') */
  uint32_t nmach;   /* columns in mach */
  const void *mset; /* the machine set (lifecycle/lc.h) mach was built for */
} qy_dbidx;

/* The column for (col, id) — QY_COL_ATTR with an attribute id,
 * QY_COL_COUNT / QY_COL_LAST with a counter id, QY_COL_ADDED_AT or
 * QY_COL_LAST_SEEN — built and up to date. POND_ENOMEM leaves the indexes
 * consistent (a column that failed to update is dropped and rebuilt next
 * time). */
int qy_dbidx_column(struct pond_db *db, int col, uint32_t id, qy_dbcol **out);

/* The schema (qy_schema), one customer (qy_row) and the population
 * (qy_chunks) over a db; see dbsrc.c. */
struct df_defs;
typedef struct qy_dbschema {
  struct pond_db *db;
  const struct df_defs *defs; /* db->defs, or the definitions pond_define is making */
  /* pond_define's view of the tags its document drops and creates (NULL:
   * the tag table as it is): a live tag is hidden when hidden(arg, id);
   * extra(arg, name, len) is 1 for a tag the document creates. */
  int (*hidden)(void *arg, uint32_t tag);
  int (*extra)(void *arg, const char *name, size_t len);
  void *arg;
} qy_dbschema;
void qy_db_schema(qy_dbschema *ctx, qy_schema *s);

typedef struct qy_dbrow {
  struct pond_db *db;
  const void *rec; /* cu_rec */
} qy_dbrow;
void qy_db_row(qy_dbrow *ctx, uint64_t cid, qy_row *row);

typedef struct qy_dbchunks {
  struct pond_db *db;
  uint32_t *gids; /* groups whose union was computed for this evaluation */
  bm *gunion;
  uint32_t ngroups, cgroups;
  qy_dbrow row; /* the customer qy_chunks.row last gave */
  bm_iter it;   /* qy_chunks.few's walk over the population */
  uint64_t pend; /* the first id the walk read past the last chunk */
  int it_ok, pend_ok;
} qy_dbchunks;
void qy_db_chunks(qy_dbchunks *ctx, qy_chunks *src);
/* The members of a QY_TAG node: the tag's bitmap, or its group's union
 * (computed once per evaluation, owned by ctx). */
int qy_db_tag_bm(qy_dbchunks *ctx, const qy_node *n, const bm **out);
void qy_db_chunks_free(qy_dbchunks *ctx);

#endif
