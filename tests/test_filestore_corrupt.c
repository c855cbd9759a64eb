/*
 * test_filestore_corrupt.c — damaged logs give the documented outcome
 * (lib/store/README.md, "Recovery"), never a crash and never wrong data:
 *  - every single-bit flip of a small log: in the header or in any batch
 *    but the last, POND_ECORRUPT; in the last batch, that batch is dropped
 *    and the rest kept (100% detected: CRC-32C catches every 1-bit error);
 *  - truncation at every offset: shorter than the header, POND_ECORRUPT;
 *    otherwise exactly the batches wholly inside the file;
 *  - garbage files, garbage tails, stray names, two generations, sequence
 *    gaps, stale batches, checksummed batches that do not parse;
 *  - a newer format version: a clear POND_ECORRUPT message.
 * All on the in-memory env: each case writes the bytes as the log file of
 * a fresh directory and opens it.
 */
#include "core/crc32c.h"
#include "harness.h"
#include "store/env_mem.h"
#include "store/filestore.h"
#include "store/fs_log.h"
#include "test_filestore_util.h"

#define DIR "/db"
#define LOG1 DIR "/0000000000000001.log"
#define NB 5

static pc_mem mem;

typedef struct sample {
  uint8_t *bytes;
  size_t len;
  size_t end[NB + 2]; /* end[i]: file size after i batches (end[0]: header) */
  int nb;             /* batches in the file (NB, +1 with a seal) */
  fsu_model state[NB + 1];
} sample;

/* A log of NB commits (sync mode, or POND_NOSYNC with or without a clean
 * close); sample->state[i] is the content after i commits. */
static int make_sample(sample *sm, unsigned flags, int clean_close) {
  memset(sm, 0, sizeof *sm);
  st_memenv *me = st_memenv_new(&mem);
  pond_storage s;
  pc_err e;
  if (st_file_open(&mem, DIR, flags, st_memenv_env(me), &s, &e)) return -1;
  sm->end[0] = ST_HDR_SIZE;
  for (int i = 0; i < NB; i++) {
    char keys[4][8], vals[4][24];
    pond_kv ops[4];
    int n = 1 + i % 4;
    for (int j = 0; j < n; j++) {
      snprintf(keys[j], sizeof keys[j], "k%d", (i + j) % 6);
      snprintf(vals[j], sizeof vals[j], "value %d.%d", i, j);
      ops[j] = (pond_kv){keys[j], strlen(keys[j]), (i + j) % 5 == 4 ? NULL : vals[j],
                         strlen(vals[j])};
    }
    if (s.commit(s.ctx, ops, (size_t)n)) return -1;
    fsu_copy(&sm->state[i + 1], &sm->state[i]);
    fsu_apply_ops(&sm->state[i + 1], ops, (size_t)n);
    st_file_stats st;
    st_file_stats_get(s.ctx, &st);
    sm->end[i + 1] = st.log_bytes;
  }
  sm->nb = NB;
  if (clean_close) {
    s.close(s.ctx);
  } else { /* killed: nothing more is written */
    st_memenv *copy = st_memenv_clone(me);
    s.close(s.ctx);
    st_memenv_free(me);
    me = copy;
  }
  size_t n;
  const uint8_t *p = st_memenv_get(me, LOG1, &n);
  if (!p) return -1;
  if (clean_close && n > sm->end[NB]) sm->end[++sm->nb] = n; /* a NOSYNC close's seal */
  sm->bytes = fsu_dup(p, n);
  sm->len = n;
  st_memenv_free(me);
  return 0;
}

static void free_sample(sample *sm) {
  free(sm->bytes);
  for (int i = 0; i <= NB; i++) fsu_clear(&sm->state[i]);
}

typedef struct outcome {
  int rc;
  char msg[PC_ERRMSG_MAX];
  fsu_model got;
  uint64_t log_bytes; /* after open (truncation) */
} outcome;

/* Opens a directory holding exactly `name` = bytes (plus extra files). */
static void open_bytes(const char *name, const uint8_t *b, size_t n, outcome *o,
                       const char *name2, const uint8_t *b2, size_t n2) {
  st_memenv *me = st_memenv_new(&mem);
  st_memenv_put(me, name, b, n);
  if (name2) st_memenv_put(me, name2, b2, n2);
  pond_storage s;
  pc_err e;
  pc_err_clear(&e);
  o->rc = st_file_open(&mem, DIR, 0, st_memenv_env(me), &s, &e);
  memcpy(o->msg, e.msg, sizeof o->msg);
  fsu_clear(&o->got);
  o->log_bytes = 0;
  if (o->rc == 0) {
    if (fsu_read(&s, NULL, 0, &o->got)) o->rc = -100;
    st_file_stats st;
    st_file_stats_get(s.ctx, &st);
    o->log_bytes = st.log_bytes;
    s.close(s.ctx);
  }
  st_memenv_free(me);
}

