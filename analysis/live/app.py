"""The live classroom app: a Dash page that runs the model and shows the cycle of trust as it turns.

Layout, top to bottom: the controls (scenario, the scenario beside it,
the teaching sliders, step / play / pause / reset, a breach of trust now),
the network of each scenario side by side, the running plots, and below
them the event feed and the firm inspector.

Every callback finds its tab's :class:`~analysis.live.session.Session` by
the id the page was served with, works under the session's lock, and turns
any bad input into a message on the page rather than an error: nothing a
user does in the page can stop the server or reach another tab's model.
Dash serves its own scripts and Plotly's from this server; the page makes
no request elsewhere.
"""

from __future__ import annotations

import logging
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from analysis.live.lesson import CONTROLS, Settings, scenario_defaults
from analysis.live.session import Session, SessionStore
from analysis.live.views import (
    COLOR_MODES,
    feed_items,
    firm_report,
    network_data,
    network_figure,
    network_patch,
    running_figure,
    running_patch,
)
from sim.observe.chronicle import KINDS
from sim.scenario import ScenarioError, builtin_scenarios

__all__ = ["create_app", "serve"]

log = logging.getLogger(__name__)

#: Integrity a firm falls to in a breach of trust.
BREACH_INTEGRITY = 0.1

_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_BUTTON = {"marginRight": "6px", "padding": "6px 14px", "fontSize": "15px", "cursor": "pointer"}
_PANEL = {"border": "1px solid #ddd", "borderRadius": "6px", "padding": "10px", "background": "white"}


def _slider(control: Any, value: float) -> html.Div:
    whole = control.step == int(control.step)
    marks = (
        {v: str(v) for v in (control.low, control.high)}
        if whole
        else {control.low: str(control.low), control.high: str(control.high)}
    )
    return html.Div(
        [
            html.Label(control.label, htmlFor=f"control-{control.name}", title=control.help, style={"fontWeight": 600}),
            dcc.Slider(
                id=f"control-{control.name}",
                min=control.low,
                max=control.high,
                step=control.step,
                value=value,
                marks=marks,
                tooltip={"placement": "bottom", "always_visible": True},
                updatemode="mouseup",
            ),
        ],
        style={"marginBottom": "14px"},
        title=control.help,
    )


