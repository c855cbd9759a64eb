/*
 * test_define.c — pond_define for attributes, tag_groups and drop: strict
 * validation with JSON-path errors (each invalid document leaves the state
 * exactly as it was), upsert semantics, drops, conflicts with the data,
 * canonical definitions, limits.
 */
#include "test_db_util.h"

#define T0 1700000000

static const char *BASE =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"},"
    " {\"name\": \"region\", \"type\": \"string\"}, {\"name\": \"vip\", \"type\": \"bool\"},"
    " {\"name\": \"birthday\", \"type\": \"time\"}],"
    " \"tag_groups\": [{\"name\": \"status\", \"exclusive\": true, \"tags\": [\"todo\", \"done\"]},"
    " {\"name\": \"src\", \"tags\": [\"store\", \"ad\"]}, {\"name\": \"camp\", \"ttl\": \"30d\"}]}";

/* A db with definitions and data that conflicts can bite on: customer 1
 * holds src/store and src/ad, and has spend and region values. */
static pond_db *fixture(void) {
  pond_db *db = tu_open(0);
  if (!db) return NULL;
  if (tu_define(db, BASE) != POND_OK) {
    fprintf(stderr, "define: %s\n", pond_errmsg(db));
    pond_close(db);
    return NULL;
  }
  for (uint64_t c = 1; c <= 3; c++) pond_customer_upsert(db, c, T0);
  pond_tag_add(db, 1, tu_tag(db, "src/store"), T0);
  pond_tag_add(db, 1, tu_tag(db, "src/ad"), T0);
  pond_tag_add(db, 2, tu_tag(db, "status/todo"), T0);
  pond_attr_set_int(db, 1, "spend", 100);
  pond_attr_set_str(db, 1, "region", "north");
  return db;
}

typedef struct bad_doc {
  const char *doc;
  int code;
  const char *path; /* must appear in the message */
  const char *also; /* and this, when not NULL */
} bad_doc;

