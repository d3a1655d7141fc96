"""The cooperation model: firms, the cycle of trust, the market, month by month.

:class:`CooperationModel` is a Mesa model. It builds the world a scenario
describes and advances it one month per :meth:`~CooperationModel.step`, whose
body reads like the cycle of trust followed by the market's month.

Examples
--------
>>> from sim import CooperationModel
>>> model = CooperationModel("classroom", seed=3)
>>> for _ in range(12):
...     model.step()
>>> df = model.datacollector.get_model_vars_dataframe()
>>> len(df)  # step 0 and twelve months
13
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
import networkx as nx
import numpy as np
import pandas as pd

from sim.events import Schedule
from sim.firms import Firm, FirmTable
from sim.group import admit_members, form_group
from sim.kreislauf import Kreislauf
from sim.market import Market
from sim.measures import COOPERATION_COLUMNS, COOPERATION_TYPES, FOCAL_COLUMNS, Collector, Measures
from sim.scenario import (
    DEFAULT_NEEDS,
    Event,
    NamedFirm,
    Population,
    Scenario,
    ScenarioError,
    load_scenario,
)
from sim.streams import RandomStreams, sample_rows
from sim.traits import draw_capabilities, draw_culture, draw_sizes, draw_traits
from sim.trust import TrustLedger
from sim.vocabulary import DOMAINS, OUTCOME_OF, PRODUCER, SERVICE, TRAITS, Outcome, Phase, Reason

__all__ = ["CooperationModel"]


class CooperationModel(mesa.Model):
    """Firms that build trust and cooperate through the five phases of the Kreislauf.

    Parameters
    ----------
    scenario : str, Path, Scenario or mapping
        A built-in scenario name (``"big"``, ``"open_market"``...), a TOML
        path, or a loaded :class:`~sim.scenario.Scenario`.
    seed : int, optional
        Seed of every random draw; the scenario's ``seed`` if not given.
    record_events : bool
        Also journal firms leaving the market (``model.journal``); scheduled
        events are always journaled.
    **overrides
        Scenario parameters to replace, by key path with ``__`` between
        levels: ``steps=24``, ``kreislauf__familiarity_bias=0.8``.

    Raises
    ------
    ScenarioError
        If the scenario or an override is not valid.

    Notes
    -----
    Every random draw comes from named streams derived from ``seed``
    (:class:`~sim.streams.RandomStreams`); Mesa's own ``model.rng`` and
    ``model.random`` are seeded with it too. The same scenario and seed give
    identical results.
    """

    def __init__(
        self,
        scenario: str | Path | Scenario | dict[str, Any] = "big",
        seed: int | None = None,
        record_events: bool = False,
        **overrides: Any,
    ) -> None:
        loaded = load_scenario(scenario)
        if "steps" in overrides:  # a shorter horizon leaves out later events, as `kreislauf run --steps` does
            steps = overrides.pop("steps")
            if isinstance(steps, bool) or not isinstance(steps, int | np.integer):
                raise ScenarioError("argument", "steps", steps, "must be a whole number of months")
            loaded = loaded.until(int(steps))
        if overrides:
            loaded = loaded.with_overrides({key.replace("__", "."): value for key, value in overrides.items()})
        seed = loaded.seed if seed is None else seed
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ScenarioError("argument", "seed", seed, "must be a non-negative integer")
        super().__init__(seed=int(seed))
        self.scenario = loaded
        self.seed = int(seed)
        self.streams = RandomStreams(self.seed)
        self.record_events = record_events
        self.journal: list[tuple[int, str, str]] = []
        self.shared_services = loaded.group is not None and loaded.group.shared_services
        self.region_diagonal = loaded.market.region_km * np.sqrt(2.0)
        self.firms_left_this_step = 0
        self.firms_joined_this_step = 0

        self.firms = FirmTable(loaded.measures.culture_dims, capacity=max(16, 2 * loaded.initial_firm_count))
        self._graph = nx.Graph()
        self._graph_changes: list[tuple[str, Any]] = []  # applied when the graph is read
        self.market = Market(self, [])
        sharing = loaded.group.information_sharing if loaded.group is not None else 0.0
        self.ledger = TrustLedger(loaded.trust, self.firms, sharing)
        self.kreislauf = Kreislauf(self)
        self.schedule = Schedule(loaded)
        self._population_counter: dict[str, int] = {}
        self._entrant_buffer: dict[str, dict[str, np.ndarray]] = {}

        for spec in loaded.firms:
            self.add_named_firm(spec, 0)
        for pop in loaded.populations:
            self.add_population(pop, pop.count, 0)
        self.market.set_demand_from_firms()
        self._acquaint_at_random(loaded.trust.acquaintances)
        form_group(self)

        self.measures = Measures(self)
        self._ended: list[np.ndarray] = []  # cooperations ended but not yet in the log table
        self.datacollector = Collector(
            model_reporters=self.measures.reporters(),
            tables={"cooperations": COOPERATION_COLUMNS, "focal_firms": FOCAL_COLUMNS},
            before_read=self._write_log,
        )
        self._collect()
        self.running = True

    # ------------------------------------------------------------------
    # the month
    # ------------------------------------------------------------------

    def step(self) -> None:
        """Advance one month: events, the five phases of the cycle, then the market."""
        now = self.steps
        self._begin_month()
        self.schedule.apply(self, now)
        self.kreislauf.assess_needs(now)  # 1. needs assessment
        self.kreislauf.search_partners(now)  # 2. partner search
        self.kreislauf.build_structures(now)  # 3. structure
        self.kreislauf.run_relationships(now)  # 4. relationship
        self.kreislauf.evaluate(now)  # 5. evaluation: continue or exit
        self.market.trade(now)
        self.market.insolvencies(now)
        self.market.entry(now)
        self.ledger.forget()
        self._collect()
        if now >= self.scenario.steps:
            self.running = False

    def _begin_month(self) -> None:
        self.kreislauf.reset_counts()
        n = self.firms.n
        self.firms.coop_value[:n] = 0.0
        self.firms.coop_cost[:n] = 0.0
        self.firms_left_this_step = 0
        self.firms_joined_this_step = 0

    def _collect(self) -> None:
        self.measures.update()
        self.datacollector.collect(self)
        focal = self.datacollector.raw_tables["focal_firms"]
        for row in self.measures.focal_rows():
            for column, value in row.items():
                focal[column].append(value)

    # ------------------------------------------------------------------
    # firms entering and leaving
    # ------------------------------------------------------------------

    @property
    def firm_count(self) -> int:
        """Firms in the market now."""
        return int(np.count_nonzero(self.firms.alive[: self.firms.n]))

    def _capacity_for(self, size: np.ndarray) -> np.ndarray:
        p = self.scenario.kreislauf
        return np.maximum(1, np.round(p.capacity_base + p.capacity_per_decade * np.log10(size))).astype(np.int64)

    @property
    def graph(self) -> nx.Graph:
        """The live network (networkx): one node per firm in the market, one edge per live cooperation.

        Changes are recorded as they happen (:meth:`change_graph`) and applied
        to the graph, in the order they happened, when it is read: a run that
        never reads it does not pay for keeping it.
        """
        if self._graph_changes:
            changes, self._graph_changes = self._graph_changes, []
            for method, arg in changes:
                getattr(self._graph, method)(arg)
        return self._graph

    def change_graph(self, method: str, arg: Any) -> None:
        """Record a change of :attr:`graph`: its method ``method`` is called with ``arg`` when it is next read."""
        self._graph_changes.append((method, arg))

    def _register(self, idx: np.ndarray) -> None:
        for i in idx:
            self.firms.agents.append(Firm(self, int(i)))
        self.change_graph("add_nodes_from", idx.tolist())

    def add_named_firm(self, spec: NamedFirm, now: int) -> int:
        """Add one firm given by name; return its index."""
        group = self.scenario.group
        dims = self.scenario.measures.culture_dims
        rng = self.streams["population"]
        if spec.culture is not None:
            culture = np.asarray(spec.culture)
        elif spec.group and group is not None:
            culture = draw_culture(group.culture or [0.5] * dims, group.culture_spread, 1, dims, rng)[0]
        else:
            culture = draw_culture(None, 0.0, 1, dims, rng)[0]
        on_campus = spec.location == "campus"  # members move onto the campus (sim.group)
        if isinstance(spec.location, list):
            location = np.asarray(spec.location)
        elif on_campus and group is not None:
            location = np.asarray(group.campus_location)
        else:
            location = rng.uniform(0.0, self.scenario.market.region_km, size=2)
        needs = {**DEFAULT_NEEDS[spec.role], **(spec.needs or {})}
        size = np.array([spec.size])
        idx = self.firms.add(
            1,
            traits=[getattr(spec, t) for t in TRAITS],
            caps=[spec.capabilities[d] for d in DOMAINS],
            needs=[needs.get(d, 0.0) for d in DOMAINS],
            location=location,
            culture=culture,
            role=SERVICE if spec.role == "service" else PRODUCER,
            niche=self.market.niche_index(spec.niche),
            member=spec.group,
            on_campus=on_campus,
            size=spec.size,
            capital=self._starting_capital(size)[0],
            capacity=spec.capacity or int(self._capacity_for(size)[0]),
            service_share=spec.service_share,
            entered=now,
        )
        self.firms.name(idx, [spec.name])
        self._register(idx)
        if now > 0:
            self._welcome(idx)
        return int(idx[0])

    def add_population(self, pop: Population, count: int, now: int) -> np.ndarray:
        """Add ``count`` firms drawn from a population; return their indices.

        Firms present at step 0 are drawn from the stream ``population``;
        later entrants from ``entry``, drawn ahead in batches (the draws, and
        so the entrants, do not depend on how many enter each month).
        """
        if count <= 0:
            return np.empty(0, dtype=np.int64)
        group = self.scenario.group
        member = pop.group and group is not None
        drawn = self.draw_population(pop, count, self.streams["population"]) if now == 0 else self._entrants(pop, count)
        names = pop.niche_names()
        if member and group is not None and not group.competition and pop.role == "producer":
            taken = set(
                self.firms.niche[: self.firms.n][
                    self.firms.member[: self.firms.n] & self.firms.alive[: self.firms.n]
                ].tolist()
            )
            free = [nm for nm in names if self.market.niche_index(nm) not in taken]
            if len(free) < count:
                raise ScenarioError(
                    "<scenario>",
                    f"populations.{pop.name}.niches",
                    pop.niches,
                    "group members need distinct free niches; add niches",
                )
            chosen = [free[k] for k in self.streams["niches"].permutation(len(free))[:count]]
        else:
            chosen = [names[k] for k in drawn["niche"].tolist()]
        on_campus = np.full(count, pop.location == "campus")
        location = drawn["point"].copy()
        if group is not None:
            location[on_campus] = group.campus_location
        needs = {**DEFAULT_NEEDS[pop.role], **(pop.needs or {})}
        sizes = drawn["size"]
        idx = self.firms.add(
            count,
            traits=drawn["traits"],
            caps=drawn["caps"],
            needs=[needs.get(d, 0.0) for d in DOMAINS],
            location=location,
            culture=drawn["culture"],
            role=SERVICE if pop.role == "service" else PRODUCER,
            niche=np.array([self.market.niche_index(nm) for nm in chosen], dtype=np.int64),
            member=member,
            on_campus=on_campus,
            size=sizes,
            capital=self._starting_capital(sizes),
            capacity=pop.capacity if pop.capacity is not None else self._capacity_for(sizes),
            service_share=pop.service_share,
            entered=now,
        )
        start = self._population_counter.get(pop.name, 0)
        self.firms.name(idx, [f"{pop.name} {start + k + 1}" for k in range(count)])
        self._population_counter[pop.name] = start + count
        self._register(idx)
        if now > 0:
            self._welcome(idx)
        return idx

    def draw_population(self, pop: Population, count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The random part of ``count`` new firms: traits, capabilities, size, culture, position, niche."""
        group = self.scenario.group
        member = pop.group and group is not None
        floors = (
            {"integrity": group.min_integrity, "competence": group.min_competence}
            if member and group is not None
            else None
        )
        dims = self.scenario.measures.culture_dims
        if member and group is not None and pop.culture is None:
            culture = draw_culture(group.culture or [0.5] * dims, group.culture_spread, count, dims, rng)
        else:
            culture = draw_culture(pop.culture, pop.culture_spread, count, dims, rng)
        return {
            "traits": draw_traits(pop, count, rng, floors),
            "caps": draw_capabilities(pop, count, rng),
            "size": draw_sizes(pop.size, count, rng),
            "culture": culture,
            "point": rng.uniform(0.0, self.scenario.market.region_km, size=(count, 2)),
            "niche": rng.integers(0, len(pop.niche_names()), size=count),
        }

    def _entrants(self, pop: Population, count: int) -> dict[str, np.ndarray]:
        buffer = self._entrant_buffer.get(pop.name)
        if buffer is None or len(buffer["size"]) < count:
            fresh = self.draw_population(pop, max(64, count), self.streams["entry"])
            buffer = fresh if buffer is None else {k: np.concatenate([buffer[k], fresh[k]]) for k in fresh}
        self._entrant_buffer[pop.name] = {k: v[count:] for k, v in buffer.items()}
        return {k: v[:count] for k, v in buffer.items()}

    def _starting_capital(self, size: np.ndarray) -> np.ndarray:
        m = self.scenario.market
        return m.initial_capital_months * m.revenue_per_employee * size

    def _welcome(self, idx: np.ndarray) -> None:
        """Firms entering later: new niches get demand; new group members are admitted."""
        self.firms_joined_this_step += len(idx)
        self.market.add_niche_demand(idx)
        admit_members(self, idx[self.firms.member[idx]])

    def remove_firms(self, idx: np.ndarray, now: int, reason: Reason) -> None:
        """Firms leave the market: their cooperations end, they drop out of the network."""
        idx = np.asarray(idx, dtype=np.int64)
        idx = idx[self.firms.alive[idx]]
        if not len(idx):
            return
        self.kreislauf.end_for_firms(idx, reason, now)
        self.firms.alive[idx] = False
        self.firms.left[idx] = now
        for i in idx:
            agent = self.firms.agents[int(i)]
            if agent is not None:
                agent.remove()
                self.firms.agents[int(i)] = None
            self.change_graph("remove_node", int(i))
            self.note(now, "exit", f"{self.firms.names[int(i)]} leaves the market")
        self.firms_left_this_step += len(idx)

    def intervene(self, event: Event) -> None:
        """Make an event happen at the start of the next month, as if the scenario had scheduled it.

        The live app's "breach of trust now" is a trait change made this way.

        Parameters
        ----------
        event : Event
            Any scenario event (:mod:`sim.scenario`); its ``step`` is replaced by the next month.

        Raises
        ------
        ScenarioError
            If the event names a firm that is not in the market now.

        Examples
        --------
        >>> from sim.scenario import TraitChangeEvent
        >>> model = CooperationModel("big", seed=1)
        >>> model.intervene(TraitChangeEvent(kind="trait_change", step=1, firm="Metrolux", trait="integrity", value=0.1))
        >>> model.step()
        >>> model.journal[-1]
        (1, 'event', "Metrolux's integrity changes from 0.80 to 0.10")
        """
        names = [getattr(event, "firm", None), *getattr(event, "firms", [])]
        for name in names:
            if isinstance(name, str) and (
                name not in self.firms.names or not self.firms.alive[self.firms.index_of(name)]
            ):
                raise ScenarioError("intervention", "firm", name, "must name a firm in the market now")
        self.schedule.add(event.model_copy(update={"step": self.steps + 1}))

    # ------------------------------------------------------------------
    # acquaintances
    # ------------------------------------------------------------------

    def _acquaint_at_random(self, k: int) -> None:
        """Each firm starts knowing ``k`` random others (no evidence yet: prior trust only)."""
        everyone = self.firms.alive_idx
        if k <= 0 or len(everyone) < 2:
            return
        rng = self.streams["acquaintances"]
        k = min(k, len(everyone) - 1)
        # k distinct others each: offsets 1..n-1 from one's own position.
        n = len(everyone)
        offsets = sample_rows(rng, np.arange(1, n), n, k).ravel()
        mine = np.repeat(np.arange(n), k)
        drawn = offsets > 0
        self.ledger.slots(everyone[mine[drawn]], everyone[(mine[drawn] + offsets[drawn]) % n])

    # ------------------------------------------------------------------
    # geometry, journal, logs
    # ------------------------------------------------------------------

    def distance(self, a: int, others: np.ndarray) -> np.ndarray:
        """Distance in km from firm ``a`` to each of ``others``."""
        diff = self.firms.location[others] - self.firms.location[a]
        return np.hypot(diff[:, 0], diff[:, 1])

    def note(self, step: int, kind: str, text: str) -> None:
        """Add a line to the journal (scheduled events always; others when recording)."""
        if kind == "event" or self.record_events:
            self.journal.append((step, kind, text))

    def log_cooperations(self, ids: np.ndarray) -> None:
        """Queue ended cooperations for the DataCollector table ``cooperations``."""
        self._ended.append(np.asarray(ids, dtype=np.int64))

    def _write_log(self) -> None:
        if not self._ended:
            return
        ids = np.concatenate(self._ended)
        self._ended = []
        table = self.datacollector.raw_tables["cooperations"]
        for column, values in self.cooperation_rows(ids).items():
            table[column].extend(values)

    def cooperation_rows(self, ids: np.ndarray) -> dict[str, list[Any]]:
        """Rows of the cooperation log for the given cooperations, column by column."""
        t, names = self.kreislauf.table, self.firms.names
        ids = np.asarray(ids, dtype=np.int64)
        a, b = t.a[ids], t.b[ids]
        phase = t.phase[ids]
        months = t.phase_time[ids].copy()
        still = np.flatnonzero(phase != Phase.ENDED)
        months[still, phase[still]] += self.steps - t.since[ids[still]]
        outcome = [
            str(OUTCOME_OF[Reason(r)]) if p == Phase.ENDED else str(Outcome.CONTINUE if c > 0 else Outcome.ONGOING)
            for p, r, c in zip(phase.tolist(), t.reason[ids].tolist(), t.continues[ids].tolist(), strict=True)
        ]
        by = t.exited_by[ids]
        return {
            "id": ids.tolist(),
            "initiator": [names[i] for i in a.tolist()],
            "partner": [names[i] if i >= 0 else "" for i in b.tolist()],
            "initiator_id": a.tolist(),
            "partner_id": b.tolist(),
            "started": t.started[ids].tolist(),
            "ended": t.ended[ids].tolist(),
            **{f"months_{p.name.lower()}": months[:, p].tolist() for p in Phase if p is not Phase.ENDED},
            "value": t.value[ids].tolist(),
            "value_initiator": t.shares[ids, 0].tolist(),
            "value_partner": t.shares[ids, 1].tolist(),
            "outcome": outcome,
            "reason": [Reason(r).label for r in t.reason[ids].tolist()],
            "exited_by": [names[i] if i >= 0 else "" for i in by.tolist()],
            "evaluations": t.evaluations[ids].tolist(),
            "continues": t.continues[ids].tolist(),
            "familiar": t.familiar[ids].tolist(),
            "screened": t.screened[ids].tolist(),
            "fit_initiator": t.fit[ids, 0].tolist(),
            "fit_partner": t.fit[ids, 1].tolist(),
            "transparency": t.transparency[ids].tolist(),
            "contract": t.contract[ids].tolist(),
            "service": t.service[ids].tolist(),
            "competitor": t.competitor[ids].tolist(),
            "kept": t.kept[ids].sum(axis=1).tolist(),
            "broken": t.broken[ids].sum(axis=1).tolist(),
            "grabbed": t.grabbed[ids].sum(axis=1).tolist(),
        }

    def cooperation_log(self, include_open: bool = True) -> pd.DataFrame:
        """The cooperation log: ended cooperations, and with ``include_open`` those still running.

        Open cooperations still in needs assessment or partner search are left out
        (they have no partner yet); live ones have outcome ``continue`` or ``ongoing``.
        """
        df = self.datacollector.get_table_dataframe("cooperations")
        if include_open:
            t = self.kreislauf.table
            extra = pd.DataFrame(self.cooperation_rows(t.live()), columns=COOPERATION_COLUMNS)
            df = pd.concat([df, extra], ignore_index=True) if len(df) else extra
        if not len(df):  # typed, so every run's log has one schema
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in COOPERATION_TYPES.items()})
        return df.astype({"id": "int64"}).sort_values("id", kind="stable").reset_index(drop=True)

    def measures_frame(self) -> pd.DataFrame:
        """Per-step model measures with a ``step`` column (0 is the initial state)."""
        df = self.datacollector.get_model_vars_dataframe()
        df.insert(0, "step", np.arange(len(df)))
        return df
