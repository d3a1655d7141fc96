"""What the live app draws: the network, the running plots, the feed and the firm inspector.

Each view comes in two forms: a whole figure, built when a session starts or
is reset, and the new data alone (:class:`dash.Patch`), sent every step. The
figures keep a fixed set of traces (one per Kreislauf phase and trust class
for the edges, one for the firms), so a step only replaces their coordinates,
sizes and colours: the picture stays calm and the page redraws fast.
Colours, widths and the layout of firms are those of the report
(:mod:`analysis.figures`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from dash import Patch
from plotly.subplots import make_subplots

from analysis.figures import (
    EDGE_KEYS,
    GROUP_COLORS,
    PHASE_COLORS,
    ROLE_COLORS,
    edge_segments,
    phase_key,
    scenario_colors,
)
from analysis.live.session import World
from sim.observe.chronicle import Entry
from sim.vocabulary import DOMAINS, LIVE_PHASES, PILLARS, TRAITS, Phase

__all__ = [
    "COLOR_MODES",
    "feed_items",
    "firm_report",
    "network_data",
    "network_figure",
    "network_patch",
    "running_figure",
    "running_patch",
]

#: Ways to colour the firms.
COLOR_MODES = {
    "role": "role (producer or service firm)",
    "group": "group member or not",
    "digital": "digital maturity",
    "trust": "trust partners place in it",
}

#: Running plots: (measure, panel title, unit).
PANELS = (
    ("phases", "Cooperations by phase", "cooperations"),
    ("mean_trust", "Mean trust between partners", "trust, 0 to 1"),
    ("value_created", "Value created by cooperations", "k EUR per month"),
    ("digital_maturity", "Digital maturity", "mean level, 0 to 1"),
)
_PHASES = [p for p in Phase if p is not Phase.ENDED]


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------


def network_data(world: World, color_by: str = "role") -> dict[str, Any]:
    """The network now, as plain arrays: edge segments per trace, firms' places, sizes, colours and labels."""
    nodes, edges = world.nodes(), world.edges()
    firms = nodes["firm"].to_numpy()
    index = {int(f): k for k, f in enumerate(firms)}
    x = np.array([world.positions[int(f)][0] for f in firms], dtype=float)
    y = np.array([world.positions[int(f)][1] for f in firms], dtype=float)
    if len(edges):
        a = edges["a"].map(index).to_numpy()
        b = edges["b"].map(index).to_numpy()
        segments = edge_segments(a, b, edges["phase"], edges["trust"], x, y)
    else:
        segments = edge_segments(np.zeros(0, int), np.zeros(0, int), [], np.zeros(0), x, y)
    capital = np.clip(nodes["capital"].to_numpy(), 0, None)
    size = 8 + 20 * np.sqrt(capital / max(float(capital.max()) if len(capital) else 1.0, 1e-9))
    if color_by == "group":
        color: list[Any] = [GROUP_COLORS[bool(m)] for m in nodes["member"]]
    elif color_by == "digital":
        color = nodes["digital"].round(3).tolist()
    elif color_by == "trust":
        color = nodes["trust_received"].round(3).tolist()  # NaN (no partners): drawn grey by Plotly
    else:
        color = [ROLE_COLORS.get(str(r), "#777") for r in nodes["role"]]
    hover = [
        f"<b>{n}</b><br>{r}{', group member' if m else ''}<br>niche: {ni}<br>capital: {c:,.0f} k EUR"
        f"<br>digital maturity: {d:.2f}"
        for n, r, m, ni, c, d in zip(
            nodes["name"],
            nodes["role"],
            nodes["member"],
            nodes["niche"],
            nodes["capital"],
            nodes["digital"],
            strict=True,
        )
    ]
    return {
        "segments": [(_clean(ex), _clean(ey)) for ex, ey in segments],
        "x": x.round(3).tolist(),
        "y": y.round(3).tolist(),
        "size": size.round(1).tolist(),
        "color": color,
        "continuous": color_by in ("digital", "trust"),
        "hover": hover,
        "names": nodes["name"].tolist() if len(nodes) <= 40 else None,
        "firms": [int(f) for f in firms],
        "symbol": ["diamond" if m else "circle" for m in nodes["member"]],
    }


def _clean(values: np.ndarray) -> list[float | None]:
    """Coordinates for JSON: NaN (the break between segments) as None."""
    return [None if v != v else round(float(v), 3) for v in values.tolist()]


