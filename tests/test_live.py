"""The live app in Python: the teaching controls, tabs' sessions, and the callbacks through Dash's own HTTP API."""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

import mesa
import pytest
from live_client import Page

from analysis.live import CONTROLS, Settings
from analysis.live.lesson import lesson_scenario, scenario_defaults
from analysis.live.session import Session, SessionStore, StoreFull
from analysis.live.views import feed_items, feed_lines, firm_report, network_data, network_figure, network_patch
from sim.observe.chronicle import PHASES
from sim.scenario import ScenarioError, builtin_scenarios

# ---------------------------------------------------------------------------
# Teaching controls
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"integrity": 1.5}, "integrity"),
        ({"integrity": float("nan")}, "integrity"),
        ({"familiarity_bias": -0.1}, "familiarity_bias"),
        ({"evaluation_period": 2.5}, "evaluation_period"),
        ({"evaluation_period": 0}, "evaluation_period"),
        ({"seed": -1}, "seed"),
        ({"seed": "x"}, "seed"),
        ({"scenario": "atlantis"}, "scenario"),
        ({"beside": "../big.toml"}, "beside"),
    ],
)
def test_values_outside_the_controls_are_refused_with_their_name(change: dict[str, Any], key: str) -> None:
    with pytest.raises(ScenarioError, match=rf"live app: {key}"):
        Settings.from_controls(change)


def test_every_control_default_lies_in_its_range() -> None:
    # What the sliders show for each built-in scenario must be a value the sliders allow.
    for name in ("big", "open_market", "classroom", "fragility", "big_in_market"):
        shown = scenario_defaults(name)
        for control in CONTROLS:
            assert control.low <= shown[control.name] <= control.high, (name, control.name)
        Settings.from_controls({**{c.name: shown[c.name] for c in CONTROLS}, "scenario": name})


def test_the_controls_change_the_scenario_as_they_say() -> None:
    base = lesson_scenario("big", Settings(beside=None))
    s = lesson_scenario(
        "big",
        Settings(integrity=0.5, familiarity_bias=0.9, evaluation_period=6, competition=True, shared_services=False),
    )
    mean = sum(f.integrity for f in s.firms) / len(s.firms)
    assert mean == pytest.approx(0.5)
    # every firm moved by the same amount
    shifts = {round(a.integrity - b.integrity, 6) for a, b in zip(s.firms, base.firms, strict=True)}
    assert len(shifts) == 1
    assert s.kreislauf.familiarity_bias == 0.9 and s.kreislauf.evaluation_period == 6
    assert s.group is not None and not s.group.shared_services
    producers = [f.name for f in s.firms if f.group and f.role == "producer"]
    competing = [e.firms for e in s.events if e.kind == "open_competition"]
    assert competing == [producers[0:2], producers[2:4], producers[4:6]]
    market = lesson_scenario("open_market", Settings(integrity=0.4))
    generated = [p.integrity.mean for p in market.populations]
    assert all(0 < m < 1 for m in generated)


# ---------------------------------------------------------------------------
# Sessions: one per tab
# ---------------------------------------------------------------------------


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


CLASSROOM = Settings(scenario="classroom", beside=None)


def test_tabs_run_their_own_models() -> None:
    store = SessionStore(capacity=2)
    one, made = store.get("one", CLASSROOM)
    two, _ = store.get("two", CLASSROOM)
    assert made and store.get("one", Settings())[0] is one and not store.get("one", Settings())[1]
    for _ in range(3):
        one.step()
    assert one.month == 3 and two.month == 0
    assert one.worlds[0].model is not two.worlds[0].model
    assert store.find("three") is None and "three" not in store  # looking does not make a session


