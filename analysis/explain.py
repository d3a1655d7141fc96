"""Why does one structure beat another? The gap between two scenarios split into named ingredients.

``kreislauf explain A B`` takes the ingredients one of the two scenarios
declares (``[[ingredients]]``, see :mod:`sim.scenario.ingredients`: A's if it
declares any, else B's), runs every combination of them switched, from the
declaring scenario's setting to the other's, on paired seeds (replicate *k*
has the same seed in every cell), and runs the other scenario beside them.
Each measure's gap ``A - B`` then splits exactly into:

- one **Shapley value** per ingredient (:mod:`analysis.shapley`): its change
  of the measure averaged over every order of switching, exact over the full
  factorial of ``2**k`` cells when ``k <= 8``, estimated from sampled orders
  beyond (every cell an order visits is run);
- the **rest**: the difference between the declaring scenario with every
  ingredient switched and the other scenario itself, i.e. what the declared
  ingredients do not cover (zero when they cover every difference).

The shares add up to the gap exactly, replicate by replicate. Intervals are
bootstrap 95% percentile intervals over replicates (the Shapley values are
linear in the cells' values, so each replicate has its own and the bootstrap
resamples replicates). The strongest pairwise interactions are the Shapley
interaction index (Grabisch 1997) of the factorial, in the units of the
measure: positive when two ingredients do more together than the sum of
what they do apart (exact designs only).

The default measures are the same-firm ones (the firms present in every
cell and in the other scenario, matched by name, as in ``kreislauf
compare``): producer profit and the trust their partners place in them.

The runs go through the engines and results folder of comparisons
(``RESULTS/runs``), so an interrupted explanation resumes where it stopped
and the same seed gives the same tables on any engine.

>>> from analysis.explain import explain                                         # doctest: +SKIP
>>> result = explain("big", "open_market", replicates=10)                        # doctest: +SKIP
>>> result.contributions.query("measure == 'same_firm_profit'")                  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.engines import engine_for
from analysis.experiments import SAME_FIRM, Experiment, free_folder, open_folder, progress_bar, storing_for
from analysis.plan import Plan, Point, Record, RunSpec
from analysis.runs import write_table, write_text
from analysis.shapley import (
    chain_masks,
    exact_masks,
    permutation_shapley,
    sample_orders,
    shapley_interactions,
    shapley_values,
)
from analysis.store import FolderError, ResultsFolder
from sim import load_scenario
from sim.observe.measures import FOCAL_COLUMNS, MEASURES
from sim.scenario import Scenario
from sim.scenario.ingredients import Ingredient, switch

__all__ = [
    "DEFAULT_MEASURES",
    "EXACT_LIMIT",
    "REST",
    "Design",
    "ExplainError",
    "Explanation",
    "design",
    "explain",
    "explain_measures",
    "explanation_table",
]

#: Most ingredients explained over the full factorial (256 cells); beyond, orders are sampled.
EXACT_LIMIT = 8

#: Sampled orders of the ingredients beyond :data:`EXACT_LIMIT` (default of ``permutations``).
DEFAULT_ORDERS = 64

#: The measures explained by default: the same firms' profit and the trust their partners place in them.
DEFAULT_MEASURES = (f"{SAME_FIRM}profit", f"{SAME_FIRM}trust_received")

#: The name of the part of the gap the declared ingredients do not cover.
REST = "rest (not declared)"

#: Bootstrap resamples of the replicates for the 95% intervals.
BOOTSTRAP = 2000


class ExplainError(ValueError):
    """An explanation that cannot be made from this input: an unknown ingredient or measure, no ingredients."""


def explain_measures() -> list[str]:
    """Every measure an explanation can split: the same-firm measures, then the model's own."""
    same = [SAME_FIRM + c for c in FOCAL_COLUMNS if c not in ("step", "firm", "alive")]
    return [*same, *MEASURES]


