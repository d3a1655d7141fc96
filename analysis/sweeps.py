"""Sweep files: which parameters of a base scenario to vary, how to sample them, what to keep.

A sweep file is TOML, validated as strictly as a scenario (unknown keys,
wrong types, NaN and values out of range are errors naming the file and the
key)::

    name = "integrity_needed"
    description = "How much integrity does an open market need to match the group?"
    base = "open_market"       # a built-in scenario, or a path relative to this file
    compare_to = "big"         # optional: a scenario drawn as a reference line in the report
    replicates = 10            # runs per point; replicate k has the same seed at every point
    seed = 1                   # master seed of the replicates' seeds and of the sampler

    [sampler]
    method = "grid"            # grid, latin, sobol or morris

    [parameters.integrity]     # a name of your choosing: the column in the results
    paths = ["populations.0.integrity.mean", "populations.1.integrity.mean"]
    range = [0.5, 0.9]         # low and high; a grid also needs `points`
    points = 5

    [record]
    measures = ["producer_profit", "mean_trust"]   # default: every measure
    every = 12                 # keep every 12th month (and the last); or last_only = true

A parameter is set at one key path of the scenario schema (``path``) or at
several at once (``paths``, one value for all), to ``values`` listed or
sampled from a ``range``. Samplers: ``grid`` (every combination of the
listed values, or of ``points`` evenly spaced values of each range),
``latin`` (Latin hypercube of ``samples`` points, McKay et al. 1979),
``sobol`` (Saltelli's extension of a Sobol sequence, ``samples`` × (D + 2)
points, or × (2D + 2) with ``second_order``; Saltelli 2002) and ``morris``
(``samples`` trajectories on a grid of ``levels`` levels; Morris 1991), the
last three through SALib. A parameter whose scenario value is a whole number
is rounded; true/false and text parameters can only be listed (grid).

Every parameter's values are checked against the base scenario when the file
is loaded, so a sweep fails before its first run, never half-way.

``compare_to`` names a scenario (built-in, or a path relative to the file)
that is run beside the sweep with the same replicates, seeds, horizon and
record, so the report can draw its value as a reference line and band and
say where the sweep's curve crosses it.

``paired`` names a scenario run at **every** point on the same seeds, with
the point's parameter values set in it too (at each parameter's
``paired_paths``, by default its own key paths; ``paired_paths = []`` leaves
the paired scenario alone, for a parameter it does not have). Each run then
has a partner run, and the sweep's outcomes can be the paired difference of
the firms both scenarios contain (``same_firm_profit_difference`` and so on,
see :func:`analysis.sensitivity.paired_outcomes`): the B.I.G.'s same-firm
advantage over the open market across a space of assumptions::

    base = "big"
    paired = "open_market"

    [parameters.service_fee]
    path = "group.service_fee"
    paired_paths = []          # the open market has no shared services

``replicates``, ``seed`` and
``steps`` can be overridden for one command (``kreislauf sweep FILE
--replicates 2``); the manifest records what was overridden.

References
----------
.. [1] McKay, Beckman & Conover (1979). A comparison of three methods for
   selecting values of input variables. *Technometrics* 21(2), 239-245.
.. [2] Saltelli (2002). Making best use of model evaluations to compute
   sensitivity indices. *Computer Physics Communications* 145, 280-297.
.. [3] Morris (1991). Factorial sampling plans for preliminary computational
   experiments. *Technometrics* 33(2), 161-174.
.. [4] Herman & Usher (2017). SALib: an open-source Python library for
   sensitivity analysis. *Journal of Open Source Software* 2(9), 97.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from analysis.plan import RUN_KEYS, Plan, Point, Record, SweepPoints
from sim import Scenario
from sim.observe.log import COOPERATION_COLUMNS
from sim.observe.measures import FOCAL_COLUMNS, MEASURES
from sim.scenario import MAX_STEPS, ScenarioError, Section, builtin_scenarios, load_scenario, pydantic_error, read_toml
from sim.scenario.load import read_text

__all__ = ["PAIRED_OUTCOMES", "SweepFile", "builtin_sweeps", "load_sweep", "sweep_plan"]

#: The paired outcomes of a sweep with a ``paired`` scenario: each focal measure's same-firm difference.
PAIRED_OUTCOMES = [f"same_firm_{c}_difference" for c in FOCAL_COLUMNS if c not in ("step", "firm", "alive")]

#: Most runs one sweep may ask for (points × replicates): a guard against typos, not a limit of the engines.
MAX_RUNS = 10_000_000

Scalar = bool | int | float | str

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Names a parameter cannot take: columns of the results and of their summaries.
_TAKEN = {
    *RUN_KEYS,
    "step",
    *MEASURES,
    *FOCAL_COLUMNS,
    *COOPERATION_COLUMNS,
    *PAIRED_OUTCOMES,
    *("status", "error", "measure", "n", "mean", "sd", "ci_low", "ci_high", "a", "b", "difference", "cohens_d"),
}


class Parameter(Section):
    """One swept parameter: where it is set, and its values or range."""

    path: str | None = Field(None, description="Key path in the scenario schema, e.g. kreislauf.familiarity_bias.")
    paths: list[str] | None = Field(None, min_length=1, description="Several key paths set to the same value.")
    values: list[Scalar] | None = Field(None, min_length=1, description="The values to run (grid only).")
    range: list[float] | None = Field(None, min_length=2, max_length=2, description="[low, high].")
    points: int | None = Field(None, ge=2, le=10_000, description="Evenly spaced values of the range (grid only).")
    paired_paths: list[str] | None = Field(
        None, description="Key paths set in the paired scenario (default: the same as here; [] for none)."
    )

    @model_validator(mode="after")
    def _one_of_each(self) -> Parameter:
        if (self.path is None) == (self.paths is None):
            raise ValueError("give exactly one of `path` or `paths`")
        if (self.values is None) == (self.range is None):
            raise ValueError("give exactly one of `values` or `range`")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range must be [low, high] with low < high, not {list(self.range)}")
        if self.points is not None and self.range is None:
            raise ValueError("`points` goes with `range`")
        return self

    @property
    def key_paths(self) -> list[str]:
        """The scenario key paths this parameter sets."""
        return list(self.paths) if self.paths is not None else [str(self.path)]

    @property
    def paired_key_paths(self) -> list[str]:
        """The key paths this parameter sets in a sweep's paired scenario."""
        return list(self.paired_paths) if self.paired_paths is not None else self.key_paths


