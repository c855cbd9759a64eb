/*
 * env_mem.h — an in-memory st_env that can simulate power loss and inject
 * faults. Built into the tests and fuzzers only (not into libpond).
 *
 * It keeps, for every file, its content as of its last sync and the writes
 * (and truncations) made since; for the directory tree, the entries as of
 * the last directory sync and the creations, renames and unlinks made
 * since. st_memenv_crash builds the file system a power loss could leave:
 * the synced state plus some prefix of what was not synced, with the last
 * surviving write optionally torn. A hook sees every operation first and
 * can fail it, to inject I/O errors or to stop a workload at a crash point.
 */
#ifndef POND_STORE_ENV_MEM_H
#define POND_STORE_ENV_MEM_H

#include "core/mem.h"
#include "store/env.h"

typedef struct st_memenv st_memenv;

typedef enum st_memop {
  ST_MEM_OPEN,   /* open of an existing file (path) */
  ST_MEM_CREATE, /* open that creates a file */
  ST_MEM_READ,
  ST_MEM_WRITE,
  ST_MEM_SYNC,
  ST_MEM_TRUNCATE,
  ST_MEM_PREALLOC,
  ST_MEM_RENAME, /* path: the source */
  ST_MEM_UNLINK,
  ST_MEM_MKDIR,
  ST_MEM_SYNC_DIR,
  ST_MEM_LIST,
  ST_MEM_LOCK
} st_memop;

/* Returns 0 to let the operation happen, or a status (POND_ESTORAGE…) that
 * it fails with, having done nothing. */
typedef int (*st_memhook)(void *arg, st_memop op, const char *path);

st_memenv *st_memenv_new(pc_mem *m);
void st_memenv_free(st_memenv *me);
const st_env *st_memenv_env(st_memenv *me);
void st_memenv_set_hook(st_memenv *me, st_memhook hook, void *arg);

/* Creates or replaces path with n bytes, synced and durably named. */
int st_memenv_put(st_memenv *me, const char *path, const void *data, size_t n);
/* The current content of path, or NULL if there is no such file. */
const uint8_t *st_memenv_get(const st_memenv *me, const char *path, size_t *n);
/* Unsynced writes of path, and the range of the i-th (for choosing tears). */
size_t st_memenv_pending(const st_memenv *me, const char *path);
int st_memenv_pending_at(const st_memenv *me, const char *path, size_t i,
                         uint64_t *off, uint64_t *len);

/* Directory operations since the last directory sync. */
size_t st_memenv_dir_pending(const st_memenv *me);

/* What survives a power loss. */
typedef struct st_crash {
  long dir_ops;     /* directory operations since the last directory sync
                       that survive, oldest first; -1: all */
  long writes;      /* per file, unsynced writes that survive, oldest
                       first; -1: all */
  long lose;        /* -1, or one unsynced write (by index) that is lost
                       while later ones survive (writeback reordering) */
  uint64_t tear_at; /* 0, or: the last surviving write keeps only its bytes
                       below this file offset; the rest of its range reads
                       as zeros, or as garbage if garbage is set */
  int garbage;
} st_crash;

/* A deep copy (including what is not yet synced); NULL on ENOMEM. */
st_memenv *st_memenv_clone(const st_memenv *me);
/* A new env holding the state after a power loss; no locks, no hook.
 * NULL on ENOMEM. */
st_memenv *st_memenv_crash(const st_memenv *me, const st_crash *c);

#endif
