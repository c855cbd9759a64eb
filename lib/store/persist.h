/*
 * persist.h — a pond_db over a pond_storage: loading everything at open and
 * writing every transaction as one storage commit (record layout in
 * rec.h and lib/store/README.md).
 *
 *   open      st_db_attach: one scan of the whole key space, in key order;
 *             records are decoded strictly (rec.c) into the db's tables,
 *             and the derived state (bitmaps, dictionaries, the tag name
 *             index) is built from them in bulk (load.c).
 *   commit    st_db_commit (commit.c), called by the transaction code with
 *             the undo log of the transaction about to end: the log's
 *             touched customers, tags and definitions are exactly the
 *             records that changed. One storage commit; on failure the
 *             caller rolls the transaction back.
 *   close     st_db_detach: calls the storage's close.
 */
#ifndef POND_STORE_PERSIST_H
#define POND_STORE_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "pond.h"

struct pond_db;

typedef struct st_dbs {
  pond_storage s;    /* the host's vtable (copied), or the file store's */
  int file;          /* s is the embedded file store (pond_open_path) */
  int meta;          /* the storage holds this format's meta record */
  uint32_t tag_next; /* the next tag id its meta record holds */
  /* commit scratch, kept between commits (trimmed after big ones) */
  pond_kv *ops;
  size_t ocap;
  uint8_t *buf;
  size_t bcap;
  uint64_t *ids;
  size_t icap;
  uint32_t *tids;
  size_t tcap;
  uint64_t *fkeys; /* funnel counters changed (lifecycle) */
  size_t fcap;
  uint64_t commits; /* storage commits made (tests, benchmarks) */
} st_dbs;

/*
 * Attaches storage s to db (in memory, empty: just created) and loads
 * everything it holds. file: s is the file store (pond_compact works).
 * On failure db->st is NULL, whatever was loaded stays in db for the
 * caller to free with the handle, and s->close has not been called.
 * Errors: POND_ECORRUPT (a record that does not decode, a newer format),
 * POND_ESTORAGE (scan failed; the host's message), POND_ENOMEM,
 * POND_EINVAL (a storage vtable without scan or commit).
 */
int st_db_attach(struct pond_db *db, const pond_storage *s, int file);

/* Writes the records changed by the open transaction (db->tx) in one
 * storage commit. POND_ESTORAGE (message from the storage's errmsg) or
 * POND_ENOMEM; the caller rolls back. */
int st_db_commit(struct pond_db *db);

/* Closes the storage (its close callback) and frees db->st. */
void st_db_detach(struct pond_db *db);

#endif
