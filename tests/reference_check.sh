#!/usr/bin/env bash
# The engine against the independent NumPy implementation of docs/MODEL.md
# (scripts/reference_numpy.py, written from the docs alone): means, P(>0), censored shares,
# P50/P95 and binding shares must agree within their standard errors. Both seeds are fixed, so
# the outcome is deterministic. Usage: reference_check.sh CAPRISK SOURCE_DIR CONFIG PATHS
set -euo pipefail
caprisk="$1" root="$2" config="$3" paths="$4"
python=/usr/bin/python3
if ! "$python" -c 'import numpy, scipy, yaml' 2>/dev/null; then
  echo "SKIPPED: /usr/bin/python3 lacks numpy, scipy or yaml (scripts/setup installs them)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$caprisk" run "$root/$config" --paths "$paths" --quiet --out "$work/engine"
"$python" "$root/scripts/reference_numpy.py" "$root/$config" --paths "$paths" --seed 1 \
  --out "$work/reference"
"$python" "$root/scripts/compare_reference.py" "$work/engine/percentiles.csv" \
  "$work/reference/percentiles.csv"