static const bad_doc BAD[] = {
    {"[]", POND_EINVAL, "define:$:", "JSON object"},
    {"\"attributes\"", POND_EINVAL, "define:$:", NULL},
    {"{\"attribute\": []}", POND_EINVAL, "$.attribute:", "did you mean 'attributes'"},
    {"{\"tag_group\": []}", POND_EINVAL, "$.tag_group:", "did you mean 'tag_groups'"},
    {"{\"keywords\": []}", POND_EINVAL, "$.keywords:", "not supported by this version yet"},
    {"{\"counters\": {\"order.paid\": 1}}", POND_EINVAL, "$.counters:", "expected an array"},
    {"{\"segments\": {}, \"attributes\": []}", POND_EINVAL, "$.segments:", NULL},
    {"{\"attributes\": [{\"name\": \"x\", \"type\": \"int\"}], \"rules\": []}", POND_EINVAL, "$.rules:", NULL},
    {"{\"attributes\": {}}", POND_EINVAL, "$.attributes:", "expected an array"},
    {"{\"attributes\": [1]}", POND_EINVAL, "$.attributes[0]:", "expected an object"},
    {"{\"attributes\": [{\"type\": \"int\"}]}", POND_EINVAL, "$.attributes[0]:", "missing \"name\""},
    {"{\"attributes\": [{\"name\": \"a\"}]}", POND_EINVAL, "$.attributes[0]:", "missing \"type\""},
    {"{\"attributes\": [{\"name\": 5, \"type\": \"int\"}]}", POND_EINVAL, "$.attributes[0].name:", "expected a string"},
    {"{\"attributes\": [{\"name\": \"a\", \"type\": \"float\"}]}", POND_EINVAL, "$.attributes[0].type:", "unknown type 'float'"},
    {"{\"attributes\": [{\"name\": \"a\", \"type\": \"int\", \"index\": true}]}", POND_EINVAL, "$.attributes[0].index:", "unknown key"},
    {"{\"attributes\": [{\"name\": \"a\", \"typ\": \"int\"}]}", POND_EINVAL, "$.attributes[0].typ:", "did you mean 'type'"},
    {"{\"attributes\": [{\"name\": \"\", \"type\": \"int\"}]}", POND_EINVAL, "$.attributes[0].name:", "empty"},
    {"{\"attributes\": [{\"name\": \"a\\u0001b\", \"type\": \"int\"}]}", POND_EINVAL, "$.attributes[0].name:", "control"},
    {"{\"attributes\": [{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"type\": \"int\"}]}",
     POND_EINVAL, "$.attributes[0].name:", "longer than 64"},
    {"{\"attributes\": [{\"name\": \"CID\", \"type\": \"int\"}]}", POND_EINVAL, "$.attributes[0].name:", "built-in"},
    {"{\"attributes\": [{\"name\": \"added_at\", \"type\": \"time\"}]}", POND_EINVAL, "$.attributes[0].name:", "built-in"},
    {"{\"attributes\": [{\"name\": \"a\", \"type\": \"int\"}, {\"name\": \"a\", \"type\": \"time\"}]}",
     POND_EINVAL, "$.attributes[1].name:", "first at $.attributes[0]"},
    {"{\"attributes\": [{\"name\": \"spend\", \"type\": \"string\"}]}", POND_ECONFLICT, "$.attributes[0].type:",
     "from int to string while 1 customers"},
    {"{\"attributes\": [{\"name\": \"region\", \"type\": \"bool\"}]}", POND_ECONFLICT, "$.attributes[0].type:", NULL},
    {"{\"tag_groups\": [{\"name\": \"g\", \"ttl\": \"3x\"}]}", POND_EINVAL, "$.tag_groups[0].ttl:", "invalid duration '3x'"},
    {"{\"tag_groups\": [{\"name\": \"g\", \"ttl\": \"0s\"}]}", POND_EINVAL, "$.tag_groups[0].ttl:", "longer than 0s"},
    {"{\"tag_groups\": [{\"name\": \"g\", \"ttl\": 30}]}", POND_EINVAL, "$.tag_groups[0].ttl:", "duration string"},
    {"{\"tag_groups\": [{\"name\": \"g\", \"ttl\": \"30D\"}]}", POND_EINVAL, "$.tag_groups[0].ttl:", "invalid duration"},
    {"{\"tag_groups\": [{\"name\": \"g\", \"ttl\": \"d\"}]}", POND_EINVAL, "$.tag_groups[0].ttl:", NULL},
    {"{\"tag_groups\": [{\"name\": \"g\", \"ttl\": \"99999999999999999999d\"}]}", POND_EINVAL, "$.tag_groups[0].ttl:", NULL},
    {"{\"tag_groups\": [{\"name\": \"g\", \"exclusive\": \"yes\"}]}", POND_EINVAL, "$.tag_groups[0].exclusive:", "true or false"},
    {"{\"tag_groups\": [{\"name\": \"a/b\"}]}", POND_EINVAL, "$.tag_groups[0].name:", "'/'"},
    {"{\"tag_groups\": [{\"name\": \"g\", \"tags\": [\"x\", \"x\"]}]}", POND_EINVAL, "$.tag_groups[0].tags[1]:",
     "first at $.tag_groups[0].tags[0]"},
    {"{\"tag_groups\": [{\"name\": \"g\", \"tags\": [\"*\"]}]}", POND_EINVAL, "$.tag_groups[0].tags[0]:", "reserved"},
    {"{\"tag_groups\": [{\"name\": \"g\", \"tags\": [\"\"]}]}", POND_EINVAL, "$.tag_groups[0].tags[0]:", "empty"},
    {"{\"tag_groups\": [{\"name\": \"g\", \"tags\": [\"a/b\"]}]}", POND_EINVAL, "$.tag_groups[0].tags[0]:", "'/'"},
    {"{\"tag_groups\": [{\"name\": \"g\", \"tags\": \"x\"}]}", POND_EINVAL, "$.tag_groups[0].tags:", "expected an array"},
    {"{\"tag_groups\": [{\"name\": \"g\", \"tags\": [1]}]}", POND_EINVAL, "$.tag_groups[0].tags[0]:", "expected a string"},
    {"{\"tag_groups\": [{\"name\": \"g\"}, {\"name\": \"g\"}]}", POND_EINVAL, "$.tag_groups[1].name:", "appears twice"},
    {"{\"tag_groups\": [{\"tags\": [\"a\"]}]}", POND_EINVAL, "$.tag_groups[0]:", "missing \"name\""},
    {"{\"tag_groups\": [{\"name\": \"src\", \"exclusive\": true}]}", POND_ECONFLICT, "$.tag_groups[0].exclusive:",
     "more than one tag of 'src'"},
    {"{\"tag_groups\": [{\"name\": \"ok\", \"tags\": [\"a\"]}, {\"name\": \"bad\", \"ttl\": \"x\"}]}", POND_EINVAL,
     "$.tag_groups[1].ttl:", NULL},
    {"{\"tag_groups\": [{\"name\": \"g\", \"Tags\": []}]}", POND_EINVAL, "$.tag_groups[0].Tags:", "did you mean 'tags'"},
    {"{\"drop\": {}}", POND_EINVAL, "$.drop:", "expected an array"},
    {"{\"drop\": [\"spend\"]}", POND_EINVAL, "$.drop[0]:", "expected an object"},
    {"{\"drop\": [{\"attribute\": \"nope\"}]}", POND_EINVAL, "$.drop[0].attribute:", "not defined"},
    {"{\"drop\": [{\"tag_group\": \"nope\"}]}", POND_EINVAL, "$.drop[0].tag_group:", "not defined"},
    {"{\"drop\": [{\"tag\": \"src/nope\"}]}", POND_EINVAL, "$.drop[0].tag:", "does not exist"},
    {"{\"drop\": [{\"tag\": \"bad\"}]}", POND_EINVAL, "$.drop[0].tag:", "group/name"},
    {"{\"drop\": [{\"attribute\": \"spend\", \"tag_group\": \"src\"}]}", POND_EINVAL, "$.drop[0]:", "exactly one"},
    {"{\"drop\": [{}]}", POND_EINVAL, "$.drop[0]:", "exactly one"},
    {"{\"drop\": [{\"machine\": \"m\"}]}", POND_EINVAL, "$.drop[0].machine:", "not supported by this version yet"},
    {"{\"drop\": [{\"attribute\": \"spend\"}, {\"attribute\": \"spend\"}]}", POND_EINVAL, "$.drop[1].attribute:",
     "dropped twice"},
    {"{\"drop\": [{\"atribute\": \"spend\"}]}", POND_EINVAL, "$.drop[0].atribute:", "did you mean 'attribute'"},
    {"{\"drop\": [{\"attribute\": 3}]}", POND_EINVAL, "$.drop[0].attribute:", "expected a string"},
    {"{\"weird key\": 1}", POND_EINVAL, "$[\"weird key\"]:", "unknown key"},
    {"{\"attributes\": [}", POND_EPARSE, "define:1:", NULL},
    {"{\"attributes\": [],}", POND_EPARSE, "define:1:", NULL},
    {"{\"drop\": [], \"drop\": []}", POND_EPARSE, "define:", "duplicate"},
    {"{\"attributes\": [{\"name\": \"a\", \"type\": \"int\"}]}   x", POND_EPARSE, "define:", NULL},
    {"", POND_EPARSE, "define:", NULL},
};
#define NBAD (sizeof BAD / sizeof BAD[0])

