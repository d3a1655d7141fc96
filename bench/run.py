"""Time kreislauf's ``CooperationModel`` against an idiomatic Mesa reference model.

Usage, from the repository root::

    python bench/run.py [--quick] [--workloads NAME,...] [--repeats N] [--seed S]

Workloads (``--quick`` sizes in brackets):

- ``big``: the B.I.G. scenario as written (about 10 firms), 120 steps [12];
- ``market_1k``: the open market scaled to 1,000 firms, 120 steps [200 firms, 12 steps];
- ``market_10k``: the open market scaled to 10,000 firms, 120 steps [500 firms, 12 steps];
- ``market_100k``: the open market scaled to 100,000 firms, 120 steps (left out of ``--quick``;
  minutes and gigabytes).

Each workload is timed against :class:`reference.ReferenceModel` (Boltzmann
wealth exchange on a random network, see ``bench/reference.py``) with as many
agents as the workload has firms at the start, alternating ours / reference,
best of ``--repeats`` (3, or 1 with ``--quick``). Every run happens in its own
freshly spawned Python process, so runs do not share a heap or warm caches, and
that process's peak resident set size is the run's peak memory (``VmHWM`` on
Linux, ``ru_maxrss`` elsewhere; see :func:`_peak_memory_mb` for why not
``ru_maxrss`` on Linux).
Construction and stepping are timed separately with ``time.perf_counter``; the
ratio compares stepping throughput: (our firm-steps per second) / (reference
agent-steps per second), where firm-steps add up ``model.firm_count`` after
every step.

A table goes to stderr as the runs finish; the last line of stdout is one JSON
object ``{"workloads": {...}, "machine": {...}, "quick": bool}``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("sim") is None:
    sys.path.insert(0, str(REPO_ROOT))

_PROC_STATUS = Path("/proc/self/status")
PEAK_MEMORY_MEASURE = (
    "VmHWM (peak resident set size) from /proc/self/status"
    if _PROC_STATUS.exists()
    else "ru_maxrss (peak resident set size) from resource.getrusage(RUSAGE_SELF)"
) + " of a freshly spawned process per run: the whole process, interpreter and imports included"
T = TypeVar("T")


@dataclass(frozen=True)
class Workload:
    """One benchmark workload.

    Parameters
    ----------
    name : str
        Name used on the command line and in the JSON output.
    scenario : str
        Built-in scenario passed to ``sim.load_scenario``.
    n_firms : int or None
        Firms to scale the scenario to with ``Scenario.scaled_to``; ``None``
        runs the scenario as written.
    steps : int
        Steps to run.
    """

    name: str
    scenario: str
    n_firms: int | None
    steps: int


FULL_WORKLOADS = (
    Workload("big", "big", None, 120),
    Workload("market_1k", "open_market", 1_000, 120),
    Workload("market_10k", "open_market", 10_000, 120),
    Workload("market_100k", "open_market", 100_000, 120),
)
QUICK_WORKLOADS = (
    Workload("big", "big", None, 12),
    Workload("market_1k", "open_market", 200, 12),
    Workload("market_10k", "open_market", 500, 12),
)


# ---------------------------------------------------------------------------
# What runs in the fresh processes
# ---------------------------------------------------------------------------


def _peak_memory_mb() -> float:
    """Peak resident set size of this process so far, in MB (2**20 bytes).

    Linux's ``VmHWM`` where there is one, else ``ru_maxrss``: Linux carries
    ``ru_maxrss`` over ``exec``, so in a spawned process it is at least the
    parent's resident size at the time of the spawn, whereas ``VmHWM`` belongs
    to the new process alone.
    """
    if _PROC_STATUS.exists():
        for line in _PROC_STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB elsewhere


def _timed_run(build: Callable[[], Any], steps: int, alive: Callable[[Any], int]) -> dict[str, float]:
    """Build a model, step it, and time both.

    Parameters
    ----------
    build : callable
        Returns a new model; its duration is the construction time.
    steps : int
        Number of ``model.step()`` calls.
    alive : callable
        Number of agents in the model now; summed after every step.

    Returns
    -------
    dict
        ``agents`` and ``agents_final`` (at construction and after the last
        step), ``agent_steps``, ``build_seconds``, ``step_seconds``,
        ``rss_before_build_mb`` (peak RSS after imports) and ``peak_memory_mb``.
    """
    rss_before = _peak_memory_mb()
    start = time.perf_counter()
    model = build()
    built = time.perf_counter()
    agents = alive(model)
    agent_steps = 0
    stepping = time.perf_counter()
    for _ in range(steps):
        model.step()
        agent_steps += alive(model)
    done = time.perf_counter()
    return {
        "agents": agents,
        "agents_final": alive(model),
        "agent_steps": agent_steps,
        "build_seconds": built - start,
        "step_seconds": done - stepping,
        "rss_before_build_mb": rss_before,
        "peak_memory_mb": _peak_memory_mb(),
    }


def _run_ours(workload: Workload, seed: int) -> dict[str, float]:
    """Time ``CooperationModel`` on a workload (run in a fresh process).

    The scenario is loaded and scaled before the clock starts; construction
    time is that of ``CooperationModel(scenario=..., seed=...)``.
    """
    from sim import CooperationModel, load_scenario

    scenario = load_scenario(workload.scenario)
    if workload.n_firms is not None:
        scenario = scenario.scaled_to(workload.n_firms)
    return _timed_run(
        lambda: CooperationModel(scenario=scenario, seed=seed),
        workload.steps,
        lambda model: model.firm_count,
    )


def _run_reference(n_agents: int, steps: int, seed: int) -> dict[str, float]:
    """Time the reference model with ``n_agents`` agents (run in a fresh process)."""
    from reference import ReferenceModel

    return _timed_run(lambda: ReferenceModel(n_agents, seed=seed), steps, lambda model: model.num_agents)


def _in_fresh_process(func: Callable[..., T], *args: Any) -> T:
    """Call ``func(*args)`` in a newly spawned Python process and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(func, *args).result()