def test_a_full_store_drops_closed_pages_first_then_idle_ones_never_an_open_page_in_use() -> None:
    clock = Clock()
    store = SessionStore(capacity=3, closed_after=120, idle_after=1800, clock=clock)
    lecturer, _ = store.get("lecturer", CLASSROOM)
    store.get("closed", CLASSROOM)
    store.get("open", CLASSROOM)
    clock.now = 100
    store.touch("lecturer"), store.touch("open")  # their pages report; the closed one's does not
    clock.now = 200
    store.get("newcomer", CLASSROOM)
    assert "closed" not in store and {"lecturer", "open", "newcomer"} <= set(store._sessions)
    # All three pages open and in use: a fourth is refused, nobody is dropped.
    store.touch("lecturer"), store.touch("open")
    with pytest.raises(StoreFull, match="3 pages"):
        store.get("fourth", CLASSROOM)
    assert len(store) == 3 and store.find("lecturer") is lecturer
    # Open but untouched for half an hour (only the heartbeat): idle, may make way; the lecturer steps.
    for t in range(300, 2400, 20):
        clock.now = t
        store.touch("lecturer"), store.touch("open"), store.touch("newcomer")
        if t % 600 == 0:
            store.get("lecturer", CLASSROOM)  # a step: the lecturer's run is in use
    store.get("fourth", CLASSROOM)
    assert "lecturer" in store and "fourth" in store and len(store) == 3
    assert ("open" in store) != ("newcomer" in store)  # the idle one used longest ago went


def test_pages_loading_at_the_same_moment_never_take_more_places_than_there_are() -> None:
    # Each page's model is built outside the store's lock; a place is held for it first, so eight pages
    # loading at once on a store of three get three runs and five clear refusals.
    store = SessionStore(capacity=3)
    settings = Settings(scenario="classroom", beside=None).checked()
    start = threading.Barrier(8)
    outcome: list[str] = []

    def load() -> None:
        start.wait()
        try:
            store.get(store.new_id(), settings)
            outcome.append("run")
        except StoreFull:
            outcome.append("refused")

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcome) == ["refused"] * 5 + ["run"] * 3
    assert len(store) == 3 and store.report()["pages"] == 3


def test_a_dropped_or_reset_session_frees_its_models() -> None:
    store = SessionStore(capacity=2)
    session, _ = store.get("a" * 32, Settings(scenario="classroom", beside="open_market"))
    session.step()
    models = [weakref.ref(w.model) for w in session.worlds]
    session.reset()
    gc.collect()
    assert all(m() is None for m in models), "a reset releases the old models"
    models = [weakref.ref(w.model) for w in session.worlds]
    del session
    store.drop("a" * 32)
    gc.collect()
    assert all(m() is None for m in models), "a dropped session's models are garbage"


def test_sessions_keep_memory_bounded_however_many_pages_come_and_go() -> None:
    clock = Clock()
    store = SessionStore(capacity=3, closed_after=10, clock=clock)
    gc.collect()
    models: list[weakref.ref] = []
    for k in range(30):
        clock.now = 100.0 * k  # each earlier page has closed by the time the next comes
        session, _ = store.get(f"{k:032x}", CLASSROOM)
        session.step()
        models.append(weakref.ref(session.worlds[0].model))
        session.reset()
        models.append(weakref.ref(session.worlds[0].model))
        del session
    gc.collect()
    alive = sum(m() is not None for m in models)
    assert len(store) == 3 and alive == 3, "only the kept sessions' current models live"
    assert not any(m in mesa.Agent._ids for m in (r() for r in models) if m is not None), "Mesa's registry holds none"


def test_side_by_side_worlds_step_together_from_the_same_seed_and_stop_together() -> None:
    session = Session(Settings(scenario="big", beside="open_market", seed=4, integrity=0.6))
    session.step()
    session.step()
    assert [w.label for w in session.worlds] == ["big", "open_market"]
    assert [w.model.steps for w in session.worlds] == [2, 2]
    assert {w.model.seed for w in session.worlds} == {4}
    # One integrity shift for both: the same producer is as honest in the group as in the market.
    integrity = {w.label: w.model.firms.traits[w.model.firms.index_of("Metrolux"), 1] for w in session.worlds}
    assert integrity["big"] == pytest.approx(integrity["open_market"])
    short = Session(Settings(scenario="classroom", beside="open_market"))
    assert short.horizon == 60
    for _ in range(65):
        short.step()
    assert [w.model.steps for w in short.worlds] == [60, 60] and short.finished


