/*
 * pondpy.h — internals of the CPython extension module pond._pond.
 *
 * The binding is thin: it converts arguments, maps status codes to exception
 * classes, and manages object lifetime. Modelled on CPython's Modules/_sqlite:
 * multi-phase init, module state, heap types, exceptions in module state.
 *
 * Lifetime and threads (the invariants every file here keeps):
 *  - A Db owns its pond_db. Every C call that may block or take the handle's
 *    mutex runs with the GIL released and Db.busy raised (PONDPY_CALL); busy
 *    is only touched with the GIL held. close() refuses new calls, waits until
 *    busy is 0, frees every live Set's pond_set, then calls pond_close.
 *  - A Set holds a strong reference to its Db and sits in the Db's list of
 *    live sets, so pond_close never runs while a pond_set of it exists. After
 *    close the Set is empty-handed (s == NULL) and raises MisuseError.
 *  - Lock order: names lock -> pond's handle mutex -> GIL. Nothing waits for
 *    the names lock or the handle mutex while holding the GIL; storage
 *    callbacks take the GIL while the handle mutex is held.
 *  - pond_tag_name returns a pointer that a rename, delete, merge, define,
 *    rollback or failed commit invalidates. Those calls, and every reader of
 *    tag names, hold Db.names (a PyThread lock) so a reader in one thread
 *    cannot see a name freed by another.
 */
#ifndef PONDPY_H
#define PONDPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include <stdint.h>

#include "pond.h"

/* ------------------------------------------------------------ module state */

typedef struct {
  PyTypeObject *Db;
  PyTypeObject *Query;
  PyTypeObject *Set;
  PyTypeObject *SetIter;
  PyTypeObject *Transaction;

  PyObject *Error; /* base of every pond exception */
  PyObject *NotFoundError;
  PyObject *InvalidError;
  PyObject *OutOfMemoryError;
  PyObject *ParseError;
  PyObject *LimitError;
  PyObject *ConflictError;
  PyObject *StorageError;
  PyObject *CorruptError;
  PyObject *MisuseError;
  PyObject *BusyError;

  PyObject *json_dumps; /* json.dumps */
  PyObject *datetime_type;
  /* Interned names. A name made afresh for each call (PyObject_CallMethod
   * with a C string) gets a new address each time, and CPython's type
   * attribute cache keeps a reference to every one it sees: measurable
   * growth in a long loop (test_leaks). */
  PyObject *str_utcoffset;
  PyObject *str_offset;
  PyObject *str_code;
} pondpy_state;

extern PyModuleDef pondpy_module;

static inline pondpy_state *pondpy_state_of(PyObject *self) {
  return (pondpy_state *)PyType_GetModuleState(Py_TYPE(self));
}

/* ------------------------------------------------------------------ errors */

/* Creates the exception classes into st and adds them to module m. */
int pondpy_errors_init(PyObject *m, pondpy_state *st);

/*
 * THE mapping from a pond status code to an exception: raises the class of
 * rc with pond_errmsg(db) (db may be NULL: the message of a failed open) and
 * returns NULL. ParseError gets .offset from pond_error_offset. cause (may be
 * NULL; reference stolen) becomes __cause__.
 */
PyObject *pondpy_raise(pondpy_state *st, const pond_db *db, int rc, PyObject *cause);

/* Raises MisuseError with a binding-level message; returns NULL. */
PyObject *pondpy_misuse(pondpy_state *st, const char *msg);

/* ------------------------------------------------------------- conversions */

/* Imports the datetime C API; fills st->datetime_type. */
int pondpy_convert_init(pondpy_state *st);

/* A customer id: an int (or __index__) in [0, 2**64). 0 ok, -1 with error. */
int pondpy_cid(PyObject *o, uint64_t *out);
/* Like pondpy_cid for containment tests: 1 converted, 0 out of range (no
 * error set), -1 TypeError. */
int pondpy_cid_probe(PyObject *o, uint64_t *out);
/* A timestamp: int seconds or aware datetime (naive: ValueError). */
int pondpy_ts(pondpy_state *st, PyObject *o, int64_t *out);
/* UTF-8 of a str without embedded NULs; borrowed from o (cached by CPython). */
const char *pondpy_name(PyObject *o, const char *what);

/* ----------------------------------------------------------------- storage */

typedef struct pondpy_storage pondpy_storage;

