"""Where runs execute: in this process, on a local process pool, or on a Dask cluster.

Every engine takes :class:`~analysis.plan.RunSpec` objects and yields a
:class:`~analysis.store.RunOutput` for each, in the order runs finish: the
run's files, made by the worker that ran it (:func:`execute`). A run's output
depends only on its spec, so results do not depend on the engine or on the
number of workers; the caller writes each output as it arrives and keeps
nothing else.

- :class:`SerialEngine`: one run after another in this process (``workers=1``).
- :class:`PoolEngine`: a local process pool, one worker per core by default.
  On Linux its workers are forked, so it works from a notebook or from a
  script without an ``if __name__ == "__main__"`` guard; a worker that dies
  (killed, out of memory) is replaced and its runs are tried again.
- :class:`DaskEngine`: a Dask distributed cluster, by scheduler address
  (``tcp://host:8786``), an existing ``distributed.Client``, or ``"local"``
  for a local cluster. SLURM clusters come through dask-jobqueue (see
  ``docs/howto-run-a-sweep.md``). Dask re-runs the tasks of a lost worker.

At most a few runs per worker (on Dask, a few tasks of a few short runs each)
are in flight at once, so a plan of a million runs does not hold a million
specs or outputs in memory.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self

import pandas as pd

from analysis.plan import RunSpec
from analysis.runs import NetworkHistory, focal_frame, simulate
from analysis.store import RunOutput, run_files

__all__ = [
    "ClusterLost",
    "DaskEngine",
    "Engine",
    "EngineError",
    "PoolEngine",
    "SerialEngine",
    "engine_for",
    "execute",
    "execute_with_csv",
]

#: Runs (on a pool) or tasks (on Dask) in flight per worker: enough to keep workers busy, few enough to keep
#: memory flat.
IN_FLIGHT_PER_WORKER = 2

#: About how long a Dask task should take: long enough that the cluster's cost per task (a few milliseconds
#: of scheduler and client time, much of it in this process on a local cluster) is small beside it.
TASK_SECONDS = 0.5

#: At most this many runs per Dask task, so a lost worker costs little and progress stays smooth.
RUNS_PER_TASK = 8


#: Seconds to wait for a Dask scheduler to answer, and for a lost one to come back, before giving up.
CONNECT_SECONDS = 30.0


class EngineError(RuntimeError):
    """An engine that cannot start: Dask not installed, a scheduler out of reach, an address not supported."""


class ClusterLost(RuntimeError):
    """The Dask scheduler went away during a comparison or sweep; the runs stored so far are kept."""


def execute(spec: RunSpec, csv: bool = False) -> RunOutput:
    """Run one spec to its scenario's horizon and return its files.

    The tables are formatted here, as Parquet files and, with ``csv``, as
    the run's rows of the CSV tables (see :func:`execute_with_csv`), so that
    the work runs in parallel on the workers. An exception inside the run is
    caught and returned as the output's ``error`` (with its traceback), so
    one failing run never stops a sweep.
    """
    start = time.perf_counter()
    model = None
    try:
        history = NetworkHistory.for_horizon(spec.scenario.steps) if spec.network else None
        model = simulate(spec.scenario, spec.seed, history, record=spec.record.measures)
        measures = model.measures_frame()
        keep = spec.record.keeps(measures["step"].to_numpy(), int(measures["step"].iloc[-1]))
        columns = ["step", *(spec.record.measures if spec.record.measures is not None else measures.columns[1:])]
        tables = {
            "measures": _with_keys(measures.loc[keep, columns], spec),
            "cooperations": _with_keys(model.cooperation_log(), spec),
            "focal_firms": _with_keys(focal_frame(model), spec),
        }
        if history is not None:
            tables |= {
                "network_nodes": _with_keys(history.nodes, spec),
                "network_edges": _with_keys(history.edges, spec),
            }
        rows: dict[str, bytes] | None = {} if csv else None
        files = run_files(spec.run, tables, rows)
    except Exception as exc:  # a failing run is recorded, never fatal to the experiment
        detail = "".join(traceback.format_exception(exc)).rstrip()
        return RunOutput(spec, error=detail, seconds=time.perf_counter() - start)
    return RunOutput(spec, files, seconds=time.perf_counter() - start, csv=rows or {})


def execute_with_csv(spec: RunSpec) -> RunOutput:
    """:func:`execute`, with the run's rows of the CSV tables (a comparison's or sweep's task)."""
    return execute(spec, csv=True)


