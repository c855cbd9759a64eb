/*
 * event.c — pond_event and pond_message: a customer's own activity.
 *
 * An event's own effects (DESIGN.md, "Lifecycle semantics": they apply
 * first) are:
 *  - last_seen := max(last_seen, ts) — activity;
 *  - when the event's name is a declared counter: count('e') + 1 and
 *    last('e') := max(last('e'), ts), kept as two entries of the customer
 *    record (rec.h, CU_CTR keys), so the store persists them with the
 *    record and the query part reads them like attributes.
 * pond_message is the built-in event "message": the same effects, with the
 * counter "message" when it is declared.
 *
 * Both are single-record changes: every fallible step (the record's
 * before-image for an open transaction, room for two more entries) comes
 * before the record changes, so a failure changes nothing and a call needs
 * no savepoint — except with POND_AUTOCREATE, where creating the customer
 * is a second fallible step (then a call savepoint undoes the creation).
 * Undo in a transaction is the record image (txn.c), like attributes.
 *
 * Times: last_seen and last('e') keep the latest time, not the last call's
 * (events may arrive out of order); INT64_MIN is refused because it marks
 * "never" (CU_UNSET). A count stops at INT64_MAX.
 */
#include <inttypes.h>
#include <string.h>

#include "core/utf8.h"
#include "db/db.h"
#include "lifecycle/lc.h"

#define EV_NAME_MAX 256 /* bytes of an event name */

/* The customer's record, created first when the db autocreates (added_at =
 * ts); room for `extra` more entries. */
static int need_customer(pond_db *db, uint64_t cid, int64_t ts, uint32_t extra, cu_rec **out) {
  cu_rec *r = db_cust(db, cid);
  if (r) {
    POND_TRY(db_touch_cust(db, cid, DB_NEED_TXN));
    if (r->cap - r->n < extra) POND_TRY(db_cust_reserve(db, cid, extra, &r));
    *out = r;
    return POND_OK;
  }
  if (!(db->flags & POND_AUTOCREATE)) return db_no_cust(db, cid);
  /* Two fallible steps: a customer created here goes again if growing its
   * record fails. */
  db_call_begin(db);
  int rc = db_touch_cust(db, cid, DB_NEED_CALL);
  if (rc >= 0) rc = db_touch_all(db, DB_NEED_CALL);
  if (rc >= 0) rc = db_cust_create(db, cid, ts, &r);
  if (rc >= 0 && extra) rc = db_cust_reserve(db, cid, extra, &r);
  if (db_call_end(db, rc) < 0) return rc;
  *out = r;
  return POND_OK;
}

/* The effects of one activity of cid at ts; counter: a counter id or
 * UINT32_MAX (none declared for this event). */
static int activity(pond_db *db, uint64_t cid, uint32_t counter, int64_t ts) {
  if (ts == INT64_MIN)
    return pc_errf(&db->err, POND_EINVAL, "timestamp %" PRId64 " is out of range", ts);
  uint32_t ck = 0, lk = 0, cpos = 0, extra = 0;
  const cu_rec *cur = db_cust(db, cid);
  if (counter != UINT32_MAX) {
    ck = cu_ctr_count_key(counter);
    lk = cu_ctr_last_key(counter);
    extra = cur && cu_find(cur, ck, &cpos) ? 0 : 2;
  }
  (void)lk;
  cu_rec *r = NULL;
  POND_TRY(need_customer(db, cid, ts, extra, &r));
  db_activity_apply(r, counter, ts); /* nothing below fails */
  db_cust_changed(db, cid);
  return POND_OK;
}

void db_activity_apply(cu_rec *r, uint32_t counter, int64_t ts) {
  if (ts > r->last_seen) r->last_seen = ts;
  if (counter == UINT32_MAX) return;
  uint32_t ck = cu_ctr_count_key(counter), cpos;
  int64_t *v = cu_vals(r);
  if (cu_find(r, ck, &cpos)) {
    if (v[cpos] < INT64_MAX) v[cpos]++;
    if (ts > v[cpos + 1]) v[cpos + 1] = ts; /* last('e') is the next key */
  } else {
    cu_insert_at(r, cpos, ck, 1);
    cu_insert_at(r, cpos + 1, cu_ctr_last_key(counter), ts);
  }
}

static int event(pond_db *db, uint64_t cid, const char *name, int64_t ts) {
  if (!name) return pc_errf(&db->err, POND_EINVAL, "event: name is NULL");
  size_t n = strlen(name), bad;
  if (n == 0 || n > EV_NAME_MAX)
    return pc_errf(&db->err, POND_EINVAL, "event: a name has 1 to %d bytes", EV_NAME_MAX);
  if (!pc_utf8_valid(name, n, &bad))
    return pc_errf(&db->err, POND_EINVAL, "event: name is not valid UTF-8 (byte %zu)", bad);
  if (strcmp(name, "message") == 0)
    return pc_errf(&db->err, POND_EINVAL, "event: 'message' is raised by pond_message");
  if (df_builtin_event(name, n))
    return pc_errf(&db->err, POND_EINVAL, "event: '%.*s' is a built-in event the library raises",
                   (int)(n > 100 ? 100 : n), name);
  uint32_t counter;
  if (df_counter_find(db->defs, name, n, &counter) < 0) counter = UINT32_MAX;
  /* With machines, the activity and the transitions it fires are one
   * dispatch (lib/lifecycle/dispatch.c). */
  if (lc_machines(db)) return lc_event(db, cid, counter, name, n, ts);
  POND_TRY(activity(db, cid, counter, ts));
  return POND_OK;
}

static int message(pond_db *db, uint64_t cid, const char *text, size_t len, int64_t ts) {
  if (!text && len) return pc_errf(&db->err, POND_EINVAL, "message: text is NULL");
  if (!text) text = "";
  if (len == POND_NTS) len = strlen(text);
  size_t bad;
  if (!pc_utf8_valid(text, len, &bad))
    return pc_errf(&db->err, POND_EINVAL, "message: text is not valid UTF-8 (byte %zu)", bad);
  uint32_t counter;
  if (df_counter_find(db->defs, "message", 7, &counter) < 0) counter = UINT32_MAX;
  if (lc_machines(db)) return lc_event(db, cid, counter, NULL, 0, ts);
  POND_TRY(activity(db, cid, counter, ts));
  /* Keyword matching hooks in here (lib/match, not yet written): patterns
   * found in text add their tag and raise keyword:<name>; then the
   * "message" event is offered to the lifecycle machines as in event(). */
  return POND_OK;
}

int pond_event(pond_db *db, uint64_t cid, const char *name, int64_t ts) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, event(db, cid, name, ts));
}

int pond_message(pond_db *db, uint64_t cid, const char *text, size_t len, int64_t ts) {
  if (!db) return POND_EINVAL;
  db_lock(db);
  return db_unlock(db, message(db, cid, text, len, ts));
}
