"""Firms: the table holding every firm's state, and the Mesa agent that gives one firm a readable face.

A firm's state lives in :class:`FirmTable`, one NumPy array per variable
with one row per firm that ever existed. The phases of the Kreislauf and the
market read and write these arrays for all firms at once. :class:`Firm` is
the Mesa agent over one row, with named properties, so ``model.agents``
works as Mesa users expect.

State variables (see ``docs/model.md``): traits (competence, integrity,
benevolence, trust propensity), role, niche, size, capital, capacity,
location, culture, capabilities over :data:`sim.vocabulary.DOMAINS`
(digital is digital maturity), needs, group membership.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Annotated, Any

import mesa
import numpy as np

from sim.state.table import Column, Table
from sim.vocabulary import BENEVOLENCE, COMPETENCE, DIGITAL, DOMAINS, INTEGRITY, PROPENSITY, SERVICE, TRAITS

__all__ = ["Firm", "FirmTable"]

_T, _D = (len(TRAITS),), (len(DOMAINS),)


class FirmTable(Table):
    """Struct of arrays for all firms, growing by doubling as firms enter.

    Parameters
    ----------
    culture_dims : int
        Length of each firm's culture vector.
    capacity : int
        Rows to allocate at first.
    """

    traits: Annotated[np.ndarray, Column(float, 0.0, "competence, integrity, benevolence, propensity", _T)]
    caps: Annotated[np.ndarray, Column(float, 0.0, "capability level per domain", _D)]
    needs: Annotated[np.ndarray, Column(float, 0.0, "capability level wanted per domain", _D)]
    location: Annotated[np.ndarray, Column(float, 0.0, "position in km", (2,))]
    role: Annotated[np.ndarray, Column(np.int8, 0, "PRODUCER or SERVICE")]
    niche: Annotated[np.ndarray, Column(np.int64, 0, "index of the niche it sells in")]
    member: Annotated[np.ndarray, Column(bool, False, "belongs to the scenario's group")]
    on_campus: Annotated[np.ndarray, Column(bool, False, "sits on the group's campus")]
    size: Annotated[np.ndarray, Column(float, 0.0, "employees")]
    capital: Annotated[np.ndarray, Column(float, 0.0, "k EUR")]
    base_capacity: Annotated[np.ndarray, Column(np.int64, 0, "concurrent cooperations by its size (or as named)")]
    capacity: Annotated[
        np.ndarray, Column(np.int64, 0, "concurrent cooperations it can run now: by size and experience")
    ]
    load: Annotated[np.ndarray, Column(np.int64, 0, "places taken: open searches and live cooperations")]
    searching: Annotated[np.ndarray, Column(bool, False, "has a needs assessment or search open")]
    next_search: Annotated[np.ndarray, Column(np.int64, 0, "first month it may search again")]
    alive: Annotated[np.ndarray, Column(bool, False, "in the market now")]
    experience: Annotated[np.ndarray, Column(np.int64, 0, "relationships begun")]
    negative_months: Annotated[np.ndarray, Column(np.int64, 0, "months in a row with negative capital")]
    service_share: Annotated[np.ndarray, Column(float, 0.0, "share of a producer's overhead a service firm carries")]
    entered: Annotated[np.ndarray, Column(np.int64, 0, "month it entered")]
    left: Annotated[np.ndarray, Column(np.int64, -1, "month it left (-1: still in)")]
    # Flows of the last month, for the measures.
    revenue: Annotated[np.ndarray, Column(float, 0.0, "income last month, k EUR")]
    profit: Annotated[np.ndarray, Column(float, 0.0, "profit last month, k EUR")]
    coop_value: Annotated[np.ndarray, Column(float, 0.0, "value received from cooperations this month, k EUR")]
    coop_cost: Annotated[np.ndarray, Column(float, 0.0, "cost of cooperating this month, k EUR")]
    investment: Annotated[np.ndarray, Column(float, 0.0, "own investment in digital maturity this month, k EUR")]
    overhead_paid: Annotated[np.ndarray, Column(float, 0.0, "own overhead and fees paid last month, k EUR")]
    relief: Annotated[np.ndarray, Column(float, 0.0, "share of its overhead carried by shared services")]
    culture: np.ndarray  # (firms, culture_dims): its width comes from the scenario

    def __init__(self, culture_dims: int, capacity: int = 64) -> None:
        self.names: list[str] = []
        self._by_name: dict[str, int] = {}
        self.agents: list[Firm | None] = []
        super().__init__(capacity, extra={"culture": Column(float, 0.0, "culture vector", (culture_dims,))})

    def add(self, n: int, **columns: Any) -> np.ndarray:
        """Append ``n`` firms in the market with the given column values; return their indices."""
        unknown = set(columns) - set(self._columns)
        if unknown:
            raise KeyError(f"unknown firm columns {sorted(unknown)}")
        idx = self.grow(n)
        for name, values in columns.items():
            getattr(self, name)[idx] = values
        self.base_capacity[idx] = self.capacity[idx]
        self.alive[idx] = True
        return idx

    @property
    def alive_idx(self) -> np.ndarray:
        """Indices of firms in the market now."""
        return np.flatnonzero(self.alive[: self.n])

    def index_of(self, name: str) -> int:
        """Index of the firm with this name (the latest one, if a name was reused)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no firm named {name!r}") from None

    def find(self, name: str) -> int | None:
        """Index of the firm with this name (the latest one, if a name was reused), or None."""
        return self._by_name.get(name)

    def name(self, idx: np.ndarray, names: list[str]) -> None:
        """Give the firms at ``idx`` their names."""
        self.names.extend(names)
        self._by_name.update(zip(names, np.asarray(idx).tolist(), strict=True))

    def productivity(self, digital_weight: float) -> np.ndarray:
        """Productivity in [0, 1]: production and engineering, and digital maturity by its weight."""
        caps = self.caps[: self.n]
        return (1 - digital_weight) * 0.5 * (caps[:, 0] + caps[:, 1]) + digital_weight * caps[:, DIGITAL]


