"""``kreislauf calibrate``: fit a scenario's parameters to sourced patterns by ABC-SMC.

A calibration file is TOML, validated as strictly as a sweep file (unknown
keys, wrong types, NaN and values out of range are errors naming the file and
the key)::

    name = "open_market"
    description = "The open market against alliance and firm demography."
    base = "open_market"        # a built-in scenario, or a path relative to this file
    steps = 120                 # optional: the runs' horizon (default: the base scenario's)
    seed = 1                    # seeds the sampler, the model runs and the fit check

    [parameters.exit_trust]     # a name of your choosing
    path = "kreislauf.exit_trust"   # or paths = [...]: several keys set to one value
    range = [0.2, 0.6]          # the uniform prior: low and high

    [targets.alliance_failure]
    statistic = "alliance_failure_5y"   # one of analysis.targets.STATISTICS
    range = [0.45, 0.60]        # what the sources say; or observed = 0.5 and tolerance = 0.05
    weight = 1.0
    source = "Park & Ungson 2001; Dyer, Kale & Singh 2001"

    [budget]
    population = 100            # particles per generation
    generations = 6             # at most this many generations
    minimum_epsilon = 0.5       # optional: stop once the acceptance threshold is this small
    max_simulations = 5000      # optional: stop after this many particles simulated
    replicates = 2              # model runs per particle, their logs pooled into one set of statistics
    check_draws = 20            # posterior draws run again on fresh seeds for the fit table

Inference is ABC-SMC (Toni et al. 2009; Beaumont et al. 2009) with pyabc
(Schälte et al. 2022): uniform priors over the ranges, a multivariate normal
perturbation kernel, and each generation's acceptance threshold the median
distance of the one before. The **distance** of a simulated set of
statistics is the weighted sum, over targets, of the statistic's distance
from the middle of the target's range in half-widths of that range (so a
target alone is inside its range when its term is at most its weight); a
statistic the run cannot estimate (NaN) costs ten half-widths.

The model runs go to the same engines as sweeps (local processes, or a Dask
cluster with ``--scheduler``). pyabc draws its proposals from NumPy's
global generator; :class:`SeededSampler` seeds it for every proposal from
the calibration seed, the generation and the proposal's index, runs each
batch of proposals on the engine, and accepts them in proposal order. So the
result depends only on the file and its seed: not on the number of workers,
the engine, or whether the calibration was interrupted and resumed (pyabc's
history database in the results folder holds every finished generation).

The results folder holds ``abc.db`` (pyabc's history), ``posterior.parquet``
and ``.csv`` (the last generation's particles and weights),
``generations.csv`` (threshold, acceptance and distances per generation),
``fit.csv`` (each target: its range, the model's median and 90% interval
under the posterior, and those of the calibrated scenario, on fresh seeds;
inside or outside), ``<scenario>.toml`` (the base scenario with each
calibrated key set to its posterior median, the previous line kept as a
comment and a reason naming the calibration file, seed and date) and
``report.html``.

pyabc is in the ``calibrate`` extra (``pip install 'kreislauf[calibrate]'``)
and is imported only by this command.

References
----------
.. [1] Toni, Welch, Strelkowa, Ipsen & Stumpf (2009). Approximate Bayesian
   computation scheme for parameter inference and model selection in
   dynamical systems. *J. R. Soc. Interface* 6(31), 187-202.
.. [2] Beaumont, Cornuet, Marin & Robert (2009). Adaptive approximate
   Bayesian computation. *Biometrika* 96(4), 983-990.
.. [3] Schälte, Klinger, Alamoudi & Hasenauer (2022). pyABC: Efficient and
   robust easy-to-use approximate Bayesian computation. *Journal of Open
   Source Software* 7(74), 4304.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import json
import logging
import math
import random
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from analysis.engines import Engine, EngineError, engine_for
from analysis.plan import Record, RunSpec, replicate_seeds
from analysis.runs import simulate, write_table, write_text
from analysis.store import RunOutput
from analysis.sweeps import Parameter as SweepParameter
from analysis.sweeps import _cast, _check_values, _kind
from analysis.targets import STATISTICS, RunLogs, firm_log, pooled
from sim import Scenario
from sim.scenario import MAX_STEPS, ScenarioError, Section, builtin_scenarios, load_scenario, pydantic_error, read_toml
from sim.scenario.load import read_text

__all__ = [
    "QUICK",
    "Budget",
    "Calibration",
    "CalibrationFile",
    "CalibrationResult",
    "TargetRange",
    "abc_smc",
    "builtin_calibrations",
    "calibrate",
    "load_calibration",
    "posterior_check",
    "scenario_evaluator",
    "write_calibrated_toml",
]

#: Distance, in half-widths, charged for a statistic a run cannot estimate (NaN).
NAN_PENALTY = 10.0

#: Seed-sequence keys of the two kinds of proposals (pyabc's prior sample before the first generation, and generations).
_PRIOR_SAMPLE, _GENERATION, _CHECK = 0, 1, 2


class CalibrationError(ValueError):
    """A calibration that cannot go on (its results folder holds another calibration)."""


# ---------------------------------------------------------------------------------------------------------------
# The calibration file
# ---------------------------------------------------------------------------------------------------------------


class PriorParameter(Section):
    """A calibrated parameter: where it is set, and its uniform prior."""

    path: str | None = Field(None, description="Key path in the scenario schema, e.g. kreislauf.exit_trust.")
    paths: list[str] | None = Field(None, min_length=1, description="Several key paths set to the same value.")
    range: Annotated[list[float], Field(min_length=2, max_length=2, description="Uniform prior: [low, high].")]

    @model_validator(mode="after")
    def _valid(self) -> PriorParameter:
        if (self.path is None) == (self.paths is None):
            raise ValueError("give exactly one of `path` or `paths`")
        if not all(math.isfinite(x) for x in self.range) or not self.range[0] < self.range[1]:
            raise ValueError(f"the prior range must be [low, high] with low < high, not {list(self.range)}")
        return self

    @property
    def key_paths(self) -> list[str]:
        """The scenario key paths this parameter sets."""
        return list(self.paths) if self.paths is not None else [str(self.path)]


class Target(Section):
    """A pattern to reproduce: a statistic of the runs' logs and the value or range the sources give."""

    statistic: str = Field(description="A statistic of analysis.targets.STATISTICS.")
    observed: float | None = Field(None, allow_inf_nan=False, description="The observed value (with `tolerance`).")
    tolerance: float | None = Field(None, gt=0, allow_inf_nan=False, description="Half-width around `observed`.")
    range: list[float] | None = Field(None, min_length=2, max_length=2, description="[low, high] the sources span.")
    weight: float = Field(1.0, gt=0, le=1000, allow_inf_nan=False, description="Weight in the distance.")
    source: str = Field("", description="Where the value comes from.")

    @model_validator(mode="after")
    def _valid(self) -> Target:
        if self.statistic not in STATISTICS:
            raise ValueError(f"unknown statistic {self.statistic!r}; known are {list(STATISTICS)}")
        if (self.observed is None) == (self.range is None):
            raise ValueError("give exactly one of `observed` (with `tolerance`) or `range`")
        if self.observed is not None and self.tolerance is None:
            raise ValueError("`observed` needs a `tolerance` (the half-width within which the model fits)")
        if self.range is not None:
            if self.tolerance is not None:
                raise ValueError("`tolerance` goes with `observed`; a `range` is its own tolerance")
            if not all(math.isfinite(x) for x in self.range) or not self.range[0] < self.range[1]:
                raise ValueError(f"range must be [low, high] with low < high, not {list(self.range)}")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        """The target's low and high ends."""
        if self.range is not None:
            return float(self.range[0]), float(self.range[1])
        assert self.observed is not None and self.tolerance is not None
        return self.observed - self.tolerance, self.observed + self.tolerance


