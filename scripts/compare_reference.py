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
  - cvar95:     the same z test as the means with se = (cvar95_ci_high - cvar95_ci_low) / 3.92
                on each side (MODEL.md "Reports", "CVaR's interval"); skipped (and counted)
                when both intervals have zero width (flat tails: a point mass) and the values
                agree to 1e-9. Not tested where either table lacks the columns (older engines).
                Each side's table is also checked against itself: 0 <= cvar95_ci_low <= cvar95
                <= cvar95_ci_high, and cvar95 >= p95 where p95 is reported (1e-9 relative).
When attribution.csv files lie beside both percentiles.csv files, each binding-constraint
share (none, power, supply, funding) is also compared like p_positive. When targets.csv
files lie beside both, every target must agree to 1e-9 (relative; they are deterministic).

When drivers.csv files lie beside both (docs/ANALYSIS.md "Tail drivers", CONFIG.md
"drivers.csv"), their rows are matched by (site, kind, input) (the order of an entity's input
rows is a sort by |shift_sd|, which sampling changes between close shifts), with n the
percentiles.csv path count and k = ceil(0.05 n):
  - tail_paths, once per entity: when either side's tail has more than k + 5 sqrt(n) paths
    (ties at the tail's start: each side's tail holds the whole point mass), both must be
    >= k - K sqrt(k); else the binomial z test |a - b| / sqrt(a (1 - a/n) + b (1 - b/n)) <= K
    (a tail of exactly k paths, the usual case, has no sampling error).
  - mean_all of each input, once (every entity's block has the same value): se = sd_all / sqrt(n).
  - mean_tail of each (site, input): se = max(sd_all, sd_tail) / sqrt(tail_paths) on each side,
    sd_tail the tail's own sd (ANALYSIS.md: the noise of a tail mean is "about the tail's own
    sd over sqrt(tail_paths)"). An event's is sqrt(p (1 - p)) of its tail share; any other
    draw's is read from drivers_se.csv (reference_numpy.py writes one beside drivers.csv, the
    engine none), either side's (the same distribution); with neither, sd_all alone. sd_all
    alone is not conservative: over 16 seeds of the default scenario at 1e5 paths, the spread
    of the tail means was up to 3.3 times sd_all / sqrt(tail_paths) for the lognormal power
    delays (their tails are far wider than their sd) and up to 3.2 times for events (a site's
    own power failure: a share near one half in its tail against 2 to 5% overall), while
    max(sd_all, sd_tail) gave |z| > 3 in 25 of 8064 seed-pair tests (21.8 expected).
  - binding rows, mean_all and mean_tail (shares of the short site-months at the report
    months): a path's site-months bind alike, so the SE is one over paths, not site-months (a
    binomial SE over the short site-months was 1.6 to 4.5 times too small, measured as
    above). Each side's SE is drivers_se.csv's (per-path counts; either side's, scaled by
    sqrt(count_other / count) to this side's paths or tail paths), for mean_tail at least the
    binomial SE over tail_paths; without drivers_se.csv, the binomial SE over tail_paths for
    both (for mean_all a loose bound: 1.6 to 4 times the measured spread).
  - sd_all: not tested input by input (a heavy-tailed draw's sample sd has no SE in these
    files); as diff_sd for stresses, the median over the inputs of max(sd_a / sd_b, sd_b / sd_a)
    must be <= --diff-sd-median, and the largest ratio is printed.
  A row in one side only is a failure, unless the entity's tail is empty on either side.
  Where neither side has a drivers_se.csv (engine against engine), --drivers-se DIR takes
  DIR's (a reference run of the same config; its SEs scaled to each side's path counts).
  Each side's drivers.csv is also checked against itself and its folder's tables (every
  problem a failure): its entities are percentiles.csv's (shortfall_gw_months rows) in order;
  an entity's rows are together, its input rows (|shift_sd| not increasing) then the binding
  rows power, supply, funding, all with one tail_paths and threshold_gw_months; mean_tail and
  shift_sd empty exactly when the tail is; shift_sd = (mean_tail - mean_all) / sd_all; an
  input's mean_all and sd_all equal in every block; an event's shares in [0, 1] and sd_all =
  sqrt(p (1 - p) n / (n - 1)); the binding shares in [0, 1], summing to 1 (or all 0); binding
  mean_all = sum over the report months of attribution.csv's share / sum of (1 - none) (the
  same short site-months, when attribution.csv is there); p95 <= threshold_gw_months <= cvar95
  of the entity's shortfall_gw_months row; tail_paths from k to the n p_positive paths short
  at all when the threshold is > 0, and exactly those paths when it is 0.

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
  diff_p50/p95 the differences of the percentiles. The base's drivers.csv (a stress run
  writes one for its base) is compared as a plain run's when both folders hold it.

Sensitivity folders (both A and B hold tornado.csv, as `caprisk sensitivity` and
`reference_numpy.py --sensitivity` write them; docs/ANALYSIS.md "Sensitivity"):
  - A and B must have the same rows, keyed by (input, site, month, metric), and the same
    blocks in the same order (the order of rows within a block is the rank, which sampling
    may change between close swings, so it is not compared); paths equal; low and high
    equal to 1e-9 relative; where both folders' summary.json list the inputs, the same
    inputs in the same order.
  - change_at_low, change_at_high, the signed swing (the swing with the sign of
    change_at_high - change_at_low) and the swing: |a - b| <= K * sqrt(se_a^2 + se_b^2), each
    se = its 95% interval's half-width / 1.959964 (the swing's: swing_ci_high - swing, which
    is the half-width whichever way the interval went through |.|). Both SEs 0: skipped when
    the values agree to 1e-9, else a failure; one SE 0: floored at the other's, as above.
  - the intervals' widths: over the rows where both sides' SEs are > 0, the median of
    max(se_a / se_b, se_b / se_a) must be <= --diff-sd-median (1.25), as diff_sd for stresses:
    both sides must couple the pinned variants to the base alike.
  - base_mean (once per block): tornado.csv has no sd of the base, so its SE is sd / sqrt(n)
    from a plain run's percentiles.csv of the same config and paths (the base runs on the
    same paths, seed and streams as that run): --base-a DIR / --base-b DIR, else a
    percentiles.csv beside tornado.csv (the reference writes its base's tables there). A side
    without one borrows the other's sd; with neither, base_mean is not tested (said so).
    Where that table has the same path count, base_mean must equal its mean (to 1e-9).
  - Each tornado.csv is also checked against itself: every block lists the same inputs with
    one base_mean, the same paths, low and high; ranks 1..k in row order, swings not
    increasing, equal swings in the inputs' order (summary.json's, where it lists them);
    the entity's blocks `horizon` (shortfall_gw_months) first, then the report months
    (shortfall_gw) in order; mean_at_low/high = base_mean + change_at_low/high; the change
    intervals centred on the change; the swing interval a mean's interval taken through |.|;
    swing = |change_at_high - change_at_low| up to the 1e-9 rule (4e-9); events low 0, high 1;
    summary.json's top_gw_months = the first ten rows of ALL's horizon block.

