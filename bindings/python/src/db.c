/*
 * db.c — the Db type: opening and closing, definitions, transactions,
 * customers and attributes. Tag methods are in tags.c.
 *
 * Every method converts all its arguments first (which may run Python code:
 * __index__, json.dumps), then takes the handle with pondpy_db_handle, then
 * calls pond with the GIL released. Nothing runs Python code between taking
 * the handle and the call, so a close() from another thread cannot slip in.
 */
#include "pondpy.h"

#include <time.h>

int pondpy_nargs(const char *fn, Py_ssize_t nargs, Py_ssize_t n) {
  if (nargs == n) return 0;
  PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd argument%s (%zd given)", fn, n,
               n == 1 ? "" : "s", nargs);
  return -1;
}

pond_db *pondpy_db_handle(pondpy_db *self) {
  if (!self->db || self->closing) {
    pondpy_misuse(pondpy_state_of((PyObject *)self), "the db is closed");
    return NULL;
  }
  if (self->storage) {
    if (pondpy_storage_in_callback(self->storage)) {
      pondpy_misuse(pondpy_state_of((PyObject *)self),
                    "a storage callback called its own db (that would deadlock)");
      return NULL;
    }
    /* A callback exception the library chose not to report is stale now. */
    Py_XDECREF(pondpy_storage_take_exc(self->storage));
  }
  return self->db;
}

PyObject *pondpy_db_raise(pondpy_db *self, int rc) {
  PyObject *cause = self->storage ? pondpy_storage_take_exc(self->storage) : NULL;
  return pondpy_raise(pondpy_state_of((PyObject *)self), self->db, rc, cause);
}

/* ----------------------------------------------------------- open / close */

PyObject *pondpy_open(PyObject *module, PyObject *args, PyObject *kwargs) {
  static char *kwlist[] = {"path", "storage", "memory_limit", "autocreate", "sync", NULL};
  pondpy_state *st = PyModule_GetState(module);
  PyObject *path = Py_None, *storage = Py_None, *limit_obj = NULL;
  int autocreate = 0, sync = 1;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O$OOpp:open", kwlist, &path, &storage,
                                   &limit_obj, &autocreate, &sync))
    return NULL;

  size_t limit = 0;
  if (limit_obj) {
    if (PyBool_Check(limit_obj) || !PyIndex_Check(limit_obj)) {
      PyErr_Format(PyExc_TypeError, "memory_limit must be an int, not %.100s",
                   Py_TYPE(limit_obj)->tp_name);
      return NULL;
    }
    PyObject *i = PyNumber_Index(limit_obj);
    if (!i) return NULL;
    limit = PyLong_AsSize_t(i);
    Py_DECREF(i);
    if (limit == (size_t)-1 && PyErr_Occurred()) return NULL;
  }
  PyObject *fspath = NULL;
  if (path != Py_None) {
    if (storage != Py_None) {
      PyErr_SetString(PyExc_ValueError, "open() takes a path or a storage, not both");
      return NULL;
    }
    if (limit) {
      PyErr_SetString(PyExc_ValueError,
                      "memory_limit is not available with a path (pond_open_path takes no options)");
      return NULL;
    }
    if (!PyUnicode_FSConverter(path, &fspath)) return NULL;
  } else if (!sync) {
    PyErr_SetString(PyExc_ValueError, "sync=False applies to the file store (a path) only");
    return NULL;
  }

  pondpy_db *self = (pondpy_db *)st->Db->tp_alloc(st->Db, 0);
  if (!self || !(self->names = PyThread_allocate_lock())) {
    Py_XDECREF(fspath);
    Py_XDECREF(self);
    return PyErr_NoMemory();
  }

  int rc;
  pond_db *db = NULL;
  if (fspath) {
    const char *p = PyBytes_AS_STRING(fspath);
    unsigned flags = (sync ? 0u : POND_NOSYNC) | (autocreate ? POND_AUTOCREATE : 0u);
    Py_BEGIN_ALLOW_THREADS
    rc = pond_open_path(p, flags, &db);
    Py_END_ALLOW_THREADS
    Py_DECREF(fspath);
    if (rc < 0) {
      Py_DECREF(self);
      return pondpy_raise(st, NULL, rc, NULL);
    }
  } else {
    pond_storage vt;
    pond_options opt;
    memset(&opt, 0, sizeof opt);
    opt.version = POND_OPTIONS_V1;
    opt.memory_limit = limit;
    opt.flags = autocreate ? POND_AUTOCREATE : 0u;
    if (storage != Py_None) {
      if (pondpy_storage_new(storage, &vt) < 0) {
        Py_DECREF(self);
        return NULL;
      }
      opt.storage = &vt;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = pond_open(&opt, &db);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
      pondpy_storage *ps = opt.storage ? vt.ctx : NULL;
      pondpy_raise(st, NULL, rc, pondpy_storage_take_exc(ps));
      pondpy_storage_free(ps); /* pond did not take it */
      Py_DECREF(self);
      return NULL;
    }
    self->storage = opt.storage ? vt.ctx : NULL;
  }
  self->db = db;
  return (PyObject *)self;
}

