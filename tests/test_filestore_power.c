/*
 * test_filestore_power.c — simulated power loss, through the in-memory env
 * (lib/store/env_mem.c), LevelDB fault-injection style.
 *
 * A small workload (commits of various sizes with values spanning several
 * 512-byte sectors and 4 KiB pages, deletes, an explicit compaction, an
 * automatic one, a close and reopen) runs once per crash point: the env
 * counts every mutating operation (create, write, sync, truncate, rename,
 * unlink, directory sync), and at operation c it freezes a copy of the file
 * system and fails everything after, as if the process had died there.
 * From each frozen copy the test derives the states a power loss could
 * leave: unsynced writes all dropped, all kept, or kept with the last one
 * torn at every 512-byte boundary it spans (zeros or garbage), directory
 * operations since the last directory sync forgotten (all or a prefix);
 * with POND_NOSYNC also a prefix of the unsynced writes, or all but one lost
 * (writeback out of order). Each state must open without error, hold
 * exactly the state after k whole commits with k between the commits that
 * were guaranteed durable and those attempted, leave exactly one log
 * generation, and accept and keep further commits.
 */
#include "harness.h"
#include "store/env_mem.h"
#include "store/filestore.h"
#include "test_filestore_util.h"

#define DIR "/db"
#define NCOMMITS 14

static pc_mem mem;

/* ------------------------------------------------------------ workload */

/* Commit i of the workload. Values of 1..12 KiB cross sector and page
 * boundaries; some commits are many small records; some delete. */
static size_t make_batch(int i, pond_kv *ops, char (*keys)[16], uint8_t *vbuf) {
  static const size_t sizes[NCOMMITS] = {1, 3, 40, 1, 2, 200, 1, 5, 1, 60, 2, 1, 30, 4};
  size_t n = sizes[i];
  uint8_t *v = vbuf;
  for (size_t j = 0; j < n; j++) {
    snprintf(keys[j], 16, "k%02u", (unsigned)((i * 7 + j * 3) % 41));
    size_t vl = j == 0 && i % 3 == 0 ? 1024u * (1 + (unsigned)i) + 77 : 10 + (j * 13 + i) % 90;
    for (size_t b = 0; b < vl; b++) v[b] = (uint8_t)(i * 31 + j * 7 + b);
    int is_del = (i + j) % 6 == 5;
    ops[j] = (pond_kv){keys[j], strlen(keys[j]), is_del ? NULL : v, is_del ? 0 : vl};
    v += vl;
  }
  return n;
}

typedef struct run {
  st_memenv *me;
  long steps;        /* mutating operations so far */
  long crash_at;     /* the operation that "kills the process"; 0: never */
  st_memenv *frozen; /* the file system just before it */
  int dead;
  int attempted, acked, floor; /* commits started, acknowledged, durable */
} run;

static int is_mutation(st_memop op) {
  return op == ST_MEM_CREATE || op == ST_MEM_WRITE || op == ST_MEM_SYNC || op == ST_MEM_PREALLOC ||
         op == ST_MEM_TRUNCATE || op == ST_MEM_RENAME || op == ST_MEM_UNLINK ||
         op == ST_MEM_SYNC_DIR;
}

static int crash_hook(void *arg, st_memop op, const char *path) {
  run *r = arg;
  (void)path;
  if (r->dead) return POND_ESTORAGE;
  if (!is_mutation(op)) return 0;
  if (++r->steps == r->crash_at) {
    r->frozen = st_memenv_clone(r->me);
    r->dead = 1;
    return POND_ESTORAGE;
  }
  return 0;
}

static int open_store(run *r, unsigned flags, pond_storage *s) {
  pc_err e;
  if (st_file_open(&mem, DIR, flags, st_memenv_env(r->me), s, &e)) return -1;
  st_file_tune(s->ctx, 6000, 30); /* small: commits 9..13 trigger one */
  r->floor = r->acked; /* open syncs what it replayed */
  return 0;
}

static int do_commit(run *r, pond_storage *s, int i, unsigned flags) {
  pond_kv ops[200];
  char keys[200][16];
  static uint8_t vbuf[200 * 16384];
  size_t n = make_batch(i, ops, keys, vbuf);
  st_file_stats a, b;
  st_file_stats_get(s->ctx, &a);
  r->attempted = i + 1;
  if (s->commit(s->ctx, ops, n)) return -1;
  r->acked = i + 1;
  st_file_stats_get(s->ctx, &b);
  if (!(flags & POND_NOSYNC) || b.compactions > a.compactions) r->floor = r->acked;
  return r->dead ? -1 : 0;
}

