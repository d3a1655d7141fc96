"""Run one scenario and write everything needed to read and reproduce it.

A results folder holds:

- ``measures.parquet`` / ``measures.csv``: one row per step (0 is the start),
  one column per measure (see :data:`sim.measures.MEASURES`);
- ``cooperations.parquet`` / ``.csv``: the cooperation log, one row per
  cooperation that found a partner or ended, with phase durations, value,
  outcome and reason;
- ``focal_firms.parquet`` / ``.csv``: the six B.I.G. producers (or the
  scenario's focal firms) step by step;
- ``network.gexf`` and ``network.graphml``: the final network with firm and
  cooperation attributes, for Gephi;
- ``scenario.toml``: the fully resolved scenario with the run's seed and
  horizon, so ``kreislauf run <folder>/scenario.toml`` repeats the run;
- ``run.json``: seed, horizon, package and library versions.

Every file is written to a temporary name and renamed into place, so a
folder never holds half a file. Nothing records the time of day: the same
scenario and seed give byte-identical folders.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import networkx as nx
import numpy as np
import pandas as pd

import sim
from sim import CooperationModel, Scenario, load_scenario
from sim.network import write_network

__all__ = ["RunResult", "run_scenario", "write_run"]


@dataclass
class RunResult:
    """The outcome of one run: its scenario, seed and tables, and the model at the end."""

    scenario: Scenario
    seed: int
    measures: pd.DataFrame
    cooperations: pd.DataFrame
    focal: pd.DataFrame
    model: CooperationModel


def run_scenario(
    scenario: str | Path | Scenario,
    seed: int | None = None,
    steps: int | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run a scenario to its horizon.

    Parameters
    ----------
    scenario : str, Path or Scenario
        Built-in name, TOML path or loaded scenario.
    seed : int, optional
        Seed; the scenario's own if not given.
    steps : int, optional
        Horizon in months; the scenario's own if not given. Events scheduled
        after a shorter horizon are left out (the written scenario says so).
    on_step : callable, optional
        Called as ``on_step(step, total)`` after each month (progress display).

    Returns
    -------
    RunResult
    """
    loaded = load_scenario(scenario)
    if steps is not None:
        loaded = loaded.until(steps)
    if seed is not None:
        loaded = loaded.with_overrides({"seed": seed}, source="--seed")
    model = CooperationModel(loaded)
    while model.running:
        model.step()
        if on_step is not None:
            on_step(model.steps, loaded.steps)
    focal = model.datacollector.get_table_dataframe("focal_firms")
    return RunResult(loaded, model.seed, model.measures_frame(), model.cooperation_log(), focal, model)


def write_run(result: RunResult, folder: Path) -> list[Path]:
    """Write a run's results folder (see the module docstring); return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, frame in (
        ("measures", result.measures),
        ("cooperations", result.cooperations),
        ("focal_firms", result.focal),
    ):
        written += write_table(frame, folder / name)
    written += write_network(result.model, folder)
    written.append(write_text(folder / "scenario.toml", _scenario_header(result) + result.scenario.resolved_toml()))
    written.append(write_text(folder / "run.json", json.dumps(run_info(result), indent=2, sort_keys=True) + "\n"))
    return written


def write_table(frame: pd.DataFrame, stem: Path) -> list[Path]:
    """Write a table as Parquet and CSV next to each other, atomically."""
    parquet, csv = stem.with_suffix(".parquet"), stem.with_suffix(".csv")
    tmp = parquet.with_name(f".{parquet.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, parquet)
    write_text(csv, frame.to_csv(index=False, lineterminator="\n"))
    return [parquet, csv]


def write_text(path: Path, text: str) -> Path:
    """Write a text file atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def run_info(result: RunResult) -> dict[str, Any]:
    """What is needed to repeat the run, and with which software it was made."""
    return {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "steps": result.scenario.steps,
        "kreislauf": sim.__version__,
        "python": platform.python_version(),
        "mesa": mesa.__version__,
        "numpy": np.__version__,
        "networkx": nx.__version__,
        "pandas": pd.__version__,
        "repeat": "kreislauf run scenario.toml",
    }


def _scenario_header(result: RunResult) -> str:
    return (
        f"# Fully resolved scenario of a kreislauf {sim.__version__} run: every default written out.\n"
        f"# Repeat the run with: kreislauf run scenario.toml  (seed {result.seed}, {result.scenario.steps} steps)\n\n"
    )
