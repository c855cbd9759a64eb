/*
 * fs_open.c — opening the file store: lock the directory, find the
 * authoritative log generation, create the first one or replay it, and
 * remove what earlier runs left behind.
 *
 * Directory contents:
 *   LOCK                  flock'ed while a store has the directory open
 *   <gen:16 hex>.log      a complete log; the highest gen is authoritative
 *   <gen:16 hex>.log.tmp  a log being written (first creation, compaction)
 * A .log name only ever appears through rename of a fully written and
 * synced .tmp, and a lower generation is only unlinked after the directory
 * entry of the higher one is durable; so at every crash point the highest
 * .log is complete and holds every acknowledged commit.
 */
#include <string.h>

#include "store/fs.h"

const char *st_fs_path(st_fs *fs, char *buf, uint64_t gen, int tmp) {
  static const char hex[] = "0123456789abcdef";
  memcpy(buf, fs->dir, fs->dirlen);
  char *p = buf + fs->dirlen;
  *p++ = '/';
  for (int i = 0; i < 16; i++) p[i] = hex[(gen >> (60 - 4 * i)) & 15];
  memcpy(p + 16, tmp ? ".log.tmp" : ".log", tmp ? 9 : 5);
  return buf;
}

/* "<16 lowercase hex>.log" or "….log.tmp". */
static int parse_name(const char *name, uint64_t *gen, int *tmp) {
  size_t n = strlen(name);
  if (n == 20 && !strcmp(name + 16, ".log"))
    *tmp = 0;
  else if (n == 24 && !strcmp(name + 16, ".log.tmp"))
    *tmp = 1;
  else
    return 0;
  uint64_t g = 0;
  for (int i = 0; i < 16; i++) {
    char c = name[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = (unsigned)(c - 'a' + 10);
    else
      return 0;
    g = g << 4 | d;
  }
  *gen = g;
  return 1;
}

typedef struct dir_files {
  pc_mem *m;
  uint64_t *gen; /* every log and tmp file found */
  uint8_t *tmp;
  size_t n, cap;
  int have_log;
  uint64_t max; /* highest .log generation */
} dir_files;

static int on_entry(void *arg, const char *name) {
  dir_files *d = arg;
  uint64_t g;
  int tmp;
  if (!parse_name(name, &g, &tmp)) return 0; /* not ours: left alone */
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 8;
    uint64_t *ng = pc_alloc(d->m, cap * sizeof *ng);
    uint8_t *nt = pc_alloc(d->m, cap);
    if (!ng || !nt) {
      pc_free(d->m, ng, cap * sizeof *ng);
      pc_free(d->m, nt, cap);
      return POND_ENOMEM;
    }
    if (d->n) {
      memcpy(ng, d->gen, d->n * sizeof *ng);
      memcpy(nt, d->tmp, d->n);
    }
    pc_free(d->m, d->gen, d->cap * sizeof *d->gen);
    pc_free(d->m, d->tmp, d->cap);
    d->gen = ng;
    d->tmp = nt;
    d->cap = cap;
  }
  d->gen[d->n] = g;
  d->tmp[d->n] = (uint8_t)tmp;
  d->n++;
  if (!tmp && (!d->have_log || g > d->max)) {
    d->max = g;
    d->have_log = 1;
  }
  return 0;
}

/* Writes a header-only log as a .tmp, syncs it and renames it into place,
 * so a .log name never refers to a file without a complete header. */
static int create_first(st_fs *fs, pc_err *e) {
  const st_env *env = fs->env;
  const char *tmp = st_fs_path(fs, fs->pa, 1, 1);
  int fd, rc = env->open(env->ctx, tmp, ST_ENV_CREATE | ST_ENV_TRUNC, &fd, e);
  if (rc) return rc;
  uint8_t h[ST_HDR_SIZE];
  st_hdr hdr = {1, 1};
  st_hdr_encode(h, &hdr);
  rc = env->write(env->ctx, fd, 0, h, sizeof h, e);
  if (!rc) rc = env->sync(env->ctx, fd, e);
  if (!rc) rc = env->rename(env->ctx, tmp, st_fs_path(fs, fs->pb, 1, 0), e);
  if (rc) {
    pc_err ignored;
    env->close(env->ctx, fd);
    (void)env->unlink(env->ctx, tmp, &ignored);
    return rc;
  }
  fs->fd = fd;
  fs->gen = 1;
  fs->end = fs->synced = fs->alloc_end = ST_HDR_SIZE;
  fs->seq = 1;
  return POND_OK;
}

