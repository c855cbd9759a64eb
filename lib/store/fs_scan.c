/*
 * fs_scan.c — visiting live records in key order with their values, which
 * live in the log, not in memory.
 *
 * Records are taken in windows of up to 1024 keys (or 1 MiB of values).
 * Within a window the values are read in file order, and values that lie
 * close together (gaps up to 4 KiB) are read with one pread, so a compacted
 * log — written in key order — is read sequentially in large reads, and an
 * uncompacted one costs at most one read per value (from the page cache,
 * usually: open has just read the whole file). Then the window's records
 * are handed out in key order.
 */
#include <stdlib.h>
#include <string.h>

#include "store/fs.h"

#define WIN_MAX 1024
#define WIN_BYTES ((uint64_t)1 << 20)
#define GAP_MAX 4096
#define GROUP_MAX ((uint64_t)4 << 20)
#define RBUF_KEEP ((size_t)4 << 20)

typedef struct by_off {
  uint64_t off;
  uint32_t vlen, k; /* k: position in the window (key order) */
} by_off;

typedef struct st_win {
  const st_rec *rec[WIN_MAX];
  const uint8_t *val[WIN_MAX];
  by_off ord[WIN_MAX];
} st_win;

static int by_off_cmp(const void *a, const void *b) {
  const by_off *x = a, *y = b;
  return (x->off > y->off) - (x->off < y->off);
}

/* Reads (do_read) or sizes (!do_read) the coalesced groups of ord[0..n). */
static int read_groups(st_fs *fs, st_win *w, size_t n, int do_read, size_t *total,
                       pc_err *e) {
  size_t cur = 0;
  for (size_t i = 0; i < n;) {
    uint64_t gs = w->ord[i].off, ge = gs + w->ord[i].vlen;
    size_t j = i + 1;
    while (j < n && w->ord[j].off >= ge && w->ord[j].off - ge <= GAP_MAX &&
           w->ord[j].off + w->ord[j].vlen - gs <= GROUP_MAX) {
      ge = w->ord[j].off + w->ord[j].vlen;
      j++;
    }
    size_t span = (size_t)(ge - gs);
    if (do_read) {
      size_t got;
      int rc = fs->env->read(fs->env->ctx, fs->fd, gs, fs->rbuf + cur, span, &got, e);
      if (rc) return rc;
      if (got != span)
        return pc_errf(e, POND_ESTORAGE, "file store: log shorter than its index (offset %llu)",
                       (unsigned long long)gs);
      for (size_t k = i; k < j; k++)
        w->val[w->ord[k].k] = fs->rbuf + cur + (w->ord[k].off - gs);
    }
    cur += span;
    i = j;
  }
  *total = cur;
  return POND_OK;
}

static int load_values(st_fs *fs, st_win *w, size_t n, pc_err *e) {
  size_t m = 0;
  int sorted = 1;
  for (size_t k = 0; k < n; k++) {
    const st_rec *r = w->rec[k];
    w->val[k] = (const uint8_t *)""; /* empty values need a non-NULL pointer */
    if (!r->vlen) continue;
    w->ord[m] = (by_off){r->off, r->vlen, (uint32_t)k};
    if (m && w->ord[m - 1].off > r->off) sorted = 0;
    m++;
  }
  if (!sorted) qsort(w->ord, m, sizeof *w->ord, by_off_cmp);
  size_t total;
  int rc = read_groups(fs, w, m, 0, &total, e);
  if (rc) return rc;
  if (total > fs->rcap) {
    pc_free(fs->m, fs->rbuf, fs->rcap);
    fs->rcap = 0;
    fs->rbuf = pc_alloc(fs->m, total);
    if (!fs->rbuf) return pc_errf(e, POND_ENOMEM, "file store: out of memory reading values");
    fs->rcap = total;
  }
  return read_groups(fs, w, m, 1, &total, e);
}

static int has_prefix(const st_rec *r, const void *prefix, size_t plen) {
  return r->klen >= plen && (!plen || !memcmp(r->key, prefix, plen));
}

int st_fs_walk(st_fs *fs, const void *prefix, size_t plen,
               int (*each)(void *arg, const st_rec *rec, const uint8_t *val),
               void *arg, pc_err *e) {
  st_index *ix = &fs->ix;
  if (st_index_sort(ix)) return pc_errf(e, POND_ENOMEM, "file store: out of memory sorting keys");
  if (!fs->win) {
    fs->win = pc_alloc(fs->m, sizeof(st_win));
    if (!fs->win) return pc_errf(e, POND_ENOMEM, "file store: out of memory");
  }
  st_win *w = fs->win;
  size_t i = st_index_seek(ix, prefix, plen);
  int rc = POND_OK, done = 0;
  while (!done && rc == POND_OK) {
    size_t n = 0;
    uint64_t bytes = 0;
    while (n < WIN_MAX && bytes < WIN_BYTES) {
      if (i >= ix->n || !has_prefix(ix->ord[i].rec, prefix, plen)) {
        done = 1;
        break;
      }
      const st_rec *r = ix->ord[i++].rec;
      if (r->vlen == ST_DEAD) continue;
      w->rec[n++] = r;
      bytes += r->vlen;
    }
    if (!n) break;
    rc = load_values(fs, w, n, e);
    for (size_t k = 0; k < n && rc == POND_OK; k++) rc = each(arg, w->rec[k], w->val[k]);
  }
  if (fs->rcap > RBUF_KEEP) {
    pc_free(fs->m, fs->rbuf, fs->rcap);
    fs->rbuf = NULL;
    fs->rcap = 0;
  }
  return rc;
}

void st_fs_walk_free(st_fs *fs) {
  pc_free(fs->m, fs->win, sizeof(st_win));
  fs->win = NULL;
}