/* Waits (GIL released) until no call of another thread is inside self. */
static void wait_idle(pondpy_db *self) {
  struct timespec pause = {0, 200 * 1000};
  while (self->busy > 0) {
    Py_BEGIN_ALLOW_THREADS
    nanosleep(&pause, NULL);
    Py_END_ALLOW_THREADS
  }
}

/*
 * Closes the handle: new calls see "closed", running ones finish, live sets
 * are emptied, then pond_close. A second closer waits for the first.
 */
static void close_now(pondpy_db *self) {
  if (!self->db) return;
  if (self->closing) {
    struct timespec pause = {0, 200 * 1000};
    while (self->db) {
      Py_BEGIN_ALLOW_THREADS
      nanosleep(&pause, NULL);
      Py_END_ALLOW_THREADS
    }
    return;
  }
  self->closing = 1;
  wait_idle(self);
  pondpy_sets_release(self);
  pondpy_queries_release(self);
  pond_db *db = self->db;
  /* pond_close calls the storage's close, which takes the GIL. */
  Py_BEGIN_ALLOW_THREADS
  pond_close(db);
  Py_END_ALLOW_THREADS
  self->db = NULL;
  self->storage = NULL;
  self->closing = 0;
}

static PyObject *db_close(pondpy_db *self, PyObject *Py_UNUSED(ignored)) {
  if (self->storage && pondpy_storage_in_callback(self->storage))
    return pondpy_misuse(pondpy_state_of((PyObject *)self),
                         "a storage callback cannot close its own db");
  close_now(self);
  Py_RETURN_NONE;
}

static PyObject *db_enter(pondpy_db *self, PyObject *Py_UNUSED(ignored)) {
  if (!pondpy_db_handle(self)) return NULL;
  return Py_NewRef(self);
}

static PyObject *db_exit(pondpy_db *self, PyObject *const *Py_UNUSED(args),
                         Py_ssize_t Py_UNUSED(nargs)) {
  PyObject *r = db_close(self, NULL);
  if (!r) return NULL;
  Py_DECREF(r);
  Py_RETURN_FALSE;
}

static int db_traverse(pondpy_db *self, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(self));
  return pondpy_storage_traverse(self->storage, visit, arg);
}

/* A cycle through a Python storage object: the collector closes the db. */
static int db_clear(pondpy_db *self) {
  close_now(self);
  return 0;
}

static void db_dealloc(pondpy_db *self) {
  PyTypeObject *tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  close_now(self);
  if (self->names) PyThread_free_lock(self->names);
  tp->tp_free(self);
  Py_DECREF(tp);
}

static PyObject *db_get_closed(pondpy_db *self, void *Py_UNUSED(c)) {
  return PyBool_FromLong(self->db == NULL);
}

static PyObject *db_get_memory_used(pondpy_db *self, void *Py_UNUSED(c)) {
  pond_db *db = pondpy_db_handle(self);
  return db ? PyLong_FromSize_t(pond_memory_used(db)) : NULL;
}

