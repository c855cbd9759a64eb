/*
 * convert.c — Python values to pond's C types.
 *
 * Customer ids are ints in [0, 2**64); timestamps are int seconds or aware
 * datetimes; names are str. bool is refused where an int is expected (a bool
 * customer id or timestamp is a bug, not an id), objects with __index__
 * (numpy integers) are accepted. Wrong types raise TypeError, out-of-range
 * ints OverflowError, naive datetimes and embedded NULs ValueError.
 */
#include "pondpy.h"

#include <datetime.h>

/* An int for o, or NULL with TypeError naming what. New reference. */
static PyObject *as_int(PyObject *o, const char *what) {
  if (PyLong_CheckExact(o)) return Py_NewRef(o);
  if (PyBool_Check(o) || !PyIndex_Check(o)) {
    PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what,
                 Py_TYPE(o)->tp_name);
    return NULL;
  }
  return PyNumber_Index(o);
}

int pondpy_cid(PyObject *o, uint64_t *out) {
  PyObject *i = as_int(o, "customer id");
  if (!i) return -1;
  unsigned long long v = PyLong_AsUnsignedLongLong(i);
  Py_DECREF(i);
  if (v == (unsigned long long)-1 && PyErr_Occurred()) {
    if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
      PyErr_SetString(PyExc_OverflowError, "customer id out of range [0, 2**64)");
    }
    return -1;
  }
  *out = (uint64_t)v;
  return 0;
}

int pondpy_cid_probe(PyObject *o, uint64_t *out) {
  if (pondpy_cid(o, out) == 0) return 1;
  if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
    PyErr_Clear();
    return 0;
  }
  return -1;
}

/* Seconds since the epoch of an aware datetime, floored, exactly. */
static int datetime_ts(pondpy_state *st, PyObject *o, int64_t *out) {
  PyObject *off = PyObject_CallMethod(o, "utcoffset", NULL);
  if (!off) return -1;
  int naive = off == Py_None;
  Py_DECREF(off);
  if (naive) {
    PyErr_SetString(PyExc_ValueError,
                    "naive datetime: pond needs an aware datetime "
                    "(e.g. tzinfo=datetime.timezone.utc)");
    return -1;
  }
  PyObject *delta = PyNumber_Subtract(o, st->epoch);
  if (!delta) return -1;
  if (!PyDelta_Check(delta)) {
    Py_DECREF(delta);
    PyErr_SetString(PyExc_TypeError, "datetime subtraction did not give a timedelta");
    return -1;
  }
  /* timedelta is normalized: 0 <= seconds < 86400, so this is the floor. */
  *out = (int64_t)PyDateTime_DELTA_GET_DAYS(delta) * 86400 +
         PyDateTime_DELTA_GET_SECONDS(delta);
  Py_DECREF(delta);
  return 0;
}

int pondpy_ts(pondpy_state *st, PyObject *o, int64_t *out) {
  if (PyLong_CheckExact(o)) {
    long long v = PyLong_AsLongLong(o);
    if (v == -1 && PyErr_Occurred()) {
      if (PyErr_ExceptionMatches(PyExc_OverflowError))
        PyErr_SetString(PyExc_OverflowError, "timestamp out of the int64 range");
      return -1;
    }
    *out = (int64_t)v;
    return 0;
  }
  if (PyObject_TypeCheck(o, (PyTypeObject *)st->datetime_type)) return datetime_ts(st, o, out);
  if (PyBool_Check(o) || !PyIndex_Check(o)) {
    PyErr_Format(PyExc_TypeError,
                 "timestamp must be an int (seconds) or an aware datetime, not %.100s",
                 Py_TYPE(o)->tp_name);
    return -1;
  }
  PyObject *i = PyNumber_Index(o);
  if (!i) return -1;
  int rc = pondpy_ts(st, i, out);
  Py_DECREF(i);
  return rc;
}

const char *pondpy_name(PyObject *o, const char *what) {
  if (!PyUnicode_Check(o)) {
    PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE(o)->tp_name);
    return NULL;
  }
  Py_ssize_t n;
  const char *s = PyUnicode_AsUTF8AndSize(o, &n);
  if (!s) return NULL;
  if (strlen(s) != (size_t)n) {
    PyErr_Format(PyExc_ValueError, "%s contains a NUL character", what);
    return NULL;
  }
  return s;
}

int pondpy_convert_init(pondpy_state *st) {
  /* PyDateTimeAPI is a per-file static of datetime.h: import it here. */
  PyDateTime_IMPORT;
  if (!PyDateTimeAPI) return -1;
  st->datetime_type = Py_NewRef((PyObject *)PyDateTimeAPI->DateTimeType);
  st->epoch = PyDateTimeAPI->DateTime_FromDateAndTime(
      1970, 1, 1, 0, 0, 0, 0, PyDateTimeAPI->TimeZone_UTC, PyDateTimeAPI->DateTimeType);
  return st->epoch ? 0 : -1;
}
