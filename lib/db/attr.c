/*
 * attr.c — attribute values: pond_attr_set_int/set_str/clear/get_*, the
 * per-attribute has-value bitmaps and string dictionaries.
 *
 * A value lives in the customer's record (rec.h) under key CU_ATTR | id:
 * int, time and bool (0/1) as themselves, a string as its value id in the
 * attribute's dictionary. The has bitmap holds the customers with a value,
 * so NULL costs nothing and dropping an attribute visits only its holders.
 *
 * Setting a value is one fallible bitmap insert at most, done last (the
 * record's room is reserved first). A new string first enters the
 * dictionary; if the insert then fails, the dictionary is truncated back.
 */
#include <inttypes.h>
#include <string.h>

#include "core/utf8.h"
#include "db/db.h"

/* ------------------------------------------------------------ dictionary */

void db_dict_free(pc_mem *m, db_dict *d) {
  db_dict_truncate(m, d, 0);
  pc_free(m, d->v, d->cap * sizeof *d->v);
  pc_strmap_free(m, &d->ids);
  memset(d, 0, sizeof *d);
}

void db_dict_truncate(pc_mem *m, db_dict *d, uint32_t n) {
  while (d->n > n) {
    d->n--;
    pc_strmap_del(&d->ids, d->v[d->n].s, d->v[d->n].len);
    pc_free(m, d->v[d->n].s, d->v[d->n].len + 1);
  }
}

/* The value id of s, appending it when new (*added = 1); also the store's
 * loader rebuilds dictionaries with it (value ids are not durable). */
int db_dict_intern(pc_mem *m, db_dict *d, const char *s, size_t n, uint32_t *vid, int *added) {
  uint64_t v;
  *added = 0;
  if (pc_strmap_get(&d->ids, s, n, &v) == POND_OK) {
    *vid = (uint32_t)v;
    return POND_OK;
  }
  if (d->n == UINT32_MAX) return POND_ELIMIT;
  if (d->n == d->cap) {
    uint32_t nc = d->cap ? d->cap * 2 : 8;
    db_dstr *nv = pc_realloc(m, d->v, d->cap * sizeof *nv, (size_t)nc * sizeof *nv);
    if (!nv) return POND_ENOMEM;
    d->v = nv;
    d->cap = nc;
  }
  POND_TRY(pc_strmap_reserve(m, &d->ids, 1));
  char *p = pc_strndup(m, s, n);
  if (!p) return POND_ENOMEM;
  d->v[d->n].s = p;
  d->v[d->n].len = (uint32_t)n;
  pc_strmap_put(m, &d->ids, p, n, d->n);
  *vid = d->n++;
  *added = 1;
  return POND_OK;
}

/* --------------------------------------------------------- value slots */

void db_attrv_free(pc_mem *m, db_attrv *a) {
  bm_free(m, &a->has);
  db_dict_free(m, &a->dict);
  memset(a, 0, sizeof *a);
}

int db_av_reserve(pond_db *db, uint32_t n) {
  if (n <= db->cav) return POND_OK;
  uint32_t nc = db->cav ? db->cav : 8;
  while (nc < n) nc *= 2;
  db_attrv *p = pc_realloc(&db->mem, db->av, db->cav * sizeof *p, (size_t)nc * sizeof *p);
  if (!p) return POND_ENOMEM;
  memset(p + db->cav, 0, (nc - db->cav) * sizeof *p);
  db->av = p;
  db->cav = nc;
  return POND_OK;
}

void db_av_extend(pond_db *db, uint32_t n) {
  for (; db->nav < n; db->nav++) {
    db_attrv *a = &db->av[db->nav];
    memset(a, 0, sizeof *a);
    bm_init(&a->has);
    pc_strmap_init(&a->dict.ids);
  }
}

int db_attr_drop_prepare(pond_db *db, uint32_t attr) {
  POND_TRY(db_touch_has(db, attr, DB_NEED_TXN));
  if (db->tx.open) {
    bm_iter it;
    uint64_t cid;
    bm_iter_init(&it, &db->av[attr].has, 0);
    while (bm_iter_next(&it, &cid)) POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  }
  return POND_OK;
}