def _layout(store: SessionStore, settings: Settings) -> html.Div:
    names = sorted(builtin_scenarios())
    defaults = scenario_defaults(settings.scenario)
    values = {
        c.name: getattr(settings, c.name) if getattr(settings, c.name) is not None else defaults[c.name]
        for c in CONTROLS
    }
    sliders = [_slider(c, values[c.name]) for c in CONTROLS if c.name != "seed"]
    seed = next(c for c in CONTROLS if c.name == "seed")
    controls = html.Div(
        [
            html.Label("Scenario", htmlFor="scenario", style={"fontWeight": 600}),
            dcc.Dropdown(id="scenario", options=names, value=settings.scenario, clearable=False),
            html.Label("Beside it (side by side)", htmlFor="beside", style={"fontWeight": 600, "marginTop": "8px"}),
            dcc.Dropdown(
                id="beside",
                options=[{"label": "nothing (one scenario)", "value": "none"}, *names],
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
                style={"width": "100px", "marginLeft": "8px"},
            ),
            dcc.Checklist(
                id="switches",
                options=_switch_options(defaults["has_group"]),
                value=[k for k in ("competition", "shared_services") if getattr(settings, k) and defaults["has_group"]],
                style={"marginTop": "10px"},
            ),
            html.P(
                "Settings take effect when you press Reset.",
                style={"fontSize": "13px", "color": "#555", "marginTop": "6px"},
            ),
            html.Hr(),
            html.Div(
                [
                    html.Button("Step", id="step", style=_BUTTON),
                    html.Button("Play", id="play", style=_BUTTON),
                    html.Button("Pause", id="pause", style=_BUTTON),
                    html.Button("Reset", id="reset", style=_BUTTON),
                ],
                style={"marginBottom": "10px"},
            ),
            html.Label("Speed (months per second)", htmlFor="speed", style={"fontWeight": 600}),
            dcc.Slider(id="speed", min=1, max=10, step=1, value=5, marks={1: "1", 5: "5", 10: "10"}),
            html.Hr(),
            html.Label("Breach of trust now", htmlFor="breach-firm", style={"fontWeight": 600}),
            dcc.Dropdown(id="breach-firm", placeholder="choose a firm", clearable=False),
            html.Button("Breach!", id="breach", style={**_BUTTON, "marginTop": "6px"}),
            html.P(
                f"The firm's integrity falls to {BREACH_INTEGRITY} at the start of next month: "
                "watch the broken agreements in the feed and, in the inspector, its partners' trust in it, pillar by pillar.",
                style={"fontSize": "13px", "color": "#555"},
            ),
            html.Div(id="message", role="status", style={"color": "#A01010", "fontSize": "14px", "minHeight": "20px"}),
        ],
        style={**_PANEL, "width": "290px", "flex": "0 0 290px"},
    )
    networks = html.Div(
        [
            html.Div(
                dcc.Graph(id={"kind": "network", "index": k}, config={"displaylogo": False}),
                id=f"network-box-{k}",
                style={"flex": "1 1 0", "minWidth": "0"},
            )
            for k in range(2)
        ],
        style={"display": "flex", "gap": "10px"},
    )
    main = html.Div(
        [
            html.Div(
                [
                    html.Span(id="month", style={"fontSize": "22px", "fontWeight": 700, "marginRight": "24px"}),
                    html.Label("Colour firms by ", htmlFor="color-by"),
                    dcc.RadioItems(
                        id="color-by",
                        options=[{"label": f" {label}", "value": key} for key, label in COLOR_MODES.items()],
                        value="role",
                        inline=True,
                        inputStyle={"marginLeft": "12px"},
                    ),
                ],
                style={"display": "flex", "alignItems": "center", "flexWrap": "wrap", "marginBottom": "6px"},
            ),
            networks,
            dcc.Graph(id="running", config={"displaylogo": False}),
            html.Div(
                [
                    html.Div(
                        [
                            html.H3("What just happened", style={"margin": "0 0 6px 0"}),
                            dcc.Checklist(
                                id="feed-kinds",
                                options=[{"label": f" {k}", "value": k} for k in KINDS],
                                value=list(KINDS),
                                inline=True,
                                inputStyle={"marginLeft": "10px"},
                                style={"fontSize": "13px"},
                            ),
                            html.Ul(
                                id="feed",
                                style={
                                    "height": "360px",
                                    "overflowY": "auto",
                                    "paddingLeft": "18px",
                                    "fontSize": "14px",
                                },
                            ),
                        ],
                        style={**_PANEL, "flex": "3 1 0"},
                    ),
                    html.Div(
                        [
                            html.H3("Firm inspector", style={"margin": "0 0 6px 0"}),
                            dcc.Dropdown(id="inspect-firm", placeholder="choose a firm"),
                            html.Div(
                                id="inspector", style={"fontSize": "14px", "height": "330px", "overflowY": "auto"}
                            ),
                        ],
                        style={**_PANEL, "flex": "2 1 0"},
                    ),
                ],
                style={"display": "flex", "gap": "10px", "marginTop": "10px"},
            ),
        ],
        style={"flex": "1 1 auto", "minWidth": "0"},
    )
    return html.Div(
        [
            html.H1(
                "kreislauf live: the cycle of trust",
                style={"fontSize": "24px", "margin": "0 0 10px 0"},
            ),
            html.Div([controls, main], style={"display": "flex", "gap": "12px", "alignItems": "flex-start"}),
            dcc.Store(id="session", data=store.new_id()),
            dcc.Store(id="version", data=0),
            dcc.Interval(id="clock", interval=200, disabled=True),
        ],
        style={"fontFamily": _FONT, "padding": "12px", "background": "#f6f6f6"},
    )


def _switch_options(has_group: bool) -> list[dict[str, Any]]:
    """The two switches; only a scenario with a group has members to compete or services to share."""
    return [
        {"label": " Competition between group members", "value": "competition", "disabled": not has_group},
        {"label": " Shared services", "value": "shared_services", "disabled": not has_group},
    ]


