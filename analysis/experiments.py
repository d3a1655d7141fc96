"""Replicated comparisons and parameter sweeps, from the command line or a notebook.

>>> from analysis import compare                                # doctest: +SKIP
>>> result = compare(["big", "open_market"], replicates=30)      # doctest: +SKIP
>>> result.differences.query("measure == 'same_firm_profit'")    # doctest: +SKIP

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

from analysis.engines import Engine, PoolEngine, SerialEngine, engine_for, execute_with_csv
from analysis.plan import Plan, Point, Record
from analysis.runs import write_table
from analysis.statistics import differences_table, run_outcomes, run_starts, summary_table
from analysis.store import CsvTables, FolderError, ResultsFolder, Storing
from analysis.sweeps import sweep_plan
from sim import load_scenario
from sim.observe.measures import FOCAL_COLUMNS
from sim.scenario import Scenario, ScenarioError

__all__ = [
    "CHANGE",
    "POPULATION",
    "SAME_FIRMS",
    "Experiment",
    "compare",
    "comparison_plan",
    "composition",
    "free_folder",
    "progress_bar",
    "run_plan",
    "storing_for",
    "sweep",
]

#: Focal-firm columns summarised across replicates: every focal measure but the keys and the alive flag.
FOCAL_OUTCOMES = [c for c in FOCAL_COLUMNS if c not in ("step", "firm", "alive")]

#: The focal-firm measures in the order a comparison shows them as same-firm measures.
SAME_FIRM_ORDER = [
    "profit",
    "revenue",
    "overhead_paid",
    "value_received",
    "trust_received",
    "cooperations",
    "digital_maturity",
    "capital",
]

#: Prefix of a same-firm measure: a focal-firm measure averaged over the firms present in every compared scenario.
SAME_FIRM = "same_firm_"

#: Suffix of a measure's change since month 0 (its outcome minus the run's value at month 0).
CHANGE_SUFFIX = "_change"

#: Kinds of measure in a comparison's summary and differences (column ``kind``).
SAME_FIRMS, POPULATION = "same firms", "population"
CHANGE = ": change since month 0"

#: Stocks that can differ between scenarios before anything happens; where their month-0 means differ,
#: a comparison reports their change since month 0 as well.
STOCKS = [
    f"{SAME_FIRM}capital",
    f"{SAME_FIRM}digital_maturity",
    "capital_mean",
    "capital_gini",
    "digital_maturity",
    "digital_maturity_small",
    "culture_spread",
]


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
    def _population(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Each run's model measures: outcomes (last ``window`` months) and values at month 0, read in one pass."""
        keys, outcomes, starts = self._keys(), [], []
        for m in self.folder.batches("measures"):
            outcomes.append(run_outcomes(m, keys, self.window))
            starts.append(run_starts(m, keys))
        return _concat(outcomes), _concat(starts)

    @cached_property
    def _focal(self) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
        """Each run's focal-firm measures: outcomes, values at month 0, and the firms in order of first record."""
        keys, outcomes, starts, firms = [*self._keys(), "firm"], [], [], {}
        for f in self.folder.batches("focal_firms"):
            f = f[[*keys, "step", *FOCAL_OUTCOMES]]
            outcomes.append(run_outcomes(f, keys, self.window))
            starts.append(run_starts(f, keys))
            firms.update(dict.fromkeys(f["firm"].unique()))  # in order of first appearance, as the rows are
        return _concat(outcomes), _concat(starts), list(firms)

    @property
    def outcomes(self) -> pd.DataFrame:
        """One row per finished run: each model measure averaged over the run's last ``window`` months."""
        return self._population[0]

    @cached_property
    def compared_outcomes(self) -> pd.DataFrame:
        """One row per finished run: every outcome a comparison summarises (a sweep's: :attr:`outcomes`).

        The same-firm measures come first (``same_firm_profit`` and so on: see
        :attr:`same_firm_outcomes`), then the model's measures; a stock whose
        month-0 mean differs between the scenarios (see :data:`STOCKS`) is
        followed by its change since month 0 (``capital_gini_change``: the
        outcome minus the run's month-0 value).
        """
        population, starts = self._population
        if self.kind != "compare" or population.empty:
            return population
        keys = self._keys()
        same = self.same_firm_outcomes
        table = population.merge(same, on=keys, how="left") if len(same) else population
        start_values = starts.merge(self._same_firm_starts, on=keys, how="left") if len(same) else starts
        table, start_values = table.set_index(keys), start_values.set_index(keys).reindex(table.set_index(keys).index)
        columns: dict[str, pd.Series] = {}
        differ = self._differ_at_start(start_values)
        for measure in [*same.columns.drop(keys, errors="ignore"), *population.columns.drop(keys)]:
            if measure == "step":
                continue
            columns[measure] = table[measure]
            if measure in differ:
                columns[measure + CHANGE_SUFFIX] = table[measure] - start_values[measure]
        return pd.DataFrame(columns, index=table.index).reset_index()

    @cached_property
    def focal_outcomes(self) -> pd.DataFrame:
        """One row per finished run and focal firm: its measures averaged over the last ``window`` months."""
        return self._focal[0]

    @cached_property
    def common_firms(self) -> list[str]:
        """The focal firms present in every compared scenario (matched by name), in the order they are recorded.

        Empty for a sweep, and when the scenarios share no focal firm.
        """
        focal = self.focal_outcomes
        population = self._population[0]
        if self.kind != "compare" or focal.empty or population.empty:
            return []
        present = focal.groupby("scenario")["firm"].agg(set)
        scenarios = population["scenario"].unique()
        return [f for f in self._focal[2] if all(s in present.index and f in present[s] for s in scenarios)]

    @cached_property
    def same_firm_outcomes(self) -> pd.DataFrame:
        """One row per finished run: each focal-firm measure averaged over :attr:`common_firms`.

        A run's same-firm outcome is the mean, over the common firms, of each
        firm's outcome (its mean over the last ``window`` months; a value a firm
        lacks, such as the trust it receives without partners, is left out).
        Columns ``same_firm_profit``, ``same_firm_revenue`` and so on, after the
        run keys; empty when there are no common firms.
        """
        return self._same_firm(self.focal_outcomes)

    @cached_property
    def same_firm_months(self) -> pd.DataFrame:
        """One row per finished run and month: each focal-firm measure averaged over :attr:`common_firms`.

        The month-by-month counterpart of :attr:`same_firm_outcomes` (for the
        report's figures), read a batch of runs at a time; empty when there
        are no common firms.
        """
        firms = self.common_firms
        if not firms:
            return pd.DataFrame()
        keys = [*self._keys(), "step"]
        parts = []
        for f in self.folder.batches("focal_firms"):
            chosen = f[f["firm"].isin(firms)]
            parts.append(chosen.groupby(keys, sort=True)[FOCAL_OUTCOMES].mean().reset_index())
        return _concat(parts).rename(columns=lambda c: SAME_FIRM + c if c in FOCAL_OUTCOMES else c)

    @cached_property
    def _same_firm_starts(self) -> pd.DataFrame:
        return self._same_firm(self._focal[1])

    def _same_firm(self, per_firm: pd.DataFrame) -> pd.DataFrame:
        firms = self.common_firms
        if not firms:
            return pd.DataFrame()
        keys = self._keys()
        chosen = per_firm[per_firm["firm"].isin(firms)]
        measures = [m for m in SAME_FIRM_ORDER if m in FOCAL_OUTCOMES] + [
            m for m in FOCAL_OUTCOMES if m not in SAME_FIRM_ORDER
        ]
        table = chosen.groupby(keys, sort=True)[measures].mean()
        return table.rename(columns=lambda c: SAME_FIRM + c).reset_index()

    def _differ_at_start(self, starts: pd.DataFrame) -> set[str]:
        """The stocks whose mean at month 0 differs between the compared scenarios."""
        differ = set()
        by = starts.groupby(level="scenario")
        for measure in STOCKS:
            if measure in starts.columns:
                means = by[measure].mean().dropna()
                if len(means) > 1 and means.max() - means.min() > 1e-9 * max(1.0, float(means.abs().max())):
                    differ.add(measure)
        return differ

    @property
    def measure_names(self) -> list[str]:
        """The summarised measures: in a comparison the same-firm ones first, then the model's."""
        skip = {*self._keys(), "step"}
        return [c for c in self.compared_outcomes.columns if c not in skip]

    def measure_kind(self, measure: str) -> str:
        """Which kind of measure ``measure`` is: :data:`SAME_FIRMS` or :data:`POPULATION`, with :data:`CHANGE`.

        Parameters
        ----------
        measure : str
            A summarised measure's name.

        Returns
        -------
        str
        """
        base = measure.removesuffix(CHANGE_SUFFIX) if measure.endswith(CHANGE_SUFFIX) else measure
        kind = SAME_FIRMS if base.startswith(SAME_FIRM) else POPULATION
        return kind + CHANGE if base != measure and base in self.compared_outcomes.columns else kind

    @cached_property
    def compositions(self) -> dict[str, str]:
        """Each compared scenario's population, for labels: ``"all 10 firms (6 producers, 4 service)"``."""
        population = self._population[0]
        if population.empty:
            return {}
        return {
            str(s): composition(g["firms"], g["producers"]) if {"firms", "producers"} <= set(g.columns) else "all firms"
            for s, g in population.groupby("scenario", sort=False)
        }

    @property
    def same_firms_label(self) -> str:
        """The firms behind the same-firm measures: ``"6 firms in every scenario: GEFERTEC, ..."``."""
        firms = self.common_firms
        return f"{len(firms)} firm{'s' if len(firms) != 1 else ''} in every scenario: {', '.join(firms)}"

    def firms_of(self, measure: str, scenario: str) -> str:
        """Over which firms ``measure`` is taken in ``scenario``.

        Parameters
        ----------
        measure : str
            A summarised measure's name.
        scenario : str
            A compared scenario.

        Returns
        -------
        str
            :attr:`same_firms_label` for a same-firm measure, else the
            scenario's composition (:attr:`compositions`).
        """
        if self.measure_kind(measure).startswith(SAME_FIRMS):
            return self.same_firms_label
        return self.compositions.get(scenario, "")

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Mean and 95% interval of each measure's outcome, per scenario (comparison) or point (sweep).

        A comparison's table starts with the columns ``kind`` (same firms or
        population, and whether it is the change since month 0) and ``firms``
        (over which firms the measure is taken), and lists the same-firm
        measures first.
        """
        if self.outcomes.empty:
            return pd.DataFrame()
        if self.kind == "compare":
            table = summary_table(self.compared_outcomes, "scenario", self.measure_names)
            kinds = [self.measure_kind(m) for m in table["measure"]]
            firms = [self.firms_of(m, s) for m, s in zip(table["measure"], table["scenario"], strict=True)]
            return table.assign(kind=kinds, firms=firms)[["kind", "firms", *table.columns]]
        table = summary_table(self.outcomes, "point", self.measure_names)
        params = pd.DataFrame([{"point": p["point"], **p["parameters"]} for p in self.folder.manifest["points"]])
        return params.merge(table, on="point", how="right")

    @cached_property
    def differences(self) -> pd.DataFrame:
        """Paired differences between every pair of compared scenarios, with intervals and the paired Cohen's d.

        Columns ``kind`` and ``firms`` as in :attr:`summary` (``firms`` of a
        population measure: both scenarios' compositions, ``a vs b``), then
        those of :func:`analysis.statistics.differences_table`; same-firm
        measures first.
        """
        if self.kind != "compare" or self.outcomes.empty:
            return pd.DataFrame()
        table = differences_table(self.compared_outcomes, "scenario", "replicate", self.measure_names)
        kinds = [self.measure_kind(m) for m in table["measure"]]
        firms = [
            self.same_firms_label if k.startswith(SAME_FIRMS) else f"{self.firms_of(m, a)} vs {self.firms_of(m, b)}"
            for k, m, a, b in zip(kinds, table["measure"], table["a"], table["b"], strict=True)
        ]
        return table.assign(kind=kinds, firms=firms)[["kind", "firms", *table.columns]]

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
            "same_firm_outcomes": self.same_firm_outcomes if self.kind == "compare" else pd.DataFrame(),
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


def composition(firms: pd.Series, producers: pd.Series) -> str:
    """A population in words, from its runs' mean counts of firms and producers.

    A count that is the same whole number in every run is written as it is;
    one that varies is rounded, with a tilde.

    Parameters
    ----------
    firms, producers : Series
        Each run's mean number of firms and of producers (over the outcome window).

    Returns
    -------
    str

    Examples
    --------
    >>> composition(pd.Series([10.0, 10.0]), pd.Series([6.0, 6.0]))
    'all 10 firms (6 producers, 4 service)'
    >>> composition(pd.Series([76.5, 78.2]), pd.Series([76.5, 78.2]))
    'all ~77 firms (~77 producers, 0 service)'
    """

    def count(values: pd.Series) -> str:
        v = values.dropna().to_numpy(dtype=float)
        if not len(v):
            return "?"
        if (v == v[0]).all() and float(v[0]).is_integer():
            return str(int(v[0]))
        return f"~{round(float(v.mean()))}"

    f, p = firms.reset_index(drop=True), producers.reset_index(drop=True)
    return f"all {count(f)} firms ({count(p)} producers, {count(f - p)} service)"


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
    paired = plan.paired_plan()
    if paired is not None:  # each run's partner on the same seed: paired/ (see analysis.sensitivity.paired_outcomes)
        _run_into(paired, open_folder(path / "paired", paired), workers, scheduler, progress)
    experiment = Experiment(folder, window=plan.record.window)  # this command's window, even when resuming
    experiment.write_summaries()
    if experiment.reference is not None:
        experiment.reference.write_summaries()
    return experiment


def _run_into(plan: Plan, folder: ResultsFolder, workers: int | None, scheduler: Any, progress: bool | None) -> None:
    """Run the plan's missing runs into ``folder``, writing its CSV tables as they arrive (see :class:`CsvTables`)."""
    done = folder.finished()
    todo = plan.size - len(done)
    failed = 0
    bar = progress_bar(plan.size, plan.name, "run", len(done), progress)
    tables = CsvTables(folder, range(plan.size), done) if todo else None
    try:
        if todo:
            with engine_for(workers, scheduler) as engine, storing_for(folder, engine, tables) as storing:
                for output in engine.map(plan.runs(skip=done), execute_with_csv):
                    storing.put(output)
                    failed += output.failed
                    bar.update()
                    bar.set_postfix(failed=failed, refresh=False)
    except BaseException as exc:
        if tables is not None:
            tables.abort()
        if not isinstance(exc, KeyboardInterrupt):
            raise
        bar.close()
        stored = len(folder.finished())
        print(
            f"kreislauf: interrupted with {stored} of {plan.size} runs stored in {folder.path}; "
            "run the same command again to finish the rest",
            file=sys.stderr,
        )
        raise
    bar.close()
    if tables is not None:
        tables.finish()
    else:
        folder.write_csv()


def storing_for(folder: ResultsFolder, engine: Engine, tables: CsvTables | None = None) -> Storing:
    """What stores an engine's runs: this thread beside models run here or on a local pool, a thread of its own beside a cluster.

    Models running in this process (one worker) and a storing thread share
    the interpreter's lock: the thread takes it back after each call that
    waits for the disk, and every hand-over slows the model beside it. On two
    cores with a local disk that cost more (about 8 ms of CPU and 4 ms of
    time per run of the B.I.G.) than writing and syncing a run's files in
    turn (about 3 ms). A local pool forks its workers (again whenever one is
    replaced), and a fork should not copy a running thread; its workers run
    the models, so this process has the time to store the runs itself. On a
    Dask cluster this process mostly waits for results, and a thread of its
    own overlaps the writing with that waiting.

    Parameters
    ----------
    folder : ResultsFolder
        Where the runs go.
    engine : Engine
        What runs them.
    tables : CsvTables, optional
        Handed each run once it is stored (:meth:`CsvTables.add`).

    Returns
    -------
    Storing
    """
    threaded = not isinstance(engine, (SerialEngine, PoolEngine))
    return Storing(folder, threaded=threaded, then=tables.add if tables else None)


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
        With ``summary`` (mean and 95% interval per measure and scenario:
        the same firms' measures first, then the populations', with ``kind``
        and ``firms`` columns), ``differences`` (paired differences with
        intervals and the paired Cohen's d, in the same order),
        ``same_firm_outcomes`` (per run, over :attr:`Experiment.common_firms`),
        ``focal_summary`` and ``focal_differences`` (each B.I.G. producer).
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
