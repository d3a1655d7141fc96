"""kreislauf explain: Shapley arithmetic on toy games, ingredients as data, and the command on tiny runs."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.explain import REST, design, explain
from analysis.runs import simulate
from analysis.shapley import (
    chain_masks,
    permutation_shapley,
    sample_orders,
    shapley_interactions,
    shapley_values,
)
from analysis.store import ResultsFolder
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.ingredients import switch
from tests.test_cli import kreislauf

effects = st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=6)


def game(k: int, value: Any) -> np.ndarray:
    """The value of every cell (mask) of a game given as a function of the set of switched players."""
    return np.array([value({i for i in range(k) if m >> i & 1}) for m in range(2**k)], dtype=float)


# -- the Shapley arithmetic ---------------------------------------------------------------------------


def test_a_hand_worked_game_of_three() -> None:
    # v({}) = 0, each player alone 1, 2, 3; pairs add 1 more for {0, 1} only; all three 7.
    values = {(): 0, (0,): 1, (1,): 2, (2,): 3, (0, 1): 4, (0, 2): 4, (1, 2): 5, (0, 1, 2): 7}
    v = game(3, lambda s: values[tuple(sorted(s))])
    # Player 0's changes: {}->1 (w 1/3), {1}->+2 (w 1/6), {2}->+1 (w 1/6), {1,2}->+2 (w 1/3): 1/3 + 2/6 + 1/6 + 2/3 = 1.5
    # Player 1: {}: 2, {0}: 3, {2}: 2, {0,2}: 3 -> 2/3 + 3/6 + 2/6 + 3/3 = 2.5 ; player 2: 7 - 1.5 - 2.5 = 3
    assert np.allclose(shapley_values(v), [1.5, 2.5, 3.0])
    # The only second difference is v({0,1}) - v({0}) - v({1}) + v({}) = 1 at S = {} (w 1/2) and at S = {2}:
    # v({0,1,2}) - v({0,2}) - v({1,2}) + v({2}) = 7 - 4 - 5 + 3 = 1 (w 1/2): I_01 = 1.
    assert shapley_interactions(v)[0, 1] == pytest.approx(1.0)
    assert shapley_interactions(v)[0, 2] == pytest.approx(0.0)


@given(effects)
def test_an_additive_game_gives_each_player_its_own_effect(e: list[float]) -> None:
    k = len(e)
    v = game(k, lambda s: 5.0 + sum(e[i] for i in s))
    assert np.allclose(shapley_values(v), e, atol=1e-9)
    if k >= 2:
        assert np.allclose(shapley_interactions(v), 0.0, atol=1e-9)


@given(effects, st.floats(-50, 50, allow_nan=False), st.data())
def test_with_an_interaction_efficiency_and_symmetry_hold(e: list[float], c: float, data: st.DataObject) -> None:
    k = len(e) + 1
    e = [*e, e[0]]  # players 0 and k-1 act alike
    i, j = 0, k - 1
    v = game(k, lambda s: sum(e[p] for p in s) + (c if {i, j} <= s else 0.0))
    phi = shapley_values(v)
    assert phi.sum() == pytest.approx(v[-1] - v[0], abs=1e-9)  # efficiency
    assert phi[i] == pytest.approx(phi[j], abs=1e-9)  # symmetry
    assert phi[i] == pytest.approx(e[i] + c / 2, abs=1e-9)  # the interaction is split evenly
    assert shapley_interactions(v)[i, j] == pytest.approx(c, abs=1e-9)
    # Sampled orders: efficiency holds exactly whatever the orders.
    orders = sample_orders(k, data.draw(st.integers(1, 5)), seed=data.draw(st.integers(0, 10)))
    estimate = permutation_shapley({m: np.float64(v[m]) for m in range(2**k)}, orders, k)
    assert estimate.sum() == pytest.approx(v[-1] - v[0], abs=1e-9)


@settings(max_examples=30)
@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=8, max_size=8))
def test_every_order_of_three_gives_the_exact_values(values: list[float]) -> None:
    v = np.array(values)
    orders = [list(p) for p in itertools.permutations(range(3))]
    estimate = permutation_shapley({m: np.float64(v[m]) for m in range(8)}, orders, 3)
    assert np.allclose(estimate, shapley_values(v), atol=1e-9)


def test_values_carry_along_trailing_axes() -> None:
    v = np.stack([game(2, lambda s: len(s)), game(2, lambda s: 3.0 * (0 in s))], axis=1)  # two replicates
    assert np.allclose(shapley_values(v), [[1, 3], [1, 0]])


def test_a_chain_visits_one_more_ingredient_at_a_time() -> None:
    assert chain_masks([1, 0]) == [0, 2, 3]
    with pytest.raises(ValueError, match="2\\*\\*k values"):
        shapley_values([1.0, 2.0, 3.0])


# -- ingredients as data ------------------------------------------------------------------------------

BASE = """
name = "tiny"
steps = 6
[group]
shared_services = true
[[firms]]
name = "A"
role = "producer"
niche = "a"
size = 5
competence = 0.7
integrity = 0.7
benevolence = 0.7
propensity = 0.5
capabilities = { production = 0.5, engineering = 0.5, digital = 0.5, administration = 0.5, marketing = 0.5 }
group = true
"""


def scenario_file(tmp_path: Path, ingredients: str) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(BASE + ingredients)
    return path


@pytest.mark.parametrize(
    ("ingredients", "fragment"),
    [
        ('[[ingredients]]\nname = "x"\nset = { "group.campuss" = false }\n', "no parameter at 'group.campuss'"),
        ('[[ingredients]]\nname = "x"\n[ingredients.add]\n"group.campus" = [1]\n', "'add' appends to a list"),
        ('[[ingredients]]\nname = "x"\n', "switches nothing"),
        (
            '[[ingredients]]\nname = "x"\nset = { "group.campus" = false }\n[[ingredients]]\nname = "x"\nset = { "steps" = 3 }\n',
            "ingredient names must be unique",
        ),
        ('[[ingredients]]\nname = "x"\nsett = { "group.campus" = false }\n', "unknown key"),
    ],
)
def test_bad_ingredients_are_refused_on_load(tmp_path: Path, ingredients: str, fragment: str) -> None:
    with pytest.raises(ScenarioError, match=fragment.replace("(", "\\(").replace("*", "\\*")):
        load_scenario(scenario_file(tmp_path, ingredients))
    result = kreislauf("validate", str(tmp_path / "tiny.toml"))
    assert result.returncode == 2 and fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_switch_to_a_value_not_allowed_names_the_ingredient(tmp_path: Path) -> None:
    scenario = load_scenario(scenario_file(tmp_path, '[[ingredients]]\nname = "bad"\nset = { "steps" = -1 }\n'))
    with pytest.raises(ScenarioError, match=r"steps.*ingredients 'bad' switched"):
        switch(scenario, ["bad"])
    with pytest.raises(ScenarioError, match="'nope': not an ingredient"):
        switch(scenario, ["nope"])


def test_the_big_switched_entirely_differs_from_the_open_market_only_where_the_rest_says() -> None:
    big = load_scenario("big")
    market = load_scenario("open_market")
    all_switched = switch(big, [i.name for i in big.ingredients])
    assert all_switched.populations == market.populations and all_switched.market == market.market
    assert not all_switched.group.shared_services and not all_switched.group.campus  # type: ignore[union-attr]


def test_ingredients_change_no_run() -> None:
    big = load_scenario("big").until(12)
    bare = big.with_overrides({"ingredients": []})
    a, b = simulate(big, 3, None).measures_frame(), simulate(bare, 3, None).measures_frame()
    pd.testing.assert_frame_equal(a, b)


# -- the command --------------------------------------------------------------------------------------

TWO = ["shared services", "campus"]


def test_explain_splits_the_gap_exactly_and_writes_tables_and_report(tmp_path: Path) -> None:
    out = tmp_path / "ex"
    result = kreislauf(
        "explain", "big", "open_market", "--ingredients", *TWO, "--replicates", "3", "--steps", "12",
        "--workers", "1", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "shared services" in result.stdout and REST in result.stdout and "strongest interactions" in result.stdout
    for name in ("gaps", "contributions", "interactions", "cells"):
        assert (out / f"{name}.parquet").exists() and (out / f"{name}.csv").exists()
    html = (out / "report.html").read_text()
    assert "waterfall" in html and "heatmap" in html and "Content-Security-Policy" in html
    gaps = pd.read_parquet(out / "gaps.parquet").set_index("measure")
    contributions = pd.read_parquet(out / "contributions.parquet")
    for measure, rows in contributions.groupby("measure"):
        assert rows["contribution"].sum() == pytest.approx(gaps.loc[measure, "gap"], rel=1e-9, abs=1e-12)
        assert gaps.loc[measure, "gap"] == pytest.approx(gaps.loc[measure, "a_value"] - gaps.loc[measure, "b_value"])
    assert list(contributions["ingredient"].unique()) == [*TWO, REST]
    # The cell with nothing switched is the B.I.G. itself.
    cells = pd.read_parquet(out / "cells.parquet").set_index(["measure", "cell"])
    assert cells.loc[("same_firm_profit", "00"), "mean"] == pytest.approx(gaps.loc["same_firm_profit", "a_value"])


def test_the_same_seed_gives_the_same_tables_in_one_process_or_two(tmp_path: Path) -> None:
    args = dict(ingredients=TWO, replicates=2, steps=6, progress=False)
    one = explain("big", "open_market", out=tmp_path / "one", workers=1, **args)  # type: ignore[arg-type]
    two = explain("big", "open_market", out=tmp_path / "two", workers=2, **args)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(one.contributions, two.contributions)
    pd.testing.assert_frame_equal(one.interactions, two.interactions)


def test_an_interrupted_explanation_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = dict(ingredients=TWO, replicates=2, steps=6, workers=1, progress=False)
    whole = explain("big", "open_market", out=tmp_path / "whole", **args)  # type: ignore[arg-type]
    stored: list[int] = []
    stop_after = [3]
    original = ResultsFolder.store

    def store_then_stop(self: ResultsFolder, output: Any) -> None:
        original(self, output)
        stored.append(output.spec.run)
        if len(stored) == stop_after[0]:
            raise KeyboardInterrupt

    monkeypatch.setattr(ResultsFolder, "store", store_then_stop)
    with pytest.raises(KeyboardInterrupt):
        explain("big", "open_market", out=tmp_path / "cut", **args)  # type: ignore[arg-type]
    assert not (tmp_path / "cut" / "contributions.parquet").exists()
    stored.clear()
    stop_after[0] = -1
    again = explain("big", "open_market", out=tmp_path / "cut", **args)  # type: ignore[arg-type]
    assert len(stored) == 5 * 2 - 3  # 4 cells and the open market, 2 replicates each: only the missing ran
    pd.testing.assert_frame_equal(again.contributions, whole.contributions)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--ingredients", "campus", "nope"], "'nope' is not an ingredient of 'big'"),
        (["--measure", "same_firm_luck"], "unknown measure 'same_firm_luck'"),
        (["--replicates", "0"], "--replicates must be from 1"),
    ],
)
def test_bad_explain_input_exits_2_naming_it(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = kreislauf("explain", "big", "open_market", *args, "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and fragment in result.stderr and "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if "error:" in line]  # argparse prints its usage first
    assert len(message) == 1 and fragment in message[0]


def test_explain_needs_declared_ingredients(tmp_path: Path) -> None:
    result = kreislauf("explain", "open_market", "classroom", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "declares [[ingredients]]" in result.stderr


def test_the_other_scenario_may_declare_the_ingredients() -> None:
    d = design("open_market", "big", ["campus"], steps=6)
    assert d.base == "b" and d.declaring.name == "big" and d.masks == (0, 1)


def test_beyond_eight_ingredients_orders_are_sampled(tmp_path: Path) -> None:
    sets = "".join(f'[[ingredients]]\nname = "i{k}"\nset = {{ "group.service_fee" = 0.{k} }}\n' for k in range(9))
    d = design(scenario_file(tmp_path, sets), "open_market", permutations=None)
    assert not d.exact and len(d.orders) == 64 and set(d.masks) >= {0, 2**9 - 1}


def test_a_sampled_design_still_splits_the_gap_exactly(tmp_path: Path) -> None:
    big = (Path(__file__).parents[1] / "scenarios" / "big.toml").read_text()
    ninth = '\n[[ingredients]]\nname = "dear services"\nset = { "group.service_fee" = 1.0 }  # test\n'
    (tmp_path / "big9.toml").write_text(big + ninth)
    result = explain(
        tmp_path / "big9.toml", "open_market", replicates=2, steps=3, permutations=2, workers=1, progress=False,
        out=tmp_path / "ex",
    )  # fmt: skip
    assert not result.design.exact and len(result.design.masks) == 2 * 9  # two opposite chains share their ends
    assert result.interactions.empty
    for measure, rows in result.contributions.groupby("measure"):
        gap = result.gaps.set_index("measure").loc[measure, "gap"]
        assert rows["contribution"].sum() == pytest.approx(gap, rel=1e-9, abs=1e-12)
    assert (tmp_path / "ex" / "report.html").exists()


@pytest.mark.parametrize("command", ["explain", "discover"])
def test_help_texts_print_plain_percent_signs(command: str) -> None:
    result = kreislauf(command, "--help")
    assert result.returncode == 0 and "%%" not in result.stdout and "--out" in result.stdout
