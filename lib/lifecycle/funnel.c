/*
 * funnel.c — transition counters per (machine, from, to, UTC day), and
 * pond_funnel.
 *
 * One map entry per (machine, from state, to state, day) that saw a
 * transition: key mid:13 | from:15 | to:15 | day:21 bits, value the count
 * (a customer's arrival in a machine's initial state is counted with from
 * = LC_SID_MAX). A tenant with two machines of six states and ten kinds of
 * moves a day keeps ~20 entries a day, ~25 bytes each: 180 KiB a year.
 * Days are clamped to ±2^20 days around 1970.
 *
 * These counts are truth (nothing else records history), so their changes
 * are undone through lc's undo log (dispatch.c) and persisted by the store.
 */
#include <string.h>

#include "db/db.h"
#include "lifecycle/lc.h"
#include "query/qydb.h"

#define DAY_BIAS ((int64_t)1 << 20)

int64_t lc_day(int64_t ts) {
  int64_t d = ts >= 0 ? ts / 86400 : -((-(ts + 1)) / 86400) - 1;
  if (d < -DAY_BIAS) d = -DAY_BIAS;
  if (d >= DAY_BIAS) d = DAY_BIAS - 1;
  return d;
}

uint64_t lc_funnel_key(uint32_t mid, uint32_t from, uint32_t to, int64_t day) {
  return (uint64_t)mid << 51 | (uint64_t)from << 36 | (uint64_t)to << 21 |
         (uint64_t)(day + DAY_BIAS);
}

static void key_split(uint64_t k, uint32_t *mid, uint32_t *from, uint32_t *to, int64_t *day) {
  *mid = (uint32_t)(k >> 51);
  *from = (uint32_t)(k >> 36) & LC_SID_MAX;
  *to = (uint32_t)(k >> 21) & LC_SID_MAX;
  *day = (int64_t)(k & 0x1FFFFF) - DAY_BIAS;
}

typedef struct pair {
  uint32_t from, to;
  uint64_t count;
} pair;

static int pair_cmp(const pair *a, const pair *b) {
  /* arrivals (from = LC_SID_MAX) first, then by from, then by to */
  uint32_t fa = a->from == LC_SID_MAX ? 0 : a->from + 1, fb = b->from == LC_SID_MAX ? 0 : b->from + 1;
  if (fa != fb) return fa < fb ? -1 : 1;
  return a->to < b->to ? -1 : a->to > b->to;
}

/* The block handed out: its size first, then the rows, then the names. */
typedef struct fblock {
  size_t bytes;
  size_t pad;
} fblock;

