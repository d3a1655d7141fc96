"""Cooperations: the table that holds them and the moves between phases.

Every cooperation lives through the five phases of the cycle of trust
(seed 001); the legal moves are written once, in
:data:`sim.vocabulary.TRANSITIONS`, and :meth:`CooperationTable.move`
refuses any other. An ended cooperation frees both firms' capacity; their
next needs assessment takes up what the evaluation taught them, which closes
the cycle.

State lives in :class:`CooperationTable` (one array per variable, one row per
cooperation ever opened) so each phase runs for all cooperations at once;
:class:`Cooperation` is a readable view of one row.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np

from sim.state.table import Column, Table
from sim.vocabulary import DOMAINS, TRANSITIONS, Phase, Reason

__all__ = ["Cooperation", "CooperationTable", "IllegalTransition"]


_LEGAL = np.zeros((len(Phase), len(Phase)), dtype=bool)
for _src, _dsts in TRANSITIONS.items():
    for _dst in _dsts:
        _LEGAL[_src, _dst] = True
_LEGAL_INTO = np.ascontiguousarray(_LEGAL.T)  # per destination, whether each source may move there


class IllegalTransition(RuntimeError):
    """A phase change that :data:`TRANSITIONS` does not allow."""


class CooperationTable(Table):
    """Struct of arrays for all cooperations, one row each, growing by doubling."""

    a: Annotated[np.ndarray, Column(np.int64, -1, "initiator")]
    b: Annotated[np.ndarray, Column(np.int64, -1, "partner, once found")]
    phase: Annotated[np.ndarray, Column(np.int8, Phase.NEEDS_ASSESSMENT, "current phase")]
    since: Annotated[np.ndarray, Column(np.int64, 0, "month the current phase began")]
    started: Annotated[np.ndarray, Column(np.int64, 0, "month it was opened")]
    ended: Annotated[np.ndarray, Column(np.int64, -1, "month it ended (-1: open)")]
    phase_time: Annotated[np.ndarray, Column(np.int64, 0, "months spent in each phase", (len(Phase) - 1,))]
    gap: Annotated[np.ndarray, Column(float, 0.0, "the initiator's requirements profile", (len(DOMAINS),))]
    familiar: Annotated[np.ndarray, Column(bool, False, "searched among known contacts only")]
    screened: Annotated[np.ndarray, Column(np.int64, 0, "candidates screened in the market")]
    service: Annotated[np.ndarray, Column(bool, False, "a shared-service contract")]
    competitor: Annotated[np.ndarray, Column(bool, False, "partners sell in one niche")]
    campus: Annotated[np.ndarray, Column(bool, False, "both partners on the campus")]
    distance: Annotated[np.ndarray, Column(float, 0.0, "km between the partners")]
    transparency: Annotated[np.ndarray, Column(float, 0.0, "transparency granted, in [0, 1]")]
    contract: Annotated[np.ndarray, Column(float, 0.0, "degree of formal contract, in [0, 1]")]
    setup_until: Annotated[np.ndarray, Column(np.int64, 0, "month the set-up is done")]
    due: Annotated[np.ndarray, Column(np.int64, 0, "month of the next evaluation")]
    fit: Annotated[np.ndarray, Column(float, 0.0, "share of each side's gap the other covered at agreement", (2,))]
    score: Annotated[np.ndarray, Column(float, 0.0, "the ranking that chose the partner")]
    expected: Annotated[np.ndarray, Column(float, 0.0, "expected monthly net benefit per side", (2,))]
    realised: Annotated[np.ndarray, Column(float, 0.0, "net benefit per side since the last evaluation", (2,))]
    months: Annotated[np.ndarray, Column(np.int64, 0, "relationship months since the last evaluation")]
    judged_expected: Annotated[
        np.ndarray, Column(float, np.nan, "expected monthly net benefit per side at the last evaluation", (2,))
    ]
    judged_realised: Annotated[
        np.ndarray, Column(float, np.nan, "realised monthly net benefit per side at the last evaluation", (2,))
    ]
    value: Annotated[np.ndarray, Column(float, 0.0, "joint value created in all, k EUR")]
    shares: Annotated[np.ndarray, Column(float, 0.0, "value received per side in all, k EUR", (2,))]
    kept: Annotated[np.ndarray, Column(np.int64, 0, "months each side kept the agreement", (2,))]
    broken: Annotated[np.ndarray, Column(np.int64, 0, "months each side broke it", (2,))]
    grabbed: Annotated[np.ndarray, Column(np.int64, 0, "months each side grabbed more than its share", (2,))]
    evaluations: Annotated[np.ndarray, Column(np.int64, 0, "evaluations held")]
    continues: Annotated[np.ndarray, Column(np.int64, 0, "evaluations that continued it")]
    reason: Annotated[np.ndarray, Column(np.int8, Reason.NONE, "why it ended")]
    exited_by: Annotated[np.ndarray, Column(np.int64, -1, "the firm that left at evaluation")]
    row_ab: Annotated[np.ndarray, Column(np.int64, -1, "trust evidence row of a about b")]
    row_ba: Annotated[np.ndarray, Column(np.int64, -1, "trust evidence row of b about a")]
    setup_cost: Annotated[np.ndarray, Column(float, 0.0, "each side's set-up cost, k EUR")]

    def __init__(self, capacity: int = 256) -> None:
        super().__init__(capacity)
        self._open = np.zeros(0, dtype=np.int64)  # ids not ended (may hold ended ones while stale)
        self._stale = False

    def open(self, initiators: np.ndarray, now: int) -> np.ndarray:
        """Open cooperations in needs assessment for the given firms; return their ids."""
        ids = self.grow(len(initiators))
        self.a[ids] = initiators
        self.phase[ids] = int(Phase.NEEDS_ASSESSMENT)
        self.since[ids] = now
        self.started[ids] = now
        self._open = np.concatenate([self.open_ids(), ids])
        return ids

    # Phases are compared as plain ints in the methods below: NumPy looks up
    # special attributes on the type of an IntEnum operand, which is slow.

    def in_phase(self, phase: Phase, before: int | None = None) -> np.ndarray:
        """Ids in ``phase``; with ``before``, only those that entered it before that step."""
        ids = self.open_ids()
        ids = ids[self.phase[ids] == int(phase)]
        if before is not None:
            ids = ids[self.since[ids] < before]
        return ids

    def live(self) -> np.ndarray:
        """Ids of cooperations with two partners that have not ended."""
        ids = self.open_ids()
        phase = self.phase[ids]
        return ids[(phase >= int(Phase.STRUCTURE)) & (phase <= int(Phase.EVALUATION))]

    def open_ids(self) -> np.ndarray:
        """Ids of all cooperations that have not ended, ascending.

        Kept as a short list: cooperations that ended drop out of it the next
        time it is read, so reading it does not grow with the run's history.
        """
        if self._stale:
            self._open = self._open[self.phase[self._open] != int(Phase.ENDED)]
            self._stale = False
        return self._open

    def move(self, ids: np.ndarray, to: Phase, now: int) -> None:
        """Move cooperations to phase ``to``, booking the time spent in the old phase.

        Raises
        ------
        IllegalTransition
            If any of them may not move to ``to`` from where it is.
        """
        if len(ids) == 0:
            return
        src = self.phase[ids]
        legal = _LEGAL_INTO[int(to)][src]
        if not legal.all():
            bad = int(ids[~legal][0])
            raise IllegalTransition(
                f"cooperation {bad}: {Phase(int(self.phase[bad])).label} -> {to.label} is not a legal transition"
            )
        # No move leads out of ENDED, so every source phase is an open one;
        # its months are booked through the flat view (a one-dimensional np.add.at).
        cells = ids * self.phase_time.shape[1] + src
        np.add.at(self.phase_time.reshape(-1), cells, now - self.since[ids])
        self.phase[ids] = int(to)
        self.since[ids] = now
        if to is Phase.ENDED:
            self._stale = True

    def view(self, cid: int) -> Cooperation:
        """A readable view of one cooperation."""
        return Cooperation(self, cid)


class Cooperation:
    """One cooperation, read from its row of a :class:`CooperationTable`."""

    def __init__(self, table: CooperationTable, cid: int) -> None:
        self.table, self.id = table, cid

    @property
    def phase(self) -> Phase:
        """Current phase."""
        return Phase(int(self.table.phase[self.id]))

    @property
    def partners(self) -> tuple[int, int]:
        """Firm indices of the initiator and the partner (-1 before the search succeeds)."""
        return int(self.table.a[self.id]), int(self.table.b[self.id])

    @property
    def reason(self) -> Reason:
        """Why it ended (``Reason.NONE`` while open)."""
        return Reason(int(self.table.reason[self.id]))

    @property
    def transparency(self) -> float:
        """Transparency the partners grant each other, in [0, 1]."""
        return float(self.table.transparency[self.id])

    @property
    def contract(self) -> float:
        """Degree of formal contract, in [0, 1]."""
        return float(self.table.contract[self.id])

    @property
    def value(self) -> float:
        """Joint value created so far, k EUR."""
        return float(self.table.value[self.id])

    def phase_months(self, now: int) -> dict[str, int]:
        """Months spent in each phase up to ``now`` (the current phase counted to now)."""
        months = self.table.phase_time[self.id].copy()
        if self.phase != Phase.ENDED:
            months[self.phase] += now - int(self.table.since[self.id])
        return {Phase(p).label: int(months[p]) for p in range(len(months))}

    def __repr__(self) -> str:
        a, b = self.partners
        return f"Cooperation({self.id}, {a}<->{b}, {self.phase.label})"
