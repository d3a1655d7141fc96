"""The group structure: a competition-free group of firms like the B.I.G.

What makes the group (seed 000, section 3), and where the model does it:

- one campus: members sit at one place, so coordination costs nothing and
  set-up is cheaper (:func:`admit_members`; costs in :mod:`sim.kreislauf`);
- shared information: what members see of any firm enters the community's
  evidence, which every member's trust reads (:mod:`sim.state.ledger`); at step 0
  the community has years of shared history with the members (:func:`form_group`);
- shared services: service firms carry producers' overheads for a fee,
  under contracts in force from step 0, or from the month a member joins
  (:func:`form_group`, :func:`admit_members`; the accounts in :mod:`sim.market`);
- generalised trust: breaches members learn of through pooled information
  lower the community's climate, and with it members' trust in every firm
  (:func:`update_climate`, the group's ``contagion``);
- a common starting culture and member selection (drawn in
  :mod:`sim.population` and :mod:`sim.traits`), and distinct niches (checked by
  :mod:`sim.scenario`).
"""

from __future__ import annotations

import numpy as np

from sim import rules
from sim.kreislauf import Kreislauf
from sim.state.world import World
from sim.vocabulary import BENEVOLENCE, INTEGRITY, PRODUCER, SERVICE

__all__ = ["admit_members", "form_group", "update_climate"]


def form_group(world: World, kreislauf: Kreislauf) -> None:
    """At step 0: members know each other from their shared history; service contracts run."""
    group = world.scenario.group
    if group is None:
        return
    firms = world.firms
    members = np.flatnonzero(firms.member[: firms.n])
    _acquaint(world, members, history=group.shared_history)
    if group.shared_services:
        kreislauf.contract_services(
            members[firms.role[members] == SERVICE], members[firms.role[members] == PRODUCER], 0
        )


def admit_members(world: World, kreislauf: Kreislauf, members: np.ndarray) -> None:
    """Members joining later: onto the campus, known to all, served by the service firms.

    The community has no shared history with a newcomer yet.
    """
    if world.scenario.group is None or not len(members):
        return
    firms = world.firms
    _acquaint(world, members, history=0.0)
    if world.shared_services:
        everyone = np.flatnonzero(firms.member[: firms.n] & firms.alive[: firms.n])
        services = everyone[firms.role[everyone] == SERVICE]
        producers = everyone[firms.role[everyone] == PRODUCER]
        new = np.isin(services, members)
        # New service firms serve every producer; new producers are served by every service firm.
        kreislauf.contract_services(services[new], producers, world.now)
        kreislauf.contract_services(services[~new], producers[np.isin(producers, members)], world.now)


def _acquaint(world: World, members: np.ndarray, history: float) -> None:
    """Members move onto the campus and know every member; the community has ``history`` months with them."""
    group = world.scenario.group
    assert group is not None
    firms = world.firms
    if group.campus:
        firms.on_campus[members] = True
        firms.location[members] = group.campus_location
    if history > 0:
        p = world.scenario.kreislauf
        # Expected breaks and grabs of a month, by the relationship's rules,
        # under the group's contract degree.
        p_break = rules.breach_chance(
            firms.traits[members, INTEGRITY], p.temptation, group.contract_degree, p.contract_enforcement
        )
        p_grab = rules.grab_chance(firms.traits[members, BENEVOLENCE], p.grab_temptation)
        world.ledger.seed_community(members, history, p_break, p_grab)
    everyone = np.flatnonzero(firms.member[: firms.n] & firms.alive[: firms.n])
    i, j = np.meshgrid(everyone, members, indexing="ij")
    apart = i != j
    i, j = i[apart], j[apart]
    world.ledger.slots(np.concatenate([i, j]), np.concatenate([j, i]))


def update_climate(world: World) -> None:
    """The community's climate now, and the share of their trust members keep (generalised trust).

    The climate is the share of positive evidence in the community's pooled
    evidence about its members' integrity (:func:`sim.rules.community_climate`);
    its first value with evidence is the group's start. While it is below
    its start, every member's trust in every firm is scaled by
    :func:`sim.rules.climate_factor`.
    """
    group, ledger, firms = world.scenario.group, world.ledger, world.firms
    if group is None or ledger.sharing == 0 or group.contagion == 0:
        return
    members = np.flatnonzero(firms.member[: firms.n] & firms.alive[: firms.n])
    climate = rules.community_climate(ledger.community_r[members, INTEGRITY], ledger.community_s[members, INTEGRITY])
    if not ledger.climate_at_start > 0:
        ledger.climate_at_start = climate
    ledger.kept_by_members = rules.climate_factor(climate, ledger.climate_at_start, group.contagion)
