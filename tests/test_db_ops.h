/*
 * test_db_ops.h — random public-API operations over a small universe of
 * customers, tags, attributes and definitions (test_txn, test_alloc_fail).
 * An op is plain data, so it can be replayed on another db.
 */
#ifndef POND_TESTS_DB_OPS_H
#define POND_TESTS_DB_OPS_H

#include <stdio.h>

#include "test_db_util.h"

#define TO_T0 1700000000

static const char *const TO_BASE_DEFS =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"},"
    " {\"name\": \"region\", \"type\": \"string\"}, {\"name\": \"vip\", \"type\": \"bool\"}],"
    " \"tag_groups\": [{\"name\": \"status\", \"exclusive\": true, \"tags\": [\"todo\", \"doing\", \"done\"]},"
    " {\"name\": \"src\", \"tags\": [\"store\", \"ad\"]}, {\"name\": \"camp\", \"ttl\": \"30d\"}]}";

/* Definition documents an op may apply (valid, conflicting and invalid). */
static const char *const TO_DOCS[] = {
    "{\"attributes\": [{\"name\": \"score\", \"type\": \"int\"}]}",
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"string\"}]}",
    "{\"tag_groups\": [{\"name\": \"extra\", \"tags\": [\"a\", \"b\"]}]}",
    "{\"tag_groups\": [{\"name\": \"src\", \"exclusive\": true}]}",
    "{\"tag_groups\": [{\"name\": \"camp\", \"ttl\": \"2w\", \"tags\": [\"spring\"]}]}",
    "{\"drop\": [{\"tag_group\": \"extra\"}]}",
    "{\"drop\": [{\"attribute\": \"score\"}]}",
    "{\"drop\": [{\"attribute\": \"region\"}], \"attributes\": [{\"name\": \"region\", \"type\": \"string\"}]}",
    "{\"drop\": [{\"tag\": \"src/ad\"}], \"tag_groups\": [{\"name\": \"src\", \"tags\": [\"ad\"]}]}",
    "{\"tag_groups\": [{\"name\": \"status\", \"tags\": [\"lost\"]}]}",
    "{\"tag_groups\": [{\"name\": \"bad\", \"ttl\": \"3x\"}]}",
    "{\"drop\": [{\"tag_group\": \"status\"}], \"tag_groups\": [{\"name\": \"status\", \"tags\": [\"todo\"]}]}",
};
#define TO_NDOCS (sizeof TO_DOCS / sizeof TO_DOCS[0])

enum {
  TO_UPSERT, TO_DELETE, TO_ADD, TO_REMOVE, TO_ADD_MANY, TO_TAG_ID, TO_RENAME, TO_MERGE,
  TO_TAG_DELETE, TO_SET_INT, TO_SET_STR, TO_SET_BOOL, TO_CLEAR, TO_DEFINE, TO_KINDS
};

typedef struct tu_op {
  int kind;
  uint64_t cid;
  uint32_t tag, tag2;
  int64_t v;
  char s[24];
  uint64_t many[6];
  size_t n;
} tu_op;

/* A live tag of db (most of the time) or any small id. */
static inline uint32_t tu_pick_tag(pond_db *db, uint64_t r) {
  if (db && r % 8 != 0 && db->tags.live) {
    uint32_t k = (uint32_t)((r >> 3) % db->tags.live);
    for (uint32_t i = 1; i < db->tags.n; i++)
      if (db->tags.v[i].live && k-- == 0) return i;
  }
  return (uint32_t)((r >> 3) % 40);
}

/* A random op; tags are picked among db's live tags when db is given. */
static inline void tu_random_op(uint64_t *rng, tu_op *op, int allow_define, pond_db *db) {
  memset(op, 0, sizeof *op);
  uint64_t r = th_rand(rng);
  op->kind = (int)(r % (allow_define ? TO_KINDS : TO_DEFINE));
  r = th_rand(rng);
  op->cid = 1 + r % 24;
  op->tag = tu_pick_tag(db, th_rand(rng));
  op->tag2 = tu_pick_tag(db, th_rand(rng));
  op->v = (int64_t)((r >> 24) % 5) - 1;
  static const char *const regions[] = {"north", "south", "东", "west"};
  static const char *const names[] = {"src/x", "src/y", "camp/c1", "camp/c2", "status/zz",
                                      "nope/q", "extra/a", "src/store"};
  if (op->kind == TO_SET_STR) snprintf(op->s, sizeof op->s, "%s", regions[(r >> 32) % 4]);
  if (op->kind == TO_TAG_ID || op->kind == TO_RENAME)
    snprintf(op->s, sizeof op->s, "%s", names[(r >> 32) % 8]);
  if (op->kind == TO_ADD_MANY) {
    op->n = 1 + (r >> 40) % 6;
    for (size_t i = 0; i < op->n; i++) op->many[i] = 1 + th_rand(rng) % 26;
  }
  if (op->kind == TO_DEFINE) op->n = (r >> 40) % TO_NDOCS;
  op->v += (op->kind == TO_SET_INT) ? (int64_t)(r >> 48) : 0;
}

static inline int tu_apply(pond_db *db, const tu_op *op) {
  int64_t ts = TO_T0 + op->v;
  uint32_t id;
  switch (op->kind) {
    case TO_UPSERT: return pond_customer_upsert(db, op->cid, ts);
    case TO_DELETE: return pond_customer_delete(db, op->cid);
    case TO_ADD: return pond_tag_add(db, op->cid, op->tag, ts);
    case TO_REMOVE: return pond_tag_remove(db, op->cid, op->tag, ts);
    case TO_ADD_MANY: return pond_tag_add_many(db, op->tag, op->many, op->n, ts);
    case TO_TAG_ID: return pond_tag_id(db, op->s, &id);
    case TO_RENAME: return pond_tag_rename(db, op->tag, op->s);
    case TO_MERGE: return pond_tag_merge(db, op->tag, op->tag2, ts);
    case TO_TAG_DELETE: return pond_tag_delete(db, op->tag);
    case TO_SET_INT: return pond_attr_set_int(db, op->cid, "spend", op->v);
    case TO_SET_STR: return pond_attr_set_str(db, op->cid, "region", op->s);
    case TO_SET_BOOL: return pond_attr_set_int(db, op->cid, "vip", op->v);
    case TO_CLEAR: return pond_attr_clear(db, op->cid, op->v & 1 ? "spend" : "region");
    case TO_DEFINE: return tu_define(db, TO_DOCS[op->n]);
  }
  return POND_EINVAL;
}

#endif
