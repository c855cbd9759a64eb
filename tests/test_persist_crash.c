/*
 * test_persist_crash.c — kill -9 of a process using a db on the file store.
 *
 * A child opens pond_open_path(dir) and runs steps i = next, next+1, …:
 * two of three are transactions (create customer MARK + i, tag twenty
 * customers with add_many, set an attribute, remove a tag, count an
 * event; every 25th also renames a tag and creates one), the third a
 * single pond_tag_add that creates customer MARK + i (POND_AUTOCREATE:
 * two bitmaps and a record in one implicit transaction). After each step
 * returns it writes i to a pipe; every 40 steps it compacts. The parent
 * kills it with SIGKILL after a random 2-60 ms, reopens the directory and
 * checks that
 *   - the last step present (the highest MARK + i customer) is the last
 *     acknowledged one or the one after it (in flight when killed), and
 *     every earlier step's customer is there;
 *   - the whole state (db_dump) equals a model db in memory that ran
 *     exactly those steps: nothing acknowledged lost, no step partly
 *     applied.
 * The next child continues from there. Rounds: 30, or POND_CRASH_ROUNDS.
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "test_db_util.h"
#include "test_filestore_util.h"

#define MARK 1000000u

static const char *const DEFS =
    "{\"attributes\": [{\"name\": \"spend\", \"type\": \"int\"}, {\"name\": \"region\", \"type\": \"string\"}],"
    " \"tag_groups\": [{\"name\": \"t\", \"tags\": [\"a\", \"b\", \"c\", \"d\", \"e\"]},"
    " {\"name\": \"x\", \"exclusive\": true, \"tags\": [\"on\", \"off\"]}], \"counters\": [\"ev\"]}";

/* Step i on db (the child's and the model's). */
static int step(pond_db *db, uint32_t i) {
  uint32_t tags[5];
  static const char *const names[] = {"t/a", "t/b", "t/c", "t/d", "t/e"};
  for (int k = 0; k < 5; k++)
    if (pond_tag_id(db, names[k], &tags[k])) return -1;
  int64_t ts = 1700000000 + i;
  if (i % 3 == 2) {
    uint32_t x;
    if (pond_tag_id(db, i % 2 ? "x/on" : "x/off", &x)) return -1;
    return pond_tag_add(db, MARK + i, x, ts);
  }
  int rc = pond_begin(db);
  if (rc) return rc;
  uint64_t ids[20];
  for (int j = 0; j < 20; j++) ids[j] = (i * 7u + (uint32_t)j * 13u) % 500u;
  if (!rc) rc = pond_customer_upsert(db, MARK + i, ts);
  if (!rc) rc = pond_tag_add_many(db, tags[i % 5], ids, 20, ts);
  if (!rc) rc = pond_attr_set_int(db, ids[3], "spend", i);
  if (!rc) rc = pond_attr_set_str(db, ids[4], "region", i % 2 ? "north" : "south");
  if (!rc) rc = pond_tag_remove(db, ids[5], tags[(i + 1) % 5], ts);
  if (!rc) rc = pond_event(db, ids[6], "ev", ts);
  if (!rc && i % 25 == 0) {
    char nm[32];
    uint32_t t;
    snprintf(nm, sizeof nm, "t/n%u", i);
    rc = pond_tag_id(db, nm, &t);
    if (!rc) rc = pond_tag_add(db, ids[7], t, ts);
  }
  if (rc) {
    pond_rollback(db);
    return rc;
  }
  return pond_commit(db);
}

/* The highest step whose customer exists, or -1. */
static int64_t last_step(pond_db *db) {
  int64_t k = -1;
  while (pond_customer_exists(db, MARK + (uint64_t)(k + 1)) == 1) k++;
  return k;
}

static void child(const char *dir, int fd) {
  pond_db *db = NULL;
  if (pond_open_path(dir, POND_AUTOCREATE, &db)) _exit(3);
  if (pond_customer_count(db) == 0 && pond_define(db, DEFS, POND_NTS)) _exit(4);
  for (uint32_t i = (uint32_t)(last_step(db) + 1);; i++) {
    if (step(db, i)) _exit(5);
    uint8_t ack[4] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24)};
    if (write(fd, ack, 4) != 4) _exit(6);
    if (i % 40 == 39 && pond_compact(db)) _exit(7);
  }
}

static void kill9_never_loses_an_acknowledged_transaction(void) {
  long rounds = th_env_long("POND_CRASH_ROUNDS", 30);
  uint64_t seed = th_seed(1234);
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_db *model = tu_open(POND_AUTOCREATE);
  REQUIRE(model);
  REQ(tu_define(model, DEFS) == POND_OK);
  int64_t model_at = -1; /* steps applied to the model */
  int defined = 0;
  long in_flight = 0, failures = 0, acks = 0;
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
    struct timespec ts = {0, (long)(2 + th_rand(&seed) % 59) * 1000000L};
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
    while (read(p[0], ack, 4) == 4) {
      last_ack = (int64_t)((uint32_t)ack[0] | (uint32_t)ack[1] << 8 | (uint32_t)ack[2] << 16 |
                           (uint32_t)ack[3] << 24);
      acks++;
    }
    close(p[0]);
    pond_db *db = NULL;
    int rc = pond_open_path(dir, 0, &db);
    if (rc) {
      fprintf(stderr, "  round %ld: open failed: %s\n", round, pond_errmsg(NULL));
      failures++;
      break;
    }
    int64_t k = last_step(db);
    int64_t floor = last_ack >= 0 ? last_ack : model_at;
    if (pond_customer_count(db) > 0) defined = 1;
    if (k < floor || k > floor + 1 || k < model_at) {
      fprintf(stderr, "  round %ld: db at step %lld, acknowledged %lld, model %lld\n", round,
              (long long)k, (long long)last_ack, (long long)model_at);
      failures++;
    } else if (defined) {
      if (k == floor + 1) in_flight++;
      for (; model_at < k; model_at++) {
        if (step(model, (uint32_t)(model_at + 1))) failures++;
      }
      char *want = tu_dump(model), *got = tu_dump(db);
      if (strcmp(want, got)) {
        fprintf(stderr, "  round %ld: state differs from the model at step %lld\n", round,
                (long long)k);
        failures++;
      }
      free(want);
      free(got);
      TU_INVARIANTS(db);
    }
    pond_close(db);
  }
  printf("  %ld rounds, %ld acknowledged steps, db reached step %lld; the in-flight step was "
         "found %ld times\n",
         rounds, acks, (long long)model_at, in_flight);
  CHECK_EQ(failures, 0);
  CHECK(model_at > rounds); /* the children made progress */
  pond_close(model);
  fsu_rmtree(dir);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  TH_RUN(kill9_never_loses_an_acknowledged_transaction);
  return th_done();
}
