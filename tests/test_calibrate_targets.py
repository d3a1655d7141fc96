"""The calibration statistics (analysis.targets): hand-worked small logs, survival-analysis properties, a real run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.runs import simulate
from analysis.targets import (
    STATISTICS,
    RunLogs,
    alliances,
    cumulative_incidence,
    firm_log,
    kaplan_meier,
    km_median,
    pooled,
    survival_at,
)
from sim.scenario import load_scenario
from sim.vocabulary import Reason


def cooperation(life: int, reason: Reason | None, partner: bool = True) -> dict[str, object]:
    """One row of a cooperation log with only the columns the statistics read (life split over three phases)."""
    ended = reason is not None
    outcome = (
        "no_partner"
        if not partner
        else ("exit" if reason in (Reason.LOW_TRUST, Reason.GOAL_REACHED) else "dissolved")
        if ended
        else "continue"
    )
    return {
        "partner_id": 7 if partner else None,
        "outcome": outcome,
        "months_structure": 2,
        "months_relationship": life - 3,
        "months_evaluation": 1,
        "ended": 100 if ended else None,
        "reason": reason.label if ended else None,
    }


def hand_logs() -> RunLogs:
    coop = pd.DataFrame(
        [
            cooperation(12, Reason.LOW_TRUST),  # fails after a year
            cooperation(30, Reason.GOAL_REACHED),  # ends well after 2.5 years
            cooperation(70, None),  # still running after 70 months: censored
            cooperation(40, Reason.PARTNER_LEFT),  # dissolved: the partner left the market (a failure)
            cooperation(5, Reason.NO_PARTNER, partner=False),  # never an alliance
        ]
    ).astype({"partner_id": "Int64", "ended": "Int64"})
    firms = pd.DataFrame(
        {
            "firm": list("ABCDEF"),
            "entered": [0, 0, 24, 36, 100, 48],
            "left": pd.array([None, 60, 30, None, None, 108], dtype="Int64"),
            "observed_until": [120] * 6,
        }
    )
    return RunLogs(coop, firms)


def test_alliances_are_cooperations_with_a_partner_their_life_and_how_they_ended() -> None:
    a = alliances(hand_logs().cooperations)
    assert a["life"].tolist() == [12, 30, 70, 40]
    assert a["ended"].tolist() == [True, True, False, True]
    assert a["failed"].tolist() == [True, False, False, True]


def test_alliance_statistics_worked_by_hand() -> None:
    logs = hand_logs()
    s = {name: stat.function(logs) for name, stat in STATISTICS.items()}
    # Kaplan-Meier over lives 12, 30, 40 (ends) and 70 (censored): 3/4 after 12, 3/4 * 2/3 = 1/2 after 30, 1/4 after 40.
    assert s["alliance_survival_2y"] == pytest.approx(0.75)
    assert s["alliance_survival_5y"] == pytest.approx(0.25)
    assert s["alliance_median_life_years"] == pytest.approx(2.5)  # 30 months, where survival first reaches 1/2
    # Failures at 12 (1 of 4 at risk) and at 40 (1 of 2, after surviving to 1/2): 1/4 + 1/2 * 1/2; the goal reached at 30 is not one.
    assert s["alliance_failure_5y"] == pytest.approx(0.5)


def test_firm_statistics_worked_by_hand() -> None:
    s = {name: stat.function(hand_logs()) for name, stat in STATISTICS.items()}
    # New firms C, D, E, F live 6 (left), 84 (in), 20 (in), 60 (left) months: 3/4 after 6, 3/4 * 1/2 after 60.
    assert s["firm_survival_1y"] == pytest.approx(0.75)
    assert s["firm_survival_5y"] == pytest.approx(0.375)
    # 120 + 60 + 6 + 84 + 20 + 60 = 350 firm-months; 4 entries, 3 exits.
    assert s["entry_rate"] == pytest.approx(4 / (350 / 12))
    assert s["exit_rate"] == pytest.approx(3 / (350 / 12))


def test_a_statistic_the_runs_cannot_see_is_missing_not_guessed() -> None:
    assert math.isnan(survival_at([10, 20], [True, False], 24))  # nobody watched two years
    assert math.isnan(km_median([10, 20, 30], [True, False, False]))  # survival never reaches one half
    assert math.isnan(cumulative_incidence([10], [True], [True], 60))


def test_pooling_runs_concatenates_their_logs() -> None:
    one = hand_logs()
    both = pooled([one, one])
    assert len(both.cooperations) == 10 and len(both.firms) == 12
    # The same runs twice: every statistic is unchanged.
    for stat in STATISTICS.values():
        assert stat.function(both) == pytest.approx(stat.function(one))


lives = st.lists(st.tuples(st.integers(1, 50), st.booleans(), st.booleans()), min_size=1, max_size=40)


@given(lives)
@settings(max_examples=100, deadline=None)
def test_without_censoring_kaplan_meier_is_the_share_still_alive(rows: list[tuple[int, bool, bool]]) -> None:
    t = np.array([r[0] for r in rows], dtype=float)
    table = kaplan_meier(t, np.ones(len(t), dtype=bool))
    for time, survival in zip(table["time"], table["survival"], strict=True):
        assert survival == pytest.approx(np.mean(t > time))


@given(lives, st.integers(1, 50))
@settings(max_examples=100, deadline=None)
def test_cumulative_incidences_of_two_causes_add_up_to_one_minus_survival(
    rows: list[tuple[int, bool, bool]], time: int
) -> None:
    t = np.array([r[0] for r in rows], dtype=float)
    event = np.array([r[1] for r in rows])
    cause = np.array([r[2] for r in rows]) & event
    if t.max() < time:
        return
    a = cumulative_incidence(t, event, cause, time)
    b = cumulative_incidence(t, event, event & ~cause, time)
    assert 0 <= a <= 1 and 0 <= b <= 1
    assert a + b == pytest.approx(1 - survival_at(t, event, time))


def test_the_firm_log_of_a_run_counts_the_entries_and_exits_the_measures_count() -> None:
    model = simulate(load_scenario("open_market").until(60), 5)
    log = firm_log(model)
    measures = model.measures_frame()
    assert int((log["entered"] > 0).sum()) == int(measures["entries"].sum())
    assert int(log["left"].notna().sum()) == int(measures["exits"].sum())
    assert (log["observed_until"] == 60).all()
    left = log["left"].dropna()
    assert (left.to_numpy() >= log.loc[left.index, "entered"].to_numpy()).all()
