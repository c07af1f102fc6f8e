#!/usr/bin/python3
"""Independent NumPy reference implementation of the caprisk model (docs/MODEL.md).

Written from docs/MODEL.md and docs/CONFIG.md only (not from the engine's source), so that
comparing its tables with the engine's (scripts/compare_reference.py) catches bugs in either.
It draws its own random numbers (numpy's default_rng): agreement is statistical, not bitwise.

Usage:
    /usr/bin/python3 scripts/reference_numpy.py CONFIG [--paths N] [--seed S] --out DIR
                                                [--chunk N]

Writes DIR/percentiles.csv, DIR/attribution.csv and DIR/targets.csv with the engine's layout
(docs/CONFIG.md, "Outputs"; not summary.json). The config is assumed to be valid (run
`caprisk validate` for the checks); only the checks needed to compute anything are made here.

Everything is vectorised over paths: arrays have shape [n] (one value per path); loops run
over months, sites (in priority order), deals and suppliers only.
"""
import argparse
import csv
import datetime
import math
import os
import sys

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


# ----------------------------------------------------------------------------------------
# Months and schedules (MODEL.md "Units and time")
# ----------------------------------------------------------------------------------------

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
        """Engine note: (year - start_year)*12 + (month - start_month); may be negative."""
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
        return np.interp(x, self.x, self.y)


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
        u = np.asarray(u, dtype=float)
        k = self.kind
        if k == "fixed":
            return np.full(u.shape, self.v)
        if k == "uniform":
            return np.clip(self.lo + u * (self.hi - self.lo), self.lo, self.hi)
        if k == "normal":
            x = self.mean + self.sd * special.ndtri(self.pa + u * (self.pb - self.pa))
            return np.clip(x, self.lo, self.hi)
        if k == "lognormal":
            return np.exp(self.mu + self.sigma * special.ndtri(u))
        if k == "triangular":
            lo, c, hi = self.lo, self.mode, self.hi
            w = hi - lo
            fc = (c - lo) / w
            left = lo + np.sqrt(u * w * (c - lo))
            right = hi - np.sqrt((1.0 - u) * w * (hi - c))
            return np.clip(np.where(u < fc, left, right), lo, hi)
        if k == "pert":
            x = self.lo + (self.hi - self.lo) * special.betaincinv(self.a, self.b, u)
            return np.clip(x, self.lo, self.hi)
        if k == "beta":
            return np.clip(special.betaincinv(self.a, self.b, u), 0.0, 1.0)
        if k == "bernoulli":
            # Engine note: Q(u) = 1 if u > 1 - p else 0.
            return (u > 1.0 - self.p).astype(float)
        raise AssertionError(k)


def opt_dist(node, key, default, event=False):
    return Dist(node[key] if key in node else default, event=event)


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

    def draw(self, rng, n):
        """Per path: z = L eps; for student_t also w = sqrt(df / chi2_df) (one per path).
        Returns a function (factor, sign) -> u array."""
        k = len(self.names)
        eps = rng.standard_normal((n, k))
        z = eps @ self.L.T
        if self.kind == "student_t":
            w = np.sqrt(self.df / rng.chisquare(self.df, n))
        cache = {}

        def u_of(name, sign):
            key = (name, sign)
            if key not in cache:
                x = sign * z[:, self.names.index(name)]
                if self.kind == "student_t":
                    u = special.stdtr(self.df, x * w)
                else:
                    u = special.ndtr(x)
                cache[key] = np.clip(u, U_LO, U_HI)
            return cache[key]

        return u_of


class Sampler:
    """Draws static inputs: through the copula if the dist names a factor, else independent."""

    def __init__(self, rng, n, u_of):
        self.rng, self.n, self.u_of = rng, n, u_of

    def uniform(self):
        return np.clip(self.rng.random(self.n), U_LO, U_HI)

    def static(self, dist):
        if dist.factor is not None:
            u = self.u_of(dist.factor, dist.sign)
        else:
            u = self.uniform()
        return dist.q(u)


