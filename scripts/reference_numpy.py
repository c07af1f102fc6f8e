#!/usr/bin/python3
"""Independent NumPy reference implementation of the caprisk model (docs/MODEL.md).

Written from docs/MODEL.md, docs/CONFIG.md and docs/ANALYSIS.md only (not from the engine's
source), so that comparing its tables with the engine's (scripts/compare_reference.py)
catches bugs in either. It draws its own random numbers (numpy), so agreement is
statistical, not bitwise.

Usage:
    /usr/bin/python3 scripts/reference_numpy.py CONFIG [--paths N] [--seed S] --out DIR
        [--chunk N] [--set PATH=VALUE]... [--shift PATH=MONTHS]...
        [--stress [--only NAME]... | --sensitivity] [--xp {numpy,cupy}]

Without --stress: writes DIR/percentiles.csv, DIR/attribution.csv, DIR/targets.csv and
DIR/drivers.csv with the engine's layout (docs/CONFIG.md, "Outputs"; not summary.json nor
tail_paths.csv), site groups included, for the config after the overrides (docs/ANALYSIS.md,
"Overrides on the command line"): every --set in the order given, then every --shift.
percentiles.csv's cvar95 has its 95% interval (MODEL.md "Reports", "CVaR's interval": with t
the smallest of the k = ceil(0.05 n) largest values, m their mean excess over t and V their
variance, CVaR = t + m -+ 1.96 sqrt((V + (1 - k/n) m^2) / k), the low end clipped at 0).
drivers.csv (ANALYSIS.md "Tail drivers"): per site, ALL and group, the tail is the paths whose
GW-months are >= the smallest of the largest ceil(0.05 n) and > 0; one row per static
uncertain input (the list --sensitivity swings) with the draw's mean and sd over all paths,
its mean in the tail and the shift in sds, |shift_sd| largest first; then the binding
constraints' shares of the short site-months at the report months, over all paths and in the
tail. Beside it DIR/drivers_se.csv, the reference's own standard errors of those means (not
an engine file; compare_reference.py uses them, since drivers.csv has no sd of the tail and
a share of site-months has no binomial SE: see DRIVERS_SE_HEADER).

With --stress (like `caprisk stress`, docs/ANALYSIS.md "Named stresses"): runs the base
scenario and each stress of the config (all, or those named by --only, in the config's
order) over the same paths with common random numbers, and writes the base's three tables
and its drivers.csv (as the engine writes for the base of a stress run),
DIR/stress/NAME/{percentiles,attribution,targets}.csv and DIR/stress_compare.csv. A stressed
scenario is the file, then the command line's sets and the stress's sets, then the command
line's shifts and the stress's shifts.

With --sensitivity (like `caprisk sensitivity`, docs/ANALYSIS.md "Sensitivity"): for the
config after the overrides, lists the static uncertain inputs in ANALYSIS.md's order, each
with low = its P10 and high = its P90 (an event: 0 and 1), simulates the base and, for every
input, the base with that input pinned at low and at high, over the same paths and random
numbers (pinning replaces the value; the input's uniform is still drawn and the copula factors
are unchanged), and writes DIR/tornado.csv: per block (ALL then each group; `horizon` GW-months
then each report month's shortfall_gw), every input ranked by swing, with the paired changes
pinned - base and the swing |mean(high - low)|, each per-path d with |d| <= 1e-9 taken as 0,
and 95% intervals 1.959964 sd / sqrt(n) (sd with n - 1; the swing's taken through |.|). Also
writes DIR/summary.json with `paths`, `seed` and `sensitivity` only (the inputs with their
low and high, and the top ten swings of ALL's GW-months), and the base's three tables (the
plain run's, for the base's sd). Default paths: min(scenario.paths, 20000).

Common random numbers (MODEL.md "Randomness", Stresses bullet), done the reference's own way:
every component has its own numpy stream, keyed by (seed, chunk index, "role:name") with the
engine's roles (program:static, supplier:NAME, deal:NAME, site:NAME, factor:NAME,
copula:chi-square, supplier-events:NAME, deal-events:NAME). Each static input draws exactly
one uniform from its component's stream, in MODEL.md's order, whether it is fixed,
independent or tied to a factor, and uses it (or its factor's uniform) whatever distribution
the variant gives it; the factor normals, the chi-square draw (by its quantile function, so
that it stays comonotone if a variant changes df) and the monthly event uniforms (3 per
supplier-month, 1 per deal-month, indexed by the absolute month) likewise. So every variant
sees the same random numbers on path k, a stress table is exactly the table that a plain
run with the stress's edits as --set/--shift writes, and the base of a stress run is exactly
the plain run. The results depend on --chunk (chunk index is part of the stream key).

Readings of the docs where they leave something open (docs/ANALYSIS.md, CONFIG.md):
  - PATH=VALUE splits at the first '=' outside [...]; VALUE is read with PyYAML (YAML 1.1,
    so '1e-3' without a dot is a string, which float() still reads).
  - [SEL] is an index whenever SEL is a whole number (even if an item is named "1"), else
    the item whose `name` is SEL (the engine does the same). A missing mapping key may be
    set (and missing mappings on the way are created); a list item cannot be added.
  - A shifted point keeps its month as a fractional index from scenario.start; the
    packaging cap (and every other schedule) is then read as usual (linear between points,
    flat outside), tranches arrive at max(0, ceil(month + delay)), and the target's last
    point counts for months_late at ceil(its index).
  - stress_compare.csv's p_diff_positive counts d > 1e-9 (--p-diff-tol), as ANALYSIS.md
    says: see P_DIFF_TOL below. base_p50/p95 are written even when scenario.percentiles lacks 50 or 95.
  - With --only, the stresses still run (and are written) in the config's order.
  - drivers.csv's draw is the value drawn, Q(u), before the model uses it: a lead time is
    summarised before its rounding to whole months (ANALYSIS.md: "low and high are the values
    as drawn; the model then uses them as it uses any draw"); an event is 1 where it happened
    (the deal closes, the site's power fails). Equal |shift_sd| keep the inputs' order; an
    empty tail leaves mean_tail and shift_sd empty (CONFIG.md) and its rows in the inputs'
    order; a share over no short site-month is left empty (0/0: there is no share); shift_sd
    is 0 where sd_all is 0. The order of near-equal shifts is the sort's: compare_reference.py
    matches rows by key.

--xp cupy runs the per-path array work through CuPy on a GPU (see "The array module" below):
the same model, the same random numbers (NumPy's streams, drawn on the host and copied to the
device), CuPy's kernels and cupyx.scipy.special (SciPy on a host copy for what it lacks:
stdtr), so its tables agree with --xp numpy's to rounding, not bit for bit. Without CuPy it
exits with status 2. Every run ends with one line on stderr, `reference_numpy: xp=NAME (...)
simulate_s=S total_s=S paths=N ...`: the array module and the wall time of the simulation
(simulate_s) and of the whole run (total_s).

The config is assumed to be valid (run `caprisk validate` for the checks); only the checks
needed to compute anything are made here.

Everything is vectorised over paths: arrays have shape [n] (one value per path); loops run
over months, sites (in priority order), deals and suppliers only. Paths are simulated in
chunks of --chunk; a plain run (and a stress run's base) also keeps every static uncertain
input's draw per path, for drivers.csv; a stress run keeps the per-path outputs of two
variants at a time (the base and the stress being reduced), so its memory does not grow with
the number of stresses;
a sensitivity run keeps, per chunk, the per-path metrics of the base and of the two pins of
one input, and merges the chunks' moments (its base tables keep the base's outputs, as a
plain run does).
"""
import argparse
import copy
import csv
import datetime
import hashlib
import json
import math
import os
import re
import sys
import time
import types

import numpy as np
import yaml
from scipy import special

# MODEL.md, "Randomness": uniforms are never 0 or 1; copula uniforms are clamped to this range.
U_LO = 2.0 ** -33
U_HI = 1.0 - 2.0 ** -33

DEFAULT_PERCENTILES = [1, 5, 10, 25, 50, 75, 90, 95, 99]
SHORT_EPS = 1e-6      # MODEL.md step 4: shortfall threshold (1 kW); also the on-target slack
TIE_EPS = 1e-9        # MODEL.md "Sites ..." Engine note: binding-constraint tie tolerance
FLOOR_EPS = 1e-9      # MODEL.md "Funding" Engine note: floor(H_d + 1e-9)
Z975 = 1.959964       # ANALYSIS.md "stress_compare.csv": diff_mean +- 1.959964 sd / sqrt(n)
# p_diff_positive counts paths with d > P_DIFF_TOL (in the metric's unit; ANALYSIS.md takes
# |d| <= 1e-9 as no change), not d > 0: a stress
# that moves capacity between sites or months changes a sum (ALL, a group, a site's
# X = sum of allocations) only by rounding (+-1e-16 GW) on many paths where in exact
# arithmetic nothing changed, and strict d > 0 would count those as "the stress makes the
# value larger". Real changes here are >= ~1e-6 (the 1 kW threshold); --p-diff-tol 0 gives
# the literal d > 0.
P_DIFF_TOL = 1e-9


# ----------------------------------------------------------------------------------------
# The array module (--xp): NumPy, or CuPy on a GPU host
# ----------------------------------------------------------------------------------------
# Every operation on path-sized arrays goes through `xp` (numpy or cupy) and their special
# functions through `xsp` (scipy.special, or cupyx.scipy.special with host fallbacks);
# use_array_module() sets both, once, before anything is simulated. The per-config setup
# (the YAML, the parameter tables, the schedules' points, the correlation matrix's Cholesky,
# the targets) stays in NumPy on the host, and so do the random streams (see Streams). Under
# numpy every call below is the NumPy call the file made before --xp existed, so `--xp numpy`
# writes the same bytes.