class Sampler(Section):
    """How points are chosen."""

    method: Literal["grid", "latin", "sobol", "morris"] = Field("grid", description="Sampling design.")
    samples: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="latin: points; sobol: base samples N (a power of 2); morris: trajectories.",
    )
    levels: int = Field(4, ge=2, le=100, description="morris: grid levels (an even number).")
    second_order: bool = Field(False, description="sobol: also sample for second-order indices.")

    @model_validator(mode="after")
    def _complete(self) -> Sampler:
        if self.method != "grid" and self.samples is None:
            raise ValueError(f"sampler {self.method!r} needs `samples`")
        if self.method == "grid" and self.samples is not None:
            raise ValueError("a grid takes every combination: leave out `samples`")
        if self.method == "sobol" and self.samples is not None and self.samples & (self.samples - 1):
            raise ValueError(f"sobol needs `samples` to be a power of 2 (e.g. 64, 128, 256), not {self.samples}")
        if self.method == "morris" and self.levels % 2:
            raise ValueError(f"morris needs an even number of `levels`, not {self.levels}")
        return self


class RecordSection(Section):
    """What each run keeps."""

    measures: list[str] | None = Field(None, min_length=1, description="Measures to keep (default: all).")
    every: int = Field(1, ge=1, le=MAX_STEPS, description="Keep every k-th month (and step 0 and the last).")
    last_only: bool = Field(False, description="Keep only the last month.")
    window: int = Field(12, ge=1, le=MAX_STEPS, description="Months at the end averaged into a run's outcome.")

    @model_validator(mode="after")
    def _known(self) -> RecordSection:
        unknown = [m for m in self.measures or [] if m not in MEASURES]
        if unknown:
            raise ValueError(f"unknown measure(s) {unknown}; known are {list(MEASURES)}")
        return self


class SensitivitySection(Section):
    """Outcomes to analyse after a sobol or morris sweep."""

    outcomes: list[str] = Field(
        min_length=1,
        description="Measures whose sensitivity indices to compute; with `paired`, also same_firm_<focal measure>_difference.",
    )


