r"""The market: niches with shared demand, costs, overheads, exit and entry.

Each niche :math:`n` has a monthly demand :math:`D_n`, set at step 0 so that
the niche as a whole sells its revenue per employee times its employees: :math:`D_n` is that
revenue times the niche's employees, divided by the niche's step-0 supply
level :math:`L_n^0`, the size-weighted mean of :math:`\tfrac12 + \pi_f`
(productivity :math:`\pi_f`). Each month the niche sells :math:`D_n L_n`:
better products sell more. Producers divide it by attractiveness
:math:`a_f = s_f (\tfrac12 + \pi_f)(1 + g \rho_f)` (size, productivity, focus
gain :math:`g` times :math:`\rho_f`, the share of the relievable overhead
that shared services carry). A competitor that grows, learns or enters takes
share from the others, up to what it can make (``max_output`` times its
usual volume); demand nobody can serve is lost.

Rivals also press the price. The gross margin :math:`1 - c` of a niche is
scaled by :math:`(H_n / H_n^0)^\psi`, :math:`H_n` the Herfindahl index of the
producers' shares of attractiveness now and :math:`H_n^0` when the niche first
traded, with the price pressure :math:`\psi` (1: Cournot, where margins are
proportional to concentration; 0: rivals only divide the sales). Opening
competition between two members (one niche, :math:`H` from 1 to about 1/2)
lowers their price; a rival's exit raises it (:func:`sim.rules.price_level`).

Costs per month: the cost of sales (a share of the volume sold at the
starting price: wages and material follow output); overhead (a fixed part and a part per employee) of which shared services can carry a share for a fee;
cooperation costs (search, set-up, coordination, contract monitoring) booked
by the Kreislauf. A firm whose capital stays negative for
``insolvency_patience`` months leaves, and its cooperations end.
"""

from __future__ import annotations

import numpy as np

from sim import rules
from sim.scenario import Population
from sim.state.world import World
from sim.vocabulary import PRODUCER, Phase

__all__ = ["Market"]


