/*
 * env_mem.c — the in-memory st_env of env_mem.h.
 *
 * Model. A file (mfile) holds `cur`, what reads see now; `dur`, its content
 * at its last sync; and `ops`, the writes and truncations since, in order.
 * The tree holds `ents` (name -> file, now), `dents` (at the last directory
 * sync) and `dops`, the creations, renames and unlinks since. A power loss
 * keeps `dur` plus a prefix of `ops` per file (the last one possibly torn),
 * and `dents` plus a prefix of `dops`: what ordered-metadata file systems
 * (ext4 data=ordered, XFS) can leave behind, and stricter than most in one
 * respect: a file created and synced but whose directory was not synced is
 * gone. Names are full paths; a directory is the part before the last '/'.
 * Small and simple rather than fast: arrays searched linearly.
 */
#include "store/env_mem.h"

#include <string.h>

typedef struct mbuf {
  uint8_t *p;
  size_t n, cap;
} mbuf;

typedef struct mop {
  int trunc;     /* 1: truncate to size; 0: write data at off */
  uint64_t off;  /* write offset, or truncate size */
  mbuf data;
} mop;

typedef struct mfile {
  mbuf cur, dur;
  mop *ops;
  size_t nops, opcap;
  struct mfile *next; /* every file of the env, named or not */
  struct mfile *copy; /* scratch while cloning */
} mfile;

typedef struct ment {
  char *name;
  mfile *f;
} ment;

enum { DOP_CREATE, DOP_RENAME, DOP_UNLINK };
typedef struct mdop {
  int kind;
  char *a, *b;
  mfile *f;
} mdop;

typedef struct mfd {
  int used, lock;
  mfile *f;
  char *name;
} mfd;

struct st_memenv {
  pc_mem *m;
  st_env env;
  st_memhook hook;
  void *harg;
  mfile *files;
  ment *ents;
  size_t nents, entcap;
  ment *dents;
  size_t ndents, dentcap;
  mdop *dops;
  size_t ndops, dopcap;
  mfd *fds;
  size_t nfds, fdcap;
};

/* ------------------------------------------------------------- helpers */

static int grow(pc_mem *m, void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 8;
  while (nc < need) nc *= 2;
  void *q = pc_realloc(m, *p, *cap * elem, nc * elem);
  if (!q) return -1;
  *p = q;
  *cap = nc;
  return 0;
}

static int buf_set(pc_mem *m, mbuf *b, const void *src, size_t n) {
  if (grow(m, (void **)&b->p, &b->cap, n, 1)) return -1;
  if (n) memcpy(b->p, src, n);
  b->n = n;
  return 0;
}

/* Resize to n, zero-filling growth. */
static int buf_resize(pc_mem *m, mbuf *b, size_t n) {
  if (grow(m, (void **)&b->p, &b->cap, n, 1)) return -1;
  if (n > b->n) memset(b->p + b->n, 0, n - b->n);
  b->n = n;
  return 0;
}

static int buf_write(pc_mem *m, mbuf *b, uint64_t off, const void *src, size_t n) {
  if (off + n > b->n && buf_resize(m, b, (size_t)(off + n))) return -1;
  if (n) memcpy(b->p + off, src, n);
  return 0;
}

static void buf_free(pc_mem *m, mbuf *b) {
  pc_free(m, b->p, b->cap);
  b->p = NULL;
  b->n = b->cap = 0;
}

static char *sdup(pc_mem *m, const char *s) { return pc_strndup(m, s, strlen(s)); }
static void sfree(pc_mem *m, char *s) {
  if (s) pc_free(m, s, strlen(s) + 1);
}

static int nomem(pc_err *e) { return pc_errf(e, POND_ENOMEM, "memenv: out of memory"); }

static int hook(st_memenv *me, st_memop op, const char *path, pc_err *e) {
  if (!me->hook) return POND_OK;
  int rc = me->hook(me->harg, op, path ? path : "");
  if (rc) return pc_errf(e, rc, "memenv: injected fault on %s", path ? path : "");
  return POND_OK;
}

