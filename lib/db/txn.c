/*
 * txn.c — transactions and call savepoints: an undo log of before-images.
 *
 * Two levels can be open at once:
 *  - the transaction (pond_begin .. pond_commit / pond_rollback), and
 *  - a call savepoint, opened by a public call that has more than one
 *    fallible step (db_call_begin/db_call_end), so that a failing call
 *    leaves state as it was before that call, inside or outside a
 *    transaction.
 * A call whose only fallible step comes last needs no savepoint (and, out
 * of a transaction, no image at all): that is the fast path of a single
 * pond_tag_add.
 *
 * An object gets an image the first time it is touched at a level (its
 * touch flags say which levels already have one). Everything a touch needs
 * (log slot, map room, the image) is allocated before the caller mutates
 * anything; restoring and releasing never allocate and never fail:
 *  - bitmaps are restored with bm_move (images are bm_copy snapshots that
 *    share containers copy-on-write);
 *  - customer records are exact-sized copies put back in the map;
 *  - map keys that a rollback may put back (deleted customers, old tag
 *    names) are counted in cus_pending / name_pending, and every insert of
 *    a new key first reserves room for that many more (map.h: reserve(n)
 *    guarantees the next n inserts do not allocate).
 * The transaction's log entries are exactly the touched customers, tags,
 * attributes and definitions: what a storage commit writes (store/persist.h).
 *
 * With storage attached every call outside pond_begin runs in an implicit
 * transaction (opened by db_lock, ended by db_unlock through
 * db_txn_implicit_end): its images let a failed storage commit undo the
 * call after its last in-memory step. The fast paths, whose only change to
 * a bitmap is one add/remove, take a one-chunk image there (DB_U_CHUNK,
 * bm_undo) instead of a bm_copy snapshot: O(one container), not
 * O(containers). A later full image of the same bitmap in the same
 * transaction is restored first (reverse order) and gets room for the chunk
 * restores that follow it (bm_undo_room), so those never allocate either.
 */
#include <string.h>

#include "db/db.h"
#include "lifecycle/lc.h"
#include "store/persist.h"

void db_txn_init(db_txn *tx) {
  memset(tx, 0, sizeof *tx);
  pc_map64_init(&tx->seen_txn);
  pc_map64_init(&tx->seen_call);
}

static int log_room(pond_db *db) {
  db_txn *tx = &db->tx;
  if (tx->n < tx->cap) return POND_OK;
  size_t nc = tx->cap ? tx->cap * 2 : 16, bytes;
  if (!pc_mul_ok(nc, sizeof *tx->log, &bytes)) return POND_ENOMEM;
  db_undo *p = pc_realloc(&db->mem, tx->log, tx->cap * sizeof *tx->log, bytes);
  if (!p) return POND_ENOMEM;
  tx->log = p;
  tx->cap = nc;
  return POND_OK;
}

/* The levels that still need an image of an object whose flags are have. */
static unsigned want(const pond_db *db, unsigned have, unsigned need) {
  unsigned lv = 0;
  if (db->tx.open && !(have & DB_TX_TXN)) lv |= DB_TX_TXN;
  if (need == DB_NEED_CALL && db->tx.call && !(have & DB_TX_CALL)) lv |= DB_TX_CALL;
  return lv;
}

static db_undo *push(pond_db *db, int kind, unsigned lv, uint32_t id) {
  db_undo *u = &db->tx.log[db->tx.n++];
  memset(u, 0, sizeof *u);
  u->kind = (uint8_t)kind;
  u->lv = (uint8_t)lv;
  u->id = id;
  return u;
}

/* The bitmap a DB_U_CHUNK entry images. */
static bm *chunk_bm(pond_db *db, const db_undo *u) {
  switch (u->u.chunk.of) {
    case DB_U_TAGBM: return &db->tags.v[u->id].members;
    case DB_U_ALL: return &db->all;
    default: return &db->av[u->id].has;
  }
}