@dataclass(frozen=True)
class Design:
    """Which cells an explanation runs, and how their values combine into Shapley values.

    Attributes
    ----------
    a, b : Scenario
        The compared scenarios (the gap is ``a - b``), as declared (with their ingredients).
    base : {"a", "b"}
        The scenario whose ingredients are switched (toward the other's setting).
    ingredients : tuple of Ingredient
        The ingredients explained, in the order declared.
    masks : tuple of int
        The cells run: bit ``i`` set when ingredient ``i`` is switched.
    orders : tuple of tuple of int
        Sampled orders of the ingredients (empty for the exact factorial).
    """

    a: Scenario
    b: Scenario
    base: str
    ingredients: tuple[Ingredient, ...]
    masks: tuple[int, ...]
    orders: tuple[tuple[int, ...], ...] = ()

    @property
    def k(self) -> int:
        """Number of ingredients."""
        return len(self.ingredients)

    @property
    def exact(self) -> bool:
        """Whether every cell of the factorial is run (exact Shapley values)."""
        return not self.orders

    @property
    def declaring(self) -> Scenario:
        """The scenario whose ingredients are switched."""
        return self.a if self.base == "a" else self.b

    @property
    def other(self) -> Scenario:
        """The scenario the ingredients switch toward."""
        return self.b if self.base == "a" else self.a

    def bits(self, mask: int) -> str:
        """The cell's switches as 0/1, one character per ingredient in declared order."""
        return "".join("1" if mask >> i & 1 else "0" for i in range(self.k))

    def label(self, mask: int) -> str:
        """The cell's name in the results (the ``scenario`` column)."""
        return f"{self.declaring.name} [{self.bits(mask)}]"

    def switched(self, mask: int) -> list[str]:
        """Names of the ingredients switched in a cell."""
        return [ing.name for i, ing in enumerate(self.ingredients) if mask >> i & 1]

    @property
    def description(self) -> str:
        """The design in words."""
        if self.exact:
            return f"exact: full factorial of 2^{self.k} = {len(self.masks)} cells"
        return f"sampled: {len(self.orders)} orders of the {self.k} ingredients visiting {len(self.masks)} cells"


def design(
    a: str | Path | Scenario,
    b: str | Path | Scenario,
    ingredients: Sequence[str] | None = None,
    steps: int | None = None,
    permutations: int | None = None,
    seed: int = 1,
) -> Design:
    """The cells explaining ``a - b``: every combination of the chosen ingredients (or sampled orders of them).

    Parameters
    ----------
    a, b : str, Path or Scenario
        The scenarios compared; one of them declares ingredients (A's are used when both do).
    ingredients : sequence of str, optional
        The ingredients to switch (default: all declared); those left out stay as the declaring scenario has them.
    steps : int, optional
        Horizon in months (default: each scenario's own).
    permutations : int, optional
        Sample this many orders instead of running the full factorial (default: the full factorial up to
        :data:`EXACT_LIMIT` ingredients, :data:`DEFAULT_ORDERS` orders beyond).
    seed : int
        Seeds the sampled orders.

    Raises
    ------
    ExplainError
        When neither scenario declares ingredients, a named ingredient is unknown, or the names repeat.
    ScenarioError
        When a scenario cannot be loaded, or a combination of switches is not a valid scenario.
    """
    sa, sb = (load_scenario(s) for s in (a, b))
    if sa.name == sb.name:
        raise ExplainError(f"explain needs two different scenarios; both are named {sa.name!r}")
    if steps is not None:
        sa, sb = sa.until(steps), sb.until(steps)
    base = "a" if sa.ingredients else "b" if sb.ingredients else None
    if base is None:
        raise ExplainError(
            f"neither {sa.name!r} nor {sb.name!r} declares [[ingredients]]; declare them in one of the two files "
            "(see docs/howto-explain.md)"
        )
    declaring = sa if base == "a" else sb
    declared = {i.name: i for i in declaring.ingredients}
    names = list(ingredients) if ingredients else list(declared)
    for name in names:
        if name not in declared:
            raise ExplainError(
                f"--ingredients: {name!r} is not an ingredient of {declaring.name!r}; known: {list(declared)}"
            )
    if len(set(names)) != len(names):
        raise ExplainError(f"--ingredients: {sorted({n for n in names if names.count(n) > 1})} named twice")
    chosen = tuple(i for i in declaring.ingredients if i.name in names)
    k = len(chosen)
    if permutations is None and k > EXACT_LIMIT:
        permutations = DEFAULT_ORDERS
    if permutations is None:
        masks, orders = exact_masks(k), []
    else:
        if permutations < 1:
            raise ExplainError(f"--permutations must be at least 1, not {permutations}")
        orders = sample_orders(k, permutations, seed)
        masks = sorted({m for order in orders for m in chain_masks(order)})
    return Design(sa, sb, base, chosen, tuple(masks), tuple(tuple(o) for o in orders))