/* Runs the workload until it finishes or the process "dies". */
static void run_workload(run *r, unsigned flags) {
  pond_storage s;
  if (open_store(r, flags, &s)) return;
  int i = 0, ok = 1;
  for (; ok && i < 6; i++) ok = !do_commit(r, &s, i, flags);
  if (ok) {
    pc_err e;
    ok = st_file_compact(s.ctx, &e) == 0 && !r->dead;
    if (ok) r->floor = r->acked;
  }
  for (; ok && i < 9; i++) ok = !do_commit(r, &s, i, flags);
  s.close(s.ctx);
  if (!ok || r->dead) return;
  r->floor = r->acked; /* a clean close syncs */
  if (open_store(r, flags, &s)) return;
  for (ok = 1; ok && i < NCOMMITS; i++) ok = !do_commit(r, &s, i, flags);
  s.close(s.ctx);
  if (ok && !r->dead) r->floor = r->acked;
}

/* ------------------------------------------------------------ checking */

typedef struct verdicts {
  long states, failures;
} verdicts;

static int count_names(st_memenv *me, const char *suffix_a, int *logs, int *tmps) {
  (void)suffix_a;
  *logs = *tmps = 0;
  const uint8_t *p;
  size_t n;
  char name[64];
  /* Generations are small: probe the names directly. */
  for (unsigned g = 0; g < 64; g++) {
    snprintf(name, sizeof name, DIR "/%016x.log", g);
    if ((p = st_memenv_get(me, name, &n)) != NULL) (*logs)++;
    snprintf(name, sizeof name, DIR "/%016x.log.tmp", g);
    if ((p = st_memenv_get(me, name, &n)) != NULL) (*tmps)++;
  }
  return 0;
}

/* Checks one post-crash file system (takes ownership of ce). */
static void verify(st_memenv *ce, const run *r, fsu_model *states, verdicts *v,
                   const char *what) {
  v->states++;
  pond_storage s;
  pc_err e;
  int rc = st_file_open(&mem, DIR, 0, st_memenv_env(ce), &s, &e);
  if (rc) {
    fprintf(stderr, "  %s: open after crash failed: %d %s\n", what, rc, e.msg);
    v->failures++;
    st_memenv_free(ce);
    return;
  }
  fsu_model got = {0};
  int k = -1;
  if (fsu_read(&s, NULL, 0, &got) == 0)
    for (int j = r->floor; j <= r->attempted && k < 0; j++)
      if (fsu_equal(&got, &states[j])) k = j;
  int logs, tmps;
  count_names(ce, ".log", &logs, &tmps);
  if (k < 0 || logs != 1 || tmps != 0) {
    fprintf(stderr,
            "  %s: %zu records match no state in [%d, %d] (k=%d), %d logs, %d tmps\n",
            what, got.n, r->floor, r->attempted, k, logs, tmps);
    v->failures++;
  } else {
    /* The recovered store takes more commits, and keeps them. */
    pond_kv extra = {"zz-extra", 8, "after the crash", 15};
    fsu_model want = {0};
    fsu_copy(&want, &states[k]);
    fsu_apply_ops(&want, &extra, 1);
    if (s.commit(s.ctx, &extra, 1) != 0) {
      v->failures++;
    } else {
      s.close(s.ctx);
      s.ctx = NULL;
      if (st_file_open(&mem, DIR, 0, st_memenv_env(ce), &s, &e) || !fsu_matches(&s, &want)) {
        fprintf(stderr, "  %s: commit after recovery was not kept\n", what);
        v->failures++;
      }
    }
    fsu_clear(&want);
  }
  if (s.ctx) s.close(s.ctx);
  fsu_clear(&got);
  st_memenv_free(ce);
}

typedef struct tear_pts {
  uint64_t at[512];
  int n;
} tear_pts;