def test_a_breach_drops_integrity_next_month_and_is_told() -> None:
    session = Session(Settings(scenario="big", beside="open_market"))
    assert session.breach("Metrolux", 0.1) == ["big", "open_market"]  # a named producer: in both worlds
    session.step()
    for world in session.worlds:
        firms = world.model.firms
        assert firms.traits[firms.index_of("Metrolux"), 1] == 0.1
        assert any("Metrolux's integrity changes" in e.text for e in world.feed)
    with pytest.raises(ScenarioError, match="Nobody"):
        session.breach("Nobody")
    # A generated firm is a different firm in each world: only the first world's is breached.
    market = Session(Settings(scenario="open_market", beside="big_in_market"))
    assert market.breach("competitor 3") == ["open_market"]


def test_the_inspector_shows_a_firms_trust_in_each_partner_by_pillar() -> None:
    session = Session(Settings(scenario="big", beside=None))
    for _ in range(6):
        session.step()
    report = firm_report(session.worlds[0], "flying-parts")
    assert report is not None and report["name"] == "flying-parts" and report["member"]
    live = [r for r in report["cooperations"] if "trust" in r]
    assert live, "the group's service firms are partners from month 0"
    for row in live:
        assert 0 <= row["competence"] <= 1 and 0 <= row["integrity"] <= 1 and 0 <= row["benevolence"] <= 1
    assert firm_report(session.worlds[0], "Nobody") is None
    assert feed_items(session.worlds, ["relationship"], limit=5)


# ---------------------------------------------------------------------------
# Callbacks, through Dash's HTTP API as the page calls them
# ---------------------------------------------------------------------------


@pytest.fixture
def page() -> Page:
    page = Page(Settings(scenario="classroom", beside=None))
    page.advance(None)  # the page loads
    return page


def test_the_page_starts_at_month_zero_with_a_network_and_running_plots() -> None:
    page = Page(Settings(scenario="classroom", beside=None))
    response = page.advance(None)
    assert response["month"]["children"] == "Month 0 of 60"
    network = response["network-0"]["figure"]
    assert len(network["data"]) == 10  # 9 edge traces (the three phases with two partners x trust class), the firms
    assert len(network["data"][-1]["x"]) == 16  # sixteen firms in the classroom
    assert response["network-box-1"]["style"]["display"] == "none"  # one scenario: no second network


def test_step_changes_the_figures_data_and_the_feed_grows_by_the_new_lines_only(page: Page) -> None:
    shown = page.values["feed-shown.data"][0]
    for k in range(1, 5):
        response = page.advance("step.n_clicks", k)
        assert response["month"]["children"] == f"Month {k} of 60"
        patch = response["network-0"]["figure"]
        assert patch["__dash_patch_update"]  # only the data is sent, not the whole figure
        now = response["feed-shown"]["data"][0]
        if now > shown:  # the month's lines, as data going on top of the list, and nothing else
            feed = response["feed-new"]["data"]
            assert feed["replace"] is False
            part = feed["worlds"][0]
            assert (part["from"], part["to"], len(part["lines"])) == (shown, now, now - shown)
            assert all(line[0] == k for line in part["lines"])  # each line's month
        else:
            assert "feed-new" not in response  # nothing new: nothing sent
        shown = now
    assert shown > 0
    running = page.values["running.figure"]
    ys = [op for op in running["operations"] if op["location"][-1] == "y"]
    assert ys and all(len(op["params"]["value"]) == 5 for op in ys[:-1])  # months 0 to 4


def test_firm_pickers_are_sent_only_when_the_firms_change() -> None:
    settings = Settings(scenario="open_market", beside=None)
    page, twin = Page(settings), Session(settings.checked())  # the same run, to read the firms from
    shown = page.advance(None)["breach-firm"]["options"]  # the page loads: every firm
    assert shown == twin.firm_names()
    sent = 0
    for k in range(1, 25):
        response = page.advance("step.n_clicks", k)
        twin.step()
        if "breach-firm" in response:
            assert response["breach-firm"]["options"] != shown and response["inspect-firm"] == response["breach-firm"]
            shown, sent = response["breach-firm"]["options"], sent + 1
        assert twin.firm_names() == shown
    assert 0 < sent < 24  # firms came and went in some months, not in all