In every mode the largest z of each z test is printed at the end ("largest z per test").
Prints the worst cells (largest z or interval gap) and "N cells, M disagreements" (cells:
percentile, attribution, target cells and drivers.csv rows; the tests are counted apart);
exits 1 when any cell disagrees (or, for stress and sensitivity folders, when the tables'
rows differ).

Usage: compare_reference.py A B [--k 4] [--ci-scale 1] [--percentiles 50,95] [--top 25]
       [--base-a DIR] [--base-b DIR] [--drivers-se DIR]
(A and B: output folders, or for plain runs also percentiles.csv files.) Standard library only.
"""
import argparse
import csv
import json
import math
import os
import sys

Z975 = 1.959964
CVAR_COLS = ("cvar95", "cvar95_ci_low", "cvar95_ci_high")
EVENT_SUFFIXES = (".close_probability", ".power.failure_probability")
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
        self.cvar_skipped = 0

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
        # CVaR95: a z test with se = its 95% interval's width / 3.92 on each side
        if all(ra.get(c) and rb.get(c) for c in CVAR_COLS):
            va, vb = float(ra["cvar95"]), float(rb["cvar95"])
            la, ha = float(ra["cvar95_ci_low"]), float(ra["cvar95_ci_high"])
            lb, hb = float(rb["cvar95_ci_low"]), float(rb["cvar95_ci_high"])
            if ha - la == 0 and hb - lb == 0 and abs(va - vb) <= 1e-9:
                res.cvar_skipped += 1  # flat tails (a point mass) of the same value
            else:
                z = z_test(va, vb, (ha - la) / 3.92, (hb - lb) / 3.92)
                res.add(z / K, z > K, table, key, "cvar95",
                        f"{va:.6g} [{la:.6g}, {ha:.6g}] vs {vb:.6g} [{lb:.6g}, {hb:.6g}] z {z:.2f}")
    for label, rows in (("A", A), ("B", B)):
        cvar_consistency(label, rows, res, table)
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
    # tail drivers
    n_drv = 0
    fa, fb = os.path.join(da, "drivers.csv"), os.path.join(db, "drivers.csv")
    if os.path.isfile(fa) and os.path.isfile(fb):
        n_drv = compare_drivers(da, db, A, B, args, res, table)
    elif os.path.isfile(fa) or os.path.isfile(fb):
        print(f"{table or '.'}: drivers.csv only in {'A' if os.path.isfile(fa) else 'B'}: not compared")
    return len(keys), n_attr, n_tg, n_drv


def cvar_consistency(label, rows, res, table=""):
    """A percentiles.csv's CVaR95 against itself: 0 <= cvar95_ci_low <= cvar95 <=
    cvar95_ci_high, and cvar95 >= p95 where p95 is reported (MODEL.md: CVaR is the tail's
    smallest value plus the mean excess over it, never below P95)."""
    for key, r in rows.items():
        if not all(r.get(c) for c in CVAR_COLS):
            continue
        v, lo, hi = (float(r[c]) for c in CVAR_COLS)
        slack = 1e-9 * max(1.0, abs(v))
        problems = []
        if not (0.0 <= lo <= v + slack and v <= hi + slack):
            problems.append(f"cvar95 {v!r} not in its interval [{lo!r}, {hi!r}] (or a low end below 0)")
        if r.get("p95") and float(r["p95"]) > v + slack:
            problems.append(f"cvar95 {v!r} below p95 {r['p95']}")
        for msg in problems:
            res.add(math.inf, True, f"{table + ' ' if table else ''}{label} consistency", key,
                    "cvar95 interval", msg)


# ----------------------------------------------------------------------------------------
# Tail drivers (drivers.csv; docs/ANALYSIS.md "Tail drivers", CONFIG.md "drivers.csv")
# ----------------------------------------------------------------------------------------

DRIVERS_KEY = ("site", "kind", "input")
BINDINGS = ("power", "supply", "funding")


def fnum(x):
    return float(x) if x not in (None, "") else None


def load_drivers(folder, pct):
    """A folder's drivers.csv (+ the reference's drivers_se.csv, when there): its rows, the
    entities in order, each entity's (tail_paths, threshold), the path count n (from the
    folder's percentiles.csv rows `pct`) and each entity's shortfall_gw_months cell."""
    rows = read_rows(os.path.join(folder, "drivers.csv"))
    p = os.path.join(folder, "drivers_se.csv")
    se = load(p, DRIVERS_KEY) if os.path.isfile(p) else None
    ents, by_ent = [], {}
    for r in rows:
        if r["site"] not in by_ent:
            ents.append(r["site"])
            by_ent[r["site"]] = []
        by_ent[r["site"]].append(r)
    n = int(float(next(iter(pct.values()))["paths"])) if pct else 0
    gwm = {k[0]: r for k, r in pct.items() if k[2] == "shortfall_gw_months"}
    tails = {e: (int(float(by_ent[e][0]["tail_paths"])), float(by_ent[e][0]["threshold_gw_months"]))
             for e in ents}
    return dict(rows=rows, keyed={tuple(r[k] for k in DRIVERS_KEY): r for r in rows}, ents=ents,
                by_ent=by_ent, tails=tails, n=n, gwm=gwm, se=se, folder=folder)


def drivers_consistency(label, D, pct_order, res, table=""):
    """A drivers.csv against itself and its folder's other tables (each problem a failure):
    every percentiles.csv entity (its shortfall_gw_months row) has a block, in the tables'
    order; a block is its `input` rows, |shift_sd| not increasing, then the binding rows power,
    supply, funding; one tail_paths and threshold per block; mean_tail (and shift_sd) empty
    exactly when the tail is; shift_sd = (mean_tail - mean_all) / sd_all; an input's mean_all
    and sd_all the same in every block (the same draws over every path); an event's shares in
    [0, 1] with sd_all = sqrt(p (1 - p) n / (n - 1)); the binding shares in [0, 1] summing to 1
    (or all 0); the binding mean_all = sum over the report months of attribution.csv's share
    over sum of (1 - none) (the same short site-months); p95 <= threshold <= cvar95 of the
    entity's shortfall_gw_months row; a tail of >= ceil(0.05 n) paths when the threshold is
    > 0, else exactly the paths with GW-months > 0 (n p_positive)."""
    tname = f"{table + ' ' if table else ''}{label} consistency"
    n_bad = 0

    def bad(key, msg):
        nonlocal n_bad
        n_bad += 1
        res.add(math.inf, True, tname, tuple(key), "drivers", msg)

    n = D["n"]
    k = (n + 19) // 20
    if pct_order is not None and D["ents"] != pct_order:
        bad(("(entities)", "", ""), f"drivers.csv's entities {D['ents'][:4]}... are not percentiles.csv's "
            f"{pct_order[:4]}... in that order")
    seen = []
    for r in D["rows"]:
        if not seen or seen[-1] != r["site"]:
            if r["site"] in seen:
                bad((r["site"], "", ""), "the entity's rows are not together")
            seen.append(r["site"])
    attr = None
    ap = os.path.join(D["folder"], "attribution.csv")
    if os.path.isfile(ap):
        attr = {}
        for r in read_rows(ap):
            attr.setdefault(r["site"], []).append(r)
    inputs_seen = {}
    for e in D["ents"]:
        rs = D["by_ent"][e]
        T, thr = D["tails"][e]
        kinds = [r["kind"] for r in rs]
        n_in = kinds.count("input")
        if kinds != ["input"] * n_in + ["binding"] * 3 or [r["input"] for r in rs[n_in:]] != list(BINDINGS):
            bad((e, "", ""), "the block is not its input rows then binding rows power, supply, funding")
        for r in rs:
            key = (e, r["kind"], r["input"])
            if int(float(r["tail_paths"])) != T or float(r["threshold_gw_months"]) != thr:
                bad(key, "tail_paths or threshold_gw_months differs within the block")
            if (r["mean_tail"] == "") != (T == 0):
                bad(key, f"mean_tail '{r['mean_tail']}' with {T} tail paths (empty exactly when the tail is)")
        prev = None
        for r in rs[:n_in]:
            key = (e, "input", r["input"])
            ma, sd, mt, sh = (fnum(r[c]) for c in ("mean_all", "sd_all", "mean_tail", "shift_sd"))
            if ma is None or sd is None or sd < 0:
                bad(key, "mean_all or sd_all missing or sd_all < 0")
                continue
            m0, s0 = inputs_seen.setdefault(r["input"], (ma, sd))
            if not (close(ma, m0) and close(sd, s0)):
                bad(key, f"mean_all/sd_all {ma!r}/{sd!r} differ from another block's {m0!r}/{s0!r}")
            if r["input"].endswith(EVENT_SUFFIXES):
                want = math.sqrt(max(ma * (1 - ma), 0.0) * n / (n - 1)) if n > 1 else 0.0
                if not 0.0 <= ma <= 1.0 or not close(sd, want) or (mt is not None and not 0.0 <= mt <= 1.0):
                    bad(key, f"an event with share {ma!r}, tail share {mt!r} and sd_all {sd!r} "
                        f"(want sqrt(p (1 - p) n / (n - 1)) = {want!r})")
            if T == 0:
                if r["shift_sd"] != "":
                    bad(key, "shift_sd with an empty tail")
                continue
            if sh is None or mt is None:
                bad(key, "shift_sd or mean_tail missing")
                continue
            want = (mt - ma) / sd if sd > 0 else 0.0
            if abs(sh - want) > 1e-9 * max(1.0, abs(sh)) + 1e-12 * (abs(mt) + abs(ma)) / max(sd, 1e-300):
                bad(key, f"shift_sd {sh!r} but (mean_tail - mean_all) / sd_all = {want!r}")
            if prev is not None and abs(sh) > prev + 1e-12:
                bad(key, f"|shift_sd| {abs(sh):.6g} after a smaller one {prev:.6g}")
            prev = abs(sh)
        for col in ("mean_all", "mean_tail"):
            vals = [fnum(r[col]) for r in rs[n_in:]]
            if None in vals:
                continue
            if any(not -1e-12 <= v <= 1 + 1e-12 for v in vals) or not (
                    abs(sum(vals) - 1) <= 1e-9 or all(v == 0 for v in vals)):
                bad((e, "binding", ""), f"binding {col} shares {vals} not in [0, 1] summing to 1")
        for r in rs[n_in:]:
            if r["sd_all"] != "" or r["shift_sd"] != "":
                bad((e, "binding", r["input"]), "a binding row with sd_all or shift_sd")
        if attr is not None and e in attr:
            short = sum(1 - float(a["none"]) for a in attr[e])
            for r in rs[n_in:]:
                if r["input"] not in BINDINGS or fnum(r["mean_all"]) is None:
                    continue
                want = sum(float(a[r["input"]]) for a in attr[e]) / short if short > 0 else 0.0
                if abs(float(r["mean_all"]) - want) > 1e-9:
                    bad((e, "binding", r["input"]), f"mean_all {r['mean_all']} but attribution.csv's "
                        f"shares give {want!r}")
        g = D["gwm"].get(e)
        if g is None:
            bad((e, "", ""), "no shortfall_gw_months row in percentiles.csv")
            continue
        slack = 1e-9 * max(1.0, abs(thr))
        if g.get("p95") and float(g["p95"]) > thr + slack:
            bad((e, "", ""), f"threshold_gw_months {thr!r} below the GW-months' p95 {g['p95']}")
        if g.get("cvar95") and thr > float(g["cvar95"]) + slack:
            bad((e, "", ""), f"threshold_gw_months {thr!r} above the GW-months' cvar95 {g['cvar95']}")
        n_pos = float(g["p_positive"]) * n
        if thr > 0 and not k <= T <= n_pos + 0.5:
            bad((e, "", ""), f"{T} tail paths above a threshold of {thr!r}: want ceil(0.05 n) = {k} "
                f"to the {n_pos:.0f} paths short at all")
        if thr <= 0 and abs(T - n_pos) > 0.5:
            bad((e, "", ""), f"{T} tail paths at a threshold of 0: want the {n_pos:.0f} paths short at all")
    return n_bad


def side_se(sources, key, col, count, what):
    """A side's value `col` of drivers_se.csv for a drivers.csv row: from the first of
    `sources` (this side, the other side, --drivers-se) that has it. what: "sd" (an sd, not
    scaled), "all" or "tail" (an SE over that source's paths or tail paths, scaled to this
    side's `count` by sqrt(count_source / count)). None when no source has it."""
    for X in sources:
        r = X["se"].get(key) if X is not None and X["se"] is not None else None
        if r is None or fnum(r.get(col)) is None:
            continue
        if what == "sd":
            return float(r[col])
        c = X["n"] if what == "all" else int(float(r["tail_paths"]))
        return float(r[col]) * (math.sqrt(c / count) if count > 0 else 0.0)
    return None


def load_se_only(folder):
    """--drivers-se DIR: DIR's drivers_se.csv (and its path count, from DIR/percentiles.csv
    when there), for the SEs when neither A nor B has one."""
    p = os.path.join(folder, "drivers_se.csv")
    if not os.path.isfile(p):
        raise SystemExit(f"compare_reference: --drivers-se {folder}: no drivers_se.csv there")
    pct = resolve(folder, "percentiles.csv")
    n = int(float(read_rows(pct)[0]["paths"])) if os.path.isfile(pct) else None
    return dict(se=load(p, DRIVERS_KEY), n=n)


def compare_drivers(da, db, pa, pb, args, res, table=""):
    """drivers.csv of A and B (see the docstring): the tail sizes per entity, every input's
    mean_all once, every (site, kind, input) row's mean_tail and the binding rows' mean_all.
    pa, pb: the folders' percentiles.csv rows. Returns the number of rows in both."""
    A, B = load_drivers(da, pa), load_drivers(db, pb)
    X = load_se_only(args.drivers_se) if args.drivers_se and A["se"] is None and B["se"] is None else None
    if X is not None and X["n"] is None:
        X["n"] = A["n"]
    for label, D, pct in (("A", A, pa), ("B", B, pb)):
        order = []
        for key in pct:
            if key[2] == "shortfall_gw_months" and key[0] not in order:
                order.append(key[0])
        drivers_consistency(label, D, order, res, table)
    tname = f"{table}/drivers" if table else "drivers"
    K = args.k
    na, nb = A["n"], B["n"]
    if A["ents"] != B["ents"]:
        res.add(math.inf, True, tname, ("(entities)", "", ""), "entities",
                f"{A['ents'][:4]}... vs {B['ents'][:4]}...")
    # Tail sizes, once per entity in both.
    for e in A["ents"]:
        if e not in B["tails"]:
            continue
        ta, tb = A["tails"][e][0], B["tails"][e][0]
        ka, kb = (na + 19) // 20, (nb + 19) // 20
        if ta > ka + 5 * math.sqrt(na) or tb > kb + 5 * math.sqrt(nb):
            # ties at the tail's start: each side's tail holds its whole point mass; only
            # require both tails to hold about ceil(0.05 n) paths at least.
            z = max((ka - ta) / math.sqrt(ka), (kb - tb) / math.sqrt(kb), 0.0)
            res.add(z / K, z > K, tname, (e, "tail", ""), "tail_paths",
                    f"{ta} vs {tb} (ties: both must be >= ceil(0.05 n) - {K:g} sqrt(ceil(0.05 n)) = "
                    f"{ka - K * math.sqrt(ka):.0f}; z {z:.2f})")
        else:
            var = ta * max(1 - ta / na, 0.0) + tb * max(1 - tb / nb, 0.0)
            z = z_test(ta, tb, math.sqrt(var), 0.0, abs_slack=0.5)
            res.add(z / K, z > K, tname, (e, "tail", ""), "tail_paths",
                    f"{ta} vs {tb} (diff {tb - ta:+d}, z {z:.2f})")
    only = [k for k in A["keyed"].keys() ^ B["keyed"].keys()
            if A["tails"].get(k[0], (1,))[0] > 0 and B["tails"].get(k[0], (1,))[0] > 0]
    for key in sorted(only):
        res.add(math.inf, True, tname, key, "rows", f"row only in {'A' if key in A['keyed'] else 'B'}")
    n_rows = 0
    tested_all = set()
    for key, x in A["keyed"].items():
        y = B["keyed"].get(key)
        if y is None:
            continue
        n_rows += 1
        e, kind, name = key
        Ta, Tb = A["tails"][e][0], B["tails"][e][0]
        if kind == "input":
            ma, mb = float(x["mean_all"]), float(y["mean_all"])
            sa, sb = float(x["sd_all"]), float(y["sd_all"])
            if name not in tested_all:  # the same draws in every block: test once
                tested_all.add(name)
                z = z_test(ma, mb, sa / math.sqrt(na), sb / math.sqrt(nb))
                res.add(z / K, z > K, tname, ("(every path)", kind, name), "mean_all",
                        f"{ma:.6g} (sd {sa:.3g}) vs {mb:.6g} (sd {sb:.3g}) z {z:.2f}")
            if Ta == 0 or Tb == 0 or x["mean_tail"] == "" or y["mean_tail"] == "":
                continue
            qa, qb = float(x["mean_tail"]), float(y["mean_tail"])
            # The tail mean's SE: the larger of sd_all and the tail's own sd, over
            # sqrt(tail_paths); an event's tail sd is sqrt(p (1 - p)) of its tail share, a
            # draw's comes from a drivers_se.csv (either side's: the same distribution).
            sds = []
            for D, O, v, sd in ((A, B, qa, sa), (B, A, qb, sb)):
                t = side_se((D, O, X), key, "sd_tail", 1, "sd")
                if name.endswith(EVENT_SUFFIXES):
                    t = max(t or 0.0, math.sqrt(max(v * (1 - v), 0.0)))
                sds.append(max(sd, t or 0.0))
            z = z_test(qa, qb, sds[0] / math.sqrt(Ta), sds[1] / math.sqrt(Tb))
            res.add(z / K, z > K, tname, key, "mean_tail",
                    f"{qa:.6g} (sd {sds[0]:.3g}, {Ta} paths) vs {qb:.6g} (sd {sds[1]:.3g}, {Tb} paths) z {z:.2f}")
            continue
        # binding shares: paths are the clusters (a path's short site-months are not
        # independent), so their SEs come from a drivers_se.csv (either side's, scaled to the
        # side's count), else binomial over tail_paths (an upper bound at 5% of the paths).
        for col, ca, cb in (("mean_all", na, nb), ("mean_tail", Ta, Tb)):
            if x[col] == "" or y[col] == "":
                continue
            qa, qb = float(x[col]), float(y[col])
            ses = []
            for D, O, v, c, T in ((A, B, qa, ca, Ta), (B, A, qb, cb, Tb)):
                se = side_se((D, O, X), key, "se_" + col, c, "all" if col == "mean_all" else "tail")
                floor = binom_se(v, T if T > 0 else c)
                ses.append(floor if se is None else max(se, floor) if col == "mean_tail" else se)
            z = z_test(qa, qb, ses[0], ses[1])
            res.add(z / K, z > K, tname, key, col,
                    f"{qa:.6g} (se {ses[0]:.3g}) vs {qb:.6g} (se {ses[1]:.3g}) z {z:.2f}")
    # sd_all: a sample sd of a heavy-tailed draw (the lognormal delays) has no SE that these
    # files give, so inputs are not tested one by one; as for stresses' diff_sd, the median
    # of max(sd_a / sd_b, sd_b / sd_a) over the inputs must be <= --diff-sd-median, and the
    # largest ratio is printed (a draw summarised otherwise on one side, e.g. a lead time
    # after its rounding, shows there).
    ratios = []
    for name in tested_all:
        x = next(r for r in A["rows"] if r["kind"] == "input" and r["input"] == name)
        y = next(r for r in B["rows"] if r["kind"] == "input" and r["input"] == name)
        sa, sb = float(x["sd_all"]), float(y["sd_all"])
        if sa > 0 and sb > 0:
            ratios.append((max(sa / sb, sb / sa), name, sa, sb))
    if ratios:
        ratios.sort()
        median, worst = ratios[len(ratios) // 2][0], ratios[-1]
        bad = median > args.diff_sd_median
        res.add(math.inf if bad else median, bad, tname, ("(every path)", "input", "(inputs)"),
                "sd_all median", f"median ratio {median:.4f} over {len(ratios)} inputs (limit "
                f"{args.diff_sd_median}); largest {worst[0]:.4f} ({worst[1]}: {worst[2]:.6g} vs {worst[3]:.6g})")
        print(f"{table + ': ' if table else ''}drivers.csv sd_all A/B over {len(ratios)} inputs: median ratio "
              f"{median:.4f}{' (too large)' if bad else ''}, largest {worst[0]:.4f} ({worst[1]}: "
              f"{worst[2]:.6g} vs {worst[3]:.6g})")
    res.cells += n_rows
    return n_rows


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


# ----------------------------------------------------------------------------------------
# Sensitivity folders (tornado.csv; docs/ANALYSIS.md "Sensitivity")
# ----------------------------------------------------------------------------------------

TORNADO_KEY = ("input", "site", "month", "metric")
TORNADO_BLOCK = ("site", "month", "metric")


def close_rel(a, b, rel=1e-9, floor=1e-12):
    """|a - b| <= rel * max(|a|, |b|), or both within `floor` of each other (values that are 0
    in exact arithmetic)."""
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), floor)