xp = np
xsp = special
XP_NAME = "numpy"
# The special functions used on path-sized arrays. Under cupy each is cupyx.scipy.special's
# where CuPy has it; the others are computed by SciPy on a host copy (host_fallback).
XSP_FUNCTIONS = ("ndtr", "ndtri", "betaincinv", "gammaincinv", "stdtr")
XSP_HOST_FALLBACKS = []
# The wall time of the simulation part (simulate_chunk, the device synchronised at its end)
# and how many chunk-simulations it covers; main() prints it.
SIM_CLOCK = {"seconds": 0.0, "calls": 0}


def to_host(a):
    """A NumPy copy of an xp array (the array itself under numpy); only where a result is
    reduced or written on the host."""
    if xp is np:
        return a
    return xp.asnumpy(a)


def sync():
    """Waits for the device's queued work (nothing under numpy), so that a clock reads true."""
    if xp is not np:
        xp.cuda.get_current_stream().synchronize()


def host_fallback(name):
    """scipy.special.NAME on host copies of the arguments, its result moved back to the
    device: for a function cupyx.scipy.special lacks (one device-to-host and one
    host-to-device copy per call; the values are SciPy's, as under numpy)."""
    fn = getattr(special, name)

    def call(*args):
        return xp.asarray(fn(*[a if np.isscalar(a) else to_host(a) for a in args]))

    call.__name__ = name
    return call


def use_array_module(name):
    """Selects numpy or cupy for the path-sized arrays. Returns an error line (for exit
    status 2) when cupy is asked for and cannot run, else None."""
    global xp, xsp, XP_NAME
    if name == "numpy":
        xp, xsp, XP_NAME = np, special, "numpy"
        return None

    def one_line(e):
        return " ".join(f"{type(e).__name__}: {e}".split())

    try:
        import cupy
        import cupyx.scipy.special as cusp
    except Exception as e:   # ImportError, or a CUDA library that fails to load
        return f"reference_numpy.py: --xp cupy needs CuPy (import cupy failed: {one_line(e)})"
    try:
        cupy.zeros(1).sum().item()   # a device, a driver and a working runtime
    except Exception as e:
        return (f"reference_numpy.py: --xp cupy needs CuPy and a GPU (a first device array "
                f"failed: {one_line(e)})")
    funcs = {}
    del XSP_HOST_FALLBACKS[:]
    for f in XSP_FUNCTIONS:
        if hasattr(cusp, f):
            funcs[f] = getattr(cusp, f)
        else:
            # CuPy lacks it (stdtr, as of CuPy 14/15; betaincinv before CuPy 12): SciPy on the
            # host, the same values as under numpy, at the cost of two copies per call.
            funcs[f] = host_fallback(f)
            XSP_HOST_FALLBACKS.append(f)
    xp, xsp, XP_NAME = cupy, types.SimpleNamespace(**funcs), "cupy"
    return None


def array_module_description():
    """'numpy 1.24.2', 'cupy 13.3.0 on NVIDIA H200': for the summary line."""
    text = f"{XP_NAME} {getattr(xp, '__version__', '?')}"
    if xp is not np:
        try:
            props = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)
            gpu = props["name"]
            text += " on " + (gpu.decode() if isinstance(gpu, bytes) else str(gpu))
        except Exception:
            pass
    return text


# ----------------------------------------------------------------------------------------
# Months and schedules (MODEL.md "Units and time")
# ----------------------------------------------------------------------------------------

class MonthIndex(float):
    """A schedule point's month as a (possibly fractional) index from scenario.start: what
    --shift leaves in place of a YYYY-MM string (ANALYSIS.md: points between months)."""


