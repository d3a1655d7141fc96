"""One month of the running cooperations (phase 4 of the Kreislauf): deliver, divide, learn, converge.

Each side keeps or breaks the agreement and delivers by its competence; the
pair creates joint value, which the sides divide (fairly, unless one grabs);
each pays its running costs; a side learns from a partner that delivered, in
the domains it needs; firms' cultures move toward their partners'. What the
sides observe of each other (trust) is :meth:`sim.kreislauf.Kreislauf.observe`'s.

The month is written twice, and both give the same numbers bit for bit
(``tests/test_relationship.py``):

- :func:`month_numpy`, plain NumPy over all cooperations at once, calling the
  rules of :mod:`sim.rules` on arrays;
- :func:`month_loop`, a loop over the cooperations compiled by numba, calling
  the same rules on single numbers (compiled from the same source), with
  :func:`coverage_of`, :func:`culture_fit_of` and :func:`initiator_share_of`
  for the three rules that work on whole rows or tables. One pass, no temporary arrays: in a market of 100,000 firms
  the NumPy form's temporaries of half a million cooperations by two sides
  by five domains miss every cache.

:func:`month` is the one the model calls (:data:`sim.kernels.COMPILED`); the
loop needs culture vectors of fewer than eight dimensions (NumPy sums those
left to right, as the loop does), so wider cultures take the NumPy form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from sim import rules
from sim.kernels import COMPILED, add_rows, compiled, pair_columns, prepare_on_load
from sim.vocabulary import BENEVOLENCE, COMPETENCE, INTEGRITY

__all__ = [
    "Cooperations",
    "Firms",
    "Rates",
    "coverage_of",
    "culture_fit_of",
    "initiator_share_of",
    "month",
    "month_loop",
    "month_numpy",
]


class Rates(NamedTuple):
    """The scenario's numbers a relationship month uses (:class:`sim.scenario.Kreislauf` and the market's)."""

    temptation: float
    competitor_temptation: float
    contract_enforcement: float
    broken_delivery: float
    partner_access: float
    baseline_synergy: float
    value_per_employee: float
    grab_temptation: float
    grab_share: float
    cost_per_km: float
    contract_cost: float
    learning_rate: float
    culture_convergence: float


class Cooperations(NamedTuple):
    """The cooperation table's columns a relationship month reads and adds to (whole columns, indexed by id)."""

    a: np.ndarray
    b: np.ndarray
    contract: np.ndarray
    transparency: np.ndarray
    competitor: np.ndarray
    distance: np.ndarray
    value: np.ndarray
    shares: np.ndarray
    realised: np.ndarray
    months: np.ndarray
    kept: np.ndarray
    broken: np.ndarray
    grabbed: np.ndarray


class Firms(NamedTuple):
    """The firms' columns a relationship month reads and changes (rows ``0 .. n-1`` are the firms)."""

    traits: np.ndarray
    caps: np.ndarray  # learned into
    culture: np.ndarray  # converges
    size: np.ndarray
    needs: np.ndarray  # this month's (:meth:`sim.kreislauf.Kreislauf.needs_now`)
    need_totals: np.ndarray
    coop_value: np.ndarray  # added to
    coop_cost: np.ndarray  # added to