@dataclass(frozen=True)
class _ExplainPlan(Plan):
    """A comparison plan of the cells that records no networks (no figure of an explanation needs them)."""

    def runs(self, skip: set[int] | frozenset[int] = frozenset()) -> Iterator[RunSpec]:
        """Every run of the plan, as :meth:`Plan.runs`, without network histories."""
        for spec in super().runs(skip):
            yield dataclasses.replace(spec, network=False)


def _plan(d: Design, replicates: int, seed: int, window: int) -> Plan:
    names = [ing.name for ing in d.ingredients]
    points = [Point(d.label(m), _strip(switch(d.declaring, d.switched(m) if names else []))) for m in d.masks]
    points.append(Point(d.other.name, _strip(d.other)))
    files = {f"scenarios/{s.name}.toml": s.resolved_toml() for s in (d.a, d.b)}
    name = f"explain-{d.a.name}-{d.b.name}"
    return _ExplainPlan("compare", name, tuple(points), replicates, seed, Record(window=window), files=files)


def _strip(scenario: Scenario) -> Scenario:
    """The scenario without ingredients: what runs (and what the plan's fingerprint holds)."""
    if not scenario.ingredients:
        return scenario
    return scenario.with_overrides({"ingredients": []}, source=scenario.name)


@dataclass
class Explanation:
    """The tables of an explanation, and where they are.

    Attributes
    ----------
    path : Path
        The results folder.
    design : Design
        The cells run.
    gaps : DataFrame
        Per measure: A's and B's means, the gap with its interval, the declaring scenario with every
        ingredient switched, replicates used.
    contributions : DataFrame
        Per measure and ingredient (and the rest): contribution to the gap with its interval and share.
    interactions : DataFrame
        Per measure and pair of ingredients: Shapley interaction index with its interval, strongest first
        (empty for a sampled design).
    cells : DataFrame
        Per measure and cell: the mean over replicates.
    failed : int
        Runs that raised (their cells are left out; the tables are empty when any did).
    """

    path: Path
    design: Design
    gaps: pd.DataFrame
    contributions: pd.DataFrame
    interactions: pd.DataFrame
    cells: pd.DataFrame
    failed: int = 0


def explain(
    a: str | Path | Scenario,
    b: str | Path | Scenario,
    ingredients: Sequence[str] | None = None,
    measures: Sequence[str] | None = None,
    replicates: int = 10,
    seed: int = 1,
    steps: int | None = None,
    window: int = 12,
    permutations: int | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
) -> Explanation:
    """Run (or resume) an explanation of ``a - b`` and write its tables and report.

    Parameters
    ----------
    a, b : str, Path or Scenario
        The compared scenarios.
    ingredients : sequence of str, optional
        Ingredients to switch (default: every one declared).
    measures : sequence of str, optional
        Measures to explain (default :data:`DEFAULT_MEASURES`; see :func:`explain_measures`).
    replicates : int
        Paired seeds per cell.
    seed : int
        Master seed of the replicates (and of sampled orders and the bootstrap).
    steps : int, optional
        Horizon in months (default: each scenario's own).
    window : int
        Final months averaged into a run's outcome.
    permutations : int, optional
        Sample this many orders instead of the full factorial (see :func:`design`).
    out : str or Path, optional
        Results folder (default ``results/explain-A-B``); the runs are kept in its ``runs`` folder.
    workers, scheduler, progress
        As for :func:`analysis.experiments.run_plan`.

    Returns
    -------
    Explanation

    Raises
    ------
    ExplainError, ScenarioError, FolderError
        Bad input, before anything runs.
    """
    chosen = list(measures) if measures else list(DEFAULT_MEASURES)
    known = explain_measures()
    for m in chosen:
        if m not in known:
            raise ExplainError(f"--measure: unknown measure {m!r}; known: {', '.join(known)}")
    d = design(a, b, ingredients, steps, permutations, seed)
    plan = _plan(d, replicates, seed, window)
    path = Path(out) if out is not None else Path("results") / plan.name
    marker = path / "explain.json"
    if path.is_dir() and any(path.iterdir()) and not marker.exists():
        raise FolderError(
            f"{path} already holds other files and is not an explanation's results folder; "
            f"{free_folder(path)} is free (--out {free_folder(path)})"
        )
    folder = open_folder(path / "runs", plan)
    write_text(marker, json.dumps(_design_json(d, chosen, replicates, seed, window), indent=2) + "\n")
    _run_cells(plan, folder, workers, scheduler, progress)
    experiment = Experiment(folder, window=window)
    result = _tables(d, experiment, chosen, seed, path)
    if not result.failed:
        for name in ("gaps", "contributions", "interactions", "cells"):
            frame = getattr(result, name)
            if len(frame):
                write_table(frame, path / name)
        from analysis.explain_report import write_explain_report

        write_explain_report(result)
    return result


