#!/usr/bin/python3
"""Statistical comparison of two percentiles.csv files of the same scenario, e.g. the
engine's and scripts/reference_numpy.py's (different random streams, so the comparison is
within sampling error, not bitwise).

For every (site, month, metric) cell present in both files:
  - mean:       |a - b| <= K * sqrt(se_a^2 + se_b^2), se = sd / sqrt(n)
  - p_positive: the same test with binomial standard errors sqrt(p (1 - p) / n)
  - p50, p95:   the two 95% order-statistic confidence intervals must overlap
                (optionally widened around the estimate by --ci-scale); with --pct-test z,
                se = CI width / 3.92 and the same z test as the means instead.
                Note: with 95% intervals, two samples of the same distribution fail to
                overlap about 0.6% of the time per test, and adjacent months are strongly
                correlated, so many-cell comparisons with all percentiles will see a few.
                p0 and p100 (sample extremes, zero-width intervals) are skipped.
When attribution.csv files lie beside both percentiles.csv files, each binding-constraint
share (none, power, supply, funding) is also compared like p_positive.

Prints the worst cells (largest z or interval gap) and "N cells, M disagreements";
exits 1 when any cell disagrees.

Usage: compare_reference.py A/percentiles.csv B/percentiles.csv [--k 4] [--ci-scale 1]
       [--percentiles 50,95] [--top 25]
(A and B may also be the output directories.) Standard library and numpy only.
"""
import argparse
import csv
import math
import os
import sys



def resolve(path, name):
    return os.path.join(path, name) if os.path.isdir(path) else path


def load(path):
    with open(path, newline="") as f:
        return {(r["site"], r["month"], r["metric"]): r for r in csv.DictReader(f)}


def z_test(a, b, se_a, se_b, abs_slack=1e-9):
    """Returns z = |a-b| / sqrt(se_a^2+se_b^2) (inf if both se are 0 and a != b)."""
    d = abs(a - b)
    if d <= abs_slack:
        return 0.0
    se = math.sqrt(se_a * se_a + se_b * se_b)
    return d / se if se > 0 else math.inf


