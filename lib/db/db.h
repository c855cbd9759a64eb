/*
 * db.h — the pond_db handle's internals, shared by lib/db.c, lib/db/,
 * lib/tags/, lib/define/ and lib/set.c. Not public.
 *
 * State (see lib/db/README.md for the full picture):
 *   cus    cid -> cu_rec * (the customer record, rec.h)
 *   all    bitmap of every customer id
 *   tags   the tag table (tags/tags.h): names, groups, member bitmaps
 *   defs   the merged definitions (define/defs.h), swapped whole
 *   av     per attribute id: bitmap of customers with a value, and the
 *          string dictionary (value id <-> string)
 *   tx     the undo log of the open transaction / call savepoint (txn.c)
 *
 * Every public entry point locks mu, clears err, works, and on failure
 * copies err into the calling thread's error slot (db.c).
 */
#ifndef POND_DB_DB_H
#define POND_DB_DB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "bitmap/bm.h"
#include "core/err.h"
#include "core/map.h"
#include "core/mem.h"
#include "db/rec.h"
#include "define/defs.h"
#include "pond.h"
#include "tags/tags.h"

/* ------------------------------------------------------- attribute values */

/* The strings one string attribute has taken, each with a value id (its
 * index). Append-only while the attribute lives, so a value id is stable
 * and a rollback only truncates. */
typedef struct db_dstr {
  char *s; /* NUL-terminated, owned */
  uint32_t len;
} db_dstr;

typedef struct db_dict {
  db_dstr *v; /* v[vid] */
  uint32_t n, cap;
  pc_strmap ids;  /* string -> vid (keys borrowed from s) */
} db_dict;

typedef struct db_attrv {
  bm has;       /* customers with a (non-NULL) value */
  db_dict dict; /* string attributes only */
  uint8_t touch_has, touch_dict;
} db_attrv;

/* --------------------------------------------------------------- undo log */

/* Which levels an image serves (also kept per object as "has an image"). */
#define DB_TX_TXN 1u  /* the explicit transaction (pond_begin) */
#define DB_TX_CALL 2u /* the current call's savepoint */
#define DB_TX_PART 4u /* (bitmaps) a one-chunk image of an implicit transaction
                         (DB_U_CHUNK) is in the log */

/* What a call asks of db_touch_*: */
enum {
  DB_NEED_TXN = 1, /* the object changes only after the call's last fallible
                      step, so only an open transaction needs an image */
  DB_NEED_CALL = 2 /* the object may change before a later step fails: the
                      call savepoint needs an image too */
};

enum {
  DB_U_CUST = 1, /* customer cid: its record (NULL: did not exist) */
  DB_U_TAGBM,    /* tag id: its member bitmap */
  DB_U_TAG,      /* tag id: name, group, live */
  DB_U_TAGNEW,   /* the tag count before a creation (rollback destroys newer tags) */
  DB_U_ALL,      /* the all-customers bitmap */
  DB_U_HAS,      /* attribute id: its has-value bitmap */
  DB_U_DICT,     /* attribute id: its dictionary size */
  DB_U_DEFS,     /* the definitions object */
  DB_U_AVN,      /* the number of attribute value slots */
  DB_U_EXT,      /* lifecycle state (lib/lifecycle): cid holds the length of
                    lc's own undo log when this level first changed it;
                    restore undoes lc's log back to it */
  DB_U_CHUNK,    /* one chunk of a bitmap (u.chunk.of: DB_U_TAGBM with tag
                    id, DB_U_ALL or DB_U_HAS with attribute id), taken by an
                    implicit transaction's single change (bm_undo) */
};

typedef struct db_undo {
  uint8_t kind;
  uint8_t lv; /* DB_TX_TXN and/or DB_TX_CALL */
  uint32_t id;
  uint64_t cid;
  union {
    cu_rec *rec;
    bm b;
    struct {
      char *name; /* a copy, owned by the image */
      uint32_t len, group;
      uint8_t live;
    } tag;
    uint32_t n;
    df_defs *defs;
    struct {
      bm_undo bu;
      uint8_t of;
    } chunk;
  } u;
} db_undo;

