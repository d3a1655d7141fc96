"""One self-contained HTML report per run, comparison or sweep, readable offline.

:func:`write_report` reads a results folder (``kreislauf run``, ``compare`` or
``sweep``) and writes ``report.html`` beside its tables: a header with what
was run and a few headline numbers, then figures from :mod:`analysis.figures`,
each with a caption saying how to read it. Plotly's JavaScript is embedded
once, in the page's head; a Content-Security-Policy forbids the page any
network request, so it opens the same on a laptop without a network or from
a mail attachment, and the figures' mode bar offers nothing that uploads.
Figures are drawn as they come near the screen, so the first screen appears
without waiting for the figures further down.

Every report lets the reader choose the measure shown (a chooser above a
section switches its figures), carries the data behind each figure (a "data
(CSV)" link under it, embedded in the page when small) and links the CSV
tables beside it. A sweep's report answers its file's question: every
recorded measure against each swept parameter, month by month per value, and
the ``compare_to`` scenario as a reference line with its band and the point
where the sweep's curve reaches it.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

import sim
from analysis import figures
from analysis.experiments import CHANGE_SUFFIX, SAME_FIRMS, Experiment
from analysis.runs import write_text
from analysis.statistics import NEAR_ZERO_SD, PAIRED_D, crossings, run_outcomes, summary_table
from analysis.store import FolderError
from analysis.tables import decimals, plural
from sim.observe.measures import MEASURES

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
    "effect": "Each dot is one run's outcome (its mean over the final months); the line is the mean per value with 95% intervals.",
    "reference": " The dashed black line is {label}, run on the same seeds, with its 95% interval shaded; a dotted vertical line marks where the sweep's means reach it.",
    "series": "One line per swept value, the mean over runs, from dark (low values) to light (high); the dashed black line is the scenario the sweep is compared to, shaded with its 95% interval. Each value's interval is in the data.",
    "heatmap": "Mean outcome over runs for each combination of two parameters (sampled values grouped into ranges).",
    "sensitivity": "Sobol indices: first order is the share of the outcome's variance due to the parameter alone, total includes its interactions; near zero means it does not matter over the swept range. Morris: mu* is overall influence, sigma interactions. Whiskers are 95% intervals.",
}


class Markup(str):
    """Text that is already HTML."""


class ReportError(ValueError):
    """A folder that holds no results a report can be made from."""


#: Largest CSV (bytes) embedded in the page under its figure; larger data is linked beside the report.
EMBED_LIMIT = 200_000


@dataclass
class Item:
    """A figure, its caption, and the data behind it (embedded as CSV when small, else a file beside the report)."""

    figure: go.Figure
    caption: str
    data: pd.DataFrame | None = None
    name: str = "data"
    file: str | None = None


@dataclass
class Section:
    """A heading and its figures with captions, in one column or two.

    With ``choices`` (label and figures per measure), a chooser above the
    section shows one label's figures at a time, the first at the start.
    """

    title: str
    items: list[Item] = field(default_factory=list)
    columns: int = 1
    choices: list[tuple[str, list[Item]]] = field(default_factory=list)
    note: str = ""


def write_report(folder: str | Path, path: str | Path | None = None) -> Path:
    """Write the report of a results folder (default: ``report.html`` in it), atomically.

    Parameters
    ----------
    folder : str or Path
        A results folder of ``kreislauf run``, ``compare`` or ``sweep``.
    path : str or Path, optional
        The report file (default: ``report.html`` in ``folder``).

    Returns
    -------
    Path
        The report written.

    Raises
    ------
    ReportError
        When the folder is not a results folder.
    """
    folder = Path(folder)
    target = Path(path) if path is not None else folder / "report.html"
    return write_text(target, build_report(folder, target.parent))


def build_report(folder: str | Path, beside: str | Path | None = None) -> str:
    """The report of a results folder, as one HTML page.

    Parameters
    ----------
    folder : str or Path
        A results folder of ``kreislauf run``, ``compare`` or ``sweep``.
    beside : str or Path, optional
        Where the page will be written (default: ``folder``), for the links
        to the CSV tables.

    Returns
    -------
    str

    Raises
    ------
    ReportError
        When the folder is not a results folder.
    """
    folder = Path(folder)
    links = _files_html(folder, Path(beside) if beside is not None else folder)
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
    return _page(title, header + links, sections)


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
        sections.append(
            Section(
                "The B.I.G. producers",
                [Item(figures.focal_firms(summary, colors), _CAPTIONS["focal"], summary, "focal_firms")],
            )
        )
    return f"kreislauf: {info['scenario']}", header, sections


def _compare_report(e: Experiment) -> tuple[str, str, list[Section]]:
    manifest = e.folder.manifest
    labels = [p["scenario"] for p in manifest["points"]]
    colors = figures.scenario_colors(labels)
    headline = _compare_headline(e, labels, colors)
    header = _header(
        f"{' vs '.join(labels)}: {plural(int(manifest['replicates']), 'paired replicate')} each",
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
    sections = _same_firm_sections(e, colors) + _common_sections(
        measures, e.cooperations, nodes, edges, colors, single=False
    )
    sections.append(
        Section(
            "The B.I.G. producers",
            [Item(figures.focal_firms(e.focal_summary, colors), _CAPTIONS["focal"], e.focal_summary, "focal_summary")],
        )
    )
    return f"kreislauf: {' vs '.join(labels)}", header, sections


#: The same firms' measures a comparison draws month by month first (measure, title, unit).
SAME_FIRM_SERIES = [
    ("same_firm_profit", "Profit of the same firms", "k EUR per month, mean per firm"),
    ("same_firm_trust_received", "Trust the same firms receive", "trust (0 to 1)"),
]


def _same_firm_sections(e: Experiment, colors: dict[str, str]) -> list[Section]:
    """The firms present in every compared scenario, month by month: the like-with-like view, first."""
    months = e.same_firm_months
    if months.empty:
        return []
    caption = (
        f"Mean per firm over the {len(e.common_firms)} firms present in every scenario ({', '.join(e.common_firms)}), "
        "matched by name: the same firms in each structure, unlike the population measures below, which average "
        "over each scenario's own firms. " + _CAPTIONS["band"]
    )
    items = [
        Item(
            figures.time_series(months, m, title, unit, colors=colors),
            caption,
            figures.band_table(months, m),
            f"{m}-by-month",
        )
        for m, title, unit in SAME_FIRM_SERIES
    ]
    return [Section("The same firms, month by month", items, columns=2)]


#: A comparison's headline cards: the same firms' measures first, then the populations' (measure, name).
COMPARE_CARDS = [
    ("same_firm_profit", "profit, k EUR / month"),
    ("same_firm_trust_received", "trust they receive from partners"),
    ("producer_profit", "producers' profit, k EUR / month"),
    ("mean_trust", "trust between partners"),
    ("exited", "exits after evaluation / month"),
]


def _compare_headline(e: Experiment, labels: list[str], colors: dict[str, str]) -> dict[str, object]:
    """The comparison's cards: each measure per scenario, and the paired difference from the first scenario.

    The same firms' cards come first and name the firms; the populations'
    name each scenario's composition.
    """
    summary, diffs = e.summary, e.differences
    cards: dict[str, object] = {}
    for measure, name in COMPARE_CARDS:
        part = summary[summary["measure"] == measure].set_index("scenario") if len(summary) else pd.DataFrame()
        if part.empty:
            continue
        same = e.measure_kind(measure).startswith(SAME_FIRMS)
        digits = decimals(part["mean"])
        values = []
        for s in labels:
            value = _num(part.loc[s, "mean"], digits=digits) if s in part.index else "n/a"
            who = "" if same else f" <span class=who>{html.escape(e.compositions.get(s, ''))}</span>"
            values.append(f"<div><span style='color:{colors[s]}'>{html.escape(s)}</span> {value}{who}</div>")
        pairs = diffs[(diffs["measure"] == measure) & (diffs["a"] == labels[0])] if len(diffs) else diffs
        subs = [
            f"<div class=sub>{html.escape(str(d['a']))} &minus; {html.escape(str(d['b']))}: "
            f"{_num(d['difference'], sign=True, digits=digits)} "
            f"({_num(d['ci_low'], digits=digits)} to {_num(d['ci_high'], digits=digits)}), d = {_d(d)}</div>"
            for _, d in pairs.iterrows()
        ]
        label = (
            f"same {len(e.common_firms)} firms ({', '.join(e.common_firms)}): {name}" if same else f"population: {name}"
        )
        cards[label] = Markup("".join(values) + "".join(subs))
    if not cards:
        cards["finished runs"] = "none yet"
    return cards


def _d(row: pd.Series) -> str:
    """A paired Cohen's d with two decimals, marked * when it comes from near-zero variance."""
    return _num(row["cohens_d"], digits=2) + ("*" if bool(row.get("near_zero_sd", False)) else "")


