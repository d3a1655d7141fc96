"""A comparison leads with the same firms: hand-built results whose gaps are known, and the real command.

The hand-built folder holds two scenarios of three paired replicates with
two focal firms in both (F1, F2) and one in the second only (F3, which must
not count), written through the same store the engines use; every number
asserted below is worked out by hand in the comments.
"""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import Experiment, compare
from analysis.cli import main
from analysis.experiments import comparison_plan, composition
from analysis.statistics import NEAR_ZERO_SD, paired_difference
from analysis.store import ResultsFolder, RunOutput, run_files
from analysis.tables import comparison_table
from sim.observe.measures import FOCAL_COLUMNS

#: Student-t quantile 0.975 with 2 degrees of freedom (three replicates).
T_975_2 = 4.302652729911275

BIG_PRODUCERS = ["GEFERTEC", "flying-parts", "Scansonic MI", "Metrolux", "PGS", "Lumics"]


def _focal_row(step: int, firm: str, **values: float) -> dict[str, object]:
    row: dict[str, object] = {c: 0.0 for c in FOCAL_COLUMNS}
    row.update(step=step, firm=firm, alive=True, cooperations=2, **values)
    return row


def _tables(scenario: str, k: int) -> dict[str, pd.DataFrame]:
    """Replicate ``k`` of a scenario: months 0 and 1 (the outcome window is 1 month: month 1 is the outcome)."""
    big = scenario == "big"
    measures = pd.DataFrame(
        {
            "step": [0, 1],
            "firms": [10, 10] if big else [70 + k, 70 + k],
            "producers": [6, 6] if big else [70 + k, 70 + k],
            "producer_profit": [0.0, 15.0 + 1.5 * k] if big else [0.0, 5.0],
            "capital_gini": [0.4, 0.45] if big else [0.5, 0.6 + 0.01 * k],  # differs at month 0
            "digital_maturity": [0.5, 0.6] if big else [0.5, 0.55],  # the same at month 0
        }
    )
    start = 0.3 if big else 0.5  # the same firms' digital maturity differs at month 0
    focal = [
        _focal_row(0, "F1", digital_maturity=start, capital=100.0),
        _focal_row(0, "F2", digital_maturity=start, capital=100.0),
        _focal_row(
            1,
            "F1",
            profit=(10.0 + k) if big else (8.0 + k),
            overhead_paid=30.0 if big else 40.0,
            revenue=(100.0 + 0.001 * k) if big else 90.0,
            trust_received=0.8 if big else 0.5,
            digital_maturity=start + 0.1,
            capital=100.0,
        ),
        _focal_row(
            1,
            "F2",
            profit=(20.0 + 2 * k) if big else (16.0 + k),
            overhead_paid=30.0 if big else 40.0,
            revenue=(100.0 + 0.001 * k) if big else 90.0,
            trust_received=0.6 if big else math.nan,  # no partners: left out of the mean
            digital_maturity=start + 0.1,
            capital=100.0,
        ),
    ]
    if not big:  # a focal firm only this scenario has: not one of the same firms
        focal += [_focal_row(0, "F3"), _focal_row(1, "F3", profit=1000.0, trust_received=0.1)]
    return {"measures": measures, "focal_firms": pd.DataFrame(focal), "cooperations": pd.DataFrame({"cooperation": []})}


@pytest.fixture(scope="module")
def hand_built(tmp_path_factory: pytest.TempPathFactory) -> Experiment:
    plan = comparison_plan(["big", "open_market"], replicates=3, seed=1, steps=1, window=1)
    folder = ResultsFolder.for_plan(tmp_path_factory.mktemp("hand") / "c", plan)
    for spec in plan.runs():
        tables = {}
        for name, frame in _tables(spec.label, spec.replicate).items():
            keys = pd.DataFrame({k: [v] * len(frame) for k, v in spec.keys.items()}, index=frame.index)
            tables[name] = pd.concat([keys, frame], axis=1)
        folder.store(RunOutput(spec, run_files(spec.run, tables)))
    experiment = Experiment(folder)
    experiment.write_summaries()
    return experiment


def test_the_same_firms_are_those_in_every_scenario(hand_built: Experiment) -> None:
    assert hand_built.common_firms == ["F1", "F2"]
    assert hand_built.same_firms_label == "2 firms in every scenario: F1, F2"


def test_same_firm_outcomes_average_the_common_firms_only(hand_built: Experiment) -> None:
    same = hand_built.same_firm_outcomes.set_index(["scenario", "replicate"])
    for k in range(3):
        assert same.loc[("big", k), "same_firm_profit"] == pytest.approx(15.0 + 1.5 * k)  # (10+k + 20+2k) / 2
        assert same.loc[("open_market", k), "same_firm_profit"] == pytest.approx(12.0 + k)  # F3's 1000 left out
    assert same.loc[("big", 0), "same_firm_trust_received"] == pytest.approx(0.7)
    assert same.loc[("open_market", 0), "same_firm_trust_received"] == pytest.approx(0.5)  # F2 has no partners


