"""The live classroom app: a Dash page that runs the model and shows the cycle of trust as it turns.

The page fills the screen without scrolling, from a projector's 1280 x 720
up: a bar along the top with the month, Step / Play / Pause / Reset, the
speed and the rate the page reaches, and the breach of trust; below it the
network of each scenario side by side and the running plots under them; on
the right a panel that shows, one at a time, the event feed, the firm
inspector, the settings (scenario, teaching sliders, switches) and the guide's
questions for each phase.

Every callback finds its tab's :class:`~analysis.live.session.Session` by
the id the page was served with and works under the session's lock. What a
browser sends is checked before use (:mod:`analysis.live.checks`): a request
the page could not have made gets ``400 Bad Request``, a value the model
cannot take a message on the page; nothing a user sends can stop the server,
name a file on it, or reach another tab's model. Dash serves its own scripts
and Plotly's from this server; the page makes no request elsewhere.

What keeps play fluid: each month the server sends only what changed (the
networks' and the running plots' data as patches, the feed's new lines as
plain data that the page's own script draws, never as Dash components); the
page asks for the next month once the last is drawn and shows the rate it
reaches; it reports the sizes of its boxes once and on resize, and the
server places labels and sets the axes for that room. ``/health`` tells a
lecturer or an administrator the pages kept and the server's memory.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import flask
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from werkzeug.serving import make_server

from analysis.figures import PHASE_COLORS
from analysis.live import checks
from analysis.live.guide import GUIDE, anchor
from analysis.live.lesson import CONTROLS, Settings, scenario_defaults
from analysis.live.session import Session, SessionStore, StoreFull
from analysis.live.views import (
    BREACH_FILTER,
    COLOR_MODES,
    DASHES,
    FEED_PAGE,
    FONT_SIZE,
    feed_lines,
    firm_report,
    network_data,
    network_figure,
    network_patch,
    running_figure,
    running_patch,
)
from sim.observe.chronicle import KINDS
from sim.scenario import ScenarioError
from sim.vocabulary import Phase

__all__ = ["HEARTBEAT", "create_app", "load_line", "network_addresses", "serve"]

log = logging.getLogger(__name__)

#: The five phases of the cycle, in its order.
PHASES = [p for p in Phase if p is not Phase.ENDED]

#: Integrity a firm falls to in a breach of trust.
BREACH_INTEGRITY = 0.1

#: Least seconds between two redraws of the running plots while playing (their redraw costs the
#: browser more than the networks'; a few times a second is enough to follow a line).
RUNNING_EVERY = 0.4

#: Seconds between an open page's signs of life (a hidden tab may be slowed to one a minute).
HEARTBEAT = 20

#: Least seconds between two lines on the terminal about the pages and the server's memory.
LOAD_EVERY = 30.0

#: The panels on the right, one shown at a time.
PANELS = {"feed": "What happened", "inspector": "Firm inspector", "settings": "Settings", "guide": "Guide"}

_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_BUTTON = {"padding": "4px 12px", "fontSize": "16px", "cursor": "pointer"}
_PANEL = {"border": "1px solid #ddd", "borderRadius": "6px", "background": "white", "boxSizing": "border-box"}
_HIDDEN = {"display": "none"}
_SHOWN = {"display": "block"}
_MUTED = {"color": "#444"}

# The page's own script: switching panels, the rate the page reaches, a feed line's link to its phase.
# Play, without ever sending a month before the last one is drawn: each response (a new "version")
# asks for the next month, after what is left of 1/speed seconds since the last request. A fixed
# clock would pile up requests the browser then discards, and show nothing at all once a month
# takes longer to draw than the clock's period.
_PLAY_JS = """
function(play, pause, tick) {
    const triggered = dash_clientside.callback_context.triggered.map(t => t.prop_id);
    const k = window.kreislaufPlay = window.kreislaufPlay || {};
    if (triggered.includes("play.n_clicks")) {
        k.sent = performance.now();
        k.sentTick = (tick || 0) + 1;
        k.shown = [];
        return [true, k.sentTick];
    }
    clearTimeout(k.timer);  // paused: the month waiting to be asked for is not
    k.scheduled = k.sentTick;
    return [false, dash_clientside.no_update];
}
"""
_PACE_JS = """
function(version, drawnTick, playing, speed, month) {
    const k = window.kreislaufPlay = window.kreislaufPlay || {};
    const now = performance.now();
    if (!playing) { clearTimeout(k.timer); k.shown = []; return ["", {display: "none"}]; }
    // The next month is asked for once the last one asked for is drawn, and only once: another redraw
    // meanwhile (a Step, a resize) must not start a second chain of months.
    if (drawnTick === k.sentTick && k.scheduled !== k.sentTick) {
        k.scheduled = k.sentTick;
        const chosen = Math.min(10, Math.max(1, Number(speed) || 5));
        const wait = Math.max(0, 1000 / chosen - (now - (k.sent || 0)));
        clearTimeout(k.timer);
        k.timer = setTimeout(function () {
            k.sent = performance.now();
            k.sentTick = k.scheduled + 1;
            dash_clientside.set_props("tick", {data: k.sentTick});
        }, wait);
    }
    // The rate shown is months drawn per second over the last five seconds, once two seconds are seen.
    const reached = parseInt(String(month || "").split(" ")[1], 10);
    k.shown = (k.shown || []).filter(p => now - p[0] < 5000);
    if (!isNaN(reached)) { k.shown.push([now, reached]); }
    const first = k.shown[0], last = k.shown[k.shown.length - 1];
    if (!first || last[0] - first[0] < 2000) { return dash_clientside.no_update; }
    const rate = (last[1] - first[1]) / ((last[0] - first[0]) / 1000);
    const chosen = Math.min(10, Math.max(1, Number(speed) || 5));
    const style = {display: "inline", padding: "2px 6px", borderRadius: "4px"};
    if (rate < 0.85 * chosen) {
        return ["falling behind: " + rate.toFixed(1) + " months/s", Object.assign(style, {background: "#FFE7A0"})];
    }
    return [rate.toFixed(1) + " months/s", Object.assign(style, {color: "#444"})];
}
"""
# The feed, drawn by the page's own script from the lines the server sends (never as Dash components:
# a whole run's feed is thousands of lines, and Dash re-reads every component of the page on each
# update, which made each month slower than the last). Text goes in as text, never as HTML.
_FEED_JS = """
function(payload) {
    const k = window.kreislaufFeed = window.kreislaufFeed || {have: [0, 0]};
    if (!payload || !payload.worlds) { return dash_clientside.no_update; }
    const el = (tag, cls, text) => {
        const e = document.createElement(tag);
        if (cls) { e.className = cls; }
        if (text !== undefined) { e.textContent = text; }
        return e;
    };
    const line = (r) => {
        const [month, kind, color, phase, anchor, phaseColor, text, mark] = r;
        const li = el("li", "feed-line feed-" + kind.replace(/ /g, "-") + (mark ? " feed-" + mark : ""));
        if (mark === "breach") { li.appendChild(el("b", "feed-breach-label", "\u26a0 breach of trust: ")); }
        li.appendChild(el("span", "feed-month", "month " + month + " "));
        const linked = phase && phase === kind;
        const badge = el(linked ? "a" : "span", "feed-kind" + (linked ? " phase-link" : ""), kind);
        badge.style.background = color;
        if (linked) { badge.href = "#" + anchor; badge.title = "the guide's questions for this phase"; }
        li.appendChild(badge);
        if (phase && !linked) {
            const link = el("a", "feed-phase phase-link", phase);
            link.href = "#" + anchor;
            link.style.color = phaseColor;
            link.title = "the phase it belongs to: the guide's questions for it";
            li.appendChild(document.createTextNode(" "));
            li.appendChild(link);
        }
        li.appendChild(document.createTextNode(" " + text));
        return li;
    };
    let missed = false;
    payload.worlds.forEach(function (part, w) {
        const list = document.getElementById("feed-" + w);
        if (!list) { return; }
        if (payload.replace) {
            list.replaceChildren();
        } else if (part.from !== k.have[w]) {
            missed = true;  // a part never drawn: ask for the whole feed again
            return;
        }
        const lines = document.createDocumentFragment();
        for (let i = part.lines.length - 1; i >= 0; i--) { lines.appendChild(line(part.lines[i])); }
        list.prepend(lines);  // newest first
        k.have[w] = part.to;
    });
    if (missed) { dash_clientside.set_props("feed-refresh", {data: Date.now() % 1000000000}); }
    return k.have[0] + k.have[1];
}
"""
# The sizes of the network's and the running plots' boxes, sent once the page is drawn: labels keep
# 14 px, so the server places them and sets the axes for the room there is. live.js reports a resize
# or zoom later on; measuring here every month would make the browser lay the page out once more.
_SIZES_JS = """
function(version, known) {
    if (known) { return dash_clientside.no_update; }
    const sizes = window.kreislaufSizes ? window.kreislaufSizes() : null;
    if (!sizes || JSON.stringify(sizes) === JSON.stringify(known)) { return dash_clientside.no_update; }
    return sizes;
}
"""
# The inspector follows the months only while it is shown with a firm chosen (a request a month otherwise).
_INSPECT_JS = """
function(version, panel, firm, tick) {
    if (!firm || panel !== "inspector") { return dash_clientside.no_update; }
    return (tick || 0) + 1;
}
"""
_PANEL_STYLE = {"flexDirection": "column", "minHeight": "0", "flex": "1 1 auto", "gap": "6px"}
_PANEL_JS = """
function(panel) {
    const style = STYLE;
    return ["feed", "inspector", "settings", "guide"].map(
        p => Object.assign({}, style, {display: p === panel ? "flex" : "none"}));
}
""".replace("STYLE", json.dumps(_PANEL_STYLE))


def _slider(control: Any, value: float) -> html.Div:
    whole = control.step == int(control.step)
    marks = {v: {"label": str(v), "style": {"fontSize": f"{FONT_SIZE}px"}} for v in (control.low, control.high)}
    return html.Div(
        [
            html.Label(control.label, htmlFor=f"control-{control.name}", title=control.help, style={"fontWeight": 600}),
            dcc.Slider(
                id=f"control-{control.name}",
                min=control.low,
                max=control.high,
                step=control.step,
                value=int(value) if whole else value,
                marks=marks,
                tooltip={"placement": "top", "always_visible": False},
                updatemode="mouseup",
            ),
        ],
        style={"marginBottom": "10px"},
        title=control.help,
    )


def _legend(n_worlds: int, labels: list[str]) -> list[Any]:
    """The networks' and running plots' key, as HTML that wraps instead of being cut."""
    swatch: list[Any] = []
    for p in PHASES:  # each swatch whole, with a space after it where a narrow screen may break the line
        swatch += [
            html.Span(
                [html.Span("\u2501 ", style={"color": PHASE_COLORS[p.label], "fontWeight": 900}), p.label],
                style={"marginRight": "6px", "whiteSpace": "nowrap"},
            ),
            " ",
        ]
    styles = [f"{DASHES[k % 3]}: {label}" for k, label in enumerate(labels)] if n_worlds > 1 else []
    return [
        html.Span("Phases: ", style={"fontWeight": 600}),
        *swatch,
        html.Span("wider: more trust. ", style={"marginRight": "10px"}),
        html.Span(
            "Firms: \u25c6 group member, \u25cf other, black ring: a B.I.G. producer; larger: more capital. ",
            style={"marginRight": "10px"},
        ),
        html.Span(
            "Plots: " + "; ".join(styles) + ("; " if styles else "") + "red dashes: a breach of trust; black ticks: "
            "exits, entries, events."
        ),
    ]


def _layout(store: SessionStore, settings: Settings, scenarios: list[str]) -> html.Div:
    defaults = scenario_defaults(settings.scenario, settings.files)
    values = {
        c.name: getattr(settings, c.name) if getattr(settings, c.name) is not None else defaults[c.name]
        for c in CONTROLS
    }
    sliders = [_slider(c, values[c.name]) for c in CONTROLS if c.name != "seed"]
    seed = next(c for c in CONTROLS if c.name == "seed")
    bar = html.Div(
        [
            html.Span(id="month", style={"fontSize": "20px", "fontWeight": 700, "minWidth": "190px"}),
            html.Button("Step", id="step", style=_BUTTON),
            html.Button("Play", id="play", style=_BUTTON),
            html.Button("Pause", id="pause", style=_BUTTON),
            html.Button("Reset", id="reset", style=_BUTTON, title="start again with the settings"),
            html.Label("Speed", htmlFor="speed", style={"fontWeight": 600, "marginLeft": "6px"}),
            html.Div(
                dcc.Slider(
                    id="speed",
                    min=1,
                    max=10,
                    step=1,
                    value=5,
                    marks={v: {"label": str(v), "style": {"fontSize": f"{FONT_SIZE}px"}} for v in (1, 5, 10)},
                ),
                style={"width": "150px"},
                title="months per second",
            ),
            html.Span(id="rate", role="status", style={"display": "none"}),
            html.Div(style={"flex": "1 1 auto"}),
            html.Label("Breach of trust:", htmlFor="breach-firm", style={"fontWeight": 600}),
            html.Div(
                dcc.Dropdown(
                    id="breach-firm", placeholder="choose a firm", clearable=False, style={"fontSize": "15px"}
                ),
                style={"width": "190px"},
            ),
            html.Button(
                "Breach!",
                id="breach",
                style={**_BUTTON, "background": "#C00000", "color": "white", "border": "none", "borderRadius": "4px"},
                title=f"the firm's integrity falls to {BREACH_INTEGRITY} at the start of next month",
            ),
        ],
        id="bar",
        style={
            "display": "flex",
            "alignItems": "center",
            "gap": "8px",
            "flexWrap": "wrap",
            "padding": "4px 8px",
            **_PANEL,
        },
    )
    networks = html.Div(
        [
            html.Div(
                dcc.Graph(
                    id=f"network-{k}",
                    config={"displaylogo": False, "responsive": True, "displayModeBar": False},
                    style={"height": "100%", "width": "100%"},
                ),
                id=f"network-box-{k}",
                style={"flex": "1 1 0", "minWidth": "0", **_PANEL},
            )
            for k in range(2)
        ],
        style={"display": "flex", "gap": "6px", "flex": "3 1 0", "minHeight": "0"},
    )
    left = html.Div(
        [
            networks,
            html.Div(
                [
                    # Shown only on a short screen (a projector at 150% zoom), where the key folds away so
                    # the networks keep their room: live.css and live.js.
                    html.Button("Key", id="legend-toggle", className="legend-toggle", title="show or hide the key"),
                    html.Div(id="legend", className="legend-body"),
                ],
                id="legend-box",
                style={"fontSize": f"{FONT_SIZE}px", "lineHeight": "1.25", "padding": "2px 4px"},
            ),
            html.Div(
                dcc.Graph(
                    id="running",
                    config={"displaylogo": False, "responsive": True, "displayModeBar": False},
                    style={"height": "100%", "width": "100%"},
                ),
                id="running-box",
                style={"flex": "2 1 0", "minHeight": "0", **_PANEL},
            ),
        ],
        style={"display": "flex", "flexDirection": "column", "gap": "4px", "minWidth": "0", "minHeight": "0"},
    )
    box = _PANEL_STYLE
    feed = html.Div(
        [
            html.Div(
                [
                    dcc.RadioItems(
                        id="feed-world", inline=True, inputStyle={"marginRight": "4px", "marginLeft": "8px"}
                    ),
                    dcc.Dropdown(id="feed-firm", placeholder="every firm", style={"fontSize": "15px"}),
                    dcc.Dropdown(
                        id="feed-kinds",
                        options=[*KINDS, BREACH_FILTER],
                        multi=True,
                        placeholder="every kind of line",
                        style={"fontSize": "15px"},
                    ),
                ],
                style={"display": "flex", "flexDirection": "column", "gap": "4px"},
            ),
            html.Div(
                [html.Ol(id=f"feed-{k}", reversed=True, className="feed") for k in range(2)],
                id="feed-box",
                style={"overflowY": "auto", "flex": "1 1 0", "minHeight": "0", "fontSize": "15px"},
            ),
        ],
        id="panel-feed",
        style={**box, "display": "flex"},
    )
    inspector = html.Div(
        [
            dcc.Dropdown(id="inspect-firm", placeholder="choose a firm", style={"fontSize": "15px"}),
            html.Div(id="inspector", style={"overflowY": "auto", "flex": "1 1 0", "minHeight": "0"}),
        ],
        id="panel-inspector",
        style={**box, "display": "none"},
    )
    controls = html.Div(
        [
            html.Div(
                [
                    html.Label("Scenario", htmlFor="scenario", style={"fontWeight": 600}),
                    dcc.Dropdown(id="scenario", options=scenarios, value=settings.scenario, clearable=False),
                    html.Label("Beside it (side by side)", htmlFor="beside", style={"fontWeight": 600}),
                    dcc.Dropdown(
                        id="beside",
                        options=[{"label": "nothing (one scenario)", "value": "none"}, *scenarios],
                        value=settings.beside or "none",
                        clearable=False,
                    ),
                    html.Hr(),
                    *sliders,
                    html.Label(seed.label, htmlFor="control-seed", style={"fontWeight": 600}),
                    dcc.Input(
                        id="control-seed",
                        type="number",
                        min=seed.low,
                        max=seed.high,
                        step=1,
                        value=values["seed"],
                        debounce=True,
                        style={"width": "100px", "marginLeft": "8px", "fontSize": "15px"},
                    ),
                    dcc.Checklist(
                        id="switches",
                        options=_switch_options(defaults["has_group"]),
                        value=[
                            k
                            for k in ("competition", "shared_services")
                            if getattr(settings, k) and defaults["has_group"]
                        ],
                        style={"marginTop": "8px"},
                    ),
                    html.P("Settings take effect when you press Reset.", style={**_MUTED, "margin": "6px 0"}),
                    html.Hr(),
                    html.Label("Colour firms by", htmlFor="color-by", style={"fontWeight": 600}),
                    dcc.RadioItems(
                        id="color-by",
                        options=[{"label": f" {label}", "value": key} for key, label in COLOR_MODES.items()],
                        value="role",
                    ),
                ],
                style={"overflowY": "auto", "flex": "1 1 0", "minHeight": "0", "paddingRight": "4px"},
            )
        ],
        id="panel-settings",
        style={**box, "display": "none"},
    )
    guide = html.Div(
        html.Div(_guide(), style={"overflowY": "auto", "flex": "1 1 0", "minHeight": "0", "paddingRight": "4px"}),
        id="panel-guide",
        style={**box, "display": "none"},
    )
    right = html.Div(
        [
            dcc.RadioItems(
                id="panel",
                options=[{"label": label, "value": key} for key, label in PANELS.items()],
                value="feed",
                inline=True,
                className="panel-tabs",
                labelStyle={"marginRight": "10px", "fontWeight": 600},
                inputStyle={"marginRight": "4px"},
            ),
            html.Div(id="message", role="status", style={"color": "#A01010", "maxHeight": "66px", "overflowY": "auto"}),
            feed,
            inspector,
            controls,
            guide,
        ],
        id="side",
        style={
            "display": "flex",
            "flexDirection": "column",
            "gap": "4px",
            "minWidth": "0",
            "minHeight": "0",
            "padding": "6px",
            **_PANEL,
        },
    )
    return html.Div(
        [
            bar,
            html.Div(
                [left, right],
                id="body",
                style={
                    "display": "grid",
                    # The panel on the right takes a third of the width at most: at 150% zoom (853 CSS pixels
                    # across a 1280 projector) a fixed width would squeeze the networks.
                    "gridTemplateColumns": "minmax(0, 1fr) clamp(250px, 31vw, 640px)",
                    "gridTemplateRows": "minmax(0, 1fr)",
                    "gap": "6px",
                    "flex": "1 1 auto",
                    "minHeight": "0",
                },
            ),
            dcc.Store(id="session", data=store.new_id()),
            dcc.Store(id="version", data=0),
            dcc.Store(id="feed-shown", data=[0, 0]),
            dcc.Store(id="feed-new"),
            dcc.Store(id="feed-refresh", data=0),
            dcc.Store(id="feed-drawn"),
            dcc.Store(id="inspect-tick", data=0),
            dcc.Store(id="box-sizes"),
            dcc.Store(id="drawn-tick", data=0),
            dcc.Store(id="playing", data=False),
            dcc.Store(id="tick", data=0),
            dcc.Interval(id="heartbeat", interval=HEARTBEAT * 1000),
            dcc.Store(id="alive"),
        ],
        style={
            "fontFamily": _FONT,
            "fontSize": f"{FONT_SIZE + 1}px",
            "padding": "6px",
            "background": "#f2f2f2",
            "height": "100vh",
            "boxSizing": "border-box",
            "display": "flex",
            "flexDirection": "column",
            "gap": "6px",
            "overflow": "hidden",
        },
    )


def _guide() -> list[Any]:
    """The Guide panel: each phase's central questions (English, then the guide's German), and the model's part."""
    out: list[Any] = [
        html.P(
            "The guide's central questions for each phase of the Kreislauf des Vertrauens, and what the model "
            "does for them. Each line of the feed links here to its phase.",
            style=_MUTED,
        )
    ]
    for phase in GUIDE:
        out.append(
            html.Section(
                [
                    html.H3(
                        [
                            html.Span("\u25a0 ", style={"color": PHASE_COLORS[phase.kind]}),
                            f"{phase.english} ",
                            html.I(f"({phase.german})"),
                        ],
                        style={"margin": "10px 0 4px 0", "fontSize": "17px"},
                    ),
                    html.Ul(
                        [
                            html.Li([english, html.Br(), html.I(german, lang="de", style=_MUTED)])
                            for english, german in phase.questions
                        ],
                        style={"margin": "0", "paddingLeft": "20px"},
                    ),
                    html.P([html.B("In the model: "), phase.model], style={"margin": "4px 0"}),
                    html.P([html.B("Shown by: "), phase.shown_by], style={"margin": "4px 0"}),
                ],
                id=anchor(phase.kind),
                className="guide-phase",
            )
        )
    return out


