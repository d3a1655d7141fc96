"""Time the experiment engines: one worker, a local pool of two, a local Dask cluster of two.

Usage, from the repository root::

    python bench/experiments.py [--runs N] [--repeats R] [--quick]

The workload is ``--runs`` replicates (200; 20 with ``--quick``) of the B.I.G.
scenario, run through :func:`analysis.experiments.run_plan` into a fresh
results folder each time, so every timing includes storing each run and
writing the summaries, as a user's command does. The three engines take turns,
``--repeats`` rounds of them (3; 1 with ``--quick``), and each engine's time is
its fastest round: a shared machine only ever slows a round down, and taking
turns exposes every engine to the same slow spells. Each engine runs alone:
the Dask cluster of a round is started before its timing and closed after it.

- **speed-up** = (time on 1 worker) / (time on a local pool of 2). Target on a
  2-core machine: at least 1.8.
- **Dask overhead** = (time on a local Dask cluster of 2 single-threaded
  worker processes) / (time on the pool of 2) - 1. Target: within 15%. The
  cluster is started, and its workers have imported the model, before the
  clock starts (that start-up, a fixed cost, is reported on its own).
- **overhead per run** = ((time on 1 worker) - (time the same runs spend in
  ``model.step()``)) / runs: building the model, storing each run, the
  tables and summaries. Target: at most 10 ms. The stepping time is measured
  on its own, in this process, for the plan's own scenarios and seeds. The
  same difference in CPU time of this process (all its threads) is given
  too: it leaves out waiting for the disk, and moves less with the load of
  a shared machine.
- **parent memory**: the parent process's resident set size is sampled every
  10 ms while the pool runs; reported is its peak above the level before the
  run, for a quarter of the runs and for all of them. Results go to disk as
  they arrive, so the two should be about equal (flat), not grow fourfold.

- **breakdown** (``--breakdown``): the plan once more on 1 worker, with the
  time spent in each stage of a run added up and given per run: building the
  model, stepping, the network history, the measures table, the cooperation
  log, adding the run's keys, the Arrow tables, the Parquet files, the CSV
  rows, storing (writing and syncing each run's files, in the same thread
  since models run in this process), the summaries, and the rest.

A table goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("analysis") is None:
    sys.path.insert(0, str(REPO_ROOT))


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@contextmanager
def _peak_rss_above_start() -> Iterator[dict[str, float]]:
    """Sample this process's RSS every 10 ms; yield a dict that gets ``peak_mb`` above the start."""
    start = _rss_mb()
    out = {"start_mb": start, "peak_mb": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            out["peak_mb"] = max(out["peak_mb"], _rss_mb() - start)
            stop.wait(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()
        out["peak_mb"] = max(out["peak_mb"], _rss_mb() - start)


#: CPU seconds of this process (all its threads) in each timing, by label: the 1-worker run's CPU time.
CPU_SECONDS: dict[str, list[float]] = {}


def _timed(label: str, run: Callable[[Path], Any]) -> float:
    folder = Path(tempfile.mkdtemp(prefix="kreislauf-bench-"))
    try:
        start, cpu = time.perf_counter(), time.process_time()
        run(folder / "out")
        seconds = time.perf_counter() - start
        CPU_SECONDS.setdefault(label, []).append(time.process_time() - cpu)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"  {label:<34} {seconds:8.1f} s", file=sys.stderr)
    return seconds


def _stepping_seconds(plan: Any) -> float:
    """Seconds the plan's runs spend in ``model.step()`` alone, run one after the other in this process."""
    from sim import CooperationModel

    total = cpu_total = 0.0
    for spec in plan.runs():
        asked = {} if spec.record.measures is None else {"record": spec.record.measures}
        model = CooperationModel(spec.scenario, seed=spec.seed, **asked)
        start, cpu = time.perf_counter(), time.process_time()
        while model.running:
            model.step()
        total += time.perf_counter() - start
        cpu_total += time.process_time() - cpu
    CPU_SECONDS.setdefault("stepping", []).append(cpu_total)
    print(f"  {'stepping alone (1 worker)':<34} {total:8.1f} s", file=sys.stderr)
    return total


def _breakdown(plan: Any) -> dict[str, float]:
    """Milliseconds per run in each stage of the plan's runs on 1 worker (see the module's docstring)."""
    import analysis.engines
    import analysis.store
    from analysis.experiments import Experiment, run_plan
    from analysis.runs import NetworkHistory
    from sim import CooperationModel

    spent: dict[str, float] = {}
    stages = [
        ("build the model", CooperationModel, "__init__"),
        ("step (model.step)", CooperationModel, "step"),
        ("network history", NetworkHistory, "record"),
        ("measures table", CooperationModel, "measures_frame"),
        ("cooperation log", CooperationModel, "cooperation_log"),
        ("run keys", analysis.engines, "_with_keys"),
        ("Arrow tables", analysis.store, "arrow_table"),
        ("Parquet files", analysis.store, "parquet_bytes"),
        ("CSV rows", analysis.store, "table_csv_bytes"),
        ("storing", analysis.store.ResultsFolder, "store"),
        ("summaries", Experiment, "write_summaries"),
    ]
    originals = [(owner, name, getattr(owner, name)) for _, owner, name in stages]

    def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start

        return wrapper

    for (label, owner, name), (_, _, function) in zip(stages, originals, strict=True):
        setattr(owner, name, timed(label, function))
    folder = Path(tempfile.mkdtemp(prefix="kreislauf-bench-"))
    try:
        start = time.perf_counter()
        run_plan(plan, folder / "out", workers=1, progress=False)
        total = time.perf_counter() - start
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)
        shutil.rmtree(folder, ignore_errors=True)
    rest = total - sum(spent.values())
    out = {label: 1000 * spent.get(label, 0.0) / plan.size for label, _, _ in stages}
    out["rest"] = 1000 * rest / plan.size
    print("  breakdown, ms per run on 1 worker:", file=sys.stderr)
    for label, ms in out.items():
        print(f"    {label:<32} {ms:8.1f}", file=sys.stderr)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Run the engine benchmark and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, help="runs of the B.I.G. per engine (default 200, 20 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a smoke check: 20 runs")
    parser.add_argument("--repeats", type=int, help="rounds of the three engines (default 3, 1 with --quick)")
    parser.add_argument("--breakdown", action="store_true", help="time each stage of a run once more, on 1 worker")
    args = parser.parse_args(argv)
    runs = args.runs or (20 if args.quick else 200)
    repeats = args.repeats or (1 if args.quick else 3)

    from analysis.engines import DaskEngine
    from analysis.experiments import comparison_plan, run_plan

    plan = comparison_plan(["big"], replicates=runs, seed=1)
    quarter = comparison_plan(["big"], replicates=max(1, runs // 4), seed=1)
    print(
        f"{runs} runs of the B.I.G. ({plan.points[0].scenario.steps} months each), {os.cpu_count()} cores, "
        f"{repeats} rounds",
        file=sys.stderr,
    )

    # The small plan once first, so first-time imports and allocations are not counted as growth.
    _timed(f"warm-up, {quarter.size} runs", lambda out: run_plan(quarter, out, workers=2, progress=False))
    with _peak_rss_above_start() as small:
        _timed(f"pool of 2, {quarter.size} runs", lambda out: run_plan(quarter, out, workers=2, progress=False))
    with _peak_rss_above_start() as large:
        pool_times = [_timed("pool of 2", lambda out: run_plan(plan, out, workers=2, progress=False))]

    serial_times: list[float] = []
    stepping_times: list[float] = []
    dask_times: list[float] = []
    startups: list[float] = []
    for round_ in range(repeats):
        if round_:
            pool_times.append(_timed("pool of 2", lambda out: run_plan(plan, out, workers=2, progress=False)))
        serial_times.append(_timed("1 worker (in process)", lambda out: run_plan(plan, out, workers=1, progress=False)))
        stepping_times.append(_stepping_seconds(plan))
        # A fresh local cluster each round, as `--scheduler local` starts it, alive only for its own timing
        # (its scheduler runs in this process).
        start = time.perf_counter()
        with DaskEngine("local", workers=2) as engine:
            engine.client.run(importlib.import_module, "analysis.engines")  # workers import the model, as forks have it
            startups.append(time.perf_counter() - start)
            print(f"  {'Dask local cluster start-up':<34} {startups[-1]:8.1f} s", file=sys.stderr)
            dask_times.append(
                _timed(
                    "Dask local cluster of 2",
                    lambda out: run_plan(plan, out, scheduler=engine.client, progress=False),
                )
            )
    serial, pool, dask, startup = min(serial_times), min(pool_times), min(dask_times), min(startups)
    breakdown = _breakdown(plan) if args.breakdown else None

    speedup, overhead = serial / pool, dask / pool - 1
    stepping = min(stepping_times)
    per_run_ms = 1000 * (serial - stepping) / runs
    per_run_cpu_ms = 1000 * (min(CPU_SECONDS["1 worker (in process)"]) - min(CPU_SECONDS["stepping"])) / runs
    result = {
        "runs": runs,
        "seconds": {
            "one_worker": serial,
            "pool_2": pool,
            "dask_2": dask,
            "dask_startup": startup,
            "stepping_alone": stepping,
        },
        "rounds": {"one_worker": serial_times, "pool_2": pool_times, "dask_2": dask_times, "stepping": stepping_times},
        "overhead_ms_per_run": per_run_ms,
        "overhead_cpu_ms_per_run": per_run_cpu_ms,
        "speedup_pool_2": speedup,
        "dask_overhead": overhead,
        "parent_peak_mb_above_start": {str(quarter.size): small["peak_mb"], str(plan.size): large["peak_mb"]},
        "targets": {"speedup_pool_2": ">= 1.8", "dask_overhead": "<= 0.15", "overhead_ms_per_run": "<= 10"},
        "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()),
    }
    if breakdown is not None:
        result["breakdown_ms_per_run"] = breakdown
    print(
        f"speed-up on 2 workers {speedup:.2f} (target >= 1.8); "
        f"overhead per run beyond stepping {per_run_ms:.1f} ms (target <= 10; CPU time {per_run_cpu_ms:.1f} ms); "
        f"Dask overhead {100 * overhead:+.0f}% (target <= +15%); "
        f"parent peak above start {small['peak_mb']:.1f} MB for {quarter.size} runs, "
        f"{large['peak_mb']:.1f} MB for {plan.size}",
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
