/*
 * fs_log.h — the file store's on-disk log format (version 1): the file
 * header, batch frames and operations. Pure encoding and decoding of bytes:
 * no I/O, no allocation. The format is specified in lib/store/README.md;
 * all integers are little-endian.
 *
 *   file   = header(40) batch*
 *   batch  = frame(32) body(len)
 *   body   = op*                     (exactly `count` ops filling `len`)
 *   op     = varint klen, varint t, key[klen], value[t - 1] if t > 0
 *            (t = 0 deletes key; t = vlen + 1 puts key = value)
 */
#ifndef POND_STORE_FS_LOG_H
#define POND_STORE_FS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define ST_FORMAT_VERSION 1u
#define ST_HDR_SIZE 40u
#define ST_FRAME_SIZE 32u
#define ST_FRAME_MAGIC 0x7D2FA1C3u

/* Limits. A key longer than ST_KEY_MAX or a value longer than ST_VAL_MAX is
 * POND_ELIMIT at commit; a batch body longer than ST_BODY_MAX too. */
#define ST_KEY_MAX 65535u
#define ST_VAL_MAX (1u << 30)
#define ST_BODY_MAX ((1u << 31) - 1u)

/* Batch flags. ANCHORED: whenever this batch is present in the file, every
 * byte before it is durable too (the writer synced them before writing it,
 * or the whole file was synced before it was given its name). Recovery uses
 * it to tell corruption (a bad batch before an anchored one) from a torn
 * write (a bad batch followed only by unanchored ones, see README). */
#define ST_BF_ANCHORED 0x1u
#define ST_BF_KNOWN ST_BF_ANCHORED

typedef struct st_hdr {
  uint64_t gen;      /* generation; equals the number in the file name */
  uint64_t base_seq; /* sequence number of the first batch */
} st_hdr;

typedef struct st_frame {
  uint64_t seq;   /* batch sequence number: consecutive within a file */
  uint32_t len;   /* body bytes */
  uint32_t count; /* ops in the body */
  uint32_t flags; /* ST_BF_* */
  uint32_t bcrc;  /* CRC32C of the body */
} st_frame;

typedef struct st_op {
  const uint8_t *key;
  const uint8_t *val; /* NULL: delete */
  uint32_t klen, vlen;
  size_t voff; /* offset of the value within the body */
} st_op;

void st_hdr_encode(uint8_t out[ST_HDR_SIZE], const st_hdr *h);
/* POND_OK, or POND_ECORRUPT with a message (not a pond log, a format newer
 * than this library's, bad checksum, unknown flags). n: bytes available. */
int st_hdr_decode(const uint8_t *p, size_t n, st_hdr *h, pc_err *e);

void st_frame_encode(uint8_t out[ST_FRAME_SIZE], const st_frame *f);
/* 1 if p holds a frame whose magic and header checksum are intact. */
int st_frame_decode(const uint8_t *p, st_frame *f);

/* Encoded size of one op (vlen ignored for a delete). */
size_t st_op_size(size_t klen, int put, size_t vlen);
/* Writes one op at p and returns the end; *voff gets the value's offset from
 * p (0 for a delete). */
uint8_t *st_op_encode(uint8_t *p, const void *key, size_t klen, const void *val,
                      size_t vlen, size_t *voff);
/* Decodes the op at body[*pos]; advances *pos. Returns 1, or 0 if the bytes
 * are not a well-formed op within len (truncated, non-canonical varint, key
 * or value over the limits). */
int st_op_decode(const uint8_t *body, size_t len, size_t *pos, st_op *op);

static inline void st_put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static inline void st_put64(uint8_t *p, uint64_t v) {
  st_put32(p, (uint32_t)v);
  st_put32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t st_get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}
static inline uint64_t st_get64(const uint8_t *p) {
  return (uint64_t)st_get32(p) | (uint64_t)st_get32(p + 4) << 32;
}

#endif
