"""The cycle of trust (Kreislauf des Vertrauens): what each phase does.

One method per phase, called in the order of the cycle by
:meth:`sim.model.CooperationModel.step`. A cooperation moves at most one
phase per month: each method only takes up cooperations that were already in
its phase when the month began.

1. :meth:`Kreislauf.assess_needs`: a firm compares the capability it needs in
   each domain with what it has (its own capability, or what a partner lets
   it draw on). With a real gap and free capacity it opens a cooperation; a
   month later the gaps become the requirements profile of a partner search.
2. :meth:`Kreislauf.search_partners`: candidates are known contacts and, unless
   the firm yields to familiarity bias, a costly market sample. Each is scored
   on the requirements profile (fit), similarity of size, digital maturity
   and culture, experience, nearness and perceived trustworthiness, with
   competitors marked down. The best are asked in turn; a candidate agrees
   only if both sides expect a net gain (win-win) and it does not distrust
   the searcher.
3. :meth:`Kreislauf.build_structures`: the agreement sets transparency (more
   with trust, less toward competitors), the degree of formal contract
   (control where trust is missing), a set-up time and cost (lower on one
   campus and with shared services) and the evaluation date.
4. :meth:`Kreislauf.run_relationships`: each month each side keeps or breaks
   the agreement (integrity, deterred by contract, tempted more between
   competitors), contributes by its competence and divides the joint value
   fairly or grabs (benevolence). Value grows with complementarity,
   competence, transparency and culture fit; coordination costs grow with
   distance. Know-how flows toward the less capable side, cultures converge,
   and each side updates its trust from what it saw.
5. :meth:`Kreislauf.evaluate`: at the agreed date each side weighs trust,
   realised against expected net benefit and culture fit. One side's exit
   ends the cooperation, with the reason recorded; otherwise the lessons go
   into the agreement and it continues. Partners tell their other partners
   what they learned (reputation).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.arrays import (
    add_distinct_rows,
    add_rows,
    argsort_firms,
    expand_ranges,
    find_sorted,
    max_last,
    max_rows,
    pair_columns,
    ragged_to_rows,
    sum_last,
)
from sim.cooperation import CooperationTable
from sim.streams import sample_rows
from sim.vocabulary import (
    BENEVOLENCE,
    COMPETENCE,
    DIGITAL,
    DOMAINS,
    EXIT_REASONS,
    INTEGRITY,
    OUTCOME_OF,
    PRODUCER,
    SERVICE,
    Outcome,
    Phase,
    Reason,
)

if TYPE_CHECKING:
    from sim.model import CooperationModel

__all__ = ["Kreislauf", "Terms", "joint_value"]

_PAIR = np.int64(1) << 32  # lo * _PAIR + hi identifies an unordered pair of firms


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The key of each unordered pair of firms ``a[i]``, ``b[i]``."""
    return np.minimum(a, b) * _PAIR + np.maximum(a, b)


#: The counter of each way a cooperation ends, and of each reason for an exit.
_OUTCOME_COUNT = {Outcome.EXIT: "exited", Outcome.NO_PARTNER: "no_partner", Outcome.DISSOLVED: "dissolved"}
_EXIT_COUNT = {r: f"exit_{r.name.lower()}" for r in EXIT_REASONS}

#: The per-month event counters that the measures read, all zero.
_ZERO_COUNTS: dict[str, float] = {
    "opened": 0,
    "searches": 0,
    "formed": 0,
    "started": 0,
    "evaluated": 0,
    "continued": 0,
    "exited": 0,
    "no_partner": 0,
    "dissolved": 0,
    "kept": 0,
    "broken": 0,
    "fair": 0,
    "grabbed": 0,
    "value": 0.0,
    "fit_sum": 0.0,
    **dict.fromkeys(_EXIT_COUNT.values(), 0),
}


def culture_fit_of(culture_a: np.ndarray, culture_b: np.ndarray) -> np.ndarray:
    """Culture fit of pairs: one minus the mean absolute difference of their culture vectors."""
    return 1.0 - sum_last(np.abs(culture_a - culture_b)) / culture_a.shape[-1]


def _distinct(rows: np.ndarray) -> np.ndarray:
    """Each row sorted with repeats replaced by -1 (padding -1 stays)."""
    if rows.shape[1] == 0:
        return rows
    out = np.sort(rows, axis=1)
    repeat = np.zeros_like(out, dtype=bool)
    repeat[:, 1:] = out[:, 1:] == out[:, :-1]
    out[repeat] = -1
    return out


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

    def take(self, positions: np.ndarray) -> Terms:
        """The terms of the candidates at ``positions``."""
        score = self.score[positions] if isinstance(self.score, np.ndarray) else np.zeros(len(positions))
        picked = {name: getattr(self, name)[positions] for name in _TERMS_PICKED}
        return Terms(**picked, score=score)


#: The fields of :class:`Terms` that :meth:`Terms.take` picks by position (all but the score).
_TERMS_PICKED = [f.name for f in fields(Terms) if f.name != "score"]


