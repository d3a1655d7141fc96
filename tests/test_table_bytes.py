"""A run's tables made faster are the tables made the plain way: the same Arrow tables, Parquet and CSV bytes.

- CSV rows formatted by Arrow are the bytes pandas' ``to_csv`` writes of the table read back;
- Arrow tables built column by column under a remembered schema are those of ``pyarrow.Table.from_pandas``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.engines import execute
from analysis.experiments import comparison_plan
from analysis.runs import (
    _csv_cells,
    _float_cells,
    arrow_table,
    csv_bytes,
    parquet_bytes,
    plain_arrow_table,
    table_csv_bytes,
)
from analysis.store import TABLES, ResultsFolder


def _plain(table: pa.Table) -> bytes:
    """The bytes as they were made before the Arrow path: pandas reads the table back and writes it."""
    return csv_bytes(table.to_pandas())


def test_a_small_table_is_written_as_pandas_writes_it() -> None:
    frame = pd.DataFrame(
        {
            "step": [0, 1, 2],
            "firm": ["PGS", "Lumics", None],
            "alive": [True, False, True],
            "ended": pd.array([3, None, -7], dtype="Int64"),
            "profit": [1.0, float("nan"), 1e-05],
            "capital": [1e16, 0.1, -0.0],
        }
    ).astype({"firm": "str"})
    table = arrow_table(frame)
    assert _csv_cells(table) is not None  # the Arrow path, not the fall-back
    expected = (
        b"step,firm,alive,ended,profit,capital\n0,PGS,True,3,1.0,1e+16\n1,Lumics,False,,,0.1\n2,,True,-7,1e-05,-0.0\n"
    )
    assert table_csv_bytes(table) == expected == _plain(table)


@pytest.mark.parametrize(
    "value",
    [
        0.0,
        -0.0,
        1e16,
        9999999999999998.0,
        1e15,
        1e-4,
        1e-5,
        5e-324,
        1.7976931348623157e308,
        math.inf,
        -math.inf,
        0.1,
        1 / 3,
        123456789.0,
        2.5e-7,
        100.0,
        np.nextafter(1e-4, 0.0),
        np.nextafter(1e16, 0.0),
    ],
)
def test_a_float_at_the_edges_of_each_format_is_written_as_numpy_writes_it(value: float) -> None:
    """Whole numbers, the thresholds where NumPy and Arrow switch to an exponent, infinities, the smallest float."""
    values = np.array([value, -value])
    assert _float_cells(pa.array(values)).to_pylist() == values.astype(str).tolist()


def test_many_floats_of_every_size_are_written_as_numpy_writes_them() -> None:
    """Random bit patterns (every exponent, not-a-number too) and numbers of every magnitude, whole ones too."""
    rng = np.random.default_rng(15)
    bits = rng.integers(0, 2**64, size=100_000, dtype=np.uint64).view(np.float64)
    sized = rng.standard_normal(100_000) * 10.0 ** rng.integers(-9, 21, 100_000)
    for values in (bits, sized, np.round(sized)):
        expected = np.where(np.isnan(values), "", values.astype(str)).tolist()
        assert _float_cells(pa.array(values)).to_pylist() == expected


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)
_columns = st.sampled_from(["float", "int", "Int64", "bool", "str", "str with missing", "object"])


@st.composite
def _frames(draw: st.DrawFn, kinds: list[str] | None = None, names: list[str] | None = None) -> pd.DataFrame:
    rows = draw(st.integers(0, 6))
    kinds = kinds or draw(st.lists(_columns, min_size=1, max_size=5))
    names = names or draw(st.lists(_text, min_size=len(kinds), max_size=len(kinds), unique=True))
    columns: dict[str, object] = {}
    for name, kind in zip(names, kinds, strict=True):
        if kind == "float":
            columns[name] = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=rows, max_size=rows))
        elif kind == "int":
            columns[name] = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=rows, max_size=rows))
        elif kind == "Int64":
            ints = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))
            columns[name] = pd.array(draw(st.lists(ints, min_size=rows, max_size=rows)), dtype="Int64")
        elif kind == "bool":
            columns[name] = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
        elif kind == "object":
            columns[name] = pd.Series(
                draw(st.lists(st.one_of(st.none(), _text), min_size=rows, max_size=rows)), dtype=object
            )
        else:
            strings = st.one_of(st.none(), _text) if kind == "str with missing" else _text
            columns[name] = pd.Series(draw(st.lists(strings, min_size=rows, max_size=rows)), dtype="str")
    return pd.DataFrame(columns, index=range(rows))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames())
def test_any_table_is_written_as_pandas_writes_it(frame: pd.DataFrame) -> None:
    """Every type a run's tables hold, missing values, quotes, commas, line ends, empty and one-column tables."""
    table = arrow_table(frame)
    assert table_csv_bytes(table) == _plain(table)
    assert table_csv_bytes(table.slice(0, len(frame) // 2)) == _plain(table.slice(0, len(frame) // 2))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=1, max_size=5),
    st.lists(st.one_of(st.none(), st.booleans()), min_size=1, max_size=5),
)
def test_tables_without_pandas_metadata_are_written_as_pandas_reads_them(ints: list, flags: list) -> None:
    """A missing whole number reads back as a float (``1.0``), a missing true/false as an object: pandas writes those."""
    table = pa.table(
        {"a": pa.array(ints, pa.int64()), "b": pa.array(ints, pa.float64()), "c": pa.array([1] * len(ints))}
    )
    assert table_csv_bytes(table) == _plain(table)
    flags_table = pa.table({"x": pa.array(flags, pa.bool_()), "y": pa.array(["a"] * len(flags), pa.string())})
    assert table_csv_bytes(flags_table) == _plain(flags_table)


@pytest.mark.parametrize(("scenarios", "steps"), [(["big", "open_market"], 36), (["classroom", "fragility"], 12)])
def test_a_runs_tables_take_the_arrow_path_and_give_the_bytes_pandas_gives(scenarios: list[str], steps: int) -> None:
    """The rows made where a run ran, for the tables of real runs (open cooperations, missing trust and all)."""
    for spec in comparison_plan(scenarios, replicates=1, seed=3, steps=steps).runs():
        output = execute(spec, csv=True)
        for table in TABLES:
            arrow = pq.read_table(pa.BufferReader(output.files[f"{table}/run-{spec.run:06d}.parquet"]))
            if len(arrow):
                assert _csv_cells(arrow) is not None, table
            assert output.csv[table] == _plain(arrow)


def test_an_exported_folder_has_the_bytes_pandas_gives(tmp_path) -> None:
    """`kreislauf export` formats each batch of stored runs from their Parquet files: the same bytes as pandas, run by run."""
    from analysis import compare

    compare(["big", "classroom"], replicates=2, steps=10, workers=1, out=tmp_path / "c", progress=False)
    folder = ResultsFolder(tmp_path / "c")
    for table in TABLES:
        (folder.path / f"{table}.csv").unlink()
    folder.write_csv()
    for table in TABLES:
        runs = sorted(folder.finished())
        parts = [_plain(pq.read_table(folder._run_file(table, run))) for run in runs]
        header = parts[0][: parts[0].index(b"\n") + 1]
        expected = header + b"".join(part.removeprefix(header) for part in parts)
        assert (folder.path / f"{table}.csv").read_bytes() == expected


@st.composite
def _frames_of_a_kind(draw: st.DrawFn) -> list[pd.DataFrame]:
    """Three frames with the same columns and types and their own values (the first may be empty)."""
    kinds = draw(st.lists(_columns, min_size=1, max_size=5))
    names = draw(st.lists(_text, min_size=len(kinds), max_size=len(kinds), unique=True))
    return [draw(_frames(kinds, names)) for _ in range(3)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames_of_a_kind())
def test_frames_of_a_kind_seen_before_make_the_tables_from_pandas_makes(frames: list[pd.DataFrame]) -> None:
    """The schema remembered from the first frame of a kind holds for the next ones: tables, metadata, Parquet bytes."""
    for frame in frames:
        fast, plain = arrow_table(frame), plain_arrow_table(frame)
        assert fast.equals(plain, check_metadata=True)
        assert parquet_bytes(fast) == parquet_bytes(plain)


def test_a_runs_frames_are_built_column_by_column_and_give_the_same_files() -> None:
    """Each kind of a run's frames takes the remembered schema (not the fall-back), and the files are the same."""
    from analysis import runs

    spec = next(iter(comparison_plan(["big"], replicates=1, seed=2, steps=6).runs()))
    runs._SCHEMAS.clear()
    first, again = execute(spec), execute(spec)
    assert runs._SCHEMAS and all(schema is not None for schema in runs._SCHEMAS.values())
    assert first.files == again.files
    for relative, data in again.files.items():
        stored = pq.read_table(pa.BufferReader(data))
        assert parquet_bytes(plain_arrow_table(stored.to_pandas())) == data, relative


def test_frames_the_column_path_does_not_take_are_converted_by_pandas() -> None:
    """Python objects (typed by their values) and attrs: from_pandas, as before; repeated names its error."""
    mixed = pd.DataFrame({"a": pd.Series([None, None], dtype=object), "b": [1.0, 2.0]})
    noted = pd.DataFrame({"a": [1.0]})
    noted.attrs["source"] = "test"
    for frame in (mixed, noted):
        assert arrow_table(frame).equals(plain_arrow_table(frame), check_metadata=True)
    with pytest.raises(ValueError, match="Duplicate column names"):
        arrow_table(pd.DataFrame([[1, 2]], columns=["a", "a"]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames())
def test_a_parquet_file_dictionary_encoding_only_text_reads_back_as_the_default_file(frame: pd.DataFrame) -> None:
    """The same table, schema and pandas metadata included, and the same frame, as pyarrow's default writing gives."""
    table = plain_arrow_table(frame)
    default = pa.BufferOutputStream()
    pq.write_table(table, default)
    ours, theirs = (pq.read_table(pa.BufferReader(data)) for data in (parquet_bytes(table), default.getvalue()))
    assert ours.equals(theirs, check_metadata=True) and ours.equals(table, check_metadata=True)
    pd.testing.assert_frame_equal(ours.to_pandas(), theirs.to_pandas(), check_exact=True)