def test_summary_and_differences_lead_with_the_same_firms(hand_built: Experiment) -> None:
    summary, diffs = hand_built.summary, hand_built.differences
    assert list(summary.columns[:3]) == ["kind", "firms", "measure"]
    kinds = summary["kind"].tolist()
    first_population = kinds.index("population")
    assert set(kinds[:first_population]) <= {"same firms", "same firms: change since month 0"}
    assert summary["measure"].iloc[0] == "same_firm_profit"
    assert "population" not in {k.split(":")[0] for k in kinds[:first_population]}
    assert all(k.startswith("population") for k in kinds[first_population:])
    assert (summary.loc[: first_population - 1, "firms"] == "2 firms in every scenario: F1, F2").all()

    profit = summary[summary["measure"] == "same_firm_profit"].set_index("scenario")
    assert profit.loc["big", "mean"] == pytest.approx(16.5) and profit.loc["open_market", "mean"] == pytest.approx(13.0)

    # Paired differences 3, 3.5, 4: mean 3.5, sd 0.5, paired d = 7.
    d = diffs[diffs["measure"] == "same_firm_profit"].iloc[0]
    assert (d["kind"], d["a"], d["b"], d["n"]) == ("same firms", "big", "open_market", 3)
    assert d["difference"] == pytest.approx(3.5)
    assert d["sd_difference"] == pytest.approx(0.5)
    assert d["cohens_d"] == pytest.approx(7.0)
    assert d["ci_low"] == pytest.approx(3.5 - T_975_2 * 0.5 / math.sqrt(3))
    assert d["ci_high"] == pytest.approx(3.5 + T_975_2 * 0.5 / math.sqrt(3))
    assert not d["near_zero_sd"]
    # The population measure over every producer shows the other gap: 16.5 - 5.
    pop = diffs[diffs["measure"] == "producer_profit"].iloc[0]
    assert pop["kind"] == "population" and pop["difference"] == pytest.approx(11.5)
    assert pop["firms"] == "all 10 firms (6 producers, 4 service) vs all ~71 firms (~71 producers, 0 service)"
    assert (
        diffs.index[diffs["measure"] == "same_firm_profit"][0] < diffs.index[diffs["measure"] == "producer_profit"][0]
    )


def test_near_zero_variance_is_flagged(hand_built: Experiment) -> None:
    diffs = hand_built.differences.set_index("measure")
    overhead = diffs.loc["same_firm_overhead_paid"]  # -10 in every pair: no spread at all
    assert overhead["difference"] == pytest.approx(-10.0) and overhead["sd_difference"] == 0
    assert math.isnan(overhead["cohens_d"]) and overhead["near_zero_sd"]
    revenue = diffs.loc["same_firm_revenue"]  # 10, 10.001, 10.002: sd 0.001 against a level of 100
    assert revenue["cohens_d"] == pytest.approx(10.001 / 0.001) and revenue["near_zero_sd"]


def test_changes_since_month_0_for_stocks_that_differ_at_the_start(hand_built: Experiment) -> None:
    summary = hand_built.summary
    measures = summary["measure"].tolist()
    assert "capital_gini_change" in measures  # 0.4 against 0.5 at month 0
    assert "digital_maturity_change" not in measures  # 0.5 in both
    assert "same_firm_digital_maturity_change" in measures  # 0.3 against 0.5
    assert "same_firm_capital_change" not in measures
    # Each change follows its measure.
    assert measures.index("capital_gini_change") == measures.index("capital_gini") + 2  # after both scenarios' rows
    gini = summary[summary["measure"] == "capital_gini_change"].set_index("scenario")
    assert gini.loc["big", "mean"] == pytest.approx(0.05)
    assert gini.loc["open_market", "mean"] == pytest.approx(0.11)  # 0.6 + 0.01 k - 0.5, k = 0, 1, 2
    assert gini.loc["big", "kind"] == "population: change since month 0"
    same = hand_built.differences.set_index("measure").loc["same_firm_digital_maturity_change"]
    assert same["kind"] == "same firms: change since month 0" and same["difference"] == pytest.approx(0.0)


