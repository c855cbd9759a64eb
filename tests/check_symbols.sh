#!/bin/sh
# Fails when libpond exports a symbol that is not in pond.map or not declared in
# pond.h, when pond.map names a symbol that the library does not export, or
# when pond.h declares a POND_API function that the library does not export.
set -eu
lib=$1 header=$2 map=$3
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u)
mapped=$(sed -n 's/^[[:space:]]*\(pond_[A-Za-z0-9_]*\);.*/\1/p' "$map" | sort -u)
fail=0 passed=0
for s in $exported; do
  case " $(echo $mapped) " in *" $s "*) ;; *) echo "exported but not in pond.map: $s"; fail=$((fail+1)); continue;; esac
  if ! grep -Eq "[^A-Za-z0-9_]$s[[:space:]]*\(" "$header"; then
    echo "exported but not declared in pond.h: $s"; fail=$((fail+1)); continue
  fi
  passed=$((passed+1))
done
for s in $mapped; do
  echo "$exported" | grep -qx "$s" || { echo "in pond.map but not exported: $s"; fail=$((fail+1)); }
done
declared=$(grep -v '#define POND_API' "$header" | tr '\n' ' ' | grep -o 'POND_API[^;(]*(' | sed 's/[[:space:]]*($//; s/.*[^A-Za-z0-9_]//' | sort -u)
for s in $declared; do
  echo "$exported" | grep -qx "$s" || { echo "declared POND_API in pond.h but not exported: $s"; fail=$((fail+1)); }
done
echo "$passed passed, $fail failed"
[ "$fail" -eq 0 ]