static mfile *file_new(st_memenv *me) {
  mfile *f = pc_calloc(me->m, sizeof *f);
  if (!f) return NULL;
  f->next = me->files;
  me->files = f;
  return f;
}

static void ops_clear(pc_mem *m, mfile *f) {
  for (size_t i = 0; i < f->nops; i++) buf_free(m, &f->ops[i].data);
  f->nops = 0;
}

static int op_add(pc_mem *m, mfile *f, int trunc, uint64_t off, const void *data, size_t n) {
  if (grow(m, (void **)&f->ops, &f->opcap, f->nops + 1, sizeof *f->ops)) return -1;
  mop *o = &f->ops[f->nops];
  memset(o, 0, sizeof *o);
  o->trunc = trunc;
  o->off = off;
  if (!trunc && buf_set(m, &o->data, data, n)) return -1;
  f->nops++;
  return 0;
}

static long ent_find(const ment *v, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i].name, name)) return (long)i;
  return -1;
}

static void ent_remove(pc_mem *m, ment *v, size_t *n, size_t i) {
  sfree(m, v[i].name);
  v[i] = v[--*n];
}

static int dop_add(st_memenv *me, int kind, const char *a, const char *b, mfile *f) {
  if (grow(me->m, (void **)&me->dops, &me->dopcap, me->ndops + 1, sizeof *me->dops)) return -1;
  mdop *d = &me->dops[me->ndops];
  d->kind = kind;
  d->f = f;
  d->a = sdup(me->m, a);
  d->b = b ? sdup(me->m, b) : NULL;
  if (!d->a || (b && !d->b)) {
    sfree(me->m, d->a);
    sfree(me->m, d->b);
    return -1;
  }
  me->ndops++;
  return 0;
}

static void dops_clear(st_memenv *me) {
  for (size_t i = 0; i < me->ndops; i++) {
    sfree(me->m, me->dops[i].a);
    sfree(me->m, me->dops[i].b);
  }
  me->ndops = 0;
}

static int ents_copy(pc_mem *m, ment **dst, size_t *dn, size_t *dcap, const ment *src,
                     size_t sn, int map) {
  for (size_t i = 0; i < *dn; i++) sfree(m, (*dst)[i].name);
  *dn = 0;
  if (grow(m, (void **)dst, dcap, sn, sizeof **dst)) return -1;
  for (size_t i = 0; i < sn; i++) {
    (*dst)[i].name = sdup(m, src[i].name);
    if (!(*dst)[i].name) return -1;
    (*dst)[i].f = map ? src[i].f->copy : src[i].f;
    *dn = i + 1;
  }
  return 0;
}

/* Sets name -> f in the entry list (replacing an existing name). */
static int ent_set(pc_mem *m, ment **v, size_t *n, size_t *cap, const char *name, mfile *f) {
  long i = ent_find(*v, *n, name);
  if (i >= 0) {
    (*v)[i].f = f;
    return 0;
  }
  if (grow(m, (void **)v, cap, *n + 1, sizeof **v)) return -1;
  char *s = sdup(m, name);
  if (!s) return -1;
  (*v)[*n].name = s;
  (*v)[*n].f = f;
  (*n)++;
  return 0;
}

static mfd *get_fd(st_memenv *me, int fd) {
  if (fd < 0 || (size_t)fd >= me->nfds || !me->fds[fd].used) return NULL;
  return &me->fds[fd];
}

static int fd_new(st_memenv *me, mfile *f, const char *name, int lock, int *out) {
  size_t i = 0;
  while (i < me->nfds && me->fds[i].used) i++;
  if (i == me->nfds) {
    if (grow(me->m, (void **)&me->fds, &me->fdcap, me->nfds + 1, sizeof *me->fds)) return -1;
    me->nfds++;
  }
  char *s = sdup(me->m, name);
  if (!s) return -1;
  me->fds[i] = (mfd){1, lock, f, s};
  *out = (int)i;
  return 0;
}

