"""Speed tricks, each beside the plain NumPy it equals.

Every function here computes what a line of plain NumPy computes (its
docstring says which), only faster on the arrays the model works on: short
rows, many small calls a month. ``tests/test_kernels.py`` checks each
against its plain twin on random inputs, at sizes that reach every branch.
A trick stays only while ``python bench/run.py`` shows it matters; where
it does not, the model uses the plain form.

Some of a month's per-pair loops are written twice: once as a plain loop
that reads like the rule, compiled by numba (``cache=True``: compiled once
per machine, then loaded from ``__pycache__``), and once as plain NumPy, its
twin. The loop runs when numba is installed (a dependency) and the
environment variable ``KREISLAUF_KERNELS`` is not ``plain`` when ``sim`` is
first imported (:data:`COMPILED`); the twins run otherwise. Both give the
same numbers, bit for bit (no fast-math: every sum in the order the twin
adds it), which ``tests/test_kernels.py`` checks on random inputs.
Transcendental functions stay on the NumPy side of a loop: NumPy computes
``log10`` with its own vectorised routines where the processor has them
(AVX-512), which differ from the C library's, and numba's, in the last bit
of about one value in 26; ``hypot`` agrees. Arithmetic, ``abs``, ``sqrt``,
comparisons and minimum and maximum (written as NumPy defines them) agree.

Conventions of the hot paths that need no helper: rows of a two-dimensional
array are read with ``table.take(rows, axis=0)`` rather than ``table[rows]``
(the same values; fancy indexing of more than one dimension takes a slow
general path), and array methods (``keys.searchsorted``, ``mask.nonzero``)
are called rather than the ``np.`` functions of the same name, which add
Python-level dispatch to every call.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import numpy as np

numba: Any
try:
    import numba
except ImportError:  # a dependency; without it the plain twins run
    numba = None

__all__ = [
    "COMPILED",
    "add_evidence",
    "add_evidence_loop",
    "add_evidence_numpy",
    "add_rows",
    "add_rows_loop",
    "add_rows_numpy",
    "argsort_firms",
    "ask_in_turn",
    "ask_in_turn_loop",
    "ask_in_turn_python",
    "best_first",
    "best_first_loop",
    "best_first_numpy",
    "compiled",
    "distinct",
    "expand_ranges",
    "find_sorted",
    "first_distinct",
    "first_distinct_loop",
    "first_distinct_numpy",
    "flat_index",
    "load_compiled",
    "max_last",
    "max_rows",
    "max_rows_loop",
    "max_rows_numpy",
    "mean",
    "merge_sorted",
    "pair_columns",
    "pillars",
    "pillars_loop",
    "pillars_numpy",
    "prepare_on_load",
    "quantiles",
    "ragged_to_rows",
    "sd",
    "set_rows",
    "sorted_distinct",
    "sum_last",
    "twins",
]


def flat_index(target: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions in ``target.reshape(-1)`` of the cells of ``target[rows]``, row by row.

    Examples
    --------
    >>> flat_index(np.zeros((3, 2)), np.array([2, 0])).tolist()
    [4, 5, 0, 1]
    """
    width = target.shape[1]
    start = np.asarray(rows, dtype=np.int64) * width
    # Column by column: broadcasting against a short last axis is slow.
    out = np.empty((len(start), width), dtype=np.int64)
    for j in range(width):
        np.add(start, j, out=out[:, j])
    return out.reshape(-1)


