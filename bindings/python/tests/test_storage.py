"""Persistence: a Python object as storage, and the embedded file store."""
import threading

import pytest

import pond
from conftest import DEFS, T0, DictStorage


def fill(db):
    db.define(DEFS)
    with db.transaction():
        for cid in (1, 2, 3):
            db.upsert(cid, T0)
        db.tag_many("src/store", [1, 2], T0)
        db.tag(3, "来源/直播", T0)
        db.set_attr(1, "region", "杭州")


def check(db):
    assert len(db) == 3
    assert list(db.members("src/store")) == [1, 2]
    assert db.tags_of(3) == ["来源/直播"]


def test_python_storage_round_trip():
    st = DictStorage()
    with pond.open(storage=st) as db:
        fill(db)
        check(db)
    assert st.commits >= 2
    assert st.data and all(isinstance(k, bytes) for k in st.data)
    with pond.open(storage=st) as db:
        check(db)
        db.delete(3)
    with pond.open(storage=st) as db:
        assert len(db) == 2


def test_scan_is_called_with_bytes_prefixes():
    seen = []

    class Spy(DictStorage):
        def scan(self, prefix):
            seen.append(prefix)
            return super().scan(prefix)

    with pond.open(storage=Spy()):
        pass
    assert seen and all(isinstance(p, bytes) for p in seen)


def test_failed_commit_is_storage_error_caused_by_the_exception():
    st = DictStorage()
    with pond.open(storage=st) as db:
        fill(db)
        before = dict(st.data)
        st.fail = ConnectionError("db server went away")
        with pytest.raises(pond.StorageError) as ei:
            db.upsert(4, T0)
        e = ei.value
        assert isinstance(e.__cause__, ConnectionError)
        assert e.__cause__.__traceback__ is not None
        assert "ConnectionError" in str(e) and "went away" in str(e)
        assert e.code == -7
        assert 4 not in db  # rolled back in memory
        assert st.data == before  # and nothing written
        db.upsert(4, T0)  # the next commit works, with no stale cause
        assert 4 in db


def test_failed_transaction_commit_rolls_everything_back():
    st = DictStorage()
    with pond.open(storage=st) as db:
        fill(db)
        st.fail = OSError("disk full")
        with pytest.raises(pond.StorageError) as ei:
            with db.transaction():
                db.upsert(9, T0)
                db.tag(1, "src/ad", T0)
                db.rename_tag("src/store", "src/shop")
        assert isinstance(ei.value.__cause__, OSError)
        assert 9 not in db and not db.has_tag(1, "src/ad")
        check(db)


def test_scan_failure_fails_open():
    class Broken(DictStorage):
        def scan(self, prefix):
            raise PermissionError("no access")

    with pytest.raises(pond.StorageError) as ei:
        pond.open(storage=Broken())
    assert isinstance(ei.value.__cause__, PermissionError)


def test_scan_yielding_garbage_fails_open():
    class Garbage(DictStorage):
        def scan(self, prefix):
            yield "not a pair"

    with pytest.raises(pond.StorageError) as ei:
        pond.open(storage=Garbage())
    assert isinstance(ei.value.__cause__, TypeError)

    class NotBytes(DictStorage):
        def scan(self, prefix):
            yield ("k", "v")

    with pytest.raises(pond.StorageError) as ei:
        pond.open(storage=NotBytes())
    assert isinstance(ei.value.__cause__, TypeError)


def test_corrupt_records_are_corrupt_error():
    st = DictStorage()
    with pond.open(storage=st) as db:
        fill(db)
    for k in st.data:
        st.data[k] = b"\xff" * 3
    with pytest.raises(pond.CorruptError):
        pond.open(storage=st)


def test_storage_needs_scan_and_commit():
    class OnlyScan:
        def scan(self, prefix):
            return []

    with pytest.raises(TypeError, match="commit"):
        pond.open(storage=OnlyScan())

    class NotCallable:
        scan = 1
        commit = 2

    with pytest.raises(TypeError, match="scan"):
        pond.open(storage=NotCallable())


def test_a_callback_calling_its_db_is_misuse_not_deadlock():
    class Reentrant(DictStorage):
        db = None

        def commit(self, ops):
            if self.db is not None:
                len(self.db)
            super().commit(ops)

    st = Reentrant()
    with pond.open(storage=st) as db:
        db.define(DEFS)
        st.db = db
        with pytest.raises(pond.StorageError) as ei:
            db.upsert(1, T0)
        assert isinstance(ei.value.__cause__, pond.MisuseError)
        st.db = None
        db.upsert(1, T0)


def test_storage_is_called_with_the_gil_from_other_threads():
    st = DictStorage()
    with pond.open(storage=st) as db:
        db.define(DEFS)
        errors = []

        def work(base):
            try:
                for i in range(200):
                    db.upsert(base + i, T0)
                    db.tag(base + i, "src/store", T0)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        ts = [threading.Thread(target=work, args=(k * 1000,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors
        assert len(db) == 800
    with pond.open(storage=st) as db:
        assert db.tag_count("src/store") == 800


def test_storage_object_is_released_on_close():
    import gc
    import weakref

    st = DictStorage()
    ref = weakref.ref(st)
    db = pond.open(storage=st)
    del st
    gc.collect()
    assert ref() is not None
    db.close()
    gc.collect()
    assert ref() is None


def test_a_cycle_through_the_storage_is_collected():
    import gc
    import weakref

    st = DictStorage()
    db = pond.open(storage=st)
    st.db = db  # storage -> db -> storage
    ref = weakref.ref(st)
    del st, db
    gc.collect()
    assert ref() is None


# -------------------------------------------------------------- file store


def test_file_store_round_trip(tmp_path):
    with pond.open(tmp_path / "t1") as db:
        fill(db)
    with pond.open(str(tmp_path / "t1")) as db:
        check(db)
    with pond.open(bytes(tmp_path / "t1"), sync=False) as db:
        check(db)


def test_second_opener_is_busy(tmp_path):
    with pond.open(tmp_path / "t2") as db:
        with pytest.raises(pond.BusyError) as ei:
            pond.open(tmp_path / "t2")
        assert ei.value.code == -10
        db.upsert(1, T0)
    with pond.open(tmp_path / "t2") as db:
        assert 1 in db


def test_file_store_autocreate(tmp_path):
    with pond.open(tmp_path / "t3", autocreate=True) as db:
        db.define(DEFS)
        db.tag(5, "src/store", T0)
        assert 5 in db


def test_open_path_failure_is_storage_error(tmp_path):
    f = tmp_path / "file"
    f.write_text("not a directory")
    with pytest.raises(pond.Error):
        pond.open(f / "sub")
