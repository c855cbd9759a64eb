"""A reference model of pond's lifecycle machines, written from the
semantics of shared/DESIGN.md ("Lifecycle semantics") and the pond.h
contract, in plain Python: no heap tricks, no shared code with the C side.

It models customers (added_at, last_seen, counters, tags with their add
times), machines (states, since, the spent flag of a timer whose guard
failed at its due time), dispatch (an event's own effects first; machines
in definition order; the first listed transition whose `from` holds the
state and whose guard holds; stage.entered events queued FIFO with their
generation, generations past 8 dropped), pond_tick (every timer due at or
before now, in (due, customer, kind) order, machines before ttl expiries;
cascades at the due time) and the funnel (moves per UTC day).

Guards are small ASTs the model evaluates and renders as query text.
"""
import heapq

DAY = 86400
MAX_GEN = 8


def day_of(ts):
    return ts // DAY  # floor division, as pond's UTC days


# ---------------------------------------------------------------- guards
# ("count", e, k): count('e') >= k
# ("stage", m, s): stage('m') = 's'
# ("tag", t): tag('t')
# ("seen", secs): last_seen >= now() - secs   (NULL last_seen: not TRUE)
# ("not", g), ("and", g, h)


def guard_text(g):
    k = g[0]
    if k == "count":
        return f"count('{g[1]}') >= {g[2]}"
    if k == "stage":
        return f"stage('{g[1]}') = '{g[2]}'"
    if k == "tag":
        return f"tag('{g[1]}')"
    if k == "seen":
        return f"last_seen >= now() - {g[1]}s"
    if k == "not":
        return f"NOT ({guard_text(g[1])})"
    return f"({guard_text(g[1])}) AND ({guard_text(g[2])})"


class Customer:
    def __init__(self, cid, ts):
        self.cid = cid
        self.added = ts
        self.seen = None
        self.counts = {}  # counter -> (count, last)
        self.tags = {}  # tag -> added time
        self.states = {}  # machine -> [state, since, spent]