/* The batch containing byte b (0 = header). */
static int batch_of(const sample *sm, size_t b) {
  for (int i = 0; i <= sm->nb; i++)
    if (b < sm->end[i]) return i;
  return sm->nb + 1;
}

static void every_single_bit_flip_is_detected(void) {
  sample sm;
  REQ(make_sample(&sm, 0, 1) == 0);
  REQ(sm.nb == NB);
  outcome o = {0};
  long corrupt = 0, dropped = 0, wrong = 0;
  for (size_t b = 0; b < sm.len; b++)
    for (int bit = 0; bit < 8; bit++) {
      sm.bytes[b] ^= (uint8_t)(1u << bit);
      open_bytes(LOG1, sm.bytes, sm.len, &o, NULL, NULL, 0);
      sm.bytes[b] ^= (uint8_t)(1u << bit);
      int in = batch_of(&sm, b); /* 0: header, 1..NB: batches */
      if (in == NB && o.rc == 0 && fsu_equal(&o.got, &sm.state[NB - 1]) &&
          o.log_bytes == sm.end[NB - 1]) {
        dropped++;
      } else if (in < NB && o.rc == POND_ECORRUPT) {
        corrupt++;
      } else {
        if (wrong++ < 5)
          fprintf(stderr, "  byte %zu bit %d (batch %d): rc %d %s\n", b, bit, in, o.rc, o.msg);
      }
    }
  printf("  %zu-byte log, %zu flips: %ld POND_ECORRUPT, %ld last batch dropped, %ld wrong\n",
         sm.len, sm.len * 8, corrupt, dropped, wrong);
  CHECK_EQ(wrong, 0);
  CHECK_EQ(dropped, (long)(sm.end[NB] - sm.end[NB - 1]) * 8);
  fsu_clear(&o.got);
  free_sample(&sm);
}

/* A POND_NOSYNC log closed cleanly ends with an empty anchored batch, so
 * damage to any data batch is still reported, not dropped. */
static void bit_flips_in_a_cleanly_closed_nosync_log_are_reported(void) {
  sample sm;
  REQ(make_sample(&sm, POND_NOSYNC, 1) == 0);
  REQ(sm.nb == NB + 1);
  outcome o = {0};
  long wrong = 0;
  for (size_t b = 0; b < sm.len; b++) {
    sm.bytes[b] ^= 0x10;
    open_bytes(LOG1, sm.bytes, sm.len, &o, NULL, NULL, 0);
    sm.bytes[b] ^= 0x10;
    int in = batch_of(&sm, b);
    int ok = in <= NB ? o.rc == POND_ECORRUPT
                      : o.rc == 0 && fsu_equal(&o.got, &sm.state[NB]); /* seal dropped */
    if (!ok && wrong++ < 5) fprintf(stderr, "  byte %zu (batch %d): rc %d %s\n", b, in, o.rc, o.msg);
  }
  CHECK_EQ(wrong, 0);
  fsu_clear(&o.got);
  free_sample(&sm);
}

/* Without a clean close, POND_NOSYNC batches after the first carry no
 * anchor: damage in batch i reads as a torn write there, and the store
 * opens with the batches before it. This pins the documented weaker
 * guarantee of POND_NOSYNC. */
static void damage_in_an_unsealed_nosync_log_truncates_there(void) {
  sample sm;
  REQ(make_sample(&sm, POND_NOSYNC, 0) == 0);
  REQ(sm.nb == NB);
  outcome o = {0};
  long wrong = 0;
  /* Every byte of the batches; past them the file holds the zeros that
   * commit preallocates, where damage is a garbage tail (sampled). */
  size_t data_end = sm.end[sm.nb];
  for (size_t b = ST_HDR_SIZE; b < sm.len; b += b < data_end ? 1 : 4093) {
    sm.bytes[b] ^= 0x01;
    open_bytes(LOG1, sm.bytes, sm.len, &o, NULL, NULL, 0);
    sm.bytes[b] ^= 0x01;
    int in = batch_of(&sm, b);
    int ok = o.rc == 0 && fsu_equal(&o.got, &sm.state[in - 1]);
    if (!ok && wrong++ < 5) fprintf(stderr, "  byte %zu (batch %d): rc %d %s\n", b, in, o.rc, o.msg);
  }
  CHECK_EQ(wrong, 0);
  fsu_clear(&o.got);
  free_sample(&sm);
}

