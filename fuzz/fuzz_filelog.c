/*
 * fuzz_filelog.c — opens an arbitrary file as the file store's log (on the
 * in-memory env: no disk I/O) and reads everything back.
 *
 * Input: one mode byte, then the file.
 *   bit 0  prepend a valid header (generation 1, base sequence 1), so the
 *          fuzzer spends its time on batches;
 *   bit 1  fix the checksums: walk the bytes as consecutive frames and
 *          recompute each frame's body and header CRC, so bodies reach the
 *          op decoder (the record-decoding fuzzer);
 *   bit 2  open with POND_NOSYNC.
 * Invariants (abort on violation):
 *  - open returns POND_OK or POND_ECORRUPT, nothing else;
 *  - on success, scan returns keys in strictly ascending order, and the
 *    content equals an independent replay of the (possibly truncated) log
 *    the store left on "disk": the file must now be a header and intact
 *    batches only;
 *  - the recovered store accepts a commit, and reopening shows it;
 *  - every byte allocated is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"
#include "store/env_mem.h"
#include "store/filestore.h"
#include "store/fs_log.h"
#include "tests/test_filestore_util.h"

#define LOG "/db/0000000000000001.log"

static void fix_checksums(uint8_t *p, size_t n) {
  size_t off = ST_HDR_SIZE;
  while (n - off >= ST_FRAME_SIZE) {
    uint8_t *f = p + off;
    uint32_t len = st_get32(f + 16);
    size_t room = n - off - ST_FRAME_SIZE;
    if (len > room) {
      len = (uint32_t)room;
      st_put32(f + 16, len);
    }
    st_put32(f, ST_FRAME_MAGIC);
    st_put32(f + 28, pc_crc32c(0, f + ST_FRAME_SIZE, len));
    st_put32(f + 4, pc_crc32c(0, f + 8, ST_FRAME_SIZE - 8));
    off += ST_FRAME_SIZE + len;
  }
}

/* The reference: replays a log that must consist of intact batches. */
static void replay_reference(const uint8_t *p, size_t n, fsu_model *m) {
  st_hdr h;
  pc_err e;
  if (st_hdr_decode(p, n, &h, &e)) abort();
  size_t off = ST_HDR_SIZE;
  uint64_t seq = h.base_seq;
  while (off < n) {
    st_frame f;
    if (n - off < ST_FRAME_SIZE || !st_frame_decode(p + off, &f)) abort();
    if (f.seq != seq++ || f.len > n - off - ST_FRAME_SIZE) abort();
    const uint8_t *body = p + off + ST_FRAME_SIZE;
    if (pc_crc32c(0, body, f.len) != f.bcrc) abort();
    size_t pos = 0;
    for (uint32_t i = 0; i < f.count; i++) {
      st_op op;
      if (!st_op_decode(body, f.len, &pos, &op)) abort();
      fsu_apply(m, op.key, op.klen, op.val, op.vlen);
    }
    if (pos != f.len) abort();
    off += ST_FRAME_SIZE + f.len;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > (1u << 20)) return 0;
  unsigned mode = data[0];
  size_t n = size - 1 + (mode & 1 ? ST_HDR_SIZE : 0);
  uint8_t *file = malloc(n ? n : 1);
  if (mode & 1) {
    st_hdr h = {1, 1};
    st_hdr_encode(file, &h);
    memcpy(file + ST_HDR_SIZE, data + 1, size - 1);
  } else if (size > 1) {
    memcpy(file, data + 1, size - 1);
  }
  if ((mode & 2) && n >= ST_HDR_SIZE) fix_checksums(file, n);

  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  st_memenv *me = st_memenv_new(&m);
  if (!me || st_memenv_put(me, LOG, file, n)) abort();
  unsigned flags = mode & 4 ? POND_NOSYNC : 0;
  pond_storage s;
  pc_err e;
  int rc = st_file_open(&m, "/db", flags, st_memenv_env(me), &s, &e);
  if (rc != POND_OK && rc != POND_ECORRUPT) abort();
  if (rc == POND_OK) {
    fsu_model got = {0}, want = {0};
    if (fsu_read(&s, NULL, 0, &got)) abort();
    size_t ln;
    const uint8_t *lp = st_memenv_get(me, LOG, &ln);
    if (!lp) abort();
    replay_reference(lp, ln, &want);
    if (!fsu_equal(&got, &want)) abort();
    pond_kv kv = {"fuzz", 4, "value", 5};
    if (s.commit(s.ctx, &kv, 1)) abort();
    fsu_apply(&want, kv.key, kv.klen, kv.val, kv.vlen);
    s.close(s.ctx);
    if (st_file_open(&m, "/db", 0, st_memenv_env(me), &s, &e)) abort();
    if (fsu_read(&s, NULL, 0, &got) || !fsu_equal(&got, &want)) abort();
    s.close(s.ctx);
    fsu_clear(&got);
    fsu_clear(&want);
  }
  st_memenv_free(me);
  if (atomic_load(&m.used) != 0) abort();
  free(file);
  return 0;
}
