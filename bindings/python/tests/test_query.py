"""Segment queries from Python: Db.query -> Query with eval / count / test,
ParseError.offset, counters through Db.event / Db.message, segments, and a
property test comparing random queries over random customers with
sqlite3 evaluating the equivalent WHERE clause over the tables of QUERY.md."""
import sqlite3
import threading
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pond
from conftest import T0

QDEFS = {
    "attributes": [
        {"name": "spend", "type": "int"},
        {"name": "birthday", "type": "time"},
        {"name": "region", "type": "string"},
        {"name": "vip", "type": "bool"},
    ],
    "tag_groups": [
        {"name": "src", "tags": ["store", "ad", "live"]},
        {"name": "来源", "tags": ["门店扫码", "直播"]},
    ],
    "counters": ["order.paid", "message"],
    "segments": [
        {"name": "big", "where": "spend >= 100"},
        {"name": "store_big", "where": "tag('src/store') AND segment('big')"},
    ],
}


@pytest.fixture
def qdb():
    with pond.open() as d:
        d.define(QDEFS)
        for cid in range(1, 7):
            d.upsert(cid, T0)
        d.set_attr(1, "spend", 500)
        d.set_attr(2, "spend", 50)
        d.set_attr(3, "spend", 100)
        d.set_attr(1, "region", "广东省")
        d.set_attr(2, "region", "广州")
        d.set_attr(4, "vip", True)
        d.tag(1, "src/store", T0)
        d.tag(3, "src/store", T0)
        d.tag(5, "来源/门店扫码", T0)
        yield d


def test_eval_count_and_test_agree(qdb):
    q = qdb.query("tag('src/store') AND spend >= 100")
    assert isinstance(q, pond.Query)
    assert q.text == "tag('src/store') AND spend >= 100"
    s = q.eval(T0)
    assert isinstance(s, pond.Set)
    assert list(s) == [1, 3]
    assert q.count(T0) == 2
    assert [c for c in range(1, 7) if q.test(c, T0)] == [1, 3]
    assert list(qdb.query("region LIKE '广%'").eval(T0)) == [1, 2]
    assert list(qdb.query("tag('来源/*') OR vip").eval(T0)) == [4, 5]
    assert list(qdb.query("segment('store_big')").eval(T0)) == [1, 3]
    # three-valued: spend IS NULL for 4, 5, 6, so NOT (spend > 60) is UNKNOWN there
    assert list(qdb.query("NOT (spend > 60)").eval(T0)) == [2]
    assert "Query" in repr(q)


def test_now_is_the_callers(qdb):
    for cid, ts in ((1, T0 - 10 * 86400), (2, T0 - 40 * 86400)):
        qdb.event(cid, "login", ts)
    q = qdb.query("last_seen >= now() - 30d")
    assert list(q.eval(T0)) == [1]
    assert list(q.eval(T0 + 30 * 86400)) == []
    aware = datetime.fromtimestamp(T0, timezone.utc)
    assert list(q.eval(aware - timedelta(days=20))) == [1, 2]
    assert q.test(1, aware) is True


def test_counters_follow_events_and_messages(qdb):
    qdb.event(1, "order.paid", T0)
    qdb.event(1, "order.paid", T0 + 5)
    qdb.event(2, "order.paid", T0 + 9)
    qdb.message(3, "多少钱?", T0 + 7)
    assert list(qdb.query("count('order.paid') >= 2").eval(T0)) == [1]
    assert list(qdb.query("last('order.paid') = TIMESTAMP '2023-11-14 22:13:29'").eval(T0)) == [2]
    assert list(qdb.query("count('message') = 1 AND last_seen IS NOT NULL").eval(T0)) == [3]
    assert qdb.query("count('order.paid') = 0").count(T0) == 4


