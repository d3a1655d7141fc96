"""What the live app draws: the network, the running plots, the feed and the firm inspector.

Each view comes in two forms: a whole figure, built when a session starts or
is reset, and the new data alone (:class:`dash.Patch`), sent every step. The
figures keep a fixed set of traces (one per phase with two partners and
trust class for the edges, one for the firms), so a step only replaces their
coordinates, sizes and colours: the picture stays calm and the page redraws
fast. Labels keep 14 px at any size of the picture: :func:`network_view`
places them and sets the axes for the room the page reports.
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
    scenario_colors,
)
from analysis.live.session import World
from sim.observe.chronicle import Entry
from sim.observe.network import edge_frame, node_frame
from sim.vocabulary import DOMAINS, LIVE_PHASES, PILLARS, TRAITS, Phase

__all__ = [
    "BREACH_FILTER",
    "COLOR_MODES",
    "FONT_SIZE",
    "feed_items",
    "feed_lines",
    "firm_report",
    "network_data",
    "network_figure",
    "network_patch",
    "network_view",
    "running_figure",
    "running_patch",
    "short_label",
]

#: Ways to colour the firms.
COLOR_MODES = {
    "role": "role (producer or service firm)",
    "group": "group member or not",
    "digital": "digital maturity",
    "trust": "trust partners place in it",
}

#: Running plots: (measure, panel title).
PANELS = (
    ("phases", "Cooperations by phase"),
    ("mean_trust", "Mean trust (0 to 1)"),
    ("value_created", "Value created (k EUR/month)"),
    ("digital_maturity", "Digital maturity (0 to 1)"),
)
#: Line styles of the worlds in the running plots: the first solid, the second dotted.
DASHES = ("solid", "dot", "dash")
_PHASES = [p for p in Phase if p is not Phase.ENDED]


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------


def short_label(name: str) -> str:
    """The label drawn beside a firm: its name, the group's service firms by their initials ("B.I.G. CS")."""
    words = name.split()
    if len(words) > 2 and words[0] == "B.I.G.":
        return "B.I.G. " + "".join(w[0] for w in words[1:])
    return name


#: Label size on screen, in pixels: a small letter's width and a line's height at :data:`FONT_SIZE`;
#: the room between a marker's edge and its label (Plotly sets a label off by the marker's radius);
#: the largest marker's radius.
_CHAR_PX, _LINE_PX, _GAP_PX, _MARKER_PX = 8.2, 17.6, 3.0, 14.0

#: Pixels a unit of the network's coordinates takes when the page has not said (a 1280 x 720 projector).
UNIT_PX = 110.0

#: Where a label may go, in order of preference after the outward one.
_PLACES = (
    "top center",
    "bottom center",
    "middle right",
    "middle left",
    "top right",
    "top left",
    "bottom right",
    "bottom left",
)

#: The network's box on the page, in pixels, when the page has not said (a 1280 x 720 projector).
NETWORK_BOX = (440.0, 330.0)

#: The networks' margins in pixels (left, right, top: the title, bottom).
_MARGIN = {"l": 4, "r": 4, "t": 30, "b": 4}


_NARROW = frozenset(" .,:;'-!|()[]ijltfrI")


def _text_px(text: str) -> float:
    """A label's width in pixels at 14 px, generously: capitals wider, narrow letters and stops narrower."""
    return sum(4.6 if c in _NARROW else 10.0 if c.isupper() or c in "mwMW" else _CHAR_PX for c in text)


def _label_box(
    x: float, y: float, text: str, place: str, unit: float = UNIT_PX, radius: float = _MARKER_PX
) -> tuple[float, float, float, float]:
    """The box (left, bottom, right, top) a label takes at a Plotly text position beside a marker.

    ``unit`` is the pixels one unit of the network's coordinates takes on
    screen, ``radius`` the marker's radius in pixels.
    """
    width, line, gap = _text_px(text) / unit, _LINE_PX / unit, (radius + _GAP_PX) / unit
    vertical, horizontal = place.split()
    if horizontal == "right":
        left = x + gap
    elif horizontal == "left":
        left = x - gap - width
    else:
        left = x - width / 2
    if vertical == "top":
        bottom = y + gap
    elif vertical == "bottom":
        bottom = y - gap - line
    else:
        bottom = y - line / 2
    return left, bottom, left + width, bottom + line