def test_reset_returns_to_month_zero_with_new_settings_and_refuses_bad_ones(page: Page) -> None:
    page.advance("step.n_clicks", 1)
    page.values["control-seed.value"] = 7
    response = page.advance("reset.n_clicks", 1)
    assert response["month"]["children"] == "Month 0 of 60" and response["message"]["children"] == ""
    page.values["control-integrity.value"] = 3.0  # not on the slider: refused, the run goes on
    response = page.advance("reset.n_clicks", 2)
    assert "integrity" in response["message"]["children"] and "0.1" in response["message"]["children"]


def test_the_inspector_shows_the_chosen_firm(page: Page) -> None:
    page.advance("step.n_clicks", 1)
    response = page.fire("inspector.children", "inspect-firm.value", "Parts")
    text = json.dumps(response["inspector"]["children"])
    assert "Parts in classroom" in text and "integrity" in text and "Services" in text


def test_a_breach_is_confirmed_and_an_unknown_firm_is_refused(page: Page) -> None:
    page.values["breach-firm.value"] = "Lasers"
    response = page.fire("message.children@", "breach.n_clicks", 1)
    assert "Breach of trust: Lasers's integrity falls to 0.1" in response["message"]["children"]
    page.values["breach-firm.value"] = "Atlantis"
    response = page.fire("message.children@", "breach.n_clicks", 2)
    assert "Not applied" in response["message"]["children"] and "Atlantis" in response["message"]["children"]


def test_a_page_whose_run_the_server_forgot_starts_again_and_says_so() -> None:
    page = Page(Settings(scenario="classroom", beside=None))
    page.advance(None)
    page.advance("step.n_clicks", 1)
    store = page.app.server.config["kreislauf.sessions"]
    store._sessions.clear()  # as when many tabs pushed it out
    response = page.advance("step.n_clicks", 2)
    assert "dropped" in response["message"]["children"]
    assert response["month"]["children"] == "Month 0 of 60"
    assert "data" in response["network-0"]["figure"]  # drawn whole, not patched


def test_an_emptied_seed_box_is_refused_in_words(page: Page) -> None:
    page.values["control-seed.value"] = None
    response = page.advance("reset.n_clicks", 1)
    assert "seed" in response["message"]["children"] and "empty" in response["message"]["children"]


def test_a_patch_fills_the_same_traces_as_the_whole_figure_relationships_drawn_first() -> None:
    session = Session(Settings(scenario="open_market", beside=None))
    for _ in range(8):
        session.step()
    data = network_data(session.worlds[0])
    figure = network_figure(data, "t").to_plotly_json()
    patch = network_patch(data).to_plotly_json()["operations"]
    by_trace = {(op["location"][1], op["location"][2]): op["params"]["value"] for op in patch}
    for k, trace in enumerate(figure["data"][:-1]):
        assert list(trace["x"]) == by_trace[(k, "x")] and list(trace["y"]) == by_trace[(k, "y")]
    phases = [t["name"].split(",")[0] for t in figure["data"][:-1]]
    assert phases[:3] == ["relationship"] * 3 and "relationship" not in phases[3:]
    assert any(by_trace[(k, "x")] for k, p in enumerate(phases) if p != "relationship"), "other phases drawn too"
    labelled = {n for n, label in zip(session.worlds[0].nodes()["name"], data["labels"], strict=True) if label}
    assert labelled == {"GEFERTEC", "flying-parts", "Scansonic MI", "Metrolux", "PGS", "Lumics"}
    # Every live cooperation is drawn, once: three points (its two firms and a break) per edge.
    edges = session.worlds[0].edges()
    assert sum(len(trace["x"]) for trace in figure["data"][:-1]) == 3 * len(edges) > 0
    by_phase = {p: 3 * int((edges["phase"] == p).sum()) for p in set(phases)}
    for p, points in by_phase.items():
        assert sum(len(t["x"]) for t, q in zip(figure["data"][:-1], phases, strict=True) if q == p) == points