def _sweep_report(e: Experiment) -> tuple[str, str, list[Section]]:
    manifest = e.folder.manifest
    design = manifest["design"]
    params = e.folder.parameter_names
    outcomes = e.outcomes
    summary = e.summary
    measures = e.measure_names
    first = [m for m in design.get("outcomes") or [] if m in measures]
    order = [*first, *[m for m in measures if m not in first]]
    reference = e.reference
    ref_summary = reference.summary.set_index("measure") if reference is not None and len(reference.summary) else None
    ref_label = str(design.get("compare_to") or "")
    grid = design.get("method") == "grid"
    series = e.measures if grid and not manifest["record"]["last_only"] else pd.DataFrame()
    ref_series = reference.measures if reference is not None and len(series) else pd.DataFrame()

    choices = []
    for measure in order:
        name, unit = figures.measure_label(measure)
        ref = _reference_row(ref_summary, measure, ref_label)
        rows = summary[summary["measure"] == measure] if len(summary) else summary
        items = [
            Item(
                figures.parameter_effect(outcomes, p, measure, reference=ref),
                _CAPTIONS["effect"]
                + (" Other swept parameters vary along the way." if len(params) > 1 else "")
                + (_CAPTIONS["reference"].format(label=ref_label) if ref is not None else ""),
                _with_reference(rows, ref),
                f"{measure}-by-point",
            )
            for p in params
        ]
        items += [
            Item(figures.parameter_heatmap(outcomes, x, y, measure), _CAPTIONS["heatmap"], rows, f"{measure}-by-point")
            for i, x in enumerate(params)
            for y in params[i + 1 :]
        ]
        for p in params:
            if len(series) and measure in series.columns and series[p].nunique() <= 12:
                items.append(_series_by_value(series, ref_series, p, measure, ref_label, len(params) > 1))
        choices.append((f"{name} ({unit})" if unit else name, items))
    base = manifest["points"][0]["scenario"] if manifest["points"] else "?"
    overrides = design.get("overrides") or {}
    header = _header(
        f"sweep {manifest['name']}",
        [
            ("question", _description(e)),
            ("base scenario", base),
            *([("compared to", f"{ref_label} (same seeds, run beside the sweep)")] if ref_label else []),
            ("sampler", design.get("method", "?")),
            ("parameters", ", ".join(params)),
            (
                "points x replicates",
                f"{plural(len(manifest['points']), 'point')} x {plural(int(manifest['replicates']), 'replicate')}",
            ),
            ("runs finished", f"{e.finished} of {e.folder.size}" + (f", {e.failed} failed" if e.failed else "")),
            *(
                [("changed on the command line", ", ".join(f"{k} = {v}" for k, v in overrides.items()))]
                if overrides
                else []
            ),
            ("kreislauf", manifest["kreislauf"]),
        ],
        _sweep_headline(e, order[:3], ref_summary, ref_label),
    )
    sections = [
        Section(
            "Outcomes by measure",
            choices=choices,
            note=f"Choose a measure: all {len(order)} recorded measures can be drawn. "
            f"A run's outcome is its mean over its final {e.window} months.",
        )
    ]
    if (e.path / "sensitivity.parquet").exists():
        table = pd.read_parquet(e.path / "sensitivity.parquet")
        sections.append(
            Section(
                "Which parameters matter",
                [Item(figures.sensitivity_bars(table), _CAPTIONS["sensitivity"], table, "sensitivity")],
            )
        )
    return f"kreislauf sweep: {manifest['name']}", header, sections