def label_places(
    x: list[float],
    y: list[float],
    labels: list[str],
    unit: float = UNIT_PX,
    sideways: bool = True,
    radii: list[float] | None = None,
    required: list[bool] | None = None,
) -> list[str]:
    """A Plotly text position for each firm's label, so that no label covers another.

    Each label goes outwards from the centre of the circle of niches if that
    is free, else to the first free place around its marker (labels placed
    earlier keep theirs); empty labels need no place. ``unit`` is the pixels
    a unit of the coordinates takes on screen: labels keep their size in
    pixels, so a smaller picture has less room for them. With ``sideways``
    False, a label goes above or below its firm before beside it (a narrow
    picture has more room there). ``radii`` are the markers' radii in pixels
    (the largest if not given). A label placed covers no other label and,
    where there is a place for that, no other firm's marker. The labels of
    firms ``required`` (all if not given) are placed first; another label
    with no free place is left out: its place is ``""`` (its firm keeps its
    name on hover).
    """
    return _label_places(x, y, labels, unit, sideways, radii, required)[0]


def _label_places(
    x: list[float],
    y: list[float],
    labels: list[str],
    unit: float,
    sideways: bool,
    radii: list[float] | None,
    required: list[bool] | None,
) -> tuple[list[str], int]:
    """:func:`label_places`, and how many required labels found no place free of other labels."""
    radii = radii if radii is not None else [_MARKER_PX] * len(x)
    required = required if required is not None else [True] * len(x)
    clashes = 0
    markers = [
        (px - r / unit, py - r / unit, px + r / unit, py + r / unit) for px, py, r in zip(x, y, radii, strict=True)
    ]
    taken: list[tuple[float, float, float, float]] = []
    places = ["top center"] * len(x)
    for k in sorted(range(len(x)), key=lambda k: not required[k]):  # the required first, each in its order
        px, py, text, radius = x[k], y[k], labels[k], radii[k]
        if not text:
            continue
        others = markers[:k] + markers[k + 1 :]
        outward = (
            "middle right"
            if px > 0.35 and sideways
            else "middle left"
            if px < -0.35 and sideways
            else "top center"
            if py >= 0
            else "bottom center"
        )
        order = (outward, *(p for p in _PLACES if p != outward))
        place = next((p for p in order if not _covers(_label_box(px, py, text, p, unit, radius), taken + others)), "")
        if not place:  # no place free of markers: the first free of labels at least
            place = next((p for p in order if not _covers(_label_box(px, py, text, p, unit, radius), taken)), "")
        if not place and required[k]:
            place, clashes = outward, clashes + 1
        if place:
            taken.append(_label_box(px, py, text, place, unit, radius))
        places[k] = place
    return places, clashes


def _covers(box: tuple[float, float, float, float], boxes: list[tuple[float, float, float, float]]) -> bool:
    """Whether a box overlaps any of ``boxes`` (each left, bottom, right, top)."""
    return any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in boxes)


