# Shared set-up for the README's two commands (scripts/demo.sh and
# scripts/test.sh): install what is missing from Debian 12's archive, then
# configure and build with a CMake preset. Sourced, not executed.

set -euo pipefail

KAGI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Every build dependency, all from Debian 12 (bookworm).
KAGI_BUILD_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libssl-dev libsecp256k1-dev libabsl-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)

# What the fuzz build needs besides those (scripts/fuzz.sh): clang with its
# sanitizer and libFuzzer runtimes.
KAGI_FUZZ_PACKAGES=(clang libclang-rt-dev)

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# kagi_ensure_packages PKG...: apt-get install the ones not yet installed.
kagi_ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  log "installing missing packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# kagi_build PRESET [TARGET...]: configure (first time) and build.
kagi_build() {
  local preset="$1"
  shift
  cd "$KAGI_ROOT"
  if [ ! -f "build/$preset/build.ninja" ]; then
    log "configuring ($preset)"
    cmake --preset "$preset" >/dev/null
  fi
  log "building ($preset)"
  if [ "$#" -gt 0 ]; then
    cmake --build --preset "$preset" --target "$@"
  else
    cmake --build --preset "$preset"
  fi
}