static int funnel(pond_db *db, const char *machine, int64_t from, int64_t to, pond_funnel_row **rows,
                  size_t *nrows) {
  pc_mem *m = &db->mem;
  if (!machine || !rows || !nrows) return pc_errf(&db->err, POND_EINVAL, "funnel: machine, rows and n must not be NULL");
  const lc_mset *ms = lc_machines(db);
  uint32_t mid;
  const lc_machine *mc = lc_machine_find(ms, machine, strlen(machine), &mid);
  if (!mc) return pc_errf(&db->err, POND_NOTFOUND, "machine '%.100s' is not defined", machine);
  /* customers per state now: the derived stage column (one bitmap per state) */
  qy_dbcol *col;
  POND_TRY(qy_dbidx_column(db, QY_COL_STAGE, mid, &col));
  /* transitions within the days overlapping [from, to) */
  int64_t d0 = lc_day(from), d1 = to > from ? lc_day(to - 1) : d0 - 1;
  pair *pv = NULL;
  size_t np = 0, cp = 0;
  uint64_t key, v;
  size_t it = 0;
  const pc_map64 *f = db->lc ? &db->lc->funnel : NULL;
  while (f && pc_map64_next(f, &it, &key, &v)) {
    uint32_t km, kf, kt;
    int64_t day;
    key_split(key, &km, &kf, &kt, &day);
    if (km != mid || day < d0 || day > d1) continue;
    size_t j = 0;
    while (j < np && !(pv[j].from == kf && pv[j].to == kt)) j++;
    if (j == np) {
      if (np == cp) {
        size_t nc = cp ? cp * 2 : 16;
        pair *q = pc_realloc(m, pv, cp * sizeof *q, nc * sizeof *q);
        if (!q) {
          pc_free(m, pv, cp * sizeof *pv);
          return POND_ENOMEM;
        }
        pv = q;
        cp = nc;
      }
      pv[np++] = (pair){kf, kt, 0};
    }
    pv[j].count += v;
  }
  /* insertion sort: a funnel has few distinct moves */
  for (size_t i = 1; i < np; i++)
    for (size_t j = i; j && pair_cmp(&pv[j], &pv[j - 1]) < 0; j--) {
      pair x = pv[j];
      pv[j] = pv[j - 1];
      pv[j - 1] = x;
    }
  uint32_t nlive = 0;
  size_t names = 0;
  for (uint32_t s = 0; s < mc->nst; s++) {
    nlive += mc->st[s].live;
    names += mc->st[s].len + 1;
  }
  size_t n = nlive + np, bytes = sizeof(fblock) + n * sizeof(pond_funnel_row) + names;
  fblock *blk = pc_alloc(m, bytes);
  if (!blk) {
    pc_free(m, pv, cp * sizeof *pv);
    return POND_ENOMEM;
  }
  blk->bytes = bytes;
  pond_funnel_row *out = (pond_funnel_row *)(blk + 1);
  char *str = (char *)(out + n);
  const char **name = pc_calloc(m, (size_t)mc->nst * sizeof *name);
  if (!name) {
    pc_free(m, blk, bytes);
    pc_free(m, pv, cp * sizeof *pv);
    return POND_ENOMEM;
  }
  for (uint32_t s = 0; s < mc->nst; s++) {
    memcpy(str, mc->st[s].name, mc->st[s].len);
    str[mc->st[s].len] = 0;
    name[s] = str;
    str += mc->st[s].len + 1;
  }
  uint64_t total = bm_card(&db->all);
  size_t k = 0;
  for (uint32_t s = 0; s < mc->nst; s++) {
    if (!mc->st[s].live) continue;
    pond_funnel_row *row = &out[k++];
    memset(row, 0, sizeof *row);
    row->kind = POND_FUNNEL_STATE;
    row->to = name[s];
    row->count = s < col->nbyval ? bm_card(&col->byval[s]) : 0;
    for (size_t j = 0; j < np; j++)
      if (pv[j].to == s) row->entered += pv[j].count;
    row->rate = total ? (double)row->count / (double)total : 0.0;
  }
  for (size_t j = 0; j < np; j++) {
    pond_funnel_row *row = &out[k++];
    memset(row, 0, sizeof *row);
    row->kind = POND_FUNNEL_STEP;
    row->from = pv[j].from == LC_SID_MAX ? NULL : name[pv[j].from];
    row->to = name[pv[j].to];
    row->count = pv[j].count;
    for (size_t i = 0; i < np; i++)
      if (pv[j].from == LC_SID_MAX ? pv[i].from == LC_SID_MAX && pv[i].to == pv[j].to
                                   : pv[i].to == pv[j].from)
        row->entered += pv[i].count;
    row->rate = row->entered ? (double)row->count / (double)row->entered : 0.0;
  }
  pc_free(m, name, (size_t)mc->nst * sizeof *name);
  pc_free(m, pv, cp * sizeof *pv);
  *rows = out;
  *nrows = n;
  return POND_OK;
}

int pond_funnel(pond_db *db, const char *machine, int64_t from, int64_t to, pond_funnel_row **rows,
                size_t *n) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, funnel(db, machine, from, to, rows, n));
}

void pond_funnel_free(pond_db *db, pond_funnel_row *rows) {
  if (!db || !rows) return;
  db_lock(db);
  fblock *blk = (fblock *)rows - 1;
  pc_free(&db->mem, blk, blk->bytes);
  db_unlock(db, POND_OK);
}
