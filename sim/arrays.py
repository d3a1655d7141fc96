"""Small array helpers for the model's hot paths.

NumPy's ``ufunc.at`` is fast on one-dimensional targets and slow on rows of a
two-dimensional one; these helpers apply row updates through the flat view.
"""

from __future__ import annotations

import numpy as np

__all__ = ["add_rows", "expand_ranges", "find_sorted", "max_rows", "ragged_to_rows"]


def _flat_index(target: np.ndarray, rows: np.ndarray) -> np.ndarray:
    width = target.shape[1]
    return (np.asarray(rows, dtype=np.int64)[:, None] * width + np.arange(width)).ravel()


def add_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``target[rows] += values`` with repeated rows adding up (like ``np.add.at``).

    Examples
    --------
    >>> t = np.zeros((2, 2))
    >>> add_rows(t, np.array([1, 1]), np.ones((2, 2)))
    >>> t.tolist()
    [[0.0, 0.0], [2.0, 2.0]]
    """
    np.add.at(target.reshape(-1), _flat_index(target, rows), np.asarray(values, dtype=target.dtype).reshape(-1))


def max_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``target[rows] = max(target[rows], values)`` with repeated rows (like ``np.maximum.at``)."""
    np.maximum.at(target.reshape(-1), _flat_index(target, rows), np.asarray(values, dtype=target.dtype).reshape(-1))


def find_sorted(keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Position of each query in the sorted, distinct ``keys``; -1 where absent.

    Many queries are looked up in sorted order, which is far faster than as
    many random binary searches.

    Examples
    --------
    >>> find_sorted(np.array([2, 5, 9]), np.array([9, 3, 2])).tolist()
    [2, -1, 0]
    """
    queries = np.asarray(queries)
    if len(keys) == 0 or len(queries) == 0:
        return np.full(len(queries), -1, dtype=np.int64)
    if len(queries) > 64:
        order = np.argsort(queries)
        ranked = queries[order]
    else:
        order, ranked = None, queries
    pos = np.minimum(np.searchsorted(keys, ranked), len(keys) - 1)
    found = np.where(keys[pos] == ranked, pos, -1)
    if order is None:
        return found
    out = np.empty(len(queries), dtype=np.int64)
    out[order] = found
    return out


def ragged_to_rows(group: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    """Lay out ``values`` (sorted by ``group``) as one row per group, padded with -1.

    Examples
    --------
    >>> ragged_to_rows(np.array([0, 0, 2]), np.array([7, 8, 9]), 3).tolist()
    [[7, 8], [-1, -1], [9, -1]]
    """
    counts = np.bincount(group, minlength=groups)
    out = np.full((groups, int(counts.max(initial=0))), -1, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    out[group, np.arange(len(group)) - starts[group]] = values
    return out


def expand_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All positions of the half-open ranges ``[lo[i], hi[i])``, and the range each belongs to.

    Examples
    --------
    >>> which, at = expand_ranges(np.array([2, 7]), np.array([4, 8]))
    >>> which.tolist(), at.tolist()
    ([0, 0, 1], [2, 3, 7])
    """
    counts = np.maximum(hi - lo, 0)
    which = np.repeat(np.arange(len(lo)), counts)
    at = lo[which] + np.arange(len(which)) - np.repeat(np.cumsum(counts) - counts, counts)
    return which, at
