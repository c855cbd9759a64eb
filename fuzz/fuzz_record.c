/*
 * fuzz_record.c — pond's durable record decoders (lib/store/rec.h) on
 * arbitrary bytes, and whole storages of arbitrary records through
 * pond_open.
 *
 * Input: one mode byte, then the bytes.
 *   mode % 5 == 0  a meta record value
 *            1     a definitions record value
 *            2     a tag record value (tag id 3)
 *            3     a customer record value (customer 42), decoded against
 *                  a db holding every kind of definition and tag
 *            4     a whole storage: records as (uv klen, key, uv vlen,
 *                  value)*, handed to pond_open's scan in the given order
 * Invariants (abort on violation):
 *  - a decoder returns POND_OK, POND_ECORRUPT or (never here) POND_ENOMEM,
 *    with a message on failure;
 *  - the encodings are canonical: whatever decodes re-encodes to exactly
 *    the input bytes;
 *  - pond_open over the storage returns POND_OK or POND_ECORRUPT, and an
 *    opened db keeps every invariant (db_check) and encodes every record it
 *    loaded back to exactly the stored bytes;
 *  - every byte allocated is freed (the db's allocator counts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "define/defs.h"
#include "json/json.h"
#include "store/rec.h"

static const char *const DEFS =
    "{\"attributes\": [{\"name\": \"i\", \"type\": \"int\"}, {\"name\": \"t\", \"type\": \"time\"},"
    " {\"name\": \"s\", \"type\": \"string\"}, {\"name\": \"b\", \"type\": \"bool\"}],"
    " \"tag_groups\": [{\"name\": \"x\", \"exclusive\": true, \"tags\": [\"p\", \"q\"]},"
    " {\"name\": \"g\", \"ttl\": \"2d\", \"tags\": [\"a\", \"b\"]}], \"counters\": [\"e\", \"f\"]}";

static void check(int ok) {
  if (!ok) abort();
}

static void same_bytes(const st_buf *b, const uint8_t *p, size_t n) {
  check(!b->failed && b->len == n && (!n || memcmp(b->p, p, n) == 0));
}

static pond_db *fuzz_db(void) {
  pond_db *db = NULL;
  check(pond_open(NULL, &db) == POND_OK);
  check(pond_define(db, DEFS, POND_NTS) == POND_OK);
  return db;
}

static void one_record(int mode, const uint8_t *p, size_t n) {
  pond_db *db = fuzz_db();
  pc_mem *m = &db->mem;
  pc_err e;
  pc_err_clear(&e);
  st_buf b = {m, NULL, 0, 0, 0};
  int rc;
  if (mode == 0) {
    uint32_t next;
    rc = st_meta_decode(p, n, &next, &e);
    if (rc == POND_OK) st_meta_encode(&b, next);
  } else if (mode == 1) {
    df_defs *d = NULL;
    rc = st_defs_decode(m, p, n, &d, &e);
    if (rc == POND_OK) {
      st_defs_encode(&b, d);
      df_free(m, d);
    }
  } else if (mode == 2) {
    uint32_t g;
    const char *name;
    size_t len;
    rc = st_tag_decode(p, n, 3, db->defs, &g, &name, &len, &e);
    if (rc == POND_OK) st_tag_encode(&b, g, name, len);
  } else {
    st_dec dec;
    st_dec_init(&dec, db);
    cu_rec *r = NULL;
    rc = st_cust_decode(&dec, 42, p, n, &r, &e);
    if (rc == POND_OK) {
      st_cust_encode(&b, db, r);
      cu_free(m, r);
    }
    st_dec_free(&dec);
  }
  check(rc == POND_OK || rc == POND_ECORRUPT);
  if (rc == POND_OK) same_bytes(&b, p, n);
  else check(e.code == rc && e.msg[0]);
  pc_free(m, b.p, b.cap);
  pond_close(db);
}

/* ------------------------------------------------------ whole storages */

typedef struct rec {
  const uint8_t *k, *v;
  size_t kl, vl;
} rec;

typedef struct store {
  rec *r;
  size_t n;
} store;

static int scan(void *ctx, const void *prefix, size_t plen,
                int (*each)(void *arg, const pond_kv *kv), void *arg) {
  store *s = ctx;
  (void)prefix;
  (void)plen;
  for (size_t i = 0; i < s->n; i++) {
    pond_kv kv = {s->r[i].k, s->r[i].kl, s->r[i].v, s->r[i].vl};
    int rc = each(arg, &kv);
    if (rc) return rc;
  }
  return 0;
}

static int commit_ok(void *ctx, const pond_kv *ops, size_t n) {
  (void)ctx;
  (void)ops;
  (void)n;
  return 0;
}

static int read_uv(const uint8_t **p, const uint8_t *end, size_t *v) {
  size_t x = 0;
  for (int shift = 0; shift < 28 && *p < end; shift += 7) {
    uint8_t c = *(*p)++;
    x |= (size_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *v = x;
      return 1;
    }
  }
  return 0;
}

static size_t alloc_live;

static void *counting_alloc(void *ud, void *ptr, size_t o, size_t n) {
  (void)ud;
  if (n == 0) {
    free(ptr);
    alloc_live -= o;
    return NULL;
  }
  void *q = realloc(ptr, n);
  if (q) alloc_live += n - (ptr ? o : 0);
  return q;
}

static void whole_storage(const uint8_t *p, size_t n) {
  const uint8_t *end = p + n;
  rec recs[256];
  store s = {recs, 0};
  while (p < end && s.n < 256) {
    size_t kl, vl;
    if (!read_uv(&p, end, &kl) || kl > (size_t)(end - p)) break;
    const uint8_t *k = p;
    p += kl;
    if (!read_uv(&p, end, &vl) || vl > (size_t)(end - p)) break;
    recs[s.n++] = (rec){k, p, kl, vl};
    p += vl;
  }
  pond_storage v = {POND_STORAGE_V1, &s, scan, commit_ok, NULL, NULL};
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  o.storage = &v;
  o.alloc = counting_alloc;
  pond_db *db = NULL;
  alloc_live = 0;
  int rc = pond_open(&o, &db);
  check(rc == POND_OK || rc == POND_ECORRUPT);
  if (rc == POND_OK) {
    char why[256];
    check(db_check(db, why, sizeof why) == POND_OK);
    st_buf b = {&db->mem, NULL, 0, 0, 0};
    for (size_t i = 0; i < s.n; i++) {
      const rec *r = &s.r[i];
      b.len = 0;
      switch (r->k[0]) {
        case ST_NS_META: st_meta_encode(&b, db->tags.n); break;
        case ST_NS_DEFS: st_defs_encode(&b, db->defs); break;
        case ST_NS_TAG: {
          const tg_tag *t = tg_get(&db->tags, (uint32_t)st_key_be(r->k + 1, 4));
          check(t != NULL);
          st_tag_encode(&b, t->group, t->name, t->len);
          break;
        }
        default: {
          const cu_rec *c = db_cust(db, st_key_be(r->k + 1, 8));
          check(c != NULL);
          st_cust_encode(&b, db, c);
        }
      }
      same_bytes(&b, r->v, r->vl);
    }
    pc_free(&db->mem, b.p, b.cap);
    pond_close(db);
  }
  check(alloc_live == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int mode = data[0] % 5;
  if (mode < 4) one_record(mode, data + 1, size - 1);
  else whole_storage(data + 1, size - 1);
  return 0;
}
