/*
 * errors.c — pond's exception classes and the one status-code mapping.
 *
 * pond.Error is the base; each status code has a subclass that carries the
 * code as the class attribute `code`. Where a builtin expresses the same
 * failure, the class also derives from it, so generic handlers keep working:
 * InvalidError is a ValueError, NotFoundError a LookupError, OutOfMemoryError
 * a MemoryError.
 */
#include "pondpy.h"

typedef struct {
  const char *name; /* under pond. */
  size_t offset;    /* of the PyObject * in pondpy_state */
  int code;
  PyObject *(*builtin)(void); /* a second base class, or NULL */
  const char *doc;
} exc_def;

static PyObject *exc_value(void) { return PyExc_ValueError; }
static PyObject *exc_lookup(void) { return PyExc_LookupError; }
static PyObject *exc_memory(void) { return PyExc_MemoryError; }

#define EXC(name, code, builtin, doc) \
  {"pond." #name, offsetof(pondpy_state, name), code, builtin, doc}

static const exc_def exc_defs[] = {
    EXC(NotFoundError, POND_NOTFOUND, exc_lookup,
        "A named customer, tag or attribute does not exist (POND_NOTFOUND)."),
    EXC(InvalidError, POND_EINVAL, exc_value,
        "An argument is invalid: bad name, bad type for the attribute (POND_EINVAL)."),
    EXC(OutOfMemoryError, POND_ENOMEM, exc_memory,
        "Allocation failed or the db's memory_limit was reached (POND_ENOMEM)."),
    EXC(ParseError, POND_EPARSE, NULL,
        "A definition or query is malformed (POND_EPARSE); .offset is the byte offset."),
    EXC(LimitError, POND_ELIMIT, NULL, "Input exceeds a configured limit (POND_ELIMIT)."),
    EXC(ConflictError, POND_ECONFLICT, NULL,
        "The operation conflicts with the current state (POND_ECONFLICT)."),
    EXC(StorageError, POND_ESTORAGE, NULL,
        "The storage backend failed; the transaction was rolled back (POND_ESTORAGE). "
        "When a Python storage raised, that exception is the __cause__."),
    EXC(CorruptError, POND_ECORRUPT, NULL,
        "Stored or serialized data is corrupt (POND_ECORRUPT)."),
    EXC(MisuseError, POND_EMISUSE, NULL,
        "API misuse: commit without begin, a closed db, a set of a closed db (POND_EMISUSE)."),
    EXC(BusyError, POND_EBUSY, NULL,
        "The file store is locked by another opener (POND_EBUSY)."),
};

#define N_EXC (sizeof exc_defs / sizeof exc_defs[0])

static PyObject **slot(pondpy_state *st, size_t offset) {
  return (PyObject **)((char *)st + offset);
}

static int add_class(PyObject *m, PyObject *cls) {
  /* A heap type's tp_name is its short name; be safe if it is dotted. */
  const char *name = ((PyTypeObject *)cls)->tp_name, *dot = strrchr(name, '.');
  return PyModule_AddObjectRef(m, dot ? dot + 1 : name, cls);
}

int pondpy_errors_init(PyObject *m, pondpy_state *st) {
  PyObject *dict = Py_BuildValue("{s:i}", "code", 0);
  if (!dict) return -1;
  st->Error = PyErr_NewExceptionWithDoc(
      "pond.Error", "Base class of every error pond raises; .code is the pond status.",
      NULL, dict);
  Py_DECREF(dict);
  if (!st->Error || add_class(m, st->Error) < 0) return -1;

  for (size_t i = 0; i < N_EXC; i++) {
    const exc_def *d = &exc_defs[i];
    PyObject *bases = d->builtin ? PyTuple_Pack(2, st->Error, d->builtin())
                                 : PyTuple_Pack(1, st->Error);
    if (!bases) return -1;
    dict = d->code == POND_EPARSE
               ? Py_BuildValue("{s:i,s:O}", "code", d->code, "offset", Py_None)
               : Py_BuildValue("{s:i}", "code", d->code);
    PyObject *cls = dict ? PyErr_NewExceptionWithDoc(d->name, d->doc, bases, dict) : NULL;
    Py_DECREF(bases);
    Py_XDECREF(dict);
    if (!cls) return -1;
    *slot(st, d->offset) = cls;
    if (add_class(m, cls) < 0) return -1;
  }
  return 0;
}

static PyObject *class_of(pondpy_state *st, int rc) {
  for (size_t i = 0; i < N_EXC; i++)
    if (exc_defs[i].code == rc) return *slot(st, exc_defs[i].offset);
  return st->Error;
}

PyObject *pondpy_raise(pondpy_state *st, const pond_db *db, int rc, PyObject *cause) {
  PyObject *cls = class_of(st, rc);
  const char *msg = pond_errmsg(db);
  if (!msg || !*msg) msg = pond_strerror(rc);
  if (!msg) msg = "unknown pond error";
  /* The library's messages are UTF-8, but a truncated one may end mid-sequence. */
  PyObject *text = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "replace");
  PyObject *exc = text ? PyObject_CallOneArg(cls, text) : NULL;
  Py_XDECREF(text);
  if (exc && rc == POND_EPARSE) {
    long off = db ? pond_error_offset(db) : -1;
    PyObject *o = off >= 0 ? PyLong_FromLong(off) : Py_NewRef(Py_None);
    if (!o || PyObject_SetAttr(exc, st->str_offset, o) < 0) Py_CLEAR(exc);
    Py_XDECREF(o);
  }
  if (exc && cls == st->Error) { /* a code this binding does not know */
    PyObject *code = PyLong_FromLong(rc);
    if (!code || PyObject_SetAttr(exc, st->str_code, code) < 0) Py_CLEAR(exc);
    Py_XDECREF(code);
  }
  if (!exc) {
    Py_XDECREF(cause);
    return NULL;
  }
  if (cause) PyException_SetCause(exc, cause); /* steals; sets __suppress_context__ */
  PyErr_SetObject(cls, exc);
  Py_DECREF(exc);
  return NULL;
}

PyObject *pondpy_misuse(pondpy_state *st, const char *msg) {
  PyErr_SetString(st->MisuseError, msg);
  return NULL;
}
