#!/usr/bin/env bash
# pond's main job: builds the library and the pond tool, then runs the demo —
# a realistic tenant (1,000,000 customers over 90 days) kept in the embedded
# file store in ./demo-db. Extra arguments go to `pond demo`.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
pond_need_packages $POND_BUILD_PACKAGES
[ -d build-demo ] || meson setup build-demo -Dbuildtype=release -Dtests=false -Dbench=false >/dev/null
ninja -C build-demo tools/pond >/dev/null
# A fresh tenant each run; `pond demo --path demo-db` is what it runs.
rm -rf demo-db
exec ./build-demo/tools/pond demo --path demo-db "$@"
