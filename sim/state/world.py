"""The world: every piece of state a run changes, in one place.

The model owns one :class:`World`; the phases of the Kreislauf, the market,
the group, the events and the observers receive it (or the parts they
need) and read and write its tables. Nothing in it refers back to the model,
so the components depend on the state, never on each other through the
model.

==================  =====================================================
``scenario``        the validated scenario (frozen)
``streams``         named random streams derived from the seed
``now``             the current month (0 before the first step)
``firms``           :class:`~sim.state.firms.FirmTable`
``cooperations``    :class:`~sim.state.cooperations.CooperationTable`
``partners``        live partner pairs, unordered key -> cooperation id
``ledger``          :class:`~sim.state.ledger.TrustLedger`
``niches``          niche names and demand (:class:`Niches`)
``shared_services`` whether the group's shared services run (events may end them)
``tally``           the month's counts of what happened (:class:`Tally`)
``ended``           cooperations ended and not yet written to the log
``journal``         scheduled events (always) and firms leaving (when recorded)
``changed``         firms whose traits an event has changed (a breach's breachers)
==================  =====================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.scenario import Scenario
from sim.state.cooperations import CooperationTable
from sim.state.firms import FirmTable
from sim.state.ledger import TrustLedger
from sim.state.pairs import SortedIndex
from sim.streams import RandomStreams
from sim.vocabulary import EXIT_REASONS

__all__ = ["Journal", "Niches", "Tally", "World"]

#: The per-month counters that the measures read.
COUNTERS: tuple[str, ...] = (
    "opened",
    "searches",
    "formed",
    "started",
    "evaluated",
    "continued",
    "exited",
    "no_partner",
    "dissolved",
    "kept",
    "broken",
    "fair",
    "grabbed",
    "value",
    "fit_sum",
    "entries",
    "exits",
    "members_joined",
    "members_left",
    *(f"exit_{r.name.lower()}" for r in EXIT_REASONS),
)


#: Counters of amounts rather than counts: zero as a float, so every month's measure has one type.
_AMOUNTS = ("value", "fit_sum")


class Tally(dict[str, float]):
    """What happened this month, by counter name (all zero when the month begins)."""

    def __init__(self) -> None:
        super().__init__()
        self.reset()

    def reset(self) -> None:
        """Zero every counter for a new month."""
        self.update({name: 0.0 if name in _AMOUNTS else 0 for name in COUNTERS})


class Niches:
    """The niches firms sell in: names, demand, and concentration when each first traded.

    A firm's ``niche`` indexes ``names``; ``demand`` is each niche's monthly
    demand; ``concentration_at_start`` its Herfindahl index when it first
    traded, against which its prices move.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self._ids: dict[str, int] = {}
        self.demand = np.zeros(0)
        self.concentration_at_start = np.zeros(0)

    def index(self, name: str) -> int:
        """Index of a niche, created with zero demand if new."""
        found = self._ids.get(name)
        if found is None:
            found = self._ids[name] = len(self.names)
            self.names.append(name)
            self.demand = np.append(self.demand, 0.0)
            self.concentration_at_start = np.append(self.concentration_at_start, np.nan)
        return found


@dataclass
class Journal:
    """Plain-language lines (step, kind, text): scheduled events always, other kinds when ``record`` is set."""

    record: bool = False
    lines: list[tuple[int, str, str]] = field(default_factory=list)

    def note(self, step: int, kind: str, text: str) -> None:
        """Add a line (scheduled events always; others when recording)."""
        if kind == "event" or self.record:
            self.lines.append((step, kind, text))


class World:
    """Every piece of state of one run.

    Parameters
    ----------
    scenario : Scenario
        The world to build; its firms are added by :mod:`sim.population`.
    seed : int
        Seed of every random stream.
    record_events : bool
        Also journal firms leaving the market.
    """

    def __init__(self, scenario: Scenario, seed: int, record_events: bool = False) -> None:
        group = scenario.group
        self.scenario = scenario
        self.seed = seed
        self.streams = RandomStreams(seed)
        self.now = 0
        self.firms = FirmTable(scenario.measures.culture_dims, capacity=max(16, 2 * scenario.initial_firm_count))
        self.cooperations = CooperationTable()
        self.partners = SortedIndex()
        self.ledger = TrustLedger(scenario.trust, self.firms, group.information_sharing if group is not None else 0.0)
        self.niches = Niches()
        self.shared_services = group is not None and group.shared_services
        self.tally = Tally()
        self.ended: list[np.ndarray] = []
        self.journal = Journal(record_events)
        self.changed: set[int] = set()