def network_view(
    x: list[float],
    y: list[float],
    labels: list[str],
    box: tuple[float, float] | None = None,
    radii: list[float] | None = None,
    required: list[bool] | None = None,
) -> tuple[list[str], list[str], list[float], list[float]]:
    """The labels shown, where they go, and the axes' ranges that hold every firm and label inside a box.

    Labels keep 14 px whatever the size of the picture, so a small box (a
    projector at 150% zoom) needs more of the coordinates' room beside the
    circle than a large one: the ranges and the places are worked out
    together, a few rounds until they agree.

    Parameters
    ----------
    x, y : list of float
        The firms' coordinates.
    labels : list of str
        Each firm's label (empty: none).
    box : (float, float), optional
        The network's box on the page in pixels (width, height); a
        projector's at 1280 x 720 if not given.
    radii : list of float, optional
        The markers' radii in pixels (the largest if not given).
    required : list of bool, optional
        Firms whose label is always shown (all if not given); the others'
        labels are left out where no place is free of other labels.

    Returns
    -------
    labels : list of str
        The labels shown (empty where left out).
    places : list of str
        Each label's Plotly text position.
    xrange, yrange : list of float
        The axes' ranges (Plotly widens one of them to keep the circle round).
    """
    width, height = box or NETWORK_BOX
    width = max(width - _MARGIN["l"] - _MARGIN["r"], 40.0)
    height = max(height - _MARGIN["t"] - _MARGIN["b"], 40.0)
    radii = radii or [_MARKER_PX] * len(x)
    required = required if required is not None else [True] * len(x)
    best: tuple[tuple[int, float, int], list[str], list[float], list[float]] | None = None
    for sideways in (True, False):  # labels beside their firms, or above and below
        unit, places, clashes, xrange, yrange = _fit(x, y, labels, width, height, sideways, radii, required)
        shown = sum(1 for t, p in zip(labels, places, strict=True) if t and p)
        score = (-clashes, unit, shown)  # no label over another first, then the most room, then the most labels
        if best is None or score > best[0]:
            best = (score, places, xrange, yrange)
    assert best is not None
    _, places, xrange, yrange = best
    shown_labels = [t if p else "" for t, p in zip(labels, places, strict=True)]
    return shown_labels, [p or "top center" for p in places], xrange, yrange


def _fit(
    x: list[float],
    y: list[float],
    labels: list[str],
    width: float,
    height: float,
    sideways: bool,
    radii: list[float],
    required: list[bool],
) -> tuple[float, list[str], int, list[float], list[float]]:
    """The largest scale (pixels a unit) at which firms and labels fit ``width`` x ``height`` pixels.

    Returns the scale, the label places there, how many required labels lie
    over another, and the ranges that hold it all. The larger the scale, the
    more room between firms for labels of a fixed size, but the more room
    the picture needs: a bisection finds where it stops fitting.
    """

    def attempt(unit: float) -> tuple[bool, list[str], int, list[float], list[float]]:
        places, clashes = _label_places(x, y, labels, unit, sideways, radii, required)
        edge = (_MARKER_PX + 4) / unit
        boxes = [
            _label_box(px, py, t, pl, unit, r)
            for px, py, t, pl, r in zip(x, y, labels, places, radii, strict=True)
            if t and pl
        ]
        boxes += [(px - edge, py - edge, px + edge, py + edge) for px, py in zip(x, y, strict=True)]
        pad = 4 / unit
        xrange = [min(b[0] for b in boxes) - pad, max(b[2] for b in boxes) + pad] if boxes else [-1.2, 1.2]
        yrange = [min(b[1] for b in boxes) - pad, max(b[3] for b in boxes) + pad] if boxes else [-1.2, 1.2]
        fits = (xrange[1] - xrange[0]) * unit <= width and (yrange[1] - yrange[0]) * unit <= height
        return fits, places, clashes, [round(v, 3) for v in xrange], [round(v, 3) for v in yrange]

    low, high = 4.0, 400.0
    found = attempt(low)
    for _ in range(9):  # to within 1% of the scale
        mid = (low * high) ** 0.5
        tried = attempt(mid)
        if tried[0]:
            low, found = mid, tried
        else:
            high = mid
    return low, found[1], found[2], found[3], found[4]