# ---------------------------------------------------------------------------
# Driving the runs
# ---------------------------------------------------------------------------

_RUN_HEADER = (
    f"{'workload':<11} {'run':<10} {'agents':>7} {'steps':>5} {'build s':>8} {'step s':>8} "
    f"{'agent-steps/s':>14} {'peak MB':>8}"
)


def _log_run(workload: Workload, label: str, run: dict[str, float]) -> None:
    """Print one finished run as a row of the running table on stderr."""
    rate = run["agent_steps"] / run["step_seconds"]
    print(
        f"{workload.name:<11} {label:<10} {run['agents']:>7,} {workload.steps:>5} {run['build_seconds']:>8.3f} "
        f"{run['step_seconds']:>8.3f} {rate:>14,.0f} {run['peak_memory_mb']:>8.1f}",
        file=sys.stderr,
        flush=True,
    )


def bench_workload(workload: Workload, repeats: int, seed: int) -> dict[str, Any]:
    """Time one workload against the reference, alternating the two.

    Parameters
    ----------
    workload : Workload
        What to run.
    repeats : int
        Runs of each model; the fastest stepping run of each is reported.
    seed : int
        Seed of every run (the same seed, so every repeat does the same work).

    Returns
    -------
    dict
        The workload's entry in the JSON output.
    """
    ours: list[dict[str, float]] = []
    reference: list[dict[str, float]] = []
    for repeat in range(1, repeats + 1):
        ours.append(_in_fresh_process(_run_ours, workload, seed))
        _log_run(workload, f"ours {repeat}/{repeats}", ours[-1])
        reference.append(_in_fresh_process(_run_reference, int(ours[0]["agents"]), workload.steps, seed))
        _log_run(workload, f"ref  {repeat}/{repeats}", reference[-1])

    best = min(ours, key=lambda run: run["step_seconds"])
    best_ref = min(reference, key=lambda run: run["step_seconds"])
    rate = best["agent_steps"] / best["step_seconds"]
    ref_rate = best_ref["agent_steps"] / best_ref["step_seconds"]
    return {
        "scenario": workload.scenario,
        "requested_firms": workload.n_firms,
        "firms": int(best["agents"]),
        "firms_final": int(best["agents_final"]),
        "steps": workload.steps,
        "firm_steps": int(best["agent_steps"]),
        "build_seconds": min(run["build_seconds"] for run in ours),
        "step_seconds": best["step_seconds"],
        "firm_steps_per_second": rate,
        "peak_memory_mb": max(run["peak_memory_mb"] for run in ours),
        "rss_before_build_mb": best["rss_before_build_mb"],
        "reference_agents": int(best_ref["agents"]),
        "reference_build_seconds": min(run["build_seconds"] for run in reference),
        "reference_step_seconds": best_ref["step_seconds"],
        "reference_agent_steps_per_second": ref_rate,
        "reference_peak_memory_mb": max(run["peak_memory_mb"] for run in reference),
        "ratio": rate / ref_rate,
        "repeats": repeats,
        "step_seconds_all": [run["step_seconds"] for run in ours],
        "reference_step_seconds_all": [run["step_seconds"] for run in reference],
    }


