/*
 * test_lifecycle.c — lifecycle machines: "machines" in pond_define (invalid
 * documents with their paths and messages, each changing nothing;
 * warnings; rename_states), dispatch of events and built-in events,
 * cascades, guards, pond_transition, timers in pond_tick (due times,
 * activity, guards at due time, order, ttl expiry), stage()/stage_since()
 * in queries, the funnel, and rollback of all of it.
 */
#include "test_db_util.h"

#define T0 1700000000
#define DAY 86400

static const char *BASE =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"}],"
    " \"counters\": [\"order.paid\", \"message\"],"
    " \"tag_groups\": [{\"name\": \"意向\", \"tags\": [\"问价\", \"比价\"]},"
    "  {\"name\": \"活动\", \"ttl\": \"30d\", \"tags\": [\"双11\"]}],"
    " \"machines\": [{\"name\": \"lifecycle\", \"initial\": \"new\","
    "   \"states\": [\"new\", \"intent\", \"paying\", \"repeat\", \"silent\", \"churned\"],"
    "   \"transitions\": ["
    "    {\"from\": \"new\", \"to\": \"intent\", \"on\": \"tag.added:意向/问价\"},"
    "    {\"from\": [\"new\", \"intent\"], \"to\": \"paying\", \"on\": \"order.paid\"},"
    "    {\"from\": \"paying\", \"to\": \"repeat\", \"on\": \"order.paid\", \"if\": \"count('order.paid') >= 2\"},"
    "    {\"from\": [\"new\", \"intent\", \"paying\", \"repeat\"], \"to\": \"silent\", \"after\": \"30d\"},"
    "    {\"from\": \"silent\", \"to\": \"churned\", \"after\": \"60d\"},"
    "    {\"from\": [\"silent\", \"churned\"], \"to\": \"intent\", \"on\": \"message\"}]},"
    "  {\"name\": \"value\", \"initial\": \"low\", \"states\": [\"low\", \"high\"],"
    "   \"transitions\": ["
    "    {\"from\": \"low\", \"to\": \"high\", \"on\": \"stage.entered:lifecycle/repeat\", \"if\": \"spend >= 100\"},"
    "    {\"from\": \"high\", \"to\": \"low\", \"on\": \"stage.entered:lifecycle/churned\"}]}]}";

static pond_db *fixture(void) {
  pond_db *db = tu_open(0);
  if (!db) return NULL;
  if (tu_define(db, BASE) != POND_OK) {
    fprintf(stderr, "define: %s\n", pond_errmsg(db));
    pond_close(db);
    return NULL;
  }
  return db;
}

static const char *stage(pond_db *db, uint64_t cid, const char *m, int64_t *since) {
  const char *s = NULL;
  int rc = pond_stage(db, cid, m, &s, since);
  return rc == POND_OK ? s : pond_errmsg(db);
}

static char *sel(pond_db *db, const char *expr, int64_t now) {
  static char out[4096];
  pond_query *q = NULL;
  pond_set *s = NULL;
  int rc = pond_query_prepare(db, expr, POND_NTS, &q);
  if (rc == POND_OK) rc = pond_query_eval(q, now, &s);
  if (rc != POND_OK) {
    snprintf(out, sizeof out, "ERR %d: %s", rc, pond_errmsg(db));
  } else {
    uint64_t ids[256];
    size_t n = pond_set_page(s, 0, ids, 256), w = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && w + 24 < sizeof out; i++)
      w += (size_t)snprintf(out + w, sizeof out - w, i ? ",%llu" : "%llu", (unsigned long long)ids[i]);
    for (uint64_t c = 1; c <= 9; c++) {
      int t = pond_query_test(q, c, now);
      if (t >= 0 && t != pond_set_contains(s, c)) {
        snprintf(out, sizeof out, "test(%llu) = %d disagrees with eval", (unsigned long long)c, t);
        break;
      }
    }
  }
  pond_set_free(s);
  pond_query_free(q);
  return out;
}

/* ------------------------------------------------------------ definitions */

