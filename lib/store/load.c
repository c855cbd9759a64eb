/*
 * load.c — opening a db over storage: one scan of the whole key space, in
 * key order, decoding every record strictly (rec.c) into the db, then the
 * derived state built in bulk.
 *
 * Order is part of the check: the meta record comes first (its format
 * version decides whether anything else may be read), then the
 * definitions, tags by ascending id, customers by ascending id; anything
 * else — a record before the meta record, keys out of order, an unknown or
 * reserved namespace — is POND_ECORRUPT.
 *
 * Derived state: a customer's record goes into the map as decoded; its
 * memberships (every tag and attribute entry, and the customer itself for
 * `all`) are buffered as (bitmap, cid) pairs. Customers arrive in ascending
 * id order, so when the buffer fills (PAIRS_MAX) a stable counting sort by
 * bitmap leaves each bitmap's ids sorted and bm_add_many takes its sorted
 * fast path: containers are built whole, never one id at a time. Memory
 * beyond the state itself: 20 bytes per buffered pair, at most
 * PAIRS_MAX pairs (20 MiB).
 */
#include <string.h>

#include "db/db.h"
#include "lifecycle/lc.h"
#include "store/filestore.h"
#include "store/persist.h"
#include "store/rec.h"

#define PAIRS_MAX ((size_t)1 << 20)

typedef struct ld {
  pond_db *db;
  st_dec dec;
  pc_err *e;
  int rc;          /* the first failure, returned by every later callback */
  int ns;          /* namespace of the last record */
  uint64_t records;
  int have_meta, tags_ready;
  uint32_t tag_next, last_tag;
  int have_cid;
  uint64_t last_cid;
  /* membership pairs: bitmap index (0: all, t: tag t, tag_next + a:
   * attribute a's has bitmap) and cid */
  uint32_t *pk;
  uint64_t *pc;
  size_t np, pcap;
  uint64_t *tmp;
  size_t tcap;
  size_t *cnt;
  size_t ccap;
} ld;

static int corrupt(ld *L, const char *msg) {
  return pc_errf(L->e, POND_ECORRUPT, "storage: %s", msg);
}

static int nomem(ld *L) { return pc_errf(L->e, POND_ENOMEM, "storage: out of memory loading"); }

/* ------------------------------------------------------------ pairs */

static bm *target(pond_db *db, uint32_t tag_next, uint32_t i) {
  if (i == 0) return &db->all;
  if (i < tag_next) return &db->tags.v[i].members;
  return &db->av[i - tag_next].has;
}

static int flush(ld *L) {
  pond_db *db = L->db;
  pc_mem *m = &db->mem;
  if (!L->np) return POND_OK;
  size_t nt = (size_t)L->tag_next + db->defs->nattrs + 1;
  if (nt > L->ccap) {
    size_t *c = pc_realloc(m, L->cnt, L->ccap * sizeof *c, nt * sizeof *c);
    if (!c) return nomem(L);
    L->cnt = c;
    L->ccap = nt;
  }
  if (L->np > L->tcap) {
    uint64_t *t = pc_alloc(m, L->np * sizeof *t);
    if (!t) return nomem(L);
    pc_free(m, L->tmp, L->tcap * sizeof *t);
    L->tmp = t;
    L->tcap = L->np;
  }
  size_t *cnt = L->cnt;
  memset(cnt, 0, nt * sizeof *cnt);
  for (size_t i = 0; i < L->np; i++) cnt[L->pk[i]]++;
  size_t sum = 0;
  for (size_t t = 0; t < nt; t++) {
    size_t c = cnt[t];
    cnt[t] = sum;
    sum += c;
  }
  for (size_t i = 0; i < L->np; i++) L->tmp[cnt[L->pk[i]]++] = L->pc[i];
  /* cnt[t] is now the end of bitmap t's run */
  size_t start = 0;
  for (size_t t = 0; t < nt; t++) {
    size_t end = cnt[t];
    if (end > start &&
        bm_add_many(m, target(db, L->tag_next, (uint32_t)t), L->tmp + start, end - start, NULL) < 0)
      return nomem(L);
    start = end;
  }
  L->np = 0;
  return POND_OK;
}

static int push_room(ld *L, size_t k) {
  if (L->pcap - L->np >= k) return POND_OK;
  if (L->np && L->np + k > PAIRS_MAX) {
    POND_TRY(flush(L));
    if (L->pcap >= k) return POND_OK;
  }
  size_t cap = L->pcap ? L->pcap : 4096;
  while (cap < L->np + k) cap *= 2;
  pc_mem *m = &L->db->mem;
  uint32_t *pk = pc_alloc(m, cap * sizeof *pk);
  uint64_t *pc = pc_alloc(m, cap * sizeof *pc);
  if (!pk || !pc) {
    pc_free(m, pk, pk ? cap * sizeof *pk : 0);
    pc_free(m, pc, pc ? cap * sizeof *pc : 0);
    return nomem(L);
  }
  if (L->np) {
    memcpy(pk, L->pk, L->np * sizeof *pk);
    memcpy(pc, L->pc, L->np * sizeof *pc);
  }
  pc_free(m, L->pk, L->pcap * sizeof *pk);
  pc_free(m, L->pc, L->pcap * sizeof *pc);
  L->pk = pk;
  L->pc = pc;
  L->pcap = cap;
  return POND_OK;
}

