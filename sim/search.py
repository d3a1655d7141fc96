"""Partner search: whom a searcher considers, what each pair would agree on, and who agrees with whom.

The mechanics of phase 2 of the Kreislauf (:meth:`sim.kreislauf.Kreislauf.search_partners`):

- :func:`candidates`: known contacts always; a searcher yielding to
  familiarity bias stops there if any of them is free (the hasty choice of
  seed 001); the others also screen a random sample of the market.
- :func:`eligible_pairs`: who may cooperate with whom now (alive, free
  capacity, not already partners; service firms serve only their group).
- :func:`terms`: what searcher and candidate would agree on and whether both
  would (the formulas are in :mod:`sim.rules`).
- :func:`resolve`: in the order their searches began, each searcher asks its
  ranked candidates in turn and takes the first that agrees.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from sim import rules
from sim.kernels import ask_in_turn, pair_columns, ragged_to_rows
from sim.state.pairs import unordered
from sim.state.world import World
from sim.streams import sample_rows
from sim.vocabulary import COMPETENCE, DIGITAL, SERVICE

__all__ = [
    "Terms",
    "candidates",
    "eligible_pairs",
    "free_contact_pairs",
    "has_free_contact",
    "resolve",
    "terms",
    "terms_for_trust",
]


@dataclass
class Terms:
    """What searchers and candidates would agree on: one entry per (searcher, candidate) pair."""

    trust_ab: Any  # the searcher's trust in the candidate
    transparency: Any
    contract: Any
    competitor: Any
    campus: Any
    distance: Any
    culture_fit: Any
    fit: Any  # (k, 2): share of each side's gap the other covers
    expected: Any  # (k, 2): expected monthly net benefit of each side
    setup: Any  # each side's set-up cost
    consent: Any  # both sides agree (win-win)
    score: Any = 0.0  # the ranking that chose the candidate

    @classmethod
    def concatenate(cls, parts: list[Terms]) -> Terms:
        """The terms of ``parts`` one after the other, as if weighed at once."""
        return cls(**{name: np.concatenate([getattr(part, name) for part in parts]) for name in _TERMS_PICKED})

    def take(self, positions: np.ndarray | slice) -> Terms:
        """The terms of the candidates at ``positions`` (an index array or a slice)."""
        picked = {name: getattr(self, name)[positions] for name in _TERMS_PICKED}
        score = self.score[positions] if isinstance(self.score, np.ndarray) else np.zeros(len(picked["consent"]))
        return Terms(**picked, score=score)


#: The fields of :class:`Terms` that :meth:`Terms.take` picks by position (all but the score).
_TERMS_PICKED = [f.name for f in fields(Terms) if f.name != "score"]

#: Pairs weighed at a time. A month's search can weigh millions of pairs
#: (every firm of a 100,000-firm market screening its candidates); weighed
#: block by block, each step's temporary arrays stay small enough for the
#: processor's caches and are not fresh memory from the operating system, so
#: the cost per pair does not grow with the market: at 100,000 firms about
#: 2.4 us a pair in one block, 0.5 us in blocks of 8,192 (the same numbers).
PAIRS_AT_ONCE = 8192


def _blocks(n: int) -> list[slice]:
    """Consecutive slices of at most :data:`PAIRS_AT_ONCE` positions covering ``range(n)``."""
    return [slice(start, start + PAIRS_AT_ONCE) for start in range(0, n, PAIRS_AT_ONCE)]


def eligible_pairs(world: World, a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Whether each firm ``c[i]`` may cooperate with searcher ``a[i]`` now.

    Alive, with free capacity, not the searcher itself, not already its
    partner; service firms serve only members of their own group, and only
    while the group has shared services.
    """
    firms = world.firms
    ok = (c != a) & firms.alive[c] & (firms.load[c] < firms.capacity[c])
    serves = firms.role[c] == SERVICE
    if (serves & ok).any():
        ok &= ~serves | (firms.member[a] & firms.member[c] & world.shared_services)
    if len(world.partners) and ok.any():
        # Only the candidates that pass the cheap tests are looked up.
        at = ok.nonzero()[0]
        ok[at] = world.partners.find(unordered(a[at], c[at])) < 0
    return ok


