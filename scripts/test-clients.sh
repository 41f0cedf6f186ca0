#!/usr/bin/env bash
# End-to-end tests with real clients from the npm registry (tests/clients):
# a P2WPKH PSBT built, finalized and extracted by bitcoinjs-lib, an EIP-1559
# transaction built and checked by ethers, and docs/api.md's Node.js example
# run as the page prints it, all signed through the gateway of a local
# 3-node cluster started here.
#
# Usage: scripts/test-clients.sh [KAGICTL]   (default build/dev/tools/kagictl/kagictl)
# Env:   KAGI_CLIENTS_BASE_PORT (default 7950): the gateway's port; nodes
#        listen on the next ones.
# Needs node (>= 18) and npm; installs the locked packages (npm ci) when
# tests/clients/node_modules is missing or older than package-lock.json.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLIENTS="$ROOT/tests/clients"
KAGICTL="${1:-build/dev/tools/kagictl/kagictl}"
BASE_PORT="${KAGI_CLIENTS_BASE_PORT:-7950}"

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

cd "$ROOT"
case "$KAGICTL" in
  /*) ;;
  *) KAGICTL="$ROOT/$KAGICTL" ;;
esac
if [ ! -x "$KAGICTL" ]; then
  echo "error: kagictl not found or not executable: $KAGICTL (build it first)" >&2
  exit 1
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: '$tool' is not installed; the client tests need Node.js >= 18 and npm" \
      "(Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then
  echo "error: Node.js $(node --version) is too old; the client tests need >= 18" >&2
  exit 1
fi

if [ ! -d "$CLIENTS/node_modules" ] || [ "$CLIENTS/package-lock.json" -nt "$CLIENTS/node_modules" ]; then
  log "installing the client test packages (npm ci, tests/clients/package-lock.json)"
  (cd "$CLIENTS" && npm ci --no-audit --no-fund)
  touch "$CLIENTS/node_modules"
fi

D="$(mktemp -d "${TMPDIR:-/tmp}/kagi-clients.XXXXXX")"
cleanup() {
  local rc=$?
  if [ -f "$D/client.conf" ]; then
    "$KAGICTL" cluster down --dir "$D" >/dev/null 2>&1 || true
  fi
  if [ "$rc" -ne 0 ]; then
    for f in "$D"/node-*/node.log "$D"/gateway*/gateway.log; do
      [ -f "$f" ] || continue
      echo "---- last lines of ${f#"$D"/} ----" >&2
      tail -n 20 "$f" >&2 || true
    done
  fi
  rm -rf "$D"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting a local cluster in $D (gateway port $BASE_PORT)"
"$KAGICTL" cluster init --dir "$D" --base-port "$BASE_PORT"
"$KAGICTL" cluster up --dir "$D" --base-port "$BASE_PORT"

log "running the client tests (node --test tests/clients/*.test.mjs)"
# Files, not the directory: Node >= 21 reads --test arguments as globs.
status=0
KAGI_CLUSTER_DIR="$D" KAGICTL="$KAGICTL" node --test "$CLIENTS"/*.test.mjs || status=$?
if [ "$status" -eq 0 ]; then
  log "client tests passed"
else
  log "client tests FAILED (exit $status)"
fi
exit "$status"