static void ld_free(ld *L) {
  pc_mem *m = &L->db->mem;
  pc_free(m, L->pk, L->pcap * sizeof *L->pk);
  pc_free(m, L->pc, L->pcap * sizeof *L->pc);
  pc_free(m, L->tmp, L->tcap * sizeof *L->tmp);
  pc_free(m, L->cnt, L->ccap * sizeof *L->cnt);
  st_dec_free(&L->dec);
}

/* ---------------------------------------------------------- records */

/* The tag table gets its final size (ids below tag_next; the slots of
 * deleted tags stay dead) before the first tag or customer. */
static int tags_ready(ld *L) {
  if (L->tags_ready) return POND_OK;
  pond_db *db = L->db;
  tg_table *t = &db->tags;
  uint32_t need = L->tag_next;
  if (need > t->cap) {
    uint32_t cap = need < 64 ? 64 : need;
    tg_tag *v = pc_realloc(&db->mem, t->v, t->cap * sizeof *v, (size_t)cap * sizeof *v);
    if (!v) return nomem(L);
    memset(v + t->cap, 0, (size_t)(cap - t->cap) * sizeof *v);
    t->v = v;
    t->cap = cap;
  }
  t->n = need;
  L->tags_ready = 1;
  return POND_OK;
}

static int on_meta(ld *L, const pond_kv *kv) {
  if (kv->klen != 1) return corrupt(L, "meta key of more than one byte");
  if (L->records) return corrupt(L, "the meta record is not the first record");
  POND_TRY(st_meta_decode(kv->val, kv->vlen, &L->tag_next, L->e));
  L->have_meta = 1;
  return POND_OK;
}

static int on_defs(ld *L, const pond_kv *kv) {
  pond_db *db = L->db;
  if (kv->klen != 1) return corrupt(L, "definitions key of more than one byte");
  df_defs *d;
  POND_TRY(st_defs_decode(&db->mem, kv->val, kv->vlen, &d, L->e));
  if (db_av_reserve(db, d->nattrs) < 0) {
    df_free(&db->mem, d);
    return nomem(L);
  }
  df_free(&db->mem, db->defs);
  db->defs = d;
  db->defs_gen++;
  db_av_extend(db, d->nattrs);
  return POND_OK;
}

static int on_tag(ld *L, const pond_kv *kv) {
  pond_db *db = L->db;
  if (kv->klen != ST_KEY_TAG_LEN) return corrupt(L, "tag key is not 5 bytes");
  uint32_t id = (uint32_t)st_key_be((const uint8_t *)kv->key + 1, 4), g;
  if (id == 0 || id >= L->tag_next)
    return pc_errf(L->e, POND_ECORRUPT, "storage: tag %u is outside the ids given out (1..%u)", id,
                   L->tag_next ? L->tag_next - 1 : 0);
  if (L->last_tag && id <= L->last_tag) return corrupt(L, "tag records out of key order");
  L->last_tag = id;
  POND_TRY(tags_ready(L));
  const char *name;
  size_t len;
  POND_TRY(st_tag_decode(kv->val, kv->vlen, id, db->defs, &g, &name, &len, L->e));
  tg_table *t = &db->tags;
  uint32_t other;
  if (tg_find(t, name, len, &other) == POND_OK)
    return pc_errf(L->e, POND_ECORRUPT, "storage: tags %u and %u have the same name", other, id);
  if (pc_strmap_reserve(&db->mem, &t->ids, 1) < 0) return nomem(L);
  char *nm = pc_strndup(&db->mem, name, len);
  if (!nm) return nomem(L);
  tg_tag *tg = &t->v[id];
  tg->name = nm;
  tg->len = (uint32_t)len;
  tg->group = g;
  tg->live = 1;
  bm_init(&tg->members);
  pc_strmap_put(&db->mem, &t->ids, nm, len, id);
  t->live++;
  return POND_OK;
}

static int on_cust(ld *L, const pond_kv *kv) {
  pond_db *db = L->db;
  if (kv->klen != ST_KEY_CUST_LEN) return corrupt(L, "customer key is not 9 bytes");
  uint64_t cid = st_key_be((const uint8_t *)kv->key + 1, 8);
  if (L->have_cid && cid <= L->last_cid) return corrupt(L, "customer records out of key order");
  L->have_cid = 1;
  L->last_cid = cid;
  POND_TRY(tags_ready(L));
  cu_rec *r;
  POND_TRY(st_cust_decode(&L->dec, cid, kv->val, kv->vlen, &r, L->e));
  if (push_room(L, (size_t)r->n + 1) < 0 || pc_map64_put(&db->mem, &db->cus, cid, (uint64_t)(uintptr_t)r) < 0) {
    cu_free(&db->mem, r);
    return nomem(L);
  }
  uint32_t *pk = L->pk + L->np;
  uint64_t *pc = L->pc + L->np;
  const uint32_t *k = cu_ckeys(r);
  *pk++ = 0;
  *pc++ = cid;
  for (uint32_t i = 0; i < r->n; i++) {
    /* tags and attributes have bitmaps; other entries (counters) do not */
    if (cu_is_tag(k[i])) *pk++ = k[i];
    else if (cu_is_attr(k[i])) *pk++ = L->tag_next + (k[i] & ~CU_ATTR);
    else continue;
    *pc++ = cid;
  }
  L->np = (size_t)(pk - L->pk);
  return POND_OK;
}

