"""The chronicle tells a cooperation's life in plain words, month by month, as the model lived it."""

from __future__ import annotations

import numpy as np
from worlds import firm, needing, world

from sim import CooperationModel
from sim.observe.chronicle import KINDS, Chronicle, Entry
from sim.scenario import TraitChangeEvent


def lived(model: CooperationModel, months: int) -> list[Entry]:
    chronicle = Chronicle(model)
    entries: list[Entry] = []
    for _ in range(months):
        model.step()
        entries += chronicle.read()
    return entries


def trust(model: CooperationModel, owner: int, subject: int) -> float:
    return float(model.ledger.trust(np.array([owner]), np.array([subject]))[0])


def test_one_cooperation_told_month_by_month(pair: CooperationModel) -> None:
    # The months of tests/test_kreislauf.py::test_one_cooperation_month_by_month, told.
    entries = lived(pair, 8)
    assert [(e.step, e.kind, e.firms) for e in entries] == [
        (1, "needs assessment", (0,)),
        (2, "partner search", (0,)),
        (3, "structure", (0, 1)),
        (4, "relationship", (0, 1)),
        (7, "evaluation", (0, 1)),
        (8, "evaluation", (0, 1)),
    ]
    texts = [e.text for e in entries]
    assert texts[0] == "A lacks engineering know-how and starts a needs assessment"
    assert texts[1] == "A starts a partner search for engineering know-how with a requirements profile"
    # One candidate (B) covers A's whole gap (0.5 of engineering); QUIET sets transparency_base 1.
    assert texts[2].startswith("A chooses B as partner (the only candidate screened; it covers 100% of the needs)")
    assert "set-up until month 4" in texts[2]
    # Set up in month 4; the evaluation period is 3 months.
    assert texts[3] == "A and B have set up their cooperation and start working together; first evaluation in month 7"
    assert texts[4].startswith("A and B reach their agreed evaluation date")
    mutual = 0.5 * (trust(pair, 0, 1) + trust(pair, 1, 0))
    assert (
        texts[5] == f"A and B evaluate their cooperation and continue (trust {mutual:.2f}); next evaluation in month 11"
    )


def test_broken_promises_and_an_exit_for_low_trust_are_told_with_who_and_why() -> None:
    # B has no integrity and every temptation: it breaks agreements; A leaves at the first evaluation
    # because its trust in B has fallen below the exit threshold of 0.9 (both start trusting, at 0.95).
    scenario = world(
        [
            firm("A", propensity=0.95, capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5)),
            firm("B", propensity=0.95, integrity=0.0, capabilities={"engineering": 1.0}),
        ],
        kreislauf={"temptation": 1.0, "exit_trust": 0.9},
    )
    model = CooperationModel(scenario, seed=1)
    entries = lived(model, 8)
    broken = [e for e in entries if "breaks its agreement" in e.text]
    assert broken and all(e.firms == (1, 0) and e.text.startswith("B breaks its agreement with A") for e in broken)
    assert sum(int(x) for x in model.kreislauf.table.broken[0]) == len(broken)  # one line per broken month
    (exit_,) = [e for e in entries if e.kind == "exit"]
    assert exit_.step == 8
    assert (
        exit_.text == f"A and B end their cooperation after evaluation: A's trust in B fell to {trust(model, 0, 1):.2f}"
    )


def test_a_search_without_partner_and_scheduled_events_are_told() -> None:
    # A needs engineering nobody has: its search finds nobody. Month 2 brings a scheduled breach.
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5)),
            firm("B", capabilities={"engineering": 0.0}),
        ],
        events=[{"kind": "trait_change", "step": 2, "firm": "B", "trait": "integrity", "value": 0.2}],
    )
    model = CooperationModel(scenario, seed=1)
    entries = lived(model, 3)
    assert Entry(2, "event", "B's integrity changes from 1.00 to 0.20") in entries
    assert entries[-1] == Entry(3, "partner search", "A finds no partner who agrees among 1 candidate screened", (0,))


def test_an_intervention_is_told_like_a_scheduled_event() -> None:
    model = CooperationModel("big", seed=1)
    chronicle = Chronicle(model)
    model.intervene(TraitChangeEvent(kind="trait_change", step=99, firm="Lumics", trait="integrity", value=0.1))
    model.step()
    assert chronicle.read()[0] == Entry(1, "event", "Lumics's integrity changes from 0.80 to 0.10")
    assert model.firms.traits[model.firms.index_of("Lumics"), 1] == 0.1


def test_a_market_run_tells_every_kind_and_caps_a_crowded_month() -> None:
    model = CooperationModel("open_market", seed=1, record_events=True)
    chronicle = Chronicle(model, limit=5)
    kinds: set[str] = set()
    for _ in range(60):
        model.step()
        month = chronicle.read()
        assert all(e.step == model.steps for e in month)
        for kind in KINDS:
            lines = [e for e in month if e.kind == kind]
            # at most `limit` lines per kind and source of lines, plus a line counting the rest
            assert sum(not e.text.startswith("... and") for e in lines) <= 5 * 3
        kinds |= {e.kind for e in month}
    assert kinds >= {"needs assessment", "partner search", "structure", "relationship", "evaluation", "exit", "market"}
