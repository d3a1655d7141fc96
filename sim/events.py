"""Scheduled events: firms join or leave, traits change, competition opens, services end.

The scenario's ``[[events]]`` run at the start of their step, before the
cycle, so the month's needs assessment already sees them. Each applied event
is written to ``model.journal`` in plain language.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.scenario import (
    JoinEvent,
    LeaveEvent,
    OpenCompetitionEvent,
    RemoveSharedServicesEvent,
    TraitChangeEvent,
)
from sim.vocabulary import PRODUCER, SERVICE, TRAITS, Reason

if TYPE_CHECKING:
    from sim.model import CooperationModel
    from sim.scenario import Event, Scenario

__all__ = ["Schedule"]


class Schedule:
    """The scenario's events, by step.

    Parameters
    ----------
    scenario : Scenario
        Source of the events.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.by_step: dict[int, list] = defaultdict(list)
        for event in scenario.events:
            self.by_step[event.step].append(event)

    def add(self, event: Event) -> None:
        """Schedule one more event (it runs after those the scenario gave for its step)."""
        self.by_step[event.step].append(event)

    def apply(self, model: CooperationModel, now: int) -> None:
        """Apply the events due at step ``now``, in file order."""
        for event in self.by_step.get(now, []):
            text = _APPLY[type(event)](model, event, now)
            model.note(now, "event", text)


def _join(model: CooperationModel, event: JoinEvent, now: int) -> str:
    if event.firm is not None:
        model.add_named_firm(event.firm, now)
        return f"{event.firm.name} joins" + (" the group" if event.firm.group else " the market")
    pop = next(p for p in model.scenario.populations if p.name == event.population)
    idx = model.add_population(pop, 1, now)
    return f"{model.firms.names[int(idx[0])]} joins" + (" the group" if pop.group else " the market")


def _leave(model: CooperationModel, event: LeaveEvent, now: int) -> str:
    idx = model.firms.index_of(event.firm)
    model.remove_firms(np.array([idx]), now, Reason.PARTNER_LEFT)
    return f"{event.firm} leaves; its cooperations end"


def _trait(model: CooperationModel, event: TraitChangeEvent, now: int) -> str:
    idx = model.firms.index_of(event.firm)
    col = TRAITS.index(event.trait)
    before = float(model.firms.traits[idx, col])
    model.firms.traits[idx, col] = event.value
    return f"{event.firm}'s {event.trait} changes from {before:.2f} to {event.value:.2f}"


def _compete(model: CooperationModel, event: OpenCompetitionEvent, now: int) -> str:
    firms = model.firms
    first, second = (firms.index_of(name) for name in event.firms)
    keep, merge = int(firms.niche[first]), int(firms.niche[second])
    if keep != merge:
        n = firms.n
        movers = (firms.niche[:n] == merge) & (firms.role[:n] == PRODUCER)
        firms.niche[:n][movers] = keep
        model.market.demand[keep] += model.market.demand[merge]
        model.market.demand[merge] = 0.0
        model.kreislauf.refresh_rivalry()
    names = " and ".join(event.firms)
    return f"competition opens between {names}: they now sell in one niche, {model.market.niche_names[keep]!r}"


def _remove_services(model: CooperationModel, event: RemoveSharedServicesEvent, now: int) -> str:
    # The group's service firms exist to serve its members: without shared
    # services they close, and all their cooperations end with them.
    model.shared_services = False
    firms = model.firms
    services = np.flatnonzero(firms.alive[: firms.n] & (firms.role[: firms.n] == SERVICE) & firms.member[: firms.n])
    model.remove_firms(services, now, Reason.SERVICES_REMOVED)
    return "shared services are removed: the service firms close, producers carry their own overhead again"


_APPLY: dict[type, Callable[..., str]] = {
    JoinEvent: _join,
    LeaveEvent: _leave,
    TraitChangeEvent: _trait,
    OpenCompetitionEvent: _compete,
    RemoveSharedServicesEvent: _remove_services,
}