static int open_store(st_fs *fs, dir_files *d, pc_err *e) {
  const st_env *env = fs->env;
  int rc = env->mkdir(env->ctx, fs->dir, e);
  if (rc) return rc;
  memcpy(fs->pa, fs->dir, fs->dirlen);
  memcpy(fs->pa + fs->dirlen, "/LOCK", 6);
  rc = env->lock(env->ctx, fs->pa, &fs->lockfd, e);
  if (rc) return rc;
  rc = env->list(env->ctx, fs->dir, on_entry, d, e);
  if (rc == POND_ENOMEM) return pc_errf(e, rc, "file store: out of memory listing %s", fs->dir);
  if (rc) return rc;
  if (!d->have_log) {
    rc = create_first(fs, e);
  } else {
    fs->gen = d->max;
    rc = env->open(env->ctx, st_fs_path(fs, fs->pa, fs->gen, 0), 0, &fs->fd, e);
    if (rc == POND_NOTFOUND) rc = e->code = POND_ESTORAGE; /* vanished since listed */
    if (!rc) rc = st_fs_replay(fs, e);
  }
  if (rc) return rc;
  /* Make the authoritative log's name durable before anything depends on
   * it: commits acknowledged from now on, and the unlinks below. */
  rc = env->sync_dir(env->ctx, fs->dir, e);
  if (rc) return rc;
  for (size_t i = 0; i < d->n; i++) {
    if (!d->tmp[i] && d->gen[i] == fs->gen) continue;
    pc_err ignored; /* a leftover that cannot be removed is retried next open */
    (void)env->unlink(env->ctx, st_fs_path(fs, fs->pa, d->gen[i], d->tmp[i]), &ignored);
  }
  return POND_OK;
}

int st_file_open(pc_mem *m, const char *dir, unsigned flags, const st_env *env,
                 pond_storage *out, pc_err *e) {
  if (!m || !dir || !*dir || !out)
    return pc_errf(e, POND_EINVAL, "file store: NULL or empty argument");
  size_t dirlen = strlen(dir);
  while (dirlen > 1 && dir[dirlen - 1] == '/') dirlen--;
  st_fs *fs = pc_calloc(m, sizeof *fs);
  if (!fs) return pc_errf(e, POND_ENOMEM, "file store: out of memory");
  fs->m = m;
  fs->env = env ? env : st_env_posix();
  fs->flags = flags;
  fs->lockfd = fs->fd = -1;
  fs->compact_min = 8u << 20;
  fs->compact_pct = 50;
  st_index_init(&fs->ix, m);
  pc_err_clear(&fs->err);
  fs->dir = pc_strndup(m, dir, dirlen);
  fs->dirlen = dirlen;
  fs->pa = pc_alloc(m, dirlen + ST_NAME_MAX);
  fs->pb = pc_alloc(m, dirlen + ST_NAME_MAX);
  if (!fs->dir || !fs->pa || !fs->pb) {
    st_fs_destroy(fs);
    return pc_errf(e, POND_ENOMEM, "file store: out of memory");
  }
  dir_files d = {m, NULL, NULL, 0, 0, 0, 0};
  int rc = open_store(fs, &d, e);
  pc_free(m, d.gen, d.cap * sizeof *d.gen);
  pc_free(m, d.tmp, d.cap);
  if (rc) {
    st_fs_destroy(fs);
    return rc;
  }
  st_fs_vtable(fs, out);
  return POND_OK;
}
