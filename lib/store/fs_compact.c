/*
 * fs_compact.c — compaction: write the live records, in key order, into the
 * next generation's log and switch to it.
 *
 *   1. write <gen+1>.log.tmp: header (base sequence = the next sequence
 *      number, so sequence numbers never repeat across generations), then
 *      the records in batches of up to 1 MiB, all ANCHORED (the file is
 *      adopted only once it is synced whole)
 *   2. fdatasync it
 *   3. rename it to <gen+1>.log       — from here it is the highest .log
 *   4. fsync the directory            — from here the rename is durable
 *   5. switch the handle to it, repoint the index at the new offsets
 *   6. unlink <gen>.log (if that fails, the next open removes it)
 * A crash before 3 leaves a .tmp that the next open deletes; after 3 the new
 * log is complete, holds every acknowledged batch, and wins. If step 4
 * fails the store cannot tell which generation a crash would leave
 * authoritative, so it refuses further commits until reopened.
 * Cost: O(live records) time, one sequential write of the live data, and 8
 * bytes of memory per live record for the new offsets.
 */
#include <string.h>

#include "core/crc32c.h"
#include "store/fs.h"

#define CB_BODY ((size_t)1 << 20)

typedef struct cw {
  st_fs *fs;
  int fd;
  uint64_t out;   /* file offset of the batch being built */
  uint64_t seq;   /* its sequence number */
  size_t body;    /* bytes of body in fs->wbuf + ST_FRAME_SIZE */
  uint32_t count; /* ops in it */
  uint64_t *newoff;
  size_t k, n;    /* records written, records expected */
  pc_err *e;
} cw;

static int cw_flush(cw *c) {
  if (!c->count) return POND_OK;
  st_fs *fs = c->fs;
  st_frame f = {c->seq, (uint32_t)c->body, c->count, ST_BF_ANCHORED,
                pc_crc32c(0, fs->wbuf + ST_FRAME_SIZE, c->body)};
  st_frame_encode(fs->wbuf, &f);
  int rc = fs->env->write(fs->env->ctx, c->fd, c->out, fs->wbuf, ST_FRAME_SIZE + c->body, c->e);
  if (rc) return rc;
  c->out += ST_FRAME_SIZE + c->body;
  c->seq++;
  c->body = 0;
  c->count = 0;
  return POND_OK;
}

static int cw_each(void *arg, const st_rec *rec, const uint8_t *val) {
  cw *c = arg;
  st_fs *fs = c->fs;
  size_t sz = st_op_size(rec->klen, 1, rec->vlen);
  if (c->k == c->n) return pc_errf(c->e, POND_ESTORAGE, "file store: more live records than counted");
  if (c->count && c->body + sz > CB_BODY) {
    int rc = cw_flush(c);
    if (rc) return rc;
  }
  /* Only an empty batch can need more room (one value over 1 MiB), so
   * growing without copying loses nothing. */
  if (st_fs_wbuf(fs, ST_FRAME_SIZE + c->body + sz))
    return pc_errf(c->e, POND_ENOMEM, "file store: out of memory compacting");
  size_t voff;
  uint8_t *p = fs->wbuf + ST_FRAME_SIZE + c->body;
  st_op_encode(p, rec->key, rec->klen, val, rec->vlen, &voff);
  c->newoff[c->k++] = c->out + ST_FRAME_SIZE + c->body + voff;
  c->body += sz;
  c->count++;
  return POND_OK;
}

/* Steps 1-3; on failure the .tmp is removed and nothing else changed. */
static int write_next(st_fs *fs, cw *c, pc_err *e) {
  const st_env *env = fs->env;
  uint64_t ngen = fs->gen + 1;
  const char *tmp = st_fs_path(fs, fs->pa, ngen, 1);
  int rc = env->open(env->ctx, tmp, ST_ENV_CREATE | ST_ENV_TRUNC, &c->fd, e);
  if (rc) return rc;
  uint8_t h[ST_HDR_SIZE];
  st_hdr hdr = {ngen, fs->seq};
  st_hdr_encode(h, &hdr);
  rc = env->write(env->ctx, c->fd, 0, h, sizeof h, e);
  if (!rc) rc = st_fs_walk(fs, NULL, 0, cw_each, c, e);
  if (!rc) rc = cw_flush(c);
  /* Cannot happen (the walk visits exactly the live recs), but a short
   * generation must never be given a .log name. */
  if (!rc && c->k != c->n)
    rc = pc_errf(e, POND_ESTORAGE, "file store: compaction wrote %zu of %zu records", c->k, c->n);
  if (!rc) rc = env->sync(env->ctx, c->fd, e);
  if (!rc) rc = env->rename(env->ctx, tmp, st_fs_path(fs, fs->pb, ngen, 0), e);
  if (rc) {
    pc_err ignored;
    env->close(env->ctx, c->fd);
    (void)env->unlink(env->ctx, st_fs_path(fs, fs->pa, ngen, 1), &ignored);
  }
  return rc;
}

int st_fs_compact(st_fs *fs, pc_err *e) {
  st_index *ix = &fs->ix;
  const st_env *env = fs->env;
  if (st_index_sort(ix)) return pc_errf(e, POND_ENOMEM, "file store: out of memory compacting");
  st_index_purge(ix); /* ord now lists exactly the live recs, in key order */
  size_t n = ix->n;
  cw c = {fs, -1, ST_HDR_SIZE, fs->seq, 0, 0, NULL, 0, n, e};
  if (n && !(c.newoff = pc_alloc(fs->m, n * sizeof *c.newoff)))
    return pc_errf(e, POND_ENOMEM, "file store: out of memory compacting");
  int rc = POND_OK;
  if (st_fs_wbuf(fs, ST_FRAME_SIZE + CB_BODY))
    rc = pc_errf(e, POND_ENOMEM, "file store: out of memory compacting");
  if (!rc) rc = write_next(fs, &c, e);
  if (!rc) {
    rc = env->sync_dir(env->ctx, fs->dir, e);
    if (rc) {
      env->close(env->ctx, c.fd);
      fs->failed = 1;
    }
  }
  if (rc) {
    pc_free(fs->m, c.newoff, n * sizeof *c.newoff);
    return rc;
  }
  env->close(env->ctx, fs->fd);
  fs->fd = c.fd;
  fs->gen++;
  for (size_t i = 0; i < n; i++) ix->ord[i].rec->off = c.newoff[i];
  pc_free(fs->m, c.newoff, n * sizeof *c.newoff);
  fs->end = fs->synced = fs->alloc_end = c.out;
  fs->seq = c.seq;
  fs->st.compactions++;
  pc_err ignored;
  (void)env->unlink(env->ctx, st_fs_path(fs, fs->pa, fs->gen - 1, 0), &ignored);
  return POND_OK;
}
