/*
 * ast.c — the arena behind query trees, and small facts about nodes.
 *
 * The arena is a singly linked list of blocks; allocation bumps a pointer in
 * the newest block and starts a new one (doubling, up to 64 KiB, or exactly
 * the request when larger) when it is full. Everything is freed at once.
 */
#include "query/ast.h"

#include <string.h>

struct qy_block {
  qy_block *next;
  size_t size; /* bytes of data after the header */
  max_align_t data[];
};

#define QY_BLOCK_MIN 1024
#define QY_BLOCK_MAX 65536

void qy_arena_init(qy_arena *a, pc_mem *m) {
  a->m = m;
  a->head = NULL;
  a->used = 0;
  a->total = 0;
}

void qy_arena_free(qy_arena *a) {
  qy_block *b = a->head;
  while (b) {
    qy_block *next = b->next;
    pc_free(a->m, b, sizeof *b + b->size);
    b = next;
  }
  a->head = NULL;
  a->used = 0;
  a->total = 0;
}

void *qy_arena_alloc(qy_arena *a, size_t n) {
  const size_t align = sizeof(max_align_t);
  if (n == 0) n = 1;
  if (n > (size_t)-1 / 2) return NULL;
  n = (n + align - 1) & ~(align - 1);
  if (!a->head || a->head->size - a->used < n) {
    size_t size = a->head ? a->head->size * 2 : QY_BLOCK_MIN;
    if (size > QY_BLOCK_MAX) size = QY_BLOCK_MAX;
    if (size < n) size = n;
    qy_block *b = pc_alloc(a->m, sizeof *b + size);
    if (!b) return NULL;
    b->size = size;
    /* A block made for one large request goes behind the head so the
     * head's free space stays usable. */
    if (a->head && size == n && a->head->size - a->used > 0) {
      b->next = a->head->next;
      a->head->next = b;
      a->total += size;
      return b->data;
    }
    b->next = a->head;
    a->head = b;
    a->used = 0;
    a->total += size;
  }
  void *p = (char *)a->head->data + a->used;
  a->used += n;
  return p;
}

char *qy_arena_strdup(qy_arena *a, const char *s, size_t len) {
  char *p = qy_arena_alloc(a, len + 1);
  if (!p) return NULL;
  if (len) memcpy(p, s, len);
  p[len] = 0;
  return p;
}

const char *qy_type_name(int type) {
  switch (type) {
    case QY_T_INT: return "int";
    case QY_T_TIME: return "time";
    case QY_T_STRING: return "string";
    case QY_T_BOOL: return "bool";
    default: return "unknown";
  }
}

int qy_col_nullable(int col) {
  switch (col) {
    case QY_COL_ATTR:
    case QY_COL_LAST_SEEN:
    case QY_COL_LAST:
      return 1;
    default:
      return 0;
  }
}