/* A lifecycle funnel counter: after the customers (namespace order). */
static int on_funnel(ld *L, const pond_kv *kv) {
  if (kv->klen != ST_KEY_FUNNEL_LEN) return corrupt(L, "funnel counter key is not 9 bytes");
  st_rd r = {kv->val, (const uint8_t *)kv->val + kv->vlen, "funnel counter", L->e, 0, 0, NULL, 0};
  uint64_t count;
  POND_TRY(st_rd_uv(&r, &count, "count"));
  if (r.p != r.end) return corrupt(L, "funnel counter: trailing bytes");
  return lc_funnel_load(L->db, st_key_be((const uint8_t *)kv->key + 1, 8), count, L->e);
}

static int each(void *arg, const pond_kv *kv) {
  ld *L = arg;
  if (L->rc < 0) return L->rc; /* a scan that does not stop when told */
  int rc;
  if (!kv->klen || !kv->key) {
    rc = corrupt(L, "a record with an empty key");
  } else if (!kv->val) {
    rc = corrupt(L, "scan returned a record without a value");
  } else {
    int ns = ((const uint8_t *)kv->key)[0];
    if (ns < L->ns) rc = corrupt(L, "scan returned keys out of order");
    else if (!L->have_meta && ns != ST_NS_META)
      rc = pc_errf(L->e, POND_ECORRUPT,
                   "storage: records but no meta record (first key starts with 0x%02x)", ns);
    else {
      L->ns = ns;
      switch (ns) {
        case ST_NS_META: rc = on_meta(L, kv); break;
        case ST_NS_DEFS:
          rc = L->tags_ready || kv->klen != 1 || L->records != 1 ? corrupt(L, "misplaced definitions record")
                                                                 : on_defs(L, kv);
          break;
        case ST_NS_TAG: rc = on_tag(L, kv); break;
        case ST_NS_CUST: rc = on_cust(L, kv); break;
        case ST_NS_FUNNEL: rc = on_funnel(L, kv); break;
        case ST_NS_TIMER:
        case ST_NS_OUTBOX:
          rc = pc_errf(L->e, POND_ECORRUPT,
                       "storage: a record in namespace 0x%02x (reserved for %s), which format %u "
                       "does not have",
                       ns, ns == ST_NS_TIMER ? "timers" : "the task outbox", ST_FORMAT);
          break;
        default:
          rc = pc_errf(L->e, POND_ECORRUPT, "storage: a record in unknown namespace 0x%02x", ns);
      }
    }
  }
  L->records++;
  if (rc < 0) L->rc = rc;
  return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------ attach */

static int load(pond_db *db, const pond_storage *s, int file, ld *L) {
  if (file) {
    st_file_stats fst;
    st_file_stats_get(s->ctx, &fst);
    if (fst.live && pc_map64_reserve(&db->mem, &db->cus, (size_t)fst.live) < 0) return nomem(L);
  }
  int rc = s->scan(s->ctx, "", 0, each, L);
  if (L->rc < 0) return L->rc;
  if (rc != 0) {
    const char *msg = s->errmsg ? s->errmsg(s->ctx) : NULL;
    return pc_errf(L->e, POND_ESTORAGE, "storage: scan failed (%d)%s%s", rc, msg && *msg ? ": " : "",
                   msg ? msg : "");
  }
  POND_TRY(tags_ready(L));
  POND_TRY(flush(L));
  /* machines compile their guards now that every name is loaded */
  POND_TRY(lc_load_finish(db));
  /* The dictionaries only grew, from nothing: no rollback needs them. */
  return POND_OK;
}

int st_db_attach(pond_db *db, const pond_storage *s, int file) {
  if (!s->scan || !s->commit)
    return pc_errf(&db->err, POND_EINVAL, "open: pond_storage needs scan and commit");
  st_dbs *st = pc_calloc(&db->mem, sizeof *st);
  if (!st) return pc_errf(&db->err, POND_ENOMEM, "open: out of memory");
  ld L;
  memset(&L, 0, sizeof L);
  L.db = db;
  L.e = &db->err;
  st_dec_init(&L.dec, db);
  int rc = load(db, s, file, &L);
  ld_free(&L);
  if (rc < 0) {
    pc_free(&db->mem, st, sizeof *st);
    return rc;
  }
  st->s = *s;
  st->file = file;
  st->meta = L.have_meta;
  st->tag_next = L.tag_next;
  db->st = st;
  return POND_OK;
}