def network_data(world: World, color_by: str = "role", box: tuple[float, float] | None = None) -> dict[str, Any]:
    """The network now, as plain arrays: edge segments per trace, firms' places, sizes, colours and labels.

    The segments come per edge trace of the live figure (the phases with two
    partners, by trust class, in drawing order). ``box`` is the network's box
    on the page in pixels, if the page has said (see :func:`network_view`).

    Only the firms the scenario names (the B.I.G.'s, say) and its focal
    firms carry a label; the others show their name on hover. The focal
    firms (the six B.I.G. producers, in every scenario that has them) are
    ringed in black.
    """
    nodes, edges = node_frame(world.model), edge_frame(world.model)  # plain arrays: no table is needed here
    firms = np.asarray(nodes["firm"], dtype=np.int64)
    x = np.array([world.positions[int(f)][0] for f in firms], dtype=float)
    y = np.array([world.positions[int(f)][1] for f in firms], dtype=float)
    if len(edges["a"]):
        order = np.argsort(firms)  # alive_idx is sorted already; argsort keeps this right if it were not
        a = order[np.searchsorted(firms, edges["a"], sorter=order)]
        b = order[np.searchsorted(firms, edges["b"], sorter=order)]
        segments = edge_segments(a, b, list(edges["phase"]), np.asarray(edges["trust"], dtype=float), x, y)
    else:
        segments = edge_segments(np.zeros(0, int), np.zeros(0, int), [], np.zeros(0), x, y)
    capital_now = np.asarray(nodes["capital"], dtype=float)
    capital = np.clip(capital_now, 0, None)
    size = 8 + 20 * np.sqrt(capital / max(float(capital.max()) if len(capital) else 1.0, 1e-9))
    member = np.asarray(nodes["member"], dtype=bool)
    digital = np.asarray(nodes["digital"], dtype=float)
    if color_by == "group":
        color: list[Any] = [GROUP_COLORS[bool(m)] for m in member]
    elif color_by == "digital":
        color = digital.round(3).tolist()
    elif color_by == "trust":
        color = [None if v != v else v for v in np.asarray(nodes["trust_received"]).round(3).tolist()]  # grey
    else:
        color = [ROLE_COLORS.get(str(r), "#777") for r in nodes["role"]]
    names = list(nodes["name"])
    focal = world.focal
    hover = [
        f"<b>{n}</b>{' (a B.I.G. producer)' if n in focal else ''}<br>{r}{', group member' if m else ''}"
        f"<br>niche: {ni}<br>capital: {c:,.0f} k EUR<br>digital maturity: {d:.2f}"
        for n, r, m, ni, c, d in zip(
            names, nodes["role"], member.tolist(), nodes["niche"], capital_now.tolist(), digital.tolist(), strict=True
        )
    ]
    labelled = world.labelled
    labels = [short_label(n) if n in labelled else "" for n in names]
    # Firms never move: labels are placed again only when a named firm comes or goes or the box changes size
    # (with the markers of that month: they grow slowly with capital), so labels stay put while months play.
    ids = firms.tolist()
    key = (tuple(f for f, t in zip(ids, labels, strict=True) if t), box)
    if world.label_places is None or world.label_places[0] != key:
        radii = [float(r) for r in np.ceil(size / 2)]
        required = [n in focal for n in names]  # the B.I.G. producers always named; others where there is room
        shown, places, xrange, yrange = network_view(x.tolist(), y.tolist(), labels, box, radii, required)
        where = {f: (t, p) for f, t, p in zip(ids, shown, places, strict=True) if t}
        world.label_places = (key, (where, xrange, yrange))
    where, xrange, yrange = world.label_places[1]
    labels = [where[f][0] if f in where else "" for f in ids]
    places = [where[f][1] if f in where else "top center" for f in ids]
    return {
        "segments": [(_clean(ex), _clean(ey)) for ex, ey in (segments[k] for k in _LIVE_KEYS)],
        "x": x.round(3).tolist(),
        "y": y.round(3).tolist(),
        "size": size.round(1).tolist(),
        "color": color,
        "continuous": color_by in ("digital", "trust"),
        "hover": hover,
        "labels": labels,
        "textposition": places,
        "xrange": xrange,
        "yrange": yrange,
        "ring": [3.0 if n in focal else 0.5 for n in names],
        "firms": [int(f) for f in firms],
        "symbol": ["diamond" if m else "circle" for m in member.tolist()],
    }


def _clean(values: np.ndarray) -> list[float | None]:
    """Coordinates for JSON: NaN (the break between segments) as None."""
    return [None if v != v else round(float(v), 3) for v in values.tolist()]


#: The edge traces drawn: those of the phases in which a cooperation has two partners (the others
#: never have an edge; each trace costs the browser a redraw), working relationships first and
#: paler, so cooperations being set up or under evaluation lie on top and stand out in a dense group.
#: ``network_data``'s segments come in this order.
_LIVE_KEYS = sorted(
    (k for k, key in enumerate(EDGE_KEYS) if key[0] in {p.label for p in LIVE_PHASES}),
    key=lambda k: EDGE_KEYS[k][0] != "relationship",
)

