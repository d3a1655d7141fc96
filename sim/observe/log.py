"""The cooperation log: one row per cooperation, from its search to its end.

Every column is declared once in :data:`COLUMNS`: its name, its type in the
log frame (so an empty log has the schema of a full one), its meaning and how
it is read from the cooperation table. ``COOPERATION_COLUMNS`` and
``COOPERATION_TYPES`` are derived from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from sim.state.cooperations import CooperationTable
from sim.state.world import World
from sim.vocabulary import OUTCOME_OF, Outcome, Phase, Reason

__all__ = [
    "COLUMNS",
    "COOPERATION_COLUMNS",
    "COOPERATION_TYPES",
    "LogColumn",
    "cooperation_rows",
    "log_frame",
    "write_ended",
]


class _Rows:
    """The cooperations being written, with what several columns read."""

    def __init__(self, table: CooperationTable, ids: np.ndarray, names: list[str], now: int) -> None:
        self.t, self.ids, self.names = table, ids, names
        phase = table.phase[ids]
        months = table.phase_time[ids].copy()
        still = np.flatnonzero(phase != Phase.ENDED)
        months[still, phase[still]] += now - table.since[ids[still]]
        self.months = months
        self.outcome = [
            str(OUTCOME_OF[Reason(r)]) if p == Phase.ENDED else str(Outcome.CONTINUE if c > 0 else Outcome.ONGOING)
            for p, r, c in zip(phase.tolist(), table.reason[ids].tolist(), table.continues[ids].tolist(), strict=True)
        ]

    def col(self, name: str, side: int | None = None) -> list[Any]:
        values = getattr(self.t, name)[self.ids]
        return (values if side is None else values[:, side]).tolist()

    def known(self, name: str) -> list[int | None]:
        """A column where -1 means "none yet": missing values instead."""
        return [x if x >= 0 else None for x in getattr(self.t, name)[self.ids].tolist()]

    def months_in(self, phase: Phase) -> list[int]:
        return self.months[:, phase].tolist()

    def firm(self, name: str) -> list[str | None]:
        return [self.names[i] if i >= 0 else None for i in getattr(self.t, name)[self.ids].tolist()]


@dataclass(frozen=True)
class LogColumn:
    """One column of the cooperation log."""

    name: str
    dtype: str
    meaning: str
    read: Callable[[_Rows], list[Any]]


def _column(name: str, dtype: str, meaning: str) -> LogColumn:
    """A column read straight from the table column of the same name."""
    return LogColumn(name, dtype, meaning, lambda r: r.col(name))


def _both(name: str, dtype: str, meaning: str, column: str) -> list[LogColumn]:
    """Two columns from a per-side table column: ``<name>_initiator`` and ``<name>_partner``."""
    return [
        LogColumn(f"{name}_{who}", dtype, f"{meaning} ({who})", partial(_Rows.col, name=column, side=k))
        for k, who in enumerate(("initiator", "partner"))
    ]


def _total(name: str, meaning: str) -> LogColumn:
    """Months of both sides added up."""
    return LogColumn(name, "int64", meaning, lambda r: getattr(r.t, name)[r.ids].sum(axis=1).tolist())


#: Every column of the log, in order.
COLUMNS: list[LogColumn] = [
    LogColumn("id", "int64", "cooperation id", lambda r: r.ids.tolist()),
    LogColumn("initiator", "str", "firm that searched", lambda r: r.firm("a")),
    LogColumn("partner", "str", "firm that agreed (missing if none)", lambda r: r.firm("b")),
    LogColumn("initiator_id", "int64", "its index", lambda r: r.col("a")),
    LogColumn("partner_id", "Int64", "its index (missing if none)", lambda r: r.known("b")),
    _column("started", "int64", "month the needs assessment opened"),
    LogColumn("ended", "Int64", "month it ended (missing while open)", lambda r: r.known("ended")),
    *[
        LogColumn(f"months_{p.name.lower()}", "int64", f"months in {p.label}", partial(_Rows.months_in, phase=p))
        for p in Phase
        if p is not Phase.ENDED
    ],
    _column("value", "float64", "joint value created, k EUR"),
    LogColumn("value_initiator", "float64", "value received by the initiator", lambda r: r.col("shares", 0)),
    LogColumn("value_partner", "float64", "value received by the partner", lambda r: r.col("shares", 1)),
    LogColumn("outcome", "str", "exit, continue, ongoing, no_partner or dissolved", lambda r: r.outcome),
    LogColumn(
        "reason",
        "str",
        "why it ended (missing while open)",
        lambda r: [Reason(x).label or None for x in r.col("reason")],
    ),
    LogColumn("exited_by", "str", "the firm that left at evaluation (missing if none)", lambda r: r.firm("exited_by")),
    _column("evaluations", "int64", "evaluations held"),
    *_both(
        "expected", "float64", "expected monthly net benefit at the last evaluation (NaN before)", "judged_expected"
    ),
    *_both(
        "realised", "float64", "realised monthly net benefit at the last evaluation (NaN before)", "judged_realised"
    ),
    _column("continues", "int64", "evaluations that continued it"),
    _column("familiar", "bool", "searched among known contacts only"),
    _column("screened", "int64", "candidates screened in the market"),
    *_both("fit", "float64", "share of the side's gap the other covered at agreement", "fit"),
    _column("transparency", "float64", "transparency granted"),
    _column("contract", "float64", "degree of formal contract"),
    _column("service", "bool", "a shared-service contract"),
    _column("competitor", "bool", "partners sell in one niche"),
    _total("kept", "months a side kept the agreement, both sides"),
    _total("broken", "months a side broke it, both sides"),
    _total("grabbed", "months a side grabbed more than its share, both sides"),
]

#: Columns of the ``cooperations`` table.
COOPERATION_COLUMNS = [c.name for c in COLUMNS]

#: The type of each column, so that an empty log has the schema of a full one.
COOPERATION_TYPES = {c.name: c.dtype for c in COLUMNS}


def cooperation_rows(table: CooperationTable, ids: np.ndarray, names: list[str], now: int) -> dict[str, list[Any]]:
    """Rows of the cooperation log for the given cooperations, column by column (open ones counted up to ``now``)."""
    rows = _Rows(table, np.asarray(ids, dtype=np.int64), names, now)
    return {c.name: c.read(rows) for c in COLUMNS}


def write_ended(world: World, table: dict[str, list[Any]]) -> None:
    """Append the cooperations ended since the last call to ``table`` (the DataCollector's ``cooperations``).

    The model ends hundreds of cooperations a month in large markets; their
    rows are built in one batch when the table is read, not one by one as
    they end.
    """
    if not world.ended:
        return
    ids = np.concatenate(world.ended)
    world.ended = []
    for column, values in cooperation_rows(world.cooperations, ids, world.firms.names, world.now).items():
        table[column].extend(values)


def log_frame(ended: pd.DataFrame, world: World, include_open: bool = True) -> pd.DataFrame:
    """The cooperation log: the ended cooperations' rows, and with ``include_open`` the live ones, by id.

    Open cooperations still in needs assessment or partner search are left
    out (they have no partner yet); live ones have outcome ``continue`` or
    ``ongoing``. What a cooperation does not have (a partner, an end, a
    reason, a firm that left) is a missing value. Every log, an empty one
    too, has the types of :data:`COOPERATION_TYPES`, so every run's log has
    one schema.

    Each column is made once, as an array of its type, from the ended rows
    and the live ones together (a log has a few dozen rows and some forty
    columns, so the cost is per column, not per row).
    """
    t = world.cooperations
    extra = cooperation_rows(t, t.live(), world.firms.names, world.now) if include_open else None
    parts = [
        (ended[c].tolist() if c in ended.columns and len(ended) else []) + (extra[c] if extra is not None else [])
        for c in COOPERATION_COLUMNS
    ]
    order = np.argsort(np.asarray(parts[0], dtype=np.int64), kind="stable")
    return pd.DataFrame(
        {c.name: _typed([values[i] for i in order], c.dtype) for c, values in zip(COLUMNS, parts, strict=True)},
        copy=False,
    )


def _typed(values: list[Any], dtype: str) -> Any:
    """A column of the log as an array of its type: missing values (None) become ``<NA>`` or NaN."""
    if dtype in ("int64", "float64", "bool"):
        return np.array(values, dtype=dtype)
    return pd.array(values, dtype=dtype)
