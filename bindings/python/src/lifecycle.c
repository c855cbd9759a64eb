/*
 * lifecycle.c — the event and lifecycle methods of Db: event, message,
 * stage, transition, tick, funnel, define_diagnostics. Thin: arguments
 * converted, the call made with the GIL released, results copied out.
 * State names pond lends (valid until the next define or rollback) are
 * copied while Db.names is held, like tag names.
 */
#include <string.h>

#include "pondpy.h"

PyObject *pondpy_db_event(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  uint64_t cid;
  const char *name;
  int64_t ts;
  if (pondpy_nargs("event", nargs, 3) < 0 || pondpy_cid(args[0], &cid) < 0 ||
      !(name = pondpy_name(args[1], "name")) ||
      pondpy_ts(pondpy_state_of((PyObject *)self), args[2], &ts) < 0)
    return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  PONDPY_CALL(self, rc = pond_event(db, cid, name, ts));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

PyObject *pondpy_db_message(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  uint64_t cid;
  int64_t ts;
  if (pondpy_nargs("message", nargs, 3) < 0 || pondpy_cid(args[0], &cid) < 0) return NULL;
  Py_ssize_t len;
  const char *text = PyUnicode_Check(args[1]) ? PyUnicode_AsUTF8AndSize(args[1], &len) : NULL;
  if (!text) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "message: text must be a str");
    return NULL;
  }
  if (pondpy_ts(pondpy_state_of((PyObject *)self), args[2], &ts) < 0) return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  PONDPY_CALL(self, rc = pond_message(db, cid, text, (size_t)len, ts));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

PyObject *pondpy_db_stage(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  uint64_t cid;
  const char *machine;
  if (pondpy_nargs("stage", nargs, 2) < 0 || pondpy_cid(args[0], &cid) < 0 ||
      !(machine = pondpy_name(args[1], "machine")))
    return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  const char *state = NULL;
  int64_t since = 0;
  char buf[72];
  PONDPY_CALL_NAMES(self, rc = pond_stage(db, cid, machine, &state, &since);
                    if (rc >= 0) snprintf(buf, sizeof buf, "%s", state));
  if (rc < 0) return pondpy_db_raise(self, rc);
  return Py_BuildValue("(sL)", buf, (long long)since);
}

PyObject *pondpy_db_transition(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames) {
  uint64_t cid;
  const char *machine, *state;
  int64_t ts;
  int force = 0;
  for (Py_ssize_t i = 0; kwnames && i < PyTuple_GET_SIZE(kwnames); i++) {
    PyObject *k = PyTuple_GET_ITEM(kwnames, i);
    if (!PyUnicode_Check(k) || PyUnicode_CompareWithASCIIString(k, "force") != 0) {
      PyErr_Format(PyExc_TypeError, "transition() got an unexpected keyword argument %R", k);
      return NULL;
    }
    if ((force = PyObject_IsTrue(args[nargs + i])) < 0) return NULL;
  }
  if (pondpy_nargs("transition", nargs, 4) < 0 || pondpy_cid(args[0], &cid) < 0 ||
      !(machine = pondpy_name(args[1], "machine")) || !(state = pondpy_name(args[2], "state")) ||
      pondpy_ts(pondpy_state_of((PyObject *)self), args[3], &ts) < 0)
    return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  PONDPY_CALL(self, rc = pond_transition_ex(db, cid, machine, state, ts, force ? POND_FORCE : 0));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

PyObject *pondpy_db_tick(pondpy_db *self, PyObject *now) {
  int64_t ts;
  if (pondpy_ts(pondpy_state_of((PyObject *)self), now, &ts) < 0) return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  PONDPY_CALL(self, rc = pond_tick(db, ts));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

/* funnel(machine, since, until) -> list of dicts. */
PyObject *pondpy_db_funnel(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  const char *machine;
  int64_t from, to;
  pondpy_state *st = pondpy_state_of((PyObject *)self);
  if (pondpy_nargs("funnel", nargs, 3) < 0 || !(machine = pondpy_name(args[0], "machine")) ||
      pondpy_ts(st, args[1], &from) < 0 || pondpy_ts(st, args[2], &to) < 0)
    return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  pond_funnel_row *rows = NULL;
  size_t n = 0;
  PONDPY_CALL(self, rc = pond_funnel(db, machine, from, to, &rows, &n));
  if (rc < 0) return pondpy_db_raise(self, rc);
  PyObject *out = PyList_New((Py_ssize_t)n);
  for (size_t i = 0; out && i < n; i++) {
    const pond_funnel_row *r = &rows[i];
    PyObject *d = r->kind == POND_FUNNEL_STATE
                      ? Py_BuildValue("{s:s,s:s,s:K,s:K,s:d}", "kind", "state", "state", r->to, "count",
                                      (unsigned long long)r->count, "entered",
                                      (unsigned long long)r->entered, "rate", r->rate)
                      : Py_BuildValue("{s:s,s:z,s:s,s:K,s:K,s:d}", "kind", "step", "from", r->from, "to",
                                      r->to, "count", (unsigned long long)r->count, "entered",
                                      (unsigned long long)r->entered, "rate", r->rate);
    if (!d) {
      Py_CLEAR(out);
      break;
    }
    PyList_SET_ITEM(out, (Py_ssize_t)i, d);
  }
  PONDPY_CALL(self, pond_funnel_free(db, rows));
  return out;
}

PyObject *pondpy_db_define_diagnostics(pondpy_db *self, PyObject *unused) {
  (void)unused;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  char *copy = NULL;
  size_t n = 0;
  /* the text lives until the next define, which holds Db.names too */
  PONDPY_CALL_NAMES(self, const char *d = pond_define_diagnostics(db); n = strlen(d);
                    if ((copy = PyMem_RawMalloc(n + 1))) memcpy(copy, d, n + 1));
  if (!copy) return PyErr_NoMemory();
  PyObject *out = PyUnicode_FromStringAndSize(copy, (Py_ssize_t)n);
  PyMem_RawFree(copy);
  return out;
}