def add_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``target[rows] += values`` with repeated rows adding up, in order (``np.add.at``), for a float ``target``.

    The compiled loop :func:`add_rows_loop` does it, or its twin
    :func:`add_rows_numpy` (``np.add.at``, which is slow on many rows).

    Examples
    --------
    >>> t = np.zeros((2, 2))
    >>> add_rows(t, np.array([1, 1]), np.ones((2, 2)))
    >>> t.tolist()
    [[0.0, 0.0], [2.0, 2.0]]
    """
    # One type of argument for the loop (so one compiled version): int64 rows, C-ordered float64 values.
    _add_rows(target, np.asarray(rows, dtype=np.int64), np.ascontiguousarray(values, dtype=np.float64))


def add_rows_numpy(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """:func:`add_rows` as ``np.add.at`` on the rows' cells."""
    np.add.at(target.reshape(-1), flat_index(target, rows), np.asarray(values, dtype=target.dtype).reshape(-1))


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
        order = queries.argsort()
        ranked = queries[order]
    else:
        order, ranked = None, queries
    pos = np.minimum(keys.searchsorted(ranked), len(keys) - 1)
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
    starts = counts.cumsum() - counts
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
    at = lo[which] + np.arange(len(which)) - (counts.cumsum() - counts).repeat(counts)
    return which, at


def distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(values, return_index=True, return_inverse=True)`` for a one-dimensional integer array.

    Sorts with quicksort and finds each value's first occurrence itself:
    the stable sort ``np.unique`` needs for ``return_index`` is slow in
    some NumPy builds.

    Examples
    --------
    >>> uniq, first, inverse = distinct(np.array([5, 2, 5, 7, 2]))
    >>> uniq.tolist(), first.tolist(), inverse.tolist()
    ([2, 5, 7], [1, 0, 3], [1, 0, 1, 2, 0])
    """
    values = np.asarray(values)
    order = values.argsort()
    ranked = values[order]
    start = np.ones(len(ranked), dtype=bool)
    start[1:] = ranked[1:] != ranked[:-1]
    starts = start.nonzero()[0]
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = start.cumsum() - 1
    first = np.minimum.reduceat(order, starts) if len(starts) else np.zeros(0, dtype=np.int64)
    return ranked[starts], first, inverse


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for a one-dimensional integer array: its distinct values, sorted.

    Sorts and keeps each value's first occurrence: NumPy 2's hash-based
    ``np.unique`` is many times slower on pair keys (0.45 s against 0.02 s
    for 300,000 keys), and more so the more keys there are.

    Examples
    --------
    >>> sorted_distinct(np.array([5, 2, 5, 7, 2])).tolist()
    [2, 5, 7]
    """
    ranked = np.sort(values)
    if len(ranked) < 2:
        return ranked
    first = np.empty(len(ranked), dtype=bool)
    first[0] = True
    np.not_equal(ranked[1:], ranked[:-1], out=first[1:])
    return ranked[first]