static void truncation_at_every_offset_keeps_whole_batches(void) {
  sample sm;
  REQ(make_sample(&sm, 0, 1) == 0);
  outcome o = {0};
  long wrong = 0;
  for (size_t n = 0; n <= sm.len; n++) {
    open_bytes(LOG1, sm.bytes, n, &o, NULL, NULL, 0);
    int ok;
    if (n < ST_HDR_SIZE) {
      ok = o.rc == POND_ECORRUPT;
    } else {
      int k = 0;
      while (k < NB && sm.end[k + 1] <= n) k++;
      ok = o.rc == 0 && fsu_equal(&o.got, &sm.state[k]) && o.log_bytes == sm.end[k];
    }
    if (!ok && wrong++ < 5) fprintf(stderr, "  length %zu: rc %d %s\n", n, o.rc, o.msg);
  }
  CHECK_EQ(wrong, 0);
  open_bytes(LOG1, sm.bytes, 0, &o, NULL, NULL, 0);
  CHECK_HAS(o.msg, "empty");
  open_bytes(LOG1, sm.bytes, 20, &o, NULL, NULL, 0);
  CHECK_HAS(o.msg, "truncated");
  fsu_clear(&o.got);
  free_sample(&sm);
}

static void garbage_logs_and_tails_give_the_documented_outcome(void) {
  sample sm;
  REQ(make_sample(&sm, 0, 1) == 0);
  outcome o = {0};
  uint64_t seed = th_seed(51);
  uint8_t junk[3000];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)th_rand(&seed);
  /* Random bytes as the log: not a pond log. */
  for (size_t n = 1; n < sizeof junk; n += 97) {
    open_bytes(LOG1, junk, n, &o, NULL, NULL, 0);
    CHECK_EQ(o.rc, POND_ECORRUPT);
  }
  CHECK_HAS(o.msg, "not a pond log");
  /* A valid header followed by garbage: a torn tail, dropped whole. */
  uint8_t *b = malloc(sm.len + sizeof junk);
  memcpy(b, sm.bytes, ST_HDR_SIZE);
  memcpy(b + ST_HDR_SIZE, junk, sizeof junk);
  open_bytes(LOG1, b, ST_HDR_SIZE + sizeof junk, &o, NULL, NULL, 0);
  CHECK_EQ(o.rc, 0);
  CHECK_EQ(o.got.n, 0);
  CHECK_EQ(o.log_bytes, ST_HDR_SIZE);
  /* A valid log followed by garbage or zeros: content kept, tail dropped. */
  memcpy(b, sm.bytes, sm.len);
  memcpy(b + sm.len, junk, sizeof junk);
  open_bytes(LOG1, b, sm.len + sizeof junk, &o, NULL, NULL, 0);
  CHECK(o.rc == 0 && fsu_equal(&o.got, &sm.state[NB]) && o.log_bytes == sm.len);
  memset(b + sm.len, 0, sizeof junk);
  open_bytes(LOG1, b, sm.len + sizeof junk, &o, NULL, NULL, 0);
  CHECK(o.rc == 0 && fsu_equal(&o.got, &sm.state[NB]) && o.log_bytes == sm.len);
  /* Garbage in the middle with valid batches after it: corruption, and
   * the message says where. */
  size_t cut = sm.end[2];
  memcpy(b, sm.bytes, cut);
  memcpy(b + cut, junk, 100);
  memcpy(b + cut + 100, sm.bytes + cut, sm.len - cut);
  open_bytes(LOG1, b, sm.len + 100, &o, NULL, NULL, 0);
  CHECK_EQ(o.rc, POND_ECORRUPT);
  CHECK_HAS(o.msg, "intact batch follows");
  free(b);
  fsu_clear(&o.got);
  free_sample(&sm);
}

