#!/usr/bin/env bash
# Renders REPORT_DIR/report.html in headless Chromium to a full-page PNG, to check how the
# report reads. Usage: scripts/screenshot.sh REPORT_DIR OUT.png [WIDTH] [HEIGHT]
# The page is self-contained, so networking is disabled outright: a request would be a bug.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 REPORT_DIR OUT.png [WIDTH] [HEIGHT]" >&2
  exit 2
fi
report_dir=$1
out=$2
width=${3:-1280}
height=${4:-4000}
page="$report_dir/report.html"
if [ ! -f "$page" ]; then
  echo "$0: no report.html in $report_dir" >&2
  exit 2
fi
browser=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$browser" ]; then
  echo "$0: $browser not found; install it with: apt-get update && apt-get install -y chromium" >&2
  exit 2
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
out_abs=$(realpath -m "$out")
page_abs=$(realpath "$page")

"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$profile" --window-size="$width,$height" \
  --screenshot="$out_abs" "file://$page_abs" 2>/dev/null
if [ ! -s "$out_abs" ]; then
  echo "$0: chromium wrote no screenshot to $out_abs" >&2
  exit 1
fi
echo "$out_abs"
