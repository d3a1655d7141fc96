"""Pairs of firms: one encoding as a 64-bit key, and one sorted index of keys.

A pair of firm indices ``(first, second)`` is the key ``first * 2**32 +
second``; sorting keys sorts pairs by their first firm, then by the second.
An unordered pair (two partners) is keyed with the smaller index first. The
trust ledger indexes its evidence rows by ordered pairs (owner, subject); the
cooperations' live partner pairs are kept as unordered pairs.

Examples
--------
>>> k = ordered(np.array([3]), np.array([5]))
>>> unordered(np.array([5]), np.array([3])).tolist() == k.tolist()
True
>>> first_of(k).tolist(), second_of(k).tolist()
([3], [5])
"""

from __future__ import annotations

import numpy as np

from sim.kernels import expand_ranges, find_sorted, merge_sorted

__all__ = ["SortedIndex", "first_of", "ordered", "second_of", "unordered"]

_WIDTH = np.int64(1) << 32  # firm indices stay below 2**32


def ordered(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The key of each ordered pair ``(first[i], second[i])``."""
    return np.asarray(first, dtype=np.int64) * _WIDTH + np.asarray(second, dtype=np.int64)


def unordered(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The key of each unordered pair ``{a[i], b[i]}``."""
    return ordered(np.minimum(a, b), np.maximum(a, b))


def first_of(keys: np.ndarray) -> np.ndarray:
    """The first firm of each pair."""
    return keys // _WIDTH


def second_of(keys: np.ndarray) -> np.ndarray:
    """The second firm of each pair."""
    return keys % _WIDTH


class SortedIndex:
    """Distinct pair keys in sorted order, each with a value (a row, a cooperation id).

    Examples
    --------
    >>> index = SortedIndex()
    >>> index.insert(ordered(np.array([2, 1]), np.array([0, 4])), np.array([10, 11]))
    >>> index.find(ordered(np.array([1, 2, 3]), np.array([4, 0, 0]))).tolist()
    [11, 10, -1]
    >>> which, values = index.with_first(np.array([2, 1]))
    >>> which.tolist(), values.tolist()
    ([0, 1], [10, 11])
    >>> index.remove(ordered(np.array([2]), np.array([0])))
    >>> len(index)
    1
    """

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.int64)
        self.values = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key; -1 where it is absent."""
        pos = find_sorted(self.keys, keys)
        return np.where(pos >= 0, self.values.take(np.maximum(pos, 0)) if len(self.values) else -1, -1)

    def insert(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Add keys that are not in the index yet (distinct among themselves), with their values."""
        order = keys.argsort()
        self.keys, self.values = merge_sorted(self.keys, self.values, keys[order], np.asarray(values)[order])

    def remove(self, keys: np.ndarray) -> None:
        """Remove keys that are in the index."""
        at = self.keys.searchsorted(keys)
        self.keys, self.values = np.delete(self.keys, at), np.delete(self.values, at)

    def with_first(self, firsts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every pair whose first firm is ``firsts[i]``: (i, value) pairs, by i, then by second firm."""
        firsts = np.asarray(firsts, dtype=np.int64)
        lo = self.keys.searchsorted(firsts * _WIDTH)
        hi = self.keys.searchsorted((firsts + 1) * _WIDTH)
        which, at = expand_ranges(lo, hi)
        return which, self.values[at]
