"""Replicated comparisons and parameter sweeps, from the command line or a notebook.

>>> from analysis import compare                                # doctest: +SKIP
>>> result = compare(["big", "open_market"], replicates=30)      # doctest: +SKIP
>>> result.differences.query("measure == 'producer_profit'")     # doctest: +SKIP

Both :func:`compare` and :func:`sweep` turn their input into a
:class:`~analysis.plan.Plan`, open its :class:`~analysis.store.ResultsFolder`
(resuming one left unfinished by the same plan), hand the missing runs to an
engine and store each output the moment it arrives. The summaries are made
from the stored files, a batch of runs at a time, so the parent process holds
no more than one batch's tables at a time whatever the size of the plan.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.std import tqdm as std_tqdm

from analysis.engines import engine_for
from analysis.plan import Plan, Point, Record
from analysis.runs import write_table
from analysis.statistics import differences_table, run_outcomes, summary_table
from analysis.store import FolderError, ResultsFolder
from analysis.sweeps import sweep_plan
from sim import load_scenario
from sim.observe.measures import FOCAL_COLUMNS
from sim.scenario import Scenario, ScenarioError

__all__ = ["Experiment", "compare", "comparison_plan", "free_folder", "progress_bar", "run_plan", "sweep"]

#: Focal-firm columns summarised across replicates: every focal measure but the keys and the alive flag.
FOCAL_OUTCOMES = [c for c in FOCAL_COLUMNS if c not in ("step", "firm", "alive")]


class Experiment:
    """The stored results of a comparison or sweep, and their summaries.

    Tables are read from the results folder when first asked for, so an
    experiment can be opened from its folder at any time, even while runs
    are still missing.

    Parameters
    ----------
    folder : ResultsFolder or path
        Where everything is stored.
    window : int, optional
        Months at the end of a run averaged into its outcome (default: the
        experiment's own, 12 unless its sweep file said otherwise).
    """

    def __init__(self, folder: ResultsFolder | str | Path, window: int | None = None) -> None:
        self.folder = folder if isinstance(folder, ResultsFolder) else ResultsFolder(folder)
        self.window = int(window if window is not None else self.folder.manifest["record"]["window"])
        if self.window < 1:
            raise ValueError(f"window must be at least 1 month, not {self.window}")

    def __repr__(self) -> str:
        return f"Experiment({str(self.path)!r}: {self.kind} {self.folder.manifest['name']!r}, {self.folder.size} runs)"

    @property
    def path(self) -> Path:
        """The results folder."""
        return self.folder.path

    @property
    def kind(self) -> str:
        """``"compare"`` or ``"sweep"``."""
        return self.folder.kind

    @cached_property
    def reference(self) -> Experiment | None:
        """A sweep's ``compare_to`` scenario, run on the same seeds (in ``reference/``), or None."""
        folder = self.path / "reference"
        if self.kind != "sweep" or not (folder / "manifest.json").exists():
            return None
        return Experiment(folder, window=self.window)

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per run: keys, parameters, status and error."""
        return self.folder.runs_table()

    @property
    def failed(self) -> int:
        """How many runs raised."""
        return int((self.runs["status"] == "failed").sum())

    @property
    def finished(self) -> int:
        """How many runs are stored."""
        return int((self.runs["status"] == "finished").sum())

    @cached_property
    def measures(self) -> pd.DataFrame:
        """Per-run, per-step measures of every finished run (tidy: one row per run and step)."""
        return self.folder.table("measures")

    @cached_property
    def cooperations(self) -> pd.DataFrame:
        """Cooperation logs of every finished run."""
        return self.folder.table("cooperations")

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """One row per finished run: each measure averaged over the run's last ``window`` months."""
        keys = self._keys()
        return _concat(run_outcomes(m, keys, self.window) for m in self.folder.batches("measures"))

    @cached_property
    def focal_outcomes(self) -> pd.DataFrame:
        """One row per finished run and focal firm: its measures averaged over the last ``window`` months."""
        keys = [*self._keys(), "firm"]
        batches = self.folder.batches("focal_firms")
        return _concat(run_outcomes(f[[*keys, "step", *FOCAL_OUTCOMES]], keys, self.window) for f in batches)

    @property
    def measure_names(self) -> list[str]:
        """The recorded model measures."""
        skip = {*self._keys(), "step"}
        return [c for c in self.outcomes.columns if c not in skip]

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Mean and 95% interval of each measure's outcome, per scenario (comparison) or point (sweep)."""
        if self.outcomes.empty:
            return pd.DataFrame()
        if self.kind == "compare":
            return summary_table(self.outcomes, "scenario", self.measure_names)
        table = summary_table(self.outcomes, "point", self.measure_names)
        params = pd.DataFrame([{"point": p["point"], **p["parameters"]} for p in self.folder.manifest["points"]])
        return params.merge(table, on="point", how="right")

    @cached_property
    def differences(self) -> pd.DataFrame:
        """Paired differences between every pair of compared scenarios, with intervals and Cohen's d."""
        if self.kind != "compare" or self.outcomes.empty:
            return pd.DataFrame()
        return differences_table(self.outcomes, "scenario", "replicate", self.measure_names)

    @cached_property
    def focal_summary(self) -> pd.DataFrame:
        """Mean and 95% interval of each focal firm's outcomes, per scenario."""
        rows = []
        for firm, group in self.focal_outcomes.groupby("firm", sort=False) if len(self.focal_outcomes) else []:
            rows.append(summary_table(group, "scenario", FOCAL_OUTCOMES).assign(firm=firm))
        return _firm_first(rows)

    @cached_property
    def focal_differences(self) -> pd.DataFrame:
        """Paired differences of each focal firm's outcomes between scenarios where it exists in both."""
        if self.kind != "compare":
            return pd.DataFrame()
        rows = []
        for firm, group in self.focal_outcomes.groupby("firm", sort=False) if len(self.focal_outcomes) else []:
            if group["scenario"].nunique() > 1:
                rows.append(differences_table(group, "scenario", "replicate", FOCAL_OUTCOMES).assign(firm=firm))
        return _firm_first(rows)

    def write_summaries(self) -> list[Path]:
        """Write the run outcomes and the summaries into the folder (Parquet and CSV)."""
        written: list[Path] = []
        tables = {
            "outcomes": self.outcomes,
            "summary": self.summary,
            "differences": self.differences,
            "focal_summary": self.focal_summary,
            "focal_differences": self.focal_differences,
        }
        for name, frame in tables.items():
            if len(frame):
                written += write_table(frame, self.path / name)
        return written

    def _keys(self) -> list[str]:
        return self.folder.keys


def _concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    parts = list(frames)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _firm_first(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame()
    table = pd.concat(parts, ignore_index=True)
    return table[["firm", *[c for c in table.columns if c != "firm"]]]


# ---------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------


def comparison_plan(
    scenarios: Sequence[str | Path | Scenario],
    replicates: int = 30,
    seed: int = 1,
    steps: int | None = None,
    window: int = 12,
) -> Plan:
    """The plan of a comparison: each scenario run ``replicates`` times on paired seeds.

    Parameters
    ----------
    scenarios : sequence of str, Path or Scenario
        Built-in names, TOML files or loaded scenarios, each with its own name.
    replicates : int
        Runs per scenario.
    seed : int
        Master seed of the replicates' seeds.
    steps : int, optional
        Horizon in months (default: each scenario's own).
    window : int
        Months at the end of a run averaged into its outcome.

    Returns
    -------
    Plan

    Raises
    ------
    ScenarioError
        When a scenario cannot be loaded, or two share a name.
    """
    loaded = []
    for s in scenarios:
        scenario = load_scenario(s)
        loaded.append(scenario.until(steps) if steps is not None else scenario)
    names = [s.name for s in loaded]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ScenarioError("compare", "scenarios", twice, "each compared scenario needs its own name")
    if not loaded:
        raise ScenarioError("compare", "scenarios", [], "name at least one scenario")
    points = tuple(Point(s.name, s) for s in loaded)
    files = {f"scenarios/{s.name}.toml": s.resolved_toml() for s in loaded}
    name = "compare-" + "-".join(names)
    return Plan("compare", name, points, replicates, seed, Record(window=window), files=files)


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (where a widget progress bar can be drawn)."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    try:
        return get is not None and "IPKernelApp" in get().config
    except (AttributeError, TypeError):
        return False


def progress_bar(total: int, desc: str, unit: str = "run", initial: int = 0, show: bool | None = None) -> Any:
    """The one progress bar of ``run``, ``compare`` and ``sweep``: tqdm on the terminal, a widget in a notebook.

    Parameters
    ----------
    total : int
        Units of work.
    desc : str
        What is running (shown before the bar).
    unit : str
        What one unit is (``"run"``, ``"month"``).
    initial : int
        Units already done (a resumed experiment).
    show : bool, optional
        Show it (default: when standard error is a terminal, or in a notebook).

    Returns
    -------
    tqdm
        A bar, disabled when not shown. In a notebook without ``ipywidgets``
        (the ``notebook`` extra), the text bar, and no warning.
    """
    notebook = in_notebook()
    show = (sys.stderr.isatty() or notebook) if show is None else show
    bar_class: Any = std_tqdm
    if notebook and show:
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm as notebook_tqdm

            bar_class = notebook_tqdm
        except ImportError:
            pass
    # No monitor thread: the local pool forks its workers, and a fork should not copy a running thread.
    monitor, std_tqdm.monitor_interval = std_tqdm.monitor_interval, 0
    try:
        return bar_class(
            total=total, initial=initial, unit=unit, desc=desc, disable=not show or total == initial, file=sys.stderr
        )
    finally:
        std_tqdm.monitor_interval = monitor


def free_folder(path: str | Path) -> Path:
    """The first of ``path``, ``path-2``, ``path-3``... that does not exist or is empty.

    Parameters
    ----------
    path : str or Path
        The folder wanted.

    Returns
    -------
    Path

    Examples
    --------
    >>> free_folder("/no/such/folder")
    PosixPath('/no/such/folder')
    """
    path = Path(path)
    candidate, k = path, 1
    while candidate.exists() and (not candidate.is_dir() or any(candidate.iterdir())):
        k += 1
        candidate = path.with_name(f"{path.name}-{k}")
    return candidate


def open_folder(path: Path, plan: Plan) -> ResultsFolder:
    """The results folder of ``plan``; when another plan's results are there, the error names a free folder.

    Raises
    ------
    FolderError
        When the folder cannot hold this plan's results.
    """
    try:
        return ResultsFolder.for_plan(path, plan)
    except FolderError as exc:
        if path.is_dir() and any(path.iterdir()):
            raise FolderError(f"{exc}; {free_folder(path)} is free (--out {free_folder(path)})") from None
        raise


def run_plan(
    plan: Plan,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
) -> Experiment:
    """Run every missing run of a plan (and of its reference scenario) into its results folder.

    Parameters
    ----------
    plan : Plan
        What to run.
    out : str or Path, optional
        Results folder (default ``results/<plan name>``). A folder left
        unfinished by the same plan is resumed; one of another plan is
        refused, naming a free folder to use instead.
    workers : int, optional
        Local worker processes (default: every core; 1 runs in this process).
    scheduler : str or distributed.Client, optional
        Run on a Dask cluster instead: ``tcp://host:port``, ``"local"`` or a client.
    progress : bool, optional
        Show a progress bar (default: when standard error is a terminal, or
        in a notebook; see :func:`progress_bar`).

    Returns
    -------
    Experiment

    Raises
    ------
    FolderError
        When the folder holds another plan's results or cannot be written.
    """
    path = Path(out) if out is not None else Path("results") / plan.name
    folder = open_folder(path, plan)
    reference = plan.reference_plan()
    if reference is not None:
        _run_into(reference, open_folder(path / "reference", reference), workers, scheduler, progress)
    _run_into(plan, folder, workers, scheduler, progress)
    experiment = Experiment(folder, window=plan.record.window)  # this command's window, even when resuming
    experiment.write_summaries()
    if experiment.reference is not None:
        experiment.reference.write_summaries()
    return experiment


def _run_into(plan: Plan, folder: ResultsFolder, workers: int | None, scheduler: Any, progress: bool | None) -> None:
    """Run the plan's missing runs into ``folder``, then write its CSV tables."""
    done = folder.finished()
    todo = plan.size - len(done)
    failed = 0
    bar = progress_bar(plan.size, plan.name, "run", len(done), progress)
    try:
        if todo:
            with engine_for(workers, scheduler) as engine:
                for output in engine.map(plan.runs(skip=done)):
                    folder.store(output)
                    failed += output.failed
                    bar.update()
                    bar.set_postfix(failed=failed, refresh=False)
    except KeyboardInterrupt:
        bar.close()
        stored = len(folder.finished())
        print(
            f"kreislauf: interrupted with {stored} of {plan.size} runs stored in {folder.path}; "
            "run the same command again to finish the rest",
            file=sys.stderr,
        )
        raise
    bar.close()
    folder.write_csv()


def compare(
    scenarios: Sequence[str | Path | Scenario],
    replicates: int = 30,
    seed: int = 1,
    steps: int | None = None,
    window: int = 12,
    workers: int | None = None,
    scheduler: Any = None,
    out: str | Path | None = None,
    progress: bool | None = None,
) -> Experiment:
    """Run scenarios side by side on paired seeds and summarise their differences.

    Parameters
    ----------
    scenarios : sequence of str, Path or Scenario
        Built-in names, TOML files or loaded scenarios, each with its own name.
    replicates : int
        Runs per scenario.
    seed : int
        Master seed; replicate *k* uses the same derived seed in every scenario.
    steps : int, optional
        Horizon in months (default: each scenario's own).
    window : int
        Months at the end of a run averaged into its outcome.
    workers, scheduler, out, progress
        As for :func:`run_plan`.

    Returns
    -------
    Experiment
        With ``summary`` (mean and 95% interval per measure and scenario),
        ``differences`` (paired differences with intervals and Cohen's d),
        ``focal_summary`` and ``focal_differences`` (the B.I.G. producers).
    """
    plan = comparison_plan(scenarios, replicates, seed, steps, window)
    return run_plan(plan, out, workers, scheduler, progress)


def sweep(
    source: str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    out: str | Path | None = None,
    progress: bool | None = None,
) -> Experiment:
    """Run a sweep file (see :mod:`analysis.sweeps`), and its ``compare_to`` scenario beside it.

    Parameters
    ----------
    source : str or Path
        A built-in sweep's name (``"integrity"``) or a sweep TOML file.
    replicates : int, optional
        Runs per point, instead of the file's (recorded in the manifest).
    seed : int, optional
        Master seed, instead of the file's.
    steps : int, optional
        Horizon in months, instead of the file's (or the base scenario's).
    workers, scheduler, progress
        As for :func:`run_plan`.
    out : str or Path, optional
        Results folder (default ``results/<source>``: the name as given, or
        the file's name without ``.toml``).

    Returns
    -------
    Experiment
        With ``outcomes`` (one row per run with its parameters), ``summary``
        (mean and 95% interval per point) and ``reference`` (the
        ``compare_to`` scenario's experiment, or None); sensitivity indices
        come from :func:`analysis.sensitivity.sensitivity`.

    Raises
    ------
    ScenarioError
        When the sweep file, or an override, is not valid.
    FolderError
        When ``out`` holds another plan's results (the message names a free folder).
    """
    plan = sweep_plan(source, replicates, seed, steps)
    return run_plan(plan, out if out is not None else default_folder(source), workers, scheduler, progress)


def default_folder(source: str | Path) -> Path:
    """A sweep's default results folder, named by what the user gave: ``results/integrity`` for ``integrity``.

    Examples
    --------
    >>> default_folder("integrity"), default_folder("my/sweep_trust.toml")
    (PosixPath('results/integrity'), PosixPath('results/sweep_trust'))
    """
    name = Path(str(source)).name
    return Path("results") / (name.removesuffix(".toml") or "sweep")