#define M1 "{\"machines\": [{\"name\": \"m\", \"initial\": \"a\", \"states\": [\"a\", \"b\", \"c\"], "
static const struct {
  const char *doc;
  int code;
  const char *msg; /* the whole message */
} BAD[] = {
    {"{\"machines\": {}}", POND_EINVAL, "define:$.machines: expected an array"},
    {"{\"machines\": [3]}", POND_EINVAL, "define:$.machines[0]: expected an object"},
    {"{\"machines\": [{\"nme\": \"m\"}]}", POND_EINVAL, "define:$.machines[0].nme: unknown key; did you mean 'name'?"},
    {"{\"machines\": [{\"states\": [\"a\"], \"initial\": \"a\"}]}", POND_EINVAL, "define:$.machines[0]: missing \"name\""},
    {"{\"machines\": [{\"name\": \"\", \"states\": [\"a\"], \"initial\": \"a\"}]}", POND_EINVAL,
     "define:$.machines[0].name: machine name is empty"},
    {"{\"machines\": [{\"name\": \"a/b\", \"states\": [\"a\"], \"initial\": \"a\"}]}", POND_EINVAL,
     "define:$.machines[0].name: machine name contains '/'"},
    {"{\"machines\": [{\"name\": \"m\", \"states\": [\"a\"], \"initial\": \"a\"}, {\"name\": \"m\", \"states\": [\"a\"], \"initial\": \"a\"}]}",
     POND_EINVAL, "define:$.machines[1].name: 'm' appears twice (first at $.machines[0])"},
    {"{\"machines\": [{\"name\": \"m\", \"initial\": \"a\"}]}", POND_EINVAL, "define:$.machines[0]: missing \"states\""},
    {"{\"machines\": [{\"name\": \"m\", \"states\": [], \"initial\": \"a\"}]}", POND_EINVAL,
     "define:$.machines[0].states: expected a non-empty array of state names"},
    {"{\"machines\": [{\"name\": \"m\", \"states\": [\"a\", 1], \"initial\": \"a\"}]}", POND_EINVAL,
     "define:$.machines[0].states[1]: expected a string"},
    {"{\"machines\": [{\"name\": \"m\", \"states\": [\"a\", \"a\"], \"initial\": \"a\"}]}", POND_EINVAL,
     "define:$.machines[0].states[1]: 'a' appears twice (first at $.machines[0].states[0])"},
    {"{\"machines\": [{\"name\": \"m\", \"states\": [\"a\"]}]}", POND_EINVAL, "define:$.machines[0]: missing \"initial\""},
    {"{\"machines\": [{\"name\": \"m\", \"states\": [\"new\", \"paying\"], \"initial\": \"payed\"}]}", POND_EINVAL,
     "define:$.machines[0].initial: unknown state 'payed'; did you mean 'paying'?"},
    {M1 "\"transitions\": {}}]}", POND_EINVAL, "define:$.machines[0].transitions: expected an array"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"x\", \"iff\": \"TRUE\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].iff: unknown key; did you mean 'if'?"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"on\": \"x\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0]: missing \"to\""},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"zzz\", \"on\": \"x\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].to: unknown state 'zzz' (machine 'm' has no such state)"},
    {M1 "\"transitions\": [{\"to\": \"b\", \"on\": \"x\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0]: missing \"from\" (a state, a list, or \"*\")"},
    {M1 "\"transitions\": [{\"from\": [\"a\", \"bb\"], \"to\": \"c\", \"on\": \"x\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].from[1]: unknown state 'bb'; did you mean 'b'?"},
    {M1 "\"transitions\": [{\"from\": [], \"to\": \"c\", \"on\": \"x\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].from: an empty list of states"},
    {M1 "\"transitions\": [{\"from\": [\"a\", \"a\"], \"to\": \"c\", \"on\": \"x\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].from[1]: 'a' is listed twice"},
    {M1 "\"transitions\": [{\"from\": \"b\", \"to\": \"b\", \"on\": \"x\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].from: a transition cannot go from a state to itself"},
    {M1 "\"transitions\": [{\"from\": [\"a\", \"c\"], \"to\": \"c\", \"on\": \"x\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].from[1]: 'c' is the transition's own \"to\" (a transition changes the state)"},
    {M1 "\"transitions\": [{\"from\": 7, \"to\": \"c\", \"on\": \"x\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].from: expected a state, a list of states, or \"*\""},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0]: expected exactly one of \"on\" (an event) and \"after\" (a duration)"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"x\", \"after\": \"1d\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0]: expected exactly one of \"on\" (an event) and \"after\" (a duration)"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"after\": \"0s\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].after: an after-transition needs a duration longer than 0s"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"after\": \"3x\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].after: invalid duration '3x' (a positive integer and s, m, h, d or w)"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"after\": 30}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].after: expected a duration string such as \"30d\""},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].on: an event name has 1 to 256 bytes"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"tag.added:nogroup/x\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].on: tag group 'nogroup' is not defined"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"tag.added:justname\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].on: tag name 'justname' is not \"group/name\""},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"stage.entered:zz/a\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].on: unknown machine 'zz'"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"stage.entered:m/q\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].on: machine 'm' has no state 'q'"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"stage.entered:m\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].on: expected \"stage.entered:<machine>/<state>\""},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"segment.entered:s\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].on: 'segment.entered' events are not supported by this version yet"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"x\", \"if\": 1}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].if: expected a query expression (a string)"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"x\", \"if\": \"spnd > 1\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].if: query:1:1: unknown attribute 'spnd'; did you mean 'spend'?"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"x\", \"if\": \"stage('m') = 'z'\"}]}]}", POND_EINVAL,
     "define:$.machines[0].transitions[0].if: query:1:14: unknown state 'z' of machine 'm'; did you mean 'a'?"},
    {M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"stage.entered:m/a\"},"
        " {\"from\": \"b\", \"to\": \"a\", \"on\": \"stage.entered:m/b\"}]}]}",
     POND_EINVAL,
     "define:$.machines[0].transitions[0].on: transitions on stage.entered events form a cycle through 'a' -> 'b' "
     "(machine 'm') that could loop forever"},
    {M1 "\"transitions\": [{\"from\": \"*\", \"to\": \"c\", \"on\": \"stage.entered:m/c\"}]}]}", POND_OK, NULL},
    {"{\"machines\": [{\"name\": \"n\", \"initial\": \"a\", \"states\": [\"a\"], \"rename_states\": {\"x\": \"a\"}}]}",
     POND_EINVAL, "define:$.machines[0].rename_states: machine 'n' is new: it has no states to rename"},
    {M1 "\"rename_states\": {\"a\": \"b\"}}]}", POND_EINVAL,
     "define:$.machines[0].rename_states[\"a\"]: 'a' is still a state: only removed states are renamed"},
    {M1 "\"rename_states\": {\"q\": \"b\"}}]}", POND_EINVAL,
     "define:$.machines[0].rename_states[\"q\"]: 'q' is not a state of machine 'm'"},
};
#define NBAD (sizeof BAD / sizeof BAD[0])

