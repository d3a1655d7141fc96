"""Scenario discovery: where in a sweep's parameter space a condition holds, found with PRIM.

``kreislauf discover RESULTS --outcome M --where "M < 0"`` reads a sweep's
results folder, takes each point's mean outcome over its replicates, marks
the points where the condition holds, and finds a box in parameter space
(ranges of a few parameters) that holds many of them, with the Patient Rule
Induction Method (PRIM; Friedman & Fisher 1999) of the EMA Workbench
(Kwakkel 2017). PRIM peels thin slices off the box, one parameter at a time,
each time the slice whose removal raises the share of marked points most; the
**peeling trajectory** lists every box on the way with its

- **coverage**: the share of all marked points that lie in the box;
- **density**: the share of the box's points that are marked.

The chosen box is the densest on the trajectory that keeps at least
``coverage`` (default 0.8) of the marked points. The EMA Workbench is
imported only here, and only when a discovery runs (it is the ``discover``
extra: ``pip install "kreislauf[discover]"``).

A where-clause is read by a small grammar, never evaluated as code:
``MEASURE OP NUMBER``, with ``OP`` one of ``<``, ``<=``, ``>``, ``>=``.

Besides the sweep's recorded measures, a sweep with a ``compare_to``
scenario offers ``M_vs_reference``: the point's mean of ``M`` minus the
reference scenario's on the same seeds (for example the open market's
distance to the B.I.G.).

References
----------
Friedman, J. H., & Fisher, N. I. (1999). Bump hunting in high-dimensional data. Statistics and Computing 9, 123-143.
Kwakkel, J. H. (2017). The Exploratory Modeling Workbench. Environmental Modelling & Software 96, 239-250.
"""

from __future__ import annotations

import math
import operator
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.experiments import Experiment
from analysis.runs import write_table

__all__ = [
    "Condition",
    "DiscoverError",
    "Discovery",
    "choose_box",
    "discover",
    "discovery_table",
    "parse_where",
    "prim_boxes",
]

#: PRIM's threshold. The workbench counts the cases with ``y >= threshold`` as the cases of interest and
#: replaces a final box less dense than it by the whole space, losing the trajectory; with a 0/1 outcome a
#: tiny threshold keeps exactly the marked points as cases of interest and every box, and the box is chosen
#: here (:func:`choose_box`).
_THRESHOLD = 1e-9

