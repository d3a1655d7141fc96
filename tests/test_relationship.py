"""A relationship month as a compiled loop gives the numbers its NumPy form gives, bit for bit."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim import CooperationModel, kernels, relationship, rules

unit = st.floats(0, 1, allow_subnormal=False)


@st.composite
def months(draw: st.DrawFn) -> tuple:  # type: ignore[type-arg]
    """A small world: firms, cooperations among them (a firm in several), draws and rates."""
    n = draw(st.integers(2, 8))
    width = draw(st.integers(1, 7))
    size = 4 + n  # table rows beyond the firms, as the growing tables have
    firms = relationship.Firms(
        traits=draw(hnp.arrays(np.float64, (size, 4), elements=unit)),
        caps=draw(hnp.arrays(np.float64, (size, 5), elements=unit)),
        culture=draw(hnp.arrays(np.float64, (size, width), elements=unit)),
        size=draw(hnp.arrays(np.float64, size, elements=st.floats(1, 500))),
        needs=draw(hnp.arrays(np.float64, (n, 5), elements=st.sampled_from([0.0, 0.3, 0.7, 1.0]))),
        need_totals=np.zeros(n),
        coop_value=draw(hnp.arrays(np.float64, size, elements=st.floats(-50, 50))),
        coop_cost=draw(hnp.arrays(np.float64, size, elements=st.floats(0, 50))),
    )
    firms.need_totals[:] = kernels.sum_last(firms.needs)
    rows = draw(st.integers(1, 12))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=rows, max_size=rows))
    a = np.array([p for p, q in pairs], dtype=np.int64)
    b = np.array([q if q != p else (p + 1) % n for p, q in pairs], dtype=np.int64)
    coop = relationship.Cooperations(
        a=a,
        b=b,
        contract=draw(hnp.arrays(np.float64, rows, elements=unit)),
        transparency=draw(hnp.arrays(np.float64, rows, elements=unit)),
        competitor=draw(hnp.arrays(np.bool_, rows)),
        distance=draw(hnp.arrays(np.float64, rows, elements=st.floats(0, 300))),
        value=draw(hnp.arrays(np.float64, rows, elements=st.floats(0, 100))),
        shares=draw(hnp.arrays(np.float64, (rows, 2), elements=st.floats(0, 100))),
        realised=draw(hnp.arrays(np.float64, (rows, 2), elements=st.floats(-100, 100))),
        months=draw(hnp.arrays(np.int64, rows, elements=st.integers(0, 12))),
        kept=draw(hnp.arrays(np.int64, (rows, 2), elements=st.integers(0, 12))),
        broken=draw(hnp.arrays(np.int64, (rows, 2), elements=st.integers(0, 12))),
        grabbed=draw(hnp.arrays(np.int64, (rows, 2), elements=st.integers(0, 12))),
    )
    ids = np.asarray(draw(st.permutations(range(rows))), dtype=np.int64)[: draw(st.integers(1, rows))]
    m = len(ids)
    keep_draws = draw(hnp.arrays(np.float64, (m, 2), elements=unit))
    grab_draws = draw(hnp.arrays(np.float64, (m, 2), elements=unit))
    rates = relationship.Rates(
        *(draw(unit) for _ in range(9)), draw(st.floats(0, 0.1)), *(draw(unit) for _ in range(3))
    )
    return ids, coop, firms, keep_draws, grab_draws, rates


@pytest.mark.skipif(kernels.numba is None, reason="numba is not installed")
@settings(deadline=None, max_examples=150)  # the first call compiles
@given(months())
def test_the_loop_equals_the_numpy_month(world: tuple) -> None:  # type: ignore[type-arg]
    ids, coop, firms, keep_draws, grab_draws, rates = world
    outs = []
    for month in (relationship.month_loop, relationship.month_numpy):
        c, f = copy.deepcopy(coop), copy.deepcopy(firms)
        outs.append((month(ids, c, f, keep_draws, grab_draws, rates), c, f))
    (loop, c_loop, f_loop), (plain, c_plain, f_plain) = outs
    for got, want in zip(loop, plain, strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    for got, want in zip((*c_loop, *f_loop), (*c_plain, *f_plain), strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)  # every column, bit for bit


def test_one_month_worked_by_hand() -> None:
    """Two firms of 10 employees, both keep and nobody grabs; firm 1 lends what firm 0 lacks."""
    firms = relationship.Firms(
        traits=np.array([[0.8, 1.0, 1.0, 0.5], [0.6, 1.0, 1.0, 0.5]]),  # competence, integrity, benevolence
        caps=np.array([[0.2, 0.5, 0.5, 0.5, 0.5], [1.0, 0.5, 0.5, 0.5, 0.5]]),
        culture=np.array([[0.2, 0.6], [0.6, 0.6]]),
        size=np.array([10.0, 10.0]),
        needs=np.array([[0.8, 0.5, 0.5, 0.0, 0.0], [0.5, 0.5, 0.5, 0.0, 0.0]]),
        need_totals=np.array([1.8, 1.5]),
        coop_value=np.zeros(2),
        coop_cost=np.zeros(2),
    )
    one, two = np.ones(1), np.ones((1, 2))
    coop = relationship.Cooperations(
        np.array([0]), np.array([1]), 0.5 * one, 0.5 * one, np.array([False]), 100.0 * one,
        0 * one, 0 * two, 0 * two, np.zeros(1, dtype=np.int64), *(np.zeros((1, 2), dtype=np.int64) for _ in range(3)),
    )  # fmt: skip
    rates = relationship.Rates(0.2, 0.0, 0.5, 0.5, 0.5, 0.1, 2.0, 0.2, 0.7, 0.01, 1.0, 0.1, 0.1)
    for month in (relationship.month_numpy, relationship.month_loop):
        c, f = copy.deepcopy(coop), copy.deepcopy(firms)
        value, kept, grabs = month(np.array([0]), c, f, np.full((1, 2), 0.5), np.full((1, 2), 0.9), rates)
        assert kept.tolist() == [[True, True]] and grabs.tolist() == [[False, False]]  # integrity 1: no breach
        # Firm 0 lacks 0.6 of domain 0; firm 1 lends 0.5 of 1.0, which adds 0.3 beyond its 0.2: 0.3 / 1.8 of its need.
        synergy = 0.1 + 0.3 / 1.8
        # 2 k EUR x harmonic size 10 x synergy x mean quality 0.7 x (1 + 0.5) / 2 x culture fit 1 - 0.4 / 2.
        assert value[0] == pytest.approx(2.0 * 10 * synergy * 0.7 * 0.75 * 0.8)
        assert f.coop_value.tolist() == pytest.approx([value[0] / 2, value[0] / 2])
        assert f.coop_cost.tolist() == pytest.approx([1.0, 1.0])  # half of 100 km at 0.01, plus 1.0 x contract 0.5
        # Firm 0 learns 0.1 x transparency 0.5 of firm 1's lead of 0.8 in domain 0; firm 1 nothing (no lead).
        assert f.caps[0, 0] == pytest.approx(0.2 + 0.05 * 0.8) and f.caps[1].tolist() == firms.caps[1].tolist()
        # Cultures move a tenth of the way to the partner's: 0.2 -> 0.24, 0.6 -> 0.56.
        assert f.culture[:, 0].tolist() == pytest.approx([0.24, 0.56])
        assert c.months.tolist() == [1] and c.kept.tolist() == [[1, 1]] and c.grabbed.tolist() == [[0, 0]]
    assert rules.culture_fit(firms.culture[0], firms.culture[1]) == pytest.approx(0.8)


def test_a_model_runs_the_loop_and_wide_cultures_the_numpy_month(monkeypatch: pytest.MonkeyPatch) -> None:
    ran = []
    for name in ("month_loop", "month_numpy"):
        original = getattr(relationship, name)
        monkeypatch.setattr(relationship, name, lambda *a, _f=original, _n=name: ran.append(_n) or _f(*a))
    for dims in (3, 9):
        ran.clear()
        model = CooperationModel("open_market", seed=2, steps=8, measures__culture_dims=dims)
        while model.running:
            model.step()
        expected = "month_loop" if kernels.COMPILED and dims < 8 else "month_numpy"
        assert ran and set(ran) == {expected}
