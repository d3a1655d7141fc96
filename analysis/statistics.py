"""Statistics over replicated runs: outcomes, means with confidence intervals, paired differences.

A run's **outcome** for a measure is its mean over the last ``window`` months
of the run (the steps recorded in that window), so a monthly flow such as
profit is read as a rate over the final year rather than from one noisy
month. Across the replicates of a scenario the outcome has a mean with a
Student-t confidence interval (Student 1908).

Replicate *k* of every scenario runs on the same seed (common random
numbers), so the difference between two scenarios is taken pair by pair: the
mean of the paired differences with a paired-t interval, which is narrower
than the unpaired one whenever the pairs are correlated. The effect size is
the paired Cohen's *d* (Cohen 1988, the *d_z* of paired samples): the mean
of the paired differences over their standard deviation, so it says how
large the difference is against how much it varies from seed to seed. When
the runs hardly vary, that standard deviation is near zero and *d* is large
whatever the size of the gap: such a *d* is flagged (``near_zero_sd``), and
the gap is then judged by its size and interval.

References
----------
.. [1] Student (1908). The probable error of a mean. *Biometrika* 6(1), 1-25.
.. [2] Cohen, J. (1988). *Statistical Power Analysis for the Behavioral
   Sciences*, 2nd ed. Lawrence Erlbaum.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "NEAR_ZERO_SD",
    "PAIRED_D",
    "Difference",
    "Estimate",
    "crossings",
    "differences_table",
    "mean_ci",
    "paired_difference",
    "run_outcomes",
    "run_starts",
    "summary_table",
]

#: Confidence level of every interval.
CONFIDENCE = 0.95

#: A paired difference's sd below this share of the level of the measure (the larger absolute mean of the
#: two scenarios) is near zero: its Cohen's d says the runs hardly vary, not that the gap is large.
NEAR_ZERO_SD = 0.01

#: The one-line explanation of the effect size, for tables and reports.
PAIRED_D = "d = paired Cohen's d: the mean of the paired differences (same seeds) over their standard deviation"


@dataclass(frozen=True)
class Estimate:
    """A mean over runs with its confidence interval."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Difference:
    """The paired difference ``a - b`` over replicates, its interval and effect size.

    ``sd_difference`` is the standard deviation of the paired differences,
    ``cohens_d`` the paired Cohen's d (``difference / sd_difference``) and
    ``near_zero_sd`` whether that sd is below :data:`NEAR_ZERO_SD` of the
    measure's level, so that d mostly says the runs hardly vary.
    """

    n: int
    difference: float
    ci_low: float
    ci_high: float
    sd_difference: float
    cohens_d: float
    near_zero_sd: bool


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE) -> Estimate:
    """Mean of ``values`` with a Student-t confidence interval.

    NaN values (a measure undefined in a run) are left out. With one value the
    interval is undefined (NaN); with none, everything is.

    Parameters
    ----------
    values : array_like
        One outcome per run.
    confidence : float
        Confidence level of the interval.

    Returns
    -------
    Estimate

    Examples
    --------
    >>> e = mean_ci([1.0, 2.0, 3.0])
    >>> e.mean, round(e.sd, 6), round(e.ci_low, 4), round(e.ci_high, 4)
    (2.0, 1.0, -0.4841, 4.4841)
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Estimate(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n == 1:
        return Estimate(1, mean, math.nan, math.nan, math.nan)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return Estimate(n, mean, sd, mean - half, mean + half)


def paired_difference(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE
) -> Difference:
    """Mean of the paired differences ``a[k] - b[k]``, with a paired-t interval and the paired Cohen's d.

    Pairs with a NaN on either side are left out. Cohen's d divides the mean
    difference by the standard deviation of the differences (the paired
    *d_z*); it is NaN when that is zero or undefined (fewer than two pairs).
    ``near_zero_sd`` is true when that standard deviation is at most
    :data:`NEAR_ZERO_SD` times the level of the measure, the larger of
    ``|mean(a)|`` and ``|mean(b)|`` (so also when it is zero): a d computed
    from next to no variance.

    Parameters
    ----------
    a, b : array_like
        Outcomes of the same replicates in two scenarios, in the same order.
    confidence : float
        Confidence level of the interval.

    Returns
    -------
    Difference

    Raises
    ------
    ValueError
        When ``a`` and ``b`` differ in length.

    Examples
    --------
    >>> d = paired_difference([3.0, 5.0, 7.0], [1.0, 2.0, 4.0])
    >>> round(d.difference, 4), round(d.ci_low, 4), round(d.ci_high, 4), round(d.sd_difference, 4)
    (2.6667, 1.2324, 4.1009, 0.5774)
    >>> round(d.cohens_d, 4), d.near_zero_sd
    (4.6188, False)
    >>> paired_difference([100.0, 101.0, 102.0], [90.0, 90.5, 91.5]).near_zero_sd  # sd 0.29 at a level of 101
    True
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired samples must have the same length, not {len(x)} and {len(y)}")
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    diff = mean_ci(x - y, confidence)
    sd = diff.sd
    d = diff.mean / sd if sd > 0 else math.nan  # NaN when sd is NaN (fewer than two pairs) or zero
    level = max(abs(float(x.mean())), abs(float(y.mean()))) if len(x) else math.nan
    near_zero = bool(sd <= NEAR_ZERO_SD * level)  # False when either is NaN
    return Difference(diff.n, diff.mean, diff.ci_low, diff.ci_high, sd, d, near_zero)


