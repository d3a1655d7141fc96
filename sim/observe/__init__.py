"""Observing a run without changing it: measures, the cooperation log, the network, the chronicle.

- :mod:`sim.observe.measures`: every per-month measure, focal firms, the DataCollector.
- :mod:`sim.observe.log`: the cooperation log, one row per cooperation, its columns declared once.
- :mod:`sim.observe.network`: network measures, the network as a networkx graph built from the state when asked, exports.
- :mod:`sim.observe.chronicle`: each month told in plain words.

Observers read a model through :class:`Observed`: the attributes every
:class:`~sim.model.CooperationModel` has, so this package never imports the
model.
"""

from __future__ import annotations

from typing import Protocol

from sim.kreislauf import Kreislauf
from sim.market import Market
from sim.scenario import Scenario
from sim.state.firms import FirmTable
from sim.state.ledger import TrustLedger
from sim.state.world import World

__all__ = ["Observed"]


class Observed(Protocol):
    """What an observer reads of a model: its world and the readable faces of its parts."""

    world: World
    scenario: Scenario
    seed: int
    kreislauf: Kreislauf
    market: Market

    @property
    def steps(self) -> int:
        """Months stepped so far."""

    @property
    def firms(self) -> FirmTable:
        """The firms' table."""

    @property
    def ledger(self) -> TrustLedger:
        """The trust ledger."""

    @property
    def journal(self) -> list[tuple[int, str, str]]:
        """The journal's lines."""
