/*
 * test_lifecycle_persist.c — lifecycle state on the file store: machines
 * (their slots and compiled guards), customers' states and since times,
 * funnel counters and the timers derived from them come back after a
 * reopen; and kill -9 between ticks neither loses nor repeats a timer.
 *
 * The crash test: a child runs steps i = next, next+1, … on
 * pond_open_path(dir); step i is one transaction — pond_tick to day i
 * (timers fire and cascade), a few events and a message, and the marker
 * customer MARK + i — and is acknowledged over a pipe after its commit.
 * The parent kills it after a random 5-60 ms, reopens, and checks that the
 * last step present is the acknowledged one or the one in flight, and that
 * the whole state (dump and funnels) equals an in-memory model db that ran
 * exactly those steps: a timer lost or fired twice would show in the
 * states, their since times or the funnel counts. The next child continues
 * from there. Rounds: 20, or POND_CRASH_ROUNDS.
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "test_db_util.h"
#include "test_filestore_util.h"

#define T0 1700000000
#define DAY 86400
#define MARK 1000000u
#define NCUST 300

static const char *DEFS =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"}],"
    " \"counters\": [\"order.paid\", \"message\"],"
    " \"tag_groups\": [{\"name\": \"意向\", \"tags\": [\"问价\"]}, {\"name\": \"活动\", \"ttl\": \"2d\", \"tags\": [\"x\"]}],"
    " \"machines\": [{\"name\": \"lifecycle\", \"initial\": \"new\","
    "   \"states\": [\"new\", \"intent\", \"paying\", \"repeat\", \"silent\", \"churned\"],"
    "   \"transitions\": ["
    "    {\"from\": \"new\", \"to\": \"intent\", \"on\": \"tag.added:意向/问价\"},"
    "    {\"from\": [\"new\", \"intent\"], \"to\": \"paying\", \"on\": \"order.paid\"},"
    "    {\"from\": \"paying\", \"to\": \"repeat\", \"on\": \"order.paid\", \"if\": \"count('order.paid') >= 2\"},"
    "    {\"from\": [\"new\", \"intent\", \"paying\", \"repeat\"], \"to\": \"silent\", \"after\": \"3d\"},"
    "    {\"from\": \"silent\", \"to\": \"churned\", \"after\": \"4d\", \"if\": \"NOT tag('活动/x')\"},"
    "    {\"from\": [\"silent\", \"churned\"], \"to\": \"intent\", \"on\": \"message\"}]},"
    "  {\"name\": \"value\", \"initial\": \"low\", \"states\": [\"low\", \"high\"],"
    "   \"transitions\": [{\"from\": \"low\", \"to\": \"high\", \"on\": \"stage.entered:lifecycle/repeat\"},"
    "    {\"from\": \"high\", \"to\": \"low\", \"after\": \"5d\"}]}]}";

static char *funnels(pond_db *db) {
  static char out[16384];
  size_t w = 0;
  out[0] = 0;
  const char *ms[] = {"lifecycle", "value"};
  for (int m = 0; m < 2; m++) {
    pond_funnel_row *rows = NULL;
    size_t n = 0;
    if (pond_funnel(db, ms[m], 0, (int64_t)T0 + 10000 * (int64_t)DAY, &rows, &n) != POND_OK) return "ERR";
    for (size_t i = 0; i < n && w + 200 < sizeof out; i++)
      w += (size_t)snprintf(out + w, sizeof out - w, "%d %s>%s %llu %llu;", rows[i].kind,
                            rows[i].from ? rows[i].from : "-", rows[i].to, (unsigned long long)rows[i].count,
                            (unsigned long long)rows[i].entered);
    pond_funnel_free(db, rows);
  }
  return out;
}

/* Step i: one transaction. */
static int step(pond_db *db, uint32_t i) {
  int64_t ts = T0 + (int64_t)i * DAY;
  uint32_t ask, camp;
  if (pond_tag_id(db, "意向/问价", &ask) || pond_tag_id(db, "活动/x", &camp)) return -1;
  int rc = pond_begin(db);
  if (!rc) rc = pond_tick(db, ts);
  for (uint32_t k = 0; !rc && k < 12; k++) {
    uint64_t cid = 1 + (i * 37u + k * 101u) % NCUST;
    int64_t t = ts + k * 60;
    switch ((i + k) % 5) {
      case 0: rc = pond_customer_upsert(db, cid, t); break;
      case 1: rc = pond_customer_exists(db, cid) == 1 ? pond_event(db, cid, "order.paid", t) : 0; break;
      case 2: rc = pond_customer_exists(db, cid) == 1 ? pond_tag_add(db, cid, ask, t) : 0; break;
      case 3: rc = pond_customer_exists(db, cid) == 1 ? pond_message(db, cid, "hi", 2, t) : 0; break;
      default: rc = pond_customer_exists(db, cid) == 1 ? pond_tag_add(db, cid, camp, t) : 0; break;
    }
  }
  if (!rc) rc = pond_customer_upsert(db, MARK + i, ts);
  if (rc) {
    pond_rollback(db);
    return rc;
  }
  return pond_commit(db);
}

static int64_t last_step(pond_db *db) {
  int64_t k = -1;
  while (pond_customer_exists(db, MARK + (uint64_t)(k + 1)) == 1) k++;
  return k;
}