# ----------------------------------------------------------------------------------------
# Scenario (docs/CONFIG.md)
# ----------------------------------------------------------------------------------------

class YieldCurve:
    """MODEL.md "Supply": Y(t) = mature - (mature - initial) exp(-t / tau)."""

    def __init__(self, node):
        self.initial = Dist(node["initial"])
        self.mature = Dist(node["mature"])
        self.tau = Dist(node["tau_months"])

    def sample(self, s):
        return s.static(self.initial), s.static(self.mature), s.static(self.tau)

    @staticmethod
    def at(sampled, t):
        y0, y1, tau = sampled
        return y1 - (y1 - y0) * np.exp(-t / tau)


class Scenario:
    def __init__(self, path):
        with open(path) as f:
            cfg = yaml.safe_load(f)
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
            dropped = len(rm) - len(self.report)
            if dropped:
                print(f"reference_numpy: {dropped} report month(s) after the horizon's last "
                      f"month {self.cal.name(self.T - 1)} left out", file=sys.stderr)
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
            if "disruption" in s:
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
                final_month=self.cal.index(tg[-1][0]),
                build_rate=Dist(s["build_rate_gw"]),
                power=Schedule(pw["schedule"], self.cal),
                power_delay=opt_dist(pw, "delay_months", 0),
                availability=opt_dist(pw, "availability", 1),
                failure=opt_dist(pw, "failure_probability", 0, event=True)))
        # Service order: priority ascending, ties in config order (stable sort).
        self.order = sorted(range(len(self.sites)), key=lambda i: self.sites[i]["priority"])


# ----------------------------------------------------------------------------------------
# Static draws of one chunk of paths (MODEL.md "Uncertain inputs": static = once per path)
# ----------------------------------------------------------------------------------------

def sample_statics(sc, s):
    st = {}
    st["share"] = s.static(sc.program_share)
    st["spw"] = s.static(sc.stacks_per_wafer)
    st["spa"] = s.static(sc.stacks_per_acc)
    st["kw"] = s.static(sc.kw_per_acc)
    lt = s.static(sc.lead_time)
    # MODEL.md "Supply", Engine: nearest month, halves away from zero (lead time >= 0).
    st["lead"] = np.floor(lt + 0.5).astype(np.int64)
    st["capex"] = s.static(sc.capex)
    st["y_hbm"] = sc.hbm_yield.sample(s)
    st["y_pkg"] = sc.pkg_yield.sample(s) if sc.pkg_yield is not None else None
    st["sup"] = []
    for sp in sc.suppliers:
        st["sup"].append(dict(
            delay=s.static(sp["ramp_delay"]),
            cf=s.static(sp["capacity_factor"]),
            y_hbm=sp["hbm_yield"].sample(s) if sp["hbm_yield"] is not None else st["y_hbm"]))
    st["deals"] = []
    for d in sc.deals:
        st["deals"].append(dict(delay=s.static(d["delay"]), closed=s.static(d["close"]) > 0.5))
    st["sites"] = []
    for site in sc.sites:
        st["sites"].append(dict(
            delay=s.static(site["power_delay"]),
            avail=s.static(site["availability"]),
            failed=s.static(site["failure"]) > 0.5,
            build=s.static(site["build_rate"])))
    return st


def first_month_at_or_after(x):
    """MODEL.md "Funding", Engine: the first month t >= x is max(0, ceil(x))."""
    return np.maximum(0, np.ceil(x)).astype(np.int64)


# ----------------------------------------------------------------------------------------
# Supply: wafers -> accelerators -> GW (MODEL.md "Supply")
# ----------------------------------------------------------------------------------------

