/*
 * icol.h — an int column index: one nullable int64 per customer, laid out
 * for vectorized range scans chunk by chunk (the same 64K-id chunks as the
 * bitmaps: chunk key = cid >> 16, slot = cid & 0xFFFF).
 *
 * Serves int, time and bool attributes, counters (count, last), built-in
 * times (added_at, last_seen, stage_since). Why a column scan rather than a
 * bit-sliced index, and why byte planes: see lib/query/README.md,
 * "Attribute indexes" (measurements).
 *
 * Layout of a chunk:
 *  - frame of reference: a value v is stored as the offset u = v - base,
 *    u < 2^bits; bits is one more than the chunk's span needs (headroom),
 *    so neighbours of the current values fit without re-encoding; a value
 *    outside the frame re-encodes the chunk (O(chunk), amortized);
 *  - sparse (up to a threshold): sorted 16-bit slots and their offsets in
 *    1, 2, 4 or 8 bytes;
 *  - dense: ceil(bits / 8) byte planes of 65536 bytes, plane 0 holding the
 *    most significant 8 bits of each offset (offsets are left-aligned), and
 *    a 1024-word bitset of the slots holding a value (NULL = no bit). A
 *    range scan compares plane 0 for all slots and reads a further plane
 *    only for the 64-slot blocks where some value still ties with a bound
 *    (the ByteSlice layout of Feng et al., SIGMOD 2015).
 * Memory, dense: planes × 64 KiB + 8 KiB per chunk; sparse: n × (2 + width).
 */
#ifndef POND_QUERY_ICOL_H
#define POND_QUERY_ICOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"

#define QY_CHUNK_SLOTS 65536u
#define QY_CHUNK_WORDS 1024u

typedef struct qy_ichunk {
  uint8_t bits;   /* offsets are < 2^bits (bits = 64: any) */
  uint8_t width;  /* sparse: bytes per stored offset (1, 2, 4 or 8) */
  uint8_t planes; /* dense: byte planes, ceil(bits / 8) */
  uint8_t dense;
  uint32_t n;     /* values held */
  uint32_t cap;   /* sparse: allocated entries */
  int64_t base;   /* v = base + offset */
  uint64_t *nn;   /* dense: QY_CHUNK_WORDS words, bit set = slot has a value */
  uint16_t *slots; /* sparse: sorted slots */
  void *vals;     /* dense: planes × QY_CHUNK_SLOTS bytes; sparse: cap offsets */
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
/* The same as k's own bitset when k is dense (no copy), else NULL. */
static inline const uint64_t *qy_ichunk_nn(const qy_ichunk *k) { return k && k->dense ? k->nn : NULL; }
/* out[QY_CHUNK_WORDS] := the slots of k holding a value v with
 * lo <= v <= hi (nothing when lo > hi). k may be NULL. */
void qy_ichunk_range(const qy_ichunk *k, int64_t lo, int64_t hi, uint64_t *out);
/* 1 and *v if slot of k holds a value, else 0. k may be NULL. */
int qy_ichunk_get(const qy_ichunk *k, unsigned slot, int64_t *v);
/* The candidates of care (QY_CHUNK_WORDS words) one by one, in bulk:
 * nn := the candidates holding a value; hit := those whose value v has
 * lo <= v <= hi (_range), or whose value, read as an index v >= 0, has
 * bit v set in tab[0..ntab) (_in: value-id sets of string columns).
 * For few candidates: O(candidates) for dense chunks, O(values) for
 * sparse ones. k may be NULL. */
void qy_ichunk_cands_range(const qy_ichunk *k, const uint64_t *care, int64_t lo, int64_t hi,
                           uint64_t *hit, uint64_t *nn);
void qy_ichunk_cands_in(const qy_ichunk *k, const uint64_t *care, const uint64_t *tab,
                        uint32_t ntab, uint64_t *hit, uint64_t *nn);
/* vals[QY_CHUNK_SLOTS] := every slot's value (0 where none) and
 * nn[QY_CHUNK_WORDS] := the slots holding one. k may be NULL. */
void qy_ichunk_decode(const qy_ichunk *k, int64_t *vals, uint64_t *nn);

/* Bytes held by the column (for pond_memory_used and the benchmarks). */
size_t qy_icol_memory(const qy_icol *c);

/* The kernel behind qy_ichunk_range on a dense chunk: out[w] = bits of the
 * 64 slots of block w whose left-aligned offset x (the planes' bytes, most
 * significant first) satisfies a <= x <= b, where a and b are values of
 * 8 × planes bits. isa: 0 portable, 1 AVX2, 2 AVX-512BW, -1 the best the
 * CPU has (tests force each one). */
void qy_scan_planes(const uint8_t *planes, unsigned nplanes, uint64_t a, uint64_t b,
                    uint64_t *out, int isa);
/* The best isa this CPU supports (0, 1 or 2). */
int qy_scan_isa(void);

#endif
