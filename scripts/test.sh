#!/usr/bin/env bash
# Runs every test suite of pond and ends with one line "N passed, N failed":
#   1. gcc, -Werror, optimized: all C tests, symbol check, fuzz corpus replays,
#      then install / pkg-config / subproject checks (tests/check_packaging.sh)
#   2. clang with ASan+UBSan (LeakSanitizer on), built-in hash (-Dxxhash=disabled):
#      the same tests
#   3. each libFuzzer target for FUZZ_SECONDS (default 20) when clang's
#      fuzzer runtime is present
#   4. the Python binding's pytest suite under /usr/bin/python3 (Debian's)
# Installs the Debian packages it needs when they are missing.
# Environment: FUZZ_SECONDS, POND_CRASH_ROUNDS and other long-mode knobs pass
# through to the tests. Build dirs: build-test-*.
set -u
cd "$(dirname "$0")/.."
root=$PWD
. scripts/deps.sh
pond_need_packages $POND_BUILD_PACKAGES $POND_TEST_PACKAGES || { echo "0 passed, 1 failed"; exit 1; }

out=$root/build-test-results
rm -rf "$out"; mkdir -p "$out"
results=()
step() { printf '\n=== %s\n' "$*"; }

# meson_suite NAME CC ARGS...: configure (once), build, run tests.
meson_suite() {
  local name=$1 compiler=$2; shift 2
  local dir=build-test-$name
  step "$name: build ($compiler $*)"
  if [ ! -f "$dir/build.ninja" ]; then
    CC=$compiler meson setup "$dir" --werror "$@" >"$out/$name-setup.log" 2>&1 \
      || { cat "$out/$name-setup.log"; echo "0 passed, 1 failed" >"$out/$name.txt"; results+=("$out/$name.txt"); return; }
  fi
  if ! ninja -C "$dir" >"$out/$name-build.log" 2>&1; then
    tail -50 "$out/$name-build.log"
    echo "0 passed, 1 failed" >"$out/$name.txt"; results+=("$out/$name.txt"); return
  fi
  step "$name: test"
  meson test -C "$dir" --num-processes 2 --print-errorlogs --no-rebuild 2>&1 | tail -40
  results+=("$dir/meson-logs/testlog.json")
}

meson_suite gcc gcc -Dbuildtype=debugoptimized -Dbench=false
# meson install, pkg-config (shared and static) and subproject use.
if [ -f build-test-gcc/build.ninja ]; then
  step "packaging"
  bash tests/check_packaging.sh build-test-gcc "$out/packaging.txt" 2>&1 | tail -20
  results+=("$out/packaging.txt")
fi

meson_suite asan clang -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false -Dxxhash=disabled

# Short fuzz runs with clang's libFuzzer.
if [ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ] || \
   ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer*.a >/dev/null 2>&1; then
  dir=build-test-fuzz
  step "fuzz: build"
  if [ -f "$dir/build.ninja" ] || CC=clang meson setup "$dir" -Dfuzz=true -Dtests=false -Dbench=false \
      -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false >"$out/fuzz-setup.log" 2>&1; then
    if ninja -C "$dir" >"$out/fuzz-build.log" 2>&1; then
      : >"$out/fuzz.txt"
      for f in "$dir"/fuzz/fuzz_*; do
        [ -f "$f" ] && [ -x "$f" ] || continue
        t=${f##*/fuzz_}
        work=$(mktemp -d)
        cp -r "fuzz/corpus/$t/." "$work/" 2>/dev/null || true
        dict=(); [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
        step "fuzz: $t for ${FUZZ_SECONDS:-20}s"
        if "$f" -max_total_time="${FUZZ_SECONDS:-20}" -timeout=10 -rss_limit_mb=2048 \
             -artifact_prefix="$out/fuzz-$t-" "${dict[@]}" "$work" >"$out/fuzz-$t.log" 2>&1; then
          tail -1 "$out/fuzz-$t.log"; echo "1 passed, 0 failed" >>"$out/fuzz.txt"
        else
          tail -30 "$out/fuzz-$t.log"; echo "0 passed, 1 failed" >>"$out/fuzz.txt"
        fi
        rm -rf "$work"
      done
      results+=("$out/fuzz.txt")
    else
      tail -30 "$out/fuzz-build.log"; echo "0 passed, 1 failed" >"$out/fuzz.txt"; results+=("$out/fuzz.txt")
    fi
  fi
fi

# The Python binding, when present.
if [ -f bindings/python/run-tests.sh ]; then
  step "python"
  bash bindings/python/run-tests.sh "$out/python.txt" 2>&1 | tail -40
  results+=("$out/python.txt")
fi

step "summary"
/usr/bin/python3 scripts/summarize.py "${results[@]}"
