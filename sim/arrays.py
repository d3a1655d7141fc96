"""Small array helpers for the model's hot paths.

NumPy's ``ufunc.at`` is fast on one-dimensional targets and slow on rows of a
two-dimensional one; these helpers apply row updates through the flat view.
"""

from __future__ import annotations

import numpy as np

__all__ = ["add_rows", "max_rows"]


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