/* The 512-byte boundaries inside each file's last unsynced write. */
static void tear_points(const st_memenv *fz, tear_pts *t) {
  t->n = 0;
  char name[64];
  for (unsigned g = 0; g < 64; g++) {
    for (int tmp = 0; tmp < 2; tmp++) {
      snprintf(name, sizeof name, DIR "/%016x.log%s", g, tmp ? ".tmp" : "");
      size_t np = st_memenv_pending(fz, name);
      if (!np) continue;
      uint64_t off, len;
      st_memenv_pending_at(fz, name, np - 1, &off, &len);
      for (uint64_t b = (off / 512 + 1) * 512; b < off + len && t->n < 512; b += 512)
        t->at[t->n++] = b;
    }
  }
}

static void check_frozen(const st_memenv *fz, const run *r, fsu_model *states, unsigned flags,
                         verdicts *v) {
  long nd = (long)st_memenv_dir_pending(fz);
  tear_pts t;
  tear_points(fz, &t);
  char what[160];
  for (long d = 0; d <= nd; d++) {
    st_crash base = {d, -1, -1, 0, 0};
    st_crash c = base;
    snprintf(what, sizeof what, "crash@%ld dir_ops=%ld all writes", r->crash_at, d);
    verify(st_memenv_crash(fz, &c), r, states, v, what);
    c.writes = 0;
    snprintf(what, sizeof what, "crash@%ld dir_ops=%ld no unsynced writes", r->crash_at, d);
    verify(st_memenv_crash(fz, &c), r, states, v, what);
    if (d != 0 && d != nd) continue;
    for (int i = 0; i < t.n; i++)
      for (int g = 0; g < 2; g++) {
        c = base;
        c.tear_at = t.at[i];
        c.garbage = g;
        snprintf(what, sizeof what, "crash@%ld dir_ops=%ld torn at %llu (%s)", r->crash_at, d,
                 (unsigned long long)t.at[i], g ? "garbage" : "zeros");
        verify(st_memenv_crash(fz, &c), r, states, v, what);
      }
    if (!(flags & POND_NOSYNC)) continue;
    for (long k = 1; k < 8; k++) {
      c = base;
      c.writes = k;
      snprintf(what, sizeof what, "crash@%ld dir_ops=%ld first %ld writes", r->crash_at, d, k);
      verify(st_memenv_crash(fz, &c), r, states, v, what);
      c = base;
      c.lose = k - 1;
      snprintf(what, sizeof what, "crash@%ld dir_ops=%ld write %ld lost", r->crash_at, d, k - 1);
      verify(st_memenv_crash(fz, &c), r, states, v, what);
    }
  }
}

static void model_states(fsu_model *states) {
  pond_kv ops[200];
  char keys[200][16];
  static uint8_t vbuf[200 * 16384];
  for (int i = 0; i < NCOMMITS; i++) {
    fsu_copy(&states[i + 1], &states[i]);
    size_t n = make_batch(i, ops, keys, vbuf);
    fsu_apply_ops(&states[i + 1], ops, n);
  }
}

static void crash_everywhere(unsigned flags) {
  fsu_model states[NCOMMITS + 1];
  memset(states, 0, sizeof states);
  model_states(states);
  /* A run without a crash tells how many operations there are. */
  run r0 = {st_memenv_new(&mem), 0, 0, NULL, 0, 0, 0, 0};
  st_memenv_set_hook(r0.me, crash_hook, &r0);
  run_workload(&r0, flags);
  CHECK_EQ(r0.acked, NCOMMITS);
  long total = r0.steps;
  st_memenv_free(r0.me);
  verdicts v = {0, 0};
  for (long c = 1; c <= total + 1 && v.failures < 5; c++) {
    run r = {st_memenv_new(&mem), 0, c, NULL, 0, 0, 0, 0};
    st_memenv_set_hook(r.me, crash_hook, &r);
    run_workload(&r, flags);
    if (!r.frozen) r.frozen = st_memenv_clone(r.me); /* c past the end */
    check_frozen(r.frozen, &r, states, flags, &v);
    st_memenv_free(r.frozen);
    st_memenv_free(r.me);
  }
  printf("  %ld crash points, %ld post-crash states checked, %ld failed\n", total + 1, v.states,
         v.failures);
  CHECK_EQ(v.failures, 0);
  CHECK(v.states > total * 3);
  for (int i = 0; i <= NCOMMITS; i++) fsu_clear(&states[i]);
}

static void power_loss_at_every_step_keeps_every_acknowledged_commit(void) {
  crash_everywhere(0);
}