class Budget(Section):
    """How much simulation the calibration may spend."""

    population: int = Field(100, ge=2, le=1_000_000, description="Particles per generation.")
    generations: int = Field(6, ge=1, le=1000, description="Most generations.")
    minimum_epsilon: float | None = Field(None, ge=0, allow_inf_nan=False, description="Stop at this threshold.")
    max_simulations: int | None = Field(None, ge=1, le=1_000_000_000, description="Stop after so many particles.")
    replicates: int = Field(1, ge=1, le=1000, description="Model runs per particle, pooled.")
    check_draws: int = Field(20, ge=1, le=100_000, description="Posterior draws run again for the fit table.")


class CalibrationFile(Section):
    """A calibration file as written."""

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]*[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
    description: str = ""
    base: str = Field(min_length=1, description="Built-in scenario name, or a path relative to the file.")
    steps: int | None = Field(None, ge=1, le=MAX_STEPS, description="Horizon of the runs (default: the base's).")
    seed: int = Field(1, ge=0, le=2**63 - 1)
    parameters: Annotated[dict[str, PriorParameter], Field(min_length=1)]
    targets: Annotated[dict[str, Target], Field(min_length=1)]
    budget: Budget = Budget()


#: The budget of ``--quick``: a smoke run of about a minute on two cores.
QUICK = Budget(population=10, generations=2, max_simulations=60, replicates=1, check_draws=4)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class TargetRange:
    """A target as the distance reads it: the statistic, its low and high ends, and its weight."""

    statistic: str
    low: float
    high: float
    weight: float = 1.0

    def term(self, value: float) -> float:
        """The target's part of the distance: weight × |value - middle| / half-width (NaN: :data:`NAN_PENALTY`)."""
        if not math.isfinite(value):
            return self.weight * NAN_PENALTY
        half = (self.high - self.low) / 2
        return self.weight * abs(value - (self.low + self.high) / 2) / half

    def inside(self, value: float) -> bool:
        """Whether a value lies within the target's range."""
        return math.isfinite(value) and self.low <= value <= self.high


@dataclass(frozen=True)
class Calibration:
    """A loaded calibration file: the file, where it is, its base scenario and each parameter's kind."""

    file: CalibrationFile
    path: Path
    base: Scenario
    base_path: Path | None
    kinds: Mapping[str, type]

    @property
    def priors(self) -> dict[str, tuple[float, float]]:
        """Each parameter's prior range; a whole-number one widened by a half on each side, to be rounded."""
        out = {}
        for name, p in self.file.parameters.items():
            low, high = float(p.range[0]), float(p.range[1])
            out[name] = (low - 0.5, high + 0.4999) if self.kinds[name] is int else (low, high)
        return out

    @property
    def targets(self) -> dict[str, TargetRange]:
        """The targets as the distance reads them."""
        return {name: TargetRange(t.statistic, *t.bounds, weight=t.weight) for name, t in self.file.targets.items()}

    def scenario(self, values: Mapping[str, float]) -> Scenario:
        """The base scenario with the parameters set to ``values`` (whole-number ones rounded)."""
        overrides = {
            key: _cast(float(values[name]), self.kinds[name])
            for name, p in self.file.parameters.items()
            for key in p.key_paths
        }
        return self.base.with_overrides(overrides, source=str(self.path))

    def fingerprint(self, budget: Budget) -> str:
        """A hash of everything that decides the results: the file, the base scenario and the budget."""
        blob = json.dumps(
            {
                "file": self.file.model_dump(mode="json", exclude={"budget", "description"}),
                "budget": budget.model_dump(mode="json"),
                "base": self.base.resolved_toml(),
                "model": model_fingerprint(),
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def model_fingerprint() -> str:
    """A hash of the model's source (every ``sim`` module): a calibration does not resume onto a changed model."""
    import sim

    root = Path(sim.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def builtin_calibrations() -> dict[str, Path]:
    """Map of built-in calibration names to their files: ``scenarios/calibrations/calibrate_<name>.toml``.

    They sit in a folder of their own, so that they are not taken for scenarios.
    """
    folder = builtin_scenarios()["big"].parent / "calibrations"
    return {p.stem.removeprefix("calibrate_"): p for p in sorted(folder.glob("calibrate_*.toml"))}


def load_calibration(source: str | Path) -> Calibration:
    """Read and validate a calibration file, and check every parameter and target against its base scenario.

    Parameters
    ----------
    source : str or Path
        The calibration file, or a built-in calibration's name (:func:`builtin_calibrations`).

    Returns
    -------
    Calibration

    Raises
    ------
    ScenarioError
        Naming the file, the key, the value and what is allowed.
    """
    path = builtin_calibrations().get(str(source), Path(source))
    origin = str(path)
    data = read_toml(path)
    try:
        calib = CalibrationFile.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(exc, origin, CalibrationFile) from None
    ref = calib.base if calib.base in builtin_scenarios() else str(path.parent / calib.base)
    try:
        base = load_scenario(ref)
    except ScenarioError as exc:
        raise ScenarioError(origin, "base", calib.base, f"cannot load the base scenario: {exc}") from None
    base_path = builtin_scenarios()[calib.base] if calib.base in builtin_scenarios() else Path(ref)
    if calib.steps is not None:
        base = base.until(calib.steps)
    dumped = base.model_dump(mode="python")
    kinds: dict[str, type] = {}
    seen: dict[str, str] = {}
    for name, p in calib.parameters.items():
        where = f"parameters.{name}"
        if not _NAME.match(name):
            raise ScenarioError(
                origin, where, name, "a parameter's name must be a plain identifier (letters, digits, _)"
            )
        sweep_like = SweepParameter(paths=p.key_paths, range=list(p.range))
        kind = _kind(base, sweep_like, origin, name)
        if kind not in (int, float):
            raise ScenarioError(origin, where, p.key_paths, "a calibrated parameter must be a number")
        for key in p.key_paths:
            if key in seen:
                raise ScenarioError(origin, where, key, f"already set by parameters.{seen[key]}")
            seen[key] = name
            parts = key.split(".")
            node: Any = dumped
            for part in parts[:-1]:
                node = node.get(part) if isinstance(node, dict) else None
            if len(parts) < 2 or not isinstance(node, dict):
                raise ScenarioError(
                    origin,
                    where,
                    key,
                    "calibrate keys of a section (such as kreislauf.exit_trust or market.overhead_fixed), "
                    "so that the calibrated scenario can be written with the value in its place",
                )
        _check_values(base, sweep_like, kind, origin, name)
        kinds[name] = kind
    horizon = base.steps
    for name, t in calib.targets.items():
        if not _NAME.match(name):
            raise ScenarioError(origin, f"targets.{name}", name, "a target's name must be a plain identifier")
        need = STATISTICS[t.statistic].needs_months
        if horizon < need:
            raise ScenarioError(
                origin,
                f"targets.{name}.statistic",
                t.statistic,
                f"needs runs of at least {need} months; the runs have {horizon} (set `steps`)",
            )
    return Calibration(calib, path, base, base_path, kinds)


# ---------------------------------------------------------------------------------------------------------------
# ABC-SMC, seeded
# ---------------------------------------------------------------------------------------------------------------

#: What the engine runs for a batch of proposals: (parameter values, seed) of each, in order, to its statistics.
Evaluate = Callable[[list[tuple[dict[str, float], int]]], list[dict[str, float]]]


def _seed_sequence(seed: int, *keys: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, *keys])


def _make_sampler(
    pyabc: Any, evaluate: Evaluate, seed: int, names: list[str], progress: Callable[[int, int, int], None] | None
) -> Any:
    """A pyabc sampler that seeds every proposal and runs each batch of proposals on the engine at once.

    pyabc's own samplers draw from NumPy's global generator, reseeded from
    fresh entropy in each worker, so their results cannot be reproduced.
    This one proposes in this process in two passes. First, for each
    proposal ``i`` of the batch, it seeds the global generators from
    ``(seed, kind, generation, i)`` and lets pyabc propose, recording the
    parameters (pyabc is given a placeholder result and its verdict is thrown
    away). Then the batch runs on the engine. Then each proposal is made
    again from the same seed, so pyabc proposes the same parameters, and is
    given its real statistics; proposals are accepted in order until the
    generation is full, exactly as one core would. The batch size depends
    only on the acceptance so far, never on the workers.
    """

    class SeededSampler(pyabc.sampler.Sampler):
        def __init__(self) -> None:
            super().__init__()
            self.mode = "propose"
            self.proposed: list[dict[str, float]] = []
            self.answers: deque[tuple[dict[str, float], dict[str, float]]] = deque()
            self.simulations = 0

        def model(self, parameter: Mapping[str, float]) -> dict[str, float]:
            values = {k: float(parameter[k]) for k in names}
            if self.mode == "propose":
                self.proposed.append(values)
                return dict.fromkeys(statistic_names, float("nan"))
            expected, answer = self.answers.popleft()
            if expected != values:  # pragma: no cover - would mean pyabc drew from a generator not seeded here
                raise RuntimeError(f"pyabc proposed {values} again where it had proposed {expected}")
            return answer

        def sample_until_n_accepted(
            self,
            n: int,
            simulate_one: Callable[[], Any],
            t: int,
            *,
            max_eval: float = np.inf,
            all_accepted: bool = False,
            ana_vars: Any = None,
        ) -> Any:
            kind = _PRIOR_SAMPLE if all_accepted else _GENERATION
            saved_np, saved_py = np.random.get_state(), random.getstate()  # noqa: NPY002 - pyabc draws from the global generators
            sample = self._create_empty_sample()
            accepted = evaluated = index = 0
            size = n
            try:
                while accepted < n:
                    if evaluated >= max_eval:
                        sample.ok = False
                        break
                    batch = range(index, index + size)
                    self.mode, self.proposed = "propose", []
                    for i in batch:
                        self._seed(kind, t, i)
                        simulate_one()
                    seeds = [_model_seed(seed, kind, t, i) for i in batch]
                    results = evaluate(list(zip(self.proposed, seeds, strict=True)))
                    self.simulations += len(results)
                    self.mode = "answer"
                    self.answers = deque(zip(self.proposed, results, strict=True))
                    for i in batch:
                        self._seed(kind, t, i)
                        particle = simulate_one()
                        sample.append(particle)
                        evaluated += 1
                        if particle.accepted:
                            accepted += 1
                            if accepted == n:
                                break
                        if evaluated >= max_eval:
                            break
                    index += size
                    rate = accepted / evaluated
                    # Enough for the particles still missing at the acceptance so far (a fifth more), at most 10n.
                    size = (
                        min(10 * n, max(1, math.ceil(1.2 * (n - accepted) / rate)))
                        if rate > 0
                        else min(10 * n, 2 * size)
                    )
            finally:
                np.random.set_state(saved_np)  # noqa: NPY002 - restored as it was
                random.setstate(saved_py)
                self.mode = "propose"
            self.nr_evaluations_ = evaluated
            if progress is not None:
                progress(-1 if all_accepted else t, accepted, evaluated)
            return sample

        @staticmethod
        def _seed(kind: int, t: int, i: int) -> None:
            state = _seed_sequence(seed, kind, t + 1, i).generate_state(4)
            np.random.seed(state)  # noqa: NPY002 - pyabc draws from the global generator
            random.seed(int(state[0]))

    statistic_names: list[str] = []
    sampler = SeededSampler()
    sampler.statistic_names = statistic_names
    return sampler


def _model_seed(seed: int, kind: int, t: int, i: int) -> int:
    """The model seed of proposal ``i`` of generation ``t``: 63 bits of its own seed sequence."""
    return int(_seed_sequence(seed, kind, t + 1, i, 1).generate_state(1, np.uint64)[0] >> np.uint64(1))


def _pyabc() -> Any:
    try:
        import pyabc
    except ImportError:  # pragma: no cover - depends on the installation
        raise EngineError(
            "calibration needs pyabc, in the 'calibrate' extra: pip install 'kreislauf[calibrate]'"
        ) from None
    logging.getLogger("ABC").setLevel(logging.WARNING)
    for name in ("ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon", "ABC.Population"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return pyabc


def abc_smc(
    priors: Mapping[str, tuple[float, float]],
    targets: Mapping[str, TargetRange],
    evaluate: Evaluate,
    budget: Budget,
    db: Path,
    seed: int,
    progress: Callable[[int, int, int], None] | None = None,
) -> Any:
    """Run (or resume) ABC-SMC and return pyabc's ``History``.

    Parameters
    ----------
    priors : mapping of str to (float, float)
        Each parameter's uniform prior, low and high.
    targets : mapping of str to TargetRange
        The targets; their statistics are the keys of what ``evaluate`` returns.
    evaluate : callable
        Runs a batch of ``(parameter values, seed)`` and returns each one's
        statistics, in order.
    budget : Budget
        Population size, generations, minimum threshold, most simulations.
    db : Path
        pyabc's SQLite history. If it holds generations already, the
        calibration resumes after the last one.
    seed : int
        Seeds every proposal and every model run.
    progress : callable, optional
        Called after each generation with its index (-1 for pyabc's sample
        from the prior, which sets the first threshold), the particles
        accepted and the proposals evaluated.

    Returns
    -------
    pyabc.History
    """
    pyabc = _pyabc()
    names = list(priors)
    stats = [t.statistic for t in targets.values()]
    sampler = _make_sampler(pyabc, evaluate, seed, names, progress)
    sampler.statistic_names.extend(dict.fromkeys(stats))
    prior = pyabc.Distribution(**{k: pyabc.RV("uniform", lo, hi - lo) for k, (lo, hi) in priors.items()})
    terms = list(targets.values())

    def distance(x: Mapping[str, float], x0: Mapping[str, float]) -> float:
        return float(sum(t.term(float(x[t.statistic])) for t in terms))

    abc = pyabc.ABCSMC(
        sampler.model,
        prior,
        distance,
        population_size=budget.population,
        sampler=sampler,
        eps=pyabc.MedianEpsilon(),
    )
    url = f"sqlite:///{db}"
    done = 0
    if db.exists():
        history = pyabc.History(url)
        done = history.max_t + 1 if history.n_populations else 0
    if done > 0:
        abc.load(url, 1)
    else:
        db.unlink(missing_ok=True)  # a database without a finished generation: start again
        abc.new(url, {s: 0.0 for s in dict.fromkeys(stats)})
    remaining = budget.generations - done
    history = abc.history
    if remaining > 0 and not _stopped(history, budget):
        abc.run(
            minimum_epsilon=budget.minimum_epsilon,
            max_nr_populations=remaining,
            max_total_nr_simulations=budget.max_simulations or np.inf,
        )
    return history


def _stopped(history: Any, budget: Budget) -> bool:
    """Whether a resumed calibration had already met a stopping rule."""
    if not history.n_populations:
        return False
    pops = history.get_all_populations()
    last = pops[pops["t"] == history.max_t].iloc[0]
    if budget.minimum_epsilon is not None and float(last["epsilon"]) <= budget.minimum_epsilon:
        return True
    return budget.max_simulations is not None and int(history.total_nr_simulations) >= budget.max_simulations


# ---------------------------------------------------------------------------------------------------------------
# Running the model for a calibration
# ---------------------------------------------------------------------------------------------------------------


def particle_statistics(spec: RunSpec, replicates: int, statistics: tuple[str, ...]) -> RunOutput:
    """In a worker: run a particle's scenario ``replicates`` times and return its pooled statistics as JSON."""
    start = time.perf_counter()
    try:
        logs = []
        for s in replicate_seeds(spec.seed, replicates):
            model = simulate(spec.scenario, s)
            logs.append(RunLogs(model.cooperation_log(), firm_log(model)))
        together = pooled(logs)
        values = {name: float(STATISTICS[name].function(together)) for name in statistics}
    except Exception as exc:  # recorded as NaN statistics by the caller, never fatal to the calibration
        return RunOutput(spec, error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)
    blob = json.dumps(values, allow_nan=True).encode()
    return RunOutput(spec, {"statistics.json": blob}, seconds=time.perf_counter() - start)


def scenario_evaluator(calibration: Calibration, engine: Engine, replicates: int) -> tuple[Evaluate, list[str]]:
    """The ``evaluate`` of :func:`abc_smc` for a calibration: each proposal's scenario on the engine.

    Returns
    -------
    (callable, list of str)
        The function, and a list it appends the error of each failed run to.
    """
    statistics = tuple(dict.fromkeys(t.statistic for t in calibration.file.targets.values()))
    task = functools.partial(particle_statistics, replicates=replicates, statistics=statistics)
    failures: list[str] = []

    def evaluate(batch: list[tuple[dict[str, float], int]]) -> list[dict[str, float]]:
        specs = [
            RunSpec(i, i, 0, s, calibration.file.name, calibration.scenario(values), dict(values), Record())
            for i, (values, s) in enumerate(batch)
        ]
        out: list[dict[str, float]] = [dict.fromkeys(statistics, float("nan")) for _ in batch]
        for output in engine.map(specs, task):
            if output.error is not None:
                failures.append(output.error)
                continue
            out[output.spec.run] = json.loads(output.files["statistics.json"])
        return out

    return evaluate, failures


# ---------------------------------------------------------------------------------------------------------------
# Posterior, fit and outputs
# ---------------------------------------------------------------------------------------------------------------


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of weighted values (the smallest value whose cumulative weight reaches q).

    Examples
    --------
    >>> weighted_quantile(np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.2, 0.6]), 0.5)
    3.0
    >>> weighted_quantile(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0]), 0.5)
    2.0
    """
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cum, q - 1e-12)])


def posterior_check(
    evaluate: Evaluate,
    points: list[dict[str, float]],
    seed: int,
    key: int,
) -> pd.DataFrame:
    """Run parameter sets on fresh seeds (their own stream, ``key``) and return one row of statistics per set."""
    seeds = [
        int(s.generate_state(1, np.uint64)[0] >> np.uint64(1))
        for s in _seed_sequence(seed, _CHECK, key).spawn(len(points))
    ]
    rows = evaluate(list(zip(points, seeds, strict=True)))
    return pd.DataFrame(rows)


@dataclass
class CalibrationResult:
    """What a calibration wrote, and its fit table."""

    folder: Path
    fit: pd.DataFrame
    posterior: pd.DataFrame
    calibrated: dict[str, float]
    scenario_file: Path
    generations: int
    simulations: int
    seconds: float
    failures: int
    cpu_seconds: float = 0.0


def calibrate(
    source: str | Path,
    out: str | Path,
    quick: bool = False,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool = True,
) -> CalibrationResult:
    """Calibrate a scenario as its calibration file says, into a results folder (resuming one begun).

    Parameters
    ----------
    source : str or Path
        The calibration file.
    out : str or Path
        The results folder.
    quick : bool
        Use :data:`QUICK` as the budget: a smoke run of about a minute.
    workers, scheduler
        The engine, as for sweeps (:func:`analysis.engines.engine_for`).
    progress : bool
        Print a line per generation.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ScenarioError
        A bad calibration file.
    CalibrationError
        A results folder that holds another calibration.
    """
    calibration = load_calibration(source)
    budget = QUICK if quick else calibration.file.budget
    folder = Path(out)
    fingerprint = calibration.fingerprint(budget)
    manifest_path = folder / "calibration.json"
    if manifest_path.exists():
        previous = json.loads(manifest_path.read_text())
        if previous.get("fingerprint") != fingerprint:
            raise CalibrationError(
                f"{folder} holds another calibration (another file, base scenario, model version or budget"
                f"{'' if previous.get('quick') == quick else ', or --quick'}); give another --out"
            )
    elif folder.is_dir() and any(p.name != ".write-test" for p in folder.iterdir()):
        raise CalibrationError(f"{folder} already holds other files and is not a calibration's results folder")
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "kind": "calibrate",
        "file": str(calibration.path),
        "name": calibration.file.name,
        "fingerprint": fingerprint,
        "quick": quick,
        "seed": calibration.file.seed,
        "budget": budget.model_dump(mode="json"),
        "steps": calibration.base.steps,
    }
    write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    write_text(folder / "calibration.toml", read_text(calibration.path))
    start = time.perf_counter()
    cpu_start = _cpu_seconds()
    seed = calibration.file.seed

    def report(t: int, accepted: int, evaluated: int) -> None:
        if progress:
            what = "prior sample (sets the first threshold)" if t < 0 else f"generation {t}"
            took = f"{time.perf_counter() - start:.0f} s"
            print(f"{what}: {accepted} particles accepted of {evaluated} proposed ({took} so far)", file=sys.stderr)

    with engine_for(workers, scheduler) as engine:
        evaluate, failures = scenario_evaluator(calibration, engine, budget.replicates)
        history = abc_smc(calibration.priors, calibration.targets, evaluate, budget, folder / "abc.db", seed, report)
        frame, w = history.get_distribution(m=0, t=history.max_t)
        names = list(calibration.file.parameters)
        posterior = frame[names].copy()
        posterior["weight"] = np.asarray(w, dtype=float)
        posterior = posterior.reset_index(drop=True)
        weights = posterior["weight"].to_numpy()
        calibrated = {
            name: _cast(weighted_quantile(posterior[name].to_numpy(dtype=float), weights, 0.5), calibration.kinds[name])
            for name in names
        }
        # The fit under the posterior: draws by weight, each on fresh seeds.
        rng = np.random.Generator(np.random.PCG64(_seed_sequence(seed, _CHECK, 0)))
        picks = rng.choice(len(posterior), size=budget.check_draws, p=weights / weights.sum())
        draws = [{n: float(posterior.loc[int(i), n]) for n in names} for i in picks]
        under_posterior = posterior_check(evaluate, draws, seed, 1)
        under_calibrated = posterior_check(evaluate, [dict(calibrated)] * budget.check_draws, seed, 2)
    fit = fit_table(calibration, under_posterior, under_calibrated)
    posterior.insert(0, "generation", history.max_t)
    write_table(posterior, folder / "posterior")
    write_table(fit, folder / "fit")
    write_table(under_posterior, folder / "check_posterior")
    write_table(under_calibrated, folder / "check_calibrated")
    generations = generation_table(history)
    write_table(generations, folder / "generations")
    when = dt.datetime.now(dt.UTC).date().isoformat()
    scenario_path = folder / f"{calibration.base.name}.toml"
    text = write_calibrated_toml(calibration, calibrated, when, posterior)
    write_text(scenario_path, text)
    load_scenario(scenario_path)  # the written scenario must load; a failure here is a bug, not bad input
    seconds = time.perf_counter() - start
    simulations = int(history.total_nr_simulations)
    manifest |= {
        "generations": int(history.max_t + 1),
        "simulations": simulations,
        "seconds_this_command": round(seconds, 1),
        "cpu_seconds_this_command": round(_cpu_seconds() - cpu_start, 1),
        "calibrated": calibrated,
        "date": when,
        "failed_runs": len(failures),
    }
    write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    result = CalibrationResult(
        folder,
        fit,
        posterior,
        calibrated,
        scenario_path,
        int(history.max_t + 1),
        simulations,
        seconds,
        len(failures),
        manifest["cpu_seconds_this_command"],
    )
    write_text(folder / "report.html", calibration_report(calibration, result, generations, history, budget, quick))
    return result


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes (the local pool's workers)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def fit_table(calibration: Calibration, posterior: pd.DataFrame, calibrated: pd.DataFrame) -> pd.DataFrame:
    """Each target: its range, and the model's median and 90% interval under the posterior and for the calibrated scenario."""
    rows = []
    for name, target in calibration.file.targets.items():
        low, high = target.bounds
        tr = TargetRange(target.statistic, low, high, target.weight)
        row: dict[str, Any] = {
            "target": name,
            "statistic": target.statistic,
            "meaning": STATISTICS[target.statistic].meaning,
            "low": low,
            "high": high,
            "weight": target.weight,
        }
        for label, frame in (("posterior", posterior), ("calibrated", calibrated)):
            values = frame[target.statistic].to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            q05, median, q95 = np.quantile(finite, [0.05, 0.5, 0.95]) if len(finite) else [np.nan] * 3
            row |= {
                f"{label}_median": float(median),
                f"{label}_q05": float(q05),
                f"{label}_q95": float(q95),
                f"{label}_inside": tr.inside(float(median)),
                f"{label}_not_estimable": int(len(values) - len(finite)),
            }
        row["source"] = target.source
        rows.append(row)
    return pd.DataFrame(rows)


