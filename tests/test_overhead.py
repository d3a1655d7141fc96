"""What an experiment does besides stepping its models: the tables it stores stay what they were, made faster."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest

from analysis import compare
from analysis.engines import Engine, PoolEngine, SerialEngine, execute
from analysis.experiments import comparison_plan, storing_for
from analysis.runs import EDGE_TYPES, NetworkHistory, simulate
from analysis.store import TABLES, CsvTables, ResultsFolder, RunOutput, StorageError, Storing
from sim import CooperationModel, load_scenario
from sim.observe.log import COOPERATION_COLUMNS, COOPERATION_TYPES, cooperation_rows
from sim.observe.network import edge_frame, node_frame


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> ResultsFolder:
    """Three short comparisons of the classroom and fragility: logs with open cooperations (missing values)."""
    out = tmp_path_factory.mktemp("overhead") / "c"
    compare(["classroom", "fragility"], replicates=3, steps=8, workers=1, out=out, progress=False)
    return ResultsFolder(out)


def test_a_batch_of_logs_with_missing_values_is_formatted_at_once_as_each_alone(folder: ResultsFolder) -> None:
    """``ended`` and ``partner_id`` are nullable whole numbers: a batch formats as one table, same bytes as run by run."""
    runs = sorted(folder.finished())
    logs = folder.table("cooperations")
    assert logs["ended"].isna().any() and str(logs["ended"].dtype) == "Int64"
    for table in TABLES:
        batch = folder._csv_batch(table, runs)
        if table == "cooperations":  # (the two scenarios' measures and focal tables differ in schema)
            assert len(batch) == 1  # formatted together
        alone = [folder._csv_rows(table, run) for run in runs]
        header = alone[0][: alone[0].index(b"\n") + 1]
        joined = b"".join(rows if k == 0 else rows[len(header) :] for k, (_, rows) in enumerate(batch))
        assert joined == header + b"".join(rows[len(header) :] for rows in alone)
        assert pd.read_csv(folder.path / f"{table}.csv").shape[0] == len(folder.table(table))


def _log_by_rows(model: CooperationModel, include_open: bool) -> pd.DataFrame:
    """The cooperation log made the plain way: a frame of rows, typed, sorted by id (as before it was made by column)."""
    ended = model.datacollector.get_table_dataframe("cooperations")
    df = ended
    if include_open:
        t, world = model.world.cooperations, model.world
        extra = pd.DataFrame(cooperation_rows(t, t.live(), world.firms.names, world.now), columns=COOPERATION_COLUMNS)
        df = pd.concat([df, extra], ignore_index=True) if len(df) else extra
    if not len(df):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in COOPERATION_TYPES.items()})
    return df.astype(COOPERATION_TYPES).sort_values("id", kind="stable").reset_index(drop=True)


@pytest.mark.parametrize(
    ("scenario", "seed", "steps"),
    [
        ("big", 1, 120),
        ("big", 7, 30),
        ("open_market", 2, 24),
        ("classroom", 3, 12),
        ("open_market", 1, 2),
        ("open_market", 1, 1),
    ],
)
def test_the_log_made_by_column_is_the_log_made_by_rows(scenario: str, seed: int, steps: int) -> None:
    """Same columns, types, values and order, with and without the open cooperations, an empty log too."""
    model = CooperationModel(scenario, seed=seed, steps=steps)
    for _ in range(steps):
        model.step()
        if model.steps in (1, steps // 2):  # read half-way as well: the table is filled when it is read
            pd.testing.assert_frame_equal(model.cooperation_log(), _log_by_rows(model, True))
    for include_open in (True, False):
        log = model.cooperation_log(include_open)
        pd.testing.assert_frame_equal(log, _log_by_rows(model, include_open), check_exact=True)
        assert dict(log.dtypes.astype(str)) == COOPERATION_TYPES


def _outputs(tmp_path: Path, runs: int) -> tuple[ResultsFolder, list[RunOutput]]:
    plan = comparison_plan(["classroom"], replicates=runs, seed=4, steps=3)
    return ResultsFolder.for_plan(tmp_path / "s", plan), [execute(spec, csv=True) for spec in plan.runs()]


def test_runs_handed_to_the_storing_thread_are_all_stored_when_the_command_is_interrupted(tmp_path: Path) -> None:
    folder, outputs = _outputs(tmp_path, 5)
    with pytest.raises(KeyboardInterrupt), Storing(folder, queued=2) as storing:
        for output in outputs:
            storing.put(output)
        raise KeyboardInterrupt
    assert folder.finished() == {0, 1, 2, 3, 4}
    for output in outputs:
        for relative, data in output.files.items():
            assert (folder.path / relative).read_bytes() == data


def test_a_run_the_storing_thread_cannot_store_is_raised_in_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills at the second run: the error reaches the caller, the first run stays, no later run is written."""
    folder, outputs = _outputs(tmp_path, 4)
    real = folder.store

    def filling(output: RunOutput) -> None:
        if output.spec.run == 1:
            raise StorageError(f"{folder.path}: cannot store run 1 (No space left on device)")
        real(output)

    monkeypatch.setattr(folder, "store", filling)
    with pytest.raises(StorageError, match="cannot store run 1"), Storing(folder) as storing:
        for output in outputs:
            storing.put(output)
    assert folder.finished() == {0}


