#!/usr/bin/python3
"""Draws a caprisk output folder as one self-contained HTML page (docs/REPORT.md).

Usage: report.py DIR [--out FILE]   (FILE default: DIR/report.html; "-" for stdout)

Reads only the folder's CSVs and summary.json, so a report can be remade from any output
folder later. Images are PNGs embedded as data: URIs: the page opens offline, mails as one
file and prints (one chart block per page side where it can). Needs matplotlib (Debian's
python3-matplotlib); nothing else.
"""
import base64
import csv
import html
import io
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"none": "#d9d9d9", "power": "#e6862e", "supply": "#3c78b4", "funding": "#9b4fa8"}
BAND_OUTER, BAND_INNER, LINE = "#c6dbef", "#6baed6", "#08306b"


def read_csv(folder, name):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        return None
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def number(text):
    return float(text) if text not in ("", None) else math.nan


def png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure_html(uri, alt, caption):
    return (f'<figure><img src="{uri}" alt="{html.escape(alt)}">'
            f"<figcaption>{caption}</figcaption></figure>")


def entities_of(rows):
    seen = []
    for r in rows:
        if r["site"] not in seen:
            seen.append(r["site"])
    return seen


def month_ticks(ax, months):
    step = max(1, len(months) // 6)
    ticks = list(range(0, len(months), step))
    ax.set_xticks(ticks)
    ax.set_xticklabels([months[i] for i in ticks], rotation=30, ha="right", fontsize=7)


def grid(count, width=3.2, height=2.3, columns=4):
    columns = min(columns, count)
    rows = (count + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows),
                             squeeze=False)
    for k in range(count, rows * columns):
        axes[k // columns][k % columns].axis("off")
    return fig, [axes[k // columns][k % columns] for k in range(count)]


def fan_charts(pct, targets, quantiles):
    """P5-P95 and P25-P75 bands, the median and the mean of every entity's shortfall."""
    rows = [r for r in pct if r["metric"] == "shortfall_gw"]
    names = entities_of(rows)
    fig, axes = grid(len(names))
    for ax, name in zip(axes, names):
        mine = [r for r in rows if r["site"] == name]
        months = [r["month"] for r in mine]
        x = range(len(mine))

        def q(label):
            return [number(r[label]) for r in mine]

        if {"p5", "p95"} <= quantiles:
            ax.fill_between(x, q("p5"), q("p95"), color=BAND_OUTER, label="P5-P95", lw=0)
        if {"p25", "p75"} <= quantiles:
            ax.fill_between(x, q("p25"), q("p75"), color=BAND_INNER, label="P25-P75", lw=0)
        if "p50" in quantiles:
            ax.plot(x, q("p50"), color=LINE, lw=1.4, label="median")
        ax.plot(x, q("mean"), color="#b2182b", lw=1.0, ls="--", label="mean")
        target = [number(t["target_gw"]) for t in targets if t["site"] == name] if targets else []
        if len(target) == len(mine):
            ax.plot(x, target, color="#555555", lw=0.8, ls=":", label="target")
        ax.set_title(name, fontsize=9)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
        month_ticks(ax, months)
        ax.grid(alpha=0.3, lw=0.5)
    axes[0].set_ylabel("shortfall (GW)", fontsize=8)
    axes[0].legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    return png(fig)


def binding_charts(attr):
    """Each site's (and ALL's, groups') shares of paths by binding constraint, over months."""
    names = entities_of(attr)
    fig, axes = grid(len(names), height=2.0)
    for ax, name in zip(axes, names):
        mine = [r for r in attr if r["site"] == name]
        x = range(len(mine))
        stack = [[number(r[c]) for r in mine] for c in ("power", "supply", "funding")]
        ax.stackplot(x, *stack, colors=[COLORS["power"], COLORS["supply"], COLORS["funding"]],
                     labels=["power", "supply", "funding"], lw=0)
        ax.set_ylim(0, 1)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        month_ticks(ax, [r["month"] for r in mine])
    axes[0].set_ylabel("share of paths short,\nby what binds", fontsize=8)
    axes[0].legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    return png(fig)


def distribution_chart(pct, quantiles):
    """The distribution of horizon GW-months of ALL and the groups, as exceedance curves
    through the reported percentiles, with P50, P95 and CVaR95 marked."""
    rows = [r for r in pct if r["metric"] == "shortfall_gw_months"]
    sites = [r for r in rows if r["site"] == "ALL"]
    if not sites:
        return None
    start = rows.index(sites[0])
    shown = rows[start:]  # ALL, then the groups
    qs = sorted((float(label[1:]), label) for label in quantiles)
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for k, r in enumerate(shown):
        xs = [number(r[label]) for _, label in qs]
        ys = [1 - q / 100 for q, _ in qs]
        color = LINE if k == 0 else plt.cm.tab10(k % 10)
        ax.plot(xs, ys, marker="o", ms=2.5, lw=1.2 if k == 0 else 0.9, color=color, label=r["site"])
        if k == 0:
            for value, label in ((number(r.get("p50", "")), "P50"),
                                 (number(r.get("p95", "")), "P95"),
                                 (number(r["cvar95"]), "CVaR95")):
                if math.isnan(value):
                    continue
                ax.axvline(value, color="#b2182b", lw=0.8, ls="--")
                ax.text(value, 0.97, f" {label} {value:.0f}", color="#b2182b", fontsize=7,
                        va="top", rotation=90, transform=ax.get_xaxis_transform())
    ax.set_yscale("log")
    ax.set_ylim(0.005, 1.05)
    ax.set_xlim(left=0)
    ax.set_xlabel("shortfall GW-months over the horizon", fontsize=8)
    ax.set_ylabel("share of paths above", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3, lw=0.5, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return png(fig)


def bar_chart(labels, values, errors, xlabel, color="#3c78b4"):
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(labels) + 0.9))
    y = range(len(labels))
    ax.barh(y, values, xerr=errors, color=color, ecolor="#333333", capsize=2, height=0.6)
    ax.set_yticks(list(y))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="#333333", lw=0.6)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3, lw=0.5, axis="x")
    fig.tight_layout()
    return png(fig)


