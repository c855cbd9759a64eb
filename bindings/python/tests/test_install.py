"""`pip install .` with meson-python builds the package, the installed copy
imports and works on its own, and the source tree is left as it was.

    python3 -m pip install --no-build-isolation --no-deps --target DIR .

(Debian 12: pip 23.0 and meson-python 0.12 from Debian, no PyPI.) A fresh
build in a temporary directory, about 15 s on 2 cores: meson-python 0.12
cannot reuse a build directory it did not configure itself (it reconfigures
one it has never set up), so nothing is reused.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# meson-python 0.12 writes this into the source directory on every build
# (0.13 moved it into the build directory); it is in .gitignore, and this
# test removes it when it was not there before.
NATIVE_FILE = ROOT / ".mesonpy-native-file.ini"


def source_files():
    """Every path of the source tree outside .git and the build-* dirs."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(ROOT):
        rel = Path(dirpath).relative_to(ROOT)
        if rel == Path("."):
            dirnames[:] = [d for d in dirnames if d != ".git" and not d.startswith("build")]
        out.update(str(rel / n) for n in dirnames + filenames)
    return out


USE = textwrap.dedent("""
    import sys, array
    from datetime import datetime, timezone
    import pond
    assert pond.__file__.startswith(sys.argv[1]), pond.__file__
    with pond.open(autocreate=True) as db:
        db.define({"tag_groups": [{"name": "src", "tags": ["store"]}]})
        db.tag_many("src/store", array.array("Q", [1, 2, 3]), datetime(2024, 1, 1, tzinfo=timezone.utc))
        s = db.members("src/store")
        assert list(pond.Set.from_roaring(db, s.to_roaring())) == [1, 2, 3]
        try:
            db.define("{")
        except pond.ParseError as e:
            assert e.offset is not None
    print("installed pond", pond.version(), "works")
""")


def test_pip_install_builds_a_working_package(tmp_path):
    for module in ("pip", "mesonpy"):
        assert __import__("importlib").util.find_spec(module), \
            f"{module} is missing (Debian: python3-pip, python3-mesonpy; scripts/deps.sh installs them)"
    site = tmp_path / "site"
    before = source_files()
    had_native = NATIVE_FILE.exists()
    env = dict(os.environ, TMPDIR=str(tmp_path), PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    try:
        r = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--no-cache-dir",
             "--target", str(site), "."],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    finally:
        if not had_native:
            NATIVE_FILE.unlink(missing_ok=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

    pkg = site / "pond"
    names = {p.name for p in pkg.iterdir()}
    assert {"__init__.py", "_pond.pyi", "py.typed"} <= names
    assert any(n.startswith("_pond.") and n.endswith(".so") for n in names), names
    meta = next(site.glob("pond-*.dist-info")) / "METADATA"
    assert "Name: pond" in meta.read_text()
    # The wheel holds the Python package only (-Dinstall_library=false):
    # no libpond, header, pkg-config file or pond tool.
    everything = {p.relative_to(site).parts[0] for p in site.rglob("*")}
    assert everything == {"pond", meta.parent.name}, everything

    r = subprocess.run([sys.executable, "-c", USE, str(site)], cwd=tmp_path,
                       env=dict(env, PYTHONPATH=str(site)), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "works" in r.stdout

    assert source_files() - before == set(), "pip install left files in the source tree"