class Supply:
    def __init__(self, sc, st, rng, n):
        self.sc, self.st, self.rng, self.n = sc, st, rng, n
        # One active disruption per supplier: its loss and the first month it is over.
        self.dis_loss = [np.zeros(n) for _ in sc.suppliers]
        self.dis_end = [np.zeros(n, dtype=np.int64) for _ in sc.suppliers]
        self.arrivals = np.zeros((sc.T, n))  # GW arriving for installation in each month
        self.rows = np.arange(n)

    def disruption_loss(self, j, t):
        """Supplier j's loss fraction in month t, after drawing month t's event."""
        d = self.sc.suppliers[j]["disruption"]
        if d is None:
            return 0.0
        p_event = 1.0 - math.exp(-d["rate"] / 12.0)
        starts = self.rng.random(self.n) < p_event
        loss = d["loss"].q(np.clip(self.rng.random(self.n), U_LO, U_HI))
        r = np.ceil(d["recovery"].q(np.clip(self.rng.random(self.n), U_LO, U_HI))).astype(np.int64)
        starts &= r >= 1  # Engine note: r <= 0 has no effect
        active = self.dis_end[j] > t
        # Merge: larger loss, until the later end; else a fresh event t .. t + r - 1.
        new_loss = np.where(active, np.maximum(self.dis_loss[j], loss), loss)
        new_end = np.where(active, np.maximum(self.dis_end[j], t + r), t + r)
        self.dis_loss[j] = np.where(starts, new_loss, self.dis_loss[j])
        self.dis_end[j] = np.where(starts, new_end, self.dis_end[j])
        return np.where(self.dis_end[j] > t, self.dis_loss[j], 0.0)

    def produce(self, t):
        """S(t) in GW produced in month t; schedules its arrival at t + lead."""
        sc, st = self.sc, self.st
        y_pkg = YieldCurve.at(st["y_pkg"], t) if st["y_pkg"] is not None else 1.0
        good_stacks = np.zeros(self.n)
        for j, sp in enumerate(sc.suppliers):
            s = st["sup"][j]
            wafers = sp["wafers"].at(t - s["delay"]) * s["cf"] * (1.0 - self.disruption_loss(j, t))
            good_stacks += wafers * st["spw"] * YieldCurve.at(s["y_hbm"], t) * y_pkg
        S = st["share"] * good_stacks / st["spa"] * st["kw"] / 1e6
        if sc.pack_cap is not None:
            S = np.minimum(S, sc.pack_cap.at(float(t)))
        arrive = t + st["lead"]
        ok = arrive < sc.T  # what would arrive after the horizon is dropped
        self.arrivals[arrive[ok], self.rows[ok]] += S[ok]


# ----------------------------------------------------------------------------------------
# Funding: deals (MODEL.md "Funding: deals")
# ----------------------------------------------------------------------------------------

class Funding:
    def __init__(self, sc, st, rng, n):
        self.sc, self.st, self.rng, self.n = sc, st, rng, n
        self.received = [np.zeros(n) for _ in sc.deals]  # USD B received so far
        self.charged = [np.zeros(n) for _ in sc.deals]   # G_d: GW charged so far
        self.alive = [st["deals"][j]["closed"].copy() for j in range(len(sc.deals))]
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
                    self.received[j] += np.where(alive & (arr == t), amount, 0.0)
            else:
                tau = t - 1 - d["lag"]
                H = self.H[j][tau] if tau >= 0 else np.zeros(self.n)
                total = np.minimum(d["cap"], d["advance"] + d["per_gw"] * np.floor(H + FLOOR_EPS))
                self.received[j] = np.where(alive & (t >= self.start[j]), total, self.received[j])
            if d["hazard"] > 0:
                p = 1.0 - math.exp(-d["hazard"] / 12.0)
                cancel = (self.rng.random(self.n) < p) & (t >= self.start[j])
                self.alive[j] = alive & ~cancel

    def room(self, j):
        """Fundable room of deal j: max(0, received / capex - G)."""
        return np.maximum(0.0, self.received[j] / self.st["capex"] - self.charged[j])

    def charge(self, deals, alloc):
        """Charge alloc to the deals in funded_by order, each up to its fundable room."""
        remaining = alloc.copy()
        for j in deals:
            c = np.minimum(remaining, self.room(j))
            self.charged[j] += c
            remaining -= c

    def record_installed(self, X, sites):
        for j in range(len(self.sc.deals)):
            H = np.zeros(self.n)
            for i, site in enumerate(sites):
                if j in site["funded_by"]:
                    H += X[i]
            self.H[j].append(H)


