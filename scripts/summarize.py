#!/usr/bin/env python3
"""Sums test results over every suite for scripts/test.sh.

Inputs: meson testlog.json files (one per build dir) and plain result files
("NAME passed|failed" lines written by test.sh for fuzz runs and pytest).
A meson test whose output ends with "N passed, N failed" counts its cases;
any other test counts as one. A test that failed without reporting a failed
case (a crash, a sanitizer abort) counts one failure more.
Prints the closing line "N passed, N failed".
"""
import json
import re
import sys

LINE = re.compile(r"^\s*(\d+) passed, (\d+) failed", re.M)

passed = failed = 0
failures = []
for path in sys.argv[1:]:
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        failed += 1
        failures.append(f"{path}: missing results")
        continue
    if path.endswith(".json"):
        for raw in text.splitlines():
            if not raw.strip():
                continue
            t = json.loads(raw)
            ok = t.get("result") in ("OK", "EXPECTEDFAIL", "SKIP")
            if t.get("result") == "SKIP":
                continue
            m = LINE.findall(t.get("stdout", "") or "")
            if m:
                p, f = map(int, m[-1])
            else:
                p, f = (1, 0) if ok else (0, 1)
            if not ok and f == 0:
                f = 1
            if not ok:
                failures.append(f"{path}: {t.get('name')}")
            passed += p
            failed += f
    else:
        for raw in text.splitlines():
            m = LINE.match(raw)
            if m:
                passed += int(m.group(1))
                failed += int(m.group(2))
                if int(m.group(2)):
                    failures.append(f"{path}: {raw.strip()}")
for f in failures:
    print("failed:", f)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