#: Smallest text on the page, in pixels: readable from the back of a lecture hall.
FONT_SIZE = 14


def network_figure(data: dict[str, Any], title: str) -> go.Figure:
    """The network as a figure: one line trace per phase and trust class, then the firms.

    The figure has no fixed size: it fills its box on the page. Its legend is
    on the page (HTML that wraps), not in the figure, where it would be cut.
    """
    fig = go.Figure()
    for k, (ex, ey) in zip(_LIVE_KEYS, data["segments"], strict=True):
        phase, _, _, width, label = EDGE_KEYS[k]
        fig.add_trace(
            go.Scatter(
                x=ex,
                y=ey,
                mode="lines",
                opacity=0.55 if phase == "relationship" else 1.0,
                line={"color": PHASE_COLORS[phase], "width": width},
                hoverinfo="skip",
                name=f"{phase}, {label}",
                showlegend=False,
            )
        )
    fig.add_trace(
        go.Scatter(
            mode="markers+text",
            hoverinfo="text",
            name="firms",
            showlegend=False,
            cliponaxis=False,
            textfont={"size": FONT_SIZE, "color": "#222"},
        )
    )
    _set_nodes(fig.data[-1], data)
    fig.update_layout(
        title={"text": title, "x": 0.01, "y": 0.98, "yanchor": "top", "font": {"size": 16}},
        font={"size": FONT_SIZE},
        margin=_MARGIN,
        autosize=True,
        plot_bgcolor="white",
        paper_bgcolor="white",
        # Room beside the circle for every label at the box's size (Plotly would cut them).
        xaxis={"visible": False, "range": data["xrange"]},
        yaxis={"visible": False, "range": data["yrange"], "scaleanchor": "x"},
        uirevision="keep",  # zoom and pan survive updates
    )
    return fig


def _set_nodes(trace: Any, data: dict[str, Any]) -> None:
    trace.x, trace.y, trace.hovertext = data["x"], data["y"], data["hover"]
    trace.marker = _marker(data)
    trace.text, trace.textposition = data["labels"], data["textposition"]


def _marker(data: dict[str, Any]) -> dict[str, Any]:
    marker: dict[str, Any] = {
        "size": data["size"],
        "color": data["color"],
        "symbol": data["symbol"],
        "line": {"width": data["ring"], "color": "#111"},
    }
    if data["continuous"]:
        marker.update(
            colorscale="Viridis",
            cmin=0,
            cmax=1,
            showscale=True,
            colorbar={"thickness": 10, "len": 0.6, "tickfont": {"size": FONT_SIZE}},
        )
    else:
        marker.update(showscale=False)
    return marker


def network_patch(data: dict[str, Any]) -> Patch:
    """Only what changes in a step: edge segments, and the firms' places, sizes, colours and labels."""
    patch = Patch()
    for trace, (ex, ey) in enumerate(data["segments"]):
        patch["data"][trace]["x"], patch["data"][trace]["y"] = ex, ey
    nodes = len(data["segments"])
    patch["data"][nodes]["x"] = data["x"]
    patch["data"][nodes]["y"] = data["y"]
    patch["data"][nodes]["hovertext"] = data["hover"]
    patch["data"][nodes]["marker"] = _marker(data)
    patch["data"][nodes]["text"] = data["labels"]
    patch["data"][nodes]["textposition"] = data["textposition"]
    patch["layout"]["xaxis"]["range"] = data["xrange"]
    patch["layout"]["yaxis"]["range"] = data["yrange"]
    return patch


# ---------------------------------------------------------------------------
# Running plots
# ---------------------------------------------------------------------------


def _series(world: World) -> dict[str, list[float]]:
    """The measures the running plots show, month by month so far, in the order of the figure's traces."""
    raw = world.model.datacollector.model_vars
    out = {f"phase {p.label}": list(raw[f"phase_{p.name.lower()}"]) for p in _PHASES}
    for measure, _ in PANELS[1:]:
        out[measure] = [None if v != v else v for v in raw[measure]]  # NaN (no partners yet) as a gap
    return out