def se_of(lo, hi):
    """A 95% interval's standard error: its half-width / 1.959964."""
    return max(float(hi) - float(lo), 0.0) / 2.0 / Z975


def signed_swing(r):
    """The signed mean of d = high - low: tornado.csv keeps its size (`swing`); its sign is
    that of change_at_high - change_at_low (equal to it up to the 1e-9 rule)."""
    s = float(r["swing"])
    return -s if float(r["change_at_high"]) < float(r["change_at_low"]) else s


def swing_se(r):
    """The swing's interval is m -+ h through |.|: [|m| - h, |m| + h] or [0, |m| + h], so
    h = swing_ci_high - swing in every case."""
    return max(float(r["swing_ci_high"]) - float(r["swing"]), 0.0) / Z975


def load_summary_inputs(folder):
    """summary.json's sensitivity.inputs, or None."""
    p = os.path.join(folder, "summary.json")
    if not os.path.isfile(p):
        return None, None
    try:
        with open(p) as f:
            s = json.load(f).get("sensitivity") or {}
    except (OSError, ValueError):
        return None, None
    return s.get("inputs"), s.get("top_gw_months")


def base_cells(path):
    """A plain run's percentiles.csv (a folder or the file) as {(site, month, metric): row},
    with the GW-months rows also under (site, 'horizon', 'shortfall_gw_months')."""
    p = resolve(path, "percentiles.csv")
    if not os.path.isfile(p):
        return None
    out = {}
    for r in read_rows(p):
        out[(r["site"], r["month"], r["metric"])] = r
        if r["metric"] == "shortfall_gw_months":
            out[(r["site"], "horizon", "shortfall_gw_months")] = r
    return out


