/*
 * fuzz_set.c — libFuzzer target for set deserialization (the Roaring
 * portable format, 32- and 64-bit, as pond_set_deserialize reads it).
 *
 * The first input byte picks the mode: bit 0 forces the 64-bit reading,
 * bit 1 the 32-bit one (neither: auto), bit 2 fails one allocation (the
 * failure must leave the output as it was and leak nothing). The rest is
 * the bytes. Invariants checked on every input:
 * - a rejected input returns POND_ECORRUPT with a "set: " message (or
 *   POND_ENOMEM when an allocation was failed) and leaves the output set
 *   untouched;
 * - an accepted input is a well-formed set: ascending iteration, counts
 *   that agree, paging equal to iteration, and a serialization that reads
 *   back equal and serializes to the same bytes (a fixed point);
 * - no memory is left allocated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap/bm.h"
#include "core/mem.h"

typedef struct fz_alloc {
  long n, fail_at;
} fz_alloc;

static void *fz_fn(void *ud, void *p, size_t osize, size_t nsize) {
  fz_alloc *a = ud;
  (void)osize;
  if (!nsize) {
    free(p);
    return NULL;
  }
  if (++a->n == a->fail_at) return NULL;
  return realloc(p, nsize);
}

#define FZ_ASSERT(c)                                                   \
  do {                                                                 \
    if (!(c)) {                                                        \
      fprintf(stderr, "fuzz_set: %s:%d: %s\n", __FILE__, __LINE__, #c); \
      abort();                                                         \
    }                                                                  \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned mode = data[0];
  data++;
  size--;
  int is64 = mode & 1 ? 1 : mode & 2 ? 0 : -1;
  fz_alloc fa = {0, 0};
  pc_mem m;
  pc_mem_init(&m, fz_fn, &fa, 0);
  bm b;
  bm_init(&b);
  FZ_ASSERT(bm_add(&m, &b, 12345) == 1);
  fa.n = 0;
  fa.fail_at = (mode & 4) ? 1 + (long)(mode >> 3) : 0;
  pc_err e;
  pc_err_clear(&e);
  int rc = bm_deserialize(&m, data, size, is64, &b, &e);
  fa.fail_at = 0;
  if (rc != POND_OK) {
    FZ_ASSERT(rc == POND_ECORRUPT || (rc == POND_ENOMEM && (mode & 4)));
    if (rc == POND_ECORRUPT) FZ_ASSERT(strncmp(e.msg, "set: ", 5) == 0);
    FZ_ASSERT(bm_card(&b) == 1 && bm_contains(&b, 12345));
    bm_free(&m, &b);
    FZ_ASSERT(atomic_load(&m.used) == 0);
    return 0;
  }
  /* well-formed */
  uint64_t n = 0, x, prev = 0, page[64];
  bm_iter it;
  bm_iter_init(&it, &b, 0);
  size_t pk = 0, pn = bm_page(&b, 0, page, 64);
  while (bm_iter_next(&it, &x)) {
    FZ_ASSERT(n == 0 || x > prev);
    FZ_ASSERT(bm_contains(&b, x));
    if (pk < pn) FZ_ASSERT(page[pk++] == x);
    prev = x;
    n++;
  }
  FZ_ASSERT(n == bm_card(&b));
  FZ_ASSERT(pk == pn && pn == (n < 64 ? n : 64));
  if (n) FZ_ASSERT(bm_min(&b) == page[0] && bm_max(&b) == prev);
  /* serialization is a fixed point */
  size_t len, len2;
  FZ_ASSERT(bm_serialize(&b, NULL, 0, &len) == POND_OK);
  uint8_t *buf = malloc(len ? len : 1);
  FZ_ASSERT(bm_serialize(&b, buf, len, &len2) == POND_OK && len2 == len);
  if (len) FZ_ASSERT(bm_serialize(&b, buf, len - 1, &len2) == POND_ELIMIT);
  bm c;
  bm_init(&c);
  FZ_ASSERT(bm_deserialize(&m, buf, len, -1, &c, &e) == POND_OK);
  FZ_ASSERT(bm_equal(&b, &c));
  uint8_t *buf2 = malloc(len ? len : 1);
  FZ_ASSERT(bm_serialize(&c, buf2, len, &len2) == POND_OK && len2 == len);
  FZ_ASSERT(memcmp(buf, buf2, len) == 0);
  free(buf);
  free(buf2);
  bm_free(&m, &b);
  bm_free(&m, &c);
  FZ_ASSERT(atomic_load(&m.used) == 0);
  return 0;
}