def merge_sorted(
    keys: np.ndarray, items: np.ndarray, new_keys: np.ndarray, new_items: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge sorted ``new_keys`` (with their ``new_items``) into sorted ``keys`` (with ``items``).

    Equal to ``np.insert`` at ``np.searchsorted(keys, new_keys)``, in one
    pass over the old arrays.

    Examples
    --------
    >>> k, i = merge_sorted(np.array([1, 5]), np.array([10, 50]), np.array([3, 7]), np.array([30, 70]))
    >>> k.tolist(), i.tolist()
    ([1, 3, 5, 7], [10, 30, 50, 70])
    """
    at = keys.searchsorted(new_keys) + np.arange(len(new_keys))
    old = np.ones(len(keys) + len(new_keys), dtype=bool)
    old[at] = False
    out_keys = np.empty(len(old), dtype=keys.dtype)
    out_items = np.empty(len(old), dtype=items.dtype)
    out_keys[at], out_items[at] = new_keys, new_items
    out_keys[old], out_items[old] = keys, items
    return out_keys, out_items


def pair_columns(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``np.stack([first, second], axis=1)``, filled column by column (stacking on axis 1 is slow).

    Examples
    --------
    >>> pair_columns(np.array([1, 2]), np.array([3, 4])).tolist()
    [[1, 3], [2, 4]]
    """
    out = np.empty((len(first), 2), dtype=np.result_type(first, second))
    out[:, 0], out[:, 1] = first, second
    return out


def sum_last(values: np.ndarray) -> np.ndarray:
    """``values.sum(axis=-1)``, bit for bit, for a short last axis.

    NumPy sums fewer than eight numbers left to right; adding the columns in
    that order gives the same result and avoids a reduction with a very short
    inner loop, which is slow.

    Examples
    --------
    >>> sum_last(np.arange(6.0).reshape(2, 3)).tolist()
    [3.0, 12.0]
    """
    width = values.shape[-1]
    if width == 0 or width >= 8:
        return np.asarray(values.sum(axis=-1))
    total = values[..., 0].copy()
    for j in range(1, width):
        total += values[..., j]
    return total


def max_last(values: np.ndarray) -> np.ndarray:
    """``values.max(axis=-1)`` for a short last axis, column by column.

    A reduction over a very short inner axis is slow in NumPy; the maximum
    does not depend on the order its values are compared in.

    Examples
    --------
    >>> max_last(np.array([[1.0, 3.0, 2.0], [0.5, 0.0, 0.25]])).tolist()
    [3.0, 0.5]
    """
    width = values.shape[-1]
    if width == 0 or width >= 8:
        return np.asarray(values.max(axis=-1))
    out = values[..., 0].copy()
    for j in range(1, width):
        np.maximum(out, values[..., j], out=out)
    return out


def argsort_firms(values: np.ndarray, bound: int) -> np.ndarray:
    """A stable order sorting non-negative integers below ``bound`` (firm indices, positions).

    Below 2**16 the values are sorted as 16-bit integers, for which NumPy's
    stable sort is a radix sort, several times faster than sorting 64-bit ones.

    Examples
    --------
    >>> argsort_firms(np.array([3, 1, 2]), 4).tolist()
    [1, 2, 0]
    """
    if bound <= 1 << 16:
        return values.astype(np.uint16).argsort(kind="stable")
    return values.argsort(kind="stable")


def set_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``target[rows] = values`` for a C-contiguous two-dimensional ``target``, each row written as one item.

    Setting rows of a two-dimensional array by an index array takes NumPy's
    slow general path; viewed as one opaque item per row, it takes the fast
    one-dimensional path.

    Examples
    --------
    >>> t = np.zeros((3, 2))
    >>> set_rows(t, np.array([2, 0]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> t.tolist()
    [[3.0, 4.0], [0.0, 0.0], [1.0, 2.0]]
    """
    item = np.dtype((np.void, target.shape[1] * target.itemsize))
    source = np.ascontiguousarray(values, dtype=target.dtype)
    target.view(item).reshape(-1)[rows] = source.view(item).reshape(-1)


def mean(values: np.ndarray) -> float:
    """``float(np.mean(values))``, bit for bit, for a non-empty one-dimensional array of numbers.

    The sum NumPy's mean takes (in float64) divided by the count, without
    the Python-level checks of ``np.mean`` (several microseconds a call; a
    month's measures take a dozen means of a few numbers).

    Examples
    --------
    >>> mean(np.array([0.1, 0.2, 0.4]))
    0.23333333333333336
    """
    return float(np.add.reduce(values, dtype=np.float64) / len(values))


def sd(values: np.ndarray) -> float:
    """``float(np.std(values))`` (the population standard deviation), bit for bit, as :func:`mean` is.

    Examples
    --------
    >>> sd(np.array([1.0, 3.0]))
    1.0
    """
    deviation = values - np.add.reduce(values, dtype=np.float64) / len(values)
    np.multiply(deviation, deviation, out=deviation)
    return math.sqrt(np.add.reduce(deviation) / len(values))


def quantiles(values: np.ndarray, qs: Sequence[float]) -> tuple[float, ...]:
    """``np.quantile(values, qs)`` (its default, linear method), bit for bit, as floats.

    For a non-empty one-dimensional float array without NaN. The sorted
    values are read at position ``(n - 1) * q`` and interpolated between
    their neighbours exactly as NumPy does (from the nearer end), without
    the dozens of calls ``np.quantile`` makes to handle every method and
    shape.

    Examples
    --------
    >>> quantiles(np.array([0.4, 0.1, 0.3, 0.2]), (0.1, 0.5, 1.0))
    (0.13, 0.25, 0.4)
    """
    ranked = np.sort(values)
    n = len(ranked)
    out = []
    for q in qs:
        at = (n - 1) * q
        if at >= n - 1:
            out.append(ranked[-1].item())
            continue
        i = math.floor(at)
        weight = at - i
        below, above = ranked[i].item(), ranked[i + 1].item()  # only the two read, not the whole array
        step = above - below
        out.append(below + step * weight if weight < 0.5 else above - step * (1 - weight))
    return tuple(out)


# ---------------------------------------------------------------------------
# Compiled loops and their plain twins
# ---------------------------------------------------------------------------

#: Whether the loops below run compiled by numba (else their plain NumPy twins run).
COMPILED = numba is not None and os.environ.get("KREISLAUF_KERNELS", "compiled") != "plain"

F = TypeVar("F", bound=Callable[..., Any])


def compiled(loop: F) -> F:
    """``loop`` compiled by numba and cached on disk; the Python loop itself without numba.

    The Python function stays reachable as ``.py_func`` of the compiled one.
    Division follows NumPy (``error_model="numpy"``: a division by zero gives
    inf or NaN, as in the loop's NumPy twin, rather than an exception).
    numba keys its on-disk cache on each loop's source file, not on these
    options: after changing them, delete ``sim/__pycache__/*.nb*``.
    """
    if numba is None:
        return loop
    return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy")(loop))


def twins(loop: F, plain: F) -> F:
    """The kernel the model calls: the compiled loop if :data:`COMPILED`, else its plain twin."""
    return loop if COMPILED else plain


def pillars_numpy(
    book: np.ndarray,
    rows: np.ndarray,
    owners: np.ndarray,
    subjects: np.ndarray,
    propensity: np.ndarray,
    member: np.ndarray,
    community: np.ndarray,
    prior_strength: float,
    sharing: float,
    kept_by_members: float,
) -> np.ndarray:
    r"""Each owner's expectation of each pillar of its subject, ``(m, 3)``: the beta-reputation mean.

    :math:`E_p = (\pi k + r_p + w R_p) / (k + r_p + s_p + w (R_p + S_p))` (see
    :mod:`sim.state.ledger`), where ``r, s`` are the owner's evidence row
    (``rows[i]``; -1 for none: no evidence), ``R, S`` the community's evidence
    about the subject (``community[subject]``: the three positive, then the
    three negative counts), weighted by ``sharing`` for members only; members'
    expectations are then scaled by ``kept_by_members``.
    """
    k = prior_strength
    prior = propensity.take(owners) * k
    has = rows >= 0
    seen = book.take(np.maximum(rows, 0), axis=0)  # take: see the module's conventions
    if not has.all():
        seen[~has] = 0.0
    if sharing > 0:
        w = np.where(member.take(owners), sharing, 0.0)
        shared = community.take(subjects, axis=0)
    out = np.empty((len(rows), 3))
    # Pillar by pillar: arithmetic on narrow column slices is slow in NumPy.
    for p in range(3):
        r, s = seen[:, p], seen[:, 3 + p]
        if sharing > 0:
            r = r + w * shared[:, p]
            s = s + w * shared[:, 3 + p]
        out[:, p] = (prior + r) / (k + r + s)
    if kept_by_members < 1.0:
        out[member.take(owners)] *= kept_by_members
    return out


@compiled
def pillars_loop(
    book: np.ndarray,
    rows: np.ndarray,
    owners: np.ndarray,
    subjects: np.ndarray,
    propensity: np.ndarray,
    member: np.ndarray,
    community: np.ndarray,
    prior_strength: float,
    sharing: float,
    kept_by_members: float,
) -> np.ndarray:
    """:func:`pillars_numpy` as a loop over the pairs: one pass, no temporary arrays."""
    k = prior_strength
    out = np.empty((len(rows), 3))
    for i in range(len(rows)):
        owner, row, is_member = owners[i], rows[i], member[owners[i]]
        prior = propensity[owner] * k
        for p in range(3):
            r = book[row, p] if row >= 0 else 0.0
            s = book[row, 3 + p] if row >= 0 else 0.0
            if sharing > 0:
                w = sharing if is_member else 0.0
                r = r + w * community[subjects[i], p]
                s = s + w * community[subjects[i], 3 + p]
            out[i, p] = (prior + r) / (k + r + s)
            if kept_by_members < 1.0 and is_member:
                out[i, p] *= kept_by_members
    return out


pillars = twins(pillars_loop, pillars_numpy)


def add_evidence_numpy(book: np.ndarray, rows: np.ndarray, observed: np.ndarray) -> None:
    """Add ``observed[:, i]`` (six counts: three positive, three negative) to both halves of ``book[rows[i]]``.

    The book's first six columns are all the owner goes by, the last six
    its first-hand evidence; an observation is first-hand, so it enters
    both. ``rows`` are distinct.
    """
    seen = book.take(rows, axis=0)
    seen[:, :6] += observed.T
    seen[:, 6:] += observed.T
    set_rows(book, rows, seen)


@compiled
def add_evidence_loop(book: np.ndarray, rows: np.ndarray, observed: np.ndarray) -> None:
    """:func:`add_evidence_numpy` as a loop over the observations."""
    for i in range(len(rows)):
        for j in range(6):
            book[rows[i], j] += observed[j, i]
            book[rows[i], 6 + j] += observed[j, i]


add_evidence = twins(add_evidence_loop, add_evidence_numpy)


@compiled
def ask_in_turn_loop(
    searchers: np.ndarray,
    ranked: np.ndarray,
    bounds: np.ndarray,
    firm_of: np.ndarray,
    agrees: np.ndarray,
    room: np.ndarray,
    most: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Who agrees with whom: each searcher in turn asks its ranked candidates and takes the first that agrees.

    Searcher ``k`` (firm ``searchers[k]``) asks the candidates at positions
    ``ranked[bounds[k]:bounds[k + 1]]``, best first; the candidate at
    position ``pos`` is firm ``firm_of[pos]`` and would agree if
    ``agrees[pos]``. A candidate without room (``room``, free places, filled
    as firms agree; changed in place) or already paired with the searcher
    this month is skipped, not asked; a searcher stops after ``most``
    refusals. Returns the searchers that found a partner and the position
    of the candidate each took, in searcher order.

    The loop is the rule. It runs compiled; its twin
    :func:`ask_in_turn_python` is the same loop run by Python (a greedy
    match in turn has no plain NumPy form). Pairs are kept as
    ``first * n + second`` with ``n`` above every firm index.

    Examples
    --------
    Firm 0 asks firms 1 then 2; firm 1 (room 1) says no, 2 yes. Firm 3 then
    asks 2 (now full) and 1, which agrees:

    >>> chosen, picks = ask_in_turn_python(
    ...     np.array([0, 3]), np.array([0, 1, 2, 3]), np.array([0, 2, 4]),
    ...     np.array([1, 2, 2, 1]), np.array([False, True, True, True]),
    ...     np.array([1, 1, 1, 1]), 3)
    >>> chosen.tolist(), picks.tolist()
    ([0, 1], [1, 3])
    """
    n = len(room)
    chosen = np.empty(len(searchers), dtype=np.int64)
    picks = np.empty(len(searchers), dtype=np.int64)
    found = 0
    paired = {-1}  # pairs agreed this month, both orders (-1: no pair; it gives the set its type)
    for k in range(len(searchers)):
        a = searchers[k]
        asked = 0
        for i in range(bounds[k], bounds[k + 1]):
            pos = ranked[i]
            b = firm_of[pos]
            if room[b] <= 0 or a * n + b in paired:
                continue  # filled or agreed this month: not asked
            if agrees[pos]:
                room[b] -= 1
                paired.add(a * n + b)
                paired.add(b * n + a)
                chosen[found] = k
                picks[found] = pos
                found += 1
                break
            asked += 1
            if asked == most:
                break
    return chosen[:found], picks[:found]


#: :func:`ask_in_turn_loop` run by Python itself: its twin.
ask_in_turn_python = getattr(ask_in_turn_loop, "py_func", ask_in_turn_loop)
ask_in_turn = twins(ask_in_turn_loop, ask_in_turn_python)


def best_first_numpy(row: np.ndarray, ranking: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Positions by ``row`` (non-decreasing), within a row by ``ranking`` best first, ties by ``tiebreak``.

    ``np.lexsort((tiebreak, -ranking, row))``: stable, a NaN ranking last.
    """
    return np.lexsort((tiebreak, -ranking, row))


@compiled
def best_first_loop(row: np.ndarray, ranking: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """:func:`best_first_numpy` as an insertion sort within each row's run of positions.

    ``row`` is non-decreasing, so each row's candidates are one run, a
    few dozen at most: sorting the runs one by one costs a pass over the
    pairs, where one sort of a million pairs costs a log factor more and
    misses every cache.
    """
    n = len(row)
    order = np.arange(n)
    lo = 0
    while lo < n:
        hi = lo + 1
        while hi < n and row[hi] == row[lo]:
            hi += 1
        for i in range(lo + 1, hi):
            pos = order[i]
            j = i - 1
            while j >= lo and _ranks_after(order[j], pos, ranking, tiebreak):
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = pos
        lo = hi
    return order


@compiled
def _ranks_after(p: int, q: int, ranking: np.ndarray, tiebreak: np.ndarray) -> bool:
    """Whether position ``p`` sorts after ``q``: lower ranking, or equal and a higher tiebreak; NaN last."""
    mine, theirs = ranking[p], ranking[q]
    if math.isnan(mine) or math.isnan(theirs):
        if math.isnan(mine) != math.isnan(theirs):
            return math.isnan(mine)
    elif mine != theirs:
        return mine < theirs
    return tiebreak[p] > tiebreak[q]


_best_first = twins(best_first_loop, best_first_numpy)


def best_first(row: np.ndarray, ranking: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Positions by ``row`` (non-decreasing), within a row by ``ranking`` best first, ties by ``tiebreak``.

    :func:`best_first_loop` or its twin :func:`best_first_numpy`, on
    contiguous arrays (so the loop is compiled once, not once per layout).
    """
    return _best_first(
        np.ascontiguousarray(row, dtype=np.int64),
        np.ascontiguousarray(ranking, dtype=np.float64),
        np.ascontiguousarray(tiebreak, dtype=np.float64),
    )


def first_distinct_numpy(draws: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` distinct values of each row of ``draws`` (non-negative), in their order, padded with -1.

    Examples
    --------
    >>> first_distinct_numpy(np.array([[4, 2, 4, 7], [1, 1, 1, 1]]), 2).tolist()
    [[4, 2], [1, -1]]
    """
    rows, width = draws.shape
    # Stable order of the draws (ties by position), as a quicksort of distinct
    # keys: NumPy's stable sort is slow in some builds.
    order = np.argsort(draws * width + np.arange(width), axis=1)
    # The sorted cells' positions in the flat arrays: what np.take_along_axis
    # and np.put_along_axis would use, without their overhead.
    cells = (order + width * np.arange(rows)[:, None]).ravel()
    ranked = draws.take(cells).reshape(rows, width)
    first = np.ones_like(ranked, dtype=bool)
    first[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    keep = np.zeros_like(first)
    keep.reshape(-1)[cells] = first.reshape(-1)
    # Each first occurrence's rank among them; the first k are kept (their
    # ranks do not change by dropping the later ones).
    rank = keep.cumsum(axis=1)
    keep &= rank <= k
    out = np.full((rows, k), -1, dtype=np.int64)
    r, col = keep.nonzero()
    out[r, rank[r, col] - 1] = draws[r, col]
    return out


@compiled
def first_distinct_loop(draws: np.ndarray, k: int) -> np.ndarray:
    """:func:`first_distinct_numpy` as a loop: each draw kept unless the row has it already."""
    out = np.full((draws.shape[0], k), -1, dtype=np.int64)
    for r in range(draws.shape[0]):
        kept = 0
        for j in range(draws.shape[1]):
            if kept == k:
                break
            value = draws[r, j]
            seen = False
            for i in range(kept):
                if out[r, i] == value:
                    seen = True
                    break
            if not seen:
                out[r, kept] = value
                kept += 1
    return out


first_distinct = twins(first_distinct_loop, first_distinct_numpy)


def max_rows_numpy(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``target[rows] = max(target[rows], values)`` with repeated rows: ``np.maximum.at`` on the rows' cells."""
    np.maximum.at(target.reshape(-1), flat_index(target, rows), np.asarray(values, dtype=target.dtype).reshape(-1))


@compiled
def max_rows_loop(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """:func:`max_rows_numpy` as a loop (``np.maximum`` keeps the first of equals, and NaN)."""
    for i in range(len(rows)):
        for j in range(target.shape[1]):
            now, offered = target[rows[i], j], values[i, j]
            target[rows[i], j] = now if now >= offered or now != now else offered


max_rows = twins(max_rows_loop, max_rows_numpy)


@compiled
def add_rows_loop(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """:func:`add_rows_numpy` as a loop: each value added to its cell, in order."""
    for i in range(len(rows)):
        for j in range(target.shape[1]):
            target[rows[i], j] += values[i, j]


_add_rows = twins(add_rows_loop, add_rows_numpy)


def load_compiled() -> None:
    """Compile the loops, or load them from the cache, now rather than in a run's first month.

    Called when a model is built. Each loop is called once on tiny arrays
    of the types the model passes (a column of the traits table is a
    strided view), so numba prepares the version the model will use; so is
    each preparation that modules above this one registered
    (:func:`prepare_on_load`). Once a process has them, this does nothing.
    """
    global _loaded
    if not COMPILED or _loaded:
        return
    for prepare in _preparations:
        prepare()
    book, rows = np.zeros((1, 12)), np.zeros(1, dtype=np.int64)
    column = np.zeros((2, 4))[:, 3]  # strided, as the traits table's propensity column (one row would be contiguous)
    pillars(book, rows, rows, rows, column, np.zeros(1, dtype=bool), np.zeros((1, 6)), 1.0, 0.0, 1.0)
    add_evidence(book, rows, np.zeros((6, 1)))
    ask_in_turn(rows, rows, np.zeros(2, dtype=np.int64), rows, np.zeros(1, dtype=bool), rows.copy(), 1)
    best_first(rows, np.zeros(1), np.zeros(1))
    first_distinct(np.zeros((1, 2), dtype=np.int64), 1)
    max_rows(np.zeros((1, 5)), rows, np.zeros((1, 5)))
    add_rows(np.zeros((1, 5)), rows, np.zeros((1, 5)))
    _loaded = True


_loaded = False
_preparations: list[Callable[[], None]] = []


def prepare_on_load(prepare: Callable[[], None]) -> Callable[[], None]:
    """Have :func:`load_compiled` call ``prepare`` (which calls a compiled loop on tiny arrays); returns it."""
    _preparations.append(prepare)
    return prepare
