#!/usr/bin/env bash
# Packaging checks, run by scripts/test.sh: `meson install` into a staging
# directory, a program built with the installed pond.pc (shared and
# static), and pond as a meson subproject of another project.
#   bash tests/check_packaging.sh BUILD_DIR OUTFILE
# Writes "N passed, N failed" to OUTFILE.
set -u
build=${1:?build dir}; out=${2:?outfile}
root=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$root/$build ;; esac
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { local name=$1; shift; if "$@" >"$tmp/$name.log" 2>&1; then echo "ok   $name"; pass=$((pass+1)); else echo "FAIL $name"; tail -20 "$tmp/$name.log"; fail=$((fail+1)); fi; }

install_it() { DESTDIR="$tmp/stage" meson install -C "$build" --no-rebuild; }
check install install_it
prefix=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
libdir=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
stage=$tmp/stage$prefix
pcdir=$stage/$libdir/pkgconfig
shared_build() {
  local cflags libs
  cflags=$(PKG_CONFIG_SYSROOT_DIR=$tmp/stage PKG_CONFIG_PATH=$pcdir pkg-config --cflags pond) || return 1
  libs=$(PKG_CONFIG_SYSROOT_DIR=$tmp/stage PKG_CONFIG_PATH=$pcdir pkg-config --libs pond) || return 1
  cc -std=c11 -Wall -Werror $cflags "$root/tests/consumer/consumer.c" $libs -o "$tmp/consumer-shared" &&
    LD_LIBRARY_PATH=$stage/$libdir "$tmp/consumer-shared" &&
    # only pond_* symbols, SONAME versioned
    readelf -d "$stage/$libdir/libpond.so" | grep -q 'SONAME.*libpond.so.0'
}
check pkgconfig-shared shared_build
static_build() {
  local cflags libs
  cflags=$(PKG_CONFIG_SYSROOT_DIR=$tmp/stage PKG_CONFIG_PATH=$pcdir pkg-config --cflags pond) || return 1
  libs=$(PKG_CONFIG_SYSROOT_DIR=$tmp/stage PKG_CONFIG_PATH=$pcdir pkg-config --static --libs pond) || return 1
  cc -std=c11 -Wall -Werror $cflags "$root/tests/consumer/consumer.c" \
    "$stage/$libdir/libpond.a" $(echo "$libs" | sed 's/-lpond//') -o "$tmp/consumer-static" &&
    "$tmp/consumer-static"
}
check pkgconfig-static static_build
subproject_build() {
  mkdir -p "$tmp/proj/subprojects" && cp "$root/tests/consumer/meson.build" "$root/tests/consumer/consumer.c" "$tmp/proj/" &&
    ln -s "$root" "$tmp/proj/subprojects/pond" &&
    meson setup "$tmp/proj/build" "$tmp/proj" -Dpond:tests=false -Dpond:bench=false </dev/null &&
    ninja -C "$tmp/proj/build" && "$tmp/proj/build/consumer"
}
check subproject subproject_build
echo "$pass passed, $fail failed" | tee "$out"
[ $fail -eq 0 ]
