#!/usr/bin/env bash
# Runs the constant-time check (tests/ctime/ctime_test.cc) under Valgrind's
# memcheck; any report (a branch or memory index that depends on a secret)
# fails it. Exit 77 (ctest: skipped) when Valgrind or the annotated build is
# missing, with the reason.
#
#   run_ctime.sh CTIME_TEST SUPPRESSIONS
#   run_ctime.sh --not-built
set -euo pipefail

if [ "${1:-}" = "--not-built" ]; then
  echo "SKIPPED: the constant-time check was not built: this build has no" \
       "valgrind/memcheck.h (apt-get install valgrind, then reconfigure)" \
       "or sets KAGI_CTIME_VALIDATION=OFF"
  exit 77
fi
if ! command -v valgrind >/dev/null 2>&1; then
  echo "SKIPPED: valgrind is not installed (apt-get install valgrind)"
  exit 77
fi
exec valgrind --tool=memcheck --error-exitcode=1 --track-origins=yes \
  --num-callers=30 --suppressions="$2" "$1"
