"""Every reason an evaluation records can end a cooperation: hand-worked pairs, then seeded worlds.

The pairs are built with every source of noise switched off (:data:`worlds.QUIET`):
the evaluation period is three months, so the first evaluation is in month 8
(search in month 1, agreement in 2, set-up done in 3, relationship in months 4
to 6, evaluation due in month 7 and held in month 8).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from worlds import firm, needing, world

from sim import CooperationModel, Phase, Reason
from sim.scenario import TraitChangeEvent, load_scenario


def first_evaluation(scenario: object) -> CooperationModel:
    model = CooperationModel(scenario, seed=1)  # type: ignore[arg-type]
    for _ in range(8):
        model.step()
    return model


def test_an_unreliable_partner_is_left_however_competent_and_fair() -> None:
    # B breaks the agreement every month (integrity 0, temptation 1, contracts
    # deter nothing) but delivers competence 1 and divides fairly. A's trust in
    # B after three months, pillar by pillar (prior 0.5 with weight 2; a broken
    # promise weighs 3): competence (1 + 3) / 5 = 0.8, integrity 1 / (2 + 9) =
    # 0.0909, benevolence 0.8: overall 0.564, above exit_trust 0.4. Only the
    # reliability check (integrity below exit_reliability 0.6) ends it.
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5)),
            firm("B", capabilities={"engineering": 1.0}, integrity=0.0),
        ],
        kreislauf={"temptation": 1.0, "contract_enforcement": 0.0},
    )
    model = CooperationModel(scenario, seed=1)
    for _ in range(7):
        model.step()
    pillars = model.ledger.pillars(np.array([0]), np.array([1]))[0]
    assert pillars.tolist() == pytest.approx([0.8, 1 / 11, 0.8])
    assert model.ledger.trust(np.array([0]), np.array([1]))[0] == pytest.approx((1.6 + 1 / 11) / 3)
    model.step()
    view = model.kreislauf.table.view(0)
    assert view.phase is Phase.ENDED and view.reason is Reason.LOW_TRUST
    assert model.kreislauf.table.exited_by[0] == 0


def test_a_partner_that_delivers_less_than_promised_is_left_for_low_value() -> None:
    # A trusts strangers fully (propensity 1), so it expects B's competence to
    # be 1: V = 2 * 10 * 1 * (1 + 1)/2 * (1 + 1)/2 * 1 = 20, 10 for each side.
    # B's competence is 0.2: V = 2 * 10 * (1 + 0.2)/2 = 12, 6 each: 6 < 0.9 * 10.
    # A's trust stays high (competence (2 + 0.6)/5 = 0.52, integrity and
    # benevolence 1), and B still covers A's gap: the value fell short.
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5), propensity=1.0),
            firm("B", capabilities={"engineering": 1.0}, competence=0.2, propensity=1.0),
        ],
        kreislauf={"exit_value_ratio": 0.9},
    )
    model = first_evaluation(scenario)
    t = model.kreislauf.table
    assert t.judged_expected[0, 0] == pytest.approx(10.0)
    assert t.judged_realised[0, 0] == pytest.approx(6.0)
    view = t.view(0)
    assert view.phase is Phase.ENDED and view.reason is Reason.LOW_VALUE
    assert t.exited_by[0] == 0
    row = model.cooperation_log().iloc[0]
    assert row["expected_initiator"] == pytest.approx(10.0) and row["realised_initiator"] == pytest.approx(6.0)


def test_partners_whose_cultures_do_not_fit_part() -> None:
    # Cultures 0.2 apart in every dimension: fit 0.8, enough to agree (value
    # grows with fit), below an exit threshold of 0.85 at the evaluation.
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5), culture=[0.4, 0.4, 0.4]),
            firm("B", capabilities={"engineering": 1.0}, culture=[0.6, 0.6, 0.6]),
        ],
        kreislauf={"exit_culture_fit": 0.85},
    )
    model = first_evaluation(scenario)
    view = model.kreislauf.table.view(0)
    assert view.phase is Phase.ENDED and view.reason is Reason.CULTURE


def test_cultures_converge_toward_the_partners_mean_not_once_per_partner() -> None:
    # B and C both need A's marketing, and A (capacity 2) works with both at
    # once; each month A closes 0.1 of the distance to their mean culture, not
    # 0.1 of the distance to each.
    scenario = world(
        [
            firm("A", capabilities={"marketing": 1.0}, culture=[0.3] * 3, capacity=2),
            firm("B", capabilities={"marketing": 0.0}, needs=needing("marketing", 0.5), culture=[0.4] * 3),
            firm("C", capabilities={"marketing": 0.0}, needs=needing("marketing", 0.5), culture=[0.6] * 3),
        ],
        kreislauf={"culture_convergence": 0.1},
    )
    model = CooperationModel(scenario, seed=1)
    t = model.kreislauf.table
    together = 0
    for _ in range(8):
        before = model.firms.culture[:3].copy()
        # The relationships that will run next month: in the phase since before it.
        running = t.in_phase(Phase.RELATIONSHIP, before=model.steps + 1)
        model.step()
        after = model.firms.culture[:3]
        partners = sorted(t.a[running].tolist())
        if partners:
            mean = before[partners].mean(axis=0)
            assert after[0] == pytest.approx(before[0] + 0.1 * (mean - before[0]))
            together += partners == [1, 2]
    assert together >= 3, "A worked with both at once for fewer than three months"
    assert np.all((after >= 0) & (after <= 1))


def months_until_a_partner_leaves_for_low_trust(scenario: str, seed: int, steps: int, **overrides: Any) -> int | None:
    """Metrolux's integrity falls to 0 in month 36: months until a partner first leaves it for low trust (None: none did)."""
    model = CooperationModel(scenario, seed=seed, steps=steps, **overrides)
    model.schedule.add(TraitChangeEvent(kind="trait_change", step=36, firm="Metrolux", trait="integrity", value=0.0))
    firm_id = model.firms.index_of("Metrolux")
    while model.running:
        model.step()
    t = model.kreislauf.table
    ended = np.arange(t.n)[(t.ended[: t.n] >= 36) & (t.reason[: t.n] == int(Reason.LOW_TRUST))]
    left_by_partner = ended[((t.a[ended] == firm_id) | (t.b[ended] == firm_id)) & (t.exited_by[ended] != firm_id)]
    return int(t.ended[left_by_partner].min()) - 36 if len(left_by_partner) else None


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["big", "open_market"])
def test_a_partner_whose_integrity_falls_to_zero_is_exited_within_two_evaluation_periods(scenario: str) -> None:
    """At the exit threshold of 0.6 in integrity, a partner leaves Metrolux for low trust within 24 months of its fall.

    The mechanism, with the threshold set: the calibrated scenarios tolerate more
    (below).
    """
    for seed in (1, 2, 3):
        months = months_until_a_partner_leaves_for_low_trust(scenario, seed, 60, kreislauf={"exit_reliability": 0.6})
        assert months is not None and months <= 24, f"{scenario}, seed {seed}: {months}"


