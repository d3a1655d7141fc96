"""kreislauf discover: the where-clause grammar, PRIM on synthetic data, and the command on a tiny sweep."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.discover import Condition, DiscoverError, choose_box, parse_where, prim_boxes
from tests.test_cli import kreislauf


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("producer_profit < 0", Condition("producer_profit", "<", 0.0)),
        ("  same_firm_profit>=-1.5e2 ", Condition("same_firm_profit", ">=", -150.0)),
        ("x <= .5", Condition("x", "<=", 0.5)),
    ],
)
def test_a_where_clause_is_measure_op_number(text: str, expected: Condition) -> None:
    assert parse_where(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "producer_profit == 0",
        "producer_profit < abc",
        "__import__('os').system('true') < 1",
        "a < 1 or b > 2",
        "",
        "a < inf",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(DiscoverError, match=r"MEASURE OP NUMBER|finite"):
        parse_where(text)


@given(st.text(max_size=80))
def test_any_text_parses_to_a_plain_condition_or_is_refused(text: str) -> None:
    try:
        c = parse_where(text)
    except DiscoverError as exc:
        assert "\n" not in str(exc)
        return
    assert c.measure.isidentifier() and c.op in {"<", "<=", ">", ">="} and np.isfinite(c.value)


def test_a_condition_never_holds_where_the_value_is_missing() -> None:
    assert list(Condition("m", "<", 1.0).holds(np.array([0.0, np.nan, 2.0]))) == [True, False, False]


def test_prim_finds_a_known_box() -> None:
    rng = np.random.default_rng(7)
    x = pd.DataFrame({"a": rng.uniform(0, 1, 600), "b": rng.uniform(0, 1, 600), "c": rng.uniform(0, 1, 600)})
    y = ((x["a"] > 0.6) & (x["b"] < 0.3)).to_numpy()  # the box: a in (0.6, 1], b in [0, 0.3), c anything
    trajectory, limits = prim_boxes(x, y)
    assert trajectory["coverage"].iloc[0] == 1.0 and trajectory["density"].iloc[0] == pytest.approx(y.mean())
    chosen = choose_box(trajectory, 0.8)
    box = limits[chosen]
    assert trajectory.loc[chosen, "density"] > 0.9 and trajectory.loc[chosen, "coverage"] >= 0.8
    assert box.loc["min", "a"] == pytest.approx(0.6, abs=0.05) and box.loc["max", "b"] == pytest.approx(0.3, abs=0.05)
    assert box["c"].equals(limits[0]["c"])  # c is not restricted


def test_the_trajectory_is_kept_when_no_box_is_dense() -> None:
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"a": rng.uniform(0, 1, 600), "b": rng.uniform(0, 1, 600)})
    y = (x["a"] > 0.5) & (rng.uniform(0, 1, 600) < 0.5)  # at most half the points of any box hold
    trajectory, limits = prim_boxes(x, y.to_numpy())
    assert len(trajectory) > 2 and len(limits) == len(trajectory)
    assert trajectory["density"].max() < 0.7 and limits[-1].loc["min", "a"] > 0.4


def test_importing_analysis_does_not_import_the_workbench() -> None:
    code = "import sys, analysis, analysis.cli, analysis.discover; print('ema_workbench' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


SWEEP = """
name = "tiny_relief"
base = "big"
compare_to = "open_market"
replicates = 1
seed = 1
[sampler]
method = "grid"
[parameters.overhead_relief]
path = "group.overhead_relief"
range = [0.0, 1.0]
points = 6
[parameters.service_fee]
path = "group.service_fee"
values = [0.3, 0.6, 1.0]
[record]
measures = ["producer_profit", "producer_overhead"]
"""


@pytest.fixture(scope="module")
def sweep_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("discover")
    (folder / "sweep.toml").write_text(SWEEP)
    out = folder / "results"
    result = kreislauf(
        "sweep", str(folder / "sweep.toml"), "--steps", "6", "--workers", "1", "--out", str(out), "--quiet"
    )
    assert result.returncode == 0, result.stderr
    return out


def test_discover_finds_where_the_services_save_the_producers_little(sweep_results: Path) -> None:
    outcomes = pd.read_parquet(sweep_results / "outcomes.parquet")
    level = float(outcomes["producer_overhead"].median())
    result = kreislauf(
        "discover", str(sweep_results), "--outcome", "producer_overhead", "--where", f"producer_overhead > {level}"
    )
    assert result.returncode == 0, result.stderr
    assert "coverage" in result.stdout and "density" in result.stdout and "peeling trajectory" in result.stdout
    box = pd.read_parquet(sweep_results / "discover-producer_overhead" / "box.parquet").set_index("parameter")
    # At a fee of the whole overhead carried, shared services save the producers nothing: the box asks for a high fee.
    assert box.loc["service_fee", "restricted"] and box.loc["service_fee", "box_min"] > 0.3
    points = pd.read_parquet(sweep_results / "discover-producer_overhead" / "points.parquet")
    assert points.loc[points["service_fee"] == 1.0, "holds"].all()
    html = (sweep_results / "discover-producer_overhead" / "report.html").read_text()
    assert "Peeling trajectory" in html and "chosen box" in html


def test_a_sweep_with_a_reference_offers_the_difference_from_it(sweep_results: Path) -> None:
    from analysis.discover import point_outcomes
    from analysis.experiments import Experiment

    experiment = Experiment(sweep_results)
    table, params = point_outcomes(experiment)
    reference = float(experiment.reference.outcomes["producer_profit"].iloc[0])  # type: ignore[union-attr]
    assert params == ["overhead_relief", "service_fee"]
    assert np.allclose(table["producer_profit_vs_reference"], table["producer_profit"] - reference)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--outcome", "producer_luck", "--where", "producer_luck < 0"], "unknown measure 'producer_luck'"),
        (["--outcome", "producer_profit", "--where", "producer_profit = 0"], "MEASURE OP NUMBER"),
        (["--outcome", "producer_profit", "--where", "producer_overhead < 0"], "--where names 'producer_overhead'"),
        (["--outcome", "producer_profit", "--where", "producer_profit < -1e9"], "holds at no point"),
    ],
)
def test_bad_discover_input_exits_2_naming_it(sweep_results: Path, args: list[str], fragment: str) -> None:
    result = kreislauf("discover", str(sweep_results), *args)
    assert result.returncode == 2 and fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
