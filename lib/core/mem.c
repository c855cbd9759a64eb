#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

static void *libc_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

void pc_mem_init(pc_mem *m, pc_alloc_fn fn, void *ud, size_t limit) {
  m->fn = fn ? fn : libc_alloc;
  m->ud = ud;
  m->limit = limit;
  atomic_init(&m->used, 0);
}

/* Reserve nsize-osize bytes against the limit before asking the host, so a
 * refused growth never shows up in `used`. */
static int charge(pc_mem *m, size_t osize, size_t nsize) {
  if (nsize <= osize) return 1;
  size_t add = nsize - osize;
  size_t cur = atomic_fetch_add(&m->used, add);
  if (m->limit && (cur + add > m->limit || cur + add < cur)) {
    atomic_fetch_sub(&m->used, add);
    return 0;
  }
  return 1;
}

void *pc_realloc(pc_mem *m, void *p, size_t osize, size_t nsize) {
  if (nsize == 0) {
    pc_free(m, p, osize);
    return NULL;
  }
  if (!p) osize = 0;
  if (!charge(m, osize, nsize)) return NULL;
  void *q = m->fn(m->ud, p, osize, nsize);
  if (!q) {
    if (nsize > osize) atomic_fetch_sub(&m->used, nsize - osize);
    return NULL;
  }
  if (nsize < osize) atomic_fetch_sub(&m->used, osize - nsize);
  return q;
}

void *pc_alloc(pc_mem *m, size_t n) {
  if (n == 0) return NULL;
  return pc_realloc(m, NULL, 0, n);
}

void *pc_calloc(pc_mem *m, size_t n) {
  void *p = pc_alloc(m, n);
  if (p) memset(p, 0, n);
  return p;
}

void pc_free(pc_mem *m, void *p, size_t n) {
  if (!p) return;
  m->fn(m->ud, p, n, 0);
  atomic_fetch_sub(&m->used, n);
}

char *pc_strndup(pc_mem *m, const char *s, size_t len) {
  char *p = pc_alloc(m, len + 1);
  if (!p) return NULL;
  memcpy(p, s, len);
  p[len] = 0;
  return p;
}