class SweepFile(Section):
    """A sweep file as written."""

    name: str = Field(
        min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]*[A-Za-z0-9_-][A-Za-z0-9_.-]*$"
    )  # a folder name: not only dots
    description: str = ""
    base: str = Field(min_length=1, description="Built-in scenario name, or a path relative to the sweep file.")
    compare_to: str | None = Field(
        None, min_length=1, description="Scenario run beside the sweep as a reference (built-in name or path)."
    )
    paired: str | None = Field(
        None,
        min_length=1,
        description="Scenario run at every point on the same seeds, for paired same-firm differences (built-in name or path).",
    )
    replicates: int = Field(10, ge=1, le=100_000)
    seed: int = Field(1, ge=0, le=2**63 - 1)
    steps: int | None = Field(None, ge=1, le=MAX_STEPS, description="Horizon (default: the base scenario's).")
    sampler: Sampler = Sampler()
    parameters: Annotated[dict[str, Parameter], Field(min_length=1)]
    record: RecordSection = RecordSection()
    sensitivity: SensitivitySection | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SweepFile:
        for name, p in self.parameters.items():
            if not _NAME.match(name):
                raise ValueError(f"parameter name {name!r} must be a plain identifier (letters, digits, _)")
            if name in _TAKEN:
                raise ValueError(f"parameter name {name!r} is already a column of the results; choose another")
            if self.sampler.method != "grid" and p.range is None:
                raise ValueError(f"parameters.{name}: sampler {self.sampler.method!r} samples a `range`, not `values`")
            if self.sampler.method == "grid" and p.range is not None and p.points is None:
                raise ValueError(f"parameters.{name}: a grid over a range needs `points`")
            if p.paired_paths is not None and self.paired is None:
                raise ValueError(f"parameters.{name}: `paired_paths` needs a `paired` scenario")
        if self.sensitivity is not None:
            if self.sampler.method not in ("sobol", "morris"):
                raise ValueError("[sensitivity] needs a sobol or morris sampler")
            kept = self.record.measures or list(MEASURES)
            differences = PAIRED_OUTCOMES if self.paired is not None else []
            missing = [o for o in self.sensitivity.outcomes if o not in kept and o not in differences]
            if missing:
                also = f" or the paired differences {differences}" if differences else ""
                raise ValueError(f"sensitivity outcome(s) {missing} are not among the recorded measures {kept}{also}")
        return self


def builtin_sweeps() -> dict[str, Path]:
    """Map of built-in sweep names to their files: ``scenarios/sweep_<name>.toml``."""
    folder = builtin_scenarios()["big"].parent
    return {p.stem.removeprefix("sweep_"): p for p in sorted(folder.glob("sweep_*.toml"))}


def load_sweep(source: str | Path) -> tuple[SweepFile, Path]:
    """Read and validate a sweep file (a path or a built-in sweep's name).

    Parameters
    ----------
    source : str or Path
        A sweep file, or a built-in sweep's name.

    Returns
    -------
    (SweepFile, Path)
        The sweep and the file it came from.

    Raises
    ------
    ScenarioError
        Naming the file, the key, the value and what is allowed.
    """
    path = builtin_sweeps().get(str(source), Path(source))
    data = read_toml(path)
    try:
        return SweepFile.model_validate(data), path
    except ValidationError as exc:
        raise pydantic_error(exc, str(path), SweepFile) from None


