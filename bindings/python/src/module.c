/*
 * module.c — pond._pond: multi-phase initialization (PEP 489) with module
 * state. Everything the module needs (types, exception classes, json.dumps,
 * interned names) lives in its state, none in C globals, as in CPython's _sqlite.
 */
#include "pondpy.h"

static PyObject *mod_version(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(i)) {
  return PyUnicode_FromString(pond_version());
}

static PyObject *mod_strerror(PyObject *Py_UNUSED(m), PyObject *arg) {
  int overflow;
  long rc = PyLong_AsLongAndOverflow(arg, &overflow);
  if (rc == -1 && PyErr_Occurred()) return NULL;
  const char *s = overflow || rc < INT32_MIN || rc > INT32_MAX ? NULL : pond_strerror((int)rc);
  return PyUnicode_FromString(s ? s : "unknown status");
}

/* For the tests: the int64 seconds a timestamp argument converts to. */
static PyObject *mod_timestamp(PyObject *m, PyObject *arg) {
  int64_t ts;
  if (pondpy_ts(PyModule_GetState(m), arg, &ts) < 0) return NULL;
  return PyLong_FromLongLong(ts);
}

static PyMethodDef mod_methods[] = {
    {"open", (PyCFunction)(void (*)(void))pondpy_open, METH_VARARGS | METH_KEYWORDS,
     "open(path=None, *, storage=None, memory_limit=0, autocreate=False, sync=True)\n--\n\n"
     "Opens a db: in memory (no path, no storage), in the directory path (the embedded file "
     "store), or through storage, any object with scan(prefix) and commit(ops). "
     "Use it as a context manager to close it."},
    {"version", mod_version, METH_NOARGS,
     "version()\n--\n\nThe version of the pond library actually linked."},
    {"strerror", mod_strerror, METH_O, "strerror(code, /)\n--\n\nThe description of a status."},
    {"_timestamp", mod_timestamp, METH_O,
     "_timestamp(ts, /)\n--\n\nThe int seconds a timestamp argument means (for tests)."},
    {NULL, NULL, 0, NULL},
};

static int add_type(PyObject *m, PyType_Spec *spec, PyTypeObject **slot) {
  *slot = (PyTypeObject *)PyType_FromModuleAndSpec(m, spec, NULL);
  return *slot ? PyModule_AddType(m, *slot) : -1;
}

static int mod_exec(PyObject *m) {
  pondpy_state *st = PyModule_GetState(m);
  if (add_type(m, &pondpy_db_spec, &st->Db) < 0 ||
      add_type(m, &pondpy_query_spec, &st->Query) < 0 ||
      add_type(m, &pondpy_set_spec, &st->Set) < 0 ||
      add_type(m, &pondpy_setiter_spec, &st->SetIter) < 0 ||
      add_type(m, &pondpy_txn_spec, &st->Transaction) < 0 || pondpy_errors_init(m, st) < 0 ||
      pondpy_convert_init(st) < 0)
    return -1;
  PyObject *json = PyImport_ImportModule("json");
  if (!json) return -1;
  st->json_dumps = PyObject_GetAttrString(json, "dumps");
  Py_DECREF(json);
  if (!st->json_dumps) return -1;
  if (!(st->str_utcoffset = PyUnicode_InternFromString("utcoffset")) ||
      !(st->str_offset = PyUnicode_InternFromString("offset")) ||
      !(st->str_code = PyUnicode_InternFromString("code")))
    return -1;
  if (PyModule_AddStringConstant(m, "VERSION", POND_VERSION_STRING) < 0) return -1;
  return 0;
}

static int mod_traverse(PyObject *m, visitproc visit, void *arg) {
  pondpy_state *st = PyModule_GetState(m);
  if (!st) return 0;
  Py_VISIT(st->Db);
  Py_VISIT(st->Query);
  Py_VISIT(st->Set);
  Py_VISIT(st->SetIter);
  Py_VISIT(st->Transaction);
  Py_VISIT(st->Error);
  Py_VISIT(st->NotFoundError);
  Py_VISIT(st->InvalidError);
  Py_VISIT(st->OutOfMemoryError);
  Py_VISIT(st->ParseError);
  Py_VISIT(st->LimitError);
  Py_VISIT(st->ConflictError);
  Py_VISIT(st->StorageError);
  Py_VISIT(st->CorruptError);
  Py_VISIT(st->MisuseError);
  Py_VISIT(st->BusyError);
  Py_VISIT(st->json_dumps);
  Py_VISIT(st->datetime_type);
  Py_VISIT(st->str_utcoffset);
  Py_VISIT(st->str_offset);
  Py_VISIT(st->str_code);
  return 0;
}

static int mod_clear(PyObject *m) {
  pondpy_state *st = PyModule_GetState(m);
  if (!st) return 0;
  Py_CLEAR(st->Db);
  Py_CLEAR(st->Query);
  Py_CLEAR(st->Set);
  Py_CLEAR(st->SetIter);
  Py_CLEAR(st->Transaction);
  Py_CLEAR(st->Error);
  Py_CLEAR(st->NotFoundError);
  Py_CLEAR(st->InvalidError);
  Py_CLEAR(st->OutOfMemoryError);
  Py_CLEAR(st->ParseError);
  Py_CLEAR(st->LimitError);
  Py_CLEAR(st->ConflictError);
  Py_CLEAR(st->StorageError);
  Py_CLEAR(st->CorruptError);
  Py_CLEAR(st->MisuseError);
  Py_CLEAR(st->BusyError);
  Py_CLEAR(st->json_dumps);
  Py_CLEAR(st->datetime_type);
  Py_CLEAR(st->str_utcoffset);
  Py_CLEAR(st->str_offset);
  Py_CLEAR(st->str_code);
  return 0;
}

static void mod_free(void *m) { mod_clear((PyObject *)m); }

static PyModuleDef_Slot mod_slots[] = {
    {Py_mod_exec, (void *)mod_exec},
#if PY_VERSION_HEX >= 0x030C0000
    /* Storage callbacks use PyGILState_Ensure, which knows one interpreter. */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
    {0, NULL},
};

PyModuleDef pondpy_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pond._pond",
    .m_doc = "The C extension behind the pond package; import pond instead.",
    .m_size = sizeof(pondpy_state),
    .m_methods = mod_methods,
    .m_slots = mod_slots,
    .m_traverse = mod_traverse,
    .m_clear = mod_clear,
    .m_free = mod_free,
};

PyMODINIT_FUNC PyInit__pond(void) { return PyModuleDef_Init(&pondpy_module); }
