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

import numpy as np

from sim import relationship, rules, search
from sim.kernels import argsort_firms, best_first, expand_ranges, max_last, max_rows, pair_columns, sum_last
from sim.state.pairs import unordered
from sim.state.world import World
from sim.vocabulary import COMPETENCE, DIGITAL, INTEGRITY, OUTCOME_OF, PRODUCER, Outcome, Phase, Reason

__all__ = ["Kreislauf"]

#: The counter of each way a cooperation ends.
_OUTCOME_COUNT = {Outcome.EXIT: "exited", Outcome.NO_PARTNER: "no_partner", Outcome.DISSOLVED: "dissolved"}


class Kreislauf:
    """The five phases, acting on the world's cooperation and firm tables.

    Parameters
    ----------
    world : World
        The state the phases read and write.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.params = world.scenario.kreislauf
        self.table = world.cooperations
        self._needs = np.zeros((0, 5))
        self._needs_key: tuple[int, int] = (-1, -1)
        self._need_totals = np.zeros(0)
        self._eff_at_start = np.zeros((0, 5))  # effective capabilities as the month began

    # ------------------------------------------------------------------
    # what the phases share
    # ------------------------------------------------------------------

    def needs_now(self) -> np.ndarray:
        """Needed capability per firm and domain this month (:func:`sim.rules.digital_needs`); do not modify.

        Computed once a month (and again when firms enter).
        """
        firms, now = self.world.firms, self.world.now
        key = (now, firms.n)
        if self._needs_key != key:
            self._needs = rules.digital_needs(firms.needs[: firms.n], self.params.digital_need_growth, now)
            self._need_totals = sum_last(self._needs)
            self._needs_key = key
        return self._needs

    def need_totals(self) -> np.ndarray:
        """Each firm's total need this month, the sum of :meth:`needs_now` over domains; do not modify."""
        self.needs_now()
        return self._need_totals

    def effective_capabilities(self) -> np.ndarray:
        """Own capability, or what live partners let a firm draw on, whichever is higher."""
        firms, t = self.world.firms, self.table
        caps = firms.caps[: firms.n]
        eff = caps.copy()
        live = t.live()
        if len(live):
            # Both sides at once (the maximum does not depend on the order).
            a, b = t.a[live], t.b[live]
            sides, partners = np.concatenate([a, b]), np.concatenate([b, a])
            max_rows(eff, sides, self.params.partner_access * caps.take(partners, axis=0))
        return eff

    def end(self, ids: np.ndarray, reason: Reason, now: int, by: np.ndarray | None = None) -> None:
        """End cooperations for ``reason``: free capacity, drop them from the live pairs, queue them for the log."""
        if len(ids) == 0:
            return
        t, firms, world = self.table, self.world.firms, self.world
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
            world.partners.remove(unordered(a[live], b[live]))
        outcome = OUTCOME_OF[reason]
        world.tally[_OUTCOME_COUNT[outcome]] += len(ids)
        if outcome is Outcome.EXIT:
            world.tally[f"exit_{reason.name.lower()}"] += len(ids)
        world.ended.append(np.asarray(ids, dtype=np.int64))

    def end_for_firms(self, firm_ids: np.ndarray, reason: Reason, now: int) -> None:
        """End every open cooperation that involves one of ``firm_ids``."""
        t = self.table
        open_ = t.open_ids()
        # A flag per firm; the extra last flag stays False for the -1 of a cooperation without partner.
        leaving = np.zeros(self.world.firms.n + 1, dtype=bool)
        leaving[firm_ids] = True
        self.end(open_[leaving[t.a[open_]] | leaving[t.b[open_]]], reason, now)

    # ------------------------------------------------------------------
    # 1. needs assessment
    # ------------------------------------------------------------------

    def assess_needs(self, now: int) -> None:
        """Turn last month's needs into requirements profiles; open cooperations for new needs."""
        world, t, p = self.world, self.table, self.params
        firms, rng = world.firms, world.streams["needs"]
        needs = self.needs_now()
        self._eff_at_start = self.effective_capabilities()
        self.invest(needs, self._eff_at_start)
        gaps = np.maximum(needs - self._eff_at_start, 0.0)

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
            t.familiar[hasty] = search.has_free_contact(world, t.a[hasty]) if len(hasty) else False
            t.move(go, Phase.PARTNER_SEARCH, now)
            world.tally["searches"] += len(go)

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
            world.tally["opened"] += len(new)

    def invest(self, needs: np.ndarray, eff: np.ndarray) -> None:
        """Producers raise their digital maturity by their own investment too (:func:`sim.rules.own_investment`).

        What they find is their own, so it counts from this month on; the
        month's needs assessment still sees the gaps as the month began.
        """
        firms, p = self.world.firms, self.params
        if p.own_learning_rate == 0:
            return
        n = firms.n
        who = (firms.alive[:n] & (firms.role[:n] == PRODUCER)).nonzero()[0]
        own = firms.caps[who, DIGITAL]
        gain = rules.own_investment(
            np.maximum(needs[who, DIGITAL] - own, 0.0),
            firms.size[who],
            np.maximum(eff[who, DIGITAL] - own, 0.0),
            p.own_learning_rate,
            p.own_learning_half_size,
        )
        firms.caps[who, DIGITAL] = own + gain
        firms.investment[who] = p.own_learning_cost * gain * firms.size[who]

    # ------------------------------------------------------------------
    # 2. partner search
    # ------------------------------------------------------------------

    def search_partners(self, now: int) -> None:
        """Finish the searches that have taken their time: screen, score, propose, agree or give up.

        Searches ending in the same month screen the market together (one
        vectorised pass); then, in the order they began, each searcher asks
        its best candidates in turn (:func:`sim.search.resolve`).
        """
        world, t, p = self.world, self.table, self.params
        searching = t.in_phase(Phase.PARTNER_SEARCH, before=now)
        if not len(searching):
            return
        duration = np.where(t.familiar[searching], 1, p.search_steps)
        done = searching[now - t.since[searching] >= duration]
        if not len(done):
            return
        firms = world.firms
        searchers = t.a[done]
        cands, hasty, screened = search.candidates(world, searchers, t.familiar[done])
        profile = t.gap.take(done, axis=0)
        t.screened[done] = screened
        t.familiar[done] = hasty
        np.add.at(firms.coop_cost, searchers, screened * p.search_cost_per_candidate)

        row, col = np.nonzero(cands >= 0)
        if len(row):
            a, c = searchers[row], cands[row, col]
            # Firms weigh candidates by what they had as the month began.
            eff = self._eff_at_start if len(self._eff_at_start) == firms.n else self.effective_capabilities()
            terms = search.terms(world, a, c, self.needs_now(), self.need_totals(), eff, profile.take(row, axis=0))
            ranking = np.where(hasty[row], terms.trust_ab, search.score(world, a, c, terms))
            # By searcher, best first; equal rankings (strangers trusted at the
            # same prior, say) in random order rather than by firm index.
            shuffle = world.streams["search"].random(len(row))
            order = best_first(row, ranking, shuffle)
            chosen, picks = search.resolve(world, searchers, row, c, order, terms.consent)
            if len(picks):
                terms.score = ranking
                world.tally["fit_sum"] += float(terms.fit[picks, 0].sum())
                self.agree(done[chosen], c[picks], terms.take(picks), now)
        failed = done[t.phase[done] == int(Phase.PARTNER_SEARCH)]
        if len(failed):
            firms.next_search[t.a[failed]] = now + p.search_retry_steps
            self.end(failed, Reason.NO_PARTNER, now)

    def agree(
        self, ids: np.ndarray, partners: np.ndarray, terms: search.Terms, now: int, service: bool = False
    ) -> None:
        """Partners agree to cooperations ``ids`` on ``terms`` (one entry each): they enter the structure phase."""
        world, t, p = self.world, self.table, self.params
        firms = world.firms
        ids, b = np.asarray(ids, dtype=np.int64), np.asarray(partners, dtype=np.int64)
        a = t.a[ids]
        t.b[ids] = b
        rows = world.ledger.slots(np.concatenate([a, b]), np.concatenate([b, a]))
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
        world.partners.insert(unordered(a, b), ids)
        if not service:
            firms.searching[a] = False  # its search is over (a service contract is no search)
            world.tally["formed"] += len(ids)

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
        firms = self.world.firms
        np.add.at(firms.experience, t.a[ready], 1)
        np.add.at(firms.experience, t.b[ready], 1)
        # Experience builds the capability to run more cooperations at once.
        grown = np.concatenate([t.a[ready], t.b[ready]])
        firms.capacity[grown] = rules.capacity_with_experience(
            firms.base_capacity[grown],
            firms.experience[grown],
            self.params.capacity_per_experience,
            self.params.capacity_growth,
        )
        self.world.tally["started"] += len(ready)

    # ------------------------------------------------------------------
    # 4. relationship
    # ------------------------------------------------------------------

    def run_relationships(self, now: int) -> None:
        """One month of every running cooperation: deliver, divide, learn, converge, update trust."""
        world, t = self.world, self.table
        ids = t.in_phase(Phase.RELATIONSHIP, before=now)
        if not len(ids):
            return
        rng = world.streams["relationship"]
        m = len(ids)
        keep_draws = rng.random((m, 2))  # each side keeps its promise if its draw is above its breach chance
        grab_draws = rng.random((m, 2))  # and grabs if its draw is below its grab chance
        coop, firm_columns = self._relationship_state()
        value, kept, grabs = relationship.month(ids, coop, firm_columns, keep_draws, grab_draws, self._rates())
        partner_kept = pair_columns(kept[:, 1], kept[:, 0])
        other = pair_columns(t.b[ids], t.a[ids])

        # Each side observes the other: competence from the competence it shows
        # (with noise), integrity from kept promises, benevolence from the division.
        self.observe(ids, other, partner_kept, pair_columns(grabs[:, 1], grabs[:, 0]), rng)

        n_kept, n_grabbed = int(np.count_nonzero(kept)), int(np.count_nonzero(grabs))
        tally = world.tally
        tally["kept"] += n_kept
        tally["broken"] += 2 * m - n_kept
        tally["grabbed"] += n_grabbed
        tally["fair"] += 2 * m - n_grabbed
        tally["value"] += float(value.sum())

        due = ids[t.due[ids] <= now]
        t.move(due, Phase.EVALUATION, now)

    def _relationship_state(self) -> tuple[relationship.Cooperations, relationship.Firms]:
        """What a relationship month reads and changes (the tables' arrays as they are now: they grow)."""
        t, firms = self.table, self.world.firms
        coop = relationship.Cooperations(*(getattr(t, name) for name in relationship.Cooperations._fields))
        firm_columns = relationship.Firms(
            firms.traits, firms.caps, firms.culture, firms.size, self.needs_now(), self.need_totals(),
            firms.coop_value, firms.coop_cost,
        )  # fmt: skip
        return coop, firm_columns

    def _rates(self) -> relationship.Rates:
        """The scenario's numbers a relationship month uses, as floats."""
        p = self.params
        per_km = self.world.scenario.market.coordination_cost_per_100km / 100.0
        return relationship.Rates(
            temptation=float(p.temptation),
            competitor_temptation=float(p.competitor_temptation),
            contract_enforcement=float(p.contract_enforcement),
            broken_delivery=float(p.broken_delivery),
            partner_access=float(p.partner_access),
            baseline_synergy=float(p.baseline_synergy),
            value_per_employee=float(p.value_per_employee),
            grab_temptation=float(p.grab_temptation),
            grab_share=float(p.grab_share),
            cost_per_km=float(per_km),
            contract_cost=float(p.contract_cost),
            learning_rate=float(p.learning_rate),
            culture_convergence=float(p.culture_convergence),
        )

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
        t, tp = self.table, self.world.scenario.trust
        m = len(ids)
        shown = self.world.firms.traits[:, COMPETENCE].take(partners)
        seen = np.clip(shown + rng.normal(0.0, tp.observation_noise, (m, 2)), 0.0, 1.0).ravel()
        partner_kept, partner_fair = partner_kept.ravel(), ~partner_grabbed.ravel()
        nu = tp.negativity_weight
        rows = pair_columns(t.row_ab[ids], t.row_ba[ids])
        self.world.ledger.observe_pillars(
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
        world, t, p = self.world, self.table, self.params
        firms, ledger = world.firms, world.ledger
        ids = t.in_phase(Phase.EVALUATION, before=now)
        if not len(ids):
            return
        a, b = t.a[ids], t.b[ids]
        side, other = pair_columns(a, b), pair_columns(b, a)
        rows = pair_columns(t.row_ab[ids], t.row_ba[ids])
        pillars = ledger.pillars_at(side.ravel(), other.ravel(), rows.ravel())
        trust = (pillars @ ledger.weights).reshape(-1, 2)
        reliability = pillars[:, INTEGRITY].reshape(-1, 2)
        months = np.maximum(t.months[ids], 1)[:, None]
        realised = t.realised.take(ids, axis=0) / months
        fit = rules.coverage(
            self.needs_now().take(side, axis=0),
            firms.caps.take(side, axis=0),
            firms.caps.take(other, axis=0),
            p.partner_access,
            total=self.need_totals().take(side),
        )
        culture_fit = rules.culture_fit(firms.culture.take(a, axis=0), firms.culture.take(b, axis=0))
        expected = t.expected.take(ids, axis=0)
        reason = rules.evaluation_reasons(
            trust,
            reliability,
            realised,
            expected,
            fit,
            culture_fit,
            t.service[ids],
            p.exit_trust,
            p.exit_reliability,
            p.exit_value_ratio,
            p.exit_culture_fit,
        )
        t.judged_expected[ids], t.judged_realised[ids] = expected, realised
        exits = reason != int(Reason.NONE)

        world.tally["evaluated"] += len(ids)
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
            t.transparency[stay], t.contract[stay], t.competitor[stay] = search.terms_for_trust(
                world, t.a[stay], t.b[stay], (held[:, 0] + held[:, 1]) / 2
            )
            t.expected[stay] = rules.adapted_expectation(expected[staying], realised[staying], p.expectation_adaptation)
            t.realised[stay] = 0.0
            t.months[stay] = 0
            t.continues[stay] += 1
            t.due[stay] = now + p.evaluation_period
            t.move(stay, Phase.RELATIONSHIP, now)
            world.tally["continued"] += len(stay)

    def tell_partners(self, tellers: np.ndarray, subjects: np.ndarray, rows: np.ndarray) -> None:
        """Each teller tells its other live partners what it saw of its subject (reputation).

        ``rows`` are the tellers' evidence rows about their subjects.
        """
        t = self.table
        live = t.live()
        if not len(live) or self.world.scenario.trust.gossip_weight == 0:
            return
        u = np.concatenate([t.a[live], t.b[live]])
        v = np.concatenate([t.b[live], t.a[live]])
        # Only the tellers' own links are sorted. Which order a teller's
        # listeners come in does not matter: each listener hears a teller once.
        telling = np.zeros(self.world.firms.n, dtype=bool)
        telling[tellers] = True
        mine = telling[u]
        u, v = u[mine], v[mine]
        order = argsort_firms(u, len(telling))
        u, v = u[order], v[order]
        lo, hi = u.searchsorted(tellers, "left"), u.searchsorted(tellers, "right")
        which, at = expand_ranges(lo, hi)
        listeners = v[at]
        keep = listeners != subjects[which]
        self.world.ledger.gossip(rows[which][keep], subjects[which][keep], listeners[keep])

    # ------------------------------------------------------------------
    # contracts given by the scenario
    # ------------------------------------------------------------------

    def contract_services(self, service_firms: np.ndarray, producers: np.ndarray, now: int) -> None:
        """Open shared-service contracts between each service firm and each producer, in the relationship phase.

        A service firm takes producers up to its capacity; the contracts do
        not occupy the producers' capacity.
        """
        t, firms = self.table, self.world.firms
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
        terms = search.terms(
            self.world,
            clients,
            servers,
            needs,
            self.need_totals(),
            eff,
            np.clip(needs[clients] - eff[clients], 0.0, None),
        )
        terms.score = np.zeros(len(ids))
        terms.setup = np.zeros(len(ids))  # the contracts are in place already: nothing to set up
        self.agree(ids, servers, terms, now, service=True)
        t.move(ids, Phase.RELATIONSHIP, now)
        t.due[ids] = now + self.params.evaluation_period
        self.world.tally["started"] += len(ids)
