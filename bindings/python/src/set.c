/*
 * set.c — the Set type (an immutable set of customer ids, a pond_set) and its
 * iterator.
 *
 * A Set keeps its Db alive and sits in the Db's list of live sets; closing
 * the Db frees every listed pond_set first (pond requires it), after which
 * the Set raises MisuseError. Reads that hold the GIL throughout (len, in)
 * need nothing more: close() frees sets with the GIL held. Work done without
 * the GIL (pages, operators, serialization) marks the Db busy, so close()
 * waits for it.
 *
 * Iteration pages through pond_set_page PAGE ids at a time.
 */
#include "pondpy.h"

#define PAGE 1024

static void set_dealloc(pondpy_set *self);

static int is_set(PyObject *o) { return Py_TYPE(o)->tp_dealloc == (destructor)set_dealloc; }

static pondpy_state *set_state(pondpy_set *self) { return pondpy_state_of((PyObject *)self); }

/* The set's db handle for a call, or NULL with MisuseError. */
static pond_db *set_handle(pondpy_set *self) {
  if (!self->s) {
    pondpy_misuse(set_state(self), "the db of this set is closed");
    return NULL;
  }
  return pondpy_db_handle(self->db);
}

static void unlink_set(pondpy_set *self) {
  pondpy_db *db = self->db;
  if (self->prev) self->prev->next = self->next;
  else if (db && db->sets == self) db->sets = self->next;
  if (self->next) self->next->prev = self->prev;
  self->prev = self->next = NULL;
}

pondpy_set *pondpy_set_new(pondpy_state *st, pondpy_db *db) {
  pondpy_set *self = PyObject_GC_New(pondpy_set, st->Set);
  if (!self) return NULL;
  self->s = NULL;
  self->db = (pondpy_db *)Py_NewRef(db);
  self->prev = self->next = NULL;
  PyObject_GC_Track(self);
  return self;
}

void pondpy_set_attach(pondpy_set *self, pond_set *s) {
  self->s = s;
  self->next = self->db->sets;
  if (self->next) self->next->prev = self;
  self->db->sets = self;
}

void pondpy_sets_release(pondpy_db *db) {
  pondpy_set *p = db->sets, *next;
  db->sets = NULL;
  for (; p; p = next) {
    next = p->next;
    pond_set_free(p->s);
    p->s = NULL;
    p->prev = p->next = NULL;
  }
}

static int set_traverse(pondpy_set *self, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(self->db);
  return 0;
}

static int set_clear(pondpy_set *self) {
  if (self->s) {
    unlink_set(self);
    pond_set_free(self->s);
    self->s = NULL;
  }
  Py_CLEAR(self->db);
  return 0;
}

static void set_dealloc(pondpy_set *self) {
  PyTypeObject *tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  set_clear(self);
  tp->tp_free(self);
  Py_DECREF(tp);
}

/* ------------------------------------------------------------ reading */

static Py_ssize_t set_len(pondpy_set *self) {
  if (!set_handle(self)) return -1;
  uint64_t n = pond_set_count(self->s);
  if (n > (uint64_t)PY_SSIZE_T_MAX) {
    PyErr_SetString(PyExc_OverflowError, "set size exceeds sys.maxsize");
    return -1;
  }
  return (Py_ssize_t)n;
}

static int set_bool(pondpy_set *self) {
  if (!set_handle(self)) return -1;
  return pond_set_count(self->s) != 0;
}

static int set_contains(pondpy_set *self, PyObject *o) {
  uint64_t cid;
  int ok = pondpy_cid_probe(o, &cid);
  if (ok <= 0) return ok;
  if (!set_handle(self)) return -1;
  return pond_set_contains(self->s, cid) == 1;
}

/* Equal content, compared page by page without the GIL. */
static int same_ids(const pond_set *a, const pond_set *b) {
  uint64_t pa[PAGE], pb[PAGE], from = 0;
  for (;;) {
    size_t na = pond_set_page(a, from, pa, PAGE);
    size_t nb = pond_set_page(b, from, pb, PAGE);
    if (na != nb || memcmp(pa, pb, na * sizeof *pa) != 0) return 0;
    if (na < PAGE || pa[na - 1] == UINT64_MAX) return 1;
    from = pa[na - 1] + 1;
  }
}

