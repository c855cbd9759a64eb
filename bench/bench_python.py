"""The Python binding against C, in one run: bulk tagging, per-call
overhead, len(members). Prints Python/C ratios (target for the bulk paths:
at most 1.5).

    PYTHONPATH=build-python/bindings/python python3 bench/bench_python.py \
        build-python/bench/bench_python_c
    (meson test -C build-python --benchmark --suite python does the same)

Environment: BENCH_CUSTOMERS (default 1,000,000), BENCH_SAMPLE (calls per
per-call measurement, default 200,000), BENCH_REPS (best of, default 3).

The work is what bench_python_c.c does in C: N customers 0, 3, 6, ...;
tag_many of all N into a fresh tag from a list, an array('Q') and a range;
a Python loop of tag over SAMPLE customers (new members, then the same
again: a refresh); SAMPLE calls of has_tag and `in`; len(db.members(t)) of
the N-member tag (1000 times). Per-call figures include the Python loop
itself, as a caller sees them; "overhead" is Python minus C.
"""
import array
import os
import subprocess
import sys
import time

import pond

T0 = 1_700_000_000
N = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
SAMPLE = min(N, int(os.environ.get("BENCH_SAMPLE", "200000")))
REPS = int(os.environ.get("BENCH_REPS", "3"))
BULK_TARGET = 1.5


def run_c(helper):
    out = subprocess.run([helper, str(N), str(SAMPLE), str(REPS)], check=True, capture_output=True,
                         text=True, stdin=subprocess.DEVNULL).stdout
    res = {}
    for line in out.splitlines():
        name, secs, count = line.split()
        res[name] = (float(secs), int(count))
    return res


def run_python():
    best = {}

    def keep(name, secs, count):
        if name not in best or secs < best[name][0]:
            best[name] = (secs, count)

    clock = time.perf_counter
    with pond.open() as db:
        db.define({"tag_groups": [{"name": "g"}]})
        upsert = db.upsert
        for cid in range(0, 3 * N, 3):
            upsert(cid, T0)
        as_list = list(range(0, 3 * N, 3))
        as_array = array.array("Q", as_list)
        as_range = range(0, 3 * N, 3)
        sample = as_list[:SAMPLE]
        tag, has_tag, members = db.tag, db.has_tag, db.members
        for _ in range(REPS):
            for kind, ids in (("list", as_list), ("array", as_array), ("range", as_range)):
                t = clock()
                db.tag_many("g/many", ids, T0)
                keep(f"tag_many_{kind}", clock() - t, N)
                if kind != "range":
                    db.delete_tag("g/many")
            assert db.tag_count("g/many") == N

            t = clock()
            for cid in sample:
                tag(cid, "g/loop", T0)
            keep("tag_loop", clock() - t, SAMPLE)
            t = clock()
            for cid in sample:
                tag(cid, "g/loop", T0)
            keep("tag_again", clock() - t, SAMPLE)
            t = clock()
            for cid in sample:
                has_tag(cid, "g/many")
            keep("has_tag", clock() - t, SAMPLE)
            t = clock()
            for cid in sample:
                cid in db
            keep("exists", clock() - t, SAMPLE)
            t = clock()
            for cid in sample:
                pass
            keep("empty_loop", clock() - t, SAMPLE)
            t = clock()
            for _ in range(1000):
                n = len(members("g/many"))
            keep("members_len", clock() - t, 1000)
            assert n == N
            db.delete_tag("g/many")
            db.delete_tag("g/loop")
    return best


def fmt_time(secs):
    return f"{secs * 1e3:9.2f} ms" if secs >= 1e-3 else f"{secs * 1e6:9.2f} us"


def main(argv):
    helper = argv[1] if len(argv) > 1 else os.environ.get("BENCH_PYTHON_C")
    if not helper:
        sys.exit("usage: bench_python.py PATH/TO/bench_python_c")
    c = run_c(helper)
    py = run_python()
    print(f"python binding vs C: {N:,} customers, best of {REPS} (pond {pond.version()}, "
          f"Python {sys.version.split()[0]})")
    print(f"{'bulk: one call, N ids':26} {'python':>12} {'C':>12} {'ratio':>7}  target <= {BULK_TARGET}")
    missed = []
    rows = [("tag_many(list)", "tag_many_list", "tag_many"),
            ("tag_many(array('Q'))", "tag_many_array", "tag_many"),
            ("tag_many(range)", "tag_many_range", "tag_many"),
            ("len(members(t))", "members_len", "members_len")]
    for label, pk, ck in rows:  # time of one call
        ps, pn = py[pk]
        cs, cn = c[ck]
        if pk.startswith("tag_many"):
            pn = cn = 1
        p1, c1 = ps / pn, cs / cn
        ratio = p1 / c1
        ok = ratio <= BULK_TARGET
        if not ok:
            missed.append(label)
        print(f"{label:26} {fmt_time(p1):>12} {fmt_time(c1):>12} {ratio:7.2f}  {'ok' if ok else 'MISSED'}")
    print(f"{'per call (ns)':26} {'python':>12} {'C':>12} {'ratio':>7}  overhead")
    for label, pk, ck in (("tag (new member)", "tag_loop", "tag_loop"),
                          ("tag (refresh)", "tag_again", "tag_again"),
                          ("has_tag", "has_tag", "has_tag"),
                          ("cid in db", "exists", "exists")):
        p1 = py[pk][0] / py[pk][1] * 1e9
        c1 = c[ck][0] / c[ck][1] * 1e9
        print(f"{label:26} {p1:12.1f} {c1:12.1f} {p1 / c1:7.2f}  {p1 - c1:7.1f} ns")
    print(f"{'(empty Python loop)':26} {py['empty_loop'][0] / py['empty_loop'][1] * 1e9:12.1f}")
    print("bulk targets: " + ("all met" if not missed else "MISSED: " + ", ".join(missed)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
