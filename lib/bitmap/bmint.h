/*
 * bmint.h — helpers shared by the files of lib/bitmap; not for other parts.
 */
#ifndef POND_BITMAP_BMINT_H
#define POND_BITMAP_BMINT_H

#include "bitmap/bm.h"
#include "bitmap/ctr.h"

/* Index of key in b, or -(insertion point) - 1. */
long bm_find(const bm *b, uint64_t key);
/* Room for `more` more containers without allocating. */
int bm_reserve(pc_mem *m, bm *b, uint32_t more);
/* Inserts (key, c) at index i, taking c's reference; room reserved. */
void bm_insert_at(bm *b, uint32_t i, uint64_t key, struct bm_ctr *c);
/* Appends (key, c) (key above every key of b), taking c's reference; room
 * reserved. */
static inline void bm_push(bm *b, uint64_t key, struct bm_ctr *c) {
  b->keys[b->n] = key;
  b->ctrs[b->n] = c;
  b->n++;
}

#endif
