/*
 * ctr.h — containers: the low 16 bits of the ids of one 64K-id chunk.
 * Private to lib/bitmap.
 *
 * Layout: one block per container, a 24-byte header then the data.
 *
 *   kind    data (d)                                   bytes        card
 *   ARRAY   n sorted distinct uint16, room for cap     24 + 2 cap   1..4096
 *   BITSET  1024 uint64 words, bit v%64 of word v/64   24 + 8192    4097..65536
 *   RUN     n (start, length-1) uint16 pairs, sorted,  24 + 4 cap   1..65536
 *           separated by at least one absent value
 *
 * Invariants: card is exact and >= 1 (an empty container does not exist);
 * arrays hold at most CT_ARRAY_MAX values and bitsets more; runs may hold
 * any count and are used where they are smaller (CRoaring's sizes: array
 * 2c + 2, bitset 8192, run 2 + 4r). A full chunk is a single run.
 *
 * Containers are shared copy-on-write between bitmaps: rc counts the
 * holders, atomically, because a snapshot (a pond_set) may be released on
 * another thread. A holder changes a container only when rc == 1; ct_own
 * makes a private copy otherwise.
 */
#ifndef POND_BITMAP_CTR_H
#define POND_BITMAP_CTR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"

enum { CT_ARRAY = 1, CT_BITSET = 2, CT_RUN = 3 };

#define CT_ARRAY_MAX 4096u
#define CT_WORDS 1024u
#define CT_BITSET_BYTES 8192u

typedef struct ct_run {
  uint16_t start, len; /* values start .. start + len */
} ct_run;

struct bm_ctr {
  _Atomic uint32_t rc;
  uint8_t kind;
  uint8_t pad_[3];
  uint32_t card;
  uint32_t n;   /* ARRAY: values; RUN: runs; BITSET: CT_WORDS */
  uint32_t cap; /* ARRAY: values; RUN: runs; BITSET: CT_WORDS */
  uint64_t d[];
};
typedef struct bm_ctr ct;

static inline uint16_t *ct_arr(ct *c) { return (uint16_t *)(void *)c->d; }
static inline const uint16_t *ct_carr(const ct *c) { return (const uint16_t *)(const void *)c->d; }
static inline ct_run *ct_runs(ct *c) { return (ct_run *)(void *)c->d; }
static inline const ct_run *ct_cruns(const ct *c) { return (const ct_run *)(const void *)c->d; }

/* Bytes of the block holding c. */
size_t ct_bytes(const ct *c);

/* New private containers (rc 1, card 0, n 0): the caller fills them and
 * sets card/n. NULL on allocation failure. A bitset is zeroed when zero. */
ct *ct_new_array(pc_mem *m, uint32_t cap);
ct *ct_new_bitset(pc_mem *m, int zero);
ct *ct_new_run(pc_mem *m, uint32_t cap);

/* Another holder. */
static inline ct *ct_ref(ct *c) {
  atomic_fetch_add_explicit(&c->rc, 1, memory_order_relaxed);
  return c;
}
/* Drops a holder; the last one frees the block. */
void ct_release(pc_mem *m, ct *c);
static inline int ct_private(const ct *c) {
  return atomic_load_explicit(&((ct *)c)->rc, memory_order_acquire) == 1;
}
/* *pc becomes private (copied with room for extra more values or runs
 * when shared). POND_ENOMEM leaves it shared. */
int ct_own(pc_mem *m, ct **pc, uint32_t extra);

int ct_contains(const ct *c, uint16_t v);
/* 1 added / 0 present / POND_ENOMEM (then *pc unchanged). May replace *pc
 * (copy-on-write, growth, a change of kind). */
int ct_add(pc_mem *m, ct **pc, uint16_t v);
/* 1 removed / 0 absent / POND_ENOMEM. The caller removes a container whose
 * last value goes (card == 1 and v present) itself, without calling this. */
int ct_remove(pc_mem *m, ct **pc, uint16_t v);

uint16_t ct_min(const ct *c);
uint16_t ct_max(const ct *c);
/* words[0..1024) := c as a bitset. */
void ct_to_words(const ct *c, uint64_t *words);
/* Number of runs of set bits in words; the runs themselves, ascending
 * (r has room for ct_words_runs(words) entries). */
uint32_t ct_words_runs(const uint64_t *words);
void ct_words_to_runs(const uint64_t *words, ct_run *r);
/* The smallest container holding the card (>= 1) values of words; NULL on
 * allocation failure. with_runs: consider a run container too (costs a
 * pass over the words). */
ct *ct_from_words(pc_mem *m, const uint64_t *words, uint32_t card, int with_runs);
/* A container for the sorted distinct values v[0..n), n >= 1. */
ct *ct_from_sorted(pc_mem *m, const uint16_t *v, uint32_t n);
/* Number of runs in c; the smallest kind (CT_*) for card values in nruns
 * runs, ties going to cur (the present kind, or 0 for a new container). */
uint32_t ct_nruns(const ct *c);
int ct_best_kind(uint32_t card, uint32_t nruns, int cur);
/* c converted to kind (a new container), or NULL on allocation failure. */
ct *ct_convert(pc_mem *m, const ct *c, int kind);
/* Same values. */
int ct_equal(const ct *a, const ct *b);

/* Values >= from in ascending order, as base | v, at most cap; returns the
 * number written. */
size_t ct_page(const ct *c, uint32_t from, uint64_t base, uint64_t *out, size_t cap);
/* Position of the first value >= from in kind-specific terms (array:
 * index; bitset: value; run: run index with *sub the value), for iterators;
 * 0 when none (then *pos is past the end). */
void ct_seek(const ct *c, uint32_t from, uint32_t *pos, uint32_t *sub);
/* The value at (pos, sub) and advances; 0 at the end. */
int ct_next(const ct *c, uint32_t *pos, uint32_t *sub, uint16_t *v);

/* Set algebra on containers. *out gets a new or shared container, or NULL
 * when the result is empty; POND_ENOMEM writes nothing. */
int ct_op(pc_mem *m, int op, const ct *a, const ct *b, ct **out);
uint32_t ct_op_card(int op, const ct *a, const ct *b);

#endif
