/*
 * test_filestore.c — the embedded file store through its pond_storage
 * vtable: reads and writes, scan order and prefixes, reopening, locking,
 * large batches and values, compaction, limits and misuse, allocation and
 * I/O failures; and CRC-32C. Crash, power-loss and corruption behaviour
 * have their own files (test_filestore_crash.c, _power.c, _corrupt.c).
 */
#include <signal.h>
#include <sys/wait.h>

#include "core/crc32c.h"
#include "harness.h"
#include "store/env_mem.h"
#include "store/filestore.h"
#include "test_filestore_util.h"

static pc_mem mem;

static int open_dir(const char *dir, unsigned flags, pond_storage *s) {
  pc_err e;
  pc_err_clear(&e);
  int rc = st_file_open(&mem, dir, flags, NULL, s, &e);
  if (rc && rc != POND_EBUSY) fprintf(stderr, "  open: %s\n", e.msg);
  return rc;
}

static pond_kv put(const char *k, const char *v) {
  return (pond_kv){k, strlen(k), v, strlen(v)};
}
static pond_kv del(const char *k) { return (pond_kv){k, strlen(k), NULL, 0}; }

/* ------------------------------------------------------------- crc32c */

static void crc32c_matches_known_vectors(void) {
  CHECK_EQ(pc_crc32c(0, "123456789", 9), 0xE3069283u);
  CHECK_EQ(pc_crc32c_portable(0, "123456789", 9), 0xE3069283u);
  CHECK_EQ(pc_crc32c(0, "", 0), 0);
  uint8_t b[32];
  /* RFC 3720 (iSCSI) B.4 test vectors. */
  memset(b, 0, sizeof b);
  CHECK_EQ(pc_crc32c(0, b, 32), 0x8A9136AAu);
  CHECK_EQ(pc_crc32c_portable(0, b, 32), 0x8A9136AAu);
  memset(b, 0xff, sizeof b);
  CHECK_EQ(pc_crc32c(0, b, 32), 0x62A8AB43u);
  for (int i = 0; i < 32; i++) b[i] = (uint8_t)i;
  CHECK_EQ(pc_crc32c(0, b, 32), 0x46DD794Eu);
  CHECK_EQ(pc_crc32c_portable(0, b, 32), 0x46DD794Eu);
  for (int i = 0; i < 32; i++) b[i] = (uint8_t)(31 - i);
  CHECK_EQ(pc_crc32c(0, b, 32), 0x113FDB5Cu);
}

static void crc32c_hardware_portable_and_chained_agree(void) {
  uint64_t s = th_seed(11);
  uint8_t buf[4096 + 16];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)th_rand(&s);
  printf("  crc32c hardware path: %s\n", pc_crc32c_hw() ? "yes" : "no");
  for (int t = 0; t < 2000; t++) {
    size_t off = th_rand(&s) % 16, n = th_rand(&s) % 4096, cut = n ? th_rand(&s) % n : 0;
    uint32_t a = pc_crc32c(0, buf + off, n);
    uint32_t b = pc_crc32c_portable(0, buf + off, n);
    uint32_t c = pc_crc32c(pc_crc32c(0, buf + off, cut), buf + off + cut, n - cut);
    uint32_t d = pc_crc32c_portable(pc_crc32c(0, buf + off, cut), buf + off + cut, n - cut);
    if (a != b || a != c || a != d) {
      CHECK(0);
      fprintf(stderr, "  off %zu n %zu cut %zu\n", off, n, cut);
      break;
    }
  }
}

/* -------------------------------------------------------- basic usage */

static void put_get_delete_through_the_vtable(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s;
  REQ(open_dir(dir, 0, &s) == POND_OK);
  CHECK_EQ(s.version, POND_STORAGE_V1);
  CHECK(s.errmsg != NULL && s.close != NULL);
  fsu_model want = {0}, got = {0};
  pond_kv a[] = {put("b", "2"), put("a", "1"), put("c", "3")};
  CHECK_EQ(s.commit(s.ctx, a, 3), 0);
  fsu_apply_ops(&want, a, 3);
  CHECK(fsu_matches(&s, &want));
  pond_kv b[] = {del("b"), put("a", "one"), del("zz")};
  CHECK_EQ(s.commit(s.ctx, b, 3), 0);
  fsu_apply_ops(&want, b, 3);
  CHECK(fsu_matches(&s, &want));
  CHECK_EQ(fsu_read(&s, "a", 1, &got), 0);
  CHECK_EQ(got.n, 1);
  CHECK(got.n == 1 && got.e[0].vl == 3 && !memcmp(got.e[0].v, "one", 3));
  CHECK_EQ(s.commit(s.ctx, NULL, 0), 0); /* an empty commit is a no-op */
  s.close(s.ctx);
  fsu_clear(&want);
  fsu_clear(&got);
  fsu_rmtree(dir);
  CHECK_EQ(atomic_load(&mem.used), 0);
}