class Market:
    """Niche demand and the monthly accounts of every firm.

    Parameters
    ----------
    world : World
        The state it reads and writes: firms, niches, cooperations.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.params = world.scenario.market

    @property
    def niche_names(self) -> list[str]:
        """Names of all niches; firms' ``niche`` column indexes this list."""
        return self.world.niches.names

    @property
    def demand(self) -> np.ndarray:
        """Monthly demand of each niche, k EUR (before growth and quality)."""
        return self.world.niches.demand

    @demand.setter
    def demand(self, value: np.ndarray) -> None:
        self.world.niches.demand = value

    def set_demand_from_firms(self) -> None:
        """Demand of each niche: at step 0 the niche sells its revenue per employee times its employees.

        How the niche's sales divide among its producers depends on their
        attractiveness. The demand is scaled by the size-weighted product
        level of its firms at step 0, so later gains in productivity (digital
        maturity among them) raise sales above that starting point.
        """
        firms = self.world.firms
        self.demand = np.zeros(len(self.niche_names))
        level = self._supply_level()
        np.add.at(self.demand, firms.niche[: firms.n], self._producer_size() * self.params.revenue_per_employee)
        self.demand = np.divide(self.demand, level, out=np.zeros_like(self.demand), where=level > 0)
        # The concentration the niches start from: their prices move with it later.
        _, attract = self._attractiveness(self.relief())
        self.world.niches.concentration_at_start = rules.niche_concentration(
            attract, firms.niche[: firms.n], len(self.niche_names)
        )

    def add_niche_demand(self, idx: np.ndarray) -> None:
        """Entrants founding a niche bring its demand, as at step 0; existing niches do not grow."""
        firms = self.world.firms
        if self.demand.shape[0] < len(self.niche_names):
            self.demand = np.pad(self.demand, (0, len(self.niche_names) - self.demand.shape[0]))
        niches = np.array(sorted(set(firms.niche[idx].tolist())), dtype=np.int64)  # as np.unique, cheaper
        unserved = niches[self.demand[niches] == 0]
        if not len(unserved):
            return  # the supply level is only needed for niches without demand yet
        level = self._supply_level()
        for k in unserved:
            if level[k] > 0:
                mine = idx[firms.niche[idx] == k]
                self.demand[k] = self.params.revenue_per_employee * firms.size[mine].sum() / level[k]

    def _producer_size(self) -> np.ndarray:
        firms = self.world.firms
        n = firms.n
        return np.where(firms.alive[:n] & (firms.role[:n] == PRODUCER), firms.size[:n], 0.0)

    def _supply_level(self, size: np.ndarray | None = None, level: np.ndarray | None = None) -> np.ndarray:
        """Size-weighted mean product level (1/2 + productivity) per niche.

        ``size`` (producers' sizes, 0 for other firms) and ``level``, if
        given, are what this method would compute.
        """
        firms = self.world.firms
        if size is None:
            size = self._producer_size()
        k = len(self.niche_names)
        if level is None:
            level = 0.5 + firms.productivity(self.params.digital_productivity)
        total = np.bincount(firms.niche[: firms.n], weights=size, minlength=k)
        weighted = np.bincount(firms.niche[: firms.n], weights=size * level, minlength=k)
        return np.divide(weighted, total, out=np.zeros(k), where=total > 0)

    def overhead(self, idx: np.ndarray) -> np.ndarray:
        """Monthly overhead a firm would carry alone, k EUR."""
        size = self.world.firms.size[idx]
        return self.params.overhead_fixed + self.params.overhead_per_employee * size

    def _service_contracts(self) -> tuple[np.ndarray, np.ndarray]:
        """Producer and service firm of every shared-service contract in force (past its set-up)."""
        firms, t = self.world.firms, self.world.cooperations
        live = t.live()
        live = live[t.service[live] & (t.phase[live] != int(Phase.STRUCTURE))]
        a, b = t.a[live], t.b[live]
        by_producer = firms.role[a] == PRODUCER
        return np.where(by_producer, a, b), np.where(by_producer, b, a)

    def relief(self) -> np.ndarray:
        """Share of each firm's overhead carried by the service firms it has live contracts with."""
        firms = self.world.firms
        relief = np.zeros(firms.n)
        group = self.world.scenario.group
        if group is None or not self.world.shared_services:
            return relief
        producer, server = self._service_contracts()
        if len(producer):
            np.add.at(relief, producer, firms.service_share[server])
        return np.minimum(relief, 1.0) * group.overhead_relief

    def trade(self, now: int) -> None:
        """One month of sales and costs for every firm; capital is updated."""
        firms, p = self.world.firms, self.params
        n = firms.n
        alive = firms.alive[:n]
        producer = alive & (firms.role[:n] == PRODUCER)
        relief = self.relief()
        group = self.world.scenario.group
        level, attract = self._attractiveness(relief)
        k = len(self.niche_names)
        niche = firms.niche[:n]
        total_attract = np.bincount(niche, weights=attract, minlength=k)
        quality = self._supply_level(np.where(producer, firms.size[:n], 0.0), level)
        growth = (1.0 + p.demand_growth) ** (now / 12.0)
        sales = self.demand * growth * quality
        volume = np.where(
            producer,
            sales[niche] * np.divide(attract, total_attract[niche], out=np.zeros(n), where=total_attract[niche] > 0),
            0.0,
        )
        # No firm sells more than it can make: customers a firm cannot serve are lost to the niche.
        volume = np.minimum(volume, p.max_output * p.revenue_per_employee * firms.size[:n] * level)
        # Rivals press the price: the margin follows the niche's concentration since it began
        # (month 0, or its first trade for a niche founded later).
        concentration = rules.niche_concentration(attract, niche, k)
        start = self.world.niches.concentration_at_start
        first = np.isnan(start) & ~np.isnan(concentration)
        start[first] = concentration[first]
        price = rules.price_level(concentration, start, 1.0 - p.cost_of_sales, p.price_pressure)
        revenue = volume * price.take(niche)

        # Service firms' own administration is their business: no overhead of their own.
        overhead = np.where(producer, self.overhead(np.arange(n)), 0.0)
        carried = overhead * relief
        fees = carried * group.service_fee if group is not None else np.zeros(n)
        fee_income, service_cost = self.service_accounts(carried)
        income = revenue + fee_income
        operating = p.cost_of_sales * volume  # wages and material follow the quantity sold
        paid_overhead = overhead - carried
        costs = operating + paid_overhead + fees + service_cost + firms.coop_cost[:n] + firms.investment[:n]
        profit = income + firms.coop_value[:n] - costs
        profit = np.where(alive, profit, 0.0)
        firms.revenue[:n] = np.where(alive, income, 0.0)
        firms.overhead_paid[:n] = paid_overhead + fees
        firms.relief[:n] = relief
        firms.profit[:n] = profit
        firms.capital[:n] += profit
        firms.negative_months[:n] = np.where(alive & (firms.capital[:n] < 0), firms.negative_months[:n] + 1, 0)

    def _attractiveness(self, relief: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each firm's product level and its pull on its niche's demand (0 for firms that sell nothing)."""
        firms, p, group = self.world.firms, self.params, self.world.scenario.group
        n = firms.n
        producer = firms.alive[:n] & (firms.role[:n] == PRODUCER)
        focus = 1.0 + (
            group.focus_gain * relief / group.overhead_relief
            if group is not None and group.overhead_relief > 0
            else 0.0
        )
        level = 0.5 + firms.productivity(p.digital_productivity)
        return level, np.where(producer, firms.size[:n] * level * focus, 0.0)

    def service_accounts(self, carried: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fee income and cost of the work for each service firm, split by its contracts.

        A producer's carried overhead is divided among its live service
        contracts in proportion to the service firms' shares.
        """
        firms = self.world.firms
        n = firms.n
        income, cost = np.zeros(n), np.zeros(n)
        group = self.world.scenario.group
        if group is None or not carried.any():
            return income, cost
        producer, server = self._service_contracts()
        if not len(producer):
            return income, cost
        shares = firms.service_share[server]
        total = np.bincount(producer, weights=shares, minlength=n)
        portion = carried[producer] * shares / np.where(total[producer] > 0, total[producer], 1.0)
        np.add.at(income, server, group.service_fee * portion)
        np.add.at(cost, server, group.service_cost * portion)
        return income, cost

    def insolvent(self) -> np.ndarray:
        """Firms whose capital has stayed negative too long: they leave the market."""
        firms = self.world.firms
        n = firms.n
        return np.flatnonzero(firms.alive[:n] & (firms.negative_months[:n] >= self.params.insolvency_patience))

    def entrants(self) -> tuple[Population | None, int]:
        """The population new firms enter from, and how many enter this month (Poisson arrivals)."""
        p = self.params
        if p.entry_rate <= 0:
            return None, 0
        count = int(self.world.streams["entry"].poisson(p.entry_rate))
        pops = self.world.scenario.populations
        return next((q for q in pops if q.name == p.entry_population), pops[0]), count
