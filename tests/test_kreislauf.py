"""Hand-worked cases of two or three firms, one per phase of the cycle.

The worlds are built by :func:`conftest.world` with every source of noise
switched off, so each number below can be worked out on paper; the comments
show the arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest
from worlds import firm, needing, world

from sim import CooperationModel, Phase, Reason
from sim.state.cooperations import CooperationTable, IllegalTransition
from sim.vocabulary import TRANSITIONS


def phase_of(model: CooperationModel, cid: int = 0) -> Phase:
    return model.kreislauf.table.view(cid).phase


def test_transitions_are_the_cycle() -> None:
    assert TRANSITIONS[Phase.NEEDS_ASSESSMENT] == {Phase.PARTNER_SEARCH, Phase.ENDED}
    assert TRANSITIONS[Phase.EVALUATION] == {Phase.RELATIONSHIP, Phase.ENDED}
    assert TRANSITIONS[Phase.ENDED] == frozenset()
    table = CooperationTable()
    ids = table.open(np.array([0]), now=0)
    with pytest.raises(IllegalTransition, match="needs assessment -> relationship"):
        table.move(ids, Phase.RELATIONSHIP, now=1)


def test_one_cooperation_month_by_month(pair: CooperationModel) -> None:
    # Month 1: A lacks engineering (needs 0.5, has 0): it opens a needs assessment.
    pair.step()
    assert phase_of(pair) is Phase.NEEDS_ASSESSMENT
    assert pair.kreislauf.table.n == 1 and pair.kreislauf.table.a[0] == 0
    # Month 2: the gap becomes the requirements profile; the search begins.
    pair.step()
    assert phase_of(pair) is Phase.PARTNER_SEARCH
    assert pair.kreislauf.table.gap[0].tolist() == [0.0, 0.5, 0.0, 0.0, 0.0]
    # Month 3: the one-month search ends; B agrees; the structure is built.
    pair.step()
    assert phase_of(pair) is Phase.STRUCTURE
    assert pair.kreislauf.table.b[0] == 1
    assert pair.graph.has_edge(0, 1)
    # Month 4: set-up done; the relationship begins (its first month's work is month 5).
    pair.step()
    assert phase_of(pair) is Phase.RELATIONSHIP
    for _ in range(3):  # months 5, 6, 7; evaluation is due in month 4 + 3 = 7
        pair.step()
    assert phase_of(pair) is Phase.EVALUATION
    pair.step()  # month 8: both continue
    assert phase_of(pair) is Phase.RELATIONSHIP
    t = pair.kreislauf.table
    assert t.continues[0] == 1 and t.evaluations[0] == 1
    assert pair.kreislauf.table.view(0).phase_months(now=8) == {
        "needs assessment": 1,
        "partner search": 1,
        "structure": 1,
        "relationship": 3,
        "evaluation": 1,
    }


def test_expected_and_realised_value(pair: CooperationModel) -> None:
    for _ in range(3):
        pair.step()
    t = pair.kreislauf.table
    # Expected at agreement, by each side. Prior trust 0.5 in every pillar, so
    # the other's expected quality is 0.5 * (1 - (1 - 0.5) * (1 - 0.3)) = 0.325,
    # its own 1.0. Synergy: B covers all of A's gap: 0 + 1.0 = 1.
    # V = 2.0 * (2*10*10/20) * 1 * (1 + 0.325)/2 * (1 + 1)/2 * 1 = 13.25; half each.
    assert t.expected[0].tolist() == pytest.approx([6.625, 6.625])
    for _ in range(2):  # months 4 and 5: one month of relationship
        pair.step()
    # Realised: both keep, both deliver quality 1: V = 2 * 10 * 1 * 1 * 1 * 1 = 20, split fairly.
    assert t.value[0] == pytest.approx(20.0)
    assert t.shares[0].tolist() == pytest.approx([10.0, 10.0])
    assert pair.firms.coop_value[:2].tolist() == pytest.approx([10.0, 10.0])


def test_trust_grows_from_kept_promises(pair: CooperationModel) -> None:
    for _ in range(7):
        pair.step()
    # Three relationship months, each a full positive observation per pillar:
    # E = (0.5 * 2 + 3) / (2 + 3) = 0.8 for each pillar of each side.
    t = pair.kreislauf.table
    trust = pair.ledger.trust(np.array([0, 1]), np.array([1, 0]))
    assert trust.tolist() == pytest.approx([0.8, 0.8])
    pair.step()  # the evaluation: terms follow trust, expectations a quarter of the way to what was realised
    assert t.contract[0] == pytest.approx(0.2 + 0.8 * (1 - 0.8))
    assert t.judged_expected[0].tolist() == pytest.approx([6.625, 6.625])  # what the evaluation judged by
    assert t.judged_realised[0].tolist() == pytest.approx([10.0, 10.0])
    assert t.expected[0].tolist() == pytest.approx([6.625 + 0.25 * (10.0 - 6.625)] * 2)
    assert t.due[0] == 8 + 3


def test_broken_promises_end_in_a_low_trust_exit() -> None:
    # B breaks every month (integrity 0, temptation 1, contracts deter nothing);
    # A judges by integrity alone.
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5)),
            firm("B", capabilities={"engineering": 1.0}, integrity=0.0),
        ],
        kreislauf={"temptation": 1.0, "contract_enforcement": 0.0},
        trust={"weights": {"competence": 0.0, "integrity": 1.0, "benevolence": 0.0}},
    )
    model = CooperationModel(scenario, seed=1)
    for _ in range(7):
        model.step()
    # Three broken promises, each weighing 3 (the default negativity weight): E = 1 / (2 + 9).
    assert model.ledger.trust(np.array([0]), np.array([1]))[0] == pytest.approx(1 / 11)
    t = model.kreislauf.table
    assert t.broken[0].tolist() == [0, 3] and t.kept[0].tolist() == [3, 0]
    # B delivered 0.3 of its quality each month: V = 2 * 10 * 1 * (1 + 0.3)/2 = 13.
    assert t.value[0] == pytest.approx(3 * 13.0)
    model.step()
    view = t.view(0)
    assert view.phase is Phase.ENDED and view.reason is Reason.LOW_TRUST
    assert t.exited_by[0] == 0
    assert not model.graph.has_edge(0, 1)
    log = model.cooperation_log()
    row = log.iloc[0]
    assert row["outcome"] == "exit" and row["exited_by"] == "A"
    assert row["months_relationship"] == 3 and row["months_evaluation"] == 1


def test_goal_reached_when_learning_closes_the_gap() -> None:
    # A learns all of B's engineering in the first month; from then on B
    # covers none of A's need and the cooperation creates nothing.
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5)),
            firm("B", capabilities={"engineering": 1.0}),
        ],
        kreislauf={"learning_rate": 1.0, "exit_value_ratio": 0.9},
    )
    model = CooperationModel(scenario, seed=1)
    for _ in range(8):
        model.step()
    assert model.firms.caps[0, 1] == pytest.approx(1.0)
    # Realised per month: 10 in month 5, then 0 and 0: mean 3.33 < 0.9 * 6.625.
    view = model.kreislauf.table.view(0)
    assert view.reason is Reason.GOAL_REACHED


def test_no_need_no_search_and_full_capacity_no_search() -> None:
    content = world([firm("A"), firm("B")])  # nobody needs anything
    model = CooperationModel(content, seed=1)
    model.step()
    assert model.kreislauf.table.n == 0
    full = world(
        [firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5), capacity=1), firm("B")],
    )
    model = CooperationModel(full, seed=1)
    model.firms.load[0] = 1  # its one slot is taken
    model.step()
    assert model.kreislauf.table.n == 0


def test_a_need_that_vanishes_ends_before_the_search(pair: CooperationModel) -> None:
    pair.step()
    pair.firms.caps[0, 1] = 0.5  # A hires an engineer
    pair.step()
    view = pair.kreislauf.table.view(0)
    assert view.phase is Phase.ENDED and view.reason is Reason.NEED_VANISHED
    assert pair.firms.load[0] == 0 and not pair.firms.searching[0]


def three_firms(familiarity_bias: float) -> CooperationModel:
    # A needs engineering 0.8. B (an acquaintance) has 0.3; C (a stranger) has 1.0.
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.8)),
            firm("B", capabilities={"engineering": 0.3}),
            firm("C", capabilities={"engineering": 1.0}),
        ],
        kreislauf={"familiarity_bias": familiarity_bias},
    )
    model = CooperationModel(scenario, seed=1)
    model.ledger.slot(0, 1)  # A knows B
    return model


def test_search_against_the_profile_finds_the_best_fit() -> None:
    model = three_firms(familiarity_bias=0.0)
    for _ in range(3):
        model.step()
    t = model.kreislauf.table
    assert t.b[0] == 2 and not t.familiar[0]
    assert t.screened[0] == 2  # the two others: a searcher does not screen itself
    assert t.fit[0, 0] == pytest.approx(1.0)  # C covers all of A's gap of 0.8


def test_familiarity_bias_picks_the_acquaintance() -> None:
    model = three_firms(familiarity_bias=1.0)
    for _ in range(3):
        model.step()
    t = model.kreislauf.table
    assert t.b[0] == 1 and t.familiar[0] and t.screened[0] == 0
    assert t.fit[0, 0] == pytest.approx(0.3 / 0.8)  # B covers 0.3 of a 0.8 gap
    assert t.since[0] == 3  # the hasty choice takes one month, like a one-month search here


def test_no_partner_when_the_candidate_distrusts() -> None:
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5)),
            firm("B", capabilities={"engineering": 1.0}, propensity=0.1),  # B trusts strangers little
        ],
        kreislauf={"search_retry_steps": 5},
    )
    model = CooperationModel(scenario, seed=1)
    for _ in range(3):
        model.step()
    view = model.kreislauf.table.view(0)
    assert view.phase is Phase.ENDED and view.reason is Reason.NO_PARTNER
    assert model.firms.next_search[0] == 3 + 5
    for _ in range(4):  # months 4-7: A waits
        model.step()
    assert model.kreislauf.table.n == 1
    model.step()  # month 8: it tries again
    assert model.kreislauf.table.n == 2


def test_agreement_terms_toward_a_competitor() -> None:
    scenario = world(
        [
            firm("A", niche="seals", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5)),
            firm("B", niche="seals", capabilities={"engineering": 1.0}),
        ],
        kreislauf={"transparency_base": 0.3, "competitor_caution": 0.5, "score_weights": {"competitor_penalty": 0.0}},
    )
    model = CooperationModel(scenario, seed=1)
    for _ in range(3):
        model.step()
    t = model.kreislauf.table
    # Transparency (0.3 + 0.7 * 0.5) * (1 - 0.5) = 0.325; contract 0.2 + 0.8 * (1 - 0.5) = 0.6.
    assert t.competitor[0]
    assert t.transparency[0] == pytest.approx(0.325)
    assert t.contract[0] == pytest.approx(0.6)


@pytest.mark.parametrize(("location", "months"), [("campus", 1), ("apart", 2)])
def test_campus_halves_the_set_up(location: str, months: int) -> None:
    where = {"location": "campus"} if location == "campus" else {}
    far = {"location": [100.0, 0.0]} if location == "apart" else {}
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5), group=True, **where),
            firm("B", capabilities={"engineering": 1.0}, group=True, **where, **far),
        ],
        kreislauf={"setup_steps": 2, "setup_cost": 4.0},
        group={"campus": location == "campus", "shared_services": False},
    )
    model = CooperationModel(scenario, seed=1)
    for _ in range(3):
        model.step()
    t = model.kreislauf.table
    assert t.setup_until[0] - 3 == months
    # Set-up cost 4 * (1 + contract), halved on the campus.
    expected = 4.0 * (1 + t.contract[0]) * (0.5 if location == "campus" else 1.0)
    assert t.setup_cost[0] == pytest.approx(expected)


def test_capacity_grows_with_experience_when_switched_on() -> None:
    # B serves A's need, then C's: each relationship begun adds to both sides'
    # experience; with one more place per doubling, B (base 1) can run 2 after
    # its first relationship and 2 after its second (floor(log2(3)) = 1).
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5)),
            firm("B", capabilities={"engineering": 1.0}, capacity=1),
        ],
        kreislauf={"capacity_per_experience": 1.0},
    )
    model = CooperationModel(scenario, seed=1)
    assert model.firms.capacity[1] == 1
    for _ in range(4):
        model.step()
    assert model.firms.experience[1] == 1 and model.firms.capacity[1] == 2
    assert model.firms.base_capacity[1] == 1


def test_linear_capacity_growth_adds_places_per_relationship_begun() -> None:
    # As above, but each relationship begun adds a step: after B's first
    # relationship, half a place per step gives floor(0.5) = 0 more (B, base 1,
    # still runs 1), a whole place per step 1 more.
    def capacity_after_one_relationship(per_step: float) -> int:
        scenario = world(
            [
                firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5)),
                firm("B", capabilities={"engineering": 1.0}, capacity=1),
            ],
            kreislauf={"capacity_per_experience": per_step, "capacity_growth": "linear"},
        )
        model = CooperationModel(scenario, seed=1)
        for _ in range(4):
            model.step()
        assert model.firms.experience[1] == 1
        return int(model.firms.capacity[1])

    assert capacity_after_one_relationship(0.5) == 1
    assert capacity_after_one_relationship(1.0) == 2


def test_own_investment_raises_digital_maturity_beyond_every_partner_and_costs_money() -> None:
    # A (50 employees) needs digital maturity 0.9 and has 0.2; nobody it knows is
    # more digital. A month's own step: 0.02 * 50 / (50 + 50) * 0.7 = 0.007, at a
    # cost of 20 * 0.007 * 50 = 7 k EUR. A three-person firm with the same gap
    # gets 0.02 * 3 / 53 * 0.7.
    scenario = world(
        [
            firm("A", size=50.0, capabilities={"digital": 0.2}, needs=needing("digital", 0.9)),
            firm("S", size=3.0, capabilities={"digital": 0.2}, needs=needing("digital", 0.9)),
        ],
        kreislauf={"own_learning_rate": 0.02, "learning_rate": 0.0},
    )
    model = CooperationModel(scenario, seed=1)
    model.step()
    assert model.firms.caps[0, 2] == pytest.approx(0.2 + 0.007)
    assert model.firms.investment[0] == pytest.approx(7.0)
    assert model.firms.caps[1, 2] == pytest.approx(0.2 + 0.02 * 3 / 53 * 0.7)
    for _ in range(240):
        model.step()
    assert model.firms.caps[0, 2] > 0.8  # beyond anything a partner could teach it: none has more than 0.2
