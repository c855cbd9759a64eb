"""The whole API in a loop 10,000 times; memory must not grow.

Four meters, read after every CHUNK rounds (gc collected first), each with a
per-round growth limit:
  python  tracemalloc's traced bytes: Python objects and PyMem_* blocks
          (a reference leak of one small object per round is ~32 B/round)
  pond    Db.memory_used: every byte the library allocated for the db,
          sets included (pond's own accounting, exact)
  heap    glibc's mallinfo2() bytes in use: every malloc of the process, so
          a C leak in the binding or the library that bypasses pond's
          allocator too (exact; absent outside glibc)
  rss     resident set size from /proc/self/statm (coarse: the allocators
          keep freed pages, pymalloc maps 1 MiB arenas; catches big leaks
          and anything outside malloc, e.g. mmap)

Why this is robust on a shared machine: nothing here is timed, and the
state of the db is the same at every meter reading (customer ids cycle with
period CYCLE, and CHUNK is a multiple of it), so "grows" means grows. The
first reading comes after WARMUP rounds plus one chunk, so one-off growth
(caches, interned names, allocator arenas) is behind us; a leak grows at
every chunk. Growth is judged between the first and the last reading, over
ROUNDS - CHUNK rounds, and also must not happen at every single step (a
leak does; noise does not), so the coarse meters get a generous budget and
still catch a leak.

POND_LEAK_ROUNDS changes the number of rounds (default 10,000).
"""
import array
import ctypes
import gc
import os
import sys
import tracemalloc
from datetime import datetime, timezone

import pytest

import pond
import roaring
from conftest import DEFS, T0, DictStorage

ROUNDS = max(1000, int(os.environ.get("POND_LEAK_ROUNDS", "10000")))
CYCLE = 50  # customer ids repeat with this period
CHUNK = ROUNDS // 10 // CYCLE * CYCLE  # rounds between meter readings
WARMUP = CHUNK
WHEN = datetime(2024, 1, 1, tzinfo=timezone.utc)
ROARING = roaring.encode32([1, 2, 70000])
ROARING_RUNS = roaring.encode64(list(range(10, 5000)) + [2**40], runs=True)

