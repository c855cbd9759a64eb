/*
 * test_event.c — counters and segments in pond_define, pond_event and
 * pond_message: validation with JSON paths (every invalid document changes
 * nothing), counting and last_seen, POND_AUTOCREATE, transactions and
 * rollback, allocation-failure injection, and what queries see of it all
 * (count('e'), last('e'), last_seen, segment('s'), stage() rejected).
 */
#include "test_db_util.h"

#define T0 1700000000

static const char *BASE =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"},"
    " {\"name\": \"region\", \"type\": \"string\"}],"
    " \"tag_groups\": [{\"name\": \"src\", \"tags\": [\"store\", \"ad\"]}],"
    " \"counters\": [\"order.paid\", \"message\"],"
    " \"segments\": [{\"name\": \"vip_active\", \"where\": \"spend >= 10000 AND last_seen >= now() - 30d\"},"
    "  {\"name\": \"store_leads\", \"where\": \"tag('src/store') AND NOT segment('vip_active')\"}]}";

static pond_db *fixture(unsigned flags) {
  pond_db *db = tu_open(flags);
  if (!db) return NULL;
  if (tu_define(db, BASE) != POND_OK) {
    fprintf(stderr, "define: %s\n", pond_errmsg(db));
    pond_close(db);
    return NULL;
  }
  for (uint64_t c = 1; c <= 3; c++) pond_customer_upsert(db, c, T0);
  pond_tag_add(db, 1, tu_tag(db, "src/store"), T0);
  pond_attr_set_int(db, 1, "spend", 20000);
  pond_event(db, 2, "order.paid", T0 + 10);
  return db;
}

/* The ids a query selects at now, as "1,2,3" (or "ERR <code>: message"). */
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
    /* pond_query_test agrees for every customer 1..9 */
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

typedef struct bad_doc {
  const char *doc;
  int code;
  const char *msg;  /* the exact message */
  const char *at;   /* pond_error_offset points at this text of doc (NULL: -1 or unchecked) */
} bad_doc;