static void empty_value_is_stored_not_deleted(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s;
  REQ(open_dir(dir, 0, &s) == POND_OK);
  pond_kv a[] = {{"k", 1, "", 0}, {"", 0, "empty key", 9}};
  CHECK_EQ(s.commit(s.ctx, a, 2), 0);
  fsu_model got = {0};
  CHECK_EQ(fsu_read(&s, NULL, 0, &got), 0);
  CHECK_EQ(got.n, 2);
  CHECK(got.n == 2 && got.e[0].kl == 0 && got.e[1].kl == 1 && got.e[1].vl == 0);
  s.close(s.ctx);
  REQ(open_dir(dir, 0, &s) == POND_OK);
  fsu_model again = {0};
  CHECK_EQ(fsu_read(&s, NULL, 0, &again), 0);
  CHECK(fsu_equal(&got, &again));
  s.close(s.ctx);
  fsu_clear(&got);
  fsu_clear(&again);
  fsu_rmtree(dir);
}

static void later_op_on_same_key_in_one_batch_wins(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s;
  REQ(open_dir(dir, 0, &s) == POND_OK);
  pond_kv a[] = {put("k", "1"), put("k", "2"), del("j"), put("j", "x"),
                 put("d", "1"), del("d"),      del("k"), put("k", "3")};
  CHECK_EQ(s.commit(s.ctx, a, 8), 0);
  fsu_model want = {0};
  fsu_apply_ops(&want, a, 8);
  CHECK_EQ(want.n, 2);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  REQ(open_dir(dir, 0, &s) == POND_OK);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  fsu_clear(&want);
  fsu_rmtree(dir);
}

/* Keys chosen to stress ordering: shared 8- and 16-byte prefixes (the
 * index sorts on 8-byte prefixes, then the next 8 bytes), zero bytes that
 * look like padding, 0xff bytes, keys that are prefixes of others, and
 * pond-like keys (a namespace byte and a big-endian id). */
static size_t tricky_key(uint64_t *s, uint8_t *k) {
  size_t n;
  switch (th_rand(s) % 6) {
    case 0: /* 'c' + big-endian id */
      {
        uint64_t id = th_rand(s) % 5000;
        k[0] = 'c';
        for (int i = 0; i < 8; i++) k[1 + i] = (uint8_t)(id >> (56 - 8 * i));
      }
      return 9;
    case 1: /* long shared prefix, differing late */
      n = 16 + th_rand(s) % 12;
      memset(k, 'p', n);
      k[n - 1 - th_rand(s) % 4] = (uint8_t)th_rand(s);
      return n;
    case 2: /* zeros and 0xff */
      n = th_rand(s) % 12;
      for (size_t i = 0; i < n; i++) k[i] = th_rand(s) & 1 ? 0 : 0xff;
      return n;
    case 3: /* short ASCII */
      n = 1 + th_rand(s) % 3;
      for (size_t i = 0; i < n; i++) k[i] = (uint8_t)('a' + th_rand(s) % 3);
      return n;
    case 4: /* 8 bytes then a tail of zeros */
      n = 8 + th_rand(s) % 10;
      memset(k, 0, n);
      k[0] = 'z';
      k[7] = (uint8_t)(th_rand(s) % 3);
      return n;
    default: /* random bytes */
      n = th_rand(s) % 40;
      for (size_t i = 0; i < n; i++) k[i] = (uint8_t)th_rand(s);
      return n;
  }
}

static void scan_yields_ascending_byte_order_and_exact_prefixes(void) {
  uint64_t seed = th_seed(21);
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s;
  REQ(open_dir(dir, POND_NOSYNC, &s) == POND_OK);
  fsu_model want = {0}, got = {0}, pw = {0};
  uint8_t keys[64][48], val[32];
  pond_kv ops[64];
  for (int round = 0; round < 60; round++) {
    size_t n = 1 + th_rand(&seed) % 64;
    for (size_t i = 0; i < n; i++) {
      size_t kl = tricky_key(&seed, keys[i]);
      size_t vl = th_rand(&seed) % sizeof val;
      for (size_t j = 0; j < vl; j++) val[j] = (uint8_t)th_rand(&seed);
      int d = th_rand(&seed) % 5 == 0;
      ops[i] = (pond_kv){keys[i], kl, d ? NULL : fsu_dup(val, vl), vl};
    }
    CHECK_EQ(s.commit(s.ctx, ops, n), 0);
    fsu_apply_ops(&want, ops, n);
    for (size_t i = 0; i < n; i++) free((void *)ops[i].val);
    if (round % 7 == 0) {
      CHECK(fsu_matches(&s, &want));
      /* Prefixes: of existing keys, cut anywhere, and random ones. */
      for (int p = 0; p < 20; p++) {
        uint8_t pre[48];
        size_t pl;
        if (want.n && p % 2) {
          const fsu_kv *e = &want.e[th_rand(&seed) % want.n];
          pl = e->kl ? th_rand(&seed) % (e->kl + 1) : 0;
          memcpy(pre, e->k, pl);
        } else {
          pl = tricky_key(&seed, pre) % 4;
        }
        fsu_prefix(&want, pre, pl, &pw);
        int rc = fsu_read(&s, pre, pl, &got);
        CHECK_EQ(rc, 0);
        if (!fsu_equal(&got, &pw)) {
          CHECK(0);
          fprintf(stderr, "  prefix of %zu bytes: got %zu want %zu\n", pl, got.n, pw.n);
          break;
        }
      }
    }
    if (round == 30) { /* reopen halfway: replay must rebuild the same order */
      s.close(s.ctx);
      REQ(open_dir(dir, POND_NOSYNC, &s) == POND_OK);
    }
  }
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  fsu_clear(&want);
  fsu_clear(&got);
  fsu_clear(&pw);
  fsu_rmtree(dir);
}

