"""Struct-of-arrays tables, each declared once.

A table (the firms, the cooperations) holds one NumPy array per state
variable and one row per firm or cooperation that ever existed; rows are
never reused, so an index stays valid after a firm leaves or a cooperation
ends. Each column is declared once, as an annotation carrying a
:class:`Column`: its type for readers and the type checker, its dtype,
shape, initial value and meaning for the arrays (and for anyone documenting
them).

Examples
--------
>>> from typing import Annotated
>>> class Pairs(Table):
...     a: Annotated[np.ndarray, Column(np.int64, -1, "first firm")]
...     share: Annotated[np.ndarray, Column(float, 0.0, "share of each side", shape=(2,))]
>>> t = Pairs(capacity=2)
>>> rows = t.grow(3)
>>> t.a.tolist(), t.share.shape
([-1, -1, -1, -1], (4, 2))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, get_args, get_origin, get_type_hints

import numpy as np

__all__ = ["Column", "Table"]


@dataclass(frozen=True)
class Column:
    """One state variable of a table: dtype, initial value, meaning, and shape beyond the row."""

    dtype: Any
    initial: Any
    meaning: str
    shape: tuple[int, ...] = ()


class Table:
    """Base of the state tables: arrays made from the class's :class:`Column` annotations, growing by doubling.

    ``n`` rows are in use; the arrays have room for more. A subclass may add
    columns whose shape is known only at run time through ``extra``.
    """

    columns: ClassVar[dict[str, Column]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hints = get_type_hints(cls, include_extras=True)
        cls.columns = {
            name: meta
            for name, hint in hints.items()
            if get_origin(hint) is Annotated
            for meta in get_args(hint)[1:]
            if isinstance(meta, Column)
        }

    def __init__(self, capacity: int = 64, extra: dict[str, Column] | None = None) -> None:
        self.n = 0
        self._columns = {**self.columns, **(extra or {})}
        self._capacity = 0
        self._alloc(max(capacity, 1))

    def _alloc(self, capacity: int) -> None:
        for name, col in self._columns.items():
            new = np.full((capacity, *col.shape), col.initial, dtype=col.dtype)
            old = getattr(self, name, None)
            if old is not None:
                new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self._capacity = capacity

    def grow(self, m: int) -> np.ndarray:
        """Take ``m`` new rows (with their columns' initial values); return their indices."""
        if self.n + m > self._capacity:
            self._alloc(max(2 * self._capacity, self.n + m))
        rows = np.arange(self.n, self.n + m)
        self.n += m
        return rows