def test_every_feed_line_says_its_phase_and_the_feed_filters_by_phase(tmp_path: Path) -> None:
    # The fragility scenario, as a lecturer's file with the threshold in integrity at 0.6: exits after
    # evaluation and cooperations dissolved when Metrolux leaves the group, within five years (at the
    # calibrated 0.37 the members keep Metrolux longer: docs/calibration.md).
    text = builtin_scenarios()["fragility"].read_text()
    strict = tmp_path / "fragility_strict.toml"
    strict.write_text(re.sub(r"(?m)^exit_reliability = .*$", "exit_reliability = 0.6", text))
    files = (("fragility_strict", str(strict)),)
    session = Session(Settings(scenario="fragility_strict", beside=None, seed=1, files=files))
    for _ in range(60):
        session.step()
    world = session.worlds[0]
    feed = world.feed
    assert {e.phase for e in feed if e.kind in PHASES} == set(PHASES)  # all five phases told
    assert all(e.phase == e.kind for e in feed if e.kind in PHASES)
    exits = [e for e in feed if e.kind == "exit"]
    after_evaluation = [e for e in exits if "after evaluation" in e.text]
    assert after_evaluation and all(e.phase == "evaluation" for e in after_evaluation)
    assert all(e.phase in PHASES for e in exits)  # an ending by an outside event: the phase it had reached
    assert any(e.phase == "relationship" for e in exits if e not in after_evaluation)  # Metrolux left the group
    assert all(e.phase is None for e in feed if e.kind in ("event", "market"))
    # Choosing a phase keeps its lines whatever their kind: the evaluation's exits come with it.
    chosen = feed_lines(world, 0, ["evaluation"])
    assert {(it["kind"], it["phase"]) for it in chosen} == {("evaluation", "evaluation"), ("exit", "evaluation")}
    assert len(chosen) == sum(1 for e in feed if e.phase == "evaluation")
    assert {it["kind"] for it in feed_lines(world, 0, ["exit"])} == {"exit"}


def test_an_open_page_reports_that_it_is_open(page: Page) -> None:
    store = page.app.server.config["kreislauf.sessions"]
    sid = page.values["session.data"]
    store._seen[sid] = -1e9  # as if the page had been silent for ages
    assert page.fire("alive.data", "heartbeat.n_intervals", 1) == {}  # nothing to redraw (204)
    assert store._seen[sid] > 0


def test_a_scenario_file_the_lecturer_named_is_offered_and_no_other(tmp_path: Path) -> None:
    mine = tmp_path / "my_lesson.toml"
    mine.write_text((Path(__file__).parent.parent / "scenarios" / "classroom.toml").read_text())
    other = tmp_path / "other.toml"
    other.write_text(mine.read_text())
    page = Page(Settings(scenario="my_lesson", beside=None, files=(("my_lesson", str(mine)),)))
    assert page.advance(None)["month"]["children"] == "Month 0 of 60"
    assert "my_lesson" in page.values["scenario.options"] and "classroom" in page.values["scenario.options"]
    page.values["control-seed.value"] = 3
    assert page.advance("reset.n_clicks", 1)["message"]["children"] == ""  # reset with the lecturer's file
    for name in ("my_lesson", "classroom"):
        page.values["scenario.value"] = name
        assert page.post(page.body("control-integrity.value", "scenario.value")).status_code == 200
    for name in (str(other), str(mine), "other"):  # the file's path itself is no name the page offers
        page.values["scenario.value"] = name
        assert page.post(page.body("control-integrity.value", "scenario.value")).status_code == 400


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["atlantis"], "built-in scenarios"),
        (["/no/such/file.toml"], "/no/such/file.toml"),
        (["classroom", "--beside", "/no/such/file.toml"], "/no/such/file.toml"),
    ],
)
def test_live_refuses_a_scenario_it_cannot_run_in_one_line(argv: list[str], expected: str) -> None:
    command = Path(sys.executable).parent / "kreislauf"
    done = subprocess.run([str(command), "live", *argv, "--no-browser"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and expected in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
