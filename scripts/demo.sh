#!/usr/bin/env bash
# The README's main command. Until the local cluster demo exists it builds and
# runs kagi-selfcheck, which runs Kagi's cryptographic known-answer tests and
# prints what each one verified.
source "$(dirname "$0")/lib/common.sh"

kagi_ensure_packages "${KAGI_BUILD_PACKAGES[@]}"
kagi_build dev kagi-selfcheck
log "running kagi-selfcheck"
"$KAGI_ROOT/build/dev/tools/selfcheck/kagi-selfcheck"