def tornado_consistency(label, folder, res):
    """A tornado.csv against itself (and its folder's summary.json, when it lists the inputs):
    every block lists the same inputs, ranked 1..k in row order by swing (largest first, ties
    in the inputs' order), with one base_mean and the same paths, low and high; mean_at_* =
    base_mean + change_at_*; the change intervals centred on the change; the swing interval
    that of a mean taken through |.|; swing = |change_at_high - change_at_low| up to the 1e-9
    rule; events low 0 and high 1. Returns (rows, blocks, problems)."""
    rows = read_rows(os.path.join(folder, "tornado.csv"))
    inputs, top = load_summary_inputs(folder)
    order = {x["input"]: i for i, x in enumerate(inputs)} if inputs else None
    n_bad = 0

    def bad(key, msg):
        nonlocal n_bad
        n_bad += 1
        res.add(math.inf, True, f"{label} consistency", key, "consistency", msg)

    blocks, block_of = [], {}
    for r in rows:
        b = tuple(r[k] for k in TORNADO_BLOCK)
        if b not in block_of:
            block_of[b] = []
            blocks.append(b)
        elif blocks[-1] != b:
            bad(b + ("",), "the block's rows are not together")
        block_of[b].append(r)
    first_inputs = None
    lowhigh = {}
    paths = {r["paths"] for r in rows}
    if len(paths) > 1:
        bad(("(all)", "", "", ""), f"paths differ between rows: {sorted(paths)}")
    # Block order within an entity: horizon (GW-months) first, then increasing months.
    for i, b in enumerate(blocks):
        site, month, metric = b
        want = "shortfall_gw_months" if month == "horizon" else "shortfall_gw"
        if metric != want:
            bad(b + ("",), f"metric {metric} in a {month} block (want {want})")
        if i > 0 and blocks[i - 1][0] == site:
            pm = blocks[i - 1][1]
            if month == "horizon" or not (pm == "horizon" or pm < month):
                bad(b + ("",), f"block after {pm}: want horizon first, then the report months in order")
        elif month != "horizon":
            bad(b + ("",), "an entity's first block is not `horizon`")
    for b in blocks:
        rs = block_of[b]
        names = [r["input"] for r in rs]
        if first_inputs is None:
            first_inputs = sorted(names)
            if order is not None and sorted(order) != first_inputs:
                bad(b + ("",), "the inputs differ from summary.json's")
        elif sorted(names) != first_inputs:
            bad(b + ("",), "the block lists other inputs than the first block")
        if len(set(names)) != len(names):
            bad(b + ("",), "an input appears twice in the block")
        if len({r["base_mean"] for r in rs}) > 1:
            bad(b + ("",), "base_mean differs between the block's rows")
        prev = None
        for k, r in enumerate(rs, start=1):
            key = b + (r["input"],)
            if int(r["rank"]) != k:
                bad(key, f"rank {r['rank']} at row {k} of the block")
            sw = float(r["swing"])
            if prev is not None:
                psw, pin = prev
                if sw > psw:
                    bad(key, f"swing {sw} after a smaller one {psw}")
                elif sw == psw and order is not None and order.get(r["input"], -1) < order.get(pin, -1):
                    bad(key, f"equal swings {sw}: not in the inputs' order (after {pin})")
            prev = (sw, r["input"])
            lo, hi = float(r["low"]), float(r["high"])
            if r["input"] in lowhigh:
                if lowhigh[r["input"]] != (r["low"], r["high"]):
                    bad(key, f"low/high {r['low']}/{r['high']} differ from another block's")
            lowhigh[r["input"]] = (r["low"], r["high"])
            if r["input"].endswith(EVENT_SUFFIXES) and (lo, hi) != (0.0, 1.0):
                bad(key, f"an event with low {lo}, high {hi} (want 0 and 1)")
            if not lo < hi and not r["input"].endswith(EVENT_SUFFIXES):
                bad(key, f"low {lo} not below high {hi}")
            if order is not None:
                x = inputs[order[r["input"]]] if r["input"] in order else None
                if x is None or not (close_rel(float(x["low"]), lo) and close_rel(float(x["high"]), hi)):
                    bad(key, f"low/high {lo}/{hi} but summary.json {x and (x['low'], x['high'])}")
            bm = float(r["base_mean"])
            scale = max(1.0, abs(bm))
            for side in ("low", "high"):
                ch = float(r[f"change_at_{side}"])
                m_at = float(r[f"mean_at_{side}"])
                if abs(m_at - (bm + ch)) > 1e-9 * max(scale, abs(m_at)):
                    bad(key, f"mean_at_{side} {m_at} but base_mean + change_at_{side} = {bm + ch}")
                cl, chh = float(r[f"change_at_{side}_ci_low"]), float(r[f"change_at_{side}_ci_high"])
                if not (cl <= ch <= chh) or abs((cl + chh) / 2 - ch) > 1e-9 * max(1.0, abs(ch), chh - cl):
                    bad(key, f"change_at_{side} {ch}: interval [{cl}, {chh}] not centred on it")
            slo, shi = float(r["swing_ci_low"]), float(r["swing_ci_high"])
            ok = sw >= 0 and shi >= sw - 1e-12 and slo >= 0
            if ok and slo > 0:  # [a, b] or [-b, -a]: centred on the swing
                ok = slo <= sw and abs((slo + shi) / 2 - sw) <= 1e-9 * max(1.0, shi)
            elif ok:            # [0, max(-a, b)] = [0, |m| + h] with h >= |m|
                ok = shi - sw >= sw - 1e-9 * max(1.0, shi)
            if not ok:
                bad(key, f"swing {sw} with interval [{slo}, {shi}]: not a mean's interval through |.|")
            dch = abs(float(r["change_at_high"]) - float(r["change_at_low"]))
            if abs(sw - dch) > 4e-9 + 1e-9 * max(1.0, sw):
                bad(key, f"swing {sw} but |change_at_high - change_at_low| = {dch}")
    # summary.json's top ten: the first rows of ALL's GW-months block.
    first = block_of.get(("ALL", "horizon", "shortfall_gw_months"), [])
    if top is not None:
        for k, t in enumerate(top):
            r = first[k] if k < len(first) else None
            if r is None or t.get("input") != r["input"] or not all(
                    close_rel(float(t[c]), float(r[c])) for c in
                    ("mean_at_low", "mean_at_high", "swing", "swing_ci_low", "swing_ci_high")):
                bad(("ALL", "horizon", "shortfall_gw_months", t.get("input", "")),
                    f"summary.json top_gw_months[{k}] is not tornado.csv's rank {k + 1}")
        if len(top) != min(10, len(first)):
            bad(("ALL", "horizon", "shortfall_gw_months", ""),
                f"summary.json lists {len(top)} top swings, want {min(10, len(first))}")
    return rows, blocks, n_bad


