"""The example storages of pond.storage: SQLite (Python's sqlite3) and
Redis (redis-py against a redis-server this module starts on 127.0.0.1 and
stops; the Redis tests skip only when redis-server or redis-py is absent).

Each adapter runs the same workload as the dict oracle of conftest.py and
must hold byte for byte the same records; a reopened db equals the one
that wrote them; a commit the database refuses is StorageError caused by
the client's exception, with the db rolled back and nothing written."""
import os
import shutil
import socket
import sqlite3
import subprocess
import time

import pytest

import pond
from pond.storage import RedisStorage, SQLiteStorage, prefix_end
from conftest import DEFS, T0, DictStorage


def workload(db, seed=0):
    """Calls of every kind, single and in transactions."""
    db.define(DEFS)
    with db.transaction():
        for cid in range(1, 120):
            db.upsert(cid * 7919 % 1000003, T0 + cid)
    cids = [cid * 7919 % 1000003 for cid in range(1, 120)]
    db.tag_many("src/store", cids[::2], T0)
    for i, cid in enumerate(cids[:40]):
        db.tag(cid, "status/todo" if i % 2 else "status/done", T0 + i)
        db.set_attr(cid, "region", ["杭州", "上海", "x"][(i + seed) % 3])
        db.set_attr(cid, "spend", i * 100 - 500)
        db.set_attr(cid, "vip", i % 2 == 0)
    db.untag(cids[2], "src/store", T0)
    db.rename_tag("src/ad", "src/ads")
    db.delete(cids[5])
    with db.transaction():
        db.tag(cids[6], "camp/spring", T0)
        db.set_attr(cids[6], "spend", None)
    return db


def state(db):
    """A comparable picture of a db (through the public API only)."""
    out = []
    for tag in ("src/store", "status/todo", "status/done", "camp/spring"):
        out.append((tag, list(db.members(tag))))
    for cid in sorted(db.members("src/store")):
        out.append((cid, sorted(db.tags_of(cid))))
    out.append(len(db))
    return out


def test_prefix_end():
    assert prefix_end(b"") is None
    assert prefix_end(b"\xff\xff") is None
    assert prefix_end(b"ab") == b"ac"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"\x04\x00\xff") == b"\x04\x01"


# ------------------------------------------------------------------ SQLite


def test_sqlite_storage_matches_the_dict_oracle(tmp_path):
    path = str(tmp_path / "pond.sqlite")
    oracle, st = DictStorage(), SQLiteStorage(path)
    with pond.open(storage=oracle) as a, pond.open(storage=st) as b:
        workload(a)
        workload(b)
        want = state(a)
        assert state(b) == want
    assert list(st.scan(b"")) == sorted(oracle.data.items())
    for p in (b"\x03", b"\x04", b"\x04\x00\x00\x00\x00\x00\x01"):
        assert list(st.scan(p)) == [kv for kv in sorted(oracle.data.items()) if kv[0].startswith(p)]
    st.close()
    st = SQLiteStorage(path)
    with pond.open(storage=st) as db:
        assert state(db) == want
    st.close()


def test_sqlite_storage_in_memory_and_on_a_given_connection():
    con = sqlite3.connect(":memory:", isolation_level=None)
    st = SQLiteStorage(con, table="tenant_7")
    with pond.open(storage=st) as db:
        workload(db)
        want = state(db)
    with pond.open(storage=SQLiteStorage(con, table="tenant_7")) as db:
        assert state(db) == want
    with pytest.raises(ValueError):
        SQLiteStorage(con, table="no such; table")
    with pytest.raises(ValueError):
        SQLiteStorage(sqlite3.connect(":memory:"))  # not autocommit


def test_sqlite_locked_database_fails_the_commit_and_rolls_back(tmp_path):
    path = str(tmp_path / "pond.sqlite")
    st = SQLiteStorage(path)
    with pond.open(storage=st) as db:
        workload(db)
        want = state(db)
        before = list(st.scan(b""))
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        other.execute("BEGIN IMMEDIATE")  # holds the write lock
        st.con.execute("PRAGMA busy_timeout=0")
        with pytest.raises(pond.StorageError) as ei:
            with db.transaction():
                db.upsert(424242, T0)
                db.tag(424242, "src/store", T0)
        assert isinstance(ei.value.__cause__, sqlite3.OperationalError)
        assert "locked" in str(ei.value)
        assert 424242 not in db and state(db) == want
        other.execute("ROLLBACK")
        other.close()
        assert list(st.scan(b"")) == before
        db.upsert(424242, T0)  # and the next commit works
        assert 424242 in db
    st.close()


# ------------------------------------------------------------------- Redis


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (scripts/deps.sh installs it)")
    redis = pytest.importorskip("redis")
    port = free_port()
    work = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(work), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.02)
    yield redis, port
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def client_of(redis_server):
    redis, port = redis_server
    return redis.Redis(host="127.0.0.1", port=port)


def test_redis_storage_matches_the_dict_oracle(redis_server):
    r = client_of(redis_server)
    r.flushall()
    oracle, st = DictStorage(), RedisStorage(r, name="t1", batch=37)  # many scan batches
    with pond.open(storage=oracle) as a, pond.open(storage=st) as b:
        workload(a)
        workload(b)
        want = state(a)
        assert state(b) == want
    assert list(st.scan(b"")) == sorted(oracle.data.items())
    for p in (b"\x03", b"\x04", b"\x01"):
        assert list(st.scan(p)) == [kv for kv in sorted(oracle.data.items()) if kv[0].startswith(p)]
    with pond.open(storage=RedisStorage(client_of(redis_server), name="t1")) as db:
        assert state(db) == want


def test_redis_shards_share_one_server(redis_server):
    """Several dbs (tenants, shards) in one Redis under disjoint names."""
    r = client_of(redis_server)
    r.flushall()
    wants = []
    for i in range(3):
        with pond.open(storage=RedisStorage(r, name=f"shard{i}")) as db:
            workload(db, seed=i)
            db.upsert(10**9 + i, T0)
            wants.append(state(db) + [10**9 + i in db])
    for i in range(3):
        with pond.open(storage=RedisStorage(r, name=f"shard{i}")) as db:
            assert state(db) + [10**9 + i in db] == wants[i]
            assert all((10**9 + j in db) == (i == j) for j in range(3))


def test_redis_failure_fails_the_commit_and_rolls_back(redis_server):
    redis, port = redis_server
    r = client_of(redis_server)
    r.flushall()
    st = RedisStorage(r, name="t2")
    with pond.open(storage=st) as db:
        workload(db)
        want = state(db)
        before = list(st.scan(b""))
        # A client that cannot reach the server: its commit raises.
        dead = RedisStorage(redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1),
                            name="t2")
        st.r = dead.r
        with pytest.raises(pond.StorageError) as ei:
            db.tag(7919, "camp/spring", T0)
        assert isinstance(ei.value.__cause__, redis.exceptions.ConnectionError)
        assert state(db) == want
        st.r = r
        assert list(st.scan(b"")) == before
        db.tag(7919, "camp/spring", T0)
        assert 7919 in db.members("camp/spring")
    with pond.open(storage=RedisStorage(r, name="t2")) as db:
        assert 7919 in db.members("camp/spring")
