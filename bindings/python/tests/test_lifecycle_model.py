"""pond's lifecycle machines side by side with the reference model
(lifecycle_model.py) on random machines and random event / tag /
transition / tick sequences: states, since, counters and funnel counts
agree after every step. POND_LC_SEEDS / POND_LC_STEPS / POND_LC_CUSTOMERS
scale it; a failure names its seed."""
import os
import random

import pytest

import pond
from lifecycle_model import Model, guard_text

T0 = 1_700_000_000
DAY = 86400
EVENTS = ["e1", "e2", "e3"]
TAGS = ["g/t1", "g/t2", "c/x"]
COUNTERS = ["e1", "message"]


def rand_guard(r, machines, m_index):
    k = r.randrange(6)
    if k == 0:
        return ("count", r.choice(COUNTERS), r.randint(1, 3))
    if k == 1:
        mach = machines[r.randrange(len(machines))]
        return ("stage", mach["name"], r.choice(mach["states"]))
    if k == 2:
        return ("tag", r.choice(TAGS))
    if k == 3:
        return ("seen", r.choice([DAY, 3 * DAY, 10 * DAY]))
    if k == 4:
        return ("not", ("tag", r.choice(TAGS)))
    return ("and", ("count", "e1", 1), ("seen", 5 * DAY))


def rand_machines(r):
    machines = []
    for i in range(r.randint(1, 3)):
        states = [f"s{j}" for j in range(r.randint(2, 5))]
        machines.append({"name": f"m{i}", "initial": states[0], "states": states, "transitions": []})
    for i, mach in enumerate(machines):
        for _ in range(r.randint(1, 6)):
            to = r.choice(mach["states"])
            others = [s for s in mach["states"] if s != to]
            frm = "*" if r.random() < 0.2 else r.sample(others, r.randint(1, len(others)))
            t = {"from": frm, "to": to}
            k = r.random()
            if k < 0.35:
                t["after"] = r.choice([DAY, 2 * DAY, 5 * DAY, 12 * 3600])
            else:
                pool = EVENTS + ["message", "customer.added", "tag.added:g/t1", "tag.removed:g/t2",
                                 "tag.removed:c/x"]
                other = machines[r.randrange(len(machines))]
                pool.append(f"stage.entered:{other['name']}/{r.choice(other['states'])}")
                t["on"] = r.choice(pool)
            if r.random() < 0.4:
                t["if"] = rand_guard(r, machines, i)
            mach["transitions"].append(t)
    return machines


def doc_of(machines):
    ms = []
    for m in machines:
        trs = []
        for t in m["transitions"]:
            d = {"from": t["from"], "to": t["to"]}
            if "after" in t:
                d["after"] = f"{t['after']}s"
            else:
                d["on"] = t["on"]
            if t.get("if") is not None:
                d["if"] = guard_text(t["if"])
            trs.append(d)
        ms.append({"name": m["name"], "initial": m["initial"], "states": m["states"], "transitions": trs})
    return {
        "counters": COUNTERS,
        "tag_groups": [{"name": "g", "tags": ["t1", "t2"]}, {"name": "c", "ttl": "3d", "tags": ["x"]}],
        "machines": ms,
    }


def compare(db, model, cids, now, seed, step):
    for cid in cids:
        c = model.cust[cid]
        for mach in model.machines:
            got = db.stage(cid, mach["name"])
            want = (c.states[mach["name"]][0], c.states[mach["name"]][1])
            assert got == want, f"seed {seed} step {step}: customer {cid} {mach['name']}: pond {got}, model {want}"


def compare_counters(db, model, now, seed, step):
    if not hasattr(db, "query"):
        return  # Db.query belongs to the query binding; counters are compared once it exists
    for e in COUNTERS:
        by = {}
        for c in model.cust.values():
            by.setdefault(c.counts.get(e, (0, None))[0], set()).add(c.cid)
        for k, want in by.items():
            got = set(db.query(f"count('{e}') = {k}").eval(now))
            assert got == want, f"seed {seed} step {step}: count('{e}') = {k}"


