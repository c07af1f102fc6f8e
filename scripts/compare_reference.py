#!/usr/bin/python3
"""Statistical comparison of two caprisk output folders (or two percentiles.csv files) of the
same scenario, e.g. the engine's and scripts/reference_numpy.py's (different random streams,
so the comparison is within sampling error, not bitwise).

For every (site, month, metric) cell present in both percentiles.csv files:
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
share (none, power, supply, funding) is also compared like p_positive. When targets.csv
files lie beside both, every target must agree to 1e-9 (relative; they are deterministic).

Stress folders (both A and B hold stress_compare.csv, as `caprisk stress` and
`reference_numpy.py --stress` write them): the base tables and every stress's tables
(stress/NAME/) are compared as above, every table must have the same rows in the same order
in A and B, and every stress_compare.csv cell (stress, site, month, metric) is tested:
  - diff_mean:       |a - b| <= K * sqrt(se_a^2 + se_b^2), se = diff_sd / sqrt(n);
  - p_diff_positive: the same with binomial SEs sqrt(p (1 - p) / n). Both sides count
    d > 1e-9 (ANALYSIS.md), so rounding noise of +-1e-16, whose sign depends on each
    implementation's order of floating-point operations, counts on neither. (--p-diff-positive
    discrete tests it only on months_late and all_sites_short rows, whose differences are
    integers, for comparing with an engine that counts d > 0.)
  A test whose two SEs are both 0 is skipped when the values agree (to 1e-9) and fails when
  they do not. When only one side's SE is 0 (e.g. one side changed no path at all, or no
  path's value rose), that side's SE is floored at the other side's SE: a zero sample sd is
  an underestimate of a rare change's spread, and under the hypothesis that both estimate
  the same thing the other side's SE is the best estimate of it. (Without the floor the test
  would be sqrt(2) stricter for those cells.)
  - diff_sd: over the cells where both sides changed >= 1% of paths, the median of
    max(sd_a / sd_b, sd_b / sd_a) must be <= --diff-sd-median (1.25): both sides must couple
    the variants alike (common random numbers); single cells are not tested (no simple SE
    for the sd of a zero-inflated, heavy-tailed difference).
  Each side's stress_compare.csv is also checked against its own tables (consistency, to
  1e-9 relative): base_mean, stress_mean, base_p50/p95, stress_p50/p95 equal the
  percentiles.csv cells (where those percentiles are reported), diff_mean equals
  stress_mean - base_mean, diff_ci_low/high equal diff_mean -+ 1.959964 diff_sd / sqrt(n),
  diff_p50/p95 the differences of the percentiles.

Prints the worst cells (largest z or interval gap) and "N cells, M disagreements";
exits 1 when any cell disagrees (or, for stress folders, when the tables' rows differ).

Usage: compare_reference.py A B [--k 4] [--ci-scale 1] [--percentiles 50,95] [--top 25]
(A and B: output folders, or for plain runs also percentiles.csv files.) Standard library only.
"""
import argparse
import csv
import math
import os
import sys

Z975 = 1.959964
# Integer-valued metrics: a per-path difference is never rounding noise.
DISCRETE_METRICS = ("months_late", "all_sites_short")


def resolve(path, name):
    return os.path.join(path, name) if os.path.isdir(path) else path


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def load(path, key=("site", "month", "metric")):
    return {tuple(r[k] for k in key): r for r in read_rows(path)}


def z_test(a, b, se_a, se_b, abs_slack=1e-9):
    """Returns z = |a-b| / sqrt(se_a^2+se_b^2) (inf if both se are 0 and a != b)."""
    d = abs(a - b)
    if d <= abs_slack:
        return 0.0
    se = math.sqrt(se_a * se_a + se_b * se_b)
    return d / se if se > 0 else math.inf


def z_test_floored(a, b, se_a, se_b):
    """z_test with a side whose SE is 0 floored at the other side's SE (see the docstring)."""
    if se_a == 0:
        se_a = se_b
    if se_b == 0:
        se_b = se_a
    return z_test(a, b, se_a, se_b)


def binom_se(p, n):
    return math.sqrt(max(p * (1 - p), 0.0) / n) if n > 0 else 0.0


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


