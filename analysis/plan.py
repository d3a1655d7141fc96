"""What an experiment runs: its points, replicates, seeds and what each run records.

An experiment (a comparison or a sweep) is a :class:`Plan`: a list of
**points** (a scenario, with the parameter values a sweep set on it), each run
``replicates`` times. Every run is a :class:`RunSpec`, small and picklable, so
any engine can carry it to any worker; the run's result depends on nothing
but its spec.

Seeds derive from one master seed through :class:`numpy.random.SeedSequence`:
replicate *k* gets the *k*-th spawned child, and uses it at **every** point.
Comparisons across scenarios and sweep points are therefore paired (common
random numbers): replicate *k* of the B.I.G. and of the open market draw
from the same streams, so their difference reflects the structure, not luck.

A plan's :meth:`Plan.fingerprint` hashes everything that determines its
results, so a results folder can refuse to mix runs of two different plans.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np

from sim import Scenario

__all__ = ["Plan", "Point", "Record", "RunSpec", "SweepPoints", "replicate_seeds"]

#: Columns that identify a run in every results table.
RUN_KEYS = ["run", "point", "scenario", "replicate", "seed"]


def replicate_seeds(master: int, replicates: int) -> list[int]:
    """The model seed of each replicate, derived from one master seed.

    Each is the first 63 bits of a spawned child of ``SeedSequence(master)``,
    so replicates are independent streams and the list for ``n`` replicates
    begins with the list for fewer.

    Examples
    --------
    >>> replicate_seeds(1, 3)[:2] == replicate_seeds(1, 2)
    True
    >>> len(set(replicate_seeds(1, 100)))
    100
    """
    children = np.random.SeedSequence(master).spawn(replicates)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


@dataclass(frozen=True)
class Record:
    """What each run keeps of its measures.

    Attributes
    ----------
    measures : tuple of str, optional
        Model measures to keep (all of :data:`sim.observe.measures.MEASURES` if None).
    every : int
        Keep every ``every``-th month; step 0 and the last month are always kept.
    last_only : bool
        Keep only the last month.
    window : int
        Months at the end of a run averaged into its outcome (see
        :func:`analysis.statistics.run_outcomes`).
    """

    measures: tuple[str, ...] | None = None
    every: int = 1
    last_only: bool = False
    window: int = 12

    def keeps(self, steps: np.ndarray, last: int) -> np.ndarray:
        """Mask of the steps to keep, given the run's last step."""
        if self.last_only:
            return steps == last
        return (steps % self.every == 0) | (steps == last)


@dataclass(frozen=True)
class Point:
    """One scenario of an experiment: a compared scenario or a sweep's parameter setting.

    Attributes
    ----------
    label : str
        The scenario's name in results (the ``scenario`` column).
    scenario : Scenario
        The fully resolved scenario run at this point.
    parameters : mapping
        The swept parameters' values at this point (empty in a comparison).
    sample : tuple of float
        The sampler's raw row for this point (before rounding to whole
        numbers), which sensitivity analysis needs; empty for a grid.
    """

    label: str
    scenario: Scenario
    parameters: Mapping[str, Any] = field(default_factory=dict)
    sample: tuple[float, ...] = ()


class SweepPoints(Sequence[Point]):
    """A sweep's points, each made from the base scenario only when it is asked for.

    A sweep of 100,000 points would hold 100,000 resolved scenarios (about
    30 KB each); this holds the base scenario and each point's parameter
    values, and makes a point's scenario when a run needs it, so memory does
    not grow with the number of points.

    Parameters
    ----------
    base : Scenario
        The scenario every point changes.
    paths : mapping of str to sequence of str
        Each parameter's key paths in the scenario.
    values : sequence of mapping
        Each point's parameter values.
    samples : sequence of tuple of float
        Each point's raw sampler row (empty tuples for a grid).
    source : str
        Named in errors (the sweep file).
    """

    def __init__(
        self,
        base: Scenario,
        paths: Mapping[str, Sequence[str]],
        values: Sequence[Mapping[str, Any]],
        samples: Sequence[tuple[float, ...]],
        source: str,
    ) -> None:
        self.base, self.source = base, source
        self.paths = {name: tuple(keys) for name, keys in paths.items()}
        self.values, self.samples = tuple(values), tuple(samples)

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, index: int) -> Point: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Point]: ...

    def __getitem__(self, index: int | slice) -> Point | Sequence[Point]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        values = self.values[index]
        return Point(self.base.name, self.scenario(values), values, self.samples[index])

    def scenario(self, values: Mapping[str, Any]) -> Scenario:
        """The base scenario with these parameter values set."""
        overrides = {key: values[name] for name, keys in self.paths.items() for key in keys}
        return self.base.with_overrides(overrides, source=self.source)


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs: where it sits in the plan, its scenario, seed and record."""

    run: int
    point: int
    replicate: int
    seed: int
    label: str
    scenario: Scenario
    parameters: Mapping[str, Any]
    record: Record
    network: bool = False

    @property
    def keys(self) -> dict[str, Any]:
        """The run's identifying columns and its parameter values."""
        return {
            "run": self.run,
            "point": self.point,
            "scenario": self.label,
            "replicate": self.replicate,
            "seed": self.seed,
            **self.parameters,
        }