def network_figure(data: dict[str, Any], title: str) -> go.Figure:
    """The network as a figure: one line trace per phase and trust class, then the firms."""
    fig = go.Figure()
    for (phase, _, _, width, label), (ex, ey) in zip(EDGE_KEYS, data["segments"], strict=True):
        fig.add_trace(
            go.Scatter(
                x=ex,
                y=ey,
                mode="lines",
                line={"color": PHASE_COLORS[phase], "width": width},
                hoverinfo="skip",
                name=f"{phase}, {label}",
                showlegend=False,
            )
        )
    fig.add_trace(go.Scatter(mode="markers", hoverinfo="text", name="firms", showlegend=False))
    _set_nodes(fig.data[-1], data)
    fig.add_annotation(
        text=f"cooperations: {phase_key(p.label for p in LIVE_PHASES)}; wider: more trust. Firms: &#9670; group member, &#9679; other",
        x=0,
        y=-0.02,
        xref="paper",
        yref="paper",
        xanchor="left",
        yanchor="top",
        showarrow=False,
        font={"size": 11},
    )
    fig.update_layout(
        title={"text": title, "x": 0.01},
        margin={"l": 10, "r": 10, "t": 40, "b": 30},
        height=460,
        plot_bgcolor="white",
        paper_bgcolor="white",
        xaxis={"visible": False, "range": [-1.35, 1.35]},
        yaxis={"visible": False, "range": [-1.3, 1.3], "scaleanchor": "x"},
        uirevision="keep",  # zoom and pan survive updates
    )
    return fig


def _set_nodes(trace: Any, data: dict[str, Any]) -> None:
    trace.x, trace.y, trace.hovertext = data["x"], data["y"], data["hover"]
    trace.marker = _marker(data)
    if data["names"] is not None:
        trace.mode, trace.text, trace.textposition = "markers+text", data["names"], "top center"
        trace.textfont = {"size": 10}


def _marker(data: dict[str, Any]) -> dict[str, Any]:
    marker: dict[str, Any] = {
        "size": data["size"],
        "color": data["color"],
        "symbol": data["symbol"],
        "line": {"width": 0.5, "color": "#333"},
    }
    if data["continuous"]:
        marker.update(colorscale="Viridis", cmin=0, cmax=1, showscale=True, colorbar={"thickness": 10, "len": 0.6})
    else:
        marker.update(showscale=False)
    return marker


def network_patch(data: dict[str, Any]) -> Patch:
    """Only what changes in a step: edge segments, and the firms' places, sizes, colours and labels."""
    patch = Patch()
    for k, (ex, ey) in enumerate(data["segments"]):
        patch["data"][k]["x"] = ex
        patch["data"][k]["y"] = ey
    nodes = len(EDGE_KEYS)
    patch["data"][nodes]["x"] = data["x"]
    patch["data"][nodes]["y"] = data["y"]
    patch["data"][nodes]["hovertext"] = data["hover"]
    patch["data"][nodes]["marker"] = _marker(data)
    if data["names"] is not None:
        patch["data"][nodes]["text"] = data["names"]
    return patch


# ---------------------------------------------------------------------------
# Running plots
# ---------------------------------------------------------------------------


def _series(world: World) -> dict[str, list[float]]:
    """The measures the running plots show, month by month so far, in the order of the figure's traces."""
    raw = world.model.datacollector.model_vars
    out = {f"phase {p.label}": list(raw[f"phase_{p.name.lower()}"]) for p in _PHASES}
    for measure, _, _ in PANELS[1:]:
        out[measure] = [None if v != v else v for v in raw[measure]]  # NaN (no partners yet) as a gap
    return out


