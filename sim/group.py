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
- members leave: at each review the group lets go a member whose culture no
  longer fits or whom the others no longer trust (:func:`review_members`,
  :func:`leave_group`), as stakes were exited when the culture did not fit;
- a common starting culture and member selection (drawn in
  :mod:`sim.population` and :mod:`sim.traits`), and distinct niches (checked by
  :mod:`sim.scenario`).
"""

from __future__ import annotations

import numpy as np

from sim import rules
from sim.kreislauf import Kreislauf
from sim.state.world import World
from sim.vocabulary import BENEVOLENCE, INTEGRITY, PRODUCER, SERVICE, Reason

__all__ = ["admit_members", "form_group", "leave_group", "review_members", "update_climate"]


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
    if world.now > 0:
        world.tally["members_joined"] += len(members)


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


def review_members(world: World, kreislauf: Kreislauf, now: int) -> None:
    """Every ``group.review_period`` months the group reviews its members and lets go those that no longer fit.

    A member's culture is compared with the other members' mean culture, and
    the other members' trust in it (overall and in its integrity) is
    averaged; :func:`sim.rules.member_verdict` judges them by the
    cooperations' exit thresholds.
    """
    group = world.scenario.group
    if group is None or group.review_period == 0 or now == 0 or now % group.review_period:
        return
    firms, p = world.firms, world.scenario.kreislauf
    members = np.flatnonzero(firms.member[: firms.n] & firms.alive[: firms.n])
    m = len(members)
    if m < 2:
        return
    culture = firms.culture[members]
    others_mean = (culture.sum(axis=0) - culture) / (m - 1)
    fit = rules.culture_fit(culture, others_mean)
    owners, subjects = np.meshgrid(members, members, indexing="ij")
    off = owners != subjects
    pillars = world.ledger.pillars(owners[off], subjects[off])
    of = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")[1][off]  # the position of each subject
    trust = np.bincount(of, weights=pillars @ world.ledger.weights, minlength=m) / (m - 1)
    reliability = np.bincount(of, weights=pillars[:, INTEGRITY], minlength=m) / (m - 1)
    verdict = rules.member_verdict(fit, trust, reliability, p.exit_culture_fit, p.exit_trust, p.exit_reliability)
    for reason in (Reason.LOW_TRUST, Reason.CULTURE):
        leave_group(world, kreislauf, members[verdict == int(reason)], reason, now)


def leave_group(world: World, kreislauf: Kreislauf, leaving: np.ndarray, reason: Reason, now: int) -> None:
    """Members leave the group: their shared-service contracts end and they move off the campus.

    They stay in the market with their other cooperations; the community
    keeps what it has seen of them but no longer pools what they see.
    """
    if not len(leaving):
        return
    firms, t = world.firms, world.cooperations
    firms.member[leaving] = False
    if firms.on_campus[leaving].any():
        firms.on_campus[leaving] = False
        firms.location[leaving] = world.streams["group"].uniform(
            0.0, world.scenario.market.region_km, (len(leaving), 2)
        )
    open_ = t.open_ids()
    flag = np.zeros(firms.n + 1, dtype=bool)
    flag[leaving] = True
    kreislauf.end(open_[t.service[open_] & (flag[t.a[open_]] | flag[t.b[open_]])], Reason.LEFT_GROUP, now)
    world.tally["members_left"] += len(leaving)
    why = "the others no longer trust it" if reason is Reason.LOW_TRUST else "its culture no longer fits"
    for i in leaving.tolist():
        world.journal.note(now, "event", f"{firms.names[i]} leaves the group: {why}")
