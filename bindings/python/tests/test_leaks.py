"""The whole API in a loop 10,000 times: Python objects (tracemalloc) and the
process's resident memory (/proc/self/statm, which sees C allocations) must
not grow. A reference leak of one object per call would show as ~1 MB here."""
import array
import gc
import os
import tracemalloc
from datetime import datetime, timezone

import pytest

import pond
import roaring
from conftest import DEFS, T0, DictStorage

ROUNDS = int(os.environ.get("POND_LEAK_ROUNDS", "10000"))
WHEN = datetime(2024, 1, 1, tzinfo=timezone.utc)
ROARING = roaring.encode32([1, 2, 70000])


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def one_round(db, st, i):
    cid = 1_000_000 + i % 50
    db.upsert(cid, T0)
    db.upsert(cid + 1, WHEN)
    assert cid in db and len(db) >= 2
    db.tag(cid, "src/store", T0)
    db.tag(cid, "status/todo", WHEN)
    db.has_tag(cid, "src/store")
    db.tags_of(cid)
    db.tag_many("src/ad", [cid, cid + 1], T0)
    db.tag_many("src/ad", array.array("Q", [cid]), T0)
    db.tag_many("src/ad", (c for c in (cid,)), T0)
    a, b = db.members("src/store"), db.members("src/ad")
    for s in (a & b, a | b, a - b, a ^ b):
        len(s), list(s), cid in s, s == a
    pond.Set.from_roaring(db, (a | b).to_roaring())
    pond.Set.from_roaring(db, ROARING)
    repr(a), db.tag_count("src/ad")
    db.set_attr(cid, "spend", i)
    db.set_attr(cid, "region", "华东")
    db.set_attr(cid, "vip", True)
    db.set_attr(cid, "birthday", WHEN)
    db.set_attr(cid, "spend", None)
    with db.transaction():
        db.untag(cid, "src/store", T0)
    try:
        with db.transaction():
            db.tag(cid, "camp/x", T0)
            raise KeyError(i)
    except KeyError:
        pass
    # error paths
    for call, exc in (
        (lambda: db.tag(5, "src/store", T0), pond.NotFoundError),
        (lambda: db.tag(cid, "bad", T0), pond.InvalidError),
        (lambda: db.define('{"x": ['), pond.ParseError),
        (lambda: db.commit(), pond.MisuseError),
        (lambda: pond.Set.from_roaring(db, b"junk"), pond.CorruptError),
        (lambda: db.upsert(-1, T0), OverflowError),
        (lambda: db.upsert(cid, datetime(2024, 1, 1)), ValueError),
        (lambda: db.tag_many("src/ad", [cid, "x"], T0), TypeError),
        (lambda: db.set_attr(cid, "spend", "x"), pond.InvalidError),
    ):
        try:
            call()
        except exc:
            pass
        else:  # pragma: no cover
            raise AssertionError(f"{call} did not raise {exc}")
    st.fail = RuntimeError("once")
    try:
        db.upsert(cid + 2, T0)
    except pond.StorageError:
        pass
    db.delete(cid + 1)
    if i % 100 == 0:
        with pond.open() as tmp:
            tmp.define(DEFS)
            tmp.upsert(1, T0)
            s = tmp.members("src/store")
        try:
            len(s)
        except pond.MisuseError:
            pass


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_whole_api_loop_does_not_leak():
    st = DictStorage()
    with pond.open(storage=st) as db:
        db.define(DEFS)
        for i in range(ROUNDS // 10):  # warm up: caches, arenas, interned names
            one_round(db, st, i)
        gc.collect()
        tracemalloc.start()
        snap0 = tracemalloc.take_snapshot()
        rss0, mem0 = rss_bytes(), db.memory_used
        for i in range(ROUNDS):
            one_round(db, st, i)
        gc.collect()
        snap1 = tracemalloc.take_snapshot()
        rss1, mem1 = rss_bytes(), db.memory_used
        tracemalloc.stop()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    top = snap1.compare_to(snap0, "lineno")[:5]
    # The storage's dict changes size with the data; allow it some slack.
    assert grown < 256 * 1024, f"Python memory grew by {grown} bytes: {top}"
    assert rss1 - rss0 < 4 * 1024 * 1024, f"RSS grew by {rss1 - rss0} bytes"
    assert mem1 - mem0 < 256 * 1024, f"pond's own memory grew by {mem1 - mem0} bytes"
