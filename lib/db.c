/*
 * db.c — the pond_db handle: open/close, the per-handle mutex, errors and
 * memory accounting.
 *
 * Locking: every public call on a db takes db->mu for its whole duration,
 * so calls are serialized. Sets (pond_set) are independent of the mutex:
 * they share bitmap containers copy-on-write with atomic reference counts,
 * and their memory is accounted atomically (core/mem.h).
 *
 * Errors: the call in progress writes its message into db->err (under the
 * mutex). When it fails, db_unlock copies that report into the calling
 * thread's slot: DB_ERR_SLOTS slots keyed by pthread_self(), the least
 * recently failed one reused when all are taken. pond_errmsg and
 * pond_error_offset read the calling thread's slot, so a thread sees its own
 * last error even while other threads use the handle (up to DB_ERR_SLOTS
 * threads failing in between). Successful calls leave the slot alone.
 *
 * A failed pond_open has no handle: its message is kept in a thread-local
 * buffer that only pond_open writes and only pond_errmsg(NULL) reads — the
 * one piece of state outside a handle, and per thread by construction.
 *
 * Persistence (lib/store/persist.h): with storage attached, db_lock opens an
 * implicit transaction for the call unless pond_begin's is open, and
 * db_unlock ends it — one storage commit with every record the call
 * changed, or a rollback when the call or the commit failed.
 */
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "lifecycle/lc.h"
#include "query/qydb.h"
#include "store/filestore.h"
#include "store/persist.h"

static _Thread_local char open_errmsg[PC_ERRMSG_MAX];

static void open_fail(const char *msg) { snprintf(open_errmsg, sizeof open_errmsg, "%s", msg); }

/* The defaults of pond.h for every zero field of lim. */
static pond_limits limits_with_defaults(const pond_limits *in) {
  pond_limits l = *in;
  if (!l.query_max_len) l.query_max_len = 65536;
  if (!l.query_max_depth) l.query_max_depth = 64;
  if (!l.query_max_nodes) l.query_max_nodes = 4096;
  if (!l.query_max_in_items) l.query_max_in_items = 10000;
  if (!l.define_max_len) l.define_max_len = (size_t)16 << 20;
  if (!l.define_max_depth) l.define_max_depth = 64;
  return l;
}

static int db_open(const pond_options *opt, const pond_storage *s, const char *path,
                   unsigned fsflags, pond_db **out);

int pond_open(const pond_options *opt, pond_db **out) {
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  if (opt) {
    if (opt->version != POND_OPTIONS_V1) {
      open_fail("open: unsupported pond_options.version (this library reads version 1)");
      return POND_EINVAL;
    }
    o = *opt;
  }
  if (!out) {
    open_fail("open: out is NULL");
    return POND_EINVAL;
  }
  if (o.storage && (o.storage->version < POND_STORAGE_V1 || !o.storage->scan || !o.storage->commit)) {
    open_fail(o.storage->version < POND_STORAGE_V1
                  ? "open: unsupported pond_storage.version (this library reads version 1)"
                  : "open: pond_storage needs scan and commit");
    return POND_EINVAL;
  }
  if (o.flags & ~POND_AUTOCREATE) {
    open_fail("open: unknown bits in pond_options.flags");
    return POND_EINVAL;
  }
  return db_open(&o, o.storage, NULL, 0, out);
}

/* Frees everything of a handle but its storage (pond_close detaches that
 * first). */
static void db_destroy(pond_db *db) {
  pc_mem *m = &db->mem;
  db_txn_close(db);
  qy_db_close(db);
  lc_close(db);
  uint64_t cid, v;
  size_t it = 0;
  while (pc_map64_next(&db->cus, &it, &cid, &v)) cu_free(m, (cu_rec *)(uintptr_t)v);
  pc_map64_free(m, &db->cus);
  bm_free(m, &db->all);
  tg_free(m, &db->tags);
  for (uint32_t i = 0; i < db->nav; i++) db_attrv_free(m, &db->av[i]);
  pc_free(m, db->av, db->cav * sizeof *db->av);
  df_free(m, db->defs);
  pthread_mutex_destroy(&db->mu);
  /* db->mem lives inside the block being freed: free through a copy. */
  pc_mem last;
  pc_mem_init(&last, m->fn, m->ud, 0);
  atomic_store(&last.used, sizeof *db);
  pc_free(&last, db, sizeof *db);
}

/* A new handle for options o (checked), then its storage: the host's s, or
 * the file store in directory path (path != NULL, with fsflags). */