static void invalid_machine_documents_fail_with_their_path_and_change_nothing(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  pond_customer_upsert(db, 1, T0);
  char *before = tu_dump(db);
  int bad = 0;
  for (size_t i = 0; i < NBAD; i++) {
    int rc = tu_define(db, BAD[i].doc);
    if (BAD[i].code == POND_OK) {
      /* a "*" transition entering its own target: no cycle (from excludes to) */
      CHECK_EQ(rc, POND_OK);
      CHECK_EQ(tu_define(db, BASE), POND_OK);
      free(before);
      before = tu_dump(db);
      continue;
    }
    bad++;
    if (rc != BAD[i].code || strcmp(pond_errmsg(db), BAD[i].msg) != 0)
      fprintf(stderr, "doc #%zu %s\n", i, BAD[i].doc);
    CHECK_EQ(rc, BAD[i].code);
    CHECK_STR(pond_errmsg(db), BAD[i].msg);
    TU_SAME(db, before);
  }
  CHECK(bad >= 25);
  free(before);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void definitions_example_and_warnings(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  CHECK_STR(pond_define_diagnostics(db), "");
  CHECK_EQ(tu_define(db, M1 "\"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"x\"}]}]}"), POND_OK);
  CHECK_STR(pond_define_diagnostics(db),
            "define:$.machines[0].states[2]: warning: state 'c' is unreachable from the initial state 'a'\n");
  CHECK_EQ(tu_define(db, "{}"), POND_OK);
  CHECK_STR(pond_define_diagnostics(db), "");
  pond_close(db);
}

/* ---------------------------------------------------------------- events */

static void events_move_customers_through_stages(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  int64_t since = 0;
  CHECK_EQ(pond_customer_upsert(db, 1, T0), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", &since), "new");
  CHECK_EQ(since, T0);
  CHECK_STR(stage(db, 1, "value", NULL), "low");
  CHECK_EQ(pond_tag_add(db, 1, tu_tag(db, "意向/比价"), T0 + 1), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", NULL), "new");
  CHECK_EQ(pond_event(db, 1, "link.opened", T0 + 2), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", NULL), "new");
  CHECK_EQ(pond_event(db, 1, "order.paid", T0 + 3), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", &since), "paying");
  CHECK_EQ(since, T0 + 3);
  pond_attr_set_int(db, 1, "spend", 500);
  /* the guard sees the event's own effect (the second order), and the
   * second machine sees the first one's new state */
  CHECK_EQ(pond_event(db, 1, "order.paid", T0 + 4), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", &since), "repeat");
  CHECK_STR(stage(db, 1, "value", &since), "high");
  CHECK_EQ(since, T0 + 4);
  CHECK_STR(sel(db, "stage('lifecycle') = 'repeat' AND stage('value') IN ('high')", T0 + 5), "1");
  CHECK_STR(sel(db, "stage_since('lifecycle') = TIMESTAMP '2023-11-14 22:13:24'", T0 + 5), "1");
  CHECK_STR(sel(db, "stage('lifecycle') = 'new'", T0 + 5), "");
  CHECK_EQ(pond_customer_upsert(db, 2, T0 + 6), POND_OK);
  CHECK_STR(sel(db, "stage('lifecycle') = 'new'", T0 + 7), "2");
  CHECK_STR(sel(db, "stage('lifecycle') <> 'new' AND stage_since('lifecycle') > TIMESTAMP '2023-01-01'", T0 + 7), "1");
  CHECK_EQ(pond_tag_add(db, 2, tu_tag(db, "意向/问价"), T0 + 8), POND_OK);
  CHECK_STR(stage(db, 2, "lifecycle", NULL), "intent");
  CHECK_STR(sel(db, "stage('lifecycle') = 'intent'", T0 + 9), "2");
  CHECK_STR(pond_stage(db, 9, "lifecycle", NULL, NULL) == POND_NOTFOUND ? "nf" : "?", "nf");
  CHECK_EQ(pond_stage(db, 1, "nope", NULL, NULL), POND_NOTFOUND);
  CHECK_STR(pond_errmsg(db), "machine 'nope' is not defined");
  TU_INVARIANTS(db);
  pond_close(db);
}

static void transition_forced_and_refused(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  pond_customer_upsert(db, 1, T0);
  char *before = tu_dump(db);
  CHECK_EQ(pond_transition(db, 1, "lifecycle", "repeat", T0 + 1), POND_ECONFLICT);
  CHECK_STR(pond_errmsg(db), "machine 'lifecycle': no transition goes from 'new' to 'repeat' (POND_FORCE forces it)");
  TU_SAME(db, before);
  free(before);
  CHECK_EQ(pond_transition(db, 1, "lifecycle", "nope", T0 + 1), POND_NOTFOUND);
  CHECK_EQ(pond_transition(db, 1, "lifecycle", "paying", T0 + 1), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", NULL), "paying");
  pond_attr_set_int(db, 1, "spend", 100);
  CHECK_EQ(pond_transition_ex(db, 1, "lifecycle", "repeat", T0 + 2, POND_FORCE), POND_OK);
  /* stage.entered:lifecycle/repeat cascades into the second machine */
  CHECK_STR(stage(db, 1, "value", NULL), "high");
  CHECK_EQ(pond_transition(db, 1, "lifecycle", "repeat", T0 + 3), POND_OK); /* already there */
  CHECK_EQ(pond_transition_ex(db, 1, "lifecycle", "new", T0 + 3, 0x80), POND_EINVAL);
  TU_INVARIANTS(db);
  pond_close(db);
}

/* ---------------------------------------------------------------- timers */

static void timers_fire_at_their_due_time(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  int64_t since;
  pond_customer_upsert(db, 1, T0);
  pond_customer_upsert(db, 2, T0);
  pond_message(db, 2, "hi", 2, T0 + 10 * DAY); /* activity moves 2's due time */
  CHECK_EQ(pond_tick(db, T0 + 30 * DAY - 1), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", NULL), "new");
  CHECK_EQ(pond_tick(db, T0 + 35 * DAY), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", &since), "silent");
  CHECK_EQ(since, T0 + 30 * DAY); /* at the due time, not the tick's */
  CHECK_STR(stage(db, 2, "lifecycle", NULL), "new");
  /* one tick cascades: silent at 30d, churned 60d later */
  CHECK_EQ(pond_tick(db, T0 + 200 * DAY), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", &since), "churned");
  CHECK_EQ(since, T0 + 90 * DAY);
  CHECK_STR(stage(db, 2, "lifecycle", &since), "churned");
  CHECK_EQ(since, T0 + 100 * DAY);
  /* a message brings them back; tick at the same time first */
  CHECK_EQ(pond_message(db, 1, "again", 5, T0 + 201 * DAY), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", NULL), "intent");
  CHECK_EQ(pond_tick(db, T0 + 231 * DAY), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", NULL), "silent");
  TU_INVARIANTS(db);
  pond_close(db);
}

static void guard_false_at_due_time_waits_for_activity(void) {
  pond_db *db = tu_open(0);
  REQUIRE(db);
  CHECK_EQ(tu_define(db, "{\"attributes\": [{\"name\": \"vip\", \"type\": \"bool\"}],"
                         " \"machines\": [{\"name\": \"m\", \"initial\": \"a\", \"states\": [\"a\", \"b\"],"
                         " \"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"after\": \"1d\", \"if\": \"vip\"}]}]}"),
           POND_OK);
  pond_customer_upsert(db, 1, T0);
  CHECK_EQ(pond_tick(db, T0 + 2 * DAY), POND_OK);
  CHECK_STR(stage(db, 1, "m", NULL), "a");
  pond_attr_set_int(db, 1, "vip", 1);
  /* spent: the guard now holds but nothing fires until activity */
  CHECK_EQ(pond_tick(db, T0 + 5 * DAY), POND_OK);
  CHECK_STR(stage(db, 1, "m", NULL), "a");
  CHECK_EQ(pond_event(db, 1, "visit", T0 + 6 * DAY), POND_OK);
  CHECK_EQ(pond_tick(db, T0 + 7 * DAY - 1), POND_OK);
  CHECK_STR(stage(db, 1, "m", NULL), "a");
  int64_t since;
  CHECK_EQ(pond_tick(db, T0 + 7 * DAY), POND_OK);
  CHECK_STR(stage(db, 1, "m", &since), "b");
  CHECK_EQ(since, T0 + 7 * DAY);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void ttl_expiry_raises_tag_removed(void) {
  pond_db *db = tu_open(0);
  REQUIRE(db);
  CHECK_EQ(tu_define(db, "{\"tag_groups\": [{\"name\": \"c\", \"ttl\": \"2d\", \"tags\": [\"x\"]}],"
                         " \"machines\": [{\"name\": \"m\", \"initial\": \"a\", \"states\": [\"a\", \"b\"],"
                         " \"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"tag.removed:c/x\"}]}]}"),
           POND_OK);
  uint32_t x = tu_tag(db, "c/x");
  pond_customer_upsert(db, 1, T0);
  pond_tag_add(db, 1, x, T0);
  CHECK_EQ(pond_tick(db, T0 + 2 * DAY - 1), POND_OK);
  CHECK_EQ(pond_tag_has(db, 1, x), 1);
  CHECK_EQ(pond_tick(db, T0 + 2 * DAY), POND_OK);
  CHECK_EQ(pond_tag_has(db, 1, x), 0);
  int64_t since;
  CHECK_STR(stage(db, 1, "m", &since), "b");
  CHECK_EQ(since, T0 + 2 * DAY);
  TU_INVARIANTS(db);
  pond_close(db);
}

/* ---------------------------------------------------------------- funnel */

static const pond_funnel_row *row(const pond_funnel_row *r, size_t n, int kind, const char *from, const char *to) {
  for (size_t i = 0; i < n; i++)
    if (r[i].kind == kind && strcmp(r[i].to, to) == 0 &&
        (kind == POND_FUNNEL_STATE || (from ? r[i].from && strcmp(r[i].from, from) == 0 : !r[i].from)))
      return &r[i];
  return NULL;
}

static void funnel_counts_moves_and_rates(void) {
  int rc;
  pond_db *db = fixture();
  REQUIRE(db);
  for (uint64_t c = 1; c <= 4; c++) pond_customer_upsert(db, c, T0);
  pond_event(db, 1, "order.paid", T0 + DAY);
  pond_event(db, 2, "order.paid", T0 + DAY);
  pond_event(db, 2, "order.paid", T0 + 2 * DAY);
  pond_tag_add(db, 3, tu_tag(db, "意向/问价"), T0 + 3 * DAY);
  pond_funnel_row *rows;
  size_t n;
  rc = pond_funnel(db, "lifecycle", T0, T0 + 10 * DAY, &rows, &n);
  REQUIRE(rc == POND_OK);
  const pond_funnel_row *r = row(rows, n, POND_FUNNEL_STATE, NULL, "new");
  CHECK(r && r->count == 1 && r->entered == 4);
  r = row(rows, n, POND_FUNNEL_STATE, NULL, "paying");
  CHECK(r && r->count == 1 && r->entered == 2);
  r = row(rows, n, POND_FUNNEL_STEP, NULL, "new");
  CHECK(r && r->count == 4 && r->entered == 4);
  r = row(rows, n, POND_FUNNEL_STEP, "new", "paying");
  CHECK(r && r->count == 2 && r->entered == 4 && r->rate == 0.5);
  r = row(rows, n, POND_FUNNEL_STEP, "paying", "repeat");
  CHECK(r && r->count == 1 && r->entered == 2 && r->rate == 0.5);
  CHECK(rows[0].kind == POND_FUNNEL_STATE && strcmp(rows[0].to, "new") == 0);
  pond_funnel_free(db, rows);
  /* only the days overlapping the range */
  rc = pond_funnel(db, "lifecycle", T0 + 2 * DAY, T0 + 3 * DAY, &rows, &n);
  REQUIRE(rc == POND_OK);
  CHECK(!row(rows, n, POND_FUNNEL_STEP, "new", "paying"));
  r = row(rows, n, POND_FUNNEL_STEP, "paying", "repeat");
  CHECK(r && r->count == 1 && r->entered == 0 && r->rate == 0.0);
  pond_funnel_free(db, rows);
  CHECK_EQ(pond_funnel(db, "nope", 0, 1, &rows, &n), POND_NOTFOUND);
  pond_close(db);
}

/* -------------------------------------------------------------- rollback */

static void rollback_restores_states_funnel_and_timers(void) {
  int rc;
  pond_db *db = fixture();
  REQUIRE(db);
  pond_customer_upsert(db, 1, T0);
  pond_customer_upsert(db, 2, T0);
  pond_event(db, 2, "order.paid", T0 + 1);
  CHECK_EQ(pond_tick(db, T0 + DAY), POND_OK);
  char *before = tu_dump(db);
  pond_funnel_row *rows;
  size_t n;
  rc = pond_funnel(db, "lifecycle", T0, T0 + 400 * DAY, &rows, &n);
  REQUIRE(rc == POND_OK);
  size_t n0 = n;
  pond_funnel_free(db, rows);
  CHECK_EQ(pond_begin(db), POND_OK);
  pond_event(db, 1, "order.paid", T0 + 2 * DAY);
  pond_customer_upsert(db, 3, T0 + 2 * DAY);
  CHECK_EQ(pond_tick(db, T0 + 100 * DAY), POND_OK);
  CHECK_STR(stage(db, 2, "lifecycle", NULL), "churned");
  CHECK_EQ(pond_rollback(db), POND_OK);
  TU_SAME(db, before);
  free(before);
  rc = pond_funnel(db, "lifecycle", T0, T0 + 400 * DAY, &rows, &n);
  REQUIRE(rc == POND_OK);
  CHECK_EQ(n, n0);
  pond_funnel_free(db, rows);
  /* the consumed timers come back */
  CHECK_EQ(pond_tick(db, T0 + 100 * DAY), POND_OK);
  CHECK_STR(stage(db, 1, "lifecycle", NULL), "churned");
  CHECK_STR(stage(db, 2, "lifecycle", NULL), "churned");
  TU_INVARIANTS(db);
  pond_close(db);
}

static void rename_states_maps_customers(void) {
  pond_db *db = tu_open(0);
  REQUIRE(db);
  const char *v1 = "{\"machines\": [{\"name\": \"m\", \"initial\": \"a\", \"states\": [\"a\", \"b\", \"c\"],"
                   " \"transitions\": [{\"from\": \"a\", \"to\": \"b\", \"on\": \"go\"}, {\"from\": \"b\", \"to\": \"c\", \"on\": \"go\"}]}]}";
  CHECK_EQ(tu_define(db, v1), POND_OK);
  for (uint64_t c = 1; c <= 3; c++) pond_customer_upsert(db, c, T0);
  pond_event(db, 2, "go", T0 + 1);
  char *before = tu_dump(db);
  const char *v2 = "{\"machines\": [{\"name\": \"m\", \"initial\": \"a\", \"states\": [\"a\", \"c\"],"
                   " \"transitions\": [{\"from\": \"a\", \"to\": \"c\", \"on\": \"go\"}]}]}";
  CHECK_EQ(tu_define(db, v2), POND_ECONFLICT);
  CHECK_STR(pond_errmsg(db), "define:$.machines[0].states: 1 customers are in state 'b' of machine 'm', which this "
                             "document removes; map it to a state with \"rename_states\": {\"b\": \"...\"}");
  TU_SAME(db, before);
  free(before);
  const char *v3 = "{\"machines\": [{\"name\": \"m\", \"initial\": \"a\", \"states\": [\"a\", \"c\"],"
                   " \"rename_states\": {\"b\": \"c\"},"
                   " \"transitions\": [{\"from\": \"a\", \"to\": \"c\", \"on\": \"go\"}]}]}";
  CHECK_EQ(tu_define(db, v3), POND_OK);
  int64_t since;
  CHECK_STR(stage(db, 2, "m", &since), "c");
  CHECK_EQ(since, T0 + 1);
  CHECK_STR(sel(db, "stage('m') = 'c'", T0 + 2), "2");
  /* removing the home state renames the customers without an entry too */
  const char *v4 = "{\"machines\": [{\"name\": \"m\", \"initial\": \"c\", \"states\": [\"c\"], \"rename_states\": {\"a\": \"c\"}}]}";
  CHECK_EQ(tu_define(db, v4), POND_OK);
  CHECK_STR(stage(db, 1, "m", &since), "c");
  CHECK_EQ(since, T0);
  CHECK_STR(sel(db, "stage('m') = 'c'", T0 + 2), "1,2,3");
  TU_INVARIANTS(db);
  pond_close(db);
}

/* ---------------------------------------------------- allocation failure */

/* The funnels of both machines as text (pond_funnel rows). */
static char *funnel_text(pond_db *db) {
  static char out[8192];
  size_t w = 0;
  out[0] = 0;
  const char *ms[] = {"lifecycle", "value"};
  for (int m = 0; m < 2; m++) {
    pond_funnel_row *rows = NULL;
    size_t n = 0;
    if (pond_funnel(db, ms[m], 0, T0 + 1000 * DAY, &rows, &n) != POND_OK) return "ERR";
    for (size_t i = 0; i < n && w + 200 < sizeof out; i++)
      w += (size_t)snprintf(out + w, sizeof out - w, "%d %s>%s %llu %llu;", rows[i].kind,
                            rows[i].from ? rows[i].from : "-", rows[i].to, (unsigned long long)rows[i].count,
                            (unsigned long long)rows[i].entered);
    pond_funnel_free(db, rows);
  }
  return out;
}

/* One step of the script below on db; its status. */
static int script_step(pond_db *db, int i) {
  uint32_t ask = 0;
  switch (i) {
    case 0: return tu_define(db, BASE);
    case 1: return pond_customer_upsert(db, 1, T0);
    case 2: return pond_customer_upsert(db, 2, T0 + 5);
    case 3: return pond_attr_set_int(db, 1, "spend", 500);
    case 4: return pond_event(db, 1, "order.paid", T0 + DAY);
    case 5: return pond_event(db, 1, "order.paid", T0 + 2 * DAY); /* repeat, value high */
    case 6:
      if (pond_tag_id(db, "意向/问价", &ask) < 0) return -100;
      return pond_tag_add(db, 2, ask, T0 + 3 * DAY);
    case 7: return pond_transition(db, 2, "lifecycle", "paying", T0 + 4 * DAY);
    case 8: return pond_tick(db, T0 + 40 * DAY); /* both silent */
    case 9: return pond_message(db, 1, "hi", 2, T0 + 41 * DAY);
    case 10: return pond_tick(db, T0 + 200 * DAY);
    case 11: return pond_transition_ex(db, 1, "value", "low", T0 + 201 * DAY, POND_FORCE);
    case 12: return pond_customer_upsert(db, 3, T0 + 202 * DAY);
    case 13:
      if (pond_tag_id(db, "活动/双11", &ask) < 0) return -100;
      return pond_tag_add(db, 3, ask, T0 + 202 * DAY);
    case 14: return pond_tick(db, T0 + 300 * DAY); /* ttl expiry, silent */
    default: return -100;
  }
}
#define SCRIPT_STEPS 15

static void every_allocation_failure_changes_nothing(void) {
  tu_alloc a = {0, 0, 0, 0};
  pond_db *ref = tu_open(0), *db = tu_open_alloc(&a, 0);
  REQUIRE(ref && db);
  long points = 0;
  for (int i = 0; i < SCRIPT_STEPS; i++) {
    int want = script_step(ref, i);
    CHECK_EQ(want, POND_OK);
    for (long k = 1;; k++) {
      char *before = tu_dump(db), fbefore[8192];
      snprintf(fbefore, sizeof fbefore, "%s", funnel_text(db));
      a.countdown = k;
      a.failed = 0;
      int rc = script_step(db, i);
      a.countdown = 0;
      if (rc == POND_OK) {
        free(before);
        break;
      }
      points++;
      if (rc != POND_ENOMEM) fprintf(stderr, "step %d, allocation %ld: %d %s\n", i, k, rc, pond_errmsg(db));
      CHECK_EQ(rc, POND_ENOMEM);
      TU_SAME(db, before);
      CHECK_STR(funnel_text(db), fbefore);
      free(before);
      if (k > 10000) break;
    }
    char *x = tu_dump(ref), *y = tu_dump(db);
    CHECK_STR(y, x);
    free(x);
    free(y);
    char fx[8192];
    snprintf(fx, sizeof fx, "%s", funnel_text(ref));
    CHECK_STR(funnel_text(db), fx);
    TU_INVARIANTS(db);
  }
  printf("  %ld allocation failure points, each ENOMEM and no change\n", points);
  CHECK(points > 20);
  pond_close(ref);
  pond_close(db);
}

int main(void) {
  TH_RUN(invalid_machine_documents_fail_with_their_path_and_change_nothing);
  TH_RUN(definitions_example_and_warnings);
  TH_RUN(events_move_customers_through_stages);
  TH_RUN(transition_forced_and_refused);
  TH_RUN(timers_fire_at_their_due_time);
  TH_RUN(guard_false_at_due_time_waits_for_activity);
  TH_RUN(ttl_expiry_raises_tag_removed);
  TH_RUN(funnel_counts_moves_and_rates);
  TH_RUN(rollback_restores_states_funnel_and_timers);
  TH_RUN(rename_states_maps_customers);
  TH_RUN(every_allocation_failure_changes_nothing);
  return th_done();
}
