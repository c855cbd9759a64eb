/*
 * fs_replay.c — replaying the authoritative log into the index at open,
 * and deciding what a bad batch means.
 *
 * Batches are checked in order: complete frame with intact magic and
 * header checksum, body within the file, body checksum, the expected
 * sequence number. The first batch that fails is either a torn write or
 * corruption, and the rest of the file decides which:
 *  - if some later offset holds an intact batch (frame and body checksums
 *    good, sequence >= the expected one) that is ANCHORED — its writer had
 *    synced everything before it — then the bad batch had been durable and
 *    is damaged: POND_ECORRUPT, nothing is truncated or lost silently;
 *  - otherwise the bad batch and everything after it were never durable
 *    (a write torn by a crash, or unsynced POND_NOSYNC batches): the log is
 *    truncated there and synced, and the store opens with every batch
 *    before it.
 * With fsync on every commit each batch is ANCHORED, so damage anywhere but
 * in the last batch is reported, and only the last batch can be dropped.
 * Intact batches that are not anchored are skipped whole during the
 * search, so a value that embeds bytes resembling a batch inside a valid
 * batch is never mistaken for one.
 */
#include <string.h>

#include "core/crc32c.h"
#include "store/fs.h"

#define RD_CHUNK ((size_t)1 << 20)
#define RBUF_KEEP ((size_t)4 << 20)

typedef struct rd {
  st_fs *fs;
  uint64_t size; /* file size */
  uint64_t boff; /* file offset of rbuf[0] */
  size_t blen;   /* bytes of rbuf valid */
} rd;

/* Makes file bytes [off, off + n) available at *p; requires n <= size - off. */
static int rd_get(rd *r, uint64_t off, size_t n, const uint8_t **p, pc_err *e) {
  st_fs *fs = r->fs;
  if (off >= r->boff && off - r->boff <= r->blen && n <= r->blen - (off - r->boff)) {
    *p = fs->rbuf + (off - r->boff);
    return POND_OK;
  }
  size_t want = n > RD_CHUNK ? n : RD_CHUNK;
  if (want > r->size - off) want = (size_t)(r->size - off);
  if (fs->rcap < want) {
    pc_free(fs->m, fs->rbuf, fs->rcap);
    fs->rcap = 0;
    fs->rbuf = pc_alloc(fs->m, want);
    if (!fs->rbuf) return pc_errf(e, POND_ENOMEM, "file store: out of memory reading the log");
    fs->rcap = want;
  }
  r->blen = 0;
  size_t got;
  int rc = fs->env->read(fs->env->ctx, fs->fd, off, fs->rbuf, want, &got, e);
  if (rc) return rc;
  if (got < n) return pc_errf(e, POND_ESTORAGE, "file store: log shrank while being read");
  r->boff = off;
  r->blen = got;
  *p = fs->rbuf;
  return POND_OK;
}

/* Why the batch at off is not the expected next one; 0 if it is, and then
 * *f holds its frame. Only reads; the body is left in rbuf. */
enum { BATCH_OK, BATCH_SHORT, BATCH_FRAME, BATCH_BODY, BATCH_STALE, BATCH_GAP };

static int check_batch(rd *r, uint64_t off, uint64_t expect, st_frame *f,
                       const uint8_t **body, int *why, pc_err *e) {
  const uint8_t *p = NULL;
  *why = BATCH_SHORT;
  if (r->size - off < ST_FRAME_SIZE) return POND_OK;
  int rc = rd_get(r, off, ST_FRAME_SIZE, &p, e);
  if (rc) return rc;
  *why = BATCH_FRAME;
  if (!st_frame_decode(p, f) || f->len > ST_BODY_MAX) return POND_OK;
  *why = BATCH_SHORT;
  if (f->len > r->size - off - ST_FRAME_SIZE) return POND_OK;
  rc = rd_get(r, off + ST_FRAME_SIZE, f->len, body, e);
  if (rc) return rc;
  *why = BATCH_BODY;
  if (pc_crc32c(0, *body, f->len) != f->bcrc) return POND_OK;
  *why = f->seq < expect ? BATCH_STALE : f->seq > expect ? BATCH_GAP : BATCH_OK;
  return POND_OK;
}

