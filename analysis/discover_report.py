"""The offline report of a discovery: the peeling trajectory and the chosen box.

Built with the page machinery of :mod:`analysis.report`, so it opens offline
like the other reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from analysis.report import Item, Markup, Section, _header, _page
from analysis.runs import write_text

if TYPE_CHECKING:
    from analysis.discover import Discovery

__all__ = ["box_figure", "trajectory_figure", "write_discover_report"]


def trajectory_figure(result: Discovery) -> go.Figure:
    """Coverage against density of every box on the peeling trajectory; the chosen box ringed."""
    t = result.trajectory
    fig = go.Figure(
        go.Scatter(
            x=t["coverage"],
            y=t["density"],
            mode="markers+lines",
            marker={
                "color": t["res_dim"],
                "colorscale": "Viridis",
                "size": 9,
                "colorbar": {"title": "parameters<br>restricted"},
            },
            text=[f"step {i}: {int(r)} parameters restricted" for i, r in zip(t.index, t["res_dim"], strict=True)],
            hovertemplate="%{text}<br>coverage %{x:.0%}, density %{y:.0%}<extra></extra>",
            name="trajectory",
        )
    )
    c = t.loc[result.chosen]
    fig.add_trace(
        go.Scatter(
            x=[c["coverage"]],
            y=[c["density"]],
            mode="markers",
            marker={"size": 20, "symbol": "circle-open", "color": "red", "line": {"width": 3}},
            name="chosen box",
        )
    )
    fig.update_layout(
        title="Peeling trajectory",
        xaxis={"title": "coverage (share of the points where it holds that lie in the box)", "tickformat": ".0%"},
        yaxis={"title": "density (share of the box's points where it holds)", "tickformat": ".0%"},
        height=480,
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def box_figure(result: Discovery) -> go.Figure:
    """The points of the two most restricted parameters, marked where the condition holds, with the chosen box."""
    box = result.box
    numeric = box[box["box_min"].map(lambda v: isinstance(v, float | int))]
    ranked = list(numeric.sort_values("restricted", ascending=False, kind="stable")["parameter"])[:2]
    p = result.points
    if len(ranked) == 1:
        ranked = [ranked[0], result.condition.measure]
    xname, yname = ranked[0], ranked[1]
    fig = go.Figure()
    for held, color, label in ((False, "#bbbbbb", "does not hold"), (True, "#d95f02", f"{result.condition}")):
        part = p[p["holds"] == held]
        fig.add_trace(go.Scatter(x=part[xname], y=part[yname], mode="markers", marker={"color": color}, name=label))
    rows = box.set_index("parameter")
    x0, x1 = rows.loc[xname, "box_min"], rows.loc[xname, "box_max"]
    if yname in rows.index:
        y0, y1 = rows.loc[yname, "box_min"], rows.loc[yname, "box_max"]
    else:
        y0, y1 = p[yname].min(), p[yname].max()
    fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, line={"color": "red", "width": 2}, fillcolor="rgba(0,0,0,0)")
    fig.update_layout(title="The chosen box", xaxis_title=xname, yaxis_title=yname, height=480)
    return fig


def write_discover_report(result: Discovery, path: str | Path | None = None) -> Path:
    """Write ``report.html`` of a discovery into its folder (or ``path``)."""
    row = result.trajectory.loc[result.chosen]
    restricted = result.box[result.box["restricted"]]
    facts = [
        ("condition", str(result.condition)),
        ("points where it holds", f"{int(result.points['holds'].sum())} of {len(result.points)}"),
        (
            "restricted",
            ", ".join(
                f"{r['parameter']} {r['box_min']:.4g} to {r['box_max']:.4g}"
                if isinstance(r["box_min"], float | int)
                else f"{r['parameter']} {r['box_min']}"
                for _, r in restricted.iterrows()
            )
            or "nothing",
        ),
        ("method", "PRIM (Friedman & Fisher 1999), EMA Workbench"),
    ]
    headline: dict[str, object] = {
        "coverage of the chosen box": Markup(f"{row['coverage']:.0%}"),
        "density of the chosen box": Markup(f"{row['density']:.0%}"),
    }
    sections = [
        Section(
            "Where it holds",
            items=[
                Item(
                    trajectory_figure(result),
                    "Each dot is a box PRIM reached while peeling slices off the swept space, from the whole space "
                    "(right, low density) to small dense boxes (left); the ring is the chosen box: the densest that "
                    "keeps the asked-for coverage.",
                    result.trajectory,
                    "trajectory",
                ),
                Item(
                    box_figure(result),
                    "Each dot is a sweep point (the mean over its replicates), coloured where the condition holds; "
                    "the red rectangle is the chosen box over its two most restricted parameters.",
                    result.points,
                    "points",
                ),
            ],
            columns=2,
        )
    ]
    header = _header(f"Where {result.condition}", facts, headline)
    target = Path(path) if path is not None else result.path / "report.html"
    write_text(target, _page(f"kreislauf discover: {result.condition}", header, sections))
    return target