class _IdsByModel(weakref.WeakKeyDictionary[mesa.Model, "itertools.count[int]"]):
    """Each model's counter of agent ids, held weakly: a model nobody uses any more is freed.

    Mesa 3.3 keeps these counters in a class-level dict of ``mesa.Agent``
    keyed by the model itself, so every model a process ever built stays
    alive with all its agents. Firms number themselves here instead, from 1
    per model as Mesa does.
    """

    def __getitem__(self, model: mesa.Model) -> itertools.count[int]:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = self[model] = itertools.count(1)
            return counter


class Firm(mesa.Agent):
    """A firm: the Mesa agent over one row of a :class:`FirmTable`.

    The behaviour of firms is carried out for all of them at once by the
    Kreislauf and the market (see :mod:`sim.kreislauf`, :mod:`sim.market`);
    this class gives one firm's state readable names.

    Parameters
    ----------
    model : mesa.Model
        The model it belongs to (Mesa keeps its agents by model).
    index : int
        Its row in ``table``.
    table : FirmTable
        The firms' state.
    niche_names : list of str
        Names of the niches, indexed by the table's ``niche`` column.
    """

    _ids = _IdsByModel()  # (Mesa's own registry would keep every model alive)

    def __init__(self, model: mesa.Model, index: int, table: FirmTable, niche_names: list[str]) -> None:
        super().__init__(model)
        self.index = index
        self._t = table
        self._niches = niche_names

    @property
    def name(self) -> str:
        """Firm name."""
        return self._t.names[self.index]

    @property
    def role(self) -> str:
        """'producer' or 'service'."""
        return "service" if self._t.role[self.index] == SERVICE else "producer"

    @property
    def niche(self) -> str:
        """Name of the niche it sells in."""
        return self._niches[self._t.niche[self.index]]

    @property
    def competence(self) -> float:
        """Ability to deliver, in [0, 1]."""
        return float(self._t.traits[self.index, COMPETENCE])

    @property
    def integrity(self) -> float:
        """Propensity to keep agreements, in [0, 1]."""
        return float(self._t.traits[self.index, INTEGRITY])

    @property
    def benevolence(self) -> float:
        """Propensity to divide value fairly, in [0, 1]."""
        return float(self._t.traits[self.index, BENEVOLENCE])

    @property
    def propensity(self) -> float:
        """Trust propensity: prior trust in a firm it has no evidence about."""
        return float(self._t.traits[self.index, PROPENSITY])

    @property
    def size(self) -> float:
        """Employees."""
        return float(self._t.size[self.index])

    @property
    def capital(self) -> float:
        """Capital, k EUR."""
        return float(self._t.capital[self.index])

    @property
    def capacity(self) -> int:
        """Concurrent cooperations it can run."""
        return int(self._t.capacity[self.index])

    @property
    def capabilities(self) -> dict[str, float]:
        """Capability level per domain."""
        return dict(zip(DOMAINS, self._t.caps[self.index].tolist(), strict=True))

    @property
    def digital_maturity(self) -> float:
        """Digital capability: the Industrie 4.0 outcome."""
        return float(self._t.caps[self.index, DIGITAL])

    @property
    def culture(self) -> tuple[float, ...]:
        """Culture vector."""
        return tuple(self._t.culture[self.index].tolist())

    @property
    def location(self) -> tuple[float, float]:
        """Position in km."""
        x, y = self._t.location[self.index]
        return float(x), float(y)

    @property
    def member(self) -> bool:
        """Whether it belongs to the scenario's group."""
        return bool(self._t.member[self.index])

    @property
    def alive(self) -> bool:
        """Whether it is still in the market."""
        return bool(self._t.alive[self.index])

    def __repr__(self) -> str:
        return f"Firm({self.name!r}, {self.role}, niche={self.niche!r})"
