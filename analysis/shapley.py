"""Shapley values and pairwise interactions of a game given on the cells of a factorial design.

A *game* here is the value of a measure in each combination of switched
ingredients: ``values[mask]``, where bit ``i`` of ``mask`` says ingredient
``i`` is switched. Ingredient ``i``'s Shapley value (Shapley 1953) is its
change of the value, averaged over every order in which the ingredients
could be switched::

    phi_i = sum over S not holding i of |S|! (k - |S| - 1)! / k! * (v(S + i) - v(S))

The values add up to the whole change, ``v(all) - v(none)`` (efficiency);
ingredients that act alike get the same value (symmetry). Beyond a handful
of ingredients, :func:`permutation_shapley` averages the changes along
sampled orders instead (Castro, Gomez & Tejada 2009); along each order the
changes add up to the whole change, so efficiency still holds exactly.

The pairwise interaction is the Shapley interaction index (Grabisch 1997)::

    I_ij = sum over S holding neither | S |! (k - |S| - 2)! / (k - 1)! * (v(S+i+j) - v(S+i) - v(S+j) + v(S))

positive when two ingredients do more together than apart. All functions
work on arrays whose first axis is the mask, so one call treats every
replicate (trailing axes) at once.

References
----------
Shapley, L. S. (1953). A value for n-person games. Contributions to the Theory of Games II, 307-317.
Grabisch, M. (1997). K-order additive discrete fuzzy measures and their representation. Fuzzy Sets and Systems 92, 167-189.
Castro, J., Gomez, D., & Tejada, J. (2009). Polynomial calculation of the Shapley value based on sampling.
Computers & Operations Research 36, 1726-1730.

Examples
--------
Two ingredients; the first adds 3, the second 1, and together they add 2 more:

>>> import numpy as np
>>> v = np.array([0.0, 3.0, 1.0, 6.0])   # masks 00, 01 (first), 10 (second), 11 (both)
>>> shapley_values(v)
array([4., 2.])
>>> shapley_interactions(v)[0, 1]
np.float64(2.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from math import factorial

import numpy as np

__all__ = [
    "chain_masks",
    "exact_masks",
    "permutation_shapley",
    "sample_orders",
    "shapley_interactions",
    "shapley_values",
    "subset_weight",
]


def subset_weight(size: int, k: int) -> float:
    """Shapley weight of a coalition of ``size`` players that a further player joins, among ``k``.

    Examples
    --------
    >>> [subset_weight(s, 3) for s in range(3)]  # 1/3, 1/6, 1/3: the weights of each player's 4 coalitions
    [0.3333333333333333, 0.16666666666666666, 0.3333333333333333]
    """
    return factorial(size) * factorial(k - size - 1) / factorial(k)


def exact_masks(k: int) -> list[int]:
    """Every cell of the full factorial of ``k`` switches: masks ``0 .. 2**k - 1``."""
    return list(range(2**k))


def _players(values: np.ndarray) -> int:
    k = len(values).bit_length() - 1
    if len(values) != 2**k or k < 1:
        raise ValueError(f"a game of k players needs 2**k values, one per cell; got {len(values)}")
    return k


def shapley_values(values: np.ndarray | Sequence[float]) -> np.ndarray:
    """Exact Shapley values from the value of every cell of the full factorial.

    Parameters
    ----------
    values : array, shape (2**k, ...)
        ``values[mask]``: the game's value with the ingredients in ``mask``
        switched; further axes (replicates) are carried along.

    Returns
    -------
    array, shape (k, ...)
        One value per ingredient; they add up to ``values[-1] - values[0]``.

    Examples
    --------
    An additive game: each ingredient's value is its own effect.

    >>> shapley_values([10.0, 12.0, 7.0, 9.0])    # +2 and -3, nothing together
    array([ 2., -3.])
    """
    v = np.asarray(values, dtype=float)
    k = _players(v)
    phi = np.zeros((k, *v.shape[1:]))
    masks = np.arange(2**k)
    sizes = np.array([bin(m).count("1") for m in masks])
    for i in range(k):
        bit = 1 << i
        without = masks[(masks & bit) == 0]
        weights = np.array([subset_weight(int(s), k) for s in sizes[without]])
        change = v[without | bit] - v[without]
        phi[i] = np.tensordot(weights, change, axes=1)
    return phi


def shapley_interactions(values: np.ndarray | Sequence[float]) -> np.ndarray:
    """The Shapley interaction index of every pair of ingredients (Grabisch 1997).

    Parameters
    ----------
    values : array, shape (2**k, ...)
        As for :func:`shapley_values`.

    Returns
    -------
    array, shape (k, k, ...)
        Symmetric; the diagonal is zero. Zero for an additive game.

    Examples
    --------
    >>> shapley_interactions([10.0, 12.0, 7.0, 9.0])[0, 1]   # additive: no interaction
    np.float64(0.0)
    """
    v = np.asarray(values, dtype=float)
    k = _players(v)
    out = np.zeros((k, k, *v.shape[1:]))
    masks = np.arange(2**k)
    for i in range(k):
        for j in range(i + 1, k):
            both = (1 << i) | (1 << j)
            rest = masks[(masks & both) == 0]
            weights = np.array(
                [factorial(s) * factorial(k - s - 2) / factorial(k - 1) for s in (bin(m).count("1") for m in rest)]
            )
            second = v[rest | both] - v[rest | (1 << i)] - v[rest | (1 << j)] + v[rest]
            out[i, j] = out[j, i] = np.tensordot(weights, second, axes=1)
    return out


def sample_orders(k: int, n: int, seed: int) -> list[list[int]]:
    """``n`` orders of the ``k`` ingredients, drawn at random from ``seed`` (half of them antithetic).

    Each drawn order is followed by its reverse (antithetic sampling: it
    halves the variance for nearly additive games), so ``n`` is rounded up
    to an even number.

    Examples
    --------
    >>> orders = sample_orders(4, 4, seed=1)
    >>> len(orders), orders[1] == orders[0][::-1], sorted(orders[2])
    (4, True, [0, 1, 2, 3])
    """
    rng = np.random.default_rng(seed)
    orders: list[list[int]] = []
    while len(orders) < n:
        order = [int(x) for x in rng.permutation(k)]
        orders += [order, order[::-1]]
    return orders


def chain_masks(order: Sequence[int]) -> list[int]:
    """The cells visited when the ingredients are switched one by one in ``order``, from none to all.

    Examples
    --------
    >>> chain_masks([2, 0, 1])
    [0, 4, 5, 7]
    """
    masks, mask = [0], 0
    for i in order:
        mask |= 1 << i
        masks.append(mask)
    return masks


def permutation_shapley(values: dict[int, np.ndarray], orders: Sequence[Sequence[int]], k: int) -> np.ndarray:
    """Shapley values estimated from the changes along sampled orders (Castro et al. 2009).

    Parameters
    ----------
    values : dict of int to array
        The game's value at every cell the orders visit (:func:`chain_masks`).
    orders : sequence of sequence of int
        Orders of the ``k`` ingredients.
    k : int
        Number of ingredients.

    Returns
    -------
    array, shape (k, ...)
        Each ingredient's mean change along the orders. Along every order the
        changes add up to ``values[all] - values[0]``, so the estimates do too.

    Examples
    --------
    Every order of two ingredients gives the exact values:

    >>> v = {0: 0.0, 1: 3.0, 2: 1.0, 3: 6.0}
    >>> permutation_shapley({m: np.float64(x) for m, x in v.items()}, [[0, 1], [1, 0]], 2)
    array([4., 2.])
    """
    first = np.asarray(values[0], dtype=float)
    phi = np.zeros((k, *first.shape))
    for order in orders:
        chain = chain_masks(order)
        for i, before, after in zip(order, chain[:-1], chain[1:], strict=True):
            phi[i] += np.asarray(values[after], dtype=float) - np.asarray(values[before], dtype=float)
    return phi / len(orders)
