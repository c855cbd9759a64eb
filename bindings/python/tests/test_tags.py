"""Tag methods: by name, single and bulk, and whole-tag operations."""
import array
from datetime import datetime, timezone

import pytest

import pond
from conftest import T0


class Index:
    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


def test_tag_untag_has_tag(people):
    db = people
    assert not db.has_tag(1, "src/store")
    db.tag(1, "src/store", T0)
    db.tag(1, "src/store", T0 + 1)  # again: refreshes, no error
    assert db.has_tag(1, "src/store")
    assert db.has_tag(1, "src/store") is True
    db.untag(1, "src/store", T0 + 2)
    assert db.has_tag(1, "src/store") is False


def test_tag_with_datetime(people):
    people.tag(2, "src/ad", datetime(2024, 3, 1, tzinfo=timezone.utc))
    assert people.has_tag(2, "src/ad")


def test_tags_of_in_id_order(people):
    db = people
    assert db.tags_of(1) == []
    db.tag(1, "src/live", T0)
    db.tag(1, "src/store", T0)
    db.tag(1, "camp/spring", T0)
    # ids: predefined tags in definition order, created tags after them
    assert db.tags_of(1) == ["src/store", "src/live", "camp/spring"]


def test_tags_of_many_tags_grows_its_buffer(people):
    names = [f"camp/c{i:03d}" for i in range(100)]
    for n in names:
        people.tag(3, n, T0)
    assert people.tags_of(3) == names


def test_exclusive_group_keeps_one(people):
    db = people
    db.tag(1, "status/todo", T0)
    db.tag(1, "status/doing", T0 + 1)
    assert db.tags_of(1) == ["status/doing"]


def test_tag_errors(people):
    db = people
    with pytest.raises(pond.NotFoundError):
        db.tag(99, "src/store", T0)  # no such customer
    with pytest.raises(pond.NotFoundError):
        db.tag(1, "nogroup/x", T0)  # no such group
    with pytest.raises(pond.NotFoundError):
        db.tag(1, "status/unknown", T0)  # exclusive groups do not create tags
    with pytest.raises(pond.InvalidError):
        db.tag(1, "no-slash", T0)
    with pytest.raises(pond.InvalidError):
        db.tag(1, "a/b/c", T0)
    with pytest.raises(pond.InvalidError):
        db.tag(1, "src/" + "x" * 65, T0)
    with pytest.raises(ValueError):
        db.tag(1, "src/st\0re", T0)
    with pytest.raises(TypeError):
        db.tag(1, b"src/store", T0)
    with pytest.raises(TypeError):
        db.has_tag(1, 5)
    with pytest.raises(pond.NotFoundError):
        db.tags_of(99)


def test_tag_many_from_any_iterable(people):
    db = people
    db.tag_many("src/store", [1, 2, 3], T0)
    db.tag_many("src/ad", (4, 5), T0)
    db.tag_many("src/live", (c for c in range(6, 9)), T0)
    db.tag_many("camp/a", range(1, 11), T0)
    db.tag_many("camp/b", {9, 10}, T0)
    db.tag_many("camp/c", [], T0)
    assert list(db.members("src/store")) == [1, 2, 3]
    assert list(db.members("src/ad")) == [4, 5]
    assert list(db.members("src/live")) == [6, 7, 8]
    assert len(db.members("camp/a")) == 10
    assert list(db.members("camp/b")) == [9, 10]
    assert len(db.members("camp/c")) == 0


def test_tag_many_reads_uint64_buffers(people):
    db = people
    db.tag_many("src/store", array.array("Q", [3, 1, 2, 2]), T0)  # any order, duplicates
    assert list(db.members("src/store")) == [1, 2, 3]
    db.tag_many("src/ad", memoryview(array.array("Q", [4, 5])), T0)
    assert list(db.members("src/ad")) == [4, 5]
    raw = array.array("Q", [6, 7]).tobytes()
    db.tag_many("src/live", memoryview(raw).cast("Q"), T0)
    assert list(db.members("src/live")) == [6, 7]


def test_tag_many_other_buffers_are_iterated(people):
    db = people
    db.tag_many("camp/i32", array.array("i", [1, 2]), T0)  # not uint64: iterated
    assert list(db.members("camp/i32")) == [1, 2]
    db.tag_many("camp/bytes", bytes([3, 4]), T0)  # bytes iterate as small ints
    assert list(db.members("camp/bytes")) == [3, 4]
    strided = memoryview(array.array("Q", [5, 0, 6, 0]))[::2]  # not contiguous
    db.tag_many("camp/strided", strided, T0)
    assert list(db.members("camp/strided")) == [5, 6]
    with pytest.raises(OverflowError):
        db.tag_many("camp/neg", array.array("q", [1, -1]), T0)
    assert db.tag_count("camp/neg") == 0


def test_tag_many_is_all_or_nothing(people):
    db = people
    with pytest.raises(pond.NotFoundError) as ei:
        db.tag_many("src/store", [1, 2, 12345, 3], T0)
    assert "12345" in str(ei.value)
    assert len(db.members("src/store")) == 0
    with pytest.raises(pond.NotFoundError):
        db.tag_many("src/store", array.array("Q", [1, 12345]), T0)
    assert len(db.members("src/store")) == 0


