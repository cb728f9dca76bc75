#!/usr/bin/env bash
# Renders REPORT_DIR/report.html in headless Chromium to a full-page PNG, to check how the
# report reads. Usage: scripts/screenshot.sh REPORT_DIR OUT.png [WIDTH] [HEIGHT]
# The page is self-contained, so networking is disabled outright: a request would be a bug.
# Chromium is installed with apt-get when it is missing (as root, or through sudo). The window
# is HEIGHT tall (default 9000, enough for the sample report); when python3 has PIL, the blank
# space below the page is trimmed off.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 REPORT_DIR OUT.png [WIDTH] [HEIGHT]" >&2
  exit 2
fi
report_dir=$1
out=$2
width=${3:-1280}
height=${4:-9000}
page="$report_dir/report.html"
if [ ! -f "$page" ]; then
  echo "$0: no report.html in $report_dir" >&2
  exit 2
fi

# The browser: $CHROMIUM, else the first one on the PATH, else install Debian's chromium.
find_browser() {
  if [ -n "${CHROMIUM:-}" ]; then
    echo "$CHROMIUM"
    return
  fi
  for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return
    fi
  done
}
install_chromium() {
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "$0: chromium is missing; install it with: apt-get install -y chromium" >&2
      exit 2
    fi
    as_root=(sudo -n)
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$0: chromium is missing and there is no apt-get; install chromium and set CHROMIUM" >&2
    exit 2
  fi
  echo "$0: chromium not found; installing it with apt-get" >&2
  "${as_root[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium >&2
}
browser=$(find_browser)
if [ -z "$browser" ]; then
  install_chromium
  browser=$(find_browser)
fi
if [ -z "$browser" ] || [ ! -x "$browser" ]; then
  echo "$0: no usable chromium (${browser:-none found}); set CHROMIUM to its path" >&2
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

# Trim the empty window below the page (the bottom-right pixel is the background).
if python3 -c "import PIL" 2>/dev/null; then
  python3 - "$out_abs" <<'EOF'
import sys
from PIL import Image, ImageChops
path = sys.argv[1]
image = Image.open(path).convert("RGB")
background = Image.new("RGB", image.size, image.getpixel((image.width - 1, image.height - 1)))
box = ImageChops.difference(image, background).getbbox()
if box and box[3] + 24 < image.height:
    image.crop((0, 0, image.width, box[3] + 24)).save(path, optimize=True)
elif box:
    print(f"{path}: the page may be taller than the window; pass a larger HEIGHT", file=sys.stderr)
EOF
fi
echo "$out_abs"
