/*
 * tags.c — the tag methods of Db. Tags are addressed by name ("group/name");
 * each call resolves the name with pond_tag_id inside the same GIL-free
 * section as the operation, so the binding keeps no cache that a rename,
 * delete or rollback could make stale.
 *
 * tag_many reads a C-contiguous one-dimensional buffer of native uint64
 * (array('Q'), numpy uint64, memoryview.cast('Q')) in place; any other
 * iterable is converted into a temporary uint64 array first.
 */
#include "pondpy.h"

/* (cid, tag name, ts) arguments shared by tag and untag. */
static int cid_tag_ts(pondpy_db *self, const char *fn, PyObject *const *args, Py_ssize_t nargs,
                      uint64_t *cid, const char **tag, int64_t *ts) {
  if (pondpy_nargs(fn, nargs, 3) < 0 || pondpy_cid(args[0], cid) < 0 ||
      !(*tag = pondpy_name(args[1], "tag")) ||
      pondpy_ts(pondpy_state_of((PyObject *)self), args[2], ts) < 0)
    return -1;
  return 0;
}

PyObject *pondpy_db_tag(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  uint64_t cid;
  const char *tag;
  int64_t ts;
  if (cid_tag_ts(self, "tag", args, nargs, &cid, &tag, &ts) < 0) return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  uint32_t id;
  PONDPY_CALL(self, rc = pond_tag_id(db, tag, &id); if (rc >= 0) rc = pond_tag_add(db, cid, id, ts));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

PyObject *pondpy_db_untag(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  uint64_t cid;
  const char *tag;
  int64_t ts;
  if (cid_tag_ts(self, "untag", args, nargs, &cid, &tag, &ts) < 0) return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  uint32_t id;
  PONDPY_CALL(self, rc = pond_tag_id(db, tag, &id);
              if (rc >= 0) rc = pond_tag_remove(db, cid, id, ts));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

PyObject *pondpy_db_has_tag(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  uint64_t cid;
  const char *tag;
  if (pondpy_nargs("has_tag", nargs, 2) < 0 || pondpy_cid(args[0], &cid) < 0 ||
      !(tag = pondpy_name(args[1], "tag")))
    return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  uint32_t id;
  PONDPY_CALL(self, rc = pond_tag_id(db, tag, &id); if (rc >= 0) rc = pond_tag_has(db, cid, id));
  if (rc < 0) return pondpy_db_raise(self, rc);
  return PyBool_FromLong(rc);
}

/* ------------------------------------------------------------------ tags_of */

/* The names of cid's tags, copied out while Db.names is held. */
typedef struct {
  size_t n;
  size_t *len;  /* n lengths */
  char *text;   /* the names, back to back */
} name_list;

#define NAMES_NOMEM 1 /* a status of collect_names that is not pond's */

static void name_list_free(name_list *l) {
  PyMem_RawFree(l->len);
  PyMem_RawFree(l->text);
}

/* Runs without the GIL, with Db.names held: allocates with PyMem_Raw*. */
static int collect_names(pond_db *db, uint64_t cid, name_list *out) {
  uint32_t small[32], *ids = small;
  size_t cap = 32, n, total = 0;
  int rc;
  /* Another thread may add tags between two calls: loop until they fit. */
  while ((rc = pond_customer_tags(db, cid, ids, cap, &n)) >= 0 && n > cap) {
    if (ids != small) PyMem_RawFree(ids);
    cap = n + 8;
    if (!(ids = PyMem_RawMalloc(cap * sizeof *ids))) return NAMES_NOMEM;
  }
  if (rc < 0) goto done;
  rc = NAMES_NOMEM;
  if (!(out->len = PyMem_RawMalloc((n ? n : 1) * sizeof *out->len))) goto done;
  for (size_t i = 0; i < n; i++) {
    const char *name;
    if ((rc = pond_tag_name(db, ids[i], &name)) < 0) goto done;
    total += out->len[i] = strlen(name);
  }
  rc = NAMES_NOMEM;
  char *p = out->text = PyMem_RawMalloc(total ? total : 1);
  if (!p) goto done;
  for (size_t i = 0; i < n; i++) {
    const char *name = "";
    pond_tag_name(db, ids[i], &name); /* succeeded above, under the same lock */
    memcpy(p, name, out->len[i]);
    p += out->len[i];
  }
  out->n = n;
  rc = POND_OK;
done:
  if (ids != small) PyMem_RawFree(ids);
  return rc;
}

PyObject *pondpy_db_tags_of(pondpy_db *self, PyObject *arg) {
  uint64_t cid;
  if (pondpy_cid(arg, &cid) < 0) return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  name_list names = {0, NULL, NULL};
  int rc;
  PONDPY_CALL_NAMES(self, rc = collect_names(db, cid, &names));
  PyObject *list = NULL;
  if (rc == NAMES_NOMEM) {
    PyErr_NoMemory();
  } else if (rc < 0) {
    pondpy_db_raise(self, rc);
  } else if ((list = PyList_New((Py_ssize_t)names.n))) {
    const char *p = names.text;
    for (size_t i = 0; i < names.n; i++) {
      PyObject *s = PyUnicode_DecodeUTF8(p, (Py_ssize_t)names.len[i], "strict");
      if (!s) {
        Py_CLEAR(list);
        break;
      }
      PyList_SET_ITEM(list, (Py_ssize_t)i, s);
      p += names.len[i];
    }
  }
  name_list_free(&names);
  return list;
}

/* ----------------------------------------------------------------- tag_many */

/* 1 with *view filled when o is a contiguous 1-D buffer of native uint64. */
static int u64_buffer(PyObject *o, Py_buffer *view) {
  if (!PyObject_CheckBuffer(o)) return 0;
  if (PyObject_GetBuffer(o, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
    PyErr_Clear(); /* not contiguous: iterate instead */
    return 0;
  }
  const char *f = view->format ? view->format : "B";
#if PY_LITTLE_ENDIAN
  if (*f == '@' || *f == '=' || *f == '<') f++;
#else
  if (*f == '@' || *f == '=' || *f == '>' || *f == '!') f++;
#endif
  if (view->ndim == 1 && view->itemsize == 8 && (f[0] == 'Q' || f[0] == 'L') && f[1] == 0)
    return 1;
  PyBuffer_Release(view);
  return 0;
}

/*
 * A range of ids computed in C: 1 with *out and *n filled, 0 when o is not a
 * range this can do (the generic path then iterates it), -1 with an error.
 * The ends are converted like any id, so a range reaching outside
 * [0, 2**64) fails as its iteration would; the ids in between lie between
 * the ends.
 */
static int range_ids(PyObject *o, uint64_t **out, size_t *n) {
  if (!PyRange_Check(o)) return 0;
  Py_ssize_t len = PyObject_Length(o);
  if (len < 0) {
    PyErr_Clear(); /* longer than sys.maxsize: let iteration decide */
    return 0;
  }
  if (len == 0) {
    *out = NULL;
    *n = 0;
    return 1;
  }
  if ((size_t)len > PY_SSIZE_T_MAX / sizeof(uint64_t)) return 0;
  uint64_t first, last;
  PyObject *a = PySequence_GetItem(o, 0);
  PyObject *b = a ? PySequence_GetItem(o, len - 1) : NULL;
  int bad = !b || pondpy_cid(a, &first) < 0 || pondpy_cid(b, &last) < 0;
  Py_XDECREF(a);
  Py_XDECREF(b);
  if (bad) return -1;
  /* step = (last - first) / (len - 1), exact in two's complement. */
  uint64_t step = 0;
  if (len > 1) {
    uint64_t span = last - first;
    int down = last < first;
    uint64_t mag = (down ? (uint64_t)0 - span : span) / (uint64_t)(len - 1);
    step = down ? (uint64_t)0 - mag : mag;
  }
  uint64_t *ids = PyMem_Malloc((size_t)len * sizeof *ids);
  if (!ids) {
    PyErr_NoMemory();
    return -1;
  }
  uint64_t v = first;
  for (Py_ssize_t i = 0; i < len; i++, v += step) ids[i] = v;
  *out = ids;
  *n = (size_t)len;
  return 1;
}

/* Converts any iterable of ints into a PyMem_Malloc'd array. */
static int collect_ids(PyObject *o, uint64_t **out, size_t *n) {
  int r = range_ids(o, out, n);
  if (r) return r < 0 ? -1 : 0;
  size_t cap = 0, len = 0;
  uint64_t *ids = NULL;
  PyObject *it = NULL, *item;
  int list = PyList_Check(o) || PyTuple_Check(o);
  Py_ssize_t hint = list ? Py_SIZE(o) : PyObject_LengthHint(o, 0);
  if (hint < 0) return -1;
  if (!list && !(it = PyObject_GetIter(o))) return -1;
  for (Py_ssize_t i = 0;; i++) {
    if (list) {
      /* Re-read the size: an item's __index__ may have changed the list. */
      if (i >= Py_SIZE(o)) break;
      item = PyList_Check(o) ? PyList_GET_ITEM(o, i) : PyTuple_GET_ITEM(o, i);
      /* An exact int converts without running Python code, so it can be
       * read borrowed: no reference count traffic for the common case. */
      if (PyLong_CheckExact(item) && len < cap) {
        unsigned long long v = PyLong_AsUnsignedLongLong(item);
        if (v == (unsigned long long)-1 && PyErr_Occurred()) {
          if (PyErr_ExceptionMatches(PyExc_OverflowError))
            PyErr_SetString(PyExc_OverflowError, "customer id out of range [0, 2**64)");
          goto fail;
        }
        ids[len++] = (uint64_t)v;
        continue;
      }
      Py_INCREF(item);
    } else if (!(item = PyIter_Next(it))) {
      if (PyErr_Occurred()) goto fail;
      break;
    }
    if (len == cap) {
      size_t ncap = cap ? cap * 2 : (hint > 16 ? (size_t)hint : 16);
      uint64_t *p = ncap <= PY_SSIZE_T_MAX / sizeof *ids ? PyMem_Realloc(ids, ncap * sizeof *ids)
                                                         : NULL;
      if (!p) {
        Py_DECREF(item);
        PyErr_NoMemory();
        goto fail;
      }
      ids = p;
      cap = ncap;
    }
    int bad = pondpy_cid(item, &ids[len]);
    Py_DECREF(item);
    if (bad) goto fail;
    len++;
  }
  Py_XDECREF(it);
  *out = ids;
  *n = len;
  return 0;
fail:
  Py_XDECREF(it);
  PyMem_Free(ids);
  return -1;
}

PyObject *pondpy_db_tag_many(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  const char *tag;
  int64_t ts;
  if (pondpy_nargs("tag_many", nargs, 3) < 0 || !(tag = pondpy_name(args[0], "tag")) ||
      pondpy_ts(pondpy_state_of((PyObject *)self), args[2], &ts) < 0)
    return NULL;
  Py_buffer view;
  uint64_t *owned = NULL;
  const uint64_t *ids;
  size_t n;
  int buffered = u64_buffer(args[1], &view);
  if (buffered) {
    ids = view.buf;
    n = (size_t)view.len / 8;
  } else {
    if (collect_ids(args[1], &owned, &n) < 0) return NULL;
    ids = owned;
  }
  static const uint64_t none = 0;
  if (!ids) ids = &none; /* n == 0: still a valid pointer */
  pond_db *db = pondpy_db_handle(self);
  int rc = 0;
  uint32_t id;
  if (db)
    PONDPY_CALL(self, rc = pond_tag_id(db, tag, &id);
                if (rc >= 0) rc = pond_tag_add_many(db, id, ids, n, ts));
  if (buffered) PyBuffer_Release(&view);
  PyMem_Free(owned);
  if (!db) return NULL;
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

/* ------------------------------------------------------- whole-tag methods */

PyObject *pondpy_db_members(pondpy_db *self, PyObject *arg) {
  const char *tag = pondpy_name(arg, "tag");
  if (!tag) return NULL;
  pondpy_set *set = pondpy_set_new(pondpy_state_of((PyObject *)self), self);
  pond_db *db = set ? pondpy_db_handle(self) : NULL;
  if (!db) {
    Py_XDECREF(set);
    return NULL;
  }
  int rc;
  uint32_t id;
  pond_set *s = NULL;
  PONDPY_CALL(self, rc = pond_tag_id(db, tag, &id); if (rc >= 0) rc = pond_tag_members(db, id, &s));
  if (rc < 0) {
    Py_DECREF(set);
    return pondpy_db_raise(self, rc);
  }
  pondpy_set_attach(set, s);
  return (PyObject *)set;
}

PyObject *pondpy_db_tag_count(pondpy_db *self, PyObject *arg) {
  const char *tag = pondpy_name(arg, "tag");
  if (!tag) return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  uint32_t id;
  uint64_t n = 0;
  PONDPY_CALL(self, rc = pond_tag_id(db, tag, &id); if (rc >= 0) rc = pond_tag_count(db, id, &n));
  if (rc < 0) return pondpy_db_raise(self, rc);
  return PyLong_FromUnsignedLongLong(n);
}

PyObject *pondpy_db_rename_tag(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  const char *tag, *to;
  if (pondpy_nargs("rename_tag", nargs, 2) < 0 || !(tag = pondpy_name(args[0], "tag")) ||
      !(to = pondpy_name(args[1], "new_name")))
    return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  uint32_t id;
  PONDPY_CALL_NAMES(self, rc = pond_tag_id(db, tag, &id); if (rc >= 0) rc = pond_tag_rename(db, id, to));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

PyObject *pondpy_db_merge_tags(pondpy_db *self, PyObject *const *args, Py_ssize_t nargs) {
  const char *from, *into;
  int64_t ts;
  if (pondpy_nargs("merge_tags", nargs, 3) < 0 || !(from = pondpy_name(args[0], "source")) ||
      !(into = pondpy_name(args[1], "into")) ||
      pondpy_ts(pondpy_state_of((PyObject *)self), args[2], &ts) < 0)
    return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  uint32_t a, b;
  PONDPY_CALL_NAMES(self, rc = pond_tag_id(db, from, &a);
                    if (rc >= 0) rc = pond_tag_id(db, into, &b);
                    if (rc >= 0) rc = pond_tag_merge(db, a, b, ts));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}

PyObject *pondpy_db_delete_tag(pondpy_db *self, PyObject *arg) {
  const char *tag = pondpy_name(arg, "tag");
  if (!tag) return NULL;
  pond_db *db = pondpy_db_handle(self);
  if (!db) return NULL;
  int rc;
  uint32_t id;
  PONDPY_CALL_NAMES(self, rc = pond_tag_id(db, tag, &id); if (rc >= 0) rc = pond_tag_delete(db, id));
  if (rc < 0) return pondpy_db_raise(self, rc);
  Py_RETURN_NONE;
}