def generation_table(history: Any) -> pd.DataFrame:
    """Per generation: its threshold, particles simulated, acceptance rate and the accepted particles' distances."""
    pops = history.get_all_populations()
    rows = []
    for row in pops[pops["t"] >= 0].itertuples():
        d = history.get_weighted_distances(t=int(row.t))["distance"].to_numpy(dtype=float)
        n = len(d)
        rows.append(
            {
                "generation": int(row.t),
                "threshold": float(row.epsilon),
                "simulated": int(row.samples),
                "acceptance": n / int(row.samples) if int(row.samples) else float("nan"),
                "distance_min": float(d.min()),
                "distance_median": float(np.median(d)),
                "distance_max": float(d.max()),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# The calibrated scenario file
# ---------------------------------------------------------------------------------------------------------------


def write_calibrated_toml(
    calibration: Calibration, values: Mapping[str, float], when: str, posterior: pd.DataFrame | None = None
) -> str:
    """The base scenario's file with each calibrated key set to its value, and nothing else changed.

    The previous line of each key is kept as a comment above it; the new line's
    comment names the calibration file, its seed and the date (and the 90%
    posterior interval). A key the file did not set (a schema default) is
    added at the top of its section, which is added at the end of the file
    when the file has none.
    """
    base_path = calibration.base_path
    text = read_text(base_path) if base_path is not None else calibration.base.resolved_toml()
    lines = text.splitlines()
    file_name = calibration.path.name
    for name, p in calibration.file.parameters.items():
        value = values[name]
        interval = ""
        if posterior is not None and len(posterior):
            w = posterior["weight"].to_numpy(dtype=float)
            v = posterior[name].to_numpy(dtype=float)
            interval = (
                f"; 90% posterior interval {weighted_quantile(v, w, 0.05):.4g} to {weighted_quantile(v, w, 0.95):.4g}"
            )
        for key in p.key_paths:
            section, leaf = key.rsplit(".", 1)
            default = calibration.base.model_dump(mode="python")
            for part in key.split("."):
                default = default[part]
            reason = (
                f"calibrated by {file_name} (seed {calibration.file.seed}, {when}): posterior median"
                f"{interval}; prior {list(p.range)}"
            )
            shown = repr(value) if isinstance(value, int) else f"{value:.4g}"
            lines = set_toml_key(lines, section, leaf, shown, reason, default)
    return "\n".join(lines) + "\n"


_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
_ARRAY_HEADER = re.compile(r"^\s*\[\[")


def set_toml_key(lines: list[str], section: str, leaf: str, value: str, reason: str, default: Any) -> list[str]:
    """Set ``leaf = value`` in table ``[section]`` of TOML lines, keeping the old line as a comment."""
    out = list(lines)
    start = end = None
    for i, line in enumerate(out):
        m = _HEADER.match(line)
        if m and m.group(1).strip() == section:
            start = i
            continue
        if start is not None and end is None and (m or _ARRAY_HEADER.match(line)):
            end = i
    new = f"{leaf} = {value}  # {reason}"
    if start is None:  # a new table goes before the first array of tables ([[firms]] ...), where readers look for it
        at = next((i for i, line in enumerate(out) if _ARRAY_HEADER.match(line)), len(out))

        def comment(i: int) -> bool:
            return i >= 0 and out[i].lstrip().startswith("#")

        while comment(at - 1) or (at > 1 and not out[at - 1].strip() and comment(at - 2)):
            at -= 1  # above the comments that introduce the array
        table = [f"[{section}]", f"# {leaf} was the schema default {default!r}", new, ""]
        return [*out[:at], *table, *out[at:]]
    end = len(out) if end is None else end
    key = re.compile(rf"^\s*{re.escape(leaf)}\s*=")
    for i in range(start + 1, end):
        if key.match(out[i]):
            return [*out[:i], f"# was: {out[i].strip()}", new, *out[i + 1 :]]
    return [*out[: start + 1], f"# {leaf} was the schema default {default!r}", new, *out[start + 1 :]]


# ---------------------------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------------------------


def calibration_report(
    calibration: Calibration,
    result: CalibrationResult,
    generations: pd.DataFrame,
    history: Any,
    budget: Budget,
    quick: bool,
) -> str:
    """One self-contained HTML page: posterior marginals and pairs, the fit per target, the distance per generation."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from analysis.report import Item, Markup, Section, _header, _page

    names = list(calibration.file.parameters)
    post = result.posterior
    w = post["weight"].to_numpy(dtype=float)
    marginals = []
    for name in names:
        low, high = calibration.file.parameters[name].range
        fig = go.Figure(go.Histogram(x=post[name], y=w, histfunc="sum", nbinsx=20, marker_color="#1f77b4"))
        fig.add_vline(x=result.calibrated[name], line_dash="dash", annotation_text="posterior median")
        fig.update_layout(
            title=f"{name} ({', '.join(calibration.file.parameters[name].key_paths)})",
            xaxis={"title": "value", "range": [low, high]},
            yaxis_title="posterior weight",
            height=320,
            margin={"t": 50, "b": 40},
        )
        marginals.append(
            Item(
                fig,
                f"Posterior of {name} (weighted particles of the last generation); the x axis spans its prior.",
                post[["generation", name, "weight"]],
                name=name,
            )
        )
    d = len(names)
    pairs = make_subplots(rows=d, cols=d, horizontal_spacing=0.03, vertical_spacing=0.03)
    size = 4 + 16 * w / (w.max() if w.max() > 0 else 1)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j:
                pairs.add_trace(
                    go.Histogram(x=post[a], y=w, histfunc="sum", nbinsx=15, marker_color="#1f77b4", showlegend=False),
                    i + 1,
                    j + 1,
                )
            else:
                pairs.add_trace(
                    go.Scatter(
                        x=post[b], y=post[a], mode="markers", marker={"size": size, "opacity": 0.5}, showlegend=False
                    ),
                    i + 1,
                    j + 1,
                )
            if i == d - 1:
                pairs.update_xaxes(title_text=b, row=i + 1, col=j + 1)
            if j == 0:
                pairs.update_yaxes(title_text=a, row=i + 1, col=j + 1)
    pairs.update_layout(title="Posterior pairs", height=max(400, 220 * d), margin={"t": 50})
    fit = result.fit
    fit_fig = go.Figure()
    mid, half = (fit["low"] + fit["high"]) / 2, (fit["high"] - fit["low"]) / 2
    fit_fig.add_vrect(x0=-1, x1=1, fillcolor="#2ca02c", opacity=0.15, line_width=0)
    rows = np.arange(len(fit))
    for label, offset, symbol in (("posterior", -0.12, "circle"), ("calibrated", 0.12, "diamond")):
        median, q05, q95 = (fit[f"{label}_{q}"] for q in ("median", "q05", "q95"))
        text = [
            f"{t}: {m:.3g} [{lo:.3g}, {hi:.3g}]; target {a:.3g}-{b:.3g}"
            for t, m, lo, hi, a, b in zip(fit["target"], median, q05, q95, fit["low"], fit["high"], strict=True)
        ]
        fit_fig.add_trace(
            go.Scatter(
                x=(median - mid) / half,
                y=rows + offset,
                mode="markers",
                marker_symbol=symbol,
                name=("under the posterior" if label == "posterior" else "calibrated scenario") + " (median, 90%)",
                text=text,
                hoverinfo="text",
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (q95 - median) / half,
                    "arrayminus": (median - q05) / half,
                },
            )
        )
    fit_fig.update_layout(
        title="Fit per target: distance from the middle of the sources' range (green: inside)",
        yaxis={"tickmode": "array", "tickvals": list(rows), "ticktext": list(fit["target"]), "autorange": "reversed"},
        xaxis_title="(model - middle of the range) / half the range's width",
        height=140 + 60 * len(fit),
    )
    dist = go.Figure()
    for column, name, dash in (
        ("threshold", "threshold", "solid"),
        ("distance_median", "median distance of the accepted", "solid"),
        ("distance_min", "smallest distance", "dot"),
    ):
        dist.add_trace(
            go.Scatter(
                x=generations["generation"], y=generations[column], name=name, mode="lines+markers", line_dash=dash
            )
        )
    dist.update_layout(
        title="Distance per generation",
        xaxis_title="generation",
        yaxis_title="distance (weighted half-widths)",
        height=380,
    )
    sections = [
        Section(
            "Fit per target",
            [
                Item(
                    fit_fig,
                    "Each target's range from the sources (green), the model's median and 90% interval over posterior draws on fresh seeds, and those of the calibrated scenario.",
                    fit,
                    name="fit",
                )
            ],
        ),
        Section("Posterior marginals", marginals, columns=2),
        Section(
            "Posterior pairs",
            [
                Item(
                    pairs,
                    "Each pair of parameters over the last generation's particles (marker size: weight).",
                    post,
                    name="posterior",
                )
            ],
        ),
        Section(
            "Distance per generation",
            [
                Item(
                    dist,
                    "ABC-SMC's acceptance threshold (the median distance of the generation before) and the accepted particles' distances.",
                    generations,
                    name="generations",
                )
            ],
        ),
    ]
    inside = int(fit["posterior_inside"].sum())
    facts = [
        ("calibration file", str(calibration.path)),
        ("base scenario", calibration.base.name),
        ("seed", calibration.file.seed),
        ("budget", ("--quick: " if quick else "") + json.dumps(budget.model_dump(mode="json"))),
        ("horizon", f"{calibration.base.steps} months"),
        ("calibrated scenario", result.scenario_file.name),
    ]
    headline: dict[str, object] = {
        "targets inside their range (posterior median)": Markup(f"{inside} of {len(fit)}"),
        "generations": Markup(str(result.generations)),
        "particles simulated": Markup(str(result.simulations)),
    }
    table = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{html.escape(f'{v:.4g}')}</td></tr>" for n, v in result.calibrated.items()
    )
    extra = f"<table class=diff><caption>Calibrated values (posterior medians)</caption>{table}</table>"
    return _page(
        f"Calibration {calibration.file.name}",
        _header(f"Calibration {calibration.file.name}", facts, headline, extra),
        sections,
    )
