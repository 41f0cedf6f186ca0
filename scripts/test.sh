#!/usr/bin/env bash
# The README's test command (and what .ci/run calls): checks formatting,
# builds and runs every test in the dev build, then again under
# AddressSanitizer + UndefinedBehaviorSanitizer.
source "$(dirname "$0")/lib/common.sh"

kagi_ensure_packages "${KAGI_BUILD_PACKAGES[@]}" clang-format
cd "$KAGI_ROOT"

log "checking formatting (clang-format, .clang-format)"
mapfile -t sources < <(find libs services tools tests -name '*.h' -o -name '*.cc' | sort)
if [ "${#sources[@]}" -gt 0 ]; then
  clang-format --dry-run -Werror "${sources[@]}"
fi

jobs="$(nproc)"
for preset in dev asan-ubsan; do
  kagi_build "$preset"
  log "running tests ($preset)"
  ctest --preset "$preset" -j "$jobs"
done
log "all tests passed (dev and asan-ubsan)"