#: Suffix of a measure's difference from the sweep's compare_to scenario.
VS_REFERENCE = "_vs_reference"

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_WHERE = re.compile(
    r"^\s*(?P<measure>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op><=|>=|<|>)\s*"
    r"(?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


class DiscoverError(ValueError):
    """Input a discovery cannot use: a bad where-clause, an unknown measure, a folder that is not a sweep's."""


@dataclass(frozen=True)
class Condition:
    """A parsed where-clause: ``measure op value``."""

    measure: str
    op: str
    value: float

    def holds(self, values: np.ndarray | pd.Series) -> np.ndarray:
        """Where the condition holds (never where the value is missing)."""
        x = np.asarray(values, dtype=float)
        return np.asarray(_OPS[self.op](x, self.value)) & ~np.isnan(x)

    def __str__(self) -> str:
        return f"{self.measure} {self.op} {self.value:g}"


def parse_where(text: str) -> Condition:
    """Read a where-clause ``MEASURE OP NUMBER``; nothing in it is run as code.

    Raises
    ------
    DiscoverError
        When the text is not of that form, or the number is not finite.

    Examples
    --------
    >>> parse_where("producer_profit < -1.5e1")
    Condition(measure='producer_profit', op='<', value=-15.0)
    >>> parse_where("__import__('os') < 1")
    Traceback (most recent call last):
    ...
    analysis.discover.DiscoverError: --where "__import__('os') < 1": write MEASURE OP NUMBER, with OP one of <, <=, >, >= (e.g. "producer_profit < 0")
    """
    match = _WHERE.match(text) if len(text) <= 200 else None
    if match is None:
        shown = text if len(text) <= 60 and text.isprintable() else repr(text[:60])
        raise DiscoverError(
            f'--where "{shown}": write MEASURE OP NUMBER, with OP one of <, <=, >, >= (e.g. "producer_profit < 0")'
        )
    value = float(match["number"])
    if not math.isfinite(value):
        raise DiscoverError(f'--where "{text}": the number must be finite')
    return Condition(match["measure"], match["op"], value)


def point_outcomes(experiment: Experiment) -> tuple[pd.DataFrame, list[str]]:
    """Each sweep point's parameters and mean outcomes over its replicates (and the differences from the reference).

    Returns
    -------
    DataFrame, list of str
        One row per point (``point``, the parameters, the measures), and the parameter names.
    """
    params = experiment.folder.parameter_names
    outcomes = experiment.outcomes
    measures = [c for c in outcomes.columns if c not in {*experiment.folder.keys, "step"}]
    means = outcomes.groupby("point")[measures].mean()
    reference = experiment.reference
    if reference is not None and len(reference.outcomes):
        ref = reference.outcomes.set_index("replicate")
        shared = [m for m in measures if m in ref.columns]
        paired = outcomes.set_index("replicate")[shared] - ref[shared].reindex(outcomes["replicate"]).to_numpy()
        paired = paired.assign(point=outcomes["point"].to_numpy()).groupby("point").mean()
        means = means.join(paired.add_suffix(VS_REFERENCE))
    points = pd.DataFrame([{"point": p["point"], **p["parameters"]} for p in experiment.folder.manifest["points"]])
    table = points.merge(means.reset_index(), on="point", how="inner")
    return table, params


def prim_boxes(x: pd.DataFrame, y: np.ndarray, peel_alpha: float = 0.05) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Run PRIM (the EMA Workbench's) and return its peeling trajectory and every box's limits.

    Parameters
    ----------
    x : DataFrame
        One row per case, one column per parameter (numbers; text and true/false become categories).
    y : array of bool
        Where the condition holds.
    peel_alpha : float
        Share of the cases peeled off at each step.

    Returns
    -------
    DataFrame, list of DataFrame
        The trajectory (``coverage``, ``density``, ``mass``, ``res_dim``, ``n`` per box, from the whole space
        on), and each box's limits (rows ``min`` and ``max``, one column per parameter).
    """
    with warnings.catch_warnings():  # the workbench warns on import about optional parallel back ends
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    x = x.copy()
    for c in x.columns:
        if x[c].dtype == bool or x[c].dtype == object:
            x[c] = x[c].astype(str).astype("category")
        else:
            x[c] = x[c].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finder = prim.Prim(x, np.asarray(y, dtype=bool), threshold=_THRESHOLD, peel_alpha=peel_alpha)
        box = finder.find_box()
    trajectory = box.peeling_trajectory.copy()
    cols = [c for c in ("id", "coverage", "density", "mass", "res_dim", "n", "k") if c in trajectory.columns]
    limits = [lims.copy().set_axis(["min", "max"]) for lims in box.box_lims]
    return trajectory[cols].reset_index(drop=True), limits


def choose_box(trajectory: pd.DataFrame, coverage: float) -> int:
    """The step of the densest box on the trajectory that keeps at least ``coverage`` (the larger coverage on ties).

    Examples
    --------
    >>> t = pd.DataFrame({"coverage": [1.0, 0.9, 0.7], "density": [0.3, 0.6, 0.9]})
    >>> choose_box(t, 0.8), choose_box(t, 0.5), choose_box(t, 1.0)
    (1, 2, 0)
    """
    eligible = trajectory[trajectory["coverage"] >= coverage - 1e-12]
    return int(eligible.sort_values(["density", "coverage"], ascending=False, kind="stable").index[0])


@dataclass
class Discovery:
    """The result of a discovery.

    Attributes
    ----------
    path : Path
        Where its tables and report are.
    condition : Condition
        The where-clause.
    points : DataFrame
        The sweep's points: parameters, the outcome, and ``holds``.
    trajectory : DataFrame
        The peeling trajectory; ``chosen`` marks the chosen box.
    box : DataFrame
        The chosen box: per parameter its range in the box and in the sweep, and whether the box restricts it.
    chosen : int
        The chosen box's step on the trajectory.
    """

    path: Path
    condition: Condition
    points: pd.DataFrame
    trajectory: pd.DataFrame
    box: pd.DataFrame
    chosen: int


def discover(
    results: str | Path,
    outcome: str,
    where: str,
    coverage: float = 0.8,
    peel_alpha: float = 0.05,
    out: str | Path | None = None,
) -> Discovery:
    """Find where in a sweep's parameter space ``where`` holds, with PRIM; write tables and ``report.html``.

    Parameters
    ----------
    results : str or Path
        A sweep's results folder.
    outcome : str
        The measure the where-clause tests (a recorded measure, or ``M_vs_reference``).
    where : str
        ``MEASURE OP NUMBER`` (see :func:`parse_where`); its measure must be ``outcome``.
    coverage : float
        The chosen box keeps at least this share of the points where the condition holds.
    peel_alpha : float
        Share of the points PRIM peels off at each step.
    out : str or Path, optional
        Folder for the tables and report (default ``RESULTS/discover-OUTCOME``).

    Raises
    ------
    DiscoverError
        Bad where-clause, unknown measure, not a sweep's folder, a condition that holds nowhere or everywhere.
    """
    condition = parse_where(where)
    if condition.measure != outcome:
        raise DiscoverError(f"--where names {condition.measure!r} but --outcome is {outcome!r}; test the outcome")
    if not 0 < coverage <= 1:
        raise DiscoverError(f"--coverage must lie above 0 and at most 1, not {coverage}")
    if not 0 < peel_alpha < 1:
        raise DiscoverError(f"peel_alpha must lie between 0 and 1, not {peel_alpha}")
    experiment = Experiment(results)
    if experiment.kind != "sweep":
        raise DiscoverError(f"{results}: discover needs a sweep's results folder; this one holds a {experiment.kind}")
    table, params = point_outcomes(experiment)
    measures = [c for c in table.columns if c not in {"point", *params}]
    if outcome not in measures:
        raise DiscoverError(f"--outcome: unknown measure {outcome!r}; this sweep has {', '.join(measures)}")
    holds = condition.holds(table[outcome])
    if not holds.any() or holds.all():
        where_word = "no" if not holds.any() else "every"
        lo, hi = np.nanmin(table[outcome]), np.nanmax(table[outcome])
        raise DiscoverError(
            f"--where {condition}: holds at {where_word} point of the sweep ({outcome} ranges from {lo:.4g} to "
            f"{hi:.4g} over {len(table)} points), so there is no box to find"
        )
    trajectory, limits = prim_boxes(table[params], holds, peel_alpha)
    chosen = choose_box(trajectory, coverage)
    trajectory = trajectory.assign(chosen=trajectory.index == chosen)
    whole, lims = limits[0], limits[chosen]
    rows = []
    for p in params:
        restricted = not whole[p].equals(lims[p])
        rows.append(
            {
                "parameter": p,
                "box_min": lims[p]["min"] if not isinstance(lims[p]["min"], set) else str(sorted(lims[p]["min"])),
                "box_max": lims[p]["max"] if not isinstance(lims[p]["max"], set) else str(sorted(lims[p]["max"])),
                "sweep_min": whole[p]["min"] if not isinstance(whole[p]["min"], set) else str(sorted(whole[p]["min"])),
                "sweep_max": whole[p]["max"] if not isinstance(whole[p]["max"], set) else str(sorted(whole[p]["max"])),
                "restricted": restricted,
            }
        )
    box = pd.DataFrame(rows)
    points = table[["point", *params, outcome]].assign(holds=holds)
    path = Path(out) if out is not None else Path(results) / f"discover-{outcome}"
    result = Discovery(path, condition, points, trajectory, box, chosen)
    path.mkdir(parents=True, exist_ok=True)
    for name in ("points", "trajectory", "box"):
        write_table(getattr(result, name), path / name)
    from analysis.discover_report import write_discover_report

    write_discover_report(result)
    return result


def discovery_table(result: Discovery) -> str:
    """The terminal summary: the chosen box, its coverage and density, and the trajectory's shape."""
    t = result.trajectory
    row = t.loc[result.chosen]
    held = int(result.points["holds"].sum())
    lines = [
        f"where {result.condition}: {held} of {len(result.points)} sweep points (mean over replicates)",
        f"chosen box (step {result.chosen} of {len(t) - 1} on the peeling trajectory): coverage {row['coverage']:.0%} "
        f"(share of those points inside), density {row['density']:.0%} (share of the box's points where it holds), "
        f"{int(row['n'])} points inside"
        if "n" in t.columns
        else "",
    ]
    for _, b in result.box[result.box["restricted"]].iterrows():
        lines.append(
            f"  {b['parameter']}: {_fmt(b['box_min'])} to {_fmt(b['box_max'])} (swept {_fmt(b['sweep_min'])} to {_fmt(b['sweep_max'])})"
        )
    if not result.box["restricted"].any():
        lines.append("  no parameter restricted: the whole swept space")
    lines.append(
        "peeling trajectory: "
        + ", ".join(f"{c:.0%}/{d:.0%}" for c, d in zip(t["coverage"], t["density"], strict=True))
        + " (coverage/density)"
    )
    return "\n".join(line for line in lines if line)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float | int | np.floating) else str(value)
