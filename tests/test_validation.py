"""Validation patterns: each measurement worked by hand on a tiny case, then the patterns that hold as stylised facts.

The patterns (``analysis.validation.PATTERNS``) were not used in calibration.
The measurements are tested on cases small enough to count by hand; the
stylised facts run the open market on a few seeds and assert only the
patterns docs/validation.md reports as holding. The degree distribution's
right skew and hubs do not hold in the model (docs/validation.md): their
measurement is tested here, the pattern is not asserted.
"""

from __future__ import annotations

import math
from functools import cache

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from analysis.validation import (
    PATTERNS,
    clustering_against_random,
    degree_shape,
    experience_rates,
    formations,
    governance_by_tie,
    repeat_tie_rates,
    run_patterns,
    small_world,
    tie_graph,
)
from sim import CooperationModel


def log_of(rows: list[tuple[int, int | None, int, int | None, float, bool]]) -> pd.DataFrame:
    """A cooperation log from (initiator, partner, month formed, month ended, contract, service) rows.

    Each cooperation spends one month in needs assessment and one in partner
    search, so it opened two months before it was formed.
    """
    return pd.DataFrame(
        {
            "id": range(len(rows)),
            "initiator_id": [r[0] for r in rows],
            "partner_id": pd.array([r[1] for r in rows], dtype="Int64"),
            "started": [r[2] - 2 for r in rows],
            "months_needs_assessment": 1,
            "months_partner_search": 1,
            "ended": pd.array([r[3] for r in rows], dtype="Int64"),
            "contract": [r[4] for r in rows],
            "service": [r[5] for r in rows],
        }
    )


# --- formations -----------------------------------------------------------


def test_formations_leave_out_searches_without_partner_and_service_contracts() -> None:
    log = log_of(
        [
            (3, 1, 5, 20, 0.4, False),  # pair (1, 3), first
            (2, None, 6, 8, 0.0, False),  # no partner
            (0, 4, 0, None, 0.5, True),  # a shared-service contract
            (1, 3, 30, None, 0.3, False),  # pair (1, 3) again: a repeat, though the initiator is the other firm
        ]
    )
    f = formations(log)
    assert f["id"].tolist() == [0, 3]
    assert f[["a", "b"]].values.tolist() == [[1, 3], [1, 3]]
    assert f["formed"].tolist() == [5, 30]
    assert f["repeat"].tolist() == [False, True]
    assert f["ended"].isna().tolist() == [False, True]


def test_two_alliances_of_one_pair_in_the_same_month_are_both_first() -> None:
    f = formations(log_of([(0, 1, 4, 9, 0.5, False), (1, 0, 4, 9, 0.5, False)]))
    assert f["repeat"].tolist() == [False, False]


# --- prior ties ------------------------------------------------------------


def test_repeat_tie_rates_count_pairs_at_risk_by_hand() -> None:
    # Four firms, three years. Firm 3 enters in month 12 and leaves in month 20.
    # 0-1 ally in month 1 and part in month 5; ally again in month 30.
    # 0-2 ally in month 2 and stay allied (never at risk again).
    # 1-2 ally in month 14.
    alliances = formations(
        log_of(
            [
                (0, 1, 1, 5, 0.5, False),
                (0, 2, 2, None, 0.5, False),
                (1, 2, 14, None, 0.5, False),
                (0, 1, 30, None, 0.5, False),
            ]
        )
    )
    entered = np.array([0, 0, 0, 12])
    left = np.array([-1, -1, -1, 20])
    r = repeat_tie_rates(alliances, entered, left, horizon=36)
    # Year 0 (months 0-11): firms 0, 1, 2 in; three pairs, none tied before, none live:
    #   at risk without a prior tie: 01, 02, 12; formed: 01, 02.
    # Year 1 (12-23): firm 3 in at month 12 too. Prior ties: 01, 02; live: 02.
    #   prior: 01 (forms nothing); new: 03, 12, 13, 23 (12 forms).
    # Year 2 (24-35): firm 3 gone. Prior: 01, 02, 12; live: 02, 12.
    #   prior: 01 (forms: month 30); new: none.
    assert (r["dyads_prior"], r["formed_prior"]) == (2, 1)
    assert (r["dyads_new"], r["formed_new"]) == (7, 3)
    assert r["rate_prior"] == pytest.approx(0.5)
    assert r["rate_new"] == pytest.approx(3 / 7)
    assert r["rate_ratio"] == pytest.approx(0.5 / (3 / 7))


