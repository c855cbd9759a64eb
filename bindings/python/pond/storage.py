"""Example storages for pond.open(storage=...): pond's records in a host's
own database. Each is a few dozen lines over the database's ordinary client;
they are examples to copy as much as classes to use.

    import pond
    from pond.storage import SQLiteStorage, RedisStorage

    db = pond.open(storage=SQLiteStorage("/var/lib/crm/tenant42.sqlite"))
    db = pond.open(storage=RedisStorage(redis.Redis(), name="tenant42"))

A storage has two methods (see pond.Storage):
  scan(prefix)  -> (key, value) pairs whose key starts with prefix, in
                   ascending byte order of keys (pond_open reads everything
                   with prefix b"");
  commit(ops)   -> applies [(key, value or None)] all or nothing; raising
                   fails the pond call (StorageError, rolled back in memory).
Keys and values are bytes; lib/store/README.md documents their layout.
"""

import sqlite3 as _sqlite3
from collections.abc import Iterator as _Iterator


def prefix_end(prefix: bytes) -> "bytes | None":
    """The smallest byte string greater than every string starting with
    prefix, or None when there is none (prefix empty or all 0xff)."""
    p = prefix.rstrip(b"\xff")
    if not p:
        return None
    return p[:-1] + bytes([p[-1] + 1])


class SQLiteStorage:
    """pond's records in one table of a SQLite database:

        CREATE TABLE pond_kv(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID

    BLOBs compare like memcmp, then by length: pond's key order. Each commit
    is one SQLite transaction (BEGIN IMMEDIATE … COMMIT, rolled back on any
    error). Durability is SQLite's: WAL with synchronous=FULL syncs every
    commit. `database` is a path, ":memory:" or an open sqlite3.Connection
    (then it must be in autocommit mode: isolation_level=None)."""

    def __init__(self, database="pond.sqlite", table: str = "pond_kv", synchronous: str = "FULL"):
        if not table.isidentifier():
            raise ValueError(f"table name {table!r} is not an identifier")
        if isinstance(database, _sqlite3.Connection):
            self.con = database
            self._own = False
        else:
            self.con = _sqlite3.connect(database, isolation_level=None, check_same_thread=False)
            self._own = True
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute(f"PRAGMA synchronous={synchronous}")
        if self.con.isolation_level is not None:
            raise ValueError("the connection must be in autocommit mode (isolation_level=None)")
        self.table = table
        self.con.execute(
            f"CREATE TABLE IF NOT EXISTS {table}(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID"
        )

    def scan(self, prefix: bytes) -> "_Iterator[tuple[bytes, bytes]]":
        end = prefix_end(prefix)
        if end is None:
            cur = self.con.execute(f"SELECT k, v FROM {self.table} WHERE k >= ? ORDER BY k", (prefix,))
        else:
            cur = self.con.execute(
                f"SELECT k, v FROM {self.table} WHERE k >= ? AND k < ? ORDER BY k", (prefix, end)
            )
        for k, v in cur:
            yield bytes(k), bytes(v)

    def commit(self, ops: "list[tuple[bytes, bytes | None]]") -> None:
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            puts = [(k, v) for k, v in ops if v is not None]
            dels = [(k,) for k, v in ops if v is None]
            if puts:
                con.executemany(f"INSERT OR REPLACE INTO {self.table}(k, v) VALUES (?, ?)", puts)
            if dels:
                con.executemany(f"DELETE FROM {self.table} WHERE k = ?", dels)
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._own:
            self.con.close()


class RedisStorage:
    """pond's records in Redis (redis-py client), under two keys per db:

        <name>:v   a hash: pond key -> value
        <name>:k   a sorted set of the pond keys, every score 0, so that
                   ZRANGEBYLEX returns them in byte order

    so one Redis (or Redis Cluster: both keys share the hash tag {name})
    holds any number of dbs and shards side by side. A commit is one
    MULTI/EXEC transaction: Redis applies all of it or, if the connection
    fails before EXEC, none of it. Durability is the server's: run it with
    appendonly yes and appendfsync always for commits that survive a power
    loss. scan reads `batch` keys at a time."""

    def __init__(self, client, name: str = "pond", batch: int = 1000):
        self.r = client
        tag = "{" + name + "}"
        self.vkey = tag + ":v"
        self.kkey = tag + ":k"
        self.batch = batch

    def scan(self, prefix: bytes) -> "_Iterator[tuple[bytes, bytes]]":
        end = prefix_end(prefix)
        lo = b"[" + prefix
        hi = b"+" if end is None else b"(" + end
        while True:
            keys = self.r.zrangebylex(self.kkey, lo, hi, start=0, num=self.batch)
            if not keys:
                return
            vals = self.r.hmget(self.vkey, keys)
            for k, v in zip(keys, vals):
                if v is None:  # the two keys disagree: not written by commit
                    raise RuntimeError(f"RedisStorage {self.vkey}: no value for key {k!r}")
                yield bytes(k), bytes(v)
            if len(keys) < self.batch:
                return
            lo = b"(" + keys[-1]

    def commit(self, ops: "list[tuple[bytes, bytes | None]]") -> None:
        p = self.r.pipeline(transaction=True)
        puts = {k: v for k, v in ops if v is not None}
        dels = [k for k, v in ops if v is None]
        if puts:
            p.hset(self.vkey, mapping=puts)
            p.zadd(self.kkey, {k: 0 for k in puts})
        if dels:
            p.hdel(self.vkey, *dels)
            p.zrem(self.kkey, *dels)
        p.execute()

    def close(self) -> None:
        pass
