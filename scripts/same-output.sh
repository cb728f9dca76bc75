#!/usr/bin/env bash
# Behaviour check for refactors: runs a fixed set of commands with one binary and writes
# every output file under OUT, so two builds can be compared byte for byte.
#
#   scripts/same-output.sh record BIN OUT      # write the outputs of BIN under OUT
#   scripts/same-output.sh compare BIN BASE    # record into a temporary folder, diff with BASE
#
# The set: `report` on the shipped sample (all data and one week, both with history),
# `generate --truth` of 20,000 conversations (CSV) and `report` on it, `replay` and `signals`
# on the sample, and `brief`. Every file is compared byte for byte but `run.json`, which records
# the clock, and the truth file, compared as JSON values: its keys follow the shared `Rates`
# order since the one-`Rates` redesign, while its values must not change.
set -euo pipefail
cd "$(dirname "$0")/.."

record() {
  local bin=$1 out=$2
  rm -rf "$out"
  mkdir -p "$out"
  local bin_abs
  bin_abs=$(realpath "$bin")
  # A clean environment: no HANDOFF_* variable from the caller.
  local run=(env -u HANDOFF_DATA -u HANDOFF_OUT -u HANDOFF_WEEK -u HANDOFF_LOG_FORMAT "$bin_abs")
  "${run[@]}" report --quiet --out "$out/sample-reports" >/dev/null
  "${run[@]}" report --quiet --week 2026-W46 --out "$out/sample-reports" >/dev/null
  "${run[@]}" replay --quiet --out "$out/decisions.csv" >/dev/null
  "${run[@]}" signals --quiet --signal-source text --out "$out/signals.csv" >/dev/null
  "${run[@]}" brief --quiet --conversation "$(sed -n 2p data/conversations.csv | cut -d, -f1)" \
    --policy framework >"$out/brief.txt"
  "${run[@]}" generate --quiet --conversations 20000 --seed 5 --out "$out/gen" \
    --truth "$out/gen-truth.json" --policies data/policies.toml >/dev/null
  "${run[@]}" report --quiet --data "$out/gen" --out "$out/gen-reports" >/dev/null
  find "$out" -name run.json -delete
  find "$out" -name '.lock' -delete
}

case "${1:-}" in
  record) record "$2" "$3" ;;
  compare)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    record "$2" "$tmp/out"
    truth=gen-truth.json
    if ! python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
      "$3/$truth" "$tmp/out/$truth"; then
      echo "same-output: $truth differs in value from $3" >&2
      exit 1
    fi
    if diff -r -x "$truth" "$3" "$tmp/out"; then
      echo "same-output: every file identical to $3"
    else
      echo "same-output: outputs differ from $3" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 record BIN OUT | compare BIN BASE" >&2
    exit 2
    ;;
esac
