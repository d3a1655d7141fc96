"""A results folder that survives interruptions: every finished run is on disk at once.

Layout of an experiment's folder::

    manifest.json            the plan: kind, fingerprint, package version, master seed,
                             replicate seeds, points and their parameters, sampler design
    scenarios/<label>.toml   each compared scenario (or a sweep's base), fully resolved
    sweep.toml               a sweep's definition as written
    measures/run-000012.parquet       per-step measures of run 12 (one tidy dataset:
    cooperations/run-000012.parquet   ``pandas.read_parquet("measures")`` reads them all)
    focal_firms/run-000012.parquet
    network_nodes/, network_edges/   the network as it evolved, for replicate 0 of each compared scenario
    failures/run-000031.json  a run that raised: its error, parameters and seed
    runs.csv, measures.csv, cooperations.csv, focal_firms.csv   the same rows as CSV, in run order, put in
                             place when every command ends, or made again by `kreislauf export`

A run's files are made where it ran (:func:`run_files`), so the process that
stores them only writes bytes. The CSV tables are each run's rows formatted
from the table its Parquet file holds and joined in run order: by the worker
that ran it, written into the tables as runs arrive (:class:`CsvTables`), or
from the Parquet files (:meth:`ResultsFolder.write_csv`, for runs of an
earlier command and for `kreislauf export`). They are the same bytes whichever
engine ran the runs, and no hidden copy of the rows is kept. Each
file is written under a temporary name of its own (process and counter) and
renamed into place, and a run's measures file is written last: a run is
finished exactly when its measures file exists. Re-running the same plan into
the same folder skips the finished runs, tries the failed ones again, and
redoes (saying so) any run whose stored files cannot be read; a folder made
by a different plan (another fingerprint) or another version of kreislauf is
refused, so runs of two experiments never mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

import sim
from analysis.plan import RUN_KEYS, Plan, RunSpec
from analysis.runs import (
    arrow_table,
    csv_bytes,
    parquet_bytes,
    replace_durably,
    table_csv_bytes,
    temporary_name,
    write_bytes,
    write_text,
)

__all__ = [
    "TABLES",
    "CsvTables",
    "FolderError",
    "ResultsFolder",
    "RunOutput",
    "StorageError",
    "Storing",
    "check_results",
    "clean_temporary_files",
    "inside",
    "parquet_problem",
    "run_files",
    "run_name",
]

#: The per-run tables of an experiment, in the order a run writes them (measures last).
TABLES = ("cooperations", "focal_firms", "measures")

#: Per-run tables kept only as Parquet (the network, for the first replicate of a comparison).
NETWORK_TABLES = ("network_nodes", "network_edges")

#: Where earlier versions kept each run's CSV rows; removed when the CSV tables are written.
CSV_ROWS = ".csv_rows"

#: Runs read at once when a table is summarised, which bounds the memory it takes.
RUNS_PER_BATCH = 25

_RUN_FILE = re.compile(r"run-(\d+)\.(parquet|json)$")


#: Keys every manifest has.
MANIFEST_KEYS = (
    "kind",
    "name",
    "fingerprint",
    "kreislauf",
    "master_seed",
    "replicates",
    "seeds",
    "runs",
    "record",
    "design",
    "points",
)


class FolderError(Exception):
    """A results folder that cannot hold this plan (another plan's, or not writable)."""


class StorageError(FolderError):
    """A results folder that could be written and no longer can (a full disk, lost permissions) during a command.

    Not the input's fault: the command line ends with exit code 1, and the same command resumes.
    """


@dataclass
class RunOutput:
    """One finished run's files, ready to be written, or the error it raised.

    Attributes
    ----------
    spec : RunSpec
        The run.
    files : dict of str to bytes
        Each file's path in the results folder and its content, in the order
        they are written (the measures file last); see :func:`run_files`.
    error : str, optional
        The exception and its traceback, when the run raised.
    seconds : float
        Time the run took where it ran.
    csv : dict of str to bytes
        Each table of :data:`TABLES` as CSV rows under their header, made
        where the run ran from the table its Parquet file holds (see
        :class:`CsvTables`); empty if the run did not make them.
    """

    spec: RunSpec
    files: dict[str, bytes] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    csv: dict[str, bytes] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Whether the run raised instead of finishing."""
        return self.error is not None


def run_files(
    run: int, tables: Mapping[str, pd.DataFrame | None], csv: dict[str, bytes] | None = None
) -> dict[str, bytes]:
    """The files of one run in a results folder, by path, in the order they are written.

    Parquet files of each table in :data:`TABLES` and, when given, of the
    network tables. The measures file comes last, because its presence marks
    the run as finished. Made where the run ran (a pool or cluster worker),
    so that formatting runs in parallel and the process that stores runs only
    writes bytes. Given a ``csv`` dict, each table of :data:`TABLES` is put
    into it as CSV rows under their header, formatted from the Arrow table
    its Parquet file is made of: the bytes :meth:`ResultsFolder.write_csv`
    makes of that file.
    """
    name = run_name(run)
    files: dict[str, bytes] = {}
    for table in NETWORK_TABLES:
        if tables.get(table) is not None:
            files[f"{table}/{name}.parquet"] = parquet_bytes(_required(tables, table))
    for table in TABLES:
        arrow = arrow_table(_required(tables, table))
        files[f"{table}/{name}.parquet"] = parquet_bytes(arrow)
        if csv is not None:
            csv[table] = table_csv_bytes(arrow)
    return files


def run_name(run: int) -> str:
    """The name of a run's files: ``run-000012``."""
    return f"run-{run:06d}"


def _required(tables: Mapping[str, pd.DataFrame | None], name: str) -> pd.DataFrame:
    frame = tables.get(name)
    if frame is None:
        raise ValueError(f"a run's {name} table is missing")
    return frame


class ResultsFolder:
    """The results folder of one plan: what it holds, and storing one run at a time.

    Open an existing folder with ``ResultsFolder(path)`` (it reads the
    manifest); make or resume one for a plan with :meth:`for_plan`.

    Parameters
    ----------
    path : Path
        A folder with a manifest.

    Raises
    ------
    FolderError
        When the folder has no readable manifest.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest = self.read_manifest(self.path)

    @classmethod
    def for_plan(cls, path: str | Path, plan: Plan) -> ResultsFolder:
        """The folder of ``plan`` at ``path``: created, or resumed if it holds the same plan.

        Raises
        ------
        FolderError
            When the folder holds another plan's results, was made by another
            version of kreislauf, or cannot be written.
        """
        path = Path(path)
        manifest = path / "manifest.json"
        if path.exists() and not path.is_dir():
            raise FolderError(f"{path}: results folder is a file")
        if manifest.exists():
            _check_same_plan(path, plan)
            folder = cls(path)
            clean_temporary_files(path)
            damaged = folder.heal()
            if damaged:
                run, problem = damaged[0]
                more = f" and {len(damaged) - 1} other run(s)" if len(damaged) > 1 else ""
                print(f"kreislauf: note: run {run}{more} stored damaged files ({problem}); run again", file=sys.stderr)
            return folder
        else:
            if path.is_dir() and any(path.iterdir()):
                raise FolderError(
                    f"{path} already holds other files and no kreislauf manifest: "
                    "choose a new or empty results folder (--out), so nothing in it is overwritten"
                )
            try:
                for sub in (*TABLES, "failures"):
                    (path / sub).mkdir(parents=True, exist_ok=True)
                _write_manifest(path, plan)
            except OSError as exc:
                raise FolderError(f"{path}: cannot write results ({exc.strerror or exc})") from None
        return cls(path)

    @staticmethod
    def read_manifest(path: Path) -> dict[str, Any]:
        """The manifest of a results folder."""
        manifest = Path(path) / "manifest.json"
        try:
            body = json.loads(manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FolderError(f"{path}: not a results folder of `kreislauf compare` or `kreislauf sweep`") from None
        except (OSError, ValueError) as exc:
            raise FolderError(f"{manifest}: cannot read the manifest ({exc})") from None
        missing = [k for k in MANIFEST_KEYS if not isinstance(body, dict) or k not in body]
        if missing:
            raise FolderError(f"{manifest}: not a kreislauf manifest (missing {missing}); was it edited by hand?")
        return dict(body)

    @property
    def kind(self) -> str:
        """``"compare"`` or ``"sweep"``."""
        return str(self.manifest["kind"])

    @property
    def size(self) -> int:
        """Runs in the plan."""
        return int(self.manifest["runs"])

    @property
    def parameter_names(self) -> list[str]:
        """The swept parameters (none in a comparison)."""
        points = self.manifest["points"]
        return list(points[0]["parameters"]) if points else []

    @property
    def keys(self) -> list[str]:
        """Columns that identify a run in every table: run keys, then swept parameters."""
        return [*RUN_KEYS, *self.parameter_names]

    # -- runs ---------------------------------------------------------------

    def finished(self) -> set[int]:
        """Runs whose results are stored."""
        return set(_run_ids(self.path / "measures", ".parquet"))

    def failed(self) -> set[int]:
        """Runs that raised and have not finished since."""
        return set(_run_ids(self.path / "failures", ".json")) - self.finished()

    def store(self, output: RunOutput) -> None:
        """Write one run's output (or its failure) into the folder, atomically.

        Raises
        ------
        StorageError
            When the folder cannot be written (a full disk, lost permissions);
            runs stored before stay stored.
        """
        try:
            self._store(output)
        except OSError as exc:
            raise StorageError(
                f"{self.path}: cannot store run {output.spec.run} ({exc.strerror or exc}); "
                "the runs stored before are kept: free space or fix the folder, then run the same command again"
            ) from None

    def _store(self, output: RunOutput) -> None:
        name = run_name(output.spec.run)
        if output.failed:
            spec = output.spec
            failure = {**spec.keys, "error": output.error, "seconds": round(output.seconds, 3)}
            write_text(self.path / "failures" / f"{name}.json", json.dumps(failure, indent=1, default=_json_default))
            return
        # The measures file last, whatever order the files came in: its presence marks the run as finished.
        for relative, data in sorted(output.files.items(), key=lambda item: item[0].startswith("measures/")):
            target = inside(self.path, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(target, data)
        (self.path / "failures" / f"{name}.json").unlink(missing_ok=True)

    def heal(self) -> list[tuple[int, str]]:
        """Make every finished run whose stored files cannot be read unfinished again, so it is redone.

        Checks each Parquet file of each finished run (:func:`parquet_problem`:
        its size and the marks at its start and end, without reading it
        whole) and removes the damaged run's measures file.

        Returns
        -------
        list of (int, str)
            Each damaged run and what is wrong with its first damaged file.
        """
        damaged = list(_damaged(self))
        for run, _ in damaged:
            self._run_file("measures", run).unlink(missing_ok=True)
        return damaged

    def table(self, name: str) -> pd.DataFrame:
        """One per-run table of every finished run, in run order."""
        batches = list(self.batches(name))
        return pd.concat(batches, ignore_index=True) if batches else pd.DataFrame()

    def batches(self, name: str, runs: int | None = None) -> Iterator[pd.DataFrame]:
        """One per-run table of the finished runs, ``runs`` runs at a time (:data:`RUNS_PER_BATCH`), in run order."""
        runs = runs or RUNS_PER_BATCH
        finished = sorted(self.finished())
        for start in range(0, len(finished), runs):
            paths = [str(self._run_file(name, run)) for run in finished[start : start + runs]]
            try:
                table = pq.read_table(paths, partitioning=None)  # no columns from `key=value` folder names
            except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
                raise self._unreadable(name, finished[start : start + runs], exc) from None
            yield table.to_pandas()

    def _unreadable(self, table: str, runs: list[int], exc: Exception) -> FolderError:
        """The error for runs' files that cannot be read, naming the damaged one."""
        for run in runs:
            path = self._run_file(table, run)
            problem = parquet_problem(path)
            if problem is None:
                try:
                    pq.read_metadata(path)
                except (OSError, ValueError) as inner:
                    problem = str(inner).splitlines()[0] if str(inner) else type(inner).__name__
            if problem:
                return FolderError(
                    f"{path}: cannot be read ({problem}); run the same command again to redo the run, "
                    "or delete the file"
                )
        return FolderError(f"{self.path / table}: cannot be read ({str(exc).splitlines()[0] if str(exc) else exc})")

    def _run_file(self, table: str, run: int, suffix: str = ".parquet") -> Path:
        return self.path / table / f"{run_name(run)}{suffix}"

    def runs_table(self) -> pd.DataFrame:
        """One row per run of the plan: keys, parameters and status (finished, failed or missing)."""
        finished, failed = self.finished(), self.failed()
        seeds, replicates = self.manifest["seeds"], int(self.manifest["replicates"])
        rows = []
        for p in self.manifest["points"]:
            for k, seed in enumerate(seeds):
                run = Plan.run_id(p["point"], k, replicates)
                status = "finished" if run in finished else "failed" if run in failed else "missing"
                error = self._error(run) if status == "failed" else ""
                keys = {"run": run, "point": p["point"], "scenario": p["scenario"], "replicate": k, "seed": seed}
                rows.append({**keys, **p["parameters"], "status": status, "error": error})
        return pd.DataFrame(rows)

    def _error(self, run: int) -> str:
        """The last line of a failed run's error."""
        path = self._run_file("failures", run, ".json")
        try:
            failure = json.loads(path.read_text(encoding="utf-8"))
            return str(failure["error"]).strip().splitlines()[-1]
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return f"its failure record {path.name} cannot be read; the same command runs it again"

    def write_csv(self) -> list[Path]:
        """Write ``runs.csv`` and each table as one CSV: the finished runs' rows, in run order.

        Each run's rows are formatted from its Parquet file, so the tables are
        the same bytes whichever engine made the runs. Each table is written
        under a temporary name and checked (every byte on disk) before it
        replaces the old one; a table that cannot be made leaves the old one
        and no temporary file.
        """
        written = [write_bytes(self.path / "runs.csv", csv_bytes(self.runs_table()))]
        finished = sorted(self.finished())
        for name in TABLES:
            target = self.path / f"{name}.csv"
            tmp = temporary_name(target)
            try:
                size = self._join_rows(name, finished, tmp)
                if tmp.stat().st_size != size:
                    raise OSError(f"{target}: {tmp.stat().st_size} bytes on disk, {size} written")
                replace_durably(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            written.append(target)
        shutil.rmtree(self.path / CSV_ROWS, ignore_errors=True)  # the rows an earlier version kept
        return written

    def _join_rows(self, table: str, runs: list[int], target: Path) -> int:
        """Write the runs' rows of a CSV table into ``target``, under the first run's header; return the bytes."""
        header = b""
        size = 0
        with target.open("wb") as handle:
            for start in range(0, len(runs), RUNS_PER_BATCH):
                for run, rows in self._csv_batch(table, runs[start : start + RUNS_PER_BATCH]):
                    if not header:
                        header = rows[: rows.index(b"\n") + 1]
                        size += handle.write(header)
                    elif not rows.startswith(header):
                        raise FolderError(f"{self.path}: run {run}'s {table} has other columns than the runs before it")
                    size += handle.write(rows[len(header) :])
            handle.flush()
            os.fsync(handle.fileno())
        return size

    def _csv_batch(self, table: str, runs: list[int]) -> list[tuple[int, bytes]]:
        """Runs' rows of a CSV table, each part with its header: formatted together where that gives the same bytes.

        Formatting is per value, so a batch of runs formatted as one table
        gives the bytes of each run formatted alone, provided each column has
        the same type in every run alone: the same schema, and no missing
        value in a whole-number or true/false column unless the schema makes
        it a nullable one (``Int64``, as the cooperation log's ``ended``;
        otherwise a run with a missing value would read as decimals on its
        own). Otherwise each run is formatted alone.
        """
        import pyarrow as pa

        try:
            parts = [pq.read_table(self._run_file(table, run), partitioning=None) for run in runs]
            joined = pa.concat_tables(parts)
        except (OSError, ValueError, pa.ArrowException):
            return [(run, self._csv_rows(table, run)) for run in runs]  # each alone: names a damaged file
        nullable = _nullable_columns(joined.schema)
        exact = all(
            column.null_count == 0
            or name in nullable
            or not (pa.types.is_integer(column.type) or pa.types.is_boolean(column.type))
            for name, column in zip(joined.column_names, joined.columns, strict=True)
        )
        if not exact or not all(part.schema.equals(parts[0].schema, check_metadata=True) for part in parts):
            return [(run, self._csv_rows(table, run)) for run in runs]
        return [(runs[0], table_csv_bytes(joined))] if runs else []

    def _csv_rows(self, table: str, run: int) -> bytes:
        """A run's rows of a CSV table, with the header, formatted from its Parquet file."""
        path = self._run_file(table, run)
        try:
            arrow = pq.read_table(path, partitioning=None)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise self._unreadable(table, [run], exc) from None
        return table_csv_bytes(arrow)


#: pandas types that keep missing values in whole-number and true/false columns.
_NULLABLE = re.compile(r"^(U?Int(8|16|32|64)|boolean)$")


def _nullable_columns(schema: Any) -> set[str]:
    """Columns a table's pandas metadata reads back as nullable whole numbers or true/false (``Int64``, ``boolean``)."""
    try:
        columns = json.loads((schema.metadata or {})[b"pandas"])["columns"]
        return {str(c["name"]) for c in columns if _NULLABLE.match(str(c.get("numpy_type", "")))}
    except (KeyError, ValueError, TypeError):
        return set()


class Storing:
    """Stores runs into a results folder from a thread of its own, in the order they are handed over.

    Writing a run's files and flushing each to disk (:meth:`ResultsFolder.store`)
    mostly waits for the disk; in this thread it overlaps what the caller
    does meanwhile, such as waiting for a cluster's results (beside models
    running in the same process it would slow them more than it saves: see
    :func:`analysis.experiments.storing_for`). At most ``queued`` runs
    wait to be written, so memory stays flat. Leaving the ``with`` block, even
    on an exception or an interrupt, first stores every run handed over, so
    nothing finished is lost. A run that cannot be stored (a full disk) stops
    the storing, and its :class:`StorageError` is raised in the caller at the
    next :meth:`put` or at the end; the runs after it are not written.

    Parameters
    ----------
    folder : ResultsFolder
        Where the runs go.
    queued : int
        Runs handed over and not yet written, at most.
    threaded : bool
        Store from a thread of its own (default); if False, :meth:`put`
        stores each run at once, in the caller's thread.
    then : callable, optional
        Called with each run once it is stored, in the same thread
        (:meth:`CsvTables.add`).

    Examples
    --------
    ``with Storing(folder) as storing: for output in engine.map(specs): storing.put(output)``
    """

    def __init__(
        self,
        folder: ResultsFolder,
        queued: int = 4,
        threaded: bool = True,
        then: Callable[[RunOutput], None] | None = None,
    ) -> None:
        self.folder, self._then = folder, then
        self._queue: queue.Queue[RunOutput | None] = queue.Queue(maxsize=queued)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._work, name="kreislauf-store", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while (output := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._store(output)
                except BaseException as exc:  # handed to the caller, which decides
                    self._error = exc

    def _store(self, output: RunOutput) -> None:
        self.folder.store(output)
        if self._then is not None:
            self._then(output)

    def put(self, output: RunOutput) -> None:
        """Hand a run over to be stored; raise the error of a run before it that could not be stored."""
        self._raise()
        if self._thread is None:
            self._store(output)
        else:
            self._queue.put(output)

    def close(self) -> None:
        """Store every run handed over, then end the thread; raise the error of a run that could not be stored."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def __enter__(self) -> Storing:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            self.close()
            return
        with contextlib.suppress(Exception):  # the exception under way wins; the runs handed over are stored
            self.close()


class CsvTables:
    """A folder's CSV tables, written while its runs arrive: each run's rows, made where it ran, in run order.

    Runs finish out of order on a pool or cluster; the rows of a run that
    arrives early wait (a few runs at most) until the runs before it are in.
    Runs stored by an earlier command are formatted from their Parquet
    files, as :meth:`ResultsFolder.write_csv` does. Each table is written
    under a temporary name and, at :meth:`finish`, checked and renamed into
    place; :meth:`abort` (an interrupted command) removes them and leaves the
    old tables. Whatever does not fit (a run without CSV rows, rows under
    another header, a table that cannot be written) makes :meth:`finish`
    fall back on :meth:`ResultsFolder.write_csv`, which says what is wrong.
    The bytes are those of :meth:`ResultsFolder.write_csv` either way.

    Parameters
    ----------
    folder : ResultsFolder
        The folder.
    runs : iterable of int
        Every run of the plan.
    earlier : set of int
        Runs stored before this command.
    """

    def __init__(self, folder: ResultsFolder, runs: Iterable[int], earlier: set[int]) -> None:
        self.folder, self._earlier = folder, set(earlier)
        self._order = iter(sorted(runs))
        self._next: int | None = next(self._order, None)
        self._waiting: dict[int, dict[str, bytes] | None] = {}  # None: a run that failed, with no rows
        self._targets = {t: folder.path / f"{t}.csv" for t in TABLES}
        self._tmp = {t: temporary_name(path) for t, path in self._targets.items()}
        self._headers = dict.fromkeys(TABLES, b"")
        self._sizes = dict.fromkeys(TABLES, 0)
        self._handles: dict[str, Any] = {}
        self.exact = True  # False: the tables are made again from the Parquet files at the end
        try:
            for table, tmp in self._tmp.items():
                self._handles[table] = open(tmp, "wb")  # noqa: SIM115 - closed in finish or abort
        except OSError:
            self.exact = False

    def add(self, output: RunOutput) -> None:
        """Take a stored run's rows (a failed run has none) and write every run's rows that are now in order."""
        if not self.exact:
            return
        if output.failed:
            self._waiting[output.spec.run] = None
        elif set(output.csv) >= set(TABLES):
            self._waiting[output.spec.run] = output.csv
        else:
            self.exact = False
            return
        self._advance(until_end=False)

    def _advance(self, until_end: bool) -> None:
        """Write the runs in order while their rows are here; at the end, skip the runs that never came."""
        try:
            while self.exact and self._next is not None:
                run = self._next
                if run in self._earlier:
                    self._write(run, {t: self.folder._csv_rows(t, run) for t in TABLES})
                elif run in self._waiting:
                    rows = self._waiting.pop(run)
                    if rows is not None:
                        self._write(run, rows)
                elif not until_end:
                    return
                self._next = next(self._order, None)
        except (OSError, FolderError):  # write_csv says what is wrong, after every run is stored
            self.exact = False

    def _write(self, run: int, rows: Mapping[str, bytes]) -> None:
        for table in TABLES:
            data, header = rows[table], self._headers[table]
            if not header:
                header = self._headers[table] = data[: data.index(b"\n") + 1]
                self._sizes[table] += self._handles[table].write(data)
            elif data.startswith(header):
                self._sizes[table] += self._handles[table].write(data[len(header) :])
            else:
                self.exact = False
                return

    def finish(self) -> list[Path]:
        """Write the runs left, then put every table and ``runs.csv`` in place; return the files written."""
        self._advance(until_end=True)
        if self.exact:
            try:
                for table, handle in self._handles.items():
                    handle.flush()
                    os.fsync(handle.fileno())
                    handle.close()
                    if self._tmp[table].stat().st_size != self._sizes[table]:
                        raise OSError(f"{self._targets[table]}: not every byte reached the disk")
            except OSError:
                self.exact = False
        if not self.exact:
            self.abort()
            return self.folder.write_csv()
        written = [write_bytes(self.folder.path / "runs.csv", csv_bytes(self.folder.runs_table()))]
        for table in TABLES:
            written.append(replace_durably(self._tmp[table], self._targets[table]))
        shutil.rmtree(self.folder.path / CSV_ROWS, ignore_errors=True)  # the rows an earlier version kept
        return written

    def abort(self) -> None:
        """Remove the unfinished tables, leaving the old ones as they were."""
        for table, handle in self._handles.items():
            handle.close()
            self._tmp[table].unlink(missing_ok=True)
        self._handles = {}
        self._waiting.clear()


def inside(folder: Path, relative: str) -> Path:
    """``folder / relative``, refused unless it stays inside ``folder`` (no ``..``, no absolute path)."""
    target = folder / relative
    if Path(relative).is_absolute() or ".." in Path(relative).parts or not relative.strip():
        raise FolderError(f"{folder}: will not write {relative!r}, which lies outside the results folder")
    return target


def _write_manifest(path: Path, plan: Plan) -> None:
    for name, text in plan.files.items():
        target = inside(path, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text(target, text)
    body = {
        "kind": plan.kind,
        "name": plan.name,
        "fingerprint": plan.fingerprint(),
        "kreislauf": sim.__version__,
        "master_seed": plan.seed,
        "replicates": plan.replicates,
        "seeds": plan.seeds(),
        "runs": plan.size,
        "record": {
            "measures": list(plan.record.measures) if plan.record.measures is not None else None,
            "every": plan.record.every,
            "last_only": plan.record.last_only,
            "window": plan.record.window,
        },
        "design": dict(plan.design),
        "points": [
            {"point": i, "scenario": label, "parameters": dict(parameters), "sample": list(sample)}
            for i, (label, parameters, sample) in enumerate(plan.point_rows())
        ],
    }
    write_text(path / "manifest.json", json.dumps(body, indent=1, default=_json_default) + "\n")


def _check_same_plan(path: Path, plan: Plan) -> None:
    manifest = path / "manifest.json"
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
        fingerprint, version = old["fingerprint"], old["kreislauf"]
    except (OSError, ValueError, KeyError, TypeError):
        raise FolderError(f"{manifest}: not a kreislauf manifest; choose another results folder") from None
    if fingerprint != plan.fingerprint():
        raise FolderError(
            f"{path} holds the results of a different {old.get('kind', 'experiment')} "
            f"({old.get('name', '?')!r}, fingerprint {fingerprint[:12]}; this one is {plan.fingerprint()[:12]}): "
            "choose another results folder (--out) or remove this one"
        )
    if version != sim.__version__:
        raise FolderError(
            f"{path} was made by kreislauf {version}, this is {sim.__version__}: runs of two versions "
            "must not mix; choose another results folder (--out)"
        )


def _run_ids(folder: Path, suffix: str) -> Iterator[int]:
    if not folder.is_dir():
        return
    for entry in os.scandir(folder):
        match = _RUN_FILE.match(entry.name)
        if match and entry.name.endswith(suffix):
            yield int(match.group(1))


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


#: The mark at the start and end of every Parquet file.
_PARQUET_MARK = b"PAR1"


def parquet_problem(path: Path, required: bool = False) -> str | None:
    """What is wrong with a stored Parquet file, judged from its size and the marks at its ends; None if nothing.

    Reads 12 bytes, not the file: a truncated, emptied or overwritten file is
    found at once, even in a folder of a million runs.

    Parameters
    ----------
    path : Path
        The file.
    required : bool
        Whether a missing file is a problem (a run's network files are optional).
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < 12:
                return f"{size} bytes, too short for a Parquet file"
            head = handle.read(4)
            handle.seek(size - 8)
            tail = handle.read(8)
    except FileNotFoundError:
        return "missing" if required else None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    footer = int.from_bytes(tail[:4], "little")
    if head != _PARQUET_MARK or tail[4:] != _PARQUET_MARK or footer > size - 12:
        return "not a whole Parquet file (truncated or overwritten)"
    return None


#: A temporary file of this package: ``.<name>.<pid>.<counter>.tmp``.
_TEMPORARY = re.compile(r"^\..+?\.(\d+)(?:\.\d+)?\.tmp$")


def clean_temporary_files(folder: Path) -> list[Path]:
    """Remove temporary files left in a results folder by processes that no longer run (killed mid-write).

    Only files named as :func:`analysis.runs.temporary_name` names them, in
    the folder and its table folders, and only those of a process id that is
    not running on this machine.
    """
    removed = []
    for sub in (folder, *(folder / t for t in (*TABLES, *NETWORK_TABLES, "failures", "scenarios"))):
        if not sub.is_dir():
            continue
        for entry in os.scandir(sub):
            match = _TEMPORARY.match(entry.name)
            if match and int(match.group(1)) > 0 and not _running(int(match.group(1))):
                Path(entry.path).unlink(missing_ok=True)
                removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a process id: leave its files alone
    return True


def check_results(folder: str | Path) -> None:
    """Check that a results folder can be read whole, before a report or an export reads it.

    Raises
    ------
    FolderError
        Naming the first file that is missing or damaged: a run's ``run.json``
        or tables, or an experiment's manifest or runs' tables.
    """
    folder = Path(folder)
    if (folder / "run.json").exists():
        info_path = folder / "run.json"
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FolderError(f"{info_path}: cannot be read ({exc}); run the scenario again") from None
        if not isinstance(info, dict) or not isinstance(info.get("scenario"), str):
            raise FolderError(f"{info_path}: not the run.json of a kreislauf run (no scenario name)")
        for name in (*TABLES, *NETWORK_TABLES):
            problem = parquet_problem(folder / f"{name}.parquet", required=True)
            if problem:
                raise FolderError(f"{folder / (name + '.parquet')}: {problem}; run the scenario again")
        return
    if not (folder / "manifest.json").exists():
        return  # not a results folder: the command says so in its own words
    results = ResultsFolder(folder)
    for run, problem in _damaged(results):
        raise FolderError(f"{folder / problem}; run {run} is damaged: run the same command again to redo it")


def _damaged(folder: ResultsFolder) -> Iterator[tuple[int, str]]:
    for run in sorted(folder.finished()):
        for table in (*NETWORK_TABLES, *TABLES):
            path = folder._run_file(table, run)
            problem = parquet_problem(path, required=table in TABLES)
            if problem:
                yield run, f"{path.relative_to(folder.path)}: {problem}"