def _marks(world: World) -> dict[str, Any]:
    """The months with exits, firms entering or leaving, and events: markers on the first panel's floor."""
    months = sorted(world.marks)
    text = ["; ".join(f"{n} {what}" for what, n in sorted(world.marks[m].items())) + f" in month {m}" for m in months]
    return {"x": months, "y": [0] * len(months), "text": text}


def _x_range(worlds: list[World]) -> list[float]:
    """The months axis: from 0 to the month reached (at least a year, so month 0 is not a lone point)."""
    return [0, max(12, max(int(w.model.steps) for w in worlds))]


def _breach_lines(breaches: list[tuple[str, str, int]]) -> list[dict[str, Any]]:
    """A red vertical line in every panel at each breach of trust's month."""
    shapes = []
    for _, _, month in breaches:
        for k in range(len(PANELS)):
            axis = "" if k == 0 else str(k + 1)
            shapes.append(
                {
                    "type": "line",
                    "x0": month,
                    "x1": month,
                    "xref": f"x{axis}",
                    "yref": f"y{axis} domain",
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "#C00000", "width": 2, "dash": "dash"},
                }
            )
    return shapes


#: The running plots' width in pixels below which each panel's title takes two lines (at 15 px, four
#: one-line titles need about this much).
NARROW_RUNNING = 900


#: The running plots' height in pixels below which each panel shows fewer values on its axis (14 px
#: numbers need room to stand apart).
SHORT_RUNNING = 180


