#!/usr/bin/env bash
# The README's test command (and what .ci/run calls): checks formatting,
# builds and runs every test in the dev build (with the constant-time check
# under Valgrind), then again under
# AddressSanitizer + UndefinedBehaviorSanitizer, then a smoke run of every
# libFuzzer target (scripts/fuzz.sh, KAGI_FUZZ_SMOKE_SECONDS each, default 5),
# then the real npm clients (tests/clients: bitcoinjs-lib, ethers) against a
# cluster of the dev build.
source "$(dirname "$0")/lib/common.sh"

# valgrind: the constant-time check (tests/ctime; docs/robustness.md). It
# must be there before the first configure, which looks for its header.
# clang and libclang-rt-dev: the fuzz smoke (KAGI_FUZZ_PACKAGES).
kagi_ensure_packages "${KAGI_BUILD_PACKAGES[@]}" "${KAGI_FUZZ_PACKAGES[@]}" \
  clang-format valgrind
# Node.js and npm for the real-client tests (Debian's, unless one is there).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  kagi_ensure_packages nodejs npm
fi
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
log "fuzz smoke: every libFuzzer target (scripts/fuzz.sh)"
"$KAGI_ROOT/scripts/fuzz.sh" "${KAGI_FUZZ_SMOKE_SECONDS:-5}"
log "running the real-client tests (npm: bitcoinjs-lib, ethers)"
"$KAGI_ROOT/scripts/test-clients.sh" "$KAGI_ROOT/build/dev/tools/kagictl/kagictl"
log "all tests passed (dev, asan-ubsan, fuzz smoke, real clients)"