static const char *why_text(int why) {
  switch (why) {
    case BATCH_SHORT: return "incomplete";
    case BATCH_FRAME: return "frame checksum mismatch";
    case BATCH_BODY: return "body checksum mismatch";
    default: return "stale sequence number";
  }
}

static int all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

/* The batch at bad (expected sequence expect) failed for reason why. Scan
 * the rest of the file for an anchored intact batch (see top comment).
 * Candidates start with the magic's first byte, found with memchr. */
static int torn_or_corrupt(st_fs *fs, rd *r, uint64_t bad, uint64_t expect, int why,
                           pc_err *e) {
  static const uint8_t magic0 = (uint8_t)ST_FRAME_MAGIC;
  uint64_t off = bad + 1;
  while (r->size - off >= ST_FRAME_SIZE) {
    size_t n = r->size - off > RD_CHUNK ? RD_CHUNK : (size_t)(r->size - off);
    const uint8_t *p;
    int rc = rd_get(r, off, n, &p, e);
    if (rc) return rc;
    const uint8_t *hit = memchr(p, magic0, n - (ST_FRAME_SIZE - 1));
    if (!hit) {
      off += n - (ST_FRAME_SIZE - 1);
      continue;
    }
    off += (uint64_t)(hit - p);
    if (st_get32(hit) != ST_FRAME_MAGIC) {
      off++;
      continue;
    }
    st_frame f;
    const uint8_t *body;
    int w;
    rc = check_batch(r, off, expect, &f, &body, &w, e);
    if (rc) return rc;
    if (w != BATCH_OK && w != BATCH_GAP) {
      off++;
      continue;
    }
    if (f.flags & ST_BF_ANCHORED)
      return pc_errf(e, POND_ECORRUPT,
                     "file store: %s: batch at offset %llu (sequence %llu) is damaged "
                     "(%s) but an intact batch follows at offset %llu (sequence %llu)",
                     st_fs_path(fs, fs->pb, fs->gen, 0), (unsigned long long)bad,
                     (unsigned long long)expect, why_text(why),
                     (unsigned long long)off, (unsigned long long)f.seq);
    off += ST_FRAME_SIZE + (uint64_t)f.len; /* skip the intact batch whole */
  }
  return POND_OK;
}

static int corrupt_batch(st_fs *fs, uint64_t off, const char *what, pc_err *e) {
  return pc_errf(e, POND_ECORRUPT, "file store: %s: batch at offset %llu: %s",
                 st_fs_path(fs, fs->pb, fs->gen, 0), (unsigned long long)off, what);
}

static int apply_batch(st_fs *fs, uint64_t off, const st_frame *f, const uint8_t *body,
                       pc_err *e) {
  /* Every op takes at least 2 bytes: a bound before reserving memory. */
  if (f->count > f->len / 2) return corrupt_batch(fs, off, "more ops than bytes", e);
  if (f->flags & ~ST_BF_KNOWN) return corrupt_batch(fs, off, "unknown flags", e);
  st_index *ix = &fs->ix;
  uint64_t boff = off + ST_FRAME_SIZE;
  size_t pos = 0;
  for (uint32_t i = 0; i < f->count; i++) {
    st_op op;
    if (!st_op_decode(body, f->len, &pos, &op)) return corrupt_batch(fs, off, "malformed op", e);
    st_rec *rec;
    /* Keys above every key so far (a compacted log) skip the hash until
     * the end (fs_index.h); anything else needs it complete. */
    if (op.val && st_index_after_last(ix, op.key, op.klen)) {
      if (st_index_append(ix, op.key, op.klen, &rec))
        return pc_errf(e, POND_ENOMEM, "file store: out of memory replaying the log");
      st_index_set(ix, rec, boff + op.voff, op.vlen);
      continue;
    }
    if (st_index_hash_pending(ix))
      return pc_errf(e, POND_ENOMEM, "file store: out of memory replaying the log");
    if (!op.val) {
      rec = st_index_get(ix, op.key, op.klen);
      if (rec) st_index_kill(ix, rec);
      continue;
    }
    if (st_index_ensure(ix, op.key, op.klen, &rec))
      return pc_errf(e, POND_ENOMEM, "file store: out of memory replaying the log");
    st_index_set(ix, rec, boff + op.voff, op.vlen);
  }
  if (pos != f->len) return corrupt_batch(fs, off, "bytes after the last op", e);
  if (ix->dead >= 4096 && ix->dead * 4 >= ix->count) st_index_purge(ix);
  return POND_OK;
}

