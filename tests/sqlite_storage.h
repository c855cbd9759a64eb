/*
 * sqlite_storage.h — a pond_storage V1 over SQLite, written only with the
 * public vtable: proof that the storage contract works with a real host
 * database, and an oracle for the file store in tests and benchmarks.
 *
 *   table kv(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID
 *   scan:   SELECT k, v FROM kv WHERE k >= ?prefix ORDER BY k, stopping at
 *           the first key without the prefix (BLOBs compare as memcmp, then
 *           length: the storage contract's byte order)
 *   commit: BEGIN IMMEDIATE; INSERT OR REPLACE / DELETE per op; COMMIT —
 *           ROLLBACK and POND_ESTORAGE (message from sqlite3_errmsg) on any
 *           failure
 */
#ifndef POND_TESTS_SQLITE_STORAGE_H
#define POND_TESTS_SQLITE_STORAGE_H

#include "pond.h"

/* Opens (creating) the database at path (":memory:" works) in WAL mode with
 * synchronous=FULL (or OFF when nosync). On failure returns POND_ESTORAGE
 * and copies SQLite's message to err (cap bytes). */
int sqlite_storage_open(const char *path, int nosync, pond_storage *out, char *err, size_t cap);

/* The sqlite3 * behind a storage opened above (for tests that poke it). */
void *sqlite_storage_db(const pond_storage *s);

#endif
