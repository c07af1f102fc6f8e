#!/usr/bin/env bash
# Peak resident memory of `caprisk run` at 1M and 16M paths of the same scenario (issue 5's
# bound: the larger run may use at most 10% more). Usage: bench/memory_bound.sh [CONFIG]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
caprisk="${CAPRISK_BUILD_DIR:-$root/build}/caprisk"
config="${1:-$root/configs/minimal.yaml}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for paths in 1000000 16000000; do
  /usr/bin/time -f "%M %e" -o "$out/time" "$caprisk" run "$config" --paths "$paths" --quiet \
    --out "$out/run"
  read -r rss seconds < "$out/time"
  passes=$(grep -o '"passes": [0-9]*' "$out/run/summary.json" | grep -o '[0-9]*$')
  echo "paths=$paths peak_rss_kb=$rss seconds=$seconds passes=$passes"
done
