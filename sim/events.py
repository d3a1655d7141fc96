"""Scheduled events: firms join or leave, traits change, competition opens, services end.

The scenario's ``[[events]]`` run at the start of their step, before the
cycle, so the month's needs assessment already sees them. Each applied event
is written to ``model.journal`` in plain language.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np

from sim import rules
from sim.population import Demography
from sim.scenario import (
    Event,
    JoinEvent,
    LeaveEvent,
    OpenCompetitionEvent,
    RemoveSharedServicesEvent,
    TraitChangeEvent,
)
from sim.state.world import World
from sim.vocabulary import PRODUCER, SERVICE, TRAITS, Reason

__all__ = ["Schedule"]


class Schedule:
    """The scenario's events, by step, and what each does to the world.

    Parameters
    ----------
    world : World
        The state events change; its scenario gives the events.
    demography : Demography
        Adds and removes firms (their cooperations end with them).
    """

    def __init__(self, world: World, demography: Demography) -> None:
        self.world, self.demography = world, demography
        self.by_step: dict[int, list[Event]] = defaultdict(list)
        for event in world.scenario.events:
            self.by_step[event.step].append(event)

    def add(self, event: Event) -> None:
        """Schedule one more event (it runs after those the scenario gave for its step)."""
        self.by_step[event.step].append(event)

    def apply(self, now: int) -> None:
        """Apply the events due at step ``now``, in file order, each journaled in plain language."""
        for event in self.by_step.get(now, []):
            text = _APPLY[type(event)](self, event, now)
            self.world.journal.note(now, "event", text)


def _join(s: Schedule, event: JoinEvent, now: int) -> str:
    if event.firm is not None:
        s.demography.add_named(event.firm, now)
        return f"{event.firm.name} joins" + (" the group" if event.firm.group else " the market")
    pop = next(p for p in s.world.scenario.populations if p.name == event.population)
    idx = s.demography.add_drawn(pop, 1, now)
    return f"{s.world.firms.names[int(idx[0])]} joins" + (" the group" if pop.group else " the market")


def _leave(s: Schedule, event: LeaveEvent, now: int) -> str:
    idx = s.world.firms.index_of(event.firm)
    s.demography.remove(np.array([idx]), now, Reason.PARTNER_LEFT)
    return f"{event.firm} leaves; its cooperations end"


def _trait(s: Schedule, event: TraitChangeEvent, now: int) -> str:
    firms = s.world.firms
    idx = firms.index_of(event.firm)
    col = TRAITS.index(event.trait)
    before = float(firms.traits[idx, col])
    firms.traits[idx, col] = event.value
    s.world.changed.add(idx)
    return f"{event.firm}'s {event.trait} changes from {before:.2f} to {event.value:.2f}"


def _compete(s: Schedule, event: OpenCompetitionEvent, now: int) -> str:
    firms, niches = s.world.firms, s.world.niches
    first, second = (firms.index_of(name) for name in event.firms)
    keep, merge = int(firms.niche[first]), int(firms.niche[second])
    if keep != merge:
        n = firms.n
        movers = (firms.niche[:n] == merge) & (firms.role[:n] == PRODUCER)
        firms.niche[:n][movers] = keep
        niches.demand[keep] += niches.demand[merge]
        niches.demand[merge] = 0.0
        # Which live cooperations are between competitors now.
        t = s.world.cooperations
        live = t.live()
        a, b = t.a[live], t.b[live]
        t.competitor[live] = rules.rivals(firms.niche[a], firms.niche[b], firms.role[a], firms.role[b])
    names = " and ".join(event.firms)
    return f"competition opens between {names}: they now sell in one niche, {niches.names[keep]!r}"


def _remove_services(s: Schedule, event: RemoveSharedServicesEvent, now: int) -> str:
    # The group's service firms exist to serve its members: without shared
    # services they close, and all their cooperations end with them.
    s.world.shared_services = False
    firms = s.world.firms
    services = np.flatnonzero(firms.alive[: firms.n] & (firms.role[: firms.n] == SERVICE) & firms.member[: firms.n])
    s.demography.remove(services, now, Reason.SERVICES_REMOVED)
    return "shared services are removed: the service firms close, producers carry their own overhead again"


_APPLY: dict[type, Callable[..., str]] = {
    JoinEvent: _join,
    LeaveEvent: _leave,
    TraitChangeEvent: _trait,
    OpenCompetitionEvent: _compete,
    RemoveSharedServicesEvent: _remove_services,
}
