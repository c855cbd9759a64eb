"""Set: reading, algebra, equality, Roaring bytes, lifetime."""
import random

import pytest

import pond
import roaring
from conftest import T0


@pytest.fixture
def tagged(db):
    ids = list(range(1, 21))
    with db.transaction():
        for cid in ids:
            db.upsert(cid, T0)
    db.tag_many("src/store", [c for c in ids if c % 2 == 0], T0)
    db.tag_many("src/ad", [c for c in ids if c % 3 == 0], T0)
    return db


def test_len_iter_contains(tagged):
    s = tagged.members("src/store")
    assert len(s) == 10
    assert bool(s)
    assert list(s) == list(range(2, 21, 2))
    assert 4 in s and 5 not in s
    assert -1 not in s and 2**64 not in s
    with pytest.raises(TypeError):
        "4" in s
    it = iter(s)
    assert it.__length_hint__() == 10
    next(it)
    assert it.__length_hint__() == 9
    assert iter(it) is it
    assert s.db is tagged


def test_empty_set(tagged):
    s = tagged.members("src/live")
    assert len(s) == 0 and not s and list(s) == []


def test_operators_match_python_sets(tagged):
    a, b = tagged.members("src/store"), tagged.members("src/ad")
    pa, pb = set(a), set(b)
    assert list(a & b) == sorted(pa & pb)
    assert list(a | b) == sorted(pa | pb)
    assert list(a - b) == sorted(pa - pb)
    assert list(a ^ b) == sorted(pa ^ pb)
    assert isinstance(a & b, pond.Set)


def test_operators_with_other_types(tagged):
    a = tagged.members("src/store")
    for other in ({2, 4}, [2], 1, None):
        with pytest.raises(TypeError):
            a & other
        with pytest.raises(TypeError):
            other | a
    assert (a == {2, 4}) is False
    assert (a != [2]) is True
    with pytest.raises(TypeError):
        a < a
    with pytest.raises(TypeError):
        hash(a)


def test_equality_is_by_content(tagged):
    a = tagged.members("src/store")
    b = tagged.members("src/ad")
    assert a == a
    assert a == tagged.members("src/store")
    assert a != b
    assert (a | b) == (b | a)
    assert (a - a) == (b - b)
    assert ((a ^ b) ^ b) == a


def test_equality_of_large_sets_pages():
    ids = list(range(0, 300_000, 3))
    with pond.open(autocreate=True) as d:
        d.define({"tag_groups": [{"name": "big"}]})
        d.tag_many("big/a", ids, T0)
        d.tag_many("big/b", ids, T0)
        d.tag_many("big/c", ids[:-1] + [ids[-1] + 1], T0)
        a, b, c = d.members("big/a"), d.members("big/b"), d.members("big/c")
        assert a == b
        assert a != c
        assert list(a) == ids


def test_sets_of_different_dbs_do_not_mix(tagged):
    with pond.open() as other:
        other.define({"tag_groups": [{"name": "src"}]})
        s = other.members("src/store")
        with pytest.raises(ValueError, match="different dbs"):
            tagged.members("src/store") & s
        moved = pond.Set.from_roaring(tagged, s.to_roaring())
        assert (tagged.members("src/store") | moved) == tagged.members("src/store")


def test_repr(tagged):
    assert repr(tagged.members("src/ad")) == "<pond.Set of 6: {3, 6, 9, 12, 15, ...}>"
    assert repr(tagged.members("src/live")) == "<pond.Set of 0: {}>"


# ---------------------------------------------------------------- Roaring

