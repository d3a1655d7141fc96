"""One self-contained HTML report per run, comparison or sweep, readable offline.

:func:`write_report` reads a results folder (``kreislauf run``, ``compare`` or
``sweep``) and writes ``report.html`` beside its tables: a header with what
was run and a few headline numbers, then figures from :mod:`analysis.figures`,
each with a caption saying how to read it. Plotly's JavaScript is embedded
once, in the page's head; a Content-Security-Policy forbids the page any
network request, so it opens the same on a laptop without a network or from
a mail attachment. Figures are drawn as they come near the screen, so the
first screen appears without waiting for the figures further down.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

import sim
from analysis import figures
from analysis.experiments import Experiment
from analysis.statistics import run_outcomes, summary_table
from analysis.store import FolderError

__all__ = ["ReportError", "build_report", "write_report"]

#: The page may load nothing from anywhere: scripts and styles are inline, images data or blob URLs.
CSP = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:"

#: Time series every report draws (measure, title, unit, caption).
SERIES = [
    (
        "producer_profit",
        "Producers' profit",
        "k EUR per month",
        "Mean monthly profit of a producing firm. Shared services and trusted partners raise it; competition for the same demand lowers it.",
    ),
    (
        "mean_trust",
        "Trust between partners",
        "trust (0 to 1)",
        "Mean trust partners in live cooperations place in each other, from the evidence of kept and broken agreements.",
    ),
    (
        "defection_rate",
        "Broken agreements",
        "share of relationship months",
        "How often a side broke the agreement in a month of relationship. Low integrity and weak deterrence raise it.",
    ),
    (
        "exited",
        "Exits after evaluation",
        "cooperations per month",
        "Cooperations ended after an evaluation fell short (reasons in the flow diagram below).",
    ),
    (
        "digital_maturity",
        "Digital maturity of producers",
        "capability (0 to 1)",
        "Know-how flows between partners: small firms gain digital maturity from cooperations they could not afford alone.",
    ),
    (
        "capital_gini",
        "Inequality of capital",
        "Gini coefficient (0 to 1)",
        "0: every firm has the same capital; 1: one firm has it all.",
    ),
]

_CAPTIONS = {
    "band": "Lines are the mean over runs, shaded bands the 95% confidence interval of that mean; colours mark scenarios throughout the report.",
    "network": "Each dot is a firm (size: capital; colour: role, switchable to group, niche, digital maturity or trust received), each line a cooperation coloured by its Kreislauf phase, wider when the partners trust each other more. Drag the slider or press play to watch the network month by month; firms keep their places.",
    "flows": "Each band is cooperations per run passing from one phase of the cycle of trust to the next, ending in an outcome: exits after evaluation by their reason, searches that found no partner, cooperations dissolved because a firm left, and those still running at the end.",
    "trust": "Trust between partners in the cooperations live at the end of the run (the first replicate of each scenario), as shares of all such cooperations.",
    "lifetime": "Months from the start of a cooperation's search to its end (or to the end of the run), for every cooperation that found a partner.",
    "value": "Joint value each cooperation created over its life, for every cooperation that found a partner.",
    "focal": "The six B.I.G. producers, each in every scenario that contains it: bars are means over runs of the final months, whiskers 95% intervals.",
    "effect": "Each dot is one run's outcome (its mean over the final months); the line is the mean per value with 95% intervals. Other swept parameters vary along the way.",
    "heatmap": "Mean outcome over runs for each combination of two parameters (sampled values grouped into ranges).",
    "sensitivity": "Sobol indices: first order is the share of the outcome's variance due to the parameter alone, total includes its interactions; near zero means it does not matter over the swept range. Morris: mu* is overall influence, sigma interactions. Whiskers are 95% intervals.",
}


class Markup(str):
    """Text that is already HTML."""


class ReportError(ValueError):
    """A folder that holds no results a report can be made from."""


@dataclass
class Section:
    """A heading and its figures with captions, in one column or two."""

    title: str
    items: list[tuple[go.Figure, str]]
    columns: int = 1


def write_report(folder: str | Path, path: str | Path | None = None) -> Path:
    """Write the report of a results folder (default: ``report.html`` in it), atomically.

    Raises
    ------
    ReportError
        When the folder is not a results folder.
    """
    folder = Path(folder)
    target = Path(path) if path is not None else folder / "report.html"
    text = build_report(folder)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target


def build_report(folder: str | Path) -> str:
    """The report of a results folder, as one HTML page."""
    folder = Path(folder)
    if (folder / "run.json").exists():
        title, header, sections = _run_report(folder)
    elif (folder / "manifest.json").exists():
        try:
            experiment = Experiment(folder)
        except FolderError as exc:
            raise ReportError(str(exc)) from None
        if experiment.kind == "compare":
            title, header, sections = _compare_report(experiment)
        else:
            title, header, sections = _sweep_report(experiment)
    else:
        raise ReportError(f"{folder}: not a results folder of `kreislauf run`, `compare` or `sweep`")
    return _page(title, header, sections)


# ---------------------------------------------------------------------------
# What each kind of report shows
# ---------------------------------------------------------------------------


def _run_report(folder: Path) -> tuple[str, str, list[Section]]:
    info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    measures = pd.read_parquet(folder / "measures.parquet").assign(scenario=info["scenario"], run=0)
    log = pd.read_parquet(folder / "cooperations.parquet").assign(scenario=info["scenario"], run=0)
    focal = pd.read_parquet(folder / "focal_firms.parquet").assign(scenario=info["scenario"], run=0, replicate=0)
    nodes, edges = _network_tables(folder)
    colors = figures.scenario_colors([info["scenario"]])
    last_year = measures[measures["step"] > measures["step"].max() - 12]
    headline = {
        "producers' profit, k EUR / month (last year)": last_year["producer_profit"].mean(),
        "trust between partners (end)": measures["mean_trust"].iloc[-1],
        "cooperations that survived evaluation": _survival(measures),
        "firms in the market (end)": measures["firms"].iloc[-1],
    }
    header = _header(
        f"{info['scenario']}: one run",
        [
            ("scenario", info["scenario"]),
            ("seed", info["seed"]),
            ("months", info["steps"]),
            ("kreislauf", info["kreislauf"]),
        ],
        headline,
    )
    sections = _common_sections(measures, log, nodes, edges, colors, single=True)
    if len(focal):
        outcomes = run_outcomes(focal.drop(columns=["alive"]), ["run", "scenario", "replicate", "firm"], 12)
        panels = [m for m in figures.FOCAL_PANELS if m in outcomes.columns]
        summary = pd.concat(
            [summary_table(g, "scenario", panels).assign(firm=f) for f, g in outcomes.groupby("firm", sort=False)]
        )
        sections.append(Section("The B.I.G. producers", [(figures.focal_firms(summary, colors), _CAPTIONS["focal"])]))
    return f"kreislauf: {info['scenario']}", header, sections


def _compare_report(e: Experiment) -> tuple[str, str, list[Section]]:
    manifest = e.folder.manifest
    labels = [p["scenario"] for p in manifest["points"]]
    colors = figures.scenario_colors(labels)
    summary = e.summary
    headline: dict[str, object] = {}
    for measure, name in (
        ("producer_profit", "producers' profit, k EUR / month"),
        ("mean_trust", "trust between partners"),
        ("exited", "exits after evaluation / month"),
    ):
        part = summary[summary["measure"] == measure].set_index("scenario") if len(summary) else pd.DataFrame()
        headline[name] = Markup(
            "<br>".join(
                f"<span style='color:{colors[s]}'>{html.escape(s)}</span> "
                + (_num(part.loc[s, "mean"]) if s in part.index else "n/a")
                for s in labels
            )
        )
    header = _header(
        f"{' vs '.join(labels)}: {manifest['replicates']} paired replicates each",
        [
            ("scenarios", ", ".join(labels)),
            ("replicates", manifest["replicates"]),
            ("master seed", manifest["master_seed"]),
            ("runs finished", f"{e.finished} of {e.folder.size}" + (f", {e.failed} failed" if e.failed else "")),
            ("kreislauf", manifest["kreislauf"]),
        ],
        headline,
        _differences_html(e),
    )
    nodes, edges = _network_tables(e.path)
    measures = e.measures
    sections = _common_sections(measures, e.cooperations, nodes, edges, colors, single=False)
    sections.append(
        Section("The B.I.G. producers", [(figures.focal_firms(e.focal_summary, colors), _CAPTIONS["focal"])])
    )
    return f"kreislauf: {' vs '.join(labels)}", header, sections


def _sweep_report(e: Experiment) -> tuple[str, str, list[Section]]:
    manifest = e.folder.manifest
    design = manifest["design"]
    params = e.folder.parameter_names
    outcomes = e.outcomes
    measures = e.measure_names
    shown = list(design.get("outcomes") or measures[:3])
    header = _header(
        f"sweep {manifest['name']}",
        [
            ("base scenario", manifest["points"][0]["scenario"] if manifest["points"] else "?"),
            ("sampler", design.get("method", "?")),
            ("parameters", ", ".join(params)),
            ("points x replicates", f"{len(manifest['points'])} x {manifest['replicates']}"),
            ("runs finished", f"{e.finished} of {e.folder.size}" + (f", {e.failed} failed" if e.failed else "")),
            ("kreislauf", manifest["kreislauf"]),
        ],
        {f"{m} (mean over runs)": outcomes[m].mean() if m in outcomes else float("nan") for m in shown[:4]},
    )
    sections = []
    for measure in shown:
        items = [
            (
                figures.parameter_effect(outcomes, p, measure, f"{measure} against {p}", measure),
                _CAPTIONS["effect"],
            )
            for p in params
        ]
        items += [
            (figures.parameter_heatmap(outcomes, x, y, measure, f"{measure} over {x} and {y}"), _CAPTIONS["heatmap"])
            for i, x in enumerate(params)
            for y in params[i + 1 :]
        ]
        sections.append(Section(f"Outcome: {measure}", items))
    if (e.path / "sensitivity.parquet").exists():
        table = pd.read_parquet(e.path / "sensitivity.parquet")
        sections.append(
            Section("Which parameters matter", [(figures.sensitivity_bars(table), _CAPTIONS["sensitivity"])])
        )
    return f"kreislauf sweep: {manifest['name']}", header, sections


def _common_sections(
    measures: pd.DataFrame,
    log: pd.DataFrame,
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    colors: dict[str, str],
    single: bool,
) -> list[Section]:
    band = "" if single else " " + _CAPTIONS["band"]
    series = [
        (figures.time_series(measures, m, title, unit, colors=colors), caption + band)
        for m, title, unit, caption in SERIES
        if m in measures.columns
    ]
    sections = [Section("Month by month", series, columns=2)]
    if len(nodes):
        networks = [
            (
                figures.network(
                    nodes[nodes["scenario"] == s], edges[edges["scenario"] == s], title=f"The network: {s}"
                ),
                _CAPTIONS["network"],
            )
            for s in dict.fromkeys(nodes["scenario"])
        ]
        sections.append(Section("The cooperation network", networks))
    sections.append(Section("Through the cycle of trust", [(figures.phase_flows(log), _CAPTIONS["flows"])]))
    partnered = log[log["partner_id"] >= 0] if len(log) else pd.DataFrame(columns=["partner_id", "started", "ended"])
    end = int(measures["step"].max()) if len(measures) else 0
    lifetimes = partnered.assign(months=partnered["ended"].where(partnered["ended"] >= 0, end) - partnered["started"])
    last_edges = edges[edges["step"] == edges.groupby("scenario")["step"].transform("max")] if len(edges) else edges
    sections.append(
        Section(
            "Distributions",
            [
                (
                    figures.distribution(
                        last_edges, "trust", "Trust between partners at the end", "trust (0 to 1)", colors=colors
                    ),
                    _CAPTIONS["trust"],
                ),
                (
                    figures.distribution(lifetimes, "months", "How long cooperations last", "months", colors=colors),
                    _CAPTIONS["lifetime"],
                ),
                (
                    figures.distribution(partnered, "value", "Value created per cooperation", "k EUR", colors=colors),
                    _CAPTIONS["value"],
                ),
            ],
            columns=2,
        )
    )
    return sections


def _network_tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The network history: a run's files, or replicate 0 of each compared scenario."""
    if (folder / "network_nodes.parquet").exists():
        info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        nodes = pd.read_parquet(folder / "network_nodes.parquet").assign(scenario=info["scenario"])
        edges = pd.read_parquet(folder / "network_edges.parquet").assign(scenario=info["scenario"])
        return nodes, edges
    if (folder / "network_nodes").is_dir():
        files = sorted((folder / "network_nodes").glob("run-*.parquet"))
        nodes = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame()
        files = sorted((folder / "network_edges").glob("run-*.parquet"))
        edges = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame()
        return nodes, edges
    return pd.DataFrame(), pd.DataFrame()