def _csv_tables(folder: ResultsFolder) -> dict[str, bytes]:
    return {name: (folder.path / f"{name}.csv").read_bytes() for name in [*TABLES, "runs"]}


def test_csv_tables_written_as_runs_arrive_in_any_order_are_those_made_from_the_parquet_files(tmp_path: Path) -> None:
    """Runs 0 and 1 stored by an earlier command, run 4 failed, the others arriving last first: the same bytes."""
    folder, outputs = _outputs(tmp_path, 7)
    for output in outputs[:2]:
        folder.store(output)
    failed = RunOutput(outputs[4].spec, error="RuntimeError: broken")
    arriving = [outputs[6], outputs[5], failed, outputs[3], outputs[2]]
    tables = CsvTables(folder, range(7), folder.finished())
    for output in arriving:
        folder.store(output)
        tables.add(output)
    streamed = {p.name for p in tables.finish()}
    assert streamed == {f"{name}.csv" for name in [*TABLES, "runs"]}
    made = _csv_tables(folder)
    assert made["measures"].count(b"\n") == 1 + 6 * 4  # six runs of months 0-3
    folder.write_csv()
    assert _csv_tables(folder) == made
    assert not [f.name for f in folder.path.iterdir() if f.name.endswith(".tmp")]


def test_csv_tables_of_an_interrupted_command_leave_the_old_tables(tmp_path: Path) -> None:
    folder, outputs = _outputs(tmp_path, 3)
    folder.store(outputs[0])
    folder.write_csv()
    before = _csv_tables(folder)
    tables = CsvTables(folder, range(3), folder.finished())
    folder.store(outputs[2])
    tables.add(outputs[2])
    tables.abort()
    assert _csv_tables(folder) == before
    assert not [f.name for f in folder.path.iterdir() if f.name.endswith(".tmp")]


def test_rows_a_run_did_not_make_are_formatted_from_its_parquet_files(tmp_path: Path) -> None:
    """A task that makes no CSV rows (or rows under another header) falls back on formatting every run's files."""
    folder, outputs = _outputs(tmp_path, 3)
    tables = CsvTables(folder, range(3), set())
    for output in outputs:
        bare = RunOutput(output.spec, output.files) if output.spec.run == 1 else output
        folder.store(bare)
        tables.add(bare)
    assert not tables.exact
    tables.finish()
    made = _csv_tables(folder)
    folder.write_csv()
    assert _csv_tables(folder) == made and made["measures"].count(b"\n") == 1 + 3 * 4


@pytest.mark.parametrize(("scenario", "steps"), [("big", 30), ("open_market", 12), ("classroom", 5)])
def test_the_network_history_joined_once_is_its_frames_joined_one_by_one(scenario: str, steps: int) -> None:
    history, frames = NetworkHistory(every=3), []
    model = simulate(load_scenario(scenario).until(steps), 2, history)
    assert model.steps == steps
    replay = CooperationModel(scenario, seed=2, steps=steps)
    for month in range(steps + 1):
        if month % 3 == 0 or month == steps:
            frames.append((pd.DataFrame(node_frame(replay)), pd.DataFrame(edge_frame(replay)).astype(EDGE_TYPES)))
        if month < steps:
            replay.step()
    nodes = pd.concat([n for n, _ in frames], ignore_index=True)
    edges = pd.concat([e for _, e in frames], ignore_index=True)
    assert len(history.nodes) == len(nodes) > 0
    pd.testing.assert_frame_equal(history.nodes, nodes, check_exact=True)
    pd.testing.assert_frame_equal(history.edges, edges, check_exact=True)