_KEY_TYPES = {str: "str", int: "int64", float: "float64", bool: "bool"}  # as pandas infers them


def _with_keys(frame: pd.DataFrame, spec: RunSpec) -> pd.DataFrame:
    keys = pd.DataFrame({k: [v] * len(frame) for k, v in spec.keys.items()}, index=frame.index)
    if len(frame) == 0:  # typed all the same, so every run's file has one schema
        keys = keys.astype({k: _KEY_TYPES.get(type(v), "float64") for k, v in spec.keys.items()})
    return pd.concat([keys, frame], axis=1).reset_index(drop=True)


#: What a worker does with one spec: by default :func:`execute`; a calibration computes its statistics instead.
Task = Callable[[RunSpec], RunOutput]


def execute_all(specs: list[RunSpec], task: Task | None = None) -> list[RunOutput]:
    """Do ``task`` (default :func:`execute`) for each spec in turn: one Dask task's runs."""
    task = task or execute
    return [task(spec) for spec in specs]


class Engine:
    """Runs specs and yields their outputs as they finish."""

    workers: int = 1

    def map(self, specs: Iterable[RunSpec], task: Task | None = None) -> Iterator[RunOutput]:
        """Yield the output of ``task`` (a picklable function; default :func:`execute`) for every spec, in the order runs finish."""
        raise NotImplementedError

    def close(self) -> None:
        """Release workers and connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialEngine(Engine):
    """Every run in this process, one after another."""

    def map(self, specs: Iterable[RunSpec], task: Task | None = None) -> Iterator[RunOutput]:
        """Yield each spec's output in order."""
        task = task or execute  # looked up when called, so that tests may stand in for it
        for spec in specs:
            yield task(spec)


class PoolEngine(Engine):
    """A local process pool of ``workers`` processes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        # Forked workers need no importable __main__, so notebooks and unguarded
        # scripts work; elsewhere (macOS, Windows) the platform's default applies.
        method = "fork" if sys.platform.startswith("linux") else None
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context(method),
            initializer=_end_with_parent,
            initargs=(os.getpid(),),
        )

    def map(self, specs: Iterable[RunSpec], task: Task | None = None) -> Iterator[RunOutput]:
        """Yield outputs as workers finish, keeping a few runs per worker in flight.

        A worker that dies (killed, out of memory, a crash in compiled code)
        breaks the pool and takes every run in flight with it. The pool is
        replaced and those runs are tried again one at a time: one that kills
        its worker alone is recorded as failed, the others go on.
        """
        task = task or execute  # looked up when called, so that tests may stand in for it
        pending = iter(specs)
        suspects: list[RunSpec] = []  # in flight when a worker died
        running: dict[Future[RunOutput], RunSpec] = {}
        alone = False  # whether the one run in flight is a suspect tried on its own
        self._pool = self._new_pool()
        limit = self.workers * IN_FLIGHT_PER_WORKER
        try:
            while True:
                broken = False
                try:
                    while not (alone and running):  # a suspect tried on its own runs with nothing beside it
                        if suspects:
                            if running:
                                break
                            spec, alone = suspects.pop(), True
                        elif len(running) < limit:
                            following = next(pending, None)
                            if following is None:
                                break
                            spec, alone = following, False
                        else:
                            break
                        try:
                            running[self._pool.submit(task, spec)] = spec
                        except BrokenProcessPool:
                            suspects.append(spec)  # it never ran; it is tried (alone) with the others
                            raise
                except BrokenProcessPool:
                    broken = True
                if not running and not broken:
                    return
                lost: list[RunSpec] = []
                if running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        spec = running.pop(future)
                        try:
                            output = future.result()
                        except BrokenProcessPool:
                            lost.append(spec)
                            continue
                        yield output
                if lost or broken:
                    lost += running.values()
                    running.clear()
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    if alone and len(lost) == 1:
                        yield RunOutput(lost[0], error="its worker process died (killed, out of memory or crashed)")
                    else:
                        suspects.extend(lost)
                    self._pool = self._new_pool()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the pool, cancelling runs not yet started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _end_with_parent(parent: int) -> None:
    """In a pool worker: end when the parent process ends, even when it is killed (Linux).

    A parent killed with SIGKILL cannot stop its pool, and its workers would go
    on with their runs for nothing, holding memory. The kernel signals a
    worker when its parent dies (``PR_SET_PDEATHSIG``); a parent already gone
    when the worker starts ends it at once. Elsewhere the workers notice the
    broken pipe when they next ask for work.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # no prctl here: the broken pipe will end the worker
        return
    if os.getppid() != parent:
        os._exit(1)