def test_parse_errors_carry_the_offset(qdb):
    with pytest.raises(pond.ParseError) as e:
        qdb.query("spend >= 10 AND tag('src/stor')")
    assert str(e.value) == "query:1:21: unknown tag 'src/stor'; did you mean 'src/store'?"
    assert e.value.offset == 20
    with pytest.raises(pond.ParseError) as e:
        qdb.query("region = '广东' AND (")
    assert e.value.offset == len("region = '广东' AND (".encode())
    assert str(e.value).startswith("query:1:20:")  # columns count characters, not bytes
    with pytest.raises(pond.ParseError) as e:
        qdb.query("stage('lifecycle') = 'new'")
    assert "unknown machine 'lifecycle'" in str(e.value)
    with pytest.raises(pond.LimitError):
        qdb.query("(" * 100 + "vip" + ")" * 100)
    with pytest.raises(TypeError):
        qdb.query(b"vip")


def test_queries_follow_redefinitions(qdb):
    q = qdb.query("segment('big')")
    assert list(q.eval(T0)) == [1, 3]
    qdb.define({"segments": [{"name": "big", "where": "spend >= 50"}]})
    assert list(q.eval(T0)) == [1, 2, 3]
    qdb.define({"drop": [{"segment": "store_big"}, {"segment": "big"}]})
    with pytest.raises(pond.ParseError):
        q.eval(T0)


def test_unknown_customer_and_closed_db():
    db = pond.open()
    db.define(QDEFS)
    db.upsert(1, T0)
    q = db.query("vip IS NULL")
    with pytest.raises(pond.NotFoundError):
        q.test(99, T0)
    s = q.eval(T0)
    db.close()
    with pytest.raises(pond.MisuseError):
        q.eval(T0)
    with pytest.raises(pond.MisuseError):
        q.test(1, T0)
    with pytest.raises(pond.MisuseError):
        len(s)
    assert "closed" in repr(q)


def test_a_query_keeps_its_db_alive():
    def make():
        db = pond.open()
        db.define(QDEFS)
        db.upsert(7, T0)
        return db.query("cid = 7")

    q = make()  # the Db has no other reference
    assert list(q.eval(T0)) == [7]
    del q


def test_threads_evaluate_at_once(qdb):
    q = qdb.query("tag('src/store') OR vip")
    out = []

    def run():
        for _ in range(200):
            out.append(q.count(T0))

    ts = [threading.Thread(target=run) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert out == [3] * 800


# ----------------------------------------------------- property: vs sqlite3

REGIONS = ["广东", "广东省", "广州", "北京", "alice", "", "it's"]
TAGS = ["src/store", "src/ad", "src/live", "来源/门店扫码", "来源/直播"]


def lit(s):
    return "'" + s.replace("'", "''") + "'"


@st.composite
def predicate(draw, depth=0):
    """(pond text, SQLite text) of a random well-typed predicate."""
    kinds = ["tag", "group", "cmp", "between", "in", "like", "null", "bool", "count"]
    if depth < 2:
        kinds += ["and", "or", "not"]
    k = draw(st.sampled_from(kinds))
    if k == "tag":
        t = draw(st.sampled_from(TAGS))
        return f"tag({lit(t)})", f"EXISTS(SELECT 1 FROM t WHERE t.cid = c.cid AND t.tag = {lit(t)})"
    if k == "group":
        g = draw(st.sampled_from(["src/", "来源/"]))
        return (f"tag({lit(g + '*')})",
                f"EXISTS(SELECT 1 FROM t WHERE t.cid = c.cid AND substr(t.tag, 1, length({lit(g)})) = {lit(g)})")
    if k == "cmp":
        col = draw(st.sampled_from(["spend", "birthday", "cid", "last_seen"]))
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        v = draw(st.integers(-5, 20)) if col in ("spend", "cid") else T0 + draw(st.integers(-3, 3)) * 86400
        return f"{col} {op} {v}", f"{col} {op} {v}"
    if k == "between":
        a, b = sorted(draw(st.lists(st.integers(-5, 20), min_size=2, max_size=2)))
        neg = draw(st.booleans())
        n = " NOT" if neg else ""
        return f"spend{n} BETWEEN {a} AND {b}", f"spend{n} BETWEEN {a} AND {b}"
    if k == "in":
        vs = draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=3))
        n = " NOT" if draw(st.booleans()) else ""
        items = ", ".join(lit(v) for v in vs)
        return f"region{n} IN ({items})", f"region{n} IN ({items})"
    if k == "like":
        p = draw(st.sampled_from(["广%", "%东%", "广_", "_", "%", "%'%", "a%"]))
        n = " NOT" if draw(st.booleans()) else ""
        return f"region{n} LIKE {lit(p)}", f"region{n} LIKE {lit(p)}"
    if k == "null":
        col = draw(st.sampled_from(["spend", "region", "vip", "birthday", "last_seen"]))
        n = " NOT" if draw(st.booleans()) else ""
        return f"{col} IS{n} NULL", f"{col} IS{n} NULL"
    if k == "bool":
        return "vip", "vip"
    if k == "count":
        v = draw(st.integers(0, 3))
        return f"count('order.paid') >= {v}", f'"count:order.paid" >= {v}'
    if k == "not":
        p, s = draw(predicate(depth + 1))
        return f"NOT ({p})", f"NOT ({s})"
    a = draw(predicate(depth + 1))
    b = draw(predicate(depth + 1))
    op = " AND " if k == "and" else " OR "
    return f"({a[0]}){op}({b[0]})", f"({a[1]}){op}({b[1]})"