def _survival(measures: pd.DataFrame) -> str:
    kept, ended = measures["continued"].sum(), measures["exited"].sum()
    return f"{kept / (kept + ended):.0%} ({int(kept)} of {int(kept + ended)} evaluations)" if kept + ended else "n/a"


def _differences_html(e: Experiment) -> str:
    diffs = e.differences
    if diffs.empty:
        return ""
    rows = []
    for measure, (name, unit) in {
        "producer_profit": ("producers' profit", "k EUR / month"),
        "producer_overhead": ("producers' overhead", "k EUR / month"),
        "mean_trust": ("trust between partners", "0 to 1"),
        "defection_rate": ("broken agreements", "share of months"),
        "exited": ("exits after evaluation", "per month"),
        "digital_maturity_small": ("digital maturity of small producers", "0 to 1"),
    }.items():
        for _, d in diffs[diffs["measure"] == measure].iterrows():
            rows.append(
                f"<tr><td>{html.escape(name)} <span class=unit>({unit})</span></td><td>{html.escape(str(d['a']))} &minus; {html.escape(str(d['b']))}</td>"
                f"<td>{_num(d['difference'], sign=True)}</td><td>{_num(d['ci_low'])} to {_num(d['ci_high'])}</td><td>{_num(d['cohens_d'])}</td></tr>"
            )
    return (
        "<table class=diff><caption>Paired differences over replicates (a run's outcome: its mean over the final "
        f"{e.window} months)</caption><thead><tr><th>measure</th><th>difference</th><th>mean</th><th>95% interval</th>"
        "<th>Cohen's d</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


# ---------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------


def _num(value: object, sign: bool = False) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return html.escape(str(value))
    if v != v:
        return "n/a"
    digits = 3 if abs(v) < 10 else 1 if abs(v) < 1000 else 0
    return f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}"