/* The touch flags of the object an entry images (NULL for customers). */
static uint8_t *flags_of(pond_db *db, const db_undo *u) {
  switch (u->kind) {
    case DB_U_CHUNK:
      switch (u->u.chunk.of) {
        case DB_U_TAGBM: return &db->tags.v[u->id].touch_bm;
        case DB_U_ALL: return &db->tx.touch_all;
        default: return &db->av[u->id].touch_has;
      }
    case DB_U_TAGBM: return &db->tags.v[u->id].touch_bm;
    case DB_U_TAG: return &db->tags.v[u->id].touch_meta;
    case DB_U_ALL: return &db->tx.touch_all;
    case DB_U_HAS: return &db->av[u->id].touch_has;
    case DB_U_DICT: return &db->av[u->id].touch_dict;
    case DB_U_DEFS: return &db->tx.touch_defs;
    case DB_U_AVN: return &db->tx.touch_avn;
    case DB_U_EXT: return &db->tx.touch_lc;
    default: return NULL;
  }
}

/* ------------------------------------------------------------------ touch */

int db_touch_cust(pond_db *db, uint64_t cid, unsigned need) {
  return db_touch_cust_rec(db, cid, NULL, 0, need);
}

/* have_r: r is cid's current record (NULL: none), known to the caller, so
 * the customer map is not searched again. */
int db_touch_cust_rec(pond_db *db, uint64_t cid, const cu_rec *r, int have_r, unsigned need) {
  db_txn *tx = &db->tx;
  if (!db_logging(db)) return POND_OK;
  unsigned have = 0;
  if (tx->open && pc_map64_get(&tx->seen_txn, cid, NULL) == POND_OK) have |= DB_TX_TXN;
  if (tx->call && pc_map64_get(&tx->seen_call, cid, NULL) == POND_OK) have |= DB_TX_CALL;
  unsigned lv = want(db, have, need);
  if (!lv) return POND_OK;
  pc_mem *m = &db->mem;
  POND_TRY(log_room(db));
  if (lv & DB_TX_TXN) POND_TRY(pc_map64_reserve(m, &tx->seen_txn, 1));
  if (lv & DB_TX_CALL) POND_TRY(pc_map64_reserve(m, &tx->seen_call, 1));
  cu_rec *img = NULL;
  if (!have_r) r = db_cust(db, cid);
  if (r) {
    POND_TRY(pc_map64_reserve(m, &db->cus, tx->cus_pending + 1));
    if (!(img = cu_clone(m, r))) return POND_ENOMEM;
    tx->cus_pending++;
  }
  db_undo *u = push(db, DB_U_CUST, lv, 0);
  u->cid = cid;
  u->u.rec = img;
  if (lv & DB_TX_TXN) pc_map64_put(m, &tx->seen_txn, cid, 1);
  if (lv & DB_TX_CALL) pc_map64_put(m, &tx->seen_call, cid, 1);
  return POND_OK;
}

/* DB_U_CHUNK entries of bitmap (kind, id) in the log. */
static uint32_t chunks_of(const pond_db *db, int kind, uint32_t id) {
  uint32_t k = 0;
  for (size_t i = 0; i < db->tx.n; i++) {
    const db_undo *u = &db->tx.log[i];
    k += u->kind == DB_U_CHUNK && u->u.chunk.of == kind && u->id == id;
  }
  return k;
}

static int touch_bm(pond_db *db, int kind, uint32_t id, const bm *b, uint8_t *flags,
                    unsigned need) {
  unsigned lv = want(db, *flags, need);
  if (!lv) return POND_OK;
  POND_TRY(log_room(db));
  bm img;
  bm_init(&img);
  POND_TRY(bm_copy(&db->mem, &img, b));
  /* Older chunk images of this bitmap are restored after this snapshot,
   * into its exact-sized block: give it room for their insertions. */
  uint32_t k = *flags & DB_TX_PART ? chunks_of(db, kind, id) : 0;
  if (k && bm_undo_room(&db->mem, &img, k) < 0) {
    bm_free(&db->mem, &img);
    return POND_ENOMEM;
  }
  db_undo *u = push(db, kind, lv, id);
  bm_init(&u->u.b);
  bm_move(&db->mem, &u->u.b, &img);
  *flags |= (uint8_t)lv;
  return POND_OK;
}