def run_outcomes(measures: pd.DataFrame, keys: Sequence[str], window: int) -> pd.DataFrame:
    """Each run's outcome per measure: its mean over the last ``window`` months.

    Parameters
    ----------
    measures : DataFrame
        Tidy per-step rows with a ``step`` column, the identifying ``keys`` and
        numeric measure columns.
    keys : sequence of str
        Columns that identify a run (and that are kept), e.g. ``run``,
        ``scenario``, ``replicate``.
    window : int
        Months at the end of each run to average over (at least 1).

    Returns
    -------
    DataFrame
        One row per run: the keys and every numeric measure.

    Examples
    --------
    >>> m = pd.DataFrame({"run": [0, 0, 0, 1, 1, 1], "step": [0, 1, 2] * 2, "x": [9.0, 1.0, 3.0, 9.0, 5.0, 5.0]})
    >>> run_outcomes(m, ["run"], window=2)
       run    x
    0    0  2.0
    1    1  5.0
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 month, not {window}")
    values = [c for c in measures.columns if c not in keys and c != "step" and _numeric(measures[c])]
    last = measures.groupby(list(keys), sort=False)["step"].transform("max")
    recent = measures[measures["step"] > last - window]
    out = recent.groupby(list(keys), sort=True)[values].mean()
    return out.reset_index()


def run_starts(measures: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Each run's value of every numeric measure at its first recorded step (month 0).

    Parameters
    ----------
    measures : DataFrame
        Tidy per-step rows with a ``step`` column, the identifying ``keys`` and
        numeric measure columns.
    keys : sequence of str
        Columns that identify a run (and that are kept).

    Returns
    -------
    DataFrame
        One row per run: the keys and every numeric measure at its first step.

    Examples
    --------
    >>> m = pd.DataFrame({"run": [0, 0, 1, 1], "step": [0, 1, 0, 1], "x": [9.0, 1.0, 7.0, 5.0]})
    >>> run_starts(m, ["run"])
       run    x
    0    0  9.0
    1    1  7.0
    """
    values = [c for c in measures.columns if c not in keys and c != "step" and _numeric(measures[c])]
    first = measures.groupby(list(keys), sort=False)["step"].transform("min")
    start = measures[measures["step"] == first]
    return start.groupby(list(keys), sort=True)[values].mean().reset_index()