class DaskEngine(Engine):
    """A Dask distributed cluster: an address, a ``distributed.Client``, or ``"local"``."""

    def __init__(self, scheduler: Any, workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - depends on the installation
            raise EngineError(
                "running on a Dask cluster needs the 'cluster' extra: pip install 'kreislauf[cluster]'"
            ) from None
        self._own_client = not isinstance(scheduler, Client)
        self._cluster = None
        if isinstance(scheduler, Client):
            self.client = scheduler
        elif scheduler == "local":
            import dask

            # No dashboard to show them, so none of the workers' statistical profiler (it samples each run's stack
            # every 10 ms) and a slow event-loop tick (it wakes every process 50 times a second to time its loop).
            quiet = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s"}
            with dask.config.set(quiet):
                self._cluster = LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            self.client = Client(self._cluster)
        else:
            self.client = _connect(Client, scheduler)
        self.workers = max(1, self._threads())

    def map(self, specs: Iterable[RunSpec], task: Task | None = None) -> Iterator[RunOutput]:
        """Yield outputs as the cluster finishes them, keeping a few tasks per worker in flight.

        Each task carries as many runs as take about :data:`TASK_SECONDS`,
        judged from the runs finished so far (one at first), so the cluster's
        cost per task stays small beside the work even when runs are short.
        When a task of several runs fails (its worker was lost again and
        again), its runs are tried again one per task, so only a run that
        fails on its own is recorded as failed.
        """
        from distributed import as_completed

        pending = iter(specs)
        suspects: list[RunSpec] = []  # runs of a failed task, tried again one per task
        tasks: dict[Any, list[RunSpec]] = {}  # futures in flight and their runs
        flow = as_completed()
        runs_done, seconds = 0, 0.0

        def fill() -> None:
            try:
                # Workers come and go (SLURM jobs start late, nodes are lost): size the queue to those there now.
                limit = max(2, IN_FLIGHT_PER_WORKER * self._threads())
                while len(tasks) < limit:
                    per_task = min(RUNS_PER_TASK, max(1, int(TASK_SECONDS * runs_done / seconds))) if seconds > 0 else 1
                    batch = [suspects.pop()] if suspects else _take(pending, per_task)
                    if not batch:
                        return
                    future = self.client.submit(execute_all, batch, task, pure=False)
                    tasks[future] = batch
                    flow.add(future)
            except Exception as exc:  # asking a scheduler that has just gone: the connection's error, not ours
                self._check_scheduler(exc)
                raise

        fill()
        try:
            for future in self._finishing(flow):
                batch = tasks.pop(future)
                outputs: list[RunOutput] = []
                try:
                    outputs = future.result()
                except Exception as exc:  # e.g. KilledWorker: the task took down worker after worker
                    self._check_scheduler(exc)
                    if len(batch) > 1:
                        suspects.extend(reversed(batch))
                    else:
                        outputs = [RunOutput(batch[0], error=f"{type(exc).__name__}: {exc}")]
                else:
                    runs_done += len(outputs)
                    seconds += sum(o.seconds for o in outputs)
                future.release()
                fill()
                yield from outputs
        finally:  # stopped early (a folder that cannot be written, Ctrl-C): the cluster may be the user's own
            if self.client.status == "running":
                self.client.cancel(list(tasks))

    def _finishing(self, flow: Any) -> Iterator[Any]:
        """The futures of ``flow`` as they finish; :class:`ClusterLost` once the scheduler is gone too long.

        A client that loses its scheduler tries to reconnect and its futures
        wait meanwhile, so the loop must not wait on them without a limit.
        """
        away = 0.0
        while not flow.is_empty():
            batch = flow.next_batch(block=False)
            if batch:
                away = 0.0
                yield from batch
                continue
            time.sleep(0.05)
            if self.client.status not in ("running", "newly-created"):
                away += 0.05
                if away > CONNECT_SECONDS:
                    self._check_scheduler(None)
            else:
                away = 0.0

    def _check_scheduler(self, exc: BaseException | None) -> None:
        """Raise :class:`ClusterLost` when the client has lost its scheduler (``exc`` is what a task raised)."""
        if self.client.status == "running" and (exc is None or not _lost(exc)):
            return
        raise ClusterLost(
            f"lost the connection to the Dask scheduler ({self.client.status}"
            f"{f': {type(exc).__name__}' if exc is not None else ''}); the runs stored so far are kept: "
            "run the same command again to resume"
        )

    def _threads(self) -> int:
        return int(sum(self.client.nthreads().values()))

    def close(self) -> None:
        """Close the client (and the local cluster) this engine opened."""
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _lost(exc: BaseException) -> bool:
    """Whether a task's error says the scheduler is gone (not that the run or its worker failed)."""
    from distributed.comm.core import CommClosedError

    return isinstance(exc, CommClosedError | OSError | TimeoutError) or type(exc).__name__ == "FutureCancelledError"


def _connect(client_class: Any, scheduler: str) -> Any:
    """A client of the scheduler at ``scheduler``, or :class:`EngineError` after :data:`CONNECT_SECONDS`.

    The connection is made in a thread of its own, because a server that
    accepts the connection and never answers would keep the client waiting
    for good.
    """
    import threading

    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            box["client"] = client_class(scheduler, timeout=f"{CONNECT_SECONDS}s")
        except Exception as exc:  # reported below, in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=connect, name="kreislauf-dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS + 5)
    if "client" in box:
        return box["client"]
    why = box.get("error")
    detail = f"{type(why).__name__}: {str(why).splitlines()[0] if str(why) else ''}" if why else "no answer"
    raise EngineError(
        f"--scheduler {scheduler}: cannot reach the Dask scheduler within {CONNECT_SECONDS:.0f} s ({detail}); "
        "check the address and that the scheduler runs"
    )


def _take(items: Iterator[RunSpec], n: int) -> list[RunSpec]:
    out = []
    for _ in range(n):
        item = next(items, None)
        if item is None:
            break
        out.append(item)
    return out


def engine_for(workers: int | None = None, scheduler: Any = None) -> Engine:
    """The engine for a worker count and an optional Dask scheduler.

    Parameters
    ----------
    workers : int, optional
        Local processes (default: every core). 1 runs in this process. More
        than the machine's cores (or 2, on a machine of one core) are capped,
        with a warning.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address, ``"local"`` or a client; overrides ``workers``
        except for the size of a local Dask cluster.
    """
    cores = os.cpu_count() or 1
    if workers is not None and workers > max(cores, 2) and (scheduler is None or scheduler == "local"):
        # More processes than cores only share the cores and multiply the memory (about 200 MB each).
        print(
            f"kreislauf: warning: {workers} workers asked for, this machine has {cores} cores; using {max(cores, 2)}",
            file=sys.stderr,
        )
        workers = max(cores, 2)
    if scheduler is not None:
        return DaskEngine(scheduler, workers)
    workers = workers or cores
    return SerialEngine() if workers == 1 else PoolEngine(workers)