def test_repeat_tie_rate_ratio_is_undefined_without_new_alliances_among_strangers() -> None:
    alliances = formations(log_of([(0, 1, 1, 3, 0.5, False), (0, 1, 13, None, 0.5, False)]))
    r = repeat_tie_rates(alliances, np.zeros(2, int), np.full(2, -1), horizon=24)
    assert r["rate_prior"] == 1.0 and r["rate_new"] == 1.0
    r = repeat_tie_rates(alliances.iloc[1:], np.zeros(2, int), np.full(2, -1), horizon=24)
    assert r["formed_new"] == 1 and r["dyads_prior"] == 0 and math.isnan(r["rate_ratio"])


def test_governance_by_tie_compares_repeated_with_first_alliances() -> None:
    alliances = formations(log_of([(0, 1, 2, 5, 0.6, False), (0, 2, 2, 9, 0.5, False), (1, 0, 10, None, 0.2, False)]))
    g = governance_by_tie(alliances)
    assert (g["repeat"], g["first"]) == (1, 2)
    assert g["contract_repeat"] == pytest.approx(0.2)
    assert g["contract_first"] == pytest.approx(0.55)
    assert g["difference"] == pytest.approx(-0.35)
    assert math.isnan(governance_by_tie(alliances.iloc[:2])["difference"])


def test_experience_rates_split_firms_at_the_median_each_year_by_hand() -> None:
    # Four firms, three years; firm 3 leaves in month 6.
    alliances = formations(
        log_of(
            [
                (0, 1, 2, 5, 0.5, False),  # year 0: nobody has experience yet: skipped
                (0, 2, 3, 5, 0.5, False),
                (1, 3, 4, 5, 0.5, False),
                (0, 2, 13, 15, 0.5, False),  # year 1: experience 2, 2, 1 (firms 0-2); median 2, nobody above: skipped
                (0, 1, 26, None, 0.5, False),  # year 2: experience 3, 2, 2; median 2; firm 0 above it
                (1, 2, 27, None, 0.5, False),
            ]
        )
    )
    entered, left = np.zeros(4, int), np.array([-1, -1, -1, 6])
    r = experience_rates(alliances, entered, left, horizon=36)
    # Year 2: firm 0 takes part in one new alliance; firms 1 and 2 in 2 + 1.
    assert (r["firms_experienced"], r["formed_experienced"]) == (1, 1)
    assert (r["firms_less"], r["formed_less"]) == (2, 3)
    assert r["rate_ratio"] == pytest.approx(1 / 1.5)
    r = experience_rates(alliances, entered, left, horizon=24)  # years 0 and 1 only: no contrast at all
    assert r["firms_experienced"] == 0 and math.isnan(r["rate_ratio"])


# --- networks --------------------------------------------------------------


def test_tie_graph_keeps_alliances_live_in_the_window_once_per_pair() -> None:
    alliances = formations(
        log_of(
            [
                (0, 1, 2, 10, 0.5, False),  # ends in month 10: in a window from 10
                (0, 1, 12, None, 0.5, False),  # the same pair again: one edge
                (2, 3, 2, 9, 0.5, False),  # ended before the window
                (3, 4, 25, None, 0.5, False),  # formed after it
            ]
        )
    )
    g = tie_graph(alliances, range(6), 10, 20)
    assert sorted(g.edges()) == [(0, 1)]
    assert sorted(g.nodes()) == list(range(6))


def test_clustering_of_a_triangle_with_a_pendant_by_hand() -> None:
    # Nodes 0, 1 close one triangle each (1), node 2 one of its three wedges (1/3), node 3 none: 7/12.
    g = nx.Graph([(0, 1), (1, 2), (2, 0), (2, 3)])
    r = clustering_against_random(g, samples=3)
    assert r["clustering"] == pytest.approx(7 / 12)
    assert r["density"] == pytest.approx(4 / 6)


def test_a_random_graph_is_about_as_clustered_as_its_null_models() -> None:
    g = nx.gnm_random_graph(200, 800, seed=5)
    r = clustering_against_random(g, samples=5, seed=2)
    assert 0.6 < r["ratio_er"] < 1.6
    assert 0.6 < r["ratio_rewired"] < 1.6


def test_clustered_graphs_are_far_above_both_null_models() -> None:
    r = clustering_against_random(nx.connected_caveman_graph(10, 5), samples=5)
    assert r["ratio_er"] > 5 and r["ratio_rewired"] > 5


def test_the_null_models_are_seeded() -> None:
    g = nx.connected_caveman_graph(6, 4)
    assert clustering_against_random(g, 3, seed=7) == clustering_against_random(g, 3, seed=7)
    assert small_world(g, 3, seed=7) == small_world(g, 3, seed=7)


def test_small_world_index_separates_a_small_world_from_a_random_graph() -> None:
    assert small_world(nx.connected_watts_strogatz_graph(100, 6, 0.05, seed=1), samples=5)["sigma"] > 2
    assert small_world(nx.gnm_random_graph(100, 300, seed=1), samples=5)["sigma"] == pytest.approx(1, abs=0.4)