def _description(e: Experiment) -> str:
    """The sweep file's description (its question), as kept in the results folder."""
    try:
        import tomllib

        text = (e.path / "sweep.toml").read_text(encoding="utf-8")
        return str(tomllib.loads(text).get("description", "")) or str(e.folder.manifest["name"])
    except (OSError, ValueError):
        return str(e.folder.manifest["name"])


def _reference_row(ref_summary: pd.DataFrame | None, measure: str, label: str) -> dict[str, Any] | None:
    if ref_summary is None or measure not in ref_summary.index:
        return None
    row = ref_summary.loc[measure]
    if not pd.notna(row["mean"]):  # undefined in the reference (no partner searches there, say): no line to draw
        return None
    return {"label": label, "mean": row["mean"], "ci_low": row["ci_low"], "ci_high": row["ci_high"], "n": row["n"]}


def _with_reference(rows: pd.DataFrame, ref: dict[str, Any] | None) -> pd.DataFrame:
    """A sweep's summary rows of one measure, and the reference scenario's as the last row."""
    if ref is None:
        return rows
    extra = pd.DataFrame(
        [{"point": "reference", "scenario": ref["label"], **{k: ref[k] for k in ("n", "mean", "ci_low", "ci_high")}}]
    )
    return pd.concat([rows, extra], ignore_index=True)


