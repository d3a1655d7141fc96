"""What the model measures each month, for the whole world and for focal firms.

:data:`MEASURES` names every per-step model measure with its meaning; the
model's Mesa ``DataCollector`` reports these, in this order: all of them by
default, or those a run asks for (``CooperationModel(record=[...])``, as a
sweep's ``[record] measures`` does). Most measures are counts and sums that
cost next to nothing; the dearer ones (:data:`DEAR_MEASURES`: percentiles,
spread, group trust over up to 200 members, clustering and components) are
computed only in runs that record them. Focal firms (by default the six
B.I.G. producers, wherever a scenario contains them) are followed one by one
in the DataCollector table ``focal_firms``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from copy import deepcopy
from functools import partial
from typing import Any

import mesa
import numpy as np

from sim.kernels import mean, quantiles, sd
from sim.observe.network import degree_measures, structure_measures
from sim.state.world import COUNTERS, World
from sim.vocabulary import DIGITAL, EXIT_REASONS, PRODUCER, Phase

__all__ = ["DEAR_MEASURES", "FOCAL_COLUMNS", "MEASURES", "Collector", "Measures", "gini"]

_EXIT_MEASURES = {
    f"exit_{r.name.lower()}": f"Cooperations exited after evaluation this month because {r.label}" for r in EXIT_REASONS
}

#: The measure counting the cooperations in each phase but ENDED, with the phase's code.
_PHASE_MEASURES = [(f"phase_{p.name.lower()}", int(p)) for p in Phase if p is not Phase.ENDED]

#: Every per-step measure and its meaning (units: months, k EUR).
MEASURES: dict[str, str] = {
    "firms": "Firms in the market",
    "producers": "Producing firms in the market",
    "entries": "Firms that entered this month (market entry and scheduled joins)",
    "exits": "Firms that left the market this month (insolvency or event)",
    "members_joined": "Firms that joined the group this month (after month 0)",
    "members_left": "Members the group let go at its review this month",
    **{f"phase_{p.name.lower()}": f"Cooperations in {p.label}" for p in Phase if p is not Phase.ENDED},
    "opened": "Needs assessments opened this month",
    "searches": "Partner searches begun this month",
    "formed": "Agreements made this month (search succeeded)",
    "started": "Relationships begun this month",
    "evaluated": "Evaluations this month",
    "continued": "Evaluations that continued the cooperation",
    "exited": "Cooperations exited after evaluation this month",
    "no_partner": "Cooperations ended this month without a partner",
    "dissolved": "Cooperations ended this month by a partner leaving or services removed",
    **_EXIT_MEASURES,
    "partner_fit": "Mean share of the searcher's gap (its requirements profile) covered by the partners chosen this month (NaN if none)",
    "mean_trust": "Mean trust between partners of live cooperations, both directions (NaN if none)",
    "trust_sd": "Standard deviation of that trust",
    "trust_p10": "10th percentile of that trust",
    "trust_p90": "90th percentile of that trust",
    "group_trust": "Mean trust among group members, all ordered pairs of the first 200 members (NaN without a group)",
    "bystander_trust": "Mean trust partners place in the focal firms whose traits no event has changed (a breach's bystanders; NaN if none has partners)",
    "bystander_profit": "Mean profit of the focal firms in the market whose traits no event has changed, k EUR (NaN if none)",
    "defection_rate": "Share of relationship months in which a side broke the agreement",
    "grab_rate": "Share of relationship months in which a side grabbed more than its fair share",
    "density": "Network density",
    "clustering": "Mean local clustering coefficient (every measures.network_interval months; NaN between)",
    "components": "Connected components, isolated firms counted (every measures.network_interval months; NaN between)",
    "largest_component_share": "Share of firms in the largest component (every measures.network_interval months; NaN between)",
    "mean_degree": "Mean partners per firm",
    "degree_sd": "Standard deviation of partners per firm",
    "max_degree": "Most partners of any firm",
    "value_created": "Joint value created by cooperations this month, k EUR",
    "revenue_total": "Revenue of all firms this month, k EUR",
    "profit_total": "Profit of all firms this month, k EUR",
    "producer_profit": "Mean profit of a producer this month, k EUR",
    "producer_overhead": "Mean overhead a producer paid this month (own plus fees), k EUR",
    "capital_mean": "Mean capital, k EUR",
    "capital_gini": "Gini coefficient of capital (negative capital counted as 0)",
    "digital_maturity": "Mean digital capability of producers",
    "digital_maturity_small": "Mean digital capability of small producers (NaN if none)",
    "culture_spread": "Mean standard deviation of the culture dimensions across firms",
}

#: The measures that cost more than a pass over the firms or the live cooperations: computed only when recorded.
DEAR_MEASURES = frozenset(
    {"trust_sd", "trust_p10", "trust_p90", "group_trust", "clustering", "components", "largest_component_share"}
)

#: The measures that are one of the month's counters as it stands (:data:`sim.state.world.COUNTERS`).
_COUNTED = [key for key in COUNTERS if key in MEASURES]

#: Columns of the ``focal_firms`` table.
FOCAL_COLUMNS = [
    "step",
    "firm",
    "alive",
    "capital",
    "revenue",
    "profit",
    "value_received",
    "overhead_paid",
    "digital_maturity",
    "cooperations",
    "trust_received",
]


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: equal, towards 1: concentrated).

    Examples
    --------
    >>> gini(np.array([1.0, 1.0, 1.0]))
    0.0
    >>> round(gini(np.array([0.0, 0.0, 3.0])), 4)
    0.6667
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0 or x.sum() <= 0:
        return 0.0
    # Float weights: a product of integer and float arrays takes a slow path to the same sum.
    weights = np.arange(1 - n, n, 2, dtype=float)  # 2 * rank - n - 1 for ranks 1..n
    return float(weights @ x / (n * x.sum()))


class Measures:
    """Computes the month's measures once; the DataCollector's reporters read them.

    Parameters
    ----------
    world : World
        The state to measure.
    record : iterable of str, optional
        The measures to record, by name (:data:`MEASURES`); all if not given.
        Measures of :data:`DEAR_MEASURES` not recorded are not computed
        (NaN in :attr:`current`).

    Raises
    ------
    ValueError
        If ``record`` names a measure that does not exist.
    """

    def __init__(self, world: World, record: Iterable[str] | None = None) -> None:
        self.world = world
        self.recorded = _recorded(record)
        self._dear = DEAR_MEASURES & set(self.recorded)
        self.current: dict[str, float] = dict.fromkeys(MEASURES, float("nan"))
        self._received = np.zeros(0)  # trust each firm receives from its partners, summed
        self._partners = np.zeros(0, dtype=np.int64)  # its live cooperations
        self.focal_names = list(world.scenario.measures.focal_firms)

    def reporters(self) -> dict[str, Any]:
        """Model reporters for Mesa's DataCollector, one per recorded measure."""
        return {name: partial(_read, name) for name in self.recorded}

    def update(self) -> None:
        """Compute the month's measures (the dear ones only when recorded) for the month just ended."""
        world, dear = self.world, self._dear
        firms, t, counts = world.firms, world.cooperations, world.tally
        n = firms.n
        alive = firms.alive[:n]
        producer = alive & (firms.role[:n] == PRODUCER)
        cur = self.current
        cur["firms"] = int(np.count_nonzero(alive))
        cur["producers"] = int(np.count_nonzero(producer))
        # Open cooperations only: the ended ones are not reported.
        phases = np.bincount(t.phase[t.open_ids()], minlength=len(Phase)).tolist()
        for key, code in _PHASE_MEASURES:
            cur[key] = phases[code]
        for key in _COUNTED:
            cur[key] = counts[key]
        cur["partner_fit"] = counts["fit_sum"] / counts["formed"] if counts["formed"] else float("nan")

        live = t.live()
        # Trust both ways along every live cooperation: the owner's trust in the partner.
        owners = np.concatenate([t.a[live], t.b[live]])
        partners = np.concatenate([t.b[live], t.a[live]])
        trust = world.ledger.trust_at(owners, partners, np.concatenate([t.row_ab[live], t.row_ba[live]]))
        self._received = np.bincount(partners, weights=trust, minlength=n).astype(float)
        self._partners = np.bincount(partners, minlength=n).astype(np.int64)
        if len(live):
            cur["mean_trust"] = mean(trust)
            if "trust_sd" in dear:
                cur["trust_sd"] = sd(trust)
            if "trust_p10" in dear or "trust_p90" in dear:
                cur["trust_p10"], cur["trust_p90"] = quantiles(trust, (0.1, 0.9))
        else:
            cur["mean_trust"] = cur["trust_sd"] = cur["trust_p10"] = cur["trust_p90"] = float("nan")
        if "group_trust" in dear:
            cur["group_trust"] = self.group_trust()
        cur["bystander_trust"], cur["bystander_profit"] = self.bystanders()
        months = counts["kept"] + counts["broken"]
        cur["defection_rate"] = counts["broken"] / months if months else float("nan")
        cur["grab_rate"] = counts["grabbed"] / months if months else float("nan")

        alive_idx = firms.alive_idx
        cur.update(degree_measures(self._partners[alive_idx]))
        if world.now % world.scenario.measures.network_interval == 0 and dear & _STRUCTURE:
            cur.update(structure_measures(alive_idx, t.a[live], t.b[live]))
        else:
            cur["clustering"] = cur["components"] = cur["largest_component_share"] = float("nan")

        cur["value_created"] = counts["value"]
        cur["revenue_total"] = float(firms.revenue[:n][alive].sum())
        cur["profit_total"] = float(firms.profit[:n][alive].sum())
        cur["producer_profit"] = mean(firms.profit[:n][producer]) if producer.any() else float("nan")
        cur["producer_overhead"] = mean(firms.overhead_paid[:n][producer]) if producer.any() else float("nan")
        capital = firms.capital[:n][alive]
        cur["capital_mean"] = mean(capital) if len(capital) else float("nan")
        cur["capital_gini"] = gini(np.maximum(capital, 0.0))
        digital = firms.caps[:n, DIGITAL]
        cur["digital_maturity"] = mean(digital[producer]) if producer.any() else float("nan")
        small = producer & (firms.size[:n] < world.scenario.measures.small_firm_size)
        cur["digital_maturity_small"] = mean(digital[small]) if small.any() else float("nan")
        cur["culture_spread"] = float(firms.culture[:n][alive].std(axis=0).mean()) if alive.sum() > 1 else 0.0

    def group_trust(self, limit: int = 200) -> float:
        """Mean trust among alive group members (the first ``limit`` members by index)."""
        firms = self.world.firms
        members = np.flatnonzero(firms.alive[: firms.n] & firms.member[: firms.n])[:limit]
        if len(members) < 2:
            return float("nan")
        owners, subjects = np.repeat(members, len(members)), np.tile(members, len(members))  # every ordered pair
        off = owners != subjects
        return mean(self.world.ledger.trust(owners[off], subjects[off]))

    def bystanders(self) -> tuple[float, float]:
        """Trust received and profit of the focal firms in the market that no event changed (after :meth:`update`)."""
        firms = self.world.firms
        found = [firms.find(name) for name in self.focal_names]
        idx = np.array(
            [i for i in found if i is not None and firms.alive[i] and i not in self.world.changed], dtype=np.int64
        )
        if not len(idx):
            return float("nan"), float("nan")
        partners = self._partners[idx]
        trust = float(self._received[idx].sum() / partners.sum()) if partners.sum() else float("nan")
        return trust, mean(firms.profit[idx])

    def focal_rows(self) -> list[dict[str, Any]]:
        """One row per focal firm for the ``focal_firms`` table (after :meth:`update`)."""
        firms, step = self.world.firms, int(self.world.now)
        rows = []
        for name in self.focal_names:
            i = firms.find(name)
            if i is None:
                continue  # not (yet) in this scenario
            count = int(self._partners[i]) if i < len(self._partners) else 0
            rows.append(
                {
                    "step": step,
                    "firm": firms.names[i],
                    "alive": bool(firms.alive[i]),
                    "capital": float(firms.capital[i]),
                    "revenue": float(firms.revenue[i]),
                    "profit": float(firms.profit[i]),
                    "value_received": float(firms.coop_value[i]),
                    "overhead_paid": float(firms.overhead_paid[i]),
                    "digital_maturity": float(firms.caps[i, DIGITAL]),
                    "cooperations": count,
                    "trust_received": float(self._received[i] / count) if count else float("nan"),
                }
            )
        return rows