static const bad_doc BAD[] = {
    {"{\"counters\": \"order.paid\"}", POND_EINVAL,
     "define:$.counters: expected an array of event names", "\"order.paid\""},
    {"{\"counters\": [1]}", POND_EINVAL, "define:$.counters[0]: expected a string (an event name)", "1]"},
    {"{\"counters\": [\"\"]}", POND_EINVAL, "define:$.counters[0]: empty name", "\"\""},
    {"{\"counters\": [\"a\\u0007\"]}", POND_EINVAL, "define:$.counters[0]: control character in name", "\"a"},
    {"{\"counters\": [\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]}", POND_EINVAL,
     "define:$.counters[0]: name longer than 64 bytes", "\"aaa"},
    {"{\"counters\": [\"x\", \"y\", \"x\"]}", POND_EINVAL,
     "define:$.counters[2]: 'x' appears twice (first at $.counters[0])", "\"x\"]"},
    {"{\"counters\": [\"tag.added:src/store\"]}", POND_EINVAL,
     "define:$.counters[0]: 'tag.added:src/store' is a built-in event; this version counts only "
     "\"message\" among them",
     "\"tag"},
    {"{\"counters\": [\"customer.added\"]}", POND_EINVAL,
     "define:$.counters[0]: 'customer.added' is a built-in event; this version counts only "
     "\"message\" among them",
     "\"cust"},
    {"{\"drop\": [{\"counter\": \"nope\"}]}", POND_EINVAL, "define:$.drop[0].counter: counter 'nope' is not defined",
     "\"nope\""},
    {"{\"drop\": [{\"segment\": \"nope\"}]}", POND_EINVAL, "define:$.drop[0].segment: segment 'nope' is not defined",
     "\"nope\""},
    {"{\"drop\": [{\"counter\": \"message\"}, {\"counter\": \"message\"}]}", POND_EINVAL,
     "define:$.drop[1].counter: 'message' is dropped twice", "\"message\"}]"},
    {"{\"segments\": {}}", POND_EINVAL, "define:$.segments: expected an array", "{}"},
    {"{\"segments\": [\"s\"]}", POND_EINVAL, "define:$.segments[0]: expected an object", "\"s\""},
    {"{\"segments\": [{\"where\": \"TRUE\"}]}", POND_EINVAL, "define:$.segments[0]: missing \"name\"", "{\"where"},
    {"{\"segments\": [{\"name\": \"s\"}]}", POND_EINVAL, "define:$.segments[0]: missing \"where\"", "{\"name"},
    {"{\"segments\": [{\"name\": \"s\", \"where\": 1}]}", POND_EINVAL,
     "define:$.segments[0].where: expected a string", "1}"},
    {"{\"segments\": [{\"name\": \"s\", \"wher\": \"TRUE\"}]}", POND_EINVAL,
     "define:$.segments[0].wher: unknown key; did you mean 'where'?", "\"TRUE\""},
    {"{\"segments\": [{\"name\": \"\", \"where\": \"TRUE\"}]}", POND_EINVAL, "define:$.segments[0].name: empty name",
     "\"\""},
    {"{\"segments\": [{\"name\": \"s\", \"where\": \"TRUE\"}, {\"name\": \"s\", \"where\": \"FALSE\"}]}", POND_EINVAL,
     "define:$.segments[1].name: 's' appears twice (first at $.segments[0])", "\"s\", \"where\": \"FALSE"},
    {"{\"segments\": [{\"name\": \"s\", \"where\": \"spend >\"}]}", POND_EINVAL,
     "define:$.segments[0].where: query:1:8: expected a column or a value, found end of input", "\"spend >"},
    {"{\"segments\": [{\"name\": \"s\", \"where\": \"spnd > 1\"}]}", POND_EINVAL,
     "define:$.segments[0].where: query:1:1: unknown attribute 'spnd'; did you mean 'spend'?", "\"spnd"},
    {"{\"segments\": [{\"name\": \"s\", \"where\": \"count('order.payed') > 1\"}]}", POND_EINVAL,
     "define:$.segments[0].where: query:1:7: unknown counter 'order.payed'; did you mean 'order.paid'?",
     "\"count"},
    {"{\"segments\": [{\"name\": \"s\", \"where\": \"tag('src/stor')\"}]}", POND_EINVAL,
     "define:$.segments[0].where: query:1:5: unknown tag 'src/stor'; did you mean 'src/store'?", "\"tag"},
    {"{\"segments\": [{\"name\": \"s\", \"where\": \"stage('lifecycle') = 'new'\"}]}", POND_EINVAL,
     "define:$.segments[0].where: query:1:7: unknown machine 'lifecycle'", "\"stage"},
    {"{\"segments\": [{\"name\": \"s\", \"where\": \"segment('vip_activ')\"}]}", POND_EINVAL,
     "define:$.segments[0].where: query:1:9: unknown segment 'vip_activ'; did you mean 'vip_active'?",
     "\"segment('vip_activ')"},
    {"{\"segments\": [{\"name\": \"a\", \"where\": \"segment('b')\"}, {\"name\": \"b\", \"where\": \"segment('a')\"}]}",
     POND_EINVAL, NULL, "\"segment('b')\""},
    {"{\"segments\": [{\"name\": \"me\", \"where\": \"spend > 1 OR segment('me')\"}]}", POND_EINVAL, NULL,
     "\"spend > 1 OR"},
    {"{\"segments\": [{\"name\": \"s\", \"where\": \"region > 'x'\"}]}", POND_EINVAL, NULL, "\"region"},
    {"{\"drop\": [{\"attribute\": \"spend\"}]}", POND_EINVAL,
     "define:$: segment 'vip_active' (defined before) would no longer be valid: query:1:1: unknown attribute "
     "'spend'; drop or redefine it in the same document",
     NULL},
    {"{\"drop\": [{\"segment\": \"vip_active\"}]}", POND_EINVAL,
     "define:$: segment 'store_leads' (defined before) would no longer be valid: query:1:34: unknown segment "
     "'vip_active'; drop or redefine it in the same document",
     NULL},
    {"{\"drop\": [{\"tag\": \"src/store\"}]}", POND_EINVAL,
     "define:$: segment 'store_leads' (defined before) would no longer be valid: query:1:5: unknown tag "
     "'src/store'; drop or redefine it in the same document",
     NULL},
    {"{\"drop\": [{\"tag_group\": \"src\"}]}", POND_EINVAL, NULL, NULL},
    {"{\"segments\": [{\"name\": \"vip_active\", \"where\": \"segment('store_leads')\"}]}", POND_EINVAL, NULL,
     "\"segment('store_leads')\""},
    {"{\"keywords\": []}", POND_EINVAL,
     "define:$.keywords: \"keywords\" is not supported by this version yet (it defines attributes, tag_groups, "
     "counters, segments, machines and drop)",
     "[]"},
};
#define NBAD (sizeof BAD / sizeof BAD[0])