typedef struct db_txn {
  int open;        /* pond_begin was called */
  int call;        /* a call savepoint is open */
  int implicit;    /* open is the implicit transaction of one call (storage
                      attached, no pond_begin): db_unlock commits it */
  size_t mark;     /* log length when it opened */
  db_undo *log;
  size_t n, cap;
  pc_map64 seen_txn;  /* customers with a DB_TX_TXN image */
  pc_map64 seen_call; /* customers with a DB_TX_CALL image */
  size_t cus_pending;  /* customer keys a rollback may reinsert */
  size_t name_pending; /* tag-name keys a rollback may reinsert */
  uint8_t touch_all, touch_defs, touch_avn, touch_lc;
} db_txn;

/* ------------------------------------------------------------- the handle */

#define DB_ERR_SLOTS 8

typedef struct db_errslot {
  pthread_t tid;
  uint64_t stamp; /* 0: free */
  pc_err e;
} db_errslot;

struct qy_dbidx; /* the query part's derived indexes (lib/query) */

struct pond_db {
  pc_mem mem;
  pthread_mutex_t mu;
  pc_err err; /* the current call's error (under mu) */
  db_errslot slots[DB_ERR_SLOTS];
  uint64_t err_clock;
  pond_limits lim;
  unsigned flags;

  pc_map64 cus;
  bm all;
  tg_table tags;
  df_defs *defs;
  db_attrv *av;
  uint32_t nav, cav;
  db_txn tx;
  uint64_t defs_gen;      /* bumped whenever db->defs is replaced (define, rollback) */
  struct qy_dbidx *qidx;  /* NULL until the query part builds its indexes */
  struct st_dbs *st;      /* persistence (lib/store/persist.h); NULL: in memory */
  struct lc_rt *lc;       /* lifecycle runtime (lib/lifecycle/lc.h); NULL until used */
};

/* db.c: entering and leaving a public call. */
void db_lock(pond_db *db);
/* Unlocks; on rc < 0 records db->err (or a default message) as the calling
 * thread's error. Returns rc. */
int db_unlock(pond_db *db, int rc);

/* Customers (cust.c). */
cu_rec *db_cust(const pond_db *db, uint64_t cid);
/* The record's slot in the map (to store a moved record), or NULL. */
uint64_t *db_cust_ref(const pond_db *db, uint64_t cid);
/* POND_NOTFOUND with a message naming cid. */
int db_no_cust(pond_db *db, uint64_t cid);
/* Creates cid (must not exist) as one atomic step; *out gets the record.
 * With lifecycle machines defined this enters their initial states and
 * dispatches customer.added (lc_customer_create), still one atomic step. */
int db_cust_create(pond_db *db, uint64_t cid, int64_t ts, cu_rec **out);
/* The plain creation, with room for `extra` entries in the new record. */
int db_cust_create_room(pond_db *db, uint64_t cid, int64_t ts, uint32_t extra, cu_rec **out);
/* An activity's effects on record r (event.c): last_seen := max(last_seen,
 * ts); counter (UINT32_MAX: none) counted. r has room for two more
 * entries when the counter's are absent. Never fails. */
void db_activity_apply(cu_rec *r, uint32_t counter, int64_t ts);
/* Makes room in the customer map for one new key (keeping a rollback's
 * reinsertion room). */
int db_cus_room(pond_db *db);
/* The one place told that a customer's column values (attributes,
 * added_at, last_seen, existence) may have changed: derived indexes (the
 * query part's) hook here. Never fails. Tag changes are not reported: tag
 * bitmaps are the index. */
void db_cust_changed(pond_db *db, uint64_t cid);
/* Grows cid's record for `extra` entries (it must exist). */
int db_cust_reserve(pond_db *db, uint64_t cid, uint32_t extra, cu_rec **out);

