"""Firms: the Mesa agents and the arrays that hold their state.

A firm's state lives in :class:`FirmTable`, one NumPy array per variable with
one row per firm that ever existed (rows are never reused, so an index stays
valid after a firm leaves). The hot paths of the model read and write these
arrays for all firms at once. :class:`Firm` is the Mesa agent: the readable
face of one row, with named properties, so ``model.agents`` works as Mesa
users expect.

State variables (see ``docs/model.md``): traits (competence, integrity,
benevolence, trust propensity), role, niche, size, capital, capacity,
location, culture, capabilities over :data:`sim.scenario.DOMAINS` (digital is
digital maturity), needs, group membership.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

from sim.vocabulary import BENEVOLENCE, COMPETENCE, DIGITAL, DOMAINS, INTEGRITY, PROPENSITY, SERVICE, TRAITS

if TYPE_CHECKING:
    from sim.model import CooperationModel

__all__ = ["Firm", "FirmTable"]


class FirmTable:
    """Struct of arrays for all firms, growing by doubling as firms enter.

    Parameters
    ----------
    culture_dims : int
        Length of each firm's culture vector.
    capacity : int
        Rows to allocate at first.
    """

    _COLUMNS: ClassVar[dict[str, tuple[Any, tuple[int, ...]]]] = {
        "traits": (float, (len(TRAITS),)),
        "caps": (float, (len(DOMAINS),)),
        "needs": (float, (len(DOMAINS),)),
        "location": (float, (2,)),
        "role": (np.int8, ()),
        "niche": (np.int64, ()),
        "member": (bool, ()),
        "on_campus": (bool, ()),
        "size": (float, ()),
        "capital": (float, ()),
        "capacity": (np.int64, ()),
        "load": (np.int64, ()),
        "searching": (bool, ()),
        "next_search": (np.int64, ()),
        "alive": (bool, ()),
        "experience": (np.int64, ()),
        "negative_months": (np.int64, ()),
        "service_share": (float, ()),
        "entered": (np.int64, ()),
        "left": (np.int64, ()),
        # Flows of the last step, for measures.
        "revenue": (float, ()),
        "profit": (float, ()),
        "coop_value": (float, ()),
        "coop_cost": (float, ()),
        "overhead_paid": (float, ()),
        "relief": (float, ()),
    }

    # One array per state variable, made by _alloc from _COLUMNS.
    traits: np.ndarray
    caps: np.ndarray
    needs: np.ndarray
    location: np.ndarray
    role: np.ndarray
    niche: np.ndarray
    member: np.ndarray
    on_campus: np.ndarray
    size: np.ndarray
    capital: np.ndarray
    capacity: np.ndarray
    load: np.ndarray
    searching: np.ndarray
    next_search: np.ndarray
    alive: np.ndarray
    experience: np.ndarray
    negative_months: np.ndarray
    service_share: np.ndarray
    entered: np.ndarray
    left: np.ndarray
    revenue: np.ndarray
    profit: np.ndarray
    coop_value: np.ndarray
    coop_cost: np.ndarray
    overhead_paid: np.ndarray
    relief: np.ndarray
    culture: np.ndarray

    def __init__(self, culture_dims: int, capacity: int = 64) -> None:
        self.n = 0
        self.names: list[str] = []
        self._by_name: dict[str, int] = {}
        self.agents: list[Firm | None] = []
        self._columns = dict(self._COLUMNS, culture=(float, (culture_dims,)))
        self._alloc(max(capacity, 1))

    def _alloc(self, capacity: int) -> None:
        for name, (dtype, shape) in self._columns.items():
            new = np.zeros((capacity, *shape), dtype=dtype)
            old = getattr(self, name, None)
            if old is not None:
                new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self.left[self.n :] = -1
        self._capacity = capacity

    def add(self, n: int, **columns: Any) -> np.ndarray:
        """Append ``n`` firms with the given column values; return their indices."""
        if self.n + n > self._capacity:
            self._alloc(max(2 * self._capacity, self.n + n))
        idx = np.arange(self.n, self.n + n)
        unknown = set(columns) - set(self._columns)
        if unknown:
            raise KeyError(f"unknown firm columns {sorted(unknown)}")
        for name, values in columns.items():
            getattr(self, name)[idx] = values
        self.alive[idx] = True
        self.left[idx] = -1
        self.n += n
        return idx

    # Views on the live part of each array --------------------------------

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


class Firm(mesa.Agent):
    """A firm: the Mesa agent over one row of the model's :class:`FirmTable`.

    The behaviour of firms is carried out for all of them at once by the
    Kreislauf and the market (see :mod:`sim.kreislauf`, :mod:`sim.market`);
    this class gives one firm's state readable names.
    """

    def __init__(self, model: CooperationModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def _t(self) -> FirmTable:
        return self.model.firms

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
        return self.model.market.niche_names[self._t.niche[self.index]]

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
