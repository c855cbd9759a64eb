/*
 * storage.c — a Python object as pond's storage (a pond_storage V1 vtable).
 *
 * The object has scan(prefix: bytes) -> iterable of (key, value) in key order,
 * and commit(ops: list[(key, value | None)]). pond calls the vtable from
 * inside an API call, on the calling thread, with its handle mutex held and
 * usually without the GIL (the binding releases it around calls), so every
 * callback takes the GIL with PyGILState_Ensure first.
 *
 * A Python exception inside a callback cannot cross pond's C frames: it is
 * kept here (with the thread that raised it), the callback fails, pond fails
 * the call with POND_ESTORAGE (or whatever it makes of a failed scan), and
 * the binding, back in that thread, raises StorageError with the kept
 * exception as __cause__. errmsg gives pond a one-line description of it.
 */
#include "pondpy.h"

#include <stdio.h>

#define MSG_MAX 400

struct pondpy_storage {
  PyObject *obj;        /* the host's storage object (strong) */
  PyObject *name_scan;  /* interned "scan", "commit" */
  PyObject *name_commit;
  PyObject *exc;        /* exception of the last failing callback, or NULL */
  unsigned long exc_thread;
  unsigned long cb_thread; /* thread inside a callback (valid if cb_depth) */
  int cb_depth;
  char msg[MSG_MAX];
};

/* Keeps the current Python exception for the calling thread to re-raise. */
static void keep_exception(pondpy_storage *ps, const char *where) {
#if PY_VERSION_HEX >= 0x030C0000
  PyObject *exc = PyErr_GetRaisedException();
#else
  PyObject *type, *exc, *tb;
  PyErr_Fetch(&type, &exc, &tb);
  PyErr_NormalizeException(&type, &exc, &tb);
  if (exc && tb) PyException_SetTraceback(exc, tb);
  Py_XDECREF(type);
  Py_XDECREF(tb);
#endif
  if (!exc) {
    snprintf(ps->msg, sizeof ps->msg, "storage.%s failed", where);
    return;
  }
  PyObject *text = PyObject_Str(exc);
  const char *s = text ? PyUnicode_AsUTF8(text) : NULL;
  if (!s) PyErr_Clear();
  snprintf(ps->msg, sizeof ps->msg, "storage.%s raised %s%s%s", where, Py_TYPE(exc)->tp_name,
           s && *s ? ": " : "", s ? s : "");
  Py_XDECREF(text);
  Py_XSETREF(ps->exc, exc);
  ps->exc_thread = PyThread_get_thread_ident();
}

static void cb_enter(pondpy_storage *ps) {
  ps->cb_depth++;
  ps->cb_thread = PyThread_get_thread_ident();
}

static void cb_leave(pondpy_storage *ps) { ps->cb_depth--; }

/* Calls each() with the two buffers of one (key, value) item. */
static int scan_item(PyObject *item, int (*each)(void *, const pond_kv *), void *arg, int *rc) {
  if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
    PyErr_Format(PyExc_TypeError, "storage.scan must yield (key, value) pairs of bytes, not %.100s",
                 Py_TYPE(item)->tp_name);
    return -1;
  }
  Py_buffer k, v;
  if (PyObject_GetBuffer(PyTuple_GET_ITEM(item, 0), &k, PyBUF_SIMPLE) < 0) return -1;
  if (PyObject_GetBuffer(PyTuple_GET_ITEM(item, 1), &v, PyBUF_SIMPLE) < 0) {
    PyBuffer_Release(&k);
    return -1;
  }
  pond_kv kv = {k.buf, (size_t)k.len, v.buf, (size_t)v.len};
  /* An empty value must still be a value, not "delete". */
  static const char empty = 0;
  if (!kv.val) kv.val = &empty;
  *rc = each(arg, &kv);
  PyBuffer_Release(&v);
  PyBuffer_Release(&k);
  return 0;
}

static int st_scan(void *ctx, const void *prefix, size_t plen,
                   int (*each)(void *arg, const pond_kv *kv), void *arg) {
  pondpy_storage *ps = ctx;
  PyGILState_STATE g = PyGILState_Ensure();
  cb_enter(ps);
  int rc = 0;
  PyObject *it = NULL, *item;
  PyObject *p = PyBytes_FromStringAndSize(prefix, (Py_ssize_t)plen);
  PyObject *res = p ? PyObject_CallMethodOneArg(ps->obj, ps->name_scan, p) : NULL;
  Py_XDECREF(p);
  if (!res || !(it = PyObject_GetIter(res))) goto fail;
  while ((item = PyIter_Next(it))) {
    int bad = scan_item(item, each, arg, &rc);
    Py_DECREF(item);
    if (bad) goto fail;
    if (rc) goto done; /* pond's own verdict on the record: no Python error */
  }
  if (PyErr_Occurred()) goto fail;
done:
  Py_XDECREF(it);
  Py_XDECREF(res);
  cb_leave(ps);
  PyGILState_Release(g);
  return rc;
fail:
  keep_exception(ps, "scan");
  rc = -1;
  goto done;
}

