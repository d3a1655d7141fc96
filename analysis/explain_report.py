"""The offline report of an explanation: a waterfall per measure and an interaction heatmap.

Built with the page machinery of :mod:`analysis.report` (Plotly embedded
once, no network request allowed), so it opens offline like the other
reports.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.figures import empty_figure, measure_label
from analysis.report import Item, Markup, Section, _header, _page
from analysis.runs import write_text

if TYPE_CHECKING:
    from analysis.explain import Explanation

__all__ = ["interaction_heatmap", "waterfall", "write_explain_report"]


def _label(measure: str) -> str:
    name, unit = measure_label(measure)
    return f"{name} ({unit})" if unit else name


def waterfall(gap: pd.Series, rows: pd.DataFrame) -> go.Figure:
    """From A's value to B's: one bar per ingredient (minus its contribution to the gap A - B), then the rest.

    Parameters
    ----------
    gap : Series
        The measure's row of the explanation's ``gaps`` table.
    rows : DataFrame
        The measure's rows of the ``contributions`` table, in order.
    """
    names = [str(gap["a"]), *rows["ingredient"], str(gap["b"])]
    steps = [-float(x) for x in rows["contribution"]]
    y = [float(gap["a_value"]), *steps, float(gap["b_value"])]
    hover = [
        f"{n}: {s:+.3g} (95%: {-h:+.3g} to {-lo:+.3g})"
        for n, s, lo, h in zip(rows["ingredient"], steps, rows["low"], rows["high"], strict=True)
    ]
    fig = go.Figure(
        go.Waterfall(
            x=names,
            y=y,
            measure=["absolute", *["relative"] * len(steps), "total"],
            text=[f"{v:.3g}" if k in (0, len(y) - 1) else f"{v:+.3g}" for k, v in enumerate(y)],
            hovertext=[f"{gap['a']}: {y[0]:.4g}", *hover, f"{gap['b']}: {y[-1]:.4g}"],
            hoverinfo="text",
            increasing={"marker": {"color": "#1b9e77"}},
            decreasing={"marker": {"color": "#d95f02"}},
            totals={"marker": {"color": "#555555"}},
            connector={"line": {"color": "#999", "width": 1}},
        )
    )
    fig.update_layout(
        title=f"{_label(str(gap['measure']))}: from {gap['a']} to {gap['b']}",
        yaxis_title=_label(str(gap["measure"])),
        height=480,
        margin={"b": 140},
        showlegend=False,
    )
    return fig


def interaction_heatmap(pairs: pd.DataFrame, names: list[str], measure: str) -> go.Figure:
    """The Shapley interaction index of every pair of ingredients, as a symmetric heatmap."""
    if pairs.empty:
        return empty_figure(f"{_label(measure)}: interactions", "a sampled design has no interaction index")
    index = {n: k for k, n in enumerate(names)}
    grid = np.full((len(names), len(names)), np.nan)
    for _, r in pairs.iterrows():
        i, j = index[r["ingredient_a"]], index[r["ingredient_b"]]
        grid[i, j] = grid[j, i] = r["interaction"]
    top = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            x=names,
            y=names,
            zmin=-top,
            zmax=top,
            colorscale="RdBu",
            colorbar={"title": "interaction"},
            hovertemplate="%{y} x %{x}: %{z:.3g}<extra></extra>",
        )
    )
    fig.update_layout(title=f"{_label(measure)}: pairwise interactions", height=560, yaxis={"autorange": "reversed"})
    return fig


def write_explain_report(result: Explanation, path: str | Path | None = None) -> Path:
    """Write ``report.html`` of an explanation into its folder (or ``path``)."""
    d = result.design
    waterfalls, heatmaps = [], []
    for _, gap in result.gaps.iterrows():
        m = str(gap["measure"])
        rows = result.contributions[result.contributions["measure"] == m].sort_values("order")
        caption = (
            f"Start at {gap['a']}'s mean, switch the ingredients of {d.declaring.name} to {d.other.name}'s setting: "
            f"each bar is an ingredient's Shapley value (its change of the measure averaged over every order of "
            f"switching), the last one the rest the declared ingredients do not cover; they end exactly at "
            f"{gap['b']}'s mean. Hover for 95% bootstrap intervals over {gap['replicates']} paired replicates."
        )
        waterfalls.append((_label(m), [Item(waterfall(gap, rows), caption, rows, f"contributions-{m}")]))
        pairs = result.interactions[result.interactions["measure"] == m] if len(result.interactions) else pd.DataFrame()
        heat_caption = (
            "Shapley interaction index of each pair (Grabisch 1997), in the measure's units: blue when two "
            "ingredients do more together than the sum of what each does alone, red when less."
        )
        heatmaps.append(
            (_label(m), [Item(interaction_heatmap(pairs, [i.name for i in d.ingredients], m), heat_caption, pairs)])
        )
    table = _contributions_html(result)
    facts = [
        ("compared", f"{d.a.name} - {d.b.name}"),
        ("ingredients of", d.declaring.name),
        ("design", d.description),
        ("replicates", int(result.gaps["replicates"].max()) if len(result.gaps) else 0),
        ("folder", str(result.path)),
    ]
    headline: dict[str, object] = {}
    for _, gap in result.gaps.iterrows():
        headline[f"gap in {_label(str(gap['measure']))}"] = Markup(
            f"{gap['gap']:+.3g}<div class=sub>95%: {gap['gap_low']:+.3g} to {gap['gap_high']:+.3g}</div>"
        )
    sections = [
        Section("What makes the difference", choices=waterfalls, note="One waterfall per measure."),
        Section("Which ingredients act together", choices=heatmaps),
    ]
    header = _header(f"Why {d.a.name} and {d.b.name} differ", facts, headline, extra=table)
    target = Path(path) if path is not None else result.path / "report.html"
    write_text(target, _page(f"kreislauf explain {d.a.name} {d.b.name}", header, sections))
    return target


def _contributions_html(result: Explanation) -> str:
    parts = []
    for _, gap in result.gaps.iterrows():
        m = str(gap["measure"])
        rows = result.contributions[result.contributions["measure"] == m].sort_values("order")
        body = "".join(
            f"<tr><td title='{html.escape(str(r['sentence']), quote=True)}'>{html.escape(str(r['ingredient']))}</td>"
            f"<td>{r['contribution']:+.3g}</td><td>{r['low']:+.3g} to {r['high']:+.3g}</td>"
            f"<td>{r['share']:+.0%}</td></tr>"
            for _, r in rows.iterrows()
        )
        parts.append(
            f"<table class=diff><caption>{html.escape(_label(m))}: gap {gap['gap']:+.3g}</caption>"
            "<tr><th>ingredient</th><th>contribution to the gap</th><th>95% interval</th><th>share</th></tr>"
            f"{body}</table>"
        )
    return "".join(parts)
