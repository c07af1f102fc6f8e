#!/usr/bin/env python3
"""Compares two percentiles.csv files of the same scenario (e.g. CPU and GPU backends):
every percentile of B must lie within A's 95% confidence interval for it, and means must
agree within 4 standard errors. Exits 1 listing the cells that disagree. Standard library only.
Usage: compare_tables.py A/percentiles.csv B/percentiles.csv"""
import csv
import math
import sys


def load(path):
    with open(path, newline="") as f:
        return {(r["site"], r["month"], r["metric"]): r for r in csv.DictReader(f)}


def main(a_path, b_path):
    a, b = load(a_path), load(b_path)
    if a.keys() != b.keys():
        print(f"different cells: {sorted(a.keys() ^ b.keys())[:5]} ...")
        return 1
    problems = []
    for key, ra in a.items():
        rb = b[key]
        for column in ra:
            if column.startswith("p") and column[1:].replace(".", "").isdigit():
                low, high = float(ra[column + "_ci_low"]), float(ra[column + "_ci_high"])
                value = float(rb[column])
                if not (low - 1e-9 <= value <= high + 1e-9):
                    problems.append(f"{key} {column}: {value} outside [{low}, {high}]")
        n = float(ra["paths"])
        se = float(ra["sd"]) / math.sqrt(n) if n > 0 else 0.0
        if abs(float(ra["mean"]) - float(rb["mean"])) > 4 * se + 1e-9:
            problems.append(f"{key} mean: {rb['mean']} vs {ra['mean']} (se {se:.3g})")
    for p in problems[:40]:
        print(p)
    print(f"{len(a)} cells compared, {len(problems)} disagreement(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