def compare_funnel(db, model, seed, step):
    for mach in model.machines:
        rows = db.funnel(mach["name"], T0 - DAY, T0 + 400 * DAY)
        want, total = model.funnel_rows(mach["name"], T0 - DAY, T0 + 400 * DAY)
        got = [(r["kind"], r.get("from"), r["state"] if r["kind"] == "state" else r["to"], r["count"], r["entered"])
               for r in rows]
        assert got == want, f"seed {seed} step {step}: funnel of {mach['name']}:\n pond  {got}\n model {want}"


def run(seed, steps, ncust):
    r = random.Random(seed)
    for _ in range(20):
        machines = rand_machines(r)
        db = pond.open()
        try:
            db.define(doc_of(machines))
            break
        except pond.Error as e:
            assert "cycle" in str(e), f"seed {seed}: {e}"
            db.close()
    else:
        pytest.skip("no acyclic machine set drawn")
    model = Model(machines, COUNTERS, {"c": 3 * DAY})
    for t in ["g/t1", "g/t2", "c/x"]:
        model.tag_id(t)
    now = T0
    cids = list(range(1, ncust + 1))
    # a population to start with: half the customers, arriving over a day
    for cid in r.sample(cids, ncust // 2):
        ts = T0 - r.randrange(DAY)
        db.upsert(cid, ts)
        model.upsert(cid, ts)
    compare(db, model, list(model.cust), now, seed, -1)
    for step in range(steps):
        op = r.random()
        touched = []
        if op < 0.15 or not model.cust:
            cid = r.choice(cids)
            db.upsert(cid, now)
            model.upsert(cid, now)
            touched = [cid]
        elif op < 0.45:
            cid = r.choice(list(model.cust))
            e = r.choice(EVENTS)
            db.event(cid, e, now)
            model.event(cid, e, now)
            touched = [cid]
        elif op < 0.55:
            cid = r.choice(list(model.cust))
            db.message(cid, "hi", now)
            model.message(cid, now)
            touched = [cid]
        elif op < 0.7:
            cid = r.choice(list(model.cust))
            t = r.choice(TAGS)
            if r.random() < 0.6:
                db.tag(cid, t, now)
                model.tag(cid, t, now)
            else:
                db.untag(cid, t, now)
                model.untag(cid, t, now)
            touched = [cid]
        elif op < 0.78:
            cid = r.choice(list(model.cust))
            mach = r.choice(machines)
            s = r.choice(mach["states"])
            force = r.random() < 0.3
            ok = model.transition(cid, mach["name"], s, now, force)
            if ok:
                db.transition(cid, mach["name"], s, now, force=force)
            else:
                with pytest.raises(pond.ConflictError):
                    db.transition(cid, mach["name"], s, now, force=force)
            touched = [cid]
        else:
            now += r.choice([600, 3600, DAY // 2, DAY, 3 * DAY])
            db.tick(now)
            model.tick(now)
            touched = list(model.cust)
        compare(db, model, touched, now, seed, step)
        compare_funnel(db, model, seed, step)
        if step % 50 == 49:
            compare_counters(db, model, now, seed, step)
    compare(db, model, list(model.cust), now, seed, steps)
    compare_counters(db, model, now, seed, steps)
    db.close()


SEEDS = int(os.environ.get("POND_LC_SEEDS", "12"))
STEPS = int(os.environ.get("POND_LC_STEPS", "400"))
CUSTOMERS = int(os.environ.get("POND_LC_CUSTOMERS", "2000"))


# Seeds where pond and the model disagree, under investigation (see the
# lifecycle report): strict, so a fix makes them fail until removed here.
KNOWN: set = set()


@pytest.mark.parametrize(
    "seed",
    [pytest.param(s, marks=pytest.mark.xfail(strict=True, reason="known disagreement")) if s in KNOWN else s
     for s in range(SEEDS)],
)
def test_lifecycle_agrees_with_model(seed):
    run(seed, STEPS, CUSTOMERS)
