#!/usr/bin/env bash
# Builds the CPython binding in its own build directory and runs its pytest
# suite under Debian's /usr/bin/python3 (which has pytest and hypothesis).
#   bash bindings/python/run-tests.sh OUTFILE [pytest args...]
# Writes one line "N passed, N failed" to OUTFILE, whatever happens: a failed
# build is "0 passed, 1 failed". Works without a terminal or stdin (CI).
# Environment: POND_PY_BUILD (build dir, default build-test-python),
# POND_LEAK_ROUNDS, POND_HYPOTHESIS=dev (explore new examples).
set -u
out=${1:?usage: run-tests.sh OUTFILE [pytest args...]}
shift
case $out in /*) ;; *) out=$PWD/$out ;; esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${POND_PY_BUILD:-$root/build-test-python}
py=/usr/bin/python3
echo "0 passed, 1 failed" >"$out" # until the suite says otherwise

# Failing before pytest ran still reports, to OUTFILE and to stdout.
fail() { echo "python: $*" >&2; echo "0 passed, 1 failed" >"$out"; cat "$out"; exit 1; }

# Setup (into a clean directory: a half-made one from an interrupted run
# would not configure) and build; a build directory that fails is set up
# afresh once, so a stale one from an older tree cannot fail the suite.
setup() {
  local log
  log=$(mktemp)
  rm -rf "$build"
  "${meson_cmd[@]}" setup "$build" --werror -Dpython=enabled -Dtests=false -Dbench=false \
    -Dbuildtype=debugoptimized </dev/null >"$log" 2>&1 \
    || { cat "$log" >&2; rm -f "$log"; rm -rf "$build"; return 1; }
  rm -f "$log"
}
build_it() { ninja -C "$build" </dev/null >"$build/python-build.log" 2>&1; }

# Run meson under the same interpreter, so find_installation() finds it.
meson_cmd=("$py" -m mesonbuild.mesonmain)
command -v ninja >/dev/null || fail "ninja is not installed"
"$py" -c 'import mesonbuild' 2>/dev/null || fail "meson is not importable by $py"
if [ ! -f "$build/build.ninja" ]; then
  setup || fail "meson setup failed"
fi
if ! build_it; then
  echo "python: build failed; setting $build up afresh" >&2
  { setup && build_it; } || { tail -40 "$build/python-build.log" >&2 2>/dev/null; fail "build failed"; }
fi

junit=$build/python-junit.xml
rm -f "$junit"
# From inside the build dir, so pytest and hypothesis leave nothing in the tree.
(cd "$build" && PYTHONPATH="$build/bindings/python:$here/tests" PYTHONDONTWRITEBYTECODE=1 \
  timeout 1200 "$py" -m pytest -p no:cacheprovider -q -r fE --junitxml="$junit" \
  "$here/tests" "$@" </dev/null)
rc=$?

if [ -f "$junit" ]; then
  "$py" - "$junit" "$out" <<'PY' || fail "could not read $junit"
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
n = lambda k: sum(int(s.get(k, 0)) for s in suites)
failed = n("failures") + n("errors")
passed = n("tests") - failed - n("skipped")
if passed + failed == 0:  # nothing ran: that is a failure too
    failed = 1
with open(sys.argv[2], "w") as f:
    f.write(f"{passed} passed, {failed} failed\n")
PY
  # pytest failing for a reason no test records (collection, crash) still fails.
  if [ $rc -ne 0 ] && grep -q "^[0-9]* passed, 0 failed" "$out"; then
    echo "$(cut -d' ' -f1 "$out") passed, 1 failed" >"$out"
  fi
else
  fail "pytest wrote no report (exit $rc)"
fi
cat "$out"
[ $rc -eq 0 ]
