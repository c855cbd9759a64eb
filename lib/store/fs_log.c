/*
 * fs_log.c — encoding and decoding of the log format (see fs_log.h and
 * README.md). Decoders trust nothing: every length is checked against the
 * bytes available before it is used, and varints must be canonical, so a
 * checksummed batch decodes to exactly one sequence of ops.
 */
#include "store/fs_log.h"

#include <string.h>

#include "core/crc32c.h"

static const uint8_t hdr_magic[8] = {0x89, 'P', 'O', 'N', 'D', 'L', 'O', 'G'};

void st_hdr_encode(uint8_t out[ST_HDR_SIZE], const st_hdr *h) {
  memcpy(out, hdr_magic, 8);
  st_put32(out + 8, ST_FORMAT_VERSION);
  st_put32(out + 12, 0); /* flags */
  st_put64(out + 16, h->gen);
  st_put64(out + 24, h->base_seq);
  st_put32(out + 32, 0); /* reserved */
  st_put32(out + 36, pc_crc32c(0, out, 36));
}

int st_hdr_decode(const uint8_t *p, size_t n, st_hdr *h, pc_err *e) {
  if (memcmp(p, hdr_magic, n < 8 ? n : 8) != 0)
    return pc_errf(e, POND_ECORRUPT, "file store: not a pond log (bad magic)");
  if (n < 12)
    return pc_errf(e, POND_ECORRUPT, "file store: log header truncated (%zu bytes)", n);
  /* The version is read before the checksum: a later format may lay out the
   * rest of its header differently, and must still get this message. */
  uint32_t version = st_get32(p + 8);
  if (version > ST_FORMAT_VERSION)
    return pc_errf(e, POND_ECORRUPT,
                   "file store format %u is newer than this library's %u",
                   version, ST_FORMAT_VERSION);
  if (n < ST_HDR_SIZE)
    return pc_errf(e, POND_ECORRUPT, "file store: log header truncated (%zu bytes)", n);
  if (st_get32(p + 36) != pc_crc32c(0, p, 36))
    return pc_errf(e, POND_ECORRUPT, "file store: log header checksum mismatch");
  if (version == 0 || st_get32(p + 12) != 0 || st_get32(p + 32) != 0)
    return pc_errf(e, POND_ECORRUPT, "file store: log header has unknown version 0 or flags");
  h->gen = st_get64(p + 16);
  h->base_seq = st_get64(p + 24);
  return POND_OK;
}

/* Frame: magic, hcrc (over bytes 8..32), seq, len, count, flags, bcrc. */
void st_frame_encode(uint8_t out[ST_FRAME_SIZE], const st_frame *f) {
  st_put32(out, ST_FRAME_MAGIC);
  st_put64(out + 8, f->seq);
  st_put32(out + 16, f->len);
  st_put32(out + 20, f->count);
  st_put32(out + 24, f->flags);
  st_put32(out + 28, f->bcrc);
  st_put32(out + 4, pc_crc32c(0, out + 8, ST_FRAME_SIZE - 8));
}

int st_frame_decode(const uint8_t *p, st_frame *f) {
  if (st_get32(p) != ST_FRAME_MAGIC) return 0;
  if (st_get32(p + 4) != pc_crc32c(0, p + 8, ST_FRAME_SIZE - 8)) return 0;
  f->seq = st_get64(p + 8);
  f->len = st_get32(p + 16);
  f->count = st_get32(p + 20);
  f->flags = st_get32(p + 24);
  f->bcrc = st_get32(p + 28);
  return 1;
}

static size_t varint_size(uint32_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static uint8_t *varint_put(uint8_t *p, uint32_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

/* Canonical LEB128 of at most 5 bytes holding a uint32. */
static int varint_get(const uint8_t *p, size_t len, size_t *pos, uint32_t *out) {
  uint64_t v = 0;
  for (unsigned i = 0; i < 5; i++) {
    if (*pos >= len) return 0;
    uint8_t b = p[(*pos)++];
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      if (b == 0 && i > 0) return 0; /* non-canonical: a trailing zero group */
      if (v > UINT32_MAX) return 0;
      *out = (uint32_t)v;
      return 1;
    }
  }
  return 0;
}

size_t st_op_size(size_t klen, int put, size_t vlen) {
  uint32_t t = put ? (uint32_t)vlen + 1 : 0;
  return varint_size((uint32_t)klen) + varint_size(t) + klen + (put ? vlen : 0);
}

uint8_t *st_op_encode(uint8_t *p, const void *key, size_t klen, const void *val,
                      size_t vlen, size_t *voff) {
  uint8_t *start = p;
  p = varint_put(p, (uint32_t)klen);
  p = varint_put(p, val ? (uint32_t)vlen + 1 : 0);
  if (klen) memcpy(p, key, klen);
  p += klen;
  *voff = 0;
  if (val) {
    *voff = (size_t)(p - start);
    if (vlen) memcpy(p, val, vlen);
    p += vlen;
  }
  return p;
}

int st_op_decode(const uint8_t *body, size_t len, size_t *pos, st_op *op) {
  uint32_t klen, t;
  if (!varint_get(body, len, pos, &klen) || !varint_get(body, len, pos, &t)) return 0;
  if (klen > ST_KEY_MAX || (t && t - 1 > ST_VAL_MAX)) return 0;
  uint32_t vlen = t ? t - 1 : 0;
  if (len - *pos < (size_t)klen + vlen) return 0;
  op->key = body + *pos;
  op->klen = klen;
  *pos += klen;
  op->voff = *pos;
  op->val = t ? body + *pos : NULL;
  op->vlen = vlen;
  *pos += vlen;
  return 1;
}
