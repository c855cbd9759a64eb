/*
 * filestore.h — pond's embedded file store: an append-only log of commit
 * batches in one directory, exposed as a pond_storage V1 (see pond.h and
 * lib/store/README.md for the format, the recovery rules and the costs).
 *
 * The db opens it from pond_open_path:
 *   pond_storage s;
 *   rc = st_file_open(&db->mem, path, flags, NULL, &s, &db->err);
 * and from then on uses only the vtable; s.close(s.ctx) frees everything.
 * The store is not thread-safe: calls on one store must not overlap.
 */
#ifndef POND_STORE_FILESTORE_H
#define POND_STORE_FILESTORE_H

#include <stdint.h>

#include "core/err.h"
#include "core/mem.h"
#include "pond.h"
#include "store/env.h"

/*
 * Opens (creating) the store in directory dir (created if missing) and
 * fills *out with a pond_storage V1 whose ctx is the store. flags:
 * POND_NOSYNC (commits return before their batch is durable; a clean close
 * still syncs). env: NULL for the POSIX file system.
 * The store keeps m and env (they must outlive it) and copies dir.
 * Errors (nothing is left open, *out untouched): POND_EBUSY (another opener
 * holds the directory's LOCK), POND_ECORRUPT (a log that recovery must not
 * repair: damage before its last batch, a bad header, a newer format),
 * POND_ESTORAGE (I/O), POND_ENOMEM, POND_EINVAL (NULL argument).
 */
int st_file_open(pc_mem *m, const char *dir, unsigned flags, const st_env *env,
                 pond_storage *out, pc_err *e);

/*
 * Rewrites the live records into a new log generation and switches to it
 * atomically (used by pond_compact; also run automatically by commit when
 * garbage passes the threshold). On failure the old generation stays in
 * use and nothing changed — except when the directory could not be synced
 * after the switch: then the store refuses further commits (POND_ESTORAGE)
 * until reopened. POND_EMISUSE from inside a scan callback.
 */
int st_file_compact(void *ctx, pc_err *e);

typedef struct st_file_stats {
  uint64_t live;            /* live records */
  uint64_t log_bytes;       /* size of the current log file */
  uint64_t live_bytes;      /* encoded size of the live records' ops */
  uint64_t garbage_bytes;   /* log_bytes minus header and live_bytes */
  uint64_t generation;      /* number of the current log file */
  uint64_t next_seq;        /* sequence number the next batch gets */
  uint64_t compactions;     /* completed by this handle */
  uint64_t compact_failures;/* automatic compactions that failed */
  uint64_t tail_dropped;    /* bytes after the last intact batch, truncated
                               at open (preallocated zeros included) */
  uint64_t tail_torn;       /* 1 if those bytes were not all zeros: a torn
                               write or unsynced batches were dropped */
  uint64_t index_bytes;     /* memory held by the in-memory index */
} st_file_stats;

void st_file_stats_get(void *ctx, st_file_stats *out);

/*
 * Automatic compaction runs after a commit when the garbage is at least
 * min_bytes and at least pct percent of the log. Defaults: 8 MiB, 50%.
 * pct == 0 disables it.
 */
void st_file_tune(void *ctx, uint64_t min_bytes, unsigned pct);

#endif
