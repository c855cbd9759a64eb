/*
 * rec.h — pond's durable records: key namespaces and the value encodings of
 * the meta record, the definitions, tags and customers (format 1; the
 * specification is lib/store/README.md, "Record layout").
 *
 *   key                         value
 *   01                          meta: "pond", format, next tag id
 *   02                          the definitions (every attribute and tag
 *                               group slot, dropped ones included)
 *   03 <tag id: u32 BE>         one live tag: group id, "group/name"
 *   04 <cid: u64 BE>            one customer: header, then every
 *                               (key, value) entry of its cu_rec
 *   05 …                        reserved: timers
 *   06 …                        reserved: the task outbox
 *
 * Keys sort by namespace, then id, so one scan of the whole key space meets
 * the meta record first, definitions and tags before the customers that
 * use them, and customers in ascending id order.
 *
 * Encodings are canonical: integers are little-endian base-128 varints of
 * minimal length (signed ones zigzag-mapped), reserved bits are zero, keys
 * ascend. So decode(v) succeeding means encode(decode(v)) == v, which the
 * fuzzer (fuzz/fuzz_record.c) checks. Decoders validate every byte and
 * report POND_ECORRUPT with a message; they never read past the value.
 */
#ifndef POND_STORE_REC_H
#define POND_STORE_REC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "db/rec.h"

struct pond_db;
struct df_defs;

#define ST_FORMAT 1u /* the record format this library writes and reads */

enum {
  ST_NS_META = 0x01,
  ST_NS_DEFS = 0x02,
  ST_NS_TAG = 0x03,
  ST_NS_CUST = 0x04,
  ST_NS_TIMER = 0x05,  /* reserved (lifecycle timers are derived from customer records) */
  ST_NS_OUTBOX = 0x06, /* reserved */
  ST_NS_FUNNEL = 0x07, /* lifecycle funnel counters (lifecycle/persist.c) */
};

#define ST_KEY_TAG_LEN 5
#define ST_KEY_CUST_LEN 9
#define ST_KEY_FUNNEL_LEN 9

/* A funnel counter's key: the namespace, then its 64-bit counter key
 * (lifecycle/funnel.c: machine, from, to, day) big-endian. */
static inline void st_key_funnel(uint8_t k[ST_KEY_FUNNEL_LEN], uint64_t key) {
  k[0] = ST_NS_FUNNEL;
  for (int i = 0; i < 8; i++) k[1 + i] = (uint8_t)(key >> (56 - 8 * i));
}

static inline void st_key_tag(uint8_t k[ST_KEY_TAG_LEN], uint32_t id) {
  k[0] = ST_NS_TAG;
  for (int i = 0; i < 4; i++) k[1 + i] = (uint8_t)(id >> (24 - 8 * i));
}

static inline void st_key_cust(uint8_t k[ST_KEY_CUST_LEN], uint64_t cid) {
  k[0] = ST_NS_CUST;
  for (int i = 0; i < 8; i++) k[1 + i] = (uint8_t)(cid >> (56 - 8 * i));
}

static inline uint64_t st_key_be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

/* ------------------------------------------------------------ buffer */

/* A growable byte buffer; after a failed allocation every write is a no-op
 * and failed is set (check once at the end). */
typedef struct st_buf {
  pc_mem *m;
  uint8_t *p;
  size_t len, cap;
  int failed;
} st_buf;

int st_buf_grow(st_buf *b, size_t more);

static inline int st_buf_room(st_buf *b, size_t more) {
  return b->cap - b->len >= more ? 1 : st_buf_grow(b, more) == 0;
}

static inline void st_buf_byte(st_buf *b, uint8_t v) {
  if (st_buf_room(b, 1)) b->p[b->len++] = v;
}

static inline void st_buf_uv(st_buf *b, uint64_t v) {
  if (!st_buf_room(b, 10)) return;
  uint8_t *p = b->p + b->len;
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  b->len = (size_t)(p - b->p);
}

