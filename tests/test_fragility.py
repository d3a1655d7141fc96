"""Fragility as a mechanism to test: generalised trust carries a breach beyond the breaching firm's partners."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import CooperationModel, rules
from sim.scenario import TraitChangeEvent

units = st.floats(0.0, 1.0, allow_nan=False)


@given(units, st.floats(0.01, 1.0), units, units)
def test_the_climate_factor_lies_between_one_minus_contagion_and_one_and_rises_with_the_climate(
    climate: float, start: float, other: float, contagion: float
) -> None:
    factor = rules.climate_factor(climate, start, contagion)
    assert 1.0 - contagion - 1e-12 <= factor <= 1.0
    if climate <= other:
        assert factor <= rules.climate_factor(other, start, contagion)
    assert rules.climate_factor(climate, start, 0.0) == 1.0  # contagion 0: no channel


def test_without_contagion_members_keep_all_their_trust_whatever_the_breach() -> None:
    model = CooperationModel("fragility", seed=1, steps=60, group__contagion=0.0)
    while model.running:
        model.step()
        assert model.ledger.kept_by_members == 1.0


def bystander_trust(seed: int, integrity: float | None, **overrides: float) -> float:
    model = CooperationModel("big", seed=seed, steps=72, **overrides)
    if integrity is not None:
        model.schedule.add(
            TraitChangeEvent(kind="trait_change", step=36, firm="Metrolux", trait="integrity", value=integrity)
        )
    while model.running:
        model.step()
    return float(model.measures_frame()["bystander_trust"].iloc[37:].mean())


@pytest.mark.slow
def test_spill_over_to_bystanders_rises_with_the_breach_size() -> None:
    """Paired seeds, breach sizes 0, 1/2 and 1 of Metrolux's integrity 0.8; prints the spill-over.

    The group's reviews are switched off to isolate the channel: with them, the
    group lets a breacher go within one or two reviews, and the climate recovers
    without it (printed too, not asserted).
    """
    seeds = range(1, 5)
    for reviews in (0, 12):
        base = np.array([bystander_trust(s, None, group__review_period=reviews) for s in seeds])
        half = np.array([bystander_trust(s, 0.4, group__review_period=reviews) for s in seeds]) - base
        full = np.array([bystander_trust(s, 0.0, group__review_period=reviews) for s in seeds]) - base
        print(
            f"reviews every {reviews} months: bystanders' trust received after the breach "
            f"{half.mean():+.4f} (half), {full.mean():+.4f} (full)"
        )
        if reviews == 0:
            assert full.mean() < half.mean() < 0
            assert np.all(full < 0), full