def _print_summary(results: dict[str, dict[str, Any]]) -> None:
    """Print the per-workload summary table on stderr."""
    print(
        f"\n{'workload':<11} {'firms':>6} {'steps':>5} {'build s':>8} {'step s':>8} {'firm-steps/s':>13} "
        f"{'ref step s':>10} {'ref agent-steps/s':>17} {'ratio':>6} {'peak MB':>8}",
        file=sys.stderr,
    )
    for name, r in results.items():
        print(
            f"{name:<11} {r['firms']:>6,} {r['steps']:>5} {r['build_seconds']:>8.3f} {r['step_seconds']:>8.3f} "
            f"{r['firm_steps_per_second']:>13,.0f} {r['reference_step_seconds']:>10.3f} "
            f"{r['reference_agent_steps_per_second']:>17,.0f} {r['ratio']:>6.2f} {r['peak_memory_mb']:>8.1f}",
            file=sys.stderr,
        )
    print(
        "ratio = our firm-steps/s / reference agent-steps/s (stepping only, best run of each); "
        "targets (full sizes): ratio >= 0.5 for big, >= 2 at 1,000 and 10,000 firms; market_10k peak under "
        "2 GB (2,048 MB); market_100k peak under 4 GB (4,096 MB) and firm-steps/s no lower than market_10k's.",
        file=sys.stderr,
        flush=True,
    )


def _cpu_model() -> str:
    """The processor's name, from /proc/cpuinfo where there is one."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    """The repository's current commit, or ``None`` outside git or before the first commit."""
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def machine_info() -> dict[str, Any]:
    """Describe the machine and software the benchmark ran on."""
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        **{package: importlib.metadata.version(package) for package in ("mesa", "numpy", "networkx")},
        "git_commit": _git_commit(),
        "timer": "time.perf_counter",
        "peak_memory_measure": PEAK_MEMORY_MEASURE,
    }


def _probe_model() -> tuple[str, str]:
    """Import ``sim`` and check that it offers the API the benchmark times.

    Run in a fresh process, so that the runner itself stays small (its
    resident size would otherwise count in ``ru_maxrss`` of every run it
    spawns, where ``VmHWM`` is not available).

    Returns
    -------
    tuple of str
        Where ``sim`` was imported from (empty if it was not), and what is
        wrong with it (empty if nothing is).
    """
    try:
        sim = importlib.import_module("sim")
    except ImportError as error:
        return "", f"cannot import the model package `sim` ({error!r})"
    missing = [name for name in ("CooperationModel", "load_scenario") if not hasattr(sim, name)]
    problem = f"`sim` ({sim.__file__}) does not provide {' and '.join(missing)} yet" if missing else ""
    return str(sim.__file__), problem


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="Time kreislauf's CooperationModel against an idiomatic Mesa reference model."
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and 12 steps, one repeat (under ~30 s)")
    parser.add_argument(
        "--workloads",
        default=None,
        help="comma-separated workloads to run (default: all of "
        f"{','.join(w.name for w in FULL_WORKLOADS)}; market_100k not with --quick)",
    )
    parser.add_argument("--repeats", type=int, help="runs of each model, best reported (default 3, 1 with --quick)")
    parser.add_argument("--seed", type=int, default=1, help="seed of every run (default 1)")
    args = parser.parse_args(argv)
    known = [w.name for w in FULL_WORKLOADS]
    if args.workloads is None:
        args.workloads = [w.name for w in (QUICK_WORKLOADS if args.quick else FULL_WORKLOADS)]
    else:
        args.workloads = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = [name for name in args.workloads if name not in known]
    if unknown or not args.workloads:
        parser.error(f"unknown workloads {unknown}; choose from {known}")
    if args.quick and "market_100k" in args.workloads:
        parser.error("market_100k has no --quick size; leave it out of --workloads or drop --quick")
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the JSON summary as the last line of stdout.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments; ``sys.argv[1:]`` if not given.
    """
    args = _parse_args(argv)
    sim_path, problem = _in_fresh_process(_probe_model)
    if problem:
        raise SystemExit(
            f"bench/run.py: {problem}.\nRun it from the repository root ({REPO_ROOT}) with the project's "
            "environment, e.g. `.venv/bin/python bench/run.py`."
        )
    workloads = [w for w in (QUICK_WORKLOADS if args.quick else FULL_WORKLOADS) if w.name in args.workloads]
    print(
        f"kreislauf benchmark: quick={args.quick}, repeats={args.repeats}, seed={args.seed}, model from {sim_path}\n"
        f"peak memory: {PEAK_MEMORY_MEASURE}\n\n{_RUN_HEADER}",
        file=sys.stderr,
        flush=True,
    )
    results = {w.name: bench_workload(w, args.repeats, args.seed) for w in workloads}
    _print_summary(results)
    print(json.dumps({"workloads": results, "machine": machine_info(), "quick": args.quick}))


if __name__ == "__main__":
    main()