def sweep_plan(
    source: str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
) -> Plan:
    """The plan of a sweep file: every point checked against the base scenario.

    Parameters
    ----------
    source : str or Path
        A sweep file, or a built-in sweep's name (see :func:`builtin_sweeps`).
    replicates : int, optional
        Runs per point, instead of the file's ``replicates``.
    seed : int, optional
        Master seed, instead of the file's ``seed`` (of the replicates and of
        the sampler, as in the file).
    steps : int, optional
        Horizon in months, instead of the file's ``steps`` (or the base
        scenario's).

    Returns
    -------
    Plan
        Its ``design`` records the overrides (``design["overrides"]``) and
        the reference scenario's name (``design["compare_to"]``).

    Raises
    ------
    ScenarioError
        When the file is invalid, its base cannot be loaded, or a parameter's
        path or values are not allowed in the base scenario.
    """
    sweep, path = load_sweep(source)
    origin = str(path)
    overrides = {k: v for k, v in (("replicates", replicates), ("seed", seed), ("steps", steps)) if v is not None}
    if overrides:
        try:
            sweep = SweepFile.model_validate({**sweep.model_dump(exclude_unset=True), **overrides})
        except ValidationError as exc:
            raise pydantic_error(exc, f"{origin} (with {overrides})", SweepFile) from None
    base = _load_relative(sweep.base, path, origin, "base")
    if sweep.steps is not None:
        base = base.until(sweep.steps)
    reference = None
    if sweep.compare_to is not None:
        other = _load_relative(sweep.compare_to, path, origin, "compare_to")
        reference = Point(other.name, other.until(sweep.steps) if sweep.steps is not None else other)
    paired_base = None
    if sweep.paired is not None:
        paired_base = _load_relative(sweep.paired, path, origin, "paired")
        if sweep.steps is not None:
            paired_base = paired_base.until(sweep.steps)
    names = list(sweep.parameters)
    for paired_side in (False, True) if paired_base is not None else (False,):
        seen: dict[str, str] = {}
        for name in names:
            p = sweep.parameters[name]
            for key in p.paired_key_paths if paired_side else p.key_paths:
                if key in seen:
                    where = " in the paired scenario" if paired_side else ""
                    raise ScenarioError(
                        origin, f"parameters.{name}", key, f"already set by parameters.{seen[key]}{where}"
                    )
                seen[key] = name
    count = _point_count(sweep, names)
    if count * sweep.replicates > MAX_RUNS:
        raise ScenarioError(origin, "sampler", ..., f"asks for {count * sweep.replicates} runs; at most {MAX_RUNS}")
    kinds = {name: _kind(base, sweep.parameters[name], origin, name) for name in names}
    for name in names:
        _check_values(base, sweep.parameters[name], kinds[name], origin, name)
        if paired_base is not None:
            _check_values(paired_base, sweep.parameters[name], kinds[name], origin, name, paired=True)
    rows, design = _sample(sweep, names, kinds)
    values, samples = [], []
    for i, row in enumerate(rows):  # every point checked now, kept as its values: made again when it runs
        point = {name: _cast(row[j], kinds[name]) for j, name in enumerate(names)}
        _apply(base, sweep.parameters, point, origin, f"point {i} {point}")
        if paired_base is not None:
            _apply(paired_base, sweep.parameters, point, origin, f"point {i} {point} of the paired scenario", True)
        values.append(point)
        samples.append(tuple(float(x) for x in row) if sweep.sampler.method != "grid" else ())
    paths = {name: sweep.parameters[name].key_paths for name in names}
    points = SweepPoints(base, paths, values, samples, origin)
    record = Record(
        measures=tuple(sweep.record.measures) if sweep.record.measures else None,
        every=sweep.record.every,
        last_only=sweep.record.last_only,
        window=sweep.record.window,
    )
    design["outcomes"] = list(sweep.sensitivity.outcomes) if sweep.sensitivity else []
    design["overrides"] = overrides
    design["compare_to"] = reference.label if reference is not None else None
    design["paired"] = paired_base.name if paired_base is not None else None
    files = {"sweep.toml": read_text(path), f"scenarios/{base.name}.toml": base.resolved_toml()}
    if reference is not None:
        files[f"scenarios/{reference.label}.toml"] = reference.scenario.resolved_toml()
    paired = None
    if paired_base is not None:
        files[f"scenarios/{paired_base.name}.toml"] = paired_base.resolved_toml()
        paired_paths = {name: sweep.parameters[name].paired_key_paths for name in names}
        paired = SweepPoints(paired_base, paired_paths, values, samples, origin)
    return Plan("sweep", sweep.name, points, sweep.replicates, sweep.seed, record, design, files, reference, paired)


def _load_relative(name: str, path: Path, origin: str, key: str) -> Scenario:
    """A scenario a sweep file names: a built-in one, or a file relative to the sweep file."""
    ref = name if name in builtin_scenarios() else str(path.parent / name)
    try:
        return load_scenario(ref)
    except ScenarioError as exc:
        what = {"base": "the base scenario", "paired": "the paired scenario"}.get(key, "the scenario to compare to")
        raise ScenarioError(origin, key, name, f"cannot load {what}: {exc}") from None


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) and part.isdigit() else data[part]
    return data


def _kind(base: Scenario, p: Parameter, origin: str, name: str) -> type:
    """The type of the scenario values a parameter sets (bool, int, float or str)."""
    dumped = base.model_dump(mode="python")
    kinds = set()
    for key in p.key_paths:
        try:
            current = _get(dumped, key)
        except (KeyError, IndexError, TypeError):
            # Let the scenario say what is allowed at this path.
            try:
                base.with_overrides({key: None}, source=origin)
            except ScenarioError as exc:
                raise ScenarioError(origin, f"parameters.{name}", key, exc.allowed) from None
            raise ScenarioError(origin, f"parameters.{name}", key, "no such key path in the base scenario") from None
        if isinstance(current, dict | list) or current is None:
            raise ScenarioError(
                origin, f"parameters.{name}", key, "must lead to a single value (a number, true/false or text)"
            )
        kinds.add(bool if isinstance(current, bool) else int if isinstance(current, int) else type(current))
    if len(kinds) > 1:
        raise ScenarioError(origin, f"parameters.{name}", p.key_paths, "all paths must hold the same kind of value")
    kind = kinds.pop()
    if kind in (bool, str) and p.range is not None:
        raise ScenarioError(
            origin, f"parameters.{name}.range", list(p.range), f"a {kind.__name__} is listed in `values`"
        )
    return kind