/* ------------------------------------------------------------ the env */

static int m_open(void *ctx, const char *path, unsigned flags, int *fd, pc_err *e) {
  st_memenv *me = ctx;
  long i = ent_find(me->ents, me->nents, path);
  int rc = hook(me, i < 0 ? ST_MEM_CREATE : ST_MEM_OPEN, path, e);
  if (rc) return rc;
  mfile *f;
  if (i < 0) {
    if (!(flags & ST_ENV_CREATE))
      return pc_errf(e, POND_NOTFOUND, "memenv: open %s: no such file", path);
    f = file_new(me);
    if (!f || ent_set(me->m, &me->ents, &me->nents, &me->entcap, path, f) ||
        dop_add(me, DOP_CREATE, path, NULL, f))
      return nomem(e);
  } else {
    f = me->ents[i].f;
  }
  if ((flags & ST_ENV_TRUNC) && f->cur.n) {
    if (op_add(me->m, f, 1, 0, NULL, 0)) return nomem(e);
    f->cur.n = 0;
  }
  return fd_new(me, f, path, 0, fd) ? nomem(e) : POND_OK;
}

static void m_close(void *ctx, int fd) {
  st_memenv *me = ctx;
  mfd *d = get_fd(me, fd);
  if (!d) return;
  sfree(me->m, d->name);
  d->used = 0;
}

static int m_read(void *ctx, int fd, uint64_t off, void *buf, size_t n, size_t *got,
                  pc_err *e) {
  st_memenv *me = ctx;
  mfd *d = get_fd(me, fd);
  if (!d || !d->f) return pc_errf(e, POND_ESTORAGE, "memenv: bad descriptor");
  int rc = hook(me, ST_MEM_READ, d->name, e);
  if (rc) return rc;
  size_t have = off < d->f->cur.n ? (size_t)(d->f->cur.n - off) : 0;
  *got = have < n ? have : n;
  if (*got) memcpy(buf, d->f->cur.p + off, *got);
  return POND_OK;
}

static int m_write(void *ctx, int fd, uint64_t off, const void *buf, size_t n, pc_err *e) {
  st_memenv *me = ctx;
  mfd *d = get_fd(me, fd);
  if (!d || !d->f) return pc_errf(e, POND_ESTORAGE, "memenv: bad descriptor");
  int rc = hook(me, ST_MEM_WRITE, d->name, e);
  if (rc) return rc;
  if (op_add(me->m, d->f, 0, off, buf, n) || buf_write(me->m, &d->f->cur, off, buf, n))
    return nomem(e);
  return POND_OK;
}

static int m_sync(void *ctx, int fd, pc_err *e) {
  st_memenv *me = ctx;
  mfd *d = get_fd(me, fd);
  if (!d || !d->f) return pc_errf(e, POND_ESTORAGE, "memenv: bad descriptor");
  int rc = hook(me, ST_MEM_SYNC, d->name, e);
  if (rc) return rc;
  if (buf_set(me->m, &d->f->dur, d->f->cur.p, d->f->cur.n)) return nomem(e);
  ops_clear(me->m, d->f);
  return POND_OK;
}

static int m_truncate(void *ctx, int fd, uint64_t size, pc_err *e) {
  st_memenv *me = ctx;
  mfd *d = get_fd(me, fd);
  if (!d || !d->f) return pc_errf(e, POND_ESTORAGE, "memenv: bad descriptor");
  int rc = hook(me, ST_MEM_TRUNCATE, d->name, e);
  if (rc) return rc;
  if (op_add(me->m, d->f, 1, size, NULL, 0) || buf_resize(me->m, &d->f->cur, (size_t)size))
    return nomem(e);
  return POND_OK;
}