class Model:
    def __init__(self, machines, counters, ttl_groups):
        """machines: list of dicts {name, initial, states, transitions:[{from
        (list or "*"), to, on | after (secs), if (guard AST or None)}]}.
        ttl_groups: {group: ttl secs}; tags: "group/name", ordered by
        creation (tag ids)."""
        self.machines = machines
        self.counters = set(counters)
        self.ttl = dict(ttl_groups)
        self.tag_order = {}
        self.cust = {}
        self.funnel = {}  # (machine, from or None, to, day) -> count

    # --------------------------------------------------------- helpers
    def tag_id(self, tag):
        if tag not in self.tag_order:
            self.tag_order[tag] = len(self.tag_order) + 1
        return self.tag_order[tag]

    def holds(self, g, c, now):
        k = g[0]
        if k == "count":
            return c.counts.get(g[1], (0, None))[0] >= g[2]
        if k == "stage":
            return c.states[g[1]][0] == g[2]
        if k == "tag":
            return g[1] in c.tags
        if k == "seen":
            return c.seen is not None and c.seen >= now - g[1]
        if k == "not":
            return self.tv(g[1], c, now) is False
        return self.holds(g[1], c, now) and self.holds(g[2], c, now)

    def tv(self, g, c, now):
        """Three-valued truth: True, False or None (UNKNOWN)."""
        k = g[0]
        if k == "seen":
            return None if c.seen is None else c.seen >= now - g[1]
        if k == "not":
            t = self.tv(g[1], c, now)
            return None if t is None else not t
        if k == "and":
            a, b = self.tv(g[1], c, now), self.tv(g[2], c, now)
            if a is False or b is False:
                return False
            if a is None or b is None:
                return None
            return True
        return self.holds(g, c, now)

    @staticmethod
    def from_ok(t, state):
        if state == t["to"]:
            return False
        return t["from"] == "*" or state in t["from"]

    def count_move(self, m, frm, to, ts):
        k = (m, frm, to, day_of(ts))
        self.funnel[k] = self.funnel.get(k, 0) + 1

    # ---------------------------------------------------------- dispatch
    def dispatch(self, c, events, ts):
        """events: list of (name, generation), processed FIFO."""
        q = list(events)
        fired = 0
        while q:
            name, gen = q.pop(0)
            if gen > MAX_GEN:
                continue
            for mach in self.machines:
                m = mach["name"]
                st = c.states[m]
                for t in mach["transitions"]:
                    if t.get("on") != name or not self.from_ok(t, st[0]):
                        continue
                    if t.get("if") is not None and self.tv(t["if"], c, ts) is not True:
                        continue
                    self.move(c, m, st[0], t["to"], ts)
                    fired += 1
                    q.append((f"stage.entered:{m}/{t['to']}", gen + 1))
                    break
        return fired

    def move(self, c, m, frm, to, ts):
        c.states[m] = [to, ts, False]
        self.count_move(m, frm, to, ts)

    # ---------------------------------------------------------- the API
    def upsert(self, cid, ts):
        if cid in self.cust:
            return
        c = Customer(cid, ts)
        self.cust[cid] = c
        for mach in self.machines:
            c.states[mach["name"]] = [mach["initial"], ts, False]
            self.count_move(mach["name"], None, mach["initial"], ts)
        self.dispatch(c, [("customer.added", 0)], ts)

    def activity(self, c, name, ts):
        c.seen = ts if c.seen is None else max(c.seen, ts)
        if name in self.counters:
            n, last = c.counts.get(name, (0, None))
            c.counts[name] = (n + 1, ts if last is None else max(last, ts))
        for st in c.states.values():
            st[2] = False  # activity re-arms a spent timer

    def event(self, cid, name, ts):
        c = self.cust[cid]
        self.activity(c, name, ts)
        self.dispatch(c, [(name, 0)], ts)

    def message(self, cid, ts):
        self.event(cid, "message", ts)

    def tag(self, cid, tag, ts):
        c = self.cust[cid]
        self.tag_id(tag)
        had = tag in c.tags
        c.tags[tag] = ts
        if not had:
            self.dispatch(c, [(f"tag.added:{tag}", 0)], ts)

    def untag(self, cid, tag, ts):
        c = self.cust[cid]
        if tag in c.tags:
            del c.tags[tag]
            self.dispatch(c, [(f"tag.removed:{tag}", 0)], ts)

    def transition(self, cid, m, to, ts, force=False):
        """Returns False where pond says POND_ECONFLICT."""
        c = self.cust[cid]
        mach = next(x for x in self.machines if x["name"] == m)
        cur = c.states[m][0]
        if cur == to:
            return True
        ok = any(t["to"] == to and self.from_ok(t, cur) for t in mach["transitions"])
        if not ok and not force:
            return False
        self.move(c, m, cur, to, ts)
        self.dispatch(c, [(f"stage.entered:{m}/{to}", 1)], ts)
        return True

    # ------------------------------------------------------------ timers
    def armed(self, mach, state):
        best = None
        for t in mach["transitions"]:
            if "after" in t and self.from_ok(t, state):
                if best is None or t["after"] < best["after"]:
                    best = t
        return best

    def dues(self, c):
        """(due, kind, payload) of every pending timer of c; kind orders
        machines (their index) before ttl expiries (1000 + tag id)."""
        out = []
        for i, mach in enumerate(self.machines):
            state, since, spent = c.states[mach["name"]]
            t = self.armed(mach, state)
            if t is None or spent:
                continue
            base = since if c.seen is None else max(since, c.seen)
            out.append((base + t["after"], i, mach["name"]))
        for tag, at in c.tags.items():
            ttl = self.ttl.get(tag.split("/")[0])
            if ttl:
                out.append((at + ttl, 1000 + self.tag_order[tag], tag))
        return out

    def tick(self, now):
        heap = []
        for c in self.cust.values():
            for due, kind, what in self.dues(c):
                heapq.heappush(heap, (due, c.cid, kind, what))
        while heap and heap[0][0] <= now:
            due, cid, kind, what = heapq.heappop(heap)
            c = self.cust[cid]
            if (due, kind, what) not in self.dues(c):
                continue  # the customer changed since: not this timer
            if kind < 1000:
                mach = self.machines[kind]
                st = c.states[what]
                t = self.armed(mach, st[0])
                if t.get("if") is None or self.tv(t["if"], c, due) is True:
                    self.move(c, what, st[0], t["to"], due)
                    self.dispatch(c, [(f"stage.entered:{what}/{t['to']}", 1)], due)
                else:
                    st[2] = True
            else:
                del c.tags[what]
                self.dispatch(c, [(f"tag.removed:{what}", 0)], due)
            for d, k, w in self.dues(c):
                if (d, c.cid, k, w) not in heap:
                    heapq.heappush(heap, (d, c.cid, k, w))

    # ------------------------------------------------------------ funnel
    def funnel_rows(self, m, since, until):
        mach = next(x for x in self.machines if x["name"] == m)
        d0 = day_of(since)
        d1 = day_of(until - 1) if until > since else d0 - 1
        moves = {}
        for (mm, frm, to, d), n in self.funnel.items():
            if mm == m and d0 <= d <= d1:
                moves[(frm, to)] = moves.get((frm, to), 0) + n
        total = len(self.cust)
        rows = []
        for s in mach["states"]:
            cnt = sum(1 for c in self.cust.values() if c.states[m][0] == s)
            ent = sum(n for (f, t), n in moves.items() if t == s)
            rows.append(("state", None, s, cnt, ent))
        order = {s: i for i, s in enumerate(mach["states"])}
        for (f, t) in sorted(moves, key=lambda p: (-1 if p[0] is None else order[p[0]], order[p[1]])):
            n = moves[(f, t)]
            if f is None:
                ent = sum(v for (ff, tt), v in moves.items() if ff is None and tt == t)
            else:
                ent = sum(v for (ff, tt), v in moves.items() if tt == f)
            rows.append(("step", f, t, n, ent))
        return rows, total