static void every_invalid_document_fails_with_its_path_and_changes_nothing(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  char *before = tu_dump(db);
  for (size_t i = 0; i < NBAD; i++) {
    int rc = tu_define(db, BAD[i].doc);
    const char *msg = pond_errmsg(db);
    if (rc != BAD[i].code || !strstr(msg, BAD[i].path) || (BAD[i].also && !strstr(msg, BAD[i].also)))
      fprintf(stderr, "doc #%zu %s\n  -> %d %s\n", i, BAD[i].doc, rc, msg);
    CHECK_EQ(rc, BAD[i].code);
    CHECK_HAS(msg, BAD[i].path);
    if (BAD[i].also) CHECK_HAS(msg, BAD[i].also);
    long off = pond_error_offset(db);
    CHECK(off >= 0 && (size_t)off <= strlen(BAD[i].doc));
    TU_SAME(db, before);
  }
  CHECK(NBAD >= 30);
  TU_INVARIANTS(db);
  free(before);
  pond_close(db);
}

static void error_offset_points_at_the_offending_value(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  const char *doc = "{\"tag_groups\": [{\"name\": \"g\"}, {\"name\": \"h\", \"ttl\": \"3x\"}]}";
  CHECK_EQ(tu_define(db, doc), POND_EINVAL);
  CHECK_STR(pond_errmsg(db),
            "define:$.tag_groups[1].ttl: invalid duration '3x' (a positive integer and s, m, h, d or w)");
  CHECK_EQ(pond_error_offset(db), (long)(strstr(doc, "\"3x\"") - doc));
  const char *bad = "{\n  \"attributes\": [\n    {\"name\": \"a\" \"type\": \"int\"}]}";
  CHECK_EQ(tu_define(db, bad), POND_EPARSE);
  CHECK_HAS(pond_errmsg(db), "define:3:");
  CHECK_EQ(pond_error_offset(db), (long)(strstr(bad, "\"type\"") - bad));
  pond_close(db);
}