static void power_loss_with_nosync_leaves_a_whole_prefix_of_commits(void) {
  crash_everywhere(POND_NOSYNC);
}

/* The workload really does exercise what the test claims: it compacts
 * explicitly and automatically and writes values spanning several pages. */
static void workload_covers_compaction_and_multi_page_writes(void) {
  run r = {st_memenv_new(&mem), 0, 0, NULL, 0, 0, 0, 0};
  pond_storage s;
  REQ(open_store(&r, 0, &s) == 0);
  long compactions = 0;
  size_t big = 0;
  for (int i = 0; i < NCOMMITS; i++) {
    pond_kv ops[200];
    char keys[200][16];
    static uint8_t vbuf[200 * 16384];
    size_t n = make_batch(i, ops, keys, vbuf);
    for (size_t j = 0; j < n; j++)
      if (ops[j].vlen > big) big = ops[j].vlen;
    REQ(s.commit(s.ctx, ops, n) == 0);
    st_file_stats st;
    st_file_stats_get(s.ctx, &st);
    compactions = (long)st.compactions;
  }
  CHECK(compactions >= 1); /* automatic, without the explicit one */
  CHECK(big > 3 * 4096);
  s.close(s.ctx);
  st_memenv_free(r.me);
}

static int all_fail(void *arg, st_memop op, const char *path) {
  (void)arg;
  (void)op;
  (void)path;
  return POND_ESTORAGE;
}

/* A POND_NOSYNC writer is killed (its unsynced batches stay in the page
 * cache), a new process opens the store and commits, then the power fails.
 * The batches replayed from the page cache must have been synced by that
 * open before new batches were marked ANCHORED; otherwise losing one of them
 * would look like corruption. Every loss pattern must open cleanly. */
static void process_crash_then_power_loss_with_nosync_opens_cleanly(void) {
  fsu_model states[NCOMMITS + 1];
  memset(states, 0, sizeof states);
  model_states(states);
  st_memenv *me = st_memenv_new(&mem);
  pond_storage s;
  pc_err e;
  REQ(st_file_open(&mem, DIR, POND_NOSYNC, st_memenv_env(me), &s, &e) == 0);
  st_file_tune(s.ctx, 0, 0);
  pond_kv ops[200];
  char keys[200][16];
  static uint8_t vbuf[200 * 16384];
  for (int i = 0; i < 4; i++) {
    size_t n = make_batch(i, ops, keys, vbuf);
    REQ(s.commit(s.ctx, ops, n) == 0);
  }
  st_memenv_set_hook(me, all_fail, NULL); /* killed: close cannot seal */
  s.close(s.ctx);
  st_memenv_set_hook(me, NULL, NULL);
  REQ(st_file_open(&mem, DIR, POND_NOSYNC, st_memenv_env(me), &s, &e) == 0);
  for (int i = 4; i < 7; i++) {
    size_t n = make_batch(i, ops, keys, vbuf);
    REQ(s.commit(s.ctx, ops, n) == 0);
  }
  st_memenv *fz = st_memenv_clone(me);
  s.close(s.ctx);
  run r = {NULL, 0, 0, NULL, 0, 7, 7, 4};
  verdicts v = {0, 0};
  char what[64];
  for (long k = -1; k < 6; k++) {
    st_crash c = {-1, k, -1, 0, 0};
    snprintf(what, sizeof what, "first %ld writes", k);
    verify(st_memenv_crash(fz, &c), &r, states, &v, what);
    c.writes = -1;
    c.lose = k;
    snprintf(what, sizeof what, "write %ld lost", k);
    verify(st_memenv_crash(fz, &c), &r, states, &v, what);
  }
  CHECK_EQ(v.failures, 0);
  st_memenv_free(fz);
  st_memenv_free(me);
  for (int i = 0; i <= NCOMMITS; i++) fsu_clear(&states[i]);
}

int main(void) {
  pc_mem_init(&mem, NULL, NULL, 0);
  TH_RUN(workload_covers_compaction_and_multi_page_writes);
  TH_RUN(power_loss_at_every_step_keeps_every_acknowledged_commit);
  TH_RUN(power_loss_with_nosync_leaves_a_whole_prefix_of_commits);
  TH_RUN(process_crash_then_power_loss_with_nosync_opens_cleanly);
  CHECK_EQ(atomic_load(&mem.used), 0);
  return th_done();
}
