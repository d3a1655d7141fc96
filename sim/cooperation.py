"""Cooperations: their phases, the legal transitions, and the table that holds them.

Every cooperation lives through the five phases of the cycle of trust
(seed 001): needs assessment, partner search, structure, relationship,
evaluation. The legal moves between phases are written once, in
:data:`TRANSITIONS`; :meth:`CooperationTable.move` refuses any other.

::

    NEEDS_ASSESSMENT -> PARTNER_SEARCH -> STRUCTURE -> RELATIONSHIP -> EVALUATION
                                                          ^                |
                                                          +--- continue ---+
    every phase -> ENDED (exit after evaluation, no partner found, need
                          vanished, partner left the market)

An ended cooperation frees both firms' capacity; their next needs assessment
takes up what the evaluation taught them, which closes the cycle.

State lives in :class:`CooperationTable` (one array per variable, one row per
cooperation ever opened) so the relationship phase can run for all
cooperations at once; :class:`Cooperation` is a readable view of one row.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sim.vocabulary import TRANSITIONS, Phase, Reason

__all__ = ["Cooperation", "CooperationTable", "IllegalTransition"]


_LEGAL = np.zeros((len(Phase), len(Phase)), dtype=bool)
for _src, _dsts in TRANSITIONS.items():
    for _dst in _dsts:
        _LEGAL[_src, _dst] = True
_LEGAL_INTO = np.ascontiguousarray(_LEGAL.T)  # per destination, whether each source may move there


class IllegalTransition(RuntimeError):
    """A phase change that :data:`TRANSITIONS` does not allow."""


class CooperationTable:
    """Struct of arrays for all cooperations, one row each, growing by doubling."""

    _COLUMNS: ClassVar[dict[str, tuple[Any, tuple[int, ...], Any]]] = {
        # name: (dtype, extra shape, initial value)
        "a": (np.int64, (), -1),  # initiator
        "b": (np.int64, (), -1),  # partner, once found
        "phase": (np.int8, (), Phase.NEEDS_ASSESSMENT),
        "since": (np.int64, (), 0),  # step the current phase began
        "started": (np.int64, (), 0),
        "ended": (np.int64, (), -1),
        "phase_time": (np.int64, (len(Phase) - 1,), 0),  # months spent in each phase
        "gap": (float, (5,), 0.0),  # the initiator's requirements profile
        "familiar": (bool, (), False),  # searched among known contacts only
        "screened": (np.int64, (), 0),  # candidates scored
        "service": (bool, (), False),  # a shared-service contract
        "competitor": (bool, (), False),
        "campus": (bool, (), False),
        "distance": (float, (), 0.0),
        "transparency": (float, (), 0.0),
        "contract": (float, (), 0.0),
        "setup_until": (np.int64, (), 0),
        "due": (np.int64, (), 0),  # next evaluation
        "fit": (float, (2,), 0.0),  # share of each side's gap the other covered at agreement
        "score": (float, (), 0.0),
        "expected": (float, (2,), 0.0),  # expected monthly net benefit per side
        "realised": (float, (2,), 0.0),  # net benefit per side since the last evaluation
        "months": (np.int64, (), 0),  # relationship months since the last evaluation
        "value": (float, (), 0.0),  # joint value created in all
        "shares": (float, (2,), 0.0),  # value received per side in all
        "kept": (np.int64, (2,), 0),
        "broken": (np.int64, (2,), 0),
        "grabbed": (np.int64, (2,), 0),
        "evaluations": (np.int64, (), 0),
        "continues": (np.int64, (), 0),
        "reason": (np.int8, (), Reason.NONE),
        "exited_by": (np.int64, (), -1),
        "row_ab": (np.int64, (), -1),  # trust evidence of a about b
        "row_ba": (np.int64, (), -1),
        "setup_cost": (float, (), 0.0),
    }

    # One array per state variable, made by _alloc from _COLUMNS.
    a: np.ndarray
    b: np.ndarray
    phase: np.ndarray
    since: np.ndarray
    started: np.ndarray
    ended: np.ndarray
    phase_time: np.ndarray
    gap: np.ndarray
    familiar: np.ndarray
    screened: np.ndarray
    service: np.ndarray
    competitor: np.ndarray
    campus: np.ndarray
    distance: np.ndarray
    transparency: np.ndarray
    contract: np.ndarray
    setup_until: np.ndarray
    due: np.ndarray
    fit: np.ndarray
    score: np.ndarray
    expected: np.ndarray
    realised: np.ndarray
    months: np.ndarray
    value: np.ndarray
    shares: np.ndarray
    kept: np.ndarray
    broken: np.ndarray
    grabbed: np.ndarray
    evaluations: np.ndarray
    continues: np.ndarray
    reason: np.ndarray
    exited_by: np.ndarray
    row_ab: np.ndarray
    row_ba: np.ndarray
    setup_cost: np.ndarray

    def __init__(self, capacity: int = 256) -> None:
        self.n = 0
        self._capacity = 0
        self._alloc(capacity)
        self._open = np.zeros(0, dtype=np.int64)  # ids not ended (may hold ended ones while stale)
        self._stale = False

    def _alloc(self, capacity: int) -> None:
        for name, (dtype, shape, init) in self._COLUMNS.items():
            new = np.full((capacity, *shape), init, dtype=dtype)
            old = getattr(self, name, None)
            if old is not None:
                new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self._capacity = capacity

    def open(self, initiators: np.ndarray, now: int) -> np.ndarray:
        """Open cooperations in needs assessment for the given firms; return their ids."""
        m = len(initiators)
        if self.n + m > self._capacity:
            self._alloc(max(2 * self._capacity, self.n + m))
        ids = np.arange(self.n, self.n + m)
        self.a[ids] = initiators
        self.phase[ids] = int(Phase.NEEDS_ASSESSMENT)
        self.since[ids] = now
        self.started[ids] = now
        self.n += m
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
