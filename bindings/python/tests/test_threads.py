"""Sharing a Db between threads: concurrent tagging and reading, closing
while others work, and the GIL being released during long calls."""
import array
import threading
import time

import pytest

import pond
from conftest import DEFS, T0

N_THREADS = 4


def run_threads(fns):
    errors = []
    barrier = threading.Barrier(len(fns))

    def wrap(fn):
        def run():
            barrier.wait()
            try:
                fn()
            except BaseException as e:  # reported by the caller
                errors.append(e)

        return run

    ts = [threading.Thread(target=wrap(fn)) for fn in fns]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts), "a thread hung"
    return errors


def test_threads_tag_and_read_at_once():
    with pond.open(autocreate=True) as db:
        db.define(DEFS)
        n = 2000

        def writer(k):
            def run():
                for i in range(n):
                    cid = k * n + i
                    db.tag(cid, "src/store", T0)
                    if i % 3 == 0:
                        db.tag(cid, f"camp/t{k}", T0)
                db.tag_many("src/ad", array.array("Q", range(k * n, (k + 1) * n)), T0)

            return run

        def reader():
            for _ in range(300):
                s = db.members("src/store")
                ids = list(s)
                assert ids == sorted(ids)
                assert len(s) == len(ids)
                for cid in ids[:5]:
                    assert db.has_tag(cid, "src/store")
                    assert "src/store" in db.tags_of(cid)
                (s & db.members("src/ad")).to_roaring()

        errors = run_threads([writer(k) for k in range(N_THREADS)] + [reader, reader])
        assert not errors, errors
        assert db.tag_count("src/store") == N_THREADS * n
        assert db.tag_count("src/ad") == N_THREADS * n
        for k in range(N_THREADS):
            assert db.tag_count(f"camp/t{k}") == (n + 2) // 3


def test_renames_while_others_read_names():
    with pond.open(autocreate=True) as db:
        db.define(DEFS)
        for cid in range(50):
            db.tag(cid, "camp/a", T0)
        stop = threading.Event()

        def renamer():
            try:
                for i in range(500):
                    db.rename_tag("camp/a" if i % 2 == 0 else "camp/b", "camp/b" if i % 2 == 0 else "camp/a")
            finally:
                stop.set()

        def reader():
            while not stop.is_set():
                for cid in range(0, 50, 7):
                    assert db.tags_of(cid)[0] in ("camp/a", "camp/b")

        errors = run_threads([renamer, reader, reader])
        assert not errors, errors


def test_close_while_other_threads_work_never_crashes():
    for _ in range(5):
        db = pond.open(autocreate=True)
        db.define(DEFS)
        db.tag_many("src/store", range(10_000), T0)
        started = threading.Barrier(N_THREADS + 1)

        def worker(k):
            def run():
                s = db.members("src/store")
                started.wait()
                try:
                    while True:
                        db.tag(100_000 + k, "src/ad", T0)
                        db.tag_many("src/ad", range(k * 1000, k * 1000 + 1000), T0)
                        sum(1 for _ in s)
                        (s | db.members("src/ad")).to_roaring()
                except pond.MisuseError:
                    pass  # the db closed under us: the defined outcome

            return run

        ts = [threading.Thread(target=worker(k)) for k in range(N_THREADS)]
        for t in ts:
            t.start()
        started.wait()
        time.sleep(0.01)
        db.close()
        for t in ts:
            t.join(30)
        assert not any(t.is_alive() for t in ts)


def test_long_calls_release_the_gil():
    # While one thread runs a long tag_many, another thread keeps running
    # Python code: the counter advances during the call.
    with pond.open(autocreate=True) as db:
        db.define(DEFS)
        ids = array.array("Q", range(2_000_000))
        ticks = [0]
        done = threading.Event()

        def spin():
            while not done.is_set():
                ticks[0] += 1

        t = threading.Thread(target=spin)
        t.start()
        try:
            time.sleep(0.01)
            before = ticks[0]
            t0 = time.perf_counter()
            db.tag_many("src/store", ids, T0)
            took = time.perf_counter() - t0
            during = ticks[0] - before
        finally:
            done.set()
            t.join()
        assert db.tag_count("src/store") == len(ids)
        if took > 0.02:  # only meaningful when the call is long enough
            assert during > 0
