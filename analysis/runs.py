"""Run one scenario and write everything needed to read and reproduce it.

A results folder holds:

- ``measures.parquet`` / ``measures.csv``: one row per step (0 is the start),
  one column per measure (see :data:`sim.observe.measures.MEASURES`);
- ``cooperations.parquet`` / ``.csv``: the cooperation log, one row per
  cooperation that found a partner or ended, with phase durations, value,
  outcome and reason;
- ``focal_firms.parquet`` / ``.csv``: the six B.I.G. producers (or the
  scenario's focal firms) step by step;
- ``network.gexf`` and ``network.graphml``: the final network with firm and
  cooperation attributes, for Gephi;
- ``network_nodes.parquet`` and ``network_edges.parquet``: the network as it
  evolved, every few months (about 60 frames a run; see :class:`NetworkHistory`),
  for the report's network figure;
- ``scenario.toml``: the fully resolved scenario with the run's seed and
  horizon, so ``kreislauf run <folder>/scenario.toml`` repeats the run;
- ``run.json``: seed, horizon, package and library versions.

Every file is written to a temporary name and renamed into place, so a
folder never holds half a file. Nothing records the time of day: the same
scenario and seed give byte-identical folders.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import sim
from sim import CooperationModel, Scenario, load_scenario
from sim.observe.network import edge_frame, node_frame, write_network

__all__ = [
    "NetworkHistory",
    "RunResult",
    "arrow_table",
    "focal_frame",
    "plain_arrow_table",
    "planned_scenario",
    "run_scenario",
    "scenario_file",
    "simulate",
    "table_csv_bytes",
    "write_run",
]

#: Frames of the network kept per run, at most (plus the last month).
NETWORK_FRAMES = 60


class NetworkHistory:
    """The network every ``every`` months: the firms and the live cooperations.

    Parameters
    ----------
    every : int
        Months between frames; month 0 and the last month are always kept.
    """

    def __init__(self, every: int) -> None:
        self.every = max(1, every)
        self._nodes: list[dict[str, Any]] = []  # each frame column by column, made into one table when asked for
        self._edges: list[dict[str, Any]] = []

    @classmethod
    def for_horizon(cls, steps: int, frames: int = NETWORK_FRAMES) -> NetworkHistory:
        """A history of about ``frames`` frames over ``steps`` months."""
        return cls(-(-steps // frames))

    def record(self, model: CooperationModel, last: bool = False) -> None:
        """Keep a frame of the network now if this month is due (or ``last``)."""
        if model.steps % self.every == 0 or last:
            self._nodes.append(node_frame(model))
            self._edges.append(edge_frame(model))

    @property
    def nodes(self) -> pd.DataFrame:
        """Firms per frame: step, firm, name, role, member, niche, capital, digital, trust_received."""
        if not self._nodes:
            return pd.DataFrame()
        if any(not len(frame["firm"]) for frame in self._nodes):  # a month without firms: each frame typed alone
            return pd.concat([pd.DataFrame(frame) for frame in self._nodes], ignore_index=True)
        return pd.DataFrame(_joined(self._nodes))

    @property
    def edges(self) -> pd.DataFrame:
        """Live cooperations per frame: step, cooperation, a, b, phase, trust."""
        return pd.DataFrame(_joined(self._edges)).astype(EDGE_TYPES) if self._edges else pd.DataFrame()


def _joined(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """Frames given column by column, one after the other: arrays joined as arrays, lists as lists."""
    return {
        column: np.concatenate([f[column] for f in frames])
        if isinstance(values, np.ndarray)
        else list(itertools.chain.from_iterable(f[column] for f in frames))
        for column, values in frames[0].items()
    }


#: Types of the focal-firm table, so a scenario without focal firms writes an empty table of the same types.
FOCAL_TYPES = {"step": "int64", "firm": "string", "alive": "bool", "cooperations": "int64"}

#: Types of the network's edge table, so a month without cooperations has the same types as the others.
EDGE_TYPES = {
    "step": "int64",
    "cooperation": "int64",
    "a": "int64",
    "b": "int64",
    "phase": "string",
    "trust": "float64",
}


def focal_frame(model: CooperationModel) -> pd.DataFrame:
    """The focal firms month by month (the DataCollector table ``focal_firms``), typed even when empty."""
    focal = model.datacollector.get_table_dataframe("focal_firms")
    if len(focal):
        return focal
    return focal.astype({c: FOCAL_TYPES.get(c, "float64") for c in focal.columns})


def simulate(
    scenario: Scenario,
    seed: int,
    history: NetworkHistory | None = None,
    on_step: Callable[[int, int], None] | None = None,
    record: Sequence[str] | None = None,
) -> CooperationModel:
    """Run a model of ``scenario`` with ``seed`` to its horizon, recording the network into ``history``.

    ``record`` names the measures to compute (all if None; see ``CooperationModel``).
    """
    model = CooperationModel(scenario, seed=seed, record=record)
    if history is not None:
        history.record(model)
    while model.running:
        model.step()
        if history is not None:
            history.record(model, last=not model.running)
        if on_step is not None:
            on_step(model.steps, scenario.steps)
    return model


@dataclass
class RunResult:
    """The outcome of one run: its scenario, seed and tables, and the model at the end."""

    scenario: Scenario
    seed: int
    measures: pd.DataFrame
    cooperations: pd.DataFrame
    focal: pd.DataFrame
    model: CooperationModel
    history: NetworkHistory | None = None


def run_scenario(
    scenario: str | Path | Scenario,
    seed: int | None = None,
    steps: int | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run a scenario to its horizon.

    Parameters
    ----------
    scenario : str, Path or Scenario
        Built-in name, TOML path or loaded scenario.
    seed : int, optional
        Seed; the scenario's own if not given.
    steps : int, optional
        Horizon in months; the scenario's own if not given. Events scheduled
        after a shorter horizon are left out (the written scenario says so).
    on_step : callable, optional
        Called as ``on_step(step, total)`` after each month (progress display).

    Returns
    -------
    RunResult
    """
    loaded = planned_scenario(load_scenario(scenario), seed, steps)
    history = NetworkHistory.for_horizon(loaded.steps)
    model = simulate(loaded, loaded.seed, history, on_step)
    focal = focal_frame(model)
    return RunResult(loaded, model.seed, model.measures_frame(), model.cooperation_log(), focal, model, history)