/* Transactions (txn.c). */
void db_txn_init(db_txn *tx);
/* Rolls back whatever is open and frees the log (pond_close). */
void db_txn_close(pond_db *db);
/* Ends the implicit transaction of a call (db_unlock): rc < 0 rolls it
 * back; else its records go to storage in one commit, and if that fails it
 * is rolled back and the commit's status returned. Returns rc otherwise. */
int db_txn_implicit_end(pond_db *db, int rc);
/* A call savepoint: db_call_end(db, rc) releases it when rc >= 0, rolls the
 * call's changes back when rc < 0; returns rc. Never fails, never nests. */
void db_call_begin(pond_db *db);
int db_call_end(pond_db *db, int rc);
int db_touch_cust(pond_db *db, uint64_t cid, unsigned need);
/* The same when the caller holds cid's record r (NULL: cid does not exist):
 * have_r = 1 spares a map search (hot paths of big transactions). */
int db_touch_cust_rec(pond_db *db, uint64_t cid, const cu_rec *r, int have_r, unsigned need);
int db_touch_tagbm(pond_db *db, uint32_t tag, unsigned need);
int db_touch_tag(pond_db *db, uint32_t tag, unsigned need);
int db_touch_tagnew(pond_db *db, unsigned need);
int db_touch_all(pond_db *db, unsigned need);
int db_touch_has(pond_db *db, uint32_t attr, unsigned need);
int db_touch_dict(pond_db *db, uint32_t attr, unsigned need);
int db_touch_defs(pond_db *db, unsigned need);
/* A marker for lifecycle's own undo log (funnel counters, machine entries
 * changed under a call savepoint): DB_U_EXT. */
int db_touch_lc(pond_db *db, unsigned need);
/* Before-images for a call whose only change to the bitmap is one
 * bm_add/bm_remove of cid, made after its last other fallible step (the
 * fast paths): in an implicit transaction a one-chunk image (DB_U_CHUNK),
 * otherwise as db_touch_*(…, DB_NEED_TXN). */
int db_touch_tagbm1(pond_db *db, uint32_t tag, uint64_t cid);
int db_touch_all1(pond_db *db, uint64_t cid);
int db_touch_has1(pond_db *db, uint32_t attr, uint64_t cid);
int db_touch_avn(pond_db *db, unsigned need);
int db_names_room(pond_db *db);
/* 1 when an undo image holds definitions object d (then it must not be
 * freed when replaced). */
int db_defs_held(const pond_db *db, const df_defs *d);
/* 1 when an undo image or savepoint may be needed (cheap test for fast paths). */
static inline int db_logging(const pond_db *db) { return db->tx.open | db->tx.call; }

/* Attribute values (attr.c). */
#define DB_ATTR_STR_MAX 4096 /* bytes of one string value */
void db_dict_free(pc_mem *m, db_dict *d);
/* The value id of s[0..n) in d, appending it when new (*added = 1).
 * POND_ENOMEM / POND_ELIMIT leave d unchanged. */
int db_dict_intern(pc_mem *m, db_dict *d, const char *s, size_t n, uint32_t *vid, int *added);
void db_dict_truncate(pc_mem *m, db_dict *d, uint32_t n);
void db_attrv_free(pc_mem *m, db_attrv *a);
/* Room for n attribute slots; db_av_extend then adds empty slots up to n
 * (never fails). The caller touched the slot count (db_touch_avn). */
int db_av_reserve(pond_db *db, uint32_t n);
void db_av_extend(pond_db *db, uint32_t n);
/* Dropping an attribute: prepare takes the transaction's images; apply
 * clears every holder's value (never fails). */
int db_attr_drop_prepare(pond_db *db, uint32_t attr);
void db_attr_drop_apply(pond_db *db, uint32_t attr);

/* Appends the whole state as text to out (tests, fuzzing, debugging):
 * definitions, tags with members, customers with their tags and attribute
 * values, in id order. Two equal states give equal text. */
struct pj_buf;
void db_dump(pond_db *db, struct pj_buf *out);
/* Checks the invariants that tie records, bitmaps and tables together;
 * POND_OK, or POND_ECORRUPT with the first violation described in why. */
int db_check(pond_db *db, char *why, size_t cap);

#endif