def running_figure(worlds: list[World]) -> go.Figure:
    """Four panels: cooperations by phase, mean trust, value created, digital maturity; worlds by line style."""
    fig = make_subplots(rows=2, cols=2, subplot_titles=[title for _, title, _ in PANELS], vertical_spacing=0.16)
    colors = scenario_colors([w.label for w in worlds])
    dashes = ["solid", "dot", "dash"]
    for k, w in enumerate(worlds):
        series = _series(w)
        months = list(range(len(series["mean_trust"])))
        for p in _PHASES:
            fig.add_trace(
                go.Scatter(
                    x=months,
                    y=series[f"phase {p.label}"],
                    mode="lines",
                    line={"color": PHASE_COLORS[p.label], "dash": dashes[k % 3], "width": 2},
                    name=f"{p.label} ({w.label})",
                    legendgroup=w.label,
                    hovertemplate=f"{w.label}, {p.label}: %{{y}} in month %{{x}}<extra></extra>",
                    showlegend=len(worlds) == 1 or k == 0,
                ),
                row=1,
                col=1,
            )
        for j, (measure, _, _) in enumerate(PANELS[1:], start=1):
            fig.add_trace(
                go.Scatter(
                    x=months,
                    y=series[measure],
                    mode="lines",
                    line={"color": colors[w.label], "dash": dashes[k % 3], "width": 2},
                    name=w.label,
                    legendgroup=w.label,
                    showlegend=j == 1,
                    hovertemplate=f"{w.label}: %{{y:.3g}} in month %{{x}}<extra></extra>",
                ),
                row=1 + j // 2,
                col=1 + j % 2,
            )
    for k, (_, _, unit) in enumerate(PANELS):
        fig.update_yaxes(title_text=unit, row=1 + k // 2, col=1 + k % 2, rangemode="tozero")
        fig.update_xaxes(title_text="month", row=1 + k // 2, col=1 + k % 2)
    style = " and ".join(f"{dashes[k % 3]} lines: {w.label}" for k, w in enumerate(worlds))
    fig.update_layout(
        height=520,
        margin={"l": 50, "r": 10, "t": 40, "b": 40},
        plot_bgcolor="white",
        paper_bgcolor="white",
        legend={"font": {"size": 10}},
        title={"text": style if len(worlds) > 1 else "", "font": {"size": 11}, "x": 0.01},
        uirevision="keep",
    )
    return fig


def running_patch(worlds: list[World]) -> Patch:
    """The running plots' data so far, trace by trace."""
    patch = Patch()
    k = 0
    for w in worlds:
        series = _series(w)
        months = list(range(len(series["mean_trust"])))
        for values in series.values():  # in the order running_figure adds the traces
            patch["data"][k]["x"] = months
            patch["data"][k]["y"] = values
            k += 1
    return patch


# ---------------------------------------------------------------------------
# The event feed and the firm inspector
# ---------------------------------------------------------------------------


def feed_items(worlds: list[World], kinds: list[str] | None = None, limit: int = 60) -> list[dict[str, Any]]:
    """The latest lines of every world's feed, newest first, as plain records for the page."""
    items = []
    for k, w in enumerate(worlds):
        for order, entry in enumerate(w.feed):
            if kinds is None or entry.kind in kinds:
                items.append((entry.step, -k, order, w.label, entry))
    # Newest month first; within a month, the first world's lines first, each in the order of the cycle.
    items.sort(key=lambda it: (-it[0], -it[1], it[2]))
    return [_record(label, e) for _, _, _, label, e in items[:limit]]


def _record(label: str, entry: Entry) -> dict[str, Any]:
    return {
        "world": label,
        "step": entry.step,
        "kind": entry.kind,
        "text": entry.text,
        "color": PHASE_COLORS.get(entry.kind, {"exit": "#EE6677", "event": "#000000"}.get(entry.kind, "#777777")),
    }


def firm_report(world: World, name: str) -> dict[str, Any] | None:
    """One firm as the inspector shows it: traits, capabilities, and its trust in each partner by pillar.

    ``None`` if the world has no firm of that name.
    """
    model = world.model
    firms = model.firms
    if name not in firms.names:
        return None
    i = firms.index_of(name)
    t = model.kreislauf.table
    open_ids = t.open_ids()
    mine = open_ids[(t.a[open_ids] == i) | (t.b[open_ids] == i)]
    partners = [int(t.b[c]) if t.a[c] == i else int(t.a[c]) for c in mine]
    rows = []
    for cid, other in zip(mine.tolist(), partners, strict=True):
        phase = Phase(int(t.phase[cid]))
        row: dict[str, Any] = {
            "cooperation": cid,
            "partner": firms.names[other] if other >= 0 else "(searching)",
            "phase": phase.label,
            "since month": int(t.started[cid]),
        }
        if other >= 0 and phase in LIVE_PHASES:
            pillars = model.ledger.pillars(np.array([i]), np.array([other]))[0]
            row.update({p: round(float(v), 2) for p, v in zip(PILLARS, pillars, strict=True)})
            row["trust"] = round(float(pillars @ model.ledger.weights), 2)  # as TrustLedger.trust weighs them
        rows.append(row)
    return {
        "name": name,
        "alive": bool(firms.alive[i]),
        "role": "service firm" if firms.role[i] else "producer",
        "member": bool(firms.member[i]),
        "niche": model.market.niche_names[int(firms.niche[i])],
        "traits": {t_: round(float(firms.traits[i, k]), 2) for k, t_ in enumerate(TRAITS)},
        "capabilities": {d: round(float(firms.caps[i, k]), 2) for k, d in enumerate(DOMAINS)},
        "size": float(firms.size[i]),
        "capital": round(float(firms.capital[i]), 1),
        "capacity": f"{int(firms.load[i])} of {int(firms.capacity[i])} in use",
        "cooperations": rows,
    }