TRACED = max(2 * CYCLE, ROUNDS // 10 // (2 * CYCLE) * 2 * CYCLE)  # rounds under tracemalloc

# Growth allowed per round for each meter (bytes; blocks for "blocks").
# Measured with nothing leaking (10,000 rounds): every meter is flat from
# the first reading on; blocks +1 (the loop variable), heap under 1 KiB.
LIMITS = {"blocks": 0.02, "pond": 0, "heap": 4, "rss": 400, "traced": 16}


PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes():
    # Binary mode: reading /proc in text mode leaves a block behind now and
    # then (CPython 3.11), which the block meter would count.
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * PAGE


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


def _heap_meter():
    """Bytes the C heap has handed out (glibc), or None elsewhere."""
    try:
        f = ctypes.CDLL(None).mallinfo2
    except (AttributeError, OSError):
        return None
    f.restype = _MallInfo2
    f.argtypes = []

    def heap():
        m = f()
        return m.uordblks + m.hblkhd

    return heap


HEAP = _heap_meter()


def errors_round(db, cid):
    """Every kind of failure the binding reports: exceptions built from
    pond_errmsg, ParseError.offset, Python-side conversion errors."""
    closed = pond.open()
    closed.close()
    for call, exc in (
        (lambda: db.tag(5, "src/store", T0), pond.NotFoundError),
        (lambda: db.tag(cid, "bad", T0), pond.InvalidError),
        (lambda: db.tag(cid, "nogroup/x", T0), pond.NotFoundError),
        (lambda: db.define('{"x": ['), pond.ParseError),
        (lambda: db.define(5), TypeError),
        (lambda: db.commit(), pond.MisuseError),
        (lambda: pond.Set.from_roaring(db, b"junk"), pond.CorruptError),
        (lambda: pond.Set.from_roaring(db, "text"), TypeError),
        (lambda: db.upsert(-1, T0), OverflowError),
        (lambda: db.upsert(2**64, T0), OverflowError),
        (lambda: db.upsert("1", T0), TypeError),
        (lambda: db.upsert(cid, datetime(2024, 1, 1)), ValueError),
        (lambda: db.upsert(cid, 1.5), TypeError),
        (lambda: db.tag(cid, "src/\0", T0), ValueError),
        (lambda: db.tag_many("src/ad", [cid, "x"], T0), TypeError),
        (lambda: db.tag_many("src/ad", [cid, 10**30], T0), OverflowError),
        (lambda: db.tag_many("src/ad", 5, T0), TypeError),
        (lambda: db.tag_many("src/ad", [cid, 7], T0), pond.NotFoundError),
        (lambda: db.set_attr(cid, "spend", "x"), pond.InvalidError),
        (lambda: db.set_attr(cid, "spend", 1.5), TypeError),
        (lambda: db.set_attr(cid, "nope", 1), pond.NotFoundError),
        (lambda: db.rename_tag("src/store", "src/ad"), pond.ConflictError),
        (lambda: db.merge_tags("src/ad", "src/ad", T0), pond.InvalidError),
        (lambda: db.has_tag(cid), TypeError),
        (lambda: db.members(3), TypeError),
        (lambda: closed.tag(1, "src/store", T0), pond.MisuseError),
        (lambda: pond.open(memory_limit="x"), TypeError),
    ):
        try:
            call()
        except exc as e:
            str(e)
            if isinstance(e, pond.ParseError):
                assert e.offset is not None
        else:  # pragma: no cover
            raise AssertionError(f"{call} did not raise {exc}")


def one_round(db, i, st=None):
    cid = 1_000_000 + i % CYCLE
    db.upsert(cid, T0)
    db.upsert(cid + 1, WHEN)
    assert cid in db and len(db) >= 2 and -1 not in db and 2**70 not in db
    db.tag(cid, "src/store", T0)
    db.tag(cid, "status/todo", WHEN)
    db.tag(cid, "status/doing", T0)  # exclusive: replaces todo
    db.has_tag(cid, "src/store")
    db.tags_of(cid)
    db.tag_many("src/ad", [cid, cid + 1], T0)
    db.tag_many("src/ad", (cid, cid + 1), T0)
    db.tag_many("src/ad", array.array("Q", [cid]), T0)
    db.tag_many("src/ad", memoryview(array.array("Q", [cid + 1])), T0)
    db.tag_many("src/ad", (c for c in (cid,)), T0)
    db.tag_many("src/ad", range(cid, cid + 2), T0)
    db.tag_many("src/live", array.array("Q", [cid, cid + 1] * 32), T0)
    a, b = db.members("src/store"), db.members("src/ad")
    for s in (a & b, a | b, a - b, a ^ b):
        len(s), list(s), cid in s, s == a, s != b, bool(s), repr(s)
    it = iter(a)
    next(it, None), it.__length_hint__()
    pond.Set.from_roaring(db, (a | b).to_roaring())
    pond.Set.from_roaring(db, bytearray(ROARING))
    pond.Set.from_roaring(db, memoryview(ROARING_RUNS)).to_roaring()
    a.db, repr(db), db.memory_used, db.closed, db.tag_count("src/ad")
    pond.version(), pond.strerror(-4)
    db.set_attr(cid, "spend", i)
    db.set_attr(cid, "region", "华东")
    db.set_attr(cid, "vip", True)
    db.set_attr(cid, "birthday", WHEN)
    db.set_attr(cid, "spend", None)
    db.rename_tag("camp/a", "camp/b")
    db.rename_tag("camp/b", "camp/a")
    with db.transaction():
        db.untag(cid, "src/store", T0)
    try:
        with db.transaction() as t:
            t.tag(cid, "camp/x", T0)
            db.merge_tags("camp/x", "camp/a", T0)
            db.delete_tag("camp/a")
            raise KeyError(i)
    except KeyError:
        pass
    db.begin()
    db.define('{"tag_groups": [{"name": "tmp", "tags": ["t"]}]}')
    db.rollback()
    errors_round(db, cid)
    if st is not None:  # a failing storage commit: StorageError with __cause__
        st.fail = RuntimeError("once")
        try:  # a customer that never exists: the call must commit, and fail
            db.upsert(2**63 + i, T0)
        except pond.StorageError as e:
            assert isinstance(e.__cause__, RuntimeError)
        else:
            raise AssertionError("the failing commit did not raise")
    db.delete(cid + 1)
    if i % CYCLE == 0:  # whole-tag changes for real, and closing with live sets
        with pond.open(autocreate=True, memory_limit=1 << 24) as tmp:
            tmp.define(DEFS)
            tmp.tag_many("camp/m", [1, 2, 3], T0)
            tmp.merge_tags("camp/m", "camp/n", T0)
            tmp.delete_tag("camp/n")
            s = tmp.members("src/store")
        try:
            len(s)
        except pond.MisuseError:
            pass


METERS = ["blocks", "pond", "rss"] + (["heap"] if HEAP else [])


class Readings:
    """Meter readings kept in preallocated arrays, so that recording one
    allocates nothing that outlives it (a list of dicts would itself grow
    by a few blocks per reading)."""

    def __init__(self, n, traced=False):
        self.meters = METERS + (["traced"] if traced else [])
        self.data = {m: array.array("q", bytes(8 * n)) for m in self.meters}
        self.n = 0

    def read(self, db):
        gc.collect()
        k, d = self.n, self.data
        d["blocks"][k] = sys.getallocatedblocks()
        d["pond"][k] = db.memory_used
        d["rss"][k] = rss_bytes()
        if HEAP:
            d["heap"][k] = HEAP()
        if "traced" in d:
            d["traced"][k] = tracemalloc.get_traced_memory()[0]
        self.n = k + 1

    def series(self, meter):
        return list(self.data[meter][: self.n])


def growth_problems(readings, limits, span, first=0):
    problems = []
    for meter, per_round in limits.items():
        if meter not in readings.meters:
            continue
        series = readings.series(meter)[first:]
        growth = series[-1] - series[0]
        steady = len(series) > 2 and all(b > a for a, b in zip(series, series[1:]))
        # More than the limit, or growth at every single step (which noise
        # does not do) of more than a tenth of it: a slow but certain leak.
        if growth > per_round * span or (steady and growth > per_round * span / 10):
            problems.append(f"{meter} grew {growth} over {span} rounds ({growth / span:.2f}/round,"
                            f" limit {per_round}): {series}")
    return problems


def check_no_growth(db, st=None):
    """WARMUP rounds, then ROUNDS rounds read by the cheap exact meters,
    then TRACED rounds under tracemalloc (7x slower). Fails on growth."""
    i = 0
    for i in range(i, i + WARMUP):
        one_round(db, i, st)
    samples = Readings(ROUNDS // CHUNK + 1)
    samples.read(db)
    for _ in range(ROUNDS // CHUNK):
        for i in range(i + 1, i + 1 + CHUNK):
            one_round(db, i, st)
        samples.read(db)
    # From the end of the first chunk: one-off growth is behind us there.
    problems = growth_problems(samples, LIMITS, CHUNK * (samples.n - 2), first=1)

    tracemalloc.start()
    try:
        for i in range(i + 1, i + 1 + CYCLE * 2):  # what tracing itself caches
            one_round(db, i, st)
        gc.collect()
        snap0 = tracemalloc.take_snapshot()
        traced = Readings(3, traced=True)
        traced.read(db)
        for _ in range(2):
            for i in range(i + 1, i + 1 + TRACED // 2):
                one_round(db, i, st)
            traced.read(db)
        snap1 = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    problems += growth_problems(traced, {"traced": LIMITS["traced"]}, TRACED)
    for name, r in (("untraced", samples), ("traced", traced)):  # shown by pytest -s
        print(name, {m: [v - r.series(m)[0] for v in r.series(m)] for m in r.meters})
    if problems:
        top = [str(s) for s in snap1.compare_to(snap0, "lineno")[:8]]
        pytest.fail("\n".join(problems + ["largest Python growth under tracemalloc:"] + top))
    return samples, traced


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_whole_api_loop_does_not_leak():
    with pond.open() as db:
        db.define(DEFS)
        db.define({"tag_groups": [{"name": "camp", "tags": ["a"]}]})
        check_no_growth(db)


def _python_storage_supported():
    try:
        pond.open(storage=DictStorage()).close()
    except pond.InvalidError as e:
        return "not supported" not in str(e)
    return True


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
@pytest.mark.skipif(not _python_storage_supported(),
                    reason="this library refuses storage callbacks (pond_open: not supported yet)")
def test_whole_api_loop_through_python_storage_does_not_leak():
    st = DictStorage()
    with pond.open(storage=st) as db:
        db.define(DEFS)
        db.define({"tag_groups": [{"name": "camp", "tags": ["a"]}]})
        check_no_growth(db, st)