static void stray_files_and_generations_are_handled(void) {
  sample sm;
  REQ(make_sample(&sm, 0, 1) == 0);
  outcome o = {0};
  /* Names that are not ours are left alone. */
  open_bytes(LOG1, sm.bytes, sm.len, &o, DIR "/0000000000000001.log.bak", (const uint8_t *)"x", 1);
  CHECK(o.rc == 0 && fsu_equal(&o.got, &sm.state[NB]));
  open_bytes(LOG1, sm.bytes, sm.len, &o, DIR "/00000000000000G1.log", (const uint8_t *)"x", 1);
  CHECK(o.rc == 0 && fsu_equal(&o.got, &sm.state[NB]));
  /* A .tmp of a later generation is an unfinished compaction: ignored. */
  open_bytes(LOG1, sm.bytes, sm.len, &o, DIR "/0000000000000002.log.tmp", sm.bytes, 10);
  CHECK(o.rc == 0 && fsu_equal(&o.got, &sm.state[NB]));
  /* The highest .log wins, and a damaged one is not passed over. */
  open_bytes(LOG1, sm.bytes, sm.len, &o, DIR "/0000000000000002.log", (const uint8_t *)"junk", 4);
  CHECK_EQ(o.rc, POND_ECORRUPT);
  /* A log whose header names another generation is not trusted. */
  open_bytes(DIR "/0000000000000003.log", sm.bytes, sm.len, &o, NULL, NULL, 0);
  CHECK_EQ(o.rc, POND_ECORRUPT);
  CHECK_HAS(o.msg, "generation 1");
  fsu_clear(&o.got);
  free_sample(&sm);
}

/* Rewrites the frame at off through f (fixing its header checksum). */
static void patch_frame(uint8_t *b, size_t off, void (*f)(st_frame *)) {
  st_frame fr;
  st_frame_decode(b + off, &fr);
  f(&fr);
  st_frame_encode(b + off, &fr);
}
static void seq_plus_one(st_frame *f) { f->seq++; }
static void seq_minus_one(st_frame *f) { f->seq--; }
static void unknown_flag(st_frame *f) { f->flags |= 0x80; }

static void sequence_gaps_stale_batches_and_bad_ops(void) {
  sample sm;
  REQ(make_sample(&sm, 0, 1) == 0);
  outcome o = {0};
  uint8_t *b = fsu_dup(sm.bytes, sm.len);
  /* A checksummed batch that skips a sequence number: corruption. */
  patch_frame(b, sm.end[2], seq_plus_one);
  open_bytes(LOG1, b, sm.len, &o, NULL, NULL, 0);
  CHECK_EQ(o.rc, POND_ECORRUPT);
  CHECK_HAS(o.msg, "skips ahead");
  /* A stale (already used) sequence number as the last batch: not ours,
   * dropped like a torn tail. */
  memcpy(b, sm.bytes, sm.len);
  patch_frame(b, sm.end[NB - 1], seq_minus_one);
  open_bytes(LOG1, b, sm.len, &o, NULL, NULL, 0);
  CHECK(o.rc == 0 && fsu_equal(&o.got, &sm.state[NB - 1]));
  /* ... and in the middle, followed by intact batches: corruption. */
  memcpy(b, sm.bytes, sm.len);
  patch_frame(b, sm.end[1], seq_minus_one);
  open_bytes(LOG1, b, sm.len, &o, NULL, NULL, 0);
  CHECK_EQ(o.rc, POND_ECORRUPT);
  /* Flags this version does not know. */
  memcpy(b, sm.bytes, sm.len);
  patch_frame(b, sm.end[3], unknown_flag);
  open_bytes(LOG1, b, sm.len, &o, NULL, NULL, 0);
  CHECK_EQ(o.rc, POND_ECORRUPT);
  CHECK_HAS(o.msg, "unknown flags");
  /* A checksummed body that does not parse as ops (a writer bug or a
   * forgery, never a torn write): corruption even as the last batch. */
  uint8_t bad[ST_HDR_SIZE + ST_FRAME_SIZE + 4];
  memcpy(bad, sm.bytes, ST_HDR_SIZE);
  uint8_t body[4] = {0x85, 0x00, 0x01, 0x02}; /* non-canonical varint */
  st_frame f = {1, 4, 1, ST_BF_ANCHORED, pc_crc32c(0, body, 4)};
  st_frame_encode(bad + ST_HDR_SIZE, &f);
  memcpy(bad + ST_HDR_SIZE + ST_FRAME_SIZE, body, 4);
  open_bytes(LOG1, bad, sizeof bad, &o, NULL, NULL, 0);
  CHECK_EQ(o.rc, POND_ECORRUPT);
  CHECK_HAS(o.msg, "malformed op");
  body[0] = 0x05; /* key of 5 bytes, but only 2 follow */
  body[1] = 0x00;
  f.bcrc = pc_crc32c(0, body, 4);
  st_frame_encode(bad + ST_HDR_SIZE, &f);
  memcpy(bad + ST_HDR_SIZE + ST_FRAME_SIZE, body, 4);
  open_bytes(LOG1, bad, sizeof bad, &o, NULL, NULL, 0);
  CHECK_EQ(o.rc, POND_ECORRUPT);
  f.count = 3; /* more ops than bytes allow */
  st_frame_encode(bad + ST_HDR_SIZE, &f);
  open_bytes(LOG1, bad, sizeof bad, &o, NULL, NULL, 0);
  CHECK_EQ(o.rc, POND_ECORRUPT);
  free(b);
  fsu_clear(&o.got);
  free_sample(&sm);
}

