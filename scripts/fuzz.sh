#!/usr/bin/env bash
# Property-based fuzzing (cargo-fuzz needs nightly; see docs/reliability.md): runs each
# tests/cli/fuzz_*.rs target (a module of the integration-test crate) in a time-boxed loop,
# every round with a fresh random proptest seed and FUZZ_CASES cases, until FUZZ_SECONDS
# (default 600) have passed for that target. A failing case is shrunk by proptest, saved under
# tests/proptest-regressions/ (replayed by every later `cargo test`), and makes the script exit
# non-zero.
#
# Usage: scripts/fuzz.sh [target ...]   (targets: fuzz_ingest fuzz_policies fuzz_replay)
# Environment: FUZZ_SECONDS, FUZZ_CASES (overrides the per-target default), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-600}"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_ingest fuzz_policies fuzz_replay)

default_cases() {
  case "$1" in
    fuzz_ingest) echo 1000 ;;   # each case writes files and runs polars: slower
    *) echo 20000 ;;
  esac
}

# Build once; run the test executable directly so that no cargo lock is held while fuzzing.
bin=$(cargo test --no-run --test cli --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*/cli-[^"]*"' | cut -d'"' -f4 | head -1) || true
if [ -z "$bin" ]; then
  echo "could not build the integration-test binary (cargo test --no-run --test cli)" >&2
  exit 1
fi

status=0
for t in "${targets[@]}"; do
  cases="${FUZZ_CASES:-$(default_cases "$t")}"
  start=$(date +%s); rounds=0; failed=0
  echo "== $t: ${seconds}s, ${cases} cases per property per round, started $(date -u +%FT%TZ)"
  while [ $(( $(date +%s) - start )) -lt "$seconds" ]; do
    rounds=$((rounds + 1))
    if ! FUZZ_CASES="$cases" "$bin" "${t}::" --test-threads 1 -q > "/tmp/handoff-$t.log" 2>&1; then
      failed=1; status=1
      echo "!! $t: round $rounds failed; see /tmp/handoff-$t.log"
      tail -40 "/tmp/handoff-$t.log"
      break
    fi
  done
  elapsed=$(( $(date +%s) - start ))
  properties=$("$bin" "${t}::" --list 2>/dev/null | grep -c ': test$' || true)
  echo "== $t: ${rounds} rounds in ${elapsed}s, ~$((rounds * cases)) cases per property" \
       "(${properties} tests), failed=${failed}, ended $(date -u +%FT%TZ)"
done
exit $status
