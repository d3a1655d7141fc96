"""Sensitivity indices of a sweep's outcomes: Sobol (variance-based) and Morris (elementary effects).

A sweep sampled with ``sobol`` or ``morris`` stores its design in the
manifest; here each point's outcome (the mean over its replicates of the
runs' outcomes, see :func:`analysis.statistics.run_outcomes`) is handed to
SALib's analysers in the sampler's order.

- **Sobol** (Sobol 2001; Saltelli et al. 2010): first-order index ``S1`` (the
  share of the outcome's variance due to the parameter alone) and total index
  ``ST`` (its share including all interactions), each with a bootstrap 95%
  confidence half-width. A parameter with ``ST`` near zero does not matter
  for this outcome over the swept ranges.
- **Morris** (Morris 1991; Campolongo et al. 2007): ``mu_star`` (the mean
  absolute elementary effect: overall influence), its 95% half-width, and
  ``sigma`` (their spread: interactions or non-linearity).

References
----------
.. [1] Sobol (2001). Global sensitivity indices for nonlinear mathematical
   models and their Monte Carlo estimates. *Mathematics and Computers in
   Simulation* 55, 271-280.
.. [2] Saltelli, Annoni, Azzini, Campolongo, Ratto & Tarantola (2010).
   Variance based sensitivity analysis of model output. *Computer Physics
   Communications* 181, 259-270.
.. [3] Campolongo, Cariboni & Saltelli (2007). An effective screening design
   for sensitivity analysis of large models. *Environmental Modelling &
   Software* 22, 1509-1518.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.store import FolderError

__all__ = ["SensitivityError", "indices", "sensitivity"]

#: Bootstrap resamples for the confidence intervals.
RESAMPLES = 1000


class SensitivityError(ValueError):
    """Sensitivity analysis cannot be done on these results (wrong sampler, unknown outcome, missing runs)."""


def indices(
    design: Mapping[str, Any], x: np.ndarray, y: np.ndarray, outcome: str = "outcome", seed: int = 1
) -> pd.DataFrame:
    """Sobol or Morris indices of ``y`` over the sampled design.

    Parameters
    ----------
    design : mapping
        The sampler's design as stored in a manifest: ``method`` ("sobol" or
        "morris"), ``problem`` (SALib's), ``levels``, ``second_order``.
    x : ndarray, shape (points, parameters)
        The sampled rows, in the sampler's order.
    y : ndarray, shape (points,)
        The outcome at each row.
    outcome : str
        Named in the table.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    DataFrame
        One row per parameter: ``outcome``, ``parameter``, then ``S1``,
        ``S1_conf``, ``ST``, ``ST_conf`` (Sobol) or ``mu_star``,
        ``mu_star_conf``, ``sigma``, ``mu`` (Morris); ``*_conf`` are 95%
        half-widths.
    """
    from SALib.analyze import morris, sobol

    problem = dict(design["problem"])
    names = list(problem["names"])
    if np.isnan(y).any():
        raise SensitivityError(f"{int(np.isnan(y).sum())} of {len(y)} points have no value of {outcome!r}")
    if design["method"] == "sobol":
        res = sobol.analyze(
            problem,
            y,
            calc_second_order=bool(design.get("second_order", False)),
            num_resamples=RESAMPLES,
            conf_level=0.95,
            seed=seed,
        )
        columns = ["S1", "S1_conf", "ST", "ST_conf"]
    elif design["method"] == "morris":
        res = morris.analyze(
            problem, x, y, num_resamples=RESAMPLES, conf_level=0.95, num_levels=int(design["levels"]), seed=seed
        )
        columns = ["mu_star", "mu_star_conf", "sigma", "mu"]
    else:
        raise SensitivityError(f"sensitivity indices need a sobol or morris sweep, not {design['method']!r}")
    table = pd.DataFrame({"outcome": outcome, "parameter": names})
    for c in columns:
        table[c] = np.asarray(res[c], dtype=float)
    return table


def sensitivity(results: str | Path, outcomes: Sequence[str], window: int | None = None) -> pd.DataFrame:
    """Sensitivity indices of outcomes in a sobol or morris sweep's results folder.

    Parameters
    ----------
    results : str or Path
        The sweep's results folder.
    outcomes : sequence of str
        Measures to analyse.
    window : int, optional
        Months at the end of each run averaged into its outcome (default: the sweep's).

    Returns
    -------
    DataFrame
        The tables of :func:`indices` for each outcome, one under the other.

    Raises
    ------
    SensitivityError
        When the folder is not such a sweep, an outcome was not recorded, or
        some point has no finished run.
    """
    from analysis.experiments import Experiment

    path = Path(results)
    try:
        experiment = Experiment(path, window)
    except FolderError as exc:
        raise SensitivityError(str(exc)) from None
    manifest = experiment.folder.manifest
    design = manifest.get("design", {})
    if experiment.kind != "sweep" or design.get("method") not in ("sobol", "morris"):
        raise SensitivityError(
            f"{path}: sensitivity indices need the results of a sobol or morris sweep, "
            f"not of a {design.get('method', experiment.kind)!r} {experiment.kind}"
        )
    runs = experiment.outcomes
    if runs.empty:
        raise SensitivityError(f"{path}: no finished runs")
    missing = [o for o in outcomes if o not in runs.columns]
    if missing:
        raise SensitivityError(f"{path}: outcome(s) {missing} not recorded; recorded are {experiment.measure_names}")
    x = np.array([p["sample"] for p in manifest["points"]], dtype=float)
    tables = []
    for outcome in outcomes:
        per_point = runs.groupby("point")[outcome].mean().reindex(range(len(x)))
        if per_point.isna().any():
            lacking = per_point.index[per_point.isna()].tolist()
            raise SensitivityError(
                f"{path}: {len(lacking)} point(s) have no finished run with a value of {outcome!r} "
                f"(first: {lacking[:5]}); finish the sweep first"
            )
        tables.append(indices(design, x, per_point.to_numpy(), outcome, seed=int(design.get("seed", 1))))
    return pd.concat(tables, ignore_index=True)