static void newer_format_version_is_a_clear_error(void) {
  sample sm;
  REQ(make_sample(&sm, 0, 1) == 0);
  outcome o = {0};
  uint8_t *b = fsu_dup(sm.bytes, sm.len);
  b[8] = 2; /* version 2, checksum now stale: the version is read first */
  open_bytes(LOG1, b, sm.len, &o, NULL, NULL, 0);
  CHECK_EQ(o.rc, POND_ECORRUPT);
  CHECK_HAS(o.msg, "file store format 2 is newer than this library's 1");
  st_put32(b + 36, pc_crc32c(0, b, 36)); /* and with a valid checksum */
  open_bytes(LOG1, b, sm.len, &o, NULL, NULL, 0);
  CHECK_HAS(o.msg, "format 2 is newer");
  /* A future format may change everything after the version field. */
  open_bytes(LOG1, b, 12, &o, NULL, NULL, 0);
  CHECK_HAS(o.msg, "format 2 is newer");
  b[8] = 0;
  st_put32(b + 36, pc_crc32c(0, b, 36));
  open_bytes(LOG1, b, sm.len, &o, NULL, NULL, 0);
  CHECK_EQ(o.rc, POND_ECORRUPT);
  free(b);
  fsu_clear(&o.got);
  free_sample(&sm);
}

/* Random multi-byte damage to one batch: either POND_ECORRUPT, or (only
 * for the last batch) exactly the batches before it. */
static void random_damage_never_returns_wrong_data(void) {
  sample sm;
  REQ(make_sample(&sm, 0, 1) == 0);
  uint64_t seed = th_seed(61);
  outcome o = {0};
  long wrong = 0;
  for (int t = 0; t < 3000; t++) {
    uint8_t *b = fsu_dup(sm.bytes, sm.len);
    int k = 1 + (int)(th_rand(&seed) % NB);
    size_t lo = sm.end[k - 1], span = sm.end[k] - lo;
    int nbytes = 1 + (int)(th_rand(&seed) % 6);
    for (int j = 0; j < nbytes; j++) b[lo + th_rand(&seed) % span] ^= (uint8_t)(1 + th_rand(&seed) % 255);
    size_t len = th_rand(&seed) % 4 ? sm.len : lo + th_rand(&seed) % (sm.len - lo + 1);
    open_bytes(LOG1, b, len, &o, NULL, NULL, 0);
    int ok = o.rc == POND_ECORRUPT ||
             (o.rc == 0 && (fsu_equal(&o.got, &sm.state[k - 1]) ||
                            (memcmp(b, sm.bytes, len) == 0 && fsu_equal(&o.got, &sm.state[k]))));
    /* Wrong data would be a state other than these: never allowed. */
    if (o.rc == 0 && k < NB && len == sm.len && !fsu_equal(&o.got, &sm.state[k])) ok = 0;
    if (!ok && wrong++ < 5) fprintf(stderr, "  trial %d batch %d: rc %d %s\n", t, k, o.rc, o.msg);
    free(b);
  }
  CHECK_EQ(wrong, 0);
  fsu_clear(&o.got);
  free_sample(&sm);
}

int main(void) {
  pc_mem_init(&mem, NULL, NULL, 0);
  TH_RUN(every_single_bit_flip_is_detected);
  TH_RUN(bit_flips_in_a_cleanly_closed_nosync_log_are_reported);
  TH_RUN(damage_in_an_unsealed_nosync_log_truncates_there);
  TH_RUN(truncation_at_every_offset_keeps_whole_batches);
  TH_RUN(garbage_logs_and_tails_give_the_documented_outcome);
  TH_RUN(stray_files_and_generations_are_handled);
  TH_RUN(sequence_gaps_stale_batches_and_bad_ops);
  TH_RUN(newer_format_version_is_a_clear_error);
  TH_RUN(random_damage_never_returns_wrong_data);
  CHECK_EQ(atomic_load(&mem.used), 0);
  return th_done();
}