class Results:
    """Test results: (severity, bad, table, key, test, detail)."""

    def __init__(self):
        self.items = []
        self.cells = 0
        self.structure_errors = []

    def add(self, severity, bad, table, key, test, detail):
        self.items.append((severity, bad, table, key, test, detail))


def compare_tables(pa, pb, args, res, table=""):
    """percentiles.csv (+ attribution.csv, targets.csv beside them) of A and B."""
    A, B = load(pa), load(pb)
    only = sorted(A.keys() ^ B.keys())
    if only:
        print(f"{table or 'percentiles.csv'}: cells in only one file ({len(only)}): {only[:5]} ...")
    keys = [k for k in A if k in B]
    qs = [q.strip() for q in args.percentiles.split(",") if q.strip()]
    K = args.k
    for key in keys:
        ra, rb = A[key], B[key]
        na, nb = float(ra["paths"]), float(rb["paths"])
        # mean
        ma, mb = float(ra["mean"]), float(rb["mean"])
        sa, sb = float(ra["sd"]) / math.sqrt(na), float(rb["sd"]) / math.sqrt(nb)
        z = z_test(ma, mb, sa, sb)
        res.add(z / K, z > K, table, key, "mean",
                f"{ma:.6g} vs {mb:.6g} (diff {mb - ma:+.3g}, z {z:.2f})")
        # P(> 0)
        qa, qb = float(ra["p_positive"]), float(rb["p_positive"])
        z = z_test(qa, qb, binom_se(qa, na), binom_se(qb, nb))
        res.add(z / K, z > K, table, key, "p_positive",
                f"{qa:.6g} vs {qb:.6g} (diff {qb - qa:+.3g}, z {z:.2f})")
        # censored share (months_late rows)
        if ra.get("censored_share") and rb.get("censored_share"):
            qa, qb = float(ra["censored_share"]), float(rb["censored_share"])
            z = z_test(qa, qb, binom_se(qa, na), binom_se(qb, nb))
            res.add(z / K, z > K, table, key, "censored_share",
                    f"{qa:.6g} vs {qb:.6g} (diff {qb - qa:+.3g}, z {z:.2f})")
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
                res.add(z / K, z > K, table, key, col,
                        f"{va:.6g} [{la:.6g}, {ha:.6g}] vs {vb:.6g} [{lb:.6g}, {hb:.6g}] z {z:.2f}")
                continue
            gap = max(lb - ha, la - hb)  # > 0 when the intervals do not overlap
            width = max(ha - la, hb - lb, 1e-12)
            bad = gap > 1e-9
            res.add(gap / width, bad, table, key, col,
                    f"{va:.6g} [{la:.6g}, {ha:.6g}] vs {vb:.6g} [{lb:.6g}, {hb:.6g}]"
                    + (f" gap {gap:.3g}" if bad else ""))
    res.cells += len(keys)
    n_attr = n_tg = 0

    # attribution shares
    da, db = os.path.dirname(pa) or ".", os.path.dirname(pb) or "."
    aa, ab = os.path.join(da, "attribution.csv"), os.path.join(db, "attribution.csv")
    if os.path.isfile(aa) and os.path.isfile(ab):
        XA, XB = load(aa, ("site", "month")), load(ab, ("site", "month"))
        for key in XA:
            if key not in XB:
                continue
            n_attr += 1
            ra, rb = XA[key], XB[key]
            na, nb = float(ra["paths"]), float(rb["paths"])
            for c in ("none", "power", "supply", "funding"):
                qa, qb = float(ra[c]), float(rb[c])
                z = z_test(qa, qb, binom_se(qa, na), binom_se(qb, nb))
                res.add(z / K, z > K, table, key + ("attribution",), c,
                        f"{qa:.6g} vs {qb:.6g} (diff {qb - qa:+.3g}, z {z:.2f})")
    # targets: deterministic
    ta, tb = os.path.join(da, "targets.csv"), os.path.join(db, "targets.csv")
    if os.path.isfile(ta) and os.path.isfile(tb):
        XA, XB = load(ta, ("site", "month")), load(tb, ("site", "month"))
        for key in XA:
            if key not in XB:
                continue
            n_tg += 1
            va, vb = float(XA[key]["target_gw"]), float(XB[key]["target_gw"])
            bad = not close(va, vb)
            res.add(math.inf if bad else 0.0, bad, table, key + ("targets",), "target_gw",
                    f"{va:.12g} vs {vb:.12g}")
    res.cells += n_attr + n_tg
    return len(keys), n_attr, n_tg