static PyObject *set_richcompare(PyObject *a, PyObject *b, int op) {
  if ((op != Py_EQ && op != Py_NE) || !is_set(a) || !is_set(b)) Py_RETURN_NOTIMPLEMENTED;
  pondpy_set *x = (pondpy_set *)a, *y = (pondpy_set *)b;
  if (!set_handle(x) || !set_handle(y)) return NULL;
  int eq = 1;
  if (x->s != y->s) {
    eq = pond_set_count(x->s) == pond_set_count(y->s);
    if (eq) {
      y->db->busy++;
      PONDPY_CALL(x->db, eq = same_ids(x->s, y->s));
      y->db->busy--;
    }
  }
  return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static PyObject *set_repr(pondpy_set *self) {
  if (!self->s) return PyUnicode_FromString("<pond.Set of a closed db>");
  uint64_t ids[6];
  size_t n = pond_set_page(self->s, 0, ids, 6);
  uint64_t total = pond_set_count(self->s);
  PyObject *parts = PyUnicode_FromString("");
  for (size_t i = 0; parts && i < n && i < 5; i++)
    Py_SETREF(parts, PyUnicode_FromFormat("%U%s%llu", parts, i ? ", " : "",
                                          (unsigned long long)ids[i]));
  if (!parts) return NULL;
  PyObject *r = PyUnicode_FromFormat("<pond.Set of %llu: {%U%s}>", (unsigned long long)total,
                                     parts, n > 5 ? ", ..." : "");
  Py_DECREF(parts);
  return r;
}

static PyObject *set_to_roaring(pondpy_set *self, PyObject *Py_UNUSED(ignored)) {
  if (!set_handle(self)) return NULL;
  int rc;
  size_t len = 0, written = 0;
  PONDPY_CALL(self->db, rc = pond_set_serialize(self->s, NULL, 0, &len));
  if (rc < 0) return pondpy_db_raise(self->db, rc);
  if (len > PY_SSIZE_T_MAX) return PyErr_NoMemory();
  PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len);
  /* The allocation may have run a finalizer that closed the db: look again. */
  if (!out || !set_handle(self)) {
    Py_XDECREF(out);
    return NULL;
  }
  char *buf = PyBytes_AS_STRING(out);
  PONDPY_CALL(self->db, rc = pond_set_serialize(self->s, buf, len, &written));
  if (rc < 0) {
    Py_DECREF(out);
    return pondpy_db_raise(self->db, rc);
  }
  if (written != len) Py_SETREF(out, PyBytes_FromStringAndSize(buf, (Py_ssize_t)written));
  return out;
}

static PyObject *set_from_roaring(PyObject *cls, PyObject *const *args, Py_ssize_t nargs) {
  pondpy_state *st = PyType_GetModuleState((PyTypeObject *)cls);
  if (pondpy_nargs("from_roaring", nargs, 2) < 0) return NULL;
  if (Py_TYPE(args[0]) != st->Db) {
    PyErr_Format(PyExc_TypeError, "from_roaring() needs a pond.Db, not %.100s",
                 Py_TYPE(args[0])->tp_name);
    return NULL;
  }
  pondpy_db *dbo = (pondpy_db *)args[0];
  Py_buffer data;
  if (PyObject_GetBuffer(args[1], &data, PyBUF_SIMPLE) < 0) return NULL;
  pondpy_set *self = pondpy_set_new(st, dbo);
  pond_db *db = self ? pondpy_db_handle(dbo) : NULL;
  int rc = 0;
  pond_set *s = NULL;
  if (db) PONDPY_CALL(dbo, rc = pond_set_deserialize(db, data.buf, (size_t)data.len, &s));
  PyBuffer_Release(&data);
  if (!db) {
    Py_XDECREF(self);
    return NULL;
  }
  if (rc < 0) {
    Py_DECREF(self);
    return pondpy_db_raise(dbo, rc);
  }
  pondpy_set_attach(self, s);
  return (PyObject *)self;
}

static PyObject *set_get_db(pondpy_set *self, void *Py_UNUSED(c)) {
  return Py_NewRef(self->db);
}

/* ---------------------------------------------------------- operators */

static PyObject *set_op(PyObject *a, PyObject *b, int op) {
  if (!is_set(a) || !is_set(b)) Py_RETURN_NOTIMPLEMENTED;
  pondpy_set *x = (pondpy_set *)a, *y = (pondpy_set *)b;
  if (x->db != y->db) {
    PyErr_SetString(PyExc_ValueError,
                    "sets of different dbs: move one over with Set.from_roaring(db, s.to_roaring())");
    return NULL;
  }
  pondpy_set *out = pondpy_set_new(set_state(x), x->db);
  pond_db *db = out ? set_handle(x) : NULL;
  if (db && !set_handle(y)) db = NULL;
  if (!db) {
    Py_XDECREF(out);
    return NULL;
  }
  int rc;
  pond_set *s = NULL;
  PONDPY_CALL(x->db, rc = pond_set_op(db, op, x->s, y->s, &s));
  if (rc < 0) {
    Py_DECREF(out);
    return pondpy_db_raise(x->db, rc);
  }
  pondpy_set_attach(out, s);
  return (PyObject *)out;
}

static PyObject *set_and(PyObject *a, PyObject *b) { return set_op(a, b, POND_AND); }
static PyObject *set_or(PyObject *a, PyObject *b) { return set_op(a, b, POND_OR); }
static PyObject *set_sub(PyObject *a, PyObject *b) { return set_op(a, b, POND_ANDNOT); }
static PyObject *set_xor(PyObject *a, PyObject *b) { return set_op(a, b, POND_XOR); }