static int db_open(const pond_options *opt, const pond_storage *s, const char *path,
                   unsigned fsflags, pond_db **out) {
  pond_options o = *opt;
  /* The handle itself is the first allocation through the host's hook. */
  pc_mem boot;
  pc_mem_init(&boot, o.alloc, o.alloc_ud, o.memory_limit);
  pond_db *db = pc_calloc(&boot, sizeof *db);
  if (!db) {
    open_fail("open: out of memory allocating the handle");
    return POND_ENOMEM;
  }
  if (pthread_mutex_init(&db->mu, NULL) != 0) {
    pc_free(&boot, db, sizeof *db);
    open_fail("open: cannot create the handle's mutex");
    return POND_ENOMEM;
  }
  pc_mem_init(&db->mem, o.alloc, o.alloc_ud, o.memory_limit);
  atomic_store(&db->mem.used, atomic_load(&boot.used));
  pc_err_clear(&db->err);
  db->lim = limits_with_defaults(&o.limits);
  db->flags = o.flags;
  pc_map64_init(&db->cus);
  bm_init(&db->all);
  tg_init(&db->tags);
  db_txn_init(&db->tx);
  db->defs = df_new(&db->mem);
  if (!db->defs) {
    pthread_mutex_destroy(&db->mu);
    pc_free(&boot, db, sizeof *db);
    open_fail("open: out of memory");
    return POND_ENOMEM;
  }
  if (!s && !path) {
    *out = db;
    return POND_OK;
  }
  pond_storage fs;
  int rc = POND_OK;
  if (path) {
    rc = st_file_open(&db->mem, path, fsflags, NULL, &fs, &db->err);
    s = &fs;
  }
  if (rc == POND_OK) {
    rc = st_db_attach(db, s, path != NULL);
    if (rc < 0 && path) fs.close(fs.ctx);
  }
  if (rc < 0) {
    open_fail(db->err.msg[0] ? db->err.msg : pond_strerror(rc));
    db_destroy(db);
    return rc;
  }
  pc_err_clear(&db->err);
  *out = db;
  return POND_OK;
}

int pond_open_path(const char *path, unsigned flags, pond_db **out) {
  if (!path || !*path || !out) {
    open_fail("open_path: path is NULL or empty, or out is NULL");
    return POND_EINVAL;
  }
  if (flags & ~(POND_NOSYNC | POND_AUTOCREATE)) {
    open_fail("open_path: unknown flags (POND_NOSYNC and POND_AUTOCREATE are known)");
    return POND_EINVAL;
  }
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  o.flags = flags & POND_AUTOCREATE;
  return db_open(&o, NULL, path, flags & POND_NOSYNC, out);
}

void pond_close(pond_db *db) {
  if (!db) return;
  db_txn_close(db); /* an open transaction is rolled back, never written */
  st_db_detach(db);
  db_destroy(db);
}

int pond_compact(pond_db *db) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  int rc;
  if (!db->st || !db->st->file)
    rc = pc_errf(&db->err, POND_EMISUSE, "compact: the db is not on the embedded file store");
  else rc = st_file_compact(db->st->s.ctx, &db->err);
  return db_unlock(db, rc);
}

void db_lock(pond_db *db) {
  pthread_mutex_lock(&db->mu);
  db->err.code = POND_OK;
  db->err.offset = -1;
  db->err.msg[0] = 0;
  if (db->st && !db->tx.open) {
    db->tx.open = 1;
    db->tx.implicit = 1;
  }
}

/* The calling thread's slot; with claim, a free or the least recently used
 * slot is taken for it. */
static db_errslot *slot_of(pond_db *db, int claim) {
  pthread_t self = pthread_self();
  db_errslot *lru = &db->slots[0];
  for (int i = 0; i < DB_ERR_SLOTS; i++) {
    db_errslot *s = &db->slots[i];
    if (s->stamp && pthread_equal(s->tid, self)) return s;
    if (s->stamp < lru->stamp) lru = s;
  }
  if (!claim) return NULL;
  lru->tid = self;
  return lru;
}

int db_unlock(pond_db *db, int rc) {
  if (db->tx.implicit) rc = db_txn_implicit_end(db, rc);
  if (rc < 0) {
    db_errslot *s = slot_of(db, 1);
    s->stamp = ++db->err_clock;
    if (db->err.code != rc || !db->err.msg[0]) {
      /* A failure without its own message: say at least what it is. */
      db->err.offset = db->err.code == rc ? db->err.offset : -1;
      snprintf(db->err.msg, sizeof db->err.msg, "%s", pond_strerror(rc));
    }
    s->e.code = rc;
    s->e.offset = db->err.offset;
    memcpy(s->e.msg, db->err.msg, strlen(db->err.msg) + 1);
  }
  pthread_mutex_unlock(&db->mu);
  return rc;
}

const char *pond_errmsg(const pond_db *cdb) {
  if (!cdb) return open_errmsg;
  pond_db *db = (pond_db *)cdb; /* the lock is not part of the logical state */
  pthread_mutex_lock(&db->mu);
  db_errslot *s = slot_of(db, 0);
  const char *msg = s ? s->e.msg : "";
  pthread_mutex_unlock(&db->mu);
  return msg;
}

long pond_error_offset(const pond_db *cdb) {
  if (!cdb) return -1;
  pond_db *db = (pond_db *)cdb;
  pthread_mutex_lock(&db->mu);
  db_errslot *s = slot_of(db, 0);
  long off = s ? s->e.offset : -1;
  pthread_mutex_unlock(&db->mu);
  return off;
}

size_t pond_memory_used(const pond_db *db) {
  return db ? atomic_load(&db->mem.used) : 0;
}