static int m_prealloc(void *ctx, int fd, uint64_t size, pc_err *e) {
  st_memenv *me = ctx;
  mfd *d = get_fd(me, fd);
  if (!d || !d->f) return pc_errf(e, POND_ESTORAGE, "memenv: bad descriptor");
  int rc = hook(me, ST_MEM_PREALLOC, d->name, e);
  if (rc || size <= d->f->cur.n) return rc;
  /* Like a truncation that extends: zeros, lost in a crash unless synced. */
  if (op_add(me->m, d->f, 1, size, NULL, 0) || buf_resize(me->m, &d->f->cur, (size_t)size))
    return nomem(e);
  return POND_OK;
}

static int m_size(void *ctx, int fd, uint64_t *size, pc_err *e) {
  st_memenv *me = ctx;
  mfd *d = get_fd(me, fd);
  if (!d || !d->f) return pc_errf(e, POND_ESTORAGE, "memenv: bad descriptor");
  *size = d->f->cur.n;
  return POND_OK;
}

static int m_rename(void *ctx, const char *from, const char *to, pc_err *e) {
  st_memenv *me = ctx;
  int rc = hook(me, ST_MEM_RENAME, from, e);
  if (rc) return rc;
  long i = ent_find(me->ents, me->nents, from);
  if (i < 0) return pc_errf(e, POND_NOTFOUND, "memenv: rename %s: no such file", from);
  mfile *f = me->ents[i].f;
  if (dop_add(me, DOP_RENAME, from, to, f)) return nomem(e);
  ent_remove(me->m, me->ents, &me->nents, (size_t)i);
  return ent_set(me->m, &me->ents, &me->nents, &me->entcap, to, f) ? nomem(e) : POND_OK;
}

static int m_unlink(void *ctx, const char *path, pc_err *e) {
  st_memenv *me = ctx;
  int rc = hook(me, ST_MEM_UNLINK, path, e);
  if (rc) return rc;
  long i = ent_find(me->ents, me->nents, path);
  if (i < 0) return pc_errf(e, POND_NOTFOUND, "memenv: unlink %s: no such file", path);
  if (dop_add(me, DOP_UNLINK, path, NULL, me->ents[i].f)) return nomem(e);
  ent_remove(me->m, me->ents, &me->nents, (size_t)i);
  return POND_OK;
}

static int m_mkdir(void *ctx, const char *path, pc_err *e) {
  return hook(ctx, ST_MEM_MKDIR, path, e);
}

static int m_sync_dir(void *ctx, const char *path, pc_err *e) {
  st_memenv *me = ctx;
  int rc = hook(me, ST_MEM_SYNC_DIR, path, e);
  if (rc) return rc;
  if (ents_copy(me->m, &me->dents, &me->ndents, &me->dentcap, me->ents, me->nents, 0))
    return nomem(e);
  dops_clear(me);
  return POND_OK;
}

static int m_list(void *ctx, const char *dir, int (*each)(void *arg, const char *name),
                  void *arg, pc_err *e) {
  st_memenv *me = ctx;
  int rc = hook(me, ST_MEM_LIST, dir, e);
  if (rc) return rc;
  size_t dl = strlen(dir);
  for (size_t i = 0; i < me->nents; i++) {
    const char *n = me->ents[i].name;
    if (strncmp(n, dir, dl) || n[dl] != '/' || strchr(n + dl + 1, '/')) continue;
    rc = each(arg, n + dl + 1);
    if (rc) return rc;
  }
  return POND_OK;
}

static int m_lock(void *ctx, const char *path, int *fd, pc_err *e) {
  st_memenv *me = ctx;
  int rc = hook(me, ST_MEM_LOCK, path, e);
  if (rc) return rc;
  for (size_t i = 0; i < me->nfds; i++)
    if (me->fds[i].used && me->fds[i].lock && !strcmp(me->fds[i].name, path))
      return pc_errf(e, POND_EBUSY, "memenv: %s is locked by another opener", path);
  return fd_new(me, NULL, path, 1, fd) ? nomem(e) : POND_OK;
}