def same_rows(table, fa, fb, key, res):
    """For stress folders: A's and B's table must list the same rows in the same order."""
    ka = [tuple(r[k] for k in key) for r in read_rows(fa)]
    kb = [tuple(r[k] for k in key) for r in read_rows(fb)]
    if ka != kb:
        first = next((i for i, (x, y) in enumerate(zip(ka, kb)) if x != y), min(len(ka), len(kb)))
        res.structure_errors.append(
            f"{table}: rows differ ({len(ka)} vs {len(kb)} rows; first difference at row "
            f"{first + 1}: {ka[first] if first < len(ka) else None} vs "
            f"{kb[first] if first < len(kb) else None})")


def consistency(label, folder, stresses, res):
    """A folder's stress_compare.csv against its own percentiles.csv files."""
    base = load(os.path.join(folder, "percentiles.csv"))
    own = {s: load(os.path.join(folder, "stress", s, "percentiles.csv")) for s in stresses}
    n_bad = 0
    for r in read_rows(os.path.join(folder, "stress_compare.csv")):
        key = (r["site"], r["month"], r["metric"])
        problems = []
        b, s = base.get(key), own.get(r["stress"], {}).get(key)
        pairs = []
        if b is not None:
            pairs += [("base_mean", b["mean"])]
            pairs += [(f"base_{c}", b[c]) for c in ("p50", "p95") if c in b]
        if s is not None:
            pairs += [("stress_mean", s["mean"])]
            pairs += [(f"stress_{c}", s[c]) for c in ("p50", "p95") if c in s]
        if b is None or s is None:
            problems.append("cell missing from percentiles.csv")
        for col, want in pairs:
            if not close(float(r[col]), float(want)):
                problems.append(f"{col} {r[col]} but percentiles.csv {want}")
        dm, sd, n = float(r["diff_mean"]), float(r["diff_sd"]), float(r["paths"])
        scale = max(abs(float(r["base_mean"])), abs(float(r["stress_mean"])), 1.0)
        if abs(dm - (float(r["stress_mean"]) - float(r["base_mean"]))) > 1e-9 * scale:
            problems.append(f"diff_mean {dm} but stress_mean - base_mean = "
                            f"{float(r['stress_mean']) - float(r['base_mean'])}")
        half = Z975 * sd / math.sqrt(n)
        for col, want in (("diff_ci_low", dm - half), ("diff_ci_high", dm + half)):
            if abs(float(r[col]) - want) > 1e-9 * scale:
                problems.append(f"{col} {r[col]} but diff_mean -+ 1.959964 sd/sqrt(n) = {want}")
        for c in ("p50", "p95"):
            want = float(r[f"stress_{c}"]) - float(r[f"base_{c}"])
            if abs(float(r[f"diff_{c}"]) - want) > 1e-9 * scale:
                problems.append(f"diff_{c} {r['diff_' + c]} but stress - base = {want}")
        if not 0.0 <= float(r["p_diff_positive"]) <= 1.0 or sd < 0:
            problems.append("p_diff_positive or diff_sd out of range")
        for p in problems:
            n_bad += 1
            res.add(math.inf, True, f"{label} consistency", (r["stress"],) + key, "consistency", p)
    return n_bad