/* ----------------------------------------------------------- iterator */

typedef struct {
  PyObject_HEAD
  pondpy_set *set;
  uint64_t from; /* next page starts here */
  size_t n, pos; /* ids in buf, next to return */
  int done;      /* no page after buf */
  uint64_t returned;
  uint64_t buf[PAGE];
} pondpy_setiter;

static PyObject *set_iter(pondpy_set *self) {
  if (!set_handle(self)) return NULL;
  pondpy_setiter *it = PyObject_GC_New(pondpy_setiter, set_state(self)->SetIter);
  if (!it) return NULL;
  it->set = (pondpy_set *)Py_NewRef(self);
  it->from = 0;
  it->n = it->pos = 0;
  it->done = 0;
  it->returned = 0;
  PyObject_GC_Track(it);
  return (PyObject *)it;
}

static PyObject *setiter_next(pondpy_setiter *it) {
  pondpy_set *set = it->set;
  if (it->pos == it->n && it->done) return NULL;
  if (!set_handle(set)) return NULL; /* a closed db ends iteration with an error */
  if (it->pos == it->n) {
    size_t n;
    PONDPY_CALL(set->db, n = pond_set_page(set->s, it->from, it->buf, PAGE));
    it->n = n;
    it->pos = 0;
    if (n < PAGE || it->buf[n - 1] == UINT64_MAX) it->done = 1;
    else it->from = it->buf[n - 1] + 1;
    if (n == 0) return NULL;
  }
  it->returned++;
  return PyLong_FromUnsignedLongLong(it->buf[it->pos++]);
}

static PyObject *setiter_length_hint(pondpy_setiter *it, PyObject *Py_UNUSED(i)) {
  if (!it->set->s) return PyLong_FromLong(0);
  return PyLong_FromUnsignedLongLong(pond_set_count(it->set->s) - it->returned);
}

static int setiter_traverse(pondpy_setiter *it, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(it));
  Py_VISIT(it->set);
  return 0;
}

static int setiter_clear(pondpy_setiter *it) {
  Py_CLEAR(it->set);
  return 0;
}

static void setiter_dealloc(pondpy_setiter *it) {
  PyTypeObject *tp = Py_TYPE(it);
  PyObject_GC_UnTrack(it);
  setiter_clear(it);
  tp->tp_free(it);
  Py_DECREF(tp);
}

/* ---------------------------------------------------------------- types */

static PyMethodDef set_methods[] = {
    {"to_roaring", (PyCFunction)set_to_roaring, METH_NOARGS,
     "to_roaring($self)\n--\n\nThe set in the Roaring portable format (the 64-bit portable format "
     "when an id is 2**32 or more)."},
    {"from_roaring", (PyCFunction)(void (*)(void))set_from_roaring, METH_FASTCALL | METH_CLASS,
     "from_roaring($type, db, data, /)\n--\n\nA Set of db read from Roaring bytes (any Roaring "
     "implementation's portable format); CorruptError on malformed data."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef set_getset[] = {
    {"db", (getter)set_get_db, NULL, "The Db this set belongs to.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot set_slots[] = {
    {Py_tp_doc, "An immutable set of customer ids, iterated in ascending order. Supports len, "
                "in, ==, and the operators & | - ^ with another Set of the same Db."},
    {Py_tp_methods, set_methods},
    {Py_tp_getset, set_getset},
    {Py_tp_repr, set_repr},
    {Py_tp_iter, set_iter},
    {Py_tp_richcompare, set_richcompare},
    {Py_tp_hash, PyObject_HashNotImplemented},
    {Py_tp_traverse, set_traverse},
    {Py_tp_clear, set_clear},
    {Py_tp_dealloc, set_dealloc},
    {Py_sq_length, set_len},
    {Py_sq_contains, set_contains},
    {Py_nb_bool, set_bool},
    {Py_nb_and, set_and},
    {Py_nb_or, set_or},
    {Py_nb_subtract, set_sub},
    {Py_nb_xor, set_xor},
    {0, NULL},
};

PyType_Spec pondpy_set_spec = {
    .name = "pond.Set",
    .basicsize = sizeof(pondpy_set),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = set_slots,
};

static PyMethodDef setiter_methods[] = {
    {"__length_hint__", (PyCFunction)setiter_length_hint, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot setiter_slots[] = {
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, setiter_next},
    {Py_tp_methods, setiter_methods},
    {Py_tp_traverse, setiter_traverse},
    {Py_tp_clear, setiter_clear},
    {Py_tp_dealloc, setiter_dealloc},
    {0, NULL},
};

PyType_Spec pondpy_setiter_spec = {
    .name = "pond.SetIterator",
    .basicsize = sizeof(pondpy_setiter),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = setiter_slots,
};