# ----------------------------------------------------------------------------------------
# One chunk of paths: the monthly loop (MODEL.md "Sites and the monthly allocation")
# ----------------------------------------------------------------------------------------

NONE, POWER, SUPPLY, FUNDING = 0, 1, 2, 3


def simulate_chunk(sc, rng, n):
    u_of = sc.copula.draw(rng, n)
    st = sample_statics(sc, Sampler(rng, n, u_of))
    supply = Supply(sc, st, rng, n)
    funding = Funding(sc, st, rng, n)
    ns, T = len(sc.sites), sc.T
    X = [np.zeros(n) for _ in range(ns)]
    inventory = np.zeros(n)
    report_pos = {t: k for k, t in enumerate(sc.report)}
    short_rep = np.zeros((ns, len(sc.report), n))
    bind_rep = np.zeros((ns, len(sc.report), n), dtype=np.int8)
    short_months = np.zeros((ns, n))
    first_on_target = np.full((ns, n), -1, dtype=np.int64)

    for t in range(T):
        supply.produce(t)
        inventory += supply.arrivals[t]          # 1. supply arriving this month
        funding.receive(t)                        # 2. tranches, then cancellations
        for i in sc.order:                        # 3. sites in priority order
            site, ss = sc.sites[i], st["sites"][i]
            target = site["target"].at(float(t))
            power = np.where(ss["failed"], 0.0, ss["avail"] * site["power"].at(t - ss["delay"]))
            room = np.minimum(np.minimum(power, target) - X[i], ss["build"])
            funds = np.zeros(n)
            for j in site["funded_by"]:
                funds += funding.room(j)
            supply_before = inventory.copy()
            alloc = np.maximum(0.0, np.minimum(np.minimum(room, inventory), funds))
            X[i] = X[i] + alloc
            inventory -= alloc
            funding.charge(site["funded_by"], alloc)
            # 4. shortfall, thresholded at 1e-6 GW
            gap = target - X[i]
            short = np.where(gap > SHORT_EPS, gap, 0.0)
            short_months[i] += short
            # months_late: first month with X + 1e-6 >= (1 - tol) * final target
            hit = (X[i] + SHORT_EPS >= (1.0 - sc.tol) * site["final_target"]) & (first_on_target[i] < 0)
            first_on_target[i][hit] = t
            if t in report_pos:
                k = report_pos[t]
                short_rep[i, k] = short
                # Binding constraint: smallest limit; within 1e-9 ties: power, supply, funding.
                lo = np.minimum(np.minimum(room, supply_before), funds)
                b = np.where(room <= lo + TIE_EPS, POWER,
                             np.where(supply_before <= lo + TIE_EPS, SUPPLY, FUNDING))
                bind_rep[i, k] = np.where(short > 0, b, NONE)
        funding.record_installed(X, sc.sites)

    months_late = np.zeros((ns, n))
    censored = np.zeros((ns, n), dtype=bool)
    for i, site in enumerate(sc.sites):
        L = site["final_month"]
        f = first_on_target[i]
        censored[i] = f < 0
        months_late[i] = np.where(censored[i], np.clip(T - L, 0, T), np.clip(f - L, 0, T))
    return dict(short_rep=short_rep, bind_rep=bind_rep, short_months=short_months,
                months_late=months_late, censored=censored)


def simulate(sc, paths, seed, chunk):
    rng = np.random.default_rng(seed)
    parts = []
    done = 0
    while done < paths:
        n = min(chunk, paths - done)
        parts.append(simulate_chunk(sc, rng, n))
        done += n
    return {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}