int db_touch_tagbm(pond_db *db, uint32_t tag, unsigned need) {
  if (!db_logging(db)) return POND_OK;
  tg_tag *t = &db->tags.v[tag];
  return touch_bm(db, DB_U_TAGBM, tag, &t->members, &t->touch_bm, need);
}

int db_touch_all(pond_db *db, unsigned need) {
  if (!db_logging(db)) return POND_OK;
  return touch_bm(db, DB_U_ALL, 0, &db->all, &db->tx.touch_all, need);
}

int db_touch_has(pond_db *db, uint32_t attr, unsigned need) {
  if (!db_logging(db)) return POND_OK;
  db_attrv *a = &db->av[attr];
  return touch_bm(db, DB_U_HAS, attr, &a->has, &a->touch_has, need);
}

/* A one-chunk image in an implicit transaction, else a full one. */
static int touch_bm1(pond_db *db, int kind, uint32_t id, bm *b, uint8_t *flags, uint64_t cid) {
  if (!db->tx.implicit) return touch_bm(db, kind, id, b, flags, DB_NEED_TXN);
  if (*flags & DB_TX_TXN) return POND_OK; /* a snapshot restores everything */
  POND_TRY(log_room(db));
  bm_undo bu;
  POND_TRY(bm_undo_save(&db->mem, b, cid, &bu));
  db_undo *u = push(db, DB_U_CHUNK, DB_TX_TXN, id);
  u->u.chunk.bu = bu;
  u->u.chunk.of = (uint8_t)kind;
  *flags |= DB_TX_PART;
  return POND_OK;
}

int db_touch_tagbm1(pond_db *db, uint32_t tag, uint64_t cid) {
  if (!db_logging(db)) return POND_OK;
  tg_tag *t = &db->tags.v[tag];
  return touch_bm1(db, DB_U_TAGBM, tag, &t->members, &t->touch_bm, cid);
}

int db_touch_all1(pond_db *db, uint64_t cid) {
  if (!db_logging(db)) return POND_OK;
  return touch_bm1(db, DB_U_ALL, 0, &db->all, &db->tx.touch_all, cid);
}

int db_touch_has1(pond_db *db, uint32_t attr, uint64_t cid) {
  if (!db_logging(db)) return POND_OK;
  db_attrv *a = &db->av[attr];
  return touch_bm1(db, DB_U_HAS, attr, &a->has, &a->touch_has, cid);
}

int db_touch_tag(pond_db *db, uint32_t tag, unsigned need) {
  if (!db_logging(db)) return POND_OK;
  tg_tag *t = &db->tags.v[tag];
  unsigned lv = want(db, t->touch_meta, need);
  if (!lv) return POND_OK;
  POND_TRY(log_room(db));
  if (t->live) POND_TRY(pc_strmap_reserve(&db->mem, &db->tags.ids, db->tx.name_pending + 1));
  char *copy = NULL;
  if (t->name && !(copy = pc_strndup(&db->mem, t->name, t->len))) return POND_ENOMEM;
  db_undo *u = push(db, DB_U_TAG, lv, tag);
  u->u.tag.name = copy;
  u->u.tag.len = t->len;
  u->u.tag.group = t->group;
  u->u.tag.live = t->live;
  if (t->live) db->tx.name_pending++;
  t->touch_meta |= (uint8_t)lv;
  return POND_OK;
}

/* An image that is a count (tags, dictionary values, attribute slots). */
static int touch_count(pond_db *db, int kind, uint32_t id, uint32_t n, uint8_t *flags,
                       unsigned need) {
  unsigned lv = want(db, *flags, need);
  if (!lv) return POND_OK;
  POND_TRY(log_room(db));
  push(db, kind, lv, id)->u.n = n;
  *flags |= (uint8_t)lv;
  return POND_OK;
}

/* Unlike other images this one is taken at every creation, not only the
 * first: a rollback must destroy a tag created after some other tag lost
 * the same name (rename, delete) before that tag gets its name back. */