static int stop_at_third(void *arg, const pond_kv *kv) {
  (void)kv;
  return ++*(int *)arg == 3 ? 42 : 0;
}

static void scan_stops_with_the_callbacks_value(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s;
  REQ(open_dir(dir, 0, &s) == POND_OK);
  pond_kv a[] = {put("a", "1"), put("b", "2"), put("c", "3"), put("d", "4")};
  CHECK_EQ(s.commit(s.ctx, a, 4), 0);
  int calls = 0;
  CHECK_EQ(s.scan(s.ctx, NULL, 0, stop_at_third, &calls), 42);
  CHECK_EQ(calls, 3);
  s.close(s.ctx);
  fsu_rmtree(dir);
}

typedef struct reenter {
  pond_storage *s;
  int commit_rc, scan_rc, compact_rc;
} reenter;

static int noop_each(void *arg, const pond_kv *kv) {
  (void)arg;
  (void)kv;
  return 0;
}

static int reenter_each(void *arg, const pond_kv *kv) {
  reenter *r = arg;
  (void)kv;
  pond_kv op = put("x", "y");
  pc_err e;
  r->commit_rc = r->s->commit(r->s->ctx, &op, 1);
  r->scan_rc = r->s->scan(r->s->ctx, NULL, 0, noop_each, NULL);
  r->compact_rc = st_file_compact(r->s->ctx, &e);
  return 0;
}

static void commit_or_compact_inside_a_scan_is_misuse(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s;
  REQ(open_dir(dir, 0, &s) == POND_OK);
  pond_kv a = put("a", "1");
  CHECK_EQ(s.commit(s.ctx, &a, 1), 0);
  reenter r = {&s, 0, 0, 0};
  CHECK_EQ(s.scan(s.ctx, NULL, 0, reenter_each, &r), 0);
  CHECK_EQ(r.commit_rc, POND_EMISUSE);
  CHECK_EQ(r.scan_rc, POND_EMISUSE);
  CHECK_EQ(r.compact_rc, POND_EMISUSE);
  CHECK_HAS(s.errmsg(s.ctx), "scan");
  fsu_model want = {0};
  fsu_apply_ops(&want, &a, 1);
  CHECK(fsu_matches(&s, &want)); /* the refused commit left nothing */
  s.close(s.ctx);
  fsu_clear(&want);
  fsu_rmtree(dir);
}

static void oversized_key_or_value_is_elimit_and_changes_nothing(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s;
  REQ(open_dir(dir, 0, &s) == POND_OK);
  size_t big = 65536;
  char *k = calloc(1, big);
  pond_kv a[] = {put("ok", "1"), {k, big, "v", 1}};
  CHECK_EQ(s.commit(s.ctx, a, 2), POND_ELIMIT);
  CHECK_HAS(s.errmsg(s.ctx), "key of 65536 bytes");
  pond_kv b[] = {put("ok", "1"), {k, 65535, "v", 1}}; /* the limit itself is fine */
  CHECK_EQ(s.commit(s.ctx, b, 2), 0);
  pond_kv c[] = {{"v", 1, k, (size_t)1 << 30 | 1}};
  CHECK_EQ(s.commit(s.ctx, c, 1), POND_ELIMIT); /* rejected before reading val */
  pond_kv d[] = {{NULL, 3, "v", 1}};
  CHECK_EQ(s.commit(s.ctx, d, 1), POND_EINVAL);
  fsu_model want = {0};
  fsu_apply_ops(&want, b, 2);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  free(k);
  fsu_clear(&want);
  fsu_rmtree(dir);
}

/* ------------------------------------------------------- persistence */

static void reopen_restores_every_committed_batch(void) {
  uint64_t seed = th_seed(31);
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  fsu_model want = {0};
  for (int session = 0; session < 5; session++) {
    pond_storage s;
    REQ(open_dir(dir, 0, &s) == POND_OK);
    CHECK(fsu_matches(&s, &want));
    for (int c = 0; c < 20; c++) {
      pond_kv ops[10];
      char keys[10][32], vals[10][64];
      size_t n = 1 + th_rand(&seed) % 10;
      for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "k%03u", (unsigned)(th_rand(&seed) % 200));
        snprintf(vals[i], sizeof vals[i], "v%llu-%d", (unsigned long long)th_rand(&seed), c);
        ops[i] = th_rand(&seed) % 4 ? put(keys[i], vals[i]) : del(keys[i]);
      }
      CHECK_EQ(s.commit(s.ctx, ops, n), 0);
      fsu_apply_ops(&want, ops, n);
    }
    s.close(s.ctx);
  }
  fsu_clear(&want);
  fsu_rmtree(dir);
}