def _switch_options(has_group: bool) -> list[dict[str, Any]]:
    """The two switches; only a scenario with a group has members to compete or services to share."""
    return [
        {"label": " Competition between group members", "value": "competition", "disabled": not has_group},
        {"label": " Shared services", "value": "shared_services", "disabled": not has_group},
    ]


def _settings(start: Settings, scenario: str, beside: str, switches: list[str], *values: Any) -> Settings:
    """Settings from the page's controls; a control left at the main scenario's own value changes nothing.

    Raises
    ------
    ScenarioError
        If a value is not allowed (an emptied seed box included).
    """
    raw = {c.name: v for c, v in zip(CONTROLS, values, strict=True)}
    if raw["seed"] is None:
        raise ScenarioError("live app", "seed", ..., "the box is empty: enter a whole number from 0 to 9999")
    defaults = scenario_defaults(scenario, start.files)
    for control in CONTROLS:
        if control.name != "seed" and raw[control.name] == defaults[control.name]:
            raw[control.name] = None  # untouched: the scenario keeps its own value (and a scenario beside it its own)
    return Settings.from_controls(
        {
            **raw,
            "scenario": scenario,
            "beside": None if beside == "none" else beside,
            "competition": "competition" in switches,
            "shared_services": "shared_services" in switches,
            "files": start.files,
        }
    )


