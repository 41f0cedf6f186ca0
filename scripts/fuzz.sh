#!/usr/bin/env bash
# Coverage-guided fuzzing of every decoder of untrusted bytes (tests/fuzz):
# builds the libFuzzer targets (CMake preset `fuzz`: clang with
# -fsanitize=fuzzer,address,undefined) and runs each for SECONDS with its
# seed corpus (tests/fuzz/corpus/<target>) and dictionary
# (tests/fuzz/<target>.dict), then prints one line per target: executions,
# coverage (cov: edges, ft: features) and corpus size. Exits non-zero if any
# target crashed, leaked, timed out or ran out of memory; the input that did
# it is in build/fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   (default 60 s, every target)
#   scripts/fuzz.sh --seeds                 regenerate tests/fuzz/corpus seeds
#
# New inputs a run finds go to build/fuzz/corpus/<target> (kept between
# runs, never into the repository). scripts/test.sh runs a short smoke of
# every target (KAGI_FUZZ_SMOKE_SECONDS, default 5).
source "$(dirname "$0")/lib/common.sh"

kagi_ensure_packages "${KAGI_BUILD_PACKAGES[@]}" "${KAGI_FUZZ_PACKAGES[@]}"
cd "$KAGI_ROOT"

TARGETS=(bitcoin_tx psbt ethereum address setup_envelope stored ot rounds
         policy node_config node_request)

if [ "${1:-}" = "--seeds" ]; then
  kagi_build fuzz kagi_fuzz_make_seeds
  build/fuzz/tests/fuzz/kagi_fuzz_make_seeds tests/fuzz/corpus
  log "seeds written to tests/fuzz/corpus"
  exit 0
fi

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: $0 [SECONDS] [TARGET...] | --seeds" >&2
  exit 2
fi
shift || true
if [ "$#" -gt 0 ]; then
  TARGETS=("$@")
fi

kagi_build fuzz kagi_fuzz

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
report=()
for target in "${TARGETS[@]}"; do
  bin="build/fuzz/tests/fuzz/kagi_fuzz_$target"
  seeds="tests/fuzz/corpus/$target"
  work="build/fuzz/corpus/$target"
  artifacts="build/fuzz/artifacts/$target"
  logfile="build/fuzz/logs/$target.log"
  if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
    echo "unknown target '$target' (no $bin or $seeds)" >&2
    exit 2
  fi
  mkdir -p "$work" "$artifacts" "$(dirname "$logfile")"
  dict=()
  if [ -f "tests/fuzz/$target.dict" ]; then
    dict=("-dict=tests/fuzz/$target.dict")
  fi
  log "fuzzing $target for ${seconds}s"
  status=0
  "$bin" "${dict[@]}" -max_total_time="$seconds" -timeout=30 \
    -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work" "$seeds" >"$logfile" 2>&1 ||
    status=$?
  # The last status line: "#N  DONE|pulse|NEW...  cov: C ft: F corp: U/S ...".
  last="$(grep -E '^#[0-9]+' "$logfile" | tail -n 1 || true)"
  execs="$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$logfile" |
           grep -oE '[0-9]+$' || echo "${last%%[[:space:]]*}")"
  cov="$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo '?')"
  ft="$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo '?')"
  corp="$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" |
          sed 's/corp: //' || echo '?')"
  if [ "$status" -eq 0 ]; then
    outcome="ok"
  else
    outcome="FAILED (exit $status; see $logfile, $artifacts/)"
    failed+=("$target")
    grep -E 'ERROR|SUMMARY|unexpected|not a protocol|blames|Check failed' \
      "$logfile" | head -n 5 >&2 || true
  fi
  report+=("$(printf '%-15s %6ss %12s execs %8s cov %8s ft %14s corpus  %s' \
    "$target" "$seconds" "${execs#\#}" "$cov" "$ft" "$corp" "$outcome")")
done

log "fuzzing report (corpus: units/bytes)"
printf '%s\n' "${report[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz targets failed: ${failed[*]}" >&2
  exit 1
fi