static int same(pond_db *a, pond_db *b) {
  char *x = tu_dump(a), *y = tu_dump(b);
  int eq = strcmp(x, y) == 0;
  if (!eq) fprintf(stderr, "dump differs:\n--- want\n%.2000s\n--- got\n%.2000s\n", x, y);
  free(x);
  free(y);
  char fx[16384];
  snprintf(fx, sizeof fx, "%s", funnels(a));
  if (strcmp(fx, funnels(b)) != 0) {
    fprintf(stderr, "funnels differ:\n want %s\n got  %s\n", fx, funnels(b));
    eq = 0;
  }
  return eq;
}

static void machines_states_funnels_and_timers_survive_reopen(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_db *model = tu_open(0), *db = NULL;
  REQUIRE(model);
  REQ(tu_define(model, DEFS) == POND_OK);
  REQ(pond_open_path(dir, 0, &db) == POND_OK);
  REQ(tu_define(db, DEFS) == POND_OK);
  for (uint32_t i = 0; i < 8; i++) {
    CHECK_EQ(step(model, i), POND_OK);
    CHECK_EQ(step(db, i), POND_OK);
  }
  CHECK(same(model, db));
  pond_close(db);
  db = NULL;
  REQ(pond_open_path(dir, 0, &db) == POND_OK);
  CHECK(same(model, db));
  TU_INVARIANTS(db);
  /* the timers come back from the records: the same firings from here */
  for (uint32_t i = 8; i < 20; i++) {
    CHECK_EQ(step(model, i), POND_OK);
    CHECK_EQ(step(db, i), POND_OK);
  }
  CHECK(same(model, db));
  /* guards compiled on load (tag() and count() resolve after the tags) */
  const char *s = NULL;
  CHECK_EQ(pond_stage(db, 1, "lifecycle", &s, NULL), POND_OK);
  pond_close(db);
  pond_close(model);
  fsu_rmtree(dir);
}

static void child(const char *dir, int fd) {
  pond_db *db = NULL;
  if (pond_open_path(dir, 0, &db)) _exit(3);
  if (pond_customer_count(db) == 0 && pond_define(db, DEFS, POND_NTS)) _exit(4);
  for (uint32_t i = (uint32_t)(last_step(db) + 1);; i++) {
    if (step(db, i)) _exit(5);
    uint8_t ack[4] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24)};
    if (write(fd, ack, 4) != 4) _exit(6);
  }
}

static void kill9_between_ticks_neither_loses_nor_repeats_a_timer(void) {
  long rounds = th_env_long("POND_CRASH_ROUNDS", 20);
  uint64_t seed = th_seed(4321);
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_db *model = tu_open(0);
  REQUIRE(model);
  REQ(tu_define(model, DEFS) == POND_OK);
  int64_t model_at = -1;
  long failures = 0, in_flight = 0;
  for (long round = 0; round < rounds && failures < 3; round++) {
    int p[2];
    REQ(pipe(p) == 0);
    fflush(NULL);
    pid_t pid = fork();
    REQ(pid >= 0);
    if (pid == 0) {
      close(p[0]);
      child(dir, p[1]);
    }
    close(p[1]);
    struct timespec ts = {0, (long)(5 + th_rand(&seed) % 56) * 1000000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFSIGNALED(status)) {
      fprintf(stderr, "  round %ld: child exited with %d\n", round, WEXITSTATUS(status));
      failures++;
    }
    int64_t last_ack = -1;
    uint8_t ack[4];
    while (read(p[0], ack, 4) == 4)
      last_ack = (int64_t)((uint32_t)ack[0] | (uint32_t)ack[1] << 8 | (uint32_t)ack[2] << 16 |
                           (uint32_t)ack[3] << 24);
    close(p[0]);
    pond_db *db = NULL;
    if (pond_open_path(dir, 0, &db)) {
      fprintf(stderr, "  round %ld: open failed: %s\n", round, pond_errmsg(NULL));
      failures++;
      break;
    }
    int64_t k = last_step(db), floor = last_ack >= 0 ? last_ack : model_at;
    if (k < floor || k > floor + 1 || k < model_at) {
      fprintf(stderr, "  round %ld: db at step %lld, acknowledged %lld, model %lld\n", round, (long long)k,
              (long long)last_ack, (long long)model_at);
      failures++;
    } else if (pond_customer_count(db) > 0) {
      if (k == floor + 1) in_flight++;
      for (; model_at < k; model_at++)
        if (step(model, (uint32_t)(model_at + 1))) failures++;
      if (!same(model, db)) {
        fprintf(stderr, "  round %ld: state differs from the model at step %lld\n", round, (long long)k);
        failures++;
      }
      TU_INVARIANTS(db);
    }
    pond_close(db);
  }
  printf("  %ld rounds, db reached step %lld (day %lld); the in-flight step was found %ld times\n", rounds,
         (long long)model_at, (long long)model_at, in_flight);
  CHECK_EQ(failures, 0);
  CHECK(model_at > rounds);
  pond_close(model);
  fsu_rmtree(dir);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  TH_RUN(machines_states_funnels_and_timers_survive_reopen);
  TH_RUN(kill9_between_ticks_neither_loses_nor_repeats_a_timer);
  return th_done();
}