int st_fs_replay(st_fs *fs, pc_err *e) {
  const st_env *env = fs->env;
  rd r = {fs, 0, 0, 0};
  int rc = env->size(env->ctx, fs->fd, &r.size, e);
  if (rc) return rc;
  const char *path = st_fs_path(fs, fs->pb, fs->gen, 0);
  if (r.size == 0) return pc_errf(e, POND_ECORRUPT, "file store: %s: log is empty", path);
  const uint8_t *p;
  size_t hn = r.size < ST_HDR_SIZE ? (size_t)r.size : ST_HDR_SIZE;
  rc = rd_get(&r, 0, hn, &p, e);
  if (rc) return rc;
  st_hdr h;
  rc = st_hdr_decode(p, hn, &h, e);
  if (rc) {
    char msg[PC_ERRMSG_MAX];
    memcpy(msg, e->msg, sizeof msg);
    return pc_errf(e, rc, "%s (%s)", msg, path);
  }
  if (h.gen != fs->gen)
    return pc_errf(e, POND_ECORRUPT, "file store: %s: header says generation %llu",
                   st_fs_path(fs, fs->pb, fs->gen, 0), (unsigned long long)h.gen);
  uint64_t off = ST_HDR_SIZE, seq = h.base_seq;
  while (off < r.size) {
    st_frame f;
    const uint8_t *body;
    int why;
    rc = check_batch(&r, off, seq, &f, &body, &why, e);
    if (rc) return rc;
    if (why == BATCH_GAP)
      return corrupt_batch(fs, off, "sequence number skips ahead", e);
    if (why != BATCH_OK) {
      rc = torn_or_corrupt(fs, &r, off, seq, why, e);
      if (rc) return rc;
      /* A torn tail: drop it (synced below) before anything is appended. */
      fs->st.tail_dropped = r.size - off;
      /* Zeros alone are space reserved by prealloc, not a torn write. */
      for (uint64_t z = off; z < r.size && !fs->st.tail_torn; z += RD_CHUNK) {
        size_t n = r.size - z > RD_CHUNK ? RD_CHUNK : (size_t)(r.size - z);
        const uint8_t *t;
        rc = rd_get(&r, z, n, &t, e);
        if (rc) return rc;
        if (!all_zero(t, n)) fs->st.tail_torn = 1;
      }
      rc = env->truncate(env->ctx, fs->fd, off, e);
      if (rc) return rc;
      break;
    }
    rc = apply_batch(fs, off, &f, body, e);
    if (rc) return rc;
    off += ST_FRAME_SIZE + (uint64_t)f.len;
    seq++;
  }
  /* Replayed bytes may sit unsynced in the page cache (the writer used
   * POND_NOSYNC, or was killed before its fsync). Sync them now, so that
   * batches appended later may be marked ANCHORED truthfully. */
  rc = env->sync(env->ctx, fs->fd, e);
  if (rc) return rc;
  if (st_index_hash_pending(&fs->ix))
    return pc_errf(e, POND_ENOMEM, "file store: out of memory replaying the log");
  st_index_purge(&fs->ix);
  if (fs->rcap > RBUF_KEEP) {
    pc_free(fs->m, fs->rbuf, fs->rcap);
    fs->rbuf = NULL;
    fs->rcap = 0;
  }
  fs->end = fs->synced = fs->alloc_end = off;
  fs->seq = seq;
  return POND_OK;
}