static PyObject *ops_list(const pond_kv *ops, size_t n) {
  PyObject *list = PyList_New((Py_ssize_t)n);
  if (!list) return NULL;
  for (size_t i = 0; i < n; i++) {
    PyObject *k = PyBytes_FromStringAndSize(ops[i].key, (Py_ssize_t)ops[i].klen);
    PyObject *v = ops[i].val ? PyBytes_FromStringAndSize(ops[i].val, (Py_ssize_t)ops[i].vlen)
                             : Py_NewRef(Py_None);
    PyObject *t = k && v ? PyTuple_Pack(2, k, v) : NULL;
    Py_XDECREF(k);
    Py_XDECREF(v);
    if (!t) {
      Py_DECREF(list);
      return NULL;
    }
    PyList_SET_ITEM(list, (Py_ssize_t)i, t);
  }
  return list;
}

static int st_commit(void *ctx, const pond_kv *ops, size_t n) {
  pondpy_storage *ps = ctx;
  PyGILState_STATE g = PyGILState_Ensure();
  cb_enter(ps);
  int rc = 0;
  PyObject *list = ops_list(ops, n);
  PyObject *res = list ? PyObject_CallMethodOneArg(ps->obj, ps->name_commit, list) : NULL;
  Py_XDECREF(list);
  if (!res) {
    keep_exception(ps, "commit");
    rc = -1;
  }
  Py_XDECREF(res);
  cb_leave(ps);
  PyGILState_Release(g);
  return rc;
}

static const char *st_errmsg(void *ctx) {
  pondpy_storage *ps = ctx;
  return ps->msg[0] ? ps->msg : NULL;
}

void pondpy_storage_free(pondpy_storage *ps) {
  if (!ps) return;
  PyGILState_STATE g = PyGILState_Ensure();
  Py_XDECREF(ps->exc);
  Py_XDECREF(ps->name_commit);
  Py_XDECREF(ps->name_scan);
  Py_XDECREF(ps->obj);
  PyMem_RawFree(ps);
  PyGILState_Release(g);
}

/* The host's object is the host's: pond only drops its reference. */
static void st_close(void *ctx) { pondpy_storage_free(ctx); }

int pondpy_storage_new(PyObject *obj, pond_storage *vt) {
  static const char *const need[] = {"scan", "commit"};
  for (size_t i = 0; i < 2; i++) {
    PyObject *m = PyObject_GetAttrString(obj, need[i]);
    int ok = m && PyCallable_Check(m);
    Py_XDECREF(m);
    if (!ok) {
      PyErr_Clear();
      PyErr_Format(PyExc_TypeError, "storage must have a callable %s() method (%.100s has none)",
                   need[i], Py_TYPE(obj)->tp_name);
      return -1;
    }
  }
  pondpy_storage *ps = PyMem_RawCalloc(1, sizeof *ps);
  if (!ps) {
    PyErr_NoMemory();
    return -1;
  }
  ps->name_scan = PyUnicode_InternFromString("scan");
  ps->name_commit = PyUnicode_InternFromString("commit");
  ps->obj = Py_NewRef(obj);
  if (!ps->name_scan || !ps->name_commit) {
    pondpy_storage_free(ps);
    return -1;
  }
  memset(vt, 0, sizeof *vt);
  vt->version = POND_STORAGE_V1;
  vt->ctx = ps;
  vt->scan = st_scan;
  vt->commit = st_commit;
  vt->close = st_close;
  vt->errmsg = st_errmsg;
  return 0;
}

PyObject *pondpy_storage_take_exc(pondpy_storage *ps) {
  if (!ps || !ps->exc || ps->exc_thread != PyThread_get_thread_ident()) return NULL;
  PyObject *exc = ps->exc;
  ps->exc = NULL;
  ps->msg[0] = 0;
  return exc;
}

int pondpy_storage_in_callback(const pondpy_storage *ps) {
  return ps && ps->cb_depth > 0 && ps->cb_thread == PyThread_get_thread_ident();
}

int pondpy_storage_traverse(pondpy_storage *ps, visitproc visit, void *arg) {
  if (ps) {
    Py_VISIT(ps->obj);
    Py_VISIT(ps->exc);
  }
  return 0;
}
