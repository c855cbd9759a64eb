/*
 * fs.h — the file store's handle, shared by its source files:
 *   fs_open.c     open: lock, choose the authoritative generation, create
 *   fs_replay.c   replay a log into the index; torn tail vs corruption
 *   fs_commit.c   the vtable: commit, scan, close, errmsg; stats
 *   fs_scan.c     reading values in key order, in windows
 *   fs_compact.c  compaction into a new generation
 */
#ifndef POND_STORE_FS_H
#define POND_STORE_FS_H

#include "store/filestore.h"
#include "store/fs_index.h"
#include "store/fs_log.h"

typedef struct st_fs {
  pc_mem *m;
  const st_env *env;
  unsigned flags;
  char *dir;       /* copied, without trailing '/' */
  size_t dirlen;
  char *pa, *pb;   /* path buffers, dirlen + ST_NAME_MAX bytes each */
  int lockfd, fd;  /* fd: the current generation's log, or -1 */
  uint64_t gen;    /* the current generation */
  uint64_t end;    /* offset of the next batch = bytes of valid log */
  uint64_t synced; /* bytes known durable; end == synced after a sync */
  uint64_t alloc_end; /* file size: end plus zeros reserved by prealloc */
  uint64_t seq;    /* sequence number of the next batch */
  st_index ix;
  uint8_t *wbuf;   /* encoding buffer for batches */
  size_t wcap;
  st_rec **orecs;  /* the recs of the ops of the commit in progress */
  size_t orcap;
  uint8_t *rbuf;   /* read buffer (replay and scans) */
  size_t rcap;
  void *win;       /* scan window arrays (fs_scan.c), allocated once */
  int failed;      /* sticky: the log's state on disk is unknown */
  int busy;        /* inside a scan: commit and compact are refused */
  uint64_t compact_min;
  unsigned compact_pct;
  st_file_stats st;
  pc_err err; /* the vtable's last error, for errmsg */
} st_fs;

/* "dir/<16 hex>.log" plus ".tmp"; the buffer size beyond dirlen. */
#define ST_NAME_MAX 32
const char *st_fs_path(st_fs *fs, char *buf, uint64_t gen, int tmp);

int st_fs_replay(st_fs *fs, pc_err *e);

/* Calls each(arg, rec, val) for every live rec whose key starts with
 * prefix, in key order; val points at the rec's value bytes (valid during
 * the call). Stops at and returns each's first non-zero result. */
int st_fs_walk(st_fs *fs, const void *prefix, size_t plen,
               int (*each)(void *arg, const st_rec *rec, const uint8_t *val),
               void *arg, pc_err *e);
void st_fs_walk_free(st_fs *fs);

int st_fs_compact(st_fs *fs, pc_err *e);

/* Grow fs->wbuf to n bytes. */
int st_fs_wbuf(st_fs *fs, size_t n);

/* Fills *out with the vtable of fs. */
void st_fs_vtable(st_fs *fs, pond_storage *out);
/* Frees fs and everything it holds (closes files, drops the lock). */
void st_fs_destroy(st_fs *fs);

#endif