def _check_values(base: Scenario, p: Parameter, kind: type, origin: str, name: str, paired: bool = False) -> None:
    """Apply each listed value, or both ends of the range, alone to the base (or the paired) scenario."""
    key = "values" if p.values is not None else "range"
    candidates = list(p.values) if p.values is not None else list(p.range or ())
    paths = p.paired_key_paths if paired else p.key_paths
    for value in candidates:
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        try:
            base.with_overrides(dict.fromkeys(paths, _cast(value, kind)), source=origin)
        except ScenarioError as exc:
            where = f"parameters.{name}.{'paired_paths' if paired else key}"
            scenario = f" in the paired scenario {base.name!r}" if paired else ""
            raise ScenarioError(origin, where, value, f"{exc.path}{scenario}: {exc.allowed}") from None


def _cast(value: Any, kind: type) -> Any:
    if kind is int and isinstance(value, float):
        return math.floor(value + 0.5)  # halves up, not to even: 0.5 -> 1
    if kind is float and isinstance(value, int | np.integer) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _apply(
    base: Scenario, params: dict[str, Parameter], values: dict[str, Any], origin: str, where: str, paired: bool = False
) -> Scenario:
    overrides = {
        key: values[name] for name, p in params.items() for key in (p.paired_key_paths if paired else p.key_paths)
    }
    try:
        return base.with_overrides(overrides, source=origin)
    except ScenarioError as exc:
        raise ScenarioError(
            origin, "parameters", ..., f"{where} is not a valid scenario: {exc.path}: {exc.allowed}"
        ) from None


def _point_count(sweep: SweepFile, names: list[str]) -> int:
    """How many points the sampler will make, worked out before making them."""
    s, d = sweep.sampler, len(names)
    if s.method == "grid":
        return math.prod(len(p.values) if p.values is not None else p.points or 2 for p in sweep.parameters.values())
    n = int(s.samples or 0)
    if s.method == "sobol":
        return n * (2 * d + 2 if s.second_order else d + 2)
    if s.method == "morris":
        return n * (d + 1)
    return n


def _grid_axis(p: Parameter, kind: type) -> list[Any]:
    low, high = p.range or (0.0, 0.0)
    values = [_cast(float(v), kind) for v in np.linspace(low, high, p.points or 2)]
    return list(dict.fromkeys(values))  # whole numbers: 1, 1.5, 2 would run 2 twice


def _sample(sweep: SweepFile, names: list[str], kinds: dict[str, type]) -> tuple[list[list[Any]], dict[str, Any]]:
    """The rows of parameter values (one per point) and the design that produced them."""
    s = sweep.sampler
    params = [sweep.parameters[n] for n in names]
    if s.method == "grid":
        axes = [
            list(p.values) if p.values is not None else _grid_axis(p, kinds[n])
            for n, p in zip(names, params, strict=True)
        ]
        rows = [list(combo) for combo in itertools.product(*axes)]
        return rows, {"method": "grid", "names": names}
    from SALib.sample import latin, morris, sobol

    # A whole-number parameter is sampled over [low - 0.5, high + 0.5] and rounded, so that
    # every whole value in the range is as likely as any other, the ends included.
    bounds = [
        [p.range[0] - 0.5, p.range[1] + 0.4999] if kinds[n] is int and p.range else list(p.range or ())
        for n, p in zip(names, params, strict=True)
    ]
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}
    n = int(s.samples or 0)
    if s.method == "latin":
        x = latin.sample(problem, n, seed=sweep.seed)
    elif s.method == "sobol":
        x = sobol.sample(problem, n, calc_second_order=s.second_order, seed=sweep.seed)
    else:
        x = morris.sample(problem, n, num_levels=s.levels, seed=sweep.seed)
    design = {
        "method": s.method,
        "names": names,
        "problem": problem,
        "samples": n,
        "levels": s.levels,
        "second_order": s.second_order,
        "seed": sweep.seed,
    }
    return [[float(v) for v in row] for row in np.asarray(x)], design
