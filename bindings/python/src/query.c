/*
 * query.c — the Query type (a prepared segment query, pond_query) and
 * Db.query.
 *
 *   q = db.query("tag('来源/门店扫码') AND spend >= 1000")
 *   q.eval(now) -> Set     q.count(now) -> int     q.test(cid, now) -> bool
 *
 * Lifetime as for Set: a Query keeps its Db alive and sits in the Db's list
 * of live queries; closing the Db frees every listed pond_query first (pond
 * requires it), after which the Query raises MisuseError. Every library
 * call runs with the GIL released (PONDPY_CALL), so a long evaluation does
 * not hold other threads up. A bad expression raises ParseError with
 * .offset (the byte offset in the UTF-8 text), LimitError past the limits.
 */
#include "pondpy.h"

static pondpy_state *query_state(pondpy_query *self) { return pondpy_state_of((PyObject *)self); }

static pond_db *query_handle(pondpy_query *self) {
  if (!self->q) {
    pondpy_misuse(query_state(self), "the db of this query is closed");
    return NULL;
  }
  return pondpy_db_handle(self->db);
}

static void unlink_query(pondpy_query *self) {
  pondpy_db *db = self->db;
  if (self->prev) self->prev->next = self->next;
  else if (db && db->queries == self) db->queries = self->next;
  if (self->next) self->next->prev = self->prev;
  self->prev = self->next = NULL;
}

void pondpy_queries_release(pondpy_db *db) {
  pondpy_query *p = db->queries, *next;
  db->queries = NULL;
  for (; p; p = next) {
    next = p->next;
    pond_query_free(p->q);
    p->q = NULL;
    p->prev = p->next = NULL;
  }
}

PyObject *pondpy_db_query(pondpy_db *self, PyObject *arg) {
  pondpy_state *st = pondpy_state_of((PyObject *)self);
  Py_ssize_t len;
  const char *text = PyUnicode_Check(arg) ? PyUnicode_AsUTF8AndSize(arg, &len) : NULL;
  if (!text) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "query: expr must be a str");
    return NULL;
  }
  pondpy_query *q = PyObject_GC_New(pondpy_query, st->Query);
  if (!q) return NULL;
  q->q = NULL;
  q->db = (pondpy_db *)Py_NewRef(self);
  q->text = Py_NewRef(arg);
  q->prev = q->next = NULL;
  PyObject_GC_Track(q);
  pond_db *db = pondpy_db_handle(self);
  if (!db) {
    Py_DECREF(q);
    return NULL;
  }
  int rc;
  pond_query *pq = NULL;
  /* text stays valid: q holds the str, and CPython caches its UTF-8 */
  PONDPY_CALL(self, rc = pond_query_prepare(db, text, (size_t)len, &pq));
  if (rc < 0) {
    Py_DECREF(q);
    return pondpy_db_raise(self, rc);
  }
  /* attach: no Python code runs between the call and here */
  q->q = pq;
  q->next = self->queries;
  if (q->next) q->next->prev = q;
  self->queries = q;
  return (PyObject *)q;
}

static PyObject *query_eval(pondpy_query *self, PyObject *arg) {
  int64_t now;
  if (pondpy_ts(query_state(self), arg, &now) < 0) return NULL;
  pondpy_set *set = pondpy_set_new(query_state(self), self->db);
  pond_db *db = set ? query_handle(self) : NULL;
  if (!db) {
    Py_XDECREF(set);
    return NULL;
  }
  int rc;
  pond_set *s = NULL;
  pond_query *q = self->q;
  PONDPY_CALL(self->db, rc = pond_query_eval(q, now, &s));
  if (rc < 0) {
    Py_DECREF(set);
    return pondpy_db_raise(self->db, rc);
  }
  pondpy_set_attach(set, s);
  return (PyObject *)set;
}

static PyObject *query_count(pondpy_query *self, PyObject *arg) {
  int64_t now;
  if (pondpy_ts(query_state(self), arg, &now) < 0) return NULL;
  pond_db *db = query_handle(self);
  if (!db) return NULL;
  int rc;
  uint64_t n = 0;
  pond_query *q = self->q;
  PONDPY_CALL(self->db, rc = pond_query_count(q, now, &n));
  if (rc < 0) return pondpy_db_raise(self->db, rc);
  return PyLong_FromUnsignedLongLong(n);
}

static PyObject *query_test(pondpy_query *self, PyObject *const *args, Py_ssize_t nargs) {
  uint64_t cid;
  int64_t now;
  if (pondpy_nargs("test", nargs, 2) < 0 || pondpy_cid(args[0], &cid) < 0 ||
      pondpy_ts(query_state(self), args[1], &now) < 0)
    return NULL;
  pond_db *db = query_handle(self);
  if (!db) return NULL;
  int rc;
  pond_query *q = self->q;
  PONDPY_CALL(self->db, rc = pond_query_test(q, cid, now));
  if (rc < 0) return pondpy_db_raise(self->db, rc);
  return PyBool_FromLong(rc);
}

static PyObject *query_get_text(pondpy_query *self, void *Py_UNUSED(c)) {
  return Py_NewRef(self->text);
}

static PyObject *query_repr(pondpy_query *self) {
  return PyUnicode_FromFormat("<pond.Query %R%s>", self->text, self->q ? "" : " (db closed)");
}

static int query_traverse(pondpy_query *self, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(self->db);
  return 0;
}

static int query_clear(pondpy_query *self) {
  if (self->q) {
    /* pond_query_free takes the handle's mutex: not with the GIL held
     * while another thread may be inside the db */
    pond_query *q = self->q;
    unlink_query(self);
    self->q = NULL;
    PONDPY_CALL(self->db, pond_query_free(q));
  }
  Py_CLEAR(self->db);
  Py_CLEAR(self->text);
  return 0;
}

static void query_dealloc(pondpy_query *self) {
  PyTypeObject *tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  query_clear(self);
  tp->tp_free(self);
  Py_DECREF(tp);
}

#define FAST(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL

static PyMethodDef query_methods[] = {
    {"eval", (PyCFunction)query_eval, METH_O,
     "eval($self, now, /)\n--\n\nThe customers for which the query is TRUE at now (the value of "
     "now()), as a Set."},
    {"count", (PyCFunction)query_count, METH_O,
     "count($self, now, /)\n--\n\nHow many customers eval(now) would hold, without making the set."},
    {"test", FAST(query_test),
     "test($self, cid, now, /)\n--\n\nWhether the query is TRUE for customer cid at now "
     "(NotFoundError: no such customer)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef query_getset[] = {
    {"text", (getter)query_get_text, NULL, "The expression as given.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot query_slots[] = {
    {Py_tp_doc, "A prepared segment query (QUERY.md). Made by Db.query(expr)."},
    {Py_tp_methods, query_methods},
    {Py_tp_getset, query_getset},
    {Py_tp_repr, query_repr},
    {Py_tp_traverse, query_traverse},
    {Py_tp_clear, query_clear},
    {Py_tp_dealloc, query_dealloc},
    {0, NULL},
};

PyType_Spec pondpy_query_spec = {
    .name = "pond.Query",
    .basicsize = sizeof(pondpy_query),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = query_slots,
};
