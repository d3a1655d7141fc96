"""Seeded regression against a golden baseline.

The files in ``tests/golden/`` are what fixed scenarios and seeds produced
when the baseline was last set; only ``python scripts/update_golden.py``
rewrites them, on purpose. Any unintended change to the model's results
fails here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim import CooperationModel

GOLDEN = Path(__file__).resolve().parent / "golden"
#: (scenario, seed, steps)
CASES = [("classroom", 1, 60), ("big", 1, 60), ("open_market", 7, 48)]


def golden_frames(scenario: str, seed: int, steps: int) -> dict[str, pd.DataFrame]:
    """The tables a case is compared on, by golden file name."""
    model = CooperationModel(scenario, seed=seed, steps=steps)
    while model.running:
        model.step()
    stem = f"{scenario}-seed{seed}"
    return {f"{stem}-measures.csv": model.measures_frame(), f"{stem}-cooperations.csv": model.cooperation_log()}


@pytest.mark.parametrize(("scenario", "seed", "steps"), CASES)
def test_results_match_the_golden_baseline(scenario: str, seed: int, steps: int) -> None:
    for name, frame in golden_frames(scenario, seed, steps).items():
        expected = pd.read_csv(GOLDEN / name, keep_default_na=False, na_values=[""])
        actual = pd.read_csv(
            pd.io.common.StringIO(frame.to_csv(index=False, float_format="%.12g")),
            keep_default_na=False,
            na_values=[""],
        )
        pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=1e-9, atol=1e-9, obj=name)