def test_small_world_reads_the_largest_component_only() -> None:
    g = nx.disjoint_union(nx.path_graph(4), nx.path_graph(2))
    r = small_world(g, samples=2)
    assert r["component"] == 4
    assert r["path_length"] == pytest.approx(10 / 6)  # distances 1,2,3,1,2,1 over six pairs


def test_degree_shape_of_a_star_by_hand() -> None:
    d = degree_shape([4, 1, 1, 1, 1])
    # mean 1.6; deviations 2.4, -0.6 (x4); m2 = 1.44, m3 = (13.824 - 4 * 0.216) / 5 = 2.592; skew = m3 / m2^1.5 = 1.5
    assert d["mean"] == pytest.approx(1.6)
    assert d["skewness"] == pytest.approx(1.5)
    assert d["skewness_poisson"] == pytest.approx(1 / math.sqrt(1.6))
    assert d["dispersion"] == pytest.approx(1.44 / 1.6)
    assert d["hub_degree"] == 5  # Poisson(1.6): P(X <= 4) = 0.976, P(X <= 5) = 0.994
    assert d["hub_share"] == 0.0
    assert d["top_share"] == pytest.approx(4 / 8)  # the top 10% of five firms is one firm: the hub


def test_degree_shape_finds_a_hub_a_random_graph_would_not_have() -> None:
    degrees = [1] * 98 + [2, 40]
    d = degree_shape(degrees)
    assert d["hub_share"] == pytest.approx(0.01)  # the one firm of degree 40
    assert d["excess_skewness"] > 5 and d["dispersion"] > 10
    regular = degree_shape([3] * 10)
    assert regular["dispersion"] == 0 and math.isnan(regular["skewness"])


def test_patterns_hold_only_when_the_interval_is_on_their_side() -> None:
    above = next(p for p in PATTERNS if p.statistic == "window_ratio_er")
    assert above.holds(2.1, 3.0) and not above.holds(1.9, 3.0)
    below = next(p for p in PATTERNS if p.statistic == "contract_difference")
    assert below.holds(-0.2, -0.01) and not below.holds(-0.2, 0.01)
    assert len({p.statistic for p in PATTERNS}) == len(PATTERNS)


# --- stylised facts: the patterns, over seeds (those that do not hold are marked) --

SEEDS = range(1, 5)

#: Patterns that held at the assumed exit thresholds and do not at the calibrated ones. Strict: when one
#: holds again the test fails, so that docs/validation.md is brought up to date with it.
NOT_UNDER_CALIBRATION = "does not hold under the calibrated exits (docs/validation.md): "


@cache
def open_market_patterns(seed: int) -> dict[str, float]:
    model = CooperationModel("open_market", seed=seed)
    while model.running:
        model.step()
    n = model.firms.n
    return run_patterns(
        model.cooperation_log(), model.firms.entered[:n], model.firms.left[:n], int(model.steps), samples=5
    )


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=NOT_UNDER_CALIBRATION + "two of four seeds see no repeated alliance at all")
def test_prior_ties_raise_the_chance_of_a_new_alliance_between_the_same_firms() -> None:
    # Gulati 1995; Gulati & Gargiulo 1999. Within each run, pairs with and without a prior tie.
    ratios = np.array([open_market_patterns(s)["prior_rate_ratio"] for s in SEEDS])
    assert np.all(ratios > 2), ratios


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=NOT_UNDER_CALIBRATION + "repeated alliances are rare and no less formal")
def test_repeated_alliances_are_governed_with_less_formal_contract() -> None:
    # Gulati 1995. A small effect (about 0.02 on a 0-1 scale), but in every seed.
    diffs = np.array([open_market_patterns(s)["contract_difference"] for s in SEEDS])
    assert np.all(diffs < 0), diffs


@pytest.mark.slow
def test_the_alliance_network_is_clustered_well_above_random_and_a_small_world() -> None:
    # Verspagen & Duysters 2004; Schilling & Phelps 2007: against Erdos-Renyi and degree-preserving null models.
    runs = [open_market_patterns(s) for s in SEEDS]
    assert all(r["window_ratio_er"] > 2 for r in runs), [r["window_ratio_er"] for r in runs]
    assert all(r["window_ratio_rewired"] > 1.5 for r in runs), [r["window_ratio_rewired"] for r in runs]
    assert all(r["window_sw_sigma"] > 1.5 for r in runs), [r["window_sw_sigma"] for r in runs]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=NOT_UNDER_CALIBRATION + "experienced firms' places are taken by long alliances")
def test_experienced_firms_form_new_alliances_more_often() -> None:
    # Gulati 1999; Powell et al. 1996. A modest effect (about 1.2 times over 20 seeds): asserted on the mean.
    ratios = np.array([open_market_patterns(s)["experience_rate_ratio"] for s in SEEDS])
    assert ratios.mean() > 1.05, ratios