static void invalid_counter_and_segment_documents_fail_with_their_path(void) {
  pond_db *db = fixture(0);
  REQUIRE(db);
  char *before = tu_dump(db);
  for (size_t i = 0; i < NBAD; i++) {
    int rc = tu_define(db, BAD[i].doc);
    const char *msg = pond_errmsg(db);
    int ok = rc == BAD[i].code && (!BAD[i].msg || strcmp(msg, BAD[i].msg) == 0);
    if (!ok) fprintf(stderr, "doc #%zu %s\n  -> %d %s\n", i, BAD[i].doc, rc, msg);
    CHECK_EQ(rc, BAD[i].code);
    if (BAD[i].msg) CHECK_STR(msg, BAD[i].msg);
    else CHECK(strncmp(msg, "define:$", 8) == 0);
    if (BAD[i].at) CHECK_EQ(pond_error_offset(db), (long)(strstr(BAD[i].doc, BAD[i].at) - BAD[i].doc));
    TU_SAME(db, before);
  }
  /* the cycle is named */
  CHECK_EQ(tu_define(db, BAD[25].doc), POND_EINVAL);
  CHECK_HAS(pond_errmsg(db), "define:$.segments[0].where: query:");
  CHECK_HAS(pond_errmsg(db), "refers to itself");
  CHECK_EQ(tu_define(db, BAD[27].doc), POND_EINVAL);
  CHECK_HAS(pond_errmsg(db), "region");
  TU_INVARIANTS(db);
  free(before);
  pond_close(db);
}

static void limits_apply_to_counters_and_segments(void) {
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  o.limits.query_max_len = 16;
  pond_db *db = NULL;
  int rc = pond_open(&o, &db);
  REQUIRE(rc == POND_OK);
  CHECK_EQ(tu_define(db, "{\"segments\": [{\"name\": \"s\", \"where\": \"TRUE OR TRUE OR TRUE\"}]}"),
           POND_ELIMIT);
  CHECK_STR(pond_errmsg(db),
            "define:$.segments[0].where: the expression has 20 bytes; limits.query_max_len is 16");
  /* 4097 counters are too many, 4096 are fine */
  for (int n = 4097; n >= 4096; n--) {
    size_t cap = (size_t)n * 12 + 64, w = 0;
    char *doc = malloc(cap);
    w += (size_t)snprintf(doc + w, cap - w, "{\"counters\": [");
    for (int i = 0; i < n; i++) w += (size_t)snprintf(doc + w, cap - w, i ? ",\"e%d\"" : "\"e%d\"", i);
    snprintf(doc + w, cap - w, "]}");
    CHECK_EQ(tu_define(db, doc), n > 4096 ? POND_ELIMIT : POND_OK);
    if (n > 4096) CHECK_STR(pond_errmsg(db), "define:$.counters[4096]: more than 4096 counters");
    free(doc);
  }
  CHECK_EQ(tu_define(db, "{\"counters\": [\"one more\"]}"), POND_ELIMIT);
  CHECK_EQ(tu_define(db, "{\"drop\": [{\"counter\": \"e1\"}], \"counters\": [\"one more\"]}"), POND_OK);
  pond_close(db);
}