def _header(title: str, facts: Iterable[tuple[str, object]], headline: dict[str, object], extra: str = "") -> str:
    facts_html = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts)
    cards = "".join(
        f"<div class=card><div class=value>{v if isinstance(v, Markup) else _num(v) if not isinstance(v, str) else html.escape(v)}</div>"
        f"<div class=label>{html.escape(k)}</div></div>"
        for k, v in headline.items()
    )
    return f"<header><h1>{html.escape(title)}</h1><dl>{facts_html}</dl><div class=cards>{cards}</div>{extra}</header>"


_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 24px 48px; color: #222; }
header { border-bottom: 1px solid #ddd; padding: 16px 0; }
h1 { font-size: 26px; margin: 8px 0 12px; } h2 { font-size: 20px; margin: 36px 0 8px; border-bottom: 1px solid #eee; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 16px; font-size: 14px; }
dt { color: #666; } dd { margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; min-width: 180px; flex: 1; }
.card .value { font-size: 22px; font-weight: bold; } .card .label { font-size: 13px; color: #555; }
figure { margin: 16px 0 28px; min-width: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 0 24px; } figcaption { font-size: 14px; color: #444; max-width: 900px; }
table.diff { border-collapse: collapse; margin-top: 16px; font-size: 14px; }
table.diff td, table.diff th { border-bottom: 1px solid #eee; padding: 4px 10px; text-align: right; }
table.diff td:first-child, table.diff th:first-child { text-align: left; } .unit { color: #777; }
caption { text-align: left; color: #555; padding-bottom: 4px; }
footer { margin-top: 40px; font-size: 12px; color: #777; }
"""


# Each figure's JSON waits in the page and is drawn when it comes near the screen (and all of them
# before printing): the first screen appears without waiting for figures further down.
_DRAW = """
const config = {displaylogo: false, responsive: true};
function draw(div) {
  if (div.dataset.drawn) return;
  div.dataset.drawn = "1";
  const figure = JSON.parse(document.getElementById(div.id + "-json").textContent);
  Plotly.newPlot(div, {data: figure.data, layout: figure.layout, frames: figure.frames || [], config: config});
}
const plots = document.querySelectorAll(".plot");
const watcher = new IntersectionObserver(seen => seen.forEach(e => {
  if (e.isIntersecting) { watcher.unobserve(e.target); draw(e.target); }
}), {rootMargin: "400px"});
plots.forEach(div => watcher.observe(div));
window.addEventListener("beforeprint", () => plots.forEach(draw));
"""


def _figure_html(fig: go.Figure, div_id: str, caption: str) -> str:
    """A placeholder of the figure's height, its JSON (drawn by ``_DRAW``) and its caption."""
    height = fig.layout.height or 450
    data = fig.to_json().replace("</", "<\\/")  # no "</script>" inside the script element
    return (
        f'<figure><div id="{div_id}" class="plot" style="height:{height}px"></div>'
        f'<script type="application/json" id="{div_id}-json">{data}</script>'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _page(title: str, header: str, sections: list[Section]) -> str:
    parts = []
    n = 0
    for section in sections:
        grid = " class=grid" if section.columns == 2 else ""
        parts.append(f"<section><h2>{html.escape(section.title)}</h2><div{grid}>")
        for fig, caption in section.items:
            parts.append(_figure_html(fig, f"figure-{n}", caption))
            n += 1
        parts.append("</div></section>")
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>{header}{''.join(parts)}"
        f"<footer>Made by kreislauf {html.escape(sim.__version__)}. Opens offline: everything it needs is in this file.</footer>"
        f"<script>{_DRAW}</script></body></html>\n"
    )