def _settings(scenario: str, beside: str, switches: list[str] | None, *values: Any) -> Settings:
    """Settings from the page's controls; a control left at the main scenario's own value changes nothing.

    Raises
    ------
    ScenarioError
        If a value is not allowed (an emptied seed box included).
    """
    raw = {c.name: v for c, v in zip(CONTROLS, values, strict=True)}
    if raw["seed"] is None:
        raise ScenarioError("live app", "seed", ..., "the box is empty: enter a whole number from 0 to 9999")
    defaults = scenario_defaults(scenario) if scenario in builtin_scenarios() else {}
    for control in CONTROLS:
        if control.name != "seed" and control.name in defaults and raw[control.name] == defaults[control.name]:
            raw[control.name] = None  # untouched: the scenario keeps its own value (and a scenario beside it its own)
    switches = switches or []
    return Settings.from_controls(
        {
            **raw,
            "scenario": scenario,
            "beside": None if beside in (None, "none") else beside,
            "competition": "competition" in switches,
            "shared_services": "shared_services" in switches,
        }
    )


def create_app(settings: Settings | None = None, capacity: int = 12) -> Dash:
    """The live app, ready to run (``app.run(host="127.0.0.1", port=8050)``).

    Parameters
    ----------
    settings : Settings, optional
        What a new tab starts with (default: the B.I.G. beside the open market).
    capacity : int
        Most tabs (sessions) the server keeps models for.
    """
    start = (settings or Settings()).checked()
    store = SessionStore(capacity)
    app = Dash(__name__, title="kreislauf live", serve_locally=True, update_title="kreislauf live")
    app.layout = lambda: _layout(store, start)
    app.server.config["kreislauf.sessions"] = store
    control_states = [State(f"control-{c.name}", "value") for c in CONTROLS]

    def session_for(
        sid: str, scenario: str, beside: str, switches: list[str] | None, values: tuple
    ) -> tuple[Session, bool]:
        """The tab's session, and whether it had to be made (the page just loaded, or the server forgot it)."""
        session = store.find(sid)
        if session is not None:
            return session, False
        try:
            wanted = _settings(scenario, beside, switches, *values)
        except ScenarioError:
            wanted = start
        return store.get(sid, wanted)

    @app.callback(
        Output({"kind": "network", "index": ALL}, "figure"),
        Output("network-box-1", "style"),
        Output("running", "figure"),
        Output("month", "children"),
        Output("version", "data"),
        Output("message", "children"),
        Output("clock", "disabled", allow_duplicate=True),
        Output("breach-firm", "options"),
        Output("inspect-firm", "options"),
        Output("feed", "children"),
        Input("step", "n_clicks"),
        Input("clock", "n_intervals"),
        Input("reset", "n_clicks"),
        Input("color-by", "value"),
        State("session", "data"),
        State("version", "data"),
        State("scenario", "value"),
        State("beside", "value"),
        State("switches", "value"),
        State("feed-kinds", "value"),
        *control_states,
        prevent_initial_call="initial_duplicate",
    )
    def advance(_step, _tick, _reset, color_by, sid, version, scenario, beside, switches, kinds, *values):
        trigger = ctx.triggered_id
        session, created = session_for(sid, scenario, beside, switches, values)
        message = ""
        if created and trigger not in (None, "reset"):
            message = "The server had forgotten this page's run (too many tabs, or a restart): it starts again."
            trigger = None
        with session.lock:
            full = trigger in (None, "reset")
            if trigger == "reset":
                try:
                    session.reset(_settings(scenario, beside, switches, *values))
                except ScenarioError as exc:
                    message = f"Not applied: {exc}"
                    full = False
            elif trigger in ("step", "clock"):
                session.step()
            worlds = session.worlds
            data = [network_data(w, color_by or "role") for w in worlds]
            if full:
                figures = [network_figure(d, _title(w)) for d, w in zip(data, worlds, strict=True)]
                running = running_figure(worlds)
            else:
                figures = [network_patch(d) for d in data]
                running = running_patch(worlds)
            figures += [no_update] * (2 - len(figures))
            box = {"flex": "1 1 0", "minWidth": "0", "display": "block" if len(worlds) > 1 else "none"}
            month = f"Month {session.month} of {session.horizon}"
            if session.finished:
                month += " (the end: press Reset)"
            names = session.firm_names()
            if full or names != session.names_shown:
                session.names_shown = names
            else:  # the pickers' lists are sent again only when firms enter or leave
                names = no_update
            feed = _feed(session, kinds)
        stop = True if session.finished else no_update
        return figures, box, running, month, (version or 0) + 1, message, stop, names, names, feed

    @app.callback(
        Output("clock", "disabled"),
        Input("play", "n_clicks"),
        Input("pause", "n_clicks"),
        prevent_initial_call=True,
    )
    def play_or_pause(_play, _pause):
        return ctx.triggered_id != "play"

    @app.callback(Output("clock", "interval"), Input("speed", "value"))
    def speed(months_per_second):
        try:
            value = min(10.0, max(1.0, float(months_per_second)))
        except (TypeError, ValueError):
            value = 5.0
        return int(1000 / value)

    @app.callback(
        *[Output(f"control-{c.name}", "value") for c in CONTROLS],
        Output("switches", "value"),
        Output("switches", "options"),
        Input("scenario", "value"),
        prevent_initial_call=True,
    )
    def scenario_values(scenario):
        try:
            d = scenario_defaults(scenario)
        except ScenarioError:
            return [no_update] * (len(CONTROLS) + 2)
        switches = [k for k in ("competition", "shared_services") if d[k]]
        return [*(d[c.name] for c in CONTROLS), switches, _switch_options(d["has_group"])]

    @app.callback(
        Output("feed", "children", allow_duplicate=True),
        Input("feed-kinds", "value"),
        State("session", "data"),
        prevent_initial_call=True,
    )
    def feed(kinds, sid):
        session = store.find(sid)
        if session is None:
            return []
        with session.lock:
            return _feed(session, kinds)

    @app.callback(
        Output("inspector", "children"),
        Input("inspect-firm", "value"),
        Input("version", "data"),
        State("session", "data"),
    )
    def inspect(name, _version, sid):
        session = store.find(sid)
        if not name or session is None:
            if ctx.triggered_id == "version" and not name:
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
    def breach(_clicks, firm, sid):
        if not firm:
            return "Choose a firm for the breach of trust first."
        session = store.find(sid)
        if session is None:
            return "The server had forgotten this page's run: press Reset."
        try:
            where = session.breach(str(firm), BREACH_INTEGRITY)
        except ScenarioError as exc:
            return f"Not applied: {exc}"
        return (
            f"Breach of trust: {firm}'s integrity falls to {BREACH_INTEGRITY} at the start of next month "
            f"({' and '.join(where)}); it will break agreements far more often."
        )

    return app


def _feed(session: Session, kinds: list[str] | None) -> list[html.Li]:
    """The event feed's lines, newest first (call under the session's lock)."""
    several = len(session.worlds) > 1
    items = feed_items(session.worlds, kinds if kinds is not None else list(KINDS))
    return [
        html.Li(
            [
                html.Span(f"month {it['step']} ", style={"color": "#555"}),
                html.Span(f"[{it['world']}] " if several else "", style={"color": "#555"}),
                html.Span(
                    it["kind"],
                    style={
                        "background": it["color"],
                        "color": "white",
                        "padding": "0 5px",
                        "borderRadius": "3px",
                        "fontSize": "12px",
                    },
                ),
                " ",
                it["text"],
            ],
            className=f"feed-{it['kind'].replace(' ', '-')}",
        )
        for it in items
    ]


def _title(world: Any) -> str:
    scenario = world.model.scenario
    return f"{scenario.name}: {scenario.summary()[:70]}"


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
            style={"borderCollapse": "collapse", "fontSize": "13px"},
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
    )


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8050, open_browser: bool = True) -> None:
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
    """
    app = create_app(settings)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    print(f"kreislauf live: open {url} in a browser (Ctrl-C stops it)", flush=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.run(host=host, port=port, debug=False)
