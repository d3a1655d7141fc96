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

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mesa
import networkx as nx
import numpy as np
import pandas as pd

from sim import group, kernels
from sim.events import Schedule
from sim.kreislauf import Kreislauf
from sim.market import Market
from sim.observe import log, network
from sim.observe.measures import FOCAL_COLUMNS, Collector, Measures
from sim.population import Demography
from sim.scenario import Event, Scenario, ScenarioError, load_for_run
from sim.state.firms import Firm, FirmTable
from sim.state.ledger import TrustLedger
from sim.state.world import World
from sim.vocabulary import Reason

__all__ = ["CooperationModel"]


class CooperationModel(mesa.Model):
    """Firms that build trust and cooperate through the five phases of the Kreislauf.

    Parameters
    ----------
    scenario : str, Path, Scenario or mapping
        A built-in scenario name (``"big"``, ``"open_market"``...), a TOML
        path, or a loaded :class:`~sim.scenario.Scenario`.
    seed : int, optional
        Seed of every random draw. Without one the model draws fresh entropy,
        as Mesa users expect (``mesa.batch_run`` iterations differ); the seed
        drawn is ``model.seed``, so the run can be repeated. ``kreislauf run``
        passes the scenario's ``seed``.
    record_events : bool
        Also journal firms leaving the market (``model.journal``); scheduled
        events are always journaled.
    record : iterable of str, optional
        The per-step measures to compute and record, by name
        (:data:`sim.observe.measures.MEASURES`); all of them if not given.
        Dear measures that are not recorded are not computed, which makes a
        small world's month markedly cheaper.
    **overrides
        Scenario parameters to replace, by key path with ``__`` between
        levels: ``steps=24``, ``kreislauf__familiarity_bias=0.8``.

    Raises
    ------
    ScenarioError
        If the scenario or an override is not valid.
    ValueError
        If ``record`` names a measure that does not exist.

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
        record: Iterable[str] | None = None,
        **overrides: Any,
    ) -> None:
        """Build the world ``scenario`` describes, seeded by ``seed``, with ``overrides`` applied (see the class)."""
        loaded, seed = load_for_run(scenario, seed, overrides)
        kernels.load_compiled()  # once per process: compiled loops ready before the first month
        super().__init__(seed=seed)
        self.scenario = loaded
        self.seed = seed

        self.world = world = World(loaded, self.seed, record_events)
        self.kreislauf = Kreislauf(world)
        self.market = Market(world)
        self.demography = Demography(world, self.kreislauf, self.market, self._agent)
        self.schedule = Schedule(world, self.demography)
        for spec in loaded.firms:
            self.demography.add_named(spec, 0)
        for pop in loaded.populations:
            self.demography.add_drawn(pop, pop.count, 0)
        self.market.set_demand_from_firms()
        self.demography.acquaint_at_random(loaded.trust.acquaintances)
        group.form_group(world, self.kreislauf)
        group.update_climate(world)

        self.measures = Measures(world, record)
        self.datacollector = Collector(
            model_reporters=self.measures.reporters(),
            tables={"cooperations": log.COOPERATION_COLUMNS, "focal_firms": FOCAL_COLUMNS},
            before_read=self._write_log,
        )
        self._collect()
        self.running = True

    def step(self) -> None:
        """Advance one month: events, the five phases of the cycle, then the market."""
        now = self._begin_month()
        self.schedule.apply(now)  # scheduled events
        self.kreislauf.assess_needs(now)  # 1. needs assessment
        self.kreislauf.search_partners(now)  # 2. partner search
        self.kreislauf.build_structures(now)  # 3. structure
        self.kreislauf.run_relationships(now)  # 4. relationship
        self.kreislauf.evaluate(now)  # 5. evaluation: continue or exit
        group.review_members(self.world, self.kreislauf, now)  # the group evaluates its members
        self.market.trade(now)  # sales, costs, capital
        self.demography.remove(self.market.insolvent(), now, Reason.PARTNER_LEFT)
        self.demography.enter(self.market.entrants(), now)
        self.world.ledger.forget()
        group.update_climate(self.world)  # generalised trust follows what the community has seen
        self._collect()
        if now >= self.scenario.steps:
            self.running = False

    def _begin_month(self) -> int:
        world = self.world
        world.now = self.steps
        world.tally.reset()
        n = world.firms.n
        world.firms.coop_value[:n] = 0.0
        world.firms.coop_cost[:n] = 0.0
        world.firms.investment[:n] = 0.0
        return world.now

    def _collect(self) -> None:
        self.measures.update()
        self.datacollector.collect(self)
        focal = self.datacollector.raw_tables["focal_firms"]
        for row in self.measures.focal_rows():
            for column, value in row.items():
                focal[column].append(value)

    def _agent(self, index: int) -> Firm:
        return Firm(self, index, self.world.firms, self.world.niches.names)

    # ------------------------------------------------------------------
    # readable faces of the state
    # ------------------------------------------------------------------

    @property
    def firms(self) -> FirmTable:
        """The firms' table (:class:`~sim.state.firms.FirmTable`)."""
        return self.world.firms

    @property
    def ledger(self) -> TrustLedger:
        """The trust ledger (:class:`~sim.state.ledger.TrustLedger`)."""
        return self.world.ledger

    @property
    def journal(self) -> list[tuple[int, str, str]]:
        """Plain-language lines ``(step, kind, text)``: scheduled events, and firms leaving when recording."""
        return self.world.journal.lines

    @property
    def shared_services(self) -> bool:
        """Whether the group's shared services run."""
        return self.world.shared_services

    @property
    def firm_count(self) -> int:
        """Firms in the market now."""
        return int(np.count_nonzero(self.world.firms.alive[: self.world.firms.n]))

    @property
    def graph(self) -> nx.Graph:
        """The live network (networkx), built from the state: one node per firm in the market, one edge per live cooperation."""
        return network.graph(self)

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
    # tables
    # ------------------------------------------------------------------

    def _write_log(self) -> None:
        log.write_ended(self.world, self.datacollector.raw_tables["cooperations"])

    def cooperation_log(self, include_open: bool = True) -> pd.DataFrame:
        """The cooperation log (:func:`sim.observe.log.log_frame`): ended cooperations, and with ``include_open`` live ones."""
        return log.log_frame(self.datacollector.get_table_dataframe("cooperations"), self.world, include_open)

    def measures_frame(self) -> pd.DataFrame:
        """Per-step model measures with a ``step`` column (0 is the initial state)."""
        df = self.datacollector.get_model_vars_dataframe()
        df.insert(0, "step", np.arange(len(df)))
        return df