def month_numpy(
    ids: np.ndarray, coop: Cooperations, firms: Firms, keep_draws: np.ndarray, grab_draws: np.ndarray, r: Rates
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One month of the cooperations ``ids``, in plain NumPy.

    ``keep_draws`` and ``grab_draws`` (m, 2) are uniform draws for each side:
    it keeps its promise if its draw is at least its breach chance, and
    grabs if its draw is below its grab chance. Adds to the cooperations'
    totals and the firms' value and cost of the month; moves capabilities
    and cultures. Returns each cooperation's joint value (m,) and whether
    each side kept (m, 2) and grabbed (m, 2).
    """
    n = len(firms.need_totals)
    a, b = coop.a[ids], coop.b[ids]
    side = pair_columns(a, b)  # side x acts; its partner is the other column
    other = pair_columns(b, a)
    caps = firms.caps.take(side, axis=0)  # (m, 2, domains)
    partner_caps = firms.caps.take(other, axis=0)
    needs = firms.needs.take(side, axis=0)
    traits = firms.traits
    contract, transparency = coop.contract[ids], coop.transparency[ids]

    # Keep or break the agreement; contribute by competence.
    temptation = r.temptation + r.competitor_temptation * coop.competitor[ids]
    p_break = rules.breach_chance(
        traits[:, INTEGRITY].take(side), temptation[:, None], contract[:, None], r.contract_enforcement
    )
    kept = keep_draws >= p_break
    quality = traits[:, COMPETENCE].take(side) * np.where(kept, 1.0, r.broken_delivery)

    # Joint value and its division.
    fit = rules.coverage(needs, caps, partner_caps, r.partner_access, total=firms.need_totals.take(side))
    synergy = np.minimum(1.0, r.baseline_synergy + (fit[:, 0] + fit[:, 1]))
    value = rules.joint_value(
        r.value_per_employee,
        firms.size[a],
        firms.size[b],
        synergy,
        quality[:, 0],
        quality[:, 1],
        transparency,
        rules.culture_fit(firms.culture.take(a, axis=0), firms.culture.take(b, axis=0)),
    )
    grabs = grab_draws < rules.grab_chance(traits[:, BENEVOLENCE].take(side), r.grab_temptation)
    share_a = rules.initiator_share(grabs[:, 0], grabs[:, 1], r.grab_share)
    shares = pair_columns(share_a * value, (1.0 - share_a) * value)
    costs = rules.running_cost(coop.distance[ids], contract, r.cost_per_km, r.contract_cost)
    net = pair_columns(shares[:, 0] - costs, shares[:, 1] - costs)
    np.add.at(firms.coop_value, side.ravel(), shares.ravel())
    np.add.at(firms.coop_cost, side.ravel(), costs.repeat(2))

    coop.value[ids] += value
    coop.shares[ids] += shares
    coop.realised[ids] += net
    coop.months[ids] += 1
    coop.kept[ids] += kept
    coop.broken[ids] += ~kept
    coop.grabbed[ids] += grabs

    # Know-how flows toward the less capable side while the other
    # delivers: a firm learns in the domains it needs, at the rate times
    # the transparency, a share of the partner's lead.
    partner_kept = pair_columns(kept[:, 1], kept[:, 0])
    rate = (r.learning_rate * transparency)[:, None, None]
    learns = partner_kept[:, :, None] & (needs > 0)
    gain = np.where(learns, rate * np.maximum(partner_caps - caps, 0.0), 0.0)
    add_rows(firms.caps, side.ravel(), gain.reshape(-1, caps.shape[2]))
    np.clip(firms.caps[:n], 0.0, 1.0, out=firms.caps[:n])
    # Cultures converge: each firm moves toward the mean culture of the
    # partners it works with this month (not further with each partner).
    counts = np.bincount(side.ravel(), minlength=n)
    movers = np.flatnonzero(counts)
    together = np.zeros((n, firms.culture.shape[1]))
    add_rows(together, side.ravel(), firms.culture.take(other.ravel(), axis=0))
    partners_mean = together[movers] / counts[movers, None]
    firms.culture[movers] += rules.culture_pull(firms.culture[movers], partners_mean, r.culture_convergence)
    return value, kept, grabs


# ---------------------------------------------------------------------------
# The loop: the same month, cooperation by cooperation
# ---------------------------------------------------------------------------


def _on_numbers(rule: Callable[..., Any]) -> Callable[..., float]:
    """A rule of :mod:`sim.rules`, written for arrays, compiled to be called on single numbers by the loop."""
    return compiled(rule)


_breach_chance = _on_numbers(rules.breach_chance)
_grab_chance = _on_numbers(rules.grab_chance)
_joint_value = _on_numbers(rules.joint_value)
_running_cost = _on_numbers(rules.running_cost)
_culture_pull = _on_numbers(rules.culture_pull)


@compiled
def _larger(x: float, y: float) -> float:
    """``np.maximum`` of two numbers (the first if they are equal; NaN wins)."""
    return x if x >= y or x != x else y


@compiled
def _smaller(x: float, y: float) -> float:
    """``np.minimum`` of two numbers (the first if they are equal; NaN wins)."""
    return x if x <= y or x != x else y


@compiled
def coverage_of(needs: np.ndarray, own: np.ndarray, other: np.ndarray, access: float, total: float) -> float:
    """:func:`sim.rules.coverage` (``of="need"``, ``total`` given) of one firm: its vectors over domains."""
    covered = 0.0
    for d in range(len(needs)):
        gap = _larger(needs[d] - own[d], 0.0)
        lent = _smaller(gap, _larger(access * other[d] - own[d], 0.0))
        covered = lent if d == 0 else covered + lent
    return covered / total if total > 0 else 0.0


@compiled
def culture_fit_of(culture_a: np.ndarray, culture_b: np.ndarray) -> float:
    """:func:`sim.rules.culture_fit` of two culture vectors (fewer than eight dimensions: summed left to right)."""
    apart = 0.0
    for d in range(len(culture_a)):
        gap = abs(culture_a[d] - culture_b[d])
        apart = gap if d == 0 else apart + gap
    return 1.0 - apart / len(culture_a)


@compiled
def initiator_share_of(grabs_a: bool, grabs_b: bool, grab_share: float) -> float:
    """:func:`sim.rules.initiator_share` of one cooperation: half, unless exactly one side grabs."""
    if grabs_a == grabs_b:
        return 0.5
    return grab_share if grabs_a else 1.0 - grab_share


@compiled
def _one_side(
    me: int, partner: int, keep_draw: float, grab_draw: float, temptation: float, contract: float, firms: Any, r: Any
) -> tuple[bool, float, float, bool]:
    """One side's month: whether it keeps the agreement, the quality it delivers, its partner's fit, whether it grabs."""
    p_break = _breach_chance(firms.traits[me, INTEGRITY], temptation, contract, r.contract_enforcement)
    kept = keep_draw >= p_break
    quality = firms.traits[me, COMPETENCE] * (1.0 if kept else r.broken_delivery)
    fit = coverage_of(firms.needs[me], firms.caps[me], firms.caps[partner], r.partner_access, firms.need_totals[me])
    grabs = grab_draw < _grab_chance(firms.traits[me, BENEVOLENCE], r.grab_temptation)
    return kept, quality, fit, grabs


@compiled
def month_loop(
    ids: np.ndarray, coop: Any, firms: Any, keep_draws: np.ndarray, grab_draws: np.ndarray, r: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`month_numpy` as a loop over the cooperations (same arguments, same results).

    Every cooperation reads capabilities and cultures as the month began:
    the first pass computes each one's month and its sides' lessons, the
    later ones apply the lessons and the cultures' moves in the order the
    NumPy form adds them.
    """
    n = len(firms.need_totals)
    m = len(ids)
    domains, width = firms.caps.shape[1], firms.culture.shape[1]
    value = np.empty(m)
    kept = np.empty((m, 2), dtype=np.bool_)
    grabs = np.empty((m, 2), dtype=np.bool_)
    gain = np.zeros((m, 2, domains))
    for i in range(m):
        c = ids[i]
        a, b = coop.a[c], coop.b[c]
        contract, transparency = coop.contract[c], coop.transparency[c]
        temptation = r.temptation + r.competitor_temptation * coop.competitor[c]
        kept[i, 0], quality_a, fit_a, grabs[i, 0] = _one_side(
            a, b, keep_draws[i, 0], grab_draws[i, 0], temptation, contract, firms, r
        )
        kept[i, 1], quality_b, fit_b, grabs[i, 1] = _one_side(
            b, a, keep_draws[i, 1], grab_draws[i, 1], temptation, contract, firms, r
        )
        # Joint value and its division.
        synergy = _smaller(1.0, r.baseline_synergy + (fit_a + fit_b))
        cultures = culture_fit_of(firms.culture[a], firms.culture[b])
        value[i] = _joint_value(
            r.value_per_employee, firms.size[a], firms.size[b], synergy, quality_a, quality_b, transparency, cultures
        )
        share_a = initiator_share_of(grabs[i, 0], grabs[i, 1], r.grab_share)
        share_b = 1.0 - share_a
        costs = _running_cost(coop.distance[c], contract, r.cost_per_km, r.contract_cost)
        firms.coop_value[a] += share_a * value[i]
        firms.coop_value[b] += share_b * value[i]
        firms.coop_cost[a] += costs
        firms.coop_cost[b] += costs
        coop.value[c] += value[i]
        coop.shares[c, 0] += share_a * value[i]
        coop.shares[c, 1] += share_b * value[i]
        coop.realised[c, 0] += share_a * value[i] - costs
        coop.realised[c, 1] += share_b * value[i] - costs
        coop.months[c] += 1
        for s in range(2):
            coop.kept[c, s] += kept[i, s]
            coop.broken[c, s] += not kept[i, s]
            coop.grabbed[c, s] += grabs[i, s]
        # Lessons: a side learns where it needs and its partner delivered.
        rate = r.learning_rate * transparency
        for s, me, partner in ((0, a, b), (1, b, a)):
            if kept[i, 1 - s]:
                for d in range(domains):
                    if firms.needs[me, d] > 0:
                        gain[i, s, d] = rate * _larger(firms.caps[partner, d] - firms.caps[me, d], 0.0)
    # Capabilities learned (every side's lessons, zero or not, as NumPy adds them), then kept in [0, 1].
    for i in range(m):
        for s, me in ((0, coop.a[ids[i]]), (1, coop.b[ids[i]])):
            for d in range(domains):
                firms.caps[me, d] += gain[i, s, d]
    for f in range(n):
        for d in range(domains):
            if firms.caps[f, d] < 0.0:
                firms.caps[f, d] = 0.0
            elif firms.caps[f, d] > 1.0:
                firms.caps[f, d] = 1.0
    # Cultures converge toward the mean culture of this month's partners.
    together = np.zeros((n, width))
    counts = np.zeros(n, dtype=np.int64)
    for i in range(m):
        a, b = coop.a[ids[i]], coop.b[ids[i]]
        for me, partner in ((a, b), (b, a)):
            counts[me] += 1
            for d in range(width):
                together[me, d] += firms.culture[partner, d]
    for f in range(n):
        if counts[f] > 0:
            for d in range(width):
                mean = together[f, d] / counts[f]
                firms.culture[f, d] += _culture_pull(firms.culture[f, d], mean, r.culture_convergence)
    return value, kept, grabs


@prepare_on_load
def _prepare() -> None:
    """Compile the loop (or load it from the cache) for the types the model passes, on one cooperation."""

    def floats(*shape: int) -> np.ndarray:
        return np.zeros(shape)

    def ints(*shape: int) -> np.ndarray:
        return np.zeros(shape, dtype=np.int64)

    coop = Cooperations(
        ints(1), ints(1), floats(1), floats(1), np.zeros(1, dtype=bool), floats(1), floats(1), floats(1, 2),
        floats(1, 2), ints(1), ints(1, 2), ints(1, 2), ints(1, 2),
    )  # fmt: skip
    firms = Firms(
        floats(1, 4), floats(1, 5), floats(1, 3), floats(1) + 1, floats(1, 5), floats(1), floats(1), floats(1)
    )
    month_loop(ints(1), coop, firms, floats(1, 2), floats(1, 2), Rates(*([0.0] * len(Rates._fields))))


def month(
    ids: np.ndarray, coop: Cooperations, firms: Firms, keep_draws: np.ndarray, grab_draws: np.ndarray, r: Rates
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One month of the cooperations ``ids`` (:func:`month_numpy` says what): the loop where it applies."""
    if COMPILED and firms.culture.shape[1] < 8:
        return month_loop(ids, coop, firms, keep_draws, grab_draws, r)
    return month_numpy(ids, coop, firms, keep_draws, grab_draws, r)
