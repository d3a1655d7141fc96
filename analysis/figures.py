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
    "distribution",
    "edge_segments",
    "empty_figure",
    "focal_firms",
    "network",
    "parameter_effect",
    "parameter_heatmap",
    "phase_flows",
    "phase_key",
    "scenario_colors",
    "sensitivity_bars",
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

_LAYOUT = {
    "template": "plotly_white",
    "font": {"family": "Helvetica, Arial, sans-serif", "size": 13},
    "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
    "legend": {"orientation": "h", "y": -0.2},
}


def scenario_colors(labels: Sequence[str]) -> dict[str, str]:
    """A colour for each scenario, the same in every figure that gets the same labels.

    Examples
    --------
    >>> scenario_colors(["big", "open_market"])
    {'big': '#4477AA', 'open_market': '#EE6677'}
    """
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(dict.fromkeys(labels))}


def empty_figure(title: str, message: str = "nothing to show") -> go.Figure:
    """A figure with a title and a message in place of data."""
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


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def time_series(
    measures: pd.DataFrame,
    measure: str,
    title: str,
    unit: str,
    by: str = "scenario",
    colors: Mapping[str, str] | None = None,
) -> go.Figure:
    """A measure month by month: per scenario the mean over runs and its 95% band.

    Parameters
    ----------
    measures : DataFrame
        Tidy rows with ``step``, ``by`` (absent for a single run) and ``measure``.
    measure : str
        The column to draw.
    title, unit : str
        Plain-language title and the y axis' unit.
    by : str
        Column naming the scenario.
    colors : mapping, optional
        Colour per scenario (default :func:`scenario_colors` of the scenarios in order).
    """
    if measures.empty or measure not in measures.columns or measures[measure].notna().sum() == 0:
        return empty_figure(title, f"no values of {measure}")
    frame = measures if by in measures.columns else measures.assign(**{by: "run"})
    colors = dict(colors or scenario_colors(frame[by].unique().tolist()))
    band = _band(frame.dropna(subset=[measure]), [by, "step"], measure)
    fig = go.Figure()
    for label, g in band.groupby(by, sort=False):
        color = colors.get(str(label), PALETTE[0])
        if g["count"].max() > 1:
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
                line={"color": color, "width": 2},
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
    """A one-line legend of phases in their colours (HTML for a Plotly annotation)."""
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

    def traces(step: int) -> list[Any]:
        """A frame: every edge trace's segments, every node trace's sizes (and changing colours)."""
        state = node_state(step)
        out = [scatter(x=ex, y=ey) for ex, ey in segments(step)]
        out += [scatter(marker={"size": state["size"]}) for _ in categorical]
        out += [scatter(marker={"size": state["size"], "color": state[key]}) for key in continuous.values()]
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
    if len(firms) <= 40:  # a small network can carry its firms' names
        common.update(mode="markers+text", text=static["name"].tolist(), textposition="top center")
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

    partnered = log["partner_id"] >= 0
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
        .value_counts(sort=False)
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
    title: str,
    unit: str,
    by: str = "scenario",
    colors: Mapping[str, str] | None = None,
    bins: int = 30,
) -> go.Figure:
    """Overlaid histograms of ``column`` per scenario, as shares so that scenarios of any size compare."""
    if values.empty or column not in values.columns or values[column].notna().sum() == 0:
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
    """The B.I.G. producers side by side: each outcome's mean and 95% interval per scenario."""
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


def parameter_effect(outcomes: pd.DataFrame, parameter: str, measure: str, title: str, unit: str) -> go.Figure:
    """A sweep's outcome against one parameter: every run, and the mean with its 95% interval per value."""
    if outcomes.empty or parameter not in outcomes.columns or measure not in outcomes.columns:
        return empty_figure(title, f"no runs with {parameter} and {measure}")
    data = outcomes.dropna(subset=[measure])
    fig = go.Figure(
        go.Scatter(
            x=data[parameter],
            y=data[measure],
            mode="markers",
            name="runs",
            marker={"color": _rgba(PALETTE[0], 0.35), "size": 6},
            hovertemplate=f"{parameter} %{{x:.3g}}<br>{measure} %{{y:.3g}}<extra>run</extra>",
        )
    )
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
    fig.update_layout(title=title, xaxis_title=parameter, yaxis_title=unit, **_LAYOUT)
    return fig


def parameter_heatmap(outcomes: pd.DataFrame, x: str, y: str, measure: str, title: str, bins: int = 6) -> go.Figure:
    """Mean outcome over a pair of parameters; sampled (not gridded) values are grouped into ``bins`` ranges."""
    if outcomes.empty or not {x, y, measure} <= set(outcomes.columns):
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
            colorbar={"title": {"text": measure}},
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
    """Sobol S1 and ST (or Morris mu* and sigma) per parameter, one panel per outcome, with 95% intervals."""
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