@pytest.mark.slow
def test_a_lower_exit_threshold_keeps_a_dishonest_partner_longer() -> None:
    """The calibrated threshold in integrity (about 0.37) against 0.6: partners leave Metrolux later, in the group or never.

    In the open market, where rivals tempt partners to break agreements, they
    still leave it within 44 months; in the B.I.G., where little tempts a
    member, the lower threshold keeps it for years (docs/calibration.md).
    """
    calibrated = load_scenario("big").kreislauf.exit_reliability
    assert calibrated < 0.6
    in_the_market = []  # months until a partner left, at the calibrated threshold in the open market
    for scenario in ("big", "open_market"):
        for seed in (1, 2):
            strict = months_until_a_partner_leaves_for_low_trust(
                scenario, seed, 120, kreislauf={"exit_reliability": 0.6}
            )
            tolerant = months_until_a_partner_leaves_for_low_trust(scenario, seed, 120)
            assert strict is not None
            assert tolerant is None or tolerant >= strict, f"{scenario}, seed {seed}: {tolerant} < {strict}"
            if scenario == "open_market":
                in_the_market.append(tolerant)
    in_the_market.append(months_until_a_partner_leaves_for_low_trust("open_market", 3, 120))
    assert all(m is not None and m <= 44 for m in in_the_market), in_the_market


@pytest.mark.slow
def test_every_exit_reason_occurs_in_the_open_market() -> None:
    reasons: set[str] = set()
    for seed in range(1, 11):
        model = CooperationModel("open_market", seed=seed)
        while model.running:
            model.step()
        log = model.cooperation_log()
        reasons |= set(log.loc[log.outcome == "exit", "reason"])
    assert reasons == {
        Reason(r).label for r in (Reason.LOW_TRUST, Reason.LOW_VALUE, Reason.GOAL_REACHED, Reason.CULTURE)
    }