int db_touch_tagnew(pond_db *db, unsigned need) {
  if (!db_logging(db)) return POND_OK;
  unsigned lv = want(db, 0, need);
  if (!lv) return POND_OK;
  POND_TRY(log_room(db));
  push(db, DB_U_TAGNEW, lv, 0)->u.n = db->tags.n;
  return POND_OK;
}

int db_touch_dict(pond_db *db, uint32_t attr, unsigned need) {
  if (!db_logging(db)) return POND_OK;
  db_attrv *a = &db->av[attr];
  return touch_count(db, DB_U_DICT, attr, a->dict.n, &a->touch_dict, need);
}

int db_touch_avn(pond_db *db, unsigned need) {
  if (!db_logging(db)) return POND_OK;
  return touch_count(db, DB_U_AVN, 0, db->nav, &db->tx.touch_avn, need);
}

int db_touch_defs(pond_db *db, unsigned need) {
  if (!db_logging(db)) return POND_OK;
  unsigned lv = want(db, db->tx.touch_defs, need);
  if (!lv) return POND_OK;
  POND_TRY(log_room(db));
  push(db, DB_U_DEFS, lv, 0)->u.defs = db->defs;
  db->tx.touch_defs |= (uint8_t)lv;
  return POND_OK;
}

/* Lifecycle keeps its own fine-grained undo log; the marker says how long
 * it was when this level first changed lifecycle state. */
int db_touch_lc(pond_db *db, unsigned need) {
  if (!db_logging(db)) return POND_OK;
  unsigned lv = want(db, db->tx.touch_lc, need);
  if (!lv) return POND_OK;
  POND_TRY(log_room(db));
  push(db, DB_U_EXT, lv, 0)->cid = (uint64_t)lc_undo_len(db);
  db->tx.touch_lc |= (uint8_t)lv;
  return POND_OK;
}

int db_cus_room(pond_db *db) {
  return pc_map64_reserve(&db->mem, &db->cus, db->tx.cus_pending + 1);
}

int db_names_room(pond_db *db) {
  return pc_strmap_reserve(&db->mem, &db->tags.ids, db->tx.name_pending + 1);
}

int db_defs_held(const pond_db *db, const df_defs *d) {
  for (size_t i = 0; i < db->tx.n; i++)
    if (db->tx.log[i].kind == DB_U_DEFS && db->tx.log[i].u.defs == d) return 1;
  return 0;
}

/* ------------------------------------------------------- restore / release */

/* Destroys the tags with ids >= n (created after the image was taken). */
static void tags_truncate(pond_db *db, uint32_t n) {
  tg_table *t = &db->tags;
  while (t->n > n) {
    uint32_t id = --t->n, cur;
    tg_tag *g = &t->v[id];
    if (g->live) {
      if (tg_find(t, g->name, g->len, &cur) == POND_OK && cur == id)
        pc_strmap_del(&t->ids, g->name, g->len);
      t->live--;
    }
    pc_free(&db->mem, g->name, g->name ? g->len + 1 : 0);
    bm_free(&db->mem, &g->members);
    memset(g, 0, sizeof *g);
  }
}