SAMPLES = {
    "empty": [],
    "one": [0],
    "array": [1, 5, 65535, 65536, 70000, 2**32 - 1],
    "bitset": list(range(0, 20000, 3)),
    "mixed": list(range(100, 5000)) + [1 << 20, (1 << 20) + 7],
    "many_containers": [k << 16 | k for k in range(40)],
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_from_roaring_reads_independent_bytes(db, name):
    ids = SAMPLES[name]
    for runs in (False, True):
        s = pond.Set.from_roaring(db, roaring.encode32(ids, runs=runs))
        assert list(s) == sorted(ids)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_to_roaring_decodes_independently(name):
    ids = SAMPLES[name]
    with pond.open(autocreate=True) as db:
        db.define({"tag_groups": [{"name": "g"}]})
        db.tag_many("g/t", ids, T0)
        data = db.members("g/t").to_roaring()
        assert roaring.decode(data) == sorted(ids)
        assert pond.Set.from_roaring(db, data) == db.members("g/t")


def test_to_roaring_matches_the_spec_byte_for_byte():
    # Sparse ids: runs are never smaller, so every writer must give these bytes.
    rng = random.Random(3)
    with pond.open(autocreate=True) as db:
        db.define({"tag_groups": [{"name": "g"}]})
        for size in (0, 1, 10, 1000, 5000):
            ids = rng.sample(range(0, 2**32, 2), size)
            db.tag_many(f"g/s{size}", ids, T0)
            assert db.members(f"g/s{size}").to_roaring() == roaring.encode32(ids)


def test_sixty_four_bit_ids_use_the_portable_64_bit_format():
    ids = [1, 2**32, 2**32 + 5, 2**63, 2**64 - 1]
    with pond.open(autocreate=True) as db:
        db.define({"tag_groups": [{"name": "g"}]})
        db.tag_many("g/t", ids, T0)
        data = db.members("g/t").to_roaring()
        assert data == roaring.encode64(ids)
        assert roaring.decode(data) == ids
        assert list(pond.Set.from_roaring(db, roaring.encode64(ids, runs=True))) == ids


def test_from_roaring_rejects_corrupt_bytes(db):
    good = roaring.encode32([1, 2, 3])
    for bad in (b"", b"\x00", good[:-1], b"\xff" * 16, good[:4] + b"\xff\xff\xff\xff" + good[8:]):
        with pytest.raises(pond.CorruptError) as ei:
            pond.Set.from_roaring(db, bad)
        assert ei.value.code == -8
    unsorted = roaring.encode32([1, 2, 3])[:-6] + bytes([3, 0, 2, 0, 1, 0])
    with pytest.raises(pond.CorruptError):
        pond.Set.from_roaring(db, unsorted)


def test_from_roaring_argument_errors(db):
    with pytest.raises(TypeError):
        pond.Set.from_roaring(db, "text")
    with pytest.raises(TypeError):
        pond.Set.from_roaring("db", b"")
    with pytest.raises(TypeError):
        pond.Set.from_roaring(db)
    s = pond.Set.from_roaring(db, bytearray(roaring.encode32([9])))
    assert list(s) == [9]
    s = pond.Set.from_roaring(db, memoryview(roaring.encode32([10])))
    assert list(s) == [10]


# --------------------------------------------------------------- lifetime


def test_sets_outlive_their_db_as_errors(tagged):
    s = tagged.members("src/store")
    it = iter(s)
    next(it)
    tagged.close()
    for call in (lambda: len(s), lambda: 2 in s, lambda: list(s), lambda: next(it),
                 s.to_roaring, lambda: s & s, lambda: s == s, lambda: bool(s)):
        with pytest.raises(pond.MisuseError):
            call()
    assert "closed" in repr(s)
    with pytest.raises(pond.MisuseError):
        pond.Set.from_roaring(tagged, roaring.encode32([1]))


def test_a_set_keeps_its_db_alive(tagged):
    s = tagged.members("src/store")
    del tagged
    import gc

    gc.collect()
    assert len(s) == 10
    s.db.close()


def test_iteration_of_a_snapshot_is_stable(tagged):
    s = tagged.members("src/store")
    out = []
    for cid in s:
        out.append(cid)
        tagged.untag(cid, "src/store", T0)
    assert out == list(range(2, 21, 2))
    assert len(tagged.members("src/store")) == 0
