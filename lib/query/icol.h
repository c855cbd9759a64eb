/*
 * icol.h — an int column index: one nullable int64 per customer, laid out
 * for vectorized range scans chunk by chunk (the same 64K-id chunks as the
 * bitmaps: chunk key = cid >> 16, slot = cid & 0xFFFF).
 *
 * Serves int, time and bool attributes, counters (count, last), built-in
 * times (added_at, last_seen, stage_since). Why a column scan rather than a
 * bit-sliced index: measured on this machine (10M customers, values of 20
 * bits, range lo <= v <= hi), an AVX-512 scan of 32-bit values takes
 * 1.5 ms (16-bit: 0.85 ms) against 3.5 ms for a vectorized, chunk-fused
 * BSI over 20 dense slices; a scan costs the same for any range and bit
 * width, an update is one store instead of 20 bitmap edits, it reads a
 * single customer's value in O(1), and it can restrict itself to the
 * candidates left by earlier predicates. (lib/query/README.md, "Attribute
 * indexes", has the numbers and the command.)
 *
 * Layout of a chunk:
 *  - frame of reference: a value v is stored as the unsigned v - base in
 *    1, 2, 4 or 8 bytes, the narrowest that holds the chunk's span with
 *    headroom; a value outside the frame re-encodes the chunk (O(chunk),
 *    amortized: the width only grows and each rebase leaves headroom);
 *  - sparse (up to a threshold): sorted 16-bit slots and their values;
 *    dense: 65536 values indexed by slot plus a 1024-word bitset of the
 *    slots holding a value (NULL = no bit).
 * Memory, dense: 65536 × width + 8 KiB per chunk; sparse: n × (2 + width).
 */
#ifndef POND_QUERY_ICOL_H
#define POND_QUERY_ICOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"

#define QY_CHUNK_SLOTS 65536u
#define QY_CHUNK_WORDS 1024u

typedef struct qy_ichunk {
  uint8_t width;  /* bytes per stored value: 1, 2, 4 or 8 */
  uint8_t dense;
  uint32_t n;     /* values held */
  uint32_t cap;   /* sparse: allocated entries */
  int64_t base;   /* v = base + stored */
  uint64_t *nn;   /* dense: QY_CHUNK_WORDS words, bit set = slot has a value */
  uint16_t *slots; /* sparse: sorted slots */
  void *vals;     /* dense: QY_CHUNK_SLOTS values; sparse: cap values */
} qy_ichunk;

typedef struct qy_icol {
  uint64_t *keys;      /* sorted chunk keys */
  qy_ichunk **chunks;  /* chunks[i] holds key keys[i]; never empty */
  uint32_t n, cap;
  uint64_t count;      /* values held in all chunks */
} qy_icol;

void qy_icol_init(qy_icol *c);
void qy_icol_free(pc_mem *m, qy_icol *c);

/* Sets cid's value; POND_ENOMEM leaves the column unchanged. */
int qy_icol_set(pc_mem *m, qy_icol *c, uint64_t cid, int64_t v);
/* Makes cid's value NULL. Never fails (shrinking a chunk that cannot be
 * reallocated keeps its larger block). */
void qy_icol_clear(pc_mem *m, qy_icol *c, uint64_t cid);
/* 1 and *v if cid has a value, else 0. */
int qy_icol_get(const qy_icol *c, uint64_t cid, int64_t *v);

/* The chunk of key, or NULL when no customer of the chunk has a value. */
const qy_ichunk *qy_icol_chunk(const qy_icol *c, uint64_t key);

/* out[QY_CHUNK_WORDS] := the slots of k holding a value. k may be NULL. */
void qy_ichunk_notnull(const qy_ichunk *k, uint64_t *out);
/* out[QY_CHUNK_WORDS] := the slots of k holding a value v with
 * lo <= v <= hi (nothing when lo > hi). k may be NULL. */
void qy_ichunk_range(const qy_ichunk *k, int64_t lo, int64_t hi, uint64_t *out);

/* 1 and *v if slot of k holds a value, else 0. k may be NULL. */
int qy_ichunk_get(const qy_ichunk *k, unsigned slot, int64_t *v);
/* vals[QY_CHUNK_SLOTS] := every slot's value (0 where none) and
 * nn[QY_CHUNK_WORDS] := the slots holding one. k may be NULL. */
void qy_ichunk_decode(const qy_ichunk *k, int64_t *vals, uint64_t *nn);

/* Bytes held by the column (for pond_memory_used and the benchmarks). */
size_t qy_icol_memory(const qy_icol *c);

/* The kernel behind qy_ichunk_range on a dense chunk: out[w] = bits of
 * the 64 values of block w whose (value - ulo) <= span, unsigned, in the
 * value's width; ANDed with nn by the caller. isa: 0 portable, 1 AVX2,
 * 2 AVX-512BW, -1 the best the CPU has (tests force each one). */
void qy_scan_dense(const void *vals, unsigned width, uint64_t ulo, uint64_t span,
                   uint64_t *out, int isa);
/* The best isa this CPU supports (0, 1 or 2). */
int qy_scan_isa(void);

#endif
