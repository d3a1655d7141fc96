"""Each speed trick in sim.kernels equals the plain NumPy it replaces, on random inputs of every size that matters."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim import CooperationModel, kernels, relationship
from sim.state.pairs import SortedIndex, first_of, ordered, second_of

small_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
firm_ids = hnp.arrays(np.int64, st.integers(0, 300), elements=st.integers(0, 70_000))


@given(hnp.arrays(np.float64, st.tuples(st.integers(0, 40), st.integers(1, 9)), elements=small_floats))
def test_sum_last_and_max_last_equal_the_reductions(values: np.ndarray) -> None:
    assert np.array_equal(kernels.sum_last(values), values.sum(axis=-1))  # bit for bit
    assert np.array_equal(kernels.max_last(values), values.max(axis=-1))


@settings(deadline=None)  # the first call may compile
@given(st.data(), st.integers(1, 6), st.integers(1, 30))
def test_row_updates_equal_ufunc_at(data: st.DataObject, width: int, rows: int) -> None:
    target = data.draw(hnp.arrays(np.float64, (rows, width), elements=small_floats))
    at = data.draw(hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(0, rows - 1)))
    values = data.draw(hnp.arrays(np.float64, (len(at), width), elements=small_floats))
    for add_rows in (kernels.add_rows, kernels.add_rows_loop, kernels.add_rows_numpy):
        added, plain = target.copy(), target.copy()
        add_rows(added, at, values)
        np.add.at(plain, at, values)
        assert np.array_equal(added, plain)
    for max_rows in (kernels.max_rows_loop, kernels.max_rows_numpy):
        raised, plain = target.copy(), target.copy()
        max_rows(raised, at, values)
        np.maximum.at(plain, at, values)
        assert np.array_equal(raised, plain)
    distinct_rows = np.unique(at)
    written, plain = target.copy(), target.copy()
    kernels.set_rows(written, distinct_rows, values[: len(distinct_rows)])
    plain[distinct_rows] = values[: len(distinct_rows)]
    assert np.array_equal(written, plain)


@given(hnp.arrays(np.int64, st.integers(0, 200), elements=st.integers(0, 10**12), unique=True), firm_ids)
def test_find_sorted_equals_a_binary_search(keys: np.ndarray, queries: np.ndarray) -> None:
    # More than 64 queries take the sorted path, fewer the direct one.
    keys = np.sort(keys)
    queries = np.concatenate([queries, keys[: len(keys) // 2]])
    plain = [int(np.searchsorted(keys, q)) if q in set(keys.tolist()) else -1 for q in queries.tolist()]
    assert kernels.find_sorted(keys, queries).tolist() == plain


@given(firm_ids)
def test_sorted_distinct_equals_np_unique(values: np.ndarray) -> None:
    got = kernels.sorted_distinct(values)
    assert np.array_equal(got, np.unique(values)) and got.dtype == values.dtype


@given(firm_ids)
def test_distinct_equals_np_unique(values: np.ndarray) -> None:
    uniq, first, inverse = kernels.distinct(values)
    plain = np.unique(values, return_index=True, return_inverse=True)
    for got, want in zip((uniq, first, inverse), plain, strict=True):
        assert np.array_equal(got, np.asarray(want).reshape(-1))


@given(
    hnp.arrays(np.int64, st.integers(0, 100), elements=st.integers(0, 10**6), unique=True),
    hnp.arrays(np.int64, st.integers(0, 100), elements=st.integers(0, 10**6), unique=True),
)
def test_merge_sorted_equals_np_insert(old: np.ndarray, new: np.ndarray) -> None:
    old = np.sort(old)
    new = np.sort(np.setdiff1d(new, old))
    keys, items = kernels.merge_sorted(old, -old, new, -new)
    plain = np.insert(old, np.searchsorted(old, new), new)
    assert np.array_equal(keys, plain) and np.array_equal(items, -plain)


@given(firm_ids, st.sampled_from([70_001, 1 << 17]))
def test_argsort_firms_equals_a_stable_argsort(values: np.ndarray, bound: int) -> None:
    # Below 2**16 firms a radix sort of 16-bit integers, above it the plain sort.
    values = values % bound if bound <= 1 << 16 else values
    assert np.array_equal(kernels.argsort_firms(values, max(bound, 1)), values.argsort(kind="stable"))
    small = values % (1 << 16)
    assert np.array_equal(kernels.argsort_firms(small, 1 << 16), small.argsort(kind="stable"))


@given(
    hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(0, 1) | small_floats),
    st.lists(st.floats(0, 1), min_size=1, max_size=4),
)
def test_quantiles_equal_np_quantile(values: np.ndarray, qs: list[float]) -> None:
    qs += [0.0, 0.1, 0.5, 0.9, 1.0]
    assert kernels.quantiles(values, qs) == tuple(np.quantile(values, qs).tolist())  # bit for bit


@given(hnp.arrays(np.float64, st.integers(0, 50), elements=small_floats))
def test_pair_columns_equals_stacking(first: np.ndarray) -> None:
    assert np.array_equal(kernels.pair_columns(first, -first), np.stack([first, -first], axis=1))


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 5)), max_size=40))
def test_expand_ranges_and_ragged_rows_equal_python_loops(ranges: list[tuple[int, int]]) -> None:
    lo = np.array([a for a, _ in ranges], dtype=np.int64)
    hi = lo + np.array([k for _, k in ranges], dtype=np.int64)
    which, at = kernels.expand_ranges(lo, hi)
    pairs = [(i, p) for i, (a, b) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)) for p in range(a, b)]
    assert list(zip(which.tolist(), at.tolist(), strict=True)) == pairs
    rows = kernels.ragged_to_rows(which, at, len(ranges))
    for i in range(len(ranges)):
        assert [p for p in rows[i].tolist() if p >= 0] == [p for j, p in pairs if j == i]


@settings(max_examples=50)
@given(
    st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 2000)), min_size=0, max_size=400, unique=True), st.data()
)
def test_the_sorted_index_equals_a_dict(pairs: list[tuple[int, int]], data: st.DataObject) -> None:
    """Inserted in batches (large ones too), removed in part: lookups and ranges as a plain dict gives them."""
    index, plain = SortedIndex(), {}
    cut = data.draw(st.integers(0, len(pairs)))
    for batch in (pairs[:cut], pairs[cut:]):
        if batch:
            keys = ordered(np.array([a for a, _ in batch]), np.array([b for _, b in batch]))
            index.insert(keys, np.arange(len(plain), len(plain) + len(batch)))
            plain.update({(a, b): len(plain) + k for k, (a, b) in enumerate(batch)})
    gone = pairs[: len(pairs) // 3]
    if gone:
        index.remove(ordered(np.array([a for a, _ in gone]), np.array([b for _, b in gone])))
        for pair in gone:
            del plain[pair]
    assert np.all(np.diff(index.keys) > 0)
    asked = pairs + [(a + 1, b) for a, b in pairs[:20]]
    if asked:
        found = index.find(ordered(np.array([a for a, _ in asked]), np.array([b for _, b in asked])))
        assert found.tolist() == [plain.get(p, -1) for p in asked]
    owners = np.array(sorted({a for a, _ in pairs})[:10], dtype=np.int64)
    which, values = index.with_first(owners)
    want = [(i, plain[(o, b)]) for i, o in enumerate(owners.tolist()) for (a, b) in sorted(plain) if a == o]
    assert list(zip(which.tolist(), values.tolist(), strict=True)) == want
    assert first_of(index.keys).tolist() == [a for a, _ in sorted(plain)]
    assert second_of(index.keys).tolist() == [b for _, b in sorted(plain)]


# -- compiled loops and their plain twins -------------------------------------------------------------------------


def _run_both(loop, plain, *args):  # type: ignore[no-untyped-def]
    """The compiled loop, the same loop run by Python, and the NumPy twin, on copies of the same arguments."""
    copies = [[a.copy() if isinstance(a, np.ndarray) else a for a in args] for _ in range(3)]
    python_loop = getattr(loop, "py_func", loop)
    return [(f(*c), c) for f, c in zip((loop, python_loop, plain), copies, strict=True)]


@settings(max_examples=60, deadline=None)  # the first call may compile
@given(
    st.data(),
    st.integers(1, 12),
    st.integers(1, 30),
    st.integers(0, 40),
    st.sampled_from([0.0, 0.3, 1.0]),
    st.sampled_from([1.0, 0.8]),
)
def test_the_pillars_loop_equals_its_numpy_twin(
    data: st.DataObject, firms: int, book_rows: int, m: int, sharing: float, kept: float
) -> None:
    evidence = st.floats(0, 50, allow_subnormal=False)
    book = data.draw(hnp.arrays(np.float64, (book_rows, 12), elements=evidence))
    rows = data.draw(hnp.arrays(np.int64, m, elements=st.integers(-1, book_rows - 1)))
    owners = data.draw(hnp.arrays(np.int64, m, elements=st.integers(0, firms - 1)))
    subjects = data.draw(hnp.arrays(np.int64, m, elements=st.integers(0, firms - 1)))
    traits = data.draw(hnp.arrays(np.float64, (firms, 4), elements=st.floats(0, 1)))
    member = data.draw(hnp.arrays(np.bool_, firms))
    community = data.draw(hnp.arrays(np.float64, (firms, 6), elements=evidence))
    k = data.draw(st.sampled_from([0.5, 2.0, 3.0]))
    args = (book, rows, owners, subjects, traits[:, 3], member, community, k, sharing, kept)
    outs = [out for out, _ in _run_both(kernels.pillars_loop, kernels.pillars_numpy, *args)]
    assert outs[0].shape == (m, 3)
    assert np.array_equal(outs[0], outs[2]) and np.array_equal(outs[1], outs[2])  # bit for bit


@settings(deadline=None)  # the first call may compile
@given(st.data(), st.integers(1, 30))
def test_the_evidence_loop_equals_its_numpy_twin(data: st.DataObject, book_rows: int) -> None:
    book = data.draw(hnp.arrays(np.float64, (book_rows, 12), elements=st.floats(0, 50)))
    rows = data.draw(
        hnp.arrays(np.int64, st.integers(0, book_rows), elements=st.integers(0, book_rows - 1), unique=True)
    )
    observed = data.draw(hnp.arrays(np.float64, (6, len(rows)), elements=st.floats(0, 3)))
    books = [
        args[0] for _, args in _run_both(kernels.add_evidence_loop, kernels.add_evidence_numpy, book, rows, observed)
    ]
    assert np.array_equal(books[0], books[2]) and np.array_equal(books[1], books[2])
    plain = book.copy()
    plain[rows, :6] += observed.T
    plain[rows, 6:] += observed.T
    assert np.array_equal(books[2], plain)


def test_the_switch_runs_the_plain_twins_with_the_same_results(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """KREISLAUF_KERNELS=plain runs the NumPy twins; the model's numbers do not change."""
    script = (
        "import sys; from sim import CooperationModel, kernels\n"
        "m = CooperationModel('classroom', seed=4, steps=18)\n"
        "while m.running: m.step()\n"
        "m.measures_frame().to_csv(sys.argv[1], index=False)\n"
        "print(kernels.COMPILED, kernels.pillars is kernels.pillars_numpy, kernels.add_evidence is kernels.add_evidence_numpy,"
        " kernels.ask_in_turn is kernels.ask_in_turn_python)\n"
    )
    said = {}
    for mode in ("plain", "compiled"):
        env = {**os.environ, "KREISLAUF_KERNELS": mode}
        out = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / f"{mode}.csv")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        said[mode] = out.stdout.split()
    assert said["plain"] == ["False", "True", "True", "True"]
    assert said["compiled"] == ["True", "False", "False", "False"]
    assert (tmp_path / "plain.csv").read_bytes() == (tmp_path / "compiled.csv").read_bytes()


