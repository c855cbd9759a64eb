/*
 * set.h — pond_set: an immutable set of customer ids over a bitmap.
 *
 * A set owns its bm, which shares containers copy-on-write with the bitmap
 * it was taken from (bm_copy): later changes to the db copy the containers
 * they touch, so the set never changes. It remembers the db's pc_mem (whose
 * accounting is atomic) so that it can be freed from any thread; it must be
 * freed before the db is closed. Parts that produce sets (tags, queries)
 * build them with set_from_bm / set_adopt.
 */
#ifndef POND_SET_H
#define POND_SET_H

#include "bitmap/bm.h"
#include "core/mem.h"
#include "pond.h"

struct pond_set {
  pc_mem *m;
  bm b;
};

/* A new set sharing b's containers. POND_ENOMEM leaves *out untouched. */
int set_from_bm(pc_mem *m, const bm *b, pond_set **out);
/* A new set taking b's contents (b becomes empty). */
int set_adopt(pc_mem *m, bm *b, pond_set **out);

#endif
