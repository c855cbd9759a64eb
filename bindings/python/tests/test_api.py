"""The package's surface: exception hierarchy, and stubs that match the
extension module."""
import ast
import inspect
import os

import pytest

import pond
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
