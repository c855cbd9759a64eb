/*
 * tags.h — the tag table: tags by id and by name, their groups, their member
 * bitmaps, and the one place where a customer's membership changes.
 *
 * A tag id indexes v[]; ids start at 1 and are never reused while the db is
 * open (a deleted tag keeps its slot with live = 0). Names are "group/name"
 * (tg_name_check). Each live tag belongs to a live group of the definitions
 * (define/defs.h); dropping a group deletes its tags.
 *
 * Invariant (checked by the tests' dumps): cid is in v[t].members exactly
 * when cid's record (db/rec.h) has an entry with key t, and then the entry's
 * value is the time the tag was (last) added.
 */
#ifndef POND_TAGS_TAGS_H
#define POND_TAGS_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include "bitmap/bm.h"
#include "core/map.h"
#include "core/mem.h"
#include "db/rec.h"

#define TG_PART_MAX 64 /* bytes in a group or tag part of a name */

typedef struct tg_tag {
  char *name; /* "group/name", NUL-terminated, owned; NULL once deleted */
  uint32_t len;
  uint32_t group; /* group id in db->defs */
  bm members;
  uint8_t live;
  uint8_t touch_bm, touch_meta; /* undo flags (db/db.h DB_TX_*) */
} tg_tag;

typedef struct tg_table {
  tg_tag *v; /* v[0] unused */
  uint32_t n, cap;
  uint32_t live;
  pc_strmap ids; /* live name -> id (keys borrowed from v[id].name) */
} tg_table;

struct pond_db;

void tg_init(tg_table *t);
void tg_free(pc_mem *m, tg_table *t);

/* Checks a "group/name" tag name: valid UTF-8, no control characters, each
 * part 1..64 bytes, exactly one '/', tag part not "*". POND_OK and *slash
 * (offset of the '/'), or POND_EINVAL with a message in e. */
int tg_name_check(const char *name, size_t len, size_t *slash, pc_err *e);
/* Checks one part (a group name, or a tag part); what names it in e. */
int tg_part_check(const char *s, size_t n, const char *what, pc_err *e);

/* The live tag, or NULL. */
static inline tg_tag *tg_get(const tg_table *t, uint32_t id) {
  return id > 0 && id < t->n && t->v[id].live ? &t->v[id] : NULL;
}
/* The live tag or POND_NOTFOUND with a message. */
int tg_need(struct pond_db *db, uint32_t id, tg_tag **out);
/* POND_OK and *id for a live tag name, else POND_NOTFOUND. */
int tg_find(const tg_table *t, const char *name, size_t len, uint32_t *id);

/* Creates tag name (checked, absent) in group gid as one atomic step. */
int tg_create(struct pond_db *db, const char *name, size_t len, uint32_t gid, uint32_t *id);
/* Room for k tag creations that cannot fail: tg_create_with then adopts a
 * name allocated by the caller and returns the new id. (The caller touched
 * the tag count, db_touch_tagnew.) */
int tg_reserve(struct pond_db *db, uint32_t k);
uint32_t tg_create_with(struct pond_db *db, char *name, size_t len, uint32_t gid);
/* Deleting a live tag: prepare takes the transaction's images (fallible);
 * apply makes every member lose the tag and forgets it (never fails). */
int tg_delete_prepare(struct pond_db *db, uint32_t id);
void tg_delete_apply(struct pond_db *db, uint32_t id);

/* 1 if two tags of group gid share a member (exclusive would be violated),
 * ignoring tag `except` (0: none) and counting tag `extra` (0: none) as a
 * member of the group. POND_ENOMEM possible. */
int tg_group_overlaps(struct pond_db *db, uint32_t gid, uint32_t except, uint32_t extra);

/* Membership in records — the only place where a customer's tag entries
 * change, so later parts (events, ttl) hook here. The bitmaps are the
 * caller's job (they fail; these do not). link: the caller reserved room. */
void tg_link(struct pond_db *db, uint64_t cid, cu_rec *r, uint32_t tag, int64_t ts);
void tg_unlink(struct pond_db *db, uint64_t cid, cu_rec *r, uint32_t tag);

/* The customer's tag of group gid other than `except`, or 0. */
uint32_t tg_sibling(const struct pond_db *db, const cu_rec *r, uint32_t gid, uint32_t except);

#endif
