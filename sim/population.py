"""Firm demography: firms made (named in the scenario, drawn from populations, entering later) and firms leaving.

Firms present at step 0 are drawn from the stream ``population``; later
entrants from ``entry``, drawn ahead in batches so that the draws, and so the
entrants, do not depend on how many enter each month. A firm that leaves
ends its cooperations and drops out of the network; its row stays, so
indices stay valid.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim import group
from sim.kreislauf import Kreislauf
from sim.market import Market
from sim.scenario import DEFAULT_NEEDS, NamedFirm, Population, ScenarioError
from sim.state.firms import Firm
from sim.state.world import World
from sim.streams import sample_rows
from sim.traits import draw_capabilities, draw_culture, draw_sizes, draw_traits
from sim.vocabulary import DOMAINS, PRODUCER, SERVICE, TRAITS, Reason

__all__ = ["Demography", "capacity_for", "starting_capital"]


def capacity_for(size: np.ndarray, base: float, per_decade: float) -> np.ndarray:
    """Concurrent cooperations a firm of the given size can run: a base plus a step per tenfold size, at least 1.

    Examples
    --------
    >>> capacity_for(np.array([1.0, 10.0, 1000.0]), 1.0, 1.0).tolist()
    [1, 2, 4]
    """
    return np.maximum(1, np.round(base + per_decade * np.log10(size))).astype(np.int64)


def starting_capital(size: np.ndarray, months: float, revenue_per_employee: float) -> np.ndarray:
    """Capital a firm starts with: some months of its revenue.

    Examples
    --------
    >>> starting_capital(np.array([10.0]), 3.0, 12.0).tolist()
    [360.0]
    """
    return months * revenue_per_employee * size


class Demography:
    """Firms entering and leaving the world.

    Parameters
    ----------
    world : World
        The state firms enter and leave.
    kreislauf : Kreislauf
        Ends a leaving firm's cooperations; opens new members' service contracts.
    market : Market
        Gives new niches their demand.
    make_agent : callable
        Makes the Mesa agent of a new firm from its row index.
    """

    def __init__(self, world: World, kreislauf: Kreislauf, market: Market, make_agent: Callable[[int], Firm]) -> None:
        self.world = world
        self.kreislauf = kreislauf
        self.market = market
        self.make_agent = make_agent
        self._counter: dict[str, int] = {}
        self._entrant_buffer: dict[str, dict[str, np.ndarray]] = {}

    def _capacity(self, size: np.ndarray) -> np.ndarray:
        p = self.world.scenario.kreislauf
        return capacity_for(size, p.capacity_base, p.capacity_per_decade)

    def _capital(self, size: np.ndarray) -> np.ndarray:
        m = self.world.scenario.market
        return starting_capital(size, m.initial_capital_months, m.revenue_per_employee)

    def add_named(self, spec: NamedFirm, now: int) -> int:
        """Add one firm given by name; return its index."""
        world = self.world
        grp, dims = world.scenario.group, world.scenario.measures.culture_dims
        rng = world.streams["population"]
        if spec.culture is not None:
            culture = np.asarray(spec.culture)
        elif spec.group and grp is not None:
            culture = draw_culture(grp.culture or [0.5] * dims, grp.culture_spread, 1, dims, rng)[0]
        else:
            culture = draw_culture(None, 0.0, 1, dims, rng)[0]
        on_campus = spec.location == "campus"  # members move onto the campus (sim.group)
        if isinstance(spec.location, list):
            location = np.asarray(spec.location)
        elif on_campus and grp is not None:
            location = np.asarray(grp.campus_location)
        else:
            location = rng.uniform(0.0, world.scenario.market.region_km, size=2)
        needs = {**DEFAULT_NEEDS[spec.role], **(spec.needs or {})}
        size = np.array([spec.size])
        idx = world.firms.add(
            1,
            traits=[getattr(spec, t) for t in TRAITS],
            caps=[spec.capabilities[d] for d in DOMAINS],
            needs=[needs.get(d, 0.0) for d in DOMAINS],
            location=location,
            culture=culture,
            role=SERVICE if spec.role == "service" else PRODUCER,
            niche=world.niches.index(spec.niche),
            member=spec.group,
            on_campus=on_campus,
            size=spec.size,
            capital=self._capital(size)[0],
            capacity=spec.capacity or int(self._capacity(size)[0]),
            service_share=spec.service_share,
            entered=now,
        )
        self._register(idx, [spec.name], now)
        return int(idx[0])

    def add_drawn(self, pop: Population, count: int, now: int) -> np.ndarray:
        """Add ``count`` firms drawn from a population; return their indices."""
        if count <= 0:
            return np.empty(0, dtype=np.int64)
        world = self.world
        grp, firms = world.scenario.group, world.firms
        member = pop.group and grp is not None
        drawn = self.draw(pop, count, world.streams["population"]) if now == 0 else self._entrants(pop, count)
        names = pop.niche_names()
        if member and grp is not None and not grp.competition and pop.role == "producer":
            n = firms.n
            taken = set(firms.niche[:n][firms.member[:n] & firms.alive[:n]].tolist())
            free = [nm for nm in names if world.niches.index(nm) not in taken]
            if len(free) < count:
                raise ScenarioError(
                    "<scenario>",
                    f"populations.{pop.name}.niches",
                    pop.niches,
                    "group members need distinct free niches; add niches",
                )
            chosen = [free[k] for k in world.streams["niches"].permutation(len(free))[:count]]
        else:
            chosen = [names[k] for k in drawn["niche"].tolist()]
        on_campus = np.full(count, pop.location == "campus")
        location = drawn["point"].copy()
        if grp is not None:
            location[on_campus] = grp.campus_location
        needs = {**DEFAULT_NEEDS[pop.role], **(pop.needs or {})}
        sizes = drawn["size"]
        idx = firms.add(
            count,
            traits=drawn["traits"],
            caps=drawn["caps"],
            needs=[needs.get(d, 0.0) for d in DOMAINS],
            location=location,
            culture=drawn["culture"],
            role=SERVICE if pop.role == "service" else PRODUCER,
            niche=np.array([world.niches.index(nm) for nm in chosen], dtype=np.int64),
            member=member,
            on_campus=on_campus,
            size=sizes,
            capital=self._capital(sizes),
            capacity=pop.capacity if pop.capacity is not None else self._capacity(sizes),
            service_share=pop.service_share,
            entered=now,
        )
        start = self._counter.get(pop.name, 0)
        self._counter[pop.name] = start + count
        self._register(idx, [f"{pop.name} {start + k + 1}" for k in range(count)], now)
        return idx

    def enter(self, entrants: tuple[Population | None, int], now: int) -> None:
        """New firms enter the market: ``(population, count)`` as :meth:`sim.market.Market.entrants` gives them."""
        pop, count = entrants
        if pop is not None and count:
            self.add_drawn(pop, count, now)

    def draw(self, pop: Population, count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The random part of ``count`` new firms: traits, capabilities, size, culture, position, niche."""
        grp, scenario = self.world.scenario.group, self.world.scenario
        member = pop.group and grp is not None
        floors = (
            {"integrity": grp.min_integrity, "competence": grp.min_competence} if member and grp is not None else None
        )
        dims = scenario.measures.culture_dims
        if member and grp is not None and pop.culture is None:
            culture = draw_culture(grp.culture or [0.5] * dims, grp.culture_spread, count, dims, rng)
        else:
            culture = draw_culture(pop.culture, pop.culture_spread, count, dims, rng)
        return {
            "traits": draw_traits(pop, count, rng, floors),
            "caps": draw_capabilities(pop, count, rng),
            "size": draw_sizes(pop.size, count, rng),
            "culture": culture,
            "point": rng.uniform(0.0, scenario.market.region_km, size=(count, 2)),
            "niche": rng.integers(0, len(pop.niche_names()), size=count),
        }

    def _entrants(self, pop: Population, count: int) -> dict[str, np.ndarray]:
        buffer = self._entrant_buffer.get(pop.name)
        if buffer is None or len(buffer["size"]) < count:
            fresh = self.draw(pop, max(64, count), self.world.streams["entry"])
            buffer = fresh if buffer is None else {k: np.concatenate([buffer[k], fresh[k]]) for k in fresh}
        self._entrant_buffer[pop.name] = {k: v[count:] for k, v in buffer.items()}
        return {k: v[:count] for k, v in buffer.items()}

    def _register(self, idx: np.ndarray, names: list[str], now: int) -> None:
        """Name new firms and give them their agents; firms entering later are welcomed into the market and the group."""
        firms = self.world.firms
        firms.name(idx, names)
        firms.agents.extend(self.make_agent(int(i)) for i in idx)
        if now > 0:
            self.world.tally["entries"] += len(idx)
            self.market.add_niche_demand(idx)
            group.admit_members(self.world, self.kreislauf, idx[firms.member[idx]])

    def remove(self, idx: np.ndarray, now: int, reason: Reason) -> None:
        """Firms leave the market: their cooperations end, they drop out of the network."""
        firms = self.world.firms
        idx = np.asarray(idx, dtype=np.int64)
        idx = idx[firms.alive[idx]]
        if not len(idx):
            return
        self.kreislauf.end_for_firms(idx, reason, now)
        firms.alive[idx] = False
        firms.left[idx] = now
        for i in idx.tolist():
            agent = firms.agents[i]
            if agent is not None:
                agent.remove()
                firms.agents[i] = None
            self.world.journal.note(now, "exit", f"{firms.names[i]} leaves the market")
        self.world.tally["exits"] += len(idx)

    def acquaint_at_random(self, k: int) -> None:
        """Each firm starts knowing ``k`` random others (no evidence yet: prior trust only)."""
        everyone = self.world.firms.alive_idx
        if k <= 0 or len(everyone) < 2:
            return
        rng = self.world.streams["acquaintances"]
        k = min(k, len(everyone) - 1)
        # k distinct others each: offsets 1..n-1 from one's own position.
        n = len(everyone)
        offsets = sample_rows(rng, np.arange(1, n), n, k).ravel()
        mine = np.repeat(np.arange(n), k)
        drawn = offsets > 0
        self.world.ledger.slots(everyone[mine[drawn]], everyone[(mine[drawn] + offsets[drawn]) % n])