LOOPS = (
    kernels.pillars_loop,
    kernels.add_evidence_loop,
    kernels.ask_in_turn_loop,
    kernels.best_first_loop,
    kernels.first_distinct_loop,
    kernels.max_rows_loop,
    kernels.add_rows_loop,
    relationship.month_loop,
)


@pytest.mark.skipif(not kernels.COMPILED, reason="the compiled loops are switched off")
@pytest.mark.parametrize("scenario", ["classroom", "big", "open_market"])
def test_a_built_model_has_prepared_the_compiled_loops_it_uses(scenario: str) -> None:
    """Building a model compiles (or loads) each loop for the types the months pass: none compiles mid-run."""
    model = CooperationModel(scenario, seed=2, steps=36)
    prepared = {loop: list(loop.signatures) for loop in LOOPS}
    assert all(prepared.values())
    while model.running:
        model.step()
    assert {loop: list(loop.signatures) for loop in prepared} == prepared


def _ask_in_turn_by_hand(searchers, ranked, bounds, firm_of, agrees, room, most):  # type: ignore[no-untyped-def]
    """The rule as first written: Python lists and a set of pairs."""
    room, paired, chosen, picks = list(room), set(), [], []
    for k, a in enumerate(searchers):
        asked = 0
        for pos in ranked[bounds[k] : bounds[k + 1]]:
            b = firm_of[pos]
            if room[b] <= 0 or (a, b) in paired:
                continue
            if agrees[pos]:
                room[b] -= 1
                paired |= {(a, b), (b, a)}
                chosen.append(k)
                picks.append(pos)
                break
            asked += 1
            if asked == most:
                break
    return chosen, picks, room


