"""Statistics of replicated runs, against values worked by hand, and sensitivity indices on known functions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from analysis.sensitivity import indices
from analysis.statistics import (
    crossings,
    differences_table,
    mean_ci,
    paired_difference,
    run_outcomes,
    summary_table,
)

T_975 = {2: 4.302652729911275, 3: 3.182446305284263, 4: 2.7764451051977987}  # Student t quantiles, from tables


def test_mean_ci_by_hand() -> None:
    # 2, 4, 6, 8: mean 5, sd sqrt(20/3), half-width t(0.975, 3) * sd / 2
    e = mean_ci([2.0, 4.0, 6.0, 8.0])
    sd = math.sqrt(20 / 3)
    assert (e.n, e.mean) == (4, 5.0)
    assert e.sd == pytest.approx(sd)
    assert e.ci_low == pytest.approx(5 - T_975[3] * sd / 2)
    assert e.ci_high == pytest.approx(5 + T_975[3] * sd / 2)


def test_mean_ci_leaves_out_nan_and_says_when_undefined() -> None:
    assert mean_ci([1.0, math.nan, 3.0]).mean == 2.0
    one = mean_ci([7.0])
    assert one.mean == 7.0 and math.isnan(one.ci_low) and math.isnan(one.sd)
    assert mean_ci([]).n == 0 and math.isnan(mean_ci([]).mean)


def test_paired_difference_by_hand() -> None:
    # a - b = 1, 2, 3, 2, 2: mean 2, sd sqrt(0.5); pooled sd of a (10,12,14,16,18) and b (9,10,11,14,16)
    a = [10.0, 12.0, 14.0, 16.0, 18.0]
    b = [9.0, 10.0, 11.0, 14.0, 16.0]
    d = paired_difference(a, b)
    sd = math.sqrt(0.5)
    assert d.n == 5 and d.difference == pytest.approx(2.0)
    assert d.ci_low == pytest.approx(2 - T_975[4] * sd / math.sqrt(5))
    assert d.ci_high == pytest.approx(2 + T_975[4] * sd / math.sqrt(5))
    assert d.sd_difference == pytest.approx(sd)
    assert d.cohens_d == pytest.approx(2 / sd)  # paired: over the sd of the differences
    assert not d.near_zero_sd  # sd 0.71 against a level of 14


def test_paired_difference_drops_incomplete_pairs() -> None:
    d = paired_difference([1.0, math.nan, 3.0, 5.0], [0.0, 1.0, math.nan, 4.0])
    assert d.n == 2 and d.difference == pytest.approx(1.0)
    assert d.ci_low == d.ci_high == pytest.approx(1.0)  # the two differences are equal: no spread
    with pytest.raises(ValueError, match="same length"):
        paired_difference([1.0], [1.0, 2.0])


def test_pairing_narrows_the_interval_when_replicates_are_correlated() -> None:
    rng = np.random.default_rng(1)
    luck = rng.normal(0, 5, 30)  # shared by both scenarios: common random numbers
    a, b = 10 + luck + rng.normal(0, 1, 30), 9 + luck + rng.normal(0, 1, 30)
    paired = paired_difference(a, b)
    unpaired_half = T_975.get(58, 2.0017) * math.sqrt(a.var(ddof=1) / 30 + b.var(ddof=1) / 30)
    assert paired.ci_high - paired.ci_low < unpaired_half  # less than half the unpaired width
    assert paired.ci_low < 1 < paired.ci_high


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=40),
    st.floats(-1e3, 1e3, allow_nan=False),
)
def test_intervals_contain_the_mean_and_shift_with_the_data(values: list[float], shift: float) -> None:
    e = mean_ci(values)
    assert e.ci_low <= e.mean + 1e-6 * (1 + abs(e.mean)) and e.mean <= e.ci_high + 1e-6 * (1 + abs(e.mean))
    moved = mean_ci([v + shift for v in values])
    assert moved.mean == pytest.approx(e.mean + shift, abs=1e-6 * (1 + abs(e.mean) + abs(shift)))
    same = paired_difference(values, values)
    assert same.difference == 0 and (same.cohens_d == 0 or math.isnan(same.cohens_d))


def test_run_outcomes_average_the_last_window_of_each_run() -> None:
    m = pd.DataFrame(
        {
            "run": [0] * 4 + [1] * 4,
            "scenario": ["a"] * 4 + ["b"] * 4,
            "step": [0, 1, 2, 3] * 2,
            "profit": [100.0, 1.0, 2.0, 3.0, 100.0, 5.0, 5.0, 8.0],
            "alive": [True] * 8,
        }
    )
    out = run_outcomes(m, ["run", "scenario"], window=2)
    assert out["profit"].tolist() == [2.5, 6.5]
    assert "alive" not in out.columns  # true/false columns are not averaged
    assert run_outcomes(m, ["run", "scenario"], window=100)["profit"].tolist() == [26.5, 29.5]
    with pytest.raises(ValueError, match="at least 1"):
        run_outcomes(m, ["run"], window=0)


def test_summary_and_differences_tables_pair_replicates() -> None:
    outcomes = pd.DataFrame(
        {
            "scenario": ["big"] * 3 + ["market"] * 3,
            "replicate": [0, 1, 2, 2, 1, 0],  # rows in another order: pairing is by replicate, not position
            "x": [5.0, 6.0, 7.0, 4.0, 4.0, 4.0],
        }
    )
    summary = summary_table(outcomes, "scenario", ["x"])
    assert summary["scenario"].tolist() == ["big", "market"]
    assert summary["mean"].tolist() == [6.0, 4.0]
    diffs = differences_table(outcomes, "scenario", "replicate", ["x"])
    row = diffs.iloc[0]
    assert (row["a"], row["b"], row["n"], row["difference"]) == ("big", "market", 3, 2.0)
    assert row["cohens_d"] == pytest.approx(2.0)  # differences 1, 2, 3: mean 2 over sd 1


def ishigami_like(x: np.ndarray, weak: float = 0.5) -> np.ndarray:
    """Depends strongly on x0, weakly on x1 and not at all on x2."""
    return np.sin(x[:, 0]) * 5 + weak * x[:, 1] ** 2


PROBLEM = {"num_vars": 3, "names": ["strong", "weak", "idle"], "bounds": [[-math.pi, math.pi]] * 3}


def test_a_parameter_without_effect_has_total_sobol_index_near_zero() -> None:
    x = sobol_sample.sample(PROBLEM, 512, calc_second_order=False, seed=1)
    table = indices({"method": "sobol", "problem": PROBLEM}, x, ishigami_like(x), "y").set_index("parameter")
    assert table.loc["idle", "ST"] == pytest.approx(0, abs=0.01)
    assert table.loc["strong", "ST"] > table.loc["weak", "ST"] > 0.05
    assert (table["ST_conf"] >= 0).all()


def test_morris_ranks_the_parameters_by_influence() -> None:
    x = morris_sample.sample(PROBLEM, 40, num_levels=4, seed=1)
    table = indices({"method": "morris", "problem": PROBLEM, "levels": 4}, x, ishigami_like(x, weak=0.1), "y")
    mu = table.set_index("parameter")["mu_star"]
    assert mu["idle"] == 0
    assert mu["strong"] > mu["weak"] > 0


def test_crossings_by_hand() -> None:
    assert crossings([0.45, 0.55, 0.65], [10.0, 20.0, 30.0], 25.0) == [pytest.approx(0.6)]
    assert crossings([0.65, 0.45, 0.55], [30.0, 10.0, 20.0], 25.0) == [pytest.approx(0.6)]  # x in any order
    assert crossings([1, 2, 3, 4], [0.0, 2.0, 0.0, 2.0], 1.0) == [1.5, 2.5, 3.5]  # every crossing
    assert crossings([1, 2, 3], [1.0, float("nan"), 3.0], 2.0) == [2.0]  # a NaN point is left out
    assert crossings([1, 2], [5.0, 6.0], 7.0) == []  # never reached


# Values on a grid of tenths: a sweep's parameter values and means, not points a rounding error apart.
TENTHS = st.integers(-1000, 1000).map(lambda v: v / 10)


@given(
    st.lists(TENTHS, min_size=2, max_size=12, unique=True),
    st.lists(TENTHS, min_size=12, max_size=12),
    TENTHS,
)
def test_the_curve_passes_through_the_level_at_each_crossing(xs: list[float], ys: list[float], level: float) -> None:
    ys = ys[: len(xs)]
    found = crossings(xs, ys, level)
    order = np.argsort(xs)
    x, y = np.asarray(xs)[order], np.asarray(ys)[order]
    for c in found:
        assert x[0] <= c <= x[-1]
        assert np.interp(c, x, y) == pytest.approx(level, abs=1e-6)
    above, below = (y > level).any(), (y < level).any()
    if above and below:
        assert found  # a curve on both sides of the level crosses it