customer = st.fixed_dictionaries({
    "spend": st.one_of(st.none(), st.integers(-5, 20)),
    "birthday": st.one_of(st.none(), st.integers(-3, 3).map(lambda d: T0 + d * 86400)),
    "region": st.one_of(st.none(), st.sampled_from(REGIONS)),
    "vip": st.one_of(st.none(), st.booleans()),
    "tags": st.sets(st.sampled_from(TAGS), max_size=3),
    "orders": st.lists(st.integers(-3, 3).map(lambda d: T0 + d * 86400), max_size=3),
})


@settings(max_examples=200)
@given(st.lists(customer, min_size=1, max_size=25), st.lists(predicate(), min_size=1, max_size=4))
def test_random_queries_select_what_sqlite_selects(custs, preds):
    sq = sqlite3.connect(":memory:")
    sq.execute("PRAGMA case_sensitive_like = ON")
    sq.execute('CREATE TABLE c(cid INTEGER PRIMARY KEY, added_at INTEGER, last_seen INTEGER, spend INTEGER,'
               ' birthday INTEGER, region TEXT, vip INTEGER, "count:order.paid" INTEGER NOT NULL DEFAULT 0,'
               ' "last:order.paid" INTEGER, "count:message" INTEGER NOT NULL DEFAULT 0, "last:message" INTEGER)')
    sq.execute("CREATE TABLE t(cid INTEGER, tag TEXT, PRIMARY KEY(cid, tag))")
    with pond.open() as db:
        db.define(QDEFS)
        for i, c in enumerate(custs):
            cid = 1 + 3 * i
            db.upsert(cid, T0)
            for name in ("spend", "birthday", "region", "vip"):
                db.set_attr(cid, name, c[name])
            for t in c["tags"]:
                db.tag(cid, t, T0)
                sq.execute("INSERT INTO t VALUES(?, ?)", (cid, t))
            for ts in c["orders"]:
                db.event(cid, "order.paid", ts)
            last = max(c["orders"]) if c["orders"] else None
            sq.execute("INSERT INTO c(cid, added_at, last_seen, spend, birthday, region, vip,"
                       ' "count:order.paid", "last:order.paid") VALUES(?,?,?,?,?,?,?,?,?)',
                       (cid, T0, last, c["spend"], c["birthday"], c["region"],
                        None if c["vip"] is None else int(c["vip"]), len(c["orders"]), last))
        for ptext, stext in preds:
            want = [r[0] for r in sq.execute(f"SELECT cid FROM c WHERE {stext} ORDER BY cid")]
            q = db.query(ptext)
            got = list(q.eval(T0))
            assert got == want, (ptext, stext)
            assert q.count(T0) == len(want)
            assert [cid for cid in (1 + 3 * i for i in range(len(custs))) if q.test(cid, T0)] == want
    sq.close()
