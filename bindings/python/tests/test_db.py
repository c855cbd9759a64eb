"""Db: opening and closing, definitions, transactions, customers, attributes,
and the conversion of customer ids and timestamps."""
import json
from datetime import datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pond
from pond import _pond
from conftest import DEFS, T0


class Index:
    """An int-like that is not an int (numpy.uint64 behaves so)."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


# ------------------------------------------------------------------- open


def test_open_in_memory_and_context_manager_closes():
    with pond.open() as db:
        assert not db.closed
        assert len(db) == 0
    assert db.closed
    with pytest.raises(pond.MisuseError, match="closed"):
        len(db)


def test_close_is_idempotent():
    db = pond.open()
    db.close()
    db.close()
    assert db.closed
    assert "closed" in repr(db)


def test_every_method_of_a_closed_db_raises_misuse():
    db = pond.open()
    db.close()
    calls = [
        lambda: db.define({}),
        db.begin,
        db.commit,
        db.rollback,
        lambda: db.upsert(1, T0),
        lambda: db.delete(1),
        lambda: 1 in db,
        lambda: len(db),
        lambda: db.set_attr(1, "spend", 1),
        lambda: db.tag(1, "src/store", T0),
        lambda: db.untag(1, "src/store", T0),
        lambda: db.has_tag(1, "src/store"),
        lambda: db.tags_of(1),
        lambda: db.tag_many("src/store", [1], T0),
        lambda: db.members("src/store"),
        lambda: db.tag_count("src/store"),
        lambda: db.rename_tag("src/store", "src/shop"),
        lambda: db.merge_tags("src/store", "src/ad", T0),
        lambda: db.delete_tag("src/store"),
        lambda: db.memory_used,
        lambda: db.transaction().__enter__(),
        lambda: db.__enter__(),
    ]
    for call in calls:
        with pytest.raises(pond.MisuseError):
            call()


def test_open_argument_errors():
    with pytest.raises(TypeError):
        pond.open(storage=object())  # no scan/commit
    with pytest.raises(TypeError):
        pond.open(memory_limit="big")
    with pytest.raises(TypeError):
        pond.open(memory_limit=True)
    with pytest.raises(OverflowError):
        pond.open(memory_limit=-1)
    with pytest.raises(ValueError):
        pond.open("/tmp/x", storage=object())
    with pytest.raises(ValueError):
        pond.open("/tmp/x", memory_limit=1 << 20)
    with pytest.raises(ValueError):
        pond.open(sync=False)
    with pytest.raises(ValueError):
        pond.open("/tmp/a\0b")
    with pytest.raises(TypeError):
        pond.open(1, 2)


def test_types_are_not_instantiable():
    for t in (pond.Db, pond.Set, pond.Transaction):
        with pytest.raises(TypeError):
            t()


def test_version():
    assert pond.version() == pond.__version__
    assert pond.version().count(".") == 2
    assert pond.strerror(-1)
    assert pond.strerror(12345)  # unknown codes still describe themselves


def test_memory_used_grows_with_customers():
    with pond.open() as db:
        before = db.memory_used
        for cid in range(1000):
            db.upsert(cid, T0)
        assert db.memory_used > before


# ---------------------------------------------------------------- define


def test_define_dict_and_str(db):
    db.define({"tag_groups": [{"name": "extra", "tags": ["a"]}]})
    db.define(json.dumps({"tag_groups": [{"name": "extra2", "tags": ["b"]}]}))
    db.upsert(1, T0)
    db.tag(1, "extra/a", T0)
    db.tag(1, "extra2/b", T0)
    assert db.tags_of(1) == ["extra/a", "extra2/b"]


def test_define_keeps_non_ascii_names(db):
    db.upsert(1, T0)
    db.tag(1, "来源/门店扫码", T0)
    assert db.tags_of(1) == ["来源/门店扫码"]


def test_define_wrong_type():
    with pond.open() as db:
        with pytest.raises(TypeError):
            db.define(["not", "a", "dict"])
        with pytest.raises(TypeError):
            db.define(b"{}")
        with pytest.raises(TypeError):
            db.define({"x": object()})  # json.dumps refuses it


def test_define_parse_error_has_offset():
    with pond.open() as db:
        with pytest.raises(pond.ParseError) as ei:
            db.define('{"tag_groups": [}')
        assert isinstance(ei.value.offset, int) and ei.value.offset >= 0
        assert ei.value.code == -4
        assert str(ei.value)


def test_define_invalid_document_is_invalid_error_and_changes_nothing():
    with pond.open() as db:
        with pytest.raises(pond.InvalidError) as ei:
            db.define({"tag_groups": [{"name": "ok", "tags": ["a"]}, {"name": "bad", "ttl": "x"}]})
        assert isinstance(ei.value, ValueError)
        db.upsert(1, T0)
        with pytest.raises(pond.NotFoundError):
            db.tag(1, "ok/a", T0)  # the valid half was not applied either


def test_define_too_deep_is_limit_error():
    deep = "[" * 200 + "]" * 200
    with pond.open() as db:
        with pytest.raises(pond.LimitError):
            db.define('{"tag_groups": ' + deep + "}")


# ------------------------------------------------------------ transactions


def test_transaction_commits(db):
    with db.transaction() as t:
        assert t is db
        db.upsert(1, T0)
        db.upsert(2, T0)
    assert len(db) == 2


def test_transaction_rolls_back_on_exception(db):
    db.upsert(1, T0)
    with pytest.raises(KeyError):
        with db.transaction():
            db.upsert(2, T0)
            db.tag(1, "src/store", T0)
            raise KeyError("boom")
    assert len(db) == 1
    assert 2 not in db
    assert not db.has_tag(1, "src/store")


def test_explicit_begin_commit_rollback(db):
    db.begin()
    db.upsert(5, T0)
    db.rollback()
    assert 5 not in db
    db.begin()
    db.upsert(5, T0)
    db.commit()
    assert 5 in db


def test_misuse_of_transactions(db):
    with pytest.raises(pond.MisuseError) as ei:
        db.commit()
    assert ei.value.code == -9
    with pytest.raises(pond.MisuseError):
        db.rollback()
    db.begin()
    with pytest.raises(pond.MisuseError):
        db.begin()
    with pytest.raises(pond.MisuseError):
        with db.transaction():
            pass
    db.rollback()


def test_failed_call_inside_transaction_leaves_it_open(db):
    with db.transaction():
        db.upsert(1, T0)
        with pytest.raises(pond.NotFoundError):
            db.tag(99, "src/store", T0)
        db.tag(1, "src/store", T0)
    assert db.has_tag(1, "src/store")


def test_transaction_exit_after_close_raises_misuse_chained():
    db = pond.open()
    with pytest.raises(pond.MisuseError) as ei:
        with db.transaction():
            db.close()
            raise RuntimeError("inner")
    assert isinstance(ei.value.__context__, RuntimeError)


# --------------------------------------------------------------- customers


def test_upsert_contains_len_delete(db):
    assert 1 not in db
    db.upsert(1, T0)
    db.upsert(1, T0 + 5)  # exists: nothing
    db.upsert(2**64 - 1, T0)
    assert 1 in db and 2**64 - 1 in db
    assert len(db) == 2
    db.delete(1)
    assert 1 not in db
    assert len(db) == 1
    with pytest.raises(pond.NotFoundError) as ei:
        db.delete(1)
    assert isinstance(ei.value, LookupError)
    assert ei.value.code == -1


def test_contains_out_of_range_is_false_and_wrong_type_raises(db):
    assert -1 not in db
    assert 2**64 not in db
    with pytest.raises(TypeError):
        "1" in db
    with pytest.raises(TypeError):
        1.0 in db


def test_customer_id_conversion(db):
    db.upsert(Index(7), T0)
    assert 7 in db and Index(7) in db
    for bad in (-1, 2**64, -(2**70)):
        with pytest.raises(OverflowError):
            db.upsert(bad, T0)
    for bad in ("1", 1.0, None, True, [1]):
        with pytest.raises(TypeError):
            db.upsert(bad, T0)


def test_timestamp_conversion(db):
    utc = timezone.utc
    db.upsert(1, datetime(2024, 1, 1, tzinfo=utc))
    db.upsert(2, datetime(2024, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))))
    db.upsert(3, Index(T0))
    db.upsert(4, -5)  # before the epoch is a valid int64
    with pytest.raises(ValueError, match="naive"):
        db.upsert(5, datetime(2024, 1, 1))
    for bad in (1.5, "2024", None, True):
        with pytest.raises(TypeError):
            db.upsert(5, bad)
    for bad in (2**63, -(2**63) - 1):
        with pytest.raises(OverflowError):
            db.upsert(5, bad)
    assert 5 not in db


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class OddZone(tzinfo):
    """A tzinfo that is not datetime.timezone, with microseconds in its
    offset, and None (naive) for dates in 2000."""

    def __init__(self, offset):
        self.offset = offset

    def utcoffset(self, dt):
        return None if dt.year == 2000 else self.offset


@settings(max_examples=300)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.one_of(
                        st.just(timezone.utc),
                        st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-1439, 1439)),
                        st.builds(lambda us: OddZone(timedelta(microseconds=us)),
                                  st.integers(-86_399_999_999, 86_399_999_999)))))
def test_timestamp_of_aware_datetimes_is_exact(dt):
    # The oracle is Python's own arithmetic: floor((dt - epoch) / 1 s).
    if dt.utcoffset() is None:
        with pytest.raises(ValueError, match="naive"):
            _pond._timestamp(dt)
    else:
        assert _pond._timestamp(dt) == (dt - EPOCH) // timedelta(seconds=1)


def test_timestamp_values():
    utc = timezone.utc
    assert _pond._timestamp(0) == 0 and _pond._timestamp(Index(-7)) == -7
    assert _pond._timestamp(datetime(2024, 1, 1, tzinfo=utc)) == 1704067200
    assert _pond._timestamp(datetime(2024, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))) == 1704067200
    assert _pond._timestamp(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=utc)) == -1
    assert _pond._timestamp(datetime(1, 1, 1, tzinfo=utc)) == -62135596800
    odd = OddZone(timedelta(hours=-3, microseconds=250))
    for dt in (datetime(2024, 5, 6, 7, 8, 9, 100, tzinfo=odd), datetime(2024, 5, 6, 7, 8, 9, 300, tzinfo=odd)):
        assert _pond._timestamp(dt) == (dt - EPOCH) // timedelta(seconds=1)
    with pytest.raises(ValueError, match="naive"):
        _pond._timestamp(datetime(2000, 1, 1, tzinfo=odd))

    class BadZone(tzinfo):
        def utcoffset(self, dt):
            return 5

    with pytest.raises(TypeError):
        _pond._timestamp(datetime(2024, 1, 1, tzinfo=BadZone()))


def test_wrong_argument_counts(db):
    with pytest.raises(TypeError):
        db.upsert(1)
    with pytest.raises(TypeError):
        db.tag(1, "src/store")
    with pytest.raises(TypeError):
        db.upsert(1, T0, 3)
    with pytest.raises(TypeError):
        db.upsert(cid=1, ts=T0)


# -------------------------------------------------------------- attributes


def test_set_attr_types(people):
    db = people
    db.set_attr(1, "spend", 1200)
    db.set_attr(1, "spend", Index(3))
    db.set_attr(1, "region", "上海")
    db.set_attr(1, "vip", True)
    db.set_attr(1, "vip", False)
    db.set_attr(1, "birthday", datetime(1990, 5, 1, tzinfo=timezone.utc))
    db.set_attr(1, "birthday", 641520000)
    db.set_attr(1, "spend", None)
    db.set_attr(1, "region", None)


def test_set_attr_errors(people):
    db = people
    with pytest.raises(pond.NotFoundError):
        db.set_attr(1, "nope", 1)
    with pytest.raises(pond.NotFoundError):
        db.set_attr(99, "spend", 1)
    with pytest.raises(pond.InvalidError):
        db.set_attr(1, "spend", "text")  # type mismatch
    with pytest.raises(pond.InvalidError):
        db.set_attr(1, "region", 5)
    with pytest.raises(pond.InvalidError):
        db.set_attr(1, "vip", 2)
    with pytest.raises(TypeError):
        db.set_attr(1, "spend", 1.5)
    with pytest.raises(TypeError):
        db.set_attr(1, "spend", b"x")
    with pytest.raises(TypeError):
        db.set_attr(1, 5, 1)
    with pytest.raises(ValueError):
        db.set_attr(1, "region", "a\0b")
    with pytest.raises(ValueError):
        db.set_attr(1, "spe\0nd", 1)
    with pytest.raises(ValueError):
        db.set_attr(1, "birthday", datetime(1990, 5, 1))
    with pytest.raises(OverflowError):
        db.set_attr(1, "spend", 2**63)


def test_out_of_memory_is_a_memory_error():
    with pond.open(memory_limit=64 * 1024) as db:
        with pytest.raises(pond.OutOfMemoryError) as ei:
            for cid in range(0, 10_000_000, 7):
                db.upsert(cid, T0)
        assert isinstance(ei.value, MemoryError)
        assert ei.value.code == -3
        assert len(db) > 0  # what fitted stays; the failing call changed nothing