@dataclass(frozen=True)
class Plan:
    """An experiment: points, each run ``replicates`` times from one master seed.

    Attributes
    ----------
    kind : {"compare", "sweep"}
        What made the plan.
    name : str
        Its name (the default results folder).
    points : sequence of Point
        The scenarios to run: a tuple, or a sweep's :class:`SweepPoints`
        (each made when it is run).
    replicates : int
        Runs per point.
    seed : int
        Master seed of every replicate's seed.
    record : Record
        What runs keep.
    design : mapping
        How the points were chosen (a sweep's sampler and parameter ranges),
        kept in the manifest for sensitivity analysis.
    files : mapping
        Text files the results folder keeps beside the manifest, by relative
        path: the resolved scenarios, a sweep's definition.
    reference : Point, optional
        A sweep's ``compare_to`` scenario, run beside it on the same seeds
        (see :meth:`reference_plan`).
    paired : sequence of Point, optional
        A sweep's ``paired`` scenario at every point (the same parameter
        values, where they apply), run on the same seeds so that each run of
        the sweep has a partner run (see :meth:`paired_plan`).
    """

    kind: Literal["compare", "sweep"]
    name: str
    points: Sequence[Point]
    replicates: int
    seed: int
    record: Record = Record()
    design: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    reference: Point | None = None
    paired: Sequence[Point] | None = None

    def reference_plan(self) -> Plan | None:
        """The reference scenario's own plan: the same replicates, seeds and record (None without one)."""
        if self.reference is None:
            return None
        return Plan("compare", f"{self.name}-reference", (self.reference,), self.replicates, self.seed, self.record)

    def paired_plan(self) -> Plan | None:
        """The paired scenario's own sweep: its points in the same order, the same replicates, seeds and record.

        Run ``k`` of this plan and run ``k`` of the paired plan share their
        point's parameter values and their seed (None without a paired scenario).
        """
        if self.paired is None:
            return None
        return Plan("sweep", f"{self.name}-paired", self.paired, self.replicates, self.seed, self.record, self.design)

    @property
    def size(self) -> int:
        """Number of runs."""
        return len(self.points) * self.replicates

    @property
    def parameter_names(self) -> list[str]:
        """Names of the swept parameters (none in a comparison)."""
        if isinstance(self.points, SweepPoints):
            return list(self.points.paths)
        return list(self.points[0].parameters) if self.points else []

    def point_rows(self) -> Iterator[tuple[str, Mapping[str, Any], tuple[float, ...]]]:
        """Each point's label, parameter values and sampler row, without making its scenario."""
        if isinstance(self.points, SweepPoints):
            for values, sample in zip(self.points.values, self.points.samples, strict=True):
                yield self.points.base.name, values, sample
        else:
            for p in self.points:
                yield p.label, p.parameters, p.sample

    def seeds(self) -> list[int]:
        """The seed of each replicate."""
        return replicate_seeds(self.seed, self.replicates)

    @staticmethod
    def run_id(point: int, replicate: int, replicates: int) -> int:
        """The number of replicate ``replicate`` of point ``point``: runs count point by point."""
        return point * replicates + replicate

    def runs(self, skip: set[int] | frozenset[int] = frozenset()) -> Iterator[RunSpec]:
        """Every run of the plan in order (run ``point * replicates + replicate``), leaving out ``skip``.

        In a comparison, the first replicate of each scenario also records its
        network as it evolves (for the report's network figure).
        """
        seeds = self.seeds()
        for p, point in enumerate(self.points):
            for k, seed in enumerate(seeds):
                run = self.run_id(p, k, self.replicates)
                if run not in skip:
                    network = self.kind == "compare" and k == 0
                    yield RunSpec(
                        run, p, k, seed, point.label, point.scenario, dict(point.parameters), self.record, network
                    )

    def fingerprint(self) -> str:
        """SHA-256 of everything that determines the plan's results."""
        canonical: dict[str, Any] = {
            "kind": self.kind,
            "replicates": self.replicates,
            "seed": self.seed,
            "record": {
                "measures": list(self.record.measures) if self.record.measures is not None else None,
                "every": self.record.every,
                "last_only": self.record.last_only,
            },
            "points": self._canonical_points(),
        }
        if self.reference is not None:  # only when there is one, so older folders keep their fingerprints
            canonical["reference"] = {
                "label": self.reference.label,
                "scenario": self.reference.scenario.resolved_toml(),
            }
        if self.paired is not None:  # likewise
            canonical["paired"] = _canonical(self.paired)
        text = json.dumps(canonical, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _canonical_points(self) -> Any:
        return _canonical(self.points)


def _canonical(points: Sequence[Point]) -> Any:
    """What determines a sequence of points' scenarios, in a form JSON can hash."""
    if isinstance(points, SweepPoints):  # the base and the values determine every point's scenario
        return {
            "base": points.base.resolved_toml(),
            "paths": {name: list(keys) for name, keys in points.paths.items()},
            "values": [dict(v) for v in points.values],
        }
    return [
        {"label": p.label, "parameters": dict(p.parameters), "scenario": p.scenario.resolved_toml()} for p in points
    ]
