#!/usr/bin/env bash
# Scale benchmark of `handoff report`. One command from a fresh clone:
#
#   scripts/bench.sh                 # 100,000 and 1,000,000 conversations
#   SIZES="20000 100000" scripts/bench.sh
#
# Builds release, generates Parquet data sets with `handoff generate` (cached under
# target/bench-data/<size>-s<seed>), runs the full `handoff report` (every default policy and
# sweep, default estimator with intervals, every chart) on each under `/usr/bin/time -v`, and
# prints wall time, CPU time (user+sys), peak RSS, per-conversation figures, the floor
# (examples/floor.rs: polars reads the three tables + one Aho-Corasick pass over all text) and
# the report's wall time as a multiple of the floor. Figures are recorded in docs/benchmarks.md.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES=${SIZES:-"100000 1000000"}
SEED=${SEED:-42}
WEEKS=${WEEKS:-2}
target_dir=${CARGO_TARGET_DIR:-target}
bench_root=target/bench-data
# BENCH_PROFILE=dev only smoke-tests this script (debug figures mean nothing).
profile=${BENCH_PROFILE:-release}
profile_dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
bin="$target_dir/$profile_dir/handoff"
floor="$target_dir/$profile_dir/examples/floor"

if [ ! -x /usr/bin/time ]; then
  echo "$0: /usr/bin/time not found; install it with: apt-get update && apt-get install -y time" >&2
  exit 2
fi

echo "== building $profile (handoff + examples/floor)" >&2
cargo build --profile "$profile" --quiet --bin handoff --example floor

# Runs "$@" under /usr/bin/time -v; prints "wall cpu rss_kib" (seconds, seconds, KiB).
measure() {
  local log
  log=$(mktemp)
  if ! /usr/bin/time -v "$@" >"$log.out" 2>"$log"; then
    echo "$0: command failed: $*" >&2
    tail -n 40 "$log" >&2
    rm -f "$log" "$log.out"
    exit 1
  fi
  awk -F': ' '
    /Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); wall = 0
      for (i = 1; i <= n; i++) wall = wall * 60 + p[i]
    }
    /User time \(seconds\)/ { user = $2 }
    /System time \(seconds\)/ { sys = $2 }
    /Maximum resident set size/ { rss = $2 }
    END { printf "%.2f %.2f %d\n", wall, user + sys, rss }' "$log"
  rm -f "$log" "$log.out"
}

printf '%-10s %-8s %9s %9s %9s %12s %12s %9s %8s\n' \
  size step wall_s cpu_s rss_mib us_per_conv kib_per_conv floor_s x_floor
for size in $SIZES; do
  data="$bench_root/$size-s$SEED"
  if [ ! -f "$data/.complete" ]; then
    echo "== generating $size conversations (seed $SEED) into $data" >&2
    rm -rf "$data"
    mkdir -p "$data"
    "$bin" generate --conversations "$size" --seed "$SEED" --weeks "$WEEKS" \
      --format parquet --out "$data" --quiet
    touch "$data/.complete"
  fi
  out=$(mktemp -d)
  # Warm the page cache so the first measured run is not a disk benchmark.
  cat "$data"/*.parquet >/dev/null
  floor_figures=$(measure "$floor" "$data") || exit 1
  report_figures=$(measure "$bin" report --data "$data" --policies data/policies.toml \
    --out "$out" --quiet) || exit 1
  read -r f_wall f_cpu f_rss <<<"$floor_figures"
  read -r wall cpu rss <<<"$report_figures"
  rm -rf "$out"
  for row in "floor $f_wall $f_cpu $f_rss" "report $wall $cpu $rss"; do
    set -- $row
    awk -v size="$size" -v step="$1" -v wall="$2" -v cpu="$3" -v rss="$4" -v floor="$f_wall" '
      BEGIN {
        printf "%-10s %-8s %9.2f %9.2f %9.0f %12.2f %12.3f %9.2f %8.2f\n",
          size, step, wall, cpu, rss / 1024, wall * 1e6 / size, rss / size, floor, wall / floor
      }'
  done
done
