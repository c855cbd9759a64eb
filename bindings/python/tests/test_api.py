"""The package's surface: exception hierarchy, and stubs that match the
extension module."""
import ast
import inspect
import os

import pytest

import pond
from conftest import T0
from pond import _pond

CLASSES = {
    "NotFoundError": (-1, LookupError),
    "InvalidError": (-2, ValueError),
    "OutOfMemoryError": (-3, MemoryError),
    "ParseError": (-4, None),
    "LimitError": (-5, None),
    "ConflictError": (-6, None),
    "StorageError": (-7, None),
    "CorruptError": (-8, None),
    "MisuseError": (-9, None),
    "BusyError": (-10, None),
}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_exception_classes(name):
    code, builtin = CLASSES[name]
    cls = getattr(pond, name)
    assert issubclass(cls, pond.Error) and issubclass(pond.Error, Exception)
    assert cls.code == code
    assert cls.__module__ == "pond"
    assert cls.__doc__
    if builtin:
        assert issubclass(cls, builtin)
    assert pond.strerror(code)


def test_parse_error_offset_defaults_to_none():
    assert pond.ParseError("x").offset is None


def _stub_tree():
    path = os.path.join(os.path.dirname(_pond.__file__), "_pond.pyi")
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read())


def test_stubs_name_everything_the_module_exports():
    tree = _stub_tree()
    stubbed = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    stubbed |= {t.id for n in tree.body if isinstance(n, ast.AnnAssign) for t in [n.target]}
    public = {n for n in dir(_pond) if not n.startswith("_")} - {"SetIterator"}
    assert public - stubbed == set()
    assert {n for n in stubbed if not n.startswith("_")} - public == set()


def test_stub_methods_exist():
    tree = _stub_tree()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            cls = getattr(_pond, node.name)
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    assert hasattr(cls, item.name), f"{node.name}.{item.name}"


def test_package_exports():
    for name in pond.__all__:
        assert hasattr(pond, name)
    assert os.path.exists(os.path.join(os.path.dirname(pond.__file__), "py.typed"))


def test_signatures_are_introspectable():
    assert "ts" in str(inspect.signature(pond.Db.tag))
    assert "memory_limit" in str(inspect.signature(pond.open))


# ------------------------------------------------- stubs, checked by mypy

def _mypy(*args, cwd):
    import subprocess
    import sys

    env = dict(os.environ, MYPY_CACHE_DIR=str(cwd / "mypy-cache"))
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)


needs_mypy = pytest.mark.skipif(
    __import__("importlib").util.find_spec("mypy") is None, reason="mypy is not installed (python3-mypy)")


@needs_mypy
def test_stubs_agree_with_the_runtime(tmp_path):
    # mypy's stubtest: every name, signature and kind in the stubs against
    # the imported module (and every public runtime name has a stub).
    r = _mypy("mypy.stubtest", "pond", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


GOOD = '''
import array
from datetime import datetime, timezone
import pond

def use() -> None:
    with pond.open(memory_limit=1 << 20, autocreate=True) as db:
        db.define({"tag_groups": [{"name": "g"}]})
        db.define("{}")
        now = datetime.now(timezone.utc)
        with db.transaction() as t:
            t.upsert(1, now)
        db.tag(1, "g/a", 1_700_000_000)
        db.tag_many("g/a", array.array("Q", [1, 2]), now)
        db.tag_many("g/a", range(3), now)
        s: pond.Set = db.members("g/a") & db.members("g/b")
        ids: list[int] = list(s)
        n: int = len(s) + len(db)
        ok: bool = db.has_tag(1, "g/a") and 1 in db and 1 in s
        names: list[str] = db.tags_of(1)
        data: bytes = s.to_roaring()
        pond.Set.from_roaring(db, data)
        db.set_attr(1, "x", None)
        try:
            db.define("{")
        except pond.ParseError as e:
            off: int | None = e.offset
'''

BAD = '''
import pond

def use() -> None:
    db = pond.open()
    db.tag("1", "g/a", 0)
    db.members(5)
    x: str = len(db.members("g/a"))
    db.set_attr(1, "x", 1.5)
'''


@needs_mypy
def test_stubs_type_check_real_use_and_catch_misuse(tmp_path):
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "bad.py").write_text(BAD)
    r = _mypy("mypy", "--strict", "--python-version", "3.11", "good.py", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _mypy("mypy", "--python-version", "3.11", "bad.py", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout.count("error:") == 4, r.stdout


# ------------------------------------ wrong Python types: errors, not crashes

BAD_VALUES = [None, True, -1, 2**64, 2**70, 1.5, "x", "src/\0", "", b"x", [], [1, "x"], {}, object(),
              __import__("datetime").datetime(2024, 1, 1), float("nan")]


def test_every_method_with_wrong_arguments_raises_cleanly(people):
    # Each argument of each method replaced by each bad value, and wrong
    # argument counts: only TypeError, ValueError, OverflowError or a
    # pond.Error may come out (a crash would take the test run with it).
    db = people
    s = db.members("src/store")
    good = {
        db.upsert: (1, T0), db.delete: (99,), db.tag: (1, "src/store", T0),
        db.untag: (1, "src/store", T0), db.has_tag: (1, "src/store"), db.tags_of: (1,),
        db.tag_many: ("src/store", [1, 2], T0), db.members: ("src/store",),
        db.tag_count: ("src/store",), db.rename_tag: ("camp/q", "camp/r"),
        db.merge_tags: ("camp/q", "camp/r", T0), db.delete_tag: ("camp/q",),
        db.set_attr: (1, "spend", 5), db.define: ({},), db.__contains__: (1,),
        s.__contains__: (2,), pond.Set.from_roaring: (db, b""), pond.strerror: (-1,),
        s.__and__: (s,), s.__or__: (s,), s.__sub__: (s,), s.__xor__: (s,), s.__eq__: (s,),
    }
    allowed = (TypeError, ValueError, OverflowError, pond.Error)
    calls = 0
    for fn, args in good.items():
        for n in range(len(args) + 2):  # wrong counts too
            if n != len(args):
                try:
                    fn(*(list(args) + [1, 1])[:n])
                except allowed:
                    pass
                calls += 1
        for i in range(len(args)):
            for bad in BAD_VALUES:
                a = list(args)
                a[i] = bad
                try:
                    r = fn(*a)
                except allowed:
                    pass
                else:
                    assert r is None or isinstance(r, (bool, int, str, list, pond.Set, type(NotImplemented)))
                calls += 1
    assert calls > 300
    assert list(db.members("src/store")) is not None  # the db still works
    db.tag(1, "src/live", T0)
    assert db.has_tag(1, "src/live")