/* --------------------------------------------------------------- public */

st_memenv *st_memenv_new(pc_mem *m) {
  st_memenv *me = pc_calloc(m, sizeof *me);
  if (!me) return NULL;
  me->m = m;
  me->env = (st_env){me,        m_open,     m_close,  m_read,   m_write,
                     m_sync,    m_truncate, m_prealloc, m_size, m_rename,
                     m_unlink,  m_mkdir,    m_sync_dir, m_list, m_lock,
                     m_close};
  return me;
}

void st_memenv_free(st_memenv *me) {
  if (!me) return;
  pc_mem *m = me->m;
  for (mfile *f = me->files, *next; f; f = next) {
    next = f->next;
    ops_clear(m, f);
    pc_free(m, f->ops, f->opcap * sizeof *f->ops);
    buf_free(m, &f->cur);
    buf_free(m, &f->dur);
    pc_free(m, f, sizeof *f);
  }
  for (size_t i = 0; i < me->nents; i++) sfree(m, me->ents[i].name);
  for (size_t i = 0; i < me->ndents; i++) sfree(m, me->dents[i].name);
  dops_clear(me);
  for (size_t i = 0; i < me->nfds; i++)
    if (me->fds[i].used) sfree(m, me->fds[i].name);
  pc_free(m, me->ents, me->entcap * sizeof *me->ents);
  pc_free(m, me->dents, me->dentcap * sizeof *me->dents);
  pc_free(m, me->dops, me->dopcap * sizeof *me->dops);
  pc_free(m, me->fds, me->fdcap * sizeof *me->fds);
  pc_free(m, me, sizeof *me);
}

const st_env *st_memenv_env(st_memenv *me) { return &me->env; }

void st_memenv_set_hook(st_memenv *me, st_memhook h, void *arg) {
  me->hook = h;
  me->harg = arg;
}

int st_memenv_put(st_memenv *me, const char *path, const void *data, size_t n) {
  long i = ent_find(me->ents, me->nents, path);
  mfile *f = file_new(me);
  if (!f || buf_set(me->m, &f->cur, data, n) || buf_set(me->m, &f->dur, data, n))
    return POND_ENOMEM;
  if (i >= 0) me->ents[i].f = f;
  else if (ent_set(me->m, &me->ents, &me->nents, &me->entcap, path, f)) return POND_ENOMEM;
  long j = ent_find(me->dents, me->ndents, path);
  if (j >= 0) me->dents[j].f = f;
  else if (ent_set(me->m, &me->dents, &me->ndents, &me->dentcap, path, f)) return POND_ENOMEM;
  return POND_OK;
}

const uint8_t *st_memenv_get(const st_memenv *me, const char *path, size_t *n) {
  long i = ent_find(me->ents, me->nents, path);
  if (i < 0) return NULL;
  *n = me->ents[i].f->cur.n;
  return me->ents[i].f->cur.p ? me->ents[i].f->cur.p : (const uint8_t *)"";
}

size_t st_memenv_pending(const st_memenv *me, const char *path) {
  long i = ent_find(me->ents, me->nents, path);
  return i < 0 ? 0 : me->ents[i].f->nops;
}

int st_memenv_pending_at(const st_memenv *me, const char *path, size_t k, uint64_t *off,
                         uint64_t *len) {
  long i = ent_find(me->ents, me->nents, path);
  if (i < 0 || k >= me->ents[i].f->nops) return POND_NOTFOUND;
  const mop *o = &me->ents[i].f->ops[k];
  *off = o->off;
  *len = o->trunc ? 0 : o->data.n;
  return POND_OK;
}

size_t st_memenv_dir_pending(const st_memenv *me) { return me->ndops; }

