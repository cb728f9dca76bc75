#!/usr/bin/env bash
# Accuracy of the policy search (search.md) against known truth, over seeds: per seed,
# generates a world with segment effects and its truth (every candidate's true net objective,
# `handoff generate --truth`), runs `handoff report` (the searches of the policies file), and
# prints per seed and search: the recommendation's true net objective, its regret against the
# family's true best, whether it is at least the base policy's true value, and whether the
# honest interval holds the recommendation's true value (scripts/search_study.py).
#
# Usage: scripts/search_accuracy.sh [SEED ...]      (default: 11 to 20)
# Environment: CONVERSATIONS (default 20000), POLICIES (default data/policies.toml),
#              WORK (default a new temporary folder), HANDOFF_BIN (a built binary),
#              SLICE_EFFECTS=0 to generate without segment effects, MARKDOWN=1,
#              BY=segment for the routed study (reports with --by segment; the study then
#              compares the routed policy with the single one, search_study.py --routed).
# Exit status 1 when fewer than 9 in 10 seeds meet the criteria of docs/accuracy.md.
set -euo pipefail

cd "$(dirname "$0")/.."
conversations="${CONVERSATIONS:-20000}"
policies="${POLICIES:-data/policies.toml}"
work="${WORK:-$(mktemp -d)}"
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(11 12 13 14 15 16 17 18 19 20)
generate_flags=(--slice-effects)
[ "${SLICE_EFFECTS:-1}" = 0 ] && generate_flags=()
format_flag=()
[ "${MARKDOWN:-0}" = 1 ] && format_flag=(--markdown)
by_flags=()
[ -n "${BY:-}" ] && by_flags=(--by "$BY") && format_flag+=(--routed)

if [ -n "${HANDOFF_BIN:-}" ]; then
    bin="$HANDOFF_BIN"
else
    cargo build --release --quiet
    bin="${CARGO_TARGET_DIR:-target}/release/handoff"
fi

for seed in "${seeds[@]}"; do
    data="$work/seed-$seed"
    if [ ! -f "$data/truth.json" ]; then
        "$bin" generate --conversations "$conversations" --seed "$seed" "${generate_flags[@]}" \
            --out "$data" --truth "$data/truth.json" --policies "$policies"
    fi
    if [ ! -f "$data/reports/all/search.json" ]; then
        "$bin" report --data "$data" --policies "$policies" --out "$data/reports" --quiet \
            "${by_flags[@]}"
    fi
done
python3 scripts/search_study.py "$work" "${format_flag[@]}"