static inline uint64_t st_zz(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t st_unzz(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

/* v - base, wrapping (a bijection on int64: base + the result gives v back). */
static inline int64_t st_wsub(int64_t v, int64_t base) {
  return (int64_t)((uint64_t)v - (uint64_t)base);
}
static inline int64_t st_wadd(int64_t base, int64_t d) {
  return (int64_t)((uint64_t)base + (uint64_t)d);
}

static inline void st_buf_bytes(st_buf *b, const void *s, size_t n) {
  if (n && st_buf_room(b, n)) {
    memcpy(b->p + b->len, s, n);
    b->len += n;
  }
}

/* ------------------------------------------------------------ reader */

typedef struct st_rd {
  const uint8_t *p, *end;
  const char *what; /* the record, for messages ("customer" …) */
  pc_err *e;
  /* Message context, formatted only on failure: "<what>[ <id>][: <item_kind>
   * <item>]: …" ("customer 42: entry 3: …"). */
  uint64_t id;
  int has_id;
  const char *item_kind;
  long item;
} st_rd;

/* A minimal varint; POND_ECORRUPT (naming field) otherwise. */
int st_rd_uv_slow(st_rd *r, uint64_t *v, const char *field);
static inline int st_rd_uv(st_rd *r, uint64_t *v, const char *field) {
  if (POND_LIKELY(r->p < r->end && *r->p < 0x80)) { /* one byte: most of them */
    *v = *r->p++;
    return POND_OK;
  }
  return st_rd_uv_slow(r, v, field);
}
int st_rd_u32(st_rd *r, uint32_t *v, const char *field);
int st_rd_byte(st_rd *r, uint8_t *v, const char *field);
/* A length-prefixed byte string of at most max bytes (borrowed). */
int st_rd_str(st_rd *r, const uint8_t **s, size_t *n, size_t max, const char *field);
/* POND_ECORRUPT with "<what>: <message>". */
int st_rd_fail(st_rd *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ------------------------------------------------------------ records */

/* Meta: "pond" format:uv tag_next:uv. */
void st_meta_encode(st_buf *b, uint32_t tag_next);
/* POND_ECORRUPT for a value that is not pond's meta record or whose format
 * is newer than ST_FORMAT (the message names both versions). */
int st_meta_decode(const uint8_t *p, size_t n, uint32_t *tag_next, pc_err *e);

/* Definitions: every attribute and group slot, by id. */
void st_defs_encode(st_buf *b, const struct df_defs *d);
int st_defs_decode(pc_mem *m, const uint8_t *p, size_t n, struct df_defs **out, pc_err *e);

/* A tag: group:uv name (uv length, "group/name"). The decoder checks the
 * name and that its group part names live group *group of d. */
void st_tag_encode(st_buf *b, uint32_t group, const char *name, size_t len);
int st_tag_decode(const uint8_t *p, size_t n, uint32_t id, const struct df_defs *d,
                  uint32_t *group, const char **name, size_t *len, pc_err *e);

/* A customer: flags:u8 zz(added_at) [zz(last_seen - added_at)] n:uv
 * entry*n, entry = key delta:uv then the value (encoding by key class).
 * The encoder reads string values from db's dictionaries. */
void st_cust_encode(st_buf *b, const struct pond_db *db, const cu_rec *r);

/* Decoding context: the db whose definitions and tags entries must name
 * (strings are interned into its dictionaries), plus scratch. */
typedef struct st_dec {
  struct pond_db *db;
  uint32_t *gstamp; /* per tag group: stamp of the last record holding one
                       of its tags (exclusive groups) */
  uint32_t ngst, stamp;
} st_dec;

void st_dec_init(st_dec *d, struct pond_db *db);
void st_dec_free(st_dec *d);
/* Decodes customer cid's value into a new exact-sized record (*out) whose
 * string entries hold value ids of db's dictionaries (interned). */
int st_cust_decode(st_dec *d, uint64_t cid, const uint8_t *p, size_t n, cu_rec **out,
                   pc_err *e);

#endif
