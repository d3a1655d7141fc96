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

A sweep with a ``paired`` scenario (see :mod:`analysis.sweeps`) has a
partner run for every run, on the same seed and parameter values, in its
``paired/`` folder. Its outcomes include the paired same-firm differences
(:func:`paired_outcomes`: ``same_firm_profit_difference`` and so on, the
mean over the firms both scenarios contain of the firm's outcome here minus
there), and :func:`paired_share` tells in what share of the swept space such
a difference is positive.

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

__all__ = ["SensitivityError", "indices", "paired_outcomes", "paired_share", "same_firm_difference", "sensitivity"]

#: Bootstrap resamples for the confidence intervals.
RESAMPLES = 1000

#: Suffix of a paired same-firm difference (``same_firm_profit_difference``).
DIFFERENCE = "_difference"


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
    if any(o not in runs.columns and o.endswith(DIFFERENCE) for o in outcomes) and design.get("paired"):
        runs = runs.merge(paired_outcomes(path, window), on=["point", "replicate"], how="left")
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


def same_firm_difference(here: pd.DataFrame, there: pd.DataFrame, measures: Sequence[str]) -> pd.DataFrame:
    """Paired same-firm differences of two sets of runs, matched on point and replicate.

    Parameters
    ----------
    here, there : DataFrame
        One row per run and firm (columns ``point``, ``replicate``, ``firm``
        and the measures): the firms' outcomes in the two scenarios.
    measures : sequence of str
        Columns to difference.

    Returns
    -------
    DataFrame
        One row per (point, replicate) found on both sides: for each measure,
        ``same_firm_<measure>_difference``, the mean over the firms present in
        both tables of the measure here, minus that mean there. A firm's
        missing value (the trust it receives without partners) is left out of
        its side's mean.

    Examples
    --------
    Two firms in both scenarios; C only here, so it is left out:

    >>> here = pd.DataFrame({"point": 0, "replicate": 0, "firm": ["A", "B", "C"], "profit": [3.0, 5.0, 100.0]})
    >>> there = pd.DataFrame({"point": 0, "replicate": 0, "firm": ["A", "B"], "profit": [1.0, 2.0]})
    >>> same_firm_difference(here, there, ["profit"])
       point  replicate  same_firm_profit_difference
    0      0          0                          2.5
    """
    keys = ["point", "replicate"]
    firms = set(here["firm"]) & set(there["firm"])
    if not firms:
        raise SensitivityError("the two scenarios share no focal firm: no same-firm difference")
    sides = [t[t["firm"].isin(firms)].groupby(keys, sort=True)[list(measures)].mean() for t in (here, there)]
    diff = (sides[0] - sides[1]).dropna(how="all")
    return diff.rename(columns=lambda c: f"same_firm_{c}{DIFFERENCE}").reset_index()


def paired_outcomes(results: str | Path, window: int | None = None) -> pd.DataFrame:
    """Each run's paired same-firm differences in a sweep with a ``paired`` scenario.

    Parameters
    ----------
    results : str or Path
        The sweep's results folder (its partner runs in ``paired/``).
    window : int, optional
        Months at the end of each run averaged into its outcome (default: the sweep's).

    Returns
    -------
    DataFrame
        One row per run with a finished partner: ``point``, ``replicate``,
        then ``same_firm_<measure>_difference`` for each focal-firm measure
        (see :func:`same_firm_difference`).

    Raises
    ------
    SensitivityError
        When the folder has no paired runs.
    """
    from analysis.experiments import FOCAL_OUTCOMES, Experiment

    path = Path(results)
    if not (path / "paired" / "manifest.json").exists():
        raise SensitivityError(f"{path}: no paired runs (a sweep file's `paired` scenario runs into {path / 'paired'})")
    try:
        here, there = Experiment(path, window), Experiment(path / "paired", window)
    except FolderError as exc:
        raise SensitivityError(str(exc)) from None
    if here.focal_outcomes.empty or there.focal_outcomes.empty:
        raise SensitivityError(f"{path}: no finished runs with focal firms on both sides")
    return same_firm_difference(here.focal_outcomes, there.focal_outcomes, FOCAL_OUTCOMES)


def paired_share(per_run: pd.DataFrame, outcome: str, confidence: float = 0.95) -> dict[str, float]:
    """In what share of a sweep's points a paired difference is positive.

    Sobol and Latin-hypercube points fill the swept box evenly, so the share
    of points estimates the share of the space.

    Parameters
    ----------
    per_run : DataFrame
        One row per run: ``point`` and the outcome (as from :func:`paired_outcomes`).
    outcome : str
        The difference to judge.
    confidence : float
        Level of each point's interval over its replicates (Student's t).

    Returns
    -------
    dict
        ``points``; ``positive``: the share of points whose mean difference
        is above 0; ``surely_positive`` and ``surely_negative``: the shares
        whose interval lies wholly above, or wholly below, 0 (points with a
        single replicate have no interval and count in neither).

    Examples
    --------
    >>> runs = pd.DataFrame({"point": [0, 0, 1, 1, 2, 2], "d": [1.0, 1.02, -0.1, 0.3, -2.0, -2.2]})
    >>> {k: round(v, 3) for k, v in paired_share(runs, "d").items()}
    {'points': 3, 'positive': 0.667, 'surely_positive': 0.333, 'surely_negative': 0.333}
    """
    from scipy import stats

    by = per_run.groupby("point")[outcome]
    mean, sd, n = by.mean(), by.std(ddof=1), by.count()
    half = stats.t.ppf(0.5 + confidence / 2, (n - 1).clip(lower=1)) * sd / np.sqrt(n)
    half = half.where(n > 1)
    return {
        "points": len(mean),
        "positive": float((mean > 0).mean()),
        "surely_positive": float((mean - half > 0).mean()),
        "surely_negative": float((mean + half < 0).mean()),
    }
