"""The group structure: a competition-free group of firms like the B.I.G.

What makes the group (seed 000, section 3), and where the model does it:

- one campus: members sit at one place, so coordination costs nothing and
  set-up is cheaper (:func:`admit_members`; costs in :mod:`sim.kreislauf`);
- shared information: what members see of any firm enters the community's
  evidence, which every member's trust reads (:mod:`sim.trust`); at step 0
  the community has years of shared history with the members (:func:`form_group`);
- shared services: service firms carry producers' overheads for a fee,
  under contracts in force from step 0, or from the month a member joins
  (:func:`form_group`, :func:`admit_members`; the accounts in :mod:`sim.market`);
- a common starting culture and member selection (drawn in
  :mod:`sim.model` and :mod:`sim.traits`), and distinct niches (checked by
  :mod:`sim.scenario`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.vocabulary import BENEVOLENCE, INTEGRITY, PRODUCER, SERVICE

if TYPE_CHECKING:
    from sim.model import CooperationModel

__all__ = ["admit_members", "form_group"]


def form_group(model: CooperationModel) -> None:
    """At step 0: members know each other from their shared history; service contracts run."""
    group = model.scenario.group
    if group is None:
        return
    firms = model.firms
    members = np.flatnonzero(firms.member[: firms.n])
    _acquaint(model, members, history=group.shared_history)
    if group.shared_services:
        model.kreislauf.contract_services(
            members[firms.role[members] == SERVICE], members[firms.role[members] == PRODUCER], 0
        )


def admit_members(model: CooperationModel, members: np.ndarray) -> None:
    """Members joining later: onto the campus, known to all, served by the service firms.

    The community has no shared history with a newcomer yet.
    """
    if model.scenario.group is None or not len(members):
        return
    firms = model.firms
    _acquaint(model, members, history=0.0)
    if model.shared_services:
        everyone = np.flatnonzero(firms.member[: firms.n] & firms.alive[: firms.n])
        services = everyone[firms.role[everyone] == SERVICE]
        producers = everyone[firms.role[everyone] == PRODUCER]
        new = np.isin(services, members)
        # New service firms serve every producer; new producers are served by every service firm.
        model.kreislauf.contract_services(services[new], producers, model.steps)
        model.kreislauf.contract_services(services[~new], producers[np.isin(producers, members)], model.steps)


def _acquaint(model: CooperationModel, members: np.ndarray, history: float) -> None:
    """Members move onto the campus and know every member; the community has ``history`` months with them."""
    group = model.scenario.group
    assert group is not None
    firms = model.firms
    if group.campus:
        firms.on_campus[members] = True
        firms.location[members] = group.campus_location
    if history > 0:
        p = model.scenario.kreislauf
        # Expected breaks and grabs of a month, by the relationship's rules,
        # under the group's contract degree.
        deterrence = 1 - group.contract_degree * p.contract_enforcement
        p_break = p.temptation * deterrence * (1 - firms.traits[members, INTEGRITY])
        p_grab = p.grab_temptation * (1 - firms.traits[members, BENEVOLENCE])
        model.ledger.seed_community(members, history, p_break, p_grab)
    everyone = np.flatnonzero(firms.member[: firms.n] & firms.alive[: firms.n])
    i, j = np.meshgrid(everyone, members, indexing="ij")
    apart = i != j
    i, j = i[apart], j[apart]
    model.ledger.slots(np.concatenate([i, j]), np.concatenate([j, i]))