class Collector(mesa.DataCollector):
    """Mesa's DataCollector whose tables may be filled on demand.

    The model ends hundreds of cooperations a month in large markets; their
    log rows are built in one batch when a table is first read (through
    ``tables``, ``get_table_dataframe`` or ``add_table_row``), not one by one
    as they end. What a reader sees is exactly what row-by-row filling gives.
    """

    def __init__(self, *args: Any, before_read: Callable[[], None] | None = None, **kwargs: Any) -> None:
        self._before_read = None
        super().__init__(*args, **kwargs)
        self._before_read = before_read
        self._reads_measures = bool(self.model_reporters) and all(
            isinstance(r, partial) and r.func is _read for r in self.model_reporters.values()
        )

    def collect(self, model: Any) -> None:
        """Record the month's measures (and agent reports, if any), as Mesa's ``collect`` does.

        When every model reporter reads one of the model's measures (as
        :meth:`Measures.reporters` makes them), the values are appended
        straight from ``model.measures.current``: they are plain numbers,
        which Mesa's type check and ``deepcopy`` per measure would leave as
        they are.
        """
        if not self._reads_measures or self.agent_reporters or self.agenttype_reporters:
            super().collect(model)
            return
        current = model.measures.current
        for name, values in self.model_vars.items():
            value = current[name]
            values.append(value if type(value) in (int, float) else deepcopy(value))

    @property
    def tables(self) -> dict[str, dict[str, list[Any]]]:
        """The tables, brought up to date first."""
        if self._before_read is not None:
            self._before_read()
        return self._tables

    @tables.setter
    def tables(self, value: dict[str, dict[str, list[Any]]]) -> None:
        self._tables = value

    @property
    def raw_tables(self) -> dict[str, dict[str, list[Any]]]:
        """The tables as they are, without bringing them up to date."""
        return self._tables


_STRUCTURE = frozenset({"clustering", "components", "largest_component_share"})


def _recorded(record: Iterable[str] | None) -> list[str]:
    """The measures to record, in the order of :data:`MEASURES`; all of them if ``record`` is None."""
    if record is None:
        return list(MEASURES)
    asked = [record] if isinstance(record, str) else list(record)
    unknown = [name for name in asked if name not in MEASURES]
    if unknown:
        raise ValueError(f"record: unknown measure(s) {', '.join(map(repr, unknown))}; known are {', '.join(MEASURES)}")
    wanted = set(asked)
    return [name for name in MEASURES if name in wanted]


def _read(name: str, model: Any) -> float:
    return model.measures.current[name]
