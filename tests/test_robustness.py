"""Paired sweeps: every point run in a second scenario on the same seeds, the outcome the same firms' difference.

The robustness sweep (scenarios/sweep_robustness.toml) asks where the
B.I.G.'s same-firm advantage over the open market holds; its outcome is a
paired difference, which a sweep with a ``paired`` scenario produces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.plan import replicate_seeds
from analysis.sensitivity import SensitivityError, paired_outcomes, paired_share, same_firm_difference, sensitivity
from analysis.sweeps import sweep_plan
from sim import CooperationModel

PRODUCERS = ["GEFERTEC", "flying-parts", "Scansonic MI", "Metrolux", "PGS", "Lumics"]

PAIRED_SWEEP = """\
name = "paired"
base = "big"
paired = "open_market"
replicates = 2
seed = 3
steps = 8

[sampler]
method = "sobol"
samples = 1

[parameters.service_fee]
path = "group.service_fee"
paired_paths = []
range = [0.4, 1.2]

[parameters.overhead_fixed]
path = "market.overhead_fixed"
range = [2.0, 10.0]

[record]
last_only = true
window = 3

[sensitivity]
outcomes = ["same_firm_profit_difference"]
"""


def same_firm_profit(scenario: str, seed: int, window: int, **overrides: float) -> float:
    """The six producers' mean over firms of their mean profit over a run's last ``window`` months."""
    model = CooperationModel(scenario, seed=seed, steps=8, **overrides)
    while model.running:
        model.step()
    focal = model.datacollector.get_table_dataframe("focal_firms")
    last = focal[focal["firm"].isin(PRODUCERS) & (focal["step"] > focal["step"].max() - window)]
    return float(last.groupby("firm")["profit"].mean().mean())


def test_a_paired_sweep_runs_every_point_in_both_scenarios_on_the_same_seeds(tmp_path: Path) -> None:
    file = tmp_path / "paired.toml"
    file.write_text(PAIRED_SWEEP)
    out = tmp_path / "out"
    assert main(["sweep", str(file), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    diffs = paired_outcomes(out)
    assert len(diffs) == 4 * 2  # 1 x (2 + 2) points, 2 replicates
    # One run worked out directly: point 1, replicate 1, in both scenarios.
    plan = sweep_plan(file)
    values = plan.points.values[1]  # type: ignore[attr-defined]
    seed = replicate_seeds(3, 2)[1]
    group = same_firm_profit(
        "big", seed, 3, group__service_fee=values["service_fee"], market__overhead_fixed=values["overhead_fixed"]
    )
    market = same_firm_profit("open_market", seed, 3, market__overhead_fixed=values["overhead_fixed"])
    row = diffs[(diffs["point"] == 1) & (diffs["replicate"] == 1)]
    assert row["same_firm_profit_difference"].item() == pytest.approx(group - market)
    # The indices are computed on that difference.
    table = pd.read_csv(out / "sensitivity.csv")
    assert set(table["outcome"]) == {"same_firm_profit_difference"}
    assert set(table["parameter"]) == {"service_fee", "overhead_fixed"}
    again = sensitivity(out, ["same_firm_profit_difference"])
    assert np.allclose(again["ST"], table["ST"])


def test_a_paired_sweep_resumes_both_halves(tmp_path: Path) -> None:
    file = tmp_path / "paired.toml"
    file.write_text(PAIRED_SWEEP)
    out = tmp_path / "out"
    assert main(["sweep", str(file), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    before = paired_outcomes(out)
    lost = list((out / "paired").glob("*/run-00000[0-3].parquet"))  # an interruption: four partner runs never stored
    assert len(lost) == 3 * 4  # measures, cooperations and focal firms of each
    for stored in lost:
        stored.unlink()
    assert main(["sweep", str(file), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert all(stored.exists() for stored in lost)
    pd.testing.assert_frame_equal(paired_outcomes(out), before)


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (('paired = "open_market"\n', ""), ["parameters.service_fee", "`paired_paths` needs a `paired` scenario"]),
        (("paired_paths = []\n", ""), ["parameters.service_fee.paired_paths", "open_market", "group"]),
        (('paired = "open_market"', 'paired = "atlantis"'), ["paired", "atlantis", "cannot load the paired"]),
        (
            ('["same_firm_profit_difference"]', '["same_firm_happiness_difference"]'),
            ["same_firm_happiness_difference", "same_firm_profit_difference"],
        ),
    ],
)
def test_bad_paired_sweeps_exit_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], fragments: list[str]
) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(PAIRED_SWEEP.replace(*change))
    out = tmp_path / "out"
    assert main(["sweep", str(file), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kreislauf: error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not (out / "manifest.json").exists()


def test_paired_outcomes_need_paired_runs(tmp_path: Path) -> None:
    with pytest.raises(SensitivityError, match="no paired runs"):
        paired_outcomes(tmp_path)


def test_same_firm_difference_averages_firms_then_differences_by_run() -> None:
    here = pd.DataFrame(
        {
            "point": [0, 0, 0, 1, 1, 1],
            "replicate": 0,
            "firm": ["A", "B", "X", "A", "B", "X"],
            "profit": [2.0, 4.0, 50.0, 1.0, 1.0, 50.0],
            "trust_received": [0.5, np.nan, 0.9, 0.6, 0.8, 0.9],
        }
    )
    there = pd.DataFrame(
        {
            "point": [0, 0, 1, 1],
            "replicate": 0,
            "firm": ["A", "B", "A", "B"],
            "profit": [1.0, 1.0, 3.0, 3.0],
            "trust_received": [0.4, 0.4, 0.5, 0.5],
        }
    )
    d = same_firm_difference(here, there, ["profit", "trust_received"]).set_index("point")
    assert d.loc[0, "same_firm_profit_difference"] == pytest.approx(3.0 - 1.0)  # X is not in both
    assert d.loc[1, "same_firm_profit_difference"] == pytest.approx(1.0 - 3.0)
    assert d.loc[0, "same_firm_trust_received_difference"] == pytest.approx(0.5 - 0.4)  # B's missing trust left out
    with pytest.raises(SensitivityError, match="share no focal firm"):
        same_firm_difference(here[here["firm"] == "X"], there, ["profit"])


def test_paired_share_of_points_with_a_positive_difference() -> None:
    runs = pd.DataFrame({"point": [0, 0, 1, 1, 2, 2, 3], "d": [1.0, 1.01, 0.5, -0.3, -1.0, -1.02, 2.0]})
    share = paired_share(runs, "d")
    assert share["points"] == 4
    assert share["positive"] == pytest.approx(3 / 4)  # means 1.005, 0.1, -1.01, 2.0
    assert share["surely_positive"] == pytest.approx(1 / 4)  # point 3 has one run: no interval
    assert share["surely_negative"] == pytest.approx(1 / 4)