def running_figure(
    worlds: list[World], breaches: list[tuple[str, str, int]] | None = None, box: tuple[float, float] | None = None
) -> go.Figure:
    """Four panels in a row: cooperations by phase, mean trust, value created, digital maturity.

    Worlds differ by line style (see :data:`DASHES`); a breach of trust is a
    red dashed line in every panel; months with exits, entries, departures or
    events carry a black tick on the floor of the first panel (hover for what
    happened). The legend is on the page, not in the figure. ``box`` is the
    plots' box on the page in pixels, if the page has said: a narrow one
    gets each title on two lines, a short one fewer values on its axes.
    """
    narrow = box is not None and box[0] < NARROW_RUNNING
    titles = [_two_lines(title) if narrow else title for _, title in PANELS]
    fig = make_subplots(rows=1, cols=4, subplot_titles=titles, horizontal_spacing=0.07 if narrow else 0.06)
    colors = scenario_colors([w.label for w in worlds])
    for k, w in enumerate(worlds):
        series = _series(w)
        months = list(range(len(series["mean_trust"])))
        for p in _PHASES:
            fig.add_trace(
                go.Scatter(
                    x=months,
                    y=series[f"phase {p.label}"],
                    mode="lines",
                    line={"color": PHASE_COLORS[p.label], "dash": DASHES[k % 3], "width": 2},
                    name=f"{p.label} ({w.label})",
                    hovertemplate=f"{w.label}, {p.label}: %{{y}} in month %{{x}}<extra></extra>",
                ),
                row=1,
                col=1,
            )
        for j, (measure, _) in enumerate(PANELS[1:], start=2):
            fig.add_trace(
                go.Scatter(
                    x=months,
                    y=series[measure],
                    mode="lines",
                    line={"color": colors[w.label], "dash": DASHES[k % 3], "width": 2},
                    name=w.label,
                    hovertemplate=f"{w.label}: %{{y:.3g}} in month %{{x}}<extra></extra>",
                ),
                row=1,
                col=j,
            )
        marks = _marks(w)
        fig.add_trace(
            go.Scatter(
                x=marks["x"],
                y=marks["y"],
                hovertext=marks["text"],
                mode="markers",
                marker={"symbol": "line-ns-open", "size": 10, "color": "#111", "line": {"width": 2}},
                name=f"events ({w.label})",
                hovertemplate=f"{w.label}: %{{hovertext}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    short = box is not None and box[1] < SHORT_RUNNING
    fig.update_yaxes(rangemode="tozero", tickfont={"size": FONT_SIZE}, ticklabelstandoff=6, nticks=2 if short else None)
    fig.update_xaxes(range=_x_range(worlds), tickfont={"size": FONT_SIZE})
    fig.update_annotations(font={"size": 15})
    fig.update_layout(
        autosize=True,
        margin={"l": 36, "r": 8, "t": 44 if narrow else 26, "b": 24},
        plot_bgcolor="white",
        paper_bgcolor="white",
        font={"size": FONT_SIZE},
        showlegend=False,
        shapes=_breach_lines(breaches or []),
        uirevision="keep",
    )
    return fig


def _two_lines(title: str) -> str:
    """A panel's title on two lines: before its unit, or at the space nearest its middle."""
    if " (" in title:
        return title.replace(" (", "<br>(", 1)
    spaces = [k for k, c in enumerate(title) if c == " "]
    if not spaces:
        return title
    cut = min(spaces, key=lambda k: abs(k - len(title) / 2))
    return title[:cut] + "<br>" + title[cut + 1 :]


def running_patch(worlds: list[World], breaches: list[tuple[str, str, int]] | None = None) -> Patch:
    """The running plots' data so far, trace by trace, with the months axis and the breach lines."""
    patch = Patch()
    k = 0
    for w in worlds:
        series = _series(w)
        months = list(range(len(series["mean_trust"])))
        for values in series.values():  # in the order running_figure adds the traces
            patch["data"][k]["x"] = months
            patch["data"][k]["y"] = values
            k += 1
        marks = _marks(w)
        patch["data"][k]["x"], patch["data"][k]["y"], patch["data"][k]["hovertext"] = (
            marks["x"],
            marks["y"],
            marks["text"],
        )
        k += 1
    for j in range(len(PANELS)):
        patch["layout"][f"xaxis{'' if j == 0 else j + 1}"]["range"] = _x_range(worlds)
    patch["layout"]["shapes"] = _breach_lines(breaches or [])
    return patch


# ---------------------------------------------------------------------------
# The event feed and the firm inspector
# ---------------------------------------------------------------------------


#: The feed's filter for the breach of trust and what followed from it (beside the kinds of line).
BREACH_FILTER = "breach of trust and its consequences"

#: Most lines the page is sent at once (a whole run of a large market can have thousands; filters narrow it).
FEED_PAGE = 1500


def feed_lines(
    world: World,
    start: int = 0,
    kinds: list[str] | None = None,
    firm: str | None = None,
) -> list[dict[str, Any]]:
    """The world's feed from line ``start`` on that passes the filters, oldest first, as records for the page.

    Parameters
    ----------
    world : World
        The world whose feed it is.
    start : int
        The first line of the feed to consider (lines before it were sent already).
    kinds : list of str, optional
        Kinds of line to keep (:data:`sim.observe.chronicle.KINDS`, and
        :data:`BREACH_FILTER` for the breach's lines); all if None or empty.
        A phase keeps the lines of that phase whatever their kind (choosing
        ``"evaluation"`` keeps the exits after evaluation too).
    firm : str, optional
        Keep only lines about this firm.

    Returns
    -------
    list of dict
        ``world``, ``step``, ``kind``, ``phase`` (the phase of the cycle the
        line belongs to, or None), ``text``, ``color`` and ``mark``
        (``"breach"``, ``"consequence"`` or ``""``, see :meth:`World.mark`).
    """
    wanted = set(kinds or [])
    breach_only = BREACH_FILTER in wanted
    wanted.discard(BREACH_FILTER)
    out = []
    for entry in world.feed[start:]:
        if wanted and entry.kind not in wanted and entry.phase not in wanted:
            continue
        if firm and not world.concerns(entry, firm):
            continue
        mark = world.mark(entry) if world.breaches else ""
        if breach_only and not mark:
            continue
        out.append({**_record(world.label, entry), "mark": mark})
    return out


def feed_items(worlds: list[World], kinds: list[str] | None = None, limit: int = 60) -> list[dict[str, Any]]:
    """The latest lines of every world's feed, newest first, as plain records (for notebooks and benchmarks)."""
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
        "phase": entry.phase,
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
