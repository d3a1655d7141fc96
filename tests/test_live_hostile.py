"""The live app against requests its page could not send: every one answered with a 4xx or a message, never a 500.

A student on the lecturer's network (``kreislauf live --host 0.0.0.0``) can
send the server anything. These are the cases of a hostile and of an unlucky
user: paths as scenario names, wrong types in every slot, numbers too large
for a float, bodies of the wrong shape, and random JSON in every input of
every callback (Hypothesis). None may reach a file, stop a thread, or end in a
traceback in the log.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_client import Page

from analysis.live import Settings


@pytest.fixture
def page(caplog: pytest.LogCaptureFixture) -> Page:
    caplog.set_level(logging.INFO)
    page = Page(Settings(scenario="classroom", beside=None))
    page.advance(None)
    return page


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]


def post_with(page: Page, output: str, slot: str, value: Any, changed: str | None = None) -> Any:
    """The page's request for the callback, with one input or state (``id.prop``) set to ``value``."""
    body = page.body(output, changed)
    for item in [*body["inputs"], *body["state"]]:
        if f"{item['id']}.{item['property']}" == slot:
            item["value"] = value
    return page.post(body)


# ---------------------------------------------------------------------------
# The cases of the attack, one by one
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "../../scenarios/big.toml", "/etc/passwd", "big.toml"])
def test_a_path_as_scenario_is_refused_without_being_opened(
    page: Page, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    reply = post_with(page, "control-integrity.value", "scenario.value", path, "scenario.value")
    assert reply.status_code == 400 and b"scenario" in reply.data and b"must be one of" in reply.data
    page.values["scenario.value"] = path
    reply = page.post(page.body("network-0.figure", "reset.n_clicks") | {})
    assert reply.status_code == 400
    no_traceback(caplog)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_scenario_does_not_pin_a_thread(page: Page, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)  # opening it for reading would block for good
    reply = post_with(page, "control-integrity.value", "scenario.value", str(fifo), "scenario.value")
    assert reply.status_code == 400


def test_a_scenario_sent_as_a_table_is_refused(page: Page) -> None:
    table = {"name": "x", "steps": 10**6, "populations": [{"count": 10**6}]}
    assert post_with(page, "control-integrity.value", "scenario.value", table, "scenario.value").status_code == 400


@pytest.mark.parametrize("sid", [["a" * 32], {"sid": 1}, 7, None, "", "../" * 10, "A" * 32, "a" * 33])
def test_a_malformed_session_id_is_refused_by_every_callback(
    page: Page, sid: Any, caplog: pytest.LogCaptureFixture
) -> None:
    for cb in page.callbacks:
        if any(s["id"] == "session" for s in cb["state"]):
            changed = f"{cb['inputs'][0]['id']}.{cb['inputs'][0]['property']}"
            reply = post_with(page, cb["output"].lstrip("."), "session.data", sid, changed)
            assert reply.status_code == 400, (cb["output"], reply.data[:200])
            assert b"session id" in reply.data
    no_traceback(caplog)


@pytest.mark.parametrize(
    ("slot", "value"),
    [
        ("switches.value", 5),
        ("switches.value", ["competition", {"x": 1}]),
        ("switches.value", "competition"),
        ("feed-kinds.value", 5),
        ("feed-kinds.value", ["no such kind"]),
        ("feed-firm.value", ["Parts"]),
        ("feed-firm.value", "x" * 10_000),
        ("color-by.value", "../../etc"),
        ("step.n_clicks", "1"),
        ("step.n_clicks", -1),
        ("version.data", [1]),
        ("feed-shown.data", 3),
        ("box-sizes.data", "big"),
        ("box-sizes.data", {"network": [280, 163]}),
        ("box-sizes.data", {"network": [280, True], "running": [569, 110]}),
        ("box-sizes.data", {"network": [280, 10**400], "running": [569, 110]}),
        ("beside.value", "/dev/zero"),
    ],
)
def test_a_wrong_type_or_value_in_the_main_callback_is_refused(
    page: Page, slot: str, value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    reply = post_with(page, "network-0.figure", slot, value, "step.n_clicks")
    assert reply.status_code == 400, reply.data[:300]
    assert slot.split(".")[0].encode() in reply.data or b"count" in reply.data
    no_traceback(caplog)
    assert page.advance("step.n_clicks", 1)["month"]["children"] == "Month 1 of 60"  # the run is unharmed


@pytest.mark.parametrize("value", [10**400, -(10**400), 10**20, "1e400", "nan", [0.5], {"v": 1}, True])
def test_an_impossible_slider_value_gets_a_message_on_the_page(
    page: Page, value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    page.values["control-integrity.value"] = value
    response = page.advance("reset.n_clicks", 1)
    message = response["message"]["children"]
    assert message.startswith("Not applied: live app: integrity"), message
    no_traceback(caplog)


def test_a_float_too_large_for_json_numbers_gets_a_message(page: Page) -> None:
    page.values["control-integrity.value"] = "__BIG__"
    body = json.dumps(page.body("network-0.figure", "reset.n_clicks")).replace('"__BIG__"', "1e400")
    raw = page.client.post("/_dash-update-component", data=body, content_type="application/json")
    assert raw.status_code == 200
    assert "integrity" in raw.get_json()["response"]["message"]["children"]


@pytest.mark.parametrize("tick", [-1, "1", 1.5, [1], True])
def test_a_play_tick_that_is_not_a_count_is_refused(page: Page, tick: Any) -> None:
    reply = post_with(page, "network-0.figure", "tick.data", tick, "tick.data")
    assert reply.status_code == 400 and b"tick" in reply.data


@pytest.mark.parametrize("firm", [["Lasers"], 3, "x" * 500, "Lasers\x00", "Lasers\n"])
def test_a_malformed_firm_for_the_breach_or_the_inspector_is_refused(page: Page, firm: Any) -> None:
    assert post_with(page, "message.children@", "breach-firm.value", firm, "breach.n_clicks").status_code == 400
    assert post_with(page, "inspector.children", "inspect-firm.value", firm, "inspect-firm.value").status_code == 400


# ---------------------------------------------------------------------------
# Bodies of the wrong shape: refused before Dash reads them
# ---------------------------------------------------------------------------


def shapes(page: Page) -> list[Any]:
    good = page.body("network-0.figure", "step.n_clicks")
    return [
        None,
        [],
        "text",
        {},
        good | {"output": "nothing.children"},
        good | {"output": ["network-0.figure"]},
        good | {"inputs": good["inputs"][:-1]},
        good | {"inputs": {"a": 1}},
        good | {"state": [*good["state"], good["state"][0]]},
        good | {"state": [{"id": "session"}] * len(good["state"])},
        good | {"inputs": [dict(i, id="other") for i in good["inputs"]]},
        good | {"inputs": [dict(i, extra=1) for i in good["inputs"]]},
        good | {"outputs": good["outputs"][:3]},
        good | {"outputs": {"id": "x"}},
        good | {"outputs": [[o] for o in good["outputs"]]},
        good | {"changedPropIds": ["session.data"]},
        good | {"changedPropIds": "step.n_clicks"},
        good | {"changedPropIds": [None]},
    ]


def test_bodies_of_the_wrong_shape_get_400(page: Page, caplog: pytest.LogCaptureFixture) -> None:
    for body in shapes(page):
        reply = page.post(body)
        assert reply.status_code == 400, (body if not isinstance(body, dict) else list(body), reply.data[:200])
    raw = page.client.post("/_dash-update-component", data=b"{not json", content_type="application/json")
    assert raw.status_code == 400
    no_traceback(caplog)


def test_a_huge_body_is_refused_unread(page: Page) -> None:
    reply = page.client.post(
        "/_dash-update-component", data=b"[" + b"1," * 5_000_000 + b"1]", content_type="application/json"
    )
    assert reply.status_code == 413


# ---------------------------------------------------------------------------
# Random JSON in every slot of every callback
# ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**500), max_value=10**500)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["/dev/zero", "big", "classroom", "none", "Parts", "a" * 32, "competition"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_json_in_any_slot_never_gets_a_500(
    page: Page, data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    cb = data.draw(st.sampled_from(page.callbacks))
    body = page.body(cb["output"].lstrip("."), None)
    slots = [*body["inputs"], *body["state"]]
    slot = data.draw(st.sampled_from(slots))
    slot["value"] = data.draw(json_values)
    trigger = data.draw(st.sampled_from(body["inputs"]))
    body["changedPropIds"] = [f"{trigger['id']}.{trigger['property']}"]
    reply = page.post(body)
    assert reply.status_code in (200, 204, 400), (cb["output"], slot, reply.status_code, reply.data[:300])
    no_traceback(caplog)