def test_the_csv_files_and_the_terminal_table_lead_with_the_same_firms(hand_built: Experiment) -> None:
    summary = pd.read_csv(hand_built.path / "summary.csv")
    differences = pd.read_csv(hand_built.path / "differences.csv")
    assert summary.loc[0, "kind"] == "same firms" and summary.loc[0, "measure"] == "same_firm_profit"
    assert differences.loc[0, "kind"] == "same firms" and differences.loc[0, "firms"].endswith("F1, F2")
    lines = comparison_table(hand_built).splitlines()
    same = next(i for i, line in enumerate(lines) if line.startswith("same firms"))
    population = next(i for i, line in enumerate(lines) if line.startswith("population"))
    assert same < population
    assert "F1, F2" in lines[same] and "F3" not in lines[same]
    assert lines[same + 1].startswith("profit / month, k EUR")
    assert "big: all 10 firms (6 producers, 4 service)" in lines[population]
    assert "open_market: all ~71 firms (~71 producers, 0 service)" in lines[population]
    assert any(line.startswith("d = paired Cohen's d") and "near zero" in line for line in lines[:3])
    overhead = next(line for line in lines if line.startswith("overhead paid"))
    assert overhead.rstrip().endswith("n/a*")


def test_composition_names_counts_exactly_or_roughly() -> None:
    assert composition(pd.Series([10.0, 10.0]), pd.Series([6.0, 6.0])) == "all 10 firms (6 producers, 4 service)"
    assert composition(pd.Series([76.0, 78.0]), pd.Series([72.0, 74.0])) == "all ~77 firms (~73 producers, 4 service)"


@given(
    st.lists(st.floats(-100, 100, allow_nan=False), min_size=3, max_size=20),
    st.floats(0.01, 100),
    st.floats(0.1, 1000),
)
def test_paired_d_is_the_mean_difference_over_the_sd_of_differences(
    values: list[float], shift: float, scale: float
) -> None:
    rng = np.random.default_rng(len(values))
    b = np.array(values)
    a = b + shift + rng.normal(0, 1, len(b))
    d = paired_difference(a, b)
    assert d.cohens_d == pytest.approx(d.difference / np.std(a - b, ddof=1))
    scaled = paired_difference(a * scale, b * scale)  # units do not change d or the flag
    assert scaled.cohens_d == pytest.approx(d.cohens_d, rel=1e-6)
    level = max(abs(a.mean()), abs(b.mean()))
    assert d.near_zero_sd == (d.sd_difference <= NEAR_ZERO_SD * level)


# -- the real command ------------------------------------------------------------


@pytest.fixture(scope="module")
def big_against_market(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``kreislauf compare big open_market --replicates 3 --steps 24``: its folder and what it printed."""
    out = tmp_path_factory.mktemp("cmp") / "c"
    args = ["compare", "big", "open_market", "--replicates", "3", "--steps", "24", "--workers", "1", "--out", str(out)]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(args) == 0
    return out, printed.getvalue()


def test_compare_big_with_the_market_leads_with_the_six_producers(big_against_market: tuple[Path, str]) -> None:
    out, printed = big_against_market
    lines = printed.splitlines()
    table = lines[lines.index("") + 1 :]
    assert table[0].startswith("measure")
    assert table[1].startswith("same firms")
    assert all(name in table[1] for name in BIG_PRODUCERS)
    assert table[2].startswith("profit / month, k EUR")
    population = next(line for line in table if line.startswith("population"))
    assert "big: all 10 firms (6 producers, 4 service)" in population
    assert "open_market: all ~" in population and table.index(population) > 2
    summary = pd.read_csv(out / "summary.csv")
    same = summary[summary["kind"] == "same firms"]
    assert (
        summary.loc[0, "measure"] == "same_firm_profit"
        and same.index.max() < summary.index[summary["kind"] == "population"].min()
    )
    assert (same["firms"] == "6 firms in every scenario: " + ", ".join(BIG_PRODUCERS)).all()
    differences = pd.read_csv(out / "differences.csv")
    assert differences.loc[0, "measure"] == "same_firm_profit" and differences.loc[0, "kind"] == "same firms"
    # The same-firm profit is the mean of the six producers' own profits, run by run.
    e = Experiment(out)
    focal = e.focal_outcomes.groupby(["scenario", "replicate"])["profit"].mean()
    same_profit = e.same_firm_outcomes.set_index(["scenario", "replicate"])["same_firm_profit"]
    pd.testing.assert_series_equal(same_profit.sort_index(), focal.sort_index(), check_names=False)


def test_same_firm_summaries_are_identical_across_workers_and_after_resuming(
    big_against_market: tuple[Path, str], tmp_path: Path
) -> None:
    out, _ = big_against_market
    two = compare(["big", "open_market"], replicates=3, steps=24, workers=2, out=tmp_path / "two", progress=False)
    for name in ("summary.csv", "differences.csv", "outcomes.csv", "same_firm_outcomes.csv"):
        assert (two.path / name).read_bytes() == (out / name).read_bytes(), name
    # Lose one finished run and its summaries, as a kill would: the same command restores the same bytes.
    (two.path / "measures" / "run-000004.parquet").unlink()
    (two.path / "summary.csv").unlink()
    resumed = compare(["big", "open_market"], replicates=3, steps=24, workers=1, out=two.path, progress=False)
    for name in ("summary.csv", "differences.csv"):
        assert (resumed.path / name).read_bytes() == (out / name).read_bytes(), name
