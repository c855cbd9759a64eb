/*
 * doc.c — the arena that owns a parsed JSON tree.
 *
 * A doc is a list of blocks allocated through pc_mem; the pj_doc header sits
 * in the first block, the tree's nodes, arrays and strings are bump-allocated
 * after it. The first block is sized from the text length so that typical
 * documents take one or two allocations; later blocks double up to 8 MiB,
 * so the unused tail (which memory_limit counts) stays small. pj_free releases every block; nothing in
 * the tree is freed on its own.
 */
#include <string.h>

#include "json/pjint.h"

#define ALIGN _Alignof(pj_value)
#define HDR ((sizeof(pj_block) + ALIGN - 1) & ~(size_t)(ALIGN - 1))
#define FIRST_MIN 512
#define FIRST_MAX ((size_t)4 << 20)
/* Later blocks double up to this, bounding the unused tail that counts
 * against memory_limit. */
#define BLOCK_MAX ((size_t)8 << 20)

static size_t align_up(size_t n) { return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

/* Links a new block with at least n free bytes; 0 on failure. */
static int add_block(pj_doc *d, size_t n, size_t want) {
  size_t size = want;
  if (n > (size_t)-1 - HDR - ALIGN) return 0;
  if (size < HDR + n) size = HDR + n;
  pj_block *b = pc_alloc(d->m, size);
  if (!b) return 0;
  b->size = size;
  b->next = d->blocks;
  d->blocks = b;
  d->cur = (char *)b + HDR;
  d->end = (char *)b + size;
  return 1;
}

pj_doc *pj_doc_new(pc_mem *m, size_t len) {
  /* Nodes cost more than the text they come from; 2x + slack fits typical
   * definition documents in the first block. */
  size_t first = len > FIRST_MAX / 2 ? FIRST_MAX : 2 * len;
  if (first < FIRST_MIN) first = FIRST_MIN;
  size_t size = HDR + align_up(sizeof(pj_doc)) + first;
  pj_block *b = pc_alloc(m, size);
  if (!b) return NULL;
  b->next = NULL;
  b->size = size;
  pj_doc *d = (pj_doc *)((char *)b + HDR);
  memset(d, 0, sizeof *d);
  d->m = m;
  d->blocks = b;
  d->cur = (char *)d + align_up(sizeof(pj_doc));
  d->end = (char *)b + size;
  d->next_size = first < 4096 ? 8192 : first < BLOCK_MAX / 2 ? 2 * first : BLOCK_MAX;
  return d;
}

static char *bump(pj_doc *d, size_t n, size_t align) {
  uintptr_t c = (uintptr_t)d->cur;
  size_t pad = (size_t)(-c & (align - 1));
  if ((size_t)(d->end - d->cur) < pad + n || n == 0) {
    if (n == 0) return d->cur; /* callers never write through it */
    if (!add_block(d, n, d->next_size)) return NULL;
    d->next_size = d->next_size < BLOCK_MAX / 2 ? 2 * d->next_size : BLOCK_MAX;
    pad = 0; /* new blocks start aligned */
  }
  char *p = d->cur + pad;
  d->cur = p + n;
  return p;
}

void *pj_arena_alloc(pj_doc *d, size_t n) { return bump(d, n, ALIGN); }

char *pj_arena_bytes(pj_doc *d, size_t n) { return bump(d, n, 1); }

void pj_arena_trim(pj_doc *d, char *p, size_t n, size_t used) {
  if (p + n == d->cur) d->cur = p + used;
}

const pj_value *pj_root(const pj_doc *d) { return d ? &d->root : NULL; }

void pj_free(pj_doc *d) {
  if (!d) return;
  pc_mem *m = d->m;
  pj_block *b = d->blocks;
  /* The doc header lives in the last block of the list: read everything
   * needed before that block goes. */
  while (b) {
    pj_block *next = b->next;
    pc_free(m, b, b->size);
    b = next;
  }
}

const pj_value *pj_get_n(const pj_value *obj, const char *key, size_t klen) {
  if (!obj || obj->type != PJ_OBJECT) return NULL;
  const pj_member *it = obj->u.obj.items;
  for (size_t i = 0; i < obj->u.obj.n; i++)
    if (it[i].klen == klen && memcmp(it[i].key, key, klen) == 0) return &it[i].value;
  return NULL;
}

const pj_value *pj_get(const pj_value *obj, const char *key) {
  return key ? pj_get_n(obj, key, strlen(key)) : NULL;
}
