"""Calibration targets: statistics of a run's logs that the literature reports.

Each statistic is a small pure function of a run's two logs (or of several
runs' logs concatenated, which pools them): the **cooperation log** (one row
per cooperation, :func:`sim.CooperationModel.cooperation_log`) and the **firm
log** (one row per firm: when it entered, when it left, how long it was
watched; :func:`firm_log`). ``docs/calibration.md`` gives each statistic's
published value and source.

Alliances
    A cooperation becomes an *alliance* when a partner agrees (the structure
    phase begins); searches that found no partner are not alliances. Its
    *life* is the months it then spent in structure, relationship and
    evaluation: up to its end, or up to the end of the run for one still
    running, which is then *censored* (its life is at least that long).
    An alliance *fails* when it ends by an exit for low value, low trust or
    a culture misfit, or is dissolved because a partner left the market; it
    does not fail when it ends because its goal was reached, or while it
    runs. Survival and median life count every end (as the studies of joint
    venture life do); the share that fails within five years is the
    cumulative incidence of failure, goal-reached ends being a competing
    risk (Aalen & Johansen 1978), so that neither censored alliances nor
    successful ends are counted as failures or dropped.

Firms
    Firm survival is that of *new* firms (those that entered after the
    start), as business demography measures it, by Kaplan-Meier (firms still
    in the market at the end are censored). Entry and exit rates are firms
    that entered or left per firm-year in the market (Eurostat's birth and
    death rates: births or deaths in a year over the active firms).

References
----------
.. [1] Kaplan & Meier (1958). Nonparametric estimation from incomplete
   observations. *JASA* 53(282), 457-481.
.. [2] Aalen & Johansen (1978). An empirical transition matrix for
   non-homogeneous Markov chains based on censored observations.
   *Scandinavian Journal of Statistics* 5(3), 141-150.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.vocabulary import Reason

__all__ = [
    "FAIL_REASONS",
    "STATISTICS",
    "RunLogs",
    "Statistic",
    "alliance_failure_5y",
    "alliance_median_life_years",
    "alliance_survival_2y",
    "alliance_survival_5y",
    "alliances",
    "cumulative_incidence",
    "entry_rate",
    "exit_rate",
    "firm_log",
    "firm_survival_1y",
    "firm_survival_5y",
    "kaplan_meier",
    "km_median",
    "pooled",
    "survival_at",
]

#: Reasons for which an ended alliance counts as failed.
FAIL_REASONS: tuple[Reason, ...] = (Reason.LOW_VALUE, Reason.LOW_TRUST, Reason.CULTURE, Reason.PARTNER_LEFT)

#: Columns of the firm log.
FIRM_COLUMNS = {"firm": "str", "entered": "int64", "left": "Int64", "observed_until": "int64"}


@dataclass(frozen=True)
class RunLogs:
    """The logs a statistic reads: the cooperation log and the firm log of one run (or of several, concatenated)."""

    cooperations: pd.DataFrame
    firms: pd.DataFrame


def firm_log(model: Any) -> pd.DataFrame:
    """One row per firm of a finished model: its name, month of entry, month it left (missing if still in) and the month the run ended.

    Parameters
    ----------
    model : sim.CooperationModel
        A model after its run.

    Returns
    -------
    pandas.DataFrame
        Columns ``firm``, ``entered``, ``left`` (nullable), ``observed_until``.
    """
    firms = model.firms
    n = firms.n
    left = firms.left[:n]
    frame = pd.DataFrame(
        {
            "firm": list(firms.names[:n]),
            "entered": firms.entered[:n].astype(np.int64),
            "left": pd.array([int(x) if x >= 0 else None for x in left.tolist()], dtype="Int64"),
            "observed_until": np.full(n, int(model.steps), dtype=np.int64),
        }
    )
    return frame.astype(FIRM_COLUMNS)


def pooled(logs: Sequence[RunLogs]) -> RunLogs:
    """Several runs' logs as one (rows concatenated; every duration stays that of its own run)."""
    return RunLogs(
        pd.concat([r.cooperations for r in logs], ignore_index=True),
        pd.concat([r.firms for r in logs], ignore_index=True),
    )


# ---------------------------------------------------------------------------------------------------------------
# Survival analysis on plain arrays
# ---------------------------------------------------------------------------------------------------------------