@settings(deadline=None)  # the first call may compile
@given(st.data(), st.integers(2, 12), st.integers(0, 15), st.integers(1, 4))
def test_asking_in_turn_compiled_equals_the_loop_run_by_python_and_the_rule(
    data: st.DataObject, firms: int, searches: int, most: int
) -> None:
    searchers = data.draw(hnp.arrays(np.int64, searches, elements=st.integers(0, firms - 1)))
    per_searcher = data.draw(st.lists(st.integers(0, 6), min_size=searches, max_size=searches))
    bounds = np.concatenate([[0], np.cumsum(per_searcher, dtype=np.int64)]).astype(np.int64)
    total = int(bounds[-1])
    firm_of = data.draw(hnp.arrays(np.int64, total, elements=st.integers(0, firms - 1)))
    agrees = data.draw(hnp.arrays(np.bool_, total))
    ranked = np.asarray(data.draw(st.permutations(range(total))), dtype=np.int64)
    room = data.draw(hnp.arrays(np.int64, firms, elements=st.integers(0, 2)))
    rooms = [room.copy(), room.copy()]
    compiled = kernels.ask_in_turn_loop(searchers, ranked, bounds, firm_of, agrees, rooms[0], most)
    python = kernels.ask_in_turn_python(searchers, ranked, bounds, firm_of, agrees, rooms[1], most)
    chosen, picks, room_left = _ask_in_turn_by_hand(
        searchers.tolist(), ranked.tolist(), bounds.tolist(), firm_of.tolist(), agrees.tolist(), room.tolist(), most
    )
    for got, left in zip((compiled, python), rooms, strict=True):
        assert got[0].tolist() == chosen and got[1].tolist() == picks
        assert left.tolist() == room_left