# ----------------------------------------------------------------------------------------
# Reports (MODEL.md "Reports"; CONFIG.md "Outputs")
# ----------------------------------------------------------------------------------------

def fmt(x):
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def cell_stats(values, percentiles):
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    out = [n, x.mean(), x.std(ddof=1) if n > 1 else 0.0]
    for q in percentiles:
        p = np.percentile(x, q)
        f = q / 100.0
        half = 1.96 * math.sqrt(n * f * (1.0 - f))
        lo = min(max(math.floor(n * f - half), 1), n)
        hi = min(max(math.ceil(n * f + half), 1), n)
        out += [p, x[lo - 1], x[hi - 1]]
    k = (n + 19) // 20
    out.append(x[n - k:].mean())
    out.append(np.mean(x > 0))
    return out


def write_reports(sc, res, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    last = sc.cal.name(sc.T - 1)
    header = ["site", "month", "metric", "paths", "mean", "sd"]
    for q in sc.percentiles:
        name = "p" + fmt(q)
        header += [name, name + "_ci_low", name + "_ci_high"]
    header += ["cvar95", "p_positive", "censored_share"]
    rows = []

    def add(site, month, metric, values, censored=None):
        st = cell_stats(values, sc.percentiles)
        rows.append([site, month, metric] + [fmt(v) for v in st] +
                    ["" if censored is None else fmt(np.mean(censored))])

    for i, site in enumerate(sc.sites):
        for k, t in enumerate(sc.report):
            add(site["name"], sc.cal.name(t), "shortfall_gw", res["short_rep"][i, k])
        add(site["name"], last, "shortfall_gw_months", res["short_months"][i])
        add(site["name"], last, "months_late", res["months_late"][i], res["censored"][i])
    for k, t in enumerate(sc.report):
        add("ALL", sc.cal.name(t), "shortfall_gw", res["short_rep"][:, k].sum(axis=0))
    add("ALL", last, "shortfall_gw_months", res["short_months"].sum(axis=0))
    with open(os.path.join(out_dir, "percentiles.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)

    with open(os.path.join(out_dir, "attribution.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["site", "month", "paths", "none", "power", "supply", "funding"])
        for i, site in enumerate(sc.sites):
            for k, t in enumerate(sc.report):
                b = res["bind_rep"][i, k]
                n = b.size
                w.writerow([site["name"], sc.cal.name(t), n] +
                           [fmt(np.count_nonzero(b == c) / n) for c in (NONE, POWER, SUPPLY, FUNDING)])
        # CONFIG.md: then one ALL row per report month, the shares over every site-path (the
        # mean of the sites' shares); `paths` is the path count.
        for k, t in enumerate(sc.report):
            b = res["bind_rep"][:, k]          # [sites, paths]
            n_paths = b.shape[1]
            w.writerow(["ALL", sc.cal.name(t), n_paths] +
                       [fmt(np.count_nonzero(b == c) / b.size)
                        for c in (NONE, POWER, SUPPLY, FUNDING)])

    # CONFIG.md "targets.csv": each site's target schedule at each report month, then ALL (sum).
    with open(os.path.join(out_dir, "targets.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["site", "month", "target_gw"])
        total = np.zeros(len(sc.report))
        for site in sc.sites:
            tg = np.array([site["target"].at(float(t)) for t in sc.report])
            total += tg
            for t, v in zip(sc.report, tg):
                w.writerow([site["name"], sc.cal.name(t), fmt(v)])
        for t, v in zip(sc.report, total):
            w.writerow(["ALL", sc.cal.name(t), fmt(v)])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--paths", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chunk", type=int, default=50000, help="paths simulated at once")
    a = ap.parse_args(argv)
    sc = Scenario(a.config)
    paths = a.paths if a.paths is not None else sc.paths
    seed = a.seed if a.seed is not None else sc.seed
    res = simulate(sc, paths, seed, a.chunk)
    write_reports(sc, res, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
