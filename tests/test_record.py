"""A run records the measures it is asked for, with the values a run recording all of them gets."""

from __future__ import annotations

import pytest

from sim import CooperationModel
from sim.observe.measures import DEAR_MEASURES, MEASURES


def _frame(record=None, scenario="classroom"):
    model = CooperationModel(scenario, seed=5, steps=24, record=record)
    while model.running:
        model.step()
    return model.measures_frame()


def test_by_default_every_measure_is_recorded_in_order() -> None:
    assert list(_frame().columns) == ["step", *MEASURES]


def test_a_run_recording_some_measures_has_those_columns_with_the_same_values() -> None:
    full = _frame()
    asked = ["trust_p90", "firms", "clustering", "mean_trust", "capital_gini"]
    some = _frame(asked)
    assert list(some.columns) == ["step", "firms", "mean_trust", "trust_p90", "clustering", "capital_gini"]
    assert some.equals(full[some.columns])  # the same numbers, NaN where the full run has NaN
    assert some["trust_p90"].notna().any() and some["clustering"].notna().any()


def test_measures_not_recorded_are_not_computed() -> None:
    model = CooperationModel("classroom", seed=5, record=["firms", "mean_trust"])
    for _ in range(12):
        model.step()
    assert model.measures.current["mean_trust"] == model.measures.current["mean_trust"]  # computed: not NaN
    for name in DEAR_MEASURES:
        assert model.measures.current[name] != model.measures.current[name]  # left NaN


def test_an_unknown_measure_is_named() -> None:
    with pytest.raises(ValueError, match=r"'trust_p95'.*known are firms"):
        CooperationModel("classroom", seed=1, record=["firms", "trust_p95"])
