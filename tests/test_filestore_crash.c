/*
 * test_filestore_crash.c — kill -9 at random moments.
 *
 * A child process opens the store and commits batch after batch of a
 * deterministic workload (puts, overwrites and deletes over a few hundred
 * keys, now and then a 2,000-op batch, with automatic compaction at a low
 * threshold and an explicit compaction every 40 batches), and after each
 * commit returns it writes the batch number to a pipe. The parent kills it
 * with SIGKILL after a random 1-30 ms, reopens the store and checks that
 * the batch recorded in the store is the last acknowledged one or the one
 * after it (in flight when the child died), and that the whole content
 * equals the model after exactly that many batches: nothing acknowledged
 * lost, no batch partly applied. The next child continues from there.
 * Rounds: 30, or POND_CRASH_ROUNDS.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"
#include "store/filestore.h"
#include "test_filestore_util.h"

#define MAXOPS 2001

static pc_mem mem;

/* Batch i: ops[0] records i under "meta/last", the rest touch k000..k299. */
static size_t make_batch(uint32_t i, pond_kv *ops, char (*keys)[16], char (*vals)[48],
                         uint8_t *last) {
  uint64_t s = 0x5eed0000ull + i;
  size_t n = i % 29 == 28 ? MAXOPS - 1 : 1 + th_rand(&s) % 12;
  for (int b = 0; b < 4; b++) last[b] = (uint8_t)(i >> (8 * b));
  ops[0] = (pond_kv){"meta/last", 9, last, 4};
  for (size_t j = 1; j <= n; j++) {
    snprintf(keys[j], 16, "k%03u", (unsigned)(th_rand(&s) % 300));
    int len = snprintf(vals[j], 48, "batch %u op %zu %llu", (unsigned)i, j,
                       (unsigned long long)(th_rand(&s) % 100000));
    ops[j] = (pond_kv){keys[j], strlen(keys[j]), th_rand(&s) % 5 ? vals[j] : NULL, (size_t)len};
  }
  return n + 1;
}

typedef struct batch_buf {
  pond_kv ops[MAXOPS];
  char keys[MAXOPS][16];
  char vals[MAXOPS][48];
  uint8_t last[4];
} batch_buf;

static int read_last(const pond_kv *kv, void *out) {
  if (kv->vlen != 4) return -1;
  const uint8_t *p = kv->val;
  *(int64_t *)out = (int64_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                              (uint32_t)p[3] << 24);
  return 1;
}

static int each_last(void *arg, const pond_kv *kv) { return read_last(kv, arg); }

/* The batch number recorded in the store; -1 if none. */
static int64_t stored_last(const pond_storage *s) {
  int64_t v = -1;
  int rc = s->scan(s->ctx, "meta/last", 9, each_last, &v);
  return rc == 1 ? v : rc == 0 ? -1 : -2;
}

static void child(const char *dir, int fd) {
  pc_mem cm;
  pc_mem_init(&cm, NULL, NULL, 0);
  pond_storage s;
  pc_err e;
  if (st_file_open(&cm, dir, 0, NULL, &s, &e)) _exit(3);
  st_file_tune(s.ctx, 64 << 10, 50);
  static batch_buf bb;
  for (uint32_t i = (uint32_t)(stored_last(&s) + 1);; i++) {
    size_t n = make_batch(i, bb.ops, bb.keys, bb.vals, bb.last);
    if (s.commit(s.ctx, bb.ops, n)) _exit(4);
    uint8_t ack[4] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24)};
    if (write(fd, ack, 4) != 4) _exit(5);
    if (i % 40 == 39 && st_file_compact(s.ctx, &e)) _exit(6);
  }
}

static int count_files(const char *dir, const char *suffix) {
  DIR *d = opendir(dir);
  int n = 0;
  size_t sl = strlen(suffix);
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL) {
    size_t l = strlen(de->d_name);
    if (l >= sl && !strcmp(de->d_name + l - sl, suffix)) n++;
  }
  if (d) closedir(d);
  return n;
}

static void kill9_never_loses_an_acknowledged_commit(void) {
  long rounds = th_env_long("POND_CRASH_ROUNDS", 30);
  uint64_t seed = th_seed(71);
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  fsu_model model = {0};
  static batch_buf bb;
  int64_t model_at = -1; /* batches applied to the model */
  long in_flight = 0, torn = 0, mid_compaction = 0, failures = 0, acks = 0;
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
    struct timespec ts = {0, (long)(1 + th_rand(&seed) % 30) * 1000000L};
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
    ssize_t r;
    while ((r = read(p[0], ack, 4)) == 4) {
      last_ack = (int64_t)((uint32_t)ack[0] | (uint32_t)ack[1] << 8 | (uint32_t)ack[2] << 16 |
                           (uint32_t)ack[3] << 24);
      acks++;
    }
    close(p[0]);
    if (count_files(dir, ".tmp") || count_files(dir, ".log") > 1) mid_compaction++;

    pond_storage s;
    pc_err e;
    int rc = st_file_open(&mem, dir, 0, NULL, &s, &e);
    if (rc) {
      fprintf(stderr, "  round %ld: open failed: %s\n", round, e.msg);
      failures++;
      break;
    }
    st_file_stats st;
    st_file_stats_get(s.ctx, &st);
    if (st.tail_dropped) torn++;
    int64_t k = stored_last(&s);
    int64_t floor = last_ack >= 0 ? last_ack : model_at;
    if (k < floor || k > floor + 1 || k < model_at) {
      fprintf(stderr, "  round %ld: store at batch %lld, acknowledged %lld, model %lld\n", round,
              (long long)k, (long long)last_ack, (long long)model_at);
      failures++;
    } else {
      if (k == floor + 1) in_flight++;
      for (; model_at < k; model_at++) {
        size_t n = make_batch((uint32_t)(model_at + 1), bb.ops, bb.keys, bb.vals, bb.last);
        fsu_apply_ops(&model, bb.ops, n);
      }
      if (!fsu_matches(&s, &model)) {
        fprintf(stderr, "  round %ld: content differs from the model at batch %lld\n", round,
                (long long)k);
        failures++;
      }
    }
    s.close(s.ctx);
  }
  printf("  %ld rounds, %ld acknowledged commits, store reached batch %lld; in-flight commit "
         "found %ld times, torn tail dropped %ld times, killed mid-compaction %ld times\n",
         rounds, acks, (long long)model_at, in_flight, torn, mid_compaction);
  CHECK_EQ(failures, 0);
  CHECK(model_at > rounds); /* the children made progress */
  fsu_clear(&model);
  fsu_rmtree(dir);
}

int main(void) {
  pc_mem_init(&mem, NULL, NULL, 0);
  signal(SIGPIPE, SIG_IGN);
  TH_RUN(kill9_never_loses_an_acknowledged_commit);
  CHECK_EQ(atomic_load(&mem.used), 0);
  return th_done();
}