def test_tag_many_conversion_errors(people):
    db = people
    with pytest.raises(TypeError):
        db.tag_many("src/store", 5, T0)  # not iterable
    with pytest.raises(TypeError):
        db.tag_many("src/store", ["1"], T0)
    with pytest.raises(OverflowError):
        db.tag_many("src/store", [1, 2**64], T0)

    def broken():
        yield 1
        raise RuntimeError("generator failed")

    with pytest.raises(RuntimeError):
        db.tag_many("src/store", broken(), T0)
    assert len(db.members("src/store")) == 0


RANGES = [range(0), range(5, 5), range(3, 40, 7), range(40, 3, -7), range(2**64 - 10, 2**64),
          range(2**64 - 1, -1, -(2**63)), range(7, 8, 10**30), range(0, 2**64, 2**62),
          range(10, 0, -1), range(1, 70_000, 3)]


@pytest.mark.parametrize("r", RANGES, ids=str)
def test_tag_many_of_a_range_is_the_range(r):
    # ranges are computed in C (no int objects): same members as a list.
    with pond.open(autocreate=True) as db:
        db.define({"tag_groups": [{"name": "g"}]})
        db.tag_many("g/r", r, T0)
        db.tag_many("g/l", list(r), T0)
        assert list(db.members("g/r")) == sorted(r)
        assert db.members("g/r") == db.members("g/l")


@pytest.mark.parametrize("r", [range(-1, 5), range(5, -2, -1), range(2**64 - 2, 2**64 + 1),
                               range(2**70, 2**70 + 3), range(-5, -1)])
def test_tag_many_of_a_range_outside_ids_overflows(r):
    with pond.open(autocreate=True) as db:
        db.define({"tag_groups": [{"name": "g"}]})
        with pytest.raises(OverflowError):
            db.tag_many("g/r", r, T0)
        assert len(db) == 0


def test_tag_many_list_fast_path_errors(people):
    db = people
    for bad in ([1, -1], [1, 2**64], [1, 2, 2**100]):
        with pytest.raises(OverflowError, match="out of range"):
            db.tag_many("src/store", bad, T0)
    with pytest.raises(TypeError):
        db.tag_many("src/store", [1, True], T0)
    with pytest.raises(TypeError):
        db.tag_many("src/store", (1, 2.0), T0)
    assert len(db.members("src/store")) == 0
    db.tag_many("src/store", [3, Index(1), 2], T0)  # mixed exact ints and __index__
    assert list(db.members("src/store")) == [1, 2, 3]


def test_tag_many_survives_a_list_mutated_by_index(people):
    db = people
    victims = [1, 2, 3]

    class Shrinker:
        def __index__(self):
            victims.clear()
            return 4

    victims.insert(0, Shrinker())
    db.tag_many("camp/x", victims, T0)  # must not read freed items
    assert list(db.members("camp/x")) == [4]


def test_autocreate_tags_unknown_customers():
    with pond.open(autocreate=True) as db:
        db.define({"tag_groups": [{"name": "src"}]})
        db.tag_many("src/store", [7, 8], T0)
        db.tag(9, "src/store", T0)
        assert len(db) == 3


def test_members_tag_count_are_snapshots(people):
    db = people
    db.tag_many("src/store", [1, 2], T0)
    snap = db.members("src/store")
    db.tag(3, "src/store", T0)
    assert list(snap) == [1, 2]
    assert db.tag_count("src/store") == 3
    assert len(db.members("src/store")) == 3


def test_rename_tag(people):
    db = people
    db.tag(1, "src/store", T0)
    db.rename_tag("src/store", "src/shop")
    assert db.tags_of(1) == ["src/shop"]
    assert db.has_tag(1, "src/shop")
    with pytest.raises(pond.ConflictError) as ei:
        db.rename_tag("src/shop", "src/ad")  # taken
    assert ei.value.code == -6
    with pytest.raises(pond.NotFoundError):
        db.rename_tag("src/shop", "nogroup/x")


def test_rename_is_undone_by_rollback(people):
    db = people
    db.tag(1, "src/store", T0)
    db.begin()
    db.rename_tag("src/store", "src/shop")
    assert db.tags_of(1) == ["src/shop"]
    db.rollback()
    assert db.tags_of(1) == ["src/store"]


def test_merge_tags(people):
    db = people
    db.tag_many("src/store", [1, 2], T0)
    db.tag_many("src/ad", [2, 3], T0)
    db.merge_tags("src/store", "src/ad", T0)
    assert list(db.members("src/ad")) == [1, 2, 3]
    assert db.tags_of(1) == ["src/ad"]
    with pytest.raises(pond.InvalidError):
        db.merge_tags("src/ad", "src/ad", T0)


def test_delete_tag(people):
    db = people
    db.tag_many("camp/x", [1, 2], T0)
    db.delete_tag("camp/x")
    assert db.tags_of(1) == []
    # The name may be used again: a new tag, with no members.
    assert db.tag_count("camp/x") == 0
    with pytest.raises(pond.NotFoundError):
        db.delete_tag("nogroup/x")