static PyObject *db_repr(pondpy_db *self) {
  return PyUnicode_FromFormat("<pond.Db %s at %p>", self->db ? "open" : "closed", self);
}

/* ------------------------------------------------------------ definitions */

static PyObject *db_define(pondpy_db *self, PyObject *doc) {
  pondpy_state *st = pondpy_state_of((PyObject *)self);
  PyObject *text;
  if (PyDict_Check(doc)) {
    PyObject *kw = Py_BuildValue("{s:O}", "ensure_ascii", Py_False);
    PyObject *a = kw ? PyTuple_Pack(1, doc) : NULL;
    text = a ? PyObject_Call(st->json_dumps, a, kw) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(kw);
    if (!text) return NULL;
  } else if (PyUnicode_Check(doc)) {
    text = Py_NewRef(doc);
  } else {
    PyErr_Format(PyExc_TypeError, "define() takes a dict or a JSON str, not %.100s",
                 Py_TYPE(doc)->tp_name);
    return NULL;
  }
  Py_ssize_t len;
  const char *json = PyUnicode_AsUTF8AndSize(text, &len);
  pond_db *db = json ? pondpy_db_handle(self) : NULL;
  if (!db) {
    Py_DECREF(text);
    return NULL;
  }
  int rc;
  PONDPY_CALL_NAMES(self, rc = pond_define(db, json, (size_t)len));
  Py_DECREF(text);
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

/* ----------------------------------------------------------- transactions */

/* pond_begin/commit/rollback; commit and rollback may change tag names. */
static PyObject *txn_call(pondpy_db *self, int which) {
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  if (which == 0)
    PONDPY_CALL(self, rc = pond_begin(db));
  else if (which == 1)
    PONDPY_CALL_NAMES(self, rc = pond_commit(db));
  else
    PONDPY_CALL_NAMES(self, rc = pond_rollback(db));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

static PyObject *db_begin(pondpy_db *self, PyObject *Py_UNUSED(i)) { return txn_call(self, 0); }
static PyObject *db_commit(pondpy_db *self, PyObject *Py_UNUSED(i)) { return txn_call(self, 1); }
static PyObject *db_rollback(pondpy_db *self, PyObject *Py_UNUSED(i)) { return txn_call(self, 2); }

typedef struct {
  PyObject_HEAD
  pondpy_db *db;
} pondpy_txn;

static PyObject *db_transaction(pondpy_db *self, PyObject *Py_UNUSED(i)) {
  pondpy_state *st = pondpy_state_of((PyObject *)self);
  pondpy_txn *t = PyObject_GC_New(pondpy_txn, st->Transaction);
  if (!t) return NULL;
  t->db = (pondpy_db *)Py_NewRef(self);
  PyObject_GC_Track(t);
  return (PyObject *)t;
}

static PyObject *txn_enter(pondpy_txn *t, PyObject *Py_UNUSED(i)) {
  PyObject *r = txn_call(t->db, 0);
  if (!r) return NULL;
  Py_DECREF(r);
  return Py_NewRef(t->db);
}

/* Commits on success; on an exception rolls back and lets it propagate. */
static PyObject *txn_exit(pondpy_txn *t, PyObject *const *args, Py_ssize_t nargs) {
  if (pondpy_nargs("__exit__", nargs, 3) < 0) return NULL;
  PyObject *r = txn_call(t->db, args[0] == Py_None ? 1 : 2);
  if (!r) return NULL;
  Py_DECREF(r);
  Py_RETURN_FALSE;
}

static int txn_traverse(pondpy_txn *t, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(t));
  Py_VISIT(t->db);
  return 0;
}

static int txn_clear(pondpy_txn *t) {
  Py_CLEAR(t->db);
  return 0;
}

static void txn_dealloc(pondpy_txn *t) {
  PyTypeObject *tp = Py_TYPE(t);
  PyObject_GC_UnTrack(t);
  txn_clear(t);
  tp->tp_free(t);
  Py_DECREF(tp);
}

static PyMethodDef txn_methods[] = {
    {"__enter__", (PyCFunction)txn_enter, METH_NOARGS, "pond_begin; returns the db."},
    {"__exit__", (PyCFunction)(void (*)(void))txn_exit, METH_FASTCALL,
     "pond_commit, or pond_rollback when the block raised."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot txn_slots[] = {
    {Py_tp_doc, "A transaction of a Db: `with db.transaction():` commits on success "
                "and rolls back on an exception."},
    {Py_tp_methods, txn_methods},
    {Py_tp_traverse, txn_traverse},
    {Py_tp_clear, txn_clear},
    {Py_tp_dealloc, txn_dealloc},
    {0, NULL},
};

PyType_Spec pondpy_txn_spec = {
    .name = "pond.Transaction",
    .basicsize = sizeof(pondpy_txn),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = txn_slots,
};

/* -------------------------------------------------------------- customers */

static PyObject *db_upsert(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  uint64_t cid;
  int64_t ts;
  if (pondpy_nargs("upsert", nargs, 2) < 0 || pondpy_cid(args[0], &cid) < 0 ||
      pondpy_ts(pondpy_state_of((PyObject *)self), args[1], &ts) < 0)
    return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  PONDPY_CALL(self, rc = pond_customer_upsert(db, cid, ts));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

static PyObject *db_delete(pondpy_db *self, PyObject *arg) {
  uint64_t cid;
  if (pondpy_cid(arg, &cid) < 0) return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  PONDPY_CALL(self, rc = pond_customer_delete(db, cid));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

static int db_contains(pondpy_db *self, PyObject *arg) {
  uint64_t cid;
  int ok = pondpy_cid_probe(arg, &cid);
  if (ok <= 0) return ok;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return -1;
  int rc;
  PONDPY_CALL(self, rc = pond_customer_exists(db, cid));
  if (rc < 0) {
    pondpy_db_raise(self, rc);
    return -1;
  }
  return rc;
}

static Py_ssize_t db_len(pondpy_db *self) {
  pond_db *db = pondpy_db_handle(self);
  if (!db) return -1;
  uint64_t n;
  PONDPY_CALL(self, n = pond_customer_count(db));
  if (n > (uint64_t)PY_SSIZE_T_MAX) {
    PyErr_SetString(PyExc_OverflowError, "customer count exceeds sys.maxsize");
    return -1;
  }
  return (Py_ssize_t)n;
}

/* -------------------------------------------------------------- attributes */

static PyObject *db_set_attr(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  pondpy_state *st = pondpy_state_of((PyObject *)self);
  uint64_t cid;
  const char *name;
  if (pondpy_nargs("set_attr", nargs, 3) < 0 || pondpy_cid(args[0], &cid) < 0 ||
      !(name = pondpy_name(args[1], "attribute name")))
    return NULL;
  PyObject *v = args[2];
  enum { CLEAR, INT, STR } kind;
  int64_t i = 0;
  const char *s = NULL;
  if (v == Py_None) {
    kind = CLEAR;
  } else if (PyBool_Check(v)) {
    kind = INT;
    i = v == Py_True;
  } else if (PyUnicode_Check(v)) {
    kind = STR;
    if (!(s = pondpy_name(v, "attribute value"))) return NULL;
  } else if (PyObject_TypeCheck(v, (PyTypeObject *)st->datetime_type)) {
    kind = INT;
    if (pondpy_ts(st, v, &i) < 0) return NULL;
  } else if (PyIndex_Check(v)) {
    kind = INT;
    PyObject *x = PyNumber_Index(v);
    long long n = x ? PyLong_AsLongLong(x) : -1;
    Py_XDECREF(x);
    if (n == -1 && PyErr_Occurred()) return NULL;
    i = n;
  } else {
    PyErr_Format(PyExc_TypeError,
                 "attribute value must be int, str, bool, an aware datetime or None, not %.100s",
                 Py_TYPE(v)->tp_name);
    return NULL;
  }
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  PONDPY_CALL(self, rc = kind == CLEAR ? pond_attr_clear(db, cid, name)
                         : kind == INT ? pond_attr_set_int(db, cid, name, i)
                                       : pond_attr_set_str(db, cid, name, s));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

/* ------------------------------------------------------------------- type */

/* Tag methods, defined in tags.c. */
PyObject *pondpy_db_tag(pondpy_db *, PyObject *const *, Py_ssize_t);
PyObject *pondpy_db_untag(pondpy_db *, PyObject *const *, Py_ssize_t);
PyObject *pondpy_db_has_tag(pondpy_db *, PyObject *const *, Py_ssize_t);
PyObject *pondpy_db_tags_of(pondpy_db *, PyObject *);
PyObject *pondpy_db_tag_many(pondpy_db *, PyObject *const *, Py_ssize_t);
PyObject *pondpy_db_members(pondpy_db *, PyObject *);
PyObject *pondpy_db_tag_count(pondpy_db *, PyObject *);
PyObject *pondpy_db_rename_tag(pondpy_db *, PyObject *const *, Py_ssize_t);
PyObject *pondpy_db_merge_tags(pondpy_db *, PyObject *const *, Py_ssize_t);
PyObject *pondpy_db_delete_tag(pondpy_db *, PyObject *);
/* Event and lifecycle methods, defined in lifecycle.c. */
PyObject *pondpy_db_event(pondpy_db *, PyObject *const *, Py_ssize_t);
PyObject *pondpy_db_message(pondpy_db *, PyObject *const *, Py_ssize_t);
PyObject *pondpy_db_stage(pondpy_db *, PyObject *const *, Py_ssize_t);
PyObject *pondpy_db_transition(pondpy_db *, PyObject *const *, Py_ssize_t, PyObject *);
PyObject *pondpy_db_tick(pondpy_db *, PyObject *);
PyObject *pondpy_db_funnel(pondpy_db *, PyObject *const *, Py_ssize_t);
PyObject *pondpy_db_define_diagnostics(pondpy_db *, PyObject *);

#define FAST(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL

static PyMethodDef db_methods[] = {
    {"close", (PyCFunction)db_close, METH_NOARGS,
     "close($self)\n--\n\nCloses the db (idempotent). Waits for calls running in other threads; "
     "sets of this db become unusable (MisuseError)."},
    {"__enter__", (PyCFunction)db_enter, METH_NOARGS, NULL},
    {"__exit__", FAST(db_exit), "Closes the db."},
    {"define", (PyCFunction)db_define, METH_O,
     "define($self, doc, /)\n--\n\nApplies a definition document (a dict, or its JSON text)."},
    {"begin", (PyCFunction)db_begin, METH_NOARGS, "begin($self)\n--\n\nStarts a transaction."},
    {"commit", (PyCFunction)db_commit, METH_NOARGS, "commit($self)\n--\n\nCommits the transaction."},
    {"rollback", (PyCFunction)db_rollback, METH_NOARGS,
     "rollback($self)\n--\n\nRolls the transaction back."},
    {"transaction", (PyCFunction)db_transaction, METH_NOARGS,
     "transaction($self)\n--\n\nA context manager: begin; commit on success, rollback on error."},
    {"upsert", FAST(db_upsert),
     "upsert($self, cid, ts, /)\n--\n\nCreates customer cid (added_at = ts) unless it exists."},
    {"delete", (PyCFunction)db_delete, METH_O,
     "delete($self, cid, /)\n--\n\nErases customer cid and everything about it."},
    {"set_attr", FAST(db_set_attr),
     "set_attr($self, cid, name, value, /)\n--\n\nSets an attribute: int, str, bool, aware datetime; "
     "None clears it."},
    {"tag", FAST(pondpy_db_tag), "tag($self, cid, tag, ts, /)\n--\n\nAdds tag (\"group/name\") to cid."},
    {"untag", FAST(pondpy_db_untag), "untag($self, cid, tag, ts, /)\n--\n\nRemoves tag from cid."},
    {"has_tag", FAST(pondpy_db_has_tag), "has_tag($self, cid, tag, /)\n--\n\nWhether cid has tag."},
    {"tags_of", (PyCFunction)pondpy_db_tags_of, METH_O,
     "tags_of($self, cid, /)\n--\n\nThe names of cid's tags, in tag id order."},
    {"tag_many", FAST(pondpy_db_tag_many),
     "tag_many($self, tag, cids, ts, /)\n--\n\nAdds tag to every customer of cids, all or nothing. "
     "cids: any iterable of ints; buffers of uint64 (array('Q'), numpy) are read directly."},
    {"members", (PyCFunction)pondpy_db_members, METH_O,
     "members($self, tag, /)\n--\n\nA snapshot of tag's members as a Set."},
    {"tag_count", (PyCFunction)pondpy_db_tag_count, METH_O,
     "tag_count($self, tag, /)\n--\n\nThe number of tag's members."},
    {"rename_tag", FAST(pondpy_db_rename_tag),
     "rename_tag($self, tag, new_name, /)\n--\n\nRenames a tag; its members stay."},
    {"merge_tags", FAST(pondpy_db_merge_tags),
     "merge_tags($self, source, into, ts, /)\n--\n\nAdds into to every member of source, then "
     "deletes source."},
    {"delete_tag", (PyCFunction)pondpy_db_delete_tag, METH_O,
     "delete_tag($self, tag, /)\n--\n\nRemoves tag from every customer and forgets it."},
    {"event", FAST(pondpy_db_event),
     "event($self, cid, name, ts, /)\n--\n\nThe host's event name for cid at ts (pond_event)."},
    {"message", FAST(pondpy_db_message),
     "message($self, cid, text, ts, /)\n--\n\nA chat message of cid at ts (pond_message)."},
    {"stage", FAST(pondpy_db_stage),
     "stage($self, cid, machine, /)\n--\n\n(state, since) of cid in machine."},
    {"transition", (PyCFunction)(void (*)(void))pondpy_db_transition, METH_FASTCALL | METH_KEYWORDS,
     "transition($self, cid, machine, state, ts, /, *, force=False)\n--\n\nMoves cid to state "
     "(pond_transition; force: POND_FORCE)."},
    {"tick", (PyCFunction)pondpy_db_tick, METH_O,
     "tick($self, now, /)\n--\n\nFires every timer due at or before now."},
    {"funnel", FAST(pondpy_db_funnel),
     "funnel($self, machine, since, until, /)\n--\n\nThe funnel of machine over [since, until): "
     "a list of dicts (kind 'state' or 'step')."},
    {"query", (PyCFunction)pondpy_db_query, METH_O,
     "query($self, expr, /)\n--\n\nPrepares a segment query (QUERY.md): a Query with eval(now), "
     "count(now) and test(cid, now). ParseError (with .offset) for a bad expression."},
    {"define_diagnostics", (PyCFunction)pondpy_db_define_diagnostics, METH_NOARGS,
     "define_diagnostics($self, /)\n--\n\nWarnings of the last successful define."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef db_getset[] = {
    {"closed", (getter)db_get_closed, NULL, "True once close() has run.", NULL},
    {"memory_used", (getter)db_get_memory_used, NULL,
     "Bytes allocated by the library for this db.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot db_slots[] = {
    {Py_tp_doc, "A pond database (one tenant). Made by pond.open()."},
    {Py_tp_methods, db_methods},
    {Py_tp_getset, db_getset},
    {Py_tp_repr, db_repr},
    {Py_tp_traverse, db_traverse},
    {Py_tp_clear, db_clear},
    {Py_tp_dealloc, db_dealloc},
    {Py_sq_contains, db_contains},
    {Py_sq_length, db_len},
    {0, NULL},
};

PyType_Spec pondpy_db_spec = {
    .name = "pond.Db",
    .basicsize = sizeof(pondpy_db),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = db_slots,
};