def joint_value(
    value_per_employee: float,
    size_a: np.ndarray,
    size_b: np.ndarray,
    synergy: np.ndarray,
    quality_a: np.ndarray,
    quality_b: np.ndarray,
    transparency: np.ndarray,
    culture_fit: np.ndarray,
) -> np.ndarray:
    r"""Joint value a cooperation creates in one month, k EUR.

    .. math::

        V = v \cdot \frac{2 s_a s_b}{s_a + s_b} \cdot \sigma \cdot \frac{q_a + q_b}{2}
            \cdot \frac{1 + \tau}{2} \cdot \phi

    with sizes :math:`s` (the harmonic mean: the smaller firm limits what the
    pair can absorb), synergy :math:`\sigma`, delivered qualities :math:`q`,
    transparency :math:`\tau` and culture fit :math:`\phi`.

    Examples
    --------
    >>> one = np.array([1.0])
    >>> float(joint_value(2.0, 10 * one, 10 * one, one, one, one, one, one)[0])
    20.0
    """
    scale = 2 * size_a * size_b / (size_a + size_b)
    return value_per_employee * scale * synergy * 0.5 * (quality_a + quality_b) * 0.5 * (1 + transparency) * culture_fit


class Kreislauf:
    """The five phases, acting on the model's cooperation and firm tables.

    Parameters
    ----------
    model : CooperationModel
        Gives the firms, the trust ledger, the network, the scenario and the random streams.
    """

    def __init__(self, model: CooperationModel) -> None:
        self.model = model
        self.params = model.scenario.kreislauf
        self.table = CooperationTable()
        self._pair_keys = np.zeros(0, dtype=np.int64)  # sorted keys of live pairs, kept as they change
        self.counts: dict[str, float] = {}
        self.reset_counts()
        self._needs = np.zeros((0, len(DOMAINS)))
        self._needs_key: tuple[int, int] = (-1, -1)
        self._need_totals = np.zeros(0)
        self._need_totals_key: tuple[int, int] = (-1, -1)
        self._eff_at_start = np.zeros((0, len(DOMAINS)))  # effective capabilities as the month began

    # ------------------------------------------------------------------
    # helpers shared by the phases
    # ------------------------------------------------------------------

    def reset_counts(self) -> None:
        """Zero the per-month event counters that the measures read."""
        self.counts = dict(_ZERO_COUNTS)

    def needs_now(self) -> np.ndarray:
        """Needed capability per firm and domain this month (digital needs grow over time).

        Computed once a month (and again when firms enter); do not modify.
        """
        firms = self.model.firms
        key = (self.model.steps, firms.n)
        if self._needs_key != key:
            needs = firms.needs[: firms.n].copy()
            growth = self.params.digital_need_growth * self.model.steps / 12.0
            has_need = needs[:, DIGITAL] > 0
            needs[has_need, DIGITAL] = np.minimum(1.0, needs[has_need, DIGITAL] + growth)
            self._needs, self._needs_key = needs, key
        return self._needs

    def effective_capabilities(self) -> np.ndarray:
        """Own capability, or what live partners let a firm draw on, whichever is higher."""
        firms = self.model.firms
        caps = firms.caps[: firms.n]
        eff = caps.copy()
        live = self.table.live()
        if len(live):
            # Both sides at once (the maximum does not depend on the order).
            a, b = self.table.a[live], self.table.b[live]
            sides, partners = np.concatenate([a, b]), np.concatenate([b, a])
            max_rows(eff, sides, self.params.partner_access * caps.take(partners, axis=0))  # take: see sim.arrays
        return eff

    def need_totals(self) -> np.ndarray:
        """Each firm's total need this month, the sum of :meth:`needs_now` over domains; do not modify."""
        needs = self.needs_now()
        if self._need_totals_key != self._needs_key:
            self._need_totals = sum_last(needs)
            self._need_totals_key = self._needs_key
        return self._need_totals

    def coverage(
        self, needs: np.ndarray, own: np.ndarray, other: np.ndarray, of: str = "need", total: np.ndarray | None = None
    ) -> np.ndarray:
        """How much of a firm's shortfall ``other`` covers beyond ``own`` (rows aligned or broadcast).

        With ``of="need"`` the covered amount is a share of the firm's total
        need (the synergy a partner brings); with ``of="gap"`` a share of its
        total gap (how well a candidate matches the requirements profile).
        ``total``, if given, is that total (it is summed over domains otherwise).
        """
        # np.maximum(x, 0.0) is what np.clip(x, 0.0, None) computes, without its wrappers.
        gap = np.maximum(needs - own, 0.0)
        covered = sum_last(np.minimum(gap, np.maximum(self.params.partner_access * other - own, 0.0)))
        if total is None:
            total = sum_last(needs if of == "need" else gap)
        return np.divide(covered, total, out=np.zeros_like(covered), where=total > 0)

    def end(self, ids: np.ndarray, reason: Reason, now: int, by: np.ndarray | None = None) -> None:
        """End cooperations for ``reason``: free capacity, drop edges, log them."""
        if len(ids) == 0:
            return
        t, firms, model = self.table, self.model.firms, self.model
        phase = t.phase[ids]
        t.move(ids, Phase.ENDED, now)
        t.ended[ids] = now
        t.reason[ids] = int(reason)
        if by is not None:
            t.exited_by[ids] = by
        a, b = t.a[ids], t.b[ids]
        live = phase >= int(Phase.STRUCTURE)
        # A shared-service contract does not occupy the producer's capacity
        # (carrying its overhead is what frees that capacity). Both sides in one
        # indexed add (whole numbers: the order does not matter).
        np.add.at(firms.load, np.concatenate([a[~t.service[ids]], b[live]]), -1)
        firms.searching[a[~live]] = False
        if live.any():
            gone = np.sort(_pair_key(a[live], b[live]))
            self._pair_keys = np.delete(self._pair_keys, self._pair_keys.searchsorted(gone))
        model.change_graph("remove_edges_from", list(zip(a[live].tolist(), b[live].tolist(), strict=True)))
        outcome = OUTCOME_OF[reason]
        self.counts[_OUTCOME_COUNT[outcome]] += len(ids)
        if outcome is Outcome.EXIT:
            self.counts[_EXIT_COUNT[reason]] += len(ids)
        model.log_cooperations(ids)

    def end_for_firms(self, firm_ids: np.ndarray, reason: Reason, now: int) -> None:
        """End every open cooperation that involves one of ``firm_ids``."""
        t = self.table
        open_ = t.open_ids()
        # A flag per firm, looked up by index (cheaper than np.isin's sort); the
        # extra last flag stays False for the -1 of a cooperation without partner.
        leaving = np.zeros(self.model.firms.n + 1, dtype=bool)
        leaving[firm_ids] = True
        self.end(open_[leaving[t.a[open_]] | leaving[t.b[open_]]], reason, now)

    # ------------------------------------------------------------------
    # 1. needs assessment
    # ------------------------------------------------------------------

    def assess_needs(self, now: int) -> None:
        """Turn last month's needs into requirements profiles; open cooperations for new needs."""
        firms, t, p = self.model.firms, self.table, self.params
        rng = self.model.streams["needs"]
        needs = self.needs_now()
        self._eff_at_start = self.effective_capabilities()
        gaps = np.maximum(needs - self._eff_at_start, 0.0)  # np.clip(..., 0.0, None), without its wrappers

        pending = t.in_phase(Phase.NEEDS_ASSESSMENT, before=now)
        if len(pending):
            still = max_last(gaps.take(t.a[pending], axis=0)) >= p.need_threshold
            self.end(pending[~still], Reason.NEED_VANISHED, now)
            go = pending[still]
            t.gap[go] = gaps.take(t.a[go], axis=0)
            # The hasty choice is only open to a firm with a free acquaintance.
            biased = rng.random(len(go)) < p.familiarity_bias
            hasty = go[biased]
            t.familiar[go] = False
            t.familiar[hasty] = self.has_free_contact(t.a[hasty]) if len(hasty) else False
            t.move(go, Phase.PARTNER_SEARCH, now)
            self.counts["searches"] += len(go)

        n = firms.n
        ready = (
            firms.alive[:n]
            & (firms.role[:n] == PRODUCER)
            & (firms.load[:n] < firms.capacity[:n])
            & ~firms.searching[:n]
            & (firms.next_search[:n] <= now)
            & (max_last(gaps) >= p.need_threshold)
        )
        new = ready.nonzero()[0]
        if len(new):
            t.open(new, now)
            firms.load[new] += 1
            firms.searching[new] = True
            self.counts["opened"] += len(new)

    # ------------------------------------------------------------------
    # 2. partner search
    # ------------------------------------------------------------------

    def search_partners(self, now: int) -> None:
        """Finish the searches that have taken their time: screen, score, propose, agree or give up.

        Searches ending in the same month screen the market together (one
        vectorised pass); then, in the order they began, each searcher asks
        its best candidates in turn, skipping those that meanwhile filled
        their capacity or became its partner.
        """
        t, p = self.table, self.params
        searching = t.in_phase(Phase.PARTNER_SEARCH, before=now)
        if not len(searching):
            return
        duration = np.where(t.familiar[searching], 1, p.search_steps)
        done = searching[now - t.since[searching] >= duration]
        if not len(done):
            return
        firms = self.model.firms
        searchers = t.a[done]
        cands, hasty, screened = self.candidates(searchers, t.familiar[done])
        profile = t.gap.take(done, axis=0)
        t.screened[done] = screened
        t.familiar[done] = hasty
        np.add.at(firms.coop_cost, searchers, screened * p.search_cost_per_candidate)

        row, col = np.nonzero(cands >= 0)
        if len(row):
            a, c = searchers[row], cands[row, col]
            # Firms weigh candidates by what they had as the month began.
            eff = self._eff_at_start if len(self._eff_at_start) == firms.n else self.effective_capabilities()
            terms = self.terms(a, c, self.needs_now(), eff, profile.take(row, axis=0))
            ranking = np.where(hasty[row], terms.trust_ab, self.score(a, c, terms))
            # By searcher, best first; equal rankings (strangers trusted at the
            # same prior, say) in random order rather than by firm index.
            shuffle = self.model.streams["search"].random(len(row))
            # (As np.lexsort((shuffle, -ranking, row)): the last, stable sort by
            # searcher is a radix sort of small integers.)
            order = np.lexsort((shuffle, -ranking))
            order = order[argsort_firms(row[order], len(searchers))]
            chosen, picks = self.resolve(searchers, row, c, order, terms.consent)
            if picks:
                pos = np.asarray(picks)
                terms.score = ranking
                self.counts["fit_sum"] += float(terms.fit[pos, 0].sum())
                self.agree(done[chosen], c[pos], terms.take(pos), now)
        failed = done[t.phase[done] == int(Phase.PARTNER_SEARCH)]
        if len(failed):
            firms.next_search[t.a[failed]] = now + p.search_retry_steps
            self.end(failed, Reason.NO_PARTNER, now)

    def resolve(
        self, searchers: np.ndarray, row: np.ndarray, cands: np.ndarray, order: np.ndarray, consent: np.ndarray
    ) -> tuple[list[int], list[int]]:
        """Who agrees with whom: (searcher positions, candidate positions), in searcher order.

        In the order their searches began, each searcher asks its ranked
        candidates in turn (at most ``max_proposals``) and takes the first
        that agrees. A firm that an earlier searcher filled up this month, or
        that already agreed with this searcher, is skipped, not asked.
        """
        firms, most = self.model.firms, self.params.max_proposals
        room = (firms.capacity - firms.load).tolist()  # free places, as they fill
        paired: set[int] = set()  # pairs agreed this month, as a * width + b in both orders
        width = len(room)
        ranked = order.tolist()
        bounds = row[order].searchsorted(np.arange(len(searchers) + 1)).tolist()
        firm_of, agrees = cands.tolist(), consent.tolist()
        chosen, picks = [], []
        for k, a in enumerate(searchers.tolist()):
            asked = 0
            for pos in ranked[bounds[k] : bounds[k + 1]]:
                b = firm_of[pos]
                if room[b] <= 0 or a * width + b in paired:
                    continue  # filled or agreed this month: not asked
                if agrees[pos]:
                    room[b] -= 1
                    paired.add(a * width + b)
                    paired.add(b * width + a)
                    chosen.append(k)
                    picks.append(pos)
                    break
                asked += 1
                if asked == most:
                    break
        return chosen, picks

    def free_contacts(self, owners: np.ndarray) -> np.ndarray:
        """Each owner's acquaintances it could cooperate with now, one row each, padded with -1."""
        which, known = self.free_contact_pairs(owners)
        return ragged_to_rows(which, known, len(owners))

    def free_contact_pairs(self, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`free_contacts` as (position in ``owners``, firm) pairs, by owner then firm index."""
        which, known = self.model.ledger.contact_pairs(owners)
        ok = self.eligible_pairs(owners[which], known)
        return which[ok], known[ok]

    def has_free_contact(self, owners: np.ndarray) -> np.ndarray:
        """Whether each owner knows a firm it could cooperate with now."""
        which, _ = self.free_contact_pairs(owners)
        return np.bincount(which, minlength=len(owners)) > 0

    def candidates(self, searchers: np.ndarray, familiar: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The firms each searcher considers, one row each, padded with -1.

        Known contacts always; a searcher yielding to familiarity bias stops
        there if any of them is free (the hasty choice); the others also
        screen a random sample of the market (``search_breadth`` draws).

        Returns
        -------
        cands : numpy.ndarray
            Shape ``(len(searchers), k)``, candidate firm indices or -1.
        hasty : numpy.ndarray
            Whether each searcher chose among acquaintances only.
        screened : numpy.ndarray
            Distinct firms each searcher screened in the market.
        """
        firms, p = self.model.firms, self.params
        which, free = self.free_contact_pairs(searchers)
        known = ragged_to_rows(which, free, len(searchers))
        hasty = familiar & (np.bincount(which, minlength=len(searchers)) > 0)
        alive = firms.alive_idx
        k = min(p.search_breadth, len(alive))
        sample = np.full((len(searchers), k), -1, dtype=np.int64)
        market = ~hasty
        if k and market.any():
            sample[market] = sample_rows(self.model.streams["search"], alive, int(market.sum()), k)
        sample[sample == searchers[:, None]] = -1  # a searcher does not screen itself
        screened = (sample >= 0).sum(axis=1)
        sample[~self.eligible(searchers, sample)] = -1
        return _distinct(np.concatenate([known, sample], axis=1)), hasty, screened

    def eligible(self, searchers: np.ndarray, cands: np.ndarray) -> np.ndarray:
        """Which candidates (rows aligned with searchers, -1 padding) may cooperate now; see :meth:`eligible_pairs`."""
        r, col = np.nonzero(cands >= 0)
        ok = np.zeros(cands.shape, dtype=bool)
        ok[r, col] = self.eligible_pairs(searchers[r], cands[r, col])
        return ok

    def eligible_pairs(self, a: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Whether each firm ``c[i]`` may cooperate with searcher ``a[i]`` now.

        Alive, with free capacity, not the searcher itself, not already its
        partner; service firms serve only members of their own group, and
        only while the group has shared services.
        """
        firms = self.model.firms
        ok = (c != a) & firms.alive[c] & (firms.load[c] < firms.capacity[c])
        serves = firms.role[c] == SERVICE
        if (serves & ok).any():
            ok &= ~serves | (firms.member[a] & firms.member[c] & self.model.shared_services)
        keys = self.pair_keys()
        if len(keys) and ok.any():
            # Only the candidates that pass the cheap tests are looked up.
            at = ok.nonzero()[0]
            ok[at] = find_sorted(keys, _pair_key(a[at], c[at])) < 0
        return ok

    def running_cost(self, distance: np.ndarray, contract: np.ndarray) -> np.ndarray:
        """Monthly cost to each side: half the coordination over the distance, and contract monitoring."""
        per_km = self.model.scenario.market.coordination_cost_per_100km / 100.0
        return 0.5 * per_km * distance + self.params.contract_cost * contract

    def refresh_rivalry(self) -> None:
        """Recompute which live cooperations are between competitors (after niches change)."""
        t, firms = self.table, self.model.firms
        live = t.live()
        a, b = t.a[live], t.b[live]
        t.competitor[live] = (
            (firms.niche[a] == firms.niche[b]) & (firms.role[a] == PRODUCER) & (firms.role[b] == PRODUCER)
        )

    def pair_keys(self) -> np.ndarray:
        """Sorted keys of the partner pairs of live cooperations (see :func:`_pair_key`); do not modify.

        Kept up to date as pairs agree (:meth:`agree`) and end (:meth:`end`),
        the only ways a cooperation becomes live or stops being live.
        """
        return self._pair_keys

    def score(self, a: np.ndarray, cands: np.ndarray, terms: Terms) -> np.ndarray:
        """The requirements-profile score of each (searcher, candidate) pair (seed 001 step 2)."""
        firms, w = self.model.firms, self.params.score_weights
        size_sim = 1.0 / (1.0 + np.abs(np.log10(firms.size[cands] / firms.size[a])))
        digital_sim = 1.0 - np.abs(firms.caps[cands, DIGITAL] - firms.caps[a, DIGITAL])
        similarity = (size_sim + digital_sim + terms.culture_fit) / 3.0
        experience = firms.experience[cands] / (firms.experience[cands] + 3.0)
        nearness = 1.0 - np.minimum(terms.distance / self.model.region_diagonal, 1.0)
        score = (
            w.fit * terms.fit[:, 0]
            + w.similarity * similarity
            + w.experience * experience
            + w.location * nearness
            + w.trust * terms.trust_ab
        )
        return score - w.competitor_penalty * terms.competitor

    def terms(self, a: np.ndarray, cands: np.ndarray, needs: np.ndarray, eff: np.ndarray, profile: np.ndarray) -> Terms:
        """What each searcher ``a[i]`` and candidate ``cands[i]`` would agree on, and whether both would.

        ``profile`` holds each searcher's requirements profile: the gaps its
        needs assessment found. The candidate's fit is the share of it the
        candidate covers.

        Each side expects the other's contribution as its perceived
        competence, reduced where it doubts the other's integrity; its own it
        knows. Both must expect a monthly net gain that repays their set-up
        cost within ``payback_months`` (win-win), and the candidate must not
        distrust the searcher.
        """
        firms, p, ledger = self.model.firms, self.params, self.model.ledger
        k = len(a)
        # Both directions at once: rows [0, k) of the stacked arrays are the
        # searcher's view (own a, other the candidate), rows [k, 2k) the
        # candidate's; as (2, k) they broadcast against per-pair arrays.
        own, other = np.concatenate([a, cands]), np.concatenate([cands, a])
        both_ways = ledger.pillars(own, other)  # one lookup
        pill_ab, pill_ba = both_ways[:k], both_ways[k:]
        trust_ab, trust_ba = pill_ab @ ledger.weights, pill_ba @ ledger.weights
        transparency, contract, competitor = self.agreement_terms(a, cands, 0.5 * (trust_ab + trust_ba))
        size = firms.size
        # Rows of both sides, read once (take: see sim.arrays).
        needs_own = needs.take(own, axis=0)
        caps_own, caps_other = firms.caps.take(own, axis=0), firms.caps.take(other, axis=0)
        eff_own = eff.take(own, axis=0)
        totals = self.need_totals() if needs is self.needs_now() else sum_last(needs)
        cover = self.coverage(needs_own, caps_own, caps_other, total=totals[own])
        synergy = np.minimum(1.0, p.baseline_synergy + cover[:k] + cover[k:])
        culture_fit = culture_fit_of(firms.culture.take(a, axis=0), firms.culture.take(cands, axis=0))
        diff = firms.location.take(cands, axis=0) - firms.location.take(a, axis=0)
        distance = np.hypot(diff[:, 0], diff[:, 1])
        campus = firms.on_campus[a] & firms.on_campus[cands]
        costs = self.running_cost(distance, contract)

        # Each side's expected monthly net benefit (2, k).
        quality_other = both_ways[:, 0] * (1 - (1 - both_ways[:, 1]) * (1 - p.broken_delivery))
        value = joint_value(
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
        expected = pair_columns(by_side[0], by_side[1])
        setup = p.setup_cost * (1 + contract) * np.where(campus, 1 - p.campus_discount, 1.0)
        if self.model.shared_services:
            setup = setup * np.where(firms.member[a] & firms.member[cands], 1 - p.shared_services_discount, 1.0)
        # Fit, gap form: the searcher's needs are its profile on top of what it has.
        wanted = np.concatenate([eff_own[:k] + profile, needs_own[k:]])
        fits = self.coverage(wanted, eff_own, caps_other, of="gap")
        fit = pair_columns(fits[:k], fits[k:])
        repaid = setup / p.payback_months
        consent = (trust_ba >= p.exit_trust) & (by_side[0] > repaid) & (by_side[1] > repaid)
        return Terms(
            trust_ab, transparency, contract, competitor, campus, distance, culture_fit, fit, expected, setup, consent
        )

    def agreement_terms(
        self, a: np.ndarray, b: np.ndarray, mean_trust: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Transparency, contract degree and rivalry of pairs with the given mean trust.

        Transparency rises with trust and is held back from a competitor;
        formal control substitutes for missing trust; shared-service
        contracts take the group's contract degree.
        """
        firms, p = self.model.firms, self.params
        competitor = (firms.niche[a] == firms.niche[b]) & (firms.role[a] == PRODUCER) & (firms.role[b] == PRODUCER)
        transparency = (p.transparency_base + (1 - p.transparency_base) * mean_trust) * np.where(
            competitor, 1 - p.competitor_caution, 1.0
        )
        contract = p.contract_base + (1 - p.contract_base) * (1 - mean_trust)
        group = self.model.scenario.group
        if group is not None:
            contract = np.where(
                (firms.role[a] == SERVICE) | (firms.role[b] == SERVICE), group.contract_degree, contract
            )
        return transparency, contract, competitor

    def agree(self, ids: np.ndarray, partners: np.ndarray, terms: Terms, now: int, service: bool = False) -> None:
        """Partners agree to cooperations ``ids`` on ``terms`` (one entry each): they enter the structure phase."""
        t, firms, p, model = self.table, self.model.firms, self.params, self.model
        ids, b = np.asarray(ids, dtype=np.int64), np.asarray(partners, dtype=np.int64)
        a = t.a[ids]
        t.b[ids] = b
        rows = model.ledger.slots(np.concatenate([a, b]), np.concatenate([b, a]))
        t.row_ab[ids], t.row_ba[ids] = rows[: len(ids)], rows[len(ids) :]
        t.transparency[ids], t.contract[ids] = terms.transparency, terms.contract
        t.service[ids] = service
        t.competitor[ids], t.campus[ids], t.distance[ids] = terms.competitor, terms.campus, terms.distance
        t.fit[ids], t.score[ids], t.expected[ids], t.setup_cost[ids] = (
            terms.fit,
            terms.score,
            terms.expected,
            terms.setup,
        )
        np.add.at(firms.coop_cost, a, terms.setup)
        np.add.at(firms.coop_cost, b, terms.setup)
        months = np.where(terms.campus, p.setup_steps * (1 - p.campus_discount), p.setup_steps)
        t.setup_until[ids] = now + np.maximum(1, np.round(months)).astype(np.int64)
        t.move(ids, Phase.STRUCTURE, now)
        np.add.at(firms.load, b, 1)
        if not service:
            firms.searching[a] = False  # its search is over (a service contract is no search)
        model.change_graph("add_edges_from", list(zip(a.tolist(), b.tolist(), strict=True)))
        new_pairs = np.sort(_pair_key(a, b))
        self._pair_keys = np.insert(self._pair_keys, self._pair_keys.searchsorted(new_pairs), new_pairs)
        if not service:
            self.counts["formed"] += len(ids)

    # ------------------------------------------------------------------
    # 3. structure
    # ------------------------------------------------------------------

    def build_structures(self, now: int) -> None:
        """Agreements whose set-up time has passed start the relationship."""
        t = self.table
        building = t.in_phase(Phase.STRUCTURE, before=now)
        ready = building[t.setup_until[building] <= now]
        if not len(ready):
            return
        t.move(ready, Phase.RELATIONSHIP, now)
        t.due[ready] = now + self.params.evaluation_period
        firms = self.model.firms
        np.add.at(firms.experience, t.a[ready], 1)
        np.add.at(firms.experience, t.b[ready], 1)
        self.counts["started"] += len(ready)

    # ------------------------------------------------------------------
    # 4. relationship
    # ------------------------------------------------------------------

    def run_relationships(self, now: int) -> None:
        """One month of every running cooperation: deliver, divide, learn, converge, update trust."""
        t, firms, p = self.table, self.model.firms, self.params
        ids = t.in_phase(Phase.RELATIONSHIP, before=now)
        if not len(ids):
            return
        rng = self.model.streams["relationship"]
        m = len(ids)
        a, b = t.a[ids], t.b[ids]
        side = pair_columns(a, b)  # side x acts; its partner is the other column
        other = pair_columns(b, a)
        # Per side (m, 2, ...); the partner's read separately rather than as
        # [:, ::-1] views, whose reversed strides make NumPy's loops slow.
        # take: see sim.arrays. Of the traits only the columns used are read.
        caps = firms.caps.take(side, axis=0)  # (m, 2, 5)
        partner_caps = firms.caps.take(other, axis=0)
        needs = self.needs_now().take(side, axis=0)
        traits = firms.traits
        contract, transparency = t.contract[ids], t.transparency[ids]

        # Keep or break the agreement; contribute by competence.
        temptation = p.temptation + p.competitor_temptation * t.competitor[ids]
        deterrence = 1.0 - contract * p.contract_enforcement
        p_break = (temptation * deterrence)[:, None] * (1.0 - traits[:, INTEGRITY].take(side))
        kept = rng.random((m, 2)) >= p_break
        quality = traits[:, COMPETENCE].take(side) * np.where(kept, 1.0, p.broken_delivery)

        # Joint value and its division. The partner's culture less one's own,
        # read once: the initiator's side of it, negated for the partner's side
        # (exact: x - y is -(y - x) in floating point).
        fit = self.coverage(needs, caps, partner_caps, total=self.need_totals().take(side))  # (m, 2)
        synergy = np.minimum(1.0, p.baseline_synergy + (fit[:, 0] + fit[:, 1]))
        apart = firms.culture.take(b, axis=0) - firms.culture.take(a, axis=0)
        culture_fit = 1.0 - sum_last(np.abs(apart)) / apart.shape[1]  # culture_fit_of, from the difference
        value = joint_value(
            p.value_per_employee,
            firms.size[a],
            firms.size[b],
            synergy,
            quality[:, 0],
            quality[:, 1],
            transparency,
            culture_fit,
        )
        grabs = rng.random((m, 2)) < p.grab_temptation * (1.0 - traits[:, BENEVOLENCE].take(side))
        # The initiator's share by who grabbed (neither, b, a, both): one lookup.
        split = np.array([0.5, 1.0 - p.grab_share, p.grab_share, 0.5])
        share_a = split.take(2 * grabs[:, 0] + grabs[:, 1])
        shares = pair_columns(share_a * value, (1.0 - share_a) * value)

        costs = self.running_cost(t.distance[ids], contract)
        net = pair_columns(shares[:, 0] - costs, shares[:, 1] - costs)
        np.add.at(firms.coop_value, side.ravel(), shares.ravel())
        np.add.at(firms.coop_cost, side.ravel(), costs.repeat(2))

        t.value[ids] += value
        add_distinct_rows(t.shares, ids, shares)
        add_distinct_rows(t.realised, ids, net)
        t.months[ids] += 1
        add_distinct_rows(t.kept, ids, kept)
        add_distinct_rows(t.broken, ids, ~kept)
        add_distinct_rows(t.grabbed, ids, grabs)
        partner_kept = pair_columns(kept[:, 1], kept[:, 0])  # not a reversed view: see above

        # Know-how flows toward the less capable side while the other delivers;
        # cultures converge.
        # A firm learns in the domains it needs, from a partner that delivers:
        # rate x transparency x the partner's lead where both hold, else 0.
        # Only those gains are added (adding 0 would change nothing: the
        # capabilities are never -0.0). Rows past firms.n are unused zeros,
        # which clipping leaves as they are.
        n = firms.n
        rate = (p.learning_rate * transparency)[:, None, None]
        learns = partner_kept[:, :, None] & (needs > 0)
        gain = rate * np.maximum(partner_caps - caps, 0.0)
        at = learns.ravel().nonzero()[0]
        side_of, domain = np.divmod(at, caps.shape[2])  # the flat (side, domain) positions learning
        cells = side.ravel().take(side_of) * caps.shape[2] + domain
        np.add.at(firms.caps.reshape(-1), cells, gain.reshape(-1).take(at))
        np.clip(firms.caps[:n], 0.0, 1.0, out=firms.caps[:n])
        pull = np.empty((m, 2, apart.shape[1]))
        np.multiply(p.culture_convergence, apart, out=pull[:, 0])
        np.negative(pull[:, 0], out=pull[:, 1])
        add_rows(firms.culture, side.ravel(), pull.reshape(-1, apart.shape[1]))
        np.clip(firms.culture[:n], 0.0, 1.0, out=firms.culture[:n])

        # Each side observes the other: competence from the competence it shows
        # (with noise), integrity from kept promises, benevolence from the division.
        self.observe(ids, other, partner_kept, pair_columns(grabs[:, 1], grabs[:, 0]), rng)

        n_kept, n_grabbed = int(np.count_nonzero(kept)), int(np.count_nonzero(grabs))
        self.counts["kept"] += n_kept
        self.counts["broken"] += 2 * m - n_kept
        self.counts["grabbed"] += n_grabbed
        self.counts["fair"] += 2 * m - n_grabbed
        self.counts["value"] += float(value.sum())

        due = ids[t.due[ids] <= now]
        t.move(due, Phase.EVALUATION, now)

    def observe(
        self,
        ids: np.ndarray,
        partners: np.ndarray,
        partner_kept: np.ndarray,
        partner_grabbed: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """Update both sides' trust evidence from one month of the relationship.

        ``partners`` (m, 2) is each side's partner; ``partner_kept`` and
        ``partner_grabbed`` what that partner did.
        """
        t, tp = self.table, self.model.scenario.trust
        m = len(ids)
        shown = self.model.firms.traits[:, COMPETENCE].take(partners)
        seen = np.clip(shown + rng.normal(0.0, tp.observation_noise, (m, 2)), 0.0, 1.0).ravel()
        partner_kept, partner_fair = partner_kept.ravel(), ~partner_grabbed.ravel()
        nu = tp.negativity_weight
        rows = pair_columns(t.row_ab[ids], t.row_ba[ids])
        self.model.ledger.observe_pillars(
            rows.ravel(),
            partners.ravel(),
            (seen, partner_kept, partner_fair),
            (1.0 - seen, nu * ~partner_kept, nu * ~partner_fair),
        )

    # ------------------------------------------------------------------
    # 5. evaluation
    # ------------------------------------------------------------------

    def evaluate(self, now: int) -> None:
        """Each side weighs the cooperation; one exit ends it, else it continues with lessons learned."""
        t, firms, p, ledger = self.table, self.model.firms, self.params, self.model.ledger
        ids = t.in_phase(Phase.EVALUATION, before=now)
        if not len(ids):
            return
        a, b = t.a[ids], t.b[ids]
        side, other = pair_columns(a, b), pair_columns(b, a)
        rows = pair_columns(t.row_ab[ids], t.row_ba[ids])
        trust = ledger.trust_at(side.ravel(), other.ravel(), rows.ravel()).reshape(-1, 2)
        months = np.maximum(t.months[ids], 1)[:, None]
        realised = t.realised.take(ids, axis=0) / months  # take: see sim.arrays
        expected = t.expected.take(ids, axis=0)
        needs = self.needs_now()
        fit = self.coverage(
            needs.take(side, axis=0),
            firms.caps.take(side, axis=0),
            firms.caps.take(other, axis=0),
            total=self.need_totals().take(side),
        )
        culture_fit = culture_fit_of(firms.culture.take(a, axis=0), firms.culture.take(b, axis=0))

        # Reasons per side, checked in the order of the guide's evaluation:
        # reliability first, then the cost/benefit account, then culture.
        low_trust = trust < p.exit_trust
        short = (realised < p.exit_value_ratio * np.maximum(expected, 0.0)) | (realised < 0)
        # A shared-service contract's main return, the overhead it carries, is
        # booked in the market, not in the cooperation's net benefit: it is
        # judged on trust and culture only.
        short &= ~t.service[ids][:, None]
        reason = np.full((len(ids), 2), int(Reason.NONE), dtype=np.int8)  # ints: see CooperationTable.in_phase
        reason[culture_fit < p.exit_culture_fit] = int(Reason.CULTURE)  # both sides
        reason[short & (fit < 0.01)] = int(Reason.GOAL_REACHED)
        reason[short & (fit >= 0.01)] = int(Reason.LOW_VALUE)
        reason[low_trust] = int(Reason.LOW_TRUST)
        exits = reason != int(Reason.NONE)

        self.counts["evaluated"] += len(ids)
        t.evaluations[ids] += 1
        self.tell_partners(side.ravel(), other.ravel(), rows.ravel())

        # The initiator's reason if it leaves, else the partner's.
        leaving = exits[:, 0] | exits[:, 1]
        given = np.where(exits[:, 0], reason[:, 0], reason[:, 1])
        by = np.where(exits[:, 0], a, b)
        for r in sorted(set(given[leaving].tolist())):
            sel = leaving & (given == r)
            self.end(ids[sel], Reason(r), now, by=by[sel])

        staying = ~leaving
        stay = ids[staying]
        if len(stay):
            # Lessons into the agreement: terms follow the trust now held
            # (the mean of both sides' trust, summed as NumPy's mean does).
            held = trust[staying]
            t.transparency[stay], t.contract[stay], t.competitor[stay] = self.agreement_terms(
                t.a[stay], t.b[stay], (held[:, 0] + held[:, 1]) / 2
            )
            t.expected[stay] = 0.5 * (t.expected.take(stay, axis=0) + realised[staying])
            t.realised[stay] = 0.0
            t.months[stay] = 0
            t.continues[stay] += 1
            t.due[stay] = now + p.evaluation_period
            t.move(stay, Phase.RELATIONSHIP, now)
            self.counts["continued"] += len(stay)

    def tell_partners(self, tellers: np.ndarray, subjects: np.ndarray, rows: np.ndarray) -> None:
        """Each teller tells its other live partners what it saw of its subject (reputation).

        ``rows`` are the tellers' evidence rows about their subjects.
        """
        t = self.table
        live = t.live()
        if not len(live) or self.model.scenario.trust.gossip_weight == 0:
            return
        u = np.concatenate([t.a[live], t.b[live]])
        v = np.concatenate([t.b[live], t.a[live]])
        # Only the tellers' own links are sorted. Which order a teller's
        # listeners come in does not matter: each listener hears a teller once.
        telling = np.zeros(self.model.firms.n, dtype=bool)
        telling[tellers] = True
        mine = telling[u]
        u, v = u[mine], v[mine]
        order = argsort_firms(u, len(telling))
        u, v = u[order], v[order]
        lo, hi = u.searchsorted(tellers, "left"), u.searchsorted(tellers, "right")
        which, at = expand_ranges(lo, hi)
        listeners = v[at]
        keep = listeners != subjects[which]
        self.model.ledger.gossip(rows[which][keep], subjects[which][keep], listeners[keep])

    # ------------------------------------------------------------------
    # contracts given by the scenario
    # ------------------------------------------------------------------

    def contract_services(self, service_firms: np.ndarray, producers: np.ndarray, now: int) -> None:
        """Open shared-service contracts between each service firm and each producer, in the relationship phase.

        A service firm takes producers up to its capacity; the contracts do
        not occupy the producers' capacity.
        """
        t, firms = self.table, self.model.firms
        servers_list, clients_list = [], []
        for s in service_firms:
            free = int(firms.capacity[s] - firms.load[s])
            for prod in producers[: max(free, 0)]:
                servers_list.append(int(s))
                clients_list.append(int(prod))
        if not servers_list:
            return
        servers = np.array(servers_list, dtype=np.int64)
        clients = np.array(clients_list, dtype=np.int64)
        ids = t.open(clients, now)
        t.move(ids, Phase.PARTNER_SEARCH, now)
        needs, eff = self.needs_now(), self.effective_capabilities()
        terms = self.terms(clients, servers, needs, eff, np.clip(needs[clients] - eff[clients], 0.0, None))
        terms.score = np.zeros(len(ids))
        terms.setup = np.zeros(len(ids))  # the contracts are in place already: nothing to set up
        self.agree(ids, servers, terms, now, service=True)
        t.move(ids, Phase.RELATIONSHIP, now)
        t.due[ids] = now + self.params.evaluation_period
        self.counts["started"] += len(ids)