def test_an_explanation_stores_its_runs_as_a_comparison_does_and_keeps_them_when_the_disk_fills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its cells go through the engine's Storing: the error of the third run ends the command, the two before stay."""
    from analysis.explain import explain

    real = ResultsFolder.store
    stored: list[int] = []

    def filling(self: ResultsFolder, output: RunOutput) -> None:
        if output.spec.run == 2:
            raise StorageError(f"{self.path}: cannot store run 2 (No space left on device)")
        real(self, output)
        stored.append(output.spec.run)

    monkeypatch.setattr(ResultsFolder, "store", filling)
    args = dict(ingredients=["campus"], replicates=2, steps=4, out=tmp_path / "e", progress=False)
    with pytest.raises(StorageError, match="cannot store run 2"):
        explain("big", "open_market", workers=1, **args)  # type: ignore[arg-type]
    assert stored == [0, 1] and ResultsFolder(tmp_path / "e" / "runs").finished() == {0, 1}
    monkeypatch.setattr(ResultsFolder, "store", real)
    again = explain("big", "open_market", workers=1, **args)  # type: ignore[arg-type]
    assert ResultsFolder(tmp_path / "e" / "runs").finished() == set(range(6)) and len(again.contributions)


@pytest.mark.parametrize(("engine", "threaded"), [(SerialEngine(), False), (PoolEngine(2), False), (None, True)])
def test_runs_are_stored_beside_the_models_in_this_thread_and_beside_a_cluster_from_a_thread(
    tmp_path: Path, engine: Engine | None, threaded: bool
) -> None:
    """One worker or a local pool: the caller stores each run before the next; a cluster's runs in a thread."""
    folder, outputs = _outputs(tmp_path, 2)
    names: set[str] = set()
    original = folder.store

    def noting(output: RunOutput) -> None:
        names.add(threading.current_thread().name)
        original(output)

    folder.store = noting  # type: ignore[method-assign]
    with storing_for(folder, engine if engine is not None else Engine()) as storing:
        for output in outputs:
            storing.put(output)
    assert names == ({"kreislauf-store"} if threaded else {threading.current_thread().name})
    assert folder.finished() == {0, 1}


def test_ctrl_c_on_one_worker_keeps_every_stored_run_whole_and_the_same_command_finishes_the_rest(
    tmp_path: Path,
) -> None:
    """A real interrupt (SIGINT) while runs are stored in the command's own thread: nothing half written, resumable."""
    import signal
    import subprocess
    import sys
    import time

    from analysis.store import parquet_problem

    args = ["compare", "big", "classroom", "--replicates", "20", "--steps", "12", "--workers", "1", "--quiet"]
    command = [sys.executable, "-c", "import sys; from analysis.cli import main; sys.exit(main(sys.argv[1:]))", *args]
    cut, whole = tmp_path / "cut", tmp_path / "whole"
    process = subprocess.Popen([*command, "--out", str(cut)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(list((cut / "measures").glob("run-*.parquet"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in err and "run the same command again" in err
    stored = ResultsFolder(cut).finished()
    assert 3 <= len(stored) < 40  # of 2 x 20
    for run in stored:
        assert all(parquet_problem(cut / t / f"run-{run:06d}.parquet", required=True) is None for t in TABLES)
    assert not list(cut.rglob("*.tmp"))
    assert subprocess.run([*command, "--out", str(cut)], capture_output=True).returncode == 0
    assert subprocess.run([*command, "--out", str(whole)], capture_output=True).returncode == 0
    for name in (*TABLES, "runs", "summary", "differences", "outcomes"):
        if (whole / f"{name}.csv").exists():
            assert (cut / f"{name}.csv").read_bytes() == (whole / f"{name}.csv").read_bytes(), name