def _series_by_value(
    series: pd.DataFrame, ref_series: pd.DataFrame, p: str, measure: str, ref_label: str, several: bool
) -> Item:
    """A measure month by month, one line per value of a swept parameter, and the reference dashed in black."""
    values = sorted(series[p].dropna().unique().tolist())
    labels = {v: f"{p} = {figures._tick(v)}" for v in values}
    frame = series[["step", p, measure]].assign(point=series[p].map(labels))
    colors = figures.sequential_colors([labels[v] for v in values])
    dashed: list[str] = []
    if len(ref_series) and measure in ref_series.columns:
        name = f"{ref_label} (reference)"
        frame = pd.concat([frame, ref_series[["step", measure]].assign(point=name)], ignore_index=True)
        colors[name] = "#000000"
        dashed.append(name)
    title, unit = figures.measure_label(measure)
    fig = figures.time_series(
        frame, measure, f"{title}, month by month, by {p}", unit, by="point", colors=colors, dashed=dashed, bands=dashed
    )

    band = figures.band_table(frame, measure, by="point")
    others = " Runs at other values of the other swept parameters are averaged together." if several else ""
    return Item(fig, _CAPTIONS["series"] + others, band, f"{measure}-by-{p}-month")


def _sweep_headline(
    e: Experiment, shown: Sequence[str], ref_summary: pd.DataFrame | None, ref_label: str
) -> dict[str, object]:
    """Per headline measure: its range over the swept values, the reference's value, and where the curve reaches it."""
    summary = e.summary
    params = e.folder.parameter_names
    cards: dict[str, object] = {}
    if summary.empty:
        return {"finished runs": "none yet"}
    for measure in shown:
        name, unit = figures.measure_label(measure)
        rows = summary[summary["measure"] == measure]
        ref = _reference_row(ref_summary, measure, ref_label)
        digits = decimals([*rows["mean"], *([ref["mean"]] if ref else [])])
        lines = []
        if len(params) == 1:
            ordered = rows.sort_values(params[0])
            lo, hi = ordered.iloc[0], ordered.iloc[-1]
            lines.append(
                f"{_num(lo['mean'], digits=digits)} at {html.escape(params[0])} = {_num(lo[params[0]])} "
                f"&rarr; {_num(hi['mean'], digits=digits)} at {_num(hi[params[0]])}"
            )
        else:
            lines.append(
                f"{_num(rows['mean'].min(), digits=digits)} to {_num(rows['mean'].max(), digits=digits)} across points"
            )
        if ref is not None:
            lines.append(f"{html.escape(ref_label)}: {_num(ref['mean'], digits=digits)}")
            if len(params) == 1 and pd.api.types.is_numeric_dtype(rows[params[0]]):
                found = crossings(rows[params[0]].to_numpy(float), rows["mean"].to_numpy(float), float(ref["mean"]))
                lines.append(
                    f"reached at {html.escape(params[0])} &asymp; {', '.join(_num(x) for x in found)}"
                    if found
                    else "not reached in the swept range"
                )
        cards[f"{name}{f' ({unit})' if unit else ''}"] = Markup(
            lines[0] + "".join(f"<div class=sub>{line}</div>" for line in lines[1:])
        )
    return cards


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
        Item(
            figures.time_series(measures, m, title, unit, colors=colors),
            caption + band,
            figures.band_table(measures, m),
            f"{m}-by-month",
        )
        for m, title, unit, caption in SERIES
        if m in measures.columns
    ]
    sections = [Section("Month by month", series, columns=2)]
    every = [m for m in MEASURES if m in measures.columns]
    if every:
        choices = [
            (
                "{} ({})".format(*figures.measure_label(m))
                if figures.measure_label(m)[1]
                else figures.measure_label(m)[0],
                [
                    Item(
                        figures.time_series(measures, m, colors=colors),
                        MEASURES[m] + "." + band,
                        figures.band_table(measures, m),
                        f"{m}-by-month",
                    )
                ],
            )
            for m in every
        ]
        sections.append(
            Section(
                "Any measure, month by month",
                choices=choices,
                note=f"Choose any of the {len(every)} measures the model records.",
            )
        )
    if len(nodes):
        networks = [
            Item(
                figures.network(
                    nodes[nodes["scenario"] == s], edges[edges["scenario"] == s], title=f"The network: {s}"
                ),
                _CAPTIONS["network"],
            )
            for s in dict.fromkeys(nodes["scenario"])
        ]
        sections.append(Section("The cooperation network", networks))
    sections.append(Section("Through the cycle of trust", [Item(figures.phase_flows(log), _CAPTIONS["flows"])]))
    partnered = log[log["partner_id"].notna()] if len(log) else pd.DataFrame(columns=["partner_id", "started", "ended"])
    end = int(measures["step"].max()) if len(measures) else 0
    lifetimes = partnered.assign(months=partnered["ended"].fillna(end).astype("int64") - partnered["started"])
    last_edges = edges[edges["step"] == edges.groupby("scenario")["step"].transform("max")] if len(edges) else edges
    sections.append(
        Section(
            "Distributions",
            [
                Item(
                    figures.distribution(
                        last_edges, "trust", "Trust between partners at the end", "trust (0 to 1)", colors=colors
                    ),
                    _CAPTIONS["trust"],
                ),
                Item(
                    figures.distribution(lifetimes, "months", "How long cooperations last", "months", colors=colors),
                    _CAPTIONS["lifetime"],
                ),
                Item(
                    figures.distribution(partnered, "value", "Value created per cooperation", "k EUR", colors=colors),
                    _CAPTIONS["value"],
                    file="cooperations.csv",
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


#: Population measures the comparison's differences table shows after the same firms' (the rest are behind "every measure").
DIFFERENCES = [
    "producer_profit",
    "producer_overhead",
    "mean_trust",
    "defection_rate",
    "exited",
    "digital_maturity",
    "digital_maturity_small",
    "capital_gini",
]


def _differences_html(e: Experiment) -> str:
    """The paired differences: the same firms' first, then the populations' (with their compositions)."""
    diffs = e.differences
    if diffs.empty:
        return ""
    every = list(dict.fromkeys(diffs["measure"]))

    def rows(measures: Iterable[str]) -> str:
        out, kind = [], ""
        for measure in measures:
            part = diffs[diffs["measure"] == measure]
            group = part["kind"].iloc[0].split(":")[0]
            if group != kind:
                kind = group
                firms = (
                    f"in every scenario (matched by name), mean per firm: {', '.join(e.common_firms)}"
                    if kind == SAME_FIRMS
                    else "; ".join(f"{s}: {c}" for s, c in e.compositions.items())
                )
                out.append(f"<tr class=group><th colspan=5>{html.escape(kind)}: {html.escape(firms)}</th></tr>")
            name, unit = _difference_label(measure)
            digits = decimals(part[["difference", "ci_low", "ci_high"]].to_numpy().ravel())
            for _, d in part.iterrows():
                out.append(
                    f"<tr><td>{html.escape(name)} <span class=unit>({html.escape(unit or measure)})</span></td>"
                    f"<td>{html.escape(str(d['a']))} &minus; {html.escape(str(d['b']))}</td>"
                    f"<td>{_num(d['difference'], sign=True, digits=digits)}</td>"
                    f"<td>{_num(d['ci_low'], digits=digits)} to {_num(d['ci_high'], digits=digits)}</td>"
                    f"<td>{_d(d)}</td></tr>"
                )
        return "".join(out)

    head = (
        "<thead><tr><th>measure</th><th>difference</th><th>mean</th><th>95% interval</th><th>paired d</th></tr></thead>"
    )
    shown = [m for m in every if e.measure_kind(m).startswith(SAME_FIRMS)]
    shown += [x for m in DIFFERENCES for x in (m, m + CHANGE_SUFFIX) if x in every]
    link = _data_link(Item(go.Figure(), "", diffs, "differences"))
    note = (
        f"<p class=note>{html.escape(PAIRED_D)}. * marks a d from near-zero variance: that sd is below "
        f"{NEAR_ZERO_SD:.0%} of the measure's level, the runs hardly vary, and d is large whatever the size of the "
        "gap; judge such a gap by its size and interval.</p>"
    )
    return (
        "<table class=diff><caption>Paired differences over replicates (a run's outcome: its mean over the final "
        f"{e.window} months)</caption>{head}<tbody>{rows(shown)}</tbody></table>{note}"
        f"<details><summary>every measure ({len(every)}) {link}</summary><table class=diff>{head}"
        f"<tbody>{rows(every)}</tbody></table></details>"
    )


def _difference_label(measure: str) -> tuple[str, str]:
    """A summarised measure's name and unit, the same firms' and the changes since month 0 included."""
    base = measure.removesuffix(CHANGE_SUFFIX) if measure.endswith(CHANGE_SUFFIX) else measure
    name, unit = figures.measure_label(base)
    return (f"{name}: change since month 0" if base != measure else name), unit


# ---------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------


def _num(value: object, sign: bool = False, digits: int | None = None) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return html.escape(str(value))
    if v != v:
        return "n/a"
    digits = decimals([v]) if digits is None else digits
    return f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}"


def _files_html(folder: Path, beside: Path) -> str:
    """Links to the CSV tables of the results folder (and of a sweep's reference), relative to the page."""
    files = sorted(folder.glob("*.csv")) + sorted((folder / "reference").glob("*.csv"))
    if not files:
        return ""
    links = []
    for f in files:
        href = Path(os.path.relpath(f, beside)).as_posix()
        size = f.stat().st_size
        shown = f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"
        links.append(
            f'<a class=file href="{html.escape(href)}">{html.escape(f.relative_to(folder).as_posix())}</a> ({shown})'
        )
    return (
        "<p class=files>The data, as CSV tables beside this report: "
        + ", ".join(links)
        + ". Each figure's own numbers are under it (data (CSV)), also when the report is opened on its own.</p>"
    )


def _data_link(item: Item) -> str:
    """A download link to the figure's data: embedded when small, else the file beside the report."""
    if item.data is not None and len(item.data.columns):
        text = item.data.to_csv(index=False)
        if len(text) <= EMBED_LIMIT:
            encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
            return (
                f'<a class=data download="{html.escape(item.name)}.csv" '
                f'href="data:text/csv;charset=utf-8;base64,{encoded}">data (CSV, {plural(len(item.data), "row")})</a>'
            )
    if item.file is not None:
        return f'<a class=data href="{html.escape(item.file)}">data: {html.escape(item.file)} beside this report</a>'
    return ""


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
.card .value { font-size: 22px; font-weight: bold; } .card .sub { font-size: 15px; font-weight: normal; margin-top: 4px; } .card .label { font-size: 13px; color: #555; }
figure { margin: 16px 0 28px; min-width: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 0 24px; } figcaption { font-size: 14px; color: #444; max-width: 900px; }
table.diff { border-collapse: collapse; margin-top: 16px; font-size: 14px; }
table.diff td, table.diff th { border-bottom: 1px solid #eee; padding: 4px 10px; text-align: right; }
table.diff td:first-child, table.diff th:first-child { text-align: left; } .unit { color: #777; }
.chooser { font-size: 15px; margin: 8px 0; } .note { font-size: 14px; color: #555; }
a.data { font-size: 13px; } .files { font-size: 14px; color: #444; } details { margin-top: 12px; font-size: 14px; }
caption { text-align: left; color: #555; padding-bottom: 4px; }
tr.group th { text-align: left; font-weight: normal; color: #333; background: #f6f6f6; } .card .who { display: block; font-size: 12px; line-height: 1.3; color: #666; font-weight: normal; margin-bottom: 4px; }
footer { margin-top: 40px; font-size: 12px; color: #777; }
"""


# Each figure's JSON waits in the page and is drawn when it comes near the screen (and all of them
# before printing): the first screen appears without waiting for figures further down.
_DRAW = """
// Nothing that uploads: no "Share chart" (sendDataToCloud), no link to an outside editor.
const config = {displaylogo: false, responsive: true, showSendToCloud: false, showLink: false,
                modeBarButtonsToRemove: ["sendDataToCloud", "editInChartStudio"]};
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
// A chooser shows one of its section's groups of figures and draws them.
document.querySelectorAll("select.chooser").forEach(select => select.addEventListener("change", () => {
  document.querySelectorAll(`.choice[data-group="${select.dataset.group}"]`).forEach(choice => {
    choice.hidden = choice.dataset.choice !== select.value;
    if (!choice.hidden) choice.querySelectorAll(".plot").forEach(div => {
      if (div.dataset.drawn) Plotly.Plots.resize(div); else draw(div);
    });
  });
}));
"""


def _figure_html(item: Item, div_id: str) -> str:
    """A placeholder of the figure's height, its JSON (drawn by ``_DRAW``), its caption and its data."""
    height = item.figure.layout.height or 450
    data = item.figure.to_json().replace("</", "<\\/")  # no "</script>" inside the script element
    link = _data_link(item)
    return (
        f'<figure><div id="{div_id}" class="plot" style="height:{height}px"></div>'
        f'<script type="application/json" id="{div_id}-json">{data}</script>'
        f"<figcaption>{html.escape(item.caption)} {link}</figcaption></figure>"
    )


def _page(title: str, header: str, sections: list[Section]) -> str:
    parts = []
    n = 0
    for g, section in enumerate(sections):
        grid = " class=grid" if section.columns == 2 else ""
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        if section.note:
            parts.append(f"<p class=note>{html.escape(section.note)}</p>")
        groups: list[tuple[str | None, list[Item]]] = [(None, section.items)] if section.items else []
        if section.choices:
            options = "".join(
                f'<option value="{k}">{html.escape(label)}</option>' for k, (label, _) in enumerate(section.choices)
            )
            parts.append(
                f'<label class=chooser>Measure: <select class=chooser data-group="{g}">{options}</select></label>'
            )
            groups += [(str(k), items) for k, (_, items) in enumerate(section.choices)]
        for key, items in groups:
            if key is None:
                parts.append(f"<div{grid}>")
            else:
                hidden = " hidden" if key != "0" else ""
                parts.append(
                    f'<div class="choice{" grid" if section.columns == 2 else ""}" data-group="{g}" data-choice="{key}"{hidden}>'
                )
            for item in items:
                parts.append(_figure_html(item, f"figure-{n}"))
                n += 1
            parts.append("</div>")
        parts.append("</section>")
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>{header}{''.join(parts)}"
        f"<footer>Made by kreislauf {html.escape(sim.__version__)}. Opens offline: everything it needs is in this file.</footer>"
        f"<script>{_DRAW}</script></body></html>\n"
    )
