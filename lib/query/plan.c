/*
 * plan.c — prepares a checked, folded tree for evaluation.
 *
 * Today: every IN list whose items are all absolute becomes a sorted set
 * without duplicates (int64 values, strings in byte order, or state ids
 * against stage('m')), so a single-customer test is a binary search and a
 * set evaluation an n-way union over the distinct values. Sorting is a
 * heapsort: in place, no recursion, no allocation (libc's qsort may call
 * malloc behind the host's allocator).
 */
#include <string.h>

#include "query/qyint.h"

static void swap_bytes(unsigned char *a, unsigned char *b, size_t size) {
  while (size--) {
    unsigned char t = *a;
    *a++ = *b;
    *b++ = t;
  }
}

static void sift(unsigned char *base, size_t size, size_t root, size_t n,
                 int (*cmp)(const void *, const void *)) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && cmp(base + child * size, base + (child + 1) * size) < 0) child++;
    if (cmp(base + root * size, base + child * size) >= 0) return;
    swap_bytes(base + root * size, base + child * size, size);
    root = child;
  }
}

void qy_heapsort(void *p, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
  unsigned char *base = p;
  if (n < 2) return;
  for (size_t i = n / 2; i-- > 0;) sift(base, size, i, n, cmp);
  for (size_t end = n - 1; end > 0; end--) {
    swap_bytes(base, base + end * size, size);
    sift(base, size, 0, end, cmp);
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int qy_str_cmp(const qy_str *a, const qy_str *b) {
  size_t m = a->len < b->len ? a->len : b->len;
  int c = m ? memcmp(a->p, b->p, m) : 0;
  if (c) return c;
  return a->len < b->len ? -1 : a->len > b->len;
}

static int cmp_str(const void *a, const void *b) { return qy_str_cmp(a, b); }

/* Sorts and removes duplicates in place; returns the new count. */
static uint32_t sort_unique(void *p, uint32_t n, size_t size,
                            int (*cmp)(const void *, const void *)) {
  unsigned char *base = p;
  qy_heapsort(p, n, size, cmp);
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (k && cmp(base + (k - 1) * size, base + i * size) == 0) continue;
    if (k != i) memcpy(base + k * size, base + i * size, size);
    k++;
  }
  return k;
}

static int plan_in(qy_prep *p, qy_node *n) {
  for (uint32_t i = 0; i < n->n; i++)
    if (n->items[i].now) return POND_OK; /* relative to now(): scanned at evaluation */
  int is_stage = n->a->kind == QY_COLUMN && n->a->op == QY_COL_STAGE;
  if (n->a->type == QY_T_STRING && is_stage) {
    uint32_t *ids = qy_arena_alloc(p->arena, n->n * sizeof *ids);
    if (!ids) return pc_errf(p->e, POND_ENOMEM, "query: out of memory");
    for (uint32_t i = 0; i < n->n; i++) ids[i] = n->items[i].id;
    n->nset = sort_unique(ids, n->n, sizeof *ids, cmp_u32);
    n->idset = ids;
  } else if (n->a->type == QY_T_STRING) {
    qy_str *ss = qy_arena_alloc(p->arena, n->n * sizeof *ss);
    if (!ss) return pc_errf(p->e, POND_ENOMEM, "query: out of memory");
    for (uint32_t i = 0; i < n->n; i++) ss[i] = n->items[i].s;
    n->nset = sort_unique(ss, n->n, sizeof *ss, cmp_str);
    n->sset = ss;
  } else {
    int64_t *iv = qy_arena_alloc(p->arena, n->n * sizeof *iv);
    if (!iv) return pc_errf(p->e, POND_ENOMEM, "query: out of memory");
    for (uint32_t i = 0; i < n->n; i++) iv[i] = n->items[i].i + n->items[i].delta;
    n->nset = sort_unique(iv, n->n, sizeof *iv, cmp_i64);
    n->iset = iv;
  }
  return POND_OK;
}

static int plan(qy_prep *p, qy_node *n, unsigned *nidx) {
  if (n->planned) return POND_OK; /* shared segment subtree */
  n->planned = 1;
  n->idx = (*nidx)++;
  unsigned h = 0;
  switch (n->kind) {
    case QY_AND:
    case QY_OR:
      for (uint32_t i = 0; i < n->n; i++) {
        POND_TRY(plan(p, n->kids[i], nidx));
        if (n->kids[i]->height > h) h = n->kids[i]->height;
      }
      break;
    case QY_NOT:
    case QY_SEGMENT:
      POND_TRY(plan(p, n->a, nidx));
      h = n->a->height;
      break;
    case QY_IN:
      POND_TRY(plan_in(p, n));
      break;
    default:
      break;
  }
  n->height = (uint16_t)(h + 1);
  return POND_OK;
}

int qy_plan(qy_prep *p, qy_node *root, unsigned *nidx) {
  *nidx = 0;
  return plan(p, root, nidx);
}