/* The dictionary stays (a rollback may need its strings again); the
 * attribute's id is never reused, so it is only memory until close. */
void db_attr_drop_apply(pond_db *db, uint32_t attr) {
  bm_iter it;
  uint64_t cid;
  uint32_t pos;
  bm_iter_init(&it, &db->av[attr].has, 0);
  while (bm_iter_next(&it, &cid)) {
    cu_rec *r = db_cust(db, cid);
    if (cu_find(r, CU_ATTR | attr, &pos)) cu_erase_at(r, pos);
    db_cust_changed(db, cid);
  }
  bm_free(&db->mem, &db->av[attr].has);
}

/* ------------------------------------------------------------ set / clear */

static int builtin(const char *name) {
  return strcmp(name, "added_at") == 0 || strcmp(name, "last_seen") == 0;
}

/* The declared attribute, or an error naming it. */
static int attr_need(pond_db *db, const char *name, uint32_t *id) {
  if (!name) return pc_errf(&db->err, POND_EINVAL, "attribute name is NULL");
  size_t n = strlen(name);
  if (df_attr_find(db->defs, name, n, id) == POND_OK) return POND_OK;
  if (builtin(name))
    return pc_errf(&db->err, POND_EINVAL, "attribute '%s' is built in and read-only", name);
  return pc_errf(&db->err, POND_NOTFOUND, "attribute '%.*s' is not declared",
                 (int)(n > 200 ? 200 : n), name);
}

static int set_value(pond_db *db, uint64_t cid, uint32_t attr, int64_t v) {
  cu_rec *r = db_cust(db, cid);
  uint32_t key = CU_ATTR | attr, pos;
  if (cu_find(r, key, &pos)) {
    if (cu_vals(r)[pos] == v) return POND_OK;
    POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
    cu_vals(r)[pos] = v;
    db_cust_changed(db, cid);
    return POND_OK;
  }
  POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  POND_TRY(db_touch_has1(db, attr, cid));
  POND_TRY(db_cust_reserve(db, cid, 1, &r));
  int rc = bm_add(&db->mem, &db->av[attr].has, cid);
  if (rc < 0) return rc;
  cu_insert_at(r, pos, key, v);
  db_cust_changed(db, cid);
  return POND_OK;
}

static int set_int(pond_db *db, uint64_t cid, const char *name, int64_t v) {
  uint32_t id;
  POND_TRY(attr_need(db, name, &id));
  const df_attr *a = &db->defs->attrs[id];
  if (a->type == DF_T_STRING)
    return pc_errf(&db->err, POND_EINVAL, "attribute '%s' is a string (use pond_attr_set_str)", name);
  if (a->type == DF_T_BOOL && v != 0 && v != 1)
    return pc_errf(&db->err, POND_EINVAL, "attribute '%s' is a bool: 0 or 1, not %" PRId64, name, v);
  if (!db_cust(db, cid)) return db_no_cust(db, cid);
  return set_value(db, cid, id, v);
}

static int set_str(pond_db *db, uint64_t cid, const char *name, const char *v) {
  uint32_t id, vid;
  POND_TRY(attr_need(db, name, &id));
  const df_attr *a = &db->defs->attrs[id];
  if (a->type != DF_T_STRING)
    return pc_errf(&db->err, POND_EINVAL, "attribute '%s' is %s, not a string (use pond_attr_set_int)",
                   name, df_type_name(a->type));
  if (!v) return pc_errf(&db->err, POND_EINVAL, "attribute '%s': value is NULL (use pond_attr_clear)", name);
  size_t n = strlen(v), bad;
  if (n > DB_ATTR_STR_MAX)
    return pc_errf(&db->err, POND_EINVAL, "attribute '%s': value longer than %d bytes", name, DB_ATTR_STR_MAX);
  if (!pc_utf8_valid(v, n, &bad))
    return pc_errf(&db->err, POND_EINVAL, "attribute '%s': value is not valid UTF-8 (byte %zu)", name, bad);
  if (!db_cust(db, cid)) return db_no_cust(db, cid);
  db_dict *d = &db->av[id].dict;
  int added;
  POND_TRY(db_touch_dict(db, id, DB_NEED_TXN));
  POND_TRY(db_dict_intern(&db->mem, d, v, n, &vid, &added));
  int rc = set_value(db, cid, id, vid);
  if (rc < 0 && added) db_dict_truncate(&db->mem, d, d->n - 1);
  return rc;
}