def compare_stress(a, b, args, res):
    names_a = sorted(os.listdir(os.path.join(a, "stress"))) if os.path.isdir(os.path.join(a, "stress")) else []
    names_b = sorted(os.listdir(os.path.join(b, "stress"))) if os.path.isdir(os.path.join(b, "stress")) else []
    if names_a != names_b:
        res.structure_errors.append(f"stress folders differ: {names_a} vs {names_b}")
    names = [s for s in names_a if s in names_b]
    counts = {}
    for label, sub in [("base", "")] + [(f"stress/{s}", os.path.join("stress", s)) for s in names]:
        fa, fb = os.path.join(a, sub), os.path.join(b, sub)
        same_rows(f"{label}/percentiles.csv", os.path.join(fa, "percentiles.csv"),
                  os.path.join(fb, "percentiles.csv"), ("site", "month", "metric"), res)
        for t in ("attribution.csv", "targets.csv"):
            same_rows(f"{label}/{t}", os.path.join(fa, t), os.path.join(fb, t), ("site", "month"), res)
        counts[label] = compare_tables(os.path.join(fa, "percentiles.csv"),
                                       os.path.join(fb, "percentiles.csv"), args, res, label)

    ca, cb = os.path.join(a, "stress_compare.csv"), os.path.join(b, "stress_compare.csv")
    key = ("stress", "site", "month", "metric")
    same_rows("stress_compare.csv", ca, cb, key, res)
    A, B = load(ca, key), load(cb, key)
    K = args.k
    n_cmp = n_skipped = 0
    for k in A:
        if k not in B:
            continue
        ra, rb = A[k], B[k]
        na, nb = float(ra["paths"]), float(rb["paths"])
        ma, mb = float(ra["diff_mean"]), float(rb["diff_mean"])
        sda, sdb = float(ra["diff_sd"]), float(rb["diff_sd"])
        pa_, pb_ = float(ra["p_diff_positive"]), float(rb["p_diff_positive"])
        n_cmp += 1
        if sda == 0 and sdb == 0 and ma == mb and pa_ == pb_:
            n_skipped += 1  # e.g. a stress that changes no path's value of this cell
            continue
        z = z_test_floored(ma, mb, sda / math.sqrt(na), sdb / math.sqrt(nb))
        res.add(z / K, z > K, "stress_compare", k[1:] + (k[0],), "diff_mean",
                f"{ma:.6g} (sd {sda:.3g}) vs {mb:.6g} (sd {sdb:.3g}) z {z:.2f}")
        if args.p_diff_positive == "none" or (args.p_diff_positive == "discrete"
                                               and k[3] not in DISCRETE_METRICS):
            continue
        z = z_test_floored(pa_, pb_, binom_se(pa_, na), binom_se(pb_, nb))
        res.add(z / K, z > K, "stress_compare", k[1:] + (k[0],), "p_diff_positive",
                f"{pa_:.6g} vs {pb_:.6g} (diff {pb_ - pa_:+.3g}, z {z:.2f})")
    res.cells += n_cmp
    # diff_sd: a sample sd of a zero-inflated, heavy-tailed d has no simple SE, so single
    # cells are not tested; but over the cells where both sides changed >= 1% of paths, the
    # median of the ratio max(sd_a/sd_b, sd_b/sd_a) must stay below --diff-sd-median. Common
    # random numbers that couple the variants alike on both sides give a median near 1 (1.01
    # at 1e5 paths, single cells within ~10-15%); a side that does not couple its variants
    # has diff_sd several times larger (a median of ~6 when one side draws each variant
    # afresh), which the diff_mean test alone would not notice.
    ratios = []
    for k in A:
        if k in B:
            sda, sdb = float(A[k]["diff_sd"]), float(B[k]["diff_sd"])
            if (sda > 0 and sdb > 0 and float(A[k]["p_diff_positive"]) >= 0.01
                    and float(B[k]["p_diff_positive"]) >= 0.01):
                ratios.append((max(sda / sdb, sdb / sda), k))
    if ratios:
        ratios.sort()
        median, worst = ratios[len(ratios) // 2][0], ratios[-1]
        bad = median > args.diff_sd_median
        res.add(math.inf if bad else median, bad, "stress_compare", ("(cells)", "", "diff_sd"),
                "diff_sd median",
                f"median ratio {median:.3f} over {len(ratios)} cells (limit "
                f"{args.diff_sd_median}); largest {worst[0]:.3f} ({', '.join(worst[1])})")
        print(f"diff_sd A/B over {len(ratios)} cells with >= 1% of paths changed on both sides: "
              f"median ratio {median:.3f}{' (too large)' if bad else ''}, largest "
              f"{worst[0]:.3f} ({', '.join(worst[1])})")
    n_incons = consistency("A", a, names, res) + consistency("B", b, names, res)
    return counts, n_cmp, n_skipped, n_incons


def report(res, args, stress_mode):
    bad_cells = {(r[2], r[3]) for r in res.items if r[1]}
    n_bad_tests = sum(1 for r in res.items if r[1])
    items = sorted(res.items, key=lambda r: (not r[1], -r[0]))
    if stress_mode:
        print(f"{'':2} {'table':28} {'site':22} {'month':8} {'metric':20} {'test':16} detail (A vs B)")
    else:
        print(f"{'':2} {'site':24} {'month':8} {'metric':20} {'test':14} detail (A vs B)")
    for sev, bad, table, key, test, detail in items[:args.top]:
        site, month, metric = key[:3]
        if stress_mode:
            t = table if len(key) < 4 else f"{table}:{key[3]}"
            print(f"{'!!' if bad else '  '} {t[:28]:28} {site[:22]:22} {month:8} {metric[:20]:20} "
                  f"{test:16} {detail}")
        else:
            print(f"{'!!' if bad else '  '} {site[:24]:24} {month:8} {metric[:20]:20} {test:14} {detail}")
    for e in res.structure_errors:
        print(f"!! {e}")
    return bad_cells, n_bad_tests


def main(argv=None):
    ap = argparse.ArgumentParser(description="compare two caprisk output folders statistically")
    ap.add_argument("a", help="output folder or percentiles.csv, e.g. the engine's")
    ap.add_argument("b", help="output folder or percentiles.csv, e.g. the reference's")
    ap.add_argument("--k", type=float, default=4.0, help="z threshold for means and shares")
    ap.add_argument("--ci-scale", type=float, default=1.0,
                    help="widen each percentile CI about its estimate by this factor")
    ap.add_argument("--percentiles", default="50,95", help="percentiles whose CIs are compared")
    ap.add_argument("--pct-test", choices=("overlap", "z"), default="overlap",
                    help="overlap: flag when the 95%% CIs do not overlap (default); z: derive "
                         "se = (ci_high - ci_low) / 3.92 and apply the --k z test instead")
    ap.add_argument("--p-diff-positive", choices=("all", "discrete", "none"), default="all",
                    help="stress folders: the stress_compare.csv cells whose p_diff_positive "
                         "is tested: all (default), discrete (months_late and all_sites_short "
                         "only, whose differences cannot be rounding noise), none")
    ap.add_argument("--diff-sd-median", type=float, default=1.25,
                    help="stress folders: most the median diff_sd ratio may be (see above)")
    ap.add_argument("--top", type=int, default=25, help="worst results printed")
    args = ap.parse_args(argv)

    res = Results()
    stress_mode = all(os.path.isdir(p) and os.path.isfile(os.path.join(p, "stress_compare.csv"))
                      for p in (args.a, args.b))
    if stress_mode:
        counts, n_cmp, n_skipped, n_incons = compare_stress(args.a, args.b, args, res)
        bad_cells, n_bad_tests = report(res, args, True)
        for label, (npct, nattr, ntg) in counts.items():
            bad = len({c for c in bad_cells if c[0] == label})
            print(f"  {label}: {npct} percentile cells, {nattr} attribution cells, "
                  f"{ntg} target cells, {bad} disagreements")
        bad = len({c for c in bad_cells if c[0] == "stress_compare"})
        print(f"  stress_compare.csv: {n_cmp} cells ({n_skipped} unchanged in both, skipped), "
              f"{bad} disagreements; {n_incons} consistency problems")
        print(f"{res.cells} cells, {len(bad_cells)} disagreements ({len(res.items)} tests, "
              f"{n_bad_tests} failed; {len(res.structure_errors)} layout differences)")
        return 1 if bad_cells or res.structure_errors else 0

    pa, pb = resolve(args.a, "percentiles.csv"), resolve(args.b, "percentiles.csv")
    npct, nattr, ntg = compare_tables(pa, pb, args, res)
    bad_cells, n_bad_tests = report(res, args, False)
    print(f"{res.cells} cells, {len(bad_cells)} disagreements "
          f"({len(res.items)} tests, {n_bad_tests} failed; {npct} percentile cells, "
          f"{nattr} attribution cells, {ntg} target cells)")
    return 1 if bad_cells else 0


if __name__ == "__main__":
    sys.exit(main())