def parse_month(value):
    """'YYYY-MM' -> (year, month). Tolerates YAML having turned it into a date."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.year, value.month
    s = str(value)
    if len(s) != 7 or s[4] != "-":
        raise ValueError(f"bad month {value!r}")
    return int(s[:4]), int(s[5:])


class Calendar:
    def __init__(self, start):
        self.y0, self.m0 = parse_month(start)

    def index(self, month):
        """Engine note: (year - start_year)*12 + (month - start_month); may be negative.
        A shifted point (MonthIndex) is already an index, possibly fractional."""
        if isinstance(month, MonthIndex):
            return float(month)
        y, m = parse_month(month)
        return (y - self.y0) * 12 + (m - self.m0)

    def name(self, t):
        k = self.y0 * 12 + (self.m0 - 1) + t
        return f"{k // 12:04d}-{k % 12 + 1:02d}"


class Schedule:
    """Piecewise-linear schedule, flat before the first and after the last point."""

    def __init__(self, points, cal):
        self.x = np.array([float(cal.index(m)) for m, _ in points])
        self.y = np.array([float(v) for _, v in points])

    def at(self, x):
        # np.interp holds the end values flat outside [x0, xN] (MODEL.md "Units and time").
        # A scalar month (a target, the packaging cap) is read on the host; a per-path x
        # (t - a delay) with xp.interp, against the points copied to the device once.
        if xp is np or np.isscalar(x):
            return np.interp(x, self.x, self.y)
        if getattr(self, "_dev", (None,))[0] is not xp:
            self._dev = (xp, xp.asarray(self.x), xp.asarray(self.y))
        return xp.interp(x, self._dev[1], self._dev[2])


# ----------------------------------------------------------------------------------------
# Overrides (ANALYSIS.md "Overrides on the command line"; CONFIG.md "Overrides")
# ----------------------------------------------------------------------------------------

class OverrideError(ValueError):
    pass


def split_override(text, what):
    """'PATH=VALUE' -> (PATH, VALUE), split at the first '=' outside [...] (a name in
    brackets may contain '=')."""
    depth = 0
    for i, c in enumerate(text):
        if c == "[":
            depth += 1
        elif c == "]":
            depth = max(0, depth - 1)
        elif c == "=" and depth == 0:
            path, value = text[:i].strip(), text[i + 1:].strip()
            if not path:
                break
            return path, value
    raise OverrideError(f"{what} {text}: expected PATH=VALUE")


def parse_path(path):
    """'a.b[NAME].c[0]' -> [('key', 'a'), ('key', 'b'), ('item', 'NAME'), ('key', 'c'),
    ('item', '0')]. Keys are separated by '.', list items picked by [NAME] or [INDEX];
    brackets nest (a name may contain balanced brackets)."""
    tokens, i, n = [], 0, len(path)
    expect_key = True
    while i < n:
        c = path[i]
        if c == "[":
            depth, j = 1, i + 1
            while j < n and depth:
                if path[j] == "[":
                    depth += 1
                elif path[j] == "]":
                    depth -= 1
                j += 1
            if depth:
                raise OverrideError(f"unclosed '[' in {path!r}")
            tokens.append(("item", path[i + 1:j - 1]))
            i = j
            expect_key = False
        elif c == ".":
            if expect_key:
                raise OverrideError(f"empty key in {path!r}")
            i += 1
            expect_key = True
        else:
            j = i
            while j < n and path[j] not in ".[":
                j += 1
            tokens.append(("key", path[i:j]))
            i = j
            expect_key = False
    if not tokens or expect_key:
        raise OverrideError(f"bad path {path!r}")
    return tokens


def _pick_item(lst, sel, where):
    """[INDEX] when sel is a whole number (from 0), else [NAME] (the item whose `name` is
    sel, compared exactly). A whole number is always an index, even where an item is named
    like one (the docs leave this open; the engine does the same)."""
    if re.fullmatch(r"[0-9]+", sel):
        if int(sel) < len(lst):
            return int(sel)
        raise OverrideError(f"{where} has {len(lst)} items, numbered from 0; there is no [{sel}]")
    for k, item in enumerate(lst):
        if isinstance(item, dict) and item.get("name") == sel:
            return k
    names = [str(x.get("name")) for x in lst if isinstance(x, dict) and "name" in x]
    raise OverrideError(f"{where} has no item named '{sel}'"
                        + (f"; its names: {', '.join(names)}" if names else ""))


def _walk(cfg, tokens, create):
    """Returns (container, key or index, normalised path). Missing mapping keys are created
    (as {} in the middle, if create) since a key the file leaves out may be set."""
    node, norm, where = cfg, [], ""
    for pos, (kind, name) in enumerate(tokens):
        last = pos == len(tokens) - 1
        if isinstance(node, list):
            k = _pick_item(node, name, where or "the config")
            norm.append("[]")
        elif isinstance(node, dict):
            if kind == "item" and name not in node:
                raise OverrideError(f"{where} is not a list")
            k = name
            if k not in node:
                if not create:
                    raise OverrideError(f"{where + '.' if where else ''}{k} is not in the config")
                if not last:
                    node[k] = {}
            norm.append(("." if norm else "") + k)
        else:
            raise OverrideError(f"{where} is a value, not a mapping or a list")
        where += (f"[{name}]" if kind == "item" or isinstance(node, list) else
                  ("." if where else "") + name)
        if last:
            return node, k, "".join(norm)
        node = node[k]
    raise AssertionError


def set_path(cfg, path, value):
    node, k, _ = _walk(cfg, parse_path(path), create=True)
    node[k] = copy.deepcopy(value)


# ANALYSIS.md: the schedules that can be shifted.
SHIFTABLE = ("supply.packaging_cap_gw", "supply.suppliers[].wafers_per_month",
             "funding.deals[].tranches", "sites[].target_gw", "sites[].power.schedule")


def shift_path(cfg, path, months):
    """Moves every point [month, value] of the schedule at PATH to month + MONTHS."""
    tokens = parse_path(path)
    node, k, norm = _walk(cfg, tokens, create=False)
    if norm not in SHIFTABLE:
        raise OverrideError(f"{path} is not a schedule that can be shifted ({', '.join(SHIFTABLE)})")
    if norm == "funding.deals[].tranches" and node.get("kind") != "schedule":
        raise OverrideError(f"{path}: only schedule deals have tranches")
    months = float(months)
    if not (-1200 <= months <= 1200):
        raise OverrideError(f"{path}: MONTHS must be in [-1200, 1200], got {months}")
    cal = Calendar(cfg["scenario"]["start"])
    node[k] = [[MonthIndex(cal.index(m) + months), v] for m, v in node[k]]


def parse_yaml_value(text):
    """VALUE is YAML in flow form (ANALYSIS.md)."""
    return yaml.safe_load(text) if text.strip() else None


def apply_overrides(cfg, sets, shifts):
    """sets: [(PATH, value)], shifts: [(PATH, months)]: all sets in order, then all shifts.
    Returns a new config (the input is not changed). An error names the override."""
    cfg = copy.deepcopy(cfg)
    for path, value in sets:
        try:
            set_path(cfg, path, value)
        except OverrideError as e:
            raise OverrideError(f"set {path}: {e}") from None
    for path, months in shifts:
        try:
            shift_path(cfg, path, months)
        except OverrideError as e:
            raise OverrideError(f"shift {path}={months:g}: {e}") from None
    return cfg


def stress_edits(stress):
    sets = list((stress.get("set") or {}).items())
    shifts = [(p, float(m)) for p, m in (stress.get("shift") or {}).items()]
    return sets, shifts


# ----------------------------------------------------------------------------------------
# Distributions (MODEL.md "Uncertain inputs"): every one is sampled by its quantile Q(u)
# ----------------------------------------------------------------------------------------

LN_P90_Z = 1.2815515655446004


class Dist:
    """A distribution with a quantile function q(u) (u an array in (0,1)), clamped to its
    support, and optionally tied to a copula factor (factor name, sign)."""

    def __init__(self, node, event=False):
        self.factor = None
        self.sign = 1
        if not isinstance(node, dict):
            # A plain number means fixed; for an event probability it means bernoulli(p).
            node = {"dist": "bernoulli", "p": node} if event else {"dist": "fixed", "value": node}
        self.kind = node["dist"]
        self.factor = node.get("factor")
        self.sign = int(node.get("sign", 1))
        k = self.kind
        g = lambda key: float(node[key])
        if k == "fixed":
            self.v = g("value")
        elif k == "uniform":
            self.lo, self.hi = g("min"), g("max")
        elif k == "normal":
            self.mean, self.sd = g("mean"), g("sd")
            self.lo = float(node["min"]) if "min" in node else -math.inf
            self.hi = float(node["max"]) if "max" in node else math.inf
            # Engine note: mean + sd * Phi^-1(Phi(a) + u (Phi(b) - Phi(a))), standardised bounds.
            self.pa = special.ndtr((self.lo - self.mean) / self.sd)
            self.pb = special.ndtr((self.hi - self.mean) / self.sd)
        elif k == "lognormal":
            if "median" in node:
                self.mu = math.log(g("median"))
                self.sigma = (math.log(g("p90")) - self.mu) / LN_P90_Z
            else:
                self.mu, self.sigma = g("mu"), g("sigma")
        elif k in ("triangular", "pert"):
            self.lo, self.mode, self.hi = g("min"), g("mode"), g("max")
            if k == "pert":
                # Engine note: Beta-PERT, lambda = 4, a beta on [min, max].
                w = self.hi - self.lo
                self.a = 1.0 + 4.0 * (self.mode - self.lo) / w
                self.b = 1.0 + 4.0 * (self.hi - self.mode) / w
        elif k == "beta":
            if "mean" in node:
                m, sd = g("mean"), g("sd")
                c = m * (1.0 - m) / (sd * sd) - 1.0
                self.a, self.b = m * c, (1.0 - m) * c
            else:
                self.a, self.b = g("a"), g("b")
        elif k == "bernoulli":
            self.p = g("p")
        else:
            raise ValueError(f"unknown dist {k!r}")

    def q(self, u):
        u = xp.asarray(u, dtype=float)
        k = self.kind
        if k == "fixed":
            return xp.full(u.shape, self.v)
        if k == "uniform":
            return xp.clip(self.lo + u * (self.hi - self.lo), self.lo, self.hi)
        if k == "normal":
            x = self.mean + self.sd * xsp.ndtri(self.pa + u * (self.pb - self.pa))
            return xp.clip(x, self.lo, self.hi)
        if k == "lognormal":
            return xp.exp(self.mu + self.sigma * xsp.ndtri(u))
        if k == "triangular":
            lo, c, hi = self.lo, self.mode, self.hi
            w = hi - lo
            fc = (c - lo) / w
            left = lo + xp.sqrt(u * w * (c - lo))
            right = hi - xp.sqrt((1.0 - u) * w * (hi - c))
            return xp.clip(xp.where(u < fc, left, right), lo, hi)
        if k == "pert":
            x = self.lo + (self.hi - self.lo) * xsp.betaincinv(self.a, self.b, u)
            return xp.clip(x, self.lo, self.hi)
        if k == "beta":
            return xp.clip(xsp.betaincinv(self.a, self.b, u), 0.0, 1.0)
        if k == "bernoulli":
            # Engine note: Q(u) = 1 if u > 1 - p else 0.
            return (u > 1.0 - self.p).astype(float)
        raise AssertionError(k)


def opt_dist(node, key, default, event=False):
    return Dist(node[key] if key in node else default, event=event)


# ----------------------------------------------------------------------------------------
# Random streams: one per component (see the module's docstring)
# ----------------------------------------------------------------------------------------

class Streams:
    """The random numbers of one chunk of n paths. gen(key) is a fresh generator for the
    component `key` ("role:name"): the same numbers whichever variant asks for them."""

    def __init__(self, seed, chunk, n):
        self.seed, self.chunk, self.n = int(seed), int(chunk), n

    def gen(self, key):
        h = int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, self.chunk, h])))

    def uniforms(self, key, k):
        """k uniforms per path from component `key`, shape [k, n], in (0, 1)."""
        return uniforms_on_device(self.gen(key), (k, self.n))


def uniforms_on_device(gen, shape):
    """gen.random(shape) clipped to [U_LO, U_HI], as an xp array. Every stream is NumPy's
    PCG64 keyed by SeedSequence, drawn on the host whatever --xp says (CuPy has no PCG64 nor
    SeedSequence), and copied to the device under cupy: so `--xp cupy` sees the very numbers
    `--xp numpy` sees, path by path, and the common random numbers of stresses and
    sensitivity hold as they do under numpy. The cost is the host's generation and one
    host-to-device copy per draw (included in the simulation's wall time)."""
    return xp.asarray(np.clip(gen.random(shape), U_LO, U_HI))


# ----------------------------------------------------------------------------------------
# Correlation (MODEL.md "Correlation (copula)")
# ----------------------------------------------------------------------------------------

def semidefinite_cholesky(m):
    """Lower-triangular L with L L^T = m for a positive SEMI-definite m: a zero pivot zeroes
    its column (Engine note), so perfectly correlated factors are allowed."""
    k = m.shape[0]
    L = np.zeros_like(m)
    for j in range(k):
        d = m[j, j] - np.dot(L[j, :j], L[j, :j])
        if d <= 1e-12:
            if d < -1e-9:
                raise ValueError("correlation matrix is not positive semidefinite")
            continue  # zero pivot: column j stays 0
        L[j, j] = math.sqrt(d)
        for i in range(j + 1, k):
            L[i, j] = (m[i, j] - np.dot(L[i, :j], L[j, :j])) / L[j, j]
    return L


class Copula:
    def __init__(self, node):
        node = node or {}
        self.names = list(node.get("factors", []))
        self.kind = node.get("copula", "gaussian")
        self.df = float(node["df"]) if self.kind == "student_t" else None
        if self.names:
            m = np.array(node["matrix"], dtype=float)
            self.L = semidefinite_cholesky(m)
        else:
            self.L = np.zeros((0, 0))

    def draw(self, streams):
        """Per path: z = L eps (eps_k from the stream factor:NAME); for student_t also
        w = sqrt(df / chi2_df), one chi-square per path from copula:chi-square (drawn by its
        quantile function). Returns a function (factor, sign) -> u array."""
        n = streams.n
        k = len(self.names)
        eps = xp.empty((n, k))
        for j, name in enumerate(self.names):
            eps[:, j] = xsp.ndtri(streams.uniforms("factor:" + name, 1)[0])
        # L is the host's (a small matrix); under numpy xp.asarray(L) is L itself.
        z = eps @ xp.asarray(self.L).T if k else eps
        if self.kind == "student_t":
            u = streams.uniforms("copula:chi-square", 1)[0]
            chi2 = 2.0 * xsp.gammaincinv(self.df / 2.0, u)
            w = xp.sqrt(self.df / chi2)
        cache = {}

        def u_of(name, sign):
            key = (name, sign)
            if key not in cache:
                x = sign * z[:, self.names.index(name)]
                if self.kind == "student_t":
                    u = xsp.stdtr(self.df, x * w)
                else:
                    u = xsp.ndtr(x)
                cache[key] = xp.clip(u, U_LO, U_HI)
            return cache[key]

        return u_of


class Sampler:
    """Draws static inputs: each input has its own uniform (one per path, from its
    component's stream, drawn whether or not it is used); a dist that names a factor uses
    the factor's uniform instead.

    pins (for --sensitivity): {config path of a static input: value}. A pinned input takes
    that value on every path (ANALYSIS.md "Sensitivity": pinning replaces the input's value;
    its uniform is still drawn, and the copula factors as before, so every other input keeps
    its numbers): its uniform u_own has already been drawn from its component's stream, with
    the others, and is simply not used.

    draws: {config path: the per-path values drawn}, for drivers.csv (ANALYSIS.md "Tail
    drivers"): the value as drawn, Q(u) (an event: 1 where it happened), before the model
    uses it (so a lead time before its rounding to whole months)."""

    def __init__(self, u_of, pins=None):
        self.u_of = u_of
        self.pins = pins or {}
        self.pinned = set()   # the pins that were applied (a check against misnamed inputs)
        self.draws = {}

    def static(self, dist, u_own, name=None):
        if name is not None and name in self.pins:
            self.pinned.add(name)
            x = xp.full(u_own.shape, float(self.pins[name]))
        elif dist.factor is not None:
            x = dist.q(self.u_of(dist.factor, dist.sign))
        else:
            x = dist.q(u_own)
        if name is not None:
            self.draws[name] = x
        return x


# ----------------------------------------------------------------------------------------
# Scenario (docs/CONFIG.md)
# ----------------------------------------------------------------------------------------

class YieldCurve:
    """MODEL.md "Supply": Y(t) = mature - (mature - initial) exp(-t / tau)."""

    def __init__(self, node):
        self.initial = Dist(node["initial"])
        self.mature = Dist(node["mature"])
        self.tau = Dist(node["tau_months"])

    def sample(self, s, u3, path):
        """path: the curve's config path (supply.hbm_yield, ...), naming its three inputs."""
        return (s.static(self.initial, u3[0], path + ".initial"),
                s.static(self.mature, u3[1], path + ".mature"),
                s.static(self.tau, u3[2], path + ".tau_months"))

    @staticmethod
    def at(sampled, t):
        y0, y1, tau = sampled
        return y1 - (y1 - y0) * xp.exp(-t / tau)


def load_config(path):
    with open(path) as f:
        return yaml.safe_load(f)


class Scenario:
    def __init__(self, cfg):
        sc = cfg["scenario"]
        self.name = sc["name"]
        self.cal = Calendar(sc["start"])
        self.T = int(float(sc["horizon_months"]))
        self.seed = int(float(sc.get("seed", 1)))
        self.paths = int(float(sc.get("paths", 100000)))
        self.percentiles = [float(q) for q in sc.get("percentiles", DEFAULT_PERCENTILES)]
        # CONFIG.md: report_months is a list of months or `all` (the default: every month).
        # A month after the horizon is left out (the engine warns); months before `start`
        # are a config error, assumed absent here.
        rm = sc.get("report_months", "all")
        if isinstance(rm, str) and rm == "all":
            self.report = list(range(self.T))
        else:
            self.report = [t for t in (self.cal.index(m) for m in rm) if t < self.T]
            self.report_dropped = len(rm) - len(self.report)
            if not self.report:
                raise ValueError("no report month within the horizon")
        self.tol = float(sc.get("on_target_tolerance", 0.02))
        self.copula = Copula(cfg.get("correlation"))

        sup = cfg["supply"]
        self.program_share = Dist(sup["program_share"])
        self.stacks_per_wafer = Dist(sup["stacks_per_wafer"])
        self.stacks_per_acc = Dist(sup["stacks_per_accelerator"])
        self.kw_per_acc = Dist(sup["kw_per_accelerator"])
        self.lead_time = opt_dist(sup, "lead_time_months", 0)
        self.pack_cap = Schedule(sup["packaging_cap_gw"], self.cal) if "packaging_cap_gw" in sup else None
        self.hbm_yield = YieldCurve(sup["hbm_yield"])
        # CONFIG.md: package_yield defaults to "yield 1" (Y_pkg = 1).
        self.pkg_yield = YieldCurve(sup["package_yield"]) if "package_yield" in sup else None
        self.suppliers = []
        for s in sup["suppliers"]:
            d = None
            if s.get("disruption") is not None:
                dn = s["disruption"]
                d = dict(rate=float(dn["rate_per_year"]), loss=Dist(dn["loss"]),
                         recovery=Dist(dn["recovery_months"]))
            self.suppliers.append(dict(
                name=s["name"],
                wafers=Schedule(s["wafers_per_month"], self.cal),
                ramp_delay=opt_dist(s, "ramp_delay_months", 0),
                capacity_factor=opt_dist(s, "capacity_factor", 1),
                disruption=d,
                hbm_yield=YieldCurve(s["hbm_yield"]) if "hbm_yield" in s else None))

        fund = cfg["funding"]
        self.capex = Dist(fund["capex_per_gw"])
        self.deals = []
        for d in fund["deals"]:
            deal = dict(name=d["name"], kind=d["kind"],
                        delay=opt_dist(d, "delay_months", 0),
                        close=opt_dist(d, "close_probability", 1, event=True),
                        hazard=float(d.get("cancel_hazard_per_year", 0)))
            if d["kind"] == "schedule":
                deal["tranches"] = [(self.cal.index(m), float(v)) for m, v in d["tranches"]]
            else:
                deal["start"] = self.cal.index(d["start"]) if "start" in d else 0
                deal["advance"] = float(d.get("advance", 0))
                deal["per_gw"] = float(d["per_gw"])
                deal["cap"] = float(d["cap"]) if "cap" in d else math.inf
                deal["lag"] = int(float(d.get("lag_months", 0)))
            self.deals.append(deal)
        deal_index = {d["name"]: j for j, d in enumerate(self.deals)}

        self.sites = []
        for s in cfg["sites"]:
            pw = s["power"]
            tg = s["target_gw"]
            self.sites.append(dict(
                name=s["name"],
                priority=int(float(s.get("priority", 0))),
                funded_by=[deal_index[n] for n in s["funded_by"]],
                target=Schedule(tg, self.cal),
                final_target=float(tg[-1][1]),
                # MODEL.md "Outputs of one path", Engine: the month index of the target's
                # last point, rounded up to a whole month when a --shift left it between
                # months (ANALYSIS.md).
                final_month=int(math.ceil(self.cal.index(tg[-1][0]))),
                build_rate=Dist(s["build_rate_gw"]),
                power=Schedule(pw["schedule"], self.cal),
                power_delay=opt_dist(pw, "delay_months", 0),
                availability=opt_dist(pw, "availability", 1),
                failure=opt_dist(pw, "failure_probability", 0, event=True)))
        # Service order: priority ascending, ties in config order (stable sort).
        self.order = sorted(range(len(self.sites)), key=lambda i: self.sites[i]["priority"])
        site_index = {s["name"]: i for i, s in enumerate(self.sites)}
        # CONFIG.md "groups": a mapping group name -> site names, reported after ALL in
        # config order.
        self.groups = [(str(g), [site_index[m] for m in members])
                       for g, members in (cfg.get("groups") or {}).items()]


# ----------------------------------------------------------------------------------------
# Static draws of one chunk of paths (MODEL.md "Uncertain inputs": static = once per path;
# "Randomness": one uniform per static input from its component's stream, in this order)
# ----------------------------------------------------------------------------------------

def sample_statics(sc, streams, s):
    """Each static input is named by its config path (ANALYSIS.md "Sensitivity"), so that
    the Sampler can pin it; the uniforms are drawn in the streams' order regardless."""
    st = {}
    pu = streams.uniforms("program:static", 12)
    st["share"] = s.static(sc.program_share, pu[0], "supply.program_share")
    st["spw"] = s.static(sc.stacks_per_wafer, pu[1], "supply.stacks_per_wafer")
    st["spa"] = s.static(sc.stacks_per_acc, pu[2], "supply.stacks_per_accelerator")
    st["kw"] = s.static(sc.kw_per_acc, pu[3], "supply.kw_per_accelerator")
    lt = s.static(sc.lead_time, pu[4], "supply.lead_time_months")
    # MODEL.md "Supply", Engine: nearest month, halves away from zero (lead time >= 0).
    # A pinned lead time (its P10 or P90) is rounded like a drawn one.
    st["lead"] = xp.floor(lt + 0.5).astype(np.int64)
    # drivers.csv reports the lead time as the model uses it: rounded (ANALYSIS.md).
    s.draws["supply.lead_time_months"] = st["lead"].astype(float)
    st["capex"] = s.static(sc.capex, pu[5], "funding.capex_per_gw")
    st["y_hbm"] = sc.hbm_yield.sample(s, pu[6:9], "supply.hbm_yield")
    st["y_pkg"] = (sc.pkg_yield.sample(s, pu[9:12], "supply.package_yield")
                   if sc.pkg_yield is not None else None)
    st["sup"] = []
    for sp in sc.suppliers:
        u = streams.uniforms("supplier:" + sp["name"], 5)
        p = f"supply.suppliers[{sp['name']}]"
        st["sup"].append(dict(
            delay=s.static(sp["ramp_delay"], u[0], p + ".ramp_delay_months"),
            cf=s.static(sp["capacity_factor"], u[1], p + ".capacity_factor"),
            y_hbm=(sp["hbm_yield"].sample(s, u[2:5], p + ".hbm_yield")
                   if sp["hbm_yield"] is not None else st["y_hbm"])))
    st["deals"] = []
    for d in sc.deals:
        u = streams.uniforms("deal:" + d["name"], 2)
        p = f"funding.deals[{d['name']}]"
        st["deals"].append(dict(delay=s.static(d["delay"], u[0], p + ".delay_months"),
                                closed=s.static(d["close"], u[1], p + ".close_probability") > 0.5))
    st["sites"] = []
    for site in sc.sites:
        u = streams.uniforms("site:" + site["name"], 4)
        p = f"sites[{site['name']}]"
        st["sites"].append(dict(
            delay=s.static(site["power_delay"], u[0], p + ".power.delay_months"),
            avail=s.static(site["availability"], u[1], p + ".power.availability"),
            failed=s.static(site["failure"], u[2], p + ".power.failure_probability") > 0.5,
            build=s.static(site["build_rate"], u[3], p + ".build_rate_gw")))
    return st


def first_month_at_or_after(x):
    """MODEL.md "Funding", Engine: the first month t >= x is max(0, ceil(x))."""
    return xp.maximum(0, xp.ceil(x)).astype(np.int64)


# ----------------------------------------------------------------------------------------
# Supply: wafers -> accelerators -> GW (MODEL.md "Supply")
# ----------------------------------------------------------------------------------------

class Supply:
    def __init__(self, sc, st, streams):
        n = streams.n
        self.sc, self.st, self.n = sc, st, n
        # One active disruption per supplier: its loss and the first month it is over.
        self.dis_loss = [xp.zeros(n) for _ in sc.suppliers]
        self.dis_end = [xp.zeros(n, dtype=np.int64) for _ in sc.suppliers]
        # supplier-events:NAME: 3 uniforms per month (u0: does an event start, u1: loss,
        # u2: recovery months), drawn for every month in order.
        self.events = [streams.gen("supplier-events:" + sp["name"]) if sp["disruption"] else None
                       for sp in sc.suppliers]
        self.arrivals = xp.zeros((sc.T, n))  # GW arriving for installation in each month
        self.rows = xp.arange(n)

    def disruption_loss(self, j, t):
        """Supplier j's loss fraction in month t, after drawing month t's event."""
        d = self.sc.suppliers[j]["disruption"]
        if d is None:
            return 0.0
        u = uniforms_on_device(self.events[j], (3, self.n))
        p_event = 1.0 - math.exp(-d["rate"] / 12.0)
        starts = u[0] < p_event
        loss = d["loss"].q(u[1])
        r = xp.ceil(d["recovery"].q(u[2])).astype(np.int64)
        starts &= r >= 1  # Engine note: r <= 0 has no effect
        active = self.dis_end[j] > t
        # Merge: larger loss, until the later end; else a fresh event t .. t + r - 1.
        new_loss = xp.where(active, xp.maximum(self.dis_loss[j], loss), loss)
        new_end = xp.where(active, xp.maximum(self.dis_end[j], t + r), t + r)
        self.dis_loss[j] = xp.where(starts, new_loss, self.dis_loss[j])
        self.dis_end[j] = xp.where(starts, new_end, self.dis_end[j])
        return xp.where(self.dis_end[j] > t, self.dis_loss[j], 0.0)

    def produce(self, t):
        """S(t) in GW produced in month t; schedules its arrival at t + lead."""
        sc, st = self.sc, self.st
        y_pkg = YieldCurve.at(st["y_pkg"], t) if st["y_pkg"] is not None else 1.0
        good_stacks = xp.zeros(self.n)
        for j, sp in enumerate(sc.suppliers):
            s = st["sup"][j]
            wafers = sp["wafers"].at(t - s["delay"]) * s["cf"] * (1.0 - self.disruption_loss(j, t))
            good_stacks += wafers * st["spw"] * YieldCurve.at(s["y_hbm"], t) * y_pkg
        S = st["share"] * good_stacks / st["spa"] * st["kw"] / 1e6
        if sc.pack_cap is not None:
            S = xp.minimum(S, float(sc.pack_cap.at(float(t))))
        arrive = t + st["lead"]
        ok = arrive < sc.T  # what would arrive after the horizon is dropped
        self.arrivals[arrive[ok], self.rows[ok]] += S[ok]


# ----------------------------------------------------------------------------------------
# Funding: deals (MODEL.md "Funding: deals")
# ----------------------------------------------------------------------------------------

class Funding:
    def __init__(self, sc, st, streams):
        n = streams.n
        self.sc, self.st, self.n = sc, st, n
        self.received = [xp.zeros(n) for _ in sc.deals]  # USD B received so far
        self.charged = [xp.zeros(n) for _ in sc.deals]   # G_d: GW charged so far
        self.alive = [st["deals"][j]["closed"].copy() for j in range(len(sc.deals))]
        # deal-events:NAME: one uniform per month (the cancellation), every month in order.
        self.events = [streams.gen("deal-events:" + d["name"]) if d["hazard"] > 0 else None
                       for d in sc.deals]
        self.start = []
        self.tranche_month = []
        for j, d in enumerate(sc.deals):
            delay = st["deals"][j]["delay"]
            if d["kind"] == "schedule":
                months = [first_month_at_or_after(m + delay) for m, _ in d["tranches"]]
                self.tranche_month.append(months)
                self.start.append(months[0])  # starts with its first (delayed) tranche
            else:
                self.tranche_month.append(None)
                self.start.append(first_month_at_or_after(d["start"] + delay))
        # H_d(tau): GW installed by the end of month tau at the sites funded by d.
        self.H = [[] for _ in sc.deals]

    def receive(self, t):
        """Step 2: tranches / per-GW releases of month t, then the month's cancellations."""
        sc = self.sc
        for j, d in enumerate(sc.deals):
            alive = self.alive[j]
            if d["kind"] == "schedule":
                for (m, amount), arr in zip(d["tranches"], self.tranche_month[j]):
                    self.received[j] += xp.where(alive & (arr == t), amount, 0.0)
            else:
                tau = t - 1 - d["lag"]
                H = self.H[j][tau] if tau >= 0 else xp.zeros(self.n)
                total = xp.minimum(d["cap"], d["advance"] + d["per_gw"] * xp.floor(H + FLOOR_EPS))
                self.received[j] = xp.where(alive & (t >= self.start[j]), total, self.received[j])
            if self.events[j] is not None:
                u = uniforms_on_device(self.events[j], self.n)
                p = 1.0 - math.exp(-d["hazard"] / 12.0)
                cancel = (u < p) & (t >= self.start[j])
                self.alive[j] = alive & ~cancel

    def room(self, j):
        """Fundable room of deal j: max(0, received / capex - G)."""
        return xp.maximum(0.0, self.received[j] / self.st["capex"] - self.charged[j])

    def charge(self, deals, alloc):
        """Charge alloc to the deals in funded_by order, each up to its fundable room."""
        remaining = alloc.copy()
        for j in deals:
            c = xp.minimum(remaining, self.room(j))
            self.charged[j] += c
            remaining -= c

    def record_installed(self, X, sites):
        for j in range(len(self.sc.deals)):
            H = xp.zeros(self.n)
            for i, site in enumerate(sites):
                if j in site["funded_by"]:
                    H += X[i]
            self.H[j].append(H)


# ----------------------------------------------------------------------------------------
# One chunk of paths: the monthly loop (MODEL.md "Sites and the monthly allocation")
# ----------------------------------------------------------------------------------------

NONE, POWER, SUPPLY, FUNDING = 0, 1, 2, 3


def simulate_chunk(sc, streams, pins=None, keep_draws=False):
    """One chunk of paths; pins: static inputs pinned at a value (see Sampler). keep_draws:
    also return `draws`, the static uncertain inputs' draws (sensitivity_inputs' order),
    shape [inputs, n], for drivers.csv. Adds its wall time (the device synchronised at the
    end) to SIM_CLOCK."""
    started = time.perf_counter()
    n = streams.n
    u_of = sc.copula.draw(streams)
    sampler = Sampler(u_of, pins)
    st = sample_statics(sc, streams, sampler)
    if pins and sampler.pinned != set(pins):
        raise AssertionError(f"pinned inputs not found: {sorted(set(pins) - sampler.pinned)}")
    supply = Supply(sc, st, streams)
    funding = Funding(sc, st, streams)
    ns, T = len(sc.sites), sc.T
    X = [xp.zeros(n) for _ in range(ns)]
    inventory = xp.zeros(n)
    report_pos = {t: k for k, t in enumerate(sc.report)}
    short_rep = xp.zeros((ns, len(sc.report), n))
    bind_rep = xp.zeros((ns, len(sc.report), n), dtype=np.int8)
    short_months = xp.zeros((ns, n))
    first_on_target = xp.full((ns, n), -1, dtype=np.int64)

    for t in range(T):
        supply.produce(t)
        inventory += supply.arrivals[t]          # 1. supply arriving this month
        funding.receive(t)                        # 2. tranches, then cancellations
        for i in sc.order:                        # 3. sites in priority order
            site, ss = sc.sites[i], st["sites"][i]
            target = float(site["target"].at(float(t)))
            power = xp.where(ss["failed"], 0.0, ss["avail"] * site["power"].at(t - ss["delay"]))
            room = xp.minimum(xp.minimum(power, target) - X[i], ss["build"])
            funds = xp.zeros(n)
            for j in site["funded_by"]:
                funds += funding.room(j)
            supply_before = inventory.copy()
            alloc = xp.maximum(0.0, xp.minimum(xp.minimum(room, inventory), funds))
            X[i] = X[i] + alloc
            inventory -= alloc
            funding.charge(site["funded_by"], alloc)
            # 4. shortfall, thresholded at 1e-6 GW
            gap = target - X[i]
            short = xp.where(gap > SHORT_EPS, gap, 0.0)
            short_months[i] += short
            # months_late: first month with X + 1e-6 >= (1 - tol) * final target
            hit = (X[i] + SHORT_EPS >= (1.0 - sc.tol) * site["final_target"]) & (first_on_target[i] < 0)
            first_on_target[i][hit] = t
            if t in report_pos:
                k = report_pos[t]
                short_rep[i, k] = short
                # Binding constraint: smallest limit; within 1e-9 ties: power, supply, funding.
                lo = xp.minimum(xp.minimum(room, supply_before), funds)
                b = xp.where(room <= lo + TIE_EPS, POWER,
                             xp.where(supply_before <= lo + TIE_EPS, SUPPLY, FUNDING))
                bind_rep[i, k] = xp.where(short > 0, b, NONE)
        funding.record_installed(X, sc.sites)

    months_late = xp.zeros((ns, n))
    censored = xp.zeros((ns, n), dtype=bool)
    for i, site in enumerate(sc.sites):
        L = site["final_month"]
        f = first_on_target[i]
        censored[i] = f < 0
        late_if_censored = min(max(T - L, 0), T)   # clip(T - L, 0, T), a Python int
        months_late[i] = xp.where(censored[i], late_if_censored, xp.clip(f - L, 0, T))
    out = dict(short_rep=short_rep, bind_rep=bind_rep, short_months=short_months,
               months_late=months_late, censored=censored)
    if keep_draws:
        names = [p for p, _, _, _ in sensitivity_inputs(sc)]
        out["draws"] = (xp.stack([xp.asarray(sampler.draws[p], dtype=float) for p in names])
                        if names else xp.zeros((0, n)))
    sync()
    SIM_CLOCK["seconds"] += time.perf_counter() - started
    SIM_CLOCK["calls"] += 1
    return out


def simulate(sc, paths, seed, chunk, keep_draws=False):
    """All paths, chunk by chunk; chunk c draws from Streams(seed, c, ...). keep_draws: also
    the static uncertain inputs' draws (for drivers.csv)."""
    parts = []
    for c, first in enumerate(range(0, paths, chunk)):
        n = min(chunk, paths - first)
        parts.append(simulate_chunk(sc, Streams(seed, c, n), keep_draws=keep_draws))
    return {k: xp.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}


# ----------------------------------------------------------------------------------------
# Reports (MODEL.md "Reports"; CONFIG.md "Outputs")
# ----------------------------------------------------------------------------------------

def fmt(x):
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def cell_stats(values, percentiles):
    x = xp.sort(xp.asarray(values, dtype=float))
    n = x.size
    out = [n, x.mean(), x.std(ddof=1) if n > 1 else 0.0]
    for q in percentiles:
        p = xp.percentile(x, q)
        f = q / 100.0
        half = 1.96 * math.sqrt(n * f * (1.0 - f))
        lo = min(max(math.floor(n * f - half), 1), n)
        hi = min(max(math.ceil(n * f + half), 1), n)
        out += [p, x[lo - 1], x[hi - 1]]
    out += cvar95(x)
    out.append(xp.mean(x > 0))
    return out


def cvar95(x):
    """MODEL.md "Reports", "CVaR's interval": x sorted. The tail is the largest
    k = ceil(0.05 n) values; with t the smallest of them, m their mean excess over t and V
    their variance (divided by k), CVaR = t + m and its 95% interval is
    CVaR -+ 1.96 sqrt((V + (1 - k/n) m^2) / k), the lower end clipped at 0 (a flat tail: zero
    width). Returns [cvar95, ci_low, ci_high]."""
    n = x.size
    k = (n + 19) // 20
    excess = x[n - k:] - x[n - k]
    m = excess.mean()
    v = excess.var()   # the tail's variance (divided by k): that of the excess over t
    cvar = x[n - k] + m
    half = 1.96 * math.sqrt(max(v + (1.0 - k / n) * m * m, 0.0) / k)
    return [cvar, max(cvar - half, 0.0), cvar + half]


def cells(sc, res):
    """The rows of percentiles.csv, in order, as (site, month, metric, per-path values,
    censored flags or None): each site (shortfall_gw per report month, shortfall_gw_months,
    months_late), then ALL (shortfall_gw per report month, shortfall_gw_months), then each
    group (the same as ALL over its sites, then all_sites_short per report month)."""
    last = sc.cal.name(sc.T - 1)
    months = [sc.cal.name(t) for t in sc.report]
    sr, sm = res["short_rep"], res["short_months"]
    for i, site in enumerate(sc.sites):
        for k, m in enumerate(months):
            yield site["name"], m, "shortfall_gw", sr[i, k], None
        yield site["name"], last, "shortfall_gw_months", sm[i], None
        yield site["name"], last, "months_late", res["months_late"][i], res["censored"][i]
    for k, m in enumerate(months):
        yield "ALL", m, "shortfall_gw", sr[:, k].sum(axis=0), None
    yield "ALL", last, "shortfall_gw_months", sm.sum(axis=0), None
    for g, members in sc.groups:
        for k, m in enumerate(months):
            yield g, m, "shortfall_gw", sr[members, k].sum(axis=0), None
        yield g, last, "shortfall_gw_months", sm[members].sum(axis=0), None
        for k, m in enumerate(months):
            # 1 on a path where every site of the group is short (shortfall > 0) that month.
            yield g, m, "all_sites_short", (sr[members, k] > 0).all(axis=0).astype(float), None


def percentile_header(sc):
    header = ["site", "month", "metric", "paths", "mean", "sd"]
    for q in sc.percentiles:
        name = "p" + fmt(q)
        header += [name, name + "_ci_low", name + "_ci_high"]
    return header + ["cvar95", "cvar95_ci_low", "cvar95_ci_high", "p_positive", "censored_share"]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_reports(sc, res, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for site, month, metric, values, censored in cells(sc, res):
        st = cell_stats(values, sc.percentiles)
        rows.append([site, month, metric] + [fmt(v) for v in st] +
                    ["" if censored is None else fmt(xp.mean(censored))])
    write_csv(os.path.join(out_dir, "percentiles.csv"), percentile_header(sc), rows)

    # attribution.csv: each site and report month; then ALL, then each group: the shares
    # over their site-paths (the mean of the sites' shares); `paths` is the path count.
    rows = []
    months = [sc.cal.name(t) for t in sc.report]
    b_all = res["bind_rep"]                      # [sites, report months, paths]
    n_paths = b_all.shape[2]

    def shares(b):
        return [fmt(xp.count_nonzero(b == c) / b.size) for c in (NONE, POWER, SUPPLY, FUNDING)]

    for i, site in enumerate(sc.sites):
        for k, m in enumerate(months):
            rows.append([site["name"], m, n_paths] + shares(b_all[i, k]))
    for k, m in enumerate(months):
        rows.append(["ALL", m, n_paths] + shares(b_all[:, k]))
    for g, members in sc.groups:
        for k, m in enumerate(months):
            rows.append([g, m, n_paths] + shares(b_all[members, k]))
    write_csv(os.path.join(out_dir, "attribution.csv"),
              ["site", "month", "paths", "none", "power", "supply", "funding"], rows)

    # targets.csv: each site's target at each report month (read at the month index), then
    # ALL and each group (the sums).
    rows = []
    tg = np.array([[site["target"].at(float(t)) for t in sc.report] for site in sc.sites])
    for i, site in enumerate(sc.sites):
        rows += [[site["name"], m, fmt(v)] for m, v in zip(months, tg[i])]
    rows += [["ALL", m, fmt(v)] for m, v in zip(months, tg.sum(axis=0))]
    for g, members in sc.groups:
        rows += [[g, m, fmt(v)] for m, v in zip(months, tg[members].sum(axis=0))]
    write_csv(os.path.join(out_dir, "targets.csv"), ["site", "month", "target_gw"], rows)

    # drivers.csv: where the run kept its static draws (a plain run, a stress run's base);
    # and the reference's own drivers_se.csv beside it (for compare_reference.py).
    if "draws" in res:
        rows, se_rows = drivers_rows(sc, res)
        write_csv(os.path.join(out_dir, "drivers.csv"), DRIVERS_HEADER, rows)
        write_csv(os.path.join(out_dir, "drivers_se.csv"), DRIVERS_SE_HEADER, se_rows)


# ----------------------------------------------------------------------------------------
# Tail drivers (ANALYSIS.md "Tail drivers"; CONFIG.md "drivers.csv")
# ----------------------------------------------------------------------------------------

DRIVERS_HEADER = ["site", "kind", "input", "tail_paths", "threshold_gw_months", "mean_all",
                  "sd_all", "mean_tail", "shift_sd"]
# The reference's standard errors of drivers.csv's means (not an engine file): sd_tail, the
# draw's sample sd (n - 1) over the tail (input rows); se_mean_all and se_mean_tail, the
# standard errors of mean_all and mean_tail: sd / sqrt(paths) for input rows, and for binding
# rows those of a ratio of per-path counts (paths as clusters: a path's site-months are not
# independent), sqrt(m / (m - 1) * sum_i (a_i - p s_i)^2) / sum_i s_i over the m paths, with
# s_i the path's short site-months at the report months and a_i those the constraint bound.
DRIVERS_SE_HEADER = ["site", "kind", "input", "tail_paths", "sd_tail", "se_mean_all", "se_mean_tail"]


def drivers_rows(sc, res):
    """drivers.csv's rows. For each site, then ALL, then each group (the tables' order), the
    tail is the paths whose shortfall GW-months over the horizon (the per-path sums of
    percentiles.csv) are >= the smallest of the largest ceil(0.05 n) of them and > 0. Then one
    `input` row per static uncertain input (sensitivity_inputs, the list `caprisk
    sensitivity` swings): the draw's mean and sample sd (n - 1) over every path, its mean in
    the tail and shift_sd = (mean_tail - mean_all) / sd_all, rows by |shift_sd| largest first
    (equal: the inputs' order; the order is the sort's, so near-ties may be ordered otherwise
    by the engine); then the `binding` rows power, supply, funding: the constraint's share of
    the entity's short site-months at the report months, over every path and in the tail.
    Readings: an empty tail leaves mean_tail and shift_sd empty (CONFIG.md), and its input rows
    in the inputs' order; a share over no short site-month is left empty; shift_sd is 0 where
    sd_all is 0 (every draw equal, so the tail's mean is the mean). Also returns the rows of
    drivers_se.csv (DRIVERS_SE_HEADER), the same keys in the same order."""
    names = [p for p, _, _, _ in sensitivity_inputs(sc)]
    D = res["draws"]                               # [inputs, paths]
    sm, b_all = res["short_months"], res["bind_rep"]
    n = sm.shape[-1]
    k = (n + 19) // 20
    # Per-input vectors (a few dozen values), brought to the host once: they are sorted and
    # formatted one by one below.
    mean_all = to_host(D.mean(axis=1))
    sd_all = to_host(D.std(axis=1, ddof=1)) if n > 1 else np.zeros(len(names))
    ents = ([(site["name"], sm[i], [i]) for i, site in enumerate(sc.sites)] +
            [("ALL", sm.sum(axis=0), list(range(len(sc.sites))))] +
            [(g, sm[members].sum(axis=0), members) for g, members in sc.groups])

    def shares(b):
        """[(share, its SE over paths)] for power, supply, funding, formatted; b: [.., ..,
        paths]. With no short site-month, ("", ""): 0/0 is no share."""
        s_i = xp.count_nonzero(b != NONE, axis=(0, 1)).astype(float)
        m, short = s_i.size, s_i.sum()
        out = []
        for c in (POWER, SUPPLY, FUNDING):
            a_i = xp.count_nonzero(b == c, axis=(0, 1)).astype(float)
            if not short:
                out.append(("", ""))
                continue
            p = a_i.sum() / short
            se = math.sqrt(m / (m - 1) * xp.sum((a_i - p * s_i) ** 2)) / short if m > 1 else 0.0
            out.append((fmt(p), fmt(se)))
        return out

    rows, se_rows = [], []
    root_n = math.sqrt(n)
    for name, gm, members in ents:
        # The same per-path sums as percentiles.csv's shortfall_gw_months rows.
        threshold = xp.partition(gm, n - k)[n - k]
        tail = (gm >= threshold) & (gm > 0)
        nt = int(xp.count_nonzero(tail))
        tail_cols = [nt, fmt(threshold)]
        if nt:
            mean_tail = to_host(D[:, tail].mean(axis=1))
            sd_tail = to_host(D[:, tail].std(axis=1, ddof=1)) if nt > 1 else np.zeros(len(names))
            with np.errstate(divide="ignore", invalid="ignore"):
                shift = np.where(sd_all > 0, (mean_tail - mean_all) / sd_all, 0.0)
            order = sorted(range(len(names)), key=lambda j: -abs(shift[j]))
        else:
            order = list(range(len(names)))
        for j in order:
            rows.append([name, "input", names[j]] + tail_cols +
                        [fmt(mean_all[j]), fmt(sd_all[j])] +
                        ([fmt(mean_tail[j]), fmt(shift[j])] if nt else ["", ""]))
            se_rows.append([name, "input", names[j], nt] +
                           ([fmt(sd_tail[j])] if nt else [""]) + [fmt(sd_all[j] / root_n)] +
                           ([fmt(sd_tail[j] / math.sqrt(nt))] if nt else [""]))
        b = b_all[members]                         # [members, report months, paths]
        s_all = shares(b)
        s_tail = shares(b[:, :, tail]) if nt else None
        for c, label in enumerate(("power", "supply", "funding")):
            rows.append([name, "binding", label] + tail_cols +
                        [s_all[c][0], "", s_tail[c][0] if nt else "", ""])
            se_rows.append([name, "binding", label, nt, "", s_all[c][1], s_tail[c][1] if nt else ""])
    return rows, se_rows


# ----------------------------------------------------------------------------------------
# Stresses (ANALYSIS.md "Named stresses", "stress_compare.csv")
# ----------------------------------------------------------------------------------------

COMPARE_HEADER = ["stress", "site", "month", "metric", "paths", "base_mean", "stress_mean",
                  "diff_mean", "diff_sd", "diff_ci_low", "diff_ci_high", "p_diff_positive",
                  "base_p50", "stress_p50", "diff_p50", "base_p95", "stress_p95", "diff_p95"]


def compare_rows(name, base_cells, stress_cells, p_diff_tol=P_DIFF_TOL):
    """One stress_compare.csv row per row of percentiles.csv: the paired differences
    d = stressed - base over the same paths."""
    rows = []
    for (site, month, metric, x, _), (s2, m2, k2, y, _) in zip(base_cells, stress_cells):
        assert (site, month, metric) == (s2, m2, k2), "a stress changed the tables' shape"
        d = y - x
        n = d.size
        dm = d.mean()
        sd = d.std(ddof=1) if n > 1 else 0.0
        half = Z975 * sd / math.sqrt(n)
        bp50, sp50 = xp.percentile(x, 50), xp.percentile(y, 50)
        bp95, sp95 = xp.percentile(x, 95), xp.percentile(y, 95)
        rows.append([name, site, month, metric, n] +
                    [fmt(v) for v in (x.mean(), y.mean(), dm, sd, dm - half, dm + half,
                                      xp.mean(d > p_diff_tol), bp50, sp50, sp50 - bp50,
                                      bp95, sp95, sp95 - bp95)])
    return rows


def run_stresses(cfg, cli_sets, cli_shifts, only, paths, seed, chunk, out_dir, log,
                 p_diff_tol=P_DIFF_TOL):
    stresses = cfg.get("stresses") or []
    # ANALYSIS.md: a stress is applied on top of the command line's overrides: the file, the
    # command line's sets, the stress's sets, the command line's shifts, the stress's shifts.
    if not stresses:
        raise SystemExit("reference_numpy: the config has no stresses")
    names = [s["name"] for s in stresses]
    for o in only:
        if o not in names:
            raise SystemExit(f"reference_numpy: no stress named '{o}'; its stresses: {', '.join(names)}")
    chosen = [s for s in stresses if not only or s["name"] in only]  # in the config's order

    base_sc = Scenario(apply_overrides(cfg, cli_sets, cli_shifts))
    log(f"base: simulating {paths} paths")
    base = simulate(base_sc, paths, seed, chunk, keep_draws=True)   # its drivers.csv too
    write_reports(base_sc, base, out_dir)
    base_cells = list(cells(base_sc, base))
    compare = []
    for s in chosen:
        sets, shifts = stress_edits(s)
        try:
            sc = Scenario(apply_overrides(cfg, cli_sets + sets, cli_shifts + shifts))
        except OverrideError as e:
            raise OverrideError(f"stress {s['name']}: {e}") from None
        log(f"stress {s['name']}: simulating {paths} paths")
        res = simulate(sc, paths, seed, chunk)
        write_reports(sc, res, os.path.join(out_dir, "stress", s["name"]))
        compare += compare_rows(s["name"], base_cells, cells(sc, res), p_diff_tol)
        del res
    write_csv(os.path.join(out_dir, "stress_compare.csv"), COMPARE_HEADER, compare)


# ----------------------------------------------------------------------------------------
# Sensitivity (ANALYSIS.md "Sensitivity: which inputs move the shortfall")
# ----------------------------------------------------------------------------------------

SENS_DEFAULT_PATHS = 20000   # ANALYSIS.md: 20,000 paths (or scenario.paths when smaller)
SENS_D_TOL = 1e-9            # ANALYSIS.md: a per-path d of at most 1e-9 counts as 0

TORNADO_HEADER = ["input", "site", "month", "metric", "rank", "paths", "low", "high",
                  "base_mean", "mean_at_low", "mean_at_high",
                  "change_at_low", "change_at_low_ci_low", "change_at_low_ci_high",
                  "change_at_high", "change_at_high_ci_low", "change_at_high_ci_high",
                  "swing", "swing_ci_low", "swing_ci_high"]


def sensitivity_inputs(sc):
    """The static uncertain inputs in ANALYSIS.md's order, as (config path, event, low, high).
    A static input (not the per-event disruption loss and recovery) is uncertain when it is
    not `fixed` and its P10 and P90 (its quantile function at 0.1 and 0.9: the marginal,
    whether or not it is tied to a factor) differ; low = P10, high = P90. An event
    (close_probability, failure_probability) is uncertain when 0 < p < 1, and swings from
    forced off (low 0) to forced on (high 1). A key the config leaves out has its default
    (lead time 0, capacity factor 1, power delay 0, availability 1, close 1, failure 0), which
    is fixed or certain, so never an input."""
    out = []

    def static(path, dist):
        if dist.kind == "fixed":
            return
        lo, hi = (float(dist.q(np.array([u]))[0]) for u in (0.1, 0.9))
        if lo != hi:
            out.append((path, False, lo, hi))

    def event(path, dist):
        if 0.0 < dist.p < 1.0:
            out.append((path, True, 0.0, 1.0))

    def curve(path, c):
        static(path + ".initial", c.initial)
        static(path + ".mature", c.mature)
        static(path + ".tau_months", c.tau)

    static("supply.program_share", sc.program_share)
    static("supply.stacks_per_wafer", sc.stacks_per_wafer)
    static("supply.stacks_per_accelerator", sc.stacks_per_acc)
    static("supply.kw_per_accelerator", sc.kw_per_acc)
    static("supply.lead_time_months", sc.lead_time)
    curve("supply.hbm_yield", sc.hbm_yield)
    if sc.pkg_yield is not None:
        curve("supply.package_yield", sc.pkg_yield)
    for sp in sc.suppliers:
        p = f"supply.suppliers[{sp['name']}]"
        static(p + ".ramp_delay_months", sp["ramp_delay"])
        static(p + ".capacity_factor", sp["capacity_factor"])
        if sp["hbm_yield"] is not None:
            curve(p + ".hbm_yield", sp["hbm_yield"])
    static("funding.capex_per_gw", sc.capex)
    for d in sc.deals:
        p = f"funding.deals[{d['name']}]"
        static(p + ".delay_months", d["delay"])
        event(p + ".close_probability", d["close"])
    for site in sc.sites:
        p = f"sites[{site['name']}]"
        static(p + ".build_rate_gw", site["build_rate"])
        static(p + ".power.delay_months", site["power_delay"])
        static(p + ".power.availability", site["availability"])
        event(p + ".power.failure_probability", site["failure"])
    return out


def sensitivity_entities(sc):
    """ALL, then the groups in the config's order: (name, member site indices)."""
    return [("ALL", list(range(len(sc.sites))))] + list(sc.groups)


def sensitivity_metrics(sc, res):
    """Per entity: [0] the shortfall GW-months over the horizon, [1 + k] the shortfall at
    report month k; shape [entities, 1 + report months, paths]. Sums over the members are
    per path, in site order (as percentiles.csv's ALL and groups)."""
    ents = sensitivity_entities(sc)
    n = res["short_months"].shape[-1]
    M = xp.empty((len(ents), 1 + len(sc.report), n))
    for e, (_, members) in enumerate(ents):
        M[e, 0] = res["short_months"][members].sum(axis=0)
        M[e, 1:] = res["short_rep"][members].sum(axis=0)
    return M


class Moments:
    """Count, mean and sum of squared deviations over paths (last axis), merged chunk by
    chunk (Chan et al.), so that a chunk's per-path values can be dropped."""

    def __init__(self, shape):
        self.n = 0
        self.mean = np.zeros(shape)
        self.m2 = np.zeros(shape)

    def add(self, x):
        nb = x.shape[-1]
        mb = x.mean(axis=-1)
        m2b = ((x - mb[..., None]) ** 2).sum(axis=-1)
        if self.n == 0:
            self.n, self.mean, self.m2 = nb, mb, m2b
            return
        n = self.n + nb
        delta = mb - self.mean
        self.mean = self.mean + delta * (nb / n)
        self.m2 = self.m2 + m2b + delta * delta * (self.n * nb / n)
        self.n = n

    def to_host(self):
        """Brings the (small) merged moments to the host, once all chunks are added, before
        tornado_rows reads them value by value."""
        self.mean, self.m2 = to_host(self.mean), to_host(self.m2)
        return self

    def sd(self):
        """Sample sd (n - 1); 0 for one path (the moments on the host: see to_host)."""
        if self.n < 2:
            return np.zeros_like(self.mean)
        return np.sqrt(np.maximum(self.m2, 0.0) / (self.n - 1))


def zero_small(d, tol=SENS_D_TOL):
    return xp.where(xp.abs(d) <= tol, 0.0, d)


def tornado_rows(sc, inputs, base, acc, n):
    """tornado.csv's rows: blocks of one (site, month, metric), ALL then the groups, within
    an entity `horizon` (GW-months) then the report months; within a block, inputs by swing,
    largest first (ties: the inputs' order), ranked from 1. Also returns the ALL-horizon
    block (for summary.json's top ten)."""
    rows, top = [], []
    root_n = math.sqrt(n)
    for e, (name, _) in enumerate(sensitivity_entities(sc)):
        for b in range(1 + len(sc.report)):
            month = "horizon" if b == 0 else sc.cal.name(sc.report[b - 1])
            metric = "shortfall_gw_months" if b == 0 else "shortfall_gw"
            base_mean = float(base.mean[e, b])
            block = []
            for i, (path, _, lo, hi) in enumerate(inputs):
                r = dict(input=path, lo=lo, hi=hi)
                for side in ("low", "high"):
                    m = float(acc[i][side].mean[e, b])
                    half = Z975 * float(acc[i][side].sd()[e, b]) / root_n
                    r[side] = (m, m - half, m + half)
                # swing: |mean of d = high - low|, its interval [a, b] taken through |.|.
                m = float(acc[i]["hl"].mean[e, b])
                half = Z975 * float(acc[i]["hl"].sd()[e, b]) / root_n
                a, bb = m - half, m + half
                if a > 0:
                    ci = (a, bb)
                elif bb < 0:
                    ci = (-bb, -a)
                else:
                    ci = (0.0, max(-a, bb))
                r["swing"] = (abs(m),) + ci
                block.append((i, r))
            block.sort(key=lambda ir: (-ir[1]["swing"][0], ir[0]))
            for rank, (i, r) in enumerate(block, start=1):
                cl, ch = r["low"][0], r["high"][0]
                rows.append([r["input"], name, month, metric, rank, n] +
                            [fmt(v) for v in (r["lo"], r["hi"], base_mean, base_mean + cl,
                                              base_mean + ch)] +
                            [fmt(v) for v in r["low"] + r["high"] + r["swing"]])
                if e == 0 and b == 0:
                    top.append(dict(input=r["input"], mean_at_low=base_mean + cl,
                                    mean_at_high=base_mean + ch, swing=r["swing"][0],
                                    swing_ci_low=r["swing"][1], swing_ci_high=r["swing"][2]))
    return rows, top


def run_sensitivity(cfg, paths, seed, chunk, out_dir, log):
    """`caprisk sensitivity` (ANALYSIS.md): the base and, for every static uncertain input,
    the scenario with it pinned at its P10 and at its P90, over the same paths and random
    numbers. Writes DIR/tornado.csv; DIR/summary.json with only `paths`, `seed` and
    `sensitivity` (the inputs with low and high, and the top ten of ALL's GW-months); and
    the base's percentiles.csv, attribution.csv and targets.csv (the tables a plain run of
    these paths writes, for the base's sd). Memory: per chunk, the per-path metrics of the
    base and of two pinned variants; the base's tables keep the base's outputs as a plain
    run does."""
    sc = Scenario(cfg)
    inputs = sensitivity_inputs(sc)
    shape = (len(sensitivity_entities(sc)), 1 + len(sc.report))
    base = Moments(shape)
    acc = [{k: Moments(shape) for k in ("low", "high", "hl")} for _ in inputs]
    parts = []
    log(f"sensitivity: {len(inputs)} inputs, {2 * len(inputs) + 1} variants of {paths} paths")
    for c, first in enumerate(range(0, paths, chunk)):
        streams = Streams(seed, c, min(chunk, paths - first))
        res = simulate_chunk(sc, streams)
        xb = sensitivity_metrics(sc, res)   # on the device under cupy, as are the Moments
        parts.append(res)
        base.add(xb)
        for i, (path, _, lo, hi) in enumerate(inputs):
            xl = sensitivity_metrics(sc, simulate_chunk(sc, streams, {path: lo}))
            xh = sensitivity_metrics(sc, simulate_chunk(sc, streams, {path: hi}))
            acc[i]["low"].add(zero_small(xl - xb))
            acc[i]["high"].add(zero_small(xh - xb))
            acc[i]["hl"].add(zero_small(xh - xl))
            del xl, xh
        log(f"sensitivity: chunk {c} done ({first + streams.n} of {paths} paths)")
    base.to_host()
    for a in acc:
        for m in a.values():
            m.to_host()
    rows, top = tornado_rows(sc, inputs, base, acc, paths)
    os.makedirs(out_dir, exist_ok=True)
    write_csv(os.path.join(out_dir, "tornado.csv"), TORNADO_HEADER, rows)
    summary = dict(reference="scripts/reference_numpy.py --sensitivity", paths=paths, seed=seed,
                   sensitivity=dict(
                       inputs=[dict(input=p, event=ev, low=lo, high=hi) for p, ev, lo, hi in inputs],
                       top_gw_months=top[:10]))
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    all_res = {k: xp.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}
    write_reports(sc, all_res, out_dir)


# ----------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--paths", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chunk", type=int, default=50000, help="paths simulated at once")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                    help="put a YAML value at a config path (repeatable)")
    ap.add_argument("--shift", dest="shifts", action="append", default=[], metavar="PATH=MONTHS",
                    help="move every point of a schedule by MONTHS (repeatable)")
    ap.add_argument("--stress", action="store_true",
                    help="run the base and the config's stresses over the same paths")
    ap.add_argument("--sensitivity", action="store_true",
                    help="pin every static uncertain input at its P10 and P90 over the same "
                         "paths and write tornado.csv (default paths: min(scenario.paths, "
                         f"{SENS_DEFAULT_PATHS}))")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="with --stress: only this stress (repeatable)")
    ap.add_argument("--p-diff-tol", type=float, default=P_DIFF_TOL,
                    help="with --stress: p_diff_positive counts d > this (default 1e-9; "
                         "0: the literal d > 0, rounding noise included)")
    ap.add_argument("--xp", choices=("numpy", "cupy"), default="numpy",
                    help="array module for the per-path arrays: numpy (default) or cupy (a GPU; "
                         "the same random numbers, drawn on the host)")
    ap.add_argument("--verbose", "-v", action="store_true", help="progress on stderr")
    a = ap.parse_args(argv)
    if a.only and not a.stress:
        ap.error("--only needs --stress")
    if a.stress and a.sensitivity:
        ap.error("--stress and --sensitivity are separate modes")
    if a.chunk < 1 or (a.paths is not None and a.paths < 1):
        ap.error("--paths and --chunk must be at least 1")
    started = time.perf_counter()
    problem = use_array_module(a.xp)
    if problem:
        print(problem, file=sys.stderr)
        return 2

    def log(msg):
        if a.verbose:
            print(f"reference_numpy: {msg}", file=sys.stderr, flush=True)

    try:
        cfg = load_config(a.config)
        sets = []
        for text in a.sets:
            path, value = split_override(text, "--set")
            sets.append((path, parse_yaml_value(value)))
        shifts = []
        for text in a.shifts:
            path, value = split_override(text, "--shift")
            try:
                shifts.append((path, float(value)))
            except ValueError:
                raise OverrideError(f"--shift {text}: MONTHS must be a number, got '{value}'")
        base_cfg = apply_overrides(cfg, sets, shifts)   # checks the command line's edits
        sc = Scenario(base_cfg)
    except OverrideError as e:
        print(f"reference_numpy: error: {e}", file=sys.stderr)
        return 2
    if getattr(sc, "report_dropped", 0):
        print(f"reference_numpy: {sc.report_dropped} report month(s) after the horizon's last "
              f"month {sc.cal.name(sc.T - 1)} left out", file=sys.stderr)
    paths = a.paths if a.paths is not None else sc.paths
    if a.sensitivity and a.paths is None:
        paths = min(sc.paths, SENS_DEFAULT_PATHS)
    seed = a.seed if a.seed is not None else sc.seed
    try:
        if a.sensitivity:
            run_sensitivity(base_cfg, paths, seed, a.chunk, a.out, log)
        elif a.stress:
            run_stresses(cfg, sets, shifts, a.only, paths, seed, a.chunk, a.out, log,
                         a.p_diff_tol)
        else:
            write_reports(sc, simulate(sc, paths, seed, a.chunk, keep_draws=True), a.out)
    except OverrideError as e:
        print(f"reference_numpy: error: {e}", file=sys.stderr)
        return 2
    # One line for a benchmark to read: the array module, the simulation's wall time (every
    # simulate_chunk, device synchronised) and the whole run's (set-up and tables included).
    print(f"reference_numpy: xp={XP_NAME} ({array_module_description()}) "
          f"simulate_s={SIM_CLOCK['seconds']:.3f} total_s={time.perf_counter() - started:.3f} "
          f"paths={paths} chunk={a.chunk} simulate_calls={SIM_CLOCK['calls']}"
          + (f" host_fallbacks={','.join(XSP_HOST_FALLBACKS)}" if XSP_HOST_FALLBACKS else ""),
          file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
