"""pond: an embeddable customer-lifecycle engine (tags, stages, attributes,
segments over millions of customers), from Python.

    import pond
    from datetime import datetime, timezone

    with pond.open() as db:                       # in memory; open(path) for files
        db.define({"tag_groups": [{"name": "src", "tags": ["store", "ad"]}]})
        now = datetime.now(timezone.utc)
        with db.transaction():                    # commit, or rollback on error
            for cid in (1, 2, 3):
                db.upsert(cid, now)
            db.tag_many("src/store", [1, 2], now)
        print(len(db.members("src/store")))       # 2

Timestamps are int seconds since the epoch (UTC) or aware datetimes; the
library never reads the clock. Errors are subclasses of pond.Error.

Threads: a Db may be shared by threads; calls release the GIL. close() waits
for calls running in other threads, and every Set of the db becomes unusable
(MisuseError). The transaction of a Db is the handle's, not a thread's.
"""

import typing as _typing

from ._pond import (
    VERSION,
    BusyError,
    ConflictError,
    CorruptError,
    Db,
    Error,
    InvalidError,
    LimitError,
    MisuseError,
    NotFoundError,
    OutOfMemoryError,
    ParseError,
    Query,
    Set,
    StorageError,
    Transaction,
    open,
    strerror,
    version,
)

__version__ = VERSION


class Storage(_typing.Protocol):
    """What pond.open(storage=...) needs: pond's durable records as keys and
    values (bytes), in a store the host owns (a database table, Redis...).

    scan(prefix) yields every (key, value) whose key starts with prefix, in
    ascending byte order of keys. commit(ops) applies all of ops atomically:
    (key, value) writes, (key, None) deletes; raising fails the transaction
    (pond rolls its memory back and raises StorageError from the exception).
    Both are called from the thread making the pond call, with the GIL held;
    they must not call the db back (MisuseError). pond.storage has examples
    over SQLite (sqlite3) and Redis (redis-py).
    """

    def scan(self, prefix: bytes) -> _typing.Iterable[_typing.Tuple[bytes, bytes]]: ...

    def commit(self, ops: _typing.List[_typing.Tuple[bytes, _typing.Optional[bytes]]]) -> None: ...


__all__ = [
    "BusyError",
    "ConflictError",
    "CorruptError",
    "Db",
    "Error",
    "InvalidError",
    "LimitError",
    "MisuseError",
    "NotFoundError",
    "OutOfMemoryError",
    "ParseError",
    "Query",
    "Set",
    "Storage",
    "StorageError",
    "Transaction",
    "open",
    "strerror",
    "version",
]