static void restore(pond_db *db, db_undo *u) {
  pc_mem *m = &db->mem;
  db_txn *tx = &db->tx;
  uint8_t *fl = flags_of(db, u);
  switch (u->kind) {
    case DB_U_CHUNK:
      /* DB_TX_PART stays until the transaction ends: older chunk images
       * of the bitmap may still be in the log. */
      bm_undo_restore(m, chunk_bm(db, u), &u->u.chunk.bu);
      return;
    case DB_U_CUST: {
      uint64_t *ref = pc_map64_ref(&db->cus, u->cid);
      cu_rec *cur = ref ? (cu_rec *)(uintptr_t)*ref : NULL;
      if (u->u.rec) {
        if (ref) *ref = (uint64_t)(uintptr_t)u->u.rec;
        else pc_map64_put(m, &db->cus, u->cid, (uint64_t)(uintptr_t)u->u.rec); /* reserved */
        tx->cus_pending--;
      } else if (ref) {
        pc_map64_del(&db->cus, u->cid);
      }
      cu_free(m, cur);
      db_cust_changed(db, u->cid);
      if (u->lv & DB_TX_TXN) pc_map64_del(&tx->seen_txn, u->cid);
      if (u->lv & DB_TX_CALL) pc_map64_del(&tx->seen_call, u->cid);
      return;
    }
    case DB_U_TAGBM: bm_move(m, &db->tags.v[u->id].members, &u->u.b); break;
    case DB_U_ALL: bm_move(m, &db->all, &u->u.b); break;
    case DB_U_HAS: bm_move(m, &db->av[u->id].has, &u->u.b); break;
    case DB_U_TAG: {
      /* The name goes back into the index in a second pass (names_back):
       * until every tag is restored, another tag may still hold it. */
      tg_tag *t = &db->tags.v[u->id];
      uint32_t cur;
      if (t->live) {
        if (tg_find(&db->tags, t->name, t->len, &cur) == POND_OK && cur == u->id)
          pc_strmap_del(&db->tags.ids, t->name, t->len);
        db->tags.live--;
      }
      pc_free(m, t->name, t->name ? t->len + 1 : 0);
      t->name = u->u.tag.name;
      t->len = u->u.tag.len;
      t->group = u->u.tag.group;
      t->live = u->u.tag.live;
      if (t->live) {
        db->tags.live++;
        tx->name_pending--;
      }
      break;
    }
    case DB_U_TAGNEW: tags_truncate(db, u->u.n); break;
    case DB_U_DICT: db_dict_truncate(m, &db->av[u->id].dict, u->u.n); break;
    case DB_U_DEFS:
      df_free(m, db->defs);
      db->defs = u->u.defs;
      db->defs_gen++;
      break;
    case DB_U_AVN:
      while (db->nav > u->u.n) db_attrv_free(m, &db->av[--db->nav]);
      break;
    case DB_U_EXT: lc_undo_to(db, u->cid); break;
  }
  /* Flags of objects a truncation destroyed were cleared with them. */
  if (fl) *fl &= (uint8_t)~u->lv;
}

/* Second pass of a rollback over log[from, to): the restored tags' names
 * return to the index (the room was reserved when the images were taken). */
static void names_back(pond_db *db, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) {
    const db_undo *u = &db->tx.log[i];
    if (u->kind != DB_U_TAG || !u->u.tag.live) continue;
    const tg_tag *t = tg_get(&db->tags, u->id);
    if (t) pc_strmap_put(&db->mem, &db->tags.ids, t->name, t->len, u->id);
  }
}

/* Frees an image that is no longer needed. */
static void release(pond_db *db, db_undo *u) {
  pc_mem *m = &db->mem;
  switch (u->kind) {
    case DB_U_CUST:
      if (u->u.rec) {
        cu_free(m, u->u.rec);
        db->tx.cus_pending--;
      }
      break;
    case DB_U_TAGBM:
    case DB_U_ALL:
    case DB_U_HAS: bm_free(m, &u->u.b); break;
    case DB_U_TAG:
      pc_free(m, u->u.tag.name, u->u.tag.name ? u->u.tag.len + 1 : 0);
      if (u->u.tag.live) db->tx.name_pending--;
      break;
    case DB_U_DEFS: df_free(m, u->u.defs); break;
    case DB_U_CHUNK: bm_undo_release(m, &u->u.chunk.bu); break;
    case DB_U_EXT: lc_undo_release(db, u->cid); break;
    default: break;
  }
}

void db_call_begin(pond_db *db) {
  db->tx.call = 1;
  db->tx.mark = db->tx.n;
}

