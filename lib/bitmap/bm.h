/*
 * bm.h — compressed bitmaps of 64-bit customer ids (Roaring-style).
 *
 * CONTRACT used by the rest of the library (tags, query, store, db.c).
 * Internals (container layout, SIMD kernels) are private to lib/bitmap/.
 *
 * - A bm is a value type; zero-initialized (or bm_init) is the empty set.
 * - Containers are reference counted (atomically) and copy-on-write:
 *   bm_copy is O(number of containers) and shares container memory; any
 *   mutation of a container whose refcount > 1 copies it first. So a snapshot
 *   (pond_set, transaction before-image) is cheap, and a snapshot may be read
 *   from another thread while the original is mutated.
 * - Every fallible function leaves its inputs unchanged on failure
 *   (POND_ENOMEM), and writes nothing to *out on failure.
 * - All memory through the pc_mem passed in; the same pc_mem must be used for
 *   the whole life of a bm.
 */
#ifndef POND_BITMAP_BM_H
#define POND_BITMAP_BM_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/mem.h"

struct bm_ctr; /* a container: array, bitset or run; private */

typedef struct bm {
  uint64_t *keys;         /* sorted chunk keys: id >> 16 */
  struct bm_ctr **ctrs;   /* ctrs[i] holds the low 16 bits of ids in keys[i] */
  uint32_t n, cap;        /* containers used / allocated */
} bm;

void bm_init(bm *b);
/* Releases b's memory; b becomes empty. */
void bm_free(pc_mem *m, bm *b);
/* dst (initialized; its old contents are freed on success) := src, sharing
 * containers copy-on-write. */
int bm_copy(pc_mem *m, bm *dst, const bm *src);
/* Moves src into dst (dst's old contents freed); src becomes empty. No alloc. */
void bm_move(pc_mem *m, bm *dst, bm *src);

/* 1 if added, 0 if already present, POND_ENOMEM. */
int bm_add(pc_mem *m, bm *b, uint64_t x);
/* 1 if removed, 0 if absent, POND_ENOMEM (possible when a run splits or a
 * shared container must be copied). */
int bm_remove(pc_mem *m, bm *b, uint64_t x);
int bm_contains(const bm *b, uint64_t x);

/* Adds n ids (any order, duplicates allowed) all or nothing; *added (may be
 * NULL) gets how many were new. Fast path for sorted input. */
int bm_add_many(pc_mem *m, bm *b, const uint64_t *ids, size_t n, uint64_t *added);

uint64_t bm_card(const bm *b);
int bm_is_empty(const bm *b);
int bm_equal(const bm *a, const bm *b);
/* Smallest and largest id; 0 if empty (check bm_is_empty). */
uint64_t bm_min(const bm *b);
uint64_t bm_max(const bm *b);

enum { BM_AND = 1, BM_OR = 2, BM_ANDNOT = 3, BM_XOR = 4 }; /* = POND_AND… */

/* *out := a op b. out must be initialized; old contents freed on success.
 * out may alias a or b. */
int bm_op(pc_mem *m, int op, const bm *a, const bm *b, bm *out);
/* |a op b| without materializing it. */
uint64_t bm_op_card(int op, const bm *a, const bm *b);
/* In place: a := a op b. On failure a is unchanged. */
int bm_op_inplace(pc_mem *m, int op, bm *a, const bm *b);
/* n-way AND (smallest first, stops when empty) and OR over in[0..n). n == 0
 * gives the empty set. */
int bm_and_many(pc_mem *m, const bm *const *in, size_t n, bm *out);
int bm_or_many(pc_mem *m, const bm *const *in, size_t n, bm *out);

/* Ascending ids >= from, at most cap; returns the number written. */
size_t bm_page(const bm *b, uint64_t from, uint64_t *out, size_t cap);

/* Iteration: bm_iter_init(&it, b, from); while (bm_iter_next(&it, &x)) … */
typedef struct bm_iter {
  const bm *b;
  uint32_t ci;       /* container index */
  uint32_t pos, sub; /* position inside the container (kind-specific) */
} bm_iter;
void bm_iter_init(bm_iter *it, const bm *b, uint64_t from);
int bm_iter_next(bm_iter *it, uint64_t *x);

/* Chunk access for chunk-by-chunk evaluation (the query part): a chunk is
 * the 65536 ids sharing id >> 16 (its key); words are 1024 uint64, bit
 * s % 64 of word s / 64 standing for id (key << 16) | s.
 * bm_chunk_words: words := the chunk (all zeros when absent).
 * bm_append_words: adds the chunk's set bits, as the smallest container
 * kind; fastest when key is above every key of b (appending). */
void bm_chunk_words(const bm *b, uint64_t key, uint64_t *words);
/* The chunk's words in place when its container is a bitset (read-only;
 * valid until b changes), else NULL (absent, array or run: use
 * bm_chunk_words). Saves the copy for dense chunks. */
const uint64_t *bm_chunk_bitset(const bm *b, uint64_t key);
int bm_append_words(pc_mem *m, bm *b, uint64_t key, const uint64_t *words);

/* Bytes of memory held (shared containers counted in full). */
size_t bm_memory(const bm *b);
/* Converts containers to run form where smaller (as CRoaring's runOptimize). */
int bm_run_optimize(pc_mem *m, bm *b);

/* Roaring portable format when every id < 2^32, else the portable 64-bit
 * format (uint64 LE bucket count, then per bucket uint32 LE high key and a
 * 32-bit portable bitmap). buf == NULL: *len gets the size. POND_ELIMIT if
 * cap is too small. */
int bm_serialize(const bm *b, void *buf, size_t cap, size_t *len);
/* Validates every byte; POND_ECORRUPT with a message in e on bad input.
 * Accepts both formats (the 64-bit one also when the input is 32-bit: the
 * caller says which with is64 = -1 auto, 0 32-bit, 1 64-bit). */
int bm_deserialize(pc_mem *m, const void *buf, size_t len, int is64, bm *out, pc_err *e);

/* ------------------------------------------------ undo of one change (undo.c)
 * The before-image of the one chunk (64K ids) that a single bm_add or
 * bm_remove of id x changes, for transactions that must undo a change after
 * it was made without allocating (the db's single-call fast path with
 * storage attached). bm_undo_save (fallible: reserves one slot) holds a
 * reference to the chunk's container, so the change copies it on write;
 * bm_undo_restore puts the chunk back as saved (never allocates, never
 * fails) and consumes u; bm_undo_release drops u instead. Several saves of
 * one bitmap restore correctly in reverse order as long as the bitmap only
 * changed through bm_add/bm_remove in between (the key/container block never
 * shrinks while a bitmap lives). When the bitmap is replaced in between
 * by a snapshot (bm_copy … bm_move, whose block is exact-sized) that
 * snapshot needs bm_undo_room(k) first, k = the saves it precedes: room for
 * k restores.
 */
typedef struct bm_undo {
  uint64_t key;         /* x >> 16 */
  struct bm_ctr *ctr;   /* the chunk's container before the change (a
                           reference), or NULL: the chunk was empty */
} bm_undo;

int bm_undo_save(pc_mem *m, bm *b, uint64_t x, bm_undo *u);
void bm_undo_restore(pc_mem *m, bm *b, bm_undo *u);
void bm_undo_release(pc_mem *m, bm_undo *u);
int bm_undo_room(pc_mem *m, bm *b, uint32_t k);

#endif