static void counters_and_segments_are_upserted_and_dropped(void) {
  pond_db *db = fixture(0);
  REQUIRE(db);
  char *d = tu_dump(db);
  CHECK_HAS(d, "counter 0 \"order.paid\"\ncounter 1 \"message\"\n");
  CHECK_HAS(d, "segment 0 {\"name\":\"vip_active\",\"where\":\"spend >= 10000 AND last_seen >= now() - 30d\"}\n");
  CHECK_HAS(d, "cust 2 added=1700000000 seen=1700000010 c0=1 l0=1700000010\n");
  /* the same document again changes nothing */
  CHECK_EQ(tu_define(db, BASE), POND_OK);
  TU_SAME(db, d);
  free(d);
  /* segments may reference segments defined later in the document, and
   * tags the document creates */
  CHECK_EQ(tu_define(db, "{\"segments\": [{\"name\": \"a\", \"where\": \"segment('b') OR tag('camp/spring')\"},"
                         " {\"name\": \"b\", \"where\": \"count('order.paid') >= 1\"}],"
                         " \"tag_groups\": [{\"name\": \"camp\", \"tags\": [\"spring\"]}]}"),
           POND_OK);
  CHECK_STR(sel(db, "segment('a')", T0), "2");
  /* redefinition takes effect in queries prepared before it */
  pond_query *q;
  pond_set *s;
  CHECK_EQ(pond_query_prepare(db, "segment('b')", POND_NTS, &q), POND_OK);
  CHECK_EQ(tu_define(db, "{\"segments\": [{\"name\": \"b\", \"where\": \"cid = 3\"}]}"), POND_OK);
  CHECK_EQ(pond_query_eval(q, T0, &s), POND_OK);
  CHECK_EQ(pond_set_count(s), 1);
  CHECK_EQ(pond_set_contains(s, 3), 1);
  pond_set_free(s);
  /* dropping what a segment uses together with the segment is fine */
  CHECK_EQ(tu_define(db, "{\"drop\": [{\"segment\": \"b\"}, {\"segment\": \"a\"}]}"), POND_OK);
  CHECK_EQ(pond_query_eval(q, T0, &s), POND_EPARSE);
  CHECK_STR(pond_errmsg(db), "query:1:9: unknown segment 'b'");
  pond_query_free(q);
  /* a counter dropped: its values are gone, also from queries */
  CHECK_EQ(tu_define(db, "{\"drop\": [{\"counter\": \"order.paid\"}]}"), POND_OK);
  d = tu_dump(db);
  CHECK_HAS(d, "cust 2 added=1700000000 seen=1700000010\n");
  free(d);
  CHECK_HAS(sel(db, "count('order.paid') > 0", T0), "unknown counter 'order.paid'");
  /* defined again: a new, empty counter */
  CHECK_EQ(tu_define(db, "{\"counters\": [\"order.paid\"]}"), POND_OK);
  CHECK_STR(sel(db, "count('order.paid') = 0", T0), "1,2,3");
  TU_INVARIANTS(db);
  pond_close(db);
}

static void events_count_and_keep_the_latest_times(void) {
  pond_db *db = fixture(0);
  REQUIRE(db);
  int64_t v = 0;
  CHECK_EQ(pond_attr_get_int(db, 1, "last_seen", &v), 0);
  CHECK_EQ(pond_event(db, 1, "order.paid", T0 + 100), POND_OK);
  CHECK_EQ(pond_event(db, 1, "order.paid", T0 + 50), POND_OK); /* out of order */
  CHECK_EQ(pond_event(db, 1, "login", T0 + 200), POND_OK);      /* no counter: activity only */
  CHECK_EQ(pond_attr_get_int(db, 1, "last_seen", &v), 1);
  CHECK_EQ(v, T0 + 200);
  CHECK_EQ(pond_message(db, 3, "多少钱?", POND_NTS, T0 + 7), POND_OK);
  CHECK_EQ(pond_message(db, 3, NULL, 0, T0 + 3), POND_OK);
  char *d = tu_dump(db);
  CHECK_HAS(d, "cust 1 added=1700000000 seen=1700000200 t1@1700000000 a0=20000 c0=2 l0=1700000100\n");
  CHECK_HAS(d, "cust 3 added=1700000000 seen=1700000007 c1=2 l1=1700000007\n");
  free(d);
  CHECK_STR(sel(db, "count('order.paid') >= 2", T0), "1");
  CHECK_STR(sel(db, "count('order.paid') = 0", T0), "3");
  CHECK_STR(sel(db, "last('order.paid') > TIMESTAMP '2023-11-14 22:13:25'", T0), "1,2");
  CHECK_STR(sel(db, "last('message') IS NULL", T0), "1,2");
  CHECK_STR(sel(db, "count('message') BETWEEN 1 AND 2 AND last('message') = last_seen", T0), "3");
  CHECK_STR(sel(db, "last_seen IS NULL", T0), "");
  CHECK_STR(sel(db, "segment('vip_active')", T0 + 200), "1");
  CHECK_STR(sel(db, "segment('vip_active')", T0 + 200 + 31 * 86400), "");
  CHECK_STR(sel(db, "segment('store_leads')", T0 + 200), "");
  CHECK_STR(sel(db, "segment('store_leads')", T0 + 200 + 31 * 86400), "1");
  /* no machine is defined here */
  CHECK_STR(sel(db, "stage('lifecycle') = 'new'", T0), "ERR -4: query:1:7: unknown machine 'lifecycle'");
  CHECK_STR(sel(db, "stage_since('m') > now()", T0), "ERR -4: query:1:13: unknown machine 'm'");
  TU_INVARIANTS(db);
  pond_close(db);
}

