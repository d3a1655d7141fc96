"""Mesa's conventions for the model, as Mesa users read them."""

from __future__ import annotations

import pydoc

import mesa

from sim import CooperationModel


def test_batch_run_iterations_without_seeds_are_distinct_runs() -> None:
    results = mesa.batch_run(
        CooperationModel,
        parameters={"scenario": "classroom"},
        iterations=3,
        max_steps=24,
        number_processes=1,
        display_progress=False,
    )
    assert len(results) == 3
    assert len({round(r["mean_trust"], 12) for r in results}) == 3


def test_a_model_without_a_seed_records_the_seed_it_drew_so_it_can_be_repeated() -> None:
    a, b = CooperationModel("classroom"), CooperationModel("classroom")
    assert a.seed != b.seed
    again = CooperationModel("classroom", seed=a.seed)
    for model in (a, again):
        for _ in range(12):
            model.step()
    assert a.measures_frame().equals(again.measures_frame())


def test_the_scenario_seed_still_repeats_a_run() -> None:
    """What `kreislauf run` relies on: an explicit seed (the scenario's by default) repeats the run exactly."""
    a, b = CooperationModel("classroom", seed=7), CooperationModel("classroom", seed=7)
    for model in (a, b):
        for _ in range(12):
            model.step()
    assert a.seed == b.seed == 7 and a.measures_frame().equals(b.measures_frame())


def test_help_shows_the_models_own_documentation() -> None:
    text = pydoc.render_doc(CooperationModel, renderer=pydoc.plaintext)
    assert "Overload this method" not in text
    assert "scenario" in (CooperationModel.__init__.__doc__ or "")
