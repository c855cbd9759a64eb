/*
 * env_posix.c — st_env over POSIX file descriptors.
 *
 * Reads and writes are positional (pread/pwrite) and loop over short
 * transfers and EINTR. sync is fdatasync: the log only grows by appends, and
 * fdatasync also persists the size change that makes appended bytes
 * readable, without the cost of flushing timestamps. The lock is flock(2) on
 * a LOCK file: unlike fcntl record locks it belongs to the open file
 * description, so a second open in the same process is refused too, and
 * closing some other descriptor of the file does not drop it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/env.h"

static int io_err(pc_err *e, const char *what, const char *path, int err) {
  char buf[128];
  if (strerror_r(err, buf, sizeof buf) != 0) buf[0] = 0;
  int code = POND_ESTORAGE;
  if (!path) return pc_errf(e, code, "file store: %s: %s", what, buf);
  return pc_errf(e, code, "file store: %s %s: %s", what, path, buf);
}

static int px_open(void *ctx, const char *path, unsigned flags, int *fd, pc_err *e) {
  (void)ctx;
  int of = O_RDWR | O_CLOEXEC;
  if (flags & ST_ENV_CREATE) of |= O_CREAT;
  if (flags & ST_ENV_TRUNC) of |= O_TRUNC;
  int f;
  do f = open(path, of, 0666);
  while (f < 0 && errno == EINTR);
  if (f < 0) {
    int err = errno;
    io_err(e, "open", path, err);
    return err == ENOENT ? (e->code = POND_NOTFOUND) : POND_ESTORAGE;
  }
  *fd = f;
  return POND_OK;
}

static void px_close(void *ctx, int fd) {
  (void)ctx;
  /* A failed close after fdatasync has nothing left to report: the data
   * that matters was made durable (or reported failing) by sync. */
  (void)close(fd);
}

static int px_read(void *ctx, int fd, uint64_t off, void *buf, size_t n,
                   size_t *got, pc_err *e) {
  (void)ctx;
  size_t done = 0;
  while (done < n) {
    ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return io_err(e, "read", NULL, errno);
    }
    if (r == 0) break;
    done += (size_t)r;
  }
  *got = done;
  return POND_OK;
}

static int px_write(void *ctx, int fd, uint64_t off, const void *buf, size_t n,
                    pc_err *e) {
  (void)ctx;
  size_t done = 0;
  while (done < n) {
    ssize_t r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return io_err(e, "write", NULL, errno);
    }
    if (r == 0) return io_err(e, "write", NULL, ENOSPC);
    done += (size_t)r;
  }
  return POND_OK;
}

static int px_sync(void *ctx, int fd, pc_err *e) {
  (void)ctx;
  int r;
  do r = fdatasync(fd);
  while (r != 0 && errno == EINTR);
  return r == 0 ? POND_OK : io_err(e, "fdatasync", NULL, errno);
}

static int px_truncate(void *ctx, int fd, uint64_t size, pc_err *e) {
  (void)ctx;
  int r;
  do r = ftruncate(fd, (off_t)size);
  while (r != 0 && errno == EINTR);
  return r == 0 ? POND_OK : io_err(e, "truncate", NULL, errno);
}

static int px_prealloc(void *ctx, int fd, uint64_t size, pc_err *e) {
  (void)ctx;
  int r = posix_fallocate(fd, 0, (off_t)size); /* returns the error, not -1 */
  return r == 0 ? POND_OK : io_err(e, "fallocate", NULL, r);
}

static int px_size(void *ctx, int fd, uint64_t *size, pc_err *e) {
  (void)ctx;
  struct stat st;
  if (fstat(fd, &st) != 0) return io_err(e, "stat", NULL, errno);
  *size = (uint64_t)st.st_size;
  return POND_OK;
}

static int px_rename(void *ctx, const char *from, const char *to, pc_err *e) {
  (void)ctx;
  return rename(from, to) == 0 ? POND_OK : io_err(e, "rename", from, errno);
}

static int px_unlink(void *ctx, const char *path, pc_err *e) {
  (void)ctx;
  if (unlink(path) == 0) return POND_OK;
  int err = errno;
  io_err(e, "unlink", path, err);
  return err == ENOENT ? (e->code = POND_NOTFOUND) : POND_ESTORAGE;
}

static int px_mkdir(void *ctx, const char *path, pc_err *e) {
  (void)ctx;
  if (mkdir(path, 0777) == 0) return POND_OK;
  int err = errno;
  struct stat st;
  if (err == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return POND_OK;
  return io_err(e, "mkdir", path, err);
}

static int px_sync_dir(void *ctx, const char *path, pc_err *e) {
  (void)ctx;
  int fd;
  do fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return io_err(e, "open directory", path, errno);
  int r;
  do r = fsync(fd);
  while (r != 0 && errno == EINTR);
  int err = errno;
  (void)close(fd);
  return r == 0 ? POND_OK : io_err(e, "fsync directory", path, err);
}

static int px_list(void *ctx, const char *dir, int (*each)(void *arg, const char *name),
                   void *arg, pc_err *e) {
  (void)ctx;
  DIR *d = opendir(dir);
  if (!d) return io_err(e, "list", dir, errno);
  int rc = POND_OK;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) rc = io_err(e, "list", dir, errno);
      break;
    }
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    rc = each(arg, de->d_name);
    if (rc) break;
  }
  (void)closedir(d);
  return rc;
}

static int px_lock(void *ctx, const char *path, int *fd, pc_err *e) {
  int f, rc = px_open(ctx, path, ST_ENV_CREATE, &f, e);
  if (rc) return rc;
  int r;
  do r = flock(f, LOCK_EX | LOCK_NB);
  while (r != 0 && errno == EINTR);
  if (r != 0) {
    int err = errno;
    (void)close(f);
    if (err == EWOULDBLOCK)
      return pc_errf(e, POND_EBUSY, "file store: %s is locked by another opener", path);
    return io_err(e, "lock", path, err);
  }
  *fd = f;
  return POND_OK;
}

static void px_unlock(void *ctx, int fd) {
  (void)ctx;
  (void)close(fd); /* closing the only descriptor releases the flock */
}

static const st_env posix_env = {
  NULL,        px_open,     px_close,    px_read,  px_write,  px_sync,
  px_truncate, px_prealloc, px_size,     px_rename, px_unlink, px_mkdir,
  px_sync_dir, px_list,     px_lock,     px_unlock,
};

const st_env *st_env_posix(void) { return &posix_env; }
