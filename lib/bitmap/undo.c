/*
 * undo.c — undoing one change of a bitmap without allocating (bm.h, last
 * block): the before-image of the single chunk that a bm_add or bm_remove
 * of one id changes.
 *
 * bm_undo_save takes a reference on the chunk's container. The change that
 * follows then finds the container shared and copies it first (ct_add /
 * ct_remove copy on write), so the saved one stays exactly as it was: cost
 * O(container) instead of a bm_copy snapshot's O(containers) plus the same
 * copy. Restoring swaps the saved container back in, or erases the chunk
 * the change created, or re-inserts the chunk the change emptied. The last
 * needs one free slot in the key/container block: save reserves it, and
 * the block never shrinks while the bitmap lives (bm.c), so a restore never
 * allocates and never fails.
 */
#include <string.h>

#include "bitmap/bm.h"
#include "bitmap/bmint.h"
#include "bitmap/ctr.h"

int bm_undo_save(pc_mem *m, bm *b, uint64_t x, bm_undo *u) {
  POND_TRY(bm_reserve(m, b, 1));
  long i = bm_find(b, x >> 16);
  u->key = x >> 16;
  u->ctr = i >= 0 ? ct_ref(b->ctrs[i]) : NULL;
  return POND_OK;
}

/* Makes key's chunk of b hold c (taking the reference c carries), or
 * removes the chunk when c is NULL. Room for an insertion is there (see
 * above). */
static void put_chunk(pc_mem *m, bm *b, uint64_t key, ct *c) {
  long i = bm_find(b, key);
  if (i >= 0) {
    ct_release(m, b->ctrs[i]);
    if (c) {
      b->ctrs[i] = c;
      return;
    }
    uint32_t k = (uint32_t)i;
    memmove(b->keys + k, b->keys + k + 1, (size_t)(b->n - k - 1) * sizeof *b->keys);
    memmove(b->ctrs + k, b->ctrs + k + 1, (size_t)(b->n - k - 1) * sizeof *b->ctrs);
    b->n--;
    return;
  }
  if (c) bm_insert_at(b, (uint32_t)(-i - 1), key, c);
}

void bm_undo_restore(pc_mem *m, bm *b, bm_undo *u) {
  put_chunk(m, b, u->key, u->ctr);
  u->ctr = NULL;
}

void bm_undo_release(pc_mem *m, bm_undo *u) {
  if (u->ctr) ct_release(m, u->ctr);
  u->ctr = NULL;
}

int bm_undo_room(pc_mem *m, bm *b, uint32_t k) { return bm_reserve(m, b, k); }
