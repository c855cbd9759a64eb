/*
 * mem.h — every allocation of a pond_db goes through one pc_mem.
 *
 * The host's allocator is Lua-style (ptr, osize, nsize), so callers always pass
 * the size of the block they free or resize: containers know their capacity.
 * `used` is atomic because sets may be freed on any thread (see pond.h).
 * memory_limit is checked before asking the host allocator.
 */
#ifndef POND_CORE_MEM_H
#define POND_CORE_MEM_H

#include <stdatomic.h>
#include <stddef.h>

typedef void *(*pc_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);

typedef struct pc_mem {
  pc_alloc_fn fn;
  void *ud;
  size_t limit;        /* 0: none */
  atomic_size_t used;  /* bytes currently allocated */
} pc_mem;

/* fn NULL selects libc realloc/free. */
void pc_mem_init(pc_mem *m, pc_alloc_fn fn, void *ud, size_t limit);

/* NULL on failure (host refused, or limit reached); n == 0 returns NULL. */
void *pc_alloc(pc_mem *m, size_t n);
void *pc_calloc(pc_mem *m, size_t n);
/* Resizes p (osize bytes) to nsize; on failure returns NULL and p is intact. */
void *pc_realloc(pc_mem *m, void *p, size_t osize, size_t nsize);
/* Frees p of n bytes; p NULL is a no-op. */
void pc_free(pc_mem *m, void *p, size_t n);
/* A copy of s (len bytes) with a NUL appended; free with pc_free(m, p, len + 1). */
char *pc_strndup(pc_mem *m, const char *s, size_t len);

/* Overflow-checked a*b; returns 0 (and leaves *out) on overflow. */
static inline int pc_mul_ok(size_t a, size_t b, size_t *out) {
  if (b && a > (size_t)-1 / b) return 0;
  *out = a * b;
  return 1;
}

#endif