def _run_cells(plan: Plan, folder: ResultsFolder, workers: int | None, scheduler: Any, progress: bool | None) -> None:
    """Run the plan's missing runs into ``folder``, each stored as it arrives.

    As a comparison runs (stored as :func:`analysis.experiments.storing_for`
    chooses for the engine), but without the CSV copies of
    every run's tables (hundreds of MB for 257 cells; ``kreislauf export
    RESULTS/runs`` writes them when wanted): the explanation's own tables
    are its CSV output.
    """
    done = folder.finished()
    bar = progress_bar(plan.size, plan.name, "run", len(done), progress)
    try:
        if plan.size > len(done):
            with engine_for(workers, scheduler) as engine, storing_for(folder, engine) as storing:
                for output in engine.map(plan.runs(skip=done)):
                    storing.put(output)
                    bar.update()
    except KeyboardInterrupt:
        bar.close()
        print(
            f"kreislauf: interrupted with {len(folder.finished())} of {plan.size} runs stored in {folder.path}; "
            "run the same command again to finish the rest",
            file=sys.stderr,
        )
        raise
    bar.close()


def _design_json(d: Design, measures: list[str], replicates: int, seed: int, window: int) -> dict[str, Any]:
    return {
        "a": d.a.name,
        "b": d.b.name,
        "declared_by": d.declaring.name,
        "ingredients": [{"name": i.name, "sentence": i.sentence} for i in d.ingredients],
        "design": d.description,
        "measures": measures,
        "replicates": replicates,
        "seed": seed,
        "window": window,
    }


