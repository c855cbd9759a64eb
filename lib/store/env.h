/*
 * env.h — the file store's I/O interface.
 *
 * Everything the file store does to the file system goes through an st_env,
 * so tests can substitute an in-memory file system that simulates power loss
 * and injects faults (env_mem.c), the way LevelDB's fault-injection Env wraps
 * its Env. The POSIX implementation is env_posix.c.
 *
 * Files are named by full paths ("dir/name") and referred to by small int
 * handles that the env hands out. Every function returns a pond.h status and,
 * on failure, fills e with a message that names the path and the cause:
 *   POND_NOTFOUND  open (without ST_ENV_CREATE) or unlink of a missing file
 *   POND_EBUSY     lock held by another opener
 *   POND_ESTORAGE  any other I/O failure
 * A write or sync that fails leaves the file's content in an unknown state
 * (the caller must assume any prefix of what it wrote may or may not be
 * there); the file store deals with that, not the env.
 */
#ifndef POND_STORE_ENV_H
#define POND_STORE_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define ST_ENV_CREATE 0x1u /* create the file if it does not exist */
#define ST_ENV_TRUNC 0x2u  /* truncate it to zero length */

typedef struct st_env {
  void *ctx;
  /* Opens path for reading and writing. */
  int (*open)(void *ctx, const char *path, unsigned flags, int *fd, pc_err *e);
  void (*close)(void *ctx, int fd);
  /* Reads up to n bytes at off into buf; *got < n only at end of file. */
  int (*read)(void *ctx, int fd, uint64_t off, void *buf, size_t n, size_t *got,
              pc_err *e);
  /* Writes all n bytes at off, extending the file if needed. */
  int (*write)(void *ctx, int fd, uint64_t off, const void *buf, size_t n,
               pc_err *e);
  /* Makes the file's data and size durable (fdatasync). */
  int (*sync)(void *ctx, int fd, pc_err *e);
  int (*truncate)(void *ctx, int fd, uint64_t size, pc_err *e);
  /* Makes the file at least size bytes long, the new bytes reading as
   * zeros, with disk blocks reserved where the file system can do that
   * without writing them (posix_fallocate). A hint: the store appends
   * within the reserved range so that fdatasync has no file size to
   * update; it carries on without it if this fails. */
  int (*prealloc)(void *ctx, int fd, uint64_t size, pc_err *e);
  int (*size)(void *ctx, int fd, uint64_t *size, pc_err *e);
  /* Atomically replaces to with from (POSIX rename). */
  int (*rename)(void *ctx, const char *from, const char *to, pc_err *e);
  int (*unlink)(void *ctx, const char *path, pc_err *e);
  /* Creates directory path; POND_OK if it already exists as a directory. */
  int (*mkdir)(void *ctx, const char *path, pc_err *e);
  /* Makes the directory's entries (creations, renames, unlinks) durable. */
  int (*sync_dir)(void *ctx, const char *path, pc_err *e);
  /* Calls each(arg, name) for every entry of dir but "." and ".."; a
   * non-zero return from each stops the listing and is returned. */
  int (*list)(void *ctx, const char *dir, int (*each)(void *arg, const char *name),
              void *arg, pc_err *e);
  /* Takes an exclusive lock on path (creating the file), held until unlock.
   * POND_EBUSY if another opener holds it, in this process or another. */
  int (*lock)(void *ctx, const char *path, int *fd, pc_err *e);
  void (*unlock)(void *ctx, int fd);
} st_env;

/* The POSIX file system (a constant; ctx unused). */
const st_env *st_env_posix(void);

#endif