static void invalid_events_change_nothing(void) {
  pond_db *db = fixture(0);
  REQUIRE(db);
  char *before = tu_dump(db);
  char longname[300];
  memset(longname, 'e', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  CHECK_EQ(pond_event(db, 9, "order.paid", T0), POND_NOTFOUND);
  CHECK_STR(pond_errmsg(db), "customer 9 does not exist");
  CHECK_EQ(pond_message(db, 9, "hi", 2, T0), POND_NOTFOUND);
  CHECK_EQ(pond_event(db, 1, NULL, T0), POND_EINVAL);
  CHECK_EQ(pond_event(db, 1, "", T0), POND_EINVAL);
  CHECK_EQ(pond_event(db, 1, longname, T0), POND_EINVAL);
  CHECK_EQ(pond_event(db, 1, "\xff", T0), POND_EINVAL);
  CHECK_EQ(pond_event(db, 1, "message", T0), POND_EINVAL);
  CHECK_STR(pond_errmsg(db), "event: 'message' is raised by pond_message");
  CHECK_EQ(pond_event(db, 1, "tag.added:src/store", T0), POND_EINVAL);
  CHECK_STR(pond_errmsg(db), "event: 'tag.added:src/store' is a built-in event the library raises");
  CHECK_EQ(pond_event(db, 1, "stage.entered:m/s", T0), POND_EINVAL);
  CHECK_EQ(pond_event(db, 1, "order.paid", INT64_MIN), POND_EINVAL);
  CHECK_EQ(pond_message(db, 1, "\xe4\xb8", 2, T0), POND_EINVAL);
  CHECK_STR(pond_errmsg(db), "message: text is not valid UTF-8 (byte 0)");
  CHECK_EQ(pond_message(db, 1, NULL, 3, T0), POND_EINVAL);
  CHECK_EQ(pond_event(NULL, 1, "x", T0), POND_EINVAL);
  CHECK_EQ(pond_message(NULL, 1, "x", 1, T0), POND_EINVAL);
  TU_SAME(db, before);
  free(before);
  pond_close(db);
}

static void autocreate_makes_the_customer_at_the_events_time(void) {
  pond_db *db = fixture(POND_AUTOCREATE);
  REQUIRE(db);
  CHECK_EQ(pond_event(db, 70000, "order.paid", T0 + 5), POND_OK);
  CHECK_EQ(pond_message(db, 70001, "hello", 5, T0 + 6), POND_OK);
  CHECK_EQ(pond_event(db, 70002, "login", T0 + 7), POND_OK);
  char *d = tu_dump(db);
  CHECK_HAS(d, "cust 70000 added=1700000005 seen=1700000005 c0=1 l0=1700000005\n");
  CHECK_HAS(d, "cust 70001 added=1700000006 seen=1700000006 c1=1 l1=1700000006\n");
  CHECK_HAS(d, "cust 70002 added=1700000007 seen=1700000007\n");
  free(d);
  CHECK_EQ(pond_customer_count(db), 6);
  CHECK_STR(sel(db, "added_at >= TIMESTAMP '2023-11-14 22:13:25'", T0), "70000,70001,70002");
  /* an invalid event does not create */
  CHECK_EQ(pond_event(db, 70003, "message", T0), POND_EINVAL);
  CHECK_EQ(pond_customer_exists(db, 70003), 0);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void transactions_undo_events_and_definitions(void) {
  pond_db *db = fixture(POND_AUTOCREATE);
  REQUIRE(db);
  pond_query *q;
  int rc = pond_query_prepare(db, "count('order.paid') >= 1 OR last_seen IS NOT NULL", POND_NTS, &q);
  REQUIRE(rc == POND_OK); /* (REQUIRE evaluates its argument twice) */
  pond_set *s;
  rc = pond_query_eval(q, T0, &s); /* builds the indexes */
  REQUIRE(rc == POND_OK);
  CHECK_EQ(pond_set_count(s), 1);
  pond_set_free(s);
  char *before = tu_dump(db);
  CHECK_EQ(pond_begin(db), POND_OK);
  CHECK_EQ(pond_event(db, 1, "order.paid", T0 + 1), POND_OK);
  CHECK_EQ(pond_event(db, 2, "order.paid", T0 + 99), POND_OK);
  CHECK_EQ(pond_event(db, 5, "order.paid", T0 + 2), POND_OK); /* created */
  CHECK_EQ(pond_message(db, 3, "x", 1, T0 + 3), POND_OK);
  CHECK_EQ(pond_event(db, 1, "message", T0), POND_EINVAL); /* a failing call leaves the txn open */
  CHECK_EQ(pond_query_eval(q, T0, &s), POND_OK);
  CHECK_EQ(pond_set_count(s), 4);
  pond_set_free(s);
  CHECK_EQ(tu_define(db, "{\"drop\": [{\"counter\": \"order.paid\"}], \"counters\": [\"x\"]}"), POND_OK);
  CHECK_EQ(pond_query_eval(q, T0, &s), POND_EPARSE); /* the counter is gone */
  CHECK_EQ(pond_rollback(db), POND_OK);
  TU_SAME(db, before);
  free(before);
  /* the query sees the state before the transaction again */
  CHECK_EQ(pond_query_eval(q, T0, &s), POND_OK);
  CHECK_EQ(pond_set_count(s), 1);
  CHECK_EQ(pond_set_contains(s, 2), 1);
  pond_set_free(s);
  CHECK_EQ(pond_query_test(q, 1, T0), 0);
  /* committed events stay */
  CHECK_EQ(pond_begin(db), POND_OK);
  CHECK_EQ(pond_event(db, 1, "order.paid", T0 + 1), POND_OK);
  CHECK_EQ(pond_commit(db), POND_OK);
  CHECK_EQ(pond_query_test(q, 1, T0), 1);
  pond_query_free(q);
  TU_INVARIANTS(db);
  pond_close(db);
}

/* Every allocation an event, a message or a counter drop makes fails once:
 * the call returns POND_ENOMEM and changes nothing, then succeeds. */
static void allocation_failures_change_nothing(void) {
  static const int kinds = 6;
  for (int kind = 0; kind < kinds; kind++) {
    for (long k = 1;; k++) {
      tu_alloc a = {0, 0, 0, 0};
      pond_db *db = tu_open_alloc(&a, POND_AUTOCREATE);
      REQUIRE(db);
      int drc = tu_define(db, BASE);
      REQUIRE(drc == POND_OK);
      for (uint64_t c = 1; c <= 3; c++) pond_customer_upsert(db, c, T0);
      pond_event(db, 2, "order.paid", T0);
      int in_txn = kind >= 3;
      if (in_txn) pond_begin(db);
      char *before = tu_dump(db);
      a.countdown = k;
      a.failed = 0;
      int rc;
      switch (kind % 3) {
        case 0: rc = pond_event(db, 1, "order.paid", T0 + 1); break;
        case 1: rc = pond_message(db, 77, "hi", 2, T0 + 1); break; /* autocreate */
        default: rc = tu_define(db, "{\"drop\": [{\"counter\": \"order.paid\"}]}"); break;
      }
      a.countdown = 0;
      int failed = a.failed;
      if (failed) {
        CHECK_EQ(rc, POND_ENOMEM);
        TU_SAME(db, before);
        TU_INVARIANTS(db);
      } else {
        CHECK_EQ(rc, POND_OK);
      }
      free(before);
      if (in_txn) pond_rollback(db);
      pond_close(db);
      CHECK_EQ(a.live, 0);
      if (!failed) break;
      if (k > 200) {
        CHECK(0);
        break;
      }
    }
  }
}

int main(void) {
  TH_RUN(invalid_counter_and_segment_documents_fail_with_their_path);
  TH_RUN(limits_apply_to_counters_and_segments);
  TH_RUN(counters_and_segments_are_upserted_and_dropped);
  TH_RUN(events_count_and_keep_the_latest_times);
  TH_RUN(invalid_events_change_nothing);
  TH_RUN(autocreate_makes_the_customer_at_the_events_time);
  TH_RUN(transactions_undo_events_and_definitions);
  TH_RUN(allocation_failures_change_nothing);
  return th_done();
}
