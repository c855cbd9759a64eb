/*
 * fuzz_define.c — pond_define of arbitrary bytes on a db that already has
 * definitions, tags and attribute values, aborting when an invariant breaks:
 *  - a failure is POND_EPARSE, POND_EINVAL, POND_ELIMIT or POND_ECONFLICT
 *    (POND_ENOMEM when allocations are being failed) with a "define:"
 *    message and an offset inside the input, and the state (a full dump) is
 *    exactly what it was;
 *  - after a success the db's invariants hold, and a document without
 *    "drop" applied a second time changes nothing;
 *  - inside a transaction, a rollback restores the state before pond_begin;
 *  - pond_close gives back every byte.
 * The first byte selects a mode and is not part of the document:
 *   'T' inside a transaction, then rolled back; 'F' fail the k-th
 *   allocation (k from the second byte); anything else: plain. Seeds in
 *   the corpus start with a mode byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_db_util.h"

static const char *const BASE =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"}, {\"name\": \"region\", \"type\": \"string\"},"
    " {\"name\": \"vip\", \"type\": \"bool\"}],"
    " \"tag_groups\": [{\"name\": \"status\", \"exclusive\": true, \"tags\": [\"todo\", \"done\"]},"
    " {\"name\": \"src\", \"tags\": [\"store\", \"ad\", \"live\"]}, {\"name\": \"camp\", \"ttl\": \"30d\"},"
    " {\"name\": \"来源\", \"tags\": [\"门店扫码\"]}]}";

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_define: %s\n%s\n", what, detail ? detail : "");
  abort();
}

static pond_db *setup(tu_alloc *a) {
  pond_db *db = tu_open_alloc(a, 0);
  if (!db) die("open", NULL);
  if (pond_define(db, BASE, strlen(BASE)) != POND_OK) die("base define", pond_errmsg(db));
  for (uint64_t c = 1; c <= 6; c++) pond_customer_upsert(db, c, 1700000000);
  uint32_t t;
  const char *tags[] = {"src/store", "src/ad", "status/todo", "camp/x", "来源/门店扫码"};
  for (uint64_t i = 0; i < 5; i++) {
    if (pond_tag_id(db, tags[i], &t) != POND_OK) die("tag_id", pond_errmsg(db));
    pond_tag_add(db, 1 + i, t, 1700000000);
    pond_tag_add(db, 2 + i, t, 1700000000);
  }
  pond_attr_set_int(db, 1, "spend", 5);
  pond_attr_set_str(db, 2, "region", "north");
  pond_attr_set_int(db, 3, "vip", 1);
  return db;
}

static void check_failure(pond_db *db, int rc, size_t len, int oom_ok) {
  if (rc != POND_EPARSE && rc != POND_EINVAL && rc != POND_ELIMIT && rc != POND_ECONFLICT &&
      !(oom_ok && rc == POND_ENOMEM))
    die("unexpected status", pond_strerror(rc));
  const char *msg = pond_errmsg(db);
  if (rc != POND_ENOMEM && strncmp(msg, "define:", 7) != 0) die("message", msg);
  long off = pond_error_offset(db);
  if (off > (long)len) die("offset past the input", msg);
}

static int contains(const char *s, size_t n, const char *w) {
  size_t k = strlen(w);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(s + i, w, k) == 0) return 1;
  return 0;
}

static void check_invariants(pond_db *db) {
  char why[256];
  if (db_check(db, why, sizeof why) != POND_OK) die("invariant", why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  int mode = data[0];
  const char *doc = (const char *)data + 1;
  size_t len = size - 1;
  long fail_at = 0;
  if (mode == 'F') {
    if (len == 0) return 0;
    fail_at = 1 + doc[0];
    doc++;
    len--;
  }
  tu_alloc a = {0, 0, 0, 0};
  pond_db *db = setup(&a);
  char *before = tu_dump(db);
  if (mode == 'T' && pond_begin(db) != POND_OK) die("begin", NULL);
  a.countdown = fail_at;
  int rc = pond_define(db, doc, len);
  a.countdown = 0;
  if (rc < 0) {
    check_failure(db, rc, len, mode == 'F');
    char *after = tu_dump(db);
    if (strcmp(before, after) != 0) die("a failed define changed the state", after);
    free(after);
  } else {
    check_invariants(db);
    if (!contains(doc, len, "\"drop\"") && mode != 'T') {
      char *once = tu_dump(db);
      if (pond_define(db, doc, len) != POND_OK) die("second application failed", pond_errmsg(db));
      char *twice = tu_dump(db);
      if (strcmp(once, twice) != 0) die("a second application changed the state", twice);
      free(once);
      free(twice);
    }
  }
  if (mode == 'T') {
    if (pond_rollback(db) != POND_OK) die("rollback", NULL);
    char *after = tu_dump(db);
    if (strcmp(before, after) != 0) die("rollback did not restore the state", after);
    free(after);
  }
  check_invariants(db);
  free(before);
  pond_close(db);
  if (a.live != 0) die("leak", NULL);
  return 0;
}