def main(argv=None):
    ap = argparse.ArgumentParser(description="compare two percentiles.csv files statistically")
    ap.add_argument("a", help="percentiles.csv (or its directory), e.g. the engine's")
    ap.add_argument("b", help="percentiles.csv (or its directory), e.g. the reference's")
    ap.add_argument("--k", type=float, default=4.0, help="z threshold for means and shares")
    ap.add_argument("--ci-scale", type=float, default=1.0,
                    help="widen each percentile CI about its estimate by this factor")
    ap.add_argument("--percentiles", default="50,95", help="percentiles whose CIs are compared")
    ap.add_argument("--pct-test", choices=("overlap", "z"), default="overlap",
                    help="overlap: flag when the 95%% CIs do not overlap (default); z: derive "
                         "se = (ci_high - ci_low) / 3.92 and apply the --k z test instead")
    ap.add_argument("--top", type=int, default=25, help="worst results printed")
    args = ap.parse_args(argv)

    pa, pb = resolve(args.a, "percentiles.csv"), resolve(args.b, "percentiles.csv")
    A, B = load(pa), load(pb)
    only = sorted(A.keys() ^ B.keys())
    if only:
        print(f"cells in only one file ({len(only)}): {only[:5]} ...")
    keys = [k for k in A if k in B]
    qs = [q.strip() for q in args.percentiles.split(",") if q.strip()]

    results = []  # (severity, bad, cell, test, detail)
    bad_cells = set()
    for key in keys:
        ra, rb = A[key], B[key]
        na, nb = float(ra["paths"]), float(rb["paths"])
        # mean
        ma, mb = float(ra["mean"]), float(rb["mean"])
        sa, sb = float(ra["sd"]) / math.sqrt(na), float(rb["sd"]) / math.sqrt(nb)
        z = z_test(ma, mb, sa, sb)
        results.append((z / args.k, z > args.k, key, "mean",
                        f"{ma:.6g} vs {mb:.6g} (diff {mb - ma:+.3g}, z {z:.2f})"))
        # P(> 0)
        qa, qb = float(ra["p_positive"]), float(rb["p_positive"])
        z = z_test(qa, qb, math.sqrt(qa * (1 - qa) / na), math.sqrt(qb * (1 - qb) / nb))
        results.append((z / args.k, z > args.k, key, "p_positive",
                        f"{qa:.6g} vs {qb:.6g} (diff {qb - qa:+.3g}, z {z:.2f})"))
        # censored share (months_late rows)
        if ra.get("censored_share") and rb.get("censored_share"):
            qa, qb = float(ra["censored_share"]), float(rb["censored_share"])
            z = z_test(qa, qb, math.sqrt(qa * (1 - qa) / na), math.sqrt(qb * (1 - qb) / nb))
            results.append((z / args.k, z > args.k, key, "censored_share",
                            f"{qa:.6g} vs {qb:.6g} (diff {qb - qa:+.3g}, z {z:.2f})"))
        # percentiles: CI overlap
        for q in qs:
            if float(q) in (0.0, 100.0):
                continue  # sample min / max: zero-width intervals, not comparable this way
            col = "p" + q
            if col not in ra or col not in rb:
                continue
            va, vb = float(ra[col]), float(rb[col])
            la, ha = float(ra[col + "_ci_low"]), float(ra[col + "_ci_high"])
            lb, hb = float(rb[col + "_ci_low"]), float(rb[col + "_ci_high"])
            s = args.ci_scale
            la, ha = va - s * (va - la), va + s * (ha - va)
            lb, hb = vb - s * (vb - lb), vb + s * (hb - vb)
            if args.pct_test == "z":
                z = z_test(va, vb, (ha - la) / 3.92, (hb - lb) / 3.92)
                results.append((z / args.k, z > args.k, key, col,
                                f"{va:.6g} [{la:.6g}, {ha:.6g}] vs {vb:.6g} [{lb:.6g}, {hb:.6g}]"
                                f" z {z:.2f}"))
                continue
            gap = max(lb - ha, la - hb)  # > 0 when the intervals do not overlap
            width = max(ha - la, hb - lb, 1e-12)
            bad = gap > 1e-9
            results.append((gap / width, bad, key, col,
                            f"{va:.6g} [{la:.6g}, {ha:.6g}] vs {vb:.6g} [{lb:.6g}, {hb:.6g}]"
                            + (f" gap {gap:.3g}" if bad else "")))

    # attribution shares
    aa, ab = resolve(os.path.dirname(pa) or ".", "attribution.csv"), resolve(os.path.dirname(pb) or ".", "attribution.csv")
    n_attr = 0
    if os.path.isfile(aa) and os.path.isfile(ab):
        with open(aa, newline="") as f:
            XA = {(r["site"], r["month"]): r for r in csv.DictReader(f)}
        with open(ab, newline="") as f:
            XB = {(r["site"], r["month"]): r for r in csv.DictReader(f)}
        for key in XA:
            if key not in XB:
                continue
            n_attr += 1
            ra, rb = XA[key], XB[key]
            na, nb = float(ra["paths"]), float(rb["paths"])
            for c in ("none", "power", "supply", "funding"):
                qa, qb = float(ra[c]), float(rb[c])
                z = z_test(qa, qb, math.sqrt(qa * (1 - qa) / na), math.sqrt(qb * (1 - qb) / nb))
                results.append((z / args.k, z > args.k, key + ("attribution",), c,
                                f"{qa:.6g} vs {qb:.6g} (diff {qb - qa:+.3g}, z {z:.2f})"))

    for r in results:
        if r[1]:
            bad_cells.add(r[2])
    n_bad_tests = sum(1 for r in results if r[1])
    results.sort(key=lambda r: (not r[1], -r[0]))
    print(f"{'':2} {'site':24} {'month':8} {'metric':20} {'test':14} detail (A vs B)")
    for sev, bad, key, test, detail in results[:args.top]:
        site, month, metric = key
        print(f"{'!!' if bad else '  '} {site[:24]:24} {month:8} {metric[:20]:20} {test:14} {detail}")
    n_cells = len(keys) + n_attr
    print(f"{n_cells} cells, {len(bad_cells)} disagreements "
          f"({len(results)} tests, {n_bad_tests} failed; {len(keys)} percentile cells, "
          f"{n_attr} attribution cells)")
    return 1 if bad_cells else 0


if __name__ == "__main__":
    sys.exit(main())