def compare_sensitivity(a, b, args, res):
    ra_rows, blocks_a, bad_a = tornado_consistency("A", a, res)
    rb_rows, blocks_b, bad_b = tornado_consistency("B", b, res)
    if blocks_a != blocks_b:
        first = next((i for i, (x, y) in enumerate(zip(blocks_a, blocks_b)) if x != y),
                     min(len(blocks_a), len(blocks_b)))
        res.structure_errors.append(
            f"tornado.csv: blocks differ ({len(blocks_a)} vs {len(blocks_b)}; first difference at "
            f"block {first + 1}: {blocks_a[first] if first < len(blocks_a) else None} vs "
            f"{blocks_b[first] if first < len(blocks_b) else None})")
    A = {tuple(r[k] for k in TORNADO_KEY): r for r in ra_rows}
    B = {tuple(r[k] for k in TORNADO_KEY): r for r in rb_rows}
    only = sorted(A.keys() ^ B.keys())
    if only:
        res.structure_errors.append(f"tornado.csv: {len(only)} rows in only one file, e.g. {only[:3]}")
    # The input lists (summary.json): the same inputs in the same order, low/high alike.
    ia, _ = load_summary_inputs(a)
    ib, _ = load_summary_inputs(b)
    if ia is not None and ib is not None:
        na, nb = [x["input"] for x in ia], [x["input"] for x in ib]
        if na != nb:
            res.structure_errors.append(f"summary.json: the inputs differ in set or order: {na} vs {nb}")
    K = args.k
    n_rows = n_skipped = 0
    for key in A:
        if key not in B:
            continue
        x, y = A[key], B[key]
        n_rows += 1
        tkey = key[1:] + (key[0],)
        if x["paths"] != y["paths"]:
            res.add(math.inf, True, "tornado", tkey, "paths", f"{x['paths']} vs {y['paths']}")
        for c in ("low", "high"):
            va, vb = float(x[c]), float(y[c])
            bad = not close_rel(va, vb)
            res.add(math.inf if bad else 0.0, bad, "tornado", tkey, c, f"{va!r} vs {vb!r}")
        tests = [(f"change_at_{s}", float(x[f"change_at_{s}"]), float(y[f"change_at_{s}"]),
                  se_of(x[f"change_at_{s}_ci_low"], x[f"change_at_{s}_ci_high"]),
                  se_of(y[f"change_at_{s}_ci_low"], y[f"change_at_{s}_ci_high"]))
                 for s in ("low", "high")]
        tests.append(("swing (signed)", signed_swing(x), signed_swing(y), swing_se(x), swing_se(y)))
        tests.append(("swing", float(x["swing"]), float(y["swing"]), swing_se(x), swing_se(y)))
        for test, va, vb, sa, sb in tests:
            if sa == 0 and sb == 0 and abs(va - vb) <= 1e-9:
                n_skipped += 1  # e.g. an input that changes no path's value of this cell
                continue
            z = z_test_floored(va, vb, sa, sb)
            res.add(z / K, z > K, "tornado", tkey, test,
                    f"{va:.6g} (se {sa:.3g}) vs {vb:.6g} (se {sb:.3g}) z {z:.2f}")
    res.cells += n_rows
    # The SEs themselves: like diff_sd for stresses, single rows are not tested (a zero-
    # inflated d has no simple SE for its sd), but over the rows where both sides' SEs are
    # > 0 the median of max(se_a / se_b, se_b / se_a) must be <= --diff-sd-median: both
    # sides must couple the pinned variants to the base alike (common random numbers). A
    # side that drew a pinned variant afresh would have much wider intervals around the same
    # means, which the tests of the means alone would not notice.
    ratios = []
    for key in A:
        if key in B:
            for lo, hi in (("change_at_low_ci_low", "change_at_low_ci_high"),
                           ("change_at_high_ci_low", "change_at_high_ci_high")):
                sa, sb = se_of(A[key][lo], A[key][hi]), se_of(B[key][lo], B[key][hi])
                if sa > 0 and sb > 0:
                    ratios.append((max(sa / sb, sb / sa), key, lo[:-7]))
            sa, sb = swing_se(A[key]), swing_se(B[key])
            if sa > 0 and sb > 0:
                ratios.append((max(sa / sb, sb / sa), key, "swing"))
    if ratios:
        ratios.sort()
        median, worst = ratios[len(ratios) // 2][0], ratios[-1]
        bad = median > args.diff_sd_median
        res.add(math.inf if bad else median, bad, "tornado", ("(rows)", "", "", "(SE ratio)"),
                "SE median", f"median ratio {median:.3f} over {len(ratios)} intervals (limit "
                f"{args.diff_sd_median})")
        print(f"interval half-widths A/B over {len(ratios)} intervals with both > 0: median ratio "
              f"{median:.3f}{' (too large)' if bad else ''}, largest {worst[0]:.3f} "
              f"({worst[2]} of {', '.join(worst[1])})")

    # base_mean: one per block. tornado.csv has no sd of the base, so its SE comes from a
    # plain run's percentiles.csv of the same config and paths (the base is that run: the
    # same paths, seed and streams): --base-a / --base-b, else a percentiles.csv beside
    # tornado.csv (reference_numpy.py --sensitivity writes its base's). A side without one
    # borrows the other side's sd (under the hypothesis that both sample the same
    # distribution, the best estimate of it); with neither, base_mean is not tested.
    # Where a side's table has the same path count, its base_mean must equal the table's
    # mean (to 1e-9 relative).
    ta = base_cells(args.base_a or a)
    tb = base_cells(args.base_b or b)
    n_base = 0
    if ta is None and tb is None:
        print("base_mean: not compared (no percentiles.csv of a plain run on either side, so no "
              "sd of the base; pass --base-a/--base-b)")
    for blk in blocks_a:
        if blk not in blocks_b:
            continue
        x = next(r for r in ra_rows if tuple(r[k] for k in TORNADO_BLOCK) == blk)
        y = next(r for r in rb_rows if tuple(r[k] for k in TORNADO_BLOCK) == blk)
        ma, mb = float(x["base_mean"]), float(y["base_mean"])
        na, nb = float(x["paths"]), float(y["paths"])
        sds = []
        for label, t, m, n in (("A", ta, ma, na), ("B", tb, mb, nb)):
            c = t.get(blk) if t is not None else None
            if t is not None and c is None:
                res.add(math.inf, True, f"{label} consistency", blk + ("(base)",), "base table",
                        "no such cell in the base's percentiles.csv")
            if c is not None and float(c["paths"]) == n and not close_rel(m, float(c["mean"])):
                res.add(math.inf, True, f"{label} consistency", blk + ("(base)",), "base_mean",
                        f"base_mean {m!r} but the plain run's mean over the same paths is {c['mean']}")
            sds.append(float(c["sd"]) if c is not None else None)
        if sds == [None, None]:
            continue
        sda = sds[0] if sds[0] is not None else sds[1]
        sdb = sds[1] if sds[1] is not None else sds[0]
        z = z_test_floored(ma, mb, sda / math.sqrt(na), sdb / math.sqrt(nb))
        n_base += 1
        res.add(z / K, z > K, "tornado", blk + ("(base)",), "base_mean",
                f"{ma:.6g} (sd {sda:.3g}) vs {mb:.6g} (sd {sdb:.3g}) z {z:.2f}")
    res.cells += n_base
    return n_rows, n_skipped, n_base, bad_a + bad_b


def report_sensitivity(res, args):
    bad_cells = {(r[2], r[3]) for r in res.items if r[1]}
    n_bad_tests = sum(1 for r in res.items if r[1])
    items = sorted(res.items, key=lambda r: (not r[1], -r[0]))
    print(f"{'':2} {'input':46} {'site':14} {'month':8} {'test':16} detail (A vs B)")
    for sev, bad, table, key, test, detail in items[:args.top]:
        site, month, metric, inp = key[:4]
        label = inp if table == "tornado" else f"{table}: {inp}"
        print(f"{'!!' if bad else '  '} {label[:46]:46} {site[:14]:14} {month:8} {test:16} {detail}")
    for e in res.structure_errors:
        print(f"!! {e}")
    # The largest z per test (the agreement at a glance).
    worst = {}
    for sev, bad, table, key, test, detail in res.items:
        if (table == "tornado" and test not in ("low", "high", "paths", "SE median")
                and math.isfinite(sev)
                and sev > worst.get(test, (-1, None))[0]):
            worst[test] = (sev, key)
    if worst:
        print("largest z per test: " + "; ".join(
            f"{t} {v[0] * args.k:.2f} ({v[1][3]}, {v[1][0]} {v[1][1]})" for t, v in sorted(worst.items())))
    return bad_cells, n_bad_tests


def z_test_label(table, key, test, args):
    """The name under which a z test's largest z is reported, or None for a test that is not
    a z test (the percentiles' interval overlap, targets, consistency, ratios)."""
    if "consistency" in table or test in ("target_gw", "diff_sd median", "sd_all median", "rows",
                                          "entities"):
        return None
    if test[:1] == "p" and test[1:2].isdigit() and args.pct_test != "z":
        return None
    if table.endswith("drivers"):
        return f"drivers {test}" if test == "tail_paths" else f"drivers {key[1]} {test}"
    if key[-1] == "attribution":
        return f"attribution {test}"
    return test


def report_largest_z(res, args):
    """Prints the largest z of every z test (the agreement at a glance)."""
    worst = {}
    for sev, bad, table, key, test, detail in res.items:
        label = z_test_label(table, key, test, args)
        if label is not None and math.isfinite(sev) and sev > worst.get(label, (-1, None))[0]:
            worst[label] = (sev, key)
    if worst:
        print("largest z per test: " + "; ".join(
            f"{t} {v[0] * args.k:.2f} ({', '.join(str(x) for x in v[1][:3] if x)})"
            for t, v in sorted(worst.items())))


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
        if table.endswith("drivers") or test == "drivers":
            # drivers.csv rows: (site, kind, input); the input's path in full
            t = f"{table}: " if stress_mode or test == "drivers" else ""
            print(f"{'!!' if bad else '  '} {t}{site[:24]:24} {month:8} {metric:48} {test:10} {detail}")
        elif stress_mode:
            t = table if len(key) < 4 else f"{table}:{key[3]}"
            print(f"{'!!' if bad else '  '} {t[:28]:28} {site[:22]:22} {month:8} {metric[:20]:20} "
                  f"{test:16} {detail}")
        else:
            print(f"{'!!' if bad else '  '} {site[:24]:24} {month:8} {metric[:20]:20} {test:14} {detail}")
    for e in res.structure_errors:
        print(f"!! {e}")
    report_largest_z(res, args)
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
                    help="stress folders: most the median diff_sd ratio may be; sensitivity "
                         "folders: the same for the intervals' half-widths; drivers.csv: the "
                         "same for sd_all (see above)")
    ap.add_argument("--base-a", metavar="DIR",
                    help="sensitivity folders: a plain run of A's config and paths (its "
                         "percentiles.csv gives the sd of A's base_mean); default: A itself")
    ap.add_argument("--base-b", metavar="DIR", help="the same for B")
    ap.add_argument("--drivers-se", metavar="DIR",
                    help="plain runs: a folder with a drivers_se.csv of the same config (e.g. "
                         "reference_numpy.py's), for drivers.csv's SEs when neither A nor B "
                         "has one (e.g. engine against engine)")
    ap.add_argument("--top", type=int, default=25, help="worst results printed")
    args = ap.parse_args(argv)

    res = Results()
    if all(os.path.isdir(p) and os.path.isfile(os.path.join(p, "tornado.csv"))
           for p in (args.a, args.b)):
        n_rows, n_skipped, n_base, n_incons = compare_sensitivity(args.a, args.b, args, res)
        bad_cells, n_bad_tests = report_sensitivity(res, args)
        bad = len({c for c in bad_cells if c[0] == "tornado"})
        print(f"  tornado.csv: {n_rows} rows ({n_skipped} tests unchanged in both, skipped), "
              f"{n_base} base means, {bad} disagreements; {n_incons} consistency problems")
        print(f"{res.cells} cells, {len(bad_cells)} disagreements ({len(res.items)} tests, "
              f"{n_bad_tests} failed; {len(res.structure_errors)} layout differences)")
        return 1 if bad_cells or res.structure_errors else 0
    stress_mode = all(os.path.isdir(p) and os.path.isfile(os.path.join(p, "stress_compare.csv"))
                      for p in (args.a, args.b))
    if stress_mode:
        counts, n_cmp, n_skipped, n_incons = compare_stress(args.a, args.b, args, res)
        bad_cells, n_bad_tests = report(res, args, True)
        for label, (npct, nattr, ntg, ndrv) in counts.items():
            bad = len({c for c in bad_cells if c[0] in (label, f"{label}/drivers")})
            print(f"  {label}: {npct} percentile cells, {nattr} attribution cells, "
                  f"{ntg} target cells{f', {ndrv} driver rows' if ndrv else ''}, {bad} disagreements")
        bad = len({c for c in bad_cells if c[0] == "stress_compare"})
        print(f"  stress_compare.csv: {n_cmp} cells ({n_skipped} unchanged in both, skipped), "
              f"{bad} disagreements; {n_incons} consistency problems")
        print(f"{res.cells} cells, {len(bad_cells)} disagreements ({len(res.items)} tests, "
              f"{n_bad_tests} failed; {len(res.structure_errors)} layout differences)")
        return 1 if bad_cells or res.structure_errors else 0

    pa, pb = resolve(args.a, "percentiles.csv"), resolve(args.b, "percentiles.csv")
    npct, nattr, ntg, ndrv = compare_tables(pa, pb, args, res)
    bad_cells, n_bad_tests = report(res, args, False)
    print(f"{res.cells} cells, {len(bad_cells)} disagreements "
          f"({len(res.items)} tests, {n_bad_tests} failed; {npct} percentile cells, "
          f"{nattr} attribution cells, {ntg} target cells, {ndrv} driver rows; "
          f"{res.cvar_skipped} cvar95 tests of equal flat tails skipped)")
    return 1 if bad_cells else 0


if __name__ == "__main__":
    sys.exit(main())