def kaplan_meier(durations: Sequence[float] | np.ndarray, events: Sequence[bool] | np.ndarray) -> pd.DataFrame:
    """The Kaplan-Meier estimate of survival.

    Parameters
    ----------
    durations : array of float
        Time each subject was watched: to its event, or to its censoring.
    events : array of bool
        True where the subject's time ends in the event, False where it is
        censored (still alive when watching stopped).

    Returns
    -------
    pandas.DataFrame
        One row per distinct event time: ``time``, ``at_risk``, ``events``,
        ``survival`` (the probability of surviving beyond ``time``).

    Examples
    --------
    Four subjects: events at 1 and 3, censored at 2 and 4. At 1, one of four
    fails (3/4 survive); at 3, one of the two still watched fails (3/4 * 1/2).

    >>> kaplan_meier([1, 2, 3, 4], [True, False, True, False])["survival"].tolist()
    [0.75, 0.375]
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    times = np.unique(t[e])
    at_risk = np.array([np.count_nonzero(t >= s) for s in times], dtype=np.int64)
    deaths = np.array([np.count_nonzero((t == s) & e) for s in times], dtype=np.int64)
    survival = np.cumprod(1.0 - deaths / at_risk) if len(times) else np.array([])
    return pd.DataFrame({"time": times, "at_risk": at_risk, "events": deaths, "survival": survival})


def survival_at(durations: Sequence[float] | np.ndarray, events: Sequence[bool] | np.ndarray, time: float) -> float:
    """Kaplan-Meier survival beyond ``time``; NaN when nobody was watched that long (the estimate is undefined there).

    Examples
    --------
    >>> survival_at([1, 2, 3, 4], [True, False, True, False], 2.5)
    0.75
    >>> survival_at([1, 2], [True, False], 5)
    nan
    """
    t = np.asarray(durations, dtype=float)
    if not len(t) or t.max() < time:
        return float("nan")
    table = kaplan_meier(t, events)
    before = table["survival"][table["time"] <= time]
    return float(before.iloc[-1]) if len(before) else 1.0


def km_median(durations: Sequence[float] | np.ndarray, events: Sequence[bool] | np.ndarray) -> float:
    """The median survival time: the first event time where Kaplan-Meier survival falls to 0.5 or below (NaN if it never does).

    Examples
    --------
    >>> km_median([1, 2, 3, 4], [True, False, True, False])
    3.0
    >>> km_median([1, 2, 3, 4], [True, False, False, False])
    nan
    """
    table = kaplan_meier(durations, events)
    below = table["time"][table["survival"] <= 0.5]
    return float(below.iloc[0]) if len(below) else float("nan")


def cumulative_incidence(
    durations: Sequence[float] | np.ndarray,
    events: Sequence[bool] | np.ndarray,
    cause: Sequence[bool] | np.ndarray,
    time: float,
) -> float:
    """The Aalen-Johansen cumulative incidence of one cause of ending by ``time``, with other causes as competing risks.

    Parameters
    ----------
    durations : array of float
        Time each subject was watched.
    events : array of bool
        Whether its time ends in an event of any cause.
    cause : array of bool
        Whether that event is of the cause of interest (False where censored).
    time : float
        The time by which to count.

    Returns
    -------
    float
        The probability of having ended by the cause within ``time``: the sum
        over event times ``s <= time`` of S(s-) d_cause(s) / n(s), with S the
        Kaplan-Meier survival from every cause. NaN when nobody was watched
        that long.

    Examples
    --------
    Four subjects: a failure at 1, a success at 2, one censored at 3, a
    failure at 4. By 4: 1/4 (at 1) + S(3) * 1/1 = 1/4 + 3/4 * 2/3 * 1 = 3/4.

    >>> cumulative_incidence([1, 2, 3, 4], [True, True, False, True], [True, False, False, True], 4)
    0.75
    >>> cumulative_incidence([1, 2, 3, 4], [True, True, False, True], [True, False, False, True], 3)
    0.25
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    c = np.asarray(cause, dtype=bool) & e
    if not len(t) or t.max() < time:
        return float("nan")
    incidence, surviving = 0.0, 1.0
    for s in np.unique(t[e & (t <= time)]):
        n = np.count_nonzero(t >= s)
        incidence += surviving * np.count_nonzero((t == s) & c) / n
        surviving *= 1.0 - np.count_nonzero((t == s) & e) / n
    return float(incidence)


# ---------------------------------------------------------------------------------------------------------------
# Alliances
# ---------------------------------------------------------------------------------------------------------------

_FAILED = {r.label for r in FAIL_REASONS}