def free_contact_pairs(world: World, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each owner's acquaintances it could cooperate with now, as (position in ``owners``, firm) pairs."""
    which, known = world.ledger.contact_pairs(owners)
    ok = eligible_pairs(world, owners[which], known)
    return which[ok], known[ok]


def has_free_contact(world: World, owners: np.ndarray) -> np.ndarray:
    """Whether each owner knows a firm it could cooperate with now."""
    which, _ = free_contact_pairs(world, owners)
    return np.bincount(which, minlength=len(owners)) > 0


def candidates(world: World, searchers: np.ndarray, familiar: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The firms each searcher considers, one row each, padded with -1.

    Known contacts always; a searcher yielding to familiarity bias stops
    there if any of them is free (the hasty choice); the others also screen
    a random sample of the market (``search_breadth`` draws).

    Returns
    -------
    cands : numpy.ndarray
        Shape ``(len(searchers), k)``, candidate firm indices or -1.
    hasty : numpy.ndarray
        Whether each searcher chose among acquaintances only.
    screened : numpy.ndarray
        Distinct firms each searcher screened in the market.
    """
    firms, p = world.firms, world.scenario.kreislauf
    which, free = free_contact_pairs(world, searchers)
    known = ragged_to_rows(which, free, len(searchers))
    hasty = familiar & (np.bincount(which, minlength=len(searchers)) > 0)
    alive = firms.alive_idx
    k = min(p.search_breadth, len(alive))
    sample = np.full((len(searchers), k), -1, dtype=np.int64)
    market = ~hasty
    if k and market.any():
        sample[market] = sample_rows(world.streams["search"], alive, int(market.sum()), k)
    sample[sample == searchers[:, None]] = -1  # a searcher does not screen itself
    screened = (sample >= 0).sum(axis=1)
    r, col = np.nonzero(sample >= 0)
    ok = np.zeros(sample.shape, dtype=bool)
    ok[r, col] = eligible_pairs(world, searchers[r], sample[r, col])
    sample[~ok] = -1
    return _distinct(np.concatenate([known, sample], axis=1)), hasty, screened


def _distinct(rows: np.ndarray) -> np.ndarray:
    """Each row sorted with repeats replaced by -1 (padding -1 stays)."""
    if rows.shape[1] == 0:
        return rows
    out = np.sort(rows, axis=1)
    repeat = np.zeros_like(out, dtype=bool)
    repeat[:, 1:] = out[:, 1:] == out[:, :-1]
    out[repeat] = -1
    return out


def terms_for_trust(
    world: World, a: np.ndarray, b: np.ndarray, mean_trust: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transparency, contract degree and rivalry of pairs whose partners hold the given mean trust."""
    firms, p, group = world.firms, world.scenario.kreislauf, world.scenario.group
    competitor = rules.rivals(firms.niche[a], firms.niche[b], firms.role[a], firms.role[b])
    service = rules.is_service_pair(firms.role[a], firms.role[b]) if group is not None else None
    transparency, contract = rules.agreement_terms(
        mean_trust,
        competitor,
        service,
        p.transparency_base,
        p.competitor_caution,
        p.contract_base,
        group.contract_degree if group is not None else 0.0,
    )
    return transparency, contract, competitor


def terms(
    world: World,
    a: np.ndarray,
    cands: np.ndarray,
    needs: np.ndarray,
    totals: np.ndarray,
    eff: np.ndarray,
    profile: np.ndarray,
) -> Terms:
    """What each searcher ``a[i]`` and candidate ``cands[i]`` would agree on, and whether both would.

    Weighed :data:`PAIRS_AT_ONCE` pairs at a time (:func:`_terms_of_block`
    says how); every pair's terms depend on that pair alone.
    """
    if len(a) <= PAIRS_AT_ONCE:
        return _terms_of_block(world, a, cands, needs, totals, eff, profile)
    return Terms.concatenate(
        [_terms_of_block(world, a[at], cands[at], needs, totals, eff, profile[at]) for at in _blocks(len(a))]
    )


def _terms_of_block(
    world: World,
    a: np.ndarray,
    cands: np.ndarray,
    needs: np.ndarray,
    totals: np.ndarray,
    eff: np.ndarray,
    profile: np.ndarray,
) -> Terms:
    """The terms of one block of pairs (see :func:`terms`).

    ``needs`` are every firm's needs this month and ``totals`` their sums,
    ``eff`` every firm's effective capabilities; ``profile`` holds each
    searcher's requirements profile: the gaps its needs assessment found.
    The candidate's fit is the share of it the candidate covers.

    Each side expects the other's contribution as its perceived competence,
    reduced where it doubts the other's integrity; its own it knows. Both
    must expect a monthly net gain that repays their set-up cost within
    ``payback_months`` (win-win), and the candidate must not distrust the
    searcher.
    """
    firms, p, ledger = world.firms, world.scenario.kreislauf, world.ledger
    k = len(a)
    # Both directions at once: rows [0, k) of the stacked arrays are the
    # searcher's view (own a, other the candidate), rows [k, 2k) the
    # candidate's; as (2, k) they broadcast against per-pair arrays.
    own, other = np.concatenate([a, cands]), np.concatenate([cands, a])
    both_ways = ledger.pillars(own, other)  # one lookup
    trust_ab, trust_ba = both_ways[:k] @ ledger.weights, both_ways[k:] @ ledger.weights
    transparency, contract, competitor = terms_for_trust(world, a, cands, 0.5 * (trust_ab + trust_ba))
    size = firms.size
    # Rows of both sides, read once (take: see sim.kernels).
    needs_own = needs.take(own, axis=0)
    caps_own, caps_other = firms.caps.take(own, axis=0), firms.caps.take(other, axis=0)
    eff_own = eff.take(own, axis=0)
    cover = rules.coverage(needs_own, caps_own, caps_other, p.partner_access, total=totals[own])
    synergy = np.minimum(1.0, p.baseline_synergy + cover[:k] + cover[k:])
    culture_fit = rules.culture_fit(firms.culture.take(a, axis=0), firms.culture.take(cands, axis=0))
    diff = firms.location.take(cands, axis=0) - firms.location.take(a, axis=0)
    distance = np.hypot(diff[:, 0], diff[:, 1])
    campus = firms.on_campus[a] & firms.on_campus[cands]
    per_km = world.scenario.market.coordination_cost_per_100km / 100.0
    costs = rules.running_cost(distance, contract, per_km, p.contract_cost)

    # Each side's expected monthly net benefit (2, k).
    quality_other = rules.expected_quality(both_ways[:, 0], both_ways[:, 1], p.broken_delivery)
    value = rules.joint_value(
        p.value_per_employee,
        size[own].reshape(2, k),
        size[other].reshape(2, k),
        synergy,
        firms.traits[own, COMPETENCE].reshape(2, k),
        quality_other.reshape(2, k),
        transparency,
        culture_fit,
    )
    by_side = 0.5 * value - costs
    shared = firms.member[a] & firms.member[cands] if world.shared_services else None
    setup = rules.setup_cost(p.setup_cost, contract, campus, p.campus_discount, shared, p.shared_services_discount)
    # Fit, gap form: the searcher's needs are its profile on top of what it has.
    wanted = np.concatenate([eff_own[:k] + profile, needs_own[k:]])
    fits = rules.coverage(wanted, eff_own, caps_other, p.partner_access, of="gap")
    agrees = rules.consent(trust_ba, by_side[0], by_side[1], setup, p.payback_months, p.exit_trust)
    return Terms(
        trust_ab,
        transparency,
        contract,
        competitor,
        campus,
        distance,
        culture_fit,
        pair_columns(fits[:k], fits[k:]),
        pair_columns(by_side[0], by_side[1]),
        setup,
        agrees,
    )


def score(world: World, a: np.ndarray, cands: np.ndarray, terms: Terms) -> np.ndarray:
    """The requirements-profile score of each (searcher, candidate) pair (:func:`sim.rules.partner_score`).

    Scored :data:`PAIRS_AT_ONCE` pairs at a time, as :func:`terms` weighs them.
    """
    if len(a) <= PAIRS_AT_ONCE:
        return _score_of_block(world, a, cands, terms)
    return np.concatenate([_score_of_block(world, a[at], cands[at], terms.take(at)) for at in _blocks(len(a))])


def _score_of_block(world: World, a: np.ndarray, cands: np.ndarray, terms: Terms) -> np.ndarray:
    """The scores of one block of pairs (see :func:`score`)."""
    firms = world.firms
    region_diagonal = world.scenario.market.region_km * np.sqrt(2.0)
    nearness = 1.0 - np.minimum(terms.distance / region_diagonal, 1.0)
    return rules.partner_score(
        world.scenario.kreislauf.score_weights.model_dump(),
        terms.fit[:, 0],
        firms.size[a],
        firms.size[cands],
        firms.caps[a, DIGITAL],
        firms.caps[cands, DIGITAL],
        terms.culture_fit,
        firms.experience[cands],
        nearness,
        terms.trust_ab,
        terms.competitor,
    )


def resolve(
    world: World, searchers: np.ndarray, row: np.ndarray, cands: np.ndarray, order: np.ndarray, consent: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Who agrees with whom: (searcher positions, candidate positions), in searcher order.

    In the order their searches began, each searcher asks its ranked
    candidates in turn (at most ``max_proposals``) and takes the first that
    agrees. A firm that an earlier searcher filled up this month, or that
    already agreed with this searcher, is skipped, not asked
    (:func:`sim.kernels.ask_in_turn`). ``row`` is each candidate's searcher
    (position in ``searchers``), ``order`` the candidates by searcher, best first.
    """
    firms = world.firms
    room = (firms.capacity - firms.load).astype(np.int64)  # free places, as they fill (a copy the loop changes)
    bounds = row[order].searchsorted(np.arange(len(searchers) + 1))

    def ints(values: np.ndarray) -> np.ndarray:  # contiguous int64, copied only if it is not already
        return np.ascontiguousarray(values, dtype=np.int64)

    return ask_in_turn(
        ints(searchers), ints(order), ints(bounds), ints(cands), consent, room, world.scenario.kreislauf.max_proposals
    )