def tornado_chart(rows):
    mine = [r for r in rows if r["site"] == "ALL" and r["month"] == "horizon"]
    mine = sorted(mine, key=lambda r: -number(r["swing"]))[:10]
    if not mine:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.34 * len(mine) + 1.0))
    base = number(mine[0]["base_mean"])
    for k, r in enumerate(mine):
        lo, hi = number(r["mean_at_low"]), number(r["mean_at_high"])
        ax.barh(k, lo - base, left=base, color="#6baed6", height=0.6)
        ax.barh(k, hi - base, left=base, color="#e6862e", height=0.6)
    ax.axvline(base, color="#333333", lw=0.8)
    ax.set_yticks(range(len(mine)))
    ax.set_yticklabels([r["input"] for r in mine], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("mean ALL shortfall GW-months (blue: input at low, orange: at high)", fontsize=8)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    return png(fig)


def stress_chart(rows):
    mine = [r for r in rows if r["site"] == "ALL" and r["metric"] == "shortfall_gw_months"]
    if not mine:
        return None
    values = [number(r["diff_mean"]) for r in mine]
    errors = [[v - number(r["diff_ci_low"]) for v, r in zip(values, mine)],
              [number(r["diff_ci_high"]) - v for v, r in zip(values, mine)]]
    return bar_chart([r["stress"] for r in mine], values, errors,
                     "change in mean ALL shortfall GW-months (95% CI)", color="#9b4fa8")


def drivers_chart(rows):
    mine = [r for r in rows if r["site"] == "ALL" and r["kind"] == "input" and r["shift_sd"]]
    mine = mine[:10]
    if not mine:
        return None
    return bar_chart([r["input"] for r in mine], [number(r["shift_sd"]) for r in mine], None,
                     "ALL's worst 5%: mean draw minus the mean over all paths, in sd")


def headline_table(pct, quantiles):
    rows = [r for r in pct if r["metric"] == "shortfall_gw"]
    months = []
    for r in rows:
        if r["month"] not in months:
            months.append(r["month"])
    shown = [m for m in months if m.endswith("-12")] or months
    if months[-1] not in shown:
        shown.append(months[-1])
    shown = shown[-6:]
    has = {"p50", "p95"} <= quantiles
    head = "".join(f"<th>{m}</th>" for m in shown)
    out = [f"<table><thead><tr><th>site</th><th>P(short) {shown[-1]}</th>{head}</tr></thead><tbody>"]
    for name in entities_of(rows):
        mine = {r["month"]: r for r in rows if r["site"] == name}
        cells = "".join(
            f"<td>{number(mine[m]['p50']):.3f} / {number(mine[m]['p95']):.3f}</td>" if has
            else f"<td>{number(mine[m]['mean']):.3f}</td>" for m in shown)
        p = number(mine[shown[-1]]["p_positive"])
        cls = ' class="total"' if name == "ALL" else ""
        out.append(f"<tr{cls}><th>{html.escape(name)}</th><td>{100 * p:.0f}%</td>{cells}</tr>")
    out.append("</tbody></table>")
    what = "P50 / P95 shortfall (GW)" if has else "mean shortfall (GW)"
    return "".join(out), what


def provenance(summary):
    details = summary.get("backend_details", {})
    device = details.get("device_name") or (f"{summary.get('threads', '?')} CPU threads"
                                            if summary.get("backend") == "cpu" else "")
    items = [
        ("scenario", summary.get("scenario", "")),
        ("caprisk", f"{summary.get('caprisk_version', '')} ({summary.get('caprisk_commit', '')})"),
        ("config", f"{summary.get('config', '')}, SHA-256 {summary.get('config_sha256', '')[:16]}..."),
        ("overrides", ", ".join(summary.get("overrides", [])) or "none"),
        ("seed", summary.get("seed", "")),
        ("paths", f"{summary.get('paths', 0):,}"),
        ("backend", f"{summary.get('backend', '')}, {device}"),
        ("wall time", f"{summary.get('wall_seconds', 0):.1f} s"),
        ("finished", summary.get("finished_at", "")),
        ("command", summary.get("command_line", "")),
    ]
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{html.escape(str(v))}</dd>" for k, v in items) + "</dl>"


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>caprisk report: {title}</title>
<style>
body {{ font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em auto; max-width: 62em;
       color: #222; line-height: 1.35; }}
h1 {{ font-size: 1.5em; margin-bottom: 0.2em; }}
h2 {{ font-size: 1.15em; border-bottom: 1px solid #bbb; margin-top: 1.6em; }}
dl {{ display: grid; grid-template-columns: 8em auto; gap: 0.1em 1em; font-size: 0.85em; }}
dt {{ color: #666; }} dd {{ margin: 0; word-break: break-all; }}
table {{ border-collapse: collapse; font-size: 0.8em; }}
th, td {{ padding: 0.15em 0.6em; text-align: right; border-bottom: 1px solid #eee; }}
th:first-child {{ text-align: left; }}
tr.total {{ font-weight: bold; border-top: 1px solid #999; }}
figure {{ margin: 0.8em 0; page-break-inside: avoid; }}
img {{ max-width: 100%; }}
figcaption {{ font-size: 0.8em; color: #555; }}
.note {{ font-size: 0.85em; background: #fff8e1; padding: 0.4em 0.8em; border-left: 3px solid #e6a700; }}
@media print {{ body {{ margin: 0; max-width: none; }} h2 {{ page-break-after: avoid; }} }}
</style></head>
<body data-images-total="{images}">
<h1>Capacity shortfall: {title}</h1>
{provenance}
{notes}
<h2>Headline: {what}</h2>
{table}
{sections}
<script>
// For checks (a headless browser): how many images decoded.
window.addEventListener("load", function () {{
  var images = document.images, ok = 0;
  for (var i = 0; i < images.length; ++i) if (images[i].complete && images[i].naturalWidth > 0) ++ok;
  document.body.setAttribute("data-images-loaded", String(ok));
}});
</script>
</body></html>
"""


def build(folder):
    summary_path = os.path.join(folder, "summary.json")
    if not os.path.exists(summary_path):
        raise SystemExit(f"report: {folder} holds no summary.json: not a caprisk output folder")
    with open(summary_path, encoding="utf-8") as f:
        summary = json.load(f)
    pct = read_csv(folder, "percentiles.csv")
    tornado = read_csv(folder, "tornado.csv")
    if pct is None:  # a sensitivity run: its tornado only
        if not tornado:
            raise SystemExit(f"report: {folder} holds neither percentiles.csv nor tornado.csv")
        uri = tornado_chart(tornado)
        section = ("<h2>Sensitivity (tornado)</h2>" + figure_html(
            uri, "tornado", "Mean ALL shortfall GW-months with each input pinned at its P10 and "
            "P90 (events: forced off and on), over the same paths; every metric in tornado.csv.")
            if uri else "")
        return PAGE.format(title=html.escape(summary.get("scenario", "")), images=1 if uri else 0,
                           provenance=provenance(summary), notes="", what="sensitivity run",
                           table="<p>A sensitivity run reduces means only: the tables are "
                                 "<code>caprisk run</code>'s.</p>", sections=section)
    quantiles = {k for k in pct[0] if k.startswith("p") and k[1:].replace(".", "").isdigit()}
    attr = read_csv(folder, "attribution.csv")
    targets = read_csv(folder, "targets.csv")
    sections, images, notes = [], 0, []
    months = sorted({r["month"] for r in pct if r["metric"] == "shortfall_gw"})
    horizon = summary.get("horizon_months", len(months))
    if len(months) < horizon:
        notes.append(f'<p class="note">This run reported {len(months)} of its {horizon} months, '
                     "so the fan charts join those points with straight lines. For smooth charts, "
                     "run with <code>--set scenario.report_months=all</code>.</p>")

    def add(title, uri, alt, caption):
        nonlocal images
        if uri is None:
            return
        images += 1
        sections.append(f"<h2>{title}</h2>" + figure_html(uri, alt, caption))

    add("Shortfall over time", fan_charts(pct, targets, quantiles), "fan charts",
        "Shortfall (GW) of each site, ALL and each group at each reported month: the P5-P95 "
        "and P25-P75 bands of the paths, the median and the mean; the dotted line is the "
        "target, the most a site can be short.")
    if attr:
        add("What binds", binding_charts(attr), "binding constraints",
            "Share of paths in which each site is short, split by the constraint that bound "
            "(attribution.csv; ALL and groups: shares of site-paths). The gap to 1 is the share "
            "not short.")
    add("Distribution of shortfall GW-months", distribution_chart(pct, quantiles),
        "distribution", "Share of paths whose shortfall summed over the horizon exceeds each "
        "value, through the reported percentiles; P50, P95 and CVaR95 of ALL are marked.")
    if tornado:
        add("Sensitivity (tornado)", tornado_chart(tornado), "tornado",
            "Mean ALL shortfall GW-months with each input pinned at its P10 and P90 "
            "(events: forced off and on), over the same paths (tornado.csv).")
    stress = read_csv(folder, "stress_compare.csv")
    if stress:
        add("Stresses against the base", stress_chart(stress), "stress comparison",
            "Paired change of mean ALL shortfall GW-months under each stress, with its 95% "
            "confidence interval (stress_compare.csv).")
    drivers = read_csv(folder, "drivers.csv")
    if drivers:
        add("Tail drivers", drivers_chart(drivers), "tail drivers",
            "How far each input's mean draw in ALL's worst 5% of paths sits from its mean over "
            "all paths, in standard deviations (drivers.csv, which has every site and group).")
    table, what = headline_table(pct, quantiles)
    return PAGE.format(title=html.escape(summary.get("scenario", "")), images=images,
                       provenance=provenance(summary), notes="".join(notes), what=what,
                       table=table, sections="\n".join(sections))


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    folder = argv[1]
    out = os.path.join(folder, "report.html")
    if len(argv) == 4 and argv[2] == "--out":
        out = argv[3]
    elif len(argv) != 2:
        print("usage: report.py DIR [--out FILE]", file=sys.stderr)
        return 2
    page = build(folder)
    if out == "-":
        sys.stdout.write(page)
    else:
        with open(out, "w", encoding="utf-8") as f:
            f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
