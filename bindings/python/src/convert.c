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

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/*
 * Seconds since the epoch of an aware datetime, floored, exactly: the
 * fields minus tzinfo.utcoffset(o). Computed here rather than as
 * o - epoch: the datetime module looks utcoffset up by a fresh C-string
 * name on every aware subtraction, and CPython's type attribute cache
 * keeps each such name alive (a slow growth test_leaks sees); UTC, the
 * common case, needs no call at all.
 */
static int datetime_ts(pondpy_state *st, PyObject *o, int64_t *out) {
  PyObject *tz = PyDateTime_DATE_GET_TZINFO(o); /* borrowed */
  int64_t off_s = 0, off_us = 0;
  int aware = tz != Py_None;
  if (aware && tz != PyDateTime_TimeZone_UTC) {
    PyObject *off = PyObject_CallMethodOneArg(tz, st->str_utcoffset, o);
    if (!off) return -1;
    if (off == Py_None) {
      aware = 0;
    } else if (!PyDelta_Check(off)) {
      Py_DECREF(off);
      PyErr_Format(PyExc_TypeError, "tzinfo.utcoffset() must return None or a timedelta, not %.100s",
                   Py_TYPE(off)->tp_name);
      return -1;
    } else {
      off_s = (int64_t)PyDateTime_DELTA_GET_DAYS(off) * 86400 + PyDateTime_DELTA_GET_SECONDS(off);
      off_us = PyDateTime_DELTA_GET_MICROSECONDS(off);
    }
    Py_XDECREF(off);
  }
  if (!aware) {
    PyErr_SetString(PyExc_ValueError,
                    "naive datetime: pond needs an aware datetime "
                    "(e.g. tzinfo=datetime.timezone.utc)");
    return -1;
  }
  int64_t days = days_from_civil(PyDateTime_GET_YEAR(o), PyDateTime_GET_MONTH(o),
                                 PyDateTime_GET_DAY(o));
  int64_t secs = days * 86400 + PyDateTime_DATE_GET_HOUR(o) * 3600 +
                 PyDateTime_DATE_GET_MINUTE(o) * 60 + PyDateTime_DATE_GET_SECOND(o) - off_s;
  /* Timedeltas are normalized (0 <= microseconds < 10**6), so the floor of
   * secs + (us - off_us) / 10**6 needs one step down at most. */
  if (PyDateTime_DATE_GET_MICROSECOND(o) < off_us) secs--;
  *out = secs;
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
  return 0;
}
