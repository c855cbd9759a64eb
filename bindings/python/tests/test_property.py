"""Property tests: random operation sequences against a Python model of tag
membership, and Set algebra against Python sets."""
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pond
import roaring
from conftest import T0

# Ids cluster in a few 2**16 chunks (arrays, bitset-dense ranges, and both
# sides of 2**32) so every container kind and both formats get exercised.
ids = st.one_of(
    st.integers(0, 300),
    st.integers(65_000, 70_000),
    st.integers(2**32 - 50, 2**32 + 50),
    st.integers(0, 2**64 - 1),
)
id_sets = st.one_of(
    st.sets(ids, max_size=60),
    st.builds(lambda a, b, step: set(range(a, a + b, step)), st.integers(0, 200_000),
              st.integers(0, 20_000), st.integers(1, 4)),
)

TAGS = ["g/a", "g/b", "g/c", "x/one", "x/two"]  # x is exclusive


def fresh_db():
    db = pond.open(autocreate=True)
    db.define({"tag_groups": [{"name": "g", "tags": ["a", "b", "c"]},
                              {"name": "x", "exclusive": True, "tags": ["one", "two"]}]})
    return db


@settings(max_examples=150)
@given(st.lists(id_sets, min_size=2, max_size=4))
def test_set_algebra_matches_python_sets(groups):
    with fresh_db() as db:
        sets = []
        for i, g in enumerate(groups):
            db.tag_many(f"g/s{i}", sorted(g), T0)
            sets.append(db.members(f"g/s{i}"))
        for s, g in zip(sets, groups):
            assert len(s) == len(g)
            assert list(s) == sorted(g)
        a, b = sets[0], sets[1]
        pa, pb = groups[0], groups[1]
        assert list(a & b) == sorted(pa & pb)
        assert list(a | b) == sorted(pa | pb)
        assert list(a - b) == sorted(pa - pb)
        assert list(a ^ b) == sorted(pa ^ pb)
        assert ((a & b) == (b & a)) and ((a | b) == (b | a))
        assert (a == b) == (pa == pb)
        for s in sets[2:]:
            ps = groups[sets.index(s)]
            assert list((a | b) & s) == sorted((pa | pb) & ps)
            assert list(a - (b ^ s)) == sorted(pa - (pb ^ ps))
        for probe in list(pa)[:5] + [0, 2**64 - 1]:
            assert (probe in a) == (probe in pa)


@settings(max_examples=150)
@given(id_sets)
def test_roaring_round_trip(g):
    with fresh_db() as db:
        db.tag_many("g/t", g, T0)
        s = db.members("g/t")
        data = s.to_roaring()
        assert roaring.decode(data) == sorted(g)
        assert pond.Set.from_roaring(db, data) == s
        independent = roaring.encode64(g) if g and max(g) >= 2**32 else roaring.encode32(g)
        assert pond.Set.from_roaring(db, independent) == s
        with_runs = roaring.encode64(g, True) if g and max(g) >= 2**32 else roaring.encode32(g, True)
        assert list(pond.Set.from_roaring(db, with_runs)) == sorted(g)


class TagMachine(RuleBasedStateMachine):
    """Tags, untags, bulk tags, upserts, deletes, renames, merges, tag
    deletions and rolled-back transactions on a db, checked against dicts of
    Python sets after every step."""

    def __init__(self):
        super().__init__()
        self.db = fresh_db()
        self.model = {t: set() for t in TAGS}  # tag -> members
        self.customers = set()
        self.names = {t: t for t in TAGS}  # stable key -> current name

    def teardown(self):
        self.db.close()

    def _add(self, cid, key):
        if key.startswith("x/"):
            for other in ("x/one", "x/two"):
                self.model[other].discard(cid)
        self.model[key].add(cid)
        self.customers.add(cid)

    @rule(cid=ids, key=st.sampled_from(TAGS))
    def tag(self, cid, key):
        self.db.tag(cid, self.names[key], T0)
        self._add(cid, key)

    @rule(cid=ids, key=st.sampled_from(TAGS))
    def untag(self, cid, key):
        if cid in self.customers:
            self.db.untag(cid, self.names[key], T0)
            self.model[key].discard(cid)

    @rule(cids=st.lists(ids, max_size=30), key=st.sampled_from(TAGS[:3]))
    def tag_many(self, cids, key):
        self.db.tag_many(self.names[key], cids, T0)
        for cid in cids:
            self._add(cid, key)

    @precondition(lambda self: self.customers)
    @rule(data=st.data())
    def delete(self, data):
        cid = data.draw(st.sampled_from(sorted(self.customers)))
        self.db.delete(cid)
        self.customers.discard(cid)
        for m in self.model.values():
            m.discard(cid)

    @rule(key=st.sampled_from(TAGS[:3]))
    def rename(self, key):
        new = self.names[key] + "_"
        if len(new) < 60:
            self.db.rename_tag(self.names[key], new)
            self.names[key] = new

    @rule(cid=ids)
    def upsert(self, cid):
        self.db.upsert(cid, T0)
        self.customers.add(cid)

    @rule(source=st.sampled_from(TAGS[:3]), into=st.sampled_from(TAGS))
    def merge(self, source, into):
        if source == into:
            return
        self.db.merge_tags(self.names[source], self.names[into], T0)
        moved, self.model[source] = self.model[source], set()
        for cid in sorted(moved):  # with into's exclusivity
            self._add(cid, into)

    @rule(key=st.sampled_from(TAGS[:3]))
    def delete_tag(self, key):
        # The name comes back (empty) on next use: group g is not exclusive.
        self.db.delete_tag(self.names[key])
        self.model[key] = set()

    @rule(cid=ids, key=st.sampled_from(TAGS))
    def rolled_back(self, cid, key):
        try:
            with self.db.transaction():
                self.db.tag(cid, self.names[key], T0)
                self.db.tag_many(self.names["g/a"], [cid, 1, 2], T0)
                raise KeyError
        except KeyError:
            pass

    @invariant()
    def matches_model(self):
        db = self.db
        assert len(db) == len(self.customers)
        for key, members in self.model.items():
            s = db.members(self.names[key])
            assert list(s) == sorted(members)
        for cid in sorted(self.customers)[:10]:
            want = [self.names[k] for k in TAGS if cid in self.model[k]]
            assert sorted(db.tags_of(cid)) == sorted(want)
            for k in TAGS:
                assert db.has_tag(cid, self.names[k]) == (cid in self.model[k])


TagMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_tag_machine = TagMachine.TestCase