/*
 * Checks obj has callable scan and commit, and fills vt with a V1 vtable
 * whose ctx bridges to obj. The ctx is released by vt->close (which pond_close
 * calls) or, when pond_open fails, by pondpy_storage_free.
 */
int pondpy_storage_new(PyObject *obj, pond_storage *vt);
void pondpy_storage_free(pondpy_storage *ps);
/* The exception a callback of this thread raised, if any (new reference, and
 * forgotten by ps), else NULL. Needs the GIL. */
PyObject *pondpy_storage_take_exc(pondpy_storage *ps);
/* 1 if the current thread is inside one of ps's callbacks (GIL held). */
int pondpy_storage_in_callback(const pondpy_storage *ps);
int pondpy_storage_traverse(pondpy_storage *ps, visitproc visit, void *arg);

/* -------------------------------------------------------------------- Db */

typedef struct pondpy_set pondpy_set;
typedef struct pondpy_query pondpy_query;

typedef struct {
  PyObject_HEAD
  pond_db *db;             /* NULL once closed */
  pondpy_storage *storage; /* Python storage bridge, owned by db; or NULL */
  PyThread_type_lock names;
  pondpy_set *sets;        /* live sets made by this db (intrusive list) */
  pondpy_query *queries;   /* live queries prepared on this db (query.c) */
  Py_ssize_t busy;         /* C calls in progress without the GIL */
  int closing;
} pondpy_db;

extern PyType_Spec pondpy_db_spec;
extern PyType_Spec pondpy_txn_spec;

/* Opens a Db (the module-level function open). */
PyObject *pondpy_open(PyObject *module, PyObject *args, PyObject *kwargs);

/*
 * The handle of an open db, or NULL with MisuseError (closed, or a call from
 * inside one of its own storage callbacks, which would deadlock).
 */
pond_db *pondpy_db_handle(pondpy_db *self);

/* Maps rc raised by a call on self, attaching a storage callback's exception. */
PyObject *pondpy_db_raise(pondpy_db *self, int rc);

/* Runs stmt without the GIL while self is marked busy (see close()). */
#define PONDPY_CALL(self, ...) \
  do {                         \
    (self)->busy++;            \
    Py_BEGIN_ALLOW_THREADS     \
    __VA_ARGS__;               \
    Py_END_ALLOW_THREADS       \
    (self)->busy--;            \
  } while (0)

/* As PONDPY_CALL, also holding self->names (see the top of this file). */
#define PONDPY_CALL_NAMES(self, ...)                 \
  PONDPY_CALL(self, PyThread_acquire_lock((self)->names, WAIT_LOCK); \
              __VA_ARGS__; PyThread_release_lock((self)->names))

/* Checks a METH_FASTCALL method got exactly n positional arguments. */
int pondpy_nargs(const char *fn, Py_ssize_t nargs, Py_ssize_t n);

/* ------------------------------------------------------------------- Set */

struct pondpy_set {
  PyObject_HEAD
  pond_set *s;      /* NULL once its db is closed */
  pondpy_db *db;    /* strong reference */
  pondpy_set *prev; /* links in db->sets */
  pondpy_set *next;
};

extern PyType_Spec pondpy_set_spec;
extern PyType_Spec pondpy_setiter_spec;

/*
 * A new Set of db holding no pond_set yet. Made before the C call that
 * produces the pond_set, so that attaching it afterwards runs no Python code
 * (an allocation could run a finalizer that closes the db in between).
 */
pondpy_set *pondpy_set_new(pondpy_state *st, pondpy_db *db);
/* Gives s to set and links set into its db's live sets. No Python code. */
void pondpy_set_attach(pondpy_set *set, pond_set *s);
/* Frees the pond_set of every live set of db (db is closing). */
void pondpy_sets_release(pondpy_db *db);

/* ----------------------------------------------------------------- Query */

struct pondpy_query {
  PyObject_HEAD
  pond_query *q;      /* NULL once its db is closed */
  pondpy_db *db;      /* strong reference */
  PyObject *text;     /* the expression (a str) */
  pondpy_query *prev; /* links in db->queries */
  pondpy_query *next;
};

extern PyType_Spec pondpy_query_spec;

/* Db.query(expr). */
PyObject *pondpy_db_query(pondpy_db *self, PyObject *arg);
/* Frees the pond_query of every live query of db (db is closing). */
void pondpy_queries_release(pondpy_db *db);

#endif
