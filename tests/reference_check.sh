#!/usr/bin/env bash
# The engine against the independent NumPy implementation of docs/MODEL.md
# (scripts/reference_numpy.py, written from the docs alone): means, P(>0), censored shares,
# P50/P95, binding shares and targets must agree within their standard errors. Both seeds are
# fixed, so the outcome is deterministic.
#
# Usage: reference_check.sh CAPRISK SOURCE_DIR CONFIG PATHS [stress|sensitivity]
#
# With `stress`: `caprisk stress` against `reference_numpy.py --stress` (docs/ANALYSIS.md):
# the base tables, every stress's tables and stress_compare.csv (diff_mean and
# p_diff_positive of every cell) are compared. A stress check makes about ten times as many percentile tests as a plain one (every
# stress's table), so it widens the P50/P95 intervals by 1.5 (--ci-scale: two intervals then
# miss each other by chance at about 4.2 standard errors, like the K = 4 of the means, instead
# of 2.8), keeping the chance of a false alarm about that of a plain check.
#
# With `sensitivity`: `caprisk sensitivity` against `reference_numpy.py --sensitivity`
# (docs/ANALYSIS.md "Sensitivity"): tornado.csv's rows, low/high, the changes at low and at
# high and the swings of every row, and each file's own consistency. A plain `caprisk run` of
# the same paths gives the sd of the engine's base (tornado.csv has none) for the base_mean
# test, and its mean must equal the sensitivity's base_mean (the base runs on the same paths).
set -euo pipefail
caprisk="$1" root="$2" config="$3" paths="$4" mode="${5:-run}"
python=/usr/bin/python3
if ! "$python" -c 'import numpy, scipy, yaml' 2>/dev/null; then
  echo "SKIPPED: /usr/bin/python3 lacks numpy, scipy or yaml (scripts/setup installs them)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
case "$mode" in
  run)
    "$caprisk" run "$root/$config" --paths "$paths" --quiet --out "$work/engine"
    "$python" "$root/scripts/reference_numpy.py" "$root/$config" --paths "$paths" --seed 1 \
      --out "$work/reference"
    "$python" "$root/scripts/compare_reference.py" "$work/engine/percentiles.csv" \
      "$work/reference/percentiles.csv"
    ;;
  stress)
    "$caprisk" stress "$root/$config" --paths "$paths" --quiet --out "$work/engine"
    "$python" "$root/scripts/reference_numpy.py" "$root/$config" --paths "$paths" --seed 1 \
      --stress --out "$work/reference"
    "$python" "$root/scripts/compare_reference.py" "$work/engine" "$work/reference" \
      --ci-scale 1.5 --p-diff-positive all
    ;;
  sensitivity)
    "$caprisk" sensitivity "$root/$config" --paths "$paths" --quiet --out "$work/engine"
    "$caprisk" run "$root/$config" --paths "$paths" --quiet --out "$work/engine-run"
    "$python" "$root/scripts/reference_numpy.py" "$root/$config" --paths "$paths" --seed 1 \
      --sensitivity --out "$work/reference"
    "$python" "$root/scripts/compare_reference.py" "$work/engine" "$work/reference" \
      --base-a "$work/engine-run"
    ;;
  *)
    echo "reference_check.sh: unknown mode '$mode' (run, stress or sensitivity)" >&2
    exit 2
    ;;
esac