def summary_table(outcomes: pd.DataFrame, by: str, measures: Sequence[str]) -> pd.DataFrame:
    """Mean and confidence interval of each measure for each value of ``by``.

    Parameters
    ----------
    outcomes : DataFrame
        One row per run.
    by : str
        Column grouping the runs (scenario or point).
    measures : sequence of str
        Columns to summarise.

    Returns
    -------
    DataFrame
        Columns ``measure``, ``by``, ``n``, ``mean``, ``sd``, ``ci_low``,
        ``ci_high``; rows in the order of ``measures`` and of first appearance
        of each ``by`` value.
    """
    rows = []
    for measure in measures:
        for label, group in outcomes.groupby(by, sort=False):
            e = mean_ci(group[measure].to_numpy())
            rows.append({"measure": measure, by: label, **e.__dict__})
    return pd.DataFrame(rows, columns=["measure", by, "n", "mean", "sd", "ci_low", "ci_high"])


def differences_table(outcomes: pd.DataFrame, by: str, pair_on: str, measures: Sequence[str]) -> pd.DataFrame:
    """Paired differences of each measure for every pair of ``by`` values.

    Runs are paired on ``pair_on`` (the replicate): replicate *k* of ``a``
    against replicate *k* of ``b``. Pairs are taken in order of first
    appearance, ``a`` before ``b``, and the difference is ``a - b``.

    Parameters
    ----------
    outcomes : DataFrame
        One row per run.
    by : str
        Column naming the scenario.
    pair_on : str
        Column pairing runs across scenarios (the replicate).
    measures : sequence of str
        Columns to compare.

    Returns
    -------
    DataFrame
        Columns ``measure``, ``a``, ``b``, ``n``, ``difference``, ``ci_low``,
        ``ci_high``, ``sd_difference``, ``cohens_d`` (paired) and
        ``near_zero_sd`` (see :func:`paired_difference`).
    """
    labels = list(dict.fromkeys(outcomes[by]))
    wide = {label: outcomes[outcomes[by] == label].set_index(pair_on) for label in labels}
    rows = []
    for measure in measures:
        for a, b in itertools.combinations(labels, 2):
            both = wide[a].index.intersection(wide[b].index)
            d = paired_difference(wide[a].loc[both, measure].to_numpy(), wide[b].loc[both, measure].to_numpy())
            rows.append({"measure": measure, "a": a, "b": b, **d.__dict__})
    columns = ["measure", "a", "b", "n", "difference", "ci_low", "ci_high", "sd_difference", "cohens_d", "near_zero_sd"]
    return pd.DataFrame(rows, columns=columns)


def crossings(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, level: float) -> list[float]:
    """Where the line through the points ``(x, y)``, in order of ``x``, reaches ``level``.

    Between two neighbouring points on either side of ``level`` the crossing
    is interpolated linearly; a point exactly at ``level`` is a crossing
    itself. Points with a NaN are left out. A sweep's curve of means against a
    reference scenario's value: the parameter value at which the sweep
    matches it.

    Parameters
    ----------
    x, y : array_like
        The curve's points (x need not be sorted).
    level : float
        The value to reach.

    Returns
    -------
    list of float
        The crossings in increasing order; empty when the curve stays on one side.

    Examples
    --------
    >>> crossings([0.4, 0.5, 0.6, 0.7], [1.0, 2.0, 4.0, 5.0], 3.0)
    [0.55]
    >>> crossings([1, 2, 3], [0.0, 1.0, 0.0], 1.0), crossings([1, 2], [5.0, 6.0], 1.0)
    ([2.0], [])
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(xs) | np.isnan(ys))
    order = np.argsort(xs[keep], kind="stable")
    xs, d = xs[keep][order], ys[keep][order] - level
    found: list[float] = [float(xs[i]) for i in range(len(xs)) if d[i] == 0]
    for i in range(len(xs) - 1):
        if d[i] * d[i + 1] < 0:
            found.append(float(xs[i] + (xs[i + 1] - xs[i]) * d[i] / (d[i] - d[i + 1])))
    unique: list[float] = []
    for v in sorted(found):  # a point at the level can also end an interpolated segment
        if not unique or not math.isclose(v, unique[-1], rel_tol=1e-12, abs_tol=1e-12):
            unique.append(v)
    return unique


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