static void limits_on_length_and_depth_are_elimit(void) {
  pond_options o;
  memset(&o, 0, sizeof o);
  o.version = POND_OPTIONS_V1;
  o.limits.define_max_len = 64;
  o.limits.define_max_depth = 4;
  pond_db *db = NULL;
  int rc = pond_open(&o, &db); /* REQUIRE evaluates its argument twice */
  REQUIRE(rc == POND_OK);
  char *before = tu_dump(db);
  char big[200];
  memset(big, ' ', sizeof big);
  big[0] = '{';
  big[sizeof big - 2] = '}';
  big[sizeof big - 1] = 0;
  CHECK_EQ(tu_define(db, big), POND_ELIMIT);
  CHECK_HAS(pond_errmsg(db), "define_max_len");
  CHECK_EQ(tu_define(db, "{\"drop\": [[[[[1]]]]]}"), POND_ELIMIT);
  TU_SAME(db, before);
  CHECK_EQ(tu_define(db, "{\"tag_groups\": [{\"name\": \"g\"}]}"), POND_OK);
  free(before);
  pond_close(db);
}

static void the_definitions_example_defines_its_attributes_and_groups(void) {
  pond_db *db = tu_open(0);
  REQUIRE(db);
  const char *doc =
      "{\n"
      "  \"attributes\": [\n"
      "    {\"name\": \"spend\",  \"type\": \"int\"},\n"
      "    {\"name\": \"birthday\", \"type\": \"time\"},\n"
      "    {\"name\": \"region\", \"type\": \"string\"},\n"
      "    {\"name\": \"owner\",  \"type\": \"string\"},\n"
      "    {\"name\": \"vip\",    \"type\": \"bool\"}\n"
      "  ],\n"
      "  \"tag_groups\": [\n"
      "    {\"name\": \"跟进状态\", \"exclusive\": true, \"tags\": [\"待跟进\", \"跟进中\", \"已成交\"]},\n"
      "    {\"name\": \"来源\", \"tags\": [\"门店扫码\", \"直播\", \"广告\"]},\n"
      "    {\"name\": \"活动\", \"ttl\": \"30d\"},\n"
      "    {\"name\": \"意向\", \"tags\": [\"问价\", \"比价\"]}\n"
      "  ]\n"
      "}\n";
  CHECK_EQ(pond_define(db, doc, POND_NTS), POND_OK);
  uint32_t a, b;
  CHECK_EQ(pond_tag_id(db, "跟进状态/跟进中", &a), POND_OK);
  CHECK_EQ(pond_tag_id(db, "跟进状态/新", &b), POND_NOTFOUND); /* exclusive: no creation */
  CHECK_EQ(pond_tag_id(db, "活动/双11", &b), POND_OK);
  CHECK_EQ(pond_customer_upsert(db, 1, T0), POND_OK);
  CHECK_EQ(pond_attr_set_str(db, 1, "owner", "alice"), POND_OK);
  CHECK_EQ(pond_attr_set_int(db, 1, "birthday", 641520000), POND_OK);
  char *d = tu_dump(db);
  CHECK_HAS(d, "{\"name\":\"活动\",\"ttl\":\"30d\"}");
  CHECK_HAS(d, "{\"name\":\"跟进状态\",\"exclusive\":true,\"tags\":[\"待跟进\",\"跟进中\",\"已成交\"]}");
  CHECK_HAS(d, "{\"name\":\"vip\",\"type\":\"bool\"}");
  free(d);
  /* the same document again changes nothing */
  d = tu_dump(db);
  CHECK_EQ(pond_define(db, doc, strlen(doc)), POND_OK);
  TU_SAME(db, d);
  free(d);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void define_upserts_names_and_leaves_absent_ones_alone(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  uint32_t store = tu_tag(db, "src/store");
  CHECK_EQ(tu_define(db, "{\"tag_groups\": [{\"name\": \"camp\", \"ttl\": \"2w\", \"tags\": [\"spring\"]},"
                         " {\"name\": \"new\"}], \"attributes\": [{\"name\": \"score\", \"type\": \"int\"}]}"),
           POND_OK);
  char *d = tu_dump(db);
  CHECK_HAS(d, "{\"name\":\"camp\",\"ttl\":\"2w\",\"tags\":[\"spring\"]}");
  CHECK_HAS(d, "{\"name\":\"src\",\"tags\":[\"store\",\"ad\"]}"); /* untouched */
  CHECK_HAS(d, "{\"name\":\"score\",\"type\":\"int\"}");
  free(d);
  CHECK_EQ(pond_tag_has(db, 1, store), 1);
  uint32_t id;
  CHECK_EQ(pond_tag_id(db, "camp/spring", &id), POND_OK);
  CHECK_EQ(pond_attr_set_int(db, 2, "score", 5), POND_OK);
  /* a type may change while nobody has a value */
  CHECK_EQ(tu_define(db, "{\"attributes\": [{\"name\": \"birthday\", \"type\": \"string\"}]}"), POND_OK);
  CHECK_EQ(pond_attr_set_str(db, 2, "birthday", "spring"), POND_OK);
  /* an exclusive group may become non-exclusive, and back when no one holds two */
  CHECK_EQ(tu_define(db, "{\"tag_groups\": [{\"name\": \"status\", \"tags\": [\"todo\", \"done\"]}]}"), POND_OK);
  CHECK_EQ(pond_tag_id(db, "status/maybe", &id), POND_OK); /* open now */
  CHECK_EQ(tu_define(db, "{\"tag_groups\": [{\"name\": \"status\", \"exclusive\": true}]}"), POND_OK);
  /* dropping the tag that makes src overlap lets it become exclusive */
  CHECK_EQ(tu_define(db, "{\"drop\": [{\"tag\": \"src/ad\"}], \"tag_groups\": [{\"name\": \"src\", \"exclusive\": true}]}"),
           POND_OK);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void drop_removes_names_and_their_data(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  uint32_t store = tu_tag(db, "src/store"), todo = tu_tag(db, "status/todo");
  CHECK_EQ(tu_define(db, "{\"drop\": [{\"tag_group\": \"src\"}, {\"attribute\": \"spend\"}]}"), POND_OK);
  uint32_t id;
  CHECK_EQ(pond_tag_id(db, "src/store", &id), POND_NOTFOUND);
  CHECK_EQ(pond_tag_has(db, 1, store), POND_NOTFOUND);
  CHECK_EQ(pond_tag_has(db, 2, todo), 1);
  int64_t v;
  CHECK_EQ(pond_attr_get_int(db, 1, "spend", &v), POND_NOTFOUND);
  const char *s;
  CHECK_EQ(pond_attr_get_str(db, 1, "region", &s), 1);
  CHECK_STR(s, "north");
  /* defined again: a new, empty attribute and new tag ids */
  CHECK_EQ(tu_define(db, "{\"attributes\": [{\"name\": \"spend\", \"type\": \"string\"}],"
                         " \"tag_groups\": [{\"name\": \"src\", \"tags\": [\"store\"]}]}"),
           POND_OK);
  CHECK_EQ(pond_attr_get_str(db, 1, "spend", &s), 0);
  CHECK_EQ(pond_tag_id(db, "src/store", &id), POND_OK);
  CHECK(id != store);
  /* drop and define in one document */
  CHECK_EQ(tu_define(db, "{\"drop\": [{\"tag_group\": \"status\"}],"
                         " \"tag_groups\": [{\"name\": \"status\", \"tags\": [\"todo\"]}]}"),
           POND_OK);
  CHECK_EQ(pond_tag_id(db, "status/todo", &id), POND_OK);
  CHECK(id != todo);
  CHECK_EQ(pond_tag_has(db, 2, id), 0);
  TU_INVARIANTS(db);
  pond_close(db);
}

static void define_inside_a_transaction_rolls_back(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  char *before = tu_dump(db);
  CHECK_EQ(pond_begin(db), POND_OK);
  CHECK_EQ(tu_define(db, "{\"drop\": [{\"tag_group\": \"src\"}, {\"attribute\": \"region\"}],"
                         " \"attributes\": [{\"name\": \"region\", \"type\": \"int\"}],"
                         " \"tag_groups\": [{\"name\": \"src\", \"exclusive\": true, \"tags\": [\"store\"]}]}"),
           POND_OK);
  CHECK_EQ(pond_attr_set_int(db, 1, "region", 3), POND_OK);
  CHECK_EQ(tu_define(db, "{\"attributes\": [{\"name\": \"region\", \"type\": \"string\"}]}"), POND_ECONFLICT);
  CHECK_EQ(pond_rollback(db), POND_OK);
  TU_SAME(db, before);
  TU_INVARIANTS(db);
  free(before);
  pond_close(db);
}

static void attribute_types_are_enforced(void) {
  pond_db *db = fixture();
  REQUIRE(db);
  char *before = tu_dump(db);
  CHECK_EQ(pond_attr_set_int(db, 1, "region", 5), POND_EINVAL);
  CHECK_EQ(pond_attr_set_str(db, 1, "spend", "x"), POND_EINVAL);
  CHECK_EQ(pond_attr_set_int(db, 1, "vip", 2), POND_EINVAL);
  CHECK_EQ(pond_attr_set_int(db, 1, "nope", 2), POND_NOTFOUND);
  CHECK_EQ(pond_attr_set_int(db, 9, "spend", 2), POND_NOTFOUND);
  CHECK_EQ(pond_attr_set_int(db, 1, "added_at", 2), POND_EINVAL);
  CHECK_EQ(pond_attr_set_str(db, 1, "region", "\xff"), POND_EINVAL);
  CHECK_EQ(pond_attr_set_str(db, 1, "region", NULL), POND_EINVAL);
  CHECK_EQ(pond_attr_clear(db, 1, "nope"), POND_NOTFOUND);
  TU_SAME(db, before);
  int64_t v = 0;
  const char *s = NULL;
  CHECK_EQ(pond_attr_set_int(db, 2, "vip", 1), POND_OK);
  CHECK_EQ(pond_attr_get_int(db, 2, "vip", &v), 1);
  CHECK_EQ(v, 1);
  CHECK_EQ(pond_attr_set_int(db, 2, "spend", INT64_MIN), POND_OK);
  CHECK_EQ(pond_attr_get_int(db, 2, "spend", &v), 1);
  CHECK(v == INT64_MIN);
  CHECK_EQ(pond_attr_get_int(db, 2, "region", &v), POND_EINVAL);
  CHECK_EQ(pond_attr_get_str(db, 2, "spend", &s), POND_EINVAL);
  CHECK_EQ(pond_attr_get_str(db, 2, "region", &s), 0);
  CHECK_EQ(pond_attr_set_str(db, 2, "region", "south"), POND_OK);
  CHECK_EQ(pond_attr_set_str(db, 3, "region", "south"), POND_OK);
  CHECK_EQ(pond_attr_get_str(db, 3, "region", &s), 1);
  CHECK_STR(s, "south");
  CHECK_EQ(pond_attr_clear(db, 3, "region"), POND_OK);
  CHECK_EQ(pond_attr_get_str(db, 3, "region", &s), 0);
  CHECK_EQ(pond_attr_clear(db, 3, "region"), POND_OK);
  TU_INVARIANTS(db);
  free(before);
  pond_close(db);
}

int main(void) {
  TH_RUN(every_invalid_document_fails_with_its_path_and_changes_nothing);
  TH_RUN(error_offset_points_at_the_offending_value);
  TH_RUN(limits_on_length_and_depth_are_elimit);
  TH_RUN(the_definitions_example_defines_its_attributes_and_groups);
  TH_RUN(define_upserts_names_and_leaves_absent_ones_alone);
  TH_RUN(drop_removes_names_and_their_data);
  TH_RUN(define_inside_a_transaction_rolls_back);
  TH_RUN(attribute_types_are_enforced);
  return th_done();
}