def alliances(cooperations: pd.DataFrame) -> pd.DataFrame:
    """The cooperations that became alliances (a partner agreed), with ``life`` (months), ``ended`` and ``failed``.

    Parameters
    ----------
    cooperations : pandas.DataFrame
        A cooperation log (open cooperations included).

    Returns
    -------
    pandas.DataFrame
        One row per alliance: ``life`` (months in structure, relationship and
        evaluation, to its end or to the end of the run), ``ended`` (False:
        still running, censored) and ``failed`` (ended for a reason in
        :data:`FAIL_REASONS`).
    """
    agreed = cooperations[cooperations["partner_id"].notna() & (cooperations["outcome"] != "no_partner")]
    life = agreed["months_structure"] + agreed["months_relationship"] + agreed["months_evaluation"]
    reason = agreed["reason"].astype("object")
    return pd.DataFrame(
        {
            "life": life.to_numpy(dtype=float),
            "ended": agreed["ended"].notna().to_numpy(dtype=bool),
            "failed": reason.isin(_FAILED).to_numpy(dtype=bool),
        }
    )


def alliance_failure_5y(logs: RunLogs) -> float:
    """Share of alliances that fail within five years of agreement (cumulative incidence of failure at 60 months)."""
    a = alliances(logs.cooperations)
    return cumulative_incidence(a["life"], a["ended"], a["failed"], 60)


def alliance_survival_2y(logs: RunLogs) -> float:
    """Kaplan-Meier share of alliances still running two years after agreement (every end counts)."""
    a = alliances(logs.cooperations)
    return survival_at(a["life"], a["ended"], 24)


def alliance_survival_5y(logs: RunLogs) -> float:
    """Kaplan-Meier share of alliances still running five years after agreement (every end counts)."""
    a = alliances(logs.cooperations)
    return survival_at(a["life"], a["ended"], 60)


def alliance_median_life_years(logs: RunLogs) -> float:
    """Median life of alliances in years (Kaplan-Meier; NaN when half of them outlive what the run can see)."""
    a = alliances(logs.cooperations)
    return km_median(a["life"], a["ended"]) / 12.0


# ---------------------------------------------------------------------------------------------------------------
# Firms
# ---------------------------------------------------------------------------------------------------------------


def _firm_lives(firms: pd.DataFrame, new_only: bool) -> tuple[np.ndarray, np.ndarray]:
    """Months each firm was in the market (to its exit or to the end of the run) and whether it left."""
    f = firms[firms["entered"] > 0] if new_only else firms
    left = f["left"]
    gone = left.notna().to_numpy(dtype=bool)
    until = np.where(gone, left.fillna(0).to_numpy(dtype=float), f["observed_until"].to_numpy(dtype=float))
    return until - f["entered"].to_numpy(dtype=float), gone


def firm_survival_1y(logs: RunLogs) -> float:
    """Kaplan-Meier share of new firms (entered after the start) still in the market one year after entry."""
    lives, gone = _firm_lives(logs.firms, new_only=True)
    return survival_at(lives, gone, 12)


def firm_survival_5y(logs: RunLogs) -> float:
    """Kaplan-Meier share of new firms still in the market five years after entry."""
    lives, gone = _firm_lives(logs.firms, new_only=True)
    return survival_at(lives, gone, 60)


def _firm_years(firms: pd.DataFrame) -> float:
    lives, _ = _firm_lives(firms, new_only=False)
    return float(lives.sum()) / 12.0


def entry_rate(logs: RunLogs) -> float:
    """Firms that entered after the start, per firm-year in the market (Eurostat's birth rate)."""
    years = _firm_years(logs.firms)
    return float(np.count_nonzero(logs.firms["entered"] > 0)) / years if years > 0 else float("nan")


def exit_rate(logs: RunLogs) -> float:
    """Firms that left the market, per firm-year in the market (Eurostat's death rate)."""
    years = _firm_years(logs.firms)
    return float(logs.firms["left"].notna().sum()) / years if years > 0 else float("nan")


@dataclass(frozen=True)
class Statistic:
    """A calibration statistic: its function, what it means, its unit and the horizon (months) it needs."""

    function: Callable[[RunLogs], float]
    meaning: str
    unit: str
    needs_months: int


#: Every statistic a calibration target may name.
STATISTICS: dict[str, Statistic] = {
    "alliance_failure_5y": Statistic(
        alliance_failure_5y, "share of alliances failed within five years of agreement", "share", 61
    ),
    "alliance_survival_2y": Statistic(
        alliance_survival_2y, "share of alliances still running after two years", "share", 25
    ),
    "alliance_survival_5y": Statistic(
        alliance_survival_5y, "share of alliances still running after five years", "share", 61
    ),
    "alliance_median_life_years": Statistic(alliance_median_life_years, "median life of alliances", "years", 97),
    "firm_survival_1y": Statistic(firm_survival_1y, "share of new firms surviving one year", "share", 25),
    "firm_survival_5y": Statistic(firm_survival_5y, "share of new firms surviving five years", "share", 73),
    "entry_rate": Statistic(entry_rate, "firms entering per firm-year", "per year", 12),
    "exit_rate": Statistic(exit_rate, "firms leaving per firm-year", "per year", 12),
}