@settings(deadline=None)  # the first call may compile
@given(st.data(), st.integers(0, 60))
def test_best_first_loop_equals_its_numpy_twin(data: st.DataObject, n: int) -> None:
    row = np.sort(data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 8))))
    # Few distinct values, so ties in the ranking and in the tiebreak happen; NaN and signed zeros too.
    ranking = data.draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, -0.0, 0.5, 1.0, np.nan])))
    tiebreak = data.draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.1, 0.2, 0.3])))
    got = [f(row, ranking, tiebreak).tolist() for f in (kernels.best_first_loop, kernels.best_first_numpy)]
    assert got[0] == got[1]
    assert sorted(got[0]) == list(range(n))


@settings(deadline=None)  # the first call may compile
@given(st.data(), st.integers(0, 12), st.integers(1, 8))
def test_first_distinct_loop_equals_its_numpy_twin(data: st.DataObject, rows: int, k: int) -> None:
    draws = data.draw(hnp.arrays(np.int64, (rows, 2 * k), elements=st.integers(0, 2 * k)))  # repeats are common
    got = [f(draws, k) for f in (kernels.first_distinct_loop, kernels.first_distinct_numpy)]
    assert np.array_equal(got[0], got[1])
    for picked, drawn in zip(got[0].tolist(), draws.tolist(), strict=True):
        distinct = list(dict.fromkeys(drawn))[:k]
        assert picked == distinct + [-1] * (k - len(distinct))


@given(
    st.one_of(
        hnp.arrays(np.float64, st.integers(1, 300), elements=small_floats),
        hnp.arrays(np.int64, st.integers(1, 300), elements=st.integers(0, 1000)),
    )
)
def test_mean_and_sd_equal_numpy_bit_for_bit(values: np.ndarray) -> None:
    assert kernels.mean(values) == float(np.mean(values))
    assert kernels.sd(values) == float(np.std(values))