static int clear(pond_db *db, uint64_t cid, const char *name) {
  uint32_t id, pos;
  POND_TRY(attr_need(db, name, &id));
  cu_rec *r = db_cust(db, cid);
  if (!r) return db_no_cust(db, cid);
  if (!cu_find(r, CU_ATTR | id, &pos)) return POND_OK;
  POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
  POND_TRY(db_touch_has1(db, id, cid));
  int rc = bm_remove(&db->mem, &db->av[id].has, cid);
  if (rc < 0) return rc;
  cu_erase_at(r, pos);
  db_cust_changed(db, cid);
  return POND_OK;
}

int pond_attr_set_int(pond_db *db, uint64_t cid, const char *attr, int64_t v) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, set_int(db, cid, attr, v));
}

int pond_attr_set_str(pond_db *db, uint64_t cid, const char *attr, const char *v) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, set_str(db, cid, attr, v));
}

int pond_attr_clear(pond_db *db, uint64_t cid, const char *attr) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, clear(db, cid, attr));
}

/* ----------------------------------------------------------------- read */

/* 1 and the stored value of a declared attribute, 0 when NULL. */
static int get_raw(pond_db *db, uint64_t cid, const char *name, uint32_t *id, int64_t *v) {
  POND_TRY(attr_need(db, name, id));
  cu_rec *r = db_cust(db, cid);
  uint32_t pos;
  if (!r) return db_no_cust(db, cid);
  if (!cu_find(r, CU_ATTR | *id, &pos)) return 0;
  *v = cu_vals(r)[pos];
  return 1;
}

static int get_int(pond_db *db, uint64_t cid, const char *name, int64_t *out) {
  if (!out) return pc_errf(&db->err, POND_EINVAL, "attr_get_int: v is NULL");
  if (name && builtin(name)) {
    cu_rec *r = db_cust(db, cid);
    if (!r) return db_no_cust(db, cid);
    int64_t v = name[0] == 'a' ? r->added_at : r->last_seen;
    if (v == CU_UNSET) return 0;
    *out = v;
    return 1;
  }
  uint32_t id;
  int64_t v = 0;
  if (name && df_attr_find(db->defs, name, strlen(name), &id) == POND_OK &&
      db->defs->attrs[id].type == DF_T_STRING)
    return pc_errf(&db->err, POND_EINVAL, "attribute '%s' is a string (use pond_attr_get_str)", name);
  int rc = get_raw(db, cid, name, &id, &v);
  if (rc == 1) *out = v;
  return rc;
}

static int get_str(pond_db *db, uint64_t cid, const char *name, const char **out) {
  if (!out) return pc_errf(&db->err, POND_EINVAL, "attr_get_str: v is NULL");
  uint32_t id;
  int64_t v = 0;
  if (name && df_attr_find(db->defs, name, strlen(name), &id) == POND_OK &&
      db->defs->attrs[id].type != DF_T_STRING)
    return pc_errf(&db->err, POND_EINVAL, "attribute '%s' is %s, not a string (use pond_attr_get_int)",
                   name, df_type_name(db->defs->attrs[id].type));
  int rc = get_raw(db, cid, name, &id, &v);
  if (rc == 1) *out = db->av[id].dict.v[v].s;
  return rc;
}

int pond_attr_get_int(pond_db *db, uint64_t cid, const char *attr, int64_t *v) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, get_int(db, cid, attr, v));
}

int pond_attr_get_str(pond_db *db, uint64_t cid, const char *attr, const char **v) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, get_str(db, cid, attr, v));
}