/* Content of f after a power loss under c (into out). */
static int crash_content(pc_mem *m, const mfile *f, const st_crash *c, mbuf *out) {
  if (buf_set(m, out, f->dur.p, f->dur.n)) return -1;
  size_t keep = c->writes < 0 || (size_t)c->writes > f->nops ? f->nops : (size_t)c->writes;
  long last = (long)keep - 1;
  if (last >= 0 && last == c->lose) last--;
  for (size_t i = 0; i < keep; i++) {
    if ((long)i == c->lose) continue;
    const mop *o = &f->ops[i];
    if (o->trunc) {
      if (buf_resize(m, out, (size_t)o->off)) return -1;
      continue;
    }
    if (buf_write(m, out, o->off, o->data.p, o->data.n)) return -1;
    uint64_t end = o->off + o->data.n;
    if ((long)i == last && c->tear_at > o->off && c->tear_at < end) {
      uint64_t s = c->tear_at * 0x9E3779B97F4A7C15ull + 1;
      for (uint64_t p = c->tear_at; p < end; p++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        out->p[p] = c->garbage ? (uint8_t)s : 0;
      }
    }
  }
  return 0;
}

static st_memenv *copy_env(const st_memenv *me, const st_crash *c) {
  pc_mem *m = me->m;
  st_memenv *ne = st_memenv_new(m);
  if (!ne) return NULL;
  for (mfile *f = me->files; f; f = f->next) {
    mfile *nf = file_new(ne);
    f->copy = nf;
    if (!nf) goto fail;
    if (c) {
      if (crash_content(m, f, c, &nf->cur) || buf_set(m, &nf->dur, nf->cur.p, nf->cur.n))
        goto fail;
      continue;
    }
    if (buf_set(m, &nf->cur, f->cur.p, f->cur.n) || buf_set(m, &nf->dur, f->dur.p, f->dur.n))
      goto fail;
    for (size_t i = 0; i < f->nops; i++)
      if (op_add(m, nf, f->ops[i].trunc, f->ops[i].off, f->ops[i].data.p, f->ops[i].data.n))
        goto fail;
  }
  if (!c) {
    if (ents_copy(m, &ne->ents, &ne->nents, &ne->entcap, me->ents, me->nents, 1) ||
        ents_copy(m, &ne->dents, &ne->ndents, &ne->dentcap, me->dents, me->ndents, 1))
      goto fail;
    for (size_t i = 0; i < me->ndops; i++)
      if (dop_add(ne, me->dops[i].kind, me->dops[i].a, me->dops[i].b, me->dops[i].f->copy))
        goto fail;
    return ne;
  }
  if (ents_copy(m, &ne->ents, &ne->nents, &ne->entcap, me->dents, me->ndents, 1)) goto fail;
  size_t k = c->dir_ops < 0 || (size_t)c->dir_ops > me->ndops ? me->ndops : (size_t)c->dir_ops;
  for (size_t i = 0; i < k; i++) {
    const mdop *d = &me->dops[i];
    long j = ent_find(ne->ents, ne->nents, d->a);
    if (d->kind == DOP_CREATE) {
      if (ent_set(m, &ne->ents, &ne->nents, &ne->entcap, d->a, d->f->copy)) goto fail;
    } else if (j >= 0) {
      mfile *f = ne->ents[j].f;
      ent_remove(m, ne->ents, &ne->nents, (size_t)j);
      if (d->kind == DOP_RENAME && ent_set(m, &ne->ents, &ne->nents, &ne->entcap, d->b, f))
        goto fail;
    }
  }
  if (ents_copy(m, &ne->dents, &ne->ndents, &ne->dentcap, ne->ents, ne->nents, 0)) goto fail;
  return ne;
fail:
  st_memenv_free(ne);
  return NULL;
}

st_memenv *st_memenv_clone(const st_memenv *me) { return copy_env(me, NULL); }

st_memenv *st_memenv_crash(const st_memenv *me, const st_crash *c) {
  static const st_crash all = {-1, -1, -1, 0, 0};
  return copy_env(me, c ? c : &all);
}