def _guard_requests(app: Dash) -> None:
    """Refuse, before Dash reads it, a callback request the page could not have sent (400, one log line)."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = checks.MAX_BODY
    update = app.config.routes_pathname_prefix + "_dash-update-component"

    @server.before_request
    def _check() -> Any:
        if flask.request.path != update:
            return None
        body = flask.request.get_json(silent=True)
        why = checks.check_request(body, app.callback_map)
        if why is not None:
            log.info("refused a malformed callback request: %s", why)
            return flask.Response(f"live app: malformed request: {why}", status=400, mimetype="text/plain")
        return None


def create_app(settings: Settings | None = None, capacity: int = 60) -> Dash:
    """The live app, ready to run (``app.run(host="127.0.0.1", port=8050)``).

    Parameters
    ----------
    settings : Settings, optional
        What a new tab starts with (default: the B.I.G. beside the open market).
    capacity : int
        Most tabs (sessions) the server keeps models for (``--max-sessions``).
    """
    start = (settings or Settings()).checked()
    scenarios = sorted(start.catalogue())  # the built-ins and the files named on the command line, no others
    store = SessionStore(capacity)
    app = Dash(
        __name__,
        title="kreislauf live",
        serve_locally=True,
        update_title="",
        assets_folder=str(Path(__file__).with_name("assets")),
    )
    app.layout = lambda: _layout(store, start, scenarios)
    app.server.config["kreislauf.sessions"] = store
    _guard_requests(app)

    @app.server.route("/health")
    def health() -> flask.Response:
        """The server's pages and memory, as JSON: for the lecturer or an administrator (``/health``)."""
        return flask.jsonify(store.report())

    control_states = [State(f"control-{c.name}", "value") for c in CONTROLS]
    kinds_allowed = [*KINDS, BREACH_FILTER]

    def settings_from(scenario: Any, beside: Any, switches: Any, values: tuple) -> Settings:
        """The page's settings, its choices checked against what it offers (ScenarioError for a bad number)."""
        scenario = checks.choice("scenario", scenario, scenarios)
        beside = checks.choice("beside", beside, [*scenarios, "none"])
        switched = checks.choices("switches", switches, ["competition", "shared_services"])
        return _settings(start, scenario, beside, switched, *values)

    def session_for(sid: str, scenario: Any, beside: Any, switches: Any, values: tuple) -> tuple[Session, bool]:
        """The tab's session, and whether it had to be made (the page just loaded, or the server dropped it)."""
        session = store.find(sid, used=True)
        if session is not None:
            return session, False
        try:
            wanted = settings_from(scenario, beside, switches, values)
        except ScenarioError:
            wanted = start
        return store.get(sid, wanted)

    def feed_outputs(session: Session, shown: Any, firm: str | None, kinds: list[str], full: bool) -> tuple:
        """The feeds' new lines as data for the page's own script (:data:`_FEED_JS`), and the lines sent so far.

        Each world's part says from which line of its feed it starts and where
        it ends, so the page can tell a missed part (and asks for the whole
        feed again); ``replace`` says the lines replace the list (a reset, a
        filter) rather than go on top of it. Nothing is sent when no line is new.
        """
        parts = []
        counts = []
        for k in range(2):
            if k >= len(session.worlds):
                parts.append({"from": 0, "to": 0, "lines": []})
                counts.append(0)
                continue
            world = session.worlds[k]
            start = 0 if full else min(max(0, shown[k]), len(world.feed))
            lines = feed_lines(world, start, kinds, firm)
            if full:
                lines = lines[-FEED_PAGE:]
            parts.append({"from": start, "to": len(world.feed), "lines": [_feed_record(it) for it in lines]})
            counts.append(len(world.feed))
        if not full and not any(part["lines"] for part in parts):
            return no_update, counts
        return {"replace": full, "worlds": parts}, counts

    @app.callback(
        Output("network-0", "figure"),
        Output("network-1", "figure"),
        Output("network-box-1", "style"),
        Output("running", "figure"),
        Output("legend", "children"),
        Output("month", "children"),
        Output("version", "data"),
        Output("message", "children"),
        Output("playing", "data", allow_duplicate=True),
        Output("breach-firm", "options"),
        Output("inspect-firm", "options"),
        Output("feed-firm", "options"),
        Output("feed-world", "options"),
        Output("feed-world", "value"),
        Output("feed-new", "data"),
        Output("feed-shown", "data"),
        Output("drawn-tick", "data"),
        Input("step", "n_clicks"),
        Input("tick", "data"),
        Input("reset", "n_clicks"),
        Input("color-by", "value"),
        Input("box-sizes", "data"),
        State("session", "data"),
        State("version", "data"),
        State("scenario", "value"),
        State("beside", "value"),
        State("switches", "value"),
        State("feed-kinds", "value"),
        State("feed-firm", "value"),
        State("feed-shown", "data"),
        *control_states,
        prevent_initial_call="initial_duplicate",
    )
    def advance(
        step, tick, reset, color_by, sizes, sid, version, scenario, beside, switches, kinds, firm, shown, *values
    ):
        sid = checks.session_id(sid)
        sizes = checks.box_sizes("box-sizes", sizes)
        box = sizes.get("network")
        checks.clicks("step", step), checks.clicks("tick", tick), checks.clicks("reset", reset)
        color_by = checks.choice("color-by", color_by, COLOR_MODES)
        kinds = checks.choices("feed-kinds", kinds, kinds_allowed)
        firm = checks.firm_name("feed-firm", firm)
        version = checks.clicks("version", version)
        shown = [
            checks.clicks("feed-shown", n) for n in (shown if isinstance(shown, list) and len(shown) == 2 else [-1])
        ]
        scenario = checks.choice("scenario", scenario, scenarios)  # checked on every call, used on reset
        beside = checks.choice("beside", beside, [*scenarios, "none"])
        switches = checks.choices("switches", switches, ["competition", "shared_services"])
        trigger = ctx.triggered_id
        try:
            session, created = session_for(sid, scenario, beside, switches, values)
        except StoreFull as exc:
            return (*[no_update] * 7, f"Cannot start a run: {exc}.", False, *[no_update] * 8)
        message = ""
        if created and trigger not in (None, "reset"):
            message = (
                "The server had dropped this page's run (the page was closed or idle, or a restart): it starts again."
            )
            trigger = None
        with session.lock:
            if not session.worlds:  # dropped by the store while this request waited for the lock
                return (*[no_update] * 7, "This page's run was dropped: reload the page.", False, *[no_update] * 8)
            full = trigger in (None, "reset")
            if trigger == "reset":
                try:
                    session.reset(settings_from(scenario, beside, switches, values))
                except ScenarioError as exc:
                    message = f"Not applied: {exc}"
                    full = False
            elif trigger in ("step", "tick"):
                session.step()
            worlds = session.worlds
            labels = [w.label for w in worlds]
            data = [network_data(w, color_by, box) for w in worlds]
            # Whole figures when the page starts, the colours change, or the page's boxes changed size since
            # the figures were drawn (whatever else the request brought along: requests can merge).
            if full or trigger == "color-by" or sizes != session.sizes_drawn:
                session.sizes_drawn = sizes
                figures: list[Any] = [network_figure(d, _title(w)) for d, w in zip(data, worlds, strict=True)]
                running: Any = running_figure(worlds, session.breaches, sizes.get("running"))
                session.running_sent = time.monotonic()
                legend: Any = _legend(len(worlds), labels)
            else:
                figures = [network_patch(d) for d in data]
                running = running_patch(worlds, session.breaches)
                now = time.monotonic()
                if trigger == "tick" and now - session.running_sent < RUNNING_EVERY and not session.finished:
                    running = no_update  # playing: the four panels are redrawn a few times a second, not every month
                else:
                    session.running_sent = now
                legend = no_update
            figures += [no_update] * (2 - len(figures))
            box = {"flex": "1 1 0", "minWidth": "0", **_PANEL, "display": "block" if len(worlds) > 1 else "none"}
            month = f"Month {session.month} of {session.horizon}"
            if session.finished:
                month += " (the end)"
            names = session.firm_names()
            if full or names != session.names_shown:
                session.names_shown = names
            else:  # the pickers' lists are sent again only when firms enter or leave
                names = no_update
            feed, counts = feed_outputs(session, shown, firm, kinds, full)
            world_options: Any = no_update
            world_value: Any = no_update
            if full:
                world_options = [{"label": f" {label}", "value": str(k)} for k, label in enumerate(labels)]
                world_value = "0"
        stop = False if session.finished else no_update
        return (
            figures[0],
            figures[1],
            box,
            running,
            legend,
            month,
            version + 1,
            message,
            stop,
            names,
            names,
            names,
            world_options,
            world_value,
            feed,
            counts,
            checks.clicks("tick", tick),  # the month the page asked for last is drawn: it may ask for the next
        )

    @app.callback(
        *[Output(f"control-{c.name}", "value") for c in CONTROLS],
        Output("switches", "value"),
        Output("switches", "options"),
        Input("scenario", "value"),
        prevent_initial_call=True,
    )
    def scenario_values(scenario):
        d = scenario_defaults(checks.choice("scenario", scenario, scenarios), start.files)
        switches = [k for k in ("competition", "shared_services") if d[k]]
        return [*(d[c.name] for c in CONTROLS), switches, _switch_options(d["has_group"])]

    @app.callback(
        Output("feed-new", "data", allow_duplicate=True),
        Output("feed-shown", "data", allow_duplicate=True),
        Input("feed-kinds", "value"),
        Input("feed-firm", "value"),
        Input("feed-refresh", "data"),
        State("session", "data"),
        prevent_initial_call=True,
    )
    def feed_filter(kinds, firm, refresh, sid):
        """The whole feed again: for a new filter, or when the page missed a part (``feed-refresh``)."""
        checks.clicks("feed-refresh", refresh)
        kinds = checks.choices("feed-kinds", kinds, kinds_allowed)
        firm = checks.firm_name("feed-firm", firm)
        session = store.find(checks.session_id(sid))
        if session is None:
            raise PreventUpdate
        with session.lock:
            return feed_outputs(session, None, firm, kinds, full=True)

    @app.callback(Output("feed-0", "style"), Output("feed-1", "style"), Input("feed-world", "value"))
    def feed_world(world):
        if world is None:
            return _SHOWN, _HIDDEN
        shown = checks.choice("feed-world", world, ["0", "1"])
        return (_SHOWN, _HIDDEN) if shown == "0" else (_HIDDEN, _SHOWN)

    @app.callback(
        Output("inspector", "children"),
        Input("inspect-firm", "value"),
        Input("inspect-tick", "data"),
        State("session", "data"),
    )
    def inspect(name, tick, sid):
        checks.clicks("inspect-tick", tick)
        name = checks.firm_name("inspect-firm", name)
        session = store.find(checks.session_id(sid))
        if not name or session is None:
            if ctx.triggered_id == "inspect-tick" and not name:
                return no_update  # nothing chosen: nothing to redraw as the months go by
            return html.P("Choose a firm to see its traits and its trust in each partner, pillar by pillar.")
        with session.lock:
            reports = [(w.label, firm_report(w, name)) for w in session.worlds]
        shown = [_inspector(label, r) for label, r in reports if r is not None]
        return shown or html.P(f"No firm named {name!r} here.")

    @app.callback(
        Output("message", "children", allow_duplicate=True),
        Input("breach", "n_clicks"),
        State("breach-firm", "value"),
        State("session", "data"),
        prevent_initial_call=True,
    )
    def breach(clicks, firm, sid):
        checks.clicks("breach", clicks)
        firm = checks.firm_name("breach-firm", firm)
        sid = checks.session_id(sid)
        if not firm:
            return "Choose a firm for the breach of trust first."
        session = store.find(sid, used=True)
        if session is None:
            return "The server had dropped this page's run: press Reset."
        try:
            where = session.breach(firm, BREACH_INTEGRITY)
        except ScenarioError as exc:
            return f"Not applied: {exc}"
        return (
            f"Breach of trust: {firm}'s integrity falls to {BREACH_INTEGRITY} in month {session.month + 1} "
            f"({' and '.join(where)}); it will break agreements far more often. The feed marks the breach and "
            "what follows from it in red."
        )

    @app.callback(Output("alive", "data"), Input("heartbeat", "n_intervals"), State("session", "data"))
    def heartbeat(ticks, sid):
        checks.clicks("heartbeat", ticks)
        store.touch(checks.session_id(sid))
        raise PreventUpdate

    app.clientside_callback(
        _PLAY_JS,
        Output("playing", "data"),
        Output("tick", "data", allow_duplicate=True),
        Input("play", "n_clicks"),
        Input("pause", "n_clicks"),
        State("tick", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        _PACE_JS,
        Output("rate", "children"),
        Output("rate", "style"),
        Input("version", "data"),
        State("drawn-tick", "data"),
        State("playing", "data"),
        State("speed", "value"),
        State("month", "children"),
    )
    app.clientside_callback(
        _SIZES_JS,
        Output("box-sizes", "data"),
        Input("version", "data"),
        State("box-sizes", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        _FEED_JS,
        Output("feed-drawn", "data"),
        Input("feed-new", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        _INSPECT_JS,
        Output("inspect-tick", "data"),
        Input("version", "data"),
        Input("panel", "value"),
        State("inspect-firm", "value"),
        State("inspect-tick", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        _PANEL_JS,
        Output("panel-feed", "style"),
        Output("panel-inspector", "style"),
        Output("panel-settings", "style"),
        Output("panel-guide", "style"),
        Input("panel", "value"),
    )
    return app


def _feed_record(it: Mapping[str, Any]) -> list[Any]:
    """One line of the feed as the page's script (:data:`_FEED_JS`) draws it.

    ``[month, kind, kind's colour, phase, phase's anchor in the Guide panel,
    phase's colour, text, mark]``; phase, anchor and colour are empty for a
    line of no phase (an event, a firm entering or leaving the market).
    """
    phase = it.get("phase") or ""
    return [
        it["step"],
        it["kind"],
        it["color"],
        phase,
        anchor(phase) if phase else "",
        PHASE_COLORS.get(phase, ""),
        it["text"],
        it["mark"],
    ]


def _title(world: Any) -> str:
    """A network's title: the scenario's name and its firms in the market (short enough never to be cut)."""
    return f"{world.label}: {len(world.model.firms.alive_idx)} firms"


def _inspector(label: str, report: dict[str, Any]) -> html.Div:
    def table(rows: list[dict[str, Any]]) -> html.Table:
        if not rows:
            return html.Table()
        columns = list(dict.fromkeys(k for r in rows for k in r))
        return html.Table(
            [
                html.Thead(html.Tr([html.Th(c, style={"textAlign": "left", "paddingRight": "8px"}) for c in columns])),
                html.Tbody(
                    [html.Tr([html.Td(r.get(c, ""), style={"paddingRight": "8px"}) for c in columns]) for r in rows]
                ),
            ],
            style={"borderCollapse": "collapse", "fontSize": f"{FONT_SIZE}px"},
        )

    status = "" if report["alive"] else " (has left the market)"
    facts = (
        f"{report['role']}{', group member' if report['member'] else ''}, niche {report['niche']!r}, "
        f"{report['size']:.0f} employees, capital {report['capital']:,.0f} k EUR, capacity {report['capacity']}"
    )
    return html.Div(
        [
            html.H4(f"{report['name']} in {label}{status}", style={"margin": "8px 0 4px 0"}),
            html.P(facts, style={"margin": "0 0 4px 0"}),
            html.P("Traits (what partners cannot see directly):", style={"margin": "4px 0 0 0", "fontWeight": 600}),
            table([report["traits"]]),
            html.P("Capabilities (digital is its digital maturity):", style={"margin": "4px 0 0 0", "fontWeight": 600}),
            table([report["capabilities"]]),
            html.P(
                "Its cooperations, and its trust in each partner by pillar:",
                style={"margin": "4px 0 0 0", "fontWeight": 600},
            ),
            table(report["cooperations"]) if report["cooperations"] else html.P("none open now"),
        ],
        className="inspector-firm",
        style={"overflowX": "auto"},
    )


def network_addresses() -> list[str]:
    """The IPv4 addresses of this computer that others on its networks can reach (loopback left out).

    Read from the host name and from the address the system would use to
    reach the outside (no packet is sent), so it works offline too; empty
    when the computer has no network.
    """
    found: list[str] = []
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(str(info[4][0]))
    except OSError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a documentation address: connect() on UDP sends nothing
            found.append(probe.getsockname()[0])
        except OSError:
            pass
    return [a for a in dict.fromkeys(found) if not a.startswith("127.") and a != "0.0.0.0"]


def load_line(report: Mapping[str, Any]) -> str:
    """One line on the terminal about the server's load (see :meth:`SessionStore.report`)."""
    line = f"kreislauf live: {report['pages']} of at most {report['capacity']} pages have a run"
    if report["memory_mb"] is not None:
        line += f"; server memory {report['memory_mb']:.0f} MB"
        if report["mb_per_page"] is not None:
            line += f" (about {report['mb_per_page']:.1f} MB a page)"
    return line


def _report_load(store: SessionStore, every: float = LOAD_EVERY) -> None:
    """Print :func:`load_line` whenever the number of pages has changed, at most every ``every`` seconds."""
    told = 0
    while True:
        time.sleep(every)
        if len(store) != told:
            report = store.report()
            told = int(report["pages"])  # type: ignore[call-overload]
            print(load_line(report), flush=True)


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8050,
    open_browser: bool = True,
    max_sessions: int = 60,
) -> None:
    """Run the live app until interrupted (debug mode off), opening the browser at it.

    Parameters
    ----------
    settings : Settings
        What a new tab starts with.
    host : str
        Address to listen on: loopback by default, so only this computer can reach it.
    port : int
        Port to listen on.
    open_browser : bool
        Open the default browser at the app once the server is up.
    max_sessions : int
        Most pages (each with its own run) the server keeps at once.
    """
    app = create_app(settings, capacity=max_sessions)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    if open_browser:
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    print(f"kreislauf live: open {url} in a browser (Ctrl-C stops it)", flush=True)
    if host in ("0.0.0.0", "::"):
        others = network_addresses()
        if others:
            where = ", ".join(f"http://{a}:{port}/" for a in others)
            print(f"kreislauf live: students open {where}", flush=True)
        else:
            print("kreislauf live: this computer has no network address others could reach", flush=True)
    print(
        f"kreislauf live: at most {max_sessions} pages at once (--max-sessions); pages and memory at {url}health",
        flush=True,
    )
    threading.Thread(target=_report_load, args=(app.server.config["kreislauf.sessions"],), daemon=True).start()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Werkzeug's server as Dash's run would start it (threaded, no debugger), without its and Flask's banners.
    make_server(host, port, app.server, threaded=True).serve_forever()