def _tables(d: Design, e: Experiment, measures: list[str], seed: int, path: Path) -> Explanation:
    empty = pd.DataFrame()
    if e.failed:
        return Explanation(path, d, empty, empty, empty, empty, failed=e.failed)
    outcomes = e.compared_outcomes
    gaps, contributions, interactions, cells = [], [], [], []
    labels = [d.label(m) for m in d.masks]
    rng = np.random.default_rng(seed)
    for measure in measures:
        if measure not in outcomes.columns:
            raise ExplainError(f"--measure: {measure!r} was not recorded in these runs")
        table = outcomes.pivot(index="scenario", columns="replicate", values=measure)
        values = table.reindex([*labels, d.other.name]).to_numpy(dtype=float)
        keep = ~np.isnan(values).any(axis=0)
        values = values[:, keep]
        n = int(values.shape[1])
        cell_values, other = values[:-1], values[-1]
        by_mask = dict(zip(d.masks, cell_values, strict=True))
        full = (1 << d.k) - 1
        if d.exact:
            phi = shapley_values(cell_values) if d.k else np.zeros((0, n))
        else:
            phi = permutation_shapley(by_mask, d.orders, d.k)
        # The gap a - b = sum of contributions + rest, replicate by replicate.
        if d.base == "a":
            a_values, b_values = by_mask[0], other
            contrib, rest = -phi, by_mask[full] - other
        else:
            a_values, b_values = other, by_mask[0]
            contrib, rest = phi, other - by_mask[full]
        gap = a_values - b_values
        draws = rng.integers(0, n, size=(BOOTSTRAP, n)) if n else np.zeros((BOOTSTRAP, 0), dtype=int)

        def interval(x: np.ndarray, draws: np.ndarray = draws) -> tuple[float, float]:
            if x.shape[-1] < 2:
                return float("nan"), float("nan")
            means = x[..., draws].mean(axis=-1)
            low, high = np.percentile(means, [2.5, 97.5], axis=-1)
            return float(low), float(high)

        g_low, g_high = interval(gap)
        gap_mean = float(gap.mean()) if n else float("nan")
        gaps.append(
            {
                "measure": measure,
                "a": d.a.name,
                "b": d.b.name,
                "a_value": float(a_values.mean()) if n else float("nan"),
                "b_value": float(b_values.mean()) if n else float("nan"),
                "gap": gap_mean,
                "gap_low": g_low,
                "gap_high": g_high,
                "all_switched": float(by_mask[full].mean()) if n else float("nan"),
                "replicates": n,
                "design": d.description,
            }
        )
        rows = [(ing.name, ing.sentence, contrib[i]) for i, ing in enumerate(d.ingredients)]
        rows.append((REST, f"{d.declaring.name} with every ingredient switched against {d.other.name} itself", rest))
        for order, (name, sentence, x) in enumerate(rows):
            low, high = interval(x)
            mean = float(x.mean()) if n else float("nan")
            contributions.append(
                {
                    "measure": measure,
                    "order": order,
                    "ingredient": name,
                    "contribution": mean,
                    "low": low,
                    "high": high,
                    "share": mean / gap_mean if gap_mean else float("nan"),
                    "sentence": sentence,
                }
            )
        if d.exact and d.k >= 2:
            pairs = shapley_interactions(cell_values)
            for i in range(d.k):
                for j in range(i + 1, d.k):
                    low, high = interval(pairs[i, j])
                    interactions.append(
                        {
                            "measure": measure,
                            "ingredient_a": d.ingredients[i].name,
                            "ingredient_b": d.ingredients[j].name,
                            "interaction": float(pairs[i, j].mean()) if n else float("nan"),
                            "low": low,
                            "high": high,
                        }
                    )
        for mask, x in by_mask.items():
            cells.append(
                {
                    "measure": measure,
                    "cell": d.bits(mask),
                    "switched": "; ".join(d.switched(mask)) or "none",
                    "mean": float(x.mean()) if n else float("nan"),
                    "replicates": n,
                }
            )
    inter = pd.DataFrame(interactions)
    if len(inter):
        inter = (
            inter.assign(strength=inter["interaction"].abs())
            .sort_values(["measure", "strength"], ascending=[True, False], kind="stable")
            .drop(columns="strength")
            .reset_index(drop=True)
        )
    return Explanation(path, d, pd.DataFrame(gaps), pd.DataFrame(contributions), inter, pd.DataFrame(cells))


def _number(x: float, sign: bool = False) -> str:
    if not np.isfinite(x):
        return "n/a"
    digits = 3 if abs(x) < 10 else 1
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def explanation_table(result: Explanation, interactions: int = 3) -> str:
    """The terminal summary: per measure, the gap, each ingredient's share, the rest and the strongest interactions."""
    lines: list[str] = []
    d = result.design
    lines.append(
        f"{d.a.name} - {d.b.name}, split into {d.k} ingredients of {d.declaring.name} "
        f"switched toward {d.other.name} ({d.description})"
    )
    for _, g in result.gaps.iterrows():
        m = g["measure"]
        lines += [
            "",
            f"{m}: {d.a.name} {_number(g['a_value'])}, {d.b.name} {_number(g['b_value'])}; gap "
            f"{_number(g['gap'], True)} [{_number(g['gap_low'], True)}, {_number(g['gap_high'], True)}] "
            f"over {g['replicates']} paired replicates",
        ]
        rows = result.contributions[result.contributions["measure"] == m]
        width = max(len(str(x)) for x in rows["ingredient"])
        lines.append(f"  {'ingredient':<{width}}  contribution [95% interval]      share of the gap")
        for _, r in rows.iterrows():
            ci = f"{_number(r['contribution'], True)} [{_number(r['low'], True)}, {_number(r['high'], True)}]"
            share = f"{r['share']:+.0%}" if np.isfinite(r["share"]) else "n/a"
            lines.append(f"  {r['ingredient']:<{width}}  {ci:<32} {share:>6}")
        if len(result.interactions):
            top = result.interactions[result.interactions["measure"] == m].head(interactions)
            pairs = "; ".join(
                f"{r['ingredient_a']} x {r['ingredient_b']} {_number(r['interaction'], True)} "
                f"[{_number(r['low'], True)}, {_number(r['high'], True)}]"
                for _, r in top.iterrows()
            )
            lines.append(f"  strongest interactions (Shapley interaction index): {pairs}")
    return "\n".join(lines)
