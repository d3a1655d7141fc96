"""Figure builders: one function per figure, tidy DataFrames in, a Plotly ``Figure`` out.

The report (:mod:`analysis.report`), the live app and notebooks share these.
Every builder takes the tables a run, comparison or sweep writes, gives each
scenario the same colour wherever it appears (:func:`scenario_colors`), labels
its axes in plain words with units, and turns empty input into a figure that
says there is nothing to show rather than an exception.

- :func:`time_series`: a measure month by month, the mean and its 95% band per scenario.
- :func:`network`: firms and cooperations, with a month slider and a play button.
- :func:`phase_flows`: a Sankey diagram of cooperations through the Kreislauf phases to their outcomes.
- :func:`distribution`: overlaid histograms per scenario (trust, lifetimes, value).
- :func:`focal_firms`: the B.I.G. producers side by side across scenarios.
- :func:`parameter_effect`, :func:`parameter_heatmap`: a sweep's outcome over its parameters.
- :func:`sensitivity_bars`: Sobol or Morris indices.
- :func:`model_network`: the network of one model as it stands (in a notebook).

:func:`measure_label` gives every model measure a plain-language name and
unit; builders default their titles and axes to it, and refuse an unknown
column with a :class:`ValueError` that lists the columns there are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy import stats

__all__ = [
    "EDGE_KEYS",
    "PHASE_COLORS",
    "band_table",
    "distribution",
    "edge_segments",
    "empty_figure",
    "focal_firms",
    "measure_label",
    "model_network",
    "network",
    "parameter_effect",
    "parameter_heatmap",
    "phase_flows",
    "phase_key",
    "scenario_colors",
    "sensitivity_bars",
    "sequential_colors",
    "time_series",
]

#: Colours of scenarios, in order of first appearance (Paul Tol's colour-blind-safe "bright" scheme).
PALETTE = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000"]

#: Colour of each Kreislauf phase (labels as in :class:`sim.state.cooperations.Phase`).
PHASE_COLORS = {
    "needs assessment": "#BBBBBB",
    "partner search": "#CCBB44",
    "structure": "#66CCEE",
    "relationship": "#228833",
    "evaluation": "#AA3377",
}

#: Colours of firms' roles and group membership.
ROLE_COLORS = {"producer": "#4477AA", "service": "#EE6677"}
GROUP_COLORS = {True: "#AA3377", False: "#BBBBBB"}

#: Every model measure's plain-language name and unit (see :data:`sim.observe.measures.MEASURES` for definitions).
MEASURE_LABELS: dict[str, tuple[str, str]] = {
    "firms": ("Firms in the market", "firms"),
    "producers": ("Producing firms in the market", "firms"),
    "entries": ("Firms entering", "firms per month"),
    "exits": ("Firms leaving the market", "firms per month"),
    "members_joined": ("Firms joining the group", "firms per month"),
    "members_left": ("Members the group let go", "firms per month"),
    "phase_needs_assessment": ("Cooperations in needs assessment", "cooperations"),
    "phase_partner_search": ("Cooperations in partner search", "cooperations"),
    "phase_structure": ("Cooperations building their structure", "cooperations"),
    "phase_relationship": ("Cooperations in a running relationship", "cooperations"),
    "phase_evaluation": ("Cooperations in evaluation", "cooperations"),
    "opened": ("Needs assessments opened", "per month"),
    "searches": ("Partner searches begun", "per month"),
    "formed": ("Agreements made", "per month"),
    "started": ("Relationships begun", "per month"),
    "evaluated": ("Evaluations", "per month"),
    "continued": ("Cooperations continued after evaluation", "cooperations per month"),
    "exited": ("Exits after evaluation", "cooperations per month"),
    "no_partner": ("Searches that found no partner", "per month"),
    "dissolved": ("Cooperations dissolved (a firm left)", "cooperations per month"),
    "exit_low_trust": ("Exits: trust fell too low", "cooperations per month"),
    "exit_low_value": ("Exits: benefit fell short", "cooperations per month"),
    "exit_goal_reached": ("Exits: goal reached", "cooperations per month"),
    "exit_culture": ("Exits: cultures did not fit", "cooperations per month"),
    "partner_fit": ("Partner fit (share of the gap covered)", "share (0 to 1)"),
    "mean_trust": ("Trust between partners", "trust (0 to 1)"),
    "trust_sd": ("Spread of trust between partners (sd)", "trust (0 to 1)"),
    "trust_p10": ("Trust between partners, 10th percentile", "trust (0 to 1)"),
    "trust_p90": ("Trust between partners, 90th percentile", "trust (0 to 1)"),
    "group_trust": ("Trust within the group", "trust (0 to 1)"),
    "bystander_trust": ("Trust placed in a breach's bystanders (focal firms no event changed)", "trust (0 to 1)"),
    "bystander_profit": ("Profit of a breach's bystanders (focal firms no event changed)", "k EUR per month"),
    "defection_rate": ("Broken agreements", "share of relationship months"),
    "grab_rate": ("Unfair shares grabbed", "share of relationship months"),
    "density": ("Network density", "share of possible ties"),
    "clustering": ("Clustering of the network", "coefficient (0 to 1)"),
    "components": ("Connected components", "components"),
    "largest_component_share": ("Firms in the largest component", "share of firms"),
    "mean_degree": ("Partners per firm", "partners"),
    "degree_sd": ("Spread of partners per firm (sd)", "partners"),
    "max_degree": ("Most partners of any firm", "partners"),
    "value_created": ("Value created by cooperations", "k EUR per month"),
    "revenue_total": ("Revenue of all firms", "k EUR per month"),
    "profit_total": ("Profit of all firms", "k EUR per month"),
    "producer_profit": ("Producers' profit", "k EUR per month"),
    "producer_overhead": ("Producers' overhead", "k EUR per month"),
    "capital_mean": ("Capital of a firm", "k EUR"),
    "capital_gini": ("Inequality of capital", "Gini coefficient (0 to 1)"),
    "digital_maturity": ("Digital maturity of producers", "capability (0 to 1)"),
    "digital_maturity_small": ("Digital maturity of small producers", "capability (0 to 1)"),
    "culture_spread": ("Spread of company cultures", "sd across firms"),
    # Focal firms' and cooperations' columns that figures draw.
    "profit": ("Profit", "k EUR per month"),
    "capital": ("Capital", "k EUR"),
    "trust_received": ("Trust partners place in it", "trust (0 to 1)"),
    "cooperations": ("Live cooperations", "cooperations"),
    "trust": ("Trust between partners", "trust (0 to 1)"),
    "value": ("Value created per cooperation", "k EUR"),
    "months": ("How long cooperations last", "months"),
    # A comparison's same-firm measures: means per firm over the focal firms present in every scenario.
    "same_firm_profit": ("Profit of the same firms", "k EUR per month, mean per firm"),
    "same_firm_revenue": ("Revenue of the same firms", "k EUR per month, mean per firm"),
    "same_firm_overhead_paid": ("Overhead the same firms paid", "k EUR per month, mean per firm"),
    "same_firm_value_received": ("Value the same firms received from cooperations", "k EUR per month, mean per firm"),
    "same_firm_trust_received": ("Trust the same firms receive from partners", "trust (0 to 1)"),
    "same_firm_cooperations": ("Live cooperations of the same firms", "cooperations per firm"),
    "same_firm_digital_maturity": ("Digital maturity of the same firms", "capability (0 to 1)"),
    "same_firm_capital": ("Capital of the same firms", "k EUR, mean per firm"),
}


def measure_label(column: str) -> tuple[str, str]:
    """A measure's plain-language name and unit; an unknown column keeps its name, without a unit.

    Parameters
    ----------
    column : str
        A measure's name (a column of the measures table).

    Returns
    -------
    (str, str)
        Its name and unit.

    Examples
    --------
    >>> measure_label("producer_profit")
    ("Producers' profit", 'k EUR per month')
    >>> measure_label("market_integrity")
    ('market integrity', '')
    """
    return MEASURE_LABELS.get(column, (column.replace("_", " "), ""))


def _check_column(frame: pd.DataFrame, column: str, what: str) -> None:
    """Refuse a column the table does not have, naming the columns it has; a table without rows passes."""
    if len(frame) and column not in frame.columns:
        raise ValueError(f"{what} {column!r} is not a column of the table; its columns are {list(frame.columns)}")


_LAYOUT = {
    "template": "plotly_white",
    "font": {"family": "Helvetica, Arial, sans-serif", "size": 13},
    "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
    "legend": {"orientation": "h", "y": -0.2},
}


def scenario_colors(labels: Sequence[str]) -> dict[str, str]:
    """A colour for each scenario, the same in every figure that gets the same labels.

    Parameters
    ----------
    labels : sequence of str
        Scenario names, in order; repeats are ignored.

    Returns
    -------
    dict
        Colour (hex) per label.

    Examples
    --------
    >>> scenario_colors(["big", "open_market"])
    {'big': '#4477AA', 'open_market': '#EE6677'}
    """
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(dict.fromkeys(labels))}


def sequential_colors(labels: Sequence[str]) -> dict[str, str]:
    """Colours from dark to light (Viridis) for ordered labels, such as a sweep's values from low to high.

    Parameters
    ----------
    labels : sequence of str
        Labels from low to high; repeats are ignored.

    Returns
    -------
    dict
        Colour (hex) per label.

    Examples
    --------
    >>> sequential_colors(["low", "high"])
    {'low': '#440154', 'high': '#fde725'}
    """
    from plotly.colors import sample_colorscale

    labels = list(dict.fromkeys(labels))
    if not labels:
        return {}
    points = [i / max(len(labels) - 1, 1) for i in range(len(labels))]
    rgb = sample_colorscale("Viridis", points, colortype="tuple")
    return {
        label: "#" + "".join(f"{round(255 * c):02x}" for c in color) for label, color in zip(labels, rgb, strict=True)
    }


def empty_figure(title: str, message: str = "nothing to show") -> go.Figure:
    """A figure with a title and a message in place of data.

    Parameters
    ----------
    title : str
        The figure's title.
    message : str
        What is shown in place of data.

    Returns
    -------
    Figure
    """
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 16, "color": "#777"}, x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, **{**_LAYOUT, "height": 250})
    return fig


def _band(values: pd.DataFrame, by: list[str], column: str) -> pd.DataFrame:
    """Mean and 95% t interval of ``column`` per group of ``by``."""
    g = values.groupby(by, sort=False)[column].agg(["mean", "std", "count"]).reset_index()
    t = stats.t.ppf(0.975, np.maximum(g["count"] - 1, 1))
    half = np.where(g["count"] > 1, t * g["std"] / np.sqrt(g["count"]), np.nan)
    g["low"], g["high"] = g["mean"] - half, g["mean"] + half
    return g


def band_table(measures: pd.DataFrame, measure: str, by: str = "scenario") -> pd.DataFrame:
    """The numbers :func:`time_series` draws: per ``by`` and month, the mean, its 95% interval and the runs.

    Parameters
    ----------
    measures : DataFrame
        Tidy rows with ``step``, ``by`` (absent for a single run) and ``measure``.
    measure : str
        The column summarised.
    by : str
        Column naming the scenario (or the sweep's point).

    Returns
    -------
    DataFrame
        Columns ``by``, ``step``, ``mean``, ``ci_low``, ``ci_high``, ``runs``.

    Examples
    --------
    >>> m = pd.DataFrame({"step": [0, 0], "x": [1.0, 3.0]})
    >>> band_table(m, "x")[["scenario", "step", "mean", "runs"]].to_dict("records")
    [{'scenario': 'run', 'step': 0, 'mean': 2.0, 'runs': 2}]
    """
    columns = [by, "step", "mean", "ci_low", "ci_high", "runs"]
    _check_column(measures, measure, "measure")
    if measures.empty:
        return pd.DataFrame(columns=columns)
    frame = measures if by in measures.columns else measures.assign(**{by: "run"})
    g = _band(frame.dropna(subset=[measure]), [by, "step"], measure)
    return g.rename(columns={"low": "ci_low", "high": "ci_high", "count": "runs"})[columns]


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def time_series(
    measures: pd.DataFrame,
    measure: str,
    title: str | None = None,
    unit: str | None = None,
    by: str = "scenario",
    colors: Mapping[str, str] | None = None,
    dashed: Sequence[str] = (),
    bands: Sequence[str] | None = None,
) -> go.Figure:
    """A measure month by month: per scenario the mean over runs and its 95% band.

    Parameters
    ----------
    measures : DataFrame
        Tidy rows with ``step``, ``by`` (absent for a single run) and ``measure``.
    measure : str
        The column to draw.
    title, unit : str, optional
        Plain-language title and the y axis' unit (default: :func:`measure_label`).
    by : str
        Column naming the scenario (or the sweep's point).
    colors : mapping, optional
        Colour per scenario (default :func:`scenario_colors` of the scenarios in order).
    dashed : sequence of str
        Values of ``by`` drawn as dashed lines (a sweep's reference scenario).
    bands : sequence of str, optional
        Values of ``by`` that get their 95% band (default: all). Many
        overlapping bands hide the lines; a sweep shows only its reference's.

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        When ``measure`` is not a column of a non-empty ``measures``.

    Examples
    --------
    >>> m = pd.DataFrame({"step": [0, 1, 0, 1], "run": [0, 0, 1, 1], "mean_trust": [0.5, 0.6, 0.5, 0.7]})
    >>> fig = time_series(m, "mean_trust")
    >>> fig.layout.title.text, fig.layout.yaxis.title.text, [round(float(v), 3) for v in fig.data[1].y]
    ('Trust between partners', 'trust (0 to 1)', [0.5, 0.65])
    """
    default_title, default_unit = measure_label(measure)
    title = default_title if title is None else title
    unit = default_unit if unit is None else unit
    _check_column(measures, measure, "measure")
    if measures.empty or measures[measure].notna().sum() == 0:
        return empty_figure(title, f"no values of {measure}")
    frame = measures if by in measures.columns else measures.assign(**{by: "run"})
    colors = dict(colors or scenario_colors([str(v) for v in frame[by].unique()]))
    band = _band(frame.dropna(subset=[measure]), [by, "step"], measure)
    fig = go.Figure()
    for label, g in band.groupby(by, sort=False):
        color = colors.get(str(label), PALETTE[0])
        if g["count"].max() > 1 and (bands is None or str(label) in bands):
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([g["step"], g["step"][::-1]]),
                    y=np.concatenate([g["high"], g["low"][::-1]]),
                    fill="toself",
                    fillcolor=_rgba(color, 0.2),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=str(label),
                    name=f"{label} 95% band",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=g["step"],
                y=g["mean"],
                mode="lines",
                name=str(label),
                legendgroup=str(label),
                line={"color": color, "width": 2, "dash": "dash" if str(label) in dashed else "solid"},
                customdata=np.stack([g["low"], g["high"], g["count"]], axis=1),
                hovertemplate=f"{label}<br>month %{{x}}<br>%{{y:.3g}} {unit}"
                "<br>95%: %{customdata[0]:.3g} to %{customdata[1]:.3g} (%{customdata[2]} runs)<extra></extra>",
            )
        )
    fig.update_layout(title=title, xaxis_title="month", yaxis_title=unit, height=360, **_LAYOUT)
    return fig


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------

#: Trust classes of cooperation edges and their line widths.
TRUST_WIDTHS = (
    (0.0, 0.6, 1.0, "trust below 0.6"),
    (0.6, 0.8, 2.5, "trust 0.6 to 0.8"),
    (0.8, 1.01, 4.5, "trust 0.8 and above"),
)


def layout_positions(nodes: pd.DataFrame) -> dict[int, tuple[float, float]]:
    """Fixed positions of every firm that ever appears: niches around a circle, a niche's firms together.

    Competitors (firms of one niche) sit side by side, so cooperations
    between niches cross the circle and a niche crowded with rivals shows as
    a cluster. Computed once from the firms alone, so firms stay put from
    frame to frame and the same firms always get the same picture; it costs
    nothing at thousands of firms, unlike a force layout.
    """
    firms = nodes.drop_duplicates("firm", keep="first")[["firm", "niche"]]
    niches = sorted(set(firms["niche"].astype(str)))
    members = firms.assign(niche=firms["niche"].astype(str)).groupby("niche")["firm"].apply(list)
    biggest = max((len(v) for v in members), default=1)
    pos: dict[int, tuple[float, float]] = {}
    for k, niche in enumerate(niches):
        angle = 2 * math.pi * k / len(niches)
        cx, cy = math.cos(angle), math.sin(angle)
        group = sorted(int(f) for f in members[niche])
        # A niche's own small circle, sized so that neighbouring niches do not overlap.
        radius = 0.0 if len(group) == 1 else min(0.9 * math.pi / len(niches), 0.25) * math.sqrt(len(group) / biggest)
        for j, firm in enumerate(group):
            a = 2 * math.pi * j / len(group) + angle
            pos[firm] = (round(cx + radius * math.cos(a), 3), round(cy + radius * math.sin(a), 3))
    return pos


#: The edge traces of a network figure: one per Kreislauf phase and trust class
#: (a Plotly line trace has one colour and one width).
def phase_key(phases: Iterable[str]) -> str:
    """A one-line legend of phases in their colours (HTML for a Plotly annotation).

    Parameters
    ----------
    phases : iterable of str
        Phase labels, keys of :data:`PHASE_COLORS`.

    Returns
    -------
    str
    """
    return "  ".join(f"<span style='color:{PHASE_COLORS[p]}'>&#9632;</span> {p}" for p in phases)


EDGE_KEYS = [(phase, low, high, width, label) for phase in PHASE_COLORS for low, high, width, label in TRUST_WIDTHS]
_PHASE_CODE = {phase: i for i, phase in enumerate(PHASE_COLORS)}
_TRUST_CUTS = [low for low, _, _, _ in TRUST_WIDTHS[1:]]


def edge_segments(
    a: np.ndarray,
    b: np.ndarray,
    phase: Sequence[str],
    trust: Sequence[float] | np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per edge trace of :data:`EDGE_KEYS`, the x and y of its segments with NaN between them.

    Parameters
    ----------
    a, b : array of int
        Positions (into ``x`` and ``y``) of each edge's two firms.
    phase : sequence of str
        Each edge's Kreislauf phase label.
    trust : sequence of float
        Each edge's trust, for its line width.
    x, y : array of float
        Node coordinates.
    """
    key = np.asarray([_PHASE_CODE[p] for p in phase], dtype=np.int64) * len(TRUST_WIDTHS) + np.searchsorted(
        _TRUST_CUTS, np.asarray(trust, dtype=float), "right"
    )
    out = []
    for k in range(len(EDGE_KEYS)):
        sel = key == k
        gap = np.full(int(sel.sum()), np.nan, dtype=np.float32)
        out.append(
            (
                np.column_stack([x[a[sel]], x[b[sel]], gap]).ravel(),
                np.column_stack([y[a[sel]], y[b[sel]], gap]).ravel(),
            )
        )
    return out


def _frame_steps(steps: Sequence[int], limit: int) -> list[int]:
    """At most ``limit`` steps, evenly chosen, always the first and the last."""
    steps = sorted(steps)
    if len(steps) <= limit:
        return steps
    picks = np.unique(np.linspace(0, len(steps) - 1, limit).round().astype(int))
    return [steps[i] for i in picks]


def network(
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    title: str = "The cooperation network, month by month",
    max_frames: int = 60,
    budget: int = 2_000_000,
    webgl: bool | None = None,
) -> go.Figure:
    """Firms as nodes and cooperations as edges, with a month slider and a play button.

    Nodes are coloured by role (a menu switches to group membership, niche,
    digital maturity or the trust partners place in the firm) and sized by
    capital; edges are coloured by the cooperation's Kreislauf phase and
    drawn wider the more the partners trust each other. Positions are fixed,
    niches around a circle (:func:`layout_positions`); firms not in the
    market in a month are hidden.

    Parameters
    ----------
    nodes, edges : DataFrame
        The network history of one run (:class:`analysis.runs.NetworkHistory`).
    title : str
        The figure's title.
    max_frames : int
        Most months on the slider.
    budget : int
        Most bytes of data in the frames; frames are thinned to fit, so a
        1,000-firm run adds about 4 MB to a page. Numbers are stored as
        compact typed arrays: coordinates and colours as 32-bit floats,
        sizes as bytes.
    webgl : bool, optional
        Draw with WebGL (default: above 300 firms).
    """
    if nodes.empty:
        return empty_figure(title, "no network recorded")
    pos = layout_positions(nodes)
    firms = sorted(pos)
    index = {f: i for i, f in enumerate(firms)}
    # 32-bit floats: Plotly stores arrays as base64 typed arrays, half the size of 64-bit ones.
    x = np.array([pos[f][0] for f in firms], dtype=np.float32)
    y = np.array([pos[f][1] for f in firms], dtype=np.float32)
    webgl = len(firms) > 300 if webgl is None else webgl
    scatter: Any = go.Scattergl if webgl else go.Scatter

    static = nodes.drop_duplicates("firm", keep="last").set_index("firm").reindex(firms)
    # Bytes a frame stores: sizes (one byte) of the five node traces and colours (four) of two;
    # x and y (four each) of the three points of each edge's segment.
    per_frame_bytes = 5 * len(firms) + 8 * len(firms) + 24 * len(edges) / max(nodes["step"].nunique(), 1)
    limit = max(2, min(max_frames, int(budget / max(per_frame_bytes, 1))))
    steps = _frame_steps(nodes["step"].unique().tolist(), limit)
    by_step_nodes = {s: g for s, g in nodes.groupby("step")}
    by_step_edges = {s: g for s, g in edges.groupby("step")} if len(edges) else {}

    capital_scale = max(float(np.sqrt(np.clip(nodes["capital"], 0, None)).max()), 1e-9)
    hover = [
        f"<b>{r['name']}</b><br>{r['role']}{', group member' if r['member'] else ''}<br>niche: {r['niche']}"
        for _, r in static.iterrows()
    ]

    def node_state(step: int) -> dict[str, np.ndarray]:
        g = by_step_nodes[step]
        at = g["firm"].map(index).to_numpy()
        size = np.zeros(len(firms), dtype=np.uint8)
        size[at] = np.round(6 + 22 * np.sqrt(np.clip(g["capital"].to_numpy(), 0, None)) / capital_scale)
        digital = np.full(len(firms), np.nan, dtype=np.float32)
        digital[at] = g["digital"].to_numpy()
        trust = np.full(len(firms), np.nan, dtype=np.float32)
        trust[at] = g["trust_received"].to_numpy()
        return {"size": size, "digital": digital, "trust": trust}

    edge_keys = EDGE_KEYS

    def segments(step: int) -> list[tuple[np.ndarray, np.ndarray]]:
        g = by_step_edges.get(step)
        if g is None or g.empty:
            return edge_segments(np.zeros(0, int), np.zeros(0, int), [], np.zeros(0), x, y)
        return edge_segments(g["a"].map(index).to_numpy(), g["b"].map(index).to_numpy(), g["phase"], g["trust"], x, y)

    niches = static["niche"].astype(str)
    niche_palette = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(dict.fromkeys(niches))}
    categorical = {
        "role": [ROLE_COLORS.get(str(r), "#777") for r in static["role"]],
        "group": [GROUP_COLORS[bool(m)] for m in static["member"]],
        "niche": [niche_palette[n] for n in niches],
    }
    continuous = {"digital maturity": "digital", "trust received": "trust"}
    modes = [*categorical, *continuous]

    labelled = len(firms) <= 40  # a small network can carry its firms' names
    names = static["name"].astype(str).to_numpy()

    def labels(step: int) -> dict[str, Any]:
        """The names of the firms in the market in this month (none for those not yet in, or gone)."""
        if not labelled:
            return {}
        present = np.zeros(len(firms), dtype=bool)
        present[by_step_nodes[step]["firm"].map(index).to_numpy()] = True
        return {"text": np.where(present, names, "").tolist()}

    def traces(step: int) -> list[Any]:
        """A frame: every edge trace's segments, every node trace's sizes (and changing colours) and names."""
        state = node_state(step)
        text = labels(step)
        out = [scatter(x=ex, y=ey) for ex, ey in segments(step)]
        out += [scatter(marker={"size": state["size"]}, **text) for _ in categorical]
        out += [scatter(marker={"size": state["size"], "color": state[key]}, **text) for key in continuous.values()]
        return out

    first = steps[0]
    fig = go.Figure()
    for (phase, _, _, width, _), (ex, ey) in zip(edge_keys, segments(first), strict=True):
        fig.add_trace(
            scatter(
                x=ex,
                y=ey,
                mode="lines",
                line={"color": PHASE_COLORS[phase], "width": width},
                hoverinfo="skip",
                name=phase,
                showlegend=False,
            )
        )
    state = node_state(first)
    common = {"x": x, "y": y, "mode": "markers", "hovertext": hover, "hoverinfo": "text", "showlegend": False}
    if labelled:
        common.update(mode="markers+text", textposition="top center", **labels(first))
    outline = {"width": 0.5, "color": "#333"}
    # One node trace per colouring: the menu only switches which is visible, so the
    # frames never fight the menu over the colours.
    for mode, colors in categorical.items():
        fig.add_trace(
            scatter(
                **common,
                name=f"firms by {mode}",
                visible=mode == "role",
                marker={"size": state["size"], "color": colors, "line": outline},
            )
        )
    for mode, key in continuous.items():
        fig.add_trace(
            scatter(
                **common,
                name=f"firms by {mode}",
                visible=False,
                marker={
                    "size": state["size"],
                    "color": state[key],
                    "colorscale": "Viridis",
                    "cmin": 0,
                    "cmax": 1,
                    "colorbar": {"title": {"text": mode}, "thickness": 12},
                    "line": outline,
                },
            )
        )
    n_traces = len(edge_keys) + len(modes)
    fig.frames = [go.Frame(name=str(s), data=traces(s), traces=list(range(n_traces))) for s in steps]
    buttons = [
        {
            "label": f"colour: {mode}",
            "method": "restyle",
            "args": [{"visible": [True] * len(edge_keys) + [m == mode for m in modes]}],
        }
        for mode in modes
    ]
    # A legend of the phases that stays whatever a frame holds (Plotly leaves empty traces out of its legend).
    fig.add_annotation(
        text=f"cooperations by phase: {phase_key(PHASE_COLORS)}; wider lines: more trust",
        x=0,
        y=1.02,
        xref="paper",
        yref="paper",
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        font={"size": 12},
    )
    frame_args = {"frame": {"duration": 300, "redraw": True}, "mode": "immediate", "transition": {"duration": 0}}
    fig.update_layout(
        title=title,
        **_LAYOUT,
        height=640,
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        updatemenus=[
            {"type": "dropdown", "buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.08, "yanchor": "bottom"},
            {
                "type": "buttons",
                "showactive": False,
                "x": 0.0,
                "y": -0.12,
                "xanchor": "left",
                "yanchor": "top",
                "buttons": [
                    {"label": "play", "method": "animate", "args": [None, {**frame_args, "fromcurrent": True}]},
                    {"label": "pause", "method": "animate", "args": [[None], {**frame_args, "mode": "immediate"}]},
                ],
            },
        ],
        sliders=[
            {
                "active": 0,
                "x": 0.12,
                "len": 0.88,
                "y": -0.08,
                "currentvalue": {"prefix": "month "},
                "steps": [{"label": str(s), "method": "animate", "args": [[str(s)], frame_args]} for s in steps],
            }
        ],
    )
    return fig


def model_network(model: Any, title: str | None = None) -> go.Figure:
    """The network of one model as it stands now: firms as nodes, live cooperations as edges.

    Drawn as :func:`network` draws a month of a run's history, for a model
    stepped by hand in a notebook.

    Parameters
    ----------
    model : sim.CooperationModel
        The model, at any step.
    title : str, optional
        Default: "The cooperation network in month N".

    Returns
    -------
    Figure

    Examples
    --------
    >>> from sim import CooperationModel, load_scenario
    >>> model = CooperationModel(load_scenario("classroom"), seed=1)
    >>> for _ in range(3):
    ...     model.step()
    >>> model_network(model).layout.title.text
    'The cooperation network in month 3'
    """
    from sim.observe.network import edge_frame, node_frame

    nodes = pd.DataFrame(node_frame(model))
    edges = pd.DataFrame(edge_frame(model))
    return network(nodes, edges, title=title or f"The cooperation network in month {int(model.steps)}")


# ---------------------------------------------------------------------------
# Flows, distributions, focal firms
# ---------------------------------------------------------------------------

_STAGES = ["needs assessed", "partner search", "agreement (structure)", "relationship", "evaluation"]
_STAGE_PHASE = dict(zip(_STAGES, PHASE_COLORS, strict=True))


def _flows(log: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Counts of cooperations along each link from stage to stage and to their outcome."""
    flows: dict[tuple[str, str], int] = {}

    def add(a: str, b: str, n: int) -> None:
        if n:
            flows[(a, b)] = flows.get((a, b), 0) + int(n)

    partnered = log["partner_id"].notna()
    searched = (log["months_partner_search"] > 0) | partnered | (log["outcome"] == "no_partner")
    related = log["months_relationship"] > 0
    evaluated = log["evaluations"] > 0
    reached = [
        np.ones(len(log), bool),
        searched.to_numpy(),
        partnered.to_numpy(),
        related.to_numpy(),
        evaluated.to_numpy(),
    ]
    for k in range(1, len(_STAGES)):
        add(_STAGES[k - 1], _STAGES[k], int((reached[k - 1] & reached[k]).sum()))
    last = np.zeros(len(log), dtype=int)
    for k in range(len(_STAGES)):
        last[reached[k]] = k
    for (stage, outcome, reason), n in (
        pd.DataFrame({"stage": last, "outcome": log["outcome"].to_numpy(), "reason": log["reason"].to_numpy()})
        .value_counts(sort=False, dropna=False)  # open cooperations have no reason
        .items()
    ):
        add(_STAGES[stage], _outcome_label(str(outcome), str(reason)), int(n))
    return flows


def _outcome_label(outcome: str, reason: str) -> str:
    if outcome == "exit":
        return f"exit: {reason.split(':')[0]}"  # "goal reached: nothing left to gain..." -> "goal reached"
    return {
        "no_partner": "no partner found",
        "continue": "continued, still running",
        "ongoing": "still open at the end",
        "dissolved": "dissolved: a firm left",
    }.get(outcome, outcome)


def phase_flows(cooperations: pd.DataFrame, by: str = "scenario", title: str | None = None) -> go.Figure:
    """Cooperations flowing through the Kreislauf phases to their outcomes (per run), one diagram per scenario.

    Exits after evaluation are split by their recorded reason. Widths are
    cooperations per run, so scenarios with different numbers of runs compare.

    Parameters
    ----------
    cooperations : DataFrame
        Cooperation logs (:attr:`analysis.Experiment.cooperations`, or a run's).
    by : str
        Column naming the scenario (absent for a single run).
    title : str, optional
        Default: "How cooperations flow through the cycle of trust (per run)".

    Returns
    -------
    Figure
    """
    title = title or "How cooperations flow through the cycle of trust (per run)"
    if cooperations.empty:
        return empty_figure(title, "no cooperations")
    log = cooperations if by in cooperations.columns else cooperations.assign(**{by: "run"})
    labels = list(dict.fromkeys(log[by]))
    fig = go.Figure()
    for i, label in enumerate(labels):
        part = log[log[by] == label]
        runs = part["run"].nunique() if "run" in part.columns else 1
        flows = _flows(part)
        names = list(dict.fromkeys([n for pair in flows for n in pair]))
        node_colors = [
            PHASE_COLORS[_STAGE_PHASE[n]]
            if n in _STAGE_PHASE
            else ("#CC3311" if n.startswith(("exit", "dissolved", "no partner")) else "#117733")
            for n in names
        ]
        fig.add_trace(
            go.Sankey(
                domain={"x": [0, 1], "y": [1 - (i + 1) / len(labels) + 0.03, 1 - i / len(labels) - 0.05]},
                arrangement="snap",
                node={"label": names, "color": node_colors, "pad": 12, "thickness": 14},
                link={
                    "source": [names.index(a) for a, _ in flows],
                    "target": [names.index(b) for _, b in flows],
                    "value": [round(v / runs, 3) for v in flows.values()],
                    "hovertemplate": "%{source.label} → %{target.label}: %{value} per run<extra></extra>",
                },
                valueformat=".3~f",
                name=str(label),
            )
        )
        if len(labels) > 1:
            fig.add_annotation(
                text=f"<b>{label}</b>",
                x=0,
                y=1 - i / len(labels),
                xref="paper",
                yref="paper",
                xanchor="left",
                yanchor="bottom",
                showarrow=False,
            )
    fig.update_layout(title=title, height=60 + 380 * len(labels), **{k: v for k, v in _LAYOUT.items() if k != "legend"})
    return fig


def distribution(
    values: pd.DataFrame,
    column: str,
    title: str | None = None,
    unit: str | None = None,
    by: str = "scenario",
    colors: Mapping[str, str] | None = None,
    bins: int = 30,
) -> go.Figure:
    """Overlaid histograms of ``column`` per scenario, as shares so that scenarios of any size compare.

    Parameters
    ----------
    values : DataFrame
        Rows to count (cooperations, edges, runs), with ``column`` and ``by``
        (absent for a single run).
    column : str
        The column whose values are counted.
    title, unit : str, optional
        Plain-language title and the x axis' unit (default: :func:`measure_label`).
    by : str
        Column naming the scenario.
    colors : mapping, optional
        Colour per scenario.
    bins : int
        Number of bins, shared by every scenario.

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        When ``column`` is not a column of a non-empty ``values``.
    """
    default_title, default_unit = measure_label(column)
    title = default_title if title is None else title
    unit = default_unit if unit is None else unit
    _check_column(values, column, "column")
    if values.empty or values[column].notna().sum() == 0:
        return empty_figure(title, f"no values of {column}")
    frame = values if by in values.columns else values.assign(**{by: "run"})
    colors = dict(colors or scenario_colors(frame[by].unique().tolist()))
    data = frame[column].dropna()
    edges = np.histogram_bin_edges(data, bins=bins)
    fig = go.Figure()
    for label, g in frame.groupby(by, sort=False):
        v = g[column].dropna()
        counts, _ = np.histogram(v, bins=edges)
        share = counts / max(len(v), 1)
        fig.add_trace(
            go.Bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=share,
                width=np.diff(edges),
                name=f"{label} (n={len(v)})",
                marker={"color": colors.get(str(label), PALETTE[0])},
                opacity=0.6,
                hovertemplate=f"{label}<br>%{{x:.3g}} {unit}: %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_layout(title=title, barmode="overlay", xaxis_title=unit, yaxis_title="share", height=360, **_LAYOUT)
    fig.update_yaxes(tickformat=".0%")
    return fig


#: Focal-firm outcomes shown side by side, with their labels.
FOCAL_PANELS = {
    "profit": "profit per month, k EUR",
    "digital_maturity": "digital maturity (0-1)",
    "trust_received": "trust partners place in it (0-1)",
}


def focal_firms(
    focal_summary: pd.DataFrame, colors: Mapping[str, str] | None = None, panels: Mapping[str, str] = FOCAL_PANELS
) -> go.Figure:
    """The B.I.G. producers side by side: each outcome's mean and 95% interval per scenario.

    Parameters
    ----------
    focal_summary : DataFrame
        :attr:`analysis.Experiment.focal_summary`: ``firm``, ``scenario``,
        ``measure``, ``mean``, ``ci_low``, ``ci_high``.
    colors : mapping, optional
        Colour per scenario.
    panels : mapping
        Measures drawn side by side, with their titles.

    Returns
    -------
    Figure
    """
    title = "The six B.I.G. producers across scenarios (mean over the final months, 95% interval)"
    if focal_summary.empty:
        return empty_figure(title, "no focal firms in these scenarios")
    labels = list(dict.fromkeys(focal_summary["scenario"]))
    colors = dict(colors or scenario_colors(labels))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels.values()), horizontal_spacing=0.08)
    for c, measure in enumerate(panels, start=1):
        part = focal_summary[focal_summary["measure"] == measure]
        for label in labels:
            g = part[part["scenario"] == label]
            fig.add_trace(
                go.Bar(
                    x=g["firm"],
                    y=g["mean"],
                    name=str(label),
                    legendgroup=str(label),
                    showlegend=c == 1,
                    marker={"color": colors[str(label)]},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": (g["ci_high"] - g["mean"]).fillna(0),
                        "arrayminus": (g["mean"] - g["ci_low"]).fillna(0),
                    },
                    hovertemplate=f"{label}<br>%{{x}}: %{{y:.3g}}<extra></extra>",
                ),
                row=1,
                col=c,
            )
    fig.update_layout(title=title, barmode="group", height=420, **_LAYOUT)
    return fig


# ---------------------------------------------------------------------------
# Sweeps
# ---------------------------------------------------------------------------


def parameter_effect(
    outcomes: pd.DataFrame,
    parameter: str,
    measure: str,
    title: str | None = None,
    unit: str | None = None,
    reference: pd.Series | Mapping[str, Any] | None = None,
) -> go.Figure:
    """A sweep's outcome against one parameter: every run, and the mean with its 95% interval per value.

    Parameters
    ----------
    outcomes : DataFrame
        One row per run (:attr:`analysis.Experiment.outcomes`), with the
        parameter's and the measure's columns.
    parameter, measure : str
        Columns for the x and the y axis.
    title, unit : str, optional
        Plain-language title and the y axis' unit (default: :func:`measure_label`).
    reference : mapping, optional
        A scenario to reach: ``label``, ``mean``, ``ci_low``, ``ci_high`` (a row
        of a comparison's summary). Drawn as a dashed line across the plot with
        its 95% band; where the curve of means crosses it, a vertical line marks
        the crossing (:func:`analysis.statistics.crossings`).

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        When ``parameter`` or ``measure`` is not a column of a non-empty ``outcomes``.
    """
    from analysis.statistics import crossings

    name, default_unit = measure_label(measure)
    title = f"{name} against {parameter}" if title is None else title
    unit = default_unit if unit is None else unit
    _check_column(outcomes, parameter, "parameter")
    _check_column(outcomes, measure, "measure")
    if outcomes.empty:
        return empty_figure(title, f"no runs with {parameter} and {measure}")
    data = outcomes.dropna(subset=[measure])
    fig = go.Figure(
        go.Scatter(
            x=data[parameter],
            y=data[measure],
            mode="markers",
            name="runs",
            marker={"color": _rgba(PALETTE[0], 0.35), "size": 6},
            hovertemplate=f"{parameter} %{{x:.3g}}<br>{name} %{{y:.3g}} {unit}<extra>run</extra>",
        )
    )
    band = None
    if data[parameter].nunique() <= 30:
        band = _band(data, [parameter], measure).sort_values(parameter)
        fig.add_trace(
            go.Scatter(
                x=band[parameter],
                y=band["mean"],
                mode="lines+markers",
                name="mean, 95% interval",
                line={"color": PALETTE[1], "width": 2},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (band["high"] - band["mean"]).fillna(0),
                    "arrayminus": (band["mean"] - band["low"]).fillna(0),
                },
            )
        )
    if reference is not None and _finite(reference.get("mean")):
        label = str(reference.get("label", "reference"))
        numeric = pd.api.types.is_numeric_dtype(data[parameter]) and not pd.api.types.is_bool_dtype(data[parameter])
        xs = (
            [data[parameter].min(), data[parameter].max()]
            if numeric and len(data)
            else list(dict.fromkeys(data[parameter]))
        )
        mean, low, high = (float(reference.get(k, math.nan)) for k in ("mean", "ci_low", "ci_high"))
        if math.isfinite(low) and math.isfinite(high):
            fig.add_trace(
                go.Scatter(
                    x=[xs[0], xs[-1], xs[-1], xs[0]],
                    y=[high, high, low, low],
                    fill="toself",
                    fillcolor="rgba(0,0,0,0.08)",
                    mode="lines",
                    line={"width": 0},
                    hoverinfo="skip",
                    name=f"{label}: 95% interval",
                    showlegend=False,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=[xs[0], xs[-1]],
                y=[mean, mean],
                mode="lines",
                name=f"{label} (reference)",
                line={"color": "#000000", "width": 2, "dash": "dash"},
                hovertemplate=f"{label}: %{{y:.3g}} {unit}<extra></extra>",
            )
        )
        if band is not None and numeric:
            for x in crossings(band[parameter].to_numpy(float), band["mean"].to_numpy(float), mean):
                fig.add_vline(x=x, line={"color": "#000000", "width": 1, "dash": "dot"})
                fig.add_annotation(
                    x=x,
                    y=1,
                    yref="paper",
                    yanchor="bottom",
                    showarrow=False,
                    text=f"reaches {label} at {parameter} ≈ {x:.3g}",
                    font={"size": 12},
                )
    fig.update_layout(title=title, xaxis_title=parameter, yaxis_title=unit, **_LAYOUT)
    return fig


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def parameter_heatmap(
    outcomes: pd.DataFrame, x: str, y: str, measure: str, title: str | None = None, bins: int = 6
) -> go.Figure:
    """Mean outcome over a pair of parameters; sampled (not gridded) values are grouped into ``bins`` ranges.

    Parameters
    ----------
    outcomes : DataFrame
        One row per run, with both parameters' and the measure's columns.
    x, y : str
        The parameters on the two axes.
    measure : str
        The outcome whose mean is coloured.
    title : str, optional
        Default: the measure's name over the two parameters.
    bins : int
        Ranges a sampled parameter's values are grouped into.

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        When a column is missing from a non-empty ``outcomes``.
    """
    name, unit = measure_label(measure)
    title = f"{name} over {x} and {y}" if title is None else title
    for column, what in ((x, "parameter"), (y, "parameter"), (measure, "measure")):
        _check_column(outcomes, column, what)
    if outcomes.empty:
        return empty_figure(title, f"no runs with {x}, {y} and {measure}")
    data = outcomes.dropna(subset=[measure]).copy()
    for p in (x, y):
        if data[p].nunique() > 12:
            data[p] = pd.cut(data[p], bins=bins).map(lambda iv: round(float(iv.mid), 3)).astype(float)
    table = data.groupby([y, x])[measure].mean().unstack(x).sort_index()
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=[_tick(v) for v in table.columns],
            y=[_tick(v) for v in table.index],
            colorscale="Viridis",
            colorbar={"title": {"text": unit or name}},
            hovertemplate=f"{x} %{{x}}<br>{y} %{{y}}<br>{measure} %{{z:.3g}}<extra></extra>",
        )
    )
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, **_LAYOUT)
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


def _tick(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)


def sensitivity_bars(table: pd.DataFrame, title: str = "Which parameters matter (sensitivity indices)") -> go.Figure:
    """Sobol S1 and ST (or Morris mu* and sigma) per parameter, one panel per outcome, with 95% intervals.

    Parameters
    ----------
    table : DataFrame
        :func:`analysis.sensitivity.sensitivity`'s table.
    title : str
        The figure's title.

    Returns
    -------
    Figure
    """
    if table.empty:
        return empty_figure(title, "no sensitivity indices")
    sobol = "ST" in table.columns
    pairs: list[tuple[str, str | None, str]] = [
        ("S1", "S1_conf", "first order (alone)"),
        ("ST", "ST_conf", "total (with interactions)"),
    ]
    if not sobol:
        pairs = [("mu_star", "mu_star_conf", "mu* (influence)"), ("sigma", None, "sigma (interactions)")]
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig = make_subplots(rows=1, cols=len(outcomes), subplot_titles=outcomes, shared_yaxes=sobol)
    for c, outcome in enumerate(outcomes, start=1):
        part = table[table["outcome"] == outcome]
        for k, (column, conf, label) in enumerate(pairs):
            fig.add_trace(
                go.Bar(
                    x=part["parameter"],
                    y=part[column],
                    name=label,
                    legendgroup=label,
                    showlegend=c == 1,
                    marker={"color": PALETTE[k]},
                    error_y={"type": "data", "array": part[conf]} if conf else None,
                ),
                row=1,
                col=c,
            )
    fig.update_layout(title=title, barmode="group", height=420, **_LAYOUT)
    return fig