def write_run(result: RunResult, folder: Path) -> list[Path]:
    """Write a run's results folder (see the module docstring); return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, frame in (
        ("measures", result.measures),
        ("cooperations", result.cooperations),
        ("focal_firms", result.focal),
    ):
        written += write_table(frame, folder / name)
    written += write_network(result.model, folder)
    if result.history is not None:
        for name, frame in (("network_nodes", result.history.nodes), ("network_edges", result.history.edges)):
            written.append(write_parquet(frame, folder / f"{name}.parquet"))
    written.append(write_text(folder / "scenario.toml", scenario_file(result.scenario, result.seed)))
    written.append(write_text(folder / "run.json", json.dumps(run_info(result), indent=2, sort_keys=True) + "\n"))
    return written


def write_table(frame: pd.DataFrame, stem: Path) -> list[Path]:
    """Write a table as Parquet and CSV next to each other, atomically."""
    parquet = write_parquet(frame, stem.with_suffix(".parquet"))
    csv = write_bytes(stem.with_suffix(".csv"), csv_bytes(frame))
    return [parquet, csv]


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table as Parquet, atomically."""
    return write_bytes(path, parquet_bytes(frame))


def write_text(path: Path, text: str) -> Path:
    """Write a text file atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> Path:
    """Write a file atomically: under a temporary name, flushed to disk, then renamed into place.

    A write that fails (a full disk) removes its temporary file and leaves the old file as it was.
    """
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as handle:  # written and flushed through one handle: few calls that wait for the disk
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return path
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def parquet_bytes(frame: pd.DataFrame | pa.Table) -> bytes:
    """A table as the bytes of a Parquet file (the same bytes wherever it is made with the same pyarrow).

    A pandas frame is converted as ``frame.to_parquet(index=False)`` converts
    it (see :func:`arrow_table`), so its file reads back with its pandas types.
    Only text columns are dictionary-encoded: their values repeat (scenario,
    firm, phase), while a column of measured floats rarely repeats a value,
    and encoding it both ways to find that out costs more than the rest of
    the writing (the file reads back the same either way; a run's files are smaller).
    """
    table = frame if isinstance(frame, pa.Table) else arrow_table(frame)
    text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer, use_dictionary=text)
    return buffer.getvalue().to_pybytes()


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """A frame as the Arrow table its Parquet file holds: no index, the pandas types kept in its metadata.

    ``arrow_table(frame).to_pandas()`` is the frame its Parquet file reads
    back as, which is what the CSV tables are formatted from.

    The table is :func:`plain_arrow_table`'s, made faster: a run's tables
    have the same columns and types in every run, so the schema, with the
    pandas metadata that :func:`pyarrow.Table.from_pandas` works out column
    by column, is made once per kind of frame and each column is handed to
    Arrow as it is (see :func:`_schema_of`).
    """
    schema = _schema_of(frame)
    return plain_arrow_table(frame) if schema is None else _columns_table(frame, schema)


def plain_arrow_table(frame: pd.DataFrame) -> pa.Table:
    """:func:`arrow_table` the plain way: ``pyarrow.Table.from_pandas`` without the index."""
    return pa.Table.from_pandas(frame, preserve_index=False)


#: The Arrow schema of each kind of frame :func:`arrow_table` has seen (by its columns and types), or None
#: for a kind that :func:`pyarrow.Table.from_pandas` must convert.
_SCHEMAS: dict[tuple[Any, ...], pa.Schema | None] = {}

#: Kinds of frame remembered at most (a run makes a handful; a long session no more than this).
_SCHEMAS_KEPT = 256


def _schema_of(frame: pd.DataFrame) -> pa.Schema | None:
    """The schema of ``frame``'s Arrow table, when it can be built column by column (:func:`_columns_table`).

    The schema and pandas metadata follow from the column names and types
    alone, except for columns of Python objects (whose pandas type depends
    on their values), frames with ``attrs`` (kept in the metadata) and
    names that are not unique strings: those take None. The first frame of
    a kind is converted both ways, and the kind is built column by column
    only if the two tables are equal, metadata included.
    """
    columns = frame.columns
    if frame.attrs or not columns.is_unique or not all(isinstance(c, str) for c in columns):
        return None
    types = tuple(frame.dtypes)
    if any(t == np.dtype(object) for t in types):
        return None
    kind = (tuple(columns), types, columns.dtype, columns.name)
    if kind not in _SCHEMAS:
        plain = plain_arrow_table(frame)
        if len(_SCHEMAS) >= _SCHEMAS_KEPT:
            _SCHEMAS.clear()
        _SCHEMAS[kind] = (
            plain.schema if _columns_table(frame, plain.schema).equals(plain, check_metadata=True) else None
        )
    return _SCHEMAS[kind]


def _columns_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame`` as an Arrow table of ``schema``, each column converted alone (NumPy's arrays without a copy).

    A missing float (NaN) becomes a null, as :func:`pyarrow.Table.from_pandas` makes it.
    """
    arrays = [
        pa.array(
            values.to_numpy() if isinstance(values.dtype, np.dtype) else values.array, field.type, from_pandas=True
        )
        for (_, values), field in zip(frame.items(), schema, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as CSV with its header (UTF-8, Unix line ends, no index), as every CSV kreislauf writes."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def table_csv_bytes(table: pa.Table) -> bytes:
    """``csv_bytes(table.to_pandas())``: the same bytes, made by Arrow's compute kernels instead of pandas.

    pandas formats cell by cell in Python (a float through NumPy's
    ``astype(str)``, then the standard library's csv writer); Arrow turns
    whole columns into text at once, several times faster. Each column takes
    the text pandas would give it (see :func:`_csv_cells`); a table with
    anything else (a type, a missing value or a character that pandas would
    treat otherwise, such as a comma that calls for quotes) is formatted by
    pandas, so the bytes are the same either way.

    Parameters
    ----------
    table : pyarrow.Table
        A table as its Parquet file holds it (see :func:`arrow_table`).

    Returns
    -------
    bytes
        The header and one line per row, each ending in a line feed.
    """
    cells = _csv_cells(table)
    if cells is None:
        return csv_bytes(table.to_pandas())
    rows = pc.binary_join_element_wise(*cells, _text(",")).to_pylist()
    return "\n".join([",".join(table.column_names), *rows, ""]).encode("utf-8")


#: Characters for which the csv writer puts a field in quotes: a table holding them is formatted by pandas.
_QUOTED = re.compile(r'[,"\r\n]')

#: How pandas reads back each Arrow type that :func:`_csv_cells` formats, when the table has no pandas metadata.
_NUMPY_TYPES = {
    pa.float64(): "float64",
    pa.int64(): "int64",
    pa.bool_(): "bool",
    pa.string(): "str",
    pa.large_string(): "str",
}


def _csv_cells(table: pa.Table) -> list[pa.Array] | None:
    """Each column of ``table`` as the text pandas' ``to_csv`` writes for it, or None where it might differ.

    A float as NumPy's ``str`` of it (see :func:`_float_cells`); a whole
    number as Python's ``str``; true/false as ``True``/``False``; a string as
    it is; a missing value (in a float, string or nullable ``Int64`` column)
    as the empty string. None for a table with no rows or a single column,
    columns read back under other names or as an index, another type, a
    missing value that pandas reads as a float (``int64``) or an object
    (``bool``), or a character that needs quotes.
    """
    if table.num_rows == 0 or table.num_columns < 2:
        return None
    types = _pandas_types(table)
    if types is None or any(_QUOTED.search(name) for name in table.column_names):
        return None
    kinds, columns = [], [column.combine_chunks() for column in table.columns]
    for name, values in zip(table.column_names, columns, strict=True):
        numpy_type = types.get(name, _NUMPY_TYPES.get(values.type))
        whole = values.null_count == 0
        if values.type == pa.float64() and numpy_type == "float64":
            kinds.append(_float_cells)
        elif values.type == pa.int64() and (numpy_type == "Int64" or (numpy_type == "int64" and whole)):
            kinds.append(_whole_cells)
        elif values.type == pa.bool_() and numpy_type == "bool" and whole:
            kinds.append(_bool_cells)
        elif values.type in (pa.string(), pa.large_string()) and numpy_type in ("str", "object", "string"):
            kinds.append(_string_cells)
            columns[len(kinds) - 1] = values.cast(pa.large_string())  # one type, to be joined with the others
        else:
            return None
    # Columns of a kind are formatted as one array, so a wide table of few rows costs a few calls, not a few per column.
    cells: list[pa.Array] = list(columns)
    for kind in set(kinds):
        chosen = [k for k, c in enumerate(kinds) if c is kind]
        text = kind(pa.concat_arrays([columns[k] for k in chosen]))
        if text is None:
            return None
        for n, k in enumerate(chosen):
            cells[k] = text.slice(n * table.num_rows, table.num_rows)
    return cells


def _whole_cells(values: pa.Array) -> pa.Array:
    """Whole numbers as Python's ``str`` writes them, missing ones (of a nullable column) empty."""
    return pc.fill_null(pc.cast(values, pa.large_string()), "")


def _bool_cells(values: pa.Array) -> pa.Array:
    """True/false as Python writes them: ``True``, ``False``."""
    return pc.if_else(values, _text("True"), _text("False"))


def _string_cells(values: pa.Array) -> pa.Array | None:
    """Strings as they are, missing ones empty; None if one needs quotes."""
    if pc.any(pc.match_substring_regex(values, _QUOTED.pattern)).as_py():
        return None
    return pc.fill_null(values.cast(pa.large_string()), "")


def _text(value: str) -> pa.Scalar:
    """A string scalar of the type every cell has (large strings)."""
    return pa.scalar(value, pa.large_string())


def _pandas_types(table: pa.Table) -> dict[str, str] | None:
    """Each column's pandas type by name, from the table's pandas metadata; None if pandas would rename or index any."""
    raw = (table.schema.metadata or {}).get(b"pandas")
    if raw is None:
        return {}
    try:
        meta = json.loads(raw)
        columns = meta["columns"]
        if meta.get("index_columns") or len(meta.get("column_indexes", [])) > 1:
            return None
        if any(c["name"] != c["field_name"] for c in columns):
            return None
        return {str(c["field_name"]): str(c["numpy_type"]) for c in columns}
    except (KeyError, TypeError, ValueError):
        return None


def _float_cells(values: pa.Array) -> pa.Array:
    """Floats as the text NumPy's ``astype(str)`` gives them (as pandas writes them), missing ones empty.

    NumPy writes the shortest digits that read back as the same float
    (Python's ``repr``), positionally from 1e-4 up to 1e16 and with an
    exponent outside that. Arrow writes the same shortest digits, without
    ``.0`` after a whole number and with an exponent at other thresholds; so
    Arrow's text is taken where it is positional and the value lies in
    NumPy's positional range (``.0`` added to whole numbers), and NumPy
    formats the rest (an exponent, infinity, not a number: few cells, if any).
    """
    text = pc.cast(values, pa.large_string())
    size = pc.abs(values)
    positional = pc.and_(
        pc.or_(pc.equal(values, 0.0), pc.and_(pc.greater_equal(size, 1e-4), pc.less(size, 1e16))),
        pc.invert(pc.match_substring(text, "e")),
    )
    text = pc.if_else(pc.match_substring(text, "."), text, pc.binary_join_element_wise(text, _text(".0"), _text("")))
    odd = pc.and_(pc.is_valid(values), pc.invert(pc.fill_null(positional, False)))
    if pc.any(odd).as_py():
        numbers = values.filter(odd).to_numpy(zero_copy_only=False)
        mended = np.where(np.isnan(numbers), "", numbers.astype(str))
        text = pc.replace_with_mask(text, odd, pa.array(mended.tolist(), pa.large_string()))
    return pc.fill_null(text, "")


#: Numbers the temporary files of this process, so two threads never share one.
_TEMPORARY_COUNTER = itertools.count()


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path``, unique to this process and call: ``.<name>.<pid>.<counter>.tmp``.

    Two writers (processes or threads) never share one, and a file left by a
    killed process is known by its process id (see
    :func:`analysis.store.clean_temporary_files`).
    """
    return path.with_name(f".{path.name}.{os.getpid()}.{next(_TEMPORARY_COUNTER)}.tmp")


def replace_durably(tmp: Path, path: Path) -> Path:
    """Move a fully written file into place: flushed to disk first, so a crash leaves the old file or the new one."""
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def run_info(result: RunResult) -> dict[str, Any]:
    """What is needed to repeat the run, and with which software it was made."""
    return {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "steps": result.scenario.steps,
        "kreislauf": sim.__version__,
        "python": platform.python_version(),
        "mesa": mesa.__version__,
        "numpy": np.__version__,
        "networkx": nx.__version__,
        "pandas": pd.__version__,
        "repeat": "kreislauf run scenario.toml",
    }


def scenario_file(scenario: Scenario, seed: int) -> str:
    """The ``scenario.toml`` of a run of ``scenario`` (its horizon already applied) with ``seed``."""
    header = (
        f"# Fully resolved scenario of a kreislauf {sim.__version__} run: every default written out.\n"
        f"# Repeat the run with: kreislauf run scenario.toml  (seed {seed}, {scenario.steps} steps)\n\n"
    )
    return header + scenario.resolved_toml()


def planned_scenario(scenario: Scenario, seed: int | None = None, steps: int | None = None) -> Scenario:
    """The scenario a run of ``scenario`` with this seed and horizon runs (as :func:`run_scenario` makes it)."""
    if steps is not None:
        scenario = scenario.until(steps)
    if seed is not None:
        scenario = scenario.with_overrides({"seed": seed}, source="--seed")
    return scenario