static void second_opener_gets_ebusy_in_this_and_another_process(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s, t;
  REQ(open_dir(dir, 0, &s) == POND_OK);
  pc_err e;
  CHECK_EQ(st_file_open(&mem, dir, 0, NULL, &t, &e), POND_EBUSY);
  CHECK_HAS(e.msg, "locked");
  fflush(NULL);
  pid_t pid = fork();
  REQ(pid >= 0);
  if (pid == 0) {
    pc_mem cm;
    pc_mem_init(&cm, NULL, NULL, 0);
    pond_storage c;
    pc_err ce;
    int rc = st_file_open(&cm, dir, 0, NULL, &c, &ce);
    _exit(rc == POND_EBUSY ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  s.close(s.ctx);
  /* Closing releases the lock. */
  REQ(open_dir(dir, 0, &t) == POND_OK);
  t.close(t.ctx);
  fsu_rmtree(dir);
}

static void big_batch_of_100k_records_commits_and_reopens(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s;
  REQ(open_dir(dir, 0, &s) == POND_OK);
  size_t n = 100000;
  pond_kv *ops = malloc(n * sizeof *ops);
  uint8_t (*keys)[9] = malloc(n * 9);
  char val[30];
  memset(val, 'v', sizeof val);
  for (size_t i = 0; i < n; i++) {
    uint64_t id = (i * 7919) % n; /* not in key order */
    keys[i][0] = 'c';
    for (int b = 0; b < 8; b++) keys[i][1 + b] = (uint8_t)(id >> (56 - 8 * b));
    ops[i] = (pond_kv){keys[i], 9, val, sizeof val};
  }
  CHECK_EQ(s.commit(s.ctx, ops, n), 0);
  fsu_model want = {0};
  fsu_apply_ops(&want, ops, n);
  CHECK(fsu_matches(&s, &want));
  st_file_stats st;
  st_file_stats_get(s.ctx, &st);
  CHECK_EQ(st.live, n);
  CHECK_EQ(st.garbage_bytes, 32); /* one frame */
  s.close(s.ctx);
  REQ(open_dir(dir, 0, &s) == POND_OK);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  free(ops);
  free(keys);
  fsu_clear(&want);
  fsu_rmtree(dir);
}

static void values_larger_than_a_scan_window_round_trip(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s;
  REQ(open_dir(dir, 0, &s) == POND_OK);
  size_t big = (3u << 20) + 17;
  uint8_t *v = malloc(big);
  uint64_t x = 5;
  for (size_t i = 0; i < big; i++) v[i] = (uint8_t)th_rand(&x);
  pond_kv a[] = {{"big1", 4, v, big}, put("small", "s"), {"big2", 4, v + 1, big - 1}};
  CHECK_EQ(s.commit(s.ctx, a, 3), 0);
  fsu_model want = {0};
  fsu_apply_ops(&want, a, 3);
  CHECK(fsu_matches(&s, &want));
  pc_err e;
  CHECK_EQ(st_file_compact(s.ctx, &e), 0);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  REQ(open_dir(dir, 0, &s) == POND_OK);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  free(v);
  fsu_clear(&want);
  fsu_rmtree(dir);
}

/* --------------------------------------------------------- compaction */

static int count_logs(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL)
    if (strstr(e->d_name, ".log")) n++;
  if (d) closedir(d);
  return n;
}

static void explicit_compaction_keeps_content_and_drops_garbage(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s;
  REQ(open_dir(dir, POND_NOSYNC, &s) == POND_OK);
  st_file_tune(s.ctx, 0, 0); /* no automatic compaction here */
  fsu_model want = {0};
  for (int round = 0; round < 50; round++) {
    pond_kv ops[100];
    char keys[100][16], vals[100][40];
    for (int i = 0; i < 100; i++) {
      snprintf(keys[i], sizeof keys[i], "key%04d", (i * 37 + round) % 500);
      snprintf(vals[i], sizeof vals[i], "value-%d-%d", round, i);
      ops[i] = (i + round) % 9 == 0 ? del(keys[i]) : put(keys[i], vals[i]);
    }
    CHECK_EQ(s.commit(s.ctx, ops, 100), 0);
    fsu_apply_ops(&want, ops, 100);
  }
  st_file_stats a, b;
  st_file_stats_get(s.ctx, &a);
  CHECK(a.garbage_bytes > a.live_bytes);
  pc_err e;
  CHECK_EQ(st_file_compact(s.ctx, &e), 0);
  st_file_stats_get(s.ctx, &b);
  CHECK_EQ(b.generation, a.generation + 1);
  CHECK_EQ(b.live, a.live);
  CHECK_EQ(b.live_bytes, a.live_bytes);
  CHECK(b.log_bytes < a.log_bytes / 4);
  CHECK(b.garbage_bytes < 64);
  CHECK_EQ(count_logs(dir), 1);
  CHECK(fsu_matches(&s, &want));
  /* Writes after compaction land in the new generation and survive. */
  pond_kv more[] = {put("after", "compaction"), del("key0001")};
  CHECK_EQ(s.commit(s.ctx, more, 2), 0);
  fsu_apply_ops(&want, more, 2);
  s.close(s.ctx);
  REQ(open_dir(dir, 0, &s) == POND_OK);
  CHECK(fsu_matches(&s, &want));
  st_file_stats_get(s.ctx, &b);
  CHECK_EQ(b.generation, a.generation + 1);
  /* Compacting an empty store works too. */
  fsu_model none = {0};
  pond_kv *dels = malloc(want.n * sizeof *dels);
  for (size_t i = 0; i < want.n; i++) dels[i] = (pond_kv){want.e[i].k, want.e[i].kl, NULL, 0};
  CHECK_EQ(s.commit(s.ctx, dels, want.n), 0);
  free(dels);
  CHECK_EQ(st_file_compact(s.ctx, &e), 0);
  CHECK(fsu_matches(&s, &none));
  st_file_stats_get(s.ctx, &b);
  CHECK_EQ(b.log_bytes, 40);
  s.close(s.ctx);
  REQ(open_dir(dir, 0, &s) == POND_OK);
  CHECK(fsu_matches(&s, &none));
  s.close(s.ctx);
  fsu_clear(&want);
  fsu_rmtree(dir);
}

static void automatic_compaction_runs_when_garbage_passes_threshold(void) {
  char dir[512];
  REQ(fsu_tmpdir(dir, sizeof dir) == 0);
  pond_storage s;
  REQ(open_dir(dir, POND_NOSYNC, &s) == POND_OK);
  st_file_tune(s.ctx, 4096, 50);
  fsu_model want = {0};
  char vals[20][64];
  uint64_t max_log = 0;
  for (int round = 0; round < 400; round++) {
    pond_kv ops[20];
    char keys[20][16];
    for (int i = 0; i < 20; i++) {
      snprintf(keys[i], sizeof keys[i], "k%02d", i);
      snprintf(vals[i], sizeof vals[i], "%d-%d-padding-padding-padding", round, i);
      ops[i] = put(keys[i], vals[i]);
    }
    CHECK_EQ(s.commit(s.ctx, ops, 20), 0);
    fsu_apply_ops(&want, ops, 20);
    st_file_stats st;
    st_file_stats_get(s.ctx, &st);
    if (st.log_bytes > max_log) max_log = st.log_bytes;
  }
  st_file_stats st;
  st_file_stats_get(s.ctx, &st);
  CHECK(st.compactions >= 10);
  CHECK_EQ(st.compact_failures, 0);
  CHECK(max_log < 4 * 4096 + 8192); /* bounded by the threshold, not the history */
  CHECK(fsu_matches(&s, &want));
  CHECK_EQ(count_logs(dir), 1);
  s.close(s.ctx);
  REQ(open_dir(dir, 0, &s) == POND_OK);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  fsu_clear(&want);
  fsu_rmtree(dir);
}

/* ------------------------------------------- randomized, in-memory env */

/* Random batches, deletes, scans, reopens and compactions against the
 * model, on the in-memory env (fast enough for many operations). */
static void random_operations_match_a_model(void) {
  uint64_t seed = th_seed(41);
  st_memenv *me = st_memenv_new(&mem);
  REQ(me != NULL);
  fsu_model want = {0}, got = {0}, pw = {0};
  pond_storage s;
  pc_err e;
  REQ(st_file_open(&mem, "/db", POND_NOSYNC, st_memenv_env(me), &s, &e) == 0);
  st_file_tune(s.ctx, 2048, 40);
  uint8_t keys[200][48], vals[200][80];
  long reopens = 0, compactions = 0;
  for (int step = 0; step < 3000; step++) {
    unsigned what = (unsigned)(th_rand(&seed) % 100);
    if (what < 80) {
      size_t n = 1 + th_rand(&seed) % (th_rand(&seed) % 8 ? 8 : 200);
      pond_kv ops[200];
      for (size_t i = 0; i < n; i++) {
        size_t kl = th_rand(&seed) % 3 ? tricky_key(&seed, keys[i]) : 0;
        if (!kl && want.n) { /* often touch an existing key */
          const fsu_kv *x = &want.e[th_rand(&seed) % want.n];
          memcpy(keys[i], x->k, x->kl);
          kl = x->kl;
        }
        size_t vl = th_rand(&seed) % sizeof vals[i];
        for (size_t j = 0; j < vl; j++) vals[i][j] = (uint8_t)th_rand(&seed);
        ops[i] = (pond_kv){keys[i], kl, th_rand(&seed) % 4 ? vals[i] : NULL, vl};
      }
      int rc = s.commit(s.ctx, ops, n);
      CHECK_EQ(rc, 0);
      if (rc) break;
      fsu_apply_ops(&want, ops, n);
    } else if (what < 90) {
      uint8_t pre[48];
      size_t pl = tricky_key(&seed, pre) % 3;
      fsu_prefix(&want, pre, pl, &pw);
      CHECK_EQ(fsu_read(&s, pre, pl, &got), 0);
      if (!fsu_equal(&got, &pw)) {
        CHECK(0);
        break;
      }
    } else if (what < 95) {
      s.close(s.ctx);
      REQ(st_file_open(&mem, "/db", POND_NOSYNC, st_memenv_env(me), &s, &e) == 0);
      st_file_tune(s.ctx, 2048, 40);
      reopens++;
    } else {
      CHECK_EQ(st_file_compact(s.ctx, &e), 0);
      compactions++;
    }
  }
  CHECK(fsu_matches(&s, &want));
  st_file_stats st;
  st_file_stats_get(s.ctx, &st);
  printf("  %zu live keys, %ld reopens, %ld explicit compactions, generation %llu\n",
         want.n, reopens, compactions, (unsigned long long)st.generation);
  s.close(s.ctx);
  st_memenv_free(me);
  fsu_clear(&want);
  fsu_clear(&got);
  fsu_clear(&pw);
}

/* --------------------------------------------------------- failures */

/* For every k, fail the k-th allocation of a commit: it must return
 * POND_ENOMEM and change nothing, and the store must work afterwards. */
static void allocation_failure_at_every_point_of_commit_changes_nothing(void) {
  fsu_alloc fa = {0, 0};
  pc_mem fm;
  pc_mem_init(&fm, fsu_alloc_fn, &fa, 0);
  st_memenv *me = st_memenv_new(&mem);
  pond_storage s;
  pc_err e;
  REQ(st_file_open(&fm, "/db", 0, st_memenv_env(me), &s, &e) == 0);
  fsu_model want = {0};
  long failures = 0;
  for (int round = 0; round < 40; round++) {
    char keys[300][16], vals[300][16];
    pond_kv ops[300];
    size_t n = round % 10 == 9 ? 300 : 1 + (size_t)round % 7;
    for (size_t i = 0; i < n; i++) {
      snprintf(keys[i], sizeof keys[i], "k%04d", (int)((i * 31 + (size_t)round * 17) % 900));
      snprintf(vals[i], sizeof vals[i], "%d", round);
      ops[i] = i % 5 == 4 ? del(keys[i]) : put(keys[i], vals[i]);
    }
    for (long k = 1;; k++) {
      fa.calls = 0;
      fa.fail_at = k;
      int rc = s.commit(s.ctx, ops, n);
      fa.fail_at = 0;
      if (rc == 0) break;
      CHECK_EQ(rc, POND_ENOMEM);
      failures++;
      if (!fsu_matches(&s, &want)) {
        CHECK(0);
        break;
      }
    }
    fsu_apply_ops(&want, ops, n);
    CHECK(fsu_matches(&s, &want));
  }
  printf("  %ld injected allocation failures\n", failures);
  CHECK(failures > 40);
  s.close(s.ctx);
  CHECK_EQ(atomic_load(&fm.used), 0);
  /* Reopen from the log equals the last successful commit. */
  REQ(st_file_open(&mem, "/db", 0, st_memenv_env(me), &s, &e) == 0);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  st_memenv_free(me);
  fsu_clear(&want);
}

/* For every k, fail the k-th allocation of an open (of a log with
 * deletes, overwrites and two generations' worth of history). */
static void allocation_failure_during_open_is_enomem_without_leaks(void) {
  st_memenv *me = st_memenv_new(&mem);
  pond_storage s;
  pc_err e;
  REQ(st_file_open(&mem, "/db", 0, st_memenv_env(me), &s, &e) == 0);
  fsu_model want = {0};
  for (int r = 0; r < 30; r++) {
    char keys[5][8];
    pond_kv ops[5];
    for (int i = 0; i < 5; i++) {
      snprintf(keys[i], sizeof keys[i], "k%d", (r * 3 + i) % 17);
      ops[i] = (r + i) % 4 ? put(keys[i], "value") : del(keys[i]);
    }
    REQ(s.commit(s.ctx, ops, 5) == 0);
    fsu_apply_ops(&want, ops, 5);
    if (r == 15) REQ(st_file_compact(s.ctx, &e) == 0);
  }
  s.close(s.ctx);
  fsu_alloc fa = {0, 0};
  pc_mem fm;
  pc_mem_init(&fm, fsu_alloc_fn, &fa, 0);
  long k;
  for (k = 1;; k++) {
    fa.calls = 0;
    fa.fail_at = k;
    int rc = st_file_open(&fm, "/db", 0, st_memenv_env(me), &s, &e);
    fa.fail_at = 0;
    if (rc == 0) break;
    CHECK_EQ(rc, POND_ENOMEM);
    CHECK_EQ(atomic_load(&fm.used), 0);
  }
  CHECK(k > 5);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  CHECK_EQ(atomic_load(&fm.used), 0);
  st_memenv_free(me);
  fsu_clear(&want);
}

typedef struct io_fault {
  long n, fail_at; /* fail the fail_at-th operation of kind `op` */
  st_memop op;
} io_fault;

static int io_fault_hook(void *arg, st_memop op, const char *path) {
  io_fault *f = arg;
  (void)path;
  if (op == f->op && ++f->n == f->fail_at) return POND_ESTORAGE;
  return 0;
}

/* A failed write or sync fails the commit with POND_ESTORAGE; the log is
 * taken back, so the store keeps working and a reopen shows exactly the
 * successful commits. */
static void failed_write_or_sync_fails_commit_and_store_recovers(void) {
  st_memop kinds[] = {ST_MEM_WRITE, ST_MEM_SYNC};
  for (int kind = 0; kind < 2; kind++) {
    st_memenv *me = st_memenv_new(&mem);
    io_fault f = {0, 0, kinds[kind]};
    st_memenv_set_hook(me, io_fault_hook, &f);
    pond_storage s;
    pc_err e;
    REQ(st_file_open(&mem, "/db", 0, st_memenv_env(me), &s, &e) == 0);
    fsu_model want = {0};
    for (int r = 0; r < 20; r++) {
      char k[8], v[8];
      snprintf(k, sizeof k, "k%d", r % 6);
      snprintf(v, sizeof v, "v%d", r);
      pond_kv op = put(k, v);
      f.n = 0;
      f.fail_at = r % 3 == 1 ? 1 : 0;
      int rc = s.commit(s.ctx, &op, 1);
      if (r % 3 == 1) {
        CHECK_EQ(rc, POND_ESTORAGE);
        CHECK_HAS(s.errmsg(s.ctx), "injected");
      } else {
        CHECK_EQ(rc, 0);
        fsu_apply_ops(&want, &op, 1);
      }
      CHECK(fsu_matches(&s, &want));
    }
    f.fail_at = 0;
    s.close(s.ctx);
    REQ(st_file_open(&mem, "/db", 0, st_memenv_env(me), &s, &e) == 0);
    CHECK(fsu_matches(&s, &want));
    s.close(s.ctx);
    st_memenv_free(me);
    fsu_clear(&want);
  }
}

typedef struct fail_sync_then_truncate {
  int armed;
} fail_sync_then_truncate;

static int sync_and_truncate_fail(void *arg, st_memop op, const char *path) {
  fail_sync_then_truncate *f = arg;
  (void)path;
  if (f->armed && (op == ST_MEM_SYNC || op == ST_MEM_TRUNCATE)) return POND_ESTORAGE;
  return 0;
}

/* When the log cannot even be taken back, the store refuses every later
 * commit (its state on disk is unknown) until reopened. */
static void unrecoverable_io_error_makes_store_refuse_commits(void) {
  st_memenv *me = st_memenv_new(&mem);
  fail_sync_then_truncate f = {0};
  st_memenv_set_hook(me, sync_and_truncate_fail, &f);
  pond_storage s;
  pc_err e;
  REQ(st_file_open(&mem, "/db", 0, st_memenv_env(me), &s, &e) == 0);
  pond_kv a = put("a", "1"), b = put("b", "2");
  CHECK_EQ(s.commit(s.ctx, &a, 1), 0);
  f.armed = 1;
  CHECK_EQ(s.commit(s.ctx, &b, 1), POND_ESTORAGE);
  f.armed = 0;
  CHECK_EQ(s.commit(s.ctx, &a, 1), POND_ESTORAGE);
  CHECK_HAS(s.errmsg(s.ctx), "reopen");
  CHECK_EQ(st_file_compact(s.ctx, &e), POND_ESTORAGE);
  fsu_model want = {0};
  fsu_apply_ops(&want, &a, 1);
  CHECK(fsu_matches(&s, &want)); /* reads still work */
  s.close(s.ctx);
  /* The failed batch's outcome is unknown: a reopen shows a or a+b, whole. */
  REQ(st_file_open(&mem, "/db", 0, st_memenv_env(me), &s, &e) == 0);
  fsu_model with_b = {0};
  fsu_copy(&with_b, &want);
  fsu_apply_ops(&with_b, &b, 1);
  fsu_model got = {0};
  CHECK_EQ(fsu_read(&s, NULL, 0, &got), 0);
  CHECK(fsu_equal(&got, &want) || fsu_equal(&got, &with_b));
  s.close(s.ctx);
  st_memenv_free(me);
  fsu_clear(&want);
  fsu_clear(&with_b);
  fsu_clear(&got);
}

/* A compaction that fails at any step leaves the old generation in use,
 * content intact, and the store usable. */
static void compaction_failing_at_any_step_keeps_the_old_generation(void) {
  st_memop kinds[] = {ST_MEM_CREATE, ST_MEM_WRITE, ST_MEM_SYNC, ST_MEM_RENAME};
  for (int kind = 0; kind < 4; kind++) {
    for (int nth = 1; nth <= 3; nth++) {
      st_memenv *me = st_memenv_new(&mem);
      io_fault f = {0, 0, kinds[kind]};
      st_memenv_set_hook(me, io_fault_hook, &f);
      pond_storage s;
      pc_err e;
      REQ(st_file_open(&mem, "/db", POND_NOSYNC, st_memenv_env(me), &s, &e) == 0);
      fsu_model want = {0};
      for (int r = 0; r < 3000; r++) {
        char k[8], v[48];
        snprintf(k, sizeof k, "k%d", r % 700);
        snprintf(v, sizeof v, "value-%d-%0*d", r, 20 + r % 7, 0);
        pond_kv op = put(k, v);
        REQ(s.commit(s.ctx, &op, 1) == 0);
        fsu_apply_ops(&want, &op, 1);
      }
      st_file_stats a, b;
      st_file_stats_get(s.ctx, &a);
      f.n = 0;
      f.fail_at = nth;
      int rc = st_file_compact(s.ctx, &e);
      f.fail_at = 0;
      st_file_stats_get(s.ctx, &b);
      if (f.n >= nth) { /* the fault was reached */
        CHECK_EQ(rc, POND_ESTORAGE);
        CHECK_EQ(b.generation, a.generation);
      } else {
        CHECK_EQ(rc, 0);
        CHECK_EQ(b.generation, a.generation + 1);
      }
      CHECK(fsu_matches(&s, &want));
      pond_kv more = put("after", "x");
      CHECK_EQ(s.commit(s.ctx, &more, 1), 0);
      fsu_apply_ops(&want, &more, 1);
      s.close(s.ctx);
      REQ(st_file_open(&mem, "/db", 0, st_memenv_env(me), &s, &e) == 0);
      CHECK(fsu_matches(&s, &want));
      s.close(s.ctx);
      st_memenv_free(me);
      fsu_clear(&want);
    }
  }
}

static void directory_sync_failure_after_switch_refuses_commits(void) {
  st_memenv *me = st_memenv_new(&mem);
  io_fault f = {0, 0, ST_MEM_SYNC_DIR};
  st_memenv_set_hook(me, io_fault_hook, &f);
  pond_storage s;
  pc_err e;
  REQ(st_file_open(&mem, "/db", 0, st_memenv_env(me), &s, &e) == 0);
  pond_kv a = put("a", "1");
  CHECK_EQ(s.commit(s.ctx, &a, 1), 0);
  f.n = 0;
  f.fail_at = 1;
  CHECK_EQ(st_file_compact(s.ctx, &e), POND_ESTORAGE);
  f.fail_at = 0;
  CHECK_EQ(s.commit(s.ctx, &a, 1), POND_ESTORAGE);
  fsu_model want = {0};
  fsu_apply_ops(&want, &a, 1);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  REQ(st_file_open(&mem, "/db", 0, st_memenv_env(me), &s, &e) == 0);
  CHECK(fsu_matches(&s, &want));
  s.close(s.ctx);
  st_memenv_free(me);
  fsu_clear(&want);
}

static void open_rejects_bad_arguments(void) {
  pond_storage s;
  pc_err e;
  CHECK_EQ(st_file_open(&mem, NULL, 0, NULL, &s, &e), POND_EINVAL);
  CHECK_EQ(st_file_open(&mem, "", 0, NULL, &s, &e), POND_EINVAL);
  CHECK_EQ(st_file_open(&mem, "/proc/pond-no-such/dir", 0, NULL, &s, &e), POND_ESTORAGE);
  CHECK_HAS(e.msg, "mkdir");
}

int main(void) {
  pc_mem_init(&mem, NULL, NULL, 0);
  TH_RUN(crc32c_matches_known_vectors);
  TH_RUN(crc32c_hardware_portable_and_chained_agree);
  TH_RUN(put_get_delete_through_the_vtable);
  TH_RUN(empty_value_is_stored_not_deleted);
  TH_RUN(later_op_on_same_key_in_one_batch_wins);
  TH_RUN(scan_yields_ascending_byte_order_and_exact_prefixes);
  TH_RUN(scan_stops_with_the_callbacks_value);
  TH_RUN(commit_or_compact_inside_a_scan_is_misuse);
  TH_RUN(oversized_key_or_value_is_elimit_and_changes_nothing);
  TH_RUN(reopen_restores_every_committed_batch);
  TH_RUN(second_opener_gets_ebusy_in_this_and_another_process);
  TH_RUN(big_batch_of_100k_records_commits_and_reopens);
  TH_RUN(values_larger_than_a_scan_window_round_trip);
  TH_RUN(explicit_compaction_keeps_content_and_drops_garbage);
  TH_RUN(automatic_compaction_runs_when_garbage_passes_threshold);
  TH_RUN(random_operations_match_a_model);
  TH_RUN(allocation_failure_at_every_point_of_commit_changes_nothing);
  TH_RUN(allocation_failure_during_open_is_enomem_without_leaks);
  TH_RUN(failed_write_or_sync_fails_commit_and_store_recovers);
  TH_RUN(unrecoverable_io_error_makes_store_refuse_commits);
  TH_RUN(compaction_failing_at_any_step_keeps_the_old_generation);
  TH_RUN(directory_sync_failure_after_switch_refuses_commits);
  TH_RUN(open_rejects_bad_arguments);
  CHECK_EQ(atomic_load(&mem.used), 0);
  return th_done();
}