int db_call_end(pond_db *db, int rc) {
  db_txn *tx = &db->tx;
  if (rc < 0) {
    size_t top = tx->n;
    while (tx->n > tx->mark) restore(db, &tx->log[--tx->n]);
    names_back(db, tx->mark, top);
  } else {
    size_t w = tx->mark;
    for (size_t i = tx->mark; i < tx->n; i++) {
      db_undo *u = &tx->log[i];
      uint8_t *fl = flags_of(db, u);
      if (fl) *fl &= (uint8_t)~DB_TX_CALL;
      if (tx->open && (u->lv & DB_TX_TXN)) {
        u->lv = DB_TX_TXN; /* still the transaction's image */
        tx->log[w++] = *u;
      } else {
        release(db, u);
      }
    }
    tx->n = w;
  }
  tx->call = 0;
  pc_map64_free(&db->mem, &tx->seen_call);
  return rc;
}

static void txn_end(pond_db *db, int commit) {
  db_txn *tx = &db->tx;
  if (commit) {
    for (size_t i = 0; i < tx->n; i++) {
      uint8_t *fl = flags_of(db, &tx->log[i]);
      if (fl) *fl = 0;
      release(db, &tx->log[i]);
    }
    tx->n = 0;
  } else {
    size_t top = tx->n;
    while (tx->n) restore(db, &tx->log[--tx->n]);
    names_back(db, 0, top);
    for (size_t i = 0; i < top; i++) {
      uint8_t *fl = tx->log[i].kind == DB_U_CHUNK ? flags_of(db, &tx->log[i]) : NULL;
      if (fl) *fl = 0; /* slots of destroyed tags and attributes stay allocated */
    }
  }
  tx->open = 0;
  tx->implicit = 0;
  pc_map64_free(&db->mem, &tx->seen_txn);
  /* A long transaction's log need not outlive it. */
  if (tx->cap > 1024) {
    pc_free(&db->mem, tx->log, tx->cap * sizeof *tx->log);
    tx->log = NULL;
    tx->cap = 0;
  }
}

void db_txn_close(pond_db *db) {
  if (db->tx.call) db_call_end(db, POND_EMISUSE);
  if (db->tx.open) txn_end(db, 0);
  pc_free(&db->mem, db->tx.log, db->tx.cap * sizeof *db->tx.log);
  db->tx.log = NULL;
  db->tx.cap = 0;
  pc_map64_free(&db->mem, &db->tx.seen_txn);
  pc_map64_free(&db->mem, &db->tx.seen_call);
}

/* Writes the open transaction's records to storage (when there are any);
 * on failure rolls it back. Then ends it. */
static int txn_finish(pond_db *db) {
  if (db->st && db->tx.n) {
    int rc = st_db_commit(db);
    if (rc < 0) {
      txn_end(db, 0);
      return rc;
    }
  }
  txn_end(db, 1);
  return POND_OK;
}

int db_txn_implicit_end(pond_db *db, int rc) {
  if (rc < 0) {
    txn_end(db, 0); /* the call left state unchanged: restores are no-ops */
    return rc;
  }
  int src = txn_finish(db);
  return src < 0 ? src : rc;
}

/* ------------------------------------------------------------- public API */

int pond_begin(pond_db *db) {
  if (!db) return POND_EMISUSE;
  db_lock(db);
  int rc = POND_OK;
  if (db->tx.open && !db->tx.implicit)
    rc = pc_errf(&db->err, POND_EMISUSE, "begin: a transaction is already open");
  else {
    db->tx.open = 1; /* an implicit one opened by db_lock is still empty */
    db->tx.implicit = 0;
  }
  return db_unlock(db, rc);
}

int pond_commit(pond_db *db) {
  if (!db) return POND_EMISUSE;
  db_lock(db);
  int rc = POND_OK;
  if (!db->tx.open || db->tx.implicit)
    rc = pc_errf(&db->err, POND_EMISUSE, "commit: no transaction is open");
  else rc = txn_finish(db);
  return db_unlock(db, rc);
}

int pond_rollback(pond_db *db) {
  if (!db) return POND_EMISUSE;
  db_lock(db);
  int rc = POND_OK;
  if (!db->tx.open || db->tx.implicit)
    rc = pc_errf(&db->err, POND_EMISUSE, "rollback: no transaction is open");
  else txn_end(db, 0);
  return db_unlock(db, rc);
}
